"""Notification delivery: envelopes POSTed to webhooks, retries, blacklisting, a delivery log, replay.

The :class:`DeliveryEngine` sends each :class:`Notification` from a small pool of worker threads (the API
thread never waits on a webhook), over keep-alive ``http.client`` connections kept per address and
re-created after an error. Notifications for one address go out one at a time, in the order they were
queued (different addresses in parallel), so a receiver sees the same sequence every run.

A failed delivery (not 2xx, over the time limit, refused) is retried on the simulator clock after
1, 5, 30, 60, 120, 120, ... simulated seconds (``retry_schedule``). When a subscription's deliveries have
been failing for ``blacklist_after`` simulated seconds (600: the platform's "10 minutes") it becomes
``Blacklisted`` with the platform's wording of the last failure, and nothing more is delivered to it.
With ``reactivation_interval`` set (the 2018 forum's "every 15 minutes"; off by default, as today's
docs say blacklisting is permanent) a blacklisted address that passes a validation probe is reactivated.

Every attempt is recorded as a :class:`DeliveryAttempt`; :meth:`DeliveryEngine.replay` sends a past
notification again with the same ``uuid``, as the platform's redeliveries would.

The engine registers a settle hook on the clock: after each job run by ``clock.advance`` it waits
(bounded) until the deliveries that job started have finished and their retries are scheduled, so
time moves on only once the outcome is known. Where and whether to deliver, and the simulated time an
attempt is judged at, are fixed when it is queued, on the caller's thread, not when a worker sends it.

The engine is wired to a Simulator by :mod:`.notifications`.
"""
from __future__ import annotations

import bisect
import collections
import heapq
import http.client
import itertools
import json
import logging
import queue
import socket
import ssl
import threading
import time
import uuid as _uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence
from urllib.parse import urlsplit

from rchelpers.simulator.clock import SimClock, iso
from rchelpers.simulator.errors import DeliveryError
from rchelpers.simulator.handshake import USER_AGENT, describe_tls_error, webhook_ssl_context

log = logging.getLogger(__name__)

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (1, 5, 30, 60, 120)
DEFAULT_TIMEOUT = 3.0
DEFAULT_BLACKLIST_AFTER = 600.0
DEFAULT_WORKERS = 4
DEFAULT_LOG_LIMIT = 10_000


@dataclass(frozen=True)
class DeliveryTarget:
    """Where and how to deliver to one subscription right now."""

    subscription_id: str
    address: str
    verification_token: str | None = None


class SubscriptionAccess(Protocol):
    """What the engine needs from the simulator's subscription state (``state.py`` adapts to it)."""

    def delivery_target(self, subscription_id: str) -> DeliveryTarget | None:
        """The target of an Active WebHook subscription, or None (gone, expired, blacklisted)."""

    def blacklist(self, subscription_id: str, reason: str, at: float) -> None:
        """Mark the subscription ``Blacklisted`` with ``blacklistedData {blacklistedAt, reason}``."""

    def blacklisted_targets(self) -> list[DeliveryTarget]:
        """Every blacklisted WebHook subscription (for the optional reactivation)."""

    def reactivate(self, subscription_id: str) -> None:
        """Set a blacklisted subscription back to ``Active`` and drop its ``blacklistedData``."""


@dataclass(frozen=True)
class Notification:
    """One notification for one subscription: the platform's envelope, in its key order."""

    uuid: str
    event: str
    timestamp: str
    subscription_id: str
    owner_id: str
    body: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """``{uuid, event, timestamp, subscriptionId, ownerId, body}``, as the platform sends it."""
        return {
            "uuid": self.uuid,
            "event": self.event,
            "timestamp": self.timestamp,
            "subscriptionId": self.subscription_id,
            "ownerId": self.owner_id,
            "body": self.body,
        }

    def encode(self) -> bytes:
        """The envelope as UTF-8 JSON bytes."""
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of a notification to a webhook, successful or not, as the delivery log keeps it."""

    id: int
    uuid: str
    subscription_id: str
    address: str
    event: str
    attempt: int
    ok: bool
    status: int | None
    error: str | None
    latency_ms: float
    simulated_time: str
    real_time: str
    replay: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The attempt as plain JSON-ready data (camelCase keys, like the rest of the API)."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "subscriptionId": self.subscription_id,
            "address": self.address,
            "event": self.event,
            "attempt": self.attempt,
            "ok": self.ok,
            "status": self.status,
            "error": self.error,
            "latencyMs": round(self.latency_ms, 3),
            "simulatedTime": self.simulated_time,
            "realTime": self.real_time,
            "replay": self.replay,
        }


@dataclass
class _Outcome:
    ok: bool
    status: int | None
    error: str | None
    latency_ms: float


@dataclass(order=True)
class _Retry:
    due: float
    order: int
    notification: Notification = field(compare=False)
    attempt: int = field(compare=False)


@dataclass
class _Work:
    attempt_id: int
    notification: Notification
    attempt: int
    replay: bool
    target: DeliveryTarget
    sim_time: float  #: the simulated time the attempt was queued at, which it is logged and judged at


def failure_reason_for_status(status: int, reason: str) -> str:
    """The platform's wording for a non-2xx answer, e.g. ``Webhook responses with code: [404], reason: [Not Found]``."""
    return f"Webhook responses with code: [{status}], reason: [{reason}]"


def failure_reason_for_io(details: str) -> str:
    """The platform's wording for an I/O failure, e.g. ``I/O operation is failed. Details: [Read timed out]``."""
    return f"I/O operation is failed. Details: [{details}]"


class _ConnectionPool:
    """Idle keep-alive connections per (scheme, host, port); a connection that failed is closed, not reused."""

    def __init__(self, timeout: float, max_idle: int = 16, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.ssl_context = ssl_context or webhook_ssl_context()
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = collections.defaultdict(list)
        self._lock = threading.Lock()

    def get(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        """An idle connection to (scheme, host, port), or a new one."""
        with self._lock:
            idle = self._idle[(scheme, host, port)]
            if idle:
                return idle.pop()
        return self.new(scheme, host, port)

    def new(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        """A new, not yet connected connection."""
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.ssl_context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def put(self, scheme: str, host: str, port: int, conn: http.client.HTTPConnection) -> None:
        """Give back a healthy keep-alive connection (closed if enough are idle already)."""
        with self._lock:
            idle = self._idle[(scheme, host, port)]
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def close_all(self) -> None:
        """Close every idle connection."""
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


def _split_address(address: str) -> tuple[str, str, int, str]:
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook address must be an http(s) URL, got {address!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, path


def _post_webhook(
    pool: _ConnectionPool, address: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[_Outcome, list[tuple[str, str]]]:
    """POST ``body`` to ``address`` on a pooled connection; returns the outcome and the response headers.

    A connection reused from the pool that turns out closed by the receiver is retried once on a fresh
    one (that is keep-alive housekeeping, not a delivery failure).
    """
    scheme, host, port, path = _split_address(address)
    started = time.perf_counter()
    for fresh_try in (False, True):
        conn = pool.new(scheme, host, port) if fresh_try else pool.get(scheme, host, port)
        reused = conn.sock is not None
        phase = "connect"
        try:
            if conn.sock is None:
                conn.connect()
            phase = "read"
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            response_headers = response.getheaders()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()
            if reused and not fresh_try:
                continue
            latency = (time.perf_counter() - started) * 1000.0
            return _Outcome(False, None, failure_reason_for_io(_io_details(exc, phase)), latency), []
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            latency = (time.perf_counter() - started) * 1000.0
            return _Outcome(False, None, failure_reason_for_io(_io_details(exc, phase)), latency), []
        latency = (time.perf_counter() - started) * 1000.0
        if response.will_close:
            conn.close()
        else:
            pool.put(scheme, host, port, conn)
        status = response.status
        if latency > timeout * 1000.0:
            return _Outcome(False, status, failure_reason_for_io("Read timed out"), latency), response_headers
        if 200 <= status < 300:
            return _Outcome(True, status, None, latency), response_headers
        reason = response.reason or _standard_reason(status)
        return _Outcome(False, status, failure_reason_for_status(status, reason), latency), response_headers
    raise AssertionError("unreachable")  # pragma: no cover


def _standard_reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _io_details(exc: BaseException, phase: str) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "Connect timed out" if phase == "connect" else "Read timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {describe_tls_error(exc)}"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return "Connection reset"
    if isinstance(exc, socket.gaierror):
        return f"Unknown host: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


def _real_iso() -> str:
    return iso(time.time())


class DeliveryEngine:
    """Delivers notifications to webhooks from worker threads, with retries, blacklisting and a log.

    ``clock`` is the simulator's :class:`SimClock` (retries and blacklisting run on it); ``subscriptions``
    answers where to deliver and records blacklisting (:class:`SubscriptionAccess`). Options:
    ``timeout`` seconds per delivery (3.0), ``retry_schedule`` simulated seconds between attempts (the
    last value repeats), ``blacklist_after`` simulated seconds of failures before blacklisting (600),
    ``reactivation_interval`` simulated seconds between reactivation probes (None: never), ``workers``
    threads, ``log_limit`` attempts kept in the log, ``settle_timeout`` real seconds the clock's settle
    hook waits at most, ``ssl_context`` the TLS settings for https webhooks (default:
    :func:`~rchelpers.simulator.handshake.webhook_ssl_context`, the system's CAs, TLS 1.2+).
    """

    def __init__(
        self,
        clock: SimClock,
        subscriptions: SubscriptionAccess,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        blacklist_after: float = DEFAULT_BLACKLIST_AFTER,
        reactivation_interval: float | None = None,
        workers: int = DEFAULT_WORKERS,
        log_limit: int = DEFAULT_LOG_LIMIT,
        settle_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_seconds("delivery_timeout", timeout)
        if not isinstance(retry_schedule, (list, tuple)) or not retry_schedule:
            raise ValueError(f"retry_schedule must be a non-empty list of seconds, e.g. [1, 5, 30], got {retry_schedule!r}")
        for delay in retry_schedule:
            _check_seconds("retry_schedule", delay)
        _check_seconds("blacklist_after", blacklist_after)
        if reactivation_interval is not None:
            _check_seconds("blacklist_reactivation", reactivation_interval)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"delivery_workers must be an integer >= 1, got {workers!r}")
        self.clock = clock
        self.subscriptions = subscriptions
        self.timeout = float(timeout)
        self.retry_schedule = tuple(float(d) for d in retry_schedule)
        self.blacklist_after = float(blacklist_after)
        self.reactivation_interval = reactivation_interval
        self.workers = workers
        self.log_limit = log_limit
        self.settle_timeout = settle_timeout if settle_timeout is not None else self.timeout * 2 + 5.0
        self._pool = _ConnectionPool(self.timeout, ssl_context=ssl_context)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._pending = 0  # submitted and not yet fully processed
        self._lanes: dict[str, collections.deque[_Work]] = {}  #: per address, in queue order
        self._busy_lanes: set[str] = set()
        self._work: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._log: list[DeliveryAttempt] = []
        self._notifications: dict[str, Notification] = {}  # uuid -> the latest envelope sent with it
        self._retries: list[_Retry] = []
        self._pump_times: set[float] = set()
        self._failing_since: dict[str, float] = {}
        self._last_reason: dict[str, str] = {}
        self._blacklist_jobs: dict[str, Any] = {}
        self._reactivation_job: Any = None
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
        if self.reactivation_interval is not None:
            self._schedule_reactivation()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers (bounded wait), drop pending retries and close connections."""
        if self._closed:
            return
        self._closed = True
        self.clock.remove_settle_hook(self.settle)
        with self._lock:
            for job in self._blacklist_jobs.values():
                job.cancel()
            self._blacklist_jobs.clear()
            self._retries.clear()
            if self._reactivation_job is not None:
                self._reactivation_job.cancel()
        for _ in self._threads:
            self._work.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._pool.close_all()

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
        with self._lock:
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and key not in self._notifications):
                wanted = int(key)
                for attempt in self._log:
                    if attempt.id == wanted:
                        return self._notifications[attempt.uuid]
                raise DeliveryError(f"no delivery attempt with id {wanted} in the log (ids start at 1; "
                                    f"the log keeps the last {self.log_limit})")
            if isinstance(key, str) and key in self._notifications:
                return self._notifications[key]
        raise DeliveryError(f"no delivered notification with uuid or attempt id {key!r}; "
                            "list them with sim.deliveries or GET /_sim/deliveries")

    def _submit(self, notification: Notification, attempt: int, replay: bool, target: DeliveryTarget) -> int:
        sim_time = self.clock.now()
        with self._lock:
            if self._closed:
                raise RuntimeError("deliveries are stopped: start the Simulator (or use it in a with block) first")
            attempt_id = next(self._ids)
            self._pending += 1
            self._notifications[notification.uuid] = notification
            lane_key = target.address
            lane = self._lanes.setdefault(lane_key, collections.deque())
            lane.append(_Work(attempt_id, notification, attempt, replay, target, sim_time))
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

    def _attempt(self, work: _Work) -> None:
        notification = work.notification
        target = work.target
        sim_now = work.sim_time
        real_now = _real_iso()
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "Accept": "application/json",
            "Accept-Encoding": "UTF-8",
            "User-Agent": USER_AGENT,
        }
        if target.verification_token:
            headers["Verification-Token"] = target.verification_token
        try:
            outcome, _ = _post_webhook(self._pool, target.address, notification.encode(), headers, self.timeout)
        except ValueError as exc:
            outcome = _Outcome(False, None, failure_reason_for_io(str(exc)), 0.0)
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
            simulated_time=iso(sim_now),
            real_time=real_now,
            replay=work.replay,
        )
        log.debug("delivery %s attempt %s to %s: %s", notification.uuid, work.attempt, target.address,
                  outcome.status if outcome.ok else outcome.error)
        with self._lock:
            bisect.insort(self._log, record, key=lambda a: a.id)
            if len(self._log) > self.log_limit + self.log_limit // 10:  # trim in batches: amortised O(1)
                dropped = self._log[: len(self._log) - self.log_limit]
                del self._log[: len(self._log) - self.log_limit]
                live = {a.uuid for a in self._log} | {r.notification.uuid for r in self._retries}
                for old in dropped:
                    if old.uuid not in live:
                        self._notifications.pop(old.uuid, None)
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("delivery listener %r failed", listener)
        if outcome.ok:
            self._mark_success(notification.subscription_id)
        else:
            self._mark_failure(notification.subscription_id, outcome.error or "", sim_now)
            self._schedule_retry(work, sim_now)

    # --- retries and blacklisting -------------------------------------------------------------------
    def _delay_after(self, attempt: int) -> float:
        return self.retry_schedule[min(attempt - 1, len(self.retry_schedule) - 1)]

    def _schedule_retry(self, work: _Work, failed_at: float) -> None:
        due = failed_at + self._delay_after(work.attempt)
        with self._lock:
            if self._closed:
                return
            heapq.heappush(self._retries, _Retry(due, work.attempt_id, work.notification, work.attempt + 1))
            new_time = due not in self._pump_times
            self._pump_times.add(due)
        if new_time:
            self.clock.call_at(due, lambda: self._pump(due), name="delivery retries")

    def _pump(self, when: float) -> None:
        """Send every retry due by now, in a fixed order (due time, then the failed attempt's id)."""
        now = self.clock.now()
        due: list[_Retry] = []
        with self._lock:
            self._pump_times.discard(when)
            while self._retries and self._retries[0].due <= now + 1e-9:
                due.append(heapq.heappop(self._retries))
        for retry in due:
            target = self.subscriptions.delivery_target(retry.notification.subscription_id)
            if target is not None:
                self._submit(retry.notification, retry.attempt, False, target)

    def _mark_success(self, subscription_id: str) -> None:
        with self._lock:
            self._failing_since.pop(subscription_id, None)
            self._last_reason.pop(subscription_id, None)
            job = self._blacklist_jobs.pop(subscription_id, None)
        if job is not None:
            job.cancel()

    def _mark_failure(self, subscription_id: str, reason: str, at: float) -> None:
        with self._lock:
            self._last_reason[subscription_id] = reason
            if subscription_id in self._failing_since:
                return
            self._failing_since[subscription_id] = at
            when = at + self.blacklist_after
        job = self.clock.call_at(when, lambda: self._blacklist_if_failing(subscription_id), name="blacklist check")
        with self._lock:
            self._blacklist_jobs[subscription_id] = job

    def _blacklist_if_failing(self, subscription_id: str) -> None:
        with self._lock:
            self._blacklist_jobs.pop(subscription_id, None)
            if subscription_id not in self._failing_since:
                return
            reason = self._last_reason.get(subscription_id, "")
            self._failing_since.pop(subscription_id, None)
            self._last_reason.pop(subscription_id, None)
            self._retries = [r for r in self._retries if r.notification.subscription_id != subscription_id]
            heapq.heapify(self._retries)
        log.info("subscription %s blacklisted: %s", subscription_id, reason)
        self.subscriptions.blacklist(subscription_id, reason, self.clock.now())

    def forget(self, subscription_id: str) -> None:
        """Drop the failure state and pending retries of a subscription (deleted, expired or renewed away)."""
        with self._lock:
            self._failing_since.pop(subscription_id, None)
            self._last_reason.pop(subscription_id, None)
            job = self._blacklist_jobs.pop(subscription_id, None)
            self._retries = [r for r in self._retries if r.notification.subscription_id != subscription_id]
            heapq.heapify(self._retries)
        if job is not None:
            job.cancel()

    def _schedule_reactivation(self) -> None:
        assert self.reactivation_interval is not None
        self._reactivation_job = self.clock.call_later(
            self.reactivation_interval, self._reactivate_valid, name="blacklist reactivation")

    def _reactivate_valid(self) -> None:
        """Probe every blacklisted address with a validation request; reactivate those that pass."""
        for target in self.subscriptions.blacklisted_targets():
            if self.probe(target.address):
                log.info("subscription %s reactivated: its address validates again", target.subscription_id)
                self.subscriptions.reactivate(target.subscription_id)
        if not self._closed:
            self._schedule_reactivation()

    def probe(self, address: str) -> bool:
        """True when ``address`` answers a validation request: HTTP 200 echoing ``Validation-Token``."""
        token = str(_uuid.uuid4())
        headers = {"Validation-Token": token, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        try:
            outcome, response_headers = _post_webhook(self._pool, address, b"", headers, self.timeout)
        except ValueError:
            return False
        echoed = next((v for k, v in response_headers if k.lower() == "validation-token"), None)
        return outcome.status == 200 and echoed == token

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
        with self._lock:
            records = list(self._log)
        if subscription_id is not None:
            records = [a for a in records if a.subscription_id == subscription_id]
        if uuid is not None:
            records = [a for a in records if a.uuid == uuid]
        return records

    def clear(self) -> None:
        """Forget the log, pending retries and failure state (the simulator's reset)."""
        with self._lock:
            self._log.clear()
            self._notifications.clear()
            self._retries.clear()
            self._failing_since.clear()
            self._last_reason.clear()
            jobs = list(self._blacklist_jobs.values())
            self._blacklist_jobs.clear()
        for job in jobs:
            job.cancel()
