"""A webhook receiver that a notebook starts in the background.

:class:`WebhookReceiver` serves one path on loopback from a daemon thread that multiplexes every
connection (the HTTP/1.1 side lives in :mod:`rchelpers.receiver.http1`: no thread per request, so a
slow client holds no thread, and a burst of connections waits in a listen backlog of 1024 instead of
being dropped). For each request, :mod:`rchelpers.receiver.rules` decides the answer without touching
a socket: the ``Validation-Token`` handshake, the ``Verification-Token`` header and an optional
``?auth_token=`` query secret (compared in constant time), the notification's JSON, and redeliveries
of a uuid already seen (acknowledged, not stored twice). Every accepted notification is written to a
JSON-lines journal *before* the 200 reply; requests that arrive together share one disk flush (group
commit), made by the journal's writer thread while the event loop keeps reading the next requests.
The events are kept in an :class:`~rchelpers.receiver.store.EventStore` (where callers wait for
them) and handed to listeners by a :class:`~rchelpers.receiver.listeners.ListenerDispatcher`.

Nothing is printed from its threads (notebook output from a thread lands in the wrong cell): it
logs to the ``rchelpers.receiver`` logger, and listeners run on one dispatcher thread, off the
request path.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Union

from rchelpers.errors import ReceiverError
from rchelpers.masking import mask
from rchelpers.receiver.assertions import assert_received
from rchelpers.receiver.event import WebhookEvent, kept_headers
from rchelpers.receiver.http1 import Connection, HttpError, HttpRequest, Server
from rchelpers.receiver.journal import Journal, default_journal_path, read_journal
from rchelpers.receiver.listeners import EventListener, ListenerDispatcher
from rchelpers.receiver.rules import DuplicateAck, ValidationEcho, WebhookRules
from rchelpers.receiver.store import EventStore, ReceiverStats, RejectedRequest

logger = logging.getLogger("rchelpers.receiver")

__all__ = ["WebhookReceiver"]


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
_Pending = tuple[Connection, HttpRequest, WebhookEvent, Union[str, None]]


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
        on_event: EventListener | Iterable[EventListener] | None = None,
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
        self._auth_token = auth_token
        self._journal_option = journal
        self._journal: Journal | None = None
        self._journal_path: Path | None = None
        self._rules = WebhookRules(path, verification_token=verification_token, auth_token=auth_token,
                                   seen_limit=max(100_000, 10 * max_events))  # loop thread only
        self._store = EventStore(max_events)
        self._listeners = ListenerDispatcher(max_queued=max_events)
        self._batch: list[_Pending] = []  # this loop turn's notifications, for one journal flush
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
        self._listeners.start(name=f"rchelpers-receiver-{self._port}-listeners")
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
        self._listeners.stop(max(0.1, deadline - time.monotonic()))
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
        return f"<WebhookReceiver {self._safe_url()} {state} events={len(self._store)}>"

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
        return self._store.events()

    @property
    def rejected(self) -> list[RejectedRequest]:
        """A snapshot of the last 1000 refused requests, oldest first."""
        return self._store.rejected()

    @property
    def stats(self) -> ReceiverStats:
        """Counters since start and reply latency percentiles over the last 10,000 replies."""
        counts = self._store.counts()
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
        return self._store.wait_for(count, predicate, timeout, lambda total, matching: self._timeout_message(
            count, predicate, timeout, total, matching))

    def _timeout_message(self, count: int, predicate: object, timeout: float, total: int, matching: int) -> str:
        what = f"{count} event(s)" + (" matching the predicate" if predicate is not None else "")
        arrived = f"{total} event(s) in memory" + (f", {matching} matching" if predicate is not None else "")
        rejected = self._store.counts()["rejected"]
        refused_requests = self._store.rejected()
        last = refused_requests[-1] if refused_requests else None
        refused = f"; {rejected} request(s) refused" + (f", last: {last.status} {last.reason}" if last else "")
        state = "" if self.running else " (the receiver is not running: call start())"
        return (f"waited {timeout:g} s for {what} at {self._safe_url()}{state}: {arrived}{refused}. "
                "Check that the subscription is Active and its delivery address is this URL (or the tunnel's "
                "public URL that forwards to it), that its event filters match what you triggered, and "
                "rx.rejected for refused requests.")

    def assert_received(self, event: str | None = None, **options: Any) -> list[WebhookEvent]:
        """Assert that matching events arrived, failing with what did; see :func:`rchelpers.receiver.assertions.assert_received`."""
        __tracebackhide__ = True
        return assert_received(self, event, **options)

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for each new event, on the dispatcher thread (never the request thread).

        An exception raised by a listener is logged and does not stop other listeners or the receiver.
        Listeners run one event at a time; if they fall ``max_events`` events behind, newer events
        skip them (logged as a warning; the events are still in :attr:`events` and the journal).
        """
        self._listeners.add(listener)

    def remove_listener(self, listener: EventListener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget the events and refused requests in memory (the journal, the seen uuids and the counters stay)."""
        self._store.clear()

    @staticmethod
    def replay_journal(path: str | os.PathLike[str]) -> list[WebhookEvent]:
        """Read the events of a journal file in the order they were accepted (bodies byte for byte as
        received; secret headers such as ``Verification-Token`` masked, as the journal keeps them)."""
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
                uuid = WebhookEvent.from_record(record).uuid
                if uuid is not None:
                    self._rules.seen.remember(uuid)
        self._journal = Journal(path)
        self._journal_path = path

    # ----------------------------------------------------------------- internals: requests (loop thread)

    def _handle(self, conn: Connection, request: HttpRequest) -> None:
        """Act on the rules' answer: echo a validation token, acknowledge a duplicate, or batch a notification."""
        assert self._server is not None
        answer = self._rules.answer(request)
        if isinstance(answer, ValidationEcho):
            self._store.count("validation_requests")
            self._server.reply(conn, request, 200, extra=(("Validation-Token", answer.token),))
        elif isinstance(answer, DuplicateAck):
            self._store.count("duplicates")
            self._server.reply(conn, request, 200)
        else:
            self._rules.seen.begin(answer.uuid)
            self._batch.append((conn, request, answer.event, answer.uuid))
            self._server.defer(conn)

    def _record_refusal(self, conn: Connection, request: HttpRequest | None, error: HttpError) -> None:
        """Keep a refused request in :attr:`rejected` (secrets masked, query left out)."""
        method = request.method if request else ""
        path = request.path if request else ""
        headers = kept_headers(request.headers) if request else {}
        self._store.reject(RejectedRequest(error.status, error.reason, method, path[:200], conn.remote, headers,
                                           datetime.now(timezone.utc)))
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
            self._rules.seen.end(key, accepted=error is None)
        if error is not None:
            logger.error("journal write failed for %d notification(s): %s", len(batch), error)
            self._store.count("journal_errors", len(batch))
            for conn, request, _, _ in batch:
                self._server.reply(conn, request, 503, extra=(("Retry-After", "5"),),
                                   body=b'{"error":"journal write failed; retry later"}')
            return
        self._store.add([event for _, _, event, _ in batch])
        for conn, request, _, _ in batch:
            self._server.reply(conn, request, 200)
        if self._listeners.has_listeners:
            for _, _, event, _ in batch:
                self._listeners.publish(event)
