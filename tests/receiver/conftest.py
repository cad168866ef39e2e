"""Fixtures for the receiver, journal and tunnel tests: receivers that are always stopped, and raw HTTP.

``make_receiver(**kwargs)`` starts a :class:`WebhookReceiver` (journal in ``tmp_path`` unless told
otherwise) and stops it at teardown. ``raw_exchange(port, data)`` sends raw bytes over a socket and
returns the parsed replies, so malformed requests can be sent exactly as written.
"""
from __future__ import annotations

import json
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from rchelpers import WebhookReceiver



def presence_envelope(event_uuid: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A presence notification as RingCentral sends it (the envelope of the developer guide's webhook pages)."""
    envelope: dict[str, Any] = {
        "uuid": event_uuid or str(uuid.uuid4()),
        "event": "/restapi/v1.0/account/~/extension/6610372004/presence",
        "timestamp": "2016-02-18T09:37:24.597Z",
        "subscriptionId": "9d38419f-645f-4ee3-a053-8cf1368c21c4",
        "ownerId": "6610372004",
        "body": {"extensionId": "6610372004", "telephonyStatus": "CallConnected", "sequence": 2698,
                 "presenceStatus": "Busy", "userStatus": "Available"},
    }
    envelope.update(overrides)
    return envelope


def notification_request(path: str, envelope: Any, headers: dict[str, str] | None = None,
                         *, close: bool = True) -> bytes:
    """Raw bytes of one notification POST."""
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json; charset=UTF-8",
             "User-Agent: RingCentral-Webhook/8.3", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class RawReply:
    """One HTTP reply read from a socket."""

    status: int
    headers: dict[str, str]
    body: bytes
    size: int

    def json(self) -> Any:
        return json.loads(self.body)


def parse_replies(data: bytes) -> list[RawReply]:
    """Split raw bytes into the replies they hold (each must carry Content-Length)."""
    replies = []
    while data:
        end = data.find(b"\r\n\r\n")
        assert end >= 0, f"incomplete reply head: {data[:200]!r}"
        head = data[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        size = end + 4 + length
        replies.append(RawReply(status, headers, data[end + 4:size], size))
        data = data[size:]
    return replies


def raw_exchange(port: int, data: bytes, *, timeout: float = 5.0, shut_write: bool = False) -> list[RawReply]:
    """Send ``data`` to the receiver and read until it closes the connection (bounded by ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            received += chunk
    return parse_replies(bytes(received))


@pytest.fixture
def make_receiver(tmp_path) -> Iterator[Callable[..., WebhookReceiver]]:
    """Factory ``make_receiver(**kwargs) -> started WebhookReceiver``; every one is stopped at teardown."""
    made: list[WebhookReceiver] = []

    def factory(**kwargs: Any) -> WebhookReceiver:
        kwargs.setdefault("journal", tmp_path / f"journal-{len(made)}.jsonl")
        receiver = WebhookReceiver(**kwargs).start()
        made.append(receiver)
        return receiver

    yield factory
    for receiver in made:
        receiver.stop()


@pytest.fixture(name="presence_envelope")
def _presence_envelope_fixture() -> Callable[..., dict[str, Any]]:
    """``presence_envelope(uuid=None, **overrides)``: a realistic presence notification."""
    return presence_envelope


@pytest.fixture(name="notification_request")
def _notification_request_fixture() -> Callable[..., bytes]:
    """``notification_request(path, envelope, headers=None, close=True)``: raw bytes of one POST."""
    return notification_request


@pytest.fixture(name="raw_exchange")
def _raw_exchange_fixture() -> Callable[..., list[RawReply]]:
    """``raw_exchange(port, data, timeout=5, shut_write=False)``: send raw bytes, return the replies."""
    return raw_exchange
