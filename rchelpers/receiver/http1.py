"""HTTP/1.1 for the webhook receiver: request parsing and a one-thread server built on :mod:`selectors`.

:class:`Server` multiplexes every connection on the thread that runs :meth:`Server.serve`: no thread
per request, so a slow client holds no thread, and a burst of connections waits in the listen
backlog instead of being dropped. It knows nothing of webhooks. For each complete request it calls
``handle(conn, request)``, which either answers at once with :meth:`Server.reply` or calls
:meth:`Server.defer` and answers later, from the loop thread (another thread hands work to the loop
with :meth:`Server.call_soon`). ``after_reads()`` runs once per loop turn, after the reads and before
the writes: the receiver groups that turn's notifications into one journal flush there.

Per connection, requests are answered in order; while one waits for its deferred reply, or the
client does not read its replies, the server reads at most :data:`MAX_PIPELINED_BYTES` ahead and then
stops reading, so memory stays bounded. A client that half-closes after its request still gets the
reply. Error replies that leave unread input behind half-close the connection and drain it for
:data:`LINGER_SECONDS` so the client sees the reply rather than a reset.
"""
from __future__ import annotations

import collections
import email.utils
import enum
import json
import logging
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Callable, Iterable

logger = logging.getLogger("rchelpers.receiver")  # one logger for the whole receiver

#: The request line and headers together may not exceed this (else 431).
MAX_HEAD_BYTES = 64 * 1024
#: Header lines at most (else 431).
MAX_HEADERS = 100
#: Bytes read ahead of a request still waiting for its reply, and bytes of replies a client has not
#: read, before the server stops reading from that connection.
MAX_PIPELINED_BYTES = 64 * 1024
#: Seconds an error reply's connection is drained before it is closed.
LINGER_SECONDS = 1.0
_RECV_BYTES = 65536
_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET_RE = re.compile(r"[\x00-\x20\x7f]")
_LISTENER = "listener"
_WAKE = "wake"


class HttpError(Exception):
    """A request that gets an error reply; ``close`` when the connection cannot be reused."""

    def __init__(self, status: int, reason: str, close: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.close = close


@dataclass
class HttpRequest:
    """One parsed request; ``started`` is the :func:`time.perf_counter` of its first byte.

    ``headers`` maps lowercased names to values (repeats joined with ``", "``); ``raw_headers`` keeps
    every header line as sent: ``(name, value)`` pairs in order, names as sent, values without the
    spaces around them.
    """

    method: str
    target: str
    version: str
    headers: dict[str, str]
    keep_alive: bool
    body_length: int
    started: float
    body: bytes = b""
    raw_headers: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The query string (without ``?``), empty when there is none."""
        return self.target.partition("?")[2]


def parse_head(head: bytes, started: float) -> HttpRequest:
    """Parse a request line and headers (without the blank line); raise :class:`HttpError` if invalid.

    ``headers`` has the names lowercased and repeated headers joined with ``", "``; ``raw_headers``
    keeps the lines as sent.
    """
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line: expected 'METHOD /path HTTP/1.1'")
    method, target, version = parts
    if not _TOKEN_RE.fullmatch(method):
        raise HttpError(400, "malformed method in the request line")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(400, "unsupported HTTP version: use HTTP/1.1")
    if not target or _BAD_TARGET_RE.search(target):
        raise HttpError(400, "malformed request target")
    if target[:8].lower().startswith(("http://", "https://")):  # absolute form: keep the path and query
        after_authority = target.split("://", 1)[1]
        slash = after_authority.find("/")
        target = after_authority[slash:] if slash >= 0 else "/"
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, f"more than {MAX_HEADERS} header lines")
    headers: dict[str, str] = {}
    raw_headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            raise HttpError(400, "obsolete header line folding is not accepted")
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise HttpError(400, "malformed header line: expected 'Name: value'")
        value = value.strip(" \t")
        if _BAD_VALUE_RE.search(value):
            raise HttpError(400, f"control character in header {name!r}")
        raw_headers.append((name, value))
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    return HttpRequest(method, target, version, headers, keep_alive, _body_length(method, headers), started,
                       raw_headers=tuple(raw_headers))


def _body_length(method: str, headers: dict[str, str]) -> int:
    """The body size announced by the headers (chunked bodies are refused with 411)."""
    transfer = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if transfer is not None:
        if length is not None:
            raise HttpError(400, "both Transfer-Encoding and Content-Length were sent")
        if transfer.strip().lower() == "chunked":
            raise HttpError(411, "chunked request bodies are not accepted: send a Content-Length")
        raise HttpError(400, "unsupported Transfer-Encoding")
    if length is None:
        if method in ("POST", "PUT", "PATCH") and "validation-token" not in headers:
            raise HttpError(411, "Content-Length required")
        return 0
    if not (length.isascii() and length.isdigit() and len(length) <= 18):
        raise HttpError(400, "invalid Content-Length (expected one decimal number)")
    return int(length)


class ConnectionState(enum.Enum):
    """Where a connection is in its life (the client's end of input is kept apart, in ``Connection.eof``)."""

    #: Reads and answers requests.
    OPEN = "open"
    #: Its current request awaits a deferred reply; later input waits unparsed.
    WAITING = "waiting"
    #: Closes once its queued replies are written.
    CLOSING = "closing"
    #: Once its replies are written, half-closes and drains (an error reply left input unread).
    CLOSING_TO_LINGER = "closing to linger"
    #: Half-closed: drains the client's input until it ends or :data:`LINGER_SECONDS` pass.
    LINGERING = "lingering"


_CLOSING_STATES = (ConnectionState.CLOSING, ConnectionState.CLOSING_TO_LINGER, ConnectionState.LINGERING)


class Connection:
    """One client connection (used on the loop thread only).

    ``state``: a :class:`ConnectionState`. ``eof``: the client has ended its side.
    ``events``: what the selector watches (0 when unregistered).
    """

    __slots__ = ("sock", "remote", "inbuf", "outbuf", "request", "started", "deadline", "state", "eof", "events")

    def __init__(self, sock: socket.socket, remote: str, deadline: float) -> None:
        self.sock = sock
        self.remote = remote
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.request: HttpRequest | None = None  # head parsed, body still arriving
        self.started = 0.0
        self.deadline = deadline
        self.state = ConnectionState.OPEN
        self.eof = False
        self.events = 0

    @property
    def waiting(self) -> bool:
        """A request awaits its deferred reply."""
        return self.state is ConnectionState.WAITING

    @property
    def closing(self) -> bool:
        """No more requests are read: the connection closes (or lingers) once its replies are written."""
        return self.state in _CLOSING_STATES


class Server:
    """Serve HTTP/1.1 on a bound, listening socket from the thread that calls :meth:`serve`.

    :param sock: the listening socket (made non-blocking here; closed when :meth:`serve` returns).
    :param handle: ``handle(conn, request)`` for every complete request; it calls :meth:`reply` or
        :meth:`defer`, or raises :class:`HttpError` for an error reply.
    :param refused: ``refused(conn, request_or_None, error)`` is told of every error reply.
    :param after_reads: called once per loop turn, after the turn's requests were handled.
    """

    def __init__(self, sock: socket.socket, *, handle: Callable[[Connection, HttpRequest], None],
                 refused: Callable[[Connection, HttpRequest | None, HttpError], None],
                 after_reads: Callable[[], None], max_body_bytes: int, read_timeout: float,
                 idle_timeout: float, max_connections: int) -> None:
        sock.setblocking(False)
        self._sock: socket.socket | None = sock
        self._handle = handle
        self._refused = refused
        self._after_reads = after_reads
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ, _LISTENER)
        self._accepting = True
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self._calls: collections.deque[Callable[[], object]] = collections.deque()
        self._conns: dict[int, Connection] = {}
        self._touched: set[Connection] = set()  # to write to and re-watch at the end of the turn
        self._ready: set[Connection] = set()  # buffered input to parse again
        self._deferred = 0
        self._stopping = False
        self._drain_until = 0.0
        self._latency_lock = threading.Lock()
        self._latencies: collections.deque[float] = collections.deque(maxlen=10_000)
        self._date = (0, "")

    # ----------------------------------------------------------------- any thread

    @property
    def connections(self) -> int:
        """Open client connections."""
        return len(self._conns)

    def latencies(self) -> list[float]:
        """Seconds from a request's first byte to its reply, for the last 10,000 replies."""
        with self._latency_lock:
            return list(self._latencies)

    def call_soon(self, function: Callable[[], object]) -> None:
        """Run ``function()`` on the loop thread at its next turn."""
        self._calls.append(function)
        self._wake()

    def stop(self, drain_timeout: float) -> None:
        """Ask :meth:`serve` to return: it stops accepting, waits up to ``drain_timeout`` seconds for
        the deferred replies (sent with ``Connection: close``), then closes every connection."""
        self._drain_until = time.monotonic() + drain_timeout
        self._stopping = True
        self._wake()

    def run_pending_calls(self) -> None:
        """After :meth:`serve` returned: run what :meth:`call_soon` queued too late for the loop."""
        while self._calls:
            self._calls.popleft()()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # full (a wake-up is already pending) or closed (the loop is gone)
            pass

    # ----------------------------------------------------------------- loop thread

    def serve(self) -> None:
        """Run the event loop until :meth:`stop`; then close every socket this server owns."""
        next_scan = time.monotonic() + 0.1
        try:
            while True:
                if self._stopping:
                    self._stop_accepting()
                    if self._deferred == 0 or time.monotonic() >= self._drain_until:
                        break
                for key, events in self._selector.select(0 if self._ready else 0.1):
                    if key.data is _LISTENER:
                        self._accept()
                    elif key.data is _WAKE:
                        self._drain_wake()
                    else:
                        self._on_events(key.data, events)
                while self._calls:
                    self._calls.popleft()()
                if self._ready:
                    ready, self._ready = self._ready, set()
                    for conn in ready:
                        if conn.sock.fileno() >= 0:
                            self._process_input(conn)
                self._after_reads()
                if self._touched:
                    touched, self._touched = self._touched, set()
                    for conn in touched:
                        self._flush(conn)
                now = time.monotonic()
                if now >= next_scan:
                    self._expire_connections(now)
                    next_scan = now + 0.1
        except Exception:  # pragma: no cover - a bug; keep the notebook alive and say so
            logger.exception("webhook receiver loop crashed; stopping it")
        finally:
            for conn in list(self._conns.values()):
                self._close(conn)
            self._stop_accepting()
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def defer(self, conn: Connection) -> None:
        """Mark ``conn``'s current request as answered later by :meth:`reply`, from the loop thread.

        Meanwhile the connection's next requests wait unparsed (at most :data:`MAX_PIPELINED_BYTES`).
        """
        conn.state = ConnectionState.WAITING
        self._deferred += 1

    def reply(self, conn: Connection, request: HttpRequest | None, status: int, *,
              extra: Iterable[tuple[str, str]] = (), body: bytes = b"", close: bool = False) -> None:
        """Queue a reply with ``Content-Type: application/json``; it is written at the end of the turn.

        The connection is closed after it when ``close``, when the client asked (``Connection: close``,
        HTTP/1.0 without keep-alive), or when the server is stopping.
        """
        if conn.waiting:
            conn.state = ConnectionState.OPEN
            self._deferred -= 1
            if conn.inbuf or conn.eof:
                self._ready.add(conn)  # the next pipelined request, or the end of the client's input
        started = request.started if request is not None else conn.started
        if started:
            with self._latency_lock:
                self._latencies.append(time.perf_counter() - started)
        if conn.sock.fileno() < 0:  # the client went away while its reply was deferred
            return
        close = close or self._stopping or request is None or not request.keep_alive
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Date: {self._http_date()}",
                 "Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines.extend(f"{name}: {value}" for name, value in extra)
        if close:
            lines.append("Connection: close")
            if not conn.closing:
                conn.state = ConnectionState.CLOSING
            conn.deadline = time.monotonic() + self.read_timeout  # time to take the reply
        else:
            assert request is not None  # close is forced above when there is no request
            if request.version == "HTTP/1.0":
                lines.append("Connection: keep-alive")
            conn.deadline = time.monotonic() + self.idle_timeout
        conn.outbuf += ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if request is None or request.method != "HEAD":
            conn.outbuf += body
        self._touched.add(conn)

    def _refuse(self, conn: Connection, error: HttpError, request: HttpRequest | None = None) -> None:
        """Answer with an error reply (JSON ``{"error": reason}``) and tell ``refused``."""
        self._refused(conn, request, error)
        body = json.dumps({"error": error.reason}).encode()
        extra = (("Allow", "POST"),) if error.status == 405 else ()
        self.reply(conn, request, error.status, extra=extra, body=body, close=error.close)
        if error.close:
            conn.state = ConnectionState.CLOSING_TO_LINGER
            conn.inbuf.clear()
            conn.request = None

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _stop_accepting(self) -> None:
        if self._sock is not None:
            if self._accepting:
                self._selector.unregister(self._sock)
                self._accepting = False
            self._sock.close()
            self._sock = None

    def _accept(self) -> None:
        assert self._sock is not None
        for _ in range(256):
            if len(self._conns) >= self.max_connections:  # the rest wait in the backlog
                self._selector.unregister(self._sock)
                self._accepting = False
                return
            try:
                sock, address = self._sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                logger.warning("accept failed: %s", exc)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, f"{address[0]}:{address[1]}", time.monotonic() + self.read_timeout)
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)
            conn.events = selectors.EVENT_READ
            self._on_events(conn, selectors.EVENT_READ)  # the request usually came with the connection

    def _on_events(self, conn: Connection, events: int) -> None:
        try:
            if events & selectors.EVENT_READ:
                self._on_readable(conn)
            if events & selectors.EVENT_WRITE:
                self._touched.add(conn)
        except Exception:  # a bug must cost one connection, not the receiver
            logger.exception("unexpected error on the connection from %s; closing it", conn.remote)
            self._close(conn)

    def _on_readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            conn.eof = True
            self._touched.add(conn)  # stop watching for input
        if conn.closing:  # the last reply is queued: drop what the client still sends
            if conn.eof and not conn.outbuf:
                self._close(conn)
            return
        if data:
            if conn.request is None and not conn.inbuf:
                conn.started = time.perf_counter()
                conn.deadline = time.monotonic() + self.read_timeout
            conn.inbuf += data
        if conn.waiting or len(conn.outbuf) >= MAX_PIPELINED_BYTES:
            if len(conn.inbuf) >= MAX_PIPELINED_BYTES:
                self._touched.add(conn)  # stop reading until the replies catch up
            return
        self._process_input(conn)

    def _process_input(self, conn: Connection) -> None:
        """Handle every complete request in the buffer, in order, until one is deferred."""
        while not conn.waiting and not conn.closing and len(conn.outbuf) < MAX_PIPELINED_BYTES:
            if conn.request is None:
                while conn.inbuf[:2] == b"\r\n":
                    del conn.inbuf[:2]
                end = conn.inbuf.find(b"\r\n\r\n")
                if end > MAX_HEAD_BYTES or (end < 0 and len(conn.inbuf) > MAX_HEAD_BYTES):
                    self._refuse(conn, HttpError(431, f"request head larger than {MAX_HEAD_BYTES} bytes"))
                    return
                if end < 0:
                    break
                try:
                    request = parse_head(bytes(conn.inbuf[:end]), conn.started or time.perf_counter())
                    if request.body_length > self.max_body_bytes:
                        raise HttpError(413, f"body of {request.body_length} bytes is over the limit of "
                                             f"{self.max_body_bytes} bytes")
                except HttpError as exc:
                    self._refuse(conn, exc)
                    return
                del conn.inbuf[:end + 4]
                conn.request = request
                if (request.body_length > len(conn.inbuf)
                        and request.headers.get("expect", "").lower() == "100-continue"):
                    conn.outbuf += b"HTTP/1.1 100 Continue\r\n\r\n"
                    self._touched.add(conn)
            request = conn.request
            if len(conn.inbuf) < request.body_length:
                break
            request.body = bytes(conn.inbuf[:request.body_length])
            del conn.inbuf[:request.body_length]
            conn.request = None
            try:
                self._handle(conn, request)
            except HttpError as exc:
                self._refuse(conn, exc, request)
            except Exception:
                logger.exception("unexpected error while handling %s %s", request.method, request.path)
                self.reply(conn, request, 500, close=True, body=b'{"error":"internal error"}')
            if conn.inbuf:
                conn.started = time.perf_counter()
                conn.deadline = time.monotonic() + self.read_timeout
        if conn.eof and not (conn.waiting or conn.closing or len(conn.outbuf) >= MAX_PIPELINED_BYTES):
            if conn.request is not None or conn.inbuf.strip():
                self._refuse(conn, HttpError(400, "connection closed before the request was complete"),
                             conn.request)
            else:
                conn.state = ConnectionState.CLOSING  # every request is answered: close once the replies are written
                self._touched.add(conn)

    def _flush(self, conn: Connection) -> None:
        """Write what the connection has queued, then close it or update what the selector watches."""
        if conn.sock.fileno() < 0:
            return
        if conn.outbuf:
            try:
                sent = conn.sock.send(conn.outbuf)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._close(conn)
                return
            del conn.outbuf[:sent]
        if conn.state in (ConnectionState.CLOSING, ConnectionState.CLOSING_TO_LINGER) and not conn.outbuf:
            if conn.state is ConnectionState.CLOSING or conn.eof:
                self._close(conn)
                return
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._close(conn)
                return
            conn.state = ConnectionState.LINGERING
            conn.deadline = time.monotonic() + LINGER_SECONDS
        if (not conn.waiting and not conn.closing and len(conn.outbuf) < MAX_PIPELINED_BYTES
                and (conn.eof or (conn.inbuf and conn.request is None))):
            self._ready.add(conn)  # input was left in the buffer while replies were backed up
        self._watch(conn)

    def _watch(self, conn: Connection) -> None:
        """Watch for input unless the client ended, or is too far ahead of its replies; for output if any."""
        if conn.eof:
            wanted = 0
        elif conn.closing:
            wanted = selectors.EVENT_READ  # drain, so closing does not reset the reply
        elif conn.waiting or len(conn.outbuf) >= MAX_PIPELINED_BYTES:
            wanted = selectors.EVENT_READ if len(conn.inbuf) < MAX_PIPELINED_BYTES else 0
        else:
            wanted = selectors.EVENT_READ
        if conn.outbuf:
            wanted |= selectors.EVENT_WRITE
        if wanted == conn.events:
            return
        if conn.events == 0:
            self._selector.register(conn.sock, wanted, conn)
        elif wanted == 0:
            self._selector.unregister(conn.sock)
        else:
            self._selector.modify(conn.sock, wanted, conn)
        conn.events = wanted

    def _expire_connections(self, now: float) -> None:
        for conn in list(self._conns.values()):
            if now < conn.deadline or conn.waiting:  # a request waiting for its reply is not the client's fault
                continue
            if conn.closing or conn.eof:
                self._close(conn)
            elif conn.request is not None or conn.inbuf.strip():
                self._refuse(conn, HttpError(408, f"request not complete within {self.read_timeout:g} s"),
                             conn.request)
                self._flush(conn)
            else:
                self._close(conn)

    def _close(self, conn: Connection) -> None:
        fd = conn.sock.fileno()
        if fd < 0:
            return
        if conn.events:
            self._selector.unregister(conn.sock)
            conn.events = 0
        del self._conns[fd]
        conn.sock.close()
        self._touched.discard(conn)
        self._ready.discard(conn)
        if not self._accepting and self._sock is not None and len(self._conns) < self.max_connections:
            self._selector.register(self._sock, selectors.EVENT_READ, _LISTENER)
            self._accepting = True
