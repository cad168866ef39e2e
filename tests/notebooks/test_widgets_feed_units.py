"""EventFeed, kernel side, fed from a background thread by a minimal listener source."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from rchelpers.errors import WaitTimeout
from rchelpers.widgets import EventFeed, format_seconds, summarize_event


@dataclass
class _Event:
    event: str
    body: dict[str, Any]
    timestamp: str = "2026-01-01T00:00:00.000Z"
    subscription_id: str = "0a1b2c3d-0000-4000-8000-000000000000"
    is_reminder: bool = False


@dataclass
class _Source:
    """Calls its listeners from a thread of its own, as a receiver's dispatcher does."""

    listeners: list[Callable[[Any], object]] = field(default_factory=list)

    def add_listener(self, fn: Callable[[Any], object]) -> None:
        self.listeners.append(fn)

    def remove_listener(self, fn: Callable[[Any], object]) -> None:
        self.listeners.remove(fn)

    def emit_from_thread(self, events: list[_Event]) -> None:
        def run() -> None:
            for event in events:
                for fn in list(self.listeners):
                    fn(event)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(5)
        assert not thread.is_alive()


PRESENCE = _Event("/restapi/v1.0/account/~/extension/101/presence",
                  {"presenceStatus": "Busy", "telephonyStatus": "Ringing"})
REMINDER = _Event("/restapi/v1.0/subscription/~?threshold=120&interval=30", {"expiresIn": 118}, is_reminder=True)


def test_rows_and_counts_follow_events_from_another_thread() -> None:
    source = _Source()
    feed = EventFeed(source, max_rows=2)
    assert repr(feed) == "EventFeed(events=0, reminders=0, shown=0, max_rows=2, listening=True)"
    assert "waiting for events" in feed.table.value
    source.emit_from_thread([PRESENCE, REMINDER, PRESENCE])
    assert feed.wait_for(3, timeout=5) == 3
    assert repr(feed) == "EventFeed(events=3, reminders=1, shown=2, max_rows=2, listening=True)"
    assert [row[1] for row in feed.rows] == ["reminder", "presence"]  # the oldest row was dropped
    assert feed.rows[0][3] == "expiresIn=118 s"
    assert "<b>3 events</b> (1 reminder)" in feed.header.value
    assert feed.table.value.count("<tr>") == 3  # the header row and two events


def test_event_text_is_escaped_in_the_table() -> None:
    source = _Source()
    feed = EventFeed(source)
    source.emit_from_thread([_Event("/restapi/v1.0/account/~/extension/1/presence",
                                    {"presenceStatus": "<script>alert(1)</script>"})])
    feed.wait_for(1, timeout=5)
    assert "<script>" not in feed.table.value and "&lt;script&gt;" in feed.table.value


def test_wait_for_times_out_with_a_clear_message() -> None:
    feed = EventFeed(_Source())
    with pytest.raises(WaitTimeout, match="0 of 1 events after 0.05 s"):
        feed.wait_for(1, timeout=0.05)


def test_close_stops_listening() -> None:
    source = _Source()
    feed = EventFeed(source)
    feed.close()
    assert source.listeners == []
    feed._on_event(PRESENCE)  # a late callback already in flight is ignored
    assert feed.count == 0 and repr(feed).endswith("listening=False)")


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_max_rows_is_refused(bad: object) -> None:
    source = _Source()
    with pytest.raises(ValueError, match="max_rows must be a positive integer"):
        EventFeed(source, max_rows=bad)  # type: ignore[arg-type]
    assert source.listeners == []


@pytest.mark.parametrize(
    ("event", "kind", "summary"),
    [
        (PRESENCE, "presence", "Busy, Ringing"),
        (REMINDER, "reminder", "expiresIn=118 s"),
        (_Event("/restapi/v1.0/account/1/extension/2/presence?detailedTelephonyState=true",
                {"presenceStatus": "Busy", "activeCalls": [{}]}), "presence", "Busy, 1 active call"),
        (_Event("/restapi/v1.0/account/1/extension/2/message-store",
                {"changes": [{"type": "SMS", "newCount": 2}]}), "message store", "SMS +2"),
        (_Event("/restapi/v1.0/account/1/extension/2/message-store/instant?type=SMS",
                {"from": {"phoneNumber": "+16505550100"}, "subject": "hi"}), "instant SMS", "from +16505550100: hi"),
        (_Event("/restapi/v1.0/account/1/extension/2", {"eventType": "Update", "hints": ["ExtensionInfo"]}),
         "extension info", "Update ExtensionInfo"),
        (_Event("/restapi/v1.0/account/1/extension", {"extensions": [{"extensionId": "7", "eventType": "Create"}]}),
         "extension list", "7 Create"),
    ],
)
def test_summaries(event: _Event, kind: str, summary: str) -> None:
    assert summarize_event(event) == (kind, summary)


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (0, "expired"), (-5, "expired"), (42, "42s"),
                                               (898, "14m 58s"), (7200, "2h 0m"), (604800, "7d 0h")])
def test_format_seconds(seconds: int | None, text: str) -> None:
    assert format_seconds(seconds) == text
