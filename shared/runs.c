/* The engine's Runscope side: discovery and reading new runs. */
#include "engine_internal.h"

#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Re-reads buckets, tests and details every DiscoveryInterval. */
void eng_discover(struct engine *e, double now) {
  if (e->cat.loaded && now - e->discovered_at < e->cfg->discovery_interval)
    return;
  struct err err = {{0}};
  int rc = cat_refresh(&e->cat, e->rs, e->cfg, &err);
  if (rc != 0) {
    eng_api_failed(e, &e->rs_health, rc, &err, now);
    return;
  }
  eng_api_up(e, &e->rs_health);
  e->discovered_at = now;
  size_t tests = 0;
  for (size_t i = 0; i < e->cat.n_buckets; i++)
    tests += e->cat.buckets[i].n_tests;
  if (tests == 0) /* nothing to read: the discovery is the whole poll */
    e->polled_at = now;
  eng_log(e, ENGINE_LOG_DEBUG, "Discovery: %zu buckets, %zu tests watched.",
          e->cat.n_buckets, tests);
}

static bool run_selected(const struct cat_bucket *b, const struct cat_test *t,
                         const struct rs_run *r) {
  const char *name = r->environment_name[0]
                         ? r->environment_name
                         : cat_env_name(t, r->environment_id);
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
  eng_log(e, ENGINE_LOG_NOTICE,
          "Read the newest %d runs of test \"%s\" (%s/%s) since %.0f; older "
          "ones are skipped: only the latest run of each location is a "
          "verdict.",
          RS_RESULTS_MAX, t->detail.name, bk, t->detail.id, since);
}

/* Feeds the new runs of one test to the reconciler and moves its cursor.
 * Returns 0 or the Runscope call's negative errno. */
static int poll_test(struct engine *e, const struct cat_bucket *b,
                     const struct cat_test *t, double now) {
  const char *bk = b->info.key, *id = t->detail.id;
  struct rec_cursor *cur = rec_cursor_find(&e->state, bk, id);
  double since = cur ? cur->since : now - e->cfg->max_catch_up;
  bool forward = e->cfg->xmatters.mode == CFG_MODE_FORWARD;
  if (forward) /* from the oldest run not yet forwarded */
    since = eng_forward_since(e, bk, id, since);
  struct rs_run *runs = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = rs_list_results(e->rs, bk, id, since, &runs, &n, &err);
  if (rc != 0) {
    eng_api_failed(e, &e->rs_health, rc, &err, now);
    return rc;
  }
  eng_api_up(e, &e->rs_health);
  e->polled_at = now;
  for (size_t i = 0; i < n; i++) {
    if (!run_selected(b, t, &runs[i]))
      continue;
    /* The results list names the test; make sure the key uses ours. */
    str_copy(runs[i].test_id, sizeof(runs[i].test_id), id);
    if (rec_observe_run(&e->state, bk, &runs[i]) > 0)
      e->dirty = true;
    if (forward)
      eng_forward_run(e, b, t, &runs[i], now);
  }
  note_cut(e, bk, t, n, since);
  double next = rec_cursor_next(since, runs, n, now, e->cfg->max_run_duration);
  free(runs);
  if (cur == NULL || next != since) {
    rec_cursor_set(&e->state, bk, id, next);
    e->dirty = true;
  }
  return 0;
}

/* Reads the new runs of every watched test. Stops at the first transport
 * or server error (Runscope is down: the next cycle retries). */
void eng_poll_results(struct engine *e, double now) {
  for (size_t i = 0; i < e->cat.n_buckets; i++) {
    const struct cat_bucket *b = &e->cat.buckets[i];
    for (size_t j = 0; j < b->n_tests; j++) {
      int rc = poll_test(e, b, &b->tests[j], now);
      if (rc != 0 && eng_is_outage(rc))
        return;
    }
  }
}
