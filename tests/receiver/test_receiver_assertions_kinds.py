"""The event kinds of ``assert_received``: one for each sample event the simulator sends, matched over real HTTP
(a seeded simulator delivering to a WebhookReceiver)."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from rchelpers import Config, RestClient, SubscriptionClient, TokenManager, WebhookReceiver
from rchelpers.simulator import Simulator
from rchelpers.testing import EVENT_KINDS, event_matches

EXTENSION = "/restapi/v1.0/account/~/extension/~"
FILTERS = [EXTENSION + "/presence", EXTENSION + "/telephony/sessions", EXTENSION + "/voicemail", EXTENSION + "/fax",
           EXTENSION + "/presence/dnd", EXTENSION + "/presence/line"]
TELEPHONY = "/restapi/v1.0/account/37439510/extension/2253168021/telephony/sessions"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=2, rate_limits=None) as running:
        yield running


@pytest.fixture
def receiver(tmp_path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(journal=tmp_path / "journal.jsonl") as started:
        yield started


@pytest.fixture
def subscribed(sim: Simulator, receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    """The receiver subscribed (one subscription, every filter enabled) to the demo user's events."""
    with TokenManager(Config.from_mapping(sim.credentials.as_env()), clock=sim.clock.now) as tokens:
        subscription = SubscriptionClient(RestClient(tokens)).create(receiver.url, FILTERS)
        assert subscription.is_active and not subscription.disabled_filters
        yield receiver


def test_every_sample_event_of_the_simulator_is_a_kind(sim: Simulator) -> None:
    kinds = requests.get(sim.url + "/_sim/events", timeout=5).json()["kinds"]
    assert set(kinds) <= set(EVENT_KINDS) | {"telephony_session"}
    for kind in kinds:
        event_matches("/", kind)  # known: no ValueError


def test_each_kind_matches_its_own_events_only(sim: Simulator, subscribed: WebhookReceiver) -> None:
    for kind in ("presence", "telephony_session", "missed_call", "voicemail", "fax", "dnd", "presence_line"):
        assert sim.trigger(kind).notifications, f"{kind} reached no filter"
    for kind, count in {"presence": 1, "telephony_sessions": 2, "telephony_session": 2, "missed_call": 1,
                        "voicemail": 1, "fax": 1, "dnd": 1, "presence_line": 1, "message_store": 0,
                        "reminder": 0}.items():
        subscribed.assert_received(kind, count=count)
    assert len(subscribed.events) == 7


def test_a_missed_call_kind_is_told_by_the_body_or_by_the_filter() -> None:
    missed_party = {"parties": [{"missedCall": True}]}
    assert event_matches(TELEPHONY, "missed_call", missed_party)
    assert event_matches(TELEPHONY + "?missedCall=true", "missed_call")  # a delivery log entry has no body
    assert not event_matches(TELEPHONY, "missed_call", {"parties": [{"missedCall": False}]})
    assert not event_matches(TELEPHONY, "missed_call")
    assert not event_matches(TELEPHONY.replace("telephony/sessions", "voicemail"), "missed_call", missed_party)


def test_a_failing_assertion_names_the_new_kinds(sim: Simulator, subscribed: WebhookReceiver) -> None:
    sim.trigger("voicemail")
    with pytest.raises(AssertionError) as failed:
        subscribed.assert_received("fax")
    assert "expected at least 1 'fax' event(s)" in str(failed.value) and "- 1. " in str(failed.value)
    with pytest.raises(ValueError, match="unknown event kind 'faxes': use one of .*voicemail, fax, dnd, presence_line"):
        subscribed.assert_received("faxes")
