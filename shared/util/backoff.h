/* SPDX-License-Identifier: MIT */
/* Back-off of one API: exponential with jitter, honouring Retry-After. Pure:
 * the caller passes the time and the random numbers. */
#ifndef RUNSCOPE_BACKOFF_H
#define RUNSCOPE_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds: the longest exponential delay, and the longest Retry-After
 * honoured (a broken server cannot silence the plugin for a day). */
#define BACKOFF_MAX 300.0
#define BACKOFF_RETRY_AFTER_MAX 3600.0

/* retry_after (seconds a Retry-After asked for, < 0 for none) at most
 * BACKOFF_RETRY_AFTER_MAX: every wait a server asks for goes through it
 * (an API's back-off, a rerun trigger's retry). */
double backoff_cap_retry_after(double retry_after);

/* The back-off of one API. Zeroed memory is "not backing off". */
struct backoff {
  unsigned failures; /* consecutive failures that started or extended it */
  double until;      /* the API is not called before this (Unix seconds) */
  double delay;      /* the last delay, seconds */
  bool announced;    /* a skipped call was logged in this streak */
};

/* The delay after the failures-th consecutive failure (>= 1): base * 2^
 * (failures - 1), at most cap, scaled by a jitter in [0, 1) to between half
 * and all of it; then at least retry_after (a Retry-After, < 0 for none,
 * itself at most BACKOFF_RETRY_AFTER_MAX). base <= 0 counts as 1 s and a cap
 * below base as base. */
double backoff_delay(unsigned failures, double base, double cap,
                     double retry_after, double jitter);

/* A call failed at now. Outside a back-off this counts a failure and backs
 * off for backoff_delay; inside one (another call of the same cycle) it only
 * lengthens the back-off to honour retry_after. */
void backoff_failed(struct backoff *b, double now, double base, double cap,
                    double retry_after, double jitter);

/* A call succeeded: no back-off, the count starts again. */
void backoff_reset(struct backoff *b);

/* True while calls must wait (now < until). */
bool backoff_active(const struct backoff *b, double now);

/* A number in [0, 1) from *state (xorshift32; a zero state is seeded with a
 * constant). For jitter only, not for anything secret. */
double backoff_jitter(uint32_t *state);

#endif
