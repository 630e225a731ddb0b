/* SPDX-License-Identifier: MIT */
/* The Runscope client object and its requests, one or many at a time.
 *
 * One GET or POST, many GETs at once over http_run, what a status means,
 * and the helpers for lists read a page at a time. */
#include "clients/rs_internal.h"

#include "util/array.h"
#include "util/hash.h"
#include "util/jscan.h"
#include "util/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the client ---- */

struct rs_client *rs_new(struct http_client *http, const char *base_url,
                         const char *token, int max_json_depth) {
  struct rs_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->http = http;
  c->base_url = strdup(base_url ? base_url : "");
  c->token = strdup(token ? token : "");
  c->max_depth = max_json_depth;
  c->retry_after = -1;
  if (c->base_url == NULL || c->token == NULL) {
    rs_free(c);
    return NULL;
  }
  size_t n = strlen(c->base_url);
  while (n > 0 && c->base_url[n - 1] == '/')
    c->base_url[--n] = '\0';
  return c;
}

void rs_free(struct rs_client *c) {
  if (c == NULL)
    return;
  free(c->base_url);
  str_free_secret(c->token);
  free(c);
}

double rs_retry_after(const struct rs_client *c) { return c->retry_after; }

/* ---- requests ---- */

/* Appends prefix, then s percent-encoded. */
static int put_segment(struct buf *b, const char *prefix, const char *s) {
  int rc = buf_puts(b, prefix);
  return rc == 0 ? buf_put_urlenc(b, s) : rc;
}

int rs_path_init(struct rs_path *p, const char *bucket, const char *test,
                 const char *tail, const char *leaf) {
  buf_init(&p->b, RS_PATH_MAX);
  int rc = buf_puts(&p->b, "/buckets");
  if (rc == 0 && bucket != NULL)
    rc = put_segment(&p->b, "/", bucket);
  if (rc == 0 && test != NULL)
    rc = put_segment(&p->b, "/tests/", test);
  if (rc == 0 && tail != NULL)
    rc = buf_puts(&p->b, tail);
  if (rc == 0 && leaf != NULL)
    rc = buf_put_urlenc(&p->b, leaf);
  p->object_len = p->b.len;
  p->page_max = 0;
  return rc;
}

/* Puts base_url + p into url (initialised here; the caller releases it
 * with buf_fini). Returns 0, or -EMSGSIZE or -ENOMEM with err set. */
static int request_url(const struct rs_client *c, const struct rs_path *p,
                       struct buf *url, struct err *err) {
  buf_init(url, RS_PATH_MAX + strlen(c->base_url));
  int rc = buf_puts(url, c->base_url);
  if (rc == 0)
    rc = buf_append(url, p->b.data, p->b.len);
  if (rc != 0)
    err_set(err, "Runscope API: GET %.*s: URL too long", (int)p->object_len,
            p->b.data);
  return rc;
}

/* Sets err for an answer with a non-2xx status, naming the call as method
 * and what[0..what_len). */
static void status_error(const struct rs_client *c, const char *method,
                         const char *what, int what_len,
                         const struct http_response *resp, struct err *err) {
  json_object *root = NULL;
  long estatus;
  const char *msg = NULL;
  char text[RS_SNIPPET_MAX];
  const char *secrets[] = {c->token};
  if (jsonx_parse(resp->body.data, resp->body.len, c->max_depth, &root, NULL) ==
      0) {
    msg = json_object_is_type(root, json_type_object)
              ? rs_error_message(root, &estatus)
              : NULL;
    if (msg == NULL)
      msg = jsonx_str(root, "message");
    if (msg == NULL && json_object_is_type(root, json_type_string))
      msg = json_object_get_string(root);
  } else if (resp->body.len > 0) {
    str_snippet_scrubbed(resp->body.data, resp->body.len, secrets, 1, text,
                         sizeof(text));
    msg = text;
  }
  /* The token is scrubbed from the whole text, then the text is cut. */
  if (msg != NULL && msg[0] != '\0')
    err_setf_scrubbed(err, secrets, 1, "Runscope API: %s %.*s: HTTP %ld: %s",
                      method, what_len, what, resp->status, msg);
  else
    err_setf_scrubbed(err, secrets, 1, "Runscope API: %s %.*s: HTTP %ld",
                      method, what_len, what, resp->status);
  json_object_put(root);
}

/* 0 for a 2xx answer. Else err names the call (method what[0..what_len))
 * and the status's errno is returned: rs_status_errno for a GET (the
 * client's own reads), http_status_errno for a POST. */
static int answer_status(const struct rs_client *c, const char *method,
                         const char *what, int what_len,
                         const struct http_response *resp, struct err *err) {
  if (resp->status >= 200 && resp->status <= 299)
    return 0;
  status_error(c, method, what, what_len, resp, err);
  return strcmp(method, "GET") == 0 ? rs_status_errno(resp->status)
                                    : http_status_errno(resp->status);
}

/* Names the client in the message of a transport error of a GET. */
static void transport_failed(const struct rs_client *c, struct err *err) {
  err_prefix(err, "Runscope API");
  err_scrub(err, c->token);
}

/* Prefixes a parse failure of an answer with the call. */
static void parse_failed(const struct rs_client *c, const struct rs_path *p,
                         struct err *err) {
  err_prefix(err, "Runscope API: GET %.*s", (int)p->object_len, p->b.data);
  err_scrub(err, c->token);
}

/* GETs base_url + path into resp. Returns 0 for a 2xx answer, else the
 * errno of the transport or of the status, with err set. */
static int get(struct rs_client *c, const struct rs_path *p,
               struct http_response *resp, struct err *err) {
  struct buf url;
  int rc = request_url(c, p, &url, err);
  if (rc != 0) {
    buf_fini(&url);
    return rc;
  }
  struct http_request req = {.method = "GET", .url = url.data};
  req.bearer = c->token[0] != '\0' ? c->token : NULL;
  rc = http_do(c->http, &req, resp, err);
  buf_fini(&url);
  c->retry_after = rc == 0 ? resp->retry_after : -1;
  if (rc != 0) {
    transport_failed(c, err);
    return rc;
  }
  return answer_status(c, "GET", p->b.data, (int)p->object_len, resp, err);
}

/* Refuses a page of p that holds more items than asked for: -EPROTO. */
static int too_many_items(const struct rs_path *p, struct err *err) {
  err_set(err, "the page holds more than the %d items asked for", p->page_max);
  return -EPROTO;
}

/* A page of p (a list asked with a count) that holds more items than
 * asked for is refused before it is parsed: its tree could cost far more
 * than its bytes. Returns 0, or -EPROTO with err set. */
static int page_fits(const struct rs_client *c, const struct rs_path *p,
                     const struct http_response *resp, struct err *err) {
  if (p->page_max <= 0)
    return 0;
  long n = jscan_count_items(resp->body.data, resp->body.len, c->max_depth - 1,
                             "data", (size_t)p->page_max);
  if (n <= p->page_max)
    return 0;
  return too_many_items(p, err);
}

int rs_fetch(struct rs_client *c, const struct rs_path *p, json_type want,
             rs_data_fn fn, void *arg, struct err *err) {
  struct http_response resp;
  http_response_init(&resp, RS_BODY_MAX);
  int rc = get(c, p, &resp, err);
  if (rc == 0) {
    rc = page_fits(c, p, &resp, err);
    if (rc == 0)
      rc = rs_parse_body(resp.body.data, resp.body.len, c->max_depth, want, fn,
                         arg, err);
    if (rc != 0)
      parse_failed(c, p, err);
  }
  http_response_fini(&resp);
  return rc;
}

int rs_post_once(struct rs_client *c, const char *url, const char *what,
                 struct http_response *resp, struct err *err) {
  struct http_request req = {.method = "POST", .url = url, .once = true};
  int rc = http_do(c->http, &req, resp, err);
  c->retry_after = rc == 0 ? resp->retry_after : -1;
  if (rc != 0) {
    err_prefix(err, "Runscope API");
    return rc;
  }
  return answer_status(c, "POST", what, (int)strlen(what), resp, err);
}

/* ---- many reads at once ---- */

/* A run of many reads (http_run's batch). */
struct many {
  struct rs_client *c;
  const struct rs_many_ops *ops;
  void *kind;    /* the kind's own state */
  size_t n;      /* items */
  size_t next;   /* the first item not started */
  size_t *again; /* items whose next page is due, first in first out */
  size_t n_again, head, cap_again;
  double deadline;
  bool stop;
};

/* One request in flight. */
struct many_req {
  size_t i;
  struct rs_path p;
  struct buf url;
};

static void many_req_free(struct many_req *r) {
  if (r == NULL)
    return;
  buf_fini(&r->p.b);
  buf_fini(&r->url);
  free(r);
}

/* Builds item i's next request into r. Returns 0 or a negative errno. */
static int many_build(struct many *m, size_t i, struct many_req *r,
                      struct err *err) {
  r->i = i;
  int rc = m->ops->path(m->kind, i, &r->p, err);
  return rc == 0 ? request_url(m->c, &r->p, &r->url, err) : rc;
}

/* The item whose request goes next: a next page first, then a new item
 * while the deadline allows. False when there is none. */
static bool many_pick(struct many *m, size_t *ret) {
  if (m->head < m->n_again) {
    *ret = m->again[m->head++];
    if (m->head == m->n_again)
      m->head = m->n_again = 0;
    return true;
  }
  if (m->next >= m->n ||
      (m->deadline > 0 && http_now(m->c->http) >= m->deadline))
    return false;
  *ret = m->next++;
  return true;
}

/* Reports item i as failed, or done, to the kind; stops on its word. */
static void many_finish(struct many *m, size_t i, int rc,
                        const struct err *err) {
  if (!m->ops->finish(m->kind, i, rc, err))
    m->stop = true;
}

static bool many_next(void *ctx, struct http_request *req, void **ret_tag) {
  struct many *m = ctx;
  size_t i;
  while (!m->stop && many_pick(m, &i)) {
    struct err err = {{0}};
    struct many_req *r = calloc(1, sizeof(*r));
    int rc = r ? many_build(m, i, r, &err) : -ENOMEM;
    if (rc == 0) {
      req->method = "GET";
      req->url = r->url.data;
      req->bearer = m->c->token[0] != '\0' ? m->c->token : NULL;
      *ret_tag = r;
      return true;
    }
    if (r == NULL)
      err_set(&err, "Runscope API: out of memory");
    many_req_free(r);
    many_finish(m, i, rc, &err);
  }
  return false;
}

/* Queues item i for its next page. Returns 0 or -ENOMEM. */
static int many_again(struct many *m, size_t i) {
  if (array_reserve(&m->again, &m->cap_again, m->n_again, sizeof(*m->again),
                    16) != 0)
    return -ENOMEM;
  m->again[m->n_again++] = i;
  return 0;
}

/* An item's page for rs_parse_body. */
struct many_page {
  struct many *m;
  size_t i;
};

static int many_page(json_object *data, void *arg, struct err *err) {
  struct many_page *pg = arg;
  return pg->m->ops->page(pg->m->kind, pg->i, data, err);
}

/* Checks an answer and hands its data to the kind: as get and rs_fetch do
 * for one call. Returns the kind's 1 or 0, or a negative errno. */
static int many_answer(struct many *m, struct many_req *r, int rc,
                       const struct http_response *resp, const struct err *herr,
                       struct err *err) {
  struct rs_client *c = m->c;
  if (rc != 0) {
    *err = *herr;
    transport_failed(c, err);
    return rc;
  }
  if (resp->retry_after > c->retry_after)
    c->retry_after = resp->retry_after;
  rc = answer_status(c, "GET", r->p.b.data, (int)r->p.object_len, resp, err);
  if (rc != 0)
    return rc;
  if (m->ops->raw != NULL) { /* counts the items as it reads them */
    rc = m->ops->raw(m->kind, r->i, resp->body.data, resp->body.len,
                     c->max_depth, (size_t)r->p.page_max, err);
    if (rc == -E2BIG) {
      rc = too_many_items(&r->p, err);
      parse_failed(c, &r->p, err);
    }
    if (rc != RS_MANY_TREE)
      return rc;
  }
  if ((rc = page_fits(c, &r->p, resp, err)) != 0) {
    parse_failed(c, &r->p, err);
    return rc;
  }
  struct many_page pg = {m, r->i};
  rc = rs_parse_body(resp->body.data, resp->body.len, c->max_depth,
                     m->ops->want, many_page, &pg, err);
  if (rc < 0)
    parse_failed(c, &r->p, err);
  return rc;
}

static bool many_done(void *ctx, void *tag, int rc,
                      const struct http_response *resp,
                      const struct err *herr) {
  struct many *m = ctx;
  struct many_req *r = tag;
  struct err err = {{0}};
  size_t i = r->i;
  rc = many_answer(m, r, rc, resp, herr, &err);
  many_req_free(r);
  if (rc == 1 && many_again(m, i) == 0)
    return !m->stop;
  if (rc == 1) {
    err_set(&err, "Runscope API: out of memory");
    rc = -ENOMEM;
  }
  many_finish(m, i, rc, &err);
  return !m->stop;
}

int rs_many_run(struct rs_client *c, const struct rs_many_ops *ops, void *kind,
                size_t n, double deadline) {
  struct many m = {c, ops, kind, n, 0, NULL, 0, 0, 0, deadline, false};
  struct http_batch b = {many_next, many_done, &m};
  c->retry_after = -1;
  int rc = http_run(c->http, &b);
  free(m.again);
  return rc;
}

/* ---- lists read a page at a time ---- */

static int id_set_init(struct rs_id_set *s, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  s->slot = calloc(cap, sizeof(*s->slot));
  s->mask = cap - 1;
  s->n = 0;
  return s->slot ? 0 : -ENOMEM;
}

void rs_id_set_fini(struct rs_id_set *set) {
  free(set->slot);
  memset(set, 0, sizeof(*set));
}

/* True when id is the id of one of the items in set s (of all); else adds
 * item index i (which holds id once copied) and returns false. */
static bool id_set_seen(struct rs_id_set *s, const char *all, size_t size,
                        size_t id_off, const char *id, size_t i) {
  size_t h = (size_t)hash_str(id) & s->mask;
  for (; s->slot[h] != 0; h = (h + 1) & s->mask)
    if (strcmp(all + (s->slot[h] - 1) * size + id_off, id) == 0)
      return true;
  s->slot[h] = i + 1;
  s->n++;
  return false;
}

/* Makes s hold the ids of all[0..n) with room for want of them at half
 * load: kept when it does, else built anew. 0 or -ENOMEM. */
static int id_set_fit(struct rs_id_set *s, const char *all, size_t n,
                      size_t want, size_t size, size_t id_off) {
  if (s->slot != NULL && s->n == n && 2 * want <= s->mask + 1)
    return 0;
  rs_id_set_fini(s);
  if (id_set_init(s, want) != 0)
    return -ENOMEM;
  for (size_t j = 0; j < n; j++)
    (void)id_set_seen(s, all, size, id_off, all + j * size + id_off, j);
  return 0;
}

long rs_keep_new(void *arr, size_t *n, size_t page_n, struct rs_id_set *ids,
                 size_t size, size_t id_off) {
  char *all = arr;
  struct rs_id_set own = {NULL, 0, 0}, *set = ids ? ids : &own;
  if (id_set_fit(set, all, *n, *n + page_n, size, id_off) != 0)
    return -ENOMEM;
  size_t first = *n;
  long added = 0;
  for (size_t i = 0; i < page_n; i++) {
    const char *item = all + (first + i) * size;
    if (id_set_seen(set, all, size, id_off, item + id_off, *n))
      continue;
    if (first + i != *n)
      memcpy(all + *n * size, item, size);
    (*n)++;
    added++;
  }
  rs_id_set_fini(&own);
  return added;
}

long rs_merge_by_id(void *arrp, size_t *n, size_t *cap, struct rs_id_set *ids,
                    const void *page, size_t page_n, size_t size,
                    size_t id_off) {
  char *all;
  for (size_t k = *n; k < *n + page_n; k++)
    if (array_reserve(arrp, cap, k, size, 16) != 0)
      return -ENOMEM;
  memcpy(&all, arrp, sizeof(all));
  if (page_n > 0)
    memcpy(all + *n * size, page, page_n * size);
  return rs_keep_new(all, n, page_n, ids, size, id_off);
}

double rs_oldest(const void *items, size_t n, size_t size, size_t time_off) {
  double t = 0;
  for (size_t i = 0; i < n; i++) {
    double x;
    memcpy(&x, (const char *)items + i * size + time_off, sizeof(x));
    if (t == 0 || x < t)
      t = x;
  }
  return t;
}

enum rs_paging rs_paging_next(const struct rs_paged *pg) {
  if (pg->since <= 0 || pg->raw < pg->full)
    return RS_PAGING_END;
  if (pg->added == 0 || pg->n >= pg->max || pg->oldest <= 0 ||
      (pg->before > 0 && pg->oldest >= pg->before))
    return RS_PAGING_STOP;
  return RS_PAGING_ON;
}
