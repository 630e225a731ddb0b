/* SPDX-License-Identifier: MIT */
/* The stage that drives xMatters: the events of the keys, as planned.
 *
 * It checks the credentials, adopts events the state does not know, looks
 * events up, and carries out the reconciler's creates and terminates. */
#include "engine/drive_events.h"

#include "engine/event_ops.h"
#include "engine/key_view.h"

#include "util/array.h"
#include "util/clock.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True for an open event: ACTIVE, or SUSPENDED (paused, not over). */
static bool event_open(const struct xm_event *ev) {
  return strcmp(ev->status, "ACTIVE") == 0 ||
         strcmp(ev->status, "SUSPENDED") == 0;
}

/* Keeps the ids of open events. */
static size_t open_event_ids(const struct xm_event *ev, size_t n,
                             const char **ids, size_t max) {
  size_t m = 0;
  for (size_t i = 0; i < n && m < max; i++)
    if (event_open(&ev[i]))
      ids[m++] = ev[i].id;
  return m;
}

/* Asks xMatters whether event id of k is still open: 1 when it is, 0 when
 * it is over (terminated, unknown, or another key's), else the errno of
 * the call, with err set. */
static int event_still_open(struct engine *e, const struct rec_key *k,
                            const char *id, struct err *err) {
  struct xm_event ev;
  int rc = xm_get_event(e->xm, id, &ev, err);
  if (rc == 0 && event_open(&ev) &&
      (ev.runscope_key[0] == '\0' || strcmp(ev.runscope_key, k->key) == 0))
    return 1;
  if (rc != 0 && rc != -ENOENT)
    return rc;
  say_log(&e->say, ENGINE_LOG_INFO,
          "xMatters event %s of %s is over (%s): the key's new failing run "
          "pages again.",
          id, k->key, rc == -ENOENT ? "not found" : ev.status);
  return 0;
}

/* Before a new failing run of k is taken as covered by k's open events:
 * asks for them by id, up to the first still open (one request, as a
 * rule), and keeps those not found over. When none is left the run pages
 * (rec_plan_actions). When xMatters does not answer, the events are taken
 * as still open, as they were before this check. */
static void confirm_open(struct engine *e, struct rec_key *k, double now) {
  char ids[REC_EVENTS_MAX][XM_ID_MAX];
  const char *keep[REC_EVENTS_MAX];
  size_t m = 0;
  int open = 0;
  for (size_t i = 0; i < k->n_events; i++) {
    struct err err = {{0}};
    if (open == 0)
      open = event_still_open(e, k, k->event_ids[i], &err);
    if (open < 0) {
      health_xm_failed(&e->health, open, &err, now);
      rec_confirm_failed(k, &e->opts);
      return;
    }
    if (open == 1) {
      str_copy(ids[m], sizeof(ids[m]), k->event_ids[i]);
      keep[m] = ids[m];
      m++;
    }
  }
  health_up(&e->health.xm);
  rec_apply_lookup(k, &e->opts, keep, m, now);
}

/* Asks xMatters for the key's active events, and, for a trigger whose
 * event has not shown up by key yet, for the events of its requestId. */
static int find_events(struct engine *e, const struct rec_key *k,
                       struct xm_event **ret, size_t *ret_n, struct err *err) {
  int rc = xm_find_active(e->xm, k->key, ret, ret_n, err);
  if (rc != 0 || *ret_n > 0 || k->ev != REC_EV_REQUESTED ||
      k->request_id == NULL)
    return rc;
  free(*ret);
  *ret = NULL;
  return xm_find_by_request(e->xm, k->request_id, ret, ret_n, err);
}

static void look_up_key(struct engine *e, struct rec_key *k, double now) {
  if (k->n_events > 0 && event_ops_placeholder(k->event_ids[0])) {
    const char *ids[REC_EVENTS_MAX];
    for (size_t i = 0; i < k->n_events; i++)
      ids[i] = k->event_ids[i];
    rec_apply_lookup(k, &e->opts, ids, k->n_events, now);
    return;
  }
  if (rec_lookup_confirms(k, &e->opts, now)) {
    confirm_open(e, k, now);
    return;
  }
  struct xm_event *ev = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = find_events(e, k, &ev, &n, &err);
  if (rc != 0) {
    health_xm_failed(&e->health, rc, &err, now);
    free(ev);
    return;
  }
  health_up(&e->health.xm);
  const char *ids[REC_EVENTS_MAX];
  size_t m = open_event_ids(ev, n, ids, REC_EVENTS_MAX);
  /* Events but none open: only the requestId lookup finds those. The
   * trigger's event came and was terminated before we saw it. */
  if (m == 0 && n > 0 && k->ev == REC_EV_REQUESTED)
    rec_request_ended(k, &e->opts, now);
  else
    rec_apply_lookup(k, &e->opts, ids, m, now);
  free(ev);
}

/* Splits "<bucket>/<test>/<env>" into its parts (copied into parts). */
static int split_key(const char *key, char parts[3][RS_ID_MAX]) {
  const char *p = key;
  for (int i = 0; i < 3; i++) {
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= RS_ID_MAX || (i < 2 && p[n] != '/') ||
        (i == 2 && p[n] != '\0'))
      return -EINVAL;
    memcpy(parts[i], p, n);
    parts[i][n] = '\0';
    p += n + 1;
  }
  return 0;
}

/* Learns an active event of a watched key that the state does not know. */
static void adopt(struct engine *e, const struct xm_event *ev) {
  char parts[3][RS_ID_MAX];
  const struct cat_bucket *b;
  struct rec_key *k;
  if (split_key(ev->runscope_key, parts) != 0 ||
      (b = cat_bucket_find(&e->cat, parts[0])) == NULL ||
      cat_test_find(b, parts[1]) == NULL ||
      rec_key_get(&e->state, parts[0], parts[1], parts[2], &k) != 0)
    return;
  if (rec_adopt_event(k, &e->opts, ev->id) == 0)
    return;
  say_log(&e->say, ENGINE_LOG_INFO,
          "Adopted active xMatters event %s of %s, which the state did not "
          "know.",
          ev->id, k->key);
}

/* Says once (until a sweep is whole again) that the sweep read only its
 * first pages. */
static void say_capped(struct engine *e, bool capped, size_t n) {
  if (capped && !e->sweep_capped)
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The list of open xMatters events is longer than %d pages: "
            "adopting the %zu events of runscope keys it read, not the "
            "others. Set <XMatters> Plan and Form to narrow it.",
            XM_SWEEP_PAGES_MAX, n);
  e->sweep_capped = capped;
}

/* At start and every ReconcileInterval: lists every active event that
 * carries a runscope_key (of the configured Plan and Form) and adopts
 * those the state does not know, so that a lost or older state file cannot
 * leave an event open after a pass. A list cut at its page cap is adopted
 * as far as it was read. */
void drive_events_adopt(struct engine *e, double now) {
  if (!e->cat.loaded || !health_xm_usable(&e->health) ||
      (e->swept_at > 0 && now - e->swept_at < e->cfg->reconcile_interval))
    return;
  const struct xm_scope scope = {e->cfg->xmatters.plan, e->cfg->xmatters.form};
  struct xm_event *ev = NULL;
  size_t n = 0;
  bool capped = false;
  struct err err = {{0}};
  int rc = xm_list_active(e->xm, &scope, &ev, &n, &capped, &err);
  if (rc != 0) {
    health_xm_failed(&e->health, rc, &err, now);
    free(ev);
    return;
  }
  health_up(&e->health.xm);
  e->swept_at = now;
  say_capped(e, capped, n);
  for (size_t i = 0; i < n; i++)
    adopt(e, &ev[i]);
  free(ev);
}

/* On the first cycle: are the REST credentials accepted? So that
 * `collectd -T` fails on a wrong xMatters password even when no test fails. */
void drive_events_check(struct engine *e, double now) {
  struct err err = {{0}};
  int rc = xm_check_credentials(e->xm, &err);
  if (rc == 0)
    health_up(&e->health.xm);
  else
    health_xm_failed(&e->health, rc, &err, now);
}

void drive_events_look_up(struct engine *e, double now) {
  size_t *which = NULL, n = 0;
  if (rec_plan_lookups(&e->state, &e->opts, now, &which, &n) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory planning the xMatters lookups.");
    free(which);
    return;
  }
  for (size_t i = 0; i < n && health_xm_usable(&e->health); i++)
    look_up_key(e, e->state.keys[which[i]], now);
  free(which);
}

#define TEXT(n, v)                                                             \
  { .name = (n), .type = XM_PROP_TEXT, .text = (v) }
#define NUMBER(n, v)                                                           \
  { .name = (n), .type = XM_PROP_NUMBER, .number = (double)(v) }

/* The summary property of the key's event. */
static void summary_of(const struct key_view *v, bool flapping, char *out,
                       size_t size) {
  if (flapping) {
    snprintf(out, size,
             "Runscope test \"%s\" is flapping in environment \"%s\": it "
             "keeps changing between pass and fail",
             v->test_name, v->env_name);
    return;
  }
  snprintf(out, size, "Runscope test \"%s\" failed in environment \"%s\"%s%s",
           v->test_name, v->env_name, v->region[0] || v->agent[0] ? " at " : "",
           v->region[0] ? v->region : v->agent);
}

/* The maintenance window that held the key's page back, when the key
 * pages as that window ended: its failure started before the window
 * ended ("" otherwise). */
static const char *failed_in_window(const struct rec_key *k) {
  bool inside = k->last_maintenance != NULL && k->failing_since > 0 &&
                k->failing_since < k->maintenance_ended;
  return inside ? k->last_maintenance : "";
}

/* Sends the Test Results trigger for the key. Returns the trigger's errno. */
static int send_trigger(struct engine *e, const struct key_view *v,
                        char *request_id, size_t size, struct err *err) {
  const struct rec_run *r = v->run;
  char summary[768], since[32];
  bool flapping = rec_flapping(v->k, &e->opts);
  summary_of(v, flapping, summary, sizeof(summary));
  clock_iso8601(v->k->failing_since, since, sizeof(since));
  const struct xm_prop props[] = {
      TEXT(XM_KEY_PROPERTY, v->k->key),
      TEXT("summary", summary),
      TEXT("result", "fail"),
      TEXT("test_id", v->k->test_id),
      TEXT("test_name", v->test_name),
      TEXT("bucket_key", v->k->bucket_key),
      TEXT("bucket_name", v->bucket_name),
      TEXT("environment_id", v->k->environment_id),
      TEXT("environment_name", v->env_name),
      TEXT("test_run_id", r ? str_or_empty(r->test_run_id) : ""),
      TEXT("test_url", v->test_url),
      TEXT("test_run_url", v->run_url),
      TEXT("region", v->region),
      TEXT("agent", v->agent),
      TEXT("started_at", v->started),
      TEXT("finished_at", v->finished),
      NUMBER("assertions_failed", r ? r->assertions_failed : 0),
      NUMBER("scripts_failed", r ? r->scripts_failed : 0),
      NUMBER("variables_failed", r ? r->variables_failed : 0),
      NUMBER("requests_executed", r ? r->requests_executed : 0),
      TEXT("collectd_host", e->hostname),
      TEXT("flapping", flapping ? "true" : "false"),
      TEXT("failing_since", since),
      TEXT("maintenance_window", failed_in_window(v->k)),
  };
  const struct cfg_xmatters *x = &e->cfg->xmatters;
  struct xm_trigger_req req = {
      .props = props,
      .n_props = sizeof(props) / sizeof(props[0]),
      .recipients = (const char *const *)x->recipients.v,
      .n_recipients = x->recipients.n,
      .priority = x->priority,
      .acknowledge_text = x->acknowledge_response,
      .rerun_text = x->rerun_response,
  };
  return xm_trigger(e->xm, x->test_results_trigger_url, &req, request_id, size,
                    err);
}

/* What the trigger's answer rc means for the key (xm_create_outcome's
 * rule, in the reconciler's terms). */
static enum rec_create_outcome create_outcome(int rc) {
  static const enum rec_create_outcome of[] = {
      [XM_CREATED] = REC_CREATED,
      [XM_NOT_CREATED] = REC_NOT_CREATED,
      [XM_MAYBE_CREATED] = REC_MAYBE_SENT,
  };
  return of[xm_create_outcome(rc)];
}

static void create_event(struct engine *e, struct rec_key *k, double now) {
  struct key_view v;
  key_view_init(e, k, &v);
  if (e->cfg->dry_run) {
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "DryRun: would create an xMatters event for %s (test \"%s\", "
            "environment \"%s\", run %s).",
            k->key, v.test_name, v.env_name, v.run ? v.run->test_run_id : "");
    char id[XM_ID_MAX];
    snprintf(id, sizeof(id), "%s%zu", EVENT_OPS_PLACEHOLDER, (size_t)now);
    const char *ids[] = {id};
    rec_apply_lookup(k, &e->opts, ids, 1, now);
    return;
  }
  /* The trigger was recorded as possibly sent, and saved, before the
   * cycle's first send (record_intents). */
  if (!event_ops_before_create(e, k, now))
    return;
  char request_id[XM_ID_MAX] = "";
  struct err err = {{0}};
  int rc = send_trigger(e, &v, request_id, sizeof(request_id), &err);
  rec_create_done(k, &e->opts, create_outcome(rc), request_id, now);
  if (rc != 0) {
    say_tally(&e->say, SAY_CREATE_ERRORS);
    health_xm_failed(&e->health, rc, &err, now);
    return;
  }
  health_up(&e->health.xm);
  say_tally(&e->say, SAY_EVENTS_CREATED);
  say_log(&e->say, ENGINE_LOG_INFO,
          "Created an xMatters event for %s (test \"%s\", environment \"%s\", "
          "run %s), requestId %s.",
          k->key, v.test_name, v.env_name, v.run ? v.run->test_run_id : "",
          request_id[0] ? request_id : "(none)");
}

/* Write-ahead for the cycle's sends: every trigger is recorded as possibly
 * sent, and every key about to lose an event is marked for a check, then
 * the state is saved once, before the first request goes out, so that a
 * crash among the sends can neither page twice nor leave an event open.
 * Returns whether the triggers were recorded (nothing is sent when
 * xMatters is down or in DryRun). */
static bool record_intents(struct engine *e, const struct rec_actions *actions,
                           double now) {
  if (e->cfg->dry_run || !health_xm_usable(&e->health))
    return false;
  size_t sends = 0;
  for (size_t i = 0; i < actions->n; i++) {
    const struct rec_action *a = &actions->v[i];
    struct rec_key *k = e->state.keys[a->key];
    if (a->type == REC_CREATE) {
      rec_create_done(k, &e->opts, REC_MAYBE_SENT, NULL, now);
      sends++;
    } else if (a->type == REC_TERMINATE &&
               !event_ops_placeholder(a->event_id)) {
      rec_terminate_start(k);
      sends++;
    }
  }
  if (sends > 0)
    persist_save(&e->persist, &e->state, now);
  return true;
}

/* The last event this cycle's actions ended, and its key. */
struct closed {
  const struct rec_key *k;
  char event_id[XM_ID_MAX];
};

/* Carries out a create or a terminate; a terminated event goes to
 * *closed. */
static void carry_out(struct engine *e, const struct rec_action *a,
                      bool recorded, double now, struct closed *closed) {
  struct rec_key *k = e->state.keys[a->key];
  bool usable = health_xm_usable(&e->health);
  if (a->type == REC_CREATE) {
    if (usable)
      create_event(e, k, now);
    else if (recorded) /* xMatters went down: this one was not sent */
      rec_create_done(k, &e->opts, REC_NOT_CREATED, NULL, now);
  } else if (usable && event_ops_terminate(e, k, a->event_id,
                                           "the test passes in every location",
                                           now) == 0) {
    closed->k = k;
    str_copy(closed->event_id, sizeof(closed->event_id), a->event_id);
  }
}

/* Hands a notification action on, with the event just closed when it is
 * the key's (an OKAY names it). */
static void add_notice(struct engine *e, struct key_notices *out,
                       const struct rec_action *a,
                       const struct closed *closed) {
  const struct rec_key *k = e->state.keys[a->key];
  if (array_reserve(&out->v, &out->cap, out->n, sizeof(*out->v), 8) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory for the notification of %s.", k->key);
    return;
  }
  struct key_notice *kn = &out->v[out->n++];
  kn->k = k;
  kn->severity = a->type == REC_NOTIFY_FAILURE    ? ENGINE_FAILURE
                 : a->type == REC_NOTIFY_FLAPPING ? ENGINE_WARNING
                                                  : ENGINE_OKAY;
  kn->flap = a->type == REC_NOTIFY_FLAPPING || a->type == REC_NOTIFY_FLAP_ENDED;
  str_copy(kn->closed_event, sizeof(kn->closed_event),
           closed->k == k ? closed->event_id : "");
}

void drive_events_act(struct engine *e, double now, struct key_notices *out) {
  struct rec_actions actions;
  struct closed closed = {NULL, ""};
  rec_actions_init(&actions);
  if (rec_plan_actions(&e->state, &e->opts, now, &actions) != 0)
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory planning the xMatters actions.");
  bool recorded = record_intents(e, &actions, now);
  for (size_t i = 0; i < actions.n; i++) {
    const struct rec_action *a = &actions.v[i];
    if (a->type == REC_CREATE || a->type == REC_TERMINATE)
      carry_out(e, a, recorded, now, &closed);
    else
      add_notice(e, out, a, &closed);
  }
  rec_actions_fini(&actions);
}

void drive_events_notices_fini(struct key_notices *a) {
  free(a->v);
  a->v = NULL;
  a->n = a->cap = 0;
}
