/* xMatters client: trigger events, find active events, terminate them.
 *
 * Open questions about the real API and what this client does about them
 * (docs/xmatters-api.md, sections 2-4, 7 and 9):
 *  - A trigger answers 202 {"requestId": ...}; an empty, non-JSON or
 *    requestId-less 2xx body still counts as accepted (request id ""): the
 *    event was probably created, and calling it a failure would make the
 *    caller trigger a duplicate.
 *  - Text properties come back with a language suffix ("runscope_key#en");
 *    any "#xx" suffix is accepted, and a value embedded with translations
 *    ({"value": ...}) too. Whether propertyName needs the suffix is open; the
 *    plain name is sent.
 *  - eventId is a numeric string in REST, a number elsewhere: both are read.
 *  - The default propertyValueOperator is undocumented: events whose
 *    runscope_key (or requestId) differs from the one asked for are dropped,
 *    in case the server matches loosely.
 *  - links.next is a relative path, prefixed with the base URL's origin; an
 *    absolute link to another origin is refused (-EPROTO), as the Splunk SOAR
 *    connector does.
 *  - Error bodies are {"code","reason","message"}, legacy {"message",
 *    "details"}, OAuth {"error","error_description"}, or not JSON at all (a
 *    cleaned-up snippet is quoted). Passwords and apiKeys are redacted. */
#include "clients/xmatters.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonx.h"
#include "util/str.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define XM_EVENTS_PATH "/api/xm/1/events"
#define XM_LIMIT 100
#define XM_MAX_PAGES 100        /* 10000 events: a bound against loops */
#define XM_BODY_MAX (64u << 20) /* outer bound; the http client's cap wins */
#define XM_URL_MAX 4096
#define XM_BODY_OUT_MAX (1u << 20) /* a trigger body we send */
#define XM_SNIPPET_MAX 160
#define XM_WHERE_MAX 48

struct xm_client {
  struct http_client *http; /* borrowed */
  char *base_url;           /* no trailing slash */
  char *origin;             /* scheme://host[:port] of base_url */
  char *user, *password;    /* NULL: none */
  int max_depth;
  double retry_after;
};

/* ---- small helpers ---- */

/* The length of the scheme://authority prefix of url, 0 when it has none. */
static size_t origin_len(const char *url) {
  const char *sep = strstr(url, "://");
  if (sep == NULL || (size_t)(sep - url) >= strcspn(url, "/?#"))
    return 0;
  return (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
}

/* The value of the apiKey query parameter of url (into out), or "". */
static void api_key_of(const char *url, char *out, size_t size) {
  const char *q = strchr(url, '?');
  out[0] = '\0';
  for (const char *p = q; p != NULL && *p != '\0' && *p != '#';
       p = strpbrk(p + 1, "&#")) {
    if (strncasecmp(p + 1, "apiKey=", 7) == 0) {
      size_t n = strcspn(p + 8, "&#");
      snprintf(out, size, "%.*s", (int)n, p + 8);
      return;
    }
  }
}

/* The path of url after the origin, without the query, for messages. */
static void url_path(const char *url, char *out, size_t size) {
  const char *p = url + origin_len(url);
  snprintf(out, size, "%.*s", (int)strcspn(p, "?#"), p);
}

/* ---- the client ---- */

static char *dup_or_null(const char *s, bool *failed) {
  char *d = s ? strdup(s) : NULL;
  if (s != NULL && d == NULL)
    *failed = true;
  return d;
}

struct xm_client *xm_new(struct http_client *http, const char *base_url,
                         const char *user, const char *password,
                         int max_json_depth) {
  struct xm_client *c = calloc(1, sizeof(*c));
  bool failed = false;
  if (c == NULL)
    return NULL;
  c->http = http;
  c->base_url = dup_or_null(base_url ? base_url : "", &failed);
  c->user = dup_or_null(user, &failed);
  c->password = dup_or_null(password, &failed);
  c->max_depth = max_json_depth;
  c->retry_after = -1;
  if (!failed) {
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
      c->base_url[--n] = '\0';
    c->origin = strndup(c->base_url, origin_len(c->base_url));
    failed = c->origin == NULL;
  }
  if (failed) {
    xm_free(c);
    return NULL;
  }
  return c;
}

void xm_free(struct xm_client *c) {
  if (c == NULL)
    return;
  free(c->base_url);
  free(c->origin);
  free(c->user);
  free(c->password);
  free(c);
}

double xm_retry_after(const struct xm_client *c) { return c->retry_after; }

/* ---- the trigger body ---- */

/* Adds val (owned; NULL adds a JSON null) as o[key]. Returns 0/-ENOMEM. */
static int add(json_object *o, const char *key, json_object *val) {
  if (json_object_object_add(o, key, val) != 0) {
    json_object_put(val);
    return -ENOMEM;
  }
  return 0;
}

/* Adds a new value that must not be NULL (NULL means memory ran out). */
static int add_new(json_object *o, const char *key, json_object *val) {
  return val ? add(o, key, val) : -ENOMEM;
}

/* A property value: text, or a number sent as an integer when whole. A
 * number JSON cannot carry (NaN, infinite) becomes null. Sets *oom. */
static json_object *prop_value(const struct xm_prop *p, bool *oom) {
  json_object *v = NULL;
  if (p->type == XM_PROP_TEXT)
    v = json_object_new_string(p->text ? p->text : "");
  else if (!isfinite(p->number))
    return NULL;
  else if (p->number == floor(p->number) && fabs(p->number) < 9.0e15)
    v = json_object_new_int64((int64_t)p->number);
  else
    v = json_object_new_double(p->number);
  *oom = v == NULL;
  return v;
}

static int add_properties(json_object *body, const struct xm_trigger_req *r) {
  json_object *props = json_object_new_object();
  int rc = add_new(body, "properties", props);
  for (size_t i = 0; rc == 0 && i < r->n_props; i++) {
    bool oom = false;
    if (r->props[i].name == NULL)
      continue;
    json_object *v = prop_value(&r->props[i], &oom);
    rc = oom ? -ENOMEM : add(props, r->props[i].name, v);
  }
  return rc;
}

static int add_recipients(json_object *body, const struct xm_trigger_req *r) {
  if (r->n_recipients == 0 || r->recipients == NULL)
    return 0;
  json_object *arr = json_object_new_array();
  int rc = add_new(body, "recipients", arr);
  for (size_t i = 0; rc == 0 && i < r->n_recipients; i++) {
    if (r->recipients[i] == NULL)
      continue;
    json_object *rec = json_object_new_object();
    rc = rec ? add_new(rec, "id", json_object_new_string(r->recipients[i]))
             : -ENOMEM;
    if (rc == 0 && json_object_array_add(arr, rec) != 0)
      rc = -ENOMEM;
    if (rc != 0)
      json_object_put(rec);
  }
  return rc;
}

/* One response option, as docs/xmatters-api.md 2a shows them. */
static json_object *response_option(int number, const char *text,
                                    const char *description, const char *action,
                                    const char *contribution,
                                    bool allow_comments) {
  json_object *o = json_object_new_object();
  if (o == NULL)
    return NULL;
  int rc = add_new(o, "number", json_object_new_int(number));
  if (rc == 0)
    rc = add_new(o, "text", json_object_new_string(text));
  if (rc == 0)
    rc = add_new(o, "description", json_object_new_string(description));
  if (rc == 0)
    rc = add_new(o, "prompt", json_object_new_string(text));
  if (rc == 0)
    rc = add_new(o, "action", json_object_new_string(action));
  if (rc == 0)
    rc = add_new(o, "contribution", json_object_new_string(contribution));
  if (rc == 0)
    rc = add_new(o, "joinConference", json_object_new_boolean(0));
  if (rc == 0)
    rc = add_new(o, "allowComments", json_object_new_boolean(allow_comments));
  if (rc != 0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* Appends opt (owned, NULL: out of memory) to arr. */
static int append_option(json_object *arr, json_object *opt) {
  if (opt == NULL)
    return -ENOMEM;
  if (json_object_array_add(arr, opt) != 0) {
    json_object_put(opt);
    return -ENOMEM;
  }
  return 0;
}

static int add_response_options(json_object *body,
                                const struct xm_trigger_req *r) {
  if (r->acknowledge_text == NULL && r->rerun_text == NULL)
    return 0;
  json_object *arr = json_object_new_array();
  int rc = add_new(body, "responseOptions", arr);
  if (rc == 0 && r->acknowledge_text != NULL)
    rc = append_option(
        arr, response_option(1, r->acknowledge_text, r->acknowledge_text,
                             "STOP_NOTIFYING_TARGET", "POSITIVE", true));
  if (rc == 0 && r->rerun_text != NULL)
    rc = append_option(
        arr, response_option(2, r->rerun_text, "Run the Runscope test again",
                             "RECORD_RESPONSE", "NEUTRAL", false));
  return rc;
}

int xm_build_trigger_body(const struct xm_trigger_req *req, struct buf *out) {
  json_object *body = json_object_new_object();
  if (body == NULL)
    return -ENOMEM;
  int rc = add_properties(body, req);
  if (rc == 0)
    rc = add_recipients(body, req);
  if (rc == 0 && req->priority != NULL)
    rc = add_new(body, "priority", json_object_new_string(req->priority));
  if (rc == 0)
    rc = add_response_options(body, req);
  if (rc == 0) {
    const char *text = json_object_to_json_string_ext(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = text ? buf_puts(out, text) : -ENOMEM;
  }
  json_object_put(body);
  return rc;
}

/* ---- answers ---- */

int xm_parse_request_id(const char *body, size_t len, int max_depth, char *ret,
                        size_t size, struct err *err) {
  json_object *root = NULL;
  size_t i = 0;
  ret[0] = '\0';
  while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
                     body[i] == '\n'))
    i++;
  if (i == len)
    return 0; /* an empty answer: accepted, no requestId */
  int rc = jsonx_parse(body, len, max_depth, &root, err);
  if (rc != 0)
    return rc;
  rc = jsonx_copy_str(root, "requestId", ret, size);
  if (rc == -ENAMETOOLONG) {
    ret[0] = '\0';
    err_set(err, "requestId is longer than %zu bytes", size - 1);
    rc = -EPROTO;
  } else {
    rc = 0; /* absent, null or not a string: no requestId */
  }
  json_object_put(root);
  return rc;
}

/* The text of a property whose name is name or name#xx: a string, or
 * {"value": string} when translations are embedded. NULL when absent. */
static const char *property(json_object *props, const char *name) {
  size_t n = strlen(name);
  if (props == NULL)
    return NULL;
  json_object_object_foreach(props, key, val) {
    if (strncmp(key, name, n) != 0 || (key[n] != '\0' && key[n] != '#'))
      continue;
    if (json_object_is_type(val, json_type_string))
      return json_object_get_string(val);
    const char *s = jsonx_str(val, "value");
    if (s != NULL)
      return s;
  }
  return NULL;
}

/* Copies eventId (string or number) into dst. */
static int copy_event_id(json_object *o, char *dst, size_t size,
                         const char *where, struct err *err) {
  json_object *v = NULL;
  int n = 0;
  dst[0] = '\0';
  if (!json_object_object_get_ex(o, "eventId", &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string))
    n = snprintf(dst, size, "%s", json_object_get_string(v));
  else if (json_object_is_type(v, json_type_int))
    n = snprintf(dst, size, "%lld", (long long)json_object_get_int64(v));
  else if (json_object_is_type(v, json_type_double))
    n = snprintf(dst, size, "%.0f", json_object_get_double(v));
  if (n >= 0 && (size_t)n < size)
    return 0;
  dst[0] = '\0';
  err_set(err, "%s.eventId is longer than %zu bytes", where, size - 1);
  return -EPROTO;
}

/* Copies an id-like string member; too long is -EPROTO naming it. */
static int copy_id(json_object *o, const char *key, char *dst, size_t size,
                   const char *where, struct err *err) {
  if (jsonx_copy_str(o, key, dst, size) != -ENAMETOOLONG)
    return 0;
  dst[0] = '\0';
  err_set(err, "%s.%s is longer than %zu bytes", where, key, size - 1);
  return -EPROTO;
}

/* Parses one event. Returns 0, 1 to skip it (no id), or -EPROTO. */
static int parse_event(json_object *o, const char *where, struct xm_event *e,
                       struct err *err) {
  memset(e, 0, sizeof(*e));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = copy_id(o, "id", e->id, sizeof(e->id), where, err);
  if (rc == 0)
    rc = copy_event_id(o, e->event_id, sizeof(e->event_id), where, err);
  if (rc == 0)
    rc = copy_id(o, "requestId", e->request_id, sizeof(e->request_id), where,
                 err);
  if (rc != 0)
    return rc;
  if (e->id[0] == '\0')
    return 1;
  jsonx_copy_str(o, "status", e->status, sizeof(e->status));
  const char *key = property(jsonx_obj(o, "properties"), XM_KEY_PROPERTY);
  if (key != NULL &&
      str_copy(e->runscope_key, sizeof(e->runscope_key), key) != 0) {
    err_set(err, "%s.properties.%s is longer than %d bytes", where,
            XM_KEY_PROPERTY, XM_KEY_MAX - 1);
    return -EPROTO;
  }
  return 0;
}

/* ---- requests ---- */

/* What one request names in messages and which secrets it must not show. */
struct call {
  const char *method;
  char what[XM_URL_MAX]; /* the path, or the redacted trigger URL */
  char api_key[256];     /* from a trigger URL, "" for none */
};

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

/* A short description of an error answer's body, or NULL. */
static const char *error_text(const struct xm_client *c,
                              const struct http_response *resp, char *buf,
                              size_t size, json_object **root) {
  if (jsonx_parse(resp->body.data, resp->body.len, c->max_depth, root, NULL) !=
      0) {
    str_snippet(resp->body.data, resp->body.len, buf, size);
    return buf[0] ? buf : NULL;
  }
  static const char *const keys[] = {"message", "error_description", "error",
                                     "details"};
  const char *reason = nonempty(jsonx_str(*root, "reason"));
  const char *msg = NULL;
  for (size_t i = 0; msg == NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
    msg = nonempty(jsonx_str(*root, keys[i]));
  if (reason != NULL && msg != NULL)
    snprintf(buf, size, "%s: %s", reason, msg);
  else if (reason != NULL || msg != NULL)
    snprintf(buf, size, "%s", reason ? reason : msg);
  else
    return NULL;
  return buf;
}

/* Sets err for an answer with an unexpected status. */
static void status_error(const struct xm_client *c, const struct call *call,
                         const struct http_response *resp, struct err *err) {
  json_object *root = NULL;
  char text[ERR_MSG_MAX];
  const char *t = error_text(c, resp, text, sizeof(text), &root);
  if (t != NULL)
    err_set(err, "xMatters API: %s %s: HTTP %ld: %s", call->method, call->what,
            resp->status, t);
  else
    err_set(err, "xMatters API: %s %s: HTTP %ld", call->method, call->what,
            resp->status);
  json_object_put(root);
}

/* Removes the client's secrets and the call's apiKey from err. */
static void scrub_all(const struct xm_client *c, const struct call *call,
                      struct err *err) {
  err_scrub(err, c->password);
  err_scrub(err, call->api_key);
}

/* Names the call in err (a cause about its answer) and scrubs it. */
static void call_error(const struct xm_client *c, const struct call *call,
                       struct err *err) {
  err_prefix(err, "xMatters API: %s %s", call->method, call->what);
  scrub_all(c, call, err);
}

/* Performs req into resp. Returns 0 for a 2xx answer, else the errno of the
 * transport or of the status, with err set. */
static int xm_do(struct xm_client *c, const struct call *call,
                 const struct http_request *req, struct http_response *resp,
                 struct err *err) {
  int rc = http_do(c->http, req, resp, err);
  c->retry_after = rc == 0 ? resp->retry_after : -1;
  if (rc != 0) {
    err_prefix(err, "xMatters API");
  } else if (resp->status < 200 || resp->status > 299) {
    status_error(c, call, resp, err);
    rc = http_status_errno(resp->status);
  }
  if (rc != 0)
    scrub_all(c, call, err);
  return rc;
}

/* GETs url (with the REST credentials) into resp, naming its path in
 * call->what. Returns as xm_do. */
static int xm_get(struct xm_client *c, struct call *call, const char *url,
                  struct http_response *resp, struct err *err) {
  struct http_request req = {
      .method = "GET", .url = url, .user = c->user, .password = c->password};
  url_path(url, call->what, sizeof(call->what));
  return xm_do(c, call, &req, resp, err);
}

int xm_post_json(struct xm_client *c, const char *trigger_url, const char *body,
                 size_t len, char *ret_request_id, size_t size,
                 struct err *err) {
  struct call call = {.method = "POST"};
  struct http_response resp;
  if (size > 0)
    ret_request_id[0] = '\0';
  http_redact_url(trigger_url, call.what, sizeof(call.what));
  api_key_of(trigger_url, call.api_key, sizeof(call.api_key));
  /* URL authentication (?apiKey=) needs, and wants, no header. */
  struct http_request hreq = {.method = "POST",
                              .url = trigger_url,
                              .body = body,
                              .body_len = len,
                              .content_type = "application/json",
                              .once = true};
  if (call.api_key[0] == '\0') {
    hreq.user = c->user;
    hreq.password = c->password;
  }
  http_response_init(&resp, XM_BODY_MAX);
  int rc = xm_do(c, &call, &hreq, &resp, err);
  /* A 2xx is accepted whatever its body says (see the top of the file). */
  if (rc == 0 && size > 0 &&
      xm_parse_request_id(resp.body.data, resp.body.len, c->max_depth,
                          ret_request_id, size, NULL) != 0)
    ret_request_id[0] = '\0';
  http_response_fini(&resp);
  return rc;
}

int xm_trigger(struct xm_client *c, const char *trigger_url,
               const struct xm_trigger_req *req, char *ret_request_id,
               size_t size, struct err *err) {
  struct buf body;
  if (size > 0)
    ret_request_id[0] = '\0';
  buf_init(&body, XM_BODY_OUT_MAX);
  int rc = xm_build_trigger_body(req, &body);
  if (rc != 0) {
    char what[XM_URL_MAX];
    http_redact_url(trigger_url, what, sizeof(what));
    err_set(err, "xMatters API: POST %s: cannot build the body (%s)", what,
            rc == -ENOMEM ? "out of memory" : "too large");
  } else {
    rc = xm_post_json(c, trigger_url, body.data, body.len, ret_request_id, size,
                      err);
  }
  buf_fini(&body);
  return rc;
}

enum xm_create_outcome xm_create_outcome(int rc) {
  switch (rc) {
  case 0:
    return XM_CREATED;
  case -EAGAIN: /* 429 or 5xx */
  case -EACCES: /* 401, 403 */
  case -ENOENT: /* 404 */
  case -EINVAL: /* another 4xx */
    return XM_NOT_CREATED;
  case -EPROTO: /* an answer of another kind (1xx, 3xx) */
    return XM_MAYBE_CREATED;
  default:
    return http_maybe_sent(rc) ? XM_MAYBE_CREATED : XM_NOT_CREATED;
  }
}

/* ---- lists: every page links.next leads to ---- */

/* Parses one page of a list into ctx and copies its links.next into next
 * ("" when there is none). Returns 0 or an errno, with err set. */
typedef int (*page_fn)(void *ctx, const char *body, size_t len, int max_depth,
                       char *next, size_t next_size, struct err *err);

/* How to read a list. */
struct pager {
  page_fn parse;
  void *ctx;
  bool first_only; /* read one page, leave its links.next unfollowed */
};

/* Resolves a links.next value against the client's origin into url.
 * Returns 0 or -EPROTO (another origin, or too long). */
static int next_url(const struct xm_client *c, const char *next,
                    struct buf *url, struct err *err) {
  size_t olen = origin_len(next);
  int rc = -EPROTO;
  buf_reset(url);
  if (olen == 0 && strncmp(next, "//", 2) != 0) {
    rc = buf_puts(url, c->origin);
    if (rc == 0 && next[0] != '/')
      rc = buf_puts(url, "/");
    if (rc == 0)
      rc = buf_puts(url, next);
  } else if (olen != 0 && olen == strlen(c->origin) &&
             strncasecmp(next, c->origin, olen) == 0) {
    rc = buf_puts(url, next);
  } else {
    char redacted[XM_URL_MAX];
    http_redact_url(next, redacted, sizeof(redacted));
    err_set(err, "links.next points at another origin: %s", redacted);
    return -EPROTO;
  }
  if (rc == 0)
    return 0;
  err_set(err, "links.next is too long");
  return -EPROTO;
}

/* Moves url on to the page that next names, the page-th page read so far
 * being at url; spare is scratch space of url's size (the two trade
 * places). Returns 0 or -EPROTO: another origin, the same page again, or
 * past XM_MAX_PAGES. */
static int turn_page(const struct xm_client *c, const char *next, int page,
                     struct buf *url, struct buf *spare, struct err *err) {
  int rc = next_url(c, next, spare, err);
  if (rc == 0 && strcmp(spare->data, url->data) == 0) {
    err_set(err, "links.next repeats the page it is on");
    rc = -EPROTO;
  }
  if (rc == 0 && page == XM_MAX_PAGES) {
    err_set(err, "more than %d pages", XM_MAX_PAGES);
    rc = -EPROTO;
  }
  if (rc == 0) {
    struct buf read = *url;
    *url = *spare;
    *spare = read;
  }
  return rc;
}

/* GETs url and, unless p->first_only, every page links.next leads to (up to
 * XM_MAX_PAGES), handing each to p->parse. url is used as scratch space.
 * Returns 0, an errno of xm_do, or that of parsing or following a page
 * with err naming the page's path. */
static int get_pages(struct xm_client *c, struct buf *url,
                     const struct pager *p, struct err *err) {
  struct call call = {.method = "GET", .api_key = ""};
  struct http_response resp;
  struct buf spare;
  char next[XM_URL_MAX];
  int rc = 0;
  http_response_init(&resp, XM_BODY_MAX);
  buf_init(&spare, url->max);
  for (int page = 1;; page++) {
    rc = xm_get(c, &call, url->data, &resp, err);
    if (rc != 0)
      break;
    rc = p->parse(p->ctx, resp.body.data, resp.body.len, c->max_depth, next,
                  sizeof(next), err);
    if (rc == 0 && (next[0] == '\0' || p->first_only))
      break;
    if (rc == 0)
      rc = turn_page(c, next, page, url, &spare, err);
    if (rc != 0) {
      call_error(c, &call, err);
      break;
    }
  }
  buf_fini(&spare);
  http_response_fini(&resp);
  return rc;
}

/* Reads the list at url into *retp (a T ** whose items are size bytes;
 * *retp and *ret_n start empty, p->ctx fills them). On success *retp is
 * never NULL, even for no items; on failure it is freed and NULL, and
 * *ret_n is 0. The caller frees *retp. Returns as get_pages. */
static int get_list(struct xm_client *c, struct buf *url, const struct pager *p,
                    void *retp, size_t *ret_n, size_t size, struct err *err) {
  void *items;
  int rc = get_pages(c, url, p, err);
  memcpy(&items, retp, sizeof(items));
  if (rc == 0 && items == NULL && (items = calloc(1, size)) == NULL)
    rc = -ENOMEM;
  if (rc != 0) {
    free(items);
    items = NULL;
    *ret_n = 0;
  }
  memcpy(retp, &items, sizeof(items));
  return rc;
}

/* ---- events ---- */

struct events {
  struct xm_event **ret;
  size_t *ret_n;
};

static int events_page(void *ctx, const char *body, size_t len, int max_depth,
                       char *next, size_t next_size, struct err *err) {
  struct events *e = ctx;
  return xm_parse_events_page(body, len, max_depth, e->ret, e->ret_n, next,
                              next_size, err);
}

/* Keeps the events whose field at offset off is "" or equal to want. */
static void keep_matching(struct xm_event *v, size_t *n, size_t off,
                          const char *want) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    const char *got = (const char *)&v[i] + off;
    if (got[0] == '\0' || strcmp(got, want) == 0)
      v[k++] = v[i];
  }
  *n = k;
}

/* GETs base_url + XM_EVENTS_PATH + query + the URL-encoded value (none when
 * NULL, which what names in messages) + "&limit=" limit, and its pages
 * unless first_only. *ret (caller frees) is as get_list leaves it. */
static int find_events(struct xm_client *c, const char *query,
                       const char *value, const char *what, int limit,
                       bool first_only, struct xm_event **ret, size_t *ret_n,
                       struct err *err) {
  struct events ctx = {ret, ret_n};
  struct pager p = {events_page, &ctx, first_only};
  struct buf url;
  *ret = NULL;
  *ret_n = 0;
  buf_init(&url, XM_URL_MAX);
  int rc = buf_puts(&url, c->base_url);
  if (rc == 0)
    rc = buf_puts(&url, query);
  if (rc == 0 && value != NULL)
    rc = buf_put_urlenc(&url, value);
  if (rc == 0)
    rc = buf_printf(&url, "&limit=%d", limit);
  if (rc != 0)
    err_set(err, "xMatters API: GET " XM_EVENTS_PATH ": %s too long", what);
  else
    rc = get_list(c, &url, &p, ret, ret_n, sizeof(**ret), err);
  buf_fini(&url);
  return rc;
}

int xm_find_active(struct xm_client *c, const char *key, struct xm_event **ret,
                   size_t *ret_n, struct err *err) {
  static const char query[] = XM_EVENTS_PATH
      "?status=ACTIVE&propertyName=" XM_KEY_PROPERTY "&propertyValue=";
  int rc = find_events(c, query, key, "key", XM_LIMIT, false, ret, ret_n, err);
  if (rc != 0)
    return rc;
  keep_matching(*ret, ret_n, offsetof(struct xm_event, runscope_key), key);
  for (size_t i = 0; i < *ret_n; i++)
    str_copy((*ret)[i].runscope_key, sizeof((*ret)[i].runscope_key), key);
  return 0;
}

int xm_find_by_request(struct xm_client *c, const char *request_id,
                       struct xm_event **ret, size_t *ret_n, struct err *err) {
  int rc = find_events(c, XM_EVENTS_PATH "?requestId=", request_id, "requestId",
                       XM_LIMIT, false, ret, ret_n, err);
  if (rc == 0)
    keep_matching(*ret, ret_n, offsetof(struct xm_event, request_id),
                  request_id);
  return rc;
}

int xm_list_active(struct xm_client *c, struct xm_event **ret, size_t *ret_n,
                   struct err *err) {
  int rc = find_events(c, XM_EVENTS_PATH "?status=ACTIVE&embed=properties",
                       NULL, "URL", XM_LIMIT, false, ret, ret_n, err);
  if (rc != 0)
    return rc;
  size_t kept = 0;
  for (size_t i = 0; i < *ret_n; i++)
    if ((*ret)[i].runscope_key[0] != '\0')
      (*ret)[kept++] = (*ret)[i];
  *ret_n = kept;
  return 0;
}

int xm_check_credentials(struct xm_client *c, struct err *err) {
  struct xm_event *ev = NULL;
  size_t n = 0;
  /* One page of one event: enough to learn whether the user is accepted. */
  int rc = find_events(c, XM_EVENTS_PATH "?status=ACTIVE", NULL, "URL", 1, true,
                       &ev, &n, err);
  free(ev);
  return rc;
}

int xm_terminate(struct xm_client *c, const char *event_id, struct err *err) {
  struct call call = {.method = "POST", .what = XM_EVENTS_PATH, .api_key = ""};
  struct buf url;
  struct http_response resp;
  json_object *body = json_object_new_object();
  int rc =
      body ? add_new(body, "id", json_object_new_string(event_id)) : -ENOMEM;
  if (rc == 0)
    rc = add_new(body, "status", json_object_new_string("TERMINATED"));
  buf_init(&url, XM_URL_MAX);
  if (rc == 0)
    rc = buf_puts(&url, c->base_url);
  if (rc == 0)
    rc = buf_puts(&url, XM_EVENTS_PATH);
  if (rc != 0) {
    err_set(err, "xMatters API: POST " XM_EVENTS_PATH ": %s",
            rc == -ENOMEM ? "out of memory" : "URL too long");
    goto out;
  }
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  if (text == NULL) {
    err_set(err, "xMatters API: POST " XM_EVENTS_PATH ": out of memory");
    rc = -ENOMEM;
    goto out;
  }
  struct http_request req = {.method = "POST",
                             .url = url.data,
                             .body = text,
                             .body_len = strlen(text),
                             .content_type = "application/json",
                             .user = c->user,
                             .password = c->password};
  http_response_init(&resp, XM_BODY_MAX);
  rc = xm_do(c, &call, &req, &resp, err);
  http_response_fini(&resp);
out:
  buf_fini(&url);
  json_object_put(body);
  return rc;
}

/* ---- one event, and the responses to it ---- */

/* Reads exactly n digits at *p into *ret and moves *p past them. */
static bool read_digits(const char **p, int n, int *ret) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch < '0' || ch > '9')
      return false;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *ret = v;
  return true;
}

/* Moves *p past ch when it is there. */
static bool skip(const char **p, const char *set) {
  if (**p == '\0' || strchr(set, **p) == NULL)
    return false;
  (*p)++;
  return true;
}

/* Reads the date and time of an ISO-8601 stamp into tm and its fraction
 * of a second into *frac; *p ends after them. */
static bool read_date_time(const char **p, struct tm *tm, double *frac) {
  int y, mo, d, h, mi, s = 0;
  const char *q = *p;
  if (!read_digits(&q, 4, &y) || !skip(&q, "-") || !read_digits(&q, 2, &mo) ||
      !skip(&q, "-") || !read_digits(&q, 2, &d) || !skip(&q, "Tt ") ||
      !read_digits(&q, 2, &h) || !skip(&q, ":") || !read_digits(&q, 2, &mi))
    return false;
  if (skip(&q, ":") && !read_digits(&q, 2, &s))
    return false;
  *frac = 0;
  if (*q == '.' || *q == ',') {
    double scale = 1;
    if (*++q < '0' || *q > '9')
      return false;
    for (; *q >= '0' && *q <= '9'; q++)
      *frac += (*q - '0') * (scale /= 10);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return false;
  *tm = (struct tm){.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
  *p = q;
  return true;
}

/* Reads a zone ("Z", "+HH:MM", "+HHMM", "+HH", or none) into *ret_offset
 * (seconds east of UTC); *p must then be at the end. */
static bool read_zone(const char *p, int *ret_offset) {
  int h = 0, m = 0, sign = 1;
  *ret_offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p++ == '-' ? -1 : 1;
    if (!read_digits(&p, 2, &h))
      return false;
    if (skip(&p, ":") && !read_digits(&p, 2, &m))
      return false;
    if (*p >= '0' && *p <= '9' && !read_digits(&p, 2, &m))
      return false;
    if (h > 23 || m > 59)
      return false;
  }
  while (*p == ' ')
    p++;
  *ret_offset = sign * (h * 3600 + m * 60);
  return *p == '\0';
}

int xm_parse_time(const char *s, double *ret) {
  struct tm tm;
  double frac;
  int offset, mday, mon;
  if (s == NULL)
    return -EINVAL;
  while (*s == ' ')
    s++;
  if (!read_date_time(&s, &tm, &frac) || !read_zone(s, &offset))
    return -EINVAL;
  mday = tm.tm_mday;
  mon = tm.tm_mon;
  time_t t = timegm(&tm);
  /* timegm normalises 31 February into March: refuse such dates. */
  if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon)
    return -EINVAL;
  *ret = (double)t + frac - offset;
  return 0;
}

/* A received time: an ISO-8601 string, or a number of seconds (or of
 * milliseconds, when too large for seconds). 0 when neither. */
static double received_time(json_object *response) {
  json_object *v = NULL;
  double t = 0;
  if (response == NULL ||
      !json_object_object_get_ex(response, "received", &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string)) {
    if (xm_parse_time(json_object_get_string(v), &t) != 0)
      return 0;
  } else if (json_object_is_type(v, json_type_int) ||
             json_object_is_type(v, json_type_double)) {
    t = json_object_get_double(v);
    if (t > 1e11)
      t /= 1000;
  }
  return isfinite(t) && t > 0 ? t : 0;
}

/* Copies a display string member, cut to fit ("" when absent). */
static void copy_cut(json_object *o, const char *key, char *dst, size_t size) {
  if (jsonx_copy_str(o, key, dst, size) == -EPROTO)
    dst[0] = '\0';
}

/* The responder: person, else recipient; its targetName, else its id. */
static void delivery_user(json_object *o, struct xm_delivery *d) {
  json_object *who = jsonx_obj(o, "person");
  if (who == NULL)
    who = jsonx_obj(o, "recipient");
  copy_cut(who, "targetName", d->user, sizeof(d->user));
  if (d->user[0] == '\0')
    copy_cut(who, "id", d->user, sizeof(d->user));
}

/* Parses one user-deliveries item. Returns 0, 1 to skip it, or -EPROTO. */
static int parse_delivery(json_object *o, const char *where,
                          struct xm_delivery *d, struct err *err) {
  char w[XM_WHERE_MAX + 8];
  memset(d, 0, sizeof(*d));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  json_object *ev = jsonx_obj(o, "event");
  snprintf(w, sizeof(w), "%s.event", where);
  int rc = copy_id(ev, "id", d->event_id, sizeof(d->event_id), w, err);
  if (rc == 0 && ev != NULL)
    rc = copy_event_id(ev, d->event_number, sizeof(d->event_number), w, err);
  if (rc != 0)
    return rc;
  delivery_user(o, d);
  json_object *response = jsonx_obj(o, "response");
  copy_cut(response, "text", d->text, sizeof(d->text));
  d->received = received_time(response);
  return 0;
}

/* ---- list pages: {"data": [...], "links": {"next": ...}} ---- */

/* Parses data[i] into item. Returns 0, 1 to skip it, or -EPROTO. */
typedef int (*item_fn)(json_object *o, const char *where, void *item,
                       struct err *err);

/* What the items of one kind of list page are. */
struct page_kind {
  const char *noun; /* "events", for messages */
  size_t size;      /* bytes of one item */
  item_fn parse;
};

static int event_item(json_object *o, const char *where, void *item,
                      struct err *err) {
  return parse_event(o, where, item, err);
}

static int delivery_item(json_object *o, const char *where, void *item,
                         struct err *err) {
  return parse_delivery(o, where, item, err);
}

static const struct page_kind events_kind = {"events", sizeof(struct xm_event),
                                             event_item};
static const struct page_kind deliveries_kind = {
    "deliveries", sizeof(struct xm_delivery), delivery_item};

/* The "data" array of a page (borrowed), or NULL with err set. */
static json_object *page_data(json_object *root, struct err *err) {
  json_object *data = NULL;
  if (!json_object_is_type(root, json_type_object))
    err_set(err, "the answer is a JSON %s, not an object",
            json_type_to_name(json_object_get_type(root)));
  else if (!json_object_object_get_ex(root, "data", &data) || data == NULL)
    err_set(err, "the answer has no \"data\"");
  else if (!json_object_is_type(data, json_type_array))
    err_set(err, "\"data\" is a JSON %s, not array",
            json_type_to_name(json_object_get_type(data)));
  else
    return data;
  return NULL;
}

/* Appends the items of data that the kind keeps to the array at retp (a
 * T **, caller frees) holding *ret_n items. Returns 0, -EPROTO or
 * -ENOMEM. */
static int parse_items(json_object *data, const struct page_kind *k, void *retp,
                       size_t *ret_n, struct err *err) {
  size_t n = json_object_array_length(data);
  size_t cap = *ret_n; /* at least what it holds */
  char where[XM_WHERE_MAX];
  for (size_t i = 0; i < n; i++) {
    if (array_reserve(retp, &cap, *ret_n, k->size, n) != 0) {
      err_set(err, "out of memory for %zu %s", *ret_n + n - i, k->noun);
      return -ENOMEM;
    }
    char *items;
    memcpy(&items, retp, sizeof(items));
    snprintf(where, sizeof(where), "data[%zu]", i);
    int rc = k->parse(json_object_array_get_idx(data, i), where,
                      items + *ret_n * k->size, err);
    if (rc < 0)
      return rc;
    if (rc == 0)
      (*ret_n)++;
  }
  return 0;
}

/* Parses a list page of kind k: appends its items (see parse_items) and
 * copies links.next into next ("" when absent). */
static int parse_page(const char *body, size_t len, int max_depth,
                      const struct page_kind *k, void *retp, size_t *ret_n,
                      char *next, size_t next_size, struct err *err) {
  json_object *root = NULL;
  next[0] = '\0';
  int rc = jsonx_parse(body, len, max_depth, &root, err);
  if (rc != 0)
    return rc;
  json_object *data = page_data(root, err);
  rc = data ? parse_items(data, k, retp, ret_n, err) : -EPROTO;
  if (rc == 0 && jsonx_copy_str(jsonx_obj(root, "links"), "next", next,
                                next_size) == -ENAMETOOLONG) {
    next[0] = '\0';
    err_set(err, "links.next is longer than %zu bytes", next_size - 1);
    rc = -EPROTO;
  }
  json_object_put(root);
  return rc;
}

int xm_parse_events_page(const char *body, size_t len, int max_depth,
                         struct xm_event **ret, size_t *ret_n, char *next,
                         size_t next_size, struct err *err) {
  return parse_page(body, len, max_depth, &events_kind, ret, ret_n, next,
                    next_size, err);
}

int xm_parse_deliveries_page(const char *body, size_t len, int max_depth,
                             struct xm_delivery **ret, size_t *ret_n,
                             char *next, size_t next_size, struct err *err) {
  return parse_page(body, len, max_depth, &deliveries_kind, ret, ret_n, next,
                    next_size, err);
}

struct deliveries {
  struct xm_delivery **ret;
  size_t *ret_n;
};

static int deliveries_page(void *ctx, const char *body, size_t len,
                           int max_depth, char *next, size_t next_size,
                           struct err *err) {
  struct deliveries *d = ctx;
  return xm_parse_deliveries_page(body, len, max_depth, d->ret, d->ret_n, next,
                                  next_size, err);
}

/* Starts url with base_url + XM_EVENTS_PATH "/" + the encoded id. */
static int event_url(const struct xm_client *c, const char *event_id,
                     struct buf *url) {
  int rc = buf_puts(url, c->base_url);
  if (rc == 0)
    rc = buf_puts(url, XM_EVENTS_PATH "/");
  if (rc == 0)
    rc = buf_put_urlenc(url, event_id);
  return rc;
}

int xm_user_deliveries(struct xm_client *c, const char *event_id, double now,
                       struct xm_delivery **ret, size_t *ret_n,
                       struct err *err) {
  struct deliveries ctx = {ret, ret_n};
  struct pager p = {deliveries_page, &ctx, false};
  struct buf url;
  char at[CLOCK_ISO8601_MAX];
  *ret = NULL;
  *ret_n = 0;
  clock_iso8601(now, at, sizeof(at));
  buf_init(&url, XM_URL_MAX);
  int rc = event_url(c, event_id, &url);
  if (rc == 0)
    rc = buf_puts(&url, "/user-deliveries?at=");
  if (rc == 0)
    rc = buf_put_urlenc(&url, at);
  if (rc == 0)
    rc = buf_printf(&url, "&limit=%d", XM_LIMIT);
  if (rc != 0)
    err_set(err, "xMatters API: GET " XM_EVENTS_PATH "/.../user-deliveries: "
                 "event id too long");
  else
    rc = get_list(c, &url, &p, ret, ret_n, sizeof(**ret), err);
  buf_fini(&url);
  return rc;
}

int xm_get_event(struct xm_client *c, const char *event_id,
                 struct xm_event *ret, struct err *err) {
  struct call call = {.method = "GET", .api_key = ""};
  struct http_response resp;
  struct buf url;
  json_object *root = NULL;
  memset(ret, 0, sizeof(*ret));
  buf_init(&url, XM_URL_MAX);
  int rc = event_url(c, event_id, &url);
  if (rc != 0) {
    err_set(err, "xMatters API: GET " XM_EVENTS_PATH "/...: id too long");
    buf_fini(&url);
    return rc;
  }
  url_path(url.data, call.what, sizeof(call.what));
  struct http_request req = {.method = "GET",
                             .url = url.data,
                             .user = c->user,
                             .password = c->password};
  http_response_init(&resp, XM_BODY_MAX);
  rc = xm_do(c, &call, &req, &resp, err);
  if (rc == 0)
    rc = jsonx_parse(resp.body.data, resp.body.len, c->max_depth, &root, err);
  if (rc == 0 && (rc = parse_event(root, "the answer", ret, err)) == 1) {
    err_set(err, "the answer is not an event with an id");
    rc = -EPROTO;
  }
  if (rc == -EPROTO) {
    err_prefix(err, "xMatters API: GET %s", call.what);
    scrub_all(c, &call, err);
  }
  json_object_put(root);
  http_response_fini(&resp);
  buf_fini(&url);
  return rc;
}
