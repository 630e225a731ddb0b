/* Unit tests of the bounded buffers (buf) and error messages (err). */
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- err ---- */

/* A string of n 'a's (n < 2048). */
static const char *as(size_t n) {
  static char s[2048];
  memset(s, 'a', n);
  s[n] = '\0';
  return s;
}

static const struct {
  size_t len;     /* of the message set */
  bool truncated; /* ends in "..." */
} err_cases[] = {
    {0, false},
    {10, false},
    {ERR_MSG_MAX - 1, false}, /* fits exactly */
    {ERR_MSG_MAX, true},
    {1500, true},
};

START_TEST(test_err_set) {
  struct err e;
  err_set(&e, "%s", as(err_cases[_i].len));
  size_t n = strlen(e.msg);
  if (err_cases[_i].truncated) {
    ck_assert_uint_eq(n, ERR_MSG_MAX - 1);
    ck_assert_str_eq(e.msg + n - 3, "...");
    ck_assert_int_eq(e.msg[n - 4], 'a');
  } else {
    ck_assert_uint_eq(n, err_cases[_i].len);
    ck_assert_str_eq(e.msg, as(err_cases[_i].len));
  }
}
END_TEST

START_TEST(test_err_prefix) {
  struct err e;
  err_set(&e, "HTTP %d", 503);
  err_prefix(&e, "GET %s", "/buckets");
  err_prefix(&e, "runscope");
  ck_assert_str_eq(e.msg, "runscope: GET /buckets: HTTP 503");
}
END_TEST

START_TEST(test_err_prefix_truncates) {
  struct err e;
  err_set(&e, "%s", as(ERR_MSG_MAX - 3)); /* fits until prefixed */
  ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 3);
  err_prefix(&e, "step");
  size_t n = strlen(e.msg);
  ck_assert_uint_eq(n, ERR_MSG_MAX - 1);
  ck_assert_int_eq(strncmp(e.msg, "step: aaa", 9), 0);
  ck_assert_str_eq(e.msg + n - 3, "...");
}
END_TEST

START_TEST(test_err_null_and_clear) {
  err_set(NULL, "ignored %d", 1); /* must not crash */
  err_prefix(NULL, "ignored");
  err_clear(NULL);
  struct err e;
  err_set(&e, "boom");
  err_clear(&e);
  ck_assert_str_eq(e.msg, "");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- err_scrub, str_utf8_trim, str_snippet ---- */

static const struct {
  const char *msg, *secret, *want;
} scrub_cases[] = {
    {"GET /x?apiKey=s3cr3t: HTTP 403", "s3cr3t",
     "GET /x?apiKey=REDACTED: HTTP 403"},
    {"s3cr3t and s3cr3t", "s3cr3t", "REDACTED and REDACTED"},
    {"no secret here", "s3cr3t", "no secret here"},
    {"short pw in port", "pw", "short pw in port"}, /* below ERR_SCRUB_MIN */
    {"empty secret", "", "empty secret"},
    {"null secret", NULL, "null secret"},
};

START_TEST(test_err_scrub) {
  struct err e;
  err_set(&e, "%s", scrub_cases[_i].msg);
  err_scrub(&e, scrub_cases[_i].secret);
  ck_assert_str_eq(e.msg, scrub_cases[_i].want);
  err_scrub(NULL, "s3cr3t"); /* no-op */
}
END_TEST

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

/* A message at the limit: the replacement is cut, never overruns. */
START_TEST(test_err_scrub_full) {
  struct err e;
  char msg[ERR_MSG_MAX];
  memset(msg, 'a', sizeof(msg) - 8);
  memcpy(msg + sizeof(msg) - 8, "zzzz", 5);
  err_set(&e, "%s", msg);
  err_scrub(&e, "zzzz");
  ck_assert_uint_lt(strlen(e.msg), ERR_MSG_MAX);
  ck_assert_ptr_null(strstr(e.msg, "zzzz"));
}
END_TEST

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

/* array_reserve: room for one more, doubling from first; what was stored
 * stays; an impossible size leaves the array as it was. */
START_TEST(test_array_reserve) {
  long *v = NULL;
  size_t n = 0, cap = 0;
  for (long i = 0; i < 100; i++) {
    ck_assert_int_eq(array_reserve(&v, &cap, n, sizeof(*v), 4), 0);
    ck_assert_uint_gt(cap, n);
    v[n++] = i;
  }
  ck_assert_uint_eq(cap, 128); /* 4, 8, ..., 128 */
  for (long i = 0; i < 100; i++)
    ck_assert_int_eq(v[i], i);
  /* not full: nothing moves */
  long *before = v;
  ck_assert_int_eq(array_reserve(&v, &cap, 50, sizeof(*v), 4), 0);
  ck_assert_ptr_eq(v, before);
  ck_assert_uint_eq(cap, 128);
  /* a size that would overflow */
  size_t big_cap = SIZE_MAX / 2 + 1;
  ck_assert_int_eq(array_reserve(&v, &big_cap, big_cap, 2, 4), -ENOMEM);
  ck_assert_ptr_eq(v, before);
  ck_assert_uint_eq(big_cap, SIZE_MAX / 2 + 1);
  free(v);
  /* first 0 starts at one */
  char *c = NULL;
  cap = 0;
  ck_assert_int_eq(array_reserve(&c, &cap, 0, 1, 0), 0);
  ck_assert_uint_eq(cap, 1);
  free(c);
}
END_TEST

START_TEST(test_utf8_trim) {
  char s[32];
  ck_assert_int_eq(str_copy(s, sizeof(s), utf8_cases[_i].in), 0);
  str_utf8_trim(s);
  ck_assert_str_eq(s, utf8_cases[_i].want);
}
END_TEST

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

Suite *unit_suite(void) {
  Suite *s = suite_create("buf");
  TCase *tc = tcase_create("append_bounds");
  tcase_add_loop_test(tc, test_append_bounds, 0, N(append_cases));
  tcase_add_test(tc, test_append_binary);
  suite_add_tcase(s, tc);
  tc = tcase_create("reset");
  tcase_add_test(tc, test_reset_and_reuse);
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
  tc = tcase_create("str_copy");
  tcase_add_loop_test(tc, test_str_copy, 0, N(copy_cases));
  tcase_add_test(tc, test_str_copy_zero);
  suite_add_tcase(s, tc);
  tc = tcase_create("err");
  tcase_add_loop_test(tc, test_err_set, 0, N(err_cases));
  tcase_add_test(tc, test_err_prefix);
  tcase_add_test(tc, test_err_prefix_truncates);
  tcase_add_test(tc, test_err_null_and_clear);
  tcase_add_loop_test(tc, test_err_scrub, 0, N(scrub_cases));
  tcase_add_test(tc, test_err_scrub_full);
  tcase_add_test(tc, test_str_scrub_cut);
  suite_add_tcase(s, tc);
  tc = tcase_create("array");
  tcase_add_test(tc, test_array_reserve);
  suite_add_tcase(s, tc);
  tc = tcase_create("text");
  tcase_add_loop_test(tc, test_utf8_trim, 0, N(utf8_cases));
  tcase_add_loop_test(tc, test_snippet, 0, N(snippet_cases));
  suite_add_tcase(s, tc);
  return s;
}
