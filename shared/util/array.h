/* SPDX-License-Identifier: MIT */
/* Arrays that grow by doubling. */
#ifndef RUNSCOPE_UTIL_ARRAY_H
#define RUNSCOPE_UTIL_ARRAY_H

#include <stddef.h>

/* Makes room for one more element in an array: arrp is the address of the
 * array's pointer (T **), n the elements in use, *cap those allocated, size
 * the bytes of one. When full, the allocation doubles (the first holds
 * first elements). Returns 0, or -ENOMEM (also on overflow) with the array
 * and *cap unchanged. */
int array_reserve(void *arrp, size_t *cap, size_t n, size_t size, size_t first);

#endif
