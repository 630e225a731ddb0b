# SPDX-License-Identifier: MIT
"""A naive Runscope poller, for comparison: every cycle it asks every test
for its latest result (GET .../results/latest), four requests at a time
over kept-alive connections, as the plugin may.

    python3 naive.py --base-url URL --token-file F --interval 10 --out F.json

It lists the buckets and their tests once at start, then polls every
`interval` seconds until SIGTERM, and writes what it did as JSON: one entry
per cycle (start time, requests, duration) and, per run id, when it first
saw the run finished.
"""

import argparse
import http.client
import json
import os
import queue
import signal
import threading
import time
import urllib.parse

FINAL = ("pass", "fail", "cancelled")
PARALLEL = 4


class Client:
    """One kept-alive connection."""

    def __init__(self, base_url, token):
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port = u.hostname, u.port
        self.headers = {"Authorization": "Bearer " + token,
                        "User-Agent": "naive-poller/1"}
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        self.host, self.port, timeout=10)
                self.conn.request("GET", path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                return r.status, json.loads(body) if body else None
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        return None, None


def discover(client):
    tests = []
    _, buckets = client.get("/buckets")
    for b in buckets["data"]:
        offset = 0
        while True:
            _, page = client.get("/buckets/%s/tests?count=50&offset=%d"
                                 % (b["key"], offset))
            items = page["data"]
            tests += [(b["key"], t["id"]) for t in items]
            if len(items) < 50:
                break
            offset += 50
    return tests


def poll_cycle(clients, tests, seen):
    """Asks every test's latest result; returns the requests made."""
    work = queue.Queue()
    for t in tests:
        work.put(t)
    count = [0] * len(clients)
    lock = threading.Lock()

    def worker(i):
        c = clients[i]
        while True:
            try:
                bk, tid = work.get_nowait()
            except queue.Empty:
                return
            try:
                status, doc = c.get("/buckets/%s/tests/%s/results/latest"
                                    % (bk, tid))
            except (OSError, http.client.HTTPException):
                continue
            count[i] += 1
            if status != 200:
                continue
            run = doc["data"]
            if run.get("result") in FINAL:
                with lock:
                    seen.setdefault(run["test_run_id"], time.time())

    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--out", required=True)
    ns = ap.parse_args()
    with open(ns.token_file) as f:
        token = f.read().strip()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    clients = [Client(ns.base_url, token) for _ in range(PARALLEL)]
    t0 = time.time()
    tests = discover(clients[0])
    cycles = [{"start": t0, "requests": 0, "duration": time.time() - t0,
               "discovery": True}]
    seen = {}
    next_at = time.time()
    while not stop.is_set():
        start = time.time()
        n = poll_cycle(clients, tests, seen)
        cycles.append({"start": start, "requests": n,
                       "duration": time.time() - start})
        next_at += ns.interval
        if next_at < time.time():  # overran: start the next one now
            next_at = time.time()
        stop.wait(max(0, next_at - time.time()))
    tmp = ns.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"tests": len(tests), "cycles": cycles, "seen": seen}, f)
    os.replace(tmp, ns.out)


if __name__ == "__main__":
    main()
