/* SPDX-License-Identifier: MIT */
/* What the engine tells the agent: log lines, values and notifications.
 *
 * The one place that builds them for the sink. */
#include "engine/say.h"

#include <stdarg.h>
#include <stdio.h>

#define COMPLAINT_FIRST 60.0
#define COMPLAINT_MAX 86400.0

void say_log(struct say *s, enum engine_log_level level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (s->sink.log != NULL)
    s->sink.log(s->sink.ctx, level, msg);
}

void say_value(struct say *s, const struct say_about *about,
               enum engine_value_kind kind, double v) {
  say_value_every(s, about, kind, v, 0);
}

void say_value_every(struct say *s, const struct say_about *about,
                     enum engine_value_kind kind, double v, double interval) {
  if (s->sink.value == NULL)
    return;
  struct engine_value ev = {
      .plugin_instance = about->instance,
      .type = about->type,
      .type_instance = about->type_instance,
      .kind = kind,
      .gauge = v,
      .derive = (int64_t)v,
      .interval = interval,
  };
  s->sink.value(s->sink.ctx, &ev);
}

void say_notify(struct say *s, enum engine_severity sev,
                const struct say_about *about, const char *message,
                const struct engine_meta *meta, size_t n_meta) {
  if (s->sink.notify == NULL)
    return;
  struct engine_notification n = {
      .severity = sev,
      .plugin_instance = about->instance,
      .type = about->type,
      .type_instance = about->type_instance,
      .message = message,
      .meta = meta,
      .n_meta = n_meta,
  };
  s->sink.notify(s->sink.ctx, &n);
}

void say_tally(struct say *s, enum say_counter c) { s->counts[c]++; }

uint64_t say_total(const struct say *s, enum say_counter c) {
  return s->counts[c];
}

bool say_gap_due(double *next_at, double *gap, double now) {
  if (*gap > 0 && now < *next_at)
    return false;
  *gap = *gap > 0 ? *gap * 2 : COMPLAINT_FIRST;
  if (*gap > COMPLAINT_MAX)
    *gap = COMPLAINT_MAX;
  *next_at = now + *gap;
  return true;
}

bool say_complaint_due(struct complaint *c, double now) {
  return say_gap_due(&c->next_at, &c->interval, now);
}

bool say_complaint_over(struct complaint *c) {
  bool was = c->interval > 0;
  c->interval = 0;
  c->next_at = 0;
  return was;
}
