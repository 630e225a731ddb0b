/* SPDX-License-Identifier: MIT */
/* The engine's connections: the HTTP clients of Runscope and xMatters. */
#include "engine/connect.h"

#include <errno.h>
#include <stdio.h>

/* The API behind a client, for its problem lines. */
struct api_name {
  const char *api;   /* "Runscope" */
  const char *block; /* "<Runscope>" */
};

static struct http_client *new_http(const struct cfg *cfg, double timeout,
                                    size_t parallel,
                                    const struct cfg_tls_proxy *net,
                                    const struct api_name *name) {
  char agent[64];
  snprintf(agent, sizeof(agent), "collectd-runscope/%s", RUNSCOPE_VERSION);
  struct http_opts o = {
      .timeout_ms = (long)(timeout * 1000),
      .max_response_bytes = (size_t)cfg->max_response_bytes,
      .user_agent = agent,
      .max_parallel = parallel,
      .net = net,
      .api = name->api,
      .block = name->block,
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

int connect_open(struct engine *e) {
  const struct cfg *c = e->cfg;
  static const struct api_name rs_name = {"Runscope", "<Runscope>"};
  static const struct api_name xm_name = {"xMatters", "<XMatters>"};
  e->rs_http =
      new_http(c, c->runscope.timeout, (size_t)c->max_concurrent_requests,
               &c->runscope.net, &rs_name);
  e->xm_http = new_http(c, c->xmatters.timeout, 1, &c->xmatters.net, &xm_name);
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

/* Logs the problem of one client once per change; true when it has one. */
static bool report_problem(struct engine *e, struct http_client *h) {
  bool fresh = false;
  const char *line = h ? http_problem(h, &fresh) : "";
  if (fresh && line[0] != '\0')
    say_log(&e->say, ENGINE_LOG_ERR, "%s", line);
  return line[0] != '\0';
}

int connect_report(struct engine *e) {
  bool rs = report_problem(e, e->rs_http);
  bool xm = report_problem(e, e->xm_http);
  return rs || xm ? -EACCES : 0;
}

void connect_close(struct engine *e) {
  rs_free(e->rs);
  xm_free(e->xm);
  http_free(e->rs_http);
  http_free(e->xm_http);
  limiter_fini(&e->rs_rate);
  limiter_fini(&e->xm_rate);
  e->rs = NULL;
  e->xm = NULL;
  e->rs_http = e->xm_http = NULL;
}
