/* SPDX-License-Identifier: MIT */
/* A bounded HTTP client on libcurl, with a transport seam for unit tests. */
#ifndef RUNSCOPE_HTTP_H
#define RUNSCOPE_HTTP_H

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

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
  /* "Authorization: ..." with this whole value (etcd's token), or NULL */
  const char *authorization;
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
  size_t max_parallel;       /* requests of a batch at a time; 0 means 1 */
  /* The TLS and proxy options of the API's block (borrowed: they must
   * outlive the client), or NULL for libcurl's defaults (the environment's
   * proxy variables then apply). */
  const struct cfg_tls_proxy *net;
  const char *api;   /* "xMatters": names the API in http_problem (borrowed) */
  const char *block; /* "<XMatters>": where net's options are (borrowed) */
};

/* Counters since http_new, for the plugin's own health values. */
struct http_stats {
  uint64_t requests;      /* every http_do call */
  uint64_t errors;        /* transport errors (no complete answer) */
  uint64_t rate_limited;  /* answers with status 429 */
  uint64_t server_errors; /* answers with status 5xx */
};

struct http_client;

/* Creates a client on one libcurl multi handle, whose connections are kept
 * alive and reused by every request of the client, with max_parallel
 * transfer handles. Returns NULL when memory runs out. Free with http_free.
 * curl_global_init must have run before. */
struct http_client *http_new(const struct http_opts *opts);

/* The TLS or proxy problem the client's transfers met, as one line for the
 * log: "<api> <scheme://host:port>: <libcurl's error>; check <options> in
 * <block>", e.g. "xMatters https://127.0.0.1:4431: SSL certificate
 * problem: unable to get local issuer certificate; check CACert/CAPath in
 * <XMatters>". Such a transfer ends with -ECONNREFUSED (nothing reached
 * the API) and err carries the same cause and hint. The problems: a
 * certificate that does not verify, a client certificate the server
 * rejects, a proxy that refuses the credentials (407), a CONNECT that
 * fails. "" when there is none, or a transfer got a complete answer since.
 * *ret_new is true when the text changed since the last call, so that the
 * caller logs each problem once. The text is the client's (valid until its
 * next transfer); its secrets are scrubbed. */
const char *http_problem(struct http_client *c, bool *ret_new);

/* Frees the client; NULL is a no-op. */
void http_free(struct http_client *c);

/* Replaces libcurl with fn (unit tests); fn == NULL restores libcurl. */
void http_set_transport(struct http_client *c, http_transport_fn fn, void *ctx);

/* Performs req. resp must have been set up with http_response_init; its
 * previous contents are replaced. Returns 0 or the transport's negative errno
 * (see http_transport_fn); an HTTP error status is data, not an error. */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct err *err);

/* A batch of independent requests for http_run. */
struct http_batch {
  /* Hands out the next request: fills *req (what it points to must stay
   * valid until the request's done call) and *ret_tag, and returns true;
   * returns false when there is none for now (one that ends later may make
   * another, e.g. a next page). */
  bool (*next)(void *ctx, struct http_request *req, void **ret_tag);
  /* The request tagged tag ended: rc, resp and err as http_do gives them
   * (resp and err are valid during the call only). Returns false to start
   * no further request; those in flight still end and are reported. */
  bool (*done)(void *ctx, void *tag, int rc, const struct http_response *resp,
               const struct err *err);
  void *ctx;
};

/* Runs the requests of b, up to the client's max_parallel at a time through
 * libcurl's multi interface over the client's kept-alive connections (the
 * transport seam, when set, runs them one after the other). Each request is
 * bounded, checked, counted and reported as http_do's, its answer capped at
 * max_response_bytes; the gate applies to each. Returns when b has no
 * request left and none is in flight (or done asked to stop): 0, or -ENOMEM
 * when the transfers could not be set up (no request was handed out). */
int http_run(struct http_client *c, const struct http_batch *b);

/* When requests may start, e.g. a cap on the request rate: wait says how
 * many seconds a request must wait at now (0: it may start now), note
 * counts one that starts at now. Times are the client's clock. */
struct http_gate {
  double (*wait)(void *ctx, double now);
  void (*note)(void *ctx, double now);
  void *ctx;
};

/* Sets the gate every request of c passes (copied); NULL removes it. */
void http_set_gate(struct http_client *c, const struct http_gate *gate);

/* The client's clock: monotonic seconds, and a sleep for the gate's waits.
 * Replaced in unit tests; NULL restores CLOCK_MONOTONIC and nanosleep. */
typedef double (*http_clock_fn)(void *ctx);
typedef void (*http_sleep_fn)(void *ctx, double seconds);
void http_set_clock(struct http_client *c, http_clock_fn now,
                    http_sleep_fn sleep, void *ctx);

/* The client's clock now (seconds). */
double http_now(const struct http_client *c);

/* The counters of c. */
const struct http_stats *http_stats(const struct http_client *c);

/* The errno that an answer's HTTP status means, for every API: 401 and 403
 * -EACCES (credentials), 404 -ENOENT, 429 and 5xx -EAGAIN (try later),
 * another 4xx -EINVAL (the request was refused), anything else that is not
 * a success (1xx, 3xx) -EPROTO. Clients that read different meanings into
 * a status for one endpoint say so where they call it. */
int http_status_errno(long status);

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
