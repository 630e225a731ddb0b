# SPDX-License-Identifier: MIT
"""Checks of the end-to-end harness itself, with collectd but without the
plugin (logfile and csv only), so that a failing core-loop test points at
the plugin and not at the harness."""

import os
import re
import stat
import unittest

import harness


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
class HarnessTest(unittest.TestCase):

    def setUp(self):
        self.h = harness.Harness(self.id().split(".")[-1])
        self.addCleanup(self.h.cleanup)

    def test_collectd_starts_and_stops_cleanly(self):
        self.h.write_config(with_runscope=False)
        for name in ("logfile.so", "csv.so"):
            path = os.path.join(self.h.plugin_dir, name)
            self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode),
                            "a copy, not a symlink")
        self.h.start()
        self.assertTrue(self.h.running())
        self.assertRegex(self.h.log(), r"\[\d{4}-\d\d-\d\d [\d:]+\] \[\w+\]",
                         "Timestamp and PrintSeverity are on")
        self.assertEqual(self.h.stop(), 0)
        self.assertIn("Exiting normally", self.h.log())
        self.assertFalse(self.h.running())
        pid_file = os.path.join(self.h.tmp, "collectd.pid")
        self.assertFalse(os.path.exists(pid_file), "removed on exit")

    def test_run_once(self):
        self.h.write_config(with_runscope=False)
        rc, out = self.h.run_once()
        self.assertEqual(rc, 0, out)

    def test_run_once_returns_only_its_own_output(self):
        self.h.write_config(with_runscope=False)
        rc1, out1 = self.h.run_once()
        rc2, out2 = self.h.run_once()
        self.assertEqual((rc1, rc2), (0, 0))
        for out in (out1, out2):
            self.assertEqual(out.count("Exiting normally"), 1, out)
        self.assertEqual(self.h.log().count("Exiting normally"), 2)

    def test_run_once_without_network(self):
        self.h.write_config(with_runscope=False)
        rc, out = self.h.run_once(isolate_network=True)
        self.assertEqual(rc, 0, out)

    def test_config_error_exits_non_zero_and_wait_for_notices(self):
        self.h.write_config(with_runscope=False)
        with open(self.h.conf_path, "a") as f:
            f.write("LoadPlugin does_not_exist\n")
        self.h.start(wait=False)
        with self.assertRaisesRegex(AssertionError, "collectd exited"):
            self.h.wait_for(lambda: False, 30, "never")
        self.assertNotEqual(self.h.wait_exit(), 0)
        self.assertIn("does_not_exist", self.h.output())

    def test_wait_for_returns_value_and_times_out(self):
        self.assertEqual(self.h.wait_for(lambda: 42, 1, "x"), 42)
        with self.assertRaisesRegex(AssertionError,
                                    "timed out after 0 s waiting for "
                                    "the answer"):
            self.h.wait_for(lambda: None, 0.2, "the answer")

    def test_secret_check(self):
        self.h.write_config(with_runscope=False)
        self.h.assert_no_secrets()
        with open(self.h.log_path, "a") as f:
            f.write("oops " + self.h.token + "\n")
        with self.assertRaisesRegex(AssertionError, "secret"):
            self.h.assert_no_secrets()

    def test_plugin_block_rendering(self):
        self.h.start_fakes()
        lines = self.h._plugin_block(
            dry_run=True, buckets=["b0", {"key": "b1",
                                          "tests": ["Checkout API", "t-2"],
                                          "environments": ['Pro"d']}],
            token_file=True, token=None, password_file=False,
            password="inline-pw", rs_url=None, xm_url=None,
            trigger_url=None, recipients=["a", "b"], timeout=5,
            tuning={"MaxResultAge": 1}, plugin_options={"DryRun": None},
            runscope_options=None, xmatters_options={"Priority": "HIGH"},
            raw_lines=['BaseUrl2 "x"'], state_file=None)
        text = "\n".join(lines)
        self.assertNotIn("DryRun", text, "None drops a key")
        self.assertIn('StateFile "%s"' % self.h.state_path, text)
        self.assertIn("MaxResultAge 1\n", text)
        self.assertIn('BaseURL "%s"' % self.h.rs.base_url, text)
        self.assertIn('BaseURL "%s"' % self.h.xm.base_url, text)
        self.assertRegex(text, r'TestResultsTriggerURL "http://127\.0\.0\.1:'
                         r'\d+/api/integration/1/functions/[-0-9a-f]+/'
                         r'triggers\?apiKey=xm-apikey-[0-9a-f]+"')
        self.assertIn('Recipient "a"\n    Recipient "b"', text)
        self.assertIn('Password "inline-pw"', text)
        self.assertNotIn("PasswordFile", text)
        self.assertIn('<Bucket "b0">\n  </Bucket>', text)
        self.assertIn('Test "Checkout API"\n    Test "t-2"', text)
        self.assertIn('Environment "Pro\\"d"', text)
        self.assertIn('  BaseUrl2 "x"\n</Plugin>', text)
        token_file = os.path.join(self.h.tmp, "runscope.token")
        self.assertEqual(stat.S_IMODE(os.stat(token_file).st_mode), 0o600)
        with open(token_file) as f:
            self.assertEqual(f.read().strip(), self.h.token)
        self.assertIn("inline-pw", self.h.secrets)
        self.assertTrue(all(re.search(r"127\.0\.0\.1", u) for u in
                            re.findall(r"https?://[^\"]+", text)),
                        "every URL is loopback")


if __name__ == "__main__":
    unittest.main()
