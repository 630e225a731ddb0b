/* SPDX-License-Identifier: MIT */
/* The monotonic clock and ISO-8601 UTC times. */
#define _GNU_SOURCE /* timegm */
#include "util/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
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

/* Reads exactly n digits at *p into *ret and moves *p past them. */
static bool read_digits(const char **p, int n, int *ret) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch < '0' || ch > '9')
      return false;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *ret = v;
  return true;
}

/* Moves *p past one character of set when it is there. */
static bool skip(const char **p, const char *set) {
  if (**p == '\0' || strchr(set, **p) == NULL)
    return false;
  (*p)++;
  return true;
}

/* Reads a fraction of a second (".656" or ",656", or none) into *frac;
 * *p ends after it. */
static bool read_fraction(const char **p, double *frac) {
  const char *q = *p;
  double scale = 1;
  *frac = 0;
  if (*q != '.' && *q != ',')
    return true;
  if (*++q < '0' || *q > '9')
    return false;
  for (; *q >= '0' && *q <= '9'; q++)
    *frac += (*q - '0') * (scale /= 10);
  *p = q;
  return true;
}

/* Reads the date and time of an ISO-8601 stamp into tm and its fraction
 * of a second into *frac; *p ends after them. */
static bool read_date_time(const char **p, struct tm *tm, double *frac) {
  int y, mo, d, h, mi, s = 0;
  const char *q = *p;
  if (!read_digits(&q, 4, &y) || !skip(&q, "-") || !read_digits(&q, 2, &mo) ||
      !skip(&q, "-") || !read_digits(&q, 2, &d) || !skip(&q, "Tt ") ||
      !read_digits(&q, 2, &h) || !skip(&q, ":") || !read_digits(&q, 2, &mi))
    return false;
  if (skip(&q, ":") && !read_digits(&q, 2, &s))
    return false;
  if (!read_fraction(&q, frac))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return false;
  *tm = (struct tm){.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
  *p = q;
  return true;
}

/* Reads a zone ("Z", "+HH:MM", "+HHMM", "+HH", or none) into *ret_offset
 * (seconds east of UTC); *p must then be at the end. */
static bool read_zone(const char *p, int *ret_offset) {
  int h = 0, m = 0, sign = 1;
  *ret_offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p++ == '-' ? -1 : 1;
    if (!read_digits(&p, 2, &h))
      return false;
    if (skip(&p, ":") && !read_digits(&p, 2, &m))
      return false;
    if (*p >= '0' && *p <= '9' && !read_digits(&p, 2, &m))
      return false;
    if (h > 23 || m > 59)
      return false;
  }
  while (*p == ' ')
    p++;
  *ret_offset = sign * (h * 3600 + m * 60);
  return *p == '\0';
}

int clock_parse_iso8601(const char *s, double *ret) {
  struct tm tm;
  double frac;
  int offset, mday, mon;
  if (s == NULL)
    return -EINVAL;
  while (*s == ' ')
    s++;
  if (!read_date_time(&s, &tm, &frac) || !read_zone(s, &offset))
    return -EINVAL;
  mday = tm.tm_mday;
  mon = tm.tm_mon;
  time_t t = timegm(&tm);
  /* timegm normalises 31 February into March: refuse such dates. */
  if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon)
    return -EINVAL;
  *ret = (double)t + frac - offset;
  return 0;
}
