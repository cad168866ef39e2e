"""Fixtures for the delivery, reminder, event and checker tests.

``registry`` is a small in-memory stand-in for the simulator's subscription state, implementing the two
interfaces the delivery engine and the reminder job read (``SubscriptionAccess``, ``ReminderSource``),
so those two can be exercised over real HTTP before and apart from the full Simulator.
``engine`` is a started :class:`DeliveryEngine` on a frozen clock with short timeouts.
The stand-in webhooks (``webhook_server``, ``unreachable_url``) and ``make_sim``/``sim`` (with this folder's
``sim_options``) come from ``tests/conftest.py``.
"""
from __future__ import annotations

import base64
import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from rchelpers.simulator import Simulator
from rchelpers.simulator.clock import SimClock
from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.filters import Owner, parse_filter
from rchelpers.simulator.notification import DeliveryTarget
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.reminders import ReminderSubject

#: 2026-01-01T00:00:00Z: a round simulated start, so offsets read easily in assertions.
T0 = 1767225600.0
#: The owner ``~`` stands for in the registry's filters.
OWNER = Owner("37439510", "2253168021")


@dataclass
class FakeSubscription:
    """One subscription as the registry keeps it."""

    id: str
    address: str
    verification_token: str | None = None
    event_filters: tuple[str, ...] = ()
    expiration: float = T0 + 604800
    status: str = "Active"
    blacklisted_data: dict | None = None


@dataclass
class Registry:
    """In-memory subscriptions; records blacklisting and reactivation calls."""

    clock: SimClock
    subscriptions: dict[str, FakeSubscription] = field(default_factory=dict)
    blacklisted: list[tuple[str, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sub_id: str, address: str, **kwargs) -> FakeSubscription:
        sub = FakeSubscription(sub_id, address, **kwargs)
        with self.lock:
            self.subscriptions[sub_id] = sub
        return sub

    def delivery_target(self, subscription_id: str) -> DeliveryTarget | None:
        with self.lock:
            sub = self.subscriptions.get(subscription_id)
            if sub is None or sub.status != "Active" or sub.expiration <= self.clock.now():
                return None
            return DeliveryTarget(sub.id, sub.address, sub.verification_token)

    def blacklist(self, subscription_id: str, reason: str, at: float) -> None:
        with self.lock:
            sub = self.subscriptions[subscription_id]
            sub.status = "Blacklisted"
            sub.blacklisted_data = {"reason": reason, "blacklistedAt": at}
            self.blacklisted.append((subscription_id, reason, at))

    def blacklisted_targets(self) -> list[DeliveryTarget]:
        with self.lock:
            return [DeliveryTarget(s.id, s.address, s.verification_token)
                    for s in self.subscriptions.values() if s.status == "Blacklisted"]

    def reactivate(self, subscription_id: str) -> None:
        with self.lock:
            sub = self.subscriptions[subscription_id]
            sub.status = "Active"
            sub.blacklisted_data = None

    def reminder_subjects(self) -> list[ReminderSubject]:
        with self.lock:
            return [ReminderSubject(s.id, tuple(f for f in (parse_filter(t, OWNER) for t in s.event_filters)
                                                if f.is_reminder), s.expiration)
                    for s in self.subscriptions.values()
                    if s.status == "Active" and s.expiration > self.clock.now()]


@pytest.fixture
def clock() -> SimClock:
    """A frozen simulated clock at T0 (time moves only with ``advance``)."""
    return SimClock(start=T0, speed=0)


@pytest.fixture
def registry(clock: SimClock) -> Registry:
    """An empty in-memory subscription registry on ``clock``."""
    return Registry(clock)


@pytest.fixture
def engine(clock: SimClock, registry: Registry) -> Iterator[DeliveryEngine]:
    """A started delivery engine (timeout 0.3 s) on the frozen clock; stopped at teardown."""
    with DeliveryEngine(clock, registry, SimulatorOptions(delivery_timeout=0.3, delivery_workers=2)) as started:
        yield started


# --- the full Simulator over HTTP ------------------------------------------------------------------
SUBSCRIPTION = "/restapi/v1.0/subscription"
PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


class Api:
    """A minimal stdlib client of one running simulator: logs the demo user in, then calls the API."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        creds = sim.credentials
        basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        form = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": creds.jwt})
        status, body = self._send("POST", "/restapi/oauth/token", form.encode(),
                                  {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"})
        assert status == 200, body
        self.token = body["access_token"]

    def _send(self, method: str, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        parts = urlsplit(self.sim.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        return response.status, (json.loads(raw) if raw else None)

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
        """One JSON request; returns (status, parsed body or None)."""
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = b"" if body is None else json.dumps(body).encode()
        return self._send(method, path, data, headers)

    def subscribe(self, address: str, filters: list[str] | None = None, expires_in: int | None = None,
                  verification_token: str | None = None) -> dict:
        """Create a WebHook subscription; asserts success and returns its SubscriptionInfo."""
        delivery: dict[str, Any] = {"transportType": "WebHook", "address": address}
        if verification_token is not None:
            delivery["verificationToken"] = verification_token
        body: dict[str, Any] = {"eventFilters": filters or [PRESENCE], "deliveryMode": delivery}
        if expires_in is not None:
            body["expiresIn"] = expires_in
        status, info = self.call("POST", SUBSCRIPTION, body)
        assert status == 200, info
        return info


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """A seeded Simulator (frozen clock) with a 0.5 s delivery time limit and no rate limits."""
    return {"seed": 4, "delivery_timeout": 0.5, "rate_limits": None}


@pytest.fixture
def api(sim: Simulator) -> Api:
    """The demo user logged in to ``sim``."""
    return Api(sim)


@pytest.fixture
def make_api() -> Callable[[Simulator], Api]:
    """Factory ``make_api(sim) -> Api``: the demo user logged in to a simulator made with ``make_sim``."""
    return Api
