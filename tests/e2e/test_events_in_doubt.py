# SPDX-License-Identifier: MIT
"""Events in doubt, end to end (issue 14, points 3 to 5).

The real collectd daemon with build/runscope.so against the fakes:

- a person terminates the key's event in xMatters; the next failing run
  pages within one cycle of being read (the plugin asks xMatters whether
  the event is still open), not at the next ReconcileInterval (300 s);
- a trigger answered by a gateway's 502 after xMatters created the event,
  or by a 2xx whose body is not JSON, gives exactly one event: the plugin
  looks for the event before sending again; a 2xx from a proxy that never
  reached xMatters is sent again after PendingTimeout;
- the sweep of open events that reaches its page cap (100 pages) adopts
  what it read, says so once, and does not back xMatters off; Plan and
  Form narrow it.
"""

import re
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "doubt1bucket"
SHOWS_LATE = 4.0  # seconds a new event stays invisible to the REST API


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class EventsInDoubtTest(harness.CollectdTestCase):

    def shop(self):
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        return t, runscope_key(BUCKET, t["id"], t["environments"][0]["id"])

    def add_run(self, t, result):
        return self.rs.add_run(BUCKET, t["id"], "Production", result,
                               started_at=time.time())

    def triggers_for(self, key):
        return [c for c in self.h.trigger_calls()
                if isinstance(c["body"], dict)
                and c["body"].get("properties", {}).get("runscope_key")
                == key]

    def key_lookups(self, key, after=0.0):
        return [r for r in self.xm.requests("GET", r"^/api/xm/1/events$")
                if r["params"].get("propertyValue") == key
                and r["time"] > after]

    # ----- a person's termination (point 3)

    def test_person_terminates_then_failure_pages_within_a_cycle(self):
        t, key = self.shop()
        first = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]
        # the plugin has seen its event (a lookup after the trigger)
        sent = self.triggers_for(key)[0]["time"]
        self.h.wait_for(lambda: self.key_lookups(key, sent), WAIT,
                        "a lookup of the key")
        self.h.wait_run_processed(first, cycles=2)
        self.assertEqual(len(self.triggers_for(key)), 1)
        self.xm.terminate_as_person(ev["id"])
        second = self.add_run(t, "fail")
        self.h.wait_run_processed(second, cycles=1)
        self.assertEqual(len(self.triggers_for(key)), 2,
                         "the failing run after a person's termination did "
                         "not page within one cycle of being read")
        self.assertEqual(
            [e["status"] for e in self.xm.events(key=key)],
            ["TERMINATED", "ACTIVE"])
        self.assertTrue(self.xm.requests(
            "GET", r"^/api/xm/1/events/%s$" % re.escape(ev["id"])),
            "the event was not asked about by id")
        self.assertTrue(self.h.log_lines(
            r"xMatters event %s of %s is over \(TERMINATED\)"
            % (re.escape(ev["id"]), re.escape(key))))

    def test_failure_while_event_open_asks_once_and_stays_quiet(self):
        t, key = self.shop()
        self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]
        self.h.wait_cycles(t["id"], cycles=3)
        path = r"^/api/xm/1/events/%s$" % re.escape(ev["id"])
        before = len(self.xm.requests("GET", path))
        self.h.wait_run_processed(self.add_run(t, "fail"), cycles=3)
        self.assertEqual(len(self.xm.requests("GET", path)) - before, 1)
        self.assertEqual(len(self.triggers_for(key)), 1)
        self.assertEqual(len(self.xm.events(key=key)), 1)

    # ----- trigger answers that leave the create in doubt (point 5)

    def assert_one_event_after_doubt(self, answer, visibility=SHOWS_LATE):
        t, key = self.shop()
        self.xm.set_config(trigger_answers=[answer],
                           visibility_delay=visibility)
        run = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_for(lambda: self.triggers_for(key), WAIT,
                        "the first trigger")
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]
        # the event shows; the plugin finds it by key, then stays quiet
        shows_at = time.time() + visibility
        self.h.wait_for(lambda: self.key_lookups(key, shows_at), WAIT,
                        "a lookup of the key after the event shows")
        self.h.wait_run_processed(run, cycles=3)
        self.h.wait_cycles(t["id"], cycles=3)
        self.assertEqual(len(self.triggers_for(key)), 1,
                         "the trigger was sent again: %s" % (answer,))
        self.assertEqual([e["id"] for e in self.xm.events(key=key)],
                         [ev["id"]])
        return key

    def test_502_after_creating_gives_one_event(self):
        key = self.assert_one_event_after_doubt({"status": 502})
        self.assertTrue(self.h.log_lines(r"HTTP 502"))
        self.assertEqual(self.xm.events(key=key)[0]["status"], "ACTIVE")

    def test_2xx_not_json_after_creating_gives_one_event(self):
        self.assert_one_event_after_doubt(
            {"status": 200, "body": "<html><body>OK</body></html>"})
        self.assertTrue(self.h.log_lines(r"answer without a requestId"))

    def test_2xx_from_a_proxy_is_sent_again_after_pending_timeout(self):
        # The 200 came from something that never passed the trigger on: no
        # event shows up within PendingTimeout, so the plugin sends again.
        t, key = self.shop()
        self.xm.set_config(trigger_answers=[
            {"status": 200, "body": "<html>proxy</html>", "created": False}])
        self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET],
                            plugin_options={"PendingTimeout": 4})
        self.h.start()
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "an event after the proxy's answer")[0]
        self.h.wait_cycles(t["id"], cycles=3)
        self.assertEqual(len(self.triggers_for(key)), 2)
        self.assertEqual([e["id"] for e in self.xm.events(key=key)],
                         [ev["id"]])

    # ----- the sweep (point 4)

    def test_sweep_at_its_page_cap_adopts_what_it_read(self):
        # xMatters pages one event at a time: 130 open events are more
        # than the sweep's 100 pages. The key's event is among the first.
        t, key = self.shop()
        self.xm.set_page_size(1)
        ev = self.xm.add_event({"runscope_key": key})
        for i in range(129):
            self.xm.add_event({"runscope_key": "other/t%d/e" % i})
        run = self.add_run(t, "pass")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        # only the sweep knows the key's event: a pass terminates it
        self.h.wait_for(
            lambda: self.xm.event(ev["id"])["status"] == "TERMINATED",
            WAIT, "the adopted event to be terminated")
        self.h.wait_run_processed(run, cycles=2)
        self.assertEqual(len(self.h.log_lines(
            r"list of open xMatters events is longer than 100 pages")), 1)
        self.assertEqual(self.h.log_lines(r"Backing off the xMatters API"),
                         [])
        self.assertEqual(self.h.log_lines(r"more than 100 pages"), [])

    def test_plan_and_form_narrow_the_sweep(self):
        t, key = self.shop()
        ev = self.xm.add_event({"runscope_key": key})
        run = self.add_run(t, "pass")
        self.h.write_config(buckets=[BUCKET], xmatters_options={
            "Plan": "Runscope", "Form": "Runscope test failed"})
        self.h.start()
        self.h.wait_for(
            lambda: self.xm.event(ev["id"])["status"] == "TERMINATED",
            WAIT, "the adopted event to be terminated")
        self.h.wait_run_processed(run, cycles=1)
        sweeps = [r for r in self.xm.requests("GET", r"^/api/xm/1/events$")
                  if "propertyValue" not in r["params"]
                  and "requestId" not in r["params"]
                  and r["params"].get("limit") != "1"]
        self.assertTrue(sweeps)
        for r in sweeps:
            self.assertEqual(r["params"].get("plan"), "Runscope")
            self.assertEqual(r["params"].get("form"), "Runscope test failed")


if __name__ == "__main__":
    unittest.main()
