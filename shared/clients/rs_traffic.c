/* SPDX-License-Identifier: MIT */
/* Captured traffic: a bucket's Errors stream and the details of messages.
 *
 * The calls and their parsers: the messages list, paged, and a message.
 *
 * The message shape is only partly documented (docs/runscope-api.md 6.2):
 * uuid, bucket_key and request.{method, host, path, scheme, timestamp,
 * headers, params}; public clients confirm that a list's data[] items carry
 * "uuid" and a detail's data carries "request". No sample of either is
 * known, and the response's attribute names are not documented at all. So
 * what follows is a tolerant guess, not a contract:
 *  - the id is "uuid" (documented), else "id";
 *  - method, host and path come from "request" (documented), else from the
 *    top level; a host or path still missing is taken from a URL
 *    ("request.url" or "url", scheme://host[:port]/path?query: without the
 *    port and the query);
 *  - the time is request.timestamp (documented), else a top-level
 *    "timestamp", else response.timestamp;
 *  - the status is response.status or response.status_code (an integer, or
 *    a string that starts with the three digits: "503", "503 Service
 *    Unavailable"), else a top-level status_code, response_status or
 *    response_status_code; "response": null is a message without a
 *    response (a connection error): status 0, known.
 * A field found nowhere is reported absent (rs_message `have`), so that a
 * rule that needs it makes the caller read the message's detail. */
#include "clients/rs_internal.h"

#include "util/str.h"
#include "util/url.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RS_MSG_PAGE 100     /* count asked for on every errors page */
#define RS_MSG_MAX_PAGES 12 /* enough for RS_MESSAGES_MAX with overlap */

/* An HTTP status from member key of o: a number, or a string starting with
 * exactly three digits. False when absent or not a status. */
static bool status_of(json_object *o, const char *key, int *ret) {
  json_object *v = NULL;
  long long n = -1;
  if (!json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) || v == NULL)
    return false;
  if (json_object_is_type(v, json_type_int) ||
      json_object_is_type(v, json_type_double)) {
    n = json_object_get_int64(v);
  } else if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    size_t i = 0;
    for (n = 0; i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
      n = n * 10 + (s[i] - '0');
    if (i != 3)
      n = -1;
  }
  if (n < 100 || n > 999)
    return false;
  *ret = (int)n;
  return true;
}

static void message_status(json_object *o, struct rs_message *m) {
  static const char *const in_response[] = {"status", "status_code"};
  static const char *const top[] = {"status_code", "response_status",
                                    "response_status_code"};
  json_object *resp = NULL;
  bool has_response = json_object_object_get_ex(o, "response", &resp);
  for (size_t i = 0; i < sizeof(in_response) / sizeof(in_response[0]); i++)
    if (status_of(resp, in_response[i], &m->status)) {
      m->have |= RS_MSG_STATUS;
      return;
    }
  for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
    if (status_of(o, top[i], &m->status)) {
      m->have |= RS_MSG_STATUS;
      return;
    }
  if (has_response && resp == NULL) { /* "response": null */
    m->status = 0;
    m->have |= RS_MSG_STATUS;
  }
}

/* Copies the string member key of req (else of o) into dst and sets bit. */
static void message_text(json_object *req, json_object *o, const char *key,
                         char *dst, size_t size, unsigned bit,
                         struct rs_message *m) {
  json_object *src = jsonx_str(req, key) ? req : jsonx_str(o, key) ? o : NULL;
  if (src == NULL)
    return;
  rs_copy_name(src, key, dst, size);
  m->have |= bit;
}

/* Copies s[0..n) into dst (cut to fit). */
static void copy_part(char *dst, size_t size, const char *s, size_t n) {
  if (n >= size)
    n = size - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
  str_utf8_trim(dst);
}

/* Takes the host and the path m lacks from url
 * (scheme://[user@]host[:port][/path][?query][#fragment]). */
static void message_url(const char *url, struct rs_message *m) {
  const char *p = strstr(url, "://");
  if (p == NULL)
    return;
  if (!(m->have & RS_MSG_HOST)) {
    size_t size = strlen(url) + 1; /* room for any host of url */
    char *host = malloc(size);
    if (host != NULL && url_host(url, host, size) == 0) {
      copy_part(m->host, sizeof(m->host), host, strlen(host));
      m->have |= RS_MSG_HOST;
    }
    free(host);
  }
  if (!(m->have & RS_MSG_PATH)) {
    const char *path = p + 3 + strcspn(p + 3, "/?#");
    size_t n = strcspn(path, "?#");
    copy_part(m->path, sizeof(m->path), n ? path : "/", n ? n : 1);
    m->have |= RS_MSG_PATH;
  }
}

/* Reads every field of message o but its uuid into m. */
static void message_fields(json_object *o, struct rs_message *m) {
  json_object *req = jsonx_obj(o, "request");
  message_text(req, o, "method", m->method, sizeof(m->method), RS_MSG_METHOD,
               m);
  message_text(req, o, "host", m->host, sizeof(m->host), RS_MSG_HOST, m);
  message_text(req, o, "path", m->path, sizeof(m->path), RS_MSG_PATH, m);
  const char *url = jsonx_str(req, "url");
  if (url == NULL)
    url = jsonx_str(o, "url");
  if (url != NULL)
    message_url(url, m);
  message_status(o, m);
  m->timestamp = jsonx_num(req, "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = jsonx_num(o, "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = jsonx_num(jsonx_obj(o, "response"), "timestamp", 0);
  if (!(m->timestamp > 0))
    m->timestamp = 0;
}

/* ---- parsing ---- */

/* Reads one list item into dst (struct rs_message). Returns 0, or 1 for an
 * item that cannot be used (not an object, no uuid or too long a one, no
 * time). */
static int parse_list_item(json_object *o, const char *where, void *dst,
                           struct err *err) {
  struct rs_message *m = dst;
  (void)where;
  (void)err;
  memset(m, 0, sizeof(*m));
  if (!json_object_is_type(o, json_type_object))
    return 1;
  if (jsonx_copy_str(o, rs_pick(o, "uuid", "id"), m->uuid, sizeof(m->uuid)) !=
          0 ||
      m->uuid[0] == '\0')
    return 1;
  message_fields(o, m);
  return m->timestamp > 0 ? 0 : 1;
}

static const struct rs_item_kind message_kind = {
    sizeof(struct rs_message), parse_list_item, "data", "messages", 0, NULL};

/* The usable messages of a list's data[] into a struct rs_items. */
static int messages_data(json_object *data, void *items, struct err *err) {
  return rs_parse_items(data, &message_kind, items, err);
}

/* Reads a message detail (data) into a struct rs_message. Its uuid may be
 * absent ("" then). */
static int message_data(json_object *data, void *msg, struct err *err) {
  struct rs_message *m = msg;
  memset(m, 0, sizeof(*m));
  if (jsonx_copy_str(data, rs_pick(data, "uuid", "id"), m->uuid,
                     sizeof(m->uuid)) == -ENAMETOOLONG) {
    err_set(err, "data.uuid is longer than %zu bytes", sizeof(m->uuid) - 1);
    return -EPROTO;
  }
  message_fields(data, m);
  return 0;
}

int rs_parse_messages(const char *body, size_t len, int max_depth,
                      struct rs_message **ret, size_t *ret_n, struct err *err) {
  void *v;
  int rc = rs_parse_list(body, len, max_depth, messages_data, &v, ret_n, err);
  *ret = v;
  return rc;
}

int rs_parse_message(const char *body, size_t len, int max_depth,
                     struct rs_message *ret, struct err *err) {
  memset(ret, 0, sizeof(*ret));
  return rs_parse_body(body, len, max_depth, json_type_object, message_data,
                       ret, err);
}

/* ---- the calls ---- */

/* Messages collected over the errors pages. */
struct messages {
  struct rs_message *v;
  size_t n, cap;
};

static int cmp_message_time(const void *a, const void *b) {
  const struct rs_message *x = a, *y = b;
  if (x->timestamp != y->timestamp)
    return x->timestamp < y->timestamp ? -1 : 1;
  return strcmp(x->uuid, y->uuid);
}

/* Whole seconds for since (rounded down) and before (rounded up). */
static long long secs_down(double t) { return (long long)t; }
static long long secs_up(double t) {
  long long s = (long long)t;
  return (double)s < t ? s + 1 : s;
}

/* Reads one errors page into *page (its v: caller frees). */
static int errors_page(struct rs_client *c, const char *bucket_key,
                       double since, double before, struct rs_items *page,
                       struct err *err) {
  struct rs_path p;
  int rc = rs_path_init(&p, bucket_key, NULL, "/errors", NULL);
  if (rc == 0)
    rc = buf_printf(&p.b, "?count=%d", RS_MSG_PAGE);
  p.page_max = RS_MSG_PAGE;
  if (rc == 0 && since > 0)
    rc = buf_printf(&p.b, "&since=%lld", secs_down(since));
  if (rc == 0 && before > 0)
    rc = buf_printf(&p.b, "&before=%lld", secs_up(before));
  if (rc != 0)
    err_set(err, "Runscope API: bucket key too long");
  if (rc == 0)
    rc = rs_fetch(c, &p, json_type_array, messages_data, page, err);
  buf_fini(&p.b);
  return rc;
}

/* Reads pages newest first, going back with before = the oldest time of
 * the previous page, until a page is not full (*ret_truncated false), or
 * the cap, a page with nothing new, or a server that ignores before stops
 * it with more left (*ret_truncated true): rs_paging_next. */
static int collect_messages(struct rs_client *c, const char *bucket_key,
                            double since, struct messages *all,
                            bool *ret_truncated, struct err *err) {
  struct rs_paged pg = {since, 0, 0, 0, RS_MSG_PAGE, 0, 0, RS_MESSAGES_MAX};
  *ret_truncated = false;
  for (int i = 0; i < RS_MSG_MAX_PAGES; i++) {
    struct rs_items page = {NULL, 0, 0};
    int rc = errors_page(c, bucket_key, since, pg.before, &page, err);
    if (rc != 0)
      return rc;
    pg.added =
        rs_merge_by_id(&all->v, &all->n, &all->cap, NULL, page.v, page.n,
                       sizeof(*all->v), offsetof(struct rs_message, uuid));
    pg.oldest = rs_oldest(page.v, page.n, sizeof(*all->v),
                          offsetof(struct rs_message, timestamp));
    pg.raw = page.raw;
    pg.n = all->n;
    free(page.v);
    if (pg.added < 0) {
      err_set(err, "Runscope API: out of memory for the messages");
      return -ENOMEM;
    }
    enum rs_paging next = rs_paging_next(&pg);
    if (next == RS_PAGING_END)
      return 0;
    if (next == RS_PAGING_STOP)
      break;
    pg.before = pg.oldest;
  }
  *ret_truncated = true;
  return 0;
}

int rs_list_errors(struct rs_client *c, const char *bucket_key, double since,
                   struct rs_message **ret, size_t *ret_n, bool *ret_truncated,
                   struct err *err) {
  struct messages all = {NULL, 0, 0};
  *ret = NULL;
  *ret_n = 0;
  int rc = collect_messages(c, bucket_key, since, &all, ret_truncated, err);
  if (rc == 0 && all.v == NULL && (all.v = calloc(1, sizeof(*all.v))) == NULL)
    rc = -ENOMEM;
  if (rc != 0) {
    free(all.v);
    return rc;
  }
  qsort(all.v, all.n, sizeof(*all.v), cmp_message_time);
  if (all.n > RS_MESSAGES_MAX) { /* keep the newest, as the pages did */
    memmove(all.v, all.v + (all.n - RS_MESSAGES_MAX),
            RS_MESSAGES_MAX * sizeof(*all.v));
    all.n = RS_MESSAGES_MAX;
    *ret_truncated = true;
  }
  *ret = all.v;
  *ret_n = all.n;
  return 0;
}

int rs_get_message(struct rs_client *c, const char *bucket_key,
                   const char *uuid, struct rs_message *ret, struct err *err) {
  struct rs_path p;
  memset(ret, 0, sizeof(*ret));
  int rc = rs_path_init(&p, bucket_key, NULL, "/messages/", uuid);
  if (rc == 0)
    rc = rs_fetch(c, &p, json_type_object, message_data, ret, err);
  else
    err_set(err, "Runscope API: bucket key or message uuid too long");
  if (rc == 0) /* the message asked for, whether or not the answer says */
    str_copy(ret->uuid, sizeof(ret->uuid), uuid);
  buf_fini(&p.b);
  return rc;
}
