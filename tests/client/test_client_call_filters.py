"""The filter builders for calls and messages beyond SMS: their strings, their checks, and the platform
accepting each and sending it the matching events (over real HTTP on loopback)."""
from __future__ import annotations

from typing import Any

import pytest

from rchelpers import (
    Config,
    RestClient,
    SubscriptionClient,
    TokenManager,
    WebhookReceiver,
    dnd_filter,
    fax_filter,
    presence_line_filter,
    telephony_sessions_filter,
    voicemail_filter,
)
from rchelpers.simulator import Simulator

BASE = "/restapi/v1.0/account/~/extension/~"


def test_call_filter_strings() -> None:
    assert telephony_sessions_filter() == BASE + "/telephony/sessions"
    assert telephony_sessions_filter(None) == "/restapi/v1.0/account/~/telephony/sessions"
    assert telephony_sessions_filter(direction="Inbound", missed_call=True, status_code="VoiceMail",
                                     phone_number="+16505550123", sip_data=True, with_recordings=False) == (
        BASE + "/telephony/sessions?direction=Inbound&missedCall=true&phoneNumber=+16505550123&sipData=true"
               "&statusCode=VoiceMail&withRecordings=false")
    assert voicemail_filter("101") == "/restapi/v1.0/account/~/extension/101/voicemail"
    assert fax_filter() == BASE + "/fax?direction=Inbound"
    assert dnd_filter() == BASE + "/presence/dnd"
    assert presence_line_filter() == BASE + "/presence/line"


@pytest.mark.parametrize("kwargs, message", [
    ({"status_code": "Ringing"}, "status_code must be one of Setup, Proceeding, Answered"),
    ({"direction": "inbound"}, "direction must be Inbound or Outbound"),
    ({"phone_number": "6505550123"}, "phone_number must be in E.164 format"),
    ({"missed_call": "yes"}, "missed_call must be True, False or None"),
    ({"account": "me"}, "account must be '~'"),
])
def test_call_filter_checks(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        telephony_sessions_filter(**kwargs)


def test_the_platform_accepts_them_and_a_missed_call_reaches_the_right_ones(sim: Simulator,
                                                                             subs: SubscriptionClient) -> None:
    with WebhookReceiver() as receiver:
        missed = subs.create(receiver.url, [telephony_sessions_filter(missed_call=True), voicemail_filter()])
        answered = subs.create(receiver.url, [telephony_sessions_filter(status_code="Answered"), fax_filter(),
                                              dnd_filter(), presence_line_filter()])
        assert not missed.raw.get("disabledFilters") and not answered.raw.get("disabledFilters")
        sim.scenario("missed_call")
        sim.clock.advance(120)
        events = receiver.wait_for(3, timeout=10)
        assert {e.subscription_id for e in events} == {missed.id}
        codes = [e.body["parties"][0]["status"]["code"] for e in events if "parties" in e.body]
        assert codes == ["VoiceMail", "Disconnected"]
        assert [e.body["type"] for e in events if "parties" not in e.body] == ["VoiceMail"]


def test_disabled_filters_are_shown_on_the_subscription(make_sim: Any, webhook_server: Any) -> None:
    sim = make_sim(permissions=["ReadPresence", "ReadMessages", "SubscriptionWebhook"])
    config = Config.from_mapping(sim.credentials.as_env(), source="simulator")
    with TokenManager(config, clock=sim.clock.now) as tokens, RestClient(tokens) as client:
        sub = SubscriptionClient(client).create(webhook_server("echo").url,
                                                [voicemail_filter(), telephony_sessions_filter(missed_call=True)])
    assert sub.event_filters == ("/restapi/v1.0/account/37439510/extension/2253168021/voicemail",)
    assert [d["filter"] for d in sub.disabled_filters] == [
        "/restapi/v1.0/account/37439510/extension/2253168021/telephony/sessions?missedCall=true"]
    assert "[CallControl]" in sub.disabled_filters[0]["message"]
    assert repr(sub).endswith("1 filter, 1 disabled>")
