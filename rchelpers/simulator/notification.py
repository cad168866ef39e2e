"""What is delivered and where: the platform's notification envelope and a subscription's delivery target.

:class:`SubscriptionAccess` is what the delivery engine reads from the subscriptions it delivers for
(the simulator's :class:`~rchelpers.simulator.subscriptions.SubscriptionsBackend` implements it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Notification:
    """One notification for one subscription: the platform's envelope, in its key order."""

    uuid: str
    event: str  #: the envelope's ``event`` field: the event filter it matched, as the platform sends it
    timestamp: str
    subscription_id: str
    owner_id: str
    body: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """``{uuid, event, timestamp, subscriptionId, ownerId, body}``, as the platform sends it."""
        return {
            "uuid": self.uuid,
            "event": self.event,
            "timestamp": self.timestamp,
            "subscriptionId": self.subscription_id,
            "ownerId": self.owner_id,
            "body": self.body,
        }

    def encode(self) -> bytes:
        """The envelope as UTF-8 JSON bytes."""
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class DeliveryTarget:
    """Where and how to deliver to one subscription right now."""

    subscription_id: str
    address: str
    verification_token: str | None = None


class SubscriptionAccess(Protocol):
    """What the delivery engine reads and changes in the subscriptions it delivers for."""

    def delivery_target(self, subscription_id: str) -> DeliveryTarget | None:
        """The target of an Active WebHook subscription, or None (gone, expired, blacklisted)."""

    def blacklist(self, subscription_id: str, reason: str, at: float) -> None:
        """Mark the subscription ``Blacklisted`` with ``blacklistedData {blacklistedAt, reason}``."""

    def blacklisted_targets(self) -> list[DeliveryTarget]:
        """Every blacklisted WebHook subscription (for the optional reactivation)."""

    def reactivate(self, subscription_id: str) -> None:
        """Set a blacklisted subscription back to ``Active`` and drop its ``blacklistedData``."""
