/* SPDX-License-Identifier: MIT */
/* Unit tests of the Runscope client: parsers on recorded-shape fixtures, and
 * the calls end to end through a scripted fake transport. */
#define _GNU_SOURCE /* strcasestr */

#include "clients/runscope.h"
#include "testutil.h"
#include "util/jsonx.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DEPTH 64
#define BASE "https://api.runscope.test"
#define TOKEN "tok-3f1c9a7e-secret"

/* One client on one fake, per test. */
static struct fake fk;
static struct http_client *http;
static struct rs_client *rs;

static void setup(void) {
  memset(&fk, 0, sizeof(fk));
  struct http_opts opts = {
      .timeout_ms = 1000, .max_response_bytes = 1 << 20, .user_agent = "test"};
  http = http_new(&opts);
  ck_assert_ptr_nonnull(http);
  http_set_transport(http, fake_transport, &fk);
  rs = rs_new(http, BASE "/", TOKEN, DEPTH);
  ck_assert_ptr_nonnull(rs);
}

static void teardown(void) {
  rs_free(rs);
  http_free(http);
  fake_fini(&fk);
}

/* Asserts the n-th request was an authenticated GET of BASE + path. */
static void assert_get(size_t n, const char *path) {
  ck_assert_uint_gt(fk.n_reqs, n);
  char url[1024];
  snprintf(url, sizeof(url), "%s%s", BASE, path);
  ck_assert_str_eq(fk.reqs[n].method, "GET");
  ck_assert_str_eq(fk.reqs[n].url, url);
  ck_assert_str_eq(fk.reqs[n].bearer, TOKEN);
  ck_assert_ptr_null(fk.reqs[n].user);
  ck_assert_ptr_null(fk.reqs[n].password);
}

/* An envelope whose data lists tests t<first>..t<first+n-1>. */
static char *tests_body(int first, int n) {
  struct buf b;
  buf_init(&b, 1 << 20);
  ck_assert_int_eq(buf_puts(&b, "{\"data\": ["), 0);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(buf_printf(&b,
                                "%s{\"id\": \"t%03d\", \"name\": \"Test %d\","
                                " \"default_environment_id\": \"env\"}",
                                i ? "," : "", first + i, first + i),
                     0);
  ck_assert_int_eq(buf_puts(&b, "], \"error\": null, \"meta\": "
                                "{\"status\": \"success\"}}"),
                   0);
  return buf_detach(&b);
}

/* An envelope of n runs r<first>.., started at start, start - 10, ... */
static char *runs_body(int first, int n, double start) {
  struct buf b;
  buf_init(&b, 1 << 20);
  ck_assert_int_eq(buf_puts(&b, "{\"data\": ["), 0);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(
        buf_printf(&b,
                   "%s{\"test_run_id\": \"r%04d\", \"result\": \"pass\","
                   " \"started_at\": %.6f, \"finished_at\": %.6f}",
                   i ? "," : "", first + i, start - 10.0 * i,
                   start - 10.0 * i + 2),
        0);
  ck_assert_int_eq(buf_puts(&b, "], \"meta\": {\"status\": \"success\"}}"), 0);
  return buf_detach(&b);
}

static void answer_owned(struct fake *f, long status, char *body) {
  answer(f, status, body);
  free(body);
}

/* ---- parsers ---- */

START_TEST(parse_buckets_fixture) {
  size_t len, n;
  char *body = fixture("runscope_buckets.json", &len);
  struct rs_bucket *b = NULL;
  struct err err;
  ck_assert_int_eq(rs_parse_buckets(body, len, DEPTH, &b, &n, &err), 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(b[0].key, "z20co0kgljjk");
  ck_assert_str_eq(b[0].name, "Lucky Notebook");
  ck_assert_str_eq(b[0].team_id, "7a7a0917-91d7-43ef-b8f4-fe31762167e0");
  ck_assert_str_eq(b[0].team_name, "Personal Team");
  ck_assert_str_eq(b[1].key, "ov2f2tqifoov");
  /* team.id (new) instead of team.uuid (old) */
  ck_assert_str_eq(b[2].team_id, "ad216122-ee73-4b2f-8ff3-b1ce14b1fd52");
  ck_assert_str_eq(b[2].team_name, "tester_runscope_team");
  /* null name and team */
  ck_assert_str_eq(b[3].key, "noteam0bucket");
  ck_assert_str_eq(b[3].name, "");
  ck_assert_str_eq(b[3].team_id, "");
  free(b);
  free(body);
}
END_TEST

static const struct {
  const char *file;
  const char *key, *team_id;
} buckets[] = {
    {"runscope_bucket.json", "ez97w2r9wgzw",
     "ad216122-ee73-4b2f-8ff3-b1ce14b1fd52"},
    {"runscope_bucket_old.json", "ov2f2tq1floq",
     "7a7a0917-91d7-43ef-b8f4-fe31762167e0"},
};

START_TEST(parse_bucket_fixture) {
  size_t len;
  char *body = fixture(buckets[_i].file, &len);
  struct rs_bucket b;
  struct err err;
  ck_assert_int_eq(rs_parse_bucket(body, len, DEPTH, &b, &err), 0);
  ck_assert_str_eq(b.key, buckets[_i].key);
  ck_assert_str_eq(b.team_id, buckets[_i].team_id);
  free(body);
}
END_TEST

START_TEST(parse_tests_fixture) {
  size_t len, n;
  char *body = fixture("runscope_tests.json", &len);
  struct rs_test *t = NULL;
  struct err err;
  ck_assert_int_eq(rs_parse_tests(body, len, DEPTH, &t, &n, &err), 0);
  ck_assert_uint_eq(n, 6);
  ck_assert_str_eq(t[0].id, "9b47981a-98fd-4dac-8f32-c05aa60b8caf");
  ck_assert_str_eq(t[0].name, "My Service");
  ck_assert_str_eq(t[0].default_environment_id,
                   "1eeb3695-5d0f-467c-9d51-8b773dce29ba");
  ck_assert_str_eq(t[0].last_run_id, ""); /* no last_run at all */
  ck_assert_double_eq(t[0].last_run_at, 0);
  ck_assert_str_eq(t[1].last_run_id, "50ded770-f0b5-48ec-91ce-782a932d6b80");
  ck_assert_double_eq_tol(t[1].last_run_at, 1494623238.460797, 1e-6);
  ck_assert_str_eq(t[2].last_run_id, ""); /* last_run: null */
  ck_assert_str_eq(t[2].default_environment_id, "");
  ck_assert_str_eq(t[3].last_run_id, "7b1f7a52-3f53-4c39-9a60-6f1c4e0f2b11");
  ck_assert_double_eq_tol(t[3].last_run_at, 1700000000.25, 1e-6);
  ck_assert_str_eq(t[4].last_run_id, "8c2a8b63-4064-4d4a-8b71-7a2d5f1a3c22");
  ck_assert_double_eq_tol(t[4].last_run_at, 1406036406.68105, 1e-6);
  ck_assert_str_eq(t[5].last_run_id, "9d3b9c74-5175-4e5b-9c82-8b3e6a2b4d33");
  ck_assert_double_eq(t[5].last_run_at, 1406036406);
  free(t);
  free(body);
}
END_TEST

START_TEST(parse_test_detail_fixture) {
  size_t len;
  char *body = fixture("runscope_test_detail.json", &len);
  struct rs_test_detail d;
  struct err err;
  ck_assert_int_eq(rs_parse_test_detail(body, len, DEPTH, &d, &err), 0);
  ck_assert_str_eq(d.id, "f0699a4b-0141-4fa2-8007-e016acede2bf");
  ck_assert_str_eq(d.name, "Sample Name");
  ck_assert_str_eq(d.trigger_url, "https://api.runscope.com/radar/"
                                  "235d992e-cb62-43b1-9983-dd5864b64d89/"
                                  "trigger");
  ck_assert_str_eq(d.default_environment_id,
                   "8e7afae4-23b6-492a-b4b9-75d515b5082b");
  ck_assert_uint_eq(d.n_environments, 2); /* the id-less one is skipped */
  ck_assert_str_eq(d.environments[0].id,
                   "7e7afae4-23b6-492a-b4b9-75d515b5082b");
  ck_assert_str_eq(d.environments[0].name, "Test Settings");
  ck_assert_str_eq(d.environments[1].name, "Production");
  ck_assert_uint_eq(d.n_schedules, 3);
  ck_assert_str_eq(d.schedules[0].environment_id,
                   "d44fe112-74ea-4713-92fc-caa27ef8ce8a");
  ck_assert_double_eq(d.schedules[0].interval, 60);
  ck_assert_double_eq(d.schedules[1].interval, 3600);
  ck_assert_double_eq(d.schedules[2].interval, 0); /* "fortnightly" */
  rs_test_detail_fini(&d);
  ck_assert_ptr_null(d.environments);
  rs_test_detail_fini(&d); /* twice is harmless */
  free(body);
}
END_TEST

START_TEST(parse_test_detail_nulls) {
  size_t len;
  char *body = fixture("runscope_test_detail_nulls.json", &len);
  struct rs_test_detail d;
  struct err err;
  ck_assert_int_eq(rs_parse_test_detail(body, len, DEPTH, &d, &err), 0);
  ck_assert_uint_eq(d.n_environments, 0);
  ck_assert_uint_eq(d.n_schedules, 0);
  ck_assert_str_eq(d.trigger_url, "http://api.runscope.com/radar/"
                                  "b96ecee2-cce6-4d80-8f07-33ac22a22ebd/"
                                  "trigger");
  rs_test_detail_fini(&d);
  free(body);
}
END_TEST

START_TEST(parse_runs_odd_result) {
  size_t n;
  struct rs_run *r = parse_odd(&n);
  /* finished: final, but neither a pass nor a fail */
  ck_assert_int_ne(r[0].result, RS_RESULT_UNFINISHED);
  ck_assert_int_ne(r[0].result, RS_RESULT_PASS);
  ck_assert_int_ne(r[0].result, RS_RESULT_FAIL);
  ck_assert_int_eq(r[0].result, RS_RESULT_OTHER);
  ck_assert_str_eq(r[0].result_text, "error");
  /* not finished yet: it may still change */
  ck_assert_int_eq(r[1].result, RS_RESULT_UNFINISHED);
  free(r);
}
END_TEST

START_TEST(parse_runs_fixture) {
  size_t len, n;
  char *body = fixture("runscope_results.json", &len);
  struct rs_run *r = NULL;
  struct err err;
  ck_assert_int_eq(rs_parse_runs(body, len, DEPTH, &r, &n, &err), 0);
  /* 9 items: no id, empty id, "yesterday", null start, a string: skipped */
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(r[0].test_run_id, "5e2b1c9a-7d3f-4e8b-a6c4-2f1d0e9b8a7c");
  ck_assert_int_eq(r[0].result, RS_RESULT_UNFINISHED);
  ck_assert_double_eq(r[0].finished_at, 0); /* null while working */
  ck_assert_double_eq(r[0].started_at, 1406061700);
  ck_assert_str_eq(r[1].test_run_id, "0aa48464-f89e-4596-8d60-79bc678d313f");
  ck_assert_int_eq(r[1].result, RS_RESULT_PASS);
  ck_assert_double_eq_tol(r[1].started_at, 1406036406.68105, 1e-6);
  ck_assert_double_eq_tol(r[1].finished_at, 1406061608.506811, 1e-6);
  ck_assert_str_eq(r[1].bucket_key, "6knqwmwvqpzr");
  ck_assert_str_eq(r[1].test_id, "db4cc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_str_eq(r[1].environment_id, "abcdc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_str_eq(r[1].environment_name, "My Test Environment");
  ck_assert_str_eq(r[1].region, "us1");
  ck_assert_str_eq(r[1].agent, "");
  ck_assert_int_eq(r[1].assertions_passed, 2);
  ck_assert_int_eq(r[1].requests_executed, 1);
  ck_assert_ptr_nonnull(strstr(r[1].test_run_url, "/results/0aa48464"));
  /* strings for numbers, a private agent, null region */
  ck_assert_int_eq(r[2].result, RS_RESULT_FAIL);
  ck_assert_double_eq_tol(r[2].started_at, 1406036400.5, 1e-6);
  ck_assert_double_eq_tol(r[2].finished_at, 1406058767.591204, 1e-6);
  ck_assert_int_eq(r[2].assertions_defined, 2);
  ck_assert_int_eq(r[2].assertions_passed, 1);
  ck_assert_int_eq(r[2].assertions_failed, 1);
  ck_assert_str_eq(r[2].region, "");
  ck_assert_str_eq(r[2].agent, "private-agent-7");
  /* test_uuid / environment_uuid naming */
  ck_assert_int_eq(r[3].result, RS_RESULT_CANCELLED);
  ck_assert_str_eq(r[3].test_id, "db4cc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_str_eq(r[3].environment_id, "abcdc896-2804-4520-ad06-0caf3bf216a8");
  free(r);
  free(body);
}
END_TEST

/* Bodies every parser must refuse, with the errno and a piece of err. */
static const struct {
  const char *file; /* a fixture, or NULL for text */
  const char *text;
  int rc;
  const char *cause;
} bad_bodies[] = {
    {"runscope_truncated.json", NULL, -EPROTO, "truncated JSON"},
    {"runscope_deep.json", NULL, -EPROTO, "JSON nesting deeper than 64"},
    {"runscope_no_data.json", NULL, -EPROTO, "no \"data\""},
    {"runscope_error_403.json", NULL, -EACCES, "You must provide a valid"},
    {"runscope_error_in_200.json", NULL, -EAGAIN, "Internal error"},
    {NULL, "<html><body>502 Bad Gateway</body></html>", -EPROTO,
     "malformed JSON at offset 0"},
    {NULL, "[]", -EPROTO, "the answer is a JSON array, not an object"},
    {NULL, "{\"data\": null}", -EPROTO, "no \"data\""},
    {NULL, "{\"data\": [], \"error\": \"quota exceeded\"}", -EPROTO,
     "quota exceeded"},
    {NULL, "{\"data\": []} trailing", -EPROTO, "trailing bytes"},
    {NULL, "", -EPROTO, "empty JSON text"},
};

START_TEST(parsers_refuse) {
  size_t len, n = 99;
  char *body = bad_bodies[_i].file ? fixture(bad_bodies[_i].file, &len)
                                   : strdup(bad_bodies[_i].text);
  if (bad_bodies[_i].file == NULL)
    len = strlen(body);
  struct err err;
  struct rs_bucket *bl = (struct rs_bucket *)&n, b;
  struct rs_test *tl = (struct rs_test *)&n;
  struct rs_run *rl = (struct rs_run *)&n;
  struct rs_test_detail d;
  int rc = bad_bodies[_i].rc;
  const char *cause = bad_bodies[_i].cause;
#define REFUSED(call)                                                          \
  do {                                                                         \
    err_clear(&err);                                                           \
    ck_assert_int_eq((call), rc);                                              \
    ck_assert_msg(strstr(err.msg, cause) != NULL, "%s: \"%s\"", #call,         \
                  err.msg);                                                    \
  } while (0)
  REFUSED(rs_parse_buckets(body, len, DEPTH, &bl, &n, &err));
  ck_assert_ptr_null(bl);
  ck_assert_uint_eq(n, 0);
  REFUSED(rs_parse_tests(body, len, DEPTH, &tl, &n, &err));
  ck_assert_ptr_null(tl);
  REFUSED(rs_parse_runs(body, len, DEPTH, &rl, &n, &err));
  ck_assert_ptr_null(rl);
  REFUSED(rs_parse_bucket(body, len, DEPTH, &b, &err));
  REFUSED(rs_parse_test_detail(body, len, DEPTH, &d, &err));
  ck_assert_ptr_null(d.environments);
#undef REFUSED
  free(body);
}
END_TEST

/* Wrong types and bad items, per parser. */
static const struct {
  int parser; /* 0 buckets, 1 bucket, 2 tests, 3 detail, 4 runs */
  const char *text;
  const char *cause;
} bad_items[] = {
    {0, "{\"data\": {\"key\": \"k\"}}", "\"data\" is a JSON object, not array"},
    {1, "{\"data\": [{\"key\": \"k\"}]}",
     "\"data\" is a JSON array, not object"},
    {2, "{\"data\": \"tests\"}", "\"data\" is a JSON string, not array"},
    {4, "{\"data\": {}}", "\"data\" is a JSON object, not array"},
    {0, "{\"data\": [{\"name\": \"no key\"}]}", "data[0] has no \"key\""},
    {0, "{\"data\": [{\"key\": \"k\"}, 7]}", "data[1] is not an object"},
    {0,
     "{\"data\": [{\"key\": \"k\", \"team\": {\"id\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789\"}}]}",
     "data[0].team.id is longer than 79 bytes"},
    {2, "{\"data\": [{\"id\": 12}]}", "data[0] has no \"id\""},
    {2,
     "{\"data\": [{\"id\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789\"}]}",
     "data[0].id is longer than 79 bytes"},
    {3, "{\"data\": {\"name\": \"no id\"}}", "data has no \"id\""},
    {4,
     "{\"data\": [{\"started_at\": 1, \"test_run_id\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789\"}]}",
     "data[0].test_run_id is longer than 79 bytes"},
};

START_TEST(parsers_refuse_items) {
  const char *text = bad_items[_i].text;
  size_t len = strlen(text), n;
  struct err err;
  void *list = NULL;
  struct rs_bucket b;
  struct rs_test_detail d;
  int rc = 0;
  err_clear(&err);
  switch (bad_items[_i].parser) {
  case 0:
    rc = rs_parse_buckets(text, len, DEPTH, (struct rs_bucket **)&list, &n,
                          &err);
    break;
  case 1:
    rc = rs_parse_bucket(text, len, DEPTH, &b, &err);
    break;
  case 2:
    rc = rs_parse_tests(text, len, DEPTH, (struct rs_test **)&list, &n, &err);
    break;
  case 3:
    rc = rs_parse_test_detail(text, len, DEPTH, &d, &err);
    break;
  default:
    rc = rs_parse_runs(text, len, DEPTH, (struct rs_run **)&list, &n, &err);
  }
  ck_assert_int_eq(rc, -EPROTO);
  ck_assert_ptr_null(list);
  ck_assert_msg(strstr(err.msg, bad_items[_i].cause) != NULL, "got \"%s\"",
                err.msg);
}
END_TEST

START_TEST(names_are_cut) {
  char body[1024], name[400];
  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  memcpy(name + 254, "\xc3\xa9", 2); /* an e-acute across the cut */
  snprintf(body, sizeof(body), "{\"data\": {\"key\": \"k\", \"name\": \"%s\"}}",
           name);
  struct rs_bucket b;
  ck_assert_int_eq(rs_parse_bucket(body, strlen(body), DEPTH, &b, NULL), 0);
  ck_assert_uint_eq(strlen(b.name), 254); /* no half character */
}
END_TEST

/* ---- intervals and results ---- */

static const struct {
  const char *text;
  double seconds;
} intervals[] = {
    {"1m", 60},    {"5m", 300},      {"15m", 900},  {"30m", 1800},
    {"1h", 3600},  {"1.0h", 3600},   {"6h", 21600}, {"12h", 43200},
    {"1d", 86400}, {"1.5h", 5400},   {"90s", 90},   {" 5 min ", 300},
    {"2H", 7200},  {"1 day", 86400}, {"", 0},       {"h", 0},
    {"5", 0},      {"-5m", 0},       {"0m", 0},     {"5x", 0},
    {"5m 2s", 0},  {"1e3s", 0},      {".5m", 30},   {"fortnightly", 0},
};

START_TEST(interval_parse) {
  ck_assert_msg(rs_parse_interval(intervals[_i].text) == intervals[_i].seconds,
                "\"%s\" -> %f", intervals[_i].text,
                rs_parse_interval(intervals[_i].text));
}
END_TEST

START_TEST(interval_null) { ck_assert_double_eq(rs_parse_interval(NULL), 0); }
END_TEST

static const struct {
  const char *text;
  enum rs_result result;
} results[] = {
    {"pass", RS_RESULT_PASS},
    {"PASS", RS_RESULT_PASS},
    {"fail", RS_RESULT_FAIL},
    {"cancelled", RS_RESULT_CANCELLED},
    {"canceled", RS_RESULT_CANCELLED},
    {"working", RS_RESULT_UNFINISHED},
    {"queued", RS_RESULT_UNFINISHED},
    {"init", RS_RESULT_UNFINISHED},
    {"completed", RS_RESULT_UNFINISHED},
    {"", RS_RESULT_UNFINISHED},
    {NULL, RS_RESULT_UNFINISHED},
};

START_TEST(result_parse) {
  ck_assert_int_eq(rs_result_parse(results[_i].text), results[_i].result);
}
END_TEST

/* A finished run: the unknown values are final, without a verdict. */
static const struct {
  const char *text;
  enum rs_result result;
} finished_results[] = {
    {"pass", RS_RESULT_PASS},          {"fail", RS_RESULT_FAIL},
    {"canceled", RS_RESULT_CANCELLED}, {"error", RS_RESULT_OTHER},
    {"completed", RS_RESULT_OTHER},    {"working", RS_RESULT_UNFINISHED},
    {"queued", RS_RESULT_UNFINISHED},  {"init", RS_RESULT_UNFINISHED},
    {"", RS_RESULT_UNFINISHED},        {NULL, RS_RESULT_UNFINISHED},
};

START_TEST(run_result_finished) {
  ck_assert_int_eq(rs_run_result(finished_results[_i].text, 1.7e9),
                   finished_results[_i].result);
  /* not finished: only pass, fail and cancelled are final */
  enum rs_result open = rs_run_result(finished_results[_i].text, 0);
  ck_assert_int_eq(open, rs_result_parse(finished_results[_i].text));
}
END_TEST

/* ---- the calls ---- */

START_TEST(call_list_buckets) {
  answer_fixture(&fk, 200, "runscope_buckets.json");
  struct rs_bucket *b = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_list_buckets(rs, &b, &n, &err), 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(fk.n_reqs, 1);
  assert_get(0, "/buckets");
  ck_assert_double_eq(rs_retry_after(rs), -1);
  free(b);
}
END_TEST

START_TEST(call_get_bucket_encodes) {
  answer_fixture(&fk, 200, "runscope_bucket.json");
  struct rs_bucket b;
  struct err err;
  ck_assert_int_eq(rs_get_bucket(rs, "a/b c?", &b, &err), 0);
  assert_get(0, "/buckets/a%2Fb%20c%3F");
  ck_assert_str_eq(b.key, "ez97w2r9wgzw");
}
END_TEST

START_TEST(call_get_test) {
  answer_fixture(&fk, 200, "runscope_test_detail.json");
  struct rs_test_detail d;
  struct err err;
  ck_assert_int_eq(rs_get_test(rs, "6knqwmwvqpzr", "f0699a4b", &d, &err), 0);
  assert_get(0, "/buckets/6knqwmwvqpzr/tests/f0699a4b");
  ck_assert_uint_eq(d.n_schedules, 3);
  rs_test_detail_fini(&d);
}
END_TEST

START_TEST(call_get_test_error_leaves_empty) {
  answer_fixture(&fk, 200, "runscope_wrong_type.json");
  struct rs_test_detail d;
  struct err err;
  answer(&fk, 200,
         "{\"data\": {\"id\": \"t\", \"environments\": [{\"id\": "
         "\"0123456789012345678901234567890123456789012345678901234"
         "5678901234567890123456789\"}]}}");
  /* runscope_wrong_type.json is an object without "id" */
  ck_assert_int_eq(rs_get_test(rs, "b", "t", &d, &err), -EPROTO);
  ck_assert_str_eq(err.msg, "Runscope API: GET /buckets/b/tests/t: data has no "
                            "\"id\"");
  ck_assert_ptr_null(d.environments);
  rs_test_detail_fini(&d);
  ck_assert_int_eq(rs_get_test(rs, "b", "t", &d, &err), -EPROTO);
  ck_assert_ptr_nonnull(
      strstr(err.msg, "data.environments[0].id is longer than 79 bytes"));
  ck_assert_ptr_null(d.environments);
  ck_assert_uint_eq(d.n_environments, 0);
  rs_test_detail_fini(&d);
  /* an environment read before the bad one is released (valgrind) */
  answer(&fk, 200,
         "{\"data\": {\"id\": \"t\", \"environments\": [{\"id\": \"e1\", "
         "\"name\": \"Production\"}, {\"id\": "
         "\"0123456789012345678901234567890123456789012345678901234"
         "5678901234567890123456789\"}]}}");
  ck_assert_int_eq(rs_get_test(rs, "b", "t", &d, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "data.environments[1].id"));
  ck_assert_ptr_null(d.environments);
  rs_test_detail_fini(&d);
}
END_TEST

/* The tests t[0..n) are t000, t001, ... in that order (tests_body's). */
static void assert_ids_in_order(const struct rs_test *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof(id), "t%03zu", i);
    ck_assert_str_eq(t[i].id, id);
  }
}

START_TEST(call_list_tests_pages) {
  /* 120 tests: 50 + 50 + 20 */
  answer_owned(&fk, 200, tests_body(0, 50));
  answer_owned(&fk, 200, tests_body(50, 50));
  answer_owned(&fk, 200, tests_body(100, 20));
  struct rs_test *t = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_list_tests(rs, "bkt/1", &t, &n, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  assert_get(0, "/buckets/bkt%2F1/tests?count=50&offset=0");
  assert_get(1, "/buckets/bkt%2F1/tests?count=50&offset=50");
  assert_get(2, "/buckets/bkt%2F1/tests?count=50&offset=100");
  ck_assert_uint_eq(n, 120);
  assert_ids_in_order(t, n);
  free(t);
}
END_TEST

/* A list that shifts while it is paged (a test added before the offset
 * repeats items in the next page): every test once, in order, across
 * pages that grow the set of ids kept from page to page past its first
 * size. */
START_TEST(call_list_tests_shifted_pages_hold_each_test_once) {
  answer_owned(&fk, 200, tests_body(0, 50));
  answer_owned(&fk, 200, tests_body(45, 50));  /* 5 seen, 45 new */
  answer_owned(&fk, 200, tests_body(90, 50));  /* 5 seen, 45 new */
  answer_owned(&fk, 200, tests_body(130, 10)); /* 5 seen, 5 new: the end */
  struct rs_test *t = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 4);
  assert_get(3, "/buckets/b/tests?count=50&offset=150");
  ck_assert_uint_eq(n, 140);
  assert_ids_in_order(t, n);
  free(t);
}
END_TEST

/* 100 tests in two full pages: a full last page needs one more, empty,
 * page. Also when the scanner gives up on the second page after it has
 * read some or all of its items (an escaped key in its last item, or in
 * the envelope after data; NULL: as served): the tree reads it instead and
 * none of what the scanner read of it stays, so every test is there once,
 * in order, and the list goes on. */
static const char *const spoiled_keys[] = {NULL, "\"name\": \"Test 99\"",
                                           "\"meta\""};

START_TEST(call_list_tests_full_pages) {
  char *body = tests_body(50, 50), *second = body;
  if (spoiled_keys[_i] != NULL) {
    char *at = strstr(body, spoiled_keys[_i]);
    ck_assert_ptr_nonnull(at);
    /* the key's second letter escaped: "n\u0061me", "m\u0065ta" */
    ck_assert_int_ge(asprintf(&second, "%.*s\\u%04x%s", (int)(at + 2 - body),
                              body, (unsigned char)at[2], at + 3),
                     0);
    free(body);
  }
  answer_owned(&fk, 200, tests_body(0, 50));
  answer_owned(&fk, 200, second);
  answer_owned(&fk, 200, tests_body(100, 0));
  struct rs_test *t = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  ck_assert_uint_eq(n, 100);
  assert_ids_in_order(t, n);
  ck_assert_str_eq(t[99].name, "Test 99");
  free(t);
}
END_TEST

START_TEST(call_list_tests_capped_count) {
  /* A server that serves at most 20 whatever count asks: 120 tests in 6
   * pages; the next offset is what came, not what was asked. */
  for (int i = 0; i <= 6; i++)
    answer_owned(&fk, 200, tests_body(i * 20, i < 6 ? 20 : 0));
  struct rs_test *t = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, NULL), 0);
  ck_assert_uint_eq(n, 120);
  ck_assert_uint_eq(fk.n_reqs, 7);
  for (int i = 0; i <= 6; i++) {
    char url[128];
    snprintf(url, sizeof(url), "/buckets/b/tests?count=50&offset=%d", i * 20);
    assert_get((size_t)i, url);
  }
  ck_assert_str_eq(t[119].id, "t119");
  free(t);
}
END_TEST

START_TEST(call_list_tests_capped_short_end) {
  /* Capped at 20, 45 tests: 20 + 20 + 5; the 5 is shorter than the cap
   * the earlier pages showed, so it ends the list. A first page of 7 may
   * be a cap too: one more, empty, page says it is the end. */
  answer_owned(&fk, 200, tests_body(0, 20));
  answer_owned(&fk, 200, tests_body(20, 20));
  answer_owned(&fk, 200, tests_body(40, 5));
  struct rs_test *t = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, NULL), 0);
  ck_assert_uint_eq(n, 45);
  ck_assert_uint_eq(fk.n_reqs, 3);
  assert_get(2, "/buckets/b/tests?count=50&offset=40");
  free(t);
  answer_owned(&fk, 200, tests_body(0, 7));
  answer_owned(&fk, 200, tests_body(7, 0));
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, NULL), 0);
  ck_assert_uint_eq(n, 7);
  ck_assert_uint_eq(fk.n_reqs, 5);
  assert_get(4, "/buckets/b/tests?count=50&offset=7");
  free(t);
}
END_TEST

START_TEST(call_list_tests_ignored_offset) {
  /* A server that ignores offset keeps sending the first page. */
  for (int i = 0; i < 5; i++)
    answer_owned(&fk, 200, tests_body(0, 50));
  struct rs_test *t = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_uint_eq(n, 50);
  free(t);
}
END_TEST

START_TEST(call_list_tests_empty_and_error) {
  answer_owned(&fk, 200, tests_body(0, 0));
  struct rs_test *t = NULL;
  size_t n = 7;
  struct err err;
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, &err), 0);
  ck_assert_uint_eq(n, 0);
  free(t);
  /* a failing second page fails the list: no partial list */
  answer_owned(&fk, 200, tests_body(0, 50));
  answer(&fk, 503, "Service Unavailable");
  ck_assert_int_eq(rs_list_tests(rs, "b", &t, &n, &err), -EAGAIN);
  ck_assert_ptr_null(t);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg,
                   "Runscope API: GET /buckets/b/tests: HTTP 503: Service "
                   "Unavailable");
}
END_TEST

START_TEST(call_list_results_since_only) {
  answer_fixture(&fk, 200, "runscope_results.json");
  struct rs_run *r = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_list_results(rs, "6knqwmwvqpzr", "db4cc896",
                                   1406000000.25, &r, &n, &err),
                   0);
  ck_assert_uint_eq(fk.n_reqs, 1); /* 9 items: not a full page */
  assert_get(0, "/buckets/6knqwmwvqpzr/tests/db4cc896/results?count=50&"
                "since=1406000000.250000");
  ck_assert_uint_eq(n, 4);
  /* oldest first */
  ck_assert_int_eq(r[0].result, RS_RESULT_CANCELLED);
  ck_assert_int_eq(r[1].result, RS_RESULT_FAIL);
  ck_assert_int_eq(r[2].result, RS_RESULT_PASS);
  ck_assert_int_eq(r[3].result, RS_RESULT_UNFINISHED);
  for (size_t i = 1; i < n; i++)
    ck_assert(r[i - 1].started_at <= r[i].started_at);
  free(r);
}
END_TEST

START_TEST(call_list_results_newest_only) {
  for (int i = 0; i < 3; i++)
    answer_owned(&fk, 200, runs_body(i * 50, 50, 1700000000 - i * 500));
  struct rs_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_results(rs, "b", "t", 0, &r, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 1);
  assert_get(0, "/buckets/b/tests/t/results?count=50");
  ck_assert_uint_eq(n, 50);
  free(r);
}
END_TEST

START_TEST(call_list_results_pages_back) {
  /* 50 + 50 (one overlapping the first page) + 10 */
  answer_owned(&fk, 200, runs_body(0, 50, 1700000000.5));
  answer_owned(&fk, 200, runs_body(49, 50, 1700000000.5 - 490));
  answer_owned(&fk, 200, runs_body(99, 10, 1700000000.5 - 990));
  struct rs_run *r = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_list_results(rs, "b", "t", 1600000000, &r, &n, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  assert_get(0, "/buckets/b/tests/t/results?count=50&since=1600000000.000000");
  /* before = the oldest start of the page before */
  assert_get(1, "/buckets/b/tests/t/results?count=50&since=1600000000.000000"
                "&before=1699999510.500000");
  assert_get(2, "/buckets/b/tests/t/results?count=50&since=1600000000.000000"
                "&before=1699999020.500000");
  ck_assert_uint_eq(n, 109); /* r0049 counted once */
  ck_assert_str_eq(r[0].test_run_id, "r0108");
  ck_assert_str_eq(r[n - 1].test_run_id, "r0000");
  for (size_t i = 1; i < n; i++) {
    ck_assert(r[i - 1].started_at < r[i].started_at);
    ck_assert_str_ne(r[i - 1].test_run_id, r[i].test_run_id);
  }
  free(r);
}
END_TEST

START_TEST(call_list_results_ignored_before) {
  /* A server that ignores before keeps sending the same full page. */
  for (int i = 0; i < 5; i++)
    answer_owned(&fk, 200, runs_body(0, 50, 1700000000));
  struct rs_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_results(rs, "b", "t", 1, &r, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_uint_eq(n, 50);
  free(r);
}
END_TEST

START_TEST(call_list_results_cap) {
  /* Full pages forever: stop at RS_RESULTS_MAX, keeping the newest. */
  for (int i = 0; i < 12; i++)
    answer_owned(&fk, 200, runs_body(i * 50, 50, 1700000000 - i * 500.0));
  struct rs_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_list_results(rs, "b", "t", 1, &r, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, RS_RESULTS_MAX / 50);
  ck_assert_uint_eq(n, RS_RESULTS_MAX);
  ck_assert_str_eq(r[n - 1].test_run_id, "r0000");
  ck_assert_str_eq(r[0].test_run_id, "r0499");
  free(r);
}
END_TEST

START_TEST(call_list_results_error) {
  answer_owned(&fk, 200, runs_body(0, 50, 1700000000));
  answer_fixture(&fk, 403, "runscope_error_403.json");
  struct rs_run *r = (struct rs_run *)&fk;
  size_t n = 5;
  struct err err;
  ck_assert_int_eq(rs_list_results(rs, "b", "t", 1, &r, &n, &err), -EACCES);
  ck_assert_ptr_null(r);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg, "Runscope API: GET /buckets/b/tests/t/results: "
                            "HTTP 403: You must provide a valid Authorization "
                            "header to use the Runscope API.");
}
END_TEST

/* Statuses and answers, the errno they give and what err must say. */
static const struct {
  long status;
  const char *body;
  double retry_after;
  int rc;
  const char *msg; /* exact */
} statuses[] = {
    {401, "{\"error\": {\"status\": 401, \"message\": \"Unauthorized\"}}", -1,
     -EACCES, "Runscope API: GET /buckets/bk: HTTP 401: Unauthorized"},
    {403, NULL, -1, -EACCES, "Runscope API: GET /buckets/bk: HTTP 403"},
    {404,
     "{\"data\": null, \"error\": {\"status\": 404, \"message\": \"Bucket "
     "not found\"}, \"meta\": {\"status\": \"error\"}}",
     -1, -ENOENT, "Runscope API: GET /buckets/bk: HTTP 404: Bucket not found"},
    {429, "", 30, -EAGAIN, "Runscope API: GET /buckets/bk: HTTP 429"},
    {500, "<html>\n<h1>Internal   Server Error</h1>\n</html>", -1, -EAGAIN,
     "Runscope API: GET /buckets/bk: HTTP 500: <html> <h1>Internal Server "
     "Error</h1> </html>"},
    {502, "{\"message\": \"Bad gateway\"}", 5, -EAGAIN,
     "Runscope API: GET /buckets/bk: HTTP 502: Bad gateway"},
    {400, "{\"error\": {\"status\": 400, \"message\": \"bad count\"}}", -1,
     -EPROTO, "Runscope API: GET /buckets/bk: HTTP 400: bad count"},
    {302, "", -1, -EPROTO, "Runscope API: GET /buckets/bk: HTTP 302"},
    {200, "<html>ok</html>", -1, -EPROTO,
     "Runscope API: GET /buckets/bk: malformed JSON at offset 0: unexpected "
     "character"},
    {200, "{\"data\": [], \"error\": null}", -1, -EPROTO,
     "Runscope API: GET /buckets/bk: \"data\" is a JSON array, not object"},
    {200,
     "{\"data\": {}, \"error\": {\"status\": 403, \"message\": \"You must "
     "provide a valid Authorization header\"}}",
     -1, -EACCES,
     "Runscope API: GET /buckets/bk: the answer carries an error (status 403): "
     "You must provide a valid Authorization header"},
    /* a server echoing the token must not get it into the log */
    {403, "{\"error\": {\"message\": \"bad token " TOKEN "\"}}", -1, -EACCES,
     "Runscope API: GET /buckets/bk: HTTP 403: bad token REDACTED"},
};

START_TEST(call_status_errno) {
  answer(&fk, statuses[_i].status, statuses[_i].body);
  fk.answers[0].retry_after = statuses[_i].retry_after;
  struct rs_bucket b;
  struct err err;
  err_clear(&err);
  ck_assert_int_eq(rs_get_bucket(rs, "bk", &b, &err), statuses[_i].rc);
  ck_assert_str_eq(err.msg, statuses[_i].msg);
  ck_assert_ptr_null(strstr(err.msg, TOKEN));
  ck_assert_double_eq(rs_retry_after(rs), statuses[_i].retry_after);
}
END_TEST

/* An error answer that echoes the token where the message is cut (the
 * 511 bytes of an err, or the 160 of a non-JSON snippet) leaves no part of
 * it: the token is scrubbed from the whole text, then the text is cut.
 * _i pads the text so that the cut falls at every byte of the token. */
START_TEST(call_status_token_at_the_cut) {
  char body[1200], pad[700];
  bool json = _i >= 40;
  size_t n = json ? 360 + (size_t)_i : 100 + (size_t)_i;
  memset(pad, 'x', n);
  pad[n] = '\0';
  if (json)
    snprintf(body, sizeof(body), "{\"message\": \"%s " TOKEN " x\"}", pad);
  else
    snprintf(body, sizeof(body), "<html>%s " TOKEN " x</html>", pad);
  answer(&fk, 403, body);
  struct rs_bucket b;
  struct err err;
  err_clear(&err);
  ck_assert_int_eq(rs_get_bucket(rs, "bk", &b, &err), -EACCES);
  ck_assert_msg(strstr(err.msg, "tok-") == NULL, "%s", err.msg);
}
END_TEST

START_TEST(call_transport_error) {
  fk.answers[0].rc = -ETIMEDOUT;
  fk.answers[0].retry_after = -1;
  fk.n_answers = 1;
  struct rs_bucket *b = (struct rs_bucket *)&fk;
  size_t n = 3;
  struct err err;
  ck_assert_int_eq(rs_list_buckets(rs, &b, &n, &err), -ETIMEDOUT);
  ck_assert_ptr_null(b);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg, "Runscope API: GET " BASE "/buckets: scripted "
                            "failure");
  ck_assert_double_eq(rs_retry_after(rs), -1);
}
END_TEST

START_TEST(call_no_token) {
  struct rs_client *anon = rs_new(http, BASE, "", DEPTH);
  ck_assert_ptr_nonnull(anon);
  answer_fixture(&fk, 200, "runscope_buckets.json");
  struct rs_bucket *b = NULL;
  size_t n;
  ck_assert_int_eq(rs_list_buckets(anon, &b, &n, NULL), 0);
  ck_assert_ptr_null(fk.reqs[0].bearer);
  free(b);
  rs_free(anon);
  rs_free(NULL);
}
END_TEST

/* ---- trigger URLs ---- */

#define TRIGGER_ID "235d992e-cb62-43b1-9983-dd5864b64d89"
#define TRIGGER_URL BASE "/radar/" TRIGGER_ID "/trigger"

START_TEST(parse_trigger_fixture) {
  size_t len;
  char *body = fixture("runscope_trigger.json", &len);
  struct rs_started_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_parse_trigger(body, len, DEPTH, &r, &n, NULL), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(r[0].test_run_id, "df359b71-56d1-42f3-ab50-5e517a848ac7");
  ck_assert_str_eq(r[0].environment_id, "ab234cdf-26c1-41c6-80ef-a9bb145fe8ff");
  ck_assert_str_eq(r[0].region, "us1");
  ck_assert_str_eq(r[0].agent, "");
  free(r);
  free(body);
}
END_TEST

START_TEST(parse_trigger_variants) {
  /* an agent run, the older *_uuid names, an item without an id, junk */
  const char *body =
      "{\"data\": {\"runs\": [{\"test_run_uuid\": \"r1\", \"region\": null,"
      " \"agent\": \"a-77\", \"environment_uuid\": \"e1\"},"
      " {\"status\": \"init\"}, 7,"
      " {\"test_run_id\": \"r2\", \"region\": \"eu1\"}]},"
      " \"error\": null}";
  struct rs_started_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_parse_trigger(body, strlen(body), DEPTH, &r, &n, NULL),
                   0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(r[0].test_run_id, "r1");
  ck_assert_str_eq(r[0].agent, "a-77");
  ck_assert_str_eq(r[0].region, "");
  ck_assert_str_eq(r[0].environment_id, "e1");
  ck_assert_str_eq(r[1].test_run_id, "r2");
  ck_assert_str_eq(r[1].region, "eu1");
  free(r);
}
END_TEST

START_TEST(parse_trigger_refuses) {
  static const char *const bodies[] = {
      "{\"data\": {}, \"error\": null}",
      "{\"data\": {\"runs\": {}}, \"error\": null}",
      "{\"data\": [], \"error\": null}",
      "{\"data\": {\"runs\": []}, \"error\": {\"status\": 429, \"message\": "
      "\"slow down\"}}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    struct rs_started_run *r = (struct rs_started_run *)&fk;
    size_t n = 9;
    struct err err;
    ck_assert_int_lt(
        rs_parse_trigger(bodies[i], strlen(bodies[i]), DEPTH, &r, &n, &err), 0);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_ne(err.msg, "");
  }
}
END_TEST

START_TEST(parse_trigger_capped) {
  struct buf b;
  buf_init(&b, 1 << 20);
  ck_assert_int_eq(buf_puts(&b, "{\"data\": {\"runs\": ["), 0);
  for (int i = 0; i < RS_STARTED_MAX + 5; i++)
    ck_assert_int_eq(
        buf_printf(&b, "%s{\"test_run_id\": \"r%d\"}", i ? "," : "", i), 0);
  ck_assert_int_eq(buf_puts(&b, "]}}"), 0);
  struct rs_started_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_parse_trigger(b.data, b.len, DEPTH, &r, &n, NULL), 0);
  ck_assert_uint_eq(n, RS_STARTED_MAX);
  free(r);
  buf_fini(&b);
}
END_TEST

START_TEST(call_trigger_region) {
  answer_fixture(&fk, 200, "runscope_trigger.json");
  struct rs_trigger_req req = {.environment_id = "env 1/2", .region = "us1"};
  struct rs_started_run *r = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_trigger(rs, TRIGGER_URL, &req, &r, &n, NULL), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(r[0].region, "us1");
  free(r);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_str_eq(fk.reqs[0].method, "POST");
  ck_assert_str_eq(fk.reqs[0].url, TRIGGER_URL "?runscope_environment=env%201"
                                               "%2F2&runscope_region=us1");
  ck_assert_ptr_null(fk.reqs[0].bearer); /* the token stays home */
  ck_assert_ptr_null(fk.reqs[0].body);
}
END_TEST

START_TEST(call_trigger_agent_and_query) {
  answer(&fk, 201, "{\"data\": {\"runs\": []}}");
  answer(&fk, 200, "not json at all");
  struct rs_trigger_req req = {.environment_id = "e1", .agent = "ag-1"};
  struct rs_started_run *r = NULL;
  size_t n = 9;
  ck_assert_int_eq(
      rs_trigger(rs, TRIGGER_URL "?baseUrl=x#frag", &req, &r, &n, NULL), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_nonnull(r);
  free(r);
  ck_assert_str_eq(fk.reqs[0].url, TRIGGER_URL "?baseUrl=x&runscope_"
                                               "environment=e1&runscope_agent="
                                               "ag-1");
  /* a 2xx is a trigger, whatever its body */
  struct rs_trigger_req none = {0};
  ck_assert_int_eq(rs_trigger(rs, TRIGGER_URL, &none, &r, &n, NULL), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_nonnull(r);
  free(r);
  ck_assert_str_eq(fk.reqs[1].url, TRIGGER_URL);
}
END_TEST

static const struct {
  long status;
  const char *body;
  double retry_after;
  int rc;
  const char *msg;
} trigger_statuses[] = {
    {429,
     "{\"error\": {\"status\": 429, \"message\": \"Trigger URL rate limit "
     "exceeded\"}}",
     7, -EAGAIN,
     "Runscope API: POST " BASE
     "/radar/REDACTED/trigger: HTTP 429: Trigger URL "
     "rate limit exceeded"},
    {429, "", -1, -EAGAIN,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 429"},
    {503, "down", -1, -EAGAIN,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 503: down"},
    {404,
     "{\"error\": {\"status\": 404, \"message\": \"Trigger " TRIGGER_ID
     " not found\"}}",
     -1, -ENOENT,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 404: Trigger "
     "REDACTED not found"},
    {400,
     "{\"error\": {\"status\": 400, \"message\": \"Invalid "
     "runscope_environment\"}}",
     -1, -EINVAL,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 400: Invalid "
     "runscope_environment"},
    {403, NULL, -1, -EACCES,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 403"},
    {302, NULL, -1, -EPROTO,
     "Runscope API: POST " BASE "/radar/REDACTED/trigger: HTTP 302"},
};

START_TEST(call_trigger_status_errno) {
  answer(&fk, trigger_statuses[_i].status, trigger_statuses[_i].body);
  fk.answers[0].retry_after = trigger_statuses[_i].retry_after;
  struct rs_trigger_req req = {.environment_id = "e1"};
  struct rs_started_run *r = (struct rs_started_run *)&fk;
  size_t n = 3;
  struct err err;
  ck_assert_int_eq(rs_trigger(rs, TRIGGER_URL, &req, &r, &n, &err),
                   trigger_statuses[_i].rc);
  ck_assert_ptr_null(r);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg, trigger_statuses[_i].msg);
  ck_assert_double_eq(rs_retry_after(rs), trigger_statuses[_i].retry_after);
}
END_TEST

START_TEST(call_trigger_transport_and_scheme) {
  fk.answers[0].rc = -ETIMEDOUT;
  fk.n_answers = 1;
  struct rs_trigger_req req = {.environment_id = "e1"};
  struct rs_started_run *r = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_trigger(rs, TRIGGER_URL, &req, &r, &n, &err), -ETIMEDOUT);
  ck_assert_ptr_null(strstr(err.msg, TRIGGER_ID));
  ck_assert_ptr_nonnull(strstr(err.msg, "REDACTED"));
  ck_assert_int_eq(rs_trigger(rs, "ftp://x.test/radar/" TRIGGER_ID "/trigger",
                              &req, &r, &n, &err),
                   -EINVAL);
  ck_assert_str_eq(err.msg, "Runscope API: POST ftp://x.test/radar/REDACTED/"
                            "trigger: not an http(s) trigger URL");
  ck_assert_uint_eq(fk.n_reqs, 1);
}
END_TEST

/* ---- run detail ---- */

START_TEST(parse_run_detail_fixture) {
  size_t len;
  char *body = fixture("runscope_run_detail.json", &len);
  struct rs_run_detail d;
  struct err err;
  ck_assert_int_eq(rs_parse_run_detail(body, len, DEPTH, &d, &err), 0);
  ck_assert_str_eq(d.run.test_run_id, "0aa48464-f89e-4596-8d60-79bc678d313f");
  ck_assert_str_eq(d.run.test_id, "db4cc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_int_eq(d.run.result, RS_RESULT_FAIL);
  ck_assert_double_eq_tol(d.run.started_at, 1406036406.531371, 1e-6);
  ck_assert_double_eq_tol(d.run.finished_at, 1406061608.969942, 1e-6);
  ck_assert_str_eq(d.run.region, "us1");
  ck_assert_int_eq(d.run.assertions_failed, 1);
  ck_assert_int_eq(d.agent_expired, -1);
  ck_assert_str_eq(d.test_name, "");
  ck_assert_uint_eq(d.n_steps, 1);
  const struct rs_step *s = &d.steps[0];
  ck_assert_str_eq(s->url, "https://yourapihere.com/");
  ck_assert_str_eq(s->method, "GET");
  ck_assert_str_eq(s->result, "fail");
  ck_assert_str_eq(s->note, "");
  ck_assert_str_eq(s->step_type, "");
  ck_assert_int_eq(s->assertions_pass, 1);
  ck_assert_int_eq(s->assertions_fail, 1);
  ck_assert_int_eq(s->assertions_total, 2);
  ck_assert_int_eq(s->scripts_pass, 1);
  ck_assert_int_eq(s->scripts_fail, 1);
  ck_assert_int_eq(s->scripts_total, 2);
  ck_assert_int_eq(s->variables_pass, 1);
  ck_assert_int_eq(s->variables_fail, 1);
  ck_assert_int_eq(s->variables_total, 2);
  ck_assert_int_eq(s->response_status_code, -1);
  ck_assert_int_eq(s->response_time_ms, -1);
  ck_assert_int_eq(s->response_size_bytes, -1);
  rs_run_detail_fini(&d);
  ck_assert_ptr_null(d.steps);
  rs_run_detail_fini(&d); /* twice is harmless */
  rs_run_detail_fini(NULL);
  free(body);
}
END_TEST

/* Counts from the items when the totals are missing, numbers as strings,
 * the webhook's own step fields when present, a private agent, the
 * test_uuid/environment_uuid naming, items that are not objects. */
START_TEST(parse_run_detail_variants) {
  size_t len;
  char *body = fixture("runscope_run_detail_variants.json", &len);
  struct rs_run_detail d;
  struct err err;
  ck_assert_int_eq(rs_parse_run_detail(body, len, DEPTH, &d, &err), 0);
  ck_assert_str_eq(d.run.agent, "private-agent-7");
  ck_assert_str_eq(d.run.region, "");
  ck_assert_str_eq(d.run.test_id, "db4cc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_str_eq(d.run.environment_id,
                   "abcdc896-2804-4520-ad06-0caf3bf216a8");
  ck_assert_double_eq(d.run.started_at, 1406036400);
  ck_assert_int_eq(d.run.result, RS_RESULT_PASS);
  ck_assert_str_eq(d.test_name, "Checkout API");
  ck_assert_int_eq(d.agent_expired, 1);
  ck_assert_uint_eq(d.n_steps, 2); /* "not a step" skipped */
  const struct rs_step *s = &d.steps[0];
  ck_assert_str_eq(s->method, "POST");
  ck_assert_str_eq(s->note, "Log in");
  ck_assert_str_eq(s->step_type, "request");
  ck_assert_int_eq(s->response_status_code, 201); /* "201" */
  ck_assert_int_eq(s->response_time_ms, 87);
  ck_assert_int_eq(s->response_size_bytes, 512);
  ck_assert_int_eq(s->assertions_pass, 2);
  ck_assert_int_eq(s->assertions_fail, 1);
  ck_assert_int_eq(s->assertions_total, 3);
  ck_assert_int_eq(s->scripts_total, 0);
  ck_assert_int_eq(s->variables_total, 0); /* null */
  s = &d.steps[1];
  ck_assert_str_eq(s->url, "");
  ck_assert_int_eq(s->assertions_total, 3); /* "3" */
  ck_assert_int_eq(s->assertions_pass, 3);
  rs_run_detail_fini(&d);
  free(body);
}
END_TEST

static const struct {
  const char *body;
  int rc;
  const char *cause;
} bad_details[] = {
    {"{\"data\": {\"result\": \"pass\", \"started_at\": 1}}", -EPROTO,
     "data is not a run"},
    {"{\"data\": {\"test_run_id\": \"r\"}}", -EPROTO, "data is not a run"},
    {"{\"data\": []}", -EPROTO, "\"data\" is a JSON array, not object"},
    {"{\"data\": {\"test_run_id\": \"r\", \"started_at\": 1, \"test_id\": "
     "\"012345678901234567890123456789012345678901234567890123456789012345678"
     "901234567890\"}}",
     -EPROTO, "data.test_id is longer than 79 bytes"},
    {"{\"data\": {}, \"error\": {\"status\": 404, \"message\": \"gone\"}}",
     -ENOENT, "gone"},
};

START_TEST(parse_run_detail_refuses) {
  struct rs_run_detail d;
  struct err err;
  err_clear(&err);
  const char *b = bad_details[_i].body;
  ck_assert_int_eq(rs_parse_run_detail(b, strlen(b), DEPTH, &d, &err),
                   bad_details[_i].rc);
  ck_assert_msg(strstr(err.msg, bad_details[_i].cause) != NULL,
                "\"%s\" lacks \"%s\"", err.msg, bad_details[_i].cause);
  ck_assert_ptr_null(d.steps);
  ck_assert_uint_eq(d.n_steps, 0);
  ck_assert_int_eq(d.agent_expired, -1);
  rs_run_detail_fini(&d);
}
END_TEST

START_TEST(call_get_run) {
  answer_fixture(&fk, 200, "runscope_run_detail.json");
  struct rs_run_detail d;
  struct err err;
  ck_assert_int_eq(
      rs_get_run(rs, "6knqwmwvqpzr", "db4cc896", "0aa48464/x y", &d, &err), 0);
  assert_get(0,
             "/buckets/6knqwmwvqpzr/tests/db4cc896/results/0aa48464%2Fx%20y");
  ck_assert_uint_eq(d.n_steps, 1);
  rs_run_detail_fini(&d);
}
END_TEST

START_TEST(call_get_run_errors) {
  answer(&fk, 404,
         "{\"data\": {}, \"error\": {\"status\": 404, "
         "\"message\": \"Test run not found\"}}");
  answer(&fk, 200, "{\"data\": {\"result\": \"pass\"}}");
  answer(&fk, 503, "busy");
  struct rs_run_detail d;
  struct err err;
  ck_assert_int_eq(rs_get_run(rs, "b", "t", "r1", &d, &err), -ENOENT);
  ck_assert_msg(strstr(err.msg, ": GET /buckets/b/tests/t/results/r1: HTTP "
                                "404: Test run not found") != NULL,
                "%s", err.msg);
  ck_assert_ptr_null(d.steps);
  ck_assert_int_eq(rs_get_run(rs, "b", "t", "r2", &d, &err), -EPROTO);
  ck_assert_msg(strstr(err.msg,
                       ": GET /buckets/b/tests/t/results/r2: data is "
                       "not a run: no test_run_id or started_at") != NULL,
                "%s", err.msg);
  ck_assert_ptr_null(d.steps);
  ck_assert_int_eq(rs_get_run(rs, "b", "t", "r3", &d, &err), -EAGAIN);
  rs_run_detail_fini(&d);
}
END_TEST

/* ---- captured traffic: the Errors stream and message details ---- */

/* Asserts the fields of a parsed message; NULL or -1 for "absent". */
static void assert_message(const struct rs_message *m, const char *uuid,
                           const char *method, const char *host,
                           const char *path, int status, double timestamp) {
  ck_assert_str_eq(m->uuid, uuid);
  ck_assert_msg(!!(m->have & RS_MSG_METHOD) == (method != NULL), "%s method",
                uuid);
  ck_assert_str_eq(m->method, method ? method : "");
  ck_assert_msg(!!(m->have & RS_MSG_HOST) == (host != NULL), "%s host", uuid);
  ck_assert_str_eq(m->host, host ? host : "");
  ck_assert_msg(!!(m->have & RS_MSG_PATH) == (path != NULL), "%s path", uuid);
  ck_assert_str_eq(m->path, path ? path : "");
  ck_assert_msg(!!(m->have & RS_MSG_STATUS) == (status >= 0), "%s status",
                uuid);
  ck_assert_int_eq(m->status, status >= 0 ? status : 0);
  ck_assert_msg(m->timestamp == timestamp, "%s timestamp %.6f", uuid,
                m->timestamp);
}

/* The documented shape: request.{method, host, path, timestamp}; the
 * response's status (assumed: the response is undocumented). */
START_TEST(parse_messages_fixture) {
  size_t len;
  char *body = fixture("runscope_errors.json", &len);
  struct rs_message *m = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(rs_parse_messages(body, len, DEPTH, &m, &n, &err), 0);
  ck_assert_uint_eq(n, 3); /* no uuid, no time, not an object: skipped */
  assert_message(&m[0], "0b5f9e0c-6d0b-4e3a-9c53-1a8b0f6c2a01", "POST",
                 "pay.example.com", "/checkout/cart", 503, 1700000100.123456);
  /* "response": null: a message without a response, status known absent */
  assert_message(&m[1], "0b5f9e0c-6d0b-4e3a-9c53-1a8b0f6c2a02", "GET",
                 "api.example.com", "/v1/orders", 0, 1700000050.5);
  /* no "response" at all: the status is unknown (read the detail) */
  assert_message(&m[2], "0b5f9e0c-6d0b-4e3a-9c53-1a8b0f6c2a03", "DELETE",
                 "api.example.com", "/v1/orders/17", -1, 1700000075);
  free(m);
  free(body);
}
END_TEST

/* Plausible variants of the undocumented parts. */
START_TEST(parse_messages_variants) {
  size_t len;
  char *body = fixture("runscope_errors_variants.json", &len);
  struct rs_message *m = NULL;
  size_t n = 0;
  ck_assert_int_eq(rs_parse_messages(body, len, DEPTH, &m, &n, NULL), 0);
  ck_assert_uint_eq(n, 5);
  /* "id", request.url (userinfo, port, query and fragment left out),
   * response.status_code as text, a numeric string time */
  assert_message(&m[0], "v1-url-and-status-code", "put", "shop.example.com",
                 "/api/items/9", 502, 1700000200.25);
  /* top-level fields; an IPv6 URL without a path */
  assert_message(&m[1], "v2-top-level", "PATCH", "2001:db8::1", "/", 504,
                 1700000190);
  /* response.status as text; response.timestamp when the request has none */
  assert_message(&m[2], "v3-response-time-only", "GET", "a.example.com", "/p",
                 404, 1700000180.5);
  /* a response without a readable status: unknown */
  assert_message(&m[3], "v4-no-status-fields", "GET", "a.example.com", "/q", -1,
                 1700000170);
  /* request.host wins over the URL's; the path comes from the URL */
  assert_message(&m[4], "v5-host-and-url", "GET", "kept.example.com",
                 "/from-url", 500, 1700000160);
  free(m);
  free(body);
}
END_TEST

START_TEST(parse_message_detail) {
  size_t len;
  char *body = fixture("runscope_message.json", &len);
  struct rs_message m;
  ck_assert_int_eq(rs_parse_message(body, len, DEPTH, &m, NULL), 0);
  assert_message(&m, "0b5f9e0c-6d0b-4e3a-9c53-1a8b0f6c2a03", "DELETE",
                 "api.example.com", "/v1/orders/17", 504, 1700000075.0);
  free(body);
  body = fixture("runscope_message_variant.json", &len);
  ck_assert_int_eq(rs_parse_message(body, len, DEPTH, &m, NULL), 0);
  assert_message(&m, "", "POST", "pay.example.com", "/checkout", 500,
                 1700000300.75);
  free(body);
  /* the envelope's rules hold: a list is not a detail */
  body = fixture("runscope_errors.json", &len);
  ck_assert_int_eq(rs_parse_message(body, len, DEPTH, &m, NULL), -EPROTO);
  struct rs_message *v = NULL;
  size_t n = 0;
  free(body);
  body = fixture("runscope_message.json", &len);
  ck_assert_int_eq(rs_parse_messages(body, len, DEPTH, &v, &n, NULL), -EPROTO);
  ck_assert_ptr_null(v);
  free(body);
  body = fixture("runscope_error_in_200.json", &len);
  ck_assert_int_ne(rs_parse_messages(body, len, DEPTH, &v, &n, NULL), 0);
  free(body);
}
END_TEST

/* An envelope of n error messages m<first>.., at start, start - 1, ... */
static char *messages_body(int first, int n, double start) {
  struct buf b;
  buf_init(&b, 1 << 20);
  ck_assert_int_eq(buf_puts(&b, "{\"data\": ["), 0);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(
        buf_printf(&b,
                   "%s{\"uuid\": \"m%04d\", \"request\": {\"method\": "
                   "\"GET\", \"host\": \"h\", \"path\": \"/\", "
                   "\"timestamp\": %.6f}, \"response\": {\"status\": 500}}",
                   i ? "," : "", first + i, start - 1.0 * i),
        0);
  ck_assert_int_eq(buf_puts(&b, "], \"meta\": {\"status\": \"success\"}}"), 0);
  return buf_detach(&b);
}

START_TEST(call_list_errors_one_page) {
  answer_fixture(&fk, 200, "runscope_errors.json");
  struct rs_message *m = NULL;
  size_t n = 0;
  bool truncated = true;
  struct err err;
  ck_assert_int_eq(
      rs_list_errors(rs, "a1b2c3d4", 1700000000.75, &m, &n, &truncated, &err),
      0);
  ck_assert_uint_eq(fk.n_reqs, 1);
  /* whole seconds, since rounded down */
  assert_get(0, "/buckets/a1b2c3d4/errors?count=100&since=1700000000");
  ck_assert(!truncated);
  ck_assert_uint_eq(n, 3);
  /* oldest first */
  ck_assert_str_eq(m[0].path, "/v1/orders");
  ck_assert_str_eq(m[1].path, "/v1/orders/17");
  ck_assert_str_eq(m[2].path, "/checkout/cart");
  free(m);
}
END_TEST

START_TEST(call_list_errors_pages_back) {
  /* 100 + 100 (two overlapping the first page) + 5 */
  answer_owned(&fk, 200, messages_body(0, 100, 1700000500.5));
  answer_owned(&fk, 200, messages_body(98, 100, 1700000500.5 - 98));
  answer_owned(&fk, 200, messages_body(198, 5, 1700000500.5 - 198));
  struct rs_message *m = NULL;
  size_t n = 0;
  bool truncated = true;
  ck_assert_int_eq(
      rs_list_errors(rs, "b", 1600000000, &m, &n, &truncated, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  /* before = the oldest time of the page before, rounded up */
  assert_get(1, "/buckets/b/errors?count=100&since=1600000000"
                "&before=1700000402");
  assert_get(2, "/buckets/b/errors?count=100&since=1600000000"
                "&before=1700000304");
  ck_assert(!truncated);
  ck_assert_uint_eq(n, 203); /* each once */
  ck_assert_str_eq(m[0].uuid, "m0202");
  ck_assert_str_eq(m[n - 1].uuid, "m0000");
  for (size_t i = 1; i < n; i++)
    ck_assert(m[i - 1].timestamp < m[i].timestamp);
  free(m);
}
END_TEST

START_TEST(call_list_errors_truncated) {
  /* a server that ignores before: the same full page again */
  answer_owned(&fk, 200, messages_body(0, 100, 1700000000));
  answer_owned(&fk, 200, messages_body(0, 100, 1700000000));
  struct rs_message *m = NULL;
  size_t n = 0;
  bool truncated = false;
  ck_assert_int_eq(rs_list_errors(rs, "b", 1, &m, &n, &truncated, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_uint_eq(n, 100);
  ck_assert(truncated);
  free(m);
}
END_TEST

START_TEST(call_list_errors_cap) {
  /* full pages forever: stop at RS_MESSAGES_MAX, keeping the newest */
  for (int i = 0; i < 12; i++)
    answer_owned(&fk, 200, messages_body(i * 100, 100, 1700000000 - i * 100));
  struct rs_message *m = NULL;
  size_t n = 0;
  bool truncated = false;
  ck_assert_int_eq(rs_list_errors(rs, "b", 1, &m, &n, &truncated, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, RS_MESSAGES_MAX / 100);
  ck_assert_uint_eq(n, RS_MESSAGES_MAX);
  ck_assert(truncated);
  ck_assert_str_eq(m[n - 1].uuid, "m0000");
  free(m);
}
END_TEST

START_TEST(call_list_errors_error) {
  answer_owned(&fk, 200, messages_body(0, 100, 1700000000));
  answer_fixture(&fk, 403, "runscope_error_403.json");
  struct rs_message *m = NULL;
  size_t n = 0;
  bool truncated;
  struct err err;
  ck_assert_int_eq(rs_list_errors(rs, "b", 1, &m, &n, &truncated, &err),
                   -EACCES);
  ck_assert_ptr_null(m);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_nonnull(
      strstr(err.msg, "Runscope API: GET /buckets/b/errors: HTTP 403"));
  answer(&fk, 503, "busy");
  ck_assert_int_eq(rs_list_errors(rs, "b", 1, &m, &n, &truncated, &err),
                   -EAGAIN);
}
END_TEST

START_TEST(call_get_message) {
  answer_fixture(&fk, 200, "runscope_message_variant.json");
  answer(&fk, 404, "{\"error\": {\"status\": 404, \"message\": \"gone\"}}");
  struct rs_message m;
  struct err err;
  ck_assert_int_eq(rs_get_message(rs, "a1b2", "u 1/2", &m, &err), 0);
  assert_get(0, "/buckets/a1b2/messages/u%201%2F2");
  /* the uuid asked for, though the answer does not repeat it */
  ck_assert_str_eq(m.uuid, "u 1/2");
  ck_assert_int_eq(m.status, 500);
  ck_assert_int_eq(rs_get_message(rs, "a1b2", "u2", &m, &err), -ENOENT);
  ck_assert_str_eq(err.msg, "Runscope API: GET /buckets/a1b2/messages/u2: HTTP "
                            "404: gone");
}
END_TEST

/* ---- pages that hold more than asked ---- */

/* Items in one page: as asked (count=50, errors count=100), one more, a
 * flood. Row i: page size i / 3, list i % 3 (tests, results, errors). */
static const struct {
  int n_tests; /* tests and results pages; errors pages hold twice this */
  int rc;
} oversize[] = {{50, 0}, {51, -EPROTO}, {1000, -EPROTO}};

START_TEST(call_page_over_count_refused) {
  int n = oversize[_i / 3].n_tests, list = _i % 3;
  struct err err = {{0}};
  size_t got = 0;
  int rc;
  void *v = NULL;
  if (list == 0) {
    answer_owned(&fk, 200, tests_body(0, n));
    answer_owned(&fk, 200, tests_body(n, 0));
    rc = rs_list_tests(rs, "b", (struct rs_test **)&v, &got, &err);
  } else if (list == 1) {
    answer_owned(&fk, 200, runs_body(0, n, 1700000000));
    answer_owned(&fk, 200, runs_body(n, 0, 1700000000));
    rc = rs_list_results(rs, "b", "t", 0, (struct rs_run **)&v, &got, &err);
  } else {
    bool truncated;
    answer_owned(&fk, 200, messages_body(0, 2 * n, 1700000500.5));
    rc = rs_list_errors(rs, "b", 0, (struct rs_message **)&v, &got, &truncated,
                        &err);
  }
  free(v);
  ck_assert_msg(rc == oversize[_i / 3].rc, "row %d: rc %d (%s)", _i, rc,
                err.msg);
  if (rc == 0)
    return;
  ck_assert_uint_eq(got, 0);
  ck_assert_msg(strstr(err.msg, list == 2 ? "the page holds more than the "
                                            "100 items asked for"
                                          : "the page holds more than the "
                                            "50 items asked for") != NULL,
                "%s", err.msg);
  ck_assert_ptr_nonnull(strstr(err.msg, "Runscope API: GET /buckets/b/"));
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("runscope");
  TCase *tc = tcase_create("parsers read the documented shapes");
  tcase_add_test(tc, parse_buckets_fixture);
  tcase_add_loop_test(tc, parse_bucket_fixture, 0, N(buckets));
  tcase_add_test(tc, parse_tests_fixture);
  tcase_add_test(tc, parse_test_detail_fixture);
  tcase_add_test(tc, parse_test_detail_nulls);
  tcase_add_test(tc, parse_runs_fixture);
  tcase_add_test(tc, names_are_cut);
  tcase_add_test(tc, parse_runs_odd_result);
  suite_add_tcase(s, tc);
  tc = tcase_create("parsers refuse what is not the envelope");
  tcase_add_loop_test(tc, parsers_refuse, 0, N(bad_bodies));
  tcase_add_loop_test(tc, parsers_refuse_items, 0, N(bad_items));
  suite_add_tcase(s, tc);
  tc = tcase_create("intervals and results");
  tcase_add_loop_test(tc, interval_parse, 0, N(intervals));
  tcase_add_test(tc, interval_null);
  tcase_add_loop_test(tc, result_parse, 0, N(results));
  tcase_add_loop_test(tc, run_result_finished, 0, N(finished_results));
  suite_add_tcase(s, tc);
  tc = tcase_create("calls send the documented requests");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, call_list_buckets);
  tcase_add_test(tc, call_get_bucket_encodes);
  tcase_add_test(tc, call_get_test);
  tcase_add_test(tc, call_get_test_error_leaves_empty);
  tcase_add_test(tc, call_no_token);
  suite_add_tcase(s, tc);
  tc = tcase_create("tests list pages with count and offset");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, call_list_tests_pages);
  tcase_add_test(tc, call_list_tests_shifted_pages_hold_each_test_once);
  tcase_add_loop_test(tc, call_list_tests_full_pages, 0,
                      (int)(sizeof(spoiled_keys) / sizeof(spoiled_keys[0])));
  tcase_add_test(tc, call_list_tests_capped_count);
  tcase_add_test(tc, call_list_tests_capped_short_end);
  tcase_add_test(tc, call_list_tests_ignored_offset);
  tcase_add_test(tc, call_list_tests_empty_and_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("results page back with before");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, call_list_results_since_only);
  tcase_add_test(tc, call_list_results_newest_only);
  tcase_add_test(tc, call_list_results_pages_back);
  tcase_add_test(tc, call_list_results_ignored_before);
  tcase_add_test(tc, call_list_results_cap);
  tcase_add_test(tc, call_list_results_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("pages over the count");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, call_page_over_count_refused, 0, 3 * N(oversize));
  suite_add_tcase(s, tc);
  tc = tcase_create("statuses map to errnos");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, call_status_errno, 0, N(statuses));
  tcase_add_loop_test(tc, call_status_token_at_the_cut, 0, 40 + 120);
  tcase_add_test(tc, call_transport_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("trigger URLs run a test again");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, parse_trigger_fixture);
  tcase_add_test(tc, parse_trigger_variants);
  tcase_add_test(tc, parse_trigger_refuses);
  tcase_add_test(tc, parse_trigger_capped);
  tcase_add_test(tc, call_trigger_region);
  tcase_add_test(tc, call_trigger_agent_and_query);
  tcase_add_loop_test(tc, call_trigger_status_errno, 0, N(trigger_statuses));
  tcase_add_test(tc, call_trigger_transport_and_scheme);
  suite_add_tcase(s, tc);
  tc = tcase_create("run detail: the steps of one run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, parse_run_detail_fixture);
  tcase_add_test(tc, parse_run_detail_variants);
  tcase_add_loop_test(tc, parse_run_detail_refuses, 0, N(bad_details));
  tcase_add_test(tc, call_get_run);
  tcase_add_test(tc, call_get_run_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("captured traffic: errors and messages");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, parse_messages_fixture);
  tcase_add_test(tc, parse_messages_variants);
  tcase_add_test(tc, parse_message_detail);
  tcase_add_test(tc, call_list_errors_one_page);
  tcase_add_test(tc, call_list_errors_pages_back);
  tcase_add_test(tc, call_list_errors_truncated);
  tcase_add_test(tc, call_list_errors_cap);
  tcase_add_test(tc, call_list_errors_error);
  tcase_add_test(tc, call_get_message);
  suite_add_tcase(s, tc);
  return s;
}
