"""Sample bodies against the field tables of the event-filter pages (our own minimal structural checks).

Each table below is written from the page named beside it (ringcentral/ringcentral-api-docs,
docs/notifications/event-filters/): field -> (JSON types, allowed values). A body may carry only
documented fields, must carry the ones marked required here, and each value must fit.
"""
from __future__ import annotations

import random
import re
from typing import Any

import pytest

from rchelpers.simulator.event_filter_catalog import TELEPHONY_STATUS_CODES, spec_for_path
from rchelpers.simulator.telephony import (SAMPLE_KINDS, RandomIds, ScenarioError, Subscriber, play,
                                           detailed_presence_body, sample_event)

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
E164 = re.compile(r"\+[1-9]\d{6,14}")
USER = Subscriber("37439510", "2253168021", "+16505550100", "Demo User", "https://platform.example")
START = 1767225600.0
STR, INT, BOOL, LIST, OBJ = (str,), (int,), (bool,), (list,), (dict,)


def ids(seed: int) -> RandomIds:
    """A seeded id source."""
    return RandomIds(random.Random(seed))


def check(body: Any, table: dict[str, tuple], required: set[str], where: str) -> None:
    assert isinstance(body, dict), where
    unknown = set(body) - set(table)
    assert not unknown, f"{where}: undocumented fields {unknown}"
    missing = required - set(body)
    assert not missing, f"{where}: missing {missing}"
    for name, value in body.items():
        entry = table[name]  # a tuple of types, or (tuple of types, allowed values or pattern)
        types, allowed = (entry[0], entry[1]) if isinstance(entry[0], tuple) else (entry, None)
        assert isinstance(value, types) and not (isinstance(value, bool) and bool not in types), f"{where}.{name}"
        if allowed is not None:
            assert (allowed.fullmatch(value) if isinstance(allowed, re.Pattern) else value in allowed), \
                f"{where}.{name}={value!r}"


# extension-telephony-sessions.md: event, party, caller/callee, status, SIP info. ``accountId`` and
# ``extensionId`` at the top are in the page's example; ``recordings`` is not on the page (guessed).
TELEPHONY = {"sequence": INT, "sessionId": STR, "telephonySessionId": STR, "serverId": STR, "eventTime": (STR, ISO),
             "origin": OBJ, "parties": LIST, "accountId": STR, "extensionId": STR}
ORIGIN = {"type": (STR, ("Call", "RingOut", "RingMe", "Conference", "GreetingsRecording", "VerificationCall",
                         "TestCall"))}
PARTY = {"accountId": STR, "extensionId": STR, "id": STR, "direction": (STR, ("Inbound", "Outbound")),
         "queueCall": BOOL, "to": OBJ, "from": OBJ, "status": OBJ, "missedCall": BOOL, "standAlone": BOOL,
         "muted": BOOL, "conferenceRole": (STR, ("Host", "Participant")), "sipData": OBJ, "recordings": LIST}
END = {"phoneNumber": (STR, E164), "name": STR, "extensionId": STR, "deviceId": STR}
STATUS = {"code": (STR, TELEPHONY_STATUS_CODES), "reason": STR, "parkData": STR, "peerId": OBJ,
          "mobilePickupData": OBJ}
SIP = {"toTag": STR, "fromTag": STR, "callId": STR}
# extension-presence.md (+ detailed-extension-presence.md for activeCalls/totalActiveCalls)
PRESENCE = {"extensionId": STR, "telephonyStatus": (STR, ("NoCall", "CallConnected", "Ringing", "OnHold", "ParkedCall")),
            "sequence": INT, "presenceStatus": (STR, ("Offline", "Busy", "Available")),
            "userStatus": (STR, ("Offline", "Busy", "Available")), "meetingStatus": (STR, ("Connected", "Disconnected")),
            "dndStatus": (STR, ("TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls")),
            "allowSeeMyPresence": BOOL, "ringOnMonitoredCall": BOOL, "pickUpCallsOnHold": BOOL,
            "activeCalls": LIST, "totalActiveCalls": INT}
# detailed-extension-presence-with-sip.md: active calls and their SIP data
ACTIVE_CALL = {"id": STR, "direction": (STR, ("Inbound", "Outbound")), "queueCall": BOOL, "from": STR, "fromName": STR,
               "to": STR, "toName": STR, "startTime": (STR, ISO), "telephonyStatus": PRESENCE["telephonyStatus"],
               "terminationType": (STR, ("final",)), "sessionId": STR, "sipData": OBJ, "telephonySessionId": STR,
               "partyId": STR, "onBehalfOf": STR}
ACTIVE_SIP = {"toTag": STR, "fromTag": STR, "remoteUri": STR, "localUri": STR}
# voicemail-message.md and fax-message.md (shared message fields), instant-message.md recipients
MESSAGE = {"id": STR, "to": LIST, "from": OBJ, "type": STR, "creationTime": (STR, ISO),
           "lastModifiedTime": (STR, ISO), "readStatus": (STR, ("Read", "Unread")), "priority": (STR, ("Normal", "High")),
           "attachments": LIST, "direction": (STR, ("Inbound", "Outbound")), "availability": (STR, ("Alive", "Deleted",
                                                                                                  "Purged")),
           "subject": STR, "messageStatus": STR, "conversationId": STR}
VOICEMAIL = {**MESSAGE, "vmTranscriptionStatus": STR}
FAX = {**MESSAGE, "faxResolution": (STR, ("High", "Low")), "faxPageCount": INT}
RECIPIENT = {"phoneNumber": (STR, E164), "extensionNumber": STR, "target": BOOL, "location": STR, "name": STR}
SENDER = {"phoneNumber": (STR, E164), "extensionNumber": STR, "location": STR, "name": STR}
ATTACHMENT = {"id": STR, "uri": STR, "size": INT, "type": STR, "contentType": STR, "vmDuration": INT}
DND = {"extensionId": STR, "dndStatus": (STR, ("TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls"))}
LINE = {"extension": LIST, "sequence": INT}
STORE = {"accountId": (int, str), "extensionId": (int, str), "lastUpdated": (STR, ISO), "changes": LIST}
CHANGE = {"type": (STR, ("Voicemail", "VoiceMail", "SMS", "Fax", "Pager")), "newCount": INT, "updatedCount": INT,
          "newMessageIds": LIST}


def check_telephony(body: dict) -> None:
    check(body, TELEPHONY, set(TELEPHONY), "telephony")
    check(body["origin"], ORIGIN, {"type"}, "origin")
    assert body["parties"], "a telephony event has parties"
    for party in body["parties"]:
        check(party, PARTY, {"id", "direction", "to", "from", "status", "missedCall"}, "party")
        check(party["to"], END, {"phoneNumber"}, "party.to")
        check(party["from"], END, {"phoneNumber"}, "party.from")
        check(party["status"], STATUS, {"code"}, "party.status")
        if "sipData" in party:
            check(party["sipData"], SIP, set(SIP), "party.sipData")


def check_message(body: dict, table: dict, message_type: str) -> None:
    check(body, table, {"id", "to", "from", "type", "creationTime", "attachments", "direction", "messageStatus"},
          message_type)
    assert body["type"] == message_type
    for recipient in body["to"]:
        check(recipient, RECIPIENT, set(), "to[]")
    check(body["from"], SENDER, {"phoneNumber"}, "from")
    for attachment in body["attachments"]:
        check(attachment, ATTACHMENT, {"id", "uri", "type", "contentType"}, "attachment")
        assert attachment["uri"].startswith(USER.base_url + "/restapi/v1.0/account/")


def check_step(step) -> None:
    resource = step.event_path.rsplit("/extension/" + USER.extension_id, 1)[1]
    if resource == "/telephony/sessions":
        check_telephony(step.body)
    elif resource == "/presence":
        check(step.body, PRESENCE, set(PRESENCE) - {"activeCalls", "totalActiveCalls"}, "presence")
        for call in step.body.get("activeCalls", ()):
            check(call, ACTIVE_CALL, {"id", "direction", "from", "to", "telephonyStatus", "sessionId"}, "activeCall")
            check(call["sipData"], ACTIVE_SIP, set(ACTIVE_SIP), "activeCall.sipData")
        assert step.body.get("totalActiveCalls", 0) == len(step.body.get("activeCalls", ()))
    elif resource == "/voicemail":
        check_message(step.body, VOICEMAIL, "VoiceMail")
        assert isinstance(step.body["attachments"][0]["vmDuration"], int)
    elif resource == "/fax":
        check_message(step.body, FAX, "Fax")
    elif resource == "/presence/dnd":
        check(step.body, DND, set(DND), "dnd")
    elif resource == "/presence/line":
        check(step.body, LINE, set(LINE), "presence line")
        assert step.body["extension"] and all(set(item) == {"id"} for item in step.body["extension"])
    elif resource == "/message-store":
        check(step.body, STORE, set(STORE), "message store")
        for change in step.body["changes"]:
            check(change, CHANGE, {"type"}, "change")
    else:
        raise AssertionError(f"no check for {step.event_path}")
    assert spec_for_path(step.event_path) is not None, "every event path is a known filter path"


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_each_sample_event_follows_its_page(kind):
    check_step(sample_event(kind, ids(3), START, USER))


@pytest.mark.parametrize("name", ["inbound_call", "missed_call", "outbound_call"])
def test_every_scenario_body_follows_its_page(name):
    for step in play(name, ids(5), START, USER, {"recording": True} if name != "missed_call" else {}):
        check_step(step)


def test_the_checks_can_fail():
    step = sample_event("telephony_session", ids(1), START, USER)
    step.body["parties"][0]["status"]["code"] = "Ringing"  # a presence status, not a session status
    with pytest.raises(AssertionError):
        check_step(step)
    dnd = sample_event("dnd", ids(1), START, USER)
    dnd.body["surprise"] = 1
    with pytest.raises(AssertionError):
        check_step(dnd)


@pytest.mark.parametrize("kind, options, field, value", [
    ("telephony_session", {"status_code": "Answered"}, ("parties", 0, "status", "code"), "Answered"),
    ("telephony_session", {"direction": "Outbound"}, ("parties", 0, "direction"), "Outbound"),
    ("telephony_session", {"missed_call": True}, ("parties", 0, "missedCall"), True),
    ("missed_call", {}, ("parties", 0, "missedCall"), True),
    ("missed_call", {}, ("parties", 0, "status", "code"), "VoiceMail"),
    ("voicemail", {"voicemail_seconds": 42}, ("attachments", 0, "vmDuration"), 42),
    ("fax", {"pages": 5}, ("faxPageCount",), 5),
    ("dnd", {"dnd_status": "TakeAllCalls"}, ("dndStatus",), "TakeAllCalls"),
])
def test_sample_options_set_the_body(kind, options, field, value):
    body: Any = sample_event(kind, ids(2), START, USER, options).body
    for key in field:
        body = body[key]
    assert body == value


def test_outbound_sample_puts_the_user_on_the_from_side():
    party = sample_event("telephony_session", ids(2), START, USER, {"direction": "Outbound"}).body["parties"][0]
    assert party["from"]["phoneNumber"] == USER.phone_number and party["from"]["extensionId"] == USER.extension_id
    assert party["to"]["phoneNumber"] == "+16505550123"


@pytest.mark.parametrize("kind, options, named", [
    ("nope", {}, "unknown sample event 'nope'"),
    ("fax", {"pages": 0}, "'pages'"),
    ("fax", {"pages": 2.5}, "'pages'"),
    ("dnd", {"dnd_status": "Busy"}, "'dnd_status'"),
    ("telephony_session", {"status_code": "Ringing"}, "'status_code'"),
    ("voicemail", {"colour": "red"}, "unknown option 'colour'"),
])
def test_bad_sample_options_are_named(kind, options, named):
    with pytest.raises(ScenarioError, match=re.escape(named)):
        sample_event(kind, ids(1), START, USER, options)


def test_presence_without_a_call_has_no_active_calls():
    body = detailed_presence_body(USER, 9, "NoCall")
    assert body["activeCalls"] == [] and body["totalActiveCalls"] == 0 and body["presenceStatus"] == "Available"
