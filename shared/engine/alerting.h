/* SPDX-License-Identifier: MIT */
/* The alert semantics' service: the thresholds and flap options handed to
 * the reconciler, and the maintenance windows that apply to each key
 * (<Maintenance> blocks and the files of MaintenanceDir, read every
 * cycle). */
#ifndef RUNSCOPE_ALERTING_H
#define RUNSCOPE_ALERTING_H

#include "config/config.h"
#include "config/window.h"
#include "core/reconcile.h"

#include <stdbool.h>
#include <stddef.h>

struct engine;

/* A MaintenanceDir file that could not be read as a window, logged once
 * (again when it changes). */
struct alerting_bad_file {
  char name[256];
  double mtime;
};

/* What the service keeps across cycles. Zeroed memory is empty. */
struct alerting {
  struct rec_bucket_opts *buckets; /* the <Bucket> thresholds */
  size_t n_buckets;
  struct cfg_window *files; /* MaintenanceDir's windows of this cycle */
  size_t n_files;
  struct alerting_bad_file *bad; /* files logged as bad */
  size_t n_bad;
  bool dir_complained; /* MaintenanceDir could not be read: logged */
};

/* The thresholds and the flap options of c into *o (the other fields of
 * *o stay), with the <Bucket> thresholds in *ret_buckets (the caller
 * frees it; it borrows c's bucket keys), which o->buckets points to.
 * Returns 0 or -ENOMEM. */
int alerting_rec_opts(const struct cfg *c, struct rec_opts *o,
                      struct rec_bucket_opts **ret_buckets);

/* Hands the thresholds and the flap options of the config to the
 * reconciler's options (alerting_rec_opts). Returns 0 or -ENOMEM. */
int alerting_init(struct engine *e);
void alerting_fini(struct engine *e);

/* Reads MaintenanceDir and tells every key which window applies to it at
 * now (rec_set_maintenance), logging the keys that enter and leave one. */
void alerting_mark(struct engine *e, double now);

#endif
