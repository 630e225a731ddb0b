/* SPDX-License-Identifier: MIT */
/* runscopectl: collectd's config syntax read into a tree, as oconfig does,
 * with its Include directives followed (ctl_conf.h says what is read). */
#ifndef RUNSCOPE_CLI_CTL_TREE_H
#define RUNSCOPE_CLI_CTL_TREE_H

#include "util/err.h"

#include <stddef.h>

/* One "Key value ..." line or <Key value ...> block. Values are the
 * strings as written (quotes removed, escapes undone). */
struct ctl_node {
  char *key;
  char **vals;
  size_t n_vals;
  struct ctl_node *kids;
  size_t n_kids;
  char *file; /* where it was read, for messages */
  int line;
};

/* The most bytes a config file may have, and how deep Includes nest. */
#define CTL_CONF_FILE_MAX (1u << 20)
#define CTL_INCLUDE_DEPTH 8

/* Reads the file at path into root (zeroed by the caller; its kids are the
 * top-level statements, Includes replaced by what they include). Returns 0
 * or a negative errno with err naming the file, the line and the fault.
 * The caller releases root with ctl_tree_fini, also on error. */
int ctl_tree_read(const char *path, struct ctl_node *root, struct err *err);

/* Frees what n holds and zeroes it. */
void ctl_tree_fini(struct ctl_node *n);

#endif
