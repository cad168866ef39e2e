"""Fixtures for the widget tests: a seeded Simulator, a client logged in to it, and a real receiver.

Everything runs on loopback; every fixture stops what it started.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from rchelpers.auth import TokenManager
from rchelpers.config import Config
from rchelpers.receiver import WebhookReceiver
from rchelpers.rest import RestClient
from rchelpers.simulator import Simulator
from rchelpers.subscriptions import Subscriptions


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A seeded simulator: frozen clock at 2026-01-01T00:00:00Z, reproducible ids."""
    with Simulator(seed=5) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[RestClient]:
    """A REST client on the simulator whose token expiry follows the simulated clock."""
    tokens = TokenManager(Config.from_mapping(sim.credentials.as_env()), clock=sim.clock.now)
    with RestClient(tokens) as rest:
        yield rest
    tokens.close()


@pytest.fixture
def subs(client: RestClient) -> Subscriptions:
    """The subscription helpers on that client."""
    return Subscriptions(client)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A running webhook receiver on a free loopback port, without a journal."""
    with WebhookReceiver(journal=False) as rx:
        yield rx
