"""The webhook validation handshake the platform runs before it accepts a WebHook subscription.

The platform POSTs to the address with a ``Validation-Token`` header and an empty body, and accepts
the address only if the reply is HTTP 200, echoes the same token, and is at most ``max_reply_bytes``
long (status line, headers and body as received on the wire), all within ``validation_timeout``
seconds (developer guide, "Webhooks: validation"). :class:`Handshake` runs it with the simulator's
:class:`~rchelpers.simulator.webhook_client.WebhookClient`; :func:`judge` turns the result into the
platform's error. With ``handshake_errors="observed"`` (the default): 400 SUB-521 ``WebHook is not
reachable`` (unreachable, too slow, token not echoed), SUB-522 (a status other than 200, named in the
message), SUB-525 (a reply too large or not HTTP), SUB-524 (TLS). With ``"legacy"``: CMN-101 on
``deliveryMode.address`` (unreachable, too slow), SUB-525 (any bad reply), SUB-520 (token not echoed).
See ``docs/FIDELITY.md`` for the sources of each.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from rchelpers.simulator.errors import PlatformError, invalid_parameter
from rchelpers.simulator.options import DEFAULTS, SimulatorOptions
from rchelpers.simulator.webhook_client import ValidationResult, WebhookClient

ADDRESS_PARAMETER = "deliveryMode.address"


@dataclass
class HandshakeResult(ValidationResult):
    """What a validation request found at a webhook address, and the platform's verdict on it."""

    error_codes: str = DEFAULTS.handshake_errors  #: ``observed`` or ``legacy`` (the ``handshake_errors`` option)

    @property
    def error(self) -> PlatformError | None:
        """The error the platform answers the create call with, or None if the address passes."""
        return judge(self, self.max_reply_bytes, self.error_codes)

    @property
    def ok(self) -> bool:
        """True if the address passes the handshake."""
        return self.error is None


def judge(result: ValidationResult, max_reply_bytes: int = DEFAULTS.max_reply_bytes,
          error_codes: str = DEFAULTS.handshake_errors) -> PlatformError | None:
    """Apply the platform's rules to a handshake result (None means accepted); ``error_codes`` picks the
    ``observed`` or the ``legacy`` codes (see the module docstring)."""
    legacy = error_codes == "legacy"
    not_reachable = PlatformError(400, "SUB-521", "WebHook is not reachable")
    invalid_reply = PlatformError(400, "SUB-525", "WebHook server response is invalid")
    if result.failure in ("unreachable", "timeout"):
        return invalid_parameter(ADDRESS_PARAMETER) if legacy else not_reachable
    if result.failure == "tls":
        return PlatformError(400, "SUB-524", "HTTPS certificate is not valid")
    if result.failure == "invalid-reply" or result.reply_bytes > max_reply_bytes:
        return invalid_reply
    if result.status != 200:
        return invalid_reply if legacy else PlatformError(
            400, "SUB-522", f"WebHook responds with incorrect HTTP status. HTTP status is {result.status}")
    if result.echoed != result.token:
        return PlatformError(400, "SUB-520", "Validation Token is not returned") if legacy else not_reachable
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
        self.error_codes = options.handshake_errors

    def __call__(self, address: str, token: str) -> HandshakeResult:
        found = self.client.validate(address, token, self.timeout, self.max_reply_bytes)
        return HandshakeResult(**vars(found), error_codes=self.error_codes)


def run_handshake(address: str, token: str, timeout: float = DEFAULTS.validation_timeout,
                  max_reply_bytes: int = DEFAULTS.max_reply_bytes,
                  ssl_context: ssl.SSLContext | None = None,
                  error_codes: str = DEFAULTS.handshake_errors) -> HandshakeResult:
    """POST the validation request to ``address`` once and report the reply (never raises for network trouble).

    ``ssl_context`` is used for an https address (default: the system's CAs, TLS 1.2+).
    """
    found = WebhookClient(ssl_context).validate(address, token, timeout, max_reply_bytes)
    return HandshakeResult(**vars(found), error_codes=error_codes)
