/* SPDX-License-Identifier: MIT */
/* The state's copy in etcd, for a cluster: split into parts, merged back. */
#include "store/state_etcd.h"

#include "store/state.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_KEY_MAX 1024

static uint64_t text_digest(const char *text, size_t len) {
  return hash_fnv1a(HASH_FNV_BASIS, text, len);
}

static uint64_t hash_member(uint64_t h, json_object *entry, const char *name) {
  const char *s = jsonx_str(entry, name);
  return hash_fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* The part of an entry: by its "key", else its bucket_key and test_id. */
static size_t part_of(json_object *entry) {
  uint64_t h = HASH_FNV_BASIS;
  if (jsonx_str(entry, "key") != NULL) {
    h = hash_member(h, entry, "key");
  } else {
    h = hash_member(h, entry, "bucket_key");
    h = hash_member(h, entry, "test_id");
  }
  return (size_t)(h % STATE_ETCD_PARTS);
}

static bool is_array(json_object *v) {
  return json_object_is_type(v, json_type_array);
}

/* Appends a new reference to each entry of from to the array to. */
static int append_all(json_object *to, json_object *from) {
  size_t n = json_object_array_length(from);
  for (size_t j = 0; j < n; j++) {
    json_object *e = json_object_array_get_idx(from, j);
    if (json_object_array_add(to, json_object_get(e)) != 0) {
      json_object_put(e);
      return -ENOMEM;
    }
  }
  return 0;
}

/* True for the members every part carries as they are: the format and
 * version that make a part a state document of its own. */
static bool in_every_part(const char *name) {
  return strcmp(name, "format") == 0 || strcmp(name, "version") == 0;
}

/* Empty parts: an empty array for each of the root's arrays, the format
 * and version in each, and the root's other members (times that change
 * every cycle) in part 0 alone, so that they rewrite one part, not all. */
static int new_parts(json_object *root, json_object *parts[]) {
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    if ((parts[i] = json_object_new_object()) == NULL)
      return -ENOMEM;
    json_object_object_foreach(root, name, v) {
      if (!is_array(v) && i > 0 && !in_every_part(name))
        continue;
      json_object *m =
          is_array(v) ? json_object_new_array() : json_object_get(v);
      if (m == NULL || json_object_object_add(parts[i], name, m) != 0)
        return -ENOMEM;
    }
  }
  return 0;
}

/* Deals each entry of the root's arrays to its part. */
static int deal_entries(json_object *root, json_object *parts[]) {
  json_object_object_foreach(root, name, v) {
    if (!is_array(v))
      continue;
    size_t n = json_object_array_length(v);
    for (size_t j = 0; j < n; j++) {
      json_object *e = json_object_array_get_idx(v, j);
      json_object *to = json_object_object_get(parts[part_of(e)], name);
      if (json_object_array_add(to, json_object_get(e)) != 0) {
        json_object_put(e);
        return -ENOMEM;
      }
    }
  }
  return 0;
}

static int parts_to_texts(json_object *parts[], char *texts[], size_t lens[]) {
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    const char *s =
        json_object_to_json_string_ext(parts[i], JSON_C_TO_STRING_PLAIN);
    if (s == NULL || (texts[i] = strdup(s)) == NULL)
      return -ENOMEM;
    lens[i] = strlen(s);
  }
  return 0;
}

int state_etcd_split(const struct rec_state *st, char *texts[STATE_ETCD_PARTS],
                     size_t lens[STATE_ETCD_PARTS]) {
  struct buf b;
  buf_init(&b, STATE_FILE_MAX);
  json_object *root = NULL, *parts[STATE_ETCD_PARTS] = {0};
  memset(texts, 0, STATE_ETCD_PARTS * sizeof(*texts));
  int rc = state_to_json(st, &b);
  if (rc == 0 && jsonx_parse(b.data, b.len, 1000, &root, NULL) != 0)
    rc = -EINVAL;
  if (rc == 0)
    rc = new_parts(root, parts);
  if (rc == 0)
    rc = deal_entries(root, parts);
  if (rc == 0)
    rc = parts_to_texts(parts, texts, lens);
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    json_object_put(parts[i]);
    if (rc != 0) {
      free(texts[i]);
      texts[i] = NULL;
    }
  }
  json_object_put(root);
  buf_fini(&b);
  return rc;
}

/* Adds the members of part to all: arrays are concatenated, the others
 * replaced. */
static int merge_into(json_object *all, json_object *part) {
  json_object_object_foreach(part, name, v) {
    json_object *have = json_object_object_get(all, name);
    if (!is_array(v) || !is_array(have)) {
      if (json_object_object_add(all, name, json_object_get(v)) != 0)
        return -ENOMEM;
      continue;
    }
    if (append_all(have, v) != 0)
      return -ENOMEM;
  }
  return 0;
}

int state_etcd_merge(const char *const *texts, const size_t *lens, size_t n,
                     int max_depth, struct rec_state *st, struct err *err) {
  json_object *all = json_object_new_object();
  int rc = all ? 0 : -ENOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    json_object *part = NULL;
    if (jsonx_parse(texts[i], lens[i], max_depth, &part, err) != 0 ||
        !json_object_is_type(part, json_type_object)) {
      err_prefix(err, "state in etcd, part %zu: ", i);
      rc = -EBADMSG;
    } else {
      rc = merge_into(all, part);
    }
    json_object_put(part);
  }
  const char *text =
      rc == 0 ? json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN)
              : NULL;
  if (rc == 0 && text == NULL)
    rc = -ENOMEM;
  if (rc == 0)
    rc = state_from_json(text, strlen(text), max_depth, st, err);
  json_object_put(all);
  return rc;
}

/* The digests of the parts etcd holds (keys "<prefix>NN"). */
static void record_digests(const struct etcd_kvs *kvs, size_t prefix_len,
                           struct state_etcd *se) {
  memset(se, 0, sizeof(*se));
  for (size_t i = 0; i < kvs->n; i++) {
    const struct etcd_kv *kv = &kvs->kv[i];
    char *end = NULL;
    unsigned long part = strtoul(kv->key + prefix_len, &end, 10);
    if (end == kv->key + prefix_len || *end != '\0' || part >= STATE_ETCD_PARTS)
      continue;
    se->digest[part] = text_digest(kv->value, kv->value_len);
    se->known[part] = true;
  }
}

int state_etcd_load(struct etcd_client *c, const char *prefix, int max_depth,
                    struct state_etcd *se, struct rec_state *st,
                    struct err *err) {
  struct etcd_kvs kvs = {0};
  int rc = etcd_get(c, prefix, true, &kvs, err);
  if (rc != 0)
    return rc;
  if (kvs.n == 0) {
    etcd_kvs_fini(&kvs);
    return -ENOENT;
  }
  const char **texts = calloc(kvs.n, sizeof(*texts));
  size_t *lens = calloc(kvs.n, sizeof(*lens));
  rc = texts && lens ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < kvs.n; i++) {
    texts[i] = kvs.kv[i].value ? kvs.kv[i].value : "";
    lens[i] = kvs.kv[i].value_len;
  }
  if (rc == 0)
    rc = state_etcd_merge(texts, lens, kvs.n, max_depth, st, err);
  if (rc == 0)
    record_digests(&kvs, strlen(prefix), se);
  free(texts);
  free(lens);
  etcd_kvs_fini(&kvs);
  return rc;
}

/* One batch of puts for one transaction. */
struct batch {
  struct etcd_op ops[STATE_ETCD_PARTS];
  size_t part[STATE_ETCD_PARTS];
  uint64_t digest[STATE_ETCD_PARTS];
  char keys[STATE_ETCD_PARTS][PART_KEY_MAX];
  size_t n, bytes;
};

/* Writes the batch while leader holds; records what was written. */
static int commit(struct etcd_client *c, const struct etcd_compare *leader,
                  struct batch *b, struct state_etcd *se, struct err *err) {
  struct etcd_txn txn = {leader, 1, b->ops, b->n, NULL, 0};
  struct etcd_txn_result r = {0};
  int rc = b->n ? etcd_txn(c, &txn, &r, err) : 0;
  bool held = rc == 0 && (b->n == 0 || r.succeeded);
  etcd_txn_result_fini(&r);
  if (rc == 0 && !held) {
    err_set(err, "etcd: the leader key is no longer this agent's: the "
                 "state was not written");
    rc = -EPERM;
  }
  for (size_t j = 0; rc == 0 && j < b->n; j++) {
    se->digest[b->part[j]] = b->digest[j];
    se->known[b->part[j]] = true;
  }
  b->n = b->bytes = 0;
  return rc;
}

/* Adds part i to the batch (committing the batch first when full). */
static int add_part(struct etcd_client *c, const struct etcd_compare *leader,
                    struct batch *b, struct state_etcd *se, const char *prefix,
                    size_t i, const char *text, size_t len, struct err *err) {
  uint64_t d = text_digest(text, len);
  if (se->known[i] && se->digest[i] == d)
    return 0;
  int rc = 0;
  if (b->n > 0 && b->bytes + len > STATE_ETCD_TXN_BYTES)
    rc = commit(c, leader, b, se, err);
  if (rc != 0)
    return rc;
  snprintf(b->keys[b->n], PART_KEY_MAX, "%s%02zu", prefix, i);
  b->ops[b->n] = (struct etcd_op){.type = ETCD_OP_PUT,
                                  .key = b->keys[b->n],
                                  .value = text,
                                  .value_len = len};
  b->part[b->n] = i;
  b->digest[b->n] = d;
  b->n++;
  b->bytes += len;
  return 0;
}

int state_etcd_save(struct etcd_client *c, const char *prefix,
                    const struct etcd_compare *leader, struct state_etcd *se,
                    const struct rec_state *st, struct err *err) {
  char *texts[STATE_ETCD_PARTS];
  size_t lens[STATE_ETCD_PARTS];
  int rc = state_etcd_split(st, texts, lens);
  if (rc != 0) {
    err_set(err, "state: cannot split the state for etcd: %s",
            err_errno_text(-rc));
    return rc;
  }
  struct batch *b = calloc(1, sizeof(*b));
  rc = b ? 0 : -ENOMEM;
  for (size_t i = 0; i < STATE_ETCD_PARTS && rc == 0; i++)
    rc = add_part(c, leader, b, se, prefix, i, texts[i], lens[i], err);
  if (rc == 0)
    rc = commit(c, leader, b, se, err);
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++)
    free(texts[i]);
  free(b);
  return rc;
}
