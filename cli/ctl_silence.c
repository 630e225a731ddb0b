/* SPDX-License-Identifier: MIT */
/* runscopectl silence, silences and unsilence. */
#include "ctl_silence.h"

#include "ctl_windows.h"
#include "store/jw.h"
#include "util/clock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define OUT_MAX (64u << 20)
#define NAME_TRIES 20

/* The window's start and end from --start, --for and --until. */
static int silence_times(const struct ctl_args *a, double now, double *start,
                         double *end) {
  *start = now;
  if ((a->given & CTL_OPT_START) && clock_parse_iso8601(a->start, start) != 0)
    return ctl_fail(CTL_USAGE,
                    "--start %s: not an ISO-8601 time such as "
                    "2026-12-24T18:00:00Z",
                    a->start);
  bool has_for = a->given & CTL_OPT_FOR, has_until = a->given & CTL_OPT_UNTIL;
  if (has_for == has_until)
    return ctl_fail(CTL_USAGE, "silence: give --for DURATION (such as 30m or "
                               "2h) or --until TIME, one of them");
  double len = 0;
  if (has_for && ctl_parse_duration(a->for_, &len) != 0)
    return ctl_fail(CTL_USAGE,
                    "--for %s: not a duration; write it as 90s, 30m, 2h, "
                    "1d, 1w or 1h30m",
                    a->for_);
  if (has_until && clock_parse_iso8601(a->until, end) != 0)
    return ctl_fail(CTL_USAGE,
                    "--until %s: not an ISO-8601 time such as "
                    "2026-12-24T18:00:00Z",
                    a->until);
  if (has_for)
    *end = *start + len;
  if (!(*end > now) || !(*end > *start))
    return ctl_fail(CTL_USAGE,
                    "--until %s: the window would end before it "
                    "starts, or has ended already",
                    has_until ? a->until : a->for_);
  return CTL_OK;
}

/* "<bucket>-<20261207T064500Z>[-N]": the default name, made of the
 * characters a name may hold. */
static void default_name(const struct ctl_args *a, double now, int attempt,
                         char *out, size_t size) {
  char bucket[64], t[CLOCK_ISO8601_MAX], stamp[CLOCK_ISO8601_MAX];
  snprintf(bucket, sizeof(bucket), "%s", a->bucket);
  for (char *p = bucket; *p; p++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789._-",
                *p) ||
        (p == bucket && (*p == '.' || *p == '-')))
      *p = '_';
  clock_iso8601(now, t, sizeof(t));
  size_t j = 0;
  for (const char *p = t; *p; p++)
    if (*p != '-' && *p != ':')
      stamp[j++] = *p;
  stamp[j] = '\0';
  if (attempt == 0)
    snprintf(out, size, "%s-%s", bucket, stamp);
  else
    snprintf(out, size, "%s-%s-%d", bucket, stamp, attempt + 1);
}

/* The window's text for name, checked with the plugin's own reader. */
static int silence_text(const struct ctl_silence *s, double now,
                        struct buf *out) {
  buf_reset(out);
  int rc = ctl_silence_json(s, out);
  struct cfg_window w;
  struct err err = {{0}};
  memset(&w, 0, sizeof(w));
  if (rc == 0)
    rc = cfg_window_from_json(&w, out->data, out->len, s->name, now, &err);
  cfg_window_fini(&w);
  if (rc != 0)
    return ctl_fail(CTL_FAIL, "the window file would not be read: %s",
                    rc == -EINVAL ? err.msg : err_errno_text(-rc));
  return CTL_OK;
}

/* Writes s, trying other default names while one is taken. */
static int write_silence(const struct ctl_args *a, struct ctl_silence *s,
                         const char *dir, double now, struct buf *text) {
  char name[160];
  for (int attempt = 0; attempt < NAME_TRIES; attempt++) {
    if (s->name == NULL || attempt > 0) {
      default_name(a, now, attempt, name, sizeof(name));
      s->name = name;
    }
    int code = silence_text(s, now, text);
    if (code != CTL_OK)
      return code;
    struct err err = {{0}};
    int rc = ctl_window_create(dir, s->name, text, &err);
    if (rc == 0)
      return printf("%s\n", s->name) < 0 ? CTL_FAIL : CTL_OK;
    if (rc != -EEXIST)
      return ctl_fail(CTL_FAIL, "%s", err.msg);
    if (a->given & CTL_OPT_NAME)
      return ctl_fail(CTL_FAIL,
                      "a silence named %s exists in %s: choose another "
                      "--name, or remove it first (runscopectl unsilence %s)",
                      s->name, dir, s->name);
  }
  return ctl_fail(CTL_FAIL, "no free silence name in %s: give one with --name",
                  dir);
}

int ctl_cmd_silence(const struct ctl_args *a, const char *dir, double now) {
  if (!(a->given & CTL_OPT_BUCKET))
    return ctl_fail(CTL_USAGE, "silence: --bucket KEY is required (the "
                               "bucket's key or name)");
  const char *empty = a->bucket[0] == '\0'              ? "--bucket"
                      : (a->test && a->test[0] == '\0') ? "--test"
                      : (a->environment && a->environment[0] == '\0')
                          ? "--environment"
                          : NULL;
  if (empty != NULL)
    return ctl_fail(CTL_USAGE, "%s is empty: give a key, id or name", empty);
  if ((a->given & CTL_OPT_NAME) && !ctl_name_ok(a->name))
    return ctl_fail(CTL_USAGE,
                    "--name %s: use 1 to 100 letters, digits, '.', '_' or "
                    "'-', not starting with '.' or '-'",
                    a->name);
  struct ctl_silence s = {a->name, a->bucket, a->test,  a->environment,
                          0,       0,         a->reason};
  int code = silence_times(a, now, &s.start, &s.end);
  if (code != CTL_OK)
    return code;
  struct buf text;
  buf_init(&text, CFG_WINDOW_FILE_MAX);
  code = write_silence(a, &s, dir, now, &text);
  buf_fini(&text);
  return code;
}

static void list_text(const struct cfg_list *l, struct buf *out) {
  if (l->n == 0)
    buf_puts(out, "*");
  for (size_t i = 0; i < l->n; i++)
    buf_printf(out, "%s%s", i ? "," : "", l->v[i]);
}

static void silence_line(const struct ctl_wfile *f, double now,
                         struct buf *out) {
  char t0[32], t1[32];
  const struct cfg_window *w = &f->w;
  if (f->bad) {
    buf_printf(out, "%-28s %-8s %s: %s\n", f->file, "BAD", f->file, f->why);
    return;
  }
  buf_printf(out, "%-28s %-8s %-20s %-20s bucket=", w->name,
             ctl_window_state(w, now), ctl_time_text(w->start, t0),
             ctl_time_text(w->end, t1));
  list_text(&w->buckets, out);
  buf_puts(out, " test=");
  list_text(&w->tests, out);
  buf_puts(out, " environment=");
  list_text(&w->environments, out);
  buf_printf(out, "%s%s\n", w->reason ? " reason=" : "",
             w->reason ? w->reason : "");
}

#define MEMBER(w, name) jw_member(w, "\"" name "\":", sizeof(name) + 2)

static void json_list(struct jw *w, const struct cfg_list *l) {
  jw_open(w, '[');
  for (size_t i = 0; i < l->n; i++) {
    jw_item(w);
    jw_string(w, l->v[i]);
  }
  jw_close(w, ']');
}

static void json_window(struct jw *w, const struct cfg_window *win,
                        double now) {
  char t[32];
  MEMBER(w, "name");
  jw_string(w, win->name);
  MEMBER(w, "state");
  jw_string(w, ctl_window_state(win, now));
  MEMBER(w, "start");
  jw_string(w, ctl_time_text(win->start, t));
  MEMBER(w, "end");
  jw_string(w, ctl_time_text(win->end, t));
  MEMBER(w, "bucket");
  json_list(w, &win->buckets);
  MEMBER(w, "test");
  json_list(w, &win->tests);
  MEMBER(w, "environment");
  json_list(w, &win->environments);
  MEMBER(w, "reason");
  if (win->reason)
    jw_string(w, win->reason);
  else
    jw_raw(w, "null", 4);
}

static int silences_json(const struct ctl_wfiles *l, double now,
                         struct buf *out) {
  struct jw w;
  jw_to_buf(&w, out);
  jw_open(&w, '[');
  for (size_t i = 0; i < l->n; i++) {
    jw_item(&w);
    jw_open(&w, '{');
    MEMBER(&w, "file");
    jw_string(&w, l->v[i].file);
    if (l->v[i].bad) {
      MEMBER(&w, "state");
      jw_string(&w, "bad");
      MEMBER(&w, "error");
      jw_string(&w, l->v[i].why);
    } else {
      json_window(&w, &l->v[i].w, now);
    }
    jw_close(&w, '}');
  }
  jw_close(&w, ']');
  jw_raw(&w, "\n", 1);
  return jw_finish(&w);
}

int ctl_cmd_silences(const struct ctl_args *a, const char *dir, double now) {
  struct ctl_wfiles l;
  struct err err = {{0}};
  int rc = ctl_wfiles_load(dir, now, &l, &err);
  struct buf out;
  buf_init(&out, OUT_MAX);
  if (rc == 0 && (a->given & CTL_OPT_JSON))
    rc = silences_json(&l, now, &out);
  else if (rc == 0 && l.n == 0)
    buf_printf(&out, "no silences in %s\n", dir);
  else if (rc == 0)
    buf_printf(&out, "%-28s %-8s %-20s %-20s %s\n", "NAME", "STATE", "START",
               "END", "SELECTORS AND REASON");
  for (size_t i = 0; rc == 0 && !(a->given & CTL_OPT_JSON) && i < l.n; i++)
    silence_line(&l.v[i], now, &out);
  int code = rc != 0 ? ctl_fail(CTL_FAIL, "%s", err.msg) : ctl_print_buf(&out);
  buf_fini(&out);
  ctl_wfiles_fini(&l);
  return code;
}

int ctl_cmd_unsilence(const struct ctl_args *a, const char *dir, double now) {
  if (a->n_operands == 0)
    return ctl_fail(CTL_USAGE, "unsilence: give the NAME of a silence "
                               "(runscopectl silences lists them)");
  int code = CTL_OK;
  for (size_t i = 0; i < a->n_operands; i++) {
    char file[NAME_MAX + 1];
    struct err err = {{0}};
    if (ctl_window_remove(dir, a->operands[i], now, file, sizeof(file), &err) !=
        0)
      code = ctl_fail(CTL_FAIL, "%s", err.msg);
    else
      printf("removed %s/%s\n", dir, file);
  }
  return code;
}
