/* SPDX-License-Identifier: MIT */
/* etcd client: keys (range, put, deleterange), transactions, and the two
 * transactions of a cluster (campaign, write while leading). */
#include "clients/etcd.h"
#include "clients/etcd_internal.h"

#include "util/base64.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX 96

/* ---- freeing results ---- */

void etcd_kv_fini(struct etcd_kv *kv) {
  if (kv == NULL)
    return;
  free(kv->key);
  free(kv->value);
  memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_fini(struct etcd_kvs *kvs) {
  if (kvs == NULL)
    return;
  for (size_t i = 0; i < kvs->n; i++)
    etcd_kv_fini(&kvs->kv[i]);
  free(kvs->kv);
  memset(kvs, 0, sizeof(*kvs));
}

void etcd_txn_result_fini(struct etcd_txn_result *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_ranges; i++)
    etcd_kvs_fini(&r->ranges[i]);
  free(r->ranges);
  memset(r, 0, sizeof(*r));
}

/* ---- request bodies ---- */

/* Appends "name":"<data[0..len) in base64>". */
static int put_bytes(struct buf *b, const char *name, const void *data,
                     size_t len) {
  int rc = buf_printf(b, "\"%s\":\"", name);
  if (rc == 0)
    rc = base64_encode(data, len, b);
  if (rc == 0)
    rc = buf_puts(b, "\"");
  return rc;
}

/* The end of the range of the keys that start with key: key with its last
 * byte below 0xff incremented and what follows cut off, or "\0" (the end of
 * the key space) when there is none. A new string of *ret_len bytes (the
 * caller frees), or NULL when memory runs out. */
static char *prefix_end(const char *key, size_t *ret_len) {
  size_t n = strlen(key);
  while (n > 0 && (unsigned char)key[n - 1] == 0xff)
    n--;
  char *end = calloc(1, n + 2);
  if (end == NULL)
    return NULL;
  memcpy(end, key, n);
  if (n > 0)
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
  *ret_len = n > 0 ? n : 1;
  return end;
}

/* Appends "key" and, with prefix, the "range_end" that covers every key
 * starting with key. An empty prefix is every key: "\0" to "\0". */
static int put_range(struct buf *b, const char *key, bool prefix) {
  size_t n = strlen(key), end_len = 0;
  int rc = n == 0 && prefix ? put_bytes(b, "key", "", 1)
                            : put_bytes(b, "key", key, n);
  if (rc != 0 || !prefix)
    return rc;
  char *end = prefix_end(key, &end_len);
  rc = end ? buf_puts(b, ",") : -ENOMEM;
  if (rc == 0)
    rc = put_bytes(b, "range_end", end, end_len);
  free(end);
  return rc;
}

/* Appends the put request fields: key, value and lease. */
static int put_put(struct buf *b, const char *key, const char *value,
                   size_t value_len, int64_t lease) {
  int rc = put_bytes(b, "key", key, strlen(key));
  if (rc == 0)
    rc = buf_puts(b, ",");
  if (rc == 0)
    rc = put_bytes(b, "value", value ? value : "", value ? value_len : 0);
  if (rc == 0 && lease != 0)
    rc = buf_printf(b, ",\"lease\":\"%" PRId64 "\"", lease);
  return rc;
}

/* Appends one operation of a transaction. */
static int put_op(struct buf *b, const struct etcd_op *op) {
  static const char *const names[] = {
      [ETCD_OP_PUT] = "request_put",
      [ETCD_OP_DELETE] = "request_delete_range",
      [ETCD_OP_RANGE] = "request_range",
  };
  int rc = buf_printf(b, "{\"%s\":{", names[op->type]);
  if (rc == 0 && op->type == ETCD_OP_PUT)
    rc = put_put(b, op->key, op->value, op->value_len, op->lease);
  else if (rc == 0)
    rc = put_range(b, op->key, op->prefix);
  return rc == 0 ? buf_puts(b, "}}") : rc;
}

/* Appends one compare of a transaction. */
static int put_compare(struct buf *b, const struct etcd_compare *cmp) {
  static const char *const targets[] = {"VALUE", "VERSION", "CREATE", "MOD",
                                        "LEASE"};
  static const char *const fields[] = {"value", "version", "create_revision",
                                       "mod_revision", "lease"};
  static const char *const results[] = {"EQUAL", "NOT_EQUAL", "GREATER",
                                        "LESS"};
  int rc = buf_puts(b, "{");
  if (rc == 0)
    rc = put_bytes(b, "key", cmp->key, strlen(cmp->key));
  if (rc == 0)
    rc = buf_printf(b, ",\"target\":\"%s\",\"result\":\"%s\",",
                    targets[cmp->target], results[cmp->result]);
  if (rc == 0 && cmp->target == ETCD_VALUE)
    rc = put_bytes(b, "value", cmp->value ? cmp->value : "",
                   cmp->value ? cmp->value_len : 0);
  else if (rc == 0)
    rc = buf_printf(b, "\"%s\":\"%" PRId64 "\"", fields[cmp->target],
                    cmp->number);
  return rc == 0 ? buf_puts(b, "}") : rc;
}

/* Appends ,"name":[ops] (nothing when n is 0). */
static int put_ops(struct buf *b, const char *name, const struct etcd_op *ops,
                   size_t n) {
  int rc = n > 0 ? buf_printf(b, ",\"%s\":[", name) : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = i > 0 ? buf_puts(b, ",") : 0;
    if (rc == 0)
      rc = put_op(b, &ops[i]);
  }
  return rc == 0 && n > 0 ? buf_puts(b, "]") : rc;
}

/* The whole body of a txn request. */
static int put_txn(struct buf *b, const struct etcd_txn *t) {
  int rc = buf_puts(b, "{\"compare\":[");
  for (size_t i = 0; rc == 0 && i < t->n_compare; i++) {
    rc = i > 0 ? buf_puts(b, ",") : 0;
    if (rc == 0)
      rc = put_compare(b, &t->compare[i]);
  }
  if (rc == 0)
    rc = buf_puts(b, "]");
  if (rc == 0)
    rc = put_ops(b, "success", t->success, t->n_success);
  if (rc == 0)
    rc = put_ops(b, "failure", t->failure, t->n_failure);
  return rc == 0 ? buf_puts(b, "}") : rc;
}

/* ---- checking arguments ---- */

/* Why op cannot be sent, or NULL. */
static const char *bad_op(const struct etcd_op *op) {
  if (op->type != ETCD_OP_PUT && op->type != ETCD_OP_DELETE &&
      op->type != ETCD_OP_RANGE)
    return "an operation of unknown type";
  if (op->key == NULL || (op->key[0] == '\0' && !op->prefix))
    return "an operation without a key";
  if (op->key[0] == '\0' && op->type == ETCD_OP_DELETE)
    return "a delete of every key";
  if (op->type == ETCD_OP_PUT && op->key[0] == '\0')
    return "a put without a key";
  return NULL;
}

/* Why cmp cannot be sent, or NULL. */
static const char *bad_compare(const struct etcd_compare *cmp) {
  if (cmp->key == NULL || cmp->key[0] == '\0')
    return "a compare without a key";
  if ((unsigned)cmp->target > ETCD_LEASE || (unsigned)cmp->result > ETCD_LESS)
    return "a compare of unknown target or result";
  return NULL;
}

/* Why t cannot be sent, or NULL. */
static const char *bad_txn(const struct etcd_txn *t) {
  const char *why = NULL;
  if (t->n_compare + t->n_success + t->n_failure == 0)
    return "an empty transaction";
  for (size_t i = 0; why == NULL && i < t->n_compare; i++)
    why = bad_compare(&t->compare[i]);
  for (size_t i = 0; why == NULL && i < t->n_success; i++)
    why = bad_op(&t->success[i]);
  for (size_t i = 0; why == NULL && i < t->n_failure; i++)
    why = bad_op(&t->failure[i]);
  return why;
}

/* ---- reading answers ---- */

/* Decodes the base64 string o[key] into a new NUL-terminated copy *ret of
 * *ret_len bytes (the caller frees). Absent or null is "" unless required.
 * Returns 0, -EPROTO with err naming where.key, or -ENOMEM. */
static int get_bytes(json_object *o, const char *key, bool required, char **ret,
                     size_t *ret_len, const char *where, struct err *err) {
  json_object *v = NULL;
  struct buf b;
  *ret = NULL;
  *ret_len = 0;
  bool present = json_object_object_get_ex(o, key, &v) && v != NULL;
  if (present && !json_object_is_type(v, json_type_string)) {
    err_set(err, "%s.%s is a JSON %s, not a string", where, key,
            json_type_to_name(json_object_get_type(v)));
    return -EPROTO;
  }
  if (!present && required) {
    err_set(err, "%s has no \"%s\"", where, key);
    return -EPROTO;
  }
  buf_init(&b, ETCD_REQUEST_MAX);
  const char *text = present ? json_object_get_string(v) : "";
  int rc = base64_decode(
      text, present ? (size_t)json_object_get_string_len(v) : 0, &b);
  if (rc == -EINVAL || rc == -EMSGSIZE) {
    err_set(err, "%s.%s is not base64", where, key);
    rc = -EPROTO;
  }
  size_t len = b.len;
  if (rc == 0 && (*ret = buf_detach(&b)) == NULL)
    rc = -ENOMEM;
  if (rc == 0)
    *ret_len = len;
  buf_fini(&b);
  return rc;
}

/* Reads the boolean o[key]; absent or null is false. */
static int get_bool(json_object *o, const char *key, bool *ret,
                    const char *where, struct err *err) {
  json_object *v = NULL;
  *ret = false;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (!json_object_is_type(v, json_type_boolean)) {
    err_set(err, "%s.%s is a JSON %s, not a boolean", where, key,
            json_type_to_name(json_object_get_type(v)));
    return -EPROTO;
  }
  *ret = json_object_get_boolean(v);
  return 0;
}

/* Reads one item of "kvs" into kv (freed by the caller also on error). */
static int parse_kv(json_object *o, struct etcd_kv *kv, const char *where,
                    struct err *err) {
  if (!json_object_is_type(o, json_type_object)) {
    err_set(err, "%s is not an object", where);
    return -EPROTO;
  }
  int rc = get_bytes(o, "key", true, &kv->key, &kv->key_len, where, err);
  if (rc == 0)
    rc = get_bytes(o, "value", false, &kv->value, &kv->value_len, where, err);
  if (rc == 0)
    rc = etcd_json_i64(o, "create_revision", &kv->create_revision, where, err);
  if (rc == 0)
    rc = etcd_json_i64(o, "mod_revision", &kv->mod_revision, where, err);
  if (rc == 0)
    rc = etcd_json_i64(o, "version", &kv->version, where, err);
  if (rc == 0)
    rc = etcd_json_i64(o, "lease", &kv->lease, where, err);
  return rc;
}

/* Reads the "kvs" of a range answer o into ret->kv. */
static int parse_kv_array(json_object *o, struct etcd_kvs *ret,
                          const char *where, struct err *err) {
  json_object *arr = NULL;
  char w[WHERE_MAX];
  if (!json_object_object_get_ex(o, "kvs", &arr) || arr == NULL)
    return 0; /* an empty range */
  if (!json_object_is_type(arr, json_type_array)) {
    err_set(err, "%s.kvs is a JSON %s, not an array", where,
            json_type_to_name(json_object_get_type(arr)));
    return -EPROTO;
  }
  size_t n = json_object_array_length(arr);
  if (n == 0)
    return 0;
  ret->kv = calloc(n, sizeof(*ret->kv));
  if (ret->kv == NULL)
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    snprintf(w, sizeof(w), "%s.kvs[%zu]", where, i);
    ret->n = i + 1; /* the item is freed with the others on error */
    rc = parse_kv(json_object_array_get_idx(arr, i), &ret->kv[i], w, err);
  }
  return rc;
}

/* Reads a range answer (the whole answer, or a txn's response_range) into
 * *ret, zeroed first; freed on error. */
static int parse_kvs(json_object *o, struct etcd_kvs *ret, const char *where,
                     struct err *err) {
  memset(ret, 0, sizeof(*ret));
  int rc = etcd_json_revision(o, &ret->revision, where, err);
  if (rc == 0)
    rc = parse_kv_array(o, ret, where, err);
  if (rc == 0)
    rc = etcd_json_i64(o, "count", &ret->count, where, err);
  if (rc == 0)
    rc = get_bool(o, "more", &ret->more, where, err);
  if (rc != 0)
    etcd_kvs_fini(ret);
  return rc;
}

/* The response_range of a txn's response item, NULL for another kind;
 * -EPROTO in *rc for an item that is not an object. */
static json_object *response_range(json_object *item, size_t i, int *rc,
                                   struct err *err) {
  if (!json_object_is_type(item, json_type_object)) {
    err_set(err, "responses[%zu] is not an object", i);
    *rc = -EPROTO;
    return NULL;
  }
  json_object *r = NULL;
  if (!json_object_object_get_ex(item, "response_range", &r) || r == NULL)
    return NULL;
  if (!json_object_is_type(r, json_type_object)) {
    err_set(err, "responses[%zu].response_range is not an object", i);
    *rc = -EPROTO;
    return NULL;
  }
  return r;
}

/* Reads the ranges among a txn's "responses" into ret->ranges. */
static int parse_responses(json_object *root, struct etcd_txn_result *ret,
                           struct err *err) {
  json_object *arr = NULL;
  char w[WHERE_MAX];
  if (!json_object_object_get_ex(root, "responses", &arr) || arr == NULL)
    return 0;
  if (!json_object_is_type(arr, json_type_array)) {
    err_set(err, "responses is a JSON %s, not an array",
            json_type_to_name(json_object_get_type(arr)));
    return -EPROTO;
  }
  size_t n = json_object_array_length(arr);
  ret->ranges = n ? calloc(n, sizeof(*ret->ranges)) : NULL;
  if (n > 0 && ret->ranges == NULL)
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    json_object *r =
        response_range(json_object_array_get_idx(arr, i), i, &rc, err);
    if (r == NULL)
      continue;
    snprintf(w, sizeof(w), "responses[%zu].response_range", i);
    rc = parse_kvs(r, &ret->ranges[ret->n_ranges], w, err);
    if (rc == 0)
      ret->n_ranges++;
  }
  return rc;
}

/* ---- the calls ---- */

/* Prefixes a parse error of an answer to POST path. */
static void answer_prefix(struct err *err, const char *path) {
  err_prefix(err, "etcd: POST %s", path);
}

/* Sets err for a request that cannot be built. */
static int build_error(int rc, const char *path, struct err *err) {
  if (rc == -ENOMEM)
    err_set(err, "etcd: POST %s: out of memory for the request", path);
  else
    err_set(err, "etcd: POST %s: the request is larger than %u bytes", path,
            ETCD_REQUEST_MAX);
  return rc == -ENOMEM ? -ENOMEM : -EMSGSIZE;
}

int etcd_get(struct etcd_client *c, const char *key, bool prefix,
             struct etcd_kvs *ret, struct err *err) {
  static const char path[] = "/v3/kv/range";
  struct buf body;
  json_object *root = NULL;
  memset(ret, 0, sizeof(*ret));
  if (key == NULL || (key[0] == '\0' && !prefix)) {
    err_set(err, "etcd: POST %s: no key", path);
    return -EINVAL;
  }
  buf_init(&body, ETCD_REQUEST_MAX);
  int rc = buf_puts(&body, "{");
  if (rc == 0)
    rc = put_range(&body, key, prefix);
  rc = rc == 0 ? buf_puts(&body, "}") : rc;
  if (rc != 0)
    rc = build_error(rc, path, err);
  else if ((rc = etcd_call(c, path, &body, &root, err)) == 0 &&
           (rc = parse_kvs(root, ret, "the answer", err)) != 0)
    answer_prefix(err, path);
  json_object_put(root);
  buf_fini(&body);
  return rc;
}

int etcd_put(struct etcd_client *c, const char *key, const char *value,
             size_t value_len, int64_t lease, int64_t *ret_revision,
             struct err *err) {
  static const char path[] = "/v3/kv/put";
  struct buf body;
  json_object *root = NULL;
  int64_t rev = 0;
  if (key == NULL || key[0] == '\0') {
    err_set(err, "etcd: POST %s: no key", path);
    return -EINVAL;
  }
  buf_init(&body, ETCD_REQUEST_MAX);
  int rc = buf_puts(&body, "{");
  if (rc == 0)
    rc = put_put(&body, key, value, value_len, lease);
  rc = rc == 0 ? buf_puts(&body, "}") : rc;
  if (rc != 0)
    rc = build_error(rc, path, err);
  else if ((rc = etcd_call(c, path, &body, &root, err)) == 0 &&
           (rc = etcd_json_revision(root, &rev, "the answer", err)) != 0)
    answer_prefix(err, path);
  if (ret_revision != NULL)
    *ret_revision = rc == 0 ? rev : 0;
  json_object_put(root);
  buf_fini(&body);
  return rc;
}

int etcd_delete(struct etcd_client *c, const char *key, bool prefix,
                int64_t *ret_deleted, struct err *err) {
  static const char path[] = "/v3/kv/deleterange";
  struct buf body;
  json_object *root = NULL;
  int64_t deleted = 0, rev = 0;
  if (key == NULL || key[0] == '\0') {
    err_set(err, "etcd: POST %s: no key", path);
    return -EINVAL;
  }
  buf_init(&body, ETCD_REQUEST_MAX);
  int rc = buf_puts(&body, "{");
  if (rc == 0)
    rc = put_range(&body, key, prefix);
  rc = rc == 0 ? buf_puts(&body, "}") : rc;
  if (rc != 0)
    rc = build_error(rc, path, err);
  else if ((rc = etcd_call(c, path, &body, &root, err)) == 0 &&
           ((rc = etcd_json_revision(root, &rev, "the answer", err)) != 0 ||
            (rc = etcd_json_i64(root, "deleted", &deleted, "the answer",
                                err)) != 0))
    answer_prefix(err, path);
  if (ret_deleted != NULL)
    *ret_deleted = rc == 0 ? deleted : 0;
  json_object_put(root);
  buf_fini(&body);
  return rc;
}

/* Reads a txn answer into *ret. */
static int parse_txn(json_object *root, struct etcd_txn_result *ret,
                     struct err *err) {
  int rc = etcd_json_revision(root, &ret->revision, "the answer", err);
  if (rc == 0)
    rc = get_bool(root, "succeeded", &ret->succeeded, "the answer", err);
  if (rc == 0)
    rc = parse_responses(root, ret, err);
  return rc;
}

int etcd_txn(struct etcd_client *c, const struct etcd_txn *txn,
             struct etcd_txn_result *ret, struct err *err) {
  static const char path[] = "/v3/kv/txn";
  struct buf body;
  json_object *root = NULL;
  memset(ret, 0, sizeof(*ret));
  const char *why = bad_txn(txn);
  if (why != NULL) {
    err_set(err, "etcd: POST %s: %s", path, why);
    return -EINVAL;
  }
  buf_init(&body, ETCD_REQUEST_MAX);
  int rc = put_txn(&body, txn);
  if (rc != 0)
    rc = build_error(rc, path, err);
  else if ((rc = etcd_call(c, path, &body, &root, err)) == 0 &&
           (rc = parse_txn(root, ret, err)) != 0)
    answer_prefix(err, path);
  if (rc != 0)
    etcd_txn_result_fini(ret);
  json_object_put(root);
  buf_fini(&body);
  return rc;
}

/* ---- the cluster's transactions ---- */

/* True when kv holds value under lease (not 0). */
static bool held_by(const struct etcd_kv *kv, const char *value, size_t len,
                    int64_t lease) {
  return lease != 0 && kv->lease == lease && kv->value_len == len &&
         (len == 0 || memcmp(kv->value, value, len) == 0);
}

int etcd_create_if_absent(struct etcd_client *c, const char *key,
                          const char *value, size_t value_len, int64_t lease,
                          bool *ret_created, struct etcd_kv *ret_current,
                          struct err *err) {
  struct etcd_compare absent = {
      .key = key, .target = ETCD_CREATE, .result = ETCD_EQUAL, .number = 0};
  struct etcd_op put = {.type = ETCD_OP_PUT,
                        .key = key,
                        .value = value,
                        .value_len = value_len,
                        .lease = lease};
  struct etcd_op get = {.type = ETCD_OP_RANGE, .key = key};
  struct etcd_txn txn = {&absent, 1, &put, 1, &get, 1};
  struct etcd_txn_result res;
  *ret_created = false;
  if (ret_current != NULL)
    memset(ret_current, 0, sizeof(*ret_current));
  int rc = etcd_txn(c, &txn, &res, err);
  if (rc != 0)
    return rc;
  *ret_created = res.succeeded;
  if (!res.succeeded && res.n_ranges == 1 && res.ranges[0].n == 1) {
    struct etcd_kv *kv = &res.ranges[0].kv[0];
    *ret_created = held_by(kv, value, value_len, lease);
    if (!*ret_created && ret_current != NULL) {
      *ret_current = *kv; /* handed over */
      memset(kv, 0, sizeof(*kv));
    }
  }
  etcd_txn_result_fini(&res);
  return 0;
}

int etcd_leader_put(struct etcd_client *c, const char *leader_key,
                    const char *name, const struct etcd_op *ops, size_t n_ops,
                    int64_t *ret_revision, struct err *err) {
  struct etcd_compare mine = {.key = leader_key,
                              .target = ETCD_VALUE,
                              .result = ETCD_EQUAL,
                              .value = name,
                              .value_len = name ? strlen(name) : 0};
  struct etcd_txn txn = {&mine, 1, ops, n_ops, NULL, 0};
  struct etcd_txn_result res;
  if (ret_revision != NULL)
    *ret_revision = 0;
  if (n_ops == 0 || name == NULL) {
    err_set(err, "etcd: POST /v3/kv/txn: nothing to write");
    return -EINVAL;
  }
  int rc = etcd_txn(c, &txn, &res, err);
  if (rc == 0 && !res.succeeded) {
    err_set(err,
            "etcd: POST /v3/kv/txn: %s is not held by %s: nothing "
            "written",
            leader_key, name);
    rc = -EPERM;
  }
  if (rc == 0 && ret_revision != NULL)
    *ret_revision = res.revision;
  etcd_txn_result_fini(&res);
  return rc;
}
