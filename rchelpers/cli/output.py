"""What the command line prints: results on stdout (text or JSON), progress and errors on stderr.

Colour only when the stream is a terminal, ``NO_COLOR`` is unset or empty, ``TERM`` is not ``dumb``
and the output is not JSON. Errors are one line that says what to do.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from types import TracebackType
from typing import Any, Sequence, TextIO

#: Serialises writes of every Output, so that lines never mix.
_write_lock = threading.Lock()
#: The stream on which a progress line is being repainted (a terminal), if any: other lines first clear it.
_live_stream: TextIO | None = None

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}


class CliError(Exception):
    """A failure to report on one line; ``exit_code`` 1 (it failed) or 2 (the command line is wrong)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(CliError):
    """The command line is wrong (exit status 2): the message names the option and a valid value."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 2)


def use_colour(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when ``stream`` is a terminal and neither ``NO_COLOR`` nor ``TERM=dumb`` asks for plain text."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def one_line(text: str) -> str:
    """``text`` with line breaks and runs of spaces collapsed, so that an error fits on one line."""
    return " ".join(str(text).split())


class Output:
    """Prints a command's results (stdout) and its progress, warnings and errors (stderr).

    With ``json_mode`` every result is one JSON document per line (:meth:`record`); text lines
    (:meth:`line`) are not printed. Progress always goes to stderr, as text.
    """

    def __init__(self, json_mode: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.colour = not json_mode and use_colour(self.stdout)
        self.err_colour = use_colour(self.stderr)

    def paint(self, text: str, *styles: str, stream: TextIO | None = None) -> str:
        """``text`` wrapped in ANSI styles (``green``, ``bold``, ...) when colour is on for ``stream``."""
        on = self.err_colour if stream is self.stderr else self.colour
        if not on or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def line(self, text: str = "") -> None:
        """Print a text result line on stdout (nothing in JSON mode)."""
        if not self.json_mode:
            self._write(self.stdout, text)

    def record(self, data: Any) -> None:
        """Print one JSON document on one line on stdout (JSON mode only)."""
        if self.json_mode:
            self._write(self.stdout, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def document(self, data: Any) -> None:
        """Print one indented JSON document on stdout (for ``--json`` of a non-streaming command)."""
        self._write(self.stdout, json.dumps(data, ensure_ascii=False, indent=2))

    def info(self, text: str) -> None:
        """A progress or status line on stderr."""
        self._write(self.stderr, text)

    def warn(self, text: str) -> None:
        """A warning on stderr, on one line."""
        self._write(self.stderr, self.paint("warning: ", "yellow", stream=self.stderr) + one_line(text))

    def error(self, prog: str, text: str) -> None:
        """The one-line error of a failed command on stderr."""
        self._write(self.stderr, f"{prog}: " + self.paint("error: ", "red", "bold", stream=self.stderr) + one_line(text))

    def progress(self, text: str) -> "Progress":
        """A context manager showing ``text`` while something waits (elapsed seconds on a terminal)."""
        return Progress(self, text)

    def _write(self, stream: TextIO, text: str) -> None:
        with _write_lock:
            try:
                if stream is _live_stream:  # a progress line is on screen: this line replaces it, it comes back
                    stream.write("\r\033[K")
                stream.write(text + "\n")
                stream.flush()
            except BrokenPipeError:  # e.g. `rchelpers listen | head -3`: stop quietly
                pass


def print_table(output: Output, rows: Sequence[tuple[str, ...]]) -> None:
    """Print ``rows`` (the first is the header) as aligned columns on stdout."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        output.line(output.paint(text, "bold") if n == 0 else text)


class Progress:
    """Shows ``text...`` on stderr while a block runs; on a terminal the seconds tick, then ``done``."""

    def __init__(self, output: Output, text: str) -> None:
        self.output = output
        self.text = text
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._tty = bool(getattr(output.stderr, "isatty", lambda: False)())

    def __enter__(self) -> "Progress":
        global _live_stream
        self._started = time.monotonic()
        if self._tty:
            self._paint(0)
            _live_stream = self.output.stderr
            self._thread = threading.Thread(target=self._tick, name="rchelpers-cli-progress", daemon=True)
            self._thread.start()
        else:
            self.output.info(f"{self.text}...")
        return self

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._paint(time.monotonic() - self._started)

    def _paint(self, elapsed: float) -> None:
        suffix = f" {elapsed:.0f} s" if elapsed >= 1 else ""
        with _write_lock:
            self.output.stderr.write(f"\r{self.text}...{suffix}\033[K")
            self.output.stderr.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _live_stream
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            elapsed = time.monotonic() - self._started
            outcome = "done" if kind is None else "failed"
            with _write_lock:
                _live_stream = None
                self.output.stderr.write(f"\r{self.text}... {outcome} ({elapsed:.1f} s)\033[K\n")
                self.output.stderr.flush()
