"""Fixtures for the command line: a standalone simulator in a subprocess, and the CLI run as a subprocess.

``standalone_sim`` runs ``python -m rchelpers.simulator --port 0 --env-file <tmp> --seed 11`` (a frozen
clock: time moves only with ``POST /_sim/clock/advance``) and stops it at teardown. ``cli_env`` is an
environment that reads only that env file (no ``RC_*`` variables, no ngrok token, a private token cache).
``run_cli(*args)`` runs ``python -m rchelpers`` to the end; ``start_listen(*args)`` starts
``rchelpers listen`` and reads its stdout lines with deadlines (:class:`Listening`).
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

#: Variables the CLI reads besides RC_ENV_FILE; removed so that a developer's shell does not leak in.
_OUTSIDE = ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT", "NGROK_AUTHTOKEN", "NO_COLOR")


@dataclass
class StandaloneSim:
    """A simulator running in a subprocess: its base URL and the ``RC_*`` values of its env file."""

    url: str
    env_file: Path
    values: dict[str, str]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call one of its ``/_sim/`` routes and return the JSON answer (raises for an error status)."""
        response = requests.request(method, self.url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> Any:
        """Move its clock forward, running the due jobs (reminders, expiry)."""
        return self.control("POST", "/_sim/clock/advance", {"seconds": seconds})


@pytest.fixture
def standalone_sim(tmp_path: Path) -> Iterator[StandaloneSim]:
    """``python -m rchelpers.simulator`` on a free port with a frozen clock; stopped (SIGTERM) at teardown."""
    env_file = tmp_path / "sim.env"
    process = subprocess.Popen([sys.executable, "-m", "rchelpers.simulator", "--port", "0", "--seed", "11",
                                "--env-file", str(env_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not env_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env_file.exists(), f"the simulator did not start: {process.poll()=}"
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
        yield StandaloneSim(values["RC_SERVER_URL"], env_file, values)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment without ``RC_*``/ngrok variables, reading no env file, with a private token cache."""
    env = {k: v for k, v in os.environ.items() if k not in _OUTSIDE}
    env["RC_ENV_FILE"] = ""
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def cli_env(clean_env: dict[str, str], standalone_sim: StandaloneSim) -> dict[str, str]:
    """``clean_env`` reading the standalone simulator's env file (``RC_ENV_FILE``), as a user would set it."""
    return {**clean_env, "RC_ENV_FILE": str(standalone_sim.env_file)}


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args, env=None, timeout=60)``: run ``python -m rchelpers ARGS`` to the end (``cli_env`` by default)."""
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rchelpers", *args], env=cli_env if env is None else env,
                              capture_output=True, text=True, timeout=timeout)

    return run


class Listening:
    """A running ``rchelpers listen`` subprocess whose stdout lines are read with deadlines."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "rchelpers", "listen", *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        """The next stdout line for which ``predicate`` holds; AssertionError (with what was seen) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise AssertionError(f"no matching line within {timeout} s; stdout so far: {self.seen}") from None
            if line is None:
                self.process.wait(10)
                assert self.process.stderr is not None
                self.stderr = self.process.stderr.read()
                raise AssertionError(f"listen ended (exit {self.process.returncode}) without a matching line; "
                                     f"stdout: {self.seen}; stderr: {self.stderr}")
            self.seen.append(line)
            if predicate(line):
                return line

    def next_record(self, kind: str, timeout: float = 20) -> dict[str, Any]:
        """The next JSON line (``--json``) whose ``type`` is ``kind``."""
        return json.loads(self.next_line(lambda line: line.startswith("{") and json.loads(line)["type"] == kind,
                                         timeout))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> tuple[int, str, str]:
        """Send ``sig`` and wait for the end; returns (exit status, the rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"listen did not stop within {timeout} s of signal {sig}") from None
        self._reader.join(10)
        rest: list[str] = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                rest.append(line)
        assert self.process.stderr is not None
        if not self.process.stderr.closed:
            self.stderr = self.process.stderr.read()
            self.process.stderr.close()
        self.process.stdout.close()  # type: ignore[union-attr]
        return self.process.returncode, "\n".join(rest), self.stderr

    def kill(self) -> None:
        """Kill the process if it still runs (teardown)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def start_listen(cli_env: dict[str, str]) -> Iterator[Callable[..., Listening]]:
    """``start_listen(*args, env=None)``: a running ``rchelpers listen``; killed at teardown if still running."""
    started: list[Listening] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Listening:
        listening = Listening(list(args), cli_env if env is None else env)
        started.append(listening)
        return listening

    yield start
    for listening in started:
        listening.kill()
