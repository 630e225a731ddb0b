/* SPDX-License-Identifier: MIT */
/* What the plugin watches: the selected buckets, tests and environments. */
#ifndef RUNSCOPE_CATALOG_H
#define RUNSCOPE_CATALOG_H

#include "clients/runscope.h"
#include "config/config.h"
#include "core/due.h"

#include <stdbool.h>
#include <stddef.h>

/* What the tests list said of a test in this cycle. */
struct cat_listing {
  bool listed;         /* the test was in this cycle's list */
  bool last_run_known; /* the item had a last_run (null: never ran) */
  uint64_t last_run;   /* due_run_digest of the last_run's id, 0: none */
  double last_run_at;
};

/* A test whose own reads fail while the API answers the others: its
 * results or its detail come malformed, of the wrong types, oversized or
 * as a 404. The test alone waits; the API is not backed off. */
struct cat_unreadable {
  double since;       /* the first failure of the streak; 0: readable */
  double log_next_at; /* its log line's growing gaps (say_gap_due) */
  double log_gap;
  bool results; /* its last results read failed */
  bool detail;  /* its last detail read failed: asked again next cycle */
  bool warned;  /* its WARNING notification went out */
};

struct cat_test {
  struct rs_test_detail detail; /* id, name, trigger_url, environments */
  bool has_detail;              /* false: the detail could not be read yet */
  double detail_at; /* when the detail was last asked for and answered */
  struct cat_listing list;
  struct due_test due; /* which cycles read its results (due.h) */
  double fwd_newest;   /* forward mode: newest forwardable run read */
  size_t cursor_hint;  /* its cursor's place (rec_cursor_find_hinted) */
  struct cat_unreadable unreadable;
  /* its refused trigger URL's log line's growing gaps (say_gap_due) */
  double trigger_log_next_at, trigger_log_gap;
};

/* An index of a bucket's tests by id: open addressing over a power of two
 * (at least twice the tests), each slot 0 or a test's index + 1. */
struct cat_index {
  size_t *slot; /* NULL: not built (the tests are then searched in order) */
  size_t mask;
};

struct cat_bucket {
  struct rs_bucket info;
  const struct cfg_bucket *cfg; /* its <Bucket> block, NULL: all buckets */
  struct cat_test *tests;
  size_t n_tests;
  struct cat_index index; /* of tests, rebuilt when they change */
};

/* Owned arrays; release with cat_fini. */
struct catalog {
  struct cat_bucket *buckets;
  size_t n_buckets;
  bool loaded; /* the buckets were read at least once */
};

void cat_init(struct catalog *cat);
void cat_fini(struct catalog *cat);

/* Releases b's tests (their details) and index, leaving b without tests. */
void cat_bucket_fini(struct cat_bucket *b);

/* Replaces the catalog's buckets with next[0..n) (their info and <Bucket>
 * blocks, no tests), taking the array over (malloc'ed; the catalog frees
 * it): a bucket whose key stays keeps its tests, the tests of the others
 * are released. The catalog is loaded afterwards. */
void cat_replace_buckets(struct catalog *cat, struct cat_bucket *next,
                         size_t n);

/* Merges bucket b's tests list into b->tests, keeping the <Bucket> block's
 * tests (by id or name): a test that stays keeps its detail and memory, a
 * new one comes without detail, a test no longer listed is dropped; each
 * gets this list's name and last_run. Pointers to b's tests are invalid
 * afterwards. Returns 0 or -ENOMEM (b is then unchanged). */
int cat_merge_tests(struct cat_bucket *b, const struct rs_test *tests,
                    size_t n);

/* Marks every test of the catalog as not listed in this cycle (before the
 * lists are merged: a bucket whose list fails keeps its tests unlisted). */
void cat_unlist(struct catalog *cat);

/* Takes the detail *d over (zeroing it) as t's, read at now. */
void cat_set_detail(struct cat_test *t, struct rs_test_detail *d, double now);

/* True when t's detail is to be read at now: never read, older than
 * max_age, or its last read failed. */
bool cat_detail_due(const struct cat_test *t, double now, double max_age);

/* True when watching t needs its detail: the tests list gives no last_run
 * for it (its schedules then say when a run is due), or always is set
 * (forward mode, whose payload carries the trigger URL). Otherwise the
 * list says when to read its results, and its runs name its environments
 * (cat_note_env): a cold start reads no detail. */
bool cat_detail_needed(const struct cat_test *t, bool always);

/* Adds environment id (named name) to t's environments when they do not
 * hold it: a run names its environment, for a test whose detail was not
 * read. Returns 0 (also when id or name is "", or known), or -ENOMEM. */
int cat_note_env(struct cat_test *t, const char *id, const char *name);

/* The bucket with the given key, or NULL. */
const struct cat_bucket *cat_bucket_find(const struct catalog *cat,
                                         const char *key);

/* The test with the given id in bucket b, or NULL. */
const struct cat_test *cat_test_find(const struct cat_bucket *b,
                                     const char *test_id);

/* The test test_id of bucket bucket_key, to be changed, or NULL. */
struct cat_test *cat_test_get(struct catalog *cat, const char *bucket_key,
                              const char *test_id);

/* The name of an environment of t, or NULL when unknown. */
const char *cat_env_name(const struct cat_test *t, const char *env_id);

/* True when the <Bucket> block selects the environment (by id or name). */
bool cat_env_selected(const struct cat_bucket *b, const char *env_id,
                      const char *env_name);

#endif
