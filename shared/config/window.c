/* SPDX-License-Identifier: MIT */
/* Maintenance windows as configured: weekly specs and checks. */
#include "config/window.h"

#include "util/clock.h"
#include "util/jsonx.h"

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

/* Adds the selector member key of o (a string, or an array of strings) to
 * l. */
static int read_selector(json_object *o, const char *key, struct cfg_list *l,
                         struct err *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string))
    return cfg_list_add(l, json_object_get_string(v));
  if (!json_object_is_type(v, json_type_array))
    goto bad;
  for (size_t i = 0; i < json_object_array_length(v); i++) {
    json_object *item = json_object_array_get_idx(v, i);
    if (!json_object_is_type(item, json_type_string))
      goto bad;
    if (cfg_list_add(l, json_object_get_string(item)) != 0)
      return -ENOMEM;
  }
  return 0;
bad:
  err_set(err, "\"%s\": not a string or an array of strings", key);
  return -EINVAL;
}

/* Reads the time member key of o into *ret; absent keeps *ret. */
static int read_time(json_object *o, const char *key, double *ret,
                     struct err *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string) &&
      clock_parse_iso8601(json_object_get_string(v), ret) == 0)
    return 0;
  err_set(err, "\"%s\": not an ISO-8601 time such as \"2026-12-24T18:00:00Z\"",
          key);
  return -EINVAL;
}

/* Copies the optional string member key of o into *dst. */
static int read_text(json_object *o, const char *key, char **dst,
                     struct err *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (!json_object_is_type(v, json_type_string)) {
    err_set(err, "\"%s\": not a string", key);
    return -EINVAL;
  }
  return cfg_set_string(dst, json_object_get_string(v));
}

static int window_members(struct cfg_window *w, json_object *o,
                          struct err *err) {
  int rc = read_text(o, "name", &w->name, err);
  if (rc == 0)
    rc = read_text(o, "reason", &w->reason, err);
  if (rc == 0)
    rc = read_selector(o, "bucket", &w->buckets, err);
  if (rc == 0)
    rc = read_selector(o, "test", &w->tests, err);
  if (rc == 0)
    rc = read_selector(o, "environment", &w->environments, err);
  if (rc == 0)
    rc = read_time(o, "start", &w->start, err);
  if (rc == 0)
    rc = read_time(o, "end", &w->end, err);
  if (rc == 0 && !(w->end > 0)) {
    err_set(err, "no \"end\": give the window's end as an ISO-8601 time");
    rc = -EINVAL;
  }
  return rc;
}

int cfg_window_from_json(struct cfg_window *w, const char *text, size_t len,
                         const char *default_name, double now,
                         struct err *err) {
  json_object *root = NULL;
  int rc = jsonx_parse(text, len, 8, &root, err);
  if (rc == 0 && !json_object_is_type(root, json_type_object)) {
    err_set(err, "not a JSON object");
    rc = -EINVAL;
  } else if (rc != 0) {
    rc = -EINVAL;
  }
  w->start = now;
  if (rc == 0)
    rc = window_members(w, root, err);
  if (rc == 0 && w->name == NULL)
    rc = cfg_set_string(&w->name, default_name);
  if (rc == 0 && !(w->start < w->end)) {
    err_set(err, "\"start\" is not before \"end\"");
    rc = -EINVAL;
  }
  json_object_put(root);
  if (rc != 0)
    cfg_window_fini(w);
  return rc;
}
