/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_tests, a page of a bucket's tests list. */
#include "clients/runscope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_test *tests = NULL;
  size_t n = 0;
  struct err err;
  int rc =
      rs_parse_tests((const char *)data, size, FUZZ_DEPTH, &tests, &n, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    free(tests);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    FUZZ_STR(tests[i].id);
    FUZZ_STR(tests[i].name);
    FUZZ_STR(tests[i].default_environment_id);
    FUZZ_STR(tests[i].last_run_id);
    fuzz_assert(tests[i].id[0] != '\0');
  }
  free(tests);
  return 0;
}
