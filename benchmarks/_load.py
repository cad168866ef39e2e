"""A small closed-loop HTTP load generator that runs in separate processes.

Each worker process drives its share of the clients with non-blocking sockets and one selector, so
the load generator never competes for the GIL of the server it measures. A client sends one
request, waits for the whole reply, records the latency (connect included when it opens a new
connection), then sends the next: on the same connection (keep-alive) or on a new one.

    >>> result = run_load("http://127.0.0.1:8000/webhook", body, headers, clients=8, duration=3.0)
    >>> result.rps, result.p99_ms, result.errors
"""
from __future__ import annotations

import errno
import multiprocessing
import selectors
import socket
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["LoadResult", "run_load", "build_request", "UUID_MARKER"]

#: Put this in a body to give every request a fresh uuid4 in its place (same length, so the
#: Content-Length stays right): a receiver that deduplicates must then store every request.
UUID_MARKER = b"00000000-0000-0000-0000-000000000000"


@dataclass
class LoadResult:
    """What a load run measured: completed requests, error counts by kind, latencies in ms."""

    clients: int
    keep_alive: bool
    duration: float
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    #: the age (ms) of each request still unanswered when the run ended (not in ``latencies_ms``)
    unfinished_ms: list[float] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        """Connections refused, reset, timed out, or replies that could not be parsed."""
        return sum(self.errors.values())

    @property
    def timeouts(self) -> int:
        """Requests abandoned after the timeout without a reply (also in :attr:`error_count`)."""
        return self.errors.get("timeout", 0)

    @property
    def non_200(self) -> int:
        """Replies with a status other than 200."""
        return sum(count for status, count in self.statuses.items() if status != 200)

    def slower_than(self, limit_ms: float) -> int:
        """Requests that took ``limit_ms`` or more, counting those still unanswered at the end that old."""
        return (sum(1 for latency in self.latencies_ms if latency >= limit_ms)
                + sum(1 for age in self.unfinished_ms if age >= limit_ms))

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, fraction: float) -> float:
        """The latency (ms) under which ``fraction`` of the requests completed."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        """Median latency."""
        return self.percentile(0.50)

    @property
    def p99_ms(self) -> float:
        """99th percentile latency."""
        return self.percentile(0.99)

    @property
    def max_ms(self) -> float:
        """Slowest request."""
        return max(self.latencies_ms) if self.latencies_ms else float("nan")


def build_request(url: str, body: bytes, headers: dict[str, str] | None = None, *, keep_alive: bool = True) -> bytes:
    """The raw bytes of one HTTP/1.1 POST of ``body`` to ``url``."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Client:
    __slots__ = ("sock", "started", "buffer", "connecting")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.started = 0.0
        self.buffer = bytearray()
        self.connecting = False


def _reply_complete(buffer: bytearray, eof: bool) -> tuple[int, bool] | None:
    """(status, server_closes) once a whole reply is in ``buffer``; None while more is needed."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if eof:
            raise ValueError("connection closed before a complete reply")
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status_parts = head[0].split(" ")
    status = int(status_parts[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if status == 100:
        del buffer[:end + 4]
        return _reply_complete(buffer, eof)
    closes = headers.get("connection") == "close" or (
        status_parts[0] == "HTTP/1.0" and headers.get("connection") != "keep-alive")
    if "content-length" in headers:
        if len(buffer) - end - 4 < int(headers["content-length"]):
            if eof:
                raise ValueError("connection closed in the middle of a reply body")
            return None
        del buffer[:end + 4 + int(headers["content-length"])]
        return status, closes
    if not eof:
        return None
    buffer.clear()
    return status, True


def _worker(address: tuple[str, int], request: bytes, clients: int, duration: float, keep_alive: bool,
            timeout: float, results: "multiprocessing.Queue[dict]", start_at: float) -> None:
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    statuses: dict[int, int] = {}
    pool = [_Client() for _ in range(clients)]

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def close(client: _Client) -> None:
        if client.sock is not None:
            selector.unregister(client.sock)
            client.sock.close()
            client.sock = None

    def begin(client: _Client) -> None:
        client.started = time.perf_counter()
        client.buffer.clear()
        if client.sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                error(errno.errorcode.get(code, str(code)))
                return
            client.sock = sock
            client.connecting = True
            selector.register(sock, selectors.EVENT_WRITE, client)
        else:
            send(client)

    prefix, marker, suffix = request.partition(UUID_MARKER)

    def send(client: _Client) -> None:
        assert client.sock is not None
        payload = prefix + str(uuid.uuid4()).encode() + suffix if marker else request
        try:
            client.sock.sendall(payload)
        except OSError as exc:
            error(type(exc).__name__)
            close(client)

    while time.time() < start_at:
        time.sleep(0.001)
    end = time.perf_counter() + duration
    next_scan = 0.0
    for client in pool:
        begin(client)
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for key, _ in selector.select(0.05):
            client = key.data
            sock = client.sock
            if sock is None:
                continue
            if client.connecting:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    error(errno.errorcode.get(code, str(code)))
                    close(client)
                    continue
                client.connecting = False
                selector.modify(sock, selectors.EVENT_READ, client)
                send(client)
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                error(type(exc).__name__)
                close(client)
                continue
            client.buffer += data
            try:
                reply = _reply_complete(client.buffer, eof=not data)
            except ValueError:
                error("bad or cut reply")
                close(client)
                continue
            if reply is None:
                continue
            status, server_closes = reply
            finished = time.perf_counter()
            if finished <= end:
                latencies.append((finished - client.started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
            if server_closes or not keep_alive:
                close(client)
            begin(client)
        now = time.perf_counter()
        if now >= next_scan:  # restart failed clients and time out stuck ones, 50 times a second
            next_scan = now + 0.02
            for client in pool:
                if client.sock is None and now < end:
                    begin(client)
                elif client.sock is not None and now - client.started > timeout:
                    error("timeout")
                    close(client)
                    begin(client)
    finished = time.perf_counter()
    unfinished = [(finished - client.started) * 1000 for client in pool if client.sock is not None]
    for client in pool:
        close(client)
    results.put({"latencies": latencies, "errors": errors, "statuses": statuses, "unfinished": unfinished})


def run_load(url: str, body: bytes, headers: dict[str, str] | None = None, *, clients: int = 8,
             duration: float = 3.0, keep_alive: bool = True, processes: int = 1,
             timeout: float = 5.0) -> LoadResult:
    """Load ``url`` with ``clients`` concurrent POSTs of ``body`` for ``duration`` seconds.

    :param processes: worker processes sharing the clients (each runs one selector loop).
    :param timeout: a request still unanswered after this many seconds counts as an error.
    """
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    request = build_request(url, body, headers, keep_alive=keep_alive)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[dict] = context.Queue()
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.5 + 0.15 * processes
    workers = [context.Process(target=_worker, args=(address, request, share, duration, keep_alive, timeout,
                                                     results, start_at), daemon=True)
               for share in shares]
    for worker in workers:
        worker.start()
    result = LoadResult(clients=clients, keep_alive=keep_alive, duration=duration)
    for _ in workers:
        part = results.get(timeout=duration + timeout + 30)
        result.latencies_ms.extend(part["latencies"])
        for kind, count in part["errors"].items():
            result.errors[kind] = result.errors.get(kind, 0) + count
        for status, count in part["statuses"].items():
            result.statuses[status] = result.statuses.get(status, 0) + count
        result.unfinished_ms.extend(part["unfinished"])
    for worker in workers:
        worker.join(10)
    result.requests = len(result.latencies_ms)
    return result
