/* SPDX-License-Identifier: MIT */
/* A streaming JSON writer: text into a buffer or a file. */
#include "store/jw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void start(struct jw *w, struct buf *out, int fd) {
  memset(w, 0, sizeof(*w));
  w->out = out;
  w->start = out->len;
  w->fd = fd;
  w->first = true;
}

void jw_to_buf(struct jw *w, struct buf *out) { start(w, out, -1); }

void jw_to_fd(struct jw *w, int fd, size_t max) {
  start(w, &w->chunk, fd);
  buf_init(&w->chunk, JW_CHUNK * 2);
  w->max = max;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Hands the chunk to the file and empties it. */
static void flush(struct jw *w) {
  if (w->rc != 0 || w->out->len == 0)
    return;
  if (w->out->len > w->max - w->flushed) {
    w->rc = -EMSGSIZE;
    return;
  }
  w->rc = write_all(w->fd, w->out->data, w->out->len);
  w->io_error = w->rc != 0;
  w->flushed += w->out->len;
  buf_reset(w->out);
}

int jw_finish(struct jw *w) {
  if (w->out == &w->chunk) {
    flush(w);
    buf_fini(&w->chunk);
  } else if (w->rc != 0 && w->out->data != NULL) {
    w->out->len = w->start;
    w->out->data[w->start] = '\0';
  }
  return w->rc;
}

void jw_fail(struct jw *w, int rc) {
  if (w->rc == 0)
    w->rc = rc;
}

void jw_raw(struct jw *w, const char *s, size_t n) {
  if (w->rc == 0)
    w->rc = buf_append(w->out, s, n);
  if (w->out->len >= JW_CHUNK && w->out == &w->chunk)
    flush(w);
}

void jw_member(struct jw *w, const char *quoted, size_t quoted_len) {
  if (!w->first)
    jw_raw(w, ",", 1);
  w->first = false;
  jw_raw(w, quoted, quoted_len);
}

void jw_item(struct jw *w) {
  if (!w->first)
    jw_raw(w, ",", 1);
  w->first = false;
}

void jw_open(struct jw *w, char bracket) {
  jw_raw(w, &bracket, 1);
  w->first = true;
}

void jw_close(struct jw *w, char bracket) {
  jw_raw(w, &bracket, 1);
  w->first = false;
}

void jw_string(struct jw *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  jw_raw(w, "\"", 1);
  const char *run = s;
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    jw_raw(w, run, (size_t)(s - run));
    run = s + 1;
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\')
      jw_raw(w, (char[]){'\\', (char)c}, 2);
    else if (c == '\n')
      jw_raw(w, "\\n", 2);
    else
      jw_raw(w, esc, sizeof(esc));
  }
  jw_raw(w, run, (size_t)(s - run));
  jw_raw(w, "\"", 1);
}

/* d with the fewest significant digits (15 to 17) that read back as the
 * same double, so times round-trip exactly and still read as
 * "1700000000.123456". */
static void format_double(double d, char *out, size_t size) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, d);
    if (strtod(out, NULL) == d)
      break;
  }
  /* Under a locale with a decimal comma, JSON still wants a point. */
  for (char *p = out; *p != '\0'; p++)
    if (*p == ',')
      *p = '.';
}

/* Zero, the value of every unset time, skips the search for the shortest
 * digits. */
void jw_num(struct jw *w, double d) {
  char s[64];
  if (!isfinite(d))
    jw_raw(w, "null", 4);
  else if (d == 0)
    jw_raw(w, "0", 1);
  else {
    format_double(d, s, sizeof(s));
    jw_raw(w, s, strlen(s));
  }
}

void jw_long(struct jw *w, long v) {
  char s[32];
  jw_raw(w, s, (size_t)snprintf(s, sizeof(s), "%ld", v));
}

void jw_bool(struct jw *w, bool v) {
  jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}
