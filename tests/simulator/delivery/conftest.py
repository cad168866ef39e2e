"""Fixtures for the delivery, reminder and event tests.

``registry`` is a small in-memory stand-in for the simulator's subscription state, implementing the two
interfaces the delivery engine and the reminder job read (``SubscriptionAccess``, ``ReminderSource``),
so those two can be exercised over real HTTP before and apart from the full Simulator.
``engine`` is a started :class:`DeliveryEngine` on a frozen clock with short timeouts.
The stand-in webhooks (``webhook_server``, ``unreachable_url``), ``make_sim``/``sim`` (with this folder's
``sim_options``) and the raw-HTTP clients ``api``/``make_api`` come from ``tests/conftest.py``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from rchelpers.simulator.clock import SimClock
from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.filters import Owner, parse_filters
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
            return [ReminderSubject(s.id, tuple(f for f in (parse_filters([t], OWNER)[0] for t in s.event_filters)
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


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """A seeded Simulator (frozen clock) with a 0.5 s delivery time limit and no rate limits."""
    return {"seed": 4, "delivery_timeout": 0.5, "rate_limits": None}
