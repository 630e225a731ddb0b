/* SPDX-License-Identifier: MIT */
/* Unit tests of the traffic-alert core (traffic): rule evaluation, the need
 * for a message's detail, flood control, the seen set and the cursor. */
#include "config/config.h"
#include "core/traffic.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define TRIGGER_URL                                                            \
  "https://example.xmatters.com/api/integration/1/functions/UUID/triggers"     \
  "?apiKey=KEY"

/* ---- the rules under test ---- */

enum {
  R_METHOD,  /* Method "post", Method "PUT" */
  R_PATH,    /* Path "^/checkout(/|$)" */
  R_HOST,    /* Host "(^|\.)pay\.example\.com$" */
  R_RANGE,   /* StatusMin 500, StatusMax 503 */
  R_MIN,     /* StatusMin 400 */
  R_MAX,     /* StatusMax 299 */
  R_ALL,     /* Method GET, Path "^/api", Host "example", StatusMin 500 */
  R_N_RULES, /* all of them in one bucket */
};

static struct cfg g_cfg;

static void set(char **dst, const char *value) {
  ck_assert_int_eq(cfg_set_string(dst, value), 0);
}

static struct cfg_alert *rule(struct cfg_bucket *b, const char *name) {
  struct cfg_alert *a;
  ck_assert_int_eq(cfg_add_alert(b, name, &a), 0);
  return a;
}

/* A config that cfg_finish accepts, with the rules above in bucket "shop"
 * and rule R_ALL alone in bucket "all" (so the regexes are compiled the way
 * the plugin compiles them). */
static void rules_setup(void) {
  struct cfg *c = &g_cfg;
  struct cfg_bucket *b;
  cfg_init(c);
  set(&c->runscope.token, "rs-token");
  set(&c->xmatters.base_url, "https://example.xmatters.com");
  set(&c->xmatters.user, "runscope");
  set(&c->xmatters.password, "xm-pass");
  set(&c->xmatters.test_results_trigger_url, TRIGGER_URL);
  set(&c->xmatters.live_traffic_trigger_url, TRIGGER_URL);
  ck_assert_int_eq(cfg_add_bucket(c, "shop", &b), 0);
  struct cfg_alert *a = rule(b, "method");
  ck_assert_int_eq(cfg_list_add(&a->methods, "post"), 0);
  ck_assert_int_eq(cfg_list_add(&a->methods, "PUT"), 0);
  set(&rule(b, "path")->path, "^/checkout(/|$)");
  set(&rule(b, "host")->host, "(^|\\.)pay\\.example\\.com$");
  a = rule(b, "range");
  a->status_min = 500;
  a->status_max = 503;
  rule(b, "min")->status_min = 400;
  rule(b, "max")->status_max = 299;
  a = rule(b, "all");
  ck_assert_int_eq(cfg_list_add(&a->methods, "GET"), 0);
  set(&a->path, "^/api");
  set(&a->host, "example");
  a->status_min = 500;
  ck_assert_int_eq(cfg_add_bucket(c, "all", &b), 0);
  a = rule(b, "all");
  ck_assert_int_eq(cfg_list_add(&a->methods, "GET"), 0);
  set(&a->path, "^/api");
  set(&a->host, "example");
  a->status_min = 500;
  struct err err = {{0}};
  ck_assert_msg(cfg_finish(c, NULL, NULL, &err) == 0, "%s", err.msg);
}

static void rules_teardown(void) { cfg_fini(&g_cfg); }

/* ---- messages ---- */

#define NONE (-1) /* an absent status */

/* A message with the given fields; NULL (or NONE) leaves a field out. */
static struct rs_message msg(const char *method, const char *host,
                             const char *path, int status) {
  struct rs_message m;
  memset(&m, 0, sizeof(m));
  snprintf(m.uuid, sizeof(m.uuid), "%s", "m-1");
  m.timestamp = 1700000000.25;
  if (method) {
    snprintf(m.method, sizeof(m.method), "%s", method);
    m.have |= RS_MSG_METHOD;
  }
  if (host) {
    snprintf(m.host, sizeof(m.host), "%s", host);
    m.have |= RS_MSG_HOST;
  }
  if (path) {
    snprintf(m.path, sizeof(m.path), "%s", path);
    m.have |= RS_MSG_PATH;
  }
  if (status != NONE) {
    m.status = status;
    m.have |= RS_MSG_STATUS;
  }
  return m;
}

/* ---- tr_eval: each condition type, matching and not ---- */

static const struct {
  int rule;
  const char *method, *host, *path;
  int status;
  enum tr_verdict want;
} eval_rows[] = {
    /* Method: any of the list, case-insensitively */
    {R_METHOD, "POST", NULL, NULL, NONE, TR_MATCH},
    {R_METHOD, "Post", NULL, NULL, NONE, TR_MATCH},
    {R_METHOD, "put", NULL, NULL, NONE, TR_MATCH},
    {R_METHOD, "GET", NULL, NULL, NONE, TR_NO_MATCH},
    {R_METHOD, "POSTX", NULL, NULL, NONE, TR_NO_MATCH},
    {R_METHOD, "", NULL, NULL, NONE, TR_NO_MATCH},
    {R_METHOD, NULL, "pay.example.com", "/", 500, TR_UNKNOWN},
    /* Path: unanchored regex, anchored by the rule */
    {R_PATH, NULL, NULL, "/checkout", NONE, TR_MATCH},
    {R_PATH, NULL, NULL, "/checkout/cart", NONE, TR_MATCH},
    {R_PATH, NULL, NULL, "/v1/checkout", NONE, TR_NO_MATCH},
    {R_PATH, NULL, NULL, "/checkouts", NONE, TR_NO_MATCH},
    {R_PATH, NULL, NULL, "/CHECKOUT", NONE, TR_NO_MATCH}, /* case counts */
    {R_PATH, "POST", "pay.example.com", NULL, 500, TR_UNKNOWN},
    /* Host */
    {R_HOST, NULL, "pay.example.com", NULL, NONE, TR_MATCH},
    {R_HOST, NULL, "eu.pay.example.com", NULL, NONE, TR_MATCH},
    {R_HOST, NULL, "xpay.example.com", NULL, NONE, TR_NO_MATCH},
    {R_HOST, NULL, "pay.example.com.evil.net", NULL, NONE, TR_NO_MATCH},
    {R_HOST, "GET", NULL, "/", 500, TR_UNKNOWN},
    /* StatusMin and StatusMax, inclusive */
    {R_RANGE, NULL, NULL, NULL, 500, TR_MATCH},
    {R_RANGE, NULL, NULL, NULL, 503, TR_MATCH},
    {R_RANGE, NULL, NULL, NULL, 501, TR_MATCH},
    {R_RANGE, NULL, NULL, NULL, 499, TR_NO_MATCH},
    {R_RANGE, NULL, NULL, NULL, 504, TR_NO_MATCH},
    {R_RANGE, NULL, NULL, NULL, 0, TR_NO_MATCH}, /* no response */
    {R_RANGE, "GET", "pay.example.com", "/", NONE, TR_UNKNOWN},
    {R_MIN, NULL, NULL, NULL, 400, TR_MATCH},
    {R_MIN, NULL, NULL, NULL, 599, TR_MATCH},
    {R_MIN, NULL, NULL, NULL, 399, TR_NO_MATCH},
    {R_MIN, NULL, NULL, NULL, 0, TR_NO_MATCH},
    {R_MAX, NULL, NULL, NULL, 299, TR_MATCH},
    {R_MAX, NULL, NULL, NULL, 100, TR_MATCH},
    {R_MAX, NULL, NULL, NULL, 300, TR_NO_MATCH},
    {R_MAX, NULL, NULL, NULL, 0, TR_NO_MATCH}, /* no response: no status */
    /* every condition must hold; a failing one wins over a missing one */
    {R_ALL, "get", "api.example.com", "/api/x", 502, TR_MATCH},
    {R_ALL, "POST", "api.example.com", "/api/x", 502, TR_NO_MATCH},
    {R_ALL, "GET", "api.other.org", "/api/x", 502, TR_NO_MATCH},
    {R_ALL, "GET", "api.example.com", "/v2/api", 502, TR_NO_MATCH},
    {R_ALL, "GET", "api.example.com", "/api/x", 404, TR_NO_MATCH},
    {R_ALL, "GET", "api.example.com", "/api/x", NONE, TR_UNKNOWN},
    {R_ALL, NULL, NULL, "/api/x", 502, TR_UNKNOWN},
    {R_ALL, "POST", "api.example.com", "/api/x", NONE, TR_NO_MATCH},
    {R_ALL, NULL, NULL, NULL, 404, TR_NO_MATCH},
};

START_TEST(test_eval) {
  const struct cfg_alert *a = &g_cfg.buckets[0].alerts[eval_rows[_i].rule];
  struct rs_message m = msg(eval_rows[_i].method, eval_rows[_i].host,
                            eval_rows[_i].path, eval_rows[_i].status);
  enum tr_verdict got = tr_eval(a, &m);
  ck_assert_msg(got == eval_rows[_i].want,
                "row %d: rule \"%s\" on %s %s %s %d: got %d, want %d", _i,
                a->name, m.method, m.host, m.path, m.status, got,
                eval_rows[_i].want);
}
END_TEST

/* ---- tr_needs_detail ---- */

static const struct {
  int bucket; /* 0: every rule; 1: R_ALL alone */
  const char *method, *host, *path;
  int status;
  bool want;
} detail_rows[] = {
    /* everything there: no detail */
    {0, "POST", "pay.example.com", "/checkout", 500, false},
    /* a status rule cannot decide without the status */
    {0, "POST", "pay.example.com", "/checkout", NONE, true},
    {0, NULL, NULL, NULL, 500, true},
    /* R_ALL's method fails: no status can make it match */
    {1, "DELETE", "api.example.com", "/api", NONE, false},
    {1, "GET", "api.example.com", "/api", NONE, true},
    {1, "GET", "api.example.com", "/api", 503, false},
    {1, "GET", NULL, "/api", 503, true},
    {1, "GET", NULL, "/other", 503, false},
};

START_TEST(test_needs_detail) {
  const struct cfg_bucket *b = &g_cfg.buckets[detail_rows[_i].bucket];
  struct rs_message m = msg(detail_rows[_i].method, detail_rows[_i].host,
                            detail_rows[_i].path, detail_rows[_i].status);
  ck_assert_msg(tr_needs_detail(b, &m) == detail_rows[_i].want, "row %d", _i);
}
END_TEST

START_TEST(test_merge) {
  struct rs_message m = msg("POST", NULL, "/list", NONE);
  m.timestamp = 0;
  struct rs_message d = msg("GET", "pay.example.com", "/detail", 502);
  tr_merge(&m, &d);
  ck_assert_str_eq(m.method, "POST"); /* the list's own fields stay */
  ck_assert_str_eq(m.path, "/list");
  ck_assert_str_eq(m.host, "pay.example.com");
  ck_assert_int_eq(m.status, 502);
  ck_assert(m.timestamp == d.timestamp);
  ck_assert_uint_eq(m.have,
                    RS_MSG_METHOD | RS_MSG_HOST | RS_MSG_PATH | RS_MSG_STATUS);
  /* a detail without a response: status known to be absent */
  struct rs_message m2 = msg("GET", "a", "/", NONE);
  struct rs_message d2 = msg(NULL, NULL, NULL, 0);
  tr_merge(&m2, &d2);
  ck_assert(m2.have & RS_MSG_STATUS);
  ck_assert_int_eq(m2.status, 0);
  ck_assert_int_eq(tr_eval(&g_cfg.buckets[0].alerts[R_MIN], &m2), TR_NO_MATCH);
  /* a list's host and status stay too */
  struct rs_message m3 = msg(NULL, "list.example.com", NULL, 500);
  struct rs_message d3 = msg("GET", "detail.example.com", "/d", 502);
  tr_merge(&m3, &d3);
  ck_assert_str_eq(m3.host, "list.example.com");
  ck_assert_int_eq(m3.status, 500);
  ck_assert_str_eq(m3.method, "GET");
}
END_TEST

/* ---- flood control ---- */

enum op { MATCH, DUE };

struct step {
  enum op op;
  double now; /* the cycle's time */
  double at;  /* the message's time (MATCH) */
  const char *uuid;
  int want;           /* MATCH: TR_SEND/TR_HOLD; DUE: 1 due, 0 not */
  long report;        /* held matches the event reports */
  double first, last; /* their first and last times (when report > 0) */
  long held_after;
};

#define END_STEPS                                                              \
  { DUE, -1, 0, NULL, 0, 0, 0, 0, 0 }

static const struct {
  const char *name;
  double interval;
  struct step steps[12];
} floods[] = {
    {"interval 300: one event, held matches, flush without a new match",
     300,
     {
         {MATCH, 1000, 999.5, "a", TR_SEND, 0, 0, 0, 0},
         {MATCH, 1010, 1009.0, "b", TR_HOLD, 0, 0, 0, 1},
         {MATCH, 1020, 1019.0, "c", TR_HOLD, 0, 0, 0, 2},
         {DUE, 1200, 0, NULL, 0, 0, 0, 0, 2},
         {DUE, 1299.9, 0, NULL, 0, 0, 0, 0, 2},
         {DUE, 1300, 0, NULL, 1, 2, 1009.0, 1019.0, 0},
         {DUE, 1700, 0, NULL, 0, 0, 0, 0, 0}, /* nothing held: no event */
         {MATCH, 1710, 1705, "d", TR_SEND, 0, 0, 0, 0},
         END_STEPS,
     }},
    {"interval 300: the next match reports the held ones",
     300,
     {
         {MATCH, 1000, 990, "a", TR_SEND, 0, 0, 0, 0},
         {MATCH, 1100, 1090, "b", TR_HOLD, 0, 0, 0, 1},
         {MATCH, 1100, 1080, "c", TR_HOLD, 0, 0, 0, 2}, /* out of order */
         {MATCH, 1300, 1290, "d", TR_SEND, 2, 1080, 1090, 0},
         {MATCH, 1301, 1300, "e", TR_HOLD, 0, 0, 0, 1},
         END_STEPS,
     }},
    {"interval 0: every match sends, nothing is ever held",
     0,
     {
         {MATCH, 1000, 999, "a", TR_SEND, 0, 0, 0, 0},
         {MATCH, 1000, 999, "b", TR_SEND, 0, 0, 0, 0},
         {MATCH, 1000.5, 1000, "c", TR_SEND, 0, 0, 0, 0},
         {DUE, 1001, 0, NULL, 0, 0, 0, 0, 0},
         END_STEPS,
     }},
};

START_TEST(test_flood) {
  struct tr_rule_state r;
  memset(&r, 0, sizeof(r));
  for (int i = 0; floods[_i].steps[i].now >= 0; i++) {
    const struct step *s = &floods[_i].steps[i];
    struct tr_held rep;
    int got;
    if (s->op == MATCH)
      got = (int)tr_flood_match(&r, floods[_i].interval, s->now, s->uuid, s->at,
                                &rep);
    else
      got = tr_flood_due(&r, floods[_i].interval, s->now, &rep);
    ck_assert_msg(got == s->want, "%s, step %d: got %d, want %d",
                  floods[_i].name, i, got, s->want);
    if (got == (s->op == MATCH ? TR_SEND : 1)) {
      ck_assert_msg(rep.count == s->report, "%s, step %d: reports %ld",
                    floods[_i].name, i, rep.count);
      ck_assert(r.last_sent == s->now);
    }
    if (s->report > 0) {
      ck_assert(rep.first_at == s->first);
      ck_assert(rep.last_at == s->last);
    }
    ck_assert_msg(r.held.count == s->held_after, "%s, step %d: %ld held",
                  floods[_i].name, i, r.held.count);
  }
}
END_TEST

/* The held report names the newest held message. */
START_TEST(test_flood_last_uuid) {
  struct tr_rule_state r;
  struct tr_held rep;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(tr_flood_match(&r, 60, 100, "a", 99, &rep), TR_SEND);
  tr_flood_hold(&r, "late", 110);
  tr_flood_hold(&r, "early", 105);
  ck_assert(tr_flood_due(&r, 60, 160, &rep));
  ck_assert_str_eq(rep.last_uuid, "late");
  ck_assert(rep.first_at == 105 && rep.last_at == 110);
}
END_TEST

/* Whatever the order of matches and cycles, every match is accounted for
 * exactly once: in its own event, or in the count of the event after it
 * (or still held); and two events of a rule are never closer than the
 * interval. */
START_TEST(test_flood_accounts_for_every_match) {
  const double interval = 30;
  struct tr_rule_state r;
  memset(&r, 0, sizeof(r));
  unsigned seed = 12345u + (unsigned)_i;
  long matches = 0, own = 0, reported = 0;
  double last_event = -1e9;
  for (double now = 1000; now < 5000; now += 7) {
    seed = seed * 1103515245u + 12345u;
    int n = (int)((seed >> 16) % 4); /* 0..3 matches this cycle */
    for (int k = 0; k < n; k++) {
      struct tr_held rep;
      matches++;
      if (tr_flood_match(&r, interval, now, "m", now - 1, &rep) == TR_SEND) {
        ck_assert(now - last_event >= interval);
        last_event = now;
        own++;
        reported += rep.count;
      }
    }
    struct tr_held rep;
    if (tr_flood_due(&r, interval, now, &rep)) {
      ck_assert(now - last_event >= interval);
      ck_assert_int_gt(rep.count, 0);
      last_event = now;
      reported += rep.count;
    }
  }
  ck_assert_int_gt(matches, 100);
  ck_assert_int_eq(own + reported + r.held.count, matches);
}
END_TEST

/* ---- the seen set and the cursor ---- */

START_TEST(test_seen_and_cursor) {
  struct tr_state st;
  struct tr_bucket_state *b;
  tr_state_init(&st);
  ck_assert_int_eq(tr_bucket_get(&st, "shop", 1000, &b), 0);
  ck_assert(b->since == 1000);
  ck_assert_int_eq(tr_seen_add(b, "c", 1500), 0);
  ck_assert_int_eq(tr_seen_add(b, "a", 1600), 0);
  ck_assert_int_eq(tr_seen_add(b, "b", 1700), 0);
  ck_assert_int_eq(tr_seen_add(b, "a", 1600), 0);  /* once */
  ck_assert_int_eq(tr_seen_add(b, "old", 999), 0); /* before the cursor */
  ck_assert_int_eq(tr_seen_add(b, "at", 1000), 0); /* at it: not listed */
  ck_assert_uint_eq(b->n_seen, 3);
  ck_assert_str_eq(b->seen[0].uuid, "a"); /* sorted */
  ck_assert(tr_seen_has(b, "b") && !tr_seen_has(b, "old"));
  /* the cursor trails the newest message by TR_LATE and forgets what it
   * passed (those cannot be listed again) */
  tr_cursor_advance(b, 1600 + TR_LATE);
  ck_assert(b->since == 1600);
  ck_assert(!tr_seen_has(b, "c") && !tr_seen_has(b, "a"));
  ck_assert(tr_seen_has(b, "b"));
  tr_cursor_advance(b, 1200); /* never back */
  ck_assert(b->since == 1600);
  /* the same bucket again */
  struct tr_bucket_state *again;
  ck_assert_int_eq(tr_bucket_get(&st, "shop", 5, &again), 0);
  ck_assert_ptr_eq(again, b);
  ck_assert(again->since == 1600);
  char long_uuid[RS_ID_MAX + 1];
  memset(long_uuid, 'u', RS_ID_MAX);
  long_uuid[RS_ID_MAX] = '\0';
  ck_assert_int_eq(tr_seen_add(b, long_uuid, 2000), -ENAMETOOLONG);
  tr_state_fini(&st);
}
END_TEST

/* The set is bounded: past TR_SEEN_MAX the oldest goes, and the cursor
 * moves up to it, so it cannot be listed (and alerted) again. */
START_TEST(test_seen_bounded) {
  struct tr_state st;
  struct tr_bucket_state *b;
  tr_state_init(&st);
  ck_assert_int_eq(tr_bucket_get(&st, "shop", 0, &b), 0);
  char uuid[32];
  for (int i = 0; i < TR_SEEN_MAX + 10; i++) {
    snprintf(uuid, sizeof(uuid), "u%06d", (i * 7919) % (TR_SEEN_MAX + 10));
    ck_assert_int_eq(tr_seen_add(b, uuid, 100.0 + i), 0);
  }
  ck_assert_uint_eq(b->n_seen, TR_SEEN_MAX);
  ck_assert(b->since == 100.0 + 9); /* the 10 oldest were dropped */
  for (size_t i = 1; i < b->n_seen; i++)
    ck_assert_int_lt(strcmp(b->seen[i - 1].uuid, b->seen[i].uuid), 0);
  for (size_t i = 0; i < b->n_seen; i++)
    ck_assert(b->seen[i].at > b->since);
  tr_state_fini(&st);
}
END_TEST

/* ---- entries and tr_retain ---- */

START_TEST(test_rules_and_retain) {
  struct tr_state st;
  struct tr_rule_state *r, *r2;
  struct tr_bucket_state *b;
  tr_state_init(&st);
  ck_assert_int_eq(tr_rule_get(&st, "shop", "range", &r), 0);
  ck_assert_int_eq(tr_rule_get(&st, "shop", "gone", &r2), 0);
  r2->held.count = 4;
  ck_assert_int_eq(tr_rule_get(&st, "old-bucket", "range", &r2), 0);
  r2->held.count = 1;
  for (int i = 0; i < 20; i++) { /* growing keeps entries in place */
    char name[16];
    snprintf(name, sizeof(name), "r%d", i);
    ck_assert_int_eq(tr_rule_get(&st, "other", name, &r2), 0);
  }
  ck_assert_ptr_eq(tr_rule_find(&st, "shop", "range"), r);
  ck_assert_int_eq(tr_bucket_get(&st, "shop", 1, &b), 0);
  ck_assert_int_eq(tr_bucket_get(&st, "old-bucket", 1, &b), 0);
  char name[TR_RULE_MAX + 1];
  memset(name, 'n', TR_RULE_MAX);
  name[TR_RULE_MAX] = '\0';
  ck_assert_int_eq(tr_rule_get(&st, "shop", name, &r2), -ENAMETOOLONG);
  /* what the config has no rules for goes, held matches counted */
  ck_assert_int_eq(tr_retain(&st, &g_cfg), 5);
  ck_assert_uint_eq(st.n_rules, 1);
  ck_assert_ptr_eq(st.rules[0], r);
  ck_assert_uint_eq(st.n_buckets, 1);
  ck_assert_str_eq(st.buckets[0]->bucket_key, "shop");
  ck_assert_ptr_null(tr_bucket_find(&st, "old-bucket"));
  tr_state_fini(&st);
  tr_state_fini(&st); /* twice is harmless */
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("traffic");
  TCase *tc = tcase_create("rules: every condition type");
  tcase_add_checked_fixture(tc, rules_setup, rules_teardown);
  tcase_add_loop_test(tc, test_eval, 0, N_ROWS(eval_rows));
  suite_add_tcase(s, tc);
  tc = tcase_create("a message's detail is read only when needed");
  tcase_add_checked_fixture(tc, rules_setup, rules_teardown);
  tcase_add_loop_test(tc, test_needs_detail, 0, N_ROWS(detail_rows));
  tcase_add_test(tc, test_merge);
  suite_add_tcase(s, tc);
  tc = tcase_create("flood control");
  tcase_add_loop_test(tc, test_flood, 0, N_ROWS(floods));
  tcase_add_test(tc, test_flood_last_uuid);
  tcase_add_loop_test(tc, test_flood_accounts_for_every_match, 0, 5);
  suite_add_tcase(s, tc);
  tc = tcase_create("seen set and cursor");
  tcase_add_test(tc, test_seen_and_cursor);
  tcase_add_test(tc, test_seen_bounded);
  suite_add_tcase(s, tc);
  tc = tcase_create("entries and retain");
  tcase_add_checked_fixture(tc, rules_setup, rules_teardown);
  tcase_add_test(tc, test_rules_and_retain);
  suite_add_tcase(s, tc);
  return s;
}
