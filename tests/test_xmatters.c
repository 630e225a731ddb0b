/* SPDX-License-Identifier: MIT */
/* Unit tests of the xMatters client: the trigger body, the events parser on
 * recorded-shape fixtures, and the calls end to end through a scripted fake
 * transport. */
#include "clients/xm_internal.h"
#include "clients/xmatters.h"
#include "testutil.h"
#include "util/jsonx.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DEPTH 64
#define BASE "https://corp.xmatters.test:8443"
#define USER "rest-user"
#define PASSWORD "pw-9d2e-hunter2"
#define API_KEY "k-51c0ffee-apikey"
#define TRIGGER                                                                \
  BASE "/api/integration/1/functions/4b0a5c1e-9f2d-4c3b-8a7e-6d5c4b3a2f1e/"    \
       "triggers"

static struct fake fk;
static struct http_client *http;
static struct xm_client *xm;

static void setup(void) {
  memset(&fk, 0, sizeof(fk));
  struct http_opts opts = {
      .timeout_ms = 1000, .max_response_bytes = 1 << 20, .user_agent = "test"};
  http = http_new(&opts);
  ck_assert_ptr_nonnull(http);
  http_set_transport(http, fake_transport, &fk);
  xm = xm_new(http, BASE "/", USER, PASSWORD, DEPTH);
  ck_assert_ptr_nonnull(xm);
}

static void teardown(void) {
  xm_free(xm);
  http_free(http);
  fake_fini(&fk);
}

/* Asserts the n-th request: method, URL and Basic credentials. */
static void assert_req(size_t n, const char *method, const char *url,
                       const char *user, const char *password) {
  ck_assert_uint_gt(fk.n_reqs, n);
  const struct fake_request *r = &fk.reqs[n];
  ck_assert_str_eq(r->method, method);
  ck_assert_str_eq(r->url, url);
  ck_assert_ptr_null(r->bearer);
  if (user == NULL)
    ck_assert_ptr_null(r->user);
  else
    ck_assert_str_eq(r->user, user);
  if (password == NULL)
    ck_assert_ptr_null(r->password);
  else
    ck_assert_str_eq(r->password, password);
}

/* Asserts that err names none of the secrets. */
static void assert_no_secrets(const struct err *err) {
  ck_assert_msg(strstr(err->msg, PASSWORD) == NULL, "%s", err->msg);
  ck_assert_msg(strstr(err->msg, API_KEY) == NULL, "%s", err->msg);
}

/* ---- the trigger body ---- */

static const struct xm_prop props[] = {
    {"runscope_key", XM_PROP_TEXT, "bkt/tst/env", 0},
    {"test_name", XM_PROP_TEXT, "Login \"API\" / \xc3\xa9t\xc3\xa9", 0},
    {"failures", XM_PROP_NUMBER, NULL, 3},
    {"started_at", XM_PROP_NUMBER, NULL, 1406036406.5},
    {"big", XM_PROP_NUMBER, NULL, 1406036406},
    {"not_a_number", XM_PROP_NUMBER, NULL, NAN},
    {"no_text", XM_PROP_TEXT, NULL, 0},
};
static const char *const recipients[] = {"api-oncall", "mmcbride"};

/* Builds the body of req and parses it back. */
static json_object *build(const struct xm_trigger_req *req) {
  struct buf b;
  json_object *o = NULL;
  struct err err;
  buf_init(&b, 1 << 16);
  ck_assert_int_eq(xm_build_trigger_body(req, &b), 0);
  ck_assert_msg(jsonx_parse(b.data, b.len, 8, &o, &err) == 0, "%s: %s", b.data,
                err.msg);
  buf_fini(&b);
  return o;
}

static void assert_option(json_object *opt, int number, const char *text,
                          const char *description, const char *action,
                          const char *contribution, bool allow_comments) {
  ck_assert_int_eq(jsonx_int(opt, "number", -1), number);
  ck_assert_str_eq(jsonx_str(opt, "text"), text);
  ck_assert_str_eq(jsonx_str(opt, "prompt"), text);
  ck_assert_str_eq(jsonx_str(opt, "description"), description);
  ck_assert_str_eq(jsonx_str(opt, "action"), action);
  ck_assert_str_eq(jsonx_str(opt, "contribution"), contribution);
  ck_assert(!jsonx_bool(opt, "joinConference", true));
  ck_assert(jsonx_bool(opt, "allowComments", !allow_comments) ==
            allow_comments);
}

START_TEST(body_full) {
  struct xm_trigger_req req = {props,  N(props),      recipients, 2,
                               "HIGH", "Acknowledge", "Rerun"};
  json_object *o = build(&req);
  json_object *p = jsonx_obj(o, "properties");
  ck_assert_int_eq(json_object_object_length(p), N(props));
  ck_assert_str_eq(jsonx_str(p, "runscope_key"), "bkt/tst/env");
  ck_assert_str_eq(jsonx_str(p, "test_name"),
                   "Login \"API\" / \xc3\xa9t\xc3\xa9");
  json_object *v = NULL;
  ck_assert(json_object_object_get_ex(p, "failures", &v));
  ck_assert(json_object_is_type(v, json_type_int)); /* whole: an integer */
  ck_assert_int_eq(json_object_get_int64(v), 3);
  ck_assert(json_object_object_get_ex(p, "started_at", &v));
  ck_assert(json_object_is_type(v, json_type_double));
  ck_assert_double_eq(json_object_get_double(v), 1406036406.5);
  ck_assert(json_object_object_get_ex(p, "big", &v));
  ck_assert(json_object_is_type(v, json_type_int));
  ck_assert_int_eq(json_object_get_int64(v), 1406036406);
  ck_assert(json_object_object_get_ex(p, "not_a_number", &v));
  ck_assert_ptr_null(v); /* NaN is not JSON: null */
  ck_assert_str_eq(jsonx_str(p, "no_text"), "");

  json_object *r = jsonx_arr(o, "recipients");
  ck_assert_uint_eq(json_object_array_length(r), 2);
  ck_assert_str_eq(jsonx_str(json_object_array_get_idx(r, 0), "id"),
                   "api-oncall");
  ck_assert_str_eq(jsonx_str(json_object_array_get_idx(r, 1), "id"),
                   "mmcbride");
  ck_assert_str_eq(jsonx_str(o, "priority"), "HIGH");

  json_object *opts = jsonx_arr(o, "responseOptions");
  ck_assert_uint_eq(json_object_array_length(opts), 2);
  assert_option(json_object_array_get_idx(opts, 0), 1, "Acknowledge",
                "Acknowledge", "STOP_NOTIFYING_TARGET", "POSITIVE", true);
  assert_option(json_object_array_get_idx(opts, 1), 2, "Rerun",
                "Run the Runscope test again", "RECORD_RESPONSE", "NEUTRAL",
                false);
  json_object_put(o);
}
END_TEST

START_TEST(body_minimal) {
  /* FYI: no recipients, no priority, no response options */
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  json_object *o = build(&req);
  ck_assert_int_eq(json_object_object_length(o), 1);
  ck_assert_str_eq(jsonx_str(jsonx_obj(o, "properties"), "runscope_key"),
                   "bkt/tst/env");
  json_object_put(o);
  /* no properties at all still sends an object */
  struct xm_trigger_req empty = {NULL, 0, NULL, 0, NULL, NULL, NULL};
  o = build(&empty);
  ck_assert_ptr_nonnull(jsonx_obj(o, "properties"));
  ck_assert_int_eq(json_object_object_length(jsonx_obj(o, "properties")), 0);
  json_object_put(o);
}
END_TEST

START_TEST(body_one_option) {
  struct xm_trigger_req req = {props, 1, NULL, 0, "LOW", "Got it", NULL};
  json_object *o = build(&req);
  json_object *opts = jsonx_arr(o, "responseOptions");
  ck_assert_uint_eq(json_object_array_length(opts), 1);
  assert_option(json_object_array_get_idx(opts, 0), 1, "Got it", "Got it",
                "STOP_NOTIFYING_TARGET", "POSITIVE", true);
  ck_assert_ptr_null(jsonx_arr(o, "recipients"));
  json_object_put(o);
}
END_TEST

START_TEST(body_too_large) {
  struct xm_trigger_req req = {props,  N(props),      recipients, 2,
                               "HIGH", "Acknowledge", "Rerun"};
  struct buf b;
  buf_init(&b, 64);
  ck_assert_int_eq(xm_build_trigger_body(&req, &b), -EMSGSIZE);
  buf_fini(&b);
}
END_TEST

/* ---- parsers ---- */

START_TEST(parse_events_fixture) {
  size_t len, n = 0;
  char *body = fixture("xmatters_events.json", &len);
  struct xm_event *ev = NULL;
  char next[256] = "stale";
  struct err err;
  ck_assert_int_eq(
      xm_parse_events_page(body, len, DEPTH, &ev, &n, next, sizeof(next), &err),
      0);
  ck_assert_uint_eq(n, 2); /* the id-less event is skipped */
  ck_assert_str_eq(next, "");
  ck_assert_str_eq(ev[0].id, "116f41dc-395c-4bba-a806-df1eda88f4aa");
  ck_assert_str_eq(ev[0].event_id, "981006"); /* a string */
  ck_assert_str_eq(ev[0].status, "TERMINATED");
  ck_assert_str_eq(ev[0].request_id, "");
  ck_assert_str_eq(ev[0].runscope_key, "");
  ck_assert_str_eq(ev[1].event_id, "2132003"); /* a number */
  ck_assert_str_eq(ev[1].status, "ACTIVE");
  ck_assert_str_eq(ev[1].request_id, "93e6b331-2108-424d-872b-8200b476907b");
  ck_assert_str_eq(ev[1].runscope_key, /* from runscope_key#en */
                   "6knqwmwvqpzr/db4cc896-2804-4520-ad06-0caf3bf216a8/"
                   "abcdc896-2804-4520-ad06-0caf3bf216a8");
  free(ev);
  free(body);
}
END_TEST

START_TEST(parse_events_appends) {
  size_t len1, len2, n = 0;
  char *p1 = fixture("xmatters_events_page1.json", &len1);
  char *p2 = fixture("xmatters_events_page2.json", &len2);
  struct xm_event *ev = NULL;
  char next[512];
  ck_assert_int_eq(
      xm_parse_events_page(p1, len1, DEPTH, &ev, &n, next, sizeof(next), NULL),
      0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(next, "/api/xm/1/events?status=ACTIVE&propertyName="
                         "runscope_key&propertyValue=bkt%2Ftst%2Fenv&offset="
                         "2&limit=2");
  /* {"value": ...} with translations, under a #fr suffix */
  ck_assert_str_eq(ev[1].runscope_key, "bkt/tst/env");
  ck_assert_str_eq(ev[1].event_id, "1002");
  ck_assert_int_eq(
      xm_parse_events_page(p2, len2, DEPTH, &ev, &n, next, sizeof(next), NULL),
      0);
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(next, ""); /* "next": null */
  ck_assert_str_eq(ev[0].id, "a1111111-1111-4111-8111-111111111111");
  ck_assert_str_eq(ev[3].runscope_key, "bkt/tst/env-other");
  free(ev);
  free(p1);
  free(p2);
}
END_TEST

static const struct {
  const char *file; /* a fixture, or NULL for text */
  const char *text;
  size_t next_size;
  const char *cause;
} bad_pages[] = {
    {"xmatters_wrong_type.json", NULL, 256,
     "\"data\" is a JSON object, not array"},
    {"xmatters_truncated.json", NULL, 256, "truncated JSON"},
    {"xmatters_deep.json", NULL, 256, "JSON nesting deeper than 64"},
    {"xmatters_events_page1.json", NULL, 16, "links.next is longer than 15"},
    {NULL, "Service Unavailable", 256, "malformed JSON at offset 0"},
    {NULL, "[]", 256, "the answer is a JSON array, not an object"},
    {NULL, "{\"count\": 0}", 256, "the answer has no \"data\""},
    {NULL,
     "{\"data\": [{\"id\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789\"}]}",
     256, "data[0].id is longer than 79 bytes"},
    {NULL,
     "{\"data\": [{\"id\": \"x\", \"eventId\": "
     "\"123456789012345678901234567890123\"}]}",
     256, "data[0].eventId is longer than 31 bytes"},
};

START_TEST(parse_events_refuses) {
  size_t len, n = 0;
  char *body = bad_pages[_i].file ? fixture(bad_pages[_i].file, &len)
                                  : strdup(bad_pages[_i].text);
  if (bad_pages[_i].file == NULL)
    len = strlen(body);
  struct xm_event *ev = NULL;
  char next[256];
  struct err err;
  err_clear(&err);
  ck_assert_int_eq(xm_parse_events_page(body, len, DEPTH, &ev, &n, next,
                                        bad_pages[_i].next_size, &err),
                   -EPROTO);
  ck_assert_msg(strstr(err.msg, bad_pages[_i].cause) != NULL, "got \"%s\"",
                err.msg);
  ck_assert_str_eq(next, "");
  free(ev);
  free(body);
}
END_TEST

/* Events and user-deliveries pages are one shape, refused alike. */
static const struct {
  const char *text;
  size_t next_size;
  const char *msg;
} bad_list_pages[] = {
    {"[]", 256, "the answer is a JSON array, not an object"},
    {"{\"count\": 0}", 256, "the answer has no \"data\""},
    {"{\"data\": null}", 256, "the answer has no \"data\""},
    {"{\"data\": {}}", 256, "\"data\" is a JSON object, not array"},
    {"{\"data\": [], \"links\": {\"next\": \"/api/xm/1/events?offset=100\"}}",
     8, "links.next is longer than 7 bytes"},
    {"{\"data\": [", 256, "truncated JSON"},
};

START_TEST(list_pages_refuse_alike) {
  const char *text = bad_list_pages[_i].text;
  struct xm_event *ev = NULL;
  struct xm_delivery *d = NULL;
  size_t n_ev = 0, n_d = 0;
  char next[256] = "stale";
  struct err err_ev, err_d;
  ck_assert_int_eq(xm_parse_events_page(text, strlen(text), DEPTH, &ev, &n_ev,
                                        next, bad_list_pages[_i].next_size,
                                        &err_ev),
                   -EPROTO);
  ck_assert_str_eq(next, "");
  ck_assert_int_eq(xm_parse_deliveries_page(text, strlen(text), DEPTH, &d, &n_d,
                                            next, bad_list_pages[_i].next_size,
                                            &err_d),
                   -EPROTO);
  ck_assert_str_eq(next, "");
  ck_assert_msg(strstr(err_ev.msg, bad_list_pages[_i].msg) != NULL, "got %s",
                err_ev.msg);
  ck_assert_str_eq(err_d.msg, err_ev.msg);
  free(ev);
  free(d);
}
END_TEST

/* Items of a long page and of the pages after it are all kept, in order. */
START_TEST(list_pages_grow) {
  struct buf page;
  struct xm_event *ev = NULL;
  size_t n = 0;
  char next[64];
  buf_init(&page, 1 << 20);
  for (int p = 0; p < 3; p++) {
    buf_reset(&page);
    ck_assert_int_eq(buf_puts(&page, "{\"data\": ["), 0);
    for (int i = 0; i < 150; i++)
      ck_assert_int_eq(buf_printf(&page, "%s{\"id\": \"e%d\"}, 7",
                                  i ? ", " : "", p * 150 + i),
                       0);
    ck_assert_int_eq(buf_puts(&page, "]}"), 0);
    ck_assert_int_eq(xm_parse_events_page(page.data, page.len, DEPTH, &ev, &n,
                                          next, sizeof(next), NULL),
                     0);
    ck_assert_uint_eq(n, (size_t)(p + 1) * 150);
  }
  for (size_t i = 0; i < n; i++) {
    char want[32];
    snprintf(want, sizeof(want), "e%zu", i);
    ck_assert_str_eq(ev[i].id, want);
  }
  free(ev);
  buf_fini(&page);
}
END_TEST

static const struct {
  const char *body;
  size_t size;
  int rc;
  const char *request_id;
} request_ids[] = {
    {"{\"requestId\": \"93e6b331-2108-424d-872b-8200b476907b\"}", 80, 0,
     "93e6b331-2108-424d-872b-8200b476907b"},
    {"", 80, 0, ""},
    {" \r\n", 80, 0, ""},
    {"{}", 80, 0, ""},
    {"{\"requestId\": null}", 80, 0, ""},
    {"{\"id\": 2132004}", 80, 0, ""}, /* the legacy reapi answer */
    {"{\"requestId\": \"93e6b331-2108\"}", 8, -EPROTO, ""},
    {"Accepted", 80, -EPROTO, ""},
    {"{\"requestId\": \"abc\"", 80, -EPROTO, ""},
};

START_TEST(parse_request_id) {
  char id[80] = "stale";
  struct err err;
  ck_assert_int_eq(xm_parse_request_id(request_ids[_i].body,
                                       strlen(request_ids[_i].body), DEPTH, id,
                                       request_ids[_i].size, &err),
                   request_ids[_i].rc);
  ck_assert_str_eq(id, request_ids[_i].request_id);
}
END_TEST

/* ---- trigger ---- */

START_TEST(trigger_api_key) {
  answer_fixture(&fk, 202, "xmatters_trigger_202.json");
  struct xm_trigger_req req = {props,         2,      recipients, 1, "HIGH",
                               "Acknowledge", "Rerun"};
  char id[XM_ID_MAX] = "stale";
  struct err err;
  ck_assert_int_eq(
      xm_trigger(xm, TRIGGER "?apiKey=" API_KEY, &req, id, sizeof(id), &err),
      0);
  ck_assert_str_eq(id, "93e6b331-2108-424d-872b-8200b476907b");
  /* URL authentication: the URL as given, no Basic credentials */
  assert_req(0, "POST", TRIGGER "?apiKey=" API_KEY, NULL, NULL);
  ck_assert_str_eq(fk.reqs[0].content_type, "application/json");
  json_object *o = NULL;
  ck_assert_int_eq(
      jsonx_parse(fk.reqs[0].body, strlen(fk.reqs[0].body), 8, &o, NULL), 0);
  ck_assert_str_eq(jsonx_str(jsonx_obj(o, "properties"), "runscope_key"),
                   "bkt/tst/env");
  ck_assert_str_eq(jsonx_str(o, "priority"), "HIGH");
  ck_assert_uint_eq(json_object_array_length(jsonx_arr(o, "recipients")), 1);
  ck_assert_uint_eq(json_object_array_length(jsonx_arr(o, "responseOptions")),
                    2);
  json_object_put(o);
}
END_TEST

START_TEST(trigger_basic) {
  answer(&fk, 202, "");
  answer(&fk, 200, "Accepted");
  answer(&fk, 201, "{\"id\": 2132004}");
  answer(&fk, 202, "{\"requestId\": \"r7\"}");
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX] = "stale";
  struct err err;
  /* a 2xx without a requestId leaves the create in doubt: -EPROTO, which
   * xm_create_outcome calls XM_MAYBE_CREATED (issue 14) */
  ck_assert_int_eq(xm_trigger(xm, TRIGGER, &req, id, sizeof(id), &err),
                   -EPROTO);
  ck_assert_str_eq(id, "");
  ck_assert_str_eq(err.msg, "xMatters API: POST " TRIGGER
                            ": HTTP 202 answer without a requestId");
  assert_req(0, "POST", TRIGGER, USER, PASSWORD);
  /* so is a 2xx that is not JSON, or lacks requestId */
  strcpy(id, "stale");
  ck_assert_int_eq(xm_trigger(xm, TRIGGER "?x=1", &req, id, sizeof(id), &err),
                   -EPROTO);
  ck_assert_str_eq(id, "");
  ck_assert(strncmp(err.msg,
                    "xMatters API: POST " TRIGGER
                    "?x=1: HTTP 200 answer without a requestId: ",
                    strlen("xMatters API: POST " TRIGGER "?x=1: HTTP 200 "
                           "answer without a requestId: ")) == 0);
  assert_req(1, "POST", TRIGGER "?x=1", USER, PASSWORD);
  strcpy(id, "stale");
  ck_assert_int_eq(xm_trigger(xm, TRIGGER, &req, id, sizeof(id), &err),
                   -EPROTO);
  ck_assert_str_eq(id, "");
  ck_assert_int_eq(xm_trigger(xm, TRIGGER, &req, id, sizeof(id), &err), 0);
  ck_assert_str_eq(id, "r7");
}
END_TEST

/* Forward mode's post takes any 2xx as accepted, as before. */
START_TEST(post_json_any_2xx) {
  answer(&fk, 200, "<html>OK</html>");
  char id[XM_ID_MAX] = "stale";
  ck_assert_int_eq(xm_post_json(xm, TRIGGER, "{}", 2, id, sizeof(id), NULL), 0);
  ck_assert_str_eq(id, "");
}
END_TEST

START_TEST(trigger_no_credentials) {
  struct xm_client *anon = xm_new(http, BASE, NULL, NULL, DEPTH);
  ck_assert_ptr_nonnull(anon);
  answer(&fk, 202, "{\"requestId\": \"r1\"}");
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX];
  ck_assert_int_eq(xm_trigger(anon, TRIGGER, &req, id, sizeof(id), NULL), 0);
  ck_assert_str_eq(id, "r1");
  assert_req(0, "POST", TRIGGER, NULL, NULL);
  xm_free(anon);
  xm_free(NULL);
}
END_TEST

/* Trigger statuses, the errno and the exact message (apiKey redacted). */
static const struct {
  long status;
  const char *file, *text;
  double retry_after;
  int rc;
  const char *msg;
} trigger_statuses[] = {
    {401, "xmatters_error_401.json", NULL, -1, -EACCES,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 401: Access "
     "token expired"},
    {403, NULL, "Forbidden", -1, -EACCES,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 403: "
     "Forbidden"},
    {404, "xmatters_error_404.json", NULL, -1, -ENOENT,
     "xMatters API: POST " TRIGGER
     "?apiKey=REDACTED&src=rs: HTTP 404: Not Found: "
     "Could not find an event with id e2c792c3-c5d5-430d-a109-0fbae07807fe"},
    {400, "xmatters_error_400.json", NULL, -1, -EINVAL,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 400: Bad "
     "Request: The property runscope_key is not defined on this form"},
    {429, NULL, "", 60, -EAGAIN,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 429"},
    {503, NULL, "<html><body>\n\nUpstream down</body></html>", -1, -EREMOTEIO,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 503: "
     "<html><body> Upstream down</body></html>"},
    /* a gateway's answer may come after xMatters accepted the event */
    {502, NULL, "Bad Gateway", -1, -EREMOTEIO,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 502: Bad "
     "Gateway"},
    {504, NULL, "", -1, -EREMOTEIO,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 504"},
    /* xMatters' own error: nothing was created */
    {500, NULL, "", -1, -EAGAIN,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 500"},
    /* an error body that echoes the key does not leak it */
    {401, NULL,
     "{\"code\": 401, \"reason\": \"Unauthorized\", \"message\": "
     "\"Bad apiKey " API_KEY "\"}",
     -1, -EACCES,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 401: "
     "Unauthorized: Bad apiKey REDACTED"},
    {302, NULL, NULL, -1, -EPROTO,
     "xMatters API: POST " TRIGGER "?apiKey=REDACTED&src=rs: HTTP 302"},
};

START_TEST(trigger_status_errno) {
  if (trigger_statuses[_i].file)
    answer_fixture(&fk, trigger_statuses[_i].status, trigger_statuses[_i].file);
  else
    answer(&fk, trigger_statuses[_i].status, trigger_statuses[_i].text);
  fk.answers[0].retry_after = trigger_statuses[_i].retry_after;
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX] = "stale";
  struct err err;
  ck_assert_int_eq(xm_trigger(xm, TRIGGER "?apiKey=" API_KEY "&src=rs", &req,
                              id, sizeof(id), &err),
                   trigger_statuses[_i].rc);
  ck_assert_str_eq(err.msg, trigger_statuses[_i].msg);
  assert_no_secrets(&err);
  ck_assert_str_eq(id, "");
  ck_assert_double_eq(xm_retry_after(xm), trigger_statuses[_i].retry_after);
}
END_TEST

/* A refusal that echoes the password or the apiKey where the message is
 * cut leaves no part of either: scrubbed from the whole text, then cut.
 * _i pads the text so that the cut falls at every byte of the secret. */
START_TEST(trigger_secret_at_the_cut) {
  char body[1200], pad[700];
  size_t n = 260 + (size_t)_i % 120;
  const char *secret = _i < 120 ? PASSWORD : API_KEY;
  memset(pad, 'x', n);
  pad[n] = '\0';
  snprintf(body, sizeof(body),
           "{\"reason\": \"Unauthorized\", \"message\": "
           "\"%s %s x\"}",
           pad, secret);
  answer(&fk, 401, body);
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX];
  struct err err;
  ck_assert_int_eq(xm_trigger(xm, TRIGGER "?apiKey=" API_KEY "&src=rs", &req,
                              id, sizeof(id), &err),
                   -EACCES);
  ck_assert_msg(strstr(err.msg, _i < 120 ? "pw-9" : "k-51") == NULL, "%s",
                err.msg);
}
END_TEST

START_TEST(trigger_transport_error) {
  fk.answers[0].rc = -ETIMEDOUT;
  fk.n_answers = 1;
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX];
  struct err err;
  ck_assert_int_eq(
      xm_trigger(xm, TRIGGER "?apiKey=" API_KEY, &req, id, sizeof(id), &err),
      -ETIMEDOUT);
  ck_assert_str_eq(err.msg, "xMatters API: POST " TRIGGER
                            "?apiKey=REDACTED: scripted failure");
  assert_no_secrets(&err);
  ck_assert_double_eq(xm_retry_after(xm), -1);
}
END_TEST

/* A prepared body goes out byte for byte, authenticated as a trigger. */
START_TEST(post_json_body) {
  static const char body[] = "{\"test_run_id\": \"r1\", \"result\": \"fail\"}";
  answer_fixture(&fk, 202, "xmatters_trigger_202.json");
  answer(&fk, 202, "");
  char id[XM_ID_MAX] = "stale";
  struct err err;
  ck_assert_int_eq(xm_post_json(xm, TRIGGER "?apiKey=" API_KEY, body,
                                strlen(body), id, sizeof(id), &err),
                   0);
  ck_assert_str_eq(id, "93e6b331-2108-424d-872b-8200b476907b");
  assert_req(0, "POST", TRIGGER "?apiKey=" API_KEY, NULL, NULL);
  ck_assert_str_eq(fk.reqs[0].content_type, "application/json");
  ck_assert_str_eq(fk.reqs[0].body, body);
  /* without an apiKey: the client's Basic credentials; no id asked for */
  ck_assert_int_eq(xm_post_json(xm, TRIGGER, body, 5, NULL, 0, &err), 0);
  assert_req(1, "POST", TRIGGER, USER, PASSWORD);
  ck_assert_str_eq(fk.reqs[1].body, "{\"tes");
}
END_TEST

/* The same statuses give the same errors as xm_trigger. */
START_TEST(post_json_status_errno) {
  if (trigger_statuses[_i].file)
    answer_fixture(&fk, trigger_statuses[_i].status, trigger_statuses[_i].file);
  else
    answer(&fk, trigger_statuses[_i].status, trigger_statuses[_i].text);
  fk.answers[0].retry_after = trigger_statuses[_i].retry_after;
  char id[XM_ID_MAX] = "stale";
  struct err err;
  ck_assert_int_eq(xm_post_json(xm, TRIGGER "?apiKey=" API_KEY "&src=rs", "{}",
                                2, id, sizeof(id), &err),
                   trigger_statuses[_i].rc);
  ck_assert_str_eq(err.msg, trigger_statuses[_i].msg);
  assert_no_secrets(&err);
  ck_assert_str_eq(id, "");
  ck_assert_double_eq(xm_retry_after(xm), trigger_statuses[_i].retry_after);
}
END_TEST

START_TEST(post_json_transport_error) {
  fk.answers[0].rc = -ECONNRESET;
  fk.n_answers = 1;
  char id[XM_ID_MAX] = "stale";
  struct err err;
  ck_assert_int_eq(xm_post_json(xm, TRIGGER "?apiKey=" API_KEY, "{}", 2, id,
                                sizeof(id), &err),
                   -ECONNRESET);
  ck_assert(http_maybe_sent(-ECONNRESET));
  ck_assert_str_eq(id, "");
  assert_no_secrets(&err);
}
END_TEST

/* ---- what a trigger's answer means ---- */

static const struct {
  int rc;
  enum xm_create_outcome outcome;
} outcomes[] = {
    {0, XM_CREATED},
    /* an explicit answer that refuses: nothing was created */
    {-EAGAIN, XM_NOT_CREATED},
    {-EACCES, XM_NOT_CREATED},
    {-ENOENT, XM_NOT_CREATED},
    {-EINVAL, XM_NOT_CREATED},
    /* never sent */
    {-ECONNREFUSED, XM_NOT_CREATED},
    {-ENOMEM, XM_NOT_CREATED},
    /* a lost answer, a gateway's, or one of another kind: it may exist */
    {-EREMOTEIO, XM_MAYBE_CREATED},
    {-ETIMEDOUT, XM_MAYBE_CREATED},
    {-ECONNRESET, XM_MAYBE_CREATED},
    {-EIO, XM_MAYBE_CREATED},
    {-EMSGSIZE, XM_MAYBE_CREATED},
    {-EPROTO, XM_MAYBE_CREATED},
};

START_TEST(create_outcome) {
  ck_assert_int_eq(xm_create_outcome(outcomes[_i].rc), outcomes[_i].outcome);
}
END_TEST

/* The same rule on what xm_trigger returns for scripted answers. */
static const struct {
  int transport_rc; /* 0: the status below answers */
  long status;
  const char *body;
  enum xm_create_outcome outcome;
} trigger_outcomes[] = {
    {0, 202, "{\"requestId\": \"r1\"}", XM_CREATED},
    {0, 200, "{\"requestId\": \"r1\"}", XM_CREATED},
    {0, 400, "{}", XM_NOT_CREATED},
    {0, 401, "{}", XM_NOT_CREATED},
    {0, 404, "{}", XM_NOT_CREATED},
    {0, 429, "{}", XM_NOT_CREATED},
    {0, 500, "{}", XM_NOT_CREATED},
    /* answers that may come after xMatters accepted the event */
    {0, 502, "<html>Bad Gateway</html>", XM_MAYBE_CREATED},
    {0, 503, "{}", XM_MAYBE_CREATED},
    {0, 504, "", XM_MAYBE_CREATED},
    {0, 202, "<html>Accepted</html>", XM_MAYBE_CREATED},
    {0, 200, "{}", XM_MAYBE_CREATED},
    {0, 302, "{}", XM_MAYBE_CREATED},
    {-ETIMEDOUT, 0, "", XM_MAYBE_CREATED},
    {-ECONNRESET, 0, "", XM_MAYBE_CREATED},
    {-ECONNREFUSED, 0, "", XM_NOT_CREATED},
};

START_TEST(trigger_outcome) {
  answer(&fk, trigger_outcomes[_i].status, trigger_outcomes[_i].body);
  fk.answers[0].rc = trigger_outcomes[_i].transport_rc;
  struct xm_trigger_req req = {props, 1, NULL, 0, NULL, NULL, NULL};
  char id[XM_ID_MAX];
  int rc = xm_trigger(xm, TRIGGER, &req, id, sizeof(id), NULL);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_int_eq(xm_create_outcome(rc), trigger_outcomes[_i].outcome);
}
END_TEST

/* ---- finding events ---- */

#define OPEN_Q(statuses)                                                       \
  BASE "/api/xm/1/events?status=" statuses "&embed=properties&"                \
       "propertyValueOperator=EQUALS&propertyName=runscope_key&"               \
       "propertyValue=bkt%2Ftst%2Fenv&limit=100"
#define ACTIVE_Q OPEN_Q("ACTIVE,SUSPENDED")

START_TEST(find_active_pages) {
  answer_fixture(&fk, 200, "xmatters_events_page1.json");
  answer_fixture(&fk, 200, "xmatters_events_page2.json");
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 2);
  assert_req(0, "GET", ACTIVE_Q, USER, PASSWORD);
  /* the relative next link, on the base URL's origin */
  assert_req(1, "GET",
             BASE "/api/xm/1/events?status=ACTIVE&propertyName=runscope_key&"
                  "propertyValue=bkt%2Ftst%2Fenv&offset=2&limit=2",
             USER, PASSWORD);
  /* the one with another key's property is dropped, and so is the one
   * without properties in an embedded answer */
  ck_assert_uint_eq(n, 2);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(ev[i].runscope_key, "bkt/tst/env");
  ck_assert_str_eq(ev[1].id, "a2222222-2222-4222-8222-222222222222");
  ck_assert_str_eq(ev[1].event_id, "1002");
  ck_assert_str_eq(ev[1].status, "SUSPENDED");
  free(ev);
}
END_TEST

START_TEST(find_active_empty) {
  answer_fixture(&fk, 200, "xmatters_events_empty.json");
  struct xm_event *ev = NULL;
  size_t n = 9;
  ck_assert_int_eq(xm_find_active(xm, "a,b c", &ev, &n, NULL), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_nonnull(ev);
  /* a comma inside a value is %2C, not a list separator */
  assert_req(0, "GET",
             BASE "/api/xm/1/events?status=ACTIVE,SUSPENDED&embed=properties&"
                  "propertyValueOperator=EQUALS&propertyName=runscope_key&"
                  "propertyValue=a%2Cb%20c&limit=100",
             USER, PASSWORD);
  free(ev);
}
END_TEST

START_TEST(find_active_other_origin) {
  answer_fixture(&fk, 200, "xmatters_events_offorigin.json");
  struct xm_event *ev = (struct xm_event *)&fk;
  size_t n = 9;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, &err), -EPROTO);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_ptr_null(ev);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg,
                   "xMatters API: GET /api/xm/1/events: links.next points at "
                   "another origin: https://evil.example.net/api/xm/1/events?"
                   "offset=1&limit=1&apiKey=REDACTED");
}
END_TEST

/* The properties of an event of key "k". */
#define K_PROPS "\"properties\": {\"runscope_key#en\": \"k\"}"

START_TEST(find_active_same_origin_absolute) {
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\", " K_PROPS "}], \"links\": {\"next\": "
         "\"HTTPS://corp.xmatters.test:8443/api/xm/1/events?offset=1\"}}");
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e2\", " K_PROPS "}], \"links\": {}}");
  struct xm_event *ev = NULL;
  size_t n = 0;
  ck_assert_int_eq(xm_find_active(xm, "k", &ev, &n, NULL), 0);
  ck_assert_uint_eq(n, 2);
  assert_req(1, "GET",
             "HTTPS://corp.xmatters.test:8443/api/xm/1/events?offset=1", USER,
             PASSWORD);
  free(ev);
}
END_TEST

START_TEST(find_active_loops) {
  /* a next link that points at the page itself */
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\"}], \"links\": {\"next\": "
         "\"/api/xm/1/events?offset=1\"}}");
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e2\"}], \"links\": {\"next\": "
         "\"/api/xm/1/events?offset=1\"}}");
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "k", &ev, &n, &err), -EPROTO);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_str_eq(err.msg, "xMatters API: GET /api/xm/1/events: links.next "
                            "repeats the page it is on");
  ck_assert_ptr_null(ev);
}
END_TEST

START_TEST(find_active_bounded) {
  /* next links that never end: stop after a bounded number of pages */
  for (int i = 0; i < FAKE_MAX; i++) {
    char body[256];
    snprintf(body, sizeof(body),
             "{\"data\": [], \"links\": {\"next\": "
             "\"/api/xm/1/events?offset=%d\"}}",
             i + 1);
    answer(&fk, 200, body);
  }
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "k", &ev, &n, &err), -EPROTO);
  ck_assert_uint_eq(fk.n_reqs, 100);
  ck_assert_ptr_nonnull(strstr(err.msg, "more than 100 pages"));
}
END_TEST

/* An embedded answer holds only what the key search asks for: another
 * key that contains this one (CONTAINS matching), and an event without the
 * property, are not the key's; no key is stamped on them. */
START_TEST(find_active_other_keys) {
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\", \"status\": \"ACTIVE\", "
         "\"properties\": {\"runscope_key#en\": \"bkt/tst/env2\"}}, "
         "{\"id\": \"e2\", \"status\": \"ACTIVE\"}, "
         "{\"id\": \"e3\", \"status\": \"SUSPENDED\", "
         "\"properties\": {\"runscope_key#en\": \"bkt/tst/env\"}}, "
         "{\"id\": \"e4\", \"status\": \"ACTIVE\", "
         "\"properties\": {\"other\": \"bkt/tst/env\"}}]}");
  struct xm_event *ev = NULL;
  size_t n = 0;
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(ev[0].id, "e3");
  ck_assert_str_eq(ev[0].status, "SUSPENDED");
  free(ev);
}
END_TEST

#define BAD_STATUS                                                             \
  "{\"code\": 400, \"reason\": \"Bad Request\", \"message\": \"Invalid "       \
  "status\"}"

/* A 400 for the list of statuses: one request per status, merged. */
START_TEST(find_active_status_fallback) {
  answer(&fk, 400, BAD_STATUS);
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\", \"status\": \"ACTIVE\", "
         "\"properties\": {\"runscope_key#en\": \"bkt/tst/env\"}}]}");
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e2\", \"status\": \"SUSPENDED\", "
         "\"properties\": {\"runscope_key#en\": \"bkt/tst/env\"}}, "
         "{\"id\": \"e3\", \"status\": \"SUSPENDED\", "
         "\"properties\": {\"runscope_key#en\": \"bkt/tst/env/x\"}}]}");
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  assert_req(0, "GET", OPEN_Q("ACTIVE,SUSPENDED"), USER, PASSWORD);
  assert_req(1, "GET", OPEN_Q("ACTIVE"), USER, PASSWORD);
  assert_req(2, "GET", OPEN_Q("SUSPENDED"), USER, PASSWORD);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(ev[0].id, "e1");
  ck_assert_str_eq(ev[1].id, "e2");
  free(ev);
}
END_TEST

/* The fallback fails as a whole when either of its requests fails. */
START_TEST(find_active_fallback_fails) {
  answer(&fk, 400, BAD_STATUS);
  answer(&fk, 200, "{\"data\": [{\"id\": \"e1\"}]}");
  answer(&fk, 503, "Service Unavailable");
  struct xm_event *ev = (struct xm_event *)&fk;
  size_t n = 9;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, &err), -EAGAIN);
  ck_assert_uint_eq(fk.n_reqs, 3);
  ck_assert_ptr_null(ev);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg, "xMatters API: GET /api/xm/1/events: HTTP 503: "
                            "Service Unavailable");
  /* a 400 for one status alone too: that 400 is the answer */
  answer(&fk, 400, BAD_STATUS);
  answer(&fk, 400, BAD_STATUS);
  ck_assert_int_eq(xm_find_active(xm, "bkt/tst/env", &ev, &n, &err), -EINVAL);
  ck_assert_uint_eq(fk.n_reqs, 5);
  ck_assert_ptr_null(ev);
}
END_TEST

START_TEST(find_by_request) {
  answer_fixture(&fk, 200, "xmatters_events.json");
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  ck_assert_int_eq(xm_find_by_request(xm,
                                      "93e6b331-2108-424d-872b-8200b476907b",
                                      &ev, &n, &err),
                   0);
  assert_req(0, "GET",
             BASE "/api/xm/1/events?requestId="
                  "93e6b331-2108-424d-872b-8200b476907b&limit=100",
             USER, PASSWORD);
  ck_assert_uint_eq(n, 2); /* the event without a requestId is kept */
  ck_assert_str_eq(ev[1].id, "e2c792c3-c5d5-430d-a109-0fbae07807fe");
  free(ev);
  /* an event with another requestId is dropped */
  answer_fixture(&fk, 200, "xmatters_events.json");
  ck_assert_int_eq(xm_find_by_request(xm, "other", &ev, &n, &err), 0);
  ck_assert_uint_eq(n, 1);
  free(ev);
}
END_TEST

static const struct {
  long status;
  const char *text;
  int rc;
  const char *msg;
} find_statuses[] = {
    {401, "{\"error\": \"invalid_token\"}", -EACCES,
     "xMatters API: GET /api/xm/1/events: HTTP 401: invalid_token"},
    {403, "{\"code\": 403, \"reason\": \"Forbidden\"}", -EACCES,
     "xMatters API: GET /api/xm/1/events: HTTP 403: Forbidden"},
    {400,
     "{\"code\": 400, \"reason\": \"Bad Request\", \"message\": \"Unknown "
     "property " PASSWORD "\"}",
     -EINVAL,
     "xMatters API: GET /api/xm/1/events: HTTP 400: Bad Request: Unknown "
     "property "
     "REDACTED"},
    {500, NULL, -EAGAIN, "xMatters API: GET /api/xm/1/events: HTTP 500"},
    {200, "{\"data\": {}}", -EPROTO,
     "xMatters API: GET /api/xm/1/events: \"data\" is a JSON object, not "
     "array"},
    {200, "", -EPROTO, "xMatters API: GET /api/xm/1/events: empty JSON text"},
};

/* Scripts the i-th of find_statuses; a 400 twice, as the list of statuses
 * is asked again for ACTIVE alone. */
static void answer_find_status(int i) {
  answer(&fk, find_statuses[i].status, find_statuses[i].text);
  if (find_statuses[i].status == 400)
    answer(&fk, find_statuses[i].status, find_statuses[i].text);
}

START_TEST(find_status_errno) {
  answer_find_status(_i);
  struct xm_event *ev = (struct xm_event *)&fk;
  size_t n = 4;
  struct err err;
  ck_assert_int_eq(xm_find_active(xm, "k", &ev, &n, &err),
                   find_statuses[_i].rc);
  ck_assert_str_eq(err.msg, find_statuses[_i].msg);
  assert_no_secrets(&err);
  ck_assert_ptr_null(ev);
  ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- listing every active event ---- */

#define LIST_Q(statuses)                                                       \
  BASE "/api/xm/1/events?status=" statuses "&embed=properties&limit=100"
#define CHECK_Q BASE "/api/xm/1/events?status=ACTIVE&limit=1"

static bool capped; /* what the last xm_list_active said */

START_TEST(list_active_pages) {
  answer_fixture(&fk, 200, "xmatters_events_page1.json");
  answer_fixture(&fk, 200, "xmatters_events_page2.json");
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err;
  capped = true;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, &err), 0);
  ck_assert(!capped);
  ck_assert_uint_eq(fk.n_reqs, 2);
  assert_req(0, "GET", LIST_Q("ACTIVE,SUSPENDED"), USER, PASSWORD);
  assert_req(1, "GET",
             BASE "/api/xm/1/events?status=ACTIVE&propertyName=runscope_key&"
                  "propertyValue=bkt%2Ftst%2Fenv&offset=2&limit=2",
             USER, PASSWORD);
  /* 1003 has no properties: dropped; every key is kept as it came */
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(ev[0].event_id, "1001");
  ck_assert_str_eq(ev[0].runscope_key, "bkt/tst/env");
  ck_assert_str_eq(ev[1].event_id, "1002"); /* runscope_key#fr, a value */
  ck_assert_str_eq(ev[1].runscope_key, "bkt/tst/env");
  ck_assert_str_eq(ev[2].id, "a4444444-4444-4444-8444-444444444444");
  ck_assert_str_eq(ev[2].runscope_key, "bkt/tst/env-other"); /* #en */
  free(ev);
}
END_TEST

START_TEST(list_active_keyless_dropped) {
  /* one event with properties but no runscope_key, one with
   * runscope_key#en, one without an id */
  answer_fixture(&fk, 200, "xmatters_events.json");
  struct xm_event *ev = NULL;
  size_t n = 0;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 1);
  assert_req(0, "GET", LIST_Q("ACTIVE,SUSPENDED"), USER, PASSWORD);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(ev[0].id, "e2c792c3-c5d5-430d-a109-0fbae07807fe");
  ck_assert_str_eq(ev[0].runscope_key,
                   "6knqwmwvqpzr/db4cc896-2804-4520-ad06-0caf3bf216a8/"
                   "abcdc896-2804-4520-ad06-0caf3bf216a8");
  free(ev);
  /* none carries a key: an empty list */
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\", \"properties\": {\"runscope\": "
         "\"x\", \"runscope_keys\": \"y\"}}, {\"id\": \"e2\"}]}");
  n = 9;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, NULL), 0);
  ck_assert_uint_eq(n, 0);
  free(ev);
}
END_TEST

/* Listing asks for ACTIVE and SUSPENDED events, per status on a 400. */
START_TEST(list_active_status_fallback) {
  answer(&fk, 400, BAD_STATUS);
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e1\", \"status\": \"ACTIVE\", "
         "\"properties\": {\"runscope_key#en\": \"a/b/c\"}}]}");
  answer(&fk, 200,
         "{\"data\": [{\"id\": \"e2\", \"status\": \"SUSPENDED\", "
         "\"properties\": {\"runscope_key#en\": \"a/b/d\"}}, "
         "{\"id\": \"e3\", \"status\": \"SUSPENDED\"}]}");
  struct xm_event *ev = NULL;
  size_t n = 0;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, NULL), 0);
  ck_assert_uint_eq(fk.n_reqs, 3);
  assert_req(1, "GET", LIST_Q("ACTIVE"), USER, PASSWORD);
  assert_req(2, "GET", LIST_Q("SUSPENDED"), USER, PASSWORD);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(ev[1].runscope_key, "a/b/d");
  ck_assert_str_eq(ev[1].status, "SUSPENDED");
  free(ev);
}
END_TEST

START_TEST(list_active_no_credentials) {
  struct xm_client *anon = xm_new(http, BASE, NULL, NULL, DEPTH);
  ck_assert_ptr_nonnull(anon);
  answer_fixture(&fk, 200, "xmatters_events_empty.json");
  struct xm_event *ev = NULL;
  size_t n = 9;
  ck_assert_int_eq(xm_list_active(anon, NULL, &ev, &n, &capped, NULL), 0);
  ck_assert_uint_eq(n, 0);
  assert_req(0, "GET", LIST_Q("ACTIVE,SUSPENDED"), NULL, NULL);
  free(ev);
  xm_free(anon);
}
END_TEST

/* A page that fails after a good one: nothing is returned. */
START_TEST(list_active_second_page_fails) {
  answer_fixture(&fk, 200, "xmatters_events_page1.json");
  answer(&fk, 503, "Service Unavailable");
  struct xm_event *ev = (struct xm_event *)&fk;
  size_t n = 9;
  struct err err;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, &err), -EAGAIN);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_ptr_null(ev);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(err.msg, "xMatters API: GET /api/xm/1/events: HTTP 503: "
                            "Service Unavailable");
}
END_TEST

/* The statuses of finding events, for the listing. */
START_TEST(list_status_errno) {
  answer_find_status(_i);
  struct xm_event *ev = (struct xm_event *)&fk;
  size_t n = 4;
  struct err err;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, &err),
                   find_statuses[_i].rc);
  ck_assert_str_eq(err.msg, find_statuses[_i].msg);
  assert_no_secrets(&err);
  ck_assert_ptr_null(ev);
  ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- checking the credentials ---- */

START_TEST(check_credentials_one_page) {
  /* a next link is not followed: one request */
  answer(&fk, 200,
         "{\"count\": 1, \"total\": 3, \"data\": [{\"id\": \"e1\"}], "
         "\"links\": {\"next\": \"/api/xm/1/events?offset=1&limit=1\"}}");
  answer_fixture(&fk, 200, "xmatters_events_page2.json");
  struct err err;
  ck_assert_int_eq(xm_check_credentials(xm, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 1);
  assert_req(0, "GET", CHECK_Q, USER, PASSWORD);
}
END_TEST

static const struct {
  long status;
  const char *text;
  int rc;
  const char *msg; /* what err starts with; NULL: success */
} check_statuses[] = {
    {200, "{\"data\": [], \"links\": {}}", 0, NULL},
    {401, "{\"code\": 401, \"reason\": \"Unauthorized\"}", -EACCES,
     "xMatters API: GET /api/xm/1/events: HTTP 401: Unauthorized"},
    {403,
     "{\"code\": 403, \"reason\": \"Forbidden\", \"message\": \"user "
     "rest-user:" PASSWORD " lacks permission\"}",
     -EACCES,
     "xMatters API: GET /api/xm/1/events: HTTP 403: Forbidden: user "
     "rest-user:REDACTED lacks permission"},
    {503, "<html>Service Unavailable</html>", -EAGAIN,
     "xMatters API: GET /api/xm/1/events: HTTP 503: <html>Service "
     "Unavailable</html>"},
    /* a sign-in page from a proxy is no events page */
    {200, "<html>Sign in</html>", -EPROTO,
     "xMatters API: GET /api/xm/1/events: malformed JSON at offset 0"},
};

START_TEST(check_credentials_status) {
  answer(&fk, check_statuses[_i].status, check_statuses[_i].text);
  answer(&fk, 200, "{\"data\": []}"); /* never asked for */
  struct err err;
  err_clear(&err);
  ck_assert_int_eq(xm_check_credentials(xm, &err), check_statuses[_i].rc);
  ck_assert_uint_eq(fk.n_reqs, 1);
  assert_req(0, "GET", CHECK_Q, USER, PASSWORD);
  const char *want = check_statuses[_i].msg ? check_statuses[_i].msg : "";
  ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0 &&
                    (*want != '\0' || *err.msg == '\0'),
                "got \"%s\"", err.msg);
  assert_no_secrets(&err);
}
END_TEST

START_TEST(check_credentials_transport_error) {
  fk.answers[0].rc = -ECONNREFUSED;
  fk.n_answers = 1;
  struct err err;
  ck_assert_int_eq(xm_check_credentials(xm, &err), -ECONNREFUSED);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_str_eq(err.msg, "xMatters API: GET " CHECK_Q ": scripted failure");
}
END_TEST

/* ---- terminate ---- */

START_TEST(terminate_ok) {
  answer_fixture(&fk, 200, "xmatters_terminated.json");
  answer(&fk, 204, NULL);
  struct err err;
  ck_assert_int_eq(
      xm_terminate(xm, "e2c792c3-c5d5-430d-a109-0fbae07807fe", &err), 0);
  assert_req(0, "POST", BASE "/api/xm/1/events", USER, PASSWORD);
  ck_assert_str_eq(fk.reqs[0].content_type, "application/json");
  json_object *o = NULL;
  ck_assert_int_eq(
      jsonx_parse(fk.reqs[0].body, strlen(fk.reqs[0].body), 8, &o, NULL), 0);
  ck_assert_int_eq(json_object_object_length(o), 2);
  ck_assert_str_eq(jsonx_str(o, "id"), "e2c792c3-c5d5-430d-a109-0fbae07807fe");
  ck_assert_str_eq(jsonx_str(o, "status"), "TERMINATED");
  json_object_put(o);
  /* an id that needs escaping stays one JSON string */
  ck_assert_int_eq(xm_terminate(xm, "a\"b", &err), 0);
  ck_assert_int_eq(
      jsonx_parse(fk.reqs[1].body, strlen(fk.reqs[1].body), 8, &o, NULL), 0);
  ck_assert_str_eq(jsonx_str(o, "id"), "a\"b");
  json_object_put(o);
}
END_TEST

static const struct {
  long status;
  const char *file, *text;
  int rc;
  const char *msg;
} terminate_statuses[] = {
    {404, "xmatters_error_404.json", NULL, -ENOENT,
     "xMatters API: POST /api/xm/1/events: HTTP 404: Not Found: Could not find "
     "an "
     "event with id e2c792c3-c5d5-430d-a109-0fbae07807fe"},
    {400, NULL, "{\"code\": 400, \"message\": \"Invalid status\"}", -EINVAL,
     "xMatters API: POST /api/xm/1/events: HTTP 400: Invalid status"},
    {403, NULL,
     "{\"code\": 403, \"reason\": \"Forbidden\", \"message\": "
     "\"user rest-user:" PASSWORD " lacks permission\"}",
     -EACCES,
     "xMatters API: POST /api/xm/1/events: HTTP 403: Forbidden: user "
     "rest-user:REDACTED lacks permission"},
    {502, NULL, "Bad Gateway", -EAGAIN,
     "xMatters API: POST /api/xm/1/events: HTTP 502: Bad Gateway"},
    {409, NULL, "{\"code\":409,\"reason\":\"Conflict\",\"message\":\"\"}",
     -EINVAL, "xMatters API: POST /api/xm/1/events: HTTP 409: Conflict"},
};

START_TEST(terminate_status_errno) {
  if (terminate_statuses[_i].file)
    answer_fixture(&fk, terminate_statuses[_i].status,
                   terminate_statuses[_i].file);
  else
    answer(&fk, terminate_statuses[_i].status, terminate_statuses[_i].text);
  struct err err;
  ck_assert_int_eq(
      xm_terminate(xm, "e2c792c3-c5d5-430d-a109-0fbae07807fe", &err),
      terminate_statuses[_i].rc);
  ck_assert_str_eq(err.msg, terminate_statuses[_i].msg);
  assert_no_secrets(&err);
}
END_TEST

/* ---- responses: user deliveries, one event ---- */

START_TEST(parse_deliveries_documented) {
  size_t len;
  char *body = fixture("xmatters_user_deliveries.json", &len);
  struct xm_delivery *d = NULL;
  size_t n = 0;
  char next[256];
  ck_assert_int_eq(xm_parse_deliveries_page(body, len, DEPTH, &d, &n, next,
                                            sizeof(next), NULL),
                   0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(d[0].event_id, "7af4cab7-5301-4156-9d9e-33983a7f2b18");
  ck_assert_str_eq(d[0].event_number, "24721002");
  ck_assert_str_eq(d[0].user, "thanks");
  /* the last response is the top-level one, not the notification's */
  ck_assert_str_eq(d[0].text, "On my way - be there in 5 minutes");
  ck_assert_double_eq_tol(d[0].received, 1573577677.656, 1e-6);
  ck_assert_str_eq(next, "");
  free(d);
  free(body);
}
END_TEST

START_TEST(parse_deliveries_variants) {
  const char *body =
      "{\"data\": ["
      /* a recipient instead of a person, a "Z" time, an eventId number */
      "{\"event\": {\"id\": \"ev1\", \"eventId\": 2132001},"
      " \"recipient\": {\"targetName\": \"jdoe|Work Email\"},"
      " \"response\": {\"text\": \"rerun\", \"received\": "
      "\"2024-01-01T00:00:05.000Z\"}},"
      /* delivered, no response yet; a person with an id only */
      "{\"event\": {\"id\": \"ev1\"}, \"person\": {\"id\": \"p-42\"},"
      " \"deliveryStatus\": \"DELIVERED\"},"
      /* +00:00, no event object, received in milliseconds elsewhere */
      "{\"person\": {\"targetName\": \"amy\"}, \"response\": {\"text\": "
      "\"Acknowledge\", \"received\": \"2024-01-01T00:00:05+00:00\"}},"
      "{\"person\": {\"targetName\": \"bob\"}, \"response\": {\"text\": "
      "\"Maybe\", \"received\": 1704067205000}},"
      /* unreadable received, text of the wrong type; junk items */
      "{\"person\": {\"targetName\": 7}, \"response\": {\"text\": 3,"
      " \"received\": \"yesterday\"}}, 12, null],"
      " \"links\": {\"next\": \"/api/xm/1/events/ev1/user-deliveries?"
      "offset=100&limit=100\"}}";
  struct xm_delivery *d = NULL;
  size_t n = 0;
  char next[256];
  ck_assert_int_eq(xm_parse_deliveries_page(body, strlen(body), DEPTH, &d, &n,
                                            next, sizeof(next), NULL),
                   0);
  ck_assert_uint_eq(n, 5);
  ck_assert_str_eq(d[0].event_number, "2132001");
  ck_assert_str_eq(d[0].user, "jdoe|Work Email");
  ck_assert_str_eq(d[0].text, "rerun");
  ck_assert_double_eq_tol(d[0].received, 1704067205, 1e-6);
  ck_assert_str_eq(d[1].user, "p-42");
  ck_assert_str_eq(d[1].text, "");
  ck_assert_double_eq(d[1].received, 0);
  ck_assert_str_eq(d[2].event_id, "");
  ck_assert_str_eq(d[2].text, "Acknowledge");
  ck_assert_double_eq_tol(d[2].received, 1704067205, 1e-6);
  ck_assert_double_eq_tol(d[3].received, 1704067205, 1e-6);
  ck_assert_str_eq(d[4].user, "");
  ck_assert_str_eq(d[4].text, "");
  ck_assert_double_eq(d[4].received, 0);
  ck_assert_str_eq(next,
                   "/api/xm/1/events/ev1/user-deliveries?offset=100&limit=100");
  free(d);
}
END_TEST

START_TEST(parse_deliveries_refuses) {
  static const char *const bodies[] = {
      "{\"count\": 0}",
      "{\"data\": {}}",
      "[]",
      "{\"data\": [{\"event\": {\"id\": \"0123456789012345678901234567890123"
      "4567890123456789012345678901234567890123456789\"}}]}",
      "{\"data\": [",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    struct xm_delivery *d = NULL;
    size_t n = 0;
    char next[64];
    struct err err;
    err_clear(&err);
    ck_assert_int_eq(xm_parse_deliveries_page(bodies[i], strlen(bodies[i]),
                                              DEPTH, &d, &n, next, sizeof(next),
                                              &err),
                     -EPROTO);
    ck_assert_str_ne(err.msg, "");
    free(d);
  }
}
END_TEST

#define EV_ID "5f1c5b8e-8c43-4bd4-9e37-2c1d9a6a2b10"
#define DELIVERIES_URL                                                         \
  BASE "/api/xm/1/events/" EV_ID                                               \
       "/user-deliveries?at=2023-11-14T22%3A13%3A20Z"                          \
       "&limit=100"

START_TEST(user_deliveries_pages) {
  answer(&fk, 200,
         "{\"data\": [{\"person\": {\"targetName\": \"amy\"}, \"response\": "
         "{\"text\": \"Rerun\", \"received\": \"2023-11-14T22:13:00Z\"}}],"
         " \"links\": {\"next\": \"/api/xm/1/events/" EV_ID
         "/user-deliveries?offset=100&limit=100\"}}");
  answer(&fk, 200,
         "{\"data\": [{\"person\": {\"targetName\": \"bob\"}}], \"links\": "
         "{}}");
  struct xm_delivery *d = NULL;
  size_t n = 0;
  ck_assert_int_eq(xm_user_deliveries(xm, EV_ID, 1700000000.7, &d, &n, NULL),
                   0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(d[0].user, "amy");
  ck_assert_str_eq(d[0].text, "Rerun");
  ck_assert_double_eq(d[0].received, 1699999980);
  ck_assert_str_eq(d[1].user, "bob");
  free(d);
  assert_req(0, "GET", DELIVERIES_URL, USER, PASSWORD);
  assert_req(1, "GET",
             BASE "/api/xm/1/events/" EV_ID
                  "/user-deliveries?offset=100&limit=100",
             USER, PASSWORD);
}
END_TEST

START_TEST(user_deliveries_empty_and_errors) {
  answer(&fk, 200, "{\"count\": 0, \"total\": 0, \"data\": []}");
  answer_fixture(&fk, 404, "xmatters_error_404.json");
  answer(&fk, 200,
         "{\"data\": [], \"links\": {\"next\": "
         "\"https://elsewhere.test/api/xm/1/x\"}}");
  answer(&fk, 503, "busy");
  struct xm_delivery *d = NULL;
  size_t n = 7;
  struct err err;
  ck_assert_int_eq(xm_user_deliveries(xm, EV_ID, 1700000000, &d, &n, &err), 0);
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_eq(n, 0);
  free(d);
  ck_assert_int_eq(xm_user_deliveries(xm, EV_ID, 1700000000, &d, &n, &err),
                   -ENOENT);
  ck_assert_ptr_null(d);
  ck_assert_ptr_nonnull(strstr(err.msg, "HTTP 404"));
  ck_assert_int_eq(xm_user_deliveries(xm, EV_ID, 1700000000, &d, &n, &err),
                   -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "another origin"));
  ck_assert_int_eq(xm_user_deliveries(xm, EV_ID, 1700000000, &d, &n, &err),
                   -EAGAIN);
  ck_assert_ptr_null(d);
  ck_assert_uint_eq(n, 0);
  assert_no_secrets(&err);
}
END_TEST

START_TEST(get_event) {
  answer(&fk, 200,
         "{\"id\": \"" EV_ID "\", \"eventId\": \"2132001\", \"status\": "
         "\"TERMINATED\", \"properties\": {\"runscope_key#en\": \"b/t/e\"}}");
  answer_fixture(&fk, 404, "xmatters_error_404.json");
  answer(&fk, 200, "{\"status\": \"ACTIVE\"}");
  answer(&fk, 200, "<html>");
  struct xm_event ev;
  struct err err;
  ck_assert_int_eq(xm_get_event(xm, EV_ID, &ev, &err), 0);
  assert_req(0, "GET", BASE "/api/xm/1/events/" EV_ID, USER, PASSWORD);
  ck_assert_str_eq(ev.id, EV_ID);
  ck_assert_str_eq(ev.event_id, "2132001");
  ck_assert_str_eq(ev.status, "TERMINATED");
  ck_assert_str_eq(ev.runscope_key, "b/t/e");
  ck_assert_int_eq(xm_get_event(xm, EV_ID, &ev, &err), -ENOENT);
  ck_assert_int_eq(xm_get_event(xm, EV_ID, &ev, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "not an event"));
  ck_assert_int_eq(xm_get_event(xm, EV_ID, &ev, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "/api/xm/1/events/" EV_ID));
}
END_TEST

/* A 1xx or 3xx answer names the call once. */
START_TEST(get_event_other_status) {
  answer(&fk, 302, "");
  struct xm_event ev;
  struct err err;
  ck_assert_int_eq(xm_get_event(xm, EV_ID, &ev, &err), -EPROTO);
  ck_assert_str_eq(err.msg,
                   "xMatters API: GET /api/xm/1/events/" EV_ID ": HTTP 302");
}
END_TEST

/* ---- the JSON side's private helpers ---- */

static const struct {
  const char *body;
  int rc;
  const char *id, *status, *key; /* on success */
  const char *cause;             /* on failure, part of err */
} events[] = {
    {"{\"id\": \"e1\", \"eventId\": 7, \"status\": \"ACTIVE\", "
     "\"properties\": {\"runscope_key\": {\"value\": \"b/t/e\"}}}",
     0, "e1", "ACTIVE", "b/t/e", NULL},
    {"{\"id\": \"e2\"}", 0, "e2", "", "", NULL},
    {"{\"status\": \"ACTIVE\"}", -EPROTO, NULL, NULL, NULL,
     "the answer is not an event with an id"},
    {"[{\"id\": \"e1\"}]", -EPROTO, NULL, NULL, NULL,
     "the answer is not an event with an id"},
    {"{\"id\": \"e1\", \"requestId\": \""
     "01234567890123456789012345678901234567890123456789012345678901234567890"
     "123456789\"}",
     -EPROTO, NULL, NULL, NULL, "the answer.requestId is longer than 79 bytes"},
    {"<html>", -EPROTO, NULL, NULL, NULL, "malformed JSON"},
};

START_TEST(parse_event) {
  struct xm_event ev;
  struct err err;
  err_clear(&err);
  ck_assert_int_eq(xm_parse_event(events[_i].body, strlen(events[_i].body),
                                  DEPTH, &ev, &err),
                   events[_i].rc);
  if (events[_i].rc == 0) {
    ck_assert_str_eq(ev.id, events[_i].id);
    ck_assert_str_eq(ev.status, events[_i].status);
    ck_assert_str_eq(ev.runscope_key, events[_i].key);
  } else {
    ck_assert_msg(strstr(err.msg, events[_i].cause) != NULL, "got \"%s\"",
                  err.msg);
  }
}
END_TEST

static const struct {
  const char *body;
  const char *text; /* NULL: nothing useful */
} error_texts[] = {
    {"{\"code\": 400, \"reason\": \"Bad Request\", \"message\": \"No\"}",
     "Bad Request: No"},
    {"{\"reason\": \"Conflict\", \"message\": \"\"}", "Conflict"},
    {"{\"message\": \"\", \"details\": \"Too many\"}", "Too many"},
    {"{\"error\": \"invalid_token\", \"error_description\": \"expired\"}",
     "expired"},
    {"{\"error\": \"invalid_token\"}", "invalid_token"},
    {"{\"code\": 500}", NULL},
    {"[]", NULL},
    {"<html>\n  Bad\tGateway </html>", "<html> Bad Gateway </html>"},
    {" \r\n", NULL},
    {"", NULL},
};

START_TEST(error_text) {
  char buf[64] = "stale";
  const char *got =
      xm_error_text(error_texts[_i].body, strlen(error_texts[_i].body), DEPTH,
                    buf, sizeof(buf));
  if (error_texts[_i].text == NULL) {
    ck_assert_ptr_null(got);
  } else {
    ck_assert_ptr_eq(got, buf);
    ck_assert_str_eq(got, error_texts[_i].text);
  }
}
END_TEST

START_TEST(terminate_body) {
  struct buf b;
  json_object *o = NULL;
  buf_init(&b, 1 << 10);
  ck_assert_int_eq(xm_build_terminate_body("a\"b\\c", &b), 0);
  ck_assert_int_eq(jsonx_parse(b.data, b.len, 8, &o, NULL), 0);
  ck_assert_int_eq(json_object_object_length(o), 2);
  ck_assert_str_eq(jsonx_str(o, "id"), "a\"b\\c");
  ck_assert_str_eq(jsonx_str(o, "status"), "TERMINATED");
  json_object_put(o);
  buf_fini(&b);
  /* a body larger than the buffer's maximum is refused */
  buf_init(&b, 16);
  ck_assert_int_eq(xm_build_terminate_body("e2c792c3-c5d5-430d", &b),
                   -EMSGSIZE);
  buf_fini(&b);
}
END_TEST

/* ---- the sweep: its page cap and its Plan and Form (issue 14) ---- */

/* A list that goes on past the cap is a partial result: the events of the
 * pages read, and capped; the key search stays bounded by an error. */
START_TEST(list_active_capped) {
  for (int i = 0; i < XM_SWEEP_PAGES_MAX + 5; i++) {
    char body[512];
    snprintf(body, sizeof(body),
             "{\"data\": [{\"id\": \"e%d\", \"status\": \"ACTIVE\", "
             "\"properties\": {\"runscope_key#en\": \"b/t/e%d\"}}], "
             "\"links\": {\"next\": \"/api/xm/1/events?offset=%d\"}}",
             i, i, i + 1);
    answer(&fk, 200, body);
  }
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err = {{0}};
  capped = false;
  ck_assert_int_eq(xm_list_active(xm, NULL, &ev, &n, &capped, &err), 0);
  ck_assert(capped);
  ck_assert_uint_eq(fk.n_reqs, XM_SWEEP_PAGES_MAX);
  ck_assert_uint_eq(n, XM_SWEEP_PAGES_MAX);
  ck_assert_str_eq(ev[0].runscope_key, "b/t/e0");
  ck_assert_str_eq(ev[n - 1].id, "e99");
  ck_assert_str_eq(err.msg, "");
  free(ev);
}
END_TEST

/* Plan and Form narrow the sweep: sent encoded, as configured (a name or
 * an id); "" is no filter. */
START_TEST(list_active_scope) {
  answer_fixture(&fk, 200, "xmatters_events_empty.json");
  answer_fixture(&fk, 200, "xmatters_events_empty.json");
  answer_fixture(&fk, 200, "xmatters_events_empty.json");
  struct xm_event *ev = NULL;
  size_t n = 0;
  const struct xm_scope both = {"Runscope & Co", "Test failed"};
  ck_assert_int_eq(xm_list_active(xm, &both, &ev, &n, &capped, NULL), 0);
  assert_req(0, "GET",
             BASE "/api/xm/1/events?status=ACTIVE,SUSPENDED&embed=properties"
                  "&plan=Runscope%20%26%20Co&form=Test%20failed&limit=100",
             USER, PASSWORD);
  free(ev);
  const struct xm_scope form_id = {"", "b593c84c-497d-461d-9521-7d9a2d09a4f3"};
  ck_assert_int_eq(xm_list_active(xm, &form_id, &ev, &n, &capped, NULL), 0);
  assert_req(1, "GET",
             BASE "/api/xm/1/events?status=ACTIVE,SUSPENDED&embed=properties"
                  "&form=b593c84c-497d-461d-9521-7d9a2d09a4f3&limit=100",
             USER, PASSWORD);
  free(ev);
  const struct xm_scope none = {NULL, NULL};
  ck_assert_int_eq(xm_list_active(xm, &none, &ev, &n, &capped, NULL), 0);
  assert_req(2, "GET", LIST_Q("ACTIVE,SUSPENDED"), USER, PASSWORD);
  free(ev);
}
END_TEST

/* ---- pages that hold more than asked ---- */

/* A list page of n items (each item), with a next link. Caller frees. */
static char *big_page(size_t n, const char *item) {
  struct buf b;
  buf_init(&b, n * (strlen(item) + 1) + 256);
  ck_assert_int_eq(
      buf_printf(&b, "{\"count\": %zu, \"total\": %zu, \"data\": [", n, n), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(buf_printf(&b, "%s%s", i ? "," : "", item), 0);
  ck_assert_int_eq(
      buf_puts(&b, "], \"links\": {\"self\": \"/api/xm/1/events\"}}"), 0);
  return b.data; /* the caller frees */
}

/* Items asked for a page (limit=100), then more, then a flood. */
static const struct {
  size_t n;
  int rc;
} page_sizes[] = {{100, 0}, {101, -EPROTO}, {100000, -EPROTO}};

/* Events pages and user-deliveries pages: a page of at most the limit is
 * read; one with more is refused as a bad answer (-EPROTO), before it is
 * parsed, naming the call. */
START_TEST(page_over_limit_refused) {
  size_t n = page_sizes[_i / 2].n;
  bool of_events = _i % 2 == 0;
  char *body = big_page(n, of_events ? "{\"id\": \"e\", \"properties\": "
                                       "{\"runscope_key#en\": \"k\"}}"
                                     : "{\"event\": {\"id\": \"" EV_ID
                                       "\"}, \"person\": {\"targetName\": "
                                       "\"amy\"}, \"response\": {\"text\": "
                                       "\"Rerun\"}}");
  answer(&fk, 200, body);
  free(body);
  struct err err = {{0}};
  size_t got = 0;
  int rc;
  if (of_events) {
    struct xm_event *ev = NULL;
    rc = xm_find_active(xm, "k", &ev, &got, &err);
    free(ev);
  } else {
    struct xm_delivery *d = NULL;
    rc = xm_user_deliveries(xm, EV_ID, 1700000000, &d, &got, &err);
    free(d);
  }
  ck_assert_msg(rc == page_sizes[_i / 2].rc, "%zu items: rc %d (%s)", n, rc,
                err.msg);
  if (rc == 0) {
    ck_assert_uint_eq(got, n);
    return;
  }
  ck_assert_uint_eq(got, 0);
  ck_assert_msg(strstr(err.msg, "the page holds more than the 100 items "
                                "asked for") != NULL,
                "%s", err.msg);
  ck_assert_ptr_nonnull(strstr(err.msg, "xMatters API: GET /api/xm/1/events"));
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("xmatters");
  TCase *tc = tcase_create("trigger body");
  tcase_add_test(tc, body_full);
  tcase_add_test(tc, body_minimal);
  tcase_add_test(tc, body_one_option);
  tcase_add_test(tc, body_too_large);
  suite_add_tcase(s, tc);
  tc = tcase_create("events pages and trigger answers parse");
  tcase_add_test(tc, parse_events_fixture);
  tcase_add_test(tc, parse_events_appends);
  tcase_add_loop_test(tc, parse_events_refuses, 0, N(bad_pages));
  tcase_add_loop_test(tc, parse_request_id, 0, N(request_ids));
  tcase_add_loop_test(tc, list_pages_refuse_alike, 0, N(bad_list_pages));
  tcase_add_test(tc, list_pages_grow);
  suite_add_tcase(s, tc);
  tc = tcase_create("pages over the limit");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, page_over_limit_refused, 0, 2 * N(page_sizes));
  suite_add_tcase(s, tc);
  tc = tcase_create("trigger posts with the right auth");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, trigger_api_key);
  tcase_add_test(tc, trigger_basic);
  tcase_add_test(tc, post_json_any_2xx);
  tcase_add_test(tc, trigger_no_credentials);
  tcase_add_loop_test(tc, trigger_status_errno, 0, N(trigger_statuses));
  tcase_add_loop_test(tc, trigger_secret_at_the_cut, 0, 240);
  tcase_add_test(tc, trigger_transport_error);
  tcase_add_test(tc, post_json_body);
  tcase_add_loop_test(tc, post_json_status_errno, 0, N(trigger_statuses));
  tcase_add_test(tc, post_json_transport_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("what a trigger's answer means");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, create_outcome, 0, N(outcomes));
  tcase_add_loop_test(tc, trigger_outcome, 0, N(trigger_outcomes));
  suite_add_tcase(s, tc);
  tc = tcase_create("finding events follows links.next");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, find_active_pages);
  tcase_add_test(tc, find_active_empty);
  tcase_add_test(tc, find_active_other_origin);
  tcase_add_test(tc, find_active_same_origin_absolute);
  tcase_add_test(tc, find_active_loops);
  tcase_add_test(tc, find_active_bounded);
  tcase_add_test(tc, find_active_other_keys);
  tcase_add_test(tc, find_active_status_fallback);
  tcase_add_test(tc, find_active_fallback_fails);
  tcase_add_test(tc, find_by_request);
  tcase_add_loop_test(tc, find_status_errno, 0, N(find_statuses));
  suite_add_tcase(s, tc);
  tc = tcase_create("listing every active event");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, list_active_pages);
  tcase_add_test(tc, list_active_keyless_dropped);
  tcase_add_test(tc, list_active_status_fallback);
  tcase_add_test(tc, list_active_no_credentials);
  tcase_add_test(tc, list_active_second_page_fails);
  tcase_add_loop_test(tc, list_status_errno, 0, N(find_statuses));
  suite_add_tcase(s, tc);
  tc = tcase_create("checking the credentials reads one page");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, check_credentials_one_page);
  tcase_add_loop_test(tc, check_credentials_status, 0, N(check_statuses));
  tcase_add_test(tc, check_credentials_transport_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("terminate");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, terminate_ok);
  tcase_add_loop_test(tc, terminate_status_errno, 0, N(terminate_statuses));
  suite_add_tcase(s, tc);
  tc = tcase_create("responses: user deliveries and their times");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, parse_deliveries_documented);
  tcase_add_test(tc, parse_deliveries_variants);
  tcase_add_test(tc, parse_deliveries_refuses);
  tcase_add_test(tc, user_deliveries_pages);
  tcase_add_test(tc, user_deliveries_empty_and_errors);
  tcase_add_test(tc, get_event);
  tcase_add_test(tc, get_event_other_status);
  suite_add_tcase(s, tc);
  tc = tcase_create("one event, error answers, the terminate body");
  tcase_add_loop_test(tc, parse_event, 0, N(events));
  tcase_add_loop_test(tc, error_text, 0, N(error_texts));
  tcase_add_test(tc, terminate_body);
  suite_add_tcase(s, tc);
  tc = tcase_create("the sweep's page cap, Plan and Form");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, list_active_capped);
  tcase_add_test(tc, list_active_scope);
  suite_add_tcase(s, tc);
  return s;
}
