/* SPDX-License-Identifier: MIT */
/* runscopectl: file reading, durations, names and messages. */
#include "ctl.h"

#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fd(int fd, const char *path, size_t max, struct buf *out,
                   struct err *err) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0)
      return 0;
    if (n < 0 && errno == EINTR)
      continue;
    int rc = n < 0 ? -errno : buf_append(out, chunk, (size_t)n);
    if (rc == -EMSGSIZE) {
      err_set(err, "read %s: larger than %zu bytes", path, max);
      return -EFBIG;
    }
    if (rc != 0) {
      err_set(err, "read %s: %s", path, err_errno_text(-rc));
      return rc;
    }
  }
}

int ctl_read_file(const char *path, size_t max, struct buf *out,
                  struct err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int rc = -errno;
    err_set(err, "open %s: %s", path, err_errno_text(-rc));
    return rc;
  }
  struct stat sb;
  int rc = 0;
  if (fstat(fd, &sb) != 0) {
    rc = -errno;
    err_set(err, "stat %s: %s", path, err_errno_text(-rc));
  } else if (!S_ISREG(sb.st_mode)) {
    rc = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
    err_set(err, "read %s: not a regular file", path);
  } else {
    buf_init(out, max);
    rc = read_fd(fd, path, max, out, err);
    if (rc != 0)
      buf_fini(out);
  }
  close(fd);
  return rc;
}

int ctl_parse_duration(const char *s, double *ret) {
  double total = 0;
  const char *p = s;
  if (*p == '\0')
    return -EINVAL;
  while (*p != '\0') {
    char *end = NULL;
    if (*p < '0' || *p > '9')
      return -EINVAL;
    errno = 0;
    unsigned long long n = strtoull(p, &end, 10);
    if (errno != 0 || end == p)
      return -EINVAL;
    const char *units = "smhdw";
    const double scale[] = {1, 60, 3600, 86400, 604800};
    const char *u = *end != '\0' ? strchr(units, *end) : NULL;
    if (u == NULL)
      return -EINVAL;
    total += (double)n * scale[u - units];
    p = end + 1;
  }
  if (!(total > 0) || !isfinite(total))
    return -EINVAL;
  *ret = total;
  return 0;
}

bool ctl_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 100 || name[0] == '.' || name[0] == '-')
    return false;
  return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789._-") == n;
}

const char *ctl_time_text(double t, char out[32]) {
  clock_iso8601(t, out, 32);
  if (out[0] == '\0')
    memcpy(out, "-", 2);
  return out;
}

const char *ctl_age_text(double seconds, char out[32]) {
  long s = seconds > 0 && seconds < 1e12 ? (long)seconds : 0;
  if (s < 120)
    snprintf(out, 32, "%ld s", s);
  else if (s < 3600)
    snprintf(out, 32, "%ld min", s / 60);
  else if (s < 86400)
    snprintf(out, 32, "%ld h %ld min", s / 3600, s % 3600 / 60);
  else
    snprintf(out, 32, "%ld d %ld h", s / 86400, s % 86400 / 3600);
  return out;
}

int ctl_print_buf(const struct buf *out) {
  if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len)
    return ctl_fail(CTL_FAIL, "writing the output failed");
  if (fflush(stdout) != 0)
    return ctl_fail(CTL_FAIL, "writing the output failed: %s",
                    err_errno_text(errno));
  return CTL_OK;
}

int ctl_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("runscopectl: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}
