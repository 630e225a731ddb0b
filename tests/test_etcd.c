/* SPDX-License-Identifier: MIT */
/* Unit tests of the etcd client: leases, keys, transactions, campaigns,
 * endpoints, authentication and error answers, on answers recorded from
 * etcd 3.4's JSON gateway (tests/fixtures/etcd_*.json) through a scripted
 * transport; and the Authorization header on the wire through libcurl. */
#define _GNU_SOURCE /* strcasestr */
#include "clients/etcd.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define EP1 "http://etcd1.test:2379"
#define EP2 "http://etcd2.test:2379/"
#define USER "agent"
#define PASSWORD "pw-51c0ffee-etcd"
#define TOKEN1 "wSTGWJaLirujawqj.11" /* etcd_auth.json */
#define TOKEN2 "nEwToKeNnEwToKeN.12"

/* The lease of the recordings, and the keys they name, in base64. */
#define LEASE INT64_C(2324035866187135017)
#define LEASE_S "2324035866187135017"
#define LEADER "/collectd-runscope/leader"
#define LEADER64 "L2NvbGxlY3RkLXJ1bnNjb3BlL2xlYWRlcg=="
#define AGENT_A64 "YWdlbnQtYQ=="
#define STATE64 "L2NvbGxlY3RkLXJ1bnNjb3BlL3N0YXRl"
#define CURSOR64 "L2NvbGxlY3RkLXJ1bnNjb3BlL2N1cnNvci9ia3Q="
#define PREFIX64 "L2NvbGxlY3RkLXJ1bnNjb3BlLw=="     /* "/collectd-runscope/" */
#define PREFIX_END64 "L2NvbGxlY3RkLXJ1bnNjb3BlMA==" /* ".../" + 1: "...0" */

static struct fake fk;
static char *auths[FAKE_MAX]; /* the Authorization value of each request */
static struct http_client *http;
static struct etcd_client *etcd;

/* The scripted transport, noting the Authorization header, which the
 * shared fake does not record. */
static int etcd_transport(void *ctx, const struct http_request *req,
                          struct http_response *resp, struct err *err) {
  ck_assert_uint_lt(fk.n_reqs, FAKE_MAX);
  auths[fk.n_reqs] = req->authorization ? strdup(req->authorization) : NULL;
  return fake_transport(ctx, req, resp, err);
}

/* A client of endpoints EP1 and EP2, with or without a user. */
static struct etcd_client *client(bool with_user) {
  static const char *const eps[] = {EP1, EP2};
  struct etcd_opts o = {.endpoints = eps,
                        .n_endpoints = 2,
                        .user = with_user ? USER : NULL,
                        .password = with_user ? PASSWORD : NULL,
                        .max_json_depth = 16};
  struct etcd_client *c = etcd_new(http, &o);
  ck_assert_ptr_nonnull(c);
  return c;
}

static void setup(void) {
  memset(&fk, 0, sizeof(fk));
  memset(auths, 0, sizeof(auths));
  struct http_opts opts = {
      .timeout_ms = 1000, .max_response_bytes = 1 << 20, .user_agent = "test"};
  http = http_new(&opts);
  ck_assert_ptr_nonnull(http);
  http_set_transport(http, etcd_transport, &fk);
  etcd = client(false);
}

static void teardown(void) {
  etcd_free(etcd);
  http_free(http);
  for (size_t i = 0; i < FAKE_MAX; i++)
    free(auths[i]);
  fake_fini(&fk);
}

/* Queues a transport failure (no answer). */
static void no_answer(int rc) {
  answer(&fk, 0, NULL);
  fk.answers[fk.n_answers - 1].rc = rc;
}

/* Asserts request n: a JSON POST of body to url. */
static void assert_req(size_t n, const char *url, const char *body) {
  ck_assert_uint_gt(fk.n_reqs, n);
  const struct fake_request *r = &fk.reqs[n];
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->url, url);
  ck_assert_str_eq(r->content_type, "application/json");
  ck_assert_ptr_null(r->bearer);
  ck_assert_ptr_null(r->user);
  ck_assert_str_eq(r->body, body);
}

/* Asserts that err names neither the password nor a token. */
static void assert_no_secrets(const struct err *err) {
  ck_assert_msg(strstr(err->msg, PASSWORD) == NULL, "%s", err->msg);
  ck_assert_msg(strstr(err->msg, TOKEN1) == NULL, "%s", err->msg);
  ck_assert_msg(strstr(err->msg, TOKEN2) == NULL, "%s", err->msg);
}

/* ---- leases ---- */

START_TEST(test_grant_keepalive_revoke) {
  answer_fixture(&fk, 200, "etcd_grant.json");
  answer_fixture(&fk, 200, "etcd_keepalive.json"); /* ends with a newline */
  answer_fixture(&fk, 200, "etcd_revoke.json");
  int64_t id = 0, ttl = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_grant(etcd, 10, &id, &ttl, &err), 0);
  ck_assert(id == LEASE);
  ck_assert(ttl == 10);
  ttl = 0;
  ck_assert_int_eq(etcd_lease_keepalive(etcd, id, &ttl, &err), 0);
  ck_assert(ttl == 10);
  ck_assert_int_eq(etcd_lease_revoke(etcd, id, &err), 0);
  assert_req(0, EP1 "/v3/lease/grant", "{\"TTL\":\"10\"}");
  assert_req(1, EP1 "/v3/lease/keepalive", "{\"ID\":\"" LEASE_S "\"}");
  assert_req(2, EP1 "/v3/lease/revoke", "{\"ID\":\"" LEASE_S "\"}");
  ck_assert_ptr_null(auths[0]); /* no user, no token */
}
END_TEST

/* A lease that expired or was revoked: keepalive answers 200 without a TTL,
 * revoke and a put bound to it 404 with gRPC NOT_FOUND. */
START_TEST(test_lease_gone) {
  answer_fixture(&fk, 200, "etcd_keepalive_gone.json");
  answer_fixture(&fk, 404, "etcd_revoke_gone.json");
  answer_fixture(&fk, 404, "etcd_put_lease_gone.json");
  int64_t ttl = 99, rev = 99;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_keepalive(etcd, LEASE, &ttl, &err), -ENOENT);
  ck_assert(ttl == 0);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/lease/keepalive: lease " LEASE_S
                            " is gone (expired or revoked)");
  ck_assert_int_eq(etcd_lease_revoke(etcd, LEASE, &err), -ENOENT);
  ck_assert_ptr_nonnull(strstr(err.msg, "lease " LEASE_S " is gone"));
  ck_assert_int_eq(etcd_put(etcd, LEADER, "agent-a", 7, LEASE, &rev, &err),
                   -ENOENT);
  ck_assert(rev == 0);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/put: HTTP 404: etcdserver: "
                            "requested lease not found");
}
END_TEST

/* Server trouble is not a lost lease: the caller must tell them apart. */
START_TEST(test_keepalive_no_answer) {
  no_answer(-ETIMEDOUT);
  no_answer(-ECONNREFUSED);
  answer(&fk, 503,
         "{\"error\":\"etcdserver: no leader\",\"message\":"
         "\"etcdserver: no leader\",\"code\":14}");
  answer(&fk, 503,
         "{\"error\":\"etcdserver: no leader\",\"message\":"
         "\"etcdserver: no leader\",\"code\":14}");
  struct err err = {""};
  int64_t ttl = 0;
  int rc = etcd_lease_keepalive(etcd, LEASE, &ttl, &err);
  ck_assert_int_eq(rc, -ECONNREFUSED); /* the last endpoint's error */
  ck_assert_ptr_nonnull(strstr(err.msg, "no endpoint answered"));
  rc = etcd_lease_keepalive(etcd, LEASE, &ttl, &err);
  ck_assert_int_eq(rc, -EAGAIN);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/lease/keepalive: HTTP 503: "
                            "etcdserver: no leader");
}
END_TEST

/* A stream's error comes inside a 200. */
START_TEST(test_keepalive_stream_error) {
  answer(&fk, 200,
         "{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":"
         "\"etcdserver: requested lease not found\",\"http_status\":"
         "\"Not Found\"}}\n");
  struct err err = {""};
  int64_t ttl = 0;
  ck_assert_int_eq(etcd_lease_keepalive(etcd, LEASE, &ttl, &err), -ENOENT);
  ck_assert_ptr_nonnull(strstr(err.msg, "requested lease not found"));
}
END_TEST

/* A reader's look at a lease: the seconds it has left, without renewing
 * it; a lease that is gone answers a TTL of -1; garbage is -EPROTO. */
START_TEST(test_lease_ttl) {
  answer_fixture(&fk, 200, "etcd_timetolive.json");
  answer_fixture(&fk, 200, "etcd_timetolive_gone.json");
  answer(&fk, 200, "{\"ID\":\"" LEASE_S "\",\"TTL\":\"soon\"}");
  int64_t ttl = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_ttl(etcd, LEASE, &ttl, &err), 0);
  ck_assert(ttl == 8);
  assert_req(0, EP1 "/v3/lease/timetolive", "{\"ID\":\"" LEASE_S "\"}");
  ck_assert_int_eq(etcd_lease_ttl(etcd, LEASE, &ttl, &err), -ENOENT);
  ck_assert(ttl == 0);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/lease/timetolive: lease " LEASE_S
                            " is gone (expired or revoked)");
  ck_assert_int_eq(etcd_lease_ttl(etcd, LEASE, &ttl, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "TTL is not an integer"));
}
END_TEST

START_TEST(test_grant_refused_ttl) {
  int64_t id = 5;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_grant(etcd, 0, &id, NULL, &err), -EINVAL);
  ck_assert(id == 0);
  ck_assert_uint_eq(fk.n_reqs, 0);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_range_one) {
  answer_fixture(&fk, 200, "etcd_range_one.json");
  struct etcd_kvs kvs;
  struct err err = {""};
  ck_assert_int_eq(etcd_get(etcd, LEADER, false, &kvs, &err), 0);
  assert_req(0, EP1 "/v3/kv/range", "{\"key\":\"" LEADER64 "\"}");
  ck_assert_uint_eq(kvs.n, 1);
  ck_assert_str_eq(kvs.kv[0].key, LEADER);
  ck_assert_uint_eq(kvs.kv[0].key_len, strlen(LEADER));
  ck_assert_str_eq(kvs.kv[0].value, "agent-a");
  ck_assert_uint_eq(kvs.kv[0].value_len, 7);
  ck_assert(kvs.kv[0].lease == LEASE);
  ck_assert(kvs.kv[0].create_revision == 13);
  ck_assert(kvs.kv[0].mod_revision == 13);
  ck_assert(kvs.kv[0].version == 1);
  ck_assert(kvs.count == 1);
  ck_assert(!kvs.more);
  ck_assert(kvs.revision == 15);
  etcd_kvs_fini(&kvs);
  ck_assert_ptr_null(kvs.kv);
}
END_TEST

START_TEST(test_range_prefix) {
  answer_fixture(&fk, 200, "etcd_range_prefix.json");
  answer_fixture(&fk, 200, "etcd_range_none.json");
  struct etcd_kvs kvs;
  struct err err = {""};
  ck_assert_int_eq(etcd_get(etcd, "/collectd-runscope/", true, &kvs, &err), 0);
  assert_req(0, EP1 "/v3/kv/range",
             "{\"key\":\"" PREFIX64 "\",\"range_end\":\"" PREFIX_END64 "\"}");
  ck_assert_uint_eq(kvs.n, 4);
  ck_assert(kvs.count == 4);
  static const char *const keys[] = {"/collectd-runscope/cursor/bkt",
                                     "/collectd-runscope/empty", LEADER,
                                     "/collectd-runscope/state"};
  static const char *const values[] = {"1406036406", "", "agent-a",
                                       "{\"version\":1}"};
  for (size_t i = 0; i < 4; i++) {
    ck_assert_str_eq(kvs.kv[i].key, keys[i]);
    ck_assert_str_eq(kvs.kv[i].value, values[i]); /* "" when left out */
    ck_assert_uint_eq(kvs.kv[i].value_len, strlen(values[i]));
  }
  ck_assert(kvs.kv[0].lease == 0);
  etcd_kvs_fini(&kvs);
  ck_assert_int_eq(
      etcd_get(etcd, "/collectd-runscope/absent", false, &kvs, &err), 0);
  ck_assert_uint_eq(kvs.n, 0);
  ck_assert_ptr_null(kvs.kv);
  ck_assert(kvs.count == 0);
  ck_assert(kvs.revision == 15);
  etcd_kvs_fini(&kvs);
}
END_TEST

/* The range_end of a prefix, and the bytes of keys and values, as sent. */
static const struct {
  const char *prefix;
  const char *body;
} prefix_cases[] = {
    {"a", "{\"key\":\"YQ==\",\"range_end\":\"Yg==\"}"},
    {"a\xff", "{\"key\":\"Yf8=\",\"range_end\":\"Yg==\"}"},
    {"\xff\xff", "{\"key\":\"//8=\",\"range_end\":\"AA==\"}"},
    {"", "{\"key\":\"AA==\",\"range_end\":\"AA==\"}"}, /* every key */
};

START_TEST(test_prefix_bodies) {
  answer_fixture(&fk, 200, "etcd_range_none.json");
  struct etcd_kvs kvs;
  ck_assert_int_eq(etcd_get(etcd, prefix_cases[_i].prefix, true, &kvs, NULL),
                   0);
  assert_req(0, EP1 "/v3/kv/range", prefix_cases[_i].body);
  etcd_kvs_fini(&kvs);
}
END_TEST

START_TEST(test_put_and_delete) {
  answer_fixture(&fk, 200, "etcd_put.json");
  answer_fixture(&fk, 200, "etcd_put.json");
  answer_fixture(&fk, 200, "etcd_delete.json");
  answer_fixture(&fk, 200, "etcd_delete_none.json");
  int64_t rev = 0, deleted = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_put(etcd, "k", "a\0\xff", 3, 0, &rev, &err), 0);
  ck_assert(rev == 15);
  ck_assert_int_eq(etcd_put(etcd, LEADER, "agent-a", 7, LEASE, NULL, &err), 0);
  ck_assert_int_eq(
      etcd_delete(etcd, "/collectd-runscope/", true, &deleted, &err), 0);
  ck_assert(deleted == 1);
  ck_assert_int_eq(etcd_delete(etcd, "k", false, &deleted, &err), 0);
  ck_assert(deleted == 0); /* left out of the answer */
  assert_req(0, EP1 "/v3/kv/put", "{\"key\":\"aw==\",\"value\":\"YQD/\"}");
  assert_req(1, EP1 "/v3/kv/put",
             "{\"key\":\"" LEADER64 "\",\"value\":\"" AGENT_A64
             "\",\"lease\":\"" LEASE_S "\"}");
  assert_req(2, EP1 "/v3/kv/deleterange",
             "{\"key\":\"" PREFIX64 "\",\"range_end\":\"" PREFIX_END64 "\"}");
  assert_req(3, EP1 "/v3/kv/deleterange", "{\"key\":\"aw==\"}");
}
END_TEST

START_TEST(test_refused_arguments) {
  struct err err = {""};
  struct etcd_kvs kvs;
  ck_assert_int_eq(etcd_get(etcd, "", false, &kvs, &err), -EINVAL);
  ck_assert_int_eq(etcd_put(etcd, "", "v", 1, 0, NULL, &err), -EINVAL);
  ck_assert_int_eq(etcd_delete(etcd, "", true, NULL, &err), -EINVAL);
  struct etcd_txn empty = {0};
  struct etcd_txn_result res;
  ck_assert_int_eq(etcd_txn(etcd, &empty, &res, &err), -EINVAL);
  struct etcd_op wipe = {.type = ETCD_OP_DELETE, .key = "", .prefix = true};
  struct etcd_txn t = {.success = &wipe, .n_success = 1};
  ck_assert_int_eq(etcd_txn(etcd, &t, &res, &err), -EINVAL);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/txn: a delete of every key");
  struct etcd_compare bad = {.key = "k", .target = (enum etcd_target)9};
  struct etcd_txn t2 = {.compare = &bad, .n_compare = 1};
  ck_assert_int_eq(etcd_txn(etcd, &t2, &res, &err), -EINVAL);
  ck_assert_uint_eq(fk.n_reqs, 0);
}
END_TEST

/* ---- transactions ---- */

#define CAMPAIGN_BODY(value64, lease)                                          \
  "{\"compare\":[{\"key\":\"" LEADER64 "\",\"target\":\"CREATE\","             \
  "\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[{"            \
  "\"request_put\":{\"key\":\"" LEADER64 "\",\"value\":\"" value64             \
  "\",\"lease\":\"" lease "\"}}],\"failure\":[{\"request_range\":{"            \
  "\"key\":\"" LEADER64 "\"}}]}"

START_TEST(test_campaign_won) {
  answer_fixture(&fk, 200, "etcd_campaign_won.json");
  bool created = false;
  struct etcd_kv cur = {.key = (char *)"garbage"};
  struct err err = {""};
  ck_assert_int_eq(etcd_create_if_absent(etcd, LEADER, "agent-a", 7, LEASE,
                                         &created, &cur, &err),
                   0);
  ck_assert(created);
  ck_assert_ptr_null(cur.key); /* zeroed */
  assert_req(0, EP1 "/v3/kv/txn", CAMPAIGN_BODY(AGENT_A64, LEASE_S));
}
END_TEST

/* Another agent leads: the failure branch reads who. */
START_TEST(test_campaign_lost) {
  answer_fixture(&fk, 200, "etcd_campaign_lost.json");
  bool created = true;
  struct etcd_kv cur;
  struct err err = {""};
  ck_assert_int_eq(etcd_create_if_absent(etcd, LEADER, "agent-b", 7,
                                         INT64_C(77), &created, &cur, &err),
                   0);
  ck_assert(!created);
  assert_req(0, EP1 "/v3/kv/txn", CAMPAIGN_BODY("YWdlbnQtYg==", "77"));
  ck_assert_str_eq(cur.key, LEADER);
  ck_assert_str_eq(cur.value, "agent-a");
  ck_assert(cur.lease == LEASE);
  ck_assert(cur.create_revision == 13);
  etcd_kv_fini(&cur);
  ck_assert_ptr_null(cur.value);
}
END_TEST

/* A campaign retried after its answer was lost finds its own key under its
 * own lease: it won. */
START_TEST(test_campaign_retried) {
  answer_fixture(&fk, 200, "etcd_campaign_lost.json");
  bool created = false;
  ck_assert_int_eq(etcd_create_if_absent(etcd, LEADER, "agent-a", 7, LEASE,
                                         &created, NULL, NULL),
                   0);
  ck_assert(created);
}
END_TEST

#define HOLD_BODY(name64)                                                      \
  "{\"compare\":[{\"key\":\"" LEADER64 "\",\"target\":\"VALUE\","              \
  "\"result\":\"EQUAL\",\"value\":\"" name64 "\"}],\"success\":[{"             \
  "\"request_put\":{\"key\":\"" STATE64 "\",\"value\":"                        \
  "\"eyJ2ZXJzaW9uIjoxfQ==\"}},{\"request_put\":{\"key\":\"" CURSOR64           \
  "\",\"value\":\"MTQwNjAzNjQwNg==\"}}]}"

static const struct etcd_op state_puts[] = {
    {.type = ETCD_OP_PUT,
     .key = "/collectd-runscope/state",
     .value = "{\"version\":1}",
     .value_len = 13},
    {.type = ETCD_OP_PUT,
     .key = "/collectd-runscope/cursor/bkt",
     .value = "1406036406",
     .value_len = 10},
};

START_TEST(test_hold_ok) {
  answer_fixture(&fk, 200, "etcd_hold_ok.json");
  int64_t rev = 0;
  struct err err = {""};
  ck_assert_int_eq(
      etcd_leader_put(etcd, LEADER, "agent-a", state_puts, 2, &rev, &err), 0);
  ck_assert(rev == 14);
  assert_req(0, EP1 "/v3/kv/txn", HOLD_BODY(AGENT_A64));
}
END_TEST

/* Another agent leads: the transaction is lost, nothing is written. */
START_TEST(test_hold_lost) {
  answer_fixture(&fk, 200, "etcd_hold_lost.json");
  int64_t rev = 5;
  struct err err = {""};
  ck_assert_int_eq(
      etcd_leader_put(etcd, LEADER, "agent-b", state_puts, 2, &rev, &err),
      -EPERM);
  ck_assert(rev == 0);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/txn: " LEADER
                            " is not held by agent-b: nothing written");
  assert_req(0, EP1 "/v3/kv/txn", HOLD_BODY("YWdlbnQtYg=="));
}
END_TEST

/* Every target and result, delete and range operations, and the ranges of
 * the branch that ran. */
START_TEST(test_txn_mixed) {
  answer_fixture(&fk, 200, "etcd_txn_mixed.json");
  const struct etcd_compare cmp[] = {
      {.key = LEADER, .target = ETCD_LEASE, .number = LEASE},
      {.key = "k", .target = ETCD_VERSION, .result = ETCD_GREATER},
      {.key = "k", .target = ETCD_MOD, .result = ETCD_LESS, .number = 100000},
      {.key = "k", .target = ETCD_CREATE, .result = ETCD_NOT_EQUAL},
      {.key = "k", .target = ETCD_VALUE, .value = "", .value_len = 0},
  };
  const struct etcd_op ops[] = {
      {.type = ETCD_OP_DELETE, .key = "c/", .prefix = true},
      {.type = ETCD_OP_RANGE, .key = "k"},
  };
  const struct etcd_op fail[] = {{.type = ETCD_OP_DELETE, .key = "k"}};
  struct etcd_txn t = {cmp, N(cmp), ops, N(ops), fail, N(fail)};
  struct etcd_txn_result res;
  struct err err = {""};
  ck_assert_int_eq(etcd_txn(etcd, &t, &res, &err), 0);
  assert_req(
      0, EP1 "/v3/kv/txn",
      "{\"compare\":[{\"key\":\"" LEADER64 "\",\"target\":\"LEASE\",\"result\":"
      "\"EQUAL\",\"lease\":\"" LEASE_S "\"},{\"key\":\"aw==\",\"target\":"
      "\"VERSION\",\"result\":\"GREATER\",\"version\":\"0\"},{\"key\":\"aw==\","
      "\"target\":\"MOD\",\"result\":\"LESS\",\"mod_revision\":\"100000\"},{"
      "\"key\":\"aw==\",\"target\":\"CREATE\",\"result\":\"NOT_EQUAL\","
      "\"create_revision\":\"0\"},{\"key\":\"aw==\",\"target\":\"VALUE\","
      "\"result\":\"EQUAL\",\"value\":\"\"}],\"success\":[{"
      "\"request_delete_range\":{\"key\":\"Yy8=\",\"range_end\":\"YzA=\"}},{"
      "\"request_range\":{\"key\":\"aw==\"}}],\"failure\":[{"
      "\"request_delete_range\":{\"key\":\"aw==\"}}]}");
  ck_assert(res.succeeded);
  ck_assert(res.revision == 17);
  ck_assert_uint_eq(res.n_ranges, 1);
  ck_assert_uint_eq(res.ranges[0].n, 1);
  ck_assert_str_eq(res.ranges[0].kv[0].key, "/collectd-runscope/state");
  ck_assert_str_eq(res.ranges[0].kv[0].value, "{\"version\":1}");
  ck_assert(res.ranges[0].revision == 17);
  etcd_txn_result_fini(&res);
  ck_assert_ptr_null(res.ranges);
}
END_TEST

/* ---- too large ---- */

/* What a request that is too large gets: a proxy's 413, etcd's 400 past
 * --max-request-bytes, its 429 past the gRPC limit. All are final. */
static const struct {
  long status;
  const char *fixture; /* NULL: an HTML page */
  const char *msg;
} too_large[] = {
    {413, NULL,
     "etcd: POST /v3/kv/txn: HTTP 413: <html><body>413 Request "
     "Entity Too Large</body></html>"},
    {413, "etcd_too_large.json",
     "etcd: POST /v3/kv/txn: HTTP 413: etcdserver: request is too large"},
    {400, "etcd_too_large.json",
     "etcd: POST /v3/kv/txn: HTTP 400: etcdserver: request is too large"},
    {429, "etcd_too_large_grpc.json",
     "etcd: POST /v3/kv/txn: HTTP 429: grpc: received message larger than "
     "max (2150431 vs. 2097152)"},
};

START_TEST(test_too_large) {
  if (too_large[_i].fixture != NULL)
    answer_fixture(&fk, too_large[_i].status, too_large[_i].fixture);
  else
    answer(&fk, too_large[_i].status,
           "<html><body>413 Request Entity Too Large</body></html>\n");
  struct err err = {""};
  int64_t rev = 1;
  ck_assert_int_eq(
      etcd_leader_put(etcd, LEADER, "agent-a", state_puts, 1, &rev, &err),
      -EMSGSIZE);
  ck_assert_str_eq(err.msg, too_large[_i].msg);
  ck_assert_uint_eq(fk.n_reqs, 1); /* not sent elsewhere */
}
END_TEST

/* Other refusals keep their status's meaning. */
START_TEST(test_other_errors) {
  answer_fixture(&fk, 400, "etcd_bad_request.json");
  answer(&fk, 429,
         "{\"error\":\"etcdserver: too many requests\",\"message\":"
         "\"etcdserver: too many requests\",\"code\":8}");
  answer(&fk, 404, "Not Found\n");
  answer(&fk, 200, "{\"error\":\"lease error\"}");
  struct err err = {""};
  struct etcd_kvs kvs;
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, &err), -EINVAL);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/range: HTTP 400: invalid "
                            "character 'o' in literal null (expecting 'u')");
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, &err), -EAGAIN);
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, &err), -ENOENT);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/range: HTTP 404: Not Found");
  int64_t id = 0;
  ck_assert_int_eq(etcd_lease_grant(etcd, 5, &id, NULL, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err.msg, "lease error"));
}
END_TEST

/* ---- answers that are not the documented JSON ---- */

enum call { GRANT, KEEPALIVE, RANGE, TXN, PUT, DELETE };

#define HDR "\"header\":{\"revision\":\"15\"}"

static const struct {
  enum call call;
  const char *body;
  const char *msg; /* a part of the message */
} garbage[] = {
    {RANGE, "<html>busy</html>", "malformed JSON"},
    {RANGE, "", "empty JSON text"},
    {RANGE, "[1,2]", "the answer is a JSON array, not an object"},
    {RANGE, "{\"kvs\":[]}", "the answer has no \"header\" object"},
    {RANGE, "{\"header\":[],\"kvs\":[]}", "has no \"header\" object"},
    {RANGE, "{\"header\":{\"revision\":\"abc\"}}", "header.revision is not"},
    {RANGE, "{" HDR ",\"kvs\":{}}", "kvs is a JSON object, not an array"},
    {RANGE, "{" HDR ",\"kvs\":[1]}", "kvs[0] is not an object"},
    {RANGE, "{" HDR ",\"kvs\":[{\"value\":\"YQ==\"}]}", "has no \"key\""},
    {RANGE, "{" HDR ",\"kvs\":[{\"key\":\"@@\"}]}", "key is not base64"},
    {RANGE, "{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"value\":\"YQ=\"}]}",
     "value is not base64"},
    {RANGE, "{" HDR ",\"kvs\":[{\"key\":5}]}", "key is a JSON int"},
    {RANGE, "{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"12x\"}]}",
     "kvs[0].mod_revision is not an integer"},
    {RANGE, "{" HDR ",\"count\":1.5}", "count is not an integer"},
    {RANGE, "{" HDR ",\"more\":\"yes\"}", "more is a JSON string"},
    {RANGE, "{" HDR ",\"kvs\":[{\"key\":\"YQ==\"", "truncated JSON"},
    {RANGE, "{" HDR ",\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}",
     "nesting deeper than 16"},
    {GRANT, "{" HDR ",\"TTL\":\"10\"}", "no lease ID"},
    {GRANT, "{" HDR ",\"ID\":true,\"TTL\":\"10\"}", "ID is not an integer"},
    {KEEPALIVE, "{" HDR ",\"TTL\":\"10\"}", "no \"result\" object"},
    {KEEPALIVE, "{\"result\":{" HDR ",\"TTL\":\"ten\"}}", "TTL is not"},
    {TXN, "{" HDR ",\"succeeded\":\"true\"}", "succeeded is a JSON string"},
    {TXN, "{" HDR ",\"succeeded\":true,\"responses\":{}}",
     "responses is a JSON object, not an array"},
    {TXN, "{" HDR ",\"responses\":[1]}", "responses[0] is not an object"},
    {TXN, "{" HDR ",\"responses\":[{\"response_range\":[]}]}",
     "responses[0].response_range is not an object"},
    {TXN, "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[]}}]}",
     "responses[0].response_range has no \"header\""},
    {PUT, "{}", "has no \"header\" object"},
    {DELETE, "{" HDR ",\"deleted\":\"x\"}", "deleted is not an integer"},
};

static const char *const garbage_paths[] = {
    [GRANT] = "/v3/lease/grant", [KEEPALIVE] = "/v3/lease/keepalive",
    [RANGE] = "/v3/kv/range",    [TXN] = "/v3/kv/txn",
    [PUT] = "/v3/kv/put",        [DELETE] = "/v3/kv/deleterange"};

/* Makes the call of a garbage case; its results are freed. */
static int garbage_call(enum call call, struct err *err) {
  int64_t n = 0;
  struct etcd_kvs kvs;
  struct etcd_txn_result res;
  struct etcd_op op = {.type = ETCD_OP_RANGE, .key = "k"};
  struct etcd_txn t = {.success = &op, .n_success = 1};
  int rc;
  switch (call) {
  case GRANT:
    return etcd_lease_grant(etcd, 10, &n, NULL, err);
  case KEEPALIVE:
    return etcd_lease_keepalive(etcd, LEASE, &n, err);
  case RANGE:
    rc = etcd_get(etcd, "k", false, &kvs, err);
    etcd_kvs_fini(&kvs);
    return rc;
  case TXN:
    rc = etcd_txn(etcd, &t, &res, err);
    etcd_txn_result_fini(&res);
    return rc;
  case PUT:
    return etcd_put(etcd, "k", "v", 1, 0, &n, err);
  default:
    return etcd_delete(etcd, "k", false, &n, err);
  }
}

START_TEST(test_garbage) {
  answer(&fk, 200, garbage[_i].body);
  struct err err = {""};
  ck_assert_int_eq(garbage_call(garbage[_i].call, &err), -EPROTO);
  char prefix[64];
  snprintf(prefix, sizeof(prefix),
           "etcd: POST %s: ", garbage_paths[garbage[_i].call]);
  ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s", err.msg);
  ck_assert_msg(strstr(err.msg, garbage[_i].msg) != NULL, "%s", err.msg);
  ck_assert_uint_eq(fk.n_reqs, 1);
}
END_TEST

/* The results of a failed call are empty, whatever was read before. */
START_TEST(test_garbage_results_zeroed) {
  answer(&fk, 200,
         "{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\"},"
         "{\"key\":\"@\"}]}");
  answer(&fk, 200,
         "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_range\":{" HDR
         ",\"kvs\":[{\"key\":\"YQ==\"}]}},{\"response_range\":{" HDR
         ",\"kvs\":[{\"key\":1}]}}]}");
  struct etcd_kvs kvs;
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, NULL), -EPROTO);
  ck_assert_uint_eq(kvs.n, 0);
  ck_assert_ptr_null(kvs.kv);
  struct etcd_op op = {.type = ETCD_OP_RANGE, .key = "k"};
  struct etcd_txn t = {.success = &op, .n_success = 1};
  struct etcd_txn_result res;
  ck_assert_int_eq(etcd_txn(etcd, &t, &res, NULL), -EPROTO);
  ck_assert(!res.succeeded);
  ck_assert_uint_eq(res.n_ranges, 0);
  ck_assert_ptr_null(res.ranges);
}
END_TEST

/* ---- endpoints ---- */

/* One that does not answer, then one that does; the next call starts at
 * the one that answered. The trailing slash of EP2 is dropped. */
START_TEST(test_failover) {
  no_answer(-ECONNREFUSED);
  answer_fixture(&fk, 200, "etcd_grant.json");
  answer_fixture(&fk, 200, "etcd_keepalive.json");
  no_answer(-ETIMEDOUT);
  answer_fixture(&fk, 200, "etcd_keepalive.json");
  answer(&fk, 503, "{\"error\":\"etcdserver: no leader\",\"code\":14}");
  answer_fixture(&fk, 200, "etcd_keepalive.json");
  int64_t id = 0, ttl = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_grant(etcd, 10, &id, &ttl, &err), 0);
  ck_assert(id == LEASE);
  ck_assert_int_eq(etcd_lease_keepalive(etcd, id, &ttl, &err), 0);
  ck_assert_int_eq(etcd_lease_keepalive(etcd, id, &ttl, &err), 0);
  ck_assert_int_eq(etcd_lease_keepalive(etcd, id, &ttl, &err), 0);
  ck_assert(ttl == 10);
  static const char *const urls[] = {
      EP1 "/v3/lease/grant",
      "http://etcd2.test:2379/v3/lease/grant",
      "http://etcd2.test:2379/v3/lease/keepalive",
      "http://etcd2.test:2379/v3/lease/keepalive",
      EP1 "/v3/lease/keepalive",
      EP1 "/v3/lease/keepalive",
      "http://etcd2.test:2379/v3/lease/keepalive"};
  ck_assert_uint_eq(fk.n_reqs, N(urls));
  for (int i = 0; i < N(urls); i++)
    ck_assert_str_eq(fk.reqs[i].url, urls[i]);
}
END_TEST

/* An answer, even an error, is not a reason to ask another endpoint; nor is
 * a failure that is not the endpoint's (an answer over the cap). */
START_TEST(test_no_failover_on_answer) {
  answer(&fk, 500, "{\"error\":\"etcdserver: internal\",\"code\":13}");
  no_answer(-EMSGSIZE);
  struct etcd_kvs kvs;
  struct err err = {""};
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, &err), -EAGAIN);
  ck_assert_uint_eq(fk.n_reqs, 1);
  ck_assert_int_eq(etcd_get(etcd, "k", false, &kvs, &err), -EMSGSIZE);
  ck_assert_uint_eq(fk.n_reqs, 2);
  ck_assert_msg(strncmp(err.msg, "etcd: POST /v3/kv/range: POST " EP1, 34) == 0,
                "%s", err.msg);
}
END_TEST

START_TEST(test_new_refused) {
  struct etcd_opts none = {0};
  ck_assert_ptr_null(etcd_new(http, &none));
  const char *eps[] = {EP1, NULL};
  struct etcd_opts missing = {.endpoints = eps, .n_endpoints = 2};
  ck_assert_ptr_null(etcd_new(http, &missing));
  etcd_free(NULL);
}
END_TEST

/* ---- authentication ---- */

#define AUTH_BODY "{\"name\":\"" USER "\",\"password\":\"" PASSWORD "\"}"
#define AUTH2 "{\"header\":{\"revision\":\"1\"},\"token\":\"" TOKEN2 "\"}"

/* The first call authenticates; an expired token is renewed once and the
 * call retried with the new one. */
START_TEST(test_auth_renewal) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer_fixture(&fk, 200, "etcd_range_one.json");
  answer_fixture(&fk, 401, "etcd_invalid_token.json");
  answer(&fk, 200, AUTH2);
  answer_fixture(&fk, 200, "etcd_range_one.json");
  struct etcd_kvs kvs;
  struct err err = {""};
  ck_assert_int_eq(etcd_get(etcd, LEADER, false, &kvs, &err), 0);
  etcd_kvs_fini(&kvs);
  ck_assert_int_eq(etcd_get(etcd, LEADER, false, &kvs, &err), 0);
  ck_assert_str_eq(kvs.kv[0].value, "agent-a");
  etcd_kvs_fini(&kvs);
  ck_assert_uint_eq(fk.n_reqs, 5);
  assert_req(0, EP1 "/v3/auth/authenticate", AUTH_BODY);
  ck_assert_ptr_null(auths[0]);
  ck_assert_str_eq(auths[1], TOKEN1); /* as it is, no "Bearer" */
  ck_assert_str_eq(auths[2], TOKEN1);
  assert_req(3, EP1 "/v3/auth/authenticate", AUTH_BODY);
  ck_assert_ptr_null(auths[3]);
  ck_assert_str_eq(auths[4], TOKEN2);
  assert_req(4, EP1 "/v3/kv/range", "{\"key\":\"" LEADER64 "\"}");
}
END_TEST

/* A token refused right after its renewal is not renewed again. */
START_TEST(test_auth_renewed_once) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer_fixture(&fk, 200, "etcd_grant.json");
  answer_fixture(&fk, 401, "etcd_invalid_token.json");
  answer(&fk, 200, AUTH2);
  answer_fixture(&fk, 401, "etcd_invalid_token.json");
  answer_fixture(&fk, 401, "etcd_invalid_token.json");
  int64_t id = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_grant(etcd, 10, &id, NULL, &err), 0);
  ck_assert_int_eq(etcd_lease_grant(etcd, 10, &id, NULL, &err), -EACCES);
  ck_assert_uint_eq(fk.n_reqs, 5);
  ck_assert_str_eq(auths[4], TOKEN2);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/lease/grant: HTTP 401: "
                            "etcdserver: invalid auth token");
}
END_TEST

/* Nor is a token the call has just been given. */
START_TEST(test_auth_fresh_token_refused) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer_fixture(&fk, 401, "etcd_invalid_token.json");
  int64_t id = 0;
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_grant(etcd, 10, &id, NULL, &err), -EACCES);
  ck_assert_uint_eq(fk.n_reqs, 2);
}
END_TEST

START_TEST(test_auth_failed) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 400, "etcd_auth_failed.json");
  answer_fixture(&fk, 400, "etcd_auth_failed.json");
  struct etcd_kvs kvs;
  struct err err = {""};
  ck_assert_int_eq(etcd_get(etcd, LEADER, false, &kvs, &err), -EACCES);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/auth/authenticate: HTTP 400: "
                            "etcdserver: authentication failed, invalid user "
                            "ID or password");
  ck_assert_uint_eq(fk.n_reqs, 1); /* the call itself was not made */
  ck_assert_int_eq(etcd_get(etcd, LEADER, false, &kvs, &err), -EACCES);
  ck_assert_uint_eq(fk.n_reqs, 2); /* tried again on the next call */
  assert_req(1, EP1 "/v3/auth/authenticate", AUTH_BODY);
}
END_TEST

/* etcd without authentication: calls go without a token, and a token is
 * asked for again when etcd starts wanting one. */
START_TEST(test_auth_not_enabled) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 412, "etcd_auth_not_enabled.json");
  answer_fixture(&fk, 200, "etcd_put.json");
  answer_fixture(&fk, 200, "etcd_put.json");
  answer_fixture(&fk, 400, "etcd_no_token.json");
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer_fixture(&fk, 200, "etcd_put.json");
  struct err err = {""};
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(etcd_put(etcd, "k", "v", 1, 0, NULL, &err), 0);
  ck_assert_uint_eq(fk.n_reqs, 6);
  ck_assert_ptr_null(auths[1]);
  ck_assert_ptr_null(auths[2]);
  ck_assert_ptr_null(auths[3]);
  assert_req(4, EP1 "/v3/auth/authenticate", AUTH_BODY);
  ck_assert_str_eq(auths[5], TOKEN1);
}
END_TEST

/* Authentication moves on to the endpoint that answers, and the call
 * follows it there with the token. */
START_TEST(test_auth_failover) {
  etcd_free(etcd);
  etcd = client(true);
  no_answer(-ECONNREFUSED);
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer_fixture(&fk, 200, "etcd_revoke.json");
  struct err err = {""};
  ck_assert_int_eq(etcd_lease_revoke(etcd, LEASE, &err), 0);
  ck_assert_str_eq(fk.reqs[1].url, "http://etcd2.test:2379/v3/auth/"
                                   "authenticate");
  ck_assert_str_eq(fk.reqs[2].url, "http://etcd2.test:2379/v3/lease/revoke");
  ck_assert_str_eq(auths[2], TOKEN1);
}
END_TEST

/* Secrets that an answer quotes are scrubbed. */
START_TEST(test_secrets_scrubbed) {
  etcd_free(etcd);
  etcd = client(true);
  answer_fixture(&fk, 200, "etcd_auth.json");
  answer(&fk, 400,
         "{\"error\":\"x\",\"message\":\"bad token " TOKEN1
         " or password " PASSWORD "\",\"code\":3}");
  struct err err = {""};
  ck_assert_int_eq(etcd_put(etcd, "k", "v", 1, 0, NULL, &err), -EINVAL);
  assert_no_secrets(&err);
  ck_assert_str_eq(err.msg, "etcd: POST /v3/kv/put: HTTP 400: bad token "
                            "REDACTED or password REDACTED");
}
END_TEST

/* ---- the Authorization header on the wire ---- */

#define WIRE_REQS 2
#define WIRE_HEAD_MAX 4096

/* A loopback server that answers WIRE_REQS requests, one per connection,
 * with the bodies in answers, and keeps each request's head. */
struct wire {
  int fd, port;
  const char *answers[WIRE_REQS];
  char heads[WIRE_REQS][WIRE_HEAD_MAX];
  pthread_t thread;
};

/* Reads one request's head into head and skips its body. */
static void wire_read(int c, char *head) {
  size_t n = 0;
  ssize_t got;
  while (n < WIRE_HEAD_MAX - 1 &&
         (got = recv(c, head + n, WIRE_HEAD_MAX - 1 - n, 0)) > 0) {
    n += (size_t)got;
    head[n] = '\0';
    char *end = strstr(head, "\r\n\r\n");
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    if (end != NULL && cl != NULL &&
        n >= (size_t)(end + 4 - head) + strtoul(cl + 17, NULL, 10))
      break;
  }
}

static void *wire_main(void *arg) {
  struct wire *w = arg;
  char out[1024];
  for (int i = 0; i < WIRE_REQS; i++) {
    int c = accept(w->fd, NULL, NULL);
    if (c < 0)
      break;
    wire_read(c, w->heads[i]);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(w->answers[i]), w->answers[i]);
    ck_assert_int_eq(send(c, out, (size_t)n, 0), n);
    close(c);
  }
  return NULL;
}

static void wire_start(struct wire *w) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  w->fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(w->fd, 0);
  ck_assert_int_eq(bind(w->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(listen(w->fd, 4), 0);
  ck_assert_int_eq(getsockname(w->fd, (struct sockaddr *)&a, &len), 0);
  w->port = ntohs(a.sin_port);
  ck_assert_int_eq(pthread_create(&w->thread, NULL, wire_main, w), 0);
}

/* libcurl sends the token as the whole value of the Authorization header,
 * and no such header before there is a token. */
START_TEST(test_authorization_on_the_wire) {
  static struct wire w = {
      .answers = {"{\"header\":{},\"token\":\"tok.7\"}",
                  "{\"header\":{\"revision\":\"2\"},\"ID\":\"42\","
                  "\"TTL\":\"10\"}"}};
  wire_start(&w);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", w.port);
  const char *eps[] = {url};
  struct http_opts ho = {.timeout_ms = 5000, .max_response_bytes = 1 << 16};
  struct http_client *h = http_new(&ho);
  ck_assert_ptr_nonnull(h);
  struct etcd_opts o = {
      .endpoints = eps, .n_endpoints = 1, .user = "u", .password = "p"};
  struct etcd_client *c = etcd_new(h, &o);
  ck_assert_ptr_nonnull(c);
  int64_t id = 0;
  struct err err = {""};
  ck_assert_msg(etcd_lease_grant(c, 10, &id, NULL, &err) == 0, "%s", err.msg);
  ck_assert(id == 42);
  pthread_join(w.thread, NULL);
  close(w.fd);
  etcd_free(c);
  http_free(h);
  ck_assert_int_eq(strncmp(w.heads[0], "POST /v3/auth/authenticate ", 27), 0);
  ck_assert_ptr_null(strcasestr(w.heads[0], "\r\nAuthorization:"));
  ck_assert_int_eq(strncmp(w.heads[1], "POST /v3/lease/grant ", 21), 0);
  ck_assert_ptr_nonnull(strstr(w.heads[1], "\r\nAuthorization: tok.7\r\n"));
  ck_assert_ptr_null(strstr(w.heads[1], "Bearer"));
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("etcd");
  TCase *tc = tcase_create("leases");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_grant_keepalive_revoke);
  tcase_add_test(tc, test_lease_gone);
  tcase_add_test(tc, test_keepalive_no_answer);
  tcase_add_test(tc, test_keepalive_stream_error);
  tcase_add_test(tc, test_lease_ttl);
  tcase_add_test(tc, test_grant_refused_ttl);
  suite_add_tcase(s, tc);

  tc = tcase_create("keys");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_range_one);
  tcase_add_test(tc, test_range_prefix);
  tcase_add_loop_test(tc, test_prefix_bodies, 0, N(prefix_cases));
  tcase_add_test(tc, test_put_and_delete);
  tcase_add_test(tc, test_refused_arguments);
  suite_add_tcase(s, tc);

  tc = tcase_create("transactions");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_campaign_won);
  tcase_add_test(tc, test_campaign_lost);
  tcase_add_test(tc, test_campaign_retried);
  tcase_add_test(tc, test_hold_ok);
  tcase_add_test(tc, test_hold_lost);
  tcase_add_test(tc, test_txn_mixed);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_too_large, 0, N(too_large));
  tcase_add_test(tc, test_other_errors);
  tcase_add_loop_test(tc, test_garbage, 0, N(garbage));
  tcase_add_test(tc, test_garbage_results_zeroed);
  suite_add_tcase(s, tc);

  tc = tcase_create("endpoints");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_failover);
  tcase_add_test(tc, test_no_failover_on_answer);
  tcase_add_test(tc, test_new_refused);
  suite_add_tcase(s, tc);

  tc = tcase_create("authentication");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_auth_renewal);
  tcase_add_test(tc, test_auth_renewed_once);
  tcase_add_test(tc, test_auth_fresh_token_refused);
  tcase_add_test(tc, test_auth_failed);
  tcase_add_test(tc, test_auth_not_enabled);
  tcase_add_test(tc, test_auth_failover);
  tcase_add_test(tc, test_secrets_scrubbed);
  tcase_add_test(tc, test_authorization_on_the_wire);
  suite_add_tcase(s, tc);
  return s;
}
