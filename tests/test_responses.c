/* SPDX-License-Identifier: MIT */
/* Unit tests of the responses module: which response texts count, which
 * responses are acted on (once), reruns and their results. */
#include "core/responses.h"
#include "util/str.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define EV "5f1c5b8e-8c43-4bd4-9e37-2c1d9a6a2b10"
#define KEY "bkt/test-1/env-1"

static const struct resp_opts opts = {"Rerun", "Acknowledge", 3};

/* ---- texts ---- */

static const struct {
  const char *text, *rerun, *ack;
  enum resp_kind kind;
} kinds[] = {
    {"Rerun", "Rerun", "Acknowledge", RESP_RERUN},
    {"rerun", "Rerun", "Acknowledge", RESP_RERUN},
    {"  RERUN \n", "Rerun", "Acknowledge", RESP_RERUN},
    {"Acknowledge", "Rerun", "Acknowledge", RESP_ACKNOWLEDGE},
    {"\tacknowledge", "Rerun", "Acknowledge", RESP_ACKNOWLEDGE},
    {"", "Rerun", "Acknowledge", RESP_NONE},
    {"   ", "Rerun", "Acknowledge", RESP_NONE},
    {NULL, "Rerun", "Acknowledge", RESP_NONE},
    {"Rerun now", "Rerun", "Acknowledge", RESP_OTHER},
    {"Re run", "Rerun", "Acknowledge", RESP_OTHER},
    {"Rerun", "Run again", "Seen", RESP_OTHER},
    {"run AGAIN", "Run again", "Seen", RESP_RERUN},
    {"seen", "Run again", "Seen", RESP_ACKNOWLEDGE},
    {"Ack", "Rerun", NULL, RESP_OTHER},
};

START_TEST(classify) {
  ck_assert_int_eq(
      resp_classify(kinds[_i].text, kinds[_i].rerun, kinds[_i].ack),
      kinds[_i].kind);
}
END_TEST

/* ---- records ---- */

/* A state with one key holding the given event ids. */
static struct rec_key *key_with_events(struct rec_state *st,
                                       const char *const *ids, size_t n) {
  struct rec_key *k;
  ck_assert_int_eq(rec_key_get(st, "bkt", "test-1", "env-1", &k), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(
        rec_adopt_event(k,
                        &(struct rec_opts){.location_window = 86400,
                                           .pending_timeout = 60,
                                           .reconcile_interval = 300},
                        ids[i]),
        1);
  return k;
}

START_TEST(records_get_find_prune) {
  struct rec_state st;
  rec_state_init(&st);
  const char *ids[] = {"ev-a", "ev-b"};
  key_with_events(&st, ids, 2);
  struct resp_event *a, *b, *c, *again;
  ck_assert_int_eq(resp_get(&st, KEY, "ev-a", &a), 0);
  ck_assert_str_eq(a->key, KEY);
  ck_assert_str_eq(a->event_id, "ev-a");
  a->reruns = 2;
  ck_assert_int_eq(resp_get(&st, KEY, "ev-b", &b), 0);
  ck_assert_int_eq(resp_get(&st, KEY, "ev-gone", &c), 0);
  ck_assert_int_eq(resp_get(&st, KEY, "ev-a", &again), 0);
  ck_assert_uint_eq(again->reruns, 2);
  ck_assert_uint_eq(st.n_responses, 3);
  ck_assert_ptr_null(resp_find(&st, "ev-x"));
  char long_id[XM_ID_MAX + 1];
  memset(long_id, 'x', XM_ID_MAX);
  long_id[XM_ID_MAX] = '\0';
  ck_assert_int_eq(resp_get(&st, KEY, long_id, &c), -ENAMETOOLONG);
  ck_assert_uint_eq(st.n_responses, 3);
  /* ev-gone is no key's event: kept for a while, then dropped; the others
   * stay, unchanged */
  ck_assert_uint_eq(resp_prune(&st, 1000, 100), 1);
  ck_assert_uint_eq(st.n_responses, 2);
  ck_assert_ptr_null(resp_find(&st, "ev-gone"));
  ck_assert_uint_eq(resp_find(&st, "ev-a")->reruns, 2);
  ck_assert_double_eq(resp_find(&st, "ev-a")->held_at, 1000);
  ck_assert_ptr_nonnull(resp_find(&st, "ev-b"));
  /* ev-b goes from the key: kept for `keep` seconds after 1000 */
  st.keys[0]->n_events = 1;
  ck_assert_uint_eq(resp_prune(&st, 1100, 100), 0);
  ck_assert_double_eq(resp_find(&st, "ev-b")->held_at, 1000);
  ck_assert_double_eq(resp_find(&st, "ev-a")->held_at, 1100);
  /* it comes back (adopted again): its record is still there */
  st.keys[0]->n_events = 2;
  ck_assert_uint_eq(resp_prune(&st, 1150, 100), 0);
  ck_assert_double_eq(resp_find(&st, "ev-b")->held_at, 1150);
  st.keys[0]->n_events = 1;
  ck_assert_uint_eq(resp_prune(&st, 1251, 100), 1);
  ck_assert_ptr_null(resp_find(&st, "ev-b"));
  ck_assert_uint_eq(st.n_responses, 1);
  rec_state_fini(&st);
  ck_assert_ptr_null(st.responses);
  ck_assert_uint_eq(st.n_responses, 0);
}
END_TEST

/* ---- reviews ---- */

static struct resp_event ev;

static void ev_setup(void) {
  memset(&ev, 0, sizeof(ev));
  strcpy(ev.event_id, EV);
  strcpy(ev.key, KEY);
}

static struct xm_delivery dl(const char *event_id, const char *user,
                             const char *text, double received) {
  struct xm_delivery d;
  memset(&d, 0, sizeof(d));
  snprintf(d.event_id, sizeof(d.event_id), "%s", event_id);
  snprintf(d.user, sizeof(d.user), "%s", user);
  snprintf(d.text, sizeof(d.text), "%s", text);
  d.received = received;
  return d;
}

/* Reviews d[0..n) as an open event's with location "us1"; returns the
 * number of decisions, the verdicts in v (in decision order). */
static size_t review(const struct resp_opts *o, enum resp_event_status status,
                     const struct xm_delivery *d, size_t n,
                     enum resp_verdict *v) {
  struct resp_decision out[64];
  ck_assert_uint_le(n, 64);
  size_t m = resp_review(&ev, o, status, d, n, "us1", out);
  for (size_t i = 0; i < m; i++)
    v[i] = out[i].verdict;
  return m;
}

START_TEST(rerun_once) {
  struct xm_delivery d[] = {dl(EV, "jdoe", "Rerun", 100), dl(EV, "amy", "", 0)};
  enum resp_verdict v[4];
  ck_assert(resp_has_news(&ev, d, 2));
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_PENDING);
  ck_assert_str_eq(ev.rerun_by, "jdoe");
  ck_assert_str_eq(ev.rerun_location, "us1");
  ck_assert_double_eq(ev.rerun_asked_at, 100);
  /* the same response, seen again: nothing */
  ck_assert(!resp_has_news(&ev, d, 2));
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 0);
  /* another user's Rerun while one is pending is served by it */
  d[1] = dl(EV, "amy", "rerun", 101);
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN_MERGED);
  ck_assert_str_eq(ev.rerun_by, "jdoe");
  ck_assert_uint_eq(ev.reruns, 0);
}
END_TEST

START_TEST(rerun_again_after_a_result) {
  struct xm_delivery d = dl(EV, "jdoe", "Rerun", 100);
  enum resp_verdict v[2];
  review(&opts, RESP_EVENT_OPEN, &d, 1, v);
  resp_rerun_sending(&ev, 200);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_SENDING);
  struct rs_started_run run = {.test_run_id = "run-9"};
  resp_rerun_sent(&ev, true, 201, &run, 1);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_AWAITING);
  ck_assert_uint_eq(ev.reruns, 1);
  /* a second Rerun of the same user while the rerun runs: merged */
  d = dl(EV, "jdoe", "Rerun", 150);
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, &d, 1, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN_MERGED);
  /* the result came: a later Rerun runs it again */
  ev.rerun = RESP_RERUN_NONE;
  d = dl(EV, "jdoe", "Rerun", 300);
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, &d, 1, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN);
  ck_assert_double_eq(ev.rerun_asked_at, 300);
  ck_assert_uint_eq(ev.n_rerun_runs, 0);
}
END_TEST

START_TEST(rerun_capped) {
  struct resp_opts two = {"Rerun", "Acknowledge", 2};
  struct xm_delivery d = dl(EV, "jdoe", "Rerun", 100);
  enum resp_verdict v[2];
  ev.reruns = 2;
  ck_assert_uint_eq(review(&two, RESP_EVENT_OPEN, &d, 1, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN_CAPPED);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
  /* MaxRerunsPerEvent 0: no rerun at all */
  struct resp_opts none = {"Rerun", "Acknowledge", 0};
  ev.reruns = 0;
  d = dl(EV, "amy", "Rerun", 101);
  ck_assert_uint_eq(review(&none, RESP_EVENT_OPEN, &d, 1, v), 1);
  ck_assert_int_eq(v[0], RESP_V_RERUN_CAPPED);
}
END_TEST

START_TEST(closed_and_foreign_events) {
  struct xm_delivery d[] = {dl(EV, "jdoe", "Rerun", 100),
                            dl(EV, "amy", "Acknowledge", 90)};
  enum resp_verdict v[4];
  ck_assert_uint_eq(review(&opts, RESP_EVENT_CLOSED, d, 2, v), 2);
  ck_assert_int_eq(v[0], RESP_V_CLOSED);
  ck_assert_int_eq(v[1], RESP_V_CLOSED);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
  ck_assert_str_eq(ev.acked_by, "");
  /* recorded: the same responses on an open event later do nothing */
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 0);
  d[0] = dl(EV, "bob", "Rerun", 110);
  ck_assert_uint_eq(review(&opts, RESP_EVENT_FOREIGN, d, 2, v), 1);
  ck_assert_int_eq(v[0], RESP_V_FOREIGN);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
}
END_TEST

START_TEST(items_of_other_events) {
  struct xm_delivery d[] = {dl("another-event", "jdoe", "Rerun", 100),
                            dl("", "amy", "Rerun", 101)};
  enum resp_verdict v[4];
  ck_assert(resp_has_news(&ev, d + 1, 1));
  ck_assert(!resp_has_news(&ev, d, 1));
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 2);
  ck_assert_int_eq(v[0], RESP_V_FOREIGN_ITEM);
  /* an item naming no event is the event asked about */
  ck_assert_int_eq(v[1], RESP_V_RERUN);
  ck_assert_str_eq(ev.rerun_by, "amy");
  ck_assert_uint_eq(ev.n_seen, 1);
}
END_TEST

START_TEST(acknowledge_latest_wins) {
  /* out of order in the answer: reviewed oldest first */
  struct xm_delivery d[] = {dl(EV, "amy", "Acknowledge", 120),
                            dl(EV, "bob", "acknowledge", 110),
                            dl(EV, "cy", "On my way", 100)};
  struct resp_decision out[3];
  size_t m = resp_review(&ev, &opts, RESP_EVENT_OPEN, d, 3, "", out);
  ck_assert_uint_eq(m, 3);
  ck_assert_uint_eq(out[0].delivery, 2);
  ck_assert_int_eq(out[0].verdict, RESP_V_OTHER_TEXT);
  ck_assert_uint_eq(out[1].delivery, 1);
  ck_assert_int_eq(out[1].verdict, RESP_V_ACKNOWLEDGED);
  ck_assert_uint_eq(out[2].delivery, 0);
  ck_assert_int_eq(out[2].verdict, RESP_V_ACKNOWLEDGED);
  ck_assert_str_eq(ev.acked_by, "amy");
  ck_assert_double_eq(ev.acked_at, 120);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
  /* a later Acknowledge by the same user is a new response */
  d[0] = dl(EV, "amy", "Acknowledge", 130);
  ck_assert_uint_eq(resp_review(&ev, &opts, RESP_EVENT_OPEN, d, 3, "", out), 1);
  ck_assert_double_eq(ev.acked_at, 130);
}
END_TEST

START_TEST(terminating_ignores_everything) {
  ev.rerun = RESP_RERUN_TERMINATING;
  struct xm_delivery d[] = {dl(EV, "amy", "Rerun", 100),
                            dl(EV, "bob", "Acknowledge", 101)};
  enum resp_verdict v[4];
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, d, 2, v), 2);
  ck_assert_int_eq(v[0], RESP_V_CLOSED);
  ck_assert_int_eq(v[1], RESP_V_CLOSED);
  ck_assert_str_eq(ev.acked_by, "");
}
END_TEST

START_TEST(identity_is_user_time_and_text) {
  struct xm_delivery d = dl(EV, "amy", "On my way", 100);
  enum resp_verdict v[2];
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, &d, 1, v), 1);
  struct xm_delivery same_time_other_user = dl(EV, "bob", "On my way", 100);
  struct xm_delivery same_user_other_time = dl(EV, "amy", "On my way", 101);
  struct xm_delivery no_time = dl(EV, "amy", "On my way", 0);
  ck_assert(resp_has_news(&ev, &same_time_other_user, 1));
  ck_assert(resp_has_news(&ev, &same_user_other_time, 1));
  ck_assert(resp_has_news(&ev, &no_time, 1));
  ck_assert_uint_eq(review(&opts, RESP_EVENT_OPEN, &no_time, 1, v), 1);
  ck_assert(!resp_has_news(&ev, &no_time, 1));
}
END_TEST

START_TEST(seen_is_bounded) {
  struct xm_delivery d[RESP_SEEN_MAX + 8];
  char user[16];
  for (int i = 0; i < N(d); i++) {
    snprintf(user, sizeof(user), "user%d", i);
    d[i] = dl(EV, user, "On my way", 1000 + i);
  }
  struct resp_decision out[N(d)];
  ck_assert_uint_eq(resp_review(&ev, &opts, RESP_EVENT_OPEN, d, N(d), "", out),
                    N(d));
  ck_assert_uint_eq(ev.n_seen, RESP_SEEN_MAX);
  ck_assert_double_eq(ev.seen_through, 1000 + 7);
  /* the forgotten ones are still handled: no news in the same answer */
  ck_assert(!resp_has_news(&ev, d, N(d)));
  ck_assert_uint_eq(resp_review(&ev, &opts, RESP_EVENT_OPEN, d, N(d), "", out),
                    0);
}
END_TEST

START_TEST(rerun_sent_and_not_sent) {
  ev.rerun = RESP_RERUN_PENDING;
  resp_rerun_sending(&ev, 50);
  resp_rerun_not_sent(&ev, false);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_PENDING);
  ck_assert_uint_eq(ev.reruns, 0);
  resp_rerun_not_sent(&ev, true);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
  struct rs_started_run runs[RESP_RUNS_MAX + 2];
  memset(runs, 0, sizeof(runs));
  for (int i = 0; i < N(runs); i++)
    snprintf(runs[i].test_run_id, sizeof(runs[i].test_run_id), "r%d", i);
  resp_rerun_sent(&ev, false, 60, runs, N(runs));
  ck_assert_int_eq(ev.rerun, RESP_RERUN_TERMINATING);
  ck_assert_uint_eq(ev.reruns, 1);
  ck_assert_double_eq(ev.rerun_sent_at, 60);
  ck_assert_uint_eq(ev.n_rerun_runs, RESP_RUNS_MAX);
  ck_assert_str_eq(ev.rerun_runs[0], "r0");
}
END_TEST

/* ---- rerun results ---- */

static void add_loc(struct rec_key *k, const char *location, const char *run,
                    bool failed, double started) {
  struct rec_run *l = rec_key_add_loc(k);
  ck_assert_ptr_nonnull(l);
  str_set(&l->location, location, 0);
  str_set(&l->test_run_id, run, 0);
  l->failed = failed;
  l->started_at = started;
  l->finished_at = started + 1;
}

START_TEST(rerun_result_by_run_id) {
  struct rec_key k;
  memset(&k, 0, sizeof(k));
  add_loc(&k, "us1", "old-fail", true, 90);
  add_loc(&k, "eu1", "eu-pass", false, 95);
  ev.rerun = RESP_RERUN_AWAITING;
  strcpy(ev.rerun_location, "us1");
  ev.rerun_sent_at = 100;
  strcpy(ev.rerun_runs[0], "rerun-1");
  ev.n_rerun_runs = 1;
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_NONE);
  /* a scheduled run that is not the rerun's does not decide */
  add_loc(&k, "us2", "scheduled", false, 120);
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_NONE);
  str_set(&k.locs[0].test_run_id, "rerun-1", 0);
  k.locs[0].started_at = 101;
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_FAILED);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_NONE);
  /* once in, nothing more to decide */
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_NONE);
  ev.rerun = RESP_RERUN_AWAITING;
  k.locs[0].failed = false;
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_PASSED);
  rec_key_fini(&k);
}
END_TEST

START_TEST(rerun_result_by_location) {
  struct rec_key k;
  memset(&k, 0, sizeof(k));
  add_loc(&k, "us1", "old-fail", true, 90);
  add_loc(&k, "eu1", "newer-eu", true, 130);
  ev.rerun = RESP_RERUN_AWAITING;
  strcpy(ev.rerun_location, "us1");
  ev.rerun_sent_at = 100;
  /* no run ids from the trigger: a run of us1 newer than the trigger */
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_NONE);
  add_loc(&k, "us1", "newer-us", false, 131);
  struct rec_run replaced = k.locs[0];
  k.locs[0] = k.locs[2]; /* the newer run of us1 replaces the old */
  k.n_locs = 2;
  free(replaced.location);
  free(replaced.test_run_id);
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_PASSED);
  /* a rerun of every location ("") takes the newer runs of any */
  ev.rerun = RESP_RERUN_AWAITING;
  ev.rerun_location[0] = '\0';
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_FAILED);
  ev.rerun = RESP_RERUN_TERMINATING;
  ck_assert_int_eq(resp_rerun_result(&ev, &k), RESP_RESULT_NONE);
  ck_assert_int_eq(ev.rerun, RESP_RERUN_TERMINATING);
  rec_key_fini(&k);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("responses");
  TCase *tc = tcase_create("response texts");
  tcase_add_loop_test(tc, classify, 0, N(kinds));
  suite_add_tcase(s, tc);
  tc = tcase_create("records live as long as their event");
  tcase_add_test(tc, records_get_find_prune);
  suite_add_tcase(s, tc);
  tc = tcase_create("each response is acted on once");
  tcase_add_checked_fixture(tc, ev_setup, NULL);
  tcase_add_test(tc, rerun_once);
  tcase_add_test(tc, rerun_again_after_a_result);
  tcase_add_test(tc, rerun_capped);
  tcase_add_test(tc, closed_and_foreign_events);
  tcase_add_test(tc, items_of_other_events);
  tcase_add_test(tc, acknowledge_latest_wins);
  tcase_add_test(tc, terminating_ignores_everything);
  tcase_add_test(tc, identity_is_user_time_and_text);
  tcase_add_test(tc, seen_is_bounded);
  tcase_add_test(tc, rerun_sent_and_not_sent);
  suite_add_tcase(s, tc);
  tc = tcase_create("a rerun's result");
  tcase_add_checked_fixture(tc, ev_setup, NULL);
  tcase_add_test(tc, rerun_result_by_run_id);
  tcase_add_test(tc, rerun_result_by_location);
  suite_add_tcase(s, tc);
  return s;
}
