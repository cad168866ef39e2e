"""Which events reach which filter: the telephony-session parameters, levels, ids and body shaping."""
from __future__ import annotations

import random

import pytest

from rchelpers.simulator.event_filter_catalog import (TELEPHONY_STATUS_CODES, body_for, envelope_event, matches,
                                                     parse)
from rchelpers.simulator.telephony import Call, RandomIds, Subscriber, play, telephony_body

ACCOUNT, EXTENSION = "37439510", "2253168021"
USER = Subscriber(ACCOUNT, EXTENSION, "+16505550100", "Demo User")
START = 1767225600.0
SESSIONS = "/restapi/v1.0/account/~/extension/~/telephony/sessions"
ACCOUNT_SESSIONS = "/restapi/v1.0/account/~/telephony/sessions"


def ids(seed: int) -> RandomIds:
    """A seeded id source."""
    return RandomIds(random.Random(seed))


def _steps(name: str, **options):
    return play(name, ids(7), START, USER, options)


def _codes(event_filter: str, steps) -> list[str]:
    """The telephony status codes of the steps that reach ``event_filter``."""
    parsed = parse(event_filter, ACCOUNT, EXTENSION)
    return [step.body["parties"][0]["status"]["code"] for step in steps
            if "parties" in step.body and matches(parsed, step.event_path, step.body)]


ALL_CALLS = ("inbound_call", "missed_call", "outbound_call")


def test_an_unparameterised_filter_receives_every_telephony_event_and_nothing_else():
    steps = _steps("inbound_call")
    parsed = parse(SESSIONS, ACCOUNT, EXTENSION)
    reached = [step for step in steps if matches(parsed, step.event_path, step.body)]
    assert [s.body["parties"][0]["status"]["code"] for s in reached] == ["Setup", "Proceeding", "Answered",
                                                                         "Disconnected"]
    assert all(step.event_path.endswith("/telephony/sessions") for step in reached)


@pytest.mark.parametrize("code", TELEPHONY_STATUS_CODES)
def test_status_code_selects_exactly_that_status(code):
    call = Call.new(ids(1), USER, "Inbound", "+16505550123", "Alex Caller")
    bodies = {each: telephony_body(call, USER, n, START, each) for n, each in enumerate(TELEPHONY_STATUS_CODES)}
    parsed = parse(f"{SESSIONS}?statusCode={code}", ACCOUNT, EXTENSION)
    reached = [each for each, body in bodies.items() if matches(parsed, USER.path("telephony/sessions"), body)]
    assert reached == [code]


def test_status_code_answered_gets_only_the_answered_event_of_each_call():
    assert _codes(f"{SESSIONS}?statusCode=Answered", _steps("inbound_call")) == ["Answered"]
    assert _codes(f"{SESSIONS}?statusCode=Answered", _steps("missed_call")) == []


def test_missed_call_true_gets_only_missed_events():
    assert _codes(f"{SESSIONS}?missedCall=true", _steps("missed_call")) == ["VoiceMail", "Disconnected"]
    assert _codes(f"{SESSIONS}?missedCall=true", _steps("inbound_call")) == []
    assert _codes(f"{SESSIONS}?missedCall=true", _steps("outbound_call")) == []


def test_missed_call_false_selects_nothing_away():
    assert len(_codes(f"{SESSIONS}?missedCall=false", _steps("missed_call"))) == 4


def test_direction_selects_the_party_direction():
    inbound, outbound = _steps("inbound_call"), _steps("outbound_call")
    assert len(_codes(f"{SESSIONS}?direction=Inbound", inbound)) == 4
    assert _codes(f"{SESSIONS}?direction=Inbound", outbound) == []
    assert len(_codes(f"{SESSIONS}?direction=Outbound", outbound)) == 4
    assert _codes(f"{SESSIONS}?direction=Outbound", inbound) == []


@pytest.mark.parametrize("number, reached", [("+16505550177", 4), ("16505550177", 4), ("+16505550100", 4),
                                             ("+16505550999", 0)])
def test_phone_number_selects_calls_from_or_to_it(number, reached):
    steps = _steps("inbound_call", caller_number="+16505550177")
    assert len(_codes(f"{SESSIONS}?phoneNumber={number}", steps)) == reached


def test_with_recordings_selects_recorded_calls_from_answered_on():
    assert _codes(f"{SESSIONS}?withRecordings=true", _steps("inbound_call")) == []
    assert _codes(f"{SESSIONS}?withRecordings=true", _steps("inbound_call", recording=True)) == ["Answered",
                                                                                                  "Disconnected"]
    assert len(_codes(f"{SESSIONS}?withRecordings=false", _steps("inbound_call"))) == 4


def test_parameters_combine():
    steps = _steps("missed_call")
    assert _codes(f"{SESSIONS}?missedCall=true&statusCode=VoiceMail", steps) == ["VoiceMail"]
    assert _codes(f"{SESSIONS}?missedCall=true&direction=Outbound", steps) == []


def test_sip_data_is_sent_only_to_filters_that_ask_for_it():
    step = _steps("inbound_call")[0]
    plain = body_for(parse(SESSIONS, ACCOUNT, EXTENSION), step.event_path, step.body)
    with_sip = body_for(parse(f"{SESSIONS}?sipData=true", ACCOUNT, EXTENSION), step.event_path, step.body)
    assert plain is not None and with_sip is not None
    assert "sipData" not in plain["parties"][0]
    assert set(with_sip["parties"][0]["sipData"]) == {"callId", "toTag", "fromTag"}
    assert "sipData" in step.body["parties"][0]  # the step itself is not changed


def test_the_account_level_filter_receives_every_extension_of_its_account_only():
    steps = _steps("inbound_call")
    assert len(_codes(ACCOUNT_SESSIONS, steps)) == 4
    assert len(_codes(f"{ACCOUNT_SESSIONS}?statusCode=Disconnected", steps)) == 1
    other = parse(ACCOUNT_SESSIONS, "99999999", EXTENSION)
    assert not any(matches(other, s.event_path, s.body) for s in steps)


def test_an_extension_filter_does_not_receive_another_extensions_calls():
    steps = _steps("inbound_call")
    other = parse("/restapi/v1.0/account/~/extension/1234/telephony/sessions", ACCOUNT, EXTENSION)
    assert not any(matches(other, s.event_path, s.body) for s in steps)


def test_presence_filters_get_the_presence_changes_shaped_by_detailed_telephony_state():
    steps = _steps("inbound_call")
    plain = parse("/restapi/v1.0/account/~/extension/~/presence", ACCOUNT, EXTENSION)
    detailed = parse("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true", ACCOUNT, EXTENSION)
    account = parse("/restapi/v1.0/account/~/presence", ACCOUNT, EXTENSION)
    plain_bodies = [b for s in steps if (b := body_for(plain, s.event_path, s.body)) is not None]
    assert [b["telephonyStatus"] for b in plain_bodies] == ["Ringing", "CallConnected", "NoCall"]
    assert all("activeCalls" not in b for b in plain_bodies)
    detailed_bodies = [b for s in steps if (b := body_for(detailed, s.event_path, s.body)) is not None]
    assert [b["totalActiveCalls"] for b in detailed_bodies] == [1, 1, 0]
    assert "sipData" not in detailed_bodies[0]["activeCalls"][0]
    assert len([s for s in steps if matches(account, s.event_path, s.body)]) == 3


def test_voicemail_and_message_store_filters_get_the_missed_calls_message():
    steps = _steps("missed_call")
    voicemail = parse("/restapi/v1.0/account/~/extension/~/voicemail", ACCOUNT, EXTENSION)
    assert [s.body["type"] for s in steps if matches(voicemail, s.event_path, s.body)] == ["VoiceMail"]
    for query, reached in (("", 1), ("?type=VoiceMail", 1), ("?type=SMS", 0), ("?direction=Inbound", 1),
                           ("?direction=Outbound", 0)):
        store = parse(f"/restapi/v1.0/account/~/extension/~/message-store{query}", ACCOUNT, EXTENSION)
        assert len([s for s in steps if matches(store, s.event_path, s.body, s.attributes)]) == reached, query


def test_a_filter_that_never_fires_matches_no_scenario_event():
    steps = [step for name in ALL_CALLS for step in _steps(name)]
    for event_filter in ("/restapi/v1.0/account/~/extension/~/missed-calls",
                         "/restapi/v1.0/account/~/a2p-sms/messages", "/team-messaging/v1/posts",
                         "/restapi/v1.0/account/~/extension/~/presence/line/presence"):
        parsed = parse(event_filter, ACCOUNT, EXTENSION)
        assert not any(matches(parsed, s.event_path, s.body) for s in steps), event_filter


def test_an_unknown_event_path_matches_nothing():
    parsed = parse(SESSIONS, ACCOUNT, EXTENSION)
    assert not matches(parsed, "/restapi/v1.0/nowhere", {"parties": []})


def test_the_envelope_event_is_the_filter_or_for_account_filters_the_extensions_path():
    step = _steps("inbound_call")[0]
    own = parse(f"{SESSIONS}?statusCode=Setup", ACCOUNT, EXTENSION)
    assert envelope_event(own, step.event_path) == \
        f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/telephony/sessions?statusCode=Setup"
    account = parse(ACCOUNT_SESSIONS, ACCOUNT, EXTENSION)
    assert envelope_event(account, step.event_path) == step.event_path
