/* SPDX-License-Identifier: MIT */
/* Operations on the plugin's xMatters events that several stages need. */
#include "engine/event_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool event_ops_placeholder(const char *id) {
  return strncmp(id, EVENT_OPS_PLACEHOLDER, strlen(EVENT_OPS_PLACEHOLDER)) == 0;
}

int event_ops_terminate(struct engine *e, struct rec_key *k,
                        const char *event_id, const char *why, double now) {
  if (e->cfg->dry_run || event_ops_placeholder(event_id)) {
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "DryRun: would terminate xMatters event %s of %s: %s.", event_id,
            k->key, why);
    rec_terminate_done(k, event_id, true);
    return 0;
  }
  if (!event_ops_may_act(e))
    return -EPERM;
  /* Write-ahead, as for a create: a crash after sending must not leave a
   * state whose open event hides the key's next failure. */
  if (rec_terminate_start(k)) /* not marked and saved yet */
    persist_save(&e->persist, &e->state, now);
  struct err err = {{0}};
  int rc = xm_terminate(e->xm, event_id, &err);
  rec_terminate_done(k, event_id, rc == 0 || rc == -ENOENT);
  if (rc != 0 && rc != -ENOENT) {
    health_xm_failed(&e->health, rc, &err, now);
    return rc;
  }
  health_up(&e->health.xm);
  say_tally(&e->say, SAY_EVENTS_TERMINATED);
  say_log(&e->say, ENGINE_LOG_INFO, "Terminated xMatters event %s of %s: %s.",
          event_id, k->key, why);
  return 0;
}

bool event_ops_may_act(struct engine *e) {
  return cluster_may_act(&e->cluster);
}

/* Working alone in a cluster: the open events of k in xMatters into ids
 * (the count; 0 also when the look-up failed: better twice than never). */
static size_t open_elsewhere(struct engine *e, const struct rec_key *k,
                             char ids[][XM_ID_MAX], size_t max) {
  struct xm_event *ev = NULL;
  size_t n = 0, m = 0;
  struct err err = {{0}};
  if (xm_find_active(e->xm, k->key, &ev, &n, &err) != 0)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Cluster: could not look for an open event of %s before paging "
            "(%s); paging.",
            k->key, err.msg);
  for (size_t i = 0; i < n && m < max; i++)
    if (strcmp(ev[i].status, "ACTIVE") == 0 ||
        strcmp(ev[i].status, "SUSPENDED") == 0)
      memcpy(ids[m++], ev[i].id, XM_ID_MAX);
  free(ev);
  return m;
}

bool event_ops_before_create(struct engine *e, struct rec_key *k, double now) {
  if (!event_ops_may_act(e)) {
    rec_create_done(k, &e->opts, REC_NOT_CREATED, NULL, now);
    return false;
  }
  if (!cluster_alone(&e->cluster))
    return true;
  char found[REC_EVENTS_MAX][XM_ID_MAX];
  size_t n = open_elsewhere(e, k, found, REC_EVENTS_MAX);
  if (n == 0)
    return true;
  const char *ids[REC_EVENTS_MAX];
  for (size_t i = 0; i < n; i++)
    ids[i] = found[i];
  rec_create_done(k, &e->opts, REC_NOT_CREATED, NULL, now);
  rec_apply_lookup(k, &e->opts, ids, n, now);
  say_log(&e->say, ENGINE_LOG_NOTICE,
          "Cluster: working alone, %s already has open xMatters event %s "
          "(raised by another agent): no second page.",
          k->key, ids[0]);
  return false;
}
