"""The receiver's listeners: callables run with each new event on one dispatcher thread, off the request path."""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from rchelpers.receiver.event import WebhookEvent

__all__ = ["EventListener", "ListenerDispatcher"]

logger = logging.getLogger("rchelpers.receiver")

#: A receiver listener: called with each new event; its return value is ignored.
EventListener = Callable[[WebhookEvent], object]


class ListenerDispatcher:
    """Calls the listeners with each published event, one event at a time, on its own thread.

    At most ``max_queued`` events wait for slow listeners; newer ones skip them (logged as a warning).
    An exception raised by a listener is logged and does not stop the others.
    """

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self._lock = threading.Lock()
        self._listeners: list[EventListener] = []
        self._queue: queue.Queue[WebhookEvent | None] = queue.Queue(maxsize=max_queued)
        self._drops = 0
        self._thread: threading.Thread | None = None

    def add(self, listener: EventListener) -> None:
        """Call ``listener`` with each event published from now on."""
        if not callable(listener):
            raise TypeError(f"a listener must be callable, not {type(listener).__name__}")
        with self._lock:
            self._listeners.append(listener)

    def remove(self, listener: EventListener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def has_listeners(self) -> bool:
        """True when at least one listener is registered."""
        with self._lock:
            return bool(self._listeners)

    def start(self, name: str) -> None:
        """Start the dispatcher thread (a daemon named ``name``)."""
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def publish(self, event: WebhookEvent) -> None:
        """Queue ``event`` for the listeners without blocking (skipped, and counted, when the queue is full)."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drops += 1
            if self._drops == 1 or self._drops % 1000 == 0:
                logger.warning("webhook listeners are %d events behind: %d event(s) skipped them so far "
                               "(they are in rx.events and the journal)", self.max_queued, self._drops)

    def stop(self, timeout: float) -> None:
        """Let the listeners finish the queued events, then end the thread, within about ``timeout`` seconds.

        A listener still stuck at the end is left behind: the events queued for it are dropped (logged).
        """
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=max(0.1, timeout))
        except queue.Full:  # a listener is stuck: drop what waits for it, so its thread can end
            dropped = 0
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:  # also when the listener came unstuck and took the last one meanwhile
                    break
                dropped += 1
            self._queue.put_nowait(None)
            logger.warning("webhook listeners are stuck: %d queued event(s) will not reach them (they are "
                           "in the journal)", dropped)
        if thread is not threading.current_thread():
            thread.join(max(0.1, deadline - time.monotonic()))
        self._thread = None

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    logger.exception("webhook listener %r raised; it stays registered", listener)
