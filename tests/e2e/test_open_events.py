# SPDX-License-Identifier: MIT
"""A key's open events, end to end: ACTIVE and SUSPENDED events are the
key's events, and only events whose runscope_key is the key are.

The real collectd daemon with build/runscope.so against the fakes; the fake
xMatters answers as the API does: properties in a list only with
embed=properties, a status list, and CONTAINS matching of property values
unless propertyValueOperator=EQUALS is asked.
"""

import time
import unittest

import harness
from harness import WAIT, event_key, runscope_key

BUCKET = "open1bucket0"


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class OpenEventsTest(harness.CollectdTestCase):

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

    def wait_status(self, ev, status):
        return self.h.wait_for(
            lambda: self.xm.event(ev["id"])["status"] == status, WAIT,
            "event %s to be %s" % (ev["eventId"], status))

    def statuses(self, key):
        return [(e["eventId"], e["status"]) for e in self.xm.events(key=key)]

    def test_suspended_event_stays_open_and_closes_on_pass(self):
        t, key = self.shop()
        self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]
        self.xm.suspend_as_person(ev["id"])
        self.h.wait_run_processed(self.add_run(t, "fail"))
        self.assertEqual(self.statuses(key), [(ev["eventId"], "SUSPENDED")])
        self.assertEqual(len(self.triggers_for(key)), 1)
        self.add_run(t, "pass")
        self.wait_status(ev, "TERMINATED")
        self.assertTrue(self.xm.event(ev["id"])["terminated_by"]
                        .startswith("api:"))
        self.assertEqual(len(self.triggers_for(key)), 1)

    def test_unknown_suspended_event_is_the_keys_event(self):
        # A suspended event the state does not know (an older agent's, or
        # a lost state file): a failure creates nothing, a pass closes it.
        t, key = self.shop()
        ev = self.xm.add_event({"runscope_key": key}, status="SUSPENDED")
        run = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_run_processed(run)
        self.assertEqual(self.triggers_for(key), [])
        self.assertEqual(self.statuses(key), [(ev["eventId"], "SUSPENDED")])
        self.add_run(t, "pass")
        self.wait_status(ev, "TERMINATED")
        self.assertEqual(self.triggers_for(key), [])

    def test_event_of_a_longer_key_is_not_the_keys(self):
        # Another key that has this key as a prefix: a CONTAINS search for
        # this key finds it, and a list without properties cannot tell.
        t, key = self.shop()
        other = self.xm.add_event({"runscope_key": key + "2"})
        run = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_run_processed(run)
        self.assertEqual(len(self.triggers_for(key)), 1,
                         "the other key's event was taken for this key's")
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]
        self.add_run(t, "pass")
        self.wait_status(ev, "TERMINATED")
        self.h.wait_cycles(t["id"])
        self.assertEqual(self.xm.event(other["id"])["status"], "ACTIVE",
                         "this key's pass closed another key's event")
        self.assertEqual([event_key(e) for e in self.xm.events()],
                         [key + "2", key])


if __name__ == "__main__":
    unittest.main()
