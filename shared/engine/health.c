/* SPDX-License-Identifier: MIT */
/* How Runscope and xMatters are doing: outages, back-off and complaints. */
#include "engine/health.h"

#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void health_init(struct health *h, struct say *say, const struct cfg *cfg,
                 const struct rs_client *rs, const struct xm_client *xm,
                 double now) {
  memset(h, 0, sizeof(*h));
  h->rs.name = "Runscope";
  h->rs.instance = "runscope_reachable";
  h->xm.name = "xMatters";
  h->xm.instance = "xmatters_reachable";
  h->say = say;
  h->cfg = cfg;
  h->rs_client = rs;
  h->xm_client = xm;
  h->jitter = (uint32_t)((uint64_t)(now * 1e6) ^ (uint64_t)getpid());
  h->polled_at = now;
}

static void notify_api(struct health *h, struct api_health *a,
                       enum engine_severity sev, const char *message) {
  struct engine_meta meta[] = {{"api", a->name}};
  struct say_about about = {"self", "bool", a->instance};
  say_notify(h->say, sev, &about, message, meta, 1);
}

void health_up(struct api_health *a) { a->ok_this_cycle = true; }

/* The API answered every call of a cycle that reached it: the outage is
 * over (OKAY notification after a WARNING). */
static void api_back(struct health *h, struct api_health *a) {
  if (a->down_since == 0)
    return;
  if (say_complaint_over(&a->outage))
    say_log(h->say, ENGINE_LOG_NOTICE, "The %s API answers again.", a->name);
  if (a->warned) {
    char msg[256];
    snprintf(msg, sizeof(msg), "The %s API is reachable again.", a->name);
    notify_api(h, a, ENGINE_OKAY, msg);
  }
  a->down_since = 0;
  a->warned = false;
}

bool health_is_outage(int rc) {
  return rc != -EACCES && rc != -ENOENT && rc != -EINVAL && rc != -EPROTO &&
         rc != -ENOMEM;
}

/* A WARNING notification once the API has been unreachable for
 * OutageThreshold, with the last error. */
static void outage_warn(struct health *h, struct api_health *a, double now) {
  if (a->down_since == 0 || a->warned ||
      now - a->down_since < h->cfg->outage_threshold)
    return;
  char msg[ERR_MSG_MAX + 128];
  snprintf(msg, sizeof(msg), "The %s API has been unreachable for %.0f s: %s",
           a->name, now - a->down_since, a->last_error);
  notify_api(h, a, ENGINE_WARNING, msg);
  a->warned = true;
}

static void outage(struct health *h, struct api_health *a,
                   const struct err *err, double now) {
  a->outage_this_cycle = true;
  if (say_complaint_due(&a->outage, now))
    say_log(h->say, ENGINE_LOG_WARNING, "%s", err->msg);
  str_copy(a->last_error, sizeof(a->last_error), err->msg);
  if (a->down_since == 0)
    a->down_since = now;
  outage_warn(h, a, now);
}

/* True for failures that back the API off: an outage, or an answer that is
 * not what the API should say (-EPROTO; -EINVAL: another 4xx of xMatters).
 * Rejected credentials and missing objects (one deleted test) do not. */
static bool backs_off(int rc) {
  return health_is_outage(rc) || rc == -EPROTO || rc == -EINVAL;
}

/* Starts or extends the back-off of a: from the poll interval, doubling up
 * to BACKOFF_MAX, at least what the answer's Retry-After asked. */
static void back_off(struct health *h, struct api_health *a, double now) {
  double base = h->cfg->interval > 0 ? h->cfg->interval : 10;
  double retry_after =
      a == &h->rs ? rs_retry_after(h->rs_client) : xm_retry_after(h->xm_client);
  backoff_failed(&a->backoff, now, base, BACKOFF_MAX, retry_after,
                 backoff_jitter(&h->jitter));
  a->backoff_this_cycle = true;
}

bool health_ready(struct health *h, struct api_health *a, double now) {
  if (!backoff_active(&a->backoff, now))
    return true;
  if (!a->backoff.announced) {
    a->backoff.announced = true;
    say_log(h->say, ENGINE_LOG_NOTICE,
            "Backing off the %s API after %u failed cycles: not calling it "
            "for %.1f s.",
            a->name, a->backoff.failures, a->backoff.until - now);
  }
  outage_warn(h, a, now);
  return false;
}

bool health_waiting(const struct api_health *a, double now) {
  return backoff_active(&a->backoff, now);
}

bool health_api_wide(int rc) {
  return rc != -ENOENT && rc != -EPROTO && rc != -EMSGSIZE && rc != -EINVAL;
}

void health_item_failed(struct health *h, struct api_health *a) {
  say_tally(h->say, SAY_API_ERRORS);
  a->errors++;
}

bool health_failed(struct health *h, struct api_health *a, int rc,
                   const struct err *err, double now) {
  health_item_failed(h, a);
  if (backs_off(rc))
    back_off(h, a, now);
  if (health_is_outage(rc)) {
    outage(h, a, err, now);
    return true;
  }
  if (rc == -EACCES)
    h->denied = true;
  a->failed_this_cycle = true;
  if (say_complaint_due(&a->failure, now))
    say_log(h->say, rc == -EACCES ? ENGINE_LOG_ERR : ENGINE_LOG_WARNING, "%s",
            err->msg);
  return false;
}

void health_xm_failed(struct health *h, int rc, const struct err *err,
                      double now) {
  if (health_failed(h, &h->xm, rc, err, now) || rc == -EACCES)
    h->xm_out = true;
}

bool health_xm_usable(const struct health *h) { return !h->xm_out; }

void health_polled(struct health *h, double now) { h->polled_at = now; }

void health_cycle_start(struct health *h, double now) {
  h->denied = false;
  h->xm_out = !health_ready(h, &h->xm, now);
}

bool health_xm_probe_due(const struct health *h) {
  const struct api_health *a = &h->xm;
  return a->down_since != 0 && !h->xm_out && !a->ok_this_cycle &&
         !a->backoff_this_cycle;
}

void health_answered(const struct health *h, struct rec_answered *t,
                     double now) {
  if (h->rs.ok_this_cycle)
    t->runscope = now;
  if (h->xm.ok_this_cycle)
    t->xmatters = now;
}

/* Ends the failure complaint of an API that had none in this cycle, and
 * the back-off of one that answered every call of the cycle (not just one:
 * lookups that work must not hide triggers that keep failing). */
static void api_cycle_end(struct health *h, struct api_health *a) {
  if (!a->failed_this_cycle)
    say_complaint_over(&a->failure);
  if (a->ok_this_cycle && !a->backoff_this_cycle)
    backoff_reset(&a->backoff);
  if (a->ok_this_cycle && !a->outage_this_cycle)
    api_back(h, a);
  a->failed_this_cycle = false;
  a->ok_this_cycle = false;
  a->backoff_this_cycle = false;
  a->outage_this_cycle = false;
}

void health_cycle_end(struct health *h) {
  api_cycle_end(h, &h->rs);
  api_cycle_end(h, &h->xm);
}
