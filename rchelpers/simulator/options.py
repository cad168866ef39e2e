"""The simulator's options: every tunable behaviour and its default, in one place.

Each field of :class:`SimulatorOptions` is a keyword argument of ``Simulator(...)``. Its comment says
whether the behaviour is **modelled** (taken from a public source, named in the comment) or **guessed**
(the public sources are silent; the simulator's choice). Every other module of the simulator reads its
defaults from here. The sources:

* developer guide: https://developers.ringcentral.com/guide (its source: github.com/ringcentral/ringcentral-api-docs),
  e.g. "Webhooks: validation" at https://developers.ringcentral.com/guide/notifications/webhooks/receiving
* API reference: https://developers.ringcentral.com/api-reference
* RingCentral community forum, 2018: https://forums.developers.ringcentral.com/questions/1173 (RingCentral's
  answer on blacklisting: "during 10 minutes", reactivation "every 15 minutes")
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Mapping

from rchelpers.simulator.errors import OptionError


#: Modelled (developer guide, "API rate limits"): group -> (requests allowed per window, window seconds,
#: penalty seconds). The ``rate_limits`` option overrides groups of it.
DEFAULT_LIMITS: dict[str, tuple[int, float, float]] = {
    "Light": (50, 60.0, 60.0),
    "Medium": (40, 60.0, 60.0),
    "Heavy": (10, 60.0, 60.0),
    "Auth": (5, 60.0, 60.0),
}


@dataclass
class SimulatorOptions:
    """Tunable behaviour of the simulator (the keyword arguments of ``Simulator``); invalid values raise
    :class:`~rchelpers.simulator.errors.OptionError` (a ValueError) saying what is expected."""

    #: Modelled (developer guide, "Webhooks: validation"): seconds the webhook has to answer the validation
    #: handshake. 1.0 gives the older docs' rule.
    validation_timeout: float = 3.0
    #: Modelled (developer guide, "Webhooks: validation"): the largest handshake reply in bytes, status line,
    #: headers and body as received on the wire.
    max_reply_bytes: int = 1024
    #: Modelled (API reference, Create Subscription: ``expiresIn`` up to 10 years); a larger ``expiresIn``
    #: is clamped to it (guessed).
    max_expires_in: int = 315_360_000
    #: Modelled (API reference, Create Subscription): the lifetime in seconds when ``expiresIn`` is missing.
    default_expires_in: int = 604_800
    #: Modelled (developer guide, subscription limits): subscriptions per user per app; the next create gets
    #: 403 SUB-505.
    subscription_limit: int = 30
    #: Modelled (API reference, Get Token): access token lifetime in seconds; a request's ``access_token_ttl``
    #: (600..3600) may lower it.
    access_token_ttl: int = 3600
    #: Modelled (API reference, Get Token): refresh token lifetime in seconds; a request's ``refresh_token_ttl``
    #: (60..2592000) may lower it. A requested ttl below 1 means the default (guessed: the JS SDK,
    #: github.com/ringcentral/ringcentral-js, refreshes with ``access_token_ttl=-1`` after a 401).
    refresh_token_ttl: int = 604_800
    #: Modelled (developer guide, "API rate limits": Light 50, Medium 40, Heavy 10, Auth 5 requests per 60 s,
    #: then a 60 s penalty). A dict overrides groups with ``(limit, window_s, penalty_s)``; None disables.
    rate_limits: Mapping[str, tuple[int, float, float]] | None = field(default_factory=dict)
    #: Guessed: seconds between runs of the renewal reminder job; a reminder filter's threshold and interval
    #: must be at least this.
    reminder_job_interval: float = 5.0
    #: Guessed: request bodies larger than this many bytes get 413.
    max_body_bytes: int = 1_048_576
    #: Modelled (the handshake's rule reused): seconds a webhook has to answer a notification; slower, not
    #: 2xx or refused counts as a failed delivery.
    delivery_timeout: float = 3.0
    #: Guessed: simulated seconds between the attempts of a failed notification; the last value repeats.
    retry_schedule: tuple[float, ...] = (1, 5, 30, 60, 120)
    #: Modelled (RingCentral community forum, 2018: "10 minutes"): simulated seconds of failing deliveries
    #: before the subscription becomes ``Blacklisted`` with ``blacklistedData``.
    blacklist_after: float = 600.0
    #: Modelled (RingCentral community forum, 2018: "every 15 minutes" = 900): simulated seconds between
    #: probes that reactivate a blacklisted address that validates again. None (the default) keeps it
    #: blacklisted, as today's developer guide says.
    blacklist_reactivation: float | None = None
    #: Guessed: delivery threads (one lane per address keeps each receiver's order).
    delivery_workers: int = 4
    #: Modelled (developer guide, "Webhooks": TLS 1.2+ and a certificate from a public CA, else the create
    #: gets 400 SUB-524): this PEM file of CA certificates is trusted besides the system's (a local test
    #: CA). Guessed: a delivery failing TLS is logged ``I/O operation is failed. Details: [TLS ...]``.
    webhook_ca_file: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        for name in ("validation_timeout", "reminder_job_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise OptionError(f"{name} must be a number of seconds > 0, got {value!r}")
        for name in ("max_reply_bytes", "max_expires_in", "default_expires_in", "subscription_limit",
                     "access_token_ttl", "refresh_token_ttl", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"{name} must be an integer >= 1, got {value!r}")
        if self.rate_limits is not None and not isinstance(self.rate_limits, Mapping):
            raise OptionError("rate_limits must be a dict {group: (limit, window, penalty)} or None to disable")
        if self.webhook_ca_file is not None and not isinstance(self.webhook_ca_file, (str, os.PathLike)):
            raise OptionError(f"webhook_ca_file must be the path of a PEM file of CA certificates or None, "
                              f"got {self.webhook_ca_file!r}")
        check_seconds("delivery_timeout", self.delivery_timeout)
        if not isinstance(self.retry_schedule, (list, tuple)) or not self.retry_schedule:
            raise OptionError(f"retry_schedule must be a non-empty list of seconds, e.g. [1, 5, 30], "
                              f"got {self.retry_schedule!r}")
        for delay in self.retry_schedule:
            check_seconds("retry_schedule", delay)
        check_seconds("blacklist_after", self.blacklist_after)
        if self.blacklist_reactivation is not None:
            check_seconds("blacklist_reactivation", self.blacklist_reactivation)
        workers = self.delivery_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise OptionError(f"delivery_workers must be an integer >= 1, got {workers!r}")


def check_seconds(name: str, value: object) -> None:
    """Raise :class:`OptionError` unless ``value`` is a finite number of seconds > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise OptionError(f"{name} must be a number of seconds > 0, got {value!r}")


def option_names() -> list[str]:
    """The names of every option, in the order they are defined."""
    return [f.name for f in fields(SimulatorOptions)]


#: Every option at its default.
DEFAULTS = SimulatorOptions()

# --- fixed values that are not Simulator options ----------------------------------------------------
#: Guessed: the lifetime in seconds of a seeded legacy PubNub/WebSocket record without ``expiresIn``.
LEGACY_EXPIRES_IN = 900
#: Modelled (API reference, Create Subscription): the longest ``deliveryMode.verificationToken``.
MAX_VERIFICATION_TOKEN = 1024
#: Guessed: delivery attempts the delivery log keeps (older ones are dropped in batches).
DELIVERY_LOG_LIMIT = 10_000
#: Modelled (older developer guide and tutorials): the strict 1000 ms answer limit, which the receiver
#: check reports as an advisory warning.
STRICT_TIME_LIMIT_MS = 1000.0
#: Guessed: seconds ``check_receiver`` waits for each reply.
CHECK_TIMEOUT = 5.0
#: Guessed: concurrent notifications ``check_receiver`` sends in its burst rule.
CHECK_BURST = 20
