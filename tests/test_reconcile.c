/* SPDX-License-Identifier: MIT */
/* Unit tests of the reconciler's decisions: keys, observations, locations,
 * lookups, planned actions and their outcomes, adoption and the results
 * cursor, each step called directly (whole cycles: test_engine.c). */
#include "core/reconcile.h"
#include "testutil.h"
#include "util/str.h"

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

/* ---- the reconciler's state, and one cycle's steps by hand ---- */

/* The state and options of one test, and the last plan of actions. The
 * tests call the reconciler's steps themselves and say what xMatters
 * answers; the engine's own cycle is tested in test_engine.c. */
struct recon {
  struct rec_state st;
  struct rec_opts o;
  struct rec_actions last;
};

static struct recon *recon_new(void) {
  struct recon *r = calloc(1, sizeof(*r));
  ck_assert_ptr_nonnull(r);
  rec_state_init(&r->st);
  rec_opts_default(&r->o);
  rec_actions_init(&r->last);
  return r;
}

static void recon_free(struct recon *r) {
  rec_actions_fini(&r->last);
  rec_state_fini(&r->st);
  free(r);
}

static void observe(struct recon *r, struct rs_run run) {
  ck_assert_int_ge(rec_observe_run(&r->st, run.bucket_key, &run), 0);
}

/* What xMatters answers for one key: its active events (id NULL: none). */
struct answer {
  const char *key;
  const char *id;
};

/* Plans the lookups at now and gives the planned keys named in answers
 * their answer; other planned keys get none (xMatters did not answer).
 * Returns how many keys were planned. */
static size_t look_up_many(struct recon *r, double now,
                           const struct answer *answers, size_t n) {
  size_t *which = NULL, n_which = 0;
  ck_assert_int_eq(rec_plan_lookups(&r->st, &r->o, now, &which, &n_which), 0);
  for (size_t i = 0; i < n_which; i++) {
    struct rec_key *k = r->st.keys[which[i]];
    for (size_t j = 0; j < n; j++) {
      if (strcmp(k->key, answers[j].key) != 0)
        continue;
      const char *ids[] = {answers[j].id};
      rec_apply_lookup(k, &r->o, ids, answers[j].id ? 1 : 0, now);
    }
  }
  free(which);
  return n_which;
}

/* The same for key alone (NULL: no answer at all), with ids[0..n). */
static size_t look_up(struct recon *r, double now, const char *key,
                      const char *const *ids, size_t n) {
  size_t *which = NULL, n_which = 0;
  ck_assert_int_eq(rec_plan_lookups(&r->st, &r->o, now, &which, &n_which), 0);
  for (size_t i = 0; i < n_which; i++)
    if (key != NULL && strcmp(r->st.keys[which[i]]->key, key) == 0)
      rec_apply_lookup(r->st.keys[which[i]], &r->o, ids, n, now);
  free(which);
  return n_which;
}

#define IDS(...)                                                               \
  (const char *[]){__VA_ARGS__},                                               \
      sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)

/* Plans the actions at now into r->last. */
static void plan(struct recon *r, double now) {
  r->last.n = 0;
  ck_assert_int_eq(rec_plan_actions(&r->st, &r->o, now, &r->last), 0);
}

/* Planned actions of type (for key, or any key when NULL). */
static size_t count(const struct recon *r, enum rec_action_type type,
                    const char *key) {
  size_t n = 0;
  for (size_t i = 0; i < r->last.n; i++) {
    const struct rec_action *a = &r->last.v[i];
    n += a->type == type &&
         (key == NULL || strcmp(r->st.keys[a->key]->key, key) == 0);
  }
  return n;
}

static bool plans_terminate(const struct recon *r, const char *event_id) {
  for (size_t i = 0; i < r->last.n; i++)
    if (r->last.v[i].type == REC_TERMINATE &&
        strcmp(r->last.v[i].event_id, event_id) == 0)
      return true;
  return false;
}

static struct rec_key *key_of(struct recon *r, const char *key) {
  struct rec_key *k = rec_key_find(&r->st, key);
  ck_assert_ptr_nonnull(k);
  return k;
}

static enum rec_verdict verdict_of(struct recon *r, const char *key) {
  return rec_verdict(key_of(r, key), &r->o);
}

/* Pages key at now: looked up with nothing active, one create planned and
 * accepted as request_id. */
static void page_at(struct recon *r, const char *key, double now,
                    const char *request_id) {
  const struct answer none = {key, NULL};
  ck_assert_uint_ge(look_up_many(r, now, &none, 1), 1);
  plan(r, now);
  ck_assert_uint_eq(count(r, REC_CREATE, key), 1);
  rec_create_done(key_of(r, key), &r->o, REC_CREATED, request_id, now);
}

/* A failing key whose event is active and known: the run at 90 paged at
 * 100, its event ev-1 seen at 110. */
static struct rec_key *make_active(struct recon *r) {
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  page_at(r, KEY, 100, "req-1");
  ck_assert_uint_eq(look_up(r, 110, KEY, IDS("ev-1")), 1);
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  return k;
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

/* Every key of a bucket lies in its range, whatever the bucket keys
 * around it sort like (characters just below and above '/', a '/' in a
 * key, a prefix of another), and a range holds no key of a bucket that
 * does not share the prefix. */
START_TEST(test_key_range_holds_the_bucket) {
  static const char *const buckets[] = {"a",  "a-", "a.", "a0", "a/b",
                                        "ab", "b",  "",   "a/"};
  static const char *const tests[] = {"t1", "/", "t.2", "z"};
  struct rec_state st;
  struct rec_key *k;
  size_t nb = sizeof(buckets) / sizeof(buckets[0]), in_range = 0;
  rec_state_init(&st);
  for (size_t b = 0; b < nb; b++)
    for (size_t t = 0; t < 4; t++)
      ck_assert_int_eq(rec_key_get(&st, buckets[b], tests[t], "e", &k), 0);
  for (size_t b = 0; b < nb; b++) {
    size_t first, end, mine = 0;
    rec_key_range(&st, buckets[b], &first, &end);
    ck_assert_uint_le(end, st.n_keys);
    for (size_t i = 0; i < st.n_keys; i++) {
      bool same = strcmp(st.keys[i]->bucket_key, buckets[b]) == 0;
      bool inside = i >= first && i < end;
      ck_assert_msg(!same || inside, "bucket \"%s\": key %s outside",
                    buckets[b], st.keys[i]->key);
      ck_assert_msg(!inside || strncmp(st.keys[i]->key, buckets[b],
                                       strlen(buckets[b])) == 0,
                    "bucket \"%s\": key %s inside", buckets[b],
                    st.keys[i]->key);
      mine += same;
    }
    ck_assert_uint_eq(mine, 4);
    in_range += end - first;
  }
  ck_assert_uint_lt(in_range, nb * st.n_keys / 2); /* ranges, not all */
  rec_state_fini(&st);
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

/* ---- observations ---- */

/* Seeing a run again changes nothing: the key paged for it once. */
START_TEST(test_repeated_observation) {
  struct recon *r = recon_new();
  struct rs_run run = mkrun("us1", RS_RESULT_FAIL, 100);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 0);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 0);
  ck_assert_uint_eq(key_of(r, KEY)->n_locs, 1);
  page_at(r, KEY, 110, "req-1");
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 0);
    look_up(r, 120 + 10 * i, KEY, NULL, 0); /* not showing yet */
    plan(r, 120 + 10 * i);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  recon_free(r);
}
END_TEST

START_TEST(test_out_of_order) {
  struct recon *r = recon_new();
  struct rs_run newer = mkrun("us1", RS_RESULT_PASS, 200);
  struct rs_run older = mkrun("us1", RS_RESULT_FAIL, 100);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &newer), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &older), 0);
  struct rec_key *k = key_of(r, KEY);
  ck_assert_uint_eq(k->n_locs, 1);
  ck_assert_str_eq(str_or_empty(k->locs[0].test_run_id), newer.test_run_id);
  ck_assert_int_eq(rec_verdict(k, &r->o), REC_PASSING);
  ck_assert_uint_eq(look_up(r, 210, NULL, NULL, 0), 0);
  plan(r, 210);
  ck_assert_uint_eq(r->last.n, 0);
  /* The other way round: the newer pass replaces the older failure. */
  struct rs_run f2 = mkrun("eu1", RS_RESULT_FAIL, 300);
  struct rs_run p2 = mkrun("eu1", RS_RESULT_PASS, 400);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &f2), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &p2), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &f2), 0);
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  recon_free(r);
}
END_TEST

/* Runs of one tick start together in every location: all count. */
START_TEST(test_equal_start_locations) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_PASS, 100));
  observe(r, mkrun("eu1", RS_RESULT_FAIL, 100));
  observe(r, mkrun("agent:box", RS_RESULT_PASS, 100));
  ck_assert_uint_eq(key_of(r, KEY)->n_locs, 3);
  ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
  page_at(r, KEY, 110, "req-1");
  recon_free(r);
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
  ck_assert_str_eq(str_or_empty(st1.keys[0]->locs[0].test_run_id),
                   str_or_empty(st2.keys[0]->locs[0].test_run_id));
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
  struct recon *r = recon_new();
  struct rs_run run = mkrun("us1", non_verdicts[_i], 100);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 0);
  ck_assert_uint_eq(r->st.n_keys, 0);
  /* Nor does it replace a verdict of its location. */
  struct rs_run fail = mkrun("us1", RS_RESULT_FAIL, 50);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &fail), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 0);
  ck_assert_str_eq(key_of(r, KEY)->locs[0].test_run_id, fail.test_run_id);
  ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
  recon_free(r);
}
END_TEST

/* What a location remembers of its run. */
START_TEST(test_observed_fields) {
  struct recon *r = recon_new();
  struct rs_run run = mkrun("agent:box-1", RS_RESULT_FAIL, 123.5);
  run.scripts_failed = 4;
  run.variables_failed = 5;
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 1);
  const struct rec_run *l = &key_of(r, KEY)->locs[0];
  ck_assert_str_eq(str_or_empty(l->location), "agent:box-1");
  ck_assert_str_eq(str_or_empty(l->test_run_id), run.test_run_id);
  ck_assert(l->failed);
  ck_assert_double_eq(l->started_at, 123.5);
  ck_assert_double_eq(l->finished_at, 128.5);
  ck_assert_int_eq(l->assertions_failed, 2);
  ck_assert_int_eq(l->scripts_failed, 4);
  ck_assert_int_eq(l->variables_failed, 5);
  ck_assert_int_eq(l->requests_executed, 3);
  ck_assert_ptr_eq(rec_newest_failure(key_of(r, KEY), &r->o), l);
  recon_free(r);
}
END_TEST

/* The key's environment name follows the runs that name it: a rename is
 * taken, a run without a name keeps the one known, and a name too long
 * for the key is none. */
START_TEST(test_environment_name) {
  static const struct {
    const char *run_name, *want; /* want NULL: the key holds none */
  } steps[] = {
      {"Production", "Production"},
      {"", "Production"},
      {"Prod (EU)", "Prod (EU)"},
      {"", "Prod (EU)"},
  };
  struct recon *r = recon_new();
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    struct rs_run run = mkrun("us1", RS_RESULT_PASS, 100.0 + (double)i);
    snprintf(run.environment_name, sizeof(run.environment_name), "%s",
             steps[i].run_name);
    observe(r, run);
    ck_assert_str_eq(str_or_empty(key_of(r, KEY)->environment_name),
                     steps[i].want);
  }
  struct rs_run run = mkrun("us1", RS_RESULT_PASS, 200.0);
  memset(run.environment_name, 'n', REC_ENV_NAME_MAX);
  run.environment_name[REC_ENV_NAME_MAX] = '\0';
  observe(r, run);
  ck_assert_ptr_null(key_of(r, KEY)->environment_name);
  recon_free(r);
}
END_TEST

/* ---- locations ---- */

/* A pass in region B never closes the page a failure in region A opened:
 * the key stays failing, nothing is planned, until A passes too. */
START_TEST(test_regions) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 100));
  observe(r, mkrun("eu1", RS_RESULT_PASS, 100));
  ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
  page_at(r, KEY, 110, "req-1");
  look_up(r, 120, KEY, IDS("ev-1"));
  for (int i = 0; i < 10; i++) {
    observe(r, mkrun("eu1", RS_RESULT_PASS, 190 + 100 * i));
    look_up(r, 200 + 100 * i, KEY, IDS("ev-1"));
    plan(r, 200 + 100 * i);
    ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
    ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  observe(r, mkrun("us1", RS_RESULT_PASS, 1290));
  ck_assert_uint_eq(look_up(r, 1300, KEY, IDS("ev-1")), 1);
  plan(r, 1300);
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  ck_assert(plans_terminate(r, "ev-1"));
  recon_free(r);
}
END_TEST

/* Private agents are locations of their own, "agent:<name>". */
START_TEST(test_agents) {
  struct recon *r = recon_new();
  observe(r, mkrun("agent:us1", RS_RESULT_FAIL, 100));
  observe(r, mkrun("us1", RS_RESULT_PASS, 101));
  observe(r, mkrun("agent:dc2", RS_RESULT_PASS, 102));
  struct rec_key *k = key_of(r, KEY);
  ck_assert_uint_eq(k->n_locs, 3);
  ck_assert_str_eq(str_or_empty(k->locs[0].location), "agent:us1");
  ck_assert_str_eq(str_or_empty(k->locs[1].location), "us1");
  ck_assert_str_eq(str_or_empty(k->locs[2].location), "agent:dc2");
  ck_assert_int_eq(rec_verdict(k, &r->o), REC_FAILING);
  ck_assert_str_eq(rec_newest_failure(k, &r->o)->location, "agent:us1");
  page_at(r, KEY, 110, "req-1");
  look_up(r, 120, KEY, IDS("ev-1"));
  observe(r, mkrun("agent:us1", RS_RESULT_PASS, 190));
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  ck_assert_uint_eq(look_up(r, 200, KEY, IDS("ev-1")), 1);
  plan(r, 200);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  /* A run naming no location is a location too (""). */
  struct rs_run bare = mkrun("", RS_RESULT_FAIL, 300);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &bare), 1);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &bare), 0);
  ck_assert_uint_eq(key_of(r, KEY)->n_locs, 4);
  ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
  recon_free(r);
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
  const struct window_row *w = &window_rows[_i];
  struct recon *r = recon_new();
  r->o.location_window = w->window;
  observe(r, mkrun("ap1", RS_RESULT_FAIL, 1000));
  page_at(r, KEY, 1010, "req-1");
  look_up(r, 1020, KEY, IDS("ev-1"));
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  observe(r, mkrun("eu1", RS_RESULT_PASS, w->pass_at));
  look_up(r, w->pass_at + 10, KEY, IDS("ev-1"));
  plan(r, w->pass_at + 10);
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(rec_verdict(k, &r->o), w->want);
  if (w->want == REC_PASSING) {
    ck_assert_ptr_null(rec_newest_failure(k, &r->o));
    ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
    ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, KEY), 1);
  } else {
    ck_assert_ptr_nonnull(rec_newest_failure(k, &r->o));
    ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 0);
  }
  recon_free(r);
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
    ck_assert_str_eq(str_or_empty(l->location), "");
    ck_assert_double_eq(l->started_at, 0);
    char name[16];
    snprintf(name, sizeof(name), "loc%zu", i);
    str_set(&l->location, name, 0);
  }
  ck_assert_ptr_null(rec_key_add_loc(k));
  ck_assert_uint_eq(k->n_locs, REC_LOC_MAX);
  ck_assert_uint_le(k->cap_locs, REC_LOC_MAX);
  for (size_t i = 0; i < REC_LOC_MAX; i++) {
    char want[16];
    snprintf(want, sizeof(want), "loc%zu", i);
    ck_assert_str_eq(str_or_empty(k->locs[i].location), want);
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
  struct recon *r = recon_new();
  char loc[16];
  for (int i = 0; i <= REC_LOC_MAX; i++) {
    snprintf(loc, sizeof(loc), "r%02d", i);
    struct rs_run run = mkrun(loc, RS_RESULT_PASS, 100 + i);
    ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &run), 1);
  }
  struct rec_key *k = key_of(r, KEY);
  ck_assert_uint_eq(k->n_locs, REC_LOC_MAX);
  bool have_first = false, have_last = false;
  for (size_t i = 0; i < k->n_locs; i++) {
    have_first |= strcmp(str_or_empty(k->locs[i].location), "r00") == 0;
    snprintf(loc, sizeof(loc), "r%02d", REC_LOC_MAX);
    have_last |= strcmp(str_or_empty(k->locs[i].location), loc) == 0;
  }
  ck_assert(!have_first);
  ck_assert(have_last);
  /* A run older than every kept location is the oldest: dropped, however
   * often and late it is seen, and nothing is planned for it. */
  struct rs_run first = mkrun("r00", RS_RESULT_PASS, 100);
  struct rs_run stale = mkrun("old", RS_RESULT_FAIL, 50);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &first), 0);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &stale), 0);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &stale), 0);
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  ck_assert_uint_eq(look_up(r, 200, NULL, NULL, 0), 0);
  plan(r, 200);
  ck_assert_uint_eq(r->last.n, 0);
  /* A new location with a newer failure replaces the oldest, and pages. */
  observe(r, mkrun("new", RS_RESULT_FAIL, 290));
  ck_assert_uint_eq(key_of(r, KEY)->n_locs, REC_LOC_MAX);
  ck_assert_int_eq(verdict_of(r, KEY), REC_FAILING);
  page_at(r, KEY, 300, "req-1");
  recon_free(r);
}
END_TEST

/* ---- environments ---- */

#define STAGING BUCKET "/" TEST_ID "/staging"
#define PROD BUCKET "/" TEST_ID "/prod"
#define OTHER "other/" TEST_ID "/prod"

/* Each environment (and bucket) is a key of its own: its failure pages
 * it alone, and a pass of another leaves its event alone. */
START_TEST(test_environments) {
  struct recon *r = recon_new();
  observe(r, mkrun_full(BUCKET, TEST_ID, "staging", "us1", RS_RESULT_FAIL, 100,
                        "a"));
  observe(r,
          mkrun_full(BUCKET, TEST_ID, "prod", "us1", RS_RESULT_PASS, 100, "b"));
  observe(
      r, mkrun_full("other", TEST_ID, "prod", "us1", RS_RESULT_FAIL, 100, "c"));
  ck_assert_uint_eq(r->st.n_keys, 3);
  ck_assert_int_eq(verdict_of(r, STAGING), REC_FAILING);
  ck_assert_int_eq(verdict_of(r, PROD), REC_PASSING);
  ck_assert_int_eq(verdict_of(r, OTHER), REC_FAILING);
  const struct answer none[] = {{STAGING, NULL}, {OTHER, NULL}};
  ck_assert_uint_eq(look_up_many(r, 110, none, 2), 2);
  plan(r, 110);
  ck_assert_uint_eq(count(r, REC_CREATE, STAGING), 1);
  ck_assert_uint_eq(count(r, REC_CREATE, PROD), 0);
  ck_assert_uint_eq(count(r, REC_CREATE, OTHER), 1);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 2);
  rec_create_done(key_of(r, STAGING), &r->o, REC_CREATED, "req-s", 110);
  rec_create_done(key_of(r, OTHER), &r->o, REC_CREATED, "req-o", 110);
  const struct answer seen[] = {{STAGING, "ev-s"}, {OTHER, "ev-o"}};
  look_up_many(r, 120, seen, 2);
  /* prod passing again does not touch staging's event. */
  observe(r,
          mkrun_full(BUCKET, TEST_ID, "prod", "us1", RS_RESULT_PASS, 200, "d"));
  look_up_many(r, 210, seen, 2);
  plan(r, 210);
  ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
  ck_assert_int_eq(key_of(r, STAGING)->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(key_of(r, STAGING)->n_events, 1);
  recon_free(r);
}
END_TEST

/* ---- notifications ---- */

/* FAILURE when a key starts failing, OKAY when it recovers, each once. */
START_TEST(test_notifications) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_PASS, 1));
  look_up(r, 10, KEY, NULL, 0);
  plan(r, 10);
  ck_assert_uint_eq(r->last.n, 0); /* passing from the start: no OKAY */
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  page_at(r, KEY, 100, "req-1");
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  ck_assert(key_of(r, KEY)->notified_failing);
  for (int i = 0; i < 5; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 190 + 100 * i));
    look_up(r, 200 + 100 * i, KEY, IDS("ev-1"));
    plan(r, 200 + 100 * i);
    ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, NULL), 0);
    ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, NULL), 0);
  }
  observe(r, mkrun("us1", RS_RESULT_PASS, 990));
  look_up(r, 1000, KEY, IDS("ev-1"));
  plan(r, 1000);
  ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, KEY), 1);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, NULL), 0);
  ck_assert(!key_of(r, KEY)->notified_failing);
  rec_terminate_done(key_of(r, KEY), "ev-1", true);
  for (int i = 0; i < 5; i++) {
    observe(r, mkrun("us1", RS_RESULT_PASS, 1090 + 100 * i));
    look_up(r, 1100 + 100 * i, KEY, NULL, 0);
    plan(r, 1100 + 100 * i);
    ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, NULL), 0);
    ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, NULL), 0);
  }
  observe(r, mkrun("us1", RS_RESULT_FAIL, 1990));
  look_up(r, 2000, KEY, NULL, 0);
  plan(r, 2000);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  recon_free(r);
}
END_TEST

/* Notifications do not wait for xMatters: with no lookup answered the
 * FAILURE is planned, the create only once xMatters answers. */
START_TEST(test_notifications_xm_down) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  look_up(r, 100, NULL, NULL, 0);
  plan(r, 100);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  look_up(r, 110, NULL, NULL, 0);
  plan(r, 110);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, NULL), 0);
  ck_assert_uint_eq(look_up(r, 120, KEY, NULL, 0), 1);
  plan(r, 120);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, NULL), 0);
  ck_assert_uint_eq(count(r, REC_CREATE, KEY), 1);
  recon_free(r);
}
END_TEST

/* ---- pending events ---- */

/* A requested event is looked up every cycle until it shows up. */
START_TEST(test_pending_appears) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  page_at(r, KEY, 100, "req-1");
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert(k->request_confirmed);
  ck_assert_str_eq(str_or_empty(k->request_id), "req-1");
  ck_assert_double_eq(k->requested_at, 100);
  for (double t = 110; t < 125; t += 10) {
    ck_assert_uint_eq(look_up(r, t, KEY, NULL, 0), 1);
    plan(r, t);
    ck_assert_uint_eq(r->last.n, 0);
    ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  }
  ck_assert_uint_eq(look_up(r, 130, KEY, IDS("ev-1")), 1);
  plan(r, 130);
  ck_assert_uint_eq(r->last.n, 0);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_double_eq(k->alerted_through, 90);
  /* Active now: not looked up again before reconcile_interval. */
  ck_assert_uint_eq(look_up(r, 140, KEY, IDS("ev-1")), 0);
  recon_free(r);
}
END_TEST

/* An accepted create that never shows up is taken as delivered: no second
 * page for that failure, but a newer failing run pages again. */
START_TEST(test_pending_confirmed_never_visible) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  page_at(r, KEY, 100, "req-1");
  look_up(r, 159, KEY, NULL, 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_REQUESTED);
  ck_assert_uint_eq(look_up(r, 160, KEY, NULL, 0), 1); /* pending_timeout */
  plan(r, 160);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_NONE);
  ck_assert_double_eq(key_of(r, KEY)->alerted_through, 90);
  for (int i = 0; i < 5; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(look_up(r, 200 + 100 * i, KEY, NULL, 0), 0);
    plan(r, 200 + 100 * i);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  observe(r, mkrun("us1", RS_RESULT_FAIL, 990));
  page_at(r, KEY, 1000, "req-2");
  recon_free(r);
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
  ck_assert_str_eq(str_or_empty(k->request_id), "");
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

/* A create whose answer was lost (REC_MAYBE_SENT) at 100 for the run at
 * 90: the key waits for its event. */
static struct rec_key *lost_create(struct recon *r) {
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  look_up(r, 100, KEY, NULL, 0);
  plan(r, 100);
  ck_assert_uint_eq(count(r, REC_CREATE, KEY), 1);
  struct rec_key *k = key_of(r, KEY);
  rec_create_done(k, &r->o, REC_MAYBE_SENT, NULL, 100);
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert(!k->request_confirmed);
  ck_assert_str_eq(str_or_empty(k->request_id), "");
  return k;
}

/* The answer to a create was lost and nothing shows up: it is looked up
 * every cycle, and created again (once) after pending_timeout. */
START_TEST(test_pending_lost_not_created) {
  struct recon *r = recon_new();
  lost_create(r);
  for (double t = 110; t < 160; t += 10) {
    ck_assert_uint_eq(look_up(r, t, KEY, NULL, 0), 1);
    plan(r, t);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  page_at(r, KEY, 160, "req-2");
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_REQUESTED);
  look_up(r, 170, KEY, IDS("ev-2"));
  plan(r, 170);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  recon_free(r);
}
END_TEST

/* The answer was lost but the event exists: taken when it shows up before
 * pending_timeout, never created twice. */
START_TEST(test_pending_lost_but_created) {
  struct recon *r = recon_new();
  lost_create(r);
  for (double t = 110; t <= 300; t += 10) {
    if (t < 145)
      look_up(r, t, KEY, NULL, 0);
    else
      look_up(r, t, KEY, IDS("ev-1"));
    plan(r, t);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  ck_assert_str_eq(key_of(r, KEY)->event_ids[0], "ev-1");
  recon_free(r);
}
END_TEST

/* An explicit rejection: nothing exists, the next cycle tries again. */
START_TEST(test_not_created_retried) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  look_up(r, 100, KEY, NULL, 0);
  plan(r, 100);
  ck_assert_uint_eq(count(r, REC_CREATE, KEY), 1);
  rec_create_done(key_of(r, KEY), &r->o, REC_NOT_CREATED, NULL, 100);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_NONE);
  page_at(r, KEY, 110, "req-2");
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_REQUESTED);
  look_up(r, 120, KEY, IDS("ev-1"));
  plan(r, 120);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  recon_free(r);
}
END_TEST

/* REC_NOT_CREATED only undoes a pending mark; it never forgets an event. */
START_TEST(test_not_created_keeps_active) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  rec_create_done(k, &r->o, REC_NOT_CREATED, NULL, 120);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  recon_free(r);
}
END_TEST

/* The key passes while its event is requested: it is terminated once it
 * shows up. */
START_TEST(test_pass_while_requested) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  page_at(r, KEY, 100, "req-1");
  observe(r, mkrun("us1", RS_RESULT_PASS, 105));
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  ck_assert_uint_eq(look_up(r, 110, KEY, NULL, 0), 1);
  plan(r, 110);
  ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_REQUESTED);
  look_up(r, 120, KEY, NULL, 0);
  plan(r, 120);
  ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
  look_up(r, 130, KEY, IDS("ev-1")); /* it shows up */
  plan(r, 130);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  ck_assert(plans_terminate(r, "ev-1"));
  rec_terminate_done(key_of(r, KEY), "ev-1", true);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(look_up(r, 140, KEY, NULL, 0), 0);
  plan(r, 140);
  ck_assert_uint_eq(r->last.n, 0);
  recon_free(r);
}
END_TEST

/* A terminate that is rejected is tried again on the next cycle. */
START_TEST(test_terminate_retried) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  observe(r, mkrun("us1", RS_RESULT_PASS, 190));
  look_up(r, 200, KEY, IDS("ev-1"));
  plan(r, 200);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  rec_terminate_done(k, "ev-1", false);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_uint_eq(look_up(r, 210, KEY, IDS("ev-1")), 1);
  plan(r, 210);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  rec_terminate_done(k, "ev-1", true);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  recon_free(r);
}
END_TEST

/* ---- reconciliation with what xMatters holds ---- */

/* A person terminated the event: forgotten at the next check, no second
 * page for the same failing run; a newer failing run pages again. */
START_TEST(test_person_terminates) {
  struct recon *r = recon_new();
  make_active(r); /* checked at 110 */
  ck_assert_uint_eq(look_up(r, 409, KEY, NULL, 0), 0);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  /* reconcile_interval (300 s) after 110; xMatters shows nothing now */
  ck_assert_uint_eq(look_up(r, 410, KEY, NULL, 0), 1);
  plan(r, 410);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(key_of(r, KEY)->n_events, 0);
  ck_assert_uint_eq(r->last.n, 0);
  for (int i = 0; i < 5; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
    ck_assert_uint_eq(look_up(r, 500 + 100 * i, KEY, NULL, 0), 0);
    plan(r, 500 + 100 * i);
    ck_assert_uint_eq(r->last.n, 0);
  }
  observe(r, mkrun("us1", RS_RESULT_FAIL, 1090));
  page_at(r, KEY, 1100, "req-2");
  recon_free(r);
}
END_TEST

/* reconcile_interval drives the lookups of active keys, and a lookup
 * adopts events the state did not know. */
START_TEST(test_reconcile_interval) {
  struct recon *r = recon_new();
  r->o.reconcile_interval = 100;
  make_active(r); /* checked at 110 */
  size_t lookups = 0;
  for (double t = 120; t <= 510; t += 10) {
    lookups += look_up(r, t, KEY, IDS("ev-1"));
    plan(r, t);
    ck_assert_uint_eq(r->last.n, 0);
  }
  ck_assert_uint_eq(lookups, 4); /* at 210, 310, 410 and 510 */
  /* xMatters now holds ext-1 too */
  ck_assert_uint_eq(look_up(r, 600, KEY, IDS("ev-1", "ext-1")), 0);
  ck_assert_uint_eq(key_of(r, KEY)->n_events, 1);
  ck_assert_uint_eq(look_up(r, 610, KEY, IDS("ev-1", "ext-1")), 1);
  ck_assert_uint_eq(key_of(r, KEY)->n_events, 2);
  observe(r, mkrun("us1", RS_RESULT_PASS, 615));
  look_up(r, 620, KEY, IDS("ev-1", "ext-1"));
  plan(r, 620);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 2);
  ck_assert(plans_terminate(r, "ext-1"));
  ck_assert(plans_terminate(r, "ev-1"));
  recon_free(r);
}
END_TEST

/* xMatters unreachable: no lookup is answered, and nothing is created or
 * terminated blind. */
START_TEST(test_xm_unreachable) {
  struct recon *r = recon_new();
  for (int i = 0; i < 5; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
    look_up(r, 100 + 10 * i, NULL, NULL, 0);
    plan(r, 100 + 10 * i);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  page_at(r, KEY, 200, "req-1");
  look_up(r, 210, KEY, IDS("ev-1"));
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_ACTIVE);
  observe(r, mkrun("us1", RS_RESULT_PASS, 290));
  for (double t = 300; t <= 310; t += 10) {
    look_up(r, t, NULL, NULL, 0);
    plan(r, t);
    ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
  }
  ck_assert_uint_eq(look_up(r, 320, KEY, IDS("ev-1")), 1);
  plan(r, 320);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  recon_free(r);
}
END_TEST

/* Only the keys that were looked up in this cycle get actions, even when
 * several keys need them. */
START_TEST(test_only_looked_up_keys) {
  struct recon *r = recon_new();
  observe(r, mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_FAIL, 100, "a"));
  observe(r, mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_FAIL, 100, "b"));
  /* Only the second key's answer comes back. */
  const struct answer only_b = {BUCKET "/tb/" ENV, NULL};
  ck_assert_uint_eq(look_up_many(r, 110, &only_b, 1), 2);
  plan(r, 110);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 1);
  ck_assert_uint_eq(count(r, REC_CREATE, BUCKET "/tb/" ENV), 1);
  recon_free(r);
}
END_TEST

/* rec_plan_lookups appends to what the caller already holds. */
START_TEST(test_plan_lookups_appends) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 100));
  size_t *idx = malloc(sizeof(*idx));
  ck_assert_ptr_nonnull(idx);
  idx[0] = 77;
  size_t n_idx = 1;
  ck_assert_int_eq(rec_plan_lookups(&r->st, &r->o, 110, &idx, &n_idx), 0);
  ck_assert_uint_eq(n_idx, 2);
  ck_assert_uint_eq(idx[0], 77);
  ck_assert_uint_eq(idx[1], 0);
  free(idx);
  recon_free(r);
}
END_TEST

/* ---- adopting listed events ---- */

/* An event the state did not know, on a passing key: terminated by the
 * next cycle. */
START_TEST(test_adopt_passing) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_PASS, 90));
  look_up(r, 100, NULL, NULL, 0);
  plan(r, 100);
  ck_assert_uint_eq(r->last.n, 0);
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ext-1"), 1);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ext-1");
  ck_assert_uint_eq(look_up(r, 110, KEY, IDS("ext-1")), 1);
  plan(r, 110);
  ck_assert_uint_eq(r->last.n, 1); /* never notified failing: no OKAY */
  ck_assert_int_eq(r->last.v[0].type, REC_TERMINATE);
  ck_assert_str_eq(r->last.v[0].event_id, "ext-1");
  recon_free(r);
}
END_TEST

/* An event adopted on a failing key covers the failure: nothing is
 * created, not for newer failing runs either while the event stays
 * active (each is confirmed by a lookup), nor when a person then
 * terminates it. */
START_TEST(test_adopt_failing) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ext-1"), 1);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_double_eq(k->alerted_through, 90);
  look_up(r, 100, KEY, IDS("ext-1"));
  plan(r, 100);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  size_t lookups = 0;
  for (int i = 0; i < 10; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 190 + 100 * i));
    lookups += look_up(r, 200 + 100 * i, KEY, IDS("ext-1"));
    plan(r, 200 + 100 * i);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
    ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
    ck_assert_double_eq(k->alerted_through, 190 + 100 * i);
  }
  ck_assert_uint_eq(lookups, 10); /* each new failing run: still active */
  ck_assert_uint_eq(look_up(r, 1400, KEY, NULL, 0), 1); /* terminated */
  plan(r, 1400);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_uint_eq(r->last.n, 0);
  recon_free(r);
}
END_TEST

/* An id the key knows is not new, whether adopted or looked up; and
 * adopting only adds (a listing never forgets an event). */
START_TEST(test_adopt_twice) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r); /* knows ev-1 from a lookup */
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ev-1"), 0);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ext-1"), 1);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ext-1"), 0);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ev-1"), 0);
  ck_assert_uint_eq(k->n_events, 2);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_str_eq(k->event_ids[1], "ext-1");
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  recon_free(r);
}
END_TEST

/* A key that holds REC_EVENTS_MAX events adopts no more; an id too long
 * to keep is not adopted either. */
START_TEST(test_adopt_full) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_PASS, 90));
  struct rec_key *k = key_of(r, KEY);
  char id[XM_ID_MAX + 1];
  memset(id, 'x', XM_ID_MAX);
  id[XM_ID_MAX] = '\0';
  ck_assert_int_eq(rec_adopt_event(k, &r->o, id), 0);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_uint_eq(k->n_events, 0);
  for (int i = 0; i < REC_EVENTS_MAX; i++) {
    snprintf(id, sizeof(id), "ext-%d", i);
    ck_assert_int_eq(rec_adopt_event(k, &r->o, id), 1);
  }
  ck_assert_uint_eq(k->n_events, REC_EVENTS_MAX);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "one-too-many"), 0);
  ck_assert_uint_eq(k->n_events, REC_EVENTS_MAX);
  for (int i = 0; i < REC_EVENTS_MAX; i++) {
    snprintf(id, sizeof(id), "ext-%d", i);
    ck_assert_str_eq(k->event_ids[i], id);
  }
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  recon_free(r);
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
  const struct adopt_requested_row *row = &adopt_requested_rows[_i];
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  look_up(r, 100, KEY, NULL, 0);
  plan(r, 100);
  ck_assert_uint_eq(count(r, REC_CREATE, KEY), 1);
  struct rec_key *k = key_of(r, KEY);
  rec_create_done(k, &r->o, row->outcome,
                  row->outcome == REC_CREATED ? "req-1" : NULL, 100);
  look_up(r, 110, KEY, NULL, 0); /* not showing yet */
  ck_assert_int_eq(k->ev, REC_EV_REQUESTED);
  ck_assert_str_eq(str_or_empty(k->request_id), row->request_id);
  ck_assert(k->request_confirmed == (row->outcome == REC_CREATED));
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ev-1"), 1); /* listed at 130 */
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_str_eq(str_or_empty(k->request_id), "");
  ck_assert(!k->request_confirmed);
  ck_assert_uint_eq(k->n_events, 1);
  ck_assert_str_eq(k->event_ids[0], "ev-1");
  ck_assert_double_eq(k->alerted_through, 90);
  for (double t = 140; t <= 200; t += 10) {
    ck_assert_uint_eq(look_up(r, t, KEY, IDS("ev-1")), 0);
    plan(r, t);
    ck_assert_uint_eq(r->last.n, 0);
  }
  observe(r, mkrun("us1", RS_RESULT_PASS, 240));
  look_up(r, 250, KEY, IDS("ev-1"));
  plan(r, 250);
  ck_assert_uint_eq(count(r, REC_TERMINATE, KEY), 1);
  ck_assert(plans_terminate(r, "ev-1"));
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  recon_free(r);
}
END_TEST

/* A failing run seen while the event is active, and confirmed so, is that
 * event's: when a person terminates the event after that, the run does not
 * page again; a still newer failing run pages, once. */
START_TEST(test_active_covers_failures) {
  struct recon *r = recon_new();
  make_active(r); /* failing at 90, checked at 110 */
  observe(r, mkrun("us1", RS_RESULT_FAIL, 190));
  ck_assert_uint_eq(look_up(r, 200, KEY, IDS("ev-1")), 1);
  plan(r, 200);
  ck_assert_uint_eq(r->last.n, 0);
  ck_assert_double_eq(key_of(r, KEY)->alerted_through, 190);
  /* a person terminated ev-1; reconcile_interval after the check at 200 */
  ck_assert_uint_eq(look_up(r, 410, KEY, NULL, 0), 0);
  ck_assert_uint_eq(look_up(r, 500, KEY, NULL, 0), 1);
  plan(r, 500);
  ck_assert_int_eq(key_of(r, KEY)->ev, REC_EV_NONE);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  for (int i = 0; i < 3; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 190));
    ck_assert_uint_eq(look_up(r, 520 + 10 * i, KEY, NULL, 0), 0);
    plan(r, 520 + 10 * i);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  observe(r, mkrun("us1", RS_RESULT_FAIL, 590));
  page_at(r, KEY, 600, "req-2");
  look_up(r, 610, KEY, IDS("ev-2"));
  plan(r, 610);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  recon_free(r);
}
END_TEST

/* ---- the order of actions ---- */

/* Where the first planned action of type for key is. */
static size_t plan_index(const struct recon *r, enum rec_action_type type,
                         const char *key) {
  for (size_t i = 0; i < r->last.n; i++)
    if (r->last.v[i].type == type &&
        strcmp(r->st.keys[r->last.v[i].key]->key, key) == 0)
      return i;
  ck_abort_msg("no action %d for %s", type, key);
  return 0;
}

#define KA BUCKET "/ta/" ENV
#define KB BUCKET "/tb/" ENV

/* Per key, the create or terminate comes before the notification (so a
 * FAILURE notification can name the request). */
START_TEST(test_events_before_notification) {
  struct recon *r = recon_new();
  observe(r, mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_FAIL, 90, "a1"));
  observe(r, mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_FAIL, 90, "b1"));
  const struct answer none[] = {{KA, NULL}, {KB, NULL}};
  ck_assert_uint_eq(look_up_many(r, 100, none, 2), 2);
  plan(r, 100);
  ck_assert_uint_eq(r->last.n, 4);
  ck_assert_uint_eq(plan_index(r, REC_CREATE, KA), 0);
  ck_assert_uint_eq(plan_index(r, REC_NOTIFY_FAILURE, KA), 1);
  ck_assert_uint_eq(plan_index(r, REC_CREATE, KB), 2);
  ck_assert_uint_eq(plan_index(r, REC_NOTIFY_FAILURE, KB), 3);
  rec_create_done(key_of(r, KA), &r->o, REC_CREATED, "req-a", 100);
  rec_create_done(key_of(r, KB), &r->o, REC_CREATED, "req-b", 100);
  const struct answer seen[] = {{KA, "ev-a"}, {KB, "ev-b"}};
  look_up_many(r, 110, seen, 2);
  ck_assert_int_eq(key_of(r, KA)->ev, REC_EV_ACTIVE);
  observe(r, mkrun_full(BUCKET, "ta", ENV, "us1", RS_RESULT_PASS, 190, "a2"));
  observe(r, mkrun_full(BUCKET, "tb", ENV, "us1", RS_RESULT_PASS, 190, "b2"));
  look_up_many(r, 200, seen, 2);
  plan(r, 200);
  ck_assert_uint_eq(r->last.n, 4);
  ck_assert_uint_eq(plan_index(r, REC_TERMINATE, KA), 0);
  ck_assert_uint_eq(plan_index(r, REC_NOTIFY_OKAY, KA), 1);
  ck_assert_uint_eq(plan_index(r, REC_TERMINATE, KB), 2);
  ck_assert_uint_eq(plan_index(r, REC_NOTIFY_OKAY, KB), 3);
  recon_free(r);
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

/* The cursor moves past a finished run with an odd result, and its key
 * gets no verdict. */
START_TEST(test_cursor_odd_result) {
  size_t n;
  struct rs_run *r = parse_odd(&n);
  ck_assert(rec_cursor_next(50, r, 1, 400, 3600) == 100);
  struct rec_state st;
  rec_state_init(&st);
  ck_assert_int_eq(rec_observe_run(&st, "b", &r[0]), 0);
  ck_assert_uint_eq(st.n_keys, 0);
  rec_state_fini(&st);
  free(r);
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

/* A hinted lookup finds what rec_cursor_find finds whatever the hint:
 * right, pointing at another cursor, past the end, or moved by a cursor
 * added in front; it leaves the hint at the cursor found, and untouched
 * when there is none. */
START_TEST(test_cursor_find_hinted) {
  struct rec_state st;
  rec_state_init(&st);
  size_t hint = 0;
  ck_assert_ptr_null(rec_cursor_find_hinted(&st, "b", "t5", &hint));
  ck_assert_uint_eq(hint, 0);
  const char *tests[] = {"t2", "t5", "t8"};
  for (size_t i = 0; i < 3; i++)
    ck_assert_int_eq(rec_cursor_set(&st, "b", tests[i], (double)i), 0);
  size_t hints[] = {0, 1, 2, 3, 1000, (size_t)-1};
  for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
    hint = hints[i];
    struct rec_cursor *c = rec_cursor_find_hinted(&st, "b", "t5", &hint);
    ck_assert_ptr_eq(c, rec_cursor_find(&st, "b", "t5"));
    ck_assert_uint_eq(hint, 1);
  }
  /* a cursor added in front moves t5 to 2: the old hint finds t2 there
   * and searches */
  ck_assert_int_eq(rec_cursor_set(&st, "a", "t0", 9), 0);
  struct rec_cursor *c = rec_cursor_find_hinted(&st, "b", "t5", &hint);
  ck_assert_ptr_nonnull(c);
  ck_assert_str_eq(c->test_id, "t5");
  ck_assert_double_eq(c->since, 1);
  ck_assert_uint_eq(hint, 2);
  /* the same test of another bucket is not it */
  ck_assert_ptr_null(rec_cursor_find_hinted(&st, "a", "t5", &hint));
  ck_assert_uint_eq(hint, 2);
  rec_state_fini(&st);
}
END_TEST

/* ---- thresholds, flap damping, maintenance windows (issue 15) ---- */

/* One cycle at now for KEY: looked up (xMatters holds event, or nothing
 * when NULL), then planned. */
static void cycle_at(struct recon *r, double now, const char *event) {
  const char *ids[] = {event};
  look_up(r, now, KEY, ids, event ? 1 : 0);
  plan(r, now);
}

/* FailureThreshold 2, one location: the first failure pages nobody and
 * announces nothing, the second in a row pages once. */
START_TEST(test_failure_threshold) {
  struct recon *r = recon_new();
  r->o.failure_threshold = 2;
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert_uint_eq(look_up(r, 100, KEY, NULL, 0), 0);
  plan(r, 100);
  ck_assert_uint_eq(r->last.n, 0);
  ck_assert_int_eq(rec_alert_verdict(key_of(r, KEY), &r->o), REC_UNKNOWN);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 190));
  ck_assert_int_eq(rec_alert_verdict(key_of(r, KEY), &r->o), REC_FAILING);
  page_at(r, KEY, 200, "req-1");
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  cycle_at(r, 300, "ev-1");
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  recon_free(r);
}
END_TEST

/* Fail, pass, fail in one location, and one failure in each of two:
 * nothing pages at FailureThreshold 2. */
START_TEST(test_failure_threshold_broken_streaks) {
  struct recon *r = recon_new();
  r->o.failure_threshold = 2;
  const enum rs_result seq[] = {RS_RESULT_FAIL, RS_RESULT_PASS, RS_RESULT_FAIL};
  for (int i = 0; i < 3; i++) {
    observe(r, mkrun("us1", seq[i], 90 + 100 * i));
    cycle_at(r, 100 + 100 * i, NULL);
    ck_assert_uint_eq(r->last.n, 0);
  }
  observe(r, mkrun("eu1", RS_RESULT_FAIL, 395));
  cycle_at(r, 400, NULL);
  ck_assert_uint_eq(r->last.n, 0);
  ck_assert_uint_eq(key_of(r, KEY)->locs[0].streak, 1);
  recon_free(r);
}
END_TEST

/* A run that is no verdict (unfinished, cancelled) neither counts nor
 * breaks a streak. */
START_TEST(test_threshold_no_verdict_run) {
  struct recon *r = recon_new();
  r->o.failure_threshold = 2;
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  struct rs_run odd = mkrun("us1", RS_RESULT_CANCELLED, 150);
  ck_assert_int_eq(rec_observe_run(&r->st, BUCKET, &odd), 0);
  cycle_at(r, 160, NULL);
  ck_assert_uint_eq(r->last.n, 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 190));
  page_at(r, KEY, 200, "req-1");
  recon_free(r);
}
END_TEST

/* RecoveryThreshold 2: one pass per region closes nothing and announces
 * nothing; two in a row in each close the event, with one OKAY. */
START_TEST(test_recovery_threshold) {
  struct recon *r = recon_new();
  r->o.recovery_threshold = 2;
  observe(r, mkrun("eu1", RS_RESULT_FAIL, 80));
  make_active(r);
  observe(r, mkrun("us1", RS_RESULT_PASS, 190));
  observe(r, mkrun("eu1", RS_RESULT_PASS, 190));
  ck_assert_int_eq(verdict_of(r, KEY), REC_PASSING);
  cycle_at(r, 200, "ev-1");
  ck_assert_uint_eq(r->last.n, 0);
  observe(r, mkrun("us1", RS_RESULT_PASS, 290));
  cycle_at(r, 300, "ev-1");
  ck_assert_uint_eq(r->last.n, 0); /* eu1 passed once only */
  observe(r, mkrun("eu1", RS_RESULT_PASS, 390));
  cycle_at(r, 400, "ev-1");
  ck_assert(plans_terminate(r, "ev-1"));
  ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, KEY), 1);
  recon_free(r);
}
END_TEST

/* A <Bucket> overrides the plugin's thresholds for its keys only. */
START_TEST(test_threshold_per_bucket) {
  struct recon *r = recon_new();
  const struct rec_bucket_opts b[] = {{BUCKET, 3, 0}, {"other", 1, 1}};
  r->o.failure_threshold = 1;
  r->o.buckets = b;
  r->o.n_buckets = 2;
  for (int i = 0; i < 2; i++) {
    observe(r, mkrun("us1", RS_RESULT_FAIL, 90 + 100 * i));
    cycle_at(r, 100 + 100 * i, NULL);
    ck_assert_uint_eq(r->last.n, 0);
  }
  observe(r, mkrun("us1", RS_RESULT_FAIL, 290));
  page_at(r, KEY, 300, "req-1");
  recon_free(r);
}
END_TEST

/* FlapDetection: an alternating key with an open event is seen flapping
 * (one FLAPPING notice), its event stays open however it alternates, and
 * a run of passes ends it (one FLAP_ENDED), then the normal rules close
 * the event. */
START_TEST(test_flapping_keeps_event) {
  struct recon *r = recon_new();
  r->o.flap_detection = true;
  make_active(r);
  size_t flapping = 0, terminates = 0;
  double t = 200;
  for (int i = 0; i < 21; i++, t += 100) {
    observe(r, mkrun("us1", i % 2 ? RS_RESULT_FAIL : RS_RESULT_PASS, t - 10));
    cycle_at(r, t, "ev-1");
    flapping += count(r, REC_NOTIFY_FLAPPING, KEY);
    terminates += count(r, REC_TERMINATE, NULL);
    ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  }
  ck_assert_uint_eq(flapping, 1);
  ck_assert(rec_flapping(key_of(r, KEY), &r->o));
  ck_assert_uint_le(terminates, 5); /* before it was seen flapping */
  size_t ended = 0;
  for (int i = 0; i < 21 && ended == 0; i++, t += 100) {
    observe(r, mkrun("us1", RS_RESULT_PASS, t - 10));
    cycle_at(r, t, "ev-1");
    ended += count(r, REC_NOTIFY_FLAP_ENDED, KEY);
    if (ended == 0)
      ck_assert_uint_eq(count(r, REC_TERMINATE, NULL), 0);
  }
  ck_assert_uint_eq(ended, 1);
  ck_assert(plans_terminate(r, "ev-1"));
  recon_free(r);
}
END_TEST

/* A key that starts flapping with no open event gets one event (once),
 * which flap_paged remembers; without FlapDetection it is not flapping. */
START_TEST(test_flapping_creates_once) {
  struct recon *r = recon_new();
  r->o.flap_detection = true;
  size_t creates = 0;
  double t = 100;
  for (int i = 0; i < 30; i++, t += 100) {
    observe(r, mkrun("us1", i % 2 ? RS_RESULT_FAIL : RS_RESULT_PASS, t - 10));
    cycle_at(r, t, NULL);
    size_t c = count(r, REC_CREATE, KEY);
    if (c > 0)
      rec_create_done(key_of(r, KEY), &r->o, REC_CREATED, "req", t);
    creates += rec_flapping(key_of(r, KEY), &r->o) ? c : 0;
    /* a person closes it at once: it is not created again */
    struct rec_key *k = key_of(r, KEY);
    k->ev = REC_EV_NONE;
  }
  ck_assert_uint_eq(creates, 1);
  ck_assert(key_of(r, KEY)->flap_paged);
  r->o.flap_detection = false;
  ck_assert(!rec_flapping(key_of(r, KEY), &r->o));
  recon_free(r);
}
END_TEST

/* Inside a maintenance window a failure pages nobody and announces
 * nothing; when the window ends, a key still failing pages once. */
START_TEST(test_maintenance_failure_pages_at_end) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  rec_set_maintenance(key_of(r, KEY), "deploy", 95);
  ck_assert_uint_eq(look_up(r, 100, KEY, NULL, 0), 0);
  plan(r, 100);
  ck_assert_uint_eq(r->last.n, 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 190));
  cycle_at(r, 200, NULL);
  ck_assert_uint_eq(r->last.n, 0);
  rec_set_maintenance(key_of(r, KEY), NULL, 250);
  struct rec_key *k = key_of(r, KEY);
  ck_assert_str_eq(str_or_empty(k->last_maintenance), "deploy");
  ck_assert_double_eq(k->maintenance_ended, 250);
  ck_assert_double_eq(k->maintenance_started, 95);
  ck_assert_double_eq(k->failing_since, 90);
  page_at(r, KEY, 300, "req-1");
  ck_assert_uint_eq(count(r, REC_NOTIFY_FAILURE, KEY), 1);
  cycle_at(r, 400, "ev-1");
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  recon_free(r);
}
END_TEST

/* A pass inside a window still terminates an open event (with its OKAY);
 * a failure that recovered inside the window pages nobody after it. */
START_TEST(test_maintenance_recoveries) {
  struct recon *r = recon_new();
  make_active(r);
  rec_set_maintenance(key_of(r, KEY), "deploy", 150);
  observe(r, mkrun("us1", RS_RESULT_PASS, 190));
  cycle_at(r, 200, "ev-1");
  ck_assert(plans_terminate(r, "ev-1"));
  ck_assert_uint_eq(count(r, REC_NOTIFY_OKAY, KEY), 1);
  rec_terminate_done(key_of(r, KEY), "ev-1", true);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 290));
  cycle_at(r, 300, NULL);
  ck_assert_uint_eq(r->last.n, 0);
  observe(r, mkrun("us1", RS_RESULT_PASS, 390));
  cycle_at(r, 400, NULL);
  rec_set_maintenance(key_of(r, KEY), "", 450);
  cycle_at(r, 500, NULL);
  ck_assert_uint_eq(r->last.n, 0);
  ck_assert_double_eq(key_of(r, KEY)->failing_since, 0);
  recon_free(r);
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

/* ---- confirming an open event before a new failure is its (issue 14) ---- */

/* A new failing run of a key whose event is active is asked about (a
 * confirmation, not a search); a person terminated the event: the run
 * pages in that same cycle, not at the next reconciliation. */
START_TEST(test_confirm_terminated_pages) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r); /* failing at 90, checked at 110 */
  ck_assert(!rec_lookup_confirms(k, &r->o, 120)); /* nothing new */
  ck_assert_uint_eq(look_up(r, 120, KEY, NULL, 0), 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 130));
  ck_assert(rec_lookup_confirms(k, &r->o, 140));
  ck_assert_uint_eq(look_up(r, 140, KEY, NULL, 0), 1); /* ev-1 is over */
  plan(r, 140);
  ck_assert_uint_eq(count(r, REC_CREATE, KEY), 1);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  recon_free(r);
}
END_TEST

/* Still open: the run is the event's, and is not asked about again; the
 * next failing run is (once). */
START_TEST(test_confirm_still_open) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 130));
  ck_assert_uint_eq(look_up(r, 140, KEY, IDS("ev-1")), 1);
  plan(r, 140);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_double_eq(k->alerted_through, 130);
  ck_assert(!rec_lookup_confirms(k, &r->o, 150));
  ck_assert_uint_eq(look_up(r, 150, KEY, IDS("ev-1")), 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 155));
  ck_assert_uint_eq(look_up(r, 160, KEY, IDS("ev-1")), 1);
  ck_assert_uint_eq(look_up(r, 170, KEY, IDS("ev-1")), 0);
  recon_free(r);
}
END_TEST

/* A confirmation that xMatters did not answer keeps today's rule: the
 * event is taken as open, the run as its, and nothing pages. */
START_TEST(test_confirm_failed_assumes_open) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 130));
  size_t *which = NULL, n = 0;
  ck_assert_int_eq(rec_plan_lookups(&r->st, &r->o, 140, &which, &n), 0);
  ck_assert_uint_eq(n, 1);
  free(which);
  rec_confirm_failed(k, &r->o);
  ck_assert(!k->looked_up);
  plan(r, 140);
  ck_assert_uint_eq(count(r, REC_CREATE, NULL), 0);
  ck_assert_int_eq(k->ev, REC_EV_ACTIVE);
  ck_assert_double_eq(k->alerted_through, 130);
  ck_assert_double_eq(k->checked_at, 110);
  ck_assert_uint_eq(look_up(r, 150, KEY, IDS("ev-1")), 0);
  recon_free(r);
}
END_TEST

/* A pass, or a reconciliation due, is a search of the key's events, not
 * a confirmation; so is a key without a known event. */
START_TEST(test_confirm_only_new_failures) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 130));
  ck_assert(rec_lookup_confirms(k, &r->o, 140));
  ck_assert(!rec_lookup_confirms(k, &r->o, 110 + r->o.reconcile_interval));
  observe(r, mkrun("us1", RS_RESULT_PASS, 135));
  ck_assert(!rec_lookup_confirms(k, &r->o, 140));
  struct recon *r2 = recon_new();
  observe(r2, mkrun("us1", RS_RESULT_FAIL, 90));
  ck_assert(!rec_lookup_confirms(key_of(r2, KEY), &r2->o, 100));
  recon_free(r2);
  recon_free(r);
}
END_TEST

/* ---- since when a key's event is open (runscopectl status) ---- */

/* Requested at 100: open since 100, when it is seen (110) and later
 * (200); terminated: no time. A create refused leaves none. */
START_TEST(test_event_since_requested) {
  struct recon *r = recon_new();
  struct rec_key *k = make_active(r);
  ck_assert_double_eq(k->event_since, 100);
  look_up(r, 200, KEY, IDS("ev-1"));
  plan(r, 200);
  ck_assert_double_eq(k->event_since, 100);
  rec_terminate_done(k, "ev-1", true);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_double_eq(k->event_since, 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 290));
  look_up(r, 300, KEY, NULL, 0);
  plan(r, 300);
  rec_create_done(k, &r->o, REC_MAYBE_SENT, NULL, 300);
  ck_assert_double_eq(k->event_since, 300);
  rec_create_done(k, &r->o, REC_NOT_CREATED, NULL, 301);
  ck_assert_double_eq(k->event_since, 0);
  recon_free(r);
}
END_TEST

/* An event the plugin did not request is open since it first saw it:
 * adopted from a list (the next plan, at 100), or found by a lookup
 * (450); a person terminating it clears the time. A requested event of a
 * state written without the field is open since its request. */
START_TEST(test_event_since_adopted) {
  struct recon *r = recon_new();
  observe(r, mkrun("us1", RS_RESULT_FAIL, 90));
  struct rec_key *k = key_of(r, KEY);
  ck_assert_int_eq(rec_adopt_event(k, &r->o, "ext-1"), 1);
  plan(r, 100);
  ck_assert_double_eq(k->event_since, 100);
  /* due for reconciliation: a person terminated it */
  ck_assert_uint_eq(look_up(r, 400, KEY, NULL, 0), 1);
  ck_assert_double_eq(k->event_since, 0);
  observe(r, mkrun("us1", RS_RESULT_FAIL, 440));
  ck_assert_uint_eq(look_up(r, 450, KEY, IDS("ext-2")), 1);
  ck_assert_double_eq(k->event_since, 450);
  ck_assert_uint_eq(look_up(r, 800, KEY, IDS("ext-2")), 1);
  ck_assert_double_eq(k->event_since, 450);
  k->ev = REC_EV_REQUESTED; /* as an older state file holds it */
  k->requested_at = 855;
  k->event_since = 0;
  plan(r, 870);
  ck_assert_double_eq(k->event_since, 855);
  recon_free(r);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("reconcile");
  add(s, "event_since_requested", test_event_since_requested, 0);
  add(s, "event_since_adopted", test_event_since_adopted, 0);
  add(s, "make_key", test_make_key, N_ROWS(key_rows));
  add(s, "key_get_too_long", test_key_get_too_long, 0);
  add(s, "key_range_holds_the_bucket", test_key_range_holds_the_bucket, 0);
  /* Generous for valgrind (make memcheck), which runs it ~50x slower. */
  tcase_set_timeout(add(s, "many_keys", test_many_keys, 0), 60);
  add(s, "repeated_observation", test_repeated_observation, 0);
  add(s, "out_of_order", test_out_of_order, 0);
  add(s, "equal_start_locations", test_equal_start_locations, 0);
  add(s, "equal_start_same_location", test_equal_start_same_location, 0);
  add(s, "not_a_verdict", test_not_a_verdict, N_ROWS(non_verdicts));
  add(s, "cursor_odd_result", test_cursor_odd_result, 0);
  add(s, "observed_fields", test_observed_fields, 0);
  add(s, "environment_name", test_environment_name, 0);
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
  add(s, "cursor_find_hinted", test_cursor_find_hinted, 0);
  add(s, "failure_threshold", test_failure_threshold, 0);
  add(s, "failure_threshold_broken_streaks",
      test_failure_threshold_broken_streaks, 0);
  add(s, "threshold_no_verdict_run", test_threshold_no_verdict_run, 0);
  add(s, "recovery_threshold", test_recovery_threshold, 0);
  add(s, "threshold_per_bucket", test_threshold_per_bucket, 0);
  add(s, "flapping_keeps_event", test_flapping_keeps_event, 0);
  add(s, "flapping_creates_once", test_flapping_creates_once, 0);
  add(s, "maintenance_failure_pages_at_end",
      test_maintenance_failure_pages_at_end, 0);
  add(s, "maintenance_recoveries", test_maintenance_recoveries, 0);
  add(s, "confirm_terminated_pages", test_confirm_terminated_pages, 0);
  add(s, "confirm_still_open", test_confirm_still_open, 0);
  add(s, "confirm_failed_assumes_open", test_confirm_failed_assumes_open, 0);
  add(s, "confirm_only_new_failures", test_confirm_only_new_failures, 0);
  return s;
}
