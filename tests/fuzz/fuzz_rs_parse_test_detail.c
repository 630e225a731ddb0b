/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_test_detail, one test with its environments
 * and schedules. */
#include "clients/runscope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_test_detail d;
  struct err err;
  int rc = rs_parse_test_detail((const char *)data, size, FUZZ_DEPTH, &d, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    rs_test_detail_fini(&d); /* allowed after an error too */
    return 0;
  }
  fuzz_assert(d.id != NULL && d.id[0] != '\0' && strlen(d.id) < RS_ID_MAX);
  fuzz_assert(d.name != NULL && strlen(d.name) < RS_NAME_MAX);
  fuzz_assert(d.trigger_url == NULL ||
              (d.trigger_url[0] != '\0' && strlen(d.trigger_url) < RS_URL_MAX));
  fuzz_assert(d.default_environment_id == NULL ||
              (d.default_environment_id[0] != '\0' &&
               strlen(d.default_environment_id) < RS_ID_MAX));
  fuzz_assert(d.environments != NULL || d.n_environments == 0);
  for (size_t i = 0; i < d.n_environments; i++) {
    fuzz_assert(d.environments[i].id != NULL &&
                strlen(d.environments[i].id) < RS_ID_MAX);
    fuzz_assert(d.environments[i].name != NULL &&
                strlen(d.environments[i].name) < RS_NAME_MAX);
  }
  for (size_t i = 0; i < d.n_schedules; i++) {
    FUZZ_STR(d.schedules[i].environment_id);
    fuzz_assert(d.schedules[i].interval >= 0);
  }
  rs_test_detail_fini(&d);
  return 0;
}
