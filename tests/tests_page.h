/* SPDX-License-Identifier: MIT */
/* A generated page of Runscope's tests list, as the benchmark's fake serves
 * it: the unit tests of the list's fast path and its timing in make bench
 * (tests/bench/parse_tests.c) read the same bytes. */
#ifndef RUNSCOPE_TESTS_PAGE_H
#define RUNSCOPE_TESTS_PAGE_H

#include "util/buf.h"

#include <stdlib.h>

/* A page of n items (Runscope's pages hold 50 at most), each with the full
 * last_run object of a test detail; item i is test "t-%05d" named
 * "Bench test \u00e9%05d" whose last run is "r-%05d". Returns the page,
 * NUL-terminated, which the caller frees, and its length in *ret_len; NULL
 * when memory runs out. */
static inline char *tests_page(int n, size_t *ret_len) {
  struct buf b;
  buf_init(&b, 1 << 22);
  int rc = buf_puts(&b, "{\"data\": [");
  for (int i = 0; rc == 0 && i < n; i++)
    rc = buf_printf(
        &b,
        "%s{\"created_at\": %d, \"created_by\": {\"email\": "
        "\"grace@example.com\", \"name\": \"Grace Hopper\", \"id\": "
        "\"4ee15ecc-7fe1-43cb-aa12-ef50420f2cf9\"}, "
        "\"default_environment_id\": \"e%04d\", \"description\": null, "
        "\"name\": \"Bench test \\u00e9%05d\", \"id\": \"t-%05d\", "
        "\"last_run\": {\"remote_agent_uuid\": null, \"finished_at\": "
        "%s, \"error_count\": 0, \"message_success\": 1, \"test_uuid\": "
        "\"t-%05d\", \"id\": \"r-%05d\", \"uuid\": \"r-%05d\", "
        "\"environment_uuid\": \"e%04d\", \"environment_name\": "
        "\"Production\", \"source\": \"scheduled\", \"status\": "
        "\"completed\", \"bucket_key\": \"bench0001\", "
        "\"template_uuids\": [\"a\", \"b\"], \"messages\": [], "
        "\"created_at\": 1764000000.%06d, \"region\": \"us1\"}, "
        "\"last_run_created_at\": 1764000000.%06d}",
        i ? ", " : "", 1500000000 + i, i, i, i, i % 3 ? "1764000002.5" : "null",
        i, i, i, i, i * 7919, i * 7919);
  if (rc == 0)
    rc = buf_puts(&b, "], \"error\": null, \"meta\": {\"status\": "
                      "\"success\"}}");
  size_t len = b.len;
  char *page = rc == 0 ? buf_detach(&b) : NULL;
  buf_fini(&b);
  if (page != NULL)
    *ret_len = len;
  return page;
}

#endif
