# SPDX-License-Identifier: MIT
"""Forward mode, end to end: the real collectd daemon with build/runscope.so
posts every finished run, in Runscope's webhook shape, to the fake
xMatters' trigger endpoint (standing in for the Runscope plan's "Test
Results" inbound integration, which records what it receives).

- Every finished run of the watched tests arrives once, in order per test
  (by started_at, then test_run_id), with the documented field names and
  types, for several tests, environments, regions and a private agent;
  cancelled runs are not posted; an unfinished run holds the later runs of
  its test back until it finishes.
- A trigger URL that fails for a while (5xx, then recovery) delays the runs
  but loses none and does not reorder them.
- kill -9 and restart neither duplicate nor skip runs; the one
  at-least-once window (killed while a POST is in flight: the run arrived,
  its outcome was not saved) sends that run again, and the log says so.
- No xMatters REST call is made and no REST credentials are needed.
"""

import json
import os
import re
import time
import unittest

import harness
from harness import WAIT

BUCKET = "shop1bucket0"
FIXTURES = os.path.join(harness.REPO, "tests", "fixtures")


def load_fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


# The field names Runscope's webhook sends: the documentation sample, and
# the two fields only real payloads carry (agent_expired, step_type).
SAMPLE = load_fixture("webhook_sample.json")
REAL = load_fixture("webhook_real_fail.json")
TOP_FIELDS = set(SAMPLE) | {"agent_expired"}
STEP_FIELDS = set(SAMPLE["requests"][0]) | {"step_type"}
assert TOP_FIELDS <= set(SAMPLE) | set(REAL)
assert STEP_FIELDS <= set(SAMPLE["requests"][0]) | set(REAL["requests"][0])


def run_order(run):
    return (run["started_at"], run["test_run_id"])


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class ForwardTest(harness.CollectdTestCase):

    # ----- helpers

    def shop(self):
        """Bucket "Shop" of team "Acme Inc." with Checkout API (Production
        in us1 and eu1, Staging in us1) and Login API (Production on the
        private agent box-7)."""
        self.bucket = self.rs.add_bucket(BUCKET, "Shop", team_name="Acme Inc.")
        self.checkout = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1", "eu1"]},
            {"name": "Staging", "regions": ["us1"]}])
        self.login = self.rs.add_test(BUCKET, "Login API", environments=[
            {"name": "Production", "remote_agents": ["box-7"]}])
        self.tests = {t["id"]: t for t in (self.checkout, self.login)}

    def add_run(self, test, env, result, started_at, **kw):
        return self.rs.add_run(BUCKET, test["id"], env, result,
                               started_at=started_at, **kw)

    def configure(self, **plugin_options):
        """Mode "forward" with no REST API keys at all: no BaseURL, User,
        password or Recipient."""
        self.h.write_config(
            buckets=[BUCKET], password_file=False, recipients=(),
            xmatters_options={"Mode": "forward", "BaseURL": None,
                              "User": None},
            plugin_options=plugin_options)

    def posted(self):
        """The payloads the trigger received, in arrival order."""
        return [t["body"] for t in self.h.trigger_calls()
                if isinstance(t.get("body"), dict)]

    def posted_ids(self):
        return [b.get("test_run_id") for b in self.posted()]

    def wait_posted(self, ids, timeout=WAIT, while_running=True):
        """Waits until every run in ids has arrived."""
        want = set(ids)
        return self.h.wait_for(
            lambda: want <= set(self.posted_ids()), timeout,
            "runs %s to be posted" % sorted(want - set(self.posted_ids())),
            while_running=while_running)

    def assert_once_in_order(self, runs):
        """Each run arrived exactly once, and the runs of each test in
        (started_at, test_run_id) order; nothing else arrived."""
        ids = self.posted_ids()
        want = {r["test_run_id"] for r in runs}
        dups = sorted({i for i in ids if ids.count(i) > 1})
        self.assertEqual(dups, [], "runs posted twice")
        self.assertEqual(set(ids), want, "posted runs")
        by_test = {}
        for body in self.posted():
            by_test.setdefault(body["test_id"], []).append(body)
        for test_id, bodies in by_test.items():
            self.assertEqual(
                [b["test_run_id"] for b in bodies],
                [b["test_run_id"] for b in sorted(bodies, key=run_order)],
                "runs of test %s out of order" % test_id)

    def assert_no_rest_api(self):
        self.assertEqual(self.xm.requests(path=r"^/api/xm/1/"), [],
                         "forward mode never calls the xMatters REST API")
        for r in self.xm.requests():
            self.assertNotIn("Authorization", r["headers"],
                             "the trigger URL's apiKey is the credential")

    def state_delivered(self):
        """The delivered run ids the state file holds (all tests)."""
        try:
            with open(self.h.state_path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return set()
        return {i for e in state.get("forward", [])
                for i in e.get("delivered", [])}

    # ----- the payload, the order, what is not forwarded

    def test_every_run_arrives_once_in_order_with_the_webhook_fields(self):
        self.shop()
        now = time.time()
        c, lg = self.checkout, self.login
        runs = [
            self.add_run(c, "Production", "fail", now - 50, region="us1",
                     assertions_failed=1, assertions_passed=1),
            self.add_run(c, "Production", "pass", now - 50, region="eu1"),
            self.add_run(c, "Staging", "pass", now - 40),
            self.add_run(lg, "Production", "pass", now - 45),
            self.add_run(lg, "Production", "fail", now - 35),
        ]
        cancelled = self.add_run(c, "Production", "cancelled", now - 30,
                             region="us1")
        working = self.add_run(c, "Staging", "working", now - 20)
        later = self.add_run(c, "Production", "pass", now - 10, region="us1")
        self.configure()
        self.h.start()
        self.wait_posted([r["test_run_id"] for r in runs])
        # the working run holds Checkout API's later runs back
        self.h.wait_cycles(c["id"], 2)
        self.assertNotIn(later["test_run_id"], self.posted_ids())
        self.rs.finish_run(working["test_run_id"], "fail")
        working = self.rs.get_run(working["test_run_id"])
        runs += [working, later]
        self.wait_posted([working["test_run_id"], later["test_run_id"]])
        self.h.wait_cycles(c["id"], 2)
        self.assertNotIn(cancelled["test_run_id"], self.posted_ids())
        self.assert_once_in_order(runs)
        ids = self.posted_ids()
        self.assertLess(ids.index(working["test_run_id"]),
                        ids.index(later["test_run_id"]))
        by_id = {b["test_run_id"]: b for b in self.posted()}
        for run in runs:
            self.check_payload(by_id[run["test_run_id"]],
                               self.rs.get_run(run["test_run_id"]))
        self.check_raw_times()
        self.assert_no_rest_api()
        self.wait_counter("runs_forwarded", len(runs))
        self.assertEqual(self.counter("forward_errors"), 0)

    def counter(self, name):
        """The newest value of the plugin's derive-<name> (None before
        the first)."""
        rows = self.h.csv_rows("self", "derive", name)
        return rows[-1][1] if rows else None

    def wait_counter(self, name, want):
        self.h.wait_for(lambda: self.counter(name) == want, WAIT,
                        "derive-%s = %s (is %s)" % (
                            name, want, self.counter(name)))

    def check_payload(self, body, run):
        test = self.tests[run["test_id"]]
        env = next(e for e in test["environments"]
                   if e["id"] == run["environment_id"])
        self.assertEqual(set(body), TOP_FIELDS, "top-level fields")
        dash = "https://www.runscope.com/radar/%s/%s" % (BUCKET, test["id"])
        want = {
            "test_id": test["id"], "test_name": test["name"],
            "test_run_id": run["test_run_id"], "test_url": dash,
            "test_run_url": dash + "/results/" + run["test_run_id"],
            "result": run["result"], "bucket_key": BUCKET,
            "bucket_name": "Shop", "team_id": self.bucket["team"]["uuid"],
            "team_name": "Acme Inc.", "environment_uuid": env["id"],
            "environment_name": env["name"], "region": run["region"],
            "agent": run["agent"], "trigger_url": test["trigger_url"],
            "initial_variables": {}, "variables": {},
            "started_at": run["started_at"],
            "finished_at": run["finished_at"],
        }
        self.assertEqual({k: body[k] for k in want}, want)
        for k in ("started_at", "finished_at"):
            self.assertIsInstance(body[k], float, k)
        if run["agent"]:
            self.assertIsNone(body["region_name"])
        else:
            self.assertEqual(body["region_name"], "")
        self.assertIsNone(body["agent_expired"])
        self.assertEqual(len(body["requests"]), 1)
        step = body["requests"][0]
        self.assertEqual(set(step), STEP_FIELDS, "requests[] fields")
        failed = run["assertions_failed"]
        self.assertEqual(step["assertions"], {
            "pass": run["assertions_passed"], "fail": failed,
            "total": run["assertions_defined"]})
        self.assertEqual(step["scripts"], {"pass": run["scripts_passed"],
                                           "fail": run["scripts_failed"],
                                           "total": run["scripts_defined"]})
        self.assertEqual(step["variables"], {"pass": 0, "fail": 0,
                                             "total": 0})
        self.assertEqual(step["result"], "fail" if failed else "pass")
        self.assertEqual((step["url"], step["method"], step["step_type"]),
                         ("https://shop.example/checkout", "GET", "request"))
        for k in ("response_status_code", "response_time_ms",
                  "response_size_bytes"):
            self.assertIsNone(step[k], k)

    def check_raw_times(self):
        """The times are JSON floats on the wire, never integers."""
        raws = [t["raw"] for t in self.h.trigger_calls()]
        self.assertTrue(raws)
        for raw in raws:
            raw = raw if isinstance(raw, str) else raw.decode()
            for k in ("started_at", "finished_at"):
                self.assertRegex(raw, r'"%s":\d+\.\d+[,}]' % k)

    # ----- a failing trigger URL

    def test_failing_posts_delay_but_lose_nothing_and_keep_the_order(self):
        self.shop()
        c = self.checkout
        now = time.time()
        runs = [self.add_run(c, "Production", res, now - 60 + i * 5,
                         region=("us1", "eu1")[i % 2])
                for i, res in enumerate(("fail", "pass", "fail"))]
        path = r"^/api/integration/1/functions/[^/]+/triggers$"
        self.xm.inject_fault(method="POST", path=path, count=-1,
                             action="status", status=503)
        self.configure()
        self.h.start()
        self.h.wait_for(
            lambda: len(self.xm.requests("POST", path)) >= 4, WAIT,
            "four failed posts")
        # more runs while the trigger URL fails
        runs += [self.add_run(c, "Staging", "pass", time.time() - 2),
                 self.add_run(c, "Production", "fail", time.time() - 1,
                          region="us1")]
        self.h.wait_cycles(c["id"], 2)
        attempts = self.xm.requests("POST", path)
        self.assertEqual(self.posted(), [], "nothing accepted yet")
        first = runs[0]["test_run_id"]
        self.assertEqual(
            {json.loads(a["body"])["test_run_id"] for a in attempts},
            {first}, "only the oldest run is tried while it fails")
        gaps = [b["time"] - a["time"] for a, b in zip(attempts, attempts[1:])]
        self.assertGreater(max(gaps), 1.5, "retries back off: %s" % gaps)
        self.assertGreaterEqual(self.counter("forward_errors") or 0, 1,
                                "failed posts are counted")
        self.xm.clear_faults()
        self.wait_posted([r["test_run_id"] for r in runs], timeout=WAIT + 60)
        self.h.wait_cycles(c["id"], 2)
        self.assert_once_in_order(runs)
        self.assertEqual(self.posted_ids(),
                         [r["test_run_id"] for r in
                          sorted(runs, key=run_order)])
        self.assert_no_rest_api()

    def test_refused_post_holds_the_later_runs_of_its_test(self):
        """A 4xx (here 400, as from an integration that rejects the body)
        is not an outage: xMatters is still asked about other runs, but the
        later runs of the refused run's test wait for it."""
        self.shop()
        c = self.checkout
        now = time.time()
        runs = [self.add_run(c, "Production", res, now - 30 + i,
                             region="us1")
                for i, res in enumerate(("fail", "pass", "fail"))]
        path = r"^/api/integration/1/functions/[^/]+/triggers$"
        self.xm.inject_fault(method="POST", path=path, count=1,
                             action="status", status=400)
        self.configure()
        self.h.start()
        self.wait_posted([r["test_run_id"] for r in runs], timeout=WAIT + 60)
        self.h.wait_cycles(c["id"], 2)
        self.assert_once_in_order(runs)
        attempts = [json.loads(a["body"])["test_run_id"]
                    for a in self.xm.requests("POST", path)]
        self.assertEqual(attempts, [runs[0]["test_run_id"]] + [
            r["test_run_id"] for r in runs], "refused, then all in order")

    # ----- kill -9 and restart

    def test_kill_9_and_restart_neither_duplicate_nor_skip(self):
        self.shop()
        c, lg = self.checkout, self.login
        now = time.time()
        first = [self.add_run(c, "Production", "fail", now - 30, region="us1"),
                 self.add_run(lg, "Production", "pass", now - 29),
                 self.add_run(c, "Staging", "pass", now - 28)]
        self.configure()
        self.h.start()
        ids = {r["test_run_id"] for r in first}
        self.wait_posted(ids)
        self.h.wait_for(lambda: ids <= self.state_delivered(), WAIT,
                        "the state file to record the deliveries")
        self.h.kill()
        # runs while collectd is down, and one that finishes meanwhile
        second = [self.add_run(c, "Production", "pass", time.time() - 3,
                           region="eu1"),
                  self.add_run(lg, "Production", "fail", time.time() - 2)]
        self.h.start()
        self.wait_posted([r["test_run_id"] for r in second])
        self.h.wait_cycles(c["id"], 3)
        self.h.wait_cycles(lg["id"], 1)
        self.assert_once_in_order(first + second)
        self.assertEqual(self.h.log_lines(r"again: an earlier post"), [])

    def test_restart_while_posts_fail_skips_nothing(self):
        """Runs whose posts failed before a kill -9 are posted after the
        restart, although the plugin had already read past them."""
        self.shop()
        c = self.checkout
        now = time.time()
        runs = [self.add_run(c, "Production", "fail", now - 20, region="us1"),
                self.add_run(c, "Staging", "pass", now - 19)]
        path = r"^/api/integration/1/functions/[^/]+/triggers$"
        self.xm.inject_fault(method="POST", path=path, count=-1,
                             action="status", status=502)
        self.configure()
        self.h.start()
        self.h.wait_for(lambda: len(self.xm.requests("POST", path)) >= 2,
                        WAIT, "two failed posts")
        self.h.wait_cycles(c["id"], 2)
        self.h.kill()
        self.xm.clear_faults()
        runs.append(self.add_run(c, "Production", "pass", time.time() - 1,
                                 region="eu1"))
        self.h.start()
        self.wait_posted([r["test_run_id"] for r in runs])
        self.h.wait_cycles(c["id"], 2)
        self.assert_once_in_order(runs)
        self.assertEqual(self.posted_ids(),
                         [r["test_run_id"] for r in runs])

    def test_killed_while_posting_sends_that_run_again(self):
        """The at-least-once window: the run was received, but collectd
        died before it heard the answer and recorded the delivery. After
        the restart it is posted once more (the state's write-ahead mark
        says it may have arrived, and the log says so); nothing else is
        repeated or lost."""
        self.shop()
        c = self.checkout
        now = time.time()
        done = self.add_run(c, "Production", "pass", now - 30, region="us1")
        self.configure()
        self.h.start()
        self.wait_posted([done["test_run_id"]])
        self.h.wait_for(lambda: done["test_run_id"] in self.state_delivered(),
                        WAIT, "the delivery to be saved")
        path = r"^/api/integration/1/functions/[^/]+/triggers$"
        seq = max(r["seq"] for r in self.xm.requests())
        self.xm.inject_fault(method="POST", path=path, action="delay",
                             delay=3)
        inflight = self.add_run(c, "Production", "fail", time.time() - 1,
                            region="eu1")
        self.h.wait_for(lambda: [r for r in self.xm.requests("POST", path)
                                 if r["seq"] > seq], WAIT,
                        "the post of run %s" % inflight["test_run_id"])
        self.h.kill()
        # the fake handles the post after its delay: the run arrives
        self.wait_posted([inflight["test_run_id"]], while_running=False)
        after = self.add_run(c, "Staging", "pass", time.time() - 1)
        self.h.start()
        self.wait_posted([after["test_run_id"]])
        self.h.wait_cycles(c["id"], 2)
        ids = self.posted_ids()
        self.assertEqual(ids.count(inflight["test_run_id"]), 2,
                         "the run in flight is posted again: %s" % ids)
        self.assertEqual(ids.count(done["test_run_id"]), 1)
        self.assertEqual(ids.count(after["test_run_id"]), 1)
        self.assertTrue(self.h.log_lines(
            r"Posting run %s of test \"Checkout API\" again"
            % re.escape(inflight["test_run_id"])))

    def test_dry_run_posts_nothing_and_says_what_it_would_post(self):
        self.shop()
        run = self.add_run(self.checkout, "Staging", "fail", time.time() - 5)
        self.configure(DryRun=True)
        self.h.start()
        self.h.wait_for(
            lambda: self.h.log_lines(r"DryRun: would post run %s \(fail\) "
                                     r"of test \"Checkout API\""
                                     % re.escape(run["test_run_id"])),
            WAIT, "the DryRun log line")
        self.h.wait_cycles(self.checkout["id"], 2)
        self.assertEqual(self.xm.requests(), [], "nothing sent to xMatters")
        self.assertEqual(
            len(self.h.log_lines(r"DryRun: would post run %s"
                                 % re.escape(run["test_run_id"]))), 1,
            "said once, not every cycle")
        self.assertFalse(os.path.exists(self.h.state_path),
                         "no state file in DryRun")

    # ----- configuration

    def test_ignored_keys_are_named_and_no_credentials_needed(self):
        self.shop()
        run = self.add_run(self.checkout, "Staging", "pass", time.time() - 5)
        # the usual manage-mode keys are still there: each is named
        self.h.write_config(buckets=[BUCKET],
                            xmatters_options={"Mode": "forward",
                                              "Priority": "HIGH"})
        rc, out = self.h.run_once()
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r'Mode "forward" ignores BaseURL, User, '
                         r'PasswordFile, Recipient, Priority')
        self.assertEqual(self.posted_ids(), [run["test_run_id"]])
        self.assert_no_rest_api()


if __name__ == "__main__":
    unittest.main()
