# SPDX-License-Identifier: MIT
"""Shared machinery of the fake Runscope and xMatters servers.

Both fakes are `FakeServer` subclasses: a ThreadingHTTPServer bound to
127.0.0.1 (never another address) that speaks HTTP/1.1 with keep-alive, keeps
a log of the API requests it received (Authorization values masked), and
applies fault-injection rules before routing a request.  The `/_control/`
routes are the fakes' own test interface: they need no authentication, are
not logged and are never faulted.

Routes common to both fakes (JSON bodies in and out):

    POST   /_control/reset            forget all data, requests and faults
                                      (credentials and options are kept)
    GET    /_control/requests         the request log (see RequestLog); the
                                      query ?method=RE&path=RE filters it
    DELETE /_control/requests         clear the request log
    GET    /_control/faults           the pending fault rules
    POST   /_control/faults           add a fault rule (see FaultRule)
    DELETE /_control/faults           drop all fault rules
    GET    /_control/config           the fake's options
    POST   /_control/config           change options (keys as in GET)

Options: a fake declares its options and their defaults in `OPTIONS`; the
constructor takes them as keywords (an unknown one is a TypeError), and
`set_config` (or POST /_control/config) changes them (an unknown one is a
KeyError, a 400 over HTTP). `CLI_OPTIONS` names those the command line sets,
as --name (see `FakeServer.main`).

A fault rule (POST /_control/faults) is a JSON object:

    method       regex, full match, case-insensitive ("GET", "GET|POST");
                 default ".*"
    path         regex searched in the request path (no query); default ".*"
    query        regex searched in the raw query string; default: any
    count        how many matching requests it applies to (default 1;
                 -1 = every request until removed)
    action       "status"    answer `status` (default 500) with `body`
                             (default: the fake's own error body; a
                             non-JSON string is sent as text/plain),
                             `retry_after` (a Retry-After header) and
                             `headers`; nothing else happens
                 "delay"     sleep `delay` seconds, then handle normally
                 "close"     handle normally (side effects happen: an event
                             is created, a run triggered), send the headers
                             and half of the body, then close the connection
                 "drop"      close the connection without any answer and
                             without handling the request
                 "malformed" handle normally, but answer `status` (default
                             200) with a truncated, invalid JSON body
    delay        seconds to sleep first (any action; default 0)

Faulted requests appear in the request log with "fault": action.

HTTPS: `use_tls(certfile, keyfile, client_ca=None)` before `start()` makes
the fake speak TLS only (base_url turns https://); with client_ca it
requires a client certificate that this CA signed, as a server behind a
mutual-TLS gateway does: a handshake without one fails with the TLS alert
"certificate required". Failed handshakes are counted (`tls_failures`).
"""

import copy
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"


class Request:
    """One HTTP request, as the routes see it."""

    def __init__(self, method, target, headers, body):
        self.method = method
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.query = parts.query
        self.headers = headers
        self.body = body
        self.params = {}
        for k, v in urllib.parse.parse_qsl(parts.query,
                                           keep_blank_values=True):
            self.params.setdefault(k, v)

    def json(self):
        """The body parsed as JSON; raises ValueError when it is not."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


class Response:
    """What a route answers: status, headers and a body (bytes)."""

    def __init__(self, status=200, body=b"", headers=None,
                 content_type="application/json"):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        self.body = body
        self.headers = dict(headers or {})
        if content_type and body:
            self.headers.setdefault("Content-Type", content_type)


def json_response(obj, status=200, headers=None):
    return Response(status, json.dumps(obj, indent=1).encode("utf-8"),
                    headers)


def mask_auth(value):
    """Keeps the scheme of an Authorization value, masks the credentials."""
    scheme, _, rest = value.partition(" ")
    return scheme + " ***" if rest else "***"


def parse_json_text(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


class FaultRule:
    """A fault-injection rule; see the module docstring for the fields."""

    ACTIONS = ("status", "delay", "close", "drop", "malformed")

    def __init__(self, method=".*", path=".*", query=None, count=1,
                 action="status", status=None, body=None, retry_after=None,
                 headers=None, delay=0.0, content_type=None):
        if action not in self.ACTIONS:
            raise ValueError("unknown fault action %r" % (action,))
        self.method = method
        self.path = path
        self.query = query
        self.count = int(count)
        self.action = action
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.delay = float(delay or 0)
        self.content_type = content_type
        self._method_re = re.compile(method, re.I)
        self._path_re = re.compile(path)
        self._query_re = re.compile(query) if query is not None else None

    def matches(self, req):
        return (self._method_re.fullmatch(req.method) is not None
                and self._path_re.search(req.path) is not None
                and (self._query_re is None
                     or self._query_re.search(req.query) is not None))

    def to_dict(self):
        return {"method": self.method, "path": self.path,
                "query": self.query, "count": self.count,
                "action": self.action, "status": self.status,
                "body": self.body, "retry_after": self.retry_after,
                "headers": self.headers, "delay": self.delay}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeServer/1.0"
    # An answer's head and body are written apart: with Nagle's algorithm
    # and delayed ACKs each answer on a kept-alive connection waited 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.fake.verbose:
            super().log_message(fmt, *args)

    def setup(self):
        # The TLS handshake runs here, in the connection's own thread, not
        # in the accepting one: a client that stalls it blocks no other.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.server.fake._tls_failed()
                _linger(self.request)
                raise
            self.request.settimeout(None)
        super().setup()

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(self.command, self.path, self.headers, body)
        self.server.fake._serve(self, req)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def send_fake_response(self, resp, cut=False):
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(resp.body)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(resp.body[:len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self.wfile.write(resp.body)


def _linger(sock):
    """After a failed handshake (the alert is sent): reads what the client
    still sends until it closes, so that closing does not answer its
    request with a reset that could destroy the alert before it is read."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and \
                socket.socket.recv(sock, 4096):
            pass
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None  # set for HTTPS (FakeServer.use_tls)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        import sys
        if isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout,
                                          ssl.SSLError)):
            return  # the client went away (timeouts, fault tests, TLS): normal
        super().handle_error(request, client_address)


class FakeServer:
    """Base class of the fakes: server lifecycle, request log, faults.

    Subclasses define `routes()` (a list of (method regex, path regex,
    callable(req, match) -> Response)), `control_routes()` (same, for the
    paths below /_control/), `error_body(status, message)`,
    `_reset_data()`, and `OPTIONS` and `CLI_OPTIONS`.
    """

    name = "fake"
    OPTIONS = {}      # option -> default
    CLI_OPTIONS = {}  # option -> help: the options the command line sets

    def __init__(self, port=0, verbose=False, **options):
        self._check_options(options, TypeError)
        self.options = dict(copy.deepcopy(self.OPTIONS), **options)
        self.verbose = verbose
        self._want_port = port
        self.lock = threading.RLock()
        self._httpd = None
        self._thread = None
        self._log = []
        self._seq = 0
        self._faults = []
        self._tls = None
        self.tls_failures = 0
        self._routes = [(re.compile(m), re.compile(p + r"\Z"), f)
                        for m, p, f in self.routes()]
        self._control = [(re.compile(m), re.compile(p + r"\Z"), f)
                         for m, p, f in self._base_control_routes()
                         + self.control_routes()]
        self._reset_data()

    # ----- lifecycle

    def start(self):
        """Binds 127.0.0.1:port (0: an ephemeral port) and serves in a
        daemon thread. Returns self."""
        self._httpd = _Server((LOOPBACK, self._want_port), _Handler)
        self._httpd.fake = self
        self._httpd.ssl_context = self._tls
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def suspend(self):
        """Stops listening, keeping the data and the port: connections are
        refused until resume(). (Connections already open stay served:
        suspend before the client connects.)"""
        port = self.port
        self.stop()
        self._want_port = port

    def resume(self):
        """Listens again on the port suspend() released. Returns self."""
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        scheme = "https" if self._tls is not None else "http"
        return "%s://%s:%d" % (scheme, LOOPBACK, self.port)

    def use_tls(self, certfile, keyfile, client_ca=None):
        """Serves HTTPS only with this certificate (PEM files), from the
        next start(); with client_ca, only to clients whose certificate
        that CA signed. Returns self."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        self._tls = ctx
        return self

    def _tls_failed(self):
        with self.lock:
            self.tls_failures += 1

    # ----- Python API common to both fakes

    def reset(self):
        """Forgets all data, the request log and the fault rules."""
        with self.lock:
            self._log = []
            self._faults = []
            self._reset_data()

    def requests(self, method=None, path=None):
        """The request log: dicts with seq, time, method, path, query
        (raw), params (first value per name), headers (Authorization
        masked), body (text), status and fault. method and path are
        optional regexes (full match / search)."""
        with self.lock:
            out = list(self._log)
        if method:
            out = [r for r in out if re.fullmatch(method, r["method"], re.I)]
        if path:
            out = [r for r in out if re.search(path, r["path"])]
        return out

    def clear_requests(self):
        with self.lock:
            self._log = []

    def inject_fault(self, **kw):
        """Adds a FaultRule (keyword arguments as its fields)."""
        rule = FaultRule(**kw)
        with self.lock:
            self._faults.append(rule)
        return rule

    def faults(self):
        with self.lock:
            return [f.to_dict() for f in self._faults]

    def clear_faults(self):
        with self.lock:
            self._faults = []

    # ----- to be provided by subclasses

    def routes(self):
        return []

    def control_routes(self):
        return []

    def error_body(self, status, message):
        return {"code": status, "message": message}

    def _reset_data(self):
        pass

    def describe(self):
        """Lines the command line prints after start-up."""
        return []

    # ----- options

    def _check_options(self, names, error):
        unknown = set(names) - set(self.OPTIONS)
        if unknown:
            raise error("unknown options: %s" % ", ".join(sorted(unknown)))

    def get_config(self):
        """A copy of the options."""
        with self.lock:
            return copy.deepcopy(self.options)

    def set_config(self, **kw):
        """Changes options; KeyError (nothing changed) if one is unknown."""
        self._check_options(kw, KeyError)
        with self.lock:
            self.options.update(kw)

    # ----- command line

    @classmethod
    def cli_arguments(cls):
        """The fake's own arguments: --name for each of CLI_OPTIONS, with
        its default; as run_cli's extra_args."""
        return [(("--" + name.replace("_", "-"),),
                 {"default": cls.OPTIONS[name], "help": text})
                for name, text in cls.CLI_OPTIONS.items()]

    @classmethod
    def cli_options(cls, ns):
        """The constructor's options from the parsed arguments."""
        return {name: getattr(ns, name) for name in cls.CLI_OPTIONS}

    @classmethod
    def main(cls, argv=None):
        """Runs the fake from the command line (see run_cli)."""
        return run_cli(lambda ns: cls(port=ns.port, verbose=ns.verbose,
                                      **cls.cli_options(ns)),
                       argv, cls.cli_arguments())

    # ----- request handling

    def _take_fault(self, req):
        with self.lock:
            for rule in self._faults:
                if rule.matches(req):
                    if rule.count > 0:
                        rule.count -= 1
                        if rule.count == 0:
                            self._faults.remove(rule)
                    return rule
        return None

    def _record(self, req):
        headers = {}
        for k, v in req.headers.items():
            headers[k] = mask_auth(v) if k.lower() in (
                "authorization", "proxy-authorization") else v
        with self.lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(),
                     "method": req.method, "path": req.path,
                     "query": req.query, "params": dict(req.params),
                     "headers": headers,
                     "body": req.body.decode("utf-8", "replace"),
                     "status": None, "fault": None}
            self._log.append(entry)
        return entry

    def _route(self, table, req):
        for mre, pre, func in table:
            m = pre.match(req.path)
            if m and mre.fullmatch(req.method):
                return func(req, m)
        for mre, pre, func in table:
            if pre.match(req.path):
                return json_response(
                    self.error_body(405, "Method Not Allowed"), 405)
        return json_response(self.error_body(404, "Not Found"), 404)

    def _serve(self, handler, req):
        if req.path.startswith("/_control/"):
            try:
                resp = self._route(self._control, req)
            except (ValueError, KeyError, TypeError) as e:
                resp = json_response({"error": str(e)}, 400)
            handler.send_fake_response(resp)
            return
        entry = self._record(req)
        rule = self._take_fault(req)
        if rule is not None:
            entry["fault"] = rule.action
            if rule.delay:
                time.sleep(rule.delay)
            if rule.action == "drop":
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if rule.action == "status":
                status = int(rule.status or 500)
                resp = self._fault_response(rule, status)
                entry["status"] = status
                handler.send_fake_response(resp)
                return
        try:
            resp = self._route(self._routes, req)
        except Exception as e:  # a bug in the fake: answer, never hang
            resp = json_response(self.error_body(500, "fake: %r" % (e,)),
                                 500)
        if rule is not None and rule.action == "malformed":
            resp = Response(int(rule.status or 200),
                            b'{"data": [{"id": "trunc', resp.headers)
            resp.headers["Content-Type"] = "application/json"
        entry["status"] = resp.status
        handler.send_fake_response(
            resp, cut=rule is not None and rule.action == "close")

    def _fault_response(self, rule, status):
        headers = dict(rule.headers)
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.body is None:
            body = json.dumps(self.error_body(
                status, "injected fault")).encode()
            ctype = "application/json"
        elif isinstance(rule.body, (dict, list)):
            body = json.dumps(rule.body).encode()
            ctype = "application/json"
        else:
            body = str(rule.body).encode()
            ctype = rule.content_type or (
                "application/json" if parse_json_text(rule.body) is not None
                else "text/plain")
        return Response(status, body, headers, ctype)

    # ----- control routes common to both fakes

    def _base_control_routes(self):
        return [
            ("POST", r"/_control/reset", self._c_reset),
            ("GET", r"/_control/requests", self._c_requests),
            ("DELETE", r"/_control/requests", self._c_clear_requests),
            ("GET", r"/_control/faults", self._c_faults),
            ("POST", r"/_control/faults", self._c_add_fault),
            ("DELETE", r"/_control/faults", self._c_clear_faults),
            ("GET", r"/_control/config", self._c_get_config),
            ("POST", r"/_control/config", self._c_set_config),
        ]

    def _c_reset(self, req, m):
        self.reset()
        return json_response({"ok": True})

    def _c_requests(self, req, m):
        return json_response(self.requests(req.params.get("method"),
                                           req.params.get("path")))

    def _c_clear_requests(self, req, m):
        self.clear_requests()
        return json_response({"ok": True})

    def _c_faults(self, req, m):
        return json_response(self.faults())

    def _c_add_fault(self, req, m):
        rule = self.inject_fault(**(req.json() or {}))
        return json_response(rule.to_dict(), 201)

    def _c_clear_faults(self, req, m):
        self.clear_faults()
        return json_response({"ok": True})

    def _c_get_config(self, req, m):
        return json_response(self.get_config())

    def _c_set_config(self, req, m):
        self.set_config(**(req.json() or {}))
        return json_response(self.get_config())


class ControlClient:
    """Drives a fake over HTTP (for a fake in another process)."""

    def __init__(self, base_url, timeout=10):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def call(self, method, path, body=None):
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        # no proxy, whatever the environment says: loopback only
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=self.timeout) as r:
            text = r.read().decode()
        return json.loads(text) if text else None


def run_cli(make_fake, argv, extra_args=None):
    """Command line shared by both fakes: --port, --port-file, -v."""
    import argparse
    import os
    import signal

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("-v", "--verbose", action="store_true")
    for args, kw in (extra_args or []):
        ap.add_argument(*args, **kw)
    ns = ap.parse_args(argv)
    fake = make_fake(ns)
    fake.start()
    if ns.port_file:
        tmp = ns.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % fake.port)
        os.replace(tmp, ns.port_file)
    print("%s listening on %s" % (fake.name, fake.base_url), flush=True)
    for line in fake.describe():
        print(line, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.2):
        pass
    fake.stop()
    return 0
