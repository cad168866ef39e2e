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

``docs/FIDELITY.md`` in the repository lists every behaviour and error code with its source.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Mapping

from rchelpers.simulator.errors import OptionError
from rchelpers.simulator.permissions import DEFAULT_APP_PERMISSIONS, PermissionSetError, check_permissions
from rchelpers.simulator.realism import RealismError, check_realism


#: Modelled (developer guide, "API rate limits"): group -> (requests allowed per window, window seconds,
#: penalty seconds). The ``rate_limits`` option overrides groups of it.
DEFAULT_LIMITS: dict[str, tuple[int, float, float]] = {
    "Light": (50, 60.0, 60.0),
    "Medium": (40, 60.0, 60.0),
    "Heavy": (10, 60.0, 60.0),
    "Auth": (5, 60.0, 60.0),
}


#: The values of the ``handshake_errors`` option.
HANDSHAKE_ERROR_SETS = ("observed", "legacy")


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
    #: Observed: the largest subscription lifetime; a larger ``expiresIn`` is clamped to it, not refused. A
    #: real subscription asked for 630720000 s came back with exactly 500000000 (RingCentral community thread
    #: 5698, 2020) and a 473040000 s one was kept as asked (ringcentral/ringcentral-api-docs
    #: ``code-samples/webhooks/blacklist.json``). 315360000 gives the API reference's rule (Create
    #: Subscription: ``expiresIn`` up to 10 years).
    max_expires_in: int = 500_000_000
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
    #: Modelled: the permissions of the simulator's apps (the token's ``scope`` lists them). A WebHook create
    #: needs ``SubscriptionWebhook`` (else 403 CMN-401 with ``permissionName``; API changelog 1.0.29) and each
    #: event filter the permission its page names (developer guide, event filters), a filter whose
    #: permission is missing going to ``disabledFilters`` (API reference, ``SubscriptionInfo``). Guessed: the
    #: default, what a webhook app following the tutorial holds.
    permissions: tuple[str, ...] = DEFAULT_APP_PERMISSIONS
    #: Observed: which codes a failed validation handshake gets. ``"observed"``: unreachable, too slow or no echo 400
    #: SUB-521 ``WebHook is not reachable`` (ringcentral/ringcentral-csharp-client ``WebHookTest.cs``; the
    #: RingCentral FAQ), a status other than 200 SUB-522 naming it (API reference error table; the same test,
    #: later version), a reply too large SUB-525. ``"legacy"``: CMN-101 on ``deliveryMode.address``, SUB-525,
    #: SUB-520 ``Validation Token is not returned`` (observed in a 2017 community question).
    handshake_errors: str = "observed"
    #: Modelled (developer guide, "Refresh tokens", and a public experiment, tylerlong/ringcentral-token-refresh-
    #: experiment): a used refresh token keeps working ``(after_use, unused)`` seconds, 10 s after the new access
    #: token is first used or up to 60 min while it is not, and returns the same tokens again. ``(10, 3600)``
    #: turns it on. None (the default, guessed) refuses a used refresh token at once (400 OAU-213): stricter,
    #: so an app that does not keep the new refresh token fails here first.
    refresh_reuse_grace: tuple[float, float] | None = None
    #: Modelled (RingCentral warns that notifications may arrive more than once): the share of event and
    #: reminder notifications queued twice, same ``uuid``. 0 (the default) sends each once.
    duplicate_rate: float = 0.0
    #: Modelled (RingCentral warns that notifications may arrive out of order; telephony bodies carry
    #: ``sequence`` for it): each notification is held back a random 0..N simulated seconds, so one sent up to
    #: N seconds later may overtake it (with a frozen clock, ``clock.advance`` releases them). 0 (the
    #: default) keeps the order. Both draw from the seed.
    reorder_window: float = 0.0

    def __post_init__(self) -> None:
        for name in ("validation_timeout", "reminder_job_interval"):
            check_seconds(name, getattr(self, name))
        for name in ("max_reply_bytes", "max_expires_in", "default_expires_in", "subscription_limit",
                     "access_token_ttl", "refresh_token_ttl", "max_body_bytes", "delivery_workers"):
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
        try:
            self.permissions = check_permissions(self.permissions)
        except (PermissionSetError, TypeError) as exc:
            raise OptionError(f"permissions: {exc}") from None
        if self.handshake_errors not in HANDSHAKE_ERROR_SETS:
            raise OptionError(f"handshake_errors must be 'observed' or 'legacy', got {self.handshake_errors!r}")
        grace = self.refresh_reuse_grace
        if grace is not None:
            if not isinstance(grace, (list, tuple)) or len(grace) != 2:
                raise OptionError(f"refresh_reuse_grace must be (seconds after use, seconds unused) such as "
                                  f"(10, 3600), or None, got {grace!r}")
            for value in grace:
                check_seconds("refresh_reuse_grace", value)
            self.refresh_reuse_grace = (float(grace[0]), float(grace[1]))
        try:
            check_realism(self.duplicate_rate, self.reorder_window)
        except RealismError as exc:
            raise OptionError(str(exc)) from None


def check_seconds(name: str, value: object) -> None:
    """Raise :class:`OptionError` unless ``value`` is a finite number of seconds > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise OptionError(f"{name} must be a number of seconds > 0, got {value!r}")


def option_names() -> list[str]:
    """The names of every option, in the order they are defined."""
    return [f.name for f in fields(SimulatorOptions)]


def parse_option(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` (a command line's ``--option``) as ``(name, value)``; ``-`` in NAME may stand for ``_``.

    VALUE is read as JSON (``0.1``, ``null``, ``[1, 5]``, ``{"Auth": [5, 60, 60]}``), else taken as text;
    for an option whose default is a tuple, text is a comma-separated list, each item read the same way
    (``ReadPresence,SubscriptionWebhook``, ``1,5,30``). Raises :class:`OptionError` for an unknown NAME or a
    missing ``=``; values are checked by :class:`SimulatorOptions`.
    """
    name, sep, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name:
        raise OptionError(f"expected NAME=VALUE such as duplicate_rate=0.1, got {text!r}")
    if name not in option_names():
        raise OptionError(f"unknown simulator option {name!r}; options: {', '.join(option_names())}")
    value = _json_or_text(raw)
    if isinstance(value, (str, int, float)) and isinstance(getattr(DEFAULTS, name), tuple):
        value = [_json_or_text(part.strip()) for part in raw.split(",") if part.strip()]
    return name, value


def _json_or_text(raw: str) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


#: Every option at its default.
DEFAULTS = SimulatorOptions()

# --- fixed values that are not Simulator options ----------------------------------------------------
#: Guessed: the lifetime in seconds of a seeded legacy PubNub/WebSocket record without ``expiresIn``.
LEGACY_EXPIRES_IN = 900
#: Guessed: the event filter of a seeded legacy record without ``eventFilters``.
LEGACY_DEFAULT_FILTER = "/restapi/v1.0/account/~/extension/~/presence"
#: Modelled (API reference, Create Subscription): the longest ``deliveryMode.verificationToken``.
MAX_VERIFICATION_TOKEN = 1024
#: Guessed: delivery attempts the delivery log keeps (older ones are dropped in batches).
DELIVERY_LOG_LIMIT = 10_000
#: Guessed: validation handshakes ``GET /_sim/handshakes`` keeps (the oldest is dropped).
HANDSHAKE_LOG_SIZE = 100
#: Modelled (older developer guide and tutorials): the strict 1000 ms answer limit, which the receiver
#: check reports as an advisory warning.
STRICT_TIME_LIMIT_MS = 1000.0
#: Guessed: seconds ``check_receiver`` waits for each reply.
CHECK_TIMEOUT = 5.0
#: Guessed: concurrent notifications ``check_receiver`` sends in its burst rule.
CHECK_BURST = 20
