/* SPDX-License-Identifier: MIT */
/* runscopectl: the window files of the MaintenanceDir, read with the
 * plugin's own reader (cfg_window_from_json), written atomically. */
#ifndef RUNSCOPE_CLI_CTL_WINDOWS_H
#define RUNSCOPE_CLI_CTL_WINDOWS_H

#include "config/window.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>

/* One "*.json" file of the directory. */
struct ctl_wfile {
  char *file; /* its name in the directory */
  bool bad;   /* unreadable or not a window; why says so */
  char why[ERR_MSG_MAX];
  struct cfg_window w; /* when !bad */
};

struct ctl_wfiles {
  struct ctl_wfile *v; /* sorted by file name */
  size_t n;
};

/* Reads every "*.json" file of dir (not those starting with '.': the
 * temporary files of a write) as the plugin does, at time now. A bad file
 * is listed as bad, never an error. Returns 0, or a negative errno with
 * err saying why dir cannot be listed. Release *ret with
 * ctl_wfiles_fini, also on error. */
int ctl_wfiles_load(const char *dir, double now, struct ctl_wfiles *ret,
                    struct err *err);
void ctl_wfiles_fini(struct ctl_wfiles *l);

/* "active", "future" or "expired" (a weekly window: "weekly, open" or
 * "weekly, closed") at now. */
const char *ctl_window_state(const struct cfg_window *w, double now);

/* What `runscopectl silence` writes. Selectors may be NULL (any). */
struct ctl_silence {
  const char *name;
  const char *bucket, *test, *environment;
  double start, end;
  const char *reason; /* NULL: none */
};

/* Appends the window file's JSON text for s to out. Returns 0 or a
 * negative errno of the buffer. */
int ctl_silence_json(const struct ctl_silence *s, struct buf *out);

/* Writes text as "<dir>/<name>.json" atomically: a temporary file (mode
 * 0644) in dir, fsynced, renamed without replacing. Returns 0, -EEXIST
 * when a window of that name exists (nothing written), or another
 * negative errno with err naming the step, the file and the fix. */
int ctl_window_create(const char *dir, const char *name, const struct buf *text,
                      struct err *err);

/* Removes the window file of window or file name name from dir (name,
 * name.json, or the file whose "name" is name). Returns 0, -ENOENT when
 * there is none, or another negative errno with err saying why. On
 * success *ret_file (size bytes) holds the file removed. */
int ctl_window_remove(const char *dir, const char *name, double now,
                      char *ret_file, size_t size, struct err *err);

#endif
