/* SPDX-License-Identifier: MIT */
/* Unit tests of the catalog: what a test keeps from cycle to cycle when a
 * tests list or the buckets are read again, what comes and goes. */
#include "core/catalog.h"
#include "util/buf.h"
#include "util/str.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rs_test item(const char *id, const char *name,
                           const char *last_run, double at) {
  struct rs_test t;
  memset(&t, 0, sizeof(t));
  str_copy(t.id, sizeof(t.id), id);
  str_copy(t.name, sizeof(t.name), name);
  str_copy(t.last_run_id, sizeof(t.last_run_id), last_run);
  t.last_run_at = at;
  t.last_run_known = true;
  return t;
}

/* A detail with one environment and one schedule, as rs_get_test gives. */
static void give_detail(struct cat_test *t, const char *env, double now) {
  struct rs_test_detail d;
  memset(&d, 0, sizeof(d));
  d.id = strdup(t->detail.id);
  d.name = strdup("detail's name");
  d.trigger_url = strdup("https://api.runscope.test/radar/x/trigger");
  d.environments = calloc(1, sizeof(*d.environments));
  d.schedules = calloc(1, sizeof(*d.schedules));
  ck_assert_ptr_nonnull(d.environments);
  ck_assert_ptr_nonnull(d.schedules);
  d.environments[0].id = strdup(env);
  d.environments[0].name = strdup("Production");
  d.n_environments = 1;
  str_copy(d.schedules[0].environment_id, sizeof(d.schedules[0].environment_id),
           env);
  d.schedules[0].interval = 300;
  d.n_schedules = 1;
  cat_set_detail(t, &d, now);
  ck_assert_ptr_null(d.environments); /* taken over */
}

START_TEST(merge_keeps_what_stays) {
  struct cat_bucket b;
  memset(&b, 0, sizeof(b));
  struct rs_test first[] = {item("t1", "One", "r1", 10),
                            item("t2", "Two", "", 0)};
  ck_assert_int_eq(cat_merge_tests(&b, first, 2), 0);
  ck_assert_uint_eq(b.n_tests, 2);
  ck_assert_str_eq(b.tests[0].detail.name, "One");
  ck_assert(!b.tests[0].has_detail);
  ck_assert(cat_detail_due(&b.tests[0], 100, 600));
  give_detail(&b.tests[0], "env-1", 100);
  ck_assert(b.tests[0].has_detail);
  ck_assert_str_eq(b.tests[0].detail.name, "One"); /* the list's name */
  ck_assert(!cat_detail_due(&b.tests[0], 699, 600));
  ck_assert(cat_detail_due(&b.tests[0], 700, 600));
  b.tests[0].due.known = true;
  b.tests[0].due.read_at = 123;

  /* the same tests: merged in place, listings updated */
  struct rs_test same[] = {item("t1", "One", "r2", 20),
                           item("t2", "Two", "", 0)};
  struct cat_test *before = b.tests;
  ck_assert_int_eq(cat_merge_tests(&b, same, 2), 0);
  ck_assert_ptr_eq(b.tests, before);
  ck_assert(b.tests[0].list.last_run == due_run_digest("r2"));
  ck_assert(b.tests[0].list.listed);
  ck_assert(b.tests[0].has_detail);
  ck_assert_double_eq(b.tests[0].due.read_at, 123);

  /* a new test first, t2 gone, t1 renamed: t1 keeps its detail and
   * memory, the new one has none */
  struct rs_test next[] = {item("t3", "Three", "r9", 30),
                           item("t1", "One again", "r2", 20)};
  ck_assert_int_eq(cat_merge_tests(&b, next, 2), 0);
  ck_assert_uint_eq(b.n_tests, 2);
  ck_assert_str_eq(b.tests[0].detail.id, "t3");
  ck_assert(!b.tests[0].has_detail);
  ck_assert(!b.tests[0].due.known);
  ck_assert_str_eq(b.tests[1].detail.id, "t1");
  ck_assert_str_eq(b.tests[1].detail.name, "One again");
  ck_assert(b.tests[1].has_detail);
  ck_assert_uint_eq(b.tests[1].detail.n_environments, 1);
  ck_assert_str_eq(cat_env_name(&b.tests[1], "env-1"), "Production");
  ck_assert_double_eq(b.tests[1].due.read_at, 123);
  ck_assert_ptr_null(cat_test_find(&b, "t2"));

  struct catalog cat = {&b, 1, true};
  cat_unlist(&cat);
  ck_assert(!b.tests[0].list.listed && !b.tests[1].list.listed);
  /* an empty list empties the bucket */
  ck_assert_int_eq(cat_merge_tests(&b, NULL, 0), 0);
  ck_assert_uint_eq(b.n_tests, 0);
  cat_bucket_fini(&b);
}
END_TEST

/* A <Bucket> block's Test lines select by id or name. */
START_TEST(merge_selects) {
  struct cfg_bucket cb;
  memset(&cb, 0, sizeof(cb));
  ck_assert_int_eq(cfg_list_add(&cb.tests, "t2"), 0);
  ck_assert_int_eq(cfg_list_add(&cb.tests, "Three"), 0);
  struct cat_bucket b;
  memset(&b, 0, sizeof(b));
  b.cfg = &cb;
  struct rs_test list[] = {item("t1", "One", "", 0), item("t2", "Two", "", 0),
                           item("t3", "Three", "", 0)};
  ck_assert_int_eq(cat_merge_tests(&b, list, 3), 0);
  ck_assert_uint_eq(b.n_tests, 2);
  ck_assert_str_eq(b.tests[0].detail.id, "t2");
  ck_assert_str_eq(b.tests[1].detail.id, "t3");
  /* the same list again goes in place, still selected */
  ck_assert_int_eq(cat_merge_tests(&b, list, 3), 0);
  ck_assert_uint_eq(b.n_tests, 2);
  for (size_t i = 0; i < b.n_tests; i++)
    rs_test_detail_fini(&b.tests[i].detail);
  cat_bucket_fini(&b);
  for (size_t i = 0; i < cb.tests.n; i++)
    free(cb.tests.v[i]);
  free(cb.tests.v);
}
END_TEST

/* Many tests: the index finds every one, whatever the order. */
START_TEST(merge_many) {
  enum { T = 2000 };
  struct rs_test *list = calloc(T, sizeof(*list));
  ck_assert_ptr_nonnull(list);
  for (int i = 0; i < T; i++) {
    char id[32];
    snprintf(id, sizeof(id), "test-%05d", i);
    list[i] = item(id, "n", "", 0);
  }
  struct cat_bucket b;
  memset(&b, 0, sizeof(b));
  ck_assert_int_eq(cat_merge_tests(&b, list, T), 0);
  for (int i = 0; i < T; i++)
    b.tests[i].due.read_at = i;
  for (int i = 0; i < T / 2; i++) { /* reverse the order */
    struct rs_test x = list[i];
    list[i] = list[T - 1 - i];
    list[T - 1 - i] = x;
  }
  ck_assert_int_eq(cat_merge_tests(&b, list, T - 1), 0); /* one gone */
  ck_assert_uint_eq(b.n_tests, T - 1);
  for (int i = 0; i < T - 1; i++) {
    const struct cat_test *t = &b.tests[i];
    ck_assert_double_eq(t->due.read_at, atoi(t->detail.id + 5));
    ck_assert_ptr_eq(cat_test_find(&b, t->detail.id), t);
  }
  ck_assert_ptr_null(cat_test_find(&b, list[T - 1].id)); /* the one gone */
  cat_bucket_fini(&b);
  free(list);
}
END_TEST

/* cat_test_find through the index: after merges that reorder, add and
 * drop tests, after a detail that spells its id otherwise, and without an
 * index. */
START_TEST(find_by_id) {
  struct cat_bucket b;
  memset(&b, 0, sizeof(b));
  ck_assert_ptr_null(cat_test_find(&b, "t1")); /* empty */
  ck_assert_ptr_null(cat_test_find(NULL, "t1"));
  struct rs_test one[] = {item("t1", "One", "", 0), item("t2", "Two", "", 0),
                          item("t3", "Three", "", 0)};
  ck_assert_int_eq(cat_merge_tests(&b, one, 3), 0);
  for (size_t i = 0; i < 3; i++)
    ck_assert_ptr_eq(cat_test_find(&b, one[i].id), &b.tests[i]);
  struct rs_test two[] = {item("t4", "Four", "", 0), item("t3", "Three", "", 0),
                          item("t1", "One", "", 0)};
  ck_assert_int_eq(cat_merge_tests(&b, two, 3), 0);
  ck_assert_ptr_eq(cat_test_find(&b, "t4"), &b.tests[0]);
  ck_assert_ptr_eq(cat_test_find(&b, "t3"), &b.tests[1]);
  ck_assert_ptr_eq(cat_test_find(&b, "t1"), &b.tests[2]);
  ck_assert_ptr_null(cat_test_find(&b, "t2"));
  ck_assert_ptr_null(cat_test_find(&b, "t"));
  /* The same list again is merged in place: the index stays right. */
  ck_assert_int_eq(cat_merge_tests(&b, two, 3), 0);
  ck_assert_ptr_eq(cat_test_find(&b, "t1"), &b.tests[2]);
  /* A detail whose id differs keeps the listed id. */
  struct rs_test_detail d;
  memset(&d, 0, sizeof(d));
  d.id = strdup("T3");
  cat_set_detail(&b.tests[1], &d, 5);
  ck_assert_str_eq(b.tests[1].detail.id, "t3");
  ck_assert_ptr_eq(cat_test_find(&b, "t3"), &b.tests[1]);
  /* Without an index the tests are searched in order. */
  struct cat_index ix = b.index;
  b.index.slot = NULL;
  ck_assert_ptr_eq(cat_test_find(&b, "t1"), &b.tests[2]);
  ck_assert_ptr_null(cat_test_find(&b, "t2"));
  b.index = ix;
  cat_bucket_fini(&b);
  ck_assert_ptr_null(b.tests);
  ck_assert_ptr_null(cat_test_find(&b, "t1"));
}
END_TEST

/* n buckets with the given keys, as discovery reads them (no tests). */
static struct cat_bucket *buckets_of(const char *const *keys, size_t n) {
  struct cat_bucket *v = calloc(n ? n : 1, sizeof(*v));
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < n; i++)
    str_copy(v[i].info.key, sizeof(v[i].info.key), keys[i]);
  return v;
}

START_TEST(replace_keeps_the_tests_of_buckets_that_stay) {
  struct catalog cat;
  cat_init(&cat);
  ck_assert(!cat.loaded);
  const char *first[] = {"b1", "b2"};
  cat_replace_buckets(&cat, buckets_of(first, 2), 2);
  ck_assert(cat.loaded);
  ck_assert_uint_eq(cat.n_buckets, 2);
  struct rs_test tests[] = {item("t1", "One", "", 0)};
  ck_assert_int_eq(cat_merge_tests(&cat.buckets[0], tests, 1), 0);
  ck_assert_int_eq(cat_merge_tests(&cat.buckets[1], tests, 1), 0);
  give_detail(&cat.buckets[0].tests[0], "env-1", 100);
  /* b1 stays (now second), b2 goes, b3 comes without tests */
  const char *second[] = {"b3", "b1"};
  cat_replace_buckets(&cat, buckets_of(second, 2), 2);
  ck_assert_uint_eq(cat.n_buckets, 2);
  ck_assert_ptr_null(cat_bucket_find(&cat, "b2"));
  const struct cat_bucket *b1 = cat_bucket_find(&cat, "b1");
  ck_assert_ptr_eq(b1, &cat.buckets[1]);
  const struct cat_test *t = cat_test_find(b1, "t1");
  ck_assert_ptr_nonnull(t);
  ck_assert(t->has_detail);
  ck_assert_str_eq(cat_env_name(t, "env-1"), "Production");
  ck_assert_uint_eq(cat.buckets[0].n_tests, 0);
  ck_assert_ptr_null(cat_test_find(&cat.buckets[0], "t1"));
  /* no buckets at all: still loaded, nothing watched */
  cat_replace_buckets(&cat, buckets_of(NULL, 0), 0);
  ck_assert(cat.loaded);
  ck_assert_uint_eq(cat.n_buckets, 0);
  cat_fini(&cat);
  ck_assert(!cat.loaded);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("catalog");
  TCase *tc = tcase_create("merging a tests list");
  tcase_add_test(tc, merge_keeps_what_stays);
  tcase_add_test(tc, merge_selects);
  tcase_add_test(tc, merge_many);
  tcase_add_test(tc, find_by_id);
  suite_add_tcase(s, tc);
  tc = tcase_create("replacing the buckets");
  tcase_add_test(tc, replace_keeps_the_tests_of_buckets_that_stay);
  suite_add_tcase(s, tc);
  return s;
}
