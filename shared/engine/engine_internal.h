/* The engine's parts and what they share; included by the engine's own
 * files (engine.c, runs.c, events.c, report.c) only. */
#ifndef RUNSCOPE_ENGINE_INTERNAL_H
#define RUNSCOPE_ENGINE_INTERNAL_H

#include "clients/runscope.h"
#include "clients/xmatters.h"
#include "core/catalog.h"
#include "core/reconcile.h"
#include "core/report.h"
#include "core/responses.h"
#include "engine/engine.h"
#include "engine/health.h"
#include "engine/persist.h"
#include "engine/say.h"
#include "transport/http.h"
#include "util/backoff.h"
#include "util/limiter.h"

#include <stdbool.h>
#include <stdint.h>

#define DRY_RUN_PREFIX "dry-run:"

/* Forward mode: a run to post in this cycle (catalog entries are borrowed
 * for the cycle). */
struct fwd_item {
  const struct cat_bucket *b;
  const struct cat_test *t;
  struct rs_run run;
};

/* The most runs forward mode posts in one cycle; the rest wait, in order. */
#define FWD_MAX_PER_CYCLE 250

struct engine {
  const struct cfg *cfg;
  struct say say; /* the sink, and the counters of the own values */
  char hostname[256];
  struct http_client *rs_http, *xm_http;
  struct rs_client *rs;
  struct xm_client *xm;
  struct catalog cat;
  double discovered_at;
  struct rec_state state;
  struct rec_opts opts;
  bool started;            /* the first cycle has run */
  double swept_at;         /* when every active event was last listed */
  struct health health;    /* both APIs */
  struct persist persist;  /* the state file */
  struct limiter triggers; /* trigger URLs: 10 per 10 s (respond.c) */
  /* the traffic-alert stage has run once */
  bool traffic_started;
  /* The last event terminated in this cycle's actions, and its key: the
   * key's OKAY notification names it. */
  const struct rec_key *closed_key;
  char closed_event[XM_ID_MAX];
  /* forward mode (forwarder.c): this cycle's runs to post, in order per
   * test, and whether the test being read holds its later runs back */
  struct fwd_item *fwd_queue;
  size_t fwd_n, fwd_cap;
  bool fwd_held;
  /* request economy (runs.c): when the cycle started and no read may start
   * any more (the HTTP clients' monotonic clock), the tests due in this
   * cycle that were left for the next, cycles longer than the interval, and
   * MaxRequestsPerSecond for each API */
  double cycle_start, read_deadline;
  size_t deferred;
  uint64_t overruns;
  struct complaint overrun;
  struct limiter rs_rate, xm_rate;
};

/* Everything an event or notification says about a key, from the catalog
 * and the key's newest relevant run. */
struct key_view {
  const struct rec_key *k;
  const struct rec_run *run; /* newest failure, or newest run; may be NULL */
  const char *bucket_name;
  const char *test_name;
  const char *env_name;
  const char *region;
  const char *agent;
  char test_url[RS_URL_MAX];
  char run_url[RS_URL_MAX];
  char started[32], finished[32];
};

/* engine.c: logging, API health, the state file. */

/* discover.c and read_results.c: the Runscope side. */

/* Re-reads the buckets every DiscoveryInterval and the tests lists (with
 * their last_run) every cycle. */
void eng_discover(struct engine *e, double now);

/* Reads the new runs of the watched tests that may have some (due.h) into
 * the reconciler, many at a time, and the details of new tests and of
 * those older than DiscoveryInterval; what the cycle's time does not allow
 * waits for the next cycle. */
void eng_poll_results(struct engine *e, double now);

/* After the cycle: a cycle longer than the interval is counted, and one
 * that overran or left due tests for the next is said (rate-limited). */
void eng_cycle_done(struct engine *e, double now, double duration);

/* forwarder.c: forward mode, Runscope's webhook payload for every run. */

/* Before a test's results are read: the `since` to read them from (lowered
 * to the test's forward cursor; the entry is made at `since` when new). */
double eng_forward_since(struct engine *e, const char *bucket_key,
                         const char *test_id, double since);

/* For each run read (oldest first, selected environments only): queues it
 * when it is after the test's forward cursor and nothing before it waits. */
void eng_forward_run(struct engine *e, const struct cat_bucket *b,
                     const struct cat_test *t, const struct rs_run *run,
                     double now);

/* Posts the queued runs in order, each test stopping at its first failure,
 * and empties the queue. */
void eng_forward(struct engine *e, double now);

/* events.c: the xMatters side. */

/* True for the placeholder ids DryRun gives the events it did not create. */
bool eng_is_dry_run_id(const char *id);

/* First cycle: are the xMatters REST credentials accepted? */
void eng_check_xmatters(struct engine *e, double now);

/* At start and every ReconcileInterval: adopts active events of watched
 * keys that the state does not know. */
void eng_adopt_events(struct engine *e, double now);

/* Asks xMatters about the keys the reconciler needs to know about. */
void eng_look_up_events(struct engine *e, double now);

/* Plans and carries out this cycle's creates, terminates and
 * notifications. */
void eng_act(struct engine *e, double now);

/* Terminates event_id of k (DryRun: says it would) and forgets it; why ends
 * the log line ("the test passes in every location"). Returns 0 when the
 * event is gone (xMatters may not have known it any more), else the errno
 * of the call (the event stays, to be tried again). */
int eng_terminate(struct engine *e, struct rec_key *k, const char *event_id,
                  const char *why, double now);

/* respond.c: the responses to the plugin's events. */

/* Reads the responses to every active event of the plugin's keys and acts
 * on the new ones: Rerun runs the test again through its trigger URL (at
 * most 10 per 10 s per URL; a 429 waits and retries) and then terminates
 * the event or, with RerunKeepsEventOpen, lets the rerun's result decide;
 * Acknowledge is recorded, logged, notified and counted. */
void eng_handle_responses(struct engine *e, double now);

/* traffic_poll.c: live traffic alerts. */

/* Reads the Errors stream of the watched buckets that have <TrafficAlert>
 * rules, sends the FYI events of their matches (with flood control), and
 * dispatches the rules' values and notifications. */
void eng_poll_traffic(struct engine *e, double now);

/* dispatch.c: what the engine says about keys: views, notifications, values. */

/* Fills v from the catalog and the key's newest relevant run. */
void eng_key_view_init(struct engine *e, const struct rec_key *k,
                       struct key_view *v);

/* FAILURE when a key starts failing, OKAY when it recovers. */
/* The identifiers of key k's values and notifications: the bucket's plugin
 * instance and the key's type instance ("" when memory ran out). */
void eng_key_ids(const struct engine *e, const struct rec_key *k,
                 char instance[REPORT_NAME_MAX],
                 char name[REPORT_KEY_NAME_MAX]);

void eng_notify_key(struct engine *e, const struct rec_key *k,
                    enum engine_severity sev);

/* Per-key values (pass/fail of watched keys) and the active events count. */
void eng_report_keys(struct engine *e);

/* The plugin's own health values at time now; duration is the cycle's, in
 * seconds. */
void eng_report_self(struct engine *e, double now, double duration);

#endif
