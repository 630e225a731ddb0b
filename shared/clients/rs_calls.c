/* SPDX-License-Identifier: MIT */
/* The Runscope API calls: buckets, tests, details, results, runs, triggers.
 *
 * Each call of runscope.h but the captured traffic's (rs_traffic.c); the
 * lists of many tests at once are read through rs_many_run.
 *
 * The tests list's largest count is undocumented (docs/runscope-api.md);
 * clients use 50 to 1000, and a server may serve fewer than asked. So pages
 * of 50 are asked for, the next offset is the count of items that came, and
 * the list ends at an empty page, a page with no new test, or a page
 * shorter than an earlier one (the server's cap, whatever it is, is known
 * by then). */
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
  struct rs_id_set ids; /* of all, kept from page to page */
  size_t pages;
  size_t offset; /* items served so far: the next page's offset */
  size_t widest; /* the longest page so far */
};

struct tests_kind {
  const char *const *keys;
  const size_t *expected; /* NULL: none */
  struct tests_item *items;
  rs_tests_fn done;
  void *ctx;
};

static int tests_path(void *kind, size_t i, struct rs_path *p,
                      struct err *err) {
  const struct tests_kind *k = kind;
  int rc = rs_path_init(p, k->keys[i], NULL, "/tests", NULL);
  if (rc == 0)
    rc = buf_printf(&p->b, "?count=%d&offset=%zu", RS_PAGE, k->items[i].offset);
  p->page_max = RS_PAGE;
  if (rc != 0)
    err_set(err, "Runscope API: bucket key too long");
  return rc;
}

/* After a page of page_n items of which added were new (or -ENOMEM): an
 * empty page ends the list, and so does one shorter than an earlier page;
 * a page with nothing new means the server ignores offset. A first page
 * shorter than asked does not: the server may cap count lower than asked.
 * Returns 1 to go on, 0 at the end, or an errno. */
static int tests_next(struct tests_item *it, size_t page_n, long added,
                      struct err *err) {
  if (added < 0) {
    err_set(err, "out of memory for the tests list");
    return -ENOMEM;
  }
  bool end = page_n == 0 || added == 0 || page_n < it->widest;
  it->offset += page_n;
  if (page_n > it->widest)
    it->widest = page_n;
  if (end)
    return 0;
  if (++it->pages == RS_TESTS_MAX_PAGES) {
    err_set(err, "more than %d pages", RS_TESTS_MAX_PAGES);
    return -EPROTO;
  }
  return 1;
}

/* A page the tree read (taken over). */
static int tests_add(struct tests_item *it, struct rs_test *page, size_t page_n,
                     struct err *err) {
  long added =
      rs_merge_by_id(&it->all, &it->n, &it->cap, &it->ids, page, page_n,
                     sizeof(*page), offsetof(struct rs_test, id));
  free(page);
  return tests_next(it, page_n, added, err);
}

/* Before a list's first page: room for the tests it held last time and a
 * page more (no memory: it grows page by page). */
static void tests_presize(const struct tests_kind *k, struct tests_item *it,
                          size_t i) {
  if (it->cap == 0 && k->expected != NULL && k->expected[i] > 0)
    (void)array_reserve(&it->all, &it->cap, 0, sizeof(*it->all),
                        k->expected[i] + RS_PAGE);
}

static int tests_page(void *kind, size_t i, json_object *data,
                      struct err *err) {
  struct tests_item *it = &((struct tests_kind *)kind)->items[i];
  struct rs_items page;
  tests_presize(kind, it, i);
  int rc = rs_tests_data(data, &page, err);
  if (rc != 0)
    return rc;
  return tests_add(it, page.v, page.n, err);
}

/* The page read without a tree when it is ordinary (rs_scan_tests). */
static int tests_raw(void *kind, size_t i, const char *body, size_t len,
                     int max_depth, size_t max_items, struct err *err) {
  struct tests_item *it = &((struct tests_kind *)kind)->items[i];
  tests_presize(kind, it, i);
  size_t kept = it->n;
  int rc = rs_scan_tests_append(body, len, max_depth, max_items, &it->all,
                                &it->n, &it->cap);
  if (rc == -EPROTO)
    return RS_MANY_TREE;
  if (rc == -E2BIG)
    return rc;
  if (rc != 0) {
    err_set(err, "out of memory for the tests list");
    return rc;
  }
  size_t page_n = it->n - kept;
  it->n = kept; /* the page follows the items kept: only its new ones stay */
  long added = rs_keep_new(it->all, &it->n, page_n, &it->ids, sizeof(*it->all),
                           offsetof(struct rs_test, id));
  return tests_next(it, page_n, added, err);
}

static bool tests_finish(void *kind, size_t i, int rc, const struct err *err) {
  struct tests_kind *k = kind;
  struct tests_item *it = &k->items[i];
  static const struct rs_test none;
  bool go = k->done(k->ctx, i, rc, it->all ? it->all : &none,
                    rc == 0 ? it->n : 0, rc == 0 ? NULL : err);
  free(it->all);
  rs_id_set_fini(&it->ids);
  memset(it, 0, sizeof(*it));
  return go;
}

static const struct rs_many_ops tests_ops = {
    json_type_array, tests_path, tests_page, tests_finish, tests_raw};

int rs_list_many_tests(struct rs_client *c, const char *const *bucket_keys,
                       const size_t *expected, size_t n, rs_tests_fn done,
                       void *ctx) {
  struct tests_kind k = {bucket_keys, expected,
                         calloc(n ? n : 1, sizeof(*k.items)), done, ctx};
  if (k.items == NULL)
    return -ENOMEM;
  int rc = rs_many_run(c, &tests_ops, &k, n, 0);
  for (size_t i = 0; i < n; i++) { /* items stopped between pages */
    free(k.items[i].all);
    rs_id_set_fini(&k.items[i].ids);
  }
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
  int rc = one_end(
      &o, rs_list_many_tests(c, &bucket_key, NULL, 1, one_tests, &o), ret_n);
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

int rs_get_many_tests(struct rs_client *c, const struct rs_test_ref *tests,
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
  return one_end(&o, rs_get_many_tests(c, &ref, 1, 0, one_detail, &o), &n);
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
  p->page_max = RS_PAGE;
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
  pg.added = rs_merge_by_id(&it->all.v, &it->all.n, &it->all.cap, NULL, page.v,
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
    if (all->n > 1) /* qsort's base must not be NULL, even for none */
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

int rs_list_many_results(struct rs_client *c, const struct rs_test_ref *tests,
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
      one_end(&o, rs_list_many_results(c, &ref, 1, 0, one_runs, &o), ret_n);
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
  char id[RS_URL_MAX], redacted[RS_URL_MAX], what[RS_URL_MAX];
  struct buf url;
  *ret = NULL;
  *ret_n = 0;
  trigger_id_of(trigger_url, id, sizeof(id));
  http_redact_url(trigger_url, redacted, sizeof(redacted));
  str_scrub(what, sizeof(what), redacted, id);
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
