/* SPDX-License-Identifier: MIT */
/* The time of a poll cycle: when its reads stop, and cycles that overran. */
#ifndef RUNSCOPE_PACE_H
#define RUNSCOPE_PACE_H

#include "config/config.h"
#include "engine/say.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The share of the interval after which no Runscope read starts: the rest
 * of the cycle (xMatters, responses, traffic) gets the remainder. */
#define PACE_READ_BUDGET 0.7

struct pace {
  const struct cfg *cfg;
  struct say *say;
  size_t deferred;          /* due tests the last reads left for the next */
  uint64_t overruns;        /* cycles longer than the interval */
  struct complaint overrun; /* cycles that overran or left due tests */
};

/* Sets p up for cfg and say (both borrowed). */
void pace_init(struct pace *p, const struct cfg *cfg, struct say *say);

/* The time after which a cycle starting at mono (the HTTP clients'
 * monotonic clock) starts no Runscope read; 0 (none) without an interval. */
double pace_read_deadline(const struct pace *p, double mono);

/* After a cycle of duration seconds that ended at now: one longer than the
 * interval is counted, and one that overran or left due tests for the next
 * is said (rate-limited). read says whether the cycle read results (and
 * left deferred due tests); without reads the last count stands. */
void pace_cycle_end(struct pace *p, double now, double duration, bool read,
                    size_t deferred);

#endif
