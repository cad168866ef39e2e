"""Shared fixtures: stand-in webhook servers on loopback for handshake and delivery tests.

``webhook_server(mode="echo")`` starts a tiny threaded HTTP server on 127.0.0.1 that plays one
behaviour of a webhook receiver and records every request; the fixture stops every server it made.
``unreachable_url`` is a loopback URL on a port that was bound and then closed.
"""
from __future__ import annotations

import socket
from typing import Callable, Iterator

import pytest

from webhook_stub import WEBHOOK_MODES, RecordedRequest, StubWebhook

__all__ = ["WEBHOOK_MODES", "RecordedRequest", "StubWebhook", "unreachable_url", "webhook_server"]


@pytest.fixture
def webhook_server() -> Iterator[Callable[..., StubWebhook]]:
    """Factory ``webhook_server(mode="echo", delay=1.0, path="/webhook") -> StubWebhook``; all are stopped at teardown."""
    made: list[StubWebhook] = []

    def factory(mode: str = "echo", delay: float = 1.0, path: str = "/webhook") -> StubWebhook:
        stub = StubWebhook(mode, delay=delay, path=path)
        made.append(stub)
        return stub

    yield factory
    for stub in made:
        stub.stop()


@pytest.fixture
def unreachable_url() -> str:
    """A loopback URL whose port was bound and then closed, so nothing listens there."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/webhook"
