/* What the engine dispatches about keys and itself: views of keys, the
 * notifications of keys and the values. */
#include "engine/engine_internal.h"

#include "core/report.h"

#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- views ---- */

static const struct rec_run *newest_run(const struct rec_key *k) {
  const struct rec_run *r = NULL;
  for (size_t i = 0; i < k->n_locs; i++)
    if (r == NULL || k->locs[i].started_at > r->started_at)
      r = &k->locs[i];
  return r;
}

/* The run a key's verdict rests on: the newest failure, or the newest run. */
static const struct rec_run *verdict_run(const struct engine *e,
                                         const struct rec_key *k) {
  const struct rec_run *r = rec_newest_failure(k, &e->opts);
  return r != NULL ? r : newest_run(k);
}

void eng_key_view_init(struct engine *e, const struct rec_key *k,
                       struct key_view *v) {
  memset(v, 0, sizeof(*v));
  v->k = k;
  v->run = verdict_run(e, k);
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
  clock_iso8601(v->run ? v->run->started_at : 0, v->started,
                sizeof(v->started));
  clock_iso8601(v->run ? v->run->finished_at : 0, v->finished,
                sizeof(v->finished));
}

/* ---- the names of a bucket's keys ---- */

/* The keys of one bucket (state indices) and their names. */
struct bucket_names {
  size_t *idx;
  char (*name)[REPORT_KEY_NAME_MAX];
  size_t n;
};

static void bucket_names_fini(struct bucket_names *bn) {
  free(bn->idx);
  free(bn->name);
  memset(bn, 0, sizeof(*bn));
}

/* Names every key of the state with the given bucket key, from the
 * catalog's names: values and notifications of a key share its name
 * because they come from this one list. Returns 0 or -ENOMEM. */
static int bucket_names_init(const struct engine *e, const char *bucket_key,
                             struct bucket_names *bn) {
  memset(bn, 0, sizeof(*bn));
  size_t n = 0;
  for (size_t i = 0; i < e->state.n_keys; i++)
    n += strcmp(e->state.keys[i]->bucket_key, bucket_key) == 0;
  if (n == 0)
    return 0;
  struct report_key *rk = calloc(n, sizeof(*rk));
  bn->idx = calloc(n, sizeof(*bn->idx));
  bn->name = calloc(n, sizeof(*bn->name));
  int rc = (rk && bn->idx && bn->name) ? 0 : -ENOMEM;
  const struct cat_bucket *b = cat_bucket_find(&e->cat, bucket_key);
  for (size_t i = 0; rc == 0 && i < e->state.n_keys; i++) {
    const struct rec_key *k = e->state.keys[i];
    if (strcmp(k->bucket_key, bucket_key) != 0)
      continue;
    const struct cat_test *t = cat_test_find(b, k->test_id);
    rk[bn->n] = (struct report_key){
        .test_name = t ? t->detail.name : NULL,
        .env_name = cat_env_name(t, k->environment_id),
        .test_id = k->test_id,
        .env_id = k->environment_id,
    };
    bn->idx[bn->n++] = i;
  }
  if (rc == 0)
    rc = report_key_names(rk, bn->n, bn->name);
  free(rk);
  if (rc != 0)
    bucket_names_fini(bn);
  return rc;
}

/* The name of key k (its values' and notifications' type instance) into
 * out; "" when memory ran out. */
static void key_name(const struct engine *e, const struct rec_key *k,
                     char out[REPORT_KEY_NAME_MAX]) {
  struct bucket_names bn;
  out[0] = '\0';
  if (bucket_names_init(e, k->bucket_key, &bn) != 0)
    return;
  for (size_t i = 0; i < bn.n; i++)
    if (e->state.keys[bn.idx[i]] == k)
      str_copy(out, REPORT_KEY_NAME_MAX, bn.name[i]);
  bucket_names_fini(&bn);
}

void eng_key_ids(const struct engine *e, const struct rec_key *k,
                 char instance[REPORT_NAME_MAX],
                 char name[REPORT_KEY_NAME_MAX]) {
  report_bucket_instance(k->bucket_key, instance);
  key_name(e, k, name);
}

/* ---- notifications ---- */

/* FAILURE when a key starts failing, OKAY when it recovers: plugin instance
 * the bucket, type bool and the key's name, as its passing value. */
void eng_notify_key(struct engine *e, const struct rec_key *k,
                    enum engine_severity sev) {
  struct key_view v;
  eng_key_view_init(e, k, &v);
  char msg[REPORT_MESSAGE_MAX], instance[REPORT_NAME_MAX];
  char name[REPORT_KEY_NAME_MAX];
  report_key_message(msg, sizeof(msg), sev == ENGINE_FAILURE, v.test_name,
                     v.env_name, v.region[0] ? v.region : v.agent,
                     v.run ? v.run->assertions_failed : 0, v.run_url);
  report_bucket_instance(k->bucket_key, instance);
  key_name(e, k, name);
  const char *event_id = k->n_events > 0 ? k->event_ids[0] : "";
  if (event_id[0] == '\0' && e->closed_key == k)
    event_id = e->closed_event; /* an OKAY: the event just terminated */
  const struct engine_meta all[] = {
      {"runscope_key", k->key},
      {"test_id", k->test_id},
      {"test_name", v.test_name},
      {"environment_id", k->environment_id},
      {"environment_name", v.env_name},
      {"test_run_id", v.run ? v.run->test_run_id : ""},
      {"test_run_url", v.run_url},
      {"event_id", event_id},
      {"xmatters_request_id", k->ev == REC_EV_REQUESTED ? k->request_id : ""},
  };
  struct engine_meta meta[sizeof(all) / sizeof(all[0])];
  size_t n_meta = 0;
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (all[i].value[0] != '\0')
      meta[n_meta++] = all[i];
  struct say_about about = {instance, "bool", name};
  say_notify(&e->say, sev, &about, msg, meta, n_meta);
}

/* ---- values ---- */

static void value(struct engine *e, const char *instance, const char *type,
                  const char *type_instance, enum engine_value_kind kind,
                  double v) {
  struct say_about about = {instance, type, type_instance};
  say_value(&e->say, &about, kind, v);
}

/* A count of the key's verdict run, type instance "<name>-<what>". */
static void key_count(struct engine *e, const char *instance, const char *name,
                      const char *what, long n) {
  char ti[REPORT_NAME_MAX];
  snprintf(ti, sizeof(ti), "%s-%s", name, what);
  value(e, instance, "count", ti, ENGINE_GAUGE, (double)n);
}

/* The values of one key with a verdict. */
static void report_key(struct engine *e, const char *instance, const char *name,
                       const struct rec_key *k, enum rec_verdict verdict) {
  value(e, instance, "bool", name, ENGINE_GAUGE, verdict == REC_PASSING);
  const struct rec_run *r = verdict_run(e, k);
  if (r == NULL)
    return;
  if (r->finished_at > 0 && r->finished_at >= r->started_at)
    value(e, instance, "duration", name, ENGINE_GAUGE,
          r->finished_at - r->started_at);
  key_count(e, instance, name, "assertions_failed", r->assertions_failed);
  key_count(e, instance, name, "scripts_failed", r->scripts_failed);
  key_count(e, instance, name, "variables_failed", r->variables_failed);
  key_count(e, instance, name, "requests_executed", r->requests_executed);
}

/* The values of the watched keys of a bucket with a verdict, and the
 * number of them that fail. */
static void report_bucket(struct engine *e, const struct cat_bucket *b) {
  char instance[REPORT_NAME_MAX];
  report_bucket_instance(b->info.key, instance);
  struct bucket_names bn;
  if (bucket_names_init(e, b->info.key, &bn) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory naming the values of bucket %s.", b->info.key);
    return;
  }
  size_t failing = 0;
  for (size_t i = 0; i < bn.n; i++) {
    const struct rec_key *k = e->state.keys[bn.idx[i]];
    enum rec_verdict verdict = rec_verdict(k, &e->opts);
    if (verdict == REC_UNKNOWN || cat_test_find(b, k->test_id) == NULL ||
        bn.name[i][0] == '\0')
      continue;
    failing += verdict == REC_FAILING;
    report_key(e, instance, bn.name[i], k, verdict);
  }
  bucket_names_fini(&bn);
  value(e, instance, "count", "failing_keys", ENGINE_GAUGE, (double)failing);
}

void eng_report_keys(struct engine *e) {
  size_t active = 0;
  for (size_t i = 0; i < e->state.n_keys; i++)
    active += e->state.keys[i]->n_events;
  for (size_t i = 0; i < e->cat.n_buckets; i++)
    report_bucket(e, &e->cat.buckets[i]);
  value(e, "self", "count", "active_events", ENGINE_GAUGE, (double)active);
}

/* The values of one API: requests, failed calls, 429 answers. */
static void report_api(struct engine *e, const char *api,
                       const struct http_stats *st,
                       const struct api_health *h) {
  char ti[REPORT_NAME_MAX];
  value(e, "self", "http_requests", api, ENGINE_DERIVE, (double)st->requests);
  snprintf(ti, sizeof(ti), "%s_errors", api);
  value(e, "self", "derive", ti, ENGINE_DERIVE, (double)h->errors);
  snprintf(ti, sizeof(ti), "%s_rate_limited", api);
  value(e, "self", "derive", ti, ENGINE_DERIVE, (double)st->rate_limited);
  value(e, "self", "bool", h->instance, ENGINE_GAUGE, h->down_since == 0);
}

void eng_report_self(struct engine *e, double now, double duration) {
  report_api(e, "runscope", http_stats(e->rs_http), &e->health.rs);
  report_api(e, "xmatters", http_stats(e->xm_http), &e->health.xm);
  value(e, "self", "derive", "events_created", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_EVENTS_CREATED));
  value(e, "self", "derive", "events_terminated", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_EVENTS_TERMINATED));
  value(e, "self", "derive", "reruns_triggered", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_RERUNS_TRIGGERED));
  value(e, "self", "derive", "acknowledgements", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_ACKNOWLEDGEMENTS));
  value(e, "self", "derive", "create_errors", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_CREATE_ERRORS));
  value(e, "self", "derive", "runs_forwarded", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_RUNS_FORWARDED));
  value(e, "self", "derive", "forward_errors", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_FORWARD_ERRORS));
  value(e, "self", "derive", "api_errors", ENGINE_DERIVE,
        (double)say_total(&e->say, SAY_API_ERRORS));
  value(e, "self", "duration", "cycle", ENGINE_GAUGE, duration);
  value(e, "self", "duration", "runscope_poll_age", ENGINE_GAUGE,
        now > e->health.polled_at ? now - e->health.polled_at : 0);
  value(e, "self", "derive", "cycle_overruns", ENGINE_DERIVE,
        (double)e->overruns);
  value(e, "self", "count", "tests_deferred", ENGINE_GAUGE,
        (double)e->deferred);
}
