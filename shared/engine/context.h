/* SPDX-License-Identifier: MIT */
/* The engine's explicit context: its clients, models, services and memory. */
#ifndef RUNSCOPE_CONTEXT_H
#define RUNSCOPE_CONTEXT_H

#include "clients/runscope.h"
#include "clients/xmatters.h"
#include "config/config.h"
#include "core/catalog.h"
#include "core/reconcile.h"
#include "engine/alerting.h"
#include "engine/cluster.h"
#include "engine/engine.h"
#include "engine/health.h"
#include "engine/pace.h"
#include "engine/persist.h"
#include "engine/say.h"
#include "transport/http.h"
#include "util/limiter.h"

#include <stdbool.h>

/* What one poll cycle works with. The stages share the clients, the
 * catalog and the reconciler's state (the models), and call the services
 * (say, health, persist, pace), each the only writer of its own part.
 * What one stage hands to another is an argument of the stage, never a
 * field here. */
struct engine {
  const struct cfg *cfg;
  char hostname[256];
  struct http_client *rs_http, *xm_http;
  struct rs_client *rs;
  struct xm_client *xm;
  struct limiter rs_rate, xm_rate; /* MaxRequestsPerSecond of each API */
  /* the models */
  struct catalog cat;     /* what is watched (discover.c, read_results.c) */
  struct rec_state state; /* the reconciler's memory, the state file's */
  struct rec_opts opts;
  /* the services */
  struct say say;           /* log lines, values, notifications, counters */
  struct health health;     /* how both APIs are doing */
  struct persist persist;   /* the state file */
  struct pace pace;         /* the cycle's time */
  struct cluster cluster;   /* the leader's lease on etcd (<Cluster>) */
  struct alerting alerting; /* thresholds, flap options, windows */
  /* the memory of one stage across cycles, read by no other file */
  bool started;            /* cycle.c: the first cycle has run */
  double discovered_at;    /* discover.c: when the buckets were read */
  double swept_at;         /* drive_events.c: every active event listed */
  bool sweep_capped;       /* drive_events.c: the last sweep hit its cap */
  struct limiter triggers; /* handle_responses.c: 10 per 10 s per URL */
  bool traffic_started;    /* watch_traffic.c: it has run once */
};

#endif
