/* The state store: the reconciler's state as a JSON file, saved atomically. */
#define _GNU_SOURCE /* mkostemp */
#include "store/state.h"

#include "core/responses.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/str.h"

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

/* ---- writing ----
 *
 * The state is written straight into the text, without a JSON tree: with
 * thousands of tests a tree costs several times the text in memory and
 * most of a save's time. Each writer adds one member (or, with a NULL
 * name, one array element), comma first when it is not the first of its
 * object or array; the first error sticks and ends the writing. A save
 * hands the text to the file in chunks of JW_CHUNK bytes as it grows. */

#define JW_CHUNK (64u << 10)

struct jw {
  struct buf *out;
  int fd;           /* >= 0: out goes to fd every JW_CHUNK bytes */
  uint64_t *digest; /* not NULL: out is hashed into it instead */
  size_t flushed;   /* bytes written to fd */
  bool first;       /* the next member is the first of its object or array */
  int rc;           /* 0, or the first error */
  bool io_error;    /* rc is a write to fd that failed */
};

static int write_all(int fd, const char *data, size_t len);

/* Writes out to fd and empties it. */
static void jw_flush(struct jw *w) {
  if (w->rc == 0 && w->digest != NULL) {
    *w->digest = hash_fnv1a(*w->digest, w->out->data, w->out->len);
    buf_reset(w->out);
    return;
  }
  if (w->rc != 0 || w->fd < 0 || w->out->len == 0)
    return;
  if (w->out->len > STATE_FILE_MAX - w->flushed) {
    w->rc = -EMSGSIZE;
    return;
  }
  w->rc = write_all(w->fd, w->out->data, w->out->len);
  w->io_error = w->rc != 0;
  w->flushed += w->out->len;
  buf_reset(w->out);
}

static void jw_raw(struct jw *w, const char *s, size_t n) {
  if (w->rc == 0)
    w->rc = buf_append(w->out, s, n);
  if (w->out->len >= JW_CHUNK)
    jw_flush(w);
}

static void jw_string(struct jw *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  jw_raw(w, "\"", 1);
  const char *run = s;
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    jw_raw(w, run, (size_t)(s - run));
    run = s + 1;
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\')
      jw_raw(w, (char[]){'\\', (char)c}, 2);
    else if (c == '\n')
      jw_raw(w, "\\n", 2);
    else
      jw_raw(w, esc, sizeof(esc));
  }
  jw_raw(w, run, (size_t)(s - run));
  jw_raw(w, "\"", 1);
}

/* The comma and the member name (none for an array element). */
static void jw_name(struct jw *w, const char *name) {
  if (!w->first)
    jw_raw(w, ",", 1);
  w->first = false;
  if (name != NULL) {
    jw_string(w, name);
    jw_raw(w, ":", 1);
  }
}

/* Opens an object ('{') or array ('['). */
static void jw_open(struct jw *w, const char *name, char bracket) {
  jw_name(w, name);
  jw_raw(w, &bracket, 1);
  w->first = true;
}

static void jw_close(struct jw *w, char bracket) {
  jw_raw(w, &bracket, 1);
  w->first = false;
}

static void jw_str(struct jw *w, const char *name, const char *v) {
  jw_name(w, name);
  jw_string(w, v);
}

static void jw_bool(struct jw *w, const char *name, bool v) {
  jw_name(w, name);
  jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

static void jw_long(struct jw *w, const char *name, long v) {
  char s[32];
  jw_name(w, name);
  jw_raw(w, s, (size_t)snprintf(s, sizeof(s), "%ld", v));
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
 * (read back as 0). Whole numbers, the common case, skip the search for
 * the shortest digits. */
static void jw_num(struct jw *w, const char *name, double d) {
  char s[64];
  jw_name(w, name);
  if (!isfinite(d))
    jw_raw(w, "null", 4);
  else if (d == 0)
    jw_raw(w, "0", 1);
  else {
    format_double(d, s, sizeof(s));
    jw_raw(w, s, strlen(s));
  }
}

/* Ends the writing: 0, or the first error with out as it was before. */
static int jw_end(struct jw *w, size_t start) {
  if (w->rc != 0 && w->out->data != NULL) {
    w->out->len = start;
    w->out->data[start] = '\0';
  }
  return w->rc;
}

static void loc_write(struct jw *w, const struct rec_run *l) {
  jw_open(w, NULL, '{');
  jw_str(w, "location", l->location);
  jw_str(w, "test_run_id", l->test_run_id);
  jw_bool(w, "failed", l->failed);
  jw_num(w, "started_at", l->started_at);
  jw_num(w, "finished_at", l->finished_at);
  jw_long(w, "assertions_failed", l->assertions_failed);
  jw_long(w, "scripts_failed", l->scripts_failed);
  jw_long(w, "variables_failed", l->variables_failed);
  jw_long(w, "requests_executed", l->requests_executed);
  jw_close(w, '}');
}

/* One key. -EINVAL when it is not valid. */
static int key_write(struct jw *w, const struct rec_key *k) {
  if (k->n_locs > REC_LOC_MAX || k->n_events > REC_EVENTS_MAX ||
      (size_t)k->ev >= N_EV_NAMES)
    return -EINVAL;
  jw_open(w, NULL, '{');
  jw_str(w, "key", k->key);
  jw_str(w, "bucket_key", k->bucket_key);
  jw_str(w, "test_id", k->test_id);
  jw_str(w, "environment_id", k->environment_id);
  jw_open(w, "locations", '[');
  for (size_t i = 0; i < k->n_locs; i++)
    loc_write(w, &k->locs[i]);
  jw_close(w, ']');
  jw_str(w, "event", ev_names[k->ev]);
  jw_open(w, "event_ids", '[');
  for (size_t i = 0; i < k->n_events; i++)
    jw_str(w, NULL, k->event_ids[i]);
  jw_close(w, ']');
  jw_str(w, "request_id", k->request_id);
  jw_bool(w, "request_confirmed", k->request_confirmed);
  jw_num(w, "requested_at", k->requested_at);
  jw_num(w, "alerted_through", k->alerted_through);
  jw_num(w, "checked_at", k->checked_at);
  jw_bool(w, "notified_failing", k->notified_failing);
  jw_close(w, '}');
  return 0;
}

static void cursor_write(struct jw *w, const struct rec_cursor *c) {
  jw_open(w, NULL, '{');
  jw_str(w, "bucket_key", c->bucket_key);
  jw_str(w, "test_id", c->test_id);
  jw_num(w, "since", c->since);
  jw_close(w, '}');
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

/* One event's responses. -EINVAL (more seen responses or runs than fit, an
 * unknown rerun state). */
static int response_write(struct jw *w, const struct resp_event *ev) {
  if (ev->n_seen > RESP_SEEN_MAX || ev->n_rerun_runs > RESP_RUNS_MAX ||
      (size_t)ev->rerun >= N_RERUN_NAMES)
    return -EINVAL;
  jw_open(w, NULL, '{');
  jw_str(w, "event_id", ev->event_id);
  jw_str(w, "key", ev->key);
  jw_open(w, "seen", '['); /* {"id": 16 hex digits, "received"} */
  for (size_t i = 0; i < ev->n_seen; i++) {
    char id[17];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)ev->seen[i].id);
    jw_open(w, NULL, '{');
    jw_str(w, "id", id);
    jw_num(w, "received", ev->seen[i].received);
    jw_close(w, '}');
  }
  jw_close(w, ']');
  jw_num(w, "seen_through", ev->seen_through);
  jw_long(w, "reruns", (long)ev->reruns);
  jw_str(w, "rerun", rerun_names[ev->rerun]);
  jw_str(w, "rerun_by", ev->rerun_by);
  jw_str(w, "rerun_location", ev->rerun_location);
  jw_num(w, "rerun_asked_at", ev->rerun_asked_at);
  jw_num(w, "rerun_sent_at", ev->rerun_sent_at);
  jw_open(w, "rerun_runs", '[');
  for (size_t i = 0; i < ev->n_rerun_runs; i++)
    jw_str(w, NULL, ev->rerun_runs[i]);
  jw_close(w, ']');
  jw_str(w, "acknowledged_by", ev->acked_by);
  jw_num(w, "acknowledged_at", ev->acked_at);
  jw_num(w, "held_at", ev->held_at);
  jw_close(w, '}');
  return 0;
}

/* The "responses" array (only when there are records, so that a file
 * without responses does not change shape). 0 or -EINVAL. */
static int responses_write(struct jw *w, const struct rec_state *st) {
  if (st->n_responses == 0)
    return 0;
  int rc = 0;
  jw_open(w, "responses", '[');
  for (size_t i = 0; rc == 0 && i < st->n_responses; i++)
    rc = response_write(w, &st->responses[i]);
  jw_close(w, ']');
  return rc;
}

/* One forward entry. -EINVAL (too many delivered ids). */
static int fwd_write(struct jw *w, const struct fwd_test *t) {
  if (t->n_delivered > FWD_DELIVERED_MAX)
    return -EINVAL;
  jw_open(w, NULL, '{');
  jw_open(w, "delivered", '[');
  for (size_t i = 0; i < t->n_delivered; i++)
    jw_str(w, NULL, t->delivered[i]);
  jw_close(w, ']');
  jw_str(w, "bucket_key", t->bucket_key);
  jw_str(w, "test_id", t->test_id);
  jw_num(w, "through", t->through);
  jw_str(w, "through_id", t->through_id);
  jw_str(w, "sending", t->sending);
  jw_num(w, "sending_at", t->sending_at);
  jw_close(w, '}');
  return 0;
}

/* The "forward" array (only when forward mode has entries, so that a
 * manage-mode file does not change shape). 0 or -EINVAL. */
static int forward_write(struct jw *w, const struct fwd_state *fwd) {
  if (fwd->n == 0)
    return 0;
  int rc = 0;
  jw_open(w, "forward", '[');
  for (size_t i = 0; rc == 0 && i < fwd->n; i++)
    rc = fwd_write(w, &fwd->tests[i]);
  jw_close(w, ']');
  return rc;
}

/* ---- traffic alerts: written ---- */

/* One bucket's traffic cursor and seen messages. -EINVAL (more seen
 * messages than fit). */
static int traffic_bucket_write(struct jw *w, const struct tr_bucket_state *b) {
  if (b->n_seen > TR_SEEN_MAX)
    return -EINVAL;
  jw_open(w, NULL, '{');
  jw_open(w, "seen", '[');
  for (size_t i = 0; i < b->n_seen; i++) {
    jw_open(w, NULL, '{');
    jw_str(w, "uuid", b->seen[i].uuid);
    jw_num(w, "at", b->seen[i].at);
    jw_close(w, '}');
  }
  jw_close(w, ']');
  jw_str(w, "bucket_key", b->bucket_key);
  jw_num(w, "since", b->since);
  jw_close(w, '}');
  return 0;
}

/* One rule's flood control (its counters are not saved). */
static void traffic_rule_write(struct jw *w, const struct tr_rule_state *r) {
  jw_open(w, NULL, '{');
  jw_str(w, "bucket_key", r->bucket_key);
  jw_str(w, "rule", r->rule);
  jw_num(w, "last_sent", r->last_sent);
  jw_long(w, "held", r->held.count);
  jw_num(w, "first_held_at", r->held.first_at);
  jw_num(w, "last_held_at", r->held.last_at);
  jw_str(w, "last_held_uuid", r->held.last_uuid);
  jw_str(w, "sending", r->sending);
  jw_close(w, '}');
}

/* "traffic_buckets" and "traffic_rules" (only when traffic alerts have
 * entries, so that a file without rules does not change shape). 0 or
 * -EINVAL. */
static int traffic_write(struct jw *w, const struct tr_state *tr) {
  if (tr->n_buckets == 0 && tr->n_rules == 0)
    return 0;
  int rc = 0;
  jw_open(w, "traffic_buckets", '[');
  for (size_t i = 0; rc == 0 && i < tr->n_buckets; i++)
    rc = traffic_bucket_write(w, tr->buckets[i]);
  jw_close(w, ']');
  jw_open(w, "traffic_rules", '[');
  for (size_t i = 0; i < tr->n_rules; i++)
    traffic_rule_write(w, tr->rules[i]);
  jw_close(w, ']');
  return rc;
}

/* The whole state. 0 or -EINVAL; w->rc holds a write error. */
static int state_write(struct jw *w, const struct rec_state *st) {
  int rc = 0;
  jw_open(w, NULL, '{');
  jw_str(w, "format", STATE_FORMAT);
  jw_long(w, "version", STATE_VERSION);
  jw_open(w, "keys", '[');
  for (size_t i = 0; rc == 0 && i < st->n_keys; i++)
    rc = key_write(w, st->keys[i]);
  jw_close(w, ']');
  jw_open(w, "cursors", '[');
  for (size_t i = 0; i < st->n_cursors; i++)
    cursor_write(w, &st->cursors[i]);
  jw_close(w, ']');
  if (rc == 0)
    rc = responses_write(w, st);
  if (rc == 0)
    rc = forward_write(w, &st->fwd);
  if (rc == 0)
    rc = traffic_write(w, &st->traffic);
  jw_close(w, '}');
  jw_raw(w, "\n", 1);
  return rc;
}

int state_to_json(const struct rec_state *st, struct buf *out) {
  struct jw w = {.out = out, .fd = -1, .first = true};
  size_t start = out->len;
  int rc = state_write(&w, st);
  if (rc != 0 && w.rc == 0)
    w.rc = rc;
  return jw_end(&w, start);
}

int state_digest(const struct rec_state *st, uint64_t *ret) {
  struct buf out;
  buf_init(&out, JW_CHUNK * 2);
  *ret = HASH_FNV_BASIS;
  struct jw w = {.out = &out, .fd = -1, .digest = ret, .first = true};
  int rc = state_write(&w, st);
  if (rc == 0 && w.rc == 0)
    jw_flush(&w);
  buf_fini(&out);
  return rc != 0 ? rc : w.rc;
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
  size_t n = a ? json_object_array_length(a) : 0;
  for (size_t i = 0; i < n; i++) {
    char at[128];
    snprintf(at, sizeof(at), "%s.locations[%zu]", where, i);
    struct rec_run *l = rec_key_add_loc(k);
    if (l == NULL) {
      err_set(err, "%s: out of memory", at);
      return -ENOMEM;
    }
    if (parse_loc(json_object_array_get_idx(a, i), at, l, err))
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

/* Parses the members of one key into k (which then owns its locations).
 * 0, -EBADMSG or -ENOMEM. */
static int parse_key_members(json_object *o, const char *where,
                             struct rec_key *k, struct err *err) {
  if (parse_key_ids(o, where, k, err))
    return -EBADMSG;
  int rc = parse_key_locs(o, where, k, err);
  if (rc == 0 && (parse_key_events(o, where, k, err) ||
                  parse_key_request(o, where, k, err)))
    rc = -EBADMSG;
  return rc;
}

/* Parses one key and adds it to st. 0, -EBADMSG or -ENOMEM. */
static int parse_key(json_object *o, const char *where, struct rec_state *st,
                     struct err *err) {
  struct rec_key k;
  memset(&k, 0, sizeof(k));
  if (!json_object_is_type(o, json_type_object))
    return bad(err, where, "", "not an object");
  int rc = parse_key_members(o, where, &k, err);
  struct rec_key *slot = NULL;
  if (rc == 0 && rec_key_find(st, k.key) != NULL)
    rc = bad(err, where, "key", "\"%s\" appears twice", k.key);
  if (rc == 0) {
    rc = rec_key_get(st, k.bucket_key, k.test_id, k.environment_id, &slot);
    if (rc == -ENOMEM)
      err_set(err, "%s: out of memory", where);
    else if (rc != 0)
      rc = bad(err, where, "key", "rejected: %s", err_errno_text(-rc));
  }
  if (rc != 0) {
    rec_key_fini(&k);
    return rc;
  }
  *slot = k; /* a fresh entry, without locations: k's are handed over */
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
    return bad(err, where, "", "rejected: %s", err_errno_text(-rc));
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
    return bad(err, where, "", "rejected: %s", err_errno_text(-rc));
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
    err_set(err, "state: stat %s: %s", path, err_errno_text(-rc));
    return rc;
  }
  if (S_ISDIR(sb.st_mode)) {
    err_set(err, "state: read %s: %s", path, err_errno_text(EISDIR));
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
    err_set(err, "state: open %s: %s", path, err_errno_text(-rc));
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
      err_set(err, "state: read %s: %s", path, err_errno_text(-rc));
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
            path, cause, aside, err_errno_text(-rc));
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

/* Writes the state into fd, the temp file tmp, then fsyncs and closes it.
 * 0 or a negative errno with err naming the step; fd is closed either
 * way. */
static int fill_temp(int fd, const char *tmp, const char *path,
                     const struct rec_state *st, struct err *err) {
  struct buf chunk;
  buf_init(&chunk, JW_CHUNK * 2);
  struct jw w = {.out = &chunk, .fd = fd, .first = true};
  int rc = state_write(&w, st);
  if (w.rc == 0)
    w.rc = rc;
  jw_flush(&w);
  rc = w.rc;
  buf_fini(&chunk);
  if (rc != 0 && !w.io_error) {
    close(fd);
    err_set(err, "state: save %s: serialising: %s", path, err_errno_text(-rc));
    return rc;
  }
  const char *step = "write";
  if (rc == 0 && fsync(fd) != 0) {
    step = "fsync";
    rc = -errno;
  }
  if (close(fd) != 0 && rc == 0) {
    step = "close";
    rc = -errno;
  }
  if (rc != 0)
    err_set(err, "state: %s %s: %s", step, tmp, err_errno_text(-rc));
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
    err_set(err, "state: fsync directory %s: %s", dir, err_errno_text(-rc));
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
            template, err_errno_text(-rc), dir);
  else
    err_set(err, "state: create %s: %s", template, err_errno_text(-rc));
  return rc;
}

/* Replaces path with the state: temp file, fsync, rename, fsync the
 * directory. */
static int replace_file(const char *path, const struct rec_state *st,
                        struct err *err) {
  char dir[PATH_MAX], tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(tmp) || dir_of(path, dir) != 0) {
    err_set(err, "state: save %s: %s", path, err_errno_text(ENAMETOOLONG));
    return -ENAMETOOLONG;
  }
  int fd = create_temp(tmp, dir, err);
  if (fd < 0)
    return fd;
  int rc = fill_temp(fd, tmp, path, st, err);
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -errno;
    err_set(err, "state: rename %s to %s: %s", tmp, path, err_errno_text(-rc));
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
  return replace_file(path, st, err);
}
