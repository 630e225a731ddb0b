/* SPDX-License-Identifier: MIT */
/* Unit tests of the limiter: sliding-window limits per key, as the
 * per-URL trigger limit and the request-rate cap use them. */
#include "util/limiter.h"

#include <check.h>
#include <stdio.h>

/* ---- a trigger URL's limit ---- */

#define URL_A "https://api.runscope.test/radar/aaaa-1111/trigger"
#define URL_B "https://api.runscope.test/radar/bbbb-2222/trigger"

START_TEST(limiter_ten_per_ten_seconds) {
  struct limiter l;
  limiter_init_window(&l, 10, 10);
  for (int i = 0; i < 10; i++) {
    ck_assert_double_eq(limiter_wait(&l, URL_A, i * 0.1), 0);
    ck_assert_int_eq(limiter_note(&l, URL_A, i * 0.1), 0);
  }
  ck_assert_double_eq_tol(limiter_wait(&l, URL_A, 1), 9, 1e-9);
  ck_assert_double_eq(limiter_wait(&l, URL_B, 1), 0);
  ck_assert_double_eq_tol(limiter_wait(&l, URL_A, 9.95), 0.05, 1e-9);
  ck_assert_double_eq(limiter_wait(&l, URL_A, 10), 0);
  ck_assert_int_eq(limiter_note(&l, URL_A, 10), 0);
  ck_assert_double_eq_tol(limiter_wait(&l, URL_A, 10), 0.1, 1e-9);
  limiter_fini(&l);
}
END_TEST

START_TEST(limiter_blocks_after_429) {
  struct limiter l;
  limiter_init_window(&l, 10, 10);
  ck_assert_int_eq(limiter_block(&l, URL_A, 5, 35), 0);
  ck_assert_double_eq(limiter_wait(&l, URL_A, 5), 30);
  ck_assert_double_eq(limiter_wait(&l, URL_A, 35), 0);
  ck_assert_double_eq(limiter_wait(&l, URL_B, 5), 0);
  /* an earlier block does not shorten a later one */
  ck_assert_int_eq(limiter_block(&l, URL_A, 6, 20), 0);
  ck_assert_double_eq(limiter_wait(&l, URL_A, 6), 29);
  limiter_fini(&l);
}
END_TEST

START_TEST(limiter_forgets_idle_urls) {
  struct limiter l;
  limiter_init_window(&l, 2, 10);
  char url[64];
  for (int i = 0; i < 50; i++) {
    snprintf(url, sizeof(url), "https://x.test/radar/%08d/trigger", i);
    ck_assert_int_eq(limiter_note(&l, url, i * 20.0), 0);
  }
  ck_assert_uint_le(l.n, 2);
  /* limits above the slot size are clamped, 0 means 1 */
  limiter_fini(&l);
  limiter_init_window(&l, 100, 10);
  ck_assert_uint_eq(l.limit, 16);
  limiter_fini(&l);
  limiter_init_window(&l, 0, 10);
  ck_assert_uint_eq(l.limit, 1);
  limiter_fini(&l);
}
END_TEST

/* Triggers as fast as the limiter allows, completions taking `lag`
 * seconds: no 10 s window may hold more than 10 of them, and the limiter
 * must not be needlessly slow (20 triggers take about 10 s). */
START_TEST(limiter_property) {
  struct limiter l;
  limiter_init_window(&l, 10, 10);
  double sent[64], lag = 0.05 * _i;
  size_t n = 0;
  for (double t = 0; t < 25 && n < 64; t += 0.01) {
    if (limiter_wait(&l, URL_A, t) > 0)
      continue;
    sent[n++] = t;
    ck_assert_int_eq(limiter_note(&l, URL_A, t + lag), 0);
    t += lag;
  }
  for (size_t i = 10; i < n; i++)
    ck_assert_msg(sent[i] - sent[i - 10] >= 10, "11 triggers within %.2f s",
                  sent[i] - sent[i - 10]);
  ck_assert_uint_ge(n, 20);
  ck_assert_double_le(sent[19], 10.5 + 20 * lag);
  limiter_fini(&l);
}
END_TEST

/* ---- a request rate (MaxRequestsPerSecond) ---- */

/* The rate mode allows more per window than a trigger URL's slot, up to
 * LIMITER_RATE_MAX; 0 means 1. */
START_TEST(limiter_rate_limits) {
  struct limiter l;
  limiter_init_rate(&l, 0, 1);
  ck_assert_uint_eq(l.limit, 1);
  limiter_fini(&l);
  limiter_init_rate(&l, LIMITER_RATE_MAX + 1, 1);
  ck_assert_uint_eq(l.limit, LIMITER_RATE_MAX);
  limiter_fini(&l);
  limiter_init_rate(&l, 20, 1);
  ck_assert_uint_eq(l.limit, 20);
  for (int i = 0; i < 20; i++) {
    ck_assert_double_eq(limiter_wait(&l, "api", i * 0.01), 0);
    ck_assert_int_eq(limiter_note(&l, "api", i * 0.01), 0);
  }
  ck_assert_double_eq_tol(limiter_wait(&l, "api", 0.5), 0.5, 1e-9);
  ck_assert_double_eq(limiter_wait(&l, "other api", 0.5), 0);
  limiter_fini(&l);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("limiter");
  TCase *tc = tcase_create("at most 10 triggers per 10 s per URL");
  tcase_add_test(tc, limiter_ten_per_ten_seconds);
  tcase_add_test(tc, limiter_blocks_after_429);
  tcase_add_test(tc, limiter_forgets_idle_urls);
  tcase_add_loop_test(tc, limiter_property, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("a request rate");
  tcase_add_test(tc, limiter_rate_limits);
  suite_add_tcase(s, tc);
  return s;
}
