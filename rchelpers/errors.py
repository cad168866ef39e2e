"""One exception root for everything the client side of rchelpers raises.

The simulator has its own error type (it answers with HTTP error bodies, it never raises into a client).
"""
from __future__ import annotations

from typing import Any


class RCHelpersError(Exception):
    """Root of every error raised by rchelpers' client code."""


class ConfigError(RCHelpersError):
    """Credentials or settings are missing or malformed; the message says which and how to fix it."""


class ApiError(RCHelpersError):
    """The platform answered with an error body (or a non-2xx status).

    Carries the HTTP status, RingCentral's ``errorCode`` (e.g. ``SUB-520``), its message, the
    ``parameterName`` when the platform names one, and the raw JSON body.
    """

    def __init__(
        self,
        status: int,
        error_code: str | None,
        message: str,
        parameter_name: str | None = None,
        body: Any = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.parameter_name = parameter_name
        self.body = body
        self.method = method
        self.url = url
        where = f" ({method} {url})" if method else ""
        code = f" {error_code}" if error_code else ""
        param = f" [parameter: {parameter_name}]" if parameter_name else ""
        super().__init__(f"HTTP {status}{code}: {message}{param}{where}")


class AuthError(ApiError):
    """The token endpoint refused a grant, or an API call was refused for its token (401)."""


class RateLimitError(ApiError):
    """429 Too Many Requests, still failing after the bounded ``Retry-After`` waits."""

    #: Seconds the platform asked to wait (``Retry-After``), when it said.
    retry_after: float | None = None


class TunnelError(RCHelpersError):
    """The public tunnel could not be opened or closed; the message says what to do."""


class ReceiverError(RCHelpersError):
    """The webhook receiver could not start, or was used wrongly."""


class WaitTimeout(ReceiverError, TimeoutError):
    """``WebhookReceiver.wait_for`` gave up before the expected events arrived."""
