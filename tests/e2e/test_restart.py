# SPDX-License-Identifier: MIT
"""Restarts, catch-up, reconciliation and crashes, end to end: the real
collectd daemon with build/runscope.so against the fakes.

- Catch-up: runs that happened while collectd was down are read at start;
  what still fails is paged, what recovered is closed; a first start pages
  nothing older than MaxCatchUp; more than 500 runs of a test are cut to the
  newest 500 without losing the latest verdict.
- Reconciliation: an event a person terminated is forgotten; an active event
  the state does not know (state file deleted, or an event made elsewhere
  with a runscope_key) is adopted and closed when the key passes.
- Crashes: collectd is killed with SIGKILL at chosen and random points of a
  scripted story of failures and recoveries (right after the fake received a
  trigger or a terminate whose answer it holds back, at random moments,
  after the outcome) and restarted; then exactly one event exists per
  failure episode and every event of a recovered episode is terminated.
  CRASH_RESTARTS sets the number of kills (default 8; `make crashtest` runs
  50), CRASH_SEED the random seed (printed on failure).
"""

import os
import random
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "shop1bucket0"
SUSPENDED = "read-function of plugin"


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class RestartTestCase(harness.CollectdTestCase):

    def tearDown(self):
        super().tearDown()
        self.assertNotIn(SUSPENDED, self.h.output())

    def shop(self, name="Checkout API", environments=None):
        if BUCKET not in [b["key"] for b in self.rs.state()["buckets"]]:
            self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, name, environments=environments or [
            {"name": "Production", "regions": ["us1"]}])
        return t, runscope_key(BUCKET, t["id"], t["environments"][0]["id"])

    def add(self, test, result, **kw):
        return self.rs.add_run(BUCKET, test["id"], kw.pop("env", None),
                               result, **kw)

    def config(self, **plugin_options):
        self.h.write_config(buckets=[BUCKET], plugin_options=plugin_options)

    def wait_event(self, key, status="ACTIVE", timeout=WAIT):
        return self.h.wait_for(lambda: self.xm.events(status=status,
                                                      key=key),
                               timeout, "an %s event for %s" % (status, key))

    def triggers_for(self, key):
        return [t for t in self.h.trigger_calls()
                if isinstance(t["body"], dict) and
                t["body"].get("properties", {}).get("runscope_key") == key]

    def lookups_since(self, key, seq):
        """The plugin's lookups of key's events after a request log
        position."""
        return [r for r in self.xm.requests("GET", "^/api/xm/1/events$")
                if r["seq"] > seq and r["params"].get("propertyValue") == key]

    def xm_seq(self):
        return max([r["seq"] for r in self.xm.requests()] or [0])


class CatchUpTest(RestartTestCase):

    def test_failure_while_down_is_paged_at_start(self):
        t, key = self.shop()
        ok = self.add(t, "pass")
        self.config()
        self.h.start()
        self.h.wait_run_processed(ok)
        self.assertEqual(self.h.stop(), 0)
        self.add(t, "pass", started_at=time.time() - 1.5)
        fail = self.add(t, "fail", started_at=time.time() - 1)
        self.h.start()
        ev = self.wait_event(key)[0]
        self.assertEqual(ev["plain_properties"]["test_run_id"],
                         fail["test_run_id"])
        self.h.wait_cycles(t["id"], 3)
        self.assertEqual(len(self.xm.events(key=key)), 1)
        self.assertEqual(len(self.triggers_for(key)), 1)

    def test_recovery_while_down_terminates_at_start(self):
        t, key = self.shop()
        self.add(t, "fail")
        self.config()
        self.h.start()
        ev = self.wait_event(key)[0]
        self.assertEqual(self.h.stop(), 0)
        self.add(t, "fail", started_at=time.time() - 2)
        self.add(t, "pass", started_at=time.time() - 1)
        self.h.start()
        done = self.wait_event(key, "TERMINATED")[0]
        self.assertEqual(done["id"], ev["id"])
        self.assertTrue(done["terminated_by"].startswith("api:"))
        self.assertEqual(len(self.triggers_for(key)), 1)

    def test_failure_and_recovery_while_down_pages_nobody(self):
        t, key = self.shop()
        ok = self.add(t, "pass")
        self.config()
        self.h.start()
        self.h.wait_run_processed(ok)
        self.assertEqual(self.h.stop(), 0)
        self.add(t, "fail", started_at=time.time() - 3)
        last = self.add(t, "pass", started_at=time.time() - 1)
        self.h.start()
        self.h.wait_run_processed(last, cycles=3)
        self.assertEqual(self.h.trigger_calls(), [],
                         "only the latest run of a location is a verdict")

    def test_first_start_pages_nothing_older_than_max_catch_up(self):
        old_t, old_key = self.shop("Old failure")
        new_t, new_key = self.shop("Recent failure")
        self.add(old_t, "fail", started_at=time.time() - 3 * 3600)
        self.add(new_t, "fail", started_at=time.time() - 1800)
        self.config(MaxCatchUp=3600)
        self.assertFalse(os.path.exists(self.h.state_path))
        self.h.start()
        self.wait_event(new_key)
        self.h.wait_cycles(old_t["id"], 3)
        self.assertEqual(self.xm.events(key=old_key), [],
                         "a failure older than MaxCatchUp is not paged")
        self.assertEqual(len(self.h.trigger_calls()), 1)
        # and the old test's next failure is paged as usual
        self.add(old_t, "fail", started_at=time.time())
        self.wait_event(old_key)

    def _many_runs_while_down(self, n, last_result):
        t, key = self.shop()
        first = self.add(t, "pass", started_at=time.time() - n - 100)
        self.config()
        self.h.start()
        self.h.wait_run_processed(first)
        self.assertEqual(self.h.stop(), 0)
        base = time.time() - n - 50
        # an unfinished run older than the newest 500: never read again,
        # and no verdict would come of it (newer runs of its location exist)
        working = self.add(t, "working", started_at=base - 1)
        for i in range(n - 1):
            self.add(t, "fail" if i % 2 else "pass", started_at=base + i)
        last = self.add(t, last_result, started_at=base + n)
        seq = max(r["seq"] for r in self.rs.requests())
        self.h.start()
        # one cycle reads all the pages; the next one reads from the newest
        self.h.wait_for(lambda: [
            r for r in self.h.results_reads(t["id"], seq)
            if float(r["params"].get("since") or 0) >= last["started_at"] -
            0.01], WAIT, "a read from after the newest run")
        self.rs.finish_run(working["test_run_id"], "fail")
        self.h.wait_cycles(t["id"], 3)
        pages = [r for r in self.h.results_reads(t["id"], seq)
                 if r["params"].get("before")]
        self.assertGreaterEqual(len(pages), 9, "paged back with before")
        self.assertEqual(self.rs.served(working["test_run_id"]), 0)
        self.assertTrue(self.h.log_lines(
            r"newest 500 runs of .*Checkout API"),
            "the cut is logged")
        return t, key, last

    def test_more_than_500_runs_while_down_last_fails(self):
        t, key, last = self._many_runs_while_down(600, "fail")
        ev = self.wait_event(key)[0]
        self.assertEqual(ev["plain_properties"]["test_run_id"],
                         last["test_run_id"])
        self.assertEqual(len(self.triggers_for(key)), 1)

    def test_more_than_500_runs_while_down_last_passes(self):
        t, key, last = self._many_runs_while_down(600, "pass")
        self.assertEqual(self.h.trigger_calls(), [])


class ReconcileTest(RestartTestCase):

    def test_event_terminated_by_a_person_is_forgotten(self):
        t, key = self.shop()
        self.add(t, "fail")
        self.config(ReconcileInterval=2)
        self.h.start()
        ev = self.wait_event(key)[0]
        self.xm.terminate_as_person(ev["id"], by="jdoe")
        seq = self.xm_seq()
        self.h.wait_for(lambda: self.lookups_since(key, seq), WAIT,
                        "the plugin to look the key up again")
        self.h.wait_cycles(t["id"], 2)
        self.assertEqual(len(self.triggers_for(key)), 1,
                         "the same failure does not page again")
        again = self.add(t, "fail", started_at=time.time())
        new = self.h.wait_for(lambda: [
            e for e in self.xm.events(status="ACTIVE", key=key)
            if e["id"] != ev["id"]], WAIT, "a new event")[0]
        self.assertEqual(new["plain_properties"]["test_run_id"],
                         again["test_run_id"])
        self.h.wait_cycles(t["id"], 3)
        self.assertEqual(len(self.triggers_for(key)), 2)
        self.assertEqual(self.xm.event(ev["id"])["terminated_by"], "jdoe")

    def test_event_made_elsewhere_is_adopted_and_closed_on_pass(self):
        t, key = self.shop()
        self.add(t, "fail")
        other = self.xm.add_event({"runscope_key": key,
                                   "summary": "made by hand"})
        self.config()
        self.h.start()
        self.h.wait_for(lambda: self.h.log_lines(
            r"Adopted active xMatters event %s" % other["id"]), WAIT,
            "the event to be adopted")
        self.h.wait_cycles(t["id"], 3)
        self.assertEqual(self.h.trigger_calls(), [],
                         "the adopted event covers the failure")
        self.add(t, "pass", started_at=time.time())
        done = self.wait_event(key, "TERMINATED")[0]
        self.assertEqual(done["id"], other["id"])
        self.assertTrue(done["terminated_by"].startswith("api:"))

    def test_lost_state_file_adopts_the_open_event(self):
        t, key = self.shop()
        self.add(t, "fail")
        self.config()
        self.h.start()
        ev = self.wait_event(key)[0]
        self.assertEqual(self.h.stop(), 0)
        os.unlink(self.h.state_path)
        again = self.add(t, "fail", started_at=time.time())
        self.h.start()
        self.h.wait_run_processed(again, cycles=3)
        self.assertEqual(len(self.triggers_for(key)), 1,
                         "no second page after the state was lost")
        self.add(t, "pass", started_at=time.time())
        self.assertEqual(self.wait_event(key, "TERMINATED")[0]["id"],
                         ev["id"])

    def test_corrupt_state_file_is_moved_aside_and_nothing_repages(self):
        t, key = self.shop()
        self.add(t, "fail")
        self.config()
        self.h.start()
        ev = self.wait_event(key)[0]
        self.assertEqual(self.h.stop(), 0)
        with open(self.h.state_path, "w") as f:
            f.write('{"format": "collectd-runscope-state", "vers')
        self.h.start()
        self.h.wait_cycles(t["id"], 3)
        aside = [n for n in os.listdir(self.h.tmp)
                 if n.startswith("state.json.corrupt-")]
        self.assertEqual(len(aside), 1)
        self.assertEqual(len(self.triggers_for(key)), 1)
        self.add(t, "pass", started_at=time.time())
        self.assertEqual(self.wait_event(key, "TERMINATED")[0]["id"],
                         ev["id"])


class CrashTest(RestartTestCase):
    """kill -9 at many points of a story of failures and recoveries."""

    RESTARTS = int(os.environ.get("CRASH_RESTARTS", "8"))
    HOLD = 1.5  # seconds the fake holds back a trigger or terminate answer

    def setUp(self):
        super().setUp()
        self.seed = int(os.environ.get("CRASH_SEED") or
                        int(time.time() * 1000) % 100000)
        self.rng = random.Random(self.seed)

    def hold_next(self, method_path):
        """The fake holds back its next answer on method_path (and then
        handles the request: the kill lands between send and answer)."""
        method, path = method_path
        self.xm.inject_fault(method=method, path=path, action="delay",
                             delay=self.HOLD, count=1)

    def wait_received(self, method_path, seq):
        method, path = method_path
        return self.h.wait_for(lambda: [
            r for r in self.xm.requests(method, path) if r["seq"] > seq],
            WAIT, "the fake to receive %s %s" % (method, path))

    def outcome_reached(self, key, failing, fail_run):
        active = self.xm.events(status="ACTIVE", key=key)
        if not failing:
            return not active
        return [e for e in active
                if e["plain_properties"].get("test_run_id") ==
                fail_run["test_run_id"]]

    def wait_outcome(self, key, failing, fail_run, timeout, where=""):
        try:
            self.h.wait_for(lambda: self.outcome_reached(key, failing,
                                                         fail_run),
                            timeout, "%s for the story's key" % (
                                "an active event" if failing else
                                "no active event"))
        except AssertionError as e:
            raise AssertionError("%s (%s, seed %d)\nevents: %s\nstate: %s" % (
                e, where, self.seed, [
                    (ev["plain_properties"].get("test_run_id"),
                     ev["status"], ev["visible"])
                    for ev in self.xm.events(key=key)],
                harness.Harness._read(self.h.state_path)))

    def test_kill_9_at_many_points_pages_once_per_failure(self):
        t, key = self.shop()
        # PendingTimeout covers the held-back answers with room to spare
        self.config(PendingTimeout=15, ReconcileInterval=5)
        self.h.start()
        trigger = ("POST", "/triggers$")
        terminate = ("POST", "^/api/xm/1/events$")
        modes = ["held", "random", "random", "after"]
        episodes = []   # the failing run of each failure episode
        kills = []
        started = time.monotonic()
        for i in range(self.RESTARTS):
            failing = i % 2 == 0
            mode = modes[(i // 2) % len(modes)] if i < 2 * len(modes) \
                else self.rng.choice(modes)
            seq = self.xm_seq()
            if mode == "held":
                self.hold_next(trigger if failing else terminate)
            run = self.add(t, "fail" if failing else "pass",
                           started_at=time.time())
            if failing:
                episodes.append(run)
            if mode == "held":
                self.wait_received(trigger if failing else terminate, seq)
            elif mode == "random":
                # a random moment in the plugin's work on the new run
                time.sleep(self.rng.uniform(0, 2.5))
            else:
                self.wait_outcome(key, failing, episodes[-1], WAIT)
            self.h.kill()
            kills.append(mode)
            self.h.start()
            self.wait_outcome(key, failing, episodes[-1], WAIT * 2,
                              "restart %d, %s, run %s" % (
                                  i, mode, run["test_run_id"]))
        self.h.wait_cycles(t["id"], 3)
        self.check_story(key, episodes, failing_at_end=self.RESTARTS % 2)
        sys_msg = "%d kills (%s) in %.0f s, seed %d" % (
            len(kills), ", ".join("%s %d" % (m, kills.count(m))
                                  for m in sorted(set(kills))),
            time.monotonic() - started, self.seed)
        print("\n  crash test: " + sys_msg, flush=True)

    def check_story(self, key, episodes, failing_at_end):
        events = self.xm.events(key=key)
        by_run = {}
        for e in events:
            by_run.setdefault(e["plain_properties"].get("test_run_id"),
                              []).append(e)
        where = "seed %d, events %s" % (self.seed, [
            (e["plain_properties"].get("test_run_id"), e["status"])
            for e in events])
        self.assertEqual(len(events), len(episodes), "one event per "
                         "failure episode: " + where)
        for n, run in enumerate(episodes):
            evs = by_run.get(run["test_run_id"], [])
            self.assertEqual(len(evs), 1, "episode %d: %s" % (n, where))
            want = "ACTIVE" if failing_at_end and n == len(episodes) - 1 \
                else "TERMINATED"
            self.assertEqual(evs[0]["status"], want,
                             "episode %d: %s" % (n, where))
            if want == "TERMINATED":
                self.assertTrue(evs[0]["terminated_by"].startswith("api:"))
        self.assertEqual(len(self.triggers_for(key)), len(episodes),
                         "accepted triggers: " + where)


if __name__ == "__main__":
    unittest.main()
