/* The monotonic clock and ISO-8601 UTC times. */
#include "util/clock.h"

#include <time.h>

double clock_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void clock_iso8601(double t, char *out, size_t size) {
  time_t s = (time_t)t;
  struct tm tm;
  out[0] = '\0';
  if (!(t > 0) || gmtime_r(&s, &tm) == NULL)
    return;
  if (strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    out[0] = '\0';
}
