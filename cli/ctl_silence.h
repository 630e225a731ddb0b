/* SPDX-License-Identifier: MIT */
/* runscopectl silence, silences and unsilence: window files in the
 * MaintenanceDir. */
#ifndef RUNSCOPE_CLI_CTL_SILENCE_H
#define RUNSCOPE_CLI_CTL_SILENCE_H

#include "ctl.h"

/* Each returns an exit code (ctl.h) with a message on stderr on failure;
 * dir is the MaintenanceDir (checked to be a directory by the caller), now
 * the time. */

/* Writes the window a->bucket, test, environment, start (default now)
 * until a->until or for a->for_, with a->reason, named a->name or after
 * the bucket and the time; prints its name. */
int ctl_cmd_silence(const struct ctl_args *a, const char *dir, double now);

/* Lists the window files: name, state (active, future, expired, bad),
 * times, selectors and reason; a->given & CTL_OPT_JSON for JSON. */
int ctl_cmd_silences(const struct ctl_args *a, const char *dir, double now);

/* Removes the window files named by a->operands; prints each file
 * removed. */
int ctl_cmd_unsilence(const struct ctl_args *a, const char *dir, double now);

#endif
