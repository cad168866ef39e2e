"""Fixtures for the widget tests: the simulator's options and a real receiver.

``sim``, ``client`` and ``subs`` (a client logged in to ``sim``) come from ``tests/conftest.py``.
Everything runs on loopback; every fixture stops what it started.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from rchelpers import WebhookReceiver


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """A seeded simulator: frozen clock at 2026-01-01T00:00:00Z, reproducible ids, the platform's rate limits."""
    return {"seed": 5}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A running webhook receiver on a free loopback port, without a journal."""
    with WebhookReceiver(journal=False) as rx:
        yield rx
