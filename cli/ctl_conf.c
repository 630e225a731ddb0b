/* SPDX-License-Identifier: MIT */
/* runscopectl: the runscope plugin's paths and windows from collectd's
 * config. */
#include "ctl_conf.h"

#include "ctl_tree.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ctl_conf_init(struct ctl_conf *c) { memset(c, 0, sizeof(*c)); }

void ctl_conf_fini(struct ctl_conf *c) {
  free(c->state_file);
  free(c->maint_dir);
  for (size_t i = 0; i < c->n_windows; i++)
    cfg_window_fini(&c->windows[i]);
  free(c->windows);
  memset(c, 0, sizeof(*c));
}

static int one_value(const struct ctl_node *n, struct err *err) {
  if (n->n_vals == 1)
    return 0;
  err_set(err, "%s takes one value", n->key);
  return -EINVAL;
}

/* Start or End of a <Maintenance> block into *ret. */
static int window_time(const struct ctl_node *n, double *ret, struct err *err) {
  int rc = one_value(n, err);
  if (rc == 0 && clock_parse_iso8601(n->vals[0], ret) != 0) {
    err_set(err,
            "%s: \"%s\" is not an ISO-8601 time such as "
            "\"2026-12-24T18:00:00Z\"",
            n->key, n->vals[0]);
    rc = -EINVAL;
  }
  return rc;
}

/* Adds every value of n to l. */
static int window_list(const struct ctl_node *n, struct cfg_list *l) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n->n_vals; i++)
    rc = cfg_list_add(l, n->vals[i]);
  return rc;
}

/* One option of a <Maintenance> block; unknown ones are the plugin's to
 * judge. */
static int window_option(const struct ctl_node *n, struct cfg_window *w,
                         struct err *err) {
  if (strcasecmp(n->key, "Bucket") == 0)
    return window_list(n, &w->buckets);
  if (strcasecmp(n->key, "Test") == 0)
    return window_list(n, &w->tests);
  if (strcasecmp(n->key, "Environment") == 0)
    return window_list(n, &w->environments);
  if (strcasecmp(n->key, "Start") == 0)
    return window_time(n, &w->start, err);
  if (strcasecmp(n->key, "End") == 0)
    return window_time(n, &w->end, err);
  if (strcasecmp(n->key, "Weekly") == 0) {
    int rc = one_value(n, err);
    return rc == 0 ? cfg_window_weekly(w, n->vals[0], err) : rc;
  }
  if (strcasecmp(n->key, "Reason") == 0) {
    int rc = one_value(n, err);
    return rc == 0 ? cfg_set_string(&w->reason, n->vals[0]) : rc;
  }
  return 0;
}

/* A <Maintenance "name"> block, appended to c's windows. */
static int read_window(const struct ctl_node *block, struct ctl_conf *c,
                       struct err *err) {
  if (block->n_vals != 1) {
    err_set(err, "%s:%d: <Maintenance> takes one name", block->file,
            block->line);
    return -EINVAL;
  }
  struct cfg_window w;
  memset(&w, 0, sizeof(w));
  int rc = cfg_set_string(&w.name, block->vals[0]);
  for (size_t i = 0; rc == 0 && i < block->n_kids; i++)
    rc = window_option(&block->kids[i], &w, err);
  if (rc == -EINVAL)
    err_prefix(err, "<Maintenance \"%s\">", w.name);
  if (rc == 0)
    rc = cfg_window_check(&w, err);
  if (rc == -EINVAL)
    err_prefix(err, "%s:%d", block->file, block->line);
  struct cfg_window *v =
      rc == 0 ? realloc(c->windows, (c->n_windows + 1) * sizeof(*v)) : NULL;
  if (rc == 0 && v == NULL)
    rc = -ENOMEM;
  if (rc != 0) {
    cfg_window_fini(&w);
    return rc;
  }
  c->windows = v;
  c->windows[c->n_windows++] = w;
  return 0;
}

/* A <Plugin runscope> block; a later one overrides an earlier one. */
static int read_plugin(const struct ctl_node *block, struct ctl_conf *c,
                       struct err *err) {
  c->found_plugin = true;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < block->n_kids; i++) {
    const struct ctl_node *n = &block->kids[i];
    if (strcasecmp(n->key, "StateFile") == 0) {
      rc = one_value(n, err);
      if (rc == 0)
        rc = cfg_set_string(&c->state_file, n->vals[0]);
    } else if (strcasecmp(n->key, "MaintenanceDir") == 0) {
      rc = one_value(n, err);
      if (rc == 0)
        rc = cfg_set_string(&c->maint_dir, n->vals[0]);
    } else if (strcasecmp(n->key, "Maintenance") == 0) {
      rc = read_window(n, c, err);
      if (rc == -EINVAL) /* the plugin's to refuse; the rest still holds */
        fprintf(stderr, "runscopectl: warning: %s; the window is ignored\n",
                err->msg);
      rc = rc == -EINVAL ? 0 : rc;
      continue;
    }
    if (rc == -EINVAL)
      err_prefix(err, "%s:%d", n->file, n->line);
  }
  return rc;
}

int ctl_conf_read(const char *path, struct ctl_conf *c, struct err *err) {
  struct ctl_node root;
  memset(&root, 0, sizeof(root));
  int rc = ctl_tree_read(path, &root, err);
  for (size_t i = 0; rc == 0 && i < root.n_kids; i++) {
    const struct ctl_node *n = &root.kids[i];
    if (strcasecmp(n->key, "Plugin") == 0 && n->n_vals == 1 &&
        strcasecmp(n->vals[0], "runscope") == 0)
      rc = read_plugin(n, c, err);
  }
  ctl_tree_fini(&root);
  if (rc == -ENOMEM)
    err_set(err, "reading %s: out of memory", path);
  return rc;
}
