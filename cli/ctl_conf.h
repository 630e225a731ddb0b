/* SPDX-License-Identifier: MIT */
/* runscopectl: what it needs of collectd's config, read without collectd:
 * the runscope plugin's StateFile, MaintenanceDir and <Maintenance> blocks,
 * its alert options (FailureThreshold, RecoveryThreshold, also of each
 * <Bucket>, and the Flap* options) and its <Cluster> block with the TLS and
 * proxy options (as config.h's option tables name them).
 *
 * A minimal reader of collectd's syntax: "Key value ..." lines, <Block
 * value> ... </Block>, quoted strings with \" and \\, # comments, lines
 * continued with a trailing backslash, and Include "path" (a file, a
 * directory, or a glob pattern; <Include "dir"> Filter "*.conf"
 * </Include>) as collectd follows it. */
#ifndef RUNSCOPE_CLI_CTL_CONF_H
#define RUNSCOPE_CLI_CTL_CONF_H

#include "config/config.h"
#include "config/window.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>

struct ctl_conf {
  bool found_plugin;          /* a <Plugin runscope> block was read */
  char *state_file;           /* NULL: not set */
  char *maint_dir;            /* NULL: not set */
  struct cfg_window *windows; /* the <Maintenance> blocks, checked */
  size_t n_windows;
  /* the alert options, <Bucket> blocks (their thresholds) and <Cluster>
   * as read, unchecked; every other option at its default (cfg_init) */
  struct cfg cfg;
};

void ctl_conf_init(struct ctl_conf *c);
void ctl_conf_fini(struct ctl_conf *c);

/* Reads the config at path (and what it includes) into c. Returns 0, or a
 * negative errno with err naming the file and line and what is wrong
 * ("/etc/collectd/collectd.conf:12: </Plugin> closes no block"); a bad
 * <Maintenance> block is left out with a warning on stderr. */
int ctl_conf_read(const char *path, struct ctl_conf *c, struct err *err);

#endif
