/* SPDX-License-Identifier: MIT */
/* Responses to the plugin's events: decisions and records. */
#include "core/responses.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- texts ---- */

/* True when a, without surrounding blanks, equals b ignoring case. */
static bool text_is(const char *a, const char *b) {
  if (b == NULL)
    return false;
  while (isspace((unsigned char)*a))
    a++;
  size_t n = strlen(a);
  while (n > 0 && isspace((unsigned char)a[n - 1]))
    n--;
  return n > 0 && strlen(b) == n && strncasecmp(a, b, n) == 0;
}

enum resp_kind resp_classify(const char *text, const char *rerun_text,
                             const char *ack_text) {
  const char *p = text ? text : "";
  while (isspace((unsigned char)*p))
    p++;
  if (*p == '\0')
    return RESP_NONE;
  if (text_is(p, rerun_text))
    return RESP_RERUN;
  if (text_is(p, ack_text))
    return RESP_ACKNOWLEDGE;
  return RESP_OTHER;
}

/* ---- records ---- */

struct resp_event *resp_find(struct rec_state *st, const char *event_id) {
  for (size_t i = 0; i < st->n_responses; i++)
    if (strcmp(st->responses[i].event_id, event_id) == 0)
      return &st->responses[i];
  return NULL;
}

int resp_get(struct rec_state *st, const char *key, const char *event_id,
             struct resp_event **ret) {
  struct resp_event *ev = resp_find(st, event_id);
  if (ev != NULL) {
    *ret = ev;
    return 0;
  }
  if (strlen(key) >= REC_KEY_MAX || strlen(event_id) >= XM_ID_MAX)
    return -ENAMETOOLONG;
  if (array_reserve(&st->responses, &st->cap_responses, st->n_responses,
                    sizeof(*st->responses), 8) != 0)
    return -ENOMEM;
  ev = &st->responses[st->n_responses++];
  memset(ev, 0, sizeof(*ev));
  str_copy(ev->event_id, sizeof(ev->event_id), event_id);
  str_copy(ev->key, sizeof(ev->key), key);
  *ret = ev;
  return 0;
}

/* True when some key of st holds event_id. */
static bool event_held(const struct rec_state *st, const char *event_id) {
  for (size_t i = 0; i < st->n_keys; i++) {
    const struct rec_key *k = st->keys[i];
    for (size_t j = 0; j < k->n_events; j++)
      if (strcmp(k->event_ids[j], event_id) == 0)
        return true;
  }
  return false;
}

size_t resp_prune(struct rec_state *st, double now, double keep) {
  size_t kept = 0;
  for (size_t i = 0; i < st->n_responses; i++) {
    struct resp_event *ev = &st->responses[i];
    if (event_held(st, ev->event_id))
      ev->held_at = now;
    else if (now - ev->held_at > keep)
      continue; /* gone for long enough: forgotten */
    st->responses[kept++] = *ev;
  }
  size_t dropped = st->n_responses - kept;
  st->n_responses = kept;
  return dropped;
}

/* ---- reviewing deliveries ---- */

static uint64_t response_id(const struct xm_delivery *d) {
  char when[32];
  snprintf(when, sizeof(when), "%.3f", d->received);
  uint64_t h = hash_fnv1a(HASH_FNV_BASIS, d->user, strlen(d->user) + 1);
  h = hash_fnv1a(h, when, strlen(when) + 1);
  return hash_fnv1a(h, d->text, strlen(d->text) + 1);
}

static bool seen(const struct resp_event *ev, const struct xm_delivery *d) {
  if (d->received > 0 && d->received <= ev->seen_through)
    return true;
  uint64_t id = response_id(d);
  for (size_t i = 0; i < ev->n_seen; i++)
    if (ev->seen[i].id == id)
      return true;
  return false;
}

/* Records d as handled; the oldest record makes room, summed up by
 * seen_through. */
static void mark_seen(struct resp_event *ev, const struct xm_delivery *d) {
  if (ev->n_seen == RESP_SEEN_MAX) {
    if (ev->seen[0].received > ev->seen_through)
      ev->seen_through = ev->seen[0].received;
    memmove(&ev->seen[0], &ev->seen[1],
            (RESP_SEEN_MAX - 1) * sizeof(ev->seen[0]));
    ev->n_seen--;
  }
  ev->seen[ev->n_seen].id = response_id(d);
  ev->seen[ev->n_seen].received = d->received;
  ev->n_seen++;
}

/* True when d is a response to ev's event: an item that names no event
 * id is taken as the event asked about. */
static bool for_event(const struct resp_event *ev,
                      const struct xm_delivery *d) {
  return d->event_id[0] == '\0' || strcmp(d->event_id, ev->event_id) == 0;
}

static bool is_new(const struct resp_event *ev, const struct xm_delivery *d) {
  return d->text[0] != '\0' && !seen(ev, d);
}

bool resp_has_news(const struct resp_event *ev, const struct xm_delivery *d,
                   size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_new(ev, &d[i]) && for_event(ev, &d[i]))
      return true;
  return false;
}

static enum resp_verdict decide_rerun(struct resp_event *ev,
                                      const struct resp_opts *o,
                                      const struct xm_delivery *d,
                                      const char *location) {
  switch (ev->rerun) {
  case RESP_RERUN_TERMINATING:
    return RESP_V_CLOSED;
  case RESP_RERUN_PENDING:
  case RESP_RERUN_SENDING:
  case RESP_RERUN_AWAITING:
    return RESP_V_RERUN_MERGED;
  case RESP_RERUN_NONE:
    break;
  }
  if (ev->reruns >= o->max_reruns)
    return RESP_V_RERUN_CAPPED;
  ev->rerun = RESP_RERUN_PENDING;
  str_copy(ev->rerun_by, sizeof(ev->rerun_by), d->user);
  str_copy(ev->rerun_location, sizeof(ev->rerun_location),
           location ? location : "");
  ev->rerun_asked_at = d->received;
  ev->rerun_sent_at = 0;
  ev->n_rerun_runs = 0;
  return RESP_V_RERUN;
}

/* Decides on one new response to an open event of the plugin's. */
static enum resp_verdict decide(struct resp_event *ev,
                                const struct resp_opts *o,
                                const struct xm_delivery *d,
                                const char *location) {
  switch (resp_classify(d->text, o->rerun_text, o->ack_text)) {
  case RESP_RERUN:
    return decide_rerun(ev, o, d, location);
  case RESP_ACKNOWLEDGE:
    if (ev->rerun == RESP_RERUN_TERMINATING)
      return RESP_V_CLOSED;
    if (ev->acked_at == 0 || d->received >= ev->acked_at) {
      str_copy(ev->acked_by, sizeof(ev->acked_by), d->user);
      ev->acked_at = d->received;
    }
    return RESP_V_ACKNOWLEDGED;
  case RESP_NONE:
  case RESP_OTHER:
    break;
  }
  return RESP_V_OTHER_TEXT;
}

/* Sorts out[0..n) by the received time of their deliveries, oldest first
 * (stable). */
static void by_received(const struct xm_delivery *d, struct resp_decision *out,
                        size_t n) {
  for (size_t i = 1; i < n; i++) {
    struct resp_decision v = out[i];
    size_t j = i;
    for (; j > 0 && d[out[j - 1].delivery].received > d[v.delivery].received;
         j--)
      out[j] = out[j - 1];
    out[j] = v;
  }
}

size_t resp_review(struct resp_event *ev, const struct resp_opts *o,
                   enum resp_event_status status, const struct xm_delivery *d,
                   size_t n, const char *location, struct resp_decision *out) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (is_new(ev, &d[i]))
      out[m++].delivery = i;
  by_received(d, out, m);
  for (size_t i = 0; i < m; i++) {
    const struct xm_delivery *r = &d[out[i].delivery];
    enum resp_verdict v;
    if (!for_event(ev, r))
      v = RESP_V_FOREIGN_ITEM;
    else if (status == RESP_EVENT_CLOSED)
      v = RESP_V_CLOSED;
    else if (status == RESP_EVENT_FOREIGN)
      v = RESP_V_FOREIGN;
    else
      v = decide(ev, o, r, location);
    /* A response to another event is not this event's to remember. */
    if (v != RESP_V_FOREIGN_ITEM)
      mark_seen(ev, r);
    out[i].verdict = v;
  }
  return m;
}

/* ---- reruns ---- */

void resp_rerun_sending(struct resp_event *ev, double now) {
  ev->rerun = RESP_RERUN_SENDING;
  ev->rerun_sent_at = now;
}

void resp_rerun_sent(struct resp_event *ev, bool keep_open, double now,
                     const struct rs_started_run *runs, size_t n) {
  ev->reruns++;
  ev->rerun = keep_open ? RESP_RERUN_AWAITING : RESP_RERUN_TERMINATING;
  ev->rerun_sent_at = now;
  ev->n_rerun_runs = 0;
  for (size_t i = 0; i < n && ev->n_rerun_runs < RESP_RUNS_MAX; i++)
    if (str_copy(ev->rerun_runs[ev->n_rerun_runs], RS_ID_MAX,
                 runs[i].test_run_id) == 0)
      ev->n_rerun_runs++;
}

void resp_rerun_not_sent(struct resp_event *ev, bool final) {
  ev->rerun = final ? RESP_RERUN_NONE : RESP_RERUN_PENDING;
  ev->rerun_sent_at = 0;
}

/* True when l is a run the rerun of ev started, or, when the trigger's
 * answer named none, a run of the rerun's location that started after the
 * trigger went out. */
static bool rerun_run(const struct resp_event *ev, const struct rec_run *l) {
  for (size_t i = 0; i < ev->n_rerun_runs; i++)
    if (strcmp(str_or_empty(l->test_run_id), ev->rerun_runs[i]) == 0)
      return true;
  if (ev->n_rerun_runs > 0)
    return false;
  return l->started_at > ev->rerun_sent_at &&
         (ev->rerun_location[0] == '\0' ||
          strcmp(str_or_empty(l->location), ev->rerun_location) == 0);
}

enum resp_result resp_rerun_result(struct resp_event *ev,
                                   const struct rec_key *k) {
  if (ev->rerun != RESP_RERUN_AWAITING)
    return RESP_RESULT_NONE;
  enum resp_result r = RESP_RESULT_NONE;
  for (size_t i = 0; i < k->n_locs; i++) {
    if (!rerun_run(ev, &k->locs[i]))
      continue;
    if (k->locs[i].failed)
      r = RESP_RESULT_FAILED;
    else if (r == RESP_RESULT_NONE)
      r = RESP_RESULT_PASSED;
  }
  if (r != RESP_RESULT_NONE)
    ev->rerun = RESP_RERUN_NONE;
  return r;
}
