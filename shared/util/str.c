/* SPDX-License-Identifier: MIT */
/* String copies that report truncation, snippets for messages, scrubbing
 * of secrets, control characters kept out of log lines. */
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int str_set(char **dst, const char *src, size_t max) {
  char *copy = NULL; /* made before *dst goes: src may lie in it */
  if (src != NULL && src[0] != '\0')
    copy = max ? strndup(src, max - 1) : strdup(src);
  free(*dst);
  *dst = copy;
  return copy != NULL || src == NULL || src[0] == '\0' ? 0 : -ENOMEM;
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

void str_scrub(char *out, size_t size, const char *in, const char *secret) {
  static const char redacted[] = "REDACTED";
  size_t n = secret ? strlen(secret) : 0;
  size_t o = 0;
  while (*in != '\0' && o < size - 1) {
    if (n >= ERR_SCRUB_MIN && strncmp(in, secret, n) == 0) {
      size_t w = sizeof(redacted) - 1;
      if (w > size - 1 - o)
        w = size - 1 - o;
      memcpy(out + o, redacted, w);
      o += w;
      in += n;
    } else {
      out[o++] = *in++;
    }
  }
  out[o] = '\0';
}

char *str_scrub_all(const char *text, const char *const *secrets, size_t n) {
  char *cur = strdup(text);
  for (size_t i = 0; cur != NULL && i < n; i++) {
    /* A secret of at least ERR_SCRUB_MIN (4) bytes becomes REDACTED (8):
     * the text at most doubles. */
    size_t size = 2 * strlen(cur) + 1;
    char *next = malloc(size);
    if (next != NULL)
      str_scrub(next, size, cur, secrets[i]);
    free(cur);
    cur = next;
  }
  return cur;
}

void str_snippet_scrubbed(const char *text, size_t len,
                          const char *const *secrets, size_t n, char *out,
                          size_t size) {
  out[0] = '\0';
  char *whole = malloc(len + 1);
  if (whole == NULL)
    return;
  str_snippet(text, len, whole, len + 1); /* the whole text, not cut */
  char *clean = str_scrub_all(whole, secrets, n);
  free(whole);
  if (clean != NULL)
    str_snippet(clean, strlen(clean), out, size);
  free(clean);
}

size_t str_printable(char *s) {
  size_t n = 0;
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch < 0x20 || ch == 0x7f) {
      *s = '?';
      n++;
    }
  }
  return n;
}

void str_wipe(char *s) {
  if (s != NULL)
    explicit_bzero(s, strlen(s));
}

void str_free_secret(char *s) {
  str_wipe(s);
  free(s);
}
