"""A webhook that misbehaves on purpose, to test what the platform does when your receiver does.

:class:`FaultyWebhook` listens on loopback. Given your receiver's URL it is a proxy in front of it
(subscribe with ``faulty.url``; healthy, it forwards every request and its answer); without one it is
a stand-in that echoes the ``Validation-Token`` and answers 200. Switch its behaviour at any time::

    faulty.error(503)      # notifications get 503: the platform retries, then blacklists
    faulty.slow(5.0)       # answer after 5 s: slower than the platform's delivery timeout
    faulty.hang()          # never answer: the platform times out
    faulty.drop()          # close the connection without a word
    faulty.healthy()       # back to normal

Faults hit notifications only, so subscribing (the validation handshake) still works; pass
``fault_validation=True`` to fault validation requests too. :attr:`requests` records what came and
what it got.
"""
from __future__ import annotations

import http.client
import http.server
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FaultyWebhook", "FaultRecord", "FAULTS"]

log = logging.getLogger(__name__)

#: The behaviours of a :class:`FaultyWebhook`.
FAULTS = ("healthy", "slow", "error", "hang", "drop")
_FORWARDED_REQUEST_HEADERS = ("content-type", "validation-token", "verification-token", "user-agent", "accept")
_FORWARDED_REPLY_HEADERS = ("content-type", "validation-token", "retry-after")


@dataclass(frozen=True)
class FaultRecord:
    """One request a FaultyWebhook received: validation or notification, the fault applied, the status sent."""

    kind: str
    fault: str
    status: int | None
    path: str
    received_at: float = field(default_factory=time.time)


class FaultyWebhook:
    """A webhook on loopback that answers slowly, with an error, or not at all; a context manager.

    :param target_url: your receiver's URL to forward to (a proxy); None: a stand-in webhook.
    :param path: the path it serves (others get 404).
    :param fault_validation: apply faults to ``Validation-Token`` requests too.
    :param max_hang: the longest a hung request is held (seconds), so nothing waits forever.
    """

    def __init__(self, target_url: str | None = None, *, host: str = "127.0.0.1", path: str = "/webhook",
                 fault_validation: bool = False, max_hang: float = 60.0) -> None:
        if target_url is not None:
            parts = urlsplit(target_url)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"target_url must be an http:// URL of your receiver, e.g. rc_receiver.url, "
                                 f"not {target_url!r}")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', e.g. '/webhook', not {path!r}")
        self.target_url = target_url
        self.host = host
        self.path = path
        self.fault_validation = fault_validation
        self.max_hang = float(max_hang)
        self._lock = threading.Lock()
        self._fault = "healthy"
        self._delay = 0.0
        self._status = 503
        self._release = threading.Event()
        self._records: list[FaultRecord] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "FaultyWebhook":
        """Listen on a free loopback port in a background thread; returns self."""
        if self._server is not None:
            return self
        server = _Server((self.host, 0), _Handler)
        server.webhook = self
        self._server = server
        self._release.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"rc-faulty-webhook-{server.server_address[1]}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop serving, close the port (bounded)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._release.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> "FaultyWebhook":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The address to subscribe with, e.g. ``http://127.0.0.1:54321/webhook``."""
        if self._server is None:
            raise RuntimeError("the faulty webhook is not running: call start() or use it in a with block")
        return f"http://{self.host}:{self._server.server_address[1]}{self.path}"

    # --- behaviour ------------------------------------------------------------------------------------
    def healthy(self) -> None:
        """Answer normally (forward to the target, or 200 with the Validation-Token echoed)."""
        self._set("healthy")

    def slow(self, seconds: float) -> None:
        """Wait ``seconds`` (real time) before answering normally; the wait ends early when the behaviour changes."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        self._set("slow", delay=float(seconds))

    def error(self, status: int = 503) -> None:
        """Answer ``status`` (e.g. 500, 503, 404) without forwarding."""
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status from 100 to 599, not {status!r}")
        self._set("error", status=status)

    def hang(self) -> None:
        """Read requests and never answer: close them once the behaviour changes, at :meth:`stop` or after ``max_hang``."""
        self._set("hang")

    def drop(self) -> None:
        """Close each connection without answering."""
        self._set("drop")

    @property
    def fault(self) -> str:
        """The current behaviour, one of :data:`FAULTS`."""
        return self._fault

    @property
    def requests(self) -> list[FaultRecord]:
        """What arrived so far and what each got, oldest first."""
        with self._lock:
            return list(self._records)

    def _set(self, fault: str, *, delay: float | None = None, status: int | None = None) -> None:
        with self._lock:
            self._fault = fault
            if delay is not None:
                self._delay = delay
            if status is not None:
                self._status = status
            release, self._release = self._release, threading.Event()
        release.set()  # hung requests end (closed without an answer) when the behaviour changes
        log.info("faulty webhook %s: %s", self.path, fault)

    def _record(self, record: FaultRecord) -> None:
        with self._lock:
            self._records.append(record)

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        target = f" -> {self.target_url}" if self.target_url else ""
        return f"<FaultyWebhook {where}{target} {self._fault}>"

    # --- serving (request threads) ----------------------------------------------------------------------
    def _answer(self, handler: "_Handler", body: bytes) -> None:
        kind = "validation" if handler.headers.get("Validation-Token") is not None else "notification"
        with self._lock:
            fault, delay, status, release = self._fault, self._delay, self._status, self._release
        if kind == "validation" and not self.fault_validation:
            fault = "healthy"
        path = handler.path.partition("?")[0]
        if fault == "hang":
            release.wait(self.max_hang)  # then close without an answer, as a timed-out platform would see it
        if fault in ("hang", "drop"):
            self._record(FaultRecord(kind, fault, None, path))
            handler.close_connection = True
            return
        if fault == "slow":
            release.wait(delay)
        if fault == "error":
            handler.reply(status, [("Content-Type", "application/json")], b'{"error":"injected fault"}')
            self._record(FaultRecord(kind, fault, status, path))
            return
        status_sent, headers, reply = self._forward(handler, body)
        handler.reply(status_sent, headers, reply)
        self._record(FaultRecord(kind, fault, status_sent, path))

    def _forward(self, handler: "_Handler", body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        token = handler.headers.get("Validation-Token")
        if self.target_url is None:
            return 200, ([("Validation-Token", token)] if token is not None else []), b""
        parts = urlsplit(self.target_url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        headers = {name: value for name, value in handler.headers.items() if name.lower() in _FORWARDED_REQUEST_HEADERS}
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
        try:
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            reply = response.read()
            kept = [(name, value) for name, value in response.getheaders() if name.lower() in _FORWARDED_REPLY_HEADERS]
            return response.status, kept, reply
        except OSError as exc:
            log.warning("faulty webhook: the target %s did not answer: %s", self.target_url, exc)
            return 502, [("Content-Type", "application/json")], b'{"error":"the target receiver did not answer"}'
        finally:
            conn.close()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    webhook: FaultyWebhook

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client gone away is not news
        log.debug("faulty webhook: connection from %s ended with an error", client_address, exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        webhook = self.server.webhook
        if self.path.partition("?")[0] != webhook.path:
            self.reply(404, [("Content-Type", "text/plain")], b"not the webhook path")
            return
        webhook._answer(self, body)

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Send one whole answer."""
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        if self.close_connection:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        log.debug("faulty webhook: " + format, *args)
