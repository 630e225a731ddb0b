/* SPDX-License-Identifier: MIT */
/* libFuzzer target: rs_parse_messages and rs_parse_message, captured
 * traffic (a bucket's errors stream, and one message: what TrafficAlert
 * rules are matched against). */
#include "clients/runscope.h"
#include "fuzz.h"

#include <math.h>

static void check_message(const struct rs_message *m) {
  FUZZ_STR(m->uuid);
  FUZZ_STR(m->method);
  FUZZ_STR(m->host);
  FUZZ_STR(m->path);
  fuzz_assert(!isnan(m->timestamp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_message *v = NULL, one;
  size_t n = 0;
  struct err err;
  int rc =
      rs_parse_messages((const char *)data, size, FUZZ_DEPTH, &v, &n, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
  } else {
    fuzz_assert(v != NULL || n == 0);
    for (size_t i = 0; i < n; i++)
      check_message(&v[i]);
  }
  free(v);
  rc = rs_parse_message((const char *)data, size, FUZZ_DEPTH, &one, &err);
  if (rc != 0)
    FUZZ_STR(err.msg);
  else
    check_message(&one);
  return 0;
}
