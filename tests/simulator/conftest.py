"""Fixtures for the simulator tests: a logged-in raw-HTTP client of ``sim``.

``sim`` (seeded, frozen clock at 2026-01-01, no rate limits: the default ``sim_options``), ``make_sim``
and ``hook`` come from ``tests/conftest.py``.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from rchelpers.simulator import Simulator
from sim_helpers import Api


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    """A logged-in raw client of ``sim``."""
    client = Api(sim)
    client.login()
    yield client
    client.close()
