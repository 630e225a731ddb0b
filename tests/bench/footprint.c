/* SPDX-License-Identifier: MIT */
/* make bench: the plugin's own heap per test. The engine (build/libcore.a)
 * runs a few cycles over the transport seam against T generated tests in
 * buckets of at most 500, each with one environment, one schedule and a
 * passing run in the last hour, as in the benchmark's fake; the heap in use
 * (mallinfo2: arenas and mapped blocks) after the cycles, less that of the same
 * engine with no test, divided by T, is what the plugin's data costs per test:
 * catalog, state, due bookkeeping and whatever the reads leave behind.
 * collectd's value cache and the shared libraries are not in it.
 *
 * Usage: footprint [--json] T...   (prints one line or object per T) */
#include "config/config.h"
#include "engine/engine.h"
#include "util/buf.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PER_BUCKET 500
#define NOW 1700000000.0
#define CYCLES 3

#define PAGES_MAX 4096
#define PAGE 50 /* tests a page of the plugin's tests lists */

struct world {
  long tests;
  double now;
  size_t requests;
  char *pages[PAGES_MAX]; /* the tests lists' pages, made once */
};

static const double SCHEDULES[] = {300, 900, 3600, 21600};

static double sched_of(long i) { return SCHEDULES[i % 4]; }
/* The start of test i's last run (no run starts while the program runs). */
static double last_run_of(const struct world *w, long i) {
  (void)w;
  return NOW - 60 - (double)(i % 97) * sched_of(i) / 97.0;
}

static long n_buckets(const struct world *w) {
  return (w->tests + PER_BUCKET - 1) / PER_BUCKET;
}

static long param(const char *url, const char *name, long dflt) {
  const char *p = strstr(url, name);
  return p ? strtol(p + strlen(name), NULL, 10) : dflt;
}

static void put_buckets(const struct world *w, struct buf *b) {
  buf_puts(b, "{\"data\":[");
  for (long i = 0; i < n_buckets(w); i++)
    buf_printf(b, "%s{\"key\":\"bkt%04ld\",\"name\":\"Bucket %ld\"}",
               i ? "," : "", i, i);
  buf_puts(b, "],\"meta\":{\"status\":\"success\"},\"error\":null}");
}

static void put_tests(const struct world *w, long bucket, const char *url,
                      struct buf *b) {
  long count = param(url, "count=", 10), offset = param(url, "offset=", 0);
  long first = bucket * PER_BUCKET, end = first + PER_BUCKET;
  if (end > w->tests)
    end = w->tests;
  buf_puts(b, "{\"data\":[");
  for (long i = first + offset; i < end && i < first + offset + count; i++)
    buf_printf(b,
               "%s{\"id\":\"%08lx-5c3b-4e2a-9d1f-a0b1c2d3e4f5\",\"name\":"
               "\"Checkout flow %ld\",\"default_environment_id\":\"env-%ld\","
               "\"created_at\":1500000000,\"last_run\":{\"id\":\"run-%ld\","
               "\"created_at\":%.3f,\"status\":\"completed\"}}",
               i > first + offset ? "," : "", i, i, i, i, last_run_of(w, i));
  buf_puts(b, "],\"meta\":{\"status\":\"success\"},\"error\":null}");
}

static void put_detail(long i, struct buf *b) {
  buf_printf(
      b,
      "{\"data\":{\"id\":\"%08lx-5c3b-4e2a-9d1f-a0b1c2d3e4f5\",\"name\":"
      "\"Checkout flow %ld\",\"trigger_url\":\"https://api.runscope.com/"
      "radar/%08lx-trig/trigger\",\"default_environment_id\":\"env-%ld\","
      "\"environments\":[{\"id\":\"env-%ld\",\"name\":\"Production\"}],"
      "\"schedules\":[{\"environment_id\":\"env-%ld\",\"interval\":"
      "\"%.0fm\"}]},\"meta\":{\"status\":\"success\"},\"error\":null}",
      i, i, i, i, i, i, sched_of(i) / 60);
}

static void put_results(const struct world *w, long i, struct buf *b) {
  double at = last_run_of(w, i);
  buf_printf(b,
             "{\"data\":[{\"test_run_id\":\"run-%ld\",\"test_id\":\"%08lx-5c3b-"
             "4e2a-9d1f-a0b1c2d3e4f5\",\"bucket_key\":\"bkt%04ld\","
             "\"environment_id\":\"env-%ld\",\"environment_name\":"
             "\"Production\",\"region\":\"us1\",\"agent\":null,\"result\":"
             "\"pass\",\"started_at\":%.3f,\"finished_at\":%.3f,"
             "\"assertions_defined\":3,\"assertions_passed\":3,"
             "\"assertions_failed\":0,\"requests_executed\":2}],\"meta\":"
             "{\"status\":\"success\"},\"error\":null}",
             i, i, i / PER_BUCKET, i, at, at + 2);
}

/* Makes every page of the tests lists (PAGE tests, and the short page
 * after each bucket's last) before the engine starts. */
static void make_pages(struct world *w) {
  char url[128];
  for (long b = 0; b < n_buckets(w); b++)
    for (long off = 0; off <= PER_BUCKET; off += PAGE) {
      size_t page = (size_t)(b * (PER_BUCKET / PAGE + 1) + off / PAGE);
      struct buf body;
      buf_init(&body, 1u << 24);
      snprintf(url, sizeof(url), "x?count=%d&offset=%ld", PAGE, off);
      put_tests(w, b, url, &body);
      if (page < PAGES_MAX && w->pages[page] == NULL)
        w->pages[page] = buf_detach(&body);
      buf_fini(&body);
    }
}

/* Runscope's answers from the path: /buckets, /buckets/K/tests,
 * /buckets/K/tests/ID, /buckets/K/tests/ID/results; xMatters' event
 * searches find nothing. */
static int transport(void *ctx, const struct http_request *req,
                     struct http_response *resp, struct err *err) {
  (void)err;
  struct world *w = ctx;
  const char *path = strstr(req->url, "//");
  path = path ? strchr(path + 2, '/') : NULL;
  long bucket = -1, test = -1;
  char rest[64] = "";
  w->requests++;
  resp->status = 200;
  buf_reset(&resp->body);
  if (path == NULL || strncmp(path, "/api/xm/", 8) == 0)
    return buf_puts(&resp->body, "{\"count\":0,\"total\":0,\"data\":[]}");
  if (strncmp(path, "/buckets?", 9) == 0 || strcmp(path, "/buckets") == 0) {
    put_buckets(w, &resp->body);
    return 0;
  }
  if (sscanf(path, "/buckets/bkt%ld/tests/%lx-%*[^/]/%63[a-z]", &bucket, &test,
             rest) >= 2) {
    if (strcmp(rest, "results") == 0)
      put_results(w, test, &resp->body);
    else
      put_detail(test, &resp->body);
  } else if (sscanf(path, "/buckets/bkt%ld/%63[a-z]", &bucket, rest) == 2) {
    /* made before: neither the fake's printf nor its memory is measured */
    long count = param(req->url, "count=", 10);
    size_t page = (size_t)(bucket * (PER_BUCKET / PAGE + 1) +
                           param(req->url, "offset=", 0) / PAGE);
    if (count == PAGE && page < PAGES_MAX && w->pages[page] != NULL)
      return buf_puts(&resp->body, w->pages[page]);
    put_tests(w, bucket, req->url, &resp->body);
  } else {
    resp->status = 404;
  }
  return 0;
}

static void sink_log(void *ctx, enum engine_log_level level, const char *msg) {
  (void)ctx;
  if (level <= ENGINE_LOG_WARNING)
    fprintf(stderr, "footprint: %s\n", msg);
}
static void sink_value(void *ctx, const struct engine_value *v) {
  (*(size_t *)ctx)++;
  (void)v;
}
static void sink_notify(void *ctx, const struct engine_notification *n) {
  (void)ctx;
  (void)n;
}

static int make_cfg(struct cfg *c, const char *state) {
  cfg_init(c);
  c->interval = 10;
  c->max_requests_per_second = 0;
  struct err err = {{0}};
  if (cfg_set_string(&c->state_file, state) != 0 ||
      cfg_set_string(&c->runscope.base_url, "http://127.0.0.1:1") != 0 ||
      cfg_set_string(&c->runscope.token, "token") != 0 ||
      cfg_set_string(&c->xmatters.base_url, "http://127.0.0.1:2") != 0 ||
      cfg_set_string(&c->xmatters.user, "runscope") != 0 ||
      cfg_set_string(&c->xmatters.password, "pw") != 0 ||
      cfg_set_string(&c->xmatters.test_results_trigger_url,
                     "http://127.0.0.1:2/api/integration/1/functions/f/"
                     "triggers?apiKey=k") != 0 ||
      cfg_list_add(&c->xmatters.recipients, "oncall") != 0)
    return -ENOMEM;
  if (cfg_finish(c, NULL, NULL, &err) != 0) {
    fprintf(stderr, "footprint: %s\n", err.msg);
    return -EINVAL;
  }
  return 0;
}

struct figures {
  size_t heap;     /* bytes in use after the cycles */
  size_t values;   /* values dispatched in the last cycle */
  size_t requests; /* of the first cycle */
  double idle_ms;  /* CPU per quiet cycle (IDLE of them), in ms */
};

/* Quiet cycles timed after the first CYCLES. */
#define IDLE 20

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The bytes malloc has handed out: from its arenas, and the large blocks
 * it maps one by one (an array of 128 KiB or more, such as a bucket's
 * tests, is one of those until glibc raises its threshold). */
static size_t heap_in_use(struct mallinfo2 m) { return m.uordblks + m.hblkhd; }

/* Runs CYCLES cycles of an engine over T tests; fills *f. */
static int measure(long tests, struct figures *f) {
  char dir[] = "/tmp/runscope-footprint-XXXXXX", state[64];
  if (mkdtemp(dir) == NULL)
    return -errno;
  snprintf(state, sizeof(state), "%s/state.json", dir);
  struct world w = {.tests = tests, .now = NOW};
  struct cfg cfg;
  size_t values = 0;
  struct engine_sink sink = {&values, sink_log, sink_value, sink_notify};
  struct err err = {{0}};
  int rc = make_cfg(&cfg, state);
  make_pages(&w);
  struct mallinfo2 m0 = mallinfo2();
  struct engine *e = rc ? NULL : engine_new(&cfg, &sink, "bench", NOW, &err);
  if (e != NULL) {
    engine_set_transport(e, transport, &w);
    for (int i = 0; i < CYCLES; i++) {
      values = 0;
      w.now = NOW + 10 * i;
      engine_cycle(e, w.now);
      if (i == 0)
        f->requests = w.requests;
    }
    f->values = values;
    f->heap = heap_in_use(mallinfo2()) - heap_in_use(m0);
    double c0 = cpu_s();
    for (int i = 0; i < IDLE; i++)
      engine_cycle(e, w.now += 10);
    f->idle_ms = (cpu_s() - c0) * 1e3 / IDLE;
  }
  engine_free(e);
  cfg_fini(&cfg);
  for (size_t i = 0; i < PAGES_MAX; i++)
    free(w.pages[i]);
  unlink(state);
  rmdir(dir);
  return e ? 0 : -ENOMEM;
}

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  curl_global_init(CURL_GLOBAL_ALL);
  struct figures zero = {0};
  if (measure(0, &zero) != 0)
    return 1;
  for (int i = 1 + json; i < argc; i++) {
    long t = strtol(argv[i], NULL, 10);
    struct figures f = {0};
    if (t <= 0 || measure(t, &f) != 0)
      return 1;
    double per = ((double)f.heap - (double)zero.heap) / (double)t;
    if (json)
      printf("{\"tests\": %ld, \"heap_bytes\": %zu, \"base_heap_bytes\": %zu, "
             "\"heap_per_test\": %.0f, \"values_per_cycle\": %zu, "
             "\"engine_idle_ms\": %.2f}\n",
             t, f.heap, zero.heap, per, f.values, f.idle_ms);
    else
      printf("T=%ld: the plugin's heap %.1f KiB (%.0f bytes per test), "
             "%zu values in a quiet cycle, %.2f ms of CPU per quiet cycle "
             "(the engine alone)\n",
             t, (double)f.heap / 1024, per, f.values, f.idle_ms);
  }
  curl_global_cleanup();
  return 0;
}
