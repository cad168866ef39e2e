"""SimClock: simulated time, deterministic advance, the scheduler and the ticker thread."""
from __future__ import annotations

import threading
import time

import pytest

from rchelpers.simulator.clock import ClockTicker, SimClock, iso
from rchelpers.simulator.errors import ClockError

EPOCH = 1767225600.0  # 2026-01-01T00:00:00Z


def test_iso_has_milliseconds_and_z():
    assert iso(EPOCH) == "2026-01-01T00:00:00.000Z"
    assert iso(EPOCH + 1.2346) == "2026-01-01T00:00:01.235Z"
    assert iso(EPOCH + 0.9996) == "2026-01-01T00:00:01.000Z"


def test_frozen_clock_moves_only_by_advance():
    clock = SimClock(start=EPOCH, speed=0)
    assert clock.now() == EPOCH
    clock.advance(90.5)
    assert clock.now() == EPOCH + 90.5
    clock.advance(0)
    assert clock.now() == EPOCH + 90.5


def test_real_time_clock_starts_now_and_flows():
    before = time.time()
    clock = SimClock()
    assert before - 1 <= clock.now() <= time.time() + 1
    first = clock.now()
    assert clock.now() >= first


def test_accelerated_clock_runs_faster_than_real_time():
    clock = SimClock(start=EPOCH, speed=1000)
    real0 = time.monotonic()
    deadline = real0 + 2
    while clock.now() < EPOCH + 20 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert clock.now() >= EPOCH + 20  # 20 simulated seconds in well under 2 real seconds


def test_set_speed_does_not_jump():
    clock = SimClock(start=EPOCH, speed=0)
    clock.advance(10)
    clock.set_speed(0)
    assert clock.now() == EPOCH + 10


def test_advance_runs_jobs_in_time_order_with_the_clock_at_each_job_time():
    clock = SimClock(start=EPOCH, speed=0)
    seen = []
    clock.call_later(30, lambda: seen.append(("b", clock.now())))
    clock.call_later(10, lambda: seen.append(("a", clock.now())))
    clock.call_later(30, lambda: seen.append(("c", clock.now())))  # tie: insertion order
    clock.call_later(100, lambda: seen.append(("late", clock.now())))
    assert clock.advance(60) == 3
    assert seen == [("a", EPOCH + 10), ("b", EPOCH + 30), ("c", EPOCH + 30)]
    assert clock.now() == EPOCH + 60
    clock.advance(40)
    assert seen[-1] == ("late", EPOCH + 100)


def test_jobs_scheduled_during_advance_run_if_due_before_target():
    clock = SimClock(start=EPOCH, speed=0)
    seen = []

    def first():
        seen.append("first")
        clock.call_later(5, lambda: seen.append(("second", clock.now())))
        clock.call_later(500, lambda: seen.append("too late"))

    clock.call_later(1, first)
    clock.advance(10)
    assert seen == ["first", ("second", EPOCH + 6)]
    assert [job.when for job in clock.pending()] == [EPOCH + 501]


def test_cancelled_job_does_not_run():
    clock = SimClock(start=EPOCH, speed=0)
    seen = []
    job = clock.call_later(1, lambda: seen.append(1), name="x")
    job.cancel()
    assert clock.advance(5) == 0
    assert seen == []
    assert "cancelled" in repr(job)


def test_settle_hooks_run_after_every_job():
    clock = SimClock(start=EPOCH, speed=0)
    order = []
    clock.add_settle_hook(lambda: order.append("settle"))
    clock.call_later(1, lambda: order.append("job1"))
    clock.call_later(2, lambda: order.append("job2"))
    clock.advance(3)
    assert order == ["job1", "settle", "job2", "settle"]


def test_failing_job_is_logged_and_time_still_moves(caplog):
    clock = SimClock(start=EPOCH, speed=0)
    seen = []
    clock.call_later(1, lambda: 1 / 0, name="boom")
    clock.call_later(2, lambda: seen.append(2))
    clock.advance(3)
    assert seen == [2]
    assert "boom" in caplog.text


@pytest.mark.parametrize("bad", [-1, "10", None, float("nan"), float("inf"), True])
def test_advance_rejects_bad_seconds(bad):
    clock = SimClock(start=EPOCH, speed=0)
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(bad)
    assert clock.now() == EPOCH


def test_bad_speed_and_delay_are_refused():
    with pytest.raises(ValueError, match="speed"):
        SimClock(speed=-1)
    clock = SimClock(start=EPOCH, speed=0)
    with pytest.raises(ValueError, match="delay"):
        clock.call_later(-5, lambda: None)


def test_runaway_job_loop_is_bounded(monkeypatch):
    import rchelpers.simulator.clock as clock_module

    monkeypatch.setattr(clock_module, "MAX_JOBS_PER_CALL", 50)
    clock = SimClock(start=EPOCH, speed=0)

    def again():
        clock.call_later(0, again)

    clock.call_later(0, again)
    with pytest.raises(ClockError, match="more than 50 jobs"):
        clock.advance(1)


def test_advance_inside_a_job_is_refused(caplog):
    clock = SimClock(start=EPOCH, speed=0)
    errors = []

    def nested():
        try:
            clock.advance(1)
        except ClockError as exc:
            errors.append(str(exc))

    clock.call_later(1, nested)
    clock.advance(2)
    assert errors and "inside a clock job" in errors[0]


def test_seconds_until_next_job():
    clock = SimClock(start=EPOCH, speed=0)
    assert clock.seconds_until_next_job() is None
    clock.call_later(10, lambda: None)
    assert clock.seconds_until_next_job() == float("inf")
    clock.set_speed(2)
    assert 4.9 < clock.seconds_until_next_job() <= 5.0
    clock.clear()
    assert clock.seconds_until_next_job() is None


def test_run_due_runs_only_due_jobs():
    clock = SimClock(start=EPOCH, speed=0)
    seen = []
    clock.call_at(EPOCH, lambda: seen.append("now"))
    clock.call_at(EPOCH + 1, lambda: seen.append("later"))
    assert clock.run_due() == 1
    assert seen == ["now"]


def test_ticker_runs_jobs_as_time_flows_and_stops_cleanly():
    before = set(threading.enumerate())
    clock = SimClock(start=EPOCH, speed=100)
    ran = threading.Event()
    clock.call_later(5, ran.set)  # 5 simulated seconds = 0.05 s real
    with ClockTicker(clock):
        assert ran.wait(3)
    assert set(threading.enumerate()) <= before
