/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_trigger, the answer of a test's trigger URL
 * (the runs a Rerun started). */
#include "clients/runscope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_started_run *v = NULL;
  size_t n = 0;
  struct err err;
  int rc = rs_parse_trigger((const char *)data, size, FUZZ_DEPTH, &v, &n, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    free(v);
    return 0;
  }
  fuzz_assert(v != NULL || n == 0);
  fuzz_assert(n <= RS_STARTED_MAX);
  for (size_t i = 0; i < n; i++) {
    FUZZ_STR(v[i].test_run_id);
    FUZZ_STR(v[i].environment_id);
    FUZZ_STR(v[i].region);
    FUZZ_STR(v[i].agent);
    /* runs without an id are skipped */
    fuzz_assert(v[i].test_run_id[0] != '\0');
  }
  free(v);
  return 0;
}
