/* SPDX-License-Identifier: MIT */
/* Arrays that grow by doubling, and binary search in sorted ones. */
#include "util/array.h"

#include <errno.h>
#include <stdint.h>
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

size_t array_lower_bound(const void *base, size_t n, size_t size,
                         array_cmp_fn cmp, const void *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp((const char *)base + mid * size, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
