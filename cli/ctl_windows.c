/* SPDX-License-Identifier: MIT */
/* runscopectl: the window files of the MaintenanceDir. */
#define _GNU_SOURCE /* mkostemp, renameat2 */
#include "ctl_windows.h"

#include "core/maintenance.h"
#include "ctl.h"
#include "store/jw.h"
#include "util/clock.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".json"

void ctl_wfiles_fini(struct ctl_wfiles *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].file);
    cfg_window_fini(&l->v[i].w);
  }
  free(l->v);
  memset(l, 0, sizeof(*l));
}

static int is_window_file(const struct dirent *d) {
  size_t n = strlen(d->d_name), s = strlen(SUFFIX);
  return d->d_name[0] != '.' && n > s && strcmp(d->d_name + n - s, SUFFIX) == 0;
}

/* Reads the file name of dir into f, as the plugin reads it. */
static int read_window_file(const char *dir, const char *name, double now,
                            struct ctl_wfile *f) {
  char path[PATH_MAX], stem[PATH_MAX];
  struct err err = {{0}};
  f->file = strdup(name);
  if (f->file == NULL)
    return -ENOMEM;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - strlen(SUFFIX)),
           name);
  struct buf text;
  int rc = ctl_read_file(path, CFG_WINDOW_FILE_MAX, &text, &err);
  if (rc == 0) {
    rc = cfg_window_from_json(&f->w, text.data ? text.data : "", text.len, stem,
                              now, &err);
    buf_fini(&text);
  }
  if (rc == -ENOMEM)
    return rc;
  f->bad = rc != 0;
  str_copy(f->why, sizeof(f->why), err.msg);
  return 0;
}

int ctl_wfiles_load(const char *dir, double now, struct ctl_wfiles *ret,
                    struct err *err) {
  struct dirent **names = NULL;
  memset(ret, 0, sizeof(*ret));
  int n = scandir(dir, &names, is_window_file, alphasort);
  if (n < 0) {
    int rc = -errno;
    err_set(err, "MaintenanceDir %s: %s", dir, err_errno_text(-rc));
    return rc;
  }
  int rc = 0;
  ret->v = n > 0 ? calloc((size_t)n, sizeof(*ret->v)) : NULL;
  if (n > 0 && ret->v == NULL)
    rc = -ENOMEM;
  for (int i = 0; i < n; i++) {
    if (rc == 0)
      rc = read_window_file(dir, names[i]->d_name, now, &ret->v[ret->n++]);
    free(names[i]);
  }
  free(names);
  if (rc != 0)
    err_set(err, "reading MaintenanceDir %s: out of memory", dir);
  return rc;
}

const char *ctl_window_state(const struct cfg_window *w, double now) {
  if (w->weekly)
    return maint_open(w, now) ? "weekly, open" : "weekly, closed";
  if (now < w->start)
    return "future";
  return now < w->end ? "active" : "expired";
}

/* A member "name": value, left out when value is NULL. */
static void member(struct jw *w, const char *quoted, const char *value) {
  if (value == NULL)
    return;
  jw_member(w, quoted, strlen(quoted));
  jw_string(w, value);
}

int ctl_silence_json(const struct ctl_silence *s, struct buf *out) {
  char start[CLOCK_ISO8601_MAX], end[CLOCK_ISO8601_MAX];
  clock_iso8601(s->start, start, sizeof(start));
  clock_iso8601(s->end, end, sizeof(end));
  struct jw w;
  jw_to_buf(&w, out);
  jw_open(&w, '{');
  member(&w, "\"name\":", s->name);
  member(&w, "\"bucket\":", s->bucket);
  member(&w, "\"test\":", s->test);
  member(&w, "\"environment\":", s->environment);
  member(&w, "\"start\":", start);
  member(&w, "\"end\":", end);
  member(&w, "\"reason\":", s->reason);
  jw_close(&w, '}');
  jw_raw(&w, "\n", 1);
  return jw_finish(&w);
}

/* Writes text into the new temporary file fd (mode 0644), fsyncs and
 * closes it. */
static int fill_temp(int fd, const char *tmp, const struct buf *text,
                     struct err *err) {
  const char *step = "chmod";
  int rc = fchmod(fd, 0644) == 0 ? 0 : -errno;
  size_t done = 0;
  while (rc == 0 && done < text->len) {
    ssize_t n = write(fd, text->data + done, text->len - done);
    if (n < 0 && errno != EINTR) {
      step = "write";
      rc = -errno;
    }
    done += n > 0 ? (size_t)n : 0;
  }
  if (rc == 0 && fsync(fd) != 0) {
    step = "fsync";
    rc = -errno;
  }
  if (close(fd) != 0 && rc == 0) {
    step = "close";
    rc = -errno;
  }
  if (rc != 0)
    err_set(err, "%s %s: %s", step, tmp, err_errno_text(-rc));
  return rc;
}

/* Renames tmp to path unless path exists: -EEXIST then. */
static int rename_new(const char *tmp, const char *path) {
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -errno;
  /* a file system without RENAME_NOREPLACE: a hard link does not replace */
  if (link(tmp, path) != 0)
    return -errno;
  unlink(tmp);
  return 0;
}

/* Why the temporary file in dir cannot be made, and what to do. */
static void create_failed(const char *dir, const char *tmp, int rc,
                          struct err *err) {
  if (rc == -ENOENT)
    err_set(err,
            "MaintenanceDir %s does not exist: create it (install -d -m "
            "0755 %s) or set MaintenanceDir to an existing directory",
            dir, dir);
  else if (rc == -EACCES || rc == -EPERM || rc == -EROFS)
    err_set(err,
            "MaintenanceDir %s is not writable (%s): run as a user "
            "who may write there, such as root",
            dir, err_errno_text(-rc));
  else
    err_set(err, "create %s: %s", tmp, err_errno_text(-rc));
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int ctl_window_create(const char *dir, const char *name, const struct buf *text,
                      struct err *err) {
  char tmp[PATH_MAX], path[PATH_MAX];
  int n = snprintf(path, sizeof(path), "%s/%s" SUFFIX, dir, name);
  int m = snprintf(tmp, sizeof(tmp), "%s/.%s" SUFFIX ".tmp-XXXXXX", dir, name);
  if (n < 0 || m < 0 || (size_t)n >= sizeof(path) || (size_t)m >= sizeof(tmp)) {
    err_set(err, "%s/%s" SUFFIX ": the path is too long", dir, name);
    return -ENAMETOOLONG;
  }
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int rc = -errno;
    create_failed(dir, tmp, rc, err);
    return rc;
  }
  int rc = fill_temp(fd, tmp, text, err);
  if (rc == 0 && (rc = rename_new(tmp, path)) != 0 && rc != -EEXIST)
    err_set(err, "rename %s to %s: %s", tmp, path, err_errno_text(-rc));
  if (rc != 0) {
    unlink(tmp);
    return rc;
  }
  fsync_dir(dir);
  return 0;
}

/* The file of the window named name in l, or NULL. */
static const char *file_of(const struct ctl_wfiles *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (!l->v[i].bad && strcmp(l->v[i].w.name, name) == 0)
      return l->v[i].file;
  return NULL;
}

/* The file to remove for name: "<name>.json" or name itself when it is a
 * window file, else the file whose window is named name. */
static int find_file(const char *dir, const char *name, double now,
                     char *ret_file, size_t size, struct err *err) {
  struct stat sb;
  char path[PATH_MAX];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/%s%s", dir, name, i == 0 ? SUFFIX : "");
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
        strlen(path) > strlen(SUFFIX) &&
        strcmp(path + strlen(path) - strlen(SUFFIX), SUFFIX) == 0)
      return str_copy(ret_file, size, strrchr(path, '/') + 1);
  }
  struct ctl_wfiles l;
  int rc = ctl_wfiles_load(dir, now, &l, err);
  const char *file = rc == 0 ? file_of(&l, name) : NULL;
  if (rc == 0)
    rc = file != NULL ? str_copy(ret_file, size, file) : -ENOENT;
  ctl_wfiles_fini(&l);
  return rc;
}

int ctl_window_remove(const char *dir, const char *name, double now,
                      char *ret_file, size_t size, struct err *err) {
  if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0') {
    err_set(err, "\"%s\" is not a silence name (see runscopectl silences)",
            name);
    return -EINVAL;
  }
  int rc = find_file(dir, name, now, ret_file, size, err);
  if (rc == -ENOENT)
    err_set(err,
            "no silence named \"%s\" in %s (runscopectl silences "
            "lists them)",
            name, dir);
  if (rc != 0)
    return rc;
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", dir, ret_file);
  if (unlink(path) != 0) {
    rc = -errno;
    if (rc == -EACCES || rc == -EPERM || rc == -EROFS)
      err_set(err,
              "remove %s: %s: run as a user who may write to %s, such "
              "as root",
              path, err_errno_text(-rc), dir);
    else
      err_set(err, "remove %s: %s", path, err_errno_text(-rc));
    return rc;
  }
  fsync_dir(dir);
  return 0;
}
