/* SPDX-License-Identifier: MIT */
/* The stage that handles the responses to the plugin's xMatters events. */
#ifndef RUNSCOPE_HANDLE_RESPONSES_H
#define RUNSCOPE_HANDLE_RESPONSES_H

#include "engine/context.h"

/* Reads the responses to every active event of the plugin's keys and acts
 * on the new ones: Rerun runs the test again through its trigger URL (at
 * most 10 per 10 s per URL; a 429 waits and retries) and then terminates
 * the event or, with RerunKeepsEventOpen, lets the rerun's result decide;
 * Acknowledge is recorded, logged, notified and counted. */
void handle_responses(struct engine *e, double now);

#endif
