/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jscan_count_items, the count that refuses a page with
 * more items than asked before it is parsed. It never reads past the text,
 * never counts more than stop + 1, and agrees with json-c's tree. */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"
#include "util/jscan.h"
#include "util/jsonx.h"

#include <errno.h>
#include <json-c/json.h>

/* True when "data" occurs once in the text (a duplicate member is read
 * first by the scanner, last by json-c). */
static int one_data(const char *s, size_t n) {
  int k = 0;
  for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "\"data\"", 6));
       p++)
    k++;
  return k == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  size_t stop = size > 0 ? data[0] % 8 : 3;
  long n = jscan_count_items(s, size, FUZZ_DEPTH - 1, "data", stop);
  fuzz_assert(n == -EPROTO || (n >= 0 && (size_t)n <= stop + 1));
  json_object *root = NULL, *arr = NULL;
  if (n < 0 || !one_data(s, size) ||
      jsonx_parse(s, size, FUZZ_DEPTH, &root, NULL) != 0)
    return 0;
  if (json_object_is_type(root, json_type_object) &&
      json_object_object_get_ex(root, "data", &arr) &&
      json_object_is_type(arr, json_type_array)) {
    size_t len = json_object_array_length(arr);
    fuzz_assert((size_t)n == (len < stop + 1 ? len : stop + 1));
  }
  json_object_put(root);
  return 0;
}
