"""Connection edge cases over raw sockets: half-close, pipelining, HEAD, a client that never reads, stop."""
from __future__ import annotations

import http.client
import json
import socket
import threading

import requests

from rchelpers import WebhookReceiver
from rchelpers.receiver.rules import MAX_VALIDATION_TOKEN


def test_client_that_half_closes_after_its_notification_still_gets_the_200(make_receiver, raw_exchange,
                                                                           notification_request, presence_envelope):
    rx = make_receiver()
    request = notification_request(rx.path, presence_envelope("half"), close=False)
    replies = raw_exchange(rx.port, request, shut_write=True)
    assert [r.status for r in replies] == [200]
    assert [e.uuid for e in rx.events] == ["half"]


def test_pipelined_notifications_then_half_close_are_all_answered(make_receiver, raw_exchange,
                                                                   notification_request, presence_envelope):
    rx = make_receiver()
    data = b"".join(notification_request(rx.path, presence_envelope(name), close=False) for name in "abc")
    replies = raw_exchange(rx.port, data + b"POST /webhook HTTP/1.1\r\nContent-Le", shut_write=True)
    assert [r.status for r in replies] == [200, 200, 200, 400]
    assert [e.uuid for e in rx.events] == ["a", "b", "c"]


def test_head_gets_a_405_without_a_body_and_the_connection_stays_usable(make_receiver, raw_exchange,
                                                                        notification_request, presence_envelope):
    rx = make_receiver()
    data = (f"HEAD {rx.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            + notification_request(rx.path, presence_envelope("after-head")))
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while received.count(b"HTTP/1.1 ") < 2 or not received.endswith(b"\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head_reply, _, rest = received.partition(b"\r\n\r\n")
    assert head_reply.startswith(b"HTTP/1.1 405 ") and b"Allow: POST" in head_reply
    assert rest.startswith(b"HTTP/1.1 200 "), "no body after the HEAD reply's headers"
    assert [e.uuid for e in rx.events] == ["after-head"]


def test_a_client_that_never_reads_its_replies_is_not_buffered_without_bound(make_receiver, presence_envelope):
    rx = make_receiver()
    request = f"POST {rx.path} HTTP/1.1\r\nHost: x\r\nValidation-Token: {'v' * 100}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        sock.settimeout(1.0)
        sent = 0
        try:
            for _ in range(200):  # 40 MB at most: more than the kernel buffers both ways hold
                sent += sock.send(request * 1400)
        except socket.timeout:
            pass
    assert sent < 200 * 1400 * len(request), "the receiver stops reading once the replies back up"
    assert rx.stats.validation_requests < sent // len(request)
    assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200


def test_the_largest_validation_reply_stays_under_1024_bytes(make_receiver, raw_exchange):
    rx = make_receiver()
    token = "t" * MAX_VALIDATION_TOKEN
    request = (f"POST {rx.path} HTTP/1.0\r\nConnection: keep-alive\r\nValidation-Token: {token}\r\n"
               "Content-Length: 0\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200 ") and f"Validation-Token: {token}".encode() in reply
    assert b"Connection: keep-alive" in reply
    assert len(reply) < 1024


def test_stop_under_load_keeps_memory_and_journal_in_step(tmp_path, presence_envelope):
    rx = WebhookReceiver(journal=tmp_path / "j.jsonl").start()
    acked: list[str] = []
    done = threading.Event()

    def client(prefix: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=5)
        try:
            for n in range(10_000):
                if done.is_set():
                    break
                body = json.dumps(presence_envelope(f"{prefix}-{n}"))
                connection.request("POST", rx.path, body, {"Content-Type": "application/json"})
                reply = connection.getresponse()
                reply.read()
                if reply.status == 200:
                    acked.append(f"{prefix}-{n}")
                if reply.getheader("Connection") == "close":
                    break
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()

    clients = [threading.Thread(target=client, args=(f"c{i}",), daemon=True) for i in range(8)]
    try:
        for thread in clients:
            thread.start()
        rx.wait_for(200, timeout=10)
        rx.stop()
    finally:
        done.set()
        rx.stop()
        for thread in clients:
            thread.join(10)
    journaled = [e.uuid for e in rx.replay_journal(tmp_path / "j.jsonl")]
    in_memory = [e.uuid for e in rx.events]
    assert in_memory == journaled, "every journaled notification is in memory too, in the same order"
    assert set(acked) <= set(journaled)
