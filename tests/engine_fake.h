/* SPDX-License-Identifier: MIT */
/* A scripted Runscope and xMatters behind the engine's transport seam: routes
 * by method and path, answers in the documented shapes, records every
 * request, and fails a request when told to. */
#ifndef RUNSCOPE_ENGINE_FAKE_H
#define RUNSCOPE_ENGINE_FAKE_H

#include "transport/http.h"
#include "util/buf.h"
#include "util/err.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EF_RS_BASE "http://127.0.0.1:1"
#define EF_XM_BASE "http://127.0.0.1:2"
#define EF_TOKEN "rs-token-5f2c"
#define EF_XM_USER "runscope"
#define EF_XM_PASSWORD "xm-password-9d1e"
#define EF_API_KEY "api-key-77b3"
#define EF_TRIGGER_PATH "/api/integration/1/functions/fn-1/triggers"
#define EF_TRIGGER_URL EF_XM_BASE EF_TRIGGER_PATH "?apiKey=" EF_API_KEY
#define EF_EVENTS_PATH "/api/xm/1/events"
#define EF_BUCKET "bkt1"
#define EF_BUCKET_NAME "Checkout team"
#define EF_KEY_PROPERTY "runscope_key"
/* The trigger URL of every test's detail, unless the test gives its own. */
#define EF_RS_TRIGGER_URL EF_RS_BASE "/radar/trigger-1/trigger"

#define EF_ID_MAX 64
#define EF_KEY_MAX 256
#define EF_TESTS_MAX 4
#define EF_RUNS_MAX 128
#define EF_EVENTS_MAX 32
#define EF_FAULTS_MAX 8
#define EF_SEGS_MAX 6

/* What a request asks for. */
enum ef_route {
  EF_UNKNOWN,
  EF_BUCKETS,    /* GET /buckets */
  EF_BUCKET_GET, /* GET /buckets/{key} */
  EF_TESTS,      /* GET /buckets/{key}/tests?count&offset */
  EF_TEST,       /* GET /buckets/{key}/tests/{id} */
  EF_RESULTS,    /* GET /buckets/{key}/tests/{id}/results?since&count */
  EF_RS_TRIGGER, /* POST a test's trigger URL (/radar/{id}/trigger) */
  EF_TRIGGER,    /* POST the Test Results trigger URL */
  EF_EVENTS,     /* GET /api/xm/1/events?... */
  EF_EVENT,      /* GET /api/xm/1/events/{id} */
  EF_STATUS,     /* POST /api/xm/1/events {"id","status"} */
  EF_DELIVERIES, /* GET /api/xm/1/events/{id}/user-deliveries */
};

static inline bool ef_is_xmatters(enum ef_route r) { return r >= EF_TRIGGER; }

/* How one test's own answers may be broken, whatever the others do. */
enum ef_bad {
  EF_GOOD,
  EF_MALFORMED,   /* 200 with a cut, invalid JSON body */
  EF_WRONG_TYPES, /* 200 whose "data" is an object where a list belongs */
  EF_NOT_FOUND,   /* 404 in Runscope's error envelope */
  EF_OVERSIZE,    /* an answer over the cap: the transport's -EMSGSIZE */
};

struct ef_test {
  char id[EF_ID_MAX], name[EF_ID_MAX];
  char env[EF_ID_MAX], env_name[EF_ID_MAX]; /* its one environment */
  char trigger_url[EF_KEY_MAX];        /* its detail's; "": EF_RS_TRIGGER_URL */
  enum ef_bad results_bad, detail_bad; /* how its answers are broken */
  bool no_last_run; /* its tests list item has no last_run member */
};

struct ef_run {
  size_t test; /* index into tests */
  char id[EF_ID_MAX];
  char region[EF_ID_MAX];
  char result[16];                /* "pass", "fail", "working", "cancelled" */
  double started_at, finished_at; /* finished_at 0: unfinished */
};

struct ef_event {
  char id[EF_ID_MAX], request_id[EF_ID_MAX];
  char key[EF_KEY_MAX]; /* its runscope_key property */
  char status[16];      /* ACTIVE, SUSPENDED, TERMINATED */
  double visible_at;    /* the REST API shows it from then on */
  /* One person's response, as user-deliveries shows it ("": none). */
  char resp_user[EF_KEY_MAX], resp_text[EF_ID_MAX];
  double resp_at;
};

/* A request to fail: the next `times` requests of route. rc != 0 is a
 * transport error (after the server acted on the request when acted);
 * otherwise the answer is status, with an error body and Retry-After
 * (seconds, -1 for none), or, when acted, status with a body that is not
 * JSON after the server acted (a gateway's 502, or a proxy's 200). */
struct ef_fault {
  enum ef_route route;
  int rc;
  long status;
  bool acted;
  double retry_after;
  int times;
};

/* A recorded request. subject is what it is about: the bucket or test of a
 * Runscope call, the key of a trigger or of an events lookup
 * (propertyValue), the requestId of a lookup by request, the event of an
 * event call. */
struct ef_req {
  enum ef_route route;
  bool xmatters; /* sent to the xMatters server */
  char method[8];
  char subject[EF_KEY_MAX];
  char *url, *body; /* owned */
  double at;        /* the engine's time of the cycle */
  int rc;           /* what the transport returned */
  long status;      /* the answer's status, 0 for none */
};

struct efake {
  double now;              /* the engine's time of the cycle, set by the test */
  double mono;             /* the HTTP clients' monotonic clock */
  double visibility_delay; /* a new event shows up after this */
  struct ef_test tests[EF_TESTS_MAX];
  size_t n_tests;
  struct ef_run runs[EF_RUNS_MAX];
  size_t n_runs;
  struct ef_event events[EF_EVENTS_MAX];
  size_t n_events;
  int next_id;
  struct ef_fault faults[EF_FAULTS_MAX];
  size_t n_faults;
  struct ef_req *reqs; /* owned */
  size_t n_reqs, cap_reqs;
  /* On the next trigger, the state file is copied to snapshot before the
   * request is handled (what a crash during the send leaves behind). */
  const char *state_file, *snapshot;
};

/* ---- scripting ---- */

static inline void ef_copy(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src ? src : "");
}

/* Adds a test with one environment; returns its index. */
static inline size_t ef_add_test(struct efake *f, const char *id,
                                 const char *name, const char *env,
                                 const char *env_name) {
  ck_assert_uint_lt(f->n_tests, EF_TESTS_MAX);
  struct ef_test *t = &f->tests[f->n_tests];
  ef_copy(t->id, sizeof(t->id), id);
  ef_copy(t->name, sizeof(t->name), name);
  ef_copy(t->env, sizeof(t->env), env);
  ef_copy(t->env_name, sizeof(t->env_name), env_name);
  return f->n_tests++;
}

/* Adds a run of test in region; a result other than "working" is finished
 * 5 s after started_at. Returns its index. */
static inline size_t ef_add_run(struct efake *f, size_t test,
                                const char *region, const char *result,
                                double started_at) {
  ck_assert_uint_lt(f->n_runs, EF_RUNS_MAX);
  struct ef_run *r = &f->runs[f->n_runs];
  r->test = test;
  snprintf(r->id, sizeof(r->id), "run-%zu", f->n_runs + 1);
  ef_copy(r->region, sizeof(r->region), region);
  ef_copy(r->result, sizeof(r->result), result);
  r->started_at = started_at;
  r->finished_at = strcmp(result, "working") == 0 ? 0 : started_at + 5;
  return f->n_runs++;
}

/* An event in xMatters for key, e.g. one the engine never created. */
static inline struct ef_event *ef_add_event(struct efake *f, const char *key,
                                            const char *status) {
  ck_assert_uint_lt(f->n_events, EF_EVENTS_MAX);
  struct ef_event *e = &f->events[f->n_events++];
  f->next_id++;
  snprintf(e->id, sizeof(e->id), "ev-%d", f->next_id);
  snprintf(e->request_id, sizeof(e->request_id), "req-%d", f->next_id);
  ef_copy(e->key, sizeof(e->key), key);
  ef_copy(e->status, sizeof(e->status), status);
  e->visible_at = f->now + f->visibility_delay;
  return e;
}

static inline struct ef_event *ef_event_find(struct efake *f, const char *id) {
  for (size_t i = 0; i < f->n_events; i++)
    if (strcmp(f->events[i].id, id) == 0)
      return &f->events[i];
  return NULL;
}

/* Fails the next request of route (see struct ef_fault). */
static inline struct ef_fault *ef_fail(struct efake *f, enum ef_route route,
                                       int rc, long status, bool acted,
                                       double retry_after) {
  ck_assert_uint_lt(f->n_faults, EF_FAULTS_MAX);
  struct ef_fault *x = &f->faults[f->n_faults++];
  *x = (struct ef_fault){route, rc, status, acted, retry_after, 1};
  return x;
}

/* ---- what the fake saw ---- */

/* Requests of route (-1: any) about subject (NULL: any), from request
 * number from on. */
static inline size_t ef_count(const struct efake *f, int route,
                              const char *subject, size_t from) {
  size_t n = 0;
  for (size_t i = from; i < f->n_reqs; i++)
    n += (route < 0 || f->reqs[i].route == (enum ef_route)route) &&
         (subject == NULL || strcmp(f->reqs[i].subject, subject) == 0);
  return n;
}

/* Requests to one server (Runscope, or xMatters) from request from on. */
static inline size_t ef_count_api(const struct efake *f, bool xmatters,
                                  size_t from) {
  size_t n = 0;
  for (size_t i = from; i < f->n_reqs; i++)
    n += f->reqs[i].xmatters == xmatters;
  return n;
}

/* The first request of route about subject from from on, or NULL. */
static inline const struct ef_req *ef_first(const struct efake *f,
                                            enum ef_route route,
                                            const char *subject, size_t from) {
  for (size_t i = from; i < f->n_reqs; i++)
    if (f->reqs[i].route == route &&
        (subject == NULL || strcmp(f->reqs[i].subject, subject) == 0))
      return &f->reqs[i];
  return NULL;
}

/* Events of key; open_only: ACTIVE or SUSPENDED ones. */
static inline size_t ef_events_of(const struct efake *f, const char *key,
                                  bool open_only) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_events; i++) {
    const struct ef_event *e = &f->events[i];
    n += strcmp(e->key, key) == 0 &&
         (!open_only || strcmp(e->status, "TERMINATED") != 0);
  }
  return n;
}

static inline void ef_fini(struct efake *f) {
  for (size_t i = 0; i < f->n_reqs; i++) {
    free(f->reqs[i].url);
    free(f->reqs[i].body);
  }
  free(f->reqs);
  memset(f, 0, sizeof(*f));
}

/* ---- the clock seam ---- */

static inline double ef_clock(void *ctx) { return ((struct efake *)ctx)->mono; }

static inline void ef_sleep(void *ctx, double seconds) {
  ((struct efake *)ctx)->mono += seconds;
}

/* ---- reading requests ---- */

static inline int ef_hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
    return (c | 0x20) - 'a' + 10;
  return -1;
}

/* Percent-decodes s[0..len) into out. */
static inline void ef_decode(const char *s, size_t len, char *out,
                             size_t size) {
  size_t j = 0;
  for (size_t i = 0; i < len && j + 1 < size; i++) {
    if (s[i] == '%' && i + 2 < len && ef_hex(s[i + 1]) >= 0 &&
        ef_hex(s[i + 2]) >= 0) {
      out[j++] = (char)(ef_hex(s[i + 1]) * 16 + ef_hex(s[i + 2]));
      i += 2;
    } else {
      out[j++] = s[i] == '+' ? ' ' : s[i];
    }
  }
  out[j] = '\0';
}

/* The decoded value of query parameter name of url; false when absent. */
static inline bool ef_param(const char *url, const char *name, char *out,
                            size_t size) {
  size_t n = strlen(name);
  out[0] = '\0';
  for (const char *p = strchr(url, '?'); p != NULL; p = strchr(p + 1, '&')) {
    if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=')
      continue;
    const char *v = p + 2 + n;
    ef_decode(v, strcspn(v, "&#"), out, size);
    return true;
  }
  return false;
}

static inline double ef_param_num(const char *url, const char *name,
                                  double absent) {
  char v[64];
  return ef_param(url, name, v, sizeof(v)) && v[0] ? strtod(v, NULL) : absent;
}

/* Splits path ("/a/b/c", no query) into segments; returns their count. */
static inline size_t ef_split(const char *path,
                              char seg[EF_SEGS_MAX][EF_KEY_MAX]) {
  size_t n = 0;
  const char *p = path;
  while (*p == '/' && n < EF_SEGS_MAX) {
    size_t len = strcspn(p + 1, "/");
    ef_decode(p + 1, len, seg[n++], EF_KEY_MAX);
    p += 1 + len;
  }
  return *p == '\0' ? n : EF_SEGS_MAX + 1;
}

static inline enum ef_route ef_rs_route(const char *path, char *subject) {
  char seg[EF_SEGS_MAX][EF_KEY_MAX];
  size_t n = ef_split(path, seg);
  if (n == 0 || n > 5 || strcmp(seg[0], "buckets") != 0)
    return EF_UNKNOWN;
  if (n == 1)
    return EF_BUCKETS;
  ef_copy(subject, EF_KEY_MAX, seg[1]);
  if (n == 2)
    return EF_BUCKET_GET;
  if (strcmp(seg[2], "tests") != 0)
    return EF_UNKNOWN;
  if (n == 3)
    return EF_TESTS;
  ef_copy(subject, EF_KEY_MAX, seg[3]);
  if (n == 4)
    return EF_TEST;
  return strcmp(seg[4], "results") == 0 ? EF_RESULTS : EF_UNKNOWN;
}

static inline enum ef_route ef_xm_route(const char *method, const char *path,
                                        const char *url, char *subject) {
  bool post = strcmp(method, "POST") == 0;
  if (strcmp(path, EF_TRIGGER_PATH) == 0)
    return post ? EF_TRIGGER : EF_UNKNOWN;
  if (strcmp(path, EF_EVENTS_PATH) == 0) {
    if (!post && !ef_param(url, "propertyValue", subject, EF_KEY_MAX))
      ef_param(url, "requestId", subject, EF_KEY_MAX);
    return post ? EF_STATUS : EF_EVENTS;
  }
  char seg[EF_SEGS_MAX][EF_KEY_MAX];
  size_t n = ef_split(path, seg);
  if (post || n < 5 || n > 6 || strncmp(path, EF_EVENTS_PATH "/", 17) != 0)
    return EF_UNKNOWN;
  ef_copy(subject, EF_KEY_MAX, seg[4]);
  if (n == 5)
    return EF_EVENT;
  return strcmp(seg[5], "user-deliveries") == 0 ? EF_DELIVERIES : EF_UNKNOWN;
}

/* The route of req (by server, method and path) and its subject. */
static inline enum ef_route ef_route_of(const struct http_request *req,
                                        char *subject) {
  bool rs = strncmp(req->url, EF_RS_BASE "/", sizeof(EF_RS_BASE)) == 0;
  bool xm = strncmp(req->url, EF_XM_BASE "/", sizeof(EF_XM_BASE)) == 0;
  if (!rs && !xm)
    return EF_UNKNOWN;
  char path[EF_KEY_MAX];
  ef_copy(path, sizeof(path),
          req->url + (rs ? sizeof(EF_RS_BASE) : sizeof(EF_XM_BASE)) - 1);
  path[strcspn(path, "?#")] = '\0';
  if (rs && strcmp(req->method, "POST") == 0)
    return strncmp(path, "/radar/", 7) == 0 ? EF_RS_TRIGGER : EF_UNKNOWN;
  if (rs)
    return strcmp(req->method, "GET") == 0 ? ef_rs_route(path, subject)
                                           : EF_UNKNOWN;
  return ef_xm_route(req->method, path, req->url, subject);
}

/* The text member name of a JSON body's object at member obj (NULL: the
 * root), into out. */
static inline void ef_body_str(const char *body, const char *obj,
                               const char *name, char *out, size_t size) {
  json_object *root = body ? json_tokener_parse(body) : NULL, *o = root, *v;
  out[0] = '\0';
  if (obj != NULL && o != NULL && !json_object_object_get_ex(o, obj, &o))
    o = NULL;
  if (o != NULL && json_object_object_get_ex(o, name, &v) &&
      json_object_is_type(v, json_type_string))
    ef_copy(out, size, json_object_get_string(v));
  json_object_put(root);
}

static inline struct ef_req *ef_record(struct efake *f,
                                       const struct http_request *req) {
  if (f->n_reqs == f->cap_reqs) {
    f->cap_reqs = f->cap_reqs ? 2 * f->cap_reqs : 64;
    f->reqs = realloc(f->reqs, f->cap_reqs * sizeof(*f->reqs));
    ck_assert_ptr_nonnull(f->reqs);
  }
  struct ef_req *r = &f->reqs[f->n_reqs++];
  memset(r, 0, sizeof(*r));
  ef_copy(r->method, sizeof(r->method), req->method);
  r->url = strdup(req->url);
  r->body = req->body ? strndup(req->body, req->body_len) : NULL;
  r->at = f->now;
  r->xmatters = strncmp(req->url, EF_XM_BASE "/", sizeof(EF_XM_BASE)) == 0;
  r->route = ef_route_of(req, r->subject);
  if (r->route == EF_TRIGGER)
    ef_body_str(r->body, "properties", EF_KEY_PROPERTY, r->subject,
                sizeof(r->subject));
  else if (r->route == EF_STATUS)
    ef_body_str(r->body, NULL, "id", r->subject, sizeof(r->subject));
  return r;
}

/* ---- building answers ---- */

static inline void ef_put(json_object *o, const char *name, json_object *v) {
  json_object_object_add(o, name, v);
}

static inline json_object *ef_s(const char *s) {
  return json_object_new_string(s);
}

/* Runscope's envelope around data (taken over). */
static inline json_object *ef_envelope(json_object *data) {
  json_object *o = json_object_new_object(), *meta = json_object_new_object();
  ef_put(meta, "status", ef_s("success"));
  ef_put(o, "data", data);
  ef_put(o, "meta", meta);
  ef_put(o, "error", NULL);
  return o;
}

/* The error body of each API for status. */
static inline json_object *ef_error(enum ef_route route, long status,
                                    const char *message) {
  json_object *o = json_object_new_object();
  if (ef_is_xmatters(route)) {
    ef_put(o, "code", json_object_new_int((int)status));
    ef_put(o, "reason", ef_s(status == 401 ? "Unauthorized" : "Error"));
    ef_put(o, "message", ef_s(message));
    return o;
  }
  json_object *meta = json_object_new_object(), *e = json_object_new_object();
  ef_put(meta, "status", ef_s("error"));
  ef_put(e, "status", json_object_new_int((int)status));
  ef_put(e, "message", ef_s(message));
  ef_put(o, "data", json_object_new_object());
  ef_put(o, "meta", meta);
  ef_put(o, "error", e);
  return o;
}

/* An answer being built: a status and a JSON body (owned). */
struct ef_answer {
  long status;
  json_object *body;
};

static inline void ef_reply(struct ef_answer *a, long status,
                            json_object *body) {
  a->status = status;
  a->body = body;
}

static inline void ef_refuse(struct ef_answer *a, enum ef_route route,
                             long status, const char *message) {
  ef_reply(a, status, ef_error(route, status, message));
}

/* ---- Runscope ---- */

static inline json_object *ef_bucket_json(void) {
  json_object *b = json_object_new_object(), *team = json_object_new_object();
  ef_put(team, "id", ef_s("team-1"));
  ef_put(team, "name", ef_s("Team"));
  ef_put(b, "key", ef_s(EF_BUCKET));
  ef_put(b, "name", ef_s(EF_BUCKET_NAME));
  ef_put(b, "team", team);
  return b;
}

static inline const struct ef_test *ef_test_find(const struct efake *f,
                                                 const char *id) {
  for (size_t i = 0; i < f->n_tests; i++)
    if (strcmp(f->tests[i].id, id) == 0)
      return &f->tests[i];
  return NULL;
}

/* The newest run of test t, or NULL. */
static inline const struct ef_run *ef_newest(const struct efake *f, size_t t) {
  const struct ef_run *newest = NULL;
  for (size_t i = 0; i < f->n_runs; i++)
    if (f->runs[i].test == t &&
        (newest == NULL || f->runs[i].started_at > newest->started_at))
      newest = &f->runs[i];
  return newest;
}

/* An item of the tests list, with its last_run. */
static inline json_object *ef_test_item(const struct efake *f, size_t i) {
  const struct ef_test *t = &f->tests[i];
  const struct ef_run *r = ef_newest(f, i);
  json_object *o = json_object_new_object(), *lr = NULL;
  ef_put(o, "id", ef_s(t->id));
  ef_put(o, "name", ef_s(t->name));
  ef_put(o, "default_environment_id", ef_s(t->env));
  if (r != NULL) {
    lr = json_object_new_object();
    ef_put(lr, "id", ef_s(r->id));
    ef_put(lr, "created_at", json_object_new_double(r->started_at));
  }
  if (t->no_last_run)
    json_object_put(lr);
  else
    ef_put(o, "last_run", lr);
  return o;
}

static inline void ef_tests(const struct efake *f, const char *url,
                            struct ef_answer *a) {
  size_t count = (size_t)ef_param_num(url, "count", 10);
  size_t offset = (size_t)ef_param_num(url, "offset", 0);
  json_object *data = json_object_new_array();
  for (size_t i = offset; i < f->n_tests && i < offset + count; i++)
    json_object_array_add(data, ef_test_item(f, i));
  ef_reply(a, 200, ef_envelope(data));
}

static inline void ef_test_detail(const struct ef_test *t,
                                  struct ef_answer *a) {
  json_object *o = json_object_new_object(), *env = json_object_new_object();
  json_object *envs = json_object_new_array(), *sch = json_object_new_object();
  json_object *schedules = json_object_new_array();
  ef_put(env, "id", ef_s(t->env));
  ef_put(env, "name", ef_s(t->env_name));
  json_object_array_add(envs, env);
  ef_put(sch, "environment_id", ef_s(t->env));
  ef_put(sch, "interval", ef_s("1m"));
  json_object_array_add(schedules, sch);
  ef_put(o, "id", ef_s(t->id));
  ef_put(o, "name", ef_s(t->name));
  ef_put(o, "trigger_url",
         ef_s(t->trigger_url[0] ? t->trigger_url : EF_RS_TRIGGER_URL));
  ef_put(o, "default_environment_id", ef_s(t->env));
  ef_put(o, "environments", envs);
  ef_put(o, "schedules", schedules);
  ef_reply(a, 200, ef_envelope(o));
}

static inline void ef_put_num(json_object *o, const char *name, double v) {
  ef_put(o, name, json_object_new_double(v));
}

/* A run as the results list shows it. */
static inline json_object *ef_run_json(const struct efake *f,
                                       const struct ef_run *r) {
  const struct ef_test *t = &f->tests[r->test];
  bool failed = strcmp(r->result, "fail") == 0;
  json_object *o = json_object_new_object();
  ef_put(o, "test_run_id", ef_s(r->id));
  ef_put(o, "test_id", ef_s(t->id));
  ef_put(o, "bucket_key", ef_s(EF_BUCKET));
  ef_put(o, "environment_id", ef_s(t->env));
  ef_put(o, "environment_name", ef_s(t->env_name));
  ef_put(o, "region", ef_s(r->region));
  ef_put(o, "agent", NULL);
  ef_put(o, "result", ef_s(r->result));
  ef_put_num(o, "started_at", r->started_at);
  ef_put(o, "finished_at",
         r->finished_at > 0 ? json_object_new_double(r->finished_at) : NULL);
  ef_put_num(o, "assertions_defined", 3);
  ef_put_num(o, "assertions_failed", failed ? 2 : 0);
  ef_put_num(o, "assertions_passed", failed ? 1 : 3);
  ef_put_num(o, "requests_executed", 2);
  return o;
}

static inline int ef_newest_first(const void *a, const void *b) {
  const struct ef_run *x = *(const struct ef_run *const *)a;
  const struct ef_run *y = *(const struct ef_run *const *)b;
  return (x->started_at < y->started_at) - (x->started_at > y->started_at);
}

/* The runs of test t that started after since and before before, newest
 * first, at most count (Runscope's `since` and `before` are exclusive). */
static inline void ef_results(const struct efake *f, size_t t, const char *url,
                              struct ef_answer *a) {
  double since = ef_param_num(url, "since", -1);
  double before = ef_param_num(url, "before", -1);
  size_t count = (size_t)ef_param_num(url, "count", 10), n = 0;
  const struct ef_run *v[EF_RUNS_MAX];
  for (size_t i = 0; i < f->n_runs; i++) {
    const struct ef_run *r = &f->runs[i];
    if (r->test == t && (since < 0 || r->started_at > since) &&
        (before < 0 || r->started_at < before))
      v[n++] = r;
  }
  qsort(v, n, sizeof(v[0]), ef_newest_first);
  json_object *data = json_object_new_array();
  for (size_t i = 0; i < n && i < count; i++)
    json_object_array_add(data, ef_run_json(f, v[i]));
  ef_reply(a, 200, ef_envelope(data));
}

/* Serves a Runscope request that passed the token check. */
static inline void ef_runscope_route(struct efake *f, const char *url,
                                     const struct ef_req *r,
                                     struct ef_answer *a) {
  const struct ef_test *t = ef_test_find(f, r->subject);
  switch (r->route) {
  case EF_BUCKETS:
    ef_reply(a, 200, ef_envelope(json_object_new_array()));
    break;
  case EF_BUCKET_GET:
  case EF_TESTS:
    if (strcmp(r->subject, EF_BUCKET) != 0)
      ef_refuse(a, r->route, 404, "Bucket not found");
    else if (r->route == EF_TESTS)
      ef_tests(f, url, a);
    else
      ef_reply(a, 200, ef_envelope(ef_bucket_json()));
    break;
  default:
    if (t == NULL)
      ef_refuse(a, r->route, 404, "Test not found");
    else if (r->route == EF_TEST)
      ef_test_detail(t, a);
    else
      ef_results(f, (size_t)(t - f->tests), url, a);
  }
}

/* A trigger's answer: 201, one run started (the documented shape). */
static inline void ef_rs_trigger(struct efake *f, struct ef_answer *a) {
  json_object *data = json_object_new_object(), *run = json_object_new_object();
  json_object *runs = json_object_new_array();
  char id[EF_ID_MAX];
  snprintf(id, sizeof(id), "rerun-%d", ++f->next_id);
  ef_put(run, "test_run_id", ef_s(id));
  ef_put(run, "environment_id", ef_s(f->tests[0].env));
  ef_put(run, "region", ef_s("us1"));
  ef_put(run, "status", ef_s("init"));
  json_object_array_add(runs, run);
  ef_put(data, "runs", runs);
  ef_put(data, "runs_started", json_object_new_int(1));
  ef_reply(a, 201, ef_envelope(data));
}

static inline void ef_serve_runscope(struct efake *f,
                                     const struct http_request *req,
                                     const struct ef_req *r,
                                     struct ef_answer *a) {
  if (r->route == EF_RS_TRIGGER) /* the URL is its own credential */
    ef_rs_trigger(f, a);
  else if (req->bearer == NULL || strcmp(req->bearer, EF_TOKEN) != 0)
    ef_refuse(a, r->route, 403,
              "You must provide a valid Authorization header to use the "
              "Runscope API.");
  else
    ef_runscope_route(f, req->url, r, a);
}

/* ---- xMatters ---- */

/* An event as the API shows it; its properties only when props (GET one,
 * or a list asked with embed=properties). */
static inline json_object *ef_event_json(const struct ef_event *e, bool props) {
  json_object *o = json_object_new_object(), *p = json_object_new_object();
  json_object *links = json_object_new_object();
  char self[EF_KEY_MAX];
  snprintf(self, sizeof(self), EF_EVENTS_PATH "/%s", e->id);
  ef_put(p, EF_KEY_PROPERTY "#en", ef_s(e->key));
  ef_put(links, "self", ef_s(self));
  ef_put(o, "id", ef_s(e->id));
  ef_put(o, "eventId", ef_s(e->id + 3));
  ef_put(o, "requestId", ef_s(e->request_id));
  ef_put(o, "status", ef_s(e->status));
  if (props)
    ef_put(o, "properties", p);
  else
    json_object_put(p);
  ef_put(o, "links", links);
  return o;
}

/* A list answer {count, total, data, links.self} around data. */
static inline json_object *ef_xm_list(json_object *data, const char *self) {
  json_object *o = json_object_new_object(), *links = json_object_new_object();
  int n = (int)json_object_array_length(data);
  ef_put(links, "self", ef_s(self));
  ef_put(o, "count", json_object_new_int(n));
  ef_put(o, "total", json_object_new_int(n));
  ef_put(o, "data", data);
  ef_put(o, "links", links);
  return o;
}

/* True when the comma list (empty: any) holds s. */
static inline bool ef_in_list(const char *list, const char *s) {
  size_t n = strlen(s);
  if (list[0] == '\0')
    return true;
  for (const char *p = list; p != NULL; p = strchr(p, ',')) {
    p += *p == ',';
    if (strncmp(p, s, n) == 0 && (p[n] == ',' || p[n] == '\0'))
      return true;
  }
  return false;
}

/* Does the property value got pass the search for want? EQUALS, or else
 * xMatters' default CONTAINS. */
static inline bool ef_value_matches(const char *url, const char *got,
                                    const char *want) {
  char op[32];
  ef_param(url, "propertyValueOperator", op, sizeof(op));
  return strcmp(op, "EQUALS") == 0 ? strcmp(got, want) == 0
                                   : strstr(got, want) != NULL;
}

/* Does visible event e pass the filters of the events query url (status a
 * comma list, as the real API takes it)? */
static inline bool ef_matches(const struct efake *f, const struct ef_event *e,
                              const char *url) {
  char status[64], name[64], value[EF_KEY_MAX], request[EF_ID_MAX];
  ef_param(url, "status", status, sizeof(status));
  ef_param(url, "requestId", request, sizeof(request));
  bool by_key = ef_param(url, "propertyName", name, sizeof(name));
  ef_param(url, "propertyValue", value, sizeof(value));
  if (by_key)
    name[strcspn(name, "#")] = '\0';
  return e->visible_at <= f->now && ef_in_list(status, e->status) &&
         (request[0] == '\0' || strcmp(request, e->request_id) == 0) &&
         (!by_key || (strcmp(name, EF_KEY_PROPERTY) == 0 &&
                      ef_value_matches(url, e->key, value)));
}

static inline void ef_events(const struct efake *f, const char *url,
                             struct ef_answer *a) {
  json_object *data = json_object_new_array();
  char embed[64];
  ef_param(url, "embed", embed, sizeof(embed));
  bool props = ef_in_list(embed, "properties") && embed[0] != '\0';
  for (size_t i = 0; i < f->n_events; i++)
    if (ef_matches(f, &f->events[i], url))
      json_object_array_add(data, ef_event_json(&f->events[i], props));
  ef_reply(a, 200, ef_xm_list(data, EF_EVENTS_PATH));
}

/* The trigger: an event for the body's runscope_key, 202 {"requestId"}. */
static inline void ef_trigger(struct efake *f, const struct ef_req *r,
                              struct ef_answer *a) {
  if (r->subject[0] == '\0') {
    ef_refuse(a, r->route, 400, "no runscope_key property");
    return;
  }
  const struct ef_event *e = ef_add_event(f, r->subject, "ACTIVE");
  json_object *o = json_object_new_object();
  ef_put(o, "requestId", ef_s(e->request_id));
  ef_reply(a, 202, o);
}

/* POST /api/xm/1/events {"id", "status"}: a status change. */
static inline void ef_status(struct efake *f, const struct ef_req *r,
                             struct ef_answer *a) {
  char status[32];
  struct ef_event *e = ef_event_find(f, r->subject);
  ef_body_str(r->body, NULL, "status", status, sizeof(status));
  if (e == NULL || e->visible_at > f->now)
    ef_refuse(a, r->route, 404, "No event with that id");
  else if (strcmp(status, "TERMINATED") != 0 &&
           strcmp(status, "SUSPENDED") != 0 && strcmp(status, "ACTIVE") != 0)
    ef_refuse(a, r->route, 400, "Unknown status");
  else if (strcmp(e->status, "TERMINATED") == 0 &&
           strcmp(status, "TERMINATED") != 0)
    ef_refuse(a, r->route, 409, "The event is terminated");
  else {
    ef_copy(e->status, sizeof(e->status), status);
    ef_reply(a, 200, ef_event_json(e, true));
  }
}

/* The user-deliveries of e: its one response, if a person responded. */
static inline void ef_deliveries(const struct ef_event *e,
                                 struct ef_answer *a) {
  json_object *data = json_object_new_array();
  if (e->resp_text[0] != '\0') {
    json_object *o = json_object_new_object(), *ev = json_object_new_object();
    json_object *who = json_object_new_object(), *r = json_object_new_object();
    ef_put(ev, "id", ef_s(e->id));
    ef_put(who, "targetName", ef_s(e->resp_user));
    ef_put(r, "text", ef_s(e->resp_text));
    ef_put(r, "received", json_object_new_double(e->resp_at * 1000.0));
    ef_put(o, "event", ev);
    ef_put(o, "person", who);
    ef_put(o, "deliveryStatus", ef_s("RESPONDED"));
    ef_put(o, "response", r);
    json_object_array_add(data, o);
  }
  ef_reply(a, 200, ef_xm_list(data, EF_EVENTS_PATH "/x/deliv"));
}

static inline bool ef_xm_authorized(const struct http_request *req,
                                    enum ef_route route) {
  char key[64];
  if (route == EF_TRIGGER)
    return ef_param(req->url, "apiKey", key, sizeof(key)) &&
           strcmp(key, EF_API_KEY) == 0;
  return req->user != NULL && req->password != NULL &&
         strcmp(req->user, EF_XM_USER) == 0 &&
         strcmp(req->password, EF_XM_PASSWORD) == 0;
}

static inline void ef_serve_xmatters(struct efake *f,
                                     const struct http_request *req,
                                     const struct ef_req *r,
                                     struct ef_answer *a) {
  const struct ef_event *e = ef_event_find(f, r->subject);
  if (!ef_xm_authorized(req, r->route))
    ef_refuse(a, r->route, 401, "Bad credentials");
  else if (r->route == EF_TRIGGER)
    ef_trigger(f, r, a);
  else if (r->route == EF_EVENTS)
    ef_events(f, req->url, a);
  else if (r->route == EF_STATUS)
    ef_status(f, r, a);
  else if (e == NULL || e->visible_at > f->now)
    ef_refuse(a, r->route, 404, "No event with that id");
  else if (r->route == EF_EVENT)
    ef_reply(a, 200, ef_event_json(e, true));
  else
    ef_deliveries(e, a);
}

/* ---- the transport ---- */

/* The fault for route, used up by this request, or NULL. */
static inline struct ef_fault *ef_fault_for(struct efake *f,
                                            enum ef_route route) {
  for (size_t i = 0; i < f->n_faults; i++) {
    struct ef_fault *x = &f->faults[i];
    if (x->route == route && x->times > 0) {
      x->times--;
      return x;
    }
  }
  return NULL;
}

static inline void ef_copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char chunk[4096];
  size_t n;
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
    ck_assert_uint_eq(fwrite(chunk, 1, n, out), n);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* Serves r: a scripted error status, or what the server would answer. */
static inline void ef_serve(struct efake *f, const struct http_request *req,
                            const struct ef_req *r, const struct ef_fault *x,
                            struct ef_answer *a) {
  if (x != NULL && x->rc == 0)
    ef_refuse(a, r->route, x->status, "scripted failure");
  else if (r->route == EF_UNKNOWN)
    ef_refuse(a, r->route, 404, "no such route in the fake");
  else if (ef_is_xmatters(r->route))
    ef_serve_xmatters(f, req, r, a);
  else
    ef_serve_runscope(f, req, r, a);
}

/* How the answer to r is broken for its test (EF_GOOD: not at all). */
static inline enum ef_bad ef_bad_of(const struct efake *f,
                                    const struct ef_req *r) {
  const struct ef_test *t = ef_test_find(f, r->subject);
  if (t == NULL || (r->route != EF_RESULTS && r->route != EF_TEST))
    return EF_GOOD;
  return r->route == EF_RESULTS ? t->results_bad : t->detail_bad;
}

/* Answers r broken in the way bad says. Returns the transport's result. */
static inline int ef_serve_bad(struct ef_req *r, enum ef_bad bad,
                               struct http_response *resp, struct err *err) {
  const char *body =
      bad == EF_MALFORMED
          ? "{\"data\": [{\"test_run_id\": \"x\", \"res"
          : "{\"data\": {\"test_run_id\": \"x\"}, \"error\": null, "
            "\"meta\": {\"status\": \"success\"}}";
  if (bad == EF_OVERSIZE) {
    err_set(err, "GET %s: answer larger than 1048576 bytes", r->url);
    return r->rc = -EMSGSIZE;
  }
  if (bad == EF_NOT_FOUND)
    body = "{\"data\": {}, \"meta\": {\"status\": \"error\"}, \"error\": "
           "{\"status\": 404, \"message\": \"Test not found\"}}";
  resp->status = r->status = bad == EF_NOT_FOUND ? 404 : 200;
  resp->retry_after = -1;
  buf_reset(&resp->body);
  return r->rc = buf_puts(&resp->body, body);
}

/* The http_transport_fn of the fake: install with
 * engine_set_transport(e, ef_transport, &fake). */
static inline int ef_transport(void *ctx, const struct http_request *req,
                               struct http_response *resp, struct err *err) {
  struct efake *f = ctx;
  struct ef_req *r = ef_record(f, req);
  struct ef_fault *x = ef_fault_for(f, r->route);
  if (r->route == EF_TRIGGER && f->snapshot != NULL) {
    ef_copy_file(f->state_file, f->snapshot);
    f->snapshot = NULL;
  }
  if (x == NULL && ef_bad_of(f, r) != EF_GOOD)
    return ef_serve_bad(r, ef_bad_of(f, r), resp, err);
  struct ef_answer a = {0, NULL};
  if (x != NULL && x->rc == 0 && x->acted) { /* acted, then a gateway's page */
    ef_serve(f, req, r, NULL, &a);
    json_object_put(a.body);
    resp->status = r->status = x->status;
    resp->retry_after = x->retry_after;
    buf_reset(&resp->body);
    return r->rc = buf_puts(&resp->body, "<html><body>gateway</body></html>");
  }
  if (x == NULL || x->rc == 0 || x->acted)
    ef_serve(f, req, r, x, &a);
  if (x != NULL && x->rc != 0) {
    char url[EF_KEY_MAX];
    json_object_put(a.body);
    http_redact_url(req->url, url, sizeof(url));
    err_set(err, "%s %s: scripted failure", req->method, url);
    return r->rc = x->rc;
  }
  resp->status = r->status = a.status;
  resp->retry_after = x != NULL ? x->retry_after : -1;
  buf_reset(&resp->body);
  int rc =
      buf_puts(&resp->body,
               json_object_to_json_string_ext(a.body, JSON_C_TO_STRING_PLAIN));
  json_object_put(a.body);
  return r->rc = rc;
}

#endif
