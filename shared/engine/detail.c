/* SPDX-License-Identifier: MIT */
/* A test's detail read when a stage needs it now (a Rerun's trigger URL). */
#include "engine/detail.h"

/* The catalog's test test_id of bucket bucket_key, or NULL. */
static struct cat_test *test_in(struct engine *e, const char *bucket_key,
                                const char *test_id) {
  const struct cat_bucket *cb = cat_bucket_find(&e->cat, bucket_key);
  const struct cat_test *ct = cat_test_find(cb, test_id);
  if (ct == NULL)
    return NULL;
  struct cat_bucket *b = &e->cat.buckets[cb - e->cat.buckets];
  return &b->tests[ct - b->tests];
}

int detail_ensure(struct engine *e, const char *bucket_key, const char *test_id,
                  double now) {
  struct cat_test *t = test_in(e, bucket_key, test_id);
  if (t == NULL || !cat_detail_due(t, now, e->cfg->discovery_interval))
    return 0;
  struct rs_test_detail d = {0};
  struct err err = {{0}};
  int rc = rs_get_test(e->rs, bucket_key, test_id, &d, &err);
  if (rc == 0) {
    health_up(&e->health.rs);
    cat_set_detail(t, &d, now);
  } else {
    health_failed(&e->health, &e->health.rs, rc, &err, now);
  }
  rs_test_detail_fini(&d);
  return rc;
}
