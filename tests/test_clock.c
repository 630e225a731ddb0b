/* SPDX-License-Identifier: MIT */
/* Unit tests of the clocks (util/clock.c): ISO-8601 times written and
 * read, as xMatters, Runscope and the maintenance windows give them. */
#include "util/clock.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

static const struct {
  const char *text;
  int rc;
  double t;
} times[] = {
    {"2019-11-12T16:54:37.656+0000", 0, 1573577677.656},
    {"2019-11-12T16:54:37.656Z", 0, 1573577677.656},
    {"2019-11-12T16:54:37.656+00:00", 0, 1573577677.656},
    {"2019-11-12T16:54:37Z", 0, 1573577677},
    {"2019-11-12T16:54:37", 0, 1573577677}, /* no zone: UTC */
    {" 2019-11-12 16:54:37z ", 0, 1573577677},
    {"2019-11-12T16:54Z", 0, 1573577640},
    {"2019-11-12T17:54:37.656+01:00", 0, 1573577677.656},
    {"2019-11-12T11:54:37.656-0500", 0, 1573577677.656},
    {"2019-11-12T18:54:37+02", 0, 1573577677},
    {"2019-11-12T16:54:37,5Z", 0, 1573577677.5},
    {"2016-02-29T00:00:00Z", 0, 1456704000},
    {"", -EINVAL, 0},
    {"2019-11-12", -EINVAL, 0},
    {"2019-02-30T00:00:00Z", -EINVAL, 0},
    {"2019-13-01T00:00:00Z", -EINVAL, 0},
    {"2019-11-12T24:00:00Z", -EINVAL, 0},
    {"2019-11-12T16:54:37+25:00", -EINVAL, 0},
    {"2019-11-12T16:54:37.Z", -EINVAL, 0},
    {"2019-11-12T16:54:37Zjunk", -EINVAL, 0},
    {"2019-11-12T16:54:37+0", -EINVAL, 0},
    {"19-11-12T16:54:37Z", -EINVAL, 0},
    {"1573577677", -EINVAL, 0},
};

START_TEST(test_parse_iso8601) {
  double t = -1;
  ck_assert_msg(clock_parse_iso8601(times[_i].text, &t) == times[_i].rc, "%s",
                times[_i].text);
  if (times[_i].rc == 0)
    ck_assert_msg(fabs(t - times[_i].t) < 1e-6, "%s: %.6f", times[_i].text, t);
  ck_assert_int_eq(clock_parse_iso8601(NULL, &t), -EINVAL);
}
END_TEST

/* Written as the APIs and the man page show them; no time gives "". */
START_TEST(test_format_iso8601) {
  char out[CLOCK_ISO8601_MAX];
  clock_iso8601(1573577677.656, out, sizeof(out));
  ck_assert_str_eq(out, "2019-11-12T16:54:37Z");
  double back = 0;
  ck_assert_int_eq(clock_parse_iso8601(out, &back), 0);
  ck_assert_double_eq(back, 1573577677);
  clock_iso8601(0, out, sizeof(out));
  ck_assert_str_eq(out, "");
  clock_iso8601(NAN, out, sizeof(out));
  ck_assert_str_eq(out, "");
  char small[8] = "x";
  clock_iso8601(1573577677, small, sizeof(small));
  ck_assert_str_eq(small, "");
}
END_TEST

/* The monotonic clock does not go back. */
START_TEST(test_monotonic) {
  double a = clock_monotonic(), b = clock_monotonic();
  ck_assert(a > 0);
  ck_assert(b >= a);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("clock");
  TCase *tc = tcase_create("iso8601");
  tcase_add_loop_test(tc, test_parse_iso8601, 0,
                      sizeof(times) / sizeof(times[0]));
  tcase_add_test(tc, test_format_iso8601);
  tcase_add_test(tc, test_monotonic);
  suite_add_tcase(s, tc);
  return s;
}
