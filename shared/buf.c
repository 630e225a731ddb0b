/* Bounded growable buffers and string copies that report truncation. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int array_reserve(void *arrp, size_t *cap, size_t n, size_t size,
                  size_t first) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? *cap * 2 : (first ? first : 1);
  if (ncap <= n)
    ncap = n + 1;
  if (size == 0 || ncap > SIZE_MAX / size)
    return -ENOMEM;
  void *arr;
  memcpy(&arr, arrp, sizeof(arr)); /* any T *, without aliasing it */
  void *grown = realloc(arr, ncap * size);
  if (grown == NULL)
    return -ENOMEM; /* arr is still the array's */
  memcpy(arrp, &grown, sizeof(grown));
  *cap = ncap;
  /* cppcheck-suppress memleak ; grown is now the array's, stored at arrp */
  return 0;
}

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

int str_copy(char *dst, size_t size, const char *src) {
  if (size == 0)
    return -ENAMETOOLONG;
  size_t n = strlen(src);
  if (n < size) {
    memcpy(dst, src, n + 1);
    return 0;
  }
  memcpy(dst, src, size - 1);
  dst[size - 1] = '\0';
  return -ENAMETOOLONG;
}

void str_utf8_trim(char *s) {
  size_t n = strlen(s), i = n;
  while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
    i--;
  if (i == 0 || ((unsigned char)s[i - 1] & 0xC0) != 0xC0)
    return;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (n - (i - 1) < want)
    s[i - 1] = '\0';
}

void str_snippet(const char *text, size_t len, char *out, size_t size) {
  size_t o = 0;
  int blank = 1; /* drops leading blanks */
  for (size_t i = 0; i < len && o < size - 1; i++) {
    unsigned char ch = (unsigned char)text[i];
    int is_blank = ch <= ' ' || ch == 0x7f;
    if (is_blank && blank)
      continue;
    out[o++] = is_blank ? ' ' : (char)ch;
    blank = is_blank;
  }
  while (o > 0 && out[o - 1] == ' ')
    o--;
  out[o] = '\0';
  str_utf8_trim(out);
}
