"""The route table and dispatch: which handler answers a request, with the token check, the rate limit,
CORS and error bodies around it. No sockets here (that is :mod:`.server`), no platform logic (the handlers).

Routes are :class:`Route` entries ``(method, regex, handler, group, auth)``; the platform's API lives under
``/restapi/`` and the simulator's control routes under ``/_sim/`` only. Every answer is JSON; an
unexpected failure is logged and answered with a JSON error, never a traceback. A request with an
``Origin`` gets CORS headers and a preflight of a served path is answered, so the JS SDK also works from
a browser page (modelled: github.com/ringcentral/ringcentral-web-phone issue #300).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Callable, Hashable

from rchelpers.simulator.errors import (
    PlatformError,
    bad_json,
    cannot_parse,
    method_not_allowed,
    rate_exceeded,
    unknown_route,
)
from rchelpers.simulator.oauth import Session
from rchelpers.simulator.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class SimRequest:
    """One HTTP request to the simulator, as handlers see it."""

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


# --- CORS (browsers run @ringcentral/sdk against the platform) -----------------------------------
CORS_EXPOSED = "Retry-After, X-Rate-Limit-Group, X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Window"
CORS_MAX_AGE = "600"
_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9.\[\]:_-]{1,253}|null")
_HEADER_LIST = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")


def _origin(request: SimRequest) -> str | None:
    """The request's ``Origin`` if it is a well-formed one (it is echoed back), else None."""
    origin = (request.header("Origin") or "").strip()
    return origin if _ORIGIN.fullmatch(origin) else None


class Router:
    """The route table and its dispatch.

    ``authorize(authorization_header) -> Session`` checks the bearer token of ``auth`` routes;
    ``rate_limiter`` counts rate-limited routes per ``rate_key(request)``.
    """

    def __init__(self, authorize: Callable[[str | None], Session], rate_limiter: RateLimiter,
                 rate_key: Callable[[SimRequest], Hashable]) -> None:
        self.authorize = authorize
        self.rate_limiter = rate_limiter
        self.rate_key = rate_key
        self.routes: list[Route] = []

    def add(self, new: Route, *, first: bool = False) -> Route:
        """Add a route; with ``first`` it wins over those already there."""
        if first:
            self.routes.insert(0, new)
        else:
            self.routes.append(new)
        return new

    def dispatch(self, request: SimRequest) -> SimResponse:
        """Find the route, check the token and the rate limit, run the handler; errors become JSON bodies."""
        rate_headers: dict[str, str] = {}
        origin = _origin(request)
        if origin and request.method == "OPTIONS" and request.header("Access-Control-Request-Method"):
            preflight = self._preflight(request, origin)
            if preflight is not None:
                return preflight
        try:
            candidates = [(r, m) for r in list(self.routes) if (m := r.pattern.fullmatch(request.path))]
            if not candidates:
                raise unknown_route(request.path)
            chosen = next(((r, m) for r, m in candidates if r.method == request.method), None)
            if chosen is None:
                raise method_not_allowed(request.method, sorted({r.method for r, _ in candidates}))
            target, match = chosen
            request.params = {k: v for k, v in match.groupdict().items() if v is not None}
            if target.auth:
                request.session = self.authorize(request.header("Authorization"))
            if target.group is not None:
                decision = self.rate_limiter.hit(self.rate_key(request), target.group)
                rate_headers = decision.headers
                if not decision.allowed:
                    raise rate_exceeded(decision.retry_after, {})
            response = target.handler(request)
        except PlatformError as exc:
            response = error_response(exc)
        except Exception:  # a bug must not leak a traceback to the client
            log.exception("simulator handler failed on %s %s", request.method, request.path)
            response = error_response(PlatformError(500, "CMN-203", "Internal Server Error"))
        response.headers = {**rate_headers, **response.headers}
        if origin:
            response.headers.update({"Access-Control-Allow-Origin": origin,
                                     "Access-Control-Expose-Headers": CORS_EXPOSED, "Vary": "Origin"})
        return response

    def _preflight(self, request: SimRequest, origin: str) -> SimResponse | None:
        """The answer to a CORS preflight of a served path (None for an unknown path: it gets the usual 404)."""
        methods = sorted({r.method for r in list(self.routes) if r.pattern.fullmatch(request.path)})
        if not methods:
            return None
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": ", ".join(methods),
                   "Access-Control-Max-Age": CORS_MAX_AGE,
                   "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
        asked = (request.header("Access-Control-Request-Headers") or "").strip()
        if asked and _HEADER_LIST.fullmatch(asked):
            headers["Access-Control-Allow-Headers"] = asked
        return SimResponse(200, None, headers)


def error_response(error: PlatformError) -> SimResponse:
    """The answer carrying ``error``'s body, status and headers."""
    return SimResponse(error.status, error.body(), dict(error.headers))
