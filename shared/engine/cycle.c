/* SPDX-License-Identifier: MIT */
/* One poll cycle: the engine's lifecycle and the order of its stages.
 *
 * Each stage lives in its own file and calls the services below it (say,
 * health, persist, pace, key_view, event_ops, run_queue), never this
 * file or another stage. What passes between stages is an argument: the
 * runs the reads queue for forward mode (results_read), the notifications
 * the actions call for (key_notices). */
#include "engine/connect.h"
#include "engine/context.h"
#include "engine/discover.h"
#include "engine/dispatch.h"
#include "engine/drive_events.h"
#include "engine/handle_responses.h"
#include "engine/post_runs.h"
#include "engine/read_results.h"
#include "engine/watch_traffic.h"

#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <stdlib.h>

struct engine *engine_new(const struct cfg *cfg, const struct engine_sink *sink,
                          const char *hostname, double now, struct err *err) {
  struct engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    err_set(err, "out of memory");
    return NULL;
  }
  e->cfg = cfg;
  e->say.sink = *sink;
  persist_init(&e->persist, cfg, &e->say);
  pace_init(&e->pace, cfg, &e->say);
  str_copy(e->hostname, sizeof(e->hostname), hostname ? hostname : "");
  cat_init(&e->cat);
  rec_state_init(&e->state);
  rec_opts_default(&e->opts);
  e->opts.location_window = cfg->location_window;
  e->opts.pending_timeout = cfg->pending_timeout;
  e->opts.reconcile_interval = cfg->reconcile_interval;
  if (alerting_init(e) != 0 || connect_open(e) != 0 ||
      cluster_open(&e->cluster, cfg, &e->say) != 0) {
    err_set(err, "out of memory");
    engine_free(e);
    return NULL;
  }
  if (cfg->cluster.enabled)
    e->persist.cluster = &e->cluster;
  health_init(&e->health, &e->say, cfg, e->rs, e->xm, now);
  if (persist_load(&e->persist, &e->state, now, err) != 0) {
    engine_free(e);
    return NULL;
  }
  return e;
}

void engine_set_transport(struct engine *e, http_transport_fn fn, void *ctx) {
  http_set_transport(e->rs_http, fn, ctx);
  http_set_transport(e->xm_http, fn, ctx);
  if (e->cluster.http != NULL)
    http_set_transport(e->cluster.http, fn, ctx);
}

void engine_set_clock(struct engine *e, http_clock_fn now, http_sleep_fn sleep,
                      void *ctx) {
  http_set_clock(e->rs_http, now, sleep, ctx);
  http_set_clock(e->xm_http, now, sleep, ctx);
  if (e->cluster.http != NULL) {
    http_set_clock(e->cluster.http, now, sleep, ctx);
    e->cluster.answered_at = http_now(e->cluster.http);
  }
}

void engine_free(struct engine *e) {
  if (e == NULL)
    return;
  persist_save(&e->persist, &e->state, 0);
  cluster_close(&e->cluster);
  connect_close(e);
  cat_fini(&e->cat);
  limiter_fini(&e->triggers);
  rec_state_fini(&e->state);
  alerting_fini(e);
  free(e);
}

/* Discovery and the reads of results, while Runscope may be called; no
 * read starts after deadline. */
static void read_runscope(struct engine *e, double now, double deadline,
                          struct results_read *out) {
  if (!health_ready(&e->health, &e->health.rs, now))
    return;
  discover(e, now);
  if (e->cat.loaded && !health_waiting(&e->health.rs, now))
    read_results(e, now, deadline, out);
}

/* The xMatters side and what follows from it: forward mode posts the runs
 * read; manage mode adopts, looks up, acts and handles the responses. */
static void drive_xmatters(struct engine *e, double now, bool forward,
                           const struct results_read *read) {
  struct key_notices notices = {0};
  if (forward) {
    post_runs(e, &read->fwd, now);
  } else {
    drive_events_adopt(e, now);
    drive_events_look_up(e, now);
  }
  drive_events_act(e, now, &notices); /* in forward mode: notifications only */
  dispatch_key_notices(e, &notices);
  drive_events_notices_fini(&notices);
  if (!forward) /* in forward mode the plan handles the responses */
    handle_responses(e, now);
}

/* The cluster's part of a cycle: the lease, the campaign, the value
 * runscope-self/bool-cluster_leader. A new leader starts as at any start
 * (it checks xMatters first). Returns whether this agent works this
 * cycle. */
static bool cluster_gate(struct engine *e, double now) {
  enum cluster_role was = e->cluster.role;
  enum cluster_role role = cluster_tick(&e->cluster);
  if (role == CLUSTER_NONE)
    return true;
  struct say_about about = {"self", "bool", "cluster_leader"};
  say_value(&e->say, &about, ENGINE_GAUGE, role == CLUSTER_LEADER);
  if (role == CLUSTER_LEADER && was != CLUSTER_LEADER)
    persist_take_over(&e->persist, &e->state, was == CLUSTER_ALONE, now);
  if (role != CLUSTER_STANDBY && was == CLUSTER_STANDBY)
    e->started = false; /* it checks xMatters first, as at any start */
  return role != CLUSTER_STANDBY;
}

int engine_cycle(struct engine *e, double now) {
  if (!cluster_gate(e, now))
    return 0;
  double started = clock_monotonic();
  double deadline = pace_read_deadline(&e->pace, http_now(e->rs_http));
  struct results_read read = {0};
  /* Forward mode posts to the trigger URL only: no REST API, no events. */
  bool forward = e->cfg->xmatters.mode == CFG_MODE_FORWARD;
  health_cycle_start(&e->health, now); /* a backing-off API waits */
  if (!e->started && health_xm_usable(&e->health) && !forward)
    drive_events_check(e, now);
  e->started = true;
  read_runscope(e, now, deadline, &read);
  alerting_mark(e, now); /* the maintenance windows that apply now */
  drive_xmatters(e, now, forward, &read);
  run_queue_fini(&read.fwd);
  watch_traffic(e, now);
  /* an xMatters that is down and was not asked: its notifications come on
   * time (not in forward mode, which has no REST API to ask) */
  if (!forward && health_xm_probe_due(&e->health))
    drive_events_check(e, now);
  persist_save(&e->persist, &e->state, now);
  health_cycle_end(&e->health);
  dispatch_key_values(e);
  double duration = clock_monotonic() - started;
  pace_cycle_end(&e->pace, now, duration, read.read, read.deferred);
  dispatch_self_values(e, now, duration);
  int net = connect_report(e); /* TLS and proxy problems: what to fix */
  return e->health.denied || net != 0 ? -EACCES : 0;
}
