/* SPDX-License-Identifier: MIT */
/* Unit tests of the cluster on etcd: the <Cluster> config, the state split
 * into parts for etcd, and whole engine cycles of one agent against a fake
 * etcd (etcd_fake.h) and the fakes of Runscope and xMatters: standby,
 * leading, a lease lost mid-cycle, fail open, hand-over on shutdown. */
#include "config/config.h"
#include "engine/engine.h"
#include "engine/persist.h"
#include "etcd_fake.h"
#include "store/state.h"
#include "store/state_etcd.h"
#include "testutil.h"
#include "util/array.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define T0 1700000000.0
#define TEST_ID "test-1"
#define ENV_ID "env-1"
#define KEY EF_BUCKET "/" TEST_ID "/" ENV_ID
#define LEADER_KEY "/crs/leader"
#define STATE_PREFIX "/crs/state/"

static void set(char **dst, const char *v) {
  ck_assert_int_eq(cfg_set_string(dst, v), 0);
}

/* ---- the config ---- */

static void base_cfg(struct cfg *c) {
  cfg_init(c);
  set(&c->runscope.token, "rs-token");
  set(&c->xmatters.base_url, "https://example.xmatters.com");
  set(&c->xmatters.user, "runscope");
  set(&c->xmatters.password, "xm-pass");
  set(&c->xmatters.test_results_trigger_url,
      "https://example.xmatters.com/api/integration/1/functions/U/triggers");
}

START_TEST(test_cfg_defaults) {
  struct cfg c;
  struct err err = {{0}};
  base_cfg(&c);
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  ck_assert(!c.cluster.enabled); /* without the block nothing changes */
  ck_assert_ptr_null(c.cluster.prefix);
  cfg_fini(&c);
  base_cfg(&c);
  c.cluster.enabled = true;
  ck_assert_int_eq(cfg_list_add(&c.cluster.endpoints, "http://[::1]:2379"), 0);
  ck_assert_msg(cfg_finish(&c, NULL, NULL, &err) == 0, "%s", err.msg);
  ck_assert_str_eq(c.cluster.prefix, "/collectd-runscope/");
  ck_assert_double_eq(c.cluster.lease_ttl, 10);
  ck_assert_ptr_null(c.cluster.name); /* the plugin gives the hostname */
  cfg_fini(&c);
}
END_TEST

static const struct {
  const char *endpoint, *prefix, *user, *password;
  double ttl;
  bool plain;
  const char *want;
} bad_cfgs[] = {
    {NULL, NULL, NULL, NULL, 10, false, "needs at least one Endpoint"},
    {"http://etcd.example.com:2379", NULL, NULL, NULL, 10, false,
     "<Cluster> Endpoint: plain http:// to etcd.example.com"},
    {"ftp://127.0.0.1:2379", NULL, NULL, NULL, 10, false, "not an http(s)"},
    {"http://127.0.0.1:2379", NULL, NULL, NULL, 1, false,
     "LeaseTTL must be between 2 and 3600"},
    {"http://127.0.0.1:2379", "x/", NULL, NULL, 10, false,
     "Prefix must start with"},
    {"http://127.0.0.1:2379", NULL, NULL, "secret", 10, false,
     "User is required"},
    {"http://127.0.0.1:2379", NULL, "root", NULL, 10, false,
     "<Cluster>: PasswordFile (or Password) is required"},
};

START_TEST(test_cfg_errors) {
  struct cfg c;
  struct err err = {{0}};
  base_cfg(&c);
  c.cluster.enabled = true;
  if (bad_cfgs[_i].endpoint)
    ck_assert_int_eq(cfg_list_add(&c.cluster.endpoints, bad_cfgs[_i].endpoint),
                     0);
  if (bad_cfgs[_i].prefix)
    set(&c.cluster.prefix, bad_cfgs[_i].prefix);
  if (bad_cfgs[_i].user)
    set(&c.cluster.user, bad_cfgs[_i].user);
  if (bad_cfgs[_i].password)
    set(&c.cluster.password, bad_cfgs[_i].password);
  c.cluster.lease_ttl = bad_cfgs[_i].ttl;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  ck_assert_msg(strstr(err.msg, bad_cfgs[_i].want) != NULL,
                "\"%s\" lacks \"%s\"", err.msg, bad_cfgs[_i].want);
  ck_assert_ptr_null(strstr(err.msg, "secret"));
  cfg_fini(&c);
}
END_TEST

START_TEST(test_cfg_plain_http_allowed) {
  struct cfg c;
  struct err err = {{0}};
  base_cfg(&c);
  c.cluster.enabled = true;
  c.cluster.allow_plain_http = true;
  ck_assert_int_eq(
      cfg_list_add(&c.cluster.endpoints, "http://etcd.example.com:2379"), 0);
  ck_assert_msg(cfg_finish(&c, NULL, NULL, &err) == 0, "%s", err.msg);
  cfg_fini(&c);
}
END_TEST

/* ---- the state in parts ---- */

/* A state of n keys, each with a failing location and an open event, in
 * the order the reconciler keeps them (by key). */
static void big_state(struct rec_state *st, size_t n) {
  rec_state_init(st);
  for (size_t i = 0; i < n; i++) {
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"format\":\"" STATE_FORMAT "\",\"version\":1,\"keys\":[{"
             "\"key\":\"bucket%03zu/test-%06zu-0123456789abcdef/env-1\","
             "\"bucket_key\":\"bucket%03zu\","
             "\"test_id\":\"test-%06zu-0123456789abcdef\","
             "\"environment_id\":\"env-1\",\"locations\":[{\"location\":"
             "\"us1\",\"test_run_id\":\"run-%06zu-0123456789abcdef\","
             "\"failed\":true,\"started_at\":1700000000.25,\"finished_at\":"
             "1700000003.5,\"assertions_failed\":2}],\"event\":\"active\","
             "\"event_ids\":[\"0c4b6d0e-8d2a-4c3f-9d61-%012zu\"]}],"
             "\"cursors\":[{\"bucket_key\":\"bucket%03zu\",\"test_id\":"
             "\"test-%06zu-0123456789abcdef\",\"since\":1700000000}]}",
             i * 7 / n, i, i * 7 / n, i, i, i, i * 7 / n, i);
    struct rec_state one;
    struct err err = {{0}};
    rec_state_init(&one);
    ck_assert_msg(state_from_json(json, strlen(json), 64, &one, &err) == 0,
                  "%s", err.msg);
    /* move the key and the cursor over */
    ck_assert_int_eq(array_reserve((void **)&st->keys, &st->cap_keys,
                                   st->n_keys, sizeof(*st->keys), 64),
                     0);
    st->keys[st->n_keys++] = one.keys[0];
    one.n_keys = 0;
    ck_assert_int_eq(array_reserve((void **)&st->cursors, &st->cap_cursors,
                                   st->n_cursors, sizeof(*st->cursors), 64),
                     0);
    st->cursors[st->n_cursors++] = one.cursors[0];
    one.n_cursors = 0;
    rec_state_fini(&one);
  }
}

/* 5,000 tests: every part far below etcd's value limit; merged back, the
 * same state; one key changed, one part changed. */
START_TEST(test_split_5000) {
  struct rec_state st, back;
  big_state(&st, 5000);
  char *texts[STATE_ETCD_PARTS], *again[STATE_ETCD_PARTS];
  size_t lens[STATE_ETCD_PARTS], lens2[STATE_ETCD_PARTS], total = 0;
  ck_assert_int_eq(state_etcd_split(&st, texts, lens), 0);
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    ck_assert_uint_lt(lens[i], 256u << 10);
    total += lens[i];
  }
  ck_assert_uint_gt(total, 2u << 20); /* one value would not fit */
  struct err err = {{0}};
  rec_state_init(&back);
  ck_assert_msg(state_etcd_merge((const char *const *)texts, lens,
                                 STATE_ETCD_PARTS, 64, &back, &err) == 0,
                "%s", err.msg);
  uint64_t d1, d2;
  ck_assert_int_eq(state_digest(&st, &d1), 0);
  ck_assert_int_eq(state_digest(&back, &d2), 0);
  ck_assert(d1 == d2);
  ck_assert_uint_eq(back.n_keys, 5000);
  st.keys[1234]->alerted_through = 1700000100;
  ck_assert_int_eq(state_etcd_split(&st, again, lens2), 0);
  int changed = 0;
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    changed += lens[i] != lens2[i] || strcmp(texts[i], again[i]) != 0;
    free(texts[i]);
    free(again[i]);
  }
  ck_assert_int_eq(changed, 1);
  rec_state_fini(&st);
  rec_state_fini(&back);
}
END_TEST

START_TEST(test_merge_garbage) {
  const char *texts[] = {"{\"format\":\"" STATE_FORMAT "\",\"version\":1,"
                         "\"keys\":[],\"cursors\":[]}",
                         "{\"keys\": [nope"};
  size_t lens[] = {strlen(texts[0]), strlen(texts[1])};
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_etcd_merge(texts, lens, 2, 64, &st, &err), -EBADMSG);
  ck_assert_msg(strstr(err.msg, "part 1") != NULL, "%s", err.msg);
  ck_assert_uint_eq(st.n_keys, 0);
  rec_state_fini(&st);
}
END_TEST

/* ---- one agent of a cluster, whole cycles ---- */

static struct {
  char dir[64], state[96];
  struct cfg cfg;
  struct efake f;
  struct fetcd etcd;
  struct engine *e;
  char *log;
  size_t log_len;
  double leader_value; /* runscope-self/bool-cluster_leader; -1: none */
  int warnings, okays; /* cluster notifications */
} h;

static void on_log(void *ctx, enum engine_log_level level, const char *msg) {
  (void)ctx;
  size_t n = strlen(msg) + 16;
  h.log = realloc(h.log, h.log_len + n);
  ck_assert_ptr_nonnull(h.log);
  h.log_len +=
      (size_t)snprintf(h.log + h.log_len, n, "%d %s\n", (int)level, msg);
}

static void on_value(void *ctx, const struct engine_value *v) {
  (void)ctx;
  if (strcmp(v->plugin_instance, "self") == 0 &&
      strcmp(v->type_instance, "cluster_leader") == 0)
    h.leader_value = v->gauge;
}

static void on_notify(void *ctx, const struct engine_notification *n) {
  (void)ctx;
  if (strcmp(n->type_instance, "cluster") != 0)
    return;
  h.warnings += n->severity == ENGINE_WARNING;
  h.okays += n->severity == ENGINE_OKAY;
}

static bool logged(const char *text) {
  return h.log != NULL && strstr(h.log, text) != NULL;
}

static void setup(void) {
  memset(&h, 0, sizeof(h));
  snprintf(h.dir, sizeof(h.dir), "/tmp/runscope-cluster-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(h.dir));
  snprintf(h.state, sizeof(h.state), "%s/state.json", h.dir);
  struct cfg *c = &h.cfg;
  struct cfg_bucket *b;
  cfg_init(c);
  c->interval = 1;
  set(&c->state_file, h.state);
  set(&c->runscope.base_url, EF_RS_BASE);
  set(&c->runscope.token, EF_TOKEN);
  set(&c->xmatters.base_url, EF_XM_BASE);
  set(&c->xmatters.user, EF_XM_USER);
  set(&c->xmatters.password, EF_XM_PASSWORD);
  set(&c->xmatters.test_results_trigger_url, EF_TRIGGER_URL);
  ck_assert_int_eq(cfg_add_bucket(c, EF_BUCKET, &b), 0);
  c->cluster.enabled = true;
  c->cluster.lease_ttl = 2;
  ck_assert_int_eq(cfg_list_add(&c->cluster.endpoints, FE_BASE), 0);
  set(&c->cluster.prefix, "/crs/");
  set(&c->cluster.name, "agent-a");
  struct err err = {{0}};
  ck_assert_msg(cfg_finish(c, NULL, NULL, &err) == 0, "%s", err.msg);
  h.f.now = T0;
  h.etcd.ef = &h.f;
  h.leader_value = -1;
  ef_add_test(&h.f, TEST_ID, "Checkout flow", ENV_ID, "Production");
}

static void teardown(void) {
  engine_free(h.e);
  cfg_fini(&h.cfg);
  fe_fini(&h.etcd);
  ef_fini(&h.f);
  free(h.log);
  unlink(h.state);
  rmdir(h.dir);
}

static void start(void) {
  struct err err = {{0}};
  struct engine_sink sink = {NULL, on_log, on_value, on_notify};
  h.e = engine_new(&h.cfg, &sink, "test-host", T0, &err);
  ck_assert_msg(h.e != NULL, "%s", err.msg);
  engine_set_transport(h.e, fe_transport, &h.etcd);
  engine_set_clock(h.e, ef_clock, ef_sleep, &h.f);
}

/* One cycle at T0 + i seconds (the monotonic clock follows). */
static void cycle(int i) {
  h.f.now = T0 + i;
  if (h.f.mono < i)
    h.f.mono = i;
  ck_assert_int_eq(engine_cycle(h.e, h.f.now), 0);
}

/* Another agent holds the leader key, bound to its own lease. */
static void other_leads(void) {
  ck_assert_uint_lt(h.etcd.n_leases, FE_LEASES_MAX);
  h.etcd.leases[h.etcd.n_leases++] = (struct fe_lease){99, 2, 1e9};
  fe_put(&h.etcd, LEADER_KEY, "agent-b", 7, 99);
}

static size_t parts_in_etcd(void) {
  size_t n = 0;
  for (size_t i = 0; i < h.etcd.n_kv; i++)
    n += strncmp(h.etcd.kv[i].key, STATE_PREFIX, strlen(STATE_PREFIX)) == 0;
  return n;
}

static size_t triggers(size_t from) {
  return ef_count(&h.f, EF_TRIGGER, KEY, from);
}

/* Standby: no request to Runscope or xMatters, the value says 0. */
START_TEST(test_standby_polls_nothing) {
  other_leads();
  ef_add_run(&h.f, 0, "us1", "fail", T0 - 30);
  start();
  for (int i = 0; i < 3; i++)
    cycle(i);
  ck_assert_uint_eq(h.f.n_reqs, 0);
  ck_assert_double_eq(h.leader_value, 0);
  ck_assert(logged("Cluster: agent-a is now standby; the leader is agent-b"));
  ck_assert_uint_ge(h.etcd.keepalives, 2);
  ck_assert_uint_eq(parts_in_etcd(), 0);
}
END_TEST

/* The times each API last answered are in part 0 of the state in etcd
 * alone: at, the time of the last write, for all three. */
static void assert_answered_in_part_0(double at) {
  char want[128];
  const char *names[] = {"runscope", "xmatters", "etcd"};
  struct fe_kv *part0 = fe_find(&h.etcd, STATE_PREFIX "00");
  ck_assert_ptr_nonnull(part0);
  for (size_t i = 0; i < 3; i++) {
    snprintf(want, sizeof(want), "\"%s_answered_at\":%.0f", names[i], at);
    ck_assert_msg(strstr(part0->value, want) != NULL, "%s not in %s", want,
                  part0->value);
  }
  for (size_t i = 0; i < h.etcd.n_kv; i++)
    if (strcmp(h.etcd.kv[i].key, STATE_PREFIX "00") != 0)
      ck_assert_ptr_null(strstr(h.etcd.kv[i].value, "answered_at"));
}

/* Leader: pages, writes its state to etcd in parts, and only what changed
 * afterwards; on shutdown revokes its lease (the key goes with it). */
START_TEST(test_leader_works_and_hands_over) {
  h.cfg.reconcile_interval = 3600; /* no look-up in the quiet cycles */
  ef_add_run(&h.f, 0, "us1", "fail", T0 - 30);
  start();
  cycle(0);
  ck_assert(logged("Cluster: agent-a is now leader."));
  ck_assert_double_eq(h.leader_value, 1);
  ck_assert_uint_eq(triggers(0), 1);
  ck_assert_uint_eq(parts_in_etcd(), STATE_ETCD_PARTS);
  size_t puts = h.etcd.puts;
  cycle(1);
  cycle(2);
  ck_assert_uint_le(h.etcd.puts - puts, 2); /* only what changed */
  ck_assert_uint_eq(triggers(0), 1);
  /* quiet cycles write nothing, not even the answer times, until those
   * are PERSIST_ANSWERED_REFRESH seconds older than the ones written */
  puts = h.etcd.puts;
  for (int i = 3; i <= (int)PERSIST_ANSWERED_REFRESH; i++)
    cycle(i);
  ck_assert_uint_eq(h.etcd.puts, puts);
  cycle((int)PERSIST_ANSWERED_REFRESH + 1); /* 300 s after cycle 1's write */
  cycle((int)PERSIST_ANSWERED_REFRESH + 2);
  ck_assert_uint_eq(h.etcd.puts - puts, 1);
  assert_answered_in_part_0(T0 + PERSIST_ANSWERED_REFRESH + 1);
  engine_free(h.e);
  h.e = NULL;
  ck_assert_uint_eq(h.etcd.revokes, 1);
  ck_assert_ptr_null(fe_find(&h.etcd, LEADER_KEY));
  ck_assert(logged("agent-a stops leading and revoked its lease"));
}
END_TEST

/* A leader stalled mid-cycle past its lease (and etcd silent) creates
 * nothing: the guard before the create sees the lease's deadline gone. */
START_TEST(test_lease_lost_mid_cycle_stops_acting) {
  start();
  cycle(0);
  ck_assert_double_eq(h.leader_value, 1);
  ef_add_run(&h.f, 0, "us1", "fail", T0 - 30);
  h.etcd.jump_on_read = 5;
  size_t mark = h.f.n_reqs;
  cycle(1);
  ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
  ck_assert_uint_eq(triggers(0), 0);
  ck_assert(logged("could not renew its lease before it expired"));
}
END_TEST

/* Forward mode: a leader posts a run; stalled mid-cycle past its lease,
 * it posts nothing (the guard stands before forward mode's posts too). */
START_TEST(test_lease_lost_stops_forward_posts) {
  h.cfg.xmatters.mode = CFG_MODE_FORWARD;
  bool stall = _i == 1;
  start();
  cycle(0);
  ck_assert_double_eq(h.leader_value, 1);
  ef_add_run(&h.f, 0, "us1", "fail", T0 - 30);
  h.etcd.jump_on_read = stall ? 5 : 0;
  size_t mark = h.f.n_reqs;
  cycle(1);
  ck_assert_uint_ge(ef_count(&h.f, EF_RESULTS, TEST_ID, mark), 1);
  ck_assert_uint_eq(ef_count(&h.f, EF_TRIGGER, NULL, mark), (stall ? 0 : 1));
  ck_assert(logged("could not renew its lease before it expired") == stall);
}
END_TEST

/* A lost transaction (the leader key is no longer this agent's): nothing
 * written, said in the log. */
START_TEST(test_lost_transaction) {
  start();
  h.etcd.refuse_from = 2; /* the campaign wins, the state write loses */
  cycle(0);
  ck_assert_double_eq(h.leader_value, 1);
  ck_assert_uint_eq(parts_in_etcd(), 0);
  ck_assert(logged("the leader key is no longer this agent's"));
}
END_TEST

/* etcd silent for 2 x LeaseTTL: WARNING, work alone, look in xMatters
 * right before a create (another agent's event there: no second page);
 * etcd back: OKAY and an election. */
START_TEST(test_fail_open) {
  other_leads();
  start();
  cycle(0);
  ck_assert_double_eq(h.leader_value, 0);
  h.etcd.down = true;
  cycle(2);
  ck_assert_int_eq(h.warnings, 0);
  ck_assert_uint_eq(h.f.n_reqs, 0);
  cycle(5); /* 2 x LeaseTTL = 4 s without an answer */
  ck_assert_int_eq(h.warnings, 1);
  ck_assert(logged("works alone and looks in xMatters before each create"));
  ef_add_run(&h.f, 0, "us1", "fail", T0 + 5);
  h.etcd.event_after_lookup = true;
  size_t mark = h.f.n_reqs;
  cycle(6);
  ck_assert_uint_eq(triggers(0), 0);
  ck_assert_uint_eq(ef_count(&h.f, EF_EVENTS, KEY, mark), 2);
  ck_assert(logged("(raised by another agent): no second page"));
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  h.etcd.down = false;
  h.etcd.leases[0].expires = 1e9; /* agent-b lives on */
  cycle(7);
  ck_assert_int_eq(h.okays, 1);
  ck_assert(logged("etcd answers again"));
  ck_assert(logged("is now standby; the leader is agent-b"));
}
END_TEST

/* An etcd that refuses every call (credentials) is as good as lost: after
 * 2 x LeaseTTL the agent works alone rather than fall silent. */
START_TEST(test_refused_is_lost) {
  h.etcd.deny = true;
  start();
  cycle(0);
  cycle(2);
  ck_assert_uint_eq(h.f.n_reqs, 0);
  cycle(5);
  ck_assert_int_eq(h.warnings, 1);
  ck_assert_uint_gt(h.f.n_reqs, 0); /* it works */
}
END_TEST

/* A new leader loads the state from etcd rather than its own file. */
START_TEST(test_takeover_loads_state) {
  struct rec_state st;
  big_state(&st, 3);
  char *texts[STATE_ETCD_PARTS];
  size_t lens[STATE_ETCD_PARTS];
  ck_assert_int_eq(state_etcd_split(&st, texts, lens), 0);
  for (size_t i = 0; i < STATE_ETCD_PARTS; i++) {
    char key[64];
    snprintf(key, sizeof(key), STATE_PREFIX "%02zu", i);
    fe_put(&h.etcd, key, texts[i], lens[i], 0);
    free(texts[i]);
  }
  rec_state_fini(&st);
  start();
  cycle(0);
  ck_assert(logged("Cluster: loaded the state from etcd: 3 keys, 3 cursors."));
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("cluster");
  unit_add_case(s, "cfg_defaults", test_cfg_defaults, 0, NULL, NULL);
  unit_add_case(s, "cfg_errors", test_cfg_errors, N_ROWS(bad_cfgs), NULL, NULL);
  unit_add_case(s, "cfg_plain_http_allowed", test_cfg_plain_http_allowed, 0,
                NULL, NULL);
  unit_add_case(s, "split_5000", test_split_5000, 0, NULL, NULL);
  unit_add_case(s, "merge_garbage", test_merge_garbage, 0, NULL, NULL);
  unit_add_case(s, "standby_polls_nothing", test_standby_polls_nothing, 0,
                setup, teardown);
  unit_add_case(s, "leader_works_and_hands_over",
                test_leader_works_and_hands_over, 0, setup, teardown);
  unit_add_case(s, "lease_lost_mid_cycle",
                test_lease_lost_mid_cycle_stops_acting, 0, setup, teardown);
  unit_add_case(s, "lease_lost_stops_forward_posts",
                test_lease_lost_stops_forward_posts, 2, setup, teardown);
  unit_add_case(s, "lost_transaction", test_lost_transaction, 0, setup,
                teardown);
  unit_add_case(s, "fail_open", test_fail_open, 0, setup, teardown);
  unit_add_case(s, "refused_is_lost", test_refused_is_lost, 0, setup, teardown);
  unit_add_case(s, "takeover_loads_state", test_takeover_loads_state, 0, setup,
                teardown);
  return s;
}
