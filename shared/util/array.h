/* SPDX-License-Identifier: MIT */
/* Arrays that grow by doubling, and binary search in sorted ones. */
#ifndef RUNSCOPE_UTIL_ARRAY_H
#define RUNSCOPE_UTIL_ARRAY_H

#include <stddef.h>

/* Makes room for one more element in an array: arrp is the address of the
 * array's pointer (T **), n the elements in use, *cap those allocated, size
 * the bytes of one. When full, the allocation doubles (the first holds
 * first elements). Returns 0, or -ENOMEM (also on overflow) with the array
 * and *cap unchanged. */
int array_reserve(void *arrp, size_t *cap, size_t n, size_t size, size_t first);

/* Compares an element of a sorted array with a key: < 0, 0 or > 0 as the
 * element sorts before, with or after the key. */
typedef int (*array_cmp_fn)(const void *elem, const void *key);

/* The index of the first of the n sorted elements at base (size bytes
 * each) that does not sort before key: where key is, or would be
 * inserted. */
size_t array_lower_bound(const void *base, size_t n, size_t size,
                         array_cmp_fn cmp, const void *key);

#endif
