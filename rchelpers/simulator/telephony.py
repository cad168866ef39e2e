"""Telephony sample events and whole calls: bodies for telephony sessions, presence, voicemail, fax, DND.

The bodies follow the field lists and examples of RingCentral's event-filter pages
(``ringcentral/ringcentral-api-docs`` ``docs/notifications/event-filters/``:
``extension-telephony-sessions.md``, ``extension-presence.md``, ``voicemail-message.md``,
``fax-message.md``, ``extension-dnd-status.md``, ``extension-presence-line.md``). Each body is
built in its fullest form (telephony parties carry ``sipData``, presence carries ``activeCalls``);
:func:`rchelpers.simulator.event_filter_catalog.body_for` trims it to what each filter receives.

:func:`sample_event` builds one event; the scenarios in :data:`SCENARIOS` (``inbound_call``,
``missed_call``, ``outbound_call``) build a whole call as a list of :class:`Step` (when, relative to
the call's start, which resource, which body): one ``telephonySessionId`` and increasing ``sequence``
numbers across the call, the matching presence changes and, for a missed call, the voicemail and
its message-store change. Options change numbers, names and
durations on the simulated clock; a bad option raises :class:`ScenarioError` naming it.

Pure functions: ids come from the ``ids`` source passed in (the simulator's seeded ``IdSource``)
and times from the ``start`` passed in; nothing is sent or scheduled here.
"""
from __future__ import annotations

import random
import re
import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple, Protocol

from rchelpers.simulator.clock import iso
from rchelpers.simulator.errors import SimulatorError
from rchelpers.simulator.presence import presence_body

API_PREFIX = "/restapi/v1.0"
#: The longest duration option accepted (one day), so that a typo cannot schedule a call for years.
MAX_SECONDS = 86400
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
DND_STATUSES = ("TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls")
#: The status codes a ``telephony_session`` sample event may carry.
SAMPLE_STATUS_CODES = ("Setup", "Proceeding", "Answered", "Disconnected", "Hold", "VoiceMail")


class Ids(Protocol):
    """The id source the builders draw from (the simulator's ``IdSource`` fits)."""

    def digits(self, n: int) -> str:
        """``n`` decimal digits, not starting with 0."""
        ...

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        ...


class RandomIds:
    """An :class:`Ids` source over a ``random.Random`` (for callers that hold a seeded generator)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def digits(self, n: int) -> str:
        """``n`` decimal digits, not starting with 0."""
        return str(self.rng.randrange(10 ** (n - 1), 10 ** n))

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        return self.rng.randbytes(n)


class ScenarioError(SimulatorError, ValueError):
    """A scenario or sample event could not be built: unknown name or option, or a bad option value.

    ``parameter`` names what was wrong (the option, or ``name`` for an unknown scenario or kind).
    """

    def __init__(self, message: str, parameter: str = "name") -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Subscriber:
    """The demo user the events are about: ids, direct number, name; ``base_url`` (the platform's URL, e.g.
    ``http://127.0.0.1:54321``) prefixes attachment links, which are relative without it."""

    account_id: str
    extension_id: str
    phone_number: str = "+16505550100"
    name: str = "Demo User"
    base_url: str = ""

    def path(self, resource: str) -> str:
        """The resource path of this user's ``resource`` (``telephony/sessions``, ``presence``, ...)."""
        return f"{API_PREFIX}/account/{self.account_id}/extension/{self.extension_id}/{resource}"


class Step(NamedTuple):
    """One event of a scenario: ``offset`` seconds after the start, its resource path and body.

    ``attributes`` carries what filters select on but the body does not show (a message-store
    change's ``direction``), for :func:`rchelpers.simulator.event_filter_catalog.matches`.
    """

    offset: float
    event_path: str
    body: dict[str, Any]
    attributes: Mapping[str, str] = types.MappingProxyType({})


# --- option checking --------------------------------------------------------------------------------
def _number_option(name: str, value: object) -> str:
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ScenarioError(f"option {name!r} must be a phone number in E.164 format such as +16505550123, "
                            f"got {value!r}", name)
    return value


def _name_option(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ScenarioError(f"option {name!r} must be a non-empty name of at most 64 characters, got {value!r}", name)
    return value


def _seconds_option(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
        raise ScenarioError(f"option {name!r} must be a number of seconds from 0 to {MAX_SECONDS}, got {value!r}", name)
    return float(value)


def _count_option(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ScenarioError(f"option {name!r} must be a whole number from 1 to 1000, got {value!r}", name)
    return value


def _bool_option(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"option {name!r} must be true or false, got {value!r}", name)
    return value


def _choice_option(choices: tuple[str, ...]) -> Callable[[str, object], str]:
    def check(name: str, value: object) -> str:
        if value not in choices:
            raise ScenarioError(f"option {name!r} must be one of {', '.join(choices)}, got {value!r}", name)
        return str(value)
    return check


_CHECKS: dict[str, Callable[[str, object], Any]] = {
    "caller_number": _number_option, "caller_name": _name_option,
    "callee_number": _number_option, "callee_name": _name_option,
    "ring_seconds": _seconds_option, "duration_seconds": _seconds_option, "voicemail_seconds": _seconds_option,
    "recording": _bool_option, "status_code": _choice_option(SAMPLE_STATUS_CODES),
    "direction": _choice_option(("Inbound", "Outbound")), "missed_call": _bool_option,
    "dnd_status": _choice_option(DND_STATUSES), "pages": _count_option,
}


def check_options(what: str, allowed: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``allowed`` (option -> default) updated with ``options`` after checking each; ScenarioError names a bad one."""
    if not isinstance(options, Mapping):
        raise ScenarioError(f"options of {what} must be an object of option names to values", "options")
    checked = dict(allowed)
    for name, value in options.items():
        if name not in allowed:
            raise ScenarioError(f"unknown option {name!r} for {what}; options: {', '.join(allowed)}", name)
        checked[name] = _CHECKS[name](name, value)
    return checked


# --- one call's ids and bodies ----------------------------------------------------------------------
@dataclass(frozen=True)
class _End:
    phone_number: str
    name: str
    extension_id: str | None = None

    def body(self) -> dict[str, Any]:
        end: dict[str, Any] = {"phoneNumber": self.phone_number, "name": self.name}
        if self.extension_id is not None:
            end["extensionId"] = self.extension_id
        return end


@dataclass(frozen=True)
class Call:
    """The correlated ids of one call, and who calls whom from the demo user's side (``direction``)."""

    session_id: str
    telephony_session_id: str
    server_id: str
    party_id: str
    sip_call_id: str
    direction: str
    caller: _End
    callee: _End
    recording_id: str | None = None

    @classmethod
    def new(cls, ids: Ids, subscriber: Subscriber, direction: str, other_number: str, other_name: str,
            own_number: str | None = None, own_name: str | None = None, recording: bool = False) -> "Call":
        """A new call of ``subscriber`` with the outside party ``other_number``/``other_name``."""
        own = _End(own_number or subscriber.phone_number, own_name or subscriber.name, subscriber.extension_id)
        other = _End(other_number, other_name)
        caller, callee = (other, own) if direction == "Inbound" else (own, other)
        server = ".".join(str(b) for b in ids.bytes(3))
        return cls(
            session_id=ids.digits(12),
            telephony_session_id="s-" + ids.bytes(12).hex(),
            server_id=f"10.{server}.TAM",
            party_id=f"p-{ids.bytes(12).hex()}-1",
            sip_call_id=ids.bytes(8).hex(),
            direction=direction,
            caller=caller,
            callee=callee,
            recording_id=ids.digits(11) if recording else None,
        )


def telephony_body(call: Call, subscriber: Subscriber, sequence: int, at: float, code: str,
                   missed: bool = False) -> dict[str, Any]:
    """A telephony-session event body: the demo user's party in status ``code`` (with ``sipData``)."""
    party: dict[str, Any] = {
        "accountId": subscriber.account_id,
        "extensionId": subscriber.extension_id,
        "id": call.party_id,
        "direction": call.direction,
        "to": call.callee.body(),
        "from": call.caller.body(),
        "status": {"code": code},
        "missedCall": missed,
        "standAlone": False,
        "muted": False,
        "sipData": {"callId": call.sip_call_id, "toTag": call.party_id[-6:], "fromTag": call.session_id[-6:]},
    }
    if call.recording_id is not None and code in ("Answered", "Hold", "Disconnected"):
        party["recordings"] = [{"id": call.recording_id, "active": code != "Disconnected"}]
    return {
        "sequence": sequence,
        "sessionId": call.session_id,
        "telephonySessionId": call.telephony_session_id,
        "serverId": call.server_id,
        "eventTime": iso(at),
        "accountId": subscriber.account_id,
        "parties": [party],
        "origin": {"type": "Call"},
        "extensionId": subscriber.extension_id,
    }


def detailed_presence_body(subscriber: Subscriber, sequence: int, telephony_status: str, call: Call | None = None,
                           at: float = 0.0) -> dict[str, Any]:
    """An extension presence body, with ``activeCalls``/``totalActiveCalls`` (the detailed form)."""
    if call is not None:
        own, other = (call.callee, call.caller) if call.direction == "Inbound" else (call.caller, call.callee)
    active = [] if call is None or telephony_status == "NoCall" else [{
        "id": call.telephony_session_id,
        "direction": call.direction,
        "from": call.caller.phone_number,
        "to": call.callee.phone_number,
        "telephonyStatus": telephony_status,
        "sessionId": call.session_id,
        "partyId": call.party_id,
        "telephonySessionId": call.telephony_session_id,
        "startTime": iso(at),
        "sipData": {"toTag": call.party_id[-6:], "fromTag": call.session_id[-6:],
                    "remoteUri": f"sip:{_digits(other.phone_number)}@sip.example.invalid",
                    "localUri": f"sip:{_digits(own.phone_number)}@sip.example.invalid"},
    }]
    return {**presence_body(subscriber.extension_id, sequence, telephony_status), "activeCalls": active,
            "totalActiveCalls": len(active)}


def _digits(number: str) -> str:
    return number.lstrip("+")


def message_uri(subscriber: Subscriber, message_id: str) -> str:
    """The link to a message's content, on ``subscriber.base_url`` (the platform's URL) as the platform gives it."""
    return f"{subscriber.base_url}{subscriber.path('message-store')}/{message_id}/content/{message_id}"


def voicemail_body(ids: Ids, subscriber: Subscriber, at: float, caller_number: str, caller_name: str,
                   seconds: float) -> dict[str, Any]:
    """A voicemail message event body (voicemail-message.md) for a recording of ``seconds``."""
    message_id = ids.digits(11)
    return {
        "id": message_id,
        "to": [{"phoneNumber": subscriber.phone_number, "name": subscriber.name}],
        "from": {"phoneNumber": caller_number, "name": caller_name},
        "type": "VoiceMail",
        "creationTime": iso(at),
        "readStatus": "Unread",
        "priority": "Normal",
        "attachments": [{"id": message_id, "uri": message_uri(subscriber, message_id), "type": "AudioRecording",
                         "contentType": "audio/x-wav", "vmDuration": round(seconds)}],
        "direction": "Inbound",
        "availability": "Alive",
        "messageStatus": "Received",
        "lastModifiedTime": iso(at),
        "vmTranscriptionStatus": "NotAvailable",
    }


def fax_body(ids: Ids, subscriber: Subscriber, at: float, sender_number: str, pages: int) -> dict[str, Any]:
    """An inbound fax event body (fax-message.md) of ``pages`` pages."""
    message_id = ids.digits(11)
    return {
        "id": message_id,
        "to": [{"phoneNumber": subscriber.phone_number, "name": subscriber.name}],
        "from": {"phoneNumber": sender_number},
        "type": "Fax",
        "creationTime": iso(at),
        "readStatus": "Unread",
        "priority": "Normal",
        "attachments": [{"id": message_id, "uri": message_uri(subscriber, message_id), "type": "RenderedDocument",
                         "contentType": "application/pdf"}],
        "direction": "Inbound",
        "availability": "Alive",
        "subject": sender_number,
        "messageStatus": "Received",
        "faxResolution": "High",
        "faxPageCount": pages,
        "lastModifiedTime": iso(at),
    }


def message_store_body(subscriber: Subscriber, at: float, message_type: str, message_id: str) -> dict[str, Any]:
    """A message-store change body (message.md) announcing one new message."""
    return {
        "accountId": int(subscriber.account_id),
        "extensionId": int(subscriber.extension_id),
        "lastUpdated": iso(at),
        "changes": [{"type": message_type, "newCount": 1, "updatedCount": 0, "newMessageIds": [int(message_id)]}],
    }


def dnd_body(subscriber: Subscriber, dnd_status: str) -> dict[str, Any]:
    """An extension DND status body (extension-dnd-status.md)."""
    return {"extensionId": subscriber.extension_id, "dndStatus": dnd_status}


def presence_line_body(ids: Ids, sequence: int, lines: int = 2) -> dict[str, Any]:
    """A presence line body (extension-presence-line.md): the extensions the user monitors."""
    return {"extension": [{"id": ids.digits(11)} for _ in range(lines)], "sequence": sequence}


# --- scenarios --------------------------------------------------------------------------------------
_CALL_OPTIONS = {"caller_number": "+16505550123", "caller_name": "Alex Caller", "callee_number": None,
                 "callee_name": None, "ring_seconds": 6.0, "duration_seconds": 60.0, "recording": False}
_MISSED_OPTIONS = {"caller_number": "+16505550123", "caller_name": "Alex Caller", "callee_number": None,
                   "callee_name": None, "ring_seconds": 20.0, "voicemail_seconds": 15.0}
_OUTBOUND_OPTIONS = {"caller_number": None, "caller_name": None, "callee_number": "+16505550199",
                     "callee_name": "Sam Callee", "ring_seconds": 5.0, "duration_seconds": 60.0, "recording": False}
#: Seconds from Setup to Proceeding, and from the end of a voicemail to its message.
SETUP_SECONDS = 1.0
MESSAGE_DELAY_SECONDS = 1.0


class _Timeline:
    """Collects the steps of one call with the telephony and presence sequence counters."""

    def __init__(self, subscriber: Subscriber, call: Call, start: float, presence_sequence: int) -> None:
        self.subscriber = subscriber
        self.call = call
        self.start = start
        self.telephony_sequence = 0
        self.presence_sequence = presence_sequence - 1
        self.steps: list[Step] = []

    def telephony(self, offset: float, code: str, missed: bool = False) -> None:
        self.telephony_sequence += 1
        body = telephony_body(self.call, self.subscriber, self.telephony_sequence, self.start + offset, code, missed)
        self.steps.append(Step(offset, self.subscriber.path("telephony/sessions"), body))

    def presence(self, offset: float, status: str) -> None:
        self.presence_sequence += 1
        body = detailed_presence_body(self.subscriber, self.presence_sequence, status, self.call, self.start)
        self.steps.append(Step(offset, self.subscriber.path("presence"), body))


def inbound_call(ids: Ids, start: float, subscriber: Subscriber, options: Mapping[str, Any] | None = None,
                 presence_sequence: int = 1) -> list[Step]:
    """An answered inbound call: Setup, Proceeding (Ringing), Answered (CallConnected), Disconnected (NoCall).

    ``ring_seconds`` runs from Proceeding to Answered and ``duration_seconds`` from Answered to
    Disconnected; ``recording`` adds the party's ``recordings`` from Answered on.
    """
    o = check_options("inbound_call", _CALL_OPTIONS, options or {})
    call = Call.new(ids, subscriber, "Inbound", o["caller_number"], o["caller_name"], o["callee_number"],
                    o["callee_name"], o["recording"])
    line = _Timeline(subscriber, call, start, presence_sequence)
    answered = SETUP_SECONDS + o["ring_seconds"]
    ended = answered + o["duration_seconds"]
    line.telephony(0.0, "Setup")
    line.telephony(SETUP_SECONDS, "Proceeding")
    line.presence(SETUP_SECONDS, "Ringing")
    line.telephony(answered, "Answered")
    line.presence(answered, "CallConnected")
    line.telephony(ended, "Disconnected")
    line.presence(ended, "NoCall")
    return line.steps


def missed_call(ids: Ids, start: float, subscriber: Subscriber, options: Mapping[str, Any] | None = None,
                presence_sequence: int = 1) -> list[Step]:
    """An unanswered inbound call that goes to voicemail, then the voicemail and message-store events.

    Setup, Proceeding (Ringing), after ``ring_seconds`` VoiceMail with ``missedCall: true`` (NoCall),
    after ``voicemail_seconds`` Disconnected with ``missedCall: true``, a second later the voicemail.
    """
    o = check_options("missed_call", _MISSED_OPTIONS, options or {})
    call = Call.new(ids, subscriber, "Inbound", o["caller_number"], o["caller_name"], o["callee_number"],
                    o["callee_name"])
    line = _Timeline(subscriber, call, start, presence_sequence)
    to_voicemail = SETUP_SECONDS + o["ring_seconds"]
    ended = to_voicemail + o["voicemail_seconds"]
    line.telephony(0.0, "Setup")
    line.telephony(SETUP_SECONDS, "Proceeding")
    line.presence(SETUP_SECONDS, "Ringing")
    line.telephony(to_voicemail, "VoiceMail", missed=True)
    line.presence(to_voicemail, "NoCall")
    line.telephony(ended, "Disconnected", missed=True)
    message_at = ended + MESSAGE_DELAY_SECONDS
    voicemail = voicemail_body(ids, subscriber, start + message_at, o["caller_number"], o["caller_name"],
                               o["voicemail_seconds"])
    line.steps.append(Step(message_at, subscriber.path("voicemail"), voicemail))
    change = message_store_body(subscriber, start + message_at, "VoiceMail", voicemail["id"])
    line.steps.append(Step(message_at, subscriber.path("message-store"), change,
                           {"type": "VoiceMail", "direction": "Inbound"}))
    return line.steps


def outbound_call(ids: Ids, start: float, subscriber: Subscriber, options: Mapping[str, Any] | None = None,
                  presence_sequence: int = 1) -> list[Step]:
    """An answered outbound call: Setup, Proceeding (CallConnected), Answered, Disconnected (NoCall).

    The demo user's party has direction ``Outbound``; presence shows CallConnected from Proceeding
    (no Ringing for the caller, guessed).
    """
    o = check_options("outbound_call", _OUTBOUND_OPTIONS, options or {})
    call = Call.new(ids, subscriber, "Outbound", o["callee_number"], o["callee_name"], o["caller_number"],
                    o["caller_name"], o["recording"])
    line = _Timeline(subscriber, call, start, presence_sequence)
    answered = SETUP_SECONDS + o["ring_seconds"]
    ended = answered + o["duration_seconds"]
    line.telephony(0.0, "Setup")
    line.telephony(SETUP_SECONDS, "Proceeding")
    line.presence(SETUP_SECONDS, "CallConnected")
    line.telephony(answered, "Answered")
    line.telephony(ended, "Disconnected")
    line.presence(ended, "NoCall")
    return line.steps


#: The scenarios :func:`play` knows, by name.
SCENARIOS: dict[str, Callable[..., list[Step]]] = {
    "inbound_call": inbound_call,
    "missed_call": missed_call,
    "outbound_call": outbound_call,
}


def scenario_options(name: str) -> dict[str, Any]:
    """The options of scenario ``name`` with their defaults (None: the demo user's own number or name)."""
    defaults = {"inbound_call": _CALL_OPTIONS, "missed_call": _MISSED_OPTIONS, "outbound_call": _OUTBOUND_OPTIONS}
    return dict(defaults[_scenario_name(name)])


def _scenario_name(name: object) -> str:
    if not isinstance(name, str) or name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; scenarios: {', '.join(SCENARIOS)}")
    return name


def play(name: str, ids: Ids, start: float, subscriber: Subscriber, options: Mapping[str, Any] | None = None,
         presence_sequence: int = 1) -> list[Step]:
    """The steps of scenario ``name`` starting at ``start`` (epoch seconds), in the order to send them.

    ``presence_sequence`` is the ``sequence`` number of the scenario's first presence event (continue
    the simulator's own presence counter). Raises :class:`ScenarioError` for an unknown name or option.
    """
    return SCENARIOS[_scenario_name(name)](ids, start, subscriber, options, presence_sequence)


# --- single sample events ---------------------------------------------------------------------------
_SAMPLE_OPTIONS: dict[str, dict[str, Any]] = {
    "telephony_session": {"status_code": "Proceeding", "direction": "Inbound", "missed_call": False,
                          "caller_number": "+16505550123", "caller_name": "Alex Caller", "recording": False},
    "missed_call": {"caller_number": "+16505550123", "caller_name": "Alex Caller"},
    "voicemail": {"caller_number": "+16505550123", "caller_name": "Alex Caller", "voicemail_seconds": 15.0},
    "fax": {"caller_number": "+16505550123", "pages": 2},
    "dnd": {"dnd_status": "DoNotAcceptAnyCalls"},
    "presence_line": {},
}
#: The sample-event kinds :func:`sample_event` builds.
SAMPLE_KINDS = tuple(_SAMPLE_OPTIONS)


def sample_options(kind: str) -> dict[str, Any]:
    """The options of sample event ``kind`` with their defaults; ScenarioError for an unknown kind."""
    if kind not in _SAMPLE_OPTIONS:
        raise ScenarioError(f"unknown sample event {kind!r}; kinds: {', '.join(SAMPLE_KINDS)}", "kind")
    return dict(_SAMPLE_OPTIONS[kind])


def sample_event(kind: str, ids: Ids, at: float, subscriber: Subscriber,
                 options: Mapping[str, Any] | None = None, sequence: int = 1) -> Step:
    """One sample event of ``kind`` (see :data:`SAMPLE_KINDS`) at time ``at``, as a step at offset 0.

    ``sequence`` is the body's ``sequence`` where it has one (telephony sessions, presence line).
    """
    o = check_options(kind, sample_options(kind), options or {})
    if kind in ("telephony_session", "missed_call"):
        direction = o.get("direction", "Inbound")
        call = Call.new(ids, subscriber, direction, o["caller_number"], o["caller_name"],
                        recording=o.get("recording", False))
        code = o.get("status_code", "VoiceMail")
        missed = o.get("missed_call", kind == "missed_call")
        return Step(0.0, subscriber.path("telephony/sessions"), telephony_body(call, subscriber, sequence, at, code,
                                                                                missed))
    if kind == "voicemail":
        body = voicemail_body(ids, subscriber, at, o["caller_number"], o["caller_name"], o["voicemail_seconds"])
        return Step(0.0, subscriber.path("voicemail"), body)
    if kind == "fax":
        body = fax_body(ids, subscriber, at, o["caller_number"], o["pages"])
        return Step(0.0, subscriber.path("fax"), body, {"direction": "Inbound"})
    if kind == "dnd":
        return Step(0.0, subscriber.path("presence/dnd"), dnd_body(subscriber, o["dnd_status"]))
    return Step(0.0, subscriber.path("presence/line"), presence_line_body(ids, sequence))
