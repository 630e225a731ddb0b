/* SPDX-License-Identifier: MIT */
/* make bench: the tests list read by its fast path (rs_parse_tests, no
 * tree) and by json-c's tree (rs_tree_tests), timed on the same
 * generated page of 50 tests. Prints the time per page of each and their
 * ratio; the target (the fast path at most half the tree's time) is printed
 * with its figure, not enforced. The unit tests (tests/test_jscan.c) check
 * that both read the same.
 *
 * Usage: parse_tests [--json] [ROUNDS]   (ROUNDS: pages per sample, 500) */
#include "clients/runscope.h"
#include "tests_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ITEMS 50
#define DEPTH 64
#define SAMPLES 5

typedef int (*parse_fn)(const char *body, size_t len, int max_depth,
                        struct rs_test **ret, size_t *ret_n, struct err *err);

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The best of SAMPLES samples of rounds parses, in seconds per page; -1
 * when a parse fails or does not read ITEMS tests. */
static double time_parser(parse_fn parse, const char *page, size_t len,
                          long rounds) {
  double best = -1;
  for (int s = 0; s < SAMPLES; s++) {
    double t0 = now_s();
    for (long i = 0; i < rounds; i++) {
      struct rs_test *v = NULL;
      size_t n = 0;
      int rc = parse(page, len, DEPTH, &v, &n, NULL);
      free(v);
      if (rc != 0 || n != ITEMS)
        return -1;
    }
    double per_page = (now_s() - t0) / (double)rounds;
    if (best < 0 || per_page < best)
      best = per_page;
  }
  return best;
}

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  long rounds = 500;
  char *end = "";
  if (argc > 1 + json)
    rounds = strtol(argv[1 + json], &end, 10);
  if (argc > 2 + json || *end != '\0' || rounds <= 0 || rounds > 1000000) {
    fprintf(stderr, "usage: parse_tests [--json] [ROUNDS]\n");
    return 2;
  }
  size_t len = 0;
  char *page = tests_page(ITEMS, &len);
  if (page == NULL)
    return 1;
  double fast = time_parser(rs_parse_tests, page, len, rounds);
  double tree = time_parser(rs_tree_tests, page, len, rounds);
  free(page);
  if (fast <= 0 || tree <= 0) {
    fprintf(stderr, "parse_tests: a parser failed on the page\n");
    return 1;
  }
  if (json)
    printf("{\"items\": %d, \"page_bytes\": %zu, \"rounds\": %ld, "
           "\"fast_ms\": %.4f, \"tree_ms\": %.4f, \"ratio\": %.2f}\n",
           ITEMS, len, rounds, fast * 1e3, tree * 1e3, tree / fast);
  else
    printf("tests list, a page of %d tests (%zu bytes), best of %d x %ld: "
           "fast path %.3f ms, json-c tree %.3f ms, the tree takes %.1fx "
           "(target: 2x or more) %s\n",
           ITEMS, len, SAMPLES, rounds, fast * 1e3, tree * 1e3, tree / fast,
           tree >= 2 * fast ? "met" : "NOT met");
  return 0;
}
