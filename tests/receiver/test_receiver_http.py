"""The receiver over real HTTP on loopback: handshake, notifications, tokens, dedupe, connections."""
from __future__ import annotations

import json
import socket

import requests

from rchelpers import WebhookEvent

TOKEN = "verify-me-0123456789"


def test_validation_token_is_echoed_with_a_tiny_json_reply(make_receiver, raw_exchange):
    rx = make_receiver()
    request = (f"POST {rx.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Validation-Token: 11112222-3333-4444-5555-666677778888\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n").encode()
    [reply] = raw_exchange(rx.port, request)
    assert reply.status == 200
    assert reply.headers["validation-token"] == "11112222-3333-4444-5555-666677778888"
    assert reply.headers["content-type"] == "application/json"
    assert reply.size < 1024
    assert rx.stats.validation_requests == 1
    assert rx.events == []


def test_validation_without_content_length_or_verification_token_still_succeeds(make_receiver, raw_exchange):
    rx = make_receiver(verification_token=TOKEN)
    request = f"POST {rx.path} HTTP/1.1\r\nValidation-Token: abc\r\nConnection: close\r\n\r\n".encode()
    [reply] = raw_exchange(rx.port, request)
    assert (reply.status, reply.headers["validation-token"]) == (200, "abc")


def test_notification_is_parsed_into_an_event(make_receiver, presence_envelope):
    rx = make_receiver(verification_token=TOKEN)
    envelope = presence_envelope("045b81dc-9f73-4864-84de-08aa6324a7f5")
    reply = requests.post(rx.url, json=envelope, timeout=5,
                          headers={"Verification-Token": TOKEN, "User-Agent": "RingCentral-Webhook/8.3"})
    assert reply.status_code == 200
    [event] = rx.events
    assert isinstance(event, WebhookEvent)
    assert event.uuid == "045b81dc-9f73-4864-84de-08aa6324a7f5"
    assert event.event == envelope["event"]
    assert event.subscription_id == envelope["subscriptionId"]
    assert event.owner_id == "6610372004"
    assert event.timestamp == "2016-02-18T09:37:24.597Z"
    assert event.body["telephonyStatus"] == "CallConnected"
    assert event.raw == envelope
    assert event.headers["user-agent"] == "RingCentral-Webhook/8.3"
    assert TOKEN not in json.dumps(event.headers), "the verification token must be masked"
    assert "verification-token" in event.headers
    assert not event.is_reminder
    assert "045b81dc" in repr(event) and len(repr(event)) < 250


def test_reminder_events_are_flagged(make_receiver, presence_envelope):
    rx = make_receiver()
    envelope = presence_envelope(event="/restapi/v1.0/subscription/~?threshold=60&interval=15",
                                 body={"expiresIn": 55})
    assert requests.post(rx.url, json=envelope, timeout=5).status_code == 200
    assert rx.wait_for(1, timeout=5)[0].is_reminder


def test_owner_id_is_read_from_the_body_when_not_at_top_level(make_receiver, presence_envelope):
    rx = make_receiver()
    envelope = presence_envelope()
    del envelope["ownerId"]
    envelope["body"]["ownerId"] = "42"
    requests.post(rx.url, json=envelope, timeout=5)
    assert rx.events[0].owner_id == "42"


def test_verification_token_right_wrong_and_missing(make_receiver, presence_envelope):
    rx = make_receiver(verification_token=TOKEN)
    right = requests.post(rx.url, json=presence_envelope(), headers={"Verification-Token": TOKEN}, timeout=5)
    wrong = requests.post(rx.url, json=presence_envelope(), headers={"Verification-Token": TOKEN + "x"}, timeout=5)
    missing = requests.post(rx.url, json=presence_envelope(), timeout=5)
    assert (right.status_code, wrong.status_code, missing.status_code) == (200, 403, 403)
    assert len(rx.events) == 1
    reasons = [r.reason for r in rx.rejected]
    assert reasons == ["Verification-Token does not match", "Verification-Token header missing"]
    assert all(r.status == 403 for r in rx.rejected)
    assert TOKEN not in repr(rx.rejected)
    assert rx.stats.rejected == 2 and rx.stats.received == 1


def test_auth_token_in_the_query(make_receiver, presence_envelope):
    secret = "query-secret-abcdef123456"
    rx = make_receiver(auth_token=secret)
    assert rx.url.endswith(f"/webhook?auth_token={secret}")
    assert secret not in repr(rx)
    base = rx.url.split("?")[0]
    assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
    assert requests.post(base, json=presence_envelope(), timeout=5).status_code == 403
    assert requests.post(base + "?auth_token=nope", json=presence_envelope(), timeout=5).status_code == 403
    assert requests.post(base, headers={"Validation-Token": "v"}, timeout=5).status_code == 403
    assert requests.post(rx.url, headers={"Validation-Token": "v"}, timeout=5).status_code == 200
    assert len(rx.events) == 1
    assert [r.reason for r in rx.rejected][:2] == ["auth_token query parameter missing",
                                                   "auth_token query parameter does not match"]
    assert all(secret not in r.path for r in rx.rejected)


def test_redelivery_of_a_uuid_is_acknowledged_but_stored_once(make_receiver, presence_envelope):
    rx = make_receiver()
    envelope = presence_envelope("same-uuid")
    replies = [requests.post(rx.url, json=envelope, timeout=5).status_code for _ in range(3)]
    assert replies == [200, 200, 200]
    assert [e.uuid for e in rx.events] == ["same-uuid"]
    assert rx.stats.duplicates == 2
    assert len(rx.replay_journal(rx.journal_path)) == 1


def test_keep_alive_serves_several_requests_on_one_connection(make_receiver, notification_request,
                                                              presence_envelope):
    rx = make_receiver()
    with requests.Session() as session:
        for _ in range(5):
            reply = session.post(rx.url, json=presence_envelope(), timeout=5)
            assert reply.status_code == 200
            assert reply.headers.get("Connection") != "close"
    assert len(rx.events) == 5


def test_pipelined_requests_get_replies_in_order(make_receiver, notification_request, presence_envelope,
                                                  raw_exchange):
    rx = make_receiver()
    data = (notification_request(rx.path, presence_envelope("a"), close=False)
            + notification_request("/elsewhere", presence_envelope("b"), close=False)
            + notification_request(rx.path, presence_envelope("c"), close=True))
    replies = raw_exchange(rx.port, data)
    assert [r.status for r in replies] == [200, 404, 200]
    assert [e.uuid for e in rx.events] == ["a", "c"]


def test_connection_close_is_sent_when_the_client_asks(make_receiver, notification_request, presence_envelope,
                                                       raw_exchange):
    rx = make_receiver()
    [reply] = raw_exchange(rx.port, notification_request(rx.path, presence_envelope(), close=True))
    assert reply.status == 200
    assert reply.headers["connection"] == "close"


def test_http10_client_gets_a_closed_connection(make_receiver, presence_envelope, raw_exchange):
    rx = make_receiver()
    body = json.dumps(presence_envelope()).encode()
    request = f"POST {rx.path} HTTP/1.0\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    [reply] = raw_exchange(rx.port, request)
    assert reply.status == 200 and reply.headers["connection"] == "close"


def test_expect_100_continue(make_receiver, presence_envelope):
    rx = make_receiver()
    body = json.dumps(presence_envelope()).encode()
    head = (f"POST {rx.path} HTTP/1.1\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        sock.sendall(head)
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 OK")
    assert len(rx.events) == 1


def test_numeric_uuid_and_envelope_without_uuid_are_kept(make_receiver, presence_envelope):
    rx = make_receiver()
    requests.post(rx.url, json=presence_envelope(2661273919712564939), timeout=5)
    requests.post(rx.url, json=presence_envelope(2661273919712564939), timeout=5)
    no_uuid = presence_envelope()
    del no_uuid["uuid"]
    requests.post(rx.url, json=no_uuid, timeout=5)
    assert [e.uuid for e in rx.events] == ["2661273919712564939", None]
