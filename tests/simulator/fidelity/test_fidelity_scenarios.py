"""Whole calls as timed steps: order, sequence numbers, one telephonySessionId, timings, options."""
from __future__ import annotations

import random
import re

import pytest

from rchelpers.simulator.clock import iso
from rchelpers.simulator.telephony import (SCENARIOS, RandomIds, ScenarioError, Subscriber, play, scenario_options)

USER = Subscriber("37439510", "2253168021", "+16505550100", "Demo User")
START = 1767225600.0


def ids(seed: int) -> RandomIds:
    """A seeded id source."""
    return RandomIds(random.Random(seed))


def _run(name, seed=1, presence_sequence=1, **options):
    return play(name, ids(seed), START, USER, options, presence_sequence)


def _telephony(steps):
    return [s for s in steps if s.event_path.endswith("/telephony/sessions")]


def _presence(steps):
    return [s for s in steps if s.event_path.endswith("/presence")]


def _party(step):
    return step.body["parties"][0]


def _sequence_of_events(steps):
    """Each step in words: the telephony status code or the presence status or the resource."""
    out = []
    for step in steps:
        if "parties" in step.body:
            out.append(_party(step)["status"]["code"])
        elif "telephonyStatus" in step.body:
            out.append("presence:" + step.body["telephonyStatus"])
        else:
            out.append(step.event_path.rsplit("/", 1)[1])
    return out


@pytest.mark.parametrize("name, expected", [
    ("inbound_call", ["Setup", "Proceeding", "presence:Ringing", "Answered", "presence:CallConnected", "Disconnected",
                      "presence:NoCall"]),
    ("missed_call", ["Setup", "Proceeding", "presence:Ringing", "VoiceMail", "presence:NoCall", "Disconnected",
                     "voicemail", "message-store"]),
    ("outbound_call", ["Setup", "Proceeding", "presence:CallConnected", "Answered", "Disconnected",
                       "presence:NoCall"]),
])
def test_each_scenario_plays_its_events_in_order(name, expected):
    steps = _run(name)
    assert _sequence_of_events(steps) == expected
    offsets = [s.offset for s in steps]
    assert offsets == sorted(offsets) and offsets[0] == 0.0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_one_telephony_session_with_increasing_sequence_numbers(name):
    calls = _telephony(_run(name))
    assert len({s.body["telephonySessionId"] for s in calls}) == 1
    assert len({s.body["sessionId"] for s in calls}) == 1
    assert len({_party(s)["id"] for s in calls}) == 1
    assert [s.body["sequence"] for s in calls] == list(range(1, len(calls) + 1))
    assert all(s.body["eventTime"] == iso(START + s.offset) for s in calls)
    assert calls[0].body["telephonySessionId"].startswith("s-")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_presence_sequence_continues_from_the_number_given(name):
    presence = _presence(_run(name, presence_sequence=41))
    assert [s.body["sequence"] for s in presence] == list(range(41, 41 + len(presence)))
    # the detailed form points at the same call while it lasts
    session = _telephony(_run(name, presence_sequence=41))[0].body["telephonySessionId"]
    assert all(call["telephonySessionId"] == session for s in presence for call in s.body["activeCalls"])


def test_inbound_parties_have_from_to_and_direction():
    for step in _telephony(_run("inbound_call", caller_number="+14155550111", caller_name="Pat Example")):
        party = _party(step)
        assert party["direction"] == "Inbound"
        assert party["from"] == {"phoneNumber": "+14155550111", "name": "Pat Example"}
        assert party["to"] == {"phoneNumber": USER.phone_number, "name": USER.name, "extensionId": USER.extension_id}
        assert party["extensionId"] == USER.extension_id and party["missedCall"] is False


def test_outbound_parties_call_from_the_user():
    for step in _telephony(_run("outbound_call", callee_number="+442071234567", callee_name="London Office")):
        party = _party(step)
        assert party["direction"] == "Outbound"
        assert party["from"]["phoneNumber"] == USER.phone_number
        assert party["to"] == {"phoneNumber": "+442071234567", "name": "London Office"}


def test_callee_options_change_the_users_side_of_an_inbound_call():
    party = _party(_run("inbound_call", callee_number="+16505550155", callee_name="Front Desk")[0])
    assert party["to"]["phoneNumber"] == "+16505550155" and party["to"]["name"] == "Front Desk"


def test_a_90_second_call_takes_90_seconds_of_simulated_time():
    steps = _telephony(_run("inbound_call", ring_seconds=4, duration_seconds=90))
    at = {_party(s)["status"]["code"]: s.offset for s in steps}
    assert at["Answered"] - at["Proceeding"] == 4
    assert at["Disconnected"] - at["Answered"] == 90


def test_missed_call_timings_flags_and_voicemail():
    steps = _run("missed_call", ring_seconds=12, voicemail_seconds=33, caller_number="+14155550111")
    calls = _telephony(steps)
    at = {_party(s)["status"]["code"]: s.offset for s in calls}
    assert at["VoiceMail"] - at["Proceeding"] == 12 and at["Disconnected"] - at["VoiceMail"] == 33
    assert [_party(s)["missedCall"] for s in calls] == [False, False, True, True]
    voicemail = next(s for s in steps if s.event_path.endswith("/voicemail"))
    assert voicemail.offset > at["Disconnected"]
    assert voicemail.body["attachments"][0]["vmDuration"] == 33
    assert voicemail.body["from"]["phoneNumber"] == "+14155550111"
    store = next(s for s in steps if s.event_path.endswith("/message-store"))
    assert store.body["changes"][0]["newMessageIds"] == [int(voicemail.body["id"])]
    assert store.attributes == {"type": "VoiceMail", "direction": "Inbound"}


def test_zero_durations_are_allowed_and_keep_the_order():
    steps = _run("inbound_call", ring_seconds=0, duration_seconds=0)
    assert _sequence_of_events(steps)[-1] == "presence:NoCall"
    assert [s.offset for s in steps] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_recording_adds_recordings_from_answered_on():
    calls = _telephony(_run("inbound_call", recording=True))
    assert ["recordings" in _party(s) for s in calls] == [False, False, True, True]
    assert [r["active"] for s in calls[2:] for r in _party(s)["recordings"]] == [True, False]


def test_same_seed_same_steps_other_seed_other_ids():
    assert _run("missed_call", seed=9) == _run("missed_call", seed=9)
    first, other = _telephony(_run("missed_call", seed=9)), _telephony(_run("missed_call", seed=10))
    assert first[0].body["telephonySessionId"] != other[0].body["telephonySessionId"]


@pytest.mark.parametrize("name, options, named", [
    ("inbound_call", {"colour": "red"}, "unknown option 'colour' for inbound_call; options: caller_number"),
    ("inbound_call", {"duration_seconds": -5}, "option 'duration_seconds' must be a number of seconds"),
    ("inbound_call", {"ring_seconds": True}, "option 'ring_seconds'"),
    ("inbound_call", {"duration_seconds": 10**9}, "option 'duration_seconds'"),
    ("inbound_call", {"caller_number": "555-1234"}, "option 'caller_number' must be a phone number in E.164"),
    ("inbound_call", {"caller_number": 16505550123}, "option 'caller_number'"),
    ("inbound_call", {"caller_name": ""}, "option 'caller_name'"),
    ("inbound_call", {"recording": "yes"}, "option 'recording' must be true or false"),
    ("missed_call", {"duration_seconds": 30}, "unknown option 'duration_seconds' for missed_call"),
    ("missed_call", {"voicemail_seconds": -1}, "option 'voicemail_seconds'"),
    ("outbound_call", {"callee_number": "+0123"}, "option 'callee_number'"),
])
def test_bad_options_are_named(name, options, named):
    with pytest.raises(ScenarioError, match=re.escape(named)):
        _run(name, **options)


def test_an_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ScenarioError, match="unknown scenario 'conference'; scenarios: inbound_call, missed_call"):
        play("conference", ids(1), START, USER)


def test_options_must_be_a_mapping():
    with pytest.raises(ScenarioError, match="must be an object"):
        play("inbound_call", ids(1), START, USER, ["caller_number"])  # type: ignore[arg-type]


def test_scenario_options_lists_defaults():
    assert scenario_options("inbound_call")["duration_seconds"] == 60.0
    assert set(scenario_options("missed_call")) == {"caller_number", "caller_name", "callee_number", "callee_name",
                                                    "ring_seconds", "voicemail_seconds"}
