/* What the engine says: the names of its values and notifications, the
 * views of keys, the notifications of keys and the values. */
#include "engine/report.h"

#include "engine/engine_internal.h"

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

/* ---- names ---- */

/* A key's "<test>-<environment>" before it is bounded. */
#define BASE_NAME_MAX (2 * RS_NAME_MAX + 2)

/* Salted hashes tried before a name that still coincides is given up. */
#define NAME_ROUNDS 16

static bool name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

size_t report_sanitize(const char *src, char *out, size_t size) {
  size_t n = 0;
  bool pending = false; /* replaced bytes since the last kept one */
  const unsigned char *p = (const unsigned char *)(src ? src : "");
  for (; *p != '\0' && n + 1 < size; p++) {
    if (!name_char(*p)) {
      pending = n > 0;
      continue;
    }
    if (pending) {
      if (n + 2 >= size)
        break;
      out[n++] = '_';
      pending = false;
    }
    out[n++] = (char)*p;
  }
  out[n] = '\0';
  return n;
}

/* 32-bit FNV-1a: small, and the same on every platform. */
static uint32_t fnv1a(uint32_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

#define FNV_BASIS 2166136261u

/* The hash of a key's ids; round > 0 salts it. */
static uint32_t key_hash(const struct report_key *k, int round) {
  uint32_t h = FNV_BASIS;
  unsigned char salt = (unsigned char)round;
  if (round > 0)
    h = fnv1a(h, &salt, 1);
  h = fnv1a(h, k->test_id, strlen(k->test_id) + 1); /* the NUL separates */
  return fnv1a(h, k->env_id, strlen(k->env_id));
}

/* "<test>-<environment>", sanitized, an empty name replaced by its id. */
static void base_name(const struct report_key *k, char *out, size_t size) {
  char t[RS_NAME_MAX], e[RS_NAME_MAX];
  if (report_sanitize(k->test_name, t, sizeof(t)) == 0)
    report_sanitize(k->test_id, t, sizeof(t));
  if (report_sanitize(k->env_name, e, sizeof(e)) == 0)
    report_sanitize(k->env_id, e, sizeof(e));
  snprintf(out, size, "%s-%s", t, e);
}

/* The name of a key in a round: its base as is (round < 0), or the base cut
 * and followed by "-" and the hash of the round. */
static void round_name(const struct report_key *k, const char *base, int round,
                       char out[REPORT_KEY_NAME_MAX]) {
  size_t len = strlen(base);
  if (round < 0) {
    str_copy(out, REPORT_KEY_NAME_MAX, base);
    return;
  }
  size_t keep = REPORT_KEY_NAME_MAX - 2 - REPORT_HASH_DIGITS;
  if (len > keep)
    len = keep;
  while (len > 0 && strchr("-_.", base[len - 1]) != NULL)
    len--;
  snprintf(out, REPORT_KEY_NAME_MAX, "%.*s-%0*" PRIx32, (int)len, base,
           REPORT_HASH_DIGITS, key_hash(k, round));
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the names (through ptr) and marks in dup the keys whose name
 * another key has too. Returns true when there are any. */
static bool find_duplicates(char (*out)[REPORT_KEY_NAME_MAX], size_t n,
                            const char **ptr, bool *dup) {
  for (size_t i = 0; i < n; i++) {
    ptr[i] = out[i];
    dup[i] = false;
  }
  qsort(ptr, n, sizeof(*ptr), cmp_names);
  bool found = false;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && strcmp(ptr[i], ptr[j]) == 0)
      j++;
    for (size_t m = i; j - i > 1 && m < j; m++) {
      dup[(size_t)(ptr[m] - out[0]) / REPORT_KEY_NAME_MAX] = true;
      found = true;
    }
    i = j;
  }
  return found;
}

/* Names the keys: a key whose name coincides with another's moves on to a
 * (new) hash, round after round; names that still coincide after the last
 * round are emptied. */
static void settle_names(const struct report_key *keys, size_t n,
                         char (*base)[BASE_NAME_MAX], int *round,
                         const char **ptr, bool *dup,
                         char (*out)[REPORT_KEY_NAME_MAX]) {
  for (int r = 0;; r++) {
    for (size_t i = 0; i < n; i++)
      round_name(&keys[i], base[i], round[i], out[i]);
    if (!find_duplicates(out, n, ptr, dup))
      return;
    for (size_t i = 0; i < n; i++) {
      if (dup[i] && r == NAME_ROUNDS)
        out[i][0] = '\0';
      else if (dup[i])
        round[i]++;
    }
    if (r == NAME_ROUNDS)
      return;
  }
}

int report_key_names(const struct report_key *keys, size_t n,
                     char (*out)[REPORT_KEY_NAME_MAX]) {
  for (size_t i = 0; i < n; i++)
    out[i][0] = '\0';
  if (n == 0)
    return 0;
  char(*base)[BASE_NAME_MAX] = malloc(n * sizeof(*base));
  int *round = malloc(n * sizeof(*round));
  const char **ptr = malloc(n * sizeof(*ptr));
  bool *dup = malloc(n * sizeof(*dup));
  int rc = (base && round && ptr && dup) ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    base_name(&keys[i], base[i], BASE_NAME_MAX);
    round[i] = strlen(base[i]) < REPORT_KEY_NAME_MAX ? -1 : 0;
  }
  if (rc == 0)
    settle_names(keys, n, base, round, ptr, dup, out);
  free(base);
  free(round);
  free(ptr);
  free(dup);
  return rc;
}

void report_bucket_instance(const char *bucket_key, char out[REPORT_NAME_MAX]) {
  char clean[REPORT_NAME_MAX];
  size_t len = report_sanitize(bucket_key, clean, sizeof(clean));
  if (len > 0 && strcmp(clean, bucket_key) == 0 && strcmp(clean, "self") != 0) {
    memcpy(out, clean, len + 1);
    return;
  }
  size_t keep = REPORT_NAME_MAX - 2 - REPORT_HASH_DIGITS;
  if (len > keep)
    len = keep;
  uint32_t h = fnv1a(FNV_BASIS, bucket_key, strlen(bucket_key));
  snprintf(out, REPORT_NAME_MAX, "%.*s-%0*" PRIx32, len > 0 ? (int)len : 6,
           len > 0 ? clean : "bucket", REPORT_HASH_DIGITS, h);
}

/* Copies s into out, cut to at most max bytes at a UTF-8 character
 * boundary and then ending in "...". */
static void cut_utf8(const char *s, size_t max, char *out, size_t size) {
  size_t len = strlen(s);
  if (len <= max) {
    str_copy(out, size, s);
    return;
  }
  size_t keep = max >= 3 ? max - 3 : 0;
  while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
    keep--;
  snprintf(out, size, "%.*s%s", (int)keep, s, max >= 3 ? "..." : "");
}

static size_t format_message(char *out, size_t size, int failing,
                             const char *test, const char *env,
                             const char *location, long failed,
                             const char *url) {
  int n;
  if (failing)
    n = snprintf(out, size,
                 "Runscope test \"%s\" fails in environment \"%s\"%s%s: %ld "
                 "assertion%s failed. %s",
                 test, env, location[0] ? " at " : "", location, failed,
                 failed == 1 ? "" : "s", url);
  else
    n = snprintf(out, size,
                 "Runscope test \"%s\" passes again in environment \"%s\". %s",
                 test, env, url);
  return n < 0 ? 0 : (size_t)n;
}

size_t report_key_message(char *out, size_t size, int failing,
                          const char *test_name, const char *env_name,
                          const char *location, long assertions_failed,
                          const char *url) {
  const char *loc = location ? location : "";
  size_t fixed = format_message(NULL, 0, failing, "", "", loc,
                                assertions_failed, url ? url : "");
  size_t budget = size > fixed + 1 ? size - 1 - fixed : 0;
  size_t lt = strlen(test_name), le = strlen(env_name);
  size_t room_t = lt, room_e = le;
  if (lt + le > budget) {
    /* each gets half; what one does not need, the other may use */
    room_t = lt < budget / 2 ? lt : budget / 2;
    room_e = le < budget - room_t ? le : budget - room_t;
    room_t = lt < budget - room_e ? lt : budget - room_e;
  }
  char t[RS_NAME_MAX + 4], e[RS_NAME_MAX + 4];
  /* longer names than Runscope's are cut here too, and as well */
  if (room_t > sizeof(t) - 1)
    room_t = sizeof(t) - 1;
  if (room_e > sizeof(e) - 1)
    room_e = sizeof(e) - 1;
  cut_utf8(test_name, room_t, t, sizeof(t));
  cut_utf8(env_name, room_e, e, sizeof(e));
  format_message(out, size, failing, t, e, loc, assertions_failed,
                 url ? url : "");
  return strlen(out);
}

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
  if (e->sink.notify == NULL)
    return;
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
  struct engine_notification n = {
      .severity = sev,
      .plugin_instance = instance,
      .type = "bool",
      .type_instance = name,
      .message = msg,
      .meta = meta,
      .n_meta = n_meta,
  };
  e->sink.notify(e->sink.ctx, &n);
}

/* ---- values ---- */

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
    eng_log(e, ENGINE_LOG_ERR, "Out of memory naming the values of bucket %s.",
            b->info.key);
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
  report_api(e, "runscope", http_stats(e->rs_http), &e->rs_health);
  report_api(e, "xmatters", http_stats(e->xm_http), &e->xm_health);
  value(e, "self", "derive", "events_created", ENGINE_DERIVE,
        (double)e->n.events_created);
  value(e, "self", "derive", "events_terminated", ENGINE_DERIVE,
        (double)e->n.events_terminated);
  value(e, "self", "derive", "reruns_triggered", ENGINE_DERIVE,
        (double)e->n.reruns_triggered);
  value(e, "self", "derive", "acknowledgements", ENGINE_DERIVE,
        (double)e->n.acknowledgements);
  value(e, "self", "derive", "create_errors", ENGINE_DERIVE,
        (double)e->n.create_errors);
  value(e, "self", "derive", "runs_forwarded", ENGINE_DERIVE,
        (double)e->n.runs_forwarded);
  value(e, "self", "derive", "forward_errors", ENGINE_DERIVE,
        (double)e->n.forward_errors);
  value(e, "self", "derive", "api_errors", ENGINE_DERIVE,
        (double)e->n.api_errors);
  value(e, "self", "duration", "cycle", ENGINE_GAUGE, duration);
  value(e, "self", "duration", "runscope_poll_age", ENGINE_GAUGE,
        now > e->polled_at ? now - e->polled_at : 0);
  value(e, "self", "derive", "cycle_overruns", ENGINE_DERIVE,
        (double)e->overruns);
  value(e, "self", "count", "tests_deferred", ENGINE_GAUGE,
        (double)e->deferred);
}
