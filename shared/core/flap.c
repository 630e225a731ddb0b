/* SPDX-License-Identifier: MIT */
/* Flap damping: Nagios's weighted percent state change and thresholds. */
#include "core/flap.h"

/* Nagios weighs the oldest change 0.75 and the newest 1.25. */
#define FLAP_WEIGHT_LOW 0.75
#define FLAP_WEIGHT_HIGH 1.25

void flap_record(struct flap_history *h, bool failed) {
  h->fails = (h->fails << 1) | (failed ? 1u : 0u);
  if (h->n < FLAP_WINDOW_MAX)
    h->n++;
}

/* Verdict i of h counted from the newest (i = 0); past the oldest held,
 * the oldest held. */
static bool failed_at(const struct flap_history *h, size_t i) {
  if (i >= h->n)
    i = h->n - 1;
  return (h->fails >> i) & 1u;
}

double flap_percent(const struct flap_history *h, size_t window) {
  if (window < FLAP_WINDOW_MIN)
    window = FLAP_WINDOW_MIN;
  if (window > FLAP_WINDOW_MAX)
    window = FLAP_WINDOW_MAX;
  if (h->n < 2)
    return 0;
  double sum = 0;
  /* change x (1 = oldest) lies between verdicts window - x and
   * window - x - 1, counted from the newest */
  for (size_t x = 1; x < window; x++) {
    if (failed_at(h, window - x) == failed_at(h, window - x - 1))
      continue;
    sum += FLAP_WEIGHT_LOW + (FLAP_WEIGHT_HIGH - FLAP_WEIGHT_LOW) *
                                 (double)(x - 1) / (double)(window - 2);
  }
  return sum * 100.0 / (double)(window - 1);
}

enum flap_change flap_update(struct flap_history *h, bool failed,
                             const struct flap_opts *o) {
  flap_record(h, failed);
  return flap_decide(h, o);
}

enum flap_change flap_decide(struct flap_history *h,
                             const struct flap_opts *o) {
  double pct = flap_percent(h, o->window);
  if (!h->flapping && pct >= o->high) {
    h->flapping = true;
    return FLAP_STARTED;
  }
  if (h->flapping && pct < o->low) {
    h->flapping = false;
    return FLAP_STOPPED;
  }
  return FLAP_SAME;
}
