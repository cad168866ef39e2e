"""The :class:`Simulator`: builds the platform's parts in one place, hands each what it needs, and runs the
server, the clock's ticker and the delivery workers between ``start()`` and ``stop()``."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from rchelpers.simulator.accounts import Accounts
from rchelpers.simulator.api_handlers import PlatformApi
from rchelpers.simulator.clock import ClockTicker, SimClock, iso
from rchelpers.simulator.control_handlers import ControlApi
from rchelpers.simulator.delivery_log import DeliveryAttempt
from rchelpers.simulator.handshake import Handshake
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.notifier import Notifier, ScenarioResult, TriggerResult
from rchelpers.simulator.oauth import OAuthBackend
from rchelpers.simulator.options import SimulatorOptions, option_names
from rchelpers.simulator.ratelimit import RateLimiter
from rchelpers.simulator.routing import Handler, Route, Router, route
from rchelpers.simulator.server import SimServer
from rchelpers.simulator.subscriptions import ChangeListener, SubscriptionsBackend
from rchelpers.simulator.webhook_client import WebhookClient, webhook_ssl_context

log = logging.getLogger(__name__)

#: The simulated start of a seeded run: 2026-01-01T00:00:00Z.
SEEDED_EPOCH = 1767225600.0
#: The bytes of the id source that seed the notifier's generator (drawn right after the demo credentials).
NOTIFIER_SEED_BYTES = 16


def mask(secret: str | None, keep: int = 4) -> str:
    """Show only the first ``keep`` characters and the length of a secret (the simulator's own mask)."""
    if not secret:
        return "<unset>"
    return f"{secret[:keep]}…({len(secret)} chars)" if len(secret) > keep * 2 else f"…({len(secret)} chars)"


@dataclass(frozen=True)
class Credentials:
    """What an app needs to log in to the simulator: server URL, client id/secret, and the user's JWT."""

    server_url: str
    client_id: str
    client_secret: str
    jwt: str

    def as_env(self) -> dict[str, str]:
        """The four ``RC_*`` environment variables."""
        return {"RC_SERVER_URL": self.server_url, "RC_CLIENT_ID": self.client_id,
                "RC_CLIENT_SECRET": self.client_secret, "RC_JWT": self.jwt}

    def __repr__(self) -> str:
        return (f"Credentials(server_url={self.server_url!r}, client_id={self.client_id!r}, "
                f"client_secret={mask(self.client_secret)!r}, jwt={mask(self.jwt)!r})")

    __str__ = __repr__


class Simulator:
    """The embedded platform: ``start()``/``stop()`` or a context manager; see :mod:`rchelpers.simulator`.

    Keyword options are the fields of :class:`~rchelpers.simulator.options.SimulatorOptions`. Its parts are
    public for tests and tools: ``accounts``, ``oauth`` and ``subscriptions`` (the backends), ``notifier``,
    ``router``, ``rate_limiter``, ``webhook_client`` and ``clock``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int | None = None,
                 clock_speed: float | None = None, start_time: float | None = None, **options: Any) -> None:
        known = set(option_names())
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown Simulator option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.host = host
        self.port = port
        self.seed = seed
        self.options = SimulatorOptions(**options)
        start: float | None
        if seed is not None:
            start = SEEDED_EPOCH if start_time is None else start_time
            speed = 0.0 if clock_speed is None else clock_speed
        else:
            start, speed = start_time, 1.0 if clock_speed is None else clock_speed
        self.clock = SimClock(start=start, speed=speed)
        self.ids = IdSource(seed)
        # the parts, each given only what it needs (the order of the id draws keeps seeded runs identical)
        self.accounts = Accounts(self.ids, self.clock.now(), self.options.permissions)
        self.ids.mark()  # reset() draws again from here: the same credentials, then the same ids as a new simulator
        ca_file = self.options.webhook_ca_file  # read (and checked) now; without it the context is built lazily
        self.webhook_client = WebhookClient(webhook_ssl_context(ca_file) if ca_file is not None else None)
        self.oauth = OAuthBackend(self.accounts, self.clock, self.ids, self.options)
        self.subscriptions = SubscriptionsBackend(self.clock, self.ids, self.options,
                                                  Handshake(self.webhook_client, self.options))
        self.rate_limiter = RateLimiter(self.options.rate_limits, self.clock.now)
        self.reset_hooks: list[Callable[[], object]] = []
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: ClockTicker | None = None
        self._lifecycle = threading.Lock()
        self.notifier = Notifier(self.clock, self.subscriptions, self.accounts.user, self.options,
                                 self.webhook_client, self.ids.bytes(NOTIFIER_SEED_BYTES),
                                 base_url=self._base_url, ids=self.ids)
        platform_api = PlatformApi(self.oauth, self.subscriptions, self.accounts, self._base_url)
        self._control = ControlApi(self.clock, self.accounts, self.oauth, self.subscriptions, self.notifier,
                                   self.reset, self._base_url)
        self.router = Router(platform_api.authorize, self.rate_limiter, platform_api.rate_key)
        for new in platform_api.routes() + self._control.routes():
            self.router.add(new)

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "Simulator":
        """Bind the port and serve in a background thread (and run the clock's ticker); returns self."""
        with self._lifecycle:
            if self._server is not None:
                return self
            server = SimServer((self.host, self.port), self.router.dispatch, self.options.max_body_bytes)
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever,
                                            name=f"rc-sim-server-{server.server_address[1]}", daemon=True)
            self._thread.start()
            self._ticker = ClockTicker(self.clock).start()
            self.notifier.start()
            log.info("RingCentral simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the port, stop the ticker; leaves no thread behind."""
        with self._lifecycle:
            server, thread, ticker = self._server, self._thread, self._ticker
            self._server = self._thread = self._ticker = None
        if ticker is not None:
            ticker.stop()
            self.notifier.stop()
            self.webhook_client.close()
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (only while running)."""
        server = self._server
        if server is None:
            raise RuntimeError("the simulator is not running: call start() or use it as a context manager")
        host, port = server.server_address[:2]
        assert isinstance(host, str)  # a bound AF_INET/AF_INET6 socket names its host as a str
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def _base_url(self) -> str:
        return self.url

    # --- credentials ------------------------------------------------------------------------------
    @property
    def credentials(self) -> Credentials:
        """The demo app's client id and secret and the demo user's JWT, with this server's URL."""
        return self._credentials_for(self.accounts.demo_app.client_id)

    @property
    def second_app_credentials(self) -> Credentials:
        """A second app of the same user: its list of subscriptions is separate (per-app scoping)."""
        return self._credentials_for(self.accounts.second_app.client_id)

    def _credentials_for(self, client_id: str) -> Credentials:
        app = self.accounts.apps[client_id]
        return Credentials(self.url, app.client_id, app.client_secret, self.accounts.user.jwt)

    # --- extension points -------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Handler, *, group: str | None = None,
                  auth: bool = False) -> Route:
        """Serve ``method`` on paths fully matching ``pattern`` with ``handler(request) -> SimResponse``."""
        if not (pattern.startswith("/_sim/") or pattern.startswith("/restapi/")):
            raise ValueError(f"routes live under /_sim/ (control) or /restapi/ (platform API), got {pattern!r}")
        new = route(method, pattern, handler, group, auth)
        return self.router.add(new, first=True)  # added routes win over the built-in ones

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(change, record)`` on each lifecycle change of a subscription: created, renewed,
        updated, deleted or expired (:data:`~rchelpers.simulator.subscriptions.LIFECYCLE_CHANGES`)."""
        self.subscriptions.add_listener(listener)

    def add_reset_hook(self, hook: Callable[[], object]) -> None:
        """Call ``hook()`` at every :meth:`reset`, after the state is cleared."""
        self.reset_hooks.append(hook)

    # --- control ----------------------------------------------------------------------------------
    def advance(self, seconds: float) -> int:
        """Move simulated time forward (see :meth:`SimClock.advance`); returns the number of jobs run."""
        return self.clock.advance(seconds)

    def reset(self) -> None:
        """Return to the state of a new simulator with the same options and seed, started if this one runs.

        Kept: the port, the demo apps, user and credentials, and what was added with :meth:`add_route`,
        :meth:`add_listener` and :meth:`add_reset_hook`. Seeded, what follows answers byte for byte as on a new
        simulator: ids, tokens and notification uuids are drawn again from right after the demo credentials;
        the clock is back at its start and speed with no job but the recurring ones (reminder job,
        reactivation probe) at their first times; pending scenario steps and retries are cancelled; the
        delivery log (attempt ids from 1), the event sequences, tokens, subscriptions, legacy records, the
        handshake log and the rate-limit counters are gone. Unseeded, the same is cleared and new ids are drawn.
        Then the reset hooks run.
        """
        with self._lifecycle:
            self.clock.reset()  # first: every part below re-arms its recurring jobs on the reset clock
            self.ids.reset()
            self.oauth.reset()
            self.subscriptions.reset()
            self.rate_limiter.reset()
            self.webhook_client.close()
            self.notifier.reset(self.ids.bytes(NOTIFIER_SEED_BYTES))
        for hook in list(self.reset_hooks):
            try:
                hook()
            except Exception:
                log.exception("reset hook %r failed", hook)

    def wiring(self) -> tuple[object, ...]:
        """A snapshot of what :meth:`reset` keeps besides the credentials: the options, the routes, the
        subscription and delivery listeners, the clock's settle hooks and the reset hooks. Two equal
        snapshots mean none of them was added, removed or changed in between (the pytest plugin reuses a
        simulator for the next test only then)."""
        return (repr(self.options), tuple(self.router.routes), tuple(self.subscriptions.listeners),
                self.notifier.engine, tuple(self.notifier.engine.listeners()), tuple(self.clock.settle_hooks()),
                tuple(self.reset_hooks))

    # --- notifications ----------------------------------------------------------------------------
    def trigger(self, kind: str, **fields: Any) -> TriggerResult:
        """Send a sample event of the demo user to every matching filter; see :meth:`~rchelpers.simulator.notifier.Notifier.trigger`."""
        return self.notifier.trigger(kind, **fields)

    def scenario(self, name: str, **options: Any) -> ScenarioResult:
        """Play a whole call of the demo user on the simulated clock (``inbound_call``, ``missed_call``,
        ``outbound_call``); see :meth:`~rchelpers.simulator.notifier.Notifier.scenario`."""
        return self.notifier.scenario(name, options)

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Every delivery attempt logged so far, oldest first."""
        return self.notifier.attempts()

    def replay(self, key: str | int) -> Notification:
        """Send a logged notification again, same uuid, by its uuid or attempt id."""
        return self.notifier.replay(key)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery is answered; True if it happened within ``timeout``."""
        return self.notifier.wait(timeout)

    def seed_subscription(self, transport: str = "PubNub", event_filters: list[str] | None = None,
                          expires_in: int | None = None, client_id: str | None = None) -> dict[str, Any]:
        """Add a legacy PubNub or WebSocket record to the demo user's list; returns its SubscriptionInfo."""
        body: dict[str, Any] = {"transportType": transport}
        if event_filters is not None:
            body["eventFilters"] = event_filters
        if expires_in is not None:
            body["expiresIn"] = expires_in
        if client_id is not None:
            body["clientId"] = client_id
        record = self._control.seed_from_body(body)
        return record.to_info(self.url if self.running else "", self.clock.now())

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Simulator {where} seed={self.seed!r} now={iso(self.clock.now())}>"

