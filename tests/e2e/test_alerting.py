# SPDX-License-Identifier: MIT
"""Alert semantics end to end (issue 15): FailureThreshold, flap damping
and maintenance windows, with the real collectd daemon running
build/runscope.so against the fake Runscope and xMatters.

Runs are added one at a time, each waited for (read, and the cycles after
it done), so that every verdict is seen in its order. Waits are bounded.
"""

import json
import os
import re
import subprocess
import time
import unittest

import harness
from harness import WAIT, runscope_key

CTL = os.path.join(harness.REPO, "build", "runscopectl")


def ctl(*args):
    """Runs runscopectl; returns (exit code, stdout, stderr)."""
    p = subprocess.run([CTL] + list(args), capture_output=True, text=True,
                       timeout=30, env=harness.clean_env())
    return p.returncode, p.stdout, p.stderr

BUCKET = "shop1bucket0"

NOTIFICATION = re.compile(
    r"Notification: severity = (?P<severity>\w+), .*message = "
    r"(?P<message>.*)$")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class AlertingTest(harness.CollectdTestCase):

    # ----- helpers

    def start(self, regions=("us1",), **plugin_options):
        """Bucket "Shop" with Checkout API in Production (regions), a passing
        run, collectd started with plugin_options. Returns the key."""
        self.rs.add_bucket(BUCKET, "Shop")
        self.test = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": list(regions)}])
        self.started = time.time() - 100
        self.add_run("pass", started_at=self.started - 10, wait=False)
        self.h.write_config(buckets=[BUCKET], plugin_options=plugin_options)
        self.h.start()
        env = self.test["environments"][0]["id"]
        self.key = runscope_key(BUCKET, self.test["id"], env)
        self.h.wait_cycles(self.test["id"], 2)
        return self.key

    def add_run(self, result, region=None, started_at=None, wait=True):
        """Adds a finished run (started after every earlier one) and waits
        until the plugin read it and did what it decided."""
        if started_at is None:
            self.started += 1
            started_at = self.started
        run = self.rs.add_run(BUCKET, self.test["id"], "Production", result,
                              region=region, started_at=started_at,
                              finished_at=started_at + 1)
        if wait:
            self.h.wait_run_processed(run, cycles=2)
        return run

    def triggers(self):
        return [t for t in self.h.trigger_calls()
                if isinstance(t["body"], dict) and
                t["body"].get("properties", {}).get("runscope_key") ==
                self.key]

    def notifications(self, severity=None):
        out = []
        for line in self.h.log().splitlines():
            m = NOTIFICATION.search(line)
            if m and (severity is None or m.group("severity") == severity):
                out.append(m.group("message"))
        return out

    def events(self, status=None):
        return self.xm.events(status=status, key=self.key)

    def wait_event(self, status="ACTIVE"):
        return self.h.wait_for(lambda: self.events(status), WAIT,
                               "a %s event for %s" % (status, self.key))[0]

    def window_dir(self):
        d = os.path.join(self.h.tmp, "maintenance")
        os.makedirs(d, exist_ok=True)
        return d

    def write_window(self, name, end, **members):
        body = dict(name=name, bucket=BUCKET, end=iso(end), **members)
        path = os.path.join(self.window_dir(), name + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(body, f)
        os.rename(path + ".tmp", path)
        return path

    # ----- FailureThreshold

    def test_failure_threshold_two_pages_on_the_second_failure(self):
        self.start(FailureThreshold=2)
        self.add_run("fail")
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])
        self.add_run("fail")
        self.wait_event()
        self.h.wait_cycles(self.test["id"], 2)
        self.assertEqual(len(self.triggers()), 1)
        self.assertEqual(len(self.notifications("FAILURE")), 1)

    def test_failure_threshold_two_broken_streaks_page_nobody(self):
        self.start(regions=("us1", "eu1"), FailureThreshold=2)
        self.add_run("fail", region="us1")
        self.add_run("pass", region="us1")
        self.add_run("fail", region="us1")
        self.add_run("fail", region="eu1")
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])

    def test_recovery_threshold_two_needs_two_passes_per_region(self):
        self.start(regions=("us1", "eu1"), RecoveryThreshold=2)
        self.add_run("fail", region="us1")
        ev = self.wait_event()
        self.add_run("pass", region="us1")
        self.add_run("pass", region="eu1")
        self.assertEqual(self.events("ACTIVE")[0]["id"], ev["id"])
        self.assertEqual(self.notifications("OKAY"), [])
        self.add_run("pass", region="us1")
        self.add_run("pass", region="eu1")
        self.assertEqual(self.wait_event("TERMINATED")["id"], ev["id"])
        self.h.wait_for(lambda: self.notifications("OKAY"), WAIT, "an OKAY")

    # ----- flap damping

    def test_an_alternating_test_is_seen_flapping_then_causes_no_churn(self):
        self.start(FlapDetection=True, FlapWindow=6)
        for i in range(8):
            self.add_run("fail" if i % 2 == 0 else "pass")
            if any("is flapping" in m for m in self.notifications("WARNING")):
                break
        self.assertTrue(any("is flapping" in m
                            for m in self.notifications("WARNING")),
                        "no WARNING saying the test flaps")
        pages = len(self.triggers())
        self.assertLessEqual(pages, 4)
        terminated = len(self.events("TERMINATED"))
        for i in range(4):
            self.add_run("fail" if i % 2 == 0 else "pass")
        self.assertEqual(len(self.triggers()), pages, "a page while flapping")
        self.assertEqual(len(self.events("TERMINATED")), terminated,
                         "an event closed while flapping")
        # an event stays open while it flaps (one was created if none was)
        self.assertEqual(len(self.events("ACTIVE")), 1)
        for _ in range(8):
            self.add_run("pass")
            if any("stopped flapping" in m
                   for m in self.notifications("OKAY")):
                break
        self.assertTrue(any("stopped flapping" in m
                            for m in self.notifications("OKAY")))
        self.wait_event("TERMINATED")
        self.assertEqual(self.events("ACTIVE"), [])

    # ----- maintenance windows

    def test_a_window_file_silences_a_failure_that_pages_once_at_its_end(self):
        d = self.window_dir()
        self.start(MaintenanceDir=d)
        end = int(time.time()) + 12  # the file says whole seconds
        self.write_window("deploy", end, reason="release 42")
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "deploy"'), WAIT, "the window applied")
        self.add_run("fail")
        self.add_run("fail")
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])
        ev = self.wait_event()
        self.assertGreaterEqual(time.time(), end)
        self.h.wait_cycles(self.test["id"], 3)
        calls = self.triggers()
        self.assertEqual(len(calls), 1)
        props = calls[0]["body"]["properties"]
        self.assertEqual(props["maintenance_window"], "deploy")
        self.assertEqual(props["failing_since"], iso(self.started - 1))
        self.assertEqual(len(self.notifications("FAILURE")), 1)
        self.assertEqual(ev["status"], "ACTIVE")

    def test_a_pass_inside_a_window_still_closes_the_open_event(self):
        d = self.window_dir()
        self.start(MaintenanceDir=d)
        self.add_run("fail")
        ev = self.wait_event()
        self.write_window("deploy", time.time() + 600)
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "deploy"'), WAIT, "the window applied")
        self.add_run("pass")
        self.assertEqual(self.wait_event("TERMINATED")["id"], ev["id"])

    def test_a_failure_recovered_inside_a_window_pages_nobody(self):
        d = self.window_dir()
        self.start(MaintenanceDir=d)
        path = self.write_window("deploy", time.time() + 600)
        with open(os.path.join(d, "broken.json"), "w") as f:
            f.write("{not json")
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "deploy"'), WAIT, "the window applied")
        self.add_run("fail")
        self.add_run("pass")
        os.unlink(path)
        self.h.wait_for(lambda: self.h.log_lines(
            r'left maintenance window "deploy"'), WAIT, "the window ended")
        self.h.wait_cycles(self.test["id"], 3)
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])
        self.assertEqual(len(self.h.log_lines(r"broken\.json")), 1,
                         "a bad file is logged once")


    def test_a_restart_inside_a_window_changes_nothing(self):
        d = self.window_dir()
        self.start(MaintenanceDir=d)
        path = self.write_window("deploy", time.time() + 600)
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "deploy"'), WAIT, "the window applied")
        self.add_run("fail")
        self.assertEqual(self.h.stop(), 0)
        self.h.start()
        self.h.wait_cycles(self.test["id"], 3)
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])
        os.unlink(path)
        self.wait_event()
        self.h.wait_cycles(self.test["id"], 2)
        self.assertEqual(len(self.triggers()), 1)

    @unittest.skipUnless(os.access(CTL, os.X_OK),
                         "build/runscopectl not built (make)")
    def test_runscopectl_silence_and_unsilence_drive_the_same(self):
        self.start(MaintenanceDir=self.window_dir())
        conf = ["-c", self.h.conf_path]
        self.assertEqual(ctl(*conf, "silence", "--bucket", "Shop",
                             "--test", "Checkout API", "--for", "10m",
                             "--reason", "release 43", "--name", "rel43"),
                         (0, "rel43\n", ""))
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "rel43"'), WAIT, "the silence applied")
        self.add_run("fail")
        self.add_run("fail")
        self.assertEqual(self.triggers(), [])
        self.assertEqual(self.notifications("FAILURE"), [])
        rc, out, err = ctl(*conf, "unsilence", "rel43")
        self.assertEqual(rc, 0, err)
        self.h.wait_for(lambda: self.h.log_lines(
            r'left maintenance window "rel43"'), WAIT, "the silence ended")
        self.wait_event()
        self.h.wait_cycles(self.test["id"], 3)
        calls = self.triggers()
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["body"]["properties"]["maintenance_window"],
                         "rel43")

    def test_collectd_T_refuses_bad_alert_options(self):
        self.rs.add_bucket(BUCKET, "Shop")
        for options, raw, want in [
                ({"FailureThreshold": 0}, None, "FailureThreshold"),
                ({"FlapWindow": 99}, None, "FlapWindow"),
                ({}, ['<Maintenance "m">', '  End "soon"', "</Maintenance>"],
                 '<Maintenance "m"> End'),
                ({}, ['<Maintenance "w">', '  Weekly "Sat 25:00-Sun 02:00"',
                      "</Maintenance>"], 'Weekly "Sat 25:00-Sun 02:00"')]:
            self.h.write_config(buckets=[BUCKET], plugin_options=options,
                                raw_plugin_lines=raw)
            rc, out = self.h.run_once()
            self.assertNotEqual(rc, 0, out)
            self.assertIn(want, out)

    def test_responses_keep_working_inside_a_window(self):
        d = self.window_dir()
        self.start(MaintenanceDir=d)
        self.add_run("fail")
        ev = self.wait_event()
        self.write_window("deploy", time.time() + 600)
        self.h.wait_for(lambda: self.h.log_lines(
            r'in maintenance window "deploy"'), WAIT, "the window applied")
        self.xm.add_response(ev["id"], "amy", "Acknowledge")
        self.h.wait_for(lambda: self.h.log_lines(
            r"amy acknowledged xMatters event %s" % re.escape(ev["id"])),
            WAIT, "the acknowledgement")
        self.xm.add_response(ev["id"], "jdoe", "Rerun")
        self.h.wait_for(lambda: [c for c in self.rs.triggers()
                                 if c["status"] == 200], WAIT, "the rerun")
        self.assertEqual(self.wait_event("TERMINATED")["id"], ev["id"])

if __name__ == "__main__":
    unittest.main()
