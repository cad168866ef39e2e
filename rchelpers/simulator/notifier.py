"""What the platform sends to webhooks: sample events on trigger and renewal reminders, through the delivery
engine, for the subscriptions of the subscriptions backend.

:class:`Notifier` owns the :class:`~rchelpers.simulator.delivery.DeliveryEngine`, the
:class:`~rchelpers.simulator.reminders.ReminderJob` and the :class:`~rchelpers.simulator.events.EventFactory`,
and hears the subscriptions' lifecycle changes (renewal restarts reminders; deletion and expiry drop
pending retries). It draws every uuid and sample value from its own ``random.Random`` (seeded from the
simulator's id source, so a seeded simulator repeats itself), always on the calling thread.
"""
from __future__ import annotations

import random
import threading
import uuid as _uuid
from dataclasses import dataclass
from typing import Any

from rchelpers.simulator.accounts import User
from rchelpers.simulator.clock import SimClock, iso
from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.delivery_log import DeliveryAttempt
from rchelpers.simulator.events import EventFactory
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.reminders import ReminderJob
from rchelpers.simulator.subscriptions import SubscriptionRecord, SubscriptionsBackend
from rchelpers.simulator.webhook_client import WebhookClient

#: The name of the clock ticker's thread (see :class:`~rchelpers.simulator.clock.ClockTicker`).
CLOCK_TICKER_THREAD = "rc-sim-clock"


@dataclass
class TriggerResult:
    """What :meth:`Notifier.trigger` sent: the event's kind and body, and one notification per matching filter."""

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


class Notifier:
    """Sample events, renewal reminders and their delivery, for one simulator's subscriptions.

    ``seed`` seeds its ``random.Random``; ``user`` is the demo user the sample events are about.
    """

    def __init__(self, clock: SimClock, subscriptions: SubscriptionsBackend, user: User,
                 options: SimulatorOptions, client: WebhookClient, seed: bytes) -> None:
        self.clock = clock
        self.subscriptions = subscriptions
        self.options = options
        self.client = client
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.engine = self._new_engine()
        self.reminders = ReminderJob(clock, subscriptions, self._send_reminder, options.reminder_job_interval)
        self.events = EventFactory(self._rng, clock.now, user.account_id, user.extension_id)
        subscriptions.add_listener(self._on_change)

    def _new_engine(self) -> DeliveryEngine:
        engine = DeliveryEngine(self.clock, self.subscriptions, self.options, self.client)
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
            stamp = iso(self.clock.now())
            notifications = []
            for record in self.subscriptions.active_webhooks():
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

    def find_notification(self, key: str | int) -> Notification:
        """The logged notification with this attempt id or uuid (DeliveryError if none)."""
        return self.engine.find_notification(key)

    def attempts(self, subscription_id: str | None = None, uuid: str | None = None) -> list[DeliveryAttempt]:
        """The delivery log, oldest first, optionally only one subscription's or one notification's."""
        return self.engine.attempts(subscription_id, uuid)

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery is answered; True if that happened within ``timeout``."""
        return self.engine.wait_idle(timeout)

    def _check_running(self) -> None:
        if not self.engine.running:
            raise RuntimeError("the simulator is not running: call start() or use it as a context manager "
                               "before triggering or replaying events")

    def _settle_if_frozen(self) -> None:
        if self.clock.speed == 0:
            self.engine.settle()

    def _send_reminder(self, subscription_id: str, event_filter: str, expires_in: int) -> None:
        owner = self.subscriptions.extension_of(subscription_id)
        with self._rng_lock:
            notification = Notification(self._uuid(), event_filter, iso(self.clock.now()), subscription_id,
                                        owner, {"expiresIn": expires_in})
        self.engine.deliver(notification)

    def _on_change(self, change: str, record: SubscriptionRecord) -> None:
        if change in ("renewed", "updated", "deleted", "expired"):
            self.reminders.restart(record.id)
        if change in ("deleted", "expired"):
            self.engine.forget(record.id)
