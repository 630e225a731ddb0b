/* SPDX-License-Identifier: MIT */
/* Forward mode: Runscope's webhook payload built from polled runs, and the
 * per-test memory of what was delivered.
 *
 * Pure: no I/O, no clock. The engine reads the runs, asks this module
 * whether each one is still to be posted, builds its body here, posts it,
 * and records the outcome here; the state store saves what is recorded.
 *
 * Order: the runs of a test are handled oldest first, by started_at and,
 * for equal times, by test_run_id (as rs_list_results sorts them). A test's
 * cursor is the last run handled in that order (posted, or passed over as
 * not forwardable); every run at or before it counts as handled. The ids of
 * the last FWD_DELIVERED_MAX posted runs are kept as well, so that a run is
 * never posted twice even if the API moves its start time. */
#ifndef RUNSCOPE_FORWARD_H
#define RUNSCOPE_FORWARD_H

#include "clients/runscope.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define FWD_DELIVERED_MAX 16 /* posted run ids remembered per test */

/* What forward mode remembers of one test. */
struct fwd_test {
  char bucket_key[RS_ID_MAX];
  char test_id[RS_ID_MAX];
  /* The cursor: started_at and id of the last run handled. An empty
   * through_id means every run that started at or before `through` is
   * handled (a cursor set from a time, not from a run). */
  double through;
  char through_id[RS_ID_MAX];
  /* The ids of the last posted runs, oldest first. */
  char delivered[FWD_DELIVERED_MAX][RS_ID_MAX];
  size_t n_delivered;
  /* Write-ahead: the run whose POST was started and whose outcome is not
   * known ("" when none), and when. */
  char sending[RS_ID_MAX];
  double sending_at;
};

/* Every test's entry, sorted by bucket key then test id. Owned: release
 * with fwd_state_fini. A zeroed struct is an empty state. */
struct fwd_state {
  struct fwd_test *tests;
  size_t n, cap;
};

void fwd_state_init(struct fwd_state *st);
void fwd_state_fini(struct fwd_state *st);

/* The entry of a test, or NULL. The pointer is valid until the next
 * fwd_test_get that adds an entry. */
struct fwd_test *fwd_test_find(struct fwd_state *st, const char *bucket_key,
                               const char *test_id);

/* The entry of a test; when absent it is added with its cursor at the time
 * `through` (every run started at or before it counts as handled). *ret
 * points into st until the next entry is added. Returns 0, -ENOMEM or
 * -ENAMETOOLONG. */
int fwd_test_get(struct fwd_state *st, const char *bucket_key,
                 const char *test_id, double through, struct fwd_test **ret);

/* How far below the cursor a results read starts, so that runs sharing the
 * cursor's start time are read again (`since` is exclusive). */
#define FWD_SINCE_MARGIN 0.001

/* The `since` from which the test's results must be read so that no run
 * after the cursor is missed. */
double fwd_since(const struct fwd_test *t);

/* True when the run is at or before the cursor, or was posted. */
bool fwd_is_handled(const struct fwd_test *t, const struct rs_run *run);

/* Records the POST of a run as started (write-ahead). */
void fwd_mark_sending(struct fwd_test *t, const char *test_run_id, double now);

/* Records a run as handled: the cursor moves to it (never back), and when
 * posted is true its id joins the delivered ids (the oldest is dropped when
 * they are full). Clears a sending mark of the same run. */
void fwd_mark_handled(struct fwd_test *t, const struct rs_run *run,
                      bool posted);

/* Forgets a sending mark (the POST was refused: nothing was accepted). */
void fwd_clear_sending(struct fwd_test *t);

/* Everything a webhook payload says about one run. Strings are borrowed;
 * NULL reads as "". */
struct fwd_run {
  const struct rs_run *run; /* ids, result, times, region, agent */
  const char *bucket_key, *bucket_name;
  const char *team_id, *team_name;
  const char *test_id, *test_name, *trigger_url;
  const char *environment_id, *environment_name;
  const char *dashboard_url;   /* links: <url>/radar/<bucket>/<test>[/...] */
  int agent_expired;           /* -1: unknown (null), else false/true */
  const struct rs_step *steps; /* the run detail's requests[]; may be 0 */
  size_t n_steps;
};

/* Appends to out the JSON body Runscope's webhook ("Callback URL") would
 * post for the run: test_id, test_name, test_run_id, test_url and
 * test_run_url (dashboard links), result, bucket_key, bucket_name, team_id,
 * team_name, environment_uuid, environment_name, region, region_name,
 * agent, agent_expired, started_at and finished_at (float seconds),
 * trigger_url, initial_variables, variables and requests[] (url, method,
 * result, note, step_type, response_status_code, response_time_ms,
 * response_size_bytes, and assertions/scripts/variables as {pass, fail,
 * total}). What polling cannot know is present with an empty value:
 * region_name "" (null with an agent), variables and initial_variables {},
 * the response_* numbers null. Returns 0, -EINVAL (no run, or one not
 * finished), -ENOMEM or -EMSGSIZE (out is then unchanged). */
int fwd_build_payload(const struct fwd_run *in, struct buf *out);

#endif
