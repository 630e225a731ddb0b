/* SPDX-License-Identifier: MIT */
/* Runscope answers about runs: results lists, run details, trigger answers.
 *
 * Read with json-c, through the envelope and item lists of rs_answers.c. */
#include "clients/rs_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* agent is a name, or (not seen, but cheap to accept) an object. */
static void copy_agent(json_object *o, char *dst, size_t size) {
  json_object *a = jsonx_obj(o, "agent");
  if (a == NULL)
    rs_copy_name(o, "agent", dst, size);
  else
    rs_copy_name(a, rs_pick(a, "name", rs_pick(a, "id", "uuid")), dst, size);
}

/* ---- runs ---- */

enum rs_result rs_result_parse(const char *s) {
  if (s == NULL)
    return RS_RESULT_UNFINISHED;
  if (strcasecmp(s, "pass") == 0)
    return RS_RESULT_PASS;
  if (strcasecmp(s, "fail") == 0)
    return RS_RESULT_FAIL;
  if (strcasecmp(s, "cancelled") == 0 || strcasecmp(s, "canceled") == 0)
    return RS_RESULT_CANCELLED;
  return RS_RESULT_UNFINISHED;
}

enum rs_result rs_run_result(const char *s, double finished_at) {
  enum rs_result r = rs_result_parse(s);
  if (r != RS_RESULT_UNFINISHED || finished_at <= 0 || s == NULL ||
      s[0] == '\0')
    return r;
  if (strcasecmp(s, "working") == 0 || strcasecmp(s, "queued") == 0 ||
      strcasecmp(s, "init") == 0)
    return r;
  return RS_RESULT_OTHER;
}

/* Reads a run's ids (with the naming drift of docs section 7.4). */
static int run_ids(json_object *o, const char *where, struct rs_run *r,
                   struct err *err) {
  int rc = jsonx_copy_id(o, rs_pick(o, "test_run_id", "test_run_uuid"),
                         r->test_run_id, sizeof(r->test_run_id), where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, rs_pick(o, "test_id", "test_uuid"), r->test_id,
                       sizeof(r->test_id), where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "bucket_key", r->bucket_key, sizeof(r->bucket_key),
                       where, err);
  if (rc == 0)
    rc =
        jsonx_copy_id(o, rs_pick(o, "environment_id", "environment_uuid"),
                      r->environment_id, sizeof(r->environment_id), where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "test_run_url", r->test_run_url,
                       sizeof(r->test_run_url), where, err);
  return rc;
}

static void run_counts(json_object *o, struct rs_run *r) {
  r->assertions_defined = (long)jsonx_int(o, "assertions_defined", 0);
  r->assertions_passed = (long)jsonx_int(o, "assertions_passed", 0);
  r->assertions_failed = (long)jsonx_int(o, "assertions_failed", 0);
  r->scripts_defined = (long)jsonx_int(o, "scripts_defined", 0);
  r->scripts_passed = (long)jsonx_int(o, "scripts_passed", 0);
  r->scripts_failed = (long)jsonx_int(o, "scripts_failed", 0);
  r->variables_defined = (long)jsonx_int(o, "variables_defined", 0);
  r->variables_passed = (long)jsonx_int(o, "variables_passed", 0);
  r->variables_failed = (long)jsonx_int(o, "variables_failed", 0);
  r->requests_executed = (long)jsonx_int(o, "requests_executed", 0);
}

/* Parses one results item into dst (struct rs_run). Returns 0, 1 when the
 * item is to be skipped (no test_run_id, no numeric started_at, not an
 * object), or -EPROTO. */
static int parse_run(json_object *o, const char *where, void *dst,
                     struct err *err) {
  struct rs_run *r = dst;
  memset(r, 0, sizeof(*r));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = run_ids(o, where, r, err);
  if (rc != 0)
    return rc;
  r->started_at = jsonx_num(o, "started_at", -1);
  if (r->test_run_id[0] == '\0' || r->started_at <= 0)
    return 1;
  r->finished_at = jsonx_num(o, "finished_at", 0);
  if (r->finished_at < 0)
    r->finished_at = 0;
  r->result = rs_run_result(jsonx_str(o, "result"), r->finished_at);
  rs_copy_name(o, "result", r->result_text, sizeof(r->result_text));
  rs_copy_name(o, "environment_name", r->environment_name,
               sizeof(r->environment_name));
  rs_copy_name(o, "region", r->region, sizeof(r->region));
  copy_agent(o, r->agent, sizeof(r->agent));
  run_counts(o, r);
  return 0;
}

static const struct rs_item_kind run_kind = {
    sizeof(struct rs_run), parse_run, "data", "runs", 0, NULL};

int rs_runs_data(json_object *data, void *items, struct err *err) {
  return rs_parse_items(data, &run_kind, items, err);
}

int rs_parse_runs(const char *body, size_t len, int max_depth,
                  struct rs_run **ret, size_t *ret_n, struct err *err) {
  void *v;
  int rc = rs_parse_list(body, len, max_depth, rs_runs_data, &v, ret_n, err);
  *ret = v;
  return rc;
}

/* ---- run detail ---- */

void rs_run_detail_reset(struct rs_run_detail *d) {
  memset(d, 0, sizeof(*d));
  d->agent_expired = -1;
}

void rs_run_detail_fini(struct rs_run_detail *d) {
  if (d == NULL)
    return;
  free(d->steps);
  rs_run_detail_reset(d);
}

/* Counts the items of o[key] (an array of {"result": ...}) into pass, fail
 * and total, unless o gives them as <what>_passed/_failed/_defined. */
static void step_counts(json_object *o, const char *what, long *pass,
                        long *fail, long *total) {
  char k[32];
  json_object *arr = jsonx_arr(o, what);
  size_t n = arr ? json_object_array_length(arr) : 0;
  long p = 0, f = 0;
  for (size_t i = 0; i < n; i++) {
    enum rs_result r =
        rs_result_parse(jsonx_str(json_object_array_get_idx(arr, i), "result"));
    p += r == RS_RESULT_PASS;
    f += r == RS_RESULT_FAIL;
  }
  snprintf(k, sizeof(k), "%s_passed", what);
  *pass = (long)jsonx_int(o, k, p);
  snprintf(k, sizeof(k), "%s_failed", what);
  *fail = (long)jsonx_int(o, k, f);
  snprintf(k, sizeof(k), "%s_defined", what);
  *total = (long)jsonx_int(o, k, (long long)n);
}

/* A number member that is not in the documented shape: -1 when absent. */
static long optional_count(json_object *o, const char *key) {
  long long v = jsonx_int(o, key, -1);
  return v < 0 || v > 0x7fffffffL ? -1 : (long)v;
}

/* Reads one item of requests[] into dst (struct rs_step): 0, or 1 to skip
 * an item that is not an object. */
static int parse_step(json_object *o, const char *where, void *dst,
                      struct err *err) {
  struct rs_step *s = dst;
  (void)where;
  (void)err;
  if (!json_object_is_type(o, json_type_object))
    return 1;
  memset(s, 0, sizeof(*s));
  rs_copy_name(o, "url", s->url, sizeof(s->url));
  rs_copy_name(o, "method", s->method, sizeof(s->method));
  rs_copy_name(o, "result", s->result, sizeof(s->result));
  rs_copy_name(o, "note", s->note, sizeof(s->note));
  rs_copy_name(o, "step_type", s->step_type, sizeof(s->step_type));
  step_counts(o, "assertions", &s->assertions_pass, &s->assertions_fail,
              &s->assertions_total);
  step_counts(o, "scripts", &s->scripts_pass, &s->scripts_fail,
              &s->scripts_total);
  step_counts(o, "variables", &s->variables_pass, &s->variables_fail,
              &s->variables_total);
  s->response_status_code = optional_count(o, "response_status_code");
  s->response_time_ms = optional_count(o, "response_time_ms");
  s->response_size_bytes = optional_count(o, "response_size_bytes");
  return 0;
}

static const struct rs_item_kind step_kind = {
    sizeof(struct rs_step), parse_step, "data.requests", "steps", 0, NULL};

/* Reads requests[] (absent or null: no steps). */
static int parse_steps(json_object *data, struct rs_run_detail *d,
                       struct err *err) {
  struct rs_items items;
  int rc = rs_parse_items(jsonx_arr(data, "requests"), &step_kind, &items, err);
  d->steps = items.v;
  d->n_steps = items.n;
  return rc;
}

static int parse_run_detail(json_object *data, struct rs_run_detail *d,
                            struct err *err) {
  int rc = parse_run(data, "data", &d->run, err);
  if (rc == 1) {
    err_set(err, "data is not a run: no test_run_id or started_at");
    rc = -EPROTO;
  }
  if (rc != 0)
    return rc;
  rs_copy_name(data, "test_name", d->test_name, sizeof(d->test_name));
  json_object *ae = NULL;
  if (json_object_object_get_ex(data, "agent_expired", &ae) &&
      json_object_is_type(ae, json_type_boolean))
    d->agent_expired = json_object_get_boolean(ae) ? 1 : 0;
  return parse_steps(data, d, err);
}

int rs_run_detail_data(json_object *data, void *detail, struct err *err) {
  int rc = parse_run_detail(data, detail, err);
  if (rc != 0)
    rs_run_detail_fini(detail);
  return rc;
}

int rs_parse_run_detail(const char *body, size_t len, int max_depth,
                        struct rs_run_detail *ret, struct err *err) {
  rs_run_detail_reset(ret);
  return rs_parse_body(body, len, max_depth, json_type_object,
                       rs_run_detail_data, ret, err);
}

/* ---- trigger answers ---- */

/* Parses one item of data.runs[] into dst (struct rs_started_run). Returns
 * 0, 1 to skip it (not an object, no test_run_id), or -EPROTO. */
static int parse_started(json_object *o, const char *where, void *dst,
                         struct err *err) {
  struct rs_started_run *r = dst;
  memset(r, 0, sizeof(*r));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = jsonx_copy_id(o, rs_pick(o, "test_run_id", "test_run_uuid"),
                         r->test_run_id, sizeof(r->test_run_id), where, err);
  if (rc == 0)
    rc =
        jsonx_copy_id(o, rs_pick(o, "environment_id", "environment_uuid"),
                      r->environment_id, sizeof(r->environment_id), where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "region", r->region, sizeof(r->region), where, err);
  if (rc != 0)
    return rc;
  copy_agent(o, r->agent, sizeof(r->agent));
  return r->test_run_id[0] == '\0' ? 1 : 0;
}

static const struct rs_item_kind started_kind = {sizeof(struct rs_started_run),
                                                 parse_started,
                                                 "data.runs",
                                                 "runs",
                                                 RS_STARTED_MAX,
                                                 NULL};

static int trigger_data(json_object *data, void *items, struct err *err) {
  json_object *runs = jsonx_arr(data, "runs");
  if (runs != NULL)
    return rs_parse_items(runs, &started_kind, items, err);
  err_set(err, "\"data\" has no \"runs\" array");
  return -EPROTO;
}

int rs_parse_trigger(const char *body, size_t len, int max_depth,
                     struct rs_started_run **ret, size_t *ret_n,
                     struct err *err) {
  struct rs_items items = {NULL, 0, 0};
  int rc = rs_parse_body(body, len, max_depth, json_type_object, trigger_data,
                         &items, err);
  *ret = items.v;
  *ret_n = items.n;
  return rc;
}
