/* SPDX-License-Identifier: MIT */
/* Unit tests of forward mode's pure part: the webhook payload, compared
 * field by field with Runscope's documented webhook sample, and the
 * per-test delivery memory.
 *
 * Fixtures: webhook_sample.json is the documentation sample of
 * docs/runscope-api.md 5.2; webhook_real_fail.json the real Advanced Webhook
 * payload of 5.1; runscope_run_detail_webhook.json a run detail in the shape
 * of 3.7 whose values are those of the sample's run, as the plugin would
 * read it from the API. */
#include "core/forward.h"

#include "clients/runscope.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/jsonx.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DEPTH 64

static json_object *parse_fixture(const char *name) {
  size_t len;
  char *text = fixture(name, &len);
  json_object *o = NULL;
  struct err err;
  ck_assert_msg(jsonx_parse(text, len, DEPTH, &o, &err) == 0, "%s: %s", name,
                err.msg);
  free(text);
  return o;
}

static json_object *parse_text(const char *text) {
  json_object *o = NULL;
  struct err err;
  ck_assert_msg(jsonx_parse(text, strlen(text), DEPTH, &o, &err) == 0, "%s: %s",
                err.msg, text);
  return o;
}

static json_object *member(json_object *o, const char *key) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member \"%s\"", key);
  return v;
}

/* ---- the payload of the documented sample's run ---- */

/* The catalog's side of the sample: what the plugin knows of the bucket,
 * its team and the test from the API (bucket detail, test detail). */
static struct fwd_run sample_input(const struct rs_run_detail *d) {
  struct fwd_run in = {
      .run = &d->run,
      .bucket_key = "9qsmzjocnsyj",
      .bucket_name = "Rocket Sled",
      .team_id = "6b9c7f65-9e11-4f77-85ad-e6ee7a28232d",
      .team_name = "Acme Inc.",
      .test_id = "76598752-cbda-4e1d-820f-6274a62f74ff",
      .test_name = "Buckets Test",
      .trigger_url = "https://api.runscope.com/radar/"
                     "09039249-fdfd-4e1d-820f-6274a62f74ff/trigger",
      .environment_id = d->run.environment_id,
      .environment_name = "Staging Settings",
      .dashboard_url = "https://www.runscope.com",
      .agent_expired = d->agent_expired,
      .steps = d->steps,
      .n_steps = d->n_steps,
  };
  return in;
}

/* Builds the payload for the sample's run from the run-detail fixture. */
static json_object *sample_payload(char **ret_text) {
  size_t len;
  char *body = fixture("runscope_run_detail_webhook.json", &len);
  struct rs_run_detail d;
  struct err err;
  ck_assert_msg(rs_parse_run_detail(body, len, DEPTH, &d, &err) == 0, "%s",
                err.msg);
  struct fwd_run in = sample_input(&d);
  struct buf out;
  buf_init(&out, 1 << 20);
  ck_assert_int_eq(fwd_build_payload(&in, &out), 0);
  json_object *o = parse_text(out.data);
  if (ret_text != NULL)
    *ret_text = buf_detach(&out);
  buf_fini(&out);
  rs_run_detail_fini(&d);
  free(body);
  return o;
}

enum expect {
  SAME,       /* the sample's value, type included */
  EMPTY_STR,  /* "": the polled API has no such value */
  EMPTY_OBJ,  /* {}: the polled API has no such value */
  NULL_VALUE, /* null: the polled API has no such value */
};

struct field {
  const char *name;
  enum expect expect;
};

/* Every field of the documentation sample, and what the plugin sends. */
static const struct field top_fields[] = {
    {"variables", EMPTY_OBJ},
    {"test_id", SAME},
    {"test_name", SAME},
    {"test_run_id", SAME},
    {"team_id", SAME},
    {"team_name", SAME},
    {"environment_uuid", SAME},
    {"environment_name", SAME},
    {"bucket_name", SAME},
    {"bucket_key", SAME},
    {"test_url", SAME},
    {"test_run_url", SAME},
    {"trigger_url", SAME},
    {"result", SAME},
    {"started_at", SAME},
    {"finished_at", SAME},
    {"agent", SAME},
    {"region", SAME},
    {"region_name", EMPTY_STR},
    {"initial_variables", SAME},
    {"requests", SAME}, /* its length; the items: step_fields */
};

static const struct field step_fields[] = {
    {"url", SAME},
    {"variables", SAME},
    {"assertions", SAME},
    {"scripts", SAME},
    {"result", SAME},
    {"method", SAME},
    {"response_time_ms", NULL_VALUE},
    {"response_size_bytes", NULL_VALUE},
    {"response_status_code", NULL_VALUE},
    {"note", EMPTY_STR},
};

static void check_field(json_object *want_obj, json_object *got_obj,
                        const struct field *f, const char *where) {
  json_object *want = member(want_obj, f->name);
  json_object *got = NULL;
  ck_assert_msg(json_object_object_get_ex(got_obj, f->name, &got),
                "%s%s is missing", where, f->name);
  const char *w = json_object_to_json_string(want);
  const char *g = json_object_to_json_string(got);
  switch (f->expect) {
  case SAME:
    if (json_object_is_type(want, json_type_array)) {
      ck_assert_msg(json_object_is_type(got, json_type_array),
                    "%s%s: %s is not an array", where, f->name, g);
      ck_assert_uint_eq(json_object_array_length(got),
                        json_object_array_length(want));
    } else {
      ck_assert_msg(json_object_equal(want, got), "%s%s: want %s, got %s",
                    where, f->name, w, g);
    }
    break;
  case EMPTY_STR:
    ck_assert_msg(json_object_is_type(got, json_type_string) &&
                      json_object_get_string_len(got) == 0,
                  "%s%s: want \"\", got %s", where, f->name, g);
    break;
  case EMPTY_OBJ:
    ck_assert_msg(json_object_is_type(got, json_type_object) &&
                      json_object_object_length(got) == 0,
                  "%s%s: want {}, got %s", where, f->name, g);
    break;
  case NULL_VALUE:
    ck_assert_msg(got == NULL, "%s%s: want null, got %s", where, f->name, g);
    break;
  }
}

START_TEST(sample_top_field) {
  json_object *want = parse_fixture("webhook_sample.json");
  json_object *got = sample_payload(NULL);
  check_field(want, got, &top_fields[_i], "");
  json_object_put(want);
  json_object_put(got);
}
END_TEST

START_TEST(sample_step_field) {
  json_object *want = parse_fixture("webhook_sample.json");
  json_object *got = sample_payload(NULL);
  json_object *ws = json_object_array_get_idx(member(want, "requests"), 0);
  json_object *gs = json_object_array_get_idx(member(got, "requests"), 0);
  ck_assert_ptr_nonnull(gs);
  check_field(ws, gs, &step_fields[_i], "requests[0].");
  json_object_put(want);
  json_object_put(got);
}
END_TEST

/* The tables above cover every field of the sample, and the payload has no
 * field that neither the sample nor Runscope's real payload has. */
START_TEST(sample_field_sets) {
  json_object *sample = parse_fixture("webhook_sample.json");
  json_object *real = parse_fixture("webhook_real_fail.json");
  json_object *got = sample_payload(NULL);
  ck_assert_int_eq(json_object_object_length(sample), N(top_fields));
  json_object_object_foreach(got, key, val) {
    (void)val;
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(sample, key, &v) ||
                      json_object_object_get_ex(real, key, &v),
                  "\"%s\" is in no Runscope payload", key);
  }
  json_object *ss = json_object_array_get_idx(member(sample, "requests"), 0);
  json_object *rs = json_object_array_get_idx(member(real, "requests"), 0);
  json_object *gs = json_object_array_get_idx(member(got, "requests"), 0);
  ck_assert_int_eq(json_object_object_length(ss), N(step_fields));
  json_object_object_foreach(gs, skey, sval) {
    (void)sval;
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(ss, skey, &v) ||
                      json_object_object_get_ex(rs, skey, &v),
                  "requests[].\"%s\" is in no Runscope payload", skey);
  }
  /* the two fields only real payloads carry */
  ck_assert_ptr_null(member(got, "agent_expired"));
  ck_assert_str_eq(json_object_get_string(member(gs, "step_type")), "request");
  json_object_put(sample);
  json_object_put(real);
  json_object_put(got);
}
END_TEST

/* Times are JSON floats that read back as the very same double, and the
 * links need no slash escaping. */
START_TEST(sample_text) {
  char *text = NULL;
  json_object *got = sample_payload(&text);
  ck_assert(json_object_is_type(member(got, "started_at"), json_type_double));
  ck_assert(json_object_is_type(member(got, "finished_at"), json_type_double));
  /* the sample's 1384281308.5480771 is this double, written shortest */
  ck_assert_ptr_nonnull(strstr(text, "\"started_at\":1384281308.548077,"));
  ck_assert_ptr_nonnull(strstr(text, "\"finished_at\":1384281310.680218,"));
  ck_assert_ptr_nonnull(strstr(text, "\"test_url\":\"https://www.runscope.com/"
                                     "radar/9qsmzjocnsyj/"));
  free(text);
  json_object_put(got);
}
END_TEST

/* ---- other shapes ---- */

static struct rs_run make_run(const char *id, enum rs_result result,
                              double started, double finished) {
  struct rs_run r;
  memset(&r, 0, sizeof(r));
  snprintf(r.test_run_id, sizeof(r.test_run_id), "%s", id);
  snprintf(r.environment_id, sizeof(r.environment_id), "env-1");
  snprintf(r.environment_name, sizeof(r.environment_name), "Production");
  r.result = result;
  r.started_at = started;
  r.finished_at = finished;
  return r;
}

static json_object *build(const struct fwd_run *in, char **ret_text) {
  struct buf out;
  buf_init(&out, 1 << 20);
  ck_assert_int_eq(fwd_build_payload(in, &out), 0);
  json_object *o = parse_text(out.data);
  if (ret_text != NULL)
    *ret_text = buf_detach(&out);
  buf_fini(&out);
  return o;
}

static const char *str_of(json_object *o, const char *key) {
  json_object *v = member(o, key);
  ck_assert_msg(json_object_is_type(v, json_type_string), "%s is %s", key,
                json_object_to_json_string(v));
  return json_object_get_string(v);
}

/* A private agent: agent set, region and region_name null; a whole-second
 * time is still a float; no steps: requests is []. */
START_TEST(agent_run) {
  struct rs_run r = make_run("run-1", RS_RESULT_PASS, 1700000000, 1700000002);
  snprintf(r.agent, sizeof(r.agent), "box-7");
  struct fwd_run in = {.run = &r,
                       .bucket_key = "b",
                       .test_id = "t",
                       .dashboard_url = "https://dash.example/",
                       .agent_expired = 0};
  char *text = NULL;
  json_object *o = build(&in, &text);
  ck_assert_str_eq(str_of(o, "agent"), "box-7");
  ck_assert_ptr_null(member(o, "region"));
  ck_assert_ptr_null(member(o, "region_name"));
  ck_assert(json_object_is_type(member(o, "agent_expired"), json_type_boolean));
  ck_assert_str_eq(str_of(o, "result"), "pass");
  ck_assert_ptr_nonnull(strstr(text, "\"started_at\":1700000000.0,"));
  ck_assert(json_object_is_type(member(o, "started_at"), json_type_double));
  ck_assert_uint_eq(json_object_array_length(member(o, "requests")), 0);
  /* the environment comes from the run when the caller gives none */
  ck_assert_str_eq(str_of(o, "environment_uuid"), "env-1");
  ck_assert_str_eq(str_of(o, "environment_name"), "Production");
  /* a trailing slash of DashboardURL is not doubled */
  ck_assert_str_eq(str_of(o, "test_url"), "https://dash.example/radar/b/t");
  ck_assert_str_eq(str_of(o, "test_run_url"),
                   "https://dash.example/radar/b/t/results/run-1");
  /* absent strings are "" (not null) */
  ck_assert_str_eq(str_of(o, "team_id"), "");
  ck_assert_str_eq(str_of(o, "trigger_url"), "");
  free(text);
  json_object_put(o);
}
END_TEST

/* Names with quotes, backslashes and non-ASCII text survive. */
START_TEST(escaping) {
  struct rs_run r = make_run("run-2", RS_RESULT_FAIL, 1700000000.5, 0);
  struct fwd_run in = {.run = &r,
                       .test_name = "Say \"hi\" \\ caf\xc3\xa9",
                       .bucket_name = "a/b",
                       .agent_expired = -1};
  json_object *o = build(&in, NULL);
  ck_assert_str_eq(str_of(o, "test_name"), "Say \"hi\" \\ caf\xc3\xa9");
  ck_assert_str_eq(str_of(o, "bucket_name"), "a/b");
  ck_assert_ptr_null(member(o, "agent_expired"));
  json_object_put(o);
}
END_TEST

/* A step with every number known keeps them; unknown ones are null. */
START_TEST(step_numbers) {
  struct rs_run r = make_run("run-3", RS_RESULT_FAIL, 1700000000.25, 1.7e9 + 1);
  struct rs_step s[2];
  memset(s, 0, sizeof(s));
  snprintf(s[0].url, sizeof(s[0].url), "https://x.example/");
  s[0].response_status_code = 503;
  s[0].response_time_ms = 1006;
  s[0].response_size_bytes = 511;
  s[0].assertions_fail = 1;
  s[0].assertions_total = 1;
  snprintf(s[0].step_type, sizeof(s[0].step_type), "pause");
  s[1].response_status_code = -1;
  s[1].response_time_ms = -1;
  s[1].response_size_bytes = -1;
  struct fwd_run in = {
      .run = &r, .steps = s, .n_steps = 2, .agent_expired = -1};
  json_object *o = build(&in, NULL);
  json_object *a = member(o, "requests");
  ck_assert_uint_eq(json_object_array_length(a), 2);
  json_object *s0 = json_object_array_get_idx(a, 0);
  ck_assert_int_eq(json_object_get_int(member(s0, "response_status_code")),
                   503);
  ck_assert(
      json_object_is_type(member(s0, "response_status_code"), json_type_int));
  ck_assert_int_eq(json_object_get_int(member(s0, "response_time_ms")), 1006);
  ck_assert_int_eq(json_object_get_int(member(s0, "response_size_bytes")), 511);
  ck_assert_str_eq(str_of(s0, "step_type"), "pause");
  json_object *c = member(s0, "assertions");
  ck_assert_int_eq(json_object_get_int(member(c, "fail")), 1);
  ck_assert_int_eq(json_object_get_int(member(c, "pass")), 0);
  ck_assert_int_eq(json_object_get_int(member(c, "total")), 1);
  json_object *s1 = json_object_array_get_idx(a, 1);
  ck_assert_ptr_null(member(s1, "response_status_code"));
  ck_assert_ptr_null(member(s1, "response_time_ms"));
  ck_assert_str_eq(str_of(s1, "step_type"), "request");
  json_object_put(o);
}
END_TEST

static const struct {
  enum rs_result result;
  const char *text; /* NULL: refused */
} results[] = {
    {RS_RESULT_PASS, "pass"},
    {RS_RESULT_FAIL, "fail"},
    {RS_RESULT_CANCELLED, "cancelled"},
    {RS_RESULT_UNFINISHED, NULL},
};

START_TEST(result_values) {
  struct rs_run r = make_run("run-4", results[_i].result, 1.7e9, 1.7e9 + 1);
  struct fwd_run in = {.run = &r, .agent_expired = -1};
  struct buf out;
  buf_init(&out, 1 << 20);
  if (results[_i].text == NULL) {
    ck_assert_int_eq(fwd_build_payload(&in, &out), -EINVAL);
    ck_assert_uint_eq(out.len, 0);
  } else {
    ck_assert_int_eq(fwd_build_payload(&in, &out), 0);
    json_object *o = parse_text(out.data);
    ck_assert_str_eq(str_of(o, "result"), results[_i].text);
    json_object_put(o);
  }
  buf_fini(&out);
}
END_TEST

/* A run that finished with an odd result goes as Runscope said it. */
START_TEST(odd_result_forwarded) {
  size_t n;
  struct rs_run *r = parse_odd(&n);
  struct fwd_run in = {.run = &r[0], .agent_expired = -1};
  struct buf out;
  buf_init(&out, 1 << 20);
  ck_assert_int_eq(fwd_build_payload(&in, &out), 0);
  json_object *o = parse_text(out.data);
  ck_assert_str_eq(str_of(o, "result"), "error");
  json_object_put(o);
  buf_fini(&out);
  free(r);
}
END_TEST

START_TEST(refusals) {
  struct buf out;
  buf_init(&out, 16); /* too small: out stays unchanged */
  struct rs_run r = make_run("run-5", RS_RESULT_PASS, 1.7e9, 1.7e9 + 1);
  struct fwd_run in = {.run = &r, .agent_expired = -1};
  ck_assert_int_eq(fwd_build_payload(&in, &out), -EMSGSIZE);
  ck_assert_uint_eq(out.len, 0);
  ck_assert_int_eq(fwd_build_payload(NULL, &out), -EINVAL);
  struct fwd_run none = {.run = NULL};
  ck_assert_int_eq(fwd_build_payload(&none, &out), -EINVAL);
  buf_fini(&out);
}
END_TEST

/* ---- the per-test memory ---- */

START_TEST(state_sorted) {
  struct fwd_state st;
  struct fwd_test *t;
  fwd_state_init(&st);
  const char *order[][2] = {{"b", "t2"}, {"a", "z"}, {"b", "t1"}, {"a", "a"}};
  for (int i = 0; i < N(order); i++)
    ck_assert_int_eq(fwd_test_get(&st, order[i][0], order[i][1], i, &t), 0);
  for (int i = 0; i < 40; i++) { /* grows past the first allocation */
    char id[16];
    snprintf(id, sizeof(id), "x%02d", i);
    ck_assert_int_eq(fwd_test_get(&st, "c", id, 0, &t), 0);
  }
  ck_assert_uint_eq(st.n, 44);
  ck_assert_str_eq(st.tests[0].test_id, "a");
  ck_assert_str_eq(st.tests[1].test_id, "z");
  ck_assert_str_eq(st.tests[2].test_id, "t1");
  ck_assert_str_eq(st.tests[3].test_id, "t2");
  ck_assert_str_eq(st.tests[43].test_id, "x39");
  t = fwd_test_find(&st, "b", "t1");
  ck_assert_ptr_eq(t, &st.tests[2]);
  ck_assert_double_eq(t->through, 2); /* the time it was created with */
  /* an existing entry keeps its cursor */
  ck_assert_int_eq(fwd_test_get(&st, "b", "t1", 99, &t), 0);
  ck_assert_double_eq(t->through, 2);
  ck_assert_ptr_null(fwd_test_find(&st, "b", "t3"));
  char longid[RS_ID_MAX + 1];
  memset(longid, 'x', RS_ID_MAX);
  longid[RS_ID_MAX] = '\0';
  ck_assert_int_eq(fwd_test_get(&st, "b", longid, 0, &t), -ENAMETOOLONG);
  ck_assert_uint_eq(st.n, 44);
  fwd_state_fini(&st);
  ck_assert_ptr_null(st.tests);
  ck_assert_uint_eq(st.n, 0);
  fwd_state_fini(&st);
}
END_TEST

/* A cursor made from a time covers every run at that instant; a cursor at a
 * run orders the runs of the same instant by id. */
START_TEST(cursor_order) {
  struct fwd_state st;
  struct fwd_test *t;
  fwd_state_init(&st);
  ck_assert_int_eq(fwd_test_get(&st, "b", "t", 100, &t), 0);
  struct rs_run before = make_run("m", RS_RESULT_PASS, 99.5, 101);
  struct rs_run at_b = make_run("b", RS_RESULT_PASS, 100, 101);
  struct rs_run at_c = make_run("c", RS_RESULT_PASS, 100, 101);
  struct rs_run at_d = make_run("d", RS_RESULT_FAIL, 100, 101);
  struct rs_run after = make_run("a", RS_RESULT_FAIL, 100.000001, 101);
  ck_assert(fwd_is_handled(t, &before));
  ck_assert(fwd_is_handled(t, &at_c));
  ck_assert(!fwd_is_handled(t, &after));
  ck_assert_double_eq_tol(fwd_since(t), 100 - FWD_SINCE_MARGIN, 1e-9);

  t->through_id[0] = '\0';
  t->through = 90;
  fwd_mark_handled(t, &at_c, true);
  ck_assert_double_eq(t->through, 100);
  ck_assert_str_eq(t->through_id, "c");
  ck_assert(fwd_is_handled(t, &at_b)); /* same instant, smaller id */
  ck_assert(fwd_is_handled(t, &at_c));
  ck_assert(!fwd_is_handled(t, &at_d)); /* same instant, larger id */
  ck_assert(!fwd_is_handled(t, &after));
  /* the cursor never moves back */
  fwd_mark_handled(t, &before, false);
  ck_assert_str_eq(t->through_id, "c");
  ck_assert_double_eq(t->through, 100);
  /* a posted run stays known even when its start time changes */
  at_c.started_at = 200;
  ck_assert(fwd_is_handled(t, &at_c));
  /* a run passed over (not posted) does not join the delivered ids */
  fwd_mark_handled(t, &after, false);
  ck_assert_uint_eq(t->n_delivered, 1);
  ck_assert_str_eq(t->through_id, "a");
  fwd_state_fini(&st);
}
END_TEST

START_TEST(delivered_ring) {
  struct fwd_state st;
  struct fwd_test *t;
  fwd_state_init(&st);
  ck_assert_int_eq(fwd_test_get(&st, "b", "t", 0, &t), 0);
  for (int i = 0; i < FWD_DELIVERED_MAX + 3; i++) {
    char id[16];
    snprintf(id, sizeof(id), "r%02d", i);
    struct rs_run r = make_run(id, RS_RESULT_PASS, 10 + i, 11 + i);
    fwd_mark_handled(t, &r, true);
    fwd_mark_handled(t, &r, true); /* twice: stored once */
  }
  ck_assert_uint_eq(t->n_delivered, FWD_DELIVERED_MAX);
  ck_assert_str_eq(t->delivered[0], "r03"); /* the oldest three dropped */
  ck_assert_str_eq(t->delivered[FWD_DELIVERED_MAX - 1], "r18");
  fwd_state_fini(&st);
}
END_TEST

START_TEST(sending_mark) {
  struct fwd_state st;
  struct fwd_test *t;
  fwd_state_init(&st);
  ck_assert_int_eq(fwd_test_get(&st, "b", "t", 0, &t), 0);
  fwd_mark_sending(t, "r1", 1700000000.5);
  ck_assert_str_eq(t->sending, "r1");
  ck_assert_double_eq(t->sending_at, 1700000000.5);
  struct rs_run other = make_run("r0", RS_RESULT_PASS, 5, 6);
  fwd_mark_handled(t, &other, true); /* another run: the mark stays */
  ck_assert_str_eq(t->sending, "r1");
  struct rs_run r1 = make_run("r1", RS_RESULT_PASS, 7, 8);
  fwd_mark_handled(t, &r1, true);
  ck_assert_str_eq(t->sending, "");
  ck_assert_double_eq(t->sending_at, 0);
  fwd_mark_sending(t, "r2", 9);
  fwd_clear_sending(t);
  ck_assert_str_eq(t->sending, "");
  fwd_state_fini(&st);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("forward");
  TCase *tc = tcase_create("payload_sample");
  tcase_add_loop_test(tc, sample_top_field, 0, N(top_fields));
  tcase_add_loop_test(tc, sample_step_field, 0, N(step_fields));
  tcase_add_test(tc, sample_field_sets);
  tcase_add_test(tc, sample_text);
  suite_add_tcase(s, tc);

  tc = tcase_create("payload_shapes");
  tcase_add_test(tc, agent_run);
  tcase_add_test(tc, escaping);
  tcase_add_test(tc, step_numbers);
  tcase_add_loop_test(tc, result_values, 0, N(results));
  tcase_add_test(tc, refusals);
  tcase_add_test(tc, odd_result_forwarded);
  suite_add_tcase(s, tc);

  tc = tcase_create("delivery_memory");
  tcase_add_test(tc, state_sorted);
  tcase_add_test(tc, cursor_order);
  tcase_add_test(tc, delivered_ring);
  tcase_add_test(tc, sending_mark);
  suite_add_tcase(s, tc);
  return s;
}
