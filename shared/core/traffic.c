/* SPDX-License-Identifier: MIT */
/* Live traffic alerts: rule evaluation, flood control and the memory of what
 * was read and alerted. Pure: no I/O, no clock. */
#include "core/traffic.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/str.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- rules ---- */

/* One condition's verdict: TR_MATCH when it holds or is not set. */
static enum tr_verdict eval_method(const struct cfg_alert *a,
                                   const struct rs_message *m) {
  if (a->methods.n == 0)
    return TR_MATCH;
  if (!(m->have & RS_MSG_METHOD))
    return TR_UNKNOWN;
  for (size_t i = 0; i < a->methods.n; i++)
    if (strcasecmp(a->methods.v[i], m->method) == 0)
      return TR_MATCH;
  return TR_NO_MATCH;
}

static enum tr_verdict eval_regex(bool set, const regex_t *re, bool have,
                                  const char *value) {
  if (!set)
    return TR_MATCH;
  if (!have)
    return TR_UNKNOWN;
  return regexec(re, value, 0, NULL, 0) == 0 ? TR_MATCH : TR_NO_MATCH;
}

static enum tr_verdict eval_status(const struct cfg_alert *a,
                                   const struct rs_message *m) {
  if (a->status_min == 0 && a->status_max == 0)
    return TR_MATCH;
  if (!(m->have & RS_MSG_STATUS))
    return TR_UNKNOWN;
  if (m->status <= 0) /* no response: no status to compare */
    return TR_NO_MATCH;
  if (a->status_min != 0 && m->status < a->status_min)
    return TR_NO_MATCH;
  if (a->status_max != 0 && m->status > a->status_max)
    return TR_NO_MATCH;
  return TR_MATCH;
}

enum tr_verdict tr_eval(const struct cfg_alert *a, const struct rs_message *m) {
  enum tr_verdict v[] = {
      eval_method(a, m),
      eval_regex(a->path_compiled, &a->path_re, m->have & RS_MSG_PATH, m->path),
      eval_regex(a->host_compiled, &a->host_re, m->have & RS_MSG_HOST, m->host),
      eval_status(a, m),
  };
  enum tr_verdict out = TR_MATCH;
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    if (v[i] == TR_NO_MATCH)
      return TR_NO_MATCH;
    if (v[i] == TR_UNKNOWN)
      out = TR_UNKNOWN;
  }
  return out;
}

bool tr_needs_detail(const struct cfg_bucket *b, const struct rs_message *m) {
  for (size_t i = 0; i < b->n_alerts; i++)
    if (tr_eval(&b->alerts[i], m) == TR_UNKNOWN)
      return true;
  return false;
}

void tr_merge(struct rs_message *m, const struct rs_message *d) {
  if (!(m->have & RS_MSG_METHOD) && (d->have & RS_MSG_METHOD))
    str_copy(m->method, sizeof(m->method), d->method);
  if (!(m->have & RS_MSG_HOST) && (d->have & RS_MSG_HOST))
    str_copy(m->host, sizeof(m->host), d->host);
  if (!(m->have & RS_MSG_PATH) && (d->have & RS_MSG_PATH))
    str_copy(m->path, sizeof(m->path), d->path);
  if (!(m->have & RS_MSG_STATUS) && (d->have & RS_MSG_STATUS))
    m->status = d->status;
  if (m->timestamp <= 0)
    m->timestamp = d->timestamp;
  m->have |= d->have;
}

/* ---- the state ---- */

void tr_state_init(struct tr_state *st) { memset(st, 0, sizeof(*st)); }

void tr_state_fini(struct tr_state *st) {
  for (size_t i = 0; i < st->n_buckets; i++) {
    free(st->buckets[i]->seen);
    free(st->buckets[i]);
  }
  free(st->buckets);
  for (size_t i = 0; i < st->n_rules; i++)
    free(st->rules[i]);
  free(st->rules);
  tr_state_init(st);
}

struct tr_bucket_state *tr_bucket_find(struct tr_state *st,
                                       const char *bucket_key) {
  for (size_t i = 0; i < st->n_buckets; i++)
    if (strcmp(st->buckets[i]->bucket_key, bucket_key) == 0)
      return st->buckets[i];
  return NULL;
}

int tr_bucket_get(struct tr_state *st, const char *bucket_key, double since,
                  struct tr_bucket_state **ret) {
  if ((*ret = tr_bucket_find(st, bucket_key)) != NULL)
    return 0;
  if (strlen(bucket_key) >= RS_ID_MAX)
    return -ENAMETOOLONG;
  struct tr_bucket_state *b = calloc(1, sizeof(*b));
  if (b == NULL || array_reserve(&st->buckets, &st->cap_buckets, st->n_buckets,
                                 sizeof(*st->buckets), 8) != 0) {
    free(b);
    return -ENOMEM;
  }
  str_copy(b->bucket_key, sizeof(b->bucket_key), bucket_key);
  b->since = since;
  st->buckets[st->n_buckets++] = b;
  *ret = b;
  return 0;
}

struct tr_rule_state *tr_rule_find(struct tr_state *st, const char *bucket_key,
                                   const char *rule) {
  for (size_t i = 0; i < st->n_rules; i++)
    if (strcmp(st->rules[i]->bucket_key, bucket_key) == 0 &&
        strcmp(st->rules[i]->rule, rule) == 0)
      return st->rules[i];
  return NULL;
}

int tr_rule_get(struct tr_state *st, const char *bucket_key, const char *rule,
                struct tr_rule_state **ret) {
  if ((*ret = tr_rule_find(st, bucket_key, rule)) != NULL)
    return 0;
  if (strlen(bucket_key) >= RS_ID_MAX || strlen(rule) >= TR_RULE_MAX)
    return -ENAMETOOLONG;
  struct tr_rule_state *r = calloc(1, sizeof(*r));
  if (r == NULL || array_reserve(&st->rules, &st->cap_rules, st->n_rules,
                                 sizeof(*st->rules), 8) != 0) {
    free(r);
    return -ENOMEM;
  }
  str_copy(r->bucket_key, sizeof(r->bucket_key), bucket_key);
  str_copy(r->rule, sizeof(r->rule), rule);
  st->rules[st->n_rules++] = r;
  *ret = r;
  return 0;
}

/* The <Bucket> block of cfg with rules and the given key, or NULL. */
static const struct cfg_bucket *bucket_with_rules(const struct cfg *cfg,
                                                  const char *key) {
  for (size_t i = 0; i < cfg->n_buckets; i++)
    if (cfg->buckets[i].n_alerts > 0 && strcmp(cfg->buckets[i].key, key) == 0)
      return &cfg->buckets[i];
  return NULL;
}

static bool rule_configured(const struct cfg *cfg, const char *bucket_key,
                            const char *rule) {
  const struct cfg_bucket *b = bucket_with_rules(cfg, bucket_key);
  for (size_t i = 0; b != NULL && i < b->n_alerts; i++)
    if (strcmp(b->alerts[i].name, rule) == 0)
      return true;
  return false;
}

long tr_retain(struct tr_state *st, const struct cfg *cfg) {
  long dropped = 0;
  size_t n = 0;
  for (size_t i = 0; i < st->n_buckets; i++) {
    if (bucket_with_rules(cfg, st->buckets[i]->bucket_key) != NULL) {
      st->buckets[n++] = st->buckets[i];
      continue;
    }
    free(st->buckets[i]->seen);
    free(st->buckets[i]);
  }
  st->n_buckets = n;
  n = 0;
  for (size_t i = 0; i < st->n_rules; i++) {
    struct tr_rule_state *r = st->rules[i];
    if (rule_configured(cfg, r->bucket_key, r->rule)) {
      st->rules[n++] = r;
      continue;
    }
    dropped += r->held.count;
    free(r);
  }
  st->n_rules = n;
  return dropped;
}

/* ---- the seen set and the cursor ---- */

static int seen_cmp(const void *elem, const void *key) {
  return strcmp(((const struct tr_seen *)elem)->uuid, key);
}

/* The index of uuid in b->seen, or where it would go (*found false). */
static size_t seen_index(const struct tr_bucket_state *b, const char *uuid,
                         bool *found) {
  size_t i =
      array_lower_bound(b->seen, b->n_seen, sizeof(b->seen[0]), seen_cmp, uuid);
  *found = i < b->n_seen && seen_cmp(&b->seen[i], uuid) == 0;
  return i;
}

bool tr_seen_has(const struct tr_bucket_state *b, const char *uuid) {
  bool found;
  seen_index(b, uuid, &found);
  return found;
}

static void seen_remove(struct tr_bucket_state *b, size_t i) {
  memmove(&b->seen[i], &b->seen[i + 1],
          (b->n_seen - i - 1) * sizeof(b->seen[0]));
  b->n_seen--;
}

/* Drops the oldest entry and moves the cursor up to its time. */
static void seen_drop_oldest(struct tr_bucket_state *b) {
  size_t oldest = 0;
  for (size_t i = 1; i < b->n_seen; i++)
    if (b->seen[i].at < b->seen[oldest].at)
      oldest = i;
  if (b->seen[oldest].at > b->since)
    b->since = b->seen[oldest].at;
  seen_remove(b, oldest);
}

int tr_seen_add(struct tr_bucket_state *b, const char *uuid, double at) {
  bool found;
  if (strlen(uuid) >= RS_ID_MAX)
    return -ENAMETOOLONG;
  if (at <= b->since || tr_seen_has(b, uuid))
    return 0;
  if (b->n_seen >= TR_SEEN_MAX)
    seen_drop_oldest(b);
  if (at <= b->since) /* the drop moved the cursor past it */
    return 0;
  if (array_reserve(&b->seen, &b->cap_seen, b->n_seen, sizeof(*b->seen), 64))
    return -ENOMEM;
  size_t i = seen_index(b, uuid, &found);
  memmove(&b->seen[i + 1], &b->seen[i], (b->n_seen - i) * sizeof(b->seen[0]));
  str_copy(b->seen[i].uuid, sizeof(b->seen[i].uuid), uuid);
  b->seen[i].at = at;
  b->n_seen++;
  return 0;
}

void tr_cursor_advance(struct tr_bucket_state *b, double newest_at) {
  if (newest_at - TR_LATE > b->since)
    b->since = newest_at - TR_LATE;
  size_t n = 0;
  for (size_t i = 0; i < b->n_seen; i++)
    if (b->seen[i].at > b->since)
      b->seen[n++] = b->seen[i];
  b->n_seen = n;
}

/* ---- flood control ---- */

void tr_flood_hold(struct tr_rule_state *r, const char *uuid, double at) {
  struct tr_held *h = &r->held;
  if (h->count == 0 || at < h->first_at)
    h->first_at = at;
  if (h->count == 0 || at >= h->last_at) {
    h->last_at = at;
    str_copy(h->last_uuid, sizeof(h->last_uuid), uuid);
  }
  h->count++;
}

/* True when the rule may send an event at now. */
static bool window_closed(const struct tr_rule_state *r, double interval,
                          double now) {
  return interval <= 0 || r->last_sent <= 0 || now - r->last_sent >= interval;
}

/* Hands the held matches over to the event going out and restarts the
 * window. */
static void start_window(struct tr_rule_state *r, double now,
                         struct tr_held *ret_report) {
  *ret_report = r->held;
  memset(&r->held, 0, sizeof(r->held));
  r->last_sent = now;
}

enum tr_decision tr_flood_match(struct tr_rule_state *r, double interval,
                                double now, const char *uuid, double at,
                                struct tr_held *ret_report) {
  memset(ret_report, 0, sizeof(*ret_report));
  if (!window_closed(r, interval, now)) {
    tr_flood_hold(r, uuid, at);
    return TR_HOLD;
  }
  start_window(r, now, ret_report);
  return TR_SEND;
}

bool tr_flood_due(struct tr_rule_state *r, double interval, double now,
                  struct tr_held *ret_report) {
  memset(ret_report, 0, sizeof(*ret_report));
  if (r->held.count == 0 || !window_closed(r, interval, now))
    return false;
  start_window(r, now, ret_report);
  return true;
}
