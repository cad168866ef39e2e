"""Timeline: a subscription's life from the platform's answers and delivery log. Real Simulator and receiver."""
from __future__ import annotations

import re
from typing import Iterator

import pytest
import requests

from rchelpers import (Simulator, SubscriptionClient, Timeline, WebhookReceiver, presence_filter, reminder_filter,
                       telephony_sessions_filter, voicemail_filter)

TOKEN = "tutorial-verification-token"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(journal=False, verification_token=TOKEN) as rx:
        yield rx


def _life(sim: Simulator, subs: SubscriptionClient, receiver: WebhookReceiver):
    """Created, one event, three reminders, a renewal (update to an hour), the receiver down, blacklisted."""
    sub = subs.create(receiver.url, [presence_filter(), reminder_filter(120, 30, expires_in=600)],
                      verification_token=TOKEN, expires_in=600)
    sim.trigger("presence", telephonyStatus="Ringing")
    sim.clock.advance(545)
    renewed = subs.update(sub.id, [presence_filter()], expires_in=3600)
    receiver.stop()
    sim.trigger("presence", telephonyStatus="CallConnected")
    sim.wait_for_deliveries(5)
    sim.clock.advance(600)
    return sub, renewed, subs.get(sub.id)


def test_the_text_form_tells_the_whole_life(sim: Simulator, subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    sub, renewed, now = _life(sim, subs, receiver)
    timeline = Timeline.build(sub, snapshots=[renewed, now], deliveries=sim.deliveries)
    lines = repr(timeline).splitlines()
    assert lines[0] == f"Timeline of subscription {sub.id[:8]} (platform clock, from 2026-01-01T00:00:00Z)"
    assert [line.split()[:2] for line in lines[1:7]] == [
        ["+0s", "created"], ["+0s", "delivered"], ["+8m00s", "reminder"], ["+8m30s", "reminder"],
        ["+9m00s", "reminder"], ["+9m05s", "renewed"]]
    assert lines[3].endswith("reminder    expiresIn=120") and lines[5].endswith("expiresIn=60")
    assert lines[6].endswith("renewed     now expires 2026-01-01T01:09:05Z")
    failures = [line for line in lines if " failed " in line]
    assert len(failures) == len([a for a in sim.deliveries if not a.ok])
    assert failures[0].split() == ["+9m05s", "failed", "presence,", "attempt", "1:", "Connection", "refused"]
    assert lines[-1].split()[:2] == ["+19m05s", "blacklisted"]
    assert not any("expire" in line.split()[1] for line in lines[1:])  # blacklisted: no expiry mark
    # The same log read over HTTP, as JSON, gives the same timeline.
    log = requests.get(sim.url + "/_sim/deliveries", timeout=5).json()
    records = log["records"] if isinstance(log, dict) else log
    assert repr(Timeline.build(sub, snapshots=[renewed, now], deliveries=records)) == repr(timeline)


def test_from_the_receivers_events_and_the_picture(sim: Simulator, subs: SubscriptionClient,
                                                   receiver: WebhookReceiver) -> None:
    sub = subs.create(receiver.url, [presence_filter(), reminder_filter(120, 30, expires_in=600)],
                      verification_token=TOKEN, expires_in=600)
    sim.clock.advance(545)
    timeline = Timeline.build(sub, events=receiver.events)
    assert [line.split()[1:] for line in repr(timeline).splitlines()[1:]] == [
        ["created", "lifetime", "10m00s"], ["reminder", "expiresIn=120"], ["reminder", "expiresIn=90"],
        ["reminder", "expiresIn=60"], ["expires"]]
    assert repr(Timeline.build(sub, events=receiver.events, now="2026-01-01T00:10:00Z")).endswith("expired")
    svg = timeline.svg()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r"<(circle|rect) ", svg)) == len(timeline.moments)
    assert timeline.svg() == svg and "<svg" in timeline._repr_html_()  # the same picture every time


def test_a_snapshot_of_another_subscription_is_refused(subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    one = subs.create(receiver.url, [presence_filter()])
    other = subs.create(receiver.url, [presence_filter()])
    with pytest.raises(ValueError, match="snapshot of subscription"):
        Timeline.build(one, snapshots=[other])


# --- a call's state sequence -------------------------------------------------------------------------
def _call_lines(timeline: Timeline) -> list[list[str]]:
    """The calls lane of the text form: ``[offset, state, detail...]`` per call state."""
    return [line.split()[:1] + line.split()[2:] for line in repr(timeline).splitlines()[1:] if line.split()[1] == "call"]


def test_a_calls_states_from_the_receivers_events(sim: Simulator, subs: SubscriptionClient,
                                                  receiver: WebhookReceiver) -> None:
    every = subs.create(receiver.url, [telephony_sessions_filter()], verification_token=TOKEN, expires_in=300)
    answered = subs.create(receiver.url, [telephony_sessions_filter(status_code="Answered")],
                           verification_token=TOKEN, expires_in=300)
    missed = subs.create(receiver.url, [telephony_sessions_filter(missed_call=True), voicemail_filter()],
                         verification_token=TOKEN, expires_in=300)
    inbound = sim.scenario("inbound_call", ring_seconds=6, duration_seconds=90)
    sim.clock.advance(97)  # a 90 s call takes 90 s of simulated time
    missed_call = sim.scenario("missed_call", ring_seconds=20, voicemail_seconds=15)
    sim.clock.advance(40)
    planned = [(step.at, step.summary["statusCode"]) for played in (inbound, missed_call) for step in played.steps
               if "statusCode" in step.summary]
    timeline = Timeline.build(every, events=receiver.events)
    lines = _call_lines(timeline)
    assert [(m.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), m.label) for m in timeline.moments if m.kind == "call"] == planned
    assert lines == [
        ["+0s", "Setup", "call", "1,", "sequence", "1"], ["+1s", "Proceeding", "call", "1,", "sequence", "2"],
        ["+7s", "Answered", "call", "1,", "sequence", "3"], ["+1m37s", "Disconnected", "call", "1,", "sequence", "4"],
        ["+1m37s", "Setup", "call", "2,", "sequence", "1"], ["+1m38s", "Proceeding", "call", "2,", "sequence", "2"],
        ["+1m58s", "VoiceMail", "call", "2,", "sequence", "3,", "missed"],
        ["+2m13s", "Disconnected", "call", "2,", "sequence", "4,", "missed"]]
    # a call's state is on the calls lane only, not also as a delivery; the subscription's life is still there
    kinds = [line.split()[1] for line in repr(timeline).splitlines()[1:]]
    assert kinds == ["created"] + ["call"] * 8 + ["expires"]
    # each subscription's timeline shows what its filters let through
    assert [line[1] for line in _call_lines(Timeline.build(answered, events=receiver.events))] == ["Answered"]
    only_missed = repr(Timeline.build(missed, events=receiver.events)).splitlines()[1:]
    assert [line.split()[1:3] for line in only_missed] == [
        ["created", "lifetime"], ["call", "VoiceMail"], ["call", "Disconnected"], ["delivered", "voicemail"], ["expires"]]
    # with the platform's delivery log, the attempts are on the deliveries lane and the states still on the calls lane
    both = Timeline.build(every, deliveries=sim.deliveries, events=receiver.events)
    assert _call_lines(both) == lines
    delivered = [line.split()[2:] for line in repr(both).splitlines() if " delivered " in line]
    assert delivered == [["telephony", "session"]] * 8


@pytest.mark.parametrize("sim_options", [{"seed": 75, "rate_limits": None, "duplicate_rate": 0.3,
                                          "reorder_window": 3}])
def test_a_state_that_arrived_late_is_marked(sim: Simulator, subs: SubscriptionClient,
                                             receiver: WebhookReceiver) -> None:
    sub = subs.create(receiver.url, [telephony_sessions_filter()], verification_token=TOKEN, expires_in=300)
    sim.scenario("inbound_call", ring_seconds=4, duration_seconds=30)
    sim.clock.advance(60)
    arrived = [event.body["sequence"] for event in receiver.events]
    assert sorted(arrived) == [1, 2, 3, 4] and arrived != [1, 2, 3, 4], f"seed 75 no longer reorders: {arrived}"
    late = {seq for i, seq in enumerate(arrived) if any(earlier > seq for earlier in arrived[:i])}
    timeline = Timeline.build(sub, events=receiver.events)
    lines = _call_lines(timeline)
    assert [int(line[5].rstrip(",")) for line in lines] == [1, 2, 3, 4]  # drawn at their eventTime, in call order
    for line in lines:
        sequence = int(line[5].rstrip(","))
        assert (" ".join(line).endswith(f"arrived after sequence {max(arrived[:arrived.index(sequence)])}")
                if sequence in late else "arrived" not in line), line
    assert [m.late for m in timeline.moments if m.kind == "call"] == [seq in late for seq in (1, 2, 3, 4)]
    svg = timeline.svg()
    assert svg.count("fill='white'") == len(late)  # a late state is drawn hollow, and the legend says so
    assert "○ arrived late" in timeline._repr_html_()
    assert receiver.stats.duplicates >= 1  # the second copy (same uuid) was not stored, so it is not drawn twice
    assert len(lines) == 4


def test_the_calls_lane_is_drawn_only_for_calls(sim: Simulator, subs: SubscriptionClient,
                                                receiver: WebhookReceiver) -> None:
    calls = subs.create(receiver.url, [telephony_sessions_filter()], verification_token=TOKEN, expires_in=300)
    presence = subs.create(receiver.url, [presence_filter()], verification_token=TOKEN, expires_in=300)
    sim.scenario("inbound_call", ring_seconds=6, duration_seconds=30)
    sim.clock.advance(60)
    with_calls, without = Timeline.build(calls, events=receiver.events), Timeline.build(presence, events=receiver.events)
    svg = with_calls.svg()
    assert ">calls</text>" in svg and ">calls</text>" not in without.svg()
    assert len(re.findall(r"<(circle|rect) ", svg)) == len(with_calls.moments)
    for state in ("Setup", "Disconnected"):  # the first and last states are far enough apart to be named
        assert f">{state}</text>" in svg
    assert svg == Timeline.build(calls, events=receiver.events).svg()  # the same picture every time
    assert "■ call" in with_calls._repr_html_() and "■ call" not in without._repr_html_()
    assert "arrived late" not in with_calls._repr_html_()  # in order: nothing hollow
    assert [line.split()[1:3] for line in repr(without).splitlines()[1:]] == [
        ["created", "lifetime"], ["delivered", "presence"], ["delivered", "presence"], ["delivered", "presence"],
        ["expires"]]
