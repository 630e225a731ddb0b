# SPDX-License-Identifier: MIT
"""One test that cannot be read holds back no other, end to end.

The real collectd daemon runs build/runscope.so against the fakes with three
tests in one bucket: "Search API", whose results always answer malformed
JSON, and two others that fail and pass. The bad test costs itself alone:
the others' runs are read and judged at the normal pace (the failing one
pages, the passing one closes its event, within two cycles of their runs
being read), Runscope is never backed off, the bad test is asked again every
cycle, its failure is logged once (rate-limited per test) and counted, it
gets a WARNING notification on its own key after OutageThreshold and an
OKAY when it reads again.
"""

import re
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "shop1bucket0"
INTERVAL = 1.0
# Reading a new run takes at most one cycle, judging it at most two more;
# SLACK absorbs a busy machine.
SLACK = 2.0
OUTAGE_THRESHOLD = 3
BAD_NAME = "Search_API-Production"  # the bad test's key in notifications
NOTE = (r"Notification: severity = %s, host = [^,]*, plugin = runscope, "
        r"plugin_instance = " + BUCKET + r", type = bool, type_instance = "
        + BAD_NAME + r", message = Runscope test \"Search API\" %s")


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class OneBadTestTest(harness.CollectdTestCase):

    def add_test(self, name):
        t = self.rs.add_test(BUCKET, name, environments=[
            {"name": "Production", "regions": ["us1"]}])
        return t, runscope_key(BUCKET, t["id"], t["environments"][0]["id"])

    def events(self, key, status):
        return self.xm.events(status=status, key=key)

    def bad_reads(self):
        return self.h.results_reads(self.bad["id"])

    def wait_read_and_judged(self, run, done, what):
        """Waits until the plugin read run, then until done() holds; both
        at the normal pace. Returns the seconds from reading to done."""
        added = time.monotonic()
        self.h.wait_for(lambda: self.rs.served(run["test_run_id"]) > 0,
                        WAIT, "the plugin to read the run of %s" % what)
        read = time.monotonic()
        self.h.wait_for(done, WAIT, what)
        judged = time.monotonic()
        self.assertLessEqual(read - added, INTERVAL + SLACK,
                             "%s: its run was read %.1f s after it finished"
                             % (what, read - added))
        self.assertLessEqual(judged - read, 2 * INTERVAL + SLACK,
                             "%s: %.1f s after its run was read"
                             % (what, judged - read))

    def test_malformed_results_of_one_test_hold_back_no_other(self):
        self.rs.add_bucket(BUCKET, "Shop")
        checkout, checkout_key = self.add_test("Checkout API")
        self.bad, bad_key = self.add_test("Search API")
        login, login_key = self.add_test("Login API")
        self.rs.add_run(BUCKET, checkout["id"], "Production", "pass")
        self.rs.add_run(BUCKET, self.bad["id"], "Production", "pass")
        self.rs.add_run(BUCKET, login["id"], "Production", "fail")
        self.rs.inject_fault(method="GET", count=-1, action="malformed",
                             path=r"/tests/%s/results$" %
                             re.escape(self.bad["id"]))
        self.h.write_config(buckets=[BUCKET], interval=INTERVAL,
                            plugin_options={
                                "OutageThreshold": OUTAGE_THRESHOLD})
        self.h.start()
        self.h.wait_for(lambda: self.events(login_key, "ACTIVE"), WAIT,
                        "the event of the failing Login API")
        # the bad test is asked again every cycle, not after a back-off
        self.h.wait_for(lambda: len(self.bad_reads()) >= 6,
                        6 * INTERVAL + 3 * SLACK,
                        "six reads of the bad test's results in a row")

        run = self.rs.add_run(BUCKET, checkout["id"], "Production", "fail")
        self.wait_read_and_judged(
            run, lambda: self.events(checkout_key, "ACTIVE"),
            "the event of Checkout API's failing run")
        run = self.rs.add_run(BUCKET, login["id"], "Production", "pass")
        self.wait_read_and_judged(
            run, lambda: not self.events(login_key, "ACTIVE"),
            "the end of Login API's event on its passing run")

        self.h.wait_for(lambda: self.h.log_lines(NOTE % (
            "WARNING", "has been unreadable for")), WAIT,
            "a WARNING notification on the bad test's key")
        self.assertEqual(self.h.log_lines(r"Backing off the Runscope API"),
                         [], "Runscope was backed off")
        self.assertEqual(self.h.log_lines(r"Runscope API has been "
                                          r"unreachable"), [])
        lines = self.h.log_lines(r"Test \"Search API\" \(%s/%s\) cannot be "
                                 r"read: .*JSON" % (BUCKET, self.bad["id"]))
        reads = len(self.bad_reads())
        self.assertGreaterEqual(len(lines), 1, "the bad test is logged")
        self.assertLess(len(lines), reads / 2,
                        "logged %d times for %d reads" % (len(lines), reads))
        errors = self.h.csv_rows("self", "derive", "runscope_errors")
        self.assertTrue(errors and errors[-1][1] >= 6,
                        "runscope_errors counts the bad reads: %s"
                        % errors[-3:])
        self.assertEqual(len(self.events(checkout_key, None)), 1)
        self.assertEqual(self.events(bad_key, None), [])
        warnings = self.h.log_lines(r"Notification: severity = WARNING")
        self.assertEqual(len(warnings), 1, warnings)

        self.rs.clear_faults()
        self.h.wait_for(lambda: self.h.log_lines(NOTE % (
            "OKAY", "can be read again")), WAIT,
            "an OKAY notification once the bad test reads again")
        self.assertTrue(self.h.log_lines(
            r"Test \"Search API\" \(%s/%s\) is read again" % (
                BUCKET, self.bad["id"])))


if __name__ == "__main__":
    unittest.main()
