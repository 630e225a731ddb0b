/* SPDX-License-Identifier: MIT */
/* The tests list read without a json-c tree, with the jscan scanner.
 *
 * The tests list is read every cycle, and json-c's tree of its items (each
 * with its last_run object) costs more than the rest of an idle cycle.
 * These read the same fields with jscan, and give up (-EPROTO) on anything
 * out of the ordinary: an error in the envelope, a missing or unexpected
 * value, a field too long, a string or number jscan does not convert as
 * json-c does. The tree (rs_answers.c) then reads the answer, so that both
 * always agree: the fast path only ever returns what the tree would. */
#include "clients/rs_internal.h"

#include "util/array.h"
#include "util/jscan.h"
#include "util/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A string value into dst (size bytes): 0, or -EPROTO when it is not a
 * string or does not fit. */
static int fast_id(struct jscan *s, char *dst, size_t size) {
  if (jscan_peek(s) != JSCAN_STRING)
    return -EPROTO;
  return jscan_string(s, dst, size) == 0 ? 0 : -EPROTO;
}

/* A time: a number (finite) or null, checked and skipped; *at is where
 * the number is (NULL for null), converted by time_value only when it is
 * the time needed: most items carry three or four times and use one. */
static int fast_time(struct jscan *s, const char **at) {
  *at = NULL;
  enum jscan_type type = jscan_peek(s);
  if (type == JSCAN_NUMBER)
    *at = s->p;
  else if (type != JSCAN_NULL)
    return -EPROTO;
  return jscan_skip(s);
}

/* The value of a time fast_time skipped (end: the text's end); 0 for
 * null. Returns 0 or -EPROTO. */
static int time_value(const char *at, const char *end, double *ret) {
  struct jscan n;
  *ret = 0;
  if (at == NULL)
    return 0;
  jscan_init(&n, at, (size_t)(end - at), 1);
  return jscan_number(&n, ret);
}

/* An id or null (""). */
static int fast_id_or_null(struct jscan *s, char *dst, size_t size) {
  dst[0] = '\0';
  return jscan_peek(s) == JSCAN_NULL ? jscan_skip(s) : fast_id(s, dst, size);
}

/* last_run as an object: its id (id, else uuid) and its first positive
 * time among created_at, started_at and finished_at (as the tree does). */
static int fast_last_run(struct jscan *s, struct rs_test *t) {
  struct jscan_key key;
  char id[RS_ID_MAX] = "", uuid[RS_ID_MAX] = "";
  const char *at[3] = {NULL, NULL, NULL}; /* created, started, finished */
  int rc = jscan_enter(s, '{') ? 0 : -EPROTO;
  while (rc == 0 && jscan_member_at(s, &key)) {
    if (jscan_key_is(key, "id"))
      rc = fast_id_or_null(s, id, sizeof(id));
    else if (jscan_key_is(key, "uuid"))
      rc = fast_id_or_null(s, uuid, sizeof(uuid));
    else if (jscan_key_is(key, "created_at"))
      rc = fast_time(s, &at[0]);
    else if (jscan_key_is(key, "started_at"))
      rc = fast_time(s, &at[1]);
    else if (jscan_key_is(key, "finished_at"))
      rc = fast_time(s, &at[2]);
    else
      rc = jscan_skip(s);
  }
  if (rc != 0 || s->failed)
    return -EPROTO;
  str_copy(t->last_run_id, sizeof(t->last_run_id), id[0] ? id : uuid);
  t->last_run_at = 0;
  for (size_t k = 0; k < 3 && t->last_run_at <= 0; k++) {
    double v;
    if (time_value(at[k], s->end, &v) != 0)
      return -EPROTO;
    t->last_run_at = v > 0 ? v : 0;
  }
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

/* One item of data[] (as rs_answers.c's parse_test). */
static int fast_test(struct jscan *s, struct rs_test *t) {
  struct jscan_key key;
  const char *created_at = NULL;
  double created = 0;
  memset(t, 0, sizeof(*t));
  int rc = jscan_peek(s) == JSCAN_OBJECT && jscan_enter(s, '{') ? 0 : -EPROTO;
  while (rc == 0 && jscan_member_at(s, &key)) {
    if (jscan_key_is(key, "id")) {
      rc = fast_id(s, t->id, sizeof(t->id));
    } else if (jscan_key_is(key, "name")) {
      rc = fast_name(s, t->name, sizeof(t->name));
    } else if (jscan_key_is(key, "default_environment_id")) {
      /* not a string: none, as the tree reads it (the last one counts) */
      t->default_environment_id[0] = '\0';
      rc = jscan_peek(s) == JSCAN_STRING
               ? fast_id(s, t->default_environment_id,
                         sizeof(t->default_environment_id))
               : jscan_skip(s);
    } else if (jscan_key_is(key, "last_run")) {
      t->last_run_known = true;
      rc = fast_last_run_member(s, t);
    } else if (jscan_key_is(key, "last_run_created_at")) {
      t->last_run_known = true;
      rc = fast_time(s, &created_at);
    } else {
      rc = jscan_skip(s);
    }
  }
  if (rc != 0 || s->failed || t->id[0] == '\0')
    return -EPROTO;
  if (t->last_run_at <= 0 && time_value(created_at, s->end, &created) != 0)
    return -EPROTO;
  if (t->last_run_at <= 0)
    t->last_run_at = created > 0 ? created : 0;
  return 0;
}

/* data[]: the items appended to *v (*n used, *cap allocated); -E2BIG at
 * item max_items + 1 (max_items 0: no limit). *n grows only on success. */
static int fast_tests_data(struct jscan *s, size_t max_items,
                           struct rs_test **v, size_t *n, size_t *cap) {
  size_t got = 0;
  int rc = jscan_peek(s) == JSCAN_ARRAY && jscan_enter(s, '[') ? 0 : -EPROTO;
  while (rc == 0 && jscan_item(s)) {
    if (max_items > 0 && got == max_items) {
      rc = -E2BIG;
      break;
    }
    if (array_reserve(v, cap, *n + got, sizeof(**v),
                      max_items ? max_items : 16)) {
      rc = -ENOMEM;
      break;
    }
    rc = fast_test(s, &(*v)[*n + got]);
    got += rc == 0;
  }
  if (rc == 0 && s->failed)
    rc = -EPROTO;
  if (rc != 0)
    return rc == -ENOMEM || rc == -E2BIG ? rc : -EPROTO;
  *n += got;
  return 0;
}

int rs_scan_tests_append(const char *body, size_t len, int max_depth,
                         size_t max_items, struct rs_test **v, size_t *n,
                         size_t *cap) {
  struct jscan s;
  struct jscan_key key;
  size_t before = *n;
  bool data = false;
  int rc = 0;
  /* one level less than json-c is given: never read what it would not */
  jscan_init(&s, body, len, max_depth - 1);
  if (!jscan_enter(&s, '{'))
    return -EPROTO;
  while (rc == 0 && jscan_member_at(&s, &key)) {
    if (jscan_key_is(key, "data") && !data) {
      data = true;
      rc = fast_tests_data(&s, max_items, v, n, cap);
    } else if (jscan_key_is(key, "data") || jscan_key_is(key, "error")) {
      /* a second data (the tree keeps the last), or an error: the tree */
      rc = jscan_key_is(key, "error") && jscan_peek(&s) == JSCAN_NULL
               ? jscan_skip(&s)
               : -EPROTO;
    } else {
      rc = jscan_skip(&s);
    }
  }
  if (rc == 0 && (!data || jscan_end(&s) != 0))
    rc = -EPROTO;
  if (rc != 0)
    *n = before;
  return rc;
}

int rs_scan_tests(const char *body, size_t len, int max_depth, size_t max_items,
                  struct rs_test **ret, size_t *ret_n) {
  struct rs_test *v = NULL;
  size_t n = 0, cap = 0;
  int rc = rs_scan_tests_append(body, len, max_depth, max_items, &v, &n, &cap);
  if (rc == 0 && v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
    rc = -ENOMEM;
  if (rc != 0) {
    free(v);
    v = NULL;
    n = 0;
  }
  *ret = v;
  *ret_n = n;
  return rc;
}
