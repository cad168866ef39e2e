"""The webhook validation handshake the platform runs before it accepts a WebHook subscription.

The platform POSTs to the address with a ``Validation-Token`` header and an empty body, and accepts
the address only if the reply is HTTP 200, echoes the same token, and is at most ``max_reply_bytes``
long (status line, headers and body as received on the wire), all within ``timeout`` seconds.
:func:`run_handshake` reports what happened; :func:`judge` turns it into the platform's error.

An ``https`` address is reached as the platform reaches it (PLATFORM-FACTS §2: "TLS 1.2 or higher"):
the certificate must chain to a trusted CA and name the address's host, and TLS below 1.2 is refused;
any of these failing is 400 SUB-524 "HTTPS certificate is not valid". :func:`webhook_ssl_context`
builds those settings; its ``ca_file`` adds a local test CA to the system's trust store.
"""
from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rchelpers.simulator.errors import PlatformError, invalid_parameter

#: The User-Agent the platform sends with every request to a webhook (handshake, notifications).
USER_AGENT = "RingCentral-Webhook/8.3"
ADDRESS_PARAMETER = "deliveryMode.address"
#: The oldest TLS version the platform accepts from an https webhook.
MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


def webhook_ssl_context(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The TLS settings the platform uses towards https webhooks: certificate and host name verified, TLS 1.2+.

    The system's CA store is trusted (the platform trusts public CAs); ``ca_file``, a PEM file of CA
    certificates, is trusted as well (for a local webhook signed by a test CA). Raises ValueError when
    ``ca_file`` cannot be read as CA certificates.
    """
    context = ssl.create_default_context()
    context.minimum_version = MINIMUM_TLS_VERSION
    if ca_file is not None:
        path = os.fspath(ca_file)
        try:
            context.load_verify_locations(cafile=path)
        except ssl.SSLError:
            reason = "no PEM certificate in it"
        except OSError as exc:
            reason = exc.strerror or str(exc)
        else:
            return context
        raise ValueError(f"CA file {path!r} cannot be used ({reason}): pass a PEM file holding the certificate "
                         "of the CA that signed the webhook's certificate")
    return context


def describe_tls_error(exc: ssl.SSLError) -> str:
    """A short reason for a failed TLS handshake, e.g. ``certificate verify failed: self-signed certificate``."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or exc.strerror or exc).replace("_", " ").lower()


@dataclass
class HandshakeResult:
    """What a validation request found at a webhook address."""

    address: str
    token: str  #: the Validation-Token that was sent
    status: int | None = None  #: HTTP status of the reply (None if none arrived)
    echoed: str | None = None  #: the Validation-Token header of the reply
    reply_bytes: int = 0  #: bytes of the reply read (status line + headers + body, up to the limit + 1)
    elapsed: float = 0.0  #: real seconds from connect to the end of the reply
    failure: str | None = None  #: "unreachable", "timeout", "tls", "invalid-reply" or None
    detail: str = ""  #: a human explanation of the failure
    headers: dict[str, str] = field(default_factory=dict)
    max_reply_bytes: int = 1024  #: the size limit the reply was judged against

    @property
    def error(self) -> PlatformError | None:
        """The error the platform answers the create call with, or None if the address passes."""
        return judge(self, self.max_reply_bytes)

    @property
    def ok(self) -> bool:
        """True if the address passes the handshake."""
        return self.error is None


def judge(result: HandshakeResult, max_reply_bytes: int = 1024) -> PlatformError | None:
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


class _CountingReader(io.RawIOBase):
    """Wraps the response file of http.client and counts the bytes it consumes."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> bytes:
        line = self._raw.readline(size if size is not None else -1)
        self.count += len(line)
        return line

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(size if size is not None else -1)
        self.count += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # Buffer: 3.12+
        n = self._raw.readinto(buffer)
        self.count += n or 0
        return n or 0

    def read1(self, size: int = -1) -> bytes:
        data = self._raw.read1(size)
        self.count += len(data)
        return data

    def peek(self, size: int = 0) -> bytes:
        return self._raw.peek(size)  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self._raw.close()
        super().close()


class _CountingResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: object, **kwargs: object) -> None:
        super().__init__(sock, *args, **kwargs)  # type: ignore[arg-type]
        self.fp = _CountingReader(self.fp)  # type: ignore[assignment]


class _HTTPConnection(http.client.HTTPConnection):
    response_class = _CountingResponse


class _HTTPSConnection(http.client.HTTPSConnection):
    response_class = _CountingResponse


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


def run_handshake(address: str, token: str, timeout: float = 3.0, max_reply_bytes: int = 1024,
                  ssl_context: ssl.SSLContext | None = None) -> HandshakeResult:
    """POST the validation request to ``address`` and report the reply (never raises for network trouble).

    ``ssl_context`` is used for an https address (default: :func:`webhook_ssl_context`, the system's CAs).
    """
    result = HandshakeResult(address=address, token=token, max_reply_bytes=max_reply_bytes)
    parts = urlsplit(address)
    if parts.hostname is None:
        raise ValueError(f"webhook address {address!r} has no host: pass an absolute http:// or https:// URL "
                         "such as https://example.com/webhook")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = _HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl_context or webhook_ssl_context())
    else:
        conn = _HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Validation-Token": token, "Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Accept": "application/json", "Content-Length": "0"}
    start = time.monotonic()
    try:
        conn.request("POST", path, body=b"", headers=headers)
        response = conn.getresponse()
        reader: _CountingReader = response.fp  # type: ignore[assignment]
        result.status = response.status
        result.headers = {k: v for k, v in response.getheaders()}
        result.echoed = response.getheader("Validation-Token")
        head_bytes = reader.count
        room = max_reply_bytes - head_bytes + 1  # read one byte past the limit to know it is exceeded
        if room > 0:
            length = response.length
            if length is not None and head_bytes + length > max_reply_bytes:
                result.reply_bytes = head_bytes + length
            else:
                while room > 0 and time.monotonic() - start <= timeout:
                    chunk = response.read(min(room, 4096) if length is None else min(room, length))
                    if not chunk:
                        break
                    room -= len(chunk)
                result.reply_bytes = reader.count
        else:
            result.reply_bytes = head_bytes
        result.elapsed = time.monotonic() - start
        if result.elapsed > timeout:
            result.failure, result.detail = "timeout", f"no complete reply within {timeout:g} s"
    except ssl.SSLError as exc:
        result.failure, result.detail = "tls", f"TLS handshake failed: {describe_tls_error(exc)}"
    except (socket.timeout, TimeoutError):
        result.failure, result.detail = "timeout", f"no reply within {timeout:g} s"
    except http.client.HTTPException as exc:
        result.failure, result.detail = "invalid-reply", f"not a valid HTTP reply ({type(exc).__name__})"
    except OSError as exc:
        result.failure, result.detail = "unreachable", f"cannot connect: {exc.strerror or exc}"
    finally:
        result.elapsed = result.elapsed or (time.monotonic() - start)
        conn.close()
    return result
