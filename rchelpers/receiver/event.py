"""One accepted webhook notification, as the receiver keeps it in memory and in its journal."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rchelpers.masking import mask

__all__ = ["WebhookEvent", "REMINDER_EVENT_PREFIX", "kept_headers"]

#: Event filters of subscription renewal reminders start with this.
REMINDER_EVENT_PREFIX = "/restapi/v1.0/subscription/"


@dataclass(frozen=True, repr=False)
class WebhookEvent:
    """One accepted notification: the RingCentral envelope, the headers that matter, the arrival time.

    ``headers`` keeps ``content-type``, ``user-agent`` and a masked ``verification-token``; ``raw`` is
    the whole envelope. The dicts are shared with other listeners: treat them as read-only.
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

    @property
    def is_reminder(self) -> bool:
        """True for a subscription renewal reminder (event ``/restapi/v1.0/subscription/...``)."""
        return bool(self.event and self.event.startswith(REMINDER_EVENT_PREFIX))

    @classmethod
    def from_envelope(
        cls, envelope: dict[str, Any], headers: dict[str, str] | None = None, received_at: datetime | None = None
    ) -> "WebhookEvent":
        """Build an event from a notification's JSON envelope (``ownerId`` is also looked up in the body)."""
        body = envelope.get("body")
        owner = envelope.get("ownerId")
        if owner is None and isinstance(body, dict):
            owner = body.get("ownerId")
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
        )

    def to_record(self) -> dict[str, Any]:
        """The journal line for this event."""
        return {"received_at": self.received_at.isoformat(), "headers": self.headers, "notification": self.raw}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "WebhookEvent":
        """Rebuild an event from a journal line written by :meth:`to_record`."""
        try:
            received_at = datetime.fromisoformat(record["received_at"])
        except (KeyError, TypeError, ValueError):
            received_at = datetime.fromtimestamp(0, timezone.utc)
        notification = record.get("notification")
        return cls.from_envelope(notification if isinstance(notification, dict) else {},
                                 record.get("headers") or {}, received_at)

    def __repr__(self) -> str:
        event = self.event if self.event is None or len(self.event) <= 70 else self.event[:67] + "..."
        return (f"WebhookEvent(uuid={self.uuid!r}, event={event!r}, subscription_id={self.subscription_id!r}, "
                f"received_at={self.received_at.strftime('%H:%M:%S.%f')[:-3]!r})")


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers an event keeps: content type, user agent, and the verification token masked."""
    kept: dict[str, str] = {name: headers[name] for name in ("content-type", "user-agent") if name in headers}
    if "verification-token" in headers:
        kept["verification-token"] = mask(headers["verification-token"])
    return kept


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
