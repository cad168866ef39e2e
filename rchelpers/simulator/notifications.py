"""The delivery engine wired to one Simulator: its state, its clock, its control routes.

:class:`Notifications` connects the :class:`~rchelpers.simulator.delivery.DeliveryEngine`, the reminder
job (:mod:`.reminders`) and the sample events (:mod:`.events`) to one Simulator through its state
(:class:`StateSubscriptions`) and adds the control routes ``GET /_sim/deliveries``,
``POST /_sim/deliveries/{id}/replay``, ``GET`` and ``POST /_sim/events``.
"""
from __future__ import annotations

import random
import ssl
import threading
import uuid as _uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from rchelpers.simulator.clock import iso
from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.errors import DeliveryError, PlatformError, TriggerError, invalid_parameter
from rchelpers.simulator.notification import DeliveryTarget, Notification
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.webhook_client import WebhookClient
from rchelpers.simulator.events import KINDS, EventFactory, fields_of, normalize_kind
from rchelpers.simulator.reminders import ReminderJob, ReminderSubject
from rchelpers.simulator.server import SimRequest, SimResponse
from rchelpers.simulator.state import State, SubscriptionRecord

if TYPE_CHECKING:
    from rchelpers.simulator import Simulator

#: The name of the clock ticker's thread (see :class:`~rchelpers.simulator.clock.ClockTicker`).
CLOCK_TICKER_THREAD = "rc-sim-clock"


class StateSubscriptions:
    """Adapts the simulator's :class:`~rchelpers.simulator.state.State` to what the engine and the reminder
    job read: Active, unexpired WebHook subscriptions, blacklisting and reactivation."""

    def __init__(self, state: State) -> None:
        self.state = state

    def records(self) -> list[SubscriptionRecord]:
        """Active WebHook subscriptions whose lifetime is not over, oldest first."""
        now = self.state.clock.now()
        with self.state.lock:
            return [r for r in self.state.subscriptions.values()
                    if r.transport == "WebHook" and r.status == "Active" and r.expiration_time > now]

    def delivery_target(self, subscription_id: str) -> DeliveryTarget | None:
        """Where to deliver now, or None when the subscription is gone, expired, blacklisted or not a WebHook."""
        now = self.state.clock.now()
        with self.state.lock:
            record = self.state.subscriptions.get(subscription_id)
            if record is None or record.transport != "WebHook" or record.status != "Active" \
                    or record.expiration_time <= now or not record.address:
                return None
            return DeliveryTarget(record.id, record.address, record.verification_token)

    def blacklist(self, subscription_id: str, reason: str, at: float) -> None:
        """Set ``Blacklisted`` and ``blacklistedData`` (``blacklistedAt`` is the clock's time, which is ``at``)."""
        self.state.set_blacklisted(subscription_id, reason)

    def blacklisted_targets(self) -> list[DeliveryTarget]:
        """Blacklisted WebHook subscriptions (for the optional reactivation)."""
        with self.state.lock:
            return [DeliveryTarget(r.id, r.address, r.verification_token) for r in self.state.subscriptions.values()
                    if r.transport == "WebHook" and r.status == "Blacklisted" and r.address]

    def reactivate(self, subscription_id: str) -> None:
        """Back to ``Active``, without ``blacklistedData``."""
        with self.state.lock:
            record = self.state.subscriptions.get(subscription_id)
            if record is not None and record.status == "Blacklisted":
                record.status = "Active"
                record.blacklisted_data = None

    def reminder_subjects(self) -> list[ReminderSubject]:
        """Each Active WebHook subscription with its reminder filters as subscribed."""
        return [ReminderSubject(r.id, tuple(f for f in r.filters if f.is_reminder), r.expiration_time)
                for r in self.records()]


@dataclass
class TriggerResult:
    """What :meth:`Notifications.trigger` sent: the event's kind and body, and one notification per matching filter."""

    kind: str
    body: dict[str, Any]
    notifications: list[Notification]

    @property
    def subscription_ids(self) -> list[str]:
        """The subscriptions the event matched, in the order they were sent to."""
        return list(dict.fromkeys(n.subscription_id for n in self.notifications))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: kind, body, matched subscription ids and the envelopes sent."""
        return {"kind": self.kind, "body": self.body, "subscriptionIds": self.subscription_ids,
                "notifications": [n.envelope() for n in self.notifications]}


class Notifications:
    """Delivery, renewal reminders and sample events, wired to one Simulator.

    Draws every uuid, id and sample value from its own ``random.Random`` seeded from the simulator's id
    source (so a seeded simulator repeats itself), always on the calling thread. Adds the control routes
    ``GET /_sim/deliveries``, ``POST /_sim/deliveries/{id}/replay``, ``GET`` and ``POST /_sim/events``.
    """

    def __init__(
        self,
        sim: Simulator,
        options: SimulatorOptions,
        client: WebhookClient,
    ) -> None:
        self.sim = sim
        self._rng = random.Random(sim.ids.bytes(16))
        self._rng_lock = threading.Lock()
        self.subscriptions = StateSubscriptions(sim.state)
        self.options = options
        self.client = client
        self.engine = self._new_engine()
        self.reminders = ReminderJob(sim.clock, self.subscriptions, self._send_reminder, options.reminder_job_interval)
        user = sim.state.user
        self.events = EventFactory(self._rng, sim.clock.now, user.account_id, user.extension_id)
        sim.add_listener(self._on_change)
        sim.add_reset_hook(self.clear)
        for method, pattern, handler in self._routes():
            sim.add_route(method, pattern, handler)

    def _new_engine(self) -> DeliveryEngine:
        engine = DeliveryEngine(self.sim.clock, self.subscriptions, self.options, self.client)
        engine.skip_settle_in(CLOCK_TICKER_THREAD)
        return engine

    def start(self) -> None:
        """Start the delivery workers and the reminder job (with the simulator)."""
        if self.engine.closed:
            self.engine = self._new_engine()
        self.engine.start()
        self.reminders.start()

    def stop(self) -> None:
        """Stop the reminder job and the workers, bounded (with the simulator)."""
        self.reminders.stop()
        self.engine.stop()

    def clear(self) -> None:
        """Forget the delivery log, pending retries and reminder state (the simulator's reset)."""
        self.engine.clear()
        self.reminders.clear()

    def _uuid(self) -> str:
        return str(_uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # --- sending ------------------------------------------------------------------------------------
    def trigger(self, kind: str, **fields: Any) -> TriggerResult:
        """Build a sample event of ``kind`` for the demo user and send it to every filter it matches.

        With a frozen clock (a seeded simulator) it returns once those deliveries are answered, as a
        clock job's are under ``advance``, so what follows sees them; with a flowing clock it returns at
        once (use :meth:`wait`).
        """
        self._check_running()
        with self._rng_lock:
            event = self.events.build(kind, fields)
            stamp = iso(self.sim.clock.now())
            notifications = []
            for record in self.subscriptions.records():
                for event_filter in record.filters:
                    body = event.body_for(event_filter)
                    if body is not None:
                        notifications.append(Notification(self._uuid(), event_filter.expanded, stamp, record.id,
                                                          record.extension_id, body))
        for notification in notifications:
            self.engine.deliver(notification)
        self._settle_if_frozen()
        return TriggerResult(event.kind, event.body, notifications)

    def replay(self, key: str | int) -> Notification:
        """Send a logged notification again (same uuid); by attempt id or uuid. See :meth:`DeliveryEngine.replay`."""
        self._check_running()
        notification = self.engine.replay(key)
        self._settle_if_frozen()
        return notification

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery is answered; True if that happened within ``timeout``."""
        return self.engine.wait_idle(timeout)

    def _check_running(self) -> None:
        if not self.engine.running:
            raise RuntimeError("the simulator is not running: call start() or use it as a context manager "
                               "before triggering or replaying events")

    def _settle_if_frozen(self) -> None:
        if self.sim.clock.speed == 0:
            self.engine.settle()

    def _send_reminder(self, subscription_id: str, event_filter: str, expires_in: int) -> None:
        with self.sim.state.lock:
            record = self.sim.state.subscriptions.get(subscription_id)
            owner = record.extension_id if record is not None else ""
        with self._rng_lock:
            notification = Notification(self._uuid(), event_filter, iso(self.sim.clock.now()), subscription_id,
                                        owner, {"expiresIn": expires_in})
        self.engine.deliver(notification)

    def _on_change(self, event: str, record: SubscriptionRecord) -> None:
        if event in ("renewed", "updated", "deleted", "expired"):
            self.reminders.restart(record.id)
        if event in ("deleted", "expired"):
            self.engine.forget(record.id)

    # --- control routes -----------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[[SimRequest], SimResponse]]]:
        return [
            ("GET", r"/_sim/deliveries", self._list_deliveries),
            ("POST", r"/_sim/deliveries/(?P<key>[^/]+)/replay", self._replay),
            ("GET", r"/_sim/events", self._list_kinds),
            ("POST", r"/_sim/events", self._trigger),
        ]

    def _list_deliveries(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/deliveries[?subscriptionId=..][&uuid=..]``: the delivery log, oldest first."""
        unknown = sorted(set(request.query) - {"subscriptionId", "uuid"})
        if unknown:
            raise invalid_parameter(unknown[0], "filter the log with subscriptionId and/or uuid")
        attempts = self.engine.attempts(request.query.get("subscriptionId"), request.query.get("uuid"))
        return SimResponse(200, {"records": [a.to_dict() for a in attempts]})

    def _replay(self, request: SimRequest) -> SimResponse:
        """``POST /_sim/deliveries/{attempt id or uuid}/replay``: send that notification again (same uuid)."""
        key = request.params["key"]
        try:
            notification = self.engine.find_notification(key)
        except DeliveryError as exc:
            raise PlatformError(404, "CMN-102", f"Resource for parameter [deliveryId] is not found: {exc}",
                           "deliveryId") from None
        try:
            self.replay(notification.uuid)
        except DeliveryError as exc:
            raise invalid_parameter("deliveryId", str(exc)) from None
        return SimResponse(200, {"replayed": notification.envelope()})

    def _list_kinds(self, request: SimRequest) -> SimResponse:
        """``GET /_sim/events``: the kinds of sample event and the fields each accepts."""
        return SimResponse(200, {"kinds": {kind: fields_of(kind) for kind in KINDS}})

    def _trigger(self, request: SimRequest) -> SimResponse:
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
            result = self.trigger(body["kind"], **fields)
        except TriggerError as exc:
            raise invalid_parameter("fields", str(exc)) from None
        return SimResponse(200, result.to_dict())
