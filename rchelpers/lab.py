"""One call that starts what a tutorial notebook needs, and one that stops it all.

::

    lab = start_lab(seed=4, verification_token="tutorial-verification-token")
    lab.subs.create(lab.tunnel.public_url, [presence_filter()])
    ...
    print("threads left running:", lab.stop())   # [] when everything stopped

Notebooks 1 and 2 teach the steps one by one; :func:`start_lab` does the same steps: the platform (the
embedded :class:`~rchelpers.Simulator`, or the real one when ``RC_SERVER_URL`` is set), the
config, a :class:`~rchelpers.TokenManager` on the platform's clock, a
:class:`~rchelpers.RestClient`, a :class:`~rchelpers.SubscriptionClient`, a
:class:`~rchelpers.WebhookReceiver` and a tunnel to it.

This module joins the halves (it starts the simulator for the client and the receiver), like a notebook
does, and as the command line and the pytest plugin do: it imports :mod:`rchelpers.simulator` inside
:func:`start_lab` only, so that ``import rchelpers`` does not load it.
"""
from __future__ import annotations

import shutil
import threading
import time
from typing import TYPE_CHECKING, Any, Mapping

from rchelpers.client.auth import TokenManager
from rchelpers.client.config import Config, env_value
from rchelpers.client.rest import RestClient
from rchelpers.client.subscriptions import SubscriptionClient
from rchelpers.errors import ConfigError
from rchelpers.receiver.tunnel import Tunnel, open_tunnel
from rchelpers.receiver.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from rchelpers.simulator import Simulator

__all__ = ["THREAD_PREFIXES", "Lab", "running_threads", "start_lab"]

#: The name prefixes of the threads rchelpers starts (the simulator's and the receiver's).
THREAD_PREFIXES = ("rc-sim-", "rchelpers-")


def running_threads(since: set[threading.Thread] | None = None) -> list[str]:
    """Names of the running threads rchelpers started (see :data:`THREAD_PREFIXES`), except those in ``since``.

    Threads that others start in the same process (Jupyter's kernel starts a ``subshell-…`` thread with
    the first widget) are not counted: only ours are a leak of ours.
    """
    since = since or set()
    return sorted(t.name for t in threading.enumerate()
                  if t not in since and t.is_alive() and t.name.startswith(THREAD_PREFIXES))


class Lab:
    """The parts :func:`start_lab` started; :meth:`stop` stops them all.

    ``sim`` is the embedded platform (None on the real one); ``config``, ``tokens``, ``client``,
    ``subs``, ``receiver`` and ``tunnel`` are ready to use; ``verification_token`` is the receiver's.
    """

    def __init__(self, sim: Simulator | None, config: Config, tokens: TokenManager, client: RestClient,
                 threads_before: set[threading.Thread]) -> None:
        self.sim = sim
        self.config = config
        self.tokens = tokens
        self.client = client
        self.subs = SubscriptionClient(client)
        self.receiver: WebhookReceiver | None = None
        self.tunnel: Tunnel | None = None
        self.verification_token: str | None = None
        self.stopped = False
        self._threads_before = threads_before
        self._receivers: list[WebhookReceiver] = []

    @property
    def on_simulator(self) -> bool:
        """True on the embedded platform, where its clock, sample events and delivery log can be used."""
        return self.sim is not None

    @property
    def can_subscribe(self) -> bool:
        """True when the platform can reach the receiver: a public tunnel, or a platform on this machine."""
        return self.tunnel is not None and (self.tunnel.is_public or self.config.is_loopback)

    def start_receiver(self, port: int = 0) -> WebhookReceiver:
        """Start a receiver (with the lab's verification token) on ``port`` (0: a free one); it becomes
        ``self.receiver`` and is stopped by :meth:`stop`. Give the old port to come back at the same address."""
        receiver = WebhookReceiver(port=port, verification_token=self.verification_token).start()
        self._receivers.append(receiver)
        self.receiver = receiver
        return receiver

    def stop(self) -> list[str]:
        """Stop the tunnel, the receivers (deleting their journal folders), the client and the simulator.

        Idempotent. Returns the names of the threads rchelpers started since :func:`start_lab` that are
        still running: ``[]`` when everything stopped.
        """
        if not self.stopped:
            self.stopped = True
            if self.tunnel is not None:
                self.tunnel.close()
            for receiver in self._receivers:
                receiver.stop()
                if receiver.journal_path is not None:
                    shutil.rmtree(receiver.journal_path.parent, ignore_errors=True)
            self.client.close()
            self.tokens.close()
            if self.sim is not None:
                self.sim.stop()
        return running_threads(since=self._threads_before)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        platform = "the embedded simulator" if self.sim is not None else self.config.server_url
        receiver = self.receiver.url if self.receiver is not None else None
        address = self.tunnel.public_url if self.tunnel is not None else None
        state = "stopped" if self.stopped else "running"
        return f"<Lab {state} on {platform}: receiver {receiver}, subscribe with {address}>"


def start_lab(
    seed: int | None = 1,
    *,
    verification_token: str | None = None,
    receiver: bool = True,
    allow_download: bool = False,
    require_reachable: bool = True,
    sim_options: Mapping[str, Any] | None = None,
) -> Lab:
    """Start the platform, a logged-in client, a receiver and a tunnel; returns the :class:`Lab`.

    The platform is the real one when ``RC_SERVER_URL`` is set (environment or ``.env``), else the
    embedded simulator with ``seed`` (reproducible ids, a clock frozen at 2026-01-01) and
    ``sim_options``, the :class:`~rchelpers.Simulator`'s other options (``permissions``,
    ``duplicate_rate``, ``reorder_window``, ...; the real platform has its own, so they are not used there). With
    ``receiver``, a :class:`WebhookReceiver` with ``verification_token`` starts, with a tunnel to it
    (ngrok with ``NGROK_AUTHTOKEN``, which may download its agent once if ``allow_download``; else a
    local one). With ``require_reachable``, a real platform that could not reach the receiver (no
    public tunnel) is a :class:`ConfigError` saying to set ``NGROK_AUTHTOKEN``. If any step fails,
    what was started is stopped before the error is raised.
    """
    threads_before = set(threading.enumerate())
    config = Config.from_env()
    sim: Simulator | None = None
    if config.uses_simulator:
        from rchelpers.simulator import Simulator  # here, so that `import rchelpers` stays light

        sim = Simulator(seed=seed, **dict(sim_options or {})).start()
        config = Config.from_mapping(sim.credentials.as_env(), source="the embedded simulator")
    tokens = TokenManager(config, clock=sim.clock.now if sim is not None else time.time)
    lab = Lab(sim, config, tokens, RestClient(tokens), threads_before)
    lab.verification_token = verification_token
    try:
        if receiver:
            lab.tunnel = open_tunnel(lab.start_receiver(), authtoken=env_value("NGROK_AUTHTOKEN"),
                                     allow_download=allow_download)
            if require_reachable and not lab.can_subscribe:
                raise ConfigError("the real platform cannot reach a local receiver: set NGROK_AUTHTOKEN "
                                  "(environment or .env) for an ngrok tunnel, and run again")
    except BaseException:
        lab.stop()
        raise
    return lab
