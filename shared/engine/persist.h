/* SPDX-License-Identifier: MIT */
/* The state file of the engine: loaded at the start, saved when it changed. */
#ifndef RUNSCOPE_PERSIST_H
#define RUNSCOPE_PERSIST_H

#include "config/config.h"
#include "core/reconcile.h"
#include "engine/cluster.h"
#include "engine/say.h"
#include "store/state_etcd.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

/* The state file (cfg's StateFile; never written in DryRun) and the digest
 * (state_digest) of the text it holds as far as the engine knows. */
struct persist {
  const struct cfg *cfg;
  struct say *say;
  bool loaded;     /* the engine started from the file (or its absence) */
  uint64_t digest; /* of the last text loaded or saved */
  bool known;      /* digest is known */
  struct complaint complaint;   /* saves that fail */
  struct rec_answered answered; /* the answer times the file holds */
  /* in a cluster: the copy in etcd, written while this agent leads */
  struct cluster *cluster;           /* NULL: none */
  struct state_etcd parts;           /* what etcd holds, part by part */
  uint64_t etcd_digest;              /* of the state last written there */
  bool etcd_known;                   /* etcd_digest is known */
  struct rec_answered etcd_answered; /* the answer times etcd holds */
  struct complaint etcd_complaint;   /* writes to etcd that fail */
};

/* How stale the answer times in the state file and in etcd may grow while
 * nothing else changes (what runscopectl status shows as "last answered"). */
#define PERSIST_ANSWERED_REFRESH 300.0

/* Sets p up for cfg and say (both borrowed). */
void persist_init(struct persist *p, const struct cfg *cfg, struct say *say);

/* Loads the state file into *st (rec_state_init'ed and empty) and takes
 * its digest as the saved one. A missing file is a first start, a corrupt
 * one was moved aside (both logged, both 0, *st empty). Returns 0, or the
 * negative errno of a file that cannot be read, with err set. */
int persist_load(struct persist *p, struct rec_state *st, double now,
                 struct err *err);

/* The one way the engine saves: unless in DryRun or before a successful
 * persist_load (a file that could not be read is never overwritten), *st
 * is written when its digest differs from that of the text last saved or
 * loaded, or when the times the APIs last answered (left out of the
 * digest) are PERSIST_ANSWERED_REFRESH seconds newer than those saved: a
 * quiet cycle writes nothing. Callers call it before a request whose crash
 * safety needs the state on disk (the write-ahead of triggers, terminates and
 * posts) and at the end of a cycle. A failed save is logged (rate-limited) and
 * tried again by the next call. */
void persist_save(struct persist *p, const struct rec_state *st, double now);

/* In a cluster (persist's cluster set), when this agent becomes the
 * leader: from standby, *st becomes the state in etcd when etcd holds one
 * (the local one stays otherwise); from working alone, *st stays. Either
 * way every part is written to etcd by the next save. Logged. */
void persist_take_over(struct persist *p, struct rec_state *st, bool was_alone,
                       double now);

#endif
