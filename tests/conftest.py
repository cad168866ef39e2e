"""Shared fixtures: stand-in webhooks, seeded simulators and the client objects built on them.

``webhook_server(mode="echo")`` starts a tiny threaded HTTP server on 127.0.0.1 that plays one
behaviour of a webhook receiver and records every request; the fixture stops every server it made.
``hook`` is one that passes the handshake. ``unreachable_url`` is a loopback URL on a port that was
bound and then closed.

``make_sim(**options)`` starts a :class:`Simulator` with ``sim_options`` updated by ``options`` and stops
it at teardown; ``sim`` is one made with ``sim_options`` alone. A folder's conftest overrides the
``sim_options`` fixture to choose its seed and options. ``make_api(sim)`` gives a logged-in raw-HTTP client
(:class:`sim_api.SimApi`, never the rchelpers client) of a simulator; ``api`` is the one of ``sim``. ``config``, ``tokens``, ``client`` and ``subs``
are the client objects on ``sim``, built the way a notebook does; the simulator's clock is handed to
the TokenManager (``clock=sim.clock.now``) so that token expiry follows simulated time.
"""
from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any, Callable, Iterator

import pytest

from rchelpers import Config, RestClient, SubscriptionClient, TokenManager
from rchelpers.simulator import Simulator
from sim_api import SimApi
from webhook_stub import WEBHOOK_MODES, RecordedRequest, StubWebhook

__all__ = ["WEBHOOK_MODES", "RecordedRequest", "StubWebhook", "unreachable_url", "webhook_server"]


# --- stand-in webhooks ---------------------------------------------------------------------------------
@pytest.fixture
def webhook_server() -> Iterator[Callable[..., StubWebhook]]:
    """Factory ``webhook_server(mode="echo", delay=1.0, path="/webhook", ssl_context=None) -> StubWebhook``; all are
    stopped at teardown. With ``ssl_context`` (server side) the stand-in serves HTTPS."""
    with contextlib.ExitStack() as made:
        def factory(mode: str = "echo", delay: float = 1.0, path: str = "/webhook",
                    ssl_context: ssl.SSLContext | None = None) -> StubWebhook:
            return made.enter_context(StubWebhook(mode, delay=delay, path=path, ssl_context=ssl_context))

        yield factory


@pytest.fixture
def hook(webhook_server: Callable[..., StubWebhook]) -> StubWebhook:
    """A stand-in webhook on loopback that passes the Validation-Token handshake."""
    return webhook_server("echo")


@pytest.fixture
def unreachable_url() -> str:
    """A loopback URL whose port was bound and then closed, so nothing listens there."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/webhook"


# --- simulators ----------------------------------------------------------------------------------------
@pytest.fixture
def sim_options() -> dict[str, Any]:
    """The Simulator options ``make_sim`` and ``sim`` start from: seeded (frozen clock at 2026-01-01), no rate
    limits. A folder's conftest overrides this fixture to choose others."""
    return {"seed": 7, "rate_limits": None}


@pytest.fixture
def make_sim(sim_options: dict[str, Any]) -> Iterator[Callable[..., Simulator]]:
    """Factory ``make_sim(**options) -> Simulator``: started with ``sim_options`` updated by ``options``; all are
    stopped at teardown."""
    with contextlib.ExitStack() as started:
        def factory(**options: Any) -> Simulator:
            return started.enter_context(Simulator(**{**sim_options, **options}))

        yield factory


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A started Simulator with the folder's ``sim_options``."""
    return make_sim()


@pytest.fixture
def make_api() -> Iterator[Callable[[Simulator], SimApi]]:
    """Factory ``make_api(sim) -> SimApi``: a logged-in raw-HTTP client of ``sim``; all are closed at teardown."""
    with contextlib.ExitStack() as made:
        def factory(sim: Simulator) -> SimApi:
            client = made.enter_context(contextlib.closing(SimApi(sim)))
            client.login()
            return client

        yield factory


@pytest.fixture
def api(sim: Simulator, make_api: Callable[[Simulator], SimApi]) -> SimApi:
    """A logged-in raw-HTTP client of ``sim``."""
    return make_api(sim)


# --- the client on a simulator -------------------------------------------------------------------------
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
def subs(client: RestClient) -> SubscriptionClient:
    """Subscription helpers on ``client``."""
    return SubscriptionClient(client)
