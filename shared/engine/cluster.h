/* SPDX-License-Identifier: MIT */
/* The cluster service: several agents, one pager, on etcd.
 *
 * Every agent holds an etcd lease of LeaseTTL seconds and campaigns for the
 * leader key <Prefix>leader, bound to its lease (a transaction that puts it
 * only when it is absent). The holder does the work of a cycle; the others
 * stand by, keep their lease and look at the key every cycle. A leader
 * acts (creates, terminates, reruns) only while its lease surely lives:
 * cluster_may_act checks the lease's deadline on the monotonic clock right
 * before each of them. When etcd does not answer (or refuses every call:
 * wrong credentials) for 2 x LeaseTTL, every agent works alone (fail open)
 * until a campaign works again, when they elect again. */
#ifndef RUNSCOPE_CLUSTER_H
#define RUNSCOPE_CLUSTER_H

#include "clients/etcd.h"
#include "config/config.h"
#include "engine/say.h"
#include "transport/http.h"

#include <stdbool.h>
#include <stdint.h>

enum cluster_role {
  CLUSTER_NONE,    /* no <Cluster>: the agent works alone, as always */
  CLUSTER_STANDBY, /* another agent leads (or nobody yet): no work */
  CLUSTER_LEADER,  /* this agent holds the leader key: all the work */
  CLUSTER_ALONE,   /* etcd silent for 2 x LeaseTTL: work alone (fail open) */
};

#define CLUSTER_KEY_MAX 512
#define CLUSTER_NAME_MAX 256

struct cluster {
  const struct cfg_cluster *cfg;
  struct say *say;
  struct http_client *http;
  struct etcd_client *etcd;
  char leader_key[CLUSTER_KEY_MAX];   /* <Prefix>leader */
  char state_prefix[CLUSTER_KEY_MAX]; /* <Prefix>state/ */
  double ttl;                         /* the lease's seconds */
  int64_t lease;                      /* 0: none */
  double lease_until; /* monotonic: the lease surely lives before this */
  double answered_at; /* monotonic: etcd's last answer */
  bool answered;      /* etcd answered the last cluster_tick's calls */
  enum cluster_role role;
  bool announced;                /* the role was logged once */
  char leader[CLUSTER_NAME_MAX]; /* the leader's name as last seen */
  struct complaint complaint;    /* calls to etcd that fail */
};

/* The keys of a cluster under prefix (<Cluster> Prefix): the leader key
 * "<prefix>leader" (its value the leader's Name, bound to its lease) and
 * the prefix of the state's parts "<prefix>state/". -ENAMETOOLONG when
 * they do not fit CLUSTER_KEY_MAX. */
int cluster_keys(const char *prefix, char leader_key[CLUSTER_KEY_MAX],
                 char state_prefix[CLUSTER_KEY_MAX]);

/* Sets c up for cfg's <Cluster> (role CLUSTER_NONE without one): its own
 * HTTP client (timeout half the lease, at least 1 s) and etcd client.
 * interval is the poll interval: a lease shorter than two of them would
 * expire between cycles, so it is lengthened (and logged). Returns 0 or
 * -ENOMEM. */
int cluster_open(struct cluster *c, const struct cfg *cfg, struct say *say);

/* The leader revokes its lease (its key goes with it: another agent takes
 * over at its next cycle); then c is freed. */
void cluster_close(struct cluster *c);

/* Once per cycle: renews the lease (or grants a new one), campaigns for the
 * leader key, and gives this cycle's role, logging each change of role
 * (and notifying WARNING on working alone, OKAY when etcd is back). */
enum cluster_role cluster_tick(struct cluster *c);

/* The guard before each create, terminate and rerun: true without a cluster
 * and when working alone; for a leader, true only while its lease surely
 * lives (renewed here when more than half of it is gone); false on
 * standby. A leader whose lease ran out stands by from here on. */
bool cluster_may_act(struct cluster *c);

/* True when the agent works alone as part of a cluster (fail open): it
 * looks in xMatters for an open event of a key right before a create. */
bool cluster_alone(const struct cluster *c);

/* The compare of a write while leading: the leader key is bound to this
 * agent's lease. Only for the role CLUSTER_LEADER. */
struct etcd_compare cluster_leading(const struct cluster *c);

#endif
