/* SPDX-License-Identifier: MIT */
/* Live traffic alerts: local rules on captured-traffic errors, flood
 * control per rule, and the memory of what was read and alerted (the state
 * file's "traffic" section).
 *
 * Pure: no I/O, no clock. The engine reads a bucket's Errors stream, asks
 * tr_needs_detail whether a message's detail must be read, evaluates the
 * rules with tr_eval, lets tr_flood_match decide whether an event goes out
 * now or the match is held back, and flushes held-back matches with
 * tr_flood_due once a rule's window has closed.
 *
 * Read cursor and de-duplication, per bucket: the Errors stream is read
 * with since = the bucket's cursor (exclusive). Every message with a
 * timestamp after the cursor that was already handled is in the bucket's
 * set of seen uuids; the cursor trails the newest message handled by
 * TR_LATE seconds, so that a message that shows up in the stream late is
 * still read, and a seen uuid is forgotten once the cursor has passed its
 * timestamp (it cannot be listed again). The set is bounded: past
 * TR_SEEN_MAX the oldest entry is dropped and the cursor moves up to it. */
#ifndef RUNSCOPE_TRAFFIC_H
#define RUNSCOPE_TRAFFIC_H

#include "clients/runscope.h"
#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_RULE_MAX CFG_RULE_NAME_MAX /* a rule name, NUL included */
#define TR_SEEN_MAX 4096              /* message uuids remembered per bucket */
#define TR_LATE 120.0     /* seconds the cursor trails the newest message */
#define TR_FLUSH_UUID "-" /* `sending` of an event that reports only */

enum tr_verdict {
  TR_NO_MATCH = 0, /* a condition fails */
  TR_MATCH,        /* every condition holds */
  TR_UNKNOWN,      /* none fails, but one is on a field the message lacks */
};

/* Evaluates rule a on message m: Method (any of the list, compared
 * case-insensitively), Path and Host (a's compiled regexes, unanchored),
 * StatusMin/StatusMax (inclusive; a message without a response has no
 * status and fails a status condition). A condition on a field m does not
 * carry (see struct rs_message `have`) is unknown. a must have been through
 * cfg_finish (its regexes compiled). */
enum tr_verdict tr_eval(const struct cfg_alert *a, const struct rs_message *m);

/* True when some rule of b could match m only with fields that m lacks:
 * the message's detail must be read before deciding. */
bool tr_needs_detail(const struct cfg_bucket *b, const struct rs_message *m);

/* Copies into m the fields that detail carries and m lacks. */
void tr_merge(struct rs_message *m, const struct rs_message *detail);

/* Matches held back by flood control, reported by the next event. */
struct tr_held {
  long count;
  double first_at, last_at;  /* message times of the first and last */
  char last_uuid[RS_ID_MAX]; /* the last one's message uuid */
};

/* One rule's flood control, and (transient) its counters. */
struct tr_rule_state {
  char bucket_key[RS_ID_MAX];
  char rule[TR_RULE_MAX];
  double last_sent; /* when the rule's last event went out; 0: never */
  struct tr_held held;
  /* Write-ahead: the message uuid (TR_FLUSH_UUID for a report of held
   * matches) whose event is being sent; "" when none. Saved before the
   * trigger goes out and cleared after, so that a restart can tell that a
   * send was cut short. */
  char sending[RS_ID_MAX];
  /* Not saved: counted since the plugin started. */
  uint64_t matches, events, suppressed;
};

/* A message already handled, with its time. */
struct tr_seen {
  char uuid[RS_ID_MAX];
  double at;
};

/* One bucket's read cursor and seen set (sorted by uuid). */
struct tr_bucket_state {
  char bucket_key[RS_ID_MAX];
  double since;
  struct tr_seen *seen;
  size_t n_seen, cap_seen;
};

/* Everything traffic alerts remember. Entries are held by pointer: they
 * stay where they are while others are added. Owned: release with
 * tr_state_fini. */
struct tr_state {
  struct tr_bucket_state **buckets;
  size_t n_buckets, cap_buckets;
  struct tr_rule_state **rules;
  size_t n_rules, cap_rules;
};

void tr_state_init(struct tr_state *st);
void tr_state_fini(struct tr_state *st);

/* The bucket's entry, or NULL. */
struct tr_bucket_state *tr_bucket_find(struct tr_state *st,
                                       const char *bucket_key);

/* The bucket's entry, added with cursor `since` when absent. *ret is owned
 * by st. Returns 0, -ENOMEM or -ENAMETOOLONG. */
int tr_bucket_get(struct tr_state *st, const char *bucket_key, double since,
                  struct tr_bucket_state **ret);

/* The rule's entry, or NULL. */
struct tr_rule_state *tr_rule_find(struct tr_state *st, const char *bucket_key,
                                   const char *rule);

/* The rule's entry, added (empty) when absent. *ret is owned by st.
 * Returns 0, -ENOMEM or -ENAMETOOLONG. */
int tr_rule_get(struct tr_state *st, const char *bucket_key, const char *rule,
                struct tr_rule_state **ret);

/* Drops the buckets and rules that cfg no longer has rules for. Returns the
 * number of held-back matches dropped with them (for a log line). */
long tr_retain(struct tr_state *st, const struct cfg *cfg);

/* True when the message was handled already. */
bool tr_seen_has(const struct tr_bucket_state *b, const char *uuid);

/* Remembers a handled message (at: its time). At TR_SEEN_MAX the oldest
 * entry is dropped and the cursor moves up to its time. A message at or
 * before the cursor is not remembered (it cannot be listed again).
 * Returns 0, -ENOMEM or -ENAMETOOLONG. */
int tr_seen_add(struct tr_bucket_state *b, const char *uuid, double at);

/* After handling the messages up to newest_at: moves the cursor to
 * newest_at - TR_LATE (never back) and forgets the seen messages at or
 * before it. */
void tr_cursor_advance(struct tr_bucket_state *b, double newest_at);

enum tr_decision {
  TR_SEND, /* an event goes out now */
  TR_HOLD, /* held back: counted in the rule's held matches */
};

/* A match of the message (uuid, at) at time now, for a rule with flood
 * control interval (seconds; 0: off). TR_SEND when the rule's window is
 * closed: the held matches move to *ret_report (for the event to report)
 * and the window restarts at now. TR_HOLD when an event went out less than
 * interval ago: the match joins the held ones. */
enum tr_decision tr_flood_match(struct tr_rule_state *r, double interval,
                                double now, const char *uuid, double at,
                                struct tr_held *ret_report);

/* Adds one match to the held ones. */
void tr_flood_hold(struct tr_rule_state *r, const char *uuid, double at);

/* True when the window has closed with matches held back: an event must
 * report them now, even without a new match. They move to *ret_report and
 * the window restarts at now. */
bool tr_flood_due(struct tr_rule_state *r, double interval, double now,
                  struct tr_held *ret_report);

#endif
