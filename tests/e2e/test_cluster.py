# SPDX-License-Identifier: MIT
"""Two agents, one pager, end to end: a real etcd (started here on loopback
ports) and two real collectd daemons with the plugin, sharing the fakes.

- With both running, a failure pages once (one trigger, one event).
- kill -9 of the leader: the other takes over within 2 x LeaseTTL plus an
  interval, closes the event the killed leader opened when the test passes,
  and pages nobody a second time; the killed agent restarted stands by.
- SIGTERM of the leader revokes its lease: the other leads within about
  one interval.
- The leader killed at random moments while the test fails and passes
  (CLUSTER_ROUNDS rounds, default 6; CLUSTER_SEED the seed): one event per
  failure while it fails, none open after it passes.
- etcd stopped (SIGSTOP) for longer than 2 x LeaseTTL: both agents work
  alone (WARNING), a failure pages once (each looks in xMatters before a
  create); after etcd resumes they settle to one leader (OKAY).
- etcd over TLS that requires client certificates (a test CA made with
  openssl): with CACert, ClientCert and ClientKey in <Cluster> the agent
  leads, pages and keeps its state in etcd; without ClientCert it logs the
  failed lease grant and works alone.
- runscopectl with an agent's config: `leader` names the leader (and,
  after kill -9 of it, the new one), `status` reads the leader's state
  from etcd (a standby's own state file is never written) and names the
  leader; etcd gone: exit 4; no <Cluster>: exit 3. Over TLS with the
  <Cluster> TLS options as well.
"""

import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import ssl
import urllib.request

import harness
import test_tls_proxy
from harness import runscope_key
from test_runscopectl import ctl, ctl_available

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
BUCKET = "shop1bucket0"
LEASE_TTL = 2
INTERVAL = 1
LEADS = "is now leader"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    """One etcd member on two ephemeral loopback ports, in a temp dir."""

    def __init__(self, pki=None):
        """pki: test_tls_proxy.make_pki's paths, for https with client
        certificates required; None: plain http."""
        self.tmp = tempfile.mkdtemp(prefix="etcd-e2e-")
        self.port, peer = free_port(), free_port()
        scheme = "https" if pki else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        peer_url = "http://127.0.0.1:%d" % peer
        self.cmd = [ETCD, "--name", "e2e", "--data-dir",
                    os.path.join(self.tmp, "data"),
                    "--listen-client-urls", self.url,
                    "--advertise-client-urls", self.url,
                    "--listen-peer-urls", peer_url,
                    "--initial-advertise-peer-urls", peer_url,
                    "--initial-cluster", "e2e=" + peer_url]
        self.context = None
        if pki:
            self.cmd += ["--cert-file", pki["server_cert"],
                         "--key-file", pki["server_key"],
                         "--trusted-ca-file", pki["ca"],
                         "--client-cert-auth"]
            self.context = ssl.create_default_context(cafile=pki["ca"])
            self.context.load_cert_chain(pki["client_cert"],
                                         pki["client_plain_key"])
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.tmp, "etcd.log"), "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.healthy():
                return self
            time.sleep(0.2)
        raise AssertionError("etcd did not start")

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1,
                                        context=self.context) as r:
                return json.load(r).get("health") == "true"
        except (OSError, ValueError):
            return False

    def state_parts(self, prefix="/e2e/state/"):
        """The parts of the agents' state in etcd: {key: document}."""
        def b64(text):
            return base64.b64encode(text.encode()).decode()
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        body = json.dumps({"key": b64(prefix),
                           "range_end": b64(end)}).encode()
        req = urllib.request.Request(self.url + "/v3/kv/range", body)
        with urllib.request.urlopen(req, timeout=5,
                                    context=self.context) as r:
            kvs = json.load(r).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode():
                json.loads(base64.b64decode(kv.get("value", "")))
                for kv in kvs}

    def state_keys(self):
        """Every key entry of the state in etcd, by its key."""
        return {k["key"]: k for part in self.state_parts().values()
                for k in part.get("keys", [])}

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
@unittest.skipUnless(os.path.exists(ETCD), "etcd not installed")
class ClusterTest(harness.CollectdTestCase):

    def setUp(self):
        super().setUp()
        self.etcd = Etcd().start()
        self.addCleanup(self.etcd.stop)
        self.b = harness.Harness(self.id().split(".", 1)[-1] + "-b")
        self.b.share_fakes(self.h)
        self.addCleanup(self.b.cleanup)
        self.agents = {"a": self.h, "b": self.b}

    def tearDown(self):
        if self.b.running():
            self.b.stop()
        self.b.assert_no_secrets()
        super().tearDown()

    def triggers_for(self, key):
        return [c for c in self.h.trigger_calls()
                if isinstance(c["body"], dict) and
                c["body"].get("properties", {}).get("runscope_key") == key]

    def shop(self):
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        return t, runscope_key(BUCKET, t["id"], t["environments"][0]["id"])

    def add(self, test, result):
        return self.rs.add_run(BUCKET, test["id"], None, result)

    def start_agents(self):
        for name, h in self.agents.items():
            h.write_config(buckets=[BUCKET], interval=INTERVAL,
                           raw_plugin_lines=[
                               "<Cluster>",
                               '  Endpoint "%s"' % self.etcd.url,
                               '  Name "agent-%s"' % name,
                               "  LeaseTTL %d" % LEASE_TTL,
                               '  Prefix "/e2e/"',
                               "</Cluster>"])
            h.start()

    def leaders(self):
        """The running agents whose latest role line says leader."""
        out = []
        for name, h in self.agents.items():
            roles = h.log_lines("Cluster: agent-%s is now" % name)
            if h.running() and roles and LEADS in roles[-1]:
                out.append(name)
        return out

    def wait_one_leader(self, timeout=20):
        return self.h.wait_for(lambda: len(self.leaders()) == 1 and
                               self.leaders()[0], timeout, "one leader",
                               while_running=False)

    def wait_event(self, key, status="ACTIVE", timeout=30):
        return self.h.wait_for(lambda: self.xm.events(status=status,
                                                      key=key),
                               timeout, "an %s event for %s" % (status, key),
                               while_running=False)

    def test_one_page_and_failover_on_kill(self):
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        first = self.wait_one_leader()
        self.add(t, "fail")
        ev = self.wait_event(key)[0]
        time.sleep(3 * INTERVAL)
        self.assertEqual(len(self.triggers_for(key)), 1)
        self.assertEqual(len(self.xm.events(key=key)), 1)
        # the leader's state is in etcd, split in parts: the event is there
        parts = self.etcd.state_parts()
        self.assertEqual(len(parts), 64)
        self.assertEqual(self.etcd.state_keys()[key]["event_ids"],
                         [ev["id"]])
        other = "b" if first == "a" else "a"
        self.agents[first].kill()
        killed_at = time.monotonic()
        self.h.wait_for(lambda: self.leaders() == [other], 20,
                        "agent-%s to take over" % other,
                        while_running=False)
        took = time.monotonic() - killed_at
        print("\nfailover after kill -9: %.1f s" % took)
        self.assertLess(took, 2 * LEASE_TTL + INTERVAL + 3)
        self.assertTrue(self.agents[other].log_lines(
            "loaded the state from etcd: 1 keys"))
        self.add(t, "pass")
        done = self.wait_event(key, "TERMINATED")[0]
        self.assertEqual(done["id"], ev["id"])
        self.assertEqual(len(self.triggers_for(key)), 1)
        # the killed agent comes back and stands by
        self.agents[first].start()
        self.agents[first].wait_for(
            lambda: self.agents[first].log_lines("is now standby"), 20,
            "agent-%s to stand by" % first)
        self.assertEqual(self.leaders(), [other])
        rows = self.agents[other].csv_rows("self", "bool", "cluster_leader")
        self.assertEqual(rows[-1][1], 1)

    def test_new_failure_pages_soon_after_kill(self):
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        first = self.wait_one_leader()
        time.sleep(2 * INTERVAL)
        self.agents[first].kill()
        killed_at = time.monotonic()
        self.add(t, "fail")
        self.wait_event(key)
        took = time.monotonic() - killed_at
        print("\nkill -9, then a failure paged after %.1f s" % took)
        self.assertLess(took, LEASE_TTL + INTERVAL + 3)
        time.sleep(2 * INTERVAL)
        self.assertEqual(len(self.triggers_for(key)), 1)

    def test_sigterm_hands_over_within_an_interval(self):
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        first = self.wait_one_leader()
        other = "b" if first == "a" else "a"
        stopped_at = time.monotonic()
        self.assertEqual(self.agents[first].stop(), 0)
        self.assertTrue(self.agents[first].log_lines("revoked its lease"))
        self.h.wait_for(lambda: self.leaders() == [other], 10,
                        "agent-%s to take over" % other,
                        while_running=False)
        took = time.monotonic() - stopped_at
        print("\nhand-over after SIGTERM: %.1f s" % took)
        self.assertLess(took, INTERVAL + 1.5)

    def test_fail_open_when_etcd_is_silent(self):
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        self.wait_one_leader()
        self.etcd.pause()
        for name, h in self.agents.items():
            h.wait_for(lambda: h.log_lines("works alone"), 20,
                       "agent-%s to work alone" % name)
        self.add(t, "fail")
        self.wait_event(key)
        time.sleep(4 * INTERVAL)
        self.assertEqual(len(self.xm.events(key=key)), 1)
        self.etcd.resume()
        for name, h in self.agents.items():
            h.wait_for(lambda: h.log_lines("etcd answers again"), 20,
                       "agent-%s to see etcd again" % name)
        self.wait_one_leader()
        self.add(t, "pass")
        self.wait_event(key, "TERMINATED")
        time.sleep(2 * INTERVAL)
        self.assertEqual(self.xm.events(key=key, status="ACTIVE"), [])
        self.assertEqual(len(self.xm.events(key=key)), 1)

    def ctl_json(self, *args):
        rc, out, err = ctl(*args)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    @unittest.skipUnless(ctl_available(), "build/runscopectl not built")
    def test_runscopectl_leader_and_status_from_etcd(self):
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        first = self.wait_one_leader()
        other = "b" if first == "a" else "a"
        standby = self.agents[other]
        rc, out, err = ctl("-c", standby.conf_path, "leader")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^agent-%s \(lease: [0-9]+ s left\)\n$" % first)
        doc = self.ctl_json("-c", standby.conf_path, "leader", "--json")
        self.assertEqual((doc["leader"], doc["key"]),
                         ("agent-" + first, "/e2e/leader"))
        self.assertTrue(0 <= doc["lease_ttl"] <= LEASE_TTL, doc)
        # a failure pages; the standby's config reads the leader's state
        self.add(t, "fail")
        ev = self.wait_event(key)[0]

        def open_in_etcd():
            doc = self.ctl_json("-c", standby.conf_path, "status", "--json")
            keys = [k for k in doc["keys"] if k["key"] == key]
            return keys and keys[0]["event"]["state"] == "open" and doc
        doc = self.h.wait_for(open_in_etcd, 20, "the open event in etcd",
                              while_running=False)
        self.assertFalse(os.path.exists(standby.state_path))  # never written
        self.assertEqual(doc["source"], {"kind": "etcd",
                                         "prefix": "/e2e/state/"})
        self.assertEqual(doc["leader"]["name"], "agent-" + first)
        [k] = [k for k in doc["keys"] if k["key"] == key]
        self.assertEqual(k["event"]["ids"], [ev["id"]])
        self.assertIsNotNone(k["event"]["since"])
        for api in ("runscope", "xmatters", "etcd"):
            self.assertLessEqual(doc["apis"][api]["age"], 5, doc["apis"])
        rc, out, err = ctl("-c", standby.conf_path, "status")
        self.assertEqual(rc, 0, err)
        self.assertIn("state:       etcd %s, keys /e2e/state/* (the "
                      "leader's)\n" % self.etcd.url, out)
        self.assertRegex(out, r"leader:      agent-%s \(lease: " % first)
        self.assertIn("etcd:        last answered ", out)
        # -s: that file, the leader still named
        leader = self.agents[first]
        doc = self.ctl_json("-c", leader.conf_path, "-s", leader.state_path,
                            "status", "--json", key)
        self.assertEqual(doc["source"], {"kind": "file",
                                         "path": leader.state_path})
        self.assertEqual(doc["leader"]["name"], "agent-" + first)
        # kill -9 of the leader: leader names the other once it took over
        leader.kill()
        self.h.wait_for(lambda: ctl("-c", standby.conf_path, "leader")[1]
                        .startswith("agent-%s " % other), 20,
                        "runscopectl leader to name agent-%s" % other,
                        while_running=False)
        self.etcd.stop()
        for cmd in (("leader",), ("status",)):
            rc, out, err = ctl("-c", standby.conf_path, *cmd)
            self.assertEqual((rc, out), (4, ""), err)
            self.assertIn("runscopectl: reading the leader key: etcd: ", err)
        # a config without <Cluster>
        rc, _, err = ctl("-c", self.no_cluster(), "leader")
        self.assertEqual(rc, 3, err)
        self.assertIn("no <Cluster> block", err)

    def no_cluster(self):
        path = os.path.join(self.h.tmp, "plain.conf")
        with open(path, "w") as f:
            f.write('<Plugin runscope>\n  StateFile "%s"\n</Plugin>\n'
                    % self.h.state_path)
        return path

    def test_kill_the_leader_at_random_moments(self):
        rounds = int(os.environ.get("CLUSTER_ROUNDS", "6"))
        seed = int(os.environ.get("CLUSTER_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        t, key = self.shop()
        self.add(t, "pass")
        self.start_agents()
        self.wait_one_leader()
        episodes, failing = 0, False
        for r in range(rounds):
            failing = not failing
            episodes += failing
            self.add(t, "fail" if failing else "pass")
            time.sleep(rng.uniform(0, 1.5))
            for name in self.leaders():
                self.agents[name].kill()
                self.agents[name].start()
            if failing:
                self.h.wait_for(lambda: len(self.xm.events(
                    key=key, status="ACTIVE")) == 1, 30,
                    "one open event in round %d (seed %d)" % (r, seed),
                    while_running=False)
            else:
                self.h.wait_for(lambda: not self.xm.events(
                    key=key, status="ACTIVE"), 30,
                    "no open event in round %d (seed %d)" % (r, seed),
                    while_running=False)
            time.sleep(2 * INTERVAL)
            self.assertEqual(len(self.xm.events(key=key)), episodes,
                             "round %d, seed %d" % (r, seed))
            self.assertEqual(len(self.xm.events(key=key, status="ACTIVE")),
                             1 if failing else 0,
                             "round %d, seed %d" % (r, seed))
        self.wait_one_leader()


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
@unittest.skipUnless(os.path.exists(ETCD), "etcd not installed")
@unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
class ClusterTLSTest(harness.CollectdTestCase):
    """<Cluster> takes the TLS options of the other blocks."""

    def setUp(self):
        super().setUp()
        self.pki_dir = tempfile.mkdtemp(prefix="etcd-pki-")
        self.addCleanup(shutil.rmtree, self.pki_dir, True)
        self.pki = test_tls_proxy.make_pki(self.pki_dir)
        self.pki["client_plain_key"] = os.path.join(self.pki_dir,
                                                    "client.key")
        # etcd's JSON gateway dials etcd's own gRPC port with the server's
        # certificate as its client certificate: it needs both usages
        test_tls_proxy.make_leaf(
            self.pki_dir, "etcd", "ca", "127.0.0.1",
            "subjectAltName=IP:127.0.0.1\n"
            "extendedKeyUsage=serverAuth,clientAuth")
        self.pki["server_cert"] = os.path.join(self.pki_dir, "etcd.pem")
        self.pki["server_key"] = os.path.join(self.pki_dir, "etcd.key")
        self.etcd = Etcd(self.pki).start()
        self.addCleanup(self.etcd.stop)

    def cluster_lines(self, *tls):
        return ["<Cluster>", '  Endpoint "%s"' % self.etcd.url,
                '  Name "agent-tls"', "  LeaseTTL %d" % LEASE_TTL,
                '  Prefix "/e2e/"', '  CACert "%s"' % self.pki["ca"]] + \
            list(tls) + ["</Cluster>"]

    def test_client_certificate_joins_and_pages(self):
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        key = runscope_key(BUCKET, t["id"], t["environments"][0]["id"])
        self.h.write_config(buckets=[BUCKET], interval=INTERVAL,
                            raw_plugin_lines=self.cluster_lines(
                                '  ClientCert "%s"' % self.pki["client_cert"],
                                '  ClientKey "%s"' % self.pki["client_plain_key"]))
        self.h.start()
        self.h.wait_for(lambda: self.h.log_lines("agent-tls " + LEADS), 20,
                        "agent-tls to lead")
        self.rs.add_run(BUCKET, t["id"], None, "fail")
        self.h.wait_for(lambda: self.xm.events(status="ACTIVE", key=key),
                        30, "an event for the failure")
        self.h.wait_for(lambda: any(
            k == key for k in self.etcd.state_keys()), 20,
            "the key's state in etcd")
        if not ctl_available():
            return
        # runscopectl reaches the same etcd with the same TLS options
        rc, out, err = ctl("-c", self.h.conf_path, "leader")
        self.assertEqual((rc, out.split(" ")[0]), (0, "agent-tls"), err)
        rc, out, err = ctl("-c", self.h.conf_path, "status", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual([k["key"] for k in json.loads(out)["keys"]], [key])

    def test_no_client_certificate_names_the_option(self):
        self.h.write_config(buckets=[BUCKET], interval=INTERVAL,
                            raw_plugin_lines=self.cluster_lines())
        self.rs.add_bucket(BUCKET, "Shop")
        self.h.start()
        # etcd drops the connection after the handshake: curl names no
        # certificate alert, so the line gives curl's error as it is
        pattern = (r"\[warning\] runscope plugin: Cluster: etcd: POST "
                   r"/v3/lease/grant: POST %s/v3/lease/grant: "
                   % re.escape(self.etcd.url))
        self.h.wait_for(lambda: self.h.log_lines(pattern), 20,
                        "the failed lease grant")
        self.h.wait_for(lambda: self.h.log_lines("agent-tls works alone"),
                        20, "the agent to work alone")
        self.assertFalse(self.h.log_lines("agent-tls " + LEADS))
