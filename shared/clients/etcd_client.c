/* SPDX-License-Identifier: MIT */
/* etcd client: endpoints, authentication, error answers, and leases.
 *
 * What etcd 3.4's JSON gateway answers (tests/fixtures/etcd_*.json are its
 * real answers):
 *  - int64 fields come as JSON strings ("revision":"13"); fields that are
 *    zero, false or empty are left out ("succeeded" of a failed txn, "kvs"
 *    of an empty range, "TTL" of a lease that is gone, "value" of "").
 *  - Errors are {"error": text, "message": text, "code": gRPC code} with an
 *    HTTP status mapped from the code: NOT_FOUND (5) is 404 (a lease that is
 *    gone), UNAUTHENTICATED (16) 401 (an invalid or expired token).
 *  - Some errors do not say what they are in their status: a request larger
 *    than --max-request-bytes is 400 "etcdserver: request is too large"
 *    (code 3), one larger than the gRPC limit 429 "grpc: received message
 *    larger than max" (code 8); both are -EMSGSIZE here, as a 413 from a
 *    proxy is. A wrong password is 400 "authentication failed" and a
 *    request without a token 400 "user name is empty": both -EACCES.
 *  - lease/keepalive is a stream: one {"result": {...}} line per message; a
 *    lease that is gone still answers 200, with no TTL. A stream's error is
 *    {"error": {"grpc_code", "http_code", "message"}}.
 *  - The token goes in the Authorization header as it is, without "Bearer";
 *    simple tokens are known to the member that issued them only, so a
 *    call that moved to another endpoint authenticates again. */
#include "clients/etcd.h"
#include "clients/etcd_internal.h"

#include "util/str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETCD_ANSWER_MAX                                                        \
  (64u << 20) /* outer bound; the http client's cap wins */
#define ETCD_URL_MAX 2048
#define ETCD_DEPTH_DEFAULT 64
#define ETCD_SMALL_BODY 256 /* a request body of a lease call */
#define ETCD_AUTH_PATH "/v3/auth/authenticate"

/* gRPC status codes the gateway puts in "code". */
enum {
  GRPC_INVALID_ARGUMENT = 3,
  GRPC_DEADLINE_EXCEEDED = 4,
  GRPC_NOT_FOUND = 5,
  GRPC_PERMISSION_DENIED = 7,
  GRPC_RESOURCE_EXHAUSTED = 8,
  GRPC_FAILED_PRECONDITION = 9,
  GRPC_ABORTED = 10,
  GRPC_OUT_OF_RANGE = 11,
  GRPC_UNAVAILABLE = 14,
  GRPC_UNAUTHENTICATED = 16
};

struct etcd_client {
  struct http_client *http; /* borrowed */
  char **endpoints;         /* no trailing slash */
  size_t n_endpoints;
  size_t current;        /* the endpoint that answered last */
  char *user, *password; /* NULL: no authentication */
  char *token;           /* NULL: none yet; "": authentication is off */
  int max_depth;
};

/* ---- the client ---- */

/* Copies endpoint without its trailing slashes; NULL when out of memory. */
static char *copy_endpoint(const char *endpoint) {
  size_t n = strlen(endpoint);
  while (n > 0 && endpoint[n - 1] == '/')
    n--;
  return strndup(endpoint, n);
}

/* Copies the endpoints into c. Returns false when one is missing or memory
 * runs out. */
static bool copy_endpoints(struct etcd_client *c, const struct etcd_opts *o) {
  c->endpoints = calloc(o->n_endpoints, sizeof(*c->endpoints));
  if (c->endpoints == NULL)
    return false;
  c->n_endpoints = o->n_endpoints;
  for (size_t i = 0; i < o->n_endpoints; i++) {
    if (o->endpoints[i] == NULL || o->endpoints[i][0] == '\0')
      return false;
    c->endpoints[i] = copy_endpoint(o->endpoints[i]);
    if (c->endpoints[i] == NULL)
      return false;
  }
  return true;
}

struct etcd_client *etcd_new(struct http_client *http,
                             const struct etcd_opts *opts) {
  if (opts == NULL || opts->n_endpoints == 0 || opts->endpoints == NULL)
    return NULL;
  struct etcd_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->http = http;
  c->max_depth =
      opts->max_json_depth > 0 ? opts->max_json_depth : ETCD_DEPTH_DEFAULT;
  bool ok = copy_endpoints(c, opts);
  if (ok && opts->user != NULL) {
    c->user = strdup(opts->user);
    c->password = strdup(opts->password ? opts->password : "");
    ok = c->user != NULL && c->password != NULL;
  }
  if (!ok) {
    etcd_free(c);
    return NULL;
  }
  return c;
}

void etcd_free(struct etcd_client *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n_endpoints; i++)
    free(c->endpoints[i]);
  free(c->endpoints);
  str_free_secret(c->user);
  str_free_secret(c->password);
  str_free_secret(c->token);
  free(c);
}

/* Removes the client's secrets from err. */
static void scrub(const struct etcd_client *c, struct err *err) {
  err_scrub(err, c->password);
  err_scrub(err, c->token);
}

/* ---- error answers ---- */

/* What an error answer says: its gRPC code (-1: none) and its message. */
struct answer_error {
  long code;
  char text[ERR_MSG_MAX / 2];
};

/* Reads the code and message of an error object: the gateway's {"error",
 * "code", "message"}, or a stream's {"grpc_code", "message"}. */
static void read_error_object(json_object *e, struct answer_error *ae) {
  const char *msg = jsonx_str(e, "message");
  if (msg == NULL || msg[0] == '\0')
    msg = jsonx_str(e, "error");
  if (msg != NULL)
    str_snippet(msg, strlen(msg), ae->text, sizeof(ae->text));
  ae->code = jsonx_int(e, "code", jsonx_int(e, "grpc_code", -1));
}

/* Reads what the body of an error answer says; a body that is not JSON is
 * quoted as a cleaned-up snippet. */
static void read_error(const struct etcd_client *c,
                       const struct http_response *resp,
                       struct answer_error *ae) {
  json_object *root = NULL;
  ae->code = -1;
  ae->text[0] = '\0';
  if (jsonx_parse(resp->body.data, resp->body.len, c->max_depth, &root, NULL) !=
      0) {
    str_snippet(resp->body.data ? resp->body.data : "", resp->body.len,
                ae->text, sizeof(ae->text));
    return;
  }
  json_object *stream = jsonx_obj(root, "error");
  read_error_object(stream ? stream : root, ae);
  json_object_put(root);
}

/* The errno of a gRPC code, for errors that came with a 2xx status. */
static int grpc_errno(long code) {
  switch (code) {
  case GRPC_INVALID_ARGUMENT:
  case GRPC_FAILED_PRECONDITION:
  case GRPC_OUT_OF_RANGE:
    return -EINVAL;
  case GRPC_DEADLINE_EXCEEDED:
  case GRPC_RESOURCE_EXHAUSTED:
  case GRPC_ABORTED:
  case GRPC_UNAVAILABLE:
    return -EAGAIN;
  default:
    return -EPROTO;
  }
}

/* The errno of an error answer (see the top of the file). */
static int error_errno(long status, const struct answer_error *ae) {
  const char *t = ae->text;
  if (status == 413 || strstr(t, "request is too large") != NULL ||
      strstr(t, "larger than max") != NULL)
    return -EMSGSIZE;
  if (ae->code == GRPC_NOT_FOUND)
    return -ENOENT;
  if (ae->code == GRPC_UNAUTHENTICATED || ae->code == GRPC_PERMISSION_DENIED ||
      strstr(t, "authentication failed") != NULL ||
      strstr(t, "user name is empty") != NULL)
    return -EACCES;
  if (status >= 200 && status <= 299)
    return grpc_errno(ae->code);
  return http_status_errno(status);
}

/* Sets err for an error answer to POST path. Returns its errno. */
static int answer_error(const struct etcd_client *c, const char *path,
                        const struct http_response *resp, struct err *err) {
  struct answer_error ae;
  read_error(c, resp, &ae);
  if (resp->status >= 200 && resp->status <= 299)
    err_set(err, "etcd: POST %s: error in the answer (gRPC code %ld): %s", path,
            ae.code, ae.text[0] ? ae.text : "no message");
  else if (ae.text[0] != '\0')
    err_set(err, "etcd: POST %s: HTTP %ld: %s", path, resp->status, ae.text);
  else
    err_set(err, "etcd: POST %s: HTTP %ld", path, resp->status);
  return error_errno(resp->status, &ae);
}

/* ---- requests ---- */

/* POSTs body[0..len) to path on endpoint i into resp, with the token when
 * there is one. Returns 0 for any answer, or the transport's errno. */
static int post_to(struct etcd_client *c, size_t i, const char *path,
                   const char *body, size_t len, struct http_response *resp,
                   struct err *err) {
  char url[ETCD_URL_MAX];
  int n = snprintf(url, sizeof(url), "%s%s", c->endpoints[i], path);
  if (n < 0 || (size_t)n >= sizeof(url)) {
    err_set(err, "endpoint %zu: URL too long", i + 1);
    return -EINVAL;
  }
  struct http_request req = {.method = "POST",
                             .url = url,
                             .body = body,
                             .body_len = len,
                             .content_type = "application/json",
                             .authorization =
                                 c->token && c->token[0] ? c->token : NULL};
  return http_do(c->http, &req, resp, err);
}

/* True for a transport error after which another endpoint may answer. */
static bool no_answer(int rc) {
  return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -ECONNRESET ||
         rc == -EIO;
}

/* POSTs to the endpoint that answered last and, while none answers (or one
 * says it is unavailable, 503), to the next ones in turn, each once.
 * Returns 0 with the answer in resp, or the last transport error with err
 * "etcd: POST <path>: <cause>". */
static int post_any(struct etcd_client *c, const char *path, const char *body,
                    size_t len, struct http_response *resp, struct err *err) {
  int rc = 0;
  for (size_t k = 0; k < c->n_endpoints; k++) {
    size_t i = (c->current + k) % c->n_endpoints;
    rc = post_to(c, i, path, body, len, resp, err);
    if (rc == 0 && resp->status != 503) {
      c->current = i;
      return 0;
    }
    if (rc != 0 && !no_answer(rc)) {
      err_prefix(err, "etcd: POST %s", path);
      return rc;
    }
  }
  if (rc != 0 && c->n_endpoints > 1)
    err_prefix(err, "etcd: POST %s: no endpoint answered; the last", path);
  else if (rc != 0)
    err_prefix(err, "etcd: POST %s", path);
  return rc;
}

/* Reads a 2xx answer into *ret: a JSON object without "error". */
static int read_answer(const struct etcd_client *c, const char *path,
                       const struct http_response *resp, json_object **ret,
                       struct err *err) {
  json_object *root = NULL, *e = NULL;
  if (resp->status < 200 || resp->status > 299)
    return answer_error(c, path, resp, err);
  int rc =
      jsonx_parse(resp->body.data, resp->body.len, c->max_depth, &root, err);
  if (rc == 0 && !json_object_is_type(root, json_type_object)) {
    err_set(err, "the answer is a JSON %s, not an object",
            json_type_to_name(json_object_get_type(root)));
    rc = -EPROTO;
  }
  if (rc != 0) {
    err_prefix(err, "etcd: POST %s", path);
  } else if (json_object_object_get_ex(root, "error", &e) && e != NULL) {
    rc = answer_error(c, path, resp, err);
  }
  if (rc != 0)
    json_object_put(root);
  else
    *ret = root;
  return rc;
}

/* Adds the string s as o[key]. Returns 0 or -ENOMEM. */
static int add_str(json_object *o, const char *key, const char *s) {
  json_object *v = json_object_new_string(s);
  if (v == NULL || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    return -ENOMEM;
  }
  return 0;
}

/* The body of an authenticate request, into out; escaped by json-c. */
static int auth_body(const struct etcd_client *c, struct buf *out) {
  json_object *o = json_object_new_object();
  int rc = o ? add_str(o, "name", c->user) : -ENOMEM;
  if (rc == 0)
    rc = add_str(o, "password", c->password);
  const char *text =
      rc == 0 ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
              : NULL;
  if (rc == 0)
    rc = text ? buf_puts(out, text) : -ENOMEM;
  /* json-c's copies of the password (the member, the printed text) */
  json_object *pw = NULL;
  if (o != NULL && json_object_object_get_ex(o, "password", &pw))
    str_wipe((char *)json_object_get_string(pw));
  str_wipe((char *)text);
  json_object_put(o);
  return rc;
}

/* Takes the token of an authenticate answer; etcd without authentication
 * enabled (gRPC FAILED_PRECONDITION) leaves the client without one. */
static int take_token(struct etcd_client *c, const struct http_response *resp,
                      struct err *err) {
  json_object *root = NULL;
  if (resp->status == 412) {
    c->token = strdup("");
    return c->token ? 0 : -ENOMEM;
  }
  int rc = read_answer(c, ETCD_AUTH_PATH, resp, &root, err);
  const char *token = rc == 0 ? jsonx_str(root, "token") : NULL;
  if (rc == 0 && (token == NULL || token[0] == '\0')) {
    err_set(err, "etcd: POST " ETCD_AUTH_PATH ": the answer has no token");
    rc = -EPROTO;
  } else if (rc == 0 && (c->token = strdup(token)) == NULL) {
    rc = -ENOMEM;
  }
  json_object_put(root);
  return rc;
}

/* Authenticates as the client's user: a new token into c->token. */
static int authenticate(struct etcd_client *c, struct err *err) {
  struct buf body;
  struct http_response resp;
  str_free_secret(c->token);
  c->token = NULL;
  buf_init(&body, ETCD_REQUEST_MAX);
  int rc = auth_body(c, &body);
  if (rc != 0) {
    err_set(err, "etcd: POST " ETCD_AUTH_PATH ": cannot build the body");
    buf_fini_wipe(&body);
    return rc;
  }
  http_response_init(&resp, ETCD_ANSWER_MAX);
  rc = post_any(c, ETCD_AUTH_PATH, body.data, body.len, &resp, err);
  if (rc == 0)
    rc = take_token(c, &resp, err);
  buf_fini_wipe(&resp.body); /* the token */
  http_response_fini(&resp);
  buf_fini_wipe(&body);
  scrub(c, err);
  return rc;
}

int etcd_call(struct etcd_client *c, const char *path, const struct buf *body,
              json_object **ret, struct err *err) {
  struct http_response resp;
  bool renewed = false;
  int rc = 0;
  *ret = NULL;
  if (c->user != NULL && c->token == NULL) {
    rc = authenticate(c, err);
    renewed = true;
  }
  http_response_init(&resp, ETCD_ANSWER_MAX);
  while (rc == 0) {
    rc = post_any(c, path, body->data ? body->data : "{}",
                  body->data ? body->len : 2, &resp, err);
    if (rc == 0)
      rc = read_answer(c, path, &resp, ret, err);
    /* An invalid or expired token: a new one, and the call once more. */
    if (rc != -EACCES || c->user == NULL || renewed)
      break;
    renewed = true;
    rc = authenticate(c, err);
  }
  http_response_fini(&resp);
  scrub(c, err);
  return rc;
}

/* ---- reading answers ---- */

/* Parses a decimal int64 (an optional '-' and digits only). */
static bool parse_i64(const char *s, int64_t *ret) {
  char *end = NULL;
  if (s[0] != '-' && (s[0] < '0' || s[0] > '9'))
    return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return false;
  *ret = (int64_t)v;
  return true;
}

int etcd_json_i64(json_object *o, const char *key, int64_t *ret,
                  const char *where, struct err *err) {
  json_object *v = NULL;
  *ret = 0;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_int)) {
    *ret = json_object_get_int64(v);
    return 0;
  }
  if (json_object_is_type(v, json_type_string) &&
      parse_i64(json_object_get_string(v), ret))
    return 0;
  err_set(err, "%s.%s is not an integer: %s", where, key,
          json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  return -EPROTO;
}

int etcd_json_revision(json_object *o, int64_t *ret, const char *where,
                       struct err *err) {
  json_object *h = NULL;
  *ret = 0;
  if (!json_object_object_get_ex(o, "header", &h) ||
      !json_object_is_type(h, json_type_object)) {
    err_set(err, "%s has no \"header\" object", where);
    return -EPROTO;
  }
  char w[64];
  snprintf(w, sizeof(w), "%s.header", where);
  return etcd_json_i64(h, "revision", ret, w, err);
}

/* ---- leases ---- */

/* POSTs {"<key>":"<n>"} to path into *ret (see etcd_call). */
static int call_i64(struct etcd_client *c, const char *path, const char *key,
                    int64_t n, json_object **ret, struct err *err) {
  struct buf body;
  buf_init(&body, ETCD_SMALL_BODY);
  int rc = buf_printf(&body, "{\"%s\":\"%" PRId64 "\"}", key, n);
  if (rc == 0)
    rc = etcd_call(c, path, &body, ret, err);
  buf_fini(&body);
  return rc;
}

int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *ret_id,
                     int64_t *ret_ttl, struct err *err) {
  json_object *root = NULL;
  int64_t granted = 0;
  *ret_id = 0;
  if (ttl <= 0) {
    err_set(err, "etcd: POST /v3/lease/grant: TTL %" PRId64 " is not positive",
            ttl);
    return -EINVAL;
  }
  int rc = call_i64(c, "/v3/lease/grant", "TTL", ttl, &root, err);
  if (rc == 0)
    rc = etcd_json_i64(root, "ID", ret_id, "the answer", err);
  if (rc == 0)
    rc = etcd_json_i64(root, "TTL", &granted, "the answer", err);
  if (rc == 0 && (*ret_id == 0 || granted <= 0)) {
    err_set(err, "the answer has no lease ID or TTL");
    rc = -EPROTO;
  }
  if (rc == -EPROTO && root != NULL)
    err_prefix(err, "etcd: POST /v3/lease/grant");
  if (rc != 0)
    *ret_id = 0;
  if (ret_ttl != NULL)
    *ret_ttl = rc == 0 ? granted : 0;
  json_object_put(root);
  return rc;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ret_ttl,
                         struct err *err) {
  json_object *root = NULL;
  int64_t ttl = 0;
  int rc = call_i64(c, "/v3/lease/keepalive", "ID", id, &root, err);
  json_object *result = rc == 0 ? jsonx_obj(root, "result") : NULL;
  if (rc == 0 && result == NULL) {
    err_set(err, "etcd: POST /v3/lease/keepalive: the answer has no "
                 "\"result\" object");
    rc = -EPROTO;
  }
  if (rc == 0 && (rc = etcd_json_i64(result, "TTL", &ttl, "result", err)) != 0)
    err_prefix(err, "etcd: POST /v3/lease/keepalive");
  /* The gateway answers 200 for a lease that is gone, without a TTL. */
  if (rc == 0 && ttl <= 0) {
    err_set(err,
            "etcd: POST /v3/lease/keepalive: lease %" PRId64
            " is gone (expired or revoked)",
            id);
    rc = -ENOENT;
  }
  if (ret_ttl != NULL)
    *ret_ttl = rc == 0 ? ttl : 0;
  json_object_put(root);
  return rc;
}

int etcd_lease_ttl(struct etcd_client *c, int64_t id, int64_t *ret_ttl,
                   struct err *err) {
  json_object *root = NULL;
  int64_t ttl = 0;
  *ret_ttl = 0;
  int rc = call_i64(c, "/v3/lease/timetolive", "ID", id, &root, err);
  if (rc == 0 &&
      (rc = etcd_json_i64(root, "TTL", &ttl, "the answer", err)) != 0)
    err_prefix(err, "etcd: POST /v3/lease/timetolive");
  if (rc == 0 && ttl < 0) {
    err_set(err,
            "etcd: POST /v3/lease/timetolive: lease %" PRId64
            " is gone (expired or revoked)",
            id);
    rc = -ENOENT;
  }
  if (rc == 0)
    *ret_ttl = ttl;
  json_object_put(root);
  return rc;
}

int etcd_lease_revoke(struct etcd_client *c, int64_t id, struct err *err) {
  json_object *root = NULL;
  int rc = call_i64(c, "/v3/lease/revoke", "ID", id, &root, err);
  if (rc == -ENOENT)
    err_set(err,
            "etcd: POST /v3/lease/revoke: lease %" PRId64
            " is gone (expired or revoked)",
            id);
  json_object_put(root);
  return rc;
}
