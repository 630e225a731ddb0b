/* SPDX-License-Identifier: MIT */
/* The reconciler: what Runscope shows and what xMatters holds -> actions. */
#include "core/reconcile.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/str.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far below an unfinished run's start the cursor goes (`since` is
 * exclusive, so the run itself is read again). */
#define CURSOR_EPSILON 0.001

void rec_state_init(struct rec_state *st) { memset(st, 0, sizeof(*st)); }

void rec_state_fini(struct rec_state *st) {
  for (size_t i = 0; i < st->n_keys; i++) {
    rec_key_fini(st->keys[i]);
    free(st->keys[i]);
  }
  free(st->keys);
  for (size_t i = 0; i < st->n_cursors; i++)
    rec_cursor_fini(&st->cursors[i]);
  free(st->cursors);
  free(st->responses);
  fwd_state_fini(&st->fwd);
  tr_state_fini(&st->traffic);
  rec_state_init(st);
}

void rec_actions_init(struct rec_actions *a) { memset(a, 0, sizeof(*a)); }

void rec_actions_fini(struct rec_actions *a) {
  free(a->v);
  rec_actions_init(a);
}

void rec_opts_default(struct rec_opts *o) {
  o->location_window = 86400;
  o->pending_timeout = 60;
  o->reconcile_interval = 300;
  o->failure_threshold = 1;
  o->recovery_threshold = 1;
  o->buckets = NULL;
  o->n_buckets = 0;
  o->flap_detection = false;
  o->flap.window = FLAP_DEFAULT_WINDOW;
  o->flap.low = FLAP_DEFAULT_LOW;
  o->flap.high = FLAP_DEFAULT_HIGH;
}

int rec_make_key(char *out, size_t size, const char *bucket_key,
                 const char *test_id, const char *environment_id) {
  int n = snprintf(out, size, "%s/%s/%s", bucket_key, test_id, environment_id);
  return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

static int key_cmp(const void *elem, const void *key) {
  return strcmp((*(struct rec_key *const *)elem)->key, key);
}

/* Index of the first key >= key. */
static size_t key_lower_bound(const struct rec_state *st, const char *key) {
  return array_lower_bound(st->keys, st->n_keys, sizeof(st->keys[0]), key_cmp,
                           key);
}

struct rec_key *rec_key_find(struct rec_state *st, const char *key) {
  size_t i = key_lower_bound(st, key);
  if (i < st->n_keys && strcmp(st->keys[i]->key, key) == 0)
    return st->keys[i];
  return NULL;
}

void rec_key_range(const struct rec_state *st, const char *bucket_key,
                   size_t *first, size_t *end) {
  char from[RS_ID_MAX + 2], to[RS_ID_MAX + 2];
  size_t len = strlen(bucket_key);
  if (len + 2 > sizeof(from)) { /* no such key: all of them */
    *first = 0;
    *end = st->n_keys;
    return;
  }
  memcpy(from, bucket_key, len);
  memcpy(from + len, "/", 2);
  memcpy(to, from, len + 2);
  to[len] = '/' + 1; /* the first string past every "bucket_key/..." */
  *first = key_lower_bound(st, from);
  *end = key_lower_bound(st, to);
}

struct rec_run *rec_key_add_loc(struct rec_key *k) {
  if (k->n_locs >= REC_LOC_MAX)
    return NULL;
  /* 1, 2, 4, 8, 16 = REC_LOC_MAX: most keys have one location */
  if (array_reserve(&k->locs, &k->cap_locs, k->n_locs, sizeof(*k->locs), 1))
    return NULL;
  struct rec_run *l = &k->locs[k->n_locs++];
  memset(l, 0, sizeof(*l));
  return l;
}

void rec_key_fini(struct rec_key *k) {
  free(k->key); /* and the ids it holds */
  k->key = k->bucket_key = k->test_id = k->environment_id = NULL;
  for (size_t i = 0; i < k->n_locs; i++) {
    free(k->locs[i].location);
    free(k->locs[i].test_run_id);
  }
  free(k->locs);
  k->locs = NULL;
  k->n_locs = k->cap_locs = 0;
  free(k->event_ids);
  k->event_ids = NULL;
  k->n_events = 0;
  str_set(&k->environment_name, NULL, 0);
  str_set(&k->request_id, NULL, 0);
  str_set(&k->maintenance, NULL, 0);
  str_set(&k->last_maintenance, NULL, 0);
}

/* Room for k's event ids: false when memory runs out (an id is then not
 * remembered, as one over REC_EVENTS_MAX). */
static bool events_room(struct rec_key *k) {
  if (k->event_ids == NULL)
    k->event_ids = calloc(REC_EVENTS_MAX, sizeof(*k->event_ids));
  return k->event_ids != NULL;
}

/* Copies the n strings src[] into one allocation: *dst[i] points at the
 * copy of src[i], and *dst[0] is the allocation, which a single free
 * releases. 0 or -ENOMEM (nothing set). */
static int strings_in_one_block(size_t n, const char *const src[],
                                char **const dst[]) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += strlen(src[i]) + 1;
  char *block = malloc(total);
  if (block == NULL)
    return -ENOMEM;
  for (size_t i = 0, at = 0; i < n; i++) {
    size_t len = strlen(src[i]) + 1;
    *dst[i] = block + at;
    memcpy(block + at, src[i], len);
    at += len;
  }
  return 0;
}

/* k, zeroed, with copies of its ids in one block (k->key, freed by
 * rec_key_fini). 0, -ENOMEM or -ENAMETOOLONG (an id of RS_ID_MAX bytes or
 * more). */
static int key_fill(struct rec_key *k, const char *key, const char *bucket_key,
                    const char *test_id, const char *environment_id) {
  memset(k, 0, sizeof(*k));
  if (strlen(bucket_key) >= RS_ID_MAX || strlen(test_id) >= RS_ID_MAX ||
      strlen(environment_id) >= RS_ID_MAX)
    return -ENAMETOOLONG;
  const char *const src[] = {key, bucket_key, test_id, environment_id};
  char **const dst[] = {&k->key, &k->bucket_key, &k->test_id,
                        &k->environment_id};
  return strings_in_one_block(4, src, dst);
}

int rec_key_get(struct rec_state *st, const char *bucket_key,
                const char *test_id, const char *environment_id,
                struct rec_key **ret) {
  char key[REC_KEY_MAX];
  int rc = rec_make_key(key, sizeof(key), bucket_key, test_id, environment_id);
  if (rc != 0)
    return rc;
  size_t i = key_lower_bound(st, key);
  if (i < st->n_keys && strcmp(st->keys[i]->key, key) == 0) {
    *ret = st->keys[i];
    return 0;
  }
  struct rec_key *fresh = malloc(sizeof(*fresh));
  if (fresh == NULL)
    return -ENOMEM;
  rc = key_fill(fresh, key, bucket_key, test_id, environment_id);
  if (rc == 0)
    rc = array_reserve(&st->keys, &st->cap_keys, st->n_keys, sizeof(*st->keys),
                       16);
  if (rc != 0) {
    rec_key_fini(fresh);
    free(fresh);
    return rc;
  }
  memmove(&st->keys[i + 1], &st->keys[i], (st->n_keys - i) * sizeof(*st->keys));
  st->keys[i] = fresh;
  st->n_keys++;
  *ret = fresh;
  return 0;
}

/* "us1", "agent:<name>", or "" when the run names no location. */
static void run_location(const struct rs_run *run, char *out, size_t size) {
  if (run->region[0] != '\0')
    snprintf(out, size, "%s", run->region);
  else if (run->agent[0] != '\0')
    snprintf(out, size, "agent:%s", run->agent);
  else
    out[0] = '\0';
}

/* l becomes the latest run of its location: 0, or -ENOMEM with l as it
 * was. */
static int loc_fill(struct rec_run *l, const char *location,
                    const struct rs_run *run) {
  char *loc = NULL, *id = NULL;
  if (str_set(&loc, location, 0) != 0 ||
      str_set(&id, run->test_run_id, 0) != 0) {
    free(loc);
    return -ENOMEM;
  }
  free(l->location);
  free(l->test_run_id);
  memset(l, 0, sizeof(*l));
  l->location = loc;
  l->test_run_id = id;
  l->failed = run->result == RS_RESULT_FAIL;
  l->started_at = run->started_at;
  l->finished_at = run->finished_at;
  l->assertions_failed = run->assertions_failed;
  l->scripts_failed = run->scripts_failed;
  l->variables_failed = run->variables_failed;
  l->requests_executed = run->requests_executed;
  return 0;
}

/* The slot for a location: its own, a new one, or the stalest one. NULL
 * when memory runs out. */
static struct rec_run *loc_slot(struct rec_key *k, const char *location) {
  for (size_t i = 0; i < k->n_locs; i++)
    if (strcmp(str_or_empty(k->locs[i].location), location) == 0)
      return &k->locs[i];
  if (k->n_locs < REC_LOC_MAX) {
    struct rec_run *l = rec_key_add_loc(k);
    if (l != NULL)
      l->started_at = -1;
    return l;
  }
  struct rec_run *oldest = &k->locs[0];
  for (size_t i = 1; i < k->n_locs; i++)
    if (k->locs[i].started_at < oldest->started_at)
      oldest = &k->locs[i];
  return oldest;
}

/* Whether run comes after l, the latest run of its location: by start, then
 * finish, then id, so that which of two runs that started together is the
 * latest does not depend on the order they are seen in. */
static bool run_after(const struct rs_run *run, const struct rec_run *l) {
  if (run->started_at != l->started_at)
    return run->started_at > l->started_at;
  if (run->finished_at != l->finished_at)
    return run->finished_at > l->finished_at;
  return strcmp(run->test_run_id, str_or_empty(l->test_run_id)) > 0;
}

/* The streak of l once run, newer, is its latest. */
static unsigned next_streak(const struct rec_run *l, bool own,
                            const struct rs_run *run) {
  bool failed = run->result == RS_RESULT_FAIL;
  if (!own || l->test_run_id == NULL || l->failed != failed)
    return 1;
  unsigned n = l->streak > 0 ? l->streak : 1;
  return n < REC_STREAK_MAX ? n + 1 : n;
}

static bool any_location_fails(const struct rec_key *k) {
  for (size_t i = 0; i < k->n_locs; i++)
    if (k->locs[i].failed)
      return true;
  return false;
}

/* After l took a new run: the key's verdict history and since when it
 * fails. */
static void note_verdict(struct rec_key *k, const struct rec_run *l) {
  flap_record(&k->flap, l->failed);
  if (l->failed && k->failing_since == 0)
    k->failing_since = l->started_at;
  else if (!any_location_fails(k))
    k->failing_since = 0;
}

int rec_observe_run(struct rec_state *st, const char *bucket_key,
                    const struct rs_run *run) {
  if (run->result != RS_RESULT_PASS && run->result != RS_RESULT_FAIL)
    return 0;
  struct rec_key *k;
  int rc = rec_key_get(st, bucket_key, run->test_id, run->environment_id, &k);
  if (rc != 0)
    return rc;
  char location[REC_LOCATION_MAX];
  run_location(run, location, sizeof(location));
  size_t n_before = k->n_locs;
  struct rec_run *l = loc_slot(k, location);
  if (l == NULL)
    return -ENOMEM;
  bool fresh = k->n_locs > n_before;
  bool own = !fresh && strcmp(str_or_empty(l->location), location) == 0;
  bool same_run =
      l->test_run_id != NULL && strcmp(l->test_run_id, run->test_run_id) == 0;
  if (own && (same_run || !run_after(run, l)))
    return 0;
  /* A new location older than every one kept is the oldest: dropped. */
  if (!own && !fresh && run->started_at < l->started_at)
    return 0;
  unsigned streak = next_streak(l, own, run);
  bool paced = own && l->started_at > 0;
  double gap = run->started_at - l->started_at;
  if (loc_fill(l, location, run) != 0)
    return -ENOMEM;
  if (paced)
    k->run_gap = gap;
  k->news = true;
  /* a run without a name keeps the one known; too long: none (the
   * detail's name or the id is used) */
  const char *name = strlen(run->environment_name) < REC_ENV_NAME_MAX
                         ? run->environment_name
                         : "";
  if (run->environment_name[0] != '\0' &&
      strcmp(str_or_empty(k->environment_name), name) != 0)
    str_set(&k->environment_name, name, 0);
  l->streak = streak;
  note_verdict(k, l);
  return 1;
}

static double newest_start(const struct rec_key *k) {
  double newest = -1;
  for (size_t i = 0; i < k->n_locs; i++)
    if (k->locs[i].started_at > newest)
      newest = k->locs[i].started_at;
  return newest;
}

static bool loc_recent(const struct rec_run *l, double newest,
                       const struct rec_opts *o) {
  return l->started_at >= newest - o->location_window;
}

enum rec_verdict rec_verdict(const struct rec_key *k,
                             const struct rec_opts *o) {
  double newest = newest_start(k);
  size_t recent = 0;
  for (size_t i = 0; i < k->n_locs; i++) {
    if (!loc_recent(&k->locs[i], newest, o))
      continue;
    if (k->locs[i].failed)
      return REC_FAILING;
    recent++;
  }
  return recent > 0 ? REC_PASSING : REC_UNKNOWN;
}

unsigned rec_threshold(const struct rec_key *k, const struct rec_opts *o,
                       bool failure) {
  unsigned n = failure ? o->failure_threshold : o->recovery_threshold;
  for (size_t i = 0; i < o->n_buckets; i++) {
    const struct rec_bucket_opts *b = &o->buckets[i];
    if (strcmp(b->bucket_key, k->bucket_key) != 0)
      continue;
    unsigned own = failure ? b->failure_threshold : b->recovery_threshold;
    if (own > 0)
      n = own;
  }
  return n > 0 ? n : 1;
}

enum rec_verdict rec_alert_verdict(const struct rec_key *k,
                                   const struct rec_opts *o) {
  unsigned fail_n = rec_threshold(k, o, true);
  unsigned pass_n = rec_threshold(k, o, false);
  double newest = newest_start(k);
  size_t recent = 0;
  bool all_pass = true;
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *l = &k->locs[i];
    if (!loc_recent(l, newest, o))
      continue;
    unsigned streak = l->streak > 0 ? l->streak : 1;
    if (l->failed && streak >= fail_n)
      return REC_FAILING;
    if (l->failed || streak < pass_n)
      all_pass = false;
    recent++;
  }
  return recent > 0 && all_pass ? REC_PASSING : REC_UNKNOWN;
}

void rec_streaks(const struct rec_key *k, const struct rec_opts *o,
                 unsigned *ret_fail, unsigned *ret_pass) {
  double newest = newest_start(k);
  unsigned fail = 0, pass = 0;
  bool all_pass = true;
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *l = &k->locs[i];
    if (!loc_recent(l, newest, o))
      continue;
    unsigned streak = l->streak > 0 ? l->streak : 1;
    if (l->failed) {
      all_pass = false;
      fail = streak > fail ? streak : fail;
    } else if (pass == 0 || streak < pass) {
      pass = streak;
    }
  }
  *ret_fail = fail;
  *ret_pass = all_pass ? pass : 0;
}

bool rec_flapping(const struct rec_key *k, const struct rec_opts *o) {
  return o->flap_detection && k->flap.flapping;
}

/* Brings the key's flapping up to date with its verdicts; a key that
 * stops flapping may page again as flapping later. */
static void decide_flapping(struct rec_key *k, const struct rec_opts *o) {
  if (o->flap_detection && flap_decide(&k->flap, &o->flap) == FLAP_STOPPED)
    k->flap_paged = false;
}

static bool in_maintenance(const struct rec_key *k) {
  return k->maintenance != NULL;
}

void rec_set_maintenance(struct rec_key *k, const char *window, double now) {
  const char *w = window != NULL ? window : "";
  if (strcmp(str_or_empty(k->maintenance), w) == 0)
    return;
  if (in_maintenance(k)) {
    free(k->last_maintenance);
    k->last_maintenance = k->maintenance;
    k->maintenance = NULL;
    k->maintenance_ended = now;
  }
  if (w[0] != '\0')
    k->maintenance_started = now;
  str_set(&k->maintenance, w, REC_WINDOW_NAME_MAX);
}

const struct rec_run *rec_newest_failure(const struct rec_key *k,
                                         const struct rec_opts *o) {
  double newest = newest_start(k);
  const struct rec_run *found = NULL;
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *l = &k->locs[i];
    if (l->failed && loc_recent(l, newest, o) &&
        (found == NULL || l->started_at > found->started_at))
      found = l;
  }
  return found;
}

/* True when the key fails with a run no event has covered yet. */
static bool has_new_failure(const struct rec_key *k, const struct rec_opts *o) {
  const struct rec_run *f = rec_newest_failure(k, o);
  return f != NULL && f->started_at > k->alerted_through;
}

/* Adopts the newest failure as covered by the events the key now has. */
static void cover_failures(struct rec_key *k, const struct rec_opts *o) {
  const struct rec_run *f = rec_newest_failure(k, o);
  if (f != NULL && f->started_at > k->alerted_through)
    k->alerted_through = f->started_at;
}

/* True when the key would page now if xMatters holds nothing for it:
 * never inside a maintenance window; once when it starts flapping; else
 * for a failure past the thresholds that no event covered yet. */
static bool would_page(const struct rec_key *k, const struct rec_opts *o,
                       enum rec_verdict v) {
  if (in_maintenance(k))
    return false;
  if (rec_flapping(k, o))
    return !k->flap_paged;
  return v == REC_FAILING && has_new_failure(k, o);
}

/* True when the key's open events are to be terminated now: it recovered
 * past the threshold and does not flap. */
static bool would_close(const struct rec_key *k, const struct rec_opts *o,
                        enum rec_verdict v) {
  return v == REC_PASSING && !rec_flapping(k, o);
}

static bool needs_lookup(const struct rec_key *k, const struct rec_opts *o,
                         double now) {
  enum rec_verdict v = rec_alert_verdict(k, o);
  switch (k->ev) {
  case REC_EV_NONE:
    return would_page(k, o, v);
  case REC_EV_REQUESTED:
    return true;
  case REC_EV_ACTIVE:
    /* A new failure is the open event's only once xMatters confirms that
     * the event is still open (a person may have terminated it). */
    return would_close(k, o, v) ||
           now - k->checked_at >= o->reconcile_interval ||
           (v == REC_FAILING && has_new_failure(k, o));
  }
  return false;
}

bool rec_lookup_confirms(const struct rec_key *k, const struct rec_opts *o,
                         double now) {
  return k->ev == REC_EV_ACTIVE && k->n_events > 0 &&
         now - k->checked_at < o->reconcile_interval &&
         rec_verdict(k, o) == REC_FAILING && has_new_failure(k, o);
}

void rec_confirm_failed(struct rec_key *k, const struct rec_opts *o) {
  if (k->ev == REC_EV_ACTIVE)
    cover_failures(k, o);
}

int rec_plan_lookups(struct rec_state *st, const struct rec_opts *o, double now,
                     size_t **ret, size_t *ret_n) {
  size_t cap = *ret_n;
  for (size_t i = 0; i < st->n_keys; i++) {
    struct rec_key *k = st->keys[i];
    k->looked_up = false;
    decide_flapping(k, o);
    bool due = needs_lookup(k, o, now);
    /* A failure seen while an event is open is that event's: if a person
     * closes it, only a later failure pages again. Unless xMatters is asked
     * about the key in this cycle (a new failure is always asked about):
     * then its answer decides, as the event may be gone (closed by a
     * person, or by a terminate whose outcome a crash lost). */
    if (k->ev == REC_EV_ACTIVE && !due)
      cover_failures(k, o);
    if (!due)
      continue;
    int rc = array_reserve(ret, &cap, *ret_n, sizeof(**ret), 16);
    if (rc != 0)
      return rc;
    (*ret)[(*ret_n)++] = i;
  }
  return 0;
}

/* Counts the failures a delivered request was about as covered: the newest
 * one that started before the request, not those that came after it (they
 * page again once the request is over). */
static void cover_request(struct rec_key *k, const struct rec_opts *o) {
  const struct rec_run *f = rec_newest_failure(k, o);
  double through = f ? f->started_at : 0;
  if (through > k->requested_at)
    through = k->requested_at;
  if (through > k->alerted_through)
    k->alerted_through = through;
}

static void forget_request(struct rec_key *k) {
  k->ev = REC_EV_NONE;
  k->event_since = 0;
  str_set(&k->request_id, NULL, 0);
  k->request_confirmed = false;
}

/* Keeps event_since with ev: set once an event is known (at now for one
 * the plugin did not request, or that a state without the field holds),
 * cleared when none is. */
static void note_event_since(struct rec_key *k, double now) {
  if (k->ev == REC_EV_NONE)
    k->event_since = 0;
  else if (k->event_since == 0)
    k->event_since = k->ev == REC_EV_REQUESTED && k->requested_at > 0
                         ? k->requested_at
                         : now;
}

/* No event showed up for a request. A confirmed request (202) that never
 * became visible is taken as delivered, since sending it again could page
 * twice; a request whose answer was lost is sent again. */
static void request_unseen(struct rec_key *k, const struct rec_opts *o,
                           double now) {
  if (now - k->requested_at < o->pending_timeout)
    return;
  if (k->request_confirmed)
    cover_request(k, o);
  forget_request(k);
}

void rec_apply_lookup(struct rec_key *k, const struct rec_opts *o,
                      const char *const *event_ids, size_t n, double now) {
  k->looked_up = true;
  k->checked_at = now;
  k->n_events = 0;
  for (size_t i = 0; i < n && k->n_events < REC_EVENTS_MAX && events_room(k);
       i++)
    if (str_copy(k->event_ids[k->n_events], XM_ID_MAX, event_ids[i]) == 0)
      k->n_events++;
  if (k->n_events > 0) {
    k->ev = REC_EV_ACTIVE;
    str_set(&k->request_id, NULL, 0);
    k->request_confirmed = false;
    cover_failures(k, o);
  } else if (k->ev == REC_EV_REQUESTED) {
    request_unseen(k, o, now);
  } else {
    k->ev = REC_EV_NONE; /* terminated elsewhere (a person): forget it */
  }
  note_event_since(k, now);
}

void rec_request_ended(struct rec_key *k, const struct rec_opts *o,
                       double now) {
  k->looked_up = true;
  k->checked_at = now;
  k->n_events = 0;
  if (k->ev != REC_EV_REQUESTED)
    return;
  cover_request(k, o);
  forget_request(k);
}

int rec_adopt_event(struct rec_key *k, const struct rec_opts *o,
                    const char *event_id) {
  for (size_t i = 0; i < k->n_events; i++)
    if (strcmp(k->event_ids[i], event_id) == 0)
      return 0;
  if (k->n_events == REC_EVENTS_MAX || !events_room(k) ||
      str_copy(k->event_ids[k->n_events], XM_ID_MAX, event_id) != 0)
    return 0;
  k->n_events++;
  k->ev = REC_EV_ACTIVE;
  str_set(&k->request_id, NULL, 0);
  k->request_confirmed = false;
  cover_failures(k, o);
  return 1;
}

static int push(struct rec_actions *out, enum rec_action_type type, size_t key,
                const char *event_id) {
  int rc = array_reserve(&out->v, &out->cap, out->n, sizeof(*out->v), 16);
  if (rc != 0)
    return rc;
  struct rec_action *a = &out->v[out->n++];
  a->type = type;
  a->key = key;
  str_copy(a->event_id, sizeof(a->event_id), event_id ? event_id : "");
  return 0;
}

/* WARNING when the key starts flapping, OKAY when it stops; while it
 * flaps, no FAILURE and no OKAY of its verdict. */
static int plan_flap_notification(struct rec_key *k, size_t i,
                                  const struct rec_opts *o,
                                  struct rec_actions *out) {
  bool flapping = rec_flapping(k, o);
  if (flapping == k->flap_announced)
    return 0;
  k->flap_announced = flapping;
  return push(out, flapping ? REC_NOTIFY_FLAPPING : REC_NOTIFY_FLAP_ENDED, i,
              NULL);
}

/* FAILURE and OKAY follow the paged state: a failure past the threshold
 * (not inside a maintenance window), a recovery past the threshold of a
 * failure announced. */
static int plan_notification(struct rec_key *k, size_t i, enum rec_verdict v,
                             const struct rec_opts *o,
                             struct rec_actions *out) {
  int rc = plan_flap_notification(k, i, o, out);
  if (rc != 0 || rec_flapping(k, o))
    return rc;
  if (v == REC_FAILING && !k->notified_failing && !in_maintenance(k)) {
    k->notified_failing = true;
    return push(out, REC_NOTIFY_FAILURE, i, NULL);
  }
  if (v == REC_PASSING && k->notified_failing) {
    k->notified_failing = false;
    return push(out, REC_NOTIFY_OKAY, i, NULL);
  }
  return 0;
}

static int plan_events(const struct rec_key *k, size_t i, enum rec_verdict v,
                       const struct rec_opts *o, struct rec_actions *out) {
  if (!k->looked_up)
    return 0;
  if (k->ev == REC_EV_NONE && would_page(k, o, v))
    return push(out, REC_CREATE, i, NULL);
  if (!would_close(k, o, v) || k->ev != REC_EV_ACTIVE)
    return 0;
  for (size_t e = 0; e < k->n_events; e++) {
    int rc = push(out, REC_TERMINATE, i, k->event_ids[e]);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int rec_plan_actions(struct rec_state *st, const struct rec_opts *o, double now,
                     struct rec_actions *out) {
  for (size_t i = 0; i < st->n_keys; i++) {
    struct rec_key *k = st->keys[i];
    note_event_since(k, now); /* events adopted from a list since */
    decide_flapping(k, o);
    enum rec_verdict v = rec_alert_verdict(k, o);
    /* Events first: a FAILURE notification can then name the request. */
    int rc = plan_events(k, i, v, o, out);
    if (rc == 0)
      rc = plan_notification(k, i, v, o, out);
    if (rc != 0)
      return rc;
  }
  return 0;
}

void rec_create_done(struct rec_key *k, const struct rec_opts *o,
                     enum rec_create_outcome outcome, const char *request_id,
                     double now) {
  /* the event of a flapping key is its flapping's (once per flapping) */
  if (rec_flapping(k, o))
    k->flap_paged = outcome != REC_NOT_CREATED;
  if (outcome == REC_NOT_CREATED) {
    /* Undoes a REC_MAYBE_SENT recorded before sending (write-ahead). */
    if (k->ev == REC_EV_REQUESTED)
      forget_request(k);
    return;
  }
  if (k->ev == REC_EV_NONE)
    k->event_since = now;
  k->ev = REC_EV_REQUESTED;
  k->requested_at = now;
  k->request_confirmed = outcome == REC_CREATED;
  str_set(&k->request_id, outcome == REC_CREATED ? request_id : NULL,
          XM_ID_MAX);
}

bool rec_terminate_start(struct rec_key *k) {
  bool changed = k->checked_at != 0;
  k->checked_at = 0;
  return changed;
}

void rec_terminate_done(struct rec_key *k, const char *event_id, bool gone) {
  if (!gone)
    return;
  for (size_t i = 0; i < k->n_events; i++) {
    if (strcmp(k->event_ids[i], event_id) != 0)
      continue;
    memmove(k->event_ids[i], k->event_ids[i + 1],
            (k->n_events - i - 1) * sizeof(k->event_ids[0]));
    k->n_events--;
    break;
  }
  if (k->n_events == 0 && k->ev == REC_EV_ACTIVE) {
    k->ev = REC_EV_NONE;
    k->event_since = 0;
  }
}

/* Orders cursors by test; the key is a struct rs_test_ref. */
static int cursor_cmp(const void *elem, const void *key) {
  const struct rec_cursor *c = elem;
  const struct rs_test_ref *k = key;
  int d = strcmp(c->bucket_key, k->bucket_key);
  return d != 0 ? d : strcmp(c->test_id, k->test_id);
}

/* Where the test's cursor is or would go; *found says whether it is. */
static size_t cursor_index(const struct rec_state *st, const char *bucket_key,
                           const char *test_id, bool *found) {
  struct rs_test_ref k = {.bucket_key = bucket_key, .test_id = test_id};
  size_t i = array_lower_bound(st->cursors, st->n_cursors,
                               sizeof(st->cursors[0]), cursor_cmp, &k);
  *found = i < st->n_cursors && cursor_cmp(&st->cursors[i], &k) == 0;
  return i;
}

void rec_cursor_fini(struct rec_cursor *c) {
  free(c->bucket_key); /* and test_id, in its block */
  c->bucket_key = c->test_id = NULL;
}

struct rec_cursor *rec_cursor_find_hinted(struct rec_state *st,
                                          const char *bucket_key,
                                          const char *test_id, size_t *hint) {
  struct rs_test_ref k = {.bucket_key = bucket_key, .test_id = test_id};
  if (*hint < st->n_cursors && cursor_cmp(&st->cursors[*hint], &k) == 0)
    return &st->cursors[*hint];
  bool found;
  size_t i = cursor_index(st, bucket_key, test_id, &found);
  if (!found)
    return NULL;
  *hint = i;
  return &st->cursors[i];
}

struct rec_cursor *rec_cursor_find(struct rec_state *st, const char *bucket_key,
                                   const char *test_id) {
  size_t no_hint = SIZE_MAX;
  return rec_cursor_find_hinted(st, bucket_key, test_id, &no_hint);
}

int rec_cursor_set(struct rec_state *st, const char *bucket_key,
                   const char *test_id, double since) {
  struct rec_cursor *c = rec_cursor_find(st, bucket_key, test_id);
  if (c != NULL) {
    c->since = since;
    return 0;
  }
  if (strlen(bucket_key) >= RS_ID_MAX || strlen(test_id) >= RS_ID_MAX)
    return -ENAMETOOLONG;
  struct rec_cursor fresh = {.since = since};
  const char *const src[] = {bucket_key, test_id};
  char **const dst[] = {&fresh.bucket_key, &fresh.test_id};
  int rc = array_reserve(&st->cursors, &st->cap_cursors, st->n_cursors,
                         sizeof(*st->cursors), 16);
  if (rc == 0)
    rc = strings_in_one_block(2, src, dst);
  if (rc != 0)
    return rc;
  bool found;
  size_t i = cursor_index(st, bucket_key, test_id, &found);
  memmove(&st->cursors[i + 1], &st->cursors[i],
          (st->n_cursors - i) * sizeof(*st->cursors));
  st->cursors[i] = fresh;
  st->n_cursors++;
  return 0;
}

static bool run_is_final(const struct rs_run *r) {
  return r->result != RS_RESULT_UNFINISHED;
}

double rec_cursor_next(double since, const struct rs_run *runs, size_t n,
                       double now, double max_unfinished_age) {
  double newest = since, oldest_open = -1;
  for (size_t i = 0; i < n; i++) {
    const struct rs_run *r = &runs[i];
    if (r->started_at > newest)
      newest = r->started_at;
    bool open = !run_is_final(r) && now - r->started_at <= max_unfinished_age;
    if (open && (oldest_open < 0 || r->started_at < oldest_open))
      oldest_open = r->started_at;
  }
  if (oldest_open < 0)
    return newest;
  double next = oldest_open - CURSOR_EPSILON;
  return next > since ? next : since;
}
