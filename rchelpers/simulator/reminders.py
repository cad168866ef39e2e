"""Renewal reminders: the platform's reminder job, on the simulator clock.

A subscription whose event filters include ``/restapi/v1.0/subscription/~?threshold=T&interval=I`` gets a
reminder notification once its remaining lifetime is at most ``T`` seconds, and again every ``I``
seconds until it expires or is renewed. The job runs every ``reminder_job_interval`` simulated seconds
(5 by default, guessed), so times are approximate to that granularity, as the platform's docs say. The reminder's
``event`` is the filter string as subscribed (it keeps ``~``) and its body is ``{"expiresIn": remaining}``.

Renewal (PUT, or POST .../renew) restarts the reminders: :meth:`ReminderJob.restart` forgets when the last
reminder went out. Expiry itself (the purge) belongs to the subscription state; the job sends nothing to
a subscription whose lifetime is over.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from rchelpers.simulator.clock import Job, SimClock
from rchelpers.simulator.errors import OptionError
from rchelpers.simulator.event_filter_catalog import ParsedFilter
from rchelpers.simulator.options import DEFAULTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderSubject:
    """What the job needs to know about one Active subscription: its id, its reminder filters (parsed
    once, when subscribed) and its expiration (epoch s)."""

    subscription_id: str
    reminders: tuple[ParsedFilter, ...]
    expiration: float


class ReminderSource(Protocol):
    """Where the job reads the subscriptions it may remind (the simulator's subscriptions backend)."""

    def reminder_subjects(self) -> Iterable[ReminderSubject]:
        """Every Active WebHook subscription, in a stable order (e.g. creation order)."""


#: ``send(subscription_id, event_filter, expires_in)`` sends one reminder notification.
SendReminder = Callable[[str, str, int], None]


def remaining_seconds(expiration: float, now: float) -> int:
    """Whole seconds left before ``expiration`` (rounded down, never negative), as ``expiresIn`` reports them."""
    return max(0, math.floor(expiration - now + 1e-6))


class ReminderJob:
    """Runs every ``job_interval`` simulated seconds and sends the reminders that are due.

    ``source`` lists the subscriptions, ``send`` delivers one reminder. :meth:`start` schedules the
    job on ``clock``; :meth:`stop` cancels it; :meth:`restart` is called on renewal.
    """

    def __init__(
        self,
        clock: SimClock,
        source: ReminderSource,
        send: SendReminder,
        job_interval: float = DEFAULTS.reminder_job_interval,
    ) -> None:
        if job_interval <= 0:
            raise OptionError(f"reminder_job_interval must be > 0 seconds, got {job_interval!r}")
        self.clock = clock
        self.source = source
        self.send = send
        self.job_interval = float(job_interval)
        self._last_sent: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._stopped = False

    def start(self) -> "ReminderJob":
        """Schedule the first run ``job_interval`` seconds from now; returns self."""
        self._stopped = False
        self._schedule(self.clock.now() + self.job_interval)
        return self

    def stop(self) -> None:
        """Cancel the job."""
        self._stopped = True
        if self._job is not None:
            self._job.cancel()

    def __enter__(self) -> "ReminderJob":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def restart(self, subscription_id: str) -> None:
        """Forget the reminders already sent to a subscription (renewed, updated, deleted or expired)."""
        with self._lock:
            for key in [k for k in self._last_sent if k[0] == subscription_id]:
                del self._last_sent[key]

    def clear(self) -> None:
        """Forget every reminder sent."""
        with self._lock:
            self._last_sent.clear()

    def reset(self) -> None:
        """Forget every reminder sent and, while started, re-arm the job ``job_interval`` seconds from now, as
        :meth:`start` does (the simulator's reset, after its clock's)."""
        self.clear()
        if self._job is not None and not self._stopped:
            self._job.cancel()
            self._schedule(self.clock.now() + self.job_interval)

    def _schedule(self, when: float) -> None:
        self._job = self.clock.call_at(when, lambda: self._run(when), name="renewal reminders")

    def _run(self, when: float) -> None:
        if self._stopped:
            return
        try:
            self.run_once(self.clock.now())
        finally:
            if not self._stopped:
                self._schedule(when + self.job_interval)

    def run_once(self, now: float) -> list[tuple[str, str, int]]:
        """Send every reminder due at ``now``; returns ``(subscription_id, filter, expires_in)`` for each."""
        sent: list[tuple[str, str, int]] = []
        live: set[str] = set()
        for subject in self.source.reminder_subjects():
            live.add(subject.subscription_id)
            remaining = remaining_seconds(subject.expiration, now)
            if remaining <= 0:
                continue
            for reminder in subject.reminders:
                threshold, interval = reminder.threshold, reminder.interval
                if threshold is None or interval is None or remaining > threshold:
                    continue
                text = reminder.raw
                key = (subject.subscription_id, text)
                with self._lock:
                    last = self._last_sent.get(key)
                    if last is not None and now - last < interval - 1e-6:
                        continue
                    self._last_sent[key] = now
                sent.append((subject.subscription_id, text, remaining))
        with self._lock:
            for key in [k for k in self._last_sent if k[0] not in live]:
                del self._last_sent[key]
        for subscription_id, text, remaining in sent:
            log.debug("renewal reminder to %s: expiresIn %s", subscription_id, remaining)
            self.send(subscription_id, text, remaining)
        return sent
