/* SPDX-License-Identifier: MIT */
/* Unit tests of the due logic: which tests' results a cycle reads. */
#include "core/due.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct due_opts OPTS = {
    .max_result_age = 600, .max_catch_up = 3600, .interval = 10};

/* A list item with a last_run. */
static struct due_input listed(const char *id, double at) {
  struct due_input in = {.listed = true,
                         .last_run_known = true,
                         .last_run = due_run_digest(id),
                         .last_run_at = at};
  return in;
}

/* ---- a first sighting ---- */

static const struct {
  const char *name;
  bool listed, known;
  const char *id;
  double at, cursor;
  bool held;
  enum due_reason want;
  const char *cursor_run; /* the cursor's last_run, NULL: none */
} first_cases[] = {
    /* now is 10000 in every case */
    {"never ran", true, true, "", 0, 0, false, DUE_NO, NULL},
    {"never ran, with a cursor", true, true, "", 0, 5000, false, DUE_NO, NULL},
    {"no last_run from the API", true, false, "", 0, 0, false, DUE_NEW, NULL},
    {"not listed (its list failed)", false, false, "", 0, 0, false, DUE_NEW,
     NULL},
    {"ran after the cursor", true, true, "r1", 9000, 8000, false, DUE_NEW,
     NULL},
    {"ran just before the cursor", true, true, "r1", 7990, 8000, false, DUE_NEW,
     NULL},
    {"ran long before the cursor", true, true, "r1", 7000, 8000, false, DUE_NO,
     NULL},
    {"no cursor, ran within MaxCatchUp", true, true, "r1", 9000, 0, false,
     DUE_NEW, NULL},
    {"no cursor, ran before MaxCatchUp", true, true, "r1", 5000, 0, false,
     DUE_NO, NULL},
    {"a last_run without a time", true, true, "r1", 0, 8000, false, DUE_NEW,
     NULL},
    {"held back by forward mode", true, true, "r1", 7000, 8000, true,
     DUE_PENDING, NULL},
    {"a restart: the run the cursor's read covered", true, true, "r1", 8000,
     8000, false, DUE_NO, "r1"},
    {"a restart: another run since the cursor's read", true, true, "r2", 8000,
     8000, false, DUE_NEW, "r1"},
    {"a restart: held back by forward mode", true, true, "r1", 8000, 8000, true,
     DUE_PENDING, "r1"},
};

START_TEST(first_sighting) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input in = {.listed = first_cases[_i].listed,
                         .last_run_known = first_cases[_i].known,
                         .last_run = due_run_digest(first_cases[_i].id),
                         .last_run_at = first_cases[_i].at,
                         .cursor = first_cases[_i].cursor,
                         .cursor_run =
                             due_run_digest(first_cases[_i].cursor_run),
                         .held = first_cases[_i].held};
  ck_assert_msg(due_check(&t, &in, &OPTS, 10000) == first_cases[_i].want,
                "%s: got %s", first_cases[_i].name,
                due_reason_name(due_check(&t, &in, &OPTS, 10000)));
}
END_TEST

/* A first sighting found current is not read again until its last_run
 * changes or MaxResultAge passes. */
START_TEST(skip_then_change_or_age) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input in = listed("r1", 7000);
  in.cursor = 8000;
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 10000), DUE_NO);
  due_skip(&t, &in, 10000);
  ck_assert(t.known);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 10010), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 10599), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 10600), DUE_MAX_AGE);
  struct due_input next = listed("r2", 10005);
  ck_assert_int_eq(due_check(&t, &next, &OPTS, 10010), DUE_CHANGED);
}
END_TEST

/* A test that never ran is due once it has run. */
START_TEST(never_ran_then_runs) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input none = listed("", 0);
  ck_assert_int_eq(due_check(&t, &none, &OPTS, 100), DUE_NO);
  due_skip(&t, &none, 100);
  ck_assert_int_eq(due_check(&t, &none, &OPTS, 110), DUE_NO);
  struct due_input ran = listed("r1", 105);
  ck_assert_int_eq(due_check(&t, &ran, &OPTS, 110), DUE_CHANGED);
}
END_TEST

/* ---- last_run changes ---- */

START_TEST(last_run_change) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input in = listed("r1", 1000);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1010), DUE_NEW);
  due_read(&t, &in, false, 1010);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1020), DUE_NO);
  struct due_input other = listed("r2", 1015);
  ck_assert_int_eq(due_check(&t, &other, &OPTS, 1020), DUE_CHANGED);
  /* the same run with another time (an API that reuses the id) */
  struct due_input moved = listed("r1", 1001);
  ck_assert_int_eq(due_check(&t, &moved, &OPTS, 1020), DUE_CHANGED);
  due_read(&t, &other, false, 1020);
  ck_assert_int_eq(due_check(&t, &other, &OPTS, 1030), DUE_NO);
  ck_assert(t.run == due_run_digest("r2"));
  /* a cycle whose list failed keeps what the last read saw */
  struct due_input unlisted = {.listed = false};
  due_read(&t, &unlisted, false, 1040);
  ck_assert(t.run == due_run_digest("r2"));
  ck_assert_int_eq(due_check(&t, &other, &OPTS, 1050), DUE_NO);
}
END_TEST

/* The schedules are ignored while the list gives last_run: it is exact. */
START_TEST(last_run_beats_schedules) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_schedule s[] = {{60, 1000}};
  struct due_input in = listed("r1", 1000);
  in.schedules = s;
  in.n_schedules = 1;
  due_read(&t, &in, false, 1005);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1061), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1121), DUE_NO);
}
END_TEST

/* ---- unfinished runs ---- */

START_TEST(pending_run) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input in = listed("r1", 1000);
  due_read(&t, &in, true, 1010); /* r1 still works */
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1020), DUE_PENDING);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1030), DUE_PENDING);
  due_read(&t, &in, false, 1030); /* r1 finished */
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1040), DUE_NO);
  /* held back by the engine (forward mode) */
  struct due_input held = in;
  held.held = true;
  ck_assert_int_eq(due_check(&t, &held, &OPTS, 1040), DUE_PENDING);
}
END_TEST

static struct rs_run run_of(enum rs_result r, double started) {
  struct rs_run run;
  memset(&run, 0, sizeof(run));
  run.result = r;
  run.started_at = started;
  return run;
}

START_TEST(pending_runs_found) {
  struct rs_run runs[] = {
      run_of(RS_RESULT_PASS, 100),
      run_of(RS_RESULT_CANCELLED, 200),
      run_of(RS_RESULT_FAIL, 300),
  };
  ck_assert(!due_pending(runs, 3, 400, 3600));
  ck_assert(!due_pending(runs, 0, 400, 3600));
  runs[1] = run_of(RS_RESULT_UNFINISHED, 200);
  ck_assert(due_pending(runs, 3, 400, 3600));
  /* given up after max_unfinished_age, as the cursor gives it up */
  ck_assert(due_pending(runs, 3, 200 + 3600, 3600));
  ck_assert(!due_pending(runs, 3, 200 + 3600.5, 3600));
}
END_TEST

/* A finished run with an odd result holds nothing up. */
START_TEST(odd_result_not_pending) {
  size_t n;
  struct rs_run *r = parse_odd(&n);
  ck_assert(!due_pending(r, 1, 400, 3600));
  ck_assert(due_pending(r, 2, 400, 3600)); /* the unfinished one does */
  free(r);
}
END_TEST

/* ---- MaxResultAge ---- */

START_TEST(max_result_age) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_input in = listed("r1", 1000);
  due_read(&t, &in, false, 2000);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 2599.9), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 2600), DUE_MAX_AGE);
  struct due_opts every = OPTS;
  every.max_result_age = 1; /* the end-to-end tests' tuning */
  ck_assert_int_eq(due_check(&t, &in, &every, 2001), DUE_MAX_AGE);
  due_read(&t, &in, false, 2600);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 2610), DUE_NO);
}
END_TEST

/* ---- schedules, when the list gives no last_run ---- */

START_TEST(schedule_window) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  /* every 5 minutes; its environment last ran at 1000 */
  struct due_schedule s[] = {{300, 1000}};
  struct due_input in = {.listed = true, .schedules = s, .n_schedules = 1};
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1005), DUE_NEW);
  due_read(&t, &in, false, 1005);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1100), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1299), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1300), DUE_SCHEDULE);
  /* read every cycle while the run may come: 2 cycles, at least 30 s */
  due_read(&t, &in, false, 1300);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1310), DUE_SCHEDULE);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1330), DUE_SCHEDULE);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1331), DUE_NO);
  /* it did not come: the next tick */
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1599), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1600), DUE_SCHEDULE);
  /* it came at 1302: the next one is due at 1602 */
  s[0].last_start = 1302;
  due_read(&t, &in, false, 1320);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1600), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &OPTS, 1602), DUE_SCHEDULE);
}
END_TEST

/* Several environments: any due schedule makes the test due; a schedule
 * with no run seen counts from the last read; unknown intervals are
 * ignored; MaxResultAge still applies. */
START_TEST(schedules_per_environment) {
  struct due_test t;
  memset(&t, 0, sizeof(t));
  struct due_opts o = OPTS;
  o.max_result_age = 1200;
  struct due_schedule s[] = {{0, 0}, {3600, 1000}, {900, 0}};
  struct due_input in = {.listed = true, .schedules = s, .n_schedules = 3};
  due_read(&t, &in, false, 1100);
  ck_assert_int_eq(due_check(&t, &in, &o, 1999), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &o, 2000), DUE_SCHEDULE); /* 900 */
  due_read(&t, &in, false, 2000);
  ck_assert_int_eq(due_check(&t, &in, &o, 2500), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &o, 2900), DUE_SCHEDULE);
  ck_assert_int_eq(due_check(&t, &in, &o, 3199), DUE_NO);
  ck_assert_int_eq(due_check(&t, &in, &o, 3200), DUE_MAX_AGE);
  ck_assert_int_eq(due_check(&t, &in, &o, 4600), DUE_SCHEDULE); /* 1h */
  /* a short schedule's window never spans the whole interval */
  struct due_schedule fast[] = {{60, 5000}};
  struct due_input f = {.listed = true, .schedules = fast, .n_schedules = 1};
  due_read(&t, &f, false, 5001);
  ck_assert_int_eq(due_check(&t, &f, &OPTS, 5060), DUE_SCHEDULE);
  ck_assert_int_eq(due_check(&t, &f, &OPTS, 5090), DUE_SCHEDULE);
  ck_assert_int_eq(due_check(&t, &f, &OPTS, 5091), DUE_NO);
}
END_TEST

/* ---- order ---- */

START_TEST(order) {
  ck_assert(due_before(DUE_CHANGED, 50, DUE_NEW, 0));
  ck_assert(due_before(DUE_PENDING, 50, DUE_SCHEDULE, 0));
  ck_assert(due_before(DUE_NEW, 50, DUE_MAX_AGE, 0));
  ck_assert(due_before(DUE_SCHEDULE, 50, DUE_MAX_AGE, 0));
  ck_assert(!due_before(DUE_MAX_AGE, 0, DUE_SCHEDULE, 50));
  ck_assert(due_before(DUE_CHANGED, 10, DUE_PENDING, 20)); /* same rank */
  ck_assert(!due_before(DUE_CHANGED, 20, DUE_CHANGED, 10));
  ck_assert_str_eq(due_reason_name(DUE_CHANGED), "changed");
  ck_assert_str_eq(due_reason_name((enum due_reason)99), "?");
}
END_TEST

/* ---- every run is seen within a cycle ---- */

/* A simulated API: runs start at random times, each known by id; the tests
 * list shows the newest. Each cycle reads the due tests; every run must be
 * read in the first cycle that starts after it was created, whatever the
 * seed, while most cycles read nothing. */
START_TEST(every_run_seen_in_one_cycle) {
  enum { TESTS = 20, CYCLES = 300 };
  struct due_test mem[TESTS];
  char last_id[TESTS][16];
  double last_at[TESTS];
  int created[TESTS], seen[TESTS];
  memset(mem, 0, sizeof(mem));
  memset(last_id, 0, sizeof(last_id));
  memset(last_at, 0, sizeof(last_at));
  memset(created, 0, sizeof(created));
  memset(seen, 0, sizeof(seen));
  unsigned seed = 1234u + (unsigned)_i;
  size_t reads = 0;
  for (int c = 0; c < CYCLES; c++) {
    double now = 100000 + c * 10.0;
    for (int k = 0; k < TESTS; k++) {
      if (rand_r(&seed) % 30 == 0) { /* a run starts in this interval */
        created[k]++;
        snprintf(last_id[k], sizeof(last_id[k]), "r%d", created[k]);
        last_at[k] = now - 1 - rand_r(&seed) % 8;
      }
      struct due_input in = listed(last_id[k], last_at[k]);
      in.cursor = c == 0 ? 0 : last_at[k];
      if (due_check(&mem[k], &in, &OPTS, now) == DUE_NO) {
        if (!mem[k].known)
          due_skip(&mem[k], &in, now);
        ck_assert_msg(seen[k] == created[k], "test %d: run %d unread", k,
                      created[k]);
        continue;
      }
      reads++;
      seen[k] = created[k];
      due_read(&mem[k], &in, false, now);
    }
  }
  /* about one run per test per 30 cycles, plus MaxResultAge every 60 */
  ck_assert_uint_lt(reads, TESTS * CYCLES / 8);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("due");
  TCase *tc = tcase_create("a first sighting");
  tcase_add_loop_test(tc, first_sighting, 0, N(first_cases));
  tcase_add_test(tc, skip_then_change_or_age);
  tcase_add_test(tc, never_ran_then_runs);
  suite_add_tcase(s, tc);
  tc = tcase_create("last_run changes");
  tcase_add_test(tc, last_run_change);
  tcase_add_test(tc, last_run_beats_schedules);
  suite_add_tcase(s, tc);
  tc = tcase_create("unfinished runs");
  tcase_add_test(tc, pending_run);
  tcase_add_test(tc, pending_runs_found);
  tcase_add_test(tc, odd_result_not_pending);
  suite_add_tcase(s, tc);
  tc = tcase_create("MaxResultAge");
  tcase_add_test(tc, max_result_age);
  suite_add_tcase(s, tc);
  tc = tcase_create("schedules");
  tcase_add_test(tc, schedule_window);
  tcase_add_test(tc, schedules_per_environment);
  suite_add_tcase(s, tc);
  tc = tcase_create("order");
  tcase_add_test(tc, order);
  suite_add_tcase(s, tc);
  tc = tcase_create("every run is seen");
  tcase_add_loop_test(tc, every_run_seen_in_one_cycle, 0, 8);
  suite_add_tcase(s, tc);
  return s;
}
