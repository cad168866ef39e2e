"""Event filters: parsing, ``~`` expansion, permission checks, reminder rules and matching.

A filter is a platform path with an optional query, e.g.
``/restapi/v1.0/account/~/extension/~/message-store?type=SMS``. :func:`parse_filters` checks a whole
list as a subscribe request would, and returns :class:`EventFilter` objects that know their family,
their ids (``~`` expanded to the owner's account/extension ids) and their query parameters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence
from urllib.parse import parse_qsl

from rchelpers.simulator.errors import FilterSyntaxError, PlatformError

API_PREFIX = "/restapi/v1.0"

#: Filter families: name -> (path regex after ``/restapi/v1.0``, allowed query parameters and their allowed values).
#: ``None`` as allowed values means any value of the documented type (checked by ``_check_param``).
_BOOL = ("true", "false")
FAMILIES: dict[str, tuple[re.Pattern[str], dict[str, tuple[str, ...] | None]]] = {
    "presence": (re.compile(r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)/presence"),
                 {"detailedTelephonyState": _BOOL, "sipData": _BOOL, "aggregated": _BOOL}),
    "account-presence": (re.compile(r"/account/(?P<account>[^/]+)/presence"),
                         {"detailedTelephonyState": _BOOL, "sipData": _BOOL}),
    "message-store": (re.compile(r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)/message-store"),
                      {"type": ("Fax", "SMS", "VoiceMail", "Pager", "Text"), "direction": ("Inbound", "Outbound")}),
    "instant-message": (re.compile(
        r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)/message-store/instant"), {"type": ("SMS",)}),
    "voicemail": (re.compile(r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)/voicemail"), {}),
    "telephony-sessions": (re.compile(
        r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)/telephony/sessions"),
        {"direction": ("Inbound", "Outbound"), "missedCall": _BOOL}),
    "extension-info": (re.compile(r"/account/(?P<account>[^/]+)/extension/(?P<extension>[^/]+)"), {}),
    "extension-list": (re.compile(r"/account/(?P<account>[^/]+)/extension"), {}),
    "reminder": (re.compile(r"/subscription/~"), {"threshold": None, "interval": None}),
    "glip-posts": (re.compile(r"/glip/posts"), {}),
    "glip-groups": (re.compile(r"/glip/groups"), {}),
}
#: Families reachable outside ``/restapi/v1.0`` (kept exactly as subscribed).
TEAM_MESSAGING = re.compile(r"/team-messaging/v1/(?P<what>posts|chats|groups|teams)")
#: Query parameters that must be present for a family.
REQUIRED_PARAMS = {"instant-message": ("type",), "reminder": ("threshold", "interval")}
#: Families about messages of an extension (another extension of the account gets SUB-405, not SUB-408).
MESSAGE_FAMILIES = ("message-store", "instant-message", "voicemail")
_ID = re.compile(r"~|[0-9]{1,20}")


@dataclass(frozen=True)
class Owner:
    """The user a subscription belongs to: account and extension ids (numeric strings)."""

    account_id: str
    extension_id: str


@dataclass
class EventFilter:
    """One parsed event filter."""

    raw: str  #: the filter as subscribed
    expanded: str  #: as returned by the API (``~`` expanded except in the reminder filter)
    family: str
    account_id: str | None = None
    extension_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def matches(self, family: str, account_id: str | None = None, extension_id: str | None = None,
                attributes: Mapping[str, str] | None = None) -> bool:
        """True if an event of ``family`` for these ids (and ``attributes`` like type/direction) is selected."""
        if family != self.family:
            return False
        if account_id is not None and self.account_id is not None and account_id != self.account_id:
            return False
        if extension_id is not None and self.extension_id is not None and extension_id != self.extension_id:
            return False
        selectors = {"type", "direction"} if self.family in MESSAGE_FAMILIES + ("telephony-sessions",) else set()
        for name, wanted in self.params.items():
            if name in selectors and attributes is not None and name in attributes and attributes[name] != wanted:
                return False
        return True

    @property
    def is_reminder(self) -> bool:
        """True for the renewal reminder filter ``/restapi/v1.0/subscription/~?threshold=T&interval=I``."""
        return self.family == "reminder"

    @property
    def threshold(self) -> int | None:
        """The reminder threshold in seconds (reminder filters only)."""
        return int(self.params["threshold"]) if self.is_reminder else None

    @property
    def interval(self) -> int | None:
        """The reminder interval in seconds (reminder filters only)."""
        return int(self.params["interval"]) if self.is_reminder else None


def parse_filter(raw: str, owner: Owner) -> EventFilter:
    """Parse one filter for ``owner``; raises :class:`FilterSyntaxError` (no permission checks here)."""
    if not isinstance(raw, str) or not raw.strip():
        raise FilterSyntaxError("a filter must be a non-empty string")
    path, _, query = raw.partition("?")
    match = TEAM_MESSAGING.fullmatch(path)
    if match:
        if query:
            raise FilterSyntaxError("team messaging filters take no query parameters")
        return EventFilter(raw, raw, "team-messaging-" + match["what"])
    if path.startswith(API_PREFIX + "/"):
        rest = path[len(API_PREFIX):]
    elif path.startswith(("/account/", "/subscription/", "/glip/")):
        rest = path  # short form: accepted, returned with the prefix (guessed)
    else:
        raise FilterSyntaxError("not a known event filter path")
    for family, (pattern, allowed) in FAMILIES.items():
        match = pattern.fullmatch(rest)
        if not match:
            continue
        groups = match.groupdict()
        for key in ("account", "extension"):
            if key in groups and not _ID.fullmatch(groups[key]):
                raise FilterSyntaxError(f"{key} id must be '~' or digits, got {groups[key]!r}")
        params = _parse_query(query, allowed, family)
        account = groups.get("account")
        extension = groups.get("extension")
        account_id = owner.account_id if account == "~" else account
        extension_id = owner.extension_id if extension == "~" else extension
        expanded_path = rest
        if account is not None:
            expanded_path = expanded_path.replace(f"/account/{account}", f"/account/{account_id}", 1)
        if extension is not None:
            expanded_path = expanded_path.replace(f"/extension/{extension}", f"/extension/{extension_id}", 1)
        expanded = API_PREFIX + expanded_path + (f"?{query}" if query else "")
        return EventFilter(raw, expanded, family, account_id, extension_id, params)
    raise FilterSyntaxError("not a known event filter path")


def _parse_query(query: str, allowed: Mapping[str, tuple[str, ...] | None], family: str) -> dict[str, str]:
    if not query:
        pairs: list[tuple[str, str]] = []
    else:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError as exc:
            raise FilterSyntaxError(f"malformed query string ({exc})") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise FilterSyntaxError(f"unknown query parameter {name!r}")
        if name in params:
            raise FilterSyntaxError(f"query parameter {name!r} given twice")
        choices = allowed[name]
        if choices is None:
            if not re.fullmatch(r"[0-9]{1,10}", value):
                raise FilterSyntaxError(f"{name} must be a whole number of seconds, got {value!r}")
        elif value not in choices:
            raise FilterSyntaxError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        params[name] = value
    for name in REQUIRED_PARAMS.get(family, ()):
        if name not in params:
            raise FilterSyntaxError(f"query parameter {name!r} is required")
    return params


def invalid_filters(filters: Sequence[str], detail: str = "") -> PlatformError:
    """400 SUB-508 ``Invalid event filters: [...]`` with ``parameterName: eventFilters``."""
    message = f"Invalid event filters: [{', '.join(filters)}]"
    if detail:
        message += f": {detail}"
    return PlatformError(400, "SUB-508", message, "eventFilters")


def parse_filters(raw_filters: Sequence[str], owner: Owner) -> list[EventFilter]:
    """Parse and permission-check every filter; raises :class:`PlatformError` (SUB-508, SUB-405/406/408)."""
    parsed: list[EventFilter] = []
    bad: list[tuple[str, str]] = []
    for raw in raw_filters:
        try:
            parsed.append(parse_filter(raw, owner))
        except FilterSyntaxError as exc:
            bad.append((raw, str(exc)))
    if bad:
        raise invalid_filters([raw for raw, _ in bad], "; ".join(f"{raw} ({why})" for raw, why in bad))
    for item in parsed:
        if item.account_id is not None and item.account_id != owner.account_id:
            raise PlatformError(403, "SUB-406", "Not allowed subscribe for events to extensions of other account")
        if item.extension_id is not None and item.extension_id != owner.extension_id:
            if item.family in MESSAGE_FAMILIES:
                raise PlatformError(403, "SUB-405", "Not allowed subscribe for messages to other extensions")
            raise PlatformError(403, "SUB-408", "Not allowed subscribe for unknown user")
    return parsed


def check_reminder_rules(filters: Sequence[EventFilter], ttl: int, job_interval: float) -> None:
    """Check every reminder filter against the lifetime and the reminder job interval (400 SUB-508)."""
    for item in filters:
        if not item.is_reminder:
            continue
        threshold, interval = item.threshold, item.interval
        assert threshold is not None and interval is not None
        rule = None
        if threshold < job_interval:
            rule = f"threshold ({threshold}) cannot be less than the reminder job interval ({job_interval:g} s)"
        elif interval < job_interval:
            rule = f"interval ({interval}) cannot be less than the reminder job interval ({job_interval:g} s)"
        elif threshold > ttl / 2:
            rule = f"threshold ({threshold}) cannot be greater than half of the subscription TTL ({ttl} s)"
        elif interval > threshold / 2:
            rule = f"interval ({interval}) cannot be greater than half of the threshold ({threshold} s)"
        if rule:
            raise invalid_filters([item.raw], rule)
