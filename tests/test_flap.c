/* SPDX-License-Identifier: MIT */
/* Unit tests of flap damping (core/flap.c): Nagios's weighted percent
 * state change, worked by hand, and the thresholds' hysteresis. */
#include "core/flap.h"

#include <check.h>
#include <string.h>

/* Builds a history from a string of verdicts, oldest first: 'F' failed,
 * 'P' passed. */
static struct flap_history history(const char *verdicts) {
  struct flap_history h;
  memset(&h, 0, sizeof(h));
  for (const char *p = verdicts; *p != '\0'; p++)
    flap_record(&h, *p == 'F');
  return h;
}

/* Percents worked by hand from Nagios's rule (21 verdicts, 20 possible
 * changes weighing 0.75 for the oldest to 1.25 for the newest). */
static const struct {
  const char *verdicts;
  size_t window;
  double percent;
} percent_cases[] = {
    /* no verdict, one verdict, no change */
    {"", 21, 0},
    {"F", 21, 0},
    {"FFFFFFFFFFFFFFFFFFFFF", 21, 0},
    /* every verdict a change: the weights sum to 20 */
    {"FPFPFPFPFPFPFPFPFPFPF", 21, 100},
    /* one change, the newest: 1.25 * 100 / 20 */
    {"PPPPPPPPPPPPPPPPPPPPF", 21, 6.25},
    /* one change, the oldest: 0.75 * 100 / 20 */
    {"FPPPPPPPPPPPPPPPPPPPP", 21, 3.75},
    /* seven changes, at x = 2, 5, 9, 11, 14, 17, 20: unweighted 35 %,
     * weighted 7.118421 * 100 / 20 */
    {"PPFFFPPPPFFPPPFFFPPPF", 21, 35.592105},
    /* a short history counts as if its oldest verdict came before it:
     * its one change is the newest */
    {"FP", 21, 6.25},
    /* verdicts older than the window do not count */
    {"FPFPFPFPFPPPPPPPPPPPPPPPPPPPPP", 21, 0},
    /* another window: 5 verdicts, 4 changes weighing 0.75, 0.91667,
     * 1.08333, 1.25 */
    {"FPFPF", 5, 100},
    {"PPPFP", 5, (1.08333333 + 1.25) * 100 / 4},
};

START_TEST(test_percent) {
  struct flap_history h = history(percent_cases[_i].verdicts);
  double got = flap_percent(&h, percent_cases[_i].window);
  ck_assert_msg(got > percent_cases[_i].percent - 1e-4 &&
                    got < percent_cases[_i].percent + 1e-4,
                "%s over %zu: %f, want %f", percent_cases[_i].verdicts,
                percent_cases[_i].window, got, percent_cases[_i].percent);
}
END_TEST

/* The history keeps at most FLAP_WINDOW_MAX verdicts, the newest. */
START_TEST(test_history_bounded) {
  struct flap_history h;
  memset(&h, 0, sizeof(h));
  for (int i = 0; i < 200; i++)
    flap_record(&h, i % 2 == 0);
  ck_assert_uint_eq(h.n, FLAP_WINDOW_MAX);
  ck_assert(flap_percent(&h, FLAP_WINDOW_MAX) > 99.99);
}
END_TEST

/* A key starts flapping at the high threshold, not before; stays flapping
 * between the thresholds; stops below the low one. */
START_TEST(test_hysteresis) {
  struct flap_opts o = {FLAP_DEFAULT_WINDOW, FLAP_DEFAULT_LOW,
                        FLAP_DEFAULT_HIGH};
  struct flap_history h;
  memset(&h, 0, sizeof(h));
  int started_at = -1;
  for (int i = 0; i < 21 && started_at < 0; i++)
    if (flap_update(&h, i % 2 == 1, &o) == FLAP_STARTED)
      started_at = i;
  /* the first verdict at or above 50 %: the tenth, with nine changes
   * (x = 12..20 weigh 10.3026 in all: 51.51 %); eight changes (x = 13..20)
   * weigh 9.2632: 46.32 % */
  ck_assert_int_eq(started_at, 9);
  ck_assert(h.flapping);
  /* passes: the percent falls, the key flaps until it is below 25 % */
  int stopped_at = -1;
  for (int i = 0; i < 21 && stopped_at < 0; i++) {
    enum flap_change c = flap_update(&h, false, &o);
    ck_assert(c != FLAP_STARTED);
    if (c == FLAP_STOPPED)
      stopped_at = i;
    else
      ck_assert_msg(flap_percent(&h, o.window) >= o.low, "pass %d", i);
  }
  ck_assert_int_ge(stopped_at, 0);
  ck_assert(!h.flapping);
  ck_assert(flap_percent(&h, o.window) < o.low);
}
END_TEST

/* Between the thresholds nothing changes, whichever way it came. */
START_TEST(test_between_thresholds) {
  struct flap_opts o = {21, 25, 50};
  /* seven changes: 35.59 %, between 25 and 50 */
  struct flap_history h = history("PPFFFPPPPFFPPPFFFPPP");
  ck_assert(!h.flapping);
  ck_assert_int_eq(flap_update(&h, true, &o), FLAP_SAME);
  ck_assert(!h.flapping);
  h.flapping = true;
  h.fails >>= 1;
  h.n--;
  ck_assert_int_eq(flap_update(&h, true, &o), FLAP_SAME);
  ck_assert(h.flapping);
}
END_TEST

/* flap_decide decides on the history as it is: recorded elsewhere, one
 * decision per cycle, and a second decision changes nothing. */
START_TEST(test_decide_idempotent) {
  const struct flap_opts o = {21, 25, 50};
  struct flap_history h = history("FPFPFPFPFPFPFPFPFPFPF");
  ck_assert_int_eq(flap_decide(&h, &o), FLAP_STARTED);
  ck_assert_int_eq(flap_decide(&h, &o), FLAP_SAME);
  ck_assert(h.flapping);
  for (int i = 0; i < 21; i++)
    flap_record(&h, false);
  ck_assert_int_eq(flap_decide(&h, &o), FLAP_STOPPED);
  ck_assert_int_eq(flap_decide(&h, &o), FLAP_SAME);
  ck_assert(!h.flapping);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("flap");
  TCase *tc = tcase_create("percent");
  tcase_add_loop_test(tc, test_percent, 0,
                      sizeof(percent_cases) / sizeof(percent_cases[0]));
  tcase_add_test(tc, test_history_bounded);
  suite_add_tcase(s, tc);
  tc = tcase_create("thresholds");
  tcase_add_test(tc, test_hysteresis);
  tcase_add_test(tc, test_between_thresholds);
  suite_add_tcase(s, tc);
  tc = tcase_create("decide");
  tcase_add_test(tc, test_decide_idempotent);
  suite_add_tcase(s, tc);
  return s;
}
