/* Runscope REST API client: buckets, tests, test details, run results and
 * trigger URLs.
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
 *  - The tests list's largest count is undocumented; clients use 50 to 1000,
 *    so pages of 50 are asked for and a page shorter than 50 ends the list.
 *  - Bucket and test ids that are absent or too long fail the whole list: a
 *    partial list would make the missing ones look deleted. A results item
 *    without a test_run_id or a numeric started_at is skipped instead (the
 *    rest of the page stays usable; a run may be read again later). */
#include "clients/runscope.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/jscan.h"
#include "util/jsonx.h"
#include "util/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RS_PAGE 50              /* count asked for on every list page */
#define RS_TESTS_MAX_PAGES 100  /* 5000 tests: a bound against loops */
#define RS_RESULTS_MAX_PAGES 21 /* enough for RS_RESULTS_MAX with overlap */
#define RS_BODY_MAX (64u << 20) /* outer bound; the http client's cap wins */
#define RS_PATH_MAX 2048        /* a request path with its query */
#define RS_SNIPPET_MAX 160      /* bytes of a non-JSON error body quoted */
#define RS_WHERE_MAX 64         /* "data[12].team" */

struct rs_client {
  struct http_client *http; /* borrowed */
  char *base_url;           /* no trailing slash */
  char *token;
  int max_depth;
  double retry_after;
};

/* ---- small helpers ---- */

/* Copies a display string member, cut to fit; "" when absent or no string. */
static void copy_name(json_object *o, const char *key, char *dst, size_t size) {
  if (jsonx_copy_str(o, key, dst, size) == -ENAMETOOLONG)
    str_utf8_trim(dst);
}

/* Copies an id member into dst. Absent, null or not a string gives "" and 0
 * (the caller decides whether it was required); too long is -EPROTO with err
 * naming the field. */
static int copy_id(json_object *o, const char *key, char *dst, size_t size,
                   const char *where, struct err *err) {
  if (jsonx_copy_str(o, key, dst, size) != -ENAMETOOLONG)
    return 0;
  dst[0] = '\0';
  err_set(err, "%s.%s is longer than %zu bytes", where, key, size - 1);
  return -EPROTO;
}

/* The first of two member names whose value is a non-empty string, else a
 * (so that a lookup of the result finds nothing useful either way). */
static const char *pick(json_object *o, const char *a, const char *b) {
  const char *s = jsonx_str(o, a);
  if (s != NULL && s[0] != '\0')
    return a;
  s = jsonx_str(o, b);
  return s != NULL && s[0] != '\0' ? b : a;
}

/* Returns arr (n elements of size elem, room for *cap) with room for one
 * more, or NULL when memory runs out (arr is then unchanged). */
/* Appends to the array at arrp (T **; *n used, *cap allocated, size bytes
 * each) the elements of page[0..page_n) whose id, the string at id_off in
 * each, it does not hold yet: a list that shifts while it is paged repeats
 * items. Returns the number added, or -ENOMEM. */
static long merge_by_id(void *arrp, size_t *n, size_t *cap, const void *page,
                        size_t page_n, size_t size, size_t id_off) {
  long added = 0;
  for (size_t i = 0; i < page_n; i++) {
    const char *item = (const char *)page + i * size;
    char *all;
    memcpy(&all, arrp, sizeof(all));
    bool seen = false;
    for (size_t j = 0; j < *n && !seen; j++)
      seen = strcmp(all + j * size + id_off, item + id_off) == 0;
    if (seen)
      continue;
    if (array_reserve(arrp, cap, *n, size, 16) != 0)
      return -ENOMEM;
    memcpy(&all, arrp, sizeof(all));
    memcpy(all + *n * size, item, size);
    (*n)++;
    added++;
  }
  return added;
}

/* Maps an HTTP status (or an error.status) to the errno of the reads. A
 * read is built by the client itself, so a refusal that is not about
 * credentials, a missing object or the load is an answer that breaks the
 * API's contract: -EPROTO, not -EINVAL. */
static int status_errno(long status) {
  int rc = http_status_errno(status);
  return rc == -EINVAL ? -EPROTO : rc;
}

/* ---- the envelope ---- */

/* The message of an envelope's error (object with "message", or a string),
 * or NULL. *ret_status gets error.status (0 when absent). */
static const char *error_message(json_object *root, long *ret_status) {
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
  const char *msg = error_message(root, &status);
  bool has_msg = msg != NULL && msg[0] != '\0';
  if (!has_msg && status < 400)
    return 0;
  err_set(err, "the answer carries an error (status %ld): %s", status,
          has_msg ? msg : "no message");
  return status >= 400 ? status_errno(status) : -EPROTO;
}

/* Parses body as the envelope and finds its "data" of type want (borrowed
 * from *ret_root, which the caller puts). Returns 0 or a negative errno. */
static int envelope(const char *body, size_t len, int max_depth, json_type want,
                    json_object **ret_root, json_object **ret_data,
                    struct err *err) {
  json_object *root = NULL, *data = NULL;
  int rc = jsonx_parse(body, len, max_depth, &root, err);
  if (rc != 0)
    return rc;
  rc = -EPROTO;
  if (!json_object_is_type(root, json_type_object)) {
    err_set(err, "the answer is a JSON %s, not an object",
            json_type_to_name(json_object_get_type(root)));
    goto fail;
  }
  rc = envelope_error(root, err);
  if (rc != 0)
    goto fail;
  rc = -EPROTO;
  if (!json_object_object_get_ex(root, "data", &data) || data == NULL) {
    err_set(err, "the answer has no \"data\"");
    goto fail;
  }
  if (!json_object_is_type(data, want)) {
    err_set(err, "\"data\" is a JSON %s, not %s",
            json_type_to_name(json_object_get_type(data)),
            json_type_to_name(want));
    goto fail;
  }
  *ret_root = root;
  *ret_data = data;
  return 0;
fail:
  json_object_put(root);
  return rc;
}

/* ---- buckets ---- */

static int parse_bucket(json_object *o, const char *where, struct rs_bucket *b,
                        struct err *err) {
  char w[RS_WHERE_MAX];
  memset(b, 0, sizeof(*b));
  if (!json_object_is_type(o, json_type_object)) {
    err_set(err, "%s is not an object", where);
    return -EPROTO;
  }
  int rc = copy_id(o, "key", b->key, sizeof(b->key), where, err);
  if (rc != 0)
    return rc;
  if (b->key[0] == '\0') {
    err_set(err, "%s has no \"key\"", where);
    return -EPROTO;
  }
  copy_name(o, "name", b->name, sizeof(b->name));
  json_object *team = jsonx_obj(o, "team");
  snprintf(w, sizeof(w), "%s.team", where);
  rc = copy_id(team, pick(team, "id", "uuid"), b->team_id, sizeof(b->team_id),
               w, err);
  copy_name(team, "name", b->team_name, sizeof(b->team_name));
  return rc;
}

/* Parses one item of a list into dst. Returns 0 or a negative errno. */
typedef int (*item_fn)(json_object *o, const char *where, void *dst,
                       struct err *err);

/* Returns a new array (caller frees; never NULL on success) of parse_one
 * over each item of arr, with *ret_n items, or NULL with *ret_rc set. */
static void *parse_array(json_object *arr, size_t elem, item_fn parse_one,
                         size_t *ret_n, int *ret_rc, struct err *err) {
  size_t n = json_object_array_length(arr);
  char *items = calloc(n ? n : 1, elem);
  char where[RS_WHERE_MAX];
  *ret_n = 0;
  *ret_rc = -ENOMEM;
  if (items == NULL) {
    err_set(err, "out of memory for %zu items", n);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(where, sizeof(where), "data[%zu]", i);
    *ret_rc = parse_one(json_object_array_get_idx(arr, i), where,
                        items + i * elem, err);
    if (*ret_rc != 0) {
      free(items);
      return NULL;
    }
  }
  *ret_rc = 0;
  *ret_n = n;
  return items;
}

static int bucket_item(json_object *o, const char *where, void *dst,
                       struct err *err) {
  return parse_bucket(o, where, dst, err);
}

int rs_parse_buckets(const char *body, size_t len, int max_depth,
                     struct rs_bucket **ret, size_t *ret_n, struct err *err) {
  json_object *root, *data;
  *ret = NULL;
  *ret_n = 0;
  int rc = envelope(body, len, max_depth, json_type_array, &root, &data, err);
  if (rc != 0)
    return rc;
  *ret = parse_array(data, sizeof(**ret), bucket_item, ret_n, &rc, err);
  json_object_put(root);
  return rc;
}

int rs_parse_bucket(const char *body, size_t len, int max_depth,
                    struct rs_bucket *ret, struct err *err) {
  json_object *root, *data;
  memset(ret, 0, sizeof(*ret));
  int rc = envelope(body, len, max_depth, json_type_object, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_bucket(data, "data", ret, err);
  json_object_put(root);
  return rc;
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
    rc = copy_id(lr, pick(lr, "id", "uuid"), t->last_run_id,
                 sizeof(t->last_run_id), w, err);
    t->last_run_at = run_time(lr);
  } else {
    rc = copy_id(o, "last_run", t->last_run_id, sizeof(t->last_run_id), where,
                 err);
  }
  t->last_run_known = json_object_object_get_ex(o, "last_run", NULL) ||
                      json_object_object_get_ex(o, "last_run_created_at", NULL);
  if (t->last_run_at <= 0)
    t->last_run_at = jsonx_num(o, "last_run_created_at", 0);
  if (t->last_run_at < 0)
    t->last_run_at = 0;
  return rc;
}

static int test_item(json_object *o, const char *where, void *dst,
                     struct err *err) {
  struct rs_test *t = dst;
  memset(t, 0, sizeof(*t));
  if (!json_object_is_type(o, json_type_object)) {
    err_set(err, "%s is not an object", where);
    return -EPROTO;
  }
  int rc = copy_id(o, "id", t->id, sizeof(t->id), where, err);
  if (rc == 0 && t->id[0] == '\0') {
    err_set(err, "%s has no \"id\"", where);
    rc = -EPROTO;
  }
  if (rc == 0)
    rc = copy_id(o, "default_environment_id", t->default_environment_id,
                 sizeof(t->default_environment_id), where, err);
  if (rc == 0)
    rc = parse_last_run(o, where, t, err);
  copy_name(o, "name", t->name, sizeof(t->name));
  return rc;
}

int rs_parse_tests_tree(const char *body, size_t len, int max_depth,
                        struct rs_test **ret, size_t *ret_n, struct err *err) {
  json_object *root, *data;
  *ret = NULL;
  *ret_n = 0;
  int rc = envelope(body, len, max_depth, json_type_array, &root, &data, err);
  if (rc != 0)
    return rc;
  *ret = parse_array(data, sizeof(**ret), test_item, ret_n, &rc, err);
  json_object_put(root);
  return rc;
}

/* ---- the tests list without a tree ----
 *
 * The tests list is read every cycle, and json-c's tree of its items (each
 * with its last_run object) costs more than the rest of an idle cycle.
 * These read the same fields with jscan, and give up (-EPROTO) on anything
 * out of the ordinary: an error in the envelope, a missing or unexpected
 * value, a field too long, a string or number jscan does not convert as
 * json-c does. The tree then reads the answer, so that both always agree:
 * the fast path only ever returns what the tree would. */

#define FAST_KEY_MAX 64

/* A string value into dst (size bytes): 0, or -EPROTO when it is not a
 * string or does not fit. */
static int fast_id(struct jscan *s, char *dst, size_t size) {
  if (jscan_peek(s) != JSCAN_STRING)
    return -EPROTO;
  return jscan_string(s, dst, size) == 0 ? 0 : -EPROTO;
}

/* A time: a number (finite) or null (0). */
static int fast_time(struct jscan *s, double *ret) {
  *ret = 0;
  if (jscan_peek(s) == JSCAN_NULL)
    return jscan_skip(s);
  if (jscan_peek(s) != JSCAN_NUMBER)
    return -EPROTO;
  return jscan_number(s, ret);
}

/* An id or null (""). */
static int fast_id_or_null(struct jscan *s, char *dst, size_t size) {
  dst[0] = '\0';
  return jscan_peek(s) == JSCAN_NULL ? jscan_skip(s) : fast_id(s, dst, size);
}

/* last_run as an object: its id (id, else uuid) and its first positive
 * time among created_at, started_at and finished_at (as parse_last_run). */
static int fast_last_run(struct jscan *s, struct rs_test *t) {
  static const char *const times[] = {"created_at", "started_at",
                                      "finished_at"};
  char key[FAST_KEY_MAX], id[RS_ID_MAX] = "", uuid[RS_ID_MAX] = "";
  double at[3] = {0, 0, 0};
  int rc = jscan_enter(s, '{') ? 0 : -EPROTO;
  while (rc == 0 && jscan_member(s, key, sizeof(key))) {
    size_t k = 0;
    while (k < 3 && strcmp(key, times[k]) != 0)
      k++;
    if (strcmp(key, "id") == 0)
      rc = fast_id_or_null(s, id, sizeof(id));
    else if (strcmp(key, "uuid") == 0)
      rc = fast_id_or_null(s, uuid, sizeof(uuid));
    else if (k < 3)
      rc = fast_time(s, &at[k]);
    else
      rc = jscan_skip(s);
  }
  if (rc != 0 || s->failed)
    return -EPROTO;
  str_copy(t->last_run_id, sizeof(t->last_run_id), id[0] ? id : uuid);
  t->last_run_at = 0;
  for (size_t k = 0; k < 3 && t->last_run_at <= 0; k++)
    t->last_run_at = at[k] > 0 ? at[k] : 0;
  return 0;
}

/* The last_run member: an object, an id, or null. */
static int fast_last_run_member(struct jscan *s, struct rs_test *t) {
  t->last_run_id[0] = '\0';
  t->last_run_at = 0;
  switch (jscan_peek(s)) {
  case JSCAN_OBJECT:
    return fast_last_run(s, t);
  case JSCAN_STRING:
    return fast_id(s, t->last_run_id, sizeof(t->last_run_id));
  case JSCAN_NULL:
    return jscan_skip(s);
  default:
    return -EPROTO;
  }
}

/* A display name: cut to fit at a character; not a string gives "". */
static int fast_name(struct jscan *s, char *dst, size_t size) {
  dst[0] = '\0';
  if (jscan_peek(s) != JSCAN_STRING)
    return jscan_skip(s);
  int rc = jscan_string(s, dst, size);
  if (rc == -ENAMETOOLONG)
    str_utf8_trim(dst);
  return rc == -EPROTO ? rc : 0;
}

/* One item of data[] (as test_item). */
static int fast_test(struct jscan *s, struct rs_test *t) {
  char key[FAST_KEY_MAX];
  double created = 0;
  memset(t, 0, sizeof(*t));
  int rc = jscan_peek(s) == JSCAN_OBJECT && jscan_enter(s, '{') ? 0 : -EPROTO;
  while (rc == 0 && jscan_member(s, key, sizeof(key))) {
    if (strcmp(key, "id") == 0) {
      rc = fast_id(s, t->id, sizeof(t->id));
    } else if (strcmp(key, "name") == 0) {
      rc = fast_name(s, t->name, sizeof(t->name));
    } else if (strcmp(key, "default_environment_id") == 0) {
      rc = jscan_peek(s) == JSCAN_STRING
               ? fast_id(s, t->default_environment_id,
                         sizeof(t->default_environment_id))
               : jscan_skip(s);
    } else if (strcmp(key, "last_run") == 0) {
      t->last_run_known = true;
      rc = fast_last_run_member(s, t);
    } else if (strcmp(key, "last_run_created_at") == 0) {
      t->last_run_known = true;
      rc = fast_time(s, &created);
    } else {
      rc = jscan_skip(s);
    }
  }
  if (rc != 0 || s->failed || t->id[0] == '\0')
    return -EPROTO;
  if (t->last_run_at <= 0)
    t->last_run_at = created > 0 ? created : 0;
  return 0;
}

/* data[]: the items into a new array (*ret: caller frees). */
static int fast_tests_data(struct jscan *s, struct rs_test **ret,
                           size_t *ret_n) {
  size_t n = 0, cap = 0;
  struct rs_test *v = NULL;
  int rc = jscan_peek(s) == JSCAN_ARRAY && jscan_enter(s, '[') ? 0 : -EPROTO;
  while (rc == 0 && jscan_item(s)) {
    if (array_reserve(&v, &cap, n, sizeof(*v), 16) != 0) {
      rc = -ENOMEM;
      break;
    }
    rc = fast_test(s, &v[n]);
    n += rc == 0;
  }
  if (rc == 0 && s->failed)
    rc = -EPROTO;
  if (rc != 0) {
    free(v);
    return rc == -ENOMEM ? rc : -EPROTO;
  }
  *ret = v ? v : calloc(1, sizeof(*v));
  *ret_n = n;
  return *ret ? 0 : -ENOMEM;
}

/* A tests list page: 0 with *ret (caller frees), or -EPROTO when the tree
 * must read it (-ENOMEM: memory ran out). */
static int fast_tests(const char *body, size_t len, int max_depth,
                      struct rs_test **ret, size_t *ret_n) {
  struct jscan s;
  char key[FAST_KEY_MAX];
  bool data = false;
  int rc = 0;
  *ret = NULL;
  *ret_n = 0;
  /* one level less than json-c is given: never read what it would not */
  jscan_init(&s, body, len, max_depth - 1);
  if (!jscan_enter(&s, '{'))
    return -EPROTO;
  while (rc == 0 && jscan_member(&s, key, sizeof(key))) {
    if (strcmp(key, "data") == 0 && !data) {
      data = true;
      rc = fast_tests_data(&s, ret, ret_n);
    } else if (strcmp(key, "data") == 0 || strcmp(key, "error") == 0) {
      /* a second data (the tree keeps the last), or an error: the tree */
      rc = strcmp(key, "error") == 0 && jscan_peek(&s) == JSCAN_NULL
               ? jscan_skip(&s)
               : -EPROTO;
    } else {
      rc = jscan_skip(&s);
    }
  }
  if (rc == 0 && (!data || jscan_end(&s) != 0))
    rc = -EPROTO;
  if (rc != 0) {
    free(*ret);
    *ret = NULL;
    *ret_n = 0;
  }
  return rc;
}

int rs_parse_tests(const char *body, size_t len, int max_depth,
                   struct rs_test **ret, size_t *ret_n, struct err *err) {
  int rc = fast_tests(body, len, max_depth, ret, ret_n);
  if (rc == -ENOMEM)
    err_set(err, "out of memory for the tests list");
  if (rc != -EPROTO)
    return rc;
  return rs_parse_tests_tree(body, len, max_depth, ret, ret_n, err);
}

/* ---- test detail ---- */

void rs_test_detail_fini(struct rs_test_detail *d) {
  if (d == NULL)
    return;
  free(d->trigger_url);
  free(d->environments);
  free(d->schedules);
  memset(d, 0, sizeof(*d));
}

/* Reads environments[]: items without an id are skipped. */
static int parse_environments(json_object *data, struct rs_test_detail *d,
                              struct err *err) {
  json_object *arr = jsonx_arr(data, "environments");
  size_t n = arr ? json_object_array_length(arr) : 0;
  char w[RS_WHERE_MAX];
  d->environments = calloc(n ? n : 1, sizeof(*d->environments));
  if (d->environments == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    struct rs_environment *env = &d->environments[d->n_environments];
    snprintf(w, sizeof(w), "data.environments[%zu]", i);
    int rc = copy_id(e, "id", env->id, sizeof(env->id), w, err);
    if (rc != 0)
      return rc;
    if (env->id[0] == '\0')
      continue;
    copy_name(e, "name", env->name, sizeof(env->name));
    d->n_environments++;
  }
  return 0;
}

/* Reads schedules[]: items that are not objects are skipped. */
static int parse_schedules(json_object *data, struct rs_test_detail *d,
                           struct err *err) {
  json_object *arr = jsonx_arr(data, "schedules");
  size_t n = arr ? json_object_array_length(arr) : 0;
  char w[RS_WHERE_MAX];
  d->schedules = calloc(n ? n : 1, sizeof(*d->schedules));
  if (d->schedules == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(arr, i);
    struct rs_schedule *sch = &d->schedules[d->n_schedules];
    if (!json_object_is_type(s, json_type_object))
      continue;
    snprintf(w, sizeof(w), "data.schedules[%zu]", i);
    int rc = copy_id(s, pick(s, "environment_id", "environment_uuid"),
                     sch->environment_id, sizeof(sch->environment_id), w, err);
    if (rc != 0)
      return rc;
    const char *iv = jsonx_str(s, "interval");
    sch->interval = iv ? rs_parse_interval(iv) : 0;
    d->n_schedules++;
  }
  return 0;
}

/* trigger_url, held on the heap: most of a detail's size otherwise, for
 * every test of the catalog. Same checks as an id, up to RS_URL_MAX - 1
 * bytes. */
static int copy_trigger_url(json_object *data, struct rs_test_detail *d,
                            struct err *err) {
  char url[RS_URL_MAX];
  int rc = copy_id(data, "trigger_url", url, sizeof(url), "data", err);
  if (rc != 0 || url[0] == '\0')
    return rc;
  d->trigger_url = strdup(url);
  return d->trigger_url == NULL ? -ENOMEM : 0;
}

static int parse_test_detail(json_object *data, struct rs_test_detail *d,
                             struct err *err) {
  int rc = copy_id(data, "id", d->id, sizeof(d->id), "data", err);
  if (rc == 0 && d->id[0] == '\0') {
    err_set(err, "data has no \"id\"");
    rc = -EPROTO;
  }
  if (rc == 0)
    rc = copy_trigger_url(data, d, err);
  if (rc == 0)
    rc = copy_id(data, "default_environment_id", d->default_environment_id,
                 sizeof(d->default_environment_id), "data", err);
  if (rc == 0)
    rc = parse_environments(data, d, err);
  if (rc == 0)
    rc = parse_schedules(data, d, err);
  if (rc == -ENOMEM)
    err_set(err, "out of memory");
  copy_name(data, "name", d->name, sizeof(d->name));
  return rc;
}

int rs_parse_test_detail(const char *body, size_t len, int max_depth,
                         struct rs_test_detail *ret, struct err *err) {
  json_object *root, *data;
  memset(ret, 0, sizeof(*ret));
  int rc = envelope(body, len, max_depth, json_type_object, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_test_detail(data, ret, err);
  if (rc != 0)
    rs_test_detail_fini(ret);
  json_object_put(root);
  return rc;
}

/* ---- runs ---- */

enum rs_result rs_result_parse(const char *s) {
  if (s == NULL)
    return RS_RESULT_UNFINISHED;
  if (strcasecmp(s, "pass") == 0)
    return RS_RESULT_PASS;
  if (strcasecmp(s, "fail") == 0)
    return RS_RESULT_FAIL;
  if (strcasecmp(s, "cancelled") == 0 || strcasecmp(s, "canceled") == 0)
    return RS_RESULT_CANCELLED;
  return RS_RESULT_UNFINISHED;
}

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

/* Reads a run's ids (with the naming drift of docs section 7.4). */
static int run_ids(json_object *o, const char *where, struct rs_run *r,
                   struct err *err) {
  int rc = copy_id(o, pick(o, "test_run_id", "test_run_uuid"), r->test_run_id,
                   sizeof(r->test_run_id), where, err);
  if (rc == 0)
    rc = copy_id(o, pick(o, "test_id", "test_uuid"), r->test_id,
                 sizeof(r->test_id), where, err);
  if (rc == 0)
    rc = copy_id(o, "bucket_key", r->bucket_key, sizeof(r->bucket_key), where,
                 err);
  if (rc == 0)
    rc = copy_id(o, pick(o, "environment_id", "environment_uuid"),
                 r->environment_id, sizeof(r->environment_id), where, err);
  if (rc == 0)
    rc = copy_id(o, "test_run_url", r->test_run_url, sizeof(r->test_run_url),
                 where, err);
  return rc;
}

/* agent is a name, or (not seen, but cheap to accept) an object. */
static void copy_agent(json_object *o, char *dst, size_t size) {
  json_object *a = jsonx_obj(o, "agent");
  if (a == NULL)
    copy_name(o, "agent", dst, size);
  else
    copy_name(a, pick(a, "name", pick(a, "id", "uuid")), dst, size);
}

static void run_agent(json_object *o, struct rs_run *r) {
  copy_agent(o, r->agent, sizeof(r->agent));
}

static void run_counts(json_object *o, struct rs_run *r) {
  r->assertions_defined = (long)jsonx_int(o, "assertions_defined", 0);
  r->assertions_passed = (long)jsonx_int(o, "assertions_passed", 0);
  r->assertions_failed = (long)jsonx_int(o, "assertions_failed", 0);
  r->scripts_defined = (long)jsonx_int(o, "scripts_defined", 0);
  r->scripts_passed = (long)jsonx_int(o, "scripts_passed", 0);
  r->scripts_failed = (long)jsonx_int(o, "scripts_failed", 0);
  r->variables_defined = (long)jsonx_int(o, "variables_defined", 0);
  r->variables_passed = (long)jsonx_int(o, "variables_passed", 0);
  r->variables_failed = (long)jsonx_int(o, "variables_failed", 0);
  r->requests_executed = (long)jsonx_int(o, "requests_executed", 0);
}

/* Parses one results item. Returns 0, 1 when the item is to be skipped (no
 * test_run_id, no numeric started_at, not an object), or -EPROTO. */
static int parse_run(json_object *o, const char *where, struct rs_run *r,
                     struct err *err) {
  memset(r, 0, sizeof(*r));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = run_ids(o, where, r, err);
  if (rc != 0)
    return rc;
  r->started_at = jsonx_num(o, "started_at", -1);
  if (r->test_run_id[0] == '\0' || r->started_at <= 0)
    return 1;
  r->finished_at = jsonx_num(o, "finished_at", 0);
  if (r->finished_at < 0)
    r->finished_at = 0;
  r->result = rs_result_parse(jsonx_str(o, "result"));
  copy_name(o, "environment_name", r->environment_name,
            sizeof(r->environment_name));
  copy_name(o, "region", r->region, sizeof(r->region));
  run_agent(o, r);
  run_counts(o, r);
  return 0;
}

/* Parses the runs of a results page into a new array (caller frees);
 * *ret_raw gets the page's item count, skipped items included. */
static int parse_runs(json_object *data, struct rs_run **ret, size_t *ret_n,
                      size_t *ret_raw, struct err *err) {
  size_t raw = json_object_array_length(data), n = 0;
  struct rs_run *runs = calloc(raw ? raw : 1, sizeof(*runs));
  char where[RS_WHERE_MAX];
  if (runs == NULL) {
    err_set(err, "out of memory for %zu runs", raw);
    return -ENOMEM;
  }
  for (size_t i = 0; i < raw; i++) {
    snprintf(where, sizeof(where), "data[%zu]", i);
    int rc =
        parse_run(json_object_array_get_idx(data, i), where, &runs[n], err);
    if (rc < 0) {
      free(runs);
      return rc;
    }
    if (rc == 0)
      n++;
  }
  *ret = runs;
  *ret_n = n;
  *ret_raw = raw;
  return 0;
}

int rs_parse_runs(const char *body, size_t len, int max_depth,
                  struct rs_run **ret, size_t *ret_n, struct err *err) {
  json_object *root, *data;
  size_t raw;
  *ret = NULL;
  *ret_n = 0;
  int rc = envelope(body, len, max_depth, json_type_array, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_runs(data, ret, ret_n, &raw, err);
  json_object_put(root);
  return rc;
}

/* ---- run detail ---- */

/* Empties d without freeing anything (it may hold garbage). */
static void detail_reset(struct rs_run_detail *d) {
  memset(d, 0, sizeof(*d));
  d->agent_expired = -1;
}

void rs_run_detail_fini(struct rs_run_detail *d) {
  if (d == NULL)
    return;
  free(d->steps);
  detail_reset(d);
}

/* Counts the items of o[key] (an array of {"result": ...}) into pass, fail
 * and total, unless o gives them as <what>_passed/_failed/_defined. */
static void step_counts(json_object *o, const char *what, long *pass,
                        long *fail, long *total) {
  char k[32];
  json_object *arr = jsonx_arr(o, what);
  size_t n = arr ? json_object_array_length(arr) : 0;
  long p = 0, f = 0;
  for (size_t i = 0; i < n; i++) {
    enum rs_result r =
        rs_result_parse(jsonx_str(json_object_array_get_idx(arr, i), "result"));
    p += r == RS_RESULT_PASS;
    f += r == RS_RESULT_FAIL;
  }
  snprintf(k, sizeof(k), "%s_passed", what);
  *pass = (long)jsonx_int(o, k, p);
  snprintf(k, sizeof(k), "%s_failed", what);
  *fail = (long)jsonx_int(o, k, f);
  snprintf(k, sizeof(k), "%s_defined", what);
  *total = (long)jsonx_int(o, k, (long long)n);
}

/* A number member that is not in the documented shape: -1 when absent. */
static long optional_count(json_object *o, const char *key) {
  long long v = jsonx_int(o, key, -1);
  return v < 0 || v > 0x7fffffffL ? -1 : (long)v;
}

static void parse_step(json_object *o, struct rs_step *s) {
  memset(s, 0, sizeof(*s));
  copy_name(o, "url", s->url, sizeof(s->url));
  copy_name(o, "method", s->method, sizeof(s->method));
  copy_name(o, "result", s->result, sizeof(s->result));
  copy_name(o, "note", s->note, sizeof(s->note));
  copy_name(o, "step_type", s->step_type, sizeof(s->step_type));
  step_counts(o, "assertions", &s->assertions_pass, &s->assertions_fail,
              &s->assertions_total);
  step_counts(o, "scripts", &s->scripts_pass, &s->scripts_fail,
              &s->scripts_total);
  step_counts(o, "variables", &s->variables_pass, &s->variables_fail,
              &s->variables_total);
  s->response_status_code = optional_count(o, "response_status_code");
  s->response_time_ms = optional_count(o, "response_time_ms");
  s->response_size_bytes = optional_count(o, "response_size_bytes");
}

/* Reads requests[] (absent or null: no steps; items that are not objects
 * are skipped). */
static int parse_steps(json_object *data, struct rs_run_detail *d,
                       struct err *err) {
  json_object *arr = jsonx_arr(data, "requests");
  size_t n = arr ? json_object_array_length(arr) : 0;
  d->steps = calloc(n ? n : 1, sizeof(*d->steps));
  if (d->steps == NULL) {
    err_set(err, "out of memory for %zu steps", n);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (json_object_is_type(o, json_type_object))
      parse_step(o, &d->steps[d->n_steps++]);
  }
  return 0;
}

static int parse_run_detail(json_object *data, struct rs_run_detail *d,
                            struct err *err) {
  int rc = parse_run(data, "data", &d->run, err);
  if (rc == 1) {
    err_set(err, "data is not a run: no test_run_id or started_at");
    rc = -EPROTO;
  }
  if (rc != 0)
    return rc;
  copy_name(data, "test_name", d->test_name, sizeof(d->test_name));
  json_object *ae = NULL;
  if (json_object_object_get_ex(data, "agent_expired", &ae) &&
      json_object_is_type(ae, json_type_boolean))
    d->agent_expired = json_object_get_boolean(ae) ? 1 : 0;
  return parse_steps(data, d, err);
}

int rs_parse_run_detail(const char *body, size_t len, int max_depth,
                        struct rs_run_detail *ret, struct err *err) {
  json_object *root, *data;
  detail_reset(ret);
  int rc = envelope(body, len, max_depth, json_type_object, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_run_detail(data, ret, err);
  if (rc != 0)
    rs_run_detail_fini(ret);
  json_object_put(root);
  return rc;
}

/* ---- the client ---- */

struct rs_client *rs_new(struct http_client *http, const char *base_url,
                         const char *token, int max_json_depth) {
  struct rs_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->http = http;
  c->base_url = strdup(base_url ? base_url : "");
  c->token = strdup(token ? token : "");
  c->max_depth = max_json_depth;
  c->retry_after = -1;
  if (c->base_url == NULL || c->token == NULL) {
    rs_free(c);
    return NULL;
  }
  size_t n = strlen(c->base_url);
  while (n > 0 && c->base_url[n - 1] == '/')
    c->base_url[--n] = '\0';
  return c;
}

void rs_free(struct rs_client *c) {
  if (c == NULL)
    return;
  free(c->base_url);
  free(c->token);
  free(c);
}

double rs_retry_after(const struct rs_client *c) { return c->retry_after; }

/* A request path: the part before the query names the object in messages. */
struct rs_path {
  struct buf b;
  size_t object_len;
};

/* Starts path with "/buckets/{key}[/tests[/{id}]]" + tail, segments
 * percent-encoded. Returns 0, -ENOMEM or -EMSGSIZE. */
static int path_init(struct rs_path *p, const char *bucket, const char *test,
                     const char *tail) {
  int rc = 0;
  buf_init(&p->b, RS_PATH_MAX);
  rc = buf_puts(&p->b, "/buckets");
  if (rc == 0 && bucket != NULL) {
    rc = buf_puts(&p->b, "/");
    if (rc == 0)
      rc = buf_put_urlenc(&p->b, bucket);
  }
  if (rc == 0 && test != NULL) {
    rc = buf_puts(&p->b, "/tests/");
    if (rc == 0)
      rc = buf_put_urlenc(&p->b, test);
  }
  if (rc == 0 && tail != NULL)
    rc = buf_puts(&p->b, tail);
  p->object_len = p->b.len;
  return rc;
}

/* Sets err for an answer with a non-2xx status, naming the call as method
 * and what[0..what_len). */
static void status_error(const struct rs_client *c, const char *method,
                         const char *what, int what_len,
                         const struct http_response *resp, struct err *err) {
  json_object *root = NULL;
  long estatus;
  const char *msg = NULL;
  char text[RS_SNIPPET_MAX];
  if (jsonx_parse(resp->body.data, resp->body.len, c->max_depth, &root, NULL) ==
      0) {
    msg = json_object_is_type(root, json_type_object)
              ? error_message(root, &estatus)
              : NULL;
    if (msg == NULL)
      msg = jsonx_str(root, "message");
    if (msg == NULL && json_object_is_type(root, json_type_string))
      msg = json_object_get_string(root);
  } else if (resp->body.len > 0) {
    str_snippet(resp->body.data, resp->body.len, text, sizeof(text));
    msg = text;
  }
  if (msg != NULL && msg[0] != '\0')
    err_set(err, "Runscope API: %s %.*s: HTTP %ld: %s", method, what_len, what,
            resp->status, msg);
  else
    err_set(err, "Runscope API: %s %.*s: HTTP %ld", method, what_len, what,
            resp->status);
  json_object_put(root);
  err_scrub(err, c->token);
}

/* GETs base_url + path into resp. Returns 0 for a 2xx answer, else the
 * errno of the transport or of the status, with err set. */
static int rs_get(struct rs_client *c, const struct rs_path *p,
                  struct http_response *resp, struct err *err) {
  struct buf url;
  buf_init(&url, RS_PATH_MAX + strlen(c->base_url));
  int rc = buf_puts(&url, c->base_url);
  if (rc == 0)
    rc = buf_append(&url, p->b.data, p->b.len);
  if (rc != 0) {
    err_set(err, "Runscope API: GET %.*s: URL too long", (int)p->object_len,
            p->b.data);
    buf_fini(&url);
    return rc;
  }
  struct http_request req = {.method = "GET", .url = url.data};
  req.bearer = c->token[0] != '\0' ? c->token : NULL;
  rc = http_do(c->http, &req, resp, err);
  buf_fini(&url);
  c->retry_after = rc == 0 ? resp->retry_after : -1;
  if (rc != 0) {
    err_prefix(err, "Runscope API");
    err_scrub(err, c->token);
    return rc;
  }
  if (resp->status >= 200 && resp->status <= 299)
    return 0;
  status_error(c, "GET", p->b.data, (int)p->object_len, resp, err);
  return status_errno(resp->status);
}

/* Prefixes a parse failure of an answer with the call. */
static void parse_failed(const struct rs_client *c, const struct rs_path *p,
                         struct err *err) {
  err_prefix(err, "Runscope API: GET %.*s", (int)p->object_len, p->b.data);
  err_scrub(err, c->token);
}

/* GETs path and finds the envelope's data of type want. The caller puts
 * *ret_root. */
static int get_data(struct rs_client *c, const struct rs_path *p,
                    json_type want, json_object **ret_root,
                    json_object **ret_data, struct err *err) {
  struct http_response resp;
  http_response_init(&resp, RS_BODY_MAX);
  int rc = rs_get(c, p, &resp, err);
  if (rc == 0) {
    rc = envelope(resp.body.data, resp.body.len, c->max_depth, want, ret_root,
                  ret_data, err);
    if (rc != 0)
      parse_failed(c, p, err);
  }
  http_response_fini(&resp);
  return rc;
}

int rs_list_buckets(struct rs_client *c, struct rs_bucket **ret, size_t *ret_n,
                    struct err *err) {
  struct rs_path p;
  json_object *root, *data;
  *ret = NULL;
  *ret_n = 0;
  int rc = path_init(&p, NULL, NULL, NULL);
  if (rc == 0)
    rc = get_data(c, &p, json_type_array, &root, &data, err);
  if (rc == 0) {
    *ret = parse_array(data, sizeof(**ret), bucket_item, ret_n, &rc, err);
    if (rc != 0)
      parse_failed(c, &p, err);
    json_object_put(root);
  }
  buf_fini(&p.b);
  return rc;
}

int rs_get_bucket(struct rs_client *c, const char *bucket_key,
                  struct rs_bucket *ret, struct err *err) {
  struct rs_path p;
  json_object *root, *data;
  memset(ret, 0, sizeof(*ret));
  int rc = path_init(&p, bucket_key, NULL, NULL);
  if (rc == 0)
    rc = get_data(c, &p, json_type_object, &root, &data, err);
  else
    err_set(err, "Runscope API: bucket key too long");
  if (rc == 0) {
    rc = parse_bucket(data, "data", ret, err);
    if (rc != 0)
      parse_failed(c, &p, err);
    json_object_put(root);
  }
  buf_fini(&p.b);
  return rc;
}

int rs_get_run(struct rs_client *c, const char *bucket_key, const char *test_id,
               const char *test_run_id, struct rs_run_detail *ret,
               struct err *err) {
  struct rs_path p;
  json_object *root, *data;
  detail_reset(ret);
  int rc = path_init(&p, bucket_key, test_id, "/results/");
  if (rc == 0)
    rc = buf_put_urlenc(&p.b, test_run_id);
  p.object_len = p.b.len;
  if (rc != 0)
    err_set(err, "Runscope API: bucket key, test id or run id too long");
  if (rc == 0)
    rc = get_data(c, &p, json_type_object, &root, &data, err);
  if (rc == 0) {
    rc = parse_run_detail(data, ret, err);
    if (rc != 0) {
      rs_run_detail_fini(ret);
      parse_failed(c, &p, err);
    }
    json_object_put(root);
  }
  buf_fini(&p.b);
  return rc;
}

/* ---- many reads at once ---- */

struct many;

/* What one kind of read does with its items. */
struct many_ops {
  json_type want; /* the type of an answer's data */
  /* Sets up p (path_init and the query) for item i's next request.
   * Returns 0 or a negative errno (err set). */
  int (*path)(struct many *m, size_t i, struct rs_path *p, struct err *err);
  /* Item i's answer (the envelope's data): 1 when another page is needed,
   * 0 when the item is complete, or a negative errno (err set). */
  int (*page)(struct many *m, size_t i, json_object *data, struct err *err);
  /* Reports item i (rc 0, or its errno) to the caller and releases what it
   * holds. Returns false to stop. */
  bool (*finish)(struct many *m, size_t i, int rc, const struct err *err);
  /* Optional: item i's 2xx answer read without a tree, as page returns,
   * or MANY_TREE to leave it to json-c and page. */
  int (*raw)(struct many *m, size_t i, const char *body, size_t len,
             struct err *err);
};

#define MANY_TREE 2

/* A run of many reads (http_run's batch). */
struct many {
  struct rs_client *c;
  const struct many_ops *ops;
  void *kind;    /* the kind's own state */
  size_t n;      /* items */
  size_t next;   /* the first item not started */
  size_t *again; /* items whose next page is due, first in first out */
  size_t n_again, head, cap_again;
  double deadline;
  bool stop;
};

/* One request in flight. */
struct many_req {
  struct many *m;
  size_t i;
  struct rs_path p;
  struct buf url;
};

static void many_req_free(struct many_req *r) {
  if (r == NULL)
    return;
  buf_fini(&r->p.b);
  buf_fini(&r->url);
  free(r);
}

/* Builds item i's next request into r. Returns 0 or a negative errno. */
static int many_build(struct many *m, size_t i, struct many_req *r,
                      struct err *err) {
  r->m = m;
  r->i = i;
  buf_init(&r->url, RS_PATH_MAX + strlen(m->c->base_url));
  int rc = m->ops->path(m, i, &r->p, err);
  if (rc != 0)
    return rc;
  rc = buf_puts(&r->url, m->c->base_url);
  if (rc == 0)
    rc = buf_append(&r->url, r->p.b.data, r->p.b.len);
  if (rc != 0)
    err_set(err, "Runscope API: GET %.*s: URL too long", (int)r->p.object_len,
            r->p.b.data);
  return rc;
}

/* The item whose request goes next: a next page first, then a new item
 * while the deadline allows. False when there is none. */
static bool many_pick(struct many *m, size_t *ret) {
  if (m->head < m->n_again) {
    *ret = m->again[m->head++];
    if (m->head == m->n_again)
      m->head = m->n_again = 0;
    return true;
  }
  if (m->next >= m->n ||
      (m->deadline > 0 && http_now(m->c->http) >= m->deadline))
    return false;
  *ret = m->next++;
  return true;
}

static bool many_next(void *ctx, struct http_request *req, void **ret_tag) {
  struct many *m = ctx;
  size_t i;
  while (!m->stop && many_pick(m, &i)) {
    struct err err = {{0}};
    struct many_req *r = calloc(1, sizeof(*r));
    int rc = r ? many_build(m, i, r, &err) : -ENOMEM;
    if (rc == 0) {
      req->method = "GET";
      req->url = r->url.data;
      req->bearer = m->c->token[0] != '\0' ? m->c->token : NULL;
      *ret_tag = r;
      return true;
    }
    if (r == NULL)
      err_set(&err, "Runscope API: out of memory");
    many_req_free(r);
    if (!m->ops->finish(m, i, rc, &err))
      m->stop = true;
  }
  return false;
}

/* Queues item i for its next page. Returns 0 or -ENOMEM. */
static int many_again(struct many *m, size_t i) {
  if (array_reserve(&m->again, &m->cap_again, m->n_again, sizeof(*m->again),
                    16) != 0)
    return -ENOMEM;
  m->again[m->n_again++] = i;
  return 0;
}

/* Checks an answer and hands its data to the kind: as rs_get and get_data
 * do for one call. Returns the kind's 1 or 0, or a negative errno. */
static int many_answer(struct many *m, struct many_req *r, int rc,
                       const struct http_response *resp, const struct err *herr,
                       struct err *err) {
  struct rs_client *c = m->c;
  if (rc != 0) {
    *err = *herr;
    err_prefix(err, "Runscope API");
    err_scrub(err, c->token);
    return rc;
  }
  if (resp->retry_after > c->retry_after)
    c->retry_after = resp->retry_after;
  if (resp->status < 200 || resp->status > 299) {
    status_error(c, "GET", r->p.b.data, (int)r->p.object_len, resp, err);
    return status_errno(resp->status);
  }
  if (m->ops->raw != NULL) {
    rc = m->ops->raw(m, r->i, resp->body.data, resp->body.len, err);
    if (rc != MANY_TREE)
      return rc;
  }
  json_object *root, *data;
  rc = envelope(resp->body.data, resp->body.len, c->max_depth, m->ops->want,
                &root, &data, err);
  if (rc == 0) {
    rc = m->ops->page(m, r->i, data, err);
    json_object_put(root);
  }
  if (rc < 0)
    parse_failed(c, &r->p, err);
  return rc;
}

static bool many_done(void *ctx, void *tag, int rc,
                      const struct http_response *resp,
                      const struct err *herr) {
  struct many *m = ctx;
  struct many_req *r = tag;
  struct err err = {{0}};
  size_t i = r->i;
  rc = many_answer(m, r, rc, resp, herr, &err);
  many_req_free(r);
  if (rc == 1 && many_again(m, i) == 0)
    return !m->stop;
  if (rc == 1) {
    err_set(&err, "Runscope API: out of memory");
    rc = -ENOMEM;
  }
  if (!m->ops->finish(m, i, rc, &err))
    m->stop = true;
  return !m->stop;
}

/* Reads n items of a kind. Returns 0 or -ENOMEM. */
static int many_run(struct rs_client *c, const struct many_ops *ops, void *kind,
                    size_t n, double deadline) {
  struct many m = {c, ops, kind, n, 0, NULL, 0, 0, 0, deadline, false};
  struct http_batch b = {many_next, many_done, &m};
  c->retry_after = -1;
  int rc = http_run(c->http, &b);
  free(m.again);
  return rc;
}

/* ---- tests lists ---- */

struct tests_item {
  struct rs_test *all;
  size_t n, cap;
  size_t pages;
};

struct tests_kind {
  const char *const *keys;
  struct tests_item *items;
  rs_tests_fn done;
  void *ctx;
};

static int tests_path(struct many *m, size_t i, struct rs_path *p,
                      struct err *err) {
  const struct tests_kind *k = m->kind;
  int rc = path_init(p, k->keys[i], NULL, "/tests");
  if (rc == 0)
    rc = buf_printf(&p->b, "?count=%d&offset=%zu", RS_PAGE,
                    k->items[i].pages * RS_PAGE);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key too long");
  return rc;
}

/* A short page ends the list; a page with nothing new means the server
 * ignores offset. */
static int tests_add(struct tests_item *it, struct rs_test *page, size_t page_n,
                     struct err *err) {
  long added = merge_by_id(&it->all, &it->n, &it->cap, page, page_n,
                           sizeof(*page), offsetof(struct rs_test, id));
  free(page);
  if (added < 0) {
    err_set(err, "out of memory for the tests list");
    return -ENOMEM;
  }
  if (page_n < RS_PAGE || added == 0)
    return 0;
  if (++it->pages == RS_TESTS_MAX_PAGES) {
    err_set(err, "more than %d pages", RS_TESTS_MAX_PAGES);
    return -EPROTO;
  }
  return 1;
}

static int tests_page(struct many *m, size_t i, json_object *data,
                      struct err *err) {
  struct tests_item *it = &((struct tests_kind *)m->kind)->items[i];
  size_t page_n = 0;
  int rc;
  struct rs_test *page =
      parse_array(data, sizeof(*page), test_item, &page_n, &rc, err);
  if (rc != 0)
    return rc;
  return tests_add(it, page, page_n, err);
}

/* The page read without a tree when it is ordinary (fast_tests). */
static int tests_raw(struct many *m, size_t i, const char *body, size_t len,
                     struct err *err) {
  struct tests_item *it = &((struct tests_kind *)m->kind)->items[i];
  struct rs_test *page = NULL;
  size_t page_n = 0;
  int rc = fast_tests(body, len, m->c->max_depth, &page, &page_n);
  if (rc == -EPROTO)
    return MANY_TREE;
  if (rc != 0) {
    err_set(err, "out of memory for the tests list");
    return rc;
  }
  return tests_add(it, page, page_n, err);
}

static bool tests_finish(struct many *m, size_t i, int rc,
                         const struct err *err) {
  struct tests_kind *k = m->kind;
  struct tests_item *it = &k->items[i];
  static const struct rs_test none;
  bool go = k->done(k->ctx, i, rc, it->all ? it->all : &none,
                    rc == 0 ? it->n : 0, rc == 0 ? NULL : err);
  free(it->all);
  memset(it, 0, sizeof(*it));
  return go;
}

static const struct many_ops tests_ops = {json_type_array, tests_path,
                                          tests_page, tests_finish, tests_raw};

int rs_list_tests_many(struct rs_client *c, const char *const *bucket_keys,
                       size_t n, rs_tests_fn done, void *ctx) {
  struct tests_kind k = {bucket_keys, calloc(n ? n : 1, sizeof(*k.items)), done,
                         ctx};
  if (k.items == NULL)
    return -ENOMEM;
  int rc = many_run(c, &tests_ops, &k, n, 0);
  for (size_t i = 0; i < n; i++)
    free(k.items[i].all); /* items stopped between pages */
  free(k.items);
  return rc;
}

/* The single calls keep their item here. */
struct one {
  int rc;
  struct err *err;
  void *ret;
  size_t ret_n;
};

static void one_failed(struct one *o, int rc, const struct err *err) {
  o->rc = rc;
  if (err != NULL && o->err != NULL)
    *o->err = *err;
}

/* Keeps a copy of items[0..n) (size bytes each) as o's answer, or the
 * error of the call (rc, err). what names the items for "out of memory". */
static bool one_copy(struct one *o, int rc, const struct err *err,
                     const void *items, size_t n, size_t size,
                     const char *what) {
  if (rc != 0) {
    one_failed(o, rc, err);
    return true;
  }
  o->ret = malloc((n ? n : 1) * size);
  if (o->ret == NULL) {
    err_set(o->err, "Runscope API: out of memory for %s", what);
    o->rc = -ENOMEM;
    return true;
  }
  memcpy(o->ret, items, n * size);
  o->ret_n = n;
  o->rc = 0;
  return true;
}

static bool one_tests(void *ctx, size_t i, int rc, const struct rs_test *tests,
                      size_t n, const struct err *err) {
  (void)i;
  return one_copy(ctx, rc, err, tests, n, sizeof(*tests), "the tests list");
}

int rs_list_tests(struct rs_client *c, const char *bucket_key,
                  struct rs_test **ret, size_t *ret_n, struct err *err) {
  struct one o = {-ENOMEM, err, NULL, 0};
  *ret = NULL;
  *ret_n = 0;
  if (rs_list_tests_many(c, &bucket_key, 1, one_tests, &o) != 0)
    err_set(err, "Runscope API: out of memory");
  if (o.rc == 0) {
    *ret = o.ret;
    *ret_n = o.ret_n;
  }
  return o.rc;
}

/* ---- test details ---- */

struct detail_kind {
  const struct rs_test_ref *refs;
  rs_detail_fn done;
  void *ctx;
  struct rs_test_detail scratch; /* the item being reported */
};

static int detail_path(struct many *m, size_t i, struct rs_path *p,
                       struct err *err) {
  const struct rs_test_ref *t = &((struct detail_kind *)m->kind)->refs[i];
  int rc = path_init(p, t->bucket_key, t->test_id, NULL);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key or test id too long");
  return rc;
}

static int detail_page(struct many *m, size_t i, json_object *data,
                       struct err *err) {
  struct detail_kind *k = m->kind;
  (void)i;
  rs_test_detail_fini(&k->scratch);
  int rc = parse_test_detail(data, &k->scratch, err);
  if (rc != 0)
    rs_test_detail_fini(&k->scratch);
  return rc;
}

static bool detail_finish(struct many *m, size_t i, int rc,
                          const struct err *err) {
  struct detail_kind *k = m->kind;
  if (rc != 0)
    rs_test_detail_fini(&k->scratch);
  bool go = k->done(k->ctx, i, rc, &k->scratch, rc == 0 ? NULL : err);
  rs_test_detail_fini(&k->scratch);
  return go;
}

static const struct many_ops detail_ops = {json_type_object, detail_path,
                                           detail_page, detail_finish, NULL};

int rs_get_tests_many(struct rs_client *c, const struct rs_test_ref *tests,
                      size_t n, double deadline, rs_detail_fn done, void *ctx) {
  struct detail_kind k;
  memset(&k, 0, sizeof(k));
  k.refs = tests;
  k.done = done;
  k.ctx = ctx;
  int rc = many_run(c, &detail_ops, &k, n, deadline);
  rs_test_detail_fini(&k.scratch);
  return rc;
}

static bool one_detail(void *ctx, size_t i, int rc, struct rs_test_detail *d,
                       const struct err *err) {
  struct one *o = ctx;
  (void)i;
  o->rc = rc;
  if (rc != 0) {
    one_failed(o, rc, err);
    return true;
  }
  *(struct rs_test_detail *)o->ret = *d; /* taken over */
  memset(d, 0, sizeof(*d));
  return true;
}

int rs_get_test(struct rs_client *c, const char *bucket_key,
                const char *test_id, struct rs_test_detail *ret,
                struct err *err) {
  struct rs_test_ref ref = {bucket_key, test_id, 0};
  struct one o = {-ENOMEM, err, ret, 0};
  memset(ret, 0, sizeof(*ret));
  if (rs_get_tests_many(c, &ref, 1, 0, one_detail, &o) != 0)
    err_set(err, "Runscope API: out of memory");
  return o.rc;
}

/* ---- results ---- */

/* A set of runs collected over the results pages. */
struct runs {
  struct rs_run *v;
  size_t n, cap;
};

static int cmp_started(const void *a, const void *b) {
  const struct rs_run *x = a, *y = b;
  if (x->started_at != y->started_at)
    return x->started_at < y->started_at ? -1 : 1;
  return strcmp(x->test_run_id, y->test_run_id);
}

/* The earliest started_at of runs[0..n), or 0 when n is 0. */
static double oldest_start(const struct rs_run *runs, size_t n) {
  double t = 0;
  for (size_t i = 0; i < n; i++)
    if (t == 0 || runs[i].started_at < t)
      t = runs[i].started_at;
  return t;
}

struct results_item {
  struct runs all;
  double before; /* 0 for the first page */
  int pages;
};

struct results_kind {
  const struct rs_test_ref *refs;
  struct results_item *items;
  rs_runs_fn done;
  void *ctx;
};

static int results_path(struct many *m, size_t i, struct rs_path *p,
                        struct err *err) {
  const struct results_kind *k = m->kind;
  const struct rs_test_ref *t = &k->refs[i];
  double before = k->items[i].before;
  int rc = path_init(p, t->bucket_key, t->test_id, "/results");
  if (rc == 0)
    rc = buf_printf(&p->b, "?count=%d", RS_PAGE);
  if (rc == 0 && t->since > 0)
    rc = buf_printf(&p->b, "&since=%.6f", t->since);
  if (rc == 0 && before > 0)
    rc = buf_printf(&p->b, "&before=%.6f", before);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key or test id too long");
  return rc;
}

/* Pages go newest first, back with before = the oldest start of the
 * previous page (exclusive: a run sharing that exact microsecond with the
 * boundary would be missed; Runscope runs of one test practically never
 * do). Stops on a page that is not full, adds nothing new or does not go
 * back in time (a server ignoring before), and at RS_RESULTS_MAX runs. */
static int results_page(struct many *m, size_t i, json_object *data,
                        struct err *err) {
  const struct results_kind *k = m->kind;
  struct results_item *it = &k->items[i];
  double since = k->refs[i].since;
  struct rs_run *page = NULL;
  size_t page_n = 0, raw = 0;
  int rc = parse_runs(data, &page, &page_n, &raw, err);
  if (rc != 0)
    return rc;
  long added = merge_by_id(&it->all.v, &it->all.n, &it->all.cap, page, page_n,
                           sizeof(*page), offsetof(struct rs_run, test_run_id));
  double oldest = oldest_start(page, page_n);
  free(page);
  if (added < 0) {
    err_set(err, "out of memory for the results");
    return -ENOMEM;
  }
  if (since <= 0 || raw < RS_PAGE || added == 0 ||
      it->all.n >= RS_RESULTS_MAX || oldest <= 0 ||
      (it->before > 0 && oldest >= it->before) ||
      ++it->pages >= RS_RESULTS_MAX_PAGES)
    return 0;
  it->before = oldest;
  return 1;
}

static bool results_finish(struct many *m, size_t i, int rc,
                           const struct err *err) {
  struct results_kind *k = m->kind;
  struct runs *all = &k->items[i].all;
  static const struct rs_run none;
  bool go;
  if (rc == 0) {
    qsort(all->v, all->n, sizeof(*all->v), cmp_started);
    /* Over the cap, keep the newest: they are what the pages asked for. */
    size_t skip = all->n > RS_RESULTS_MAX ? all->n - RS_RESULTS_MAX : 0;
    go = k->done(k->ctx, i, 0, all->v ? all->v + skip : &none, all->n - skip,
                 NULL);
  } else {
    go = k->done(k->ctx, i, rc, &none, 0, err);
  }
  free(all->v);
  memset(&k->items[i], 0, sizeof(k->items[i]));
  return go;
}

static const struct many_ops results_ops = {json_type_array, results_path,
                                            results_page, results_finish, NULL};

int rs_list_results_many(struct rs_client *c, const struct rs_test_ref *tests,
                         size_t n, double deadline, rs_runs_fn done,
                         void *ctx) {
  struct results_kind k = {tests, calloc(n ? n : 1, sizeof(*k.items)), done,
                           ctx};
  if (k.items == NULL)
    return -ENOMEM;
  int rc = many_run(c, &results_ops, &k, n, deadline);
  for (size_t i = 0; i < n; i++)
    free(k.items[i].all.v); /* items stopped between pages */
  free(k.items);
  return rc;
}

static bool one_runs(void *ctx, size_t i, int rc, const struct rs_run *runs,
                     size_t n, const struct err *err) {
  (void)i;
  return one_copy(ctx, rc, err, runs, n, sizeof(*runs), "the results");
}

int rs_list_results(struct rs_client *c, const char *bucket_key,
                    const char *test_id, double since, struct rs_run **ret,
                    size_t *ret_n, struct err *err) {
  struct rs_test_ref ref = {bucket_key, test_id, since};
  struct one o = {-ENOMEM, err, NULL, 0};
  *ret = NULL;
  *ret_n = 0;
  if (rs_list_results_many(c, &ref, 1, 0, one_runs, &o) != 0)
    err_set(err, "Runscope API: out of memory");
  if (o.rc == 0) {
    *ret = o.ret;
    *ret_n = o.ret_n;
  }
  return o.rc;
}

/* ---- trigger URLs ---- */

/* Parses one item of data.runs[]. Returns 0, 1 to skip it (not an object,
 * no test_run_id), or -EPROTO. */
static int started_item(json_object *o, const char *where,
                        struct rs_started_run *r, struct err *err) {
  memset(r, 0, sizeof(*r));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = copy_id(o, pick(o, "test_run_id", "test_run_uuid"), r->test_run_id,
                   sizeof(r->test_run_id), where, err);
  if (rc == 0)
    rc = copy_id(o, pick(o, "environment_id", "environment_uuid"),
                 r->environment_id, sizeof(r->environment_id), where, err);
  if (rc == 0)
    rc = copy_id(o, "region", r->region, sizeof(r->region), where, err);
  if (rc != 0)
    return rc;
  copy_agent(o, r->agent, sizeof(r->agent));
  return r->test_run_id[0] == '\0' ? 1 : 0;
}

int rs_parse_trigger(const char *body, size_t len, int max_depth,
                     struct rs_started_run **ret, size_t *ret_n,
                     struct err *err) {
  json_object *root, *data;
  *ret = NULL;
  *ret_n = 0;
  int rc = envelope(body, len, max_depth, json_type_object, &root, &data, err);
  if (rc != 0)
    return rc;
  json_object *runs = jsonx_arr(data, "runs");
  size_t n = runs ? json_object_array_length(runs) : 0;
  if (n > RS_STARTED_MAX)
    n = RS_STARTED_MAX;
  struct rs_started_run *v = calloc(n ? n : 1, sizeof(*v));
  char where[RS_WHERE_MAX];
  if (runs == NULL) {
    err_set(err, "\"data\" has no \"runs\" array");
    rc = -EPROTO;
  } else if (v == NULL) {
    err_set(err, "out of memory for %zu runs", n);
    rc = -ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < n; i++) {
    snprintf(where, sizeof(where), "data.runs[%zu]", i);
    int item = started_item(json_object_array_get_idx(runs, i), where,
                            &v[*ret_n], err);
    if (item < 0)
      rc = item;
    else if (item == 0)
      (*ret_n)++;
  }
  json_object_put(root);
  if (rc != 0) {
    free(v);
    *ret_n = 0;
    return rc;
  }
  *ret = v;
  return 0;
}

/* The trigger id of a trigger URL, the path segment before the last one
 * (".../radar/{id}/trigger", ".../radar/bucket/{id}/trigger"), into out
 * ("" when the path has no such segment). */
static void trigger_id_of(const char *url, char *out, size_t size) {
  const char *sep = strstr(url, "://");
  const char *path = sep ? sep + 3 + strcspn(sep + 3, "/?#") : url;
  size_t path_len = strcspn(path, "?#");
  const char *last = NULL, *prev = NULL;
  for (const char *p = path; p < path + path_len; p++) {
    if (*p == '/') {
      prev = last;
      last = p;
    }
  }
  out[0] = '\0';
  /* A short segment is no trigger id, and scrubbing it would garble. */
  if (prev != NULL && last - prev > 8)
    snprintf(out, size, "%.*s", (int)(last - prev - 1), prev + 1);
}

/* Builds trigger_url with the reserved parameters of req into url. */
static int trigger_url_with(const char *trigger_url,
                            const struct rs_trigger_req *req, struct buf *url) {
  const char *names[] = {"runscope_environment", "runscope_region",
                         "runscope_agent"};
  const char *values[] = {req->environment_id, req->region, req->agent};
  char sep = strchr(trigger_url, '?') ? '&' : '?';
  int rc = buf_append(url, trigger_url, strcspn(trigger_url, "#"));
  for (size_t i = 0; rc == 0 && i < 3; i++) {
    if (values[i] == NULL || values[i][0] == '\0')
      continue;
    rc = buf_printf(url, "%c%s=", sep, names[i]);
    if (rc == 0)
      rc = buf_put_urlenc(url, values[i]);
    sep = '&';
  }
  return rc;
}

/* POSTs url; fills *ret and *ret_n from a 2xx answer. what names the URL
 * in messages; secret is scrubbed from them. */
static int trigger_post(struct rs_client *c, const char *url, const char *what,
                        const char *secret, struct rs_started_run **ret,
                        size_t *ret_n, struct err *err) {
  struct http_response resp;
  http_response_init(&resp, RS_BODY_MAX);
  struct http_request req = {.method = "POST", .url = url, .once = true};
  int rc = http_do(c->http, &req, &resp, err);
  c->retry_after = rc == 0 ? resp.retry_after : -1;
  if (rc != 0) {
    err_prefix(err, "Runscope API");
  } else if (resp.status < 200 || resp.status > 299) {
    status_error(c, "POST", what, (int)strlen(what), &resp, err);
    rc = http_status_errno(resp.status);
  } else if (rs_parse_trigger(resp.body.data, resp.body.len, c->max_depth, ret,
                              ret_n, NULL) != 0 &&
             (*ret = calloc(1, sizeof(**ret))) == NULL) {
    err_set(err, "Runscope API: POST %s: out of memory", what);
    rc = -ENOMEM;
  }
  err_scrub(err, secret);
  err_scrub(err, c->token);
  http_response_fini(&resp);
  return rc;
}

int rs_trigger(struct rs_client *c, const char *trigger_url,
               const struct rs_trigger_req *req, struct rs_started_run **ret,
               size_t *ret_n, struct err *err) {
  char id[RS_URL_MAX], what[RS_URL_MAX];
  struct buf url;
  *ret = NULL;
  *ret_n = 0;
  trigger_id_of(trigger_url, id, sizeof(id));
  http_redact_url(trigger_url, what, sizeof(what));
  struct err tmp;
  err_set(&tmp, "%s", what);
  err_scrub(&tmp, id);
  str_copy(what, sizeof(what), tmp.msg);
  if (strncasecmp(trigger_url, "https://", 8) != 0 &&
      strncasecmp(trigger_url, "http://", 7) != 0) {
    err_set(err, "Runscope API: POST %s: not an http(s) trigger URL", what);
    return -EINVAL;
  }
  buf_init(&url, RS_URL_MAX + RS_PATH_MAX);
  int rc = trigger_url_with(trigger_url, req, &url);
  if (rc != 0)
    err_set(err, "Runscope API: POST %s: URL too long", what);
  else
    rc = trigger_post(c, url.data, what, id, ret, ret_n, err);
  buf_fini(&url);
  return rc;
}

/* ---- captured traffic: the Errors stream and its messages ----
 *
 * The message shape is only partly documented (docs/runscope-api.md 6.2):
 * uuid, bucket_key and request.{method, host, path, scheme, timestamp,
 * headers, params}; public clients confirm that a list's data[] items carry
 * "uuid" and a detail's data carries "request". No sample of either is
 * known, and the response's attribute names are not documented at all. So
 * what follows is a tolerant guess, not a contract:
 *  - the id is "uuid" (documented), else "id";
 *  - method, host and path come from "request" (documented), else from the
 *    top level; a host or path still missing is taken from a URL
 *    ("request.url" or "url", scheme://host[:port]/path?query: without the
 *    port and the query);
 *  - the time is request.timestamp (documented), else a top-level
 *    "timestamp", else response.timestamp;
 *  - the status is response.status or response.status_code (an integer, or
 *    a string that starts with the three digits: "503", "503 Service
 *    Unavailable"), else a top-level status_code, response_status or
 *    response_status_code; "response": null is a message without a
 *    response (a connection error): status 0, known.
 * A field found nowhere is reported absent (rs_message `have`), so that a
 * rule that needs it makes the caller read the message's detail. */

#define RS_MSG_PAGE 100     /* count asked for on every errors page */
#define RS_MSG_MAX_PAGES 12 /* enough for RS_MESSAGES_MAX with overlap */

/* An HTTP status from member key of o: a number, or a string starting with
 * exactly three digits. False when absent or not a status. */
static bool status_of(json_object *o, const char *key, int *ret) {
  json_object *v = NULL;
  long long n = -1;
  if (!json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) || v == NULL)
    return false;
  if (json_object_is_type(v, json_type_int) ||
      json_object_is_type(v, json_type_double)) {
    n = json_object_get_int64(v);
  } else if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    size_t i = 0;
    for (n = 0; i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
      n = n * 10 + (s[i] - '0');
    if (i != 3)
      n = -1;
  }
  if (n < 100 || n > 999)
    return false;
  *ret = (int)n;
  return true;
}

static void message_status(json_object *o, struct rs_message *m) {
  static const char *const in_response[] = {"status", "status_code"};
  static const char *const top[] = {"status_code", "response_status",
                                    "response_status_code"};
  json_object *resp = NULL;
  bool has_response = json_object_object_get_ex(o, "response", &resp);
  for (size_t i = 0; i < sizeof(in_response) / sizeof(in_response[0]); i++)
    if (status_of(resp, in_response[i], &m->status)) {
      m->have |= RS_MSG_STATUS;
      return;
    }
  for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
    if (status_of(o, top[i], &m->status)) {
      m->have |= RS_MSG_STATUS;
      return;
    }
  if (has_response && resp == NULL) { /* "response": null */
    m->status = 0;
    m->have |= RS_MSG_STATUS;
  }
}

/* Copies the string member key of req (else of o) into dst and sets bit. */
static void message_text(json_object *req, json_object *o, const char *key,
                         char *dst, size_t size, unsigned bit,
                         struct rs_message *m) {
  json_object *src = jsonx_str(req, key) ? req : jsonx_str(o, key) ? o : NULL;
  if (src == NULL)
    return;
  copy_name(src, key, dst, size);
  m->have |= bit;
}

/* Copies s[0..n) into dst (cut to fit). */
static void copy_part(char *dst, size_t size, const char *s, size_t n) {
  if (n >= size)
    n = size - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
  str_utf8_trim(dst);
}

/* Takes the host and the path m lacks from url
 * (scheme://[user@]host[:port][/path][?query][#fragment]). */
static void message_url(const char *url, struct rs_message *m) {
  const char *p = strstr(url, "://");
  if (p == NULL)
    return;
  p += 3;
  size_t auth = strcspn(p, "/?#");
  const char *at = memchr(p, '@', auth);
  if (at != NULL) {
    auth -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t host = *p == '[' ? strcspn(p + 1, "]") : strcspn(p, ":/?#");
  if (!(m->have & RS_MSG_HOST) && host > 0 && host <= auth) {
    copy_part(m->host, sizeof(m->host), *p == '[' ? p + 1 : p, host);
    m->have |= RS_MSG_HOST;
  }
  const char *path = p + auth;
  if (!(m->have & RS_MSG_PATH)) {
    size_t n = strcspn(path, "?#");
    copy_part(m->path, sizeof(m->path), n ? path : "/", n ? n : 1);
    m->have |= RS_MSG_PATH;
  }
}

/* Reads every field of message o but its uuid into m. */
static void message_fields(json_object *o, struct rs_message *m) {
  json_object *req = jsonx_obj(o, "request");
  message_text(req, o, "method", m->method, sizeof(m->method), RS_MSG_METHOD,
               m);
  message_text(req, o, "host", m->host, sizeof(m->host), RS_MSG_HOST, m);
  message_text(req, o, "path", m->path, sizeof(m->path), RS_MSG_PATH, m);
  const char *url = jsonx_str(req, "url");
  if (url == NULL)
    url = jsonx_str(o, "url");
  if (url != NULL)
    message_url(url, m);
  message_status(o, m);
  m->timestamp = jsonx_num(req, "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = jsonx_num(o, "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = jsonx_num(jsonx_obj(o, "response"), "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = 0;
}

/* Reads one list item. Returns 0, or 1 for an item that cannot be used
 * (not an object, no uuid or too long a one, no time). */
static int parse_list_item(json_object *o, struct rs_message *m) {
  memset(m, 0, sizeof(*m));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  if (jsonx_copy_str(o, pick(o, "uuid", "id"), m->uuid, sizeof(m->uuid)) != 0 ||
      m->uuid[0] == '\0')
    return 1;
  message_fields(o, m);
  return m->timestamp > 0 ? 0 : 1;
}

/* Reads a message detail (data). Its uuid may be absent ("" then). */
static int parse_detail(json_object *data, struct rs_message *m,
                        struct err *err) {
  memset(m, 0, sizeof(*m));
  if (jsonx_copy_str(data, pick(data, "uuid", "id"), m->uuid,
                     sizeof(m->uuid)) == -ENAMETOOLONG) {
    err_set(err, "data.uuid is longer than %zu bytes", sizeof(m->uuid) - 1);
    return -EPROTO;
  }
  message_fields(data, m);
  return 0;
}

/* The usable messages of a list's data[] in a new array (caller frees);
 * *ret_raw gets the item count, unusable items included. */
static int parse_message_list(json_object *data, struct rs_message **ret,
                              size_t *ret_n, size_t *ret_raw, struct err *err) {
  size_t raw = json_object_array_length(data), n = 0;
  struct rs_message *v = calloc(raw ? raw : 1, sizeof(*v));
  if (v == NULL) {
    err_set(err, "out of memory for %zu messages", raw);
    return -ENOMEM;
  }
  for (size_t i = 0; i < raw; i++)
    if (parse_list_item(json_object_array_get_idx(data, i), &v[n]) == 0)
      n++;
  *ret = v;
  *ret_n = n;
  *ret_raw = raw;
  return 0;
}

int rs_parse_messages(const char *body, size_t len, int max_depth,
                      struct rs_message **ret, size_t *ret_n, struct err *err) {
  json_object *root, *data;
  size_t raw;
  *ret = NULL;
  *ret_n = 0;
  int rc = envelope(body, len, max_depth, json_type_array, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_message_list(data, ret, ret_n, &raw, err);
  json_object_put(root);
  return rc;
}

int rs_parse_message(const char *body, size_t len, int max_depth,
                     struct rs_message *ret, struct err *err) {
  json_object *root, *data;
  memset(ret, 0, sizeof(*ret));
  int rc = envelope(body, len, max_depth, json_type_object, &root, &data, err);
  if (rc != 0)
    return rc;
  rc = parse_detail(data, ret, err);
  json_object_put(root);
  return rc;
}

/* Messages collected over the errors pages. */
struct messages {
  struct rs_message *v;
  size_t n, cap;
};

static int cmp_message_time(const void *a, const void *b) {
  const struct rs_message *x = a, *y = b;
  if (x->timestamp != y->timestamp)
    return x->timestamp < y->timestamp ? -1 : 1;
  return strcmp(x->uuid, y->uuid);
}

/* Whole seconds for since (rounded down) and before (rounded up). */
static long long secs_down(double t) { return (long long)t; }
static long long secs_up(double t) {
  long long s = (long long)t;
  return (double)s < t ? s + 1 : s;
}

/* Reads one errors page; *ret_page (caller frees) holds its usable
 * messages, *ret_raw its item count. */
static int errors_page(struct rs_client *c, const char *bucket_key,
                       double since, double before,
                       struct rs_message **ret_page, size_t *ret_n,
                       size_t *ret_raw, struct err *err) {
  struct rs_path p;
  json_object *root, *data;
  int rc = path_init(&p, bucket_key, NULL, "/errors");
  if (rc == 0)
    rc = buf_printf(&p.b, "?count=%d", RS_MSG_PAGE);
  if (rc == 0 && since > 0)
    rc = buf_printf(&p.b, "&since=%lld", secs_down(since));
  if (rc == 0 && before > 0)
    rc = buf_printf(&p.b, "&before=%lld", secs_up(before));
  if (rc != 0)
    err_set(err, "Runscope API: bucket key too long");
  if (rc == 0)
    rc = get_data(c, &p, json_type_array, &root, &data, err);
  if (rc == 0) {
    rc = parse_message_list(data, ret_page, ret_n, ret_raw, err);
    if (rc != 0)
      parse_failed(c, &p, err);
    json_object_put(root);
  }
  buf_fini(&p.b);
  return rc;
}

/* The earliest timestamp of msgs[0..n), 0 when n is 0. */
static double oldest_message(const struct rs_message *msgs, size_t n) {
  double t = 0;
  for (size_t i = 0; i < n; i++)
    if (t == 0 || msgs[i].timestamp < t)
      t = msgs[i].timestamp;
  return t;
}

/* Reads pages newest first, going back with before = the oldest time of
 * the previous page, until a page is not full (*ret_truncated false), or
 * the cap, a page with nothing new, or a server that ignores before stops
 * it with more left (*ret_truncated true). */
static int collect_messages(struct rs_client *c, const char *bucket_key,
                            double since, struct messages *all,
                            bool *ret_truncated, struct err *err) {
  double before = 0;
  *ret_truncated = false;
  for (int i = 0; i < RS_MSG_MAX_PAGES; i++) {
    struct rs_message *page = NULL;
    size_t page_n = 0, raw = 0;
    int rc =
        errors_page(c, bucket_key, since, before, &page, &page_n, &raw, err);
    if (rc != 0)
      return rc;
    long added = merge_by_id(&all->v, &all->n, &all->cap, page, page_n,
                             sizeof(*page), offsetof(struct rs_message, uuid));
    double oldest = oldest_message(page, page_n);
    free(page);
    if (added < 0) {
      err_set(err, "Runscope API: out of memory for the messages");
      return -ENOMEM;
    }
    if (since <= 0 || raw < RS_MSG_PAGE)
      return 0;
    if (added == 0 || all->n >= RS_MESSAGES_MAX || oldest <= 0 ||
        (before > 0 && oldest >= before))
      break;
    before = oldest;
  }
  *ret_truncated = true;
  return 0;
}

int rs_list_errors(struct rs_client *c, const char *bucket_key, double since,
                   struct rs_message **ret, size_t *ret_n, bool *ret_truncated,
                   struct err *err) {
  struct messages all = {NULL, 0, 0};
  *ret = NULL;
  *ret_n = 0;
  int rc = collect_messages(c, bucket_key, since, &all, ret_truncated, err);
  if (rc == 0 && all.v == NULL && (all.v = calloc(1, sizeof(*all.v))) == NULL)
    rc = -ENOMEM;
  if (rc != 0) {
    free(all.v);
    return rc;
  }
  qsort(all.v, all.n, sizeof(*all.v), cmp_message_time);
  if (all.n > RS_MESSAGES_MAX) { /* keep the newest, as the pages did */
    memmove(all.v, all.v + (all.n - RS_MESSAGES_MAX),
            RS_MESSAGES_MAX * sizeof(*all.v));
    all.n = RS_MESSAGES_MAX;
    *ret_truncated = true;
  }
  *ret = all.v;
  *ret_n = all.n;
  return 0;
}

int rs_get_message(struct rs_client *c, const char *bucket_key,
                   const char *uuid, struct rs_message *ret, struct err *err) {
  struct rs_path p;
  json_object *root, *data;
  memset(ret, 0, sizeof(*ret));
  int rc = path_init(&p, bucket_key, NULL, "/messages/");
  if (rc == 0)
    rc = buf_put_urlenc(&p.b, uuid);
  p.object_len = p.b.len;
  if (rc != 0)
    err_set(err, "Runscope API: bucket key or message uuid too long");
  if (rc == 0)
    rc = get_data(c, &p, json_type_object, &root, &data, err);
  if (rc == 0) {
    rc = parse_detail(data, ret, err);
    if (rc != 0)
      parse_failed(c, &p, err);
    else /* the message asked for, whether or not the answer repeats it */
      str_copy(ret->uuid, sizeof(ret->uuid), uuid);
    json_object_put(root);
  }
  buf_fini(&p.b);
  return rc;
}
