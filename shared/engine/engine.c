/* One poll cycle: read Runscope, reconcile, drive xMatters, report. This
 * file holds the engine's lifecycle, the cycle's order, API health and the
 * state file; the stages live in runs.c, events.c and report.c. */
#include "engine/engine_internal.h"

#include "store/state.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/limiter.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct http_client *new_http(const struct cfg *cfg, double timeout,
                                    size_t parallel) {
  char agent[64];
  snprintf(agent, sizeof(agent), "collectd-runscope/%s", RUNSCOPE_VERSION);
  struct http_opts o = {
      .timeout_ms = (long)(timeout * 1000),
      .max_response_bytes = (size_t)cfg->max_response_bytes,
      .user_agent = agent,
      .max_parallel = parallel,
  };
  return http_new(&o);
}

/* MaxRequestsPerSecond: every request of an API passes its limiter. */
static double rate_wait(void *ctx, double now) {
  return limiter_wait(ctx, "api", now);
}

static void rate_note(void *ctx, double now) { limiter_note(ctx, "api", now); }

static void rate_cap(struct http_client *h, struct limiter *l,
                     double per_second) {
  if (!(per_second > 0))
    return;
  /* per_second in any second; below 1, one per 1/per_second seconds */
  if (per_second >= 1)
    limiter_init_rate(l, (size_t)per_second, 1.0);
  else
    limiter_init_rate(l, 1, 1.0 / per_second);
  struct http_gate g = {rate_wait, rate_note, l};
  http_set_gate(h, &g);
}

static int new_clients(struct engine *e) {
  const struct cfg *c = e->cfg;
  e->rs_http =
      new_http(c, c->runscope.timeout, (size_t)c->max_concurrent_requests);
  e->xm_http = new_http(c, c->xmatters.timeout, 1);
  if (e->rs_http == NULL || e->xm_http == NULL)
    return -ENOMEM;
  rate_cap(e->rs_http, &e->rs_rate, c->max_requests_per_second);
  rate_cap(e->xm_http, &e->xm_rate, c->max_requests_per_second);
  e->rs = rs_new(e->rs_http, c->runscope.base_url, c->runscope.token,
                 c->max_json_depth);
  e->xm = xm_new(e->xm_http, c->xmatters.base_url ? c->xmatters.base_url : "",
                 c->xmatters.user, c->xmatters.password, c->max_json_depth);
  return (e->rs && e->xm) ? 0 : -ENOMEM;
}

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
  str_copy(e->hostname, sizeof(e->hostname), hostname ? hostname : "");
  cat_init(&e->cat);
  rec_state_init(&e->state);
  rec_opts_default(&e->opts);
  e->opts.location_window = cfg->location_window;
  e->opts.pending_timeout = cfg->pending_timeout;
  e->opts.reconcile_interval = cfg->reconcile_interval;
  if (new_clients(e) != 0) {
    err_set(err, "out of memory");
    engine_free(e);
    return NULL;
  }
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
}

void engine_set_clock(struct engine *e, http_clock_fn now, http_sleep_fn sleep,
                      void *ctx) {
  http_set_clock(e->rs_http, now, sleep, ctx);
  http_set_clock(e->xm_http, now, sleep, ctx);
}

void engine_free(struct engine *e) {
  if (e == NULL)
    return;
  persist_save(&e->persist, &e->state, 0);
  rs_free(e->rs);
  xm_free(e->xm);
  http_free(e->rs_http);
  http_free(e->xm_http);
  cat_fini(&e->cat);
  limiter_fini(&e->triggers);
  limiter_fini(&e->rs_rate);
  limiter_fini(&e->xm_rate);
  rec_state_fini(&e->state);
  free(e);
}

/* Probes an xMatters that is down when nothing asked it anything in this
 * cycle (Runscope down too, or no key to act on), so that its WARNING and
 * OKAY notifications do not wait for the next page. Not in forward mode,
 * which has no REST API to ask. */
static void probe_xmatters(struct engine *e, double now) {
  if (health_xm_probe_due(&e->health) &&
      e->cfg->xmatters.mode != CFG_MODE_FORWARD)
    eng_check_xmatters(e, now);
}

/* The share of the interval after which no Runscope read starts: the rest
 * of the cycle (xMatters, responses, traffic) gets the remainder. */
#define READ_BUDGET 0.7

void eng_cycle_done(struct engine *e, double now, double duration) {
  double interval = e->cfg->interval;
  bool over = interval > 0 && duration > interval;
  if (over)
    e->overruns++;
  if (!over && e->deferred == 0) {
    if (say_complaint_over(&e->overrun))
      say_log(&e->say, ENGINE_LOG_NOTICE,
              "Poll cycles fit their interval of %.1f s again.", interval);
    return;
  }
  if (!say_complaint_due(&e->overrun, now))
    return;
  if (over)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "A poll cycle took %.1f s, longer than the interval of %.1f s; "
            "%zu due tests were left for the next cycle. Raise "
            "MaxRequestsPerSecond or MaxConcurrentRequests, or the Interval.",
            duration, interval, e->deferred);
  else
    say_log(&e->say, ENGINE_LOG_WARNING,
            "A poll cycle left %zu due tests for the next one: Runscope "
            "reads stop after %.0f%% of the interval of %.1f s. Raise "
            "MaxRequestsPerSecond or MaxConcurrentRequests, or the Interval.",
            e->deferred, READ_BUDGET * 100, interval);
}

int engine_cycle(struct engine *e, double now) {
  double started = clock_monotonic();
  e->cycle_start = http_now(e->rs_http);
  e->read_deadline = e->cfg->interval > 0
                         ? e->cycle_start + READ_BUDGET * e->cfg->interval
                         : 0;
  /* An API that backs off is not called in this cycle. */
  health_cycle_start(&e->health, now);
  /* Forward mode posts to the trigger URL only: no REST API, no events. */
  bool forward = e->cfg->xmatters.mode == CFG_MODE_FORWARD;
  if (!e->started && health_xm_usable(&e->health) && !forward)
    eng_check_xmatters(e, now);
  e->started = true;
  if (health_ready(&e->health, &e->health.rs, now)) {
    eng_discover(e, now);
    if (e->cat.loaded && !health_waiting(&e->health.rs, now))
      eng_poll_results(e, now);
  }
  if (forward) {
    eng_forward(e, now);
  } else {
    eng_adopt_events(e, now);
    eng_look_up_events(e, now);
  }
  eng_act(e, now); /* in forward mode: notifications only */
  /* In forward mode the plan handles the responses. */
  if (!forward)
    eng_handle_responses(e, now);
  eng_poll_traffic(e, now);
  if (!forward)
    probe_xmatters(e, now);
  persist_save(&e->persist, &e->state, now);
  health_cycle_end(&e->health);
  eng_report_keys(e);
  double duration = clock_monotonic() - started;
  eng_cycle_done(e, now, duration);
  eng_report_self(e, now, duration);
  return e->health.denied ? -EACCES : 0;
}
