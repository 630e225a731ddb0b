/* SPDX-License-Identifier: MIT */
/* The stage that reads results: new runs of the tests that may have some. */
#ifndef RUNSCOPE_READ_RESULTS_H
#define RUNSCOPE_READ_RESULTS_H

#include "engine/context.h"
#include "engine/run_queue.h"

#include <stdbool.h>
#include <stddef.h>

/* What the reads of one cycle hand on. Zeroed memory is "not read"; the
 * caller releases fwd with run_queue_fini. */
struct results_read {
  bool read;            /* the stage ran */
  size_t deferred;      /* due tests left for the next cycle */
  struct run_queue fwd; /* forward mode: the runs to post, in order */
};

/* Reads the new runs of the watched tests that may have some (due.h) into
 * the reconciler, many at a time, and the details that watching needs
 * (cat_detail_needed) of new tests and of those older than
 * DiscoveryInterval. No read starts after deadline (the
 * HTTP clients' monotonic clock; 0: none): what the cycle's time does not
 * allow waits for the next cycle and counts in out->deferred. In forward
 * mode the runs to post go to out->fwd. */
void read_results(struct engine *e, double now, double deadline,
                  struct results_read *out);

#endif
