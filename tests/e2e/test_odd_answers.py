# SPDX-License-Identifier: MIT
"""Answers the Runscope documentation does not promise, end to end: the
real collectd daemon with build/runscope.so against the fakes.

- A finished run whose result is neither pass nor fail ("error") is final
  without a verdict: it pages nothing, holds nothing up (the failure after
  it pages at once, not after MaxRunDuration; the cursor moves past it),
  is logged once with the test named, and in forward mode is posted with
  the result Runscope gave.
- A server that serves fewer tests a page than count asks (20 of 50): every
  test is still found, to the last page.
"""

import json
import re
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "shop1bucket0"


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class OddAnswersTest(harness.CollectdTestCase):

    # ----- helpers

    def shop(self, name="Checkout API"):
        self.rs.add_bucket(BUCKET, "Shop")
        return self.rs.add_test(BUCKET, name, environments=[
            {"name": "Production", "regions": ["us1"]}])

    def key(self, test):
        return runscope_key(BUCKET, test["id"], test["environments"][0]["id"])

    def triggers_for(self, key):
        return [t for t in self.h.trigger_calls()
                if isinstance(t["body"], dict)
                and t["body"].get("properties", {}).get("runscope_key")
                == key]

    def cursor(self, test):
        """The results cursor the state file holds for test, or None."""
        try:
            with open(self.h.state_path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return None
        for c in state.get("cursors", []):
            if c.get("test_id") == test["id"]:
                return c.get("since")
        return None

    def posted(self):
        return [t["body"] for t in self.h.trigger_calls()
                if isinstance(t.get("body"), dict)]

    # ----- a result outside pass and fail

    def test_error_result_holds_nothing_and_the_next_failure_pages(self):
        t = self.shop()
        key = self.key(t)
        odd = self.rs.add_run(BUCKET, t["id"], "Production", "error",
                              started_at=time.time() - 20)
        self.h.write_config(buckets=[BUCKET],
                            plugin_options={"MaxRunDuration": 3600})
        self.h.start()
        self.h.wait_run_processed(odd)
        self.assertEqual(self.xm.events(), [], "an error run pages nothing")
        # final: the cursor is past it (an unfinished run would hold it)
        self.h.wait_for(lambda: (self.cursor(t) or 0) >= odd["started_at"],
                        WAIT, "the cursor to move past the error run")
        fail = self.rs.add_run(BUCKET, t["id"], "Production", "fail",
                               started_at=time.time())
        self.h.wait_for(lambda: self.xm.events(status="ACTIVE", key=key),
                        WAIT, "an event for the failure after the error")
        self.h.wait_run_processed(fail)
        (ev,) = self.xm.events(key=key)
        self.assertEqual(ev["plain_properties"].get("test_run_id"),
                         fail["test_run_id"])
        self.assertEqual(len(self.triggers_for(key)), 1, "paged once")
        lines = self.h.log_lines(r'result "error"')
        self.assertEqual(len(lines), 1, "logged once: %s" % lines)
        self.assertIn("Checkout API", lines[0])

    def test_forward_mode_posts_an_error_run_as_it_is(self):
        t = self.shop()
        now = time.time()
        odd = self.rs.add_run(BUCKET, t["id"], "Production", "error",
                              started_at=now - 20)
        fail = self.rs.add_run(BUCKET, t["id"], "Production", "fail",
                               started_at=now - 10)
        self.h.write_config(
            buckets=[BUCKET], password_file=False, recipients=(),
            xmatters_options={"Mode": "forward", "BaseURL": None,
                              "User": None},
            plugin_options={"MaxRunDuration": 3600})
        self.h.start()
        want = [odd["test_run_id"], fail["test_run_id"]]
        self.h.wait_for(
            lambda: set(want) <= {b.get("test_run_id")
                                  for b in self.posted()},
            WAIT, "both runs to be posted")
        self.h.wait_run_processed(fail)
        bodies = self.posted()
        self.assertEqual([b["test_run_id"] for b in bodies], want,
                         "each once, in order")
        self.assertEqual([b["result"] for b in bodies], ["error", "fail"])

    # ----- a lower cap on count

    def test_capped_tests_list_still_finds_the_last_test(self):
        self.rs.add_bucket(BUCKET, "Shop")
        self.rs.set_config(max_count=20)
        base = int(time.time()) - 1000
        tests = [self.rs.add_test(BUCKET, "Test %d" % i,
                                  created_at=base - i)
                 for i in range(1, 121)]
        last = tests[-1]  # the oldest: the last item of the last page
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        fail = self.rs.add_run(BUCKET, last["id"], result="fail")
        key = runscope_key(BUCKET, last["id"],
                           last["environments"][0]["id"])
        self.h.wait_for(lambda: self.xm.events(status="ACTIVE", key=key),
                        WAIT, "an event for the 120th test")
        self.h.wait_run_processed(fail)
        self.assertEqual(len(self.triggers_for(key)), 1, "paged once")
        offsets = {int(r["params"].get("offset", 0)) for r in
                   self.rs.requests("GET", r"^/buckets/%s/tests$"
                                    % re.escape(BUCKET))}
        self.assertIn(100, offsets, "paged by what came, 20 at a time")


if __name__ == "__main__":
    unittest.main()
