"""The transport: a threaded stdlib HTTP/1.1 server that reads each request, hands it to a dispatch function
(the :class:`~rchelpers.simulator.routing.Router`'s) and writes the answer.

It refuses what it cannot read before any routing: chunked bodies (400), a bad ``Content-Length``
(400) and bodies over ``max_body_bytes`` (413), closing the connection after them.
"""
from __future__ import annotations

import http.server
import json
import logging
import selectors
import socket
import threading
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from rchelpers.simulator.errors import PlatformError, body_too_large, cannot_parse
from rchelpers.simulator.routing import SimRequest, SimResponse, error_response

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=UTF-8"
SERVER_NAME = "rchelpers-simulator"


class SimHandler(http.server.BaseHTTPRequestHandler):
    """Reads one request at a time (HTTP/1.1 keep-alive) and hands it to the server's dispatch function."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)
    server: "SimServer"

    def _handle(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = b""
        error: PlatformError | None = None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            error = cannot_parse("chunked request bodies are not supported: send Content-Length")
            self.close_connection = True
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0:
                    raise ValueError
            except ValueError:
                length, error = 0, cannot_parse("invalid Content-Length")
                self.close_connection = True
            if length > server.max_body_bytes:
                error = body_too_large(server.max_body_bytes)
                self.close_connection = True  # the unread body must not be taken for the next request
            elif length:
                body = self.rfile.read(length)
        request = SimRequest(self.command, parts.path, query, self.headers, body, self.client_address)
        response = error_response(error) if error else server.dispatch(request)
        self._send(response)

    def _send(self, response: SimResponse) -> None:
        if response.body is None:
            payload, content_type = b"", None
        elif isinstance(response.body, bytes):
            payload, content_type = response.body, response.headers.pop("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(response.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            content_type = JSON_TYPE
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and self.command != "HEAD" and response.status != 204:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def version_string(self) -> str:
        """The ``Server`` header."""
        return SERVER_NAME

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)


class SimServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that tracks its connections so that ``close_connections()`` leaves no thread behind.

    ``dispatch(request) -> SimResponse`` answers each request; bodies over ``max_body_bytes`` get 413.
    :meth:`serve_forever` waits on the listening socket and a wake-up socket, so :meth:`shutdown` returns
    as soon as the loop has seen it, instead of after the stdlib's polling interval.
    """

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatch: Callable[[SimRequest], SimResponse],
                 max_body_bytes: int) -> None:
        self.dispatch = dispatch
        self.max_body_bytes = max_body_bytes
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._shutdown_requested = threading.Event()
        self._loop_done = threading.Event()
        self._loop_done.set()  # no loop runs yet
        try:
            super().__init__(address, SimHandler)
        except BaseException:
            self._close_wake_sockets()
            raise

    def serve_forever(self, poll_interval: float | None = None) -> None:
        """Accept connections until :meth:`shutdown` (``poll_interval`` is ignored: shutdown wakes the loop)."""
        self._loop_done.clear()
        try:
            if self._shutdown_requested.is_set():
                return  # stopped before the loop began
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_reader, selectors.EVENT_READ)
                while not self._shutdown_requested.is_set():
                    ready = selector.select()
                    if self._shutdown_requested.is_set():
                        break
                    if any(key.fileobj is self.socket for key, _ in ready):
                        self._handle_request_noblock()  # type: ignore[attr-defined]  # stdlib's, not in typeshed
        except (OSError, ValueError):
            if not self._shutdown_requested.is_set():
                raise  # closed under a loop that was still wanted
        finally:
            self._loop_done.set()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the :meth:`serve_forever` loop and wait (bounded) until it has ended."""
        self._shutdown_requested.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass
        self._loop_done.wait(timeout)

    def server_close(self) -> None:
        """Close the listening socket and the wake-up sockets."""
        super().server_close()
        self._close_wake_sockets()

    def _close_wake_sockets(self) -> None:
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection in its own tracked daemon thread."""
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address),
                                  name=f"rc-sim-conn-{client_address[1]}", daemon=True)
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a broken connection instead of printing it."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Wake every connection thread (shutting its socket down) and wait for them, bounded."""
        with self._connections_lock:
            items = list(self._connections.items())
        for _, sock in items:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread, _ in items:
            thread.join(timeout)
