/* SPDX-License-Identifier: MIT */
/* Unit tests of the json-c helpers: bounded parsing and typed lookups. */
#include "testutil.h"
#include "util/jsonx.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Nested arrays: depth levels of "[" around a 1. Caller frees. */
static char *nested(int depth) {
  char *s = malloc((size_t)depth * 2 + 2);
  ck_assert_ptr_nonnull(s);
  memset(s, '[', (size_t)depth);
  s[depth] = '1';
  memset(s + depth + 1, ']', (size_t)depth);
  s[depth * 2 + 1] = '\0';
  return s;
}

/* ---- parsing ---- */

static const struct {
  const char *text;
  json_type type;
} good[] = {
    {"{}", json_type_object},
    {"[]", json_type_array},
    {"42", json_type_int},
    {"-1.5", json_type_double},
    {"\"text\"", json_type_string},
    {"true", json_type_boolean},
    {"null", json_type_null},
    {"  {\"a\": [1, 2, {\"b\": null}]}\r\n\t ", json_type_object},
    {"1406061608.506811\n", json_type_double},
};

START_TEST(parse_accepts) {
  json_object *o = (json_object *)&o; /* any non-NULL value */
  struct err err;
  err_clear(&err);
  int rc = jsonx_parse(good[_i].text, strlen(good[_i].text), 64, &o, &err);
  ck_assert_msg(rc == 0, "%s: %s", good[_i].text, err.msg);
  ck_assert_int_eq(json_object_get_type(o), good[_i].type);
  json_object_put(o);
}
END_TEST

static const struct {
  const char *text;
  size_t len; /* 0: strlen */
  const char *cause;
} bad[] = {
    {"", 0, "empty JSON text"},
    {"   \n", 0, "empty JSON text"},
    {"{\"data\": [1, 2", 0, "truncated JSON"},
    {"{\"data\": \"unterminated", 0, "truncated JSON"},
    {"[1, 2] x", 0, "trailing bytes after the JSON value at offset 7"},
    {"{} {}", 0, "trailing bytes"},
    {"{\"a\": 1}\0garbage", 16, "trailing bytes"},
    {"{\"a\": tru}", 0, "malformed JSON at offset"},
    {"{\"a\" 1}", 0, "malformed JSON at offset 5"},
    {"<html>Bad gateway</html>", 0, "malformed JSON at offset 0"},
    {"]", 0, "malformed JSON"},
};

START_TEST(parse_rejects) {
  json_object *o = (json_object *)&o;
  struct err err;
  err_clear(&err);
  size_t len = bad[_i].len ? bad[_i].len : strlen(bad[_i].text);
  int rc = jsonx_parse(bad[_i].text, len, 64, &o, &err);
  ck_assert_int_eq(rc, -EPROTO);
  ck_assert_ptr_null(o);
  ck_assert_msg(strstr(err.msg, bad[_i].cause) != NULL, "%s: got \"%s\"",
                bad[_i].text, err.msg);
}
END_TEST

/* max_depth counts nested values: [[1]] is 3 deep. */
START_TEST(parse_depth_limit) {
  struct err err;
  json_object *o = NULL;
  char *ok = nested(63), *deep = nested(64);
  ck_assert_int_eq(jsonx_parse(ok, strlen(ok), 64, &o, &err), 0);
  json_object_put(o);
  ck_assert_int_eq(jsonx_parse(deep, strlen(deep), 64, &o, &err), -EPROTO);
  ck_assert_ptr_null(o);
  ck_assert_str_eq(err.msg, "JSON nesting deeper than 64");
  ck_assert_int_eq(jsonx_parse("[[1]]", 5, 2, &o, &err), -EPROTO);
  ck_assert_str_eq(err.msg, "JSON nesting deeper than 2");
  ck_assert_int_eq(jsonx_parse("[[1]]", 5, 3, &o, &err), 0);
  json_object_put(o);
  free(ok);
  free(deep);
}
END_TEST

static const struct {
  const char *name;
  int rc;
} fixtures[] = {
    {"runscope_buckets.json", 0},         {"runscope_results.json", 0},
    {"runscope_deep.json", -EPROTO},      {"runscope_truncated.json", -EPROTO},
    {"xmatters_events.json", 0},          {"xmatters_deep.json", -EPROTO},
    {"xmatters_truncated.json", -EPROTO},
};

START_TEST(parse_fixtures) {
  size_t len;
  char *text = fixture(fixtures[_i].name, &len);
  json_object *o = NULL;
  struct err err;
  err_clear(&err);
  ck_assert_msg(jsonx_parse(text, len, 64, &o, &err) == fixtures[_i].rc,
                "%s: %s", fixtures[_i].name, err.msg);
  if (fixtures[_i].rc != 0)
    ck_assert_msg(strstr(err.msg, "deeper than 64") != NULL ||
                      strstr(err.msg, "truncated") != NULL,
                  "%s: %s", fixtures[_i].name, err.msg);
  json_object_put(o);
  free(text);
}
END_TEST

START_TEST(parse_null_err) {
  json_object *o = NULL;
  ck_assert_int_eq(jsonx_parse("[", 1, 64, &o, NULL), -EPROTO);
  ck_assert_int_eq(jsonx_parse("[1]", 3, 0, &o, NULL), 0); /* default depth */
  json_object_put(o);
}
END_TEST

/* ---- lookups ---- */

static json_object *sample(void) {
  static const char text[] =
      "{\"obj\": {\"k\": 1}, \"arr\": [1], \"str\": \"hello\", \"nul\": null,"
      " \"int\": 42, \"dbl\": 1406061608.506811, \"numstr\": \"1406061608.5\","
      " \"intstr\": \" 9007199254740993 \", \"bad\": \"12abc\", \"t\": true,"
      " \"f\": false, \"tstr\": \"TRUE\", \"fstr\": \"false\", \"neg\": -7.9,"
      " \"big\": 1e300, \"empty\": \"\"}";
  json_object *o = NULL;
  ck_assert_int_eq(jsonx_parse(text, strlen(text), 8, &o, NULL), 0);
  return o;
}

START_TEST(lookup_types) {
  json_object *o = sample();
  ck_assert_ptr_nonnull(jsonx_obj(o, "obj"));
  ck_assert_ptr_null(jsonx_obj(o, "arr"));
  ck_assert_ptr_null(jsonx_obj(o, "nul"));
  ck_assert_ptr_null(jsonx_obj(o, "missing"));
  ck_assert_ptr_nonnull(jsonx_arr(o, "arr"));
  ck_assert_ptr_null(jsonx_arr(o, "obj"));
  ck_assert_str_eq(jsonx_str(o, "str"), "hello");
  ck_assert_ptr_null(jsonx_str(o, "int"));
  ck_assert_ptr_null(jsonx_str(o, "nul"));
  /* not an object at all */
  ck_assert_ptr_null(jsonx_str(jsonx_arr(o, "arr"), "str"));
  ck_assert_ptr_null(jsonx_obj(NULL, "obj"));
  json_object_put(o);
}
END_TEST

/* An id that does not fit is an error that names where it was; an absent
 * or mistyped one is "" for the caller to judge. */
START_TEST(lookup_copy_id) {
  json_object *o = sample();
  char small[4], big[16];
  struct err err = {{0}};
  ck_assert_int_eq(jsonx_copy_id(o, "str", big, sizeof(big), "data[0]", &err),
                   0);
  ck_assert_str_eq(big, "hello");
  ck_assert_int_eq(
      jsonx_copy_id(o, "str", small, sizeof(small), "data[0]", &err), -EPROTO);
  ck_assert_str_eq(small, "");
  ck_assert_str_eq(err.msg, "data[0].str is longer than 3 bytes");
  ck_assert_int_eq(jsonx_copy_id(o, "int", big, sizeof(big), "x", NULL), 0);
  ck_assert_str_eq(big, "");
  ck_assert_int_eq(jsonx_copy_id(o, "missing", big, sizeof(big), "x", NULL), 0);
  json_object_put(o);
}
END_TEST

START_TEST(lookup_copy_str) {
  json_object *o = sample();
  char small[4], big[16];
  ck_assert_int_eq(jsonx_copy_str(o, "str", big, sizeof(big)), 0);
  ck_assert_str_eq(big, "hello");
  ck_assert_int_eq(jsonx_copy_str(o, "str", small, sizeof(small)),
                   -ENAMETOOLONG);
  ck_assert_str_eq(small, "hel");
  ck_assert_int_eq(jsonx_copy_str(o, "missing", big, sizeof(big)), -ENOENT);
  ck_assert_str_eq(big, "");
  strcpy(big, "x");
  ck_assert_int_eq(jsonx_copy_str(o, "nul", big, sizeof(big)), -ENOENT);
  ck_assert_str_eq(big, "");
  strcpy(big, "x");
  ck_assert_int_eq(jsonx_copy_str(o, "int", big, sizeof(big)), -EPROTO);
  ck_assert_str_eq(big, "");
  ck_assert_int_eq(jsonx_copy_str(o, "empty", big, sizeof(big)), 0);
  json_object_put(o);
}
END_TEST

static const struct {
  const char *key;
  double num;
  long long integer;
} numbers[] = {
    {"int", 42, 42},
    {"dbl", 1406061608.506811, 1406061608},
    {"numstr", 1406061608.5, 1406061608},
    {"intstr", 9007199254740992.0, 9007199254740993LL},
    {"neg", -7.9, -7},
    {"bad", -1, -1},
    {"str", -1, -1},
    {"nul", -1, -1},
    {"missing", -1, -1},
    {"t", -1, -1},
    {"obj", -1, -1},
    {"big", 1e300, -1},
};

START_TEST(lookup_numbers) {
  json_object *o = sample();
  ck_assert_double_eq_tol(jsonx_num(o, numbers[_i].key, -1), numbers[_i].num,
                          1e-6);
  ck_assert_msg(jsonx_int(o, numbers[_i].key, -1) == numbers[_i].integer,
                "%s: %lld", numbers[_i].key, jsonx_int(o, numbers[_i].key, -1));
  json_object_put(o);
}
END_TEST

START_TEST(lookup_bool) {
  json_object *o = sample();
  ck_assert(jsonx_bool(o, "t", false));
  ck_assert(!jsonx_bool(o, "f", true));
  ck_assert(jsonx_bool(o, "tstr", false));
  ck_assert(!jsonx_bool(o, "fstr", true));
  ck_assert(jsonx_bool(o, "str", true));
  ck_assert(!jsonx_bool(o, "int", false));
  ck_assert(jsonx_bool(o, "missing", true));
  ck_assert(!jsonx_bool(o, "nul", false));
  json_object_put(o);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("jsonx");
  TCase *tc = tcase_create("parse accepts one value");
  tcase_add_loop_test(tc, parse_accepts, 0, N(good));
  suite_add_tcase(s, tc);
  tc = tcase_create("parse rejects malformed, truncated and trailing");
  tcase_add_loop_test(tc, parse_rejects, 0, N(bad));
  tcase_add_test(tc, parse_null_err);
  suite_add_tcase(s, tc);
  tc = tcase_create("parse bounds nesting");
  tcase_add_test(tc, parse_depth_limit);
  tcase_add_loop_test(tc, parse_fixtures, 0, N(fixtures));
  suite_add_tcase(s, tc);
  tc = tcase_create("typed lookups");
  tcase_add_test(tc, lookup_types);
  tcase_add_test(tc, lookup_copy_str);
  tcase_add_test(tc, lookup_copy_id);
  tcase_add_loop_test(tc, lookup_numbers, 0, N(numbers));
  tcase_add_test(tc, lookup_bool);
  suite_add_tcase(s, tc);
  return s;
}
