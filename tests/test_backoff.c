/* SPDX-License-Identifier: MIT */
/* Unit tests of the per-API back-off (backoff). */
#include "util/backoff.h"

#include <check.h>
#include <stdlib.h>

/* ---- backoff_delay: exponential, capped, jittered, Retry-After ---- */

static const struct {
  unsigned failures;
  double base, cap, retry_after, jitter;
  double expect;
} delay_cases[] = {
    {1, 10, 300, -1, 0.999999, 10},   /* the first: the interval */
    {2, 10, 300, -1, 0.999999, 20},   /* doubles */
    {3, 10, 300, -1, 0.999999, 40},   /* and again */
    {6, 10, 300, -1, 0.999999, 300},  /* 320 is capped */
    {60, 10, 300, -1, 0.999999, 300}, /* no overflow with many failures */
    {1000000, 1, 300, -1, 0.999999, 300},
    {3, 10, 300, -1, 0, 20},       /* jitter 0: half */
    {3, 10, 300, -1, 0.5, 30},     /* jitter 0.5: three quarters */
    {1, 10, 300, 120, 0, 120},     /* Retry-After above the delay wins */
    {4, 10, 300, 5, 0.999999, 80}, /* a shorter Retry-After does not */
    {1, 10, 300, 0, 0.999999, 10}, /* Retry-After: 0 */
    {1, 10, 300, 1e9, 0, BACKOFF_RETRY_AFTER_MAX}, /* an absurd one */
    {2, 0, 300, -1, 0.999999, 2},                  /* base 0 counts as 1 s */
    {3, 10, 5, -1, 0.999999, 10},                  /* a cap below the base */
    {2, 10, 300, -1, 7, 10}, /* a jitter out of range counts as 0 */
};

START_TEST(test_delay) {
  double d = backoff_delay(delay_cases[_i].failures, delay_cases[_i].base,
                           delay_cases[_i].cap, delay_cases[_i].retry_after,
                           delay_cases[_i].jitter);
  ck_assert_double_eq_tol(d, delay_cases[_i].expect, 1e-3);
}
END_TEST

/* ---- backoff_failed, backoff_active, backoff_reset ---- */

START_TEST(test_streak_grows_and_resets) {
  struct backoff b = {0};
  ck_assert(!backoff_active(&b, 1000));
  backoff_failed(&b, 1000, 10, 300, -1, 0.999999);
  ck_assert_uint_eq(b.failures, 1);
  ck_assert(backoff_active(&b, 1005));
  ck_assert(!backoff_active(&b, 1010));
  backoff_failed(&b, 1010, 10, 300, -1, 0.999999);
  ck_assert_uint_eq(b.failures, 2);
  ck_assert(backoff_active(&b, 1029));
  ck_assert(!backoff_active(&b, 1030));
  backoff_reset(&b);
  ck_assert_uint_eq(b.failures, 0);
  ck_assert(!backoff_active(&b, 1031));
  backoff_failed(&b, 1031, 10, 300, -1, 0.999999);
  ck_assert_uint_eq(b.failures, 1); /* a success started the count again */
  ck_assert_double_eq_tol(b.until, 1041, 1e-3);
}
END_TEST

/* Several calls of one cycle fail: one failure, not one per call. */
START_TEST(test_failures_inside_a_backoff_count_once) {
  struct backoff b = {0};
  backoff_failed(&b, 1000, 10, 300, -1, 0.999999);
  backoff_failed(&b, 1000.5, 10, 300, -1, 0.999999);
  backoff_failed(&b, 1001, 10, 300, -1, 0.999999);
  ck_assert_uint_eq(b.failures, 1);
  ck_assert_double_eq_tol(b.until, 1010, 1e-3);
}
END_TEST

/* A Retry-After of a later call in the same back-off lengthens it. */
START_TEST(test_retry_after_inside_a_backoff_lengthens_it) {
  struct backoff b = {0};
  backoff_failed(&b, 1000, 10, 300, -1, 0.999999);
  backoff_failed(&b, 1001, 10, 300, 60, 0.5);
  ck_assert_uint_eq(b.failures, 1);
  ck_assert_double_eq_tol(b.until, 1061, 1e-3);
  backoff_failed(&b, 1002, 10, 300, 5, 0.5); /* shorter: no change */
  ck_assert_double_eq_tol(b.until, 1061, 1e-3);
  backoff_failed(&b, 1003, 10, 300, 1e9, 0.5); /* capped */
  ck_assert_double_eq_tol(b.until, 1003 + BACKOFF_RETRY_AFTER_MAX, 1e-3);
}
END_TEST

START_TEST(test_retry_after_starts_a_backoff) {
  struct backoff b = {0};
  backoff_failed(&b, 1000, 1, 300, 30, 0);
  ck_assert(backoff_active(&b, 1029.9));
  ck_assert(!backoff_active(&b, 1030));
  ck_assert_double_eq_tol(b.delay, 30, 1e-3);
}
END_TEST

/* Every Retry-After is capped the same way (an API's, a trigger's). */
static const double cap_cases[][2] = {
    {-1, -1},     {0, 0},      {30, 30},      {3600, 3600},
    {3601, 3600}, {1e7, 3600}, {1e300, 3600},
};

START_TEST(test_cap_retry_after) {
  ck_assert_double_eq(backoff_cap_retry_after(cap_cases[_i][0]),
                      cap_cases[_i][1]);
}
END_TEST

/* ---- backoff_jitter ---- */

START_TEST(test_jitter_in_range_and_varied) {
  uint32_t state = 0;
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; i++) {
    double j = backoff_jitter(&state);
    ck_assert(j >= 0 && j < 1);
    if (j < lo)
      lo = j;
    if (j > hi)
      hi = j;
  }
  ck_assert(lo < 0.01);
  ck_assert(hi > 0.99);
  ck_assert_uint_ne(state, 0);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("backoff");
  TCase *tc = tcase_create("delay");
  tcase_add_loop_test(tc, test_delay, 0,
                      sizeof(delay_cases) / sizeof(delay_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("streak");
  tcase_add_test(tc, test_streak_grows_and_resets);
  tcase_add_test(tc, test_failures_inside_a_backoff_count_once);
  suite_add_tcase(s, tc);
  tc = tcase_create("retry_after");
  tcase_add_test(tc, test_retry_after_inside_a_backoff_lengthens_it);
  tcase_add_test(tc, test_retry_after_starts_a_backoff);
  tcase_add_loop_test(tc, test_cap_retry_after, 0,
                      sizeof(cap_cases) / sizeof(cap_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("jitter");
  tcase_add_test(tc, test_jitter_in_range_and_varied);
  suite_add_tcase(s, tc);
  return s;
}
