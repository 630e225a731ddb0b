/* SPDX-License-Identifier: MIT */
/* The state's copy in etcd, for a cluster: the state file's JSON split into
 * STATE_ETCD_PARTS values "<prefix>NN", each a complete state document of
 * its own (format, version, and the entries of its part).
 *
 * Every entry of a top-level array of the state (keys, cursors, responses,
 * forward, traffic) goes to the part that the FNV-1a hash of its identity
 * picks (its "key", else its "bucket_key" and "test_id"), so a part changes
 * only when one of its entries does, and 5,000 tests come to about 80 per
 * part, far below etcd's value limit (1.5 MiB by default). The state's
 * other top-level members (when each API last answered) are in part 0
 * alone. Loading merges the arrays of every part into one document read by
 * state_from_json. */
#ifndef RUNSCOPE_STATE_ETCD_H
#define RUNSCOPE_STATE_ETCD_H

#include "clients/etcd.h"
#include "core/reconcile.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_ETCD_PARTS 64
/* The bytes of values one transaction carries at most (etcd refuses a
 * request larger than 1.5 MiB by default). */
#define STATE_ETCD_TXN_BYTES (1u << 20)

/* What etcd holds as far as this agent knows: the digest of each part. */
struct state_etcd {
  uint64_t digest[STATE_ETCD_PARTS];
  bool known[STATE_ETCD_PARTS];
};

/* The texts of the parts of *st: texts[i] (caller frees each) of lens[i]
 * bytes. Returns 0, -ENOMEM, or an error of state_to_json. */
int state_etcd_split(const struct rec_state *st, char *texts[STATE_ETCD_PARTS],
                     size_t lens[STATE_ETCD_PARTS]);

/* Merges n part texts into *st (initialised; left empty on error).
 * Returns 0, -EBADMSG (a part or the whole is not a valid state, err says
 * why) or -ENOMEM. */
int state_etcd_merge(const char *const *texts, const size_t *lens, size_t n,
                     int max_depth, struct rec_state *st, struct err *err);

/* Reads every part under prefix into *st and records their digests in *se.
 * Returns 0, -ENOENT when etcd holds no part (*st untouched), -EBADMSG, or
 * an error of the etcd calls. */
int state_etcd_load(struct etcd_client *c, const char *prefix, int max_depth,
                    struct state_etcd *se, struct rec_state *st,
                    struct err *err);

/* Writes the parts of *st whose text differs from what *se records (every
 * part when it records nothing), in transactions of at most
 * STATE_ETCD_TXN_BYTES that each run only when leader holds. Returns 0,
 * -EPERM when leader does not hold (what was written before stays), or an
 * error of the etcd calls (-EMSGSIZE for a part too large). */
int state_etcd_save(struct etcd_client *c, const char *prefix,
                    const struct etcd_compare *leader, struct state_etcd *se,
                    const struct rec_state *st, struct err *err);

#endif
