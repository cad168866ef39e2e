"""Webhook subscriptions: event-filter builders, the reminder-filter rules, and typed CRUD helpers.

::

    subs = SubscriptionClient(client)
    sub = subs.create(
        "https://abc.ngrok.app/webhook",
        [presence_filter(detailed_telephony_state=True), reminder_filter(3600, 900)],
        expires_in=86400,
    )
    sub = subs.renew(sub.id)        # PUT with no body, as the tutorial teaches
    subs.delete(sub.id)
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence
from urllib.parse import parse_qs, quote, urlsplit

from rchelpers.client.config import is_local_host, is_loopback_url
from rchelpers.client.rest import RestClient
from rchelpers.errors import ConfigError

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "MAX_WEBHOOK_EXPIRES_IN",
    "REMINDER_JOB_INTERVAL",
    "SUBSCRIPTION_PATH",
    "Subscription",
    "SubscriptionClient",
    "TELEPHONY_STATUS_CODES",
    "dnd_filter",
    "extension_info_filter",
    "extension_list_filter",
    "fax_filter",
    "instant_sms_filter",
    "is_reminder_filter",
    "message_store_filter",
    "parse_reminder_filter",
    "presence_filter",
    "presence_line_filter",
    "reminder_filter",
    "telephony_sessions_filter",
    "voicemail_filter",
]

log = logging.getLogger("rchelpers.subscriptions")  # logger names stay the short public ones users configure

SUBSCRIPTION_PATH = "/restapi/v1.0/subscription"
#: Lifetime of a WebHook subscription created without ``expiresIn`` (7 days).
DEFAULT_EXPIRES_IN = 604800
#: Longest WebHook lifetime the platform grants (500000000 s as observed; the API reference says 10 years);
#: longer requests are clamped by the platform.
MAX_WEBHOOK_EXPIRES_IN = 500000000
#: How often the platform's reminder job runs, in seconds (the simulator's default).
REMINDER_JOB_INTERVAL = 5
MESSAGE_TYPES = ("Fax", "SMS", "VoiceMail", "Pager")
MESSAGE_DIRECTIONS = ("Inbound", "Outbound")
#: The call states a telephony-sessions filter may select with ``statusCode`` (one per filter).
TELEPHONY_STATUS_CODES = ("Setup", "Proceeding", "Answered", "Disconnected", "Gone", "Parked", "Hold", "VoiceMail",
                          "FaxReceive", "VoiceMailScreening")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_REMINDER_PREFIX = "/restapi/v1.0/subscription/~"


# --- event filters ---------------------------------------------------------------------------------
def _check_id(name: str, value: str) -> str:
    value = str(value)
    if value != "~" and not re.fullmatch(r"[0-9]+", value):
        raise ValueError(f"{name} must be '~' (the current one) or a numeric id, got {value!r}")
    return value


def _extension_path(extension: str, account: str, resource: str = "") -> str:
    """``/restapi/v1.0/account/{account}/extension/{extension}``, then ``/{resource}`` if given (ids checked)."""
    path = f"/restapi/v1.0/account/{_check_id('account', account)}/extension/{_check_id('extension', extension)}"
    return f"{path}/{resource}" if resource else path


def presence_filter(extension: str = "~", *, account: str = "~", detailed_telephony_state: bool = False) -> str:
    """The presence filter, e.g. ``/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true``."""
    query = "?detailedTelephonyState=true" if detailed_telephony_state else ""
    return _extension_path(extension, account, "presence") + query


def message_store_filter(
    extension: str = "~", *, account: str = "~", type: str | None = None, direction: str | None = None  # noqa: A002
) -> str:
    """The message-store filter, optionally narrowed by ``type`` (Fax, SMS, VoiceMail, Pager) and ``direction``."""
    if type is not None and type not in MESSAGE_TYPES:
        raise ValueError(f"type must be one of {', '.join(MESSAGE_TYPES)}, got {type!r}")
    if direction is not None and direction not in MESSAGE_DIRECTIONS:
        raise ValueError(f"direction must be Inbound or Outbound, got {direction!r}")
    path = _extension_path(extension, account, "message-store")
    query = "&".join(f"{k}={v}" for k, v in (("type", type), ("direction", direction)) if v is not None)
    return path + (f"?{query}" if query else "")


def instant_sms_filter(extension: str = "~", *, account: str = "~") -> str:
    """The instant SMS filter: ``/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS``."""
    return _extension_path(extension, account, "message-store/instant") + "?type=SMS"


def _flag(value: bool | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True, False or None, got {value!r}")
    return "true" if value else "false"


def telephony_sessions_filter(
    extension: str | None = "~",
    *,
    account: str = "~",
    direction: str | None = None,
    missed_call: bool | None = None,
    status_code: str | None = None,
    phone_number: str | None = None,
    sip_data: bool = False,
    with_recordings: bool | None = None,
) -> str:
    """The telephony-sessions filter (call states), e.g. ``/restapi/v1.0/account/~/extension/~/telephony/sessions``.

    ``extension=None`` gives the account-level filter (every extension's calls). The platform's
    parameters narrow it: ``direction`` (Inbound, Outbound), ``missed_call``, ``status_code`` (one of
    :data:`TELEPHONY_STATUS_CODES`; subscribe with several filters for several), ``phone_number`` (E.164,
    e.g. ``+16505550100``), ``with_recordings``; ``sip_data=True`` adds the parties' SIP data.
    """
    if extension is None:
        path = f"/restapi/v1.0/account/{_check_id('account', account)}/telephony/sessions"
    else:
        path = _extension_path(extension, account, "telephony/sessions")
    if direction is not None and direction not in MESSAGE_DIRECTIONS:
        raise ValueError(f"direction must be Inbound or Outbound, got {direction!r}")
    if status_code is not None and status_code not in TELEPHONY_STATUS_CODES:
        raise ValueError(f"status_code must be one of {', '.join(TELEPHONY_STATUS_CODES)}, got {status_code!r}")
    if phone_number is not None and not (isinstance(phone_number, str) and _E164.fullmatch(phone_number)):
        raise ValueError(f"phone_number must be in E.164 format such as +16505550100, got {phone_number!r}")
    query = [("direction", direction), ("missedCall", _flag(missed_call, "missed_call")),
             ("phoneNumber", phone_number), ("sipData", "true" if _flag(sip_data, "sip_data") == "true" else None),
             ("statusCode", status_code), ("withRecordings", _flag(with_recordings, "with_recordings"))]
    text = "&".join(f"{name}={value}" for name, value in query if value is not None)
    return path + (f"?{text}" if text else "")


def voicemail_filter(extension: str = "~", *, account: str = "~") -> str:
    """The voicemail filter: ``/restapi/v1.0/account/~/extension/~/voicemail`` (one event per new voicemail)."""
    return _extension_path(extension, account, "voicemail")


def fax_filter(extension: str = "~", *, account: str = "~") -> str:
    """The inbound fax filter: ``/restapi/v1.0/account/~/extension/~/fax?direction=Inbound``."""
    return _extension_path(extension, account, "fax") + "?direction=Inbound"


def dnd_filter(extension: str = "~", *, account: str = "~") -> str:
    """The Do-Not-Disturb status filter: ``/restapi/v1.0/account/~/extension/~/presence/dnd``."""
    return _extension_path(extension, account, "presence/dnd")


def presence_line_filter(extension: str = "~", *, account: str = "~") -> str:
    """The presence-line filter (the lines the user monitors): ``/restapi/v1.0/account/~/extension/~/presence/line``."""
    return _extension_path(extension, account, "presence/line")


def extension_info_filter(extension: str = "~", *, account: str = "~") -> str:
    """The extension info filter: ``/restapi/v1.0/account/~/extension/~``."""
    return _extension_path(extension, account)


def extension_list_filter(account: str = "~") -> str:
    """The extension list filter: ``/restapi/v1.0/account/~/extension``."""
    return f"/restapi/v1.0/account/{_check_id('account', account)}/extension"


def reminder_filter(threshold: int, interval: int, *, expires_in: int | None = None, job_interval: int = REMINDER_JOB_INTERVAL) -> str:
    """The renewal-reminder filter ``/restapi/v1.0/subscription/~?threshold=T&interval=I``, after checking the rules.

    The platform's rules: threshold and interval at least the reminder job interval; threshold at most
    half the subscription lifetime (checked when ``expires_in`` is given); interval at most half the
    threshold. A broken rule raises ValueError naming it and the fix.
    """
    check_reminder(threshold, interval, expires_in=expires_in, job_interval=job_interval)
    return f"{_REMINDER_PREFIX}?threshold={threshold}&interval={interval}"


def check_reminder(threshold: int, interval: int, *, expires_in: int | None = None, job_interval: int = REMINDER_JOB_INTERVAL) -> None:
    """Raise ValueError if ``threshold``/``interval`` break one of the platform's reminder rules."""
    for name, value in (("threshold", threshold), ("interval", interval)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a whole number of seconds > 0, got {value!r}")
    if threshold < job_interval:
        raise ValueError(
            f"threshold={threshold} is less than the reminder job interval ({job_interval} s): use threshold >= {job_interval}"
        )
    if interval < job_interval:
        raise ValueError(
            f"interval={interval} is less than the reminder job interval ({job_interval} s): use interval >= {job_interval}"
        )
    if expires_in is not None and threshold > expires_in / 2:
        raise ValueError(
            f"threshold={threshold} is more than half the subscription lifetime (expires_in={expires_in}, half {expires_in // 2}): "
            f"lower threshold to <= {expires_in // 2} or raise expires_in to >= {threshold * 2}"
        )
    if interval > threshold / 2:
        raise ValueError(
            f"interval={interval} is more than half the threshold ({threshold}, half {threshold // 2}): "
            f"lower interval to <= {threshold // 2} or raise threshold to >= {interval * 2}"
        )


def is_reminder_filter(event_filter: str) -> bool:
    """True when ``event_filter`` is a renewal-reminder filter (``/restapi/v1.0/subscription/~...``)."""
    return urlsplit(event_filter).path == _REMINDER_PREFIX


def parse_reminder_filter(event_filter: str) -> tuple[int, int] | None:
    """``(threshold, interval)`` of a reminder filter, or None for any other filter.

    Raises ValueError for a reminder filter without whole-number threshold and interval.
    """
    parts = urlsplit(event_filter)
    if parts.path != _REMINDER_PREFIX:
        return None
    query = parse_qs(parts.query)
    try:
        (threshold,) = query["threshold"]
        (interval,) = query["interval"]
        return int(threshold), int(interval)
    except (KeyError, ValueError):
        raise ValueError(
            f"reminder filter {event_filter!r} needs one whole-number threshold and interval: "
            "build it with reminder_filter(threshold, interval)"
        ) from None


# --- the typed result ------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Subscription:
    """One subscription as the platform returned it; ``raw`` is the JSON dict."""

    id: str
    uri: str
    status: str
    event_filters: tuple[str, ...]
    creation_time: datetime | None
    expiration_time: datetime | None
    expires_in: int | None
    transport: str | None
    address: str | None
    blacklisted_data: dict[str, Any] | None
    raw: dict[str, Any] = field(compare=False)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Subscription:
        """Build from a ``SubscriptionInfo`` JSON object."""
        delivery = raw.get("deliveryMode") or {}
        return cls(
            id=str(raw["id"]),
            uri=str(raw.get("uri", "")),
            status=str(raw.get("status", "")),
            event_filters=tuple(raw.get("eventFilters") or ()),
            creation_time=_parse_time(raw.get("creationTime")),
            expiration_time=_parse_time(raw.get("expirationTime")),
            expires_in=raw.get("expiresIn"),
            transport=delivery.get("transportType"),
            address=delivery.get("address"),
            blacklisted_data=raw.get("blacklistedData"),
            raw=raw,
        )

    @property
    def is_webhook(self) -> bool:
        """True for the WebHook transport."""
        return self.transport == "WebHook"

    @property
    def is_blacklisted(self) -> bool:
        """True when the platform stopped delivering (status ``Blacklisted``); delete and recreate it."""
        return self.status == "Blacklisted"

    @property
    def is_active(self) -> bool:
        """True when the status is ``Active``."""
        return self.status == "Active"

    @property
    def disabled_filters(self) -> list[dict[str, Any]]:
        """The platform's ``disabledFilters``: ``{filter, reason, message}`` for each filter it will not fire
        (the app lacks its permission); empty when there are none."""
        return [dict(item) for item in self.raw.get("disabledFilters") or () if isinstance(item, dict)]

    @property
    def reminder_filters(self) -> list[str]:
        """The renewal-reminder filters among ``event_filters``."""
        return [f for f in self.event_filters if is_reminder_filter(f)]

    def __repr__(self) -> str:
        expires = "" if self.expiration_time is None else f" expires {self.expiration_time:%Y-%m-%d %H:%M:%S}Z"
        left = "" if self.expires_in is None else f" ({self.expires_in} s left)"
        disabled = f", {len(self.disabled_filters)} disabled" if self.disabled_filters else ""
        return (
            f"<Subscription {self.id} {self.transport} {self.status}{expires}{left}, "
            f"{len(self.event_filters)} filter{'s' if len(self.event_filters) != 1 else ''}{disabled}>"
        )


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


# --- the helpers -----------------------------------------------------------------------------------
class SubscriptionClient:
    """Create, list, get, renew, update and delete webhook subscriptions through a RestClient."""

    def __init__(self, client: RestClient, *, job_interval: int = REMINDER_JOB_INTERVAL) -> None:
        self.client = client
        self.job_interval = job_interval

    def create(
        self,
        address: str,
        event_filters: Sequence[str],
        *,
        verification_token: str | None = None,
        expires_in: int | None = None,
    ) -> Subscription:
        """Create a WebHook subscription (the platform first runs the Validation-Token handshake on ``address``).

        Every check happens before any request: the filters, ``expires_in``, each reminder filter
        against the lifetime (``expires_in`` or the 7-day default), and that a non-loopback platform can
        reach ``address``. ``verification_token`` is sent as ``deliveryMode.verificationToken`` and
        comes back on every notification as the ``Verification-Token`` header; it is never logged.
        """
        filters = self._check_filters(event_filters, expires_in)
        self.check_address(address)
        if verification_token is not None and (not isinstance(verification_token, str) or not verification_token):
            raise ValueError("verification_token must be a non-empty string (or None)")
        delivery: dict[str, Any] = {"transportType": "WebHook", "address": address}
        if verification_token is not None:
            delivery["verificationToken"] = verification_token
        body: dict[str, Any] = {"eventFilters": filters, "deliveryMode": delivery}
        if expires_in is not None:
            body["expiresIn"] = expires_in  # top level: inside deliveryMode it would be ignored
        sub = Subscription.from_json(self.client.post(SUBSCRIPTION_PATH, json=body))
        log.info("created subscription %s for %s with %d filters", sub.id, address, len(sub.event_filters))
        return sub

    def list_all(self, transport: str | None = None) -> list[Subscription]:
        """The user's subscriptions for this app; ``transport`` (e.g. ``"WebHook"``) keeps only that kind."""
        records = self.client.get(SUBSCRIPTION_PATH).get("records", [])
        subs = [Subscription.from_json(r) for r in records]
        if transport is not None:
            subs = [s for s in subs if (s.transport or "").lower() == transport.lower()]
        return subs

    def get(self, subscription: str | Subscription) -> Subscription:
        """Read one subscription (ApiError 404 CMN-102 when it does not exist or expired)."""
        return Subscription.from_json(self.client.get(self._path(subscription)))

    def renew(self, subscription: str | Subscription) -> Subscription:
        """Renew with ``PUT /subscription/{id}`` and no body at all, as the tutorial teaches."""
        sub = Subscription.from_json(self.client.put(self._path(subscription)))
        log.info("renewed subscription %s (PUT): expires %s", sub.id, sub.expiration_time)
        return sub

    def renew_with_post(self, subscription: str | Subscription) -> Subscription:
        """Renew with ``POST /subscription/{id}/renew`` (no body)."""
        sub = Subscription.from_json(self.client.post(self._path(subscription) + "/renew"))
        log.info("renewed subscription %s (POST renew): expires %s", sub.id, sub.expiration_time)
        return sub

    def update(self, subscription: str | Subscription, event_filters: Sequence[str], *, expires_in: int | None = None) -> Subscription:
        """Replace the event filters (PUT with a body). Note: every PUT also renews the subscription."""
        body: dict[str, Any] = {"eventFilters": self._check_filters(event_filters, expires_in)}
        if expires_in is not None:
            body["expiresIn"] = expires_in
        return Subscription.from_json(self.client.put(self._path(subscription), json=body))

    def delete(self, subscription: str | Subscription) -> None:
        """Delete a subscription (the platform answers 204)."""
        self.client.delete(self._path(subscription))
        log.info("deleted subscription %s", _id_of(subscription))

    def __repr__(self) -> str:
        return f"<SubscriptionClient on {self.client.server_url}>"

    # --- checks ----------------------------------------------------------------------------------
    def _path(self, subscription: str | Subscription) -> str:
        return f"{SUBSCRIPTION_PATH}/{quote(_id_of(subscription), safe='')}"

    def _check_filters(self, event_filters: Sequence[str], expires_in: int | None) -> list[str]:
        if isinstance(event_filters, str):
            raise ValueError("event_filters must be a list of filter strings, not one string: wrap it in [...]")
        filters = list(event_filters)
        if not filters:
            raise ValueError("event_filters is empty: give at least one filter, e.g. [presence_filter()]")
        for f in filters:
            if not isinstance(f, str) or not f.startswith("/"):
                raise ValueError(f"each event filter must be a path string starting with '/', got {f!r}")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0):
            raise ValueError(f"expires_in must be a whole number of seconds > 0, got {expires_in!r}")
        lifetime = min(expires_in or DEFAULT_EXPIRES_IN, MAX_WEBHOOK_EXPIRES_IN)
        for f in filters:
            parsed = parse_reminder_filter(f)
            if parsed is not None:
                try:
                    check_reminder(*parsed, expires_in=lifetime, job_interval=self.job_interval)
                except ValueError as exc:
                    default = "" if expires_in is not None else " (the default lifetime, as expires_in is not given)"
                    raise ValueError(f"{f}: {exc}{default}") from None
        return filters

    def check_address(self, address: str) -> None:
        """Raise if ``address`` is not an http(s) URL, or is one the platform cannot reach (ConfigError).

        A platform on this machine reaches any address; one on the LAN cannot reach our loopback; a
        public one reaches public addresses only (no name is resolved: no network I/O).
        """
        parts = urlsplit(address) if isinstance(address, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"address must be an http(s) URL of your webhook, e.g. https://abc.ngrok.app/webhook, got {address!r}")
        server_host = urlsplit(self.client.server_url).hostname or ""
        if self.client.config.is_loopback:
            unreachable = False  # a platform on this machine reaches every address this machine does
        elif is_local_host(server_host):
            unreachable = is_loopback_url(address)  # a platform on the LAN cannot reach our loopback
        else:
            unreachable = is_local_host(parts.hostname)  # a public platform reaches public addresses only
        if unreachable:
            raise ConfigError(
                f"The platform at {self.client.server_url} cannot reach {address} (a loopback or private address). "
                "Open a public tunnel to your receiver with rchelpers.open_tunnel(port) and pass its public URL."
            )
        if parts.scheme == "http" and not self.client.config.is_loopback:
            log.warning("webhook address %s is plain http: the real platform expects https", address)


def _id_of(subscription: str | Subscription) -> str:
    value = subscription.id if isinstance(subscription, Subscription) else subscription
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a subscription id must be a non-empty string, got {value!r}")
    return value
