"""Subscription helpers against the simulator over real HTTP, and the local checks made before any request."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from rchelpers import (
    ApiError,
    Config,
    ConfigError,
    RestClient,
    Subscription,
    SubscriptionClient,
    extension_info_filter,
    extension_list_filter,
    instant_sms_filter,
    message_store_filter,
    presence_filter,
    reminder_filter,
)
from rchelpers.client.subscriptions import is_reminder_filter, parse_reminder_filter
from rchelpers.simulator import Simulator

START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a seeded simulator's frozen clock
VERIFICATION_TOKEN = "vt-5d1e0c9a7b3f4e21"


def test_filter_builders() -> None:
    assert presence_filter() == "/restapi/v1.0/account/~/extension/~/presence"
    assert presence_filter("101", detailed_telephony_state=True) == (
        "/restapi/v1.0/account/~/extension/101/presence?detailedTelephonyState=true"
    )
    assert message_store_filter(type="SMS", direction="Inbound") == (
        "/restapi/v1.0/account/~/extension/~/message-store?type=SMS&direction=Inbound"
    )
    assert message_store_filter() == "/restapi/v1.0/account/~/extension/~/message-store"
    assert instant_sms_filter() == "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"
    assert extension_info_filter() == "/restapi/v1.0/account/~/extension/~"
    assert extension_list_filter("42") == "/restapi/v1.0/account/42/extension"
    assert reminder_filter(60, 15) == "/restapi/v1.0/subscription/~?threshold=60&interval=15"
    assert parse_reminder_filter(reminder_filter(60, 15)) == (60, 15)
    assert parse_reminder_filter(presence_filter()) is None
    assert is_reminder_filter(reminder_filter(10, 5)) and not is_reminder_filter(presence_filter())


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: message_store_filter(type="sms"), "type must be one of Fax, SMS, VoiceMail, Pager"),
        (lambda: message_store_filter(direction="In"), "direction must be Inbound or Outbound"),
        (lambda: presence_filter("me"), "extension must be '~'"),
        (lambda: extension_list_filter("a/b"), "account must be '~'"),
        (lambda: reminder_filter(4, 5), "threshold=4 is less than the reminder job interval (5 s): use threshold >= 5"),
        (lambda: reminder_filter(60, 4), "interval=4 is less than the reminder job interval"),
        (lambda: reminder_filter(60, 31), "interval=31 is more than half the threshold (60, half 30): lower interval to <= 30"),
        (lambda: reminder_filter(60, 15, expires_in=100), "threshold=60 is more than half the subscription lifetime"),
        (lambda: reminder_filter(60.0, 15), "threshold must be a whole number of seconds > 0"),  # type: ignore[arg-type]
        (lambda: reminder_filter(True, 15), "threshold must be a whole number"),
        (lambda: reminder_filter(60, 0), "interval must be a whole number of seconds > 0"),
        (lambda: reminder_filter(20, 5, job_interval=30), "reminder job interval (30 s)"),
        (lambda: parse_reminder_filter("/restapi/v1.0/subscription/~?threshold=60"), "needs one whole-number threshold"),
    ],
)
def test_builder_errors_name_the_rule(call: Callable[[], Any], words: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert words in str(info.value)


def test_create_with_event_and_reminder_filters(subs: SubscriptionClient, hook: Any) -> None:
    reminder = reminder_filter(60, 15, expires_in=3600)
    sub = subs.create(hook.url, [presence_filter(detailed_telephony_state=True), reminder], expires_in=3600)
    assert isinstance(sub, Subscription)
    assert sub.is_webhook and sub.is_active and not sub.is_blacklisted
    assert (sub.transport, sub.address, sub.status) == ("WebHook", hook.url, "Active")
    assert sub.creation_time == START
    assert sub.expiration_time == START + timedelta(seconds=3600)
    assert sub.expires_in == 3600
    assert sub.uri.endswith(f"/restapi/v1.0/subscription/{sub.id}")
    assert sub.reminder_filters == [reminder]  # the reminder filter keeps its ~
    assert "~" not in sub.event_filters[0] and sub.event_filters[0].endswith("/presence?detailedTelephonyState=true")
    assert sub.raw["id"] == sub.id and sub.blacklisted_data is None
    assert len(hook.requests) == 1 and hook.requests[0].header("Validation-Token")  # the handshake happened
    assert sub.id in repr(sub) and "2 filters" in repr(sub)


def test_default_lifetime_is_seven_days(subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()])
    assert sub.expires_in == 604800
    assert sub.expiration_time == START + timedelta(days=7)


def test_verification_token_is_never_echoed(subs: SubscriptionClient, hook: Any, client_log: pytest.LogCaptureFixture,
                                            client_text: Callable[[], str]) -> None:
    sub = subs.create(hook.url, [presence_filter()], verification_token=VERIFICATION_TOKEN)
    fetched = subs.get(sub.id)
    for text in (repr(sub), str(sub.raw), str(fetched.raw), repr(subs.list_all()), client_text()):
        assert VERIFICATION_TOKEN not in text
    assert "verificationToken" not in sub.raw["deliveryMode"]


@pytest.mark.parametrize(
    ("filters", "kwargs", "words"),
    [
        (["/restapi/v1.0/subscription/~?threshold=400000&interval=60"], {},
         "more than half the subscription lifetime (expires_in=604800"),
        ([reminder_filter(60, 15)], {"expires_in": 100}, "threshold=60 is more than half the subscription lifetime"),
        (["/restapi/v1.0/subscription/~?threshold=60&interval=40"], {"expires_in": 3600}, "interval=40 is more than half"),
        (["/restapi/v1.0/subscription/~?threshold=3&interval=1"], {}, "less than the reminder job interval"),
        (["/restapi/v1.0/subscription/~?interval=5"], {}, "needs one whole-number threshold and interval"),
        ("/restapi/v1.0/account/~/extension/~/presence", {}, "not one string"),
        ([], {}, "event_filters is empty"),
        (["restapi/v1.0/account/~/extension/~/presence"], {}, "starting with '/'"),
        ([presence_filter()], {"expires_in": 0}, "expires_in must be a whole number of seconds > 0"),
        ([presence_filter()], {"expires_in": "3600"}, "expires_in must be a whole number"),
        ([presence_filter()], {"verification_token": ""}, "verification_token must be a non-empty string"),
    ],
)
def test_local_checks_send_no_request(sim: Simulator, subs: SubscriptionClient, hook: Any, filters: Any,
                                      kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError) as info:
        subs.create(hook.url, filters, **kwargs)
    assert words in str(info.value)
    assert not subs.client.tokens.is_logged_in  # not even a login was sent
    assert hook.requests == []  # no handshake: the platform never saw the request
    assert subs.list_all() == []


def test_bad_address_is_refused_locally(subs: SubscriptionClient) -> None:
    for address in ("abc.ngrok.app/webhook", "ftp://abc.ngrok.app/x", None):
        with pytest.raises(ValueError, match="address must be an http"):
            subs.create(address, [presence_filter()])  # type: ignore[arg-type]
    assert not subs.client.tokens.is_logged_in


@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1:8000/webhook", "http://localhost:8000/webhook", "http://192.168.1.20/hook", "http://[::1]:80/x"],
)
def test_loopback_address_refused_for_a_remote_platform(config: Config, address: str) -> None:
    remote = dataclasses.replace(config, server_url="https://platform.ringcentral.com")
    subs = SubscriptionClient(RestClient(remote))
    with pytest.raises(ConfigError) as info:
        subs.create(address, [presence_filter()])
    assert "rchelpers.open_tunnel" in str(info.value) and address in str(info.value)
    assert not subs.client.tokens.is_logged_in  # refused before any network I/O


def test_platform_on_the_lan_may_use_lan_addresses_but_not_our_loopback(config: Config) -> None:
    lan = SubscriptionClient(RestClient(dataclasses.replace(config, server_url="http://192.168.1.10:8090")))
    with pytest.raises(ConfigError, match="open_tunnel"):
        lan.create("http://127.0.0.1:8000/webhook", [presence_filter()])
    # a LAN address passes the local check; the request then fails on the network (nothing listens there)
    assert lan.check_address("http://192.168.1.20:8000/webhook") is None
    assert not lan.client.tokens.is_logged_in


def test_unreachable_webhook_is_refused_by_the_platform(subs: SubscriptionClient, unreachable_url: str) -> None:
    with pytest.raises(ApiError) as info:
        subs.create(unreachable_url, [presence_filter()])
    assert (info.value.status, info.value.error_code, info.value.message) == (400, "SUB-521",
                                                                              "WebHook is not reachable")


def test_list_get_and_filter_by_transport(sim: Simulator, subs: SubscriptionClient, hook: Any) -> None:
    created = subs.create(hook.url, [presence_filter()])
    legacy = sim.seed_subscription("PubNub", event_filters=[message_store_filter()])
    everything = subs.list_all()
    assert {s.id for s in everything} == {created.id, legacy["id"]}
    assert [s.id for s in subs.list_all(transport="WebHook")] == [created.id]
    assert [s.id for s in subs.list_all(transport="pubnub")] == [legacy["id"]]
    assert subs.list_all(transport="WebSocket") == []
    fetched = subs.get(created.id)
    assert fetched == created  # same fields (raw is not compared)
    assert subs.get(created).id == created.id  # a Subscription is accepted in place of its id


def test_renew_with_put_and_no_body(sim: Simulator, subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()], expires_in=3600)
    sim.clock.advance(1000)
    assert subs.get(sub.id).expires_in == 2600
    sent: list[Any] = []
    subs.client.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    renewed = subs.renew(sub.id)
    assert [(r.method, r.body) for r in sent] == [("PUT", None)]  # no body at all: not {} and not null
    assert "Content-Type" not in sent[0].headers
    assert renewed.expiration_time == START + timedelta(seconds=1000 + 3600)
    assert renewed.expires_in == 3600
    assert renewed.event_filters == sub.event_filters


def test_renew_with_post(sim: Simulator, subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()], expires_in=7200)
    sim.clock.advance(500)
    sent: list[Any] = []
    subs.client.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    renewed = subs.renew_with_post(sub)
    assert [(r.method, r.path_url, r.body) for r in sent] == [("POST", f"/restapi/v1.0/subscription/{sub.id}/renew", None)]
    assert renewed.expiration_time == START + timedelta(seconds=500 + 7200)


def test_update_filters_also_renews(sim: Simulator, subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()], expires_in=3600)
    sim.clock.advance(600)
    updated = subs.update(sub.id, [message_store_filter(type="SMS"), reminder_filter(600, 120)], expires_in=7200)
    assert len(updated.event_filters) == 2
    assert updated.event_filters[0].endswith("/message-store?type=SMS")
    assert updated.reminder_filters == [reminder_filter(600, 120)]
    assert updated.expiration_time == START + timedelta(seconds=600 + 7200)
    with pytest.raises(ValueError, match="more than half the subscription lifetime"):
        subs.update(sub.id, [reminder_filter(600, 120)], expires_in=1000)
    assert subs.get(sub.id).event_filters == updated.event_filters  # the refused update changed nothing


def test_delete_then_404(subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()])
    assert subs.delete(sub.id) is None
    for call in (subs.get, subs.renew, subs.renew_with_post, subs.delete):
        with pytest.raises(ApiError) as info:
            call(sub.id)
        assert (info.value.status, info.value.error_code, info.value.parameter_name) == (404, "CMN-102", "subscriptionId")
    assert subs.list_all() == []


def test_expired_subscription_is_gone(sim: Simulator, subs: SubscriptionClient, hook: Any) -> None:
    sub = subs.create(hook.url, [presence_filter()], expires_in=600)
    sim.clock.advance(601)
    with pytest.raises(ApiError) as info:
        subs.renew(sub.id)
    assert info.value.status == 404


def test_ids_are_quoted_and_checked(subs: SubscriptionClient) -> None:
    with pytest.raises(ApiError) as info:
        subs.get("../subscription")  # quoted: stays one path segment, not a traversal
    assert info.value.status == 404 and info.value.url.endswith("/subscription/..%2Fsubscription")
    with pytest.raises(ValueError, match="non-empty string"):
        subs.get("")


def test_a_blacklisted_record_as_the_platform_shows_it() -> None:
    # the shape of the blacklisted record in RingCentral's troubleshooting docs
    raw = {
        "uri": "https://platform.ringcentral.com/restapi/v1.0/subscription/1423e408-e25c-4421-8dd1-5f754e2f5648",
        "id": "1423e408-e25c-4421-8dd1-5f754e2f5648", "creationTime": "2022-03-18T01:45:30.573Z",
        "status": "Blacklisted", "eventFilters": ["/restapi/v1.0/glip/posts"],
        "expirationTime": "2037-03-14T01:45:30.573Z", "expiresIn": 464203396,
        "deliveryMode": {"transportType": "WebHook", "encryption": False, "address": "https://example.com/bot/webhook"},
        "blacklistedData": {"reason": "I/O operation is failed. Details: [Read timed out]",
                            "blacklistedAt": "2022-06-28T05:24:00.720Z"},
    }
    sub = Subscription.from_json(raw)
    assert sub.is_blacklisted and not sub.is_active and sub.is_webhook
    assert sub.blacklisted_data is not None and "Read timed out" in sub.blacklisted_data["reason"]
    assert sub.expiration_time == datetime(2037, 3, 14, 1, 45, 30, 573000, tzinfo=timezone.utc)
    assert "Blacklisted" in repr(sub) and sub.reminder_filters == []
