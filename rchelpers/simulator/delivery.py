"""The delivery engine: notifications POSTed to webhooks from worker lanes, with retries and blacklisting.

The :class:`DeliveryEngine` sends each :class:`~rchelpers.simulator.notification.Notification` from a small
pool of worker threads (the API thread never waits on a webhook) through the simulator's
:class:`~rchelpers.simulator.webhook_client.WebhookClient` on keep-alive connections. Notifications for one
address go out one at a time, in the order they were queued (different addresses in parallel), so a
receiver sees the same sequence every run.

Failures are judged, retried and turn into blacklisting by the rules of :mod:`.delivery_policy`; every
attempt is logged in an :class:`~rchelpers.simulator.delivery_log.AttemptLog`; :meth:`DeliveryEngine.replay`
sends a past notification again with the same ``uuid``, as the platform's redeliveries would. With
``blacklist_reactivation`` set, a :class:`~rchelpers.simulator.reactivation.ReactivationProbe` runs too.

The engine registers a settle hook on the clock: after each job run by ``clock.advance`` it waits
(bounded) until the deliveries that job started have finished and their retries are scheduled, so
time moves on only once the outcome is known. Where and whether to deliver, and the simulated time an
attempt is judged at, are fixed when it is queued, on the caller's thread, not when a worker sends it.
"""
from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from rchelpers.simulator.clock import SimClock, iso
from rchelpers.simulator.delivery_log import AttemptLog, DeliveryAttempt
from rchelpers.simulator.delivery_policy import (
    FailureTracker,
    Outcome,
    RetryQueue,
    failure_reason_for_io,
    judge_reply,
    judge_send_error,
)
from rchelpers.simulator.errors import DeliveryError
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.notification import DeliveryTarget, Notification, SubscriptionAccess
from rchelpers.simulator.options import DEFAULTS, DELIVERY_LOG_LIMIT, SimulatorOptions
from rchelpers.simulator.reactivation import ReactivationProbe
from rchelpers.simulator.webhook_client import WebhookClient, WebhookSendError, notification_headers

log = logging.getLogger(__name__)

@dataclass
class _Work:
    attempt_id: int
    notification: Notification
    attempt: int
    replay: bool
    target: DeliveryTarget
    sim_time: float  #: the simulated time the attempt was queued at, which it is logged and judged at
    generation: int  #: the engine's :meth:`~DeliveryEngine.reset` count when queued (older work is not logged)


def _real_iso() -> str:
    return iso(time.time())


class DeliveryEngine:
    """Delivers notifications to webhooks from worker threads, with retries, blacklisting and a log.

    ``clock`` is the simulator's :class:`SimClock` (retries and blacklisting run on it); ``subscriptions``
    answers where to deliver and records blacklisting (:class:`SubscriptionAccess`); ``client`` sends
    (default: a new :class:`WebhookClient`); ``options`` gives ``delivery_timeout``, ``retry_schedule``,
    ``blacklist_after``, ``blacklist_reactivation`` and ``delivery_workers``. ``log_limit`` attempts are
    kept in the log; ``settle_timeout`` is the real seconds the clock's settle hook waits at most; ``ids``
    (the simulator's id source; default: an unseeded one) gives the reactivation probe its tokens.
    """

    def __init__(
        self,
        clock: SimClock,
        subscriptions: SubscriptionAccess,
        options: SimulatorOptions = DEFAULTS,
        client: WebhookClient | None = None,
        *,
        log_limit: int = DELIVERY_LOG_LIMIT,
        settle_timeout: float | None = None,
        ids: IdSource | None = None,
    ) -> None:
        self.clock = clock
        self.subscriptions = subscriptions
        self.client = client or WebhookClient()
        self._owns_client = client is None
        self.timeout = float(options.delivery_timeout)
        self.workers = options.delivery_workers
        self.settle_timeout = settle_timeout if settle_timeout is not None else self.timeout * 2 + 5.0
        self.log = AttemptLog(log_limit)
        self.retries = RetryQueue(options.retry_schedule)
        self.failures = FailureTracker(clock, options.blacklist_after, self._blacklist)
        self.reactivation: ReactivationProbe | None = None
        if options.blacklist_reactivation is not None:
            self.reactivation = ReactivationProbe(clock, subscriptions, self.client,
                                                  options.blacklist_reactivation, self.timeout, ids or IdSource())
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._generation = 0  # bumped by reset(): attempts queued before it are neither logged nor retried
        self._pending = 0  # submitted and not yet fully processed
        self._lanes: dict[str, collections.deque[_Work]] = {}  #: per address, in queue order
        self._busy_lanes: set[str] = set()
        self._work: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._closed = False
        self._skip_settle_thread: str | None = None
        self._listeners: list[Callable[[DeliveryAttempt], object]] = []

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "DeliveryEngine":
        """Start the worker threads and register the clock's settle hook; returns self."""
        if self._started:
            return self
        self._started = True
        for n in range(self.workers):
            thread = threading.Thread(target=self._worker, name=f"rc-sim-delivery-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.clock.add_settle_hook(self.settle)
        if self.reactivation is not None:
            self.reactivation.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers (bounded wait), drop pending retries and close idle connections."""
        if self._closed:
            return
        self._closed = True
        self.clock.remove_settle_hook(self.settle)
        self.failures.clear()
        self.retries.clear()
        if self.reactivation is not None:
            self.reactivation.stop()
        for _ in self._threads:
            self._work.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> "DeliveryEngine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._started and not self._closed

    @property
    def closed(self) -> bool:
        """True once :meth:`stop` was called (a stopped engine cannot be started again)."""
        return self._closed

    def skip_settle_in(self, thread_name: str | None) -> None:
        """Do not wait in the settle hook on the thread called ``thread_name`` (the real-time clock ticker,
        which must keep running other jobs on time while a slow webhook answers)."""
        self._skip_settle_thread = thread_name

    def add_listener(self, listener: Callable[[DeliveryAttempt], object]) -> None:
        """Call ``listener(attempt)`` from a worker thread after each attempt is logged (keep it quick)."""
        self._listeners.append(listener)

    def listeners(self) -> list[Callable[[DeliveryAttempt], object]]:
        """The listeners added with :meth:`add_listener`, in order."""
        return list(self._listeners)

    def remove_listener(self, listener: Callable[[DeliveryAttempt], object]) -> None:
        """Forget a listener added with :meth:`add_listener` (harmless if absent)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # --- sending ----------------------------------------------------------------------------------
    def deliver(self, notification: Notification) -> int | None:
        """Queue the first attempt of ``notification``; returns the attempt id it will be logged under.

        Where and whether to deliver is decided now, on the caller's thread (None: the subscription no
        longer receives notifications), so the outcome does not depend on when a worker gets to it.
        """
        target = self.subscriptions.delivery_target(notification.subscription_id)
        if target is None:
            return None
        return self._submit(notification, 1, False, target)

    def replay(self, key: str | int) -> Notification:
        """Send again a past notification, found by attempt id (int or digits) or by its ``uuid``.

        The envelope is the same (same ``uuid``), sent to the subscription's current address. Raises
        :class:`DeliveryError` when nothing matches or the subscription no longer receives notifications.
        """
        notification = self.find_notification(key)
        target = self.subscriptions.delivery_target(notification.subscription_id)
        if target is None:
            raise DeliveryError(
                f"subscription {notification.subscription_id} no longer receives notifications "
                "(deleted, expired or blacklisted); create a new subscription to receive events again"
            )
        self._submit(notification, 1, True, target)
        return notification

    def find_notification(self, key: str | int) -> Notification:
        """The notification logged under attempt id ``key`` (int or digits) or with uuid ``key``."""
        return self.log.find(key)

    def _submit(self, notification: Notification, attempt: int, replay: bool, target: DeliveryTarget) -> int:
        sim_time = self.clock.now()
        with self._lock:
            if self._closed:
                raise RuntimeError("deliveries are stopped: start the Simulator (or use it in a with block) first")
            attempt_id = next(self._ids)
            self._pending += 1
            self.log.remember(notification)
            lane_key = target.address
            lane = self._lanes.setdefault(lane_key, collections.deque())
            lane.append(_Work(attempt_id, notification, attempt, replay, target, sim_time, self._generation))
            wake = lane_key not in self._busy_lanes
            if wake:
                self._busy_lanes.add(lane_key)
        if wake:
            self._work.put(lane_key)
        return attempt_id

    def _worker(self) -> None:
        while True:
            lane_key = self._work.get()
            if lane_key is None:
                return
            with self._lock:
                lane = self._lanes.get(lane_key)
                work = lane.popleft() if lane else None
            if work is not None:
                try:
                    if not self._closed:  # once stopping, queued work is dropped, not sent
                        self._attempt(work)
                except Exception:  # a worker must survive anything
                    log.exception("delivery attempt %s failed unexpectedly", work.attempt_id)
                finally:
                    with self._lock:
                        self._pending -= 1
                        if self._pending == 0:
                            self._idle.notify_all()
            with self._lock:
                lane = self._lanes.get(lane_key)
                if lane:
                    requeue = True
                else:
                    requeue = False
                    self._busy_lanes.discard(lane_key)
                    self._lanes.pop(lane_key, None)
            if requeue:
                self._work.put(lane_key)

    def _send(self, target: DeliveryTarget, notification: Notification) -> Outcome:
        headers = notification_headers(target.verification_token)
        try:
            reply = self.client.post(target.address, notification.encode(), headers, self.timeout, keep_alive=True)
        except ValueError as exc:
            return Outcome(False, None, failure_reason_for_io(str(exc)), 0.0)
        except WebhookSendError as exc:
            return judge_send_error(exc)
        return judge_reply(reply, self.timeout)

    def _attempt(self, work: _Work) -> None:
        notification = work.notification
        target = work.target
        real_now = _real_iso()
        outcome = self._send(target, notification)
        if work.generation != self._generation:
            return  # sent while the simulator was reset: it belongs to no log and is not retried
        record = DeliveryAttempt(
            id=work.attempt_id,
            uuid=notification.uuid,
            subscription_id=notification.subscription_id,
            address=target.address,
            event=notification.event,
            attempt=work.attempt,
            ok=outcome.ok,
            status=outcome.status,
            error=outcome.error,
            latency_ms=outcome.latency_ms,
            simulated_time=iso(work.sim_time),
            real_time=real_now,
            replay=work.replay,
        )
        log.debug("delivery %s attempt %s to %s: %s", notification.uuid, work.attempt, target.address,
                  outcome.status if outcome.ok else outcome.error)
        self.log.add(record, self.retries.uuids)
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("delivery listener %r failed", listener)
        if outcome.ok:
            self.failures.succeeded(notification.subscription_id)
        else:
            self.failures.failed(notification.subscription_id, outcome.error or "", work.sim_time)
            self._schedule_retry(work, work.sim_time)

    # --- retries and blacklisting -------------------------------------------------------------------
    def _schedule_retry(self, work: _Work, failed_at: float) -> None:
        if self._closed:
            return
        due = self.retries.add(failed_at, work.attempt_id, work.notification, work.attempt)
        if due is not None:
            self.clock.call_at(due, lambda: self._send_due_retries(due), name="delivery retries")

    def _send_due_retries(self, job_time: float) -> None:
        """Send every retry due by now, in a fixed order (due time, then the failed attempt's id)."""
        for retry in self.retries.take_due(job_time, self.clock.now()):
            target = self.subscriptions.delivery_target(retry.notification.subscription_id)
            if target is not None:
                self._submit(retry.notification, retry.attempt, False, target)

    def _blacklist(self, subscription_id: str, reason: str) -> None:
        self.retries.drop(subscription_id)
        log.info("subscription %s blacklisted: %s", subscription_id, reason)
        self.subscriptions.blacklist(subscription_id, reason, self.clock.now())

    def forget(self, subscription_id: str) -> None:
        """Drop the failure state and pending retries of a subscription (deleted, expired or renewed away)."""
        self.failures.forget(subscription_id)
        self.retries.drop(subscription_id)

    # --- waiting ----------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery has finished; True if it did within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def settle(self) -> None:
        """The clock's settle hook: let the deliveries a job started finish before time moves on."""
        if self._skip_settle_thread is not None and threading.current_thread().name == self._skip_settle_thread:
            return
        if not self.wait_idle(self.settle_timeout):
            log.warning("deliveries still running after %.1f s; the clock moves on", self.settle_timeout)

    # --- the log ----------------------------------------------------------------------------------
    def attempts(self, subscription_id: str | None = None, uuid: str | None = None) -> list[DeliveryAttempt]:
        """The logged attempts, oldest first, optionally only one subscription's or one notification's."""
        return self.log.attempts(subscription_id, uuid)

    def clear(self) -> None:
        """Forget the log, pending retries and failure state."""
        self.log.clear()
        self.retries.clear()
        self.failures.clear()

    def reset(self) -> None:
        """Back to the state of a new engine (the simulator's reset, after its clock's): queued attempts are
        dropped and one being sent is not logged; the log, retries and failure state are forgotten; attempt
        ids start at 1 again; while started, the reactivation probe is re-armed. Workers and listeners stay."""
        with self._lock:
            self._generation += 1
            dropped = sum(len(lane) for lane in self._lanes.values())
            for lane in self._lanes.values():
                lane.clear()  # the worker woken for a lane finds it empty and lets it go
            self._pending -= dropped
            if self._pending == 0:
                self._idle.notify_all()
            self._ids = itertools.count(1)
        self.clear()
        if self.reactivation is not None and self.running:
            self.reactivation.reset()
