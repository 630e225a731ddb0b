/* SPDX-License-Identifier: MIT */
/* The cluster service: several agents, one pager, on etcd. */
#include "engine/cluster.h"

#include "util/str.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const ROLE_NAME[] = {
    [CLUSTER_NONE] = "alone without a cluster",
    [CLUSTER_STANDBY] = "standby",
    [CLUSTER_LEADER] = "leader",
    [CLUSTER_ALONE] = "alone (fail open)",
};

/* The lease's seconds: LeaseTTL, lengthened to two poll intervals. */
static double lease_seconds(const struct cfg *cfg, struct say *say) {
  double ttl = cfg->cluster.lease_ttl;
  double least = ceil(2 * cfg->interval);
  if (ttl >= least)
    return ttl;
  say_log(say, ENGINE_LOG_NOTICE,
          "<Cluster> LeaseTTL %g is shorter than two poll intervals (%g s): "
          "the lease is granted for %g s so that it lives between cycles.",
          ttl, cfg->interval, least);
  return least;
}

static struct http_client *new_http(const struct cfg *cfg, double ttl) {
  char agent[64];
  snprintf(agent, sizeof(agent), "collectd-runscope/%s", RUNSCOPE_VERSION);
  double timeout = ttl / 2 > 1 ? ttl / 2 : 1;
  struct http_opts o = {
      .timeout_ms = (long)(timeout * 1000),
      .max_response_bytes = (size_t)cfg->max_response_bytes,
      .user_agent = agent,
      .max_parallel = 1,
      .net = &cfg->cluster.net,
      .api = "etcd",
      .block = "<Cluster>",
  };
  return http_new(&o);
}

int cluster_keys(const char *prefix, char leader_key[CLUSTER_KEY_MAX],
                 char state_prefix[CLUSTER_KEY_MAX]) {
  int a = snprintf(leader_key, CLUSTER_KEY_MAX, "%sleader", prefix);
  int b = snprintf(state_prefix, CLUSTER_KEY_MAX, "%sstate/", prefix);
  return a < 0 || b < 0 || a >= CLUSTER_KEY_MAX || b >= CLUSTER_KEY_MAX
             ? -ENAMETOOLONG
             : 0;
}

int cluster_open(struct cluster *c, const struct cfg *cfg, struct say *say) {
  memset(c, 0, sizeof(*c));
  c->cfg = &cfg->cluster;
  c->say = say;
  if (!cfg->cluster.enabled)
    return 0;
  c->ttl = lease_seconds(cfg, say);
  cluster_keys(cfg->cluster.prefix, c->leader_key, c->state_prefix);
  c->http = new_http(cfg, c->ttl);
  struct etcd_opts o = {
      .endpoints = (const char *const *)cfg->cluster.endpoints.v,
      .n_endpoints = cfg->cluster.endpoints.n,
      .user = cfg->cluster.user,
      .password = cfg->cluster.password,
      .max_json_depth = cfg->max_json_depth,
  };
  c->etcd = c->http ? etcd_new(c->http, &o) : NULL;
  if (c->etcd == NULL)
    return -ENOMEM;
  c->role = CLUSTER_STANDBY;
  c->answered_at = http_now(c->http);
  return 0;
}

void cluster_close(struct cluster *c) {
  if (c->role == CLUSTER_LEADER && c->lease != 0) {
    struct err err = {{0}};
    if (etcd_lease_revoke(c->etcd, c->lease, &err) == 0)
      say_log(c->say, ENGINE_LOG_INFO,
              "Cluster: %s stops leading and revoked its lease.", c->cfg->name);
    else
      say_log(c->say, ENGINE_LOG_WARNING,
              "Cluster: revoking the lease failed (%s); another agent takes "
              "over when it expires.",
              err.msg);
  }
  etcd_free(c->etcd);
  http_free(c->http);
  c->etcd = NULL;
  c->http = NULL;
  c->role = CLUSTER_NONE;
}

/* Logs a failed call to etcd, rate-limited. */
static void complain(struct cluster *c, const struct err *err, double now) {
  if (say_complaint_due(&c->complaint, now))
    say_log(c->say, ENGINE_LOG_WARNING, "Cluster: %s", err->msg);
}

/* Renews the lease: -ENOENT (and no lease) when it is gone. The lease
 * surely lives for the TTL etcd gives, counted from the sending. */
static int renew(struct cluster *c, struct err *err) {
  double sent = http_now(c->http);
  int64_t ttl = 0;
  int rc = c->lease != 0 ? etcd_lease_keepalive(c->etcd, c->lease, &ttl, err)
                         : -ENOENT;
  if (rc == 0 && ttl > 0)
    c->lease_until = sent + (double)ttl;
  if (rc == -ENOENT || (rc == 0 && ttl <= 0)) {
    c->lease = 0;
    c->lease_until = 0;
    rc = -ENOENT;
  }
  return rc;
}

/* Renews the lease, or grants one when there is none or it is gone. */
static int keep_lease(struct cluster *c, struct err *err) {
  int rc = renew(c, err);
  if (rc != -ENOENT)
    return rc;
  double sent = http_now(c->http);
  int64_t ttl = 0;
  rc = etcd_lease_grant(c->etcd, (int64_t)c->ttl, &c->lease, &ttl, err);
  if (rc == 0)
    c->lease_until = sent + (double)ttl;
  else
    c->lease = 0;
  return rc;
}

/* Campaigns for the leader key: *leads says whether this agent holds it. */
static int campaign(struct cluster *c, bool *leads, struct err *err) {
  struct etcd_kv current = {0};
  const char *name = c->cfg->name;
  int rc = etcd_create_if_absent(c->etcd, c->leader_key, name, strlen(name),
                                 c->lease, leads, &current, err);
  if (rc == 0)
    str_copy(c->leader, sizeof(c->leader),
             *leads ? name : (current.value ? current.value : ""));
  etcd_kv_fini(&current);
  return rc;
}

/* The WARNING of working alone, or the OKAY of the cluster being back. */
static void notify(struct cluster *c, enum engine_severity sev,
                   const char *message) {
  struct say_about about = {"self", "bool", "cluster"};
  const struct engine_meta meta[] = {{"cluster_name", c->cfg->name}};
  say_notify(c->say, sev, &about, message, meta, 1);
}

static void set_role(struct cluster *c, enum cluster_role role) {
  enum cluster_role was = c->role;
  if (role == was && c->announced)
    return;
  c->role = role;
  c->announced = true;
  if (role == CLUSTER_ALONE) {
    char msg[512];
    snprintf(msg, sizeof(msg),
             "Cluster: etcd has not answered (or refused every call) for "
             "%.0f s (2 x LeaseTTL): %s works alone and looks in xMatters "
             "before each create.",
             2 * c->ttl, c->cfg->name);
    say_log(c->say, ENGINE_LOG_WARNING, "%s", msg);
    notify(c, ENGINE_WARNING, msg);
    return;
  }
  if (was == CLUSTER_ALONE) {
    const char *msg = "Cluster: etcd answers again: the agents elect a leader "
                      "again.";
    say_log(c->say, ENGINE_LOG_NOTICE, "%s", msg);
    notify(c, ENGINE_OKAY, msg);
  }
  say_log(c->say, ENGINE_LOG_NOTICE, "Cluster: %s is now %s%s%s.", c->cfg->name,
          ROLE_NAME[role],
          role == CLUSTER_STANDBY && c->leader[0] ? "; the leader is " : "",
          role == CLUSTER_STANDBY ? c->leader : "");
}

enum cluster_role cluster_tick(struct cluster *c) {
  if (c->cfg == NULL || !c->cfg->enabled)
    return CLUSTER_NONE;
  struct err err = {{0}};
  bool leads = false;
  int rc = keep_lease(c, &err);
  if (rc == 0)
    rc = campaign(c, &leads, &err);
  double now = http_now(c->http);
  c->answered = rc == 0;
  if (rc == 0) {
    c->answered_at = now;
    say_complaint_over(&c->complaint);
    set_role(c, leads ? CLUSTER_LEADER : CLUSTER_STANDBY);
  } else {
    complain(c, &err, now);
    if (now - c->answered_at >= 2 * c->ttl)
      set_role(c, CLUSTER_ALONE);
    else if (c->role == CLUSTER_LEADER && !cluster_may_act(c))
      set_role(c, CLUSTER_STANDBY);
  }
  return c->role;
}

bool cluster_may_act(struct cluster *c) {
  if (c->role != CLUSTER_LEADER)
    return c->role != CLUSTER_STANDBY;
  double now = http_now(c->http);
  if (c->lease_until - now < c->ttl / 2 && now < c->lease_until) {
    struct err err = {{0}};
    if (renew(c, &err) != 0)
      complain(c, &err, now);
    now = http_now(c->http);
  }
  if (now < c->lease_until)
    return true;
  say_log(c->say, ENGINE_LOG_WARNING,
          "Cluster: %s could not renew its lease before it expired: it stops "
          "acting at once and stands by.",
          c->cfg->name);
  c->role = CLUSTER_STANDBY;
  return false;
}

bool cluster_alone(const struct cluster *c) { return c->role == CLUSTER_ALONE; }

struct etcd_compare cluster_leading(const struct cluster *c) {
  struct etcd_compare cmp = {
      .key = c->leader_key,
      .target = ETCD_LEASE,
      .result = ETCD_EQUAL,
      .number = c->lease,
  };
  return cmp;
}
