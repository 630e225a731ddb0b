/* SPDX-License-Identifier: MIT */
/* Unit tests of jscan, the tree-free JSON reader, and of the tests list's
 * fast path built on it: it must read exactly what json-c's tree reads. */
#include "clients/runscope.h"
#include "tests_page.h"
#include "testutil.h"
#include "util/jscan.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DEPTH 64

/* ---- whole documents: accepted or not ---- */

static const struct {
  const char *json;
  bool ok;
} docs[] = {
    {"{}", true},
    {"[]", true},
    {" { \"a\" : [1, -2.5e3, true, false, null, \"x\"] } ", true},
    {"\"\\u00e9\\ud83d\\ude00\\n\\\"\"", true},
    {"0", true},
    {"-0", true},
    {"123456789012345", true},   /* 15 digits: exact */
    {"1234567890123456", false}, /* 16: json-c's int64 path */
    {"12345678901234567.5", true},
    {"1e400", false}, /* not finite */
    {"01", false},
    {"1.", false},
    {".5", false},
    {"-", false},
    {"+1", false},
    {"[1,]", false},
    {"{\"a\":1,}", false},
    {"{\"a\" 1}", false},
    {"{'a':1}", false},
    {"[1] x", false},
    {"", false},
    {"   ", false},
    {"nul", false},
    {"[tru]", false},
    {"\"a\tb\"", false},    /* a raw control character */
    {"\"\\ud800\"", false}, /* a lone high surrogate */
    {"\"\\udc00\"", false}, /* a lone low surrogate */
    {"\"\\u0000\"", false}, /* would end json-c's C string */
    {"\"\\x41\"", false},   /* no such escape */
    {"\"\\u12g4\"", false},
    {"\"open", false},
    {"[1, 2", false},
    {"{\"a\": [}", false},
    {"// c\n1", false},
    {"NaN", false},
};

START_TEST(documents) {
  struct jscan s;
  const char *j = docs[_i].json;
  jscan_init(&s, j, strlen(j), DEPTH);
  int rc = jscan_skip(&s);
  if (rc == 0)
    rc = jscan_end(&s);
  ck_assert_msg((rc == 0) == docs[_i].ok, "%s: %d", j, rc);
}
END_TEST

START_TEST(depth) {
  struct jscan s;
  const char *two = "[[1]]", *three = "[[[1]]]";
  jscan_init(&s, two, strlen(two), 2);
  ck_assert_int_eq(jscan_skip(&s), 0);
  ck_assert_int_eq(jscan_end(&s), 0);
  jscan_init(&s, three, strlen(three), 2);
  ck_assert_int_ne(jscan_skip(&s), 0);
  ck_assert_int_ne(jscan_end(&s), 0); /* the error sticks */
}
END_TEST

/* ---- values ---- */

START_TEST(strings_and_numbers) {
  const char *j = "{\"s\":\"caf\\u00e9 \\ud83d\\ude00\\/\\\\\",\"n\":-1.25e2,"
                  "\"long\":\"abcdefgh\",\"t\":true,\"z\":null}";
  struct jscan s;
  char key[16], str[64], small[5];
  double d = 0;
  jscan_init(&s, j, strlen(j), DEPTH);
  ck_assert(jscan_enter(&s, '{'));
  ck_assert(jscan_member(&s, key, sizeof(key)));
  ck_assert_str_eq(key, "s");
  ck_assert_int_eq(jscan_peek(&s), JSCAN_STRING);
  ck_assert_int_eq(jscan_string(&s, str, sizeof(str)), 0);
  ck_assert_str_eq(str, "caf\xc3\xa9 \xf0\x9f\x98\x80/\\");
  ck_assert(jscan_member(&s, key, sizeof(key)));
  ck_assert_int_eq(jscan_peek(&s), JSCAN_NUMBER);
  ck_assert_int_eq(jscan_number(&s, &d), 0);
  ck_assert_double_eq(d, -125);
  ck_assert(jscan_member(&s, key, sizeof(key)));
  ck_assert_int_eq(jscan_string(&s, small, sizeof(small)), -ENAMETOOLONG);
  ck_assert_str_eq(small, "abcd"); /* cut, terminated */
  ck_assert(jscan_member(&s, key, sizeof(key)));
  ck_assert_int_eq(jscan_peek(&s), JSCAN_TRUE);
  ck_assert_int_eq(jscan_skip(&s), 0);
  ck_assert(jscan_member(&s, key, sizeof(key)));
  ck_assert_int_eq(jscan_peek(&s), JSCAN_NULL);
  ck_assert_int_eq(jscan_skip(&s), 0);
  ck_assert(!jscan_member(&s, key, sizeof(key)));
  ck_assert_int_eq(jscan_end(&s), 0);
}
END_TEST

/* Numbers convert to the very double strtod gives (as json-c's do),
 * whichever path converts them: the edges of the fast path (2^53, 19
 * digits, 22 digits after the point) and random tokens of every length. */
static void number_agrees(const char *tok) {
  struct jscan s;
  double got = 0, want = strtod(tok, NULL);
  jscan_init(&s, tok, strlen(tok), DEPTH);
  ck_assert_msg(jscan_number(&s, &got) == 0, "%s not read", tok);
  ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0, "%s: %.17g, not %.17g",
                tok, got, want);
  ck_assert_int_eq(jscan_end(&s), 0);
}

START_TEST(numbers_convert_as_strtod) {
  static const char *const edges[] = {
      "0", "-0", "-0.0", "0.1", "0.3", "1764000000.123456", "1764000000.5",
      "9007199254740.992", "9007199254740.993", "900719925474099.3",
      "9007199254740993.5", "1234567890123456789.5", "123456789012345.67891",
      "0.0000000000000000000001", "0.00000000000000000000001",
      "1.7976931348623157e308", "4.9e-324", "-2.5e3", "123456789012345",
      "17640000001234567.25", "1796678158.9594347", "1384281308.5480771",
      /* exactly halfway between doubles */
      "9007199254740993.0", "9007199254740993.00", "18014398509481986.0",
      "-18014398509481990.0",
      /* a hair off halfway */
      "9007199254740993.01", "9007199254740992.99", "999999999999999999.9",
      "9999999999999999.999"};
  char tok[64];
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
    number_agrees(edges[i]);
  srandom(17);
  for (int i = 0; i < 200000; i++) {
    int int_len = 1 + (int)(random() % 15), frac_len = 1 + (int)(random() % 24);
    int n = snprintf(tok, sizeof(tok), "%s%d", random() % 2 ? "-" : "",
                     1 + (int)(random() % 9));
    for (int k = 1; k < int_len; k++)
      tok[n++] = (char)('0' + random() % 10);
    tok[n++] = '.';
    for (int k = 0; k < frac_len; k++)
      tok[n++] = (char)('0' + random() % 10);
    tok[n] = '\0';
    number_agrees(tok);
  }
  /* times as answers give them: ten digits, then six to nine */
  for (int i = 0; i < 200000; i++) {
    int frac_len = 6 + (int)(random() % 4);
    int n = snprintf(tok, sizeof(tok), "1%09ld.", random() % 1000000000L);
    for (int k = 0; k < frac_len; k++)
      tok[n++] = (char)('0' + random() % 10);
    tok[n] = '\0';
    number_agrees(tok);
  }
}
END_TEST

/* Skipping checks a number as reading it would: no skip of what
 * jscan_number refuses. */
START_TEST(skipped_numbers_are_checked) {
  static const struct {
    const char *json;
    bool ok;
  } cases[] = {
      {"[1e308]", true},
      {"[1e309]", false},
      {"[-1E+400]", false},
      {"[123456789012345]", true},
      {"[1234567890123456]", false},
      {"[0.1234567890123456789012345678901234567890123456789012345]", true},
      {"[0.12345678901234567890123456789012345678901234567890123456"
       "789012345]",
       false}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct jscan s;
    jscan_init(&s, cases[i].json, strlen(cases[i].json), DEPTH);
    int rc = jscan_skip(&s);
    ck_assert_msg((rc == 0) == cases[i].ok, "%s: %d", cases[i].json, rc);
  }
}
END_TEST

/* A string cut to the buffer: at every size, across plain runs and escapes,
 * the cut is the value's first bytes, terminated. */
START_TEST(strings_cut_at_every_size) {
  const char *j = "\"ab\\\"cd\\u00e9ef\\\\\"";
  const char *whole = "ab\"cd\xc3\xa9"
                      "ef\\";
  char out[32];
  for (size_t size = 1; size <= strlen(whole) + 1; size++) {
    struct jscan s;
    jscan_init(&s, j, strlen(j), DEPTH);
    int rc = jscan_string(&s, out, size);
    ck_assert_int_eq(rc, size > strlen(whole) ? 0 : -ENAMETOOLONG);
    ck_assert_uint_eq(strlen(out),
                      size - 1 < strlen(whole) ? size - 1 : strlen(whole));
    ck_assert(strncmp(out, whole, strlen(out)) == 0);
    ck_assert_int_eq(jscan_end(&s), 0);
  }
}
END_TEST

/* Strings are read eight bytes at a time: every byte value at every place
 * within and across those eight, after plain bytes (high ones too) and
 * before bytes that the eight-at-a-time test could mistake for special
 * ones, ends the run where it should: a quote ends the string, a backslash
 * starts an escape, a control character is an error, any other byte is
 * the string's own. */
START_TEST(every_byte_at_every_offset) {
  /* after the byte: ones a borrow from it could mark as special */
  static const char tail[] = "#] !z";
  for (size_t offset = 0; offset <= 17; offset++) {
    for (int c = 1; c <= 0xff; c++) {
      char text[64], want[64], out[64];
      size_t n = 0, w = 0;
      text[n++] = '"';
      for (size_t i = 0; i < offset; i++)
        text[n++] = want[w++] = i % 3 == 2 ? (char)0xe9 : (char)('a' + i);
      size_t at = n;
      text[n++] = (char)c;
      if (c == '\\')
        text[n++] = 'n';
      if (c != '"')
        want[w++] = c == '\\' ? '\n' : (char)c;
      memcpy(want + w, tail, sizeof(tail));
      memcpy(text + n, tail, sizeof(tail) - 1);
      n += sizeof(tail) - 1;
      text[n++] = '"';
      struct jscan s;
      jscan_init(&s, text, n, DEPTH);
      int rc = jscan_string(&s, out, sizeof(out));
      if (c < 0x20) {
        ck_assert_msg(rc == -EPROTO, "byte %#x at %zu", c, offset);
        continue;
      }
      ck_assert_msg(rc == 0, "byte %#x at %zu: %d", c, offset, rc);
      if (c == '"')
        want[offset] = '\0';
      ck_assert_msg(strcmp(out, want) == 0, "byte %#x at %zu", c, offset);
      ck_assert_ptr_eq(s.p, c == '"' ? text + at + 1 : text + n);
    }
  }
}
END_TEST

/* A key longer than the caller's buffer, or escaped, is an error (the
 * fast path then leaves the answer to json-c). */
START_TEST(keys) {
  struct jscan s;
  char key[4];
  const char *a = "{\"abcd\":1}", *b = "{\"a\\u0062\":1}";
  jscan_init(&s, a, strlen(a), DEPTH);
  ck_assert(jscan_enter(&s, '{'));
  ck_assert(!jscan_member(&s, key, sizeof(key)));
  ck_assert_int_ne(jscan_end(&s), 0);
  jscan_init(&s, b, strlen(b), DEPTH);
  ck_assert(jscan_enter(&s, '{'));
  ck_assert(!jscan_member(&s, key, sizeof(key)));
  ck_assert(s.failed);
}
END_TEST

/* A key read in place is compared whole: neither a prefix of the name
 * nor a longer key that starts with it is the name. */
START_TEST(keys_in_place) {
  const char *j = "{\"i\":1,\"id\":2,\"ids\":3,\"\":4}";
  static const bool is_id[] = {false, true, false, false};
  struct jscan s;
  struct jscan_key key;
  jscan_init(&s, j, strlen(j), DEPTH);
  ck_assert(jscan_enter(&s, '{'));
  for (size_t i = 0; i < N(is_id); i++) {
    ck_assert(jscan_member_at(&s, &key));
    ck_assert_int_eq(jscan_key_is(key, "id"), is_id[i]);
    ck_assert_int_eq(jscan_skip(&s), 0);
  }
  ck_assert(!jscan_member_at(&s, &key));
  ck_assert_int_eq(jscan_end(&s), 0);
}
END_TEST

START_TEST(arrays) {
  const char *j = "[ {\"a\": [1, 2]}, [], \"x\" ]";
  struct jscan s;
  int items = 0;
  jscan_init(&s, j, strlen(j), DEPTH);
  ck_assert(jscan_enter(&s, '['));
  while (jscan_item(&s)) {
    items++;
    ck_assert_int_eq(jscan_skip(&s), 0);
  }
  ck_assert_int_eq(items, 3);
  ck_assert_int_eq(jscan_end(&s), 0);
}
END_TEST

/* ---- the tests list: the fast path reads what the tree reads ---- */

/* Both parsers on body: the same errno and, on success, the same tests. */
static void same_reading(const char *body, size_t len, const char *what) {
  struct rs_test *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  struct err ea = {{0}}, eb = {{0}};
  int ra = rs_parse_tests(body, len, DEPTH, &a, &na, &ea);
  int rb = rs_tree_tests(body, len, DEPTH, &b, &nb, &eb);
  ck_assert_msg(ra == rb, "%s: fast %d (%s), tree %d (%s)", what, ra, ea.msg,
                rb, eb.msg);
  if (ra == 0) {
    ck_assert_msg(na == nb, "%s: %zu and %zu tests", what, na, nb);
    for (size_t i = 0; i < na; i++) {
      ck_assert_str_eq(a[i].id, b[i].id);
      ck_assert_str_eq(a[i].name, b[i].name);
      ck_assert_str_eq(a[i].default_environment_id,
                       b[i].default_environment_id);
      ck_assert_str_eq(a[i].last_run_id, b[i].last_run_id);
      ck_assert_msg(
          memcmp(&a[i].last_run_at, &b[i].last_run_at, sizeof(double)) == 0,
          "%s: %.17g, %.17g", what, a[i].last_run_at, b[i].last_run_at);
      ck_assert_int_eq(a[i].last_run_known, b[i].last_run_known);
    }
  } else {
    ck_assert_str_eq(ea.msg, eb.msg);
  }
  free(a);
  free(b);
}

START_TEST(list_agrees_on_fixtures) {
  static const char *const files[] = {
      "runscope_tests.json",     "runscope_error_in_200.json",
      "runscope_no_data.json",   "runscope_wrong_type.json",
      "runscope_truncated.json", "runscope_deep.json",
      "runscope_error_403.json"};
  for (int i = 0; i < N(files); i++) {
    size_t len;
    char *body = fixture(files[i], &len);
    same_reading(body, len, files[i]);
    free(body);
  }
  size_t len;
  char *page = tests_page(50, &len);
  ck_assert_ptr_nonnull(page);
  same_reading(page, len, "the fake's page");
  struct rs_test *t = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_parse_tests(page, len, DEPTH, &t, &n, NULL), 0);
  ck_assert_uint_eq(n, 50);
  ck_assert_str_eq(t[7].last_run_id, "r-00007");
  ck_assert_str_eq(t[7].name, "Bench test \xc3\xa9"
                              "00007");
  ck_assert(t[7].last_run_known);
  free(t);
  free(page);
}
END_TEST

/* Ordinary variations of one item. */
static const char *const variations[] = {
    "{\"data\": [{\"id\": \"a\"}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": null}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": \"r1\"}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"uuid\": \"u\", "
    "\"started_at\": 5}}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"id\": \"\", \"uuid\": "
    "\"u\", \"created_at\": -1, \"finished_at\": 7}}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"id\": 5}}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run_created_at\": \"12\"}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run_created_at\": -3}]}",
    "{\"data\": [{\"id\": \"a\", \"name\": 5, \"default_environment_id\": "
    "7}]}",
    "{\"data\": [{\"id\": \"a\", \"id\": \"b\"}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": \"r\", \"last_run\": null}]}",
    "{\"data\": [], \"data\": [{\"id\": \"x\"}]}",
    "{\"data\": [{\"id\": \"\"}]}",
    "{\"data\": [{\"id\": null}]}",
    "{\"data\": [5]}",
    "{\"data\": {}}",
    "{\"error\": {\"status\": 500, \"message\": \"down\"}, \"data\": []}",
    "{\"error\": {}, \"data\": [{\"id\": \"a\"}]}",
    "{\"error\": \"boom\", \"data\": []}",
    "[]",
    "{\"data\": [{\"id\": \"a\\u0000b\"}]}",
    "{\"data\": [{\"id\": \"a\", \"name\": \"\\ud800\"}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"created_at\": "
    "12345678901234567}}]}",
    /* times: -0, 17 digits (strtod), exponents, the first positive one */
    "{\"data\": [{\"id\": \"a\", \"last_run_created_at\": -0.0}]}",
    "{\"data\": [{\"id\": \"a\", \"default_environment_id\": \"e\", "
    "\"default_environment_id\": 4}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"created_at\": -0, "
    "\"started_at\": 0.0, \"finished_at\": 1.7640000001e9}}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"created_at\": "
    "1764000000.1234567, \"started_at\": 1e400}}]}",
    "{\"data\": [{\"id\": \"a\", \"last_run\": {\"finished_at\": "
    "17640000012345678.25, \"created_at\": 1764000000.123456}, "
    "\"last_run_created_at\": 5}]}",
    "{\"data\": [{\"id\": "
    "\"0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789\"}]}",
};

START_TEST(list_agrees_on_variations) {
  same_reading(variations[_i], strlen(variations[_i]), variations[_i]);
}
END_TEST

/* Names longer than Runscope's field are cut at a character, both ways;
 * ids too long are the tree's error. */
START_TEST(list_agrees_on_long_values) {
  char body[2048], name[600];
  for (int len = RS_NAME_MAX - 4; len <= RS_NAME_MAX + 2; len++) {
    memset(name, 'n', (size_t)len);
    name[len] = '\0';
    snprintf(body, sizeof(body),
             "{\"data\": [{\"id\": \"a\", \"name\": \"%s\\u00e9z\"}]}", name);
    same_reading(body, strlen(body), "a long name");
    snprintf(body, sizeof(body),
             "{\"data\": [{\"id\": \"a\", \"name\": \"%s\xc3\xa9z\"}]}", name);
    same_reading(body, strlen(body), "a long raw UTF-8 name");
  }
}
END_TEST

/* Random damage to an ordinary page: whatever the bytes, both agree. */
START_TEST(list_agrees_on_damage) {
  size_t len;
  char *page = tests_page(50, &len);
  ck_assert_ptr_nonnull(page);
  char *copy = malloc(len + 1);
  ck_assert_ptr_nonnull(copy);
  unsigned seed = 77u + (unsigned)_i;
  static const char bytes[] = "{}[]\",:.-+eE0123456789 \\un\x01\xc3";
  for (int round = 0; round < 300; round++) {
    memcpy(copy, page, len + 1);
    size_t n = len;
    for (int k = 0, hits = 1 + rand_r(&seed) % 3; k < hits; k++) {
      size_t at = (size_t)rand_r(&seed) % n;
      if (rand_r(&seed) % 4 == 0)
        n = at; /* cut short */
      else
        copy[at] = bytes[rand_r(&seed) % (sizeof(bytes) - 1)];
    }
    char what[64];
    snprintf(what, sizeof(what), "seed %d round %d", _i, round);
    same_reading(copy, n, what);
  }
  free(copy);
  free(page);
}
END_TEST

/* ---- counting a page's items ---- */

static const struct {
  const char *text;
  size_t stop;
  long want;
} counts[] = {
    {"{\"data\": []}", 3, 0},
    {"{\"data\": [1, {\"a\": [2, 3]}, \"x\"]}", 3, 3},
    {"{\"meta\": {\"data\": [1, 2, 3, 4]}, \"data\": [1, 2]}", 1, 2},
    {"{\"data\": [1, 2, 3, 4, 5, 6]}", 3, 4}, /* stops at stop + 1 */
    /* the scanner stops before the damage past stop + 1 */
    {"{\"data\": [1, 2, 3, 4, 5, oops", 3, 4},
    {"{\"data\": [1, 2, oops]}", 3, -EPROTO},
    {"{\"data\": {\"a\": 1}}", 3, -EPROTO},
    {"{\"other\": [1, 2]}", 3, -EPROTO},
    {"[1, 2]", 3, -EPROTO},
    {"", 3, -EPROTO},
    {"{\"data\": [[[[[[1]]]]]]}", 3, -EPROTO}, /* deeper than allowed */
};

START_TEST(count_items) {
  ck_assert_int_eq(jscan_count_items(counts[_i].text, strlen(counts[_i].text),
                                     5, "data", counts[_i].stop),
                   counts[_i].want);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("jscan");
  TCase *tc = tcase_create("documents");
  tcase_add_loop_test(tc, documents, 0, N(docs));
  tcase_add_test(tc, depth);
  suite_add_tcase(s, tc);
  tc = tcase_create("values");
  tcase_add_test(tc, strings_and_numbers);
  tcase_add_test(tc, keys);
  tcase_add_test(tc, keys_in_place);
  tcase_add_test(tc, arrays);
  tcase_add_test(tc, numbers_convert_as_strtod);
  tcase_add_test(tc, skipped_numbers_are_checked);
  tcase_add_test(tc, strings_cut_at_every_size);
  tcase_add_test(tc, every_byte_at_every_offset);
  tcase_add_loop_test(tc, count_items, 0, N(counts));
  suite_add_tcase(s, tc);
  tc = tcase_create("the tests list reads as with the tree");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, list_agrees_on_fixtures);
  tcase_add_loop_test(tc, list_agrees_on_variations, 0, N(variations));
  tcase_add_test(tc, list_agrees_on_long_values);
  tcase_add_loop_test(tc, list_agrees_on_damage, 0, 6);
  suite_add_tcase(s, tc);
  return s;
}
