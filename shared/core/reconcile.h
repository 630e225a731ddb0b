/* SPDX-License-Identifier: MIT */
/* The reconciler: what Runscope shows and what xMatters holds -> actions.
 *
 * Pure: no I/O, no clock. The caller passes `now` and the observations, and
 * carries out the actions it gets back, reporting their outcome. The state it
 * works on is what the state store saves.
 *
 * A key is one test in one environment: "<bucket_key>/<test_id>/<env_id>".
 * Each key remembers the latest finished run of every location (region or
 * private agent). It is failing when the latest run of any location seen
 * recently failed, and passing when the latest runs of all of them passed;
 * "recently" means within `location_window` of the key's newest run, so a
 * pass in one region never closes the page a failure in another opened.
 *
 * One poll cycle:
 *   1. rec_observe_run for every finished run read from Runscope;
 *   2. rec_plan_lookups: the keys whose xMatters events must be looked up
 *      before anything is decided (about to page, about to close, pending,
 *      due for reconciliation); the caller asks xMatters and reports each
 *      answer with rec_apply_lookup;
 *   3. rec_plan_actions: create, terminate and notify actions, for the keys
 *      looked up in this cycle (nothing is created or closed blind);
 *   4. the caller reports each outcome: rec_create_done, rec_terminate_done.
 */
#ifndef RUNSCOPE_RECONCILE_H
#define RUNSCOPE_RECONCILE_H

#include "clients/runscope.h"
#include "clients/xmatters.h"
#include "core/flap.h"
#include "core/forward.h"
#include "core/traffic.h"

#include <stdbool.h>
#include <stddef.h>

#define REC_KEY_MAX XM_KEY_MAX
#define REC_LOC_MAX 16 /* locations per key; the oldest is dropped */
#define REC_LOCATION_MAX (RS_ID_MAX + 8) /* "agent:<id>" with its NUL */
#define REC_EVENTS_MAX 16                /* active events remembered per key */
#define REC_WINDOW_NAME_MAX 128          /* a maintenance window's name, kept */
/* an environment's name as a run gave it, kept (a longer one is not: a
 * key's name from such a name is cut and hashed from its ids anyway) */
#define REC_ENV_NAME_MAX 128

struct resp_event; /* responses.h */

/* The latest finished verdict run of one location of a key. */
struct rec_run {
  /* owned, NULL when "" (read them with str_or_empty): the region,
   * "agent:<name>" or none (less than REC_LOCATION_MAX bytes), and the
   * run's id (less than RS_ID_MAX) */
  char *location;
  char *test_run_id;
  bool failed;
  double started_at;
  double finished_at;
  long assertions_failed;
  long scripts_failed;
  long variables_failed;
  long requests_executed;
  /* verdict runs in a row of this location with the latest's verdict (0
   * in an older state file: counts as 1), at most REC_STREAK_MAX */
  unsigned streak;
};

#define REC_STREAK_MAX 1000

enum rec_event_state {
  REC_EV_NONE = 0,  /* no event known */
  REC_EV_REQUESTED, /* a trigger was sent (or may have been); not seen yet */
  REC_EV_ACTIVE,    /* xMatters shows active events: event_ids */
};

struct rec_key {
  /* never NULL in a key of a state: "<bucket>/<test>/<env>" (less than
   * REC_KEY_MAX bytes) and its parts (less than RS_ID_MAX each), in one
   * block that key owns (rec_key_get makes it, rec_key_fini frees it) */
  char *key;
  char *bucket_key;
  char *test_id;
  char *environment_id;
  /* owned: the environment's name as its latest run that named it gave it
   * (NULL: none yet, or longer than REC_ENV_NAME_MAX - 1), so that its
   * values keep their names, and a bucket that selects environments by
   * name its runs that come without one, after a restart that reads no
   * test's detail; the catalog keeps no second copy */
  char *environment_name;
  /* owned: n_locs of cap_locs, at most REC_LOC_MAX (most keys have a few
   * locations; rec_key_add_loc grows it) */
  struct rec_run *locs;
  size_t n_locs, cap_locs;
  /* owned: room for REC_EVENTS_MAX ids, allocated with the key's first
   * event (most keys never have one); NULL: none yet */
  char (*event_ids)[XM_ID_MAX];
  size_t n_events;
  /* REC_EV_REQUESTED: the requestId (owned, at most XM_ID_MAX - 1 bytes;
   * NULL if none came back) and when the trigger was sent (whether it was
   * accepted: request_confirmed, below). */
  char *request_id;
  double requested_at;
  /* started_at of the newest failing run an event has covered: a key pages
   * again only for a failing run newer than this (so an event a person
   * terminated is not reopened for the same failure). */
  double alerted_through;
  double checked_at; /* when xMatters was last asked about this key */
  /* transient: seconds between the starts of the latest two verdict runs
   * of one location (the pace of the key's runs); 0: not seen yet */
  double run_gap;
  /* start of the oldest failing run of the failure going on; 0: passing */
  double failing_since;
  /* owned: the maintenance window the key is in now (NULL: none), set
   * every cycle by rec_set_maintenance, and the last one it was in (names
   * cut to REC_WINDOW_NAME_MAX - 1 bytes) */
  char *maintenance;
  char *last_maintenance;
  double maintenance_started; /* when it entered the window it is or was in */
  double maintenance_ended;   /* when it left last_maintenance */
  /* while ev is not REC_EV_NONE: when the plugin requested the event, or
   * first saw it (an event it adopted); 0 without an event */
  double event_since;
  /* the key's verdicts, newest first, and whether it flaps (flap.h) */
  struct flap_history flap;
  /* The small fields last, so that they share a word (a state holds
   * thousands of keys). */
  enum rec_event_state ev;
  /* REC_EV_REQUESTED: whether the trigger was accepted (false: the answer
   * was lost) */
  bool request_confirmed;
  bool notified_failing; /* a FAILURE notification went out, no OKAY yet */
  bool looked_up;        /* transient: answered in this cycle */
  /* transient: a verdict run was recorded since the engine last sent the
   * key's values (the engine clears it), and whether it sent them since
   * the key was loaded or made */
  bool news, values_sent;
  bool flap_announced; /* a WARNING said it flaps, no OKAY yet */
  bool flap_paged;     /* an event was created for this flapping */
};

/* Where reading a test's results resumes: the `since` of the next call. */
struct rec_cursor {
  /* never NULL in a cursor of a state: the test's ids (less than
   * RS_ID_MAX bytes each), in one block that bucket_key owns
   * (rec_cursor_set makes it, rec_cursor_fini frees it) */
  char *bucket_key;
  char *test_id;
  double since;
  /* a digest of the tests list's last_run id that the last read covered
   * (due_run_digest), 0 when none or a run was left unfinished: a restart
   * reads no test whose last_run is still that one */
  uint64_t last_run;
};

/* When Runscope, xMatters and etcd (in a cluster) last answered. */
struct rec_answered {
  double runscope, xmatters, etcd;
};

/* Everything the reconciler remembers. Arrays are sorted (keys by key,
 * cursors by bucket then test) and owned: release with rec_state_fini. Keys
 * are held by pointer: an entry stays where it is while others are added,
 * and an insert shifts pointers, not whole entries. */
struct rec_state {
  struct rec_key **keys;
  size_t n_keys, cap_keys;
  struct rec_cursor *cursors;
  size_t n_cursors, cap_cursors;
  /* the responses to events, kept by responses.c (plain structs) */
  struct resp_event *responses;
  size_t n_responses, cap_responses;
  struct fwd_state fwd; /* forward mode's delivery memory (forward.h) */
  /* traffic alerts' read cursors and flood control (traffic.h) */
  struct tr_state traffic;
  /* when each API last answered a call of a cycle (0: not yet), set at the
   * cycle's end, for runscopectl status */
  struct rec_answered answered;
};

/* FailureThreshold and RecoveryThreshold of one <Bucket> (0: the
 * plugin's). */
struct rec_bucket_opts {
  const char *bucket_key;
  unsigned failure_threshold, recovery_threshold;
};

struct rec_opts {
  double location_window;    /* seconds; default 86400 */
  double pending_timeout;    /* seconds a requested event may stay unseen; 60 */
  double reconcile_interval; /* seconds between checks of an active key; 300 */
  /* a key pages when a location's latest failure_threshold verdicts
   * failed, and recovers when every recent location's latest
   * recovery_threshold passed; default 1 and 1 */
  unsigned failure_threshold, recovery_threshold;
  const struct rec_bucket_opts *buckets; /* borrowed; overrides per bucket */
  size_t n_buckets;
  bool flap_detection;   /* FlapDetection; default false */
  struct flap_opts flap; /* FlapWindow, FlapLowThreshold, FlapHighThreshold */
};

enum rec_verdict { REC_UNKNOWN = 0, REC_PASSING, REC_FAILING };

enum rec_action_type {
  REC_CREATE,            /* trigger an event for the key */
  REC_TERMINATE,         /* terminate event_id */
  REC_NOTIFY_FAILURE,    /* the key started failing */
  REC_NOTIFY_OKAY,       /* the key recovered */
  REC_NOTIFY_FLAPPING,   /* the key started flapping (a WARNING) */
  REC_NOTIFY_FLAP_ENDED, /* the key stopped flapping (an OKAY) */
};

struct rec_action {
  enum rec_action_type type;
  size_t key; /* index into state->keys, valid until a key is added */
  char event_id[XM_ID_MAX];
};

/* A growable list of actions; release with rec_actions_fini. */
struct rec_actions {
  struct rec_action *v;
  size_t n, cap;
};

void rec_state_init(struct rec_state *st);
void rec_state_fini(struct rec_state *st);
void rec_actions_init(struct rec_actions *a);
void rec_actions_fini(struct rec_actions *a);
void rec_opts_default(struct rec_opts *o);

/* Builds "<bucket>/<test>/<env>" into out. -ENAMETOOLONG if it does not fit. */
int rec_make_key(char *out, size_t size, const char *bucket_key,
                 const char *test_id, const char *environment_id);

/* The key's entry, or NULL. */
struct rec_key *rec_key_find(struct rec_state *st, const char *key);

/* The keys of bucket bucket_key lie in st->keys[*first, *end) (sorted by
 * key, they share the prefix "bucket_key/"); others may too, when a bucket
 * key holds a '/': callers check each key's bucket_key. */
void rec_key_range(const struct rec_state *st, const char *bucket_key,
                   size_t *first, size_t *end);

/* Appends a zeroed location to k, growing its array. Returns it, or NULL
 * when k holds REC_LOC_MAX already or memory runs out. */
struct rec_run *rec_key_add_loc(struct rec_key *k);

/* Frees what k owns (its ids' block, locations, event ids and strings),
 * leaving it without any. */
void rec_key_fini(struct rec_key *k);

/* The key's entry, added (empty) when absent. *ret is owned by st and stays
 * valid until rec_state_fini. Returns 0, -ENOMEM or -ENAMETOOLONG. */
int rec_key_get(struct rec_state *st, const char *bucket_key,
                const char *test_id, const char *environment_id,
                struct rec_key **ret);

/* Records a run of a test in bucket_key. Runs that are not a verdict
 * (unfinished, cancelled) and runs older than the location's latest are
 * ignored, so repeated and out-of-order observations are harmless. A run
 * recorded sets the key's news, and its run_gap when the location had an
 * older run. Returns 1 when the key's view changed, 0 when not, -ENOMEM or
 * -ENAMETOOLONG. */
int rec_observe_run(struct rec_state *st, const char *bucket_key,
                    const struct rs_run *run);

/* The key's verdict from its recent locations. */
enum rec_verdict rec_verdict(const struct rec_key *k, const struct rec_opts *o);

/* The key's verdict for paging, with the thresholds: REC_FAILING when a
 * recent location's latest FailureThreshold runs failed, REC_PASSING when
 * every recent location's latest RecoveryThreshold runs passed, else
 * REC_UNKNOWN (neither: the key stays as it is). */
enum rec_verdict rec_alert_verdict(const struct rec_key *k,
                                   const struct rec_opts *o);

/* The FailureThreshold (failure true) or RecoveryThreshold of k's bucket,
 * at least 1. */
unsigned rec_threshold(const struct rec_key *k, const struct rec_opts *o,
                       bool failure);

/* k's streaks over its recent locations, as rec_alert_verdict weighs
 * them: *ret_fail the longest run of failures that is a location's latest
 * (0: none fails), *ret_pass the shortest run of passes when every recent
 * location passes (0: one fails, or none is known). */
void rec_streaks(const struct rec_key *k, const struct rec_opts *o,
                 unsigned *ret_fail, unsigned *ret_pass);

/* True when k flaps and flap damping is on. */
bool rec_flapping(const struct rec_key *k, const struct rec_opts *o);

/* Says which maintenance window (name; NULL or "": none) applies to k now:
 * inside one nothing pages for k. Leaving one is remembered with now. */
void rec_set_maintenance(struct rec_key *k, const char *window, double now);

/* The newest failing run among the key's recent locations, or NULL. */
const struct rec_run *rec_newest_failure(const struct rec_key *k,
                                         const struct rec_opts *o);

/* Clears every key's looked_up mark, counts the failures of keys with an
 * active event as covered by it (but a failing run newer than the last
 * check: the key is asked about, see rec_lookup_confirms), and appends to
 * *ret (grown, caller frees) the indices of the keys xMatters must be asked
 * about now. */
int rec_plan_lookups(struct rec_state *st, const struct rec_opts *o, double now,
                     size_t **ret, size_t *ret_n);

/* True when the lookup rec_plan_lookups planned for k is only to confirm
 * that its known events are still open before a new failing run is taken
 * as theirs (a person may have terminated them since the last check): the
 * caller asks for the events by id (one request while the first is still
 * open) and reports the ids still open with rec_apply_lookup; none left,
 * and the new failure pages. Otherwise the key's events are searched. */
bool rec_lookup_confirms(const struct rec_key *k, const struct rec_opts *o,
                         double now);

/* Reports that the check of rec_lookup_confirms failed (xMatters did not
 * answer): the key's events are taken as still open and the new failure as
 * theirs, so it neither pages nor is asked about again (the key's next
 * reconciliation tells). The key is not marked looked up. */
void rec_confirm_failed(struct rec_key *k, const struct rec_opts *o);

/* Reports what xMatters holds for key k: the ids of its active events
 * (n may be 0). Marks the key looked up. */
void rec_apply_lookup(struct rec_key *k, const struct rec_opts *o,
                      const char *const *event_ids, size_t n, double now);

/* Reports that the event a requested create made exists but is over (a
 * person terminated it before a lookup saw it active): the request was
 * delivered, the failures it was about are covered, and a newer failure
 * pages again. Marks the key looked up. */
void rec_request_ended(struct rec_key *k, const struct rec_opts *o, double now);

/* Records an active event of key k found by listing every active event
 * (not by a lookup of the key): the key learns it, so that a pass later
 * terminates it and a failure does not page again. Listing only adds: an
 * event missing from a list is forgotten only by a lookup of its key.
 * Returns 1 when the event was new to the key, else 0. */
int rec_adopt_event(struct rec_key *k, const struct rec_opts *o,
                    const char *event_id);

/* Appends this cycle's actions to out, per key the create or terminate
 * actions before the notification. Create and terminate actions only
 * concern keys looked up in this cycle; notifications follow verdict
 * changes (and are marked as sent). Returns 0 or -ENOMEM. */
int rec_plan_actions(struct rec_state *st, const struct rec_opts *o, double now,
                     struct rec_actions *out);

/* Outcome of a REC_CREATE. */
enum rec_create_outcome {
  REC_CREATED,    /* accepted; request_id may be "" */
  REC_MAYBE_SENT, /* the answer was lost: it may exist, look before resending */
  REC_NOT_CREATED, /* an explicit rejection: nothing exists, retry later */
};

/* Records the outcome of a create. A caller that wants a crash between
 * sending and recording to be safe records REC_MAYBE_SENT (and saves the
 * state) before sending, then the real outcome; REC_NOT_CREATED undoes that
 * pending mark. */

void rec_create_done(struct rec_key *k, const struct rec_opts *o,
                     enum rec_create_outcome outcome, const char *request_id,
                     double now);

/* Records that a terminate of one of k's events is about to be sent: the
 * key counts as never checked, so that xMatters is asked about it before a
 * new failure is taken as covered by its events (after a crash that lost
 * the terminate's outcome, the event may be gone). A caller that wants this
 * to survive a crash saves the state before sending. Returns true when k
 * changed. */
bool rec_terminate_start(struct rec_key *k);

/* Outcome of a REC_TERMINATE: gone is true when the event is terminated or
 * does not exist any more. */
void rec_terminate_done(struct rec_key *k, const char *event_id, bool gone);

/* Frees c's ids' block, leaving it without any. */
void rec_cursor_fini(struct rec_cursor *c);

/* The cursor of a test, or NULL. */
struct rec_cursor *rec_cursor_find(struct rec_state *st, const char *bucket_key,
                                   const char *test_id);

/* rec_cursor_find that first tries *hint, the cursor's place when it was
 * last found (any value; cursors added or removed since move it), and sets
 * it to the place found. A cycle looks up every test's cursor: with hints
 * kept from the cycle before, nearly every lookup is one comparison. */
struct rec_cursor *rec_cursor_find_hinted(struct rec_state *st,
                                          const char *bucket_key,
                                          const char *test_id, size_t *hint);

/* Sets the cursor of a test (added when absent). 0, -ENOMEM, -ENAMETOOLONG. */
int rec_cursor_set(struct rec_state *st, const char *bucket_key,
                   const char *test_id, double since);

/* The next `since` after reading runs[0..n) with `since`: just below the
 * start of the oldest run still unfinished (so it is read again until it
 * finishes), else the start of the newest run read; never before `since`.
 * Unfinished runs that started more than max_unfinished_age before now are
 * given up on, so one stuck run cannot hold the cursor forever. */
double rec_cursor_next(double since, const struct rs_run *runs, size_t n,
                       double now, double max_unfinished_age);

#endif
