/* SPDX-License-Identifier: MIT */
/* The plugin's configuration as a plain struct: defaults, checks, secrets. */
#include "config/config.h"

#include "config/alerting.h"
#include "util/str.h"
#include "util/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void cfg_init(struct cfg *c) {
  memset(c, 0, sizeof(*c));
  c->discovery_interval = 600;
  c->max_result_age = 600;
  c->reconcile_interval = 300;
  c->max_catch_up = 3600;
  c->outage_threshold = 300;
  c->pending_timeout = 60;
  c->location_window = 86400;
  c->max_run_duration = 3600;
  c->max_response_bytes = 16 * 1024 * 1024;
  c->max_json_depth = 64;
  c->max_concurrent_requests = 4;
  c->max_requests_per_second = 20;
  c->runscope.timeout = 10;
  c->xmatters.timeout = 10;
  c->xmatters.max_reruns_per_event = CFG_MAX_RERUNS_DEFAULT;
  cfg_alerting_init(c);
  cfg_tls_proxy_init(&c->runscope.net);
  cfg_tls_proxy_init(&c->xmatters.net);
  cfg_tls_proxy_init(&c->cluster.net);
  c->cluster.lease_ttl = CFG_LEASE_TTL_DEFAULT;
}

void cfg_list_fini(struct cfg_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static void alert_fini(struct cfg_alert *a) {
  free(a->name);
  cfg_list_fini(&a->methods);
  free(a->path);
  free(a->host);
  cfg_list_fini(&a->recipients);
  if (a->path_compiled)
    regfree(&a->path_re);
  if (a->host_compiled)
    regfree(&a->host_re);
}

static void bucket_fini(struct cfg_bucket *b) {
  free(b->key);
  cfg_list_fini(&b->tests);
  cfg_list_fini(&b->environments);
  for (size_t i = 0; i < b->n_alerts; i++)
    alert_fini(&b->alerts[i]);
  free(b->alerts);
}

void cfg_fini(struct cfg *c) {
  char **strings[] = {
      &c->state_file,
      &c->dashboard_url,
      &c->runscope.base_url,
      &c->runscope.token,
      &c->runscope.token_file,
      &c->xmatters.base_url,
      &c->xmatters.user,
      &c->xmatters.password,
      &c->xmatters.password_file,
      &c->xmatters.test_results_trigger_url,
      &c->xmatters.live_traffic_trigger_url,
      &c->xmatters.priority,
      &c->xmatters.acknowledge_response,
      &c->xmatters.rerun_response,
      &c->maintenance_dir,
      &c->xmatters.plan,
      &c->xmatters.form,
      &c->cluster.name,
      &c->cluster.prefix,
      &c->cluster.user,
      &c->cluster.password,
      &c->cluster.password_file,
  };
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
    str_free_secret(*strings[i]); /* a few are secrets: wipe them all */
  cfg_list_fini(&c->xmatters.recipients);
  cfg_tls_proxy_fini(&c->runscope.net);
  cfg_tls_proxy_fini(&c->xmatters.net);
  cfg_tls_proxy_fini(&c->cluster.net);
  cfg_list_fini(&c->cluster.endpoints);
  for (size_t i = 0; i < c->n_buckets; i++)
    bucket_fini(&c->buckets[i]);
  free(c->buckets);
  cfg_alerting_fini(c);
  cfg_init(c);
}

int cfg_set_string(char **dst, const char *src) {
  char *copy = strdup(src);
  if (copy == NULL)
    return -ENOMEM;
  str_free_secret(*dst); /* it may have been a secret */
  *dst = copy;
  return 0;
}

int cfg_list_add(struct cfg_list *l, const char *s) {
  char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  l->v = v;
  if ((l->v[l->n] = strdup(s)) == NULL)
    return -ENOMEM;
  l->n++;
  return 0;
}

bool cfg_list_has(const struct cfg_list *l, const char *s) {
  if (l->n == 0)
    return true;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0)
      return true;
  return false;
}

int cfg_add_bucket(struct cfg *c, const char *key, struct cfg_bucket **ret) {
  struct cfg_bucket *v = realloc(c->buckets, (c->n_buckets + 1) * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  c->buckets = v;
  struct cfg_bucket *b = &v[c->n_buckets];
  memset(b, 0, sizeof(*b));
  if ((b->key = strdup(key)) == NULL)
    return -ENOMEM;
  b->failure_threshold = b->recovery_threshold = -1;
  c->n_buckets++;
  *ret = b;
  return 0;
}

int cfg_add_alert(struct cfg_bucket *b, const char *name,
                  struct cfg_alert **ret) {
  struct cfg_alert *v = realloc(b->alerts, (b->n_alerts + 1) * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  b->alerts = v;
  struct cfg_alert *a = &v[b->n_alerts];
  memset(a, 0, sizeof(*a));
  a->min_alert_interval = 300;
  if ((a->name = strdup(name)) == NULL)
    return -ENOMEM;
  b->n_alerts++;
  *ret = a;
  return 0;
}

int cfg_check_url(const char *key, const char *url, bool allow_plain_http,
                  struct err *err) {
  char host[256];
  bool https = strncasecmp(url, "https://", 8) == 0;
  bool http = strncasecmp(url, "http://", 7) == 0;
  if ((!https && !http) || url_host(url, host, sizeof(host)) != 0) {
    /* Not the value: it may hold an apiKey or a password. */
    err_set(err, "%s: not an http(s) URL; use e.g. https://host/...", key);
    return -EINVAL;
  }
  if (http && !allow_plain_http && !url_is_loopback(url)) {
    err_set(err,
            "%s: plain http:// to %s would send credentials in clear; use "
            "https://, or set AllowPlainHTTP true in the same block",
            key, host);
    return -EINVAL;
  }
  return 0;
}

/* True for runscope.com and the hosts under it. */
static bool runscope_host(const char *host) {
  static const char domain[] = "runscope.com";
  size_t n = strlen(host), d = sizeof(domain) - 1;
  if (n < d || strcasecmp(host + n - d, domain) != 0)
    return false;
  return n == d || host[n - d - 1] == '.';
}

int cfg_check_trigger_url(const struct cfg_runscope *r, const char *what,
                          const char *url, struct err *err) {
  char host[256], base[256];
  int rc = cfg_check_url(what, url, r->allow_plain_http, err);
  if (rc != 0)
    return rc;
  url_host(url, host, sizeof(host)); /* cfg_check_url read it */
  if (runscope_host(host))
    return 0;
  if (r->base_url != NULL && url_host(r->base_url, base, sizeof(base)) == 0 &&
      strcasecmp(host, base) == 0)
    return 0;
  err_set(err,
          "%s: %s is not a Runscope host (runscope.com or a host under it, "
          "or the host of <Runscope> BaseURL)",
          what, host);
  return -EINVAL;
}

/* A secret and its file option: Token and TokenFile of <Runscope>, ... */
struct secret_keys {
  const char *block, *inline_key, *what, *file_key;
};

/* Token or TokenFile (exactly one), the latter read into token; an inline
 * one is warned about. */
static int finish_secret(const struct secret_keys *k, char **secret,
                         const char *file, cfg_warn_fn warn, void *warn_ctx,
                         struct err *err) {
  const char *block = k->block, *inline_key = k->inline_key;
  const char *file_key = k->file_key;
  char key[64];
  snprintf(key, sizeof(key), "<%s> %s", block, file_key);
  if (*secret != NULL && file != NULL) {
    err_set(err, "<%s>: %s and %s are both set; keep one", block, inline_key,
            file_key);
    return -EINVAL;
  }
  if (*secret != NULL) {
    char title[64];
    snprintf(title, sizeof(title), "<%s>", block);
    cfg_warn_inline(warn, warn_ctx, title, inline_key, k->what, "it", file_key);
    return 0;
  }
  if (file == NULL) {
    err_set(err, "<%s>: %s (or %s) is required", block, file_key, inline_key);
    return -EINVAL;
  }
  return cfg_read_secret(key, file, secret, warn, warn_ctx, err);
}

static int default_string(char **dst, const char *value) {
  return *dst == NULL ? cfg_set_string(dst, value) : 0;
}

static int finish_defaults(struct cfg *c) {
  int rc =
      default_string(&c->state_file, "/var/lib/collectd/runscope/state.json");
  if (rc == 0)
    rc = default_string(&c->dashboard_url, "https://www.runscope.com");
  if (rc == 0)
    rc = default_string(&c->runscope.base_url, "https://api.runscope.com");
  if (rc == 0)
    rc = default_string(&c->xmatters.acknowledge_response, "Acknowledge");
  if (rc == 0)
    rc = default_string(&c->xmatters.rerun_response, "Rerun");
  return rc;
}

struct positive {
  const char *key;
  double value;
};

/* MaxConcurrentRequests and MaxRequestsPerSecond. */
static int check_economy(const struct cfg *c, struct err *err) {
  if (c->max_concurrent_requests < 1 || c->max_concurrent_requests > 64) {
    err_set(err, "MaxConcurrentRequests must be between 1 and 64, got %d",
            c->max_concurrent_requests);
    return -EINVAL;
  }
  if (!(c->max_requests_per_second >= 0) ||
      c->max_requests_per_second > 10000) {
    err_set(err,
            "MaxRequestsPerSecond must be between 0 (no cap) and 10000, "
            "got %g",
            c->max_requests_per_second);
    return -EINVAL;
  }
  return 0;
}

static int check_positive(const struct cfg *c, struct err *err) {
  const struct positive v[] = {
      {"DiscoveryInterval", c->discovery_interval},
      {"MaxResultAge", c->max_result_age},
      {"ReconcileInterval", c->reconcile_interval},
      {"MaxCatchUp", c->max_catch_up},
      {"OutageThreshold", c->outage_threshold},
      {"PendingTimeout", c->pending_timeout},
      {"LocationWindow", c->location_window},
      {"MaxRunDuration", c->max_run_duration},
      {"<Runscope> Timeout", c->runscope.timeout},
      {"<XMatters> Timeout", c->xmatters.timeout},
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    if (!(v[i].value > 0)) {
      err_set(err, "%s must be a positive number of seconds, got %g", v[i].key,
              v[i].value);
      return -EINVAL;
    }
  }
  if (c->max_response_bytes < 1024 || c->max_response_bytes > 1e9) {
    err_set(err, "MaxResponseBytes must be between 1024 and 1e9, got %g",
            c->max_response_bytes);
    return -EINVAL;
  }
  if (c->max_json_depth < 2 || c->max_json_depth > 1000) {
    err_set(err, "MaxJSONDepth must be between 2 and 1000, got %d",
            c->max_json_depth);
    return -EINVAL;
  }
  return check_economy(c, err);
}

static int finish_runscope(struct cfg_runscope *r, cfg_warn_fn warn,
                           void *warn_ctx, struct err *err) {
  int rc = cfg_check_url("<Runscope> BaseURL", r->base_url, r->allow_plain_http,
                         err);
  if (rc == 0)
    rc = cfg_tls_proxy_finish("<Runscope>", &r->net, warn, warn_ctx, err);
  if (rc != 0)
    return rc;
  static const struct secret_keys k = {"Runscope", "Token", "the API token",
                                       "TokenFile"};
  return finish_secret(&k, &r->token, r->token_file, warn, warn_ctx, err);
}

static int check_priority(const char *priority, struct err *err) {
  static const char *const ok[] = {"HIGH", "MEDIUM", "LOW"};
  if (priority == NULL)
    return 0;
  for (size_t i = 0; i < 3; i++)
    if (strcmp(priority, ok[i]) == 0)
      return 0;
  err_set(err, "<XMatters> Priority \"%s\": use HIGH, MEDIUM or LOW", priority);
  return -EINVAL;
}

static int check_trigger_urls(const struct cfg_xmatters *x, struct err *err) {
  if (x->test_results_trigger_url == NULL) {
    err_set(err, "<XMatters> TestResultsTriggerURL is required: the URL of "
                 "the inbound integration or flow HTTP trigger");
    return -EINVAL;
  }
  int rc = cfg_check_url("<XMatters> TestResultsTriggerURL",
                         x->test_results_trigger_url, x->allow_plain_http, err);
  if (rc == 0 && x->live_traffic_trigger_url != NULL)
    rc = cfg_check_url("<XMatters> LiveTrafficTriggerURL",
                       x->live_traffic_trigger_url, x->allow_plain_http, err);
  return rc;
}

/* MaxRerunsPerEvent: 0 (Rerun responses are ignored) to 1000. */
static int check_max_reruns(const struct cfg_xmatters *x, struct err *err) {
  if (x->max_reruns_per_event >= 0 && x->max_reruns_per_event <= 1000)
    return 0;
  err_set(err,
          "<XMatters> MaxRerunsPerEvent must be between 0 (Rerun responses "
          "are ignored) and 1000, got %d",
          x->max_reruns_per_event);
  return -EINVAL;
}

/* Manage mode talks to the REST API: it needs the instance and a user. */
static int finish_rest_api(struct cfg_xmatters *x, cfg_warn_fn warn,
                           void *warn_ctx, struct err *err) {
  if (x->base_url == NULL) {
    err_set(err, "<XMatters> BaseURL is required in Mode \"manage\": the "
                 "instance, e.g. https://example.xmatters.com");
    return -EINVAL;
  }
  int rc = cfg_check_url("<XMatters> BaseURL", x->base_url, x->allow_plain_http,
                         err);
  if (rc != 0)
    return rc;
  if (x->user == NULL) {
    err_set(err, "<XMatters> User is required in Mode \"manage\": a REST "
                 "web service user");
    return -EINVAL;
  }
  static const struct secret_keys k = {
      "XMatters", "Password", "the REST user's password", "PasswordFile"};
  return finish_secret(&k, &x->password, x->password_file, warn, warn_ctx, err);
}

static int finish_xmatters(struct cfg_xmatters *x, cfg_warn_fn warn,
                           void *warn_ctx, struct err *err) {
  int rc = check_trigger_urls(x, err);
  if (rc == 0)
    rc = cfg_tls_proxy_finish("<XMatters>", &x->net, warn, warn_ctx, err);
  if (rc == 0 && x->mode == CFG_MODE_MANAGE)
    rc = check_priority(x->priority, err);
  if (rc == 0)
    rc = check_max_reruns(x, err);
  if (rc == 0 && x->mode == CFG_MODE_MANAGE)
    rc = finish_rest_api(x, warn, warn_ctx, err);
  return rc;
}

/* Forward mode only posts Runscope's webhook payload to
 * TestResultsTriggerURL: the plan's integration creates, de-duplicates and
 * terminates the events and handles their responses. <TrafficAlert> rules
 * still send their FYI events (LiveTrafficTriggerURL, and the Recipient
 * lines for rules without their own). Warns, naming them, about the
 * <XMatters> keys that are set and that it does not use (before the
 * defaults are filled in, so that only the user's keys are named). */
static void warn_forward_ignored(const struct cfg *c, cfg_warn_fn warn,
                                 void *warn_ctx) {
  const struct cfg_xmatters *x = &c->xmatters;
  bool rules = false;
  for (size_t i = 0; i < c->n_buckets; i++)
    rules = rules || c->buckets[i].n_alerts > 0;
  const struct {
    const char *key;
    bool set;
  } keys[] = {
      {"BaseURL", x->base_url != NULL},
      {"User", x->user != NULL},
      {"Password", x->password != NULL},
      {"PasswordFile", x->password_file != NULL},
      {"Recipient", x->recipients.n > 0 && !rules},
      {"Priority", x->priority != NULL},
      {"AcknowledgeResponse", x->acknowledge_response != NULL},
      {"RerunResponse", x->rerun_response != NULL},
      {"RerunKeepsEventOpen", x->rerun_keeps_event_open},
      {"MaxRerunsPerEvent", x->max_reruns_per_event != CFG_MAX_RERUNS_DEFAULT},
      {"Plan", x->plan != NULL},
      {"Form", x->form != NULL},
  };
  char names[256] = "";
  size_t used = 0;
  if (x->mode != CFG_MODE_FORWARD || warn == NULL)
    return;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    if (!keys[i].set || used >= sizeof(names))
      continue;
    int n = snprintf(names + used, sizeof(names) - used, "%s%s",
                     used ? ", " : "", keys[i].key);
    used += n > 0 ? (size_t)n : 0;
  }
  if (used == 0)
    return;
  char msg[ERR_MSG_MAX];
  snprintf(msg, sizeof(msg),
           "<XMatters> Mode \"forward\" ignores %s: the plan's inbound "
           "integration creates, de-duplicates and terminates the events; "
           "forward mode uses only TestResultsTriggerURL, Timeout, "
           "AllowPlainHTTP and the TLS and proxy options%s",
           names,
           rules ? " (and LiveTrafficTriggerURL and Recipient for the "
                   "<TrafficAlert> rules)"
                 : "");
  warn(warn_ctx, msg);
}

/* Compiles re into *out (kept for the rule's use; *compiled says so). */
static int compile_regex(const char *rule, const char *key, const char *re,
                         regex_t *out, bool *compiled, struct err *err) {
  if (*compiled)
    regfree(out);
  *compiled = false;
  int rc = regcomp(out, re, REG_EXTENDED | REG_NOSUB);
  if (rc == 0) {
    *compiled = true;
    return 0;
  }
  char why[128];
  regerror(rc, out, why, sizeof(why));
  err_set(err, "<TrafficAlert \"%s\"> %s \"%s\": %s", rule, key, re, why);
  return -EINVAL;
}

static int check_alert(struct cfg_alert *a, struct err *err) {
  if (strlen(a->name) >= CFG_RULE_NAME_MAX) {
    err_set(err,
            "<TrafficAlert \"%.40s...\">: the name is longer than %d "
            "bytes",
            a->name, CFG_RULE_NAME_MAX - 1);
    return -EINVAL;
  }
  if (a->methods.n == 0 && a->path == NULL && a->host == NULL &&
      a->status_min == 0 && a->status_max == 0) {
    err_set(err,
            "<TrafficAlert \"%s\"> has no condition; set Method, Path, "
            "Host, StatusMin or StatusMax",
            a->name);
    return -EINVAL;
  }
  if (a->status_max != 0 && a->status_min > a->status_max) {
    err_set(err, "<TrafficAlert \"%s\"> StatusMin %d is above StatusMax %d",
            a->name, a->status_min, a->status_max);
    return -EINVAL;
  }
  if (a->min_alert_interval < 0) {
    err_set(err, "<TrafficAlert \"%s\"> MinAlertInterval must be 0 or more",
            a->name);
    return -EINVAL;
  }
  int rc = a->path ? compile_regex(a->name, "Path", a->path, &a->path_re,
                                   &a->path_compiled, err)
                   : 0;
  if (rc == 0 && a->host)
    rc = compile_regex(a->name, "Host", a->host, &a->host_re, &a->host_compiled,
                       err);
  return rc;
}

/* The rules of bucket b: each checked (and its regexes compiled), each
 * name once, and a trigger URL for their events. */
static int check_alerts(struct cfg_bucket *b, const struct cfg_xmatters *x,
                        struct err *err) {
  for (size_t j = 0; j < b->n_alerts; j++) {
    int rc = check_alert(&b->alerts[j], err);
    if (rc != 0)
      return rc;
    for (size_t k = 0; k < j; k++) {
      if (strcmp(b->alerts[k].name, b->alerts[j].name) == 0) {
        err_set(err,
                "<Bucket \"%s\"> <TrafficAlert \"%s\"> appears twice; give "
                "each rule its own name",
                b->key, b->alerts[j].name);
        return -EINVAL;
      }
    }
  }
  if (b->n_alerts > 0 && x->live_traffic_trigger_url == NULL) {
    err_set(err,
            "<Bucket \"%s\"> <TrafficAlert \"%s\"> needs <XMatters> "
            "LiveTrafficTriggerURL: the trigger that creates the FYI events "
            "of traffic-alert matches",
            b->key, b->alerts[0].name);
    return -EINVAL;
  }
  return 0;
}

static int check_buckets(struct cfg *c, struct err *err) {
  for (size_t i = 0; i < c->n_buckets; i++) {
    struct cfg_bucket *b = &c->buckets[i];
    if (b->key[0] == '\0') {
      err_set(err, "<Bucket \"\">: the bucket key is empty");
      return -EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(c->buckets[j].key, b->key) == 0) {
        err_set(err, "<Bucket \"%s\"> appears twice; merge the blocks", b->key);
        return -EINVAL;
      }
    }
    int rc = check_alerts(b, &c->xmatters, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The endpoints, LeaseTTL and the prefix of <Cluster>. */
static int check_cluster(struct cfg_cluster *k, struct err *err) {
  if (k->endpoints.n == 0) {
    err_set(err, "<Cluster> needs at least one Endpoint, e.g. Endpoint "
                 "\"https://etcd1.example.com:2379\"");
    return -EINVAL;
  }
  for (size_t i = 0; i < k->endpoints.n; i++) {
    int rc = cfg_check_url("<Cluster> Endpoint", k->endpoints.v[i],
                           k->allow_plain_http, err);
    if (rc != 0)
      return rc;
  }
  if (!(k->lease_ttl >= CFG_LEASE_TTL_MIN) || k->lease_ttl > 3600) {
    err_set(err,
            "<Cluster> LeaseTTL must be between %d and 3600 seconds, "
            "got %g",
            CFG_LEASE_TTL_MIN, k->lease_ttl);
    return -EINVAL;
  }
  if (k->prefix[0] != '/' || (k->name != NULL && k->name[0] == '\0')) {
    err_set(err, "<Cluster> %s",
            k->prefix[0] != '/' ? "Prefix must start with \"/\""
                                : "Name must not be empty");
    return -EINVAL;
  }
  return 0;
}

int cfg_cluster_finish(struct cfg_cluster *k, cfg_warn_fn warn, void *warn_ctx,
                       struct err *err) {
  if (!k->enabled)
    return 0;
  if (default_string(&k->prefix, "/collectd-runscope/") != 0) {
    err_set(err, "out of memory");
    return -ENOMEM;
  }
  int rc = check_cluster(k, err);
  if (rc == 0)
    rc = cfg_tls_proxy_finish("<Cluster>", &k->net, warn, warn_ctx, err);
  if (rc != 0 ||
      (k->user == NULL && k->password == NULL && k->password_file == NULL))
    return rc;
  if (k->user == NULL) {
    err_set(err, "<Cluster> User is required with a password");
    return -EINVAL;
  }
  static const struct secret_keys sk = {"Cluster", "Password",
                                        "etcd's password", "PasswordFile"};
  return finish_secret(&sk, &k->password, k->password_file, warn, warn_ctx,
                       err);
}

int cfg_finish(struct cfg *c, cfg_warn_fn warn, void *warn_ctx,
               struct err *err) {
  warn_forward_ignored(c, warn, warn_ctx);
  if (finish_defaults(c) != 0) {
    err_set(err, "out of memory");
    return -ENOMEM;
  }
  int rc = check_positive(c, err);
  if (rc == 0)
    rc = cfg_check_url("DashboardURL", c->dashboard_url, true, err);
  if (rc == 0)
    rc = finish_runscope(&c->runscope, warn, warn_ctx, err);
  if (rc == 0)
    rc = finish_xmatters(&c->xmatters, warn, warn_ctx, err);
  if (rc == 0)
    rc = check_buckets(c, err);
  if (rc == 0)
    rc = cfg_cluster_finish(&c->cluster, warn, warn_ctx, err);
  if (rc == 0)
    rc = cfg_alerting_check(c, err);
  return rc == -ENOMEM ? rc : (rc != 0 ? -EINVAL : 0);
}
