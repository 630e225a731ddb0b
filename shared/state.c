/* The state store: the reconciler's state as a JSON file, saved atomically. */
#define _GNU_SOURCE /* mkostemp */
#include "state.h"

#include "jsonx.h"
#include "responses.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ev_names[] = {
    [REC_EV_NONE] = "none",
    [REC_EV_REQUESTED] = "requested",
    [REC_EV_ACTIVE] = "active",
};
#define N_EV_NAMES (sizeof(ev_names) / sizeof(ev_names[0]))

/* Member names are literals: json-c may keep the pointer, not a copy. */
#define ADD_FLAGS                                                              \
  (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)

/* ---- writing ---- */

/* Adds val (owned; released on failure) as member name of o. 0 or -ENOMEM. */
static int add(json_object *o, const char *name, json_object *val) {
  if (val == NULL)
    return -ENOMEM;
  if (json_object_object_add_ex(o, name, val, ADD_FLAGS) != 0) {
    json_object_put(val);
    return -ENOMEM;
  }
  return 0;
}

/* Appends val (owned; released on failure) to array a. 0 or -ENOMEM. */
static int push(json_object *a, json_object *val) {
  if (val == NULL)
    return -ENOMEM;
  if (json_object_array_add(a, val) != 0) {
    json_object_put(val);
    return -ENOMEM;
  }
  return 0;
}

static int add_str(json_object *o, const char *name, const char *s) {
  return add(o, name, json_object_new_string(s));
}

static int add_bool(json_object *o, const char *name, bool b) {
  return add(o, name, json_object_new_boolean(b));
}

static int add_long(json_object *o, const char *name, long v) {
  return add(o, name, json_object_new_int64(v));
}

/* Writes d with the fewest significant digits (15 to 17) that read back as
 * the same double, so times round-trip exactly and still read as
 * "1700000000.123456". */
static void format_double(double d, char *out, size_t size) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, d);
    if (strtod(out, NULL) == d)
      break;
  }
  /* Under a locale with a decimal comma, JSON still wants a point. */
  for (char *p = out; *p != '\0'; p++)
    if (*p == ',')
      *p = '.';
}

/* A number member; JSON has no NaN or infinity, so those are written as null
 * (read back as 0). */
static int add_num(json_object *o, const char *name, double d) {
  if (!isfinite(d))
    return json_object_object_add_ex(o, name, NULL, ADD_FLAGS) == 0 ? 0
                                                                    : -ENOMEM;
  char s[64];
  format_double(d, s, sizeof(s));
  return add(o, name, json_object_new_double_s(d, s));
}

static json_object *loc_to_json(const struct rec_run *l) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  if (add_str(o, "location", l->location) ||
      add_str(o, "test_run_id", l->test_run_id) ||
      add_bool(o, "failed", l->failed) ||
      add_num(o, "started_at", l->started_at) ||
      add_num(o, "finished_at", l->finished_at) ||
      add_long(o, "assertions_failed", l->assertions_failed) ||
      add_long(o, "scripts_failed", l->scripts_failed) ||
      add_long(o, "variables_failed", l->variables_failed) ||
      add_long(o, "requests_executed", l->requests_executed)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* Adds the "locations" array of k to o. 0 or -ENOMEM. */
static int add_locs(json_object *o, const struct rec_key *k) {
  json_object *a = json_object_new_array_ext((int)k->n_locs);
  int rc = add(o, "locations", a);
  for (size_t i = 0; rc == 0 && i < k->n_locs; i++)
    rc = push(a, loc_to_json(&k->locs[i]));
  return rc;
}

/* Adds the "event_ids" array of k to o. 0 or -ENOMEM. */
static int add_event_ids(json_object *o, const struct rec_key *k) {
  json_object *a = json_object_new_array_ext((int)k->n_events);
  int rc = add(o, "event_ids", a);
  for (size_t i = 0; rc == 0 && i < k->n_events; i++)
    rc = push(a, json_object_new_string(k->event_ids[i]));
  return rc;
}

/* The JSON of one key in *ret (the caller puts it). 0, -EINVAL when the key
 * is not valid, or -ENOMEM. */
static int key_to_json(const struct rec_key *k, json_object **ret) {
  if (k->n_locs > REC_LOC_MAX || k->n_events > REC_EVENTS_MAX ||
      (size_t)k->ev >= N_EV_NAMES)
    return -EINVAL;
  json_object *o = json_object_new_object();
  if (o == NULL)
    return -ENOMEM;
  if (add_str(o, "key", k->key) || add_str(o, "bucket_key", k->bucket_key) ||
      add_str(o, "test_id", k->test_id) ||
      add_str(o, "environment_id", k->environment_id) || add_locs(o, k) ||
      add_str(o, "event", ev_names[k->ev]) || add_event_ids(o, k) ||
      add_str(o, "request_id", k->request_id) ||
      add_bool(o, "request_confirmed", k->request_confirmed) ||
      add_num(o, "requested_at", k->requested_at) ||
      add_num(o, "alerted_through", k->alerted_through) ||
      add_num(o, "checked_at", k->checked_at) ||
      add_bool(o, "notified_failing", k->notified_failing)) {
    json_object_put(o);
    return -ENOMEM;
  }
  *ret = o;
  return 0;
}

static json_object *cursor_to_json(const struct rec_cursor *c) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  if (add_str(o, "bucket_key", c->bucket_key) ||
      add_str(o, "test_id", c->test_id) || add_num(o, "since", c->since)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* ---- responses: written ---- */

static const char *const rerun_names[] = {
    [RESP_RERUN_NONE] = "none",
    [RESP_RERUN_PENDING] = "pending",
    [RESP_RERUN_SENDING] = "sending",
    [RESP_RERUN_AWAITING] = "awaiting",
    [RESP_RERUN_TERMINATING] = "terminating",
};
#define N_RERUN_NAMES (sizeof(rerun_names) / sizeof(rerun_names[0]))

/* Adds the "seen" array of ev: {"id": 16 hex digits, "received"}. */
static int add_seen(json_object *o, const struct resp_event *ev) {
  json_object *a = json_object_new_array_ext((int)ev->n_seen);
  int rc = add(o, "seen", a);
  for (size_t i = 0; rc == 0 && i < ev->n_seen; i++) {
    char id[17];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)ev->seen[i].id);
    json_object *s = json_object_new_object();
    rc = push(a, s);
    if (rc == 0)
      rc = add_str(s, "id", id) ? -ENOMEM
                                : add_num(s, "received", ev->seen[i].received);
  }
  return rc;
}

/* Adds the "rerun_runs" array of ev. */
static int add_rerun_runs(json_object *o, const struct resp_event *ev) {
  json_object *a = json_object_new_array_ext((int)ev->n_rerun_runs);
  int rc = add(o, "rerun_runs", a);
  for (size_t i = 0; rc == 0 && i < ev->n_rerun_runs; i++)
    rc = push(a, json_object_new_string(ev->rerun_runs[i]));
  return rc;
}

/* The JSON of one event's responses in *ret. 0, -EINVAL (more seen
 * responses or runs than fit, an unknown rerun state) or -ENOMEM. */
static int response_to_json(const struct resp_event *ev, json_object **ret) {
  if (ev->n_seen > RESP_SEEN_MAX || ev->n_rerun_runs > RESP_RUNS_MAX ||
      (size_t)ev->rerun >= N_RERUN_NAMES)
    return -EINVAL;
  json_object *o = json_object_new_object();
  if (o == NULL)
    return -ENOMEM;
  if (add_str(o, "event_id", ev->event_id) || add_str(o, "key", ev->key) ||
      add_seen(o, ev) || add_num(o, "seen_through", ev->seen_through) ||
      add_long(o, "reruns", (long)ev->reruns) ||
      add_str(o, "rerun", rerun_names[ev->rerun]) ||
      add_str(o, "rerun_by", ev->rerun_by) ||
      add_str(o, "rerun_location", ev->rerun_location) ||
      add_num(o, "rerun_asked_at", ev->rerun_asked_at) ||
      add_num(o, "rerun_sent_at", ev->rerun_sent_at) || add_rerun_runs(o, ev) ||
      add_str(o, "acknowledged_by", ev->acked_by) ||
      add_num(o, "acknowledged_at", ev->acked_at) ||
      add_num(o, "held_at", ev->held_at)) {
    json_object_put(o);
    return -ENOMEM;
  }
  *ret = o;
  return 0;
}

/* Adds the "responses" array (only when there are records, so that a file
 * without responses does not change shape). 0, -EINVAL or -ENOMEM. */
static int add_responses(json_object *root, const struct rec_state *st) {
  if (st->n_responses == 0)
    return 0;
  json_object *a = json_object_new_array_ext((int)st->n_responses);
  int rc = add(root, "responses", a);
  for (size_t i = 0; rc == 0 && i < st->n_responses; i++) {
    json_object *r = NULL;
    rc = response_to_json(&st->responses[i], &r);
    if (rc == 0)
      rc = push(a, r);
  }
  return rc;
}

/* The JSON of one forward entry in *ret. 0, -EINVAL (too many delivered
 * ids) or -ENOMEM. */
static int fwd_to_json(const struct fwd_test *t, json_object **ret) {
  if (t->n_delivered > FWD_DELIVERED_MAX)
    return -EINVAL;
  json_object *o = json_object_new_object();
  json_object *ids = json_object_new_array_ext((int)t->n_delivered);
  if (o == NULL || add(o, "delivered", ids) != 0) {
    json_object_put(o);
    return -ENOMEM;
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < t->n_delivered; i++)
    rc = push(ids, json_object_new_string(t->delivered[i]));
  if (rc != 0 || add_str(o, "bucket_key", t->bucket_key) ||
      add_str(o, "test_id", t->test_id) || add_num(o, "through", t->through) ||
      add_str(o, "through_id", t->through_id) ||
      add_str(o, "sending", t->sending) ||
      add_num(o, "sending_at", t->sending_at)) {
    json_object_put(o);
    return -ENOMEM;
  }
  *ret = o;
  return 0;
}

/* Adds the "forward" array (only when forward mode has entries, so that a
 * manage-mode file does not change shape). 0, -EINVAL or -ENOMEM. */
static int add_forward(json_object *root, const struct fwd_state *fwd) {
  if (fwd->n == 0)
    return 0;
  json_object *a = json_object_new_array_ext((int)fwd->n);
  int rc = add(root, "forward", a);
  for (size_t i = 0; rc == 0 && i < fwd->n; i++) {
    json_object *t = NULL;
    rc = fwd_to_json(&fwd->tests[i], &t);
    if (rc == 0)
      rc = push(a, t);
  }
  return rc;
}

/* ---- traffic alerts: written ---- */

/* The JSON of one bucket's traffic cursor and seen messages in *ret.
 * 0, -EINVAL (more seen messages than fit) or -ENOMEM. */
static int traffic_bucket_to_json(const struct tr_bucket_state *b,
                                  json_object **ret) {
  if (b->n_seen > TR_SEEN_MAX)
    return -EINVAL;
  json_object *o = json_object_new_object();
  if (o == NULL)
    return -ENOMEM;
  json_object *seen = json_object_new_array_ext((int)b->n_seen);
  if (add(o, "seen", seen) != 0 || add_str(o, "bucket_key", b->bucket_key) ||
      add_num(o, "since", b->since)) {
    json_object_put(o);
    return -ENOMEM;
  }
  for (size_t i = 0; i < b->n_seen; i++) {
    json_object *s = json_object_new_object();
    if (push(seen, s) != 0 || add_str(s, "uuid", b->seen[i].uuid) ||
        add_num(s, "at", b->seen[i].at)) {
      json_object_put(o);
      return -ENOMEM;
    }
  }
  *ret = o;
  return 0;
}

/* The JSON of one rule's flood control (its counters are not saved). */
static json_object *traffic_rule_to_json(const struct tr_rule_state *r) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  if (add_str(o, "bucket_key", r->bucket_key) || add_str(o, "rule", r->rule) ||
      add_num(o, "last_sent", r->last_sent) ||
      add_long(o, "held", r->held.count) ||
      add_num(o, "first_held_at", r->held.first_at) ||
      add_num(o, "last_held_at", r->held.last_at) ||
      add_str(o, "last_held_uuid", r->held.last_uuid) ||
      add_str(o, "sending", r->sending)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* Adds "traffic_buckets" and "traffic_rules" (only when traffic alerts have
 * entries, so that a file without rules does not change shape). 0, -EINVAL
 * or -ENOMEM. */
static int add_traffic(json_object *root, const struct tr_state *tr) {
  if (tr->n_buckets == 0 && tr->n_rules == 0)
    return 0;
  json_object *buckets = json_object_new_array_ext((int)tr->n_buckets);
  int rc = add(root, "traffic_buckets", buckets);
  for (size_t i = 0; rc == 0 && i < tr->n_buckets; i++) {
    json_object *b = NULL;
    rc = traffic_bucket_to_json(tr->buckets[i], &b);
    if (rc == 0)
      rc = push(buckets, b);
  }
  if (rc != 0)
    return rc;
  json_object *rules = json_object_new_array_ext((int)tr->n_rules);
  rc = add(root, "traffic_rules", rules);
  for (size_t i = 0; rc == 0 && i < tr->n_rules; i++)
    rc = push(rules, traffic_rule_to_json(tr->rules[i]));
  return rc;
}

/* Fills root with the whole state. 0, -EINVAL or -ENOMEM. */
static int state_fill(json_object *root, const struct rec_state *st) {
  if (add_str(root, "format", STATE_FORMAT) ||
      add(root, "version", json_object_new_int(STATE_VERSION)))
    return -ENOMEM;
  json_object *keys = json_object_new_array_ext((int)st->n_keys);
  int rc = add(root, "keys", keys);
  for (size_t i = 0; rc == 0 && i < st->n_keys; i++) {
    json_object *k = NULL;
    rc = key_to_json(st->keys[i], &k);
    if (rc == 0)
      rc = push(keys, k);
  }
  if (rc != 0)
    return rc;
  json_object *cursors = json_object_new_array_ext((int)st->n_cursors);
  rc = add(root, "cursors", cursors);
  for (size_t i = 0; rc == 0 && i < st->n_cursors; i++)
    rc = push(cursors, cursor_to_json(&st->cursors[i]));
  if (rc == 0)
    rc = add_responses(root, st);
  if (rc == 0)
    rc = add_forward(root, &st->fwd);
  if (rc == 0)
    rc = add_traffic(root, &st->traffic);
  return rc;
}

int state_to_json(const struct rec_state *st, struct buf *out) {
  json_object *root = json_object_new_object();
  if (root == NULL)
    return -ENOMEM;
  int rc = state_fill(root, st);
  if (rc == 0) {
    const char *s = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = s == NULL ? -ENOMEM : buf_printf(out, "%s\n", s);
  }
  json_object_put(root);
  return rc;
}

/* ---- reading ---- */

/* Says what is wrong with where.name (either may be ""). Returns -EBADMSG. */
static int bad(struct err *err, const char *where, const char *name,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(struct err *err, const char *where, const char *name,
               const char *fmt, ...) {
  char what[ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  err_set(err, "%s%s%s: %s", where, where[0] && name[0] ? "." : "", name, what);
  return -EBADMSG;
}

/* The member, or NULL when absent or null (both mean "zero value"). */
static json_object *member(json_object *o, const char *name) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, name, &v))
    return NULL;
  return v;
}

/* Copies the string v into dst. 0 or -EBADMSG (not a string, too long). */
static int copy_str(json_object *v, const char *where, const char *name,
                    char *dst, size_t size, struct err *err) {
  if (!json_object_is_type(v, json_type_string))
    return bad(err, where, name, "not a string");
  const char *s = json_object_get_string(v);
  size_t n = (size_t)json_object_get_string_len(v);
  if (memchr(s, '\0', n) != NULL)
    return bad(err, where, name, "contains a NUL byte");
  if (n >= size)
    return bad(err, where, name, "too long (%zu bytes, at most %zu)", n,
               size - 1);
  memcpy(dst, s, n + 1);
  return 0;
}

/* A string member into dst ("" when absent and not required). */
static int get_str(json_object *o, const char *where, const char *name,
                   bool required, char *dst, size_t size, struct err *err) {
  json_object *v = member(o, name);
  dst[0] = '\0';
  if (v == NULL)
    return required ? bad(err, where, name, "missing") : 0;
  return copy_str(v, where, name, dst, size, err);
}

/* A finite number member (a JSON integer or real) into *ret. */
static int get_num(json_object *o, const char *where, const char *name,
                   bool required, double *ret, struct err *err) {
  json_object *v = member(o, name);
  *ret = 0;
  if (v == NULL)
    return required ? bad(err, where, name, "missing") : 0;
  if (!json_object_is_type(v, json_type_double) &&
      !json_object_is_type(v, json_type_int))
    return bad(err, where, name, "not a number");
  double d = json_object_get_double(v);
  if (!isfinite(d))
    return bad(err, where, name, "not a finite number");
  *ret = d;
  return 0;
}

/* An optional integer member into *ret (0 when absent). */
static int get_long(json_object *o, const char *where, const char *name,
                    long *ret, struct err *err) {
  json_object *v = member(o, name);
  *ret = 0;
  if (v == NULL)
    return 0;
  if (!json_object_is_type(v, json_type_int))
    return bad(err, where, name, "not an integer");
  int64_t n = json_object_get_int64(v);
#if INT64_MAX > LONG_MAX
  if (n < LONG_MIN || n > LONG_MAX)
    return bad(err, where, name, "out of range");
#endif
  *ret = (long)n;
  return 0;
}

/* An optional boolean member into *ret (false when absent). */
static int get_bool(json_object *o, const char *where, const char *name,
                    bool *ret, struct err *err) {
  json_object *v = member(o, name);
  *ret = false;
  if (v == NULL)
    return 0;
  if (!json_object_is_type(v, json_type_boolean))
    return bad(err, where, name, "not a boolean");
  *ret = json_object_get_boolean(v);
  return 0;
}

/* An optional array member of at most max elements into *ret (NULL when
 * absent). */
static int get_arr(json_object *o, const char *where, const char *name,
                   size_t max, json_object **ret, struct err *err) {
  json_object *v = member(o, name);
  *ret = NULL;
  if (v == NULL)
    return 0;
  if (!json_object_is_type(v, json_type_array))
    return bad(err, where, name, "not an array");
  size_t n = json_object_array_length(v);
  if (n > max)
    return bad(err, where, name, "%zu elements, at most %zu", n, max);
  *ret = v;
  return 0;
}

static int parse_loc(json_object *o, const char *where, struct rec_run *l,
                     struct err *err) {
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "location", false, l->location, sizeof(l->location),
              err) ||
      get_str(o, where, "test_run_id", false, l->test_run_id,
              sizeof(l->test_run_id), err) ||
      get_bool(o, where, "failed", &l->failed, err) ||
      get_num(o, where, "started_at", false, &l->started_at, err) ||
      get_num(o, where, "finished_at", false, &l->finished_at, err) ||
      get_long(o, where, "assertions_failed", &l->assertions_failed, err) ||
      get_long(o, where, "scripts_failed", &l->scripts_failed, err) ||
      get_long(o, where, "variables_failed", &l->variables_failed, err) ||
      get_long(o, where, "requests_executed", &l->requests_executed, err))
    return -EBADMSG;
  return 0;
}

/* bucket_key, test_id and environment_id (required), and the key they make,
 * which must match "key" when the file gives it. */
static int parse_key_ids(json_object *o, const char *where, struct rec_key *k,
                         struct err *err) {
  char given[REC_KEY_MAX];
  if (get_str(o, where, "bucket_key", true, k->bucket_key,
              sizeof(k->bucket_key), err) ||
      get_str(o, where, "test_id", true, k->test_id, sizeof(k->test_id), err) ||
      get_str(o, where, "environment_id", true, k->environment_id,
              sizeof(k->environment_id), err) ||
      get_str(o, where, "key", false, given, sizeof(given), err))
    return -EBADMSG;
  if (rec_make_key(k->key, sizeof(k->key), k->bucket_key, k->test_id,
                   k->environment_id) != 0)
    return bad(err, where, "key", "too long");
  if (given[0] != '\0' && strcmp(given, k->key) != 0)
    return bad(err, where, "key", "\"%s\" does not match its parts \"%s\"",
               given, k->key);
  return 0;
}

static int parse_key_locs(json_object *o, const char *where, struct rec_key *k,
                          struct err *err) {
  json_object *a;
  if (get_arr(o, where, "locations", REC_LOC_MAX, &a, err))
    return -EBADMSG;
  k->n_locs = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < k->n_locs; i++) {
    char at[128];
    snprintf(at, sizeof(at), "%s.locations[%zu]", where, i);
    if (parse_loc(json_object_array_get_idx(a, i), at, &k->locs[i], err))
      return -EBADMSG;
  }
  return 0;
}

/* The event state name (default "none") and the event ids. */
static int parse_key_events(json_object *o, const char *where,
                            struct rec_key *k, struct err *err) {
  char name[16];
  if (get_str(o, where, "event", false, name, sizeof(name), err))
    return -EBADMSG;
  size_t ev = 0;
  while (ev < N_EV_NAMES && name[0] != '\0' && strcmp(name, ev_names[ev]))
    ev++;
  if (ev == N_EV_NAMES)
    return bad(err, where, "event", "unknown state \"%s\"", name);
  k->ev = (enum rec_event_state)ev;
  json_object *a;
  if (get_arr(o, where, "event_ids", REC_EVENTS_MAX, &a, err))
    return -EBADMSG;
  k->n_events = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < k->n_events; i++) {
    char at[32];
    snprintf(at, sizeof(at), "event_ids[%zu]", i);
    if (copy_str(json_object_array_get_idx(a, i), where, at, k->event_ids[i],
                 sizeof(k->event_ids[i]), err))
      return -EBADMSG;
  }
  return 0;
}

static int parse_key_request(json_object *o, const char *where,
                             struct rec_key *k, struct err *err) {
  if (get_str(o, where, "request_id", false, k->request_id,
              sizeof(k->request_id), err) ||
      get_bool(o, where, "request_confirmed", &k->request_confirmed, err) ||
      get_num(o, where, "requested_at", false, &k->requested_at, err) ||
      get_num(o, where, "alerted_through", false, &k->alerted_through, err) ||
      get_num(o, where, "checked_at", false, &k->checked_at, err) ||
      get_bool(o, where, "notified_failing", &k->notified_failing, err))
    return -EBADMSG;
  return 0;
}

/* Parses one key and adds it to st. 0, -EBADMSG or -ENOMEM. */
static int parse_key(json_object *o, const char *where, struct rec_state *st,
                     struct err *err) {
  struct rec_key k;
  memset(&k, 0, sizeof(k));
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (parse_key_ids(o, where, &k, err) || parse_key_locs(o, where, &k, err) ||
      parse_key_events(o, where, &k, err) ||
      parse_key_request(o, where, &k, err))
    return -EBADMSG;
  if (rec_key_find(st, k.key) != NULL)
    return bad(err, where, "key", "\"%s\" appears twice", k.key);
  struct rec_key *slot;
  int rc = rec_key_get(st, k.bucket_key, k.test_id, k.environment_id, &slot);
  if (rc == -ENOMEM) {
    err_set(err, "%s: out of memory", where);
    return rc;
  }
  if (rc != 0)
    return bad(err, where, "key", "rejected: %s", strerror(-rc));
  *slot = k;
  return 0;
}

/* Parses one cursor and adds it to st. 0, -EBADMSG or -ENOMEM. */
static int parse_cursor(json_object *o, const char *where, struct rec_state *st,
                        struct err *err) {
  struct rec_cursor c;
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "bucket_key", true, c.bucket_key, sizeof(c.bucket_key),
              err) ||
      get_str(o, where, "test_id", true, c.test_id, sizeof(c.test_id), err) ||
      get_num(o, where, "since", true, &c.since, err))
    return -EBADMSG;
  if (rec_cursor_find(st, c.bucket_key, c.test_id) != NULL)
    return bad(err, where, "", "the cursor of %s/%s appears twice",
               c.bucket_key, c.test_id);
  int rc = rec_cursor_set(st, c.bucket_key, c.test_id, c.since);
  if (rc == -ENOMEM) {
    err_set(err, "%s: out of memory", where);
    return rc;
  }
  if (rc != 0)
    return bad(err, where, "", "rejected: %s", strerror(-rc));
  return 0;
}

/* ---- responses: read ---- */

static int parse_seen(json_object *o, const char *where, struct resp_event *ev,
                      struct err *err) {
  json_object *a;
  if (get_arr(o, where, "seen", RESP_SEEN_MAX, &a, err))
    return -EBADMSG;
  ev->n_seen = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < ev->n_seen; i++) {
    json_object *s = json_object_array_get_idx(a, i);
    char at[128], id[24], *end;
    snprintf(at, sizeof(at), "%s.seen[%zu]", where, i);
    if (!json_object_is_type(s, json_type_object))
      return bad(err, at, "", "not an object");
    if (get_str(s, at, "id", true, id, sizeof(id), err) ||
        get_num(s, at, "received", false, &ev->seen[i].received, err))
      return -EBADMSG;
    errno = 0;
    ev->seen[i].id = strtoull(id, &end, 16);
    if (strlen(id) != 16 || *end != '\0' || errno != 0)
      return bad(err, at, "id", "\"%s\" is not 16 hex digits", id);
  }
  return 0;
}

static int parse_rerun(json_object *o, const char *where, struct resp_event *ev,
                       struct err *err) {
  char name[16];
  long reruns;
  json_object *a;
  if (get_str(o, where, "rerun", false, name, sizeof(name), err) ||
      get_long(o, where, "reruns", &reruns, err) ||
      get_arr(o, where, "rerun_runs", RESP_RUNS_MAX, &a, err))
    return -EBADMSG;
  size_t r = 0;
  while (r < N_RERUN_NAMES && name[0] != '\0' && strcmp(name, rerun_names[r]))
    r++;
  if (r == N_RERUN_NAMES)
    return bad(err, where, "rerun", "unknown state \"%s\"", name);
  if (reruns < 0 || reruns > 1000000)
    return bad(err, where, "reruns", "%ld is out of range", reruns);
  ev->rerun = (enum resp_rerun)r;
  ev->reruns = (unsigned)reruns;
  ev->n_rerun_runs = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < ev->n_rerun_runs; i++) {
    char at[32];
    snprintf(at, sizeof(at), "rerun_runs[%zu]", i);
    if (copy_str(json_object_array_get_idx(a, i), where, at, ev->rerun_runs[i],
                 sizeof(ev->rerun_runs[i]), err))
      return -EBADMSG;
  }
  return 0;
}

/* Parses one event's responses and adds them to st. 0, -EBADMSG or
 * -ENOMEM. */
static int parse_response(json_object *o, const char *where,
                          struct rec_state *st, struct err *err) {
  struct resp_event ev, *slot;
  memset(&ev, 0, sizeof(ev));
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "event_id", true, ev.event_id, sizeof(ev.event_id),
              err) ||
      get_str(o, where, "key", false, ev.key, sizeof(ev.key), err) ||
      parse_seen(o, where, &ev, err) ||
      get_num(o, where, "seen_through", false, &ev.seen_through, err) ||
      parse_rerun(o, where, &ev, err) ||
      get_str(o, where, "rerun_by", false, ev.rerun_by, sizeof(ev.rerun_by),
              err) ||
      get_str(o, where, "rerun_location", false, ev.rerun_location,
              sizeof(ev.rerun_location), err) ||
      get_num(o, where, "rerun_asked_at", false, &ev.rerun_asked_at, err) ||
      get_num(o, where, "rerun_sent_at", false, &ev.rerun_sent_at, err) ||
      get_str(o, where, "acknowledged_by", false, ev.acked_by,
              sizeof(ev.acked_by), err) ||
      get_num(o, where, "acknowledged_at", false, &ev.acked_at, err) ||
      get_num(o, where, "held_at", false, &ev.held_at, err))
    return -EBADMSG;
  if (resp_find(st, ev.event_id) != NULL)
    return bad(err, where, "event_id", "\"%s\" appears twice", ev.event_id);
  if (resp_get(st, ev.key, ev.event_id, &slot) != 0) {
    err_set(err, "%s: out of memory", where);
    return -ENOMEM;
  }
  *slot = ev;
  return 0;
}

/* The delivered ids of a forward entry. */
static int parse_delivered(json_object *o, const char *where,
                           struct fwd_test *t, struct err *err) {
  json_object *a;
  if (get_arr(o, where, "delivered", FWD_DELIVERED_MAX, &a, err))
    return -EBADMSG;
  t->n_delivered = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < t->n_delivered; i++) {
    char at[32];
    snprintf(at, sizeof(at), "delivered[%zu]", i);
    if (copy_str(json_object_array_get_idx(a, i), where, at, t->delivered[i],
                 sizeof(t->delivered[i]), err))
      return -EBADMSG;
  }
  return 0;
}

/* Parses one forward entry and adds it to st. 0, -EBADMSG or -ENOMEM. */
static int parse_forward(json_object *o, const char *where,
                         struct rec_state *st, struct err *err) {
  struct fwd_test t;
  memset(&t, 0, sizeof(t));
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "bucket_key", true, t.bucket_key, sizeof(t.bucket_key),
              err) ||
      get_str(o, where, "test_id", true, t.test_id, sizeof(t.test_id), err) ||
      get_num(o, where, "through", true, &t.through, err) ||
      get_str(o, where, "through_id", false, t.through_id, sizeof(t.through_id),
              err) ||
      parse_delivered(o, where, &t, err) ||
      get_str(o, where, "sending", false, t.sending, sizeof(t.sending), err) ||
      get_num(o, where, "sending_at", false, &t.sending_at, err))
    return -EBADMSG;
  if (fwd_test_find(&st->fwd, t.bucket_key, t.test_id) != NULL)
    return bad(err, where, "", "the forward entry of %s/%s appears twice",
               t.bucket_key, t.test_id);
  struct fwd_test *slot;
  int rc = fwd_test_get(&st->fwd, t.bucket_key, t.test_id, t.through, &slot);
  if (rc == -ENOMEM) {
    err_set(err, "%s: out of memory", where);
    return rc;
  }
  if (rc != 0)
    return bad(err, where, "", "rejected: %s", strerror(-rc));
  *slot = t;
  return 0;
}

/* ---- traffic alerts: read ---- */

/* The seen messages of a traffic bucket. */
static int parse_traffic_seen(json_object *o, const char *where,
                              struct tr_bucket_state *b, struct err *err) {
  json_object *a;
  if (get_arr(o, where, "seen", TR_SEEN_MAX, &a, err))
    return -EBADMSG;
  size_t n = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < n; i++) {
    char at[128];
    char uuid[RS_ID_MAX];
    double t;
    json_object *s = json_object_array_get_idx(a, i);
    snprintf(at, sizeof(at), "%s.seen[%zu]", where, i);
    if (!json_object_is_type(s, json_type_object))
      return bad(err, at, "", "not an object");
    if (get_str(s, at, "uuid", true, uuid, sizeof(uuid), err) ||
        get_num(s, at, "at", true, &t, err))
      return -EBADMSG;
    if (tr_seen_has(b, uuid))
      return bad(err, at, "uuid", "\"%s\" appears twice", uuid);
    if (tr_seen_add(b, uuid, t) != 0) {
      err_set(err, "%s: out of memory", at);
      return -ENOMEM;
    }
  }
  return 0;
}

/* Parses one traffic bucket and adds it to st. 0, -EBADMSG or -ENOMEM. */
static int parse_traffic_bucket(json_object *o, const char *where,
                                struct rec_state *st, struct err *err) {
  char key[RS_ID_MAX];
  double since;
  struct tr_bucket_state *b;
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "bucket_key", true, key, sizeof(key), err) ||
      get_num(o, where, "since", true, &since, err))
    return -EBADMSG;
  if (tr_bucket_find(&st->traffic, key) != NULL)
    return bad(err, where, "bucket_key", "\"%s\" appears twice", key);
  if (tr_bucket_get(&st->traffic, key, since, &b) != 0) {
    err_set(err, "%s: out of memory", where);
    return -ENOMEM;
  }
  return parse_traffic_seen(o, where, b, err);
}

/* Parses one traffic rule's flood control and adds it to st. */
static int parse_traffic_rule(json_object *o, const char *where,
                              struct rec_state *st, struct err *err) {
  struct tr_rule_state r, *slot;
  memset(&r, 0, sizeof(r));
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  if (get_str(o, where, "bucket_key", true, r.bucket_key, sizeof(r.bucket_key),
              err) ||
      get_str(o, where, "rule", true, r.rule, sizeof(r.rule), err) ||
      get_num(o, where, "last_sent", false, &r.last_sent, err) ||
      get_long(o, where, "held", &r.held.count, err) ||
      get_num(o, where, "first_held_at", false, &r.held.first_at, err) ||
      get_num(o, where, "last_held_at", false, &r.held.last_at, err) ||
      get_str(o, where, "last_held_uuid", false, r.held.last_uuid,
              sizeof(r.held.last_uuid), err) ||
      get_str(o, where, "sending", false, r.sending, sizeof(r.sending), err))
    return -EBADMSG;
  if (r.held.count < 0)
    return bad(err, where, "held", "negative");
  if (tr_rule_find(&st->traffic, r.bucket_key, r.rule) != NULL)
    return bad(err, where, "rule", "\"%s\" of %s appears twice", r.rule,
               r.bucket_key);
  if (tr_rule_get(&st->traffic, r.bucket_key, r.rule, &slot) != 0) {
    err_set(err, "%s: out of memory", where);
    return -ENOMEM;
  }
  *slot = r;
  return 0;
}

/* "format" and "version": this file is a state file this build can read. */
static int parse_header(json_object *root, struct err *err) {
  char format[64];
  if (!json_object_is_type(root, json_type_object))
    return bad(err, "", "", "not a JSON object");
  if (get_str(root, "", "format", true, format, sizeof(format), err))
    return -EBADMSG;
  if (strcmp(format, STATE_FORMAT) != 0)
    return bad(err, "", "format", "\"%s\", not \"%s\"", format, STATE_FORMAT);
  json_object *v = member(root, "version");
  if (v == NULL)
    return bad(err, "", "version", "missing");
  if (!json_object_is_type(v, json_type_int))
    return bad(err, "", "version", "not an integer");
  int64_t version = json_object_get_int64(v);
  if (version != STATE_VERSION)
    return bad(err, "", "version",
               "%lld is not supported (this build reads version %d)",
               (long long)version, STATE_VERSION);
  return 0;
}

/* Calls parse(element, "name[i]", st, err) for each element of root.name. */
static int parse_list(json_object *root, const char *name,
                      int (*parse)(json_object *, const char *,
                                   struct rec_state *, struct err *),
                      struct rec_state *st, struct err *err) {
  json_object *a;
  if (get_arr(root, "", name, SIZE_MAX, &a, err))
    return -EBADMSG;
  size_t n = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < n; i++) {
    char at[64];
    snprintf(at, sizeof(at), "%s[%zu]", name, i);
    int rc = parse(json_object_array_get_idx(a, i), at, st, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int state_from_json(const char *text, size_t len, int max_json_depth,
                    struct rec_state *st, struct err *err) {
  struct rec_state tmp;
  rec_state_init(&tmp);
  json_object *root = NULL;
  int rc = jsonx_parse(text, len, max_json_depth, &root, err);
  if (rc == -EPROTO)
    rc = -EBADMSG;
  if (rc == 0)
    rc = parse_header(root, err);
  if (rc == 0)
    rc = parse_list(root, "keys", parse_key, &tmp, err);
  if (rc == 0)
    rc = parse_list(root, "cursors", parse_cursor, &tmp, err);
  if (rc == 0)
    rc = parse_list(root, "responses", parse_response, &tmp, err);
  if (rc == 0)
    rc = parse_list(root, "forward", parse_forward, &tmp, err);
  if (rc == 0)
    rc = parse_list(root, "traffic_buckets", parse_traffic_bucket, &tmp, err);
  if (rc == 0)
    rc = parse_list(root, "traffic_rules", parse_traffic_rule, &tmp, err);
  json_object_put(root);
  rec_state_fini(st);
  if (rc == 0)
    *st = tmp;
  else
    rec_state_fini(&tmp);
  return rc;
}

/* ---- files ---- */

/* Checks that the open fd is a regular file small enough to read. */
static int check_file(int fd, const char *path, struct err *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int rc = -errno;
    err_set(err, "state: stat %s: %s", path, strerror(-rc));
    return rc;
  }
  if (S_ISDIR(sb.st_mode)) {
    err_set(err, "state: read %s: %s", path, strerror(EISDIR));
    return -EISDIR;
  }
  if (!S_ISREG(sb.st_mode)) {
    err_set(err, "state: read %s: not a regular file", path);
    return -EINVAL;
  }
  if (sb.st_size > (off_t)STATE_FILE_MAX) {
    err_set(err, "state: read %s: %lld bytes, larger than the %u allowed", path,
            (long long)sb.st_size, STATE_FILE_MAX);
    return -EFBIG;
  }
  return 0;
}

/* Reads the regular file at path into out (bounded by STATE_FILE_MAX).
 * 0 or a negative errno with err naming the step. */
static int read_file(const char *path, struct buf *out, struct err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int rc = -errno;
    err_set(err, "state: open %s: %s", path, strerror(-rc));
    return rc;
  }
  int rc = check_file(fd, path, err);
  char chunk[65536];
  while (rc == 0) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0)
      break;
    if (n < 0 && errno == EINTR)
      continue;
    rc = n < 0 ? -errno : buf_append(out, chunk, (size_t)n);
    if (rc == -EMSGSIZE) /* it grew after the check */
      rc = -EFBIG;
    if (rc != 0)
      err_set(err, "state: read %s: %s", path, strerror(-rc));
  }
  close(fd);
  return rc;
}

/* Renames the corrupt file at path aside and says so in err, with the cause
 * found while parsing. */
static void move_aside(const char *path, double now, const char *cause,
                       struct err *err) {
  char aside[PATH_MAX];
  long long stamp = isfinite(now) && now > 0 && now < 1e18 ? (long long)now : 0;
  int n = snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path, stamp);
  int rc = 0;
  if (n < 0 || (size_t)n >= sizeof(aside))
    rc = -ENAMETOOLONG;
  else if (rename(path, aside) != 0)
    rc = -errno;
  if (rc == 0)
    err_set(err, "state: %s is corrupt (%s); moved it aside to %s", path, cause,
            aside);
  else
    err_set(err, "state: %s is corrupt (%s); could not move it aside to %s: %s",
            path, cause, aside, strerror(-rc));
}

int state_load(const char *path, double now, int max_json_depth,
               struct rec_state *st, struct err *err) {
  struct buf text;
  buf_init(&text, STATE_FILE_MAX);
  int rc = read_file(path, &text, err);
  if (rc == 0) {
    struct err cause = {{0}};
    rc = state_from_json(text.data, text.len, max_json_depth, st, &cause);
    if (rc == -EBADMSG)
      move_aside(path, now, cause.msg, err);
    else if (rc != 0)
      err_set(err, "state: load %s: %s", path, cause.msg);
  }
  if (rc != 0)
    rec_state_fini(st);
  buf_fini(&text);
  return rc;
}

/* The directory of path ("." when it names none) into dir[PATH_MAX]. */
static int dir_of(const char *path, char *dir) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    return str_copy(dir, PATH_MAX, ".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= PATH_MAX)
    return -ENAMETOOLONG;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return 0;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes, fsyncs and closes fd, the temp file tmp. 0 or a negative errno
 * with err naming the step; fd is closed either way. */
static int fill_temp(int fd, const char *tmp, const struct buf *text,
                     struct err *err) {
  const char *step = "write";
  int rc = write_all(fd, text->data ? text->data : "", text->len);
  if (rc == 0 && fsync(fd) != 0) {
    step = "fsync";
    rc = -errno;
  }
  if (close(fd) != 0 && rc == 0) {
    step = "close";
    rc = -errno;
  }
  if (rc != 0)
    err_set(err, "state: %s %s: %s", step, tmp, strerror(-rc));
  return rc;
}

static int fsync_dir(const char *dir, struct err *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd < 0 ? -errno : 0;
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (fd >= 0)
    close(fd);
  if (rc != 0)
    err_set(err, "state: fsync directory %s: %s", dir, strerror(-rc));
  return rc;
}

/* Creates the temp file for path from template tmp (rewritten). */
static int create_temp(char *tmp, const char *dir, struct err *err) {
  char template[PATH_MAX];
  memcpy(template, tmp, strlen(tmp) + 1);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd >= 0)
    return fd;
  int rc = -errno;
  if (rc == -ENOENT)
    err_set(err, "state: create %s: %s (the directory %s does not exist)",
            template, strerror(-rc), dir);
  else
    err_set(err, "state: create %s: %s", template, strerror(-rc));
  return rc;
}

/* Replaces path with text: temp file, fsync, rename, fsync the directory. */
static int replace_file(const char *path, const struct buf *text,
                        struct err *err) {
  char dir[PATH_MAX], tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(tmp) || dir_of(path, dir) != 0) {
    err_set(err, "state: save %s: %s", path, strerror(ENAMETOOLONG));
    return -ENAMETOOLONG;
  }
  int fd = create_temp(tmp, dir, err);
  if (fd < 0)
    return fd;
  int rc = fill_temp(fd, tmp, text, err);
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -errno;
    err_set(err, "state: rename %s to %s: %s", tmp, path, strerror(-rc));
  }
  if (rc != 0) {
    unlink(tmp);
    return rc;
  }
  return fsync_dir(dir, err);
}

int state_save(const char *path, const struct rec_state *st, struct err *err) {
  if (path == NULL || path[0] == '\0') {
    err_set(err, "state: save: no file name");
    return -EINVAL;
  }
  struct buf text;
  buf_init(&text, STATE_FILE_MAX);
  int rc = state_to_json(st, &text);
  if (rc != 0)
    err_set(err, "state: save %s: serialising: %s", path, strerror(-rc));
  else
    rc = replace_file(path, &text, err);
  buf_fini(&text);
  return rc;
}
