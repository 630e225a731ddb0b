/* SPDX-License-Identifier: MIT */
/* libFuzzer target: xm_parse_events_page, a page of xMatters events (the
 * answers the plugin decides on whether to page again). */
#include "clients/xmatters.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct xm_event *ev = NULL;
  size_t n = 0;
  char next[256];
  struct err err;
  int rc = xm_parse_events_page((const char *)data, size, FUZZ_DEPTH, &ev, &n,
                                next, sizeof(next), &err);
  FUZZ_STR(next);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    free(ev);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    FUZZ_STR(ev[i].id);
    FUZZ_STR(ev[i].event_id);
    FUZZ_STR(ev[i].status);
    FUZZ_STR(ev[i].request_id);
    FUZZ_STR(ev[i].runscope_key);
    fuzz_assert(ev[i].id[0] != '\0');
  }
  free(ev);
  return 0;
}
