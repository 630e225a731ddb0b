/* SPDX-License-Identifier: MIT */
/* Back-off of one API: exponential with jitter, honouring Retry-After. */
#include "util/backoff.h"

#include <string.h>

double backoff_cap_retry_after(double retry_after) {
  return retry_after > BACKOFF_RETRY_AFTER_MAX ? BACKOFF_RETRY_AFTER_MAX
                                               : retry_after;
}

double backoff_delay(unsigned failures, double base, double cap,
                     double retry_after, double jitter) {
  if (!(base > 0))
    base = 1;
  if (!(cap >= base))
    cap = base;
  if (!(jitter >= 0 && jitter < 1))
    jitter = 0;
  double d = base;
  for (unsigned i = 1; i < failures && d < cap; i++)
    d *= 2;
  if (d > cap)
    d = cap;
  d *= 0.5 + 0.5 * jitter;
  retry_after = backoff_cap_retry_after(retry_after);
  return retry_after > d ? retry_after : d;
}

void backoff_failed(struct backoff *b, double now, double base, double cap,
                    double retry_after, double jitter) {
  retry_after = backoff_cap_retry_after(retry_after);
  if (backoff_active(b, now)) {
    if (retry_after > 0 && now + retry_after > b->until)
      b->until = now + retry_after;
    return;
  }
  b->failures++;
  b->delay = backoff_delay(b->failures, base, cap, retry_after, jitter);
  b->until = now + b->delay;
}

void backoff_reset(struct backoff *b) { memset(b, 0, sizeof(*b)); }

bool backoff_active(const struct backoff *b, double now) {
  return now < b->until;
}

double backoff_jitter(uint32_t *state) {
  uint32_t x = *state ? *state : 2463534242u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return (double)x / 4294967296.0;
}
