/* SPDX-License-Identifier: MIT */
/* Unit tests of the engine: whole poll cycles against a scripted Runscope and
 * xMatters (engine_fake.h) through the transport and clock seams. */
#include "engine_harness.h"

/* ---- paging and closing ---- */

/* A failing run creates exactly one event, with the key's properties; the
 * same failure and newer failing runs on later cycles create no other. */
START_TEST(test_fail_pages_once) {
  start(T0);
  size_t first = run("fail", T0 - 30);
  cycle_ok(T0);
  ck_assert_uint_eq(triggers(0), 1);
  assert_trigger(ef_first(&h.f, EF_TRIGGER, KEY, 0), h.f.runs[first].id);
  for (int i = 1; i <= 8; i++) {
    size_t mark = h.f.n_reqs;
    bool newer = i % 2 == 0;
    if (newer)
      run("fail", T0 + 60 * i - 30);
    cycle_ok(T0 + 60 * i);
    if (newer) /* the new failure was read */
      ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
    ck_assert_uint_eq(triggers(mark), 0);
  }
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_uint_eq(terminates(0), 0);
  ck_assert_double_eq(self_value("events_created"), 1);
}
END_TEST

/* A passing run terminates the key's open event, once; later passes do
 * nothing more. */
START_TEST(test_pass_terminates) {
  const struct ef_event *ev = page();
  run("pass", T0 + 90);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(ef_count(&h.f, EF_STATUS, ev->id, mark), 1);
  ck_assert_str_eq(ev->status, "TERMINATED");
  mark = h.f.n_reqs;
  for (int i = 3; i <= 8; i++) {
    if (i % 2 == 1)
      run("pass", T0 + 60 * i - 30);
    cycle_ok(T0 + 60 * i);
  }
  ck_assert_uint_eq(terminates(mark), 0);
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  ck_assert_double_eq(self_value("events_terminated"), 1);
  ck_assert_double_eq(self_value("active_events"), 0);
}
END_TEST

/* ---- the behaviour table (DESIGN.md, "Behaviour") ---- */

enum prior {
  P_NONE,       /* nothing known anywhere */
  P_ACTIVE,     /* an active event the engine created and saw */
  P_ADOPT,      /* an active event in xMatters the state does not know */
  P_REQUESTED,  /* a trigger was accepted; the event does not show yet */
  P_ACTIVE_PLUS /* the engine's active event and two others of the key */
};

struct table_row {
  const char *name;
  enum prior prior;
  const char *result;
  size_t lookups, triggers, terminates; /* in the row's cycle */
  size_t open_after;                    /* open events of the key after */
};

static const struct table_row table_rows[] = {
    {"fail, no event", P_NONE, "fail", 1, 1, 0, 1},
    {"fail, active event", P_ACTIVE, "fail", 0, 0, 0, 1},
    {"fail, unknown active event", P_ADOPT, "fail", 1, 0, 0, 1},
    {"fail, just requested", P_REQUESTED, "fail", 1, 0, 0, 1},
    {"pass, active event", P_ACTIVE, "pass", 1, 0, 1, 0},
    {"pass, known and unknown events", P_ACTIVE_PLUS, "pass", 1, 0, 3, 0},
    {"pass, unknown active event", P_ADOPT, "pass", 1, 0, 1, 0},
    {"pass, no event", P_NONE, "pass", 0, 0, 0, 0},
    {"working, no event", P_NONE, "working", 0, 0, 0, 0},
    {"cancelled, no event", P_NONE, "cancelled", 0, 0, 0, 0},
    {"working, active event", P_ACTIVE, "working", 0, 0, 0, 1},
    {"cancelled, active event", P_ACTIVE, "cancelled", 0, 0, 0, 1},
};

#define T_ROW (T0 + 200)

static void setup_prior(enum prior p) {
  switch (p) {
  case P_ADOPT:
    ef_add_event(&h.f, KEY, "ACTIVE");
    /* fall through */
  case P_NONE:
    start(T_ROW - 10);
    break;
  case P_ACTIVE_PLUS:
    page();
    ef_add_event(&h.f, KEY, "ACTIVE");
    ef_add_event(&h.f, KEY, "SUSPENDED");
    break;
  case P_ACTIVE:
    page();
    break;
  case P_REQUESTED:
    start(T_ROW - 40);
    run("fail", T_ROW - 50);
    h.f.visibility_delay = 1000;
    cycle_ok(T_ROW - 30);
    ck_assert_uint_eq(triggers(0), 1);
    break;
  }
}

/* What the engine does for each kind of run and state of the key's
 * events, in one cycle; a quiet cycle after it does nothing more. */
START_TEST(test_behaviour_table) {
  const struct table_row *r = &table_rows[_i];
  setup_prior(r->prior);
  size_t mark = h.f.n_reqs;
  run(r->result, T_ROW - 20);
  cycle_ok(T_ROW);
  ck_assert_msg(ef_count(&h.f, EF_RESULTS, TEST_ID, mark) >= 1,
                "%s: the run was not read", r->name);
  ck_assert_msg(lookups(mark) == r->lookups, "%s: %zu lookups", r->name,
                lookups(mark));
  ck_assert_msg(triggers(mark) == r->triggers, "%s: %zu triggers", r->name,
                triggers(mark));
  ck_assert_msg(terminates(mark) == r->terminates, "%s: %zu terminates",
                r->name, terminates(mark));
  ck_assert_msg(ef_events_of(&h.f, KEY, true) == r->open_after,
                "%s: %zu open events", r->name, ef_events_of(&h.f, KEY, true));
  mark = h.f.n_reqs;
  cycle_ok(T_ROW + 20);
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert_uint_eq(terminates(mark), 0);
}
END_TEST

/* ---- what the engine sees of runs ---- */

/* FAILURE when the key starts failing, OKAY (naming the terminated event)
 * when it recovers, each once; nothing for a key passing from the start. */
START_TEST(test_notifications) {
  start(T0);
  run("pass", T0 - 30);
  cycle_ok(T0);
  ck_assert_uint_eq(notes(0, KEY), 0);
  for (int i = 1; i <= 3; i++) {
    run("fail", T0 + 60 * i - 30);
    cycle_ok(T0 + 60 * i);
    ck_assert_uint_eq(notes(ENGINE_FAILURE, KEY), 1);
  }
  for (int i = 4; i <= 6; i++) {
    run("pass", T0 + 60 * i - 30);
    cycle_ok(T0 + 60 * i);
    ck_assert_uint_eq(notes(ENGINE_OKAY, KEY), 1);
  }
  ck_assert_uint_eq(notes(0, KEY), 2);
  const struct note *okay = &h.told.notes[h.told.n_notes - 1];
  ck_assert_int_eq(okay->sev, ENGINE_OKAY);
  ck_assert_str_eq(okay->event_id, h.f.events[0].id);
  run("fail", T0 + 60 * 7 - 30);
  cycle_ok(T0 + 60 * 7);
  ck_assert_uint_eq(notes(ENGINE_FAILURE, KEY), 2);
}
END_TEST

/* A run still working when first read and failed on a later read is read
 * again until it finishes, and then pages, once. */
START_TEST(test_unfinished_then_fail) {
  start(T0);
  run("pass", T0 - 100);
  size_t w = run("working", T0 - 30);
  cycle_ok(T0);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 60);
  ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
  ck_assert_uint_eq(triggers(0), 0);
  ck_assert_uint_eq(notes(0, KEY), 0);
  ef_copy(h.f.runs[w].result, sizeof(h.f.runs[w].result), "fail");
  h.f.runs[w].finished_at = T0 + 70;
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(triggers(0), 1);
  assert_trigger(ef_first(&h.f, EF_TRIGGER, KEY, 0), h.f.runs[w].id);
  for (int i = 3; i <= 6; i++)
    cycle_ok(T0 + 60 * i);
  ck_assert_uint_eq(triggers(0), 1);
}
END_TEST

/* A pass in one region never closes the page a failure in another opened;
 * the event is terminated once every region passes. */
START_TEST(test_regions) {
  start(T0);
  ef_add_run(&h.f, 0, "us1", "fail", T0 - 30);
  ef_add_run(&h.f, 0, "eu1", "pass", T0 - 30);
  cycle_ok(T0);
  ck_assert_uint_eq(triggers(0), 1);
  for (int i = 1; i <= 4; i++) {
    ef_add_run(&h.f, 0, "eu1", "pass", T0 + 60 * i - 30);
    cycle_ok(T0 + 60 * i);
  }
  ck_assert_uint_eq(terminates(0), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ef_add_run(&h.f, 0, "us1", "pass", T0 + 270);
  cycle_ok(T0 + 300);
  ck_assert_uint_eq(terminates(0), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 0);
}
END_TEST

/* A person terminated the event: the engine learns it at its next check
 * (ReconcileInterval), does not page again for the same failure, and pages
 * once for a newer failing run. */
START_TEST(test_person_terminates) {
  struct ef_event *ev = page(); /* checked at T0 + 60 */
  ef_copy(ev->status, sizeof(ev->status), "TERMINATED");
  size_t mark = h.f.n_reqs;
  for (int i = 2; i <= 6; i++)
    cycle_ok(T0 + 60 * i);
  ck_assert_uint_ge(lookups(mark), 1);
  ck_assert_uint_eq(triggers(mark), 0);
  run("fail", T0 + 400);
  cycle_ok(T0 + 420);
  ck_assert_uint_eq(triggers(mark), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 2);
}
END_TEST

/* ---- restarts ---- */

struct restart_row {
  const char *name;
  bool seen;         /* a lookup saw the event before the restart */
  bool lose_state;   /* the state file is gone after the restart */
  double visibility; /* xMatters shows a new event after this */
};

static const struct restart_row restart_rows[] = {
    {"after the event was seen", true, false, 0},
    {"before the event shows up", false, false, 45},
    {"without the state file", true, true, 0},
};

/* engine_free, then engine_new on the same state file: a key already paged
 * is not paged again, and a pass after the restart still terminates its
 * event. */
START_TEST(test_restart) {
  const struct restart_row *r = &restart_rows[_i];
  start(T0);
  h.f.visibility_delay = r->visibility;
  run("fail", T0 - 30);
  cycle_ok(T0);
  if (r->seen)
    cycle_ok(T0 + 20);
  stop();
  if (r->lose_state)
    ck_assert_int_eq(unlink(h.state), 0);
  start(T0 + 25);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 30);
  cycle_ok(T0 + 90);
  run("fail", T0 + 120);
  cycle_ok(T0 + 150);
  ck_assert_msg(triggers(mark) == 0, "%s: paged again", r->name);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  run("pass", T0 + 170);
  cycle_ok(T0 + 180);
  ck_assert_msg(terminates(mark) == 1, "%s: not terminated", r->name);
  ck_assert_str_eq(h.f.events[0].status, "TERMINATED");
}
END_TEST

/* A bucket that selects its environment by name reads a run that comes
 * without a name by the name an earlier verdict run gave the key, also
 * after a restart that reads no test detail: the state keeps the name. */
START_TEST(test_env_name_kept_by_state) {
  ck_assert_int_eq(cfg_list_add(&h.cfg.buckets[0].environments, ENV_NAME), 0);
  start(T0);
  run("pass", T0 - 30);
  cycle_ok(T0);
  stop();
  h.f.tests[0].env_name[0] = '\0'; /* the runs name no environment now */
  start(T0 + 50);
  size_t mark = h.f.n_reqs;
  run("fail", T0 + 40);
  cycle_ok(T0 + 60);
  ck_assert_uint_eq(ef_count(&h.f, EF_TEST, TEST_ID, mark), 0);
  ck_assert_uint_eq(triggers(mark), 1);
  assert_trigger(ef_first(&h.f, EF_TRIGGER, KEY, mark), h.f.runs[1].id);
}
END_TEST

/* ---- lost answers ---- */

struct lost_row {
  const char *name;
  int rc;            /* the transport error after sending */
  bool created;      /* xMatters created the event all the same */
  double visibility; /* ... and shows it after this */
  size_t triggers;
};

static const struct lost_row lost_rows[] = {
    {"timeout, event created", -ETIMEDOUT, true, 0, 1},
    {"timeout, event shows up late", -ETIMEDOUT, true, 45, 1},
    {"reset, event shows up late", -ECONNRESET, true, 45, 1},
    {"timeout, nothing created", -ETIMEDOUT, false, 0, 2},
};

/* A trigger whose answer was lost is not sent again blindly: the engine
 * looks for the key's event, and sends again only when none showed up
 * within PendingTimeout (60 s); in the end exactly one event exists. The
 * interval is 20 s, so that xMatters' back-off ends before that. */
START_TEST(test_lost_answer) {
  const struct lost_row *r = &lost_rows[_i];
  h.cfg.interval = 20;
  start(T0);
  run("fail", T0 - 30);
  h.f.visibility_delay = r->visibility;
  ef_fail(&h.f, EF_TRIGGER, r->rc, 0, r->created, -1);
  cycle_ok(T0);
  ck_assert_uint_eq(triggers(0), 1);
  size_t mark = h.f.n_reqs;
  for (int i = 1; i <= 6; i++)
    cycle_ok(T0 + 20 * i);
  const struct ef_req *look = ef_first(&h.f, EF_EVENTS, KEY, mark);
  const struct ef_req *again = ef_first(&h.f, EF_TRIGGER, KEY, mark);
  ck_assert_ptr_nonnull(look);
  ck_assert_msg(again == NULL || (look < again && again->at >= T0 + 60),
                "%s: sent again at +%.0f", r->name, again->at - T0);
  ck_assert_msg(triggers(0) == r->triggers, "%s: %zu triggers", r->name,
                triggers(0));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
}
END_TEST

struct crash_row {
  const char *name;
  bool sent;         /* the trigger reached xMatters before the crash */
  double visibility; /* the event shows up after this */
  size_t triggers;   /* in all */
};

static const struct crash_row crash_rows[] = {
    {"crash after sending", true, 45, 1},
    {"crash before sending", false, 0, 2},
};

/* The process dies while a trigger is on its way (the state file as it was
 * then is restored): the restarted engine does not send it again before
 * PendingTimeout, and one event exists in the end. */
START_TEST(test_crash_during_trigger) {
  const struct crash_row *r = &crash_rows[_i];
  start(T0 - 60);
  run("pass", T0 - 90);
  cycle_ok(T0 - 60); /* a state file from before the failure */
  run("fail", T0 - 30);
  h.f.visibility_delay = r->visibility;
  h.f.snapshot = h.snapshot;
  if (!r->sent)
    ef_fail(&h.f, EF_TRIGGER, -ECONNREFUSED, 0, false, -1);
  cycle_ok(T0);
  ck_assert_ptr_null(h.f.snapshot); /* the trigger was tried */
  stop();
  ef_copy_file(h.snapshot, h.state);
  start(T0 + 10);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 20);
  cycle_ok(T0 + 40);
  ck_assert_msg(triggers(mark) == 0, "%s: sent again at once", r->name);
  for (int i = 1; i <= 3; i++)
    cycle_ok(T0 + 60 * i);
  ck_assert_msg(triggers(0) == r->triggers, "%s: %zu triggers", r->name,
                triggers(0));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
}
END_TEST

/* ---- back-off ---- */

struct backoff_row {
  const char *name;
  enum ef_route route; /* answers 503 once */
  double retry_after;  /* its Retry-After, -1: none */
  double quiet[2];     /* cycles after the failure that call nothing (0: -) */
  double again;        /* the cycle after which the API is called again */
};

static const struct backoff_row rs_backoff_rows[] = {
    {"tests list 503", EF_TESTS, -1, {20, 0}, 60},
    {"tests list 503, Retry-After", EF_TESTS, 150, {60, 120}, 180},
};

/* Cycles at t + row->quiet call no API of that side (xmatters or not). */
static void assert_quiet(const struct backoff_row *r, double t, bool xmatters) {
  for (size_t i = 0; i < 2 && r->quiet[i] > 0; i++) {
    size_t mark = h.f.n_reqs;
    cycle_ok(t + r->quiet[i]);
    ck_assert_msg(ef_count_api(&h.f, xmatters, mark) == 0,
                  "%s: called at +%.0f", r->name, r->quiet[i]);
  }
}

/* Runscope answering 503 to the tests list is not called again within the
 * back-off; a later cycle calls it and pages the failure. */
START_TEST(test_runscope_backoff) {
  const struct backoff_row *r = &rs_backoff_rows[_i];
  start(T0);
  run("fail", T0 - 30);
  ef_fail(&h.f, r->route, 0, 503, false, r->retry_after);
  cycle_ok(T0);
  ck_assert_uint_eq(ef_count(&h.f, EF_TESTS, NULL, 0), 1);
  ck_assert_uint_eq(ef_count(&h.f, EF_RESULTS, NULL, 0), 0);
  ck_assert_uint_eq(triggers(0), 0);
  assert_quiet(r, T0, false);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + r->again);
  ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
  ck_assert_uint_eq(triggers(mark), 1);
}
END_TEST

static const struct backoff_row xm_backoff_rows[] = {
    {"trigger 503", EF_TRIGGER, -1, {20, 0}, 60},
    {"trigger 503, Retry-After", EF_TRIGGER, 150, {60, 120}, 180},
    {"terminate 503", EF_STATUS, -1, {20, 0}, 60},
};

/* xMatters answering 503 to a trigger (nothing was created) or to a
 * terminate is not called within the back-off, while the key's
 * notification goes out; a later cycle does what failed, and one event
 * was created in all. */
START_TEST(test_xmatters_backoff) {
  const struct backoff_row *r = &xm_backoff_rows[_i];
  bool closing = r->route == EF_STATUS;
  double t = closing ? T0 + 120 : T0;
  if (closing) {
    page();
    run("pass", T0 + 90);
  } else {
    start(T0);
    run("fail", T0 - 30);
  }
  ef_fail(&h.f, r->route, 0, 503, false, r->retry_after);
  size_t mark = h.f.n_reqs;
  cycle_ok(t);
  ck_assert_uint_eq(ef_count(&h.f, r->route, NULL, mark), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), (closing ? 1 : 0));
  /* the key's notification does not wait for xMatters */
  ck_assert_uint_eq(notes(closing ? ENGINE_OKAY : ENGINE_FAILURE, KEY), 1);
  assert_quiet(r, t, true);
  cycle_ok(t + r->again);
  cycle_ok(t + r->again + 60);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), (closing ? 0 : 1));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
}
END_TEST

/* ---- credentials ---- */

enum cred_setup { CRED_FAULT, CRED_WRONG_TOKEN, CRED_WRONG_PASSWORD };

struct cred_row {
  const char *name;
  enum cred_setup setup;
  enum ef_route route; /* CRED_FAULT: answers status */
  long status;
  int want; /* engine_cycle's result */
  const char *logged;
};

static const struct cred_row cred_rows[] = {
    {"Runscope rejects the token", CRED_WRONG_TOKEN, 0, 0, -EACCES, "HTTP 403"},
    {"xMatters rejects the password", CRED_WRONG_PASSWORD, 0, 0, -EACCES,
     "HTTP 401"},
    {"Runscope answers 401", CRED_FAULT, EF_BUCKET_GET, 401, -EACCES,
     "HTTP 401"},
    {"xMatters answers 403", CRED_FAULT, EF_EVENTS, 403, -EACCES, "HTTP 403"},
    {"Runscope answers 503", CRED_FAULT, EF_BUCKET_GET, 503, 0, "HTTP 503"},
};

/* Rejected credentials on the first cycle make engine_cycle return
 * -EACCES (an outage does not), logged without the secrets. */
START_TEST(test_credentials) {
  const struct cred_row *r = &cred_rows[_i];
  if (r->setup == CRED_WRONG_TOKEN)
    set(&h.cfg.runscope.token, "rs-token-wrong");
  if (r->setup == CRED_WRONG_PASSWORD)
    set(&h.cfg.xmatters.password, "xm-password-wrong");
  if (r->setup == CRED_FAULT)
    ef_fail(&h.f, r->route, 0, r->status, false, -1);
  start(T0);
  run("fail", T0 - 30);
  int rc = cycle(T0);
  ck_assert_msg(rc == r->want, "%s: %d", r->name, rc);
  ck_assert_msg(logged(r->logged), "%s: not logged: %s", r->name, h.told.log);
  const char *secrets[] = {EF_TOKEN, EF_XM_PASSWORD, EF_API_KEY,
                           "rs-token-wrong", "xm-password-wrong"};
  for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
    ck_assert_msg(!logged(secrets[i]), "%s: logged %s", r->name, secrets[i]);
}
END_TEST

/* ---- one test that cannot be read ---- */

#define TEST2 "test-2"
#define KEY2 EF_BUCKET "/" TEST2 "/env-2"
#define TEST3 "test-3"
#define KEY3 EF_BUCKET "/" TEST3 "/env-3"
#define UNREADABLE "cannot be read"

/* How often text occurs in the log. */
static size_t log_count(const char *text) {
  size_t n = 0;
  for (const char *p = h.told.log; p != NULL && (p = strstr(p, text)) != NULL;
       p += strlen(text))
    n++;
  return n;
}

struct bad_row {
  const char *name;
  enum ef_bad bad;
  bool detail;     /* its detail is broken, else its results */
  bool from_start; /* broken before its first read, else after one */
};

static const struct bad_row bad_rows[] = {
    {"results: malformed JSON", EF_MALFORMED, false, false},
    {"results: wrong types", EF_WRONG_TYPES, false, false},
    {"results: 404", EF_NOT_FOUND, false, false},
    {"results: oversize", EF_OVERSIZE, false, false},
    {"results: malformed JSON, never read", EF_MALFORMED, false, true},
    {"detail: malformed JSON", EF_MALFORMED, true, true},
    {"detail: oversize", EF_OVERSIZE, true, true},
};

/* Three tests: test-1 fails, test-2 passes, test-3 fails (all paged or
 * seen at T0, so that a pass of test-3 has an event to close). */
static void three_tests(void) {
  ef_add_test(&h.f, TEST2, "Search", "env-2", ENV_NAME);
  ef_add_test(&h.f, TEST3, "Login", "env-3", ENV_NAME);
  run("fail", T0 - 30);
  ef_add_run(&h.f, 1, "us1", "pass", T0 - 40);
  ef_add_run(&h.f, 2, "us1", "fail", T0 - 30);
}

/* Sets how test-2's detail or results answer. A broken detail matters
 * only where the detail is needed: its list item has no last_run. */
static void break_test2(const struct bad_row *r, enum ef_bad bad) {
  *(r->detail ? &h.f.tests[1].detail_bad : &h.f.tests[1].results_bad) = bad;
  h.f.tests[1].no_last_run = r->detail;
}

/* One cycle at t with test-2 unreadable: Runscope is asked at the normal
 * pace (no back-off), test-2 again; a WARNING on its key only after
 * OutageThreshold (120 s) since its first failure. */
static void unreadable_cycle(const struct bad_row *r, double t, double since) {
  size_t mark = h.f.n_reqs;
  cycle_ok(t);
  ck_assert_msg(ef_count(&h.f, EF_TESTS, NULL, mark) >= 1,
                "%s: Runscope not asked at +%.0f", r->name, t - T0);
  ck_assert_msg(ef_count(&h.f, r->detail ? EF_TEST : EF_RESULTS, TEST2, mark) ==
                    1,
                "%s: test-2 not asked again at +%.0f", r->name, t - T0);
  ck_assert_msg(!logged("Backing off"), "%s: %s", r->name, h.told.log);
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY2), t - since >= 120 ? 1 : 0);
}

/* One test whose results (or detail) answer malformed JSON, wrong types, a
 * 404 or an oversized body costs that test alone: the others are read and
 * judged in the same cycles (test-3's pass closes its event, test-1's new
 * failure is read), the API is not backed off, the failure is counted
 * and logged with growing gaps, test-2 is asked again every cycle, gets a
 * WARNING on its key after OutageThreshold and an OKAY when it reads
 * again. */
START_TEST(test_one_bad_test) {
  const struct bad_row *r = &bad_rows[_i];
  h.cfg.outage_threshold = 120;
  three_tests();
  start(T0);
  if (r->from_start)
    break_test2(r, r->bad);
  cycle_ok(T0);
  ck_assert_uint_eq(ef_count(&h.f, EF_TRIGGER, KEY, 0), 1);
  ck_assert_uint_eq(ef_count(&h.f, EF_TRIGGER, KEY3, 0), 1);
  break_test2(r, r->bad);
  double since = r->from_start ? T0 : T0 + 60;
  ef_add_run(&h.f, 1, "us1", "pass", T0 + 50); /* test-2 has news */
  size_t failures = r->from_start ? 1 : 0;
  for (double t = T0 + 60; t <= T0 + 240; t += 30, failures++) {
    size_t mark = h.f.n_reqs;
    if (t == T0 + 90) /* test-3 passes */
      ef_add_run(&h.f, 2, "us1", "pass", t - 10);
    if (t == T0 + 150) /* test-1 fails again */
      run("fail", t - 10);
    unreadable_cycle(r, t, since);
    if (t == T0 + 90) /* test-3's pass closes its event at once */
      ck_assert_msg(ef_events_of(&h.f, KEY3, true) == 0, "%s", r->name);
    if (t == T0 + 150) /* test-1's new failure is read at once */
      ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
  }
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY), 0);
  ck_assert_msg(log_count(UNREADABLE) >= 1 && log_count(UNREADABLE) <= 3,
                "%s: %zu lines for %zu failures", r->name,
                log_count(UNREADABLE), failures);
  ck_assert_double_ge(self_value("runscope_errors"), (double)failures);
  ck_assert_double_ge(self_value("api_errors"), (double)failures);
  break_test2(r, EF_GOOD);
  cycle_ok(T0 + 270);
  ck_assert_uint_eq(notes(ENGINE_OKAY, KEY2), 1);
  ck_assert(logged("(" EF_BUCKET "/" TEST2 ") is read again"));
  cycle_ok(T0 + 300);
  ck_assert_uint_eq(notes(ENGINE_OKAY, KEY2), 1);
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY2), 1);
}
END_TEST

struct wide_row {
  const char *name;
  int rc;      /* a transport error, or 0 */
  long status; /* else this answer */
};

static const struct wide_row wide_rows[] = {
    {"503", 0, 503},
    {"429", 0, 429},
    {"timeout", -ETIMEDOUT, 0},
    {"reset", -ECONNRESET, 0},
    {"refused", -ECONNREFUSED, 0},
};

/* A results read that meets a struggling server (5xx, 429, no answer)
 * still backs the whole API off: the next cycle within the back-off asks
 * Runscope nothing, and no test is blamed for it. */
START_TEST(test_server_trouble_backs_off) {
  const struct wide_row *r = &wide_rows[_i];
  three_tests();
  start(T0);
  ef_fail(&h.f, EF_RESULTS, r->rc, r->status, false, -1);
  cycle_ok(T0);
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 20);
  ck_assert_msg(ef_count_api(&h.f, false, mark) == 0, "%s: called", r->name);
  ck_assert_msg(logged("Backing off the Runscope API"), "%s", r->name);
  ck_assert_msg(!logged(UNREADABLE), "%s: %s", r->name, h.told.log);
  cycle_ok(T0 + 60);
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(ef_count(&h.f, EF_TRIGGER, KEY, 0), 1);
  ck_assert_uint_eq(ef_count(&h.f, EF_TRIGGER, KEY3, 0), 1);
}
END_TEST

/* ---- thresholds, flap damping, maintenance windows (issue 15) ---- */

/* A <Bucket> FailureThreshold 2: the first failure pages nobody, and its
 * streak survives a restart, so the second pages once. */
START_TEST(test_bucket_threshold_survives_restart) {
  h.cfg.buckets[0].failure_threshold = 2;
  start(T0);
  run("fail", T0 - 30);
  cycle_ok(T0);
  cycle_ok(T0 + 60);
  ck_assert_uint_eq(triggers(0), 0);
  ck_assert_uint_eq(notes(ENGINE_FAILURE, KEY), 0);
  stop();
  start(T0 + 100);
  run("fail", T0 + 90);
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(triggers(0), 1);
  ck_assert_uint_eq(notes(ENGINE_FAILURE, KEY), 1);
}
END_TEST

/* FlapDetection: an alternating key gets a WARNING and a log line once,
 * then no more triggers or terminates while it flaps; passes end it with
 * an OKAY. */
START_TEST(test_flapping_warns_once) {
  h.cfg.flap_detection = true;
  h.cfg.flap_window = 6;
  start(T0);
  double t = T0;
  for (int i = 0; i < 6; i++, t += 60) {
    run(i % 2 ? "pass" : "fail", t - 30);
    cycle_ok(t);
  }
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY), 1);
  ck_assert(logged("is flapping"));
  size_t mark = h.f.n_reqs;
  for (int i = 0; i < 4; i++, t += 60) {
    run(i % 2 ? "pass" : "fail", t - 30);
    cycle_ok(t);
  }
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert_uint_eq(terminates(mark), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY), 1);
  for (int i = 0; i < 8; i++, t += 60) {
    run("pass", t - 30);
    cycle_ok(t);
  }
  ck_assert(logged("stopped flapping"));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 0);
}
END_TEST

/* Writes a MaintenanceDir file name (under dir) holding text. */
static void window_file(const char *dir, const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* A window file naming the bucket by name silences a failure (a bad file
 * beside it is logged once); when it ends the key pages once, saying it
 * failed in the window. */
START_TEST(test_maintenance_dir) {
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/mw", h.dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  set(&h.cfg.maintenance_dir, dir);
  window_file(dir, "deploy.json",
              "{\"bucket\": \"" EF_BUCKET_NAME "\", "
              "\"end\": \"2023-11-14T22:23:20Z\"}");
  window_file(dir, "bad.json", "{\"end\": 5}");
  start(T0);
  run("fail", T0 - 30);
  cycle_ok(T0);
  cycle_ok(T0 + 60);
  ck_assert_uint_eq(triggers(0), 0);
  ck_assert_uint_eq(notes(ENGINE_FAILURE, KEY), 0);
  ck_assert(logged(KEY " is in maintenance window \"deploy\" until "
                       "2023-11-14T22:23:20Z"));
  const char *bad = strstr(h.told.log, "bad.json");
  ck_assert_ptr_nonnull(bad);
  ck_assert_ptr_null(strstr(bad + 1, "bad.json"));
  cycle_ok(T0 + 600);
  ck_assert(logged("left maintenance window \"deploy\""));
  ck_assert_uint_eq(triggers(0), 1);
  json_object *root =
      json_tokener_parse(ef_first(&h.f, EF_TRIGGER, KEY, 0)->body);
  json_object *props = NULL;
  ck_assert(json_object_object_get_ex(root, "properties", &props));
  assert_prop(props, "maintenance_window", "deploy");
  assert_prop(props, "failing_since", "2023-11-14T22:12:50Z");
  json_object_put(root);
  cycle_ok(T0 + 660);
  ck_assert_uint_eq(triggers(0), 1);
  unlink(strcat(dir, "/deploy.json"));
  dir[strlen(dir) - strlen("/deploy.json")] = '\0';
  char bad_path[160];
  snprintf(bad_path, sizeof(bad_path), "%s/bad.json", dir);
  unlink(bad_path);
  rmdir(dir);
}
END_TEST

/* ---- the suite ---- */

/* ---- a person's termination, answers in doubt (issue 14) ---- */

/* GETs of one event (EF_EVENT) since request number from. */
static size_t event_gets(size_t from) {
  return ef_count(&h.f, EF_EVENT, NULL, from);
}

/* A person terminated the event; a new failing run is confirmed against
 * xMatters (one GET of the event) and pages in the cycle that reads it,
 * not at the next reconciliation. */
START_TEST(test_terminated_then_fail_pages_at_once) {
  struct ef_event *ev = page(); /* checked at T0 + 60 */
  ef_copy(ev->status, sizeof(ev->status), "TERMINATED");
  size_t mark = h.f.n_reqs;
  run("fail", T0 + 90);
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(ef_count(&h.f, EF_EVENT, ev->id, mark), 1);
  ck_assert_uint_eq(lookups(mark), 0);
  ck_assert_uint_eq(triggers(mark), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 2);
  ck_assert(logged("is over (TERMINATED)"));
}
END_TEST

/* Still open: one GET for the new failing run, no trigger, and no other
 * GET until a newer failing run. */
START_TEST(test_still_open_confirmed_once) {
  page();
  size_t mark = h.f.n_reqs;
  run("fail", T0 + 90);
  cycle_ok(T0 + 120);
  cycle_ok(T0 + 180);
  ck_assert_uint_eq(event_gets(mark), 1);
  ck_assert_uint_eq(triggers(mark), 0);
  run("fail", T0 + 210);
  cycle_ok(T0 + 240);
  ck_assert_uint_eq(event_gets(mark), 2);
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
}
END_TEST

/* The GET fails: as before the check, the event is taken as open (no
 * page), the error is counted and xMatters backed off. */
START_TEST(test_confirm_error_stays_quiet) {
  page();
  ef_fail(&h.f, EF_EVENT, 0, 500, false, -1);
  size_t mark = h.f.n_reqs;
  run("fail", T0 + 90);
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(event_gets(mark), 1);
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert(logged("HTTP 500"));
  for (int i = 3; i <= 5; i++)
    cycle_ok(T0 + 60 * i);
  ck_assert_uint_eq(event_gets(mark), 1);
  ck_assert_uint_eq(triggers(mark), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
}
END_TEST

struct doubt_row {
  const char *name;
  long status;       /* the trigger's answer, not JSON */
  bool created;      /* xMatters created the event before it */
  double visibility; /* ... and shows it after this */
  size_t sends;      /* triggers in all */
};

static const struct doubt_row doubt_rows[] = {
    {"502 after creating", 502, true, 0, 1},
    {"502 after creating, event shows up late", 502, true, 45, 1},
    {"503 after creating, event shows up late", 503, true, 45, 1},
    {"504 after creating, event shows up late", 504, true, 45, 1},
    {"200 not JSON after creating", 200, true, 45, 1},
    {"202 not JSON after creating", 202, true, 0, 1},
    {"502, nothing created", 502, false, 0, 2},
    {"200 not JSON, nothing created", 200, false, 0, 2},
};

/* A trigger answered a gateway's 502/503/504, or a 2xx without a
 * requestId: the engine looks for the key's event before sending again,
 * and sends again only when none showed up within PendingTimeout; one
 * event in the end. */
START_TEST(test_trigger_in_doubt) {
  const struct doubt_row *r = &doubt_rows[_i];
  h.cfg.interval = 20;
  start(T0);
  run("fail", T0 - 30);
  h.f.visibility_delay = r->visibility;
  ef_fail(&h.f, EF_TRIGGER, 0, r->status, r->created, -1);
  cycle_ok(T0);
  ck_assert_uint_eq(triggers(0), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), r->created ? 1 : 0);
  size_t mark = h.f.n_reqs;
  for (int i = 1; i <= 6; i++)
    cycle_ok(T0 + 20 * i);
  const struct ef_req *look = ef_first(&h.f, EF_EVENTS, KEY, mark);
  const struct ef_req *again = ef_first(&h.f, EF_TRIGGER, KEY, mark);
  ck_assert_ptr_nonnull(look);
  ck_assert_msg(again == NULL || (look < again && again->at >= T0 + 60),
                "%s: sent again at +%.0f", r->name, again->at - T0);
  ck_assert_msg(triggers(0) == r->sends, "%s: %zu triggers", r->name,
                triggers(0));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, false), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("engine");
  add(s, "fail_pages_once", test_fail_pages_once, 0);
  add(s, "pass_terminates", test_pass_terminates, 0);
  add(s, "restart", test_restart, N_ROWS(restart_rows));
  add(s, "env_name_kept_by_state", test_env_name_kept_by_state, 0);
  add(s, "lost_answer", test_lost_answer, N_ROWS(lost_rows));
  add(s, "crash_during_trigger", test_crash_during_trigger, N_ROWS(crash_rows));
  add(s, "runscope_backoff", test_runscope_backoff, N_ROWS(rs_backoff_rows));
  add(s, "xmatters_backoff", test_xmatters_backoff, N_ROWS(xm_backoff_rows));
  add(s, "credentials", test_credentials, N_ROWS(cred_rows));
  add(s, "behaviour_table", test_behaviour_table, N_ROWS(table_rows));
  add(s, "notifications", test_notifications, 0);
  add(s, "unfinished_then_fail", test_unfinished_then_fail, 0);
  add(s, "regions", test_regions, 0);
  add(s, "person_terminates", test_person_terminates, 0);
  add(s, "one_bad_test", test_one_bad_test, N_ROWS(bad_rows));
  add(s, "server_trouble_backs_off", test_server_trouble_backs_off,
      N_ROWS(wide_rows));
  add(s, "terminated_then_fail_pages_at_once",
      test_terminated_then_fail_pages_at_once, 0);
  add(s, "still_open_confirmed_once", test_still_open_confirmed_once, 0);
  add(s, "confirm_error_stays_quiet", test_confirm_error_stays_quiet, 0);
  add(s, "trigger_in_doubt", test_trigger_in_doubt, N_ROWS(doubt_rows));
  add(s, "bucket_threshold_survives_restart",
      test_bucket_threshold_survives_restart, 0);
  add(s, "flapping_warns_once", test_flapping_warns_once, 0);
  add(s, "maintenance_dir", test_maintenance_dir, 0);
  return s;
}
