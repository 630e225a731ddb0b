/* SPDX-License-Identifier: MIT */
/* Unit tests of the plain config (config): defaults, URL checks, secret
 * files and the checks of cfg_finish. */
#include "config/config.h"
#include "testutil.h"
#include "util/err.h"
#include "util/url.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define TRIGGER_URL                                                            \
  "https://example.xmatters.com/api/integration/1/functions/UUID/triggers"     \
  "?apiKey=KEY"

/* ---- helpers ---- */

#define ck_assert_has(msg, want)                                               \
  ck_assert_msg(strstr((msg), (want)) != NULL, "message \"%s\" lacks \"%s\"",  \
                (msg), (want))

#define ck_assert_lacks(msg, bad)                                              \
  ck_assert_msg(strstr((msg), (bad)) == NULL, "message \"%s\" shows \"%s\"",   \
                (msg), (bad))

static void set(char **dst, const char *value) {
  ck_assert_int_eq(cfg_set_string(dst, value), 0);
}

/* The smallest config that cfg_finish accepts: inline secrets. */
static void base_config(struct cfg *c) {
  cfg_init(c);
  set(&c->runscope.token, "rs-token");
  set(&c->xmatters.base_url, "https://example.xmatters.com");
  set(&c->xmatters.user, "runscope");
  set(&c->xmatters.password, "xm-pass");
  set(&c->xmatters.test_results_trigger_url, TRIGGER_URL);
}

/* Collects the warnings cfg_finish and cfg_read_secret pass on; those
 * about base_config's own inline Token and Password are counted apart. */
struct warns {
  int n;
  char last[ERR_MSG_MAX];
  int base_inline;
};

static void collect_warn(void *ctx, const char *msg) {
  struct warns *w = ctx;
  if (strncmp(msg, "<Runscope> Token holds the API token inline; ", 45) == 0 ||
      strncmp(msg,
              "<XMatters> Password holds the REST user's password inline; ",
              59) == 0) {
    w->base_inline++;
    return;
  }
  w->n++;
  snprintf(w->last, sizeof(w->last), "%s", msg);
}

/* A scratch directory per test, removed with what the test wrote in it. */
static char g_dir[64];

static void dir_setup(void) {
  snprintf(g_dir, sizeof(g_dir), "/tmp/test_config.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void dir_teardown(void) {
  DIR *d = opendir(g_dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
  rmdir(g_dir);
}

static void path_in_dir(char *out, size_t size, const char *name) {
  ck_assert_int_lt(snprintf(out, size, "%s/%s", g_dir, name), (int)size);
}

/* Writes len bytes of content to g_dir/name with mode; the path goes to
 * out. */
static void write_file(const char *name, const char *content, size_t len,
                       mode_t mode, char *out, size_t size) {
  path_in_dir(out, size, name);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
  ck_assert_int_eq(fchmod(fd, mode), 0); /* the umask does not apply */
  ck_assert_int_eq(close(fd), 0);
}

/* ---- defaults after cfg_init and cfg_finish ---- */

static const struct {
  const char *key;
  size_t offset; /* of a double in struct cfg */
  double value;
} default_numbers[] = {
    {"DiscoveryInterval", offsetof(struct cfg, discovery_interval), 600},
    {"MaxResultAge", offsetof(struct cfg, max_result_age), 600},
    {"ReconcileInterval", offsetof(struct cfg, reconcile_interval), 300},
    {"MaxCatchUp", offsetof(struct cfg, max_catch_up), 3600},
    {"OutageThreshold", offsetof(struct cfg, outage_threshold), 300},
    {"PendingTimeout", offsetof(struct cfg, pending_timeout), 60},
    {"LocationWindow", offsetof(struct cfg, location_window), 86400},
    {"MaxResponseBytes", offsetof(struct cfg, max_response_bytes),
     16 * 1024 * 1024},
    {"<Runscope> Timeout", offsetof(struct cfg, runscope.timeout), 10},
    {"<XMatters> Timeout", offsetof(struct cfg, xmatters.timeout), 10},
};

START_TEST(test_default_numbers) {
  struct cfg c;
  base_config(&c);
  struct err err = {{0}};
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  double got = *(const double *)((const char *)&c + default_numbers[_i].offset);
  ck_assert_msg(got == default_numbers[_i].value, "%s: %g, expected %g",
                default_numbers[_i].key, got, default_numbers[_i].value);
  cfg_fini(&c);
}
END_TEST

START_TEST(test_default_others) {
  struct cfg c;
  base_config(&c);
  struct err err = {{0}};
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  ck_assert_int_eq(c.max_json_depth, 64);
  ck_assert_int_eq(c.max_concurrent_requests, 4);
  ck_assert(c.max_requests_per_second == 20);
  ck_assert(!c.dry_run);
  ck_assert(!c.runscope.allow_plain_http);
  ck_assert(!c.xmatters.allow_plain_http);
  ck_assert_int_eq(c.xmatters.mode, CFG_MODE_MANAGE);
  ck_assert_ptr_null(c.xmatters.priority); /* the form's default */
  ck_assert_uint_eq(c.n_buckets, 0);       /* every bucket */
  cfg_fini(&c);
}
END_TEST

static const struct {
  const char *key;
  size_t offset; /* of a char * in struct cfg */
  const char *value;
  const char *custom; /* set before cfg_finish: kept */
} default_strings[] = {
    {"StateFile", offsetof(struct cfg, state_file),
     "/var/lib/collectd/runscope/state.json", "/tmp/runscope-state.json"},
    {"DashboardURL", offsetof(struct cfg, dashboard_url),
     "https://www.runscope.com", "https://dash.example.com"},
    {"<Runscope> BaseURL", offsetof(struct cfg, runscope.base_url),
     "https://api.runscope.com", "http://127.0.0.1:8080"},
    {"<XMatters> AcknowledgeResponse",
     offsetof(struct cfg, xmatters.acknowledge_response), "Acknowledge", "Ack"},
    {"<XMatters> RerunResponse", offsetof(struct cfg, xmatters.rerun_response),
     "Rerun", "Run again"},
};

static char **string_field(struct cfg *c, size_t offset) {
  return (char **)((char *)c + offset);
}

START_TEST(test_default_strings) {
  struct cfg c;
  struct err err = {{0}};
  base_config(&c);
  ck_assert_ptr_null(*string_field(&c, default_strings[_i].offset));
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  ck_assert_str_eq(*string_field(&c, default_strings[_i].offset),
                   default_strings[_i].value);
  cfg_fini(&c);

  base_config(&c);
  set(string_field(&c, default_strings[_i].offset), default_strings[_i].custom);
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  ck_assert_str_eq(*string_field(&c, default_strings[_i].offset),
                   default_strings[_i].custom);
  cfg_fini(&c);
}
END_TEST

/* ---- lists, buckets, rules; cfg_fini starts over ---- */

START_TEST(test_lists_and_blocks) {
  struct cfg c;
  cfg_init(&c);
  struct cfg_list *l = &c.xmatters.recipients;
  ck_assert(cfg_list_has(l, "anyone")); /* empty: all */
  ck_assert_int_eq(cfg_list_add(l, "ops"), 0);
  ck_assert_int_eq(cfg_list_add(l, "dev"), 0);
  ck_assert_uint_eq(l->n, 2);
  ck_assert(cfg_list_has(l, "dev"));
  ck_assert(!cfg_list_has(l, "anyone"));
  ck_assert(!cfg_list_has(l, "Dev")); /* ids and names are exact */

  struct cfg_bucket *b;
  ck_assert_int_eq(cfg_add_bucket(&c, "b1", &b), 0);
  ck_assert_int_eq(cfg_add_bucket(&c, "b2", &b), 0);
  ck_assert_ptr_eq(b, &c.buckets[1]);
  ck_assert_str_eq(c.buckets[0].key, "b1");
  ck_assert_str_eq(b->key, "b2");
  ck_assert_uint_eq(b->tests.n + b->environments.n + b->n_alerts, 0);

  struct cfg_alert *a;
  ck_assert_int_eq(cfg_add_alert(b, "5xx", &a), 0);
  ck_assert_str_eq(a->name, "5xx");
  ck_assert(a->min_alert_interval == 300); /* Defaults: MinAlertInterval */
  ck_assert_ptr_null(a->path);
  ck_assert_int_eq(a->status_min + a->status_max, 0);
  ck_assert_int_eq(cfg_list_add(&a->methods, "POST"), 0);

  set(&c.state_file, "/tmp/a");
  set(&c.state_file, "/tmp/b"); /* replaces, frees the old copy */
  ck_assert_str_eq(c.state_file, "/tmp/b");
  c.discovery_interval = 1;

  cfg_fini(&c); /* valgrind checks that every copy above is freed */
  ck_assert_ptr_null(c.state_file);
  ck_assert_ptr_null(c.buckets);
  ck_assert_uint_eq(c.n_buckets, 0);
  ck_assert_uint_eq(c.xmatters.recipients.n, 0);
  ck_assert(c.discovery_interval == 600); /* back to the defaults */
  cfg_fini(&c);                           /* twice is harmless */
}
END_TEST

/* ---- url_is_loopback ---- */

static const struct {
  const char *url;
  bool loopback;
} loopback_cases[] = {
    {"http://127.0.0.1/", true},
    {"http://127.0.0.1", true},
    {"http://127.0.0.1:8080/api", true},
    {"http://127.1.2.3:9/", true},
    {"http://127.255.255.255", true},
    {"http://localhost", true},
    {"http://LocalHost:8080/x", true},
    {"http://[::1]/", true},
    {"http://[::1]:8443/api?x=1", true},
    {"http://user:pw@127.0.0.1:8080/", true},
    {"http://user@localhost/", true},
    {"http://user:pw@[::1]:1/", true},
    {"https://127.0.0.1/", true},
    {"http://127.0.0.1?q=@example.com", true},
    {"http://127.0.0.1/@example.com", true},
    {"http://example.com/", false},
    {"http://10.0.0.1/", false},
    {"http://128.0.0.1/", false},
    {"http://126.255.255.255/", false},
    {"http://[::2]/", false},
    {"http://[::ffff:10.0.0.1]/", false},
    {"http://localhost.example.com/", false},
    {"http://127.0.0.1.example.com/", false},
    {"http://127.0.0.1@example.com/", false},    /* userinfo, then the host */
    {"http://localhost:80@example.com/", false}, /* ditto */
    {"http://[::1/x]", false},
    {"http:///127.0.0.1", false},
    {"not a url", false},
    {"", false},
};

START_TEST(test_loopback) {
  ck_assert_msg(url_is_loopback(loopback_cases[_i].url) ==
                    loopback_cases[_i].loopback,
                "\"%s\": expected %s", loopback_cases[_i].url,
                loopback_cases[_i].loopback ? "loopback" : "not loopback");
}
END_TEST

/* ---- cfg_check_url ---- */

static const struct {
  const char *url;
  bool allow_plain_http;
  int rc;
  const char *want; /* in the message when rc != 0 */
} url_cases[] = {
    {"https://example.com", false, 0, NULL},
    {"https://10.0.0.1:8443/api?x=1", false, 0, NULL},
    {"HTTPS://EXAMPLE.COM/", false, 0, NULL},
    {"https://user:pw@example.com/", false, 0, NULL},
    {"http://127.0.0.1:8080/", false, 0, NULL},
    {"http://127.1.2.3/", false, 0, NULL},
    {"http://localhost:9/", false, 0, NULL},
    {"HTTP://LOCALHOST/", false, 0, NULL},
    {"http://[::1]:8443/", false, 0, NULL},
    {"http://user:pw@127.0.0.1:80/", false, 0, NULL},
    {"http://example.com/", false, -EINVAL, "plain http:// to example.com"},
    {"http://10.0.0.1/", false, -EINVAL, "plain http:// to 10.0.0.1"},
    {"http://128.0.0.1:80/", false, -EINVAL, "plain http:// to 128.0.0.1"},
    {"http://[::2]/", false, -EINVAL, "plain http:// to ::2"},
    {"http://localhost.example.com/", false, -EINVAL,
     "plain http:// to localhost.example.com"},
    {"http://127.0.0.1@example.com/", false, -EINVAL,
     "plain http:// to example.com"},
    {"http://example.com/", true, 0, NULL},
    {"http://10.0.0.1/", true, 0, NULL},
    {"http://128.0.0.1:80/", true, 0, NULL},
    {"http://[::2]/", true, 0, NULL},
    {"http://localhost.example.com/", true, 0, NULL},
    {"not a url", false, -EINVAL, "not an http(s) URL"},
    {"not a url", true, -EINVAL, "not an http(s) URL"},
    {"ftp://127.0.0.1/", false, -EINVAL, "not an http(s) URL"},
    {"ftp://example.com/", true, -EINVAL, "not an http(s) URL"},
    {"https://", false, -EINVAL, "not an http(s) URL"},
    {"http://:8080/", true, -EINVAL, "not an http(s) URL"},
    {"example.com", false, -EINVAL, "not an http(s) URL"},
    {"", false, -EINVAL, "not an http(s) URL"},
};

START_TEST(test_check_url) {
  struct err err = {{0}};
  int rc = cfg_check_url("<Test> SomeURL", url_cases[_i].url,
                         url_cases[_i].allow_plain_http, &err);
  ck_assert_msg(rc == url_cases[_i].rc, "\"%s\": rc %d, expected %d (%s)",
                url_cases[_i].url, rc, url_cases[_i].rc, err.msg);
  if (rc == 0)
    return;
  ck_assert_has(err.msg, "<Test> SomeURL");
  ck_assert_has(err.msg, url_cases[_i].want);
  ck_assert_has(err.msg, "https://"); /* the fix */
  if (strstr(err.msg, "plain http") != NULL)
    ck_assert_has(err.msg, "AllowPlainHTTP true");
}
END_TEST

/* A URL in a message must not carry the trigger's apiKey or a password:
 * the glue logs these messages. */
static const char *const secret_urls[] = {
    "htps://example.xmatters.com/api/integration/1/functions/U/triggers"
    "?apiKey=SEKRIT",
    "ftp://user:SEKRIT@example.com/",
    "http://user:SEKRIT@example.com/x?apiKey=SEKRIT",
    "http://example.com/t?apiKey=SEKRIT",
};

START_TEST(test_check_url_hides_secrets) {
  struct err err = {{0}};
  ck_assert_int_eq(cfg_check_url("<XMatters> TestResultsTriggerURL",
                                 secret_urls[_i], false, &err),
                   -EINVAL);
  ck_assert_has(err.msg, "<XMatters> TestResultsTriggerURL");
  ck_assert_lacks(err.msg, "SEKRIT");
}
END_TEST

START_TEST(test_check_url_null_err) {
  ck_assert_int_eq(cfg_check_url("K", "ftp://x/", false, NULL), -EINVAL);
  ck_assert_int_eq(cfg_check_url("K", "http://example.com/", false, NULL),
                   -EINVAL);
  ck_assert_int_eq(cfg_check_url("K", "https://example.com/", false, NULL), 0);
}
END_TEST

/* ---- cfg_check_trigger_url ---- */

/* A trigger URL from Runscope's API, against <Runscope> BaseURL and
 * AllowPlainHTTP: rc, and what the message says when refused. */
static const struct {
  const char *base_url;
  bool allow_plain_http;
  const char *url;
  int rc;
  const char *want;
} trigger_cases[] = {
    {"https://api.runscope.com", false,
     "https://api.runscope.com/radar/abc/trigger", 0, NULL},
    {"https://api.runscope.com", false,
     "https://API.Runscope.COM/radar/abc/trigger?x=1", 0, NULL},
    {"https://api.runscope.com", false, "https://runscope.com/radar/t", 0,
     NULL},
    {"https://api.runscope.com", false, "https://a.b.runscope.com:8443/r", 0,
     NULL},
    /* the BaseURL's host, whatever the port */
    {"https://rs.example.com:8443", false, "https://rs.example.com/radar/t", 0,
     NULL},
    {"http://127.0.0.1:9000", false, "http://127.0.0.1:9001/radar/t", 0, NULL},
    {"http://rs.example.com", true, "http://rs.example.com/radar/t", 0, NULL},
    {"https://api.runscope.com", true, "http://api.runscope.com/radar/t", 0,
     NULL},
    /* refused */
    {"https://api.runscope.com", false, "https://evil.example/radar/t", -EINVAL,
     "evil.example is not a Runscope host"},
    {"https://api.runscope.com", false, "https://evilrunscope.com/radar/t",
     -EINVAL, "evilrunscope.com is not a Runscope host"},
    {"https://api.runscope.com", false,
     "https://runscope.com.evil.example/radar/t", -EINVAL,
     "runscope.com.evil.example is not a Runscope host"},
    {"https://api.runscope.com", false,
     "https://api.runscope.com@evil.example/radar/t", -EINVAL,
     "evil.example is not a Runscope host"},
    {"https://api.runscope.com", false, "https://api.runscope.com./radar/t",
     -EINVAL, "api.runscope.com. is not a Runscope host"},
    {"https://rs.example.com", false, "https://other.example.com/radar/t",
     -EINVAL, "other.example.com is not a Runscope host"},
    {"http://127.0.0.1:9000", false, "http://127.0.0.2:9000/radar/t", -EINVAL,
     "127.0.0.2 is not a Runscope host"},
    {"https://api.runscope.com", false, "http://api.runscope.com/radar/t",
     -EINVAL, "plain http:// to api.runscope.com"},
    {"https://api.runscope.com", true, "ftp://api.runscope.com/radar/t",
     -EINVAL, "not an http(s) URL"},
    {"https://api.runscope.com", false, "", -EINVAL, "not an http(s) URL"},
};

START_TEST(test_check_trigger_url) {
  struct cfg_runscope r = {
      .base_url = (char *)trigger_cases[_i].base_url,
      .allow_plain_http = trigger_cases[_i].allow_plain_http,
  };
  struct err err = {{0}};
  int rc =
      cfg_check_trigger_url(&r, "the trigger URL", trigger_cases[_i].url, &err);
  ck_assert_msg(rc == trigger_cases[_i].rc, "\"%s\": rc %d, expected %d (%s)",
                trigger_cases[_i].url, rc, trigger_cases[_i].rc, err.msg);
  if (rc == 0)
    return;
  ck_assert_has(err.msg, "the trigger URL: ");
  ck_assert_has(err.msg, trigger_cases[_i].want);
  ck_assert_lacks(err.msg, "/radar/");
}
END_TEST

/* ---- cfg_read_secret ---- */

static const struct {
  const char *content;
  mode_t mode;
  int rc;
  const char *secret; /* when rc == 0 */
  bool warns;
} secret_cases[] = {
    {"s3cret\n", 0600, 0, "s3cret", false},
    {"s3cret", 0600, 0, "s3cret", false},
    {"s3cret\r\n", 0600, 0, "s3cret", false},
    {"s3cret\r\nsecond line\r\n", 0600, 0, "s3cret", false},
    {"first\nsecond\n", 0600, 0, "first", false},
    {" spaced out \n", 0600, 0, " spaced out ", false}, /* kept as is */
    {"s3cret\n", 0400, 0, "s3cret", false},
    {"s3cret\n", 0644, 0, "s3cret", true},
    {"s3cret\n", 0640, 0, "s3cret", true},
    {"s3cret\n", 0604, 0, "s3cret", true},
    {"", 0600, -EINVAL, NULL, false},
    {"\n", 0600, -EINVAL, NULL, false},
    {"\r\n", 0600, -EINVAL, NULL, false},
    {"\nsecret on the second line\n", 0600, -EINVAL, NULL, false},
};

START_TEST(test_read_secret) {
  char path[128];
  write_file("secret", secret_cases[_i].content,
             strlen(secret_cases[_i].content), secret_cases[_i].mode, path,
             sizeof(path));
  struct warns w = {0};
  struct err err = {{0}};
  char *secret = NULL;
  int rc = cfg_read_secret("<Runscope> TokenFile", path, &secret, collect_warn,
                           &w, &err);
  ck_assert_msg(rc == secret_cases[_i].rc, "rc %d, expected %d (%s)", rc,
                secret_cases[_i].rc, err.msg);
  if (rc == 0) {
    ck_assert_str_eq(secret, secret_cases[_i].secret);
  } else {
    ck_assert_ptr_null(secret);
    ck_assert_has(err.msg, "<Runscope> TokenFile");
    ck_assert_has(err.msg, path);
    ck_assert_has(err.msg, "empty");
  }
  ck_assert_int_eq(w.n, secret_cases[_i].warns ? 1 : 0);
  if (secret_cases[_i].warns) {
    ck_assert_has(w.last, path);
    ck_assert_has(w.last, "chmod 600");
    ck_assert_has(w.last, "<Runscope> TokenFile");
    ck_assert_lacks(w.last, "s3cret");
  }
  free(secret);
}
END_TEST

START_TEST(test_read_secret_missing) {
  char path[128];
  path_in_dir(path, sizeof(path), "no-such.token");
  struct warns w = {0};
  struct err err = {{0}};
  char *secret = NULL;
  ck_assert_int_eq(cfg_read_secret("<XMatters> PasswordFile", path, &secret,
                                   collect_warn, &w, &err),
                   -ENOENT);
  ck_assert_ptr_null(secret);
  ck_assert_int_eq(w.n, 0);
  ck_assert_has(err.msg, "<XMatters> PasswordFile");
  ck_assert_has(err.msg, path);
  ck_assert_has(err.msg, "No such file or directory");
}
END_TEST

/* A directory opens but does not read: the read's errno comes back. */
START_TEST(test_read_secret_directory) {
  struct err err = {{0}};
  char *secret = NULL;
  ck_assert_int_eq(
      cfg_read_secret("<Runscope> TokenFile", g_dir, &secret, NULL, NULL, &err),
      -EISDIR);
  ck_assert_ptr_null(secret);
  ck_assert_has(err.msg, g_dir);
}
END_TEST

/* The secret may be up to 4094 bytes; a longer first line is an error,
 * never a silently shortened secret. */
static const struct {
  size_t len;
  const char *end;
  int rc;
} long_cases[] = {
    {4094, "", 0},         {4094, "\n", 0},       {4094, "\nmore\n", 0},
    {4095, "\n", -EINVAL}, {5000, "\n", -EINVAL}, {10000, "", -EINVAL},
};

START_TEST(test_read_secret_long) {
  size_t len = long_cases[_i].len, end = strlen(long_cases[_i].end);
  char *content = malloc(len + end);
  ck_assert_ptr_nonnull(content);
  memset(content, 'k', len);
  memcpy(content + len, long_cases[_i].end, end);
  char path[128];
  write_file("long", content, len + end, 0600, path, sizeof(path));
  free(content);
  struct err err = {{0}};
  char *secret = NULL;
  int rc =
      cfg_read_secret("<Runscope> TokenFile", path, &secret, NULL, NULL, &err);
  ck_assert_msg(rc == long_cases[_i].rc, "rc %d (%s)", rc, err.msg);
  if (rc == 0) {
    ck_assert_uint_eq(strlen(secret), len);
  } else {
    ck_assert_ptr_null(secret);
    ck_assert_has(err.msg, path);
    ck_assert_has(err.msg, "longer than");
  }
  free(secret);
}
END_TEST

/* ---- cfg_finish: what it reads ---- */

START_TEST(test_finish_reads_files) {
  char token_path[128], pass_path[128];
  write_file("rs.token", "tok-123\n", 8, 0644, token_path, sizeof(token_path));
  write_file("xm.pass", "pw-456\r\n", 8, 0600, pass_path, sizeof(pass_path));
  struct cfg c;
  base_config(&c);
  free(c.runscope.token);
  c.runscope.token = NULL;
  free(c.xmatters.password);
  c.xmatters.password = NULL;
  set(&c.runscope.token_file, token_path);
  set(&c.xmatters.password_file, pass_path);
  struct warns w = {0};
  struct err err = {{0}};
  ck_assert_int_eq(cfg_finish(&c, collect_warn, &w, &err), 0);
  ck_assert_str_eq(c.runscope.token, "tok-123");
  ck_assert_str_eq(c.xmatters.password, "pw-456");
  ck_assert_int_eq(w.n, 1); /* the token file only */
  ck_assert_has(w.last, token_path);
  ck_assert_has(w.last, "chmod 600");
  cfg_fini(&c);
}
END_TEST

/* ---- cfg_finish: what it accepts ---- */

static void ok_plain_http_loopback(struct cfg *c) {
  set(&c->runscope.base_url, "http://127.0.0.1:18080");
  set(&c->xmatters.base_url, "http://localhost:18081");
  set(&c->xmatters.test_results_trigger_url,
      "http://[::1]:18081/api/integration/1/functions/U/triggers?apiKey=K");
}

static void ok_allow_plain_http(struct cfg *c) {
  set(&c->runscope.base_url, "http://runscope.lan");
  c->runscope.allow_plain_http = true;
  set(&c->xmatters.base_url, "http://xm.lan");
  set(&c->xmatters.test_results_trigger_url, "http://xm.lan/t");
  set(&c->xmatters.live_traffic_trigger_url, "http://xm.lan/l");
  c->xmatters.allow_plain_http = true;
}

static void ok_forward_needs_no_rest_api(struct cfg *c) {
  c->xmatters.mode = CFG_MODE_FORWARD;
  free(c->xmatters.base_url);
  c->xmatters.base_url = NULL;
  free(c->xmatters.user);
  c->xmatters.user = NULL;
  free(c->xmatters.password);
  c->xmatters.password = NULL;
}

static void ok_priorities(struct cfg *c) { set(&c->xmatters.priority, "LOW"); }

static void ok_depth_bounds(struct cfg *c) {
  c->max_json_depth = 2;
  c->max_response_bytes = 1024;
}

static void ok_depth_upper(struct cfg *c) {
  c->max_json_depth = 1000;
  c->max_response_bytes = 1e9;
}

static void ok_economy_low(struct cfg *c) {
  c->max_concurrent_requests = 1;
  c->max_requests_per_second = 0; /* no cap */
}

static void ok_economy_high(struct cfg *c) {
  c->max_concurrent_requests = 64;
  c->max_requests_per_second = 10000;
}

static void ok_economy_slow(struct cfg *c) {
  c->max_requests_per_second = 0.5; /* one every two seconds */
}

static struct cfg_alert *add_rule(struct cfg *c, const char *name) {
  struct cfg_bucket *b;
  struct cfg_alert *a;
  if (c->n_buckets == 0)
    ck_assert_int_eq(cfg_add_bucket(c, "bkt", &b), 0);
  b = &c->buckets[0];
  ck_assert_int_eq(cfg_add_alert(b, name, &a), 0);
  return a;
}

static void ok_rules(struct cfg *c) {
  set(&c->xmatters.live_traffic_trigger_url, TRIGGER_URL);
  struct cfg_alert *a = add_rule(c, "status");
  a->status_min = a->status_max = 500;
  a->min_alert_interval = 0; /* flood control off */
  ck_assert_int_eq(cfg_list_add(&add_rule(c, "method")->methods, "post"), 0);
  set(&add_rule(c, "path")->path, "^/checkout(/|$)");
  set(&add_rule(c, "host")->host, "\\.example\\.com$");
  add_rule(c, "min only")->status_min = 400;
  add_rule(c, "max only")->status_max = 299;
}

static const struct {
  const char *name;
  void (*mutate)(struct cfg *c);
} ok_cases[] = {
    {"plain http to loopback", ok_plain_http_loopback},
    {"AllowPlainHTTP", ok_allow_plain_http},
    {"Mode forward", ok_forward_needs_no_rest_api},
    {"Priority LOW", ok_priorities},
    {"lower bounds", ok_depth_bounds},
    {"upper bounds", ok_depth_upper},
    {"one request at a time, no rate cap", ok_economy_low},
    {"most requests at a time, highest rate cap", ok_economy_high},
    {"a rate cap below one per second", ok_economy_slow},
    {"traffic-alert rules", ok_rules},
};

START_TEST(test_finish_ok) {
  struct cfg c;
  base_config(&c);
  ok_cases[_i].mutate(&c);
  struct err err = {{0}};
  int rc = cfg_finish(&c, NULL, NULL, &err);
  ck_assert_msg(rc == 0, "%s: rc %d: %s", ok_cases[_i].name, rc, err.msg);
  cfg_fini(&c);
}
END_TEST

/* ---- cfg_finish: what it refuses, with the key and the fix ---- */

static void bad_token_both(struct cfg *c) {
  set(&c->runscope.token_file, "/etc/collectd/runscope.token");
}

static void bad_token_none(struct cfg *c) {
  free(c->runscope.token);
  c->runscope.token = NULL;
}

static void bad_token_file_missing(struct cfg *c) {
  char path[128];
  path_in_dir(path, sizeof(path), "missing.token");
  bad_token_none(c);
  set(&c->runscope.token_file, path);
}

static void bad_token_file_empty(struct cfg *c) {
  char path[128];
  write_file("empty.token", "\n", 1, 0600, path, sizeof(path));
  bad_token_none(c);
  set(&c->runscope.token_file, path);
}

static void bad_runscope_url(struct cfg *c) {
  set(&c->runscope.base_url, "http://api.runscope.example");
}

static void bad_dashboard_url(struct cfg *c) {
  set(&c->dashboard_url, "www.runscope.com");
}

static void bad_xm_base_missing(struct cfg *c) {
  free(c->xmatters.base_url);
  c->xmatters.base_url = NULL;
}

static void bad_xm_base_http(struct cfg *c) {
  set(&c->xmatters.base_url, "http://example.xmatters.com");
}

static void bad_user_missing(struct cfg *c) {
  free(c->xmatters.user);
  c->xmatters.user = NULL;
}

static void bad_password_none(struct cfg *c) {
  free(c->xmatters.password);
  c->xmatters.password = NULL;
}

static void bad_password_both(struct cfg *c) {
  set(&c->xmatters.password_file, "/etc/collectd/xmatters.pass");
}

static void bad_password_file_missing(struct cfg *c) {
  char path[128];
  path_in_dir(path, sizeof(path), "missing.pass");
  bad_password_none(c);
  set(&c->xmatters.password_file, path);
}

static void bad_trigger_missing(struct cfg *c) {
  free(c->xmatters.test_results_trigger_url);
  c->xmatters.test_results_trigger_url = NULL;
}

static void bad_trigger_http(struct cfg *c) {
  set(&c->xmatters.test_results_trigger_url,
      "http://example.xmatters.com/api/integration/1/functions/U/triggers");
}

static void bad_live_trigger_http(struct cfg *c) {
  set(&c->xmatters.live_traffic_trigger_url, "http://10.1.2.3/t");
}

static void bad_live_trigger_ftp(struct cfg *c) {
  set(&c->xmatters.live_traffic_trigger_url, "ftp://example.com/t");
}

static void bad_priority(struct cfg *c) {
  set(&c->xmatters.priority, "URGENT");
}

static void bad_parallel_low(struct cfg *c) { c->max_concurrent_requests = 0; }
static void bad_parallel_high(struct cfg *c) {
  c->max_concurrent_requests = 65;
}
static void bad_rate_negative(struct cfg *c) {
  c->max_requests_per_second = -1;
}
static void bad_rate_high(struct cfg *c) { c->max_requests_per_second = 10001; }
static void bad_depth_low(struct cfg *c) { c->max_json_depth = 1; }
static void bad_depth_high(struct cfg *c) { c->max_json_depth = 1001; }
static void bad_bytes_low(struct cfg *c) { c->max_response_bytes = 1023; }
static void bad_bytes_high(struct cfg *c) { c->max_response_bytes = 2e9; }

static void bad_rule_no_condition(struct cfg *c) {
  struct cfg_alert *a = add_rule(c, "quiet");
  ck_assert_int_eq(cfg_list_add(&a->recipients, "ops"), 0);
}

static void bad_rule_status_order(struct cfg *c) {
  struct cfg_alert *a = add_rule(c, "inverted");
  a->status_min = 500;
  a->status_max = 400;
}

static void bad_rule_path_regex(struct cfg *c) {
  set(&add_rule(c, "ok")->path, "^/fine");
  set(&add_rule(c, "broken path")->path, "^/checkout(");
}

static void bad_rule_host_regex(struct cfg *c) {
  set(&add_rule(c, "broken host")->host, "[a-");
}

static void bad_rule_interval(struct cfg *c) {
  struct cfg_alert *a = add_rule(c, "negative");
  a->status_min = 500;
  a->min_alert_interval = -1;
}

static void bad_rule_no_trigger(struct cfg *c) {
  add_rule(c, "5xx")->status_min = 500;
}

static void bad_rule_twice(struct cfg *c) {
  set(&c->xmatters.live_traffic_trigger_url, TRIGGER_URL);
  add_rule(c, "5xx")->status_min = 500;
  add_rule(c, "4xx")->status_min = 400;
  add_rule(c, "5xx")->status_max = 599;
}

static void bad_rule_long_name(struct cfg *c) {
  char name[CFG_RULE_NAME_MAX + 1];
  memset(name, 'r', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  add_rule(c, name)->status_min = 500;
}

static void bad_bucket_key(struct cfg *c) {
  struct cfg_bucket *b;
  ck_assert_int_eq(cfg_add_bucket(c, "", &b), 0);
}

static void bad_bucket_twice(struct cfg *c) {
  struct cfg_bucket *b;
  ck_assert_int_eq(cfg_add_bucket(c, "shop", &b), 0);
  ck_assert_int_eq(cfg_add_bucket(c, "other", &b), 0);
  ck_assert_int_eq(cfg_add_bucket(c, "shop", &b), 0);
}

static const struct {
  const char *name;
  void (*mutate)(struct cfg *c);
  const char *want[3]; /* in the message; NULL ends the list */
} bad_cases[] = {
    {"Token and TokenFile",
     bad_token_both,
     {"<Runscope>", "Token and TokenFile are both set", "keep one"}},
    {"no token",
     bad_token_none,
     {"<Runscope>", "TokenFile (or Token) is required", NULL}},
    {"TokenFile missing",
     bad_token_file_missing,
     {"<Runscope> TokenFile", "missing.token", "No such file"}},
    {"TokenFile empty",
     bad_token_file_empty,
     {"<Runscope> TokenFile", "empty.token", "empty"}},
    {"Runscope BaseURL http",
     bad_runscope_url,
     {"<Runscope> BaseURL", "api.runscope.example", "AllowPlainHTTP"}},
    {"DashboardURL",
     bad_dashboard_url,
     {"DashboardURL", "not an http(s) URL", NULL}},
    {"XMatters BaseURL missing",
     bad_xm_base_missing,
     {"<XMatters> BaseURL is required", "https://", NULL}},
    {"XMatters BaseURL http",
     bad_xm_base_http,
     {"<XMatters> BaseURL", "plain http://", "AllowPlainHTTP"}},
    {"User missing",
     bad_user_missing,
     {"<XMatters> User is required", NULL, NULL}},
    {"no password",
     bad_password_none,
     {"<XMatters>", "PasswordFile (or Password) is required", NULL}},
    {"Password and PasswordFile",
     bad_password_both,
     {"<XMatters>", "Password and PasswordFile are both set", "keep one"}},
    {"PasswordFile missing",
     bad_password_file_missing,
     {"<XMatters> PasswordFile", "missing.pass", "No such file"}},
    {"TestResultsTriggerURL missing",
     bad_trigger_missing,
     {"<XMatters> TestResultsTriggerURL is required", NULL, NULL}},
    {"TestResultsTriggerURL http",
     bad_trigger_http,
     {"<XMatters> TestResultsTriggerURL", "example.xmatters.com",
      "AllowPlainHTTP"}},
    {"LiveTrafficTriggerURL http",
     bad_live_trigger_http,
     {"<XMatters> LiveTrafficTriggerURL", "10.1.2.3", "AllowPlainHTTP"}},
    {"LiveTrafficTriggerURL ftp",
     bad_live_trigger_ftp,
     {"<XMatters> LiveTrafficTriggerURL", "not an http(s) URL", NULL}},
    {"Priority",
     bad_priority,
     {"<XMatters> Priority \"URGENT\"", "HIGH, MEDIUM or LOW", NULL}},
    {"MaxConcurrentRequests 0",
     bad_parallel_low,
     {"MaxConcurrentRequests", "between 1 and 64", "got 0"}},
    {"MaxConcurrentRequests 65",
     bad_parallel_high,
     {"MaxConcurrentRequests", "between 1 and 64", "got 65"}},
    {"MaxRequestsPerSecond -1",
     bad_rate_negative,
     {"MaxRequestsPerSecond", "0 (no cap) and 10000", "got -1"}},
    {"MaxRequestsPerSecond 10001",
     bad_rate_high,
     {"MaxRequestsPerSecond", "0 (no cap) and 10000", "got 10001"}},
    {"MaxJSONDepth 1",
     bad_depth_low,
     {"MaxJSONDepth", "between 2 and 1000", "got 1"}},
    {"MaxJSONDepth 1001",
     bad_depth_high,
     {"MaxJSONDepth", "between 2 and 1000", "got 1001"}},
    {"MaxResponseBytes 1023",
     bad_bytes_low,
     {"MaxResponseBytes", "between 1024", NULL}},
    {"MaxResponseBytes 2e9",
     bad_bytes_high,
     {"MaxResponseBytes", "between 1024", NULL}},
    {"rule without condition",
     bad_rule_no_condition,
     {"<TrafficAlert \"quiet\">", "no condition", "StatusMin"}},
    {"StatusMin > StatusMax",
     bad_rule_status_order,
     {"<TrafficAlert \"inverted\">", "StatusMin 500", "StatusMax 400"}},
    {"bad Path regex",
     bad_rule_path_regex,
     {"<TrafficAlert \"broken path\"> Path", "^/checkout(", NULL}},
    {"bad Host regex",
     bad_rule_host_regex,
     {"<TrafficAlert \"broken host\"> Host", "[a-", NULL}},
    {"MinAlertInterval < 0",
     bad_rule_interval,
     {"<TrafficAlert \"negative\"> MinAlertInterval", "0 or more", NULL}},
    {"rules without LiveTrafficTriggerURL",
     bad_rule_no_trigger,
     {"<Bucket \"bkt\"> <TrafficAlert \"5xx\">",
      "needs <XMatters> LiveTrafficTriggerURL", NULL}},
    {"rule name twice",
     bad_rule_twice,
     {"<Bucket \"bkt\"> <TrafficAlert \"5xx\">", "appears twice", NULL}},
    {"rule name too long",
     bad_rule_long_name,
     {"<TrafficAlert \"rrrr", "longer than 255 bytes", NULL}},
    {"empty bucket key",
     bad_bucket_key,
     {"<Bucket \"\">", "the bucket key is empty", NULL}},
    {"bucket twice",
     bad_bucket_twice,
     {"<Bucket \"shop\">", "appears twice", "merge"}},
};

START_TEST(test_finish_errors) {
  struct cfg c;
  base_config(&c);
  bad_cases[_i].mutate(&c);
  struct err err = {{0}};
  int rc = cfg_finish(&c, NULL, NULL, &err);
  ck_assert_msg(rc == -EINVAL, "%s: rc %d, expected -EINVAL (%s)",
                bad_cases[_i].name, rc, err.msg);
  for (int i = 0; i < 3 && bad_cases[_i].want[i] != NULL; i++)
    ck_assert_has(err.msg, bad_cases[_i].want[i]);
  ck_assert_lacks(err.msg, "xm-pass");
  ck_assert_lacks(err.msg, "rs-token");
  cfg_fini(&c);
}
END_TEST

/* Every interval must be positive: zero and negative values are refused
 * with the key in the message. */
static const struct {
  const char *key;
  size_t offset; /* of a double in struct cfg */
} interval_keys[] = {
    {"DiscoveryInterval", offsetof(struct cfg, discovery_interval)},
    {"MaxResultAge", offsetof(struct cfg, max_result_age)},
    {"ReconcileInterval", offsetof(struct cfg, reconcile_interval)},
    {"MaxCatchUp", offsetof(struct cfg, max_catch_up)},
    {"OutageThreshold", offsetof(struct cfg, outage_threshold)},
    {"PendingTimeout", offsetof(struct cfg, pending_timeout)},
    {"LocationWindow", offsetof(struct cfg, location_window)},
    {"MaxRunDuration", offsetof(struct cfg, max_run_duration)},
    {"<Runscope> Timeout", offsetof(struct cfg, runscope.timeout)},
    {"<XMatters> Timeout", offsetof(struct cfg, xmatters.timeout)},
};

static const double bad_seconds[] = {0, -1, -0.5};
#define N_BAD_SECONDS N_ROWS(bad_seconds)

START_TEST(test_finish_intervals) {
  int key = _i / N_BAD_SECONDS;
  double value = bad_seconds[_i % N_BAD_SECONDS];
  struct cfg c;
  base_config(&c);
  *(double *)((char *)&c + interval_keys[key].offset) = value;
  struct err err = {{0}};
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  char want[128];
  snprintf(want, sizeof(want), "%s must be a positive number of seconds",
           interval_keys[key].key);
  ck_assert_has(err.msg, want);
  cfg_fini(&c);

  base_config(&c); /* a small positive value is fine */
  *(double *)((char *)&c + interval_keys[key].offset) = 0.5;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  cfg_fini(&c);
}
END_TEST

/* The rules' regexes are compiled once and kept for matching: unanchored
 * POSIX extended expressions; a rule without Path or Host has none. */
START_TEST(test_finish_keeps_regexes) {
  struct cfg c;
  base_config(&c);
  set(&c.xmatters.live_traffic_trigger_url, TRIGGER_URL);
  struct cfg_alert *a = add_rule(&c, "checkout");
  set(&a->path, "^/checkout(/|$)");
  set(&a->host, "(shop|pay)\\.example\\.com");
  add_rule(&c, "status")->status_min = 500;
  struct err err = {{0}};
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  a = &c.buckets[0].alerts[0];
  ck_assert(a->path_compiled && a->host_compiled);
  ck_assert_int_eq(regexec(&a->path_re, "/checkout/cart", 0, NULL, 0), 0);
  ck_assert_int_eq(regexec(&a->path_re, "/checkout", 0, NULL, 0), 0);
  ck_assert_int_ne(regexec(&a->path_re, "/v1/checkout", 0, NULL, 0), 0);
  ck_assert_int_ne(regexec(&a->path_re, "/checkouts", 0, NULL, 0), 0);
  ck_assert_int_eq(regexec(&a->host_re, "api.pay.example.com", 0, NULL, 0), 0);
  ck_assert_int_ne(regexec(&a->host_re, "payXexample.com", 0, NULL, 0), 0);
  const struct cfg_alert *b = &c.buckets[0].alerts[1];
  ck_assert(!b->path_compiled && !b->host_compiled);
  cfg_fini(&c); /* frees them (make memcheck) */
}
END_TEST

START_TEST(test_finish_null_err) {
  struct cfg c;
  base_config(&c);
  set(&c.xmatters.priority, "URGENT");
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, NULL), -EINVAL);
  cfg_fini(&c);
}
END_TEST

/* ---- forward mode: the keys it uses and those it ignores ---- */

/* Forward mode only posts to TestResultsTriggerURL: one warning names every
 * ignored <XMatters> key that is set, nothing it names is checked or read
 * (an invalid Priority, a PasswordFile that does not exist), and the keys
 * it uses are named. */
START_TEST(test_forward_warns_ignored) {
  struct cfg c;
  base_config(&c); /* BaseURL, User and Password set */
  c.xmatters.mode = CFG_MODE_FORWARD;
  ck_assert_int_eq(cfg_list_add(&c.xmatters.recipients, "api-oncall"), 0);
  set(&c.xmatters.priority, "URGENT");
  set(&c.xmatters.acknowledge_response, "Got it");
  set(&c.xmatters.password_file, "/nonexistent/xmatters.pass");
  struct warns w = {0};
  struct err err = {{0}};
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 1);
  ck_assert_has(w.last, "<XMatters> Mode \"forward\" ignores BaseURL, User, "
                        "Password, PasswordFile, Recipient, Priority, "
                        "AcknowledgeResponse:");
  ck_assert_has(w.last, "uses only TestResultsTriggerURL, Timeout, "
                        "AllowPlainHTTP and the TLS and proxy options");
  ck_assert_lacks(w.last, "RerunResponse"); /* not set, only defaulted */
  ck_assert_lacks(w.last, "xm-pass");       /* a key's name, never a value */
  cfg_fini(&c);
}
END_TEST

/* Nothing ignored is set: no warning; the same keys in manage mode: none. */
START_TEST(test_forward_quiet) {
  struct cfg c;
  cfg_init(&c);
  set(&c.runscope.token, "rs-token");
  set(&c.xmatters.test_results_trigger_url, TRIGGER_URL);
  c.xmatters.mode = CFG_MODE_FORWARD;
  struct warns w = {0};
  struct err err = {{0}};
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 0);
  cfg_fini(&c);

  base_config(&c);
  ck_assert_int_eq(cfg_list_add(&c.xmatters.recipients, "api-oncall"), 0);
  set(&c.xmatters.priority, "HIGH");
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 0);
  cfg_fini(&c);
}
END_TEST

/* With <TrafficAlert> rules, Recipient is used (their FYI events) and the
 * warning says so. */
START_TEST(test_forward_with_rules) {
  struct cfg c;
  base_config(&c);
  c.xmatters.mode = CFG_MODE_FORWARD;
  ck_assert_int_eq(cfg_list_add(&c.xmatters.recipients, "api-oncall"), 0);
  set(&c.xmatters.live_traffic_trigger_url, TRIGGER_URL);
  add_rule(&c, "5xx")->status_min = 500;
  struct warns w = {0};
  struct err err = {{0}};
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 1);
  ck_assert_has(w.last, "ignores BaseURL, User, Password:");
  ck_assert_has(w.last, "(and LiveTrafficTriggerURL and Recipient for the "
                        "<TrafficAlert> rules)");
  cfg_fini(&c);
}
END_TEST

/* What forward mode uses is still required and checked. */
START_TEST(test_forward_needs_trigger_url) {
  struct cfg c;
  struct err err = {{0}};
  cfg_init(&c);
  set(&c.runscope.token, "rs-token");
  c.xmatters.mode = CFG_MODE_FORWARD;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  ck_assert_has(err.msg, "<XMatters> TestResultsTriggerURL is required");
  cfg_fini(&c);

  cfg_init(&c);
  set(&c.runscope.token, "rs-token");
  c.xmatters.mode = CFG_MODE_FORWARD;
  set(&c.xmatters.test_results_trigger_url,
      "http://xm.example/api/integration/1/functions/U/triggers?apiKey=K");
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  ck_assert_has(err.msg, "<XMatters> TestResultsTriggerURL: plain http://");
  ck_assert_lacks(err.msg, "apiKey=K");
  c.xmatters.allow_plain_http = true;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  cfg_fini(&c);
}
END_TEST

/* ---- responses: RerunKeepsEventOpen, MaxRerunsPerEvent ---- */

static const struct {
  int max_reruns;
  bool ok;
} reruns_cases[] = {
    {0, true}, {1, true}, {3, true}, {1000, true}, {-1, false}, {1001, false},
};

START_TEST(test_responses_options) {
  struct cfg c;
  struct err err = {{0}};
  base_config(&c);
  ck_assert(!c.xmatters.rerun_keeps_event_open);
  ck_assert_int_eq(c.xmatters.max_reruns_per_event, 3);
  c.xmatters.max_reruns_per_event = reruns_cases[_i].max_reruns;
  int rc = cfg_finish(&c, NULL, NULL, &err);
  if (reruns_cases[_i].ok) {
    ck_assert_msg(rc == 0, "%s", err.msg);
  } else {
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_has(err.msg, "<XMatters> MaxRerunsPerEvent");
    ck_assert_has(err.msg, "between 0");
  }
  ck_assert_int_eq(c.xmatters.max_reruns_per_event,
                   reruns_cases[_i].max_reruns);
  cfg_fini(&c);
  /* cfg_fini starts over: the defaults again */
  ck_assert_int_eq(c.xmatters.max_reruns_per_event, 3);
  ck_assert(!c.xmatters.rerun_keeps_event_open);
}
END_TEST

/* Forward mode leaves the responses to the plan: set, they are named. */
START_TEST(test_responses_options_forward) {
  struct cfg c;
  struct warns w = {0};
  struct err err = {{0}};
  cfg_init(&c);
  set(&c.runscope.token, "rs-token");
  set(&c.xmatters.test_results_trigger_url, TRIGGER_URL);
  c.xmatters.mode = CFG_MODE_FORWARD;
  c.xmatters.rerun_keeps_event_open = true;
  c.xmatters.max_reruns_per_event = 5;
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 1);
  ck_assert_has(w.last, "ignores RerunKeepsEventOpen, MaxRerunsPerEvent:");
  cfg_fini(&c);
  cfg_init(&c);
  set(&c.runscope.token, "rs-token");
  set(&c.xmatters.test_results_trigger_url, TRIGGER_URL);
  c.xmatters.mode = CFG_MODE_FORWARD;
  w.n = 0;
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(w.n, 0); /* the defaults are not named */
  cfg_fini(&c);
}
END_TEST

/* ---- TLS and proxy options (cfg_tls_proxy) ---- */

/* A file in the scratch dir with mode 0600; its path goes to out. */
static void tp_file(const char *name, const char *content, char *out,
                    size_t size) {
  write_file(name, content, strlen(content), 0600, out, size);
}

START_TEST(test_tls_proxy_defaults) {
  struct cfg c;
  base_config(&c);
  struct err err = {{0}};
  struct warns w = {0};
  ck_assert_int_eq(cfg_finish(&c, collect_warn, &w, &err), 0);
  const struct cfg_tls_proxy *nets[] = {&c.runscope.net, &c.xmatters.net};
  for (size_t i = 0; i < 2; i++) {
    ck_assert(nets[i]->verify_peer);
    ck_assert(nets[i]->verify_host);
    ck_assert(!nets[i]->proxy_from_environment);
    ck_assert_ptr_null(nets[i]->proxy_url);
    ck_assert_ptr_null(nets[i]->ca_cert);
  }
  ck_assert_int_eq(w.n, 0);
  cfg_fini(&c);
}
END_TEST

/* Inline credentials are split off the URL (percent-decoded), with a
 * warning that names ProxyUserFile and not the password. */
START_TEST(test_proxy_inline_credentials) {
  struct cfg c;
  base_config(&c);
  set(&c.runscope.net.proxy, "http://bob:p%40ss-w0rd@proxy.example:3128/");
  struct err err = {{0}};
  struct warns w = {0};
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_str_eq(c.runscope.net.proxy_url, "http://proxy.example:3128/");
  ck_assert_str_eq(c.runscope.net.proxy_user, "bob");
  ck_assert_str_eq(c.runscope.net.proxy_password, "p@ss-w0rd");
  ck_assert_int_eq(w.n, 1);
  ck_assert_has(w.last, "<Runscope> Proxy");
  ck_assert_has(w.last, "ProxyUserFile");
  ck_assert_lacks(w.last, "w0rd");
  cfg_fini(&c);
}
END_TEST

/* ProxyUserFile and ClientKeyPassFile are read as TokenFile is: a file
 * readable by others is warned about. */
START_TEST(test_proxy_user_file) {
  struct cfg c;
  char user[256], pass[256], cert[256];
  base_config(&c);
  write_file("proxy.user", "alice:s3cr:et\n", 14, 0644, user, sizeof(user));
  tp_file("key.pass", "keypass-123\n", pass, sizeof(pass));
  tp_file("client.pem", "PEM", cert, sizeof(cert));
  set(&c.xmatters.net.proxy, "socks5h://127.0.0.1:1080");
  set(&c.xmatters.net.proxy_user_file, user);
  set(&c.xmatters.net.client_cert, cert);
  set(&c.xmatters.net.client_key_pass_file, pass);
  cfg_list_add(&c.xmatters.net.no_proxy, "localhost");
  struct err err = {{0}};
  struct warns w = {0};
  ck_assert_msg(cfg_finish(&c, collect_warn, &w, &err) == 0, "%s", err.msg);
  ck_assert_str_eq(c.xmatters.net.proxy_user, "alice");
  ck_assert_str_eq(c.xmatters.net.proxy_password, "s3cr:et");
  ck_assert_str_eq(c.xmatters.net.client_key_pass, "keypass-123");
  ck_assert_int_eq(w.n, 1);
  ck_assert_has(w.last, "<XMatters> ProxyUserFile");
  ck_assert_has(w.last, "chmod 600");
  cfg_fini(&c);
}
END_TEST

/* VerifyPeer and VerifyHost off: a warning each, at every start. */
START_TEST(test_verify_off_warns) {
  struct cfg c;
  base_config(&c);
  c.runscope.net.verify_peer = false;
  c.xmatters.net.verify_host = false;
  struct err err = {{0}};
  struct warns w = {0};
  ck_assert_int_eq(cfg_finish(&c, collect_warn, &w, &err), 0);
  ck_assert_int_eq(w.n, 2);
  ck_assert_has(w.last, "<XMatters> VerifyHost false");
  cfg_fini(&c);
}
END_TEST

static const struct {
  const char *name;
  const char *key;   /* the string option set, by its name */
  const char *value; /* "@" + name: a file of that name in the dir */
  const char *key2, *value2;
  const char *want[3];
} tp_bad[] = {
    {"missing CACert",
     "CACert",
     "/nonexistent/ca.pem",
     NULL,
     NULL,
     {"<XMatters> CACert \"/nonexistent/ca.pem\"", "No such file",
      "a PEM file of the CA certificates"}},
    {"CAPath a file",
     "CAPath",
     "@ca.pem",
     NULL,
     NULL,
     {"<XMatters> CAPath", "is not a directory", "openssl rehash"}},
    {"CACert a directory",
     "CACert",
     "@",
     NULL,
     NULL,
     {"<XMatters> CACert", "is a directory", NULL}},
    {"ClientKey without ClientCert",
     "ClientKey",
     "@ca.pem",
     NULL,
     NULL,
     {"<XMatters> ClientKey is set without ClientCert", NULL, NULL}},
    {"ClientKeyPass without ClientCert",
     "ClientKeyPass",
     "secret-pass",
     NULL,
     NULL,
     {"ClientKeyPass(File) is set without ClientCert", NULL, NULL}},
    {"socks5 resolves locally",
     "Proxy",
     "socks5://user:pw-secret@proxy:1080",
     NULL,
     NULL,
     {"<XMatters> Proxy: not an http://", "socks5h://", NULL}},
    {"a proxy without host",
     "Proxy",
     "http://",
     NULL,
     NULL,
     {"<XMatters> Proxy: not an http://", NULL, NULL}},
    {"ProxyUserFile without Proxy",
     "ProxyUserFile",
     "@ca.pem",
     NULL,
     NULL,
     {"<XMatters> ProxyUserFile is set without Proxy", NULL, NULL}},
    {"ProxyCACert with an http proxy",
     "Proxy",
     "http://proxy:3128",
     "ProxyCACert",
     "@ca.pem",
     {"ProxyCACert applies to an https:// Proxy only", NULL, NULL}},
    {"credentials twice",
     "Proxy",
     "http://u:pw-secret@proxy:3128",
     "ProxyUserFile",
     "@ca.pem",
     {"Proxy holds credentials and ProxyUserFile is set", NULL, NULL}},
    {"ProxyUserFile without a colon",
     "Proxy",
     "http://proxy:3128",
     "ProxyUserFile",
     "@ca.pem",
     {"<XMatters> ProxyUserFile", "no ':'", "user:password"}},
    {"missing ProxyUserFile",
     "Proxy",
     "http://proxy:3128",
     "ProxyUserFile",
     "/nonexistent/user",
     {"<XMatters> ProxyUserFile \"/nonexistent/user\"", "No such file", NULL}},
};

/* The string field of net named by key (the config file's name). */
static char **tp_field(struct cfg_tls_proxy *t, const char *key) {
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {
      {"CACert", offsetof(struct cfg_tls_proxy, ca_cert)},
      {"CAPath", offsetof(struct cfg_tls_proxy, ca_path)},
      {"ClientKey", offsetof(struct cfg_tls_proxy, client_key)},
      {"ClientKeyPass", offsetof(struct cfg_tls_proxy, client_key_pass)},
      {"Proxy", offsetof(struct cfg_tls_proxy, proxy)},
      {"ProxyUserFile", offsetof(struct cfg_tls_proxy, proxy_user_file)},
      {"ProxyCACert", offsetof(struct cfg_tls_proxy, proxy_ca_cert)},
  };
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if (strcmp(fields[i].key, key) == 0)
      return (char **)((char *)t + fields[i].offset);
  ck_abort_msg("no field %s", key);
  return NULL;
}

static void tp_set(struct cfg_tls_proxy *t, const char *key,
                   const char *value) {
  char path[256];
  if (value[0] == '@') {
    path_in_dir(path, sizeof(path), value + 1);
    value = path;
  }
  set(tp_field(t, key), value);
}

START_TEST(test_tls_proxy_errors) {
  struct cfg c;
  char ca[256];
  base_config(&c);
  tp_file("ca.pem", "PEM", ca, sizeof(ca));
  tp_set(&c.xmatters.net, tp_bad[_i].key, tp_bad[_i].value);
  if (tp_bad[_i].key2 != NULL)
    tp_set(&c.xmatters.net, tp_bad[_i].key2, tp_bad[_i].value2);
  struct err err = {{0}};
  int rc = cfg_finish(&c, NULL, NULL, &err);
  ck_assert_msg(rc == -EINVAL, "%s: rc %d (%s)", tp_bad[_i].name, rc, err.msg);
  for (int i = 0; i < 3 && tp_bad[_i].want[i] != NULL; i++)
    ck_assert_has(err.msg, tp_bad[_i].want[i]);
  ck_assert_lacks(err.msg, "secret");
  cfg_fini(&c);
}
END_TEST

/* Proxy and ProxyFromEnvironment, NoProxy alone. */
START_TEST(test_proxy_from_environment_conflicts) {
  struct cfg c;
  struct err err = {{0}};
  base_config(&c);
  set(&c.runscope.net.proxy, "http://proxy:3128");
  c.runscope.net.proxy_from_environment = true;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  ck_assert_has(err.msg, "Proxy and ProxyFromEnvironment true are both set");
  cfg_fini(&c);
  base_config(&c);
  cfg_list_add(&c.runscope.net.no_proxy, ".internal");
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), -EINVAL);
  ck_assert_has(err.msg, "<Runscope> NoProxy is set without Proxy");
  cfg_fini(&c);
  base_config(&c);
  cfg_list_add(&c.runscope.net.no_proxy, ".internal");
  c.runscope.net.proxy_from_environment = true;
  ck_assert_int_eq(cfg_finish(&c, NULL, NULL, &err), 0);
  cfg_fini(&c);
}
END_TEST

/* ---- the suite ---- */

static void add(Suite *s, const char *name, const TTest *fn, int rows,
                bool scratch_dir) {
  unit_add_case(s, name, fn, rows, scratch_dir ? dir_setup : NULL,
                scratch_dir ? dir_teardown : NULL);
}

Suite *unit_suite(void) {
  Suite *s = suite_create("config");
  add(s, "default_numbers", test_default_numbers, N_ROWS(default_numbers),
      false);
  add(s, "default_others", test_default_others, 0, false);
  add(s, "default_strings", test_default_strings, N_ROWS(default_strings),
      false);
  add(s, "lists_and_blocks", test_lists_and_blocks, 0, false);
  add(s, "loopback", test_loopback, N_ROWS(loopback_cases), false);
  add(s, "check_url", test_check_url, N_ROWS(url_cases), false);
  add(s, "check_url_hides_secrets", test_check_url_hides_secrets,
      N_ROWS(secret_urls), false);
  add(s, "check_url_null_err", test_check_url_null_err, 0, false);
  add(s, "check_trigger_url", test_check_trigger_url, N_ROWS(trigger_cases),
      false);
  add(s, "read_secret", test_read_secret, N_ROWS(secret_cases), true);
  add(s, "read_secret_missing", test_read_secret_missing, 0, true);
  add(s, "read_secret_directory", test_read_secret_directory, 0, true);
  add(s, "read_secret_long", test_read_secret_long, N_ROWS(long_cases), true);
  add(s, "finish_reads_files", test_finish_reads_files, 0, true);
  add(s, "finish_ok", test_finish_ok, N_ROWS(ok_cases), false);
  add(s, "finish_errors", test_finish_errors, N_ROWS(bad_cases), true);
  add(s, "finish_intervals", test_finish_intervals,
      N_ROWS(interval_keys) * N_BAD_SECONDS, false);
  add(s, "finish_null_err", test_finish_null_err, 0, false);
  add(s, "responses_options", test_responses_options, N_ROWS(reruns_cases),
      false);
  add(s, "responses_options_forward", test_responses_options_forward, 0, false);
  add(s, "finish_keeps_regexes", test_finish_keeps_regexes, 0, false);
  add(s, "forward_warns_ignored", test_forward_warns_ignored, 0, false);
  add(s, "forward_quiet", test_forward_quiet, 0, false);
  add(s, "forward_with_rules", test_forward_with_rules, 0, false);
  add(s, "forward_needs_trigger_url", test_forward_needs_trigger_url, 0, false);
  add(s, "tls_proxy_defaults", test_tls_proxy_defaults, 0, false);
  add(s, "proxy_inline_credentials", test_proxy_inline_credentials, 0, false);
  add(s, "proxy_user_file", test_proxy_user_file, 0, true);
  add(s, "verify_off_warns", test_verify_off_warns, 0, false);
  add(s, "tls_proxy_errors", test_tls_proxy_errors, N_ROWS(tp_bad), true);
  add(s, "proxy_from_environment_conflicts",
      test_proxy_from_environment_conflicts, 0, false);
  return s;
}
