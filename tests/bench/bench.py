# SPDX-License-Identifier: MIT
"""make bench: how many requests the plugin asks of Runscope, against a
naive poller, at T = 100, 1,000 and 5,000 tests.

For each size the fake Runscope (bench_fake.py) serves T tests in B
buckets whose runs start on their schedules and finish a few seconds
later; the real collectd daemon with build/runscope.so polls it, and the
naive poller (naive.py: every test's latest result every cycle) polls the
same fake at the same time. Phases, in poll cycles of the plugin:

  warm-up  no run starts; until the plugin has read what it needs (two
           cycles in a row ask nothing but the tests lists);
  idle     no run starts, IDLE cycles: what a cycle costs when nothing
           happens;
  busy     runs start on their schedules, BUSY cycles;
  drain    no run starts, 2 cycles: the runs that finished late in the
           busy phase are read.

Reported per size: Runscope requests per idle and per busy cycle (plugin
and naive), requests per detected run, detection latency p50/p95 (a run's
finish in the fake to the xMatters trigger of the plugin, or to the naive
poller's first sight of it finished), runs missed, CPU seconds of the
collectd process per idle and busy cycle (the sum of its threads'
/proc/PID/task/TID/schedstat, in ns; /proc/PID/stat's ticks of 10 ms when
a thread ended between the samples), and its peak
RSS (VmHWM) against collectd without the plugin. Each target is printed
with its figure; the benchmark does not fail on them. Results go to
build/bench/: results.json, table.md and bench.png.

Before the sizes, a few seconds of CPU: the tests list read by its fast
path and by json-c's tree on the same generated page (parse_tests.c,
built by make bench): milliseconds per page and their ratio, in
results.json as "parse". `bench.py --parse` runs only that part.

Then a restart: collectd is stopped (it saves its state file) and started
again, and the requests and seconds until every test is watched again are
counted, as for the cold start (the cycles before the first two quiet
ones). Last, footprint.c (built by make bench) runs the engine over the
transport seam on T generated tests: the plugin's own heap per test and
the values of a quiet cycle, without collectd.

Environment: BENCH_SIZES (e.g. "100,1000"), BENCH_INTERVAL (10),
BENCH_IDLE (8), BENCH_BUSY (9), BENCH_OUT (build/bench), BENCH_PARSE
(build/bench/parse_tests), BENCH_PERF (1: perf records collectd during
the idle cycles; the top costs go to build/bench/perf-idle-T.txt).
"""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import bench_fake  # noqa: E402
import harness  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_SIZES",
                                        "100,1000,5000").split(",")]
BUCKETS = {100: 2, 1000: 5, 5000: 10}
INTERVAL = float(os.environ.get("BENCH_INTERVAL", "10"))
IDLE = int(os.environ.get("BENCH_IDLE", "8"))
BUSY = int(os.environ.get("BENCH_BUSY", "9"))
DRAIN = 2
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "build", "bench"))
PARSE = os.environ.get("BENCH_PARSE", os.path.join(REPO, "build", "bench",
                                                   "parse_tests"))
PERF = os.environ.get("BENCH_PERF", "") not in ("", "0")
FOOTPRINT = os.environ.get("BENCH_FOOTPRINT", os.path.join(
    REPO, "build", "bench", "footprint"))
WARMUP_MAX = 300  # seconds
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The plugin's options in the benchmark: the defaults, but for the rate
# cap, so that a cold start (a first read of each test whose last run lies
# within MaxCatchUp) does not set the pace of the benchmark. The cold
# start's and the busy cycles' requests are printed against the default
# cap.
PLUGIN_OPTIONS = {"MaxRequestsPerSecond": 0}


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ----- collectd

def stat_cpu(path):
    """utime + stime from a /proc stat file, in seconds."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sched_cpu(path):
    """A thread's time on a CPU from its schedstat, in seconds (ns
    resolution), or None."""
    try:
        with open(path) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def proc_cpu(pid):
    """The CPU seconds of a process: "total", and "write" for collectd's
    write threads (writer#N), which hand the values read plugins dispatch
    to the write plugins and the cache; in ticks of 1/CLK_TCK s (a thread
    that ended is counted in the total only). "threads" holds each
    thread's time in ns resolution (schedstat) and whether it is a write
    thread, for cpu_used."""
    out = {"total": stat_cpu("/proc/%d/stat" % pid), "write": 0.0,
           "threads": {}}
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "comm")) as f:
                writer = f.read().strip().startswith("writer#")
            if writer:
                out["write"] += stat_cpu(os.path.join(task, tid, "stat"))
        except OSError:
            continue  # the thread ended
        t = sched_cpu(os.path.join(task, tid, "schedstat"))
        if t is not None:
            out["threads"][tid] = (t, writer)
    return out


def cpu_used(a, b, what):
    """CPU seconds ("total" or "write") between the samples a and b: from
    the threads' schedstat when every thread of a is still there in b (a
    thread started between them counts whole), else from the ticks."""
    ta, tb = a["threads"], b["threads"]
    if not ta or not set(ta) <= set(tb):
        return b[what] - a[what]
    return sum(t - (ta[tid][0] if tid in ta else 0.0)
               for tid, (t, writer) in tb.items()
               if what == "total" or writer)


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_memory(pid):
    """Peak and current RSS (KiB), the current split into anonymous memory
    (heap, stacks) and file pages (the shared libraries' code)."""
    return {f: proc_status_kb(pid, f)
            for f in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}


def write_conf(tmp, rs=None, xm=None, xm_func=None, token=None,
               password=None):
    """A collectd config in tmp: logfile, and the plugin when rs is given.
    No write plugin: the plugin's values go to collectd's value cache, and
    the cost of storing them is the write plugin's, not the plugin's; the
    log level is warning, as collectd says at info, for every value, that
    no write plugin takes it."""
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins, exist_ok=True)
    shutil.copy2(os.path.join(harness.SYSTEM_PLUGIN_DIR, "logfile.so"),
                 plugins)
    q = harness.quote
    lines = [
        'Hostname "bench-host"', "FQDNLookup false",
        "Interval %s" % INTERVAL,
        "BaseDir %s" % q(tmp),
        "PIDFile %s" % q(os.path.join(tmp, "collectd.pid")),
        "PluginDir %s" % q(plugins), "TypesDB %s" % q(harness.TYPES_DB),
        "LoadPlugin logfile", "<Plugin logfile>", "  LogLevel warning",
        "  File %s" % q(os.path.join(tmp, "collectd.log")),
        "  Timestamp true", "  PrintSeverity true", "</Plugin>",
    ]
    if rs is not None:
        shutil.copy2(harness.PLUGIN_SO, os.path.join(plugins, "runscope.so"))
        top = {"StateFile": os.path.join(tmp, "state.json")}
        top.update(PLUGIN_OPTIONS)
        lines += ["<LoadPlugin runscope>", "  Interval %s" % INTERVAL,
                  "</LoadPlugin>", "<Plugin runscope>"]
        lines += harness.render_options(top)
        lines += ["  <Runscope>"] + harness.render_options({
            "BaseURL": rs.base_url,
            "TokenFile": harness.write_secret(
                os.path.join(tmp, "runscope.token"), token)}, "    ")
        lines += ["  </Runscope>", "  <XMatters>"]
        lines += harness.render_options({
            "BaseURL": xm.base_url, "User": "runscope",
            "PasswordFile": harness.write_secret(
                os.path.join(tmp, "xmatters.pass"), password),
            "TestResultsTriggerURL": xm.trigger_url(xm_func),
            "Recipient": "api-oncall"}, "    ")
        lines += ["  </XMatters>", "</Plugin>"]
    conf = os.path.join(tmp, "collectd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def start_collectd(tmp, conf):
    console = open(os.path.join(tmp, "console.log"), "wb")
    proc = subprocess.Popen([harness.COLLECTD, "-f", "-C", conf], cwd=tmp,
                            stdin=subprocess.DEVNULL, stdout=console,
                            stderr=subprocess.STDOUT,
                            env=harness.clean_env())
    # At LogLevel warning a good start says nothing, and collectd -f writes
    # no PID file: still running after a second is started (the warm-up
    # then waits for the plugin's requests).
    try:
        proc.wait(1)
    except subprocess.TimeoutExpired:
        return proc
    raise RuntimeError("collectd exited: %s" % tail(tmp))


def stop_process(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(tmp, n=20):
    out = []
    for name in ("collectd.log", "console.log"):
        p = os.path.join(tmp, name)
        if os.path.exists(p):
            out += open(p, errors="replace").read().splitlines()[-n:]
    return "\n".join(out)


def baseline_memory():
    """The memory of collectd without the plugin (proc_memory), after two
    cycles of its other plugins."""
    tmp = tempfile.mkdtemp(prefix="bench-base-")
    try:
        proc = start_collectd(tmp, write_conf(tmp))
        time.sleep(INTERVAL * 2)
        mem = proc_memory(proc.pid)
        stop_process(proc)
        return mem
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def perf_start(pid, tmp):
    """With BENCH_PERF: perf record of collectd (every thread), or None."""
    if not PERF or shutil.which("perf") is None:
        return None
    return subprocess.Popen(
        ["perf", "record", "-q", "-F", "999", "-g", "-p", str(pid), "-o",
         os.path.join(tmp, "perf.data")], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def perf_stop(perf, tmp, T):
    """Ends the recording and writes the report's top lines (by self
    time) to OUT/perf-idle-T.txt."""
    if perf is None:
        return
    perf.send_signal(signal.SIGINT)
    perf.wait(30)
    out = subprocess.run(
        ["perf", "report", "-i", os.path.join(tmp, "perf.data"),
         "--no-children", "--stdio", "-g", "none", "--percent-limit", "1",
         "--sort", "dso,symbol"], capture_output=True, text=True).stdout
    path = os.path.join(OUT, "perf-idle-%d.txt" % T)
    with open(path, "w") as f:
        f.write(out)
    log("perf of the idle cycles: %s" % path)


# ----- cycles of the plugin, from the fake's request times

def cycles_of(times, gap):
    """Groups the plugin's requests ((time, kind), in order) into cycles:
    a cycle ends at a silence longer than gap. Returns a list of dicts
    (start, end, kinds: {kind: n})."""
    out = []
    for t, kind in times:
        if not out or t - out[-1]["end"] > gap:
            out.append({"start": t, "end": t, "kinds": {}})
        c = out[-1]
        c["end"] = t
        c["kinds"][kind] = c["kinds"].get(kind, 0) + 1
    return out


class Watch:
    """Follows the plugin's cycles as they complete."""

    def __init__(self, rs, gap):
        self.rs = rs
        self.gap = gap

    def complete(self):
        """The cycles that are over (a silence of gap after them)."""
        times = self.rs.snapshot()["times"]["collectd"]
        cyc = cycles_of(times, self.gap)
        if cyc and time.time() - cyc[-1]["end"] <= self.gap:
            cyc = cyc[:-1]
        return cyc

    def wait_cycles(self, n, after, timeout):
        """Waits until n cycles that started after `after` are complete;
        returns them."""
        deadline = time.time() + timeout
        while True:
            done = [c for c in self.complete() if c["start"] > after]
            if len(done) >= n:
                return done[:n]
            if time.time() > deadline:
                raise RuntimeError("%d of %d cycles after %d s" % (
                    len(done), n, timeout))
            time.sleep(0.2)


def is_quiet(c):
    """A cycle that asked only for buckets and tests lists."""
    return set(c["kinds"]) <= {"tests", "buckets", "bucket"}


def warm_up(watch, after=0.0):
    """Waits until two cycles in a row (that started after `after`) ask
    nothing but the lists; returns the cycles since `after`."""
    t0 = time.time()
    deadline = t0 + WARMUP_MAX
    while time.time() < deadline:
        cyc = [c for c in watch.complete() if c["start"] > after]
        if len(cyc) >= 3 and is_quiet(cyc[-1]) and is_quiet(cyc[-2]):
            return cyc
        time.sleep(0.5)
    raise RuntimeError("the plugin did not settle within %d s" % WARMUP_MAX)


def until_watched(cycles, t_start):
    """The requests and seconds from t_start until every test is watched:
    the cycles before the first of the two quiet ones that end a warm-up
    (a restart whose first cycle is quiet: that cycle)."""
    busy = cycles[:-2] or cycles[:1]
    return (sum(cycle_requests(c) for c in busy),
            max(0.0, busy[-1]["end"] - t_start))


def restart(proc, tmp, conf, watch):
    """Stops collectd (it saves its state) and starts it again on the same
    state file; returns (process, requests, seconds) until every test is
    watched again."""
    stop_process(proc)
    time.sleep(watch.gap * 1.5)
    t0 = time.time()
    proc = start_collectd(tmp, conf)
    cyc = warm_up(watch, after=t0 - 1)
    n, secs = until_watched(cyc, t0)
    return proc, n, secs


# ----- one size

def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(math.floor(k)), int(math.ceil(k))
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def mean(values):
    return sum(values) / len(values) if values else None


def cycle_requests(c):
    return sum(c["kinds"].values())


def run_size(T):
    B = BUCKETS.get(T, max(1, T // 500))
    tmp = tempfile.mkdtemp(prefix="bench-%d-" % T)
    token, password = bench_fake.new_token(), "pw-" + uuid.uuid4().hex[:8]
    func = str(uuid.uuid4())
    rs = bench_fake.BenchRunscope(T, B, token=token).start().populate()
    xm = bench_fake.BenchXMatters(user="runscope", password=password,
                                  functions={func: "k-" + func[:8]}).start()
    rs.start_scheduler(paused=True)
    proc = naive = None
    try:
        log("T=%d B=%d: collectd and the naive poller start" % (T, B))
        conf = write_conf(tmp, rs, xm, func, token, password)
        t_start = time.time()
        proc = start_collectd(tmp, conf)
        tokf = os.path.join(tmp, "naive.token")
        with open(tokf, "w") as f:
            f.write(token + "\n")
        naive_out = os.path.join(tmp, "naive.json")
        naive = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "naive.py"),
             "--base-url", rs.base_url, "--token-file", tokf,
             "--interval", str(INTERVAL), "--out", naive_out],
            env=harness.clean_env())
        watch = Watch(rs, gap=0.3 * INTERVAL)
        warm = warm_up(watch)
        first = warm[0]
        cold = until_watched(warm, t_start)
        log("T=%d: settled after %.0f s (first cycle: %d requests)" % (
            T, time.time() - t_start, cycle_requests(first)))
        last_warm = warm[-1]["start"]

        perf = perf_start(proc.pid, tmp)
        cpu0 = proc_cpu(proc.pid)
        idle = watch.wait_cycles(IDLE, last_warm, (IDLE + 3) * INTERVAL)
        cpu1 = proc_cpu(proc.pid)
        perf_stop(perf, tmp, T)
        rs.resume()
        t_busy = time.time()
        log("T=%d: %d idle cycles; runs start" % (T, IDLE))
        busy = watch.wait_cycles(BUSY, idle[-1]["start"],
                                 (BUSY + 4) * INTERVAL)
        cpu2 = proc_cpu(proc.pid)
        rs.pause()
        t_busy_end = time.time()
        log("T=%d: %d busy cycles; draining" % (T, BUSY))
        watch.wait_cycles(DRAIN, busy[-1]["start"], (DRAIN + 4) * INTERVAL)
        mem = proc_memory(proc.pid)
        stop_process(naive)
        proc, r_n, r_secs = restart(proc, tmp, conf, watch)
        log("T=%d: cold start %d requests in %.0f s; restart %d in %.0f s"
            % (T, cold[0], cold[1], r_n, r_secs))
        with open(naive_out) as f:
            nv = json.load(f)
        snap = rs.snapshot()
        triggers = xm.triggers()
        res = measure(T, B, first, idle, busy, (cpu0, cpu1, cpu2), mem,
                      nv, snap, triggers, t_busy, t_busy_end)
        res.update({"cold_start_requests": cold[0],
                    "cold_start_seconds": cold[1],
                    "restart_requests": r_n, "restart_seconds": r_secs})
        return res
    except Exception:
        log("T=%d failed; collectd log:\n%s" % (T, tail(tmp)))
        raise
    finally:
        for p in (naive, proc):
            if p is not None:
                stop_process(p)
        rs.stop_scheduler()
        rs.stop()
        xm.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def measure(T, B, first, idle, busy, cpu, mem, nv, snap, triggers, t_busy,
            t_busy_end):
    fin = snap["finished_at"]
    started = snap["started"]
    # runs that started in the busy phase (all have finished by the end
    # of the drain: they last a few seconds)
    runs = [r for r, (_, t) in started.items()
            if t_busy <= t <= t_busy_end and r in fin]
    seen_p = snap["seen"]["collectd"]
    seen_n = {k: v for k, v in nv["seen"].items()}
    trig_lat = []
    for tr in triggers:
        props = (tr.get("body") or {}).get("properties") or {}
        rid = props.get("test_run_id")
        if rid in runs:
            trig_lat.append(tr["time"] - fin[rid])
    naive_lat = [seen_n[r] - fin[r] for r in runs if r in seen_n]
    read_lat = [seen_p[r] - fin[r] for r in runs if r in seen_p]
    p_busy = [cycle_requests(c) for c in busy]
    p_idle = [cycle_requests(c) for c in idle]
    n_cycles = [c for c in nv["cycles"] if not c.get("discovery")]
    n_idle = [c["requests"] for c in n_cycles
              if idle[0]["start"] - 1 <= c["start"] <= idle[-1]["end"]]
    n_busy = [c["requests"] for c in n_cycles
              if busy[0]["start"] - 1 <= c["start"] <= busy[-1]["end"]]
    detected_p = [r for r in runs if r in seen_p]
    detected_n = [r for r in runs if r in seen_n]
    busy_kinds = {}
    for c in busy:
        for k, v in c["kinds"].items():
            busy_kinds[k] = busy_kinds.get(k, 0) + v
    res = {
        "tests": T, "buckets": B, "interval": INTERVAL,
        "first_cycle_requests": cycle_requests(first),
        "idle_cycles": len(idle), "busy_cycles": len(busy),
        "plugin_idle_requests": p_idle, "plugin_busy_requests": p_busy,
        "plugin_busy_kinds": busy_kinds,
        "naive_idle_requests": n_idle, "naive_busy_requests": n_busy,
        "naive_cycle_seconds": [round(c["duration"], 2) for c in n_cycles],
        "runs": len(runs),
        "plugin_detected": len(detected_p), "naive_detected": len(detected_n),
        "plugin_requests_per_run": sum(p_busy) / max(1, len(detected_p)),
        "naive_requests_per_run": sum(n_busy) / max(1, len(detected_n)),
        "trigger_latency": trig_lat, "read_latency": read_lat,
        "naive_latency": naive_lat,
        "cpu_idle_per_cycle": cpu_used(cpu[0], cpu[1], "total") / len(idle),
        "cpu_busy_per_cycle": cpu_used(cpu[1], cpu[2], "total") / len(busy),
        "cpu_write_idle_per_cycle": cpu_used(cpu[0], cpu[1], "write") /
        len(idle),
        "cpu_write_busy_per_cycle": cpu_used(cpu[1], cpu[2], "write") /
        len(busy),
        "hwm_kb": mem["VmHWM"], "memory_kb": mem,
        "fake_requests": snap["served"], "fake_busy_seconds": snap["busy"],
    }
    return res


# ----- report

def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def summarize(r, base):
    lat = r["trigger_latency"]
    nlat = r["naive_latency"]
    return {
        "T": r["tests"], "B": r["buckets"],
        "idle_p": mean(r["plugin_idle_requests"]),
        "idle_p_max": max(r["plugin_idle_requests"] or [0]),
        "busy_p": mean(r["plugin_busy_requests"]),
        "idle_n": mean(r["naive_idle_requests"]),
        "busy_n": mean(r["naive_busy_requests"]),
        "per_run_p": r["plugin_requests_per_run"],
        "per_run_n": r["naive_requests_per_run"],
        "runs": r["runs"], "det_p": r["plugin_detected"],
        "det_n": r["naive_detected"],
        "lat50_p": percentile(lat, 50), "lat95_p": percentile(lat, 95),
        "n_lat_p": len(lat),
        "read50_p": percentile(r["read_latency"], 50),
        "read95_p": percentile(r["read_latency"], 95),
        "lat50_n": percentile(nlat, 50), "lat95_n": percentile(nlat, 95),
        "cpu_idle": r["cpu_idle_per_cycle"] * 1000,
        "cpu_busy": r["cpu_busy_per_cycle"] * 1000,
        "cpu_write_idle": r["cpu_write_idle_per_cycle"] * 1000,
        "cpu_write_busy": r["cpu_write_busy_per_cycle"] * 1000,
        "rss_mb": r["hwm_kb"] / 1024.0,
        "rss_add_mb": (r["hwm_kb"] - base["VmHWM"]) / 1024.0,
        "anon_add_mb": (r["memory_kb"]["RssAnon"] - base["RssAnon"]) / 1024.0,
        "file_add_mb": (r["memory_kb"]["RssFile"] - base["RssFile"]) / 1024.0,
        "first": r["first_cycle_requests"],
        "cold_n": r.get("cold_start_requests"),
        "cold_s": r.get("cold_start_seconds"),
        "restart_n": r.get("restart_requests"),
        "restart_s": r.get("restart_seconds"),
        "heap_per_test": (r.get("footprint") or {}).get("heap_per_test"),
        "values_idle": (r.get("footprint") or {}).get("values_per_cycle"),
    }


def table(rows, base):
    head = ("| T (buckets) | poller | requests / idle cycle | requests / "
            "busy cycle | requests / detected run | runs detected | "
            "latency to trigger p50 / p95 (s) | latency to read p50 / p95 "
            "(s) | CPU / idle, busy cycle (ms) | peak RSS (MB) |")
    sep = "|" + "---|" * 10
    out = [head, sep]
    for s in rows:
        out.append(
            "| %d (%d) | plugin | %s (max %d) | %s | %s | %d of %d | "
            "%s / %s (n=%d) | %s / %s | %s, %s | %.1f (+%.1f) |" % (
                s["T"], s["B"], fmt(s["idle_p"], "%.1f"), s["idle_p_max"],
                fmt(s["busy_p"], "%.1f"), fmt(s["per_run_p"], "%.2f"),
                s["det_p"], s["runs"], fmt(s["lat50_p"], "%.1f"),
                fmt(s["lat95_p"], "%.1f"), s["n_lat_p"],
                fmt(s["read50_p"], "%.1f"), fmt(s["read95_p"], "%.1f"),
                fmt(s["cpu_idle"], "%.0f"), fmt(s["cpu_busy"], "%.0f"),
                s["rss_mb"], s["rss_add_mb"]))
        out.append(
            "| | naive | %s | %s | %s | %d of %d | - | %s / %s | | |" % (
                fmt(s["idle_n"], "%.0f"), fmt(s["busy_n"], "%.0f"),
                fmt(s["per_run_n"], "%.1f"), s["det_n"], s["runs"],
                fmt(s["lat50_n"], "%.1f"), fmt(s["lat95_n"], "%.1f")))
    out.append("")
    out.append("Peak RSS is VmHWM; in brackets what the plugin adds to "
               "collectd without it (%.1f MB). Of that, at the end of the "
               "run: %s." % (
                   base["VmHWM"] / 1024.0,
                   "; ".join("T=%d %.1f MB heap and stacks, %.1f MB code and "
                             "data of the libraries (libcurl, OpenSSL, "
                             "json-c)" % (s["T"], s["anon_add_mb"],
                                          s["file_add_mb"]) for s in rows)))
    out.append("")
    out.append("CPU is that of the whole collectd process; of it, collectd's "
               "write threads, which take the values the plugin dispatches "
               "(a key's once per run), used per idle, busy cycle: %s ms."
               % "; ".join(
                   "T=%d %s, %s" % (s["T"], fmt(s["cpu_write_idle"], "%.0f"),
                                    fmt(s["cpu_write_busy"], "%.0f"))
                   for s in rows))
    return "\n".join(out)


def targets(rows):
    lines = []

    def check(name, ok, figure):
        lines.append("%-6s %s: %s" % ("MET" if ok else "MISSED", name,
                                      figure))

    for s in rows:
        T, B = s["T"], s["B"]
        bound = math.ceil(T / 50.0) + B + 1
        check("T=%d idle cycle requests <= ceil(T/50) + B + 1 = %d" % (
            T, bound), s["idle_p_max"] <= bound,
            "%d at most (mean %.1f)" % (s["idle_p_max"], s["idle_p"]))
        if s["lat95_p"] is not None:
            check("T=%d detection latency p95 <= interval + 2 = %.0f s" % (
                T, INTERVAL + 2), s["lat95_p"] <= INTERVAL + 2,
                "%.1f s to the trigger (n=%d); %s s to the read" % (
                    s["lat95_p"], s["n_lat_p"], fmt(s["read95_p"], "%.1f")))
        check("T=%d every run detected" % T, s["det_p"] == s["runs"],
              "%d of %d" % (s["det_p"], s["runs"]))
        if s["heap_per_test"] is not None:
            check("T=%d the plugin's own heap <= 1 KB per test" % T,
                  s["heap_per_test"] <= 1024,
                  "%.0f bytes" % s["heap_per_test"])
        if T == 1000:
            ratio = s["busy_n"] / s["busy_p"] if s["busy_p"] else 0
            check("T=1000 at least 20x fewer requests than the naive "
                  "poller (busy cycles)", ratio >= 20, "%.1fx" % ratio)
            check("T=1000 CPU per idle cycle <= 10 ms (write threads "
                  "included)", round(s["cpu_idle"], 1) <= 10,
                  "%.1f ms (write threads %.1f)" % (s["cpu_idle"],
                                                    s["cpu_write_idle"]))
        if T == 5000:
            check("T=5000 CPU per idle cycle <= 40 ms (write threads "
                  "included)", round(s["cpu_idle"], 1) <= 40,
                  "%.1f ms (write threads %.1f)" % (s["cpu_idle"],
                                                    s["cpu_write_idle"]))
            check("T=5000 heap and stacks added <= 16 MB",
                  s["anon_add_mb"] <= 16, "%.1f MB" % s["anon_add_mb"])
            if s["cold_n"] is not None:
                check("T=5000 cold start <= 4,500 requests",
                      s["cold_n"] <= 4500, "%d requests, %.0f s (%.0f s at "
                      "the default cap of 20/s)" % (
                          s["cold_n"], s["cold_s"], s["cold_n"] / 20.0))
                check("T=5000 restart with a state file <= 450 requests",
                      s["restart_n"] <= 450, "%d requests, %.0f s" % (
                          s["restart_n"], s["restart_s"]))
    return "\n".join(lines)


def figures(rows):
    """Every figure per size, one line each."""
    out = []
    for s in rows:
        out.append(
            "T=%d: requests per idle / busy cycle %s / %s; detection latency "
            "p50 / p95 %s / %s s; CPU per idle / busy cycle %s / %s ms "
            "(write threads %s / %s); peak RSS %.1f MB (+%.1f); heap and "
            "stacks added %.1f MB; the plugin's own heap %s bytes per test; "
            "values per idle cycle %s; cold start %s requests in %s s; "
            "restart %s requests in %s s" % (
                s["T"], fmt(s["idle_p"], "%.1f"), fmt(s["busy_p"], "%.1f"),
                fmt(s["lat50_p"], "%.1f"), fmt(s["lat95_p"], "%.1f"),
                fmt(s["cpu_idle"], "%.1f"), fmt(s["cpu_busy"], "%.1f"),
                fmt(s["cpu_write_idle"], "%.1f"),
                fmt(s["cpu_write_busy"], "%.1f"), s["rss_mb"],
                s["rss_add_mb"], s["anon_add_mb"],
                fmt(s["heap_per_test"]), fmt(s["values_idle"]),
                fmt(s["cold_n"]), fmt(s["cold_s"], "%.1f"),
                fmt(s["restart_n"]), fmt(s["restart_s"], "%.1f")))
    return "\n".join(out)


def footprint_figures(T):
    """footprint.c's figures for T tests (dict), or None without it."""
    if not os.access(FOOTPRINT, os.X_OK):
        log("no %s (make %s): no heap per test" % (FOOTPRINT, FOOTPRINT))
        return None
    out = subprocess.run([FOOTPRINT, "--json", str(T)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


# Debian's python3-matplotlib is for Debian's python3, which may not be the
# python3 found first on the PATH.
SYSTEM_PYTHON = "/usr/bin/python3"


def chart(rows, path, results_path=None):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if results_path and os.path.exists(SYSTEM_PYTHON) and \
                os.path.realpath(sys.executable) != \
                os.path.realpath(SYSTEM_PYTHON):
            rc = subprocess.call([SYSTEM_PYTHON, os.path.abspath(__file__),
                                  "--chart", results_path, path])
            return path if rc == 0 else None
        log("no matplotlib (packaging/install-deps.sh bench): no chart")
        return None
    T = [s["T"] for s in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    a.plot(T, [s["busy_n"] for s in rows], "o-", color="tab:red",
           label="naive poller, every cycle")
    a.plot(T, [s["busy_p"] for s in rows], "o-", color="tab:blue",
           label="plugin, busy cycle")
    a.plot(T, [s["idle_p"] for s in rows], "s--", color="tab:blue",
           alpha=0.6, label="plugin, idle cycle")
    a.plot(T, [math.ceil(t / 50.0) + s["B"] + 1 for t, s in zip(T, rows)],
           ":", color="gray", label="target: ceil(T/50) + B + 1")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("tests (T)")
    a.set_ylabel("Runscope requests per %g s cycle" % INTERVAL)
    a.set_title("Requests per poll cycle")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=8)
    for key, style, color, label in (
            ("lat95_n", "o-", "tab:red", "naive poller p95 (to its read)"),
            ("lat50_n", "o--", "tab:red", "naive poller p50"),
            ("lat95_p", "s-", "tab:blue", "plugin p95 (to the trigger)"),
            ("lat50_p", "s--", "tab:blue", "plugin p50 (to the trigger)"),
            ("read95_p", "^-", "tab:cyan", "plugin p95 (to its read)")):
        b.plot(T, [s.get(key) if s.get(key) is not None else float("nan")
                   for s in rows], style, color=color, label=label)
    b.axhline(INTERVAL + 2, color="gray", linestyle=":",
              label="target: interval + 2 s")
    b.set_xscale("log")
    b.set_ylim(bottom=0)
    b.set_xlabel("tests (T)")
    b.set_ylabel("seconds from a run's finish")
    b.set_title("Detection latency")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=8)
    fig.suptitle("collectd-runscope request economy (interval %g s)"
                 % INTERVAL)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


# ----- the tests list's two parsers

def parse_figures():
    """Runs parse_tests --json: the fast path and json-c's tree on one
    generated page. Returns its figures (dict), or None without the
    program."""
    if not os.access(PARSE, os.X_OK):
        log("no %s (make %s): parsers not timed" % (PARSE, PARSE))
        return None
    out = subprocess.run([PARSE, "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def parse_line(p):
    """The parsers' figures as the benchmark prints them."""
    return ("Tests list, a page of %d tests (%d bytes): fast path %.3f ms, "
            "json-c tree %.3f ms per page; the tree takes %.1fx (target: "
            "2x or more: %s)" % (p["items"], p["page_bytes"], p["fast_ms"],
                                 p["tree_ms"], p["ratio"],
                                 "met" if p["ratio"] >= 2 else "NOT met"))


def parse_only():
    """--parse: only the parsers' figures."""
    p = parse_figures()
    if p is None:
        return 2
    print(parse_line(p))
    return 0


def main():
    if not harness.plugin_available() or not harness.collectd_available():
        log("needs build/runscope.so (make) and collectd")
        return 2
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()
    parse = parse_figures()
    if parse is not None:
        log(parse_line(parse))
    base = baseline_memory()
    log("collectd without the plugin: %s KiB" % base)
    results = [run_size(T) for T in SIZES]
    for r in results:
        r["footprint"] = footprint_figures(r["tests"])
        fp = r["footprint"] or {}
        r["plugin_heap_per_test"] = fp.get("heap_per_test")
        r["values_per_idle_cycle"] = fp.get("values_per_cycle")
    rows = [summarize(r, base) for r in results]
    tab = table(rows, base)
    tgt = targets(rows)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"baseline_memory_kb": base, "results": results,
                   "summary": rows, "plugin_options": PLUGIN_OPTIONS,
                   "parse": parse,
                   "schedule_mix": bench_fake.SCHEDULE_MIX,
                   "run_duration": bench_fake.RUN_DURATION}, f, indent=1)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(tab + "\n")
    png = chart(rows, os.path.join(OUT, "bench.png"),
                os.path.join(OUT, "results.json"))
    print(tab)
    print()
    print(figures(rows))
    print()
    print("Targets (the benchmark does not fail on them):")
    print(tgt)
    print()
    for r in results:
        rate = mean(r["plugin_busy_requests"]) / INTERVAL
        print("T=%d: first (cold) cycle %d requests; busy cycles %.1f "
              "requests/s (default cap 20/s); the fake answered %d requests "
              "in %.1f s of handler time; naive cycles took %s s" % (
                  r["tests"], r["first_cycle_requests"], rate,
                  r["fake_requests"], r["fake_busy_seconds"],
                  "/".join("%.1f" % x for x in r["naive_cycle_seconds"][:4])))
    if parse is not None:
        print(parse_line(parse))
    print()
    print("Results: %s" % os.path.join(OUT, "results.json"))
    if png:
        print("Chart: %s" % png)
    print("Took %.0f s." % (time.time() - t0))
    return 0


def chart_only(results_path, png):
    """--chart RESULTS PNG: the chart of a results.json."""
    global INTERVAL
    with open(results_path) as f:
        doc = json.load(f)
    INTERVAL = doc["results"][0]["interval"]
    return 0 if chart(doc["summary"], png) else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--chart":
        sys.exit(chart_only(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 2 and sys.argv[1] == "--parse":
        sys.exit(parse_only())
    sys.exit(main())
