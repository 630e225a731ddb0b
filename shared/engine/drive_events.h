/* SPDX-License-Identifier: MIT */
/* The stage that drives xMatters: the events of the keys, as planned. */
#ifndef RUNSCOPE_DRIVE_EVENTS_H
#define RUNSCOPE_DRIVE_EVENTS_H

#include "engine/context.h"

#include <stddef.h>

/* A notification the reconciler's plan calls for: FAILURE when a key
 * starts failing, OKAY when it recovers. */
struct key_notice {
  const struct rec_key *k; /* valid while the key is in the state */
  enum engine_severity severity;
  char closed_event[XM_ID_MAX]; /* the key's event the actions just ended */
  bool flap; /* WARNING: it started flapping; OKAY: it stopped */
};

/* What the actions of one cycle hand on: the notifications to dispatch, in
 * the plan's order. Zeroed memory is empty; drive_events_notices_fini. */
struct key_notices {
  struct key_notice *v;
  size_t n, cap;
};

/* Are the xMatters REST credentials accepted? On the first cycle (so that
 * `collectd -T` fails on a wrong password even when no test fails) and as
 * the probe of an xMatters that is down. */
void drive_events_check(struct engine *e, double now);

/* At start and every ReconcileInterval: adopts active events of watched
 * keys that the state does not know. */
void drive_events_adopt(struct engine *e, double now);

/* Asks xMatters about the keys the reconciler needs to know about. */
void drive_events_look_up(struct engine *e, double now);

/* Plans this cycle's actions, carries out its creates and terminates
 * (written ahead to the state file) and hands its notifications to out. */
void drive_events_act(struct engine *e, double now, struct key_notices *out);
void drive_events_notices_fini(struct key_notices *a);

#endif
