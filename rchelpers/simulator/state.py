"""The platform's state, apart from HTTP: apps, the demo user, OAuth sessions and subscriptions.

Every mutation happens under ``State.lock``. Operations raise :class:`PlatformError` before they change
anything, so a rejected request never alters the state. Listeners registered with
:meth:`State.add_listener` hear about subscription changes after the lock is released.
"""
from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import os
import random
import secrets
import ssl
import string
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from rchelpers.simulator.clock import Job, SimClock, iso
from rchelpers.simulator.errors import PlatformError, cannot_parse, invalid_parameter, missing_parameter, not_found
from rchelpers.simulator.filters import EventFilter, Owner, check_reminder_rules, parse_filters
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.handshake import Handshake, HandshakeResult, check_address, judge
from rchelpers.simulator.webhook_client import WebhookClient, webhook_ssl_context

log = logging.getLogger(__name__)

SUBSCRIPTION_PATH = "/restapi/v1.0/subscription"
DEMO_ACCOUNT_ID = "37439510"
DEMO_EXTENSION_ID = "2253168021"
DEMO_SCOPE = "ReadAccounts ReadMessages ReadPresence SMS SubscriptionWebhook TeamMessaging"
#: The changes of a subscription's lifecycle told to change listeners: ``listener(change, record)``.
LIFECYCLE_CHANGES = ("created", "renewed", "updated", "deleted", "expired")


class IdSource:
    """Every id, uuid, token and secret; from one ``random.Random(seed)`` when seeded, else from ``secrets``."""

    def __init__(self, seed: int | None = None) -> None:
        self.seeded = seed is not None
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        if self._rng is None:
            return secrets.token_bytes(n)
        with self._lock:
            return self._rng.randbytes(n)

    def uuid4(self) -> str:
        """A lowercase uuid4 string."""
        if self._rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def urlsafe(self, nbytes: int) -> str:
        """A base64url string (no padding) of ``nbytes`` random bytes."""
        return _b64(self.bytes(nbytes))

    def digits(self, n: int) -> str:
        """A string of ``n`` decimal digits not starting with 0."""
        raw = self.bytes(n)
        first = "123456789"[raw[0] % 9]
        return first + "".join(string.digits[b % 10] for b in raw[1:])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class App:
    """A registered client application."""

    name: str
    client_id: str
    client_secret: str
    grants: tuple[str, ...] = ("urn:ietf:params:oauth:grant-type:jwt-bearer", "refresh_token")


@dataclass
class User:
    """A user (extension) of an account, with the JWT credential that logs it in."""

    account_id: str
    extension_id: str
    jwt: str

    @property
    def owner(self) -> Owner:
        """The (account, extension) pair that owns this user's subscriptions."""
        return Owner(self.account_id, self.extension_id)


@dataclass
class Session:
    """An OAuth session: one access token and one refresh token at a time."""

    session_id: str
    client_id: str
    user: User
    endpoint_id: str
    access_token: str = ""
    access_expires_at: float = 0.0
    refresh_token: str = ""
    refresh_expires_at: float = 0.0


@dataclass
class SubscriptionRecord:
    """One subscription as the platform keeps it (``verification_token`` is never shown)."""

    id: str
    account_id: str
    extension_id: str
    client_id: str
    event_filters: list[str]  #: as returned (``~`` expanded)
    filters: list[EventFilter]  #: as subscribed, parsed
    transport: str
    address: str | None
    verification_token: str | None
    status: str
    creation_time: float
    expiration_time: float
    lifetime: int  #: the TTL it was created (or last updated) with; renewals reuse it
    blacklisted_data: dict[str, str] | None = None
    delivery_extra: dict[str, Any] = field(default_factory=dict)  #: transport-specific fields (legacy records)
    expiry_job: Job | None = field(default=None, repr=False)

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
            "eventFilters": list(self.event_filters),
            "expirationTime": iso(self.expiration_time),
            "expiresIn": self.expires_in(now),
            "deliveryMode": delivery,
        }
        if self.blacklisted_data is not None:
            info["blacklistedData"] = dict(self.blacklisted_data)
        return info


ChangeListener = Callable[[str, SubscriptionRecord], object]


class State:
    """Apps, users, sessions and subscriptions of the simulated platform, guarded by one lock."""

    def __init__(self, clock: SimClock, ids: IdSource, options: SimulatorOptions) -> None:
        self.clock = clock
        self.ids = ids
        self.options = options
        self.lock = threading.RLock()
        self.listeners: list[ChangeListener] = []
        #: The TLS settings for https webhooks (handshake and delivery): system CAs plus ``webhook_ca_file``.
        self.webhook_ssl_context: ssl.SSLContext = webhook_ssl_context(options.webhook_ca_file)
        self.webhook_client = WebhookClient(self.webhook_ssl_context)
        self.handshake: Callable[[str, str], HandshakeResult] = Handshake(self.webhook_client, options)
        self.apps: dict[str, App] = {}
        self.users: list[User] = []
        self.sessions: dict[str, Session] = {}
        self.access_tokens: dict[str, Session] = {}
        self.refresh_tokens: dict[str, Session] = {}
        self.subscriptions: dict[str, SubscriptionRecord] = {}
        self.handshakes: list[HandshakeResult] = []  #: the last handshakes run (most recent last, at most 100)
        self.demo_app = self._add_app("Demo App")
        self.second_app = self._add_app("Second Demo App")
        self.user = self._add_user(DEMO_ACCOUNT_ID, DEMO_EXTENSION_ID)

    # --- demo data --------------------------------------------------------------------------------
    def _add_app(self, name: str) -> App:
        app = App(name, self.ids.urlsafe(16)[:22], self.ids.urlsafe(32))
        self.apps[app.client_id] = app
        return app

    def _add_user(self, account_id: str, extension_id: str) -> User:
        now = int(self.clock.now())
        header = {"kid": self.ids.urlsafe(12), "typ": "JWT", "alg": "RS256"}
        claims = {"aud": "rchelpers.simulator/restapi/oauth/token", "sub": extension_id,
                  "iss": "rchelpers.simulator", "exp": now + 315_360_000, "iat": now, "jti": self.ids.urlsafe(16)}
        jwt = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        jwt += "." + self.ids.urlsafe(256)
        user = User(account_id, extension_id, jwt)
        self.users.append(user)
        return user

    def user_for_jwt(self, assertion: str) -> User | None:
        """The user whose JWT credential this is, if any."""
        for user in self.users:
            if secrets.compare_digest(user.jwt.encode(), assertion.encode()):
                return user
        return None

    # --- listeners --------------------------------------------------------------------------------
    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(change, record)`` after each change; ``change`` is one of :data:`LIFECYCLE_CHANGES`."""
        self.listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        """Forget a listener (harmless if absent)."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _notify(self, changes: list[tuple[str, SubscriptionRecord]]) -> None:
        for change, record in changes:
            for listener in list(self.listeners):
                try:
                    listener(change, record)
                except Exception:
                    log.exception("subscription listener %r failed on %s %s", listener, change, record.id)

    # --- expiry -----------------------------------------------------------------------------------
    def _purge_locked(self) -> list[tuple[str, SubscriptionRecord]]:
        now = self.clock.now()
        gone = [r for r in self.subscriptions.values() if r.expiration_time <= now]
        for record in gone:
            del self.subscriptions[record.id]
            if record.expiry_job is not None:
                record.expiry_job.cancel()
        return [("expired", r) for r in gone]

    @contextlib.contextmanager
    def _purged_and_locked(self) -> Iterator[list[tuple[str, SubscriptionRecord]]]:
        """Hold the lock with expired subscriptions purged; yields the list of changes, which the block may
        add to, and tells the listeners about them once the lock is released (also when the block raises)."""
        changes: list[tuple[str, SubscriptionRecord]] = []
        try:
            with self.lock:
                changes.extend(self._purge_locked())
                yield changes
        finally:
            self._notify(changes)

    def purge_expired(self) -> int:
        """Remove every subscription whose expiration time has passed; returns how many."""
        with self.lock:
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
        record = self.subscriptions.get(subscription_id)
        if record is None or record.owner != user.owner or record.client_id != client_id:
            raise not_found("subscriptionId")
        return record

    def list_subscriptions(self, user: User, client_id: str) -> list[SubscriptionRecord]:
        """The user's subscriptions made by this app, oldest first (expired ones purged first)."""
        with self._purged_and_locked():
            return [r for r in self.subscriptions.values() if r.owner == user.owner and r.client_id == client_id]

    def get_subscription(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """One subscription of the user and app, or 404 CMN-102."""
        with self._purged_and_locked():
            return self._find_locked(user, client_id, subscription_id)

    # --- creating ---------------------------------------------------------------------------------
    def create_subscription(self, user: User, client_id: str, body: object) -> SubscriptionRecord:
        """Validate a create request, run the handshake (outside the lock) and store the subscription."""
        if not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        raw_filters = _event_filters(body)
        delivery = body.get("deliveryMode")
        if delivery is None:
            raise missing_parameter("deliveryMode")
        if not isinstance(delivery, dict):
            raise invalid_parameter("deliveryMode")
        transport = delivery.get("transportType")
        if transport is None:
            raise missing_parameter("deliveryMode.transportType")
        if transport != "WebHook":
            raise invalid_parameter("deliveryMode.transportType", "only WebHook subscriptions can be created here")
        if delivery.get("address") is None:
            raise missing_parameter("deliveryMode.address")
        address = check_address(delivery["address"])
        token = delivery.get("verificationToken")
        if token is not None and (not isinstance(token, str) or not token or len(token) > 1024):
            raise invalid_parameter("deliveryMode.verificationToken")
        ttl = self._expires_in(body, self.options.default_expires_in)
        filters = parse_filters(raw_filters, user.owner)
        check_reminder_rules(filters, ttl, self.options.reminder_job_interval)
        self.purge_expired()
        with self.lock:
            self._check_limit_locked(user, client_id)
        result = self.handshake(address, self.ids.uuid4())  # outside the lock: a slow webhook blocks nobody
        with self.lock:
            self.handshakes = self.handshakes[-99:] + [result]
        error = judge(result, self.options.max_reply_bytes)
        if error is not None:
            log.info("handshake with %s failed: %s (%s)", address, error.code, result.detail or result.status)
            raise error
        with self._purged_and_locked() as changes:
            self._check_limit_locked(user, client_id)
            now = self.clock.now()
            record = SubscriptionRecord(
                id=self.ids.uuid4(), account_id=user.account_id, extension_id=user.extension_id,
                client_id=client_id, event_filters=[f.expanded for f in filters], filters=filters,
                transport="WebHook", address=address, verification_token=token, status="Active",
                creation_time=now, expiration_time=now + ttl, lifetime=ttl)
            self.subscriptions[record.id] = record
            self._schedule_expiry_locked(record)
            changes.append(("created", record))
            return record

    def _check_limit_locked(self, user: User, client_id: str) -> None:
        count = sum(1 for r in self.subscriptions.values() if r.owner == user.owner and r.client_id == client_id)
        if count >= self.options.subscription_limit:
            raise PlatformError(403, "SUB-505", "Subscriptions limit exceeded")

    def _expires_in(self, body: Mapping[str, Any], default: int) -> int:
        value = body.get("expiresIn")
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid_parameter("expiresIn")
        return min(value, self.options.max_expires_in)

    # --- updating ---------------------------------------------------------------------------------
    def update_subscription(self, user: User, client_id: str, subscription_id: str,
                            body: object) -> SubscriptionRecord:
        """PUT: with ``eventFilters`` replace them; every PUT renews (no body: with the original lifetime).

        ``expiresIn`` sets a new lifetime, which later renewals reuse; other fields are ignored.
        """
        if body is not None and not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        body = body or {}
        raw_filters = _event_filters(body) if "eventFilters" in body else None
        with self._purged_and_locked() as changes:
            record = self._find_locked(user, client_id, subscription_id)
            self._check_renewable(record)
            ttl = self._expires_in(body, record.lifetime)
            filters = record.filters if raw_filters is None else parse_filters(raw_filters, record.owner)
            check_reminder_rules(filters, ttl, self.options.reminder_job_interval)
            record.filters = filters
            record.event_filters = [f.expanded for f in filters]
            record.lifetime = ttl
            self._renew_locked(record)
            changes.append(("renewed" if raw_filters is None else "updated", record))
            return record

    def renew_subscription(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """Renew with the lifetime the subscription was created with (``POST .../renew``, empty PUT)."""
        return self.update_subscription(user, client_id, subscription_id, None)

    @staticmethod
    def _check_renewable(record: SubscriptionRecord) -> None:
        if record.transport == "WebSocket":
            raise invalid_parameter("deliveryMode.transportType",
                                    "WebSocket subscriptions are renewed by their WebSocket session, not over HTTP")

    def _renew_locked(self, record: SubscriptionRecord) -> None:
        record.expiration_time = self.clock.now() + record.lifetime
        self._schedule_expiry_locked(record)

    def delete_subscription(self, user: User, client_id: str, subscription_id: str) -> SubscriptionRecord:
        """Remove a subscription of the user and app (404 CMN-102 if there is none)."""
        with self._purged_and_locked() as changes:
            record = self._find_locked(user, client_id, subscription_id)
            del self.subscriptions[record.id]
            if record.expiry_job is not None:
                record.expiry_job.cancel()
            changes.append(("deleted", record))
            return record

    def set_blacklisted(self, subscription_id: str, reason: str) -> SubscriptionRecord | None:
        """Mark a subscription ``Blacklisted`` with ``blacklistedData`` (for the delivery engine)."""
        with self.lock:
            record = self.subscriptions.get(subscription_id)
            if record is None:
                return None
            record.status = "Blacklisted"
            record.blacklisted_data = {"reason": reason, "blacklistedAt": iso(self.clock.now())}  # key order of a real record
            return record

    # --- legacy records ---------------------------------------------------------------------------
    def seed_legacy(self, body: object, user: User | None = None, client_id: str | None = None) -> SubscriptionRecord:
        """Add a PubNub or WebSocket record to a user's list (no handshake), so a mixed list can be shown."""
        if not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        user = user or self.user
        client_id = body.get("clientId", client_id or self.demo_app.client_id)
        if not isinstance(client_id, str) or client_id not in self.apps:
            raise invalid_parameter("clientId", "not a client id of this simulator")
        transport = body.get("transportType", "PubNub")
        if transport not in ("PubNub", "WebSocket"):
            raise invalid_parameter("transportType", "seed PubNub or WebSocket records")
        raw_filters = body.get("eventFilters", ["/restapi/v1.0/account/~/extension/~/presence"])
        if not isinstance(raw_filters, list) or not raw_filters or not all(isinstance(f, str) for f in raw_filters):
            raise invalid_parameter("eventFilters")
        filters = parse_filters(raw_filters, user.owner)
        ttl = self._expires_in(body, 900)
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
                client_id=client_id, event_filters=[f.expanded for f in filters], filters=filters,
                transport=transport, address=address, verification_token=None, status="Active",
                creation_time=now, expiration_time=now + ttl, lifetime=ttl, delivery_extra=extra)
            self.subscriptions[record.id] = record
            self._schedule_expiry_locked(record)
            changes.append(("created", record))
            return record

    # --- reset ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop sessions, tokens and subscriptions; keep apps, users and their credentials."""
        with self.lock:
            for record in self.subscriptions.values():
                if record.expiry_job is not None:
                    record.expiry_job.cancel()
            self.subscriptions.clear()
            self.sessions.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.handshakes.clear()


def _event_filters(body: Mapping[str, Any]) -> list[str]:
    value = body.get("eventFilters")
    if value is None:
        raise missing_parameter("eventFilters")
    if not isinstance(value, list) or not value or not all(isinstance(f, str) and f for f in value):
        raise invalid_parameter("eventFilters", "a non-empty list of non-empty strings is expected")
    return value
