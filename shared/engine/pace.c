/* SPDX-License-Identifier: MIT */
/* The time of a poll cycle: when its reads stop, and cycles that overran. */
#include "engine/pace.h"

#include <string.h>

void pace_init(struct pace *p, const struct cfg *cfg, struct say *say) {
  memset(p, 0, sizeof(*p));
  p->cfg = cfg;
  p->say = say;
}

double pace_read_deadline(const struct pace *p, double mono) {
  double interval = p->cfg->interval;
  return interval > 0 ? mono + PACE_READ_BUDGET * interval : 0;
}

void pace_cycle_end(struct pace *p, double now, double duration, bool read,
                    size_t deferred) {
  double interval = p->cfg->interval;
  bool over = interval > 0 && duration > interval;
  if (read)
    p->deferred = deferred;
  if (over)
    p->overruns++;
  if (!over && p->deferred == 0) {
    if (say_complaint_over(&p->overrun))
      say_log(p->say, ENGINE_LOG_NOTICE,
              "Poll cycles fit their interval of %.1f s again.", interval);
    return;
  }
  if (!say_complaint_due(&p->overrun, now))
    return;
  if (over)
    say_log(p->say, ENGINE_LOG_WARNING,
            "A poll cycle took %.1f s, longer than the interval of %.1f s; "
            "%zu due tests were left for the next cycle. Raise "
            "MaxRequestsPerSecond or MaxConcurrentRequests, or the Interval.",
            duration, interval, p->deferred);
  else
    say_log(p->say, ENGINE_LOG_WARNING,
            "A poll cycle left %zu due tests for the next one: Runscope "
            "reads stop after %.0f%% of the interval of %.1f s. Raise "
            "MaxRequestsPerSecond or MaxConcurrentRequests, or the Interval.",
            p->deferred, PACE_READ_BUDGET * 100, interval);
}
