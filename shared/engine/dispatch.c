/* SPDX-License-Identifier: MIT */
/* The stage that dispatches keys' and the plugin's own values and notices.
 *
 * The notifications of keys the actions call for, the values of the keys
 * and the plugin's own values, through say.c. */
#include "engine/dispatch.h"

#include "core/report.h"
#include "engine/key_view.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

/* ---- notifications ---- */

/* WARNING when a key starts flapping, OKAY when it stops, with a log
 * line: the identifiers of the key's other notifications. */
static void notify_flap(struct engine *e, const struct key_notice *kn) {
  const struct rec_key *k = kn->k;
  struct key_view v;
  key_view_init(e, k, &v);
  bool started = kn->severity == ENGINE_WARNING;
  char msg[REPORT_MESSAGE_MAX], instance[REPORT_NAME_MAX];
  char name[REPORT_KEY_NAME_MAX];
  snprintf(msg, sizeof(msg),
           "Runscope test \"%s\" in environment \"%s\" %s flapping: %.0f%% "
           "state changes over its last %zu results%s",
           v.test_name, v.env_name, started ? "is" : "stopped",
           flap_percent(&k->flap, e->opts.flap.window), e->opts.flap.window,
           started ? "; no event is created or terminated for it until it "
                     "settles"
                   : "");
  say_log(&e->say, started ? ENGINE_LOG_WARNING : ENGINE_LOG_NOTICE, "%s: %s.",
          k->key, msg);
  key_view_ids(e, k, instance, name);
  const struct engine_meta meta[] = {
      {"runscope_key", k->key},
      {"test_id", k->test_id},
      {"environment_id", k->environment_id},
      {"flapping", started ? "true" : "false"},
  };
  struct say_about about = {instance, "bool", name};
  say_notify(&e->say, kn->severity, &about, msg, meta,
             sizeof(meta) / sizeof(meta[0]));
}

/* FAILURE when a key starts failing, OKAY when it recovers: plugin instance
 * the bucket, type bool and the key's name, as its passing value. */
static void notify_key(struct engine *e, const struct key_notice *kn) {
  if (kn->flap) {
    notify_flap(e, kn);
    return;
  }
  const struct rec_key *k = kn->k;
  struct key_view v;
  key_view_init(e, k, &v);
  char msg[REPORT_MESSAGE_MAX], instance[REPORT_NAME_MAX];
  char name[REPORT_KEY_NAME_MAX];
  report_key_message(msg, sizeof(msg), kn->severity == ENGINE_FAILURE,
                     v.test_name, v.env_name, v.region[0] ? v.region : v.agent,
                     v.run ? v.run->assertions_failed : 0, v.run_url);
  key_view_ids(e, k, instance, name);
  /* an OKAY names the event the actions just terminated */
  const char *event_id = k->n_events > 0 ? k->event_ids[0] : kn->closed_event;
  const struct engine_meta all[] = {
      {"runscope_key", k->key},
      {"test_id", k->test_id},
      {"test_name", v.test_name},
      {"environment_id", k->environment_id},
      {"environment_name", v.env_name},
      {"test_run_id", v.run ? str_or_empty(v.run->test_run_id) : ""},
      {"test_run_url", v.run_url},
      {"event_id", event_id},
      {"xmatters_request_id",
       k->ev == REC_EV_REQUESTED ? str_or_empty(k->request_id) : ""},
  };
  struct engine_meta meta[sizeof(all) / sizeof(all[0])];
  size_t n_meta = 0;
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (all[i].value[0] != '\0')
      meta[n_meta++] = all[i];
  struct say_about about = {instance, "bool", name};
  say_notify(&e->say, kn->severity, &about, msg, meta, n_meta);
}

void dispatch_key_notices(struct engine *e, const struct key_notices *kn) {
  for (size_t i = 0; i < kn->n; i++)
    notify_key(e, &kn->v[i]);
}

/* ---- values ---- */

static void value(struct engine *e, const char *instance, const char *type,
                  const char *type_instance, enum engine_value_kind kind,
                  double v) {
  struct say_about about = {instance, type, type_instance};
  say_value(&e->say, &about, kind, v);
}

/* A count of the key's verdict run, type instance "<name>-<what>". */
static void key_count(struct engine *e, const struct say_about *key,
                      double interval, const char *what, long n) {
  char ti[REPORT_NAME_MAX];
  snprintf(ti, sizeof(ti), "%s-%s", key->type_instance, what);
  struct say_about about = {key->instance, "count", ti};
  say_value_every(&e->say, &about, ENGINE_GAUGE, (double)n, interval);
}

/* The values of one key with a verdict: bool and duration, and with
 * DetailedValues the counts of its verdict run. */
static void report_key(struct engine *e, const struct say_about *key,
                       double interval, const struct rec_key *k,
                       enum rec_verdict verdict) {
  struct say_about about = *key;
  about.type = "bool";
  say_value_every(&e->say, &about, ENGINE_GAUGE, verdict == REC_PASSING,
                  interval);
  const struct rec_run *r = key_view_run(e, k);
  if (r == NULL)
    return;
  about.type = "duration";
  if (r->finished_at > 0 && r->finished_at >= r->started_at)
    say_value_every(&e->say, &about, ENGINE_GAUGE,
                    r->finished_at - r->started_at, interval);
  if (!e->cfg->detailed_values)
    return;
  key_count(e, key, interval, "assertions_failed", r->assertions_failed);
  key_count(e, key, interval, "scripts_failed", r->scripts_failed);
  key_count(e, key, interval, "variables_failed", r->variables_failed);
  key_count(e, key, interval, "requests_executed", r->requests_executed);
}

/* Whether key k's values go out in this cycle: in every cycle with
 * ValuesEveryInterval; else when a verdict run of it was read, and once
 * after the start (or a take-over, which loads the keys again), so that
 * collectd knows every key. */
static bool key_values_due(const struct engine *e, const struct rec_key *k) {
  return e->cfg->values_every_interval || k->news || !k->values_sent;
}

/* The seconds key k's values stand for (their interval, at least the read
 * interval): the schedule of its environment when t's detail is known,
 * else the time between its latest two runs in one location, else
 * MaxResultAge, the longest its results go unread. 0 (the read interval)
 * with ValuesEveryInterval. */
static double key_interval(const struct engine *e, const struct cat_test *t,
                           const struct rec_key *k) {
  if (e->cfg->values_every_interval)
    return 0;
  double v = 0;
  for (size_t i = 0; t->detail_at > 0 && i < t->detail.n_schedules; i++) {
    const struct rs_schedule *s = &t->detail.schedules[i];
    if (s->interval > 0 && (v <= 0 || s->interval < v) &&
        strcmp(s->environment_id, k->environment_id) == 0)
      v = s->interval;
  }
  if (v <= 0)
    v = k->run_gap > 0 ? k->run_gap : e->cfg->max_result_age;
  return v > e->cfg->interval ? v : e->cfg->interval;
}

/* The values of bucket b's keys that are due (key_values_due); names
 * computes their names only when one is. */
static void report_due_keys(struct engine *e, const struct cat_bucket *b,
                            const char *instance) {
  struct key_view_names bn;
  if (key_view_names_init(e, b->info.key, &bn) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory naming the values of bucket %s.", b->info.key);
    return;
  }
  for (size_t i = 0; i < bn.n; i++) {
    struct rec_key *k = e->state.keys[bn.idx[i]];
    enum rec_verdict verdict = rec_verdict(k, &e->opts);
    const struct cat_test *t = cat_test_find(b, k->test_id);
    if (verdict == REC_UNKNOWN || t == NULL || bn.name[i][0] == '\0' ||
        !key_values_due(e, k))
      continue;
    struct say_about key = {instance, "bool", bn.name[i]};
    report_key(e, &key, key_interval(e, t, k), k, verdict);
    k->news = false;
    k->values_sent = true;
  }
  key_view_names_fini(&bn);
}

/* The values of the watched keys of a bucket with a verdict that are due,
 * and (every cycle) the number of them that fail. */
static void report_bucket(struct engine *e, const struct cat_bucket *b) {
  char instance[REPORT_NAME_MAX];
  report_bucket_instance(b->info.key, instance);
  size_t failing = 0, due = 0, first, end;
  rec_key_range(&e->state, b->info.key, &first, &end);
  for (size_t i = first; i < end; i++) {
    const struct rec_key *k = e->state.keys[i];
    if (strcmp(k->bucket_key, b->info.key) != 0)
      continue;
    enum rec_verdict verdict = rec_verdict(k, &e->opts);
    if (verdict == REC_UNKNOWN || cat_test_find(b, k->test_id) == NULL)
      continue;
    failing += verdict == REC_FAILING;
    due += key_values_due(e, k);
  }
  if (due > 0)
    report_due_keys(e, b, instance);
  value(e, instance, "count", "failing_keys", ENGINE_GAUGE, (double)failing);
}

void dispatch_key_values(struct engine *e) {
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

/* The own values that count since the start, in their order. */
static const struct {
  const char *type_instance;
  enum say_counter counter;
} COUNTERS[] = {
    {"events_created", SAY_EVENTS_CREATED},
    {"events_terminated", SAY_EVENTS_TERMINATED},
    {"reruns_triggered", SAY_RERUNS_TRIGGERED},
    {"acknowledgements", SAY_ACKNOWLEDGEMENTS},
    {"create_errors", SAY_CREATE_ERRORS},
    {"runs_forwarded", SAY_RUNS_FORWARDED},
    {"forward_errors", SAY_FORWARD_ERRORS},
    {"api_errors", SAY_API_ERRORS},
};

void dispatch_self_values(struct engine *e, double now, double duration) {
  report_api(e, "runscope", http_stats(e->rs_http), &e->health.rs);
  report_api(e, "xmatters", http_stats(e->xm_http), &e->health.xm);
  for (size_t i = 0; i < sizeof(COUNTERS) / sizeof(COUNTERS[0]); i++)
    value(e, "self", "derive", COUNTERS[i].type_instance, ENGINE_DERIVE,
          (double)say_total(&e->say, COUNTERS[i].counter));
  value(e, "self", "duration", "cycle", ENGINE_GAUGE, duration);
  value(e, "self", "duration", "runscope_poll_age", ENGINE_GAUGE,
        now > e->health.polled_at ? now - e->health.polled_at : 0);
  value(e, "self", "derive", "cycle_overruns", ENGINE_DERIVE,
        (double)e->pace.overruns);
  value(e, "self", "count", "tests_deferred", ENGINE_GAUGE,
        (double)e->pace.deferred);
}
