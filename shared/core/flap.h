/* SPDX-License-Identifier: MIT */
/* Flap damping: the weighted percent of state changes over a key's last
 * verdicts, computed as Nagios computes it, with its two thresholds. */
#ifndef RUNSCOPE_CORE_FLAP_H
#define RUNSCOPE_CORE_FLAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most verdicts a window may hold (FlapWindow). */
#define FLAP_WINDOW_MAX 64
/* FlapWindow's smallest value: two verdicts make one possible change. */
#define FLAP_WINDOW_MIN 3

/* FlapWindow (runs), FlapLowThreshold and FlapHighThreshold (percent). */
struct flap_opts {
  size_t window;
  double low;
  double high;
};

/* The defaults of Nagios: 21 verdicts, 25 % and 50 %. */
#define FLAP_DEFAULT_WINDOW 21
#define FLAP_DEFAULT_LOW 25.0
#define FLAP_DEFAULT_HIGH 50.0

/* A key's recent verdicts, one bit each (1: failed), the newest in bit 0,
 * and whether the key is flapping now. Zeroed means no verdict yet. */
struct flap_history {
  uint64_t fails;
  unsigned n; /* verdicts held, at most FLAP_WINDOW_MAX */
  bool flapping;
};

enum flap_change { FLAP_SAME, FLAP_STARTED, FLAP_STOPPED };

/* Adds one verdict (failed or passed) as the newest of h. */
void flap_record(struct flap_history *h, bool failed);

/* The weighted percent of state changes over the newest `window` verdicts
 * of h (0 to 100). Change x of the window's window - 1 possible changes,
 * counted from the oldest (x = 1) to the newest, weighs
 * 0.75 + 0.5 * (x - 1) / (window - 2); the sum is divided by window - 1.
 * A history shorter than the window counts as if its oldest verdict had
 * come before it, so the first verdicts can never look like flapping. */
double flap_percent(const struct flap_history *h, size_t window);

/* Decides with Nagios's hysteresis on h's verdicts as they are: a key
 * that is not flapping starts at a percent at or above o->high; a flapping
 * key stops below o->low. Deciding twice changes nothing the second time.
 * Returns what changed. */
enum flap_change flap_decide(struct flap_history *h, const struct flap_opts *o);

/* Records a verdict and decides with Nagios's hysteresis: a key that is
 * not flapping starts at a percent at or above o->high; a flapping key
 * stops below o->low. Returns what changed. */
enum flap_change flap_update(struct flap_history *h, bool failed,
                             const struct flap_opts *o);

#endif
