/* SPDX-License-Identifier: MIT */
/* What the plugin watches: the selected buckets, tests and environments. */
#include "core/catalog.h"

#include "util/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cat_init(struct catalog *cat) { memset(cat, 0, sizeof(*cat)); }

static size_t hash_id(const char *s) {
  size_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static int index_build(struct cat_index *ix, const struct cat_test *t,
                       size_t n) {
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  ix->slot = calloc(cap, sizeof(*ix->slot));
  ix->mask = cap - 1;
  if (ix->slot == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t h = hash_id(t[i].detail.id) & ix->mask;
    while (ix->slot[h] != 0)
      h = (h + 1) & ix->mask;
    ix->slot[h] = i + 1;
  }
  return 0;
}

static void index_fini(struct cat_index *ix) {
  free(ix->slot);
  ix->slot = NULL;
  ix->mask = 0;
}

/* The index of the test with id in t[0..n), or -1. Without an index the
 * tests are searched in order. */
static long index_find(const struct cat_index *ix, const struct cat_test *t,
                       size_t n, const char *id) {
  if (ix->slot == NULL) {
    for (size_t i = 0; i < n; i++)
      if (strcmp(t[i].detail.id, id) == 0)
        return (long)i;
    return -1;
  }
  for (size_t h = hash_id(id) & ix->mask; ix->slot[h] != 0;
       h = (h + 1) & ix->mask)
    if (strcmp(t[ix->slot[h] - 1].detail.id, id) == 0)
      return (long)(ix->slot[h] - 1);
  return -1;
}

void cat_bucket_fini(struct cat_bucket *b) {
  for (size_t i = 0; i < b->n_tests; i++)
    rs_test_detail_fini(&b->tests[i].detail);
  free(b->tests);
  b->tests = NULL;
  b->n_tests = 0;
  index_fini(&b->index);
}

void cat_fini(struct catalog *cat) {
  for (size_t i = 0; i < cat->n_buckets; i++)
    cat_bucket_fini(&cat->buckets[i]);
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
  if (b == NULL)
    return NULL;
  long i = index_find(&b->index, b->tests, b->n_tests, test_id);
  return i < 0 ? NULL : &b->tests[i];
}

struct cat_test *cat_test_get(struct catalog *cat, const char *bucket_key,
                              const char *test_id) {
  const struct cat_bucket *b = cat_bucket_find(cat, bucket_key);
  if (b == NULL)
    return NULL;
  long i = index_find(&b->index, b->tests, b->n_tests, test_id);
  return i < 0 ? NULL : &cat->buckets[b - cat->buckets].tests[i];
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

/* Moves the tests of the old catalog's bucket of the same key into b (the
 * old bucket is left without them). */
static void keep_tests(struct cat_bucket *b, struct catalog *old) {
  for (size_t i = 0; i < old->n_buckets; i++) {
    struct cat_bucket *o = &old->buckets[i];
    if (strcmp(o->info.key, b->info.key) != 0)
      continue;
    b->tests = o->tests;
    b->n_tests = o->n_tests;
    b->index = o->index;
    o->tests = NULL;
    o->n_tests = 0;
    o->index = (struct cat_index){NULL, 0};
    return;
  }
}

void cat_replace_buckets(struct catalog *cat, struct cat_bucket *next,
                         size_t n) {
  for (size_t i = 0; i < n; i++)
    keep_tests(&next[i], cat);
  cat_fini(cat);
  cat->buckets = next;
  cat->n_buckets = n;
  cat->loaded = true;
}

void cat_unlist(struct catalog *cat) {
  for (size_t i = 0; i < cat->n_buckets; i++)
    for (size_t j = 0; j < cat->buckets[i].n_tests; j++)
      cat->buckets[i].tests[j].list.listed = false;
}

/* Makes *dst (a heap string, NULL: none) a copy of src unless it is one
 * already. 0, or -ENOMEM with *dst unchanged. */
static int text_set(char **dst, const char *src) {
  if (*dst != NULL && strcmp(*dst, src) == 0)
    return 0;
  char *copy = strdup(src);
  if (copy == NULL)
    return -ENOMEM;
  free(*dst);
  *dst = copy;
  return 0;
}

/* The listing of an item of the tests list. -ENOMEM when the test's id or
 * name could not be copied (a name it had stays). */
static int listing_set(struct cat_test *t, const struct rs_test *item) {
  int rc = text_set(&t->detail.id, item->id);
  if (text_set(&t->detail.name, item->name) != 0)
    rc = -ENOMEM;
  t->list.listed = true;
  t->list.last_run_known = item->last_run_known;
  t->list.last_run = due_run_digest(item->last_run_id);
  t->list.last_run_at = item->last_run_at;
  return rc;
}

/* The common case: the list holds the same tests in the same order as
 * last time. Updates their listings in place and returns true; false
 * (nothing changed) when the list differs. */
static bool merge_in_place(struct cat_bucket *b, const struct rs_test *tests,
                           size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!test_selected(b->cfg, &tests[i]))
      continue;
    if (k == b->n_tests || strcmp(b->tests[k].detail.id, tests[i].id) != 0)
      return false;
    k++;
  }
  if (k != b->n_tests)
    return false;
  k = 0;
  for (size_t i = 0; i < n; i++)
    if (test_selected(b->cfg, &tests[i]))
      (void)listing_set(&b->tests[k++], &tests[i]); /* ids are the same */
  return true;
}

int cat_merge_tests(struct cat_bucket *b, const struct rs_test *tests,
                    size_t n) {
  if (merge_in_place(b, tests, n))
    return 0;
  struct cat_test *next = calloc(n ? n : 1, sizeof(*next));
  if (next == NULL)
    return -ENOMEM;
  if (b->index.slot == NULL) /* without one, tests are searched in order */
    (void)index_build(&b->index, b->tests, b->n_tests);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (!test_selected(b->cfg, &tests[i]))
      continue;
    struct cat_test *t = &next[kept];
    long old = index_find(&b->index, b->tests, b->n_tests, tests[i].id);
    if (old >= 0) { /* moved: its detail's arrays change hands */
      *t = b->tests[old];
      memset(&b->tests[old], 0, sizeof(b->tests[old]));
    }
    if (listing_set(t, &tests[i]) != 0 &&
        (t->detail.id == NULL || t->detail.name == NULL)) {
      rs_test_detail_fini(&t->detail); /* no memory: the next list has it */
      memset(t, 0, sizeof(*t));
      continue;
    }
    kept++;
  }
  cat_bucket_fini(b); /* the tests no longer listed, the old index */
  b->tests = next;
  b->n_tests = kept;
  /* Without an index (no memory) cat_test_find searches in order. */
  (void)index_build(&b->index, b->tests, b->n_tests);
  return 0;
}

/* Puts the listed text *listed (taken over) in *detail's place when it is
 * not "", or when the detail has none. */
static void keep_listed(char **detail, char *listed) {
  if (listed != NULL && (listed[0] != '\0' || *detail == NULL)) {
    free(*detail);
    *detail = listed;
  } else {
    free(listed);
  }
}

void cat_set_detail(struct cat_test *t, struct rs_test_detail *d, double now) {
  /* The list's name is the newer when they differ; its id is what the
   * bucket's index knows the test by. */
  char *id = t->detail.id, *name = t->detail.name;
  t->detail.id = t->detail.name = NULL;
  rs_test_detail_fini(&t->detail);
  t->detail = *d;
  memset(d, 0, sizeof(*d));
  keep_listed(&t->detail.id, id);
  keep_listed(&t->detail.name, name);
  t->has_detail = true;
  t->detail_at = now;
}

bool cat_detail_needed(const struct cat_test *t, bool always) {
  /* the listing stays from the last list that held the test */
  return always || !t->list.last_run_known;
}

int cat_note_env(struct cat_test *t, const char *id, const char *name) {
  if (id[0] == '\0' || name[0] == '\0' || cat_env_name(t, id) != NULL)
    return 0;
  struct rs_environment env = {strndup(id, RS_ID_MAX - 1),
                               strndup(name, RS_NAME_MAX - 1)};
  struct rs_environment *v = NULL;
  if (env.id != NULL && env.name != NULL)
    v = realloc(t->detail.environments,
                (t->detail.n_environments + 1) * sizeof(*v));
  if (v == NULL) {
    free(env.id);
    free(env.name);
    return -ENOMEM;
  }
  t->detail.environments = v;
  v[t->detail.n_environments++] = env;
  return 0;
}

bool cat_detail_due(const struct cat_test *t, double now, double max_age) {
  return t->detail_at <= 0 || now - t->detail_at >= max_age ||
         t->unreadable.detail;
}
