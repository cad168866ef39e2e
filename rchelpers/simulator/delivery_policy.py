"""The platform's delivery rules: how an answer is judged, when a failed notification is retried, and when
failing deliveries blacklist a subscription.

A delivery fails when the webhook's answer is not 2xx, comes later than ``delivery_timeout``, or does not
come (refused, reset, TLS); the failure is worded as the platform words it in ``blacklistedData.reason``.
A failed notification is retried after the delays of ``retry_schedule`` (the last one repeats). Once a
subscription's deliveries have failed for ``blacklist_after`` simulated seconds without a success in
between, it is blacklisted.
"""
from __future__ import annotations

import heapq
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from rchelpers.simulator.clock import Job, SimClock
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.webhook_client import WebhookReply, WebhookSendError, describe_tls_error


def failure_reason_for_status(status: int, reason: str) -> str:
    """The platform's wording for a non-2xx answer, e.g. ``Webhook responses with code: [404], reason: [Not Found]``."""
    return f"Webhook responses with code: [{status}], reason: [{reason}]"


def failure_reason_for_io(details: str) -> str:
    """The platform's wording for an I/O failure, e.g. ``I/O operation is failed. Details: [Read timed out]``."""
    return f"I/O operation is failed. Details: [{details}]"


@dataclass
class Outcome:
    """The verdict on one delivery attempt."""

    ok: bool
    status: int | None
    error: str | None  #: the platform's wording of the failure (None when ``ok``)
    latency_ms: float


def judge_reply(reply: WebhookReply, timeout: float) -> Outcome:
    """The outcome of a complete answer: 2xx within ``timeout`` seconds is a success."""
    status = reply.status
    if reply.latency_ms > timeout * 1000.0:
        return Outcome(False, status, failure_reason_for_io("Read timed out"), reply.latency_ms)
    if 200 <= status < 300:
        return Outcome(True, status, None, reply.latency_ms)
    reason = reply.reason or _standard_reason(status)
    return Outcome(False, status, failure_reason_for_status(status, reason), reply.latency_ms)


def judge_send_error(error: WebhookSendError) -> Outcome:
    """The outcome of a POST that got no complete answer."""
    return Outcome(False, None, failure_reason_for_io(_io_details(error.cause, error.phase)), error.latency_ms)


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


# --- retries ------------------------------------------------------------------------------------------
@dataclass(order=True)
class Retry:
    """A notification's next attempt, due at a simulated time (ties: the failed attempt's id)."""

    due: float
    order: int
    notification: Notification = field(compare=False)
    attempt: int = field(compare=False)


class RetryQueue:
    """Pending retries in due order, and which due times already have a clock job that sends them."""

    def __init__(self, schedule: Sequence[float]) -> None:
        self.schedule = tuple(float(d) for d in schedule)
        self._lock = threading.Lock()
        self._retries: list[Retry] = []
        self._job_times: set[float] = set()

    def delay_after(self, attempt: int) -> float:
        """Simulated seconds between failed attempt number ``attempt`` and the next one."""
        return self.schedule[min(attempt - 1, len(self.schedule) - 1)]

    def add(self, failed_at: float, attempt_id: int, notification: Notification, attempt: int) -> float | None:
        """Queue the next attempt after failed attempt ``attempt``; returns its due time if no clock job
        sends at that time yet (the caller schedules one), else None."""
        due = failed_at + self.delay_after(attempt)
        with self._lock:
            heapq.heappush(self._retries, Retry(due, attempt_id, notification, attempt + 1))
            if due in self._job_times:
                return None
            self._job_times.add(due)
        return due

    def take_due(self, job_time: float, now: float) -> list[Retry]:
        """Every retry due by ``now``, in order; ``job_time`` is the due time of the clock job asking."""
        due: list[Retry] = []
        with self._lock:
            self._job_times.discard(job_time)
            while self._retries and self._retries[0].due <= now + 1e-9:
                due.append(heapq.heappop(self._retries))
        return due

    def drop(self, subscription_id: str) -> None:
        """Forget the pending retries of a subscription."""
        with self._lock:
            self._retries = [r for r in self._retries if r.notification.subscription_id != subscription_id]
            heapq.heapify(self._retries)

    def uuids(self) -> set[str]:
        """The uuids of the notifications with a pending retry."""
        with self._lock:
            return {r.notification.uuid for r in self._retries}

    def clear(self) -> None:
        """Forget every pending retry and the due times that had a clock job."""
        with self._lock:
            self._retries.clear()
            self._job_times.clear()


# --- blacklisting -------------------------------------------------------------------------------------
class FailureTracker:
    """Tracks since when each subscription's deliveries fail; ``blacklist_after`` simulated seconds later a
    clock job calls ``on_blacklist(subscription_id, last_reason)`` unless a delivery succeeded meanwhile."""

    def __init__(self, clock: SimClock, blacklist_after: float,
                 on_blacklist: Callable[[str, str], None]) -> None:
        self.clock = clock
        self.blacklist_after = float(blacklist_after)
        self.on_blacklist = on_blacklist
        self._lock = threading.Lock()
        self._failing_since: dict[str, float] = {}
        self._last_reason: dict[str, str] = {}
        self._jobs: dict[str, Job] = {}

    def succeeded(self, subscription_id: str) -> None:
        """A delivery succeeded: the subscription is no longer failing."""
        self.forget(subscription_id)

    def failed(self, subscription_id: str, reason: str, at: float) -> None:
        """A delivery failed at simulated time ``at``; the first failure of a run starts the countdown."""
        with self._lock:
            self._last_reason[subscription_id] = reason
            if subscription_id in self._failing_since:
                return
            self._failing_since[subscription_id] = at
            when = at + self.blacklist_after
        job = self.clock.call_at(when, lambda: self._check(subscription_id), name="blacklist check")
        with self._lock:
            self._jobs[subscription_id] = job

    def _check(self, subscription_id: str) -> None:
        with self._lock:
            self._jobs.pop(subscription_id, None)
            if subscription_id not in self._failing_since:
                return
            reason = self._last_reason.get(subscription_id, "")
            self._failing_since.pop(subscription_id, None)
            self._last_reason.pop(subscription_id, None)
        self.on_blacklist(subscription_id, reason)

    def forget(self, subscription_id: str) -> None:
        """Drop a subscription's failure state and its pending blacklist check."""
        with self._lock:
            self._failing_since.pop(subscription_id, None)
            self._last_reason.pop(subscription_id, None)
            job = self._jobs.pop(subscription_id, None)
        if job is not None:
            job.cancel()

    def clear(self) -> None:
        """Forget every failure state and cancel every pending check."""
        with self._lock:
            self._failing_since.clear()
            self._last_reason.clear()
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            job.cancel()


