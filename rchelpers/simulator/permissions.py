"""App permissions: the demo app's permission set, the webhook permission, and disabled filters.

A RingCentral app holds a fixed set of permissions. Creating a WebHook subscription needs
``SubscriptionWebhook`` (403 CMN-401 with ``permissionName`` without it); each event filter needs the
permission its docs page names (:attr:`FilterSpec.permissions`). A filter whose permission the app
lacks does not fail the request: it is moved from ``eventFilters`` to ``disabledFilters``
(``{filter, reason, message}``, the spec's ``DisabledFilterInfo``) and never fires.

The ``reason`` value and the ``message`` wording of a disabled filter are guessed: no public response
shows them. The reason reuses the platform's own symbolic code for a missing permission
(``InsufficientPermissions``, seen at the top level of real CMN-401 bodies) and the message reuses the
CMN-401 sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from rchelpers.simulator.errors import PermissionDeniedError, SimulatorError
from rchelpers.simulator.event_filter_catalog import ParsedFilter

#: The permission a WebHook subscription needs.
WEBHOOK_PERMISSION = "SubscriptionWebhook"
#: What the demo app holds unless told otherwise: what a webhook app following the tutorial needs
#: (SMS and message store, presence, account and extension events, telephony sessions, team messaging).
DEFAULT_APP_PERMISSIONS = ("CallControl", "ReadAccounts", "ReadMessages", "ReadPresence", "SMS",
                           "SubscriptionWebhook", "TeamMessaging")
#: ``DisabledFilterInfo.reason`` for a filter whose permission the app lacks (guessed).
DISABLED_REASON = "InsufficientPermissions"
_PERMISSION_NAME = re.compile(r"[A-Z][A-Za-z0-9]{1,63}")


class PermissionSetError(SimulatorError, ValueError):
    """A permission set that is not a list of permission names."""


def check_permissions(permissions: Iterable[str]) -> tuple[str, ...]:
    """The permission names, sorted and without repeats; PermissionSetError names a malformed one."""
    if isinstance(permissions, str):
        raise PermissionSetError("permissions must be a list of names such as ['ReadMessages', 'SubscriptionWebhook'], "
                                 f"got the string {permissions!r}")
    names = []
    for name in permissions:
        if not isinstance(name, str) or not _PERMISSION_NAME.fullmatch(name):
            raise PermissionSetError(f"{name!r} is not a permission name (such as ReadMessages or CallControl)")
        names.append(name)
    return tuple(sorted(set(names)))


def scope_string(permissions: Iterable[str]) -> str:
    """The token response's ``scope``: the permissions, sorted, separated by spaces."""
    return " ".join(check_permissions(permissions))


def permission_message(permission: str) -> str:
    """The CMN-401 sentence for a missing app permission (as real bodies word it)."""
    return f"In order to call this API endpoint, application needs to have [{permission}] permission"


@dataclass(frozen=True)
class PermissionDenied:
    """A 403 CMN-401 answer for a missing app permission."""

    permission: str
    status: int = 403
    code: str = "CMN-401"

    @property
    def message(self) -> str:
        """The error message naming the permission."""
        return permission_message(self.permission)

    def error(self) -> PermissionDeniedError:
        """The platform error to raise for it."""
        return PermissionDeniedError(self.permission, self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body: top-level ``errorCode``/``message``/``permissionName`` mirroring ``errors[0]``."""
        return self.error().body()


def webhook_denied(granted: Iterable[str]) -> PermissionDenied | None:
    """The 403 for a WebHook subscription create when the app lacks ``SubscriptionWebhook``, else None."""
    return None if WEBHOOK_PERMISSION in set(granted) else PermissionDenied(WEBHOOK_PERMISSION)


def missing_permission(parsed: ParsedFilter, granted: Iterable[str]) -> str | None:
    """The permission ``parsed`` needs and the app lacks (the first the spec names), or None."""
    needed = parsed.spec.permissions
    held = set(granted)
    if not needed or any(name in held for name in needed):
        return None
    return needed[0]


def disabled_filter_info(parsed: ParsedFilter, permission: str) -> dict[str, str]:
    """One ``DisabledFilterInfo`` for ``parsed`` lacking ``permission``."""
    return {"filter": parsed.expanded, "reason": DISABLED_REASON, "message": permission_message(permission)}


def split_by_permission(parsed_filters: Sequence[ParsedFilter],
                        granted: Iterable[str]) -> tuple[list[ParsedFilter], list[dict[str, str]]]:
    """The filters the app may subscribe to, and a ``DisabledFilterInfo`` for each of the others, in order."""
    held = set(granted)
    enabled: list[ParsedFilter] = []
    disabled: list[dict[str, str]] = []
    for parsed in parsed_filters:
        lacking = missing_permission(parsed, held)
        if lacking is None:
            enabled.append(parsed)
        else:
            disabled.append(disabled_filter_info(parsed, lacking))
    return enabled, disabled
