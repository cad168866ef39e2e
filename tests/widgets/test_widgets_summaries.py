"""The one-line summaries the EventFeed shows, and the time-left format of the SubscriptionTable."""
from __future__ import annotations

from typing import Any

import pytest

from rchelpers import (WebhookEvent, dnd_filter, fax_filter, presence_line_filter, telephony_sessions_filter,
                       voicemail_filter)
from rchelpers.widgets import format_seconds, summarize_event


def _event(path: str, body: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent.from_envelope({"uuid": "u", "event": path, "timestamp": "2026-01-01T00:00:00.000Z",
                                       "subscriptionId": "s", "ownerId": "2", "body": body})


@pytest.mark.parametrize(
    ("path", "body", "kind", "summary"),
    [
        ("/restapi/v1.0/account/~/extension/2/presence", {"presenceStatus": "Busy", "telephonyStatus": "Ringing"},
         "presence", "Busy, Ringing"),
        ("/restapi/v1.0/subscription/~?threshold=120&interval=30", {"expiresIn": 118}, "reminder", "expiresIn=118 s"),
        ("/restapi/v1.0/account/1/extension/2/presence?detailedTelephonyState=true",
         {"presenceStatus": "Busy", "activeCalls": [{}]}, "presence", "Busy, 1 active call"),
        ("/restapi/v1.0/account/1/extension/2/presence", {}, "presence", "presence changed"),
        ("/restapi/v1.0/account/1/extension/2/message-store", {"changes": [{"type": "SMS", "newCount": 2}]},
         "message store", "SMS +2"),
        ("/restapi/v1.0/account/1/extension/2/message-store/instant?type=SMS",
         {"from": {"phoneNumber": "+16505550100"}, "subject": "hi"}, "instant SMS", "from +16505550100: hi"),
        ("/restapi/v1.0/account/1/extension/2", {"eventType": "Update", "hints": ["ExtensionInfo"]},
         "extension info", "Update ExtensionInfo"),
        ("/restapi/v1.0/account/1/extension", {"extensions": [{"extensionId": "7", "eventType": "Create"}]},
         "extension list", "7 Create"),
        ("/restapi/v1.0/glip/posts", {}, "posts", ""),
    ],
)
def test_summaries(path: str, body: dict[str, Any], kind: str, summary: str) -> None:
    assert summarize_event(_event(path, body)) == (kind, summary)


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (0, "expired"), (-5, "expired"), (42, "42s"),
                                               (898, "14m 58s"), (7200, "2h 0m"), (604800, "7d 0h")])
def test_format_seconds(seconds: int | None, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(
    ("kind", "fields", "shown", "summary"),
    [
        ("telephony_session", {}, "call", "#1 Proceeding, Inbound +16505550123 -> +16505550100"),
        ("missed_call", {}, "call", "#1 VoiceMail, missed, Inbound +16505550123 -> +16505550100"),
        ("voicemail", {}, "voicemail", "from +16505550123, 15 s"),
        ("fax", {}, "fax", "Inbound from +16505550123, 2 page(s)"),
        ("dnd", {}, "DND", "DoNotAcceptAnyCalls"),
        ("presence_line", {}, "presence line", "2 monitored lines"),
    ],
)
def test_summaries_of_the_simulators_call_and_message_events(sim: Any, subs: Any, receiver: Any, kind: str,
                                                            fields: dict[str, Any], shown: str, summary: str) -> None:
    subs.create(receiver.url, [telephony_sessions_filter(), voicemail_filter(), fax_filter(), dnd_filter(),
                               presence_line_filter()])
    sim.trigger(kind, **fields)
    (event,) = receiver.wait_for(1, timeout=5)
    assert summarize_event(event) == (shown, summary)
