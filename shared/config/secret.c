/* SPDX-License-Identifier: MIT */
/* Secrets read from files: the first line, a warning when others can read
 * the file. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 4096

static void warn_if_readable(const char *key, const char *path, int fd,
                             cfg_warn_fn warn, void *warn_ctx) {
  struct stat st;
  if (warn == NULL || fstat(fd, &st) != 0 || (st.st_mode & 077) == 0)
    return;
  char msg[ERR_MSG_MAX];
  snprintf(msg, sizeof(msg),
           "%s \"%s\" is readable by group or others (mode %04o); "
           "chmod 600 it",
           key, path, (unsigned)(st.st_mode & 07777));
  warn(warn_ctx, msg);
}

void cfg_warn_inline(cfg_warn_fn warn, void *warn_ctx, const char *title,
                     const char *key, const char *what, const char *put,
                     const char *file_key) {
  if (warn == NULL)
    return;
  char msg[ERR_MSG_MAX];
  snprintf(msg, sizeof(msg),
           "%s %s holds %s inline; put %s on the first line of a file of "
           "mode 0600 and name that file with %s",
           title, key, what, put, file_key);
  warn(warn_ctx, msg);
}

/* Reads up to SECRET_MAX - 1 bytes of fd into buf (NUL-terminated). */
static ssize_t read_all(int fd, char *buf, size_t size) {
  size_t len = 0;
  while (len < size - 1) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return (ssize_t)len;
}

int cfg_read_secret(const char *key, const char *path, char **ret,
                    cfg_warn_fn warn, void *warn_ctx, struct err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int rc = -errno;
    err_set(err, "%s \"%s\": %s; create it (mode 0600) or fix the path", key,
            path, err_errno_text(errno));
    return rc;
  }
  warn_if_readable(key, path, fd, warn, warn_ctx);
  char buf[SECRET_MAX];
  ssize_t n = read_all(fd, buf, sizeof(buf));
  close(fd);
  if (n < 0) { /* what was read before the error may be a part */
    explicit_bzero(buf, sizeof(buf));
    err_set(err, "%s \"%s\": %s", key, path, err_errno_text((int)-n));
    return (int)n;
  }
  size_t len = strcspn(buf, "\r\n");
  buf[len] = '\0';
  if (len == sizeof(buf) - 1) { /* no line end in a full buffer */
    explicit_bzero(buf, sizeof(buf));
    err_set(err, "%s \"%s\": the first line is longer than %d bytes", key, path,
            SECRET_MAX - 2);
    return -EINVAL;
  }
  if (buf[0] == '\0') {
    explicit_bzero(buf, sizeof(buf)); /* the lines after the first */
    err_set(err,
            "%s \"%s\": the file is empty; put the secret on its first "
            "line",
            key, path);
    return -EINVAL;
  }
  *ret = strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return *ret ? 0 : -ENOMEM;
}
