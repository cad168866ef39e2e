"""Delivery realism: some notifications delivered twice, some overtaken by later ones, as the platform warns.

RingCentral says events may arrive more than once and out of order (telephony bodies carry
``sequence`` for that reason). :class:`DeliveryRealism` decides, per notification, when each copy of
it is sent: one copy at no delay by default; with ``duplicate_rate`` a share of notifications gets a
second copy (the same envelope, so the same ``uuid``); with ``reorder_window`` every copy is held back
a random delay in ``[0, reorder_window)`` seconds, so a notification can be overtaken by those sent
up to ``reorder_window`` seconds after it, never by later ones.

Off by default; deterministic under a seed: the same seed and the same sequence of :meth:`plan`
calls give the same decisions. Pure: it only returns delays, and the delivery engine schedules them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence, TypeVar

from rchelpers.simulator.errors import SimulatorError

T = TypeVar("T")

#: The largest reorder window accepted, in seconds.
MAX_REORDER_WINDOW = 3600.0


class RealismError(SimulatorError, ValueError):
    """A delivery-realism option out of range."""


def check_realism(duplicate_rate: object, reorder_window: object) -> None:
    """Raise :class:`RealismError` unless the rate is from 0 to 1 and the window from 0 to the maximum."""
    rate, window = duplicate_rate, reorder_window
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise RealismError(f"duplicate_rate must be a number from 0 to 1, got {rate!r}")
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0.0 <= window <= MAX_REORDER_WINDOW:
        raise RealismError(f"reorder_window must be a number of seconds from 0 to {MAX_REORDER_WINDOW:g}, "
                           f"got {window!r}")


@dataclass(frozen=True)
class DeliveryPlan:
    """When to send each copy of one notification: delays in seconds after it is due, earliest first."""

    delays: tuple[float, ...]

    @property
    def duplicated(self) -> bool:
        """True when the notification is sent more than once."""
        return len(self.delays) > 1


@dataclass
class DeliveryRealism:
    """Decides duplicates and reordering per notification; ``DeliveryRealism()`` changes nothing."""

    duplicate_rate: float = 0.0  #: share of notifications sent twice, 0 to 1
    reorder_window: float = 0.0  #: seconds within which a later notification may overtake an earlier one
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def __post_init__(self) -> None:
        check_realism(self.duplicate_rate, self.reorder_window)

    @classmethod
    def seeded(cls, seed: int, duplicate_rate: float = 0.0, reorder_window: float = 0.0) -> "DeliveryRealism":
        """A realism policy whose decisions follow ``seed``."""
        return cls(duplicate_rate, reorder_window, random.Random(seed))

    def reseed(self, seed: int | bytes) -> None:
        """Draw the decisions from ``seed`` from now on, as a policy made with ``random.Random(seed)`` would."""
        self.rng.seed(seed)

    @property
    def active(self) -> bool:
        """True when it may change anything (a rate or a window above 0)."""
        return self.duplicate_rate > 0 or self.reorder_window > 0

    def plan(self) -> DeliveryPlan:
        """The delays of the copies of the next notification (one copy at 0 when inactive).

        Inactive policies draw nothing, so turning realism off leaves the rest of a seeded run unchanged.
        """
        if not self.active:
            return DeliveryPlan((0.0,))
        copies = 2 if self.duplicate_rate > 0 and self.rng.random() < self.duplicate_rate else 1
        delays = sorted(self._delay() for _ in range(copies))
        return DeliveryPlan(tuple(delays))

    def _delay(self) -> float:
        return self.rng.random() * self.reorder_window if self.reorder_window > 0 else 0.0

    def arrange(self, timed: Sequence[tuple[float, T]]) -> list[tuple[float, T]]:
        """Apply :meth:`plan` to each ``(due time, item)`` in order: every copy at its sending time, sorted.

        Items due at the same time keep their order unless a delay moves them.
        """
        sent: list[tuple[float, int, T]] = []
        for position, (due, item) in enumerate(timed):
            sent.extend((due + delay, position, item) for delay in self.plan().delays)
        sent.sort(key=lambda entry: (entry[0], entry[1]))
        return [(at, item) for at, _, item in sent]
