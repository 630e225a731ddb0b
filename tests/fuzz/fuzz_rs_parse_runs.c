/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_runs, a Runscope results list. */
#include "clients/runscope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_run *runs = NULL;
  size_t n = 0;
  struct err err;
  int rc = rs_parse_runs((const char *)data, size, FUZZ_DEPTH, &runs, &n, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    free(runs);
    return 0;
  }
  fuzz_assert(runs != NULL || n == 0);
  for (size_t i = 0; i < n; i++) {
    const struct rs_run *r = &runs[i];
    FUZZ_STR(r->test_run_id);
    FUZZ_STR(r->test_id);
    FUZZ_STR(r->bucket_key);
    FUZZ_STR(r->environment_id);
    FUZZ_STR(r->environment_name);
    FUZZ_STR(r->region);
    FUZZ_STR(r->agent);
    FUZZ_STR(r->test_run_url);
    /* every run kept has an id (items without one are skipped) */
    fuzz_assert(r->test_run_id[0] != '\0');
    fuzz_assert(r->result >= RS_RESULT_UNFINISHED &&
                r->result <= RS_RESULT_CANCELLED);
  }
  free(runs);
  return 0;
}
