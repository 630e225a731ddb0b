/* Unit tests of the reconciler: full poll cycles against a simulated
 * xMatters, the behaviour table, locations, pending events, notifications
 * and the results cursor. */
#include "core/reconcile.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET "bkt"
#define TEST_ID "t1"
#define ENV "env1"
#define KEY BUCKET "/" TEST_ID "/" ENV

/* ---- runs ---- */

/* A run of test_id in env at loc (a region, or "agent:<name>"). Finished
 * runs end 5 s after they start; unfinished ones have finished_at 0. */
static struct rs_run mkrun_full(const char *bucket, const char *test_id,
                                const char *env, const char *loc,
                                enum rs_result result, double started_at,
                                const char *id) {
  struct rs_run r;
  memset(&r, 0, sizeof(r));
  snprintf(r.bucket_key, sizeof(r.bucket_key), "%s", bucket);
  snprintf(r.test_id, sizeof(r.test_id), "%s", test_id);
  snprintf(r.environment_id, sizeof(r.environment_id), "%s", env);
  if (strncmp(loc, "agent:", 6) == 0)
    snprintf(r.agent, sizeof(r.agent), "%s", loc + 6);
  else
    snprintf(r.region, sizeof(r.region), "%s", loc);
  snprintf(r.test_run_id, sizeof(r.test_run_id), "%s", id);
  r.result = result;
  r.started_at = started_at;
  if (result != RS_RESULT_UNFINISHED)
    r.finished_at = started_at + 5;
  r.assertions_failed = result == RS_RESULT_FAIL ? 2 : 0;
  r.requests_executed = 3;
  return r;
}

/* A run of the default key; its id is derived from loc and started_at. */
static struct rs_run mkrun(const char *loc, enum rs_result result,
                           double started_at) {
  char id[RS_ID_MAX];
  snprintf(id, sizeof(id), "run-%s-%.3f", loc, started_at);
  return mkrun_full(BUCKET, TEST_ID, ENV, loc, result, started_at, id);
}

/* ---- a simulated xMatters and one engine cycle ---- */

#define FX_EVENTS 256
#define LOG_MAX 256

struct fx_event {
  char key[REC_KEY_MAX];
  char id[XM_ID_MAX];
  double visible_at; /* the events API shows it from then on */
  bool active;
};

struct logged {
  enum rec_action_type type;
  char key[REC_KEY_MAX];
  char event_id[XM_ID_MAX];
};

struct sim {
  struct rec_state st;
  struct rec_opts o;
  double now;
  /* xMatters */
  struct fx_event ev[FX_EVENTS];
  size_t n_ev;
  int next_id;
  double delay;                    /* a created event shows up after this */
  bool down;                       /* no lookup is answered */
  enum rec_create_outcome outcome; /* what the next creates report */
  bool lost_exists;     /* REC_MAYBE_SENT: the event was created after all */
  bool terminate_fails; /* terminates are rejected */
  /* the plugin stops between recording a create and its outcome */
  enum { CRASH_NONE, CRASH_BEFORE_SEND, CRASH_AFTER_SEND } crash;
  /* the last cycle */
  size_t lookups;
  struct logged log[LOG_MAX];
  size_t n_log;
  /* every cycle */
  size_t total_creates;
};

static struct sim *sim_new(void) {
  struct sim *s = calloc(1, sizeof(*s));
  ck_assert_ptr_nonnull(s);
  rec_state_init(&s->st);
  rec_opts_default(&s->o);
  s->outcome = REC_CREATED;
  return s;
}

static void sim_free(struct sim *s) {
  rec_state_fini(&s->st);
  free(s);
}

/* Puts an event for key into xMatters, e.g. one the state never knew. */
static void fx_add(struct sim *s, const char *key, const char *id,
                   double visible_at) {
  ck_assert_uint_lt(s->n_ev, FX_EVENTS);
  struct fx_event *e = &s->ev[s->n_ev++];
  snprintf(e->key, sizeof(e->key), "%s", key);
  snprintf(e->id, sizeof(e->id), "%s", id);
  e->visible_at = visible_at;
  e->active = true;
}

/* Terminates an event (what a person or the plugin does). */
static void fx_terminate(struct sim *s, const char *id) {
  for (size_t i = 0; i < s->n_ev; i++)
    if (strcmp(s->ev[i].id, id) == 0)
      s->ev[i].active = false;
}

/* Active events of key that the events API shows now (visible ones only). */
static size_t fx_active(const struct sim *s, const char *key, const char **ids,
                        size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < s->n_ev; i++) {
    const struct fx_event *e = &s->ev[i];
    if (e->active && e->visible_at <= s->now && strcmp(e->key, key) == 0) {
      if (n < max)
        ids[n] = e->id;
      n++;
    }
  }
  return n;
}

static size_t fx_count(const struct sim *s, const char *key) {
  return fx_active(s, key, NULL, 0);
}

/* A create the way the engine sends it: REC_MAYBE_SENT recorded first
 * (write-ahead), then the trigger, then its real outcome. */
static void sim_create(struct sim *s, struct rec_key *k) {
  char id[XM_ID_MAX], req[XM_ID_MAX];
  s->next_id++;
  s->total_creates++;
  snprintf(id, sizeof(id), "ev-%d", s->next_id);
  snprintf(req, sizeof(req), "req-%d", s->next_id);
  rec_create_done(k, &s->o, REC_MAYBE_SENT, NULL, s->now);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  if (s->crash == CRASH_BEFORE_SEND)
    return;
  if (s->outcome == REC_CREATED ||
      (s->outcome == REC_MAYBE_SENT && s->lost_exists) ||
      s->crash == CRASH_AFTER_SEND)
    fx_add(s, k->key, id, s->now + s->delay);
  if (s->crash == CRASH_AFTER_SEND)
    return;
  rec_create_done(k, &s->o, s->outcome, s->outcome == REC_CREATED ? req : NULL,
                  s->now);
}

static void sim_carry_out(struct sim *s, const struct rec_action *a) {
  ck_assert_uint_lt(a->key, s->st.n_keys);
  struct rec_key *k = s->st.keys[a->key];
  ck_assert_uint_lt(s->n_log, LOG_MAX);
  struct logged *l = &s->log[s->n_log++];
  l->type = a->type;
  snprintf(l->key, sizeof(l->key), "%s", k->key);
  snprintf(l->event_id, sizeof(l->event_id), "%s", a->event_id);
  if (a->type == REC_CREATE) {
    sim_create(s, k);
  } else if (a->type == REC_TERMINATE) {
    if (!s->terminate_fails)
      fx_terminate(s, a->event_id);
    rec_terminate_done(k, a->event_id, !s->terminate_fails);
  }
}

/* Asks the simulated xMatters about the planned keys, as the engine does. */
static void sim_lookups(struct sim *s) {
  size_t *idx = NULL, n_idx = 0;
  ck_assert_int_eq(rec_plan_lookups(&s->st, &s->o, s->now, &idx, &n_idx), 0);
  for (size_t i = 0; i < n_idx && !s->down; i++) {
    ck_assert_uint_lt(idx[i], s->st.n_keys);
    struct rec_key *k = s->st.keys[idx[i]];
    const char *ids[REC_EVENTS_MAX];
    size_t n = fx_active(s, k->key, ids, REC_EVENTS_MAX);
    ck_assert_uint_le(n, REC_EVENTS_MAX);
    rec_apply_lookup(k, &s->o, ids, n, s->now);
    s->lookups++;
  }
  free(idx);
}

/* One poll cycle at now: observe -> look up -> plan -> carry out. */
static void cycle(struct sim *s, double now, const struct rs_run *runs,
                  size_t n) {
  s->now = now;
  s->n_log = 0;
  s->lookups = 0;
  for (size_t i = 0; i < n; i++)
    ck_assert_int_ge(rec_observe_run(&s->st, runs[i].bucket_key, &runs[i]), 0);
  sim_lookups(s);
  struct rec_actions a;
  rec_actions_init(&a);
  ck_assert_int_eq(rec_plan_actions(&s->st, &s->o, s->now, &a), 0);
  for (size_t i = 0; i < a.n; i++)
    sim_carry_out(s, &a.v[i]);
  rec_actions_fini(&a);
}

/* One cycle observing a single run. */
static void cycle1(struct sim *s, double now, struct rs_run run) {
  cycle(s, now, &run, 1);
}

/* Actions of type (for key, or any key when NULL) in the last cycle. */
static size_t count(const struct sim *s, enum rec_action_type type,
                    const char *key) {
  size_t n = 0;
  for (size_t i = 0; i < s->n_log; i++)
    if (s->log[i].type == type && (key == NULL || !strcmp(s->log[i].key, key)))
      n++;
  return n;
}

static bool terminated(const struct sim *s, const char *event_id) {
  for (size_t i = 0; i < s->n_log; i++)
    if (s->log[i].type == REC_TERMINATE &&
        strcmp(s->log[i].event_id, event_id) == 0)
      return true;
  return false;
}

static struct rec_key *key_of(struct sim *s, const char *key) {
  struct rec_key *k = rec_key_find(&s->st, key);
  ck_assert_ptr_nonnull(k);
  return k;
}

static enum rec_verdict verdict_of(struct sim *s, const char *key) {
  return rec_verdict(key_of(s, key), &s->o);
}

/* A failing key whose event is active and known: created at 100, seen at
 * 110 (the fail run started at 90). */
static void make_active(struct sim *s) {
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 110, NULL, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(key_of(s, KEY)->n_events, 1);
}

/* ---- keys ---- */

struct key_row {
  size_t size;
  const char *bucket, *test, *env;
  int rc;
  const char *want;
};

static const struct key_row key_rows[] = {
    {64, "b", "t", "e", 0, "b/t/e"},
    {6, "b", "t", "e", 0, "b/t/e"}, /* exactly fits */
    {5, "b", "t", "e", -ENAMETOOLONG, NULL},
    {REC_KEY_MAX, "bucket", "test", "", 0, "bucket/test/"},
    {1, "", "", "", -ENAMETOOLONG, NULL},
};

START_TEST(test_make_key) {
  const struct key_row *r = &key_rows[_i];
  char out[REC_KEY_MAX];
  ck_assert_int_eq(rec_make_key(out, r->size, r->bucket, r->test, r->env),
                   r->rc);
  if (r->want != NULL)
    ck_assert_str_eq(out, r->want);
}
END_TEST

START_TEST(test_key_get_too_long) {
  struct rec_state st;
  struct rec_key *k = NULL;
  char longid[RS_ID_MAX + 1];
  memset(longid, 'x', RS_ID_MAX);
  longid[RS_ID_MAX] = '\0';
  rec_state_init(&st);
  ck_assert_int_eq(rec_key_get(&st, longid, "t", "e", &k), -ENAMETOOLONG);
  ck_assert_int_eq(rec_key_get(&st, "b", longid, "e", &k), -ENAMETOOLONG);
  ck_assert_int_eq(rec_key_get(&st, "b", "t", longid, &k), -ENAMETOOLONG);
  ck_assert_uint_eq(st.n_keys, 0);
  struct rs_run run = mkrun("us1", RS_RESULT_FAIL, 10);
  ck_assert_int_eq(rec_observe_run(&st, longid, &run), -ENAMETOOLONG);
  ck_assert_uint_eq(st.n_keys, 0);
  ck_assert_int_eq(rec_key_get(&st, "b", "t", "e", &k), 0);
  ck_assert_str_eq(k->key, "b/t/e");
  ck_assert_str_eq(k->bucket_key, "b");
  ck_assert_str_eq(k->test_id, "t");
  ck_assert_str_eq(k->environment_id, "e");
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  rec_state_fini(&st);
}
END_TEST

static uint32_t rng_next(uint32_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

/* 5,000 keys inserted in a random order stay sorted and findable. */
START_TEST(test_many_keys) {
  enum { N = 5000 };
  static int order[N];
  struct rec_state st;
  uint32_t seed = 12345;
  char b[32], t[32], e[32], key[REC_KEY_MAX];
  for (int i = 0; i < N; i++)
    order[i] = i;
  for (int i = N - 1; i > 0; i--) {
    int j = (int)(rng_next(&seed) % (uint32_t)(i + 1));
    int tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  rec_state_init(&st);
  for (int i = 0; i < N; i++) {
    struct rec_key *k;
    int v = order[i];
    snprintf(b, sizeof(b), "bucket%d", v % 7);
    snprintf(t, sizeof(t), "test-%d", v / 3);
    snprintf(e, sizeof(e), "env%d", v % 3);
    ck_assert_int_eq(rec_key_get(&st, b, t, e, &k), 0);
    k->alerted_through = v; /* a mark to find again */
  }
  ck_assert_uint_eq(st.n_keys, N);
  for (size_t i = 1; i < st.n_keys; i++)
    ck_assert_int_lt(strcmp(st.keys[i - 1]->key, st.keys[i]->key), 0);
  for (int v = 0; v < N; v++) {
    struct rec_key *k, *again;
    snprintf(key, sizeof(key), "bucket%d/test-%d/env%d", v % 7, v / 3, v % 3);
    k = rec_key_find(&st, key);
    ck_assert_ptr_nonnull(k);
    ck_assert_double_eq(k->alerted_through, v);
    snprintf(b, sizeof(b), "bucket%d", v % 7);
    snprintf(t, sizeof(t), "test-%d", v / 3);
    snprintf(e, sizeof(e), "env%d", v % 3);
    ck_assert_int_eq(rec_key_get(&st, b, t, e, &again), 0);
    ck_assert_ptr_eq(again, k);
  }
  ck_assert_uint_eq(st.n_keys, N);
  ck_assert_ptr_null(rec_key_find(&st, "bucket0/test-0/env9"));
  ck_assert_ptr_null(rec_key_find(&st, ""));
  ck_assert_ptr_null(rec_key_find(&st, "zzz"));
  rec_state_fini(&st);
}
END_TEST

/* ---- the behaviour table ---- */

enum prior {
  P_NONE,       /* nothing known anywhere */
  P_ACTIVE,     /* an active event the state knows */
  P_ADOPT,      /* an active event in xMatters the state does not know */
  P_REQUESTED,  /* a create was accepted; the event is not visible yet */
  P_ACTIVE_PLUS /* known active event + two the state does not know */
};

struct table_row {
  const char *name;
  enum prior prior;
  enum rs_result result;
  size_t lookups, creates, terminates;
  int ev_after; /* an enum rec_event_state, or -1: no key at all */
  size_t xm_active_after;
};

static const struct table_row table_rows[] = {
    {"fail, no event", P_NONE, RS_RESULT_FAIL, 1, 1, 0, REC_EV_REQUESTED, 1},
    {"fail, active event", P_ACTIVE, RS_RESULT_FAIL, 0, 0, 0, REC_EV_ACTIVE, 1},
    {"fail, unknown active event", P_ADOPT, RS_RESULT_FAIL, 1, 0, 0,
     REC_EV_ACTIVE, 1},
    {"fail, just requested", P_REQUESTED, RS_RESULT_FAIL, 1, 0, 0,
     REC_EV_REQUESTED, 1},
    {"pass, active event", P_ACTIVE, RS_RESULT_PASS, 1, 0, 1, REC_EV_NONE, 0},
    {"pass, known and unknown events", P_ACTIVE_PLUS, RS_RESULT_PASS, 1, 0, 3,
     REC_EV_NONE, 0},
    {"pass, no event", P_NONE, RS_RESULT_PASS, 0, 0, 0, REC_EV_NONE, 0},
    {"unfinished, nothing", P_NONE, RS_RESULT_UNFINISHED, 0, 0, 0, -1, 0},
    {"cancelled, nothing", P_NONE, RS_RESULT_CANCELLED, 0, 0, 0, -1, 0},
    {"unfinished, active", P_ACTIVE, RS_RESULT_UNFINISHED, 0, 0, 0,
     REC_EV_ACTIVE, 1},
    {"cancelled, active", P_ACTIVE, RS_RESULT_CANCELLED, 0, 0, 0, REC_EV_ACTIVE,
     1},
};

static void setup_prior(struct sim *s, enum prior p) {
  switch (p) {
  case P_NONE:
    break;
  case P_ACTIVE:
    make_active(s);
    break;
  case P_ACTIVE_PLUS:
    make_active(s);
    fx_add(s, KEY, "ext-1", 0);
    fx_add(s, KEY, "ext-2", 0);
    break;
  case P_ADOPT:
    fx_add(s, KEY, "ext-1", 0);
    break;
  case P_REQUESTED:
    s->delay = 1000;
    cycle1(s, 170, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
    ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
    break;
  }
}

START_TEST(test_behaviour_table) {
  const struct table_row *r = &table_rows[_i];
  struct sim *s = sim_new();
  setup_prior(s, r->prior);
  struct rs_run run = mkrun("us1", r->result, 180);
  cycle1(s, 200, run);
  ck_assert_msg(s->lookups == r->lookups, "%s: %zu lookups", r->name,
                s->lookups);
  ck_assert_msg(count(s, REC_CREATE, NULL) == r->creates, "%s: creates",
                r->name);
  ck_assert_msg(count(s, REC_TERMINATE, NULL) == r->terminates,
                "%s: terminates", r->name);
  if (r->ev_after == -1) {
    ck_assert_uint_eq(s->st.n_keys, 0);
  } else {
    ck_assert_msg((int)key_of(s, KEY)->ev == r->ev_after, "%s: ev %d", r->name,
                  key_of(s, KEY)->ev);
  }
  s->now = 10000; /* everything created so far is visible */
  ck_assert_msg(fx_count(s, KEY) == r->xm_active_after, "%s: xm", r->name);
  if (r->prior == P_ACTIVE_PLUS) {
    ck_assert(terminated(s, "ev-1"));
    ck_assert(terminated(s, "ext-1"));
    ck_assert(terminated(s, "ext-2"));
  }
  /* A quiet cycle changes nothing more (no second create). */
  cycle(s, 220, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  sim_free(s);
}
END_TEST

/* A failing key pages once over many cycles and keeps failing runs. */
START_TEST(test_fail_pages_once) {
  struct sim *s = sim_new();
  s->delay = 5;
  for (int i = 0; i < 20; i++)
    cycle1(s, 100 + 60 * i, mkrun("us1", RS_RESULT_FAIL, 90 + 60 * i));
  ck_assert_uint_eq(s->total_creates, 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  sim_free(s);
}
END_TEST

/* ---- observations ---- */

START_TEST(test_repeated_observation) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("us1", RS_RESULT_FAIL, 100);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 0);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 0);
  ck_assert_uint_eq(key_of(s, KEY)->n_locs, 1);
  cycle1(s, 110, run);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  for (int i = 0; i < 5; i++) {
    cycle1(s, 120 + 10 * i, run);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  ck_assert_uint_eq(s->total_creates, 1);
  sim_free(s);
}
END_TEST

START_TEST(test_out_of_order) {
  struct sim *s = sim_new();
  struct rs_run newer = mkrun("us1", RS_RESULT_PASS, 200);
  struct rs_run older = mkrun("us1", RS_RESULT_FAIL, 100);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &newer), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &older), 0);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_uint_eq(k->n_locs, 1);
  ck_assert_str_eq(k->locs[0].test_run_id, newer.test_run_id);
  ck_assert_int_eq(rec_verdict(k, &s->o), REC_PASSING);
  cycle1(s, 210, older);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_uint_eq(s->lookups, 0);
  /* The other way round: the newer pass replaces the older failure. */
  struct rs_run f2 = mkrun("eu1", RS_RESULT_FAIL, 300);
  struct rs_run p2 = mkrun("eu1", RS_RESULT_PASS, 400);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &f2), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &p2), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &f2), 0);
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  sim_free(s);
}
END_TEST

/* Runs of one tick start together in every location: all count. */
START_TEST(test_equal_start_locations) {
  struct sim *s = sim_new();
  struct rs_run runs[] = {
      mkrun("us1", RS_RESULT_PASS, 100),
      mkrun("eu1", RS_RESULT_FAIL, 100),
      mkrun("agent:box", RS_RESULT_PASS, 100),
  };
  cycle(s, 110, runs, 3);
  ck_assert_uint_eq(key_of(s, KEY)->n_locs, 3);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  sim_free(s);
}
END_TEST

/* Two runs of one location with the same start: which one is the latest
 * must not depend on the order they are seen in, and seeing either again
 * changes nothing. */
START_TEST(test_equal_start_same_location) {
  struct rs_run a =
      mkrun_full(BUCKET, TEST_ID, ENV, "us1", RS_RESULT_FAIL, 100, "run-a");
  struct rs_run b =
      mkrun_full(BUCKET, TEST_ID, ENV, "us1", RS_RESULT_PASS, 100, "run-b");
  struct rec_state st1, st2;
  struct rec_opts o;
  rec_opts_default(&o);
  rec_state_init(&st1);
  rec_state_init(&st2);
  ck_assert_int_eq(rec_observe_run(&st1, BUCKET, &a), 1);
  ck_assert_int_ge(rec_observe_run(&st1, BUCKET, &b), 0);
  ck_assert_int_eq(rec_observe_run(&st2, BUCKET, &b), 1);
  ck_assert_int_ge(rec_observe_run(&st2, BUCKET, &a), 0);
  ck_assert_uint_eq(st1.keys[0]->n_locs, 1);
  ck_assert_uint_eq(st2.keys[0]->n_locs, 1);
  ck_assert_str_eq(st1.keys[0]->locs[0].test_run_id,
                   st2.keys[0]->locs[0].test_run_id);
  ck_assert_int_eq(rec_verdict(st1.keys[0], &o), rec_verdict(st2.keys[0], &o));
  ck_assert_int_eq(rec_observe_run(&st1, BUCKET, &a), 0);
  ck_assert_int_eq(rec_observe_run(&st1, BUCKET, &b), 0);
  ck_assert_int_eq(rec_observe_run(&st2, BUCKET, &a), 0);
  ck_assert_int_eq(rec_observe_run(&st2, BUCKET, &b), 0);
  rec_state_fini(&st1);
  rec_state_fini(&st2);
}
END_TEST

static const enum rs_result non_verdicts[] = {RS_RESULT_UNFINISHED,
                                              RS_RESULT_CANCELLED};

START_TEST(test_not_a_verdict) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("us1", non_verdicts[_i], 100);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 0);
  ck_assert_uint_eq(s->st.n_keys, 0);
  /* Nor does it replace a verdict of its location. */
  struct rs_run fail = mkrun("us1", RS_RESULT_FAIL, 50);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &fail), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 0);
  ck_assert_str_eq(key_of(s, KEY)->locs[0].test_run_id, fail.test_run_id);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  sim_free(s);
}
END_TEST

/* What a location remembers of its run. */
START_TEST(test_observed_fields) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("agent:box-1", RS_RESULT_FAIL, 123.5);
  run.scripts_failed = 4;
  run.variables_failed = 5;
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  const struct rec_run *l = &key_of(s, KEY)->locs[0];
  ck_assert_str_eq(l->location, "agent:box-1");
  ck_assert_str_eq(l->test_run_id, run.test_run_id);
  ck_assert(l->failed);
  ck_assert_double_eq(l->started_at, 123.5);
  ck_assert_double_eq(l->finished_at, 128.5);
  ck_assert_int_eq(l->assertions_failed, 2);
  ck_assert_int_eq(l->scripts_failed, 4);
  ck_assert_int_eq(l->variables_failed, 5);
  ck_assert_int_eq(l->requests_executed, 3);
  ck_assert_ptr_eq(rec_newest_failure(key_of(s, KEY), &s->o), l);
  sim_free(s);
}
END_TEST

/* ---- locations ---- */

/* A pass in region B never closes the page a failure in region A opened. */
START_TEST(test_regions) {
  struct sim *s = sim_new();
  struct rs_run tick1[] = {mkrun("us1", RS_RESULT_FAIL, 100),
                           mkrun("eu1", RS_RESULT_PASS, 100)};
  cycle(s, 110, tick1, 2);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 120, NULL, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  /* B keeps passing, A has not run again: the event stays. */
  for (int i = 0; i < 10; i++) {
    cycle1(s, 200 + 100 * i, mkrun("eu1", RS_RESULT_PASS, 190 + 100 * i));
    ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
    ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  /* A passes: now every location passes, the event is terminated. */
  cycle1(s, 1300, mkrun("us1", RS_RESULT_PASS, 1290));
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert(terminated(s, "ev-1"));
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  sim_free(s);
}
END_TEST

/* Private agents are locations of their own, "agent:<name>". */
START_TEST(test_agents) {
  struct sim *s = sim_new();
  struct rs_run runs[] = {mkrun("agent:us1", RS_RESULT_FAIL, 100),
                          mkrun("us1", RS_RESULT_PASS, 101),
                          mkrun("agent:dc2", RS_RESULT_PASS, 102)};
  cycle(s, 110, runs, 3);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_uint_eq(k->n_locs, 3);
  ck_assert_str_eq(k->locs[0].location, "agent:us1");
  ck_assert_str_eq(k->locs[1].location, "us1");
  ck_assert_str_eq(k->locs[2].location, "agent:dc2");
  ck_assert_int_eq(rec_verdict(k, &s->o), REC_FAILING);
  ck_assert_str_eq(rec_newest_failure(k, &s->o)->location, "agent:us1");
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 120, NULL, 0);
  cycle1(s, 200, mkrun("agent:us1", RS_RESULT_PASS, 190));
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  /* A run naming no location is a location too (""). */
  struct rs_run bare = mkrun("", RS_RESULT_FAIL, 300);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &bare), 1);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &bare), 0);
  ck_assert_uint_eq(key_of(s, KEY)->n_locs, 4);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  sim_free(s);
}
END_TEST

struct window_row {
  double window;
  double pass_at; /* B passes then; A failed at 1000 */
  enum rec_verdict want;
};

static const struct window_row window_rows[] = {
    {86400, 1000 + 3600, REC_FAILING},
    {86400, 1000 + 86400, REC_FAILING}, /* exactly the window: recent */
    {86400, 1000 + 86400 + 1, REC_PASSING},
    {3600, 1000 + 3601, REC_PASSING},
    {3600, 1000 + 3599, REC_FAILING},
};

/* A location whose latest run is older than location_window, relative to
 * the key's newest run, is ignored. */
START_TEST(test_location_window) {
  const struct window_row *r = &window_rows[_i];
  struct sim *s = sim_new();
  s->o.location_window = r->window;
  cycle1(s, 1010, mkrun("ap1", RS_RESULT_FAIL, 1000));
  cycle(s, 1020, NULL, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  cycle1(s, r->pass_at + 10, mkrun("eu1", RS_RESULT_PASS, r->pass_at));
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(rec_verdict(k, &s->o), r->want);
  if (r->want == REC_PASSING) {
    ck_assert_ptr_null(rec_newest_failure(k, &s->o));
    ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
    ck_assert_uint_eq(count(s, REC_NOTIFY_OKAY, KEY), 1);
  } else {
    ck_assert_ptr_nonnull(rec_newest_failure(k, &s->o));
    ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 0);
  }
  sim_free(s);
}
END_TEST

/* A key with no location has no verdict. */
START_TEST(test_no_locations) {
  struct rec_state st;
  struct rec_opts o;
  struct rec_key *k;
  rec_state_init(&st);
  rec_opts_default(&o);
  ck_assert_int_eq(rec_key_get(&st, "b", "t", "e", &k), 0);
  ck_assert_int_eq(rec_verdict(k, &o), REC_UNKNOWN);
  ck_assert_ptr_null(rec_newest_failure(k, &o));
  rec_state_fini(&st);
}
END_TEST

/* A key's locations grow one by one, zeroed, up to REC_LOC_MAX; what was
 * written stays through the growth. */
START_TEST(test_add_locations) {
  struct rec_state st;
  struct rec_key *k;
  rec_state_init(&st);
  ck_assert_int_eq(rec_key_get(&st, "b", "t", "e", &k), 0);
  ck_assert_ptr_null(k->locs);
  for (size_t i = 0; i < REC_LOC_MAX; i++) {
    struct rec_run *l = rec_key_add_loc(k);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(k->n_locs, i + 1);
    ck_assert_ptr_eq(l, &k->locs[i]);
    ck_assert_str_eq(l->location, "");
    ck_assert_double_eq(l->started_at, 0);
    snprintf(l->location, sizeof(l->location), "loc%zu", i);
  }
  ck_assert_ptr_null(rec_key_add_loc(k));
  ck_assert_uint_eq(k->n_locs, REC_LOC_MAX);
  ck_assert_uint_le(k->cap_locs, REC_LOC_MAX);
  for (size_t i = 0; i < REC_LOC_MAX; i++) {
    char want[16];
    snprintf(want, sizeof(want), "loc%zu", i);
    ck_assert_str_eq(k->locs[i].location, want);
  }
  rec_key_fini(k);
  ck_assert_ptr_null(k->locs);
  ck_assert_uint_eq(k->n_locs, 0);
  ck_assert_ptr_nonnull(rec_key_add_loc(k)); /* usable again */
  rec_state_fini(&st);
}
END_TEST

/* More than REC_LOC_MAX locations: the one with the oldest run goes. */
START_TEST(test_too_many_locations) {
  struct sim *s = sim_new();
  char loc[16];
  for (int i = 0; i <= REC_LOC_MAX; i++) {
    snprintf(loc, sizeof(loc), "r%02d", i);
    struct rs_run run = mkrun(loc, RS_RESULT_PASS, 100 + i);
    ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  }
  struct rec_key *k = key_of(s, KEY);
  ck_assert_uint_eq(k->n_locs, REC_LOC_MAX);
  bool have_first = false, have_last = false;
  for (size_t i = 0; i < k->n_locs; i++) {
    have_first |= strcmp(k->locs[i].location, "r00") == 0;
    snprintf(loc, sizeof(loc), "r%02d", REC_LOC_MAX);
    have_last |= strcmp(k->locs[i].location, loc) == 0;
  }
  ck_assert(!have_first);
  ck_assert(have_last);
  /* A run older than every kept location is the oldest: dropped, however
   * often and late it is seen. */
  struct rs_run first = mkrun("r00", RS_RESULT_PASS, 100);
  struct rs_run stale = mkrun("old", RS_RESULT_FAIL, 50);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &first), 0);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &stale), 0);
  cycle1(s, 200, stale);
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  ck_assert_uint_eq(s->n_log, 0);
  /* A new location with a newer failure replaces the oldest, and pages. */
  cycle1(s, 300, mkrun("new", RS_RESULT_FAIL, 290));
  ck_assert_uint_eq(key_of(s, KEY)->n_locs, REC_LOC_MAX);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  sim_free(s);
}
END_TEST

/* ---- environments ---- */

START_TEST(test_environments) {
  struct sim *s = sim_new();
  struct rs_run runs[] = {
      mkrun_full(BUCKET, TEST_ID, "staging", "us1", RS_RESULT_FAIL, 100, "a"),
      mkrun_full(BUCKET, TEST_ID, "prod", "us1", RS_RESULT_PASS, 100, "b"),
      mkrun_full("other", TEST_ID, "prod", "us1", RS_RESULT_FAIL, 100, "c"),
  };
  cycle(s, 110, runs, 3);
  ck_assert_uint_eq(s->st.n_keys, 3);
  ck_assert_int_eq(verdict_of(s, BUCKET "/" TEST_ID "/staging"), REC_FAILING);
  ck_assert_int_eq(verdict_of(s, BUCKET "/" TEST_ID "/prod"), REC_PASSING);
  ck_assert_int_eq(verdict_of(s, "other/" TEST_ID "/prod"), REC_FAILING);
  ck_assert_uint_eq(count(s, REC_CREATE, BUCKET "/" TEST_ID "/staging"), 1);
  ck_assert_uint_eq(count(s, REC_CREATE, BUCKET "/" TEST_ID "/prod"), 0);
  ck_assert_uint_eq(count(s, REC_CREATE, "other/" TEST_ID "/prod"), 1);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 2);
  cycle(s, 120, NULL, 0);
  /* prod passing again does not touch staging's event. */
  struct rs_run pass =
      mkrun_full(BUCKET, TEST_ID, "prod", "us1", RS_RESULT_PASS, 200, "d");
  cycle1(s, 210, pass);
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  ck_assert_uint_eq(fx_count(s, BUCKET "/" TEST_ID "/staging"), 1);
  sim_free(s);
}
END_TEST

/* ---- notifications ---- */

START_TEST(test_notifications) {
  struct sim *s = sim_new();
  cycle1(s, 10, mkrun("us1", RS_RESULT_PASS, 1));
  ck_assert_uint_eq(s->n_log, 0); /* passing from the start: no OKAY */
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, KEY), 1);
  ck_assert(key_of(s, KEY)->notified_failing);
  for (int i = 0; i < 5; i++) {
    cycle1(s, 200 + 100 * i, mkrun("us1", RS_RESULT_FAIL, 190 + 100 * i));
    ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, NULL), 0);
    ck_assert_uint_eq(count(s, REC_NOTIFY_OKAY, NULL), 0);
  }
  cycle1(s, 1000, mkrun("us1", RS_RESULT_PASS, 990));
  ck_assert_uint_eq(count(s, REC_NOTIFY_OKAY, KEY), 1);
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, NULL), 0);
  ck_assert(!key_of(s, KEY)->notified_failing);
  for (int i = 0; i < 5; i++) {
    cycle1(s, 1100 + 100 * i, mkrun("us1", RS_RESULT_PASS, 1090 + 100 * i));
    ck_assert_uint_eq(count(s, REC_NOTIFY_OKAY, NULL), 0);
    ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, NULL), 0);
  }
  cycle1(s, 2000, mkrun("us1", RS_RESULT_FAIL, 1990));
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, KEY), 1);
  sim_free(s);
}
END_TEST

/* Notifications do not wait for xMatters. */
START_TEST(test_notifications_xm_down) {
  struct sim *s = sim_new();
  s->down = true;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, KEY), 1);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  cycle(s, 110, NULL, 0);
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, NULL), 0);
  s->down = false;
  cycle(s, 120, NULL, 0);
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, NULL), 0);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  sim_free(s);
}
END_TEST

/* ---- pending events ---- */

/* A requested event is looked up every cycle until it shows up. */
START_TEST(test_pending_appears) {
  struct sim *s = sim_new();
  s->delay = 25;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  struct rec_key *k = key_of(s, KEY);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert(k->request_confirmed);
  ck_assert_str_eq(k->request_id, "req-1");
  ck_assert_double_eq(k->requested_at, 100);
  for (double t = 110; t < 125; t += 10) {
    cycle(s, t, NULL, 0);
    ck_assert_uint_eq(s->lookups, 1);
    ck_assert_uint_eq(s->n_log, 0);
    ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
  }
  cycle(s, 130, NULL, 0);
  k = key_of(s, KEY);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_double_eq(k->alerted_through, 90);
  /* Active now: not looked up again before reconcile_interval. */
  cycle(s, 140, NULL, 0);
  ck_assert_uint_eq(s->lookups, 0);
  ck_assert_uint_eq(s->total_creates, 1);
  sim_free(s);
}
END_TEST

/* An accepted create that never shows up is taken as delivered: no second
 * page for that failure, but a newer failing run pages again. */
START_TEST(test_pending_confirmed_never_visible) {
  struct sim *s = sim_new();
  s->delay = 1e9;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 159, NULL, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
  cycle(s, 160, NULL, 0); /* pending_timeout (60 s) has passed */
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_double_eq(key_of(s, KEY)->alerted_through, 90);
  for (int i = 0; i < 5; i++) {
    cycle1(s, 200 + 100 * i, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(s->lookups, 0);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  s->delay = 0;
  cycle1(s, 1000, mkrun("us1", RS_RESULT_FAIL, 990));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_uint_eq(s->total_creates, 2);
  sim_free(s);
}
END_TEST

/* The CREATE actions rec_plan_actions plans at now. */
static size_t planned_creates(struct rec_state *st, const struct rec_opts *o,
                              double now) {
  struct rec_actions a;
  size_t n = 0;
  rec_actions_init(&a);
  ck_assert_int_eq(rec_plan_actions(st, o, now, &a), 0);
  for (size_t i = 0; i < a.n; i++)
    n += a.v[i].type == REC_CREATE;
  rec_actions_fini(&a);
  return n;
}

/* Marks the keys rec_plan_lookups asks for as looked up, with nothing
 * active in xMatters; returns how many there were. */
static size_t look_up_none(struct rec_state *st, const struct rec_opts *o,
                           double now) {
  size_t *which = NULL, n = 0;
  ck_assert_int_eq(rec_plan_lookups(st, o, now, &which, &n), 0);
  for (size_t i = 0; i < n; i++)
    rec_apply_lookup(st->keys[which[i]], o, NULL, 0, now);
  free(which);
  return n;
}

/* The requested event showed up terminated (a person closed it before a
 * lookup saw it active): the request is over at once, its failure stays
 * covered, and a newer failure pages again. */
START_TEST(test_request_ended) {
  struct rec_state st;
  struct rec_opts o;
  rec_state_init(&st);
  rec_opts_default(&o);
  struct rs_run r = mkrun("us1", RS_RESULT_FAIL, 90);
  ck_assert_int_eq(rec_observe_run(&st, BUCKET, &r), 1);
  struct rec_key *k = rec_key_find(&st, KEY);
  rec_create_done(k, &o, REC_CREATED, "req-1", 100);
  rec_request_ended(k, &o, 110);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert(k->looked_up);
  ck_assert_double_eq(k->checked_at, 110);
  ck_assert_str_eq(k->request_id, "");
  ck_assert_double_eq(k->alerted_through, 90);
  ck_assert_uint_eq(look_up_none(&st, &o, 120), 0); /* nothing new */
  ck_assert_uint_eq(planned_creates(&st, &o, 120), 0);
  r = mkrun("us1", RS_RESULT_FAIL, 115);
  ck_assert_int_eq(rec_observe_run(&st, BUCKET, &r), 1);
  ck_assert_uint_eq(look_up_none(&st, &o, 130), 1);
  ck_assert_uint_eq(planned_creates(&st, &o, 130), 1);
  /* on a key that is not requested it changes nothing but the lookup */
  rec_create_done(k, &o, REC_CREATED, "req-2", 130);
  rec_apply_lookup(k, &o, (const char *[]){"ev-2"}, 1, 140);
  rec_request_ended(k, &o, 150);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  rec_state_fini(&st);
}
END_TEST

/* A confirmed request that never shows up covers the failure it was sent
 * for, not one that started after it: that one pages once the request is
 * given up on (else it would be lost). */
START_TEST(test_pending_confirmed_covers_only_older_failures) {
  struct rec_state st;
  struct rec_opts o;
  rec_state_init(&st);
  rec_opts_default(&o);
  struct rs_run r = mkrun("us1", RS_RESULT_FAIL, 90);
  rec_observe_run(&st, BUCKET, &r);
  struct rec_key *k = rec_key_find(&st, KEY);
  rec_create_done(k, &o, REC_CREATED, "req-1", 100);
  r = mkrun("us1", RS_RESULT_FAIL, 130); /* after the request */
  rec_observe_run(&st, BUCKET, &r);
  ck_assert_uint_eq(look_up_none(&st, &o, 150), 1);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert_uint_eq(planned_creates(&st, &o, 150), 0);
  ck_assert_uint_eq(look_up_none(&st, &o, 160), 1); /* pending_timeout */
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_double_eq(k->alerted_through, 100);
  ck_assert_uint_eq(planned_creates(&st, &o, 160), 1);
  rec_state_fini(&st);
}
END_TEST

/* A key with an active event (failing at 90, checked at 110) whose
 * terminate was about to be sent when the process died. (Times from 1000
 * on: a key never checked is due once reconcile_interval has passed.) */
static struct rec_key *terminating_key(struct rec_state *st,
                                       const struct rec_opts *o) {
  struct rs_run r = mkrun("us1", RS_RESULT_FAIL, 90);
  rec_observe_run(st, BUCKET, &r);
  struct rec_key *k = rec_key_find(st, KEY);
  rec_create_done(k, o, REC_CREATED, "req-1", 100);
  rec_apply_lookup(k, o, (const char *[]){"ev-1"}, 1, 110);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert(rec_terminate_start(k));
  ck_assert(!rec_terminate_start(k)); /* once is enough */
  ck_assert_double_eq(k->checked_at, 0);
  return k;
}

/* The terminate went through but the crash lost its outcome: the state
 * still holds the event. The next failure is not taken as covered by it
 * before xMatters is asked, and pages. */
START_TEST(test_terminate_lost_in_a_crash) {
  struct rec_state st;
  struct rec_opts o;
  rec_state_init(&st);
  rec_opts_default(&o);
  struct rec_key *k = terminating_key(&st, &o);
  struct rs_run r = mkrun("us1", RS_RESULT_FAIL, 1000);
  rec_observe_run(&st, BUCKET, &r);
  ck_assert_uint_eq(look_up_none(&st, &o, 1010), 1);
  ck_assert_double_eq(k->alerted_through, 90);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_uint_eq(planned_creates(&st, &o, 1010), 1);
  rec_state_fini(&st);
}
END_TEST

/* The same, but the event is still open: the lookup covers the failure. */
START_TEST(test_terminate_start_event_still_open) {
  struct rec_state st;
  struct rec_opts o;
  rec_state_init(&st);
  rec_opts_default(&o);
  struct rec_key *k = terminating_key(&st, &o);
  struct rs_run r = mkrun("us1", RS_RESULT_FAIL, 1000);
  rec_observe_run(&st, BUCKET, &r);
  size_t *which = NULL, n = 0;
  ck_assert_int_eq(rec_plan_lookups(&st, &o, 1010, &which, &n), 0);
  ck_assert_uint_eq(n, 1);
  free(which);
  ck_assert_double_eq(k->alerted_through, 90); /* the lookup decides */
  rec_apply_lookup(k, &o, (const char *[]){"ev-1"}, 1, 1010);
  ck_assert_double_eq(k->alerted_through, 1000);
  ck_assert_uint_eq(planned_creates(&st, &o, 1010), 0);
  rec_state_fini(&st);
}
END_TEST

/* The answer to a create was lost and nothing was created: after
 * pending_timeout it is created again, once. */
START_TEST(test_pending_lost_not_created) {
  struct sim *s = sim_new();
  s->outcome = REC_MAYBE_SENT;
  s->lost_exists = false;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  struct rec_key *k = key_of(s, KEY);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert(!k->request_confirmed);
  ck_assert_str_eq(k->request_id, "");
  s->outcome = REC_CREATED;
  for (double t = 110; t < 160; t += 10) {
    cycle(s, t, NULL, 0);
    ck_assert_uint_eq(s->lookups, 1);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  cycle(s, 160, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
  cycle(s, 170, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(s->total_creates, 2);
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  sim_free(s);
}
END_TEST

/* The answer was lost but the event exists: adopted when it shows up
 * before pending_timeout, never created twice. */
START_TEST(test_pending_lost_but_created) {
  struct sim *s = sim_new();
  s->outcome = REC_MAYBE_SENT;
  s->lost_exists = true;
  s->delay = 45;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  for (double t = 110; t <= 300; t += 10) {
    cycle(s, t, NULL, 0);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_str_eq(key_of(s, KEY)->event_ids[0], "ev-1");
  ck_assert_uint_eq(s->total_creates, 1);
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  sim_free(s);
}
END_TEST

/* An explicit rejection: nothing exists, the next cycle tries again. */
START_TEST(test_not_created_retried) {
  struct sim *s = sim_new();
  s->outcome = REC_NOT_CREATED;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  cycle(s, 110, NULL, 0);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  s->outcome = REC_CREATED;
  cycle(s, 120, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
  cycle(s, 130, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  sim_free(s);
}
END_TEST

struct crash_row {
  int crash;
  double delay;
  size_t creates; /* in all */
};

static const struct crash_row crash_rows[] = {
    {CRASH_AFTER_SEND, 20, 1}, /* the event shows up: adopted */
    {CRASH_BEFORE_SEND, 0, 2}, /* nothing was sent: sent again, once */
};

/* The plugin stops after recording a create and before its outcome: on
 * the next cycles the key is pending, and it pages once in all. */
START_TEST(test_write_ahead_crash) {
  const struct crash_row *r = &crash_rows[_i];
  struct sim *s = sim_new();
  s->crash = r->crash;
  s->delay = r->delay;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert(!k->request_confirmed);
  s->crash = CRASH_NONE;
  for (double t = 110; t <= 300; t += 10)
    cycle(s, t, NULL, 0);
  ck_assert_uint_eq(s->total_creates, r->creates);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  sim_free(s);
}
END_TEST

/* REC_NOT_CREATED only undoes a pending mark; it never forgets an event. */
START_TEST(test_not_created_keeps_active) {
  struct sim *s = sim_new();
  make_active(s);
  struct rec_key *k = key_of(s, KEY);
  rec_create_done(k, &s->o, REC_NOT_CREATED, NULL, 120);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  sim_free(s);
}
END_TEST

/* The key passes while its event is requested: it is terminated once it
 * shows up. */
START_TEST(test_pass_while_requested) {
  struct sim *s = sim_new();
  s->delay = 30;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle1(s, 110, mkrun("us1", RS_RESULT_PASS, 105));
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_REQUESTED);
  cycle(s, 120, NULL, 0);
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  cycle(s, 130, NULL, 0); /* visible from 130 */
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert(terminated(s, "ev-1"));
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  cycle(s, 140, NULL, 0);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_uint_eq(s->lookups, 0);
  sim_free(s);
}
END_TEST

/* A terminate that is rejected is tried again on the next cycle. */
START_TEST(test_terminate_retried) {
  struct sim *s = sim_new();
  make_active(s);
  s->terminate_fails = true;
  cycle1(s, 200, mkrun("us1", RS_RESULT_PASS, 190));
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(key_of(s, KEY)->n_events, 1);
  s->terminate_fails = false;
  cycle(s, 210, NULL, 0);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  sim_free(s);
}
END_TEST

/* ---- reconciliation with what xMatters holds ---- */

/* A person terminated the event: forgotten, no second page for the same
 * failing run; a newer failing run pages again. */
START_TEST(test_person_terminates) {
  struct sim *s = sim_new();
  make_active(s); /* checked at 110 */
  fx_terminate(s, "ev-1");
  cycle(s, 409, NULL, 0);
  ck_assert_uint_eq(s->lookups, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  cycle(s, 410, NULL, 0); /* reconcile_interval (300 s) after 110 */
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(key_of(s, KEY)->n_events, 0);
  ck_assert_uint_eq(s->n_log, 0);
  for (int i = 0; i < 5; i++) {
    cycle1(s, 500 + 100 * i, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(s->n_log, 0);
    ck_assert_uint_eq(s->lookups, 0);
  }
  cycle1(s, 1100, mkrun("us1", RS_RESULT_FAIL, 1090));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_uint_eq(s->total_creates, 2);
  sim_free(s);
}
END_TEST

/* reconcile_interval drives the lookups of active keys, and a lookup
 * adopts events the state did not know. */
START_TEST(test_reconcile_interval) {
  struct sim *s = sim_new();
  s->o.reconcile_interval = 100;
  make_active(s); /* checked at 110 */
  size_t lookups = 0;
  for (double t = 120; t <= 510; t += 10) {
    cycle(s, t, NULL, 0);
    lookups += s->lookups;
    ck_assert_uint_eq(s->n_log, 0);
  }
  ck_assert_uint_eq(lookups, 4); /* at 210, 310, 410 and 510 */
  fx_add(s, KEY, "ext-1", 0);
  cycle(s, 600, NULL, 0);
  ck_assert_uint_eq(key_of(s, KEY)->n_events, 1); /* not looked up yet */
  cycle(s, 610, NULL, 0);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(key_of(s, KEY)->n_events, 2);
  cycle1(s, 620, mkrun("us1", RS_RESULT_PASS, 615));
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 2);
  ck_assert(terminated(s, "ext-1"));
  ck_assert(terminated(s, "ev-1"));
  sim_free(s);
}
END_TEST

/* xMatters unreachable: the caller answers no lookup, and nothing is
 * created or terminated blind. */
START_TEST(test_xm_unreachable) {
  struct sim *s = sim_new();
  s->down = true;
  for (int i = 0; i < 5; i++) {
    cycle1(s, 100 + 10 * i, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  s->down = false;
  cycle(s, 200, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 210, NULL, 0);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  s->down = true;
  cycle1(s, 300, mkrun("us1", RS_RESULT_PASS, 290));
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  cycle(s, 310, NULL, 0);
  ck_assert_uint_eq(count(s, REC_TERMINATE, NULL), 0);
  ck_assert_uint_eq(fx_count(s, KEY), 1);
  s->down = false;
  cycle(s, 320, NULL, 0);
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  sim_free(s);
}
END_TEST

/* Only the keys that were looked up in this cycle get actions, even when
 * several keys need them. */
START_TEST(test_only_looked_up_keys) {
  struct sim *s = sim_new();
  struct rs_run runs[] = {
      mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_FAIL, 100, "a"),
      mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_FAIL, 100, "b"),
  };
  s->now = 110;
  for (size_t i = 0; i < 2; i++)
    ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &runs[i]), 1);
  size_t *idx = NULL, n_idx = 0;
  ck_assert_int_eq(rec_plan_lookups(&s->st, &s->o, 110, &idx, &n_idx), 0);
  ck_assert_uint_eq(n_idx, 2);
  /* Only the second key's answer comes back. */
  rec_apply_lookup(s->st.keys[idx[1]], &s->o, NULL, 0, 110);
  free(idx);
  struct rec_actions a;
  rec_actions_init(&a);
  ck_assert_int_eq(rec_plan_actions(&s->st, &s->o, 110, &a), 0);
  size_t creates = 0;
  for (size_t i = 0; i < a.n; i++) {
    if (a.v[i].type != REC_CREATE)
      continue;
    creates++;
    ck_assert_str_eq(s->st.keys[a.v[i].key]->key, BUCKET "/tb/" ENV);
  }
  ck_assert_uint_eq(creates, 1);
  rec_actions_fini(&a);
  sim_free(s);
}
END_TEST

/* rec_plan_lookups appends to what the caller already holds. */
START_TEST(test_plan_lookups_appends) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("us1", RS_RESULT_FAIL, 100);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  size_t *idx = malloc(sizeof(*idx));
  ck_assert_ptr_nonnull(idx);
  idx[0] = 77;
  size_t n_idx = 1;
  ck_assert_int_eq(rec_plan_lookups(&s->st, &s->o, 110, &idx, &n_idx), 0);
  ck_assert_uint_eq(n_idx, 2);
  ck_assert_uint_eq(idx[0], 77);
  ck_assert_uint_eq(idx[1], 0);
  free(idx);
  sim_free(s);
}
END_TEST

/* ---- adopting listed events ---- */

/* The engine's sweep at now: lists every active event xMatters shows and
 * adopts those of keys the state has. Returns how many were new. */
static size_t sim_sweep(struct sim *s, double now) {
  size_t adopted = 0;
  s->now = now;
  for (size_t i = 0; i < s->n_ev; i++) {
    const struct fx_event *e = &s->ev[i];
    struct rec_key *k = rec_key_find(&s->st, e->key);
    if (!e->active || e->visible_at > now || k == NULL)
      continue;
    int rc = rec_adopt_event(k, &s->o, e->id);
    ck_assert(rc == 0 || rc == 1);
    adopted += (size_t)rc;
  }
  return adopted;
}

/* An event the state did not know, on a passing key: terminated by the
 * next cycle. */
START_TEST(test_adopt_passing) {
  struct sim *s = sim_new();
  cycle1(s, 100, mkrun("us1", RS_RESULT_PASS, 90));
  ck_assert_uint_eq(s->n_log, 0);
  fx_add(s, KEY, "ext-1", 0);
  ck_assert_uint_eq(sim_sweep(s, 105), 1);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ext-1");
  cycle(s, 110, NULL, 0);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_uint_eq(s->n_log, 1); /* never notified failing: no OKAY */
  ck_assert_int_eq(s->log[0].type, REC_TERMINATE);
  ck_assert_str_eq(s->log[0].event_id, "ext-1");
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  ck_assert_uint_eq(s->total_creates, 0);
  sim_free(s);
}
END_TEST

/* An event adopted on a failing key covers the failure: nothing is
 * created, not for newer failing runs either while the event stays
 * active, nor when a person then terminates it. */
START_TEST(test_adopt_failing) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("us1", RS_RESULT_FAIL, 90);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  fx_add(s, KEY, "ext-1", 0);
  ck_assert_uint_eq(sim_sweep(s, 95), 1);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_double_eq(k->alerted_through, 90);
  cycle(s, 100, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, KEY), 1);
  size_t lookups = 0;
  for (int i = 0; i < 10; i++) {
    cycle1(s, 200 + 100 * i, mkrun("us1", RS_RESULT_FAIL, 190 + 100 * i));
    lookups += s->lookups;
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
    ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
    ck_assert_double_eq(key_of(s, KEY)->alerted_through, 190 + 100 * i);
  }
  ck_assert_uint_eq(lookups, 3); /* at 300, 600 and 900: still active */
  fx_terminate(s, "ext-1");
  cycle(s, 1200, NULL, 0);
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_uint_eq(s->total_creates, 0);
  sim_free(s);
}
END_TEST

/* An id the key knows is not new, whether adopted or looked up; and a
 * listing that misses an event does not forget it. */
START_TEST(test_adopt_twice) {
  struct sim *s = sim_new();
  make_active(s); /* knows ev-1 from a lookup */
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(rec_adopt_event(k, &s->o, "ev-1"), 0);
  ck_assert_uint_eq(sim_sweep(s, 120), 0);
  ck_assert_uint_eq(k->n_events, 1);
  fx_add(s, KEY, "ext-1", 0);
  ck_assert_uint_eq(sim_sweep(s, 130), 1);
  ck_assert_uint_eq(sim_sweep(s, 140), 0);
  ck_assert_int_eq(rec_adopt_event(k, &s->o, "ext-1"), 0);
  ck_assert_uint_eq(k->n_events, 2);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_str_eq(k->event_ids[1], "ext-1");
  fx_terminate(s, "ev-1");
  fx_terminate(s, "ext-1");
  ck_assert_uint_eq(sim_sweep(s, 150), 0);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 2);
  sim_free(s);
}
END_TEST

/* A key that holds REC_EVENTS_MAX events adopts no more; an id too long
 * to keep is not adopted either. */
START_TEST(test_adopt_full) {
  struct sim *s = sim_new();
  struct rs_run run = mkrun("us1", RS_RESULT_PASS, 90);
  ck_assert_int_eq(rec_observe_run(&s->st, BUCKET, &run), 1);
  struct rec_key *k = key_of(s, KEY);
  char id[XM_ID_MAX + 1];
  memset(id, 'x', XM_ID_MAX);
  id[XM_ID_MAX] = '\0';
  ck_assert_int_eq(rec_adopt_event(k, &s->o, id), 0);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_uint_eq(k->n_events, 0);
  for (int i = 0; i < REC_EVENTS_MAX; i++) {
    snprintf(id, sizeof(id), "ext-%d", i);
    ck_assert_int_eq(rec_adopt_event(k, &s->o, id), 1);
  }
  ck_assert_uint_eq(k->n_events, REC_EVENTS_MAX);
  ck_assert_int_eq(rec_adopt_event(k, &s->o, "one-too-many"), 0);
  ck_assert_uint_eq(k->n_events, REC_EVENTS_MAX);
  for (int i = 0; i < REC_EVENTS_MAX; i++) {
    snprintf(id, sizeof(id), "ext-%d", i);
    ck_assert_str_eq(k->event_ids[i], id);
  }
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  sim_free(s);
}
END_TEST

struct adopt_requested_row {
  enum rec_create_outcome outcome;
  const char *request_id; /* what the key holds while requested */
};

static const struct adopt_requested_row adopt_requested_rows[] = {
    {REC_CREATED, "req-1"},
    {REC_MAYBE_SENT, ""}, /* the answer was lost, the event exists */
};

/* The listing shows the event a request created before a lookup does: the
 * key takes it, the request is cleared, and nothing is created again. */
START_TEST(test_adopt_requested) {
  const struct adopt_requested_row *r = &adopt_requested_rows[_i];
  struct sim *s = sim_new();
  s->outcome = r->outcome;
  s->lost_exists = true;
  s->delay = 30;
  cycle1(s, 100, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 110, NULL, 0);
  struct rec_key *k = key_of(s, KEY);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert_str_eq(k->request_id, r->request_id);
  ck_assert(k->request_confirmed == (r->outcome == REC_CREATED));
  ck_assert_uint_eq(sim_sweep(s, 130), 1); /* ev-1 is visible from 130 */
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_str_eq(k->request_id, "");
  ck_assert(!k->request_confirmed);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_double_eq(k->alerted_through, 90);
  for (double t = 140; t <= 200; t += 10) {
    cycle(s, t, NULL, 0);
    ck_assert_uint_eq(s->lookups, 0);
    ck_assert_uint_eq(s->n_log, 0);
  }
  cycle1(s, 250, mkrun("us1", RS_RESULT_PASS, 240));
  ck_assert_uint_eq(count(s, REC_TERMINATE, KEY), 1);
  ck_assert(terminated(s, "ev-1"));
  ck_assert_uint_eq(s->total_creates, 1);
  ck_assert_uint_eq(fx_count(s, KEY), 0);
  sim_free(s);
}
END_TEST

/* A failing run seen while the event is active is that event's: when a
 * person terminates the event before the next lookup, the run does not
 * page again; a still newer failing run pages, once. */
START_TEST(test_active_covers_failures) {
  struct sim *s = sim_new();
  make_active(s); /* failing at 90, checked at 110 */
  cycle1(s, 200, mkrun("us1", RS_RESULT_FAIL, 190));
  ck_assert_uint_eq(s->lookups, 0);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_double_eq(key_of(s, KEY)->alerted_through, 190);
  fx_terminate(s, "ev-1");
  cycle(s, 410, NULL, 0); /* reconcile_interval after 110 */
  ck_assert_uint_eq(s->lookups, 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  for (int i = 0; i < 3; i++) {
    cycle1(s, 420 + 10 * i, mkrun("us1", RS_RESULT_FAIL, 190));
    ck_assert_uint_eq(s->lookups, 0);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  cycle1(s, 500, mkrun("us1", RS_RESULT_FAIL, 490));
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  cycle(s, 510, NULL, 0);
  ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  ck_assert_uint_eq(s->total_creates, 2);
  sim_free(s);
}
END_TEST

/* ---- the order of actions ---- */

/* Where the first action of type for key is in the last cycle's list. */
static size_t log_index(const struct sim *s, enum rec_action_type type,
                        const char *key) {
  for (size_t i = 0; i < s->n_log; i++)
    if (s->log[i].type == type && strcmp(s->log[i].key, key) == 0)
      return i;
  ck_abort_msg("no action %d for %s", type, key);
  return 0;
}

/* Per key, the create or terminate comes before the notification (so a
 * FAILURE notification can name the request). */
START_TEST(test_events_before_notification) {
  struct sim *s = sim_new();
  const char *ka = BUCKET "/ta/" ENV, *kb = BUCKET "/tb/" ENV;
  struct rs_run fails[] = {
      mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_FAIL, 90, "a1"),
      mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_FAIL, 90, "b1"),
  };
  cycle(s, 100, fails, 2);
  ck_assert_uint_eq(s->lookups, 2);
  ck_assert_uint_eq(s->n_log, 4);
  ck_assert_uint_eq(log_index(s, REC_CREATE, ka), 0);
  ck_assert_uint_eq(log_index(s, REC_NOTIFY_FAILURE, ka), 1);
  ck_assert_uint_eq(log_index(s, REC_CREATE, kb), 2);
  ck_assert_uint_eq(log_index(s, REC_NOTIFY_FAILURE, kb), 3);
  cycle(s, 110, NULL, 0);
  ck_assert_int_eq(key_of(s, ka)->ev, REC_EV_ACTIVE);
  struct rs_run passes[] = {
      mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_PASS, 190, "a2"),
      mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_PASS, 190, "b2"),
  };
  cycle(s, 200, passes, 2);
  ck_assert_uint_eq(s->n_log, 4);
  ck_assert_uint_eq(log_index(s, REC_TERMINATE, ka), 0);
  ck_assert_uint_eq(log_index(s, REC_NOTIFY_OKAY, ka), 1);
  ck_assert_uint_eq(log_index(s, REC_TERMINATE, kb), 2);
  ck_assert_uint_eq(log_index(s, REC_NOTIFY_OKAY, kb), 3);
  sim_free(s);
}
END_TEST

/* ---- the results cursor ---- */

struct cur_run {
  double t;
  enum rs_result r;
};

struct cursor_row {
  const char *name;
  double since;
  struct cur_run runs[4];
  size_t n;
  double now, max_age;
  bool below; /* want: just below `want`, else exactly `want` */
  double want;
};

#define U RS_RESULT_UNFINISHED
#define P RS_RESULT_PASS
#define F RS_RESULT_FAIL
#define C RS_RESULT_CANCELLED

static const struct cursor_row cursor_rows[] = {
    {"no runs", 100, {{0, P}}, 0, 1000, 3600, false, 100},
    {"no runs, first read", 0, {{0, P}}, 0, 1000, 3600, false, 0},
    {"all finished",
     100,
     {{110, P}, {120, F}, {130, C}},
     3,
     1000,
     3600,
     false,
     130},
    {"unfinished, newer finished",
     100,
     {{110, P}, {120, U}, {130, P}},
     3,
     1000,
     3600,
     true,
     120},
    {"two unfinished",
     100,
     {{110, U}, {120, U}, {130, P}},
     3,
     1000,
     3600,
     true,
     110},
    {"stuck unfinished given up",
     100,
     {{110, U}, {130, P}},
     2,
     10000,
     3600,
     false,
     130},
    {"stuck given up, fresh one held",
     100,
     {{1000, U}, {2000, U}, {3000, P}},
     3,
     5000,
     3600,
     true,
     2000},
    {"unfinished at the age limit",
     100,
     {{1400, U}},
     1,
     5000,
     3600,
     true,
     1400},
    {"never backwards", 500, {{100, P}, {200, U}}, 2, 1000, 3600, false, 500},
    {"unfinished just above since",
     100,
     {{100.0005, U}, {200, P}},
     2,
     1000,
     3600,
     false,
     100},
    {"first read, unfinished", 0, {{50, U}, {60, P}}, 2, 1000, 3600, true, 50},
};

#undef U
#undef P
#undef F
#undef C

START_TEST(test_cursor_next) {
  const struct cursor_row *r = &cursor_rows[_i];
  struct rs_run runs[4];
  for (size_t i = 0; i < r->n; i++)
    runs[i] = mkrun("us1", r->runs[i].r, r->runs[i].t);
  double got = rec_cursor_next(r->since, runs, r->n, r->now, r->max_age);
  ck_assert_msg(got >= r->since, "%s: %f before since", r->name, got);
  if (r->below)
    ck_assert_msg(got < r->want && got > r->want - 0.01, "%s: %f", r->name,
                  got);
  else
    ck_assert_msg(got == r->want, "%s: %f", r->name, got);
}
END_TEST

static void cursor_name(char *out, size_t size, const char *prefix, int i) {
  snprintf(out, size, "%s%d", prefix, i);
}

/* Cursors stay sorted by bucket, then test, whatever the insertion order. */
START_TEST(test_cursor_set_find) {
  enum { NB = 23, NT = 61 };
  static int order[NB * NT];
  struct rec_state st;
  char b[32], t[32];
  uint32_t seed = 99;
  for (int i = 0; i < NB * NT; i++)
    order[i] = i;
  for (int i = NB * NT - 1; i > 0; i--) {
    int j = (int)(rng_next(&seed) % (uint32_t)(i + 1));
    int tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  rec_state_init(&st);
  ck_assert_ptr_null(rec_cursor_find(&st, "b0", "t0"));
  for (int i = 0; i < NB * NT; i++) {
    cursor_name(b, sizeof(b), "b", order[i] / NT);
    cursor_name(t, sizeof(t), "t", order[i] % NT);
    ck_assert_int_eq(rec_cursor_set(&st, b, t, order[i]), 0);
  }
  ck_assert_uint_eq(st.n_cursors, NB * NT);
  for (size_t i = 1; i < st.n_cursors; i++) {
    const struct rec_cursor *x = &st.cursors[i - 1], *y = &st.cursors[i];
    int d = strcmp(x->bucket_key, y->bucket_key);
    ck_assert(d < 0 || (d == 0 && strcmp(x->test_id, y->test_id) < 0));
  }
  for (int v = 0; v < NB * NT; v++) {
    cursor_name(b, sizeof(b), "b", v / NT);
    cursor_name(t, sizeof(t), "t", v % NT);
    struct rec_cursor *c = rec_cursor_find(&st, b, t);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->bucket_key, b);
    ck_assert_str_eq(c->test_id, t);
    ck_assert_double_eq(c->since, v);
  }
  /* Setting again updates in place. */
  ck_assert_int_eq(rec_cursor_set(&st, "b3", "t7", 1e9), 0);
  ck_assert_uint_eq(st.n_cursors, NB * NT);
  ck_assert_double_eq(rec_cursor_find(&st, "b3", "t7")->since, 1e9);
  /* Bucket first: "b1"/"t9" is not confused with "b1t"/"9". */
  ck_assert_ptr_null(rec_cursor_find(&st, "b1t", "9"));
  ck_assert_ptr_null(rec_cursor_find(&st, "b1", "t99"));
  char longid[RS_ID_MAX + 1];
  memset(longid, 'x', RS_ID_MAX);
  longid[RS_ID_MAX] = '\0';
  ck_assert_int_eq(rec_cursor_set(&st, longid, "t", 1), -ENAMETOOLONG);
  ck_assert_int_eq(rec_cursor_set(&st, "b", longid, 1), -ENAMETOOLONG);
  ck_assert_uint_eq(st.n_cursors, NB * NT);
  rec_state_fini(&st);
}
END_TEST

/* A simulated results endpoint: runs with started_at > since (all when
 * since <= 0), oldest first. */
struct fake_rs {
  struct rs_run runs[8];
  size_t n;
};

static size_t rs_query(const struct fake_rs *f, double since,
                       struct rs_run *out) {
  size_t n = 0;
  for (size_t i = 0; i < f->n; i++)
    if (since <= 0 || f->runs[i].started_at > since)
      out[n++] = f->runs[i];
  return n;
}

/* One cycle of the engine for the test: read from the cursor, observe,
 * reconcile, move the cursor. */
static void poll_test(struct sim *s, const struct fake_rs *f, double now) {
  struct rs_run got[8];
  struct rec_cursor *c = rec_cursor_find(&s->st, BUCKET, TEST_ID);
  ck_assert_ptr_nonnull(c);
  double since = c->since;
  size_t n = rs_query(f, since, got);
  cycle(s, now, got, n);
  double next = rec_cursor_next(since, got, n, now, 3600);
  ck_assert(next >= since);
  ck_assert_int_eq(rec_cursor_set(&s->st, BUCKET, TEST_ID, next), 0);
}

/* A run that was `working` when first read and `fail` on the next read is
 * seen, and pages exactly once. */
START_TEST(test_cursor_paging) {
  struct sim *s = sim_new();
  struct fake_rs f = {.n = 3};
  f.runs[0] = mkrun("us1", RS_RESULT_PASS, 100);
  f.runs[1] = mkrun("us1", RS_RESULT_UNFINISHED, 200);
  f.runs[2] = mkrun("eu1", RS_RESULT_PASS, 300);
  ck_assert_int_eq(rec_cursor_set(&s->st, BUCKET, TEST_ID, 50), 0);
  poll_test(s, &f, 310);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_int_eq(verdict_of(s, KEY), REC_PASSING);
  double since = rec_cursor_find(&s->st, BUCKET, TEST_ID)->since;
  ck_assert(since < 200 && since > 199);
  /* It is still working on the next read, and then it fails. */
  poll_test(s, &f, 320);
  ck_assert_uint_eq(s->n_log, 0);
  ck_assert_double_eq(rec_cursor_find(&s->st, BUCKET, TEST_ID)->since, since);
  f.runs[1].result = RS_RESULT_FAIL;
  f.runs[1].finished_at = 315;
  poll_test(s, &f, 330);
  ck_assert_int_eq(verdict_of(s, KEY), REC_FAILING);
  ck_assert_uint_eq(count(s, REC_CREATE, KEY), 1);
  ck_assert_uint_eq(count(s, REC_NOTIFY_FAILURE, KEY), 1);
  ck_assert_double_eq(rec_cursor_find(&s->st, BUCKET, TEST_ID)->since, 300);
  for (double t = 340; t < 400; t += 10) {
    poll_test(s, &f, t);
    ck_assert_uint_eq(count(s, REC_CREATE, NULL), 0);
  }
  ck_assert_uint_eq(s->total_creates, 1);
  ck_assert_int_eq(key_of(s, KEY)->ev, REC_EV_ACTIVE);
  sim_free(s);
}
END_TEST

/* ---- the suite ---- */

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static TCase *add(Suite *s, const char *name, const TTest *fn, int rows) {
  TCase *tc = tcase_create(name);
  if (rows > 0)
    tcase_add_loop_test(tc, fn, 0, rows);
  else
    tcase_add_test(tc, fn);
  suite_add_tcase(s, tc);
  return tc;
}

Suite *unit_suite(void) {
  Suite *s = suite_create("reconcile");
  add(s, "make_key", test_make_key, N_ROWS(key_rows));
  add(s, "key_get_too_long", test_key_get_too_long, 0);
  /* Generous for valgrind (make memcheck), which runs it ~50x slower. */
  tcase_set_timeout(add(s, "many_keys", test_many_keys, 0), 60);
  add(s, "behaviour_table", test_behaviour_table, N_ROWS(table_rows));
  add(s, "fail_pages_once", test_fail_pages_once, 0);
  add(s, "repeated_observation", test_repeated_observation, 0);
  add(s, "out_of_order", test_out_of_order, 0);
  add(s, "equal_start_locations", test_equal_start_locations, 0);
  add(s, "equal_start_same_location", test_equal_start_same_location, 0);
  add(s, "not_a_verdict", test_not_a_verdict, N_ROWS(non_verdicts));
  add(s, "observed_fields", test_observed_fields, 0);
  add(s, "regions", test_regions, 0);
  add(s, "agents", test_agents, 0);
  add(s, "location_window", test_location_window, N_ROWS(window_rows));
  add(s, "no_locations", test_no_locations, 0);
  add(s, "add_locations", test_add_locations, 0);
  add(s, "too_many_locations", test_too_many_locations, 0);
  add(s, "environments", test_environments, 0);
  add(s, "notifications", test_notifications, 0);
  add(s, "notifications_xm_down", test_notifications_xm_down, 0);
  add(s, "pending_appears", test_pending_appears, 0);
  add(s, "pending_confirmed_never_visible",
      test_pending_confirmed_never_visible, 0);
  add(s, "pending_lost_not_created", test_pending_lost_not_created, 0);
  add(s, "request_ended", test_request_ended, 0);
  add(s, "terminate_lost_in_a_crash", test_terminate_lost_in_a_crash, 0);
  add(s, "terminate_start_event_still_open",
      test_terminate_start_event_still_open, 0);
  add(s, "pending_confirmed_covers_only_older_failures",
      test_pending_confirmed_covers_only_older_failures, 0);
  add(s, "pending_lost_but_created", test_pending_lost_but_created, 0);
  add(s, "not_created_retried", test_not_created_retried, 0);
  add(s, "write_ahead_crash", test_write_ahead_crash, N_ROWS(crash_rows));
  add(s, "not_created_keeps_active", test_not_created_keeps_active, 0);
  add(s, "pass_while_requested", test_pass_while_requested, 0);
  add(s, "terminate_retried", test_terminate_retried, 0);
  add(s, "person_terminates", test_person_terminates, 0);
  add(s, "reconcile_interval", test_reconcile_interval, 0);
  add(s, "xm_unreachable", test_xm_unreachable, 0);
  add(s, "only_looked_up_keys", test_only_looked_up_keys, 0);
  add(s, "plan_lookups_appends", test_plan_lookups_appends, 0);
  add(s, "adopt_passing", test_adopt_passing, 0);
  add(s, "adopt_failing", test_adopt_failing, 0);
  add(s, "adopt_twice", test_adopt_twice, 0);
  add(s, "adopt_full", test_adopt_full, 0);
  add(s, "adopt_requested", test_adopt_requested, N_ROWS(adopt_requested_rows));
  add(s, "active_covers_failures", test_active_covers_failures, 0);
  add(s, "events_before_notification", test_events_before_notification, 0);
  add(s, "cursor_next", test_cursor_next, N_ROWS(cursor_rows));
  add(s, "cursor_set_find", test_cursor_set_find, 0);
  add(s, "cursor_paging", test_cursor_paging, 0);
  return s;
}
