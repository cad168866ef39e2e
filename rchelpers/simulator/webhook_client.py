"""The platform's one outbound HTTP client: how the simulator reaches webhooks.

:class:`WebhookClient` POSTs to webhook addresses (notifications, probes, the receiver check) on fresh or
pooled keep-alive connections, and runs the validation request of the handshake (:meth:`WebhookClient.validate`),
which counts the reply's bytes on the wire and stops reading one byte past the size limit.

An ``https`` address is reached as the platform reaches it (developer guide, "Webhooks": TLS 1.2 or
higher, a certificate from a trusted CA naming the host): :func:`webhook_ssl_context` builds those
settings; its ``ca_file`` adds a local test CA to the system's trust store.
"""
from __future__ import annotations

import collections
import http.client
import io
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rchelpers.simulator.errors import OptionError, SimulatorError
from rchelpers.simulator.options import DEFAULTS

#: The User-Agent the platform sends with every request to a webhook (handshake, notifications).
USER_AGENT = "RingCentral-Webhook/8.3"
#: The oldest TLS version the platform accepts from an https webhook.
MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


def webhook_ssl_context(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The TLS settings the platform uses towards https webhooks: certificate and host name verified, TLS 1.2+.

    The system's CA store is trusted (the platform trusts public CAs); ``ca_file``, a PEM file of CA
    certificates, is trusted as well (for a local webhook signed by a test CA). Raises
    :class:`~rchelpers.simulator.errors.OptionError` (a ValueError) when ``ca_file`` cannot be read as CA
    certificates.
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
        raise OptionError(f"CA file {path!r} cannot be used ({reason}): pass a PEM file holding the certificate "
                          "of the CA that signed the webhook's certificate")
    return context


def describe_tls_error(exc: ssl.SSLError) -> str:
    """A short reason for a failed TLS handshake, e.g. ``certificate verify failed: self-signed certificate``."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or exc.strerror or exc).replace("_", " ").lower()


def validation_headers(token: str) -> dict[str, str]:
    """The headers of a validation request carrying ``token`` (its body is empty)."""
    return {"Validation-Token": token, "Content-Type": "application/json", "User-Agent": USER_AGENT}


def notification_headers(verification_token: str | None) -> dict[str, str]:
    """The headers of a notification POST, with ``Verification-Token`` when the subscription has one."""
    headers = {"Content-Type": "application/json; charset=UTF-8", "Accept": "application/json",
               "Accept-Encoding": "UTF-8", "User-Agent": USER_AGENT}
    if verification_token is not None:
        headers["Verification-Token"] = verification_token
    return headers


@dataclass
class WebhookReply:
    """A webhook's complete answer to one POST."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: float  #: real milliseconds from sending (connecting, for a fresh connection) to the end of the body
    tls_version: str | None = None  #: e.g. ``TLSv1.3`` for an https address

    def header(self, name: str) -> str | None:
        """A reply header (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def size(self) -> int:
        """Bytes of the reply as sent: status line, header lines, blank line and body."""
        head = f"HTTP/1.1 {self.status} {self.reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers) + "\r\n"
        return len(head.encode("latin-1", "replace")) + len(self.body)


class WebhookSendError(SimulatorError):
    """A POST to a webhook got no complete answer: ``cause`` is the network error, ``phase`` ``connect`` or
    ``read``, ``latency_ms`` the real time until it failed."""

    def __init__(self, cause: BaseException, phase: str, latency_ms: float) -> None:
        super().__init__(f"{phase} failed: {type(cause).__name__}: {cause}")
        self.cause = cause
        self.phase = phase
        self.latency_ms = latency_ms


@dataclass
class ValidationResult:
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
    max_reply_bytes: int = DEFAULTS.max_reply_bytes  #: the size limit the reply was judged against


def split_address(address: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)`` of an http(s) address; ValueError for anything else."""
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook address must be an http(s) URL, got {address!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, path


_Key = tuple[str, str, int]
_RESET = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class WebhookClient:
    """POSTs to webhooks with the platform's TLS rules; keeps idle keep-alive connections per address.

    ``ssl_context`` holds the TLS rules (default: :func:`webhook_ssl_context`, the system's CAs, TLS 1.2+,
    built on the first https address: loading the system's CA store takes tens of milliseconds that a
    plain-http run never needs); ``max_idle`` idle connections are kept per (scheme, host, port). A
    connection that failed is closed, not reused. :meth:`close` closes the idle ones (the client stays usable).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, max_idle: int = 16) -> None:
        self._ssl_context = ssl_context
        self.max_idle = max_idle
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = collections.defaultdict(list)
        self._lock = threading.Lock()

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS settings for https addresses (the default ones are built on first use)."""
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = webhook_ssl_context()
            return self._ssl_context

    # --- connections --------------------------------------------------------------------------------
    def _new(self, key: _Key, timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self.ssl_context)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _take_idle(self, key: _Key, timeout: float) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle[key]
            conn = idle.pop() if idle else None
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        return conn

    def _give_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle[key]
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()

    # --- POST ---------------------------------------------------------------------------------------
    def post(self, address: str, body: bytes, headers: dict[str, str], timeout: float, *,
             keep_alive: bool = False) -> WebhookReply:
        """POST ``body`` to ``address`` and read the whole answer; raises :class:`WebhookSendError` when no
        complete answer arrives (ValueError for an address that is not an http(s) URL).

        With ``keep_alive`` the connection comes from (and goes back to) the pool; one reused from the pool
        that turns out closed by the receiver is retried once on a fresh one (keep-alive housekeeping, not
        a failure). Without it a fresh connection is opened and closed.
        """
        scheme, host, port, path = split_address(address)
        key = (scheme, host, port)
        started = time.perf_counter()
        for fresh_try in (False, True) if keep_alive else (True,):
            conn = (self._take_idle(key, timeout) if not fresh_try else None) or self._new(key, timeout)
            reused = conn.sock is not None
            phase = "connect"
            try:
                if conn.sock is None:
                    conn.connect()
                tls_version = conn.sock.version() if isinstance(conn.sock, ssl.SSLSocket) else None
                phase = "read"
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                reply = WebhookReply(response.status, response.reason, response.getheaders(), data, 0.0, tls_version)
            except _RESET as exc:
                conn.close()
                if reused and not fresh_try:
                    continue
                raise WebhookSendError(exc, phase, (time.perf_counter() - started) * 1000.0) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise WebhookSendError(exc, phase, (time.perf_counter() - started) * 1000.0) from exc
            reply.latency_ms = (time.perf_counter() - started) * 1000.0
            if keep_alive and not response.will_close:
                self._give_back(key, conn)
            else:
                conn.close()
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    # --- the validation request ---------------------------------------------------------------------
    def validate(self, address: str, token: str, timeout: float, max_reply_bytes: int) -> ValidationResult:
        """POST the validation request to ``address`` and report the reply (never raises for network trouble).

        The reply is read on a fresh connection up to ``max_reply_bytes`` + 1 bytes (status line, headers
        and body as received), all within ``timeout`` seconds.
        """
        result = ValidationResult(address=address, token=token, max_reply_bytes=max_reply_bytes)
        parts = urlsplit(address)
        if parts.hostname is None:
            raise ValueError(f"webhook address {address!r} has no host: pass an absolute http:// or https:// URL "
                             "such as https://example.com/webhook")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = _CountingHTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=self.ssl_context)
        else:
            conn = _CountingHTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {**validation_headers(token), "Accept": "application/json", "Content-Length": "0"}
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


# --- counting the bytes of a reply ------------------------------------------------------------------
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


class _CountingHTTPConnection(http.client.HTTPConnection):
    response_class = _CountingResponse


class _CountingHTTPSConnection(http.client.HTTPSConnection):
    response_class = _CountingResponse
