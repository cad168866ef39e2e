"""A small REST client for the RingCentral API on a ``requests.Session``.

::

    client = RestClient(config)
    records = client.get("/restapi/v1.0/subscription")["records"]

It adds ``Authorization: Bearer ...`` (from a :class:`~rchelpers.TokenManager`), refreshes and
retries once after a 401, waits out a 429 as ``Retry-After`` asks (bounded), and turns the platform's
error body into :class:`~rchelpers.ApiError` (``AuthError`` for 401, ``RateLimitError`` for 429).
"""
from __future__ import annotations

import logging
import time
from typing import Any

import requests

from rchelpers.client.auth import DEFAULT_TIMEOUT, TokenManager
from rchelpers.client.config import Config
from rchelpers.client.http_errors import (
    DEFAULT_MAX_RATE_LIMIT_WAIT,
    DEFAULT_MAX_RETRIES,
    RetryAfterBudget,
    error_from_response,
)
from rchelpers.errors import ApiError, RateLimitError

__all__ = ["RestClient"]

log = logging.getLogger("rchelpers.rest")  # logger names stay the short public ones users configure

_RATE_LIMIT_HEADERS = {
    "group": "X-Rate-Limit-Group",
    "limit": "X-Rate-Limit-Limit",
    "remaining": "X-Rate-Limit-Remaining",
    "window": "X-Rate-Limit-Window",
}


class RestClient:
    """Calls the platform's REST API with a fresh bearer token; returns parsed JSON.

    :param config_or_token_manager: a :class:`~rchelpers.TokenManager` to share, or a ``Config`` (the
        client then makes its own token manager, closed by :meth:`close`).
    :param session: the ``requests.Session`` to use (else the token manager's).
    :param timeout: (connect, read) seconds for each call.
    :param max_rate_limit_wait: the most seconds one call may spend waiting on 429 answers in total.
    :param max_retries: the most retries after 429 answers. Past either bound, RateLimitError is raised.
    """

    def __init__(
        self,
        config_or_token_manager: Config | TokenManager,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        RetryAfterBudget(max_rate_limit_wait, max_retries, logger=log)  # refuses bad bounds now, not at the first 429
        if isinstance(config_or_token_manager, TokenManager):
            self.tokens = config_or_token_manager
            self._owns_tokens = False
        elif isinstance(config_or_token_manager, Config):
            self.tokens = TokenManager(config_or_token_manager, session, timeout=timeout)
            self._owns_tokens = True
        else:
            raise TypeError(f"RestClient needs a Config or a TokenManager, got {type(config_or_token_manager).__name__}")
        self.session = session if session is not None else self.tokens.session
        self.timeout = timeout
        self.max_rate_limit_wait = float(max_rate_limit_wait)
        self.max_retries = int(max_retries)
        #: The ``X-Rate-Limit-*`` headers of the last answer (group, limit, remaining, window).
        self.rate_limit: dict[str, str] = {}

    @property
    def config(self) -> Config:
        """The config of the token manager."""
        return self.tokens.config

    @property
    def server_url(self) -> str:
        """The server's base URL, e.g. ``https://platform.ringcentral.com``."""
        assert self.tokens.config.server_url is not None
        return self.tokens.config.server_url

    def url_for(self, path: str) -> str:
        """The absolute URL for ``path``; an absolute URL must be on the configured server."""
        if path.startswith(("http://", "https://")):
            if path != self.server_url and not path.startswith(self.server_url + "/"):
                raise ValueError(
                    f"Refusing to send the access token to {path.split('/')[2]!r}: only URLs on {self.server_url} are allowed."
                )
            return path
        return self.server_url + ("" if path.startswith("/") else "/") + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one API call (with the 401 and 429 handling) and return the 2xx ``requests.Response``.

        ``json=None`` and ``data=None`` send no body at all. Raises ApiError (or AuthError,
        RateLimitError) for an error answer.
        """
        method = method.upper()
        url = self.url_for(path)
        budget = RetryAfterBudget(self.max_rate_limit_wait, self.max_retries, logger=log)
        refreshed = False
        while True:
            access_token = self.tokens.access_token
            response = self._send(method, url, access_token, json=json, params=params, data=data, headers=headers)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.tokens.recover_from_401(access_token)
                continue
            if response.status_code == 429:
                error = error_from_response(response, method)
                assert isinstance(error, RateLimitError)
                budget.wait(error, f"{method} {url}")  # sleeps as Retry-After asks, or raises past the bounds
                continue
            if not response.ok:
                error = error_from_response(response, method)
                log.debug("%s %s -> %s %s: %s", method, url, response.status_code, error.error_code, error.message)
                raise error
            return response

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` and return the parsed JSON."""
        return _parse(self.request("GET", path, params=params))

    def post(self, path: str, json: Any = None, *, params: dict[str, Any] | None = None, data: Any = None) -> Any:
        """POST ``json`` (or ``data``; neither: no body) and return the parsed JSON, or None for an empty answer."""
        return _parse(self.request("POST", path, json=json, params=params, data=data))

    def put(self, path: str, json: Any = None, *, params: dict[str, Any] | None = None, data: Any = None) -> Any:
        """PUT ``json`` (or ``data``; neither: no body at all) and return the parsed JSON."""
        return _parse(self.request("PUT", path, json=json, params=params, data=data))

    def delete(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """DELETE ``path``; returns None for the usual 204."""
        return _parse(self.request("DELETE", path, params=params))

    def close(self) -> None:
        """Close the session if this client created it (through its own TokenManager)."""
        if self._owns_tokens:
            self.tokens.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RestClient {self.server_url}>"

    def _send(self, method: str, url: str, access_token: str, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {access_token}"}
        headers.update(kwargs.pop("headers") or {})
        started = time.monotonic()
        response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        self.rate_limit = {key: response.headers[name] for key, name in _RATE_LIMIT_HEADERS.items() if name in response.headers}
        log.debug("%s %s -> %s (%.0f ms)", method, url, response.status_code, (time.monotonic() - started) * 1000)
        return response


def _parse(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            None,
            f"The server answered with a body that is not JSON (Content-Type: {response.headers.get('Content-Type')}); "
            "is RC_SERVER_URL the platform's base URL?",
            body=response.text[:500],
            method=response.request.method or "",
            url=response.url,
        ) from None
