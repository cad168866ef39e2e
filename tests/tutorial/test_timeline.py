"""Timeline: a subscription's life from the platform's answers and delivery log. Real Simulator and receiver."""
from __future__ import annotations

import re
from typing import Iterator

import pytest
import requests

from rchelpers import Simulator, SubscriptionClient, Timeline, WebhookReceiver, presence_filter, reminder_filter

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
