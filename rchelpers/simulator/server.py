"""The HTTP layer: a threaded stdlib server, a route table, and the handlers of the platform's API.

Routes are :class:`Route` entries ``(method, regex, handler, group, auth)`` kept in ``Simulator.routes``;
other modules add theirs with ``Simulator.add_route``. Control routes live under ``/_sim/`` only.
Every answer is JSON (``Content-Type: application/json; charset=UTF-8``); an unexpected failure is
logged and answered with a JSON error, never a traceback. A request with an ``Origin`` gets CORS headers
and a preflight of a served path is answered, so the JS SDK also works from a browser page.
"""
from __future__ import annotations

import http.server
import json
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, urlsplit

from rchelpers.simulator import oauth
from rchelpers.simulator.clock import iso
from rchelpers.simulator.errors import (
    PlatformError,
    bad_json,
    body_too_large,
    cannot_parse,
    invalid_parameter,
    method_not_allowed,
    rate_exceeded,
    unknown_route,
)
from rchelpers.simulator.state import SUBSCRIPTION_PATH, Session, SubscriptionRecord, User

if TYPE_CHECKING:
    from rchelpers.simulator import Simulator

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=UTF-8"
SERVER_NAME = "rchelpers-simulator"


@dataclass
class SimRequest:
    """One HTTP request as handlers see it."""

    sim: "Simulator"
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    client_address: tuple[str, int]
    params: dict[str, str] = field(default_factory=dict)  #: the route regex's named groups
    session: Session | None = None  #: the OAuth session (routes with ``auth=True``)

    def header(self, name: str) -> str | None:
        """A request header (case-insensitive), or None."""
        return self.headers.get(name)

    def json(self) -> Any:
        """The body parsed as JSON; None for an empty body; 400 CMN-103 if it is not JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise bad_json() from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body gives ``{}``); 400 if it is something else."""
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        return body


@dataclass
class SimResponse:
    """What a handler returns: ``body`` is JSON-encoded unless it is bytes; None means no body."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[SimRequest], SimResponse]


@dataclass
class Route:
    """One entry of the route table."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    group: str | None = None  #: rate-limit group (Light/Medium/Heavy/Auth) or None
    auth: bool = False  #: True if the call needs a bearer access token


def route(method: str, pattern: str, handler: Handler, group: str | None = None, auth: bool = False) -> Route:
    """Build a :class:`Route`; ``pattern`` must match the whole path."""
    return Route(method.upper(), re.compile(pattern), handler, group, auth)


# --- dispatch ------------------------------------------------------------------------------------
def dispatch(request: SimRequest) -> SimResponse:
    """Find the route, check the token and the rate limit, run the handler; errors become JSON bodies."""
    sim = request.sim
    rate_headers: dict[str, str] = {}
    origin = _origin(request)
    if origin and request.method == "OPTIONS" and request.header("Access-Control-Request-Method"):
        preflight = _preflight(request, origin)
        if preflight is not None:
            return preflight
    try:
        candidates = [(r, m) for r in list(sim.routes) if (m := r.pattern.fullmatch(request.path))]
        if not candidates:
            raise unknown_route(request.path)
        chosen = next(((r, m) for r, m in candidates if r.method == request.method), None)
        if chosen is None:
            raise method_not_allowed(request.method, sorted({r.method for r, _ in candidates}))
        target, match = chosen
        request.params = {k: v for k, v in match.groupdict().items() if v is not None}
        if target.auth:
            request.session = oauth.authorize_request(sim.state, request.header("Authorization"))
        if target.group is not None:
            decision = sim.rate_limiter.hit(_rate_key(request), target.group)
            rate_headers = decision.headers
            if not decision.allowed:
                raise rate_exceeded(decision.retry_after, {})
        response = target.handler(request)
    except PlatformError as exc:
        response = SimResponse(exc.status, exc.body(), dict(exc.headers))
    except Exception:  # a bug must not leak a traceback to the client
        log.exception("simulator handler failed on %s %s", request.method, request.path)
        error = PlatformError(500, "CMN-203", "Internal Server Error")
        response = SimResponse(500, error.body())
    response.headers = {**rate_headers, **response.headers}
    if origin:
        response.headers.update({"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": CORS_EXPOSED,
                                 "Vary": "Origin"})
    return response


# --- CORS (browsers run @ringcentral/sdk against the platform) -----------------------------------
CORS_EXPOSED = "Retry-After, X-Rate-Limit-Group, X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Window"
CORS_MAX_AGE = "600"
_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9.\[\]:_-]{1,253}|null")
_HEADER_LIST = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")


def _origin(request: SimRequest) -> str | None:
    """The request's ``Origin`` if it is a well-formed one (it is echoed back), else None."""
    origin = (request.header("Origin") or "").strip()
    return origin if _ORIGIN.fullmatch(origin) else None


def _preflight(request: SimRequest, origin: str) -> SimResponse | None:
    """The answer to a CORS preflight of a served path (None for an unknown path: it gets the usual 404)."""
    methods = sorted({r.method for r in list(request.sim.routes) if r.pattern.fullmatch(request.path)})
    if not methods:
        return None
    headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": ", ".join(methods),
               "Access-Control-Max-Age": CORS_MAX_AGE,
               "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
    asked = (request.header("Access-Control-Request-Headers") or "").strip()
    if asked and _HEADER_LIST.fullmatch(asked):
        headers["Access-Control-Allow-Headers"] = asked
    return SimResponse(200, None, headers)


def _rate_key(request: SimRequest) -> tuple[str, str]:
    if request.session is not None:
        return (request.session.user.extension_id, request.session.client_id)
    hint = ""
    if request.path.startswith("/restapi/oauth/"):
        try:
            form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        except ValueError:
            form = {}
        hint = oauth.client_hint(form, request.header("Authorization"))
    return ("client", hint or request.client_address[0])


# --- the platform's API --------------------------------------------------------------------------
def api_routes() -> list[Route]:
    """The RingCentral routes the simulator serves."""
    sub = SUBSCRIPTION_PATH
    one = sub + r"/(?P<id>[^/]+)"
    return [
        route("POST", r"/restapi/oauth/token", token, group="Auth"),
        route("POST", r"/restapi/oauth/revoke", revoke, group="Auth"),
        route("GET", sub, list_subscriptions, group="Light", auth=True),
        route("POST", sub, create_subscription, group="Medium", auth=True),
        route("GET", one, get_subscription, group="Light", auth=True),
        route("PUT", one, update_subscription, group="Medium", auth=True),
        route("DELETE", one, delete_subscription, group="Medium", auth=True),
        route("POST", one + r"/renew", renew_subscription, group="Light", auth=True),
    ]


def token(request: SimRequest) -> SimResponse:
    """``POST /restapi/oauth/token``: the JWT and refresh grants."""
    form = oauth.parse_form(request.body, request.header("Content-Type"))
    body = oauth.issue_token(request.sim.state, form, request.header("Authorization"))
    return SimResponse(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def revoke(request: SimRequest) -> SimResponse:
    """``POST /restapi/oauth/revoke``: ``token`` in the form body or the query; 200 with no body."""
    form = oauth.parse_form(request.body, request.header("Content-Type"), request.query)
    oauth.revoke(request.sim.state, form, request.header("Authorization"))
    return SimResponse(200, None)


def _owner(request: SimRequest) -> tuple[User, str]:
    assert request.session is not None
    return request.session.user, request.session.client_id


def _info(request: SimRequest, record: SubscriptionRecord) -> dict[str, Any]:
    with request.sim.state.lock:  # a consistent snapshot even if another call renews it meanwhile
        return record.to_info(request.sim.url, request.sim.clock.now())


def list_subscriptions(request: SimRequest) -> SimResponse:
    """``GET /restapi/v1.0/subscription``: the user's records for this app, every transport."""
    user, client_id = _owner(request)
    records = [_info(request, r) for r in request.sim.state.list_subscriptions(user, client_id)]
    return SimResponse(200, {"uri": request.sim.url + SUBSCRIPTION_PATH, "records": records})


def create_subscription(request: SimRequest) -> SimResponse:
    """``POST /restapi/v1.0/subscription``: validate, handshake, store; 200 ``SubscriptionInfo``."""
    user, client_id = _owner(request)
    body = request.json()
    if body is None:
        raise cannot_parse("the body must be a JSON object with eventFilters and deliveryMode")
    record = request.sim.state.create_subscription(user, client_id, body)
    return SimResponse(200, _info(request, record))


def get_subscription(request: SimRequest) -> SimResponse:
    """``GET /restapi/v1.0/subscription/{id}``."""
    user, client_id = _owner(request)
    return SimResponse(200, _info(request, request.sim.state.get_subscription(user, client_id, request.params["id"])))


def update_subscription(request: SimRequest) -> SimResponse:
    """``PUT /restapi/v1.0/subscription/{id}``: no body or ``{}`` renews; ``eventFilters`` updates and renews."""
    user, client_id = _owner(request)
    record = request.sim.state.update_subscription(user, client_id, request.params["id"], request.json())
    return SimResponse(200, _info(request, record))


def renew_subscription(request: SimRequest) -> SimResponse:
    """``POST /restapi/v1.0/subscription/{id}/renew`` (the body is ignored)."""
    user, client_id = _owner(request)
    return SimResponse(200, _info(request, request.sim.state.renew_subscription(user, client_id, request.params["id"])))


def delete_subscription(request: SimRequest) -> SimResponse:
    """``DELETE /restapi/v1.0/subscription/{id}``: 204 No Content."""
    user, client_id = _owner(request)
    request.sim.state.delete_subscription(user, client_id, request.params["id"])
    return SimResponse(204, None)


# --- control routes (/_sim/ only) ----------------------------------------------------------------
def control_routes() -> list[Route]:
    """The simulator's own routes, all under ``/_sim/``."""
    return [
        route("GET", r"/_sim/clock", clock_info),
        route("POST", r"/_sim/clock/advance", clock_advance),
        route("POST", r"/_sim/clock/speed", clock_speed),
        route("POST", r"/_sim/reset", reset),
        route("POST", r"/_sim/subscriptions/seed", seed_subscription),
        route("GET", r"/_sim/state", state_summary),
        route("GET", r"/_sim/handshakes", handshakes),
    ]


def _clock_body(request: SimRequest, **extra: Any) -> dict[str, Any]:
    clock = request.sim.clock
    now = clock.now()
    return {"now": now, "iso": iso(now), "speed": clock.speed, "pendingJobs": len(clock.pending()), **extra}


def clock_info(request: SimRequest) -> SimResponse:
    """``GET /_sim/clock``: simulated time, speed and pending jobs."""
    return SimResponse(200, _clock_body(request))


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if value is None:
        raise invalid_parameter(name, "a number is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0 \
            or value == float("inf"):
        raise invalid_parameter(name, "a finite number >= 0 is required")
    return float(value)


def clock_advance(request: SimRequest) -> SimResponse:
    """``POST /_sim/clock/advance`` ``{"seconds": N}``: move simulated time, running due jobs."""
    seconds = _number(request.json_object(), "seconds")
    ran = request.sim.clock.advance(seconds)
    return SimResponse(200, _clock_body(request, jobsRun=ran))


def clock_speed(request: SimRequest) -> SimResponse:
    """``POST /_sim/clock/speed`` ``{"speed": X}``: 0 freezes, 1 is real time."""
    request.sim.clock.set_speed(_number(request.json_object(), "speed"))
    return SimResponse(200, _clock_body(request))


def reset(request: SimRequest) -> SimResponse:
    """``POST /_sim/reset``: drop tokens, subscriptions and counters; keep apps, user and credentials."""
    request.sim.reset()
    return SimResponse(200, {"reset": True, **_clock_body(request)})


def seed_subscription(request: SimRequest) -> SimResponse:
    """``POST /_sim/subscriptions/seed``: add a PubNub/WebSocket record to the demo user's list."""
    record = request.sim.state.seed_legacy(request.json_object())
    return SimResponse(200, _info(request, record))


def state_summary(request: SimRequest) -> SimResponse:
    """``GET /_sim/state``: apps (ids only), user, sessions and subscriptions, without secrets."""
    sim = request.sim
    state = sim.state
    now = sim.clock.now()
    with state.lock:
        body = {
            "now": iso(now),
            "apps": [{"name": a.name, "clientId": a.client_id} for a in state.apps.values()],
            "user": {"accountId": state.user.account_id, "extensionId": state.user.extension_id},
            "sessions": len(state.sessions),
            "subscriptions": [{**r.to_info(sim.url, now), "clientId": r.client_id}
                              for r in state.subscriptions.values()],
        }
    return SimResponse(200, body)


def handshakes(request: SimRequest) -> SimResponse:
    """``GET /_sim/handshakes``: the last validation handshakes the platform ran, newest last."""
    with request.sim.state.lock:
        items = list(request.sim.state.handshakes)
    return SimResponse(200, {"records": [
        {"address": h.address, "status": h.status, "echoed": h.echoed == h.token, "replyBytes": h.reply_bytes,
         "elapsedMs": round(h.elapsed * 1000, 1), "failure": h.failure, "detail": h.detail,
         "errorCode": h.error.code if h.error else None} for h in items]})


# --- the server ----------------------------------------------------------------------------------
class SimHandler(http.server.BaseHTTPRequestHandler):
    """Reads one request at a time (HTTP/1.1 keep-alive) and hands it to :func:`dispatch`."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)
    server: "SimServer"

    def _handle(self) -> None:
        sim = self.server.sim
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = b""
        error: PlatformError | None = None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            error = cannot_parse("chunked request bodies are not supported: send Content-Length")
            self.close_connection = True
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0:
                    raise ValueError
            except ValueError:
                length, error = 0, cannot_parse("invalid Content-Length")
                self.close_connection = True
            if length > sim.options.max_body_bytes:
                error = body_too_large(sim.options.max_body_bytes)
                self.close_connection = True  # the unread body must not be taken for the next request
            elif length:
                body = self.rfile.read(length)
        request = SimRequest(sim, self.command, parts.path, query, self.headers, body, self.client_address)
        response = SimResponse(error.status, error.body(), dict(error.headers)) if error else dispatch(request)
        self._send(response)

    def _send(self, response: SimResponse) -> None:
        if response.body is None:
            payload, content_type = b"", None
        elif isinstance(response.body, bytes):
            payload, content_type = response.body, response.headers.pop("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(response.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            content_type = JSON_TYPE
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and self.command != "HEAD" and response.status != 204:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def version_string(self) -> str:
        """The ``Server`` header."""
        return SERVER_NAME

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)


class SimServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that tracks its connections so that ``close()`` leaves no thread behind."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: "Simulator") -> None:
        self.sim = sim
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, SimHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection in its own tracked daemon thread."""
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address),
                                  name=f"rc-sim-conn-{client_address[1]}", daemon=True)
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a broken connection instead of printing it."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Wake every connection thread (shutting its socket down) and wait for them, bounded."""
        with self._connections_lock:
            items = list(self._connections.items())
        for _, sock in items:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread, _ in items:
            thread.join(timeout)
