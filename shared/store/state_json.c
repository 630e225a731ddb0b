/* SPDX-License-Identifier: MIT */
/* The state file's JSON: a field table per record, and its text functions. */
#include "store/state_json.h"

#include "core/responses.h"
#include "store/fields.h"
#include "store/state.h"
#include "util/hash.h"
#include "util/str.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const ev_names[] = {
    [REC_EV_NONE] = "none",
    [REC_EV_REQUESTED] = "requested",
    [REC_EV_ACTIVE] = "active",
};

static const char *const rerun_names[] = {
    [RESP_RERUN_NONE] = "none",
    [RESP_RERUN_PENDING] = "pending",
    [RESP_RERUN_SENDING] = "sending",
    [RESP_RERUN_AWAITING] = "awaiting",
    [RESP_RERUN_TERMINATING] = "terminating",
};

static int no_memory(const char *where, struct err *err) {
  err_set(err, "%s: out of memory", where);
  return -ENOMEM;
}

/* An entry point of the reconciler's state refused an entry: out of memory,
 * or (rc) what it says. */
static int rejected(int rc, const char *where, struct err *err) {
  if (rc == -ENOMEM)
    return no_memory(where, err);
  return fld_bad(err, where, "", "rejected: %s", err_errno_text(-rc));
}

/* ---- keys: "keys": [{..., "locations": [...]}] ---- */

static int loc_add(void *parent, void *elem, const char *where,
                   struct err *err) {
  struct rec_run *l = rec_key_add_loc(parent);
  if (l == NULL)
    return no_memory(where, err);
  *l = *(const struct rec_run *)elem;
  return 0;
}

static const struct fld_field run_fields[] = {
    FLD_STRP("location", struct rec_run, location, REC_LOCATION_MAX, 0),
    FLD_STRP("test_run_id", struct rec_run, test_run_id, RS_ID_MAX, 0),
    FLD_BOOL("failed", struct rec_run, failed, 0),
    FLD_NUM("started_at", struct rec_run, started_at, 0),
    FLD_NUM("finished_at", struct rec_run, finished_at, 0),
    FLD_LONG("assertions_failed", struct rec_run, assertions_failed, 0),
    FLD_LONG("scripts_failed", struct rec_run, scripts_failed, 0),
    FLD_LONG("variables_failed", struct rec_run, variables_failed, 0),
    FLD_LONG("requests_executed", struct rec_run, requests_executed, 0),
    FLD_UINT("streak", struct rec_run, streak, REC_STREAK_MAX, FLD_OMIT_ZERO),
};
static void run_fini(void *rec) {
  struct rec_run *l = rec;
  free(l->location);
  free(l->test_run_id);
}

static const struct fld_record run_record =
    FLD_RECORD(struct rec_run, run_fields, NULL, run_fini);

/* The key its parts make, which must match "key" when the file gives it. */
static int key_check(void *rec, const char *where, struct err *err) {
  struct rec_key *k = rec;
  char made[REC_KEY_MAX];
  if (rec_make_key(made, sizeof(made), str_or_empty(k->bucket_key),
                   str_or_empty(k->test_id),
                   str_or_empty(k->environment_id)) != 0)
    return fld_bad(err, where, "key", "too long");
  if (k->key != NULL && strcmp(k->key, made) != 0)
    return fld_bad(err, where, "key", "\"%s\" does not match its parts \"%s\"",
                   k->key, made);
  return str_set(&k->key, made, 0) == 0 ? 0 : no_memory(where, err);
}

/* A key as read, whose ids are strings of their own (a state's key holds
 * them in its key's block, rec_key_get). */
static void key_fini(void *rec) {
  struct rec_key *k = rec;
  free(k->bucket_key);
  free(k->test_id);
  free(k->environment_id);
  k->bucket_key = k->test_id = k->environment_id = NULL;
  rec_key_fini(k);
}

/* A fresh entry, without locations: k's are handed over, but for its ids
 * (the entry's own are kept, k's freed). */
static int key_add(void *parent, void *elem, const char *where,
                   struct err *err) {
  struct rec_state *st = parent;
  struct rec_key *k = elem, *slot = NULL;
  if (rec_key_find(st, k->key) != NULL)
    return fld_bad(err, where, "key", "\"%s\" appears twice", k->key);
  int rc =
      rec_key_get(st, str_or_empty(k->bucket_key), str_or_empty(k->test_id),
                  str_or_empty(k->environment_id), &slot);
  if (rc == -ENOMEM)
    return no_memory(where, err);
  if (rc != 0)
    return fld_bad(err, where, "key", "rejected: %s", err_errno_text(-rc));
  struct rec_key ids = *slot;
  *slot = *k;
  slot->key = ids.key;
  slot->bucket_key = ids.bucket_key;
  slot->test_id = ids.test_id;
  slot->environment_id = ids.environment_id;
  memset(&ids, 0, sizeof(ids));
  ids.key = k->key; /* k's ids, freed with nothing else */
  ids.bucket_key = k->bucket_key;
  ids.test_id = k->test_id;
  ids.environment_id = k->environment_id;
  key_fini(&ids);
  return 0;
}

/* Every field but the transient looked_up, news, values_sent and run_gap. */
static const struct fld_field key_fields[] = {
    FLD_STRP("key", struct rec_key, key, REC_KEY_MAX, 0),
    FLD_STRP("bucket_key", struct rec_key, bucket_key, RS_ID_MAX, FLD_REQUIRED),
    FLD_STRP("test_id", struct rec_key, test_id, RS_ID_MAX, FLD_REQUIRED),
    FLD_STRP("environment_id", struct rec_key, environment_id, RS_ID_MAX,
             FLD_REQUIRED),
    FLD_STRP("environment_name", struct rec_key, environment_name,
             REC_ENV_NAME_MAX, FLD_OMIT_ZERO),
    FLD_LIST("locations", struct rec_key, locs, n_locs, REC_LOC_MAX,
             &run_record, loc_add, NULL),
    FLD_ENUM("event", struct rec_key, ev, ev_names, 0),
    FLD_STRS_HEAP("event_ids", struct rec_key, event_ids, n_events,
                  REC_EVENTS_MAX),
    FLD_STRP("request_id", struct rec_key, request_id, XM_ID_MAX, 0),
    FLD_BOOL("request_confirmed", struct rec_key, request_confirmed, 0),
    FLD_NUM("requested_at", struct rec_key, requested_at, 0),
    FLD_NUM("alerted_through", struct rec_key, alerted_through, 0),
    FLD_NUM("checked_at", struct rec_key, checked_at, 0),
    FLD_BOOL("notified_failing", struct rec_key, notified_failing, 0),
    FLD_HEX64("verdicts", struct rec_key, flap.fails, FLD_OMIT_ZERO),
    FLD_UINT("n_verdicts", struct rec_key, flap.n, FLAP_WINDOW_MAX,
             FLD_OMIT_ZERO),
    FLD_BOOL("flapping", struct rec_key, flap.flapping, FLD_OMIT_ZERO),
    FLD_BOOL("flap_announced", struct rec_key, flap_announced, FLD_OMIT_ZERO),
    FLD_BOOL("flap_paged", struct rec_key, flap_paged, FLD_OMIT_ZERO),
    FLD_NUM("failing_since", struct rec_key, failing_since, FLD_OMIT_ZERO),
    FLD_STRP("maintenance", struct rec_key, maintenance, REC_WINDOW_NAME_MAX,
             FLD_OMIT_ZERO),
    FLD_STRP("last_maintenance", struct rec_key, last_maintenance,
             REC_WINDOW_NAME_MAX, FLD_OMIT_ZERO),
    FLD_NUM("maintenance_started", struct rec_key, maintenance_started,
            FLD_OMIT_ZERO),
    FLD_NUM("maintenance_ended", struct rec_key, maintenance_ended,
            FLD_OMIT_ZERO),
    FLD_NUM("event_since", struct rec_key, event_since, FLD_OMIT_ZERO),
};
static const struct fld_record key_record =
    FLD_RECORD(struct rec_key, key_fields, key_check, key_fini);

/* ---- "cursors": [{"bucket_key", "test_id", "since", "last_run"}] ---- */

/* A cursor as read, whose ids are strings of their own (a state's cursor
 * holds them in one block, rec_cursor_set). */
static void cursor_fini(void *rec) {
  struct rec_cursor *c = rec;
  free(c->test_id);
  c->test_id = NULL;
  rec_cursor_fini(c);
}

/* The state's cursor gets copies of c's ids; c's are freed once it has. */
static int cursor_add(void *parent, void *elem, const char *where,
                      struct err *err) {
  struct rec_state *st = parent;
  struct rec_cursor *c = elem;
  const char *bucket = str_or_empty(c->bucket_key),
             *test = str_or_empty(c->test_id);
  if (rec_cursor_find(st, bucket, test) != NULL)
    return fld_bad(err, where, "", "the cursor of %s/%s appears twice", bucket,
                   test);
  int rc = rec_cursor_set(st, bucket, test, c->since);
  if (rc != 0)
    return rejected(rc, where, err);
  rec_cursor_find(st, bucket, test)->last_run = c->last_run;
  cursor_fini(c);
  return 0;
}

static const struct fld_field cursor_fields[] = {
    FLD_STRP("bucket_key", struct rec_cursor, bucket_key, RS_ID_MAX,
             FLD_REQUIRED),
    FLD_STRP("test_id", struct rec_cursor, test_id, RS_ID_MAX, FLD_REQUIRED),
    FLD_NUM("since", struct rec_cursor, since, FLD_REQUIRED),
    FLD_HEX64("last_run", struct rec_cursor, last_run, FLD_OMIT_ZERO),
};
static const struct fld_record cursor_record =
    FLD_RECORD(struct rec_cursor, cursor_fields, NULL, cursor_fini);

/* ---- "responses": the responses to each event (responses.h) ---- */

static const struct fld_field seen_fields[] = {
    FLD_HEX64("id", struct resp_seen, id, FLD_REQUIRED),
    FLD_NUM("received", struct resp_seen, received, 0),
};
static const struct fld_record seen_record =
    FLD_RECORD(struct resp_seen, seen_fields, NULL, NULL);

static int response_add(void *parent, void *elem, const char *where,
                        struct err *err) {
  struct rec_state *st = parent;
  const struct resp_event *ev = elem;
  struct resp_event *slot;
  if (resp_find(st, ev->event_id) != NULL)
    return fld_bad(err, where, "event_id", "\"%s\" appears twice",
                   ev->event_id);
  if (resp_get(st, ev->key, ev->event_id, &slot) != 0)
    return no_memory(where, err);
  *slot = *ev;
  return 0;
}

static const struct fld_field response_fields[] = {
    FLD_STR("event_id", struct resp_event, event_id, FLD_REQUIRED),
    FLD_STR("key", struct resp_event, key, 0),
    FLD_RECS("seen", struct resp_event, seen, n_seen, &seen_record),
    FLD_NUM("seen_through", struct resp_event, seen_through, 0),
    FLD_UINT("reruns", struct resp_event, reruns, 1000000, 0),
    FLD_ENUM("rerun", struct resp_event, rerun, rerun_names, 0),
    FLD_STR("rerun_by", struct resp_event, rerun_by, 0),
    FLD_STR("rerun_location", struct resp_event, rerun_location, 0),
    FLD_NUM("rerun_asked_at", struct resp_event, rerun_asked_at, 0),
    FLD_NUM("rerun_sent_at", struct resp_event, rerun_sent_at, 0),
    FLD_STRS("rerun_runs", struct resp_event, rerun_runs, n_rerun_runs),
    FLD_STR("acknowledged_by", struct resp_event, acked_by, 0),
    FLD_NUM("acknowledged_at", struct resp_event, acked_at, 0),
    FLD_NUM("held_at", struct resp_event, held_at, 0),
};
static const struct fld_record response_record =
    FLD_RECORD(struct resp_event, response_fields, NULL, NULL);

/* ---- "forward": forward mode's delivery memory (forward.h) ---- */

static int forward_add(void *parent, void *elem, const char *where,
                       struct err *err) {
  struct fwd_state *fwd = &((struct rec_state *)parent)->fwd;
  const struct fwd_test *t = elem;
  struct fwd_test *slot;
  if (fwd_test_find(fwd, t->bucket_key, t->test_id) != NULL)
    return fld_bad(err, where, "", "the forward entry of %s/%s appears twice",
                   t->bucket_key, t->test_id);
  int rc = fwd_test_get(fwd, t->bucket_key, t->test_id, t->through, &slot);
  if (rc != 0)
    return rejected(rc, where, err);
  *slot = *t;
  return 0;
}

static const struct fld_field forward_fields[] = {
    FLD_STRS("delivered", struct fwd_test, delivered, n_delivered),
    FLD_STR("bucket_key", struct fwd_test, bucket_key, FLD_REQUIRED),
    FLD_STR("test_id", struct fwd_test, test_id, FLD_REQUIRED),
    FLD_NUM("through", struct fwd_test, through, FLD_REQUIRED),
    FLD_STR("through_id", struct fwd_test, through_id, 0),
    FLD_STR("sending", struct fwd_test, sending, 0),
    FLD_NUM("sending_at", struct fwd_test, sending_at, 0),
};
static const struct fld_record forward_record =
    FLD_RECORD(struct fwd_test, forward_fields, NULL, NULL);

/* ---- traffic alerts: "traffic_buckets", "traffic_rules" (traffic.h) ---- */

/* A seen message, into its bucket (whose since is read: a message at or
 * before it is not kept). */
static int traffic_seen_add(void *parent, void *elem, const char *where,
                            struct err *err) {
  struct tr_bucket_state *b = parent;
  const struct tr_seen *s = elem;
  if (tr_seen_has(b, s->uuid))
    return fld_bad(err, where, "uuid", "\"%s\" appears twice", s->uuid);
  if (tr_seen_add(b, s->uuid, s->at) != 0)
    return no_memory(where, err);
  return 0;
}

static const struct fld_field traffic_seen_fields[] = {
    FLD_STR("uuid", struct tr_seen, uuid, FLD_REQUIRED),
    FLD_NUM("at", struct tr_seen, at, FLD_REQUIRED),
};
static const struct fld_record traffic_seen_record =
    FLD_RECORD(struct tr_seen, traffic_seen_fields, NULL, NULL);

static void traffic_bucket_fini(void *rec) {
  struct tr_bucket_state *b = rec;
  free(b->seen);
  b->seen = NULL;
  b->n_seen = b->cap_seen = 0;
}

/* A fresh entry: the read bucket's seen messages are handed over. */
static int traffic_bucket_add(void *parent, void *elem, const char *where,
                              struct err *err) {
  struct tr_state *tr = &((struct rec_state *)parent)->traffic;
  const struct tr_bucket_state *b = elem;
  struct tr_bucket_state *slot;
  if (tr_bucket_find(tr, b->bucket_key) != NULL)
    return fld_bad(err, where, "bucket_key", "\"%s\" appears twice",
                   b->bucket_key);
  if (tr_bucket_get(tr, b->bucket_key, b->since, &slot) != 0)
    return no_memory(where, err);
  *slot = *b;
  return 0;
}

static const struct fld_field traffic_bucket_fields[] = {
    FLD_LIST("seen", struct tr_bucket_state, seen, n_seen, TR_SEEN_MAX,
             &traffic_seen_record, traffic_seen_add, NULL),
    FLD_STR("bucket_key", struct tr_bucket_state, bucket_key, FLD_REQUIRED),
    FLD_NUM("since", struct tr_bucket_state, since, FLD_REQUIRED),
};
static const struct fld_record traffic_bucket_record = FLD_RECORD(
    struct tr_bucket_state, traffic_bucket_fields, NULL, traffic_bucket_fini);

static int traffic_rule_check(void *rec, const char *where, struct err *err) {
  const struct tr_rule_state *r = rec;
  return r->held.count < 0 ? fld_bad(err, where, "held", "negative") : 0;
}

static int traffic_rule_add(void *parent, void *elem, const char *where,
                            struct err *err) {
  struct tr_state *tr = &((struct rec_state *)parent)->traffic;
  const struct tr_rule_state *r = elem;
  struct tr_rule_state *slot;
  if (tr_rule_find(tr, r->bucket_key, r->rule) != NULL)
    return fld_bad(err, where, "rule", "\"%s\" of %s appears twice", r->rule,
                   r->bucket_key);
  if (tr_rule_get(tr, r->bucket_key, r->rule, &slot) != 0)
    return no_memory(where, err);
  *slot = *r;
  return 0;
}

/* A rule's counters are not saved. */
static const struct fld_field traffic_rule_fields[] = {
    FLD_STR("bucket_key", struct tr_rule_state, bucket_key, FLD_REQUIRED),
    FLD_STR("rule", struct tr_rule_state, rule, FLD_REQUIRED),
    FLD_NUM("last_sent", struct tr_rule_state, last_sent, 0),
    FLD_LONG("held", struct tr_rule_state, held.count, 0),
    FLD_NUM("first_held_at", struct tr_rule_state, held.first_at, 0),
    FLD_NUM("last_held_at", struct tr_rule_state, held.last_at, 0),
    FLD_STR("last_held_uuid", struct tr_rule_state, held.last_uuid, 0),
    FLD_STR("sending", struct tr_rule_state, sending, 0),
};
static const struct fld_record traffic_rule_record = FLD_RECORD(
    struct tr_rule_state, traffic_rule_fields, traffic_rule_check, NULL);

/* ---- the file ---- */

/* The optional sections are written only when they have entries, so that
 * a file without them does not change shape. */
static bool no_responses(const void *rec) {
  return ((const struct rec_state *)rec)->n_responses == 0;
}

static bool no_forward(const void *rec) {
  return ((const struct rec_state *)rec)->fwd.n == 0;
}

/* Both traffic sections, when either has entries. */
static bool no_traffic(const void *rec) {
  const struct tr_state *tr = &((const struct rec_state *)rec)->traffic;
  return tr->n_buckets == 0 && tr->n_rules == 0;
}

/* The file: a format name and version the reader checks first, then the
 * state. */
static const struct fld_field state_fields[] = {
    FLD_TAG("format", STATE_FORMAT),
    FLD_VERSION("version", STATE_VERSION),
    FLD_NUM("runscope_answered_at", struct rec_state, answered.runscope,
            FLD_OMIT_ZERO),
    FLD_NUM("xmatters_answered_at", struct rec_state, answered.xmatters,
            FLD_OMIT_ZERO),
    FLD_NUM("etcd_answered_at", struct rec_state, answered.etcd, FLD_OMIT_ZERO),
    FLD_PLIST("keys", struct rec_state, keys, n_keys, SIZE_MAX, &key_record,
              key_add, NULL),
    FLD_LIST("cursors", struct rec_state, cursors, n_cursors, SIZE_MAX,
             &cursor_record, cursor_add, NULL),
    FLD_LIST("responses", struct rec_state, responses, n_responses, SIZE_MAX,
             &response_record, response_add, no_responses),
    FLD_LIST("forward", struct rec_state, fwd.tests, fwd.n, SIZE_MAX,
             &forward_record, forward_add, no_forward),
    FLD_PLIST("traffic_buckets", struct rec_state, traffic.buckets,
              traffic.n_buckets, SIZE_MAX, &traffic_bucket_record,
              traffic_bucket_add, no_traffic),
    FLD_PLIST("traffic_rules", struct rec_state, traffic.rules, traffic.n_rules,
              SIZE_MAX, &traffic_rule_record, traffic_rule_add, no_traffic),
};
static const struct fld_record state_record =
    FLD_RECORD(struct rec_state, state_fields, NULL, NULL);

void state_json_write(struct jw *w, const struct rec_state *st) {
  fld_write(w, &state_record, st);
  jw_raw(w, "\n", 1);
}

int state_to_json(const struct rec_state *st, struct buf *out) {
  struct jw w;
  jw_to_buf(&w, out);
  state_json_write(&w, st);
  return jw_finish(&w);
}

int state_digest(const struct rec_state *st, uint64_t *ret) {
  struct rec_state bare = *st; /* shallow: read only, arrays shared */
  memset(&bare.answered, 0, sizeof(bare.answered));
  *ret = HASH_FNV_BASIS;
  return fld_digest(ret, &state_record, &bare);
}

int state_from_json(const char *text, size_t len, int max_json_depth,
                    struct rec_state *st, struct err *err) {
  struct rec_state tmp;
  rec_state_init(&tmp);
  int rc = fld_from_json(text, len, max_json_depth, &state_record, &tmp, err);
  rec_state_fini(st);
  if (rc == 0)
    *st = tmp;
  else
    rec_state_fini(&tmp);
  return rc;
}
