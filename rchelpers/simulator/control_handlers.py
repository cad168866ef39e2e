"""The simulator's own routes, all under ``/_sim/``: the clock, reset, seeded legacy records, a state summary,
the handshake log, the delivery log and replay, sample events and scenarios (whole calls).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from rchelpers.simulator.accounts import Accounts
from rchelpers.simulator.api_handlers import expires_in_of
from rchelpers.simulator.clock import SimClock, iso
from rchelpers.simulator.errors import (
    DeliveryError,
    PlatformError,
    TriggerError,
    cannot_parse,
    invalid_parameter,
)
from rchelpers.simulator.events import KINDS, fields_of, normalize_kind
from rchelpers.simulator.filters import parse_filters
from rchelpers.simulator.notifier import Notifier
from rchelpers.simulator.oauth import OAuthBackend
from rchelpers.simulator.options import LEGACY_DEFAULT_FILTER
from rchelpers.simulator.routing import Route, SimRequest, SimResponse, route
from rchelpers.simulator.subscriptions import SubscriptionRecord, SubscriptionsBackend
from rchelpers.simulator.telephony import SCENARIOS, ScenarioError, scenario_options

def _number(body: Mapping[str, Any], name: str) -> float:
    value = body.get(name)
    if value is None:
        raise invalid_parameter(name, "a number is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise invalid_parameter(name, "a finite number >= 0 is required")
    return float(value)


class ControlApi:
    """The ``/_sim/`` handlers. ``reset()`` is the simulator's reset; ``base_url()`` the server's URL."""

    def __init__(self, clock: SimClock, accounts: Accounts, oauth: OAuthBackend,
                 subscriptions: SubscriptionsBackend, notifier: Notifier, reset: Callable[[], None],
                 base_url: Callable[[], str]) -> None:
        self.clock = clock
        self.accounts = accounts
        self.oauth = oauth
        self.subscriptions = subscriptions
        self.notifier = notifier
        self.reset_simulator = reset
        self.base_url = base_url

    def routes(self) -> list[Route]:
        """The simulator's own routes, all under ``/_sim/``."""
        return [
            route("GET", r"/_sim/clock", self.clock_info),
            route("POST", r"/_sim/clock/advance", self.clock_advance),
            route("POST", r"/_sim/clock/speed", self.clock_speed),
            route("POST", r"/_sim/reset", self.reset),
            route("POST", r"/_sim/subscriptions/seed", self.seed_subscription),
            route("GET", r"/_sim/state", self.state_summary),
            route("GET", r"/_sim/handshakes", self.handshakes),
            route("GET", r"/_sim/deliveries", self.list_deliveries),
            route("POST", r"/_sim/deliveries/(?P<key>[^/]+)/replay", self.replay),
            route("GET", r"/_sim/events", self.list_kinds),
            route("POST", r"/_sim/events", self.trigger),
            route("GET", r"/_sim/scenarios", self.list_scenarios),
            route("POST", r"/_sim/scenarios/(?P<name>[^/]+)", self.play_scenario),
        ]

    # --- clock and reset ---------------------------------------------------------------------------
    def _clock_body(self, **extra: Any) -> dict[str, Any]:
        now = self.clock.now()
        return {"now": now, "iso": iso(now), "speed": self.clock.speed, "pendingJobs": len(self.clock.pending()),
                **extra}

    def clock_info(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/clock``: simulated time, speed and pending jobs."""
        return SimResponse(200, self._clock_body())

    def clock_advance(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/clock/advance`` ``{"seconds": N}``: move simulated time, running due jobs."""
        seconds = _number(request.json_object(), "seconds")
        ran = self.clock.advance(seconds)
        return SimResponse(200, self._clock_body(jobsRun=ran))

    def clock_speed(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/clock/speed`` ``{"speed": X}``: 0 freezes, 1 is real time."""
        self.clock.set_speed(_number(request.json_object(), "speed"))
        return SimResponse(200, self._clock_body())

    def reset(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/reset``: back to the state of a new simulator (see :meth:`Simulator.reset`); keeps the
        apps, user and credentials."""
        self.reset_simulator()
        return SimResponse(200, {"reset": True, **self._clock_body()})

    # --- subscriptions and state -------------------------------------------------------------------
    def seed_from_body(self, body: object) -> SubscriptionRecord:
        """Add a PubNub or WebSocket record to the demo user's list from ``{transportType, eventFilters,
        expiresIn, clientId}`` (all optional; PubNub, presence, 900 s and the demo app by default)."""
        if not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        user = self.accounts.user
        client_id = body.get("clientId", self.accounts.demo_app.client_id)
        if not isinstance(client_id, str) or client_id not in self.accounts.apps:
            raise invalid_parameter("clientId", "not a client id of this simulator")
        transport = body.get("transportType", "PubNub")
        if transport not in ("PubNub", "WebSocket"):
            raise invalid_parameter("transportType", "seed PubNub or WebSocket records")
        raw_filters = body.get("eventFilters", [LEGACY_DEFAULT_FILTER])
        if not isinstance(raw_filters, list) or not raw_filters or not all(isinstance(f, str) for f in raw_filters):
            raise invalid_parameter("eventFilters")
        filters = parse_filters(raw_filters, user.owner)
        return self.subscriptions.seed_legacy(user, client_id, transport, filters, expires_in_of(body))

    def seed_subscription(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/subscriptions/seed``: add a PubNub/WebSocket record to the demo user's list."""
        record = self.seed_from_body(request.json_object())
        return SimResponse(200, self.subscriptions.info(record, self.base_url()))

    def state_summary(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/state``: apps (ids only), user, sessions and subscriptions, without secrets."""
        accounts = self.accounts
        now = self.clock.now()
        return SimResponse(200, {
            "now": iso(now),
            "apps": [{"name": a.name, "clientId": a.client_id} for a in accounts.apps.values()],
            "user": {"accountId": accounts.user.account_id, "extensionId": accounts.user.extension_id},
            "sessions": self.oauth.session_count(),
            "subscriptions": self.subscriptions.summary(self.base_url(), now),
        })

    def handshakes(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/handshakes``: the last validation handshakes the platform ran, newest last."""
        return SimResponse(200, {"records": [
            {"address": h.address, "status": h.status, "echoed": h.echoed == h.token, "replyBytes": h.reply_bytes,
             "elapsedMs": round(h.elapsed * 1000, 1), "failure": h.failure, "detail": h.detail,
             "errorCode": h.error.code if h.error else None} for h in self.subscriptions.recent_handshakes()]})

    # --- deliveries and events ---------------------------------------------------------------------
    def list_deliveries(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/deliveries[?subscriptionId=..][&uuid=..]``: the delivery log, oldest first."""
        unknown = sorted(set(request.query) - {"subscriptionId", "uuid"})
        if unknown:
            raise invalid_parameter(unknown[0], "filter the log with subscriptionId and/or uuid")
        attempts = self.notifier.attempts(request.query.get("subscriptionId"), request.query.get("uuid"))
        return SimResponse(200, {"records": [a.to_dict() for a in attempts]})

    def replay(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/deliveries/{attempt id or uuid}/replay``: send that notification again (same uuid)."""
        try:
            notification = self.notifier.find_notification(request.params["key"])
        except DeliveryError as exc:
            raise PlatformError(404, "CMN-102", f"Resource for parameter [deliveryId] is not found: {exc}",
                                "deliveryId") from None
        try:
            self.notifier.replay(notification.uuid)
        except DeliveryError as exc:
            raise invalid_parameter("deliveryId", str(exc)) from None
        return SimResponse(200, {"replayed": notification.envelope()})

    def list_kinds(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/events``: the kinds of sample event and the fields each accepts."""
        return SimResponse(200, {"kinds": {kind: fields_of(kind) for kind in KINDS}})

    def trigger(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/events`` ``{"kind": ..., "fields": {...}}``: trigger a sample event."""
        body = request.json_object()
        kinds = ", ".join(KINDS)
        extra = sorted(set(body) - {"kind", "fields"})
        if extra:
            raise invalid_parameter(extra[0], 'send {"kind": ..., "fields": {...}}: body fields go under "fields"')
        if "kind" not in body:
            raise PlatformError(400, "CMN-100", f"Parameter [kind] is required; kinds: {kinds}", "kind")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise invalid_parameter("fields", "an object of body fields is expected")
        try:
            normalize_kind(body["kind"])
        except TriggerError as exc:
            raise invalid_parameter("kind", str(exc)) from None
        try:
            result = self.notifier.trigger(body["kind"], **fields)
        except TriggerError as exc:
            raise invalid_parameter("fields", str(exc)) from None
        return SimResponse(200, result.to_dict())

    def list_scenarios(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/scenarios``: the scenarios and their options with the defaults (null: the demo user's)."""
        return SimResponse(200, {"scenarios": {name: scenario_options(name) for name in SCENARIOS}})

    def play_scenario(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/scenarios/{name}`` with the options as the JSON body: play a whole call on the clock;
        the answer lists each step, sent (with the subscriptions it reached) or scheduled. An unknown name is
        404 CMN-102, a bad option 400 CMN-101 naming it."""
        if request.params["name"] not in SCENARIOS:
            raise PlatformError(404, "CMN-102", f"Resource for parameter [name] is not found: unknown scenario "
                                f"{request.params['name']!r}; scenarios: {', '.join(SCENARIOS)}", "name")
        try:
            result = self.notifier.scenario(request.params["name"], request.json_object())
        except ScenarioError as exc:
            raise invalid_parameter(exc.parameter, str(exc)) from None
        return SimResponse(200, result.to_dict())
