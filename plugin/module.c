/* SPDX-License-Identifier: MIT */
/* collectd glue of the runscope plugin: config, init, read, shutdown, and
 * the adapters from the engine's sink to collectd's log, values and
 * notifications. The only file that calls the collectd API. */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "config_parse.h"
#include "engine/engine.h"

#include <curl/curl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <time.h>

#define PLUGIN_NAME "runscope"

static struct cfg g_cfg;
static bool g_configured;
static struct engine *g_engine;
static bool g_first_cycle_done;

/* Values handed to collectd in a row, then a pause. collectd queues a copy
 * of every value (some 750 bytes) for its write threads, and a cycle that
 * dispatches every key's values at once (the first after a start or a
 * takeover: 8,400 at 5,000 tests) outruns them: thousands of copies wait
 * together, and the memory they held stays behind as holes among the value
 * cache entries the write threads make meanwhile (2 MB at 5,000 tests, in
 * make bench). With a pause of 1 ms after every 256 values the write
 * threads keep up; such a cycle takes 33 ms longer, an ordinary one not
 * at all. */
#define VALUES_BEFORE_PAUSE 256
#define VALUE_PAUSE_NS 1000000L
static unsigned g_values_in_cycle;

static void pause_after_many_values(void) {
  if (++g_values_in_cycle % VALUES_BEFORE_PAUSE != 0)
    return;
  struct timespec pause = {.tv_sec = 0, .tv_nsec = VALUE_PAUSE_NS};
  (void)nanosleep(&pause, NULL);
}

static void log_line(void *ctx, enum engine_log_level level, const char *msg) {
  (void)ctx;
  plugin_log((int)level, PLUGIN_NAME " plugin: %s", msg);
}

static void dispatch_value(void *ctx, const struct engine_value *v) {
  (void)ctx;
  value_t value;
  if (v->kind == ENGINE_DERIVE)
    value.derive = (derive_t)v->derive;
  else
    value.gauge = (gauge_t)v->gauge;
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, v->plugin_instance, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, v->type, sizeof(vl.type));
  sstrncpy(vl.type_instance, v->type_instance, sizeof(vl.type_instance));
  if (v->interval > 0)
    vl.interval = DOUBLE_TO_CDTIME_T(v->interval);
  plugin_dispatch_values(&vl);
  pause_after_many_values();
}

static void dispatch_notification(void *ctx,
                                  const struct engine_notification *in) {
  (void)ctx;
  notification_t n = {
      .severity = (int)in->severity,
      .time = cdtime(),
  };
  sstrncpy(n.message, in->message, sizeof(n.message));
  sstrncpy(n.host, hostname_g, sizeof(n.host));
  sstrncpy(n.plugin, PLUGIN_NAME, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, in->plugin_instance, sizeof(n.plugin_instance));
  sstrncpy(n.type, in->type, sizeof(n.type));
  sstrncpy(n.type_instance, in->type_instance, sizeof(n.type_instance));
  for (size_t i = 0; i < in->n_meta; i++)
    plugin_notification_meta_add_string(&n, in->meta[i].name,
                                        in->meta[i].value);
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}

static void warn_line(void *ctx, const char *msg) {
  (void)ctx;
  WARNING(PLUGIN_NAME " plugin: %s", msg);
}

static int rs_config(oconfig_item_t *ci) {
  struct err err = {{0}};
  if (g_configured) {
    ERROR(PLUGIN_NAME " plugin: <Plugin runscope> appears twice; merge the "
                      "blocks into one");
    return -1;
  }
  cfg_init(&g_cfg);
  g_configured = true;
  int rc = cfgp_parse(ci, &g_cfg, &err);
  if (rc == 0)
    rc = cfg_finish(&g_cfg, warn_line, NULL, &err);
  if (rc != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  return 0;
}

/* Gives the pages that the cycle's reads freed (pages of the lists, their
 * items, response buffers) back to the kernel. glibc's malloc keeps them
 * otherwise: free pages below the top of a thread's arena are returned by
 * malloc_trim only, and its trim threshold rises once a block it mapped
 * on its own (128 KiB or more, such as a bucket's tests list) is freed.
 * make bench at 5,000 tests: 0.5 MB less resident, for about 0.1 ms a
 * cycle. */
static void return_freed_pages(void) {
#ifdef __GLIBC__
  (void)malloc_trim(0);
#endif
}

static int rs_read(user_data_t *ud) {
  (void)ud;
  g_values_in_cycle = 0;
  int rc = engine_cycle(g_engine, CDTIME_T_TO_DOUBLE(cdtime()));
  return_freed_pages();
  bool first = !g_first_cycle_done;
  g_first_cycle_done = true;
  /* Only a first cycle fails (so `collectd -T` reports bad credentials):
   * collectd suspends read callbacks that keep failing. */
  return (first && rc == -EACCES) ? -1 : 0;
}

static int rs_init(void) {
  if (!g_configured) {
    ERROR(PLUGIN_NAME " plugin: loaded without a <Plugin runscope> block; "
                      "add one (see collectd-runscope(5))");
    return -1;
  }
  if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
    ERROR(PLUGIN_NAME " plugin: curl_global_init failed");
    return -1;
  }
  static const struct engine_sink sink = {
      .log = log_line,
      .value = dispatch_value,
      .notify = dispatch_notification,
  };
  struct err err = {{0}};
  /* The read callback below gets this interval (registered with 0). */
  g_cfg.interval = CDTIME_T_TO_DOUBLE(plugin_get_interval());
  /* <Cluster> Name defaults to collectd's hostname */
  if (g_cfg.cluster.enabled && g_cfg.cluster.name == NULL &&
      cfg_set_string(&g_cfg.cluster.name, hostname_g) != 0) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    return -1;
  }
  g_engine =
      engine_new(&g_cfg, &sink, hostname_g, CDTIME_T_TO_DOUBLE(cdtime()), &err);
  if (g_engine == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  INFO(PLUGIN_NAME " plugin: version %s: watching %s, state file %s%s.",
       RUNSCOPE_VERSION,
       g_cfg.n_buckets ? "the configured buckets" : "every bucket",
       g_cfg.state_file, g_cfg.dry_run ? ", DryRun: nothing is sent" : "");
  int rc = plugin_register_complex_read(NULL, PLUGIN_NAME, rs_read, 0,
                                        &(user_data_t){.data = NULL});
  if (rc != 0) {
    ERROR(PLUGIN_NAME " plugin: registering the read callback failed");
    return -1;
  }
  return 0;
}

static int rs_shutdown(void) {
  engine_free(g_engine);
  g_engine = NULL;
  if (g_configured)
    cfg_fini(&g_cfg);
  g_configured = false;
  curl_global_cleanup();
  return 0;
}

/* The one symbol runscope.so exports (the build hides all others): collectd
 * looks it up with dlsym after loading the plugin. */
__attribute__((visibility("default"))) void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, rs_config);
  plugin_register_init(PLUGIN_NAME, rs_init);
  plugin_register_shutdown(PLUGIN_NAME, rs_shutdown);
}
