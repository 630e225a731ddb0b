# SPDX-License-Identifier: MIT
"""The fake Runscope of the benchmark: T tests in B buckets whose runs
start on their schedules and finish a few seconds later.

It is tests/fakes/fake_runscope.py (same routes, shapes, token check and
trigger URLs) with the routes a poller uses every cycle served from
indexes kept up to date as runs come, with compact JSON, and with the
request log reduced to counters, so that the fake itself is not what the
benchmark measures at T = 5,000. What it records:

  - every API request: its client (by User-Agent: "collectd-runscope/..."
    or "naive-poller/..."), its kind and its time (kinds: buckets, bucket,
    tests (a page of the tests list), detail, results, latest, other);
  - for every run, when it finished and when each client was first
    answered with it finished (a results list, or results/latest);
  - the time spent answering API requests (to tell whether it keeps up).

Each test has one environment in one region and one schedule; the runs of
a test alternate fail and pass (its history starts with a pass), so every
finished run changes the test's verdict: a failure opens an xMatters
event, a pass closes it. The scheduler can be paused (no run starts):
pending ticks move by the pause.
"""

import bisect
import heapq
import json
import os
import random
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

import fake_runscope  # noqa: E402
import fake_xmatters  # noqa: E402
import fakebase  # noqa: E402

# Runscope's schedule intervals and the share of tests on each: mostly
# 15 minutes and hourly monitors, a few every 5 minutes, some every 6 h.
SCHEDULE_MIX = [("5m", 300, 0.10), ("15m", 900, 0.30), ("1h", 3600, 0.40),
                ("6h", 21600, 0.20)]

# How long a run works before it finishes (seconds, uniform).
RUN_DURATION = (2.0, 6.0)

CLIENTS = ("collectd", "naive", "other")


def client_of(headers):
    ua = headers.get("User-Agent", "")
    if ua.startswith("collectd-runscope/"):
        return "collectd"
    if ua.startswith("naive-poller/"):
        return "naive"
    return "other"


def compact(obj, status=200, headers=None):
    return fakebase.Response(
        status, json.dumps(obj, separators=(",", ":")).encode(), headers)


class BenchRunscope(fake_runscope.FakeRunscope):
    """The benchmark's fake Runscope (see the module docstring)."""

    name = "bench-runscope"

    def __init__(self, tests, buckets, token, seed=1, **options):
        self._n_tests = tests
        self._n_buckets = buckets
        self._rng = random.Random(seed)
        super().__init__(token=token, **options)

    # ----- data

    def _reset_data(self):
        super()._reset_data()
        self._counts = {c: {} for c in CLIENTS}
        self._times = {c: [] for c in CLIENTS}  # (time, kind)
        self._busy = 0.0       # seconds spent answering API requests
        self._served_n = 0
        self._finished_at = {}  # run id -> finish time
        self._seen = {c: {} for c in CLIENTS}  # run id -> first seen done
        self._started = {}     # run id -> (test id, start time)
        self._ticks = []       # heap of (next tick, test id)
        self._finishes = []    # heap of (finish time, run id)
        self._interval = {}    # test id -> schedule seconds
        self._results_n = {}   # test id -> runs finished so far
        self._paused_at = None
        self._stop = threading.Event()
        self._sched_thread = None

    def populate(self):
        """Adds the buckets, the tests (with a passing run each, one
        schedule interval or less ago) and their schedules."""
        now = time.time()
        per_bucket = [self._n_tests // self._n_buckets] * self._n_buckets
        for i in range(self._n_tests % self._n_buckets):
            per_bucket[i] += 1
        n = 0
        for b in range(self._n_buckets):
            key = "bench%04d" % b
            self.add_bucket(key, "Bench bucket %d" % b)
            for _ in range(per_bucket[b]):
                label, seconds = self._pick_schedule()
                t = self.add_test(
                    key, "Bench test %05d" % n,
                    environments=[{"name": "Production",
                                   "regions": ["us1"]}],
                    schedules=[{"environment": "Production",
                                "interval": label}],
                    created_at=1500000000 + n)
                n += 1
                self._interval[t["id"]] = seconds
                last = now - self._rng.uniform(0, seconds)
                run = self.add_run(key, t["id"], "Production", "pass",
                                   started_at=last, finished_at=last + 2)
                self._finished_at[run["test_run_id"]] = last + 2
                self._results_n[t["id"]] = 1
                heapq.heappush(self._ticks, (last + seconds, t["id"]))
        return self

    def _pick_schedule(self):
        x = self._rng.random()
        for label, seconds, share in SCHEDULE_MIX:
            if x < share:
                return label, seconds
            x -= share
        return SCHEDULE_MIX[-1][:2]

    # ----- the scheduler

    def start_scheduler(self, paused=True):
        self._paused_at = time.time() if paused else None
        self._sched_thread = threading.Thread(
            target=self._schedule_loop, name="bench-scheduler", daemon=True)
        self._sched_thread.start()

    def stop_scheduler(self):
        self._stop.set()
        if self._sched_thread is not None:
            self._sched_thread.join(5)

    def pause(self):
        with self.lock:
            if self._paused_at is None:
                self._paused_at = time.time()

    def resume(self):
        """Starts the runs again; every pending tick moves by the pause."""
        with self.lock:
            if self._paused_at is None:
                return
            shift = time.time() - self._paused_at
            self._ticks = [(t + shift, i) for t, i in self._ticks]
            heapq.heapify(self._ticks)
            self._paused_at = None

    def _schedule_loop(self):
        while not self._stop.wait(0.1):
            now = time.time()
            with self.lock:
                self._finish_due(now)
                if self._paused_at is None:
                    self._start_due(now)

    def _start_due(self, now):
        while self._ticks and self._ticks[0][0] <= now:
            tick, test_id = heapq.heappop(self._ticks)
            t = self._test_by_id[test_id]
            run = self._new_run(t, t["environments"][0], "working", "us1",
                                None, started_at=now)
            self._started[run["test_run_id"]] = (test_id, now)
            heapq.heappush(self._finishes,
                           (now + self._rng.uniform(*RUN_DURATION),
                            run["test_run_id"]))
            heapq.heappush(self._ticks, (tick + self._interval[test_id],
                                         test_id))

    def _finish_due(self, now):
        while self._finishes and self._finishes[0][0] <= now:
            _, run_id = heapq.heappop(self._finishes)
            run = self._run_by_id[run_id]
            k = self._results_n[run["test_id"]]
            self._results_n[run["test_id"]] = k + 1
            result = "fail" if k % 2 == 1 else "pass"
            self.finish_run(run_id, result, finished_at=now)
            self._finished_at[run_id] = now

    # ----- what the benchmark reads

    def snapshot(self):
        """Counters, request times and run times, copied."""
        with self.lock:
            return {
                "counts": {c: dict(v) for c, v in self._counts.items()},
                "times": {c: list(v) for c, v in self._times.items()},
                "busy": self._busy, "served": self._served_n,
                "finished_at": dict(self._finished_at),
                "started": dict(self._started),
                "seen": {c: dict(v) for c, v in self._seen.items()},
            }

    # ----- request handling: counters instead of the full log

    def _record(self, req):
        return {"seq": 0, "status": None, "fault": None}

    def _serve(self, handler, req):
        if req.path.startswith("/_control/"):
            return super()._serve(handler, req)
        t0 = time.perf_counter()
        client = client_of(req.headers)
        kind = self._kind(req.path)
        super()._serve(handler, req)
        spent = time.perf_counter() - t0
        with self.lock:
            self._busy += spent
            self._served_n += 1
            c = self._counts[client]
            c[kind] = c.get(kind, 0) + 1
            if client == "collectd":
                self._times[client].append((time.time(), kind))

    @staticmethod
    def _kind(path):
        parts = path.strip("/").split("/")
        if parts == ["buckets"]:
            return "buckets"
        if len(parts) == 2 and parts[0] == "buckets":
            return "bucket"
        if len(parts) == 3 and parts[2] == "tests":
            return "tests"
        if len(parts) == 4 and parts[2] == "tests":
            return "detail"
        if len(parts) == 5 and parts[4] == "results":
            return "results"
        if len(parts) == 6 and parts[5] == "latest":
            return "latest"
        return "other"

    def _mark_seen(self, req, runs):
        seen = self._seen[client_of(req.headers)]
        now = time.time()
        for r in runs:
            if r["result"] in fake_runscope.FINAL_RESULTS and \
                    r["test_run_id"] not in seen:
                seen[r["test_run_id"]] = now

    # ----- the routes a poller uses every cycle, from indexes

    def _runs_of(self, test_id):
        """The runs of a test, oldest first (they are added in order)."""
        return self._runs.get(test_id, [])

    def _sorted_runs(self, test_id):
        """Newest first, as the base fake sorts them (last_run uses it)."""
        return self._runs.get(test_id, [])[::-1]

    _api = fake_runscope.FakeRunscope._api  # token check and lock

    @_api
    def _r_tests(self, req, m):
        tests = self._tests.get(m["bucket"])
        if tests is None:
            return self._unknown("Bucket")
        count = max(1, min(int(req.params.get("count") or 10),
                           int(self.options["tests_max"])))
        offset = max(0, int(req.params.get("offset") or 0))
        # newest first: the tests are added in creation order
        page = tests[::-1][offset:offset + count]
        return compact(fake_runscope.envelope(
            [self._test_item(t) for t in page]))

    @_api
    def _r_test(self, req, m):
        t, err = self._test_of(m)
        return err or compact(fake_runscope.envelope(self._test_detail(t)))

    @_api
    def _r_results(self, req, m):
        t, err = self._test_of(m)
        if err:
            return err
        count = max(1, min(int(req.params.get("count") or 10),
                           int(self.options["results_max"])))
        since = req.params.get("since")
        before = req.params.get("before")
        runs = self._runs_of(t["id"])
        starts = [r["started_at"] for r in runs]
        lo = bisect.bisect_right(starts, float(since)) if since else 0
        hi = bisect.bisect_left(starts, float(before)) if before else \
            len(runs)
        page = runs[lo:hi][::-1][:count]
        self._mark_seen(req, page)
        return compact(fake_runscope.envelope(
            [self._public_run(r) for r in page]))

    @_api
    def _r_latest(self, req, m):
        t, err = self._test_of(m)
        if err:
            return err
        runs = self._runs_of(t["id"])
        if not runs:
            return self._unknown("Test run")
        self._mark_seen(req, runs[-1:])
        return compact(fake_runscope.envelope(self._run_detail(runs[-1])))


class BenchXMatters(fake_xmatters.FakeXMatters):
    """The fake xMatters, under its own thread name."""

    name = "bench-xmatters"


def new_token():
    return "bench-token-" + uuid.uuid4().hex[:16]
