/* SPDX-License-Identifier: MIT */
/* What the Runscope client's files (rs_*.c) share; no other file includes it.
 *
 * rs_answers.c, rs_runs.c and rs_scan.c read answers; rs_client.c
 * sends requests (one, or many through http_run); rs_calls.c and
 * rs_traffic.c are the endpoint calls of runscope.h built on both. The calls
 * go one way: calls and traffic use client and parse, client uses parse,
 * parse uses neither. */
#ifndef RUNSCOPE_CLIENTS_RS_INTERNAL_H
#define RUNSCOPE_CLIENTS_RS_INTERNAL_H

#include "clients/runscope.h"

#include "transport/http.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonx.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define RS_PAGE 50              /* count asked for on every list page */
#define RS_TESTS_MAX_PAGES 100  /* 5000 tests: a bound against loops */
#define RS_RESULTS_MAX_PAGES 21 /* enough for RS_RESULTS_MAX with overlap */
#define RS_BODY_MAX (64u << 20) /* outer bound; the http client's cap wins */
#define RS_PATH_MAX 2048        /* a request path with its query */
#define RS_SNIPPET_MAX 160      /* bytes of a non-JSON error body quoted */
#define RS_WHERE_MAX 64         /* "data[12].team" */

struct rs_client {
  struct http_client *http; /* borrowed */
  char *base_url;           /* no trailing slash */
  char *token;
  int max_depth;
  double retry_after;
};

/* Maps an HTTP status (or an error.status) to the errno of the reads. A
 * read is built by the client itself, so a refusal that is not about
 * credentials, a missing object or the load is an answer that breaks the
 * API's contract: -EPROTO, not -EINVAL. */
static inline int rs_status_errno(long status) {
  int rc = http_status_errno(status);
  return rc == -EINVAL ? -EPROTO : rc;
}

/* ---- rs_answers.c, rs_runs.c: the envelope and its data ---- */

/* Copies a display string member, cut to fit; "" when absent or no string. */
void rs_copy_name(json_object *o, const char *key, char *dst, size_t size);

/* The first of two member names whose value is a non-empty string, else a
 * (so that a lookup of the result finds nothing useful either way). */
const char *rs_pick(json_object *o, const char *a, const char *b);

/* The message of an envelope's error (object with "message", or a string),
 * or NULL; borrowed from root. *ret_status gets error.status (0 when
 * absent). */
const char *rs_error_message(json_object *root, long *ret_status);

/* Reads an envelope's data (borrowed) into arg; returns 0 or a negative
 * errno with err set (a positive value is passed through). */
typedef int (*rs_data_fn)(json_object *data, void *arg, struct err *err);

/* Parses body[0..len) as the envelope, checks that its "data" is of type
 * want and hands it to fn. Returns fn's value, or the negative errno of the
 * envelope (err set). */
int rs_parse_body(const char *body, size_t len, int max_depth, json_type want,
                  rs_data_fn fn, void *arg, struct err *err);

/* The items of a list: v (caller frees; never NULL after a success) holds
 * n of them; raw counts the list's items, skipped ones included. */
struct rs_items {
  void *v;
  size_t n, raw;
};

/* Reads one item o into dst: 0, 1 to skip it, or a negative errno with err
 * set; where names it in messages ("data[3]"). */
typedef int (*rs_item_fn)(json_object *o, const char *where, void *dst,
                          struct err *err);

/* How to read the items of one kind of list. */
struct rs_item_kind {
  size_t size;        /* bytes of an item */
  rs_item_fn parse;   /* reads one item */
  const char *prefix; /* names the array in messages: "data" */
  const char *noun;   /* names the items in messages: "runs" */
  size_t max;         /* the most items read (the rest is left), 0 for all */
  /* not NULL: frees what a read item owns (the items read before an
   * error are released with it) */
  void (*fini)(void *item);
};

/* Reads the JSON array arr (NULL: none) into *out (zeroed first) as kind
 * says. Returns 0, or the item's negative errno (out->v NULL, err set) or
 * -ENOMEM. */
int rs_parse_items(json_object *arr, const struct rs_item_kind *kind,
                   struct rs_items *out, struct err *err);

/* Reads body with fn, a list reader (rs_data_fn on a struct rs_items), for
 * an rs_parse_* function: *ret (caller frees; NULL after an error) holds
 * *ret_n items. Returns as rs_parse_body. */
int rs_parse_list(const char *body, size_t len, int max_depth, rs_data_fn fn,
                  void **ret, size_t *ret_n, struct err *err);

/* Data readers (rs_data_fn) of the calls and of the rs_parse_* functions.
 * The list readers fill a struct rs_items; the others the object their
 * call fills. A test or run detail is released again on failure. */
int rs_buckets_data(json_object *data, void *items, struct err *err);
int rs_bucket_data(json_object *data, void *bucket, struct err *err);
int rs_tests_data(json_object *data, void *items, struct err *err);
int rs_test_detail_data(json_object *data, void *detail, struct err *err);
int rs_runs_data(json_object *data, void *items, struct err *err);
int rs_run_detail_data(json_object *data, void *detail, struct err *err);

/* Empties d without freeing anything (it may hold garbage). */
void rs_run_detail_reset(struct rs_run_detail *d);

/* ---- rs_scan.c: the tests list without a tree ---- */

/* A tests list page read with jscan: 0 with *ret (caller frees), -EPROTO
 * when json-c's tree must read it, -E2BIG when its data holds more than
 * max_items items (0: no limit; reading stops at the one too many), or
 * -ENOMEM. Never returns what the tree would not. */
int rs_scan_tests(const char *body, size_t len, int max_depth, size_t max_items,
                  struct rs_test **ret, size_t *ret_n);

/* The same, with the page's items appended to the array *v (*n used, *cap
 * allocated; it grows by doubling): the list's pages are read into one
 * array without a copy of each page. On an error *n is as it was. */
int rs_scan_tests_append(const char *body, size_t len, int max_depth,
                         size_t max_items, struct rs_test **v, size_t *n,
                         size_t *cap);

/* ---- rs_client.c: requests ---- */

/* A request path: the part before the query names the object in messages. */
struct rs_path {
  struct buf b;
  size_t object_len;
  int page_max; /* a list page: the count asked for (0: not a page) */
};

/* Starts p (release p->b with buf_fini, also after an error) with
 * "/buckets[/{bucket}[/tests/{test}]]{tail}{leaf}", the bucket, test and
 * leaf percent-encoded; NULL leaves a part out. The object named in
 * messages ends there: a query is appended after. Returns 0, -ENOMEM or
 * -EMSGSIZE. */
int rs_path_init(struct rs_path *p, const char *bucket, const char *test,
                 const char *tail, const char *leaf);

/* GETs base_url + path and hands the envelope's data of type want to fn.
 * Returns 0 (or fn's positive value), else the errno of the transport, of
 * the status or of the parse, with err naming the call. */
int rs_fetch(struct rs_client *c, const struct rs_path *p, json_type want,
             rs_data_fn fn, void *arg, struct err *err);

/* POSTs url (an empty body, no token, never resent) into resp. Returns 0
 * for a 2xx answer; else the errno of the transport or of the status
 * (http_status_errno) with err set: what names the URL in messages. The
 * token is scrubbed from a status message, not from a transport one. */
int rs_post_once(struct rs_client *c, const char *url, const char *what,
                 struct http_response *resp, struct err *err);

/* What one kind of many reads does with its items; kind is its state. */
struct rs_many_ops {
  json_type want; /* the type of an answer's data */
  /* Sets up p (rs_path_init and the query) for item i's next request.
   * Returns 0 or a negative errno (err set). */
  int (*path)(void *kind, size_t i, struct rs_path *p, struct err *err);
  /* Item i's answer (the envelope's data): 1 when another page is needed,
   * 0 when the item is complete, or a negative errno (err set). */
  int (*page)(void *kind, size_t i, json_object *data, struct err *err);
  /* Reports item i (rc 0, or its errno) to the caller and releases what it
   * holds. Returns false to stop. */
  bool (*finish)(void *kind, size_t i, int rc, const struct err *err);
  /* Optional: item i's 2xx answer read without a tree, as page returns,
   * or RS_MANY_TREE to leave it to json-c and page, or -E2BIG when it
   * holds more than max_items (the count asked for; 0: not a page). The
   * answer is then scanned once: its items are counted as they are read. */
  int (*raw)(void *kind, size_t i, const char *body, size_t len, int max_depth,
             size_t max_items, struct err *err);
};

#define RS_MANY_TREE 2

/* Reads n items of a kind through http_run (as runscope.h's "many reads at
 * once" say). Returns 0 or -ENOMEM. */
int rs_many_run(struct rs_client *c, const struct rs_many_ops *ops, void *kind,
                size_t n, double deadline);

/* ---- rs_client.c: lists read a page at a time ---- */

/* The ids of a list being merged page by page: open addressing over the
 * indices (+ 1) of its items, so that a list of n items merges in O(n)
 * rather than O(n^2) string comparisons. Zeroed: empty. */
struct rs_id_set {
  size_t *slot;
  size_t mask;
  size_t n; /* items of the list it holds */
};

void rs_id_set_fini(struct rs_id_set *set);

/* Appends to the array at arrp (T **; *n used, *cap allocated, size bytes
 * each) the elements of page[0..page_n) whose id, the string at id_off in
 * each, it does not hold yet: a list that shifts while it is paged repeats
 * items. ids (NULL: a set for this page alone) keeps the list's ids from
 * one page to the next, when the list changes only through this function
 * and rs_keep_new; the caller finis it. Returns the number added, or
 * -ENOMEM. */
long rs_merge_by_id(void *arrp, size_t *n, size_t *cap, struct rs_id_set *ids,
                    const void *page, size_t page_n, size_t size,
                    size_t id_off);

/* The same for a page already in the array: its page_n items follow the
 * *n kept (room the caller allocated), and the new ones among them move up
 * to follow those, in their order. Returns the number kept, or -ENOMEM
 * (*n unchanged). */
long rs_keep_new(void *arr, size_t *n, size_t page_n, struct rs_id_set *ids,
                 size_t size, size_t id_off);

/* The earliest of the times (the double at time_off in each of n items of
 * size bytes), or 0 when n is 0. */
double rs_oldest(const void *items, size_t n, size_t size, size_t time_off);

/* A page of a list read newest first, going back with `before` = the
 * oldest time of the page before. */
struct rs_paged {
  double since;     /* as asked; <= 0 for the newest page only */
  double before;    /* this page's, 0 for the first page */
  double oldest;    /* the earliest time in the page, 0 for none */
  size_t raw, full; /* the page's items (unusable ones too); a full page's */
  long added;       /* items the page added to the list */
  size_t n, max;    /* items in the list now; the most wanted */
};

enum rs_paging {
  RS_PAGING_END,  /* read: one page was asked for, or it was not full */
  RS_PAGING_STOP, /* more left, but another page would not help: the cap,
                   * nothing new, or a server that ignores before */
  RS_PAGING_ON,   /* read the page before pg->oldest */
};

enum rs_paging rs_paging_next(const struct rs_paged *pg);

#endif
