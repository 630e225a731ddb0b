/* SPDX-License-Identifier: MIT */
/* Operations on the plugin's xMatters events that several stages need. */
#include "engine/event_ops.h"

#include <errno.h>
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
