/* SPDX-License-Identifier: MIT */
/* A bounded HTTP client on libcurl's easy interface, with a transport seam. */
#define _GNU_SOURCE /* strptime, timegm, memrchr, strncasecmp */

#include "transport/http.h"
#include "transport/net.h"
#include "util/clock.h"
#include "util/str.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The longest header line we build ("Authorization: Bearer ..."). */
#define HEADER_MAX 8192

/* An answer's cap when the client sets none (http_run's own buffers). */
#define BODY_DEFAULT_MAX (64u << 20)

/* libcurl's receive buffer (CURLOPT_BUFFERSIZE). */
#define RECV_BUFFER_SIZE 65536L

/* The longest wait in curl_multi_poll: transfers are checked this often. */
#define POLL_MAX_MS 1000

/* What the callbacks of one transfer share. */
struct xfer {
  struct http_response *resp;
  size_t cap;   /* the most body bytes accepted */
  int write_rc; /* why the write callback aborted, or 0 */
};

/* One transfer handle and the request it carries. */
struct slot {
  CURL *easy; /* created on first use, then reused */
  bool busy;
  struct http_request req; /* borrowed pointers, valid until done */
  struct http_response *resp;
  void *tag;
  struct xfer x;
  struct curl_slist *headers;
  char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
  CURLM *multi; /* owns the connection cache: keep-alive across requests */
  struct slot *slots;
  size_t n_slots;              /* max_parallel */
  long timeout_ms;             /* whole request */
  size_t max_response;         /* 0: only the response's own cap applies */
  char *user_agent;            /* owned */
  http_transport_fn transport; /* NULL: libcurl */
  void *transport_ctx;
  struct http_gate gate; /* wait == NULL: none */
  http_clock_fn now;
  http_sleep_fn sleep;
  void *clock_ctx;
  struct http_stats stats;
  /* http_run's answers, one per slot (capped at max_response) */
  struct http_response *answers;
  const struct cfg_tls_proxy *net; /* borrowed; NULL: libcurl's defaults */
  const char *api, *block;         /* borrowed names for http_problem */
  char *no_proxy;                  /* owned: NoProxy joined */
  char problem[ERR_MSG_MAX];       /* see http_problem */
  bool problem_new;
};

/* Sets one libcurl option unless an earlier one failed; keeps the first
 * error. A macro so that libcurl's compile-time type checks still apply. */
#define SETOPT(h, opt, val, e)                                                 \
  do {                                                                         \
    if (*(e) == CURLE_OK)                                                      \
      *(e) = curl_easy_setopt((h), (opt), (val));                              \
  } while (0)

/* ---- responses ---- */

void http_response_init(struct http_response *r, size_t max) {
  r->status = 0;
  buf_init(&r->body, max);
  r->retry_after = -1;
}

void http_response_fini(struct http_response *r) { buf_fini(&r->body); }

/* Empties r for a new answer, keeping its memory and cap. */
static void response_reset(struct http_response *r) {
  r->status = 0;
  buf_reset(&r->body);
  r->retry_after = -1;
}

/* ---- bounded output for URL redaction and messages ---- */

struct out {
  char *p;
  size_t size; /* > 0 */
  size_t len;
};

/* Appends n bytes of s, dropping what does not fit; keeps the NUL. */
static void out_put(struct out *o, const char *s, size_t n) {
  size_t room = o->size - 1 - o->len;
  if (n > room)
    n = room;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void out_puts(struct out *o, const char *s) { out_put(o, s, strlen(s)); }

/* ---- URL redaction ---- */

/* True when a query parameter of this name carries a credential. */
static bool is_secret_param(const char *name, size_t n) {
  static const char *const secrets[] = {"apikey",       "api_key",  "token",
                                        "access_token", "password", "secret"};
  for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
    if (strlen(secrets[i]) == n && strncasecmp(name, secrets[i], n) == 0)
      return true;
  return false;
}

/* Copies scheme://[userinfo@]authority, dropping the userinfo. Returns where
 * the path starts (url itself when there is no scheme). */
static const char *redact_authority(const char *url, struct out *o) {
  const char *sep = strstr(url, "://");
  if (sep == NULL || (size_t)(sep - url) >= strcspn(url, "/?#"))
    return url;
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = memrchr(auth, '@', alen);
  out_put(o, url, (size_t)(auth - url));
  if (at != NULL) {
    alen -= (size_t)(at + 1 - auth);
    auth = at + 1;
  }
  out_put(o, auth, alen);
  return auth + alen;
}

void http_redact_url(const char *url, char *out, size_t size) {
  if (size == 0)
    return;
  struct out o = {out, size, 0};
  out[0] = '\0';
  const char *p = redact_authority(url, &o);
  size_t n = strcspn(p, "?#");
  out_put(&o, p, n);
  for (p += n; *p != '\0'; p += n) {
    out_put(&o, p++, 1); /* the '?', '&' or '#' before a parameter */
    n = strcspn(p, "&#");
    const char *eq = memchr(p, '=', n);
    if (eq != NULL && is_secret_param(p, (size_t)(eq - p))) {
      out_put(&o, p, (size_t)(eq + 1 - p));
      out_puts(&o, "REDACTED");
    } else {
      out_put(&o, p, n);
    }
  }
}

/* ---- Retry-After ---- */

/* Parses 1*DIGIT, the whole of s. Returns the value or -1. */
static double parse_delta(const char *s) {
  if (*s == '\0')
    return -1;
  double v = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* Parses an HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime
 * forms a recipient must accept, RFC 9110 5.6.7), the whole of s. Returns
 * Unix seconds or -1. */
static double parse_http_date(const char *s) {
  static const char *const formats[] = {
      "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
      "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
      "%a %b %e %H:%M:%S %Y",      /* Sun Nov  6 08:49:37 1994 */
  };
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, formats[i], &tm);
    if (end != NULL && *end == '\0')
      return (double)timegm(&tm);
  }
  return -1;
}

double http_parse_retry_after(const char *value, double now) {
  char v[128];
  while (isspace((unsigned char)*value))
    value++;
  if (str_copy(v, sizeof(v), value) != 0)
    return -1;
  size_t n = strlen(v);
  while (n > 0 && isspace((unsigned char)v[n - 1]))
    v[--n] = '\0';
  if (n == 0)
    return -1;
  if (isdigit((unsigned char)v[0]))
    return parse_delta(v);
  double when = parse_http_date(v);
  if (when < 0)
    return -1;
  return when > now ? when - now : 0;
}

/* ---- the client ---- */

static double monotonic(void *ctx) {
  (void)ctx;
  return clock_monotonic();
}

static void nap(void *ctx, double seconds) {
  (void)ctx;
  if (!(seconds > 0))
    return;
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

struct http_client *http_new(const struct http_opts *opts) {
  struct http_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->timeout_ms = opts->timeout_ms;
  c->max_response = opts->max_response_bytes;
  c->n_slots = opts->max_parallel ? opts->max_parallel : 1;
  c->user_agent = strdup(opts->user_agent ? opts->user_agent : "");
  c->slots = calloc(c->n_slots, sizeof(*c->slots));
  c->answers = calloc(c->n_slots, sizeof(*c->answers));
  c->multi = curl_multi_init();
  c->net = opts->net;
  c->api = opts->api ? opts->api : "HTTP";
  c->block = opts->block ? opts->block : "the API's block";
  int join = c->net ? net_join_no_proxy(&c->net->no_proxy, &c->no_proxy) : 0;
  if (c->user_agent == NULL || c->slots == NULL || c->answers == NULL ||
      c->multi == NULL || join != 0) {
    http_free(c);
    return NULL;
  }
  size_t cap = c->max_response ? c->max_response : BODY_DEFAULT_MAX;
  for (size_t i = 0; i < c->n_slots; i++)
    http_response_init(&c->answers[i], cap);
  /* No more connections kept than transfers run at a time. */
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->n_slots);
  http_set_transport(c, NULL, NULL);
  http_set_clock(c, NULL, NULL, NULL);
  return c;
}

void http_free(struct http_client *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; c->slots != NULL && i < c->n_slots; i++)
    if (c->slots[i].easy != NULL)
      curl_easy_cleanup(c->slots[i].easy);
  for (size_t i = 0; c->answers != NULL && i < c->n_slots; i++)
    http_response_fini(&c->answers[i]);
  if (c->multi != NULL)
    curl_multi_cleanup(c->multi);
  free(c->slots);
  free(c->answers);
  free(c->user_agent);
  free(c->no_proxy);
  free(c);
}

const char *http_problem(struct http_client *c, bool *ret_new) {
  *ret_new = c->problem_new;
  c->problem_new = false;
  return c->problem;
}

const struct http_stats *http_stats(const struct http_client *c) {
  return &c->stats;
}

void http_set_gate(struct http_client *c, const struct http_gate *gate) {
  if (gate != NULL)
    c->gate = *gate;
  else
    memset(&c->gate, 0, sizeof(c->gate));
}

void http_set_clock(struct http_client *c, http_clock_fn now,
                    http_sleep_fn sleep, void *ctx) {
  c->now = now ? now : monotonic;
  c->sleep = now ? sleep : nap;
  c->clock_ctx = now ? ctx : NULL;
}

double http_now(const struct http_client *c) { return c->now(c->clock_ctx); }

int http_status_errno(long status) {
  if (status == 401 || status == 403)
    return -EACCES;
  if (status == 404)
    return -ENOENT;
  if (status == 429 || (status >= 500 && status <= 599))
    return -EAGAIN;
  if (status >= 400 && status <= 499)
    return -EINVAL;
  return -EPROTO;
}

bool http_maybe_sent(int rc) {
  switch (rc) {
  case 0:             /* an answer was read */
  case -ECONNREFUSED: /* never sent */
  case -ENOMEM:
  case -EINVAL: /* refused before sending */
    return false;
  default: /* -ETIMEDOUT, -ECONNRESET, -EIO, -EMSGSIZE (an answer came) */
    return true;
  }
}

/* ---- libcurl callbacks ---- */

/* Appends body bytes; aborts the transfer (by returning less than n) when
 * the cap would be passed or memory runs out, saying why in write_rc. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  struct xfer *x = ud;
  size_t n = size * nmemb;
  if (n > x->cap - x->resp->body.len) {
    x->write_rc = -EMSGSIZE;
    return 0;
  }
  int rc = buf_append(&x->resp->body, data, n);
  if (rc != 0) {
    x->write_rc = rc;
    return 0;
  }
  return n;
}

/* Reads Retry-After from the answer's header lines (data is not
 * NUL-terminated). A status line starts a new answer (after a 1xx). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  static const char name[] = "retry-after:";
  const size_t name_len = sizeof(name) - 1;
  struct xfer *x = ud;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    x->resp->retry_after = -1;
  } else if (n > name_len && strncasecmp(data, name, name_len) == 0) {
    char value[128];
    size_t len = n - name_len;
    if (len < sizeof(value)) {
      memcpy(value, data + name_len, len);
      value[len] = '\0';
      x->resp->retry_after = http_parse_retry_after(value, (double)time(NULL));
    }
  }
  return n;
}

/* ---- one libcurl request ---- */

/* The options every request gets; the handle was just reset. */
static CURLcode set_fixed_opts(struct http_client *c, struct slot *sl) {
  CURLcode e = CURLE_OK;
  CURL *h = sl->easy;
  struct xfer *x = &sl->x;
  sl->errbuf[0] = '\0';
  SETOPT(h, CURLOPT_ERRORBUFFER, sl->errbuf, &e);
  SETOPT(h, CURLOPT_NOSIGNAL, 1L, &e);
  SETOPT(h, CURLOPT_TIMEOUT_MS, c->timeout_ms, &e);
  SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms, &e);
  SETOPT(h, CURLOPT_USERAGENT, c->user_agent, &e);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https", &e);
#else
  SETOPT(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS), &e);
#endif
  /* A redirect from the API is an answer to report, not to follow. */
  SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L, &e);
  SETOPT(h, CURLOPT_WRITEFUNCTION, on_body, &e);
  SETOPT(h, CURLOPT_WRITEDATA, x, &e);
  SETOPT(h, CURLOPT_HEADERFUNCTION, on_header, &e);
  SETOPT(h, CURLOPT_HEADERDATA, x, &e);
  /* A tests list page (50 items, about 54 KB) in one read instead of
   * four of the default 16 KiB, each after a poll of its own. */
  SETOPT(h, CURLOPT_BUFFERSIZE, RECV_BUFFER_SIZE, &e);
  if (e == CURLE_OK && c->net != NULL)
    e = net_set_opts(h, c->net, c->no_proxy);
  return e;
}

/* Sets the method and the body. */
static CURLcode set_method(CURL *h, const struct http_request *req) {
  CURLcode e = CURLE_OK;
  bool has_body = req->body != NULL || strcmp(req->method, "POST") == 0;
  if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
    SETOPT(h, CURLOPT_HTTPGET, 1L, &e);
    return e;
  }
  if (strcmp(req->method, "HEAD") == 0)
    SETOPT(h, CURLOPT_NOBODY, 1L, &e);
  if (has_body) {
    SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
           (curl_off_t)(req->body ? req->body_len : 0), &e);
    SETOPT(h, CURLOPT_POSTFIELDS, req->body ? req->body : "", &e);
  }
  if (strcmp(req->method, "POST") != 0)
    SETOPT(h, CURLOPT_CUSTOMREQUEST, req->method, &e);
  return e;
}

/* Appends "prefix value" to *list. Returns 0 or -ENOMEM. */
static int add_header(struct curl_slist **list, const char *prefix,
                      const char *value) {
  struct buf line;
  buf_init(&line, HEADER_MAX);
  int rc = buf_printf(&line, "%s%s", prefix, value);
  if (rc == 0) {
    struct curl_slist *l = curl_slist_append(*list, line.data);
    if (l == NULL)
      rc = -ENOMEM;
    else
      *list = l;
  }
  buf_fini_wipe(&line); /* an Authorization header's credential */
  return rc == -EMSGSIZE ? -EINVAL : rc;
}

/* Frees the header lines of list, wiped first: the Authorization lines
 * hold a token. */
static void free_headers(struct curl_slist *list) {
  for (struct curl_slist *l = list; l != NULL; l = l->next)
    str_wipe(l->data);
  curl_slist_free_all(list);
}

/* Builds the request's header lines into *list (the caller frees it with
 * free_headers, also after an error). Returns 0, -EINVAL or -ENOMEM. */
static int build_headers(const struct http_request *req,
                         struct curl_slist **list) {
  /* curl would otherwise wait for "100 Continue" before a large body. */
  int rc = add_header(list, "Expect:", "");
  if (rc == 0 && req->body != NULL && req->content_type != NULL)
    rc = add_header(list, "Content-Type: ", req->content_type);
  if (rc == 0 && req->bearer != NULL)
    rc = add_header(list, "Authorization: Bearer ", req->bearer);
  if (rc == 0 && req->authorization != NULL)
    rc = add_header(list, "Authorization: ", req->authorization);
  return rc;
}

/* Sets the per-request options: URL, method, body, headers and auth. */
static CURLcode set_request_opts(CURL *h, const struct http_request *req,
                                 struct curl_slist *headers) {
  CURLcode e = set_method(h, req);
  if (req->once)
    SETOPT(h, CURLOPT_FRESH_CONNECT, 1L, &e);
  SETOPT(h, CURLOPT_URL, req->url, &e);
  SETOPT(h, CURLOPT_HTTPHEADER, headers, &e);
  if (req->user != NULL) {
    SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC, &e);
    SETOPT(h, CURLOPT_USERNAME, req->user, &e);
    SETOPT(h, CURLOPT_PASSWORD, req->password ? req->password : "", &e);
  }
  return e;
}

/* Maps a libcurl result to the errnos of http_transport_fn. */
static int map_curl_error(CURLcode e, int write_rc) {
  switch (e) {
  case CURLE_OK:
    return 0;
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return -ECONNREFUSED;
  case CURLE_OPERATION_TIMEDOUT:
    return -ETIMEDOUT;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return -ECONNRESET;
  case CURLE_WRITE_ERROR:
    return write_rc != 0 ? write_rc : -EIO;
  case CURLE_OUT_OF_MEMORY:
    return -ENOMEM;
  default:
    return -EIO;
  }
}

/* Sets err to "<METHOD> <redacted url>: <cause>". The URL loses its
 * credentials, and the request's password and token, and net's
 * ClientKeyPass and proxy password (net may be NULL), are scrubbed from the
 * whole message in case libcurl's cause quotes them, before it is cut to
 * its size. */
static void describe(struct err *err, const struct cfg_tls_proxy *net,
                     const struct http_request *req, const char *cause) {
  char url[2 * ERR_MSG_MAX];
  char raw[4 * ERR_MSG_MAX]; /* holds the parts whole: nothing cut yet */
  http_redact_url(req->url, url, sizeof(url));
  snprintf(raw, sizeof(raw), "%s %s: %s", req->method, url, cause);
  const char *secrets[] = {req->password, req->bearer, req->authorization,
                           net ? net->client_key_pass : NULL,
                           net ? net->proxy_password : NULL};
  err_set_scrubbed(err, raw, secrets, sizeof(secrets) / sizeof(secrets[0]));
}

/* describe for a request that has not reached libcurl's network code. */
static void set_error(struct err *err, const struct http_request *req,
                      const char *cause) {
  describe(err, NULL, req, cause);
}

/* Describes a failed transfer of client c in err. */
static void report_curl_error(const struct http_client *c,
                              const struct slot *sl, CURLcode e,
                              struct err *err) {
  char cause[128];
  const struct http_request *req = &sl->req;
  if (e == CURLE_WRITE_ERROR && sl->x.write_rc == -EMSGSIZE) {
    snprintf(cause, sizeof(cause), "answer larger than %zu bytes", sl->x.cap);
    describe(err, c->net, req, cause);
  } else if (e == CURLE_WRITE_ERROR && sl->x.write_rc == -ENOMEM) {
    describe(err, c->net, req, "out of memory for the answer");
  } else {
    describe(err, c->net, req,
             sl->errbuf[0] != '\0' ? sl->errbuf : curl_easy_strerror(e));
  }
}

/* Records line as the client's problem; new when it changed. */
static void note_problem(struct http_client *c, const char *line) {
  if (strcmp(line, c->problem) == 0)
    return;
  str_copy(c->problem, sizeof(c->problem), line);
  c->problem_new = true;
}

/* A transfer failed because of TLS or the proxy (see http_problem): err
 * and the client's problem say what to check. Returns -ECONNREFUSED. */
static int net_failed(struct http_client *c, const struct slot *sl, CURLcode e,
                      const char *hint, struct err *err) {
  char cause[ERR_MSG_MAX];
  char origin[256];
  const char *what = e == CURLE_OK
                         ? "the proxy answered HTTP 407 (Proxy Authentication "
                           "Required)"
                     : sl->errbuf[0] != '\0' ? sl->errbuf
                                             : curl_easy_strerror(e);
  snprintf(cause, sizeof(cause), "%s; check %s in %s", what, hint, c->block);
  describe(err, c->net, &sl->req, cause);
  net_origin(sl->req.url, origin, sizeof(origin));
  char text[2 * ERR_MSG_MAX];
  snprintf(text, sizeof(text), "%s %s: %s", c->api, origin, cause);
  const char *secrets[] = {c->net->client_key_pass, c->net->proxy_password,
                           sl->req.password, sl->req.bearer,
                           sl->req.authorization};
  struct err line = {{0}};
  err_set_scrubbed(&line, text, secrets, sizeof(secrets) / sizeof(secrets[0]));
  note_problem(c, line.msg);
  return -ECONNREFUSED;
}

/* The result of a finished transfer: 0 for a complete answer (which ends
 * the client's problem), else an errno with err set. */
static int transfer_result(struct http_client *c, const struct slot *sl,
                           CURLcode e, struct err *err) {
  const char *hint =
      c->net ? net_hint(c->net, sl->easy, e, sl->resp->status, sl->errbuf)
             : NULL;
  if (hint != NULL)
    return net_failed(c, sl, e, hint, err);
  int rc = map_curl_error(e, sl->x.write_rc);
  if (rc == 0) {
    c->problem[0] = '\0';
    return 0;
  }
  report_curl_error(c, sl, e, err);
  return rc;
}

/* The most body bytes resp may take: its own cap and the client's. */
static size_t body_cap(const struct http_client *c,
                       const struct http_response *resp) {
  size_t cap = resp->body.max;
  if (c->max_response > 0 && c->max_response < cap)
    cap = c->max_response;
  return cap;
}

void http_set_transport(struct http_client *c, http_transport_fn fn,
                        void *ctx) {
  c->transport = fn;
  c->transport_ctx = ctx;
}

/* Rejects a request libcurl cannot send as asked. Returns 0 or -EINVAL. */
static int check_request(const struct http_request *req, struct err *err) {
  if (req->method == NULL || req->url == NULL || req->method[0] == '\0') {
    err_set(err, "HTTP request without a method or URL");
    return -EINVAL;
  }
  const char *fields[] = {req->method, req->content_type, req->bearer,
                          req->authorization};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (fields[i] != NULL && strpbrk(fields[i], "\r\n") != NULL) {
      set_error(err, req, "line break in the method or a header");
      return -EINVAL;
    }
  }
  return 0;
}

/* Counts the outcome of one request. */
static void count(struct http_stats *s, int rc, long status) {
  if (rc != 0)
    s->errors++;
  else if (status == 429)
    s->rate_limited++;
  else if (status >= 500 && status <= 599)
    s->server_errors++;
}

/* ---- running requests ---- */

/* Where the requests of one run come from and where they end. resp picks
 * the answer buffer of a request (NULL: the slot's own). */
struct source {
  const struct http_batch *b;
  struct http_response *resp; /* http_do's caller's answer, or NULL */
};

/* Seconds the gate makes the next request wait (0: it may start). */
static double gate_wait(const struct http_client *c) {
  if (c->gate.wait == NULL)
    return 0;
  double w = c->gate.wait(c->gate.ctx, http_now(c));
  return w > 0 ? w : 0;
}

static void gate_note(struct http_client *c) {
  if (c->gate.note != NULL)
    c->gate.note(c->gate.ctx, http_now(c));
}

/* A request ended: makes the body a C string, counts it and reports it.
 * Returns what done returned. */
static bool finish(struct http_client *c, const struct source *src,
                   const struct http_request *req, void *tag, int rc,
                   struct http_response *resp, struct err *err) {
  /* An answer's body is always a C string, even when empty. */
  if (rc == 0 && buf_append(&resp->body, "", 0) != 0) {
    set_error(err, req, "out of memory");
    rc = -ENOMEM;
  }
  count(&c->stats, rc, resp->status);
  return src->b->done(src->b->ctx, tag, rc, resp, err);
}

/* The transport seam: one request after the other. */
static int run_seam(struct http_client *c, const struct source *src) {
  struct http_request req;
  void *tag;
  for (;;) {
    double wait = gate_wait(c);
    if (wait > 0) {
      c->sleep(c->clock_ctx, wait);
      continue;
    }
    memset(&req, 0, sizeof(req));
    if (!src->b->next(src->b->ctx, &req, &tag))
      return 0;
    struct http_response *resp = src->resp ? src->resp : &c->answers[0];
    struct err err = {{0}};
    response_reset(resp);
    c->stats.requests++;
    gate_note(c);
    int rc = check_request(&req, &err);
    if (rc == 0)
      rc = c->transport(c->transport_ctx, &req, resp, &err);
    if (!finish(c, src, &req, tag, rc, resp, &err))
      return 0;
  }
}

/* Sets up slot sl for its request and adds it to the multi handle. Returns
 * 0, or the request's errno (it then ends at once, err set). */
static int slot_start(struct http_client *c, struct slot *sl, struct err *err) {
  int rc = check_request(&sl->req, err);
  if (rc != 0)
    return rc;
  sl->x = (struct xfer){sl->resp, body_cap(c, sl->resp), 0};
  rc = build_headers(&sl->req, &sl->headers);
  if (rc != 0) {
    set_error(err, &sl->req,
              rc == -ENOMEM ? "out of memory" : "header too long");
    return rc;
  }
  if (sl->easy == NULL && (sl->easy = curl_easy_init()) == NULL) {
    set_error(err, &sl->req, "out of memory");
    return -ENOMEM;
  }
  CURLcode e = set_fixed_opts(c, sl);
  if (e == CURLE_OK)
    e = set_request_opts(sl->easy, &sl->req, sl->headers);
  if (e == CURLE_OK && curl_multi_add_handle(c->multi, sl->easy) != CURLM_OK)
    e = CURLE_OUT_OF_MEMORY;
  if (e != CURLE_OK) {
    set_error(err, &sl->req, curl_easy_strerror(e));
    return map_curl_error(e, 0);
  }
  return 0;
}

/* Drops the borrowed body, headers and credentials of a finished transfer;
 * the connection stays in the multi handle's cache. */
static void slot_clear(struct slot *sl) {
  curl_easy_reset(sl->easy);
  free_headers(sl->headers);
  sl->headers = NULL;
  sl->busy = false;
}

/* Hands a free slot the next request and starts it. Returns 1 when one was
 * taken (started, or ended at once), 0 when the source had none. *stop is
 * set when done asked to stop. */
static int start_next(struct http_client *c, const struct source *src,
                      struct slot *sl, size_t idx, bool *stop) {
  memset(&sl->req, 0, sizeof(sl->req));
  if (!src->b->next(src->b->ctx, &sl->req, &sl->tag))
    return 0;
  sl->resp = src->resp ? src->resp : &c->answers[idx];
  response_reset(sl->resp);
  c->stats.requests++;
  gate_note(c);
  struct err err = {{0}};
  int rc = slot_start(c, sl, &err);
  if (rc == 0) {
    sl->busy = true;
    return 1;
  }
  if (sl->easy != NULL)
    curl_easy_reset(sl->easy);
  free_headers(sl->headers);
  sl->headers = NULL;
  if (!finish(c, src, &sl->req, sl->tag, rc, sl->resp, &err))
    *stop = true;
  return 1;
}

/* Reports the transfers libcurl finished. Returns how many ended. */
static size_t reap(struct http_client *c, const struct source *src,
                   bool *stop) {
  CURLMsg *m;
  int left;
  size_t ended = 0;
  while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    struct slot *sl = NULL;
    for (size_t i = 0; i < c->n_slots && sl == NULL; i++)
      if (c->slots[i].busy && c->slots[i].easy == m->easy_handle)
        sl = &c->slots[i];
    CURLcode e = m->data.result;
    curl_multi_remove_handle(c->multi, m->easy_handle);
    if (sl == NULL)
      continue;
    long status = 0;
    if (curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status) ==
        CURLE_OK)
      sl->resp->status = status;
    struct err err = {{0}};
    int rc = transfer_result(c, sl, e, &err);
    slot_clear(sl);
    ended++;
    if (!finish(c, src, &sl->req, sl->tag, rc, sl->resp, &err))
      *stop = true;
  }
  return ended;
}

/* Starts requests in the free slots while the gate lets them. Returns the
 * number of transfers in flight; *wait_ms is how long the gate holds the
 * next one (0: not held). */
static size_t fill(struct http_client *c, const struct source *src, bool *stop,
                   bool *drained, long *wait_ms) {
  size_t busy = 0;
  *wait_ms = 0;
  for (size_t i = 0; i < c->n_slots; i++) {
    struct slot *sl = &c->slots[i];
    while (!sl->busy && !*stop && !*drained) {
      double wait = gate_wait(c);
      if (wait > 0) {
        *wait_ms = (long)(wait * 1000) + 1;
        break;
      }
      if (start_next(c, src, sl, i, stop) == 0)
        *drained = true;
    }
    busy += sl->busy;
  }
  return busy;
}

/* libcurl's multi interface (curl's multi-app pattern): start what may
 * start, perform, reap, poll. */
static int run_multi(struct http_client *c, const struct source *src) {
  bool stop = false;
  for (;;) {
    bool drained = false;
    long wait_ms;
    size_t busy = fill(c, src, &stop, &drained, &wait_ms);
    if (busy == 0) {
      if (stop || wait_ms == 0)
        return 0; /* nothing in flight, nothing to start */
      c->sleep(c->clock_ctx, (double)wait_ms / 1000);
      continue;
    }
    int running = 0;
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
      running = 0;
    if (reap(c, src, &stop) > 0)
      continue;
    long ms = POLL_MAX_MS;
    if (wait_ms > 0 && wait_ms < ms)
      ms = wait_ms;
    if (curl_multi_poll(c->multi, NULL, 0, (int)ms, NULL) != CURLM_OK)
      c->sleep(c->clock_ctx, 0.01);
  }
}

static int run(struct http_client *c, const struct source *src) {
  return c->transport != NULL ? run_seam(c, src) : run_multi(c, src);
}

int http_run(struct http_client *c, const struct http_batch *b) {
  struct source src = {b, NULL};
  int rc = run(c, &src);
  /* The answers were handed to the batch's callbacks: their buffers (a
   * tests list page's 64 KiB each) are not kept until the next batch. */
  for (size_t i = 0; i < c->n_slots; i++)
    buf_fini(&c->answers[i].body);
  return rc;
}

/* http_do's batch of one. */
struct one {
  const struct http_request *req;
  bool handed;
  int rc;
  struct err *err;
};

static bool one_next(void *ctx, struct http_request *req, void **ret_tag) {
  struct one *o = ctx;
  if (o->handed)
    return false;
  o->handed = true;
  *req = *o->req;
  *ret_tag = o;
  return true;
}

static bool one_done(void *ctx, void *tag, int rc,
                     const struct http_response *resp, const struct err *err) {
  struct one *o = ctx;
  (void)tag;
  (void)resp;
  o->rc = rc;
  if (rc != 0 && o->err != NULL)
    *o->err = *err;
  return true;
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct err *err) {
  struct one o = {req, false, -EIO, err};
  struct http_batch b = {one_next, one_done, &o};
  struct source src = {&b, resp};
  response_reset(resp);
  run(c, &src);
  return o.rc;
}
