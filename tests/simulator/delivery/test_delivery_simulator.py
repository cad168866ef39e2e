"""Delivery through the whole Simulator: trigger, filters, retries and blacklisting, the log and replay."""
from __future__ import annotations

import json

import pytest

from rchelpers import WebhookReceiver
from rchelpers.simulator import Simulator

SUBSCRIPTION = "/restapi/v1.0/subscription"
PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"

ACC, EXT = "37439510", "2253168021"  # the simulator's demo account and extension


def test_trigger_delivers_the_envelope_with_the_verification_token(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, verification_token="vt-secret-1")
    result = sim.trigger("presence")
    assert sim.wait_for_deliveries(5)
    handshake, request = hook.wait_for(2)
    assert handshake.header("Validation-Token") and handshake.body == b""
    assert request.header("Content-Type") == "application/json; charset=UTF-8"
    assert request.header("Accept") == "application/json"
    assert request.header("User-Agent") == "RingCentral-Webhook/8.3"
    assert request.header("Verification-Token") == "vt-secret-1"
    envelope = json.loads(request.body)
    assert list(envelope) == ["uuid", "event", "timestamp", "subscriptionId", "ownerId", "body"]
    assert envelope["event"] == f"/restapi/v1.0/account/{ACC}/extension/{EXT}/presence"
    assert envelope["subscriptionId"] == info["id"] and envelope["ownerId"] == EXT
    assert envelope["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert envelope == result.notifications[0].envelope()
    assert result.subscription_ids == [info["id"]]
    assert "verificationToken" not in json.dumps(info)


def test_no_verification_token_header_without_one(webhook_server, sim, api):
    hook = webhook_server("echo")
    api.subscribe(hook.url)
    sim.trigger("presence")
    assert sim.wait_for_deliveries(5)
    assert hook.wait_for(2)[1].header("Verification-Token") is None


def test_the_shipped_receiver_gets_events_with_its_token(sim, api):
    with WebhookReceiver(verification_token="vt-2", journal=False) as receiver:
        info = api.subscribe(receiver.url, verification_token="vt-2")
        sim.trigger("presence", telephonyStatus="CallConnected")
        (event,) = receiver.wait_for(1, timeout=5)
        assert event.subscription_id == info["id"] and event.owner_id == EXT
        assert event.body["telephonyStatus"] == "CallConnected"
        assert receiver.rejected == []


def test_filters_decide_who_receives(webhook_server, sim, api):
    hook = webhook_server("echo")
    presence = api.subscribe(hook.url, [PRESENCE])
    fax = api.subscribe(hook.url, ["/restapi/v1.0/account/~/extension/~/message-store?type=Fax&direction=Inbound"])
    sms = api.subscribe(hook.url, ["/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"])
    assert sim.trigger("message_store").subscription_ids == []
    assert sim.trigger("message_store", type="Fax", direction="Outbound").subscription_ids == []
    assert sim.trigger("message_store", type="Fax").subscription_ids == [fax["id"]]
    assert sim.trigger("presence").subscription_ids == [presence["id"]]
    assert sim.trigger("instant_sms").subscription_ids == [sms["id"]]
    assert sim.trigger("extension_info").subscription_ids == []
    assert sim.wait_for_deliveries(5)
    assert len(hook.requests) == 3 + 3  # three handshakes, three notifications


def test_detailed_presence_adds_active_calls(webhook_server, sim, api):
    hook = webhook_server("echo")
    api.subscribe(hook.url, [PRESENCE + "?detailedTelephonyState=true"])
    plain_hook = webhook_server("echo")
    api.subscribe(plain_hook.url, [PRESENCE])
    sim.trigger("presence")
    assert sim.wait_for_deliveries(5)
    detailed = json.loads(hook.wait_for(2)[1].body)
    plain = json.loads(plain_hook.wait_for(2)[1].body)
    assert detailed["event"].endswith("/presence?detailedTelephonyState=true")
    assert detailed["body"]["totalActiveCalls"] == 1 and detailed["body"]["activeCalls"][0]["telephonyStatus"] == "Ringing"
    assert "activeCalls" not in plain["body"]


def test_failures_retry_then_blacklist(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url)
    hook.mode = "status_404"
    sim.trigger("presence")
    assert sim.wait_for_deliveries(5)
    sim.clock.advance(700)
    reason = "Webhook responses with code: [404], reason: [Not Found]"
    status, got = api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")
    assert status == 200 and got["status"] == "Blacklisted"
    assert list(got)[-1] == "blacklistedData"
    assert got["blacklistedData"] == {"blacklistedAt": "2026-01-01T00:10:00.000Z", "reason": reason}
    assert list(got["blacklistedData"]) == ["reason", "blacklistedAt"]  # as in RingCentral's real blacklisted record
    status, listing = api.call_json("GET", SUBSCRIPTION)
    assert listing["records"][0]["status"] == "Blacklisted" and listing["records"][0]["blacklistedData"]["reason"] == reason
    attempts = sim.deliveries
    assert [a.simulated_time[11:19] for a in attempts] == [
        "00:00:00", "00:00:01", "00:00:06", "00:00:36", "00:01:36", "00:03:36", "00:05:36", "00:07:36", "00:09:36"]
    assert len(hook.requests) == 1 + 9
    hook.mode = "echo"
    assert sim.trigger("presence").subscription_ids == []
    sim.clock.advance(600)
    assert len(hook.requests) == 1 + 9


def test_refused_connections_blacklist_with_an_io_reason(webhook_server, make_sim, make_api):
    sim = make_sim(retry_schedule=[50], blacklist_after=120)
    api = make_api(sim)
    hook = webhook_server("echo")
    info = api.subscribe(hook.url)
    hook.stop()
    sim.trigger("presence")
    assert sim.wait_for_deliveries(5)
    sim.clock.advance(150)
    got = api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")[1]
    assert got["blacklistedData"]["reason"] == "I/O operation is failed. Details: [Connection refused]"
    assert [(a.attempt, a.simulated_time[14:19]) for a in sim.deliveries] == [(1, "00:00"), (2, "00:50"), (3, "01:40")]


def test_log_route_filters_and_replay_route(webhook_server, sim, api):
    hook = webhook_server("echo")
    first = api.subscribe(hook.url)
    second = api.subscribe(hook.url)
    sent = sim.trigger("presence").notifications
    assert sim.wait_for_deliveries(5)
    status, log = api.call_json("GET", f"/_sim/deliveries?subscriptionId={second['id']}", auth=False)
    assert status == 200 and [r["subscriptionId"] for r in log["records"]] == [second["id"]]
    record = log["records"][0]
    assert record["ok"] is True and record["status"] == 200 and record["attempt"] == 1
    assert record["simulatedTime"] == "2026-01-01T00:00:00.000Z" and record["latencyMs"] >= 0
    status, replayed = api.call_json("POST", f"/_sim/deliveries/{record['id']}/replay", auth=False)
    assert status == 200 and replayed["replayed"]["uuid"] == record["uuid"]
    sim.replay(sent[0].uuid)
    assert sim.wait_for_deliveries(5)
    bodies = [json.loads(r.body) for r in hook.requests[2:]]
    assert [b["uuid"] for b in bodies] == [sent[0].uuid, sent[1].uuid, sent[1].uuid, sent[0].uuid]
    assert bodies[1] == bodies[2]
    assert [a.replay for a in sim.deliveries] == [False, False, True, True]
    assert first["id"] in {a.subscription_id for a in sim.deliveries}


def test_replay_and_log_errors(sim, api):
    status, body = api.call_json("POST", "/_sim/deliveries/no-such-uuid/replay", auth=False)
    assert status == 404 and body["errorCode"] == "CMN-102" and "GET /_sim/deliveries" in body["message"]
    status, body = api.call_json("GET", "/_sim/deliveries?sub=1", auth=False)
    assert status == 400 and body["parameterName"] == "sub"


def test_replay_to_a_deleted_subscription_is_refused(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url)
    uuid = sim.trigger("presence").notifications[0].uuid
    assert sim.wait_for_deliveries(5)
    assert api.call_json("DELETE", f"{SUBSCRIPTION}/{info['id']}")[0] == 204
    status, body = api.call_json("POST", f"/_sim/deliveries/{uuid}/replay", auth=False)
    assert status == 400 and "no longer receives" in body["message"]
    assert len(hook.requests) == 2


def test_bad_delivery_options_are_refused_when_the_simulator_is_made():
    with pytest.raises(ValueError, match="delivery_timeout must be a number of seconds > 0"):
        Simulator(seed=1, delivery_timeout=0)
    with pytest.raises(ValueError, match="retry_schedule must be a non-empty list"):
        Simulator(seed=1, retry_schedule=[])
    with pytest.raises(ValueError, match="delivery_workers must be an integer >= 1"):
        Simulator(seed=1, delivery_workers=0)


def test_reset_forgets_the_log(webhook_server, sim, api):
    hook = webhook_server("echo")
    api.subscribe(hook.url)
    sim.trigger("presence")
    assert len(sim.deliveries) == 1
    sim.reset()
    assert sim.deliveries == [] and sim.trigger("presence").notifications == []
