/* SPDX-License-Identifier: MIT */
/* Unit tests of the error messages (err): bounded, prefixed, scrubbed of
 * secrets. */
#include "util/err.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- err_set, err_prefix, err_clear ---- */

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

/* ---- err_scrub ---- */

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

/* A secret that straddles the cut (v of its bytes before the "..."):
 * scrubbed from the whole text first, no part of it is left; err_set then
 * err_scrub would leave those v bytes. */
START_TEST(test_err_set_scrubbed_straddle) {
  static const char secret[] = "S3CRETPASSWORD";
  size_t visible = 1 + (size_t)_i; /* 1 .. strlen(secret) - 1 */
  char text[2 * ERR_MSG_MAX];
  size_t at = ERR_MSG_MAX - 4 - visible; /* msg[ERR_MSG_MAX - 4] is '.' */
  memset(text, 'a', at);
  snprintf(text + at, sizeof(text) - at, "%s and a tail", secret);
  const char *const secrets[] = {NULL, "tail", secret};
  struct err e;
  err_set_scrubbed(&e, text, secrets, 3);
  ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
  ck_assert_str_eq(e.msg + ERR_MSG_MAX - 4, "...");
  char part[sizeof(secret)];
  snprintf(part, visible + 1, "%s", secret);
  ck_assert_msg(strncmp(e.msg + at, "REDACTED", visible < 8 ? visible : 8) == 0,
                "%s", e.msg + at);
  if (visible >= 2)
    ck_assert_ptr_null(strstr(e.msg, part));
  err_set_scrubbed(NULL, text, secrets, 3); /* no-op */
}
END_TEST

/* A short text: every secret scrubbed, nothing cut. */
START_TEST(test_err_set_scrubbed_short) {
  const char *const secrets[] = {"pw12", "tok-9", NULL, "pw"};
  struct err e;
  err_set_scrubbed(&e, "user pw12 token tok-9, pw12 again, pw short", secrets,
                   4);
  ck_assert_str_eq(e.msg, "user REDACTED token REDACTED, REDACTED again, pw "
                          "short");
}
END_TEST

/* ---- err_errno_text ---- */

START_TEST(test_errno_text) {
  ck_assert_str_eq(err_errno_text(ENOENT), "No such file or directory");
  ck_assert_str_eq(err_errno_text(EPROTO), "Protocol error");
  ck_assert_str_eq(err_errno_text(99999), "unknown error");
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("err");
  TCase *tc = tcase_create("messages");
  tcase_add_loop_test(tc, test_err_set, 0, N(err_cases));
  tcase_add_test(tc, test_err_prefix);
  tcase_add_test(tc, test_err_prefix_truncates);
  tcase_add_test(tc, test_err_null_and_clear);
  suite_add_tcase(s, tc);
  tc = tcase_create("scrub");
  tcase_add_loop_test(tc, test_err_scrub, 0, N(scrub_cases));
  tcase_add_test(tc, test_err_scrub_full);
  tcase_add_loop_test(tc, test_err_set_scrubbed_straddle, 0, 13);
  tcase_add_test(tc, test_err_set_scrubbed_short);
  suite_add_tcase(s, tc);
  tc = tcase_create("errno_text");
  tcase_add_test(tc, test_errno_text);
  suite_add_tcase(s, tc);
  return s;
}
