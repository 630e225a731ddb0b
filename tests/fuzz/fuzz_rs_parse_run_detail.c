/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_run_detail, one run with its steps (what an
 * event's properties and the forward mode's payload are made of). */
#include "clients/runscope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_run_detail d;
  struct err err;
  int rc = rs_parse_run_detail((const char *)data, size, FUZZ_DEPTH, &d, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    rs_run_detail_fini(&d);
    return 0;
  }
  FUZZ_STR(d.run.test_run_id);
  FUZZ_STR(d.test_name);
  fuzz_assert(d.run.test_run_id[0] != '\0');
  fuzz_assert(d.agent_expired >= -1 && d.agent_expired <= 1);
  fuzz_assert(d.steps != NULL || d.n_steps == 0);
  for (size_t i = 0; i < d.n_steps; i++) {
    const struct rs_step *s = &d.steps[i];
    FUZZ_STR(s->url);
    FUZZ_STR(s->method);
    FUZZ_STR(s->result);
    FUZZ_STR(s->note);
    FUZZ_STR(s->step_type);
  }
  rs_run_detail_fini(&d);
  return 0;
}
