/* SPDX-License-Identifier: MIT */
/* Maintenance windows as configured: <Maintenance "name"> blocks and the
 * files of MaintenanceDir, stored and checked here; core/maintenance.h
 * decides when one applies. */
#ifndef RUNSCOPE_CONFIG_WINDOW_H
#define RUNSCOPE_CONFIG_WINDOW_H

#include "config/config.h"
#include "util/err.h"

#include <stdbool.h>

/* Seconds in a week; weekly windows count from Monday 00:00 UTC. */
#define CFG_WEEK 604800

struct cfg_window {
  char *name;
  struct cfg_list buckets;      /* keys or names; empty: any */
  struct cfg_list tests;        /* ids or names; empty: any */
  struct cfg_list environments; /* ids or names; empty: any */
  double start, end;            /* a one-off window, Unix seconds */
  bool weekly;                  /* else one-off */
  int week_start;               /* seconds after Monday 00:00 UTC */
  int week_len;                 /* seconds, 1 to CFG_WEEK - 1 */
  char *reason;                 /* NULL: none */
};

/* Frees what w holds and zeroes it; w itself is the caller's. */
void cfg_window_fini(struct cfg_window *w);

/* Reads a weekly spec into w: "Sat 22:00-Sun 02:00" (day and time at
 * both ends), or "Sun 02:00-04:00" (the end on the same day, or on the
 * next day when it is not after the start: "Sun 22:00-02:00" ends Monday
 * 02:00). Days are Mon to Sun or their full names, any case; times are
 * HH:MM, UTC. Returns 0, or -EINVAL with err saying what is wrong and
 * giving the form. */
int cfg_window_weekly(struct cfg_window *w, const char *spec, struct err *err);

/* The most bytes a MaintenanceDir file may have. */
#define CFG_WINDOW_FILE_MAX 65536

/* Reads a MaintenanceDir file into w (zeroed by the caller; left empty on
 * error): one JSON object {"name", "bucket", "test", "environment",
 * "start", "end", "reason"}, all optional but "end"; the selectors are a
 * string or an array of strings; "start" and "end" are ISO-8601 times
 * (clock_parse_iso8601), "start" defaults to now; name defaults to
 * default_name (the file's name). Returns 0, -ENOMEM, or -EINVAL with err
 * saying what is wrong ("\"end\": not an ISO-8601 time"). */
int cfg_window_from_json(struct cfg_window *w, const char *text, size_t len,
                         const char *default_name, double now, struct err *err);

/* Checks a complete window: weekly, or a one-off with start before end.
 * Returns 0 or -EINVAL with err naming the window and the fix. */
int cfg_window_check(const struct cfg_window *w, struct err *err);

#endif
