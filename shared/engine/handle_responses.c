/* SPDX-License-Identifier: MIT */
/* The stage that handles the responses to the plugin's xMatters events.
 *
 * It reads the responses to the plugin's active events and acts on the new
 * ones. "Rerun" runs the test again through its trigger URL (same
 * environment, same location) and then terminates the event, or, with
 * RerunKeepsEventOpen, lets the rerun's result decide; "Acknowledge" is
 * recorded (state file, log, notification, counter). The decisions are
 * responses.c's; this file does the calls. */
#include "engine/handle_responses.h"
#include "engine/detail.h"

#include "core/responses.h"

#include "engine/event_ops.h"
#include "engine/key_view.h"

#include "util/backoff.h"
#include "util/clock.h"
#include "util/limiter.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runscope takes at most 10 triggers in 10 s per trigger URL; the window
 * gets a margin for timer granularity. */
#define TRIGGER_LIMIT 10
#define TRIGGER_WINDOW 10.25
/* After a 429 (or 5xx) without Retry-After: wait a whole window. */
#define TRIGGER_RETRY 10.0
/* How long the responses to an event are remembered after it is gone. */
#define RESPONSES_KEEP 86400.0

static struct resp_opts opts_of(const struct engine *e) {
  const struct cfg_xmatters *x = &e->cfg->xmatters;
  struct resp_opts o = {
      .rerun_text = x->rerun_response,
      .ack_text = x->acknowledge_response,
      .max_reruns =
          x->max_reruns_per_event > 0 ? (unsigned)x->max_reruns_per_event : 0,
  };
  return o;
}

/* The test of key k in the catalog, or NULL when it is not watched. */
static const struct cat_test *test_of(const struct engine *e,
                                      const struct rec_key *k) {
  return cat_test_find(cat_bucket_find(&e->cat, k->bucket_key), k->test_id);
}

/* ---- acknowledgements ---- */

/* A WARNING notification: the key still fails, but someone is on it. */
static void notify_ack(struct engine *e, const struct rec_key *k,
                       const struct resp_event *ev, const char *when) {
  struct key_view v;
  key_view_init(e, k, &v);
  char full[1024], msg[REPORT_MESSAGE_MAX], instance[REPORT_NAME_MAX];
  char name[REPORT_KEY_NAME_MAX];
  snprintf(full, sizeof(full),
           "%s acknowledged xMatters event %s: Runscope test \"%s\" in "
           "environment \"%s\".",
           ev->acked_by, ev->event_id, v.test_name, v.env_name);
  str_copy(msg, sizeof(msg), full); /* collectd's limit; cut is fine */
  key_view_ids(e, k, instance, name);
  const struct engine_meta meta[] = {
      {"runscope_key", k->key},
      {"test_id", k->test_id},
      {"environment_id", k->environment_id},
      {"event_id", ev->event_id},
      {"acknowledged_by", ev->acked_by},
      {"acknowledged_at", when},
  };
  struct say_about about = {instance, "bool", name};
  say_notify(&e->say, ENGINE_WARNING, &about, msg, meta,
             sizeof(meta) / sizeof(meta[0]));
}

static void acknowledged(struct engine *e, const struct rec_key *k,
                         const struct resp_event *ev,
                         const struct xm_delivery *d) {
  char when[32];
  clock_iso8601(d->received, when, sizeof(when));
  say_tally(&e->say, SAY_ACKNOWLEDGEMENTS);
  say_log(&e->say, ENGINE_LOG_INFO,
          "%s acknowledged xMatters event %s of %s%s%s; the event stays "
          "active until the test passes.",
          d->user[0] ? d->user : "someone", ev->event_id, k->key,
          when[0] ? " at " : "", when);
  notify_ack(e, k, ev, when);
}

/* ---- reading the responses ---- */

/* Logs why a response is ignored (verdicts that do nothing). */
static void log_ignored(struct engine *e, const struct rec_key *k,
                        const struct resp_event *ev,
                        const struct xm_delivery *d, enum resp_verdict v) {
  const char *who = d->user[0] ? d->user : "someone";
  if (v == RESP_V_FOREIGN_ITEM)
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "Ignoring the response \"%s\" of %s listed for xMatters event %s: "
            "it is a response to event %s.",
            d->text, who, ev->event_id, d->event_id);
  else if (v == RESP_V_CLOSED)
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "Ignoring the response \"%s\" of %s on xMatters event %s of %s: "
            "the event is terminated.",
            d->text, who, ev->event_id, k->key);
  else if (v == RESP_V_FOREIGN)
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "Ignoring the response \"%s\" of %s on xMatters event %s: the "
            "plugin did not create it for %s.",
            d->text, who, ev->event_id, k->key);
  else
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "Ignoring the response \"%s\" of %s on xMatters event %s of %s: "
            "neither \"%s\" nor \"%s\".",
            d->text, who, ev->event_id, k->key, e->cfg->xmatters.rerun_response,
            e->cfg->xmatters.acknowledge_response);
}

/* Logs (and for Acknowledge, reports) one decision on a response. */
static void report_decision(struct engine *e, const struct rec_key *k,
                            const struct resp_event *ev,
                            const struct xm_delivery *d, enum resp_verdict v) {
  const char *who = d->user[0] ? d->user : "someone";
  switch (v) {
  case RESP_V_FOREIGN_ITEM:
  case RESP_V_CLOSED:
  case RESP_V_FOREIGN:
  case RESP_V_OTHER_TEXT:
    log_ignored(e, k, ev, d, v);
    break;
  case RESP_V_RERUN:
    say_log(&e->say, ENGINE_LOG_INFO,
            "%s asked for a rerun on xMatters event %s of %s: running the "
            "test again%s%s.",
            who, ev->event_id, k->key, ev->rerun_location[0] ? " in " : "",
            ev->rerun_location);
    break;
  case RESP_V_RERUN_MERGED:
    say_log(&e->say, ENGINE_LOG_INFO,
            "The rerun %s asked for on xMatters event %s of %s is the one "
            "already under way.",
            who, ev->event_id, k->key);
    break;
  case RESP_V_RERUN_CAPPED:
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "Ignoring the rerun %s asked for on xMatters event %s of %s: the "
            "test already ran again %u times for it (MaxRerunsPerEvent %d).",
            who, ev->event_id, k->key, ev->reruns,
            e->cfg->xmatters.max_reruns_per_event);
    break;
  case RESP_V_ACKNOWLEDGED:
    acknowledged(e, k, ev, d);
    break;
  }
}

/* What xMatters says of the event. A terminated (or unknown) event is also
 * forgotten by its key. Returns 0, or the errno of the call. */
static int event_status(struct engine *e, struct rec_key *k, const char *id,
                        double now, enum resp_event_status *ret) {
  struct xm_event ev;
  struct err err = {{0}};
  int rc = xm_get_event(e->xm, id, &ev, &err);
  if (rc != 0 && rc != -ENOENT) {
    health_xm_failed(&e->health, rc, &err, now);
    return rc;
  }
  health_up(&e->health.xm);
  if (rc == 0 && ev.runscope_key[0] != '\0' &&
      strcmp(ev.runscope_key, k->key) != 0)
    *ret = RESP_EVENT_FOREIGN;
  else if (rc == 0 && (strcmp(ev.status, "ACTIVE") == 0 ||
                       strcmp(ev.status, "SUSPENDED") == 0))
    *ret = RESP_EVENT_OPEN;
  else
    *ret = RESP_EVENT_CLOSED;
  if (*ret == RESP_EVENT_CLOSED)
    rec_terminate_done(k, id, true);
  return 0;
}

/* The event's record; a new one only when there is something to keep. */
static struct resp_event *record_for(struct engine *e, const struct rec_key *k,
                                     const char *id,
                                     const struct xm_delivery *d, size_t n,
                                     bool *ret_news) {
  struct resp_event *ev = resp_find(&e->state, id);
  struct resp_event fresh;
  if (ev == NULL) {
    memset(&fresh, 0, sizeof(fresh));
    str_copy(fresh.event_id, sizeof(fresh.event_id), id);
    ev = &fresh;
  }
  *ret_news = resp_has_news(ev, d, n);
  if (!*ret_news || ev != &fresh)
    return ev == &fresh ? NULL : ev;
  if (resp_get(&e->state, k->key, id, &ev) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory keeping the responses to xMatters event %s.", id);
    return NULL;
  }
  return ev;
}

/* Reads the responses to event id of k and decides on the new ones. */
static void read_responses(struct engine *e, struct rec_key *k, const char *id,
                           double now) {
  struct xm_delivery *d = NULL;
  size_t n = 0;
  struct err err = {{0}};
  bool news;
  int rc = xm_user_deliveries(e->xm, id, now, &d, &n, &err);
  if (rc == -ENOENT) {
    /* Gone from xMatters: the key's next lookup forgets it. */
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "xMatters does not know event %s of %s any more; its responses "
            "are not read.",
            id, k->key);
    return;
  }
  if (rc != 0) {
    health_xm_failed(&e->health, rc, &err, now);
    return;
  }
  health_up(&e->health.xm);
  struct resp_event *ev = record_for(e, k, id, d, n, &news);
  enum resp_event_status status;
  struct resp_decision *out = NULL;
  if (ev != NULL && news && event_status(e, k, id, now, &status) == 0 &&
      (out = calloc(n, sizeof(*out))) != NULL) {
    const struct rec_run *f = rec_newest_failure(k, &e->opts);
    struct resp_opts o = opts_of(e);
    size_t m = resp_review(ev, &o, status, d, n,
                           f ? str_or_empty(f->location) : "", out);
    for (size_t i = 0; i < m; i++)
      report_decision(e, k, ev, &d[out[i].delivery], out[i].verdict);
  }
  free(out);
  free(d);
}

/* ---- reruns ---- */

/* The trigger's parameters for the rerun of ev in k: the key's environment
 * and the location of the failure (a region, or a private agent). */
static struct rs_trigger_req trigger_req(const struct rec_key *k,
                                         const struct resp_event *ev) {
  const char *loc = ev->rerun_location;
  bool agent = strncmp(loc, "agent:", 6) == 0;
  struct rs_trigger_req r = {
      .environment_id = k->environment_id,
      .region = agent ? NULL : loc,
      .agent = agent ? loc + 6 : NULL,
  };
  return r;
}

/* After the trigger went out (or may have): the rerun counts, and the
 * event waits for its result or is to be terminated. */
static void rerun_sent(struct engine *e, struct resp_event *ev, double now,
                       const struct rs_started_run *runs, size_t n) {
  resp_rerun_sent(ev, e->cfg->xmatters.rerun_keeps_event_open, now, runs, n);
  if (!e->cfg->dry_run)
    say_tally(&e->say, SAY_RERUNS_TRIGGERED);
}

/* A trigger that failed: retried later (limited, 429 or 5xx; not sent at
 * all), taken as sent (the answer was lost), or dropped (refused). */
static void trigger_failed(struct engine *e, const struct rec_key *k,
                           struct resp_event *ev, const char *url, int rc,
                           const struct err *err, double now, double done) {
  if (rc == -EAGAIN) {
    double wait = backoff_cap_retry_after(rs_retry_after(e->rs));
    if (wait <= 0)
      wait = TRIGGER_RETRY;
    limiter_block(&e->triggers, url, done, done + wait);
    resp_rerun_not_sent(ev, false);
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "Runscope did not run the test of %s again yet (%s); the rerun "
            "for xMatters event %s is retried in %.0f s.",
            k->key, err->msg, ev->event_id, wait);
  } else if (http_maybe_sent(rc)) {
    rerun_sent(e, ev, now, NULL, 0);
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The rerun of %s for xMatters event %s may have started (%s); it "
            "is not sent again.",
            k->key, ev->event_id, err->msg);
  } else if (rc == -ECONNREFUSED || rc == -ENOMEM) {
    resp_rerun_not_sent(ev, false);
    health_failed(&e->health, &e->health.rs, rc, err, now);
  } else {
    resp_rerun_not_sent(ev, true);
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Runscope refused to run the test of %s again for xMatters event "
            "%s (%s); that Rerun response is dropped.",
            k->key, ev->event_id, err->msg);
  }
}

/* Sends the rerun's trigger, when the per-URL limit allows. */
static void send_trigger(struct engine *e, const struct rec_key *k,
                         struct resp_event *ev, const char *url, double now) {
  /* Trigger URLs are Runscope's too: while its API backs off, wait. */
  if (health_waiting(&e->health.rs, now))
    return;
  double wait = limiter_wait(&e->triggers, url, clock_monotonic());
  if (wait > 0) {
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "The rerun of %s for xMatters event %s waits %.1f s: Runscope "
            "takes at most %d triggers in 10 s per test.",
            k->key, ev->event_id, wait, TRIGGER_LIMIT);
    return;
  }
  if (!event_ops_may_act(e)) /* the cluster's guard */
    return;
  /* Write-ahead: a crash after sending must not send it twice. */
  resp_rerun_sending(ev, now);
  persist_save(&e->persist, &e->state, now);
  struct rs_trigger_req req = trigger_req(k, ev);
  struct rs_started_run *runs = NULL;
  size_t n = 0;
  struct err err = {{0}};
  int rc = rs_trigger(e->rs, url, &req, &runs, &n, &err);
  double done = clock_monotonic();
  limiter_note(&e->triggers, url, done);
  if (rc != 0) {
    trigger_failed(e, k, ev, url, rc, &err, now, done);
    return;
  }
  rerun_sent(e, ev, now, runs, n);
  say_log(&e->say, ENGINE_LOG_INFO,
          "Ran the test of %s again%s%s (runscope_environment %s) for "
          "xMatters event %s, as %s asked: %zu run%s started%s%s.",
          k->key, req.region || req.agent ? " in " : "", ev->rerun_location,
          k->environment_id, ev->event_id,
          ev->rerun_by[0] ? ev->rerun_by : "someone", n, n == 1 ? "" : "s",
          n > 0 ? ", " : "", n > 0 ? runs[0].test_run_id : "");
  free(runs);
}

/* True when t's trigger URL (from Runscope's API) may be POSTed to: the
 * rule of cfg_check_trigger_url. A refused one drops the Rerun response of
 * ev, and says why on a log line with growing gaps per test. */
static bool trigger_url_ok(struct engine *e, const struct rec_key *k,
                           struct resp_event *ev, double now) {
  struct cat_test *t = cat_test_get(&e->cat, k->bucket_key, k->test_id);
  struct err err = {{0}};
  if (t == NULL ||
      cfg_check_trigger_url(&e->cfg->runscope, "the trigger URL from Runscope",
                            t->detail.trigger_url, &err) == 0)
    return true;
  resp_rerun_not_sent(ev, true);
  if (say_gap_due(&t->trigger_log_next_at, &t->trigger_log_gap, now))
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Not running test \"%s\" (%s) again for xMatters event %s: %s "
            "(<Runscope> block); that Rerun response is dropped.",
            t->detail.name, k->key, ev->event_id, err.msg);
  return false;
}

/* Runs the test of k again for ev (or, in DryRun, says it would). */
static void run_again(struct engine *e, const struct rec_key *k,
                      struct resp_event *ev, double now) {
  if (!e->cat.loaded)
    return; /* the trigger URL comes with the test's detail */
  if (detail_ensure(e, k->bucket_key, k->test_id, now) != 0)
    return; /* read when the Rerun needs it; tried again next cycle */
  const struct cat_test *t = test_of(e, k);
  const char *url = t && t->detail.trigger_url ? t->detail.trigger_url : "";
  if (url[0] != '\0' && !trigger_url_ok(e, k, ev, now))
    return;
  if (url[0] == '\0') {
    resp_rerun_not_sent(ev, true);
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Cannot run the test of %s again for xMatters event %s: %s; that "
            "Rerun response is dropped.",
            k->key, ev->event_id,
            t == NULL ? "the test is not watched any more"
                      : "Runscope gave no trigger URL for it");
    return;
  }
  if (e->cfg->dry_run) {
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "DryRun: would run test \"%s\" again through its trigger URL "
            "(runscope_environment %s%s%s) for xMatters event %s of %s, then "
            "%s.",
            t->detail.name, k->environment_id,
            ev->rerun_location[0] ? ", location " : "", ev->rerun_location,
            ev->event_id, k->key,
            e->cfg->xmatters.rerun_keeps_event_open
                ? "let the rerun's result decide the event"
                : "terminate the event");
    rerun_sent(e, ev, now, NULL, 0);
    return;
  }
  send_trigger(e, k, ev, url, now);
}

/* An event awaiting its rerun (RerunKeepsEventOpen): the result, if in. */
static void rerun_result(struct engine *e, const struct rec_key *k,
                         struct resp_event *ev) {
  switch (resp_rerun_result(ev, k)) {
  case RESP_RESULT_FAILED:
    say_log(&e->say, ENGINE_LOG_INFO,
            "The rerun of %s for xMatters event %s failed: the event stays "
            "active.",
            k->key, ev->event_id);
    break;
  case RESP_RESULT_PASSED:
    say_log(&e->say, ENGINE_LOG_INFO,
            "The rerun of %s for xMatters event %s passed: the event ends "
            "when every location passes.",
            k->key, ev->event_id);
    break;
  case RESP_RESULT_NONE:
    break;
  }
}

/* Acts on the rerun state of event id of k. */
static void follow_rerun(struct engine *e, struct rec_key *k, const char *id,
                         double now) {
  struct resp_event *ev = resp_find(&e->state, id);
  if (ev == NULL)
    return;
  if (ev->rerun == RESP_RERUN_SENDING) {
    /* Found so after a restart: the trigger may have gone out. */
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The rerun of %s for xMatters event %s may have started before "
            "a restart; it is not sent again.",
            k->key, id);
    rerun_sent(e, ev, ev->rerun_sent_at, NULL, 0);
  }
  if (ev->rerun == RESP_RERUN_AWAITING)
    rerun_result(e, k, ev);
  if (ev->rerun == RESP_RERUN_PENDING)
    run_again(e, k, ev, now);
  if (ev->rerun != RESP_RERUN_TERMINATING || !health_xm_usable(&e->health))
    return;
  if (event_ops_terminate(e, k, id, "a Rerun response ran the test again",
                          now) == 0 &&
      e->cfg->dry_run)
    ev->rerun = RESP_RERUN_NONE;
}

/* ---- the stage ---- */

/* The responses to one active event of k, then its rerun. */
static void handle_event(struct engine *e, struct rec_key *k, const char *id,
                         double now) {
  const struct resp_event *ev = resp_find(&e->state, id);
  bool closing = ev != NULL && ev->rerun == RESP_RERUN_TERMINATING;
  if (k->ev == REC_EV_ACTIVE && health_xm_usable(&e->health) && !closing)
    read_responses(e, k, id, now);
  follow_rerun(e, k, id, now);
}

void handle_responses(struct engine *e, double now) {
  if (e->cfg->xmatters.mode == CFG_MODE_FORWARD)
    return;
  if (e->triggers.limit == 0)
    limiter_init_window(&e->triggers, TRIGGER_LIMIT, TRIGGER_WINDOW);
  resp_prune(&e->state, now, RESPONSES_KEEP);
  for (size_t i = 0; i < e->state.n_keys; i++) {
    struct rec_key *k = e->state.keys[i];
    /* Terminating an event changes the key's list: work on a copy. */
    char ids[REC_EVENTS_MAX][XM_ID_MAX];
    size_t n = k->n_events;
    if (n > 0) /* a key without events has no array */
      memcpy(ids, k->event_ids, n * sizeof(ids[0]));
    for (size_t j = 0; j < n; j++)
      if (!event_ops_placeholder(ids[j]))
        handle_event(e, k, ids[j], now);
  }
}
