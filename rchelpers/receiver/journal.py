"""A durable JSON-lines journal for webhook notifications.

Every record is one JSON object on one line. Three ways to append, all with group commit (one
``write`` and one ``fdatasync`` for a whole group of records):

- :meth:`Journal.append_batch` writes a group and returns once it is on disk.
- :meth:`Journal.append` lets many threads share flushes: a caller whose record is not yet on disk
  waits for the flush that covers it, and one of the waiting callers performs it.
- :meth:`Journal.submit` hands a group to a writer thread and returns at once; a callback says when
  it is on disk. Groups submitted while a flush runs share the next one, so an event loop can keep
  reading requests while the disk works.

:func:`read_journal` reads a journal back, skipping a torn last line (what a crash in the middle of
a write leaves behind).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

logger = logging.getLogger("rchelpers.journal")  # logger names stay the short public ones users configure

__all__ = ["Journal", "read_journal", "default_journal_path"]


def default_journal_path() -> Path:
    """A fresh journal file in a new temporary folder (``rchelpers-journal-*/webhooks.jsonl``)."""
    return Path(tempfile.mkdtemp(prefix="rchelpers-journal-")) / "webhooks.jsonl"


def encode_record(record: dict[str, Any]) -> bytes:
    """One record as a JSON line (UTF-8, no embedded newline)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class Journal:
    """An append-only JSON-lines file whose appends are on disk when they return.

    :param path: the journal file; its folder is created if needed. Existing content is kept.
    :param durable: ``fdatasync`` after each group of appends (default). ``False`` only flushes to
        the operating system, which survives a killed process but not a power cut.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if not existed and durable:
            _fsync_directory(self.path.parent)
        self._write_lock = threading.Lock()
        self._torn = False  # the last write failed part-way
        # group commit state for append(): records waiting, and the sequence numbers on disk
        self._state = threading.Condition()
        self._pending: list[bytes] = []
        self._next_seq = 0
        self._durable_seq = 0
        self._flushing = False
        self._failed: dict[int, BaseException] = {}
        # submit(): groups waiting for the writer thread
        self._queue = threading.Condition()
        self._queued: list[tuple[bytes, Callable[[OSError | None], object]]] = []
        self._writer: threading.Thread | None = None
        self._closing = False

    def __repr__(self) -> str:
        return f"<Journal {str(self.path)!r} durable={self.durable} closed={self.closed}>"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._fd is None

    def append_batch(self, records: list[dict[str, Any]]) -> None:
        """Write ``records`` with one write and one disk flush; they are on disk when this returns.

        :raises OSError: the write or the flush failed (disk full, file closed, ...).
        """
        if records:
            self._write(b"".join(encode_record(r) for r in records))

    def append(self, record: dict[str, Any], timeout: float | None = 30.0) -> None:
        """Append one record and return once it is on disk, sharing the flush with concurrent callers.

        :raises OSError: the flush covering this record failed.
        :raises TimeoutError: no flush covered it within ``timeout`` seconds.
        """
        line = encode_record(record)
        with self._state:
            self._pending.append(line)
            self._next_seq += 1
            my_seq = self._next_seq
            while self._durable_seq < my_seq:
                if not self._flushing:
                    self._flush_pending_locked()
                    continue
                if not self._state.wait(timeout):
                    raise TimeoutError(f"journal {self.path} did not flush within {timeout} s")
            error = self._failed.pop(my_seq, None)
        if error is not None:
            raise error

    def _flush_pending_locked(self) -> None:
        """Become the leader: write everything pending with one flush, then wake the followers."""
        lines, self._pending = self._pending, []
        last_seq = self._next_seq
        first_seq = last_seq - len(lines) + 1
        self._flushing = True
        self._state.release()
        error: BaseException | None = None
        try:
            self._write(b"".join(lines))
        except OSError as exc:
            error = exc
        finally:
            self._state.acquire()
            self._flushing = False
        if error is not None:
            for seq in range(first_seq, last_seq + 1):
                self._failed[seq] = error
        self._durable_seq = last_seq
        self._state.notify_all()

    def submit(self, records: list[dict[str, Any]], on_done: Callable[[OSError | None], object]) -> None:
        """Queue ``records`` for the writer thread and return at once.

        ``on_done(error)`` is called on the writer thread once they are on disk (``error`` is None) or
        the write failed. Groups queued while a flush runs share the next flush.

        :raises OSError: the journal is closed.
        """
        data = b"".join(encode_record(r) for r in records)
        with self._queue:
            if self._closing or self._fd is None:
                raise OSError(f"journal {self.path} is closed")
            self._queued.append((data, on_done))
            if self._writer is None:
                self._writer = threading.Thread(target=self._writer_loop, name="rchelpers-journal-writer",
                                                daemon=True)
                self._writer.start()
            self._queue.notify()

    def _writer_loop(self) -> None:
        while True:
            with self._queue:
                while not self._queued and not self._closing:
                    self._queue.wait()
                if not self._queued:
                    return
                groups, self._queued = self._queued, []
            error: OSError | None = None
            try:
                self._write(b"".join(data for data, _ in groups))
            except OSError as exc:
                error = exc
            for _, on_done in groups:
                try:
                    on_done(error)
                except Exception:
                    logger.exception("journal callback %r raised", on_done)

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self._fd is None:
                raise OSError(f"journal {self.path} is closed")
            if self._torn:  # end what a failed write may have left half-written, so it cannot swallow this
                data = b"\n" + data
            self._torn = True
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._torn = False
            if self.durable:
                os.fdatasync(self._fd)

    def close(self) -> None:
        """Write what was submitted, stop the writer thread and close the file (idempotent)."""
        with self._queue:
            self._closing = True
            self._queue.notify_all()
            writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(30)
        with self._write_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_journal(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the records of a journal in the order they were written.

    A last line without its newline (a write cut short by a crash) is skipped with a warning; a
    corrupt line elsewhere (such as the fragment of a write that failed, e.g. on a full disk, whose
    records were never acknowledged) is skipped with a warning naming its line number.

    :raises FileNotFoundError: there is no file at ``path``.
    """
    with open(path, "rb") as handle:
        number = 0
        for number, raw in enumerate(handle, start=1):
            if raw == b"\n":  # written after a failed write, to end its fragment
                continue
            if not raw.endswith(b"\n"):
                logger.warning("journal %s: skipping torn last line %d (%d bytes)", path, number, len(raw))
                break
            try:
                record = json.loads(raw)
            except ValueError:
                logger.warning("journal %s: skipping corrupt line %d", path, number)
                continue
            if isinstance(record, dict):
                yield record
            else:
                logger.warning("journal %s: skipping line %d, not a JSON object", path, number)


def _fsync_directory(folder: Path) -> None:
    """Make a newly created file's directory entry durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
