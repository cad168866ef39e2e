"""A webhook receiver that a notebook starts in the background.

:class:`WebhookReceiver` serves one path on loopback from a daemon thread that multiplexes every
connection (the HTTP/1.1 side lives in :mod:`rchelpers._http1`: no thread per request, so a slow
client holds no thread, and a burst of connections waits in a listen backlog of 1024 instead of
being dropped). It answers RingCentral's ``Validation-Token`` handshake, checks the
``Verification-Token`` header and an optional ``?auth_token=`` query secret in constant time, parses
notifications into :class:`WebhookEvent` objects, acknowledges redeliveries of a uuid already seen
without storing them twice, and writes every accepted notification to a JSON-lines journal *before*
answering 200. Requests that arrive together share one disk flush (group commit), made by the
journal's writer thread while the event loop keeps reading the next requests.

Nothing is printed from its threads (notebook output from a thread lands in the wrong cell): it
logs to the ``rchelpers.receiver`` logger, and callbacks run on one dispatcher thread, off the
request path.
"""
from __future__ import annotations

import collections
import hmac
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Union
from urllib.parse import parse_qs

from rchelpers._http1 import Connection, HttpError, Request, Server
from rchelpers.errors import ReceiverError, WaitTimeout
from rchelpers.journal import Journal, default_journal_path, read_journal
from rchelpers.masking import mask

logger = logging.getLogger(__name__)

__all__ = ["WebhookReceiver", "WebhookEvent", "RejectedRequest", "ReceiverStats", "REMINDER_EVENT_PREFIX"]

#: Event filters of subscription renewal reminders start with this.
REMINDER_EVENT_PREFIX = "/restapi/v1.0/subscription/"

Listener = Callable[["WebhookEvent"], object]

#: Longest ``Validation-Token`` echoed; with it the whole validation reply stays under 700 bytes.
MAX_VALIDATION_TOKEN = 512
_REJECTED_KEPT = 1000


@dataclass(frozen=True, repr=False)
class WebhookEvent:
    """One accepted notification: the RingCentral envelope, the headers that matter, the arrival time.

    ``headers`` keeps ``content-type``, ``user-agent`` and a masked ``verification-token``; ``raw`` is
    the whole envelope. The dicts are shared with other listeners: treat them as read-only.
    """

    uuid: str | None
    event: str | None
    timestamp: str | None
    subscription_id: str | None
    owner_id: str | None
    body: Any = field(hash=False, compare=False)
    headers: dict[str, str] = field(hash=False, compare=False)
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    raw: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_reminder(self) -> bool:
        """True for a subscription renewal reminder (event ``/restapi/v1.0/subscription/...``)."""
        return bool(self.event and self.event.startswith(REMINDER_EVENT_PREFIX))

    @classmethod
    def from_envelope(
        cls, envelope: dict[str, Any], headers: dict[str, str] | None = None, received_at: datetime | None = None
    ) -> "WebhookEvent":
        """Build an event from a notification's JSON envelope (``ownerId`` is also looked up in the body)."""
        body = envelope.get("body")
        owner = envelope.get("ownerId")
        if owner is None and isinstance(body, dict):
            owner = body.get("ownerId")
        return cls(
            uuid=_text(envelope.get("uuid")),
            event=_text(envelope.get("event")),
            timestamp=_text(envelope.get("timestamp")),
            subscription_id=_text(envelope.get("subscriptionId")),
            owner_id=_text(owner),
            body=body,
            headers=dict(headers or {}),
            received_at=received_at or datetime.now(timezone.utc),
            raw=envelope,
        )

    def to_record(self) -> dict[str, Any]:
        """The journal line for this event."""
        return {"received_at": self.received_at.isoformat(), "headers": self.headers, "notification": self.raw}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "WebhookEvent":
        """Rebuild an event from a journal line written by :meth:`to_record`."""
        try:
            received_at = datetime.fromisoformat(record["received_at"])
        except (KeyError, TypeError, ValueError):
            received_at = datetime.fromtimestamp(0, timezone.utc)
        notification = record.get("notification")
        return cls.from_envelope(notification if isinstance(notification, dict) else {},
                                 record.get("headers") or {}, received_at)

    def __repr__(self) -> str:
        event = self.event if self.event is None or len(self.event) <= 70 else self.event[:67] + "..."
        return (f"WebhookEvent(uuid={self.uuid!r}, event={event!r}, subscription_id={self.subscription_id!r}, "
                f"received_at={self.received_at.strftime('%H:%M:%S.%f')[:-3]!r})")


@dataclass(frozen=True)
class RejectedRequest:
    """A request the receiver refused: the status it got and why (secrets masked, query left out)."""

    status: int
    reason: str
    method: str
    path: str
    remote: str
    headers: dict[str, str]
    received_at: datetime


@dataclass(frozen=True)
class ReceiverStats:
    """Counters and reply latencies (from a request's first byte to its reply, in milliseconds)."""

    received: int
    rejected: int
    duplicates: int
    validation_requests: int
    journal_errors: int
    connections: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# The interpreter's thread switch interval is process-wide: running receivers share one lowering,
# and the value from before the first one is restored when the last one stops.
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


def _lower_switch_interval(seconds: float) -> None:
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
        _switch_users += 1
        if seconds < sys.getswitchinterval():
            sys.setswitchinterval(seconds)


def _restore_switch_interval() -> None:
    global _switch_users
    with _switch_lock:
        _switch_users -= 1
        if _switch_users == 0:
            sys.setswitchinterval(_switch_saved)


# A notification that waits for the journal: (connection, request, event, uuid key)
_Pending = tuple[Connection, Request, WebhookEvent, Union[str, None]]


class WebhookReceiver:
    """A RingCentral webhook receiver running in background threads; a context manager.

    :param host: interface to listen on (loopback by default).
    :param port: TCP port, ``0`` for a free one (read it back from :attr:`port` or :attr:`url`).
    :param path: the webhook path; other paths get 404.
    :param verification_token: if set, notifications must carry it in ``Verification-Token`` (else 403).
    :param auth_token: if set, every request must carry it as ``?auth_token=`` (else 403); :attr:`url`
        includes it.
    :param journal: ``True`` (default) for a journal in a new temporary folder
        (``rchelpers-journal-*/webhooks.jsonl``, kept after :meth:`stop` since it may hold the only copy
        of what arrived: delete it with ``shutil.rmtree(rx.journal_path.parent)`` when done), a path
        for a chosen file (appended to; uuids already in it count as seen), ``False`` for none.
    :param max_events: how many events stay in memory (older ones remain in the journal), and how
        many may wait for slow listeners.
    :param max_body_bytes: larger bodies get 413.
    :param on_event: a callable, or a list of callables, called with each new event (see
        :meth:`add_listener`).
    :param read_timeout: seconds a client has to send a whole request (else 408 and the connection closes).
    :param idle_timeout: seconds an idle keep-alive connection is kept open.
    :param backlog: the listen backlog (connections waiting to be accepted during a burst).
    :param max_connections: open connections at most; more wait in the backlog.
    :param switch_interval: while running, lower the interpreter's thread switch interval
        (:func:`sys.setswitchinterval`) to this many seconds so a busy notebook does not delay replies;
        ``None`` leaves it alone.

    .. code-block:: python

        with WebhookReceiver(verification_token="my-verification-token") as rx:
            ...  # create a subscription whose address is rx.url (or a tunnel's public_url)
            events = rx.wait_for(1, timeout=30)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhook",
        *,
        verification_token: str | None = None,
        auth_token: str | None = None,
        journal: Union[bool, str, os.PathLike[str]] = True,
        max_events: int = 10_000,
        max_body_bytes: int = 1 << 20,
        on_event: Listener | Iterable[Listener] | None = None,
        read_timeout: float = 5.0,
        idle_timeout: float = 30.0,
        backlog: int = 1024,
        max_connections: int = 1000,
        switch_interval: float | None = 0.0005,
    ) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535 (0 picks a free port), not {port!r}")
        if not isinstance(path, str) or not path.startswith("/") or "?" in path:
            raise ValueError(f"path must start with '/' and have no query, e.g. '/webhook', not {path!r}")
        for name, value in (("max_events", max_events), ("max_body_bytes", max_body_bytes),
                            ("backlog", backlog), ("max_connections", max_connections)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if read_timeout <= 0 or idle_timeout <= 0:
            raise ValueError("read_timeout and idle_timeout must be positive numbers of seconds")
        for name, secret in (("verification_token", verification_token), ("auth_token", auth_token)):
            if secret is not None and (not isinstance(secret, str) or not secret):
                raise ValueError(f"{name} must be a non-empty string or None")
        self.host = host
        self.path = path
        self.max_events = max_events
        self.max_body_bytes = max_body_bytes
        self.read_timeout = float(read_timeout)
        self.idle_timeout = float(idle_timeout)
        self.backlog = backlog
        self.max_connections = max_connections
        self.switch_interval = switch_interval
        self._requested_port = port
        self._port: int | None = None
        self._verification_token = verification_token.encode() if verification_token else None
        self._auth_token = auth_token
        self._journal_option = journal
        self._journal: Journal | None = None
        self._journal_path: Path | None = None

        # shared with the caller's threads, under _lock
        self._lock = threading.Condition()
        self._events: collections.deque[WebhookEvent] = collections.deque(maxlen=max_events)
        self._generation = 0  # bumped when the events change, so wait_for knows when to look again
        self._rejected: collections.deque[RejectedRequest] = collections.deque(maxlen=_REJECTED_KEPT)
        self._counts = {"received": 0, "rejected": 0, "duplicates": 0, "validation_requests": 0, "journal_errors": 0}
        self._listeners: list[Listener] = []
        self._listener_drops = 0

        # the loop thread's own
        self._seen: set[str] = set()
        self._seen_order: collections.deque[str] = collections.deque()
        self._seen_limit = max(100_000, 10 * max_events)
        self._inflight: set[str] = set()  # uuids whose notification waits for the journal
        self._batch: list[_Pending] = []

        self._dispatch_queue: queue.Queue[WebhookEvent | None] = queue.Queue(maxsize=max_events)
        self._dispatcher: threading.Thread | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lowered_switch_interval = False
        if on_event is not None:
            for listener in [on_event] if callable(on_event) else list(on_event):
                self.add_listener(listener)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "WebhookReceiver":
        """Bind, open the journal and start serving in daemon threads; returns ``self``.

        :raises ReceiverError: already running, or the address cannot be bound.
        """
        if self.running:
            raise ReceiverError(f"receiver already running at {self._safe_url()}; call stop() first")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(self.backlog)
        except OSError as exc:
            sock.close()
            raise ReceiverError(
                f"cannot listen on {self.host}:{self._requested_port} ({exc.strerror or exc}); "
                "pass port=0 to let the system pick a free port") from None
        try:
            self._open_journal()
        except OSError as exc:
            sock.close()
            raise ReceiverError(f"cannot open the journal {self._journal_option!r}: {exc}; "
                                "pass journal=<a writable file path> or journal=False") from None
        self._port = sock.getsockname()[1]
        self._server = Server(sock, handle=self._handle, refused=self._record_refusal,
                              after_reads=self._submit_batch, max_body_bytes=self.max_body_bytes,
                              read_timeout=self.read_timeout,
                              idle_timeout=self.idle_timeout, max_connections=self.max_connections)
        if self.switch_interval is not None:
            _lower_switch_interval(self.switch_interval)
            self._lowered_switch_interval = True
        self._dispatcher = threading.Thread(target=self._dispatch_loop, daemon=True,
                                            name=f"rchelpers-receiver-{self._port}-listeners")
        self._dispatcher.start()
        self._thread = threading.Thread(target=self._server.serve, name=f"rchelpers-receiver-{self._port}",
                                        daemon=True)
        self._thread.start()
        logger.info("webhook receiver listening at %s (journal: %s)", self._safe_url(), self._journal_path)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join the threads (idempotent), within about ``timeout`` seconds.

        Notifications already read get their reply (with ``Connection: close``) once journaled; then
        every socket and the journal file are closed, and listeners get the events queued for them.
        The journal file stays on disk.
        """
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        deadline = time.monotonic() + timeout
        server.stop(drain_timeout=timeout / 2)
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if self._journal is not None:
            self._journal.close()  # runs the last write callbacks
            self._journal = None
        if thread.is_alive():
            logger.error("receiver thread did not stop within %.1f s", timeout)
        else:  # what the journal finished after the loop ended goes into memory (its clients are gone)
            server.run_pending_calls()
        dispatcher = self._dispatcher
        if dispatcher is not None:
            try:
                self._dispatch_queue.put(None, timeout=max(0.1, deadline - time.monotonic()))
            except queue.Full:  # a listener is stuck: drop what waits for it, so its thread can end
                dropped = 0
                while not self._dispatch_queue.empty():
                    self._dispatch_queue.get_nowait()
                    dropped += 1
                self._dispatch_queue.put_nowait(None)
                logger.warning("webhook listeners are stuck: %d queued event(s) will not reach them (they are "
                               "in the journal)", dropped)
            if dispatcher is not threading.current_thread():
                dispatcher.join(max(0.1, deadline - time.monotonic()))
            self._dispatcher = None
        if self._lowered_switch_interval:
            _restore_switch_interval()
            self._lowered_switch_interval = False
        if self._journal_path is not None:
            logger.info("webhook receiver on port %s stopped; its journal stays at %s (replay it with "
                        "WebhookReceiver.replay_journal, delete it when no longer needed)",
                        self._port, self._journal_path)
        else:
            logger.info("webhook receiver on port %s stopped", self._port)

    def __enter__(self) -> "WebhookReceiver":
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<WebhookReceiver {self._safe_url()} {state} events={len(self._events)}>"

    # ----------------------------------------------------------------- public properties

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def url(self) -> str:
        """The local webhook URL, including ``?auth_token=...`` when an auth token is set."""
        return self._build_url(self._auth_token)

    @property
    def journal_path(self) -> Path | None:
        """The journal file (None when the journal is off or before the first start); it outlives the receiver."""
        return self._journal_path

    @property
    def events(self) -> list[WebhookEvent]:
        """A snapshot of the events in memory, oldest first."""
        with self._lock:
            return list(self._events)

    @property
    def rejected(self) -> list[RejectedRequest]:
        """A snapshot of the last 1000 refused requests, oldest first."""
        with self._lock:
            return list(self._rejected)

    @property
    def stats(self) -> ReceiverStats:
        """Counters since start and reply latency percentiles over the last 10,000 replies."""
        with self._lock:
            counts = dict(self._counts)
        server = self._server
        latencies = sorted(server.latencies()) if server is not None else []
        connections = server.connections if server is not None and self.running else 0

        def pick(fraction: float) -> float:
            if not latencies:
                return 0.0
            return round(latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000, 3)

        return ReceiverStats(connections=connections, latency_p50_ms=pick(0.50), latency_p99_ms=pick(0.99),
                             latency_max_ms=round(latencies[-1] * 1000, 3) if latencies else 0.0, **counts)

    # ----------------------------------------------------------------- waiting and listeners

    def wait_for(self, count: int = 1, predicate: Callable[[WebhookEvent], bool] | None = None,
                 timeout: float = 10.0) -> list[WebhookEvent]:
        """Block the caller until ``count`` events in memory match ``predicate``; return those events.

        Events that arrived before the call count too: call :meth:`clear` first to wait for new ones.
        Only the caller waits; the receiver keeps serving.

        :raises WaitTimeout: fewer arrived within ``timeout`` seconds (the message says how many and
            what to check).
        """
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, not {count!r}")
        if count > self.max_events:
            raise ValueError(f"count={count} exceeds max_events={self.max_events}: only that many events stay "
                             "in memory; read the journal with replay_journal() instead")
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self._events)
                generation = self._generation
            matches = snapshot if predicate is None else [e for e in snapshot if predicate(e)]
            if len(matches) >= count:
                return matches
            with self._lock:
                while self._generation == generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WaitTimeout(self._timeout_message(count, predicate, timeout, len(snapshot),
                                                                len(matches)))
                    self._lock.wait(remaining)

    def _timeout_message(self, count: int, predicate: object, timeout: float, total: int, matching: int) -> str:
        what = f"{count} event(s)" + (" matching the predicate" if predicate is not None else "")
        arrived = f"{total} event(s) in memory" + (f", {matching} matching" if predicate is not None else "")
        with self._lock:
            rejected = self._counts["rejected"]
            last = self._rejected[-1] if self._rejected else None
        refused = f"; {rejected} request(s) refused" + (f", last: {last.status} {last.reason}" if last else "")
        state = "" if self.running else " (the receiver is not running: call start())"
        return (f"waited {timeout:g} s for {what} at {self._safe_url()}{state}: {arrived}{refused}. "
                "Check that the subscription is Active and its delivery address is this URL (or the tunnel's "
                "public URL that forwards to it), that its event filters match what you triggered, and "
                "rx.rejected for refused requests.")

    def assert_received(self, event: str | None = None, **options: Any) -> list[WebhookEvent]:
        """Assert that matching events arrived, failing with what did; see :func:`rchelpers.testing.assert_received`."""
        __tracebackhide__ = True
        from rchelpers.testing.assertions import assert_received
        return assert_received(self, event, **options)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for each new event, on the dispatcher thread (never the request thread).

        An exception raised by a listener is logged and does not stop other listeners or the receiver.
        Listeners run one event at a time; if they fall ``max_events`` events behind, newer events
        skip them (logged as a warning; the events are still in :attr:`events` and the journal).
        """
        if not callable(listener):
            raise TypeError(f"a listener must be callable, not {type(listener).__name__}")
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget the events and refused requests in memory (the journal, the seen uuids and the counters stay)."""
        with self._lock:
            self._events.clear()
            self._rejected.clear()
            self._generation += 1

    @staticmethod
    def replay_journal(path: str | os.PathLike[str]) -> list[WebhookEvent]:
        """Read the events of a journal file in the order they were accepted."""
        return [WebhookEvent.from_record(record) for record in read_journal(path)]

    # ----------------------------------------------------------------- internals: setup

    def _build_url(self, auth_token: str | None) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else ("::1" if self.host == "::" else self.host)
        if ":" in host:
            host = f"[{host}]"
        query = f"?auth_token={auth_token}" if auth_token else ""
        return f"http://{host}:{self.port}{self.path}{query}"

    def _safe_url(self) -> str:
        return self._build_url(mask(self._auth_token) if self._auth_token else None)

    def _open_journal(self) -> None:
        option = self._journal_option
        if option is False or option is None:
            self._journal_path = None
            return
        if option is True:
            path = self._journal_path or default_journal_path()
        else:
            path = Path(option)
            if path.is_dir():
                path = path / "webhooks.jsonl"
        if path.is_file():
            for record in read_journal(path):
                notification = record.get("notification")
                if isinstance(notification, dict) and notification.get("uuid") is not None:
                    self._remember_uuid(str(notification["uuid"]))
        self._journal = Journal(path)
        self._journal_path = path

    def _remember_uuid(self, uuid: str) -> None:
        self._seen.add(uuid)
        self._seen_order.append(uuid)
        if len(self._seen_order) > self._seen_limit:
            self._seen.discard(self._seen_order.popleft())

    # ----------------------------------------------------------------- internals: requests (loop thread)

    def _handle(self, conn: Connection, request: Request) -> None:
        """Route one complete request: validation echo, refusal, duplicate, or a notification for the batch."""
        assert self._server is not None
        path = request.path
        if not path.startswith("/"):
            raise HttpError(400, "the request target must be a path like /webhook", close=False)
        if path != self.path:
            raise HttpError(404, f"no webhook at {path[:100]}: post to {self.path}", close=False)
        if request.method != "POST":
            raise HttpError(405, "only POST is accepted", close=False)
        if self._auth_token is not None:
            given = parse_qs(request.query).get("auth_token")
            if not given:
                raise HttpError(403, "auth_token query parameter missing", close=False)
            if not hmac.compare_digest(given[0].encode("utf-8", "surrogateescape"),
                                       self._auth_token.encode("utf-8")):
                raise HttpError(403, "auth_token query parameter does not match", close=False)
        validation = request.headers.get("validation-token")
        if validation is not None:
            if not validation or len(validation) > MAX_VALIDATION_TOKEN:
                raise HttpError(400, f"Validation-Token must be 1 to {MAX_VALIDATION_TOKEN} characters",
                                close=False)
            with self._lock:
                self._counts["validation_requests"] += 1
            self._server.reply(conn, request, 200, extra=(("Validation-Token", validation),))
            return
        if self._verification_token is not None:
            given_token = request.headers.get("verification-token")
            if given_token is None:
                raise HttpError(403, "Verification-Token header missing", close=False)
            if not hmac.compare_digest(given_token.encode("latin-1"), self._verification_token):
                raise HttpError(403, "Verification-Token does not match", close=False)
        if not request.body:
            raise HttpError(400, "empty body: a notification is a JSON object", close=False)
        try:
            envelope = json.loads(request.body)
        except (ValueError, RecursionError):
            raise HttpError(400, "malformed JSON body", close=False) from None
        if not isinstance(envelope, dict):
            raise HttpError(400, "the notification must be a JSON object", close=False)
        uuid = envelope.get("uuid")
        key = str(uuid) if isinstance(uuid, (str, int, float)) and not isinstance(uuid, bool) else None
        if key is not None and (key in self._seen or key in self._inflight):
            with self._lock:
                self._counts["duplicates"] += 1
            self._server.reply(conn, request, 200)
            return
        event = WebhookEvent.from_envelope(envelope, _event_headers(request.headers))
        if key is not None:
            self._inflight.add(key)
        self._batch.append((conn, request, event, key))
        self._server.defer(conn)

    def _record_refusal(self, conn: Connection, request: Request | None, error: HttpError) -> None:
        """Keep a refused request in :attr:`rejected` (secrets masked, query left out)."""
        method = request.method if request else ""
        path = request.path if request else ""
        headers = _event_headers(request.headers) if request else {}
        rejected = RejectedRequest(error.status, error.reason, method, path[:200], conn.remote, headers,
                                   datetime.now(timezone.utc))
        with self._lock:
            self._rejected.append(rejected)
            self._counts["rejected"] += 1
        logger.debug("refused %s %s from %s: %s %s", method, path, conn.remote, error.status, error.reason)

    def _submit_batch(self) -> None:
        """Hand this loop turn's notifications to the journal's writer (one disk flush for all)."""
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        if self._journal is None:
            self._finish_batch(batch, None)
            return
        server = self._server
        assert server is not None
        try:
            self._journal.submit([event.to_record() for _, _, event, _ in batch],
                                 lambda error: server.call_soon(lambda: self._finish_batch(batch, error)))
        except OSError as exc:
            self._finish_batch(batch, exc)

    def _finish_batch(self, batch: list[_Pending], error: OSError | None) -> None:
        """Store the journaled events and send their 200 replies (503 if the journal failed)."""
        assert self._server is not None
        for _, _, _, key in batch:
            self._inflight.discard(key)
        if error is not None:
            logger.error("journal write failed for %d notification(s): %s", len(batch), error)
            with self._lock:
                self._counts["journal_errors"] += len(batch)
            for conn, request, _, _ in batch:
                self._server.reply(conn, request, 503, extra=(("Retry-After", "5"),),
                                   body=b'{"error":"journal write failed; retry later"}')
            return
        with self._lock:
            for _, _, event, key in batch:
                self._events.append(event)
                if key is not None:
                    self._remember_uuid(key)
            self._counts["received"] += len(batch)
            self._generation += 1
            self._lock.notify_all()
            has_listeners = bool(self._listeners)
        for conn, request, _, _ in batch:
            self._server.reply(conn, request, 200)
        if has_listeners:
            for _, _, event, _ in batch:
                self._queue_for_listeners(event)

    # ----------------------------------------------------------------- internals: listeners

    def _queue_for_listeners(self, event: WebhookEvent) -> None:
        try:
            self._dispatch_queue.put_nowait(event)
        except queue.Full:
            self._listener_drops += 1
            if self._listener_drops == 1 or self._listener_drops % 1000 == 0:
                logger.warning("webhook listeners are %d events behind: %d event(s) skipped them so far "
                               "(they are in rx.events and the journal)", self.max_events, self._listener_drops)

    def _dispatch_loop(self) -> None:
        while True:
            event = self._dispatch_queue.get()
            if event is None:
                return
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    logger.exception("webhook listener %r raised; it stays registered", listener)


def _event_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers an event keeps: content type, user agent, and the verification token masked."""
    kept: dict[str, str] = {name: headers[name] for name in ("content-type", "user-agent") if name in headers}
    if "verification-token" in headers:
        kept["verification-token"] = mask(headers["verification-token"])
    return kept
