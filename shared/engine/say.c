/* SPDX-License-Identifier: MIT */
/* What the engine tells the agent: log lines, values and notifications.
 *
 * The one place that builds them for the sink. */
#include "engine/say.h"

#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPLAINT_FIRST 60.0
#define COMPLAINT_MAX 86400.0

void say_log(struct say *s, enum engine_log_level level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof(msg))
    str_utf8_trim(msg);
  /* Lines quote texts of the APIs (user names, responses, test names,
   * error messages): none may break the line or forge another. */
  str_printable(msg);
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

/* True when s holds a control character (see str_printable). */
static bool has_control(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* meta[0..n) into out, with a printable copy (in owned, for free) of each
 * value that holds a control character: meta values quote the APIs' texts
 * (a responder's name) as the message does. */
static void printable_meta(const struct engine_meta *meta, size_t n,
                           struct engine_meta *out, char **owned) {
  for (size_t i = 0; i < n; i++) {
    out[i] = meta[i];
    owned[i] = NULL;
    if (meta[i].value == NULL || !has_control(meta[i].value))
      continue;
    owned[i] = strdup(meta[i].value);
    out[i].value = owned[i] != NULL ? owned[i] : "";
    if (owned[i] != NULL)
      str_printable(owned[i]);
  }
}

void say_notify(struct say *s, enum engine_severity sev,
                const struct say_about *about, const char *message,
                const struct engine_meta *meta, size_t n_meta) {
  if (s->sink.notify == NULL)
    return;
  char clean[1024]; /* collectd logs the message as a log line's */
  if (str_copy(clean, sizeof(clean), message) != 0)
    str_utf8_trim(clean);
  str_printable(clean);
  struct engine_meta *m = calloc(n_meta + 1, sizeof(*m));
  char **owned = calloc(n_meta + 1, sizeof(*owned));
  if (m != NULL && owned != NULL)
    printable_meta(meta, n_meta, m, owned);
  else
    n_meta = 0; /* the message alone rather than an unclean meta */
  struct engine_notification n = {
      .severity = sev,
      .plugin_instance = about->instance,
      .type = about->type,
      .type_instance = about->type_instance,
      .message = clean,
      .meta = n_meta > 0 ? m : NULL,
      .n_meta = n_meta,
  };
  s->sink.notify(s->sink.ctx, &n);
  for (size_t i = 0; owned != NULL && i < n_meta; i++)
    free(owned[i]);
  free(owned);
  free(m);
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
