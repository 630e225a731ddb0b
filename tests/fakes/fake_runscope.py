# SPDX-License-Identifier: MIT
"""A fake Runscope REST API on 127.0.0.1, for the end-to-end tests.

Shapes follow Runscope's documented REST API (envelope, errors, buckets,
tests, results, trigger URLs) and the fixtures of its public clients.

Usage in-process:

    rs = FakeRunscope(token="tok").start()       # ephemeral port
    b = rs.add_bucket("bkt1", "Shop")
    t = rs.add_test("bkt1", "Checkout API",
                    environments=[{"name": "Production",
                                   "regions": ["us1", "eu1"]}])
    run = rs.add_run("bkt1", t["id"], environment="Production",
                     region="us1", result="fail")
    rs.finish_run(run["test_run_id"], "pass")   # for a "working" run
    rs.requests(path="/results$")                # what the client asked
    rs.stop()

or from the command line (then drive it through /_control/ over HTTP):

    python3 tests/fakes/fake_runscope.py --port 0 --port-file F --token T

API routes (every one but the trigger URL needs `Authorization: Bearer
<token>`, else 403 with the documented error envelope):

    GET /buckets, GET /buckets/{key}
    GET /buckets/{key}/tests?count=&offset=        default 10, cap 50,
                                                   newest first
    GET /buckets/{key}/tests/{id}                  trigger_url -> this fake
    GET /buckets/{key}/tests/{id}/results?count=&since=&before=
                                                   default 10, max 50 (more
                                                   is clamped); since/before
                                                   exclusive on started_at;
                                                   newest first; includes
                                                   queued/working runs
    GET /buckets/{key}/tests/{id}/results/latest   404 when never run
    GET /buckets/{key}/tests/{id}/results/{run_id}
    GET /regions
    GET /buckets/{key}/errors?count=&since=&before=
                                                   the captured messages
                                                   that failed (status >= 400
                                                   or no response); default
                                                   50, max 1000 (more is
                                                   clamped); since/before
                                                   exclusive on
                                                   request.timestamp; newest
                                                   first; no bodies
    GET /buckets/{key}/messages?count=&since=&before=
                                                   every captured message,
                                                   the same way
    GET /buckets/{key}/messages/{uuid}             one message, with bodies
    GET|POST /radar/{trigger_id}/trigger?runscope_environment=&
             runscope_region=                      no token needed; recorded;
                                                   more than 10 accepted
                                                   triggers in 10 s per
                                                   trigger URL -> 429; creates
                                                   one "queued" run per
                                                   location

Unknown buckets, tests and runs answer 404 (option unknown_status: 403 as
the real API sometimes does). Every answer uses the envelope
{"data", "meta": {"status": "success"}, "error": null}.

Control routes (no auth), besides those of fakebase (reset, requests,
faults, config):

    POST /_control/buckets                     {"key", "name", "team_name"}
    POST /_control/buckets/{key}/tests         {"name", "id", "description",
                                                "environments": [{"name",
                                                "id", "regions",
                                                "remote_agents"}],
                                                "schedules": [{"environment",
                                                "interval"}]}
    POST /_control/buckets/{key}/tests/{test}/runs
                                               {"environment" (id or name),
                                                "result", "region", "agent",
                                                "started_at", "finished_at",
                                                any other result field}
                                               {test} is an id or a name
    POST /_control/runs/{run_id}/finish        {"result", "finished_at"}
    POST /_control/runs/{run_id}               fields to overwrite
    GET  /_control/runs/{run_id}               the run and how often it was
                                               served ("served")
    GET  /_control/triggers                    recorded trigger calls
    GET  /_control/state                       buckets, tests, runs
    POST /_control/buckets/{key}/messages      {"method", "host", "path",
                                                "status" (null: no
                                                response), "timestamp",
                                                "uuid", "list_response"}
    GET  /_control/messages/{uuid}             the message and how often
                                               its detail was read
                                               ("fetches")

Captured messages ("Traffic Inspector") follow the attributes Runscope
documents (uuid, bucket_key, request.{headers, host, method, params, path,
scheme, timestamp}); the response's attributes are not documented, so
"response": {"status", "headers", "timestamp", "body", "reason"} is an
assumption of this fake, as docs/runscope-api.md 6.2 suggests. A message
without a response has "response": null.

Options (constructor keywords, or POST /_control/config): token,
results_max (50), tests_max (50), trigger_limit (10), trigger_window (10 s),
trigger_retry_after (None: no Retry-After header on 429), unknown_status
(404), list_last_run (True: test list items carry last_run and
last_run_created_at as newer API versions do), trigger_creates_runs (True),
messages_max (1000), errors_list_response (True: list items carry the
response without its body; False: they leave "response" out, so that a
client must read the detail for the status), max_count (None: when set,
every list serves at most that many items a page, whatever count asks, as
a server with a lower cap than documented would), trigger_base (None: the
trigger_url of a test's detail is on this fake; else it starts with this
base URL instead, as an API answer the plugin must not trust would).
"""

import collections
import copy
import os
import sys
import time
import urllib.parse
import uuid

try:
    from . import fakebase
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fakebase

json_response = fakebase.json_response

FINAL_RESULTS = ("pass", "fail", "cancelled")
# A run with any other result is finished too: the API may give values it
# does not document (e.g. "error").
UNFINISHED_RESULTS = ("working", "queued", "init")


def finished(result):
    """True when a run with this result is finished (has finished_at)."""
    return result is not None and result not in UNFINISHED_RESULTS

REGIONS = [
    {"hostname": "us1.runscope.net", "region_code": "us1",
     "location": "US Virginia (None)",
     "service_provider": "Amazon Web Services"},
    {"hostname": "us2.runscope.net", "region_code": "us2",
     "location": "US California (None)",
     "service_provider": "Amazon Web Services"},
    {"hostname": "eu1.runscope.net", "region_code": "eu1",
     "location": "EU Ireland (None)",
     "service_provider": "Amazon Web Services"},
]


def envelope(data):
    return {"data": data, "meta": {"status": "success"}, "error": None}


def error_envelope(status, message, more_info=None):
    return {"data": {}, "meta": {"status": "error"},
            "error": {"status": status, "message": message,
                      "more_info": more_info
                      or "https://www.runscope.com/docs/api"}}


class FakeRunscope(fakebase.FakeServer):
    """The fake Runscope API and its Python control API."""

    name = "fake-runscope"
    OPTIONS = {
        "token": "runscope-test-token",
        "results_max": 50,
        "tests_max": 50,
        "trigger_limit": 10,
        "trigger_window": 10.0,
        "trigger_retry_after": None,
        "unknown_status": 404,
        "list_last_run": True,
        "trigger_creates_runs": True,
        "messages_max": 1000,
        "errors_list_response": True,
        "max_count": None,
        "trigger_base": None,
    }
    CLI_OPTIONS = {"token": "the Bearer token the API accepts"}

    def error_body(self, status, message):
        return error_envelope(status, message)

    def _reset_data(self):
        self._buckets = collections.OrderedDict()
        self._tests = {}        # bucket key -> [test]
        self._test_by_id = {}   # test id -> test
        self._runs = {}         # test id -> [run]
        self._run_by_id = {}
        self._served = collections.Counter()
        self._triggers = []
        self._trigger_times = collections.defaultdict(collections.deque)
        self._messages = {}     # bucket key -> [message]
        self._message_by_id = {}
        self._fetches = collections.Counter()  # message detail reads
        self._clock = 0         # insertion order, to break ties

    def _tick(self):
        self._clock += 1
        return self._clock

    # ----- Python API: data

    def add_bucket(self, key=None, name=None, team_name="Personal Team"):
        """Adds a bucket; returns its API object."""
        with self.lock:
            key = key or uuid.uuid4().hex[:12]
            if key in self._buckets:
                raise ValueError("bucket %s exists" % key)
            team_id = str(uuid.uuid4())
            self._buckets[key] = {
                "auth_token": None, "default": False, "key": key,
                "name": name or key, "team": {"name": team_name,
                                              "uuid": team_id},
                "verify_ssl": True,
                "tests_url": "%s/buckets/%s/tests" % (self._base(), key),
                "collections_url": "%s/buckets/%s/collections" % (
                    self._base(), key),
                "messages_url": "%s/buckets/%s/stream" % (self._base(), key),
                "trigger_url": "%s/radar/bucket/%s/trigger" % (
                    self._base(), uuid.uuid4()),
            }
            self._tests[key] = []
            return copy.deepcopy(self._buckets[key])

    def add_test(self, bucket_key, name, environments=None, id=None,
                 description=None, schedules=None, created_at=None):
        """Adds a test to a bucket; returns its detail object (with
        "environments", each with "id"). environments: names or dicts
        {"name", "id", "regions", "remote_agents"}; the default is one
        environment "Test Settings" in region us1. schedules: dicts
        {"environment" (id or name), "interval"}."""
        with self.lock:
            if bucket_key not in self._buckets:
                raise KeyError("no bucket %s" % bucket_key)
            test_id = id or str(uuid.uuid4())
            if test_id in self._test_by_id:
                raise ValueError("test %s exists" % test_id)
            now = int(time.time())
            envs = []
            for e in environments or [{"name": "Test Settings"}]:
                if isinstance(e, str):
                    e = {"name": e}
                envs.append(self._new_env(test_id, e))
            test = {
                "id": test_id, "name": name,
                "description": description,
                "created_at": created_at if created_at is not None
                else now,
                "created_by": {"email": "grace@example.com",
                               "name": "Grace Hopper",
                               "id": "4ee15ecc-7fe1-43cb-aa12-ef50420f2cf9"},
                "default_environment_id": envs[0]["id"],
                "trigger_id": str(uuid.uuid4()),
                "bucket_key": bucket_key,
                "environments": envs,
                "schedules": [],
                "order": self._tick(),
            }
            for s in schedules or []:
                env = self._find_env(test, s.get("environment"))
                test["schedules"].append({
                    "environment_id": env["id"],
                    "interval": s.get("interval", "5m"),
                    "note": s.get("note"), "version": "1.0",
                    "exported_at": now, "id": str(uuid.uuid4())})
            self._tests[bucket_key].append(test)
            self._test_by_id[test_id] = test
            self._runs[test_id] = []
            return self._test_detail(test)

    def _new_env(self, test_id, e):
        agents = []
        for a in e.get("remote_agents") or []:
            if isinstance(a, str):
                a = {"agent_id": a, "name": a}
            agents.append(a)
        regions = e.get("regions")
        if regions is None:
            regions = [] if agents else ["us1"]
        return {
            "script_library": [], "name": e["name"], "script": None,
            "preserve_cookies": False, "test_id": test_id,
            "initial_variables": None, "integrations": [], "auth": None,
            "id": e.get("id") or str(uuid.uuid4()),
            "regions": list(regions), "headers": None, "verify_ssl": True,
            "version": "1.0", "exported_at": int(time.time()),
            "retry_on_failure": False, "remote_agents": agents,
            "webhooks": None, "parent_environment_id": None,
            "stop_on_failure": False,
            "emails": {"notify_on": None, "notify_all": False,
                       "recipients": [], "notify_threshold": 0},
            "client_certificate": None,
        }

    def _find_test(self, bucket_key, test):
        """A test by id or name, or None."""
        t = self._test_by_id.get(test)
        if t is not None and (bucket_key is None
                              or t["bucket_key"] == bucket_key):
            return t
        for t in self._tests.get(bucket_key, []) if bucket_key else \
                self._test_by_id.values():
            if t["name"] == test:
                return t
        return None

    @staticmethod
    def _find_env(test, env):
        if env is None:
            env = test["default_environment_id"]
        for e in test["environments"]:
            if e["id"] == env or e["name"] == env:
                return e
        raise KeyError("test %s has no environment %s" % (test["id"], env))

    def environment(self, test_id, env):
        """The environment object of a test, by id or name."""
        with self.lock:
            return copy.deepcopy(self._find_env(self._test_by_id[test_id],
                                                env))

    def add_run(self, bucket_key, test, environment=None, result="fail",
                region=None, agent=None, started_at=None, finished_at=None,
                **fields):
        """Adds a run of a test (id or name) in an environment (id or name;
        default the test's default). result "pass"/"fail"/"cancelled", or
        any other value but "working"/"queued"/"init" (e.g. "error", which
        the API may give), makes a finished run; those three an unfinished
        one (finished_at null). region defaults to the environment's first region (None when
        agent is given). started_at defaults to now - 2 s. Other keyword
        arguments overwrite result fields (e.g. assertions_failed=3).
        Returns the run as the results list shows it."""
        with self.lock:
            t = self._find_test(bucket_key, test)
            if t is None:
                raise KeyError("no test %s in %s" % (test, bucket_key))
            env = self._find_env(t, environment)
            if agent is None and region is None:
                if env["regions"]:
                    region = env["regions"][0]
                elif env["remote_agents"]:
                    agent = env["remote_agents"][0]["agent_id"]
            run = self._new_run(t, env, result, region, agent, started_at,
                                finished_at)
            run.update(fields)
            return copy.deepcopy(run)

    def _new_run(self, t, env, result, region, agent, started_at=None,
                 finished_at=None):
        now = time.time()
        run_id = str(uuid.uuid4())
        if started_at is None:
            started_at = now - 2.0
        if finished_at is None and finished(result):
            finished_at = started_at + 1.5
        failed = 1 if result == "fail" else 0
        done = finished(result)
        run = {
            "agent": agent,
            "assertions_defined": 2 if done else 0,
            "assertions_failed": failed,
            "assertions_passed": (2 - failed) if done else 0,
            "bucket_key": t["bucket_key"],
            "finished_at": finished_at,
            "region": None if agent else region,
            "requests_executed": 1 if done else 0,
            "result": result,
            "scripts_defined": 1 if done else 0,
            "scripts_failed": 0,
            "scripts_passed": 1 if done else 0,
            "started_at": started_at,
            "test_run_id": run_id,
            "test_run_url": "%s/buckets/%s/tests/%s/results/%s" % (
                self._base(), t["bucket_key"], t["id"], run_id),
            "test_id": t["id"],
            "variables_defined": 0,
            "variables_failed": 0,
            "variables_passed": 0,
            "environment_id": env["id"],
            "environment_name": env["name"],
            "_order": self._tick(),
        }
        self._runs[t["id"]].append(run)
        self._run_by_id[run_id] = run
        return run

    def finish_run(self, run_id, result="pass", finished_at=None):
        """Finishes a queued/working run (or changes a finished one)."""
        with self.lock:
            run = self._run_by_id[run_id]
            run["result"] = result
            if finished(result):
                run["finished_at"] = finished_at if finished_at is not None \
                    else max(time.time(), run["started_at"] + 0.001)
                failed = 1 if result == "fail" else 0
                run.update(assertions_defined=2, assertions_failed=failed,
                           assertions_passed=2 - failed, requests_executed=1,
                           scripts_defined=1, scripts_passed=1)
            else:
                run["finished_at"] = None
            return self._public_run(run)

    def update_run(self, run_id, **fields):
        with self.lock:
            self._run_by_id[run_id].update(fields)
            return self._public_run(self._run_by_id[run_id])

    def get_run(self, run_id):
        with self.lock:
            return self._public_run(self._run_by_id[run_id])

    def runs(self, test_id):
        """The runs of a test, newest first."""
        with self.lock:
            return [self._public_run(r) for r in self._sorted_runs(test_id)]

    def served(self, run_id):
        """How many answers (results list, latest, detail) carried the run
        so far."""
        with self.lock:
            return self._served[run_id]

    def triggers(self):
        """Recorded trigger URL calls: dicts with time, method, trigger_id,
        bucket_key, test_id, params (name -> [values]), environment_id,
        regions, run_ids, status (200, 429, 400, 404)."""
        with self.lock:
            return copy.deepcopy(self._triggers)

    # ----- Python API: captured traffic

    def add_message(self, bucket_key, method="GET", host="api.example.com",
                    path="/", status=500, timestamp=None, uuid_=None,
                    list_response=None, scheme="https", body="",
                    response_body='{"error": "upstream failed"}'):
        """Adds a captured message (a request and its response) to a
        bucket. status None makes a message without a response (a
        connection error). timestamp (the request's) defaults to now.
        list_response False leaves "response" out of this message's list
        items (None: the errors_list_response option decides). A message
        whose status is >= 400 or None is in the Errors stream. Returns the
        message as its detail shows it."""
        with self.lock:
            if bucket_key not in self._buckets:
                raise KeyError("no bucket %s" % bucket_key)
            uid = uuid_ or str(uuid.uuid4())
            if uid in self._message_by_id:
                raise ValueError("message %s exists" % uid)
            ts = time.time() if timestamp is None else float(timestamp)
            msg = {
                "uuid": uid, "bucket_key": bucket_key,
                "request": {
                    "headers": {"Accept": ["application/json"],
                                "User-Agent": ["e2e/1.0"]},
                    "host": host, "method": method, "params": {},
                    "path": path, "scheme": scheme, "timestamp": ts,
                    "body": body},
                "response": None if status is None else {
                    "headers": {"Content-Type": ["application/json"]},
                    "status": status, "reason": "Error",
                    "timestamp": ts + 0.05, "body": response_body},
                "_list_response": list_response,
                "_order": self._tick(),
            }
            self._messages.setdefault(bucket_key, []).append(msg)
            self._message_by_id[uid] = msg
            return self._message_detail(msg)

    def messages(self, bucket_key=None):
        """The captured messages (of a bucket), newest first, as their
        detail shows them."""
        with self.lock:
            keys = [bucket_key] if bucket_key else list(self._messages)
            out = [m for k in keys for m in self._messages.get(k, [])]
            return [self._message_detail(m)
                    for m in sorted(out, key=self._message_order,
                                    reverse=True)]

    def message_fetches(self, message_uuid):
        """How often the message's detail was read."""
        with self.lock:
            return self._fetches[message_uuid]

    def state(self):
        with self.lock:
            return {"buckets": copy.deepcopy(list(self._buckets.values())),
                    "tests": [self._test_detail(t)
                              for ts in self._tests.values() for t in ts],
                    "runs": [self._public_run(r)
                             for r in self._run_by_id.values()]}

    # ----- rendering

    def _base(self):
        return self.base_url if self._httpd is not None else \
            "http://127.0.0.1:0"

    @staticmethod
    def _public_run(run):
        return {k: copy.deepcopy(v) for k, v in run.items()
                if not k.startswith("_")}

    def _sorted_runs(self, test_id):
        return sorted(self._runs.get(test_id, []),
                      key=lambda r: (r["started_at"], r["_order"]),
                      reverse=True)

    @staticmethod
    def _message_order(m):
        return (m["request"]["timestamp"], m["_order"])

    @staticmethod
    def _is_error(m):
        return m["response"] is None or m["response"]["status"] >= 400

    def _message_detail(self, m):
        return {k: copy.deepcopy(v) for k, v in m.items()
                if not k.startswith("_")}

    def _message_item(self, m):
        """A list item: no bodies; the response per the options."""
        item = self._message_detail(m)
        item["request"].pop("body", None)
        show = m["_list_response"]
        if show is None:
            show = self.options["errors_list_response"]
        if not show:
            item.pop("response")
        elif item["response"] is not None:
            item["response"].pop("body", None)
        return item

    def _last_run(self, t):
        runs = self._sorted_runs(t["id"])
        if not runs:
            return None
        r = runs[0]
        done = finished(r["result"])
        return {
            "remote_agent_uuid": r["agent"], "finished_at": r["finished_at"],
            "error_count": 0, "message_success": 1 if done else 0,
            "test_uuid": t["id"], "id": r["test_run_id"],
            "extractor_success": 0, "uuid": r["test_run_id"],
            "environment_uuid": r["environment_id"],
            "environment_name": r["environment_name"],
            "source": "scheduled", "remote_agent_name": None,
            "remote_agent": r["agent"],
            "status": "completed" if done else "working",
            "bucket_key": t["bucket_key"], "remote_agent_version": "unknown",
            "substitution_success": 0, "message_count": 1,
            "script_count": r["scripts_defined"],
            "substitution_count": 0, "script_success": r["scripts_passed"],
            "assertion_count": r["assertions_defined"],
            "assertion_success": r["assertions_passed"],
            "created_at": r["started_at"], "messages": [],
            "extractor_count": 0, "template_uuids": [],
            "region": r["region"],
        }

    def _test_item(self, t):
        item = {"created_at": t["created_at"],
                "created_by": copy.deepcopy(t["created_by"]),
                "default_environment_id": t["default_environment_id"],
                "description": t["description"], "name": t["name"],
                "id": t["id"]}
        if self.options["list_last_run"]:
            lr = self._last_run(t)
            item["last_run"] = lr
            item["last_run_created_at"] = lr["created_at"] if lr else None
        return item

    def _test_detail(self, t):
        return {
            "trigger_url": "%s/radar/%s/trigger" % (
                self.options["trigger_base"] or self._base(),
                t["trigger_id"]),
            "name": t["name"], "created_at": t["created_at"],
            "created_by": copy.deepcopy(t["created_by"]),
            "default_environment_id": t["default_environment_id"],
            "version": "1.0", "exported_at": int(time.time()),
            "environments": copy.deepcopy(t["environments"]),
            "schedules": copy.deepcopy(t["schedules"]),
            "steps": [{
                "url": "{{base_url}}/v1/checkout", "variables": [],
                "args": {}, "step_type": "request", "auth": {},
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, t["id"])),
                "note": "checkout", "headers": {}, "assertions": [
                    {"comparison": "equal_number", "value": 200,
                     "source": "response_status"}],
                "scripts": [], "before_scripts": [], "data": "",
                "method": "GET"}],
            "last_run": self._last_run(t),
            "id": t["id"], "description": t["description"],
        }

    def _run_detail(self, run):
        d = self._public_run(run)
        if finished(d["result"]):
            failed = d["assertions_failed"]
            d["requests"] = [{
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, d["test_id"])),
                "result": "fail" if failed else "pass",
                "url": "https://shop.example/checkout", "method": "GET",
                "assertions_defined": d["assertions_defined"],
                "assertions_failed": failed,
                "assertions_passed": d["assertions_passed"],
                "scripts_defined": d["scripts_defined"],
                "scripts_failed": d["scripts_failed"],
                "scripts_passed": d["scripts_passed"],
                "variables_defined": 0, "variables_failed": 0,
                "variables_passed": 0,
                "assertions": [{
                    "result": "fail" if failed else "pass",
                    "source": "response_status", "property": None,
                    "comparison": "equal_number", "target_value": "200",
                    "actual_value": "503" if failed else "200",
                    "error": None}],
                "scripts": [], "variables": []}]
        else:
            d["requests"] = []
        return d

    # ----- API routes

    def routes(self):
        b = r"/buckets/(?P<bucket>[^/]+)"
        t = b + r"/tests/(?P<test>[^/]+)"
        return [
            ("GET", r"/buckets", self._r_buckets),
            ("GET", b, self._r_bucket),
            ("GET", b + r"/tests", self._r_tests),
            ("GET", t, self._r_test),
            ("GET", t + r"/results", self._r_results),
            ("GET", t + r"/results/latest", self._r_latest),
            ("GET", t + r"/results/(?P<run>[^/]+)", self._r_run),
            ("GET", r"/regions", self._r_regions),
            ("GET", b + r"/errors", self._r_errors),
            ("GET", b + r"/messages", self._r_messages),
            ("GET", b + r"/messages/(?P<message>[^/]+)", self._r_message),
            ("GET|POST", r"/radar/(?P<trigger>[^/]+)/trigger",
             self._r_trigger),
        ]

    def _authorized(self, req):
        return req.headers.get("Authorization") == \
            "Bearer " + str(self.options["token"])

    def _forbidden(self):
        return json_response(error_envelope(
            403, "You must provide a valid Authorization header to use the "
            "Runscope API.",
            "https://www.runscope.com/docs/api/authentication"), 403)

    def _unknown(self, what):
        status = int(self.options["unknown_status"])
        return json_response(error_envelope(status, "%s not found" % what),
                             status)

    @staticmethod
    def _bad(message):
        return json_response(error_envelope(400, message), 400)

    def _api(func):
        """Decorator: token check and lock for the API routes."""
        def wrapper(self, req, m):
            with self.lock:
                if not self._authorized(req):
                    return self._forbidden()
                return func(self, req, m)
        return wrapper

    @_api
    def _r_buckets(self, req, m):
        return json_response(envelope(copy.deepcopy(
            list(self._buckets.values()))))

    @_api
    def _r_bucket(self, req, m):
        bkt = self._buckets.get(m["bucket"])
        if bkt is None:
            return self._unknown("Bucket")
        return json_response(envelope(copy.deepcopy(bkt)))

    @staticmethod
    def _int_param(req, name, default):
        v = req.params.get(name)
        if v is None or v == "":
            return default
        return int(v)

    @staticmethod
    def _float_param(req, name):
        v = req.params.get(name)
        if v is None or v == "":
            return None
        return float(v)

    def _capped(self, count, option):
        """count within 1 and the list's maximum (option), and within
        max_count when set."""
        count = max(1, min(count, int(self.options[option])))
        if self.options["max_count"]:
            count = min(count, max(1, int(self.options["max_count"])))
        return count

    @_api
    def _r_tests(self, req, m):
        if m["bucket"] not in self._buckets:
            return self._unknown("Bucket")
        try:
            count = self._int_param(req, "count", 10)
            offset = self._int_param(req, "offset", 0)
        except ValueError:
            return self._bad("count and offset must be integers")
        count = self._capped(count, "tests_max")
        offset = max(0, offset)
        tests = sorted(self._tests[m["bucket"]],
                       key=lambda t: (t["created_at"], t["order"]),
                       reverse=True)
        page = tests[offset:offset + count]
        return json_response(envelope([self._test_item(t) for t in page]))

    def _test_of(self, m):
        if m["bucket"] not in self._buckets:
            return None, self._unknown("Bucket")
        t = self._test_by_id.get(m["test"])
        if t is None or t["bucket_key"] != m["bucket"]:
            return None, self._unknown("Test")
        return t, None

    @_api
    def _r_test(self, req, m):
        t, err = self._test_of(m)
        return err or json_response(envelope(self._test_detail(t)))

    @_api
    def _r_results(self, req, m):
        t, err = self._test_of(m)
        if err:
            return err
        try:
            count = self._int_param(req, "count", 10)
            since = self._float_param(req, "since")
            before = self._float_param(req, "before")
        except ValueError:
            return self._bad("count must be an integer, since and before "
                             "numbers")
        count = self._capped(count, "results_max")
        runs = [r for r in self._sorted_runs(t["id"])
                if (since is None or r["started_at"] > since)
                and (before is None or r["started_at"] < before)][:count]
        for r in runs:
            self._served[r["test_run_id"]] += 1
        return json_response(envelope([self._public_run(r) for r in runs]))

    @_api
    def _r_latest(self, req, m):
        t, err = self._test_of(m)
        if err:
            return err
        runs = self._sorted_runs(t["id"])
        if not runs:
            return self._unknown("Test run")
        self._served[runs[0]["test_run_id"]] += 1
        return json_response(envelope(self._run_detail(runs[0])))

    @_api
    def _r_run(self, req, m):
        t, err = self._test_of(m)
        if err:
            return err
        run = self._run_by_id.get(m["run"])
        if run is None or run["test_id"] != t["id"]:
            return self._unknown("Test run")
        self._served[run["test_run_id"]] += 1
        return json_response(envelope(self._run_detail(run)))

    def _message_list(self, req, bucket_key, errors_only):
        if bucket_key not in self._buckets:
            return self._unknown("Bucket")
        try:
            count = self._int_param(req, "count", 50)
            since = self._float_param(req, "since")
            before = self._float_param(req, "before")
        except ValueError:
            return self._bad("count must be an integer, since and before "
                             "numbers")
        count = self._capped(count, "messages_max")
        msgs = sorted(self._messages.get(bucket_key, []),
                      key=self._message_order, reverse=True)
        msgs = [x for x in msgs
                if (not errors_only or self._is_error(x))
                and (since is None or x["request"]["timestamp"] > since)
                and (before is None or x["request"]["timestamp"] < before)]
        return json_response(envelope([self._message_item(x)
                                       for x in msgs[:count]]))

    @_api
    def _r_errors(self, req, m):
        return self._message_list(req, m["bucket"], True)

    @_api
    def _r_messages(self, req, m):
        return self._message_list(req, m["bucket"], False)

    @_api
    def _r_message(self, req, m):
        if m["bucket"] not in self._buckets:
            return self._unknown("Bucket")
        msg = self._message_by_id.get(m["message"])
        if msg is None or msg["bucket_key"] != m["bucket"]:
            return self._unknown("Message")
        self._fetches[msg["uuid"]] += 1
        return json_response(envelope(self._message_detail(msg)))

    @_api
    def _r_regions(self, req, m):
        return json_response(envelope({"regions": copy.deepcopy(REGIONS)}))

    def _r_trigger(self, req, m):
        params = urllib.parse.parse_qs(req.query, keep_blank_values=True)
        ctype = req.headers.get("Content-Type", "")
        if req.method == "POST" and ctype.startswith(
                "application/x-www-form-urlencoded"):
            for k, v in urllib.parse.parse_qs(
                    req.body.decode("utf-8", "replace"),
                    keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        with self.lock:
            rec = {"time": time.time(), "method": req.method,
                   "trigger_id": m["trigger"], "bucket_key": None,
                   "test_id": None, "params": params,
                   "environment_id": None, "regions": [], "run_ids": [],
                   "status": None}
            self._triggers.append(rec)
            resp = self._trigger(rec, params)
            rec["status"] = resp.status
            return resp

    def _trigger(self, rec, params):
        t = next((t for t in self._test_by_id.values()
                  if t["trigger_id"] == rec["trigger_id"]), None)
        if t is None:
            return json_response(error_envelope(404, "Trigger not found"),
                                 404)
        rec["bucket_key"], rec["test_id"] = t["bucket_key"], t["id"]
        now = time.time()
        times = self._trigger_times[rec["trigger_id"]]
        while times and times[0] <= now - float(
                self.options["trigger_window"]):
            times.popleft()
        if len(times) >= int(self.options["trigger_limit"]):
            headers = {}
            if self.options["trigger_retry_after"] is not None:
                headers["Retry-After"] = str(
                    self.options["trigger_retry_after"])
            return json_response(error_envelope(
                429, "Trigger URL rate limit exceeded: at most %s triggers "
                "per %s seconds" % (self.options["trigger_limit"],
                                    self.options["trigger_window"])),
                429, headers)
        env_ref = (params.get("runscope_environment") or [None])[0]
        try:
            env = self._find_env(t, env_ref or None)
        except KeyError:
            return json_response(error_envelope(
                400, "Invalid runscope_environment"), 400)
        times.append(now)
        regions = [c for v in params.get("runscope_region", [])
                   for c in v.split(",") if c]
        agents = [c for v in params.get("runscope_agent", [])
                  for c in v.split(",") if c]
        if not regions and not agents:
            regions = list(env["regions"])
            agents = [a["agent_id"] for a in env["remote_agents"]]
        rec["environment_id"] = env["id"]
        rec["regions"] = regions + agents
        variables = {k: v[-1] for k, v in params.items()
                     if not k.startswith("runscope_")}
        runs = []
        for loc in [(r, None) for r in regions] + [(None, a) for a in agents]:
            if self.options["trigger_creates_runs"]:
                run = self._new_run(t, env, "queued", loc[0], loc[1],
                                    started_at=now)
                run_id = run["test_run_id"]
            else:
                run_id = str(uuid.uuid4())
            rec["run_ids"].append(run_id)
            dash = "%s/radar/%s/%s" % (self._base(), t["bucket_key"], t["id"])
            runs.append({
                "agent": loc[1], "bucket_key": t["bucket_key"],
                "region": loc[0], "status": "init", "test_id": t["id"],
                "test_name": t["name"], "environment_id": env["id"],
                "environment_name": env["name"], "test_run_id": run_id,
                "test_url": dash,
                "test_run_url": dash + "/results/" + run_id,
                "variables": variables})
        return json_response(envelope({
            "runs": runs, "runs_failed": 0, "runs_started": len(runs),
            "runs_total": len(runs)}))

    # ----- control routes

    def control_routes(self):
        c = r"/_control"
        return [
            ("POST", c + r"/buckets", self._c_add_bucket),
            ("POST", c + r"/buckets/(?P<bucket>[^/]+)/tests",
             self._c_add_test),
            ("POST", c + r"/buckets/(?P<bucket>[^/]+)/tests/(?P<test>[^/]+)"
             r"/runs", self._c_add_run),
            ("POST", c + r"/runs/(?P<run>[^/]+)/finish", self._c_finish),
            ("POST", c + r"/runs/(?P<run>[^/]+)", self._c_update_run),
            ("GET", c + r"/runs/(?P<run>[^/]+)", self._c_get_run),
            ("GET", c + r"/triggers", self._c_triggers),
            ("GET", c + r"/state", self._c_state),
            ("POST", c + r"/buckets/(?P<bucket>[^/]+)/messages",
             self._c_add_message),
            ("GET", c + r"/messages/(?P<message>[^/]+)", self._c_get_message),
        ]

    def _c_add_bucket(self, req, m):
        return json_response(self.add_bucket(**(req.json() or {})), 201)

    def _c_add_test(self, req, m):
        body = req.json() or {}
        return json_response(self.add_test(m["bucket"], **body), 201)

    def _c_add_run(self, req, m):
        body = req.json() or {}
        return json_response(self.add_run(
            m["bucket"], urllib.parse.unquote(m["test"]), **body), 201)

    def _c_finish(self, req, m):
        return json_response(self.finish_run(m["run"], **(req.json() or {})))

    def _c_update_run(self, req, m):
        return json_response(self.update_run(m["run"], **(req.json() or {})))

    def _c_get_run(self, req, m):
        run = self.get_run(m["run"])
        run["served"] = self.served(m["run"])
        return json_response(run)

    def _c_triggers(self, req, m):
        return json_response(self.triggers())

    def _c_state(self, req, m):
        return json_response(self.state())

    def _c_add_message(self, req, m):
        body = dict(req.json() or {})
        if "uuid" in body:
            body["uuid_"] = body.pop("uuid")
        return json_response(self.add_message(m["bucket"], **body), 201)

    def _c_get_message(self, req, m):
        with self.lock:
            msg = self._message_by_id[m["message"]]
            out = self._message_detail(msg)
        out["fetches"] = self.message_fetches(m["message"])
        return json_response(out)


if __name__ == "__main__":
    sys.exit(FakeRunscope.main())
