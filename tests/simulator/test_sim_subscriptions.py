"""The subscription API over HTTP: shapes, renewals, expiry, limits, filters and every documented error."""
from __future__ import annotations

import re

import pytest

from rchelpers.simulator import Simulator
from sim_api import PRESENCE, SUBSCRIPTION, SimApi, assert_error

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ACCOUNT, EXTENSION = "37439510", "2253168021"
REMINDER = "/restapi/v1.0/subscription/~?threshold=60&interval=15"


def test_create_returns_200_subscription_info_in_the_real_key_order(sim, api, hook):
    response = api.create(hook.url, [PRESENCE, REMINDER, "/restapi/v1.0/glip/posts"],
                          delivery={"verificationToken": "my-verification-token"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    info = response.json()
    assert list(info) == ["uri", "id", "creationTime", "status", "eventFilters", "expirationTime", "expiresIn",
                          "deliveryMode"]
    assert UUID4.match(info["id"])
    assert info["uri"] == f"{sim.url}{SUBSCRIPTION}/{info['id']}"
    assert info["creationTime"] == "2026-01-01T00:00:00.000Z" and ISO.match(info["expirationTime"])
    assert info["expirationTime"] == "2026-01-08T00:00:00.000Z" and info["expiresIn"] == 604800
    assert info["status"] == "Active"
    assert info["eventFilters"] == [f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence", REMINDER,
                                    "/restapi/v1.0/glip/posts"]
    assert info["deliveryMode"] == {"transportType": "WebHook", "encryption": False, "address": hook.url}
    assert "my-verification-token" not in response.text
    assert "my-verification-token" not in api.call("GET", SUBSCRIPTION).text
    assert sim.subscriptions.records[info["id"]].verification_token == "my-verification-token"


def test_handshake_request_is_a_post_with_a_uuid_token_and_empty_body(api, hook):
    api.create(hook.url)
    (request,) = hook.wait_for(1)
    assert request.method == "POST" and request.body == b""
    assert UUID4.match(request.header("Validation-Token"))
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "RingCentral-Webhook/8.3"


def test_expires_in_counts_down_and_is_the_remaining_lifetime(sim, api, hook):
    info = api.create(hook.url, expiresIn=3600).json()
    assert info["expiresIn"] == 3600
    sim.clock.advance(1000)
    got = api.call("GET", f"{SUBSCRIPTION}/{info['id']}").json()
    assert got["expiresIn"] == 2600 and got["expirationTime"] == info["expirationTime"]


def test_expires_in_is_clamped_to_the_observed_maximum(api, hook):
    assert api.create(hook.url, expiresIn=630_720_000).json()["expiresIn"] == 500_000_000  # as observed
    assert api.create(hook.url, expiresIn=473_040_000).json()["expiresIn"] == 473_040_000  # kept as asked


def test_the_spec_maximum_is_an_option(webhook_server, make_sim, make_api):
    client = make_api(make_sim(seed=3, max_expires_in=315_360_000))
    assert client.create(webhook_server("echo").url, expiresIn=500_000_000).json()["expiresIn"] == 315_360_000


@pytest.mark.parametrize("value", [0, -5, 1.5, "3600", True, [], 3600.0])
def test_bad_expires_in_is_cmn_101(sim, api, hook, value):
    assert_error(api.create(hook.url, expiresIn=value), 400, "CMN-101", "Parameter [expiresIn] value is invalid",
                 "expiresIn")
    assert sim.subscriptions.records == {}
    assert hook.requests == []  # refused before any handshake


def test_expires_in_null_means_default(api, hook):
    assert api.create(hook.url, expiresIn=None).json()["expiresIn"] == 604800


def test_expires_in_nested_in_delivery_mode_is_ignored(api, hook):
    info = api.create(hook.url, delivery={"expiresIn": 60}).json()
    assert info["expiresIn"] == 604800  # the Pipedream #5710 mistake: silently a 7-day subscription


def test_list_is_scoped_to_user_and_app_and_includes_legacy_records(sim, api, hook):
    first = api.create(hook.url).json()
    legacy = sim.seed_subscription("PubNub")
    socket_record = sim.seed_subscription("WebSocket")
    other = SimApi(sim, sim.second_app_credentials)
    try:
        other.login()
        theirs = other.create(hook.url).json()
        assert [r["id"] for r in other.records()] == [theirs["id"]]
        assert_error(other.call("GET", f"{SUBSCRIPTION}/{first['id']}"), 404, "CMN-102")
    finally:
        other.close()
    response = api.call("GET", SUBSCRIPTION)
    body = response.json()
    assert list(body) == ["uri", "records"] and body["uri"] == sim.url + SUBSCRIPTION
    assert [r["id"] for r in body["records"]] == [first["id"], legacy["id"], socket_record["id"]]
    assert [r["deliveryMode"]["transportType"] for r in body["records"]] == ["WebHook", "PubNub", "WebSocket"]
    assert body["records"][1]["deliveryMode"]["subscriberKey"].startswith("sub-c-")


def test_get_put_renew_delete(sim, api, hook):
    info = api.create(hook.url, expiresIn=1000).json()
    path = f"{SUBSCRIPTION}/{info['id']}"
    assert api.call("GET", path).json() == info
    sim.clock.advance(400)
    renewed = api.call("POST", path + "/renew")
    assert renewed.status_code == 200 and renewed.json()["expiresIn"] == 1000
    sim.clock.advance(400)
    empty_put = api.call("PUT", path, headers={"Content-Type": "application/json"})  # the SDK's put(url, {})
    assert empty_put.status_code == 200 and empty_put.json()["expiresIn"] == 1000
    assert empty_put.json()["expirationTime"] == "2026-01-01T00:30:00.000Z"
    sim.clock.advance(10)
    assert api.call("PUT", path, json={}).json()["expiresIn"] == 1000
    deleted = api.call("DELETE", path)
    assert deleted.status_code == 204 and deleted.content == b""
    for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/renew")):
        assert_error(api.call(method, path + suffix), 404, "CMN-102",
                     "Resource for parameter [subscriptionId] is not found", "subscriptionId")


def test_put_with_filters_updates_and_renews(sim, api, hook):
    info = api.create(hook.url, expiresIn=1000).json()
    path = f"{SUBSCRIPTION}/{info['id']}"
    sim.clock.advance(500)
    new_filters = ["/restapi/v1.0/account/~/extension/~/message-store?type=SMS"]
    updated = api.call("PUT", path, json={"eventFilters": new_filters, "deliveryMode": {"address": "ignored"}})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["eventFilters"] == [f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/message-store?type=SMS"]
    assert body["expiresIn"] == 1000 and body["deliveryMode"]["address"] == hook.url
    with_ttl = api.call("PUT", path, json={"eventFilters": new_filters, "expiresIn": 7200}).json()
    assert with_ttl["expiresIn"] == 7200
    assert api.call("POST", path + "/renew").json()["expiresIn"] == 7200  # the new lifetime is kept


def test_rejected_put_changes_nothing(sim, api, hook):
    info = api.create(hook.url, [PRESENCE], expiresIn=1000).json()
    path = f"{SUBSCRIPTION}/{info['id']}"
    sim.clock.advance(100)
    assert_error(api.call("PUT", path, json={"eventFilters": ["/nope"]}), 400, "SUB-508")
    assert_error(api.call("PUT", path, json={"eventFilters": [PRESENCE], "expiresIn": -1}), 400, "CMN-101")
    assert_error(api.call("PUT", path, data=b"{oops", headers={"Content-Type": "application/json"}), 400, "CMN-103")
    assert_error(api.call("PUT", path, json=[1]), 400, "CMN-104")
    assert api.call("GET", path).json() == {**info, "expiresIn": 900}


def test_websocket_records_cannot_be_renewed_over_http(sim, api):
    record = sim.seed_subscription("WebSocket")
    assert_error(api.call("POST", f"{SUBSCRIPTION}/{record['id']}/renew"), 400, "CMN-101",
                 parameter="deliveryMode.transportType")
    assert api.call("DELETE", f"{SUBSCRIPTION}/{record['id']}").status_code == 204


def test_legacy_pubnub_record_can_be_renewed(sim, api):
    record = sim.seed_subscription("PubNub", expires_in=900)
    sim.clock.advance(300)
    assert api.call("POST", f"{SUBSCRIPTION}/{record['id']}/renew").json()["expiresIn"] == 900


def test_expired_subscription_is_purged_by_the_clock_job(sim, api, hook):
    events = []
    sim.add_listener(lambda event, record: events.append((event, record.id)))
    info = api.create(hook.url, expiresIn=60).json()
    sim.clock.advance(59)
    assert [r["id"] for r in api.records()] == [info["id"]]
    sim.clock.advance(1)
    assert info["id"] not in sim.subscriptions.records  # the job removed it, without any API call
    assert events == [("created", info["id"]), ("expired", info["id"])]
    assert_error(api.call("GET", f"{SUBSCRIPTION}/{info['id']}"), 404, "CMN-102")
    assert api.records() == []


def test_expiry_is_also_checked_lazily(sim, api, hook):
    info = api.create(hook.url, expiresIn=60).json()
    sim.clock.clear()  # no job: only the lazy check can purge it
    sim.clock.advance(61)
    assert_error(api.call("POST", f"{SUBSCRIPTION}/{info['id']}/renew"), 404, "CMN-102")


def test_renewal_after_expiry_is_too_late(sim, api, hook):
    info = api.create(hook.url, expiresIn=60).json()
    sim.clock.advance(60)
    assert_error(api.call("PUT", f"{SUBSCRIPTION}/{info['id']}"), 404, "CMN-102")


def test_listeners_hear_every_change(sim, api, hook):
    events = []
    sim.add_listener(lambda event, record: events.append(event))
    path = f"{SUBSCRIPTION}/{api.create(hook.url).json()['id']}"
    api.call("POST", path + "/renew")
    api.call("PUT", path, json={"eventFilters": [PRESENCE]})
    api.call("DELETE", path)
    assert events == ["created", "renewed", "updated", "deleted"]


def test_subscription_limit(webhook_server, make_sim, make_api):
    hook = webhook_server("echo")
    small = make_sim(seed=3, subscription_limit=3)
    client = make_api(small)
    small.seed_subscription("PubNub")
    ids = [client.create(hook.url).json()["id"] for _ in range(2)]
    requests_before = len(hook.requests)
    assert_error(client.create(hook.url), 403, "SUB-505", "Subscriptions limit exceeded")
    assert len(hook.requests) == requests_before  # no handshake for a create that cannot succeed
    assert len(client.records()) == 3
    client.call("DELETE", f"{SUBSCRIPTION}/{ids[0]}")
    assert client.create(hook.url).status_code == 200


@pytest.mark.parametrize("event_filter, expanded", [
    ("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence?detailedTelephonyState=true"),
    ("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true&aggregated=true",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence?detailedTelephonyState=true&aggregated=true"),
    ("/restapi/v1.0/account/~/extension/~/message-store?type=SMS&direction=Inbound",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/message-store?type=SMS&direction=Inbound"),
    ("/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/message-store/instant?type=SMS"),
    ("/restapi/v1.0/account/~/extension/~", f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}"),
    ("/restapi/v1.0/account/~/extension", f"/restapi/v1.0/account/{ACCOUNT}/extension"),
    (f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence"),
    ("/account/~/extension/~/presence", f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence"),
    ("/restapi/v1.0/glip/groups", "/restapi/v1.0/glip/groups"),
    ("/team-messaging/v1/posts", "/team-messaging/v1/posts"),
])
def test_filter_families_and_tilde_expansion(api, hook, event_filter, expanded):
    response = api.create(hook.url, [event_filter])
    assert response.status_code == 200, response.text
    assert response.json()["eventFilters"] == [expanded]


@pytest.mark.parametrize("event_filter", [
    "/restapi/v1.0/account/~/extension/~/bogus",
    "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=maybe",
    "/restapi/v1.0/account/~/extension/~/message-store?messageType=SMS",
    "/restapi/v1.0/account/~/extension/~/message-store/instant",
    "/restapi/v1.0/account/abc/extension/~/presence",
    "/restapi/v1.0/subscription/~?threshold=60",
    "/restapi/v1.0/subscription/~?threshold=sixty&interval=15",
    "https://platform.ringcentral.com/restapi/v1.0/account/~/extension/~/presence",
    "presence",
])
def test_unknown_or_malformed_filters_are_sub_508(sim, api, hook, event_filter):
    # only the bad filter is named between the brackets, then why it is bad
    assert_error(api.create(hook.url, [PRESENCE, event_filter]), 400, "SUB-508",
                 f"Invalid event filters: [{event_filter}]: ", "eventFilters")
    assert sim.subscriptions.records == {} and hook.requests == []


@pytest.mark.parametrize("event_filter, code", [
    ("/restapi/v1.0/account/11111111/extension/~/presence", "SUB-406"),
    (f"/restapi/v1.0/account/{ACCOUNT}/extension/999/message-store", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/message-store/instant?type=SMS", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/presence", "SUB-408"),
])
def test_filters_for_someone_else_are_403(sim, api, hook, event_filter, code):
    assert_error(api.create(hook.url, [event_filter]), 403, code)
    assert sim.subscriptions.records == {}


@pytest.mark.parametrize("threshold, interval, ttl, rule", [
    (4, 2, 3600, "threshold (4) cannot be less than the reminder job interval"),
    (60, 4, 3600, "interval (4) cannot be less than the reminder job interval"),
    (1801, 60, 3600, "threshold (1801) cannot be greater than half of the subscription TTL"),
    (60, 31, 3600, "interval (31) cannot be greater than half of the threshold"),
])
def test_reminder_rules(sim, api, hook, threshold, interval, ttl, rule):
    event_filter = f"/restapi/v1.0/subscription/~?threshold={threshold}&interval={interval}"
    body = assert_error(api.create(hook.url, [PRESENCE, event_filter], expiresIn=ttl), 400, "SUB-508",
                        f"Invalid event filters: [{event_filter}]", "eventFilters")
    assert rule in body["message"]
    assert sim.subscriptions.records == {}


def test_reminder_rules_at_their_limits_pass(api, hook):
    ok = api.create(hook.url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=1800&interval=900"], expiresIn=3600)
    assert ok.status_code == 200, ok.text
    small = api.create(hook.url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=10&interval=5"], expiresIn=20)
    assert small.status_code == 200, small.text


def test_reminder_filter_alone_keeps_tilde_but_is_refused_alone_sub_515(sim, api, hook):
    reminder = "/restapi/v1.0/subscription/~?threshold=259200&interval=43200"
    response = api.create(hook.url, [PRESENCE, reminder])
    assert response.status_code == 200, response.text
    assert response.json()["eventFilters"][1] == reminder  # '~' kept
    count = len(sim.subscriptions.records)
    assert_error(api.create(hook.url, [reminder]), 400, "SUB-515",
                 "Subscription containing only reminder filter is not allowed")
    assert_error(api.call("PUT", f"{SUBSCRIPTION}/{response.json()['id']}", json={"eventFilters": [reminder]}),
                 400, "SUB-515")
    assert len(sim.subscriptions.records) == count and len(hook.requests) == 1  # one handshake: the first create
    assert sim.subscriptions.records[response.json()["id"]].event_filters[1] == reminder  # PUT changed nothing


def test_reminder_rules_checked_again_when_put_shortens_the_lifetime(api, hook):
    info = api.create(hook.url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=1800&interval=900"], expiresIn=3600).json()
    response = api.call("PUT", f"{SUBSCRIPTION}/{info['id']}", json={"expiresIn": 1000})
    assert_error(response, 400, "SUB-508")


def test_reminder_job_interval_option(webhook_server, make_sim, make_api):
    hook = webhook_server("echo")
    client = make_api(make_sim(seed=3, reminder_job_interval=60))
    response = client.create(hook.url, [PRESENCE, REMINDER])  # interval 15 < 60
    assert_error(response, 400, "SUB-508")
    assert "interval (15) cannot be less than the reminder job interval (60 s)" in response.json()["message"]


@pytest.mark.parametrize("body, code, parameter", [
    ({"deliveryMode": {"transportType": "WebHook", "address": "http://127.0.0.1:9/x"}}, "CMN-100", "eventFilters"),
    ({"eventFilters": [], "deliveryMode": {"transportType": "WebHook", "address": "x"}}, "CMN-101", "eventFilters"),
    ({"eventFilters": "/restapi/v1.0/glip/posts", "deliveryMode": {}}, "CMN-101", "eventFilters"),
    ({"eventFilters": [1], "deliveryMode": {}}, "CMN-101", "eventFilters"),
    ({"eventFilters": [PRESENCE]}, "CMN-100", "deliveryMode"),
    ({"eventFilters": [PRESENCE], "deliveryMode": "WebHook"}, "CMN-101", "deliveryMode"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"address": "http://x"}}, "CMN-100", "deliveryMode.transportType"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "PubNub"}}, "CMN-101",
     "deliveryMode.transportType"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook"}}, "CMN-100", "deliveryMode.address"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook", "address": "ftp://host/x"}},
     "CMN-101", "deliveryMode.address"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook", "address": "/webhook"}},
     "CMN-101", "deliveryMode.address"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook", "address": 42}},
     "CMN-101", "deliveryMode.address"),
    ({"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook", "address": "http://h/x",
                                                   "verificationToken": 5}}, "CMN-101",
     "deliveryMode.verificationToken"),
])
def test_missing_fields_and_wrong_types(sim, api, body, code, parameter):
    assert_error(api.call("POST", SUBSCRIPTION, json=body), 400, code, parameter=parameter)
    assert sim.subscriptions.records == {}


@pytest.mark.parametrize("raw, code", [(b"{not json", "CMN-103"), (b"\xff\xfe", "CMN-103"), (b"[1, 2]", "CMN-104"),
                                       (b"", "CMN-104"), (b"[" * 100000, "CMN-103")])
def test_unparsable_bodies(sim, api, raw, code):
    response = api.call("POST", SUBSCRIPTION, data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, code)
    assert sim.subscriptions.records == {}


def test_body_too_large_is_413(webhook_server):
    with Simulator(seed=3, rate_limits=None, max_body_bytes=1000) as small:
        client = SimApi(small)
        try:
            client.login()
            response = client.call("POST", SUBSCRIPTION, data=b"x" * 5000, headers={"Content-Type": "application/json"})
            assert_error(response, 413, "CMN-104")
            assert client.call("GET", SUBSCRIPTION).status_code == 200  # the server still answers
        finally:
            client.close()


def test_unknown_route_and_wrong_method(api):
    assert_error(api.call("GET", "/restapi/v1.0/account/~/extension/~"), 404, "CMN-120")
    response = api.call("PATCH", f"{SUBSCRIPTION}/abc")
    assert_error(response, 405, "CMN-202")
    assert response.headers["Allow"] == "DELETE, GET, PUT"
