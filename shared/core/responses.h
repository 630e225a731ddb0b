/* SPDX-License-Identifier: MIT */
/* Responses to the plugin's events: which to act on (once), what a rerun
 * is waiting for, and how fast reruns may be triggered.
 *
 * Pure: no I/O, no clock. The engine reads each active event's user
 * deliveries (xm_user_deliveries), hands them to resp_review with what it
 * knows about the event, and carries out what the event's record then
 * asks for: a rerun to trigger (RESP_RERUN_PENDING), an event to terminate
 * after its rerun (RESP_RERUN_TERMINATING). The records live in the
 * reconciler's state (rec_state.responses), so the state file keeps them:
 * a response is acted on once, also across restarts.
 *
 * A response is identified by its user, its received time and its text
 * (user-deliveries shows the last response of each user, so the same
 * response is seen every cycle until that user responds again). Each event
 * remembers the last RESP_SEEN_MAX responses it handled; older ones are
 * summed up by the newest received time among them (seen_through). */
#ifndef RUNSCOPE_RESPONSES_H
#define RUNSCOPE_RESPONSES_H

#include "clients/runscope.h"
#include "clients/xmatters.h"
#include "core/reconcile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_SEEN_MAX 32  /* handled responses remembered per event */
#define RESP_USER_MAX 128 /* a responder's name as recorded; cut to fit */
#define RESP_RUNS_MAX 4   /* run ids of one rerun remembered */
#define RESP_LOCATION_MAX (RS_ID_MAX + 8)

/* Where an event's rerun stands. */
enum resp_rerun {
  RESP_RERUN_NONE = 0,    /* none asked for, or its result came */
  RESP_RERUN_PENDING,     /* asked for: the trigger is to be sent */
  RESP_RERUN_SENDING,     /* the trigger is being sent; found in a loaded
                             state, it may have gone out before a crash */
  RESP_RERUN_AWAITING,    /* triggered (RerunKeepsEventOpen): the rerun's
                             result decides the event */
  RESP_RERUN_TERMINATING, /* triggered: the event is to be terminated */
};

/* A handled response: a hash of user, received time and text. */
struct resp_seen {
  uint64_t id;
  double received; /* 0 when the answer gave none */
};

/* What the plugin remembers about one of its events' responses. */
struct resp_event {
  char event_id[XM_ID_MAX];
  char key[REC_KEY_MAX];
  struct resp_seen seen[RESP_SEEN_MAX]; /* oldest first */
  size_t n_seen;
  double seen_through; /* responses received up to this were handled */
  unsigned reruns;     /* reruns triggered for this event */
  enum resp_rerun rerun;
  char rerun_by[RESP_USER_MAX];
  /* the failing location when the rerun was asked for: a region,
   * "agent:<id>" for a private agent, or "" (every location) */
  char rerun_location[RESP_LOCATION_MAX];
  double rerun_asked_at; /* the Rerun response's received time */
  double rerun_sent_at;  /* when its trigger went out */
  char rerun_runs[RESP_RUNS_MAX][RS_ID_MAX]; /* the runs it started */
  size_t n_rerun_runs;
  char acked_by[RESP_USER_MAX]; /* the latest Acknowledge: who, when */
  double acked_at;
  double held_at; /* when a key last held the event (resp_prune) */
};

/* Which option a response text is. */
enum resp_kind {
  RESP_NONE = 0,    /* no response (yet) */
  RESP_RERUN,       /* the RerunResponse text */
  RESP_ACKNOWLEDGE, /* the AcknowledgeResponse text */
  RESP_OTHER,       /* another text */
};

/* The kind of text: compared with the two option texts ignoring case and
 * surrounding blanks. An empty text is RESP_NONE. */
enum resp_kind resp_classify(const char *text, const char *rerun_text,
                             const char *ack_text);

/* What the engine knows about the event whose deliveries it reviews. */
enum resp_event_status {
  RESP_EVENT_OPEN = 0, /* active (or not checked: nothing to act on) */
  RESP_EVENT_CLOSED,   /* terminated, or unknown to xMatters */
  RESP_EVENT_FOREIGN,  /* not one of the plugin's: another runscope_key */
};

struct resp_opts {
  const char *rerun_text;
  const char *ack_text;
  unsigned max_reruns; /* MaxRerunsPerEvent; 0: Rerun responses ignored */
};

/* What became of one delivery. */
enum resp_verdict {
  RESP_V_FOREIGN_ITEM, /* the item names another event: ignored */
  RESP_V_CLOSED,       /* the event is terminated (or closing): ignored */
  RESP_V_FOREIGN,      /* the event is not the plugin's: ignored */
  RESP_V_OTHER_TEXT,   /* neither option's text: ignored */
  RESP_V_RERUN,        /* a rerun is now pending */
  RESP_V_RERUN_MERGED, /* a rerun is already pending or running: ignored */
  RESP_V_RERUN_CAPPED, /* MaxRerunsPerEvent reached: ignored */
  RESP_V_ACKNOWLEDGED, /* recorded as the event's latest acknowledgement */
};

struct resp_decision {
  enum resp_verdict verdict;
  size_t delivery; /* index into the reviewed deliveries */
};

/* The record of event_id, or NULL. */
struct resp_event *resp_find(struct rec_state *st, const char *event_id);

/* The record of event_id (of key), added empty when absent. *ret is owned
 * by st and valid until the next resp_get or resp_prune. Returns 0,
 * -ENOMEM, or -ENAMETOOLONG (the record is then not added). */
int resp_get(struct rec_state *st, const char *key, const char *event_id,
             struct resp_event **ret);

/* Notes now as the held_at of every record whose event a key of st holds,
 * and drops the records of events that no key has held for `keep` seconds
 * (the event was terminated, or forgotten: the grace keeps an event that
 * comes back, adopted again after a lookup missed it, from having its old
 * responses acted on twice). Returns how many were dropped. */
size_t resp_prune(struct rec_state *st, double now, double keep);

/* True when d[0..n) holds a response to ev that resp_review would act on
 * (new, for ev's event, with a text). The engine then checks the event
 * before the review. */
bool resp_has_news(const struct resp_event *ev, const struct xm_delivery *d,
                   size_t n);

/* Reviews the deliveries d[0..n) of ev's event, oldest response first:
 * each new response is recorded as handled and decided on. status says
 * what the engine knows of the event (a closed or foreign event's
 * responses are recorded and ignored). A Rerun response makes the rerun
 * pending, for location (the failing location now: a region, "agent:<id>"
 * or ""). Writes one decision per new response into out (room for n) and
 * returns how many it wrote. */
size_t resp_review(struct resp_event *ev, const struct resp_opts *o,
                   enum resp_event_status status, const struct xm_delivery *d,
                   size_t n, const char *location, struct resp_decision *out);

/* The rerun's trigger is about to be sent (RESP_RERUN_SENDING). */
void resp_rerun_sending(struct resp_event *ev, double now);

/* The rerun's trigger went out at now and started runs[0..n): the rerun is
 * counted, and the event awaits its result (keep_open) or is to be
 * terminated. */
void resp_rerun_sent(struct resp_event *ev, bool keep_open, double now,
                     const struct rs_started_run *runs, size_t n);

/* The rerun's trigger did not go out (an answer refused it): back to
 * pending to retry later, or, when final, to none. */
void resp_rerun_not_sent(struct resp_event *ev, bool final);

/* The outcome of a rerun an event awaits. */
enum resp_result {
  RESP_RESULT_NONE = 0, /* not in yet (or the event awaits no rerun) */
  RESP_RESULT_PASSED,
  RESP_RESULT_FAILED,
};

/* For an event awaiting its rerun: has key k, the event's key, seen the
 * rerun's result? That is a run the trigger started, or else a run of the
 * rerun's location that started after the trigger went out. When the
 * result is in the event awaits nothing more (RESP_RERUN_NONE). */
enum resp_result resp_rerun_result(struct resp_event *ev,
                                   const struct rec_key *k);

#endif
