"""Sample events: bodies, overrides, errors, determinism and which filters receive them."""
from __future__ import annotations

import json
import random

import pytest

from rchelpers.simulator.errors import TriggerError
from rchelpers.simulator.events import KINDS, EventFactory, normalize_kind
from rchelpers.simulator.event_filter_catalog import parse

T0 = 1767225600.0  # 2026-01-01T00:00:00Z, the frozen clock's start

ACC, EXT = "37439510", "62000001"


def _factory(seed: int = 7) -> EventFactory:
    return EventFactory(random.Random(seed), lambda: T0, ACC, EXT)


def _f(text: str, extension: str = EXT):
    """A filter as a subscriber of ACC/``extension`` would have it parsed (``~`` expanded)."""
    return parse(text, ACC, extension)


def test_same_seed_same_bytes_other_seed_other_ids():
    first = [json.dumps(_factory(7).build(kind).body) for kind in KINDS]
    again = [json.dumps(_factory(7).build(kind).body) for kind in KINDS]
    other = [json.dumps(_factory(8).build(kind).body) for kind in KINDS]
    assert first == again
    assert first != other


def test_presence_body_follows_the_platform_example():
    event = _factory().build("presence")
    assert list(event.body) == ["extensionId", "telephonyStatus", "sequence", "presenceStatus", "userStatus",
                                "meetingStatus", "dndStatus", "allowSeeMyPresence", "ringOnMonitoredCall",
                                "pickUpCallsOnHold"]
    assert event.body["extensionId"] == EXT and event.body["sequence"] == 1
    plain = event.body_for(_f("/restapi/v1.0/account/~/extension/~/presence"))
    assert plain == event.body and "activeCalls" not in plain
    detailed = event.body_for(_f("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"))
    assert list(detailed)[:3] == ["extensionId", "telephonyStatus", "activeCalls"]
    assert detailed["totalActiveCalls"] == 1
    call = detailed["activeCalls"][0]
    assert call["telephonyStatus"] == "Ringing" and call["direction"] == "Inbound"
    assert {"id", "from", "to", "sessionId", "partyId", "telephonySessionId", "startTime"} <= set(call)


def test_presence_filters_for_other_extensions_get_nothing():
    event = _factory().build("presence")
    assert event.body_for(_f(f"/restapi/v1.0/account/{ACC}/extension/{EXT}/presence")) is not None
    assert event.body_for(_f("/restapi/v1.0/account/~/extension/999/presence")) is None
    assert event.body_for(_f("/restapi/v1.0/account/~/extension/~/message-store")) is None
    assert event.body_for(_f("/restapi/v1.0/account/~/extension/~/presence", "999")) is None


def test_presence_overrides_and_no_call():
    event = _factory().build("presence", {"telephonyStatus": "NoCall", "userStatus": "Busy"})
    assert event.body["telephonyStatus"] == "NoCall" and event.body["userStatus"] == "Busy"
    assert event.body["presenceStatus"] == "Available"
    detailed = event.body_for(_f("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"))
    assert detailed["activeCalls"] == [] and detailed["totalActiveCalls"] == 0


@pytest.mark.parametrize("params, delivered", [
    ("", True), ("?type=SMS", True), ("?type=Fax", False), ("?direction=Inbound", True),
    ("?direction=Outbound", False), ("?type=SMS&direction=Inbound", True), ("?type=Pager", False),
])
def test_message_store_type_and_direction(params, delivered):
    event = _factory().build("message_store")
    body = event.body_for(_f(f"/restapi/v1.0/account/~/extension/~/message-store{params}"))
    assert (body is not None) == delivered
    if body is not None:
        assert body["accountId"] == int(ACC) and body["extensionId"] == int(EXT)
        assert body["changes"][0]["type"] == "SMS" and body["changes"][0]["newCount"] == 1
        assert body["lastUpdated"] == "2026-01-01T00:00:00.000Z"


def test_message_store_fax_outbound():
    event = _factory().build("message-store", {"type": "Fax", "direction": "Outbound"})
    flt = "/restapi/v1.0/account/~/extension/~/message-store"
    assert event.body_for(_f(flt + "?type=Fax&direction=Outbound"))["changes"][0]["type"] == "Fax"
    assert event.body_for(_f(flt + "?type=SMS")) is None
    assert "direction" not in event.body and "type" not in event.body


def test_instant_sms():
    event = _factory().build("instant_sms", {"subject": "hi"})
    flt = "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"
    body = event.body_for(_f(flt))
    assert body["subject"] == "hi" and body["type"] == "SMS" and body["direction"] == "Inbound"
    assert body["messageStatus"] == "Received" and body["readStatus"] == "Unread"
    assert event.body_for(_f("/restapi/v1.0/account/~/extension/~/message-store")) is None


def test_extension_info_and_list():
    info = _factory().build("extension_info")
    assert info.body == {"extensionId": EXT, "eventType": "Update", "hints": ["ExtensionInfo"]}
    assert info.body_for(_f("/restapi/v1.0/account/~/extension/~")) == info.body
    deleted = _factory().build("extension_info", {"eventType": "Delete"})
    assert deleted.body == {"extensionId": EXT, "eventType": "Delete"}
    listing = _factory().build("extension_list")
    assert listing.body_for(_f("/restapi/v1.0/account/~/extension"))["extensions"][0]["eventType"] == "Create"
    assert listing.body_for(_f("/restapi/v1.0/account/~/extension/~")) is None


@pytest.mark.parametrize("kind, fields, message", [
    ("carrier_pigeon", {}, "unknown event kind 'carrier_pigeon'; kinds: presence, message_store"),
    ("telephony_session", {"status_code": "Ringing"}, "option 'status_code' must be one of Setup"),
    ("fax", {"pages": 0}, "option 'pages' must be a whole number from 1 to 1000"),
    ("presence", {"color": "red"}, "unknown field 'color' for a presence event; fields: extensionId"),
    ("presence", {"telephonyStatus": "Dancing"}, "must be one of NoCall, CallConnected"),
    ("presence", {"sequence": "3"}, "'sequence' of a presence event must be an integer"),
    ("presence", {"sequence": True}, "must be an integer"),
    ("message_store", {"type": "Email"}, "must be one of Fax, SMS, VoiceMail, Pager"),
    ("instant_sms", {"to": "+1650"}, "must be a list"),
    ("extension_info", {"hints": ["Mood"]}, "must list some of AccountSettings"),
    (42, {}, "kind must be a string"),
])
def test_bad_kind_or_field(kind, fields, message):
    with pytest.raises(TriggerError, match=message.replace("(", r"\(")):
        _factory().build(kind, fields)


def test_normalize_kind_accepts_hyphens_and_case():
    assert normalize_kind("Instant-SMS") == "instant_sms"
