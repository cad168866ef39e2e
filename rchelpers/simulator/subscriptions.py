"""The subscriptions backend: every subscription of the simulated platform, its lifecycle and its expiry.

Typed methods only (the handlers check request shapes and parse event filters before calling them); every
change happens under the backend's lock, and an operation raises
:class:`~rchelpers.simulator.errors.PlatformError` before it changes anything, so a rejected request
never alters the state. Change listeners (:meth:`SubscriptionsBackend.add_listener`) hear about
lifecycle changes (:data:`LIFECYCLE_CHANGES`) after the lock is released. The validation handshake is
passed in (any ``handshake(address, token) -> HandshakeResult``) and runs outside the lock.

It is also what the delivery engine and the reminder job read (``SubscriptionAccess``, ``ReminderSource``).
"""
from __future__ import annotations

import contextlib
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from rchelpers.simulator.accounts import User
from rchelpers.simulator.clock import Job, SimClock, iso
from rchelpers.simulator.errors import PlatformError, invalid_parameter, not_found
from rchelpers.simulator.event_filter_catalog import ParsedFilter
from rchelpers.simulator.filters import Owner, check_reminder_rules
from rchelpers.simulator.handshake import HandshakeResult, judge
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.notification import DeliveryTarget
from rchelpers.simulator.options import HANDSHAKE_LOG_SIZE, LEGACY_EXPIRES_IN, SimulatorOptions
from rchelpers.simulator.reminders import ReminderSubject

log = logging.getLogger(__name__)

SUBSCRIPTION_PATH = "/restapi/v1.0/subscription"
#: The changes of a subscription's lifecycle told to change listeners: ``listener(change, record)``.
LIFECYCLE_CHANGES = ("created", "renewed", "updated", "deleted", "expired")


@dataclass
class SubscriptionRecord:
    """One subscription as the platform keeps it (``verification_token`` is never shown)."""

    id: str
    account_id: str
    extension_id: str
    client_id: str
    filters: list[ParsedFilter]  #: as subscribed, parsed (the enabled ones: only these fire)
    transport: str
    address: str | None
    verification_token: str | None
    status: str
    creation_time: float
    expiration_time: float
    lifetime: int  #: the TTL it was created (or last updated) with; renewals reuse it
    blacklisted_data: dict[str, str] | None = None
    delivery_extra: dict[str, Any] = field(default_factory=dict)  #: transport-specific fields (legacy records)
    #: ``DisabledFilterInfo`` of each filter the app lacks the permission for (never fires)
    disabled_filters: list[dict[str, str]] = field(default_factory=list)
    expiry_job: Job | None = field(default=None, repr=False)

    @property
    def event_filters(self) -> list[str]:
        """The event filters as returned (``~`` expanded)."""
        return [f.expanded for f in self.filters]

    @property
    def raw_filters(self) -> list[str]:
        """The event filters exactly as subscribed (``~`` kept)."""
        return [f.raw for f in self.filters]

    @property
    def owner(self) -> Owner:
        """The (account, extension) pair that owns the subscription."""
        return Owner(self.account_id, self.extension_id)

    def expires_in(self, now: float) -> int:
        """Remaining lifetime in whole seconds, rounded down but at least 1 (the spec's minimum) while it lives."""
        return max(1, math.floor(self.expiration_time - now + 1e-6))

    def to_info(self, base_url: str, now: float) -> dict[str, Any]:
        """The ``SubscriptionInfo`` JSON, keys in the order real responses use."""
        delivery: dict[str, Any] = {"transportType": self.transport, "encryption": False}
        if self.address is not None:
            delivery["address"] = self.address
        delivery.update(self.delivery_extra)
        info: dict[str, Any] = {
            "uri": f"{base_url}{SUBSCRIPTION_PATH}/{self.id}",
            "id": self.id,
            "creationTime": iso(self.creation_time),
            "status": self.status,
            "eventFilters": self.event_filters,
        }
        if self.disabled_filters:  # after eventFilters, as the spec orders SubscriptionInfo; omitted when empty
            info["disabledFilters"] = [dict(item) for item in self.disabled_filters]
        info.update({
            "expirationTime": iso(self.expiration_time),
            "expiresIn": self.expires_in(now),
            "deliveryMode": delivery,
        })
        if self.blacklisted_data is not None:
            info["blacklistedData"] = dict(self.blacklisted_data)
        return info


ChangeListener = Callable[[str, SubscriptionRecord], object]
Handshake = Callable[[str, str], HandshakeResult]
_Changes = list[tuple[str, SubscriptionRecord]]


class SubscriptionsBackend:
    """Every subscription, guarded by one lock; expiry runs as clock jobs."""

    def __init__(self, clock: SimClock, ids: IdSource, options: SimulatorOptions, handshake: Handshake) -> None:
        self.clock = clock
        self.ids = ids
        self.options = options
        self.handshake = handshake
        self._lock = threading.RLock()
        self.listeners: list[ChangeListener] = []
        self.records: dict[str, SubscriptionRecord] = {}  #: by id, oldest first
        self.handshakes: list[HandshakeResult] = []  #: the last handshakes run (most recent last)

    # --- listeners --------------------------------------------------------------------------------
    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(change, record)`` after each change; ``change`` is one of :data:`LIFECYCLE_CHANGES`."""
        self.listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        """Forget a listener (harmless if absent)."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _notify(self, changes: _Changes) -> None:
        for change, record in changes:
            for listener in list(self.listeners):
                try:
                    listener(change, record)
                except Exception:
                    log.exception("subscription listener %r failed on %s %s", listener, change, record.id)

    # --- expiry -----------------------------------------------------------------------------------
    def _purge_locked(self) -> _Changes:
        now = self.clock.now()
        gone = [r for r in self.records.values() if r.expiration_time <= now]
        for record in gone:
            del self.records[record.id]
            if record.expiry_job is not None:
                record.expiry_job.cancel()
        return [("expired", r) for r in gone]

    @contextlib.contextmanager
    def _purged_and_locked(self) -> Iterator[_Changes]:
        """Hold the lock with expired subscriptions purged; yields the list of changes, which the block may
        add to, and tells the listeners about them once the lock is released (also when the block raises)."""
        changes: _Changes = []
        try:
            with self._lock:
                changes.extend(self._purge_locked())
                yield changes
        finally:
            self._notify(changes)

    def purge_expired(self) -> int:
        """Remove every subscription whose expiration time has passed; returns how many."""
        with self._lock:
            changes = self._purge_locked()
        self._notify(changes)
        return len(changes)

    def _schedule_expiry_locked(self, record: SubscriptionRecord) -> None:
        if record.expiry_job is not None:
            record.expiry_job.cancel()
        record.expiry_job = self.clock.call_at(record.expiration_time, self.purge_expired,
                                               name=f"expire subscription {record.id}")

    # --- reading ----------------------------------------------------------------------------------
    def _find_locked(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        record = self.records.get(subscription_id)
        if record is None or record.owner != user.owner or record.client_id != client_id:
            raise not_found("subscriptionId")
        return record

    def list_for(self, user: User, client_id: str) -> list[SubscriptionRecord]:
        """The user's subscriptions made by this app, oldest first (expired ones purged first)."""
        with self._purged_and_locked():
            return [r for r in self.records.values() if r.owner == user.owner and r.client_id == client_id]

    def get(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """One subscription of the user and app, or 404 CMN-102."""
        with self._purged_and_locked():
            return self._find_locked(user, client_id, subscription_id)

    def info(self, record: SubscriptionRecord, base_url: str) -> dict[str, Any]:
        """The record's ``SubscriptionInfo``: a consistent snapshot even if another call renews it meanwhile."""
        with self._lock:
            return record.to_info(base_url, self.clock.now())

    def summary(self, base_url: str, now: float) -> list[dict[str, Any]]:
        """Every subscription's ``SubscriptionInfo`` at ``now`` with its ``clientId`` (``GET /_sim/state``)."""
        with self._lock:
            return [{**r.to_info(base_url, now), "clientId": r.client_id} for r in self.records.values()]

    def recent_handshakes(self) -> list[HandshakeResult]:
        """The last handshakes run, oldest first."""
        with self._lock:
            return list(self.handshakes)

    # --- creating ---------------------------------------------------------------------------------
    def create_webhook(self, user: User, client_id: str, filters: list[ParsedFilter], address: str,
                       verification_token: str | None, expires_in: int | None,
                       disabled: list[dict[str, str]] | None = None) -> SubscriptionRecord:
        """Check the reminder rules and the limit, run the handshake (outside the lock) and store an Active
        WebHook subscription with the enabled ``filters`` and the ``disabled`` ones' ``DisabledFilterInfo``.
        ``expires_in`` None means ``default_expires_in``; a larger one than ``max_expires_in`` is clamped."""
        ttl = self._ttl(expires_in, self.options.default_expires_in)
        check_reminder_rules(filters, ttl, self.options.reminder_job_interval)
        self.purge_expired()
        with self._lock:
            self._check_limit_locked(user, client_id)
        result = self.handshake(address, self.ids.uuid4())  # outside the lock: a slow webhook blocks nobody
        with self._lock:
            self.handshakes = self.handshakes[-(HANDSHAKE_LOG_SIZE - 1):] + [result]
        error = judge(result, self.options.max_reply_bytes, self.options.handshake_errors)
        if error is not None:
            log.info("handshake with %s failed: %s (%s)", address, error.code, result.detail or result.status)
            raise error
        with self._purged_and_locked() as changes:
            self._check_limit_locked(user, client_id)
            now = self.clock.now()
            record = SubscriptionRecord(
                id=self.ids.uuid4(), account_id=user.account_id, extension_id=user.extension_id,
                client_id=client_id, filters=filters, transport="WebHook", address=address, verification_token=verification_token, status="Active",
                creation_time=now, expiration_time=now + ttl, lifetime=ttl, disabled_filters=list(disabled or []))
            return self._add_locked(record, changes)

    def seed_legacy(self, user: User, client_id: str, transport: str, filters: list[ParsedFilter],
                    expires_in: int | None) -> SubscriptionRecord:
        """Add a PubNub or WebSocket record to a user's list (no handshake), so a mixed list can be shown."""
        ttl = self._ttl(expires_in, LEGACY_EXPIRES_IN)
        with self._purged_and_locked() as changes:
            self._check_limit_locked(user, client_id)
            now = self.clock.now()
            extra: dict[str, Any] = {}
            address = None
            if transport == "PubNub":
                address = f"{self.ids.digits(16)}_{self.ids.urlsafe(6)}"
                extra = {"subscriberKey": "sub-c-" + self.ids.uuid4()}
            record = SubscriptionRecord(
                id=self.ids.uuid4(), account_id=user.account_id, extension_id=user.extension_id,
                client_id=client_id, filters=filters, transport=transport, address=address, verification_token=None, status="Active",
                creation_time=now, expiration_time=now + ttl, lifetime=ttl, delivery_extra=extra)
            return self._add_locked(record, changes)

    def _add_locked(self, record: SubscriptionRecord, changes: _Changes) -> SubscriptionRecord:
        """Keep a new ``record``, schedule its expiry and announce it as ``created``; returns it."""
        self.records[record.id] = record
        self._schedule_expiry_locked(record)
        changes.append(("created", record))
        return record

    def _check_limit_locked(self, user: User, client_id: str) -> None:
        count = sum(1 for r in self.records.values() if r.owner == user.owner and r.client_id == client_id)
        if count >= self.options.subscription_limit:
            raise PlatformError(403, "SUB-505", "Subscriptions limit exceeded")

    def _ttl(self, expires_in: int | None, default: int) -> int:
        return default if expires_in is None else min(expires_in, self.options.max_expires_in)

    # --- updating ---------------------------------------------------------------------------------
    def update(self, user: User, client_id: str, subscription_id: str, filters: list[ParsedFilter] | None,
               expires_in: int | None, disabled: list[dict[str, str]] | None = None) -> SubscriptionRecord:
        """Renew, and with ``filters`` replace them (and the ``disabled`` ones' ``DisabledFilterInfo``);
        ``expires_in`` sets a new lifetime that later renewals reuse (None: the current one)."""
        with self._purged_and_locked() as changes:
            record = self._find_locked(user, client_id, subscription_id)
            check_renewable(record)
            ttl = self._ttl(expires_in, record.lifetime)
            new_filters = record.filters if filters is None else filters
            check_reminder_rules(new_filters, ttl, self.options.reminder_job_interval)
            record.filters = new_filters
            if filters is not None:
                record.disabled_filters = list(disabled or [])
            record.lifetime = ttl
            record.expiration_time = self.clock.now() + record.lifetime
            self._schedule_expiry_locked(record)
            changes.append(("renewed" if filters is None else "updated", record))
            return record

    def renew(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """Renew with the lifetime the subscription was created (or last updated) with."""
        return self.update(user, client_id, subscription_id, None, None)

    def delete(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """Remove a subscription of the user and app (404 CMN-102 if there is none)."""
        with self._purged_and_locked() as changes:
            record = self._find_locked(user, client_id, subscription_id)
            del self.records[record.id]
            if record.expiry_job is not None:
                record.expiry_job.cancel()
            changes.append(("deleted", record))
            return record

    # --- what delivery and reminders read ---------------------------------------------------------
    def active_webhooks(self) -> list[SubscriptionRecord]:
        """Active WebHook subscriptions whose lifetime is not over, oldest first."""
        now = self.clock.now()
        with self._lock:
            return [r for r in self.records.values()
                    if r.transport == "WebHook" and r.status == "Active" and r.expiration_time > now]

    def delivery_target(self, subscription_id: str) -> DeliveryTarget | None:
        """Where to deliver now, or None when the subscription is gone, expired, blacklisted or not a WebHook."""
        now = self.clock.now()
        with self._lock:
            record = self.records.get(subscription_id)
            if record is None or record.transport != "WebHook" or record.status != "Active" \
                    or record.expiration_time <= now or not record.address:
                return None
            return DeliveryTarget(record.id, record.address, record.verification_token)

    def blacklist(self, subscription_id: str, reason: str, at: float) -> None:
        """Mark a subscription ``Blacklisted`` with ``blacklistedData`` (``blacklistedAt`` is ``at``)."""
        with self._lock:
            record = self.records.get(subscription_id)
            if record is None:
                return
            record.status = "Blacklisted"
            record.blacklisted_data = {"reason": reason, "blacklistedAt": iso(at)}  # key order of a real record

    def blacklisted_targets(self) -> list[DeliveryTarget]:
        """Blacklisted WebHook subscriptions (for the optional reactivation)."""
        with self._lock:
            return [DeliveryTarget(r.id, r.address, r.verification_token) for r in self.records.values()
                    if r.transport == "WebHook" and r.status == "Blacklisted" and r.address]

    def reactivate(self, subscription_id: str) -> None:
        """Back to ``Active``, without ``blacklistedData``."""
        with self._lock:
            record = self.records.get(subscription_id)
            if record is not None and record.status == "Blacklisted":
                record.status = "Active"
                record.blacklisted_data = None

    def reminder_subjects(self) -> list[ReminderSubject]:
        """Each Active WebHook subscription with its reminder filters."""
        return [ReminderSubject(r.id, tuple(f for f in r.filters if f.is_reminder), r.expiration_time)
                for r in self.active_webhooks()]

    def extension_of(self, subscription_id: str) -> str:
        """The owner extension id of a subscription ("" when it is gone)."""
        with self._lock:
            record = self.records.get(subscription_id)
            return record.extension_id if record is not None else ""

    # --- reset ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop every subscription and the handshake log."""
        with self._lock:
            for record in self.records.values():
                if record.expiry_job is not None:
                    record.expiry_job.cancel()
            self.records.clear()
            self.handshakes.clear()


def check_renewable(record: SubscriptionRecord) -> None:
    """400 CMN-101 on ``deliveryMode.transportType`` for a WebSocket record (renewed by its WebSocket session)."""
    if record.transport == "WebSocket":
        raise invalid_parameter("deliveryMode.transportType",
                                "WebSocket subscriptions are renewed by their WebSocket session, not over HTTP")
