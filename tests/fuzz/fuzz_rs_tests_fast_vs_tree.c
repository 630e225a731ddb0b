/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a tests list page read by the scanner (rs_scan_tests)
 * must read exactly what json-c's tree reads (rs_tree_tests): whenever the
 * scanner accepts a page, the tree accepts it too, with the same items,
 * strings and times bit for bit. */
#include "clients/rs_internal.h"
#include "clients/runscope.h"
#include "fuzz.h"

static void same_test(const struct rs_test *a, const struct rs_test *b) {
  fuzz_assert(strcmp(a->id, b->id) == 0);
  fuzz_assert(strcmp(a->name, b->name) == 0);
  fuzz_assert(strcmp(a->default_environment_id, b->default_environment_id) ==
              0);
  fuzz_assert(strcmp(a->last_run_id, b->last_run_id) == 0);
  fuzz_assert(
      memcmp(&a->last_run_at, &b->last_run_at, sizeof(a->last_run_at)) == 0);
  fuzz_assert(a->last_run_known == b->last_run_known);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_test *fast = NULL, *tree = NULL;
  size_t n_fast = 0, n_tree = 0;
  struct err err;
  const char *text = (const char *)data;
  if (rs_scan_tests(text, size, FUZZ_DEPTH, 0, &fast, &n_fast) != 0)
    return 0; /* the tree decides: rs_parse_tests' own target */
  fuzz_assert(rs_tree_tests(text, size, FUZZ_DEPTH, &tree, &n_tree, &err) == 0);
  fuzz_assert(n_fast == n_tree);
  for (size_t i = 0; i < n_fast; i++)
    same_test(&fast[i], &tree[i]);
  free(fast);
  free(tree);
  return 0;
}
