/* SPDX-License-Identifier: MIT */
/* runscopectl: the runscope plugin's paths and windows from collectd's
 * config. */
#include "ctl_conf.h"

#include "ctl_tree.h"
#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ctl_conf_init(struct ctl_conf *c) {
  memset(c, 0, sizeof(*c));
  cfg_init(&c->cfg);
}

void ctl_conf_fini(struct ctl_conf *c) {
  cfg_fini(&c->cfg);
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

/* ---- options by config.h's tables ---- */

enum opt_kind { O_STRING, O_BOOL, O_SECONDS, O_NUMBER, O_INT, O_LIST };

struct opt {
  const char *name;
  enum opt_kind kind;
  size_t off; /* of the field in the block's struct */
};

#define OPT_ROW(type, name, kind, member)                                      \
  {name, O_##kind, offsetof(type, member)},
#define TLS_OPT_ROW(type, name, kind, member)                                  \
  {name, O_##kind,                                                             \
   offsetof(type, net) + offsetof(struct cfg_tls_proxy, member)},

static const struct opt plugin_opts[] = {
    CFG_ALERT_OPTIONS(OPT_ROW, struct cfg)};
static const struct opt bucket_opts[] = {
    CFG_BUCKET_ALERT_OPTIONS(OPT_ROW, struct cfg_bucket)};
static const struct opt cluster_opts[] = {
    CFG_CLUSTER_OPTIONS(OPT_ROW, struct cfg_cluster)
        CFG_TLS_PROXY_OPTIONS(TLS_OPT_ROW, struct cfg_cluster)};

#define N_OPTS(a) (sizeof(a) / sizeof((a)[0]))

static const struct opt *find_opt(const struct opt *t, size_t n,
                                  const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(t[i].name, name) == 0)
      return &t[i];
  return NULL;
}

static const char *const opt_example[] = {
    [O_STRING] = "one string",
    [O_BOOL] = "true or false",
    [O_SECONDS] = "a number of seconds (0 or more)",
    [O_NUMBER] = "a number",
    [O_INT] = "a whole number",
    [O_LIST] = "a string",
};

/* A number written in full: strtod's, finite. */
static bool number_of(const char *s, double *ret) {
  char *end = NULL;
  errno = 0;
  double d = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !isfinite(d))
    return false;
  *ret = d;
  return true;
}

static bool bool_of(const char *s, bool *ret) {
  if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
    *ret = true;
  else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
    *ret = false;
  else
    return false;
  return true;
}

/* The value of n (one, as a string) into the field of kind k, as the
 * plugin's parser reads it. Returns 0, -ENOMEM or -EINVAL. */
static int set_value(enum opt_kind k, const char *v, void *field) {
  double d = 0;
  if (k == O_STRING)
    return cfg_set_string(field, v);
  if (k == O_LIST)
    return cfg_list_add(field, v);
  if (k == O_BOOL)
    return bool_of(v, field) ? 0 : -EINVAL;
  if (!number_of(v, &d) || (k == O_SECONDS && d < 0))
    return -EINVAL;
  if (k != O_INT) {
    *(double *)field = d;
    return 0;
  }
  /* the range first: converting an out-of-range double is undefined */
  if (!(d >= INT_MIN && d <= INT_MAX) || d != (double)(int)d)
    return -EINVAL;
  *(int *)field = (int)d;
  return 0;
}

/* Stores n's value into the field at base + o->off. Returns 0, -ENOMEM,
 * or -EINVAL with err naming the option. */
static int set_opt(const struct opt *o, const struct ctl_node *n, void *base,
                   struct err *err) {
  int rc = n->n_vals == 1
               ? set_value(o->kind, n->vals[0], (char *)base + o->off)
               : -EINVAL;
  if (rc == -EINVAL)
    err_set(err, "%s expects %s", n->key, opt_example[o->kind]);
  return rc;
}

/* The options of block in table t into base; the others are the plugin's
 * to judge. */
static int read_opts(const struct ctl_node *block, const struct opt *t,
                     size_t n_t, void *base, struct err *err) {
  for (size_t i = 0; i < block->n_kids; i++) {
    const struct ctl_node *n = &block->kids[i];
    const struct opt *o = find_opt(t, n_t, n->key);
    int rc = o != NULL ? set_opt(o, n, base, err) : 0;
    if (rc == -EINVAL) {
      char msg[ERR_MSG_MAX];
      str_copy(msg, sizeof(msg), err->msg);
      err_set(err, "%s:%d: <%s> %s", n->file, n->line, block->key, msg);
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* <Bucket "key">: its thresholds. */
static int read_bucket(const struct ctl_node *block, struct ctl_conf *c,
                       struct err *err) {
  struct cfg_bucket *b;
  if (block->n_vals != 1)
    return 0; /* the plugin's to refuse */
  int rc = cfg_add_bucket(&c->cfg, block->vals[0], &b);
  return rc == 0 ? read_opts(block, bucket_opts, N_OPTS(bucket_opts), b, err)
                 : rc;
}

/* <Cluster>: its options, the TLS and proxy ones included. */
static int read_cluster(const struct ctl_node *block, struct ctl_conf *c,
                        struct err *err) {
  c->cfg.cluster.enabled = true;
  return read_opts(block, cluster_opts, N_OPTS(cluster_opts), &c->cfg.cluster,
                   err);
}

/* A <Plugin runscope> block; a later one overrides an earlier one. */
static int read_plugin(const struct ctl_node *block, struct ctl_conf *c,
                       struct err *err) {
  c->found_plugin = true;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < block->n_kids; i++) {
    const struct ctl_node *n = &block->kids[i];
    const struct opt *o = find_opt(plugin_opts, N_OPTS(plugin_opts), n->key);
    if (o != NULL) {
      rc = set_opt(o, n, &c->cfg, err);
    } else if (strcasecmp(n->key, "Bucket") == 0) {
      rc = read_bucket(n, c, err);
      continue;
    } else if (strcasecmp(n->key, "Cluster") == 0) {
      rc = read_cluster(n, c, err);
      continue;
    } else if (strcasecmp(n->key, "StateFile") == 0) {
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
