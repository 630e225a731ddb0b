/* What the plugin watches: the selected buckets, tests and environments. */
#include "catalog.h"

#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cat_init(struct catalog *cat) { memset(cat, 0, sizeof(*cat)); }

static void bucket_fini(struct cat_bucket *b) {
  for (size_t i = 0; i < b->n_tests; i++)
    rs_test_detail_fini(&b->tests[i].detail);
  free(b->tests);
}

void cat_fini(struct catalog *cat) {
  for (size_t i = 0; i < cat->n_buckets; i++)
    bucket_fini(&cat->buckets[i]);
  free(cat->buckets);
  cat_init(cat);
}

const struct cat_bucket *cat_bucket_find(const struct catalog *cat,
                                         const char *key) {
  for (size_t i = 0; i < cat->n_buckets; i++)
    if (strcmp(cat->buckets[i].info.key, key) == 0)
      return &cat->buckets[i];
  return NULL;
}

const struct cat_test *cat_test_find(const struct cat_bucket *b,
                                     const char *test_id) {
  for (size_t i = 0; b != NULL && i < b->n_tests; i++)
    if (strcmp(b->tests[i].detail.id, test_id) == 0)
      return &b->tests[i];
  return NULL;
}

const char *cat_env_name(const struct cat_test *t, const char *env_id) {
  for (size_t i = 0; t != NULL && i < t->detail.n_environments; i++)
    if (strcmp(t->detail.environments[i].id, env_id) == 0)
      return t->detail.environments[i].name;
  return NULL;
}

bool cat_env_selected(const struct cat_bucket *b, const char *env_id,
                      const char *env_name) {
  if (b->cfg == NULL || b->cfg->environments.n == 0)
    return true;
  return cfg_list_has(&b->cfg->environments, env_id) ||
         (env_name != NULL && env_name[0] != '\0' &&
          cfg_list_has(&b->cfg->environments, env_name));
}

static bool test_selected(const struct cfg_bucket *cb,
                          const struct rs_test *t) {
  return cb == NULL || cb->tests.n == 0 || cfg_list_has(&cb->tests, t->id) ||
         cfg_list_has(&cb->tests, t->name);
}

/* The buckets to watch, with their <Bucket> blocks. *ret: caller frees. */
static int read_buckets(struct rs_client *rs, const struct cfg *cfg,
                        struct cat_bucket **ret, size_t *ret_n,
                        struct err *err) {
  if (cfg->n_buckets == 0) {
    struct rs_bucket *all = NULL;
    size_t n = 0;
    int rc = rs_list_buckets(rs, &all, &n, err);
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
    int rc = rs_get_bucket(rs, cfg->buckets[i].key, &(*ret)[i].info, err);
    if (rc != 0) {
      err_prefix(err, "<Bucket \"%s\">", cfg->buckets[i].key);
      return rc;
    }
  }
  return 0;
}

/* Copies the old catalog's detail of the test, when there is one. */
static void reuse_detail(struct cat_test *t, const struct cat_bucket *old) {
  const struct cat_test *prev = cat_test_find(old, t->detail.id);
  if (prev == NULL || !prev->has_detail)
    return;
  struct rs_test_detail *d = &t->detail;
  *d = prev->detail;
  size_t ne = d->n_environments * sizeof(*d->environments);
  size_t ns = d->n_schedules * sizeof(*d->schedules);
  d->environments = ne ? malloc(ne) : NULL;
  d->schedules = ns ? malloc(ns) : NULL;
  if ((ne && d->environments == NULL) || (ns && d->schedules == NULL)) {
    rs_test_detail_fini(d);
    return;
  }
  memcpy(d->environments, prev->detail.environments, ne);
  memcpy(d->schedules, prev->detail.schedules, ns);
  t->has_detail = true;
}

/* Reads the detail of t; falls back on the old catalog's copy. A test the
 * API no longer shows (403/404) is kept without detail. */
static int read_detail(struct rs_client *rs, const char *bucket_key,
                       struct cat_test *t, const struct cat_bucket *old,
                       struct err *err) {
  struct rs_test_detail d;
  memset(&d, 0, sizeof(d));
  int rc = rs_get_test(rs, bucket_key, t->detail.id, &d, err);
  if (rc == 0) {
    rs_test_detail_fini(&t->detail);
    t->detail = d;
    t->has_detail = true;
    return 0;
  }
  rs_test_detail_fini(&d);
  reuse_detail(t, old);
  return (rc == -EACCES || rc == -ENOENT || rc == -EPROTO) ? 0 : rc;
}

static int read_tests(struct rs_client *rs, struct cat_bucket *b,
                      const struct cat_bucket *old, struct err *err) {
  struct rs_test *tests = NULL;
  size_t n = 0;
  int rc = rs_list_tests(rs, b->info.key, &tests, &n, err);
  if (rc != 0)
    return rc;
  b->tests = calloc(n ? n : 1, sizeof(*b->tests));
  if (b->tests == NULL) {
    free(tests);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (!test_selected(b->cfg, &tests[i]))
      continue;
    struct cat_test *t = &b->tests[b->n_tests++];
    str_copy(t->detail.id, sizeof(t->detail.id), tests[i].id);
    str_copy(t->detail.name, sizeof(t->detail.name), tests[i].name);
    rc = read_detail(rs, b->info.key, t, old, err);
  }
  free(tests);
  return rc;
}

int cat_refresh(struct catalog *cat, struct rs_client *rs,
                const struct cfg *cfg, struct err *err) {
  struct catalog next;
  cat_init(&next);
  int rc = read_buckets(rs, cfg, &next.buckets, &next.n_buckets, err);
  for (size_t i = 0; rc == 0 && i < next.n_buckets; i++) {
    struct cat_bucket *b = &next.buckets[i];
    rc = read_tests(rs, b, cat_bucket_find(cat, b->info.key), err);
  }
  if (rc != 0) {
    cat_fini(&next);
    return rc;
  }
  cat_fini(cat);
  *cat = next;
  cat->loaded = true;
  return 0;
}
