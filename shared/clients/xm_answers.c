/* SPDX-License-Identifier: MIT */
/* xMatters JSON: the bodies the client sends and the answers it reads.
 *
 * Open questions about the real API and what this side does about them
 * (docs/xmatters-api.md, sections 2-4, 7 and 9):
 *  - A trigger answers 202 {"requestId": ...}; an empty body has no
 *    requestId and is no error (see xm_requests.c for why any 2xx counts).
 *  - Text properties come back with a language suffix ("runscope_key#en");
 *    any "#xx" suffix is accepted, and a value embedded with translations
 *    ({"value": ...}) too.
 *  - eventId is a numeric string in REST, a number elsewhere: both are read.
 *  - Error bodies are {"code","reason","message"}, legacy {"message",
 *    "details"}, OAuth {"error","error_description"}, or not JSON at all (a
 *    cleaned-up snippet is quoted). */
#include "clients/xm_internal.h"
#include "clients/xmatters.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonx.h"
#include "util/str.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XM_WHERE_MAX 48

/* ---- building JSON ---- */

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

/* Appends body as JSON text (json-c's flags) to out. Returns 0, -ENOMEM or
 * -EMSGSIZE. */
static int put_json(json_object *body, int flags, struct buf *out) {
  const char *text = json_object_to_json_string_ext(body, flags);
  return text ? buf_puts(out, text) : -ENOMEM;
}

/* ---- the trigger body ---- */

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

/* Appends item (owned, NULL: out of memory) to arr. */
static int append(json_object *arr, json_object *item) {
  if (item == NULL)
    return -ENOMEM;
  if (json_object_array_add(arr, item) != 0) {
    json_object_put(item);
    return -ENOMEM;
  }
  return 0;
}

/* {"id": id}, or NULL when memory runs out. */
static json_object *recipient(const char *id) {
  json_object *rec = json_object_new_object();
  if (rec != NULL && add_new(rec, "id", json_object_new_string(id)) != 0) {
    json_object_put(rec);
    return NULL;
  }
  return rec;
}

static int add_recipients(json_object *body, const struct xm_trigger_req *r) {
  if (r->n_recipients == 0 || r->recipients == NULL)
    return 0;
  json_object *arr = json_object_new_array();
  int rc = add_new(body, "recipients", arr);
  for (size_t i = 0; rc == 0 && i < r->n_recipients; i++)
    if (r->recipients[i] != NULL)
      rc = append(arr, recipient(r->recipients[i]));
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

static int add_response_options(json_object *body,
                                const struct xm_trigger_req *r) {
  if (r->acknowledge_text == NULL && r->rerun_text == NULL)
    return 0;
  json_object *arr = json_object_new_array();
  int rc = add_new(body, "responseOptions", arr);
  if (rc == 0 && r->acknowledge_text != NULL)
    rc =
        append(arr, response_option(1, r->acknowledge_text, r->acknowledge_text,
                                    "STOP_NOTIFYING_TARGET", "POSITIVE", true));
  if (rc == 0 && r->rerun_text != NULL)
    rc = append(arr,
                response_option(2, r->rerun_text, "Run the Runscope test again",
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
  if (rc == 0)
    rc = put_json(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                  out);
  json_object_put(body);
  return rc;
}

int xm_build_terminate_body(const char *event_id, struct buf *out) {
  json_object *body = json_object_new_object();
  int rc =
      body ? add_new(body, "id", json_object_new_string(event_id)) : -ENOMEM;
  if (rc == 0)
    rc = add_new(body, "status", json_object_new_string("TERMINATED"));
  if (rc == 0)
    rc = put_json(body, JSON_C_TO_STRING_PLAIN, out);
  json_object_put(body);
  return rc;
}

/* ---- the trigger answer, error answers ---- */

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

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

/* Writes "reason: message" (or either) of an error object into buf. */
static const char *error_fields(json_object *root, char *buf, size_t size) {
  static const char *const keys[] = {"message", "error_description", "error",
                                     "details"};
  const char *reason = nonempty(jsonx_str(root, "reason"));
  const char *msg = NULL;
  for (size_t i = 0; msg == NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
    msg = nonempty(jsonx_str(root, keys[i]));
  if (reason != NULL && msg != NULL)
    snprintf(buf, size, "%s: %s", reason, msg);
  else if (reason != NULL || msg != NULL)
    snprintf(buf, size, "%s", reason ? reason : msg);
  else
    return NULL;
  return buf;
}

const char *xm_error_text(const char *body, size_t len, int max_depth,
                          char *buf, size_t size) {
  json_object *root = NULL;
  if (jsonx_parse(body, len, max_depth, &root, NULL) != 0) {
    str_snippet(body, len, buf, size);
    return buf[0] ? buf : NULL;
  }
  const char *text = error_fields(root, buf, size);
  json_object_put(root);
  return text;
}

/* ---- events ---- */

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

/* Parses one event. Returns 0, 1 to skip it (no id), or -EPROTO. */
static int parse_event(json_object *o, const char *where, struct xm_event *e,
                       struct err *err) {
  memset(e, 0, sizeof(*e));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  int rc = jsonx_copy_id(o, "id", e->id, sizeof(e->id), where, err);
  if (rc == 0)
    rc = copy_event_id(o, e->event_id, sizeof(e->event_id), where, err);
  if (rc == 0)
    rc = jsonx_copy_id(o, "requestId", e->request_id, sizeof(e->request_id),
                       where, err);
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

int xm_parse_event(const char *body, size_t len, int max_depth,
                   struct xm_event *ret, struct err *err) {
  json_object *root = NULL;
  memset(ret, 0, sizeof(*ret));
  int rc = jsonx_parse(body, len, max_depth, &root, err);
  if (rc == 0 && (rc = parse_event(root, "the answer", ret, err)) == 1) {
    err_set(err, "the answer is not an event with an id");
    rc = -EPROTO;
  }
  json_object_put(root);
  return rc;
}

/* ---- one user's delivery ---- */

/* A received time: an ISO-8601 string, or a number of seconds (or of
 * milliseconds, when too large for seconds). 0 when neither. */
static double received_time(json_object *response) {
  json_object *v = NULL;
  double t = 0;
  if (response == NULL ||
      !json_object_object_get_ex(response, "received", &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string)) {
    if (clock_parse_iso8601(json_object_get_string(v), &t) != 0)
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
  int rc = jsonx_copy_id(ev, "id", d->event_id, sizeof(d->event_id), w, err);
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
