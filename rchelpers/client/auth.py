"""OAuth for a RingCentral app: JWT grant, refresh and revoke, with an optional token cache file.

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

import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import requests

from rchelpers.client.config import Config
from rchelpers.client.http_errors import (
    DEFAULT_MAX_RATE_LIMIT_WAIT,
    DEFAULT_MAX_RETRIES,
    RetryAfterBudget,
    error_from_response,
)
from rchelpers.client.token import TokenInfo, utc_datetime
from rchelpers.client.token_cache import TokenCache
from rchelpers.errors import AuthError, ConfigError, RateLimitError
from rchelpers.masking import mask

__all__ = ["TokenManager", "JWT_GRANT", "TOKEN_PATH", "REVOKE_PATH", "DEFAULT_TIMEOUT"]

log = logging.getLogger("rchelpers.auth")  # logger names stay the short public ones users configure

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/restapi/oauth/token"
REVOKE_PATH = "/restapi/oauth/revoke"
#: Default (connect, read) timeouts in seconds for the platform's endpoints.
DEFAULT_TIMEOUT = (3.05, 30.0)


class TokenManager:
    """Logs in with the JWT grant and keeps the access token fresh; thread-safe (one lock).

    :param config: the server and credentials (a config without a server URL is refused: start a simulator).
    :param session: the ``requests.Session`` to use (else one of its own, closed by :meth:`close`).
    :param cache_path: an optional ``*.token.json`` file (mode 0600) that keeps the pair across restarts;
        it is read back at start when it holds tokens for the same server and client that are still valid.
        Two processes sharing one cache file share one refresh token: when one refreshes, the other's
        refresh is refused and it logs in again with the JWT (logged as a warning).
    :param refresh_margin: refresh when the access token has fewer seconds left than this.
    :param timeout: (connect, read) seconds for the OAuth endpoints.
    :param clock: epoch seconds used for expiry (``time.time``; on the simulator pass ``sim.clock.now`` so
        that expiry follows simulated time).
    :param max_rate_limit_wait: the most seconds a login or refresh spends waiting out 429 answers (each
        is sent again after its ``Retry-After`` wait, as ``RestClient`` does); other threads wait on the lock.
    :param max_retries: the most retries after 429 answers. Past either bound, RateLimitError is raised.
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
        self._cache = None if cache_path is None else TokenCache(cache_path, self._server_url, config.client_id)
        self._lock = threading.RLock()
        self._token: TokenInfo | None = None
        if self._cache is not None:
            self._token = self._cache.load(self.clock())

    @property
    def cache_path(self) -> Path | None:
        """The token cache file, or None."""
        return None if self._cache is None else self._cache.path

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
        return None if token is None else utc_datetime(token.expires_at)

    @property
    def expires_in(self) -> float | None:
        """Seconds until the access token expires (negative once expired), or None."""
        token = self._token
        return None if token is None else token.expires_at - self.clock()

    @property
    def refresh_expires_at(self) -> datetime | None:
        """When the refresh token expires (aware UTC), or None."""
        token = self._token
        return None if token is None or token.refresh_expires_at is None else utc_datetime(token.refresh_expires_at)

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
            if self._cache is not None:
                self._cache.delete()
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
        budget = RetryAfterBudget(self.max_rate_limit_wait, self.max_retries, logger=log)
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
        if self._cache is not None:
            self._cache.save(token)
