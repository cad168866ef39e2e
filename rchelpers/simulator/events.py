"""Sample events, like ``stripe trigger``: realistic notification bodies for the demo user, routed by filter.

:class:`EventFactory` builds a :class:`SampleEvent` of one of :data:`KINDS` with ids, numbers and times
taken from the simulator's seeded random generator and clock, so the same seed gives the same bytes.
Presence, message store, instant SMS, extension info and extension list are built here (their bodies follow
the platform's documented examples; any body field can be overridden by the caller); telephony session,
missed call, voicemail, fax, DND and presence line come from :func:`rchelpers.simulator.telephony.sample_event`
(their ``fields`` are that function's options, e.g. ``status_code``). An unknown kind or field, or a value
of the wrong type, is refused with a :class:`TriggerError` that says what is accepted.

:meth:`SampleEvent.body_for` decides whether one parsed event filter receives the event and with which
body, by :func:`rchelpers.simulator.event_filter_catalog.body_for` (the filter's spec and ids, its query
parameters; ``detailedTelephonyState=true`` keeps a presence body's active calls).
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from rchelpers.simulator.clock import iso
from rchelpers.simulator.telephony import (
    SAMPLE_KINDS,
    RandomIds,
    ScenarioError,
    Subscriber,
    message_uri,
    sample_event,
    sample_options,
)
from rchelpers.simulator.errors import TriggerError
from rchelpers.simulator.event_filter_catalog import ParsedFilter, body_for
from rchelpers.simulator.presence import presence_body

#: The kinds built here (their fields are body fields).
BODY_KINDS = ("presence", "message_store", "instant_sms", "extension_info", "extension_list")
#: The kinds of sample event :meth:`EventFactory.build` knows.
KINDS = BODY_KINDS + SAMPLE_KINDS

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
    """The field names a caller may set for ``kind`` (body fields, or a telephony kind's options)."""
    kind = normalize_kind(kind)
    return list(_FIELDS[kind]) if kind in _FIELDS else list(sample_options(kind))


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


@dataclass
class SampleEvent:
    """One sample event: its kind, resource path and body, and what filters are matched against.

    ``detail`` holds the body fields only a ``detailedTelephonyState=true`` presence filter receives;
    ``attributes`` holds what the body does not show but filters select on (a message's direction).
    """

    kind: str
    path: str
    body: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def body_for(self, event_filter: ParsedFilter) -> dict[str, Any] | None:
        """The body that a subscription's ``event_filter`` receives for this event, or None if it does not match."""
        return body_for(event_filter, self.path, self.full_body(), self.attributes)

    def full_body(self) -> dict[str, Any]:
        """The body in its fullest form (a presence body with its active calls after ``telephonyStatus``)."""
        if not self.detail:
            return self.body
        ordered: dict[str, Any] = {}
        for key, value in self.body.items():
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
    ``base_url`` returns the simulator's URL, on which attachment links are absolute as the platform's
    are (without it they are relative); it is called each time an event or scenario is built.
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
        base_url: Callable[[], str] | None = None,
    ) -> None:
        self.rng = rng
        self.now = now
        self.account_id = str(account_id)
        self.extension_id = str(extension_id)
        self.phone_number = phone_number
        self.user_name = user_name
        self._sequence = 0  # the presence sequence (presence, presence line, a scenario's presence changes)
        self._telephony_sequence = 0
        self.base_url = base_url
        self._user = Subscriber(self.account_id, self.extension_id, phone_number, user_name)
        self._builders: dict[str, Callable[[dict[str, Any]], SampleEvent]] = {
            "presence": self._presence,
            "message_store": self._message_store,
            "instant_sms": self._instant_sms,
            "extension_info": self._extension_info,
            "extension_list": self._extension_list,
        }

    def reset(self) -> None:
        """Number the presence and telephony ``sequence`` from 1 again, as a new factory does (the caller
        re-seeds the generator it passed in)."""
        self._sequence = 0
        self._telephony_sequence = 0

    def build(self, kind: str, fields: dict[str, Any] | None = None) -> SampleEvent:
        """A :class:`SampleEvent` of ``kind`` with ``fields`` overriding the generated body fields."""
        kind = normalize_kind(kind)
        fields = dict(fields or {})
        if kind in SAMPLE_KINDS:
            return self._telephony(kind, fields)
        _check_fields(kind, fields)
        return self._builders[kind](fields)

    @property
    def subscriber(self) -> Subscriber:
        """The demo user the events are about, with ``base_url()`` as the base of attachment links."""
        return replace(self._user, base_url=self.base_url()) if self.base_url is not None else self._user

    @property
    def next_presence_sequence(self) -> int:
        """The ``sequence`` the next presence event will carry."""
        return self._sequence + 1

    def reserve_presence_sequences(self, count: int) -> int:
        """The first of ``count`` presence ``sequence`` numbers reserved for a scenario's presence changes."""
        first = self._sequence + 1
        self._sequence += count
        return first

    def _telephony(self, kind: str, fields: dict[str, Any]) -> SampleEvent:
        if kind in ("telephony_session", "missed_call"):
            self._telephony_sequence += 1
            sequence = self._telephony_sequence
        elif kind == "presence_line":
            sequence = self.reserve_presence_sequences(1)
        else:
            sequence = 1
        try:
            step = sample_event(kind, RandomIds(self.rng), self.now(), self.subscriber, fields, sequence)
        except ScenarioError as exc:
            raise TriggerError(str(exc)) from None
        return SampleEvent(kind, step.event_path, step.body, attributes=dict(step.attributes))

    # --- the kinds ----------------------------------------------------------------------------------
    def _presence(self, fields: dict[str, Any]) -> SampleEvent:
        self._sequence += 1
        extension_id = str(fields.get("extensionId", self.extension_id))
        status = fields.get("telephonyStatus", "Ringing")
        body = presence_body(extension_id, self._sequence, status)
        active_calls = fields.pop("activeCalls", None)
        total = fields.pop("totalActiveCalls", None)
        if active_calls is None:
            active_calls = [] if status == "NoCall" else [self._active_call(status)]
        body.update(fields)
        detail = {"activeCalls": active_calls, "totalActiveCalls": len(active_calls) if total is None else total}
        return SampleEvent("presence", f"/restapi/v1.0/account/{self.account_id}/extension/{extension_id}/presence",
                           body, detail=detail)

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
        return SampleEvent("message_store", path, body, attributes={"type": message_type, "direction": direction})

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
                "uri": message_uri(self.subscriber, message_id),
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
        return SampleEvent("instant_sms", path, body,
                           attributes={"type": str(body["type"]), "direction": str(body["direction"])})

    def _extension_info(self, fields: dict[str, Any]) -> SampleEvent:
        extension_id = str(fields.get("extensionId", self.extension_id))
        event_type = fields.get("eventType", "Update")
        body: dict[str, Any] = {"extensionId": extension_id, "eventType": event_type}
        if event_type == "Update":
            body["hints"] = ["ExtensionInfo"]
        body.update(fields)
        path = f"/restapi/v1.0/account/{self.account_id}/extension/{extension_id}"
        return SampleEvent("extension_info", path, body)

    def _extension_list(self, fields: dict[str, Any]) -> SampleEvent:
        body = {"extensions": [{"extensionId": str(self.rng.randrange(10**9, 10**10)), "eventType": "Create"}]}
        body.update(fields)
        return SampleEvent("extension_list", f"/restapi/v1.0/account/{self.account_id}/extension", body)

    # --- ids ----------------------------------------------------------------------------------------
    def _message_id(self) -> int:
        return self.rng.randrange(10**10, 10**11)

    def _random_phone(self) -> str:
        return f"+1650555{self.rng.randrange(0, 10**4):04d}"


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value
