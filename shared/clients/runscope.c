/* Runscope REST API client: its requests, the calls of runscope.h and
 * captured traffic (parsing lives in rs_parse.c, rs_parse_runs.c and
 * rs_scan.c).
 *
 * The tests list's largest count is undocumented (docs/runscope-api.md);
 * clients use 50 to 1000, so pages of 50 are asked for and a page shorter
 * than 50 ends the list. */
#include "clients/rs_internal.h"

#include "util/array.h"
#include "util/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  free(c->token);
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
    str_snippet(resp->body.data, resp->body.len, text, sizeof(text));
    msg = text;
  }
  if (msg != NULL && msg[0] != '\0')
    err_set(err, "Runscope API: %s %.*s: HTTP %ld: %s", method, what_len, what,
            resp->status, msg);
  else
    err_set(err, "Runscope API: %s %.*s: HTTP %ld", method, what_len, what,
            resp->status);
  json_object_put(root);
  err_scrub(err, c->token);
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

int rs_fetch(struct rs_client *c, const struct rs_path *p, json_type want,
             rs_data_fn fn, void *arg, struct err *err) {
  struct http_response resp;
  http_response_init(&resp, RS_BODY_MAX);
  int rc = get(c, p, &resp, err);
  if (rc == 0) {
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
  if (m->ops->raw != NULL) {
    rc = m->ops->raw(m->kind, r->i, resp->body.data, resp->body.len,
                     c->max_depth, err);
    if (rc != RS_MANY_TREE)
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

long rs_merge_by_id(void *arrp, size_t *n, size_t *cap, const void *page,
                    size_t page_n, size_t size, size_t id_off) {
  long added = 0;
  for (size_t i = 0; i < page_n; i++) {
    const char *item = (const char *)page + i * size;
    char *all;
    memcpy(&all, arrp, sizeof(all));
    bool seen = false;
    for (size_t j = 0; j < *n && !seen; j++)
      seen = strcmp(all + j * size + id_off, item + id_off) == 0;
    if (seen)
      continue;
    if (array_reserve(arrp, cap, *n, size, 16) != 0)
      return -ENOMEM;
    memcpy(&all, arrp, sizeof(all));
    memcpy(all + *n * size, item, size);
    (*n)++;
    added++;
  }
  return added;
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

/* ---- buckets and run details ---- */

int rs_list_buckets(struct rs_client *c, struct rs_bucket **ret, size_t *ret_n,
                    struct err *err) {
  struct rs_path p;
  struct rs_items items = {NULL, 0, 0};
  int rc = rs_path_init(&p, NULL, NULL, NULL, NULL);
  if (rc == 0)
    rc = rs_fetch(c, &p, json_type_array, rs_buckets_data, &items, err);
  buf_fini(&p.b);
  *ret = items.v;
  *ret_n = items.n;
  return rc;
}

int rs_get_bucket(struct rs_client *c, const char *bucket_key,
                  struct rs_bucket *ret, struct err *err) {
  struct rs_path p;
  memset(ret, 0, sizeof(*ret));
  int rc = rs_path_init(&p, bucket_key, NULL, NULL, NULL);
  if (rc == 0)
    rc = rs_fetch(c, &p, json_type_object, rs_bucket_data, ret, err);
  else
    err_set(err, "Runscope API: bucket key too long");
  buf_fini(&p.b);
  return rc;
}

int rs_get_run(struct rs_client *c, const char *bucket_key, const char *test_id,
               const char *test_run_id, struct rs_run_detail *ret,
               struct err *err) {
  struct rs_path p;
  rs_run_detail_reset(ret);
  int rc = rs_path_init(&p, bucket_key, test_id, "/results/", test_run_id);
  if (rc == 0)
    rc = rs_fetch(c, &p, json_type_object, rs_run_detail_data, ret, err);
  else
    err_set(err, "Runscope API: bucket key, test id or run id too long");
  buf_fini(&p.b);
  return rc;
}

/* ---- the single calls over the many ---- */

/* The single calls keep their item here. */
struct one {
  int rc;
  struct err *err;
  void *ret;
  size_t ret_n;
};

static void one_failed(struct one *o, int rc, const struct err *err) {
  o->rc = rc;
  if (err != NULL && o->err != NULL)
    *o->err = *err;
}

/* Keeps a copy of items[0..n) (size bytes each) as o's answer, or the
 * error of the call (rc, err). what names the items for "out of memory". */
static bool one_copy(struct one *o, int rc, const struct err *err,
                     const void *items, size_t n, size_t size,
                     const char *what) {
  if (rc != 0) {
    one_failed(o, rc, err);
    return true;
  }
  o->ret = malloc((n ? n : 1) * size);
  if (o->ret == NULL) {
    err_set(o->err, "Runscope API: out of memory for %s", what);
    o->rc = -ENOMEM;
    return true;
  }
  memcpy(o->ret, items, n * size);
  o->ret_n = n;
  o->rc = 0;
  return true;
}

/* The end of a single call: run_rc is the many call's. Returns the call's
 * errno; *ret_n is 0 unless it is 0. */
static int one_end(struct one *o, int run_rc, size_t *ret_n) {
  if (run_rc != 0)
    err_set(o->err, "Runscope API: out of memory");
  *ret_n = o->rc == 0 ? o->ret_n : 0;
  return o->rc;
}

/* ---- tests lists ---- */

struct tests_item {
  struct rs_test *all;
  size_t n, cap;
  size_t pages;
};

struct tests_kind {
  const char *const *keys;
  struct tests_item *items;
  rs_tests_fn done;
  void *ctx;
};

static int tests_path(void *kind, size_t i, struct rs_path *p,
                      struct err *err) {
  const struct tests_kind *k = kind;
  int rc = rs_path_init(p, k->keys[i], NULL, "/tests", NULL);
  if (rc == 0)
    rc = buf_printf(&p->b, "?count=%d&offset=%zu", RS_PAGE,
                    k->items[i].pages * RS_PAGE);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key too long");
  return rc;
}

/* A short page ends the list; a page with nothing new means the server
 * ignores offset. Takes page over. */
static int tests_add(struct tests_item *it, struct rs_test *page, size_t page_n,
                     struct err *err) {
  long added = rs_merge_by_id(&it->all, &it->n, &it->cap, page, page_n,
                              sizeof(*page), offsetof(struct rs_test, id));
  free(page);
  if (added < 0) {
    err_set(err, "out of memory for the tests list");
    return -ENOMEM;
  }
  if (page_n < RS_PAGE || added == 0)
    return 0;
  if (++it->pages == RS_TESTS_MAX_PAGES) {
    err_set(err, "more than %d pages", RS_TESTS_MAX_PAGES);
    return -EPROTO;
  }
  return 1;
}

static int tests_page(void *kind, size_t i, json_object *data,
                      struct err *err) {
  struct tests_item *it = &((struct tests_kind *)kind)->items[i];
  struct rs_items page;
  int rc = rs_tests_data(data, &page, err);
  if (rc != 0)
    return rc;
  return tests_add(it, page.v, page.n, err);
}

/* The page read without a tree when it is ordinary (rs_scan_tests). */
static int tests_raw(void *kind, size_t i, const char *body, size_t len,
                     int max_depth, struct err *err) {
  struct tests_item *it = &((struct tests_kind *)kind)->items[i];
  struct rs_test *page = NULL;
  size_t page_n = 0;
  int rc = rs_scan_tests(body, len, max_depth, &page, &page_n);
  if (rc == -EPROTO)
    return RS_MANY_TREE;
  if (rc != 0) {
    err_set(err, "out of memory for the tests list");
    return rc;
  }
  return tests_add(it, page, page_n, err);
}

static bool tests_finish(void *kind, size_t i, int rc, const struct err *err) {
  struct tests_kind *k = kind;
  struct tests_item *it = &k->items[i];
  static const struct rs_test none;
  bool go = k->done(k->ctx, i, rc, it->all ? it->all : &none,
                    rc == 0 ? it->n : 0, rc == 0 ? NULL : err);
  free(it->all);
  memset(it, 0, sizeof(*it));
  return go;
}

static const struct rs_many_ops tests_ops = {
    json_type_array, tests_path, tests_page, tests_finish, tests_raw};

int rs_list_tests_many(struct rs_client *c, const char *const *bucket_keys,
                       size_t n, rs_tests_fn done, void *ctx) {
  struct tests_kind k = {bucket_keys, calloc(n ? n : 1, sizeof(*k.items)), done,
                         ctx};
  if (k.items == NULL)
    return -ENOMEM;
  int rc = rs_many_run(c, &tests_ops, &k, n, 0);
  for (size_t i = 0; i < n; i++)
    free(k.items[i].all); /* items stopped between pages */
  free(k.items);
  return rc;
}

static bool one_tests(void *ctx, size_t i, int rc, const struct rs_test *tests,
                      size_t n, const struct err *err) {
  (void)i;
  return one_copy(ctx, rc, err, tests, n, sizeof(*tests), "the tests list");
}

int rs_list_tests(struct rs_client *c, const char *bucket_key,
                  struct rs_test **ret, size_t *ret_n, struct err *err) {
  struct one o = {-ENOMEM, err, NULL, 0};
  int rc =
      one_end(&o, rs_list_tests_many(c, &bucket_key, 1, one_tests, &o), ret_n);
  *ret = rc == 0 ? o.ret : NULL;
  return rc;
}

/* ---- test details ---- */

struct detail_kind {
  const struct rs_test_ref *refs;
  rs_detail_fn done;
  void *ctx;
  struct rs_test_detail scratch; /* the item being reported */
};

static int detail_path(void *kind, size_t i, struct rs_path *p,
                       struct err *err) {
  const struct rs_test_ref *t = &((struct detail_kind *)kind)->refs[i];
  int rc = rs_path_init(p, t->bucket_key, t->test_id, NULL, NULL);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key or test id too long");
  return rc;
}

static int detail_page(void *kind, size_t i, json_object *data,
                       struct err *err) {
  struct detail_kind *k = kind;
  (void)i;
  rs_test_detail_fini(&k->scratch);
  return rs_test_detail_data(data, &k->scratch, err);
}

static bool detail_finish(void *kind, size_t i, int rc, const struct err *err) {
  struct detail_kind *k = kind;
  if (rc != 0)
    rs_test_detail_fini(&k->scratch);
  bool go = k->done(k->ctx, i, rc, &k->scratch, rc == 0 ? NULL : err);
  rs_test_detail_fini(&k->scratch);
  return go;
}

static const struct rs_many_ops detail_ops = {json_type_object, detail_path,
                                              detail_page, detail_finish, NULL};

int rs_get_tests_many(struct rs_client *c, const struct rs_test_ref *tests,
                      size_t n, double deadline, rs_detail_fn done, void *ctx) {
  struct detail_kind k;
  memset(&k, 0, sizeof(k));
  k.refs = tests;
  k.done = done;
  k.ctx = ctx;
  int rc = rs_many_run(c, &detail_ops, &k, n, deadline);
  rs_test_detail_fini(&k.scratch);
  return rc;
}

static bool one_detail(void *ctx, size_t i, int rc, struct rs_test_detail *d,
                       const struct err *err) {
  struct one *o = ctx;
  (void)i;
  o->rc = rc;
  if (rc != 0) {
    one_failed(o, rc, err);
    return true;
  }
  *(struct rs_test_detail *)o->ret = *d; /* taken over */
  memset(d, 0, sizeof(*d));
  return true;
}

int rs_get_test(struct rs_client *c, const char *bucket_key,
                const char *test_id, struct rs_test_detail *ret,
                struct err *err) {
  struct rs_test_ref ref = {bucket_key, test_id, 0};
  struct one o = {-ENOMEM, err, ret, 0};
  size_t n;
  memset(ret, 0, sizeof(*ret));
  return one_end(&o, rs_get_tests_many(c, &ref, 1, 0, one_detail, &o), &n);
}

/* ---- results ---- */

/* A set of runs collected over the results pages. */
struct runs {
  struct rs_run *v;
  size_t n, cap;
};

static int cmp_started(const void *a, const void *b) {
  const struct rs_run *x = a, *y = b;
  if (x->started_at != y->started_at)
    return x->started_at < y->started_at ? -1 : 1;
  return strcmp(x->test_run_id, y->test_run_id);
}

struct results_item {
  struct runs all;
  double before; /* 0 for the first page */
  int pages;
};

struct results_kind {
  const struct rs_test_ref *refs;
  struct results_item *items;
  rs_runs_fn done;
  void *ctx;
};

static int results_path(void *kind, size_t i, struct rs_path *p,
                        struct err *err) {
  const struct results_kind *k = kind;
  const struct rs_test_ref *t = &k->refs[i];
  double before = k->items[i].before;
  int rc = rs_path_init(p, t->bucket_key, t->test_id, "/results", NULL);
  if (rc == 0)
    rc = buf_printf(&p->b, "?count=%d", RS_PAGE);
  if (rc == 0 && t->since > 0)
    rc = buf_printf(&p->b, "&since=%.6f", t->since);
  if (rc == 0 && before > 0)
    rc = buf_printf(&p->b, "&before=%.6f", before);
  if (rc != 0)
    err_set(err, "Runscope API: bucket key or test id too long");
  return rc;
}

/* Pages go newest first, back with before = the oldest start of the
 * previous page (exclusive: a run sharing that exact microsecond with the
 * boundary would be missed; Runscope runs of one test practically never
 * do), as rs_paging_next says, up to RS_RESULTS_MAX runs and
 * RS_RESULTS_MAX_PAGES pages. */
static int results_page(void *kind, size_t i, json_object *data,
                        struct err *err) {
  const struct results_kind *k = kind;
  struct results_item *it = &k->items[i];
  struct rs_items page;
  int rc = rs_runs_data(data, &page, err);
  if (rc != 0)
    return rc;
  struct rs_paged pg = {k->refs[i].since, it->before, 0, page.raw,
                        RS_PAGE,          0,          0, RS_RESULTS_MAX};
  pg.added = rs_merge_by_id(&it->all.v, &it->all.n, &it->all.cap, page.v,
                            page.n, sizeof(struct rs_run),
                            offsetof(struct rs_run, test_run_id));
  pg.oldest = rs_oldest(page.v, page.n, sizeof(struct rs_run),
                        offsetof(struct rs_run, started_at));
  pg.n = it->all.n;
  free(page.v);
  if (pg.added < 0) {
    err_set(err, "out of memory for the results");
    return -ENOMEM;
  }
  if (rs_paging_next(&pg) != RS_PAGING_ON ||
      ++it->pages >= RS_RESULTS_MAX_PAGES)
    return 0;
  it->before = pg.oldest;
  return 1;
}

static bool results_finish(void *kind, size_t i, int rc,
                           const struct err *err) {
  struct results_kind *k = kind;
  struct runs *all = &k->items[i].all;
  static const struct rs_run none;
  bool go;
  if (rc == 0) {
    qsort(all->v, all->n, sizeof(*all->v), cmp_started);
    /* Over the cap, keep the newest: they are what the pages asked for. */
    size_t skip = all->n > RS_RESULTS_MAX ? all->n - RS_RESULTS_MAX : 0;
    go = k->done(k->ctx, i, 0, all->v ? all->v + skip : &none, all->n - skip,
                 NULL);
  } else {
    go = k->done(k->ctx, i, rc, &none, 0, err);
  }
  free(all->v);
  memset(&k->items[i], 0, sizeof(k->items[i]));
  return go;
}

static const struct rs_many_ops results_ops = {
    json_type_array, results_path, results_page, results_finish, NULL};

int rs_list_results_many(struct rs_client *c, const struct rs_test_ref *tests,
                         size_t n, double deadline, rs_runs_fn done,
                         void *ctx) {
  struct results_kind k = {tests, calloc(n ? n : 1, sizeof(*k.items)), done,
                           ctx};
  if (k.items == NULL)
    return -ENOMEM;
  int rc = rs_many_run(c, &results_ops, &k, n, deadline);
  for (size_t i = 0; i < n; i++)
    free(k.items[i].all.v); /* items stopped between pages */
  free(k.items);
  return rc;
}

static bool one_runs(void *ctx, size_t i, int rc, const struct rs_run *runs,
                     size_t n, const struct err *err) {
  (void)i;
  return one_copy(ctx, rc, err, runs, n, sizeof(*runs), "the results");
}

int rs_list_results(struct rs_client *c, const char *bucket_key,
                    const char *test_id, double since, struct rs_run **ret,
                    size_t *ret_n, struct err *err) {
  struct rs_test_ref ref = {bucket_key, test_id, since};
  struct one o = {-ENOMEM, err, NULL, 0};
  int rc =
      one_end(&o, rs_list_results_many(c, &ref, 1, 0, one_runs, &o), ret_n);
  *ret = rc == 0 ? o.ret : NULL;
  return rc;
}

/* ---- trigger URLs ---- */

/* The trigger id of a trigger URL, the path segment before the last one
 * (".../radar/{id}/trigger", ".../radar/bucket/{id}/trigger"), into out
 * ("" when the path has no such segment). */
static void trigger_id_of(const char *url, char *out, size_t size) {
  const char *sep = strstr(url, "://");
  const char *path = sep ? sep + 3 + strcspn(sep + 3, "/?#") : url;
  size_t path_len = strcspn(path, "?#");
  const char *last = NULL, *prev = NULL;
  for (const char *p = path; p < path + path_len; p++) {
    if (*p == '/') {
      prev = last;
      last = p;
    }
  }
  out[0] = '\0';
  /* A short segment is no trigger id, and scrubbing it would garble. */
  if (prev != NULL && last - prev > 8)
    snprintf(out, size, "%.*s", (int)(last - prev - 1), prev + 1);
}

/* Builds trigger_url with the reserved parameters of req into url. */
static int trigger_url_with(const char *trigger_url,
                            const struct rs_trigger_req *req, struct buf *url) {
  const char *names[] = {"runscope_environment", "runscope_region",
                         "runscope_agent"};
  const char *values[] = {req->environment_id, req->region, req->agent};
  char sep = strchr(trigger_url, '?') ? '&' : '?';
  int rc = buf_append(url, trigger_url, strcspn(trigger_url, "#"));
  for (size_t i = 0; rc == 0 && i < 3; i++) {
    if (values[i] == NULL || values[i][0] == '\0')
      continue;
    rc = buf_printf(url, "%c%s=", sep, names[i]);
    if (rc == 0)
      rc = buf_put_urlenc(url, values[i]);
    sep = '&';
  }
  return rc;
}

/* POSTs url; fills *ret and *ret_n from a 2xx answer. what names the URL
 * in messages; secret is scrubbed from them. */
static int trigger_post(struct rs_client *c, const char *url, const char *what,
                        const char *secret, struct rs_started_run **ret,
                        size_t *ret_n, struct err *err) {
  struct http_response resp;
  http_response_init(&resp, RS_BODY_MAX);
  int rc = rs_post_once(c, url, what, &resp, err);
  if (rc == 0 &&
      rs_parse_trigger(resp.body.data, resp.body.len, c->max_depth, ret, ret_n,
                       NULL) != 0 &&
      (*ret = calloc(1, sizeof(**ret))) == NULL) {
    err_set(err, "Runscope API: POST %s: out of memory", what);
    rc = -ENOMEM;
  }
  err_scrub(err, secret);
  err_scrub(err, c->token);
  http_response_fini(&resp);
  return rc;
}

int rs_trigger(struct rs_client *c, const char *trigger_url,
               const struct rs_trigger_req *req, struct rs_started_run **ret,
               size_t *ret_n, struct err *err) {
  char id[RS_URL_MAX], what[RS_URL_MAX];
  struct buf url;
  *ret = NULL;
  *ret_n = 0;
  trigger_id_of(trigger_url, id, sizeof(id));
  http_redact_url(trigger_url, what, sizeof(what));
  struct err tmp;
  err_set(&tmp, "%s", what);
  err_scrub(&tmp, id);
  str_copy(what, sizeof(what), tmp.msg);
  if (strncasecmp(trigger_url, "https://", 8) != 0 &&
      strncasecmp(trigger_url, "http://", 7) != 0) {
    err_set(err, "Runscope API: POST %s: not an http(s) trigger URL", what);
    return -EINVAL;
  }
  buf_init(&url, RS_URL_MAX + RS_PATH_MAX);
  int rc = trigger_url_with(trigger_url, req, &url);
  if (rc != 0)
    err_set(err, "Runscope API: POST %s: URL too long", what);
  else
    rc = trigger_post(c, url.data, what, id, ret, ret_n, err);
  buf_fini(&url);
  return rc;
}

/* ---- captured traffic: the Errors stream and its messages ----
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
  p += 3;
  size_t auth = strcspn(p, "/?#");
  const char *at = memchr(p, '@', auth);
  if (at != NULL) {
    auth -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t host = *p == '[' ? strcspn(p + 1, "]") : strcspn(p, ":/?#");
  if (!(m->have & RS_MSG_HOST) && host > 0 && host <= auth) {
    copy_part(m->host, sizeof(m->host), *p == '[' ? p + 1 : p, host);
    m->have |= RS_MSG_HOST;
  }
  const char *path = p + auth;
  if (!(m->have & RS_MSG_PATH)) {
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
    sizeof(struct rs_message), parse_list_item, "data", "messages", 0};

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
        rs_merge_by_id(&all->v, &all->n, &all->cap, page.v, page.n,
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
