/* SPDX-License-Identifier: MIT */
/* The state file on disk: a checked load and an atomic save. */
#define _GNU_SOURCE /* mkostemp */
#include "store/state.h"

#include "store/jw.h"
#include "store/state_json.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks that the open fd is a regular file small enough to read. */
static int check_file(int fd, const char *path, struct err *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int rc = -errno;
    err_set(err, "state: stat %s: %s", path, err_errno_text(-rc));
    return rc;
  }
  if (S_ISDIR(sb.st_mode)) {
    err_set(err, "state: read %s: %s", path, err_errno_text(EISDIR));
    return -EISDIR;
  }
  if (!S_ISREG(sb.st_mode)) {
    err_set(err, "state: read %s: not a regular file", path);
    return -EINVAL;
  }
  if (sb.st_size > (off_t)STATE_FILE_MAX) {
    err_set(err, "state: read %s: %lld bytes, larger than the %u allowed", path,
            (long long)sb.st_size, STATE_FILE_MAX);
    return -EFBIG;
  }
  return 0;
}

/* Reads the regular file at path into out (bounded by STATE_FILE_MAX).
 * 0 or a negative errno with err naming the step. */
static int read_file(const char *path, struct buf *out, struct err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int rc = -errno;
    err_set(err, "state: open %s: %s", path, err_errno_text(-rc));
    return rc;
  }
  int rc = check_file(fd, path, err);
  char chunk[65536];
  while (rc == 0) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0)
      break;
    if (n < 0 && errno == EINTR)
      continue;
    rc = n < 0 ? -errno : buf_append(out, chunk, (size_t)n);
    if (rc == -EMSGSIZE) /* it grew after the check */
      rc = -EFBIG;
    if (rc != 0)
      err_set(err, "state: read %s: %s", path, err_errno_text(-rc));
  }
  close(fd);
  return rc;
}

/* Renames the corrupt file at path aside and says so in err, with the cause
 * found while parsing. */
static void move_aside(const char *path, double now, const char *cause,
                       struct err *err) {
  char aside[PATH_MAX];
  long long stamp = isfinite(now) && now > 0 && now < 1e18 ? (long long)now : 0;
  int n = snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path, stamp);
  int rc = 0;
  if (n < 0 || (size_t)n >= sizeof(aside))
    rc = -ENAMETOOLONG;
  else if (rename(path, aside) != 0)
    rc = -errno;
  if (rc == 0)
    err_set(err, "state: %s is corrupt (%s); moved it aside to %s", path, cause,
            aside);
  else
    err_set(err, "state: %s is corrupt (%s); could not move it aside to %s: %s",
            path, cause, aside, err_errno_text(-rc));
}

int state_load(const char *path, double now, int max_json_depth,
               struct rec_state *st, struct err *err) {
  struct buf text;
  buf_init(&text, STATE_FILE_MAX);
  int rc = read_file(path, &text, err);
  if (rc == 0) {
    struct err cause = {{0}};
    rc = state_from_json(text.data, text.len, max_json_depth, st, &cause);
    if (rc == -EBADMSG)
      move_aside(path, now, cause.msg, err);
    else if (rc != 0)
      err_set(err, "state: load %s: %s", path, cause.msg);
  }
  if (rc != 0)
    rec_state_fini(st);
  buf_fini(&text);
  return rc;
}

/* The directory of path ("." when it names none) into dir[PATH_MAX]. */
static int dir_of(const char *path, char *dir) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    return str_copy(dir, PATH_MAX, ".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= PATH_MAX)
    return -ENAMETOOLONG;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return 0;
}

/* Writes the state into fd, the temp file tmp, then fsyncs and closes it.
 * 0 or a negative errno with err naming the step; fd is closed either
 * way. */
static int fill_temp(int fd, const char *tmp, const char *path,
                     const struct rec_state *st, struct err *err) {
  struct jw w;
  jw_to_fd(&w, fd, STATE_FILE_MAX);
  state_json_write(&w, st);
  int rc = jw_finish(&w);
  if (rc != 0 && !w.io_error) {
    close(fd);
    err_set(err, "state: save %s: serialising: %s", path, err_errno_text(-rc));
    return rc;
  }
  const char *step = "write";
  if (rc == 0 && fsync(fd) != 0) {
    step = "fsync";
    rc = -errno;
  }
  if (close(fd) != 0 && rc == 0) {
    step = "close";
    rc = -errno;
  }
  if (rc != 0)
    err_set(err, "state: %s %s: %s", step, tmp, err_errno_text(-rc));
  return rc;
}

static int fsync_dir(const char *dir, struct err *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd < 0 ? -errno : 0;
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (fd >= 0)
    close(fd);
  if (rc != 0)
    err_set(err, "state: fsync directory %s: %s", dir, err_errno_text(-rc));
  return rc;
}

/* Creates the temp file for path from template tmp (rewritten). */
static int create_temp(char *tmp, const char *dir, struct err *err) {
  char template[PATH_MAX];
  memcpy(template, tmp, strlen(tmp) + 1);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd >= 0)
    return fd;
  int rc = -errno;
  if (rc == -ENOENT)
    err_set(err, "state: create %s: %s (the directory %s does not exist)",
            template, err_errno_text(-rc), dir);
  else
    err_set(err, "state: create %s: %s", template, err_errno_text(-rc));
  return rc;
}

/* Replaces path with the state: temp file, fsync, rename, fsync the
 * directory. */
static int replace_file(const char *path, const struct rec_state *st,
                        struct err *err) {
  char dir[PATH_MAX], tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(tmp) || dir_of(path, dir) != 0) {
    err_set(err, "state: save %s: %s", path, err_errno_text(ENAMETOOLONG));
    return -ENAMETOOLONG;
  }
  int fd = create_temp(tmp, dir, err);
  if (fd < 0)
    return fd;
  int rc = fill_temp(fd, tmp, path, st, err);
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -errno;
    err_set(err, "state: rename %s to %s: %s", tmp, path, err_errno_text(-rc));
  }
  if (rc != 0) {
    unlink(tmp);
    return rc;
  }
  return fsync_dir(dir, err);
}

int state_save(const char *path, const struct rec_state *st, struct err *err) {
  if (path == NULL || path[0] == '\0') {
    err_set(err, "state: save: no file name");
    return -EINVAL;
  }
  return replace_file(path, st, err);
}
