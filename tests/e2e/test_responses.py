# SPDX-License-Identifier: MIT
"""Responses to the plugin's events, end to end: "Rerun" runs the test again
through its trigger URL, "Acknowledge" is recorded. The real collectd daemon
with build/runscope.so against the fake Runscope and xMatters servers; the
tests inject responses with FakeXMatters.add_response and assert on the
trigger calls the fake Runscope recorded and on the events' status.
"""

import json
import re
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "shop1bucket0"
KEEP_OPEN = {"RerunKeepsEventOpen": True}


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class ResponsesTest(harness.CollectdTestCase):

    # ----- helpers

    def shop(self, environments=None):
        """Bucket "Shop" with the test "Checkout API" (default: Production
        in us1 and eu1)."""
        self.rs.add_bucket(BUCKET, "Shop")
        return self.rs.add_test(BUCKET, "Checkout API",
                                environments=environments or [
                                    {"name": "Production",
                                     "regions": ["us1", "eu1"]}])

    @staticmethod
    def env(test, name):
        return next(e for e in test["environments"] if e["name"] == name)

    def key(self, test, env_name="Production"):
        return runscope_key(BUCKET, test["id"], self.env(test, env_name)["id"])

    def start(self, xmatters_options=None, **config):
        self.h.write_config(buckets=[BUCKET],
                            xmatters_options=xmatters_options, **config)
        self.h.start()

    def wait_event(self, key, status="ACTIVE", timeout=WAIT):
        return self.h.wait_for(
            lambda: self.xm.events(status=status, key=key), timeout,
            "an %s xMatters event for %s" % (status, key))[0]

    def open_event(self, xmatters_options=None, region="us1"):
        """A failed run of Checkout API in Production (region us1),
        collectd started, its event open. Returns (test, key, event)."""
        t = self.shop()
        self.rs.add_run(BUCKET, t["id"], "Production", "fail", region=region)
        self.start(xmatters_options)
        key = self.key(t)
        return t, key, self.wait_event(key)

    def accepted(self):
        """The trigger calls Runscope accepted (status 200)."""
        return [c for c in self.rs.triggers() if c["status"] == 200]

    def wait_triggers(self, n, timeout=WAIT):
        return self.h.wait_for(lambda: len(self.accepted()) >= n and
                               self.accepted(), timeout,
                               "%d accepted trigger calls" % n)

    def deliveries_reads(self, event_id):
        return self.xm.requests(
            "GET", r"/events/%s/user-deliveries$" % re.escape(event_id))

    def wait_deliveries_reads(self, event_id, n=3, timeout=WAIT):
        """Waits until the plugin read the event's responses n more
        times."""
        before = len(self.deliveries_reads(event_id))
        self.h.wait_for(lambda: len(self.deliveries_reads(event_id)) >=
                        before + n, timeout,
                        "%d more reads of the responses to %s" % (n,
                                                                  event_id))

    def state(self):
        with open(self.h.state_path) as f:
            return json.load(f)

    def record(self, event_id):
        """The state file's record of the event's responses, or None."""
        try:
            records = self.state().get("responses", [])
        except (OSError, ValueError):
            return None
        return next((r for r in records if r["event_id"] == event_id), None)

    # ----- Rerun

    def test_rerun_triggers_once_then_terminates(self):
        t, key, ev = self.open_event()
        env = self.env(t, "Production")
        self.assertFalse(self.rs.triggers(), "nothing before a response")
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        self.assertEqual(call["method"], "POST")
        self.assertEqual(call["test_id"], t["id"])
        self.assertEqual(call["params"].get("runscope_environment"),
                         [env["id"]])
        self.assertEqual(call["params"].get("runscope_region"), ["us1"],
                         "the failed run's region, not every location")
        done = self.wait_event(key, "TERMINATED")
        self.assertEqual(done["id"], ev["id"])
        self.assertTrue(done["terminated_by"].startswith("api:"))
        # the response stays visible in xMatters: it is not acted on again
        self.h.wait_cycles(t["id"], 3)
        self.assertEqual(len(self.rs.triggers()), 1)
        self.assertTrue(self.h.log_lines(r"jdoe asked for a rerun"))
        # the rerun's own result: a failure opens a new event
        self.rs.finish_run(call["run_ids"][0], "fail")
        new = self.h.wait_for(
            lambda: [e for e in self.xm.events(status="ACTIVE", key=key)
                     if e["id"] != ev["id"]], WAIT,
            "a new event for the failed rerun")[0]
        self.assertEqual(new["plain_properties"].get("test_run_id"),
                         call["run_ids"][0])
        self.assertEqual(len(self.xm.events(key=key)), 2)
        self.assertEqual(len(self.rs.triggers()), 1)

    def test_rerun_that_passes_closes_nothing_more(self):
        t, key, ev = self.open_event()
        self.xm.add_response(ev["id"], "jdoe", "rerun")  # any case
        (call,) = self.wait_triggers(1)
        self.wait_event(key, "TERMINATED")
        self.rs.finish_run(call["run_ids"][0], "pass")
        run = self.rs.get_run(call["run_ids"][0])
        self.h.wait_run_processed(run)
        self.assertEqual([e["status"] for e in self.xm.events(key=key)],
                         ["TERMINATED"])
        self.assertEqual(len(self.h.trigger_calls()), 1, "no new event")

    def test_same_response_after_a_restart_triggers_nothing(self):
        t, key, ev = self.open_event(KEEP_OPEN)
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        # the rerun fails: the event stays open, ready for another Rerun
        self.rs.finish_run(call["run_ids"][0], "fail")
        self.h.wait_for(lambda: (self.record(ev["id"]) or {}).get(
            "rerun") == "none", WAIT, "the rerun's result in the state file")
        self.assertEqual(self.h.stop(), 0)
        rec = self.record(ev["id"])
        self.assertEqual(rec["reruns"], 1)
        self.assertEqual(len(rec["seen"]), 1)
        self.h.start()
        # the event is still active and its responses are read again
        self.wait_deliveries_reads(ev["id"], 3)
        self.assertEqual(len(self.rs.triggers()), 1,
                         "the same response after a restart")
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")

    def test_rerun_in_a_private_agent_location(self):
        t = self.shop([{"name": "Production", "regions": [],
                        "remote_agents": ["agent-7f3c"]}])
        self.rs.add_run(BUCKET, t["id"], "Production", "fail",
                        agent="agent-7f3c")
        self.start()
        key = self.key(t)
        ev = self.wait_event(key)
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        self.assertEqual(call["params"].get("runscope_agent"),
                         ["agent-7f3c"])
        self.assertNotIn("runscope_region", call["params"])
        self.wait_event(key, "TERMINATED")

    # ----- RerunKeepsEventOpen

    def test_keep_open_a_failing_rerun_keeps_the_one_event(self):
        t, key, ev = self.open_event(KEEP_OPEN)
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        self.wait_deliveries_reads(ev["id"], 2)
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE",
                         "the rerun's result decides, not the response")
        self.assertEqual(self.record(ev["id"])["rerun"], "awaiting")
        self.rs.finish_run(call["run_ids"][0], "fail")
        self.h.wait_for(lambda: self.h.log_lines(
            r"rerun of %s .* failed" % re.escape(key)), WAIT,
            "the log to say the rerun failed")
        self.h.wait_cycles(t["id"], 2)
        events = self.xm.events(key=key)
        self.assertEqual([(e["id"], e["status"]) for e in events],
                         [(ev["id"], "ACTIVE")], "one event, still open")
        self.assertEqual(len(self.h.trigger_calls()), 1)

    def test_keep_open_a_passing_rerun_closes_the_event(self):
        t, key, ev = self.open_event(KEEP_OPEN)
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        self.rs.finish_run(call["run_ids"][0], "pass")
        done = self.wait_event(key, "TERMINATED")
        self.assertEqual(done["id"], ev["id"])
        self.assertEqual(len(self.h.trigger_calls()), 1)

    def test_keep_open_reruns_are_capped_per_event(self):
        t, key, ev = self.open_event({"RerunKeepsEventOpen": True,
                                      "MaxRerunsPerEvent": 1})
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        (call,) = self.wait_triggers(1)
        self.rs.finish_run(call["run_ids"][0], "fail")
        self.h.wait_for(lambda: self.h.log_lines(r"rerun of .* failed"),
                        WAIT, "the rerun's failure")
        self.xm.add_response(ev["id"], "jdoe", "Rerun")  # a newer one
        self.h.wait_for(lambda: self.h.log_lines(r"MaxRerunsPerEvent 1"),
                        WAIT, "a log line about the cap")
        self.wait_deliveries_reads(ev["id"], 2)
        self.assertEqual(len(self.rs.triggers()), 1)
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")

    # ----- Acknowledge

    def test_acknowledge_is_recorded_and_a_pass_still_terminates(self):
        t, key, ev = self.open_event()
        self.xm.add_response(ev["id"], "amy", "Acknowledge")
        self.h.wait_for(lambda: (self.record(ev["id"]) or {}).get(
            "acknowledged_by") == "amy", WAIT,
            "the acknowledgement in the state file")
        self.assertGreater(self.record(ev["id"])["acknowledged_at"], 0)
        self.h.wait_for(lambda: [
            line for line in self.h.log_lines(r"Notification:")
            if "amy acknowledged xMatters event %s" % ev["id"] in line],
            WAIT, "a notification of the acknowledgement")
        self.wait_deliveries_reads(ev["id"], 3)
        self.assertEqual(self.rs.triggers(), [], "no rerun")
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")
        self.assertEqual(len(self.h.log_lines(r"amy acknowledged")), 2,
                         "logged and notified once, not every cycle")
        self.rs.add_run(BUCKET, t["id"], "Production", "pass",
                        region="us1", started_at=time.time())
        self.assertEqual(self.wait_event(key, "TERMINATED")["id"], ev["id"])
        self.assertEqual(self.rs.triggers(), [])

    # ----- what is ignored

    def event_reads(self, event_id):
        return self.xm.requests("GET", r"/events/%s$" % re.escape(event_id))

    def test_responses_on_a_terminated_event_are_ignored(self):
        t, key, ev = self.open_event()
        self.wait_deliveries_reads(ev["id"], 1)  # the plugin knows it
        self.xm.terminate_as_person(ev["id"], by="jdoe")
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        # the plugin saw the response, asked for the event's status...
        self.h.wait_for(lambda: self.event_reads(ev["id"]), WAIT,
                        "the plugin to look at the event")
        self.h.wait_cycles(t["id"], 3)
        # ... and ran nothing, and forgot the event (its debug line says so)
        self.assertEqual(self.rs.triggers(), [])
        self.h.wait_for(lambda: not [k for k in self.state()["keys"]
                                     if ev["id"] in k.get("event_ids", [])],
                        WAIT, "the event gone from the key")
        before = len(self.deliveries_reads(ev["id"]))
        self.h.wait_cycles(t["id"], 2)
        self.assertEqual(len(self.deliveries_reads(ev["id"])), before,
                         "its responses are not read any more")

    def test_other_texts_are_ignored(self):
        t, key, ev = self.open_event()
        self.xm.add_response(ev["id"], "amy", "On my way")
        rec = self.h.wait_for(lambda: self.record(ev["id"]), WAIT,
                              "the response recorded as handled")
        self.assertEqual(len(rec["seen"]), 1)
        self.assertEqual(rec["rerun"], "none")
        self.assertEqual(rec["acknowledged_by"], "")
        self.wait_deliveries_reads(ev["id"], 2)
        self.assertEqual(self.rs.triggers(), [])
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")

    # ----- DryRun

    def test_dry_run_logs_the_trigger_and_the_terminate(self):
        t = self.shop()
        key = self.key(t)
        self.rs.add_run(BUCKET, t["id"], "Production", "fail", region="eu1")
        ev = self.xm.add_event(properties={"runscope_key": key})
        self.start(dry_run=True)
        self.h.wait_for(lambda: self.h.log_lines(
            r"Adopted active xMatters event %s" % re.escape(ev["id"])),
            WAIT, "the event adopted")
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        self.h.wait_for(lambda: self.h.log_lines(
            r"DryRun: would run test \"Checkout API\" again .*location eu1"),
            WAIT, "a log line about the trigger it would send")
        self.h.wait_for(lambda: self.h.log_lines(
            r"DryRun: would terminate xMatters event %s .*Rerun"
            % re.escape(ev["id"])), WAIT, "a log line about the terminate")
        self.h.wait_cycles(t["id"], 2)
        self.assertEqual(self.rs.triggers(), [])
        self.assertEqual(self.xm.requests("POST"), [])
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")

    # ----- the trigger limit

    def test_eleven_reruns_of_one_test_at_most_ten_per_ten_seconds(self):
        names = ["Env %02d" % i for i in range(11)]
        t = self.shop([{"name": n, "regions": ["us1"]} for n in names])
        for n in names:
            self.rs.add_run(BUCKET, t["id"], n, "fail")
        self.start()
        keys = [self.key(t, n) for n in names]
        self.h.wait_for(lambda: all(self.xm.events(status="ACTIVE", key=k)
                                    for k in keys), WAIT, "eleven events")
        for k in keys:
            (ev,) = self.xm.events(status="ACTIVE", key=k)
            self.xm.add_response(ev["id"], "jdoe", "Rerun")
        calls = self.wait_triggers(11, WAIT + 30)
        times = sorted(c["time"] for c in self.rs.triggers())
        for i in range(len(times) - 10):
            self.assertGreaterEqual(
                times[i + 10] - times[i], 10,
                "11 trigger calls within %.2f s" % (times[i + 10] - times[i]))
        self.assertEqual(
            sorted(c["params"]["runscope_environment"][0] for c in calls),
            sorted(self.env(t, n)["id"] for n in names),
            "one rerun per environment, none lost")
        self.h.wait_for(lambda: all(
            [e["status"] for e in self.xm.events(key=k)] == ["TERMINATED"]
            for k in keys), WAIT, "the eleven events terminated")

    def test_a_429_is_retried_later_not_dropped(self):
        self.rs.set_config(trigger_limit=0, trigger_retry_after=1)
        t, key, ev = self.open_event()
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        self.h.wait_for(lambda: [c for c in self.rs.triggers()
                                 if c["status"] == 429], WAIT, "a 429")
        self.h.wait_for(lambda: self.h.log_lines(r"retried in 1 s"), WAIT,
                        "a log line about the retry")
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")
        self.rs.set_config(trigger_limit=10)
        (call,) = self.wait_triggers(1)
        self.assertEqual(call["params"].get("runscope_region"), ["us1"])
        self.wait_event(key, "TERMINATED")
        self.h.wait_cycles(t["id"], 2)
        self.assertEqual(len(self.accepted()), 1)

    # ----- a trigger URL that is not Runscope's (issue 14, security)

    def test_rerun_to_a_foreign_trigger_url_is_not_sent(self):
        """The test detail's trigger_url names another host than the
        BaseURL's (localhost: loopback, this very fake, yet not the host
        configured): nothing is POSTed to it, the Rerun response is dropped
        with one warning naming the test and why, the event stays open; a
        pass still terminates it."""
        self.rs.set_config(trigger_base="http://localhost:%d" % self.rs.port)
        t, key, ev = self.open_event()
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        line = self.h.wait_for(lambda: self.h.log_lines(
            r"Not running test \"Checkout API\" \(%s\) again for xMatters "
            r"event %s: the trigger URL from Runscope: localhost is not a "
            r"Runscope host" % (re.escape(key), re.escape(ev["id"]))), WAIT,
            "the warning about the trigger URL")
        self.assertNotIn("/radar/", line[0], "the URL is a credential")
        self.wait_deliveries_reads(ev["id"])
        self.assertEqual(self.rs.triggers(), [])
        self.assertEqual(self.xm.event(ev["id"])["status"], "ACTIVE")
        self.assertEqual(len(self.h.log_lines(r"Not running test")), 1)
        self.rs.add_run(BUCKET, t["id"], "Production", "pass", region="us1")
        self.wait_event(key, "TERMINATED")


if __name__ == "__main__":
    unittest.main()
