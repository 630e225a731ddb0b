/* SPDX-License-Identifier: MIT */
/* FNV-1a, the 64-bit hash of keys and texts that need no protection from
 * chosen collisions (limits per URL, ids of responses). */
#ifndef RUNSCOPE_UTIL_HASH_H
#define RUNSCOPE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV_BASIS 14695981039346656037ULL
#define HASH_FNV_PRIME 1099511628211ULL

/* Folds n bytes of data into the hash h (start with HASH_FNV_BASIS). */
static inline uint64_t hash_fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= HASH_FNV_PRIME;
  }
  return h;
}

/* The hash of a C string, its NUL included. */
static inline uint64_t hash_str(const char *s) {
  return hash_fnv1a(HASH_FNV_BASIS, s, strlen(s) + 1);
}

#endif
