# SPDX-License-Identifier: MIT
"""Checks of the fake Runscope and xMatters servers themselves, over HTTP.

The end-to-end tests trust the fakes; these tests make that trust earned:
paging, exclusive since/before, auth failures, links.next, "#en" suffix
matching, the trigger rate limit and fault injection.
"""

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

import fake_runscope  # noqa: E402
import fake_xmatters  # noqa: E402

TOKEN = "rs-token-for-fake-tests"


def call(base_url, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection: (status, headers, parsed body or
    raw bytes when the body is not JSON)."""
    u = urllib.parse.urlsplit(base_url)
    assert u.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        data = body
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return resp.status, dict(resp.getheaders()), parsed
    finally:
        conn.close()


class RunscopeFakeTest(unittest.TestCase):

    def setUp(self):
        self.rs = fake_runscope.FakeRunscope(token=TOKEN).start()
        self.addCleanup(self.rs.stop)
        self.auth = {"Authorization": "Bearer " + TOKEN}

    def get(self, path, **kw):
        return call(self.rs.base_url, "GET", path,
                    headers=kw.pop("headers", self.auth), **kw)

    def test_binds_loopback_only(self):
        self.assertEqual(self.rs._httpd.server_address[0], "127.0.0.1")
        self.assertTrue(self.rs.base_url.startswith("http://127.0.0.1:"))

    def test_missing_or_wrong_token_is_403_with_error_envelope(self):
        self.rs.add_bucket("b1", "Shop")
        for headers in ({}, {"Authorization": "Bearer nope"},
                        {"Authorization": TOKEN}):
            status, _, body = self.get("/buckets", headers=headers)
            self.assertEqual(status, 403)
            self.assertEqual(body["meta"], {"status": "error"})
            self.assertEqual(body["data"], {})
            self.assertEqual(body["error"]["status"], 403)
            self.assertIn("Authorization", body["error"]["message"])
            self.assertIn("more_info", body["error"])

    def test_buckets(self):
        self.rs.add_bucket("b1", "Shop")
        self.rs.add_bucket("b2", "Mobile")
        status, _, body = self.get("/buckets")
        self.assertEqual(status, 200)
        self.assertEqual(body["meta"], {"status": "success"})
        self.assertIsNone(body["error"])
        self.assertEqual([b["key"] for b in body["data"]], ["b1", "b2"])
        self.assertEqual(body["data"][0]["team"]["name"], "Personal Team")
        status, _, body = self.get("/buckets/b2")
        self.assertEqual((status, body["data"]["name"]), (200, "Mobile"))
        status, _, body = self.get("/buckets/nope")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["status"], 404)
        self.rs.set_config(unknown_status=403)
        self.assertEqual(self.get("/buckets/nope")[0], 403)

    def test_tests_paging_default_cap_and_newest_first(self):
        self.rs.add_bucket("b1")
        base = int(time.time()) - 1000
        for i in range(1, 121):
            self.rs.add_test("b1", "Test %d" % i, created_at=base + i)
        status, _, body = self.get("/buckets/b1/tests")
        self.assertEqual(status, 200)
        self.assertEqual(len(body["data"]), 10, "default count is 10")
        self.assertEqual(body["data"][0]["name"], "Test 120", "newest first")
        item = body["data"][0]
        for field in ("id", "name", "created_at", "default_environment_id",
                      "description", "created_by"):
            self.assertIn(field, item)
        self.assertEqual(len(self.get("/buckets/b1/tests?count=100")[2]
                             ["data"]), 50, "count is capped at 50")
        names, offset = [], 0
        while True:
            page = self.get("/buckets/b1/tests?count=50&offset=%d"
                            % offset)[2]["data"]
            names += [t["name"] for t in page]
            if len(page) < 50:
                break
            offset += 50
        self.assertEqual(offset, 100)
        self.assertEqual(names, ["Test %d" % i for i in range(120, 0, -1)])
        self.assertEqual(self.get("/buckets/b1/tests?count=x")[0], 400)

    def test_test_detail_has_loopback_trigger_url_and_environments(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "Checkout API", environments=[
            {"name": "Production", "regions": ["us1", "eu1"]},
            {"name": "Staging", "id": "env-staging"}],
            schedules=[{"environment": "Production", "interval": "1m"}])
        status, _, body = self.get("/buckets/b1/tests/" + t["id"])
        self.assertEqual(status, 200)
        d = body["data"]
        self.assertEqual(d["trigger_url"], "%s/radar/%s/trigger" % (
            self.rs.base_url, d["trigger_url"].split("/")[-2]))
        self.assertTrue(d["trigger_url"].startswith("http://127.0.0.1:"))
        self.assertEqual([e["name"] for e in d["environments"]],
                         ["Production", "Staging"])
        self.assertEqual(d["environments"][0]["regions"], ["us1", "eu1"])
        self.assertEqual(d["environments"][1]["id"], "env-staging")
        self.assertEqual(d["environments"][0]["remote_agents"], [])
        self.assertEqual(d["default_environment_id"],
                         d["environments"][0]["id"])
        self.assertEqual(d["schedules"][0]["interval"], "1m")
        self.assertEqual(d["schedules"][0]["environment_id"],
                         d["environments"][0]["id"])
        self.assertIsNone(d["last_run"])
        run = self.rs.add_run("b1", t["id"], result="pass")
        d = self.get("/buckets/b1/tests/" + t["id"])[2]["data"]
        self.assertEqual(d["last_run"]["id"], run["test_run_id"])
        self.assertEqual(d["last_run"]["status"], "completed")
        self.assertEqual(self.get("/buckets/b1/tests/nope")[0], 404)

    def _results(self, tid, query=""):
        status, _, body = self.get("/buckets/b1/tests/%s/results%s"
                                   % (tid, query))
        self.assertEqual(status, 200)
        return body["data"]

    def test_results_since_before_exclusive_count_and_order(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T", environments=[
            {"name": "Production", "regions": ["us1"]}])
        t0 = 1700000000.25
        ids = [self.rs.add_run("b1", t["id"], result="pass",
                               started_at=t0 + i)["test_run_id"]
               for i in range(60)]
        data = self._results(t["id"])
        self.assertEqual(len(data), 10, "default count is 10")
        self.assertEqual([r["test_run_id"] for r in data],
                         ids[::-1][:10], "newest first")
        self.assertEqual(len(self._results(t["id"], "?count=200")), 50,
                         "count is capped at 50")
        data = self._results(t["id"], "?since=%f" % (t0 + 55))
        self.assertEqual([r["started_at"] for r in data],
                         [t0 + i for i in (59, 58, 57, 56)],
                         "since is exclusive")
        data = self._results(t["id"], "?before=%f&count=50" % (t0 + 3))
        self.assertEqual([r["started_at"] for r in data],
                         [t0 + 2, t0 + 1, t0], "before is exclusive")
        data = self._results(t["id"], "?since=%f&before=%f" % (t0 + 10,
                                                              t0 + 13))
        self.assertEqual([r["started_at"] for r in data],
                         [t0 + 12, t0 + 11])
        self.assertEqual(self.get("/buckets/b1/tests/%s/results?since=x"
                                  % t["id"])[0], 400)

    def test_results_item_fields_and_unfinished_runs(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T", environments=[
            {"name": "Production", "regions": ["us1", "eu1"]}])
        fail = self.rs.add_run("b1", "T", "Production", "fail",
                               region="eu1")
        work = self.rs.add_run("b1", t["id"], result="working")
        data = self._results(t["id"])
        self.assertEqual([r["test_run_id"] for r in data],
                         [work["test_run_id"], fail["test_run_id"]])
        w, f = data
        self.assertEqual(w["result"], "working")
        self.assertIsNone(w["finished_at"])
        self.assertEqual(f["result"], "fail")
        self.assertGreater(f["finished_at"], f["started_at"])
        self.assertEqual(f["assertions_failed"], 1)
        for field in ("agent", "assertions_defined", "assertions_failed",
                      "assertions_passed", "bucket_key", "finished_at",
                      "region", "requests_executed", "result",
                      "scripts_defined", "scripts_failed", "scripts_passed",
                      "started_at", "test_run_id", "test_run_url", "test_id",
                      "variables_defined", "variables_failed",
                      "variables_passed", "environment_id",
                      "environment_name"):
            self.assertIn(field, f)
        self.assertEqual(f["region"], "eu1")
        self.assertIsNone(f["agent"])
        self.assertEqual(f["environment_name"], "Production")
        self.assertTrue(f["test_run_url"].startswith(self.rs.base_url))
        self.assertEqual(self.rs.served(fail["test_run_id"]), 1)
        self.rs.finish_run(work["test_run_id"], "fail")
        w = self._results(t["id"])[0]
        self.assertEqual((w["result"], w["started_at"]),
                         ("fail", work["started_at"]))
        self.assertIsNotNone(w["finished_at"])

    def test_odd_results_are_finished(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T")
        odd = self.rs.add_run("b1", t["id"], result="error")
        self.assertEqual(odd["result"], "error")
        self.assertGreater(odd["finished_at"], odd["started_at"])
        (r,) = self._results(t["id"])
        self.assertEqual((r["result"], r["finished_at"]),
                         ("error", odd["finished_at"]))
        init = self.rs.add_run("b1", t["id"], result="init")
        self.assertIsNone(init["finished_at"])
        self.rs.finish_run(init["test_run_id"], "error")
        self.assertIsNotNone(self.rs.get_run(init["test_run_id"])
                             ["finished_at"])

    def test_max_count_caps_every_page(self):
        self.rs.add_bucket("b1")
        for i in range(45):
            self.rs.add_test("b1", "Test %d" % i)
        self.rs.set_config(max_count=20)
        sizes = [len(self.get("/buckets/b1/tests?count=50&offset=%d"
                              % o)[2]["data"]) for o in (0, 20, 40, 60)]
        self.assertEqual(sizes, [20, 20, 5, 0])
        t = self.rs.add_test("b1", "Runs")
        for i in range(30):
            self.rs.add_run("b1", t["id"], result="pass",
                            started_at=time.time() - 100 + i)
        self.assertEqual(len(self._results(t["id"], "?count=50")), 20)
        self.rs.set_config(max_count=None)
        self.assertEqual(len(self._results(t["id"], "?count=50")), 30)

    def test_latest_and_run_detail(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T")
        path = "/buckets/b1/tests/%s/results/" % t["id"]
        self.assertEqual(self.get(path + "latest")[0], 404,
                         "never-run test")
        r1 = self.rs.add_run("b1", t["id"], result="fail",
                             started_at=time.time() - 10)
        r2 = self.rs.add_run("b1", t["id"], result="pass")
        status, _, body = self.get(path + "latest")
        self.assertEqual(status, 200)
        self.assertEqual(body["data"]["test_run_id"], r2["test_run_id"])
        status, _, body = self.get(path + r1["test_run_id"])
        self.assertEqual(status, 200)
        self.assertEqual(body["data"]["result"], "fail")
        self.assertEqual(body["data"]["requests"][0]["assertions_failed"], 1)
        self.assertEqual(self.get(path + "nope")[0], 404)

    def test_trigger_records_creates_runs_and_rate_limits(self):
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T", environments=[
            {"name": "Production", "regions": ["us1", "eu1"]},
            {"name": "Staging"}])
        env = t["environments"][0]["id"]
        path = urllib.parse.urlsplit(t["trigger_url"]).path
        status, _, body = call(self.rs.base_url, "POST", path +
                               "?runscope_environment=%s&runscope_region=eu1"
                               "&baseUrl=x" % env)
        self.assertEqual(status, 200)
        self.assertEqual(body["meta"], {"status": "success"})
        runs = body["data"]["runs"]
        self.assertEqual(len(runs), 1)
        self.assertEqual((runs[0]["status"], runs[0]["region"],
                          runs[0]["environment_id"]), ("init", "eu1", env))
        self.assertEqual(runs[0]["variables"], {"baseUrl": "x"})
        self.assertEqual(body["data"]["runs_started"], 1)
        made = self.rs.get_run(runs[0]["test_run_id"])
        self.assertEqual((made["result"], made["region"]), ("queued", "eu1"))
        status, _, body = call(self.rs.base_url, "GET", path +
                               "?runscope_environment=Production")
        self.assertEqual(len(body["data"]["runs"]), 2, "every region")
        rec = self.rs.triggers()
        self.assertEqual(len(rec), 2)
        self.assertEqual(rec[0]["params"]["runscope_region"], ["eu1"])
        self.assertEqual((rec[0]["test_id"], rec[0]["method"]),
                         (t["id"], "POST"))
        for _ in range(8):
            self.assertEqual(call(self.rs.base_url, "GET", path)[0], 200)
        status, headers, body = call(self.rs.base_url, "GET", path)
        self.assertEqual(status, 429, "11th trigger in 10 s")
        self.assertEqual(body["error"]["status"], 429)
        self.assertNotIn("Retry-After", headers)
        self.rs.set_config(trigger_retry_after=7)
        status, headers, _ = call(self.rs.base_url, "POST", path)
        self.assertEqual((status, headers.get("Retry-After")), (429, "7"))
        self.assertEqual([r["status"] for r in self.rs.triggers()][-2:],
                         [429, 429])
        self.assertEqual(call(self.rs.base_url, "GET",
                              "/radar/nope/trigger")[0], 404)

    def test_trigger_window_slides(self):
        self.rs.set_config(trigger_limit=2, trigger_window=0.5)
        self.rs.add_bucket("b1")
        t = self.rs.add_test("b1", "T")
        path = urllib.parse.urlsplit(t["trigger_url"]).path
        self.assertEqual([call(self.rs.base_url, "GET", path)[0]
                          for _ in range(3)], [200, 200, 429])
        deadline = time.time() + 5
        while call(self.rs.base_url, "GET", path)[0] != 200:
            self.assertLess(time.time(), deadline, "window never slid")
            time.sleep(0.05)

    def test_control_interface_over_http(self):
        c = self.rs.base_url
        self.assertEqual(call(c, "POST", "/_control/buckets",
                              {"key": "b1", "name": "Shop"})[0], 201)
        status, _, t = call(c, "POST", "/_control/buckets/b1/tests", {
            "name": "Checkout API", "environments": [
                {"name": "Production", "regions": ["us1"]}]})
        self.assertEqual(status, 201)
        status, _, run = call(c, "POST", "/_control/buckets/b1/tests/%s/runs"
                              % urllib.parse.quote("Checkout API"),
                              {"environment": "Production",
                               "result": "working"})
        self.assertEqual((status, run["result"]), (201, "working"))
        status, _, run = call(c, "POST", "/_control/runs/%s/finish"
                              % run["test_run_id"], {"result": "fail"})
        self.assertEqual((status, run["result"]), (200, "fail"))
        self.get("/buckets/b1/tests/%s/results" % t["id"])
        status, _, got = call(c, "GET", "/_control/runs/" +
                              run["test_run_id"])
        self.assertEqual(got["served"], 1)
        status, _, log = call(c, "GET", "/_control/requests?path=/results$")
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["headers"]["Authorization"], "Bearer ***",
                         "the log masks credentials")
        self.assertNotIn(TOKEN, json.dumps(self.rs.requests()))
        self.assertEqual(call(c, "POST", "/_control/config",
                              {"nope": 1})[0], 400)
        self.assertEqual(call(c, "POST", "/_control/reset")[0], 200)
        self.assertEqual(self.rs.requests(), [])
        self.assertEqual(self.get("/buckets")[2]["data"], [])

    # ----- captured traffic (errors stream and message details)

    def _errors(self, query=""):
        status, _, body = self.get("/buckets/b1/errors%s" % query)
        self.assertEqual(status, 200)
        return body["data"]

    def test_errors_stream_filters_pages_and_orders(self):
        self.rs.add_bucket("b1")
        self.rs.add_bucket("b2")
        t0 = 1700000000.25
        ids = [self.rs.add_message("b1", status=500 + i % 4,
                                   timestamp=t0 + i)["uuid"]
               for i in range(60)]
        ok = self.rs.add_message("b1", status=200, timestamp=t0 + 100)
        none = self.rs.add_message("b1", status=None, timestamp=t0 + 101)
        self.rs.add_message("b2", status=500, timestamp=t0 + 102)
        data = self._errors()
        self.assertEqual(len(data), 50, "default count is 50")
        self.assertEqual([m["uuid"] for m in data],
                         [none["uuid"]] + ids[::-1][:49],
                         "newest first, errors only, this bucket only")
        self.assertNotIn(ok["uuid"], [m["uuid"] for m in self._errors(
            "?count=5000")])
        self.assertEqual(len(self._errors("?count=5000")), 61)
        data = self._errors("?since=%f" % (t0 + 57))
        self.assertEqual([m["request"]["timestamp"] for m in data],
                         [t0 + 101, t0 + 59, t0 + 58], "since is exclusive")
        data = self._errors("?since=%f&before=%f" % (t0 + 10, t0 + 13))
        self.assertEqual([m["request"]["timestamp"] for m in data],
                         [t0 + 12, t0 + 11], "before is exclusive")
        self.assertEqual(self.get("/buckets/b1/errors?since=x")[0], 400)
        self.assertEqual(len(self.get("/buckets/b1/messages?count=1000")[2]
                             ["data"]), 62, "messages lists every message")
        self.rs.set_config(messages_max=7)
        self.assertEqual(len(self._errors("?count=1000")), 7, "the cap")

    def test_message_shapes_list_and_detail(self):
        self.rs.add_bucket("b1")
        m = self.rs.add_message("b1", method="POST", host="pay.example.com",
                                path="/checkout", status=503,
                                timestamp=1700000000.5)
        gone = self.rs.add_message("b1", status=None, timestamp=1700000001)
        (item,) = [x for x in self._errors() if x["uuid"] == m["uuid"]]
        self.assertEqual(item["bucket_key"], "b1")
        self.assertEqual({k: item["request"][k] for k in
                          ("method", "host", "path", "scheme", "timestamp")},
                         {"method": "POST", "host": "pay.example.com",
                          "path": "/checkout", "scheme": "https",
                          "timestamp": 1700000000.5})
        self.assertIsInstance(item["request"]["headers"]["Accept"], list)
        self.assertEqual(item["response"]["status"], 503)
        self.assertNotIn("body", item["request"], "lists have no bodies")
        self.assertNotIn("body", item["response"])
        (item,) = [x for x in self._errors() if x["uuid"] == gone["uuid"]]
        self.assertIsNone(item["response"], "no response: null")
        self.assertEqual(self.rs.message_fetches(m["uuid"]), 0)
        status, _, body = self.get("/buckets/b1/messages/" + m["uuid"])
        self.assertEqual(status, 200)
        self.assertEqual(body["data"]["response"]["status"], 503)
        self.assertIn("body", body["data"]["response"])
        self.assertIn("body", body["data"]["request"])
        self.assertEqual(self.rs.message_fetches(m["uuid"]), 1)
        self.assertEqual(self.get("/buckets/b1/messages/nope")[0], 404)
        self.assertEqual(self.get("/buckets/b9/errors")[0], 404)
        self.assertEqual(self.get("/buckets/b1/errors", headers={})[0], 403)
        # lists that leave the response out: the detail has it
        self.rs.set_config(errors_list_response=False)
        self.assertTrue(all("response" not in x for x in self._errors()))
        self.rs.set_config(errors_list_response=True)
        quiet = self.rs.add_message("b1", status=502, list_response=False)
        (item,) = [x for x in self._errors() if x["uuid"] == quiet["uuid"]]
        self.assertNotIn("response", item)
        self.assertEqual(self.get("/buckets/b1/messages/" + quiet["uuid"])
                         [2]["data"]["response"]["status"], 502)

    def test_messages_control_over_http(self):
        c = self.rs.base_url
        call(c, "POST", "/_control/buckets", {"key": "b1", "name": "Shop"})
        status, _, m = call(c, "POST", "/_control/buckets/b1/messages",
                            {"method": "DELETE", "path": "/v1/x",
                             "status": 504, "uuid": "m-1",
                             "timestamp": 1700000000})
        self.assertEqual((status, m["uuid"]), (201, "m-1"))
        self.assertEqual(call(c, "POST", "/_control/buckets/b1/messages",
                              {"uuid": "m-1"})[0], 400, "uuids are unique")
        self.get("/buckets/b1/messages/m-1")
        status, _, got = call(c, "GET", "/_control/messages/m-1")
        self.assertEqual((status, got["fetches"]), (200, 1))
        self.assertEqual(got["request"]["method"], "DELETE")
        self.assertEqual(call(c, "POST", "/_control/reset")[0], 200)
        self.assertEqual(self.rs.messages(), [])

    def test_fault_status_with_retry_after_then_normal(self):
        self.rs.add_bucket("b1")
        self.rs.inject_fault(method="GET", path="^/buckets$", count=2,
                             status=503, retry_after=3)
        for _ in range(2):
            status, headers, body = self.get("/buckets")
            self.assertEqual((status, headers.get("Retry-After")),
                             (503, "3"))
            self.assertEqual(body["error"]["status"], 503)
        self.assertEqual(self.get("/buckets")[0], 200, "count exhausted")
        self.assertEqual(self.rs.faults(), [])
        self.assertEqual([r["fault"] for r in self.rs.requests()],
                         ["status", "status", None])

    def test_fault_non_json_body_and_method_filter(self):
        self.rs.add_bucket("b1")
        status, _, _ = call(self.rs.base_url, "POST", "/_control/faults",
                            {"method": "POST", "path": "/buckets",
                             "status": 500, "body": "<html>oops</html>"})
        self.assertEqual(status, 201)
        self.assertEqual(self.get("/buckets")[0], 200, "GET not matched")
        status, headers, body = call(self.rs.base_url, "POST", "/buckets",
                                     headers=self.auth)
        self.assertEqual((status, body), (500, b"<html>oops</html>"))
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))

    def test_fault_delay(self):
        self.rs.add_bucket("b1")
        self.rs.inject_fault(path="/buckets", action="delay", delay=0.4)
        start = time.monotonic()
        self.assertEqual(self.get("/buckets")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)

    def test_fault_delay_beyond_client_timeout(self):
        self.rs.add_bucket("b1")
        self.rs.inject_fault(path="/buckets", action="delay", delay=1.0)
        with self.assertRaises(OSError):
            self.get("/buckets", timeout=0.2)

    def test_fault_close_mid_body(self):
        self.rs.add_bucket("b1", "A bucket with a long enough name")
        self.rs.inject_fault(path="/buckets", action="close")
        with self.assertRaises(http.client.IncompleteRead):
            self.get("/buckets")
        self.assertEqual(self.get("/buckets")[0], 200)

    def test_fault_drop(self):
        self.rs.inject_fault(path="/buckets", action="drop")
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.get("/buckets")

    def test_fault_malformed_json(self):
        self.rs.add_bucket("b1")
        self.rs.inject_fault(path="/buckets", action="malformed", count=-1)
        for _ in range(3):
            status, _, body = self.get("/buckets")
            self.assertEqual(status, 200)
            self.assertIsInstance(body, bytes, "not parseable as JSON")
        self.assertEqual(len(self.rs.faults()), 1, "count -1 stays")
        self.rs.clear_faults()
        self.assertEqual(self.get("/buckets")[0], 200)

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "..", "fakes",
                                              "fake_runscope.py"),
                 "--port", "0", "--port-file", port_file, "--token", "t1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.time() + 10
                while not os.path.exists(port_file):
                    self.assertIsNone(proc.poll(), "fake exited early")
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
                with open(port_file) as f:
                    url = "http://127.0.0.1:%d" % int(f.read())
                call(url, "POST", "/_control/buckets", {"key": "k"})
                status, _, body = call(url, "GET", "/buckets", headers={
                    "Authorization": "Bearer t1"})
                self.assertEqual((status, body["data"][0]["key"]),
                                 (200, "k"))
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0)
                proc.stderr.close()


FUNC = "0b7b4c5a-1c6e-4d71-9a3e-6f0c0e5b7a11"
API_KEY = "xm-apikey-for-fake-tests"
USER, PASSWORD = "runscope", "xm-password-for-fake-tests"


class XMattersFakeTest(unittest.TestCase):

    def setUp(self):
        self.xm = fake_xmatters.FakeXMatters(
            user=USER, password=PASSWORD, functions={FUNC: API_KEY}).start()
        self.addCleanup(self.xm.stop)
        cred = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode())
        self.basic = {"Authorization": "Basic " + cred.decode()}

    def trigger(self, body, query="?apiKey=" + API_KEY, headers=None,
                func=FUNC):
        return call(self.xm.base_url, "POST",
                    "/api/integration/1/functions/%s/triggers%s"
                    % (func, query), body, headers)

    def rest(self, method, path, body=None, headers=None):
        return call(self.xm.base_url, method, path, body,
                    self.basic if headers is None else headers)

    def make(self, key, **props):
        body = {"properties": dict(runscope_key=key, **props),
                "priority": "HIGH",
                "responseOptions": [{"number": 1, "text": "Acknowledge"},
                                    {"number": 2, "text": "Rerun"}]}
        status, _, answer = self.trigger(body)
        self.assertEqual(status, 202)
        return answer["requestId"]

    def test_trigger_url_helper(self):
        self.assertEqual(self.xm.trigger_url(),
                         "%s/api/integration/1/functions/%s/triggers?apiKey=%s"
                         % (self.xm.base_url, FUNC, API_KEY))

    def test_trigger_auth_and_body_errors(self):
        cases = [("", None, 401), ("?apiKey=wrong", None, 403),
                 ("?apiKey=" + API_KEY, None, 202),
                 ("", self.basic, 202),
                 ("", {"Authorization": "Basic " + base64.b64encode(
                     b"runscope:nope").decode()}, 403)]
        for query, headers, want in cases:
            status, _, body = self.trigger({"properties": {}}, query,
                                           headers)
            self.assertEqual(status, want, (query, headers))
            if want != 202:
                self.assertEqual(set(body), {"code", "reason", "message"})
                self.assertEqual(body["code"], want)
        status, _, body = self.trigger({}, func="unknown")
        self.assertEqual((status, body["code"]), (404, 404))
        status, _, body = self.trigger(b"not json")
        self.assertEqual((status, body["reason"]), (400, "Bad Request"))
        self.assertEqual([t["status"] for t in self.xm.triggers()],
                         [401, 403, 202, 202, 403, 404, 400])
        self.assertEqual(len(self.xm.events()), 2)

    def test_trigger_creates_event_with_en_suffixes(self):
        rid = self.make("b/t/e", test_name="Checkout API",
                        assertions_failed=2, flaky=False)
        (ev,) = self.xm.events()
        self.assertEqual(ev["status"], "ACTIVE")
        self.assertEqual(ev["requestId"], rid)
        self.assertTrue(ev["eventId"].isdigit())
        self.assertEqual(len(ev["id"]), 36)
        self.assertEqual(ev["properties"], {
            "runscope_key#en": "b/t/e", "test_name#en": "Checkout API",
            "assertions_failed": 2, "flaky": False})
        self.assertEqual(ev["plain_properties"]["runscope_key"], "b/t/e")
        self.assertEqual([o["text"] for o in ev["responseOptions"]],
                         ["Acknowledge", "Rerun"])
        (trig,) = self.xm.triggers()
        self.assertEqual(trig["body"]["properties"]["runscope_key"], "b/t/e")
        self.assertEqual(trig["event_id"], ev["id"])

    def test_rest_needs_basic_auth(self):
        for headers in ({}, {"Authorization": "Basic " + base64.b64encode(
                b"runscope:wrong").decode()},
                {"Authorization": "Bearer x"}):
            status, _, body = self.rest("GET", "/api/xm/1/events",
                                        headers=headers)
            self.assertEqual(status, 401)
            self.assertEqual((body["code"], body["reason"]),
                             (401, "Unauthorized"))
        self.assertEqual(self.rest("GET", "/api/xm/1/events")[0], 200)

    def test_events_filters_and_embed(self):
        r1 = self.make("b/t1/e", region="us1")
        self.make("b/t2/e", region="eu1")
        self.make("b/t1/e2", region="us1")
        ev3 = self.xm.events()[2]
        self.xm.terminate_as_person(ev3["id"], by="jdoe")

        def keys(query):
            status, _, body = self.rest("GET", "/api/xm/1/events?" + query)
            self.assertEqual(status, 200, query)
            self.assertEqual(body["count"], len(body["data"]))
            return sorted(e["properties"]["runscope_key#en"]
                          for e in body["data"])

        q = "embed=properties&"
        self.assertEqual(keys(q + "status=ACTIVE"), ["b/t1/e", "b/t2/e"])
        self.assertEqual(keys(q + "status=ACTIVE,TERMINATED"),
                         ["b/t1/e", "b/t1/e2", "b/t2/e"])
        self.assertEqual(keys(q + "propertyName=runscope_key&propertyValue="
                              + urllib.parse.quote("b/t1/e", safe="") +
                              "&propertyValueOperator=EQUALS"),
                         ["b/t1/e"])
        self.assertEqual(keys(q + "propertyName=runscope_key&propertyValue="
                              + urllib.parse.quote("b/t1/e", safe="")),
                         ["b/t1/e", "b/t1/e2"],
                         "CONTAINS, the default, finds a longer key")
        self.assertEqual(keys(q + "propertyName=runscope_key&propertyValue="
                              "B/T1/E&propertyValueOperator=contains"),
                         ["b/t1/e", "b/t1/e2"])
        self.assertEqual(keys(q + "propertyName=runscope_key%23en&"
                              "propertyValue=b/t2/e"), ["b/t2/e"],
                         "a suffixed name matches too")
        self.assertEqual(keys(q + "propertyName=region,runscope_key&"
                              "propertyValue=us1,b/t1/e2"), ["b/t1/e2"],
                         "comma lists pair up and AND")
        self.assertEqual(keys(q + "propertyName=region&propertyValue=us1&"
                              "status=ACTIVE"), ["b/t1/e"])
        self.assertEqual(keys(q + "requestId=" + r1), ["b/t1/e"])
        self.assertEqual(keys(q + "propertyName=runscope_key&"
                              "propertyValue=b/t1&"
                              "propertyValueOperator=EQUALS"), [],
                         "values match exactly with EQUALS")
        self.assertEqual(keys(q + "status=ACTIVE,SUSPENDED&"
                              "propertyName=runscope_key&"
                              "propertyValue=b/t1&"
                              "propertyValueOperator=EQUALS"), [])
        self.assertEqual(self.rest("GET", "/api/xm/1/events?"
                                   "propertyName=runscope_key&propertyValue=x"
                                   "&propertyValueOperator=LIKE")[0], 400)
        status, _, body = self.rest("GET", "/api/xm/1/events?status=ACTIVE")
        self.assertEqual(body["total"], 2)
        for e in body["data"]:
            self.assertNotIn("properties", e, "only with embed=properties")
        status, _, _ = self.rest("GET", "/api/xm/1/events?propertyName=a,b"
                                 "&propertyValue=x")
        self.assertEqual(status, 400)

    def test_percent_encoded_comma_stays_in_value(self):
        self.make("b/t/e", note="a,b")
        self.make("b/t/f", note="a")
        status, _, body = self.rest(
            "GET", "/api/xm/1/events?propertyName=note&propertyValue=a%2Cb")
        self.assertEqual([e["requestId"] for e in body["data"]],
                         [self.xm.events()[0]["requestId"]])

    def test_paging_with_relative_links(self):
        self.xm.set_page_size(2)
        for i in range(5):
            self.make("b/t%d/e" % i)
        seen, path, pages = [], "/api/xm/1/events?status=ACTIVE", 0
        while path:
            self.assertTrue(path.startswith("/api/xm/1/events?"), path)
            status, _, body = self.rest("GET", path)
            self.assertEqual(status, 200)
            self.assertEqual(body["total"], 5)
            self.assertTrue(body["links"]["self"].startswith("/api/xm/1/"))
            self.assertIn("status=ACTIVE", body["links"]["self"])
            seen += [e["id"] for e in body["data"]]
            pages += 1
            path = body["links"].get("next")
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [e["id"] for e in self.xm.events()])
        self.xm.set_page_size(None)
        status, _, body = self.rest("GET", "/api/xm/1/events?limit=4&"
                                    "offset=4")
        self.assertEqual((body["count"], body["total"]), (1, 5))
        self.assertNotIn("next", body["links"])
        status, _, body = self.rest("GET", "/api/xm/1/events")
        self.assertEqual(body["count"], 5)
        self.assertNotIn("next", body["links"])
        self.assertIn("limit=100", body["links"]["self"], "default limit")

    def test_visibility_delay(self):
        self.xm.set_visibility_delay(0.5)
        rid = self.make("b/t/e")
        (ev,) = self.xm.events()
        self.assertFalse(ev["visible"])
        status, _, body = self.rest("GET", "/api/xm/1/events?requestId="
                                    + rid)
        self.assertEqual(body["total"], 0)
        self.assertEqual(self.rest("GET", "/api/xm/1/events/" + ev["id"])[0],
                         404)
        deadline = time.time() + 5
        while self.rest("GET", "/api/xm/1/events?requestId=" + rid)[2][
                "total"] != 1:
            self.assertLess(time.time(), deadline, "never became visible")
            time.sleep(0.05)

    def test_get_one_event(self):
        self.make("b/t/e")
        (ev,) = self.xm.events()
        for ref in (ev["id"], ev["eventId"]):
            status, _, body = self.rest("GET", "/api/xm/1/events/" + ref)
            self.assertEqual(status, 200)
            self.assertEqual(body["properties"]["runscope_key#en"], "b/t/e")
        status, _, body = self.rest("GET", "/api/xm/1/events/" + ev["id"] +
                                    "?embed=responseOptions")
        self.assertEqual([o["text"] for o in body["responseOptions"]["data"]],
                         ["Acknowledge", "Rerun"])
        status, _, body = self.rest("GET", "/api/xm/1/events/nope")
        self.assertEqual((status, body["code"], body["reason"]),
                         (404, 404, "Not Found"))

    def test_change_status(self):
        self.make("b/t/e")
        (ev,) = self.xm.events()
        status, _, body = self.rest("POST", "/api/xm/1/events",
                                    {"id": ev["id"], "status": "TERMINATED"})
        self.assertEqual(status, 200)
        self.assertEqual((body["id"], body["status"]),
                         (ev["id"], "TERMINATED"))
        self.assertIn("terminated", body)
        got = self.xm.event(ev["id"])
        self.assertEqual(got["terminated_by"], "api:" + USER)
        self.assertEqual(self.rest("POST", "/api/xm/1/events", {
            "id": ev["id"], "status": "TERMINATED"})[0], 200)
        self.assertEqual(self.rest("POST", "/api/xm/1/events", {
            "id": ev["id"], "status": "ACTIVE"})[0], 409)
        status, _, body = self.rest("POST", "/api/xm/1/events", {
            "id": "0f0f0f0f-0000-0000-0000-000000000000",
            "status": "TERMINATED"})
        self.assertEqual(status, 404)
        self.assertEqual((body["code"], body["reason"]), (404, "Not Found"))
        self.assertIn("message", body)
        for bad in ({"id": ev["id"], "status": "DONE"}, {"status": "ACTIVE"},
                    b"{not json"):
            status, _, body = self.rest("POST", "/api/xm/1/events", bad)
            self.assertEqual((status, body["code"]), (400, 400), bad)
        self.assertEqual(self.rest("POST", "/api/xm/1/events", {
            "id": ev["id"], "status": "TERMINATED"}, headers={})[0], 401)

    def test_user_deliveries(self):
        self.make("b/t/e")
        (ev,) = self.xm.events()
        path = "/api/xm/1/events/%s/user-deliveries?at=%s" % (
            ev["id"], urllib.parse.quote("2030-01-01T00:00:00Z"))
        status, _, body = self.rest("GET", path)
        self.assertEqual((status, body["count"], body["data"]), (200, 0, []))
        self.xm.add_response(ev["id"], "jdoe", "Acknowledge")
        self.xm.add_response(ev["id"], "asmith", "Rerun")
        self.xm.add_response(ev["id"], "jdoe", "Rerun", comment="again")
        status, _, body = self.rest("GET", path)
        self.assertEqual(body["total"], 2)
        by_user = {d["person"]["targetName"]: d for d in body["data"]}
        self.assertEqual(by_user["jdoe"]["response"]["text"], "Rerun",
                         "the last response per user")
        self.assertIn("received", by_user["jdoe"]["response"])
        self.assertEqual(by_user["asmith"]["response"]["text"], "Rerun")
        self.assertEqual(by_user["jdoe"]["deliveryStatus"], "RESPONDED")
        self.assertEqual(by_user["jdoe"]["event"]["id"], ev["id"])
        notif = by_user["jdoe"]["notifications"]["data"][0]
        self.assertEqual(notif["responses"]["count"], 2)
        self.assertEqual(self.rest("GET", "/api/xm/1/events/nope/"
                                   "user-deliveries")[0], 404)
        self.assertEqual(self.rest("GET", path, headers={})[0], 401)

    def test_control_interface_over_http(self):
        c = self.xm.base_url
        self.make("b/t/e")
        status, _, evs = call(c, "GET", "/_control/events")
        self.assertEqual((status, len(evs)), (200, 1))
        eid = evs[0]["id"]
        status, _, ev = call(c, "POST", "/_control/events/%s/responses"
                             % eid, {"user": "jdoe", "text": "Rerun"})
        self.assertEqual((status, ev["responses"][0]["text"]),
                         (201, "Rerun"))
        status, _, ev = call(c, "POST", "/_control/events/%s/terminate"
                             % eid, {"by": "jdoe"})
        self.assertEqual((ev["status"], ev["terminated_by"]),
                         ("TERMINATED", "jdoe"))
        status, _, ev = call(c, "POST", "/_control/events", {
            "properties": {"runscope_key": "b/x/e"}})
        self.assertEqual(ev["properties"], {"runscope_key#en": "b/x/e"})
        self.assertEqual(len(self.xm.events(status="ACTIVE",
                                            key="b/x/e")), 1)
        status, _, cfg = call(c, "POST", "/_control/config",
                              {"visibility_delay": 2, "page_size": 3})
        self.assertEqual((cfg["visibility_delay"], cfg["page_size"]), (2, 3))
        status, _, trig = call(c, "GET", "/_control/triggers")
        self.assertEqual(len(trig), 1)
        status, _, log = call(c, "GET", "/_control/requests")
        self.assertEqual([r["path"].split("/")[-1] for r in log],
                         ["triggers"])
        self.rest("GET", "/api/xm/1/events")
        self.assertEqual(self.xm.requests(path="/api/xm/1/events$")[0][
            "headers"]["Authorization"], "Basic ***")
        self.assertNotIn(PASSWORD, json.dumps(self.xm.requests()))
        call(c, "POST", "/_control/reset")
        self.assertEqual((self.xm.events(), self.xm.triggers(),
                          self.xm.requests()), ([], [], []))

    def test_fault_429_on_trigger_creates_nothing(self):
        self.xm.inject_fault(method="POST", path="/triggers$", status=429,
                             retry_after=2)
        status, headers, body = self.trigger({"properties": {}})
        self.assertEqual((status, headers["Retry-After"], body["code"]),
                         (429, "2", 429))
        self.assertEqual(self.xm.events(), [])
        self.assertEqual(self.trigger({"properties": {}})[0], 202)
        self.assertEqual(len(self.xm.events()), 1)

    def test_fault_close_after_trigger_still_creates_event(self):
        self.xm.inject_fault(method="POST", path="/triggers$",
                             action="close")
        with self.assertRaises(http.client.IncompleteRead):
            self.trigger({"properties": {"runscope_key": "b/t/e"}})
        self.assertEqual(len(self.xm.events(key="b/t/e")), 1,
                         "the answer was lost, the event exists")

    def test_fault_malformed_events_list(self):
        self.xm.inject_fault(method="GET", path="^/api/xm/1/events$",
                             action="malformed")
        status, _, body = self.rest("GET", "/api/xm/1/events")
        self.assertEqual(status, 200)
        self.assertIsInstance(body, bytes)
        self.assertIsInstance(self.rest("GET", "/api/xm/1/events")[2], dict)

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "..", "fakes",
                                              "fake_xmatters.py"),
                 "--port", "0", "--port-file", port_file, "--user", "u",
                 "--password", "p", "--function", "f1=k1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.time() + 10
                while not os.path.exists(port_file):
                    self.assertIsNone(proc.poll(), "fake exited early")
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
                with open(port_file) as f:
                    url = "http://127.0.0.1:%d" % int(f.read())
                status, _, _ = call(url, "POST", "/api/integration/1/"
                                    "functions/f1/triggers?apiKey=k1",
                                    {"properties": {}})
                self.assertEqual(status, 202)
                status, _, body = call(url, "GET", "/api/xm/1/events",
                                       headers={"Authorization": "Basic " +
                                                base64.b64encode(b"u:p")
                                                .decode()})
                self.assertEqual((status, body["total"]), (200, 1))
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0)
                proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
