/* SPDX-License-Identifier: MIT */
/* The discovery stage: which buckets and tests the catalog watches. */
#ifndef RUNSCOPE_DISCOVER_H
#define RUNSCOPE_DISCOVER_H

#include "engine/context.h"

/* Re-reads the buckets every DiscoveryInterval (the configured ones, or
 * every bucket the token sees) and every bucket's tests list (with their
 * last_run) every cycle, into the catalog. */
void discover(struct engine *e, double now);

#endif
