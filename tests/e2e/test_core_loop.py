# SPDX-License-Identifier: MIT
"""The plugin's core loop, end to end: the real collectd daemon with
build/runscope.so against the fake Runscope and xMatters servers.

Each test has its own fakes, temp dir and collectd (harness.CollectdTestCase)
and asserts on what the fakes saw, waiting with bounded polls.
"""

import os
import re
import time
import unittest

import harness
from harness import WAIT, event_key, runscope_key

BUCKET = "shop1bucket0"


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class CoreLoopTest(harness.CollectdTestCase):

    # ----- helpers

    def shop(self, environments=None, name="Checkout API"):
        """Bucket "Shop" with one test (default: Production in us1)."""
        self.rs.add_bucket(BUCKET, "Shop")
        return self.add_test(name, environments)

    def add_test(self, name, environments=None):
        return self.rs.add_test(BUCKET, name, environments=environments or [
            {"name": "Production", "regions": ["us1"]}])

    def key(self, test, env_name):
        env = next(e for e in test["environments"] if e["name"] == env_name)
        return runscope_key(BUCKET, test["id"], env["id"])

    def run_fail(self, test, env="Production", **kw):
        return self.rs.add_run(BUCKET, test["id"], env, "fail", **kw)

    def run_pass(self, test, env="Production", **kw):
        return self.rs.add_run(BUCKET, test["id"], env, "pass", **kw)

    def wait_event(self, key, status="ACTIVE", timeout=WAIT):
        return self.h.wait_for(
            lambda: self.xm.events(status=status, key=key), timeout,
            "an %s xMatters event for %s" % (status, key))[0]

    def triggers_for(self, key):
        return [t for t in self.h.trigger_calls()
                if isinstance(t["body"], dict)
                and t["body"].get("properties", {}).get("runscope_key")
                == key]

    def assert_one_event(self, key, status="ACTIVE"):
        events = self.xm.events(key=key)
        self.assertEqual(len(events), 1, "events for %s: %s" % (
            key, [(e["eventId"], e["status"]) for e in events]))
        self.assertEqual(events[0]["status"], status)
        self.assertEqual(len(self.triggers_for(key)), 1,
                         "trigger calls for %s" % key)
        return events[0]

    def open_event(self, bucket_config=True):
        """A failed run of Checkout API in Production, collectd started, its
        event open. Returns (test, key, event, run)."""
        t = self.shop()
        run = self.run_fail(t)
        self.h.write_config(buckets=[BUCKET] if bucket_config else None)
        self.h.start()
        key = self.key(t, "Production")
        ev = self.wait_event(key)
        return t, key, ev, run

    # ----- (a)-(c): fail, fail again, pass

    def test_a_failed_run_creates_one_event_with_properties(self):
        # no <Bucket> block: every bucket the token sees
        t, key, ev, run = self.open_event(bucket_config=False)
        self.h.wait_run_processed(run)
        ev = self.assert_one_event(key)
        props = ev["plain_properties"]
        env = t["environments"][0]
        want = {"runscope_key": key, "test_id": t["id"],
                "test_name": "Checkout API", "bucket_key": BUCKET,
                "bucket_name": "Shop", "environment_id": env["id"],
                "environment_name": "Production",
                "test_run_id": run["test_run_id"], "region": "us1",
                "result": "fail", "collectd_host": harness.HOSTNAME}
        self.assertEqual({k: props.get(k) for k in want}, want)
        for k in ("test_url", "test_run_url"):
            self.assertTrue(props.get(k), "property %s is empty" % k)
        self.assertIn("runscope_key#en", ev["properties"],
                      "sent as a text property")
        (trig,) = self.triggers_for(key)
        texts = [o.get("text") for o in trig["body"].get("responseOptions",
                                                         [])]
        self.assertIn("Acknowledge", texts)
        self.assertIn("Rerun", texts)
        self.assertIn("api-oncall", [r.get("id") for r in
                                     trig["body"].get("recipients", [])])

    def test_b_second_failure_of_the_key_creates_no_second_event(self):
        t, key, ev, run = self.open_event()
        run2 = self.run_fail(t, started_at=time.time())
        self.h.wait_run_processed(run2)
        self.assertEqual(self.assert_one_event(key)["id"], ev["id"])

    def test_c_pass_terminates_the_event(self):
        t, key, ev, run = self.open_event()
        self.run_pass(t, started_at=time.time())
        done = self.wait_event(key, "TERMINATED")
        self.assertEqual(done["id"], ev["id"])
        self.assertTrue(done["terminated_by"].startswith("api:"),
                        "terminated through the REST API")
        self.assertEqual(len(self.triggers_for(key)), 1)

    # ----- (d), (e): environments and regions

    def test_d_environments_are_separate_keys(self):
        t = self.shop([{"name": "Production", "regions": ["us1"]},
                       {"name": "Staging", "regions": ["us1"]}])
        prod, stag = self.key(t, "Production"), self.key(t, "Staging")
        now = time.time()
        self.run_fail(t, "Production", started_at=now - 5)
        ok = self.run_pass(t, "Staging", started_at=now - 4)
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.wait_event(prod)
        self.h.wait_run_processed(ok)
        self.assert_one_event(prod)
        self.assertEqual([event_key(e) for e in self.xm.events()], [prod])
        self.run_fail(t, "Staging", started_at=time.time())
        self.wait_event(stag)
        self.h.wait_cycles(t["id"])
        self.assert_one_event(prod)
        self.assert_one_event(stag)
        self.assertEqual(len(self.h.trigger_calls()), 2)

    def test_e_pass_in_one_region_does_not_close_a_failure_in_another(self):
        t = self.shop([{"name": "Production", "regions": ["us1", "eu1"]}])
        key = self.key(t, "Production")
        self.run_fail(t, region="us1", started_at=time.time() - 10)
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        ev = self.wait_event(key)
        ok = self.run_pass(t, region="eu1", started_at=time.time())
        self.h.wait_run_processed(ok)
        self.assertEqual(self.assert_one_event(key)["status"], "ACTIVE",
                         "eu1 passing must not close us1's failure")
        self.run_pass(t, region="us1", started_at=time.time())
        self.assertEqual(self.wait_event(key, "TERMINATED")["id"], ev["id"])
        self.assertEqual(len(self.triggers_for(key)), 1)

    # ----- (f): a big bucket

    def test_f_paging_through_120_tests(self):
        self.rs.add_bucket(BUCKET, "Shop")
        base = int(time.time()) - 100000
        tests = {}
        # newest first: "Test i" is the i-th item of the tests list
        for i in range(120, 0, -1):
            tests[i] = self.rs.add_test(BUCKET, "Test %d" % i,
                                        created_at=base + (121 - i))
        for i in (1, 60, 120):
            self.rs.add_run(BUCKET, tests[i]["id"], result="pass")
        run = self.rs.add_run(BUCKET, tests[115]["id"], result="fail")
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        key = runscope_key(BUCKET, tests[115]["id"],
                           tests[115]["default_environment_id"])
        self.wait_event(key)
        self.h.wait_run_processed(run)
        self.assert_one_event(key)
        self.assertEqual(len(self.xm.events()), 1)
        offsets = [int(r["params"].get("offset") or 0) for r in
                   self.rs.requests("GET", r"^/buckets/%s/tests$" % BUCKET)]
        self.assertGreaterEqual(max(offsets), 100, "paged to the end")

    # ----- (g): unfinished runs

    def test_g_working_run_waits_and_pages_once_when_it_fails(self):
        t = self.shop([{"name": "Production", "regions": ["us1"]},
                       {"name": "Staging", "regions": ["us1"]}])
        prod = self.key(t, "Production")
        work = self.rs.add_run(BUCKET, t["id"], "Production", "working",
                               started_at=time.time() - 5)
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        self.h.wait_run_processed(work)
        self.assertEqual(self.h.trigger_calls(), [], "working is no verdict")
        # a newer finished run of the same test: a cursor that jumped to
        # its start time would never see the working run again
        newer = self.run_pass(t, "Staging", started_at=time.time())
        self.h.wait_run_processed(newer)
        self.assertEqual(self.h.trigger_calls(), [])
        self.rs.finish_run(work["test_run_id"], "fail")
        self.wait_event(prod)
        self.h.wait_cycles(t["id"], 3)
        ev = self.assert_one_event(prod)
        self.assertEqual(ev["plain_properties"].get("test_run_id"),
                         work["test_run_id"])
        self.assertEqual(len(self.h.trigger_calls()), 1)

    # ----- (h): filters

    def _filters(self, by_id):
        checkout = self.shop([{"name": "Production", "regions": ["us1"]},
                              {"name": "Staging", "regions": ["us1"]}])
        login = self.add_test("Login API")
        prod_env = checkout["environments"][0]["id"]
        self.run_fail(login)
        self.run_fail(checkout, "Staging")
        run = self.run_fail(checkout, "Production")
        bucket = {"key": BUCKET,
                  "tests": [checkout["id"] if by_id else "Checkout API"],
                  "environments": [prod_env if by_id else "Production"]}
        self.h.write_config(buckets=[bucket])
        self.h.start()
        key = self.key(checkout, "Production")
        self.wait_event(key)
        self.h.wait_run_processed(run, cycles=3)
        self.assert_one_event(key)
        self.assertEqual([event_key(e) for e in self.xm.events()], [key])
        self.assertEqual(len(self.h.trigger_calls()), 1)

    def test_h_filters_by_name(self):
        self._filters(by_id=False)

    def test_h_filters_by_id(self):
        self._filters(by_id=True)

    # ----- (i): dry run

    def test_i_dry_run_sends_nothing_and_logs_what_it_would_do(self):
        t = self.shop()
        run = self.run_fail(t)
        key = self.key(t, "Production")
        self.h.write_config(buckets=[BUCKET], dry_run=True)
        self.h.start()
        self.h.wait_for(
            lambda: [line for line in self.h.log_lines(re.escape(key))
                     if re.search(r"(?i)dry.?run|would", line)],
            WAIT, "a log line saying what DryRun would do for %s" % key)
        self.h.wait_run_processed(run)
        self.assertEqual(self.h.trigger_calls(), [])
        self.assertEqual(self.xm.requests("POST"), [], "no POST at all")
        self.assertEqual(self.xm.events(), [])

    # ----- (j): config errors

    def assert_refused(self, key_name, isolate_network=False, **config):
        self.h.write_config(buckets=[BUCKET], **config)
        self.h.start(wait=False, isolate_network=isolate_network)
        rc = self.h.wait_exit(WAIT)
        self.assertNotEqual(rc, 0, "collectd -f must refuse to start")
        rc, out = self.h.run_once(isolate_network=isolate_network)
        self.assertNotEqual(rc, 0, "collectd -T must fail")
        self.assertIn(key_name, self.h.output(),
                      "the error names the key")
        self.assertEqual(self.rs.requests(), [], "nothing sent to Runscope")
        self.assertEqual(self.xm.requests(), [], "nothing sent to xMatters")

    def test_j_misspelled_key_is_refused(self):
        self.rs.add_bucket(BUCKET, "Shop")
        self.assert_refused("BaseUrl2",
                            runscope_options={"BaseUrl2": self.rs.base_url})

    def test_j_missing_token_file_is_refused(self):
        self.rs.add_bucket(BUCKET, "Shop")
        self.assert_refused("TokenFile", token_file=os.path.join(
            self.h.tmp, "no-such-dir", "runscope.token"))

    def test_j_plain_http_to_a_remote_host_is_refused(self):
        self.rs.add_bucket(BUCKET, "Shop")
        # run in an empty network namespace: even a plugin that wrongly
        # accepted the URL could not send anything anywhere
        self.assert_refused("BaseURL", isolate_network=True,
                            runscope_base_url="http://example.com")

    # ----- (k): credentials

    def test_k_wrong_token_fails_collectd_T(self):
        self.shop()
        wrong = "rs-wrong-token-" + self.h.token[-8:]
        self.h.extra_secrets.append(wrong)
        path = harness.write_secret(os.path.join(self.h.tmp, "wrong.token"),
                                    wrong)
        self.h.write_config(buckets=[BUCKET], token_file=path)
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0, "a rejected token fails collectd -T")
        lines = [line for line in out.splitlines()
                 if "403" in line and re.search(r"Runscope|/buckets", line)]
        self.assertTrue(lines, "a log line names the Runscope API and the "
                        "HTTP 403")
        seen = self.rs.requests()
        self.assertTrue(seen)
        self.assertEqual({r["status"] for r in seen}, {403})
        self.assertEqual(self.h.trigger_calls(), [])

    # ----- (l): restart

    def test_l_restart_keeps_one_event(self):
        t, key, ev, run = self.open_event()
        self.h.wait_run_processed(run)
        self.assertEqual(self.h.stop(), 0, "SIGTERM stops collectd cleanly")
        self.assertTrue(os.path.exists(self.h.state_path),
                        "the state file was written")
        run2 = self.run_fail(t, started_at=time.time())
        self.h.start()
        self.h.wait_run_processed(run2)
        self.assertEqual(self.assert_one_event(key)["id"], ev["id"])


if __name__ == "__main__":
    unittest.main()
