"""Per (user, app, group) rate limits with a sliding window and a penalty interval, on simulated time.

Groups and defaults follow RingCentral's documentation: Light 50, Medium 40, Heavy 10, Auth 5 requests
per 60 s, with a 60 s penalty that restarts with each request made during it.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping

from rchelpers.simulator.options import DEFAULT_LIMITS


@dataclass
class Decision:
    """The outcome of one request against its group's limit."""

    allowed: bool
    headers: dict[str, str]  #: the ``X-Rate-Limit-*`` headers to send
    retry_after: int = 0  #: seconds to wait (only when not allowed)


class _Bucket:
    __slots__ = ("hits", "penalty_until")

    def __init__(self) -> None:
        self.hits: deque[float] = deque()
        self.penalty_until = 0.0


class RateLimiter:
    """Counts requests per key and group on ``now()`` (simulated seconds); thread-safe."""

    def __init__(self, limits: Mapping[str, tuple[int, float, float]] | None, now: Callable[[], float]) -> None:
        self.enabled = limits is not None
        self.limits = dict(DEFAULT_LIMITS)
        for group, value in (limits or {}).items():
            self.limits[group] = _check_limit(group, value)
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[tuple[Hashable, str], _Bucket] = {}

    def hit(self, key: Hashable, group: str) -> Decision:
        """Count one request of ``key`` (e.g. (user, app)) in ``group`` and say whether it may proceed."""
        if not self.enabled:
            return Decision(True, {})
        limit, window, penalty = self.limits[group]
        now = self._now()
        with self._lock:
            bucket = self._buckets.setdefault((key, group), _Bucket())
            while bucket.hits and bucket.hits[0] <= now - window:
                bucket.hits.popleft()
            headers = {"X-Rate-Limit-Group": group.lower(), "X-Rate-Limit-Limit": str(limit),
                       "X-Rate-Limit-Window": str(int(window))}
            if now < bucket.penalty_until or len(bucket.hits) >= limit:
                bucket.penalty_until = now + penalty  # the penalty restarts with each request made during it
                headers["X-Rate-Limit-Remaining"] = "0"
                return Decision(False, headers, max(1, math.ceil(penalty)))
            bucket.hits.append(now)
            headers["X-Rate-Limit-Remaining"] = str(limit - len(bucket.hits))
            return Decision(True, headers)

    def reset(self) -> None:
        """Forget every counter and penalty."""
        with self._lock:
            self._buckets.clear()


def _check_limit(group: str, value: object) -> tuple[int, float, float]:
    if group not in DEFAULT_LIMITS:
        raise ValueError(f"unknown rate-limit group {group!r}; use one of {', '.join(DEFAULT_LIMITS)}")
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(f"rate_limits[{group!r}] must be (limit, window_seconds, penalty_seconds), got {value!r}")
    limit, window, penalty = value
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"rate_limits[{group!r}] limit must be an integer >= 1, got {limit!r}")
    for name, number in (("window", window), ("penalty", penalty)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0:
            raise ValueError(f"rate_limits[{group!r}] {name} must be a number of seconds > 0, got {number!r}")
    return int(limit), float(window), float(penalty)
