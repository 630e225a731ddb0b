/* SPDX-License-Identifier: MIT */
/* Bounded growable buffers. */
#include "util/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void buf_fini(struct buf *b) {
  free(b->data);
  buf_init(b, b->max);
}

void buf_fini_wipe(struct buf *b) {
  if (b->data != NULL)
    explicit_bzero(b->data, b->cap);
  buf_fini(b);
}

void buf_reset(struct buf *b) {
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

/* Makes room for need more bytes plus the NUL. */
static int buf_reserve(struct buf *b, size_t need) {
  if (need > b->max - b->len)
    return -EMSGSIZE;
  size_t want = b->len + need + 1;
  if (want <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < want)
    cap *= 2;
  if (cap > b->max + 1)
    cap = b->max + 1;
  char *data = realloc(b->data, cap);
  if (data == NULL)
    return -ENOMEM;
  b->data = data;
  b->cap = cap;
  return 0;
}

int buf_append(struct buf *b, const void *data, size_t n) {
  int rc = buf_reserve(b, n);
  if (rc != 0)
    return rc;
  if (n > 0)
    memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_puts(struct buf *b, const char *s) {
  return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  int rc = buf_reserve(b, (size_t)n);
  if (rc != 0)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

int buf_put_urlenc(struct buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char enc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};
    int rc = is_unreserved(*p) ? buf_append(b, p, 1) : buf_append(b, enc, 3);
    if (rc != 0)
      return rc;
  }
  return 0;
}

char *buf_detach(struct buf *b) {
  if (b->data == NULL && buf_reserve(b, 0) != 0)
    return NULL;
  if (b->len == 0)
    b->data[0] = '\0';
  char *data = b->data;
  buf_init(b, b->max);
  return data;
}
