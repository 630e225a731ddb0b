/* SPDX-License-Identifier: MIT */
/* Which tests may have news: the plugin's request economy, decided.
 *
 * Pure: no I/O, no clock. Every cycle the engine reads the paged tests list
 * (whose items carry each test's last_run where the API gives it) and asks
 * due_check, test by test, whether the test's results must be read. A test
 * is read when
 *   - it is seen for the first time (the first cycle, or a test that
 *     appears), unless the list shows that nothing can be new: it never
 *     ran, its last run is the one the state file's cursor says was read
 *     (a restart), older than that cursor, or, without a cursor, older
 *     than MaxCatchUp;
 *   - its last_run changed since its results were last read;
 *   - the last read left an unfinished run (the cursor holds below it), or
 *     the engine holds runs of it back (forward mode);
 *   - the API gives no last_run and one of its schedules (of a selected
 *     environment) says a run is due: from one interval after that
 *     environment's newest run, for a short window;
 *   - its results have not been read for MaxResultAge, so that manual and
 *     triggered runs are never missed for longer.
 * The engine reads the due tests in the order of due_before, and reports
 * each read with due_read (or a first sighting found up to date with
 * due_skip). A test whose read did not happen stays due. */
#ifndef RUNSCOPE_DUE_H
#define RUNSCOPE_DUE_H

#include "clients/runscope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds before the state file's cursor within which a last_run still
 * counts as possibly unread on a first sighting: the list's created time
 * and the results' start time of one run need not be equal. */
#define DUE_CURSOR_SLACK 60.0

/* Why a test's results are read (DUE_NO: they are not). */
enum due_reason {
  DUE_NO = 0,
  DUE_PENDING,  /* an unfinished run, or runs held back (forward mode) */
  DUE_CHANGED,  /* the list's last_run changed */
  DUE_NEW,      /* first sighting: nothing known yet */
  DUE_SCHEDULE, /* no last_run: a schedule says a run is due */
  DUE_MAX_AGE,  /* not read for MaxResultAge */
};

/* What the engine remembers of one test between cycles (memory only). A
 * zeroed struct is a test never seen. */
struct due_test {
  bool known;   /* seen (read or skipped) before */
  bool pending; /* the last read left an unfinished run */
  uint64_t run; /* the list's last_run when last read (due_run_digest) */
  double run_at;
  double read_at; /* when the results were last read (or found current) */
};

/* A schedule of a selected environment of the test. */
struct due_schedule {
  double interval;   /* seconds; 0 when not understood (ignored) */
  double last_start; /* start of that environment's newest run, 0: none */
};

/* What this cycle knows of the test. Pointers are borrowed. */
struct due_input {
  bool listed;         /* the tests list gave the test in this cycle */
  bool last_run_known; /* ... with a last_run member (null: never ran) */
  uint64_t last_run;   /* due_run_digest of its id; 0: none */
  double last_run_at;  /* 0 when the list gave no time */
  const struct due_schedule *schedules;
  size_t n_schedules;
  double cursor; /* the results cursor of the state file; 0: none */
  /* the cursor's digest of the last_run its read covered; 0: none */
  uint64_t cursor_run;
  bool held; /* the engine holds runs of the test back */
};

struct due_opts {
  double max_result_age; /* MaxResultAge */
  double max_catch_up;   /* MaxCatchUp: how far back a first read looks */
  double interval;       /* the poll interval (the schedules' window) */
};

/* Whether and why the test's results must be read at now. */
enum due_reason due_check(const struct due_test *t, const struct due_input *in,
                          const struct due_opts *o, double now);

/* A digest of a last_run id (hash_str), never 0; 0 for "" or NULL.
 * What the due memory and the state file's cursors keep of the id. */
uint64_t due_run_digest(const char *id);

/* The test's results were read at now: remembers the list's last_run (the
 * read covered it) and whether an unfinished run is pending. */
void due_read(struct due_test *t, const struct due_input *in, bool pending,
              double now);

/* A first sighting that due_check found current (DUE_NO): remembers the
 * list's last_run as read at now. */
void due_skip(struct due_test *t, const struct due_input *in, double now);

/* True when runs[0..n) holds a run that is not finished and started at
 * most max_unfinished_age before now (the cursor holds below it: see
 * rec_cursor_next). */
bool due_pending(const struct rs_run *runs, size_t n, double now,
                 double max_unfinished_age);

/* True when a test due for reason a (last read at read_a) goes before one
 * due for b (read at read_b): known news first (pending, changed), then new
 * tests, schedules, and the oldest read first within a reason. */
bool due_before(enum due_reason a, double read_a, enum due_reason b,
                double read_b);

/* The reason's name, for logs and values ("pending", "changed", ...). */
const char *due_reason_name(enum due_reason r);

#endif
