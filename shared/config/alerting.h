/* SPDX-License-Identifier: MIT */
/* The alert semantics' options: FailureThreshold, RecoveryThreshold (also
 * per <Bucket>), the Flap* options, MaintenanceDir and <Maintenance>
 * blocks: defaults, checks, and the windows' memory. */
#ifndef RUNSCOPE_CONFIG_ALERTING_H
#define RUNSCOPE_CONFIG_ALERTING_H

#include "config/config.h"
#include "config/window.h"
#include "util/err.h"

/* The largest FailureThreshold and RecoveryThreshold. */
#define CFG_THRESHOLD_MAX 1000
/* FlapWindow's range (core/flap.h's FLAP_WINDOW_MIN and _MAX). */
#define CFG_FLAP_WINDOW_MIN 3
#define CFG_FLAP_WINDOW_MAX 64

/* Sets the defaults of the options above (cfg_init calls it). */
void cfg_alerting_init(struct cfg *c);

/* Frees the windows (cfg_fini calls it). */
void cfg_alerting_fini(struct cfg *c);

/* Appends an empty window named name; *ret points into c->windows until
 * the next append. Returns 0 or -ENOMEM. */
int cfg_add_window(struct cfg *c, const char *name, struct cfg_window **ret);

/* Checks the thresholds, the flap options and every window. Returns 0 or
 * -EINVAL with err naming the option and the fix. */
int cfg_alerting_check(const struct cfg *c, struct err *err);

#endif
