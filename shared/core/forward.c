/* SPDX-License-Identifier: MIT */
/* Forward mode: Runscope's webhook payload built from polled runs, and the
 * per-test memory of what was delivered.
 *
 * The payload follows docs/runscope-api.md section 5 (the documentation
 * sample and a real Advanced Webhook payload): the same field names, the
 * same JSON types. Where the two disagree the documentation sample wins
 * (response_status_code is an integer). */
#include "core/forward.h"

#include "util/buf.h"

#include "util/array.h"
#include "util/jsonx.h"
#include "util/str.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the per-test state ---- */

void fwd_state_init(struct fwd_state *st) { memset(st, 0, sizeof(*st)); }

void fwd_state_fini(struct fwd_state *st) {
  free(st->tests);
  fwd_state_init(st);
}

/* Orders entries by test; the key is a struct rs_test_ref. */
static int test_cmp(const void *elem, const void *key) {
  const struct fwd_test *t = elem;
  const struct rs_test_ref *k = key;
  int d = strcmp(t->bucket_key, k->bucket_key);
  return d != 0 ? d : strcmp(t->test_id, k->test_id);
}

/* Where the test's entry is or would go; *found says whether it is. */
static size_t test_index(const struct fwd_state *st, const char *bucket_key,
                         const char *test_id, bool *found) {
  struct rs_test_ref k = {.bucket_key = bucket_key, .test_id = test_id};
  size_t i =
      array_lower_bound(st->tests, st->n, sizeof(st->tests[0]), test_cmp, &k);
  *found = i < st->n && test_cmp(&st->tests[i], &k) == 0;
  return i;
}

struct fwd_test *fwd_test_find(struct fwd_state *st, const char *bucket_key,
                               const char *test_id) {
  bool found;
  size_t i = test_index(st, bucket_key, test_id, &found);
  return found ? &st->tests[i] : NULL;
}

int fwd_test_get(struct fwd_state *st, const char *bucket_key,
                 const char *test_id, double through, struct fwd_test **ret) {
  struct fwd_test *t = fwd_test_find(st, bucket_key, test_id);
  if (t != NULL) {
    *ret = t;
    return 0;
  }
  struct fwd_test fresh;
  memset(&fresh, 0, sizeof(fresh));
  if (str_copy(fresh.bucket_key, sizeof(fresh.bucket_key), bucket_key) != 0 ||
      str_copy(fresh.test_id, sizeof(fresh.test_id), test_id) != 0)
    return -ENAMETOOLONG;
  fresh.through = through;
  if (array_reserve(&st->tests, &st->cap, st->n, sizeof(*st->tests), 16))
    return -ENOMEM;
  bool found;
  size_t i = test_index(st, bucket_key, test_id, &found);
  memmove(&st->tests[i + 1], &st->tests[i], (st->n - i) * sizeof(*st->tests));
  st->tests[i] = fresh;
  st->n++;
  *ret = &st->tests[i];
  return 0;
}

double fwd_since(const struct fwd_test *t) {
  return t->through - FWD_SINCE_MARGIN;
}

/* Compares a run with the cursor in the order runs are handled. */
static int cmp_cursor(const struct fwd_test *t, const struct rs_run *run) {
  if (run->started_at != t->through)
    return run->started_at < t->through ? -1 : 1;
  if (t->through_id[0] == '\0')
    return -1; /* the whole instant is handled */
  return strcmp(run->test_run_id, t->through_id);
}

static bool was_delivered(const struct fwd_test *t, const char *id) {
  for (size_t i = 0; i < t->n_delivered; i++)
    if (strcmp(t->delivered[i], id) == 0)
      return true;
  return false;
}

bool fwd_is_handled(const struct fwd_test *t, const struct rs_run *run) {
  return cmp_cursor(t, run) <= 0 || was_delivered(t, run->test_run_id);
}

void fwd_mark_sending(struct fwd_test *t, const char *test_run_id, double now) {
  str_copy(t->sending, sizeof(t->sending), test_run_id);
  t->sending_at = now;
}

void fwd_clear_sending(struct fwd_test *t) {
  t->sending[0] = '\0';
  t->sending_at = 0;
}

void fwd_mark_handled(struct fwd_test *t, const struct rs_run *run,
                      bool posted) {
  if (cmp_cursor(t, run) > 0) {
    t->through = run->started_at;
    str_copy(t->through_id, sizeof(t->through_id), run->test_run_id);
  }
  if (posted && !was_delivered(t, run->test_run_id)) {
    if (t->n_delivered == FWD_DELIVERED_MAX) {
      memmove(t->delivered[0], t->delivered[1],
              (FWD_DELIVERED_MAX - 1) * sizeof(t->delivered[0]));
      t->n_delivered--;
    }
    str_copy(t->delivered[t->n_delivered++], sizeof(t->delivered[0]),
             run->test_run_id);
  }
  if (strcmp(t->sending, run->test_run_id) == 0)
    fwd_clear_sending(t);
}

/* ---- the payload ---- */

/* Adds val (owned; NULL means out of memory) as o[key]. 0 or -ENOMEM. */
static int add(json_object *o, const char *key, json_object *val) {
  if (val == NULL)
    return -ENOMEM;
  if (json_object_object_add(o, key, val) != 0) {
    json_object_put(val);
    return -ENOMEM;
  }
  return 0;
}

/* Adds a JSON null. */
static int add_null(json_object *o, const char *key) {
  return json_object_object_add(o, key, NULL) == 0 ? 0 : -ENOMEM;
}

static int add_str(json_object *o, const char *key, const char *s) {
  return add(o, key, json_object_new_string(s ? s : ""));
}

/* A string, or null when it is empty. */
static int add_str_or_null(json_object *o, const char *key, const char *s) {
  return s != NULL && s[0] != '\0' ? add_str(o, key, s) : add_null(o, key);
}

/* A count, or null when it is negative (unknown). */
static int add_count_or_null(json_object *o, const char *key, long v) {
  return v >= 0 ? add(o, key, json_object_new_int64(v)) : add_null(o, key);
}

/* Unix seconds as a JSON float: the fewest digits that read back as the same
 * double, always with a fraction ("1384281308.0"), as Runscope sends them. */
static int add_time(json_object *o, const char *key, double t) {
  char s[64];
  if (!isfinite(t))
    return add_null(o, key);
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof(s), "%.*g", prec, t);
    if (strtod(s, NULL) == t)
      break;
  }
  for (char *p = s; *p != '\0'; p++)
    if (*p == ',') /* a locale with a decimal comma */
      *p = '.';
  if (strpbrk(s, ".eEn") == NULL)
    strncat(s, ".0", sizeof(s) - strlen(s) - 1);
  return add(o, key, json_object_new_double_s(t, s));
}

static int add_link(json_object *o, const char *key, const struct fwd_run *in,
                    const char *run_id) {
  char url[RS_URL_MAX * 2];
  const char *dash = in->dashboard_url ? in->dashboard_url : "";
  size_t n = strlen(dash);
  while (n > 0 && dash[n - 1] == '/')
    n--;
  int w = snprintf(url, sizeof(url), "%.*s/radar/%s/%s%s%s", (int)n, dash,
                   in->bucket_key ? in->bucket_key : "",
                   in->test_id ? in->test_id : "", run_id ? "/results/" : "",
                   run_id ? run_id : "");
  if (w < 0 || (size_t)w >= sizeof(url))
    return -EMSGSIZE;
  return add_str(o, key, url);
}

/* {"pass": p, "fail": f, "total": t} */
static json_object *counts(long pass, long fail, long total) {
  json_object *c = json_object_new_object();
  if (c == NULL)
    return NULL;
  if (add(c, "pass", json_object_new_int64(pass)) ||
      add(c, "fail", json_object_new_int64(fail)) ||
      add(c, "total", json_object_new_int64(total))) {
    json_object_put(c);
    return NULL;
  }
  return c;
}

static json_object *step_json(const struct rs_step *s) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  if (add_str(o, "url", s->url) || add_str(o, "method", s->method) ||
      add_str(o, "result", s->result) || add_str(o, "note", s->note) ||
      add_str(o, "step_type", s->step_type[0] ? s->step_type : "request") ||
      add_count_or_null(o, "response_status_code", s->response_status_code) ||
      add_count_or_null(o, "response_time_ms", s->response_time_ms) ||
      add_count_or_null(o, "response_size_bytes", s->response_size_bytes) ||
      add(o, "assertions",
          counts(s->assertions_pass, s->assertions_fail,
                 s->assertions_total)) ||
      add(o, "scripts",
          counts(s->scripts_pass, s->scripts_fail, s->scripts_total)) ||
      add(o, "variables",
          counts(s->variables_pass, s->variables_fail, s->variables_total))) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static int add_requests(json_object *o, const struct fwd_run *in) {
  json_object *a = json_object_new_array();
  int rc = add(o, "requests", a);
  for (size_t i = 0; rc == 0 && i < in->n_steps; i++) {
    json_object *s = step_json(&in->steps[i]);
    if (s == NULL || json_object_array_add(a, s) != 0) {
      json_object_put(s);
      rc = -ENOMEM;
    }
  }
  return rc;
}

/* The result a payload carries: one Runscope does not document goes as it
 * was given. NULL for a run not finished. */
static const char *result_text(const struct rs_run *r) {
  switch (r->result) {
  case RS_RESULT_PASS:
    return "pass";
  case RS_RESULT_FAIL:
    return "fail";
  case RS_RESULT_CANCELLED:
    return "cancelled";
  case RS_RESULT_OTHER:
    return r->result_text[0] ? r->result_text : NULL;
  default:
    return NULL;
  }
}

/* The test, bucket, team and environment. */
static int add_names(json_object *o, const struct fwd_run *in) {
  const struct rs_run *r = in->run;
  const char *env = in->environment_id && in->environment_id[0]
                        ? in->environment_id
                        : r->environment_id;
  const char *env_name = in->environment_name && in->environment_name[0]
                             ? in->environment_name
                             : r->environment_name;
  if (add_str(o, "test_id", in->test_id) ||
      add_str(o, "test_name", in->test_name) ||
      add_str(o, "test_run_id", r->test_run_id) ||
      add_str(o, "team_id", in->team_id) ||
      add_str(o, "team_name", in->team_name) ||
      add_str(o, "environment_uuid", env) ||
      add_str(o, "environment_name", env_name) ||
      add_str(o, "bucket_name", in->bucket_name) ||
      add_str(o, "bucket_key", in->bucket_key))
    return -ENOMEM;
  int rc = add_link(o, "test_url", in, NULL);
  if (rc == 0)
    rc = add_link(o, "test_run_url", in, r->test_run_id);
  if (rc == 0)
    rc = add_str(o, "trigger_url", in->trigger_url);
  return rc;
}

/* The result, the times and the location. */
static int add_outcome(json_object *o, const struct fwd_run *in) {
  const struct rs_run *r = in->run;
  bool has_region = r->region[0] != '\0';
  if (add_str(o, "result", result_text(r)) ||
      add_time(o, "started_at", r->started_at) ||
      add_time(o, "finished_at", r->finished_at) ||
      add_str_or_null(o, "agent", r->agent) ||
      (in->agent_expired < 0
           ? add_null(o, "agent_expired")
           : add(o, "agent_expired",
                 json_object_new_boolean(in->agent_expired != 0))) ||
      add_str_or_null(o, "region", r->region) ||
      (has_region ? add_str(o, "region_name", "")
                  : add_null(o, "region_name")) ||
      add(o, "initial_variables", json_object_new_object()) ||
      add(o, "variables", json_object_new_object()))
    return -ENOMEM;
  return 0;
}

int fwd_build_payload(const struct fwd_run *in, struct buf *out) {
  if (in == NULL || in->run == NULL || result_text(in->run) == NULL)
    return -EINVAL;
  json_object *o = json_object_new_object();
  if (o == NULL)
    return -ENOMEM;
  int rc = add_names(o, in);
  if (rc == 0)
    rc = add_outcome(o, in);
  if (rc == 0)
    rc = add_requests(o, in);
  if (rc == 0) {
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = s == NULL ? -ENOMEM : buf_puts(out, s);
  }
  json_object_put(o);
  return rc;
}
