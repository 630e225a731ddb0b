/* SPDX-License-Identifier: MIT */
/* The forwarding stage: posts the queued runs to the Test Results trigger.
 *
 * In forward mode every finished run of the watched tests is posted in
 * Runscope's webhook shape, once, in order per test. While the reads go
 * (read_results.c), run_queue.c lowers each read's `since` to the
 * test's forward cursor and queues the runs after it, oldest first, up to
 * the first that must wait (unfinished). This stage takes that queue: it
 * reads each run's detail (its steps), posts the payload and moves the
 * cursor. A failed post holds the test: its later runs wait
 * for the next cycle, when the failed one is read and sent again first.
 *
 * Delivery is at least once: the run being posted is recorded and saved
 * before the POST (write-ahead), the outcome after it. Should the plugin
 * stop between the two, or the answer be lost, the run is posted again, and
 * the log says so; nothing is skipped. */
#include "engine/post_runs.h"

#include "core/forward.h"
#include "engine/event_ops.h"
#include "engine/key_view.h"
#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FWD_BODY_MAX (4u << 20) /* the largest payload posted */

static const char *result_name(const struct rs_run *r) {
  if (r->result == RS_RESULT_OTHER && r->result_text[0] != '\0')
    return r->result_text;
  return r->result == RS_RESULT_PASS   ? "pass"
         : r->result == RS_RESULT_FAIL ? "fail"
                                       : "other";
}

/* Reads the run's steps into *d. Returns 0 when the post may go ahead (with
 * or without steps), else the errno that holds it. */
static int read_steps(struct engine *e, const struct queued_run *it,
                      struct rs_run_detail *d, double now) {
  struct err err = {{0}};
  int rc = rs_get_run(e->rs, it->b->info.key, it->t->detail.id,
                      it->run.test_run_id, d, &err);
  if (rc == 0) {
    health_up(&e->health.rs);
    return 0;
  }
  rs_run_detail_fini(d);
  bool outage = health_failed(&e->health, &e->health.rs, rc, &err, now);
  /* A detail that is gone, unreadable or too large would hold the test for
   * ever: the run goes without its steps. */
  if (rc == -ENOENT || rc == -EPROTO || rc == -EMSGSIZE) {
    say_log(&e->say, ENGINE_LOG_WARNING,
            "Forwarding run %s of test \"%s\" without its steps (requests is "
            "empty): its detail cannot be read.",
            it->run.test_run_id, it->t->detail.name);
    return 0;
  }
  return outage || rc == -EACCES ? rc : 0;
}

/* The payload of a queued run into body; one too large to post goes
 * without its steps. */
static int build_body(struct engine *e, const struct queued_run *it,
                      const struct rs_run_detail *d, struct buf *body) {
  const struct rs_run *r = &it->run;
  const char *env =
      r->environment_name[0]
          ? r->environment_name
          : key_view_env_name_of(e, it->b->info.key, it->t, r->environment_id);
  struct fwd_run in = {
      .run = r,
      .bucket_key = it->b->info.key,
      .bucket_name = it->b->info.name,
      .team_id = it->b->info.team_id,
      .team_name = it->b->info.team_name,
      .test_id = it->t->detail.id,
      .test_name = it->t->detail.name,
      .trigger_url = it->t->detail.trigger_url ? it->t->detail.trigger_url : "",
      .environment_id = r->environment_id,
      .environment_name = env,
      .dashboard_url = e->cfg->dashboard_url,
      .agent_expired = d->agent_expired,
      .steps = d->steps,
      .n_steps = d->n_steps,
  };
  int rc = fwd_build_payload(&in, body);
  if (rc == -EMSGSIZE) {
    say_log(&e->say, ENGINE_LOG_WARNING,
            "The payload of run %s is larger than %u bytes: forwarding it "
            "without its steps.",
            r->test_run_id, FWD_BODY_MAX);
    in.n_steps = 0;
    rc = fwd_build_payload(&in, body);
  }
  return rc;
}

/* POSTs body for the run, with the write-ahead mark saved first. */
static int post(struct engine *e, struct fwd_test *ft,
                const struct queued_run *it, const struct buf *body,
                double now) {
  const char *id = it->run.test_run_id;
  if (!event_ops_may_act(e))
    return -EAGAIN; /* the cluster's lease ran out: not sent, tried later */
  if (strcmp(ft->sending, id) == 0)
    say_log(&e->say, ENGINE_LOG_NOTICE,
            "Posting run %s of test \"%s\" again: an earlier post of it may "
            "have arrived (its answer was lost, or the plugin stopped while "
            "posting).",
            id, it->t->detail.name);
  fwd_mark_sending(ft, id, now);
  persist_save(&e->persist, &e->state, now);
  char request_id[XM_ID_MAX] = "";
  struct err err = {{0}};
  int rc =
      xm_post_json(e->xm, e->cfg->xmatters.test_results_trigger_url, body->data,
                   body->len, request_id, sizeof(request_id), &err);
  if (rc != 0) {
    /* An explicit refusal accepted nothing; a lost answer may have. */
    if (!http_maybe_sent(rc))
      fwd_clear_sending(ft);
    say_tally(&e->say, SAY_FORWARD_ERRORS);
    health_xm_failed(&e->health, rc, &err, now);
    return rc;
  }
  health_up(&e->health.xm);
  fwd_mark_handled(ft, &it->run, true);
  say_tally(&e->say, SAY_RUNS_FORWARDED);
  say_log(&e->say, ENGINE_LOG_DEBUG,
          "Forwarded run %s (%s) of test \"%s\" to the Test Results trigger, "
          "requestId %s.",
          id, result_name(&it->run), it->t->detail.name,
          request_id[0] ? request_id : "(none)");
  return 0;
}

/* Posts the payload of a run (DryRun: says it would). Returns 0, or the
 * errno that holds its test. */
static int send_body(struct engine *e, struct fwd_test *ft,
                     const struct queued_run *it, const struct buf *body,
                     double now) {
  if (!e->cfg->dry_run)
    return post(e, ft, it, body, now);
  say_log(&e->say, ENGINE_LOG_NOTICE,
          "DryRun: would post run %s (%s) of test \"%s\" (%zu bytes) to the "
          "Test Results trigger.",
          it->run.test_run_id, result_name(&it->run), it->t->detail.name,
          body->len);
  fwd_mark_handled(ft, &it->run, true);
  return 0;
}

/* Forwards one queued run. Returns 0, or the errno that holds its test. */
static int forward_one(struct engine *e, const struct queued_run *it,
                       double now) {
  struct fwd_test *ft =
      fwd_test_find(&e->state.fwd, it->b->info.key, it->t->detail.id);
  if (ft == NULL || fwd_is_handled(ft, &it->run))
    return 0;
  if (it->run.result == RS_RESULT_CANCELLED) {
    /* Runscope's webhook says pass or fail; a cancelled run is no result. */
    fwd_mark_handled(ft, &it->run, false);
    say_log(&e->say, ENGINE_LOG_DEBUG,
            "Run %s of test \"%s\" was cancelled: not forwarded.",
            it->run.test_run_id, it->t->detail.name);
    return 0;
  }
  if (!health_xm_usable(&e->health))
    return -EAGAIN;
  struct rs_run_detail d;
  int rc = read_steps(e, it, &d, now);
  if (rc != 0)
    return rc;
  struct buf body;
  buf_init(&body, FWD_BODY_MAX);
  rc = build_body(e, it, &d, &body);
  rs_run_detail_fini(&d);
  if (rc == 0)
    rc = send_body(e, ft, it, &body, now);
  else
    say_log(&e->say, ENGINE_LOG_ERR, "Cannot build the payload of run %s: %s.",
            it->run.test_run_id, err_errno_text(-rc));
  buf_fini(&body);
  return rc;
}

void post_runs(struct engine *e, const struct run_queue *q, double now) {
  const struct cat_test *held = NULL;
  for (size_t i = 0; i < q->n; i++) {
    const struct queued_run *it = &q->v[i];
    if (it->t == held)
      continue; /* an earlier run of its test did not go: keep the order */
    int rc = forward_one(e, it, now);
    if (rc == 0)
      continue;
    held = it->t;
    if (health_is_outage(rc) || !health_xm_usable(&e->health))
      break; /* an API is down: the rest waits for the next cycle */
  }
}
