/* SPDX-License-Identifier: MIT */
/* The one main of the unit tests: runs the suite that its test file
 * defines as unit_suite(), with libcurl initialised for the suites that
 * make real transfers on loopback. */
#include <check.h>
#include <curl/curl.h>
#include <stdlib.h>

Suite *unit_suite(void);

int main(void) {
  if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
    return EXIT_FAILURE;
  SRunner *sr = srunner_create(unit_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
