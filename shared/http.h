/* A bounded HTTP client on libcurl, with a transport seam for unit tests. */
#ifndef RUNSCOPE_HTTP_H
#define RUNSCOPE_HTTP_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One request. Every pointer is borrowed for the duration of the call. */
struct http_request {
  const char *method;       /* "GET" or "POST" */
  const char *url;          /* absolute */
  const char *body;         /* NULL for none */
  size_t body_len;          /* bytes of body */
  const char *content_type; /* for body, e.g. "application/json" */
  const char *bearer;       /* "Authorization: Bearer ..." or NULL */
  const char *user;         /* HTTP Basic user, or NULL */
  const char *password;     /* HTTP Basic password, or NULL */
  /* True for a request that must not reach the server twice (a trigger): it
   * goes over a new connection. On a reused connection libcurl resends a
   * request once, silently, when the connection turns out to be closed, and
   * the first copy may already have been handled. */
  bool once;
};

/* One answer. The body is capped at the client's max_response_bytes. */
struct http_response {
  long status;        /* HTTP status; 0 when no answer came */
  struct buf body;    /* NUL-terminated text */
  double retry_after; /* seconds from a Retry-After header, -1 if none */
};

/* Prepares an empty response (a body capped at max bytes). */
void http_response_init(struct http_response *r, size_t max);
/* Frees the body. */
void http_response_fini(struct http_response *r);

/* What a transport does: send req and fill resp. Returns 0 when a complete
 * answer arrived (whatever its status), or a negative errno:
 *   -ECONNREFUSED  the request was not sent (refused, DNS, no route);
 *   -ETIMEDOUT     no complete answer in time: it may have been sent;
 *   -ECONNRESET    the connection broke: it may have been sent;
 *   -EMSGSIZE      the answer was larger than the cap;
 *   -ENOMEM, -EIO  anything else.
 * err gets "<METHOD> <redacted url>: <cause>". */
typedef int (*http_transport_fn)(void *ctx, const struct http_request *req,
                                 struct http_response *resp, struct err *err);

struct http_opts {
  long timeout_ms;           /* whole request, connect included */
  size_t max_response_bytes; /* a larger answer is -EMSGSIZE */
  const char *user_agent;    /* copied */
};

/* Counters since http_new, for the plugin's own health values. */
struct http_stats {
  uint64_t requests;      /* every http_do call */
  uint64_t errors;        /* transport errors (no complete answer) */
  uint64_t rate_limited;  /* answers with status 429 */
  uint64_t server_errors; /* answers with status 5xx */
};

struct http_client;

/* Creates a client with one reusable libcurl handle (keep-alive). Returns
 * NULL when memory runs out. Free with http_free. curl_global_init must have
 * run before. */
struct http_client *http_new(const struct http_opts *opts);

/* Frees the client; NULL is a no-op. */
void http_free(struct http_client *c);

/* Replaces libcurl with fn (unit tests); fn == NULL restores libcurl. */
void http_set_transport(struct http_client *c, http_transport_fn fn, void *ctx);

/* Performs req. resp must have been set up with http_response_init; its
 * previous contents are replaced. Returns 0 or the transport's negative errno
 * (see http_transport_fn); an HTTP error status is data, not an error. */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct err *err);

/* The counters of c. */
const struct http_stats *http_stats(const struct http_client *c);

/* True when rc from http_do means the request may have reached the server
 * although no answer was read (so a non-idempotent request must not be
 * resent blindly). */
bool http_maybe_sent(int rc);

/* Copies url into out with the value of every apiKey, token, password and
 * secret query parameter replaced by "REDACTED", and any user:password@
 * userinfo removed. Truncates to size (always NUL-terminated). */
void http_redact_url(const char *url, char *out, size_t size);

/* Parses a Retry-After value: delta seconds, or an HTTP date compared with
 * now (Unix seconds). Returns the seconds to wait (>= 0), or -1 when value is
 * not understood. */
double http_parse_retry_after(const char *value, double now);

#endif
