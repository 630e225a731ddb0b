# SPDX-License-Identifier: MIT
"""End-to-end harness: the real collectd daemon, the built plugin, the fakes.

Everything happens on 127.0.0.1: the fakes bind it, the generated config
points only at it, and collectd runs with every *_proxy variable removed and
no_proxy=* so that libcurl never talks to a proxy.

    h = Harness()                        # private temp dir, random secrets
    rs, xm = h.start_fakes()             # in-process fakes, ephemeral ports
    rs.add_bucket("b1", "Shop"); ...
    h.write_config(buckets=[{"key": "b1", "tests": ["Checkout API"]}])
    h.start()                            # collectd -f -C <tmp>/collectd.conf
    h.wait_for(lambda: xm.events(), 30, "an xMatters event")
    h.stop()                             # SIGTERM; returns the exit status
    rc, log = h.run_once()               # collectd -T (one read cycle)
    h.cleanup()

`CollectdTestCase` wraps this for unittest: a fresh Harness and fakes per
test (self.h, self.rs, self.xm), collectd stopped after the test, a check
that no log contains a secret, and the tail of the collectd log printed when
the test failed. Set E2E_KEEP=1 to keep the temp dirs.

The config block is generated from keyword arguments (see write_config):

    <Plugin runscope>
      StateFile "<tmp>/state.json"
      DryRun false
      MaxResultAge 1                  # TUNING: read results every cycle
      <Runscope>
        BaseURL "http://127.0.0.1:<rs port>"
        TokenFile "<tmp>/runscope.token"
        Timeout 5
      </Runscope>
      <XMatters>
        BaseURL "http://127.0.0.1:<xm port>"
        User "runscope"
        PasswordFile "<tmp>/xmatters.pass"
        TestResultsTriggerURL "http://127.0.0.1:<xm port>/api/integration/1/functions/<uuid>/triggers?apiKey=<key>"
        Recipient "api-oncall"
        Timeout 5
      </XMatters>
      <Bucket "<key>"> Test "..." Environment "..." </Bucket>
    </Plugin>
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "fakes"))

import fake_runscope  # noqa: E402
import fake_xmatters  # noqa: E402

COLLECTD = os.environ.get("E2E_COLLECTD", "/usr/sbin/collectd")
SYSTEM_PLUGIN_DIR = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
PLUGIN_SO = os.path.join(REPO, "build", "runscope.so")
HOSTNAME = "e2e-host"

# Plugin options that make the end-to-end tests fast: with the defaults
# (600 s) a test's results would be read only every few minutes.
# E2E_TUNING=defaults runs with the plugin's defaults instead (MaxResultAge
# 600: results are read only when the tests list shows news, which proves
# that change detection alone sees every run); the waits below then count
# cycles by the tests list, which every cycle reads.
TUNING = {} if os.environ.get("E2E_TUNING") == "defaults" else \
    {"MaxResultAge": 1}

# Default bound for waiting on the daemon (it polls every second).
WAIT = float(os.environ.get("E2E_WAIT", "30"))


def plugin_available():
    return os.path.isfile(PLUGIN_SO)


def collectd_available():
    return os.access(COLLECTD, os.X_OK)


# ----- collectd config rendering


def quote(value):
    """A collectd config value: booleans and numbers bare, the rest a
    double-quoted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def render_options(options, indent="  "):
    """Lines for a dict of options: a list value repeats the key, None
    leaves it out."""
    lines = []
    for key, value in options.items():
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            lines.append("%s%s %s" % (indent, key, quote(v)))
    return lines


def write_secret(path, text):
    """Writes a secret file with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def clean_env(extra=None):
    """The environment for collectd: no proxies whatsoever, then the
    variables of extra (e.g. an http_proxy the plugin must ignore)."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "*"
    env.update(extra or {})
    return env


class Harness:
    """A private temp dir, the fakes and one collectd process at a time."""

    def __init__(self, name="e2e"):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[-60:]
        self.tmp = tempfile.mkdtemp(prefix="collectd-%s-" % safe)
        self.token = "rs-token-" + secrets.token_hex(12)
        self.password = "xm-pass-" + secrets.token_hex(12)
        self.api_key = "xm-apikey-" + secrets.token_hex(12)
        self.function = str(uuid.uuid4())
        self.extra_secrets = []
        self.rs = None
        self.xm = None
        self.proc = None
        self.conf_path = os.path.join(self.tmp, "collectd.conf")
        self.log_path = os.path.join(self.tmp, "collectd.log")
        self.console_path = os.path.join(self.tmp, "console.log")
        self.state_path = os.path.join(self.tmp, "state.json")
        self.plugin_dir = os.path.join(self.tmp, "plugins")
        self.csv_dir = os.path.join(self.tmp, "csv")
        self._console = None
        self.runs = 0
        self.extra_env = {}  # more environment for collectd (clean_env)

    # ----- fakes

    def start_fakes(self, rs_options=None, xm_options=None, tls=None):
        """Starts both fakes on ephemeral loopback ports with this
        harness's secrets; returns (rs, xm). tls: the keywords of
        FakeServer.use_tls (certfile, keyfile, client_ca) for HTTPS."""
        self.rs = fake_runscope.FakeRunscope(
            token=self.token, **(rs_options or {}))
        self.xm = fake_xmatters.FakeXMatters(
            user="runscope", password=self.password,
            functions={self.function: self.api_key},
            **(xm_options or {}))
        for fake in (self.rs, self.xm):
            if tls:
                fake.use_tls(**tls)
            fake.start()
        return self.rs, self.xm

    @property
    def secrets(self):
        return [self.token, self.password, self.api_key] + self.extra_secrets

    # ----- config

    def trigger_url(self):
        return self.xm.trigger_url(self.function)

    def write_config(self, with_runscope=True, dry_run=False, buckets=None,
                     token_file=True, token=None, password_file=True,
                     password=None, runscope_base_url=None,
                     xmatters_base_url=None, trigger_url=None,
                     recipients=("api-oncall",), timeout=5,
                     tuning=None, plugin_options=None, runscope_options=None,
                     xmatters_options=None, raw_plugin_lines=None,
                     state_file=None, interval=1, log_level="debug"):
        """Writes <tmp>/collectd.conf and the plugin dir; returns the path.

        buckets: a list of bucket keys or dicts {"key", "tests": [...],
        "environments": [...]}. token_file/password_file: True writes the
        harness's secret to a 0600 file in the temp dir; a string is used
        as the path as is; False leaves the key out. token/password: an
        inline secret (the Token/Password keys). tuning: top-level plugin
        options (default TUNING); plugin_options, runscope_options,
        xmatters_options: more keys for <Plugin>, <Runscope>, <XMatters>
        (None values drop a key). raw_plugin_lines: lines appended verbatim
        inside <Plugin runscope> (e.g. a misspelled key).
        """
        os.makedirs(self.plugin_dir, exist_ok=True)
        os.makedirs(self.csv_dir, exist_ok=True)
        for so in ("logfile.so", "csv.so"):
            shutil.copy2(os.path.join(SYSTEM_PLUGIN_DIR, so),
                         os.path.join(self.plugin_dir, so))
        lines = [
            'Hostname "%s"' % HOSTNAME,
            "FQDNLookup false",
            "Interval %s" % interval,
            "BaseDir %s" % quote(self.tmp),
            "PIDFile %s" % quote(os.path.join(self.tmp, "collectd.pid")),
            "PluginDir %s" % quote(self.plugin_dir),
            "TypesDB %s" % quote(TYPES_DB),
            "",
            "LoadPlugin logfile",
            "<Plugin logfile>",
            "  LogLevel %s" % log_level,
            "  File %s" % quote(self.log_path),
            "  Timestamp true",
            "  PrintSeverity true",
            "</Plugin>",
            "",
            "LoadPlugin csv",
            "<Plugin csv>",
            "  DataDir %s" % quote(self.csv_dir),
            "  StoreRates false",
            "</Plugin>",
        ]
        if with_runscope:
            shutil.copy2(PLUGIN_SO, os.path.join(self.plugin_dir,
                                                 "runscope.so"))
            lines += ["", "<LoadPlugin runscope>",
                      "  Interval %s" % interval, "</LoadPlugin>"]
            lines += self._plugin_block(
                dry_run, buckets, token_file, token, password_file,
                password, runscope_base_url, xmatters_base_url, trigger_url,
                recipients, timeout, TUNING if tuning is None else tuning,
                plugin_options, runscope_options, xmatters_options,
                raw_plugin_lines, state_file)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self.conf_path

    def _plugin_block(self, dry_run, buckets, token_file, token,
                      password_file, password, rs_url, xm_url, trigger_url,
                      recipients, timeout, tuning, plugin_options,
                      runscope_options, xmatters_options, raw_lines,
                      state_file):
        top = {"StateFile": state_file or self.state_path,
               "DryRun": bool(dry_run)}
        top.update(tuning)
        top.update(plugin_options or {})
        rs = {"BaseURL": rs_url or self.rs.base_url}
        if token is not None:
            rs["Token"] = token
            self.extra_secrets.append(token)
        if token_file is True:
            rs["TokenFile"] = write_secret(
                os.path.join(self.tmp, "runscope.token"), self.token)
        elif token_file:
            rs["TokenFile"] = token_file
        rs["Timeout"] = timeout
        rs.update(runscope_options or {})
        xm = {"BaseURL": xm_url or self.xm.base_url, "User": "runscope"}
        if password is not None:
            xm["Password"] = password
            self.extra_secrets.append(password)
        if password_file is True:
            xm["PasswordFile"] = write_secret(
                os.path.join(self.tmp, "xmatters.pass"), self.password)
        elif password_file:
            xm["PasswordFile"] = password_file
        xm["TestResultsTriggerURL"] = trigger_url or self.trigger_url()
        xm["Recipient"] = list(recipients or [])
        xm["Timeout"] = timeout
        xm.update(xmatters_options or {})
        out = ["", "<Plugin runscope>"] + render_options(top)
        out += ["  <Runscope>"] + render_options(rs, "    ") + ["  </Runscope>"]
        out += ["  <XMatters>"] + render_options(xm, "    ") + \
            ["  </XMatters>"]
        for b in buckets or []:
            if isinstance(b, str):
                b = {"key": b}
            out.append("  <Bucket %s>" % quote(b["key"]))
            out += render_options({"Test": list(b.get("tests") or []),
                                   "Environment": list(
                                       b.get("environments") or [])},
                                  "    ")
            out.append("  </Bucket>")
        out += ["  " + line for line in raw_lines or []]
        out.append("</Plugin>")
        return out

    # ----- the daemon

    def _command(self, flag, isolate_network):
        cmd = [COLLECTD, flag, "-C", self.conf_path]
        if isolate_network:
            # a network namespace with nothing in it: whatever the config
            # says, no packet can leave (not even to loopback)
            cmd = ["unshare", "--net"] + cmd
        return cmd

    def _open_console(self):
        if self._console is not None:
            self._console.close()
        self._console = open(self.console_path, "ab")
        self._console.write(("==== run %d\n" % self.runs).encode())
        self._console.flush()
        self.runs += 1
        return self._console

    def start(self, wait=True, isolate_network=False):
        """Starts `collectd -f -C conf` in the background. With wait, waits
        until the log says the read loop started (or collectd exited)."""
        assert self.proc is None or self.proc.poll() is not None, \
            "collectd is already running"
        self.proc = subprocess.Popen(
            self._command("-f", isolate_network), cwd=self.tmp,
            stdin=subprocess.DEVNULL, stdout=self._open_console(),
            stderr=subprocess.STDOUT, env=clean_env(self.extra_env))
        if wait:
            self.wait_for(lambda: "Initialization complete" in self.log(),
                          WAIT, "collectd to start")
        return self.proc

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=WAIT):
        """Waits for collectd to exit by itself; returns its exit status or
        fails the test."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("collectd still runs after %s s" % timeout)

    def stop(self, timeout=WAIT):
        """SIGTERM, then waits; returns the exit status (kills it and fails
        when it does not stop in time)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("collectd did not stop within %s s of "
                                     "SIGTERM" % timeout)
        return self.proc.returncode

    def kill(self):
        """kill -9 (for crash tests); returns the exit status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        return None if self.proc is None else self.proc.returncode

    def run_once(self, timeout=60, isolate_network=False):
        """Runs `collectd -T -C conf` (config, init, one read cycle,
        shutdown); returns (exit status, log and console output)."""
        log_before, console_before = len(self.log()), len(self.console())
        try:
            proc = subprocess.run(
                self._command("-T", isolate_network), cwd=self.tmp,
                stdin=subprocess.DEVNULL, stdout=self._open_console(),
                stderr=subprocess.STDOUT, env=clean_env(self.extra_env),
                timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("collectd -T did not finish within %s s"
                                 % timeout)
        return proc.returncode, (self.log()[log_before:] +
                                 self.console()[console_before:])

    # ----- output

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log(self):
        """The collectd log file (all runs so far)."""
        return self._read(self.log_path)

    def console(self):
        """What collectd printed on stdout/stderr (errors before the
        logfile plugin was configured go there)."""
        if self._console is not None:
            self._console.flush()
        return self._read(self.console_path)

    def output(self):
        return self.log() + self.console()

    def log_lines(self, pattern):
        """The log lines that match a regex."""
        return [line for line in self.log().splitlines()
                if re.search(pattern, line)]

    def tail(self, n=60):
        parts = []
        for title, text in (("collectd log", self.log()),
                            ("collectd console", self.console())):
            lines = text.splitlines()[-n:]
            parts.append("---- %s (%s, last %d lines)\n%s" % (
                title, self.tmp, len(lines), "\n".join(lines)))
        return "\n".join(parts)

    def assert_no_secrets(self):
        """Fails when the log or console output holds a secret."""
        text = self.output()
        for s in self.secrets:
            if s and s in text:
                raise AssertionError("a secret (%s...) appears in the "
                                     "collectd output" % s[:9])

    # ----- waiting

    def wait_for(self, predicate, timeout=WAIT, message="a condition",
                 interval=0.1, while_running=True):
        """Polls predicate until it returns something truthy (returned) or
        timeout seconds pass (AssertionError naming message). Fails early
        when collectd was started and has exited, unless while_running is
        False."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if while_running and self.proc is not None and \
                    self.proc.poll() is not None:
                value = predicate()
                if value:
                    return value
                raise AssertionError(
                    "collectd exited with status %s while waiting for %s"
                    % (self.proc.returncode, message))
            if time.monotonic() >= deadline:
                raise AssertionError("timed out after %.0f s waiting for %s"
                                     % (timeout, message))
            time.sleep(interval)

    def results_reads(self, test_id, after_seq=0):
        """The plugin's reads of a test's results list after a request log
        position."""
        return [r for r in self.rs.requests(
            "GET", r"/tests/%s/results$" % re.escape(test_id))
            if r["seq"] > after_seq]

    def cycle_reads(self, test_id, after_seq=0):
        """The reads that mark the plugin's cycles for a test after a
        request log position: its results reads, or, with E2E_TUNING=
        defaults (results are then read only on news), the first page of
        its bucket's tests list."""
        if "MaxResultAge" in TUNING:
            return self.results_reads(test_id, after_seq)
        with self.rs.lock:  # the fake's detail does not name its bucket
            bucket = self.rs._test_by_id[test_id]["bucket_key"]
        return [r for r in self.rs.requests(
            "GET", r"^/buckets/%s/tests$" % re.escape(str(bucket)))
            if r["seq"] > after_seq and r["params"].get("offset") in
            (None, "0")]

    def wait_run_processed(self, run, cycles=2, timeout=WAIT):
        """Waits until the plugin has read a run (a results answer carried
        it) and then read the test's results `cycles` more times, so that
        whatever it decided about the run has been done."""
        run_id, test_id = run["test_run_id"], run["test_id"]
        self.wait_for(lambda: self.rs.served(run_id) > 0, timeout,
                      "the plugin to read run %s" % run_id)
        seq = max([r["seq"] for r in self.rs.requests()] or [0])
        self.wait_for(lambda: len(self.cycle_reads(test_id, seq)) >=
                      cycles, timeout,
                      "%d more reads of the results of test %s"
                      % (cycles, test_id))

    def wait_cycles(self, test_id, cycles=2, timeout=WAIT):
        """Waits until the plugin read a test's results `cycles` more
        times from now."""
        seq = max([r["seq"] for r in self.rs.requests()] or [0])
        self.wait_for(lambda: len(self.cycle_reads(test_id, seq)) >=
                      cycles, timeout,
                      "%d more reads of the results of test %s"
                      % (cycles, test_id))

    # ----- xMatters views

    def csv_rows(self, plugin_instance, type_, type_instance):
        """The (time, value) rows, oldest first, that the csv plugin wrote
        for one value of the plugin (runscope-<plugin_instance>/
        <type>-<type_instance>-<date>)."""
        d = os.path.join(self.csv_dir, HOSTNAME,
                         "runscope-%s" % plugin_instance)
        pattern = re.compile(r"^%s-%s-\d{4}-\d{2}-\d{2}$" % (
            re.escape(type_), re.escape(type_instance)))
        rows = []
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if not pattern.match(f):
                continue
            with open(os.path.join(d, f)) as fh:
                for line in fh:
                    t, _, v = line.strip().partition(",")
                    if t and t != "epoch":
                        rows.append((float(t), float(v)))
        return sorted(rows)

    def trigger_calls(self):
        """The trigger calls xMatters received on this harness's URL."""
        return [t for t in self.xm.triggers()
                if t["function"] == self.function]

    # ----- teardown

    def cleanup(self):
        try:
            if self.running():
                try:
                    self.stop()
                except AssertionError:
                    pass
        finally:
            if self._console is not None:
                self._console.close()
                self._console = None
            for fake in (self.rs, self.xm):
                if fake is not None:
                    fake.stop()
            if os.environ.get("E2E_KEEP") != "1":
                shutil.rmtree(self.tmp, ignore_errors=True)


def event_key(ev):
    return ev["plain_properties"].get("runscope_key")


def runscope_key(bucket_key, test_id, environment_id):
    return "%s/%s/%s" % (bucket_key, test_id, environment_id)


class CollectdTestCase(unittest.TestCase):
    """A test with its own Harness (self.h) and fakes (self.rs, self.xm).

    After the test collectd is stopped and its output checked for the
    secrets; on failure the tail of its log is printed."""

    def setUp(self):
        self.h = Harness(self.id().split(".", 1)[-1])
        self.addCleanup(self._cleanup)
        self.rs, self.xm = self.h.start_fakes()

    def tearDown(self):
        if self.h.running():
            self.h.stop()
        self.h.assert_no_secrets()

    def _cleanup(self):
        self._tail = self.h.tail()
        self.h.cleanup()

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self._tail = None
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and \
                self._tail:
            sys.stderr.write("\n%s\n" % self._tail)
        return out
