/* SPDX-License-Identifier: MIT */
/* One poll cycle: read Runscope, reconcile, drive xMatters, report. */
#ifndef RUNSCOPE_ENGINE_H
#define RUNSCOPE_ENGINE_H

#include "config/config.h"
#include "transport/http.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

/* Severities, numbered as syslog (and collectd's LOG_*). */
enum engine_log_level {
  ENGINE_LOG_ERR = 3,
  ENGINE_LOG_WARNING = 4,
  ENGINE_LOG_NOTICE = 5,
  ENGINE_LOG_INFO = 6,
  ENGINE_LOG_DEBUG = 7,
};

/* Notification severities, numbered as collectd's NOTIF_*. */
enum engine_severity {
  ENGINE_FAILURE = 1,
  ENGINE_WARNING = 2,
  ENGINE_OKAY = 4,
};

enum engine_value_kind { ENGINE_GAUGE, ENGINE_DERIVE };

/* A value for the agent. Strings are borrowed for the call. */
struct engine_value {
  const char *plugin_instance; /* a bucket key, or "self" */
  const char *type;            /* a types.db type */
  const char *type_instance;
  enum engine_value_kind kind;
  double gauge;
  int64_t derive;
  /* seconds until the next value of the series is expected (collectd's
   * value list interval); 0: the plugin's read interval */
  double interval;
};

struct engine_meta {
  const char *name;
  const char *value;
};

/* A notification for the agent. Strings are borrowed for the call. */
struct engine_notification {
  enum engine_severity severity;
  const char *plugin_instance;
  const char *type;
  const char *type_instance;
  const char *message;
  const struct engine_meta *meta;
  size_t n_meta;
};

/* Where the engine's output goes: the agent's log, values, notifications.
 * Log lines are complete sentences without a prefix; secrets never appear
 * in them. */
struct engine_sink {
  void *ctx;
  void (*log)(void *ctx, enum engine_log_level level, const char *msg);
  void (*value)(void *ctx, const struct engine_value *v);
  void (*notify)(void *ctx, const struct engine_notification *n);
};

struct engine;

/* Creates the engine for cfg (borrowed: it must outlive the engine) and
 * loads the state file (a missing one is a first start; a corrupt one is
 * moved aside and logged). hostname is copied. Returns NULL with err set
 * when the state file cannot be read or memory runs out. curl_global_init
 * must have run. */
struct engine *engine_new(const struct cfg *cfg, const struct engine_sink *sink,
                          const char *hostname, double now, struct err *err);

/* Runs one poll cycle at time now (Unix seconds). Problems with the APIs are
 * logged (rate-limited), counted and retried on later cycles, and the cycle
 * returns 0. Returns -EACCES when an API rejected the credentials in this
 * cycle, or a TLS or proxy problem stands (logged once per change, naming
 * the option to check), so that the caller can fail a first cycle. */
int engine_cycle(struct engine *e, double now);

/* The seam of the engine's unit tests: every request to Runscope and
 * xMatters goes through fn instead of libcurl (NULL restores libcurl), and
 * the HTTP clients' monotonic clock and sleep are now and sleep (NULL:
 * the real ones). Call before the first cycle. */
void engine_set_transport(struct engine *e, http_transport_fn fn, void *ctx);
void engine_set_clock(struct engine *e, http_clock_fn now, http_sleep_fn sleep,
                      void *ctx);

/* Saves the state and frees the engine; NULL is a no-op. */
void engine_free(struct engine *e);

#endif
