# SPDX-License-Identifier: MIT
"""A fake xMatters (inbound integration trigger + REST API) on 127.0.0.1.

Shapes follow xMatters' documented REST API (trigger, events, status changes,
user deliveries) and the fixtures of its public clients.

Usage in-process:

    xm = FakeXMatters(user="runscope", password="pw",
                      functions={"<uuid>": "<apiKey>"}).start()
    url = xm.trigger_url()          # .../functions/<uuid>/triggers?apiKey=..
    ...
    xm.events(status="ACTIVE")      # every event, with its properties
    xm.triggers()                   # the trigger bodies received
    xm.terminate_as_person(ev["id"], by="jdoe")
    xm.suspend_as_person(ev["id"], by="jdoe")
    xm.add_response(ev["id"], "jdoe", "Rerun")
    xm.stop()

or from the command line (drive it through /_control/ over HTTP):

    python3 tests/fakes/fake_xmatters.py --port 0 --port-file F \
        --user runscope --password pw --function UUID=KEY

API routes:

    POST /api/integration/1/functions/{uuid}/triggers[?apiKey=K]
        Authenticated by apiKey (or Basic credentials of the REST user):
        none -> 401, wrong -> 403, unknown function -> 404; a body that is
        not a JSON object -> 400; all with {"code","reason","message"}.
        Records the body and answers 202 {"requestId": uuid}. Creates an
        event: status ACTIVE, id (UUID), eventId (numeric string),
        requestId, properties (text properties stored as the API shows
        them, "name#en"; numbers, booleans and lists as sent),
        responseOptions and recipients from the body. With
        visibility_delay > 0 the event is invisible to the REST API for
        that many seconds (eventual consistency). trigger_answers (a list,
        one item used up per accepted trigger) replaces the 202 after the
        event was created, as a gateway or proxy in front of xMatters may:
        {"status": 502, "body": "<html>...", "content_type": "text/html"}
        (a 502/503/504 that hides a created event, or a 200 whose body is
        not JSON); with "created": false the trigger never reached
        xMatters (no event: a proxy answered).
    GET  /api/xm/1/events?status=&propertyName=&propertyValue=
                         &propertyValueOperator=&requestId=&plan=&form=
                         &embed=&limit=&offset=
        status, propertyName and propertyValue take comma lists (a literal
        "," separates items, "%2C" is a comma inside a value); property
        names match ignoring a "#xx" suffix; pairs are ANDed. Values match
        as propertyValueOperator says: CONTAINS (xMatters' default: a
        case-insensitive substring, so "b/t/e" finds "b/t/e2") or EQUALS;
        another operator -> 400. limit
        defaults to 100 and is capped by the page_size option (a server
        that pages in fewer: a long list then needs many pages). Answers
        {count, total, data, links{self[, next]}} with relative links;
        "next" only when more pages exist. Events carry properties only
        with embed=properties (responseOptions, recipients likewise).
    GET  /api/xm/1/events/{id}          by UUID or eventId; with properties
    POST /api/xm/1/events {"id","status"}
        status ACTIVE/SUSPENDED/TERMINATED -> 200 and the updated event;
        unknown id -> 404 {"code":404,"reason":"Not Found",...}; another
        status or a bad body -> 400; changing a TERMINATED event to
        another status -> 409 (terminating it again is 200).
    GET  /api/xm/1/events/{id}/user-deliveries?at=&limit=&offset=
        One item per user who responded, as xmatters-api.md 5.1, with the
        user's last response in data[].response.text (and .received).
    Every /api/xm/1/* route needs HTTP Basic with user:password (401
    {"code":401,"reason":"Unauthorized",...} otherwise).

Control routes (no auth), besides those of fakebase (reset, requests,
faults, config):

    GET  /_control/triggers                   recorded trigger calls
    GET  /_control/events                     every event (also invisible
                                              ones): API fields plus
                                              properties, plain_properties
                                              (suffix removed),
                                              responseOptions, recipients,
                                              visible, terminated_by,
                                              responses, status_changes
    POST /_control/events                     create an event directly
                                              {"properties", "status",
                                              "requestId", ...}
    POST /_control/events/{id}/terminate      {"by": "jdoe"}: as a person
    POST /_control/events/{id}/responses      {"user", "text", "comment",
                                              "device"}

Options (constructor keywords or POST /_control/config): user, password,
functions ({uuid: apiKey}), visibility_delay (0 s), page_size (None: only
limit counts), trigger_creates_event (True), plan_name, form_name,
trigger_answers ([]: every accepted trigger answers 202 {"requestId"}).
"""

import base64
import copy
import itertools
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

STATUSES = ("ACTIVE", "SUSPENDED", "TERMINATED")
OPERATORS = ("CONTAINS", "EQUALS")

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


def xm_error(status, message):
    return {"code": status, "reason": REASONS.get(status, "Error"),
            "message": message}


def xm_time(t=None):
    """xMatters' timestamp form, e.g. 2016-10-31T22:37:35.301+0000."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03d+0000" % int((t % 1) * 1000)


def strip_suffix(name):
    """"Country#en" -> "Country"."""
    base, sep, lang = name.rpartition("#")
    return base if sep and base and 1 <= len(lang) <= 5 else name


def plain_properties(props):
    """Properties with the "#xx" language suffixes removed."""
    return {strip_suffix(k): v for k, v in (props or {}).items()}


def stored_properties(props):
    """Properties as xMatters shows them: text ones get "#en"."""
    out = {}
    for k, v in (props or {}).items():
        if isinstance(v, str) and "#" not in k:
            out[k + "#en"] = v
        else:
            out[k] = v
    return out


def property_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return ",".join(property_text(x) for x in v)
    return str(v)


def raw_list_param(query, name):
    """The comma-separated items of a query parameter, split on literal
    commas before percent-decoding (so %2C stays inside an item)."""
    items = []
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if urllib.parse.unquote_plus(k) == name:
            items.extend(urllib.parse.unquote_plus(x) for x in v.split(","))
    return items


class FakeXMatters(fakebase.FakeServer):
    """The fake xMatters and its Python control API."""

    name = "fake-xmatters"
    OPTIONS = {
        "user": "runscope",
        "password": "xmatters-test-password",
        "functions": {},
        "visibility_delay": 0.0,
        "page_size": None,
        "trigger_creates_event": True,
        "plan_name": "Runscope",
        "form_name": "Runscope test failed",
        "trigger_answers": [],
    }
    CLI_OPTIONS = {"user": "the REST API's user",
                   "password": "its password"}

    def __init__(self, port=0, verbose=False, **options):
        self._plan_id = str(uuid.uuid4())
        self._form_id = str(uuid.uuid4())
        super().__init__(port, verbose, **options)
        if not self.options["functions"]:
            self.options["functions"] = {str(uuid.uuid4()):
                                         str(uuid.uuid4())}

    @classmethod
    def cli_arguments(cls):
        return super().cli_arguments() + [
            (("--function",), {"action": "append", "metavar": "UUID=APIKEY",
                               "help": "a trigger function and its apiKey "
                               "(repeatable; default: one random pair)"})]

    @classmethod
    def cli_options(cls, ns):
        funcs = dict(f.split("=", 1) for f in ns.function or [])
        return dict(super().cli_options(ns), functions=funcs)

    def describe(self):
        return ["trigger URL: " + self.trigger_url(f)
                for f in self.options["functions"]]

    def set_visibility_delay(self, seconds):
        self.set_config(visibility_delay=float(seconds))

    def set_page_size(self, n):
        self.set_config(page_size=n)

    def error_body(self, status, message):
        return xm_error(status, message)

    def _reset_data(self):
        self._events = []
        self._triggers = []
        self._event_numbers = itertools.count(2132001)

    # ----- Python API

    def trigger_url(self, function=None):
        """The full trigger URL of a function (default: the first one),
        with its apiKey."""
        with self.lock:
            funcs = self.options["functions"]
            function = function or next(iter(funcs))
            return "%s/api/integration/1/functions/%s/triggers?apiKey=%s" % (
                self.base_url, function, urllib.parse.quote(funcs[function]))

    def triggers(self):
        """Recorded trigger calls: dicts with time, function, query, body
        (parsed JSON or None), raw, status, requestId, event_id."""
        with self.lock:
            return copy.deepcopy(self._triggers)

    def events(self, status=None, key=None):
        """Every event (also the not yet visible ones), in creation order,
        as GET /_control/events shows them. status and key (the
        runscope_key property) filter."""
        with self.lock:
            out = [self._control_view(e) for e in self._events]
        if status:
            out = [e for e in out if e["status"] == status]
        if key is not None:
            out = [e for e in out
                   if e["plain_properties"].get("runscope_key") == key]
        return out

    def event(self, event_id):
        with self.lock:
            return self._control_view(self._find(event_id, visible=False))

    def add_event(self, properties=None, status="ACTIVE", request_id=None,
                  response_options=None, recipients=None, priority="HIGH"):
        """Creates an event directly (as if another trigger had made it);
        properties are given plain and stored with "#en" suffixes."""
        with self.lock:
            ev = self._new_event(request_id or str(uuid.uuid4()), {
                "properties": properties or {}, "priority": priority,
                "responseOptions": response_options or [],
                "recipients": recipients or []}, visible_at=0)
            ev["status"] = status
            return self._control_view(ev)

    def terminate_as_person(self, event_id, by="jdoe"):
        """Terminates an event as a person in the UI would."""
        with self.lock:
            ev = self._find(event_id, visible=False)
            self._set_status(ev, "TERMINATED", by)
            return self._control_view(ev)

    def suspend_as_person(self, event_id, by="jdoe"):
        """Suspends an event as a person in the UI would (it stays open:
        notifications pause)."""
        with self.lock:
            ev = self._find(event_id, visible=False)
            self._set_status(ev, "SUSPENDED", by)
            return self._control_view(ev)

    def add_response(self, event_id, user, text, comment=None,
                     device="Work Email"):
        """Records a response of a user on an event (users respond to
        notifications; there is no API for it, so tests inject them)."""
        with self.lock:
            ev = self._find(event_id, visible=False)
            ev["_responses"].append({
                "user": user, "text": text, "comment": comment,
                "device": device, "received": time.time(),
                "notification": str(uuid.uuid5(
                    uuid.NAMESPACE_URL, ev["id"] + "/" + user))})
            return self._control_view(ev)

    # ----- events

    def _new_event(self, request_id, body, visible_at=None):
        now = time.time()
        event_uuid = str(uuid.uuid4())
        ev = {
            "id": event_uuid,
            "name": self.options["form_name"],
            "eventType": "USER",
            "plan": {"id": self._plan_id, "name": self.options["plan_name"]},
            "form": {"id": self._form_id, "name": self.options["form_name"]},
            "floodControl": False,
            "submitter": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                               self.options["user"])),
                          "targetName": self.options["user"],
                          "recipientType": "PERSON",
                          "links": {"self": "/api/xm/1/people/%s" % (
                              self.options["user"],)}},
            "priority": body.get("priority") or "MEDIUM",
            "incident": None,
            "overrideDeviceRestrictions": bool(
                body.get("overrideDeviceRestrictions", False)),
            "escalationOverride": bool(body.get("escalationOverride",
                                                False)),
            "bypassPhoneIntro": bool(body.get("bypassPhoneIntro", False)),
            "requirePhonePassword": bool(body.get("requirePhonePassword",
                                                  False)),
            "requestId": request_id,
            "eventId": str(next(self._event_numbers)),
            "created": xm_time(now),
            "status": "ACTIVE",
            "links": {"self": "/api/xm/1/events/" + event_uuid},
            "responseCountsEnabled": False,
            "_properties": stored_properties(body.get("properties")),
            "_responseOptions": copy.deepcopy(body.get("responseOptions")
                                              or []),
            "_recipients": copy.deepcopy(body.get("recipients") or []),
            "_visible_at": now + float(self.options["visibility_delay"])
            if visible_at is None else visible_at,
            "_terminated_by": None,
            "_responses": [],
            "_status_changes": [],
        }
        if body.get("expirationInMinutes") is not None:
            ev["expirationInMinutes"] = body["expirationInMinutes"]
        self._events.append(ev)
        return ev

    def _find(self, ref, visible=True):
        now = time.time()
        for ev in self._events:
            if ref in (ev["id"], ev["eventId"]):
                if visible and ev["_visible_at"] > now:
                    break
                return ev
        raise KeyError("no event %s" % ref)

    def _set_status(self, ev, status, by):
        ev["status"] = status
        ev["_status_changes"].append({"status": status, "by": by,
                                      "time": time.time()})
        if status == "TERMINATED":
            ev["terminated"] = xm_time()
            ev["_terminated_by"] = by
        else:
            ev.pop("terminated", None)

    def _response_options(self, ev):
        data = []
        for i, ro in enumerate(ev["_responseOptions"]):
            ro = dict(ro)
            ro.setdefault("id", str(uuid.uuid5(uuid.NAMESPACE_URL,
                                               "%s/%d" % (ev["id"], i))))
            ro.setdefault("order", i)
            data.append(ro)
        return {"count": len(data), "total": len(data), "data": data}

    def _api_view(self, ev, embed=(), properties=False):
        out = {k: copy.deepcopy(v) for k, v in ev.items()
               if not k.startswith("_")}
        if properties or "properties" in embed:
            out["properties"] = copy.deepcopy(ev["_properties"])
        if "responseOptions" in embed:
            out["responseOptions"] = self._response_options(ev)
        if "recipients" in embed:
            rec = copy.deepcopy(ev["_recipients"])
            out["recipients"] = {"count": len(rec), "total": len(rec),
                                 "data": rec}
        return out

    def _control_view(self, ev):
        out = self._api_view(ev, properties=True)
        out["plain_properties"] = plain_properties(ev["_properties"])
        out["responseOptions"] = copy.deepcopy(ev["_responseOptions"])
        out["recipients"] = copy.deepcopy(ev["_recipients"])
        out["visible"] = ev["_visible_at"] <= time.time()
        out["terminated_by"] = ev["_terminated_by"]
        out["responses"] = copy.deepcopy(ev["_responses"])
        out["status_changes"] = copy.deepcopy(ev["_status_changes"])
        return out

    # ----- authentication

    def _basic_ok(self, req):
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.options["user"] and pw == self.options[
            "password"]

    def _rest_auth(self, req):
        if self._basic_ok(req):
            return None
        return json_response(xm_error(
            401, "Bad credentials: HTTP Basic authentication with a REST "
            "web service user is required"), 401)

    # ----- API routes

    def routes(self):
        e = r"/api/xm/1/events"
        return [
            ("POST", r"/api/integration/1/functions/(?P<func>[^/]+)"
             r"/triggers", self._r_trigger),
            ("GET", e, self._r_events),
            ("POST", e, self._r_update),
            ("GET", e + r"/(?P<id>[^/]+)", self._r_event),
            ("GET", e + r"/(?P<id>[^/]+)/user-deliveries",
             self._r_deliveries),
        ]

    def _r_trigger(self, req, m):
        with self.lock:
            rec = {"time": time.time(), "function": m["func"],
                   "query": req.query, "params": dict(req.params),
                   "raw": req.body.decode("utf-8", "replace"), "body": None,
                   "status": None, "requestId": None, "event_id": None}
            self._triggers.append(rec)
            resp = self._trigger(req, m["func"], rec)
            rec["status"] = resp.status
            return resp

    def _trigger(self, req, func, rec):
        funcs = self.options["functions"]
        if func not in funcs:
            return json_response(xm_error(
                404, "No integration or flow trigger with id %s" % func),
                404)
        key = req.params.get("apiKey")
        basic = self._basic_ok(req)
        if key is None and basic is None:
            return json_response(xm_error(
                401, "Authentication required: apiKey or Basic"), 401)
        if not ((key is not None and key == funcs[func]) or basic):
            return json_response(xm_error(
                403, "The credentials may not trigger this integration"),
                403)
        try:
            body = req.json()
        except ValueError:
            body = None
        rec["body"] = body
        if not isinstance(body, dict):
            return json_response(xm_error(
                400, "The request body must be a JSON object"), 400)
        request_id = str(uuid.uuid4())
        rec["requestId"] = request_id
        answer = None
        if self.options["trigger_answers"]:
            answers = list(self.options["trigger_answers"])
            self.options["trigger_answers"] = answers[1:]
            answer = answers[0]
        if self.options["trigger_creates_event"] and (
                answer is None or answer.get("created", True)):
            rec["event_id"] = self._new_event(request_id, body)["id"]
        if answer is not None:
            return self._after_trigger(answer)
        return json_response({"requestId": request_id}, 202)

    @staticmethod
    def _after_trigger(answer):
        """What a gateway or proxy answers instead of the trigger's 202."""
        status = int(answer.get("status", 502))
        body = answer.get("body")
        if body is None:
            body = "<html><body><h1>%d %s</h1></body></html>" % (
                status, REASONS.get(status, "Error"))
        return fakebase.Response(status, body, None,
                                 answer.get("content_type", "text/html"))

    def _r_events(self, req, m):
        with self.lock:
            err = self._rest_auth(req)
            if err:
                return err
            try:
                limit = int(req.params.get("limit") or 100)
                offset = int(req.params.get("offset") or 0)
            except ValueError:
                return json_response(xm_error(
                    400, "limit and offset must be integers"), 400)
            if limit < 1 or offset < 0:
                return json_response(xm_error(
                    400, "limit must be positive, offset not negative"), 400)
            if self.options["page_size"]:
                limit = min(limit, int(self.options["page_size"]))
            names = raw_list_param(req.query, "propertyName")
            values = raw_list_param(req.query, "propertyValue")
            if len(names) != len(values):
                return json_response(xm_error(
                    400, "propertyName and propertyValue must pair up"), 400)
            statuses = {s.strip().upper()
                        for s in raw_list_param(req.query, "status") if s}
            embed = set(raw_list_param(req.query, "embed"))
            op = (req.params.get("propertyValueOperator") or
                  "CONTAINS").upper()
            if op not in OPERATORS:
                return json_response(xm_error(
                    400, "Invalid propertyValueOperator %r: use one of %s" % (
                        op, ", ".join(OPERATORS))), 400)
            pairs = [(strip_suffix(n).lower(), v)
                     for n, v in zip(names, values)]
            now = time.time()
            hits = [ev for ev in self._events
                    if ev["_visible_at"] <= now
                    and self._matches(ev, req, statuses, pairs, op)]
            page = hits[offset:offset + limit]
            base = [p for p in req.query.split("&") if p and
                    urllib.parse.unquote_plus(p.partition("=")[0])
                    not in ("offset", "limit")]

            def link(off):
                return "/api/xm/1/events?" + "&".join(
                    base + ["offset=%d" % off, "limit=%d" % limit])
            links = {"self": link(offset)}
            if offset + limit < len(hits):
                links["next"] = link(offset + limit)
            return json_response({
                "count": len(page), "total": len(hits),
                "data": [self._api_view(ev, embed) for ev in page],
                "links": links})

    @staticmethod
    def _matches(ev, req, statuses, pairs, op):
        if statuses and ev["status"] not in statuses:
            return False
        rid = req.params.get("requestId")
        if rid and ev["requestId"] != rid:
            return False
        for param, field in (("plan", "plan"), ("form", "form")):
            want = req.params.get(param)
            if want and want not in (ev[field]["name"], ev[field]["id"]):
                return False
        props = {strip_suffix(k).lower(): v
                 for k, v in ev["_properties"].items()}
        for name, value in pairs:
            if name not in props:
                return False
            got = property_text(props[name])
            if op == "EQUALS" and got != value:
                return False
            if op == "CONTAINS" and value.lower() not in got.lower():
                return False
        return True

    def _r_event(self, req, m):
        with self.lock:
            err = self._rest_auth(req)
            if err:
                return err
            try:
                ev = self._find(m["id"])
            except KeyError:
                return self._not_found(m["id"])
            embed = set(raw_list_param(req.query, "embed"))
            return json_response(self._api_view(ev, embed, properties=True))

    def _not_found(self, ref):
        return json_response(xm_error(
            404, "Could not find an event with id %s" % ref), 404)

    def _r_update(self, req, m):
        with self.lock:
            err = self._rest_auth(req)
            if err:
                return err
            try:
                body = req.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or not isinstance(
                    body.get("id"), str):
                return json_response(xm_error(
                    400, "The body must be a JSON object with \"id\" and "
                    "\"status\""), 400)
            status = body.get("status")
            if status not in STATUSES:
                return json_response(xm_error(
                    400, "Invalid status %r: use one of %s" % (
                        status, ", ".join(STATUSES))), 400)
            try:
                ev = self._find(body["id"])
            except KeyError:
                return self._not_found(body["id"])
            if ev["status"] == "TERMINATED" and status != "TERMINATED":
                return json_response(xm_error(
                    409, "The event is terminated"), 409)
            if ev["status"] != status:
                self._set_status(ev, status, "api:" + self.options["user"])
            return json_response(self._api_view(ev))

    def _r_deliveries(self, req, m):
        with self.lock:
            err = self._rest_auth(req)
            if err:
                return err
            try:
                ev = self._find(m["id"])
                limit = int(req.params.get("limit") or 100)
                offset = int(req.params.get("offset") or 0)
            except KeyError:
                return self._not_found(m["id"])
            except ValueError:
                return json_response(xm_error(
                    400, "limit and offset must be integers"), 400)
            items = self._deliveries(ev, req.params.get("at"))
            page = items[offset:offset + limit]
            q = "limit=%d&offset=%d" % (limit, offset)
            if req.params.get("at"):
                q += "&at=" + urllib.parse.quote(req.params["at"])
            links = {"self": "/api/xm/1/events/%s/user-deliveries?%s" % (
                m["id"], q)}
            if offset + limit < len(items):
                links["next"] = "/api/xm/1/events/%s/user-deliveries?" \
                    "limit=%d&offset=%d" % (m["id"], limit, offset + limit)
            return json_response({"count": len(page), "total": len(items),
                                  "data": page, "links": links})

    def _deliveries(self, ev, at):
        by_user = {}
        for r in ev["_responses"]:
            by_user.setdefault(r["user"], []).append(r)
        out = []
        for user, responses in by_user.items():
            person_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, user))
            last = responses[-1]
            notif = {
                "id": last["notification"], "category": "DEVICE",
                "recipient": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                                   user + "|dev")),
                              "targetName": "%s|%s" % (user, last["device"]),
                              "recipientType": "DEVICE",
                              "deviceType": "EMAIL", "name": ""},
                "deliveryStatus": "RESPONDED",
                "deliveryAttempted": xm_time(responses[0]["received"] - 1),
                "responses": {"count": len(responses),
                              "total": len(responses), "data": [
                                  {"text": r["text"], "comment": r["comment"],
                                   "notification": {"id": r["notification"]},
                                   "received": xm_time(r["received"])}
                                  for r in reversed(responses)]},
                "delivered": xm_time(responses[0]["received"] - 0.5),
                "responded": xm_time(responses[0]["received"])}
            suffix = "?at=" + urllib.parse.quote(at) if at else ""
            out.append({
                "event": {"id": ev["id"], "eventId": ev["eventId"],
                          "links": {"self": "/api/xm/1/events/%s%s" % (
                              ev["id"], suffix)}},
                "person": {"id": person_id, "targetName": user,
                           "recipientType": "PERSON",
                           "links": {"self": "/api/xm/1/people/%s%s" % (
                               person_id, suffix)},
                           "firstName": user.capitalize(), "lastName": "Doe"},
                "deliveryStatus": "RESPONDED",
                "notifications": {"count": 1, "total": 1, "data": [notif]},
                "response": {"text": last["text"],
                             "comment": last["comment"],
                             "notification": {"id": last["notification"]},
                             "received": xm_time(last["received"])}})
        return out

    # ----- control routes

    def control_routes(self):
        c = r"/_control/events"
        return [
            ("GET", r"/_control/triggers", self._c_triggers),
            ("GET", c, self._c_events),
            ("POST", c, self._c_add_event),
            ("POST", c + r"/(?P<id>[^/]+)/terminate", self._c_terminate),
            ("POST", c + r"/(?P<id>[^/]+)/responses", self._c_respond),
        ]

    def _c_triggers(self, req, m):
        return json_response(self.triggers())

    def _c_events(self, req, m):
        return json_response(self.events(req.params.get("status"),
                                         req.params.get("key")))

    def _c_add_event(self, req, m):
        b = req.json() or {}
        return json_response(self.add_event(
            b.get("properties"), b.get("status", "ACTIVE"),
            b.get("requestId"), b.get("responseOptions"),
            b.get("recipients"), b.get("priority", "HIGH")), 201)

    def _c_terminate(self, req, m):
        b = req.json() or {}
        return json_response(self.terminate_as_person(m["id"],
                                                      b.get("by", "jdoe")))

    def _c_respond(self, req, m):
        b = req.json() or {}
        return json_response(self.add_response(
            m["id"], b["user"], b["text"], b.get("comment"),
            b.get("device", "Work Email")), 201)


if __name__ == "__main__":
    sys.exit(FakeXMatters.main())
