/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, standard alphabet, padded) into bounded buffers. */
#include "util/base64.h"

#include <errno.h>
#include <stdint.h>

#define CHUNK 768 /* input bytes encoded at a time: 1024 characters */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

/* Encodes p[0..n) (n <= CHUNK) into q; returns the characters written. */
static size_t encode_chunk(const unsigned char *p, size_t n, char *q) {
  size_t i = 0, o = 0;
  for (; n - i >= 3; i += 3, o += 4) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    q[o] = alphabet[v >> 18];
    q[o + 1] = alphabet[(v >> 12) & 63];
    q[o + 2] = alphabet[(v >> 6) & 63];
    q[o + 3] = alphabet[v & 63];
  }
  if (n > i) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (n - i == 2)
      v |= (uint32_t)p[i + 1] << 8;
    q[o] = alphabet[v >> 18];
    q[o + 1] = alphabet[(v >> 12) & 63];
    q[o + 2] = n - i == 2 ? alphabet[(v >> 6) & 63] : '=';
    q[o + 3] = '=';
    o += 4;
  }
  return o;
}

/* Cuts out back to len bytes after a failed append. */
static void truncate_to(struct buf *out, size_t len) {
  out->len = len;
  if (out->data != NULL)
    out->data[len] = '\0';
}

int base64_encode(const void *data, size_t n, struct buf *out) {
  if (n > (SIZE_MAX - 2) / 4 * 3 || base64_encoded_len(n) > out->max - out->len)
    return -EMSGSIZE;
  const unsigned char *p = data;
  size_t start = out->len;
  char q[CHUNK / 3 * 4];
  int rc = buf_append(out, "", 0); /* an empty input still gives "" */
  for (size_t i = 0; rc == 0 && i < n; i += CHUNK) {
    size_t k = n - i < CHUNK ? n - i : CHUNK;
    rc = buf_append(out, q, encode_chunk(p + i, k, q));
  }
  if (rc != 0)
    truncate_to(out, start);
  return rc;
}

/* The value of a character of the alphabet, or -1. */
static int sextet(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == '/')
    return 63;
  return -1;
}

/* The length of text without its padding, or (size_t)-1 when the padding
 * or the length is not that of an encoding. */
static size_t unpadded_len(const char *text, size_t len) {
  size_t n = len;
  while (n > 0 && len - n < 2 && text[n - 1] == '=')
    n--;
  if (n < len && len % 4 != 0)
    return (size_t)-1; /* padding must complete the last quantum */
  if (n % 4 == 1)
    return (size_t)-1; /* one character carries less than a byte */
  return n;
}

/* Decodes the n characters at t (n from 2 to 4, all of the alphabet) into
 * bytes at q; returns the bytes written, or 0 for a bad character. */
static size_t decode_quantum(const char *t, size_t n, unsigned char *q) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; i++) {
    int s = i < n ? sextet((unsigned char)t[i]) : 0;
    if (s < 0)
      return 0;
    v = v << 6 | (uint32_t)s;
  }
  q[0] = (unsigned char)(v >> 16);
  q[1] = (unsigned char)(v >> 8);
  q[2] = (unsigned char)v;
  return n - 1;
}

/* Decodes the n characters at t (n <= CHUNK / 3 * 4, unpadded) into q.
 * Returns the bytes written, or (size_t)-1 for a bad character. */
static size_t decode_chunk(const char *t, size_t n, unsigned char *q) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    size_t got = decode_quantum(t + i, n - i < 4 ? n - i : 4, q + o);
    if (got == 0)
      return (size_t)-1;
    o += got;
  }
  return o;
}

int base64_decode(const char *text, size_t len, struct buf *out) {
  size_t n = unpadded_len(text, len);
  if (n == (size_t)-1)
    return -EINVAL;
  if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > out->max - out->len)
    return -EMSGSIZE;
  size_t start = out->len;
  unsigned char q[CHUNK];
  int rc = buf_append(out, "", 0);
  for (size_t i = 0; rc == 0 && i < n; i += CHUNK / 3 * 4) {
    size_t k = n - i < CHUNK / 3 * 4 ? n - i : CHUNK / 3 * 4;
    size_t got = decode_chunk(text + i, k, q);
    rc = got == (size_t)-1 ? -EINVAL : buf_append(out, q, got);
  }
  if (rc != 0)
    truncate_to(out, start);
  return rc;
}
