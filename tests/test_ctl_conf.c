/* SPDX-License-Identifier: MIT */
/* Unit tests of runscopectl's reader of collectd's config (cli/ctl_conf.c):
 * the alert options, <Bucket> thresholds and <Cluster> with its TLS and
 * proxy options, by config.h's option tables. */
#include "ctl_conf.h"

#include "config/config.h"
#include "testutil.h"
#include "util/err.h"

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char path[64];

static void setup(void) {
  snprintf(path, sizeof(path), "/tmp/test_ctl_conf-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

/* Writes text as the config and reads it into c (ctl_conf_init'ed). */
static int read_text(const char *text, struct ctl_conf *c, struct err *err) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  ctl_conf_init(c);
  return ctl_conf_read(path, c, err);
}

START_TEST(test_alert_options_and_cluster) {
  struct ctl_conf c;
  struct err err = {{0}};
  int rc = read_text("<Plugin \"runscope\">\n"
                     "  StateFile \"/var/lib/s.json\"\n"
                     "  FailureThreshold 3\n"
                     "  RecoveryThreshold \"2\"\n"
                     "  FlapDetection yes\n"
                     "  FlapWindow 10\n"
                     "  FlapLowThreshold 12.5\n"
                     "  <Bucket \"shop\">\n    FailureThreshold 5\n"
                     "    Test \"t\"\n  </Bucket>\n"
                     "  <Cluster>\n"
                     "    Endpoint \"https://etcd1:2379\"\n"
                     "    Endpoint \"https://etcd2:2379\"\n"
                     "    Name \"agent-a\"\n    LeaseTTL 4\n"
                     "    Prefix \"/crs/\"\n    User \"runscope\"\n"
                     "    PasswordFile \"/etc/etcd.pass\"\n"
                     "    CACert \"/etc/ca.pem\"\n    VerifyHost false\n"
                     "    NoProxy \"etcd1\"\n    Unknown \"for the plugin\"\n"
                     "  </Cluster>\n"
                     "</Plugin>\n",
                     &c, &err);
  ck_assert_msg(rc == 0, "%s", err.msg);
  ck_assert_str_eq(c.state_file, "/var/lib/s.json");
  ck_assert_int_eq(c.cfg.failure_threshold, 3);
  ck_assert_int_eq(c.cfg.recovery_threshold, 2);
  ck_assert(c.cfg.flap_detection);
  ck_assert_int_eq(c.cfg.flap_window, 10);
  ck_assert_double_eq(c.cfg.flap_low_threshold, 12.5);
  ck_assert_double_eq(c.cfg.flap_high_threshold, 50); /* the default */
  ck_assert_uint_eq(c.cfg.n_buckets, 1);
  ck_assert_str_eq(c.cfg.buckets[0].key, "shop");
  ck_assert_int_eq(c.cfg.buckets[0].failure_threshold, 5);
  ck_assert_int_eq(c.cfg.buckets[0].recovery_threshold, -1); /* plugin's */
  const struct cfg_cluster *k = &c.cfg.cluster;
  ck_assert(k->enabled);
  ck_assert_uint_eq(k->endpoints.n, 2);
  ck_assert_str_eq(k->endpoints.v[1], "https://etcd2:2379");
  ck_assert_str_eq(k->name, "agent-a");
  ck_assert_double_eq(k->lease_ttl, 4);
  ck_assert_str_eq(k->prefix, "/crs/");
  ck_assert_str_eq(k->user, "runscope");
  ck_assert_str_eq(k->password_file, "/etc/etcd.pass");
  ck_assert_str_eq(k->net.ca_cert, "/etc/ca.pem");
  ck_assert(k->net.verify_peer && !k->net.verify_host);
  ck_assert_str_eq(k->net.no_proxy.v[0], "etcd1");
  ctl_conf_fini(&c);
}
END_TEST

/* Without the blocks: the defaults, no cluster. */
START_TEST(test_defaults) {
  struct ctl_conf c;
  struct err err = {{0}};
  ck_assert_int_eq(read_text("<Plugin runscope>\n</Plugin>\n", &c, &err), 0);
  ck_assert(c.found_plugin);
  ck_assert(!c.cfg.cluster.enabled);
  ck_assert_int_eq(c.cfg.failure_threshold, 1);
  ck_assert_int_eq(c.cfg.flap_window, 21);
  ck_assert_double_eq(c.cfg.cluster.lease_ttl, CFG_LEASE_TTL_DEFAULT);
  ck_assert_uint_eq(c.cfg.n_buckets, 0);
  ctl_conf_fini(&c);
}
END_TEST

/* A value of the wrong kind names the file, the line and the option. */
static const struct bad_row {
  const char *lines;
  const char *want;
} bad_rows[] = {
    {"  FlapWindow ten\n", ":2: FlapWindow expects a whole number"},
    {"  FailureThreshold 2.5\n", ":2: FailureThreshold expects a whole"},
    {"  FlapDetection maybe\n", ":2: FlapDetection expects true or false"},
    {"  FlapHighThreshold 1e999\n", ":2: FlapHighThreshold expects a number"},
    {"  <Cluster>\n    LeaseTTL -1\n  </Cluster>\n",
     ":3: <Cluster> LeaseTTL expects a number of seconds (0 or more)"},
    {"  <Cluster>\n    VerifyPeer \"sometimes\"\n  </Cluster>\n",
     ":3: <Cluster> VerifyPeer expects true or false"},
    {"  <Cluster>\n    Name \"a\" \"b\"\n  </Cluster>\n",
     ":3: <Cluster> Name expects one string"},
    {"  <Bucket \"b\">\n    RecoveryThreshold x\n  </Bucket>\n",
     ":3: <Bucket> RecoveryThreshold expects a whole number"},
};

START_TEST(test_bad_values) {
  const struct bad_row *r = &bad_rows[_i];
  char text[512];
  snprintf(text, sizeof(text), "<Plugin runscope>\n%s</Plugin>\n", r->lines);
  struct ctl_conf c;
  struct err err = {{0}};
  ck_assert_int_eq(read_text(text, &c, &err), -EINVAL);
  ck_assert_msg(strstr(err.msg, r->want) != NULL, "\"%s\" lacks \"%s\"",
                err.msg, r->want);
  ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
  ctl_conf_fini(&c);
}
END_TEST

/* Every TLS and proxy option the plugin takes in <Cluster> (config.h's
 * table) is read into its field of net. */
enum tls_kind { TK_STRING, TK_BOOL, TK_LIST };

struct tls_row {
  const char *name;
  enum tls_kind kind;
  size_t off;
};

#define TLS_TEST_ROW(ctx, n, k, member)                                        \
  {n, TK_##k, offsetof(struct cfg_tls_proxy, member)},

static const struct tls_row tls_rows[] = {
    CFG_TLS_PROXY_OPTIONS(TLS_TEST_ROW, 0)};

START_TEST(test_every_tls_option) {
  const struct tls_row *r = &tls_rows[_i];
  const char *value = r->kind == TK_BOOL ? "false" : "/some/where";
  char text[512];
  snprintf(text, sizeof(text),
           "<Plugin runscope>\n  <Cluster>\n    %s \"%s\"\n  </Cluster>\n"
           "</Plugin>\n",
           r->name, value);
  struct ctl_conf c;
  struct err err = {{0}};
  ck_assert_msg(read_text(text, &c, &err) == 0, "%s", err.msg);
  const char *field = (const char *)&c.cfg.cluster.net + r->off;
  if (r->kind == TK_BOOL)
    ck_assert(!*(const bool *)field);
  else if (r->kind == TK_LIST)
    ck_assert_str_eq(((const struct cfg_list *)field)->v[0], value);
  else
    ck_assert_str_eq(*(char *const *)field, value);
  ctl_conf_fini(&c);
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("ctl_conf");
  unit_add_case(s, "alert_options_and_cluster", test_alert_options_and_cluster,
                0, setup, teardown);
  unit_add_case(s, "defaults", test_defaults, 0, setup, teardown);
  unit_add_case(s, "bad_values", test_bad_values, N_ROWS(bad_rows), setup,
                teardown);
  unit_add_case(s, "every_tls_option", test_every_tls_option, N_ROWS(tls_rows),
                setup, teardown);
  return s;
}
