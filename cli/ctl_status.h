/* SPDX-License-Identifier: MIT */
/* runscopectl status: the plugin's state file, read and never written,
 * with the maintenance windows that apply now. */
#ifndef RUNSCOPE_CLI_CTL_STATUS_H
#define RUNSCOPE_CLI_CTL_STATUS_H

#include "config/window.h"
#include "ctl.h"

#include <stdbool.h>
#include <stddef.h>

struct ctl_status_opts {
  bool json;
  char *const *filters; /* keys, test ids or bucket keys; none: all keys */
  size_t n_filters;
  const struct cfg_window *const *windows; /* config and MaintenanceDir */
  size_t n_windows;
  double now;
};

/* Prints the status of the keys of the state file at state_file. Returns
 * CTL_OK, or CTL_FAIL with a message on stderr saying what to fix (no
 * state file yet, not readable, not a state file, no key matches). */
int ctl_status(const char *state_file, const struct ctl_status_opts *o);

#endif
