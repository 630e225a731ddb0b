/* SPDX-License-Identifier: MIT */
/* What the engine tells the agent: log lines, values and notifications. */
#ifndef RUNSCOPE_SAY_H
#define RUNSCOPE_SAY_H

#include "engine/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The counters of the plugin's own values (counted since the start). */
enum say_counter {
  SAY_EVENTS_CREATED,
  SAY_EVENTS_TERMINATED,
  SAY_CREATE_ERRORS,
  SAY_API_ERRORS,
  SAY_RERUNS_TRIGGERED, /* Rerun responses that ran the test again */
  SAY_ACKNOWLEDGEMENTS, /* Acknowledge responses recorded */
  SAY_RUNS_FORWARDED,   /* forward mode: runs posted and accepted */
  SAY_FORWARD_ERRORS,   /* forward mode: posts that failed */
  SAY_COUNTERS
};

/* The sink the agent gave, and the counters. */
struct say {
  struct engine_sink sink;
  uint64_t counts[SAY_COUNTERS];
};

/* A log line that would repeat every cycle is repeated with a doubling gap
 * (collectd's c_complain), and once more when the condition clears.
 * Zeroed memory is "not complaining". */
struct complaint {
  double next_at;  /* do not log again before this */
  double interval; /* 0: not complaining */
};

/* What a value or a notification is about: collectd's identifier fields.
 * Strings are borrowed for the call. */
struct say_about {
  const char *instance; /* plugin instance: a bucket, or "self" */
  const char *type;     /* a types.db type */
  const char *type_instance;
};

/* Logs one line through the sink. */
void say_log(struct say *s, enum engine_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Dispatches one value (a DERIVE takes v as an integer). */
void say_value(struct say *s, const struct say_about *about,
               enum engine_value_kind kind, double v);

/* The same with the value's interval: the seconds it stands for until the
 * next one (a key's values come at the pace of its runs); 0 is the read
 * interval, as say_value's. */
void say_value_every(struct say *s, const struct say_about *about,
                     enum engine_value_kind kind, double v, double interval);

/* Dispatches one notification with its meta (borrowed for the call). */
void say_notify(struct say *s, enum engine_severity sev,
                const struct say_about *about, const char *message,
                const struct engine_meta *meta, size_t n_meta);

/* Counts one more of counter c; say_total reads it. */
void say_tally(struct say *s, enum say_counter c);
uint64_t say_total(const struct say *s, enum say_counter c);

/* True when complaint c is to be logged at now (the gap then doubles, up
 * to a day). */
bool say_complaint_due(struct complaint *c, double now);

/* say_complaint_due over a complaint kept as two fields of another
 * record (a test's in the catalog): *next_at and *gap as in struct
 * complaint. */
bool say_gap_due(double *next_at, double *gap, double now);

/* Ends complaint c; true when one was going on (worth a "back" line). */
bool say_complaint_over(struct complaint *c);

#endif
