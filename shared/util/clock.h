/* SPDX-License-Identifier: MIT */
/* The two clocks of the product: a monotonic one for durations and rate
 * limits, and UTC wall-clock times written as ISO-8601. */
#ifndef RUNSCOPE_UTIL_CLOCK_H
#define RUNSCOPE_UTIL_CLOCK_H

#include <stddef.h>

/* Seconds on CLOCK_MONOTONIC: for durations, never for timestamps. */
double clock_monotonic(void);

/* Room for "2026-01-31T12:00:00Z" and its NUL. */
#define CLOCK_ISO8601_MAX 21

/* Writes Unix time t as "2026-01-31T12:00:00Z" into out (size > 0); no time
 * (t <= 0, NaN, or out of range) writes "". */
void clock_iso8601(double t, char *out, size_t size);

/* Reads an ISO-8601 time: "2019-11-12T16:54:37.656+0000", "...Z",
 * "...+00:00", other offsets ("-05:00", "+0530", "+02"), with or without
 * fractions or seconds, 'T' or a space between date and time; no zone means
 * UTC. Returns 0 with *ret in Unix seconds, or -EINVAL (also for a date
 * that does not exist, such as 30 February). */
int clock_parse_iso8601(const char *s, double *ret);

#endif
