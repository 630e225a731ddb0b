/* Maintenance windows as configured: weekly specs and checks. */
#include "config/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400

void cfg_window_fini(struct cfg_window *w) {
  free(w->name);
  cfg_list_fini(&w->buckets);
  cfg_list_fini(&w->tests);
  cfg_list_fini(&w->environments);
  free(w->reason);
  memset(w, 0, sizeof(*w));
}

/* Reads a day name at *p ("Mon", "monday", ...) into *ret (0: Monday) and
 * moves *p past it. */
static bool read_day(const char **p, int *ret) {
  static const char *const days[] = {"monday",   "tuesday", "wednesday",
                                     "thursday", "friday",  "saturday",
                                     "sunday"};
  size_t n = strspn(*p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  for (int i = 0; i < 7; i++) {
    if ((n == 3 || n == strlen(days[i])) && strncasecmp(*p, days[i], n) == 0) {
      *p += n;
      *ret = i;
      return true;
    }
  }
  return false;
}

/* Reads "HH:MM" at *p into seconds after midnight. */
static bool read_clock(const char **p, int *ret) {
  const char *s = *p;
  if (strlen(s) < 5 || s[2] != ':')
    return false;
  for (int i = 0; i < 5; i++)
    if (i != 2 && (s[i] < '0' || s[i] > '9'))
      return false;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return false;
  *ret = h * 3600 + m * 60;
  *p = s + 5;
  return true;
}

static void skip_blanks(const char **p) {
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

/* Reads "[DAY] HH:MM" at *p; a missing day is -1. */
static bool read_point(const char **p, int *ret_day, int *ret_time) {
  skip_blanks(p);
  *ret_day = -1;
  if (!(**p >= '0' && **p <= '9')) {
    if (!read_day(p, ret_day))
      return false;
    skip_blanks(p);
  }
  return read_clock(p, ret_time);
}

static int weekly_bad(const char *spec, const char *why, struct err *err) {
  err_set(err,
          "Weekly \"%s\": %s; write it as \"Sat 22:00-Sun 02:00\" or "
          "\"Sun 02:00-04:00\" (UTC)",
          spec, why);
  return -EINVAL;
}

int cfg_window_weekly(struct cfg_window *w, const char *spec, struct err *err) {
  const char *p = spec;
  int d0, t0, d1, t1;
  if (!read_point(&p, &d0, &t0) || d0 < 0)
    return weekly_bad(spec, "no start day and time", err);
  skip_blanks(&p);
  if (*p++ != '-')
    return weekly_bad(spec, "no '-' between start and end", err);
  if (!read_point(&p, &d1, &t1))
    return weekly_bad(spec, "no end time", err);
  skip_blanks(&p);
  if (*p != '\0')
    return weekly_bad(spec, "text after the end time", err);
  int start = d0 * DAY + t0;
  int end = (d1 < 0 ? d0 : d1) * DAY + t1;
  if (d1 < 0 && t1 <= t0)
    end += DAY;
  int len = ((end - start) % CFG_WEEK + CFG_WEEK) % CFG_WEEK;
  if (len == 0)
    return weekly_bad(spec, "it ends when it starts", err);
  w->weekly = true;
  w->week_start = start;
  w->week_len = len;
  return 0;
}

int cfg_window_check(const struct cfg_window *w, struct err *err) {
  const char *name = w->name ? w->name : "";
  if (w->weekly)
    return 0;
  if (!(w->end > 0)) {
    err_set(err,
            "<Maintenance \"%s\">: no End and no Weekly; give End (and "
            "Start) in ISO-8601 UTC, or Weekly \"Sat 22:00-Sun 02:00\"",
            name);
    return -EINVAL;
  }
  if (!(w->start < w->end)) {
    err_set(err, "<Maintenance \"%s\">: Start is not before End", name);
    return -EINVAL;
  }
  return 0;
}
