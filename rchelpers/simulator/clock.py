"""Simulated time and a job scheduler on it: the heart of the simulator's determinism.

``SimClock.now()`` is an epoch time in seconds that flows at ``speed`` times real time (``speed=0``
freezes it). Jobs are scheduled on simulated time with :meth:`SimClock.call_at` and run either by
:meth:`SimClock.advance` (deterministically, in the caller's thread) or by a :class:`ClockTicker`
thread that calls :meth:`SimClock.run_due` while time flows.
"""
from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import logging
import math
import threading
import time
from typing import Callable

from rchelpers.simulator.errors import ClockError

log = logging.getLogger(__name__)

#: At most this many jobs run in one :meth:`SimClock.advance` or :meth:`SimClock.run_due` call.
MAX_JOBS_PER_CALL = 1_000_000


def iso(t: float) -> str:
    """Format epoch seconds as ISO 8601 UTC with milliseconds and ``Z``.

    >>> iso(1767225600.0)
    '2026-01-01T00:00:00.000Z'
    """
    millis = int(round(t * 1000))
    seconds, ms = divmod(millis, 1000)
    stamp = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ms:03d}Z"


class Job:
    """A function scheduled on simulated time; ``cancel()`` stops it from running."""

    __slots__ = ("when", "seq", "fn", "name", "cancelled")

    def __init__(self, when: float, seq: int, fn: Callable[[], object], name: str) -> None:
        self.when = when
        self.seq = seq
        self.fn = fn
        self.name = name
        self.cancelled = False

    def cancel(self) -> None:
        """Stop the job from running (harmless if it already ran)."""
        self.cancelled = True

    def __lt__(self, other: "Job") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Job {self.name or self.fn!r} at {iso(self.when)}{state}>"


class SimClock:
    """Simulated epoch time with a scheduler.

    ``start`` is the simulated epoch at creation (``None``: the real time now); ``speed`` is how many
    simulated seconds pass per real second (1.0 real time, 0 frozen, 60 one minute per second).
    """

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        _check_number("speed", speed)
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 freezes the clock), got {speed!r}")
        self._lock = threading.Lock()  # guards the time base and the job heap
        self._run_lock = threading.Lock()  # serialises advance() and run_due()
        self._runner: int | None = None  # thread id currently running jobs
        self._start = None if start is None else float(start)  # what reset() goes back to (None: real now)
        self._start_speed = float(speed)
        self._base = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()
        self._speed = float(speed)
        self._jobs: list[Job] = []
        self._seq = itertools.count()
        self._settle_hooks: list[Callable[[], object]] = []
        self._wakeup = threading.Event()

    # --- time -----------------------------------------------------------------------------------
    @property
    def speed(self) -> float:
        """Simulated seconds per real second (0 means frozen)."""
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on, without jumping the current simulated time."""
        _check_number("speed", speed)
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 freezes the clock), got {speed!r}")
        with self._lock:
            self._rebase(self._now_locked())
            self._speed = float(speed)
        self._wakeup.set()

    def now(self) -> float:
        """The simulated epoch time in seconds."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return self._base + (time.monotonic() - self._mono0) * self._speed

    def _rebase(self, t: float) -> None:
        self._base = t
        self._mono0 = time.monotonic()

    def _move_to(self, t: float) -> None:
        with self._lock:
            if t > self._now_locked():
                self._rebase(t)

    # --- scheduling -----------------------------------------------------------------------------
    def call_at(self, when: float, fn: Callable[[], object], name: str = "") -> Job:
        """Run ``fn()`` when simulated time reaches ``when`` (epoch seconds); returns the :class:`Job`."""
        _check_number("when", when)
        with self._lock:
            job = Job(float(when), next(self._seq), fn, name)
            heapq.heappush(self._jobs, job)
        self._wakeup.set()
        return job

    def call_later(self, delay: float, fn: Callable[[], object], name: str = "") -> Job:
        """Run ``fn()`` after ``delay`` simulated seconds; returns the :class:`Job`."""
        _check_number("delay", delay)
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        return self.call_at(self.now() + delay, fn, name)

    def pending(self) -> list[Job]:
        """The jobs not yet run nor cancelled, earliest first."""
        with self._lock:
            return sorted(job for job in self._jobs if not job.cancelled)

    def add_settle_hook(self, fn: Callable[[], object]) -> None:
        """Call ``fn()`` after every job run by the clock (e.g. to wait for work the job started)."""
        self._settle_hooks.append(fn)

    def settle_hooks(self) -> list[Callable[[], object]]:
        """The hooks added with :meth:`add_settle_hook`, in order."""
        return list(self._settle_hooks)

    def remove_settle_hook(self, fn: Callable[[], object]) -> None:
        """Forget a hook added with :meth:`add_settle_hook` (harmless if absent)."""
        if fn in self._settle_hooks:
            self._settle_hooks.remove(fn)

    def clear(self) -> None:
        """Cancel every pending job."""
        with self._lock:
            self._cancel_jobs_locked()

    def _cancel_jobs_locked(self) -> None:
        for job in self._jobs:
            job.cancel()
        self._jobs.clear()

    def reset(self) -> None:
        """Back to the state of a new clock made with the same arguments: time at ``start`` (the real time
        now when it was None), the first speed, no job, and jobs numbered from 0 again (so jobs due at the
        same time run in the same order as on a new clock). Settle hooks are kept. The owners of
        recurring jobs re-arm them (the simulator's reset does it)."""
        with self._lock:
            self._cancel_jobs_locked()
            self._seq = itertools.count()
            self._rebase(time.time() if self._start is None else self._start)
            self._speed = self._start_speed
        self._wakeup.set()

    # --- running jobs ---------------------------------------------------------------------------
    def advance(self, seconds: float) -> int:
        """Move simulated time forward by ``seconds``, running every job due on the way, in order.

        Each job runs with the clock set exactly to its time, followed by the settle hooks; jobs that
        it schedules at or before the target run too. Returns the number of jobs run.
        """
        _check_number("seconds", seconds)
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0: the clock only moves forward (got {seconds!r})")
        with self._running():
            target = self.now() + float(seconds)
            ran = self._run_until(lambda: target, move=True)
            self._move_to(target)
            return ran

    def run_due(self) -> int:
        """Run the jobs due at the current simulated time (the ticker calls this); returns how many ran."""
        with self._running():
            return self._run_until(self.now, move=False)

    def seconds_until_next_job(self) -> float | None:
        """Real seconds until the next job is due (0 if one is due now), ``inf`` while frozen, ``None`` if no job."""
        with self._lock:
            while self._jobs and self._jobs[0].cancelled:
                heapq.heappop(self._jobs)
            if not self._jobs:
                return None
            wait = self._jobs[0].when - self._now_locked()
            if wait <= 0:
                return 0.0
            return math.inf if self._speed == 0 else wait / self._speed

    def _running(self) -> "_RunGuard":
        return _RunGuard(self)

    def _next_due(self, limit: float) -> Job | None:
        with self._lock:
            while self._jobs:
                job = self._jobs[0]
                if job.cancelled:
                    heapq.heappop(self._jobs)
                    continue
                if job.when > limit:
                    return None
                return heapq.heappop(self._jobs)
            return None

    def _run_until(self, limit: Callable[[], float], move: bool) -> int:
        ran = 0
        while True:
            job = self._next_due(limit())
            if job is None:
                return ran
            ran += 1
            if ran > MAX_JOBS_PER_CALL:
                raise ClockError(
                    f"more than {MAX_JOBS_PER_CALL} jobs ran in one call (last: {job!r}); "
                    "a job is probably rescheduling itself at the same time: make it move forward"
                )
            if move:
                self._move_to(job.when)
            try:
                job.fn()
            except Exception:  # a failing job must not stop time
                log.exception("clock job %r failed", job)
            for hook in list(self._settle_hooks):
                try:
                    hook()
                except Exception:
                    log.exception("clock settle hook %r failed", hook)


class _RunGuard:
    """Serialises job runs and refuses a re-entrant advance from inside a job."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._clock._runner == me:
            raise ClockError("advance()/run_due() called from inside a clock job; schedule a job instead")
        self._clock._run_lock.acquire()
        self._clock._runner = me

    def __exit__(self, *exc: object) -> None:
        self._clock._runner = None
        self._clock._run_lock.release()


class ClockTicker:
    """A thread that runs a :class:`SimClock`'s due jobs while simulated time flows; ``stop()`` is prompt."""

    def __init__(self, clock: SimClock, max_sleep: float = 0.2, name: str = "rc-sim-clock") -> None:
        self.clock = clock
        self.max_sleep = max_sleep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> "ClockTicker":
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait (bounded) for it to end."""
        self._stop.set()
        self.clock._wakeup.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.clock._wakeup.clear()
            try:
                self.clock.run_due()
            except Exception:
                log.exception("clock ticker failed to run due jobs")
            wait = self.clock.seconds_until_next_job()
            sleep = self.max_sleep if wait is None else min(wait, self.max_sleep)
            if sleep > 0:
                self.clock._wakeup.wait(sleep)

    def __enter__(self) -> "ClockTicker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
