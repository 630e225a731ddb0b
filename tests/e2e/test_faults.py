# SPDX-License-Identifier: MIT
"""Faults of both APIs, end to end: the real collectd daemon with
build/runscope.so against fakes that inject 5xx, 429 (with and without
Retry-After), timeouts, refused connections, resets mid-body, malformed JSON,
wrong JSON types, oversized and too deeply nested bodies, and unexpected
envelopes.

Every test checks the same promises: no crash, the API backs off (calls are
spaced out, "Backing off" is logged once), the error is logged rate-limited
and counted in the plugin's own values, the read callback keeps returning 0
(collectd never logs that it suspends it), and once the fault clears the page
happens exactly once. Runscope's bad answers go to the tests list: a bad
answer of one test's results costs that test alone (test_one_bad_test.py).
Creates are idempotent: a trigger whose answer was lost is looked for, not
resent; an explicit rejection is retried after the back-off.
"""

import glob
import os
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "shop1bucket0"
FAULTS = 3          # failures injected per API in the generic tests
SUSPENDED = "read-function of plugin"
# How an error names its API (the client's prefix)
RS = r"(?i:runscope)(?: API)?: "
XM = r"(?i:xmatters)(?: API)?: "
# 429 answers: counted per API (older builds: one rate_limited for both)
RS_429 = ("runscope_rate_limited", "rate_limited")
XM_429 = ("xmatters_rate_limited", "rate_limited")


def nested(depth):
    """A Runscope-shaped envelope whose data nests depth arrays deep."""
    return '{"data": %s%s, "error": null}' % ("[" * depth, "]" * depth)


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class FaultTestCase(harness.CollectdTestCase):
    """Helpers shared by the fault tests."""

    def tearDown(self):
        super().tearDown()
        self.assertNotIn(SUSPENDED, self.h.output(),
                         "the read callback failed and collectd suspended "
                         "it")

    def story(self, rs_fault=None, xm_fault=None, plugin_options=None,
              start=True, **config):
        """A failing run of Checkout API in Production, the faults injected
        (dicts for inject_fault; rs_fault on the test's results, xm_fault on
        the REST events list unless they name a path), collectd started.
        Returns (test, key, run)."""
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        key = runscope_key(BUCKET, t["id"], t["environments"][0]["id"])
        run = self.rs.add_run(BUCKET, t["id"], "Production", "fail")
        if rs_fault:
            self.rs.inject_fault(**dict({"method": "GET",
                                         "path": "/results$"}, **rs_fault))
        if xm_fault:
            self.xm.inject_fault(**dict({"method": "GET",
                                         "path": "^/api/xm/1/events$"},
                                        **xm_fault))
        opts = {"OutageThreshold": 3600}
        opts.update(plugin_options or {})
        self.h.write_config(buckets=[BUCKET], plugin_options=opts, **config)
        if start:
            self.h.start()
        return t, key, run

    def wait_event(self, key, timeout=WAIT * 2):
        return self.h.wait_for(lambda: self.xm.events(status="ACTIVE",
                                                      key=key),
                               timeout, "an active event for %s" % key)[0]

    def assert_paged_once(self, key, test_id):
        """One event for key, one accepted trigger; still so after more
        cycles."""
        self.wait_event(key)
        self.h.wait_cycles(test_id, 3, timeout=WAIT * 2)
        events = self.xm.events(key=key)
        self.assertEqual(len(events), 1, "events: %s" % [
            (e["eventId"], e["status"]) for e in events])
        self.assertEqual(events[0]["status"], "ACTIVE")
        accepted = [t for t in self.h.trigger_calls() if t["status"] == 202]
        self.assertEqual(len(accepted), 1, "accepted triggers")

    def attempts(self, fake, method, path):
        return fake.requests(method, path)

    def assert_spaced(self, reqs, faults, min_last_gap=1.7, api=""):
        """The first faults + 1 attempts: the gaps grow (back-off), the
        one after the last failure is at least min_last_gap seconds (a
        plain retry every 1 s cycle would be 1 s)."""
        self.assertGreater(len(reqs), faults, "%s: retried after the "
                           "faults" % api)
        times = [r["time"] for r in reqs[:faults + 1]]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(gaps[-1], min_last_gap,
                                "%s: gaps between attempts %s" % (
                                    api, ["%.2f" % g for g in gaps]))
        self.assertEqual([r["fault"] is not None for r in reqs[:faults]],
                         [True] * faults, api)

    def assert_logged_once(self, pattern, at_most, what):
        """The error is logged, but damped: fewer lines than failures."""
        lines = self.h.log_lines(pattern)
        self.assertGreaterEqual(len(lines), 1, "no log line for %s" % what)
        self.assertLess(len(lines), at_most, "%s logged every time: %s" % (
            what, lines))

    def assert_backoff_logged(self, api):
        lines = self.h.log_lines(r"Backing off the %s API" % api)
        self.assertEqual(len(lines), 1, "one back-off line for %s: %s" % (
            api, lines))

    def self_value(self, name):
        """The last value of the plugin's own value derive-<name> (or
        another type: "bool-xmatters_reachable"), from the csv plugin; None
        before the first. name may be a tuple of names: the first that
        exists."""
        if isinstance(name, tuple):
            values = [self.self_value(n) for n in name]
            return next((v for v in values if v is not None), None)
        if "-" not in name:
            name = "derive-" + name
        paths = glob.glob(os.path.join(self.h.csv_dir, "*", "runscope-self",
                                       name + "-[0-9]*"))
        last = None
        for p in sorted(paths):
            with open(p) as f:
                lines = [ln for ln in f.read().splitlines()
                         if ln and ln[0].isdigit()]
            if lines:
                last = float(lines[-1].split(",")[1])
        return last

    def assert_counted(self, name, at_least):
        self.h.wait_for(lambda: (self.self_value(name) or 0) >= at_least,
                        WAIT, "self value %s >= %d (is %s)" % (
                            name, at_least, self.self_value(name)))

    def generic(self, rs_fault, xm_fault, rs_log, xm_log, counters=(),
                plugin_options=None, min_last_gap=1.7, errors=2 * FAULTS,
                rs_path="/results$", **config):
        """FAULTS faults of each API at once (on Runscope's GET rs_path);
        checks every promise."""
        rs_fault = dict(rs_fault, count=FAULTS)
        xm_fault = dict(xm_fault, count=FAULTS)
        t, key, run = self.story(rs_fault, xm_fault, plugin_options,
                                 **config)
        self.assert_paged_once(key, t["id"])
        self.assert_spaced(self.attempts(self.rs, "GET", rs_path),
                           FAULTS, min_last_gap, "Runscope")
        self.assert_spaced(self.attempts(self.xm, "GET",
                                         "^/api/xm/1/events$"),
                           FAULTS, min_last_gap, "xMatters")
        self.assert_logged_once(rs_log, FAULTS, "the Runscope fault")
        self.assert_logged_once(xm_log, FAULTS, "the xMatters fault")
        self.assert_backoff_logged("Runscope")
        self.assert_backoff_logged("xMatters")
        self.assert_counted("api_errors", errors)
        for name, n in counters:
            self.assert_counted(name, n)
        self.assertEqual(self.h.log_lines(r"\[error\]"), [],
                         "nothing is logged as an error")


class ApiFaultsTest(FaultTestCase):
    """One kind of fault per test, on both APIs at once."""

    def test_5xx(self):
        self.generic({"action": "status", "status": 503},
                     {"action": "status", "status": 500},
                     RS + r"GET .*/results: HTTP 503",
                     XM + r"GET .*events.*: HTTP 500",
                     counters=[("runscope_errors", FAULTS),
                               ("xmatters_errors", FAULTS)])

    def test_429_without_retry_after(self):
        self.generic({"action": "status", "status": 429},
                     {"action": "status", "status": 429},
                     RS + r"GET .*/results: HTTP 429",
                     XM + r"GET .*events.*: HTTP 429",
                     counters=[(RS_429, FAULTS), (XM_429, FAULTS)])

    def test_429_retry_after_is_honoured(self):
        wait = 4
        t, key, run = self.story(
            {"action": "status", "status": 429, "retry_after": wait,
             "count": 2},
            {"action": "status", "status": 429, "retry_after": wait,
             "count": 2})
        self.assert_paged_once(key, t["id"])
        for fake, path, api in (
                (self.rs, "/results$", "Runscope"),
                (self.xm, "^/api/xm/1/events$", "xMatters")):
            reqs = self.attempts(fake, "GET", path)
            times = [r["time"] for r in reqs[:3]]
            gaps = [b - a for a, b in zip(times, times[1:])]
            self.assertEqual(len(gaps), 2, api)
            for g in gaps:
                # Retry-After: 4 means not before 4 s (cycles are 1 s; the
                # fake's clock is the same machine's)
                self.assertGreaterEqual(g, wait - 0.2, "%s: gaps %s" % (
                    api, gaps))
        self.assert_counted(RS_429, 2)
        self.assert_counted(XM_429, 2)

    def test_timeouts(self):
        # the answer comes after the plugin gave up (Timeout 1)
        self.generic({"action": "delay", "delay": 2.5},
                     {"action": "delay", "delay": 2.5},
                     RS + r"GET .*/results.*(?i:timed? ?out)",
                     XM + r"GET .*events.*(?i:timed? ?out)",
                     counters=[("runscope_errors", FAULTS),
                               ("xmatters_errors", FAULTS)],
                     min_last_gap=1.0, timeout=1)

    def test_reset_mid_body(self):
        self.generic({"action": "close"}, {"action": "close"},
                     RS + r"GET .*/results",
                     XM + r"GET .*events",
                     counters=[("runscope_errors", FAULTS),
                               ("xmatters_errors", FAULTS)])

    def test_connection_dropped_without_answer(self):
        # libcurl sends a request again, once, when a kept-alive connection
        # closes without an answer: a call may take two of the faults. On
        # Runscope the fault hits the tests list, the first call of a cycle:
        # a later call would ride the list's connection, and its resend on
        # a new one would take the last fault without a failed call.
        self.generic({"action": "drop", "path": "/tests$"}, {"action": "drop"},
                     RS + r"GET .*/tests",
                     XM + r"GET .*events",
                     errors=FAULTS, min_last_gap=0.9, rs_path="/tests$")

    def test_malformed_json(self):
        self.generic({"action": "malformed", "path": "/tests$"},
                     {"action": "malformed"},
                     RS + r"GET .*/tests.*JSON",
                     XM + r"GET .*events.*JSON", rs_path="/tests$")

    def test_wrong_json_types(self):
        self.generic(
            {"action": "status", "status": 200, "path": "/tests$",
             "body": {"data": {"test_run_id": "x"}, "error": None,
                      "meta": {"status": "success"}}},
            {"action": "status", "status": 200,
             "body": {"count": "1", "total": 1, "data": "none",
                      "links": {"self": "/api/xm/1/events"}}},
            RS + r"GET .*/tests.*\"data\" is a JSON object",
            XM + r"GET .*events.*\"data\" is a JSON string",
            rs_path="/tests$")

    def test_unexpected_envelopes(self):
        self.generic(
            # an error envelope in a 200 (Runscope's own shape)
            {"action": "status", "status": 200,
             "body": {"data": None, "meta": {"status": "error"},
                      "error": {"status": 503,
                                "message": "down for maintenance"}}},
            # a list where an object belongs
            {"action": "status", "status": 200,
             "body": [{"id": "x", "status": "ACTIVE"}]},
            RS + r"GET .*/results.*maintenance",
            XM + r"GET .*events.*not an object")

    def test_html_instead_of_json(self):
        page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.generic({"action": "status", "status": 200, "body": page,
                      "content_type": "text/html", "path": "/tests$"},
                     {"action": "status", "status": 200, "body": page,
                      "content_type": "text/html"},
                     RS + r"GET .*/tests",
                     XM + r"GET .*events", rs_path="/tests$")

    def test_bodies_over_max_response_bytes(self):
        big = '{"data": [], "pad": "%s"}' % ("x" * 200000)
        self.generic({"action": "status", "status": 200, "body": big,
                      "path": "/tests$"},
                     {"action": "status", "status": 200, "body": big},
                     RS + r"GET .*/tests.*larger than 65536",
                     XM + r"GET .*events.*larger than 65536",
                     plugin_options={"MaxResponseBytes": 65536},
                     rs_path="/tests$")

    def test_nesting_deeper_than_max_json_depth(self):
        self.generic({"action": "status", "status": 200,
                      "body": nested(100), "path": "/tests$"},
                     {"action": "status", "status": 200,
                      "body": '{"count": 0, "data": %s}' % (
                          "[" * 100 + "]" * 100)},
                     RS + r"GET .*/tests.*(?i:deep|depth|nest)",
                     XM + r"GET .*events.*(?i:deep|depth|nest)",
                     plugin_options={"MaxJSONDepth": 32}, rs_path="/tests$")


class RefusedTest(FaultTestCase):

    def test_refused_connections_warn_after_threshold_and_recover(self):
        t, key, run = self.story(plugin_options={"OutageThreshold": 2},
                                 start=False)
        # nothing listens on either port until resume()
        self.rs.suspend()
        self.xm.suspend()
        self.h.start()
        for api in ("Runscope", "xMatters"):
            self.h.wait_for(lambda: self.h.log_lines(
                r"severity = WARNING.*%s API has been unreachable" % api),
                WAIT, "a WARNING notification for %s" % api)
        self.assertEqual(self.xm.events(), [])
        self.assert_counted("runscope_errors", 2)
        self.assert_counted("xmatters_errors", 2)
        self.assertEqual(self.self_value("bool-runscope_reachable"), 0)
        self.assertEqual(self.self_value("bool-xmatters_reachable"), 0)
        self.assert_logged_once(RS + r"GET .*(?i:connect)", 10,
                                "the refused Runscope connection")
        self.assert_backoff_logged("Runscope")
        self.assert_backoff_logged("xMatters")
        self.rs.resume()
        self.xm.resume()
        # the back-off may have grown to a few seconds by now
        self.assert_paged_once(key, t["id"])
        for api in ("Runscope", "xMatters"):
            self.h.wait_for(lambda: self.h.log_lines(
                r"severity = OKAY.*%s API is reachable again" % api),
                WAIT, "an OKAY notification for %s" % api)
            self.assertEqual(len(self.h.log_lines(
                r"severity = WARNING.*%s API has been unreachable" % api)),
                1, "one WARNING for %s" % api)
        self.h.wait_for(lambda: self.self_value(
            "bool-runscope_reachable") == 1, WAIT, "runscope_reachable 1")


class CreateFaultsTest(FaultTestCase):
    """Idempotent creates: lost answers are looked for, rejections
    retried after the back-off, late visibility is no reason to resend."""

    TRIGGER = "/triggers$"

    def trigger_posts(self):
        return self.xm.requests("POST", self.TRIGGER)

    def test_reset_after_the_trigger_was_handled_is_not_resent(self):
        # the event exists but the answer is cut, and it shows up late
        self.xm.set_visibility_delay(4)
        t, key, run = self.story(xm_fault={"method": "POST",
                                           "path": self.TRIGGER,
                                           "action": "close"})
        self.assert_paged_once(key, t["id"])
        self.assertEqual(len(self.trigger_posts()), 1, "sent once")
        self.assertTrue(self.h.log_lines(XM + r"POST .*triggers"),
                        "the cut answer is logged")

    def test_trigger_answer_after_the_timeout_is_not_resent(self):
        t, key, run = self.story(xm_fault={"method": "POST",
                                           "path": self.TRIGGER,
                                           "action": "delay", "delay": 3},
                                 timeout=1)
        self.assert_paged_once(key, t["id"])
        self.assertEqual(len(self.trigger_posts()), 1, "sent once")

    def test_rejected_trigger_is_retried_after_the_backoff(self):
        # 500: xMatters' own refusal (a gateway's 502-504 leaves the
        # create in doubt instead: test_events_in_doubt.py)
        t, key, run = self.story(xm_fault={"method": "POST",
                                           "path": self.TRIGGER,
                                           "action": "status",
                                           "status": 500, "count": 3})
        self.assert_paged_once(key, t["id"])
        posts = self.trigger_posts()
        self.assertEqual(len(posts), 4, "3 rejected, then accepted")
        self.assert_spaced(posts, 3, 1.7, "trigger")
        self.assert_counted("create_errors", 3)
        self.assert_backoff_logged("xMatters")

    def test_trigger_rejected_with_400_is_retried_after_the_backoff(self):
        t, key, run = self.story(xm_fault={
            "method": "POST", "path": self.TRIGGER, "action": "status",
            "status": 400, "count": 3,
            "body": {"code": 400, "reason": "Bad Request",
                     "message": "form not ready"}})
        self.assert_paged_once(key, t["id"])
        posts = self.trigger_posts()
        self.assertEqual(len(posts), 4, "3 rejected, then accepted")
        self.assert_spaced(posts, 3, 1.7, "trigger")
        self.assert_logged_once(XM + r"POST .*HTTP 400.*form not ready",
                                3, "the rejection")

    def test_rejected_trigger_leaves_the_cycles_other_trigger_unsent(self):
        # Two tests fail in one cycle. Both triggers are recorded as
        # possibly sent before the first goes out (write-ahead); its 500
        # ends the cycle's sends, so the second is marked as not sent
        # again: it goes out after the back-off, instead of being looked
        # for as a trigger whose answer was lost (PendingTimeout).
        self.rs.add_bucket(BUCKET, "Shop")
        keys = []
        for name in ("Checkout API", "Search API"):
            t = self.rs.add_test(BUCKET, name, environments=[
                {"name": "Production", "regions": ["us1"]}])
            keys.append(runscope_key(BUCKET, t["id"],
                                     t["environments"][0]["id"]))
            self.rs.add_run(BUCKET, t["id"], "Production", "fail")
        self.xm.inject_fault(method="POST", path=self.TRIGGER,
                             action="status", status=500, count=1)
        self.h.write_config(buckets=[BUCKET], plugin_options={
            "OutageThreshold": 3600, "PendingTimeout": 300})
        self.h.start()
        for key in keys:
            self.wait_event(key)
        posts = self.trigger_posts()
        self.assertEqual([p["fault"] is not None for p in posts],
                         [True, False, False], "one rejected, two accepted")
        self.assertLess(posts[-1]["time"] - posts[0]["time"], WAIT,
                        "the unsent trigger waited for PendingTimeout")
        for key in keys:
            self.assertEqual(len(self.xm.events(key=key)), 1, key)

    def test_trigger_429_retry_after_is_honoured(self):
        t, key, run = self.story(xm_fault={"method": "POST",
                                           "path": self.TRIGGER,
                                           "action": "status",
                                           "status": 429, "retry_after": 4})
        self.assert_paged_once(key, t["id"])
        posts = self.trigger_posts()
        self.assertEqual(len(posts), 2)
        self.assertGreaterEqual(posts[1]["time"] - posts[0]["time"], 3.8)

    def test_event_visible_late_gets_no_second_trigger(self):
        # 202 at once, the event visible 6 s later; a second failure in
        # between belongs to the same page
        self.xm.set_visibility_delay(6)
        t, key, run = self.story()
        self.h.wait_for(lambda: self.h.trigger_calls(), WAIT, "a trigger")
        run2 = self.rs.add_run(BUCKET, t["id"], "Production", "fail",
                               started_at=time.time())
        self.h.wait_run_processed(run2)
        self.assertFalse(self.xm.events(key=key)[0]["visible"],
                         "the second failure came while it was invisible")
        self.assert_paged_once(key, t["id"])
        self.assertEqual(len(self.trigger_posts()), 1)


if __name__ == "__main__":
    unittest.main()
