/* SPDX-License-Identifier: MIT */
/* runscopectl status: the plugin's state (its state file, or in a cluster
 * the leader's state in etcd), read and never written, with the
 * maintenance windows that apply now. */
#ifndef RUNSCOPE_CLI_CTL_STATUS_H
#define RUNSCOPE_CLI_CTL_STATUS_H

#include "config/window.h"
#include "core/reconcile.h"
#include "ctl.h"
#include "ctl_etcd.h"

#include <stdbool.h>
#include <stddef.h>

/* Where the state was read. */
struct ctl_source {
  const char *state_file;            /* the file read, or NULL: etcd */
  const struct cfg_cluster *cluster; /* not NULL: clustered (etcd's too) */
  const char *state_prefix;          /* in etcd, when state_file is NULL */
  const struct ctl_leader *leader;   /* NULL: not known (not clustered) */
};

struct ctl_status_opts {
  bool json;
  char *const *filters; /* keys, test ids or bucket keys; none: all keys */
  size_t n_filters;
  const struct cfg_window *const *windows; /* config and MaintenanceDir */
  size_t n_windows;
  double now;
  const struct rec_opts *rec; /* the thresholds and flap options */
  struct ctl_source source;
};

/* Loads the state file at path into *st (rec_state_init'ed) without ever
 * writing or moving it. Returns CTL_OK, or CTL_FAIL with a message on
 * stderr saying what to fix (no state file yet, not readable, not a state
 * file). */
int ctl_status_load_file(const char *path, struct rec_state *st);

/* Prints the status of the keys of st: once the source, the leader and
 * when each API last answered, then each key. Returns CTL_OK, or CTL_FAIL
 * with a message on stderr (no key matches, output failed). */
int ctl_status(const struct rec_state *st, const struct ctl_status_opts *o);

#endif
