/* SPDX-License-Identifier: MIT */
/* Operations on the plugin's xMatters events that several stages need. */
#ifndef RUNSCOPE_EVENT_OPS_H
#define RUNSCOPE_EVENT_OPS_H

#include "engine/context.h"

#include <stdbool.h>

/* How the ids DryRun gives the events it did not create begin. */
#define EVENT_OPS_PLACEHOLDER "dry-run:"

/* True for the placeholder ids DryRun gives the events it did not create. */
bool event_ops_placeholder(const char *id);

/* Terminates event_id of k (DryRun, or a placeholder: says it would) and
 * forgets it; why ends the log line ("the test passes in every location").
 * The key's intent is saved before the request goes out (write-ahead).
 * Returns 0 when the event is gone (xMatters may not have known it any
 * more), else the errno of the call (the event stays, to be tried again).
 * Used by the actions (drive_events.c) and by Rerun responses
 * (handle_responses.c). */
int event_ops_terminate(struct engine *e, struct rec_key *k,
                        const char *event_id, const char *why, double now);

/* The cluster's guard (cluster.h) right before a terminate or a rerun:
 * false when this agent must not act (it stands by, or its lease as leader
 * may be gone). */
bool event_ops_may_act(struct engine *e);

/* Right before the trigger of k's event goes out: false when it must not
 * (not acting: the pending create is undone; working alone in a cluster and
 * xMatters holds an open event of the key, which another agent raised: the
 * key takes it, no second page). */
bool event_ops_before_create(struct engine *e, struct rec_key *k, double now);

#endif
