/* SPDX-License-Identifier: MIT */
/* libFuzzer target: xm_parse_deliveries_page, a page of user deliveries
 * (the answers the plugin reads responses, and so reruns, from). */
#include "clients/xmatters.h"
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct xm_delivery *d = NULL;
  size_t n = 0;
  char next[256];
  struct err err;
  int rc = xm_parse_deliveries_page((const char *)data, size, FUZZ_DEPTH, &d,
                                    &n, next, sizeof(next), &err);
  FUZZ_STR(next);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    free(d);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    FUZZ_STR(d[i].event_id);
    FUZZ_STR(d[i].event_number);
    FUZZ_STR(d[i].user);
    FUZZ_STR(d[i].text);
    fuzz_assert(isfinite(d[i].received) && d[i].received >= 0);
  }
  free(d);
  return 0;
}
