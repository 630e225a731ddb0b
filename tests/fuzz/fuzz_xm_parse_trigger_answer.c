/* SPDX-License-Identifier: MIT */
/* libFuzzer target: an xMatters trigger's answer: xm_parse_request_id (a
 * 2xx's requestId) and xm_error_text (what a refusal says), into buffers
 * as small as the plugin's and smaller. */
#include "clients/xm_internal.h"
#include "clients/xmatters.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char id[XM_ID_MAX], small[8], text[ERR_MSG_MAX], tiny[4];
  struct err err;
  int rc = xm_parse_request_id((const char *)data, size, FUZZ_DEPTH, id,
                               sizeof(id), &err);
  if (rc != 0)
    FUZZ_STR(err.msg);
  else
    FUZZ_STR(id);
  if (xm_parse_request_id((const char *)data, size, FUZZ_DEPTH, small,
                          sizeof(small), NULL) == 0)
    FUZZ_STR(small);
  const char *t =
      xm_error_text((const char *)data, size, FUZZ_DEPTH, text, sizeof(text));
  fuzz_assert(t == NULL || t == text);
  if (t != NULL)
    FUZZ_STR(text);
  t = xm_error_text((const char *)data, size, FUZZ_DEPTH, tiny, sizeof(tiny));
  fuzz_assert(t == NULL || t == tiny);
  if (t != NULL)
    FUZZ_STR(tiny);
  return 0;
}
