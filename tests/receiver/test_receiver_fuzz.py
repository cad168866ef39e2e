"""Bounded fuzzing of request parsing over a real socket: no 5xx, no crash, no stuck connection."""
from __future__ import annotations

import json
import threading
import time

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID_BODY = json.dumps({"uuid": "fuzz", "event": "/restapi/v1.0/account/~/extension/1/presence",
                         "body": {"presenceStatus": "Busy"}}).encode()
VALID_REQUEST = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Verification-Token: fuzz-token-1234\r\nContent-Length: " + str(len(VALID_BODY)).encode()
                 + b"\r\n\r\n" + VALID_BODY)
FUZZ_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# pieces that make parsers take unusual paths
TOKENS = [b"\r\n", b"\r\n\r\n", b"\n", b"\r", b":", b" ", b"\t", b"\x00", b"\xff", b"Content-Length: 0\r\n",
          b"Content-Length: 99999999999999999999\r\n", b"Transfer-Encoding: chunked\r\n", b"Expect: 100-continue\r\n",
          b"Validation-Token: v\r\n", b"Connection: close\r\n", b"GET", b"HTTP/1.0", b"HTTP/9.9", b"{", b"[", b'"',
          b"?auth_token=", b"%00", b"/webhook", "é".encode(), b"Content-Length: -1\r\n"]


def _check_replies(raw_exchange, port: int, data: bytes) -> None:
    for reply in raw_exchange(port, data, timeout=5, shut_write=True):
        assert reply.status < 500, f"{reply.status} {reply.body!r} for {data[:300]!r}"


def _receiver_is_healthy(rx) -> None:
    reply = requests.post(rx.url, json={"uuid": f"probe-{time.monotonic()}"},
                          headers={"Verification-Token": "fuzz-token-1234", "Connection": "close"}, timeout=5)
    assert reply.status_code == 200
    deadline = time.monotonic() + 5
    while rx.stats.connections and time.monotonic() < deadline:  # every fuzz connection is let go
        time.sleep(0.02)
    assert rx.stats.connections == 0


def test_fuzz_raw_bytes(make_receiver, raw_exchange):
    rx = make_receiver(verification_token="fuzz-token-1234", max_body_bytes=4096, read_timeout=2.0)
    _receiver_is_healthy(rx)  # every thread the receiver runs (its journal writer starts with the first event)
    threads_before = threading.active_count()

    @FUZZ_SETTINGS
    @given(st.one_of(st.binary(max_size=600),
                     st.lists(st.sampled_from(TOKENS) | st.binary(max_size=8), max_size=40).map(b"".join)))
    def run(data: bytes) -> None:
        _check_replies(raw_exchange, rx.port, data)

    run()
    _receiver_is_healthy(rx)
    assert threading.active_count() == threads_before


def test_fuzz_mutated_requests(make_receiver, raw_exchange):
    rx = make_receiver(verification_token="fuzz-token-1234", max_body_bytes=4096, read_timeout=2.0)

    @FUZZ_SETTINGS
    @given(st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "token"]),
                              st.integers(0, len(VALID_REQUEST)), st.binary(min_size=1, max_size=4),
                              st.sampled_from(TOKENS)), min_size=1, max_size=6))
    def run(mutations) -> None:
        data = bytearray(VALID_REQUEST)
        for kind, position, chunk, token in mutations:
            position = min(position, len(data))
            if kind == "insert":
                data[position:position] = chunk
            elif kind == "delete":
                del data[position:position + len(chunk)]
            elif kind == "replace":
                data[position:position + len(chunk)] = chunk
            else:
                data[position:position] = token
        _check_replies(raw_exchange, rx.port, bytes(data))

    run()
    _receiver_is_healthy(rx)
