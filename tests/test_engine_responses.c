/* SPDX-License-Identifier: MIT */
/* Unit tests of the engine's responses stage against the fakes: a Rerun
 * goes to the test's trigger URL only when it is Runscope's, a trigger's
 * Retry-After is capped, and the texts of a response reach the log without
 * their control characters (issue 14, security). */
#include "engine_harness.h"

#include "util/backoff.h"

/* A person's response on the key's one event, seen by the next cycle. */
static struct ef_event *respond(const char *user, const char *text) {
  struct ef_event *ev = page();
  ef_copy(ev->resp_user, sizeof(ev->resp_user), user);
  ef_copy(ev->resp_text, sizeof(ev->resp_text), text);
  ev->resp_at = T0 + 90;
  return ev;
}

/* Runscope's triggers (POSTs of its trigger URLs) from request from on. */
static size_t reruns(size_t from) {
  return ef_count(&h.f, EF_RS_TRIGGER, NULL, from);
}

/* The test's own trigger URL (on the fake Runscope): the Rerun is sent
 * once, then the event is terminated. */
START_TEST(test_rerun_on_runscope_host) {
  respond("Ann Smith", "Rerun");
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(reruns(0), 1);
  cycle_ok(T0 + 180);
  ck_assert_uint_eq(reruns(0), 1);
  ck_assert_uint_eq(terminates(0), 1);
  ck_assert(logged("Ran the test of " KEY " again"));
}
END_TEST

/* Trigger URLs the test detail may carry that are no Runscope host, or
 * plain http:// to one that is not loopback. */
static const struct {
  const char *url, *why;
} refused_urls[] = {
    {"https://evil.example/radar/trigger-1/trigger",
     "evil.example is not a Runscope host"},
    {"https://api.runscope.com.evil.example/radar/t/trigger",
     "api.runscope.com.evil.example is not a Runscope host"},
    {"https://evilrunscope.com/radar/t/trigger",
     "evilrunscope.com is not a Runscope host"},
    {"https://api.runscope.com@evil.example/radar/t/trigger",
     "evil.example is not a Runscope host"},
    {"http://127.0.0.2:1/radar/trigger-1/trigger",
     "127.0.0.2 is not a Runscope host"},
    {"http://api.runscope.com/radar/t/trigger",
     "plain http:// to api.runscope.com"},
    {"ftp://api.runscope.com/radar/t/trigger", "not an http(s) URL"},
};

/* A refused trigger URL: nothing is POSTed anywhere (the fakes would see
 * it: cycle() fails on a request they do not know), the Rerun response is
 * dropped (the event stays open, no rerun counted), one WARNING says which
 * test and why, and the same refusal is not logged again at once. */
START_TEST(test_rerun_refused_trigger_url) {
  ef_copy(h.f.tests[0].trigger_url, sizeof(h.f.tests[0].trigger_url),
          refused_urls[_i].url);
  respond("Ann Smith", "Rerun");
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(reruns(0), 0);
  ck_assert_uint_eq(ef_count(&h.f, EF_UNKNOWN, NULL, 0), 0);
  ck_assert_uint_eq(terminates(0), 0);
  ck_assert_uint_eq(ef_events_of(&h.f, KEY, true), 1);
  ck_assert_double_eq(self_value("reruns_triggered"), 0);
  ck_assert_msg(logged("Not running test \"" TEST_NAME "\" (" KEY
                       ") again for xMatters event "),
                "%s", h.told.log);
  ck_assert_msg(logged(refused_urls[_i].why), "%s", h.told.log);
  ck_assert(logged("that Rerun response is dropped."));
  /* the URL (a credential) is not logged */
  ck_assert_msg(!logged("/radar/"), "%s", h.told.log);
  /* a second person's Rerun on the next cycle: dropped, not logged again */
  ef_copy(h.f.events[0].resp_user, sizeof(h.f.events[0].resp_user), "Bob");
  h.f.events[0].resp_at = T0 + 150;
  size_t mark = h.f.n_reqs;
  cycle_ok(T0 + 170);
  ck_assert_uint_eq(reruns(mark), 0);
  ck_assert_uint_eq(ef_count(&h.f, EF_DELIVERIES, NULL, mark), 1);
  ck_assert(logged("Bob asked for a rerun on xMatters event"));
  ck_assert_int_eq((int)(strstr(strstr(h.told.log, "Not running test") + 1,
                                "Not running test") == NULL),
                   1);
}
END_TEST

/* A trigger answered 429 with a huge Retry-After: retried after at most
 * BACKOFF_RETRY_AFTER_MAX, as the APIs' own back-off. */
START_TEST(test_rerun_retry_after_capped) {
  respond("Ann Smith", "Rerun");
  ef_fail(&h.f, EF_RS_TRIGGER, 0, 429, false, 1e7);
  cycle_ok(T0 + 120);
  ck_assert_uint_eq(reruns(0), 1);
  char want[128];
  snprintf(want, sizeof(want), "is retried in %.0f s.",
           BACKOFF_RETRY_AFTER_MAX);
  ck_assert_msg(logged(want), "%s", h.told.log);
  /* and not sent again meanwhile */
  cycle_ok(T0 + 180);
  ck_assert_uint_eq(reruns(0), 1);
}
END_TEST

/* A user name and a response text from xMatters with control characters:
 * each log line stays one line, without a terminal escape. */
START_TEST(test_response_texts_logged_printable) {
  respond("Ann\n<13>Dec  7 12:00:00 host sshd: root login\x1b[2J",
          "Acknowledge");
  cycle_ok(T0 + 120);
  ck_assert_msg(logged("Ann?<13>Dec  7 12:00:00 host sshd: root login?[2J "
                       "acknowledged xMatters event"),
                "%s", h.told.log);
  ck_assert_ptr_null(strchr(h.told.log, '\x1b'));
  /* every line is "<level> <message>": no line was forged */
  for (const char *p = h.told.log; *p != '\0'; p = strchr(p, '\n') + 1)
    ck_assert_msg(p[0] >= '0' && p[0] <= '7' && p[1] == ' ', "%.40s", p);
  ck_assert_uint_eq(notes(ENGINE_WARNING, KEY), 1); /* the ack */
}
END_TEST

Suite *unit_suite(void) {
  Suite *s = suite_create("engine_responses");
  add(s, "rerun_on_runscope_host", test_rerun_on_runscope_host, 0);
  add(s, "rerun_refused_trigger_url", test_rerun_refused_trigger_url,
      N_ROWS(refused_urls));
  add(s, "rerun_retry_after_capped", test_rerun_retry_after_capped, 0);
  add(s, "response_texts_logged_printable",
      test_response_texts_logged_printable, 0);
  return s;
}
