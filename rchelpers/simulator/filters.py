"""Event filters in a subscribe request: the one place filter lists are parsed and checked.

Each filter is parsed by :func:`rchelpers.simulator.event_filter_catalog.parse` (every documented
filter, its query parameters, ``~`` expansion); :func:`parse_filters` turns a whole list into
:class:`~rchelpers.simulator.event_filter_catalog.ParsedFilter` objects or the platform's error:
400 SUB-508 naming every bad filter, 403 SUB-405/406/408/518/527/530/531 for a filter naming someone
else. :func:`refuse_only_reminders` (400 SUB-515) and :func:`check_reminder_rules` (400 SUB-508) check
what a WebHook create or update may hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rchelpers.simulator.errors import PlatformError
from rchelpers.simulator.event_filter_catalog import (
    InvalidFilter,
    ParsedFilter,
    invalid_filters_message,
    ownership_error,
    parse,
)


@dataclass(frozen=True)
class Owner:
    """The user a subscription belongs to: account and extension ids (numeric strings)."""

    account_id: str
    extension_id: str


def invalid_filters(bad: Sequence[tuple[str, str]]) -> PlatformError:
    """400 SUB-508 ``Invalid event filters: [...]`` for ``(filter, reason)`` pairs, ``parameterName: eventFilters``."""
    return PlatformError(400, "SUB-508", invalid_filters_message(bad), "eventFilters")


def parse_filters(raw_filters: Sequence[str], owner: Owner) -> list[ParsedFilter]:
    """Parse every filter for ``owner``; raises :class:`PlatformError` (400 SUB-508, or a 403 for a filter that
    names another account or extension)."""
    parsed: list[ParsedFilter] = []
    bad: list[tuple[str, str]] = []
    for raw in raw_filters:
        try:
            parsed.append(parse(raw, owner.account_id, owner.extension_id))
        except InvalidFilter as exc:
            bad.append((exc.filter, exc.reason))
    if bad:
        raise invalid_filters(bad)
    for item in parsed:
        refused = ownership_error(item, owner.account_id, owner.extension_id)
        if refused is not None:
            raise PlatformError(*refused)
    return parsed


def refuse_only_reminders(filters: Sequence[ParsedFilter]) -> None:
    """400 SUB-515 when every filter is a renewal reminder filter (a WebHook needs at least one event)."""
    if filters and all(item.is_reminder for item in filters):
        raise PlatformError(400, "SUB-515", "Subscription containing only reminder filter is not allowed")


def check_reminder_rules(filters: Sequence[ParsedFilter], ttl: int, job_interval: float) -> None:
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
            raise PlatformError(400, "SUB-508", f"Invalid event filters: [{item.raw}]: {rule}", "eventFilters")
