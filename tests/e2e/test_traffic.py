# SPDX-License-Identifier: MIT
"""Live traffic alerts, end to end: the real collectd daemon with
build/runscope.so reads the fake Runscope's Errors stream, applies the
<TrafficAlert> rules and sends FYI events to the fake xMatters on
LiveTrafficTriggerURL (a trigger of its own, told apart from the Test
Results trigger).

The message's response fields are not documented by Runscope; the fake
gives "response": {"status", ...} as an assumption (docs/runscope-api.md
6.2), which the plugin reads among other plausible shapes.
"""

import json
import os
import secrets
import time
import unittest
import uuid

import harness
from harness import WAIT

BUCKET = "shop1bucket0"


def rule_block(name, **options):
    """The lines of a <TrafficAlert> block; a list value repeats the key."""
    lines = ["  <TrafficAlert %s>" % harness.quote(name)]
    lines += harness.render_options(options, "    ")
    return lines + ["  </TrafficAlert>"]


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class TrafficAlertTest(harness.CollectdTestCase):

    # ----- helpers

    def setUp(self):
        super().setUp()
        self.fn = str(uuid.uuid4())
        self.fn_key = "xm-traffic-" + secrets.token_hex(12)
        self.h.extra_secrets.append(self.fn_key)
        funcs = dict(self.xm.get_config()["functions"])
        funcs[self.fn] = self.fn_key
        self.xm.set_config(functions=funcs)
        self.rs.add_bucket(BUCKET, "Shop")
        self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])

    def configure(self, *rules, plugin_options=None, live_trigger=True):
        lines = ["<Bucket %s>" % harness.quote(BUCKET)]
        for r in rules:
            lines += r
        lines.append("</Bucket>")
        xm = {"LiveTrafficTriggerURL":
              self.xm.trigger_url(self.fn) if live_trigger else None}
        self.h.write_config(raw_plugin_lines=lines, xmatters_options=xm,
                            plugin_options=plugin_options)

    def message(self, method="GET", host="api.example.com", path="/v1/items",
                status=500, **kw):
        return self.rs.add_message(BUCKET, method=method, host=host,
                                   path=path, status=status, **kw)

    def fyi(self):
        """The FYI trigger calls (bodies) the fake xMatters accepted."""
        return [t["body"] for t in self.xm.triggers()
                if t["function"] == self.fn and t["status"] == 202]

    def props(self):
        return [b["properties"] for b in self.fyi()]

    def error_reads(self):
        return self.rs.requests("GET", r"/buckets/%s/errors$" % BUCKET)

    def wait_reads(self, n=3, timeout=WAIT):
        """Waits until the plugin has read the Errors stream n more
        times from now, so that whatever it decided has been done."""
        seq = max([r["seq"] for r in self.rs.requests()] or [0])
        self.h.wait_for(lambda: len([r for r in self.error_reads()
                                     if r["seq"] > seq]) >= n,
                        timeout, "%d more reads of the Errors stream" % n)

    def wait_fyi(self, n, timeout=WAIT):
        return self.h.wait_for(lambda: len(self.fyi()) >= n and self.fyi(),
                               timeout, "%d FYI events" % n)

    def accounting(self):
        """(own message uuids of the events, sum of suppressed_matches)."""
        own = [p["message_uuid"] for p in self.props() if p["message_uuid"]]
        return own, sum(p["suppressed_matches"] for p in self.props())

    def state(self):
        with open(self.h.state_path) as f:
            return json.load(f)

    # ----- matching and non-matching messages, each condition type

    def test_a_each_condition_type_matches_and_misses(self):
        self.configure(
            rule_block("deletes", Method=["delete", "PURGE"],
                       MinAlertInterval=0),
            rule_block("checkout", Path="^/checkout(/|$)",
                       MinAlertInterval=0),
            rule_block("payments-host", Host=r"^pay\.example\.com$",
                       MinAlertInterval=0),
            rule_block("gateway-5xx", StatusMin=502, StatusMax=504,
                       Recipient="gateway-team", MinAlertInterval=0))
        t = time.time() - 30
        want = {}  # message uuid -> the rules it matches
        for i, (kw, rules) in enumerate([
                ({"method": "DELETE"}, ["deletes"]),
                ({"method": "POST"}, []),
                ({"path": "/checkout/cart"}, ["checkout"]),
                ({"path": "/v1/checkout"}, []),
                ({"path": "/checkouts"}, []),
                ({"host": "pay.example.com"}, ["payments-host"]),
                ({"host": "xpay.example.com"}, []),
                ({"status": 503}, ["gateway-5xx"]),
                ({"status": 504, "list_response": False}, ["gateway-5xx"]),
                ({"status": 501}, []),
                ({"status": 505}, []),
                ({"status": None}, []),  # no response: no status
                ({"method": "PURGE", "host": "pay.example.com",
                  "path": "/checkout", "status": 502},
                 ["deletes", "checkout", "payments-host", "gateway-5xx"]),
        ]):
            m = self.message(timestamp=t + i, **kw)
            want[m["uuid"]] = rules
            if kw.get("list_response") is False:
                quiet = m["uuid"]
        ok = self.message(path="/checkout", status=200, timestamp=t + 20)
        self.h.start()
        n = sum(len(r) for r in want.values())
        self.wait_fyi(n)
        self.wait_reads(3)
        got = sorted((p["rule_name"], p["message_uuid"]) for p in self.props())
        self.assertEqual(got, sorted((r, u) for u, rules in want.items()
                                     for r in rules),
                         "exactly one FYI per rule and matching message")
        self.assertNotIn(ok["uuid"], [u for _, u in got],
                         "a 200 is not in the Errors stream")
        # the detail is read only when a rule needs a field the list lacks
        for u in want:
            self.assertEqual(self.rs.message_fetches(u),
                             1 if u == quiet else 0, "detail reads of %s" % u)
        # what an FYI event says
        (body,) = [b for b in self.fyi()
                   if b["properties"]["rule_name"] == "gateway-5xx"
                   and b["properties"]["status"] == 504]
        p = body["properties"]
        self.assertEqual({k: p[k] for k in
                          ("bucket_key", "bucket_name", "method", "host",
                           "path", "status", "suppressed_matches",
                           "collectd_host", "alert_type")},
                         {"bucket_key": BUCKET, "bucket_name": "Shop",
                          "method": "GET", "host": "api.example.com",
                          "path": "/v1/items", "status": 504,
                          "suppressed_matches": 0,
                          "collectd_host": harness.HOSTNAME,
                          "alert_type": "match"})
        self.assertRegex(p["message_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:"
                         r"\d\dZ$")
        self.assertEqual(p["message_url"], "https://www.runscope.com/stream/"
                         "%s/messages/%s" % (BUCKET, p["message_uuid"]))
        self.assertEqual(p["stream_url"],
                         "https://www.runscope.com/stream/" + BUCKET)
        self.assertNotIn("responseOptions", body, "an FYI event")
        self.assertNotIn("runscope_key", p, "not a test's event")
        self.assertEqual([r["id"] for r in body["recipients"]],
                         ["gateway-team"], "the rule's recipients")
        (body,) = [b for b in self.fyi()
                   if b["properties"]["rule_name"] == "checkout"
                   and b["properties"]["path"] == "/checkout/cart"]
        self.assertEqual([r["id"] for r in body["recipients"]],
                         ["api-oncall"], "else <XMatters> Recipient")
        self.assertEqual(self.h.trigger_calls(), [],
                         "nothing on the Test Results trigger")
        # a notification per event, and values per rule
        notes = self.h.log_lines(r"Notification: severity = WARNING.*"
                                 r"type_instance = traffic_events-")
        self.assertEqual(len(notes), n, "\n".join(notes))
        self.h.stop()
        self.assertEqual(self.csv_last("traffic_events-gateway-5xx"), 3)
        self.assertEqual(self.csv_last("traffic_matches-deletes"), 2)
        self.assertEqual(self.csv_last("traffic_suppressed-deletes"), 0)

    def csv_last(self, name):
        """The last value collectd's csv plugin wrote for a rule value."""
        d = os.path.join(self.h.csv_dir, harness.HOSTNAME,
                         "runscope-" + BUCKET)
        files = sorted(f for f in os.listdir(d)
                       if f.startswith("derive-" + name + "-"))
        self.assertTrue(files, "no csv file for %s in %s" % (name,
                                                              os.listdir(d)))
        with open(os.path.join(d, files[-1])) as f:
            return float(f.read().splitlines()[-1].split(",")[1])

    # ----- flood control

    def test_b_flood_control_accounts_for_every_match_once(self):
        interval = 4
        self.configure(rule_block("burst", Path="^/burst",
                                  MinAlertInterval=interval))
        t = time.time() - 30
        matching = [self.message(path="/burst/%d" % i, timestamp=t + i)
                    ["uuid"] for i in range(5)]
        other = [self.message(path="/calm", timestamp=t + 10 + i)["uuid"]
                 for i in range(2)]
        self.h.start()
        # the oldest match pages at once; the other four are held back and
        # reported when the window closes, without a new match
        self.wait_fyi(2, timeout=WAIT + interval)
        first, flush = self.props()[:2]
        self.assertEqual((first["message_uuid"], first["suppressed_matches"],
                          first["alert_type"]), (matching[0], 0, "match"))
        self.assertEqual((flush["message_uuid"], flush["suppressed_matches"],
                          flush["alert_type"]), ("", 4, "held_back"))
        self.assertTrue(flush["first_suppressed_at"])
        self.assertTrue(flush["last_suppressed_at"])
        self.assertEqual(flush["last_suppressed_message_uuid"], matching[-1])
        # a match right after the flush falls in the new window: held, then
        # reported by the next flush
        matching.append(self.message(path="/burst/late")["uuid"])
        self.wait_fyi(3, timeout=WAIT + interval)
        self.assertEqual(self.props()[2]["suppressed_matches"], 1)
        self.assertEqual(self.props()[2]["message_uuid"], "")
        # once the window has passed, a match pages on its own again
        last = self.fyi_times()[-1]
        self.h.wait_for(lambda: time.time() > last + interval + 1,
                        interval + 5, "the window to pass")
        matching.append(self.message(path="/burst/again")["uuid"])
        self.wait_fyi(4, timeout=WAIT + interval)
        self.assertEqual(self.props()[3]["message_uuid"], matching[-1])
        self.wait_reads(interval + 2)
        own, suppressed = self.accounting()
        self.assertEqual(len(own), len(set(own)), "no message twice")
        self.assertFalse(set(own) & set(other))
        self.assertEqual(len(own) + suppressed, len(matching),
                         "every match accounted for exactly once")
        times = self.fyi_times()
        for a, b in zip(times, times[1:]):
            self.assertGreaterEqual(b - a, interval - 0.5,
                                    "at most one event per MinAlertInterval")
        self.h.stop()
        self.assertEqual(self.csv_last("traffic_matches-burst"),
                         len(matching))
        self.assertEqual(self.csv_last("traffic_events-burst"), len(times))
        self.assertEqual(self.csv_last("traffic_suppressed-burst"),
                         suppressed)

    def fyi_times(self):
        return [t["time"] for t in self.xm.triggers()
                if t["function"] == self.fn and t["status"] == 202]

    def test_c_a_refused_event_is_reported_by_the_next(self):
        self.configure(rule_block("any-5xx", StatusMin=500,
                                  MinAlertInterval=0))
        self.xm.inject_fault(method="POST", path="/functions/%s/triggers"
                             % self.fn, count=1, status=500)
        m = self.message(status=502, timestamp=time.time() - 5)
        self.h.start()
        self.wait_fyi(1, timeout=2 * WAIT)
        (p,) = self.props()
        self.assertEqual((p["message_uuid"], p["suppressed_matches"]),
                         ("", 1), "the refused match, reported")
        calls = self.xm.requests("POST", "/functions/%s/triggers" % self.fn)
        self.assertEqual([c["status"] for c in calls], [500, 202])
        self.wait_reads(3)
        self.assertEqual(len(self.fyi()), 1)
        self.assertEqual(self.rs.message_fetches(m["uuid"]), 0)

    def test_c_a_refused_report_of_held_matches_is_sent_again(self):
        interval = 3
        self.configure(rule_block("any-5xx", StatusMin=500,
                                  MinAlertInterval=interval))
        t = time.time() - 5
        a = self.message(status=502, timestamp=t)
        self.message(status=503, timestamp=t + 1)
        self.message(status=504, timestamp=t + 2)
        self.h.start()
        self.wait_fyi(1)
        # the report of the two held matches is refused once
        self.xm.inject_fault(method="POST", path="/functions/%s/triggers"
                             % self.fn, count=1, status=500)
        self.wait_fyi(2, timeout=2 * WAIT)
        self.assertEqual([(p["message_uuid"], p["suppressed_matches"])
                          for p in self.props()], [(a["uuid"], 0), ("", 2)])
        calls = self.xm.requests("POST", "/functions/%s/triggers" % self.fn)
        self.assertEqual([c["status"] for c in calls], [202, 500, 202])

    # ----- restarts

    def test_d_no_repeat_after_a_restart(self):
        self.configure(rule_block("r", Path="^/r/", MinAlertInterval=0))
        m1 = self.message(path="/r/1", timestamp=time.time() - 5)
        self.h.start()
        self.wait_fyi(1)
        self.wait_reads(2)
        self.assertEqual(self.h.stop(), 0)
        st = self.state()
        self.assertEqual([b["bucket_key"] for b in st["traffic_buckets"]],
                         [BUCKET])
        self.assertIn(m1["uuid"], [s["uuid"] for s in
                                   st["traffic_buckets"][0]["seen"]])
        self.h.start()
        self.wait_reads(3)
        self.assertEqual([p["message_uuid"] for p in self.props()],
                         [m1["uuid"]], "no second event after the restart")
        m2 = self.message(path="/r/2")
        self.wait_fyi(2)
        self.wait_reads(2)
        self.assertEqual([p["message_uuid"] for p in self.props()],
                         [m1["uuid"], m2["uuid"]])

    def test_e_held_matches_survive_a_restart(self):
        self.configure(rule_block("slow", Path="^/s/", MinAlertInterval=300))
        t = time.time() - 20
        for i in range(3):
            self.message(path="/s/%d" % i, timestamp=t + i)
        self.h.start()
        self.wait_fyi(1)
        self.wait_reads(2)
        self.assertEqual(self.h.stop(), 0)
        (rule,) = self.state()["traffic_rules"]
        self.assertEqual((rule["rule"], rule["held"]), ("slow", 2))
        # as if the window had passed while collectd was down
        st = self.state()
        st["traffic_rules"][0]["last_sent"] -= 400
        with open(self.h.state_path, "w") as f:
            json.dump(st, f)
        self.h.start()
        self.wait_fyi(2)
        self.wait_reads(2)
        self.assertEqual([(p["message_uuid"] != "", p["suppressed_matches"])
                          for p in self.props()], [(True, 0), (False, 2)])

    def test_e_a_send_cut_short_is_logged_not_repeated(self):
        # as if collectd had died between saving the write-ahead mark and
        # the trigger's answer
        self.configure(rule_block("cut", Path="^/c/", MinAlertInterval=0))
        with open(self.h.state_path, "w") as f:
            json.dump({"format": "collectd-runscope-state", "version": 1,
                       "traffic_rules": [{"bucket_key": BUCKET,
                                          "rule": "cut", "sending": "m-cut",
                                          "last_sent": time.time() - 2}]},
                      f)
        self.h.start()
        self.wait_reads(2)
        pattern = r'rule "cut" in bucket %s for message m-cut may not have ' \
            r'been created' % BUCKET
        self.assertEqual(len(self.h.log_lines(pattern)), 1)
        self.assertEqual(self.fyi(), [], "not sent again")
        self.assertEqual(self.h.stop(), 0)
        self.assertEqual(self.state()["traffic_rules"][0]["sending"], "")
        self.h.start()
        self.wait_reads(2)
        self.assertEqual(len(self.h.log_lines(pattern)), 1, "said once")

    def test_f_first_start_skips_messages_older_than_max_catch_up(self):
        self.configure(rule_block("all-5xx", StatusMin=500,
                                  MinAlertInterval=0),
                       plugin_options={"MaxCatchUp": 600})
        self.message(status=500, timestamp=time.time() - 1200)
        recent = self.message(status=500, timestamp=time.time() - 300)
        self.h.start()
        self.wait_fyi(1)
        self.wait_reads(3)
        self.assertEqual([p["message_uuid"] for p in self.props()],
                         [recent["uuid"]])
        since = [r["params"].get("since") for r in self.error_reads()]
        self.assertTrue(since[0] and abs(float(since[0]) -
                                         (time.time() - 600)) < 60,
                        "the first read starts MaxCatchUp ago: %s" % since[0])

    # ----- configuration errors

    def assert_refused(self, *names, **kw):
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0, "collectd -T refuses the config")
        for name in names:
            self.assertIn(name, out)
        self.assertEqual(self.rs.requests(), [], "nothing sent to Runscope")
        self.assertEqual(self.xm.requests(), [], "nothing sent to xMatters")

    def test_g_bad_regex_refuses_to_start_naming_the_rule(self):
        self.configure(rule_block("broken-rule", Path="^/checkout("))
        self.assert_refused('<TrafficAlert "broken-rule"> Path')

    def test_g_rules_need_a_live_traffic_trigger(self):
        self.configure(rule_block("r", Method="GET"), live_trigger=False)
        self.assert_refused("LiveTrafficTriggerURL", '"r"')


if __name__ == "__main__":
    unittest.main()
