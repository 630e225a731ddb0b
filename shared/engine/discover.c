/* SPDX-License-Identifier: MIT */
/* The discovery stage: which buckets and tests the catalog watches.
 *
 * The buckets every DiscoveryInterval (the configured ones, or every bucket
 * the token sees), every bucket's tests list every cycle. */
#include "engine/discover.h"

#include <errno.h>
#include <stdlib.h>

/* Reads the buckets to watch into *ret (caller frees): the configured ones
 * with their <Bucket> blocks, or every bucket the token sees. Returns 0 or
 * the errno of the first call that failed, with err set. */
static int read_buckets(struct engine *e, struct cat_bucket **ret,
                        size_t *ret_n, struct err *err) {
  const struct cfg *cfg = e->cfg;
  if (cfg->n_buckets == 0) {
    struct rs_bucket *all = NULL;
    size_t n = 0;
    int rc = rs_list_buckets(e->rs, &all, &n, err);
    if (rc != 0)
      return rc;
    *ret = calloc(n ? n : 1, sizeof(**ret));
    for (size_t i = 0; *ret != NULL && i < n; i++)
      (*ret)[i].info = all[i];
    free(all);
    *ret_n = n;
    return *ret ? 0 : -ENOMEM;
  }
  *ret = calloc(cfg->n_buckets, sizeof(**ret));
  if (*ret == NULL)
    return -ENOMEM;
  *ret_n = cfg->n_buckets;
  for (size_t i = 0; i < cfg->n_buckets; i++) {
    (*ret)[i].cfg = &cfg->buckets[i];
    int rc = rs_get_bucket(e->rs, cfg->buckets[i].key, &(*ret)[i].info, err);
    if (rc != 0) {
      err_prefix(err, "<Bucket \"%s\">", cfg->buckets[i].key);
      return rc;
    }
  }
  return 0;
}

/* Re-reads the buckets. Returns 0 or the errno of the failed call. */
static int refresh_buckets(struct engine *e, double now) {
  struct err err = {{0}};
  struct cat_bucket *next = NULL;
  size_t n = 0;
  int rc = read_buckets(e, &next, &n, &err);
  if (rc != 0) {
    free(next);
    health_failed(&e->health, &e->health.rs, rc, &err, now);
    return rc;
  }
  cat_replace_buckets(&e->cat, next, n);
  health_up(&e->health.rs);
  e->discovered_at = now;
  say_log(&e->say, ENGINE_LOG_DEBUG, "Discovery: %zu buckets watched.",
          e->cat.n_buckets);
  return 0;
}

struct lists {
  struct engine *e;
  double now;
  size_t failed;
};

static bool on_tests(void *ctx, size_t i, int rc, const struct rs_test *tests,
                     size_t n, const struct err *err) {
  struct lists *l = ctx;
  struct engine *e = l->e;
  if (rc != 0) {
    l->failed++;
    return !health_failed(&e->health, &e->health.rs, rc, err, l->now);
  }
  health_up(&e->health.rs);
  if (cat_merge_tests(&e->cat.buckets[i], tests, n) != 0) {
    l->failed++;
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory for the tests of bucket %s.",
            e->cat.buckets[i].info.key);
  }
  return true;
}

/* Reads every bucket's tests list, many at a time. */
static void read_lists(struct engine *e, double now) {
  struct lists l = {e, now, 0};
  const char **keys = calloc(e->cat.n_buckets + 1, sizeof(*keys));
  size_t *expected = calloc(e->cat.n_buckets + 1, sizeof(*expected));
  if (keys == NULL || expected == NULL) {
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the tests lists.");
    free(keys);
    free(expected);
    return;
  }
  for (size_t i = 0; i < e->cat.n_buckets; i++) {
    keys[i] = e->cat.buckets[i].info.key;
    expected[i] = e->cat.buckets[i].n_tests;
  }
  cat_unlist(&e->cat);
  if (rs_list_many_tests(e->rs, keys, expected, e->cat.n_buckets, on_tests,
                         &l) != 0)
    say_log(&e->say, ENGINE_LOG_ERR, "Out of memory for the tests lists.");
  else if (l.failed == 0)
    health_polled(&e->health, now); /* Runscope answered this cycle's poll */
  free(keys);
  free(expected);
}

void discover(struct engine *e, double now) {
  if ((!e->cat.loaded ||
       now - e->discovered_at >= e->cfg->discovery_interval) &&
      refresh_buckets(e, now) != 0 &&
      (!e->cat.loaded || health_waiting(&e->health.rs, now)))
    return;
  read_lists(e, now);
}
