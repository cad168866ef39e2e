"""Fixtures for the simulator tests: a running simulator and a logged-in raw-HTTP client for it."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from rchelpers.simulator import Simulator
from sim_helpers import Api


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A seeded simulator (frozen clock at 2026-01-01) without rate limits."""
    with Simulator(seed=7, rate_limits=None) as running:
        yield running


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    """A logged-in raw client of ``sim``."""
    client = Api(sim)
    client.login()
    yield client
    client.close()


@pytest.fixture
def hook(webhook_server: Any) -> Any:
    """A webhook that passes the handshake."""
    return webhook_server("echo")
