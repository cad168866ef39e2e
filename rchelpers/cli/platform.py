"""Where the commands find the platform: configuration as the notebooks read it, login, and the simulator's
``/_sim/`` control routes over HTTP.

The configuration comes from :meth:`rchelpers.Config.from_env` (environment, ``.env``, ``RC_ENV_FILE``).
No ``RC_SERVER_URL`` means the embedded simulator: ``listen`` starts one for its session; commands that
need a platform that outlives them (``subscriptions``, ``trigger``, ``clock``, ``deliveries``, ``replay``) say to
start ``rchelpers sim`` instead.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import requests

from rchelpers.cli.output import CliError, Output
from rchelpers.client.auth import TokenManager
from rchelpers.client.config import Config, env_value
from rchelpers.client.http_errors import error_from_response
from rchelpers.client.rest import RestClient
from rchelpers.errors import ApiError
from rchelpers.masking import mask

__all__ = ["NO_PLATFORM", "NO_SIMULATOR", "SimControl", "api_error_message", "close_client", "embedded_platform", "error_message",
           "load_config", "login", "require_server", "sim_control", "token_cache_path"]

#: What to do when a command needs a running platform and none is configured.
NO_PLATFORM = ("no platform is configured (RC_SERVER_URL is not set): start a simulator in another terminal with "
               "`rchelpers sim --env-file .env.sim` and run this command with RC_ENV_FILE=.env.sim; or set "
               "RC_SERVER_URL, RC_CLIENT_ID, RC_CLIENT_SECRET and RC_JWT (environment or .env) for the real platform")
#: The same for the commands that only the simulator has (trigger, clock, deliveries, replay).
NO_SIMULATOR = ("no simulator is configured (RC_SERVER_URL is not set): start one in another terminal with "
                "`rchelpers sim --env-file .env.sim` and run this command with RC_ENV_FILE=.env.sim")
#: The real platform's hosts (platform.ringcentral.com, platform.devtest.ringcentral.com) end with this.
REAL_PLATFORM_DOMAIN = ".ringcentral.com"
#: Seconds a call to the simulator's control routes may take (a trigger waits for its deliveries).
CONTROL_TIMEOUT = (3.05, 60.0)


def load_config() -> Config:
    """The configuration exactly as the notebooks read it; ConfigError says what is missing."""
    return Config.from_env()


def require_server(config: Config) -> Config:
    """``config`` if it names a server, else the error that says to start ``rchelpers sim``."""
    if config.server_url is None:
        raise CliError(NO_PLATFORM)
    return config


def token_cache_path() -> Path:
    """The CLI's token cache (mode 0600): ``$XDG_CACHE_HOME/rchelpers/cli.token.json``.

    Commands run one after another reuse the token instead of logging in each time (the platform allows
    5 logins a minute); the cache is read only for the same server and client id.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rchelpers" / "cli.token.json"


def login(config: Config, output: Output, *, use_cache: bool = True) -> RestClient:
    """A RestClient logged in to ``config``'s server (with the cached token when it is still good).

    A login answered 429 waits as ``Retry-After`` asks; the wait is shown on stderr (see :func:`rchelpers.cli.main`).
    """
    tokens = TokenManager(config, cache_path=token_cache_path() if use_cache else None)
    client = RestClient(tokens)
    if tokens.is_logged_in:
        return client
    try:
        with output.progress(f"Logging in to {config.server_url} (client id {mask(config.client_id)})"):
            _ = tokens.access_token
    except BaseException:
        tokens.close()
        raise
    return client


def close_client(client: RestClient) -> None:
    """Close the client and its token manager (the tokens stay valid, and cached)."""
    client.close()
    client.tokens.close()


@contextlib.contextmanager
def embedded_platform(output: Output) -> Iterator[tuple[Config, Any]]:
    """An embedded simulator for this command's session and the config built from it; stopped at the end."""
    from rchelpers.simulator import Simulator

    with output.progress("RC_SERVER_URL is not set: starting an embedded simulator for this session"):
        sim = Simulator().start()
    try:
        yield Config.from_mapping(sim.credentials.as_env(), source="embedded simulator"), sim
    finally:
        sim.stop()


class SimControl:
    """The simulator's ``/_sim/`` routes over HTTP (they need no login); ``timeout`` bounds each call.

    A context manager: the HTTP session is closed at the end."""

    def __init__(self, server_url: str, session: requests.Session | None = None,
                 timeout: tuple[float, float] = CONTROL_TIMEOUT) -> None:
        self.server_url = server_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> requests.Response:
        """Send one control request; CliError when the simulator cannot be reached."""
        try:
            return self.session.request(method, self.server_url + path, json=json, params=params,
                                        timeout=self.timeout)
        except requests.ConnectionError:
            raise CliError(f"cannot reach the platform at {self.server_url}: is the simulator running? "
                           "Start it with `rchelpers sim --env-file .env.sim` and set RC_ENV_FILE=.env.sim") from None
        except requests.Timeout:
            raise CliError(f"the platform at {self.server_url} did not answer {method} {path} in time: "
                           "is it busy or stopped? Try again") from None

    def check_is_simulator(self, what: str) -> None:
        """Raise CliError naming the real platform's limitation unless the server answers ``GET /_sim/clock``."""
        response = self.request("GET", "/_sim/clock")
        try:
            ok = response.status_code == 200 and "now" in response.json()
        except ValueError:
            ok = False
        if not ok:
            raise CliError(f"the platform at {self.server_url} is not the simulator (it has no /_sim/ routes) and "
                           f"the real platform {what}; point RC_ENV_FILE at a simulator's env file "
                           "(`rchelpers sim --env-file .env.sim`) to use the simulator")

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET a control route and return its JSON; CliError for an error answer."""
        return self.json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any = None) -> Any:
        """POST a control route and return its JSON; CliError for an error answer."""
        return self.json(self.request("POST", path, json=body))

    @staticmethod
    def json(response: requests.Response) -> Any:
        """The answer's JSON, or CliError with the simulator's error message."""
        if not response.ok:
            raise CliError(error_message(response))
        try:
            return response.json()
        except ValueError:
            raise CliError(f"{response.url} answered with a body that is not JSON: is RC_SERVER_URL the "
                           "simulator's base URL?") from None

    def path(self, *parts: str) -> str:
        """``/_sim/`` followed by ``parts``, each quoted."""
        return "/_sim/" + "/".join(quote(part, safe="") for part in parts)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> "SimControl":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def error_message(response: requests.Response) -> str:
    """``HTTP 400 CMN-101: message`` from a RingCentral-shaped error answer."""
    return api_error_message(error_from_response(response, response.request.method or ""))


def sim_control(what: str) -> SimControl:
    """A SimControl for the configured simulator, after checking that it is one.

    Only ``RC_SERVER_URL`` is needed (control routes need no login); it is read where ``Config`` reads it.
    ``what`` completes "the real platform ..." in the error for a server that is not the simulator.
    """
    server_url = env_value("RC_SERVER_URL")
    if not server_url:
        load_config()  # raises the ConfigError that explains a bad RC_ENV_FILE
        raise CliError(NO_SIMULATOR)
    parts = urlsplit(server_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"RC_SERVER_URL must be an http(s) URL such as http://127.0.0.1:8090, got {server_url!r}")
    origin = f"{parts.scheme}://{parts.netloc}"
    if (parts.hostname or "").endswith(REAL_PLATFORM_DOMAIN):
        raise CliError(f"RC_SERVER_URL is {origin}, the real platform, which {what}; point RC_ENV_FILE at a "
                       "simulator's env file (`rchelpers sim --env-file .env.sim`) to use the simulator")
    control = SimControl(origin)
    try:
        control.check_is_simulator(what)
    except BaseException:
        control.close()
        raise
    return control


def api_error_message(error: ApiError) -> str:
    """The platform's error without the request URL (the commands say what they did)."""
    code = f" {error.error_code}" if error.error_code else ""
    param = f" [parameter: {error.parameter_name}]" if error.parameter_name else ""
    return f"HTTP {error.status}{code}: {error.message}{param}"
