/* SPDX-License-Identifier: MIT */
/* Unit tests of maintenance windows: weekly specs (config/window.c) and
 * when a window is open and whom it matches (core/maintenance.c). */
#include "config/window.h"
#include "core/maintenance.h"

#include <check.h>
#include <errno.h>
#include <string.h>

/* Saturday 2026-12-05 22:00:00 UTC, and a few times around it. */
#define SAT_2200 1796508000.0
#define SAT_2159_59 (SAT_2200 - 1)
#define SUN_0200 (SAT_2200 + 4 * 3600)
#define SUN_2359_59 (SAT_2200 + 26 * 3600 - 1)
#define MON_0159_59 (SAT_2200 + 28 * 3600 - 1)
#define MON_0200 (SAT_2200 + 28 * 3600)
#define WEEK 604800.0

static struct cfg_window weekly(const char *spec) {
  struct cfg_window w;
  struct err err = {{0}};
  memset(&w, 0, sizeof(w));
  ck_assert_msg(cfg_window_weekly(&w, spec, &err) == 0, "%s: %s", spec,
                err.msg);
  return w;
}

/* Which times each spec covers: at, and whether it is open then. */
static const struct {
  const char *spec;
  double at;
  bool open;
} open_cases[] = {
    /* across midnight: Saturday night into Sunday */
    {"Sat 22:00-Sun 02:00", SAT_2159_59, false},
    {"Sat 22:00-Sun 02:00", SAT_2200, true},
    {"Sat 22:00-Sun 02:00", SUN_0200 - 1, true},
    {"Sat 22:00-Sun 02:00", SUN_0200, false},
    /* the same a week later and a week earlier */
    {"Sat 22:00-Sun 02:00", SAT_2200 + WEEK, true},
    {"Sat 22:00-Sun 02:00", SAT_2200 - WEEK + 3600, true},
    /* across the week's boundary (Sunday to Monday) */
    {"Sun 22:00-Mon 02:00", SUN_2359_59, true},
    {"Sun 22:00-Mon 02:00", MON_0159_59, true},
    {"Sun 22:00-Mon 02:00", MON_0200, false},
    {"Sun 22:00-Mon 02:00", SAT_2200, false},
    /* an end without a day: the same day, or the next when not after */
    {"Sun 22:00-02:00", MON_0159_59, true},
    {"Sun 22:00-02:00", MON_0200, false},
    {"Sun 02:00-04:00", SUN_0200, true},
    {"Sun 02:00-04:00", SUN_0200 + 2 * 3600, false},
    /* full day names, any case */
    {"saturday 22:00 - SUNDAY 02:00", SAT_2200 + 60, true},
    /* a span of nearly a week */
    {"Mon 00:00-Sun 23:59", SUN_2359_59 - 60, true},
    {"Mon 00:00-Sun 23:59", SUN_2359_59, false},
};

START_TEST(test_weekly_open) {
  struct cfg_window w = weekly(open_cases[_i].spec);
  ck_assert_msg(maint_open(&w, open_cases[_i].at) == open_cases[_i].open,
                "%s at %.0f", open_cases[_i].spec, open_cases[_i].at);
  cfg_window_fini(&w);
}
END_TEST

/* A weekly window closes at the end of the occurrence open now. */
START_TEST(test_weekly_closes) {
  struct cfg_window w = weekly("Sun 22:00-Mon 02:00");
  ck_assert_double_eq(maint_closes(&w, SUN_2359_59), MON_0200);
  ck_assert_double_eq(maint_closes(&w, MON_0200), 0);
  ck_assert_double_eq(maint_closes(&w, SUN_2359_59 + WEEK), MON_0200 + WEEK);
  cfg_window_fini(&w);
}
END_TEST

static const struct {
  const char *spec;
  const char *says;
} bad_weekly[] = {
    {"", "no start day and time"},
    {"22:00-02:00", "no start day and time"},
    {"Sat 22:00", "no '-' between start and end"},
    {"Sat 22:00-", "no end time"},
    {"Sat 24:00-Sun 02:00", "no start day and time"},
    {"Sat 22:00-Sun 2:00", "no end time"},
    {"Sat 22:00-Sun 02:00 UTC", "text after the end time"},
    {"Sam 22:00-Sun 02:00", "no start day and time"},
    {"Sat 22:00-Sat 22:00", "it ends when it starts"},
};

START_TEST(test_weekly_bad) {
  struct cfg_window w;
  struct err err = {{0}};
  memset(&w, 0, sizeof(w));
  ck_assert_int_eq(cfg_window_weekly(&w, bad_weekly[_i].spec, &err), -EINVAL);
  ck_assert_msg(strstr(err.msg, bad_weekly[_i].says) != NULL, "%s", err.msg);
  ck_assert_ptr_nonnull(strstr(err.msg, "Sat 22:00-Sun 02:00"));
  ck_assert(!w.weekly);
}
END_TEST

/* A one-off window: start inclusive, end exclusive; checked. */
START_TEST(test_one_off) {
  struct cfg_window w = {.start = 100, .end = 200};
  struct err err = {{0}};
  ck_assert_int_eq(cfg_window_check(&w, &err), 0);
  ck_assert(!maint_open(&w, 99.9));
  ck_assert(maint_open(&w, 100));
  ck_assert(maint_open(&w, 199.9));
  ck_assert(!maint_open(&w, 200));
  ck_assert_double_eq(maint_closes(&w, 150), 200);
  w.name = "deploy";
  w.start = 300;
  ck_assert_int_eq(cfg_window_check(&w, &err), -EINVAL);
  ck_assert_str_eq(err.msg,
                   "<Maintenance \"deploy\">: Start is not before End");
  w.end = 0;
  ck_assert_int_eq(cfg_window_check(&w, &err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "no End and no Weekly"));
}
END_TEST

/* Selectors match by id or by name; an empty one matches anything; all
 * of them must match. */
START_TEST(test_selectors) {
  struct cfg_window w = {.start = 0, .end = 1e12};
  struct maint_target t = {"bk1", "Shop", "t1", "Checkout", "e1", "prod"};
  ck_assert(maint_matches(&w, &t));
  ck_assert_int_eq(cfg_list_add(&w.buckets, "Shop"), 0);
  ck_assert(maint_matches(&w, &t));
  ck_assert_int_eq(cfg_list_add(&w.tests, "t2"), 0);
  ck_assert(!maint_matches(&w, &t));
  ck_assert_int_eq(cfg_list_add(&w.tests, "t1"), 0);
  ck_assert(maint_matches(&w, &t));
  ck_assert_int_eq(cfg_list_add(&w.environments, "staging"), 0);
  ck_assert(!maint_matches(&w, &t));
  t.env_name = NULL; /* an unknown name matches by id only */
  t.env_id = "staging";
  ck_assert(maint_matches(&w, &t));
  cfg_window_fini(&w);
}
END_TEST

/* maint_find: the first window open now that matches. */
START_TEST(test_find) {
  struct cfg_window past = {.start = 0, .end = 10};
  struct cfg_window other = {.start = 0, .end = 1e12};
  struct cfg_window mine = {.start = 0, .end = 1e12};
  ck_assert_int_eq(cfg_list_add(&other.buckets, "bk2"), 0);
  ck_assert_int_eq(cfg_list_add(&mine.buckets, "bk1"), 0);
  const struct cfg_window *all[] = {&past, &other, &mine};
  struct maint_target t = {
      .bucket_key = "bk1", .test_id = "t1", .env_id = "e1"};
  ck_assert_ptr_eq(maint_find(all, 3, &t, 50), &mine);
  ck_assert_ptr_eq(maint_find(all, 3, &t, 5), &past);
  ck_assert_ptr_null(maint_find(all, 2, &t, 50));
  cfg_window_fini(&other);
  cfg_window_fini(&mine);
}
END_TEST

/* A MaintenanceDir file: selectors as strings or arrays, start defaulting
 * to now, the file's name when it names none. */
START_TEST(test_file_read) {
  struct cfg_window w;
  struct err err = {{0}};
  memset(&w, 0, sizeof(w));
  const char *text =
      "{\"bucket\": \"bk1\", \"test\": [\"t1\", \"Checkout\"],"
      " \"end\": \"2026-12-05T23:00:00Z\", \"reason\": \"deploy\"}";
  ck_assert_int_eq(cfg_window_from_json(&w, text, strlen(text), "deploy.json",
                                        SAT_2200, &err),
                   0);
  ck_assert_str_eq(w.name, "deploy.json");
  ck_assert_str_eq(w.reason, "deploy");
  ck_assert_uint_eq(w.buckets.n, 1);
  ck_assert_uint_eq(w.tests.n, 2);
  ck_assert_str_eq(w.tests.v[1], "Checkout");
  ck_assert_uint_eq(w.environments.n, 0);
  ck_assert_double_eq(w.start, SAT_2200);
  ck_assert_double_eq(w.end, SAT_2200 + 3600);
  ck_assert(!w.weekly);
  ck_assert(maint_open(&w, SAT_2200 + 60));
  cfg_window_fini(&w);
}
END_TEST

static const struct {
  const char *text;
  const char *says;
} bad_files[] = {
    {"", "empty"},
    {"[]", "not a JSON object"},
    {"{}", "no \"end\""},
    {"{\"end\": \"tomorrow\"}", "\"end\": not an ISO-8601 time"},
    {"{\"end\": 1796511600}", "\"end\": not an ISO-8601 time"},
    {"{\"end\": \"2026-12-05T23:00:00Z\", \"start\": \"2026-12-06T00:00:00Z\"}",
     "\"start\" is not before \"end\""},
    {"{\"end\": \"2026-12-05T21:00:00Z\"}", "\"start\" is not before \"end\""},
    {"{\"end\": \"2026-12-05T23:00:00Z\", \"test\": [\"t1\", 2]}",
     "\"test\": not a string or an array of strings"},
    {"{\"end\": \"2026-12-05T23:00:00Z\", \"bucket\": {}}",
     "\"bucket\": not a string or an array of strings"},
    {"{\"end\": \"2026-12-05T23:00:00Z\", \"name\": 7}",
     "\"name\": not a string"},
};

START_TEST(test_file_bad) {
  struct cfg_window w;
  struct err err = {{0}};
  memset(&w, 0, sizeof(w));
  ck_assert_int_eq(cfg_window_from_json(&w, bad_files[_i].text,
                                        strlen(bad_files[_i].text), "f.json",
                                        SAT_2200, &err),
                   -EINVAL);
  ck_assert_msg(strstr(err.msg, bad_files[_i].says) != NULL, "%s: %s",
                bad_files[_i].text, err.msg);
  ck_assert_ptr_null(w.name);
  ck_assert_uint_eq(w.tests.n, 0);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("maintenance");
  TCase *tc = tcase_create("weekly");
  tcase_add_loop_test(tc, test_weekly_open, 0,
                      sizeof(open_cases) / sizeof(open_cases[0]));
  tcase_add_test(tc, test_weekly_closes);
  tcase_add_loop_test(tc, test_weekly_bad, 0,
                      sizeof(bad_weekly) / sizeof(bad_weekly[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("windows");
  tcase_add_test(tc, test_one_off);
  tcase_add_test(tc, test_selectors);
  tcase_add_test(tc, test_find);
  tcase_add_test(tc, test_file_read);
  tcase_add_loop_test(tc, test_file_bad, 0,
                      sizeof(bad_files) / sizeof(bad_files[0]));
  suite_add_tcase(s, tc);
  return s;
}
