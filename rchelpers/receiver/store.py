"""What a receiver keeps in memory, shared between its loop thread and the caller's threads.

:class:`EventStore` holds the accepted events (the last ``max_events``), the last refused requests and
the counters under one lock, and lets a caller wait until enough matching events are there.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from rchelpers.errors import WaitTimeout
from rchelpers.receiver.event import WebhookEvent

__all__ = ["EventStore", "RejectedRequest", "ReceiverStats", "REJECTED_KEPT"]

#: Refused requests kept in memory.
REJECTED_KEPT = 1000
_COUNTERS = ("received", "rejected", "duplicates", "validation_requests", "journal_errors")


@dataclass(frozen=True)
class RejectedRequest:
    """A request the receiver refused: the status it got and why (secrets masked, query left out)."""

    status: int
    reason: str
    method: str
    path: str
    remote: str
    headers: dict[str, str]
    received_at: datetime


@dataclass(frozen=True)
class ReceiverStats:
    """Counters and reply latencies (from a request's first byte to its reply, in milliseconds)."""

    received: int
    rejected: int
    duplicates: int
    validation_requests: int
    journal_errors: int
    connections: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float


class EventStore:
    """Accepted events, refused requests and counters, under one lock; thread-safe."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._lock = threading.Condition()
        self._events: collections.deque[WebhookEvent] = collections.deque(maxlen=max_events)
        self._generation = 0  # bumped when the events change, so wait_for knows when to look again
        self._rejected: collections.deque[RejectedRequest] = collections.deque(maxlen=REJECTED_KEPT)
        self._counts = dict.fromkeys(_COUNTERS, 0)

    def __len__(self) -> int:
        return len(self._events)

    def add(self, events: list[WebhookEvent]) -> None:
        """Keep newly accepted ``events`` (counted as received) and wake the waiting callers."""
        with self._lock:
            self._events.extend(events)
            self._counts["received"] += len(events)
            self._generation += 1
            self._lock.notify_all()

    def reject(self, rejected: RejectedRequest) -> None:
        """Keep a refused request (counted as rejected)."""
        with self._lock:
            self._rejected.append(rejected)
            self._counts["rejected"] += 1

    def count(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to ``counter`` (``duplicates``, ``validation_requests`` or ``journal_errors``)."""
        with self._lock:
            self._counts[counter] += n

    def events(self) -> list[WebhookEvent]:
        """A snapshot of the events, oldest first."""
        with self._lock:
            return list(self._events)

    def rejected(self) -> list[RejectedRequest]:
        """A snapshot of the refused requests, oldest first."""
        with self._lock:
            return list(self._rejected)

    def counts(self) -> dict[str, int]:
        """A snapshot of the counters."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        """Forget the events and refused requests (the counters stay)."""
        with self._lock:
            self._events.clear()
            self._rejected.clear()
            self._generation += 1

    def wait_for(self, count: int, predicate: Callable[[WebhookEvent], bool] | None, timeout: float,
                 explain: Callable[[int, int], str]) -> list[WebhookEvent]:
        """Block until ``count`` events match ``predicate``; return them all.

        :raises WaitTimeout: after ``timeout`` seconds, with ``explain(events, matching)`` as message.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self._events)
                generation = self._generation
            matches = snapshot if predicate is None else [e for e in snapshot if predicate(e)]
            if len(matches) >= count:
                return matches
            with self._lock:
                while self._generation == generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WaitTimeout(explain(len(snapshot), len(matches)))
                    self._lock.wait(remaining)
