/* SPDX-License-Identifier: MIT */
/* Unit tests of the <Plugin runscope> parser (config_parse) on oconfig trees
 * built by hand. */
#include "config_parse.h"

#include "config/config.h"
#include "config/window.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/err.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define ck_assert_has(msg, want)                                               \
  ck_assert_msg(strstr((msg), (want)) != NULL, "message \"%s\" lacks \"%s\"",  \
                (msg), (want))

/* ---- oconfig trees on the heap ---- */

static oconfig_item_t *item(const char *key) {
  oconfig_item_t *it = calloc(1, sizeof(*it));
  ck_assert_ptr_nonnull(it);
  it->key = strdup(key);
  ck_assert_ptr_nonnull(it->key);
  return it;
}

static oconfig_value_t *new_value(oconfig_item_t *it, int type) {
  oconfig_value_t *v =
      realloc(it->values, (size_t)(it->values_num + 1) * sizeof(*v));
  ck_assert_ptr_nonnull(v);
  it->values = v;
  v[it->values_num].type = type;
  return &v[it->values_num++];
}

/* Appends a value to it; returns it. */
static oconfig_item_t *add_str(oconfig_item_t *it, const char *s) {
  char *copy = strdup(s);
  ck_assert_ptr_nonnull(copy);
  new_value(it, OCONFIG_TYPE_STRING)->value.string = copy;
  return it;
}

static oconfig_item_t *add_num(oconfig_item_t *it, double d) {
  new_value(it, OCONFIG_TYPE_NUMBER)->value.number = d;
  return it;
}

static oconfig_item_t *add_bool(oconfig_item_t *it, bool b) {
  new_value(it, OCONFIG_TYPE_BOOLEAN)->value.boolean = b;
  return it;
}

/* Moves child (and the items under it) into parent's array of children and
 * frees child's shell; returns parent. */
static oconfig_item_t *adopt(oconfig_item_t *parent, oconfig_item_t *child) {
  oconfig_item_t *v = realloc(parent->children,
                              (size_t)(parent->children_num + 1) * sizeof(*v));
  ck_assert_ptr_nonnull(v);
  v[parent->children_num++] = *child;
  free(child);
  parent->children = v;
  for (int i = 0; i < parent->children_num; i++) {
    v[i].parent = parent;
    for (int j = 0; j < v[i].children_num; j++)
      v[i].children[j].parent = &v[i];
  }
  return parent;
}

static void item_clear(oconfig_item_t *it) {
  free(it->key);
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  for (int i = 0; i < it->children_num; i++)
    item_clear(&it->children[i]);
  free(it->children);
}

static void tree_free(oconfig_item_t *it) {
  if (it == NULL)
    return;
  item_clear(it);
  free(it);
}

/* Key "string", Key 42, Key true. */
static oconfig_item_t *S(const char *key, const char *s) {
  return add_str(item(key), s);
}

static oconfig_item_t *NUM(const char *key, double d) {
  return add_num(item(key), d);
}

static oconfig_item_t *BOOL(const char *key, bool b) {
  return add_bool(item(key), b);
}

/* <key "name"> children... </key>; name NULL: <key>. The children end with
 * NULL. */
static oconfig_item_t *block(const char *key, const char *name, ...) {
  oconfig_item_t *it = item(key);
  if (name != NULL)
    add_str(it, name);
  va_list ap;
  va_start(ap, name);
  oconfig_item_t *child;
  while ((child = va_arg(ap, oconfig_item_t *)) != NULL)
    adopt(it, child);
  va_end(ap);
  return it;
}

#define PLUGIN(...) block("Plugin", "runscope", __VA_ARGS__, NULL)
#define RUNSCOPE(...) block("Runscope", NULL, __VA_ARGS__, NULL)
#define XMATTERS(...) block("XMatters", NULL, __VA_ARGS__, NULL)
#define BUCKET(name, ...) block("Bucket", name, __VA_ARGS__, NULL)
#define ALERT(name, ...) block("TrafficAlert", name, __VA_ARGS__, NULL)

/* Parses root into a fresh c and frees root, so that nothing in c may
 * borrow from the tree. */
static int parse(oconfig_item_t *root, struct cfg *c, struct err *err) {
  cfg_init(c);
  int rc = cfgp_parse(root, c, err);
  tree_free(root);
  return rc;
}

/* ---- a full tree: every key lands in its field ---- */

static oconfig_item_t *full_tree(void) {
  return PLUGIN(
      S("StateFile", "/tmp/rs/state.json"), BOOL("DryRun", true),
      S("DashboardURL", "https://dash.example.com"),
      NUM("DiscoveryInterval", 601), NUM("MaxResultAge", 602),
      NUM("ReconcileInterval", 603), NUM("MaxCatchUp", 604),
      NUM("OutageThreshold", 605), NUM("PendingTimeout", 606),
      NUM("LocationWindow", 607), NUM("MaxRunDuration", 608),
      NUM("MaxResponseBytes", 1048576), NUM("MaxJSONDepth", 32),
      NUM("MaxConcurrentRequests", 8), NUM("MaxRequestsPerSecond", 2.5),
      RUNSCOPE(S("BaseURL", "http://127.0.0.1:18080"), S("Token", "tok"),
               S("TokenFile", "/etc/collectd/runscope.token"),
               NUM("Timeout", 11), BOOL("AllowPlainHTTP", true)),
      XMATTERS(S("BaseURL", "https://xm.example.com"), S("User", "rsuser"),
               S("Password", "pw"),
               S("PasswordFile", "/etc/collectd/xmatters.pass"),
               S("TestResultsTriggerURL", "https://xm.example.com/tr"),
               S("LiveTrafficTriggerURL", "https://xm.example.com/lt"),
               S("Recipient", "api-oncall"), S("Priority", "HIGH"),
               S("AcknowledgeResponse", "Ack"), S("RerunResponse", "Again"),
               S("Mode", "manage"), NUM("Timeout", 12),
               BOOL("AllowPlainHTTP", false)),
      BUCKET("bkt1", S("Test", "t-1"), S("Environment", "env-1"),
             ALERT("checkout 5xx", S("Method", "POST"), S("Path", "^/checkout"),
                   S("Host", "shop\\.example\\.com$"), NUM("StatusMin", 500),
                   NUM("StatusMax", 599), NUM("MinAlertInterval", 13),
                   S("Recipient", "shop-oncall"))));
}

START_TEST(test_full_tree) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(full_tree(), &c, &err), 0);
  ck_assert_str_eq(c.state_file, "/tmp/rs/state.json");
  ck_assert(c.dry_run);
  ck_assert_str_eq(c.dashboard_url, "https://dash.example.com");
  ck_assert(c.discovery_interval == 601);
  ck_assert(c.max_result_age == 602);
  ck_assert(c.reconcile_interval == 603);
  ck_assert(c.max_catch_up == 604);
  ck_assert(c.outage_threshold == 605);
  ck_assert(c.pending_timeout == 606);
  ck_assert(c.location_window == 607);
  ck_assert(c.max_run_duration == 608);
  ck_assert(c.max_response_bytes == 1048576);
  ck_assert_int_eq(c.max_json_depth, 32);
  ck_assert_int_eq(c.max_concurrent_requests, 8);
  ck_assert(c.max_requests_per_second == 2.5);

  const struct cfg_runscope *r = &c.runscope;
  ck_assert_str_eq(r->base_url, "http://127.0.0.1:18080");
  ck_assert_str_eq(r->token, "tok");
  ck_assert_str_eq(r->token_file, "/etc/collectd/runscope.token");
  ck_assert(r->timeout == 11);
  ck_assert(r->allow_plain_http);

  const struct cfg_xmatters *x = &c.xmatters;
  ck_assert_str_eq(x->base_url, "https://xm.example.com");
  ck_assert_str_eq(x->user, "rsuser");
  ck_assert_str_eq(x->password, "pw");
  ck_assert_str_eq(x->password_file, "/etc/collectd/xmatters.pass");
  ck_assert_str_eq(x->test_results_trigger_url, "https://xm.example.com/tr");
  ck_assert_str_eq(x->live_traffic_trigger_url, "https://xm.example.com/lt");
  ck_assert_uint_eq(x->recipients.n, 1);
  ck_assert_str_eq(x->recipients.v[0], "api-oncall");
  ck_assert_str_eq(x->priority, "HIGH");
  ck_assert_str_eq(x->acknowledge_response, "Ack");
  ck_assert_str_eq(x->rerun_response, "Again");
  ck_assert_int_eq(x->mode, CFG_MODE_MANAGE);
  ck_assert(x->timeout == 12);
  ck_assert(!x->allow_plain_http);

  ck_assert_uint_eq(c.n_buckets, 1);
  const struct cfg_bucket *b = &c.buckets[0];
  ck_assert_str_eq(b->key, "bkt1");
  ck_assert_uint_eq(b->tests.n, 1);
  ck_assert_str_eq(b->tests.v[0], "t-1");
  ck_assert_uint_eq(b->environments.n, 1);
  ck_assert_str_eq(b->environments.v[0], "env-1");
  ck_assert_uint_eq(b->n_alerts, 1);
  const struct cfg_alert *a = &b->alerts[0];
  ck_assert_str_eq(a->name, "checkout 5xx");
  ck_assert_uint_eq(a->methods.n, 1);
  ck_assert_str_eq(a->methods.v[0], "POST");
  ck_assert_str_eq(a->path, "^/checkout");
  ck_assert_str_eq(a->host, "shop\\.example\\.com$");
  ck_assert_int_eq(a->status_min, 500);
  ck_assert_int_eq(a->status_max, 599);
  ck_assert(a->min_alert_interval == 13);
  ck_assert_uint_eq(a->recipients.n, 1);
  ck_assert_str_eq(a->recipients.v[0], "shop-oncall");
  cfg_fini(&c);
}
END_TEST

/* ---- keys are case-insensitive, as in collectd ---- */

START_TEST(test_case_insensitive) {
  struct cfg c;
  struct err err = {{0}};
  oconfig_item_t *root = PLUGIN(
      S("statefile", "/tmp/s"), BOOL("DRYRUN", true), NUM("maxjsondepth", 8),
      block("runscope", NULL, S("baseurl", "https://rs.example.com"),
            NUM("TIMEOUT", 3), NULL),
      block("xmatters", NULL, S("testresultstriggerurl", "https://x/t"),
            S("RECIPIENT", "r1"), S("mode", "Manage"), NULL),
      block("bucket", "b", S("test", "t"),
            block("trafficalert", "a", NUM("statusmin", 400),
                  S("method", "GET"), NULL),
            NULL));
  ck_assert_int_eq(parse(root, &c, &err), 0);
  ck_assert_str_eq(c.state_file, "/tmp/s");
  ck_assert(c.dry_run);
  ck_assert_int_eq(c.max_json_depth, 8);
  ck_assert_str_eq(c.runscope.base_url, "https://rs.example.com");
  ck_assert(c.runscope.timeout == 3);
  ck_assert_str_eq(c.xmatters.test_results_trigger_url, "https://x/t");
  ck_assert_uint_eq(c.xmatters.recipients.n, 1);
  ck_assert_int_eq(c.xmatters.mode, CFG_MODE_MANAGE);
  ck_assert_uint_eq(c.n_buckets, 1);
  ck_assert_str_eq(c.buckets[0].tests.v[0], "t");
  ck_assert_uint_eq(c.buckets[0].n_alerts, 1);
  ck_assert_int_eq(c.buckets[0].alerts[0].status_min, 400);
  ck_assert_str_eq(c.buckets[0].alerts[0].methods.v[0], "GET");
  cfg_fini(&c);
}
END_TEST

/* ---- repeated keys: lists accumulate, a single value is replaced ---- */

START_TEST(test_repeated) {
  struct cfg c;
  struct err err = {{0}};
  oconfig_item_t *root =
      PLUGIN(S("StateFile", "/tmp/first"), S("StateFile", "/tmp/second"),
             XMATTERS(S("Recipient", "r1"), S("Priority", "LOW")),
             XMATTERS(S("Recipient", "r2"), S("Recipient", "r3")),
             BUCKET("b1", S("Test", "t1"), S("Environment", "e1"),
                    S("Test", "t2"), S("Environment", "e2"), S("Test", "t3"),
                    ALERT("a1", S("Method", "GET"), S("Method", "POST"),
                          S("Recipient", "x"), S("Recipient", "y")),
                    ALERT("a2", NUM("StatusMin", 500))),
             BUCKET("b2", S("Test", "u1")));
  ck_assert_int_eq(parse(root, &c, &err), 0);
  ck_assert_str_eq(c.state_file, "/tmp/second");
  const struct cfg_list *r = &c.xmatters.recipients;
  ck_assert_uint_eq(r->n, 3);
  ck_assert_str_eq(r->v[0], "r1");
  ck_assert_str_eq(r->v[1], "r2");
  ck_assert_str_eq(r->v[2], "r3");
  ck_assert_str_eq(c.xmatters.priority, "LOW"); /* the second block adds */

  ck_assert_uint_eq(c.n_buckets, 2);
  const struct cfg_bucket *b = &c.buckets[0];
  ck_assert_str_eq(b->key, "b1");
  ck_assert_uint_eq(b->tests.n, 3);
  ck_assert_str_eq(b->tests.v[0], "t1");
  ck_assert_str_eq(b->tests.v[1], "t2");
  ck_assert_str_eq(b->tests.v[2], "t3");
  ck_assert_uint_eq(b->environments.n, 2);
  ck_assert_str_eq(b->environments.v[1], "e2");
  ck_assert_uint_eq(b->n_alerts, 2);
  ck_assert_str_eq(b->alerts[0].name, "a1");
  ck_assert_uint_eq(b->alerts[0].methods.n, 2);
  ck_assert_str_eq(b->alerts[0].methods.v[1], "POST");
  ck_assert_uint_eq(b->alerts[0].recipients.n, 2);
  ck_assert_str_eq(b->alerts[0].recipients.v[1], "y");
  ck_assert_str_eq(b->alerts[1].name, "a2");
  ck_assert(b->alerts[1].min_alert_interval == 300); /* the default */
  ck_assert_str_eq(c.buckets[1].key, "b2");
  ck_assert_uint_eq(c.buckets[1].tests.n, 1);
  ck_assert_uint_eq(c.buckets[1].n_alerts, 0);
  cfg_fini(&c);
}
END_TEST

/* ---- booleans: true/false, and the strings collectd users write ---- */

static const struct {
  const char *block; /* NULL: <Plugin runscope> */
  const char *key;
  bool is_string;
  const char *s;
  bool b;
  bool expect;
} bool_cases[] = {
    {NULL, "DryRun", false, NULL, true, true},
    {NULL, "DryRun", false, NULL, false, false},
    {NULL, "DryRun", true, "true", false, true},
    {NULL, "DryRun", true, "false", false, false},
    {NULL, "DryRun", true, "TRUE", false, true},
    {NULL, "DryRun", true, "False", false, false},
    {NULL, "DryRun", true, "yes", false, true},
    {NULL, "DryRun", true, "no", false, false},
    {"Runscope", "AllowPlainHTTP", false, NULL, true, true},
    {"Runscope", "AllowPlainHTTP", true, "true", false, true},
    {"Runscope", "AllowPlainHTTP", true, "false", false, false},
    {"XMatters", "AllowPlainHTTP", false, NULL, true, true},
    {"XMatters", "AllowPlainHTTP", true, "true", false, true},
    {"XMatters", "AllowPlainHTTP", true, "false", false, false},
    {NULL, "ValuesEveryInterval", false, NULL, true, true},
    {NULL, "ValuesEveryInterval", true, "false", false, false},
    {NULL, "ValuesEveryInterval", true, "yes", false, true},
    {NULL, "DetailedValues", false, NULL, true, true},
    {NULL, "DetailedValues", true, "False", false, false},
    {NULL, "DetailedValues", true, "true", false, true},
};

/* The field of bool_cases[i] in the order of test_booleans' fields. */
static int bool_target(int i) {
  static const char *const top[] = {"DryRun", "", "", "ValuesEveryInterval",
                                    "DetailedValues"};
  if (bool_cases[i].block != NULL)
    return strcmp(bool_cases[i].block, "Runscope") == 0 ? 1 : 2;
  for (int k = 0; k < 5; k++)
    if (strcmp(top[k], bool_cases[i].key) == 0)
      return k;
  return -1;
}

START_TEST(test_booleans) {
  /* The key twice: first the opposite, so that the value must change it. */
  oconfig_item_t *first = BOOL(bool_cases[_i].key, !bool_cases[_i].expect);
  oconfig_item_t *second = bool_cases[_i].is_string
                               ? S(bool_cases[_i].key, bool_cases[_i].s)
                               : BOOL(bool_cases[_i].key, bool_cases[_i].b);
  oconfig_item_t *root =
      bool_cases[_i].block == NULL
          ? PLUGIN(first, second)
          : PLUGIN(block(bool_cases[_i].block, NULL, first, second, NULL));
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(root, &c, &err), 0);
  bool *fields[] = {&c.dry_run, &c.runscope.allow_plain_http,
                    &c.xmatters.allow_plain_http, &c.values_every_interval,
                    &c.detailed_values};
  int target = bool_target(_i);
  ck_assert_int_ge(target, 0);
  for (int i = 0; i < 5; i++)
    ck_assert_msg(*fields[i] == (i == target && bool_cases[_i].expect),
                  "field %d is %d", i, *fields[i]);
  cfg_fini(&c);
}
END_TEST

/* ---- Mode ---- */

static const char *const manage_spellings[] = {"manage", "Manage", "MANAGE"};

START_TEST(test_mode_manage) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(
      parse(PLUGIN(XMATTERS(S("Mode", manage_spellings[_i]))), &c, &err), 0);
  ck_assert_int_eq(c.xmatters.mode, CFG_MODE_MANAGE);
  cfg_fini(&c);
}
END_TEST

static const char *const forward_spellings[] = {"forward", "Forward",
                                                "FORWARD"};

START_TEST(test_mode_forward) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(
      parse(PLUGIN(XMATTERS(S("Mode", forward_spellings[_i]))), &c, &err), 0);
  ck_assert_int_eq(c.xmatters.mode, CFG_MODE_FORWARD);
  cfg_fini(&c);
}
END_TEST

/* ---- numbers the parser accepts: 0 seconds, whole numbers as doubles ---- */

START_TEST(test_numbers) {
  struct cfg c;
  struct err err = {{0}};
  oconfig_item_t *root =
      PLUGIN(NUM("DiscoveryInterval", 0.5), NUM("MaxJSONDepth", 100.0),
             NUM("MaxResponseBytes", 2048.5),
             BUCKET("b", ALERT("a", NUM("MinAlertInterval", 0),
                               NUM("StatusMin", 400))));
  ck_assert_int_eq(parse(root, &c, &err), 0);
  ck_assert(c.discovery_interval == 0.5);
  ck_assert_int_eq(c.max_json_depth, 100);
  ck_assert(c.max_response_bytes == 2048.5);
  ck_assert(c.buckets[0].alerts[0].min_alert_interval == 0); /* off */
  ck_assert_int_eq(c.buckets[0].alerts[0].status_min, 400);
  cfg_fini(&c);
}
END_TEST

/* ---- an empty block: the defaults stay ---- */

START_TEST(test_empty) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(item("Plugin"), &c, &err), 0);
  ck_assert_ptr_null(c.state_file);
  ck_assert(c.discovery_interval == 600);
  ck_assert_uint_eq(c.n_buckets, 0);
  cfg_fini(&c);
}
END_TEST

/* ---- parse, then cfg_finish: the example a user starts from ---- */

START_TEST(test_parse_and_finish) {
  oconfig_item_t *root = PLUGIN(
      S("StateFile", "/tmp/rs-state.json"), BOOL("DryRun", false),
      RUNSCOPE(S("BaseURL", "http://127.0.0.1:18080"), S("Token", "tok"),
               NUM("Timeout", 10)),
      XMATTERS(S("BaseURL", "http://127.0.0.1:18081"), S("User", "runscope"),
               S("Password", "pw"),
               S("TestResultsTriggerURL", "http://127.0.0.1:18081/"
                                          "api/integration/1/functions/U/"
                                          "triggers?apiKey=K"),
               S("LiveTrafficTriggerURL", "http://127.0.0.1:18081/"
                                          "api/integration/1/functions/L/"
                                          "triggers?apiKey=K"),
               S("Recipient", "api-oncall"), S("Mode", "manage")),
      BUCKET("bkt", S("Test", "t1"),
             ALERT("5xx", S("Path", "^/checkout"), NUM("StatusMin", 500))));
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(root, &c, &err), 0);
  int rc = cfg_finish(&c, NULL, NULL, &err);
  ck_assert_msg(rc == 0, "cfg_finish: %d: %s", rc, err.msg);
  ck_assert_str_eq(c.dashboard_url, "https://www.runscope.com");
  cfg_fini(&c);
}
END_TEST

/* ---- secrets written inline in the config ---- */

/* Collects the warnings of cfg_finish, one per line. */
static void collect_lines(void *ctx, const char *msg) {
  struct buf *b = ctx;
  ck_assert_int_eq(buf_printf(b, "%s\n", msg), 0);
}

/* Every secret written inline (Token, Password of <XMatters> and
 * <Cluster>, ClientKeyPass, a Proxy with credentials) gets one warning of
 * the same shape, naming the file option and never the secret. */
START_TEST(test_inline_secrets_warn) {
  oconfig_item_t *root = PLUGIN(
      RUNSCOPE(S("Token", "tok-SECRET1"), S("ClientCert", "/etc/passwd"),
               S("ClientKey", "/etc/passwd"), S("ClientKeyPass", "kp-SECRET2")),
      XMATTERS(S("BaseURL", "https://x.example.com"), S("User", "runscope"),
               S("Password", "pw-SECRET3"),
               S("Proxy", "http://bob:px-SECRET4@proxy.example:3128"),
               S("TestResultsTriggerURL", "https://x.example.com/t?apiKey=K")),
      block("Cluster", NULL, S("Endpoint", "https://etcd.example.com:2379"),
            S("User", "u"), S("Password", "etcd-SECRET5"), NULL));
  struct cfg c;
  struct err err = {{0}};
  struct buf w;
  buf_init(&w, 8192);
  ck_assert_int_eq(parse(root, &c, &err), 0);
  ck_assert_msg(cfg_finish(&c, collect_lines, &w, &err) == 0, "%s", err.msg);
  static const char *const want[] = {
      "<Runscope> ClientKeyPass holds the client key's passphrase inline; put "
      "it on the first line of a file of mode 0600 and name that file with "
      "ClientKeyPassFile\n",
      "<Runscope> Token holds the API token inline; put it on the first line "
      "of a file of mode 0600 and name that file with TokenFile\n",
      "<XMatters> Proxy holds the proxy's credentials inline; put "
      "\"user:password\" on the first line of a file of mode 0600 and name "
      "that file with ProxyUserFile\n",
      "<XMatters> Password holds the REST user's password inline; put it on "
      "the first line of a file of mode 0600 and name that file with "
      "PasswordFile\n",
      "<Cluster> Password holds etcd's password inline; put it on the first "
      "line of a file of mode 0600 and name that file with PasswordFile\n",
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    ck_assert_msg(strstr(w.data, want[i]) != NULL, "no \"%s\" in:\n%s", want[i],
                  w.data);
  ck_assert_msg(strstr(w.data, "SECRET") == NULL, "%s", w.data);
  cfg_fini(&c);
  buf_fini(&w);
}
END_TEST

/* ---- what the parser refuses, with the key, its block and the fix ---- */

static oconfig_item_t *t_unknown_top(void) {
  return PLUGIN(S("StateFile", "/tmp/s"), S("Tokn", "x"));
}
static oconfig_item_t *t_unknown_runscope(void) {
  return PLUGIN(RUNSCOPE(S("BaseUrl2", "https://x")));
}
static oconfig_item_t *t_unknown_xmatters(void) {
  return PLUGIN(XMATTERS(S("Priorty", "HIGH")));
}
static oconfig_item_t *t_unknown_bucket(void) {
  return PLUGIN(BUCKET("b1", S("Tests", "t")));
}
static oconfig_item_t *t_unknown_alert(void) {
  return PLUGIN(BUCKET("b1", ALERT("5xx", NUM("Status", 500))));
}
static oconfig_item_t *t_interval(void) { return PLUGIN(NUM("Interval", 30)); }
static oconfig_item_t *t_token_top(void) { return PLUGIN(S("Token", "tok")); }
static oconfig_item_t *t_string_number(void) {
  return PLUGIN(NUM("StateFile", 5));
}
static oconfig_item_t *t_string_two(void) {
  return PLUGIN(add_str(S("StateFile", "/a"), "/b"));
}
static oconfig_item_t *t_string_none(void) { return PLUGIN(item("StateFile")); }
static oconfig_item_t *t_string_block(void) {
  return PLUGIN(RUNSCOPE(block("Token", "x", S("Value", "y"), NULL)));
}
static oconfig_item_t *t_timeout_string(void) {
  return PLUGIN(RUNSCOPE(S("Timeout", "10")));
}
static oconfig_item_t *t_timeout_negative(void) {
  return PLUGIN(XMATTERS(NUM("Timeout", -1)));
}
static oconfig_item_t *t_interval_negative(void) {
  return PLUGIN(NUM("DiscoveryInterval", -5));
}
static oconfig_item_t *t_alert_interval_negative(void) {
  return PLUGIN(BUCKET("b1", ALERT("5xx", NUM("MinAlertInterval", -1))));
}
static oconfig_item_t *t_parallel_fraction(void) {
  return PLUGIN(NUM("MaxConcurrentRequests", 2.5));
}
static oconfig_item_t *t_rate_string(void) {
  return PLUGIN(S("MaxRequestsPerSecond", "20"));
}
static oconfig_item_t *t_depth_fraction(void) {
  return PLUGIN(NUM("MaxJSONDepth", 1.5));
}
static oconfig_item_t *t_depth_string(void) {
  return PLUGIN(S("MaxJSONDepth", "64"));
}
static oconfig_item_t *t_depth_huge(void) {
  return PLUGIN(NUM("MaxJSONDepth", 1e10));
}
static oconfig_item_t *t_depth_tiny(void) {
  return PLUGIN(NUM("MaxJSONDepth", -1e300));
}
static oconfig_item_t *t_status_fraction(void) {
  return PLUGIN(BUCKET("b1", ALERT("5xx", NUM("StatusMin", 500.5))));
}
static oconfig_item_t *t_status_huge(void) {
  return PLUGIN(BUCKET("b1", ALERT("5xx", NUM("StatusMax", 3e9))));
}
static oconfig_item_t *t_bool_maybe(void) {
  return PLUGIN(S("DryRun", "maybe"));
}
static oconfig_item_t *t_bool_number(void) { return PLUGIN(NUM("DryRun", 1)); }
static oconfig_item_t *t_detailed_values_some(void) {
  return PLUGIN(S("DetailedValues", "some"));
}
static oconfig_item_t *t_every_interval_number(void) {
  return PLUGIN(NUM("ValuesEveryInterval", 1));
}
static oconfig_item_t *t_bool_runscope(void) {
  return PLUGIN(RUNSCOPE(S("AllowPlainHTTP", "sometimes")));
}
static oconfig_item_t *t_number_string(void) {
  return PLUGIN(S("MaxResponseBytes", "16M"));
}
static oconfig_item_t *t_list_number(void) {
  return PLUGIN(XMATTERS(NUM("Recipient", 5)));
}
static oconfig_item_t *t_list_bool(void) {
  return PLUGIN(BUCKET("b1", BOOL("Test", true)));
}
static oconfig_item_t *t_list_two(void) {
  return PLUGIN(BUCKET("b1", add_str(S("Environment", "e1"), "e2")));
}
static oconfig_item_t *t_mode_other(void) {
  return PLUGIN(XMATTERS(S("Mode", "other")));
}
static oconfig_item_t *t_mode_number(void) {
  return PLUGIN(XMATTERS(NUM("Mode", 1)));
}
static oconfig_item_t *t_mode_two(void) {
  return PLUGIN(XMATTERS(add_str(S("Mode", "forward"), "manage")));
}
static oconfig_item_t *t_bucket_unnamed(void) {
  return PLUGIN(BUCKET(NULL, S("Test", "t")));
}
static oconfig_item_t *t_bucket_empty_name(void) {
  return PLUGIN(BUCKET("", S("Test", "t")));
}
static oconfig_item_t *t_bucket_number_name(void) {
  return PLUGIN(add_num(block("Bucket", NULL, S("Test", "t"), NULL), 42));
}
static oconfig_item_t *t_alert_unnamed(void) {
  return PLUGIN(BUCKET("b1", ALERT(NULL, NUM("StatusMin", 500))));
}
/* The error is in the second bucket: the first is built and must be freed
 * by cfg_fini. */
static oconfig_item_t *t_second_bucket(void) {
  return PLUGIN(BUCKET("b1", S("Test", "t"), ALERT("a", S("Method", "GET"))),
                BUCKET("b2", S("Test", "u"), S("Enviroment", "e")));
}

static const struct {
  const char *name;
  oconfig_item_t *(*tree)(void);
  const char *want[3]; /* in the message; NULL ends the list */
} bad_cases[] = {
    {"unknown at top",
     t_unknown_top,
     {"unknown option \"Tokn\" in <Plugin runscope>",
      "known options: StateFile, DryRun, DashboardURL, DiscoveryInterval",
      "MaxJSONDepth, Runscope, XMatters, Bucket"}},
    {"unknown in Runscope",
     t_unknown_runscope,
     {"unknown option \"BaseUrl2\" in <Runscope>",
      "known options: BaseURL, Token, TokenFile, Timeout, AllowPlainHTTP",
      NULL}},
    {"unknown in XMatters",
     t_unknown_xmatters,
     {"unknown option \"Priorty\" in <XMatters>",
      "known options: BaseURL, User,", "Priority"}},
    {"unknown in Bucket",
     t_unknown_bucket,
     {"unknown option \"Tests\" in <Bucket \"b1\">",
      "known options: Test, Environment, TrafficAlert", NULL}},
    {"unknown in TrafficAlert",
     t_unknown_alert,
     {"unknown option \"Status\" in <TrafficAlert \"5xx\">",
      "known options: Method, Path, Host, StatusMin, StatusMax, "
      "MinAlertInterval, Recipient",
      NULL}},
    {"Interval",
     t_interval,
     {"unknown option \"Interval\"",
      "Interval belongs in <LoadPlugin runscope>", NULL}},
    {"Token at top",
     t_token_top,
     {"unknown option \"Token\" in <Plugin runscope>", NULL, NULL}},
    {"number for a string",
     t_string_number,
     {"StateFile: expects one quoted string", NULL, NULL}},
    {"two strings",
     t_string_two,
     {"StateFile: expects one quoted string", NULL, NULL}},
    {"no value",
     t_string_none,
     {"StateFile: expects one quoted string", NULL, NULL}},
    {"a block for a string",
     t_string_block,
     {"<Runscope> Token: expects one quoted string", NULL, NULL}},
    {"string Timeout",
     t_timeout_string,
     {"<Runscope> Timeout: expects a number of seconds (0 or more)", NULL,
      NULL}},
    {"negative Timeout",
     t_timeout_negative,
     {"<XMatters> Timeout: expects a number of seconds (0 or more)", NULL,
      NULL}},
    {"negative interval",
     t_interval_negative,
     {"DiscoveryInterval: expects a number of seconds (0 or more)", NULL,
      NULL}},
    {"negative MinAlertInterval",
     t_alert_interval_negative,
     {"<TrafficAlert \"5xx\"> MinAlertInterval: expects a number of seconds",
      NULL, NULL}},
    {"MaxConcurrentRequests 2.5",
     t_parallel_fraction,
     {"MaxConcurrentRequests: expects a whole number", NULL, NULL}},
    {"MaxRequestsPerSecond \"20\"",
     t_rate_string,
     {"MaxRequestsPerSecond: expects a number", NULL, NULL}},
    {"MaxJSONDepth 1.5",
     t_depth_fraction,
     {"MaxJSONDepth: expects a whole number", NULL, NULL}},
    {"MaxJSONDepth \"64\"",
     t_depth_string,
     {"MaxJSONDepth: expects a whole number", NULL, NULL}},
    {"MaxJSONDepth 1e10",
     t_depth_huge,
     {"MaxJSONDepth: expects a whole number", NULL, NULL}},
    {"MaxJSONDepth -1e300",
     t_depth_tiny,
     {"MaxJSONDepth: expects a whole number", NULL, NULL}},
    {"StatusMin 500.5",
     t_status_fraction,
     {"<TrafficAlert \"5xx\"> StatusMin: expects a whole number", NULL, NULL}},
    {"StatusMax 3e9",
     t_status_huge,
     {"<TrafficAlert \"5xx\"> StatusMax: expects a whole number", NULL, NULL}},
    {"DryRun \"maybe\"",
     t_bool_maybe,
     {"DryRun: expects true or false", NULL, NULL}},
    {"DryRun 1", t_bool_number, {"DryRun: expects true or false", NULL, NULL}},
    {"DetailedValues \"some\"",
     t_detailed_values_some,
     {"DetailedValues: expects true or false", NULL, NULL}},
    {"ValuesEveryInterval 1",
     t_every_interval_number,
     {"ValuesEveryInterval: expects true or false", NULL, NULL}},
    {"AllowPlainHTTP \"sometimes\"",
     t_bool_runscope,
     {"<Runscope> AllowPlainHTTP: expects true or false", NULL, NULL}},
    {"MaxResponseBytes \"16M\"",
     t_number_string,
     {"MaxResponseBytes: expects a number", NULL, NULL}},
    {"Recipient 5",
     t_list_number,
     {"<XMatters> Recipient: expects one quoted string (repeat the line", NULL,
      NULL}},
    {"Test true",
     t_list_bool,
     {"<Bucket \"b1\"> Test: expects one quoted string", NULL, NULL}},
    {"Environment with two values",
     t_list_two,
     {"<Bucket \"b1\"> Environment: expects one quoted string (repeat", NULL,
      NULL}},
    {"Mode \"other\"",
     t_mode_other,
     {"<XMatters> Mode: expects", "\"manage\"", NULL}},
    {"Mode 1", t_mode_number, {"<XMatters> Mode: expects", NULL, NULL}},
    {"Mode with two values",
     t_mode_two,
     {"<XMatters> Mode: expects \"manage\" or \"forward\"", NULL, NULL}},
    {"<Bucket> without a name",
     t_bucket_unnamed,
     {"<Bucket> needs one quoted name", "<Bucket \"name\">", NULL}},
    {"<Bucket \"\">",
     t_bucket_empty_name,
     {"<Bucket> needs one quoted name", NULL, NULL}},
    {"<Bucket 42>",
     t_bucket_number_name,
     {"<Bucket> needs one quoted name", NULL, NULL}},
    {"<TrafficAlert> without a name",
     t_alert_unnamed,
     {"<TrafficAlert> needs one quoted name", "<TrafficAlert \"name\">", NULL}},
    {"error in the second bucket",
     t_second_bucket,
     {"unknown option \"Enviroment\" in <Bucket \"b2\">", "Environment", NULL}},
};

START_TEST(test_errors) {
  struct cfg c;
  struct err err = {{0}};
  int rc = parse(bad_cases[_i].tree(), &c, &err);
  ck_assert_msg(rc == -EINVAL, "%s: rc %d, expected -EINVAL (%s)",
                bad_cases[_i].name, rc, err.msg);
  for (int i = 0; i < 3 && bad_cases[_i].want[i] != NULL; i++)
    ck_assert_has(err.msg, bad_cases[_i].want[i]);
  cfg_fini(&c); /* frees what was built before the error */
}
END_TEST

/* The same errors without a struct err: the code alone. */
START_TEST(test_errors_null_err) {
  struct cfg c;
  ck_assert_int_eq(parse(bad_cases[_i].tree(), &c, NULL), -EINVAL);
  cfg_fini(&c);
}
END_TEST

/* ---- responses: RerunKeepsEventOpen, MaxRerunsPerEvent ---- */

static oconfig_item_t *t_reruns_ok(void) {
  return PLUGIN(
      XMATTERS(BOOL("RerunKeepsEventOpen", true), NUM("MaxRerunsPerEvent", 5)));
}
static oconfig_item_t *t_reruns_strings(void) {
  return PLUGIN(
      XMATTERS(S("rerunkeepseventopen", "yes"), NUM("maxrerunsperevent", 0)));
}
static oconfig_item_t *t_reruns_fraction(void) {
  return PLUGIN(XMATTERS(NUM("MaxRerunsPerEvent", 2.5)));
}
static oconfig_item_t *t_reruns_string(void) {
  return PLUGIN(XMATTERS(S("MaxRerunsPerEvent", "3")));
}
static oconfig_item_t *t_keep_open_maybe(void) {
  return PLUGIN(XMATTERS(S("RerunKeepsEventOpen", "maybe")));
}
static oconfig_item_t *t_keep_open_outside(void) {
  return PLUGIN(BOOL("RerunKeepsEventOpen", true));
}

static const struct {
  oconfig_item_t *(*tree)(void);
  int rc;
  bool keep_open;
  int max_reruns;
  const char *want; /* in the message, for errors */
} reruns_keys[] = {
    {t_reruns_ok, 0, true, 5, NULL},
    {t_reruns_strings, 0, true, 0, NULL},
    {t_reruns_fraction, -EINVAL, false, 3,
     "<XMatters> MaxRerunsPerEvent: expects a whole number"},
    {t_reruns_string, -EINVAL, false, 3,
     "<XMatters> MaxRerunsPerEvent: expects a whole number"},
    {t_keep_open_maybe, -EINVAL, false, 3,
     "<XMatters> RerunKeepsEventOpen: expects true or false"},
    {t_keep_open_outside, -EINVAL, false, 3,
     "unknown option \"RerunKeepsEventOpen\" in <Plugin runscope>"},
};

START_TEST(test_responses_keys) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(reruns_keys[_i].tree(), &c, &err), reruns_keys[_i].rc);
  if (reruns_keys[_i].want != NULL)
    ck_assert_has(err.msg, reruns_keys[_i].want);
  ck_assert(c.xmatters.rerun_keeps_event_open == reruns_keys[_i].keep_open);
  ck_assert_int_eq(c.xmatters.max_reruns_per_event, reruns_keys[_i].max_reruns);
  cfg_fini(&c);
}
END_TEST

/* ---- the TLS and proxy keys, the same in every API block ---- */

/* Every TLS and proxy key, in the block named block. */
static oconfig_item_t *tls_proxy_block(const char *name) {
  return block(
      name, NULL, S("CACert", "/etc/ssl/ca.pem"), S("CAPath", "/etc/ssl/certs"),
      BOOL("VerifyPeer", false), S("VerifyHost", "no"),
      S("ClientCert", "/etc/c.pem"), S("ClientKey", "/etc/c.key"),
      S("ClientKeyPass", "kp"), S("ClientKeyPassFile", "/etc/c.pass"),
      S("Proxy", "http://proxy:3128"), S("ProxyUserFile", "/etc/p.user"),
      S("NoProxy", "localhost"), S("NoProxy", ".internal"),
      S("ProxyCACert", "/etc/p.pem"), BOOL("ProxyFromEnvironment", true), NULL);
}

static void assert_tls_proxy(const struct cfg_tls_proxy *t) {
  ck_assert_str_eq(t->ca_cert, "/etc/ssl/ca.pem");
  ck_assert_str_eq(t->ca_path, "/etc/ssl/certs");
  ck_assert(!t->verify_peer);
  ck_assert(!t->verify_host);
  ck_assert_str_eq(t->client_cert, "/etc/c.pem");
  ck_assert_str_eq(t->client_key, "/etc/c.key");
  ck_assert_str_eq(t->client_key_pass, "kp");
  ck_assert_str_eq(t->client_key_pass_file, "/etc/c.pass");
  ck_assert_str_eq(t->proxy, "http://proxy:3128");
  ck_assert_str_eq(t->proxy_user_file, "/etc/p.user");
  ck_assert_uint_eq(t->no_proxy.n, 2);
  ck_assert_str_eq(t->no_proxy.v[1], ".internal");
  ck_assert_str_eq(t->proxy_ca_cert, "/etc/p.pem");
  ck_assert(t->proxy_from_environment);
}

START_TEST(test_tls_proxy_keys) {
  struct cfg c;
  struct err err = {{0}};
  int rc =
      parse(PLUGIN(tls_proxy_block("Runscope"), tls_proxy_block("xmatters"),
                   tls_proxy_block("Cluster")),
            &c, &err);
  ck_assert_msg(rc == 0, "%s", err.msg);
  assert_tls_proxy(&c.runscope.net);
  assert_tls_proxy(&c.xmatters.net);
  assert_tls_proxy(&c.cluster.net);
  cfg_fini(&c);
}
END_TEST

START_TEST(test_tls_proxy_defaults_and_errors) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(PLUGIN(RUNSCOPE(S("Token", "t"))), &c, &err), 0);
  ck_assert(c.runscope.net.verify_peer && c.runscope.net.verify_host);
  ck_assert(c.xmatters.net.verify_peer && c.xmatters.net.verify_host);
  cfg_fini(&c);
  ck_assert_int_eq(parse(PLUGIN(XMATTERS(S("VerifyPeer", "maybe"))), &c, &err),
                   -EINVAL);
  ck_assert_has(err.msg, "<XMatters> VerifyPeer: expects true or false");
  cfg_fini(&c);
  ck_assert_int_eq(parse(PLUGIN(S("Proxy", "http://p:3128")), &c, &err),
                   -EINVAL);
  ck_assert_has(err.msg, "unknown option \"Proxy\" in <Plugin runscope>");
  cfg_fini(&c);
}
END_TEST

/* ---- the suite ---- */

/* <Cluster>: every key lands in its field; a second block is refused. */
START_TEST(test_cluster_block) {
  struct cfg c;
  struct err err = {{0}};
  oconfig_item_t *k = block(
      "Cluster", NULL, S("Endpoint", "http://127.0.0.1:2379"),
      S("Endpoint", "https://etcd2.example.com:2379"), S("Name", "agent-a"),
      NUM("LeaseTTL", 4), S("Prefix", "/x/"), S("User", "u"),
      S("PasswordFile", "/etc/p"), BOOL("AllowPlainHTTP", true), NULL);
  ck_assert_msg(parse(PLUGIN(k), &c, &err) == 0, "%s", err.msg);
  ck_assert(c.cluster.enabled);
  ck_assert_int_eq((int)c.cluster.endpoints.n, 2);
  ck_assert_str_eq(c.cluster.endpoints.v[1], "https://etcd2.example.com:2379");
  ck_assert_str_eq(c.cluster.name, "agent-a");
  ck_assert_double_eq(c.cluster.lease_ttl, 4);
  ck_assert_str_eq(c.cluster.prefix, "/x/");
  ck_assert_str_eq(c.cluster.user, "u");
  ck_assert_str_eq(c.cluster.password_file, "/etc/p");
  ck_assert(c.cluster.allow_plain_http);
  cfg_fini(&c);
  oconfig_item_t *one = block("Cluster", NULL, S("Name", "a"), NULL);
  oconfig_item_t *two = block("Cluster", NULL, S("Name", "b"), NULL);
  ck_assert_int_eq(parse(PLUGIN(one, two), &c, &err), -EINVAL);
  ck_assert_has(err.msg, "<Cluster> appears twice");
  cfg_fini(&c);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *fn, int rows) {
  unit_add_case(s, name, fn, rows, NULL, NULL);
}

/* ---- alert semantics: thresholds, flap damping, maintenance (issue 15) */

#define MAINT(name, ...) block("Maintenance", name, __VA_ARGS__, NULL)

/* A config that cfg_finish accepts, with extra top-level items. */
static int parse_finish(oconfig_item_t *extra1, oconfig_item_t *extra2,
                        struct cfg *c, struct err *err) {
  oconfig_item_t *root = PLUGIN(
      RUNSCOPE(S("BaseURL", "http://127.0.0.1:18080"), S("Token", "tok")),
      XMATTERS(S("BaseURL", "http://127.0.0.1:18081"), S("User", "runscope"),
               S("Password", "pw"),
               S("TestResultsTriggerURL", "http://127.0.0.1:18081/t")),
      extra1, extra2);
  int rc = parse(root, c, err);
  return rc != 0 ? rc : cfg_finish(c, NULL, NULL, err);
}

START_TEST(test_alerting_options) {
  struct cfg c;
  struct err err = {{0}};
  cfg_init(&c);
  ck_assert_int_eq(c.failure_threshold, 1);
  ck_assert_int_eq(c.recovery_threshold, 1);
  ck_assert(!c.flap_detection);
  ck_assert_int_eq(c.flap_window, 21);
  ck_assert_double_eq(c.flap_low_threshold, 25);
  ck_assert_double_eq(c.flap_high_threshold, 50);
  cfg_fini(&c);
  int rc = parse_finish(
      BUCKET("bkt", NUM("FailureThreshold", 3), NUM("RecoveryThreshold", 2)),
      MAINT("deploy", S("Bucket", "bkt"), S("Bucket", "Shop"),
            S("Test", "Checkout API"), S("Weekly", "Sat 22:00-Sun 02:00"),
            S("Reason", "release")),
      &c, &err);
  ck_assert_msg(rc == 0, "%s", err.msg);
  ck_assert_int_eq(c.buckets[0].failure_threshold, 3);
  ck_assert_int_eq(c.buckets[0].recovery_threshold, 2);
  ck_assert_uint_eq(c.n_windows, 1);
  ck_assert_str_eq(c.windows[0].name, "deploy");
  ck_assert_uint_eq(c.windows[0].buckets.n, 2);
  ck_assert(c.windows[0].weekly);
  ck_assert_int_eq(c.windows[0].week_start, 5 * 86400 + 22 * 3600);
  ck_assert_int_eq(c.windows[0].week_len, 4 * 3600);
  cfg_fini(&c);
  oconfig_item_t *root =
      PLUGIN(NUM("FailureThreshold", 2), NUM("RecoveryThreshold", 4),
             BOOL("FlapDetection", true), NUM("FlapWindow", 10),
             NUM("FlapLowThreshold", 20), NUM("FlapHighThreshold", 40),
             S("MaintenanceDir", "/tmp/mw"),
             MAINT("once", S("Start", "2026-12-24T18:00:00Z"),
                   S("End", "2026-12-27T08:00:00Z")));
  ck_assert_int_eq(parse(root, &c, &err), 0);
  ck_assert_int_eq(c.failure_threshold, 2);
  ck_assert_int_eq(c.recovery_threshold, 4);
  ck_assert(c.flap_detection);
  ck_assert_int_eq(c.flap_window, 10);
  ck_assert_double_eq(c.flap_low_threshold, 20);
  ck_assert_double_eq(c.flap_high_threshold, 40);
  ck_assert_str_eq(c.maintenance_dir, "/tmp/mw");
  ck_assert(!c.windows[0].weekly);
  ck_assert_double_eq(c.windows[0].start, 1798135200);
  ck_assert_double_eq(c.windows[0].end, 1798358400);
  cfg_fini(&c);
}
END_TEST

static const struct {
  const char *key;
  double value;
  const char *want;
} bad_alerting[] = {
    {"FailureThreshold", 0, "FailureThreshold must be a whole number"},
    {"RecoveryThreshold", 1001, "RecoveryThreshold must be"},
    {"FailureThreshold", 1.5, "FailureThreshold: expects a whole number"},
    {"FlapWindow", 2, "FlapWindow must be"},
    {"FlapLowThreshold", 60, "FlapLowThreshold (60) must not be above"},
    {"FlapHighThreshold", 101, "FlapHighThreshold are percents"},
};

START_TEST(test_alerting_bad_numbers) {
  struct cfg c;
  struct err err = {{0}};
  int rc = parse_finish(NUM(bad_alerting[_i].key, bad_alerting[_i].value),
                        NUM("MaxJSONDepth", 64), &c, &err);
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_has(err.msg, bad_alerting[_i].want);
  cfg_fini(&c);
}
END_TEST

static oconfig_item_t *t_maint_bad_time(void) {
  return MAINT("m", S("End", "tomorrow"));
}
static oconfig_item_t *t_maint_bad_weekly(void) {
  return MAINT("m", S("Weekly", "Sat 22:00"));
}
static oconfig_item_t *t_maint_no_end(void) {
  return MAINT("m", S("Bucket", "b"));
}
static oconfig_item_t *t_maint_backwards(void) {
  return MAINT("m", S("Start", "2026-12-27T00:00:00Z"),
               S("End", "2026-12-24T00:00:00Z"));
}
static oconfig_item_t *t_bucket_threshold(void) {
  return BUCKET("b", NUM("RecoveryThreshold", 0));
}

static const struct {
  oconfig_item_t *(*tree)(void);
  const char *want;
} bad_windows[] = {
    {t_maint_bad_time, "<Maintenance \"m\"> End: expects an ISO-8601 time"},
    {t_maint_bad_weekly, "Weekly \"Sat 22:00\": no '-'"},
    {t_maint_no_end, "<Maintenance \"m\">: no End and no Weekly"},
    {t_maint_backwards, "<Maintenance \"m\">: Start is not before End"},
    {t_bucket_threshold, "<Bucket \"b\"> RecoveryThreshold must be"},
};

START_TEST(test_alerting_bad_windows) {
  struct cfg c;
  struct err err = {{0}};
  int rc =
      parse_finish(bad_windows[_i].tree(), NUM("MaxJSONDepth", 64), &c, &err);
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_has(err.msg, bad_windows[_i].want);
  cfg_fini(&c);
}
END_TEST

/* <XMatters> Plan and Form narrow the sweep; unset they stay NULL. */
START_TEST(test_xmatters_plan_form) {
  struct cfg c;
  struct err err = {{0}};
  ck_assert_int_eq(parse(PLUGIN(XMATTERS(S("Plan", "Runscope Plan"),
                                         S("form", "Test Results"))),
                         &c, &err),
                   0);
  ck_assert_str_eq(c.xmatters.plan, "Runscope Plan");
  ck_assert_str_eq(c.xmatters.form, "Test Results");
  cfg_fini(&c);
  ck_assert_int_eq(parse(PLUGIN(XMATTERS(S("User", "u"))), &c, &err), 0);
  ck_assert_ptr_null(c.xmatters.plan);
  ck_assert_ptr_null(c.xmatters.form);
  cfg_fini(&c);
  ck_assert_int_eq(parse(PLUGIN(XMATTERS(NUM("Plan", 3))), &c, &err), -EINVAL);
  ck_assert_has(err.msg, "Plan");
  cfg_fini(&c);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("config_parse");
  add(s, "full_tree", test_full_tree, 0);
  add(s, "case_insensitive", test_case_insensitive, 0);
  add(s, "repeated", test_repeated, 0);
  add(s, "booleans", test_booleans, N_ROWS(bool_cases));
  add(s, "mode_manage", test_mode_manage, N_ROWS(manage_spellings));
  add(s, "mode_forward", test_mode_forward, N_ROWS(forward_spellings));
  add(s, "numbers", test_numbers, 0);
  add(s, "empty", test_empty, 0);
  add(s, "parse_and_finish", test_parse_and_finish, 0);
  add(s, "inline_secrets_warn", test_inline_secrets_warn, 0);
  add(s, "errors", test_errors, N_ROWS(bad_cases));
  add(s, "errors_null_err", test_errors_null_err, N_ROWS(bad_cases));
  add(s, "responses_keys", test_responses_keys, N_ROWS(reruns_keys));
  add(s, "alerting_options", test_alerting_options, 0);
  add(s, "alerting_bad_numbers", test_alerting_bad_numbers,
      N_ROWS(bad_alerting));
  add(s, "alerting_bad_windows", test_alerting_bad_windows,
      N_ROWS(bad_windows));
  add(s, "tls_proxy_keys", test_tls_proxy_keys, 0);
  add(s, "tls_proxy_defaults_and_errors", test_tls_proxy_defaults_and_errors,
      0);
  add(s, "cluster_block", test_cluster_block, 0);
  add(s, "xmatters_plan_form", test_xmatters_plan_form, 0);
  return s;
}
