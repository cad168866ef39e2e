"""Bad input over raw sockets: each gets a clear 4xx, none crashes the receiver or loses an accepted event."""
from __future__ import annotations

import json
import socket

import pytest
import requests

BODY = json.dumps({"uuid": "u-1", "event": "/restapi/v1.0/account/~/extension/1/presence", "body": {}}).encode()


def _post(path: str = "/webhook", body: bytes = BODY, extra: str = "", length: str | None = None,
          method: str = "POST", version: str = "HTTP/1.1") -> bytes:
    length_line = f"Content-Length: {len(body) if length is None else length}\r\n" if length != "" else ""
    return (f"{method} {path} {version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{length_line}{extra}Connection: close\r\n\r\n").encode("latin-1") + body


# (name, raw request, expected status)
BAD_REQUESTS = [
    ("body over the limit", _post(body=b"{" + b" " * 5000 + b"}"), 413),
    ("announced length over the limit, body never sent", _post(body=b"", length="99999999"), 413),
    ("malformed JSON", _post(body=b'{"uuid": '), 400),
    ("JSON array, not an object", _post(body=b"[1, 2]"), 400),
    ("JSON string, not an object", _post(body=b'"hello"'), 400),
    ("invalid UTF-8", _post(body=b'{"a": "\xff\xfe"}'), 400),
    ("deeply nested JSON", _post(body=b"[" * 1500 + b"]" * 1500), 400),
    ("empty body", _post(body=b""), 400),
    ("GET on the webhook path", _post(method="GET", body=b"", length=""), 405),
    ("PUT on the webhook path", _post(method="PUT"), 405),
    ("wrong path", _post(path="/other"), 404),
    ("path with a trailing slash", _post(path="/webhook/"), 404),
    ("missing Content-Length", _post(length=""), 411),
    ("negative Content-Length", _post(length="-5"), 400),
    ("non-numeric Content-Length", _post(length="ten"), 400),
    ("two different Content-Lengths", _post(extra="Content-Length: 3\r\n"), 400),
    ("chunked body", _post(length="", body=b"5\r\nhello\r\n0\r\n\r\n", extra="Transfer-Encoding: chunked\r\n"), 411),
    ("Transfer-Encoding and Content-Length", _post(extra="Transfer-Encoding: chunked\r\n"), 400),
    ("unknown Transfer-Encoding", _post(length="", extra="Transfer-Encoding: gzip\r\n"), 400),
    ("HTTP/2.0 request line", _post(version="HTTP/2.0"), 400),
    ("garbage request line", b"HELLO\r\n\r\n", 400),
    ("bad header line", _post(extra="NoColonHere\r\n"), 400),
    ("folded header", _post(extra="X-A: 1\r\n  continued\r\n"), 400),
    ("control character in a header", _post(extra="X-A: a\x01b\r\n"), 400),
    ("header section over 64 KiB", _post(extra="X-Big: " + "a" * 70000 + "\r\n"), 431),
    ("too many headers", _post(extra="".join(f"X-{i}: {i}\r\n" for i in range(150))), 431),
    ("Validation-Token over 512 characters", _post(body=b"", extra="Validation-Token: " + "v" * 600 + "\r\n"), 400),
    ("asterisk target", _post(path="*", method="OPTIONS", body=b"", length=""), 400),
    ("absolute-form target elsewhere", _post(path="http://127.0.0.1/other"), 404),
]


@pytest.mark.parametrize("name, request_bytes, expected", BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS])
def test_bad_request_gets_a_clear_error_and_changes_nothing(make_receiver, raw_exchange, presence_envelope,
                                                            name, request_bytes, expected):
    rx = make_receiver(max_body_bytes=4096)
    assert requests.post(rx.url, json=presence_envelope("kept"), timeout=5).status_code == 200
    replies = raw_exchange(rx.port, request_bytes, shut_write=True)
    assert [r.status for r in replies] == [expected], name
    reply = replies[0]
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"], "the reply says what was wrong"
    if expected == 405:
        assert reply.headers["allow"] == "POST"
    # the receiver still works and kept what it had accepted
    assert requests.post(rx.url, json=presence_envelope("after"), timeout=5).status_code == 200
    assert [e.uuid for e in rx.events] == ["kept", "after"]
    assert [e.uuid for e in rx.replay_journal(rx.journal_path)] == ["kept", "after"]
    assert rx.rejected[-1].status == expected


def test_slow_client_is_cut_off_by_the_read_timeout(make_receiver, presence_envelope):
    rx = make_receiver(read_timeout=0.3)
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"uuid\"")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"Connection: close" in reply
    assert rx.rejected[-1].status == 408
    assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200


def test_silent_connection_is_closed_after_the_read_timeout(make_receiver):
    rx = make_receiver(read_timeout=0.3)
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        assert sock.recv(4096) == b""  # closed without a reply: nothing was asked
    assert rx.stats.connections == 0


def test_many_slow_clients_do_not_block_a_fast_one(make_receiver, presence_envelope):
    rx = make_receiver(read_timeout=30.0)
    idle = [socket.create_connection(("127.0.0.1", rx.port), timeout=5) for _ in range(50)]
    try:
        for sock in idle:
            sock.sendall(b"POST /webhook HTTP/1.1\r\nContent-Len")
        # if they held the receiver, this would wait for their 30 s read timeout and time out
        assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
        assert rx.stats.connections >= 50
    finally:
        for sock in idle:
            sock.close()


def test_connection_closed_mid_request_is_answered_and_forgotten(make_receiver, raw_exchange, presence_envelope):
    rx = make_receiver()
    replies = raw_exchange(rx.port, b"POST /webhook HTTP/1.1\r\nContent-Length: 50\r\n\r\n{", shut_write=True)
    assert [r.status for r in replies] == [400]
    assert rx.events == []
    assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200


def test_burst_of_connections_fits_in_the_backlog(make_receiver, notification_request, presence_envelope):
    rx = make_receiver()
    socks = [socket.create_connection(("127.0.0.1", rx.port), timeout=5) for _ in range(200)]
    try:
        for index, sock in enumerate(socks):
            sock.sendall(notification_request(rx.path, presence_envelope(f"burst-{index}")))
        statuses = [sock.recv(4096)[:12] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert statuses == [b"HTTP/1.1 200"] * 200
    assert len(rx.events) == 200


def test_journal_write_failure_answers_503_and_stores_nothing(make_receiver, presence_envelope):
    rx = make_receiver(journal="/dev/full")  # every write fails with ENOSPC
    reply = requests.post(rx.url, json=presence_envelope(), timeout=5)
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "5"
    assert rx.events == []
    assert rx.stats.journal_errors == 1


def test_absolute_form_target_is_accepted(make_receiver, raw_exchange, notification_request, presence_envelope):
    rx = make_receiver()
    [reply] = raw_exchange(rx.port, notification_request(f"http://127.0.0.1:{rx.port}/webhook",
                                                         presence_envelope("absolute")))
    assert reply.status == 200
    assert [e.uuid for e in rx.events] == ["absolute"]
