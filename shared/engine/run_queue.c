/* SPDX-License-Identifier: MIT */
/* Forward mode's runs of one cycle: what the reads queue for posting. */
#include "engine/run_queue.h"

#include "core/forward.h"
#include "util/array.h"

#include <stdlib.h>

double run_queue_since(struct engine *e, const char *bucket_key,
                       const char *test_id, double since) {
  struct fwd_test *t;
  if (fwd_test_get(&e->state.fwd, bucket_key, test_id, since, &t) != 0) {
    say_log(&e->say, ENGINE_LOG_ERR,
            "Out of memory for the forward cursor of %s/%s.", bucket_key,
            test_id);
    return since;
  }
  /* While xMatters backs off nothing can be posted: the test is read as in
   * manage mode (for its values), not again from its forward cursor, which
   * stays where it is until xMatters answers. */
  if (!health_xm_usable(&e->health))
    return since;
  double s = fwd_since(t);
  return s < since ? s : since;
}

bool run_queue_offer(struct run_queue *q, struct engine *e,
                     const struct cat_bucket *b, const struct cat_test *t,
                     const struct rs_run *run, double now) {
  struct fwd_test *ft = fwd_test_find(&e->state.fwd, b->info.key, t->detail.id);
  if (ft == NULL || fwd_is_handled(ft, run))
    return false;
  if (run->result == RS_RESULT_UNFINISHED) {
    /* Later runs wait for it, unless it has been running for longer than
     * MaxRunDuration (then it is given up, as the reading cursor does). */
    return now - run->started_at <= e->cfg->max_run_duration;
  }
  if (!health_xm_usable(&e->health) || q->n == RUN_QUEUE_MAX ||
      array_reserve(&q->v, &q->cap, q->n, sizeof(*q->v), 16) != 0)
    return true;
  q->v[q->n++] = (struct queued_run){b, t, *run};
  return false;
}

void run_queue_fini(struct run_queue *q) {
  free(q->v);
  q->v = NULL;
  q->n = q->cap = 0;
}
