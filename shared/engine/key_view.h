/* SPDX-License-Identifier: MIT */
/* What values, notifications and events say about a key, and its names. */
#ifndef RUNSCOPE_KEY_VIEW_H
#define RUNSCOPE_KEY_VIEW_H

#include "core/report.h"
#include "engine/context.h"

#include <stddef.h>

/* Everything an event or notification says about a key, from the catalog
 * and the key's newest relevant run. Pointers borrow from the key and the
 * catalog: valid until either changes. */
struct key_view {
  const struct rec_key *k;
  const struct rec_run *run; /* newest failure, or newest run; may be NULL */
  const char *bucket_name;
  const char *test_name;
  const char *env_name;
  const char *region;
  const char *agent;
  char test_url[RS_URL_MAX];
  char run_url[RS_URL_MAX];
  char started[32], finished[32];
};

/* The keys of one bucket (indices into the state's keys) and their names
 * (collectd type instances). Owned arrays: key_view_names_fini. */
struct key_view_names {
  size_t *idx;
  char (*name)[REPORT_KEY_NAME_MAX];
  size_t n;
};

/* The run a key's verdict rests on: the newest failure, or the newest run;
 * NULL when the key has none. */
const struct rec_run *key_view_run(const struct engine *e,
                                   const struct rec_key *k);

/* Fills v from the catalog and the key's newest relevant run. */
void key_view_init(const struct engine *e, const struct rec_key *k,
                   struct key_view *v);

/* Names every key of the state with the given bucket key, from the
 * catalog's names: values and notifications of a key share its name
 * because they come from this one list. Returns 0 or -ENOMEM (bn is then
 * empty). */
int key_view_names_init(const struct engine *e, const char *bucket_key,
                        struct key_view_names *bn);
void key_view_names_fini(struct key_view_names *bn);

/* The identifiers of key k's values and notifications: the bucket's plugin
 * instance and the key's type instance ("" when memory ran out). */
void key_view_ids(const struct engine *e, const struct rec_key *k,
                  char instance[REPORT_NAME_MAX],
                  char name[REPORT_KEY_NAME_MAX]);

/* The name of k's environment: t's detail's (or what t's runs named),
 * else the one k's latest run gave; NULL when neither is known. */
const char *key_view_env_name(const struct cat_test *t,
                              const struct rec_key *k);

/* The name of environment env_id of test t (of bucket bucket_key), where
 * no key is at hand: as key_view_env_name, with the state's key of the
 * three (the catalog keeps no second copy of a name a key holds). */
const char *key_view_env_name_of(struct engine *e, const char *bucket_key,
                                 const struct cat_test *t, const char *env_id);

#endif
