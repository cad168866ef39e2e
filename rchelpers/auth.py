"""OAuth for a RingCentral app: JWT grant, refresh, revoke, and an optional token cache file.

``TokenManager`` holds one token pair and keeps it fresh::

    tokens = TokenManager(config)
    tokens.login()                      # JWT bearer grant
    headers = tokens.authorization_header()   # refreshes first when the token is about to expire
    tokens.revoke()                     # logout

Refresh tokens are single use: a refresh stores the new pair in one step (and in the cache file,
if any) under the manager's lock, so two threads never spend the same refresh token.
A 429 from the token endpoint (the Auth group: 5 requests a minute on the real platform) is waited
out as ``Retry-After`` asks, within the same bounds as ``RestClient`` (:class:`RetryAfterBudget`).
Every repr, log line and error message shows tokens and secrets only through ``mask``.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import requests

from rchelpers.config import Config
from rchelpers.errors import ApiError, AuthError, ConfigError, RateLimitError
from rchelpers.masking import mask

__all__ = ["TokenInfo", "TokenManager", "RetryAfterBudget", "JWT_GRANT", "TOKEN_PATH", "REVOKE_PATH",
           "error_from_response", "parse_retry_after"]

log = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/restapi/oauth/token"
REVOKE_PATH = "/restapi/oauth/revoke"
#: Default (connect, read) timeouts in seconds for the OAuth endpoints.
DEFAULT_TIMEOUT = (3.05, 30.0)
#: The platform's advice when a 429 carries no Retry-After header.
DEFAULT_RETRY_AFTER = 30.0
#: Default bounds on waiting out 429 answers in one call: seconds in total, and retries.
DEFAULT_MAX_RATE_LIMIT_WAIT = 60.0
DEFAULT_MAX_RETRIES = 3
_CACHE_SUFFIX = ".token.json"


@dataclass(frozen=True, repr=False)
class TokenInfo:
    """One token pair and its facts. Times are epoch seconds on the manager's clock; repr masks the tokens."""

    access_token: str
    refresh_token: str | None
    token_type: str
    expires_at: float
    refresh_expires_at: float | None
    scope: str
    owner_id: str | None
    session_id: str | None

    @classmethod
    def from_response(cls, body: dict[str, Any], now: float) -> TokenInfo:
        """Build from a token endpoint answer received at ``now``; raises AuthError if it is malformed."""
        try:
            access_token = str(body["access_token"])
            expires_in = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise AuthError(200, None, "Malformed OAuth response: no access_token/expires_in", body=_mask_tokens(body)) from None
        refresh_in = body.get("refresh_token_expires_in")
        return cls(
            access_token=access_token,
            refresh_token=body.get("refresh_token"),
            token_type=str(body.get("token_type", "bearer")),
            expires_at=now + expires_in,
            # As the official Python SDK does: no refresh_token_expires_in means the refresh token is unusable.
            refresh_expires_at=now + float(refresh_in) if refresh_in is not None and body.get("refresh_token") else None,
            scope=str(body.get("scope", "")),
            owner_id=None if body.get("owner_id") is None else str(body["owner_id"]),
            session_id=body.get("session_id"),
        )

    def facts(self, now: float) -> dict[str, Any]:
        """A dict safe to display: masked tokens, aware UTC datetimes and the seconds left at ``now``."""
        return {
            "access_token": mask(self.access_token),
            "refresh_token": mask(self.refresh_token),
            "token_type": self.token_type,
            "expires_at": _utc(self.expires_at),
            "expires_in": round(self.expires_at - now, 1),
            "refresh_expires_at": None if self.refresh_expires_at is None else _utc(self.refresh_expires_at),
            "refresh_expires_in": None if self.refresh_expires_at is None else round(self.refresh_expires_at - now, 1),
            "scope": self.scope,
            "owner_id": self.owner_id,
        }

    def __repr__(self) -> str:
        return (
            f"TokenInfo(access_token={mask(self.access_token)!r}, refresh_token={mask(self.refresh_token)!r}, "
            f"expires_at={_utc(self.expires_at).isoformat()!r}, scope={self.scope!r}, owner_id={self.owner_id!r})"
        )

    __str__ = __repr__


class TokenManager:
    """Logs in with the JWT grant and keeps the access token fresh; thread-safe (one lock).

    ``refresh_margin``: refresh when the access token has fewer seconds left than this.
    ``cache_path``: an optional ``*.token.json`` file (mode 0600) that keeps the pair across restarts;
    it is read back at start when it holds tokens for the same server and client that are still valid.
    Two processes sharing one cache file share one refresh token: when one refreshes, the other's
    refresh is refused and it logs in again with the JWT (logged as a warning).
    ``clock``: epoch seconds used for expiry (``time.time``; on the simulator pass ``sim.clock.now`` so
    that expiry follows simulated time).
    ``max_rate_limit_wait`` / ``max_retries``: a login or refresh answered 429 is sent again after the
    ``Retry-After`` wait, at most this many seconds in total and this many times (as ``RestClient``);
    past either bound it raises RateLimitError. Other threads wait on the lock meanwhile.
    """

    def __init__(
        self,
        config: Config,
        session: requests.Session | None = None,
        *,
        cache_path: str | os.PathLike[str] | None = None,
        refresh_margin: float = 60.0,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if config.server_url is None:
            raise ConfigError(
                "This Config has no server URL, which means 'use the embedded simulator': start one and build "
                "the config from it: `with Simulator() as sim: config = Config.from_mapping(sim.credentials.as_env())`."
            )
        if refresh_margin < 0:
            raise ValueError(f"refresh_margin must be >= 0 seconds, got {refresh_margin!r}")
        RetryAfterBudget(max_rate_limit_wait, max_retries)  # checks the bounds now, not at the first 429
        self.config = config
        self._server_url: str = config.server_url  # checked above; Config is frozen
        self.session = session if session is not None else requests.Session()
        self._owns_session = session is None
        self.refresh_margin = float(refresh_margin)
        self.timeout = timeout
        self.clock = clock
        self.max_rate_limit_wait = float(max_rate_limit_wait)
        self.max_retries = int(max_retries)
        self.cache_path = _check_cache_path(cache_path)
        self._lock = threading.RLock()
        self._token: TokenInfo | None = None
        if self.cache_path is not None:
            self._token = self._read_cache()

    # --- state -----------------------------------------------------------------------------------
    @property
    def token(self) -> TokenInfo | None:
        """The current token pair (None before login or after revoke)."""
        return self._token

    @property
    def is_logged_in(self) -> bool:
        """True when a token pair is held (it may still need a refresh)."""
        return self._token is not None

    @property
    def expires_at(self) -> datetime | None:
        """When the access token expires (aware UTC), or None."""
        token = self._token
        return None if token is None else _utc(token.expires_at)

    @property
    def expires_in(self) -> float | None:
        """Seconds until the access token expires (negative once expired), or None."""
        token = self._token
        return None if token is None else token.expires_at - self.clock()

    @property
    def refresh_expires_at(self) -> datetime | None:
        """When the refresh token expires (aware UTC), or None."""
        token = self._token
        return None if token is None or token.refresh_expires_at is None else _utc(token.refresh_expires_at)

    @property
    def scope(self) -> str | None:
        """The scope string the platform granted, or None."""
        token = self._token
        return None if token is None else token.scope

    @property
    def owner_id(self) -> str | None:
        """The extension id that owns the token, or None."""
        token = self._token
        return None if token is None else token.owner_id

    def facts(self) -> dict[str, Any]:
        """The token's facts as a dict safe to display (tokens masked); empty before login."""
        token = self._token
        return {} if token is None else token.facts(self.clock())

    # --- grants ----------------------------------------------------------------------------------
    def login(self) -> TokenInfo:
        """Run the JWT bearer grant and store the new pair; raises AuthError with the OAU code on refusal.

        A 429 is waited out within ``max_rate_limit_wait``/``max_retries``, then RateLimitError.
        """
        with self._lock:
            token = self._grant({"grant_type": JWT_GRANT, "assertion": self.config.jwt}, "jwt-bearer")
            self._store(token)
            return token

    def refresh(self) -> TokenInfo:
        """Spend the refresh token for a new pair (single use), stored at once; AuthError if refused.

        A 429 is waited out like :meth:`login`'s (the refused request did not spend the refresh token).
        """
        with self._lock:
            token = self._token
            if token is None or not token.refresh_token:
                raise AuthError(400, None, "No refresh token: call login() first")
            token = self._grant({"grant_type": "refresh_token", "refresh_token": token.refresh_token}, "refresh_token")
            self._store(token)
            return token

    @property
    def access_token(self) -> str:
        """A valid access token: logs in if needed and refreshes when within ``refresh_margin`` of expiry."""
        with self._lock:
            token = self._token
            now = self.clock()
            if token is None:
                token = self.login()
            elif token.expires_at - now <= self.refresh_margin:
                token = self._refresh_or_login(now)
            return token.access_token

    def authorization_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <access token>"}`` with a fresh token."""
        return {"Authorization": f"Bearer {self.access_token}"}

    def recover_from_401(self, rejected_access_token: str) -> None:
        """Get a new token after the platform refused ``rejected_access_token`` (401).

        If another thread already replaced that token, nothing is done; else refresh, or log in again
        when the refresh token is refused too.
        """
        with self._lock:
            token = self._token
            if token is not None and token.access_token != rejected_access_token:
                return
            log.info("access token %s was refused (401): getting a new one", mask(rejected_access_token))
            if token is None:
                self.login()
            else:
                self._refresh_or_login(self.clock())

    def revoke(self) -> None:
        """Log out: revoke the session's tokens, forget them and delete the cache file.

        The platform's docs say to ignore a revoke error and not retry: errors are logged, not raised.
        """
        with self._lock:
            token = self._token
            self._token = None
            self._delete_cache()
            if token is None:
                return
            url = self._server_url + REVOKE_PATH
            try:
                response = self.session.post(
                    url, data={"token": token.access_token}, auth=self._client_auth(), timeout=self.timeout
                )
            except requests.RequestException as exc:
                log.warning("revoke of %s failed (ignored): %s", mask(token.access_token), type(exc).__name__)
                return
            if response.ok:
                log.info("revoked access token %s", mask(token.access_token))
            else:
                log.warning(
                    "revoke of %s answered HTTP %s (ignored, as the platform's docs say): %s",
                    mask(token.access_token), response.status_code, error_from_response(response, "POST").message,
                )

    def close(self) -> None:
        """Close the HTTP session if this manager created it (tokens stay valid)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> TokenManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        token = self._token
        state = "logged out" if token is None else f"access token {mask(token.access_token)}, expires in {token.expires_at - self.clock():.0f} s"
        return f"<TokenManager {self.config.server_url} client {mask(self.config.client_id)}: {state}>"

    # --- internals -------------------------------------------------------------------------------
    def _refresh_or_login(self, now: float) -> TokenInfo:
        token = self._token
        if token is not None and token.refresh_token and (token.refresh_expires_at or 0) - now > 0:
            try:
                return self.refresh()
            except AuthError as exc:
                if isinstance(exc, RateLimitError) or exc.status >= 500:
                    raise
                log.warning("refresh refused (%s %s): logging in again with the JWT", exc.error_code, exc.message)
        return self.login()

    def _client_auth(self) -> tuple[str, str]:
        return (self.config.client_id, self.config.client_secret)

    def _grant(self, form: dict[str, str], grant_name: str) -> TokenInfo:
        url = self._server_url + TOKEN_PATH
        budget = RetryAfterBudget(self.max_rate_limit_wait, self.max_retries)
        while True:
            started = self.clock()
            response = self.session.post(
                url,
                data=form,
                auth=self._client_auth(),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
            if response.status_code != 429:
                break
            error = error_from_response(response, "POST")
            assert isinstance(error, RateLimitError)
            budget.wait(error, f"POST {TOKEN_PATH} grant={grant_name}")
        if not response.ok:
            error = error_from_response(response, "POST")
            # raised to the caller, who decides what to show: logged at INFO only, so that it is not reported twice
            log.info("POST %s grant=%s -> HTTP %s %s: %s", TOKEN_PATH, grant_name, response.status_code, error.error_code, error.message)
            raise error
        try:
            body = response.json()
        except ValueError:
            raise AuthError(response.status_code, None, "The token endpoint answered with a body that is not JSON", method="POST", url=url) from None
        token = TokenInfo.from_response(body, started)
        log.info(
            "POST %s grant=%s -> 200: access token %s, expires in %.0f s",
            TOKEN_PATH, grant_name, mask(token.access_token), token.expires_at - started,
        )
        return token

    def _store(self, token: TokenInfo) -> None:
        self._token = token
        if self.cache_path is not None:
            self._write_cache(token)

    def _write_cache(self, token: TokenInfo) -> None:
        path = self.cache_path
        assert path is not None
        record = {
            "server_url": self.config.server_url,
            "client_id": self.config.client_id,
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "refresh_expires_at": token.refresh_expires_at,
            "scope": token.scope,
            "owner_id": token.owner_id,
            "session_id": token.session_id,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        log.debug("token cache %s written (mode 0600)", path)

    def _read_cache(self) -> TokenInfo | None:
        path = self.cache_path
        assert path is not None
        if not path.is_file():
            return None
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("token cache %s is readable by others (mode %o): not used; run chmod 600 on it or delete it", path, mode)
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            token = TokenInfo(
                access_token=record["access_token"],
                refresh_token=record.get("refresh_token"),
                token_type=record.get("token_type", "bearer"),
                expires_at=float(record["expires_at"]),
                refresh_expires_at=None if record.get("refresh_expires_at") is None else float(record["refresh_expires_at"]),
                scope=record.get("scope", ""),
                owner_id=record.get("owner_id"),
                session_id=record.get("session_id"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("token cache %s is not a valid token cache: ignored", path)
            return None
        if record.get("server_url") != self.config.server_url or record.get("client_id") != self.config.client_id:
            log.info("token cache %s belongs to another server or client: ignored", path)
            return None
        now = self.clock()
        if token.expires_at <= now and (token.refresh_expires_at is None or token.refresh_expires_at <= now):
            log.info("token cache %s holds expired tokens: ignored", path)
            return None
        log.info("reusing cached access token %s from %s", mask(token.access_token), path)
        return token

    def _delete_cache(self) -> None:
        if self.cache_path is not None:
            self.cache_path.unlink(missing_ok=True)


def error_from_response(response: requests.Response, method: str) -> ApiError:
    """Turn an error answer into ApiError / AuthError (401, OAuth errors) / RateLimitError (429).

    Reads RingCentral's body shapes: ``errors[0]`` (dotted code such as ``OAU-140``), the top-level
    ``errorCode``/``message`` mirror, and OAuth's ``error``/``error_description``.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    code = message = parameter = None
    if isinstance(body, dict):
        first = body.get("errors")
        first = first[0] if isinstance(first, list) and first and isinstance(first[0], dict) else {}
        code = first.get("errorCode") or body.get("errorCode") or body.get("error")
        message = first.get("message") or body.get("message") or body.get("error_description")
        parameter = first.get("parameterName") or body.get("parameterName")
        if parameter is None and isinstance(first.get("parameters"), list) and first["parameters"]:
            parameter = first["parameters"][0].get("parameterName")
    if not message:
        text = (response.text or "").strip()
        message = f"{response.reason or 'error'}" + (f": {text[:200]}" if text and body is None else "")
    status = response.status_code
    is_oauth = isinstance(body, dict) and "error" in body
    if status == 429:
        cls: type[ApiError] = RateLimitError
    elif status == 401 or is_oauth:
        cls = AuthError
    else:
        cls = ApiError
    error = cls(status, code, str(message), parameter, body, method, response.url)
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error


class RetryAfterBudget:
    """The bounded wait of one call on 429 answers: ``max_wait`` seconds in total, ``max_retries`` retries.

    Make one per call; on each 429, :meth:`wait` sleeps as its ``Retry-After`` asks (``DEFAULT_RETRY_AFTER``
    when it says nothing) and the caller sends the request again. Past either bound, :meth:`wait` raises
    the RateLimitError instead, its message saying how long was waited and when to try again.
    A wait of ``notice_after`` seconds or more is logged at WARNING (a notebook shows why it pauses),
    a shorter one at INFO.
    """

    def __init__(
        self,
        max_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        *,
        logger: logging.Logger = log,
        notice_after: float = 5.0,
    ) -> None:
        if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or not 0 <= max_wait < float("inf"):
            raise ValueError(f"max_rate_limit_wait must be a number of seconds >= 0, got {max_wait!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.max_wait = float(max_wait)
        self.max_retries = max_retries
        self.logger = logger
        self.notice_after = notice_after
        #: Seconds slept so far, and retries granted so far.
        self.waited = 0.0
        self.retries = 0

    def wait(self, error: RateLimitError, what: str) -> None:
        """Sleep out ``error``'s ``Retry-After`` and count it, or raise RateLimitError past the bounds.

        ``what`` names the request in the log lines (e.g. ``"POST /restapi/oauth/token"``): no secrets.
        """
        delay = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
        if self.retries >= self.max_retries or self.waited + delay > self.max_wait:
            self.logger.warning(
                "%s -> 429 %s: giving up after %d retries and %.1f s of waiting (Retry-After %.1f s)",
                what, error.error_code, self.retries, self.waited, delay,
            )
            given_up = RateLimitError(
                error.status,
                error.error_code,
                f"{error.message}; gave up after {self.retries} retries and {self.waited:.0f} s of waiting "
                f"(at most {self.max_retries} retries and {self.max_wait:.0f} s): try again in {delay:.0f} s",
                error.parameter_name, error.body, error.method, error.url,
            )
            given_up.retry_after = error.retry_after
            raise given_up
        self.logger.log(
            logging.WARNING if delay >= self.notice_after else logging.INFO,
            "%s -> 429 %s: waiting %.1f s as Retry-After asks (retry %d of at most %d)",
            what, error.error_code, delay, self.retries + 1, self.max_retries,
        )
        time.sleep(delay)
        self.waited += delay
        self.retries += 1


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None when absent/unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _mask_tokens(body: Any) -> Any:
    if not isinstance(body, dict):
        return None
    return {k: (mask(v) if "token" in k and isinstance(v, str) else v) for k, v in body.items()}


def _check_cache_path(cache_path: str | os.PathLike[str] | None) -> Path | None:
    if cache_path is None:
        return None
    path = Path(cache_path).expanduser()
    if not path.name.endswith(_CACHE_SUFFIX):
        raise ConfigError(
            f"The token cache file name must end with {_CACHE_SUFFIX!r} (got {path.name!r}) so that .gitignore "
            f"keeps it out of git: e.g. cache_path='~/.cache/rchelpers/rc{_CACHE_SUFFIX}'."
        )
    return path
