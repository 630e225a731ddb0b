/* SPDX-License-Identifier: MIT */
/* Names and texts of values and notifications, from Runscope names: pure.
 *
 * collectd identifiers made from Runscope names, sanitized, bounded to
 * collectd's fields and unique per key, and the messages of notifications. */
#include "core/report.h"

#include "clients/runscope.h"
#include "util/str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

/* A key's "<test>-<environment>" before it is bounded. */
#define BASE_NAME_MAX (2 * RS_NAME_MAX + 2)

/* Salted hashes tried before a name that still coincides is given up. */
#define NAME_ROUNDS 16

static bool name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

size_t report_sanitize(const char *src, char *out, size_t size) {
  size_t n = 0;
  bool pending = false; /* replaced bytes since the last kept one */
  const unsigned char *p = (const unsigned char *)(src ? src : "");
  for (; *p != '\0' && n + 1 < size; p++) {
    if (!name_char(*p)) {
      pending = n > 0;
      continue;
    }
    if (pending) {
      if (n + 2 >= size)
        break;
      out[n++] = '_';
      pending = false;
    }
    out[n++] = (char)*p;
  }
  out[n] = '\0';
  return n;
}

/* 32-bit FNV-1a: small, and the same on every platform. */
static uint32_t fnv1a(uint32_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

#define FNV_BASIS 2166136261u

/* The hash of a key's ids; round > 0 salts it. */
static uint32_t key_hash(const struct report_key *k, int round) {
  uint32_t h = FNV_BASIS;
  unsigned char salt = (unsigned char)round;
  if (round > 0)
    h = fnv1a(h, &salt, 1);
  h = fnv1a(h, k->test_id, strlen(k->test_id) + 1); /* the NUL separates */
  return fnv1a(h, k->env_id, strlen(k->env_id));
}

/* "<test>-<environment>", sanitized, an empty name replaced by its id. */
static void base_name(const struct report_key *k, char *out, size_t size) {
  char t[RS_NAME_MAX], e[RS_NAME_MAX];
  if (report_sanitize(k->test_name, t, sizeof(t)) == 0)
    report_sanitize(k->test_id, t, sizeof(t));
  if (report_sanitize(k->env_name, e, sizeof(e)) == 0)
    report_sanitize(k->env_id, e, sizeof(e));
  snprintf(out, size, "%s-%s", t, e);
}

/* The name of a key in a round: its base as is (round < 0), or the base cut
 * and followed by "-" and the hash of the round. */
static void round_name(const struct report_key *k, const char *base, int round,
                       char out[REPORT_KEY_NAME_MAX]) {
  size_t len = strlen(base);
  if (round < 0) {
    str_copy(out, REPORT_KEY_NAME_MAX, base);
    return;
  }
  size_t keep = REPORT_KEY_NAME_MAX - 2 - REPORT_HASH_DIGITS;
  if (len > keep)
    len = keep;
  while (len > 0 && strchr("-_.", base[len - 1]) != NULL)
    len--;
  snprintf(out, REPORT_KEY_NAME_MAX, "%.*s-%0*" PRIx32, (int)len, base,
           REPORT_HASH_DIGITS, key_hash(k, round));
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the names (through ptr) and marks in dup the keys whose name
 * another key has too. Returns true when there are any. */
static bool find_duplicates(char (*out)[REPORT_KEY_NAME_MAX], size_t n,
                            const char **ptr, bool *dup) {
  for (size_t i = 0; i < n; i++) {
    ptr[i] = out[i];
    dup[i] = false;
  }
  if (n > 1)
    qsort(ptr, n, sizeof(*ptr), cmp_names);
  bool found = false;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && strcmp(ptr[i], ptr[j]) == 0)
      j++;
    for (size_t m = i; j - i > 1 && m < j; m++) {
      dup[(size_t)(ptr[m] - out[0]) / REPORT_KEY_NAME_MAX] = true;
      found = true;
    }
    i = j;
  }
  return found;
}

/* Names the keys: a key whose name coincides with another's moves on to a
 * (new) hash, round after round; names that still coincide after the last
 * round are emptied. */
static void settle_names(const struct report_key *keys, size_t n,
                         char (*base)[BASE_NAME_MAX], int *round,
                         const char **ptr, bool *dup,
                         char (*out)[REPORT_KEY_NAME_MAX]) {
  for (int r = 0;; r++) {
    for (size_t i = 0; i < n; i++)
      round_name(&keys[i], base[i], round[i], out[i]);
    if (!find_duplicates(out, n, ptr, dup))
      return;
    for (size_t i = 0; i < n; i++) {
      if (dup[i] && r == NAME_ROUNDS)
        out[i][0] = '\0';
      else if (dup[i])
        round[i]++;
    }
    if (r == NAME_ROUNDS)
      return;
  }
}

int report_key_names(const struct report_key *keys, size_t n,
                     char (*out)[REPORT_KEY_NAME_MAX]) {
  for (size_t i = 0; i < n; i++)
    out[i][0] = '\0';
  if (n == 0)
    return 0;
  char(*base)[BASE_NAME_MAX] = malloc(n * sizeof(*base));
  int *round = malloc(n * sizeof(*round));
  const char **ptr = malloc(n * sizeof(*ptr));
  bool *dup = malloc(n * sizeof(*dup));
  int rc = (base && round && ptr && dup) ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    base_name(&keys[i], base[i], BASE_NAME_MAX);
    round[i] = strlen(base[i]) < REPORT_KEY_NAME_MAX ? -1 : 0;
  }
  if (rc == 0)
    settle_names(keys, n, base, round, ptr, dup, out);
  free(base);
  free(round);
  free(ptr);
  free(dup);
  return rc;
}

void report_bucket_instance(const char *bucket_key, char out[REPORT_NAME_MAX]) {
  char clean[REPORT_NAME_MAX];
  size_t len = report_sanitize(bucket_key, clean, sizeof(clean));
  if (len > 0 && strcmp(clean, bucket_key) == 0 && strcmp(clean, "self") != 0) {
    memcpy(out, clean, len + 1);
    return;
  }
  size_t keep = REPORT_NAME_MAX - 2 - REPORT_HASH_DIGITS;
  if (len > keep)
    len = keep;
  uint32_t h = fnv1a(FNV_BASIS, bucket_key, strlen(bucket_key));
  snprintf(out, REPORT_NAME_MAX, "%.*s-%0*" PRIx32, len > 0 ? (int)len : 6,
           len > 0 ? clean : "bucket", REPORT_HASH_DIGITS, h);
}

/* Copies s into out, cut to at most max bytes at a UTF-8 character
 * boundary and then ending in "...". */
static void cut_utf8(const char *s, size_t max, char *out, size_t size) {
  size_t len = strlen(s);
  if (len <= max) {
    str_copy(out, size, s);
    return;
  }
  size_t keep = max >= 3 ? max - 3 : 0;
  while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
    keep--;
  snprintf(out, size, "%.*s%s", (int)keep, s, max >= 3 ? "..." : "");
}

static size_t format_message(char *out, size_t size, int failing,
                             const char *test, const char *env,
                             const char *location, long failed,
                             const char *url) {
  int n;
  if (failing)
    n = snprintf(out, size,
                 "Runscope test \"%s\" fails in environment \"%s\"%s%s: %ld "
                 "assertion%s failed. %s",
                 test, env, location[0] ? " at " : "", location, failed,
                 failed == 1 ? "" : "s", url);
  else
    n = snprintf(out, size,
                 "Runscope test \"%s\" passes again in environment \"%s\". %s",
                 test, env, url);
  return n < 0 ? 0 : (size_t)n;
}

size_t report_key_message(char *out, size_t size, int failing,
                          const char *test_name, const char *env_name,
                          const char *location, long assertions_failed,
                          const char *url) {
  const char *loc = location ? location : "";
  size_t fixed = format_message(NULL, 0, failing, "", "", loc,
                                assertions_failed, url ? url : "");
  size_t budget = size > fixed + 1 ? size - 1 - fixed : 0;
  size_t lt = strlen(test_name), le = strlen(env_name);
  size_t room_t = lt, room_e = le;
  if (lt + le > budget) {
    /* each gets half; what one does not need, the other may use */
    room_t = lt < budget / 2 ? lt : budget / 2;
    room_e = le < budget - room_t ? le : budget - room_t;
    room_t = lt < budget - room_e ? lt : budget - room_e;
  }
  char t[RS_NAME_MAX + 4], e[RS_NAME_MAX + 4];
  /* longer names than Runscope's are cut here too, and as well */
  if (room_t > sizeof(t) - 1)
    room_t = sizeof(t) - 1;
  if (room_e > sizeof(e) - 1)
    room_e = sizeof(e) - 1;
  cut_utf8(test_name, room_t, t, sizeof(t));
  cut_utf8(env_name, room_e, e, sizeof(e));
  format_message(out, size, failing, t, e, loc, assertions_failed,
                 url ? url : "");
  return strlen(out);
}
