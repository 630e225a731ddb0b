/* SPDX-License-Identifier: MIT */
/* Unit tests of the growable arrays (array_reserve). */
#include "util/array.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* array_reserve: room for one more, doubling from first; what was stored
 * stays; an impossible size leaves the array as it was. */
START_TEST(test_array_reserve) {
  long *v = NULL;
  size_t n = 0, cap = 0;
  for (long i = 0; i < 100; i++) {
    ck_assert_int_eq(array_reserve(&v, &cap, n, sizeof(*v), 4), 0);
    ck_assert_uint_gt(cap, n);
    v[n++] = i;
  }
  ck_assert_uint_eq(cap, 128); /* 4, 8, ..., 128 */
  for (long i = 0; i < 100; i++)
    ck_assert_int_eq(v[i], i);
  /* not full: nothing moves */
  long *before = v;
  ck_assert_int_eq(array_reserve(&v, &cap, 50, sizeof(*v), 4), 0);
  ck_assert_ptr_eq(v, before);
  ck_assert_uint_eq(cap, 128);
  /* a size that would overflow */
  size_t big_cap = SIZE_MAX / 2 + 1;
  ck_assert_int_eq(array_reserve(&v, &big_cap, big_cap, 2, 4), -ENOMEM);
  ck_assert_ptr_eq(v, before);
  ck_assert_uint_eq(big_cap, SIZE_MAX / 2 + 1);
  free(v);
  /* first 0 starts at one */
  char *c = NULL;
  cap = 0;
  ck_assert_int_eq(array_reserve(&c, &cap, 0, 1, 0), 0);
  ck_assert_uint_eq(cap, 1);
  free(c);
}
END_TEST

static int int_cmp(const void *elem, const void *key) {
  int a = *(const int *)elem, b = *(const int *)key;
  return (a > b) - (a < b);
}

/* The first element not before the key: its index when present (the
 * first of equal ones), where it would go when not. */
START_TEST(test_array_lower_bound) {
  static const int v[] = {1, 3, 3, 3, 7, 9};
  static const struct {
    int key;
    size_t want;
  } cases[] = {{0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 4}, {9, 5}, {10, 6}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    ck_assert_uint_eq(
        array_lower_bound(v, 6, sizeof(v[0]), int_cmp, &cases[i].key),
        cases[i].want);
  int k = 5;
  ck_assert_uint_eq(array_lower_bound(v, 0, sizeof(v[0]), int_cmp, &k), 0);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("array");
  TCase *tc = tcase_create("array_reserve");
  tcase_add_test(tc, test_array_reserve);
  tcase_add_test(tc, test_array_lower_bound);
  suite_add_tcase(s, tc);
  return s;
}
