"""The delivery log: every attempt to POST a notification, and the notifications it can replay."""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rchelpers.simulator.errors import DeliveryError
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.options import DELIVERY_LOG_LIMIT


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


class AttemptLog:
    """The last ``limit`` attempts in attempt-id order, and the latest envelope sent under each uuid.

    Thread-safe. Trims in batches (amortised O(1)); a notification stays findable while an attempt of it
    is logged or ``still_needed()`` names its uuid (a pending retry).
    """

    def __init__(self, limit: int = DELIVERY_LOG_LIMIT) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._attempts: list[DeliveryAttempt] = []
        self._notifications: dict[str, Notification] = {}  # uuid -> the latest envelope sent with it

    def remember(self, notification: Notification) -> None:
        """Keep ``notification`` findable by its uuid (called when an attempt is queued)."""
        with self._lock:
            self._notifications[notification.uuid] = notification

    def add(self, attempt: DeliveryAttempt, still_needed: Callable[[], Iterable[str]]) -> None:
        """Log ``attempt`` in id order; trim the oldest beyond the limit."""
        with self._lock:
            bisect.insort(self._attempts, attempt, key=lambda a: a.id)
            if len(self._attempts) > self.limit + self.limit // 10:
                dropped = self._attempts[: len(self._attempts) - self.limit]
                del self._attempts[: len(self._attempts) - self.limit]
                live = {a.uuid for a in self._attempts} | set(still_needed())
                for old in dropped:
                    if old.uuid not in live:
                        self._notifications.pop(old.uuid, None)

    def find(self, key: str | int) -> Notification:
        """The notification logged under attempt id ``key`` (int or digits) or with uuid ``key``."""
        with self._lock:
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and key not in self._notifications):
                wanted = int(key)
                for attempt in self._attempts:
                    if attempt.id == wanted:
                        return self._notifications[attempt.uuid]
                raise DeliveryError(f"no delivery attempt with id {wanted} in the log (ids start at 1; "
                                    f"the log keeps the last {self.limit})")
            if isinstance(key, str) and key in self._notifications:
                return self._notifications[key]
        raise DeliveryError(f"no delivered notification with uuid or attempt id {key!r}; "
                            "list them with sim.deliveries or GET /_sim/deliveries")

    def attempts(self, subscription_id: str | None = None, uuid: str | None = None) -> list[DeliveryAttempt]:
        """The logged attempts, oldest first, optionally only one subscription's or one notification's."""
        with self._lock:
            records = list(self._attempts)
        if subscription_id is not None:
            records = [a for a in records if a.subscription_id == subscription_id]
        if uuid is not None:
            records = [a for a in records if a.uuid == uuid]
        return records

    def clear(self) -> None:
        """Forget every attempt and notification."""
        with self._lock:
            self._attempts.clear()
            self._notifications.clear()
