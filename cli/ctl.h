/* SPDX-License-Identifier: MIT */
/* runscopectl: what its commands share (exit codes, paths, small helpers). */
#ifndef RUNSCOPE_CLI_CTL_H
#define RUNSCOPE_CLI_CTL_H

#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Exit codes (runscopectl(1), EXIT STATUS). */
#define CTL_OK 0
#define CTL_FAIL 1   /* the command failed: a file missing or unwritable */
#define CTL_USAGE 2  /* bad arguments */
#define CTL_CONFIG 3 /* the configuration lacks what the command needs */
#define CTL_ETCD 4   /* the cluster's etcd could not be asked */

/* Where the plugin keeps its files, from the options or the config. */
struct ctl_paths {
  const char *conf;       /* the collectd config read, or NULL */
  const char *state_file; /* never NULL after ctl_conf_paths */
  const char *maint_dir;  /* NULL: MaintenanceDir is not set */
};

/* The options of the command line; given says which were given. */
enum ctl_opt {
  CTL_OPT_JSON = 1 << 0,
  CTL_OPT_BUCKET = 1 << 1,
  CTL_OPT_TEST = 1 << 2,
  CTL_OPT_ENVIRONMENT = 1 << 3,
  CTL_OPT_FOR = 1 << 4,
  CTL_OPT_UNTIL = 1 << 5,
  CTL_OPT_START = 1 << 6,
  CTL_OPT_REASON = 1 << 7,
  CTL_OPT_NAME = 1 << 8,
};

struct ctl_args {
  const char *conf, *state_file, *maint_dir; /* -c, -s, -m */
  const char *bucket, *test, *environment;
  const char *for_, *until, *start, *reason, *name;
  unsigned given;        /* enum ctl_opt bits */
  char *const *operands; /* after the command's name */
  size_t n_operands;
};

/* Reads the regular file at path into out (bounded by max bytes, else
 * -EFBIG). Returns 0 or a negative errno with err naming the step and the
 * file ("open /x: Permission denied"). */
int ctl_read_file(const char *path, size_t max, struct buf *out,
                  struct err *err);

/* Reads a duration such as "90s", "30m", "2h", "1d" or "1h30m" into
 * seconds. Returns 0 or -EINVAL. */
int ctl_parse_duration(const char *s, double *ret);

/* True when name is usable as a silence name and file name: 1 to 100
 * characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'. */
bool ctl_name_ok(const char *name);

/* "2026-12-07T06:45:00Z" for t, or "-" when there is no time. */
const char *ctl_time_text(double t, char out[32]);

/* A duration for people: "42 s", "17 min", "3 h 5 min", "2 d 4 h" (a
 * negative one, from a clock that went back, as "0 s"). */
const char *ctl_age_text(double seconds, char out[32]);

/* Writes out's text to stdout. Returns CTL_OK, or CTL_FAIL with a message
 * on stderr when the write failed. */
int ctl_print_buf(const struct buf *out);

/* Prints "runscopectl: <msg>" on stderr and returns code. */
int ctl_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
