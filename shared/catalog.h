/* What the plugin watches: the selected buckets, tests and environments. */
#ifndef RUNSCOPE_CATALOG_H
#define RUNSCOPE_CATALOG_H

#include "config.h"
#include "err.h"
#include "runscope.h"

#include <stdbool.h>
#include <stddef.h>

struct cat_test {
  struct rs_test_detail detail; /* id, name, trigger_url, environments */
  bool has_detail;              /* false: the detail could not be read yet */
};

struct cat_bucket {
  struct rs_bucket info;
  const struct cfg_bucket *cfg; /* its <Bucket> block, NULL: all buckets */
  struct cat_test *tests;
  size_t n_tests;
};

/* Owned arrays; release with cat_fini. */
struct catalog {
  struct cat_bucket *buckets;
  size_t n_buckets;
  bool loaded; /* at least one refresh succeeded */
};

void cat_init(struct catalog *cat);
void cat_fini(struct catalog *cat);

/* Reads the buckets (the configured ones, or all the token sees), their
 * tests (filtered by the <Bucket> Test list, by id or name) and each test's
 * detail, and replaces *cat with the result. Details that cannot be read are
 * taken from the old catalog. Returns 0, or a negative errno of the first
 * call that failed (see runscope.h) with err set; *cat is then unchanged. */
int cat_refresh(struct catalog *cat, struct rs_client *rs,
                const struct cfg *cfg, struct err *err);

/* The bucket with the given key, or NULL. */
const struct cat_bucket *cat_bucket_find(const struct catalog *cat,
                                         const char *key);

/* The test with the given id in bucket b, or NULL. */
const struct cat_test *cat_test_find(const struct cat_bucket *b,
                                     const char *test_id);

/* The name of an environment of t, or NULL when unknown. */
const char *cat_env_name(const struct cat_test *t, const char *env_id);

/* True when the <Bucket> block selects the environment (by id or name). */
bool cat_env_selected(const struct cat_bucket *b, const char *env_id,
                      const char *env_name);

#endif
