/* SPDX-License-Identifier: MIT */
/* Unit tests of the string helpers (str): bounded copies, UTF-8 trims,
 * snippets of a body, secrets scrubbed. */
#include "util/str.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- str_copy ---- */

static const struct {
  size_t size;
  const char *src;
  int rc;
  const char *expect;
} copy_cases[] = {
    {8, "abc", 0, "abc"},
    {4, "abc", 0, "abc"}, /* exactly fits with its NUL */
    {3, "abc", -ENAMETOOLONG, "ab"},
    {1, "abc", -ENAMETOOLONG, ""},
    {1, "", 0, ""},
};

START_TEST(test_str_copy) {
  char dst[16];
  memset(dst, 'Z', sizeof(dst));
  ck_assert_int_eq(str_copy(dst, copy_cases[_i].size, copy_cases[_i].src),
                   copy_cases[_i].rc);
  ck_assert_str_eq(dst, copy_cases[_i].expect);
  ck_assert_int_eq(dst[copy_cases[_i].size], 'Z'); /* nothing past size */
}
END_TEST

START_TEST(test_str_copy_zero) {
  char dst[4] = "keep";
  ck_assert_int_eq(str_copy(dst, 0, "abc"), -ENAMETOOLONG);
  ck_assert_mem_eq(dst, "keep", 4);
}
END_TEST

/* ---- str_scrub ---- */

/* str_scrub cuts after scrubbing: no fragment of a secret at the cut. */
START_TEST(test_str_scrub_cut) {
  char out[12];
  str_scrub(out, sizeof(out), "xxxxxxxxs3cr3t tail", "s3cr3t");
  ck_assert_str_eq(out, "xxxxxxxxRED");
  str_scrub(out, sizeof(out), "ab s3cr3t s3cr3t", "s3cr3t");
  ck_assert_str_eq(out, "ab REDACTED");
  str_scrub(out, 1, "anything", "s3cr3t");
  ck_assert_str_eq(out, "");
  str_scrub(out, sizeof(out), "a p in port", "p"); /* too short: kept */
  ck_assert_str_eq(out, "a p in port");
}
END_TEST

/* ---- str_utf8_trim ---- */

static const struct {
  const char *in, *want;
} utf8_cases[] = {
    {"plain", "plain"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},     /* complete 2-byte */
    {"caf\xc3", "caf"},                 /* cut 2-byte */
    {"x\xe2\x82", "x"},                 /* cut 3-byte */
    {"x\xe2\x82\xac", "x\xe2\x82\xac"}, /* complete 3-byte */
    {"x\xf0\x9f\x98", "x"},             /* cut 4-byte */
    {"", ""},
};

START_TEST(test_utf8_trim) {
  char s[32];
  ck_assert_int_eq(str_copy(s, sizeof(s), utf8_cases[_i].in), 0);
  str_utf8_trim(s);
  ck_assert_str_eq(s, utf8_cases[_i].want);
}
END_TEST

/* ---- str_snippet ---- */

static const struct {
  const char *in;
  size_t size;
  const char *want;
} snippet_cases[] = {
    {"  <html>\n\t<body>Bad   Gateway</body>\r\n", 64,
     "<html> <body>Bad Gateway</body>"},
    {"abcdef", 4, "abc"},
    {"\n\n", 8, ""},
    {"ab\xc3\xa9", 4, "ab"}, /* cut inside the character */
};

START_TEST(test_snippet) {
  char out[64];
  str_snippet(snippet_cases[_i].in, strlen(snippet_cases[_i].in), out,
              snippet_cases[_i].size);
  ck_assert_str_eq(out, snippet_cases[_i].want);
}
END_TEST

/* ---- str_printable ---- */

static const struct {
  const char *in, *want;
  size_t replaced;
} printable_cases[] = {
    {"Ann Smith", "Ann Smith", 0},
    /* a forged second line, a terminal escape, a tab, DEL */
    {"Ann\n<13>collectd: root login", "Ann?<13>collectd: root login", 1},
    {"\x1b[31mred\x1b[0m", "?[31mred?[0m", 2},
    {"a\tb\rc\x7f", "a?b?c?", 3},
    {"\x01\x1f ", "?? ", 2},
    /* UTF-8 (2, 3 and 4 bytes) and C1-looking continuation bytes stay */
    {"J\xc3\xa9r\xc3\xb4me \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\x85",
     "J\xc3\xa9r\xc3\xb4me \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\x85", 0},
    {"", "", 0},
};

START_TEST(test_printable) {
  char s[64];
  ck_assert_int_eq(str_copy(s, sizeof(s), printable_cases[_i].in), 0);
  ck_assert_uint_eq(str_printable(s), printable_cases[_i].replaced);
  ck_assert_str_eq(s, printable_cases[_i].want);
}
END_TEST

/* ---- heap strings sized to their content ---- */

/* str_set copies (cut to max - 1 bytes), keeps none for "" or NULL, and
 * may copy from the string it replaces. */
START_TEST(test_str_set) {
  char *s = NULL;
  ck_assert_int_eq(str_set(&s, "deploy", 0), 0);
  ck_assert_str_eq(s, "deploy");
  ck_assert_int_eq(str_set(&s, "weekly window", 7), 0);
  ck_assert_str_eq(s, "weekly");
  ck_assert_int_eq(str_set(&s, s + 2, 0), 0); /* from itself */
  ck_assert_str_eq(s, "ekly");
  ck_assert_int_eq(str_set(&s, "", 0), 0);
  ck_assert_ptr_null(s);
  ck_assert_str_eq(str_or_empty(s), "");
  ck_assert_int_eq(str_set(&s, "x", 0), 0);
  ck_assert_int_eq(str_set(&s, NULL, 0), 0);
  ck_assert_ptr_null(s);
}
END_TEST

/* ---- wiping secrets ---- */

/* str_wipe zeroes the string's bytes, and only those. */
START_TEST(test_wipe) {
  char s[] = "s3cr3t-token\0tail";
  str_wipe(s);
  for (size_t i = 0; i < 12; i++)
    ck_assert_int_eq(s[i], 0);
  ck_assert_str_eq(s + 13, "tail");
  str_wipe(NULL); /* no-op */
  char empty[] = "";
  str_wipe(empty);
  ck_assert_int_eq(empty[0], 0);
  str_free_secret(NULL); /* no-op */
  str_free_secret(strdup("pw"));
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("str");
  TCase *tc = tcase_create("str_copy");
  tcase_add_loop_test(tc, test_str_copy, 0, N(copy_cases));
  tcase_add_test(tc, test_str_copy_zero);
  tcase_add_test(tc, test_str_set);
  suite_add_tcase(s, tc);
  tc = tcase_create("str_scrub");
  tcase_add_test(tc, test_str_scrub_cut);
  suite_add_tcase(s, tc);
  tc = tcase_create("text");
  tcase_add_loop_test(tc, test_utf8_trim, 0, N(utf8_cases));
  tcase_add_loop_test(tc, test_snippet, 0, N(snippet_cases));
  tcase_add_loop_test(tc, test_printable, 0, N(printable_cases));
  tcase_add_test(tc, test_wipe);
  suite_add_tcase(s, tc);
  return s;
}
