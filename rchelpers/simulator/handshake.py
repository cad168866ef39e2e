"""The webhook validation handshake the platform runs before it accepts a WebHook subscription.

The platform POSTs to the address with a ``Validation-Token`` header and an empty body, and accepts
the address only if the reply is HTTP 200, echoes the same token, and is at most ``max_reply_bytes``
long (status line, headers and body as received on the wire), all within ``validation_timeout``
seconds (developer guide, "Webhooks: validation"). :class:`Handshake` runs it with the simulator's
:class:`~rchelpers.simulator.webhook_client.WebhookClient`; :func:`judge` turns the result into the
platform's error: 400 CMN-101 (unreachable, timeout), SUB-524 (TLS), SUB-525 (invalid reply), SUB-520
(token not echoed).
"""
from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from rchelpers.simulator.errors import PlatformError, invalid_parameter
from rchelpers.simulator.options import DEFAULTS, SimulatorOptions
from rchelpers.simulator.webhook_client import ValidationResult, WebhookClient

ADDRESS_PARAMETER = "deliveryMode.address"


class HandshakeResult(ValidationResult):
    """What a validation request found at a webhook address, and the platform's verdict on it."""

    @property
    def error(self) -> PlatformError | None:
        """The error the platform answers the create call with, or None if the address passes."""
        return judge(self, self.max_reply_bytes)

    @property
    def ok(self) -> bool:
        """True if the address passes the handshake."""
        return self.error is None


def judge(result: ValidationResult, max_reply_bytes: int = DEFAULTS.max_reply_bytes) -> PlatformError | None:
    """Apply the platform's rules to a handshake result (None means accepted)."""
    if result.failure in ("unreachable", "timeout"):
        return invalid_parameter(ADDRESS_PARAMETER)
    if result.failure == "tls":
        return PlatformError(400, "SUB-524", "HTTPS certificate is not valid")
    if result.failure == "invalid-reply" or result.status != 200 or result.reply_bytes > max_reply_bytes:
        return PlatformError(400, "SUB-525", "WebHook server response is invalid")
    if result.echoed != result.token:
        return PlatformError(400, "SUB-520", "Validation Token is not returned")
    return None


def check_address(address: object) -> str:
    """Check the shape of a webhook address (absolute http/https URL with a host); raises CMN-101."""
    if not isinstance(address, str) or not address.strip():
        raise invalid_parameter(ADDRESS_PARAMETER)
    if len(address) > 2048:
        raise invalid_parameter(ADDRESS_PARAMETER, "longer than 2048 characters")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        raise invalid_parameter(ADDRESS_PARAMETER) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_parameter(ADDRESS_PARAMETER, "use an absolute http:// or https:// URL")
    if port == 0 or any(c in address for c in " \r\n\t"):
        raise invalid_parameter(ADDRESS_PARAMETER)
    return address


class Handshake:
    """Runs the validation handshake with ``client`` under the simulator's ``options``:
    ``handshake(address, token) -> HandshakeResult`` (it never raises for network trouble)."""

    def __init__(self, client: WebhookClient, options: SimulatorOptions = DEFAULTS) -> None:
        self.client = client
        self.timeout = options.validation_timeout
        self.max_reply_bytes = options.max_reply_bytes

    def __call__(self, address: str, token: str) -> HandshakeResult:
        found = self.client.validate(address, token, self.timeout, self.max_reply_bytes)
        return HandshakeResult(**vars(found))


def run_handshake(address: str, token: str, timeout: float = DEFAULTS.validation_timeout,
                  max_reply_bytes: int = DEFAULTS.max_reply_bytes,
                  ssl_context: ssl.SSLContext | None = None) -> HandshakeResult:
    """POST the validation request to ``address`` once and report the reply (never raises for network trouble).

    ``ssl_context`` is used for an https address (default: the system's CAs, TLS 1.2+).
    """
    found = WebhookClient(ssl_context).validate(address, token, timeout, max_reply_bytes)
    return HandshakeResult(**vars(found))
