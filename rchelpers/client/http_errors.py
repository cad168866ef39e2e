"""Error answers: RingCentral's error bodies as exceptions, and the bounded wait on 429 Too Many Requests.

:func:`error_from_response` turns any error answer into :class:`~rchelpers.ApiError`,
``AuthError`` (401, OAuth errors) or ``RateLimitError`` (429, with its ``Retry-After``);
:class:`RetryAfterBudget` bounds how long one call waits out 429 answers. The token manager and the
REST client both use them.
"""
from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime

import requests

from rchelpers.errors import ApiError, AuthError, RateLimitError

__all__ = ["error_from_response", "RetryAfterBudget", "parse_retry_after",
           "DEFAULT_RETRY_AFTER", "DEFAULT_MAX_RATE_LIMIT_WAIT", "DEFAULT_MAX_RETRIES"]

log = logging.getLogger(__name__)

#: The platform's advice when a 429 carries no Retry-After header.
DEFAULT_RETRY_AFTER = 30.0
#: Default bounds on waiting out 429 answers in one call: seconds in total, and retries.
DEFAULT_MAX_RATE_LIMIT_WAIT = 60.0
DEFAULT_MAX_RETRIES = 3


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
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
