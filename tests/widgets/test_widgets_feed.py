"""EventFeed on a real WebhookReceiver: notifications over loopback HTTP, sent by hand or by a seeded Simulator."""
from __future__ import annotations

import json

import pytest
import requests

from rchelpers import SubscriptionClient, WaitTimeout, WebhookReceiver, presence_filter, reminder_filter
from rchelpers.simulator import Simulator
from rchelpers.widgets import EventFeed

HEADERS = {"Content-Type": "application/json; charset=UTF-8", "User-Agent": "RingCentral-Webhook/8.3"}


def _notify(url: str, uuid: str, event: str, body: dict, headers: dict[str, str] | None = None) -> int:
    envelope = {"uuid": uuid, "event": event, "timestamp": "2026-01-01T00:00:05.000Z",
                "subscriptionId": "5f3a2b1c-0000-4000-8000-00000000abcd", "ownerId": "2253168021", "body": body}
    reply = requests.post(url, data=json.dumps(envelope), headers={**HEADERS, **(headers or {})}, timeout=5)
    return reply.status_code


def test_the_feed_shows_what_the_receiver_accepts(receiver: WebhookReceiver) -> None:
    feed = EventFeed(receiver, max_rows=5)
    try:
        assert _notify(receiver.url, "u-1", "/restapi/v1.0/account/~/extension/2253168021/presence",
                       {"presenceStatus": "Available", "telephonyStatus": "NoCall"}) == 200
        assert _notify(receiver.url, "u-2", "/restapi/v1.0/subscription/~?threshold=120&interval=30",
                       {"expiresIn": 119}) == 200
        assert feed.wait_for(2, timeout=5) == 2
        assert feed.rows == [
            ("2026-01-01T00:00:05.000Z", "presence", "5f3a2b1c", "Available, NoCall"),
            ("2026-01-01T00:00:05.000Z", "reminder", "5f3a2b1c", "expiresIn=119 s"),
        ]
        assert repr(feed) == "EventFeed(events=2, reminders=1, shown=2, max_rows=5, listening=True)"
        assert "<b>2 events</b> (1 reminder)" in feed.header.value
        assert "Available, NoCall" in feed.table.value
    finally:
        feed.close()


def test_redeliveries_and_refused_notifications_do_not_reach_the_feed() -> None:
    with WebhookReceiver(journal=False, verification_token="feed-test-token") as rx:
        feed = EventFeed(rx)
        try:
            event = "/restapi/v1.0/account/~/extension/2253168021/presence"
            good = {"Verification-Token": "feed-test-token"}
            assert _notify(rx.url, "u-1", event, {"presenceStatus": "Busy"}, good) == 200
            assert _notify(rx.url, "u-1", event, {"presenceStatus": "Busy"}, good) == 200  # redelivery, same uuid
            assert _notify(rx.url, "u-2", event, {"presenceStatus": "Busy"}, {"Verification-Token": "wrong"}) == 403
            assert _notify(rx.url, "u-3", event, {"presenceStatus": "Offline"}, good) == 200
            assert feed.wait_for(2, timeout=5) == 2
            rx.wait_for(2, timeout=5)
            assert [row[3] for row in feed.rows] == ["Busy", "Offline"]
            assert feed.count == 2 and rx.stats.duplicates == 1 and rx.stats.rejected == 1
        finally:
            feed.close()


def test_a_closed_feed_stops_following_the_receiver(receiver: WebhookReceiver) -> None:
    feed = EventFeed(receiver)
    feed.close()
    assert feed.comm is None and feed.header.comm is None and feed.table.comm is None
    assert _notify(receiver.url, "u-9", "/restapi/v1.0/account/~/extension/2253168021/presence", {}) == 200
    receiver.wait_for(1, timeout=5)
    second = EventFeed(receiver)  # a feed opened later sees only what arrives after it
    try:
        assert _notify(receiver.url, "u-10", "/restapi/v1.0/account/~/extension/2253168021/presence", {}) == 200
        assert second.wait_for(1, timeout=5) == 1
        assert feed.count == 0 and repr(feed).endswith("listening=False)")
    finally:
        second.close()


def test_the_oldest_rows_scroll_away_and_text_is_escaped(receiver: WebhookReceiver) -> None:
    feed = EventFeed(receiver, max_rows=2)
    try:
        event = "/restapi/v1.0/account/~/extension/2253168021/presence"
        for n, status in enumerate(["Busy", "Available", "<script>alert(1)</script>"]):
            assert _notify(receiver.url, f"u-{n}", event, {"presenceStatus": status}) == 200
        feed.wait_for(3, timeout=5)
        assert [row[3] for row in feed.rows] == ["Available", "<script>alert(1)</script>"]
        assert repr(feed) == "EventFeed(events=3, reminders=0, shown=2, max_rows=2, listening=True)"
        assert "<script>" not in feed.table.value and "&lt;script&gt;" in feed.table.value
        assert feed.table.value.count("<tr") == 3  # the header row and two events
        assert feed.table.value.count("<tr class='rc-feed-row'>") == 2
    finally:
        feed.close()


def test_wait_for_times_out_with_a_clear_message(receiver: WebhookReceiver) -> None:
    feed = EventFeed(receiver)
    try:
        assert "waiting for events" in feed.table.value
        with pytest.raises(WaitTimeout, match="0 of 1 events after 0.05 s"):
            feed.wait_for(1, timeout=0.05)
    finally:
        feed.close()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_max_rows_is_refused_before_listening(receiver: WebhookReceiver, bad: object) -> None:
    with pytest.raises(ValueError, match="max_rows must be a positive integer"):
        EventFeed(receiver, max_rows=bad)  # type: ignore[arg-type]
    assert _notify(receiver.url, "u-1", "/restapi/v1.0/account/~/extension/2253168021/presence", {}) == 200
    assert len(receiver.wait_for(1, timeout=5)) == 1  # the receiver works on, nothing half-registered broke it


@pytest.mark.parametrize(("count", "timeout"), [(0, 1), (-1, 1), ("2", 1), (True, 1), (1, 0), (1, -1), (1, "5")])
def test_wait_for_refuses_bad_arguments(receiver: WebhookReceiver, count: object, timeout: object) -> None:
    feed = EventFeed(receiver)
    try:
        with pytest.raises(ValueError, match="must be a positive"):
            feed.wait_for(count, timeout=timeout)  # type: ignore[arg-type]
    finally:
        feed.close()


def test_the_feed_follows_deliveries_from_the_simulator(sim: Simulator, subs: SubscriptionClient,
                                                          receiver: WebhookReceiver) -> None:
    sub = subs.create(receiver.url, [presence_filter(), reminder_filter(120, 30, expires_in=600)], expires_in=600)
    feed = EventFeed(receiver, max_rows=10)
    try:
        sim.trigger("presence", telephonyStatus="Ringing", presenceStatus="Busy")
        assert feed.wait_for(1, timeout=5) == 1
        sim.clock.advance(545)  # reminders at 480, 510 and 540 s
        assert feed.wait_for(4, timeout=5) == 4
        assert feed.rows == [
            ("2026-01-01T00:00:00.000Z", "presence", sub.id[:8], "Busy, Ringing"),
            ("2026-01-01T00:08:00.000Z", "reminder", sub.id[:8], "expiresIn=120 s"),
            ("2026-01-01T00:08:30.000Z", "reminder", sub.id[:8], "expiresIn=90 s"),
            ("2026-01-01T00:09:00.000Z", "reminder", sub.id[:8], "expiresIn=60 s"),
        ]
        assert repr(feed) == "EventFeed(events=4, reminders=3, shown=4, max_rows=10, listening=True)"
    finally:
        feed.close()
