"""rchelpers.simulator: an embedded RingCentral platform (OAuth + webhook subscriptions) on loopback.

Like moto, the platform's state (:mod:`.state`) is apart from its HTTP layer (:mod:`.server`), and one
implementation serves both uses::

    with Simulator() as sim:                 # in-process, ephemeral loopback port
        sim.url, sim.credentials, sim.clock  # base URL, demo app + JWT, the simulated clock
        sim.clock.advance(3600)              # a token or subscription expiry happens at once

    python -m rchelpers.simulator --port 8090 --env-file .env   # standalone, until Ctrl-C

It follows ``PLATFORM-FACTS.md`` and ``DECISIONS.md``. Behaviour is tagged **modelled** (taken from
RingCentral's public sources) or **guessed** (the sources are silent; the simulator's choice).

Options are the keyword arguments of :class:`Simulator`; each is defined, with its default and whether it is
modelled or guessed, in :class:`~rchelpers.simulator.options.SimulatorOptions`.

Notifications (:mod:`.notifications` wires :mod:`.delivery`, :mod:`.reminders` and :mod:`.events`):
``sim.trigger(kind, **fields)`` (or ``POST /_sim/events``) sends a sample event of the demo user (presence, message_store,
instant_sms, extension_info, extension_list) to every Active WebHook filter it matches, as the
envelope ``{uuid, event, timestamp, subscriptionId, ownerId, body}`` with ``Verification-Token``;
failures are retried and blacklisted as above; renewal reminders run every ``reminder_job_interval``;
``sim.deliveries`` (``GET /_sim/deliveries``) is the log of every attempt, ``sim.replay(uuid or id)``
(``POST /_sim/deliveries/{id}/replay``) sends one again with the same uuid. After each clock job the
clock waits (bounded) for the deliveries that job started; with a frozen clock ``trigger`` waits for
its own, with a flowing one call ``sim.wait_for_deliveries()``. ``check_receiver(url)``
(``python -m rchelpers.simulator check URL``) runs the platform's rules against any webhook
(``ca_file=`` / ``--ca-file`` trusts a test CA for an https one).

``seed`` makes every id, uuid, token and secret come from ``random.Random(seed)`` and starts a frozen
clock at 2026-01-01T00:00:00Z (``start_time``/``clock_speed`` change that), so equal calls give
byte-identical JSON. Without ``seed``: real time and ``secrets``.

Guessed error choices (no source gives them): a missing field is 400 CMN-100 ``Parameter [x] is
required``; a malformed bearer header 401 OAU-134; an unknown or revoked token 401 OAU-149; a bad JWT
400 ``invalid_grant`` OAU-140; an unknown, used or expired refresh token 400 ``invalid_grant`` OAU-213;
an unknown client 401 ``invalid_client`` OAU-153; a wrong secret 401 OAU-146; a non-form token request
415; an unknown path 404 CMN-120; a wrong method 405 CMN-202; a body over ``max_body_bytes`` 413;
an update or renew of a WebSocket record 400 CMN-101 on ``deliveryMode.transportType``; another
extension in a filter 403 SUB-405 (messages) or SUB-408 (others). The 10 s grace of a used refresh
token is not modelled (a used refresh token fails at once). Rate-limit headers are sent on
authenticated API calls and token/revoke calls (a 401 carries none); the Auth group is counted per
client id. Filters without the ``/restapi/v1.0`` prefix are accepted and returned with it. A PUT with
only ``expiresIn`` renews with that new lifetime (later renewals reuse it); a PUT that would break a
reminder filter's rules for the new lifetime is refused with SUB-508. Unknown fields are ignored
(``expiresIn`` nested inside ``deliveryMode`` too, as the platform does). The handshake is not repeated
on renew or PUT. Legacy PubNub/WebSocket records are seeded without a handshake, default 900 s.
CORS (modelled: browsers run the JS SDK against the platform, ringcentral-web-phone issue #300): a
well-formed ``Origin`` is echoed in ``Access-Control-Allow-Origin`` on every answer, with the rate-limit
headers and ``Retry-After`` exposed (guessed); a preflight of a served path gets 200 with its methods and
the asked headers (max-age 600, guessed); a preflight of an unknown path gets the usual 404.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, fields
from typing import Any, Callable

from rchelpers.simulator.checker import CheckReport, check_receiver
from rchelpers.simulator.clock import ClockTicker, SimClock, iso
from rchelpers.simulator.delivery_log import DeliveryAttempt
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.errors import PlatformError, SimulatorError
from rchelpers.simulator.notifications import Notifications, TriggerResult
from rchelpers.simulator.ratelimit import RateLimiter
from rchelpers.simulator.server import Handler, Route, SimRequest, SimResponse, SimServer, api_routes, control_routes, route
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.state import LIFECYCLE_CHANGES, IdSource, State, SubscriptionRecord

__all__ = ["Credentials", "Simulator", "SimClock", "SimulatorOptions", "SubscriptionRecord", "LIFECYCLE_CHANGES", "iso",
           "CheckReport", "check_receiver", "DeliveryAttempt", "Notification", "TriggerResult", "SimRequest",
           "SimResponse", "SimulatorError", "PlatformError"]

log = logging.getLogger(__name__)

#: The simulated start of a seeded run: 2026-01-01T00:00:00Z.
SEEDED_EPOCH = 1767225600.0


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
    """The embedded platform: ``start()``/``stop()`` or a context manager; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int | None = None,
                 clock_speed: float | None = None, start_time: float | None = None, **options: Any) -> None:
        known = {f.name for f in fields(SimulatorOptions)}
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
        self.state = State(self.clock, self.ids, self.options)
        self.rate_limiter = RateLimiter(self.options.rate_limits, self.clock.now)
        self.routes: list[Route] = api_routes() + control_routes()
        self.reset_hooks: list[Callable[[], object]] = []
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: ClockTicker | None = None
        self._lifecycle = threading.Lock()
        self.notifications = Notifications(self, self.options, self.state.webhook_client)

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "Simulator":
        """Bind the port and serve in a background thread (and run the clock's ticker); returns self."""
        with self._lifecycle:
            if self._server is not None:
                return self
            server = SimServer((self.host, self.port), self)
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                            name=f"rc-sim-server-{server.server_address[1]}", daemon=True)
            self._thread.start()
            self._ticker = ClockTicker(self.clock).start()
            self.notifications.start()
            log.info("RingCentral simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the port, stop the ticker; leaves no thread behind."""
        with self._lifecycle:
            server, thread, ticker = self._server, self._thread, self._ticker
            self._server = self._thread = self._ticker = None
        if ticker is not None:
            ticker.stop()
            self.notifications.stop()
            self.state.webhook_client.close()
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

    # --- credentials ------------------------------------------------------------------------------
    @property
    def credentials(self) -> Credentials:
        """The demo app's client id and secret and the demo user's JWT, with this server's URL."""
        return self._credentials_for(self.state.demo_app.client_id)

    @property
    def second_app_credentials(self) -> Credentials:
        """A second app of the same user: its list of subscriptions is separate (per-app scoping)."""
        return self._credentials_for(self.state.second_app.client_id)

    def _credentials_for(self, client_id: str) -> Credentials:
        app = self.state.apps[client_id]
        return Credentials(self.url, app.client_id, app.client_secret, self.state.user.jwt)

    # --- extension points -------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Handler, *, group: str | None = None,
                  auth: bool = False) -> Route:
        """Serve ``method`` on paths fully matching ``pattern`` with ``handler(request) -> SimResponse``."""
        if not (pattern.startswith("/_sim/") or pattern.startswith("/restapi/")):
            raise ValueError(f"routes live under /_sim/ (control) or /restapi/ (platform API), got {pattern!r}")
        new = route(method, pattern, handler, group, auth)
        self.routes.insert(0, new)  # added routes win over the built-in ones
        return new

    def add_listener(self, listener: Callable[[str, SubscriptionRecord], object]) -> None:
        """Call ``listener(event, record)`` on created/renewed/updated/deleted/expired subscriptions."""
        self.state.add_listener(listener)

    def add_reset_hook(self, hook: Callable[[], object]) -> None:
        """Call ``hook()`` at every :meth:`reset`, after the state is cleared."""
        self.reset_hooks.append(hook)

    # --- control ----------------------------------------------------------------------------------
    def advance(self, seconds: float) -> int:
        """Move simulated time forward (see :meth:`SimClock.advance`); returns the number of jobs run."""
        return self.clock.advance(seconds)

    def reset(self) -> None:
        """Drop tokens, subscriptions and rate counters; keep the demo app, user and credentials."""
        self.state.reset()
        self.rate_limiter.reset()
        for hook in list(self.reset_hooks):
            try:
                hook()
            except Exception:
                log.exception("reset hook %r failed", hook)

    # --- notifications ----------------------------------------------------------------------------
    def trigger(self, kind: str, **fields: Any) -> TriggerResult:
        """Send a sample event of the demo user to every matching filter; see :meth:`Notifications.trigger`."""
        return self.notifications.trigger(kind, **fields)

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Every delivery attempt logged so far, oldest first."""
        return self.notifications.engine.attempts()

    def replay(self, key: str | int) -> Notification:
        """Send a logged notification again, same uuid, by its uuid or attempt id."""
        return self.notifications.replay(key)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery is answered; True if it happened within ``timeout``."""
        return self.notifications.wait(timeout)

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
        record = self.state.seed_legacy(body)
        return record.to_info(self.url if self.running else "", self.clock.now())

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Simulator {where} seed={self.seed!r} now={iso(self.clock.now())}>"

