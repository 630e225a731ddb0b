/* SPDX-License-Identifier: MIT */
/* The forwarding stage: posts the queued runs to the Test Results trigger. */
#ifndef RUNSCOPE_POST_RUNS_H
#define RUNSCOPE_POST_RUNS_H

#include "engine/context.h"
#include "engine/run_queue.h"

/* Forward mode: posts the runs of q (the reads' output) in order, each
 * test stopping at its first failure, and the rest of the cycle's after
 * an outage. q stays the caller's. */
void post_runs(struct engine *e, const struct run_queue *q, double now);

#endif
