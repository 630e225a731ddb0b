/* SPDX-License-Identifier: MIT */
/* Which tests may have news: the plugin's request economy, decided. */
#include "core/due.h"

#include "util/buf.h"
#include "util/hash.h"
#include "util/str.h"

#include <string.h>

/* A first sighting: read unless the list shows that nothing can be new. */
static enum due_reason first_sighting(const struct due_input *in,
                                      const struct due_opts *o, double now) {
  if (in->held)
    return DUE_PENDING;
  if (!in->listed || !in->last_run_known)
    return DUE_NEW;
  if (in->last_run == 0 && in->last_run_at <= 0)
    return DUE_NO; /* never ran: a run to come changes last_run */
  if (in->cursor_run != 0 && in->last_run == in->cursor_run)
    return DUE_NO; /* the run the cursor's read covered: a restart */
  if (in->last_run_at <= 0)
    return DUE_NEW; /* a run without a time: cannot compare */
  double since = in->cursor > 0 ? in->cursor : now - o->max_catch_up;
  return in->last_run_at > since - DUE_CURSOR_SLACK ? DUE_NEW : DUE_NO;
}

/* How long after a schedule's expected run the test is read every cycle
 * until the run shows: a few cycles, at most half the schedule's interval
 * (but one cycle at least, so that the window is never missed). */
static double schedule_window(double interval, const struct due_opts *o) {
  double poll = o->interval > 0 ? o->interval : 10;
  double w = 2 * poll > 30 ? 2 * poll : 30;
  double cap = interval / 2 > poll ? interval / 2 : poll;
  return w < cap ? w : cap;
}

/* True when one of the schedules expects a run around now: the latest
 * tick (one interval after the environment's newest run, or after the
 * last read when none is known, and every interval after) is at most the
 * window ago. */
static bool schedule_due(const struct due_test *t, const struct due_input *in,
                         const struct due_opts *o, double now) {
  for (size_t i = 0; i < in->n_schedules; i++) {
    const struct due_schedule *s = &in->schedules[i];
    if (!(s->interval > 0))
      continue;
    double base = s->last_start > 0 ? s->last_start : t->read_at;
    if (now < base + s->interval)
      continue;
    /* now >= base + interval: the quotient is at least 1 */
    double ticks = (double)(long long)((now - base) / s->interval);
    double tick = base + ticks * s->interval;
    if (now - tick <= schedule_window(s->interval, o))
      return true;
  }
  return false;
}

enum due_reason due_check(const struct due_test *t, const struct due_input *in,
                          const struct due_opts *o, double now) {
  if (!t->known)
    return first_sighting(in, o, now);
  if (in->held || t->pending)
    return DUE_PENDING;
  if (in->listed && in->last_run_known) {
    if (in->last_run != t->run || in->last_run_at != t->run_at)
      return DUE_CHANGED;
  } else if (schedule_due(t, in, o, now)) {
    return DUE_SCHEDULE;
  }
  if (now - t->read_at >= o->max_result_age)
    return DUE_MAX_AGE;
  return DUE_NO;
}

uint64_t due_run_digest(const char *id) {
  if (id == NULL || id[0] == '\0')
    return 0;
  uint64_t h = hash_str(id);
  return h != 0 ? h : 1;
}

/* Remembers the list's last_run (kept when this cycle's list had none). */
static void note_run(struct due_test *t, const struct due_input *in) {
  if (!in->listed || !in->last_run_known)
    return;
  t->run = in->last_run;
  t->run_at = in->last_run_at;
}

void due_read(struct due_test *t, const struct due_input *in, bool pending,
              double now) {
  note_run(t, in);
  t->known = true;
  t->pending = pending;
  t->read_at = now;
}

void due_skip(struct due_test *t, const struct due_input *in, double now) {
  due_read(t, in, false, now);
}

bool due_pending(const struct rs_run *runs, size_t n, double now,
                 double max_unfinished_age) {
  for (size_t i = 0; i < n; i++)
    if (runs[i].result == RS_RESULT_UNFINISHED &&
        now - runs[i].started_at <= max_unfinished_age)
      return true;
  return false;
}

/* Lower goes first. */
static int rank(enum due_reason r) {
  switch (r) {
  case DUE_PENDING:
  case DUE_CHANGED:
    return 0;
  case DUE_NEW:
    return 1;
  case DUE_SCHEDULE:
    return 2;
  case DUE_MAX_AGE:
    return 3;
  case DUE_NO:
    break;
  }
  return 4;
}

bool due_before(enum due_reason a, double read_a, enum due_reason b,
                double read_b) {
  if (rank(a) != rank(b))
    return rank(a) < rank(b);
  return read_a < read_b;
}

const char *due_reason_name(enum due_reason r) {
  static const char *const names[] = {
      [DUE_NO] = "not due",         [DUE_PENDING] = "pending",
      [DUE_CHANGED] = "changed",    [DUE_NEW] = "new",
      [DUE_SCHEDULE] = "scheduled", [DUE_MAX_AGE] = "max age",
  };
  return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
