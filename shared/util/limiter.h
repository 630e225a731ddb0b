/* SPDX-License-Identifier: MIT */
/* Sliding-window limits per key: trigger URLs, request rates. */
#ifndef RUNSCOPE_UTIL_LIMITER_H
#define RUNSCOPE_UTIL_LIMITER_H

#include <stddef.h>
#include <stdint.h>

/* A sliding-window limit per key (a URL, or an API's name): at most
 * `limit` events in any `window` seconds, and none while the server asked
 * to wait (429). Triggers use it per trigger URL (10 per 10 s); the HTTP
 * clients' request-rate cap (MaxRequestsPerSecond) uses one key per API.
 * Owned: limiter_fini. */
struct limiter_slot {
  uint64_t url; /* hash of the key */
  double *at;   /* when its recent events happened, oldest first (limit) */
  size_t n;
  double blocked_until;
};

struct limiter {
  struct limiter_slot *v;
  size_t n, cap;
  size_t limit; /* at most LIMITER_SLOT_MAX, or LIMITER_RATE_MAX (rate mode) */
  double window;
};

/* The largest limit of limiter_init_window (a per-URL trigger limit). */
#define LIMITER_SLOT_MAX 16
/* The largest limit of limiter_init_rate (events per window). */
#define LIMITER_RATE_MAX 100000

/* A limiter of at most limit (clamped to 1..LIMITER_SLOT_MAX) per window. */
void limiter_init_window(struct limiter *l, size_t limit, double window);
/* The same for a request rate: limit clamped to 1..LIMITER_RATE_MAX. */
void limiter_init_rate(struct limiter *l, size_t limit, double window);
void limiter_fini(struct limiter *l);

/* Seconds to wait before a trigger of url may go at now (0: it may). */
double limiter_wait(const struct limiter *l, const char *url, double now);

/* Counts a trigger of url that completed at `at` (counting the completion,
 * not the start, errs on the safe side). Returns 0 or -ENOMEM. */
int limiter_note(struct limiter *l, const char *url, double at);

/* No trigger of url before until (a 429 answer at now). Returns 0 or
 * -ENOMEM. */
int limiter_block(struct limiter *l, const char *url, double now, double until);

#endif
