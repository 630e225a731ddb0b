/* SPDX-License-Identifier: MIT */
/* The state store: the reconciler's memory, saved to and loaded from a file.
 *
 * The file is JSON:
 *   {"format": "collectd-runscope-state", "version": 1,
 *    "runscope_answered_at", "xmatters_answered_at", "etcd_answered_at",
 *    "keys": [{"key", "bucket_key", "test_id", "environment_id",
 *              "environment_name" (when known),
 *              "locations": [{"location", "test_run_id", "failed",
 *                             "started_at", "finished_at",
 *                             "assertions_failed", "scripts_failed",
 *                             "variables_failed", "requests_executed",
 *                             "streak"}],
 *              "event": "none" | "requested" | "active", "event_ids": [...],
 *              "request_id", "request_confirmed", "requested_at",
 *              "alerted_through", "checked_at", "notified_failing",
 *              "verdicts", "n_verdicts", "flapping", "flap_announced",
 *              "flap_paged", "failing_since", "maintenance",
 *              "last_maintenance", "maintenance_started",
 *              "maintenance_ended", "event_since"}],
 *    "cursors": [{"bucket_key", "test_id", "since", "last_run"}],
 *    "forward": [{"bucket_key", "test_id", "through", "through_id",
 *                 "delivered": [...], "sending", "sending_at"}]}
 * "forward" (forward mode's delivery memory, forward.h) is written only when
 * it has entries; a file without it loads with none. So are
 *    "traffic_buckets": [{"bucket_key", "since",
 *                         "seen": [{"uuid", "at"}]}],
 *    "traffic_rules": [{"bucket_key", "rule", "last_sent", "held",
 *                       "first_held_at", "last_held_at", "last_held_uuid",
 *                       "sending"}]
 * (traffic alerts' read cursors, seen messages and flood control,
 * traffic.h; a rule's counters are not saved). Their required fields are
 * bucket_key and since; uuid and at; bucket_key and rule. The same bucket,
 * seen uuid or rule twice, more than TR_SEEN_MAX seen messages, or a
 * negative held count make the file corrupt.
 * "responses" (responses.h: for each event of the plugin, the responses
 * handled, its rerun and its latest acknowledgement) is written only when
 * it has entries; a file without it loads with none:
 *   [{"event_id", "key", "seen": [{"id": 16 hex digits, "received"}],
 *     "seen_through", "reruns", "rerun": "none" | "pending" | "sending" |
 *     "awaiting" | "terminating", "rerun_by", "rerun_location",
 *     "rerun_asked_at", "rerun_sent_at", "rerun_runs": [...],
 *     "acknowledged_by", "acknowledged_at", "held_at"}]
 * Of a response record only event_id is required; the same event_id twice,
 * more seen responses or runs than fit, or an unknown rerun state make the
 * file corrupt.
 * The three "..._answered_at" (when each API last answered a call of a
 * cycle; etcd's in a cluster) and the fields of a key from "verdicts" on
 * are written only when not zero; a file without them loads them as zero.
 * Every field of struct rec_key but the transient looked_up, news,
 * values_sent and run_gap is saved. Times
 * are written with the fewest digits that read back as the same double
 * (a NaN or infinity, which JSON cannot hold, as null).
 *
 * Reading is strict about what it needs and liberal about the rest: format,
 * version, and the identity of every key (bucket_key, test_id,
 * environment_id), cursor (bucket_key, test_id, since) and forward entry
 * (bucket_key, test_id, through) are required;
 * other fields may be absent (zero value) and unknown fields are ignored, so
 * a later writer of version 1 may add fields. A field of the wrong type, a
 * string too long for its field, more locations, events or delivered ids
 * than fit, an unknown event state, a "key" that does not match its parts,
 * or the same key, cursor or forward entry twice make the file corrupt. Entries
 * may come in any order; the loaded arrays are sorted as the reconciler
 * expects.
 *
 * Each field above is one row of a field table in state_json.c, written and
 * read by the same code (fields.h); state_file.c holds the file handling. */
#ifndef RUNSCOPE_STATE_H
#define RUNSCOPE_STATE_H

#include "core/reconcile.h"
#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

#define STATE_FORMAT "collectd-runscope-state"
#define STATE_VERSION 1
#define STATE_FILE_MAX (256u << 20) /* a larger file is not read: -EFBIG */

/* Loads the file at path into *st, which the caller initialised with
 * rec_state_init; on any error *st is left empty (rec_state_fini'ed).
 * max_json_depth bounds the nesting of the file's JSON as json-c counts it
 * (a state file needs at least 6; <= 0 means json-c's default, 32).
 * Returns
 *   0         loaded; the caller releases *st with rec_state_fini;
 *   -ENOENT   there is no file (a first start);
 *   -EBADMSG  the file is corrupt or of an unknown version: it was renamed
 *             aside to "<path>.corrupt-<now as an integer>" (err says why
 *             and where it went, or why it could not be moved); never fatal,
 *             the caller starts empty;
 *   -EFBIG    the file is larger than STATE_FILE_MAX (left in place);
 *   another negative errno when it cannot be read (-EACCES, -EISDIR, -EIO,
 *             -ENOMEM), err naming the step and the path. */
int state_load(const char *path, double now, int max_json_depth,
               struct rec_state *st, struct err *err);

/* Saves *st to path atomically: writes "<path>.tmp-XXXXXX" (mkstemp, mode
 * 0600) in the same directory, fsyncs it, renames it over path and fsyncs the
 * directory. Creates no directory: a missing one is an error that says so.
 * Returns 0 or a negative errno with err naming the step and the file
 * ("state: fsync /var/lib/.../state.json.tmp-ab12cd: No space left on
 * device"). On failure the temp file is removed and the old file is intact,
 * except when only the final directory fsync fails: the new file is then in
 * place but may not survive a crash. */
int state_save(const char *path, const struct rec_state *st, struct err *err);

/* Appends the JSON text of *st and a newline to out (bounded by out's
 * maximum; out is unchanged on error). A number that is not finite is written
 * as null, as JSON has no NaN. Returns 0, -EINVAL when *st is not valid (more
 * locations or events than fit, an unknown event state), -EMSGSIZE or
 * -ENOMEM. */
int state_to_json(const struct rec_state *st, struct buf *out);

/* A digest of *st (fld_digest: the values state_to_json would write, as
 * their bytes, without making the text, which was most of an idle cycle's
 * time), leaving out the times the APIs last answered, which move every
 * cycle: equal states give equal digests and states whose texts differ
 * different ones, so a save can be skipped when the digest is that of the
 * last save. Returns 0, or -EINVAL where state_to_json fails so. */
int state_digest(const struct rec_state *st, uint64_t *ret);

/* Parses text[0..len) into *st (initialised by the caller; left empty on
 * error). Returns 0, -EBADMSG when the text is not a valid state of a known
 * version (err says what is wrong and where, e.g. "keys[2].locations[0]
 * .test_run_id: too long"), or -ENOMEM. */
int state_from_json(const char *text, size_t len, int max_json_depth,
                    struct rec_state *st, struct err *err);

#endif
