"""The shared stand-in webhook fixtures behave as their modes promise."""
from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest


def _post(url: str, token: str | None = "tok-1", timeout: float = 5.0):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Validation-Token"] = token
    try:
        conn.request("POST", parts.path, body=b"", headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Validation-Token"), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "mode, status, echoed, size",
    [("echo", 200, "tok-1", 0), ("no_echo", 200, None, 0), ("wrong_echo", 200, "not-the-token-sent", 0),
     ("status_500", 500, "tok-1", 0), ("status_404", 404, "tok-1", 0), ("oversize", 200, "tok-1", 1500)],
)
def test_modes(webhook_server, mode, status, echoed, size):
    stub = webhook_server(mode)
    assert _post(stub.url) == (status, echoed, b"x" * size)
    (request,) = stub.wait_for(1)
    assert request.method == "POST" and request.path == "/webhook"
    assert request.header("validation-token") == "tok-1" and request.body == b""


def test_slow_mode_answers_after_the_delay(webhook_server):
    stub = webhook_server("slow", delay=0.5)
    with pytest.raises(socket.timeout):
        _post(stub.url, timeout=0.1)


def test_unknown_mode_is_refused(webhook_server):
    with pytest.raises(ValueError, match="unknown webhook mode"):
        webhook_server("sometimes")


def test_unreachable_url_refuses_connections(unreachable_url):
    with pytest.raises(ConnectionRefusedError):
        _post(unreachable_url)
