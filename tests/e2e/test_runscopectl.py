# SPDX-License-Identifier: MIT
"""runscopectl, the built command, end to end.

Silences: `silence` writes a window file that the plugin's own reader
(cfg_window_from_json, which `silences` uses) accepts, `silences` lists
it with the files of other states and bad ones, `unsilence` removes it;
the MaintenanceDir comes from -m or from collectd's config (Include
followed). Status: the real collectd daemon with build/runscope.so and the
fakes writes a state file with an open event; `status` prints the key and
its event, the silences that apply, and never writes or moves the state
file, not even a corrupt one. Bad arguments fail with a message that says
what to fix and a non-zero exit code.
"""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import WAIT, runscope_key

CTL = os.path.join(harness.REPO, "build", "runscopectl")
BUCKET = "ctl1bucket0"

USAGE, FAIL, CONFIG = 2, 1, 3  # runscopectl(1), EXIT STATUS


def ctl_available():
    return os.access(CTL, os.X_OK)


def ctl(*args):
    """Runs runscopectl; returns (exit code, stdout, stderr)."""
    p = subprocess.run([CTL] + list(args), capture_output=True, text=True,
                       timeout=30, env=harness.clean_env())
    return p.returncode, p.stdout, p.stderr


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_iso(s):
    return float(time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
                 - time.timezone)


def keys_part(text):
    """status's text split in two: the header (the state's source, the
    leader, when each API answered) and the keys after the blank line."""
    head, _, keys = text.partition("\n\n")
    return head + "\n", keys


@unittest.skipUnless(ctl_available(), "build/runscopectl not built (make)")
class SilenceTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="runscopectl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.dir = os.path.join(self.tmp, "maintenance")
        os.mkdir(self.dir)

    def ok(self, *args):
        rc, out, err = ctl(*args)
        self.assertEqual(rc, 0, "runscopectl %s: %s" % (args, err))
        return out

    def silences(self):
        return json.loads(self.ok("-m", self.dir, "silences", "--json"))

    def write(self, name, obj):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))

    def test_silence_writes_a_window_file_the_plugin_reads(self):
        before = time.time()
        out = self.ok("-m", self.dir, "silence", "--bucket", "shop",
                      "--test", "Checkout API", "--environment",
                      "Production", "--for", "2h", "--reason", "deploy 42",
                      "--name", "deploy-42")
        self.assertEqual(out, "deploy-42\n")
        self.assertEqual(os.listdir(self.dir), ["deploy-42.json"])
        path = os.path.join(self.dir, "deploy-42.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)
        with open(path) as f:
            w = json.load(f)
        self.assertEqual({k: w[k] for k in ("name", "bucket", "test",
                                           "environment", "reason")},
                         {"name": "deploy-42", "bucket": "shop",
                          "test": "Checkout API",
                          "environment": "Production",
                          "reason": "deploy 42"})
        start, end = parse_iso(w["start"]), parse_iso(w["end"])
        self.assertAlmostEqual(start, before, delta=5)
        self.assertEqual(end - start, 7200)
        # read back by cfg_window_from_json, the plugin's reader
        [listed] = self.silences()
        self.assertEqual(listed["state"], "active")
        self.assertEqual(listed["file"], "deploy-42.json")
        self.assertEqual((listed["bucket"], listed["test"],
                          listed["environment"]),
                         (["shop"], ["Checkout API"], ["Production"]))
        self.assertEqual((listed["start"], listed["end"]),
                         (w["start"], w["end"]))

    def test_unsilence_removes_the_file(self):
        name = self.ok("-m", self.dir, "silence", "--bucket", "shop",
                       "--until", iso(time.time() + 600)).strip()
        self.assertTrue(name.startswith("shop-"), name)
        self.assertEqual(os.listdir(self.dir), [name + ".json"])
        out = self.ok("-m", self.dir, "unsilence", name)
        self.assertIn(name + ".json", out)
        self.assertEqual(os.listdir(self.dir), [])
        self.assertEqual(self.silences(), [])
        rc, _, err = ctl("-m", self.dir, "unsilence", name)
        self.assertEqual(rc, FAIL)
        self.assertIn('no silence named "%s"' % name, err)

    def test_unsilence_by_the_window_name_inside_a_file(self):
        self.write("by-hand.json", {"name": "night work", "bucket": "b",
                                    "end": iso(time.time() + 60)})
        self.ok("-m", self.dir, "unsilence", "night work")
        self.assertEqual(os.listdir(self.dir), [])

    def test_a_taken_name_is_refused_and_default_names_differ(self):
        self.ok("-m", self.dir, "silence", "--bucket", "b", "--for", "1h",
                "--name", "x")
        rc, _, err = ctl("-m", self.dir, "silence", "--bucket", "b",
                         "--for", "2h", "--name", "x")
        self.assertEqual(rc, FAIL)
        self.assertIn("a silence named x exists", err)
        with open(os.path.join(self.dir, "x.json")) as f:
            w = json.load(f)
        self.assertEqual(parse_iso(w["end"]) - parse_iso(w["start"]), 3600)
        a = self.ok("-m", self.dir, "silence", "--bucket", "b", "--for", "1h")
        b = self.ok("-m", self.dir, "silence", "--bucket", "b", "--for", "1h")
        self.assertNotEqual(a, b)
        self.assertEqual(len(os.listdir(self.dir)), 3)

    def test_silences_lists_every_state_and_marks_bad_files(self):
        now = time.time()
        self.write("old.json", {"bucket": "b", "start": iso(now - 7200),
                                "end": iso(now - 3600)})
        self.write("later.json", {"bucket": "b", "start": iso(now + 3600),
                                  "end": iso(now + 7200)})
        self.write("now.json", {"bucket": ["b", "c"], "end": iso(now + 60)})
        self.write("broken.json", '{"bucket": "b", "end": "tomorrow"}')
        self.write("noend.json", {"bucket": "b"})
        self.write("notes.txt", "not a window")
        self.write(".tmp.json", "{")
        got = {s["file"]: s for s in self.silences()}
        self.assertEqual(sorted(got), ["broken.json", "later.json",
                                       "noend.json", "now.json", "old.json"])
        self.assertEqual({f: s["state"] for f, s in got.items()},
                         {"old.json": "expired", "later.json": "future",
                          "now.json": "active", "broken.json": "bad",
                          "noend.json": "bad"})
        self.assertIn('"end": not an ISO-8601 time', got["broken.json"]["error"])
        self.assertIn('no "end"', got["noend.json"]["error"])
        self.assertEqual(got["now.json"]["bucket"], ["b", "c"])
        text = self.ok("-m", self.dir, "silences")
        lines = {line.split()[0]: line for line in text.splitlines()}
        self.assertIn("expired", lines["old"])
        self.assertIn("future", lines["later"])
        self.assertIn("BAD", lines["broken.json"])

    def test_maintenance_dir_and_state_file_from_collectds_config(self):
        confd = os.path.join(self.tmp, "conf.d")
        os.mkdir(confd)
        main = os.path.join(self.tmp, "collectd.conf")
        with open(main, "w") as f:
            f.write('Interval 10\n<Include "%s">\n  Filter "*.conf"\n'
                    '</Include>\n' % confd)
        with open(os.path.join(confd, "runscope.conf"), "w") as f:
            f.write('<Plugin "runscope">  # the plugin\n'
                    '  StateFile "%s/state.json"\n'
                    '  MaintenanceDir \\\n    "%s"\n'
                    '  <Runscope>\n    TokenFile "/x" # "quoted"\n'
                    '  </Runscope>\n</Plugin>\n' % (self.tmp, self.dir))
        with open(os.path.join(confd, "other.conf.off"), "w") as f:
            f.write("<Plugin runscope>\n  MaintenanceDir \"/nowhere\"\n"
                    "</Plugin>\n")
        name = self.ok("-c", main, "silence", "--bucket", "b", "--for",
                       "5m").strip()
        self.assertEqual(os.listdir(self.dir), [name + ".json"])
        rc, _, err = ctl("-c", main, "status")
        self.assertEqual(rc, FAIL)
        self.assertIn("no state file at %s/state.json" % self.tmp, err)

    def test_config_without_maintenance_dir_says_what_to_add(self):
        conf = os.path.join(self.tmp, "collectd.conf")
        with open(conf, "w") as f:
            f.write('<Plugin runscope>\n  StateFile "/x/state.json"\n'
                    '</Plugin>\n')
        rc, out, err = ctl("-c", conf, "silence", "--bucket", "b", "--for",
                           "1h")
        self.assertEqual((rc, out), (CONFIG, ""))
        self.assertIn("MaintenanceDir is not set in <Plugin runscope> of %s"
                      % conf, err)
        self.assertIn("-m DIR", err)
        with open(conf, "w") as f:
            f.write('<Plugin runscope>\n  StateFile "/x"\n')
        rc, _, err = ctl("-c", conf, "silences")
        self.assertEqual(rc, CONFIG)
        self.assertIn("<Plugin> is not closed", err)

    def test_bad_arguments_fail_with_a_message(self):
        regular = os.path.join(self.tmp, "file")
        open(regular, "w").close()
        cases = [
            ((), USAGE, "usage: runscopectl"),
            (("frobnicate",), USAGE, "unknown command frobnicate"),
            (("status", "--bogus"), USAGE, "unknown option --bogus"),
            (("silence", "--bucket"), USAGE, "--bucket needs a value"),
            (("silence", "--for", "1h"), USAGE, "--bucket KEY is required"),
            (("silence", "--bucket", "b"), USAGE, "--for DURATION"),
            (("silence", "--bucket", "", "--for", "1h"), USAGE,
             "--bucket is empty"),
            (("silence", "--bucket", "b", "--for", "1h", "--until",
              iso(time.time() + 60)), USAGE, "one of them"),
            (("silence", "--bucket", "b", "--for", "2 hours"), USAGE,
             "not a duration"),
            (("silence", "--bucket", "b", "--until", "tomorrow"), USAGE,
             "not an ISO-8601 time"),
            (("silence", "--bucket", "b", "--until",
              iso(time.time() - 60)), USAGE, "has ended already"),
            (("silence", "--bucket", "b", "--for", "1h", "--name",
              "../etc/x"), USAGE, "--name ../etc/x: use 1 to 100"),
            (("silences", "--bucket", "b"), USAGE,
             "silences does not take --bucket"),
            (("silences", "extra"), USAGE, "unexpected argument extra"),
            (("unsilence",), USAGE, "give the NAME"),
            (("unsilence", "../x"), FAIL, "is not a silence name"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                rc, out, err = ctl("-m", self.dir, *args)
                self.assertEqual(rc, code, err)
                self.assertIn(text, err)
                self.assertTrue(err.startswith(("runscopectl: ", "usage:")))
        self.assertEqual(os.listdir(self.dir), [])
        rc, _, err = ctl("-m", regular, "silences")
        self.assertEqual(rc, FAIL)
        self.assertIn("is not a directory", err)
        rc, _, err = ctl("-m", os.path.join(self.tmp, "none"), "silence",
                         "--bucket", "b", "--for", "1h")
        self.assertEqual(rc, FAIL)
        self.assertIn("No such file or directory: create it", err)


@unittest.skipUnless(ctl_available(), "build/runscopectl not built (make)")
class OldStateTest(unittest.TestCase):
    """A state file written before the plugin kept when each API answered
    and since when an event is open: status reads it and says "never"."""

    def test_state_without_the_newer_fields(self):
        tmp = tempfile.mkdtemp(prefix="runscopectl-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "state.json")
        with open(path, "w") as f:
            json.dump({"format": "collectd-runscope-state", "version": 1,
                       "keys": [{"bucket_key": "b", "test_id": "t",
                                 "environment_id": "e",
                                 "locations": [{"location": "us1",
                                                "test_run_id": "r1",
                                                "failed": True,
                                                "started_at": 1.7e9,
                                                "finished_at": 1.7e9 + 5}],
                                 "event": "active", "event_ids": ["ev-1"],
                                 "requested_at": 1.7e9 + 10}],
                       "cursors": []}, f)
        rc, out, err = ctl("-s", path, "-m", tmp, "status", "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["apis"], {
            "runscope": {"answered_at": None, "age": None},
            "xmatters": {"answered_at": None, "age": None}})
        self.assertIsNone(doc["leader"])
        self.assertEqual(doc["source"], {"kind": "file", "path": path})
        [k] = doc["keys"]
        self.assertEqual(k["locations"][0]["streak"], 1)  # no streak: 1
        self.assertEqual(k["event"]["state"], "open")
        self.assertIsNone(k["event"]["since"])
        self.assertEqual(k["flap"]["percent"], None)
        rc, out, err = ctl("-s", path, "-m", tmp, "status")
        self.assertEqual(rc, 0, err)
        self.assertIn("Runscope:    last answered never\n", out)
        self.assertIn("event:       open ev-1\n", out)


@unittest.skipUnless(ctl_available(), "build/runscopectl not built (make)")
@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
class StatusTest(harness.CollectdTestCase):

    def status(self, *args):
        rc, out, err = ctl("-s", self.h.state_path, "-m", self.dir,
                           "status", *args)
        self.assertEqual(rc, 0, err)
        return out

    def failing_key_with_event(self):
        """collectd pages for a failing test; returns (key, event) once the
        state file holds the open event."""
        self.dir = os.path.join(self.h.tmp, "maintenance")
        os.mkdir(self.dir)
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        key = runscope_key(BUCKET, t["id"], t["environments"][0]["id"])
        self.rs.add_run(BUCKET, t["id"], "Production", "fail",
                        started_at=time.time())
        self.h.write_config(buckets=[BUCKET])
        self.h.start()
        ev = self.h.wait_for(lambda: self.xm.events(key=key), WAIT,
                             "the key's event")[0]

        def open_in_state():
            if not os.path.exists(self.h.state_path):
                return None
            doc = json.loads(self.status("--json"))
            keys = [k for k in doc["keys"] if k["key"] == key]
            return keys and keys[0]["event"]["state"] == "open" and keys[0]
        k = self.h.wait_for(open_in_state, WAIT, "the open event in the state")
        return key, ev, k

    def test_status_prints_the_key_and_its_open_event(self):
        key, ev, k = self.failing_key_with_event()
        self.h.stop()
        self.assertEqual(k["bucket"], BUCKET)
        self.assertEqual(k["verdict"], "failing")
        self.assertEqual([loc["location"] for loc in k["locations"]], ["us1"])
        self.assertEqual(k["locations"][0]["result"], "fail")
        self.assertTrue(set(k["event"]["ids"]) & {ev["id"], ev["eventId"]},
                        (k["event"], ev))
        self.assertEqual(k["silences"], [])
        head, text = keys_part(self.status(key))
        self.assertIn("state:       file %s\n" % self.h.state_path, head)
        self.assertTrue(text.startswith(key + "\n"), text)
        self.assertIn("verdict:     failing", text)
        self.assertIn("location us1: failed 1 in a row", text)
        self.assertIn("event:       open %s since " % k["event"]["ids"][0],
                      text)
        self.assertEqual(keys_part(self.status(BUCKET))[1], text)
        # by the config's StateFile as well
        rc, out, err = ctl("-c", self.h.conf_path, "status", key)
        self.assertEqual((rc, keys_part(out)[1]), (0, text), err)
        rc, _, err = ctl("-s", self.h.state_path, "status", "nosuch/key/x")
        self.assertEqual(rc, FAIL)
        self.assertIn("no key of %s matches nosuch/key/x" % self.h.state_path,
                      err)

    def test_status_shows_the_silences_that_apply(self):
        key, _, _ = self.failing_key_with_event()
        self.h.stop()
        name = ctl("-m", self.dir, "silence", "--bucket", BUCKET, "--for",
                   "1h", "--reason", "deploy")[1].strip()
        ctl("-m", self.dir, "silence", "--bucket", "another", "--for", "1h")
        [k] = json.loads(self.status("--json", key))["keys"]
        self.assertEqual([(s["name"], s["reason"]) for s in k["silences"]],
                         [(name, "deploy")])
        self.assertIn("silenced:    %s until" % name, self.status(key))
        ctl("-m", self.dir, "unsilence", name)
        [k] = json.loads(self.status("--json", key))["keys"]
        self.assertEqual(k["silences"], [])
        # and a <Maintenance> block of the config, a one-off and a weekly
        # window that is closed now
        conf = os.path.join(self.h.tmp, "windows.conf")
        day = time.strftime("%a", time.gmtime(time.time() + 3 * 86400))
        with open(conf, "w") as f:
            f.write('<Plugin runscope>\n  StateFile "%s"\n'
                    '  <Maintenance "db move">\n    Bucket "%s"\n'
                    '    Start "%s"\n    End "%s"\n  </Maintenance>\n'
                    '  <Maintenance "weekly">\n'
                    '    Weekly "%s 01:00-02:00"\n  </Maintenance>\n'
                    '</Plugin>\n' % (self.h.state_path, BUCKET,
                                      iso(time.time() - 60),
                                      iso(time.time() + 600), day))
        rc, out, err = ctl("-c", conf, "status", "--json", key)
        self.assertEqual(rc, 0, err)
        [k] = json.loads(out)["keys"]
        self.assertEqual([s["name"] for s in k["silences"]], ["db move"])

    def json_status(self, key):
        rc, out, err = ctl("-c", self.h.conf_path, "-m", self.dir, "status",
                           "--json", key)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def test_streaks_since_and_when_each_api_answered(self):
        """FailureThreshold 2 and FlapDetection, read from collectd's config:
        one failure in us1 beside two passes in eu1 is a failure streak of
        1 that pages nobody; the second pages, and the event is open since
        its request. The APIs' times are the plugin's: they stay and age
        once collectd stops."""
        self.dir = os.path.join(self.h.tmp, "maintenance")
        os.mkdir(self.dir)
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1", "eu1"]}])
        key = runscope_key(BUCKET, t["id"], t["environments"][0]["id"])
        now = time.time()
        self.rs.add_run(BUCKET, t["id"], None, "pass", region="eu1",
                        started_at=now - 20)
        self.rs.add_run(BUCKET, t["id"], None, "pass", region="eu1",
                        started_at=now - 10)
        first = self.rs.add_run(BUCKET, t["id"], None, "fail", region="us1",
                                started_at=now - 5)
        self.h.write_config(buckets=[BUCKET], plugin_options={
            "FailureThreshold": 2, "FlapDetection": True})
        self.h.start()

        def in_state(pred):
            if not os.path.exists(self.h.state_path):
                return None
            keys = self.json_status(key)["keys"]
            return keys and pred(keys[0]) and keys[0]
        k = self.h.wait_for(lambda: in_state(
            lambda k: len(k["locations"]) == 2), WAIT, "both locations")
        doc = self.json_status(key)
        self.assertEqual({loc["location"]: (loc["result"], loc["streak"])
                          for loc in k["locations"]},
                         {"us1": ("fail", 1), "eu1": ("pass", 2)})
        self.assertEqual(k["streaks"], {"failure": 1, "recovery": 0,
                                        "failure_threshold": 2,
                                        "recovery_threshold": 1})
        self.assertEqual((k["verdict"], k["alert_verdict"]),
                         ("failing", "unknown"))
        self.assertEqual(k["event"]["state"], "none")
        self.assertIsNone(k["event"]["since"])
        self.assertEqual(k["failing_since"], iso(first["started_at"]))
        self.assertEqual((k["flap"]["verdicts"], k["flap"]["window"],
                          k["flap"]["detection"], k["flap"]["flapping"]),
                         (3, 21, True, False))
        self.assertIsInstance(k["flap"]["percent"], (int, float))
        for api in ("runscope", "xmatters"):
            self.assertLessEqual(doc["apis"][api]["age"], 5, doc["apis"])
        self.assertNotIn("etcd", doc["apis"])  # no <Cluster>
        self.assertEqual(self.xm.events(key=key), [])
        # the second failure in a row pages; the event is open since then
        before = time.time()
        self.rs.add_run(BUCKET, t["id"], None, "fail", region="us1")
        self.h.wait_for(lambda: self.xm.events(key=key), WAIT, "the page")
        k = self.h.wait_for(lambda: in_state(
            lambda k: k["event"]["state"] == "open"), WAIT, "the open event")
        self.assertEqual(k["streaks"]["failure"], 2)
        self.assertEqual(k["alert_verdict"], "failing")
        since = parse_iso(k["event"]["since"])
        self.assertGreaterEqual(since, int(before))
        self.assertLessEqual(since, time.time())
        self.assertGreaterEqual(k["event"]["open_for"], 0)
        rc, out, err = ctl("-c", self.h.conf_path, "status", key)
        self.assertEqual(rc, 0, err)
        head, text = keys_part(out)
        self.assertIn("streaks:     2 failed (FailureThreshold 2), 0 passed "
                      "(RecoveryThreshold 1)", text)
        self.assertIn("location us1: failed 2 in a row", text)
        self.assertIn("location eu1: passed 2 in a row", text)
        self.assertIn(" since %s (" % k["event"]["since"], text)
        self.assertIn("Runscope:    last answered ", head)
        self.h.stop()
        apis = self.json_status(key)["apis"]
        time.sleep(2)  # the ages count from the plugin's last cycle
        later = self.json_status(key)
        self.assertEqual(later["apis"]["runscope"]["answered_at"],
                         apis["runscope"]["answered_at"])
        self.assertGreaterEqual(later["apis"]["runscope"]["age"],
                                apis["runscope"]["age"] + 1)
        self.assertAlmostEqual(later["apis"]["runscope"]["age"],
                               parse_iso(later["now"]) -
                               parse_iso(apis["runscope"]["answered_at"]),
                               delta=1)

    def test_status_never_writes_the_state_file(self):
        self.failing_key_with_event()
        self.h.stop()
        with open(self.h.state_path, "rb") as f:
            saved = f.read()
        mtime = os.stat(self.h.state_path).st_mtime_ns
        self.status()
        self.assertEqual(os.stat(self.h.state_path).st_mtime_ns, mtime)
        # a corrupt file is reported and left where it is (moving it aside
        # is the plugin's business)
        with open(self.h.state_path, "wb") as f:
            f.write(saved[: len(saved) // 2])
        rc, _, err = ctl("-s", self.h.state_path, "status")
        self.assertEqual(rc, FAIL)
        self.assertIn("is not a state file the plugin wrote", err)
        self.assertEqual(sorted(os.listdir(self.h.tmp)).count("state.json"),
                         1)
        self.assertFalse([n for n in os.listdir(self.h.tmp)
                          if "corrupt" in n])


if __name__ == "__main__":
    unittest.main()
