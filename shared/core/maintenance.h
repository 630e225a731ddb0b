/* SPDX-License-Identifier: MIT */
/* Maintenance windows: whether one applies to a key now, and until when. */
#ifndef RUNSCOPE_CORE_MAINTENANCE_H
#define RUNSCOPE_CORE_MAINTENANCE_H

#include "config/window.h"

#include <stdbool.h>
#include <stddef.h>

/* What a window's selectors are compared with: each selector list matches
 * when it is empty or holds the id (bucket key) or the name. Names may be
 * NULL when unknown. */
struct maint_target {
  const char *bucket_key, *bucket_name;
  const char *test_id, *test_name;
  const char *env_id, *env_name;
};

/* True when w is open at now (Unix seconds): a one-off window from start
 * (inclusive) to end (exclusive); a weekly one in its span of every week. */
bool maint_open(const struct cfg_window *w, double now);

/* When the occurrence of w that is open at now closes; 0 when w is not
 * open at now. */
double maint_closes(const struct cfg_window *w, double now);

/* True when every selector of w matches t. */
bool maint_matches(const struct cfg_window *w, const struct maint_target *t);

/* The first of the n windows that is open at now and matches t, or NULL. */
const struct cfg_window *maint_find(const struct cfg_window *const *windows,
                                    size_t n, const struct maint_target *t,
                                    double now);

#endif
