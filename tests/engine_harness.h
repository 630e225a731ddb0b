/* SPDX-License-Identifier: MIT */
/* The engine tests' harness: a config for the fakes, the fakes behind the
 * transport and clock seams, a sink that records what the engine told, and
 * the engine itself; one per test (setup, teardown). */
#ifndef RUNSCOPE_ENGINE_HARNESS_H
#define RUNSCOPE_ENGINE_HARNESS_H

#include "config/config.h"
#include "engine/engine.h"
#include "engine_fake.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define T0 1700000000.0
#define INTERVAL 60.0
#define TEST_ID "test-1"
#define TEST_NAME "Checkout flow"
#define ENV_ID "env-1"
#define ENV_NAME "Production"
#define KEY EF_BUCKET "/" TEST_ID "/" ENV_ID
#define HOST "test-host"
#define NOTES_MAX 64
#define SELF_MAX 64

/* ---- the harness: a config, the fakes, the sink, the engine ---- */

/* A notification about a key (API ones have key ""). */
struct note {
  enum engine_severity sev;
  char key[EF_KEY_MAX];
  char event_id[EF_ID_MAX];
};

/* The latest value of one of the plugin's own ("self") values. */
struct self_value {
  char name[EF_ID_MAX]; /* its type instance */
  double v;
};

/* What the engine told its agent. */
struct told {
  char *log; /* every line, "<level> <message>\n" */
  size_t log_len;
  struct note notes[NOTES_MAX];
  size_t n_notes;
  struct self_value self[SELF_MAX];
  size_t n_self;
};

static struct {
  char dir[64], state[96], snapshot[96];
  struct cfg cfg;
  bool finished; /* cfg_finish ran */
  struct efake f;
  struct told told;
  struct engine *e;
} h;

static inline void on_log(void *ctx, enum engine_log_level level,
                          const char *msg) {
  struct told *t = ctx;
  size_t n = strlen(msg) + 16;
  t->log = realloc(t->log, t->log_len + n);
  ck_assert_ptr_nonnull(t->log);
  t->log_len +=
      (size_t)snprintf(t->log + t->log_len, n, "%d %s\n", (int)level, msg);
}

static inline void on_value(void *ctx, const struct engine_value *v) {
  struct told *t = ctx;
  size_t i = 0;
  if (strcmp(v->plugin_instance, "self") != 0)
    return;
  while (i < t->n_self && strcmp(t->self[i].name, v->type_instance) != 0)
    i++;
  if (i == t->n_self) {
    ck_assert_uint_lt(t->n_self, SELF_MAX);
    ef_copy(t->self[t->n_self++].name, EF_ID_MAX, v->type_instance);
  }
  t->self[i].v = v->kind == ENGINE_GAUGE ? v->gauge : (double)v->derive;
}

/* The latest self value named name; -1 when none came. */
static inline double self_value(const char *name) {
  for (size_t i = 0; i < h.told.n_self; i++)
    if (strcmp(h.told.self[i].name, name) == 0)
      return h.told.self[i].v;
  return -1;
}

static inline const char *meta_of(const struct engine_notification *n,
                                  const char *name) {
  for (size_t i = 0; i < n->n_meta; i++)
    if (strcmp(n->meta[i].name, name) == 0)
      return n->meta[i].value;
  return "";
}

/* No notification carries a control character (a line break or an escape
 * from an API's text could forge a line in whatever shows it). */
static inline void assert_printable(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
    ck_assert_msg(*p >= 0x20 && *p != 0x7f, "control character in \"%s\"", s);
}

static inline void on_notify(void *ctx, const struct engine_notification *n) {
  struct told *t = ctx;
  assert_printable(n->message);
  for (size_t i = 0; i < n->n_meta; i++)
    assert_printable(n->meta[i].value);
  ck_assert_uint_lt(t->n_notes, NOTES_MAX);
  struct note *x = &t->notes[t->n_notes++];
  x->sev = n->severity;
  ef_copy(x->key, sizeof(x->key), meta_of(n, "runscope_key"));
  ef_copy(x->event_id, sizeof(x->event_id), meta_of(n, "event_id"));
}

/* Notifications of severity sev (0: any) about key. */
static inline size_t notes(enum engine_severity sev, const char *key) {
  size_t n = 0;
  for (size_t i = 0; i < h.told.n_notes; i++)
    n += (sev == 0 || h.told.notes[i].sev == sev) &&
         strcmp(h.told.notes[i].key, key) == 0;
  return n;
}

static inline bool logged(const char *text) {
  return h.told.log != NULL && strstr(h.told.log, text) != NULL;
}

static inline void set(char **dst, const char *v) {
  ck_assert_int_eq(cfg_set_string(dst, v), 0);
}

/* The config plugin/config_parse.c would build for the fakes. */
static inline void make_cfg(struct cfg *c) {
  struct cfg_bucket *b;
  cfg_init(c);
  c->interval = INTERVAL;
  set(&c->state_file, h.state);
  set(&c->runscope.base_url, EF_RS_BASE);
  set(&c->runscope.token, EF_TOKEN);
  set(&c->xmatters.base_url, EF_XM_BASE);
  set(&c->xmatters.user, EF_XM_USER);
  set(&c->xmatters.password, EF_XM_PASSWORD);
  set(&c->xmatters.test_results_trigger_url, EF_TRIGGER_URL);
  ck_assert_int_eq(cfg_list_add(&c->xmatters.recipients, "api-oncall"), 0);
  ck_assert_int_eq(cfg_add_bucket(c, EF_BUCKET, &b), 0);
}

static inline void setup(void) {
  memset(&h, 0, sizeof(h));
  snprintf(h.dir, sizeof(h.dir), "/tmp/runscope-engine-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(h.dir));
  snprintf(h.state, sizeof(h.state), "%s/state.json", h.dir);
  snprintf(h.snapshot, sizeof(h.snapshot), "%s/snapshot.json", h.dir);
  make_cfg(&h.cfg);
  h.f.now = T0;
  h.f.state_file = h.state;
  ef_add_test(&h.f, TEST_ID, TEST_NAME, ENV_ID, ENV_NAME);
}

/* Removes the temporary directory and what the engine left in it. */
static inline void remove_dir(const char *path) {
  DIR *d = opendir(path);
  struct dirent *de;
  char file[512];
  while (d != NULL && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
    unlink(file);
  }
  if (d != NULL)
    closedir(d);
  rmdir(path);
}

static inline void teardown(void) {
  engine_free(h.e);
  cfg_fini(&h.cfg);
  ef_fini(&h.f);
  free(h.told.log);
  remove_dir(h.dir);
}

/* Creates the engine at now on the state file, with the fakes' seams. */
static inline void start(double now) {
  struct err err = {{0}};
  struct engine_sink sink = {&h.told, on_log, on_value, on_notify};
  if (!h.finished)
    ck_assert_msg(cfg_finish(&h.cfg, NULL, NULL, &err) == 0, "%s", err.msg);
  h.finished = true;
  h.f.now = now;
  h.e = engine_new(&h.cfg, &sink, HOST, now, &err);
  ck_assert_msg(h.e != NULL, "%s", err.msg);
  engine_set_transport(h.e, ef_transport, &h.f);
  engine_set_clock(h.e, ef_clock, ef_sleep, &h.f);
}

/* Frees the engine, which saves its state. */
static inline void stop(void) {
  engine_free(h.e);
  h.e = NULL;
}

/* One poll cycle at now; the monotonic clock keeps up with now. Every
 * request must be one the fakes know. */
static inline int cycle(double now) {
  size_t mark = h.f.n_reqs;
  h.f.now = now;
  if (h.f.mono < now - T0)
    h.f.mono = now - T0;
  int rc = engine_cycle(h.e, now);
  const struct ef_req *odd = ef_first(&h.f, EF_UNKNOWN, NULL, mark);
  ck_assert_msg(odd == NULL, "the fakes do not know %s %s", odd->method,
                odd->url);
  return rc;
}

static inline void cycle_ok(double now) { ck_assert_int_eq(cycle(now), 0); }

/* A run of the test in us1. */
static inline size_t run(const char *result, double started_at) {
  return ef_add_run(&h.f, 0, "us1", result, started_at);
}

/* Requests since request number from: triggers for KEY, lookups of KEY,
 * status changes (terminates) of any event. */
static inline size_t triggers(size_t from) {
  return ef_count(&h.f, EF_TRIGGER, KEY, from);
}

static inline size_t lookups(size_t from) {
  return ef_count(&h.f, EF_EVENTS, KEY, from);
}

static inline size_t terminates(size_t from) {
  return ef_count(&h.f, EF_STATUS, NULL, from);
}

/* A failing run at T0 - 30, paged at T0 and its event seen at T0 + 60.
 * Returns the event. */
static inline struct ef_event *page(void) {
  start(T0);
  run("fail", T0 - 30);
  cycle_ok(T0);
  cycle_ok(T0 + 60);
  ck_assert_uint_eq(triggers(0), 1);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  return &h.f.events[0];
}

static inline void assert_prop(json_object *props, const char *name,
                               const char *want) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(props, name, &v),
                "the trigger has no property %s", name);
  ck_assert_str_eq(json_object_get_string(v), want);
}

/* The trigger r carries the key's properties and names run_id. */
static inline void assert_trigger(const struct ef_req *r, const char *run_id) {
  ck_assert_ptr_nonnull(r);
  json_object *root = json_tokener_parse(r->body), *props = NULL;
  ck_assert_ptr_nonnull(root);
  ck_assert(json_object_object_get_ex(root, "properties", &props));
  assert_prop(props, "runscope_key", KEY);
  assert_prop(props, "test_id", TEST_ID);
  assert_prop(props, "test_name", TEST_NAME);
  assert_prop(props, "bucket_key", EF_BUCKET);
  assert_prop(props, "bucket_name", EF_BUCKET_NAME);
  assert_prop(props, "environment_id", ENV_ID);
  assert_prop(props, "environment_name", ENV_NAME);
  assert_prop(props, "test_run_id", run_id);
  assert_prop(props, "region", "us1");
  assert_prop(props, "assertions_failed", "2");
  assert_prop(props, "collectd_host", HOST);
  json_object_put(root);
}

/* Adds a test case with the harness's setup and teardown. */
static inline void add(Suite *s, const char *name, const TTest *fn, int rows) {
  unit_add_case(s, name, fn, rows, setup, teardown);
}

#endif
