/* One poll cycle: read Runscope, reconcile, drive xMatters, report. */
#include "engine.h"

#include "buf.h"
#include "catalog.h"
#include "http.h"
#include "reconcile.h"
#include "runscope.h"
#include "state.h"
#include "xmatters.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRY_RUN_PREFIX "dry-run:"
#define COMPLAIN_MAX_INTERVAL 86400.0

/* A log line that would repeat every cycle is repeated with a doubling gap
 * (collectd's c_complain), and once more when the condition clears. */
struct complaint {
  double next_at;  /* do not log again before this */
  double interval; /* 0: not complaining */
};

/* How one API is doing: reachability (for outage notifications) and the
 * damping of its two kinds of log lines. */
struct api_health {
  const char *name;     /* "Runscope" or "xMatters" */
  const char *instance; /* its value's type instance, "runscope_reachable" */
  double down_since; /* 0: reachable */
  bool warned;       /* a WARNING notification went out */
  struct complaint outage;  /* no answer, 429, 5xx */
  struct complaint failure; /* answers that are errors: 4xx, bad JSON */
  bool failed_this_cycle;   /* a failure (not an outage) in this cycle */
};

struct counters {
  uint64_t events_created;
  uint64_t events_terminated;
  uint64_t create_errors;
  uint64_t api_errors;
};

struct engine {
  const struct cfg *cfg;
  struct engine_sink sink;
  char hostname[256];
  struct http_client *rs_http, *xm_http;
  struct rs_client *rs;
  struct xm_client *xm;
  struct catalog cat;
  double discovered_at;
  struct rec_state state;
  struct rec_opts opts;
  bool dirty;        /* state changed since the last save */
  bool cycle_denied; /* an API rejected the credentials in this cycle */
  bool xm_down;      /* stop asking xMatters for the rest of the cycle */
  bool started;      /* the first cycle has run */
  double swept_at;   /* when every active event was last listed */
  struct api_health rs_health, xm_health;
  struct complaint save_complaint;
  struct counters n;
};

static void elog(struct engine *e, enum engine_log_level level,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void elog(struct engine *e, enum engine_log_level level,
                 const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (e->sink.log != NULL)
    e->sink.log(e->sink.ctx, level, msg);
}

/* True when a complaint should be logged now; doubles the gap. */
static bool complain_due(struct complaint *c, double now) {
  if (c->interval > 0 && now < c->next_at)
    return false;
  c->interval = c->interval > 0 ? c->interval * 2 : 60;
  if (c->interval > COMPLAIN_MAX_INTERVAL)
    c->interval = COMPLAIN_MAX_INTERVAL;
  c->next_at = now + c->interval;
  return true;
}

/* Ends a complaint; true when one was going on (worth a "back" line). */
static bool complain_release(struct complaint *c) {
  bool was = c->interval > 0;
  c->interval = 0;
  c->next_at = 0;
  return was;
}

static void notify_api(struct engine *e, struct api_health *h,
                       enum engine_severity sev, const char *message) {
  if (e->sink.notify == NULL)
    return;
  struct engine_meta meta[] = {{"api", h->name}};
  struct engine_notification n = {
      .severity = sev,
      .plugin_instance = "self",
      .type = "bool",
      .type_instance = h->instance,
      .message = message,
      .meta = meta,
      .n_meta = 1,
  };
  e->sink.notify(e->sink.ctx, &n);
}

/* An API answered: clears an outage. */
static void api_up(struct engine *e, struct api_health *h) {
  if (h->down_since == 0)
    return;
  if (complain_release(&h->outage))
    elog(e, ENGINE_LOG_NOTICE, "The %s API answers again.", h->name);
  if (h->warned) {
    char msg[256];
    snprintf(msg, sizeof(msg), "The %s API is reachable again.", h->name);
    notify_api(e, h, ENGINE_OKAY, msg);
  }
  h->down_since = 0;
  h->warned = false;
}

/* True for errors that mean the API cannot be used now (no answer, 429,
 * 5xx), as opposed to an answer that is an error. */
static bool is_outage(int rc) {
  return rc != -EACCES && rc != -ENOENT && rc != -EINVAL && rc != -EPROTO &&
         rc != -ENOMEM;
}

static void outage(struct engine *e, struct api_health *h,
                   const struct err *err, double now) {
  if (complain_due(&h->outage, now))
    elog(e, ENGINE_LOG_WARNING, "%s", err->msg);
  if (h->down_since == 0)
    h->down_since = now;
  if (!h->warned && now - h->down_since >= e->cfg->outage_threshold) {
    char msg[ERR_MSG_MAX + 128];
    snprintf(msg, sizeof(msg), "The %s API has been unreachable for %.0f s: %s",
             h->name, now - h->down_since, err->msg);
    notify_api(e, h, ENGINE_WARNING, msg);
    h->warned = true;
  }
}

/* An API call failed with rc (a negative errno): counts it, logs it
 * (rate-limited) and tracks outages. Returns true for an outage. */
static bool api_failed(struct engine *e, struct api_health *h, int rc,
                       const struct err *err, double now) {
  e->n.api_errors++;
  if (is_outage(rc)) {
    outage(e, h, err, now);
    return true;
  }
  if (rc == -EACCES)
    e->cycle_denied = true;
  h->failed_this_cycle = true;
  if (complain_due(&h->failure, now))
    elog(e, rc == -EACCES ? ENGINE_LOG_ERR : ENGINE_LOG_WARNING, "%s",
         err->msg);
  return false;
}

/* An xMatters call failed: after an outage or rejected credentials the
 * rest of the cycle leaves xMatters alone. */
static void xm_failed(struct engine *e, int rc, const struct err *err,
                      double now) {
  if (api_failed(e, &e->xm_health, rc, err, now) || rc == -EACCES)
    e->xm_down = true;
}

/* Ends the failure complaint of an API that had none in this cycle. */
static void api_cycle_done(struct api_health *h) {
  if (!h->failed_this_cycle)
    complain_release(&h->failure);
  h->failed_this_cycle = false;
}

static void save_state(struct engine *e, double now) {
  if (!e->dirty || e->cfg->dry_run)
    return;
  struct err err = {{0}};
  int rc = state_save(e->cfg->state_file, &e->state, &err);
  if (rc != 0) {
    if (complain_due(&e->save_complaint, now))
      elog(e, ENGINE_LOG_ERR, "%s", err.msg);
    return;
  }
  if (complain_release(&e->save_complaint))
    elog(e, ENGINE_LOG_NOTICE, "State file %s saved again.",
         e->cfg->state_file);
  e->dirty = false;
}

static int load_state(struct engine *e, double now, struct err *err) {
  int rc = state_load(e->cfg->state_file, now, e->cfg->max_json_depth,
                      &e->state, err);
  switch (rc) {
  case 0:
    elog(e, ENGINE_LOG_INFO, "Loaded state from %s: %zu keys, %zu cursors.",
         e->cfg->state_file, e->state.n_keys, e->state.n_cursors);
    return 0;
  case -ENOENT:
    elog(e, ENGINE_LOG_INFO,
         "No state file at %s: first start, runs older than %.0f s are "
         "not paged.",
         e->cfg->state_file, e->cfg->max_catch_up);
    return 0;
  case -EBADMSG:
    elog(e, ENGINE_LOG_ERR, "%s; starting with an empty state.", err->msg);
    return 0;
  default:
    return rc;
  }
}

static struct http_client *new_http(const struct cfg *cfg, double timeout) {
  char agent[64];
  snprintf(agent, sizeof(agent), "collectd-runscope/%s", RUNSCOPE_VERSION);
  struct http_opts o = {
      .timeout_ms = (long)(timeout * 1000),
      .max_response_bytes = (size_t)cfg->max_response_bytes,
      .user_agent = agent,
  };
  return http_new(&o);
}

static int new_clients(struct engine *e) {
  const struct cfg *c = e->cfg;
  e->rs_http = new_http(c, c->runscope.timeout);
  e->xm_http = new_http(c, c->xmatters.timeout);
  if (e->rs_http == NULL || e->xm_http == NULL)
    return -ENOMEM;
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
  e->sink = *sink;
  str_copy(e->hostname, sizeof(e->hostname), hostname ? hostname : "");
  e->rs_health.name = "Runscope";
  e->rs_health.instance = "runscope_reachable";
  e->xm_health.name = "xMatters";
  e->xm_health.instance = "xmatters_reachable";
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
  if (load_state(e, now, err) != 0) {
    e->dirty = false;
    engine_free(e);
    return NULL;
  }
  return e;
}

void engine_free(struct engine *e) {
  if (e == NULL)
    return;
  save_state(e, 0);
  rs_free(e->rs);
  xm_free(e->xm);
  http_free(e->rs_http);
  http_free(e->xm_http);
  cat_fini(&e->cat);
  rec_state_fini(&e->state);
  free(e);
}

/* Re-reads buckets, tests and details every DiscoveryInterval. */
static void discover(struct engine *e, double now) {
  if (e->cat.loaded && now - e->discovered_at < e->cfg->discovery_interval)
    return;
  struct err err = {{0}};
  int rc = cat_refresh(&e->cat, e->rs, e->cfg, &err);
  if (rc != 0) {
    api_failed(e, &e->rs_health, rc, &err, now);
    return;
  }
  api_up(e, &e->rs_health);
  e->discovered_at = now;
  size_t tests = 0;
  for (size_t i = 0; i < e->cat.n_buckets; i++)
    tests += e->cat.buckets[i].n_tests;
  elog(e, ENGINE_LOG_DEBUG, "Discovery: %zu buckets, %zu tests watched.",
       e->cat.n_buckets, tests);
}

static bool run_selected(const struct cat_bucket *b, const struct cat_test *t,
                         const struct rs_run *r) {
  const char *name = r->environment_name[0] ? r->environment_name
                                            : cat_env_name(t, r->environment_id);
  return cat_env_selected(b, r->environment_id, name);
}

/* Feeds the new runs of one test to the reconciler and moves its cursor.
 * Returns 0 or the Runscope call's negative errno. */
static int poll_test(struct engine *e, const struct cat_bucket *b,
                     const struct cat_test *t, double now) {
  const char *bk = b->info.key, *id = t->detail.id;
  struct rec_cursor *cur = rec_cursor_find(&e->state, bk, id);
  double since = cur ? cur->since : now - e->cfg->max_catch_up;
  struct rs_run *runs = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = rs_list_results(e->rs, bk, id, since, &runs, &n, &err);
  if (rc != 0) {
    api_failed(e, &e->rs_health, rc, &err, now);
    return rc;
  }
  api_up(e, &e->rs_health);
  for (size_t i = 0; i < n; i++) {
    if (!run_selected(b, t, &runs[i]))
      continue;
    /* The results list names the test; make sure the key uses ours. */
    str_copy(runs[i].test_id, sizeof(runs[i].test_id), id);
    if (rec_observe_run(&e->state, bk, &runs[i]) > 0)
      e->dirty = true;
  }
  double next = rec_cursor_next(since, runs, n, now, e->cfg->max_run_duration);
  free(runs);
  if (cur == NULL || next != since) {
    rec_cursor_set(&e->state, bk, id, next);
    e->dirty = true;
  }
  return 0;
}

/* Reads the new runs of every watched test. Stops at the first transport
 * or server error (Runscope is down: the next cycle retries). */
static void poll_results(struct engine *e, double now) {
  for (size_t i = 0; i < e->cat.n_buckets; i++) {
    const struct cat_bucket *b = &e->cat.buckets[i];
    for (size_t j = 0; j < b->n_tests; j++) {
      int rc = poll_test(e, b, &b->tests[j], now);
      if (rc != 0 && is_outage(rc))
        return;
    }
  }
}

static bool is_dry_run_id(const char *id) {
  return strncmp(id, DRY_RUN_PREFIX, strlen(DRY_RUN_PREFIX)) == 0;
}

/* Keeps the ids of open events (ACTIVE, or SUSPENDED: paused, not over). */
static size_t open_event_ids(const struct xm_event *ev, size_t n,
                             const char **ids, size_t max) {
  size_t m = 0;
  for (size_t i = 0; i < n && m < max; i++)
    if (strcmp(ev[i].status, "ACTIVE") == 0 ||
        strcmp(ev[i].status, "SUSPENDED") == 0)
      ids[m++] = ev[i].id;
  return m;
}

/* Asks xMatters for the key's active events, and, for a trigger whose
 * event has not shown up by key yet, for the events of its requestId. */
static int find_events(struct engine *e, const struct rec_key *k,
                       struct xm_event **ret, size_t *ret_n, struct err *err) {
  int rc = xm_find_active(e->xm, k->key, ret, ret_n, err);
  if (rc != 0 || *ret_n > 0 || k->ev != REC_EV_REQUESTED ||
      k->request_id[0] == '\0')
    return rc;
  free(*ret);
  *ret = NULL;
  return xm_find_by_request(e->xm, k->request_id, ret, ret_n, err);
}

static void look_up_key(struct engine *e, struct rec_key *k, double now) {
  if (k->n_events > 0 && is_dry_run_id(k->event_ids[0])) {
    const char *ids[REC_EVENTS_MAX];
    for (size_t i = 0; i < k->n_events; i++)
      ids[i] = k->event_ids[i];
    rec_apply_lookup(k, &e->opts, ids, k->n_events, now);
    return;
  }
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = find_events(e, k, &ev, &n, &err);
  if (rc != 0) {
    xm_failed(e, rc, &err, now);
    free(ev);
    return;
  }
  api_up(e, &e->xm_health);
  const char *ids[REC_EVENTS_MAX];
  size_t m = open_event_ids(ev, n, ids, REC_EVENTS_MAX);
  rec_apply_lookup(k, &e->opts, ids, m, now);
  free(ev);
  e->dirty = true;
}

/* Splits "<bucket>/<test>/<env>" into its parts (copied into parts). */
static int split_key(const char *key, char parts[3][RS_ID_MAX]) {
  const char *p = key;
  for (int i = 0; i < 3; i++) {
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= RS_ID_MAX || (i < 2 && p[n] != '/') ||
        (i == 2 && p[n] != '\0'))
      return -EINVAL;
    memcpy(parts[i], p, n);
    parts[i][n] = '\0';
    p += n + 1;
  }
  return 0;
}

/* Learns an active event of a watched key that the state does not know. */
static void adopt(struct engine *e, const struct xm_event *ev) {
  char parts[3][RS_ID_MAX];
  const struct cat_bucket *b;
  struct rec_key *k;
  if (split_key(ev->runscope_key, parts) != 0 ||
      (b = cat_bucket_find(&e->cat, parts[0])) == NULL ||
      cat_test_find(b, parts[1]) == NULL ||
      rec_key_get(&e->state, parts[0], parts[1], parts[2], &k) != 0)
    return;
  if (rec_adopt_event(k, &e->opts, ev->id) == 0)
    return;
  e->dirty = true;
  elog(e, ENGINE_LOG_INFO,
       "Adopted active xMatters event %s of %s, which the state did not "
       "know.",
       ev->id, k->key);
}

/* At start and every ReconcileInterval: lists every active event that
 * carries a runscope_key and adopts those the state does not know, so that
 * a lost or older state file cannot leave an event open after a pass. */
static void adopt_events(struct engine *e, double now) {
  if (!e->cat.loaded || e->xm_down ||
      (e->swept_at > 0 && now - e->swept_at < e->cfg->reconcile_interval))
    return;
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = xm_list_active(e->xm, &ev, &n, &err);
  if (rc != 0) {
    xm_failed(e, rc, &err, now);
    free(ev);
    return;
  }
  api_up(e, &e->xm_health);
  e->swept_at = now;
  for (size_t i = 0; i < n; i++)
    adopt(e, &ev[i]);
  free(ev);
}

/* On the first cycle: are the REST credentials accepted? So that
 * `collectd -T` fails on a wrong xMatters password even when no test fails. */
static void check_xmatters(struct engine *e, double now) {
  struct err err = {{0}};
  int rc = xm_check_credentials(e->xm, &err);
  if (rc == 0)
    api_up(e, &e->xm_health);
  else
    xm_failed(e, rc, &err, now);
}

static void look_up_events(struct engine *e, double now) {
  size_t *which = NULL, n = 0;
  if (rec_plan_lookups(&e->state, &e->opts, now, &which, &n) != 0) {
    elog(e, ENGINE_LOG_ERR, "Out of memory planning the xMatters lookups.");
    free(which);
    return;
  }
  for (size_t i = 0; i < n && !e->xm_down; i++)
    look_up_key(e, e->state.keys[which[i]], now);
  free(which);
}

/* Everything an event or notification says about a key, from the catalog
 * and the key's newest relevant run. */
struct key_view {
  const struct rec_key *k;
  const struct rec_run *run; /* newest failure, or newest run; may be NULL */
  const char *bucket_name;
  const char *test_name;
  const char *env_name;
  const char *region;
  const char *agent;
  char test_url[RS_URL_MAX];
  char run_url[RS_URL_MAX];
  char started[32], finished[32];
};

static void iso_time(double t, char *out, size_t size) {
  time_t s = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r(&s, &tm) == NULL) {
    snprintf(out, size, "%s", "");
    return;
  }
  strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const struct rec_run *newest_run(const struct rec_key *k) {
  const struct rec_run *r = NULL;
  for (size_t i = 0; i < k->n_locs; i++)
    if (r == NULL || k->locs[i].started_at > r->started_at)
      r = &k->locs[i];
  return r;
}

static void key_view_init(struct engine *e, const struct rec_key *k,
                          struct key_view *v) {
  memset(v, 0, sizeof(*v));
  v->k = k;
  v->run = rec_newest_failure(k, &e->opts);
  if (v->run == NULL)
    v->run = newest_run(k);
  const struct cat_bucket *b = cat_bucket_find(&e->cat, k->bucket_key);
  const struct cat_test *t = cat_test_find(b, k->test_id);
  const char *env = cat_env_name(t, k->environment_id);
  v->bucket_name = b ? b->info.name : k->bucket_key;
  v->test_name = t ? t->detail.name : k->test_id;
  v->env_name = env ? env : k->environment_id;
  const char *loc = v->run ? v->run->location : "";
  bool agent = strncmp(loc, "agent:", 6) == 0;
  v->region = agent ? "" : loc;
  v->agent = agent ? loc + 6 : "";
  const char *dash = e->cfg->dashboard_url;
  snprintf(v->test_url, sizeof(v->test_url), "%s/radar/%s/%s", dash,
           k->bucket_key, k->test_id);
  snprintf(v->run_url, sizeof(v->run_url), "%s/radar/%s/%s/results/%s", dash,
           k->bucket_key, k->test_id, v->run ? v->run->test_run_id : "");
  iso_time(v->run ? v->run->started_at : 0, v->started, sizeof(v->started));
  iso_time(v->run ? v->run->finished_at : 0, v->finished,
           sizeof(v->finished));
}

#define TEXT(n, v)                                                             \
  { .name = (n), .type = XM_PROP_TEXT, .text = (v) }
#define NUMBER(n, v)                                                           \
  { .name = (n), .type = XM_PROP_NUMBER, .number = (double)(v) }

/* Sends the Test Results trigger for the key. Returns the trigger's errno. */
static int send_trigger(struct engine *e, const struct key_view *v,
                        char *request_id, size_t size, struct err *err) {
  const struct rec_run *r = v->run;
  char summary[768];
  snprintf(summary, sizeof(summary),
           "Runscope test \"%s\" failed in environment \"%s\"%s%s", v->test_name,
           v->env_name, v->region[0] || v->agent[0] ? " at " : "",
           v->region[0] ? v->region : v->agent);
  const struct xm_prop props[] = {
      TEXT(XM_KEY_PROPERTY, v->k->key),
      TEXT("summary", summary),
      TEXT("result", "fail"),
      TEXT("test_id", v->k->test_id),
      TEXT("test_name", v->test_name),
      TEXT("bucket_key", v->k->bucket_key),
      TEXT("bucket_name", v->bucket_name),
      TEXT("environment_id", v->k->environment_id),
      TEXT("environment_name", v->env_name),
      TEXT("test_run_id", r ? r->test_run_id : ""),
      TEXT("test_url", v->test_url),
      TEXT("test_run_url", v->run_url),
      TEXT("region", v->region),
      TEXT("agent", v->agent),
      TEXT("started_at", v->started),
      TEXT("finished_at", v->finished),
      NUMBER("assertions_failed", r ? r->assertions_failed : 0),
      NUMBER("scripts_failed", r ? r->scripts_failed : 0),
      NUMBER("variables_failed", r ? r->variables_failed : 0),
      NUMBER("requests_executed", r ? r->requests_executed : 0),
      TEXT("collectd_host", e->hostname),
  };
  const struct cfg_xmatters *x = &e->cfg->xmatters;
  struct xm_trigger_req req = {
      .props = props,
      .n_props = sizeof(props) / sizeof(props[0]),
      .recipients = (const char *const *)x->recipients.v,
      .n_recipients = x->recipients.n,
      .priority = x->priority,
      .acknowledge_text = x->acknowledge_response,
      .rerun_text = x->rerun_response,
  };
  return xm_trigger(e->xm, x->test_results_trigger_url, &req, request_id, size,
                    err);
}

/* An explicit answer (any HTTP status) says whether the event was
 * accepted; only a lost answer leaves the question open. */
static enum rec_create_outcome create_outcome(int rc) {
  switch (rc) {
  case 0:
    return REC_CREATED;
  case -EAGAIN: /* 429 or 5xx */
  case -EACCES:
  case -ENOENT:
  case -EINVAL:
    return REC_NOT_CREATED;
  case -EPROTO: /* a 2xx whose body could not be read */
    return REC_MAYBE_SENT;
  default:
    return http_maybe_sent(rc) ? REC_MAYBE_SENT : REC_NOT_CREATED;
  }
}

static void create_event(struct engine *e, struct rec_key *k, double now) {
  struct key_view v;
  key_view_init(e, k, &v);
  if (e->cfg->dry_run) {
    elog(e, ENGINE_LOG_NOTICE,
         "DryRun: would create an xMatters event for %s (test \"%s\", "
         "environment \"%s\", run %s).",
         k->key, v.test_name, v.env_name, v.run ? v.run->test_run_id : "");
    char id[XM_ID_MAX];
    snprintf(id, sizeof(id), "%s%zu", DRY_RUN_PREFIX, (size_t)now);
    const char *ids[] = {id};
    rec_apply_lookup(k, &e->opts, ids, 1, now);
    return;
  }
  /* Write-ahead: a crash after sending must not lead to a second trigger. */
  rec_create_done(k, &e->opts, REC_MAYBE_SENT, NULL, now);
  e->dirty = true;
  save_state(e, now);
  char request_id[XM_ID_MAX] = "";
  struct err err = {{0}};
  int rc = send_trigger(e, &v, request_id, sizeof(request_id), &err);
  rec_create_done(k, &e->opts, create_outcome(rc), request_id, now);
  if (rc != 0) {
    e->n.create_errors++;
    xm_failed(e, rc, &err, now);
    return;
  }
  api_up(e, &e->xm_health);
  e->n.events_created++;
  elog(e, ENGINE_LOG_INFO,
       "Created an xMatters event for %s (test \"%s\", environment \"%s\", "
       "run %s), requestId %s.",
       k->key, v.test_name, v.env_name, v.run ? v.run->test_run_id : "",
       request_id[0] ? request_id : "(none)");
}

static void terminate_event(struct engine *e, struct rec_key *k,
                            const char *event_id, double now) {
  if (e->cfg->dry_run || is_dry_run_id(event_id)) {
    elog(e, ENGINE_LOG_NOTICE,
         "DryRun: would terminate xMatters event %s of %s: the test passes.",
         event_id, k->key);
    rec_terminate_done(k, event_id, true);
    return;
  }
  struct err err = {{0}};
  int rc = xm_terminate(e->xm, event_id, &err);
  rec_terminate_done(k, event_id, rc == 0 || rc == -ENOENT);
  e->dirty = true;
  if (rc != 0 && rc != -ENOENT) {
    xm_failed(e, rc, &err, now);
    return;
  }
  api_up(e, &e->xm_health);
  e->n.events_terminated++;
  elog(e, ENGINE_LOG_INFO,
       "Terminated xMatters event %s of %s: the test passes in every "
       "location.",
       event_id, k->key);
}

/* FAILURE when a key starts failing, OKAY when it recovers. */
static void notify_key(struct engine *e, const struct rec_key *k,
                       enum engine_severity sev) {
  if (e->sink.notify == NULL)
    return;
  struct key_view v;
  key_view_init(e, k, &v);
  char msg[3072], instance[2 * RS_ID_MAX + 2];
  if (sev == ENGINE_FAILURE)
    snprintf(msg, sizeof(msg),
             "Runscope test \"%s\" fails in environment \"%s\"%s%s: %ld "
             "assertions failed. %s",
             v.test_name, v.env_name, v.region[0] || v.agent[0] ? " at " : "",
             v.region[0] ? v.region : v.agent,
             v.run ? v.run->assertions_failed : 0, v.run_url);
  else
    snprintf(msg, sizeof(msg),
             "Runscope test \"%s\" passes again in environment \"%s\". %s",
             v.test_name, v.env_name, v.run_url);
  snprintf(instance, sizeof(instance), "%s-%s", k->test_id, k->environment_id);
  const struct engine_meta meta[] = {
      {"runscope_key", k->key},
      {"test_id", k->test_id},
      {"environment_id", k->environment_id},
      {"test_run_id", v.run ? v.run->test_run_id : ""},
      {"test_run_url", v.run_url},
      {"event_id", k->n_events > 0 ? k->event_ids[0] : ""},
      {"xmatters_request_id", k->ev == REC_EV_REQUESTED ? k->request_id : ""},
  };
  struct engine_notification n = {
      .severity = sev,
      .plugin_instance = k->bucket_key,
      .type = "bool",
      .type_instance = instance,
      .message = msg,
      .meta = meta,
      .n_meta = sizeof(meta) / sizeof(meta[0]),
  };
  e->sink.notify(e->sink.ctx, &n);
}

static void carry_out(struct engine *e, const struct rec_action *a,
                      double now) {
  struct rec_key *k = e->state.keys[a->key];
  switch (a->type) {
  case REC_CREATE:
    if (!e->xm_down)
      create_event(e, k, now);
    break;
  case REC_TERMINATE:
    if (!e->xm_down)
      terminate_event(e, k, a->event_id, now);
    break;
  case REC_NOTIFY_FAILURE:
    notify_key(e, k, ENGINE_FAILURE);
    e->dirty = true;
    break;
  case REC_NOTIFY_OKAY:
    notify_key(e, k, ENGINE_OKAY);
    e->dirty = true;
    break;
  }
}

static void act(struct engine *e, double now) {
  struct rec_actions actions;
  rec_actions_init(&actions);
  if (rec_plan_actions(&e->state, &e->opts, now, &actions) != 0)
    elog(e, ENGINE_LOG_ERR, "Out of memory planning the xMatters actions.");
  for (size_t i = 0; i < actions.n; i++)
    carry_out(e, &actions.v[i], now);
  rec_actions_fini(&actions);
}

static void value(struct engine *e, const char *instance, const char *type,
                  const char *type_instance, enum engine_value_kind kind,
                  double v) {
  if (e->sink.value == NULL)
    return;
  struct engine_value ev = {
      .plugin_instance = instance,
      .type = type,
      .type_instance = type_instance,
      .kind = kind,
      .gauge = v,
      .derive = (int64_t)v,
  };
  e->sink.value(e->sink.ctx, &ev);
}

/* True when the key's test is among those watched now. */
static bool key_watched(const struct engine *e, const struct rec_key *k) {
  return cat_test_find(cat_bucket_find(&e->cat, k->bucket_key), k->test_id) !=
         NULL;
}

static void report_keys(struct engine *e) {
  size_t active = 0;
  for (size_t i = 0; i < e->state.n_keys; i++) {
    const struct rec_key *k = e->state.keys[i];
    active += k->n_events;
    enum rec_verdict verdict = rec_verdict(k, &e->opts);
    if (verdict == REC_UNKNOWN || !key_watched(e, k))
      continue;
    char instance[2 * RS_ID_MAX + 2];
    snprintf(instance, sizeof(instance), "%s-%s", k->test_id,
             k->environment_id);
    value(e, k->bucket_key, "bool", instance, ENGINE_GAUGE,
          verdict == REC_PASSING);
  }
  value(e, "self", "gauge", "active_events", ENGINE_GAUGE, (double)active);
}

static void report_self(struct engine *e, double duration) {
  const struct http_stats *rs = http_stats(e->rs_http);
  const struct http_stats *xm = http_stats(e->xm_http);
  value(e, "self", "http_requests", "runscope", ENGINE_DERIVE,
        (double)rs->requests);
  value(e, "self", "http_requests", "xmatters", ENGINE_DERIVE,
        (double)xm->requests);
  value(e, "self", "derive", "runscope_errors", ENGINE_DERIVE,
        (double)(rs->errors + rs->server_errors));
  value(e, "self", "derive", "xmatters_errors", ENGINE_DERIVE,
        (double)(xm->errors + xm->server_errors));
  value(e, "self", "derive", "rate_limited", ENGINE_DERIVE,
        (double)(rs->rate_limited + xm->rate_limited));
  value(e, "self", "derive", "events_created", ENGINE_DERIVE,
        (double)e->n.events_created);
  value(e, "self", "derive", "events_terminated", ENGINE_DERIVE,
        (double)e->n.events_terminated);
  value(e, "self", "derive", "create_errors", ENGINE_DERIVE,
        (double)e->n.create_errors);
  value(e, "self", "derive", "api_errors", ENGINE_DERIVE,
        (double)e->n.api_errors);
  value(e, "self", "bool", e->rs_health.instance, ENGINE_GAUGE,
        e->rs_health.down_since == 0);
  value(e, "self", "bool", e->xm_health.instance, ENGINE_GAUGE,
        e->xm_health.down_since == 0);
  value(e, "self", "duration", "cycle", ENGINE_GAUGE, duration);
}

static double monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int engine_cycle(struct engine *e, double now) {
  double started = monotonic();
  e->cycle_denied = false;
  e->xm_down = false;
  if (!e->started)
    check_xmatters(e, now);
  e->started = true;
  discover(e, now);
  if (e->cat.loaded)
    poll_results(e, now);
  adopt_events(e, now);
  look_up_events(e, now);
  act(e, now);
  save_state(e, now);
  api_cycle_done(&e->rs_health);
  api_cycle_done(&e->xm_health);
  report_keys(e);
  report_self(e, monotonic() - started);
  return e->cycle_denied ? -EACCES : 0;
}
