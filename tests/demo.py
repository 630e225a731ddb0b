#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make demo`: the plugin at work, in a story a newcomer can follow.

It starts a fake Runscope and a fake xMatters on 127.0.0.1, writes a demo
config into a temp dir, starts collectd in the foreground (`collectd -f`)
with build/runscope.so, echoes collectd's log, and plays this story:

    Runscope: test 'Checkout API' in 'Production' failed (run ...)
    xMatters: event ... created for ...
    Runscope: the test passed (run ...)
    xMatters: event ... terminated

Then it keeps everything running until Ctrl-C (with --once it stops at the
end of the story, for CI). Ctrl-C or SIGTERM stop collectd and the fakes,
also on errors. The exit status is non-zero when a step did not happen in
time (--step-timeout, default 60 s).
"""

import argparse
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e"))

import harness  # noqa: E402

BUCKET = "demo1bucket0"


def say(text):
    print("==> " + text, flush=True)


class LogEcho(threading.Thread):
    """Prints the lines collectd appends to its log, indented."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.stopping = threading.Event()

    def run(self):
        pos = 0
        while not self.stopping.is_set():
            pos = self.echo(pos)
            self.stopping.wait(0.2)
        self.echo(pos)

    def echo(self, pos):
        try:
            with open(self.path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            return pos
        end = data.rfind(b"\n") + 1
        for line in data[:end].decode("utf-8", "replace").splitlines():
            print("    collectd | " + line, flush=True)
        return pos + end

    def stop(self):
        self.stopping.set()
        self.join(5)


def story(h, rs, xm, timeout):
    rs.add_bucket(BUCKET, "Shop")
    test = rs.add_test(BUCKET, "Checkout API", environments=[
        {"name": "Production", "regions": ["us1"]}])
    env = test["environments"][0]
    key = harness.runscope_key(BUCKET, test["id"], env["id"])
    rs.add_run(BUCKET, test["id"], "Production", "pass",
               started_at=time.time() - 60)

    say("Starting collectd in the foreground: %s -f -C %s"
        % (harness.COLLECTD, h.conf_path))
    h.start(wait=False)
    h.wait_for(lambda: "Initialization complete" in h.log(), timeout,
               "collectd to start")
    h.wait_for(lambda: h.results_reads(test["id"]), timeout,
               "collectd to poll Runscope")
    say("collectd polls Runscope every second. 'Checkout API' passes in "
        "'Production': nobody is paged.")

    run = rs.add_run(BUCKET, test["id"], "Production", "fail",
                     started_at=time.time())
    say("Runscope: test 'Checkout API' in 'Production' failed (run %s)"
        % run["test_run_id"])
    ev = h.wait_for(lambda: xm.events(status="ACTIVE", key=key), timeout,
                    "the xMatters event for the failure")[0]
    options = [o.get("text") for o in ev["responseOptions"]]
    say("xMatters: event %s created for 'Checkout API' in 'Production' "
        "(runscope_key %s), responses: %s"
        % (ev["eventId"], key, ", ".join(map(str, options)) or "none"))

    h.wait_run_processed(run, cycles=2, timeout=timeout)
    run2 = rs.add_run(BUCKET, test["id"], "Production", "fail",
                      started_at=time.time())
    say("Runscope: it failed again (run %s)" % run2["test_run_id"])
    h.wait_run_processed(run2, cycles=2, timeout=timeout)
    n = len(xm.events(key=key))
    if n != 1:
        raise AssertionError("%d xMatters events for one failing test" % n)
    say("xMatters: still the one event %s: no second page while it is "
        "open" % ev["eventId"])

    run3 = rs.add_run(BUCKET, test["id"], "Production", "pass",
                      started_at=time.time())
    say("Runscope: the test passed (run %s)" % run3["test_run_id"])
    h.wait_for(lambda: xm.event(ev["id"])["status"] == "TERMINATED",
               timeout, "the xMatters event to be terminated")
    say("xMatters: event %s terminated" % ev["eventId"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--once", action="store_true",
                    help="play the story and exit (CI smoke test)")
    ap.add_argument("--quiet", action="store_true",
                    help="do not echo collectd's log")
    ap.add_argument("--step-timeout", type=float, default=60.0,
                    help="seconds each step may take (default 60)")
    args = ap.parse_args(argv)

    if not harness.collectd_available():
        print("demo: %s is not installed (make deps)" % harness.COLLECTD,
              file=sys.stderr)
        return 2
    if not harness.plugin_available():
        print("demo: %s is missing (make)" % harness.PLUGIN_SO,
              file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt
    # also SIGINT: a shell may have started us with it ignored
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    h = harness.Harness("demo")
    echo = None
    rc = 0
    try:
        rs, xm = h.start_fakes()
        say("Fake Runscope API on %s, fake xMatters on %s (temp dir %s)"
            % (rs.base_url, xm.base_url, h.tmp))
        h.write_config(buckets=[BUCKET], log_level="info")
        if not args.quiet:
            echo = LogEcho(h.log_path)
            echo.start()
        story(h, rs, xm, args.step_timeout)
        if args.once:
            say("The story is over (--once): stopping.")
        else:
            say("The story is over. collectd and the fakes keep running: "
                "add runs with POST %s/_control/buckets/%s/tests/"
                "Checkout%%20API/runs {\"result\": \"fail\"}, see events at "
                "%s/_control/events. Ctrl-C stops everything."
                % (rs.base_url, BUCKET, xm.base_url))
            while h.running():
                time.sleep(0.5)
            raise AssertionError("collectd exited with status %s"
                                 % h.proc.returncode)
    except KeyboardInterrupt:
        say("Interrupted: stopping collectd and the fakes.")
        rc = 130
    except AssertionError as e:
        print("demo: FAILED: %s" % e, file=sys.stderr)
        if args.quiet:
            print(h.tail(), file=sys.stderr)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            status = h.stop() if h.running() else None
            if status not in (None, 0):
                print("demo: collectd exited with status %s" % status,
                      file=sys.stderr)
                rc = rc or 1
        except AssertionError as e:
            print("demo: %s" % e, file=sys.stderr)
            rc = rc or 1
        if echo is not None:
            echo.stop()
        h.cleanup()
    if rc == 0:
        say("collectd and the fakes are stopped.")
    return rc


if __name__ == "__main__":
    sys.exit(main())
