/* SPDX-License-Identifier: MIT */
/* The stage that reads results: new runs of the tests that may have some.
 *
 * Many at a time, in the order the due logic gives (due.h), with the
 * details of new or stale tests; forward mode's runs go to its queue. */
#include "engine/read_results.h"

#include "core/due.h"
#include "core/report.h"
#include "engine/detail.h"
#include "engine/key_view.h"
#include "util/array.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schedules of one test that the due logic looks at; more are ignored. */
#define SCHEDULES_MAX 32

/* ---- which tests to read ---- */

/* A test due in this cycle. */
struct due_item {
  struct cat_bucket *b;
  struct cat_test *t;
  enum due_reason why;
  double since; /* the results' since */
};

/* The start of the newest run of key bk/id/env the state knows, or 0. */
static double env_last_start(struct engine *e, const char *bk, const char *id,
                             const char *env) {
  char key[REC_KEY_MAX];
  if (rec_make_key(key, sizeof(key), bk, id, env) != 0)
    return 0;
  const struct rec_key *k = rec_key_find(&e->state, key);
  double newest = 0;
  for (size_t i = 0; k != NULL && i < k->n_locs; i++)
    if (k->locs[i].started_at > newest)
      newest = k->locs[i].started_at;
  return newest;
}

/* The schedules of t's selected environments, for the due logic. */
static size_t test_schedules(struct engine *e, const struct cat_bucket *b,
                             const struct cat_test *t,
                             struct due_schedule *out) {
  size_t n = 0;
  for (size_t i = 0; i < t->detail.n_schedules && n < SCHEDULES_MAX; i++) {
    const struct rs_schedule *s = &t->detail.schedules[i];
    if (!cat_env_selected(b, s->environment_id,
                          cat_env_name(t, s->environment_id)))
      continue;
    out[n].interval = s->interval;
    out[n].last_start =
        env_last_start(e, b->info.key, t->detail.id, s->environment_id);
    n++;
  }
  return n;
}

/* Forward mode: are runs of the test held back (a post that did not go, or
 * whose outcome is unknown)? */
static bool forward_held(struct engine *e, const struct cat_bucket *b,
                         const struct cat_test *t, double cursor) {
  if (e->cfg->xmatters.mode != CFG_MODE_FORWARD)
    return false;
  struct fwd_test *ft = fwd_test_find(&e->state.fwd, b->info.key, t->detail.id);
  if (ft == NULL)
    return false;
  if (ft->sending[0] != '\0')
    return true;
  return ft->through < (t->due.known ? t->fwd_newest : cursor);
}

/* Fills in with what this cycle knows of t (sched: room for
 * SCHEDULES_MAX). */
static void due_input_of(struct engine *e, const struct cat_bucket *b,
                         struct cat_test *t, struct due_schedule *sched,
                         struct due_input *in) {
  const struct rec_cursor *cur = rec_cursor_find_hinted(
      &e->state, b->info.key, t->detail.id, &t->cursor_hint);
  memset(in, 0, sizeof(*in));
  in->listed = t->list.listed;
  in->last_run_known = t->list.last_run_known;
  in->last_run = t->list.last_run;
  in->last_run_at = t->list.last_run_at;
  in->cursor = cur ? cur->since : 0;
  in->cursor_run = cur ? cur->last_run : 0;
  in->held = forward_held(e, b, t, in->cursor);
  if (!in->listed || !in->last_run_known) {
    in->schedules = sched;
    in->n_schedules = test_schedules(e, b, t, sched);
  }
}

static struct due_opts due_opts_of(const struct engine *e) {
  struct due_opts o = {e->cfg->max_result_age, e->cfg->max_catch_up,
                       e->cfg->interval};
  return o;
}

static int cmp_due(const void *a, const void *b) {
  const struct due_item *x = a, *y = b;
  if (due_before(x->why, x->t->due.read_at, y->why, y->t->due.read_at))
    return -1;
  if (due_before(y->why, y->t->due.read_at, x->why, x->t->due.read_at))
    return 1;
  return 0;
}

/* Whether watching t needs its detail (cat_detail_needed): forward mode
 * always does. */
static bool detail_needed(const struct engine *e, const struct cat_test *t) {
  return cat_detail_needed(t, e->cfg->xmatters.mode == CFG_MODE_FORWARD);
}

/* The tests whose results this cycle reads, in order (*ret: caller frees).
 * A test whose detail is needed and not read yet waits for it (it counts
 * as deferred). First
 * sightings found current are remembered as read. Returns the count, or
 * -1 when memory runs out. */
static long collect_due(struct engine *e, double now, struct due_item **ret,
                        size_t *deferred) {
  size_t n = 0, cap = 0;
  struct due_item *v = NULL;
  struct due_opts o = due_opts_of(e);
  struct due_schedule sched[SCHEDULES_MAX];
  for (size_t i = 0; i < e->cat.n_buckets; i++) {
    struct cat_bucket *b = &e->cat.buckets[i];
    for (size_t j = 0; j < b->n_tests; j++) {
      struct cat_test *t = &b->tests[j];
      struct due_input in;
      due_input_of(e, b, t, sched, &in);
      enum due_reason why = due_check(&t->due, &in, &o, now);
      if (why == DUE_NO && !t->due.known)
        due_skip(&t->due, &in, now);
      bool waits = t->detail_at <= 0 && detail_needed(e, t);
      if (why != DUE_NO && waits)
        (*deferred)++; /* waits for its detail */
      if (why == DUE_NO || waits)
        continue;
      if (array_reserve(&v, &cap, n, sizeof(*v), 64) != 0) {
        free(v);
        return -1;
      }
      v[n++] = (struct due_item){b, t, why, in.cursor};
    }
  }
  if (n > 1)
    qsort(v, n, sizeof(*v), cmp_due);
  *ret = v;
  return (long)n;
}

/* ---- reading results ---- */

static bool run_selected(struct engine *e, const struct cat_bucket *b,
                         const struct cat_test *t, const struct rs_run *r) {
  const char *name =
      r->environment_name[0]
          ? r->environment_name
          : key_view_env_name_of(e, b->info.key, t, r->environment_id);
  return cat_env_selected(b, r->environment_id, name);
}

/* After a long downtime a test may have more runs since its cursor than one
 * read takes: the newest RS_RESULTS_MAX are read and the cursor moves past
 * the others. Only the latest run of each location is a verdict, so that
 * loses nothing for a location that ran again since; a location with no run
 * among them (a rarely scheduled environment beside a frequent one) keeps
 * its older verdict until it runs again. Said in the log. */
static void note_cut(struct engine *e, const char *bk, const struct cat_test *t,
                     size_t n, double since) {
  if (n < RS_RESULTS_MAX)
    return;
  say_log(&e->say, ENGINE_LOG_NOTICE,
          "Read the newest %d runs of test \"%s\" (%s/%s) since %.0f; older "
          "ones are skipped: only the latest run of each location is a "
          "verdict.",
          RS_RESULTS_MAX, t->detail.name, bk, t->detail.id, since);
}

/* The results outside pass and fail already logged, once each per process
 * (a handful is expected); more values than that are logged rate-limited. */
#define ODD_RESULTS_MAX 16
static char odd_seen[ODD_RESULTS_MAX]
                    [sizeof(((struct rs_run *)0)->result_text)];
static size_t n_odd_seen;
static struct complaint odd_more;

/* Says once per value that a run finished with a result Runscope does not
 * document, and what is done with it. */
static void note_odd(struct engine *e, const char *bk, const struct cat_test *t,
                     const struct rs_run *run, double now) {
  if (run->result != RS_RESULT_OTHER)
    return;
  for (size_t i = 0; i < n_odd_seen; i++)
    if (strcmp(odd_seen[i], run->result_text) == 0)
      return;
  if (n_odd_seen < ODD_RESULTS_MAX)
    str_copy(odd_seen[n_odd_seen++], sizeof(odd_seen[0]), run->result_text);
  else if (!say_complaint_due(&odd_more, now))
    return;
  say_log(&e->say, ENGINE_LOG_WARNING,
          "Run %s of test \"%s\" (%s/%s) finished with result \"%s\", "
          "neither pass nor fail: taken as final without a verdict (it "
          "neither pages nor closes). Said once per result value.",
          run->test_run_id, t->detail.name, bk, t->detail.id, run->result_text);
}

/* ---- tests that cannot be read ---- */

/* A notification about one test, for each of its keys. */
struct test_note {
  struct engine *e;
  enum engine_severity sev;
  char msg[REPORT_MESSAGE_MAX]; /* cut to collectd's notification message */
  char instance[REPORT_NAME_MAX];
  struct engine_meta meta[3]; /* runscope_key (when known), test_id, name */
};

/* Sends n with the identifiers of a key's bool value (name) and the key
 * ("": none known). */
static void test_note_send(struct test_note *n, const char *key,
                           const char *name) {
  struct say_about about = {n->instance, "bool", name};
  n->meta[0].value = key;
  say_notify(&n->e->say, n->sev, &about, n->msg, key[0] ? n->meta : n->meta + 1,
             key[0] ? 3 : 2);
}

/* Sends n on each key of test t (of bucket b) that the state knows.
 * Returns how many. */
static size_t note_state_keys(struct test_note *n, const struct cat_bucket *b,
                              const struct cat_test *t) {
  struct key_view_names bn;
  size_t sent = 0;
  if (key_view_names_init(n->e, b->info.key, &bn) != 0)
    return 0;
  for (size_t i = 0; i < bn.n; i++) {
    const struct rec_key *k = n->e->state.keys[bn.idx[i]];
    if (strcmp(k->test_id, t->detail.id) != 0 || bn.name[i][0] == '\0')
      continue;
    test_note_send(n, k->key, bn.name[i]);
    sent++;
  }
  key_view_names_fini(&bn);
  return sent;
}

/* Sends n on the keys of the selected environments t's detail names (a
 * test never read yet). Returns how many. */
static size_t note_detail_keys(struct test_note *n, const struct cat_bucket *b,
                               const struct cat_test *t) {
  size_t sent = 0;
  for (size_t i = 0; i < t->detail.n_environments; i++) {
    const struct rs_environment *env = &t->detail.environments[i];
    char key[REC_KEY_MAX], name[REPORT_KEY_NAME_MAX];
    struct report_key rk = {t->detail.name, env->name, t->detail.id, env->id};
    if (!cat_env_selected(b, env->id, env->name) ||
        rec_make_key(key, sizeof(key), b->info.key, t->detail.id, env->id) !=
            0 ||
        report_key_names(&rk, 1, &name) != 0)
      continue;
    test_note_send(n, key, name);
    sent++;
  }
  return sent;
}

/* Sends notification sev with msg on each key of test t (of bucket b): the
 * ones the state knows, else the ones its detail names, with the
 * identifiers of the key's bool value; a test without either gets it on
 * its sanitized name. */
static void notify_test(struct engine *e, const struct cat_bucket *b,
                        const struct cat_test *t, enum engine_severity sev,
                        const char *msg) {
  struct test_note n = {e,
                        sev,
                        "",
                        "",
                        {{"runscope_key", ""},
                         {"test_id", t->detail.id},
                         {"test_name", t->detail.name}}};
  str_copy(n.msg, sizeof(n.msg), msg);
  str_utf8_trim(n.msg);
  report_bucket_instance(b->info.key, n.instance);
  if (note_state_keys(&n, b, t) > 0 || note_detail_keys(&n, b, t) > 0)
    return;
  char name[REPORT_KEY_NAME_MAX];
  report_sanitize(t->detail.name[0] ? t->detail.name : t->detail.id, name,
                  sizeof(name));
  test_note_send(&n, "", name);
}

/* A read of test t (its detail, or its results) failed with err for the
 * test alone: counted, logged with growing gaps per test, asked again in
 * the next cycle, and a WARNING on the test's keys once it has been
 * unreadable for OutageThreshold. */
static void test_unreadable(struct engine *e, const struct cat_bucket *b,
                            struct cat_test *t, bool detail,
                            const struct err *err, double now) {
  struct cat_unreadable *u = &t->unreadable;
  health_item_failed(&e->health, &e->health.rs);
  *(detail ? &u->detail : &u->results) = true;
  if (u->since <= 0)
    u->since = now;
  if (say_gap_due(&u->log_next_at, &u->log_gap, now))
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Test \"%s\" (%s/%s) cannot be read: %s. Only this test waits "
            "(asked again next cycle); the others are read as usual.",
            t->detail.name, b->info.key, t->detail.id, err->msg);
  if (u->warned || now - u->since < e->cfg->outage_threshold)
    return;
  /* a test never read: its detail names the keys the WARNING is on */
  if (t->detail.n_environments == 0 && !detail)
    (void)detail_ensure(e, b->info.key, t->detail.id, now);
  char msg[ERR_MSG_MAX + RS_NAME_MAX + 64];
  snprintf(msg, sizeof(msg),
           "Runscope test \"%s\" has been unreadable for %.0f s: %s",
           t->detail.name, now - u->since, err->msg);
  notify_test(e, b, t, ENGINE_WARNING, msg);
  u->warned = true;
}

/* A read of test t (its detail, or its results) succeeded: once neither
 * fails any more the test is readable again (a log line after the
 * complaint, an OKAY after the WARNING). */
static void test_readable(struct engine *e, const struct cat_bucket *b,
                          struct cat_test *t, bool detail) {
  struct cat_unreadable *u = &t->unreadable;
  *(detail ? &u->detail : &u->results) = false;
  if (u->results || u->detail || u->since <= 0)
    return;
  if (u->log_gap > 0)
    say_log(&e->say, ENGINE_LOG_NOTICE, "Test \"%s\" (%s/%s) is read again.",
            t->detail.name, b->info.key, t->detail.id);
  if (u->warned) {
    char msg[RS_NAME_MAX + 64];
    snprintf(msg, sizeof(msg), "Runscope test \"%s\" can be read again.",
             t->detail.name);
    notify_test(e, b, t, ENGINE_OKAY, msg);
  }
  memset(u, 0, sizeof(*u));
}

/* This cycle's reads of results. */
struct reads {
  struct engine *e;
  double now;
  struct run_queue *fwd; /* forward mode: the runs to post */
  struct due_item *items;
  struct rs_test_ref *refs;
  bool *done; /* the item was reported */
};

/* Feeds the new runs of one test to the reconciler (and forward mode), and
 * moves its cursor and its due memory. */
static void apply_runs(struct reads *r, size_t i, const struct rs_run *runs,
                       size_t n) {
  struct engine *e = r->e;
  struct due_item *it = &r->items[i];
  const char *bk = it->b->info.key, *id = it->t->detail.id;
  bool forward = e->cfg->xmatters.mode == CFG_MODE_FORWARD;
  double since = r->refs[i].since;
  /* forward mode: the runs of a test wait while xMatters is out, and
   * after the first that must wait */
  bool held = !forward || !health_xm_usable(&e->health);
  for (size_t k = 0; k < n; k++) {
    struct rs_run run = runs[k];
    if (!run_selected(e, it->b, it->t, &run))
      continue;
    /* The results list names the test; make sure the key uses ours. */
    str_copy(run.test_id, sizeof(run.test_id), id);
    rec_observe_run(&e->state, bk, &run);
    /* a name neither the detail nor the key (a verdict run's) holds */
    if (run.environment_name[0] != '\0' &&
        key_view_env_name_of(e, bk, it->t, run.environment_id) == NULL &&
        cat_note_env(it->t, run.environment_id, run.environment_name) != 0)
      say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for an environment.");
    note_odd(e, bk, it->t, &run, r->now);
    if (run.result != RS_RESULT_UNFINISHED &&
        run.started_at > it->t->fwd_newest)
      it->t->fwd_newest = run.started_at;
    if (!held)
      held = run_queue_offer(r->fwd, e, it->b, it->t, &run, r->now);
  }
  note_cut(e, bk, it->t, n, since);
  double next =
      rec_cursor_next(since, runs, n, r->now, e->cfg->max_run_duration);
  struct rec_cursor *cur = rec_cursor_find(&e->state, bk, id);
  if (cur == NULL || next != cur->since)
    rec_cursor_set(&e->state, bk, id, next);
  /* the read covered the last_run this cycle's list showed */
  const struct cat_listing *l = &it->t->list;
  struct due_input in = {.listed = l->listed,
                         .last_run_known = l->last_run_known,
                         .last_run = l->last_run,
                         .last_run_at = l->last_run_at};
  bool pending = due_pending(runs, n, r->now, e->cfg->max_run_duration);
  due_read(&it->t->due, &in, pending, r->now);
  cur = rec_cursor_find(&e->state, bk, id);
  if (cur != NULL) /* a restart need not read it again (due.h) */
    cur->last_run = pending || !l->listed ? 0 : l->last_run;
}

static bool on_runs(void *ctx, size_t i, int rc, const struct rs_run *runs,
                    size_t n, const struct err *err) {
  struct reads *r = ctx;
  struct engine *e = r->e;
  struct due_item *it = &r->items[i];
  r->done[i] = true;
  if (rc != 0 && !health_api_wide(rc)) { /* this test's alone */
    test_unreadable(e, it->b, it->t, false, err, r->now);
    return true;
  }
  if (rc != 0) /* an outage stops the reads: the next cycle retries */
    return !health_failed(&e->health, &e->health.rs, rc, err, r->now);
  health_up(&e->health.rs);
  health_polled(&e->health, r->now);
  test_readable(e, it->b, it->t, false);
  apply_runs(r, i, runs, n);
  return true;
}

/* Reads the results of items[0..n) in their order until the deadline. */
static void read_items(struct engine *e, double now, double deadline,
                       struct due_item *items, size_t n,
                       struct results_read *out) {
  struct reads r = {e,
                    now,
                    &out->fwd,
                    items,
                    calloc(n + 1, sizeof(*r.refs)),
                    calloc(n + 1, sizeof(*r.done))};
  if (r.refs == NULL || r.done == NULL) {
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the results reads.");
    goto out;
  }
  bool forward = e->cfg->xmatters.mode == CFG_MODE_FORWARD;
  for (size_t i = 0; i < n; i++) {
    const char *bk = items[i].b->info.key, *id = items[i].t->detail.id;
    double since =
        items[i].since > 0 ? items[i].since : now - e->cfg->max_catch_up;
    if (forward) /* from the oldest run not yet forwarded */
      since = run_queue_since(e, bk, id, since);
    r.refs[i] = (struct rs_test_ref){bk, id, since};
  }
  if (rs_list_many_results(e->rs, r.refs, n, deadline, on_runs, &r) != 0)
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the results reads.");
  for (size_t i = 0; i < n; i++)
    out->deferred += !r.done[i];
out:
  free(r.refs);
  free(r.done);
}

/* ---- details ---- */

struct details {
  struct engine *e;
  double now;
  struct cat_test **tests;
  struct cat_bucket **buckets; /* each test's */
};

static bool on_detail(void *ctx, size_t i, int rc, struct rs_test_detail *d,
                      const struct err *err) {
  struct details *x = ctx;
  struct engine *e = x->e;
  struct cat_test *t = x->tests[i];
  if (rc == 0) {
    health_up(&e->health.rs);
    cat_set_detail(t, d, x->now);
    test_readable(e, x->buckets[i], t, true);
    return true;
  }
  /* A test the API does not show (any more) or shows wrongly keeps what it
   * had (a new one is read by its list's name), and is asked again in the
   * next cycle. */
  if (rc == -EACCES || !health_api_wide(rc)) {
    if (t->detail_at <= 0)
      t->detail_at = x->now;
    test_unreadable(e, x->buckets[i], t, true, err, x->now);
    return true;
  }
  return !health_failed(&e->health, &e->health.rs, rc, err, x->now);
}

/* Reads the details that watching needs (detail_needed) of new tests
 * (fresh: never answered) or of those older than DiscoveryInterval, until
 * the deadline. */
static void read_details(struct engine *e, double now, double deadline,
                         bool fresh) {
  size_t n = 0, total = 0;
  for (size_t i = 0; i < e->cat.n_buckets; i++)
    total += e->cat.buckets[i].n_tests;
  struct details x = {e, now, calloc(total + 1, sizeof(*x.tests)),
                      calloc(total + 1, sizeof(*x.buckets))};
  struct rs_test_ref *refs = calloc(total + 1, sizeof(*refs));
  if (x.tests == NULL || x.buckets == NULL || refs == NULL) {
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the test details.");
    goto out;
  }
  for (size_t i = 0; i < e->cat.n_buckets; i++) {
    struct cat_bucket *b = &e->cat.buckets[i];
    for (size_t j = 0; j < b->n_tests; j++) {
      struct cat_test *t = &b->tests[j];
      bool due = fresh ? t->detail_at <= 0
                       : cat_detail_due(t, now, e->cfg->discovery_interval);
      if (!due || !detail_needed(e, t))
        continue;
      x.tests[n] = t;
      x.buckets[n] = b;
      refs[n++] = (struct rs_test_ref){b->info.key, t->detail.id, 0};
    }
  }
  if (n > 0 && rs_get_many_tests(e->rs, refs, n, deadline, on_detail, &x) != 0)
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the test details.");
out:
  free(x.tests);
  free(x.buckets);
  free(refs);
}

/* True while Runscope may be asked more in this cycle. */
static bool may_read(struct engine *e, double now) {
  return !health_waiting(&e->health.rs, now);
}

void read_results(struct engine *e, double now, double deadline,
                  struct results_read *out) {
  struct due_item *items = NULL;
  out->read = true;
  read_details(e, now, deadline, true); /* new tests: their names first */
  if (!may_read(e, now))
    return;
  long n = collect_due(e, now, &items, &out->deferred);
  if (n < 0) {
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the due tests.");
    return;
  }
  if (n > 0)
    read_items(e, now, deadline, items, (size_t)n, out);
  free(items);
  if (may_read(e, now))
    read_details(e, now, deadline, false);
}
