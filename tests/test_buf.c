/* SPDX-License-Identifier: MIT */
/* Unit tests of the bounded buffers (buf). */
#include "util/buf.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- buf_append and buf_puts bounds ---- */

static const struct {
  size_t max;
  const char *first;
  const char *second;
  int rc;             /* of the second append */
  const char *expect; /* contents after both */
} append_cases[] = {
    {8, "12345", "678", 0, "12345678"},          /* exactly the limit */
    {8, "12345", "6789", -EMSGSIZE, "12345"},    /* one past: unchanged */
    {8, "12345678", "9", -EMSGSIZE, "12345678"}, /* full */
    {8, "", "", 0, ""},
    {0, "", "x", -EMSGSIZE, ""},
    {200, "a",
     "0123456789012345678901234567890123456789012345678901234567890"
     "1234567890123456789",
     0,
     "a0123456789012345678901234567890123456789012345678901234567890"
     "1234567890123456789"}, /* grows past the first allocation */
};

START_TEST(test_append_bounds) {
  struct buf b;
  buf_init(&b, append_cases[_i].max);
  ck_assert_int_eq(buf_puts(&b, append_cases[_i].first), 0);
  ck_assert_int_eq(
      buf_append(&b, append_cases[_i].second, strlen(append_cases[_i].second)),
      append_cases[_i].rc);
  const char *data = b.data ? b.data : "";
  ck_assert_str_eq(data, append_cases[_i].expect);
  ck_assert_uint_eq(b.len, strlen(append_cases[_i].expect));
  ck_assert_uint_le(b.len, b.max);
  buf_fini(&b);
}
END_TEST

START_TEST(test_append_binary) {
  struct buf b;
  buf_init(&b, 16);
  ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_mem_eq(b.data, "a\0b\0", 4); /* NUL kept after the bytes */
  buf_fini(&b);
}
END_TEST

START_TEST(test_reset_and_reuse) {
  struct buf b;
  buf_init(&b, 16);
  ck_assert_int_eq(buf_puts(&b, "hello"), 0);
  char *mem = b.data;
  buf_reset(&b);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_ptr_eq(b.data, mem); /* memory kept */
  ck_assert_str_eq(b.data, "");
  ck_assert_int_eq(buf_puts(&b, "0123456789abcdef"), 0); /* full cap again */
  buf_fini(&b);
  ck_assert_ptr_null(b.data);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_uint_eq(b.max, 16);
  ck_assert_int_eq(buf_puts(&b, "again"), 0);
  ck_assert_str_eq(b.data, "again");
  buf_fini(&b);
}
END_TEST

/* ---- buf_printf ---- */

static const struct {
  size_t max;
  const char *before;
  int arg;
  int rc;
  const char *expect;
} printf_cases[] = {
    {32, "", 42, 0, "n=42;"},        {32, "x ", -7, 0, "x n=-7;"},
    {7, "x ", 42, 0, "x n=42;"},     /* exactly the limit */
    {7, "x ", 420, -EMSGSIZE, "x "}, /* one past: unchanged */
    {3, "", 12345, -EMSGSIZE, ""},
};

START_TEST(test_printf) {
  struct buf b;
  buf_init(&b, printf_cases[_i].max);
  ck_assert_int_eq(buf_puts(&b, printf_cases[_i].before), 0);
  ck_assert_int_eq(buf_printf(&b, "n=%d;", printf_cases[_i].arg),
                   printf_cases[_i].rc);
  ck_assert_str_eq(b.data ? b.data : "", printf_cases[_i].expect);
  ck_assert_uint_eq(b.len, strlen(printf_cases[_i].expect));
  buf_fini(&b);
}
END_TEST

START_TEST(test_printf_long) {
  struct buf b;
  buf_init(&b, 4096);
  ck_assert_int_eq(buf_printf(&b, "%0*d", 1000, 7), 0);
  ck_assert_uint_eq(b.len, 1000);
  ck_assert_uint_eq(strlen(b.data), 1000);
  ck_assert_int_eq(b.data[999], '7');
  ck_assert_int_eq(b.data[0], '0');
  buf_fini(&b);
}
END_TEST

/* ---- buf_put_urlenc ---- */

static const struct {
  const char *in;
  const char *out;
} urlenc_cases[] = {
    {"", ""},
    {"abcXYZ019", "abcXYZ019"},
    {"-._~", "-._~"},
    {"a b", "a%20b"},
    {"a,b/c", "a%2Cb%2Fc"},
    {"?&=+#%", "%3F%26%3D%2B%23%25"},
    {"\xc3\xa9", "%C3%A9"},
    {"2024-01-02T03:04:05Z", "2024-01-02T03%3A04%3A05Z"},
};

START_TEST(test_urlenc) {
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(buf_puts(&b, "q="), 0);
  ck_assert_int_eq(buf_put_urlenc(&b, urlenc_cases[_i].in), 0);
  ck_assert_str_eq(b.data + 2, urlenc_cases[_i].out);
  buf_fini(&b);
}
END_TEST

START_TEST(test_urlenc_bound) {
  struct buf b;
  buf_init(&b, 5);
  ck_assert_int_eq(buf_put_urlenc(&b, "a/"), 0); /* "a%2F": 4 bytes */
  ck_assert_int_eq(buf_put_urlenc(&b, "/"), -EMSGSIZE);
  ck_assert_uint_le(b.len, b.max);
  ck_assert_str_eq(b.data, "a%2F");
  buf_fini(&b);
}
END_TEST

/* ---- buf_detach ---- */

START_TEST(test_detach) {
  struct buf b;
  buf_init(&b, 32);
  ck_assert_int_eq(buf_puts(&b, "hello"), 0);
  char *s = buf_detach(&b);
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s, "hello");
  ck_assert_ptr_null(b.data);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_uint_eq(b.max, 32);
  ck_assert_int_eq(buf_puts(&b, "next"), 0); /* usable again, own memory */
  ck_assert_ptr_ne(b.data, s);
  ck_assert_str_eq(s, "hello");
  free(s);
  buf_fini(&b);
}
END_TEST

START_TEST(test_detach_empty) {
  static const size_t maxes[] = {0, 16};
  struct buf b;
  buf_init(&b, maxes[_i]);
  char *s = buf_detach(&b);
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s, "");
  free(s);
  buf_fini(&b);
}
END_TEST

START_TEST(test_detach_after_reset) {
  struct buf b;
  buf_init(&b, 16);
  ck_assert_int_eq(buf_puts(&b, "ab"), 0);
  buf_reset(&b);
  char *s = buf_detach(&b);
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s, "");
  free(s);
  buf_fini(&b);
}
END_TEST

/* buf_fini_wipe releases like buf_fini: empty, same maximum, usable. */
START_TEST(test_fini_wipe) {
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(buf_puts(&b, "Authorization: Bearer s3cr3t"), 0);
  buf_fini_wipe(&b);
  ck_assert_ptr_null(b.data);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_uint_eq(b.max, 64);
  buf_fini_wipe(&b); /* twice: nothing to wipe */
  ck_assert_int_eq(buf_puts(&b, "x"), 0);
  ck_assert_str_eq(b.data, "x");
  buf_fini(&b);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("buf");
  TCase *tc = tcase_create("append_bounds");
  tcase_add_loop_test(tc, test_append_bounds, 0, N(append_cases));
  tcase_add_test(tc, test_append_binary);
  suite_add_tcase(s, tc);
  tc = tcase_create("reset");
  tcase_add_test(tc, test_reset_and_reuse);
  tcase_add_test(tc, test_fini_wipe);
  suite_add_tcase(s, tc);
  tc = tcase_create("printf");
  tcase_add_loop_test(tc, test_printf, 0, N(printf_cases));
  tcase_add_test(tc, test_printf_long);
  suite_add_tcase(s, tc);
  tc = tcase_create("urlenc");
  tcase_add_loop_test(tc, test_urlenc, 0, N(urlenc_cases));
  tcase_add_test(tc, test_urlenc_bound);
  suite_add_tcase(s, tc);
  tc = tcase_create("detach");
  tcase_add_test(tc, test_detach);
  tcase_add_loop_test(tc, test_detach_empty, 0, 2);
  tcase_add_test(tc, test_detach_after_reset);
  suite_add_tcase(s, tc);
  return s;
}
