/* SPDX-License-Identifier: MIT */
/* Maintenance windows: open at a time, matching a key. */
#include "core/maintenance.h"

#include <math.h>
#include <string.h>

/* 1970-01-01 was a Thursday: three days after a Monday. */
#define EPOCH_WEEK_OFFSET (3 * 86400.0)

/* Seconds from the start of the weekly span of w to now, in [0, week). */
static double into_week_span(const struct cfg_window *w, double now) {
  double s = fmod(now + EPOCH_WEEK_OFFSET - w->week_start, (double)CFG_WEEK);
  return s < 0 ? s + CFG_WEEK : s;
}

bool maint_open(const struct cfg_window *w, double now) {
  if (!isfinite(now))
    return false;
  if (w->weekly)
    return into_week_span(w, now) < w->week_len;
  return now >= w->start && now < w->end;
}

double maint_closes(const struct cfg_window *w, double now) {
  if (!maint_open(w, now))
    return 0;
  if (w->weekly)
    return now + (w->week_len - into_week_span(w, now));
  return w->end;
}

/* An empty list matches anything; else it holds the id or the name. */
static bool selects(const struct cfg_list *l, const char *id,
                    const char *name) {
  if (l->n == 0)
    return true;
  for (size_t i = 0; i < l->n; i++) {
    if ((id != NULL && strcmp(l->v[i], id) == 0) ||
        (name != NULL && strcmp(l->v[i], name) == 0))
      return true;
  }
  return false;
}

bool maint_matches(const struct cfg_window *w, const struct maint_target *t) {
  return selects(&w->buckets, t->bucket_key, t->bucket_name) &&
         selects(&w->tests, t->test_id, t->test_name) &&
         selects(&w->environments, t->env_id, t->env_name);
}

const struct cfg_window *maint_find(const struct cfg_window *const *windows,
                                    size_t n, const struct maint_target *t,
                                    double now) {
  for (size_t i = 0; i < n; i++)
    if (maint_open(windows[i], now) && maint_matches(windows[i], t))
      return windows[i];
  return NULL;
}
