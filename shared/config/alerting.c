/* SPDX-License-Identifier: MIT */
/* The alert semantics' options: defaults, checks, the windows' memory. */
#include "config/alerting.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_alerting_init(struct cfg *c) {
  c->failure_threshold = 1;
  c->recovery_threshold = 1;
  c->flap_detection = false;
  c->flap_window = 21;
  c->flap_low_threshold = 25;
  c->flap_high_threshold = 50;
}

void cfg_alerting_fini(struct cfg *c) {
  for (size_t i = 0; i < c->n_windows; i++)
    cfg_window_fini(&c->windows[i]);
  free(c->windows);
  c->windows = NULL;
  c->n_windows = 0;
}

int cfg_add_window(struct cfg *c, const char *name, struct cfg_window **ret) {
  struct cfg_window *v = realloc(c->windows, (c->n_windows + 1) * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  c->windows = v;
  struct cfg_window *w = &v[c->n_windows];
  memset(w, 0, sizeof(*w));
  if ((w->name = strdup(name)) == NULL)
    return -ENOMEM;
  c->n_windows++;
  *ret = w;
  return 0;
}

/* A threshold: 1 to CFG_THRESHOLD_MAX (unset: -1, when may_inherit). */
static int check_threshold(const char *where, const char *key, int n,
                           bool may_inherit, struct err *err) {
  if ((may_inherit && n == -1) || (n >= 1 && n <= CFG_THRESHOLD_MAX))
    return 0;
  err_set(err, "%s%s%s must be a whole number from 1 to %d, got %d", where,
          where[0] ? " " : "", key, CFG_THRESHOLD_MAX, n);
  return -EINVAL;
}

static int check_thresholds(const struct cfg *c, struct err *err) {
  int rc =
      check_threshold("", "FailureThreshold", c->failure_threshold, false, err);
  if (rc == 0)
    rc = check_threshold("", "RecoveryThreshold", c->recovery_threshold, false,
                         err);
  for (size_t i = 0; rc == 0 && i < c->n_buckets; i++) {
    const struct cfg_bucket *b = &c->buckets[i];
    char where[300];
    snprintf(where, sizeof(where), "<Bucket \"%s\">", b->key);
    rc = check_threshold(where, "FailureThreshold", b->failure_threshold, true,
                         err);
    if (rc == 0)
      rc = check_threshold(where, "RecoveryThreshold", b->recovery_threshold,
                           true, err);
  }
  return rc;
}

static int check_flap(const struct cfg *c, struct err *err) {
  if (c->flap_window < CFG_FLAP_WINDOW_MIN ||
      c->flap_window > CFG_FLAP_WINDOW_MAX) {
    err_set(err, "FlapWindow must be a number of runs from %d to %d, got %d",
            CFG_FLAP_WINDOW_MIN, CFG_FLAP_WINDOW_MAX, c->flap_window);
    return -EINVAL;
  }
  double lo = c->flap_low_threshold, hi = c->flap_high_threshold;
  if (!(lo >= 0 && lo <= 100) || !(hi > 0 && hi <= 100)) {
    err_set(err,
            "FlapLowThreshold and FlapHighThreshold are percents from 0 to "
            "100, got %g and %g",
            lo, hi);
    return -EINVAL;
  }
  if (lo > hi) {
    err_set(err,
            "FlapLowThreshold (%g) must not be above FlapHighThreshold (%g)",
            lo, hi);
    return -EINVAL;
  }
  return 0;
}

int cfg_alerting_check(const struct cfg *c, struct err *err) {
  int rc = check_thresholds(c, err);
  if (rc == 0)
    rc = check_flap(c, err);
  if (rc == 0 && c->maintenance_dir != NULL && c->maintenance_dir[0] == '\0') {
    err_set(err, "MaintenanceDir is empty; give a directory or leave it out");
    rc = -EINVAL;
  }
  for (size_t i = 0; rc == 0 && i < c->n_windows; i++)
    rc = cfg_window_check(&c->windows[i], err);
  return rc;
}
