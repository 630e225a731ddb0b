/* SPDX-License-Identifier: MIT */
/* Forward mode's runs of one cycle: what the reads queue for posting. */
#ifndef RUNSCOPE_RUN_QUEUE_H
#define RUNSCOPE_RUN_QUEUE_H

#include "engine/context.h"

#include <stdbool.h>
#include <stddef.h>

/* The most runs forward mode posts in one cycle; the rest wait, in order. */
#define RUN_QUEUE_MAX 250

/* A run to post in this cycle (catalog entries are borrowed for the
 * cycle). */
struct queued_run {
  const struct cat_bucket *b;
  const struct cat_test *t;
  struct rs_run run;
};

/* The runs to post, in order per test: the reads' output, the posting
 * stage's input. Zeroed memory is empty; release with run_queue_fini. */
struct run_queue {
  struct queued_run *v;
  size_t n, cap;
};

/* Before a test's results are read: the `since` to read them from, lowered
 * to the test's forward cursor (so an undelivered run is read again however
 * far the reading cursor moved; the entry is made at `since` when new).
 * While xMatters is out for the cycle the cursor stays and `since` too. */
double run_queue_since(struct engine *e, const char *bucket_key,
                       const char *test_id, double since);

/* For each run read of test t of b (oldest first, selected environments
 * only, while the test's runs are not held): queues it when it is after
 * the test's forward cursor. Returns true when the test's later runs must
 * wait for the next cycle: this one is unfinished (and not yet given up
 * after MaxRunDuration), xMatters is out, the cycle's share is full, or
 * memory ran out. */
bool run_queue_offer(struct run_queue *q, struct engine *e,
                     const struct cat_bucket *b, const struct cat_test *t,
                     const struct rs_run *run, double now);

/* Releases the queue's memory and empties it. */
void run_queue_fini(struct run_queue *q);

#endif
