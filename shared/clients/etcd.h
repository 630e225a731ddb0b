/* SPDX-License-Identifier: MIT */
/* etcd v3 client over the JSON gateway: leases, keys, transactions, and the
 * two transactions a cluster of agents runs (campaign, write while leading). */
#ifndef RUNSCOPE_ETCD_H
#define RUNSCOPE_ETCD_H

#include "transport/http.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What etcd_new needs. Every pointer is borrowed for the call (copied). */
struct etcd_opts {
  /* Base URLs of the gateway ("https://etcd1.example.com:2379"), tried in
   * turn when one does not answer. */
  const char *const *endpoints;
  size_t n_endpoints;
  const char *user;     /* etcd authentication, or NULL for none */
  const char *password; /* of user */
  int max_json_depth;   /* of an answer; < 1: 64 */
};

/* A key and its value as range gives them. key and value are heap copies,
 * NUL-terminated after their lengths (values may hold any byte). */
struct etcd_kv {
  char *key;
  size_t key_len;
  char *value;
  size_t value_len;
  int64_t create_revision;
  int64_t mod_revision;
  int64_t version; /* puts since the key was created */
  int64_t lease;   /* 0: none */
};

/* The keys of a range, in key order. */
struct etcd_kvs {
  struct etcd_kv *kv; /* n items; NULL when n is 0 */
  size_t n;
  int64_t count;    /* keys in the range (more than n when more is set) */
  bool more;        /* the answer left keys out */
  int64_t revision; /* the store's revision when the range was read */
};

/* Frees the copies of kv and zeroes it; NULL is a no-op. */
void etcd_kv_fini(struct etcd_kv *kv);
/* Frees every kv and the array and zeroes kvs; NULL is a no-op. */
void etcd_kvs_fini(struct etcd_kvs *kvs);

/* What a compare looks at, and how it compares (etcd's Compare). */
enum etcd_target {
  ETCD_VALUE,   /* value_len bytes of value */
  ETCD_VERSION, /* number: the key's version (0: absent) */
  ETCD_CREATE,  /* number: its create revision (0: absent) */
  ETCD_MOD,     /* number: its mod revision */
  ETCD_LEASE    /* number: its lease id (0: none) */
};
enum etcd_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_GREATER, ETCD_LESS };

struct etcd_compare {
  const char *key;
  enum etcd_target target;
  enum etcd_result result;
  const char *value; /* ETCD_VALUE */
  size_t value_len;
  int64_t number; /* the other targets */
};

enum etcd_op_type { ETCD_OP_PUT, ETCD_OP_DELETE, ETCD_OP_RANGE };

/* One operation of a transaction. */
struct etcd_op {
  enum etcd_op_type type;
  const char *key;
  bool prefix;       /* DELETE, RANGE: every key that starts with key */
  const char *value; /* PUT */
  size_t value_len;
  int64_t lease; /* PUT: bind the key to this lease; 0: none */
};

/* A transaction: when every compare holds, the success operations run,
 * otherwise the failure operations, all in one revision. */
struct etcd_txn {
  const struct etcd_compare *compare;
  size_t n_compare;
  const struct etcd_op *success;
  size_t n_success;
  const struct etcd_op *failure;
  size_t n_failure;
};

/* What a transaction did. */
struct etcd_txn_result {
  bool succeeded;   /* the compares held: the success operations ran */
  int64_t revision; /* the store's revision after it */
  /* one item per RANGE operation of the branch that ran, in order */
  struct etcd_kvs *ranges;
  size_t n_ranges;
};

/* Frees the ranges and zeroes r; NULL is a no-op. */
void etcd_txn_result_fini(struct etcd_txn_result *r);

struct etcd_client;

/* Creates a client that sends through http (borrowed; its timeout and
 * answer cap apply to every request). Returns NULL when opts names no
 * endpoint or memory runs out. Free with etcd_free. A client (its token,
 * the endpoint it last reached) is for one thread at a time. */
struct etcd_client *etcd_new(struct http_client *http,
                             const struct etcd_opts *opts);

/* Frees the client (and forgets its token); NULL is a no-op. */
void etcd_free(struct etcd_client *c);

/* The calls below POST to <endpoint>/v3/... and return 0, or a negative
 * errno with err naming the call and the cause
 * ("etcd: POST /v3/kv/txn: HTTP 413: etcdserver: request is too large"):
 *   -ENOENT     the lease is gone (gRPC NOT_FOUND), or a 404
 *   -EACCES     authentication failed or was refused (401, 403, gRPC
 *               UNAUTHENTICATED or PERMISSION_DENIED)
 *   -EMSGSIZE   the request is larger than etcd takes (413, "request is
 *               too large", gRPC "larger than max")
 *   -EAGAIN     429 or 5xx: try later
 *   -EINVAL     another 4xx, or arguments the call refuses
 *   -EPROTO     an answer that is not the documented JSON
 *   and the transport errors of http_do from the last endpoint tried, when
 *   none answered (see http_maybe_sent).
 * With a user, the first call authenticates (POST /v3/auth/authenticate)
 * and sends the token in the Authorization header; when etcd says the token
 * is invalid or expired, the call authenticates again once and is retried.
 * Passwords and tokens never appear in err. */

/* Grants a lease of ttl seconds: its id into *ret_id and the TTL etcd gave
 * into *ret_ttl (may be NULL). */
int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *ret_id,
                     int64_t *ret_ttl, struct err *err);

/* Renews lease id once: the seconds it has left into *ret_ttl. -ENOENT when
 * the lease is gone (expired or revoked): the keys bound to it are gone
 * too. */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ret_ttl,
                         struct err *err);

/* The seconds lease id has left into *ret_ttl, without renewing it (POST
 * /v3/lease/timetolive: a reader's look, e.g. at the leader's lease).
 * -ENOENT when the lease is gone (etcd answers a TTL of -1). */
int etcd_lease_ttl(struct etcd_client *c, int64_t id, int64_t *ret_ttl,
                   struct err *err);

/* Revokes lease id, deleting the keys bound to it. -ENOENT when it was
 * already gone. */
int etcd_lease_revoke(struct etcd_client *c, int64_t id, struct err *err);

/* Reads key, or with prefix every key that starts with key ("" with prefix:
 * every key), into *ret (caller frees with etcd_kvs_fini; zeroed on error).
 * An absent key gives n == 0. */
int etcd_get(struct etcd_client *c, const char *key, bool prefix,
             struct etcd_kvs *ret, struct err *err);

/* Puts value[0..value_len) at key, bound to lease unless it is 0 (-ENOENT
 * when that lease is gone). *ret_revision (may be NULL) gets the store's
 * revision after the put. */
int etcd_put(struct etcd_client *c, const char *key, const char *value,
             size_t value_len, int64_t lease, int64_t *ret_revision,
             struct err *err);

/* Deletes key, or with prefix every key that starts with key (not ""):
 * how many into *ret_deleted (may be NULL). */
int etcd_delete(struct etcd_client *c, const char *key, bool prefix,
                int64_t *ret_deleted, struct err *err);

/* Runs txn (at least one operation or compare) into *ret (caller frees with
 * etcd_txn_result_fini; zeroed on error). Returns 0 whether or not the
 * compares held: ret->succeeded says. */
int etcd_txn(struct etcd_client *c, const struct etcd_txn *txn,
             struct etcd_txn_result *ret, struct err *err);

/* Campaign: puts value at key bound to lease only if key does not exist
 * (compare CREATE revision == 0). *ret_created says whether it did. When it
 * did not, *ret_current (may be NULL; caller frees with etcd_kv_fini) gets
 * the key as it is, e.g. the leader's name. A key that already holds value
 * under this same lease (lease != 0) counts as created: it is what a retry
 * after a lost answer finds. */
int etcd_create_if_absent(struct etcd_client *c, const char *key,
                          const char *value, size_t value_len, int64_t lease,
                          bool *ret_created, struct etcd_kv *ret_current,
                          struct err *err);

/* Write while leading: runs ops (usually puts) only if leader_key's value
 * is name. Returns 0 when they ran, -EPERM (nothing written) when another
 * agent leads or nobody does, or an error of the calls above.
 * *ret_revision (may be NULL) gets the store's revision after it. */
int etcd_leader_put(struct etcd_client *c, const char *leader_key,
                    const char *name, const struct etcd_op *ops, size_t n_ops,
                    int64_t *ret_revision, struct err *err);

#endif
