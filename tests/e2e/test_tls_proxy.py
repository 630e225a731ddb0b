# SPDX-License-Identifier: MIT
"""TLS, client certificates and proxies, end to end, with real parts.

The fakes speak HTTPS with a certificate of a test CA that `openssl` makes
for the test run (server certificate for 127.0.0.1 with subjectAltName
IP:127.0.0.1, a client certificate with an encrypted key, and a second CA
that signed nothing the fakes use); a variant of the fakes requires a
client certificate. A real forward proxy, Debian's tinyproxy, runs on an
ephemeral loopback port with its own config (Allow 127.0.0.1, ConnectPort
for the fakes' ports, BasicAuth for the authenticating variant), and both
APIs are reached through it: https through CONNECT, and plain http.

Each failure case asserts the one log line a user sees, e.g.

    runscope plugin: Runscope https://127.0.0.1:PORT: SSL certificate
    problem: unable to get local issuer certificate; check CACert/CAPath
    in <Runscope>

and that `collectd -T` fails on it.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import WAIT, runscope_key

BUCKET = "tlsbucket00"
KEY_PASS = "client-key-pass-7f3a9c"
PROXY_USER, PROXY_PASS = "collectd", "proxy-pass-51e0b2"


def tools_available():
    return bool(shutil.which("openssl")) and bool(shutil.which("tinyproxy"))


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name):
    """A self-signed CA: <name>.pem, <name>.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=collectd-runscope %s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", name + ".key", "-out", name + ".pem", cwd=d)


def make_leaf(d, name, ca, cn, ext):
    """A key and a certificate that ca signed, with the extensions ext."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext + "\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + cn,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
            "-CAkey", ca + ".key", "-set_serial",
            str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)


def make_pki(d):
    """The test CA, the fakes' server certificate, a client certificate
    (its key encrypted with KEY_PASS) and an unrelated CA. Returns the
    paths."""
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "server", "ca", "127.0.0.1",
              "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    make_leaf(d, "client", "ca", "collectd-runscope",
              "extendedKeyUsage=clientAuth")
    openssl("pkey", "-in", "client.key", "-aes256", "-passout",
            "pass:" + KEY_PASS, "-out", "client-enc.key", cwd=d)
    return {n: os.path.join(d, f) for n, f in (
        ("ca", "ca.pem"), ("other_ca", "other-ca.pem"),
        ("server_cert", "server.pem"), ("server_key", "server.key"),
        ("client_cert", "client.pem"), ("client_key", "client-enc.key"))}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tinyproxy:
    """tinyproxy in the foreground with its own config on a loopback
    port; its log shows the requests and CONNECTs it served."""

    def __init__(self, tmp, connect_ports, auth=None):
        self.dir = os.path.join(tmp, "tinyproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "tinyproxy.log")
        self.port = free_port()
        lines = ["Port %d" % self.port, "Listen 127.0.0.1",
                 "Timeout 30", "MaxClients 20", "Allow 127.0.0.1",
                 "LogFile \"%s\"" % self.log_path, "LogLevel Info",
                 "PidFile \"%s\"" % os.path.join(self.dir, "tinyproxy.pid"),
                 "DisableViaHeader Yes"]
        lines += ["ConnectPort %d" % p for p in connect_ports]
        if auth:
            lines.append("BasicAuth %s %s" % auth)
        self.conf = os.path.join(self.dir, "tinyproxy.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            ["tinyproxy", "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_listening()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _wait_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "Accepting connections" in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("tinyproxy did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def requests(self):
        """The request lines it received: "CONNECT 127.0.0.1:PORT ...",
        "GET http://127.0.0.1:PORT/... ..."."""
        return re.findall(r"Request \(file descriptor \d+\): (.*)",
                          self.log())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@unittest.skipUnless(harness.collectd_available(), "collectd not installed")
@unittest.skipUnless(harness.plugin_available(),
                     "build/runscope.so not built (run make)")
@unittest.skipUnless(tools_available(), "openssl or tinyproxy missing "
                     "(packaging/install-deps.sh installs them)")
class TlsTestCase(harness.CollectdTestCase):
    """Fakes on HTTPS (TLS = "server"), on HTTPS that requires a client
    certificate ("mutual"), or on plain HTTP (None)."""

    TLS = "server"

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="collectd-e2e-pki-")
        cls.pki = make_pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def setUp(self):
        self.h = harness.Harness(self.id().split(".", 1)[-1])
        self.addCleanup(self._cleanup)
        tls = None
        if self.TLS:
            tls = {"certfile": self.pki["server_cert"],
                   "keyfile": self.pki["server_key"],
                   "client_ca": self.pki["ca"] if self.TLS == "mutual"
                   else None}
        self.rs, self.xm = self.h.start_fakes(tls=tls)
        self.proxy = None

    def _cleanup(self):
        if self.proxy is not None:
            self.proxy.stop()
        super()._cleanup()

    # ----- helpers

    def start_proxy(self, auth=None):
        self.proxy = Tinyproxy(self.h.tmp, [self.rs.port, self.xm.port],
                               auth)
        return self.proxy

    def failing_run(self):
        """A failing run of a test; returns the key its page is for."""
        self.rs.add_bucket(BUCKET, "Shop")
        t = self.rs.add_test(BUCKET, "Checkout API", environments=[
            {"name": "Production", "regions": ["us1"]}])
        self.rs.add_run(BUCKET, t["id"], "Production", "fail")
        return runscope_key(BUCKET, t["id"], t["environments"][0]["id"])

    def both(self, **options):
        """The same options for <Runscope> and <XMatters>."""
        return {"runscope_options": dict(options),
                "xmatters_options": dict(options)}

    def assert_pages(self, **options):
        """collectd with options pages the failing run: one event."""
        key = self.failing_run()
        self.h.write_config(buckets=[BUCKET], **self.both(**options))
        self.h.start()
        self.h.wait_for(lambda: self.xm.events(status="ACTIVE", key=key),
                        WAIT, "an xMatters event for %s" % key)
        self.assertEqual(len(self.xm.events(key=key)), 1)

    def problem_lines(self, api, fake, hint, block):
        """The error lines for api ("Runscope") at fake's origin."""
        pattern = (r"\[error\] runscope plugin: %s %s: .*; check %s in %s$"
                   % (api, re.escape(fake.base_url), re.escape(hint),
                      re.escape(block)))
        return self.h.log_lines(pattern)

    def assert_problem(self, hint, cause, **options):
        """collectd -T fails, and each API's problem is logged once, with
        its host, libcurl's cause and the option to check."""
        self.failing_run()
        self.h.write_config(buckets=[BUCKET], **self.both(**options))
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0, "collectd -T must fail:\n" + out)
        for api, fake, block in (("Runscope", self.rs, "<Runscope>"),
                                 ("xMatters", self.xm, "<XMatters>")):
            lines = self.problem_lines(api, fake, hint, block)
            self.assertEqual(len(lines), 1, "one line for %s:\n%s"
                             % (api, self.h.log()))
            self.assertRegex(lines[0], cause)
        self.assertEqual(self.xm.events(), [])
        return out


class HttpsTest(TlsTestCase):

    def test_cacert_pages_end_to_end(self):
        self.assert_pages(CACert=self.pki["ca"])
        self.assertGreater(len(self.rs.requests()), 0)
        self.assertEqual(self.rs.tls_failures + self.xm.tls_failures, 0)

    def test_wrong_ca_is_named_and_fails_collectd_T(self):
        self.assert_problem("CACert/CAPath",
                            r"SSL certificate problem: unable to get local "
                            r"issuer certificate",
                            CACert=self.pki["other_ca"])
        self.assertEqual(self.rs.requests(), [], "no request was sent")

    def test_through_tinyproxy_with_connect(self):
        proxy = self.start_proxy()
        self.assert_pages(CACert=self.pki["ca"], Proxy=proxy.url)
        connects = [r for r in proxy.requests() if r.startswith("CONNECT")]
        for fake in (self.rs, self.xm):
            self.assertIn("CONNECT 127.0.0.1:%d HTTP/1.1" % fake.port,
                          connects)

    def test_proxy_basic_auth_from_proxy_user_file(self):
        proxy = self.start_proxy(auth=(PROXY_USER, PROXY_PASS))
        path = harness.write_secret(os.path.join(self.h.tmp, "proxy.user"),
                                    "%s:%s" % (PROXY_USER, PROXY_PASS))
        self.h.extra_secrets.append(PROXY_PASS)
        self.assert_pages(CACert=self.pki["ca"], Proxy=proxy.url,
                          ProxyUserFile=path)
        self.assertTrue(any(r.startswith("CONNECT 127.0.0.1:%d" %
                                         self.rs.port)
                            for r in proxy.requests()))

    def test_wrong_proxy_password_is_refused(self):
        # tinyproxy answers a wrong password with 401 (squid with 407)
        proxy = self.start_proxy(auth=(PROXY_USER, PROXY_PASS))
        wrong = "wrong-proxy-pass-0c9d"
        path = harness.write_secret(os.path.join(self.h.tmp, "proxy.user"),
                                    "%s:%s" % (PROXY_USER, wrong))
        self.h.extra_secrets.append(wrong)
        self.assert_problem("ProxyUserFile (the proxy's user and password)",
                            r"CONNECT tunnel failed, response 40[17]",
                            CACert=self.pki["ca"], Proxy=proxy.url,
                            ProxyUserFile=path)
        self.assertEqual(self.rs.requests(), [])

    def test_inline_proxy_credentials_work_with_a_warning(self):
        proxy = self.start_proxy(auth=(PROXY_USER, PROXY_PASS))
        self.h.extra_secrets.append(PROXY_PASS)
        inline = "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, PROXY_PASS,
                                                proxy.port)
        self.assert_pages(CACert=self.pki["ca"], Proxy=inline)
        self.assertTrue(self.h.log_lines(
            r"\[warning\] runscope plugin: <XMatters> Proxy holds the "
            r"proxy's credentials inline; .*ProxyUserFile"))

    def test_verify_peer_false_warns_at_start(self):
        self.assert_pages(VerifyPeer=False)
        self.assertEqual(len(self.h.log_lines(
            r"\[warning\] runscope plugin: <Runscope> VerifyPeer false: "
            r"the server's certificate is not checked")), 1)

    def test_missing_cacert_file_is_refused(self):
        self.h.write_config(runscope_options={
            "CACert": os.path.join(self.h.tmp, "nowhere.pem")})
        rc, out = self.h.run_once()
        self.assertNotEqual(rc, 0)
        self.assertRegex(out, r'<Runscope> CACert ".*nowhere.pem": No such '
                         r'file or directory; give a PEM file of the CA '
                         r'certificates to trust')
        self.assertEqual(self.rs.requests(), [])

    def test_missing_proxy_credentials_are_a_407(self):
        proxy = self.start_proxy(auth=(PROXY_USER, PROXY_PASS))
        self.assert_problem("ProxyUserFile (the proxy's user and password)",
                            r"CONNECT tunnel failed, response 407",
                            CACert=self.pki["ca"], Proxy=proxy.url)

    def test_connect_to_a_port_the_proxy_refuses(self):
        # ConnectPort 1 only: tinyproxy refuses a CONNECT to the fakes
        self.proxy = Tinyproxy(self.h.tmp, [1])
        self.assert_problem("Proxy and NoProxy (the proxy must allow a "
                            "CONNECT to this host and port)",
                            r"CONNECT tunnel failed, response 403",
                            CACert=self.pki["ca"], Proxy=self.proxy.url)


class ClientCertTest(TlsTestCase):
    TLS = "mutual"

    def test_missing_client_certificate_is_named(self):
        self.assert_problem(
            "ClientCert/ClientKey (the server wants a client certificate "
            "it trusts)", r"alert certificate required",
            CACert=self.pki["ca"])
        self.assertGreater(self.rs.tls_failures, 0)

    def test_client_certificate_with_encrypted_key_pages(self):
        path = harness.write_secret(os.path.join(self.h.tmp, "key.pass"),
                                    KEY_PASS)
        self.h.extra_secrets.append(KEY_PASS)
        self.assert_pages(CACert=self.pki["ca"],
                          ClientCert=self.pki["client_cert"],
                          ClientKey=self.pki["client_key"],
                          ClientKeyPassFile=path)


    def test_wrong_key_pass_phrase_is_named(self):
        wrong = "wrong-key-pass-44e1"
        self.h.extra_secrets.append(wrong)
        self.assert_problem("ClientCert/ClientKey/ClientKeyPass",
                            r"unable to set private key file",
                            CACert=self.pki["ca"],
                            ClientCert=self.pki["client_cert"],
                            ClientKey=self.pki["client_key"],
                            ClientKeyPass=wrong)
        self.assertEqual(self.rs.requests(), [])


class PlainHttpProxyTest(TlsTestCase):
    TLS = None

    def test_through_tinyproxy_over_http(self):
        proxy = self.start_proxy()
        self.assert_pages(Proxy=proxy.url)
        gets = proxy.requests()
        for fake in (self.rs, self.xm):
            self.assertTrue(any(r.startswith("GET http://127.0.0.1:%d/" %
                                             fake.port) for r in gets),
                            gets)

    def env_proxy(self):
        proxy = self.start_proxy()
        self.h.extra_env = {"http_proxy": proxy.url,
                            "https_proxy": proxy.url,
                            "HTTPS_PROXY": proxy.url,
                            "no_proxy": "", "NO_PROXY": ""}
        return proxy

    def test_environment_proxy_is_ignored(self):
        proxy = self.env_proxy()
        self.assert_pages()
        self.assertEqual(proxy.requests(), [])

    def test_environment_proxy_with_proxy_from_environment(self):
        proxy = self.env_proxy()
        self.assert_pages(ProxyFromEnvironment=True)
        self.assertTrue(proxy.requests())


if __name__ == "__main__":
    unittest.main()
