/* SPDX-License-Identifier: MIT */
/* <Plugin runscope> (collectd's oconfig tree) -> struct cfg. */
#include "config_parse.h"

#include "config/alerting.h"
#include "util/clock.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum kind {
  K_STRING,  /* one string: char * */
  K_BOOL,    /* true/false: bool */
  K_SECONDS, /* a number >= 0: double */
  K_NUMBER,  /* a number: double */
  K_INT,     /* a whole number: int */
  K_LIST,    /* a string, repeatable: struct cfg_list */
  K_MODE,    /* "manage" or "forward": enum cfg_mode */
  K_TIME,    /* an ISO-8601 time, UTC: double (Unix seconds) */
  K_WEEKLY,  /* "Sat 22:00-Sun 02:00": a struct cfg_window's weekly span */
  K_BLOCK,   /* a nested block: see block */
};

typedef int (*block_fn)(const oconfig_item_t *ci, void *base, struct err *err);

struct key_spec {
  const char *name;
  enum kind kind;
  size_t offset; /* of the field in the block's struct */
  block_fn block;
};

/* One block's keys, and its name for messages ("<XMatters>"). */
struct block_spec {
  const char *title;
  const struct key_spec *keys;
  size_t n_keys;
};

static const char *const kind_example[] = {
    [K_STRING] = "one quoted string",
    [K_BOOL] = "true or false",
    [K_SECONDS] = "a number of seconds (0 or more)",
    [K_NUMBER] = "a number",
    [K_INT] = "a whole number",
    [K_LIST] = "one quoted string (repeat the line for more)",
    [K_MODE] = "\"manage\" or \"forward\"",
    [K_TIME] = "an ISO-8601 time in UTC such as \"2026-12-24T18:00:00Z\"",
    [K_WEEKLY] = "a weekly span in UTC such as \"Sat 22:00-Sun 02:00\"",
    [K_BLOCK] = "a block",
};

static bool one_value(const oconfig_item_t *ci, int type) {
  return ci->values_num == 1 && ci->values[0].type == type;
}

static int bad_value(const struct block_spec *b, const oconfig_item_t *ci,
                     enum kind kind, struct err *err) {
  err_set(err, "%s%s%s: expects %s", b->title, b->title[0] ? " " : "", ci->key,
          kind_example[kind]);
  return -EINVAL;
}

static int get_bool(const oconfig_item_t *ci, bool *ret) {
  if (one_value(ci, OCONFIG_TYPE_BOOLEAN)) {
    *ret = ci->values[0].value.boolean != 0;
    return 0;
  }
  if (!one_value(ci, OCONFIG_TYPE_STRING))
    return -EINVAL;
  const char *s = ci->values[0].value.string;
  if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
    *ret = true;
  else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
    *ret = false;
  else
    return -EINVAL;
  return 0;
}

static int get_number(const oconfig_item_t *ci, double *ret) {
  if (!one_value(ci, OCONFIG_TYPE_NUMBER))
    return -EINVAL;
  *ret = ci->values[0].value.number;
  return 0;
}

static int get_mode(const oconfig_item_t *ci, enum cfg_mode *ret) {
  if (!one_value(ci, OCONFIG_TYPE_STRING))
    return -EINVAL;
  const char *s = ci->values[0].value.string;
  if (strcasecmp(s, "manage") == 0)
    *ret = CFG_MODE_MANAGE;
  else if (strcasecmp(s, "forward") == 0)
    *ret = CFG_MODE_FORWARD;
  else
    return -EINVAL;
  return 0;
}

/* Stores one key's value into the field at base + spec->offset. */
static int set_value(const struct key_spec *k, const oconfig_item_t *ci,
                     void *base, struct err *err) {
  void *field = (char *)base + k->offset;
  double d = 0;
  switch (k->kind) {
  case K_STRING:
  case K_LIST:
    if (!one_value(ci, OCONFIG_TYPE_STRING))
      return -EINVAL;
    return k->kind == K_STRING
               ? cfg_set_string(field, ci->values[0].value.string)
               : cfg_list_add(field, ci->values[0].value.string);
  case K_BOOL:
    return get_bool(ci, field);
  case K_SECONDS:
  case K_NUMBER:
    if (get_number(ci, &d) != 0 || (k->kind == K_SECONDS && d < 0))
      return -EINVAL;
    *(double *)field = d;
    return 0;
  case K_INT:
    /* The range first: converting an out-of-range double is undefined. */
    if (get_number(ci, &d) != 0 || !(d >= INT_MIN && d <= INT_MAX) ||
        d != (double)(int)d)
      return -EINVAL;
    *(int *)field = (int)d;
    return 0;
  case K_MODE:
    return get_mode(ci, field);
  case K_TIME:
    if (!one_value(ci, OCONFIG_TYPE_STRING))
      return -EINVAL;
    return clock_parse_iso8601(ci->values[0].value.string, field) == 0
               ? 0
               : -EINVAL;
  case K_WEEKLY:
    if (!one_value(ci, OCONFIG_TYPE_STRING))
      return -EINVAL;
    return cfg_window_weekly(field, ci->values[0].value.string, err);
  case K_BLOCK:
    return k->block(ci, base, err);
  }
  return -EINVAL;
}

static void list_known(const struct block_spec *b, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < b->n_keys && used < size; i++) {
    int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "",
                     b->keys[i].name);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}

static int unknown_key(const struct block_spec *b, const oconfig_item_t *ci,
                       struct err *err) {
  char known[800];
  list_known(b, known, sizeof(known));
  const char *hint = strcasecmp(ci->key, "Interval") == 0
                         ? " (Interval belongs in <LoadPlugin runscope>)"
                         : "";
  err_set(err, "unknown option \"%s\" in %s%s; known options: %s", ci->key,
          b->title[0] ? b->title : "<Plugin runscope>", hint, known);
  return -EINVAL;
}

static const struct key_spec *find_key(const struct block_spec *b,
                                       const char *name) {
  for (size_t i = 0; i < b->n_keys; i++)
    if (strcasecmp(b->keys[i].name, name) == 0)
      return &b->keys[i];
  return NULL;
}

/* Parses every child of ci by the block's table. */
static int parse_children(const struct block_spec *b, const oconfig_item_t *ci,
                          void *base, struct err *err) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    const struct key_spec *k = find_key(b, child->key);
    if (k == NULL)
      return unknown_key(b, child, err);
    bool is_block = child->children_num > 0 || k->kind == K_BLOCK;
    if (is_block != (k->kind == K_BLOCK))
      return bad_value(b, child, k->kind, err);
    err_clear(err);
    int rc = set_value(k, child, base, err);
    if (rc == -ENOMEM) {
      err_set(err, "out of memory");
      return rc;
    }
    if (rc != 0)
      return err && err->msg[0] ? rc : bad_value(b, child, k->kind, err);
  }
  return 0;
}

#define F(type, field) offsetof(type, field)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Rows of a block's table from config.h's option lists: ROW for a
 * member of the block's struct (type), TLS_ROW for a member of its TLS and
 * proxy options (type's net). */
#define ROW(type, name, kind, member) {name, K_##kind, F(type, member), NULL},
#define TLS_ROW(type, name, kind, member)                                      \
  {name, K_##kind, F(type, net) + F(struct cfg_tls_proxy, member), NULL},

static const struct key_spec alert_keys[] = {
    {"Method", K_LIST, F(struct cfg_alert, methods), NULL},
    {"Path", K_STRING, F(struct cfg_alert, path), NULL},
    {"Host", K_STRING, F(struct cfg_alert, host), NULL},
    {"StatusMin", K_INT, F(struct cfg_alert, status_min), NULL},
    {"StatusMax", K_INT, F(struct cfg_alert, status_max), NULL},
    {"MinAlertInterval", K_SECONDS, F(struct cfg_alert, min_alert_interval),
     NULL},
    {"Recipient", K_LIST, F(struct cfg_alert, recipients), NULL},
};

/* The block's one string argument, e.g. the key of <Bucket "key">. */
static int block_name(const oconfig_item_t *ci, const char *title,
                      const char **ret, struct err *err) {
  if (!one_value(ci, OCONFIG_TYPE_STRING) ||
      ci->values[0].value.string[0] == '\0') {
    err_set(err, "<%s> needs one quoted name, e.g. <%s \"name\">", title,
            title);
    return -EINVAL;
  }
  *ret = ci->values[0].value.string;
  return 0;
}

static int parse_alert(const oconfig_item_t *ci, void *base, struct err *err) {
  const char *name;
  struct cfg_alert *a;
  int rc = block_name(ci, "TrafficAlert", &name, err);
  if (rc == 0)
    rc = cfg_add_alert(base, name, &a);
  if (rc != 0)
    return rc;
  char title[300];
  snprintf(title, sizeof(title), "<TrafficAlert \"%s\">", name);
  struct block_spec spec = {title, alert_keys, N(alert_keys)};
  return parse_children(&spec, ci, a, err);
}

static const struct key_spec bucket_keys[] = {
    {"Test", K_LIST, F(struct cfg_bucket, tests), NULL},
    {"Environment", K_LIST, F(struct cfg_bucket, environments), NULL},
    {"TrafficAlert", K_BLOCK, 0, parse_alert},
    CFG_BUCKET_ALERT_OPTIONS(ROW, struct cfg_bucket)};

static int parse_bucket(const oconfig_item_t *ci, void *base, struct err *err) {
  const char *key;
  struct cfg_bucket *b;
  int rc = block_name(ci, "Bucket", &key, err);
  if (rc == 0)
    rc = cfg_add_bucket(base, key, &b);
  if (rc != 0)
    return rc;
  char title[300];
  snprintf(title, sizeof(title), "<Bucket \"%s\">", key);
  struct block_spec spec = {title, bucket_keys, N(bucket_keys)};
  return parse_children(&spec, ci, b, err);
}

static const struct key_spec maintenance_keys[] = {
    {"Bucket", K_LIST, F(struct cfg_window, buckets), NULL},
    {"Test", K_LIST, F(struct cfg_window, tests), NULL},
    {"Environment", K_LIST, F(struct cfg_window, environments), NULL},
    {"Start", K_TIME, F(struct cfg_window, start), NULL},
    {"End", K_TIME, F(struct cfg_window, end), NULL},
    {"Weekly", K_WEEKLY, 0, NULL},
    {"Reason", K_STRING, F(struct cfg_window, reason), NULL},
};

static int parse_maintenance(const oconfig_item_t *ci, void *base,
                             struct err *err) {
  const char *name;
  struct cfg_window *w;
  int rc = block_name(ci, "Maintenance", &name, err);
  if (rc == 0)
    rc = cfg_add_window(base, name, &w);
  if (rc != 0)
    return rc;
  char title[300];
  snprintf(title, sizeof(title), "<Maintenance \"%s\">", name);
  struct block_spec spec = {title, maintenance_keys, N(maintenance_keys)};
  return parse_children(&spec, ci, w, err);
}
static const struct key_spec runscope_keys[] = {
    {"BaseURL", K_STRING, F(struct cfg_runscope, base_url), NULL},
    {"Token", K_STRING, F(struct cfg_runscope, token), NULL},
    {"TokenFile", K_STRING, F(struct cfg_runscope, token_file), NULL},
    {"Timeout", K_SECONDS, F(struct cfg_runscope, timeout), NULL},
    {"AllowPlainHTTP", K_BOOL, F(struct cfg_runscope, allow_plain_http), NULL},
    CFG_TLS_PROXY_OPTIONS(TLS_ROW, struct cfg_runscope)};

static int parse_runscope(const oconfig_item_t *ci, void *base,
                          struct err *err) {
  struct block_spec spec = {"<Runscope>", runscope_keys, N(runscope_keys)};
  return parse_children(&spec, ci, &((struct cfg *)base)->runscope, err);
}

static const struct key_spec xmatters_keys[] = {
    {"BaseURL", K_STRING, F(struct cfg_xmatters, base_url), NULL},
    {"User", K_STRING, F(struct cfg_xmatters, user), NULL},
    {"Password", K_STRING, F(struct cfg_xmatters, password), NULL},
    {"PasswordFile", K_STRING, F(struct cfg_xmatters, password_file), NULL},
    {"TestResultsTriggerURL", K_STRING,
     F(struct cfg_xmatters, test_results_trigger_url), NULL},
    {"LiveTrafficTriggerURL", K_STRING,
     F(struct cfg_xmatters, live_traffic_trigger_url), NULL},
    {"Recipient", K_LIST, F(struct cfg_xmatters, recipients), NULL},
    {"Priority", K_STRING, F(struct cfg_xmatters, priority), NULL},
    {"AcknowledgeResponse", K_STRING,
     F(struct cfg_xmatters, acknowledge_response), NULL},
    {"RerunResponse", K_STRING, F(struct cfg_xmatters, rerun_response), NULL},
    {"RerunKeepsEventOpen", K_BOOL,
     F(struct cfg_xmatters, rerun_keeps_event_open), NULL},
    {"MaxRerunsPerEvent", K_INT, F(struct cfg_xmatters, max_reruns_per_event),
     NULL},
    {"Mode", K_MODE, F(struct cfg_xmatters, mode), NULL},
    {"Timeout", K_SECONDS, F(struct cfg_xmatters, timeout), NULL},
    {"AllowPlainHTTP", K_BOOL, F(struct cfg_xmatters, allow_plain_http), NULL},
    {"Plan", K_STRING, F(struct cfg_xmatters, plan), NULL},
    {"Form", K_STRING, F(struct cfg_xmatters, form), NULL},
    CFG_TLS_PROXY_OPTIONS(TLS_ROW, struct cfg_xmatters)};

static int parse_xmatters(const oconfig_item_t *ci, void *base,
                          struct err *err) {
  struct block_spec spec = {"<XMatters>", xmatters_keys, N(xmatters_keys)};
  return parse_children(&spec, ci, &((struct cfg *)base)->xmatters, err);
}

static const struct key_spec cluster_keys[] = {
    CFG_CLUSTER_OPTIONS(ROW, struct cfg_cluster)
        CFG_TLS_PROXY_OPTIONS(TLS_ROW, struct cfg_cluster)};

static int parse_cluster(const oconfig_item_t *ci, void *base,
                         struct err *err) {
  struct cfg_cluster *k = &((struct cfg *)base)->cluster;
  struct block_spec spec = {"<Cluster>", cluster_keys, N(cluster_keys)};
  if (k->enabled) {
    err_set(err, "<Cluster> appears twice; merge the blocks into one");
    return -EINVAL;
  }
  k->enabled = true;
  return parse_children(&spec, ci, k, err);
}

static const struct key_spec plugin_keys[] = {
    {"StateFile", K_STRING, F(struct cfg, state_file), NULL},
    {"DryRun", K_BOOL, F(struct cfg, dry_run), NULL},
    {"DashboardURL", K_STRING, F(struct cfg, dashboard_url), NULL},
    {"DiscoveryInterval", K_SECONDS, F(struct cfg, discovery_interval), NULL},
    {"MaxResultAge", K_SECONDS, F(struct cfg, max_result_age), NULL},
    {"ReconcileInterval", K_SECONDS, F(struct cfg, reconcile_interval), NULL},
    {"MaxCatchUp", K_SECONDS, F(struct cfg, max_catch_up), NULL},
    {"OutageThreshold", K_SECONDS, F(struct cfg, outage_threshold), NULL},
    {"PendingTimeout", K_SECONDS, F(struct cfg, pending_timeout), NULL},
    {"LocationWindow", K_SECONDS, F(struct cfg, location_window), NULL},
    {"MaxRunDuration", K_SECONDS, F(struct cfg, max_run_duration), NULL},
    {"MaxResponseBytes", K_NUMBER, F(struct cfg, max_response_bytes), NULL},
    {"MaxConcurrentRequests", K_INT, F(struct cfg, max_concurrent_requests),
     NULL},
    {"MaxRequestsPerSecond", K_NUMBER, F(struct cfg, max_requests_per_second),
     NULL},
    {"MaxJSONDepth", K_INT, F(struct cfg, max_json_depth), NULL},
    {"Runscope", K_BLOCK, 0, parse_runscope},
    {"XMatters", K_BLOCK, 0, parse_xmatters},
    {"Bucket", K_BLOCK, 0, parse_bucket},
    {"Cluster", K_BLOCK, 0, parse_cluster},
    {"MaintenanceDir", K_STRING, F(struct cfg, maintenance_dir), NULL},
    {"Maintenance", K_BLOCK, 0, parse_maintenance},
    {"ValuesEveryInterval", K_BOOL, F(struct cfg, values_every_interval), NULL},
    {"DetailedValues", K_BOOL, F(struct cfg, detailed_values), NULL},
    CFG_ALERT_OPTIONS(ROW, struct cfg)};

int cfgp_parse(const oconfig_item_t *ci, struct cfg *c, struct err *err) {
  struct block_spec spec = {"", plugin_keys, N(plugin_keys)};
  return parse_children(&spec, ci, c, err);
}
