"""Stand-in webhook servers on loopback for handshake and delivery tests (used by ``tests/conftest.py``).

Import :class:`StubWebhook` from here when a fixture needs a wider scope than the function-scoped
``webhook_server`` factory. With ``ssl_context`` (a server-side :class:`ssl.SSLContext`) it serves HTTPS.
"""
from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


#: The behaviours a stand-in webhook can play.
WEBHOOK_MODES = ("echo", "no_echo", "wrong_echo", "status_500", "status_404", "oversize", "slow")


@dataclass
class RecordedRequest:
    """One request a stand-in webhook received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or None."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class StubWebhook:
    """A running stand-in webhook. ``mode`` may be changed while it runs (e.g. to make deliveries fail).

    Use it as a context manager (or call :meth:`stop`) to stop it."""

    def __init__(self, mode: str = "echo", delay: float = 1.0, path: str = "/webhook",
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if mode not in WEBHOOK_MODES:
            raise ValueError(f"unknown webhook mode {mode!r}; use one of {WEBHOOK_MODES}")
        self.mode = mode
        self.delay = delay
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self.tls_failures: list[str] = []  #: why each failed TLS handshake failed (HTTPS only)
        self._server = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._server.stub = self
        self._server.ssl_context = ssl_context
        self.port = self._server.server_address[1]
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                         name=f"stub-webhook-{self.port}", daemon=True)
        self._thread.start()

    def record(self, request: RecordedRequest) -> None:
        """Store one received request and wake up waiters."""
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    def serve_tls(self, ssl_context: ssl.SSLContext) -> None:
        """Serve the next connections with ``ssl_context`` (e.g. a certificate that went bad); HTTPS stubs only."""
        if self._server.ssl_context is None:
            raise ValueError("this stand-in webhook serves plain HTTP: pass ssl_context= when making it")
        self._server.ssl_context = ssl_context

    def record_tls_failure(self, reason: str) -> None:
        """Store why one TLS handshake failed and wake up waiters."""
        with self._arrived:
            self.tls_failures.append(reason)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait (bounded) until at least ``count`` requests arrived; returns a copy of them all."""
        return self._wait(self.requests, count, timeout, "requests")

    def wait_for_tls_failures(self, count: int, timeout: float = 5.0) -> list[str]:
        """Wait (bounded) until at least ``count`` TLS handshakes failed; returns a copy of their reasons."""
        return self._wait(self.tls_failures, count, timeout, "failed TLS handshakes")

    def _wait(self, items: list[T], count: int, timeout: float, what: str) -> list[T]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {what} within {timeout} s, got {len(items)}")
                self._arrived.wait(left)
            return list(items)

    def stop(self) -> None:
        """Stop serving and release the port (bounded)."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> "StubWebhook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietServer(http.server.ThreadingHTTPServer):
    """A threaded server that does not print a client's broken connection to stderr."""

    daemon_threads = True
    request_queue_size = 128
    ssl_context: ssl.SSLContext | None = None
    stub: StubWebhook | None = None

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        """Run the TLS handshake (HTTPS only) on the request's own thread, then serve the request."""
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(5.0)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError as exc:  # ssl.SSLError included: e.g. the client refused the certificate
            if self.stub is not None:
                self.stub.record_tls_failure(str(exc))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _make_handler(stub: StubWebhook) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads

        def do_POST(self) -> None:  # noqa: N802 (stdlib name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            stub.record(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))
            token = self.headers.get("Validation-Token")
            mode = stub.mode
            if mode == "slow":
                stub._stopping.wait(stub.delay)
            status = {"status_500": 500, "status_404": 404}.get(mode, 200)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if token is not None and mode != "no_echo":
                self.send_header("Validation-Token", "not-the-token-sent" if mode == "wrong_echo" else token)
            reply = b"x" * 1500 if mode == "oversize" else b""
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_PUT = do_DELETE = do_POST

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
            pass

    return Handler
