#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Installed-package test: the .deb as a user gets it, on this machine.

Run by `make pkgtest` (part of `make check`) after `make deb`, as root on
Debian or Ubuntu; it changes the system and puts it back:

 1. apt-get installs collectd (for Debian's /etc/collectd/collectd.conf,
    which includes /etc/collectd/collectd.conf.d) when it is missing, then
    ./build/collectd-runscope_*.deb; a policy-rc.d that answers 101 keeps
    every package from starting a daemon meanwhile;
 2. checks the installed files: the plugin, the conffile with every line
    commented, the man page, the docs, the state directory (0750 root);
 3. starts the fake Runscope and xMatters (tests/fakes) on 127.0.0.1 with a
    bucket whose test has one failed run, and fills in the placeholders of
    the installed /etc/collectd/collectd.conf.d/runscope.conf to point at
    them, as a user edits it (plus Interval 1 and MaxResultAge 1, so that
    the test sees several poll cycles in seconds);
 4. starts collectd as the system does, `collectd -f -C
    /etc/collectd/collectd.conf`, with the distribution's default plugins.
    One addition: /etc/collectd/collectd.conf.d/00-pkgtest-logfile.conf
    sends the log to a file as well (Debian's config logs to syslog only).
    When a default plugin cannot load on this machine, collectd refuses the
    whole configuration; the test then says so and runs again with a copy
    of collectd.conf whose default LoadPlugin lines are commented out;
 5. sees the failed run become exactly one xMatters event, still one after
    more poll cycles, and the plugin's start-up line report the VERSION
    file's version; stops collectd;
 6. apt-get remove: nothing of the package is left but the edited conffile
    and the state directory with state.json; apt-get purge: those are gone.

Afterwards the machine is as it was: the package purged, the packages this
test installed purged again, collectd's files under /var/lib/collectd that
this run created deleted, policy-rc.d restored (or removed), the log
snippet and the temp dir deleted. It refuses to run when collectd-runscope
is already installed or a collectd service is running.

Not root, or no dpkg/apt-get: it prints SKIP and exits 0.
"""

import contextlib
import fcntl
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "fakes"))

import fake_runscope  # noqa: E402
import fake_xmatters  # noqa: E402

PACKAGE = "collectd-runscope"
COLLECTD = "/usr/sbin/collectd"
COLLECTD_CONF = "/etc/collectd/collectd.conf"
CONF_D = "/etc/collectd/collectd.conf.d"
CONFFILE = CONF_D + "/runscope.conf"
LOG_SNIPPET = CONF_D + "/00-pkgtest-logfile.conf"
STATE_DIR = "/var/lib/collectd/runscope"
STATE_FILE = STATE_DIR + "/state.json"
COLLECTD_VAR = "/var/lib/collectd"
POLICY_RC_D = "/usr/sbin/policy-rc.d"
SERVICE_PIDFILES = ("/run/collectd.pid", "/var/run/collectd.pid")
LOCK_FILE = "/run/lock/collectd-runscope-pkgtest.lock"

EXPECTED_PATHS = {
    "/usr/lib/collectd/runscope.so": "file",
    CONFFILE: "file",
    "/usr/share/man/man5/collectd-runscope.5.gz": "file",
    "/usr/bin/runscopectl": "file",
    "/usr/share/man/man1/runscopectl.1.gz": "file",
    "/usr/share/doc/collectd-runscope/README.md.gz": "file",
    "/usr/share/doc/collectd-runscope/copyright": "file",
    STATE_DIR: "dir",
}

BUCKET = "pkgtest" + secrets.token_hex(4)
TEST_NAME = "Checkout API"
ENV_NAME = "Production"
FUNCTION = str(uuid.uuid4())
WAIT = float(os.environ.get("PKGTEST_WAIT", "60"))
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]

T0 = time.monotonic()


class Failure(Exception):
    pass


def say(msg):
    print("pkgtest [%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(cmd, check_rc=True, env=None, quiet=False):
    """Runs a command; returns its output (stdout and stderr). Fails with
    the output when it exits non-zero and check_rc is set."""
    if not quiet:
        say("$ " + " ".join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, env=env,
                       universal_newlines=True)
    if check_rc and p.returncode != 0:
        raise Failure("%s exited with %d:\n%s" % (" ".join(cmd),
                                                  p.returncode, p.stdout))
    return p.stdout if check_rc else (p.returncode, p.stdout)


def dpkg_status(pkg):
    """dpkg's two-letter status of a package ("ii", "rc", ...), or "" when
    dpkg does not know it."""
    rc, out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg],
                  check_rc=False, quiet=True)
    return out.strip() if rc == 0 else ""


def installed_packages():
    out = run(["dpkg-query", "-W",
               "-f=${binary:Package} ${db:Status-Abbrev}\n"],
              quiet=True)
    return {line.split()[0] for line in out.splitlines()
            if len(line.split()) > 1 and line.split()[1] == "ii"}


def owned_by_a_package(path):
    rc, _ = run(["dpkg-query", "-S", path], check_rc=False, quiet=True)
    return rc == 0


def tree(root):
    """Every path under root (root included), or an empty set."""
    out = set()
    if not os.path.lexists(root):
        return out
    out.add(root)
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.join(d, n))
    return out


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def write(path, text, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def wait_for(pred, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            value = pred()
            if value:
                return value
            raise Failure("collectd exited with %s while waiting for %s"
                          % (proc.returncode, what))
        if time.monotonic() > deadline:
            raise Failure("timed out after %.0f s waiting for %s"
                          % (timeout, what))
        time.sleep(0.2)


def clean_env():
    """collectd's environment: no proxy whatsoever (the fakes are on
    loopback)."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "*"
    return env


def quote(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


# ----- the user's edit of the installed runscope.conf

def fill_config(text, values, block_args, extra_after):
    """The installed (all commented) runscope.conf with its configuration
    uncommented and the placeholders replaced.

    values: {(block, key): value}; block_args: {block: argument} for
    <Bucket "...">; extra_after: {(block, key): [lines]} inserted after
    that key. Each must match exactly once, else Failure (the shipped
    file no longer looks as this test expects)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"#\s*<LoadPlugin runscope>", line)), None)
    check(start is not None, "runscope.conf has no '#<LoadPlugin runscope>'")
    out = lines[:start]
    stack = []
    hits = {k: 0 for k in list(values) + list(block_args)}
    for line in lines[start:]:
        line = line[1:] if line.startswith("#") else line
        s = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        m_close = re.match(r"</(\w+)>", s)
        m_open = re.match(r"<(\w+)(\s+[^>]*)?>", s)
        m_key = re.match(r"(\w+)\s+\S", s)
        if m_close:
            check(stack and stack[-1] == m_close.group(1),
                  "runscope.conf: unbalanced %s" % s)
            stack.pop()
        elif m_open:
            name = m_open.group(1)
            stack.append(name)
            if name in block_args:
                line = "%s<%s %s>" % (indent, name, quote(block_args[name]))
                hits[name] += 1
        elif m_key and stack:
            key = (stack[-1], m_key.group(1))
            if key in values:
                line = "%s%s %s" % (indent, key[1], quote(values[key]))
                hits[key] += 1
            out.append(line)
            out += [indent + extra for extra in extra_after.get(key, [])]
            continue
        out.append(line)
    check(not stack, "runscope.conf: unclosed <%s>" % "> <".join(stack))
    wrong = {k: n for k, n in hits.items() if n != 1}
    check(not wrong, "runscope.conf: placeholders not found exactly once "
          "(found %s): update tests/pkg to the shipped file" % wrong)
    return "\n".join(out) + "\n"


class PkgTest:
    def __init__(self, stack):
        self.stack = stack
        self.tmp = tempfile.mkdtemp(prefix="collectd-runscope-pkgtest-")
        stack.callback(shutil.rmtree, self.tmp, ignore_errors=True)
        self.log_path = os.path.join(self.tmp, "collectd.log")
        self.console_path = os.path.join(self.tmp, "console.log")
        self.token = "rs-token-" + secrets.token_hex(12)
        self.password = "xm-pass-" + secrets.token_hex(12)
        self.api_key = "xm-apikey-" + secrets.token_hex(12)
        self.proc = None
        self.conf = COLLECTD_CONF
        self.version = read(os.path.join(REPO, "VERSION")).strip()
        debs = glob.glob(os.path.join(REPO, "build",
                                      "%s_*.deb" % PACKAGE))
        check(len(debs) == 1, "want exactly one build/%s_*.deb (make deb), "
              "found %s" % (PACKAGE, debs))
        self.deb = debs[0]

    # ----- machine state

    def preflight(self):
        status = dpkg_status(PACKAGE)
        check(status in ("", "un", "pn"),
              "%s is already on this machine (dpkg status %r); this test "
              "installs and purges it. Remove it first: apt-get purge %s"
              % (PACKAGE, status, PACKAGE))
        check(not os.path.lexists(CONFFILE),
              "%s exists but belongs to no installed %s; move it away "
              "first" % (CONFFILE, PACKAGE))
        for pidfile in SERVICE_PIDFILES:
            pid = read(pidfile).strip()
            if pid.isdigit() and os.path.exists("/proc/%s" % pid):
                raise Failure("a collectd service runs here (pid %s in %s); "
                              "this test would start a second one with the "
                              "same configuration" % (pid, pidfile))
        self.packages_before = installed_packages()
        self.var_before = tree(COLLECTD_VAR)

    def no_daemon_starts(self):
        """policy-rc.d answering 101 while packages are (un)installed;
        the original, if any, comes back afterwards."""
        saved = None
        if os.path.lexists(POLICY_RC_D):
            with open(POLICY_RC_D, "rb") as f:
                st = os.stat(POLICY_RC_D)
                saved = (f.read(), st.st_mode & 0o7777,
                         (st.st_atime_ns, st.st_mtime_ns))

        def restore():
            if saved is None:
                os.unlink(POLICY_RC_D)
            else:
                with open(POLICY_RC_D, "wb") as f:
                    f.write(saved[0])
                os.chmod(POLICY_RC_D, saved[1])
                os.utime(POLICY_RC_D, ns=saved[2])
        write(POLICY_RC_D, "#!/bin/sh\n# collectd-runscope pkgtest: no "
              "daemon starts while it installs packages.\nexit 101\n", 0o755)
        self.stack.callback(restore)

    def restore_packages(self):
        """Purges what this run installed (collectd-runscope included, when
        a failure left it)."""
        if dpkg_status(PACKAGE) not in ("", "un", "pn"):
            run(APT + ["purge", PACKAGE], check_rc=False, env=APT_ENV)
        new = sorted(installed_packages() - self.packages_before)
        if new:
            say("purging what this test installed: %s" % " ".join(new))
            run(APT + ["purge"] + new, env=APT_ENV)

    def restore_var(self):
        """Deletes what collectd wrote under /var/lib/collectd (the rrdtool
        files of the default configuration) during this run."""
        new = sorted(tree(COLLECTD_VAR) - self.var_before, reverse=True)
        for path in new:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        if new:
            say("deleted %d paths collectd created under %s"
                % (len(new), COLLECTD_VAR))

    # ----- install

    def install(self):
        if dpkg_status("collectd") != "ii":
            rc, out = run(["apt-cache", "policy", "collectd"],
                          check_rc=False, quiet=True)
            if "Candidate: (none)" in out or rc != 0:
                run(APT + ["update"], env=APT_ENV)
            run(APT + ["install", "--no-install-recommends", "collectd"],
                env=APT_ENV)
        check(os.path.isfile(COLLECTD_CONF), "%s missing after installing "
              "collectd" % COLLECTD_CONF)
        run(APT + ["install", self.deb], env=APT_ENV)
        check(dpkg_status(PACKAGE) == "ii", "%s not installed" % PACKAGE)
        version = run(["dpkg-query", "-W", "-f=${Version}", PACKAGE],
                      quiet=True).strip()
        check(version == self.version, "installed version %s, VERSION file "
              "says %s" % (version, self.version))
        say("installed %s %s" % (PACKAGE, version))

    def check_installed_files(self):
        # dpkg -L starts with "/.", the root of the package's tree
        self.listed = [p for p in run(["dpkg", "-L", PACKAGE],
                                      quiet=True).splitlines()
                       if p and os.path.normpath(p) != "/"]
        for path, kind in EXPECTED_PATHS.items():
            check(path in self.listed, "dpkg -L lacks %s" % path)
            check(os.path.isdir(path) if kind == "dir"
                  else os.path.isfile(path), "%s is not a %s" % (path, kind))
        st = os.stat(STATE_DIR)
        check((st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o750, 0, 0),
              "%s: mode %o uid %d gid %d, want 0750 root:root"
              % (STATE_DIR, st.st_mode & 0o7777, st.st_uid, st.st_gid))
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE],
                        quiet=True)
        check(CONFFILE in conffiles.split(), "%s is not a conffile: %r"
              % (CONFFILE, conffiles))
        live = [line for line in read(CONFFILE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
        check(not live, "the installed %s has uncommented lines: %s"
              % (CONFFILE, live))
        say("installed files as expected; %s is all comments" % CONFFILE)

    # ----- fakes and the user's configuration

    def start_fakes(self):
        self.rs = fake_runscope.FakeRunscope(token=self.token).start()
        self.stack.callback(self.rs.stop)
        self.xm = fake_xmatters.FakeXMatters(
            user="runscope", password=self.password,
            functions={FUNCTION: self.api_key}).start()
        self.stack.callback(self.xm.stop)
        self.rs.add_bucket(BUCKET, "Shop")
        self.test = self.rs.add_test(BUCKET, TEST_NAME, environments=[
            {"name": ENV_NAME, "regions": ["us1"]}])
        env = self.test["environments"][0]
        self.key = "%s/%s/%s" % (BUCKET, self.test["id"], env["id"])
        self.run = self.rs.add_run(BUCKET, self.test["id"], ENV_NAME, "fail")
        say("fakes on %s and %s; failed run %s of %s"
            % (self.rs.base_url, self.xm.base_url,
               self.run["test_run_id"], self.key))

    def edit_config(self):
        token_file = os.path.join(self.tmp, "runscope.token")
        password_file = os.path.join(self.tmp, "xmatters.pass")
        write(token_file, self.token + "\n", 0o600)
        write(password_file, self.password + "\n", 0o600)
        values = {
            ("LoadPlugin", "Interval"): 1,
            ("Plugin", "StateFile"): STATE_FILE,
            ("Plugin", "DryRun"): False,
            ("Runscope", "BaseURL"): self.rs.base_url,
            ("Runscope", "TokenFile"): token_file,
            ("XMatters", "BaseURL"): self.xm.base_url,
            ("XMatters", "User"): "runscope",
            ("XMatters", "PasswordFile"): password_file,
            ("XMatters", "TestResultsTriggerURL"):
                self.xm.trigger_url(FUNCTION),
            ("XMatters", "Recipient"): "api-oncall",
            ("Bucket", "Test"): TEST_NAME,
            ("Bucket", "Environment"): ENV_NAME,
        }
        self.edited = fill_config(
            read(CONFFILE), values, {"Bucket": BUCKET},
            {("Plugin", "StateFile"): ["MaxResultAge 1"]})
        write(CONFFILE, self.edited)
        write(LOG_SNIPPET, "# collectd-runscope pkgtest: the log in a file "
              "too (deleted after the test)\nLoadPlugin logfile\n"
              "<Plugin logfile>\n  LogLevel info\n  File %s\n"
              "  Timestamp true\n  PrintSeverity true\n</Plugin>\n"
              % quote(self.log_path))
        self.stack.callback(os.unlink, LOG_SNIPPET)
        say("filled in %s; log snippet %s" % (CONFFILE, LOG_SNIPPET))

    # ----- collectd

    def start_collectd(self):
        self.proc = self._spawn()
        started = self._wait_started()
        if not started:
            first = read(self.console_path)
            default = [line for line in read(COLLECTD_CONF).splitlines()
                       if re.match(r"LoadPlugin\s+\w+\s*$", line)]
            say("NOTE: collectd refused %s on this machine:\n%s\n"
                "Running again with a copy whose default LoadPlugin lines "
                "(%s) are commented out; it still includes %s."
                % (COLLECTD_CONF, first.strip(),
                   ", ".join(line.split()[1] for line in default), CONF_D))
            self.conf = os.path.join(self.tmp, "collectd.conf")
            write(self.conf, "".join(
                "#" + line if re.match(r"LoadPlugin\s+\w+\s*$", line)
                else line for line in
                read(COLLECTD_CONF).splitlines(True)))
            self.proc = self._spawn()
            check(self._wait_started(), "collectd did not start:\n%s"
                  % self.tail())
        say("collectd -f -C %s runs (pid %d)" % (self.conf, self.proc.pid))

    def _spawn(self):
        console = open(self.console_path, "wb")
        self.stack.callback(console.close)
        proc = subprocess.Popen([COLLECTD, "-f", "-C", self.conf], cwd="/",
                                stdin=subprocess.DEVNULL, stdout=console,
                                stderr=subprocess.STDOUT, env=clean_env())
        self.stack.callback(self._kill, proc)
        return proc

    def _wait_started(self):
        """True once collectd entered its read loop, False when it exited
        before (a configuration it refused)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if "Initialization complete" in read(self.log_path):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        raise Failure("collectd did not start within %.0f s:\n%s"
                      % (WAIT, self.tail()))

    @staticmethod
    def _kill(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)

    def stop_collectd(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise Failure("collectd still runs %.0f s after SIGTERM" % WAIT)
        check(rc == 0, "collectd exited with %d:\n%s" % (rc, self.tail()))
        check("Exiting normally" in read(self.log_path),
              "collectd did not log 'Exiting normally'")
        say("collectd stopped (exit 0)")

    def tail(self, n=40):
        return "---- %s\n%s\n---- %s\n%s" % (
            self.log_path, "\n".join(read(self.log_path).splitlines()[-n:]),
            self.console_path,
            "\n".join(read(self.console_path).splitlines()[-n:]))

    # ----- what the plugin did

    def results_reads(self):
        return len(self.rs.requests(
            "GET", r"/tests/%s/results$" % re.escape(self.test["id"])))

    def check_one_event(self):
        events = wait_for(lambda: self.xm.events(status="ACTIVE",
                                                 key=self.key),
                          WAIT, "an xMatters event for %s" % self.key,
                          self.proc)
        say("event %s for %s" % (events[0]["eventId"], self.key))
        reads = self.results_reads()
        wait_for(lambda: self.results_reads() >= reads + 3, WAIT,
                 "three more poll cycles", self.proc)
        events = self.xm.events(key=self.key)
        triggers = [t for t in self.xm.triggers()
                    if t["function"] == FUNCTION]
        check(len(events) == 1 and events[0]["status"] == "ACTIVE",
              "want one ACTIVE event for %s, have %s" % (
                  self.key, [(e["eventId"], e["status"]) for e in events]))
        check(len(triggers) == 1, "want one trigger call, have %d"
              % len(triggers))
        props = events[0]["plain_properties"]
        check(props.get("runscope_key") == self.key,
              "event property runscope_key is %r" % props.get("runscope_key"))
        say("one event, one trigger call after three more poll cycles")

        log = read(self.log_path)
        check(re.search(r'plugin_load: plugin "runscope" successfully loaded',
                        log + read(self.console_path)) or
              "runscope plugin:" in log,
              "no sign of the runscope plugin in the log")
        versions = re.findall(r"runscope plugin: version ([^\s:]+)", log)
        check(versions == [self.version], "the plugin's start-up line "
              "reports %s, the VERSION file says %s" % (versions,
                                                        self.version))
        say("log: runscope plugin: version %s" % versions[0])
        out = log + read(self.console_path)
        for s in (self.token, self.password, self.api_key):
            check(s not in out, "a secret (%s...) is in collectd's output"
                  % s[:9])
        check(os.path.isfile(STATE_FILE), "%s was not written" % STATE_FILE)

    # ----- remove and purge

    def remove(self):
        run(APT + ["remove", PACKAGE], env=APT_ENV)
        check(dpkg_status(PACKAGE) == "rc", "after remove: dpkg status %r, "
              "want rc" % dpkg_status(PACKAGE))
        left = []
        for path in self.listed:
            if path in (CONFFILE, STATE_DIR) or not os.path.lexists(path):
                continue
            if os.path.isdir(path) and owned_by_a_package(path):
                continue
            left.append(path)
        check(not left, "after remove, left behind: %s" % left)
        check(read(CONFFILE) == self.edited,
              "after remove, the edited %s is gone or changed" % CONFFILE)
        check(os.path.isfile(STATE_FILE),
              "after remove, %s is gone" % STATE_FILE)
        say("removed: only the edited conffile and %s remain" % STATE_DIR)

        run(APT + ["purge", PACKAGE], env=APT_ENV)
        check(dpkg_status(PACKAGE) in ("", "un", "pn"),
              "after purge: dpkg status %r" % dpkg_status(PACKAGE))
        for path in (CONFFILE, STATE_DIR):
            check(not os.path.lexists(path), "after purge, %s exists" % path)
        left = [p for p in self.listed if os.path.lexists(p)
                and not (os.path.isdir(p) and owned_by_a_package(p))]
        check(not left, "after purge, left behind: %s" % left)
        say("purged: nothing of %s is left" % PACKAGE)


def main():
    if os.geteuid() != 0 or not shutil.which("apt-get") or \
            not shutil.which("dpkg"):
        print("pkgtest: SKIP: needs root on Debian or Ubuntu (it installs "
              "the package with apt-get)")
        return 0
    os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    print("pkgtest: another pkgtest holds %s" % LOCK_FILE)
                    return 1
                time.sleep(1)
        failed = False
        with contextlib.ExitStack() as stack:
            # Undone in reverse: collectd stopped, fakes stopped, packages
            # purged, /var/lib/collectd cleaned, policy-rc.d restored.
            t = None
            try:
                t = PkgTest(stack)
                t.preflight()
                t.no_daemon_starts()
                stack.callback(t.restore_var)
                stack.callback(t.restore_packages)
                t.install()
                t.check_installed_files()
                t.start_fakes()
                t.edit_config()
                t.start_collectd()
                t.check_one_event()
                t.stop_collectd()
                t.remove()
            except Failure as e:
                failed = True
                print("pkgtest: FAIL: %s" % e, flush=True)
                if t is not None and t.proc is not None:
                    print(t.tail(), flush=True)
    say("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
