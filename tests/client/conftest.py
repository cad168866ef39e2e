"""Fixtures for the client tests: the simulator's options, and log and masking checks.

``sim``, ``make_sim``, ``config``, ``tokens``, ``client``, ``subs`` and ``hook`` come from ``tests/conftest.py``;
the client meets the simulator only over HTTP.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

CLIENT_LOGGERS = ("rchelpers.config", "rchelpers.auth", "rchelpers.rest", "rchelpers.subscriptions", "rchelpers.client")


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """A seeded simulator (frozen clock at 2026-01-01T00:00:00Z), rate limits off unless a test gives them."""
    return {"seed": 11, "rate_limits": None}


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
