/* SPDX-License-Identifier: MIT */
/* runscopectl: the leader key and the leader's state, read from etcd. */
#include "ctl_etcd.h"

#include "store/jw.h"
#include "store/state_etcd.h"
#include "util/str.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CTL_ETCD_TIMEOUT_MS 5000 /* per request; each endpoint in turn */
#define CTL_ETCD_ANSWER_MAX (64u << 20)

static void warn_stderr(void *ctx, const char *msg) {
  (void)ctx;
  fprintf(stderr, "runscopectl: warning: %s\n", msg);
}

/* The client over <Cluster>'s endpoints, credentials and TLS options. */
static int new_client(struct ctl_etcd *e) {
  static bool curl_ready;
  if (!curl_ready && curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
    return ctl_fail(CTL_FAIL, "libcurl could not be initialised");
  curl_ready = true;
  char agent[64];
  snprintf(agent, sizeof(agent), "runscopectl/%s", RUNSCOPE_VERSION);
  struct http_opts ho = {.timeout_ms = CTL_ETCD_TIMEOUT_MS,
                         .max_response_bytes = CTL_ETCD_ANSWER_MAX,
                         .user_agent = agent,
                         .max_parallel = 1,
                         .net = &e->cfg->net,
                         .api = "etcd",
                         .block = "<Cluster>"};
  e->http = http_new(&ho);
  struct etcd_opts eo = {
      .endpoints = (const char *const *)e->cfg->endpoints.v,
      .n_endpoints = e->cfg->endpoints.n,
      .user = e->cfg->user,
      .password = e->cfg->password,
      .max_json_depth = 64,
  };
  e->etcd = e->http ? etcd_new(e->http, &eo) : NULL;
  return e->etcd ? CTL_OK : ctl_fail(CTL_FAIL, "out of memory");
}

int ctl_etcd_open(struct cfg *cfg, struct ctl_etcd *e) {
  memset(e, 0, sizeof(*e));
  e->cfg = &cfg->cluster;
  if (!cfg->cluster.enabled)
    return ctl_fail(CTL_CONFIG,
                    "the runscope plugin has no <Cluster> block in collectd's "
                    "config (give it with -c CONF)");
  struct err err = {{0}};
  int rc = cfg_cluster_finish(&cfg->cluster, warn_stderr, NULL, &err);
  if (rc == -ENOMEM)
    return ctl_fail(CTL_FAIL, "out of memory");
  if (rc != 0)
    return ctl_fail(CTL_CONFIG, "%s (the plugin would refuse it too)", err.msg);
  if (cluster_keys(cfg->cluster.prefix, e->leader_key, e->state_prefix) != 0)
    return ctl_fail(CTL_CONFIG, "<Cluster> Prefix is too long");
  return new_client(e);
}

void ctl_etcd_close(struct ctl_etcd *e) {
  etcd_free(e->etcd);
  http_free(e->http);
  e->etcd = NULL;
  e->http = NULL;
}

int ctl_etcd_leader(struct ctl_etcd *e, struct ctl_leader *ret,
                    struct err *err) {
  struct etcd_kvs kvs = {0};
  memset(ret, 0, sizeof(*ret));
  ret->ttl = -1;
  int rc = etcd_get(e->etcd, e->leader_key, false, &kvs, err);
  if (rc != 0 || kvs.n == 0) {
    etcd_kvs_fini(&kvs);
    return rc;
  }
  const struct etcd_kv *kv = &kvs.kv[0];
  str_copy(ret->name, sizeof(ret->name), kv->value ? kv->value : "");
  ret->lease = kv->lease;
  etcd_kvs_fini(&kvs);
  struct err ttl_err = {{0}};
  if (ret->lease != 0 &&
      etcd_lease_ttl(e->etcd, ret->lease, &ret->ttl, &ttl_err) != 0)
    ret->ttl = -1; /* the name is what was asked; the TTL is a bonus */
  return 0;
}

int ctl_etcd_state(struct ctl_etcd *e, int max_json_depth, struct rec_state *st,
                   struct err *err) {
  struct state_etcd parts;
  return state_etcd_load(e->etcd, e->state_prefix, max_json_depth, &parts, st,
                         err);
}

int ctl_etcd_fail(const struct ctl_etcd *e, const char *what,
                  const struct err *err) {
  (void)e;
  return ctl_fail(CTL_ETCD,
                  "%s: %s (check <Cluster> Endpoint, the credentials and the "
                  "TLS options, and that etcd runs)",
                  what, err->msg);
}

#define MEMBER(w, name) jw_member(w, "\"" name "\":", sizeof(name) + 2)

static void json_leader(struct jw *w, const struct ctl_leader *l,
                        const char *key) {
  jw_open(w, '{');
  MEMBER(w, "leader");
  if (l->name[0] != '\0')
    jw_string(w, l->name);
  else
    jw_raw(w, "null", 4);
  MEMBER(w, "lease_ttl");
  if (l->name[0] != '\0' && l->ttl >= 0)
    jw_long(w, (long)l->ttl);
  else
    jw_raw(w, "null", 4);
  MEMBER(w, "key");
  jw_string(w, key);
  jw_close(w, '}');
  jw_raw(w, "\n", 1);
}

int ctl_leader_print(const struct ctl_leader *l, const char *key, bool json) {
  struct buf out;
  buf_init(&out, 1u << 16);
  struct jw w;
  jw_to_buf(&w, &out);
  if (json)
    json_leader(&w, l, key);
  else if (l->name[0] == '\0')
    fprintf(stderr, "runscopectl: no agent leads: etcd holds no %s\n", key);
  else if (l->ttl >= 0)
    buf_printf(&out, "%s (lease: %lld s left)\n", l->name, (long long)l->ttl);
  else
    buf_printf(&out, "%s\n", l->name);
  int code = jw_finish(&w) == 0 ? ctl_print_buf(&out)
                                : ctl_fail(CTL_FAIL, "out of memory");
  buf_fini(&out);
  return code;
}
