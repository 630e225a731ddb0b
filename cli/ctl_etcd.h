/* SPDX-License-Identifier: MIT */
/* runscopectl: the cluster's etcd, read and never written: the leader key
 * and the leader's state, over the project's etcd client with <Cluster>'s
 * endpoints, credentials and TLS and proxy options. */
#ifndef RUNSCOPE_CLI_CTL_ETCD_H
#define RUNSCOPE_CLI_CTL_ETCD_H

#include "clients/etcd.h"
#include "config/config.h"
#include "core/reconcile.h"
#include "ctl.h"
#include "engine/cluster.h"
#include "transport/http.h"

#include <stdint.h>

struct ctl_etcd {
  const struct cfg_cluster *cfg; /* borrowed, finished */
  struct http_client *http;
  struct etcd_client *etcd;
  char leader_key[CLUSTER_KEY_MAX];
  char state_prefix[CLUSTER_KEY_MAX];
};

/* What the leader key holds. */
struct ctl_leader {
  char name[CLUSTER_NAME_MAX]; /* "": no agent leads */
  int64_t lease;               /* the lease it is bound to */
  int64_t ttl;                 /* seconds its lease has left; -1: unknown */
};

/* Completes <Cluster> of cfg (cfg_cluster_finish: PasswordFile and the TLS
 * files are read here) and sets e up to ask etcd. Returns CTL_OK,
 * CTL_CONFIG (no <Cluster>, or an option the plugin would refuse) or
 * CTL_FAIL, with a message on stderr. Release with ctl_etcd_close. */
int ctl_etcd_open(struct cfg *cfg, struct ctl_etcd *e);
void ctl_etcd_close(struct ctl_etcd *e);

/* Reads the leader key into *ret (name "" when absent) and, when an agent
 * leads, the seconds its lease has left (-1 when that one call fails).
 * Returns 0 or the negative errno of the etcd client, with err set. */
int ctl_etcd_leader(struct ctl_etcd *e, struct ctl_leader *ret,
                    struct err *err);

/* Reads the leader's state (every part under the state prefix) into *st
 * (rec_state_init'ed). Returns 0, -ENOENT when etcd holds none, -EBADMSG,
 * or an error of the etcd client, with err set. */
int ctl_etcd_state(struct ctl_etcd *e, int max_json_depth, struct rec_state *st,
                   struct err *err);

/* Prints l for runscopectl leader: "NAME (lease: N s left)" on stdout,
 * or when no agent leads, a line saying so on stderr (key: the leader
 * key); with json, {"leader", "lease_ttl", "key"} on stdout either way.
 * Returns CTL_OK, or CTL_FAIL when the output failed. */
int ctl_leader_print(const struct ctl_leader *l, const char *key, bool json);

/* The exit code and the message on stderr for a failed call to etcd:
 * CTL_ETCD, with what to check. */
int ctl_etcd_fail(const struct ctl_etcd *e, const char *what,
                  const struct err *err);

#endif
