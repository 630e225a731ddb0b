/* SPDX-License-Identifier: MIT */
/* The project's json-c helpers: bounded parsing and liberal typed lookups. */
#include "util/jsonx.h"

#include "util/buf.h"
#include "util/str.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_json_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool all_ws(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_json_ws(p[i]))
      return false;
  return true;
}

/* Sets err for a tokener failure at offset off. */
static void parse_error(struct json_tokener *tok, size_t off, int max_depth,
                        struct err *err) {
  enum json_tokener_error e = json_tokener_get_error(tok);
  if (e == json_tokener_error_depth)
    err_set(err, "JSON nesting deeper than %d", max_depth);
  else
    err_set(err, "malformed JSON at offset %zu: %s", off,
            json_tokener_error_desc(e));
}

/* json-c cannot tell that a top-level number such as "42" has ended until it
 * sees another byte, so input that leaves the tokener waiting is finished
 * with one NUL byte; a value that is still open after that was truncated.
 * Note that a JSON null parses to a NULL json_object. */
static int finish(struct json_tokener *tok, size_t len, json_object **ret,
                  struct err *err) {
  *ret = json_tokener_parse_ex(tok, "", 1);
  if (json_tokener_get_error(tok) == json_tokener_success)
    return 0;
  json_object_put(*ret);
  *ret = NULL;
  err_set(err, "truncated JSON: input ends at offset %zu inside a value", len);
  return -EPROTO;
}

int jsonx_parse(const char *text, size_t len, int max_depth, json_object **ret,
                struct err *err) {
  *ret = NULL;
  if (max_depth < 1)
    max_depth = JSON_TOKENER_DEFAULT_DEPTH;
  if (len > INT_MAX - 1) {
    err_set(err, "JSON text of %zu bytes is too large", len);
    return -EPROTO;
  }
  if (text == NULL || all_ws(text, len)) {
    err_set(err, "empty JSON text");
    return -EPROTO;
  }
  struct json_tokener *tok = json_tokener_new_ex(max_depth);
  if (tok == NULL) {
    err_set(err, "out of memory for the JSON parser");
    return -ENOMEM;
  }
  int rc = 0;
  json_object *o = json_tokener_parse_ex(tok, text, (int)len);
  size_t end = json_tokener_get_parse_end(tok);
  enum json_tokener_error e = json_tokener_get_error(tok);
  if (e == json_tokener_continue) {
    rc = finish(tok, len, &o, err);
    end = len;
  } else if (e != json_tokener_success) {
    parse_error(tok, end, max_depth, err);
    rc = -EPROTO;
  }
  json_tokener_free(tok);
  if (rc == 0 && end < len && !all_ws(text + end, len - end)) {
    err_set(err, "trailing bytes after the JSON value at offset %zu", end);
    rc = -EPROTO;
  }
  if (rc != 0) {
    json_object_put(o);
    return rc;
  }
  *ret = o;
  return 0;
}

/* The member key of o when it has type t, else NULL. */
static json_object *member(json_object *o, const char *key, json_type t) {
  json_object *v = NULL;
  if (o == NULL || !json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) || v == NULL)
    return NULL;
  return json_object_is_type(v, t) ? v : NULL;
}

json_object *jsonx_obj(json_object *o, const char *key) {
  return member(o, key, json_type_object);
}

json_object *jsonx_arr(json_object *o, const char *key) {
  return member(o, key, json_type_array);
}

const char *jsonx_str(json_object *o, const char *key) {
  json_object *v = member(o, key, json_type_string);
  return v ? json_object_get_string(v) : NULL;
}

int jsonx_copy_str(json_object *o, const char *key, char *dst, size_t size) {
  json_object *v = NULL;
  if (size > 0)
    dst[0] = '\0';
  if (o == NULL || !json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) || v == NULL)
    return -ENOENT;
  if (!json_object_is_type(v, json_type_string))
    return -EPROTO;
  return str_copy(dst, size, json_object_get_string(v));
}

/* The member value of any type, NULL when absent or null. */
static json_object *any_member(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o == NULL || !json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v))
    return NULL;
  return v;
}

/* True when nothing but blanks follows a number. */
static bool only_blanks(const char *end) {
  while (*end == ' ' || *end == '\t')
    end++;
  return *end == '\0';
}

/* Parses a whole string (surrounding blanks allowed) as a finite number. */
static bool str_to_double(const char *s, double *ret) {
  char *end = NULL;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(d) || !only_blanks(end))
    return false;
  *ret = d;
  return true;
}

int jsonx_copy_id(json_object *o, const char *key, char *dst, size_t size,
                  const char *where, struct err *err) {
  if (jsonx_copy_str(o, key, dst, size) != -ENAMETOOLONG)
    return 0;
  dst[0] = '\0';
  err_set(err, "%s.%s is longer than %zu bytes", where, key, size - 1);
  return -EPROTO;
}

double jsonx_num(json_object *o, const char *key, double dflt) {
  json_object *v = any_member(o, key);
  double d;
  switch (v ? json_object_get_type(v) : json_type_null) {
  case json_type_int:
    return (double)json_object_get_int64(v);
  case json_type_double:
    d = json_object_get_double(v);
    return isfinite(d) ? d : dflt;
  case json_type_string:
    return str_to_double(json_object_get_string(v), &d) ? d : dflt;
  default:
    return dflt;
  }
}

/* Truncates d toward zero when it fits a long long. */
static bool double_to_ll(double d, long long *ret) {
  if (!isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
    return false;
  *ret = (long long)d;
  return true;
}

/* Parses a whole string (surrounding blanks allowed) as a decimal integer,
 * exactly (a double would lose digits past 2^53). */
static bool str_to_ll(const char *s, long long *ret) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(s, &end, 10);
  if (end == s || errno == ERANGE || !only_blanks(end))
    return false;
  *ret = n;
  return true;
}

long long jsonx_int(json_object *o, const char *key, long long dflt) {
  json_object *v = any_member(o, key);
  long long n;
  double d;
  switch (v ? json_object_get_type(v) : json_type_null) {
  case json_type_int:
    return (long long)json_object_get_int64(v);
  case json_type_double:
    return double_to_ll(json_object_get_double(v), &n) ? n : dflt;
  case json_type_string:
    if (str_to_ll(json_object_get_string(v), &n))
      return n;
    if (str_to_double(json_object_get_string(v), &d) && double_to_ll(d, &n))
      return n;
    return dflt;
  default:
    return dflt;
  }
}

bool jsonx_bool(json_object *o, const char *key, bool dflt) {
  json_object *v = any_member(o, key);
  if (v == NULL)
    return dflt;
  if (json_object_is_type(v, json_type_boolean))
    return json_object_get_boolean(v);
  if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    if (strcasecmp(s, "true") == 0)
      return true;
    if (strcasecmp(s, "false") == 0)
      return false;
  }
  return dflt;
}
