/* SPDX-License-Identifier: MIT */
/* runscopectl status: the keys of the state file, as text or JSON. */
#include "ctl_status.h"

#include "core/maintenance.h"
#include "core/reconcile.h"
#include "store/jw.h"
#include "store/state.h"

#include <errno.h>
#include <string.h>

#define STATE_JSON_DEPTH 64 /* the plugin's MaxJSONDepth default */
#define OUT_MAX (512u << 20)

/* Loads the state file without ever writing or moving it (state_load
 * moves a corrupt file aside: the plugin's business, not this
 * command's). */
static int load_state(const char *path, struct rec_state *st) {
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

static const char *verdict_text(const struct rec_key *k) {
  struct rec_opts opts;
  rec_opts_default(&opts);
  switch (rec_verdict(k, &opts)) {
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

static void text_event(struct buf *b, const struct rec_key *k) {
  char t[32];
  buf_printf(b, "  event:       %s", event_text(k->ev));
  for (size_t i = 0; i < k->n_events; i++)
    buf_printf(b, " %s", k->event_ids[i]);
  if (k->ev == REC_EV_REQUESTED && k->request_id[0] != '\0')
    buf_printf(b, " (request %s)", k->request_id);
  if (k->ev != REC_EV_NONE && k->requested_at > 0)
    buf_printf(b, ", requested %s", ctl_time_text(k->requested_at, t));
  buf_puts(b, "\n");
}

static void text_key(struct buf *b, const struct rec_key *k,
                     const struct ctl_status_opts *o) {
  char t[32];
  buf_printf(b,
             "%s\n  bucket:      %s\n  test:        %s\n"
             "  environment: %s\n  verdict:     %s\n",
             k->key, k->bucket_key, k->test_id, k->environment_id,
             verdict_text(k));
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *r = &k->locs[i];
    buf_printf(b, "  location %s: %s (run %s, finished %s)\n",
               r->location[0] ? r->location : "-",
               r->failed ? "failed" : "passed", r->test_run_id,
               ctl_time_text(r->finished_at, t));
  }
  text_event(b, k);
  for (size_t i = 0; i < o->n_windows; i++) {
    const struct cfg_window *w = o->windows[i];
    if (window_applies(w, k, o->now))
      buf_printf(b, "  silenced:    %s until %s%s%s\n", w->name,
                 ctl_time_text(maint_closes(w, o->now), t),
                 w->reason ? ": " : "", w->reason ? w->reason : "");
  }
}

#define MEMBER(w, name) jw_member(w, "\"" name "\":", sizeof(name) + 2)

static void json_time(struct jw *w, double when) {
  char t[32];
  if (ctl_time_text(when, t)[0] == '-')
    jw_raw(w, "null", 4);
  else
    jw_string(w, t);
}

static void json_locations(struct jw *w, const struct rec_key *k) {
  MEMBER(w, "locations");
  jw_open(w, '[');
  for (size_t i = 0; i < k->n_locs; i++) {
    const struct rec_run *r = &k->locs[i];
    jw_item(w);
    jw_open(w, '{');
    MEMBER(w, "location");
    jw_string(w, r->location);
    MEMBER(w, "result");
    jw_string(w, r->failed ? "fail" : "pass");
    MEMBER(w, "test_run_id");
    jw_string(w, r->test_run_id);
    MEMBER(w, "finished_at");
    json_time(w, r->finished_at);
    jw_close(w, '}');
  }
  jw_close(w, ']');
}

static void json_event(struct jw *w, const struct rec_key *k) {
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
  jw_string(w, k->request_id);
  MEMBER(w, "requested_at");
  json_time(w, k->ev != REC_EV_NONE ? k->requested_at : 0);
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
      jw_raw(w, "null", 4);
    jw_close(w, '}');
  }
  jw_close(w, ']');
}

static void json_key(struct jw *w, const struct rec_key *k,
                     const struct ctl_status_opts *o) {
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
  jw_string(w, verdict_text(k));
  json_locations(w, k);
  json_event(w, k);
  json_silences(w, k, o);
  jw_close(w, '}');
}

/* The status of the selected keys of st into out; *ret_n counts them. */
static int render(const struct rec_state *st, const struct ctl_status_opts *o,
                  struct buf *out, size_t *ret_n) {
  struct jw w;
  jw_to_buf(&w, out);
  if (o->json) {
    jw_open(&w, '{');
    MEMBER(&w, "now");
    json_time(&w, o->now);
    MEMBER(&w, "keys");
    jw_open(&w, '[');
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

int ctl_status(const char *state_file, const struct ctl_status_opts *o) {
  struct rec_state st;
  rec_state_init(&st);
  int code = load_state(state_file, &st);
  if (code != CTL_OK)
    return code;
  struct buf out;
  buf_init(&out, OUT_MAX);
  size_t n = 0;
  int rc = render(&st, o, &out, &n);
  if (rc != 0)
    code = ctl_fail(CTL_FAIL, "printing the status: %s", err_errno_text(-rc));
  else if (o->n_filters > 0 && n == 0)
    code = ctl_fail(CTL_FAIL,
                    "no key of %s matches %s%s (give a key "
                    "bucket/test/environment, a test id or a bucket key)",
                    state_file, o->filters[0], o->n_filters > 1 ? " ..." : "");
  else if (n == 0 && !o->json)
    buf_printf(&out, "no keys in %s yet\n", state_file);
  if (code == CTL_OK)
    code = ctl_print_buf(&out);
  buf_fini(&out);
  rec_state_fini(&st);
  return code;
}
