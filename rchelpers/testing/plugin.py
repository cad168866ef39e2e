"""The pytest plugin: fixtures for testing your own RingCentral webhook app, registered on install.

Installing ``rchelpers`` registers this module through the ``pytest11`` entry point, so the fixtures
below are available in any test with no conftest:

=====================  =========================================================================
fixture                what a test gets
=====================  =========================================================================
``rc_sim``             a started :class:`~rchelpers.simulator.Simulator` in the state of a new one,
                       seeded (``seed=1``: same ids, tokens and times every run) with a frozen
                       clock; ``rc_sim.trigger(kind, **fields)`` sends a sample event
``rc_clock``           ``rc_sim.clock``: ``rc_clock.advance(seconds)`` runs reminders, retries, expiry
``rc_config``          the :class:`~rchelpers.Config` of the platform under test
``rc_env``             ``RC_SERVER_URL``, ``RC_CLIENT_ID``, ``RC_CLIENT_SECRET``, ``RC_JWT`` set for the
                       test (and ``RC_ENV_FILE=""``: no .env is read; on the simulator
                       ``NGROK_AUTHTOKEN`` unset), restored after
``rc_client``          a logged-in :class:`~rchelpers.RestClient`
``rc_subscriptions``   a :class:`~rchelpers.SubscriptionClient` on ``rc_client``
``rc_receiver``        a started :class:`~rchelpers.WebhookReceiver`, journal in the test's
                       ``tmp_path``, stopped after the test
``rc_webhook_url``     the address a subscription should deliver to: ``rc_receiver.url`` on loopback,
                       a tunnel's public URL against a remote platform
``rc_faulty_webhook``  a factory ``rc_faulty_webhook(target_url=None) -> FaultyWebhook``: a webhook
                       that answers slowly, with an error, or not at all (stopped after the test)
=====================  =========================================================================

``rc_sim`` is fast: each pytest process (each xdist worker) starts one simulator per set of options and
:meth:`~rchelpers.simulator.Simulator.reset` s it before each test that uses it, which gives the state of a
new simulator (same ids, tokens, clock, notification uuids and delivery log). A test that changes the
simulator beyond its state (adds a route, a listener or a hook, changes its options, stops it) gets it
replaced after the test. ``@pytest.mark.rc_sim(fresh=True)`` gives a test a simulator of its own, started
for it and stopped after it (its own port); ``--rc-fresh-sim`` does that for every test.

Markers: ``@pytest.mark.rc_sim(**options)`` passes options to the Simulator (``seed``,
``clock_speed``, ``start_time`` and every Simulator option, e.g. ``subscription_limit=2``; ``fresh=True``);
``@pytest.mark.rc_receiver(**options)`` passes options to the WebhookReceiver (e.g.
``verification_token="..."``); ``@pytest.mark.rc_live`` runs the test against the platform named by
the ``RC_*`` variables, as the ``--rc-live`` option does for the whole run. Without those variables a
live test is skipped, with the reason; in live mode ``rc_sim`` and ``rc_clock`` refuse (they exist
only on the simulator).
"""
from __future__ import annotations

import collections
import contextlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn

import pytest

if TYPE_CHECKING:
    from rchelpers.client.auth import TokenManager
    from rchelpers.client.config import Config
    from rchelpers.client.rest import RestClient
    from rchelpers.client.subscriptions import SubscriptionClient
    from rchelpers.receiver.webhook_receiver import WebhookReceiver
    from rchelpers.simulator import SimClock, Simulator
    from rchelpers.testing.faults import FaultyWebhook

__all__ = ["DEFAULT_SEED", "fail", "is_live", "known_simulator_options", "receiver_options",
           "simulator_options"]

#: The seed ``rc_sim`` uses unless the ``rc_sim`` marker gives another (``seed=None``: real time, random ids).
DEFAULT_SEED = 1
_ENV_FILE_VAR = "RC_ENV_FILE"
#: Simulator keyword arguments that a marker may not set: each test gets its own loopback port.
_NOT_MARKER_OPTIONS = ("host", "port")
#: The ``rc_sim`` marker option that asks for a simulator of the test's own (not a Simulator option).
FRESH_OPTION = "fresh"
#: How many simulators (distinct marker options) a pytest process keeps running for reuse; the least
#: recently used one is stopped beyond that.
MAX_KEPT_SIMULATORS = 4


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--rc-live``: run the tests that use the rc_ fixtures against the real platform."""
    group = parser.getgroup("rchelpers", "RingCentral webhook testing (rchelpers)")
    group.addoption("--rc-live", action="store_true", default=False, dest="rc_live",
                    help="run tests that use the rc_ fixtures against the platform named by RC_SERVER_URL, "
                         "RC_CLIENT_ID, RC_CLIENT_SECRET and RC_JWT (environment or .env) instead of the "
                         "embedded simulator; skipped when they are not set")
    group.addoption("--rc-fresh-sim", action="store_true", default=False, dest="rc_fresh_sim",
                    help="start a new simulator for every test that uses rc_sim (default: one per process and "
                         "set of options, reset() before each test, which gives the same state)")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers (so ``--strict-markers`` accepts them)."""
    config.addinivalue_line("markers", "rc_sim(**options): options of the test's Simulator (rchelpers), "
                                       "e.g. subscription_limit=2, validation_timeout=1.0, seed=None; "
                                       "fresh=True for a simulator of the test's own")
    config.addinivalue_line("markers", "rc_receiver(**options): options of the test's WebhookReceiver "
                                       "(rchelpers), e.g. verification_token='...'")
    config.addinivalue_line("markers", "rc_live: run this test against the real platform named by the RC_* "
                                       "variables (rchelpers); skipped when they are not set")


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: one line, no traceback, no chained exception."""
    raise pytest.fail.Exception(message, pytrace=False) from None


# --- which platform ---------------------------------------------------------------------------------
def is_live(request: pytest.FixtureRequest) -> bool:
    """True when this test targets the real platform (``--rc-live`` or the ``rc_live`` marker)."""
    return bool(request.config.getoption("rc_live", False)) or request.node.get_closest_marker("rc_live") is not None


def _refuse_in_live_mode(request: pytest.FixtureRequest, fixture: str, instead: str) -> None:
    if is_live(request):
        fail(f"{fixture} exists only on the embedded simulator and this test runs against the real "
             f"platform (--rc-live or @pytest.mark.rc_live): {instead}")


@pytest.fixture(scope="session")
def _rc_live_config() -> Config | None:
    """The live platform's Config from the RC_* variables (and .env), read once; None when they are unset."""
    from rchelpers.client.config import Config
    from rchelpers.errors import ConfigError

    try:
        config = Config.from_env()
    except ConfigError as exc:
        fail(f"--rc-live: {exc}")
    return None if config.uses_simulator else config


def _live_config(request: pytest.FixtureRequest) -> Config:
    config: Config | None = request.getfixturevalue("_rc_live_config")
    if config is None:
        pytest.skip("live mode (--rc-live or @pytest.mark.rc_live) needs RC_SERVER_URL, RC_CLIENT_ID, "
                    "RC_CLIENT_SECRET and RC_JWT in the environment or .env; RC_SERVER_URL is not set")
    return config


# --- the simulator ----------------------------------------------------------------------------------
def simulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``rc_sim`` options for this test: ``seed=1`` and the ``rc_sim`` markers' options (the Simulator
    keyword arguments, and ``fresh``).

    Markers closer to the test win (a function's over its class's over its module's). An unknown
    option fails the test with the list of known ones.
    """
    options: dict[str, Any] = {"seed": DEFAULT_SEED}
    for marker in reversed(list(request.node.iter_markers("rc_sim"))):
        if marker.args:
            fail(f"@pytest.mark.rc_sim takes keyword options only, e.g. rc_sim(subscription_limit=2), "
                 f"not {marker.args!r}")
        options.update(marker.kwargs)
    known = known_simulator_options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        fail(f"@pytest.mark.rc_sim: unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return options


_known_options: list[str] = []


def known_simulator_options() -> list[str]:
    """The option names the ``rc_sim`` marker accepts: the Simulator's keyword arguments and ``fresh``, sorted."""
    if not _known_options:
        from rchelpers.simulator import Simulator
        from rchelpers.simulator.options import option_names

        parameters = inspect.signature(Simulator).parameters.values()
        names = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        names.update(option_names())
        names.add(FRESH_OPTION)
        _known_options.extend(sorted(names - set(_NOT_MARKER_OPTIONS)))
    return _known_options


class SimulatorPool:
    """The simulators a pytest process keeps for reuse, one per set of options (at most ``limit``, the least
    recently used stopped first). Session-scoped, so each xdist worker has its own."""

    def __init__(self, limit: int = MAX_KEPT_SIMULATORS) -> None:
        self.limit = limit
        self._kept: collections.OrderedDict[str, Simulator] = collections.OrderedDict()

    def take(self, options: dict[str, Any]) -> Simulator:
        """A started simulator made with ``options``, in the state of a new one: a kept one reset, or a new one."""
        from rchelpers.simulator import Simulator

        key = repr(sorted(options.items()))
        sim = self._kept.pop(key, None)
        if sim is not None:
            sim.reset()
        else:
            sim = Simulator(**options).start()
        self._kept[key] = sim
        while len(self._kept) > self.limit:
            _, oldest = self._kept.popitem(last=False)
            oldest.stop()
        return sim

    def discard(self, sim: Simulator) -> None:
        """Stop ``sim`` and keep it no longer (a test changed it beyond what reset() restores)."""
        for key, kept in list(self._kept.items()):
            if kept is sim:
                del self._kept[key]
        sim.stop()

    def close(self) -> None:
        """Stop every kept simulator."""
        while self._kept:
            _, sim = self._kept.popitem()
            sim.stop()


@pytest.fixture(scope="session")
def _rc_sim_pool() -> Iterator[SimulatorPool]:
    """This process's kept simulators (one pool per xdist worker), stopped at the end of the session."""
    pool = SimulatorPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def rc_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A started Simulator in the state of a new one (seeded, frozen clock), for this test.

    Options come from ``@pytest.mark.rc_sim(...)``. The simulator is kept for the next test with the same
    options and reset() before it, unless the test asks for one of its own (``fresh=True`` or
    ``--rc-fresh-sim``) or changes it beyond its state (routes, listeners, hooks, options; stopping it).
    ``rc_sim.trigger(kind, **fields)`` sends a sample event; ``rc_sim.deliveries`` is the delivery log
    (see :func:`rchelpers.testing.assert_delivered`).
    """
    _refuse_in_live_mode(request, "rc_sim", "run this test without --rc-live, or write it with rc_config, "
                         "rc_client, rc_subscriptions and rc_webhook_url only")
    from rchelpers.simulator import Simulator

    options = simulator_options(request)
    fresh = options.pop(FRESH_OPTION, False)
    if not isinstance(fresh, bool):
        fail(f"@pytest.mark.rc_sim: fresh must be True or False, got {fresh!r}")
    if fresh or request.config.getoption("rc_fresh_sim", False):
        try:
            sim = Simulator(**options)
        except (TypeError, ValueError) as exc:
            fail(f"@pytest.mark.rc_sim: {exc}")
        with sim:
            yield sim
        return
    pool: SimulatorPool = request.getfixturevalue("_rc_sim_pool")
    try:
        sim = pool.take(options)
    except (TypeError, ValueError) as exc:
        fail(f"@pytest.mark.rc_sim: {exc}")
    wiring = sim.wiring()
    try:
        yield sim
    finally:
        if not sim.running or sim.wiring() != wiring:
            pool.discard(sim)


@pytest.fixture
def rc_clock(request: pytest.FixtureRequest) -> SimClock:
    """The simulator's clock (``rc_sim.clock``): ``advance(seconds)`` runs what falls due, in order."""
    _refuse_in_live_mode(request, "rc_clock", "the real platform's time cannot be moved: run this test "
                         "without --rc-live")
    sim: Simulator = request.getfixturevalue("rc_sim")
    return sim.clock


# --- the client -------------------------------------------------------------------------------------
@pytest.fixture
def rc_config(request: pytest.FixtureRequest) -> Config:
    """The Config of the platform under test: ``rc_sim``'s, or the real one's in live mode."""
    if is_live(request):
        return _live_config(request)
    from rchelpers.client.config import Config

    sim: Simulator = request.getfixturevalue("rc_sim")
    return Config.from_mapping(sim.credentials.as_env(), source="rc_sim")


@pytest.fixture
def rc_env(request: pytest.FixtureRequest, rc_config: Config) -> Iterator[dict[str, str]]:
    """Set RC_SERVER_URL, RC_CLIENT_ID, RC_CLIENT_SECRET, RC_JWT (and RC_ENV_FILE="") for the test; restored after.

    On the simulator NGROK_AUTHTOKEN is also unset, so an app under test opens a local tunnel, never
    a public one. Yields the values set (secrets included: do not print them).
    """
    assert rc_config.server_url is not None  # rc_config always names a platform
    values = {"RC_SERVER_URL": rc_config.server_url, "RC_CLIENT_ID": rc_config.client_id,
              "RC_CLIENT_SECRET": rc_config.client_secret, "RC_JWT": rc_config.jwt, _ENV_FILE_VAR: ""}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        if not is_live(request):
            patch.delenv("NGROK_AUTHTOKEN", raising=False)
        yield values


@pytest.fixture(scope="session")
def _rc_live_tokens(_rc_live_config: Config | None) -> Iterator[TokenManager | None]:
    """One login per session against the real platform (its Auth group allows 5 a minute)."""
    if _rc_live_config is None:
        yield None
        return
    from rchelpers.client.auth import TokenManager

    with TokenManager(_rc_live_config) as tokens:
        yield tokens


@pytest.fixture
def rc_client(request: pytest.FixtureRequest, rc_config: Config) -> Iterator[RestClient]:
    """A logged-in RestClient on the platform under test (on the simulator, token expiry follows its clock)."""
    from rchelpers.client.auth import TokenManager
    from rchelpers.client.rest import RestClient
    from rchelpers.errors import ApiError

    if is_live(request):
        tokens: TokenManager = request.getfixturevalue("_rc_live_tokens")
        client = RestClient(tokens)
        try:
            tokens.access_token  # logs in (once per session), or says why the platform refused
        except ApiError as exc:
            fail(f"--rc-live: the real platform refused the login: {exc}")
        yield client
        return
    sim: Simulator = request.getfixturevalue("rc_sim")
    with TokenManager(rc_config, clock=sim.clock.now) as tokens:
        tokens.login()
        yield RestClient(tokens)


@pytest.fixture
def rc_subscriptions(request: pytest.FixtureRequest, rc_client: RestClient) -> SubscriptionClient:
    """A SubscriptionClient on ``rc_client`` (its reminder rules follow the simulator's job interval)."""
    from rchelpers.client.subscriptions import SubscriptionClient

    if is_live(request):
        return SubscriptionClient(rc_client)
    sim: Simulator = request.getfixturevalue("rc_sim")
    return SubscriptionClient(rc_client, job_interval=int(sim.options.reminder_job_interval))


# --- receiving --------------------------------------------------------------------------------------
def receiver_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The WebhookReceiver keyword arguments: a journal in ``tmp_path`` and the ``rc_receiver`` markers' options."""
    options: dict[str, Any] = {"journal": tmp_path / "webhooks.jsonl"}
    for marker in reversed(list(request.node.iter_markers("rc_receiver"))):
        if marker.args:
            fail("@pytest.mark.rc_receiver takes keyword options only, e.g. "
                 f"rc_receiver(verification_token='...'), not {marker.args!r}")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def rc_receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebhookReceiver]:
    """A started WebhookReceiver on loopback (journal ``tmp_path/webhooks.jsonl``), stopped after the test.

    Options come from ``@pytest.mark.rc_receiver(...)``; ``rc_receiver.assert_received(...)`` checks
    what arrived and tells what did when it fails.
    """
    from rchelpers.errors import ReceiverError
    from rchelpers.receiver.webhook_receiver import WebhookReceiver

    try:
        receiver = WebhookReceiver(**receiver_options(request, tmp_path))
        receiver.start()
    except (TypeError, ValueError, ReceiverError) as exc:
        fail(f"rc_receiver: {exc}")
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def rc_webhook_url(request: pytest.FixtureRequest, rc_receiver: WebhookReceiver) -> Iterator[str]:
    """Where subscriptions should deliver: ``rc_receiver.url``, or a tunnel's public URL to it in live mode.

    In live mode against a remote platform the tunnel needs ``NGROK_AUTHTOKEN`` (skipped without
    it), and the subscriptions left at that URL are deleted after the test.
    """
    if not is_live(request) or _live_config(request).is_loopback:
        yield rc_receiver.url
        return
    from rchelpers.client.subscriptions import SubscriptionClient
    from rchelpers.errors import ApiError
    from rchelpers.receiver.tunnel import open_tunnel

    with open_tunnel(rc_receiver) as tunnel:
        if not tunnel.is_public:
            pytest.skip("live mode: the real platform cannot reach a loopback receiver; set NGROK_AUTHTOKEN "
                        "so rc_webhook_url is a public ngrok URL")
        subscriptions = SubscriptionClient(request.getfixturevalue("rc_client"))  # for the clean-up after the test
        yield tunnel.public_url
        with contextlib.suppress(ApiError):
            for sub in subscriptions.list_all("WebHook"):
                if sub.address == tunnel.public_url:
                    subscriptions.delete(sub)


@pytest.fixture
def rc_faulty_webhook() -> Iterator[Callable[..., FaultyWebhook]]:
    """Factory ``rc_faulty_webhook(target_url=None, **options) -> FaultyWebhook``; each is stopped after the test.

    With ``target_url`` it is a proxy in front of your receiver; without, a stand-in webhook.
    """
    from rchelpers.testing.faults import FaultyWebhook

    with contextlib.ExitStack() as started:
        def factory(target_url: str | None = None, **options: Any) -> FaultyWebhook:
            return started.enter_context(FaultyWebhook(target_url, **options).start())

        yield factory

