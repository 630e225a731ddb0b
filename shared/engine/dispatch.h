/* SPDX-License-Identifier: MIT */
/* The stage that dispatches keys' and the plugin's own values and notices. */
#ifndef RUNSCOPE_DISPATCH_H
#define RUNSCOPE_DISPATCH_H

#include "engine/context.h"
#include "engine/drive_events.h"

/* The notifications the actions handed on (kn, the action stage's
 * output), in their order. */
void dispatch_key_notices(struct engine *e, const struct key_notices *kn);

/* Per-key values (pass/fail, duration and counts of the verdict run of the
 * watched keys with a verdict), failing keys per bucket, active events. */
void dispatch_key_values(struct engine *e);

/* The plugin's own values at time now; duration is the cycle's, in
 * seconds. */
void dispatch_self_values(struct engine *e, double now, double duration);

#endif
