/* SPDX-License-Identifier: MIT */
/* Runscope REST API client: buckets, tests, test details, run results and
 * trigger URLs. */
#ifndef RUNSCOPE_RUNSCOPE_H
#define RUNSCOPE_RUNSCOPE_H

#include "transport/http.h"
#include "util/err.h"

#include <stddef.h>

/* Field sizes: a longer id or URL is -EPROTO; a longer display name is cut
 * (it is only displayed). */
#define RS_ID_MAX 80
#define RS_NAME_MAX 256
#define RS_URL_MAX 1024

/* Most runs rs_list_results returns for one call (it pages with `before`). */
#define RS_RESULTS_MAX 500

struct rs_bucket {
  char key[RS_ID_MAX];
  char name[RS_NAME_MAX];
  char team_id[RS_ID_MAX]; /* team.id, or the older team.uuid */
  char team_name[RS_NAME_MAX];
};

/* An item of the tests list. */
struct rs_test {
  char id[RS_ID_MAX];
  char name[RS_NAME_MAX];
  char default_environment_id[RS_ID_MAX];
  /* last_run where the list gives it (not all API versions do): its id
   * ("" when absent) and created/started time (0 when absent). */
  char last_run_id[RS_ID_MAX];
  double last_run_at;
  /* The item has a last_run member (null for a test that never ran): the
   * API tells about the last run, so a changed one means news. */
  bool last_run_known;
};

/* An environment of a test's detail: id and name owned (freed with the
 * detail), never NULL (the name may be ""), sized to their content (less
 * than RS_ID_MAX and RS_NAME_MAX bytes). */
struct rs_environment {
  char *id;
  char *name;
};

struct rs_schedule {
  char environment_id[RS_ID_MAX];
  double interval; /* seconds, from "1m", "5m", "1.0h", "1d"; 0 if unknown */
};

/* GET /buckets/{key}/tests/{id}. Owns its strings and arrays: release
 * with rs_test_detail_fini. Strings are sized to their content (less than
 * RS_ID_MAX, RS_NAME_MAX, RS_URL_MAX bytes); id and name are never NULL in
 * a parsed detail (the name may be ""). */
struct rs_test_detail {
  char *id;
  char *name;
  char *trigger_url;            /* NULL when the test has none */
  char *default_environment_id; /* NULL when the test has none */
  struct rs_environment *environments;
  size_t n_environments;
  struct rs_schedule *schedules;
  size_t n_schedules;
};

void rs_test_detail_fini(struct rs_test_detail *d);

enum rs_result {
  RS_RESULT_UNFINISHED = 0, /* queued, working, init, or an unknown value */
  RS_RESULT_PASS,
  RS_RESULT_FAIL,
  RS_RESULT_CANCELLED, /* final, but not a verdict */
  RS_RESULT_OTHER,     /* finished with another result ("error"): final,
                        * not a verdict */
};

/* One test run, from the results list. Missing numbers are 0, missing
 * strings "". */
struct rs_run {
  char test_run_id[RS_ID_MAX];
  char test_id[RS_ID_MAX];
  char bucket_key[RS_ID_MAX];
  char environment_id[RS_ID_MAX];
  char environment_name[RS_NAME_MAX];
  char region[RS_ID_MAX]; /* region code, "" for a private agent */
  char agent[RS_ID_MAX];  /* private agent, "" for a region */
  enum rs_result result;
  char result_text[32]; /* the result as given (cut to fit), "" if none */
  double started_at;    /* Unix seconds, fractional */
  double finished_at;   /* 0 while unfinished */
  long assertions_defined, assertions_passed, assertions_failed;
  long scripts_defined, scripts_passed, scripts_failed;
  long variables_defined, variables_passed, variables_failed;
  long requests_executed;
  char test_run_url[RS_URL_MAX];
};

/* One item of a run detail's requests[] (a step of the run), reduced to
 * what Runscope's webhook payload says about it. Counts the answer does not
 * give as *_defined/_passed/_failed are counted from the step's
 * assertions[], scripts[] and variables[] items. The response_* numbers are
 * not in the documented run detail: -1 when absent. */
struct rs_step {
  char url[RS_URL_MAX]; /* cut to fit: it is only displayed */
  char method[16];
  char result[16]; /* "pass", "fail", or "" */
  char note[RS_NAME_MAX];
  char step_type[32]; /* "" when absent */
  long assertions_pass, assertions_fail, assertions_total;
  long scripts_pass, scripts_fail, scripts_total;
  long variables_pass, variables_fail, variables_total;
  long response_status_code, response_time_ms, response_size_bytes;
};

/* GET /buckets/{key}/tests/{id}/results/{run}. Owns steps: release with
 * rs_run_detail_fini. */
struct rs_run_detail {
  struct rs_run run;           /* the fields the results list also has */
  char test_name[RS_NAME_MAX]; /* "" when absent */
  int agent_expired;           /* -1 when absent or null, else 0 or 1 */
  struct rs_step *steps;       /* requests[], in order */
  size_t n_steps;
};

void rs_run_detail_fini(struct rs_run_detail *d);

/* Maps a result string to enum rs_result ("pass", "fail", "cancelled" or
 * "canceled"; anything else is unfinished). */
enum rs_result rs_result_parse(const char *s);

/* A run's result: rs_result_parse's, but a finished run (finished_at > 0)
 * whose result is another non-empty value than "working", "queued" or
 * "init" is RS_RESULT_OTHER: final, without a verdict, so that it holds
 * nothing up. */
enum rs_result rs_run_result(const char *s, double finished_at);

/* Seconds in a schedule interval such as "1m", "15m", "1.0h", "12h", "1d";
 * 0 when not understood. */
double rs_parse_interval(const char *s);

struct rs_client;

/* Creates a client that sends its requests through http (borrowed; it must
 * outlive the client). base_url ("https://api.runscope.com", no trailing
 * slash needed) and token are copied. max_json_depth bounds parsing. Returns
 * NULL when memory runs out. */
struct rs_client *rs_new(struct http_client *http, const char *base_url,
                         const char *token, int max_json_depth);

/* Frees the client; NULL is a no-op. */
void rs_free(struct rs_client *c);

/* The calls below return 0, or a negative errno with err naming the call,
 * the object and the cause
 * ("Runscope API: GET /buckets/abc/tests: HTTP 503"):
 *   -EACCES     401 or 403 (a bad token; Runscope also gives 403 for an
 *               unknown test)
 *   -ENOENT     404
 *   -EAGAIN     429 or 5xx: retry later (rs_retry_after tells how long)
 *   -EPROTO     an answer that is not the documented JSON envelope/shape
 *   -EMSGSIZE   an answer larger than the cap
 *   and the transport errors of http_do.
 * Arrays handed back in *ret are the caller's to free() (one call each). */

/* GET /buckets: every bucket the token sees. */
int rs_list_buckets(struct rs_client *c, struct rs_bucket **ret, size_t *ret_n,
                    struct err *err);

/* GET /buckets/{key}. */
int rs_get_bucket(struct rs_client *c, const char *bucket_key,
                  struct rs_bucket *ret, struct err *err);

/* GET /buckets/{key}/tests?count=50&offset=N, paging until a short page. */
int rs_list_tests(struct rs_client *c, const char *bucket_key,
                  struct rs_test **ret, size_t *ret_n, struct err *err);

/* GET /buckets/{key}/tests/{id}; *ret is filled (release with
 * rs_test_detail_fini, also after an error). */
int rs_get_test(struct rs_client *c, const char *bucket_key,
                const char *test_id, struct rs_test_detail *ret,
                struct err *err);

/* GET /buckets/{key}/tests/{id}/results?since=SINCE&count=50, paging back
 * with `before` while pages are full, up to RS_RESULTS_MAX runs. The runs
 * come back oldest first (by started_at). since <= 0 asks for the newest
 * page only. */
int rs_list_results(struct rs_client *c, const char *bucket_key,
                    const char *test_id, double since, struct rs_run **ret,
                    size_t *ret_n, struct err *err);

/* ---- many reads at once ----
 *
 * The calls below read many objects through http_run: up to the http
 * client's max_parallel requests at a time, over its kept-alive
 * connections. Each item is reported to `done` once it is complete (every
 * page read) or failed, in the order they complete, with the errnos of the
 * single calls and err naming the call; `done` returns false to start no
 * further request. An item that never started (the caller stopped, or the
 * deadline passed) gets no call. deadline: no new item starts after this
 * time of the http client's clock (http_now); 0 for none. Return 0, or
 * -ENOMEM when nothing could be read (no item was reported). rs_retry_after
 * then gives the longest Retry-After of the answers. */

/* The tests lists of n buckets (as rs_list_tests). tests[0..n_tests) is
 * borrowed for the call. expected (NULL: none) holds each bucket's number
 * of tests as last seen: its list's array is allocated for them at once,
 * instead of growing page by page. */
typedef bool (*rs_tests_fn)(void *ctx, size_t i, int rc,
                            const struct rs_test *tests, size_t n_tests,
                            const struct err *err);
int rs_list_many_tests(struct rs_client *c, const char *const *bucket_keys,
                       const size_t *expected, size_t n, rs_tests_fn done,
                       void *ctx);

/* A test of a bucket, for the calls below. */
struct rs_test_ref {
  const char *bucket_key;
  const char *test_id;
  double since; /* rs_list_many_results: as rs_list_results' */
};

/* The details of n tests (as rs_get_test). The callback may take *d over
 * (copy it and zero it); what it leaves is released after the call. */
typedef bool (*rs_detail_fn)(void *ctx, size_t i, int rc,
                             struct rs_test_detail *d, const struct err *err);
int rs_get_many_tests(struct rs_client *c, const struct rs_test_ref *tests,
                      size_t n, double deadline, rs_detail_fn done, void *ctx);

/* The new runs of n tests (as rs_list_results: oldest first, at most
 * RS_RESULTS_MAX each). runs[0..n_runs) is borrowed for the call. */
typedef bool (*rs_runs_fn)(void *ctx, size_t i, int rc,
                           const struct rs_run *runs, size_t n_runs,
                           const struct err *err);
int rs_list_many_results(struct rs_client *c, const struct rs_test_ref *tests,
                         size_t n, double deadline, rs_runs_fn done, void *ctx);

/* What a trigger should run; every pointer is borrowed, and NULL or ""
 * leaves its parameter out (Runscope then uses the test's default
 * environment, or every location of the environment). */
struct rs_trigger_req {
  const char *environment_id; /* runscope_environment */
  const char *region;         /* runscope_region: a region code */
  const char *agent;          /* runscope_agent: a private agent's id */
};

/* A run a trigger started: an item of the answer's data.runs[]. */
struct rs_started_run {
  char test_run_id[RS_ID_MAX];
  char environment_id[RS_ID_MAX];
  char region[RS_ID_MAX]; /* "" for a private agent */
  char agent[RS_ID_MAX];  /* "" for a region */
};

/* Most runs read from one trigger answer (one per test and location). */
#define RS_STARTED_MAX 64

/* Runs a test again through its trigger URL (from the test detail): POST
 * trigger_url?runscope_environment=E[&runscope_region=R][&runscope_agent=A]
 * with an empty body and without the token (the trigger URL is its own
 * credential, and need not be on the API's host). On a 2xx answer *ret
 * (caller frees; never NULL) holds the runs it started, as far as the
 * answer could be read: a 2xx means the test was triggered even when its
 * body is not the documented shape (*ret_n is then 0). Messages show the
 * trigger URL with its trigger id replaced by REDACTED. Returns 0, or
 *   -EAGAIN     429 (more than 10 triggers in 10 s on this URL) or 5xx:
 *               nothing started, retry later (rs_retry_after tells when);
 *   -ENOENT     404 (no such trigger);
 *   -EACCES     401 or 403;
 *   -EINVAL     another 4xx (e.g. an unknown environment): do not retry;
 *               also for a trigger_url that is not http(s);
 *   -ENOMEM, and the transport errors of http_do (http_maybe_sent tells
 *               whether the test may have been triggered all the same). */
int rs_trigger(struct rs_client *c, const char *trigger_url,
               const struct rs_trigger_req *req, struct rs_started_run **ret,
               size_t *ret_n, struct err *err);

/* GET /buckets/{key}/tests/{id}/results/{run}: one run with its steps
 * (requests[]); *ret is filled (release with rs_run_detail_fini, also after
 * an error). A data object without a test_run_id or started_at is -EPROTO. */
int rs_get_run(struct rs_client *c, const char *bucket_key, const char *test_id,
               const char *test_run_id, struct rs_run_detail *ret,
               struct err *err);

/* Seconds the last answer asked to wait (Retry-After), or -1. */
double rs_retry_after(const struct rs_client *c);

/* Parsers behind the calls, for unit tests on fixtures. body is the whole
 * answer (envelope included); same returns and ownership as the calls. */
int rs_parse_buckets(const char *body, size_t len, int max_depth,
                     struct rs_bucket **ret, size_t *ret_n, struct err *err);
int rs_parse_bucket(const char *body, size_t len, int max_depth,
                    struct rs_bucket *ret, struct err *err);
int rs_parse_tests(const char *body, size_t len, int max_depth,
                   struct rs_test **ret, size_t *ret_n, struct err *err);
/* The same with json-c's tree only (rs_parse_tests reads ordinary pages
 * without one): the unit tests check that both always agree. */
int rs_tree_tests(const char *body, size_t len, int max_depth,
                  struct rs_test **ret, size_t *ret_n, struct err *err);
int rs_parse_test_detail(const char *body, size_t len, int max_depth,
                         struct rs_test_detail *ret, struct err *err);
int rs_parse_runs(const char *body, size_t len, int max_depth,
                  struct rs_run **ret, size_t *ret_n, struct err *err);
int rs_parse_run_detail(const char *body, size_t len, int max_depth,
                        struct rs_run_detail *ret, struct err *err);
/* The runs of a trigger answer (data.runs[], at most RS_STARTED_MAX; items
 * without a test_run_id are skipped). *ret is the caller's to free. */
int rs_parse_trigger(const char *body, size_t len, int max_depth,
                     struct rs_started_run **ret, size_t *ret_n,
                     struct err *err);

/* ---- captured traffic: a bucket's Errors stream and its messages ---- */

/* Most messages rs_list_errors returns for one call (it pages with
 * `before`); more are left out and *ret_truncated says so. */
#define RS_MESSAGES_MAX 1000
#define RS_METHOD_MAX 16

/* Which fields a message answer carried (struct rs_message `have`). */
#define RS_MSG_METHOD 0x1u
#define RS_MSG_HOST 0x2u
#define RS_MSG_PATH 0x4u
#define RS_MSG_STATUS 0x8u /* set with status 0 for "response": null */

/* A captured request/response pair ("message"). Strings the answer did not
 * carry are "", and `have` says which of method, host, path and status it
 * did carry (a list item may leave some out; the message detail has
 * them). Too long a host or path is cut (they are matched and displayed);
 * too long a uuid makes the item unusable. */
struct rs_message {
  char uuid[RS_ID_MAX];
  char method[RS_METHOD_MAX];
  char host[RS_NAME_MAX];
  char path[RS_URL_MAX];
  int status;       /* the response's status; 0 when there was none */
  double timestamp; /* the request's time, Unix seconds */
  unsigned have;    /* RS_MSG_* */
};

/* GET /buckets/{key}/errors?count=100&since=SINCE, paging back with
 * `before` while pages are full, up to RS_MESSAGES_MAX messages (the newest
 * are kept; *ret_truncated is then true). since and before are sent as
 * whole seconds, as the documentation's examples do (since rounded down,
 * before up: a message may come twice, never not at all). Items without a
 * uuid or a time are skipped. *ret (caller frees; never NULL on success)
 * holds the messages oldest first, by time then uuid. since <= 0 asks for
 * the newest page only. */
int rs_list_errors(struct rs_client *c, const char *bucket_key, double since,
                   struct rs_message **ret, size_t *ret_n, bool *ret_truncated,
                   struct err *err);

/* GET /buckets/{key}/messages/{uuid}: one message, with every field the
 * answer carries. */
int rs_get_message(struct rs_client *c, const char *bucket_key,
                   const char *uuid, struct rs_message *ret, struct err *err);

/* Parsers behind the two calls, for unit tests on fixtures: a message list
 * (data an array of messages) and a message detail (data the message). */
int rs_parse_messages(const char *body, size_t len, int max_depth,
                      struct rs_message **ret, size_t *ret_n, struct err *err);
int rs_parse_message(const char *body, size_t len, int max_depth,
                     struct rs_message *ret, struct err *err);

#endif
