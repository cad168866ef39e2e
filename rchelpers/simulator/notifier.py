"""What the platform sends to webhooks: sample events on trigger, whole calls (scenarios) and renewal
reminders, through the delivery engine, for the subscriptions of the subscriptions backend.

:class:`Notifier` owns the :class:`~rchelpers.simulator.delivery.DeliveryEngine`, the
:class:`~rchelpers.simulator.reminders.ReminderJob` and the :class:`~rchelpers.simulator.events.EventFactory`,
and hears the subscriptions' lifecycle changes (renewal restarts reminders; deletion and expiry drop
pending retries). Each event goes to every enabled filter of every Active WebHook that
:func:`~rchelpers.simulator.event_filter_catalog.body_for` says it reaches. A scenario's steps
(:func:`rchelpers.simulator.telephony.play`) are clock jobs at their offsets; each step is routed when it
is due. With ``duplicate_rate``/``reorder_window`` (:class:`~rchelpers.simulator.realism.DeliveryRealism`)
an event's notification may be queued twice or held back a while on the simulated clock, before the
delivery engine's per-address lanes. It draws every uuid and sample value from its own ``random.Random``
(seeded from the simulator's id source, so a seeded simulator repeats itself), always on the calling
thread (or the clock's, for scenario steps).
"""
from __future__ import annotations

import functools
import random
import threading
import uuid as _uuid
from dataclasses import dataclass
from typing import Any, Callable

from rchelpers.simulator.telephony import RandomIds, Step, play
from rchelpers.simulator.accounts import User
from rchelpers.simulator.clock import Job, SimClock, iso
from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.delivery_log import DeliveryAttempt
from rchelpers.simulator.event_filter_catalog import body_for, envelope_event
from rchelpers.simulator.events import EventFactory
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.realism import DeliveryRealism
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


def step_summary(step: Step) -> dict[str, Any]:
    """What one scenario step is, in a few fields: the resource, the status it carries, its sequence."""
    body = step.body
    summary: dict[str, Any] = {"event": step.event_path}
    parties = body.get("parties")
    if isinstance(parties, list) and parties:
        summary.update(statusCode=parties[0]["status"]["code"], missedCall=parties[0]["missedCall"])
    elif "telephonyStatus" in body:
        summary["telephonyStatus"] = body["telephonyStatus"]
    elif "type" in body:
        summary["type"] = body["type"]
    if "sequence" in body:
        summary["sequence"] = body["sequence"]
    return summary


@dataclass
class ScenarioStep:
    """One step of a played scenario: when (simulated), what, and the notifications sent for it so far."""

    offset: float
    at: str
    summary: dict[str, Any]
    notifications: list[Notification]
    sent: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: offset, time, summary, whether it was sent, and the subscriptions it reached."""
        return {"offset": self.offset, "at": self.at, **self.summary, "sent": self.sent,
                "subscriptionIds": list(dict.fromkeys(n.subscription_id for n in self.notifications))}


@dataclass
class ScenarioResult:
    """What :meth:`Notifier.scenario` played: the scenario's name and its steps (sent now or scheduled)."""

    name: str
    steps: list[ScenarioStep]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the name and each step (sent steps list the subscriptions they reached)."""
        return {"scenario": self.name, "steps": [step.to_dict() for step in self.steps]}


def realism_seed(seed: bytes) -> bytes:
    """The seed of the delivery-realism generator: derived from the notifier's, with no draw, so turning
    realism on changes no other value."""
    return seed + b"realism"


class Notifier:
    """Sample events, renewal reminders and their delivery, for one simulator's subscriptions.

    ``seed`` seeds its ``random.Random``; ``user`` is the demo user the sample events are about;
    ``base_url()`` is the simulator's URL, the base of the events' attachment links (events are built
    only while the simulator runs, so it always has one); ``ids`` is the simulator's id source, handed to
    the delivery engine (its reactivation probe's tokens).
    """

    def __init__(self, clock: SimClock, subscriptions: SubscriptionsBackend, user: User,
                 options: SimulatorOptions, client: WebhookClient, seed: bytes, *,
                 base_url: Callable[[], str] | None = None, ids: IdSource | None = None) -> None:
        self.clock = clock
        self.subscriptions = subscriptions
        self.options = options
        self.client = client
        self.ids = ids
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.engine = self._new_engine()
        self.reminders = ReminderJob(clock, subscriptions, self._send_reminder, options.reminder_job_interval)
        self.events = EventFactory(self._rng, clock.now, user.account_id, user.extension_id, base_url=base_url)
        self.realism = DeliveryRealism(options.duplicate_rate, options.reorder_window,
                                       random.Random(realism_seed(seed)))
        self._scenario_jobs: list[Job] = []
        subscriptions.add_listener(self._on_change)

    def _new_engine(self) -> DeliveryEngine:
        engine = DeliveryEngine(self.clock, self.subscriptions, self.options, self.client, ids=self.ids)
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

    def reset(self, seed: bytes) -> None:
        """Back to the state of a new notifier seeded with ``seed`` (the simulator's reset, after its clock's):
        the generators re-seeded, event sequences from 1, pending scenario steps cancelled, the delivery
        engine reset (log, attempt ids, retries) and, while started, the reminder job re-armed."""
        with self._rng_lock:
            self._rng.seed(seed)
            self.realism.reseed(realism_seed(seed))
            self.events.reset()
            for job in self._scenario_jobs:
                job.cancel()
            self._scenario_jobs.clear()
        self.engine.reset()  # before the reminder job, in the order start() arms their clock jobs
        self.reminders.reset()

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
            notifications = self._route(event.path, event.full_body(), event.attributes)
        self._dispatch(notifications)
        self._settle_if_frozen()
        return TriggerResult(event.kind, event.body, notifications)

    def scenario(self, name: str, options: dict[str, Any] | None = None) -> ScenarioResult:
        """Play scenario ``name`` (see :data:`rchelpers.simulator.telephony.SCENARIOS`) from now on the clock.

        Each step is a clock job at its offset and is routed through the filters when it is due; steps at
        offset 0 are sent at once (and, with a frozen clock, answered before this returns). Raises
        :class:`~rchelpers.simulator.telephony.ScenarioError` for an unknown name or a bad option.
        """
        self._check_running()
        start = self.clock.now()
        with self._rng_lock:
            steps = play(name, RandomIds(self._rng), start, self.events.subscriber, options,
                         self.events.next_presence_sequence)
            self.events.reserve_presence_sequences(sum(1 for step in steps if "telephonyStatus" in step.body))
        planned = [ScenarioStep(step.offset, iso(start + step.offset), step_summary(step), []) for step in steps]
        self._scenario_jobs = [job for job in self._scenario_jobs if job.when > start]  # forget the ones run
        for step, entry in zip(steps, planned):
            if step.offset == 0:
                self._send_step(step, entry)
            else:
                self._scenario_jobs.append(self.clock.call_at(
                    start + step.offset, functools.partial(self._send_step, step, entry), name=f"scenario {name} step"))
        self._settle_if_frozen()
        return ScenarioResult(name, planned)

    def _send_step(self, step: Step, entry: ScenarioStep) -> None:
        with self._rng_lock:
            notifications = self._route(step.event_path, step.body, step.attributes)
        entry.notifications.extend(notifications)
        entry.sent = True
        self._dispatch(notifications)

    def _route(self, event_path: str, body: dict[str, Any], attributes: Any) -> list[Notification]:
        """One notification per enabled filter of each Active WebHook the event reaches (under the rng lock)."""
        stamp = iso(self.clock.now())
        notifications = []
        for record in self.subscriptions.active_webhooks():
            for event_filter in record.filters:
                shaped = body_for(event_filter, event_path, body, attributes)
                if shaped is not None:
                    notifications.append(Notification(self._uuid(), envelope_event(event_filter, event_path), stamp,
                                                      record.id, record.extension_id, shaped))
        return notifications

    def _dispatch(self, notifications: list[Notification]) -> None:
        """Queue each notification, twice or later when delivery realism says so (on the simulated clock)."""
        for notification in notifications:
            with self._rng_lock:
                delays = self.realism.plan().delays
            for delay in delays:
                if delay <= 0:
                    self.engine.deliver(notification)
                else:
                    self.clock.call_later(delay, functools.partial(self.engine.deliver, notification),
                                          name="delivery held back (reorder_window)")

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
        self._dispatch([notification])

    def _on_change(self, change: str, record: SubscriptionRecord) -> None:
        if change in ("renewed", "updated", "deleted", "expired"):
            self.reminders.restart(record.id)
        if change in ("deleted", "expired"):
            self.engine.forget(record.id)
