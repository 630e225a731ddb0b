/* SPDX-License-Identifier: MIT */
/* Shared helpers of the unit tests: fixture files and a scripted HTTP
 * transport that records each request and answers from a queue. */
#ifndef RUNSCOPE_TESTUTIL_H
#define RUNSCOPE_TESTUTIL_H

#include "clients/runscope.h"
#include "transport/http.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads $RUNSCOPE_FIXTURES/name (default tests/fixtures), NUL-terminated;
 * *ret_len (may be NULL) gets its length. The caller frees. */
static inline char *fixture(const char *name, size_t *ret_len) {
  const char *dir = getenv("RUNSCOPE_FIXTURES");
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures",
           name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *data = NULL;
  size_t len = 0, cap = 0, n;
  do {
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 8192;
      data = realloc(data, cap + 1);
      ck_assert_ptr_nonnull(data);
    }
    n = fread(data + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  data[len] = '\0';
  if (ret_len != NULL)
    *ret_len = len;
  return data;
}

/* The runs of runscope_results_odd.json (caller frees): a run that finished
 * with a result Runscope does not document ("error"), and the same result
 * on a run not finished yet. */
static inline struct rs_run *parse_odd(size_t *n) {
  size_t len;
  char *text = fixture("runscope_results_odd.json", &len);
  struct rs_run *r = NULL;
  struct err err;
  ck_assert_int_eq(rs_parse_runs(text, len, 64, &r, n, &err), 0);
  ck_assert_uint_eq(*n, 2);
  free(text);
  return r;
}

/* Adds a TCase named name to s: fn run once (rows 0) or for rows 0 to
 * rows - 1, with setup and teardown as a checked fixture when given. */
static inline void unit_add_case(Suite *s, const char *name, const TTest *fn,
                                 int rows, SFun setup, SFun teardown) {
  TCase *tc = tcase_create(name);
  if (setup != NULL || teardown != NULL)
    tcase_add_checked_fixture(tc, setup, teardown);
  if (rows > 0)
    tcase_add_loop_test(tc, fn, 0, rows);
  else
    tcase_add_test(tc, fn);
  suite_add_tcase(s, tc);
}

/* A scripted transport: install with
 * http_set_transport(http, fake_transport, &fake). */

#define FAKE_MAX 128

struct fake_answer {
  int rc;             /* transport result; 0 for an answer */
  long status;        /* HTTP status */
  char *body;         /* owned; NULL: empty */
  double retry_after; /* -1: none */
};

struct fake_request {
  char *method, *url, *content_type, *bearer, *user, *password, *body;
};

struct fake {
  struct fake_answer answers[FAKE_MAX];
  size_t n_answers, next;
  struct fake_request reqs[FAKE_MAX];
  size_t n_reqs;
};

static inline char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static inline int fake_transport(void *ctx, const struct http_request *req,
                                 struct http_response *resp, struct err *err) {
  struct fake *f = ctx;
  ck_assert_uint_lt(f->n_reqs, FAKE_MAX);
  struct fake_request *r = &f->reqs[f->n_reqs++];
  r->method = dup0(req->method);
  r->url = dup0(req->url);
  r->content_type = dup0(req->content_type);
  r->bearer = dup0(req->bearer);
  r->user = dup0(req->user);
  r->password = dup0(req->password);
  r->body = req->body ? strndup(req->body, req->body_len) : NULL;
  if (f->next == f->n_answers) {
    err_set(err, "%s %s: no answer scripted", req->method, req->url);
    return -ECONNREFUSED;
  }
  const struct fake_answer *a = &f->answers[f->next++];
  if (a->rc != 0) {
    char url[1024];
    http_redact_url(req->url, url, sizeof(url));
    err_set(err, "%s %s: scripted failure", req->method, url);
    return a->rc;
  }
  resp->status = a->status;
  resp->retry_after = a->retry_after;
  buf_reset(&resp->body);
  if (a->body != NULL && buf_puts(&resp->body, a->body) != 0)
    return -EMSGSIZE;
  return 0;
}

/* Queues an answer; body is copied. */
static inline void answer(struct fake *f, long status, const char *body) {
  ck_assert_uint_lt(f->n_answers, FAKE_MAX);
  struct fake_answer *a = &f->answers[f->n_answers++];
  a->status = status;
  a->body = dup0(body);
  a->retry_after = -1;
}

static inline void answer_fixture(struct fake *f, long status,
                                  const char *name) {
  char *body = fixture(name, NULL);
  answer(f, status, body);
  free(body);
}

static inline void fake_fini(struct fake *f) {
  for (size_t i = 0; i < f->n_answers; i++)
    free(f->answers[i].body);
  for (size_t i = 0; i < f->n_reqs; i++) {
    struct fake_request *r = &f->reqs[i];
    free(r->method);
    free(r->url);
    free(r->content_type);
    free(r->bearer);
    free(r->user);
    free(r->password);
    free(r->body);
  }
  memset(f, 0, sizeof(*f));
}

#endif
