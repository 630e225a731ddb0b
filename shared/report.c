/* What the engine says about keys: views, notifications and values. */
#include "engine_internal.h"

#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void eng_key_view_init(struct engine *e, const struct rec_key *k,
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
  iso_time(v->run ? v->run->finished_at : 0, v->finished, sizeof(v->finished));
}

/* FAILURE when a key starts failing, OKAY when it recovers. */
void eng_notify_key(struct engine *e, const struct rec_key *k,
                    enum engine_severity sev) {
  if (e->sink.notify == NULL)
    return;
  struct key_view v;
  eng_key_view_init(e, k, &v);
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

void eng_report_keys(struct engine *e) {
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

void eng_report_self(struct engine *e, double duration) {
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
