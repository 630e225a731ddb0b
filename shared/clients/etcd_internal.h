/* SPDX-License-Identifier: MIT */
/* What the etcd client's files share (etcd_client.c: the client, its requests
 * and leases; etcd_kv.c: keys and transactions); included by them only. */
#ifndef RUNSCOPE_ETCD_INTERNAL_H
#define RUNSCOPE_ETCD_INTERNAL_H

#include "clients/etcd.h"
#include "util/buf.h"
#include "util/jsonx.h"

#include <stdint.h>

/* The largest request body the client builds; etcd's own limit (1.5 MiB by
 * default) is usually lower and answers "request is too large". */
#define ETCD_REQUEST_MAX (64u << 20)

/* POSTs body (JSON) to path ("/v3/kv/range") on the client's endpoints,
 * authenticated when the client has a user. On a 2xx answer that is a JSON
 * object without an "error" member, returns 0 with *ret the root (the
 * caller releases it with json_object_put). Otherwise returns the errno
 * that etcd.h lists, with err set to "etcd: POST <path>: <cause>". */
int etcd_call(struct etcd_client *c, const char *path, const struct buf *body,
              json_object **ret, struct err *err);

/* Reads o[key], an int64 as the gateway sends it (a JSON string of decimal
 * digits, or a JSON integer), into *ret. Absent or null is 0: the gateway
 * leaves out fields that are zero. Returns 0, or -EPROTO with err naming
 * where.key. */
int etcd_json_i64(json_object *o, const char *key, int64_t *ret,
                  const char *where, struct err *err);

/* Reads the revision of o's "header" (which every answer has) into *ret.
 * Returns 0, or -EPROTO with err naming where. */
int etcd_json_revision(json_object *o, int64_t *ret, const char *where,
                       struct err *err);

#endif
