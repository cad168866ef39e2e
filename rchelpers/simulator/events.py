"""Sample events, like ``stripe trigger``: realistic notification bodies for the demo user, routed by filter.

:class:`EventFactory` builds a :class:`SampleEvent` of one of :data:`KINDS` (presence, message store,
instant SMS, extension info, extension list) with ids, numbers and times taken from the simulator's
seeded random generator and clock, so the same seed gives the same bytes. The bodies follow the
platform's documented examples (developer guide, "Event types") and its event schemas; any body field can be
overridden by the caller, and an unknown kind or field, or a value of the wrong type, is refused with
a :class:`TriggerError` that says what is accepted.

:meth:`SampleEvent.body_for` decides whether one parsed event filter receives the event and with
which body: the filter's family and ids must be the event's (``~`` was expanded to the subscriber's
ids when the filter was parsed), ``?type=``/``?direction=`` must match a message's, and
``?detailedTelephonyState=true`` adds the active calls to a presence body.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from rchelpers.simulator.clock import iso
from rchelpers.simulator.errors import TriggerError
from rchelpers.simulator.filters import EventFilter

#: The kinds of sample event :meth:`EventFactory.build` knows.
KINDS = ("presence", "message_store", "instant_sms", "extension_info", "extension_list")

TELEPHONY_STATUSES = ("NoCall", "CallConnected", "Ringing", "OnHold", "ParkedCall")
PRESENCE_STATUSES = ("Offline", "Busy", "Available")
DND_STATUSES = ("TakeAllCalls", "DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly", "DoNotAcceptAnyCalls", "Unknown")
MESSAGE_TYPES = ("Fax", "SMS", "VoiceMail", "Pager")
DIRECTIONS = ("Inbound", "Outbound")
EXTENSION_HINTS = ("AccountSettings", "AccountStatus", "AnsweringRules", "CompanyNumbers", "DialingPlan",
                   "ExtensionInfo", "Features", "Limits", "Permissions", "ProfileImage", "VideoConfiguration")


@dataclass(frozen=True)
class _Field:
    types: tuple[type, ...]
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return " or ".join({str: "a string", int: "an integer", bool: "true/false", list: "a list",
                            dict: "an object"}[t] for t in self.types)


_STR = _Field((str,))
_INT = _Field((int,))
_BOOL = _Field((bool,))
_LIST = _Field((list,))
_OBJ = _Field((dict,))

_FIELDS: dict[str, dict[str, _Field]] = {
    "presence": {
        "extensionId": _STR, "telephonyStatus": _Field((str,), TELEPHONY_STATUSES), "sequence": _INT,
        "presenceStatus": _Field((str,), PRESENCE_STATUSES), "userStatus": _Field((str,), PRESENCE_STATUSES),
        "meetingStatus": _Field((str,), ("Connected", "Disconnected")), "dndStatus": _Field((str,), DND_STATUSES),
        "dndStatusPersonal": _Field((str,), ("TakeAllCalls", "DoNotAcceptAnyCalls", "Unknown")),
        "allowSeeMyPresence": _BOOL, "ringOnMonitoredCall": _BOOL, "pickUpCallsOnHold": _BOOL,
        "acceptCallQueueCalls": _BOOL, "aggregatedTelephonyStatus": _Field((str,), TELEPHONY_STATUSES),
        "cxTelephonyStatus": _Field((str,), ("NoCall", "CallConnected")),
        "activeCalls": _LIST, "totalActiveCalls": _INT,
    },
    "message_store": {
        "type": _Field((str,), MESSAGE_TYPES), "direction": _Field((str,), DIRECTIONS),
        "accountId": _Field((str, int)), "extensionId": _Field((str, int)), "lastUpdated": _STR, "changes": _LIST,
    },
    "instant_sms": {
        "id": _STR, "to": _LIST, "from": _OBJ, "type": _STR, "creationTime": _STR, "lastModifiedTime": _STR,
        "readStatus": _Field((str,), ("Read", "Unread")), "priority": _Field((str,), ("Normal", "High")),
        "attachments": _LIST, "direction": _Field((str,), DIRECTIONS),
        "availability": _Field((str,), ("Alive", "Deleted", "Purged")), "subject": _STR,
        "messageStatus": _Field((str,), ("Queued", "Sent", "Delivered", "DeliveryFailed", "SendingFailed", "Received")),
        "conversationId": _STR, "conversation": _OBJ,
    },
    "extension_info": {
        "extensionId": _STR, "eventType": _Field((str,), ("Update", "Delete")), "hints": _LIST,
    },
    "extension_list": {
        "extensions": _LIST,
    },
}

#: Fields of ``message_store`` that describe the message (matched against ``?type=``/``?direction=``)
#: rather than being body fields.
_MESSAGE_ATTRIBUTES = ("type", "direction")


def normalize_kind(kind: str) -> str:
    """``"message-store"`` and ``"Message_Store"`` both mean ``"message_store"``; unknown kinds raise TriggerError."""
    if not isinstance(kind, str):
        raise TriggerError(f"kind must be a string, one of: {', '.join(KINDS)}")
    key = kind.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in KINDS:
        raise TriggerError(f"unknown event kind {kind!r}; kinds: {', '.join(KINDS)}")
    return key


def fields_of(kind: str) -> list[str]:
    """The field names a caller may set for ``kind``."""
    return list(_FIELDS[normalize_kind(kind)])


def _check_fields(kind: str, fields: dict[str, Any]) -> None:
    allowed = _FIELDS[kind]
    for name, value in fields.items():
        spec = allowed.get(name)
        if spec is None:
            raise TriggerError(f"unknown field {name!r} for a {kind} event; fields: {', '.join(allowed)}")
        ok = isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types)
        if ok and spec.choices:
            ok = value in spec.choices
        if not ok:
            raise TriggerError(f"field {name!r} of a {kind} event must be {spec.describe()}, got {value!r}")
        if name == "hints" and not all(hint in EXTENSION_HINTS for hint in value):
            raise TriggerError(f"field 'hints' of a {kind} event must list some of {', '.join(EXTENSION_HINTS)}, "
                               f"got {value!r}")


#: The filter family (see :mod:`rchelpers.simulator.filters`) that receives each kind.
FAMILIES = {
    "presence": "presence",
    "message_store": "message-store",
    "instant_sms": "instant-message",
    "extension_info": "extension-info",
    "extension_list": "extension-list",
}


@dataclass
class SampleEvent:
    """One sample event: its kind, resource path, body, and the parts that filters are matched against.

    ``detail`` holds the body fields only a ``detailedTelephonyState=true`` presence filter receives;
    ``attributes`` holds what ``?type=``/``?direction=`` select on (a message's type and direction).
    """

    kind: str
    path: str
    account_id: str
    extension_id: str | None
    body: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        """The filter family this event belongs to (``presence``, ``message-store``, ...)."""
        return FAMILIES[self.kind]

    def body_for(self, event_filter: EventFilter) -> dict[str, Any] | None:
        """The body that a subscription's ``event_filter`` receives for this event, or None if it does not match."""
        if not event_filter.matches(self.family, self.account_id, self.extension_id, self.attributes):
            return None
        body = copy.deepcopy(self.body)
        if self.kind == "presence" and event_filter.params.get("detailedTelephonyState") == "true":
            return self._detailed(body)
        return body

    def _detailed(self, body: dict[str, Any]) -> dict[str, Any]:
        ordered: dict[str, Any] = {}
        for key, value in body.items():
            ordered[key] = value
            if key == "telephonyStatus":
                ordered["activeCalls"] = copy.deepcopy(self.detail["activeCalls"])
        ordered.setdefault("activeCalls", copy.deepcopy(self.detail["activeCalls"]))
        ordered["totalActiveCalls"] = self.detail["totalActiveCalls"]
        return ordered


class EventFactory:
    """Builds sample events for one demo user from a seeded random generator and a clock.

    ``rng`` must be the simulator's seeded :class:`random.Random` and ``now`` a function returning the
    simulated epoch time; call :meth:`build` on the caller's thread so the draws happen in a fixed order.
    """

    def __init__(
        self,
        rng: random.Random,
        now: Callable[[], float],
        account_id: str,
        extension_id: str,
        *,
        phone_number: str = "+16505550100",
        user_name: str = "Demo User",
    ) -> None:
        self.rng = rng
        self.now = now
        self.account_id = str(account_id)
        self.extension_id = str(extension_id)
        self.phone_number = phone_number
        self.user_name = user_name
        self._sequence = 0
        self._builders: dict[str, Callable[[dict[str, Any]], SampleEvent]] = {
            "presence": self._presence,
            "message_store": self._message_store,
            "instant_sms": self._instant_sms,
            "extension_info": self._extension_info,
            "extension_list": self._extension_list,
        }

    def build(self, kind: str, fields: dict[str, Any] | None = None) -> SampleEvent:
        """A :class:`SampleEvent` of ``kind`` with ``fields`` overriding the generated body fields."""
        kind = normalize_kind(kind)
        fields = dict(fields or {})
        _check_fields(kind, fields)
        return self._builders[kind](fields)

    # --- the kinds ----------------------------------------------------------------------------------
    def _presence(self, fields: dict[str, Any]) -> SampleEvent:
        self._sequence += 1
        extension_id = str(fields.get("extensionId", self.extension_id))
        status = fields.get("telephonyStatus", "Ringing")
        body = {
            "extensionId": extension_id,
            "telephonyStatus": status,
            "sequence": self._sequence,
            "presenceStatus": "Available" if status == "NoCall" else "Busy",
            "userStatus": "Available",
            "meetingStatus": "Disconnected",
            "dndStatus": "TakeAllCalls",
            "allowSeeMyPresence": True,
            "ringOnMonitoredCall": False,
            "pickUpCallsOnHold": False,
        }
        active_calls = fields.pop("activeCalls", None)
        total = fields.pop("totalActiveCalls", None)
        if active_calls is None:
            active_calls = [] if status == "NoCall" else [self._active_call(status)]
        body.update(fields)
        detail = {"activeCalls": active_calls, "totalActiveCalls": len(active_calls) if total is None else total}
        return SampleEvent("presence", f"/restapi/v1.0/account/{self.account_id}/extension/{extension_id}/presence",
                           self.account_id, extension_id, body, detail=detail)

    def _active_call(self, status: str) -> dict[str, Any]:
        session = str(self.rng.randrange(10**10, 10**11))
        return {
            "id": f"{self.rng.getrandbits(128):032x}",
            "direction": "Inbound",
            "from": self._random_phone(),
            "to": self.phone_number,
            "telephonyStatus": status,
            "startTime": iso(self.now()),
            "sessionId": session,
            "partyId": f"cs{self.rng.randrange(10**17, 10**18)}-2",
            "telephonySessionId": f"s-{self.rng.getrandbits(96):024x}",
        }

    def _message_store(self, fields: dict[str, Any]) -> SampleEvent:
        message_type = fields.pop("type", "SMS")
        direction = fields.pop("direction", "Inbound")
        body = {
            "accountId": _number(self.account_id),
            "extensionId": _number(self.extension_id),
            "lastUpdated": iso(self.now()),
            "changes": [{"type": message_type, "newCount": 1, "updatedCount": 0,
                         "newMessageIds": [self._message_id()]}],
        }
        body.update(fields)
        path = f"/restapi/v1.0/account/{self.account_id}/extension/{self.extension_id}/message-store"
        return SampleEvent("message_store", path, self.account_id, self.extension_id, body,
                           attributes={"type": message_type, "direction": direction})

    def _instant_sms(self, fields: dict[str, Any]) -> SampleEvent:
        message_id = str(self._message_id())
        now = iso(self.now())
        body = {
            "id": message_id,
            "to": [{"phoneNumber": self.phone_number, "name": self.user_name}],
            "from": {"phoneNumber": self._random_phone(), "location": "San Mateo, CA"},
            "type": "SMS",
            "creationTime": now,
            "lastModifiedTime": now,
            "readStatus": "Unread",
            "priority": "Normal",
            "attachments": [{
                "id": message_id,
                "uri": f"/restapi/v1.0/account/{self.account_id}/extension/{self.extension_id}"
                       f"/message-store/{message_id}/content/{message_id}",
                "type": "Text",
                "contentType": "text/plain",
            }],
            "direction": "Inbound",
            "availability": "Alive",
            "subject": "Hello from the RingCentral simulator",
            "messageStatus": "Received",
            "conversationId": str(self.rng.randrange(10**18, 10**19)),
        }
        body.update(fields)
        path = f"/restapi/v1.0/account/{self.account_id}/extension/{self.extension_id}/message-store/instant"
        return SampleEvent("instant_sms", path, self.account_id, self.extension_id, body,
                           attributes={"type": str(body["type"]), "direction": str(body["direction"])})

    def _extension_info(self, fields: dict[str, Any]) -> SampleEvent:
        extension_id = str(fields.get("extensionId", self.extension_id))
        event_type = fields.get("eventType", "Update")
        body: dict[str, Any] = {"extensionId": extension_id, "eventType": event_type}
        if event_type == "Update":
            body["hints"] = ["ExtensionInfo"]
        body.update(fields)
        path = f"/restapi/v1.0/account/{self.account_id}/extension/{extension_id}"
        return SampleEvent("extension_info", path, self.account_id, extension_id, body)

    def _extension_list(self, fields: dict[str, Any]) -> SampleEvent:
        body = {"extensions": [{"extensionId": str(self.rng.randrange(10**9, 10**10)), "eventType": "Create"}]}
        body.update(fields)
        return SampleEvent("extension_list", f"/restapi/v1.0/account/{self.account_id}/extension", self.account_id,
                           None, body)

    # --- ids ----------------------------------------------------------------------------------------
    def _message_id(self) -> int:
        return self.rng.randrange(10**10, 10**11)

    def _random_phone(self) -> str:
        return f"+1650555{self.rng.randrange(0, 10**4):04d}"


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value
