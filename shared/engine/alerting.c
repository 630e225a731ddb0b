/* SPDX-License-Identifier: MIT */
/* The alert semantics' service: thresholds, flap options, windows. */
#include "engine/alerting.h"

#include "core/maintenance.h"
#include "engine/context.h"
#include "engine/key_view.h"
#include "util/clock.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int alerting_rec_opts(const struct cfg *c, struct rec_opts *o,
                      struct rec_bucket_opts **ret_buckets) {
  o->failure_threshold = (unsigned)c->failure_threshold;
  o->recovery_threshold = (unsigned)c->recovery_threshold;
  o->flap_detection = c->flap_detection;
  o->flap.window = (size_t)c->flap_window;
  o->flap.low = c->flap_low_threshold;
  o->flap.high = c->flap_high_threshold;
  *ret_buckets = NULL;
  o->buckets = NULL;
  o->n_buckets = 0;
  if (c->n_buckets == 0)
    return 0;
  struct rec_bucket_opts *b = calloc(c->n_buckets, sizeof(*b));
  if (b == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < c->n_buckets; i++) {
    const struct cfg_bucket *cb = &c->buckets[i];
    b[i].bucket_key = cb->key;
    b[i].failure_threshold =
        cb->failure_threshold > 0 ? (unsigned)cb->failure_threshold : 0;
    b[i].recovery_threshold =
        cb->recovery_threshold > 0 ? (unsigned)cb->recovery_threshold : 0;
  }
  *ret_buckets = b;
  o->buckets = b;
  o->n_buckets = c->n_buckets;
  return 0;
}

int alerting_init(struct engine *e) {
  struct alerting *a = &e->alerting;
  int rc = alerting_rec_opts(e->cfg, &e->opts, &a->buckets);
  a->n_buckets = e->opts.n_buckets;
  return rc;
}

static void files_fini(struct alerting *a) {
  for (size_t i = 0; i < a->n_files; i++)
    cfg_window_fini(&a->files[i]);
  free(a->files);
  a->files = NULL;
  a->n_files = 0;
}

void alerting_fini(struct engine *e) {
  struct alerting *a = &e->alerting;
  files_fini(a);
  free(a->buckets);
  free(a->bad);
  memset(a, 0, sizeof(*a));
  e->opts.buckets = NULL;
  e->opts.n_buckets = 0;
}

/* ---- MaintenanceDir ---- */

/* Reads a regular file of at most CFG_WINDOW_FILE_MAX bytes into buf
 * (NUL-terminated). Returns its length, or -1 with errno set. */
static ssize_t read_small(int dir_fd, const char *name, char *buf, size_t size,
                          double *mtime) {
  int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return -1;
  struct stat sb;
  ssize_t n = -1;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
    *mtime = (double)sb.st_mtime;
    n = read(fd, buf, size - 1);
  } else {
    errno = EINVAL;
  }
  int saved = errno;
  close(fd);
  errno = saved;
  if (n >= 0)
    buf[n] = '\0';
  return n;
}

/* Logs a bad file once per version of it (name and mtime); remembers it
 * in next. */
static void bad_file(struct engine *e, struct alerting_bad_file *next,
                     size_t *n_next, size_t cap, const char *name, double mtime,
                     const char *why) {
  struct alerting *a = &e->alerting;
  bool logged = false;
  for (size_t i = 0; i < a->n_bad; i++)
    logged |= strcmp(a->bad[i].name, name) == 0 && a->bad[i].mtime == mtime;
  if (!logged)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "MaintenanceDir file \"%s/%s\" is not a window and is ignored: "
            "%s.",
            e->cfg->maintenance_dir, name, why);
  if (*n_next < cap) {
    str_copy(next[*n_next].name, sizeof(next[0].name), name);
    next[(*n_next)++].mtime = mtime;
  }
}

static bool is_window_file(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Reads one file into the next free window of a->files (grown). */
static void read_window_file(struct engine *e, int dir_fd, const char *name,
                             double now, char *text,
                             struct alerting_bad_file *bad, size_t *n_bad,
                             size_t cap_bad) {
  struct alerting *a = &e->alerting;
  double mtime = 0;
  ssize_t n = read_small(dir_fd, name, text, CFG_WINDOW_FILE_MAX + 1, &mtime);
  if (n < 0) {
    bad_file(e, bad, n_bad, cap_bad, name, mtime, err_errno_text(errno));
    return;
  }
  struct cfg_window *v = realloc(a->files, (a->n_files + 1) * sizeof(*v));
  if (v == NULL)
    return;
  a->files = v;
  struct cfg_window *w = &v[a->n_files];
  memset(w, 0, sizeof(*w));
  char base[256];
  str_copy(base, sizeof(base), name);
  base[strlen(base) - 5] = '\0'; /* ".json" */
  struct err err = {{0}};
  if (cfg_window_from_json(w, text, (size_t)n, base, now, &err) != 0)
    bad_file(e, bad, n_bad, cap_bad, name, mtime, err.msg);
  else
    a->n_files++;
}

/* Reads every *.json file of MaintenanceDir into a->files. */
static void read_dir(struct engine *e, double now) {
  struct alerting *a = &e->alerting;
  files_fini(a);
  const char *path = e->cfg->maintenance_dir;
  if (path == NULL)
    return;
  DIR *d = opendir(path);
  if (d == NULL) {
    if (!a->dir_complained)
      say_log(&e->say, ENGINE_LOG_WARNING,
              "MaintenanceDir \"%s\" cannot be read (%s); no window of it "
              "applies until it can.",
              path, err_errno_text(errno));
    a->dir_complained = true;
    return;
  }
  a->dir_complained = false;
  enum { BAD_MAX = 64 };
  struct alerting_bad_file bad[BAD_MAX];
  size_t n_bad = 0;
  char *text = malloc(CFG_WINDOW_FILE_MAX + 1);
  struct dirent *de;
  while (text != NULL && (de = readdir(d)) != NULL)
    if (is_window_file(de->d_name) && strlen(de->d_name) < sizeof(bad[0].name))
      read_window_file(e, dirfd(d), de->d_name, now, text, bad, &n_bad,
                       BAD_MAX);
  free(text);
  closedir(d);
  struct alerting_bad_file *keep = NULL;
  if (n_bad > 0 && (keep = malloc(n_bad * sizeof(*keep))) != NULL)
    memcpy(keep, bad, n_bad * sizeof(*keep));
  free(a->bad);
  a->bad = keep;
  a->n_bad = keep ? n_bad : 0;
}

/* ---- which window applies to each key ---- */

/* Logs a key entering or leaving a window. */
static void log_change(struct engine *e, const struct rec_key *k,
                       const char *was, const struct cfg_window *w,
                       double now) {
  if (w != NULL) {
    char until[32];
    clock_iso8601(maint_closes(w, now), until, sizeof(until));
    say_log(&e->say, ENGINE_LOG_INFO,
            "%s is in maintenance window \"%s\" until %s: it pages nobody "
            "until then.",
            k->key, w->name, until);
  } else {
    say_log(&e->say, ENGINE_LOG_INFO,
            "%s left maintenance window \"%s\"; it pages again.", k->key, was);
  }
}

static void mark_key(struct engine *e, struct rec_key *k,
                     const struct cfg_window *const *all, size_t n,
                     double now) {
  if (n == 0 && k->maintenance == NULL)
    return; /* no window, and in none: the names are not needed */
  struct key_view v;
  key_view_init(e, k, &v);
  struct maint_target t = {
      .bucket_key = k->bucket_key,
      .bucket_name = v.bucket_name,
      .test_id = k->test_id,
      .test_name = v.test_name,
      .env_id = k->environment_id,
      .env_name = v.env_name,
  };
  const struct cfg_window *w = maint_find(all, n, &t, now);
  char name[REC_WINDOW_NAME_MAX] = "";
  if (w != NULL) /* a name too long is cut, as the key keeps it */
    str_copy(name, sizeof(name),
             w->name != NULL && w->name[0] ? w->name : "(unnamed)");
  if (strcmp(str_or_empty(k->maintenance), name) == 0)
    return;
  char was[REC_WINDOW_NAME_MAX];
  str_copy(was, sizeof(was), str_or_empty(k->maintenance));
  rec_set_maintenance(k, name, now);
  if (w != NULL || was[0] != '\0')
    log_change(e, k, was, w, now);
}

void alerting_mark(struct engine *e, double now) {
  read_dir(e, now);
  struct alerting *a = &e->alerting;
  size_t n = e->cfg->n_windows + a->n_files;
  const struct cfg_window **all = n ? calloc(n, sizeof(*all)) : NULL;
  if (n > 0 && all == NULL)
    return;
  for (size_t i = 0; i < e->cfg->n_windows; i++)
    all[i] = &e->cfg->windows[i];
  for (size_t i = 0; i < a->n_files; i++)
    all[e->cfg->n_windows + i] = &a->files[i];
  for (size_t i = 0; i < e->state.n_keys; i++)
    mark_key(e, e->state.keys[i], all, n, now);
  free(all);
}
