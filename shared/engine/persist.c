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

void persist_save(struct persist *p, const struct rec_state *st, double now) {
  if (p->cfg->dry_run || !p->loaded)
    return;
  uint64_t digest;
  bool known = state_digest(st, &digest) == 0;
  if (known && p->known && digest == p->digest)
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
}
