/* SPDX-License-Identifier: MIT */
/* A small etcd v3 JSON gateway behind the engine's transport seam: leases
 * (grant, keepalive, revoke, expiry on the fake clock), range, and the
 * transactions the cluster sends (compare CREATE or LEASE, puts and
 * ranges), answered in etcd 3.4's shapes (int64 as strings, base64 keys
 * and values, zero fields left out). Requests to other hosts go to the
 * Runscope/xMatters fake (engine_fake.h). */
#ifndef RUNSCOPE_ETCD_FAKE_H
#define RUNSCOPE_ETCD_FAKE_H

#include "engine_fake.h"
#include "util/base64.h"

#include <inttypes.h>

#define FE_BASE "http://127.0.0.1:3"
#define FE_KVS_MAX 96
#define FE_LEASES_MAX 8

struct fe_kv {
  char key[256];
  char *value;
  size_t len;
  int64_t lease, create;
};

struct fe_lease {
  int64_t id;
  int64_t ttl;
  double expires; /* on the fake's monotonic clock */
};

struct fetcd {
  struct efake *ef;
  struct fe_kv kv[FE_KVS_MAX];
  size_t n_kv;
  struct fe_lease leases[FE_LEASES_MAX];
  size_t n_leases;
  int64_t rev, next_lease;
  bool down;          /* every request times out */
  bool deny;          /* every request is refused: 401, UNAUTHENTICATED */
  size_t refuse_from; /* from this transaction on (1: the first), every
                       * transaction's compares fail; 0: never */
  /* on the next Runscope results read: the monotonic clock jumps by
   * jump_on_read seconds and etcd goes down (a leader stalled mid-cycle) */
  double jump_on_read;
  /* after the next look-up of a key's events, an ACTIVE event of the key
   * appears (another agent paged) */
  bool event_after_lookup;
  size_t grants, keepalives, revokes, txns, puts, ranges;
};

static inline json_object *fe_b64(const char *s, size_t n) {
  struct buf b;
  buf_init(&b, 1u << 24);
  ck_assert_int_eq(base64_encode(s, n, &b), 0);
  json_object *o = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
  buf_fini(&b);
  return o;
}

/* Decodes the base64 member name of o into out (NUL-terminated). */
static inline size_t fe_unb64(json_object *o, const char *name,
                              struct buf *out) {
  json_object *v = NULL;
  buf_reset(out);
  if (!json_object_object_get_ex(o, name, &v))
    return 0;
  const char *s = json_object_get_string(v);
  ck_assert_int_eq(base64_decode(s, strlen(s), out), 0);
  ck_assert_int_eq(buf_append(out, "", 1), 0);
  return out->len - 1;
}

static inline int64_t fe_i64(json_object *o, const char *name) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : 0;
}

static inline json_object *fe_str64(int64_t n) {
  char s[32];
  snprintf(s, sizeof(s), "%" PRId64, n);
  return json_object_new_string(s);
}

/* Every answer carries etcd's header. */
static inline json_object *fe_header(const struct fetcd *f) {
  json_object *o = json_object_new_object();
  ef_put(o, "cluster_id", ef_s("324952591200643719"));
  ef_put(o, "member_id", ef_s("3319814642761637952"));
  ef_put(o, "revision", fe_str64(f->rev));
  ef_put(o, "raft_term", ef_s("2"));
  return o;
}

static inline void fe_del(struct fetcd *f, size_t i) {
  free(f->kv[i].value);
  f->kv[i] = f->kv[--f->n_kv];
}

/* Expires the leases whose time is over, with their keys. */
static inline void fe_expire(struct fetcd *f) {
  for (size_t i = 0; i < f->n_leases;) {
    if (f->leases[i].expires > f->ef->mono) {
      i++;
      continue;
    }
    for (size_t k = 0; k < f->n_kv;)
      if (f->kv[k].lease == f->leases[i].id)
        fe_del(f, k);
      else
        k++;
    f->leases[i] = f->leases[--f->n_leases];
  }
}

static inline struct fe_lease *fe_lease(struct fetcd *f, int64_t id) {
  for (size_t i = 0; i < f->n_leases; i++)
    if (f->leases[i].id == id)
      return &f->leases[i];
  return NULL;
}

static inline struct fe_kv *fe_find(struct fetcd *f, const char *key) {
  for (size_t i = 0; i < f->n_kv; i++)
    if (strcmp(f->kv[i].key, key) == 0)
      return &f->kv[i];
  return NULL;
}

/* Puts key = value[0..len) bound to lease (the other agent's, in tests). */
static inline void fe_put(struct fetcd *f, const char *key, const char *value,
                          size_t len, int64_t lease) {
  struct fe_kv *kv = fe_find(f, key);
  if (kv == NULL) {
    ck_assert_uint_lt(f->n_kv, FE_KVS_MAX);
    kv = &f->kv[f->n_kv++];
    memset(kv, 0, sizeof(*kv));
    ef_copy(kv->key, sizeof(kv->key), key);
    kv->create = f->rev + 1;
  }
  free(kv->value);
  kv->value = malloc(len + 1);
  memcpy(kv->value, value, len);
  kv->value[len] = '\0';
  kv->len = len;
  kv->lease = lease;
  f->rev++;
  f->puts++;
}

static inline json_object *fe_kv_json(const struct fe_kv *kv) {
  json_object *o = json_object_new_object();
  ef_put(o, "key", fe_b64(kv->key, strlen(kv->key)));
  ef_put(o, "create_revision", fe_str64(kv->create));
  ef_put(o, "mod_revision", fe_str64(kv->create));
  ef_put(o, "version", fe_str64(1));
  if (kv->len > 0)
    ef_put(o, "value", fe_b64(kv->value, kv->len));
  if (kv->lease != 0)
    ef_put(o, "lease", fe_str64(kv->lease));
  return o;
}

/* A range: the key, or every key below range_end. */
static inline json_object *fe_range(struct fetcd *f, json_object *in) {
  struct buf key, end;
  buf_init(&key, 4096);
  buf_init(&end, 4096);
  fe_unb64(in, "key", &key);
  bool prefix = fe_unb64(in, "range_end", &end) > 0;
  json_object *kvs = json_object_new_array(), *out = json_object_new_object();
  ef_put(out, "header", fe_header(f));
  for (size_t i = 0; i < f->n_kv; i++) {
    int lo = strcmp(f->kv[i].key, key.data);
    if (lo == 0 || (prefix && lo > 0 && strcmp(f->kv[i].key, end.data) < 0))
      json_object_array_add(kvs, fe_kv_json(&f->kv[i]));
  }
  size_t n = json_object_array_length(kvs);
  if (n > 0) {
    ef_put(out, "kvs", kvs);
    ef_put(out, "count", fe_str64((int64_t)n));
  } else {
    json_object_put(kvs);
  }
  buf_fini(&key);
  buf_fini(&end);
  f->ranges++;
  return out;
}

static inline bool fe_compare(struct fetcd *f, json_object *cmp) {
  struct buf key;
  buf_init(&key, 4096);
  fe_unb64(cmp, "key", &key);
  struct fe_kv *kv = fe_find(f, key.data);
  buf_fini(&key);
  json_object *t = NULL;
  json_object_object_get_ex(cmp, "target", &t);
  if (strcmp(json_object_get_string(t), "CREATE") == 0)
    return (kv ? kv->create : 0) == fe_i64(cmp, "create_revision");
  ck_assert_str_eq(json_object_get_string(t), "LEASE");
  return (kv ? kv->lease : 0) == fe_i64(cmp, "lease");
}

static inline void fe_op(struct fetcd *f, json_object *op, json_object *resps) {
  json_object *put = NULL, *range = NULL;
  json_object *r = json_object_new_object();
  if (json_object_object_get_ex(op, "request_put", &put)) {
    struct buf key, value;
    buf_init(&key, 4096);
    buf_init(&value, 1u << 24);
    fe_unb64(put, "key", &key);
    size_t n = fe_unb64(put, "value", &value);
    fe_put(f, key.data, value.data ? value.data : "", n, fe_i64(put, "lease"));
    ef_put(r, "response_put", json_object_new_object());
    buf_fini(&key);
    buf_fini(&value);
  } else {
    ck_assert(json_object_object_get_ex(op, "request_range", &range));
    ef_put(r, "response_range", fe_range(f, range));
  }
  json_object_array_add(resps, r);
}

static inline json_object *fe_txn(struct fetcd *f, json_object *in) {
  json_object *cmps = NULL, *ops = NULL;
  bool ok = f->refuse_from == 0 || f->txns + 1 < f->refuse_from;
  json_object_object_get_ex(in, "compare", &cmps);
  for (size_t i = 0; ok && cmps && i < json_object_array_length(cmps); i++)
    ok = fe_compare(f, json_object_array_get_idx(cmps, i));
  json_object *out = json_object_new_object(), *resps = json_object_new_array();
  ef_put(out, "header", fe_header(f));
  json_object_object_get_ex(in, ok ? "success" : "failure", &ops);
  for (size_t i = 0; ops && i < json_object_array_length(ops); i++)
    fe_op(f, json_object_array_get_idx(ops, i), resps);
  if (ok)
    ef_put(out, "succeeded", json_object_new_boolean(1));
  ef_put(out, "responses", resps);
  f->txns++;
  return out;
}

static inline json_object *fe_lease_call(struct fetcd *f, const char *path,
                                         json_object *in) {
  json_object *out = json_object_new_object();
  if (strcmp(path, "/v3/lease/keepalive") != 0)
    ef_put(out, "header", fe_header(f));
  if (strcmp(path, "/v3/lease/grant") == 0) {
    ck_assert_uint_lt(f->n_leases, FE_LEASES_MAX);
    int64_t ttl = fe_i64(in, "TTL");
    struct fe_lease *l = &f->leases[f->n_leases++];
    l->id = ++f->next_lease + 1000;
    l->ttl = ttl;
    l->expires = f->ef->mono + (double)ttl;
    ef_put(out, "ID", fe_str64(l->id));
    ef_put(out, "TTL", fe_str64(ttl));
    f->grants++;
    return out;
  }
  struct fe_lease *l = fe_lease(f, fe_i64(in, "ID"));
  if (strcmp(path, "/v3/lease/keepalive") == 0) {
    json_object *res = json_object_new_object();
    ef_put(res, "header", fe_header(f));
    ef_put(res, "ID", fe_str64(fe_i64(in, "ID")));
    if (l != NULL) {
      l->expires = f->ef->mono + (double)l->ttl;
      ef_put(res, "TTL", fe_str64(l->ttl));
    }
    ef_put(out, "result", res);
    f->keepalives++;
    return out;
  }
  ck_assert_str_eq(path, "/v3/lease/revoke");
  if (l != NULL)
    l->expires = 0;
  fe_expire(f);
  f->revokes++;
  return out;
}

static inline int fe_transport(void *ctx, const struct http_request *req,
                               struct http_response *resp, struct err *err) {
  struct fetcd *f = ctx;
  if (strncmp(req->url, FE_BASE, strlen(FE_BASE)) != 0) {
    size_t mark = f->ef->n_reqs;
    int rc = ef_transport(f->ef, req, resp, err);
    const struct ef_req *r = &f->ef->reqs[mark];
    if (r->route == EF_RESULTS && f->jump_on_read > 0) {
      f->ef->mono += f->jump_on_read;
      f->jump_on_read = 0;
      f->down = true;
    }
    if (r->route == EF_EVENTS && r->subject[0] && f->event_after_lookup) {
      ef_add_event(f->ef, r->subject, "ACTIVE");
      f->event_after_lookup = false;
    }
    return rc;
  }
  if (f->down) {
    err_set(err, "POST %s: timed out", req->url);
    return -ETIMEDOUT;
  }
  if (f->deny) {
    resp->status = 401;
    buf_reset(&resp->body);
    return buf_puts(&resp->body, "{\"error\":\"etcdserver: invalid auth "
                                 "token\",\"code\":16,\"message\":"
                                 "\"etcdserver: invalid auth token\"}");
  }
  fe_expire(f);
  const char *path = req->url + strlen(FE_BASE);
  json_object *in = json_tokener_parse(req->body), *out;
  ck_assert_ptr_nonnull(in);
  if (strcmp(path, "/v3/kv/txn") == 0)
    out = fe_txn(f, in);
  else if (strcmp(path, "/v3/kv/range") == 0)
    out = fe_range(f, in);
  else
    out = fe_lease_call(f, path, in);
  json_object_put(in);
  resp->status = 200;
  buf_reset(&resp->body);
  int rc = buf_puts(
      &resp->body, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
  json_object_put(out);
  return rc;
}

static inline void fe_fini(struct fetcd *f) {
  while (f->n_kv > 0)
    fe_del(f, 0);
}

#endif
