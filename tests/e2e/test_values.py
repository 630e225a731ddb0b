# SPDX-License-Identifier: MIT
"""What the plugin tells collectd, end to end: the values it dispatches (read
back from the csv plugin's files), the notifications (from the logfile
plugin's "Notification: ..." lines, and their meta data through a python
notification callback), and `collectd -T` as a check of the credentials.

The real collectd daemon runs build/runscope.so against the fakes
(harness.CollectdTestCase); every wait is a bounded poll.
"""

import json
import os
import re
import shutil
import time
import unittest

import harness
from harness import WAIT

BUCKET = "shop1bucket0"
NAME = "Checkout_API-Production"  # the key's name in values and notifications
DATE = r"\d{4}-\d{2}-\d{2}"

NOTIFICATION = re.compile(
    r"Notification: severity = (?P<severity>\w+), host = (?P<host>[^,]*), "
    r"plugin = (?P<plugin>[^,]*), plugin_instance = (?P<plugin_instance>"
    r"[^,]*), type = (?P<type>[^,]*), type_instance = (?P<type_instance>"
    r"[^,]*), message = (?P<message>.*)$")

# Every value of the plugin's own health: (type, type instance).
SELF_VALUES = [
    ("http_requests", "runscope"), ("http_requests", "xmatters"),
    ("derive", "runscope_errors"), ("derive", "xmatters_errors"),
    ("derive", "runscope_rate_limited"), ("derive", "xmatters_rate_limited"),
    ("bool", "runscope_reachable"), ("bool", "xmatters_reachable"),
    ("derive", "events_created"), ("derive", "events_terminated"),
    ("derive", "reruns_triggered"), ("derive", "acknowledgements"),
    ("derive", "create_errors"),
    ("derive", "api_errors"), ("count", "active_events"),
    ("duration", "cycle"), ("duration", "runscope_poll_age"),
]

PYTHON_SO = os.path.join(harness.SYSTEM_PLUGIN_DIR, "python.so")

# A python notification callback that writes each notification, meta data
# included, as a JSON line (the logfile plugin does not print meta data).
NOTES_PY = '''
import collectd, json

def note(n):
    with open(%r, "a") as f:
        f.write(json.dumps({
            "severity": n.severity, "plugin": n.plugin,
            "plugin_instance": n.plugin_instance, "type": n.type,
            "type_instance": n.type_instance, "message": n.message,
            "meta": dict(n.meta or {})}) + "\\n")

collectd.register_notification(note)
'''

# A python write callback that writes each value of the plugin, with its
# time and interval, as a JSON line (the csv plugin writes no interval).
WRITES_PY = '''
import collectd, json

def write(v, data=None):
    if v.plugin != "runscope":
        return
    with open(%r, "a") as f:
        f.write(json.dumps({
            "plugin_instance": v.plugin_instance, "type": v.type,
            "type_instance": v.type_instance, "time": v.time,
            "interval": v.interval, "values": list(v.values)}) + "\\n")

collectd.register_write(write)
'''


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class ValuesTest(harness.CollectdTestCase):

    # ----- Runscope

    def shop(self, name="Checkout API", env="Production"):
        if BUCKET not in [b["key"] for b in self.rs.state()["buckets"]]:
            self.rs.add_bucket(BUCKET, "Shop")
        return self.rs.add_test(BUCKET, name, environments=[
            {"name": env, "regions": ["us1"]}])

    def add_run(self, test, result, duration=1.5, age=2.0, **fields):
        """A finished run that started `age` seconds ago."""
        started = time.time() - age
        return self.rs.add_run(BUCKET, test["id"], None, result,
                               started_at=started,
                               finished_at=started + duration, **fields)

    # ----- reading collectd's output

    def csv(self, plugin_instance, type_, type_instance):
        """The (time, value) rows the csv plugin wrote for one value."""
        return self.h.csv_rows(plugin_instance, type_, type_instance)

    def last(self, plugin_instance, type_, type_instance):
        rows = self.csv(plugin_instance, type_, type_instance)
        return rows[-1][1] if rows else None

    def wait_value(self, plugin_instance, type_, type_instance, want,
                   after=0.0):
        """Waits until the newest value (written after `after`) is want."""
        def ok():
            rows = [r for r in self.csv(plugin_instance, type_,
                                        type_instance) if r[0] > after]
            return rows and abs(rows[-1][1] - want) < 1e-6
        self.h.wait_for(ok, WAIT, "%s/%s-%s = %s" % (
            plugin_instance, type_, type_instance, want))

    def value_names(self, plugin_instance):
        """The "<type>-<type instance>" of every value of a plugin
        instance."""
        d = os.path.join(self.h.csv_dir, harness.HOSTNAME,
                         "runscope-%s" % plugin_instance)
        return {re.sub(r"-%s$" % DATE, "", f)
                for f in (os.listdir(d) if os.path.isdir(d) else [])}

    def notifications(self, severity=None):
        out = []
        for line in self.h.log().splitlines():
            m = NOTIFICATION.search(line)
            if m and m["plugin"] == "runscope" and \
                    severity in (None, m["severity"]):
                out.append(m.groupdict())
        return out

    def key_notifications(self, severity=None):
        return [n for n in self.notifications(severity)
                if n["plugin_instance"] != "self"]

    def load_python_notes(self):
        """Loads a python notification callback into the config; returns
        the path of its JSON lines."""
        shutil.copy2(PYTHON_SO, self.h.plugin_dir)
        out = os.path.join(self.h.tmp, "notifications.jsonl")
        with open(os.path.join(self.h.tmp, "runscope_notes.py"), "w") as f:
            f.write(NOTES_PY % out)
        with open(self.h.conf_path, "a") as f:
            f.write('<LoadPlugin python>\n  Globals true\n</LoadPlugin>\n'
                    '<Plugin python>\n  ModulePath %s\n'
                    '  Import "runscope_notes"\n</Plugin>\n'
                    % harness.quote(self.h.tmp))
        return out

    def load_python_writes(self):
        """Loads a python write callback into the config; returns the path
        of its JSON lines (one per value, with its interval)."""
        shutil.copy2(PYTHON_SO, self.h.plugin_dir)
        out = os.path.join(self.h.tmp, "writes.jsonl")
        with open(os.path.join(self.h.tmp, "runscope_writes.py"), "w") as f:
            f.write(WRITES_PY % out)
        with open(self.h.conf_path, "a") as f:
            f.write('<LoadPlugin python>\n  Globals true\n</LoadPlugin>\n'
                    '<Plugin python>\n  ModulePath %s\n'
                    '  Import "runscope_writes"\n</Plugin>\n'
                    % harness.quote(self.h.tmp))
        return out

    def writes(self, path, plugin_instance, type_, type_instance):
        return [w for w in self.read_notes(path)
                if (w["plugin_instance"], w["type"], w["type_instance"]) ==
                (plugin_instance, type_, type_instance)]

    def wait_cycles(self, path, n):
        """Waits until n more cycles of the plugin have dispatched their
        own values (self/duration-cycle)."""
        before = len(self.writes(path, "self", "duration", "cycle"))
        self.h.wait_for(
            lambda: len(self.writes(path, "self", "duration", "cycle")) >=
            before + n, WAIT, "%d more cycles" % n)

    @staticmethod
    def read_notes(path):
        try:
            with open(path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    # ----- values

    def test_values_follow_a_failing_then_recovering_test(self):
        t = self.shop()
        self.add_run(t, "pass", age=60)
        self.h.write_config(buckets=[BUCKET],
                            plugin_options={"DetailedValues": True})
        self.h.start()
        self.wait_value(BUCKET, "bool", NAME, 1)
        self.wait_value(BUCKET, "count", "failing_keys", 0)

        fail = self.add_run(t, "fail", duration=2.25, assertions_failed=3,
                        scripts_failed=1, variables_failed=2,
                        requests_executed=4)
        self.wait_value(BUCKET, "bool", NAME, 0)
        self.wait_value(BUCKET, "count", "failing_keys", 1)
        self.wait_value(BUCKET, "duration", NAME, 2.25)
        for what, n in (("assertions_failed", 3), ("scripts_failed", 1),
                        ("variables_failed", 2), ("requests_executed", 4)):
            self.wait_value(BUCKET, "count", "%s-%s" % (NAME, what), n)
        self.h.wait_for(lambda: self.xm.events(status="ACTIVE"), WAIT,
                        "the event")
        self.wait_value("self", "derive", "events_created", 1)
        self.wait_value("self", "count", "active_events", 1)

        self.add_run(t, "pass", duration=0.5, age=1.0)
        self.wait_value(BUCKET, "bool", NAME, 1)
        self.wait_value(BUCKET, "count", "failing_keys", 0)
        self.wait_value(BUCKET, "duration", NAME, 0.5)
        self.wait_value(BUCKET, "count", NAME + "-assertions_failed", 0)
        self.wait_value("self", "derive", "events_terminated", 1)
        self.wait_value("self", "count", "active_events", 0)

        # passing went 1 -> 0 -> 1, and nothing else
        flips = []
        for _, v in self.csv(BUCKET, "bool", NAME):
            if not flips or flips[-1] != v:
                flips.append(v)
        self.assertEqual(flips, [1, 0, 1])

        # the notifications: one FAILURE, one OKAY, on the value's names
        notes = self.key_notifications()
        self.assertEqual([n["severity"] for n in notes], ["FAILURE", "OKAY"])
        for n in notes:
            self.assertEqual((n["host"], n["plugin_instance"], n["type"],
                              n["type_instance"]),
                             (harness.HOSTNAME, BUCKET, "bool", NAME))
        failure, okay = notes
        self.assertIn('Runscope test "Checkout API" fails in environment '
                      '"Production" at us1: 3 assertions failed.',
                      failure["message"])
        self.assertRegex(failure["message"], r"https?://\S+/radar/%s/%s/"
                         r"results/%s$" % (BUCKET, t["id"],
                                           fail["test_run_id"]))
        self.assertIn('Runscope test "Checkout API" passes again in '
                      'environment "Production".', okay["message"])

    def test_key_values_come_once_per_run_with_the_schedule_interval(self):
        # A tests list without last_run: the plugin reads the test's
        # detail, and with it the schedule of its environment (5 minutes).
        self.rs.options["list_last_run"] = False
        if BUCKET not in [b["key"] for b in self.rs.state()["buckets"]]:
            self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}],
            schedules=[{"environment": "Production", "interval": "5m"}])
        self.add_run(t, "pass", age=60)
        self.h.write_config(buckets=[BUCKET])
        out = self.load_python_writes()
        self.h.start()
        self.h.wait_for(lambda: self.writes(out, BUCKET, "bool", NAME), WAIT,
                        "the key's first value")
        self.wait_cycles(out, 5)
        bools = self.writes(out, BUCKET, "bool", NAME)
        self.assertEqual([(w["values"], w["interval"]) for w in bools],
                         [([1], 300.0)])
        durations = self.writes(out, BUCKET, "duration", NAME)
        self.assertEqual([w["interval"] for w in durations], [300.0])
        # bucket and plugin-health values stay per interval
        failing = self.writes(out, BUCKET, "count", "failing_keys")
        self.assertGreaterEqual(len(failing), 5)
        self.assertEqual({w["interval"] for w in failing}, {1.0})
        # the counts are behind DetailedValues
        self.assertEqual(self.writes(out, BUCKET, "count",
                                     NAME + "-assertions_failed"), [])

        # a new verdict run: its values once more, and then nothing
        self.add_run(t, "fail", duration=2.25, age=1.0)
        self.h.wait_for(lambda: len(self.writes(out, BUCKET, "bool", NAME))
                        >= 2, WAIT, "the failing run's value")
        self.wait_cycles(out, 5)
        bools = self.writes(out, BUCKET, "bool", NAME)
        self.assertEqual([(w["values"], w["interval"]) for w in bools],
                         [([1], 300.0), ([0], 300.0)])
        self.assertEqual([w["values"] for w in self.writes(
            out, BUCKET, "duration", NAME)], [[1.5], [2.25]])

    def test_key_values_without_a_known_schedule_follow_the_runs(self):
        # The list gives last_run: no detail is needed to watch the test,
        # so its values' interval is the time between its last two runs.
        t = self.shop()
        self.add_run(t, "pass", age=130)
        self.add_run(t, "pass", age=10)
        self.h.write_config(buckets=[BUCKET])
        out = self.load_python_writes()
        self.h.start()
        self.h.wait_for(lambda: self.writes(out, BUCKET, "bool", NAME), WAIT,
                        "the key's first value")
        self.wait_cycles(out, 3)
        bools = self.writes(out, BUCKET, "bool", NAME)
        self.assertEqual(len(bools), 1)
        self.assertAlmostEqual(bools[0]["interval"], 120.0, delta=0.01)

    def test_values_every_interval_restores_dense_series(self):
        t = self.shop()
        self.add_run(t, "pass", age=60)
        self.h.write_config(buckets=[BUCKET], plugin_options={
            "ValuesEveryInterval": True, "DetailedValues": True})
        out = self.load_python_writes()
        self.h.start()
        self.h.wait_for(lambda: self.writes(out, BUCKET, "bool", NAME), WAIT,
                        "the key's first value")
        self.wait_cycles(out, 5)
        bools = self.writes(out, BUCKET, "bool", NAME)
        self.assertGreaterEqual(len(bools), 5)
        self.assertEqual({w["interval"] for w in bools}, {1.0})
        self.assertGreaterEqual(len(self.writes(
            out, BUCKET, "count", NAME + "-requests_executed")), 5)

    def test_self_values(self):
        t = self.shop()
        self.add_run(t, "pass")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.wait_value(BUCKET, "bool", NAME, 1)
        self.h.wait_cycles(t["id"], 2)
        self.h.wait_for(lambda: all(self.csv("self", ty, ti)
                                    for ty, ti in SELF_VALUES), WAIT,
                        "every value of the plugin's own health")
        names = self.value_names("self")
        self.assertLessEqual({"%s-%s" % v for v in SELF_VALUES}, names)
        requests = self.csv("self", "http_requests", "runscope")
        self.assertGreater(requests[-1][1], requests[0][1],
                           "the Runscope requests are counted")
        self.assertGreater(self.last("self", "http_requests", "xmatters"),
                           0, "the credentials check and the event sweep")
        for ty, ti in SELF_VALUES:  # the gauges
            if ty in ("bool", "count", "duration"):
                v = self.last("self", ty, ti)
                self.assertTrue(0 <= v < 5, "%s-%s = %s" % (ty, ti, v))
        self.assertEqual(self.last("self", "bool", "runscope_reachable"), 1)
        self.assertEqual(self.last("self", "derive", "api_errors"), 0)
        self.assertEqual(self.last("self", "derive", "reruns_triggered"), 0)

    def test_poll_age_grows_while_runscope_fails(self):
        t = self.shop()
        self.add_run(t, "pass")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.wait_value(BUCKET, "bool", NAME, 1)
        self.rs.inject_fault(path="/results$", status=503, count=1000)
        started = time.time()
        self.h.wait_for(
            lambda: (self.last("self", "duration", "runscope_poll_age") or 0)
            >= 3, WAIT, "the poll age to grow past 3 s")
        self.assertGreater(self.last("self", "derive", "runscope_errors"), 0)
        self.rs.clear_faults()
        self.h.wait_for(
            lambda: [r for r in self.csv("self", "duration",
                                         "runscope_poll_age")
                     if r[0] > started and r[1] < 1.5], WAIT,
            "the poll age back near 0")

    # ----- names

    def test_names_are_sanitized_unique_and_shared_with_notifications(self):
        a = self.shop("Checkout API")
        b = self.shop("Checkout API")  # a second test of the same name
        c = self.shop("Z\u00fcrich/Login \u2713", "Prod (EU)")
        for t in (a, b, c):
            self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_for(lambda: len(self.key_notifications("FAILURE")) == 3,
                        WAIT, "three FAILURE notifications")
        self.h.wait_for(lambda: len([n for n in self.value_names(BUCKET)
                                     if n.startswith("bool-")]) == 3,
                        WAIT, "three passing values")
        bools = sorted(n[len("bool-"):] for n in self.value_names(BUCKET)
                       if n.startswith("bool-"))
        self.assertEqual(bools[2], "Z_rich_Login-Prod_EU")
        for n in bools[:2]:
            self.assertRegex(n, r"^Checkout_API-Production-[0-9a-f]{8}$")
        self.assertNotEqual(bools[0], bools[1])
        self.assertEqual(sorted(n["type_instance"] for n in
                                self.key_notifications("FAILURE")), bools)
        for n in self.value_names(BUCKET):
            self.assertRegex(n, r"^[A-Za-z0-9_.-]+$")
            self.assertLess(len(n.split("-", 1)[1]), 128)

    # ----- notifications

    def test_notification_meta(self):
        t = self.shop()
        fail = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        notes_path = self.load_python_notes()
        self.h.start()
        notes = self.h.wait_for(lambda: self.read_notes(notes_path), WAIT,
                                "a notification through python")
        (failure,) = notes
        env = t["environments"][0]["id"]
        self.assertEqual(failure["severity"], 1)  # NOTIF_FAILURE
        self.assertEqual((failure["plugin"], failure["plugin_instance"],
                          failure["type"], failure["type_instance"]),
                         ("runscope", BUCKET, "bool", NAME))
        meta = failure["meta"]
        self.assertEqual(meta.get("runscope_key"), harness.runscope_key(
            BUCKET, t["id"], env))
        self.assertEqual(meta.get("test_id"), t["id"])
        self.assertEqual(meta.get("test_name"), "Checkout API")
        self.assertEqual(meta.get("environment_id"), env)
        self.assertEqual(meta.get("environment_name"), "Production")
        self.assertEqual(meta.get("test_run_id"), fail["test_run_id"])
        self.assertTrue(meta.get("test_run_url", "").endswith(
            fail["test_run_id"]))
        (trigger,) = self.h.trigger_calls()
        self.assertEqual(meta.get("xmatters_request_id"),
                         trigger["requestId"])
        self.assertNotIn("", meta.values(), "no empty meta data")

        ok = self.add_run(t, "pass", age=1.0)
        notes = self.h.wait_for(
            lambda: [n for n in self.read_notes(notes_path)
                     if n["severity"] == 4], WAIT, "the OKAY notification")
        (okay,) = notes
        self.assertEqual(okay["type_instance"], NAME)
        self.assertEqual(okay["meta"].get("test_run_id"), ok["test_run_id"])
        self.assertEqual(okay["meta"].get("test_id"), t["id"])
        (event,) = self.xm.events(key=meta["runscope_key"])
        self.assertEqual(event["status"], "TERMINATED")
        self.assertEqual(okay["meta"].get("event_id"), event["id"],
                         "the OKAY names the event it closed")

    def test_restart_with_unchanged_state_sends_no_notification_again(self):
        t = self.shop()
        run = self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_for(lambda: self.key_notifications("FAILURE"), WAIT,
                        "the FAILURE notification")
        self.h.wait_run_processed(run)
        self.assertEqual(self.h.stop(), 0)

        # still failing, another failing run: no second FAILURE
        restarted = time.time()
        self.h.start()
        again = self.add_run(t, "fail", age=1.0)
        self.h.wait_run_processed(again, cycles=3)
        self.wait_value(BUCKET, "bool", NAME, 0, after=restarted)
        self.assertEqual(len(self.key_notifications("FAILURE")), 1,
                         "a restart does not notify an unchanged failure")
        self.assertEqual(self.key_notifications("OKAY"), [])

        # it recovers: one OKAY, and none again after the next restart
        self.add_run(t, "pass", age=0.5)
        self.h.wait_for(lambda: self.key_notifications("OKAY"), WAIT,
                        "the OKAY notification")
        self.h.wait_cycles(t["id"], 2)
        self.assertEqual(self.h.stop(), 0)
        restarted = time.time()
        self.h.start()
        self.h.wait_cycles(t["id"], 3)
        self.wait_value(BUCKET, "bool", NAME, 1, after=restarted)
        self.assertEqual([n["severity"] for n in self.key_notifications()],
                         ["FAILURE", "OKAY"])

    # ----- collectd -T

    def assert_log_line(self, out, pattern):
        lines = [line for line in out.splitlines() if re.search(pattern,
                                                                line)]
        self.assertTrue(lines, "no log line matches %r in:\n%s"
                        % (pattern, out))
        return lines

    def test_T_with_a_wrong_token_fails_naming_the_API_and_status(self):
        self.shop()
        wrong = "rs-wrong-token-" + self.h.token[-8:]
        self.h.extra_secrets.append(wrong)
        self.h.write_config(buckets=[BUCKET], token_file=False, token=wrong)
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0, "collectd -T fails on a rejected token")
        self.assert_log_line(out, r"\[error\] runscope plugin: "
                             r"(<Bucket \"%s\">: )?Runscope API: "
                             r"GET /buckets/%s: HTTP 403" % (BUCKET, BUCKET))
        self.assertNotRegex(out, r"runscope plugin: (runscope|xmatters):")

    def test_T_with_a_wrong_xmatters_password_fails_naming_the_API(self):
        t = self.shop()
        self.add_run(t, "pass")
        wrong = "xm-wrong-pass-" + self.h.password[-8:]
        self.h.extra_secrets.append(wrong)
        self.h.write_config(buckets=[BUCKET], password_file=False,
                            password=wrong)
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0, "collectd -T fails on a rejected password "
                            "even when every test passes")
        self.assert_log_line(out, r"\[error\] runscope plugin: xMatters API: "
                             r"GET /api/xm/1/\S+: HTTP 401")
        self.assertNotRegex(out, r"runscope plugin: (runscope|xmatters):")

    def test_T_with_dry_run_checks_everything_and_sends_nothing(self):
        t = self.shop()
        self.add_run(t, "fail")
        self.h.write_config(buckets=[BUCKET], dry_run=True)
        rc, out = self.h.run_once()
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.h.trigger_calls(), [])
        self.assert_log_line(out, r"runscope plugin: DryRun: would create")
        self.assert_log_line(out, r"Notification: severity = FAILURE, .*"
                             r"type_instance = %s," % NAME)
        self.assertFalse(os.path.exists(self.h.state_path))

    # ----- the shipped example

    def test_the_shipped_example_loads_nothing(self):
        example = os.path.join(harness.REPO, "conf.d", "runscope.conf")
        with open(example) as f:
            live = [line for line in f
                    if line.strip() and not line.lstrip().startswith("#")]
        self.assertEqual(live, [], "every line is commented out")
        self.h.write_config(with_runscope=False)
        with open(self.h.conf_path, "a") as f:
            f.write("Include %s\n" % harness.quote(example))
        rc, out = self.h.run_once()
        self.assertEqual(rc, 0, out)
        self.assertNotIn("runscope", out)


if __name__ == "__main__":
    unittest.main()
