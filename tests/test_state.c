/* SPDX-License-Identifier: MIT */
/* Unit tests of the state store: the JSON format and the file handling. */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE   /* srand48, lrand48 */
#include "store/state.h"
#include "util/hash.h"

#include "store/fields.h"
#include "store/jw.h"

#include "core/reconcile.h"
#include "core/responses.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPTH 64
#define NOW                                                                    \
  1700000123.75 /* a corrupt file goes to "<path>.corrupt-1700000123" */

static char root[64];            /* every test's directory is in here */
static char dir[PATH_MAX];       /* a fresh directory per test */
static char path[PATH_MAX + 16]; /* dir/state.json */

/* ---- fixtures and helpers ---- */

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* Removes p and everything under it. */
static void rm_tree(const char *p) {
  chmod(p, 0700);
  nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void teardown(void) { rm_tree(dir); }

/* A fresh directory per test, under root. Check skips the teardown of a
 * failed test in its child, so main removes root at the end. */
static void setup(void) {
  snprintf(dir, sizeof(dir), "%s/XXXXXX", root);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void write_bytes(const char *p, const char *data, size_t len) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* The contents of p (caller frees), or NULL when it cannot be read. */
static char *slurp(const char *p, size_t *ret_len) {
  FILE *f = fopen(p, "rb");
  if (f == NULL)
    return NULL;
  struct buf b;
  buf_init(&b, 1 << 24);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    ck_assert_int_eq(buf_append(&b, chunk, n), 0);
  fclose(f);
  *ret_len = b.len;
  return buf_detach(&b);
}

/* How many entries dir holds, and how many of them contain part. */
static int count_entries(const char *part) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (part == NULL || strstr(e->d_name, part) != NULL)
      n++;
  }
  closedir(d);
  return n;
}

static void assert_empty(const struct rec_state *st) {
  ck_assert_uint_eq(st->n_keys, 0);
  ck_assert_uint_eq(st->n_cursors, 0);
  ck_assert_ptr_null(st->keys);
  ck_assert_ptr_null(st->cursors);
  ck_assert_uint_eq(st->fwd.n, 0);
  ck_assert_ptr_null(st->fwd.tests);
}

static struct rec_key *add_key(struct rec_state *st, const char *b,
                               const char *t, const char *e) {
  struct rec_key *k = NULL;
  ck_assert_int_eq(rec_key_get(st, b, t, e, &k), 0);
  return k;
}

/* Room for k's event ids (the reconciler allocates it with the first). */
static void events_room(struct rec_key *k) {
  if (k->event_ids == NULL)
    k->event_ids = calloc(REC_EVENTS_MAX, sizeof(*k->event_ids));
  ck_assert_ptr_nonnull(k->event_ids);
}

/* A new location of k (zeroed). */
static struct rec_run *new_loc(struct rec_key *k) {
  struct rec_run *l = rec_key_add_loc(k);
  ck_assert_ptr_nonnull(l);
  return l;
}

static void set_loc(struct rec_run *l, const char *location, const char *run,
                    bool failed, double started, double finished, long a) {
  str_set(&l->location, location, 0);
  str_set(&l->test_run_id, run, 0);
  l->failed = failed;
  l->started_at = started;
  l->finished_at = finished;
  l->assertions_failed = a;
  l->scripts_failed = a + 1;
  l->variables_failed = a + 2;
  l->requests_executed = a + 3;
}

/* Keys with locations, active events, requests with and without a request
 * id, notified flags, the limits of every array and string, and cursors, all
 * added out of order. */
static void make_rich(struct rec_state *st) {
  struct rec_key *k = add_key(st, "b1", "t1", "e1");
  set_loc(new_loc(k), "us1", "run-us1", true, 1700000000.123456,
          1700000003.654321, 2);
  set_loc(new_loc(k), "eu1", "run-eu1", false, 1700000000.1234567,
          1700000001.000001, 0);
  set_loc(new_loc(k), "agent:box-7", "run-agent", true, -1, 0.1 + 0.2,
          LONG_MAX - 3);
  k->ev = REC_EV_ACTIVE;
  events_room(k);
  snprintf(k->event_ids[0], sizeof(k->event_ids[0]), "ev-1");
  snprintf(k->event_ids[1], sizeof(k->event_ids[1]), "ev-2");
  k->n_events = 2;
  k->alerted_through = 1700000000.123456;
  k->checked_at = 1700000100.5;
  k->notified_failing = true;
  k->looked_up = true; /* transient: not saved */

  k = add_key(st, "b1", "t2", "e1");
  k->ev = REC_EV_REQUESTED;
  str_set(&k->request_id, "req-123", 0);
  k->request_confirmed = true;
  k->requested_at = 1712345678.999999;
  set_loc(new_loc(k), "", "run-noloc", true, 1712345600.000001, 1712345601, 1);

  k = add_key(st, "b2", "t1", "e9");
  k->ev = REC_EV_REQUESTED; /* the answer was lost: no request id */
  k->requested_at = 1712345678.25;
  k->alerted_through = 1712345600.000001 - 0.001;

  add_key(st, "a0", "t0", "e0"); /* all zero */

  char id[RS_ID_MAX];
  memset(id, 'x', sizeof(id) - 1);
  id[sizeof(id) - 1] = '\0';
  k = add_key(st, "b3", id, "e3"); /* the longest id, every slot used */
  for (size_t i = 0; i < REC_LOC_MAX; i++) {
    char loc[16];
    snprintf(loc, sizeof(loc), "loc%zu", i);
    set_loc(new_loc(k), loc, id, i % 2, 1700000000 + i * 0.000001,
            1700000000.5 + i, (long)i);
  }
  events_room(k);
  for (size_t i = 0; i < REC_EVENTS_MAX; i++)
    snprintf(k->event_ids[i], sizeof(k->event_ids[i]), "%.*s-%zu", 70, id, i);
  k->n_events = REC_EVENTS_MAX;
  k->ev = REC_EV_ACTIVE;

  ck_assert_int_eq(rec_cursor_set(st, "b2", "t1", 1712345600.000001), 0);
  ck_assert_int_eq(rec_cursor_set(st, "b1", "t2", 1700000000.122456), 0);
  ck_assert_int_eq(rec_cursor_set(st, "b1", "t1", 0), 0);
}

static void assert_run_eq(const struct rec_run *a, const struct rec_run *b) {
  ck_assert_str_eq(str_or_empty(a->location), str_or_empty(b->location));
  ck_assert_str_eq(str_or_empty(a->test_run_id), str_or_empty(b->test_run_id));
  ck_assert_int_eq(a->failed, b->failed);
  ck_assert_double_eq(a->started_at, b->started_at);
  ck_assert_double_eq(a->finished_at, b->finished_at);
  ck_assert_int_eq(a->assertions_failed, b->assertions_failed);
  ck_assert_int_eq(a->scripts_failed, b->scripts_failed);
  ck_assert_int_eq(a->variables_failed, b->variables_failed);
  ck_assert_int_eq(a->requests_executed, b->requests_executed);
}

static void assert_key_eq(const struct rec_key *a, const struct rec_key *b) {
  ck_assert_str_eq(a->key, b->key);
  ck_assert_str_eq(a->bucket_key, b->bucket_key);
  ck_assert_str_eq(a->test_id, b->test_id);
  ck_assert_str_eq(a->environment_id, b->environment_id);
  ck_assert_str_eq(str_or_empty(a->environment_name),
                   str_or_empty(b->environment_name));
  ck_assert_str_eq(str_or_empty(a->maintenance), str_or_empty(b->maintenance));
  ck_assert_str_eq(str_or_empty(a->last_maintenance),
                   str_or_empty(b->last_maintenance));
  ck_assert_uint_eq(a->n_locs, b->n_locs);
  for (size_t i = 0; i < a->n_locs; i++)
    assert_run_eq(&a->locs[i], &b->locs[i]);
  ck_assert_int_eq(a->ev, b->ev);
  ck_assert_uint_eq(a->n_events, b->n_events);
  for (size_t i = 0; i < a->n_events; i++)
    ck_assert_str_eq(a->event_ids[i], b->event_ids[i]);
  ck_assert_str_eq(str_or_empty(a->request_id), str_or_empty(b->request_id));
  ck_assert_int_eq(a->request_confirmed, b->request_confirmed);
  ck_assert_double_eq(a->requested_at, b->requested_at);
  ck_assert_double_eq(a->alerted_through, b->alerted_through);
  ck_assert_double_eq(a->checked_at, b->checked_at);
  ck_assert_int_eq(a->notified_failing, b->notified_failing);
}

/* want is the original, got the loaded copy (looked_up is never loaded). */
static void assert_state_eq(const struct rec_state *want,
                            const struct rec_state *got) {
  ck_assert_uint_eq(want->n_keys, got->n_keys);
  for (size_t i = 0; i < want->n_keys; i++) {
    assert_key_eq(want->keys[i], got->keys[i]);
    ck_assert(!got->keys[i]->looked_up);
  }
  ck_assert_uint_eq(want->n_cursors, got->n_cursors);
  for (size_t i = 0; i < want->n_cursors; i++) {
    ck_assert_str_eq(want->cursors[i].bucket_key, got->cursors[i].bucket_key);
    ck_assert_str_eq(want->cursors[i].test_id, got->cursors[i].test_id);
    ck_assert_double_eq(want->cursors[i].since, got->cursors[i].since);
  }
}

static void from_text(const char *text, struct rec_state *st, struct err *err) {
  rec_state_init(st);
  ck_assert_msg(state_from_json(text, strlen(text), DEPTH, st, err) == 0, "%s",
                err->msg);
}

#define HDR "{\"format\":\"collectd-runscope-state\",\"version\":1,"
#define K1 "{\"bucket_key\":\"b\",\"test_id\":\"t\",\"environment_id\":\"e\"}"
#define KEY_WITH(extra)                                                        \
  HDR "\"keys\":[" K1 ",{\"bucket_key\":\"b\",\"test_id\":\"t2\","             \
      "\"environment_id\":\"e\"," extra "}]}"

/* ---- round trip ---- */

START_TEST(test_roundtrip_json) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  /* readable and exact: a microsecond time is written as itself */
  ck_assert_ptr_nonnull(strstr(text.data, "\"started_at\":1700000000.123456,"));
  ck_assert_ptr_nonnull(strstr(text.data, "\"key\":\"b1/t1/e1\""));
  ck_assert_ptr_null(strstr(text.data, "looked_up"));
  buf_fini(&text);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

/* The digest is the same for a state read back from its text (equal
 * states, equal digests), changes when the state does (one location's
 * time by a microsecond), and comes back when the state does: the rule by
 * which an unchanged state is not written again. */
START_TEST(test_digest_follows_the_text) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  rec_state_init(&back);
  make_rich(&st);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  from_text(text.data, &back, &err);
  uint64_t d1, d2, d3, d_back;
  ck_assert_int_eq(state_digest(&st, &d1), 0);
  ck_assert_int_eq(state_digest(&back, &d_back), 0);
  ck_assert_uint_eq(d1, d_back);
  rec_state_fini(&back);
  struct rec_run *loc = &rec_key_find(&st, "b1/t1/e1")->locs[0];
  double was = loc->started_at;
  loc->started_at = was + 1e-6;
  ck_assert_int_eq(state_digest(&st, &d2), 0);
  ck_assert_uint_ne(d1, d2);
  loc->started_at = was;
  ck_assert_int_eq(state_digest(&st, &d3), 0);
  ck_assert_uint_eq(d1, d3);
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* The text of st without the times the APIs last answered (which the
 * digest leaves out), into out (emptied first). */
static void text_without_answered(const struct rec_state *st, struct buf *out) {
  struct rec_state bare = *st; /* shallow: read only */
  memset(&bare.answered, 0, sizeof(bare.answered));
  buf_reset(out);
  ck_assert_int_eq(state_to_json(&bare, out), 0);
}

/* Every digit and letter of a state's text changed in turn, the text read
 * back: whenever the state written again differs from the original's text,
 * its digest differs, and whenever it is the same text, so is the digest.
 * Every field the fixtures hold is touched, whatever its kind. */
static void digest_agrees_with_text(const char *orig) {
  struct rec_state st;
  struct buf want, got;
  uint64_t d_want, d_got;
  size_t len = strlen(orig), tried = 0, differed = 0;
  char *text = strdup(orig);
  buf_init(&want, 1 << 22);
  buf_init(&got, 1 << 22);
  rec_state_init(&st);
  ck_assert_int_eq(state_from_json(orig, len, DEPTH, &st, NULL), 0);
  text_without_answered(&st, &want);
  ck_assert_int_eq(state_digest(&st, &d_want), 0);
  for (size_t i = 0; i < len; i++) {
    char c = orig[i];
    if (c >= '0' && c <= '9')
      text[i] = c == '9' ? '0' : (char)(c + 1);
    else if (c >= 'a' && c <= 'z')
      text[i] = c == 'z' ? 'a' : (char)(c + 1);
    else
      continue;
    rec_state_fini(&st);
    rec_state_init(&st);
    if (state_from_json(text, len, DEPTH, &st, NULL) == 0) {
      tried++;
      text_without_answered(&st, &got);
      ck_assert_int_eq(state_digest(&st, &d_got), 0);
      bool same = strcmp(got.data, want.data) == 0;
      differed += !same;
      ck_assert_msg(same == (d_got == d_want),
                    "byte %zu ('%c'): text %s, "
                    "digest %s",
                    i, c, same ? "same" : "changed",
                    d_got == d_want ? "same" : "changed");
    }
    text[i] = c;
  }
  ck_assert_uint_gt(tried, 100);
  ck_assert_uint_gt(differed, 100);
  rec_state_fini(&st);
  buf_fini(&want);
  buf_fini(&got);
  free(text);
}

START_TEST(test_digest_agrees_with_the_text_on_every_change) {
  struct rec_state st;
  struct buf text;
  size_t len;
  rec_state_init(&st);
  make_rich(&st);
  ck_assert_int_eq(rec_cursor_set(&st, "b1", "t1", 5), 0);
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  digest_agrees_with_text(text.data);
  buf_fini(&text);
  rec_state_fini(&st);
  char *old = fixture("state_v1_full.json", &len);
  digest_agrees_with_text(old);
  free(old);
}
END_TEST

/* The strings a key and its latest runs hold on the heap, each on its
 * own (the ids of keys and cursors share a block with their key: the
 * digest's agreement with the text covers them). */
static char **heap_string(struct rec_state *st, int i) {
  struct rec_key *k = rec_key_find(st, "b1/t1/e1");
  char **all[] = {&k->environment_name, &k->request_id,
                  &k->maintenance,      &k->last_maintenance,
                  &k->locs[0].location, &k->locs[0].test_run_id};
  return all[i];
}

/* The digest changes with each string held on the heap (set, changed or
 * cleared) and comes back with it. */
START_TEST(test_digest_follows_heap_strings) {
  struct rec_state st;
  rec_state_init(&st);
  make_rich(&st);
  ck_assert_int_eq(rec_cursor_set(&st, "b1", "t1", 5), 0);
  char **p = heap_string(&st, _i);
  char *was = *p != NULL ? strdup(*p) : NULL;
  uint64_t d1, d2, d3, d4;
  ck_assert_int_eq(state_digest(&st, &d1), 0);
  ck_assert_int_eq(str_set(p, "changed", 0), 0);
  ck_assert_int_eq(state_digest(&st, &d2), 0);
  ck_assert_uint_ne(d1, d2);
  ck_assert_int_eq(str_set(p, NULL, 0), 0);
  ck_assert_int_eq(state_digest(&st, &d3), 0);
  ck_assert_int_eq(str_set(p, was, 0), 0);
  ck_assert_int_eq(state_digest(&st, &d4), 0);
  ck_assert_uint_eq(d1, d4);
  ck_assert(was == NULL || d3 != d1); /* cleared: "" or left out */
  free(was);
  rec_state_fini(&st);
}
END_TEST

/* Strings that JSON must escape (quotes, backslashes, every control
 * character) and UTF-8 come back as they were, and the text is plain JSON
 * that json-c reads as the same strings. */
START_TEST(test_roundtrip_escapes) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  char ctl[40];
  for (int c = 1; c < 0x20; c++)
    ctl[c - 1] = (char)c;
  ctl[0x1f] = '\0';
  struct rec_key *k = add_key(&st, "b\"q\\", ctl, "caf\xc3\xa9 \xe2\x82\xac/");
  str_set(&k->request_id, "\\\\\"\"\\u0041", 0);
  set_loc(new_loc(k), "agent:\"x\"\n", "r\t1", true, 1700000000.5,
          1700000001.25, 0);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  for (size_t i = 0; i + 1 < text.len; i++) /* one line, no raw control */
    ck_assert_msg((unsigned char)text.data[i] >= 0x20, "byte %zu", i);
  ck_assert_int_eq(text.data[text.len - 1], '\n');
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  ck_assert_str_eq(back.keys[0]->test_id, ctl);
  ck_assert_str_eq(str_or_empty(back.keys[0]->request_id), "\\\\\"\"\\u0041");
  ck_assert_str_eq(str_or_empty(back.keys[0]->locs[0].location),
                   "agent:\"x\"\n");
  buf_fini(&text);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

START_TEST(test_roundtrip_file) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_msg(state_load(path, NOW, DEPTH, &back, &err) == 0, "%s", err.msg);
  assert_state_eq(&st, &back);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

/* A state of many chunks (the save writes it as it goes): a thousand
 * keys with locations and cursors come back whole, and the file is the
 * text state_to_json gives. */
START_TEST(test_roundtrip_file_large) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  for (int i = 0; i < 1000; i++) {
    char t[32];
    snprintf(t, sizeof(t), "test-%04d", i);
    struct rec_key *k = add_key(&st, "bucket-large", t, "env");
    set_loc(new_loc(k), "us1", t, i % 3 == 0, 1700000000 + i, 1700000001 + i,
            i);
    ck_assert_int_eq(rec_cursor_set(&st, "bucket-large", t, 1700000000.5 + i),
                     0);
  }
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  struct buf text, file;
  buf_init(&text, STATE_FILE_MAX);
  buf_init(&file, STATE_FILE_MAX);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_uint_gt(text.len, 4 * 65536); /* JW_CHUNK is 64 KiB */
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    ck_assert_int_eq(buf_append(&file, chunk, n), 0);
  fclose(f);
  ck_assert_uint_eq(file.len, text.len);
  ck_assert(memcmp(file.data, text.data, text.len) == 0);
  rec_state_init(&back);
  ck_assert_msg(state_load(path, NOW, DEPTH, &back, &err) == 0, "%s", err.msg);
  assert_state_eq(&st, &back);
  buf_fini(&file);
  buf_fini(&text);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

START_TEST(test_roundtrip_empty) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &back, &err), 0);
  assert_empty(&back);
}
END_TEST

/* Many microsecond times near 1.7e9 and a few awkward doubles read back as
 * the very same double. */
START_TEST(test_roundtrip_precision) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  srand48(42);
  const double odd[] = {0.1 + 0.2,          1e-7,    -1,
                        1700000000.1234567, 2e9 / 3, 1700000000.123456 - 0.001,
                        4503599627370497.0};
  const size_t n_odd = sizeof(odd) / sizeof(odd[0]);
  for (size_t i = 0; i < 2000; i++) {
    char t[32];
    snprintf(t, sizeof(t), "t%04zu", i);
    double since = i < n_odd ? odd[i]
                             : 1.7e9 + (double)(lrand48() % 100000000) +
                                   (double)(lrand48() % 1000000) / 1e6;
    ck_assert_int_eq(rec_cursor_set(&st, "b", t, since), 0);
  }
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  buf_fini(&text);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

/* ---- reading: order, unknown and missing fields ---- */

START_TEST(test_read_sorts) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(HDR "\"keys\":["
                "{\"bucket_key\":\"c\",\"test_id\":\"t\",\"environment_id\":"
                "\"e\"},"
                "{\"bucket_key\":\"a\",\"test_id\":\"t\",\"environment_id\":"
                "\"e\"},"
                "{\"bucket_key\":\"b\",\"test_id\":\"t\",\"environment_id\":"
                "\"e\"}],"
                "\"cursors\":["
                "{\"bucket_key\":\"b\",\"test_id\":\"z\",\"since\":3},"
                "{\"bucket_key\":\"b\",\"test_id\":\"a\",\"since\":2},"
                "{\"bucket_key\":\"a\",\"test_id\":\"z\",\"since\":1}]}",
            &st, &err);
  ck_assert_uint_eq(st.n_keys, 3);
  ck_assert_str_eq(st.keys[0]->key, "a/t/e");
  ck_assert_str_eq(st.keys[1]->key, "b/t/e");
  ck_assert_str_eq(st.keys[2]->key, "c/t/e");
  ck_assert_ptr_eq(rec_key_find(&st, "b/t/e"), st.keys[1]);
  ck_assert_uint_eq(st.n_cursors, 3);
  ck_assert_double_eq(st.cursors[0].since, 1);
  ck_assert_double_eq(st.cursors[1].since, 2);
  ck_assert_double_eq(st.cursors[2].since, 3);
  ck_assert_ptr_eq(rec_cursor_find(&st, "b", "a"), &st.cursors[1]);
  rec_state_fini(&st);
}
END_TEST

/* Unknown fields are ignored at every level; missing optional fields and
 * nulls read as zero; "keys" and "cursors" may be absent. */
START_TEST(test_read_lenient) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(HDR "\"written_by\":\"a later 1.x\",\"keys\":["
                "{\"bucket_key\":\"b\",\"test_id\":\"t\",\"environment_id\":"
                "\"e\",\"future\":{\"x\":[1,2,{}]},\"checked_at\":null,"
                "\"locations\":[{\"region_name\":\"Virginia\"}]}]}",
            &st, &err);
  ck_assert_uint_eq(st.n_keys, 1);
  const struct rec_key *k = st.keys[0];
  ck_assert_str_eq(k->key, "b/t/e");
  ck_assert_uint_eq(k->n_locs, 1);
  ck_assert_str_eq(str_or_empty(k->locs[0].location), "");
  ck_assert_int_eq(k->locs[0].failed, false);
  ck_assert_double_eq(k->locs[0].started_at, 0);
  ck_assert_int_eq(k->locs[0].requests_executed, 0);
  ck_assert_int_eq(k->ev, REC_EV_NONE);
  ck_assert_uint_eq(k->n_events, 0);
  ck_assert_str_eq(str_or_empty(k->request_id), "");
  ck_assert_double_eq(k->checked_at, 0);
  ck_assert_uint_eq(st.n_cursors, 0);
  rec_state_fini(&st);

  from_text("{\"version\":1,\"format\":\"collectd-runscope-state\"}", &st,
            &err);
  assert_empty(&st);
}
END_TEST

/* A number JSON cannot hold is written as null and reads back as 0; an
 * impossible in-memory state is refused. */
START_TEST(test_write_edge_values) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  struct rec_key *k = add_key(&st, "b", "t", "e");
  k->checked_at = NAN;
  k->requested_at = INFINITY;
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_nonnull(strstr(text.data, "\"checked_at\":null"));
  from_text(text.data, &back, &err);
  ck_assert_double_eq(back.keys[0]->checked_at, 0);
  ck_assert_double_eq(back.keys[0]->requested_at, 0);
  rec_state_fini(&back);

  buf_reset(&text);
  k->n_locs = REC_LOC_MAX + 1;
  ck_assert_int_eq(state_to_json(&st, &text), -EINVAL);
  k->n_locs = 0;
  k->ev = (enum rec_event_state)7;
  ck_assert_int_eq(state_to_json(&st, &text), -EINVAL);
  ck_assert_uint_eq(text.len, 0);

  buf_fini(&text);
  buf_init(&text, 10); /* too small: the bound is honoured */
  k->ev = REC_EV_NONE;
  ck_assert_int_eq(state_to_json(&st, &text), -EMSGSIZE);
  ck_assert_uint_eq(text.len, 0);
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* ---- the forward section ---- */

/* Forward entries in every shape: a cursor from a time (no id), a cursor
 * at a run, the delivered ids full, a write-ahead mark, the longest ids. */
static void make_forward(struct rec_state *st) {
  struct fwd_test *t;
  ck_assert_int_eq(fwd_test_get(&st->fwd, "b2", "t1", 1700000000.25, &t), 0);
  ck_assert_int_eq(fwd_test_get(&st->fwd, "b1", "t9", 0, &t), 0);
  t->through = 1712345600.000001;
  snprintf(t->through_id, sizeof(t->through_id), "run-9");
  snprintf(t->delivered[0], sizeof(t->delivered[0]), "run-8");
  snprintf(t->delivered[1], sizeof(t->delivered[1]), "run-9");
  t->n_delivered = 2;
  fwd_mark_sending(t, "run-10", 1712345700.5);
  char id[RS_ID_MAX];
  memset(id, 'x', sizeof(id) - 1);
  id[sizeof(id) - 1] = '\0';
  ck_assert_int_eq(fwd_test_get(&st->fwd, "b1", id, 1.5, &t), 0);
  for (size_t i = 0; i < FWD_DELIVERED_MAX; i++)
    snprintf(t->delivered[i], sizeof(t->delivered[i]), "%.*s%02zu", 70, id, i);
  t->n_delivered = FWD_DELIVERED_MAX;
  snprintf(t->through_id, sizeof(t->through_id), "%s", id);
}

static void assert_forward_eq(const struct fwd_state *want,
                              const struct fwd_state *got) {
  ck_assert_uint_eq(want->n, got->n);
  for (size_t i = 0; i < want->n; i++) {
    const struct fwd_test *a = &want->tests[i], *b = &got->tests[i];
    ck_assert_str_eq(a->bucket_key, b->bucket_key);
    ck_assert_str_eq(a->test_id, b->test_id);
    ck_assert_double_eq(a->through, b->through);
    ck_assert_str_eq(a->through_id, b->through_id);
    ck_assert_uint_eq(a->n_delivered, b->n_delivered);
    for (size_t j = 0; j < a->n_delivered; j++)
      ck_assert_str_eq(a->delivered[j], b->delivered[j]);
    ck_assert_str_eq(a->sending, b->sending);
    ck_assert_double_eq(a->sending_at, b->sending_at);
  }
}

/* The section round-trips through the JSON and the file, next to keys and
 * cursors, and the loaded entries can be found. */
START_TEST(test_roundtrip_forward) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  make_forward(&st);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_nonnull(strstr(text.data, "\"forward\":[{\"delivered\":["));
  ck_assert_ptr_nonnull(strstr(text.data, "\"sending\":\"run-10\""));
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  assert_forward_eq(&st.fwd, &back.fwd);
  ck_assert_ptr_eq(fwd_test_find(&back.fwd, "b2", "t1"), &back.fwd.tests[2]);
  rec_state_fini(&back);
  buf_fini(&text);

  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_msg(state_load(path, NOW, DEPTH, &back, &err) == 0, "%s", err.msg);
  assert_state_eq(&st, &back);
  assert_forward_eq(&st.fwd, &back.fwd);
  rec_state_fini(&back);
  rec_state_fini(&st);
  ck_assert_uint_eq(st.fwd.n, 0); /* rec_state_fini frees the section */
}
END_TEST

/* A file without the section (every file written before forward mode, and
 * manage mode's) loads with no entries, and an empty section is not
 * written; entries may come in any order and need only their identity. */
START_TEST(test_forward_optional) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(HDR "\"keys\":[" K1 "],\"cursors\":[{\"bucket_key\":\"b\","
                "\"test_id\":\"t\",\"since\":5}]}",
            &st, &err);
  ck_assert_uint_eq(st.n_keys, 1);
  ck_assert_uint_eq(st.fwd.n, 0);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_null(strstr(text.data, "forward"));
  rec_state_fini(&st);

  from_text(HDR "\"forward\":[{\"bucket_key\":\"z\",\"test_id\":\"t\","
                "\"through\":2,\"future\":[1]},"
                "{\"bucket_key\":\"a\",\"test_id\":\"t\",\"through\":1,"
                "\"sending\":null}]}",
            &st, &err);
  ck_assert_uint_eq(st.fwd.n, 2);
  ck_assert_str_eq(st.fwd.tests[0].bucket_key, "a");
  ck_assert_double_eq(st.fwd.tests[1].through, 2);
  ck_assert_str_eq(st.fwd.tests[1].through_id, "");
  ck_assert_uint_eq(st.fwd.tests[1].n_delivered, 0);
  ck_assert_str_eq(st.fwd.tests[0].sending, "");

  /* an impossible in-memory entry is refused */
  st.fwd.tests[0].n_delivered = FWD_DELIVERED_MAX + 1;
  buf_reset(&text);
  ck_assert_int_eq(state_to_json(&st, &text), -EINVAL);
  ck_assert_uint_eq(text.len, 0);
  st.fwd.tests[0].n_delivered = 0;
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* ---- loading: no file, corrupt files, unreadable paths ---- */

START_TEST(test_load_missing) {
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &st, &err), -ENOENT);
  assert_empty(&st);
  ck_assert_int_eq(count_entries(NULL), 0); /* nothing created */
}
END_TEST

/* One delivered id more than a forward entry holds. */
#define FWD_IDS_4 "\"r\",\"r\",\"r\",\"r\","
#define FWD_IDS_17 FWD_IDS_4 FWD_IDS_4 FWD_IDS_4 FWD_IDS_4 "\"r\""

static const struct {
  const char *name;
  const char *text; /* @TOKENS@ are expanded by expand() */
  const char *why;  /* part of the message */
} corrupt_cases[] = {
    {"truncated", HDR "\"keys\":[" K1 ",{\"bucket_key\":\"b2\",\"test_",
     "truncated"},
    {"not JSON", "this is not a state file\n", "malformed JSON"},
    {"empty file", "", "empty"},
    {"only spaces", " \n\n", "empty"},
    {"binary", "\x89PNG\r\n\x1a\n", "malformed JSON"},
    {"top-level array", "[" K1 "]", "not a JSON object"},
    /* jsonx_parse calls a top-level null "truncated JSON" */
    {"top-level null", "null", "JSON"},
    {"trailing bytes", HDR "\"keys\":[]}\n}", "trailing"},
    {"too deep", HDR "\"future\":@DEEP@}", "deeper"},
    {"unknown version 99",
     "{\"format\":\"collectd-runscope-state\","
     "\"version\":99,\"keys\":[" K1 "]}",
     "version: 99 is not supported"},
    {"version a string",
     "{\"format\":\"collectd-runscope-state\","
     "\"version\":\"1\"}",
     "version: not an integer"},
    {"version missing", "{\"format\":\"collectd-runscope-state\"}",
     "version: missing"},
    {"another format", "{\"format\":\"something-else\",\"version\":1}",
     "format"},
    {"format missing", "{\"version\":1,\"keys\":[]}", "format: missing"},
    {"keys an object", HDR "\"keys\":{}}", "keys: not an array"},
    {"key a number", HDR "\"keys\":[" K1 ",42]}", "keys[1]: not an object"},
    {"bucket_key a number",
     HDR "\"keys\":[" K1 ",{\"bucket_key\":7,\"test_id\":\"t\","
         "\"environment_id\":\"e\"}]}",
     "keys[1].bucket_key: not a string"},
    {"environment_id missing",
     HDR "\"keys\":[" K1 ",{\"bucket_key\":\"b\",\"test_id\":\"t2\"}]}",
     "keys[1].environment_id: missing"},
    {"started_at a string",
     KEY_WITH("\"locations\":[{\"started_at\":\"yesterday\"}]"),
     "keys[1].locations[0].started_at: not a number"},
    {"started_at NaN", KEY_WITH("\"locations\":[{\"started_at\":NaN}]"),
     "started_at"},
    {"failed a string", KEY_WITH("\"locations\":[{\"failed\":\"yes\"}]"),
     "failed: not a boolean"},
    {"count a real", KEY_WITH("\"locations\":[{\"scripts_failed\":1.5}]"),
     "scripts_failed: not an integer"},
    {"location not an object", KEY_WITH("\"locations\":[[]]"),
     "locations[0]: not an object"},
    {"event_ids a string", KEY_WITH("\"event_ids\":\"ev-1\""),
     "event_ids: not an array"},
    {"test_id too long",
     HDR "\"keys\":[" K1 ",{\"bucket_key\":\"b\",\"test_id\":\"@LONG@\","
         "\"environment_id\":\"e\"}]}",
     "keys[1].test_id: too long"},
    {"event id too long", KEY_WITH("\"event_ids\":[\"@LONG@\"]"),
     "event_ids[0]: too long"},
    {"request_id too long", KEY_WITH("\"request_id\":\"@LONG@\""),
     "request_id: too long"},
    {"location too long",
     KEY_WITH("\"locations\":[{\"location\":\"@LONG@@LONG@\"}]"),
     "location: too long"},
    {"too many locations", KEY_WITH("\"locations\":[@LOCS@]"),
     "locations: 17 elements"},
    {"too many events", KEY_WITH("\"event_ids\":[@EVENTS@]"),
     "event_ids: 17 elements"},
    {"unknown event state", KEY_WITH("\"event\":\"paused\""),
     "unknown state \"paused\""},
    {"key that does not match", KEY_WITH("\"key\":\"b/t/other\""),
     "does not match"},
    {"duplicate key", HDR "\"keys\":[" K1 "," K1 "]}", "appears twice"},
    {"cursor without since",
     HDR "\"cursors\":[{\"bucket_key\":\"b\",\"test_id\":\"t\"}]}",
     "cursors[0].since: missing"},
    {"forward entry without through",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\"}]}",
     "forward[0].through: missing"},
    {"forward entry without test_id",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"through\":1}]}",
     "forward[0].test_id: missing"},
    {"forward an object", HDR "\"forward\":{}}", "forward: not an array"},
    {"forward entry a string", HDR "\"forward\":[\"b/t\"]}",
     "forward[0]: not an object"},
    {"delivered a string",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":1,\"delivered\":\"r1\"}]}",
     "forward[0].delivered: not an array"},
    {"too many delivered ids",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":1,\"delivered\":[" FWD_IDS_17 "]}]}",
     "forward[0].delivered: 17 elements"},
    {"delivered id too long",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":1,\"delivered\":[\"@LONG@\"]}]}",
     "forward[0].delivered[0]: too long"},
    {"through a string",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":\"1\"}]}",
     "forward[0].through: not a number"},
    {"sending too long",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":1,\"sending\":\"@LONG@\"}]}",
     "forward[0].sending: too long"},
    {"duplicate forward entry",
     HDR "\"forward\":[{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":1},{\"bucket_key\":\"b\",\"test_id\":\"t\","
         "\"through\":2}]}",
     "the forward entry of b/t appears twice"},
    {"duplicate cursor",
     HDR "\"cursors\":[{\"bucket_key\":\"b\",\"test_id\":\"t\",\"since\":1},"
         "{\"bucket_key\":\"b\",\"test_id\":\"t\",\"since\":2}]}",
     "appears twice"},
    {"traffic bucket without since",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\"}]}",
     "traffic_buckets[0].since: missing"},
    {"traffic bucket twice",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":1},"
         "{\"bucket_key\":\"b\",\"since\":2}]}",
     "traffic_buckets[1].bucket_key: \"b\" appears twice"},
    {"seen a string",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":1,"
         "\"seen\":\"m1\"}]}",
     "traffic_buckets[0].seen: not an array"},
    {"seen entry without at",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":1,"
         "\"seen\":[{\"uuid\":\"m1\"}]}]}",
     "traffic_buckets[0].seen[0].at: missing"},
    {"seen uuid twice",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":1,"
         "\"seen\":[{\"uuid\":\"m1\",\"at\":5},{\"uuid\":\"m1\",\"at\":6}]}]}",
     "traffic_buckets[0].seen[1].uuid: \"m1\" appears twice"},
    {"seen uuid too long",
     HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":1,"
         "\"seen\":[{\"uuid\":\"@LONG@\",\"at\":5}]}]}",
     "seen[0].uuid: too long"},
    {"traffic rule without rule",
     HDR "\"traffic_rules\":[{\"bucket_key\":\"b\"}]}",
     "traffic_rules[0].rule: missing"},
    {"traffic rule twice",
     HDR "\"traffic_rules\":[{\"bucket_key\":\"b\",\"rule\":\"r\"},"
         "{\"bucket_key\":\"b\",\"rule\":\"r\",\"held\":1}]}",
     "traffic_rules[1].rule: \"r\" of b appears twice"},
    {"held a real",
     HDR "\"traffic_rules\":[{\"bucket_key\":\"b\",\"rule\":\"r\","
         "\"held\":1.5}]}",
     "traffic_rules[0].held: not an integer"},
    {"held negative",
     HDR "\"traffic_rules\":[{\"bucket_key\":\"b\",\"rule\":\"r\","
         "\"held\":-1}]}",
     "traffic_rules[0].held: negative"},
    {"traffic_rules an object", HDR "\"traffic_rules\":{}}",
     "traffic_rules: not an array"},
};

/* Appends n copies of s to b. */
static void repeat(struct buf *b, const char *s, size_t n, const char *sep) {
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(buf_printf(b, "%s%s", i ? sep : "", s), 0);
}

/* tmpl with @LONG@ (an id one byte too long), @LOCS@, @EVENTS@ (one element
 * too many) and @DEEP@ (nested past DEPTH) expanded into b. */
static void expand(const char *tmpl, struct buf *b) {
  char id[RS_ID_MAX + 1];
  memset(id, 'x', RS_ID_MAX);
  id[RS_ID_MAX] = '\0';
  while (*tmpl != '\0') {
    if (strncmp(tmpl, "@LONG@", 6) == 0)
      repeat(b, id, 1, ""), tmpl += 6;
    else if (strncmp(tmpl, "@LOCS@", 6) == 0)
      repeat(b, "{}", REC_LOC_MAX + 1, ","), tmpl += 6;
    else if (strncmp(tmpl, "@EVENTS@", 8) == 0)
      repeat(b, "\"ev\"", REC_EVENTS_MAX + 1, ","), tmpl += 8;
    else if (strncmp(tmpl, "@DEEP@", 6) == 0)
      repeat(b, "[", DEPTH + 1, ""), repeat(b, "]", DEPTH + 1, ""), tmpl += 6;
    else
      ck_assert_int_eq(buf_append(b, tmpl++, 1), 0);
  }
}

START_TEST(test_load_corrupt) {
  struct buf text;
  buf_init(&text, 1 << 20);
  expand(corrupt_cases[_i].text, &text);
  const char *data = text.data ? text.data : "";
  write_bytes(path, data, text.len);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &st, &err), -EBADMSG);
  assert_empty(&st);

  char aside[2 * PATH_MAX];
  snprintf(aside, sizeof(aside), "%s.corrupt-1700000123", path);
  ck_assert_int_eq(access(path, F_OK), -1);
  size_t len;
  char *moved = slurp(aside, &len);
  ck_assert_msg(moved != NULL, "%s: %s not there", corrupt_cases[_i].name,
                aside);
  ck_assert_uint_eq(len, text.len);
  ck_assert_mem_eq(moved, data, len);
  ck_assert_int_eq(count_entries(NULL), 1);
  ck_assert_msg(strstr(err.msg, aside) && strstr(err.msg, "corrupt") &&
                    strstr(err.msg, corrupt_cases[_i].why),
                "%s: message \"%s\" lacks \"%s\"", corrupt_cases[_i].name,
                err.msg, corrupt_cases[_i].why);
  free(moved);
  buf_fini(&text);
}
END_TEST

/* state_from_json on its own: the same text is refused and the state that
 * came in (even a non-empty one) is left empty. */
START_TEST(test_from_json_corrupt) {
  struct buf text;
  buf_init(&text, 1 << 20);
  expand(corrupt_cases[_i].text, &text);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  add_key(&st, "x", "y", "z");
  ck_assert_int_eq(
      state_from_json(text.data ? text.data : "", text.len, DEPTH, &st, &err),
      -EBADMSG);
  assert_empty(&st);
  ck_assert_ptr_nonnull(strstr(err.msg, corrupt_cases[_i].why));
  buf_fini(&text);
}
END_TEST

/* A directory in place of the file: an error, and nothing is moved. */
START_TEST(test_load_directory) {
  ck_assert_int_eq(mkdir(path, 0700), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &st, &err), -EISDIR);
  assert_empty(&st);
  ck_assert_ptr_nonnull(strstr(err.msg, path));
  ck_assert_int_eq(count_entries("corrupt"), 0);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert(S_ISDIR(sb.st_mode));
}
END_TEST

/* A regular file where a directory should be: -ENOTDIR, not a first start. */
START_TEST(test_load_not_a_directory) {
  char p[2 * PATH_MAX];
  write_bytes(path, "x", 1);
  snprintf(p, sizeof(p), "%s/state.json", path);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(p, NOW, DEPTH, &st, &err), -ENOTDIR);
  ck_assert_ptr_nonnull(strstr(err.msg, p));
  ck_assert_int_eq(count_entries(NULL), 1);
}
END_TEST

/* A file larger than STATE_FILE_MAX (sparse, so cheap) is not read, and not
 * moved: it is not known to be corrupt. */
START_TEST(test_load_too_large) {
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, (off_t)STATE_FILE_MAX + 1), 0);
  close(fd);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &st, &err), -EFBIG);
  ck_assert_ptr_nonnull(strstr(err.msg, path));
  ck_assert_int_eq(access(path, F_OK), 0);
  ck_assert_int_eq(count_entries(NULL), 1);
}
END_TEST

/* An unreadable file: -EACCES, nothing moved. Root reads anything, so this
 * only runs as another user. */
START_TEST(test_load_unreadable) {
  if (geteuid() == 0) {
    fprintf(stderr, "test_load_unreadable: skipped as root\n");
    return;
  }
  write_bytes(path, "{}", 2);
  ck_assert_int_eq(chmod(path, 0), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &st, &err), -EACCES);
  ck_assert_ptr_nonnull(strstr(err.msg, "open"));
  ck_assert_int_eq(count_entries("corrupt"), 0);
}
END_TEST

/* ---- saving ---- */

START_TEST(test_save_creates_0600) {
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  mode_t old_umask = umask(0); /* the mode must not come from the umask */
  int rc = state_save(path, &st, &err);
  umask(old_umask);
  ck_assert_msg(rc == 0, "%s", err.msg);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 07777, 0600);
  ck_assert_int_eq(count_entries(NULL), 1); /* no temp file left */

  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  size_t len;
  char *saved = slurp(path, &len);
  ck_assert_uint_eq(len, text.len);
  ck_assert_mem_eq(saved, text.data, len);
  free(saved);
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* The new file replaces the old one by rename: a hard link to the old file
 * still holds the old bytes, so it was never rewritten in place. */
START_TEST(test_save_replaces) {
  char link_path[2 * PATH_MAX];
  snprintf(link_path, sizeof(link_path), "%s/old", dir);
  write_bytes(path, "OLD CONTENT", 11);
  ck_assert_int_eq(link(path, link_path), 0);
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  size_t len;
  char *old = slurp(link_path, &len);
  ck_assert_uint_eq(len, 11);
  ck_assert_mem_eq(old, "OLD CONTENT", 11);
  free(old);
  rec_state_init(&back);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &back, &err), 0);
  assert_state_eq(&st, &back);
  ck_assert_int_eq(count_entries(NULL), 2); /* state.json and old */
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

START_TEST(test_save_missing_dir) {
  char p[2 * PATH_MAX];
  snprintf(p, sizeof(p), "%s/nope/state.json", dir);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  ck_assert_int_eq(state_save(p, &st, &err), -ENOENT);
  ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, "does not exist"), "%s",
                err.msg);
  ck_assert_int_eq(count_entries(NULL), 0); /* nothing created */
  rec_state_fini(&st);
}
END_TEST

static void assert_old_intact(void) {
  size_t len;
  char *old = slurp(path, &len);
  ck_assert_ptr_nonnull(old);
  ck_assert_uint_eq(len, 11);
  ck_assert_mem_eq(old, "OLD CONTENT", 11);
  free(old);
  ck_assert_int_eq(count_entries(".tmp-"), 0);
}

/* A write that really fails, even as root: RLIMIT_FSIZE makes write() past
 * 64 bytes return EFBIG (SIGXFSZ ignored). */
START_TEST(test_save_write_fails) {
  write_bytes(path, "OLD CONTENT", 11);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  struct rlimit old_lim, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
  lim = old_lim;
  lim.rlim_cur = 64;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  int rc = state_save(path, &st, &err);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
  signal(SIGXFSZ, old_handler);
  ck_assert_int_eq(rc, -EFBIG);
  ck_assert_msg(strstr(err.msg, "state: write ") &&
                    strstr(err.msg, "state.json.tmp-") && strstr(err.msg, dir),
                "%s", err.msg);
  assert_old_intact();
  rec_state_fini(&st);
}
END_TEST

/* The rename fails (a non-empty directory is in the way): the temp file is
 * removed and the directory is untouched. */
START_TEST(test_save_rename_fails) {
  char inner[2 * PATH_MAX];
  ck_assert_int_eq(mkdir(path, 0700), 0);
  snprintf(inner, sizeof(inner), "%s/keep", path);
  write_bytes(inner, "k", 1);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  int rc = state_save(path, &st, &err);
  ck_assert_int_lt(rc, 0);
  ck_assert_msg(strstr(err.msg, "state: rename ") && strstr(err.msg, path),
                "%s", err.msg);
  ck_assert_int_eq(count_entries(".tmp-"), 0);
  ck_assert_int_eq(access(inner, F_OK), 0);
  rec_state_fini(&st);
}
END_TEST

/* A read-only directory: the temp file cannot be created. Root writes
 * anyway, so this only runs as another user. */
START_TEST(test_save_readonly_dir) {
  if (geteuid() == 0) {
    fprintf(stderr, "test_save_readonly_dir: skipped as root\n");
    return;
  }
  write_bytes(path, "OLD CONTENT", 11);
  ck_assert_int_eq(chmod(dir, 0500), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  int rc = state_save(path, &st, &err);
  chmod(dir, 0700);
  ck_assert_int_eq(rc, -EACCES);
  ck_assert_ptr_nonnull(strstr(err.msg, "state: create "));
  assert_old_intact();
}
END_TEST

/* A bare file name saves into the current directory. */
START_TEST(test_save_relative) {
  char cwd[PATH_MAX];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
  ck_assert_int_eq(chdir(dir), 0);
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  int rc = state_save("state.json", &st, &err);
  ck_assert_int_eq(chdir(cwd), 0);
  ck_assert_msg(rc == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_int_eq(state_load(path, NOW, DEPTH, &back, &err), 0);
  assert_state_eq(&st, &back);
  ck_assert_int_eq(state_save("", &st, &err), -EINVAL);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

/* ---- the suite ---- */

static TCase *add_case(Suite *s, const char *name, const TTest *t) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, t);
  suite_add_tcase(s, tc);
  return tc;
}

/* ---- traffic alerts' section ---- */

/* Two buckets with seen messages and three rules' flood control. */
static void make_traffic(struct rec_state *st) {
  struct tr_bucket_state *b;
  struct tr_rule_state *r;
  ck_assert_int_eq(tr_bucket_get(&st->traffic, "shop", 1700000000.5, &b), 0);
  ck_assert_int_eq(tr_seen_add(b, "m-2", 1700000100.123456), 0);
  ck_assert_int_eq(tr_seen_add(b, "m-1", 1700000050.25), 0);
  ck_assert_int_eq(tr_bucket_get(&st->traffic, "empty", 1699999000, &b), 0);
  ck_assert_int_eq(tr_rule_get(&st->traffic, "shop", "5xx", &r), 0);
  r->last_sent = 1700000101.75;
  r->held.count = 3;
  r->held.first_at = 1700000102.5;
  r->held.last_at = 1700000140.000001;
  snprintf(r->held.last_uuid, sizeof(r->held.last_uuid), "m-9");
  r->matches = 7; /* transient: not saved */
  ck_assert_int_eq(tr_rule_get(&st->traffic, "shop", "checkout \"x\"", &r), 0);
  snprintf(r->sending, sizeof(r->sending), "m-2");
  ck_assert_int_eq(tr_rule_get(&st->traffic, "empty", "quiet", &r), 0);
}

static void assert_traffic_eq(const struct tr_state *want,
                              const struct tr_state *got) {
  ck_assert_uint_eq(want->n_buckets, got->n_buckets);
  for (size_t i = 0; i < want->n_buckets; i++) {
    const struct tr_bucket_state *a = want->buckets[i], *b = got->buckets[i];
    ck_assert_str_eq(a->bucket_key, b->bucket_key);
    ck_assert_double_eq(a->since, b->since);
    ck_assert_uint_eq(a->n_seen, b->n_seen);
    for (size_t j = 0; j < a->n_seen; j++) {
      ck_assert_str_eq(a->seen[j].uuid, b->seen[j].uuid);
      ck_assert_double_eq(a->seen[j].at, b->seen[j].at);
    }
  }
  ck_assert_uint_eq(want->n_rules, got->n_rules);
  for (size_t i = 0; i < want->n_rules; i++) {
    const struct tr_rule_state *a = want->rules[i], *b = got->rules[i];
    ck_assert_str_eq(a->bucket_key, b->bucket_key);
    ck_assert_str_eq(a->rule, b->rule);
    ck_assert_double_eq(a->last_sent, b->last_sent);
    ck_assert_int_eq(a->held.count, b->held.count);
    ck_assert_double_eq(a->held.first_at, b->held.first_at);
    ck_assert_double_eq(a->held.last_at, b->held.last_at);
    ck_assert_str_eq(a->held.last_uuid, b->held.last_uuid);
    ck_assert_str_eq(a->sending, b->sending);
    ck_assert_uint_eq(b->matches + b->events + b->suppressed, 0);
  }
}

START_TEST(test_roundtrip_traffic) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  make_traffic(&st);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_nonnull(strstr(text.data, "\"traffic_buckets\":[{\"seen\":["
                                          "{\"uuid\":\"m-1\",\"at\":"
                                          "1700000050.25}"));
  ck_assert_ptr_nonnull(strstr(text.data, "\"held\":3,"));
  ck_assert_ptr_null(strstr(text.data, "matches"));
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  assert_traffic_eq(&st.traffic, &back.traffic);
  rec_state_fini(&back);
  buf_fini(&text);

  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_msg(state_load(path, NOW, DEPTH, &back, &err) == 0, "%s", err.msg);
  assert_state_eq(&st, &back);
  assert_traffic_eq(&st.traffic, &back.traffic);
  rec_state_fini(&back);
  rec_state_fini(&st);
  ck_assert_uint_eq(st.traffic.n_buckets + st.traffic.n_rules, 0);
}
END_TEST

/* Files without the section (written before it existed) still load, and
 * a state without traffic alerts does not write it; null and unknown fields
 * are tolerated as everywhere else. */
START_TEST(test_traffic_optional) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(HDR "\"keys\":[" K1 "],\"cursors\":[]}", &st, &err);
  ck_assert_uint_eq(st.n_keys, 1);
  ck_assert_uint_eq(st.traffic.n_buckets + st.traffic.n_rules, 0);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_null(strstr(text.data, "traffic"));
  rec_state_fini(&st);

  from_text(HDR "\"traffic_buckets\":[{\"bucket_key\":\"b\",\"since\":5,"
                "\"future\":1}],\"traffic_rules\":[{\"bucket_key\":\"b\","
                "\"rule\":\"r\",\"sending\":null,\"held\":null}]}",
            &st, &err);
  ck_assert_uint_eq(st.traffic.n_buckets, 1);
  ck_assert_uint_eq(st.traffic.buckets[0]->n_seen, 0);
  ck_assert_uint_eq(st.traffic.n_rules, 1);
  ck_assert_int_eq(st.traffic.rules[0]->held.count, 0);
  ck_assert_str_eq(st.traffic.rules[0]->sending, "");

  /* an impossible in-memory bucket is refused */
  st.traffic.buckets[0]->n_seen = TR_SEEN_MAX + 1;
  buf_reset(&text);
  ck_assert_int_eq(state_to_json(&st, &text), -EINVAL);
  ck_assert_uint_eq(text.len, 0);
  st.traffic.buckets[0]->n_seen = 0;
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* More seen messages than a bucket holds make the file corrupt. */
START_TEST(test_traffic_too_many_seen) {
  struct buf text;
  buf_init(&text, 1 << 22);
  ck_assert_int_eq(buf_puts(&text, HDR "\"traffic_buckets\":[{\"bucket_key\":"
                                       "\"b\",\"since\":1,\"seen\":["),
                   0);
  for (int i = 0; i <= TR_SEEN_MAX; i++)
    ck_assert_int_eq(buf_printf(&text, "%s{\"uuid\":\"m%d\",\"at\":%d}",
                                i ? "," : "", i, i + 10),
                     0);
  ck_assert_int_eq(buf_puts(&text, "]}]}"), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_from_json(text.data, text.len, DEPTH, &st, &err),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.msg, "traffic_buckets[0].seen: 4097"));
  ck_assert_uint_eq(st.traffic.n_buckets, 0);
  buf_fini(&text);
}
END_TEST

/* ---- responses to events ---- */

/* Two events' records: one with every field set to its limit, one empty. */
static void make_responses(struct rec_state *st) {
  struct resp_event *ev;
  ck_assert_int_eq(resp_get(st, "b1/t1/e1", "ev-1", &ev), 0);
  for (size_t i = 0; i < RESP_SEEN_MAX; i++) {
    ev->seen[i].id = 0xfedcba9876543210ULL - i;
    ev->seen[i].received = 1700000000.123456 + (double)i;
  }
  ev->n_seen = RESP_SEEN_MAX;
  ev->seen[1].received = 0;
  ev->seen_through = 1699999999.5;
  ev->reruns = 2;
  ev->rerun = RESP_RERUN_AWAITING;
  snprintf(ev->rerun_by, sizeof(ev->rerun_by), "jdoe \"the\" on-call");
  snprintf(ev->rerun_location, sizeof(ev->rerun_location), "agent:ag-7");
  ev->rerun_asked_at = 1700000100.25;
  ev->rerun_sent_at = 1700000101.000001;
  for (size_t i = 0; i < RESP_RUNS_MAX; i++)
    snprintf(ev->rerun_runs[i], sizeof(ev->rerun_runs[i]), "run-%zu", i);
  ev->n_rerun_runs = RESP_RUNS_MAX;
  snprintf(ev->acked_by, sizeof(ev->acked_by), "amy");
  ev->acked_at = 1700000050.5;
  ev->held_at = 1700000200.000001;
  ck_assert_int_eq(resp_get(st, "b1/t1/e1", "ev-2", &ev), 0);
  ev->rerun = RESP_RERUN_SENDING;
}

static void assert_responses_eq(const struct rec_state *want,
                                const struct rec_state *got) {
  ck_assert_uint_eq(want->n_responses, got->n_responses);
  for (size_t i = 0; i < want->n_responses; i++) {
    const struct resp_event *a = &want->responses[i], *b = &got->responses[i];
    ck_assert_str_eq(a->event_id, b->event_id);
    ck_assert_str_eq(a->key, b->key);
    ck_assert_uint_eq(a->n_seen, b->n_seen);
    for (size_t j = 0; j < a->n_seen; j++) {
      ck_assert(a->seen[j].id == b->seen[j].id);
      ck_assert_double_eq(a->seen[j].received, b->seen[j].received);
    }
    ck_assert_double_eq(a->seen_through, b->seen_through);
    ck_assert_uint_eq(a->reruns, b->reruns);
    ck_assert_int_eq(a->rerun, b->rerun);
    ck_assert_str_eq(a->rerun_by, b->rerun_by);
    ck_assert_str_eq(a->rerun_location, b->rerun_location);
    ck_assert_double_eq(a->rerun_asked_at, b->rerun_asked_at);
    ck_assert_double_eq(a->rerun_sent_at, b->rerun_sent_at);
    ck_assert_uint_eq(a->n_rerun_runs, b->n_rerun_runs);
    for (size_t j = 0; j < a->n_rerun_runs; j++)
      ck_assert_str_eq(a->rerun_runs[j], b->rerun_runs[j]);
    ck_assert_str_eq(a->acked_by, b->acked_by);
    ck_assert_double_eq(a->acked_at, b->acked_at);
    ck_assert_double_eq(a->held_at, b->held_at);
  }
}

START_TEST(test_roundtrip_responses) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  make_rich(&st);
  make_responses(&st);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_nonnull(strstr(text.data, "\"responses\":[{\"event_id\":"
                                          "\"ev-1\",\"key\":\"b1/t1/e1\","
                                          "\"seen\":[{\"id\":"
                                          "\"fedcba9876543210\","));
  ck_assert_ptr_nonnull(strstr(text.data, "\"rerun\":\"awaiting\""));
  from_text(text.data, &back, &err);
  assert_state_eq(&st, &back);
  assert_responses_eq(&st, &back);
  rec_state_fini(&back);
  buf_fini(&text);
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  rec_state_init(&back);
  ck_assert_msg(state_load(path, NOW, DEPTH, &back, &err) == 0, "%s", err.msg);
  assert_responses_eq(&st, &back);
  rec_state_fini(&back);
  /* an impossible record is refused, not written */
  st.responses[0].rerun = (enum resp_rerun)42;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), -EINVAL);
  buf_fini(&text);
  rec_state_fini(&st);
  ck_assert_uint_eq(st.n_responses, 0);
}
END_TEST

/* A file written before responses were kept loads with none, and a state
 * without responses does not write the section; a record needs only its
 * event id. */
START_TEST(test_responses_optional) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(HDR "\"keys\":[" K1 "],\"cursors\":[]}", &st, &err);
  ck_assert_uint_eq(st.n_keys, 1);
  ck_assert_uint_eq(st.n_responses, 0);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_null(strstr(text.data, "responses"));
  buf_fini(&text);
  rec_state_fini(&st);
  from_text(HDR "\"responses\":[{\"event_id\":\"e\",\"rerun\":null,"
                "\"future\":[1]}]}",
            &st, &err);
  ck_assert_uint_eq(st.n_responses, 1);
  ck_assert_str_eq(st.responses[0].event_id, "e");
  ck_assert_int_eq(st.responses[0].rerun, RESP_RERUN_NONE);
  ck_assert_uint_eq(st.responses[0].reruns, 0);
  rec_state_fini(&st);
}
END_TEST

static const struct {
  const char *records;
  const char *msg;
} bad_responses[] = {
    {"[{\"key\":\"b/t/e\"}]", "responses[0].event_id: missing"},
    {"[{\"event_id\":\"e\"},{\"event_id\":\"e\"}]",
     "responses[1].event_id: \"e\" appears twice"},
    {"[{\"event_id\":\"e\",\"rerun\":\"maybe\"}]",
     "responses[0].rerun: unknown state \"maybe\""},
    {"[{\"event_id\":\"e\",\"reruns\":-1}]",
     "responses[0].reruns: -1 is out of range"},
    {"[{\"event_id\":\"e\",\"reruns\":1.5}]",
     "responses[0].reruns: not an integer"},
    {"[{\"event_id\":\"e\",\"seen\":[{\"id\":\"xyz\"}]}]",
     "responses[0].seen[0].id: \"xyz\" is not 16 hex digits"},
    {"[{\"event_id\":\"e\",\"seen\":[{\"received\":1}]}]",
     "responses[0].seen[0].id: missing"},
    {"[{\"event_id\":\"e\",\"seen\":[7]}]",
     "responses[0].seen[0]: not an object"},
    {"[{\"event_id\":\"e\",\"rerun_runs\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}]",
     "responses[0].rerun_runs: 5 elements, at most 4"},
    {"[{\"event_id\":\"e\",\"acknowledged_at\":\"soon\"}]",
     "responses[0].acknowledged_at: not a number"},
    {"{\"event_id\":\"e\"}", "responses: not an array"},
    {"[\"e\"]", "responses[0]: not an object"},
};

START_TEST(test_responses_corrupt) {
  struct buf text;
  buf_init(&text, 1 << 16);
  ck_assert_int_eq(
      buf_printf(&text, HDR "\"responses\":%s}", bad_responses[_i].records), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_from_json(text.data, text.len, DEPTH, &st, &err),
                   -EBADMSG);
  ck_assert_str_eq(err.msg, bad_responses[_i].msg);
  ck_assert_uint_eq(st.n_responses, 0);
  ck_assert_ptr_null(st.responses);
  buf_fini(&text);
}
END_TEST

/* Too many seen responses for one record make the file corrupt. */
START_TEST(test_responses_too_many_seen) {
  struct buf text;
  buf_init(&text, 1 << 16);
  ck_assert_int_eq(buf_puts(&text, HDR "\"responses\":[{\"event_id\":\"e\","
                                       "\"seen\":["),
                   0);
  for (int i = 0; i <= RESP_SEEN_MAX; i++)
    ck_assert_int_eq(buf_printf(&text, "%s{\"id\":\"%016x\"}", i ? "," : "", i),
                     0);
  ck_assert_int_eq(buf_puts(&text, "]}]}"), 0);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_int_eq(state_from_json(text.data, text.len, DEPTH, &st, &err),
                   -EBADMSG);
  ck_assert_str_eq(err.msg, "responses[0].seen: 33 elements, at most 32");
  buf_fini(&text);
}
END_TEST

/* ---- the field tables: one row of each kind ---- */

enum probe_mood { MOOD_CALM = 0, MOOD_BUSY, MOOD_LOST };
static const char *const mood_names[] = {"calm", "busy", "lost"};

struct probe_item {
  char name[8];
  double at;
};

/* A record with a member of every kind a row can read and write. */
struct probe {
  char s[16];
  double d;
  long l;
  unsigned u;
  bool b;
  enum probe_mood e;
  uint64_t h;
  char strs[3][8];
  size_t n_strs;
  struct probe_item items[2];
  size_t n_items;
  struct probe_item *heap; /* FLD_LIST, grown by heap_add */
  size_t n_heap;
  struct probe_item **ptrs; /* FLD_PLIST, grown by ptrs_add */
  size_t n_ptrs;
};

static const struct fld_field item_fields[] = {
    FLD_STR("name", struct probe_item, name, FLD_REQUIRED),
    FLD_NUM("at", struct probe_item, at, 0),
};
static const struct fld_record item_record =
    FLD_RECORD(struct probe_item, item_fields, NULL, NULL);

static int heap_add(void *parent, void *elem, const char *where,
                    struct err *err) {
  struct probe *p = parent;
  struct probe_item *v = realloc(p->heap, (p->n_heap + 1) * sizeof(*v));
  if (v == NULL) {
    err_set(err, "%s: out of memory", where);
    return -ENOMEM;
  }
  p->heap = v;
  p->heap[p->n_heap++] = *(const struct probe_item *)elem;
  return 0;
}

static int ptrs_add(void *parent, void *elem, const char *where,
                    struct err *err) {
  struct probe *p = parent;
  struct probe_item **v = realloc(p->ptrs, (p->n_ptrs + 1) * sizeof(*v));
  if (v != NULL)
    p->ptrs = v;
  struct probe_item *item = v ? malloc(sizeof(*item)) : NULL;
  if (item == NULL) {
    err_set(err, "%s: out of memory", where);
    return -ENOMEM;
  }
  *item = *(const struct probe_item *)elem;
  p->ptrs[p->n_ptrs++] = item;
  return 0;
}

static void probe_fini(struct probe *p) {
  for (size_t i = 0; i < p->n_ptrs; i++)
    free(p->ptrs[i]);
  free(p->ptrs);
  free(p->heap);
}

static struct probe_item probe_heap[2] = {{"h0", 1e-7}, {"h1", -2.5}};
static struct probe_item *probe_ptrs[2] = {&probe_heap[1], &probe_heap[0]};

/* Every member set to a value that shows it is exact. */
static void make_probe(struct probe *p) {
  memset(p, 0, sizeof(*p));
  snprintf(p->s, sizeof(p->s), "%s", "a \"b\"\n\\");
  p->d = 1700000000.123456;
  p->l = LONG_MIN;
  p->u = 1000;
  p->b = true;
  p->e = MOOD_LOST;
  p->h = 0xfedcba9876543210ULL;
  snprintf(p->strs[0], sizeof(p->strs[0]), "one");
  p->strs[1][0] = '\0';
  snprintf(p->strs[2], sizeof(p->strs[2]), "1234567");
  p->n_strs = 3;
  p->items[0] = (struct probe_item){"i0", 0.5};
  p->items[1] = (struct probe_item){"i1", 0.1 + 0.2};
  p->n_items = 2;
  p->heap = probe_heap;
  p->n_heap = 2;
  p->ptrs = probe_ptrs;
  p->n_ptrs = 2;
}

#define PROBE struct probe
static const struct {
  const char *kind;
  struct fld_field row;
  const char *text; /* make_probe's value as written */
  const char *bad;  /* a value the row refuses */
  const char *why;  /* and what it says */
} kind_rows[] = {
    {"string", FLD_STR("s", PROBE, s, 0), "{\"s\":\"a \\\"b\\\"\\n\\\\\"}",
     "{\"s\":\"0123456789abcdef\"}", "s: too long (16 bytes, at most 15)"},
    {"number", FLD_NUM("d", PROBE, d, 0), "{\"d\":1700000000.123456}",
     "{\"d\":\"1\"}", "d: not a number"},
    {"long", FLD_LONG("l", PROBE, l, 0), "{\"l\":-9223372036854775808}",
     "{\"l\":1.0}", "l: not an integer"},
    {"unsigned", FLD_UINT("u", PROBE, u, 1000, 0), "{\"u\":1000}",
     "{\"u\":1001}", "u: 1001 is out of range"},
    {"bool", FLD_BOOL("b", PROBE, b, 0), "{\"b\":true}", "{\"b\":1}",
     "b: not a boolean"},
    {"enum", FLD_ENUM("e", PROBE, e, mood_names, 0), "{\"e\":\"lost\"}",
     "{\"e\":\"sad\"}", "e: unknown state \"sad\""},
    {"hex64", FLD_HEX64("h", PROBE, h, 0), "{\"h\":\"fedcba9876543210\"}",
     "{\"h\":\"fedcba987654321\"}",
     "h: \"fedcba987654321\" is not 16 hex digits"},
    {"tag", FLD_TAG("t", "probe"), "{\"t\":\"probe\"}", "{\"t\":\"probe2\"}",
     "t: \"probe2\", not \"probe\""},
    {"version", FLD_VERSION("v", 3), "{\"v\":3}", "{\"v\":4}",
     "v: 4 is not supported (this build reads version 3)"},
    {"strings", FLD_STRS("strs", PROBE, strs, n_strs),
     "{\"strs\":[\"one\",\"\",\"1234567\"]}", "{\"strs\":[\"a\",7]}",
     "strs[1]: not a string"},
    {"records in the struct",
     FLD_RECS("items", PROBE, items, n_items, &item_record),
     "{\"items\":[{\"name\":\"i0\",\"at\":0.5},"
     "{\"name\":\"i1\",\"at\":0.30000000000000004}]}",
     "{\"items\":[{\"name\":\"a\"},{\"at\":1}]}", "items[1].name: missing"},
    {"records on the heap",
     FLD_LIST("heap", PROBE, heap, n_heap, 2, &item_record, heap_add, NULL),
     "{\"heap\":[{\"name\":\"h0\",\"at\":1e-07},"
     "{\"name\":\"h1\",\"at\":-2.5}]}",
     "{\"heap\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}",
     "heap: 3 elements, at most 2"},
    {"records by pointer",
     FLD_PLIST("ptrs", PROBE, ptrs, n_ptrs, 2, &item_record, ptrs_add, NULL),
     "{\"ptrs\":[{\"name\":\"h1\",\"at\":-2.5},"
     "{\"name\":\"h0\",\"at\":1e-07}]}",
     "{\"ptrs\":[{\"name\":\"a\"},\"b\"]}", "ptrs[1]: not an object"},
};
#undef PROBE

/* The index in kind_rows of kind. */
static int kind_index(const char *kind) {
  int i = 0;
  while (strcmp(kind_rows[i].kind, kind) != 0)
    i++;
  return i;
}

/* The record of one row of kind_rows. */
static struct fld_record kind_record(int i) {
  return (struct fld_record){
      .fields = &kind_rows[i].row, .n_fields = 1, .size = sizeof(struct probe)};
}

/* Each kind's row writes the value as its text, reads the text back into
 * the same value (written again, the same text), and reads an absent or
 * null member as the zero value. */
START_TEST(test_field_kinds_roundtrip) {
  const struct fld_record r = kind_record(_i);
  struct probe want, got, zero;
  struct err err = {{0}};
  struct buf one, two;
  struct jw w;
  make_probe(&want);
  buf_init(&one, 1 << 16);
  buf_init(&two, 1 << 16);
  jw_to_buf(&w, &one);
  fld_write(&w, &r, &want);
  ck_assert_int_eq(jw_finish(&w), 0);
  ck_assert_str_eq(one.data, kind_rows[_i].text);
  memset(&got, 0, sizeof(got));
  ck_assert_msg(fld_from_json(one.data, one.len, DEPTH, &r, &got, &err) == 0,
                "%s: %s", kind_rows[_i].kind, err.msg);
  jw_to_buf(&w, &two);
  fld_write(&w, &r, &got);
  ck_assert_int_eq(jw_finish(&w), 0);
  ck_assert_str_eq(two.data, one.data);
  probe_fini(&got);

  memset(&zero, 0, sizeof(zero));
  memset(&got, 0, sizeof(got));
  char null_text[64];
  snprintf(null_text, sizeof(null_text), "{\"%s\":null}",
           kind_rows[_i].row.name);
  int rc = fld_from_json(null_text, strlen(null_text), DEPTH, &r, &got, &err);
  if (kind_rows[_i].row.flags & FLD_REQUIRED) { /* the constants */
    ck_assert_int_eq(rc, -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, ": missing"));
  } else {
    ck_assert_int_eq(rc, 0);
    ck_assert_mem_eq(&got, &zero, sizeof(got));
  }
  buf_fini(&one);
  buf_fini(&two);
}
END_TEST

/* Each kind's row refuses a value of its kind's wrong shape, saying where. */
START_TEST(test_field_kinds_refuse) {
  const struct fld_record r = kind_record(_i);
  struct probe got;
  struct err err = {{0}};
  memset(&got, 0, sizeof(got));
  const char *bad = kind_rows[_i].bad;
  ck_assert_int_eq(fld_from_json(bad, strlen(bad), DEPTH, &r, &got, &err),
                   -EBADMSG);
  ck_assert_str_eq(err.msg, kind_rows[_i].why);
  probe_fini(&got);
}
END_TEST

/* An in-memory value a row cannot write (more elements than its max, an
 * enum without a name) fails the writing, which leaves the buffer as it
 * was. */
START_TEST(test_field_kinds_invalid) {
  struct probe p;
  make_probe(&p);
  p.e = (enum probe_mood)3;
  p.n_heap = 3;
  struct buf text;
  buf_init(&text, 1 << 16);
  ck_assert_int_eq(buf_puts(&text, "kept"), 0);
  const char *const kinds[] = {"enum", "records on the heap"};
  for (int i = 0; i < 2; i++) {
    const struct fld_record r = kind_record(kind_index(kinds[i]));
    struct jw w;
    jw_to_buf(&w, &text);
    fld_write(&w, &r, &p);
    ck_assert_int_eq(jw_finish(&w), -EINVAL);
    ck_assert_str_eq(text.data, "kept");
  }
  buf_fini(&text);
}
END_TEST

/* A version 1 file with every section and field set (the fixture) loads
 * and saves again to the same bytes: the written format does not drift. */
START_TEST(test_fixture_same_bytes) {
  size_t len;
  char *old = fixture("state_v1_full.json", &len);
  struct rec_state st;
  struct err err = {{0}};
  rec_state_init(&st);
  ck_assert_msg(state_from_json(old, len, DEPTH, &st, &err) == 0, "%s",
                err.msg);
  ck_assert_uint_eq(st.n_keys, 3);
  ck_assert_uint_eq(st.n_responses, 2);
  ck_assert_uint_eq(st.fwd.n, 2);
  ck_assert_uint_eq(st.traffic.n_buckets + st.traffic.n_rules, 4);
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_uint_eq(text.len, len);
  ck_assert_mem_eq(text.data, old, len);
  uint64_t digest, again;
  struct rec_state st2;
  rec_state_init(&st2);
  ck_assert_int_eq(state_from_json(old, len, DEPTH, &st2, &err), 0);
  ck_assert_int_eq(state_digest(&st, &digest), 0);
  ck_assert_int_eq(state_digest(&st2, &again), 0);
  ck_assert_uint_eq(digest, again);
  rec_state_fini(&st2);
  ck_assert_msg(state_save(path, &st, &err) == 0, "%s", err.msg);
  size_t saved_len;
  char *saved = slurp(path, &saved_len);
  ck_assert_uint_eq(saved_len, len);
  ck_assert_mem_eq(saved, old, len);
  free(saved);
  buf_fini(&text);
  rec_state_fini(&st);
  free(old);
}
END_TEST

/* ---- alert semantics' memory (issue 15) ---- */

/* Streaks, the verdict history, flapping and maintenance survive a save
 * and a load; a key without them writes none of their members. */
START_TEST(test_alerting_fields_roundtrip) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  struct rec_key *k = add_key(&st, "b1", "t1", "e1");
  struct rec_run *l = new_loc(k);
  set_loc(l, "us1", "run-1", true, 1700000000, 1700000001, 1);
  l->streak = 7;
  k->flap.fails = 0xAAAAAAAAAAAAAAAAull;
  k->flap.n = 64;
  k->flap.flapping = true;
  k->flap_announced = true;
  k->flap_paged = true;
  k->failing_since = 1699999000.5;
  str_set(&k->maintenance, "deploy", 0);
  str_set(&k->last_maintenance, "weekly", 0);
  k->maintenance_started = 1699980000;
  k->maintenance_ended = 1699990000;
  add_key(&st, "b1", "t2", "e1"); /* none of them */
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  from_text(text.data, &back, &err);
  struct rec_key *g = back.keys[0];
  ck_assert_uint_eq(g->locs[0].streak, 7);
  ck_assert(g->flap.fails == 0xAAAAAAAAAAAAAAAAull);
  ck_assert_uint_eq(g->flap.n, 64);
  ck_assert(g->flap.flapping && g->flap_announced && g->flap_paged);
  ck_assert_double_eq(g->failing_since, 1699999000.5);
  ck_assert_str_eq(str_or_empty(g->maintenance), "deploy");
  ck_assert_str_eq(str_or_empty(g->last_maintenance), "weekly");
  ck_assert_double_eq(g->maintenance_started, 1699980000);
  ck_assert_double_eq(g->maintenance_ended, 1699990000);
  const char *second = strstr(text.data, "\"test_id\":\"t2\"");
  ck_assert_ptr_nonnull(second);
  ck_assert_ptr_null(strstr(second, "verdicts"));
  ck_assert_ptr_null(strstr(second, "maintenance"));
  buf_fini(&text);
  rec_state_fini(&back);
  rec_state_fini(&st);
}
END_TEST

/* A file written before them loads with no streak (counted as 1), no
 * history and no window; a streak or history out of range is refused. */
START_TEST(test_alerting_fields_old_and_bad) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(KEY_WITH("\"locations\":[{\"location\":\"us1\",\"failed\":true,"
                     "\"started_at\":5}]"),
            &st, &err);
  struct rec_key *k = rec_key_find(&st, "b/t2/e");
  ck_assert_ptr_nonnull(k);
  ck_assert_uint_eq(k->locs[0].streak, 0);
  ck_assert_uint_eq(k->flap.n, 0);
  ck_assert_str_eq(str_or_empty(k->maintenance), "");
  struct rec_opts o;
  rec_opts_default(&o);
  ck_assert_int_eq(rec_alert_verdict(k, &o), REC_FAILING);
  o.failure_threshold = 2;
  ck_assert_int_eq(rec_alert_verdict(k, &o), REC_UNKNOWN);
  rec_state_fini(&st);
  const char *bad[] = {KEY_WITH("\"n_verdicts\":65"),
                       KEY_WITH("\"locations\":[{\"streak\":1001}]"),
                       KEY_WITH("\"verdicts\":\"xyz\"")};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    rec_state_init(&st);
    ck_assert_int_eq(state_from_json(bad[i], strlen(bad[i]), DEPTH, &st, &err),
                     -EBADMSG);
    rec_state_fini(&st);
  }
}
END_TEST

/* ---- what runscopectl status shows (issues 15, 16) ---- */

/* When each API answered and since when a key's event is open survive a
 * save and a load; zero, they are not written. */
START_TEST(test_status_fields_roundtrip) {
  struct rec_state st, back;
  struct err err = {{0}};
  rec_state_init(&st);
  st.answered.runscope = 1700000100.25;
  st.answered.xmatters = 1700000090;
  st.answered.etcd = 1700000101;
  struct rec_key *k = add_key(&st, "b1", "t1", "e1");
  k->ev = REC_EV_ACTIVE;
  k->n_events = 1;
  events_room(k);
  snprintf(k->event_ids[0], sizeof(k->event_ids[0]), "ev-1");
  k->event_since = 1699990000.5;
  add_key(&st, "b1", "t2", "e1"); /* no event */
  struct buf text;
  buf_init(&text, 1 << 20);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  from_text(text.data, &back, &err);
  ck_assert_double_eq(back.answered.runscope, 1700000100.25);
  ck_assert_double_eq(back.answered.xmatters, 1700000090);
  ck_assert_double_eq(back.answered.etcd, 1700000101);
  ck_assert_double_eq(back.keys[0]->event_since, 1699990000.5);
  ck_assert_double_eq(back.keys[1]->event_since, 0);
  const char *second = strstr(text.data, "\"test_id\":\"t2\"");
  ck_assert_ptr_nonnull(second);
  ck_assert_ptr_null(strstr(second, "event_since"));
  rec_state_fini(&back);
  rec_state_fini(&st);
  /* an empty state writes none of the times */
  rec_state_init(&st);
  buf_reset(&text);
  ck_assert_int_eq(state_to_json(&st, &text), 0);
  ck_assert_ptr_null(strstr(text.data, "answered_at"));
  buf_fini(&text);
  rec_state_fini(&st);
}
END_TEST

/* A file written before them loads with no times; a time of the wrong
 * type is refused. */
START_TEST(test_status_fields_old_and_bad) {
  struct rec_state st;
  struct err err = {{0}};
  from_text(KEY_WITH("\"event\":\"active\",\"event_ids\":[\"x\"]"), &st, &err);
  ck_assert_double_eq(st.answered.runscope, 0);
  ck_assert_double_eq(st.answered.etcd, 0);
  ck_assert_double_eq(rec_key_find(&st, "b/t2/e")->event_since, 0);
  rec_state_fini(&st);
  const char *bad[] = {
      HDR "\"runscope_answered_at\":\"now\",\"keys\":[],\"cursors\":[]}",
      KEY_WITH("\"event_since\":true")};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    rec_state_init(&st);
    ck_assert_int_eq(state_from_json(bad[i], strlen(bad[i]), DEPTH, &st, &err),
                     -EBADMSG);
    rec_state_fini(&st);
  }
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("state");
  add_case(s, "roundtrip_json", test_roundtrip_json);
  add_case(s, "digest_follows_the_text", test_digest_follows_the_text);
  /* thousands of texts read and written: slow under the sanitizers */
  tcase_set_timeout(add_case(s, "digest_agrees_with_the_text_on_every_change",
                             test_digest_agrees_with_the_text_on_every_change),
                    120);
  TCase *heap = tcase_create("digest_follows_heap_strings");
  tcase_add_loop_test(heap, test_digest_follows_heap_strings, 0, 6);
  suite_add_tcase(s, heap);
  add_case(s, "roundtrip_file", test_roundtrip_file);
  /* Generous for valgrind (make memcheck), which runs it ~50x slower. */
  tcase_set_timeout(
      add_case(s, "roundtrip_file_large", test_roundtrip_file_large), 60);
  add_case(s, "roundtrip_escapes", test_roundtrip_escapes);
  add_case(s, "roundtrip_empty", test_roundtrip_empty);
  add_case(s, "roundtrip_precision", test_roundtrip_precision);
  add_case(s, "read_sorts", test_read_sorts);
  add_case(s, "read_lenient", test_read_lenient);
  add_case(s, "write_edge_values", test_write_edge_values);
  add_case(s, "roundtrip_forward", test_roundtrip_forward);
  add_case(s, "forward_optional", test_forward_optional);
  add_case(s, "roundtrip_traffic", test_roundtrip_traffic);
  add_case(s, "traffic_optional", test_traffic_optional);
  add_case(s, "traffic_too_many_seen", test_traffic_too_many_seen);
  add_case(s, "roundtrip_responses", test_roundtrip_responses);
  add_case(s, "responses_optional", test_responses_optional);
  add_case(s, "responses_too_many_seen", test_responses_too_many_seen);
  TCase *rc = tcase_create("responses_corrupt");
  tcase_add_loop_test(rc, test_responses_corrupt, 0,
                      (int)(sizeof(bad_responses) / sizeof(bad_responses[0])));
  suite_add_tcase(s, rc);
  add_case(s, "load_missing", test_load_missing);
  int n_corrupt = (int)(sizeof(corrupt_cases) / sizeof(corrupt_cases[0]));
  TCase *tc = tcase_create("load_corrupt");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_load_corrupt, 0, n_corrupt);
  suite_add_tcase(s, tc);
  tc = tcase_create("from_json_corrupt");
  tcase_add_loop_test(tc, test_from_json_corrupt, 0, n_corrupt);
  suite_add_tcase(s, tc);
  add_case(s, "load_directory", test_load_directory);
  add_case(s, "load_not_a_directory", test_load_not_a_directory);
  add_case(s, "load_too_large", test_load_too_large);
  add_case(s, "load_unreadable", test_load_unreadable);
  add_case(s, "save_creates_0600", test_save_creates_0600);
  add_case(s, "save_replaces", test_save_replaces);
  add_case(s, "save_missing_dir", test_save_missing_dir);
  add_case(s, "save_write_fails", test_save_write_fails);
  add_case(s, "save_rename_fails", test_save_rename_fails);
  add_case(s, "save_readonly_dir", test_save_readonly_dir);
  add_case(s, "save_relative", test_save_relative);
  add_case(s, "fixture_same_bytes", test_fixture_same_bytes);
  int n_kinds = (int)(sizeof(kind_rows) / sizeof(kind_rows[0]));
  tc = tcase_create("field_kinds_roundtrip");
  tcase_add_loop_test(tc, test_field_kinds_roundtrip, 0, n_kinds);
  suite_add_tcase(s, tc);
  tc = tcase_create("field_kinds_refuse");
  tcase_add_loop_test(tc, test_field_kinds_refuse, 0, n_kinds);
  suite_add_tcase(s, tc);
  tc = tcase_create("field_kinds_invalid");
  tcase_add_test(tc, test_field_kinds_invalid);
  suite_add_tcase(s, tc);
  add_case(s, "alerting_fields_roundtrip", test_alerting_fields_roundtrip);
  add_case(s, "alerting_fields_old_and_bad", test_alerting_fields_old_and_bad);
  add_case(s, "status_fields_roundtrip", test_status_fields_roundtrip);
  add_case(s, "status_fields_old_and_bad", test_status_fields_old_and_bad);
  return s;
}
