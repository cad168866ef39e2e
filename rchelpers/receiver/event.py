"""One accepted webhook notification, as the receiver keeps it in memory and in its journal."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from rchelpers.masking import SECRET_HEADERS, mask, mask_auth_token

__all__ = ["WebhookEvent", "RequestHeaders", "REMINDER_EVENT_PREFIX", "SECRET_HEADERS", "kept_headers",
           "masked_header_value"]

#: Event filters of subscription renewal reminders start with this.
REMINDER_EVENT_PREFIX = "/restapi/v1.0/subscription/"
#: The headers (lowercased) of an event's ``headers`` summary; the verification token is masked there.
_KEPT = ("content-type", "user-agent", "verification-token")


def masked_header_value(name: str, value: str) -> str:
    """``value`` as it may be shown: masked for a secret header, with any ``auth_token=`` value masked."""
    return mask(value) if name.lower() in SECRET_HEADERS else mask_auth_token(value)


class RequestHeaders(tuple[tuple[str, str], ...]):
    """A request's header lines as received: ``(name, value)`` pairs in order, names as sent, values in clear.

    It is a tuple (it iterates, compares and serialises as one); its repr and str mask the secrets
    (:data:`SECRET_HEADERS`, an ``auth_token=`` in a value), so printing it shows none.
    """

    __slots__ = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (case-insensitive; repeated lines joined with ``", "``), or ``default``."""
        wanted = name.lower()
        values = [value for key, value in self if key.lower() == wanted]
        return ", ".join(values) if values else default

    def masked(self) -> list[tuple[str, str]]:
        """The pairs with the secret values masked: what may be shown, logged or journaled."""
        return [(name, masked_header_value(name, value))
                if name.lower() in SECRET_HEADERS or "auth_token=" in value else (name, value)
                for name, value in self]

    def __repr__(self) -> str:
        return f"RequestHeaders({self.masked()!r})"


@dataclass(frozen=True, repr=False)
class WebhookEvent:
    """One accepted notification: the RingCentral envelope, the request as received, the arrival time.

    ``raw`` is the whole envelope (parsed) and ``body`` its ``body``; ``raw_body`` is the request body
    byte for byte and ``raw_headers`` every header line as sent (:class:`RequestHeaders`: secrets in
    clear, masked in its repr), which is what forwarding the notification needs. ``headers`` is a
    summary safe to print: ``content-type``, ``user-agent`` and a masked ``verification-token``.
    The dicts are shared with other listeners: treat them as read-only.
    """

    uuid: str | None
    event: str | None
    timestamp: str | None
    subscription_id: str | None
    owner_id: str | None
    body: Any = field(hash=False, compare=False)
    headers: dict[str, str] = field(hash=False, compare=False)
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    raw: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    raw_body: bytes = field(default=b"", hash=False, compare=False)
    raw_headers: RequestHeaders = field(default_factory=RequestHeaders, hash=False, compare=False)

    @property
    def is_reminder(self) -> bool:
        """True for a subscription renewal reminder (event ``/restapi/v1.0/subscription/...``)."""
        return bool(self.event and self.event.startswith(REMINDER_EVENT_PREFIX))

    @classmethod
    def from_envelope(
        cls, envelope: dict[str, Any], headers: dict[str, str] | None = None, received_at: datetime | None = None,
        *, raw_body: bytes | None = None, raw_headers: Iterable[tuple[str, str]] = (),
    ) -> "WebhookEvent":
        """Build an event from a notification's JSON envelope (``ownerId`` is also looked up in the body).

        ``raw_body`` is the body as received (default: the envelope as compact JSON), ``raw_headers``
        the header lines as received.
        """
        body = envelope.get("body")
        owner = envelope.get("ownerId")
        if owner is None and isinstance(body, dict):
            owner = body.get("ownerId")
        if raw_body is None:
            raw_body = _compact_json(envelope)
        return cls(
            uuid=_text(envelope.get("uuid")),
            event=_text(envelope.get("event")),
            timestamp=_text(envelope.get("timestamp")),
            subscription_id=_text(envelope.get("subscriptionId")),
            owner_id=_text(owner),
            body=body,
            headers=dict(headers or {}),
            received_at=received_at or datetime.now(timezone.utc),
            raw=envelope,
            raw_body=raw_body,
            raw_headers=RequestHeaders(raw_headers),
        )

    def to_record(self) -> dict[str, Any]:
        """The journal line for this event: the arrival time, the header lines with their secrets masked,
        and the body as received (as text when it is UTF-8, which JSON bodies are; else base64)."""
        record: dict[str, Any] = {"received_at": self.received_at.isoformat(), "raw_headers": self.raw_headers.masked()}
        try:
            record["raw_body"] = self.raw_body.decode("utf-8")
        except UnicodeDecodeError:
            record["raw_body_base64"] = base64.b64encode(self.raw_body).decode("ascii")
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "WebhookEvent":
        """Rebuild an event from a journal line written by :meth:`to_record`.

        Its ``raw_body`` is the body as received; its secret headers stay masked as journaled. A line
        written before bodies were journaled as received (a ``notification`` object) gives the
        envelope as compact JSON for ``raw_body`` and its kept headers for ``raw_headers``.
        """
        try:
            received_at = datetime.fromisoformat(record["received_at"])
        except (KeyError, TypeError, ValueError):
            received_at = datetime.fromtimestamp(0, timezone.utc)
        raw_body = _record_body(record)
        if raw_body is None:  # the earlier form: the parsed envelope and the kept headers
            notification = record.get("notification")
            old_headers = record.get("headers")
            old_headers = old_headers if isinstance(old_headers, dict) else {}
            return cls.from_envelope(notification if isinstance(notification, dict) else {}, old_headers,
                                     received_at, raw_headers=old_headers.items())
        pairs = record.get("raw_headers")
        raw_headers = RequestHeaders(
            (pair[0], pair[1]) for pair in (pairs if isinstance(pairs, list) else ())
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair))
        kept = {name: value for name in _KEPT if (value := raw_headers.get(name)) is not None}  # masked already
        try:
            envelope = json.loads(raw_body)
        except (ValueError, RecursionError):
            envelope = None
        return cls.from_envelope(envelope if isinstance(envelope, dict) else {}, kept, received_at,
                                 raw_body=raw_body, raw_headers=raw_headers)

    def __repr__(self) -> str:
        event = self.event if self.event is None or len(self.event) <= 70 else self.event[:67] + "..."
        return (f"WebhookEvent(uuid={self.uuid!r}, event={event!r}, subscription_id={self.subscription_id!r}, "
                f"received_at={self.received_at.strftime('%H:%M:%S.%f')[:-3]!r})")


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The summary of ``headers`` (lowercased names) an event keeps: content type, user agent, and the
    verification token masked."""
    return {name: mask(headers[name]) if name in SECRET_HEADERS else headers[name] for name in _KEPT if name in headers}


def _record_body(record: dict[str, Any]) -> bytes | None:
    """The body bytes of a journal line, or None for a line of the earlier form."""
    text = record.get("raw_body")
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    encoded = record.get("raw_body_base64")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return b""
    return None


def _compact_json(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
