"""Fixtures for the simulator tests: logged-in raw-HTTP clients of a simulator (``api`` is one of ``sim``).

``sim`` (seeded, frozen clock at 2026-01-01, no rate limits: the default ``sim_options``), ``make_sim``
and ``hook`` come from ``tests/conftest.py``.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import pytest

from rchelpers.simulator import Simulator
from sim_helpers import Api


@pytest.fixture
def make_api() -> Iterator[Callable[[Simulator], Api]]:
    """Factory ``make_api(sim) -> Api``: a logged-in raw client of ``sim``; all are closed at teardown."""
    with contextlib.ExitStack() as made:
        def factory(sim: Simulator) -> Api:
            client = made.enter_context(contextlib.closing(Api(sim)))
            client.login()
            return client

        yield factory


@pytest.fixture
def api(sim: Simulator, make_api: Callable[[Simulator], Api]) -> Api:
    """A logged-in raw client of ``sim``."""
    return make_api(sim)
