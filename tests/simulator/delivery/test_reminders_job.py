"""The reminder job on the simulated clock: when reminders start, how often, and restarting on renewal."""
from __future__ import annotations

import pytest

from rchelpers.simulator.errors import PlatformError
from rchelpers.simulator.event_filter_catalog import ParsedFilter
from rchelpers.simulator.filters import Owner, parse_filters
from rchelpers.simulator.reminders import ReminderJob, remaining_seconds

T0 = 1767225600.0  # 2026-01-01T00:00:00Z, the frozen clock's start

REMINDER = "/restapi/v1.0/subscription/~?threshold=120&interval=30"


def _job(clock, registry, sent, interval=5.0):
    def send(subscription_id, event_filter, expires_in):
        sent.append((round(clock.now() - T0), subscription_id, event_filter, expires_in))
    return ReminderJob(clock, registry, send, job_interval=interval)


def test_reminders_for_600_120_30(clock, registry):
    registry.add("sub-1", "http://unused", event_filters=("/restapi/v1.0/account/~/extension/~/presence", REMINDER),
                 expiration=T0 + 600)
    sent: list = []
    with _job(clock, registry, sent):
        clock.advance(700)
    assert sent == [(480, "sub-1", REMINDER, 120), (510, "sub-1", REMINDER, 90),
                    (540, "sub-1", REMINDER, 60), (570, "sub-1", REMINDER, 30)]


def test_job_granularity_applies(clock, registry):
    odd = "/restapi/v1.0/subscription/~?threshold=50&interval=12"
    registry.add("sub-1", "http://unused", event_filters=(odd,), expiration=T0 + 103)
    sent: list = []
    with _job(clock, registry, sent):
        clock.advance(200)
    # remaining <= 50 first at t=55 (48 s left); then every >= 12 s on a 5 s job: 70, 85, 100
    assert [(t, left) for t, _, _, left in sent] == [(55, 48), (70, 33), (85, 18), (100, 3)]


def test_renewal_restarts_reminders(clock, registry):
    sub = registry.add("sub-1", "http://unused", event_filters=(REMINDER,), expiration=T0 + 600)
    sent: list = []
    job = _job(clock, registry, sent)
    with job:
        clock.advance(520)  # reminders at 480 and 510
        sub.expiration = clock.now() + 600  # renewed at 520: expires at 1120
        job.restart("sub-1")
        clock.advance(700)
    assert [(t, left) for t, _, _, left in sent] == [
        (480, 120), (510, 90), (1000, 120), (1030, 90), (1060, 60), (1090, 30)]


def test_expired_and_other_subscriptions_get_nothing(clock, registry):
    registry.add("plain", "http://unused", event_filters=("/restapi/v1.0/account/~/extension/~/presence",),
                 expiration=T0 + 100)
    registry.add("short", "http://unused", event_filters=("/restapi/v1.0/subscription/~?threshold=20&interval=10",),
                 expiration=T0 + 30)
    sent: list = []
    with _job(clock, registry, sent):
        clock.advance(300)
    assert [(t, sub, left) for t, sub, _, left in sent] == [(10, "short", 20), (20, "short", 10)]


def test_stop_cancels_the_job(clock, registry):
    registry.add("sub-1", "http://unused", event_filters=(REMINDER,), expiration=T0 + 600)
    sent: list = []
    job = _job(clock, registry, sent).start()
    job.stop()
    clock.advance(700)
    assert sent == []
    assert clock.pending() == []


@pytest.mark.parametrize("text, expected", [
    (REMINDER, (120, 30)),
    ("/restapi/v1.0/subscription/~?interval=15&threshold=60", (60, 15)),
    ("/restapi/v1.0/subscription/~?threshold=60", None),
    ("/restapi/v1.0/subscription/~?threshold=x&interval=5", None),
    ("/restapi/v1.0/account/~/extension/~/presence", None),
])
def test_parse_reminder_filter(text, expected):
    parsed = _parse_reminder(text)
    assert (None if parsed is None else (parsed.threshold, parsed.interval)) == expected


OWNER = Owner("37439510", "2253168021")


def _parse_reminder(text: str) -> ParsedFilter | None:
    """The reminder filter ``text`` parsed, or None for any other filter or a malformed one."""
    try:
        parsed = parse_filters([text], OWNER)[0]
    except PlatformError:
        return None
    return parsed if parsed.is_reminder else None


def test_remaining_seconds_rounds_down():
    assert remaining_seconds(T0 + 120.7, T0) == 120
    assert remaining_seconds(T0, T0 + 3) == 0


def test_bad_job_interval(clock, registry):
    with pytest.raises(ValueError, match="reminder_job_interval"):
        ReminderJob(clock, registry, lambda *a: None, job_interval=0)
