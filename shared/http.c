/* A bounded HTTP client on libcurl's easy interface, with a transport seam. */
#define _GNU_SOURCE /* strptime, timegm, memrchr, strncasecmp */

#include "http.h"

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

struct http_client {
  CURL *curl;          /* one handle, reused for keep-alive */
  long timeout_ms;     /* whole request */
  size_t max_response; /* 0: only the response's own cap applies */
  char *user_agent;    /* owned */
  http_transport_fn transport;
  void *transport_ctx;
  struct http_stats stats;
  char errbuf[CURL_ERROR_SIZE];
};

/* What the callbacks of one transfer share. */
struct xfer {
  struct http_response *resp;
  size_t cap;   /* the most body bytes accepted */
  int write_rc; /* why the write callback aborted, or 0 */
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

struct http_client *http_new(const struct http_opts *opts) {
  struct http_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->timeout_ms = opts->timeout_ms;
  c->max_response = opts->max_response_bytes;
  c->user_agent = strdup(opts->user_agent ? opts->user_agent : "");
  c->curl = curl_easy_init();
  if (c->user_agent == NULL || c->curl == NULL) {
    http_free(c);
    return NULL;
  }
  http_set_transport(c, NULL, NULL);
  return c;
}

void http_free(struct http_client *c) {
  if (c == NULL)
    return;
  if (c->curl != NULL)
    curl_easy_cleanup(c->curl);
  free(c->user_agent);
  free(c);
}

const struct http_stats *http_stats(const struct http_client *c) {
  return &c->stats;
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
static CURLcode set_fixed_opts(struct http_client *c, struct xfer *x) {
  CURLcode e = CURLE_OK;
  CURL *h = c->curl;
  c->errbuf[0] = '\0';
  SETOPT(h, CURLOPT_ERRORBUFFER, c->errbuf, &e);
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
  buf_fini(&line);
  return rc == -EMSGSIZE ? -EINVAL : rc;
}

/* Builds the request's header lines into *list (the caller frees it with
 * curl_slist_free_all, also after an error). Returns 0, -EINVAL or -ENOMEM. */
static int build_headers(const struct http_request *req,
                         struct curl_slist **list) {
  /* curl would otherwise wait for "100 Continue" before a large body. */
  int rc = add_header(list, "Expect:", "");
  if (rc == 0 && req->body != NULL && req->content_type != NULL)
    rc = add_header(list, "Content-Type: ", req->content_type);
  if (rc == 0 && req->bearer != NULL)
    rc = add_header(list, "Authorization: Bearer ", req->bearer);
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

/* Shorter secrets are not scrubbed: they would mangle ordinary words of the
 * message ("p" in "port") and protect little. */
#define SCRUB_MIN 4

/* Copies msg into o with every occurrence of secret (if any) replaced. */
static void put_scrubbed(struct out *o, const char *msg, const char *secret) {
  size_t n = secret ? strlen(secret) : 0;
  const char *hit;
  while (n >= SCRUB_MIN && (hit = strstr(msg, secret)) != NULL) {
    out_put(o, msg, (size_t)(hit - msg));
    out_puts(o, "REDACTED");
    msg = hit + n;
  }
  out_puts(o, msg);
}

/* Sets err to "<METHOD> <redacted url>: <cause>". The URL loses its
 * credentials, and the request's password and token are scrubbed from the
 * whole message in case libcurl's cause quotes them. */
static void set_error(struct err *err, const struct http_request *req,
                      const char *cause) {
  char url[ERR_MSG_MAX];
  char raw[2 * ERR_MSG_MAX]; /* longer than err: err_set marks the cut */
  char pass1[2 * ERR_MSG_MAX];
  char pass2[2 * ERR_MSG_MAX];
  struct out o1 = {pass1, sizeof(pass1), 0};
  struct out o2 = {pass2, sizeof(pass2), 0};
  http_redact_url(req->url, url, sizeof(url));
  snprintf(raw, sizeof(raw), "%s %s: %s", req->method, url, cause);
  pass1[0] = pass2[0] = '\0';
  put_scrubbed(&o1, raw, req->password);
  put_scrubbed(&o2, pass1, req->bearer);
  err_set(err, "%s", pass2);
}

/* Describes a failed transfer in err. */
static void report_curl_error(struct http_client *c,
                              const struct http_request *req, CURLcode e,
                              const struct xfer *x, struct err *err) {
  char cause[128];
  if (e == CURLE_WRITE_ERROR && x->write_rc == -EMSGSIZE) {
    snprintf(cause, sizeof(cause), "answer larger than %zu bytes", x->cap);
    set_error(err, req, cause);
  } else if (e == CURLE_WRITE_ERROR && x->write_rc == -ENOMEM) {
    set_error(err, req, "out of memory for the answer");
  } else {
    set_error(err, req,
              c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(e));
  }
}

/* The most body bytes resp may take: its own cap and the client's. */
static size_t body_cap(const struct http_client *c,
                       const struct http_response *resp) {
  size_t cap = resp->body.max;
  if (c->max_response > 0 && c->max_response < cap)
    cap = c->max_response;
  return cap;
}

/* The libcurl transport (ctx is the client). */
static int curl_transport(void *ctx, const struct http_request *req,
                          struct http_response *resp, struct err *err) {
  struct http_client *c = ctx;
  struct xfer x = {resp, body_cap(c, resp), 0};
  struct curl_slist *headers = NULL;
  int rc = build_headers(req, &headers);
  if (rc != 0) {
    set_error(err, req, rc == -ENOMEM ? "out of memory" : "header too long");
    goto out;
  }
  /* Keep-alive survives the reset; nothing of the last request does. */
  curl_easy_reset(c->curl);
  CURLcode e = set_fixed_opts(c, &x);
  if (e == CURLE_OK)
    e = set_request_opts(c->curl, req, headers);
  if (e == CURLE_OK)
    e = curl_easy_perform(c->curl);
  long status = 0;
  if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
    resp->status = status;
  rc = map_curl_error(e, x.write_rc);
  if (rc != 0)
    report_curl_error(c, req, e, &x, err);
  /* Drop the borrowed body, headers and credentials from the handle. */
  curl_easy_reset(c->curl);
out:
  curl_slist_free_all(headers);
  return rc;
}

void http_set_transport(struct http_client *c, http_transport_fn fn,
                        void *ctx) {
  c->transport = fn ? fn : curl_transport;
  c->transport_ctx = fn ? ctx : c;
}

/* Rejects a request libcurl cannot send as asked. Returns 0 or -EINVAL. */
static int check_request(const struct http_request *req, struct err *err) {
  if (req->method == NULL || req->url == NULL || req->method[0] == '\0') {
    err_set(err, "HTTP request without a method or URL");
    return -EINVAL;
  }
  const char *fields[] = {req->method, req->content_type, req->bearer};
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

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct err *err) {
  c->stats.requests++;
  response_reset(resp);
  int rc = check_request(req, err);
  if (rc == 0)
    rc = c->transport(c->transport_ctx, req, resp, err);
  /* An answer's body is always a C string, even when empty. */
  if (rc == 0 && buf_append(&resp->body, "", 0) != 0) {
    set_error(err, req, "out of memory");
    rc = -ENOMEM;
  }
  count(&c->stats, rc, resp->status);
  return rc;
}
