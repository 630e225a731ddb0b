/* SPDX-License-Identifier: MIT */
/* The state file of the engine: loaded at the start, saved when it changed. */
#include "engine/persist.h"

#include "store/state.h"

#include <errno.h>
#include <string.h>

void persist_init(struct persist *p, const struct cfg *cfg, struct say *say) {
  memset(p, 0, sizeof(*p));
  p->cfg = cfg;
  p->say = say;
}

/* The engine starts from *st: saves compare with its digest. */
static void start_from(struct persist *p, const struct rec_state *st) {
  p->loaded = true;
  p->known = state_digest(st, &p->digest) == 0;
  p->answered = st->answered;
}

/* True when some API answered PERSIST_ANSWERED_REFRESH seconds after the
 * time saved (a first answer counts). */
static bool answers_stale(const struct rec_answered *saved,
                          const struct rec_answered *now) {
  return now->runscope - saved->runscope >= PERSIST_ANSWERED_REFRESH ||
         now->xmatters - saved->xmatters >= PERSIST_ANSWERED_REFRESH ||
         now->etcd - saved->etcd >= PERSIST_ANSWERED_REFRESH;
}

int persist_load(struct persist *p, struct rec_state *st, double now,
                 struct err *err) {
  const struct cfg *c = p->cfg;
  int rc = state_load(c->state_file, now, c->max_json_depth, st, err);
  if (rc == 0 || rc == -ENOENT || rc == -EBADMSG)
    start_from(p, st);
  switch (rc) {
  case 0:
    say_log(p->say, ENGINE_LOG_INFO,
            "Loaded state from %s: %zu keys, %zu cursors.", c->state_file,
            st->n_keys, st->n_cursors);
    return 0;
  case -ENOENT:
    say_log(p->say, ENGINE_LOG_INFO,
            "No state file at %s: first start, runs older than %.0f s are "
            "not paged.",
            c->state_file, c->max_catch_up);
    return 0;
  case -EBADMSG:
    say_log(p->say, ENGINE_LOG_ERR, "%s; starting with an empty state.",
            err->msg);
    return 0;
  default:
    return rc;
  }
}

/* The leader's copy in etcd, written when the state changed. */
static void save_etcd(struct persist *p, const struct rec_state *st,
                      uint64_t digest, bool known, double now) {
  struct cluster *c = p->cluster;
  if (c == NULL || c->role != CLUSTER_LEADER)
    return;
  if (known && p->etcd_known && digest == p->etcd_digest &&
      !answers_stale(&p->etcd_answered, &st->answered))
    return;
  struct err err = {{0}};
  struct etcd_compare leading = cluster_leading(c);
  int rc =
      state_etcd_save(c->etcd, c->state_prefix, &leading, &p->parts, st, &err);
  if (rc != 0) {
    if (say_complaint_due(&p->etcd_complaint, now))
      say_log(p->say, ENGINE_LOG_ERR, "Cluster: saving the state in etcd: %s",
              err.msg);
    return;
  }
  if (say_complaint_over(&p->etcd_complaint))
    say_log(p->say, ENGINE_LOG_NOTICE,
            "Cluster: the state is saved in etcd "
            "again.");
  p->etcd_digest = digest;
  p->etcd_known = known;
  p->etcd_answered = st->answered;
}

void persist_take_over(struct persist *p, struct rec_state *st, bool was_alone,
                       double now) {
  struct cluster *c = p->cluster;
  struct err err = {{0}};
  struct rec_state from;
  rec_state_init(&from);
  int rc = was_alone ? -ENOENT
                     : state_etcd_load(c->etcd, c->state_prefix,
                                       p->cfg->max_json_depth, &p->parts, &from,
                                       &err);
  memset(&p->parts, 0, sizeof(p->parts)); /* every part is written */
  p->etcd_known = false;
  if (rc == 0) {
    rec_state_fini(st);
    *st = from;
    say_log(p->say, ENGINE_LOG_INFO,
            "Cluster: loaded the state from etcd: %zu keys, %zu cursors.",
            st->n_keys, st->n_cursors);
    persist_save(p, st, now);
    return;
  }
  rec_state_fini(&from);
  if (rc != -ENOENT)
    say_log(p->say, ENGINE_LOG_ERR,
            "Cluster: reading the state in etcd failed (%s); going on with "
            "the state this agent holds.",
            err.msg);
  else if (!was_alone)
    say_log(p->say, ENGINE_LOG_INFO,
            "Cluster: etcd holds no state yet; going on with the state this "
            "agent holds.");
}

void persist_save(struct persist *p, const struct rec_state *st, double now) {
  if (p->cfg->dry_run || !p->loaded)
    return;
  uint64_t digest;
  bool known = state_digest(st, &digest) == 0;
  save_etcd(p, st, digest, known, now);
  if (known && p->known && digest == p->digest &&
      !answers_stale(&p->answered, &st->answered))
    return;
  struct err err = {{0}};
  if (state_save(p->cfg->state_file, st, &err) != 0) {
    if (say_complaint_due(&p->complaint, now))
      say_log(p->say, ENGINE_LOG_ERR, "%s", err.msg);
    return;
  }
  if (say_complaint_over(&p->complaint))
    say_log(p->say, ENGINE_LOG_NOTICE, "State file %s saved again.",
            p->cfg->state_file);
  p->digest = digest;
  p->known = known;
  p->answered = st->answered;
}
