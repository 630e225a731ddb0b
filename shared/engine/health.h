/* SPDX-License-Identifier: MIT */
/* How Runscope and xMatters are doing: outages, back-off and complaints. */
#ifndef RUNSCOPE_HEALTH_H
#define RUNSCOPE_HEALTH_H

#include "clients/runscope.h"
#include "clients/xmatters.h"
#include "config/config.h"
#include "core/reconcile.h"
#include "engine/say.h"
#include "util/backoff.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

/* How one API is doing: reachability (for outage notifications), its
 * back-off and the damping of its two kinds of log lines. */
struct api_health {
  const char *name;        /* "Runscope" or "xMatters" */
  const char *instance;    /* its value's type instance, "runscope_reachable" */
  double down_since;       /* 0: reachable */
  bool warned;             /* a WARNING notification went out */
  struct complaint outage; /* no answer, 429, 5xx */
  struct complaint failure; /* answers that are errors: 4xx, bad JSON */
  bool failed_this_cycle;   /* a failure (not an outage) in this cycle */
  uint64_t errors;          /* failed calls, whatever the cause */
  /* Not called before backoff.until; ended by a cycle in which every call
   * succeeded. The outage's last error, for a WARNING that falls due while
   * the API backs off. */
  struct backoff backoff;
  bool ok_this_cycle;      /* a call succeeded in this cycle */
  bool backoff_this_cycle; /* a call failed and backed the API off */
  bool outage_this_cycle;  /* a call had no answer, a 429 or a 5xx */
  char last_error[ERR_MSG_MAX];
};

/* Both APIs, and what the health of this cycle says. */
struct health {
  struct api_health rs, xm;
  struct say *say;
  const struct cfg *cfg;
  const struct rs_client *rs_client; /* their Retry-After */
  const struct xm_client *xm_client;
  uint32_t jitter;  /* the state of the back-off's jitter */
  bool xm_out;      /* xMatters is not asked for the rest of the cycle */
  bool denied;      /* an API rejected the credentials in this cycle */
  double polled_at; /* Runscope last answered a poll (the start until then) */
};

/* Sets h up at time now for the clients (borrowed; so are say and cfg). */
void health_init(struct health *h, struct say *say, const struct cfg *cfg,
                 const struct rs_client *rs, const struct xm_client *xm,
                 double now);

/* At a cycle's start: no credentials rejected yet, and xMatters is out for
 * the cycle while it backs off. */
void health_cycle_start(struct health *h, double now);

/* False while the API backs off: the cycle does not call it (said once per
 * streak of failures in the log; an outage still gets its WARNING). */
bool health_ready(struct health *h, struct api_health *a, double now);

/* True while the API backs off (quietly, unlike health_ready). */
bool health_waiting(const struct api_health *a, double now);

/* An API answered. The outage it ends is cleared at the end of the cycle,
 * if no other call of the cycle met one: an API that answers some calls
 * and not others is not back, and its complaint stays damped. */
void health_up(struct api_health *a);

/* An API call failed with rc (a negative errno): counts it, logs it
 * (rate-limited), tracks outages and, for an outage or an answer that is
 * not the API's (429, 5xx, no answer, bad JSON, another 4xx of xMatters),
 * backs the API off until a cycle in which all its calls succeed. Returns
 * true for an outage. */
bool health_failed(struct health *h, struct api_health *a, int rc,
                   const struct err *err, double now);

/* The one place that tells how far a failed read of one item (a test's
 * results or detail) reaches. True when it says that the server or the
 * path to it struggles (429, 5xx, a timeout, a refused or reset
 * connection, any other transport error) or that the credentials are
 * refused: a matter of the whole API, for health_failed. False for an
 * answer that is wrong for this item alone (404, another 4xx, malformed
 * JSON, wrong types, a body over MaxResponseBytes): the item waits, the
 * others go on at the normal pace (health_item_failed). */
bool health_api_wide(int rc);

/* A read of one item failed for that item alone (!health_api_wide):
 * counted with the API's errors; no back-off, no outage. The caller logs
 * it and asks again in the next cycle. */
void health_item_failed(struct health *h, struct api_health *a);

/* An xMatters call failed: after an outage or rejected credentials the
 * rest of the cycle leaves xMatters alone. */
void health_xm_failed(struct health *h, int rc, const struct err *err,
                      double now);

/* False once xMatters is out for the rest of the cycle. */
bool health_xm_usable(const struct health *h);

/* True for errors that mean the API cannot be used now (no answer, 429,
 * 5xx), as opposed to an answer that is an error. */
bool health_is_outage(int rc);

/* Runscope answered a poll at now (its age is one of the own values). */
void health_polled(struct health *h, double now);

/* True when xMatters is down and nothing asked it anything in this cycle:
 * a probe then lets its WARNING and OKAY notifications come on time. */
bool health_xm_probe_due(const struct health *h);

/* Before a cycle's end: the time of each API that answered a call in this
 * cycle into *t (saved with the state, for runscopectl status). */
void health_answered(const struct health *h, struct rec_answered *t,
                     double now);

/* At a cycle's end: the failure complaint of an API that had none ends,
 * the back-off of one that answered every call ends, and an outage that
 * every call of the cycle saw over is over (OKAY after a WARNING). */
void health_cycle_end(struct health *h);

#endif
