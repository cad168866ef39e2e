"""Fixtures for the client tests: a seeded simulator on loopback and the client objects built on it.

The client meets the simulator only over HTTP; the simulator's clock is handed to the TokenManager
(``clock=sim.clock.now``) so that token expiry follows simulated time.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

import pytest

from rchelpers.auth import TokenManager
from rchelpers.config import Config
from rchelpers.rest import RestClient
from rchelpers.simulator import Simulator
from rchelpers.subscriptions import Subscriptions

CLIENT_LOGGERS = ("rchelpers.config", "rchelpers.auth", "rchelpers.rest", "rchelpers.subscriptions")


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory ``make_sim(**options) -> Simulator`` (seeded, frozen clock, no rate limits unless given); all are stopped."""
    started: list[Simulator] = []

    def factory(**options: Any) -> Simulator:
        options.setdefault("seed", 11)
        options.setdefault("rate_limits", None)
        sim = Simulator(**options).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A seeded simulator: frozen clock at 2026-01-01T00:00:00Z, rate limits off."""
    return make_sim()


@pytest.fixture
def config(sim: Simulator) -> Config:
    """The config for ``sim``'s demo app, built the way a notebook does."""
    return Config.from_mapping(sim.credentials.as_env(), source="simulator")


@pytest.fixture
def tokens(sim: Simulator, config: Config) -> Iterator[TokenManager]:
    """A TokenManager on ``sim`` whose expiry follows the simulated clock (not logged in yet)."""
    manager = TokenManager(config, clock=sim.clock.now)
    yield manager
    manager.close()


@pytest.fixture
def client(tokens: TokenManager) -> RestClient:
    """A RestClient using ``tokens``."""
    return RestClient(tokens)


@pytest.fixture
def subs(client: RestClient) -> Subscriptions:
    """Subscription helpers on ``client``."""
    return Subscriptions(client)


@pytest.fixture
def hook(webhook_server: Any) -> Any:
    """A stand-in webhook on loopback that passes the Validation-Token handshake."""
    return webhook_server("echo")


@pytest.fixture
def client_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog at DEBUG for every logger (client records are picked with :func:`client_text`)."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def client_text(caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """``client_text()`` -> every client-side log record so far, formatted with its arguments."""

    def text() -> str:
        lines = []
        for record in caplog.records:
            if record.name.startswith(CLIENT_LOGGERS):
                lines.append(record.getMessage())
                if record.exc_text:
                    lines.append(record.exc_text)
        return "\n".join(lines)

    return text


@pytest.fixture
def assert_masked() -> Callable[..., None]:
    """``assert_masked(text, *secrets)`` fails if a secret (or a long prefix of one) appears in ``text``."""

    def check(text: str, *secrets: str | None) -> None:
        for secret in secrets:
            if secret:
                assert secret not in text
                assert secret[: max(8, len(secret) // 2)] not in text

    return check
