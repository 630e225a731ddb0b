/* SPDX-License-Identifier: MIT */
/* Runscope answers read with json-c: envelope, buckets, tests, details.
 *
 * Runs, run details and trigger answers are in rs_runs.c, the tests
 * list without a tree in rs_scan.c.
 *
 * Open questions about the real API and what this client does about them
 * (docs/runscope-api.md, sections 2, 3, 7 and 9):
 *  - "error" may be null, absent or an object; a 2xx whose envelope carries
 *    an error with a non-empty message (or a status >= 400) is a failure, as
 *    nextrevision/go-runscope treats it: a list read as empty when the server
 *    said "error" would make tests look deleted. error.status, when >= 400,
 *    picks the errno as an HTTP status would.
 *  - Error bodies may not be JSON: the message then carries a cleaned-up
 *    snippet of the body (with the token, should it be echoed, redacted).
 *  - Team ids come as team.id (new) or team.uuid (old); both are accepted.
 *  - Times are ints, floats or numeric strings; all are read as doubles.
 *  - The tests list's last_run may be an object (id or uuid; created_at,
 *    started_at or finished_at), a bare id string, null or absent; a
 *    top-level last_run_created_at is used when last_run has no time.
 *  - Bucket and test ids that are absent or too long fail the whole list: a
 *    partial list would make the missing ones look deleted. A results item
 *    without a test_run_id or a numeric started_at is skipped instead (the
 *    rest of the page stays usable; a run may be read again later). */
#include "clients/rs_internal.h"

#include "util/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers ---- */

void rs_copy_name(json_object *o, const char *key, char *dst, size_t size) {
  if (jsonx_copy_str(o, key, dst, size) == -ENAMETOOLONG)
    str_utf8_trim(dst);
}

const char *rs_pick(json_object *o, const char *a, const char *b) {
  const char *s = jsonx_str(o, a);
  if (s != NULL && s[0] != '\0')
    return a;
  s = jsonx_str(o, b);
  return s != NULL && s[0] != '\0' ? b : a;
}

/* Fails an item that is not a JSON object. */
static int need_object(json_object *o, const char *where, struct err *err) {
  if (json_object_is_type(o, json_type_object))
    return 0;
  err_set(err, "%s is not an object", where);
  return -EPROTO;
}

/* Fails an id that is required but was absent (""). */
static int need_id(const char *id, const char *where, const char *key,
                   struct err *err) {
  if (id[0] != '\0')
    return 0;
  err_set(err, "%s has no \"%s\"", where, key);
  return -EPROTO;
}

/* ---- the envelope ---- */

const char *rs_error_message(json_object *root, long *ret_status) {
  json_object *e = NULL;
  *ret_status = 0;
  if (!json_object_object_get_ex(root, "error", &e) || e == NULL)
    return NULL;
  if (json_object_is_type(e, json_type_string))
    return json_object_get_string(e);
  *ret_status = (long)jsonx_int(e, "status", 0);
  const char *msg = jsonx_str(e, "message");
  return msg ? msg : jsonx_str(e, "error");
}

/* Fails a 2xx envelope that reports an error. Returns 0 or the errno. */
static int envelope_error(json_object *root, struct err *err) {
  long status;
  const char *msg = rs_error_message(root, &status);
  bool has_msg = msg != NULL && msg[0] != '\0';
  if (!has_msg && status < 400)
    return 0;
  err_set(err, "the answer carries an error (status %ld): %s", status,
          has_msg ? msg : "no message");
  return status >= 400 ? rs_status_errno(status) : -EPROTO;
}

/* Checks root as the envelope and finds its "data" of type want (borrowed).
 * Returns 0 or a negative errno. */
static int envelope_data(json_object *root, json_type want,
                         json_object **ret_data, struct err *err) {
  json_object *data = NULL;
  if (!json_object_is_type(root, json_type_object)) {
    err_set(err, "the answer is a JSON %s, not an object",
            json_type_to_name(json_object_get_type(root)));
    return -EPROTO;
  }
  int rc = envelope_error(root, err);
  if (rc != 0)
    return rc;
  if (!json_object_object_get_ex(root, "data", &data) || data == NULL) {
    err_set(err, "the answer has no \"data\"");
    return -EPROTO;
  }
  if (!json_object_is_type(data, want)) {
    err_set(err, "\"data\" is a JSON %s, not %s",
            json_type_to_name(json_object_get_type(data)),
            json_type_to_name(want));
    return -EPROTO;
  }
  *ret_data = data;
  return 0;
}

int rs_parse_body(const char *body, size_t len, int max_depth, json_type want,
                  rs_data_fn fn, void *arg, struct err *err) {
  json_object *root = NULL, *data = NULL;
  int rc = jsonx_parse(body, len, max_depth, &root, err);
  if (rc != 0)
    return rc;
  rc = envelope_data(root, want, &data, err);
  if (rc == 0)
    rc = fn(data, arg, err);
  json_object_put(root);
  return rc;
}

/* ---- lists ---- */

int rs_parse_items(json_object *arr, const struct rs_item_kind *kind,
                   struct rs_items *out, struct err *err) {
  size_t raw = arr ? json_object_array_length(arr) : 0, n = 0;
  char where[RS_WHERE_MAX];
  memset(out, 0, sizeof(*out));
  if (kind->max > 0 && raw > kind->max)
    raw = kind->max;
  char *v = calloc(raw ? raw : 1, kind->size);
  if (v == NULL) {
    err_set(err, "out of memory for %zu %s", raw, kind->noun);
    return -ENOMEM;
  }
  for (size_t i = 0; i < raw; i++) {
    snprintf(where, sizeof(where), "%s[%zu]", kind->prefix, i);
    int rc = kind->parse(json_object_array_get_idx(arr, i), where,
                         v + n * kind->size, err);
    if (rc < 0) {
      for (size_t j = 0; kind->fini != NULL && j < n; j++)
        kind->fini(v + j * kind->size);
      free(v);
      return rc;
    }
    n += rc == 0;
  }
  out->v = v;
  out->n = n;
  out->raw = raw;
  return 0;
}

int rs_parse_list(const char *body, size_t len, int max_depth, rs_data_fn fn,
                  void **ret, size_t *ret_n, struct err *err) {
  struct rs_items items = {NULL, 0, 0};
  int rc =
      rs_parse_body(body, len, max_depth, json_type_array, fn, &items, err);
  *ret = items.v;
  *ret_n = items.n;
  return rc;
}

/* ---- buckets ---- */

static int parse_bucket(json_object *o, const char *where, void *dst,
                        struct err *err) {
  struct rs_bucket *b = dst;
  char w[RS_WHERE_MAX];
  memset(b, 0, sizeof(*b));
  int rc = need_object(o, where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "key", b->key, sizeof(b->key), where, err);
  if (rc == 0)
    rc = need_id(b->key, where, "key", err);
  if (rc != 0)
    return rc;
  rs_copy_name(o, "name", b->name, sizeof(b->name));
  json_object *team = jsonx_obj(o, "team");
  snprintf(w, sizeof(w), "%s.team", where);
  rc = jsonx_copy_id(team, rs_pick(team, "id", "uuid"), b->team_id,
                     sizeof(b->team_id), w, err);
  rs_copy_name(team, "name", b->team_name, sizeof(b->team_name));
  return rc;
}

static const struct rs_item_kind bucket_kind = {
    sizeof(struct rs_bucket), parse_bucket, "data", "items", 0, NULL};

int rs_buckets_data(json_object *data, void *items, struct err *err) {
  return rs_parse_items(data, &bucket_kind, items, err);
}

int rs_bucket_data(json_object *data, void *bucket, struct err *err) {
  return parse_bucket(data, "data", bucket, err);
}

int rs_parse_buckets(const char *body, size_t len, int max_depth,
                     struct rs_bucket **ret, size_t *ret_n, struct err *err) {
  void *v;
  int rc = rs_parse_list(body, len, max_depth, rs_buckets_data, &v, ret_n, err);
  *ret = v;
  return rc;
}

int rs_parse_bucket(const char *body, size_t len, int max_depth,
                    struct rs_bucket *ret, struct err *err) {
  memset(ret, 0, sizeof(*ret));
  return rs_parse_body(body, len, max_depth, json_type_object, rs_bucket_data,
                       ret, err);
}

/* ---- tests ---- */

/* The first positive time among a run's created/started/finished times. */
static double run_time(json_object *run) {
  static const char *const keys[] = {"created_at", "started_at", "finished_at"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    double t = jsonx_num(run, keys[i], 0);
    if (t > 0)
      return t;
  }
  return 0;
}

/* Reads last_run (object, id string, null or absent). */
static int parse_last_run(json_object *o, const char *where, struct rs_test *t,
                          struct err *err) {
  char w[RS_WHERE_MAX];
  json_object *lr = jsonx_obj(o, "last_run");
  int rc;
  snprintf(w, sizeof(w), "%s.last_run", where);
  if (lr != NULL) {
    rc = jsonx_copy_id(lr, rs_pick(lr, "id", "uuid"), t->last_run_id,
                       sizeof(t->last_run_id), w, err);
    t->last_run_at = run_time(lr);
  } else {
    rc = jsonx_copy_id(o, "last_run", t->last_run_id, sizeof(t->last_run_id),
                       where, err);
  }
  t->last_run_known = json_object_object_get_ex(o, "last_run", NULL) ||
                      json_object_object_get_ex(o, "last_run_created_at", NULL);
  if (t->last_run_at <= 0)
    t->last_run_at = jsonx_num(o, "last_run_created_at", 0);
  if (!(t->last_run_at > 0))
    t->last_run_at = 0; /* none: negative, -0 (as the scanner reads it) */
  return rc;
}

static int parse_test(json_object *o, const char *where, void *dst,
                      struct err *err) {
  struct rs_test *t = dst;
  memset(t, 0, sizeof(*t));
  int rc = need_object(o, where, err);
  if (rc != 0)
    return rc;
  rc = jsonx_copy_id(o, "id", t->id, sizeof(t->id), where, err);
  if (rc == 0)
    rc = need_id(t->id, where, "id", err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "default_environment_id", t->default_environment_id,
                       sizeof(t->default_environment_id), where, err);
  if (rc == 0)
    rc = parse_last_run(o, where, t, err);
  rs_copy_name(o, "name", t->name, sizeof(t->name));
  return rc;
}

static const struct rs_item_kind test_kind = {
    sizeof(struct rs_test), parse_test, "data", "items", 0, NULL};

int rs_tests_data(json_object *data, void *items, struct err *err) {
  return rs_parse_items(data, &test_kind, items, err);
}

int rs_tree_tests(const char *body, size_t len, int max_depth,
                  struct rs_test **ret, size_t *ret_n, struct err *err) {
  void *v;
  int rc = rs_parse_list(body, len, max_depth, rs_tests_data, &v, ret_n, err);
  *ret = v;
  return rc;
}

int rs_parse_tests(const char *body, size_t len, int max_depth,
                   struct rs_test **ret, size_t *ret_n, struct err *err) {
  int rc = rs_scan_tests(body, len, max_depth, 0, ret, ret_n);
  if (rc == -ENOMEM)
    err_set(err, "out of memory for the tests list");
  if (rc != -EPROTO)
    return rc;
  return rs_tree_tests(body, len, max_depth, ret, ret_n, err);
}

/* ---- test detail ---- */

/* Reads a number of seconds with an optional fraction, no sign or exponent
 * (locale-independent). Returns the characters read, 0 for none. */
static size_t read_decimal(const char *s, double *ret) {
  size_t i = 0, digits = 0;
  double v = 0, scale = 1;
  for (; s[i] >= '0' && s[i] <= '9'; i++, digits++)
    v = v * 10 + (s[i] - '0');
  if (s[i] == '.') {
    for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
      scale /= 10;
      v += (s[i] - '0') * scale;
    }
  }
  *ret = v;
  return digits ? i : 0;
}

double rs_parse_interval(const char *s) {
  static const struct {
    const char *unit;
    double seconds;
  } units[] = {
      {"s", 1},     {"sec", 1},     {"second", 1},   {"seconds", 1},
      {"m", 60},    {"min", 60},    {"minute", 60},  {"minutes", 60},
      {"h", 3600},  {"hr", 3600},   {"hour", 3600},  {"hours", 3600},
      {"d", 86400}, {"day", 86400}, {"days", 86400},
  };
  double v;
  if (s == NULL)
    return 0;
  while (*s == ' ')
    s++;
  size_t n = read_decimal(s, &v);
  if (n == 0 || v <= 0)
    return 0;
  s += n;
  while (*s == ' ')
    s++;
  size_t ulen = strcspn(s, " ");
  if (s[ulen + strspn(s + ulen, " ")] != '\0')
    return 0;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].unit) == ulen &&
        strncasecmp(s, units[i].unit, ulen) == 0)
      return v * units[i].seconds;
  return 0;
}

static void environment_fini(void *item) {
  struct rs_environment *env = item;
  free(env->id);
  free(env->name);
  env->id = env->name = NULL;
}

void rs_test_detail_fini(struct rs_test_detail *d) {
  if (d == NULL)
    return;
  free(d->id);
  free(d->name);
  free(d->trigger_url);
  free(d->default_environment_id);
  for (size_t i = 0; d->environments != NULL && i < d->n_environments; i++)
    environment_fini(&d->environments[i]);
  free(d->environments);
  free(d->schedules);
  memset(d, 0, sizeof(*d));
}

/* Reads an item of environments[] into dst (struct rs_environment): 0, 1
 * to skip one without an id, or -EPROTO. */
static int parse_environment(json_object *o, const char *where, void *dst,
                             struct err *err) {
  struct rs_environment *env = dst;
  char id[RS_ID_MAX], name[RS_NAME_MAX];
  memset(env, 0, sizeof(*env));
  int rc = jsonx_copy_id(o, "id", id, sizeof(id), where, err);
  if (rc != 0 || id[0] == '\0')
    return rc != 0 ? rc : 1;
  rs_copy_name(o, "name", name, sizeof(name));
  env->id = strdup(id);
  env->name = strdup(name);
  if (env->id != NULL && env->name != NULL)
    return 0;
  environment_fini(env);
  err_set(err, "%s: out of memory", where);
  return -ENOMEM;
}

/* Reads an item of schedules[] into dst (struct rs_schedule): 0, 1 to skip
 * one that is not an object, or -EPROTO. */
static int parse_schedule(json_object *o, const char *where, void *dst,
                          struct err *err) {
  struct rs_schedule *sch = dst;
  memset(sch, 0, sizeof(*sch));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = jsonx_copy_id(o, rs_pick(o, "environment_id", "environment_uuid"),
                         sch->environment_id, sizeof(sch->environment_id),
                         where, err);
  const char *iv = jsonx_str(o, "interval");
  sch->interval = iv ? rs_parse_interval(iv) : 0;
  return rc;
}

static const struct rs_item_kind environment_kind = {
    sizeof(struct rs_environment),
    parse_environment,
    "data.environments",
    "environments",
    0,
    environment_fini};
static const struct rs_item_kind schedule_kind = {sizeof(struct rs_schedule),
                                                  parse_schedule,
                                                  "data.schedules",
                                                  "schedules",
                                                  0,
                                                  NULL};

/* Reads environments[] and schedules[] (absent or null: none). */
static int parse_lists(json_object *data, struct rs_test_detail *d,
                       struct err *err) {
  struct rs_items items;
  int rc = rs_parse_items(jsonx_arr(data, "environments"), &environment_kind,
                          &items, err);
  d->environments = items.v;
  d->n_environments = items.n;
  if (rc != 0)
    return rc;
  rc =
      rs_parse_items(jsonx_arr(data, "schedules"), &schedule_kind, &items, err);
  d->schedules = items.v;
  d->n_schedules = items.n;
  return rc;
}

/* trigger_url, held on the heap: most of a detail's size otherwise, for
 * every test of the catalog. Same checks as an id, up to RS_URL_MAX - 1
 * bytes. */
static int copy_trigger_url(json_object *data, struct rs_test_detail *d,
                            struct err *err) {
  char url[RS_URL_MAX];
  int rc = jsonx_copy_id(data, "trigger_url", url, sizeof(url), "data", err);
  if (rc != 0 || url[0] == '\0')
    return rc;
  d->trigger_url = strdup(url);
  return d->trigger_url == NULL ? -ENOMEM : 0;
}

/* The id key of data as the heap string *dst (NULL when "", unless
 * keep_empty): 0, -EPROTO or -ENOMEM. */
static int dup_id(json_object *data, const char *key, char **dst,
                  bool keep_empty, struct err *err) {
  char id[RS_ID_MAX];
  int rc = jsonx_copy_id(data, key, id, sizeof(id), "data", err);
  if (rc != 0)
    return rc;
  if (!keep_empty)
    return str_set(dst, id, 0);
  *dst = strdup(id);
  return *dst != NULL ? 0 : -ENOMEM;
}

static int parse_test_detail(json_object *data, struct rs_test_detail *d,
                             struct err *err) {
  char name[RS_NAME_MAX];
  int rc = dup_id(data, "id", &d->id, true, err);
  if (rc == 0 && d->id[0] == '\0') {
    err_set(err, "data has no \"id\"");
    rc = -EPROTO;
  }
  if (rc == 0)
    rc = copy_trigger_url(data, d, err);
  if (rc == 0)
    rc = dup_id(data, "default_environment_id", &d->default_environment_id,
                false, err);
  if (rc == 0)
    rc = parse_lists(data, d, err);
  rs_copy_name(data, "name", name, sizeof(name));
  if (rc == 0 && (d->name = strdup(name)) == NULL)
    rc = -ENOMEM;
  if (rc == -ENOMEM)
    err_set(err, "out of memory");
  return rc;
}

int rs_test_detail_data(json_object *data, void *detail, struct err *err) {
  int rc = parse_test_detail(data, detail, err);
  if (rc != 0)
    rs_test_detail_fini(detail);
  return rc;
}

int rs_parse_test_detail(const char *body, size_t len, int max_depth,
                         struct rs_test_detail *ret, struct err *err) {
  memset(ret, 0, sizeof(*ret));
  return rs_parse_body(body, len, max_depth, json_type_object,
                       rs_test_detail_data, ret, err);
}
