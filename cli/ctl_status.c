/* SPDX-License-Identifier: MIT */
/* runscopectl status: the keys of the plugin's state, as text or JSON. */
#include "ctl_status.h"

#include "core/flap.h"
#include "core/maintenance.h"
#include "store/jw.h"
#include "store/state.h"
#include "util/str.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define STATE_JSON_DEPTH 64 /* the plugin's MaxJSONDepth default */
#define OUT_MAX (512u << 20)

/* Loads the state file without ever writing or moving it (state_load
 * moves a corrupt file aside: the plugin's business, not this
 * command's). */
int ctl_status_load_file(const char *path, struct rec_state *st) {
  struct buf text;
  struct err err = {{0}};
  int rc = ctl_read_file(path, STATE_FILE_MAX, &text, &err);
  if (rc == -ENOENT)
    return ctl_fail(CTL_FAIL,
                    "no state file at %s: the plugin writes it after its "
                    "first poll cycle; is collectd running with the runscope "
                    "plugin, and is this its StateFile (-s FILE)?",
                    path);
  if (rc == -EACCES)
    return ctl_fail(CTL_FAIL,
                    "cannot read the state file %s: %s (its directory is "
                    "for root only: run as root)",
                    path, err_errno_text(EACCES));
  if (rc != 0)
    return ctl_fail(CTL_FAIL, "%s", err.msg);
  rc = state_from_json(text.data ? text.data : "", text.len, STATE_JSON_DEPTH,
                       st, &err);
  buf_fini(&text);
  if (rc != 0)
    return ctl_fail(CTL_FAIL, "%s is not a state file the plugin wrote: %s",
                    path, rc == -ENOMEM ? "out of memory" : err.msg);
  return CTL_OK;
}

static bool selected(const struct rec_key *k, const struct ctl_status_opts *o) {
  if (o->n_filters == 0)
    return true;
  for (size_t i = 0; i < o->n_filters; i++) {
    const char *f = o->filters[i];
    if (strcmp(f, k->key) == 0 || strcmp(f, k->test_id) == 0 ||
        strcmp(f, k->bucket_key) == 0)
      return true;
  }
  return false;
}

static const char *verdict_name(enum rec_verdict v) {
  switch (v) {
  case REC_FAILING:
    return "failing";
  case REC_PASSING:
    return "passing";
  default:
    return "unknown";
  }
}

static const char *event_text(enum rec_event_state ev) {
  return ev == REC_EV_ACTIVE      ? "open"
         : ev == REC_EV_REQUESTED ? "requested"
                                  : "none";
}

static bool window_applies(const struct cfg_window *w, const struct rec_key *k,
                           double now) {
  struct maint_target t = {k->bucket_key,     NULL, k->test_id, NULL,
                           k->environment_id, NULL};
  return maint_open(w, now) && maint_matches(w, &t);
}

/* What status shows of one key beyond the state's own fields. */
struct key_facts {
  enum rec_verdict verdict, alert;
  unsigned fail_streak, pass_streak, fail_n, pass_n;
  double flap_percent; /* NAN: no verdict yet */
};

static void key_facts(const struct rec_key *k, const struct rec_opts *o,
                      struct key_facts *f) {
  f->verdict = rec_verdict(k, o);
  f->alert = rec_alert_verdict(k, o);
  rec_streaks(k, o, &f->fail_streak, &f->pass_streak);
  f->fail_n = rec_threshold(k, o, true);
  f->pass_n = rec_threshold(k, o, false);
  f->flap_percent =
      k->flap.n > 0 ? flap_percent(&k->flap, o->flap.window) : NAN;
}

/* ---- text ---- */

/* "2026-12-07T06:45:00Z (3 min ago)", or "never". */
static const char *when_text(double t, double now, char out[80]) {
  char iso[32], age[32];
  if (!(t > 0)) {
    snprintf(out, 80, "never");
    return out;
  }
  snprintf(out, 80, "%s (%s ago)", ctl_time_text(t, iso),
           ctl_age_text(now - t, age));
  return out;
}

static void text_source(struct buf *b, const struct ctl_status_opts *o) {
  const struct ctl_source *s = &o->source;
  if (s->state_file != NULL)
    buf_printf(b, "state:       file %s\n", s->state_file);
  else
    buf_printf(b, "state:       etcd %s, keys %s* (the leader's)\n",
               s->cluster->endpoints.v[0], s->state_prefix);
  if (s->cluster == NULL)
    return;
  if (s->leader == NULL)
    buf_puts(b, "leader:      unknown: etcd did not answer\n");
  else if (s->leader->name[0] == '\0')
    buf_puts(b, "leader:      none: no agent holds the leader key\n");
  else if (s->leader->ttl >= 0)
    buf_printf(b, "leader:      %s (lease: %lld s left)\n", s->leader->name,
               (long long)s->leader->ttl);
  else
    buf_printf(b, "leader:      %s\n", s->leader->name);
}

/* Once at the top: where the state is, the leader, and when each API last
 * answered the plugin. */
static void text_header(struct buf *b, const struct rec_state *st,
                        const struct ctl_status_opts *o) {
  char t[80];
  text_source(b, o);
  buf_printf(b, "Runscope:    last answered %s\n",
             when_text(st->answered.runscope, o->now, t));
  buf_printf(b, "xMatters:    last answered %s\n",
             when_text(st->answered.xmatters, o->now, t));
  if (o->source.cluster != NULL)
    buf_printf(b, "etcd:        last answered %s\n",
               when_text(st->answered.etcd, o->now, t));
  buf_puts(b, "\n");
}

static void text_event(struct buf *b, const struct rec_key *k, double now) {
  char t[80];
  buf_printf(b, "  event:       %s", event_text(k->ev));
  for (size_t i = 0; i < k->n_events; i++)
    buf_printf(b, " %s", k->event_ids[i]);
  if (k->ev == REC_EV_REQUESTED && k->request_id != NULL)
    buf_printf(b, " (request %s)", k->request_id);
  if (k->ev != REC_EV_NONE && k->event_since > 0)
    buf_printf(b, " since %s", when_text(k->event_since, now, t));
  buf_puts(b, "\n");
}

static void text_locations(struct buf *b, const struct rec_key *k) {
  char t[32];
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *r = &k->locs[i];
    buf_printf(b, "  location %s: %s %u in a row (run %s, finished %s)\n",
               r->location ? r->location : "-", r->failed ? "failed" : "passed",
               r->streak ? r->streak : 1, str_or_empty(r->test_run_id),
               ctl_time_text(r->finished_at, t));
  }
}

static void text_flap(struct buf *b, const struct rec_key *k,
                      const struct rec_opts *o, const struct key_facts *f) {
  buf_printf(b, "  flapping:    %s", k->flap.flapping ? "yes" : "no");
  if (!isnan(f->flap_percent))
    buf_printf(b, ", %.1f %% of state changes over the last %u verdicts",
               f->flap_percent,
               k->flap.n < o->flap.window ? k->flap.n
                                          : (unsigned)o->flap.window);
  buf_puts(b, o->flap_detection ? "\n" : " (FlapDetection is off)\n");
}

static void text_windows(struct buf *b, const struct rec_key *k,
                         const struct ctl_status_opts *o) {
  char t[32];
  if (k->maintenance != NULL)
    buf_printf(b,
               "  window:      %s (as the plugin saw it at its last "
               "cycle)\n",
               k->maintenance);
  for (size_t i = 0; i < o->n_windows; i++) {
    const struct cfg_window *w = o->windows[i];
    if (window_applies(w, k, o->now))
      buf_printf(b, "  silenced:    %s until %s%s%s\n", w->name,
                 ctl_time_text(maint_closes(w, o->now), t),
                 w->reason ? ": " : "", w->reason ? w->reason : "");
  }
}

/* What the thresholds make of the verdict. */
static const char *alert_text(enum rec_verdict alert) {
  return alert == REC_FAILING   ? "pages: FailureThreshold reached"
         : alert == REC_PASSING ? "closes: RecoveryThreshold reached"
                                : "no threshold reached: nothing changes";
}

static void text_key(struct buf *b, const struct rec_key *k,
                     const struct ctl_status_opts *o) {
  struct key_facts f;
  char t[80];
  key_facts(k, o->rec, &f);
  buf_printf(b,
             "%s\n  bucket:      %s\n  test:        %s\n"
             "  environment: %s\n  verdict:     %s (%s)\n",
             k->key, k->bucket_key, k->test_id, k->environment_id,
             verdict_name(f.verdict), alert_text(f.alert));
  buf_printf(b,
             "  streaks:     %u failed (FailureThreshold %u), %u passed "
             "(RecoveryThreshold %u)\n",
             f.fail_streak, f.fail_n, f.pass_streak, f.pass_n);
  text_locations(b, k);
  if (k->failing_since > 0)
    buf_printf(b, "  failing:     since %s\n",
               when_text(k->failing_since, o->now, t));
  text_flap(b, k, o->rec, &f);
  text_event(b, k, o->now);
  text_windows(b, k, o);
}

/* ---- JSON ---- */

#define MEMBER(w, name) jw_member(w, "\"" name "\":", sizeof(name) + 2)

static void json_null(struct jw *w) { jw_raw(w, "null", 4); }

static void json_time(struct jw *w, double when) {
  char t[32];
  if (!(when > 0) || ctl_time_text(when, t)[0] == '-')
    json_null(w);
  else
    jw_string(w, t);
}

/* The seconds from when to now, whole, or null without a time. */
static void json_age(struct jw *w, double when, double now) {
  if (!(when > 0))
    json_null(w);
  else
    jw_long(w, now > when ? (long)(now - when) : 0);
}

static void json_locations(struct jw *w, const struct rec_key *k) {
  MEMBER(w, "locations");
  jw_open(w, '[');
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *r = &k->locs[i];
    jw_item(w);
    jw_open(w, '{');
    MEMBER(w, "location");
    jw_string(w, str_or_empty(r->location));
    MEMBER(w, "result");
    jw_string(w, r->failed ? "fail" : "pass");
    MEMBER(w, "streak");
    jw_long(w, r->streak ? (long)r->streak : 1);
    MEMBER(w, "test_run_id");
    jw_string(w, str_or_empty(r->test_run_id));
    MEMBER(w, "finished_at");
    json_time(w, r->finished_at);
    jw_close(w, '}');
  }
  jw_close(w, ']');
}

static void json_event(struct jw *w, const struct rec_key *k, double now) {
  bool open = k->ev != REC_EV_NONE;
  MEMBER(w, "event");
  jw_open(w, '{');
  MEMBER(w, "state");
  jw_string(w, event_text(k->ev));
  MEMBER(w, "ids");
  jw_open(w, '[');
  for (size_t i = 0; i < k->n_events; i++) {
    jw_item(w);
    jw_string(w, k->event_ids[i]);
  }
  jw_close(w, ']');
  MEMBER(w, "request_id");
  jw_string(w, str_or_empty(k->request_id));
  MEMBER(w, "requested_at");
  json_time(w, open ? k->requested_at : 0);
  MEMBER(w, "since");
  json_time(w, open ? k->event_since : 0);
  MEMBER(w, "open_for");
  json_age(w, open ? k->event_since : 0, now);
  jw_close(w, '}');
}

static void json_streaks(struct jw *w, const struct key_facts *f) {
  MEMBER(w, "streaks");
  jw_open(w, '{');
  MEMBER(w, "failure");
  jw_long(w, f->fail_streak);
  MEMBER(w, "recovery");
  jw_long(w, f->pass_streak);
  MEMBER(w, "failure_threshold");
  jw_long(w, f->fail_n);
  MEMBER(w, "recovery_threshold");
  jw_long(w, f->pass_n);
  jw_close(w, '}');
}

static void json_flap(struct jw *w, const struct rec_key *k,
                      const struct rec_opts *o, const struct key_facts *f) {
  MEMBER(w, "flap");
  jw_open(w, '{');
  MEMBER(w, "flapping");
  jw_bool(w, k->flap.flapping);
  MEMBER(w, "percent");
  if (isnan(f->flap_percent))
    json_null(w);
  else
    jw_num(w, round(f->flap_percent * 10) / 10);
  MEMBER(w, "verdicts");
  jw_long(w, k->flap.n);
  MEMBER(w, "window");
  jw_long(w, (long)o->flap.window);
  MEMBER(w, "detection");
  jw_bool(w, o->flap_detection);
  jw_close(w, '}');
}

static void json_silences(struct jw *w, const struct rec_key *k,
                          const struct ctl_status_opts *o) {
  MEMBER(w, "silences");
  jw_open(w, '[');
  for (size_t i = 0; i < o->n_windows; i++) {
    const struct cfg_window *win = o->windows[i];
    if (!window_applies(win, k, o->now))
      continue;
    jw_item(w);
    jw_open(w, '{');
    MEMBER(w, "name");
    jw_string(w, win->name);
    MEMBER(w, "until");
    json_time(w, maint_closes(win, o->now));
    MEMBER(w, "reason");
    if (win->reason)
      jw_string(w, win->reason);
    else
      json_null(w);
    jw_close(w, '}');
  }
  jw_close(w, ']');
}

static void json_key(struct jw *w, const struct rec_key *k,
                     const struct ctl_status_opts *o) {
  struct key_facts f;
  key_facts(k, o->rec, &f);
  jw_item(w);
  jw_open(w, '{');
  MEMBER(w, "key");
  jw_string(w, k->key);
  MEMBER(w, "bucket");
  jw_string(w, k->bucket_key);
  MEMBER(w, "test");
  jw_string(w, k->test_id);
  MEMBER(w, "environment");
  jw_string(w, k->environment_id);
  MEMBER(w, "verdict");
  jw_string(w, verdict_name(f.verdict));
  MEMBER(w, "alert_verdict");
  jw_string(w, verdict_name(f.alert));
  json_streaks(w, &f);
  json_locations(w, k);
  MEMBER(w, "failing_since");
  json_time(w, k->failing_since);
  json_flap(w, k, o->rec, &f);
  json_event(w, k, o->now);
  MEMBER(w, "window");
  if (k->maintenance != NULL)
    jw_string(w, k->maintenance);
  else
    json_null(w);
  json_silences(w, k, o);
  jw_close(w, '}');
}

static void json_source(struct jw *w, const struct ctl_source *s) {
  MEMBER(w, "source");
  jw_open(w, '{');
  MEMBER(w, "kind");
  jw_string(w, s->state_file != NULL ? "file" : "etcd");
  if (s->state_file != NULL) {
    MEMBER(w, "path");
    jw_string(w, s->state_file);
  } else {
    MEMBER(w, "prefix");
    jw_string(w, s->state_prefix);
  }
  jw_close(w, '}');
  MEMBER(w, "leader");
  if (s->leader == NULL || s->leader->name[0] == '\0') {
    json_null(w);
    return;
  }
  jw_open(w, '{');
  MEMBER(w, "name");
  jw_string(w, s->leader->name);
  MEMBER(w, "lease_ttl");
  if (s->leader->ttl >= 0)
    jw_long(w, (long)s->leader->ttl);
  else
    json_null(w);
  jw_close(w, '}');
}

static void json_api(struct jw *w, const char *quoted, size_t len, double at,
                     double now) {
  jw_member(w, quoted, len);
  jw_open(w, '{');
  MEMBER(w, "answered_at");
  json_time(w, at);
  MEMBER(w, "age");
  json_age(w, at, now);
  jw_close(w, '}');
}

#define API(w, name, at, now)                                                  \
  json_api(w, "\"" name "\":", sizeof(name) + 2, at, now)

/* The members before the keys: the time, the source and leader, and when
 * each API last answered (etcd's only in a cluster). */
static void json_header(struct jw *w, const struct rec_state *st,
                        const struct ctl_status_opts *o) {
  MEMBER(w, "now");
  json_time(w, o->now);
  json_source(w, &o->source);
  MEMBER(w, "apis");
  jw_open(w, '{');
  API(w, "runscope", st->answered.runscope, o->now);
  API(w, "xmatters", st->answered.xmatters, o->now);
  if (o->source.cluster != NULL)
    API(w, "etcd", st->answered.etcd, o->now);
  jw_close(w, '}');
}

/* The status of the selected keys of st into out; *ret_n counts them. */
static int render(const struct rec_state *st, const struct ctl_status_opts *o,
                  struct buf *out, size_t *ret_n) {
  struct jw w;
  jw_to_buf(&w, out);
  if (o->json) {
    jw_open(&w, '{');
    json_header(&w, st, o);
    MEMBER(&w, "keys");
    jw_open(&w, '[');
  } else {
    text_header(out, st, o);
  }
  *ret_n = 0;
  for (size_t i = 0; i < st->n_keys; i++) {
    if (!selected(st->keys[i], o))
      continue;
    if (o->json)
      json_key(&w, st->keys[i], o);
    else
      text_key(out, st->keys[i], o);
    (*ret_n)++;
  }
  if (o->json) {
    jw_close(&w, ']');
    jw_close(&w, '}');
    jw_raw(&w, "\n", 1);
  }
  return jw_finish(&w);
}

/* The state's place, for messages. */
static const char *where_text(const struct ctl_source *s, char *out,
                              size_t size) {
  if (s->state_file != NULL)
    snprintf(out, size, "%s", s->state_file);
  else
    snprintf(out, size, "the state in etcd (%s*)", s->state_prefix);
  return out;
}

int ctl_status(const struct rec_state *st, const struct ctl_status_opts *o) {
  struct buf out;
  buf_init(&out, OUT_MAX);
  size_t n = 0;
  char where[CLUSTER_KEY_MAX + 64];
  where_text(&o->source, where, sizeof(where));
  int code = CTL_OK, rc = render(st, o, &out, &n);
  if (rc != 0)
    code = ctl_fail(CTL_FAIL, "printing the status: %s", err_errno_text(-rc));
  else if (o->n_filters > 0 && n == 0)
    code = ctl_fail(CTL_FAIL,
                    "no key of %s matches %s%s (give a key "
                    "bucket/test/environment, a test id or a bucket key)",
                    where, o->filters[0], o->n_filters > 1 ? " ..." : "");
  else if (n == 0 && !o->json)
    buf_printf(&out, "no keys in %s yet\n", where);
  if (code == CTL_OK)
    code = ctl_print_buf(&out);
  buf_fini(&out);
  return code;
}
