"""A small HTTP load generator, closed or open loop, that runs in separate processes.

Each worker process drives its share of the clients with non-blocking sockets and one selector, so
the load generator never competes for the GIL of the server it measures. A client has at most one
request in flight, on the same connection (keep-alive) or on a new one per request.

- Closed loop (``rate=None``): a client sends its next request as soon as the previous reply is in
  and the latency runs from the actual send (connect included when it opens a new connection). A
  stalled client sends nothing meanwhile, so its stall counts once (coordinated omission).
- Open loop (``rate=R``, as wrk2 does): client ``i`` of ``N`` sends request ``k`` at the intended time
  ``t0 + i/R + k*N/R``, so together they send ``R`` requests per second, evenly spaced. A client
  behind schedule sends its overdue requests back to back, and every latency runs from the request's
  intended send time: a stall counts for every request scheduled behind it.

    >>> result = run_load("http://127.0.0.1:8000/webhook", body, headers, clients=8, duration=3.0)
    >>> result.rps, result.p99_ms, result.errors
    >>> paced = run_load("http://127.0.0.1:8000/webhook", body, headers, clients=64, duration=3.0, rate=1500)
"""
from __future__ import annotations

import errno
import heapq
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
    #: the age (ms) of each request still unanswered when the run ended (not in ``latencies_ms``); in
    #: open loop this includes the requests a late client had not sent yet, aged from their intended time
    unfinished_ms: list[float] = field(default_factory=list)
    #: the target total rate (requests/s) of an open-loop run; None for a closed-loop run
    rate: float | None = None

    @property
    def samples_ms(self) -> list[float]:
        """The latencies the percentiles and max are taken over.

        Closed loop: the replies received. Open loop: those, plus each request still unanswered or
        not yet sent at the end at its age then (a lower bound on its latency), so a client stalled
        when the run ends cannot hide its backlog.
        """
        return self.latencies_ms + self.unfinished_ms if self.rate else self.latencies_ms

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
        """The latency (ms) under which ``fraction`` of the requests completed (see :attr:`samples_ms`)."""
        samples = self.samples_ms
        if not samples:
            return float("nan")
        ordered = sorted(samples)
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
        """Slowest request (see :attr:`samples_ms`)."""
        samples = self.samples_ms
        return max(samples) if samples else float("nan")


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
    __slots__ = ("buffer", "busy", "connecting", "due", "sock", "started")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.started = 0.0
        self.buffer = bytearray()
        self.connecting = False
        #: open loop: the intended send time (perf_counter) of the request in flight or due next
        self.due = 0.0
        #: open loop: a request is in flight (an idle keep-alive client keeps its socket open)
        self.busy = False


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


class _Worker:
    """One worker process's clients, their sockets on one selector, and what they measured.

    The requests, connections and replies work the same in both loops; a subclass says when each
    request was meant to be sent (:meth:`intended`), what follows a reply (:meth:`replied`) and runs
    the schedule (:meth:`run`).
    """

    def __init__(self, address: tuple[str, int], request: bytes, clients: int, keep_alive: bool,
                 timeout: float) -> None:
        self.address = address
        self.request = request
        self.prefix, self.marker, self.suffix = request.partition(UUID_MARKER)
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.selector = selectors.DefaultSelector()
        self.pool = [_Client() for _ in range(clients)]
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        #: perf_counter time the run ends; a reply after it is not counted
        self.end = 0.0

    def intended(self, client: _Client) -> float:
        """When the request ``client`` has in flight was meant to be sent: its latency runs from there."""
        raise NotImplementedError

    def replied(self, index: int) -> None:
        """Client ``index``'s reply is in (and counted)."""
        raise NotImplementedError

    def error(self, kind: str) -> None:
        """Count one error of ``kind``."""
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def close(self, client: _Client) -> None:
        """Close ``client``'s connection, if it has one."""
        if client.sock is not None:
            self.selector.unregister(client.sock)
            client.sock.close()
            client.sock = None

    def fail(self, index: int, kind: str) -> None:
        """Client ``index``'s request failed: count an error of ``kind`` and drop its connection."""
        self.error(kind)
        self.close(self.pool[index])

    def begin(self, index: int) -> None:
        """Client ``index`` sends its next request now, on its open connection or on a new one."""
        client = self.pool[index]
        client.busy = True
        client.started = time.perf_counter()
        client.buffer.clear()
        if client.sock is not None:
            self.send(index)
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(self.address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.fail(index, errno.errorcode.get(code, str(code)))
            return
        client.sock = sock
        client.connecting = True
        self.selector.register(sock, selectors.EVENT_WRITE, index)

    def send(self, index: int) -> None:
        """Write the request on client ``index``'s connected socket (a fresh uuid in place of the marker)."""
        client = self.pool[index]
        assert client.sock is not None
        payload = self.prefix + str(uuid.uuid4()).encode() + self.suffix if self.marker else self.request
        try:
            client.sock.sendall(payload)
        except OSError as exc:
            self.fail(index, type(exc).__name__)

    def serve(self, wait: float) -> None:
        """Handle what the sockets have for us, waiting up to ``wait`` seconds for something."""
        for key, _ in self.selector.select(wait):
            self.handle(key.data)

    def handle(self, index: int) -> None:
        """Client ``index``'s socket is ready: its connection is made, or reply bytes (or the end) are in."""
        client = self.pool[index]
        sock = client.sock
        if sock is None:
            return
        if client.connecting:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.fail(index, errno.errorcode.get(code, str(code)))
                return
            client.connecting = False
            self.selector.modify(sock, selectors.EVENT_READ, index)
            self.send(index)
            return
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            if client.busy:
                self.fail(index, type(exc).__name__)
            else:
                self.close(client)
            return
        if not client.busy:  # the server closed an idle keep-alive connection: reconnect for the next request
            self.close(client)
            return
        client.buffer += data
        try:
            reply = _reply_complete(client.buffer, eof=not data)
        except ValueError:
            self.fail(index, "bad or cut reply")
            return
        if reply is None:
            return
        status, server_closes = reply
        finished = time.perf_counter()
        if finished <= self.end:
            self.latencies.append((finished - self.intended(client)) * 1000)
            self.statuses[status] = self.statuses.get(status, 0) + 1
        if server_closes or not self.keep_alive:
            self.close(client)
        self.replied(index)

    def results(self, unfinished: list[float]) -> dict:
        """Close every connection; what this worker measured, for :func:`run_load` to add up."""
        for client in self.pool:
            self.close(client)
        return {"latencies": self.latencies, "errors": self.errors, "statuses": self.statuses,
                "unfinished": unfinished}


def _wait_until(start_at: float) -> None:
    """Sleep until wall-clock time ``start_at``, so that every worker process starts together."""
    while time.time() < start_at:
        time.sleep(0.001)


class _ClosedLoop(_Worker):
    """Closed loop: a client sends its next request as soon as its reply is in (client ``busy`` throughout)."""

    def intended(self, client: _Client) -> float:
        """When the request was actually sent (connect included)."""
        return client.started

    def replied(self, index: int) -> None:
        """Send the next request at once."""
        self.begin(index)

    def run(self, start_at: float, duration: float) -> dict:
        """Drive the clients from ``start_at`` for ``duration`` seconds; the results."""
        _wait_until(start_at)
        self.end = time.perf_counter() + duration
        next_scan = 0.0
        for index in range(len(self.pool)):
            self.begin(index)
        while True:
            now = time.perf_counter()
            if now >= self.end:
                break
            self.serve(0.05)
            now = time.perf_counter()
            if now >= next_scan:  # restart failed clients and time out stuck ones, 50 times a second
                next_scan = now + 0.02
                for index, client in enumerate(self.pool):
                    if client.sock is None and now < self.end:
                        self.begin(index)
                    elif client.sock is not None and now - client.started > self.timeout:
                        self.fail(index, "timeout")
                        self.begin(index)
        finished = time.perf_counter()
        return self.results([(finished - client.started) * 1000 for client in self.pool if client.sock is not None])


class _OpenLoop(_Worker):
    """Open loop: clients ``first`` .. ``first+clients-1`` of ``total`` send on a fixed schedule at ``rate`` in all."""

    def __init__(self, address: tuple[str, int], request: bytes, first: int, clients: int, total: int, rate: float,
                 keep_alive: bool, timeout: float) -> None:
        super().__init__(address, request, clients, keep_alive, timeout)
        self.first = first
        self.rate = rate
        self.interval = total / rate  # each client's own pace
        #: (intended send time, client index) of the clients waiting for their turn
        self.idle: list[tuple[float, int]] = []

    def intended(self, client: _Client) -> float:
        """The request's place on the schedule."""
        return client.due

    def replied(self, index: int) -> None:
        """Queue the next request on the schedule."""
        self.next_request(index)

    def fail(self, index: int, kind: str) -> None:
        """Count the error, drop the connection and queue the next request on the schedule."""
        super().fail(index, kind)
        self.next_request(index)

    def next_request(self, index: int) -> None:
        """The request in flight is over: queue the client's next request on its schedule."""
        client = self.pool[index]
        client.busy = False
        client.due += self.interval
        heapq.heappush(self.idle, (client.due, index))

    def run(self, start_at: float, duration: float) -> dict:
        """Send on the schedule from ``start_at`` for ``duration`` seconds; the results."""
        idle = self.idle
        _wait_until(start_at)
        t0 = time.perf_counter() + max(0.0, start_at - time.time())
        end = self.end = t0 + duration
        for index, client in enumerate(self.pool):
            client.due = t0 + (self.first + index) / self.rate
            heapq.heappush(idle, (client.due, index))
        next_scan = 0.0
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            while idle and idle[0][0] <= now:
                self.begin(heapq.heappop(idle)[1])
            wait = min(0.02, end - now, (idle[0][0] - now) if idle else 0.02)
            self.serve(max(0.0, wait))
            now = time.perf_counter()
            if now >= next_scan:  # abandon requests unanswered for ``timeout`` seconds since they were sent
                next_scan = now + 0.02
                for index, client in enumerate(self.pool):
                    if client.busy and now - client.started > self.timeout:
                        self.fail(index, "timeout")
        # Every request intended before the end and not answered by then: in flight, or not sent yet (behind schedule).
        unfinished = []
        for client in self.pool:
            due = client.due
            while due < end:
                unfinished.append((end - due) * 1000)
                due += self.interval
        return self.results(unfinished)


def _worker(address: tuple[str, int], request: bytes, clients: int, duration: float, keep_alive: bool,
            timeout: float, results: "multiprocessing.Queue[dict]", start_at: float) -> None:
    """Process target: a closed loop of ``clients`` clients."""
    results.put(_ClosedLoop(address, request, clients, keep_alive, timeout).run(start_at, duration))


def _open_worker(address: tuple[str, int], request: bytes, first: int, clients: int, total: int, rate: float,
                 duration: float, keep_alive: bool, timeout: float, results: "multiprocessing.Queue[dict]",
                 start_at: float) -> None:
    """Process target: clients ``first`` .. ``first+clients-1`` of ``total`` in an open loop at ``rate`` in all."""
    worker = _OpenLoop(address, request, first, clients, total, rate, keep_alive, timeout)
    results.put(worker.run(start_at, duration))


def run_load(url: str, body: bytes, headers: dict[str, str] | None = None, *, clients: int = 8,
             duration: float = 3.0, keep_alive: bool = True, processes: int = 1,
             timeout: float = 5.0, rate: float | None = None) -> LoadResult:
    """Load ``url`` with ``clients`` concurrent POSTs of ``body`` for ``duration`` seconds.

    :param processes: worker processes sharing the clients (each runs one selector loop).
    :param timeout: a request still unanswered this many seconds after it was sent counts as an error.
    :param rate: open loop at this total rate (requests/s), latencies from each request's intended
        send time; None (the default) for a closed loop.
    """
    if rate is not None and not rate > 0:
        raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
    if not 0 < duration <= 600 or not 0 < timeout <= 600:
        raise ValueError(f"duration and timeout must be in (0, 600] seconds, got {duration!r} and {timeout!r}")
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    request = build_request(url, body, headers, keep_alive=keep_alive)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[dict] = context.Queue()
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.5 + 0.15 * processes
    if rate is None:
        workers = [context.Process(target=_worker, args=(address, request, share, duration, keep_alive, timeout,
                                                         results, start_at), daemon=True)
                   for share in shares]
    else:
        firsts = [sum(shares[:i]) for i in range(processes)]
        workers = [context.Process(target=_open_worker, args=(address, request, first, share, clients, rate, duration,
                                                              keep_alive, timeout, results, start_at), daemon=True)
                   for first, share in zip(firsts, shares, strict=True)]
    for worker in workers:
        worker.start()
    result = LoadResult(clients=clients, keep_alive=keep_alive, duration=duration, rate=rate)
    try:
        parts_received = [results.get(timeout=(start_at - time.time()) + duration + timeout + 30) for _ in workers]
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
    for part in parts_received:
        result.latencies_ms.extend(part["latencies"])
        for kind, count in part["errors"].items():
            result.errors[kind] = result.errors.get(kind, 0) + count
        for status, count in part["statuses"].items():
            result.statuses[status] = result.statuses.get(status, 0) + count
        result.unfinished_ms.extend(part["unfinished"])
    result.requests = len(result.latencies_ms)
    return result
