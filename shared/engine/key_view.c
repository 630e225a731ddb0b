/* SPDX-License-Identifier: MIT */
/* What values, notifications and events say about a key, and its names. */
#include "engine/key_view.h"

#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *key_view_env_name(const struct cat_test *t,
                              const struct rec_key *k) {
  const char *name = cat_env_name(t, k->environment_id);
  if (name != NULL)
    return name;
  return k->environment_name;
}

const char *key_view_env_name_of(struct engine *e, const char *bucket_key,
                                 const struct cat_test *t, const char *env_id) {
  const char *name = cat_env_name(t, env_id);
  char key[REC_KEY_MAX];
  if (name != NULL ||
      rec_make_key(key, sizeof(key), bucket_key, t->detail.id, env_id) != 0)
    return name;
  const struct rec_key *k = rec_key_find(&e->state, key);
  return k != NULL ? k->environment_name : NULL;
}

static const struct rec_run *newest_run(const struct rec_key *k) {
  const struct rec_run *r = NULL;
  for (size_t i = 0; i < k->n_locs; i++)
    if (r == NULL || k->locs[i].started_at > r->started_at)
      r = &k->locs[i];
  return r;
}

const struct rec_run *key_view_run(const struct engine *e,
                                   const struct rec_key *k) {
  const struct rec_run *r = rec_newest_failure(k, &e->opts);
  return r != NULL ? r : newest_run(k);
}

void key_view_init(const struct engine *e, const struct rec_key *k,
                   struct key_view *v) {
  memset(v, 0, sizeof(*v));
  v->k = k;
  v->run = key_view_run(e, k);
  const struct cat_bucket *b = cat_bucket_find(&e->cat, k->bucket_key);
  const struct cat_test *t = cat_test_find(b, k->test_id);
  const char *env = key_view_env_name(t, k);
  v->bucket_name = b ? b->info.name : k->bucket_key;
  v->test_name = t ? t->detail.name : k->test_id;
  v->env_name = env ? env : k->environment_id;
  const char *loc = v->run ? str_or_empty(v->run->location) : "";
  bool agent = strncmp(loc, "agent:", 6) == 0;
  v->region = agent ? "" : loc;
  v->agent = agent ? loc + 6 : "";
  const char *dash = e->cfg->dashboard_url;
  snprintf(v->test_url, sizeof(v->test_url), "%s/radar/%s/%s", dash,
           k->bucket_key, k->test_id);
  snprintf(v->run_url, sizeof(v->run_url), "%s/radar/%s/%s/results/%s", dash,
           k->bucket_key, k->test_id,
           v->run ? str_or_empty(v->run->test_run_id) : "");
  clock_iso8601(v->run ? v->run->started_at : 0, v->started,
                sizeof(v->started));
  clock_iso8601(v->run ? v->run->finished_at : 0, v->finished,
                sizeof(v->finished));
}

void key_view_names_fini(struct key_view_names *bn) {
  free(bn->idx);
  free(bn->name);
  memset(bn, 0, sizeof(*bn));
}

int key_view_names_init(const struct engine *e, const char *bucket_key,
                        struct key_view_names *bn) {
  memset(bn, 0, sizeof(*bn));
  size_t n = 0, first, end;
  rec_key_range(&e->state, bucket_key, &first, &end);
  for (size_t i = first; i < end; i++)
    n += strcmp(e->state.keys[i]->bucket_key, bucket_key) == 0;
  if (n == 0)
    return 0;
  struct report_key *rk = calloc(n, sizeof(*rk));
  bn->idx = calloc(n, sizeof(*bn->idx));
  bn->name = calloc(n, sizeof(*bn->name));
  int rc = (rk && bn->idx && bn->name) ? 0 : -ENOMEM;
  const struct cat_bucket *b = cat_bucket_find(&e->cat, bucket_key);
  for (size_t i = first; rc == 0 && i < end; i++) {
    const struct rec_key *k = e->state.keys[i];
    if (strcmp(k->bucket_key, bucket_key) != 0)
      continue;
    const struct cat_test *t = cat_test_find(b, k->test_id);
    rk[bn->n] = (struct report_key){
        .test_name = t ? t->detail.name : NULL,
        .env_name = key_view_env_name(t, k),
        .test_id = k->test_id,
        .env_id = k->environment_id,
    };
    bn->idx[bn->n++] = i;
  }
  if (rc == 0)
    rc = report_key_names(rk, bn->n, bn->name);
  free(rk);
  if (rc != 0)
    key_view_names_fini(bn);
  return rc;
}

/* The name of key k (its values' and notifications' type instance) into
 * out; "" when memory ran out. */
static void key_name(const struct engine *e, const struct rec_key *k,
                     char out[REPORT_KEY_NAME_MAX]) {
  struct key_view_names bn;
  out[0] = '\0';
  if (key_view_names_init(e, k->bucket_key, &bn) != 0)
    return;
  for (size_t i = 0; i < bn.n; i++)
    if (e->state.keys[bn.idx[i]] == k)
      str_copy(out, REPORT_KEY_NAME_MAX, bn.name[i]);
  key_view_names_fini(&bn);
}

void key_view_ids(const struct engine *e, const struct rec_key *k,
                  char instance[REPORT_NAME_MAX],
                  char name[REPORT_KEY_NAME_MAX]) {
  report_bucket_instance(k->bucket_key, instance);
  key_name(e, k, name);
}
