/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jsonx_parse, the bounded JSON parser under every other
 * parser, and its liberal lookups on what it returns. */
#include "fuzz.h"
#include "util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_object *root = NULL;
  struct err err;
  int depth = size > 0 ? 1 + data[0] % FUZZ_DEPTH : FUZZ_DEPTH;
  if (jsonx_parse((const char *)data, size, depth, &root, &err) != 0) {
    fuzz_assert(root == NULL);
    FUZZ_STR(err.msg);
    return 0;
  }
  char s[16];
  (void)jsonx_obj(root, "data");
  (void)jsonx_arr(root, "data");
  (void)jsonx_str(root, "id");
  (void)jsonx_num(root, "started_at", 0);
  (void)jsonx_int(root, "count", 0);
  (void)jsonx_bool(root, "ok", false);
  (void)jsonx_copy_str(root, "id", s, sizeof(s));
  FUZZ_STR(s);
  json_object_put(root);
  return 0;
}
