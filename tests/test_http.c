/* SPDX-License-Identifier: MIT */
/* Unit tests of the HTTP layer: URL redaction, Retry-After, the transport
 * seam, and libcurl against a loopback HTTP/1.1 server run in threads. */
#define _GNU_SOURCE /* memmem, strcasestr */

#include "transport/http.h"
#include "util/limiter.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- a loopback HTTP/1.1 server ---- */

/* One server for every test that talks to libcurl: a thread accepts, a
 * thread per connection reads requests (keeping the first SRV_MAX_REQ as
 * seen) and answers the i-th request of the server with replies[i] (the last
 * one repeats). Counts connections and requests, and the most requests in
 * flight at once. */

enum srv_mode {
  SRV_REPLY,  /* answer, keep the connection */
  SRV_SILENT, /* read the request, never answer */
  SRV_CUT,    /* promise a longer body, send part, close */
  SRV_HANGUP, /* read the request, close without a word */
  SRV_ECHO,   /* answer with the request's path, keep the connection; a path
                 "/slow..." after the server's delay_ms, a path "/big..."
                 with body_len bytes of 'x' instead */
};

struct srv_reply {
  enum srv_mode mode;
  int status;
  const char *headers; /* extra header lines, each ending in "\r\n" */
  const char *body;    /* NULL: body_len bytes of 'x' */
  size_t body_len;
};

#define SRV_MAX_REPLIES 4
#define SRV_MAX_REQ 8
#define SRV_CONNS 32
#define SRV_HEAD_MAX 4096
#define SRV_BODY_MAX 8192

struct srv_request {
  char head[SRV_HEAD_MAX]; /* request line and headers */
  char body[SRV_BODY_MAX]; /* the first bytes of the body */
  size_t body_len;         /* all of it */
};

struct srv {
  int listen_fd;
  int stop[2]; /* a byte on stop[1] ends the threads */
  int port;
  pthread_t accept_thread;
  pthread_t conn_threads[SRV_CONNS];
  struct srv_reply replies[SRV_MAX_REPLIES];
  size_t n_replies;
  int delay_ms;         /* SRV_ECHO: the wait before answering a "/slow" path */
  pthread_mutex_t lock; /* guards what follows */
  int connections;      /* accepted so far */
  int requests;         /* read so far */
  int in_flight, max_in_flight;
  struct srv_request req[SRV_MAX_REQ];
};

/* One connection: its thread's state. */
struct srv_conn {
  struct srv *s;
  int fd;
  char in[SRV_HEAD_MAX + SRV_BODY_MAX]; /* bytes read, not yet parsed */
  size_t in_len;
};

/* Waits until fd is readable (1), or the server is stopped or 10 s pass (0).
 */
static int srv_wait(struct srv *s, int fd) {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
  if (poll(p, 2, 10000) <= 0 || p[1].revents != 0)
    return 0;
  return 1;
}

/* Reads more bytes of the connection. Returns 1, or 0 on EOF/stop/error. */
static int srv_fill(struct srv_conn *c) {
  if (c->in_len == sizeof(c->in) || !srv_wait(c->s, c->fd))
    return 0;
  ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
  if (n <= 0)
    return 0;
  c->in_len += (size_t)n;
  return 1;
}

/* The Content-Length of a request head, 0 when absent. */
static size_t content_length(const char *head) {
  const char *h = strcasestr(head, "\r\nContent-Length:");
  return h ? strtoul(h + 17, NULL, 10) : 0;
}

/* Drops the first n bytes read. */
static void srv_consume(struct srv_conn *c, size_t n) {
  c->in_len -= n;
  memmove(c->in, c->in + n, c->in_len);
}

/* Reads r->body_len bytes of body, keeping the first SRV_BODY_MAX in r.
 * Returns 1, or 0 on EOF/stop. */
static int srv_read_body(struct srv_conn *c, struct srv_request *r) {
  size_t got = 0;
  while (got < r->body_len) {
    if (c->in_len == 0 && !srv_fill(c))
      return 0;
    size_t n = r->body_len - got < c->in_len ? r->body_len - got : c->in_len;
    if (got < SRV_BODY_MAX)
      memcpy(r->body + got, c->in,
             n < SRV_BODY_MAX - got ? n : SRV_BODY_MAX - got);
    got += n;
    srv_consume(c, n);
  }
  return 1;
}

/* Reads one request into *r and counts it (one more in flight). Returns its
 * number on the server, or -1 on EOF/stop. */
static int srv_read_request(struct srv_conn *c, struct srv_request *r) {
  char *end;
  while ((end = memmem(c->in, c->in_len, "\r\n\r\n", 4)) == NULL)
    if (!srv_fill(c))
      return -1;
  size_t head_len = (size_t)(end - c->in) + 4;
  memset(r, 0, sizeof(*r));
  memcpy(r->head, c->in, head_len < SRV_HEAD_MAX ? head_len : SRV_HEAD_MAX - 1);
  r->body_len = content_length(r->head);
  srv_consume(c, head_len);
  if (!srv_read_body(c, r))
    return -1;
  struct srv *s = c->s;
  pthread_mutex_lock(&s->lock);
  int i = s->requests++;
  if (i < SRV_MAX_REQ)
    s->req[i] = *r;
  if (++s->in_flight > s->max_in_flight)
    s->max_in_flight = s->in_flight;
  pthread_mutex_unlock(&s->lock);
  return i;
}

static int srv_send(int fd, const char *data, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0)
      return 0;
    data += w;
    n -= (size_t)w;
  }
  return 1;
}

/* The body of reply r to request head (SRV_ECHO: its path), in a new
 * string the caller frees; *len gets its length. */
static char *srv_body(const struct srv_reply *r, int delay_ms, const char *head,
                      size_t *len) {
  char path[512] = "";
  const char *text = r->body;
  if (r->mode == SRV_ECHO) {
    sscanf(head, "%*s %511s", path);
    if (strncmp(path, "/slow", 5) == 0) {
      struct timespec ts = {delay_ms / 1000,
                            (long)(delay_ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
    text = strncmp(path, "/big", 4) == 0 ? NULL : path;
  }
  *len = text ? strlen(text) : r->body_len;
  char *body = malloc(*len + 1);
  ck_assert_ptr_nonnull(body);
  memset(body, 'x', *len);
  if (text)
    memcpy(body, text, *len);
  return body;
}

/* Answers request head with reply r. Returns 1 to keep the connection, 0 to
 * close it. */
static int srv_answer(struct srv_conn *c, const struct srv_reply *r,
                      const char *head) {
  if (r->mode == SRV_HANGUP)
    return 0;
  if (r->mode == SRV_SILENT) {
    while (srv_fill(c))
      ; /* until the client gives up */
    return 0;
  }
  size_t len;
  char *body = srv_body(r, c->s->delay_ms, head, &len);
  char top[1024];
  int n = snprintf(top, sizeof(top),
                   "HTTP/1.1 %d Test\r\nContent-Length: %zu\r\n%s\r\n",
                   r->status, len + (r->mode == SRV_CUT ? 100 : 0),
                   r->headers ? r->headers : "");
  int ok = srv_send(c->fd, top, (size_t)n) && srv_send(c->fd, body, len);
  free(body);
  return ok && r->mode != SRV_CUT;
}

static void *srv_conn_main(void *arg) {
  struct srv_conn *c = arg;
  struct srv *s = c->s;
  struct srv_request *r = malloc(sizeof(*r));
  int i;
  while (r != NULL && (i = srv_read_request(c, r)) >= 0) {
    size_t k = (size_t)i < s->n_replies ? (size_t)i : s->n_replies - 1;
    int keep = srv_answer(c, &s->replies[k], r->head);
    pthread_mutex_lock(&s->lock);
    s->in_flight--;
    pthread_mutex_unlock(&s->lock);
    if (!keep)
      break;
  }
  free(r);
  close(c->fd);
  free(c);
  return NULL;
}

static void *srv_main(void *arg) {
  struct srv *s = arg;
  while (srv_wait(s, s->listen_fd)) {
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
      continue;
    pthread_mutex_lock(&s->lock);
    int i = s->connections < SRV_CONNS ? s->connections++ : -1;
    pthread_mutex_unlock(&s->lock);
    struct srv_conn *c = calloc(1, sizeof(*c));
    if (i < 0 || c == NULL) {
      free(c);
      close(fd);
      continue;
    }
    c->s = s;
    c->fd = fd;
    pthread_create(&s->conn_threads[i], NULL, srv_conn_main, c);
  }
  return NULL;
}

/* A socket bound to 127.0.0.1 on an ephemeral port; *port gets the port. */
static int bind_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Starts a server that answers the i-th request with replies[i] (copied),
 * SRV_ECHO ones to "/slow" paths after delay_ms. Free with srv_stop. */
static struct srv *srv_launch(const struct srv_reply *replies, size_t n,
                              int delay_ms) {
  ck_assert_uint_ge(n, 1);
  ck_assert_uint_le(n, SRV_MAX_REPLIES);
  struct srv *s = calloc(1, sizeof(*s));
  ck_assert_ptr_nonnull(s);
  memcpy(s->replies, replies, n * sizeof(*replies));
  s->n_replies = n;
  s->delay_ms = delay_ms;
  s->listen_fd = bind_loopback(&s->port);
  ck_assert_int_eq(listen(s->listen_fd, 16), 0);
  ck_assert_int_eq(pipe(s->stop), 0);
  pthread_mutex_init(&s->lock, NULL);
  ck_assert_int_eq(pthread_create(&s->accept_thread, NULL, srv_main, s), 0);
  return s;
}

/* Starts a server that answers the i-th request with replies[i]. Free with
 * srv_stop. */
static struct srv *srv_start(const struct srv_reply *replies, size_t n) {
  return srv_launch(replies, n, 0);
}

/* A server that echoes every path (SRV_ECHO), "/slow" ones after delay_ms,
 * "/big" ones with big_len bytes. Free with srv_stop. */
static struct srv *srv_start_echo(int delay_ms, size_t big_len) {
  const struct srv_reply echo = {SRV_ECHO, 200, NULL, NULL, big_len};
  return srv_launch(&echo, 1, delay_ms);
}

static void srv_stop(struct srv *s) {
  ck_assert_int_eq(write(s->stop[1], "x", 1), 1);
  pthread_join(s->accept_thread, NULL);
  for (int i = 0; i < s->connections; i++)
    pthread_join(s->conn_threads[i], NULL);
  close(s->stop[0]);
  close(s->stop[1]);
  close(s->listen_fd);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* Copies request i as the server saw it (the server may still be running). */
static struct srv_request srv_request(struct srv *s, size_t i) {
  pthread_mutex_lock(&s->lock);
  ck_assert_uint_lt(i, s->requests);
  ck_assert_uint_lt(i, SRV_MAX_REQ);
  struct srv_request r = s->req[i];
  pthread_mutex_unlock(&s->lock);
  return r;
}

/* A counter of s (&s->connections, &s->requests, &s->max_in_flight), read
 * under its lock. */
static int srv_get(struct srv *s, const int *field) {
  pthread_mutex_lock(&s->lock);
  int v = *field;
  pthread_mutex_unlock(&s->lock);
  return v;
}

/* ---- helpers ---- */

static struct http_client *client(long timeout_ms, size_t max) {
  struct http_opts o = {.timeout_ms = timeout_ms,
                        .max_response_bytes = max,
                        .user_agent = "test-agent/1",
                        .max_parallel = 1};
  struct http_client *c = http_new(&o);
  ck_assert_ptr_nonnull(c);
  return c;
}

static void url_for(char *out, size_t size, int port, const char *path) {
  ck_assert_int_lt(snprintf(out, size, "http://127.0.0.1:%d%s", port, path),
                   (int)size);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- http_redact_url ---- */

static const struct {
  const char *in;
  const char *out;
} redact_cases[] = {
    {"https://api.runscope.com/buckets", "https://api.runscope.com/buckets"},
    {"https://h/x?apiKey=abc&b=1", "https://h/x?apiKey=REDACTED&b=1"},
    {"https://h/x?a=1&token=t&password=p&secret=s",
     "https://h/x?a=1&token=REDACTED&password=REDACTED&secret=REDACTED"},
    {"https://h/x?APIKEY=abc", "https://h/x?APIKEY=REDACTED"},
    {"https://h/x?apiKeyId=abc&mytoken=z",
     "https://h/x?apiKeyId=abc&mytoken=z"},
    {"https://h/x?apiKey=", "https://h/x?apiKey=REDACTED"},
    {"https://h/x?apiKey", "https://h/x?apiKey"},
    {"https://h/x#token=abc", "https://h/x#token=REDACTED"},
    {"https://user:pw@h:8080/x", "https://h:8080/x"},
    {"https://user@h/x", "https://h/x"},
    {"https://u:p@ss@h?token=1", "https://h?token=REDACTED"},
    {"https://h/x?next=a@b", "https://h/x?next=a@b"},
    {"https://h/x?next=http://u:p@z", "https://h/x?next=http://u:p@z"},
    {"/relative?token=x", "/relative?token=REDACTED"},
    {"", ""},
};

START_TEST(test_redact) {
  char out[256];
  memset(out, 'Z', sizeof(out));
  http_redact_url(redact_cases[_i].in, out, sizeof(out));
  ck_assert_str_eq(out, redact_cases[_i].out);
}
END_TEST

START_TEST(test_redact_truncates) {
  static const size_t sizes[] = {1, 5, 18, 20, 26};
  static const char in[] = "https://h/?token=SECRETVALUE";
  static const char full[] = "https://h/?token=REDACTED";
  char out[64];
  memset(out, 'Z', sizeof(out));
  http_redact_url(in, out, sizes[_i]);
  ck_assert_uint_eq(strlen(out), sizes[_i] - 1);
  ck_assert_int_eq(strncmp(out, full, sizes[_i] - 1), 0);
  ck_assert_int_eq(out[sizes[_i]], 'Z'); /* nothing written past size */
}
END_TEST

START_TEST(test_redact_zero_size) {
  char out[4] = "keep";
  http_redact_url("https://h/", out, 0);
  ck_assert_mem_eq(out, "keep", 4);
}
END_TEST

/* ---- http_parse_retry_after ---- */

#define IMF_T 784111777.0 /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct {
  const char *value;
  double now;
  double expect;
} retry_cases[] = {
    {"120", 0, 120},
    {" 7 \r\n", 0, 7},
    {"0", 0, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMT", IMF_T - 30, 30},
    {"Sun, 06 Nov 1994 08:49:37 GMT\r\n", IMF_T - 30, 30},
    {"Sun, 06 Nov 1994 08:49:37 GMT", IMF_T + 100, 0}, /* past: clamps */
    {"Sunday, 06-Nov-94 08:49:37 GMT", IMF_T - 30, 30},
    {"Sun Nov  6 08:49:37 1994", IMF_T - 30, 30},
    {"soon", 0, -1},
    {"", 0, -1},
    {"  ", 0, -1},
    {"-5", 0, -1},
    {"1.5", 0, -1},
    {"12abc", 0, -1},
    {"Sun, 06 Nov 1994 08:49:37 GMT junk", 0, -1},
    {"Sun, 06 Nov 1994", 0, -1},
    {"Sun, 32 Nov 1994 08:49:37 GMT", 0, -1},
};

START_TEST(test_retry_after) {
  double got =
      http_parse_retry_after(retry_cases[_i].value, retry_cases[_i].now);
  ck_assert_double_eq_tol(got, retry_cases[_i].expect, 1e-9);
}
END_TEST

/* ---- http_maybe_sent ---- */

static const struct {
  int rc;
  bool sent;
} sent_cases[] = {
    {0, false},       {-ECONNREFUSED, false}, {-ENOMEM, false},
    {-EINVAL, false}, {-ETIMEDOUT, true},     {-ECONNRESET, true},
    {-EIO, true},     {-EMSGSIZE, true},
};

START_TEST(test_maybe_sent) {
  ck_assert_int_eq(http_maybe_sent(sent_cases[_i].rc), sent_cases[_i].sent);
}
END_TEST

/* ---- the transport seam ---- */

struct fake {
  int calls;
  const char *last_url; /* the URL of the last request, as passed */
  int rc;
  long status;
  const char *body;
};

static int fake_transport(void *ctx, const struct http_request *req,
                          struct http_response *resp, struct err *err) {
  struct fake *f = ctx;
  f->calls++;
  f->last_url = req->url;
  resp->status = f->status;
  if (f->body)
    ck_assert_int_eq(buf_puts(&resp->body, f->body), 0);
  if (f->rc != 0)
    err_set(err, "fake failure");
  return f->rc;
}

START_TEST(test_seam) {
  int port;
  int fd = bind_loopback(&port); /* bound, not listening: refuses */
  char url[128];
  url_for(url, sizeof(url), port, "/x");
  struct http_client *c = client(2000, 1024);
  struct fake f = {0, NULL, 0, 429, "slow down"};
  http_set_transport(c, fake_transport, &f);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;

  ck_assert_int_eq(http_do(c, &req, &resp, &err), 0); /* curl would refuse */
  ck_assert_int_eq(f.calls, 1);
  ck_assert_ptr_eq(f.last_url, url); /* borrowed, not copied */
  ck_assert_int_eq(resp.status, 429);
  ck_assert_str_eq(resp.body.data, "slow down");

  f = (struct fake){0, NULL, 0, 503, NULL};
  ck_assert_int_eq(http_do(c, &req, &resp, &err), 0);
  ck_assert_uint_eq(resp.body.len, 0); /* the previous body is gone */
  ck_assert_ptr_nonnull(resp.body.data);
  ck_assert_str_eq(resp.body.data, "");

  f = (struct fake){0, NULL, -ETIMEDOUT, 0, NULL};
  ck_assert_int_eq(http_do(c, &req, &resp, &err), -ETIMEDOUT);
  ck_assert_str_eq(err.msg, "fake failure");

  const struct http_stats *st = http_stats(c);
  ck_assert_uint_eq(st->requests, 3);
  ck_assert_uint_eq(st->rate_limited, 1);
  ck_assert_uint_eq(st->server_errors, 1);
  ck_assert_uint_eq(st->errors, 1);

  http_set_transport(c, NULL, NULL); /* back to libcurl */
  ck_assert_int_eq(http_do(c, &req, &resp, &err), -ECONNREFUSED);
  ck_assert_int_eq(f.calls, 1);
  ck_assert_uint_eq(st->requests, 4);
  ck_assert_uint_eq(st->errors, 2);

  http_response_fini(&resp);
  http_free(c);
  close(fd);
}
END_TEST

START_TEST(test_invalid_request) {
  struct http_client *c = client(2000, 1024);
  struct fake f = {0, NULL, 0, 200, NULL};
  http_set_transport(c, fake_transport, &f);
  struct http_request reqs[] = {
      {.method = NULL, .url = "http://h/"},
      {.method = "GET", .url = NULL},
      {.method = "GET", .url = "http://h/", .bearer = "tok\r\nX-Evil: 1"},
      {.method = "POST", .url = "http://h/", .content_type = "a/b\nX: 1"},
  };
  struct http_response resp;
  http_response_init(&resp, 64);
  for (int i = 0; i < N(reqs); i++) {
    struct err err;
    ck_assert_int_eq(http_do(c, &reqs[i], &resp, &err), -EINVAL);
    ck_assert_ptr_null(strstr(err.msg, "tok"));
  }
  ck_assert_int_eq(f.calls, 0);
  http_response_fini(&resp);
  http_free(c);
}
END_TEST

/* ---- libcurl against the loopback server ---- */

START_TEST(test_get_200) {
  static const struct srv_reply r[] = {{SRV_REPLY, 200, NULL, "hello", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/path?q=1");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  ck_assert_int_eq(http_do(c, &req, &resp, &err), 0);
  ck_assert_int_eq(resp.status, 200);
  ck_assert_str_eq(resp.body.data, "hello");
  ck_assert_uint_eq(resp.body.len, 5);
  ck_assert_double_eq(resp.retry_after, -1);
  struct srv_request got = srv_request(s, 0);
  ck_assert_int_eq(strncmp(got.head, "GET /path?q=1 HTTP/1.1\r\n", 24), 0);
  ck_assert_ptr_nonnull(strstr(got.head, "\r\nUser-Agent: test-agent/1\r\n"));
  ck_assert_uint_eq(http_stats(c)->requests, 1);
  ck_assert_uint_eq(http_stats(c)->errors, 0);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

START_TEST(test_empty_body) {
  static const struct srv_reply r[] = {{SRV_REPLY, 204, NULL, "", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_int_eq(resp.status, 204);
  ck_assert_ptr_nonnull(resp.body.data); /* a C string even when empty */
  ck_assert_str_eq(resp.body.data, "");
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

static const struct {
  int status;
  const char *headers;
  double retry_after;
  int rate_limited, server_errors;
} status_cases[] = {
    {503, "Retry-After: 42\r\n", 42, 0, 1},
    {429, "retry-after: 7\r\n", 7, 1, 0},
    {500, "X-Other: 1\r\nRETRY-AFTER:   3  \r\n", 3, 0, 1},
    {200, "Retry-After: soon\r\n", -1, 0, 0},
    {404, "X-Retry-After: 9\r\n", -1, 0, 0},
    {302, "Location: http://127.0.0.1:1/elsewhere\r\n", -1, 0, 0},
};

START_TEST(test_status_passthrough) {
  const struct srv_reply r[] = {
      {SRV_REPLY, status_cases[_i].status, status_cases[_i].headers, "{}", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  ck_assert_int_eq(http_do(c, &req, &resp, &err), 0);
  ck_assert_int_eq(resp.status, status_cases[_i].status);
  ck_assert_str_eq(resp.body.data, "{}");
  ck_assert_double_eq_tol(resp.retry_after, status_cases[_i].retry_after, 1e-9);
  const struct http_stats *st = http_stats(c);
  ck_assert_uint_eq(st->errors, 0);
  ck_assert_uint_eq(st->rate_limited, status_cases[_i].rate_limited);
  ck_assert_uint_eq(st->server_errors, status_cases[_i].server_errors);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

START_TEST(test_retry_after_not_kept) {
  static const struct srv_reply r[] = {
      {SRV_REPLY, 503, "Retry-After: 42\r\n", "a", 0},
      {SRV_REPLY, 200, NULL, "b", 0}};
  struct srv *s = srv_start(r, 2);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_double_eq(resp.retry_after, 42);
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_int_eq(resp.status, 200);
  ck_assert_double_eq(resp.retry_after, -1);
  ck_assert_str_eq(resp.body.data, "b");
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

static const struct {
  size_t body_len;
  size_t client_max; /* http_opts.max_response_bytes */
  size_t resp_max;   /* http_response_init */
  int rc;
} cap_cases[] = {
    {1000, 1000, 1000, 0},           /* exactly the cap */
    {1001, 1000, 1000, -EMSGSIZE},   /* one past */
    {200000, 1000, 1000, -EMSGSIZE}, /* many writes past */
    {600, 500, 1000, -EMSGSIZE},     /* the client's cap is smaller */
    {600, 1000, 500, -EMSGSIZE},     /* the response's cap is smaller */
    {600, 0, 1000, 0},               /* 0: only the response's cap */
};

START_TEST(test_cap) {
  const struct srv_reply r[] = {
      {SRV_REPLY, 200, NULL, NULL, cap_cases[_i].body_len}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/big");
  struct http_client *c = client(5000, cap_cases[_i].client_max);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, cap_cases[_i].resp_max);
  struct err err;
  int rc = http_do(c, &req, &resp, &err);
  ck_assert_int_eq(rc, cap_cases[_i].rc);
  if (rc == 0) {
    ck_assert_uint_eq(resp.body.len, cap_cases[_i].body_len);
    ck_assert_uint_eq(strlen(resp.body.data), cap_cases[_i].body_len);
  } else {
    ck_assert_ptr_nonnull(strstr(err.msg, "GET http://127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
    ck_assert_uint_le(resp.body.len, cap_cases[_i].resp_max);
    ck_assert_uint_eq(http_stats(c)->errors, 1);
  }
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

START_TEST(test_timeout) {
  static const struct srv_reply r[] = {{SRV_SILENT, 0, NULL, NULL, 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/slow");
  struct http_client *c = client(300, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  double t0 = now_ms();
  int rc = http_do(c, &req, &resp, &err);
  double elapsed = now_ms() - t0;
  ck_assert_int_eq(rc, -ETIMEDOUT);
  ck_assert_double_ge(elapsed, 250);
  ck_assert_double_lt(elapsed, 3000);
  ck_assert_int_eq(srv_get(s, &s->connections), 1);
  ck_assert_ptr_nonnull(strstr(err.msg, "GET http://127.0.0.1:"));
  ck_assert(http_maybe_sent(rc));
  ck_assert_uint_eq(http_stats(c)->errors, 1);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

START_TEST(test_refused) {
  int port;
  int fd = bind_loopback(&port); /* bound, not listening */
  char url[128];
  url_for(url, sizeof(url), port, "/");
  struct http_client *c = client(2000, 1024);
  struct http_request req = {
      .method = "POST", .url = url, .body = "{}", .body_len = 2};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  int rc = http_do(c, &req, &resp, &err);
  ck_assert_int_eq(rc, -ECONNREFUSED);
  ck_assert(!http_maybe_sent(rc));
  ck_assert_int_eq(resp.status, 0);
  ck_assert_int_eq(strncmp(err.msg, "POST http://127.0.0.1:", 22), 0);
  ck_assert_uint_eq(http_stats(c)->errors, 1);
  http_response_fini(&resp);
  http_free(c);
  close(fd);
}
END_TEST

static const enum srv_mode broken_modes[] = {SRV_CUT, SRV_HANGUP};

START_TEST(test_connection_broken) {
  const struct srv_reply r[] = {{broken_modes[_i], 200, NULL, "partial", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  int rc = http_do(c, &req, &resp, &err);
  ck_assert_int_eq(rc, -ECONNRESET);
  ck_assert(http_maybe_sent(rc));
  ck_assert_ptr_nonnull(strstr(err.msg, "GET http://127.0.0.1:"));
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* A POST with Basic auth, a large POST with a bearer token, then a GET: each
 * arrives as sent, nothing leaks into the GET, and one connection serves
 * all three. */
START_TEST(test_post_then_get) {
  static const struct srv_reply r[] = {{SRV_REPLY, 201, NULL, "ok", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/submit");
  struct http_client *c = client(5000, 1024);
  struct http_response resp;
  http_response_init(&resp, 1024);
  static const char json[] = "{\"a\":1}";
  struct http_request post = {.method = "POST",
                              .url = url,
                              .body = json,
                              .body_len = strlen(json),
                              .content_type = "application/json",
                              .user = "user",
                              .password = "pass"};
  ck_assert_int_eq(http_do(c, &post, &resp, NULL), 0);
  ck_assert_int_eq(resp.status, 201);

  /* Large enough for libcurl to ask "Expect: 100-continue" unless told not
   * to, which would stall the request on servers that never answer 100. */
  const size_t big_len = 1536 * 1024;
  char *big = malloc(big_len);
  ck_assert_ptr_nonnull(big);
  for (size_t i = 0; i < big_len; i++)
    big[i] = (char)('a' + i % 26);
  struct http_request post2 = {.method = "POST",
                               .url = url,
                               .body = big,
                               .body_len = big_len,
                               .content_type = "text/plain",
                               .bearer = "tok123"};
  ck_assert_int_eq(http_do(c, &post2, &resp, NULL), 0);

  struct http_request get = {.method = "GET", .url = url};
  ck_assert_int_eq(http_do(c, &get, &resp, NULL), 0);

  struct srv_request r0 = srv_request(s, 0);
  ck_assert_int_eq(strncmp(r0.head, "POST /submit HTTP/1.1\r\n", 23), 0);
  ck_assert_ptr_nonnull(
      strstr(r0.head, "\r\nContent-Type: application/json\r\n"));
  /* base64("user:pass") */
  ck_assert_ptr_nonnull(
      strstr(r0.head, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));
  ck_assert_uint_eq(r0.body_len, strlen(json));
  ck_assert_mem_eq(r0.body, json, strlen(json));

  struct srv_request r1 = srv_request(s, 1);
  ck_assert_ptr_nonnull(
      strstr(r1.head, "\r\nAuthorization: Bearer tok123\r\n"));
  ck_assert_ptr_null(strstr(r1.head, "Basic"));
  ck_assert_ptr_null(strcasestr(r1.head, "\r\nExpect:"));
  ck_assert_uint_eq(r1.body_len, big_len);
  ck_assert_mem_eq(r1.body, big, SRV_BODY_MAX);
  free(big);

  struct srv_request r2 = srv_request(s, 2);
  ck_assert_int_eq(strncmp(r2.head, "GET /submit HTTP/1.1\r\n", 22), 0);
  ck_assert_ptr_null(strcasestr(r2.head, "Authorization"));
  ck_assert_ptr_null(strcasestr(r2.head, "Content-Type"));
  ck_assert_ptr_null(strcasestr(r2.head, "Content-Length"));
  ck_assert_uint_eq(r2.body_len, 0);

  ck_assert_int_eq(srv_get(s, &s->connections), 1);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

START_TEST(test_keepalive) {
  static const struct srv_reply r[] = {{SRV_REPLY, 200, NULL, "one", 0},
                                       {SRV_REPLY, 200, NULL, "two", 0}};
  struct srv *s = srv_start(r, 2);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_str_eq(resp.body.data, "one");
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_str_eq(resp.body.data, "two");
  ck_assert_int_eq(srv_get(s, &s->connections), 1);
  ck_assert_uint_eq(http_stats(c)->requests, 2);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* A request marked once never rides a reused connection. */
START_TEST(test_once_fresh_connection) {
  static const struct srv_reply r[] = {{SRV_REPLY, 200, NULL, "one", 0},
                                       {SRV_REPLY, 202, NULL, "two", 0}};
  struct srv *s = srv_start(r, 2);
  char url[128];
  url_for(url, sizeof(url), s->port, "/");
  struct http_client *c = client(5000, 1024);
  struct http_request get = {.method = "GET", .url = url};
  struct http_request post = {
      .method = "POST", .url = url, .body = "{}", .body_len = 2, .once = true};
  struct http_response resp;
  http_response_init(&resp, 1024);
  ck_assert_int_eq(http_do(c, &get, &resp, NULL), 0);
  ck_assert_int_eq(http_do(c, &post, &resp, NULL), 0);
  ck_assert_str_eq(resp.body.data, "two");
  ck_assert_int_eq(srv_get(s, &s->connections), 2);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* ---- no secret in err, whatever the failure ---- */

static const struct srv_reply secret_replies[] = {
    {SRV_SILENT, 0, NULL, NULL, 0},     /* timeout */
    {SRV_REPLY, 200, NULL, NULL, 5000}, /* too large */
    {SRV_CUT, 200, NULL, "part", 0},    /* broken */
    {SRV_HANGUP, 0, NULL, NULL, 0},     /* nothing */
    {SRV_REPLY, 0, NULL, NULL, 0},      /* refused: no server */
};

static const char *const secrets[] = {"URLPASS", "KEYSECRET", "TOKSECRET",
                                      "PWSECRET", "BEARERSECRET"};

START_TEST(test_no_secret_in_err) {
  bool refused = _i == N(secret_replies) - 1;
  struct srv *s = NULL;
  int port, fd = -1;
  if (refused)
    fd = bind_loopback(&port);
  else
    s = srv_start(&secret_replies[_i], 1);
  char url[256];
  ck_assert_int_lt(snprintf(url, sizeof(url),
                            "http://alice:URLPASS@127.0.0.1:%d/x?apiKey="
                            "KEYSECRET&token=TOKSECRET&n=1",
                            refused ? port : s->port),
                   (int)sizeof(url));
  struct http_client *c = client(300, 1024);
  struct http_request reqs[] = {
      {.method = "GET", .url = url, .user = "bob", .password = "PWSECRET"},
      {.method = "POST",
       .url = url,
       .body = "{}",
       .body_len = 2,
       .bearer = "BEARERSECRET"},
  };
  struct http_response resp;
  http_response_init(&resp, 1024);
  for (int i = 0; i < N(reqs); i++) {
    struct err err;
    ck_assert_int_ne(http_do(c, &reqs[i], &resp, &err), 0);
    for (int k = 0; k < N(secrets); k++)
      ck_assert_msg(strstr(err.msg, secrets[k]) == NULL, "%s leaked in: %s",
                    secrets[k], err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "apiKey=REDACTED&token=REDACTED"));
    ck_assert_int_eq(strncmp(err.msg, reqs[i].method, strlen(reqs[i].method)),
                     0);
  }
  http_response_fini(&resp);
  http_free(c);
  if (s)
    srv_stop(s);
  if (fd >= 0)
    close(fd);
}
END_TEST

/* libcurl's cause may quote the host: a password equal to it is scrubbed
 * from the whole message. */
START_TEST(test_cause_scrubbed) {
  int port;
  int fd = bind_loopback(&port);
  char url[128];
  url_for(url, sizeof(url), port, "/");
  struct http_client *c = client(2000, 1024);
  struct http_request reqs[] = {
      {.method = "GET", .url = url, .user = "u", .password = "127.0.0.1"},
      {.method = "GET", .url = url, .bearer = "127.0.0.1"},
  };
  struct http_response resp;
  http_response_init(&resp, 64);
  for (int i = 0; i < N(reqs); i++) {
    struct err err;
    ck_assert_int_eq(http_do(c, &reqs[i], &resp, &err), -ECONNREFUSED);
    ck_assert_ptr_null(strstr(err.msg, "127.0.0.1"));
    ck_assert_ptr_nonnull(strstr(err.msg, "GET http://REDACTED:"));
  }
  http_response_fini(&resp);
  http_free(c);
  close(fd);
}
END_TEST

/* Only http and https: anything else fails without being tried. */
static const char *const other_schemes[] = {"ftp", "dict", "gopher", "telnet"};

START_TEST(test_other_protocols) {
  int port;
  int fd = bind_loopback(&port);
  ck_assert_int_eq(listen(fd, 1), 0);
  char url[128];
  snprintf(url, sizeof(url), "%s://127.0.0.1:%d/", other_schemes[_i], port);
  struct http_client *c = client(2000, 1024);
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 1024);
  struct err err;
  ck_assert_int_eq(http_do(c, &req, &resp, &err), -EIO);
  ck_assert_uint_eq(resp.body.len, 0);
  struct pollfd p = {fd, POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, 0), 0); /* nobody connected */
  http_response_fini(&resp);
  http_free(c);
  close(fd);
}
END_TEST

/* ---- batches ---- */

/* A batch over a list of URLs; records what each request ended with. */
#define BATCH_MAX 64

struct batch {
  const char *urls[BATCH_MAX];
  size_t n, handed, reported;
  int rc[BATCH_MAX];
  long status[BATCH_MAX];
  char body[BATCH_MAX][64];
  char err[BATCH_MAX][ERR_MSG_MAX];
  int stop_after; /* done returns false after this many; 0: never */
  size_t follow;  /* requests handed out only once one has ended */
};

static bool b_next(void *ctx, struct http_request *req, void **ret_tag) {
  struct batch *b = ctx;
  size_t limit =
      b->n - b->follow + (b->reported < b->follow ? b->reported : b->follow);
  if (b->handed >= b->n || b->handed >= limit)
    return false;
  req->method = "GET";
  req->url = b->urls[b->handed];
  *ret_tag = (void *)(b->handed++ + 1);
  return true;
}

static bool b_done(void *ctx, void *tag, int rc,
                   const struct http_response *resp, const struct err *err) {
  struct batch *b = ctx;
  size_t i = (size_t)tag - 1;
  ck_assert_uint_lt(i, b->n);
  b->rc[i] = rc;
  b->status[i] = resp->status;
  snprintf(b->body[i], sizeof(b->body[i]), "%s",
           resp->body.data ? resp->body.data : "(null)");
  snprintf(b->err[i], sizeof(b->err[i]), "%s", rc ? err->msg : "");
  b->reported++;
  return b->stop_after == 0 || (int)b->reported < b->stop_after;
}

static double batch_run(struct http_client *c, struct batch *b) {
  struct http_batch hb = {b_next, b_done, b};
  double t0 = now_ms();
  ck_assert_int_eq(http_run(c, &hb), 0);
  return now_ms() - t0;
}

static struct http_client *parallel_client(size_t parallel, long timeout_ms,
                                           size_t max) {
  struct http_opts o = {.timeout_ms = timeout_ms,
                        .max_response_bytes = max,
                        .user_agent = "test-agent/1",
                        .max_parallel = parallel};
  struct http_client *c = http_new(&o);
  ck_assert_ptr_nonnull(c);
  return c;
}

static char batch_urls[BATCH_MAX][128];

static void batch_fill(struct batch *b, int port, const char *prefix,
                       size_t n) {
  memset(b, 0, sizeof(*b));
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof(path), "%s/%zu", prefix, i);
    url_for(batch_urls[i], sizeof(batch_urls[i]), port, path);
    b->urls[i] = batch_urls[i];
  }
  b->n = n;
}

/* Eight slow requests, four at a time: two rounds, not eight; each answer
 * reaches its own request; four connections, reused by the next batch and
 * by http_do. */
START_TEST(test_batch_parallel) {
  struct srv *s = srv_start_echo(300, 0);
  struct http_client *c = parallel_client(4, 5000, 1024);
  struct batch b;
  batch_fill(&b, s->port, "/slow", 8);
  double ms = batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 8);
  for (size_t i = 0; i < 8; i++) {
    char want[32];
    snprintf(want, sizeof(want), "/slow/%zu", i);
    ck_assert_int_eq(b.rc[i], 0);
    ck_assert_int_eq(b.status[i], 200);
    ck_assert_str_eq(b.body[i], want);
  }
  ck_assert_msg(ms >= 550 && ms < 1500, "8 requests of 300 ms took %.0f ms",
                ms);
  ck_assert_int_eq(srv_get(s, &s->max_in_flight), 4);
  ck_assert_int_eq(srv_get(s, &s->connections), 4);
  batch_fill(&b, s->port, "/again", 8);
  batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 8);
  struct http_request req = {.method = "GET", .url = b.urls[0]};
  struct http_response resp;
  http_response_init(&resp, 1024);
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_str_eq(resp.body.data, "/again/0");
  ck_assert_int_eq(srv_get(s, &s->connections), 4); /* kept alive */
  ck_assert_int_eq(srv_get(s, &s->requests), 17);
  ck_assert_uint_eq(http_stats(c)->requests, 17);
  http_response_fini(&resp);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* One at a time when the client says so. */
START_TEST(test_batch_serial) {
  struct srv *s = srv_start_echo(100, 0);
  struct http_client *c = parallel_client(1, 5000, 1024);
  struct batch b;
  batch_fill(&b, s->port, "/slow", 4);
  double ms = batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 4);
  ck_assert_msg(ms >= 390, "4 requests of 100 ms took %.0f ms", ms);
  ck_assert_int_eq(srv_get(s, &s->max_in_flight), 1);
  ck_assert_int_eq(srv_get(s, &s->connections), 1);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* In a batch each request keeps http_do's guarantees: the cap, the
 * timeout, the mapping of errors and a redacted message; one failure does
 * not stop the others. */
START_TEST(test_batch_errors) {
  struct srv *s = srv_start_echo(1500, 4000);
  int refused_port;
  int refused_fd = bind_loopback(&refused_port);
  struct http_client *c = parallel_client(4, 700, 1024);
  struct batch b;
  batch_fill(&b, s->port, "/ok", 5);
  url_for(batch_urls[1], sizeof(batch_urls[1]), s->port, "/big?apiKey=SEKRIT");
  url_for(batch_urls[2], sizeof(batch_urls[2]), s->port, "/slow");
  url_for(batch_urls[3], sizeof(batch_urls[3]), refused_port,
          "/x?token=SEKRIT");
  batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 5);
  ck_assert_int_eq(b.rc[0], 0);
  ck_assert_str_eq(b.body[0], "/ok/0");
  ck_assert_int_eq(b.rc[1], -EMSGSIZE);
  ck_assert_ptr_nonnull(strstr(b.err[1], "apiKey=REDACTED"));
  ck_assert_ptr_nonnull(strstr(b.err[1], "answer larger than 1024 bytes"));
  ck_assert_int_eq(b.rc[2], -ETIMEDOUT);
  ck_assert_int_eq(b.rc[3], -ECONNREFUSED);
  ck_assert_ptr_null(strstr(b.err[3], "SEKRIT"));
  ck_assert_int_eq(b.rc[4], 0);
  ck_assert_str_eq(b.body[4], "/ok/4");
  const struct http_stats *st = http_stats(c);
  ck_assert_uint_eq(st->requests, 5);
  ck_assert_uint_eq(st->errors, 3);
  http_free(c);
  close(refused_fd);
  srv_stop(s);
}
END_TEST

/* done returning false starts nothing more; a source that has a request
 * only once another ended (a next page) is drained. */
START_TEST(test_batch_stop_and_follow) {
  struct srv *s = srv_start_echo(0, 0);
  struct http_client *c = parallel_client(2, 5000, 1024);
  struct batch b;
  batch_fill(&b, s->port, "/p", 10);
  b.stop_after = 3;
  batch_run(c, &b);
  ck_assert_uint_ge(b.reported, 3);
  ck_assert_uint_le(b.reported, 4); /* the one in flight still ends */
  ck_assert_uint_eq(b.handed, b.reported);
  batch_fill(&b, s->port, "/f", 6);
  b.follow = 5; /* one at first, then one per request ended */
  batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 6);
  for (size_t i = 0; i < 6; i++)
    ck_assert_int_eq(b.rc[i], 0);
  http_free(c);
  srv_stop(s);
}
END_TEST

/* With the transport seam a batch runs one request at a time through it. */
START_TEST(test_batch_seam) {
  struct http_client *c = parallel_client(4, 1000, 1024);
  struct fake f = {0, NULL, 0, 200, "seam"};
  http_set_transport(c, fake_transport, &f);
  struct batch b;
  batch_fill(&b, 1, "/s", 6);
  batch_run(c, &b);
  ck_assert_int_eq(f.calls, 6);
  ck_assert_uint_eq(b.reported, 6);
  ck_assert_str_eq(b.body[5], "seam");
  ck_assert_ptr_eq(f.last_url, b.urls[5]);
  f.rc = -ECONNRESET;
  batch_fill(&b, 1, "/s", 2);
  batch_run(c, &b);
  ck_assert_int_eq(b.rc[0], -ECONNRESET);
  ck_assert_str_eq(b.err[1], "fake failure");
  ck_assert_uint_eq(http_stats(c)->requests, 8);
  ck_assert_uint_eq(http_stats(c)->errors, 2);
  http_free(c);
}
END_TEST

/* ---- the request-rate cap (MaxRequestsPerSecond) ---- */

/* A clock that only sleeps move. */
struct fake_clock {
  double now;
  double slept;
  double starts[256];
  size_t n;
};

static double fc_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }

static void fc_sleep(void *ctx, double s) {
  struct fake_clock *fc = ctx;
  ck_assert(s > 0);
  fc->now += s;
  fc->slept += s;
}

static int fc_transport(void *ctx, const struct http_request *req,
                        struct http_response *resp, struct err *err) {
  struct fake_clock *fc = ctx;
  (void)req;
  (void)err;
  if (fc->n < 256)
    fc->starts[fc->n++] = fc->now;
  fc->now += 0.001; /* each answer takes a millisecond */
  resp->status = 200;
  return 0;
}

static double gate_wait_fn(void *ctx, double now) {
  return limiter_wait(ctx, "api", now);
}

static void gate_note_fn(void *ctx, double now) {
  limiter_note(ctx, "api", now);
}

static const int rate_caps[] = {1, 5, 20, 100};

/* Whatever the cap, no one-second window holds more than the cap of
 * requests, and the cap costs no more time than it must. */
START_TEST(test_rate_cap) {
  int cap = rate_caps[_i];
  struct fake_clock fc = {1000, 0, {0}, 0};
  struct limiter l;
  limiter_init_rate(&l, (size_t)cap, 1.0);
  struct http_client *c = parallel_client(4, 1000, 1024);
  http_set_transport(c, fc_transport, &fc);
  http_set_clock(c, fc_now, fc_sleep, &fc);
  struct http_gate g = {gate_wait_fn, gate_note_fn, &l};
  http_set_gate(c, &g);
  struct batch b;
  size_t n =
      (size_t)(cap * 3 + 1) < BATCH_MAX ? (size_t)(cap * 3 + 1) : BATCH_MAX;
  batch_fill(&b, 1, "/r", n);
  batch_run(c, &b);
  ck_assert_uint_eq(b.reported, n);
  ck_assert_uint_eq(fc.n, n);
  for (size_t i = (size_t)cap; i < n; i++)
    ck_assert_msg(fc.starts[i] - fc.starts[i - (size_t)cap] >= 1.0 - 1e-9,
                  "cap %d: %d requests within %.3f s", cap, cap + 1,
                  fc.starts[i] - fc.starts[i - (size_t)cap]);
  /* n requests need (n - 1) / cap seconds (and their answers), no more */
  double spent = fc.starts[n - 1] - fc.starts[0];
  ck_assert_msg(spent <= (double)((n - 1) / (size_t)cap) + 0.001 * n + 1e-6,
                "cap %d: %zu requests took %.3f s", cap, n, spent);
  /* http_do passes the gate too */
  struct http_request req = {.method = "GET", .url = "http://127.0.0.1:1/"};
  struct http_response resp;
  http_response_init(&resp, 64);
  double before = fc.now;
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  if (fc.n > (size_t)cap) /* the cap was reached: a full window before it */
    ck_assert_double_ge(fc.starts[fc.n - 1] - fc.starts[fc.n - 1 - (size_t)cap],
                        1.0 - 1e-9);
  ck_assert_double_ge(fc.now, before);
  http_set_gate(c, NULL);
  before = fc.slept;
  ck_assert_int_eq(http_do(c, &req, &resp, NULL), 0);
  ck_assert_double_eq(fc.slept, before); /* no gate, no wait */
  http_response_fini(&resp);
  http_free(c);
  limiter_fini(&l);
}
END_TEST

/* Through libcurl's multi interface too: 12 requests under a cap of 5 per
 * second take two seconds at least, while four may be in flight. */
START_TEST(test_rate_cap_multi) {
  struct srv *s = srv_start_echo(0, 0);
  struct limiter l;
  limiter_init_rate(&l, 5, 1.0);
  struct http_client *c = parallel_client(4, 5000, 1024);
  struct http_gate g = {gate_wait_fn, gate_note_fn, &l};
  http_set_gate(c, &g);
  struct batch b;
  batch_fill(&b, s->port, "/m", 12);
  double ms = batch_run(c, &b);
  ck_assert_uint_eq(b.reported, 12);
  ck_assert_msg(ms >= 1990 && ms < 3500, "12 requests at 5/s took %.0f ms", ms);
  http_free(c);
  limiter_fini(&l);
  srv_stop(s);
}
END_TEST

/* ---- the suite ---- */

/* ---- TLS and proxy options (net) ---- */

/* A client with the TLS and proxy options t, for the <Runscope> block. */
static struct http_client *net_client(const struct cfg_tls_proxy *t) {
  struct http_opts o = {.timeout_ms = 5000,
                        .max_response_bytes = 4096,
                        .user_agent = "test-agent/1",
                        .max_parallel = 1,
                        .net = t,
                        .api = "Runscope",
                        .block = "<Runscope>"};
  struct http_client *c = http_new(&o);
  ck_assert_ptr_nonnull(c);
  return c;
}

static int get(struct http_client *c, const char *url, struct err *err) {
  struct http_request req = {.method = "GET", .url = url};
  struct http_response resp;
  http_response_init(&resp, 4096);
  int rc = http_do(c, &req, &resp, err);
  http_response_fini(&resp);
  return rc;
}

/* A proxy that answers 407: the request goes to the proxy with its
 * credentials, the error names ProxyUserFile, the problem is new once and
 * ends with the next complete answer; the password shows nowhere. */
START_TEST(test_proxy_407) {
  static const struct srv_reply r[] = {
      {SRV_REPLY, 407, "Proxy-Authenticate: Basic realm=\"p\"\r\n", "no", 0},
      {SRV_REPLY, 407, "Proxy-Authenticate: Basic realm=\"p\"\r\n", "no", 0},
      {SRV_REPLY, 200, NULL, "ok", 0}};
  struct srv *s = srv_start(r, 3);
  char proxy[128];
  url_for(proxy, sizeof(proxy), s->port, "");
  struct cfg_tls_proxy t;
  cfg_tls_proxy_init(&t);
  t.proxy_url = proxy;
  t.proxy_user = "bob";
  t.proxy_password = "PROXYSECRET";
  struct http_client *c = net_client(&t);
  struct err err = {{0}};
  bool fresh;
  ck_assert_int_eq(get(c, "http://api.example.invalid/v1?x=1", &err),
                   -ECONNREFUSED);
  ck_assert_ptr_nonnull(strstr(err.msg, "check ProxyUserFile"));
  struct srv_request got = srv_request(s, 0);
  ck_assert_int_eq(
      strncmp(got.head, "GET http://api.example.invalid/v1?x=1 HTTP/1.1", 45),
      0);
  /* base64("bob:PROXYSECRET") */
  ck_assert_ptr_nonnull(
      strstr(got.head, "Proxy-Authorization: Basic Ym9iOlBST1hZU0VDUkVU\r\n"));
  ck_assert_str_eq(http_problem(c, &fresh),
                   "Runscope http://api.example.invalid: the proxy answered "
                   "HTTP 407 (Proxy Authentication Required); check "
                   "ProxyUserFile (the proxy's user and password) in "
                   "<Runscope>");
  ck_assert(fresh);
  ck_assert_int_eq(get(c, "http://api.example.invalid/v1", &err),
                   -ECONNREFUSED);
  http_problem(c, &fresh);
  ck_assert(!fresh); /* the same problem again: logged once */
  ck_assert_ptr_null(strstr(err.msg, "PROXYSECRET"));
  ck_assert_int_eq(get(c, "http://api.example.invalid/v1", &err), 0);
  ck_assert_str_eq(http_problem(c, &fresh), "");
  http_free(c);
  srv_stop(s);
}
END_TEST

/* A secret of the client's own (the proxy's password, ClientKeyPass) that
 * libcurl's cause quotes right at the message's cut: scrubbed before the
 * cut, no part of it left. Row: the secret is a word of the cause, the
 * proxy's 407 (net_failed) or a refused connection (another failure). */
static const struct {
  bool proxy;
  const char *secret; /* a word of the cause, at least 4 bytes */
} cut_rows[] = {{true, "Authentication"}, {false, "Failed"}};

/* GETs path through c; the message in err. */
static int get_path(struct http_client *c, int port, size_t pad,
                    struct err *err) {
  char url[2 * ERR_MSG_MAX], path[ERR_MSG_MAX];
  memset(path, 'a', pad);
  path[pad] = '\0';
  snprintf(url, sizeof(url), "http://%s:%d/%s",
           port > 0 ? "127.0.0.1" : "api.example.invalid", port > 0 ? port : 80,
           path);
  return get(c, url, err);
}

START_TEST(test_net_secret_at_cut) {
  static const struct srv_reply r[] = {
      {SRV_REPLY, 407, "Proxy-Authenticate: Basic realm=\"p\"\r\n", "no", 0},
      {SRV_REPLY, 407, "Proxy-Authenticate: Basic realm=\"p\"\r\n", "no", 0}};
  const char *secret = cut_rows[_i / 2].secret;
  size_t visible = 4 + (size_t)(_i % 2); /* of its bytes before the cut */
  struct srv *s = NULL;
  int port = 0, fd = -1;
  char proxy[128];
  struct cfg_tls_proxy t;
  cfg_tls_proxy_init(&t);
  if (cut_rows[_i / 2].proxy) {
    s = srv_start(r, 2);
    url_for(proxy, sizeof(proxy), s->port, "");
    t.proxy_url = proxy;
    t.proxy_user = "bob";
    t.proxy_password = (char *)secret;
  } else {
    fd = bind_loopback(&port);
    t.client_key_pass = (char *)secret;
  }
  struct http_client *c = net_client(&t);
  struct err err = {{0}};
  /* where the cause quotes the secret with a short path */
  ck_assert_int_ne(get_path(c, port, 1, &err), 0);
  const char *at = strstr(err.msg, "REDACTED");
  ck_assert_msg(at != NULL, "%s", err.msg);
  size_t want = ERR_MSG_MAX - 4 - visible;
  ck_assert_uint_lt((size_t)(at - err.msg), want);
  /* a longer path moves it to the cut */
  ck_assert_int_ne(get_path(c, port, 1 + want - (size_t)(at - err.msg), &err),
                   0);
  char part[32];
  snprintf(part, visible + 1, "%s", secret);
  ck_assert_msg(strcmp(err.msg + ERR_MSG_MAX - 4, "...") == 0, "%s", err.msg);
  ck_assert_msg(strstr(err.msg, part) == NULL, "%s leaked at the cut: %s", part,
                err.msg + want - 8);
  ck_assert_msg(strncmp(err.msg + want, "REDACTED", visible) == 0, "%s",
                err.msg + want);
  http_free(c);
  if (s)
    srv_stop(s);
  if (fd >= 0)
    close(fd);
}
END_TEST

/* Without Proxy the environment's proxy is ignored (the request reaches
 * the server, not the dead proxy of http_proxy); with
 * ProxyFromEnvironment, and without net at all, it is used. */
START_TEST(test_environment_proxy_ignored) {
  static const struct srv_reply r[] = {{SRV_REPLY, 200, NULL, "hi", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/x");
  setenv("http_proxy", "http://127.0.0.1:1", 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  struct cfg_tls_proxy t;
  cfg_tls_proxy_init(&t);
  struct http_client *c = net_client(&t);
  struct err err = {{0}};
  ck_assert_msg(get(c, url, &err) == 0, "%s", err.msg);
  http_free(c);
  t.proxy_from_environment = true;
  c = net_client(&t);
  ck_assert_int_eq(get(c, url, &err), -ECONNREFUSED);
  http_free(c);
  c = client(5000, 4096);
  ck_assert_int_eq(get(c, url, &err), -ECONNREFUSED);
  http_free(c);
  unsetenv("http_proxy");
  srv_stop(s);
}
END_TEST

/* With Proxy, the environment's no_proxy does not bypass it (NoProxy
 * does). */
START_TEST(test_no_proxy_from_config_only) {
  static const struct srv_reply r[] = {{SRV_REPLY, 200, NULL, "hi", 0}};
  struct srv *s = srv_start(r, 1);
  char url[128];
  url_for(url, sizeof(url), s->port, "/x");
  setenv("no_proxy", "*", 1);
  struct cfg_tls_proxy t;
  cfg_tls_proxy_init(&t);
  t.proxy_url = "http://127.0.0.1:1";
  struct http_client *c = net_client(&t);
  struct err err = {{0}};
  ck_assert_int_eq(get(c, url, &err), -ECONNREFUSED); /* to the proxy */
  http_free(c);
  ck_assert_int_eq(cfg_list_add(&t.no_proxy, "example.com"), 0);
  ck_assert_int_eq(cfg_list_add(&t.no_proxy, "127.0.0.1"), 0);
  c = net_client(&t);
  ck_assert_msg(get(c, url, &err) == 0, "%s", err.msg);
  http_free(c);
  cfg_list_fini(&t.no_proxy);
  unsetenv("no_proxy");
  srv_stop(s);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("redact_url");
  tcase_add_loop_test(tc, test_redact, 0, N(redact_cases));
  tcase_add_loop_test(tc, test_redact_truncates, 0, 5);
  tcase_add_test(tc, test_redact_zero_size);
  suite_add_tcase(s, tc);
  tc = tcase_create("retry_after");
  tcase_add_loop_test(tc, test_retry_after, 0, N(retry_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("maybe_sent");
  tcase_add_loop_test(tc, test_maybe_sent, 0, N(sent_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("seam");
  tcase_add_test(tc, test_seam);
  tcase_add_test(tc, test_invalid_request);
  suite_add_tcase(s, tc);
  tc = tcase_create("answers");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, test_get_200);
  tcase_add_test(tc, test_empty_body);
  tcase_add_loop_test(tc, test_status_passthrough, 0, N(status_cases));
  tcase_add_test(tc, test_retry_after_not_kept);
  suite_add_tcase(s, tc);
  tc = tcase_create("cap");
  tcase_set_timeout(tc, 20);
  tcase_add_loop_test(tc, test_cap, 0, N(cap_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("transport_errors");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_refused);
  tcase_add_loop_test(tc, test_connection_broken, 0, N(broken_modes));
  suite_add_tcase(s, tc);
  tc = tcase_create("request_options");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, test_post_then_get);
  tcase_add_test(tc, test_keepalive);
  tcase_add_test(tc, test_once_fresh_connection);
  suite_add_tcase(s, tc);
  tc = tcase_create("no_secrets");
  tcase_set_timeout(tc, 20);
  tcase_add_loop_test(tc, test_no_secret_in_err, 0, N(secret_replies));
  tcase_add_test(tc, test_cause_scrubbed);
  suite_add_tcase(s, tc);
  tc = tcase_create("batches");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_batch_parallel);
  tcase_add_test(tc, test_batch_serial);
  tcase_add_test(tc, test_batch_errors);
  tcase_add_test(tc, test_batch_stop_and_follow);
  tcase_add_test(tc, test_batch_seam);
  suite_add_tcase(s, tc);
  tc = tcase_create("rate_cap");
  tcase_set_timeout(tc, 30);
  tcase_add_loop_test(tc, test_rate_cap, 0, N(rate_caps));
  tcase_add_test(tc, test_rate_cap_multi);
  suite_add_tcase(s, tc);
  tc = tcase_create("protocols");
  tcase_add_loop_test(tc, test_other_protocols, 0, N(other_schemes));
  suite_add_tcase(s, tc);
  tc = tcase_create("net");
  tcase_add_test(tc, test_proxy_407);
  tcase_add_loop_test(tc, test_net_secret_at_cut, 0, 2 * N(cut_rows));
  tcase_add_test(tc, test_environment_proxy_ignored);
  tcase_add_test(tc, test_no_proxy_from_config_only);
  suite_add_tcase(s, tc);
  return s;
}
