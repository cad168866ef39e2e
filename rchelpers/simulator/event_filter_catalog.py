"""Every event filter the platform documents: its path, query parameters, permission, provenance and matching.

One :class:`FilterSpec` per filter of RingCentral's event-filter index (``ringcentral/ringcentral-api-docs``
``docs/notifications/event-filters/index.md`` and the page per filter beside it), plus the filters the
simulator accepted before the index was modelled and a few seen accepted in captured real responses.
Each spec says where it comes from (``source``, ``provenance``: modelled from a public page, observed in
a real response, or guessed), which app permission it needs, and whether the simulator ever fires it
(filters that cannot be simulated meaningfully are accepted and never fire).

:func:`parse` checks one filter string for a subscriber and expands ``~``; a bad filter raises
:class:`InvalidFilter` whose ``reason`` names the offending part (unknown parameter, bad value),
and :func:`invalid_filters_message` words a SUB-508 message from such reasons.
:func:`matches` and :func:`body_for` decide whether an event (its resource path and body) reaches a
parsed filter, honouring the telephony-session parameters (``direction``, ``missedCall``,
``phoneNumber``, ``statusCode``, ``withRecordings``; ``sipData`` shapes the body).

Pure data and pure functions: no I/O and no simulator state. :mod:`.filters` parses a request's filter list with it.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qsl

from rchelpers.simulator.errors import SimulatorError

API_PREFIX = "/restapi/v1.0"
#: Where the filter pages live (repository and folder), for ``FilterSpec.source``.
DOCS = "ringcentral/ringcentral-api-docs docs/notifications/event-filters/"
#: The community thread whose captured response shows four undocumented filters accepted (2020).
COMMUNITY_5698 = ("https://community.ringcentral.com/developer-platform-apis-integrations-5/"
                  "unable-to-subscribe-with-all-extensions-defined-as-5698")

MODELLED, OBSERVED, GUESSED = "modelled", "observed", "guessed"

#: Telephony-session status codes a ``statusCode`` filter may name (extension-telephony-sessions.md).
TELEPHONY_STATUS_CODES = ("Setup", "Proceeding", "Answered", "Disconnected", "Gone", "Parked", "Hold",
                          "VoiceMail", "FaxReceive", "VoiceMailScreening")
DIRECTIONS = ("Inbound", "Outbound")
#: Message types a message-store filter may name (message.md names Voicemail; ``VoiceMail`` and ``Text``
#: were accepted by the simulator before and stay accepted).
MESSAGE_TYPES = ("Fax", "SMS", "VoiceMail", "Voicemail", "Pager", "Text")

#: 403 errors for a filter naming another extension of the subscriber's account, by code.
OTHER_EXTENSION_ERRORS = {
    "SUB-405": "Not allowed subscribe for messages to other extensions",
    "SUB-408": "Not allowed subscribe for unknown user",
    "SUB-518": "Not allowed subscribe for favorite contacts list changes of another extension",
    "SUB-527": "Not allowed subscribe for missed calls of another extension",
    "SUB-530": "Not allowed subscribe for incoming calls of another extension",
    "SUB-531": "Not allowed subscribe for presence of presence-lines of another extension",
}
#: 403 for a filter naming another account.
OTHER_ACCOUNT_ERROR = ("SUB-406", "Not allowed subscribe for events to extensions of other account")

_TRUE_FALSE = ("true", "false")
_PHONE = re.compile(r"\+?[0-9]{1,15}")
_SECONDS = re.compile(r"[0-9]{1,10}")
_OPAQUE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
#: How each path placeholder is matched; ``~`` stands for the subscriber's own id.
_PLACEHOLDERS = {
    "accountId": r"~|[0-9]{1,20}",
    "extensionId": r"~|[0-9]{1,20}",
    "deviceId": r"[0-9]{1,20}",
    "batchId": r"[A-Za-z0-9-]{1,64}",
    "groupId": r"[0-9]{1,20}",
}

#: Sample ids for :meth:`FilterSpec.example`.
_EXAMPLE_IDS = {"accountId": "~", "extensionId": "~", "deviceId": "1", "batchId": "b-1", "groupId": "1"}


class InvalidFilter(SimulatorError, ValueError):
    """A filter the platform refuses (SUB-508): ``filter`` as given and ``reason`` in words."""

    def __init__(self, event_filter: str, reason: str) -> None:
        super().__init__(f"{event_filter}: {reason}")
        self.filter = event_filter
        self.reason = reason


@dataclass(frozen=True)
class Param:
    """One query parameter of a filter: its name, the kind of value and, for a choice, the values."""

    name: str
    kind: str  #: ``choice``, ``bool``, ``phone``, ``seconds`` or ``id``
    choices: tuple[str, ...] = ()

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not valid for this parameter, or None when it is."""
        if self.kind == "choice" and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}"
        if self.kind == "bool" and value.lower() not in _TRUE_FALSE:
            return f"{self.name} must be true or false, got {value!r}"
        if self.kind == "phone" and not _PHONE.fullmatch(value):
            return f"{self.name} must be a phone number in E.164 format such as +16505550100, got {value!r}"
        if self.kind == "seconds" and not _SECONDS.fullmatch(value):
            return f"{self.name} must be a whole number of seconds, got {value!r}"
        if self.kind == "id" and not _OPAQUE_ID.fullmatch(value):
            return f"{self.name} must be an identifier (letters, digits, '-'), got {value!r}"
        return None

    def example(self) -> str:
        """A valid value."""
        return {"choice": self.choices[0] if self.choices else "", "bool": "true", "phone": "+16505550100",
                "seconds": "60", "id": "b-1"}[self.kind]

    def normalize(self, value: str) -> str:
        """The value as kept after parsing (booleans in lower case)."""
        return value.lower() if self.kind == "bool" else value


def _choice(name: str, choices: tuple[str, ...]) -> Param:
    return Param(name, "choice", choices)


def _bool(name: str) -> Param:
    return Param(name, "bool")


def _phone(name: str) -> Param:
    return Param(name, "phone")


_TELEPHONY_PARAMS = (_choice("direction", DIRECTIONS), _bool("missedCall"), _phone("phoneNumber"), _bool("sipData"),
                     _choice("statusCode", TELEPHONY_STATUS_CODES), _bool("withRecordings"))
_PRESENCE_PARAMS = (_bool("detailedTelephonyState"), _bool("sipData"), _bool("aggregated"))
_A2P_MESSAGE_PARAMS = (_choice("direction", DIRECTIONS), Param("batchId", "id"), _phone("from"), _phone("to"))


@dataclass(frozen=True)
class FilterSpec:
    """One event filter the simulator accepts."""

    name: str  #: short stable name, e.g. ``extension-telephony-sessions``
    path: str  #: template, e.g. ``/restapi/v1.0/account/{accountId}/extension/{extensionId}/presence``
    title: str  #: what it notifies about, as the docs name it
    source: str  #: the public source: a repository path or a URL
    provenance: str = MODELLED  #: ``modelled`` (from the source), ``observed`` (real response) or ``guessed``
    params: tuple[Param, ...] = ()
    required: tuple[str, ...] = ()  #: query parameters that must be present
    permissions: tuple[str, ...] = ()  #: app permissions, any one of which suffices; () = none needed
    fires: bool = False  #: whether the simulator ever sends events to it
    other_extension_code: str = "SUB-408"  #: the 403 code when the filter names another extension
    expand_tilde: bool = True  #: ``~`` becomes the subscriber's ids in responses
    note: str = ""  #: what is guessed, or why it never fires

    @property
    def level(self) -> str:
        """``extension``, ``account`` or ``global`` (team messaging, reminders)."""
        if "{extensionId}" in self.path:
            return "extension"
        return "account" if "{accountId}" in self.path else "global"

    @property
    def param_names(self) -> tuple[str, ...]:
        """The query parameter names this filter takes."""
        return tuple(p.name for p in self.params)

    def example(self) -> str:
        """A filter of this spec for the subscriber (``~``), with sample ids and its required parameters."""
        path = self.path
        for key, value in _EXAMPLE_IDS.items():
            path = path.replace("{" + key + "}", value)
        by_name = {p.name: p for p in self.params}
        query = "&".join(f"{name}={by_name[name].example()}" for name in self.required)
        return path + (f"?{query}" if query else "")

    def pattern(self) -> re.Pattern[str]:
        """The regular expression a filter path (without query) must match in full."""
        return _compile(self.path)


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_PLACEHOLDERS[part]})"
                    for i, part in enumerate(parts))
    return re.compile(regex)


def _page(name: str) -> str:
    return DOCS + name


_ACCOUNT = API_PREFIX + "/account/{accountId}"
_EXTENSION = _ACCOUNT + "/extension/{extensionId}"

#: Every filter the simulator accepts, in the order of the docs' index, then the others.
CATALOG: tuple[FilterSpec, ...] = (
    # --- SMS events -------------------------------------------------------------------------------
    FilterSpec("instant-sms", _EXTENSION + "/message-store/instant", "Inbound SMS Event",
               _page("instant-message.md"), params=(_choice("type", ("SMS",)),), required=("type",),
               permissions=("ReadMessages",), fires=True, other_extension_code="SUB-405",
               note="the page names no permission: ReadMessages as for the message store (guessed)"),
    FilterSpec("a2p-sms-batches", _ACCOUNT + "/a2p-sms/batches", "Message Batch Event",
               _page("message-batch.md"), params=(_phone("from"),), permissions=("ReadAccounts",),
               note="never fires: the simulator sends no A2P (high-volume) SMS"),
    FilterSpec("a2p-sms-batch", _ACCOUNT + "/a2p-sms/batches/{batchId}", "Specific Message Batch Event",
               _page("specific-message-batch.md"), permissions=("ReadAccounts",),
               note="never fires: the simulator sends no A2P (high-volume) SMS"),
    FilterSpec("a2p-sms-messages", _ACCOUNT + "/a2p-sms/messages", "Batch Messages Event",
               _page("batch-messages.md"), params=_A2P_MESSAGE_PARAMS, permissions=("ReadAccounts",),
               note="never fires: the simulator sends no A2P (high-volume) SMS"),
    FilterSpec("a2p-sms-opt-outs", _ACCOUNT + "/a2p-sms/opt-outs", "Batch Message Opt-Out Event",
               _page("batch-message-optout.md"), params=_A2P_MESSAGE_PARAMS, permissions=("ReadAccounts",),
               note="never fires: the simulator has no opt-out service"),
    # --- fax, voicemail and other message events ----------------------------------------------------
    FilterSpec("fax", _EXTENSION + "/fax", "Inbound Fax Event", _page("fax-message.md"),
               params=(_choice("direction", ("Inbound",)),), permissions=("ReadMessages",), fires=True,
               other_extension_code="SUB-405",
               note="the index writes it with ?direction=Inbound; the filter without it is accepted too (guessed)"),
    FilterSpec("message-store", _EXTENSION + "/message-store", "Message Event", _page("message.md"),
               params=(_choice("type", MESSAGE_TYPES), _choice("direction", DIRECTIONS)),
               permissions=("ReadMessages",), fires=True, other_extension_code="SUB-405"),
    FilterSpec("voicemail", _EXTENSION + "/voicemail", "Voicemail Message Event", _page("voicemail-message.md"),
               permissions=("ReadMessages",), fires=True, other_extension_code="SUB-405"),
    # --- contact center -------------------------------------------------------------------------------
    FilterSpec("contact-center-phone-number", _ACCOUNT + "/phone-number", "Contact Center Phone Number Event",
               _page("contact-center-phone-number.md"), params=(_choice("usageType", ("ContactCenterNumber",)),),
               required=("usageType",), permissions=("ReadAccounts",),
               note="never fires: the simulated account has no contact-center numbers"),
    # --- telephony and presence -----------------------------------------------------------------------
    FilterSpec("account-telephony-sessions", _ACCOUNT + "/telephony/sessions", "Account Telephony Sessions Event",
               _page("account-telephony-sessions.md"), params=_TELEPHONY_PARAMS, permissions=("CallControl",),
               fires=True),
    FilterSpec("account-presence", _ACCOUNT + "/presence", "Account Presence Event", _page("account-presence.md"),
               params=_PRESENCE_PARAMS[:2], permissions=("ReadAccounts",), fires=True,
               note="receives the presence events of every extension of the account"),
    FilterSpec("extension-telephony-sessions", _EXTENSION + "/telephony/sessions",
               "Extension Telephony Sessions Event", _page("extension-telephony-sessions.md"),
               params=_TELEPHONY_PARAMS, permissions=("CallControl",), fires=True),
    FilterSpec("extension-dnd", _EXTENSION + "/presence/dnd", "Extension DND Status Event",
               _page("extension-dnd-status.md"), permissions=("ReadAccounts",), fires=True),
    FilterSpec("extension-presence", _EXTENSION + "/presence", "Extension Presence Event",
               _page("extension-presence.md"), params=_PRESENCE_PARAMS, permissions=("ReadPresence",), fires=True,
               note="detailedTelephonyState and sipData: detailed-extension-presence(-with-sip).md (also for "
                    "presence/line/presence and favorite/presence); aggregated: the old API reference"),
    FilterSpec("extension-presence-line-presence", _EXTENSION + "/presence/line/presence",
               "Extension Presence Line Event", _page("extension-presence-line.md"), params=_PRESENCE_PARAMS[:2],
               permissions=("ReadPresence",), other_extension_code="SUB-531",
               note="never fires: the demo user monitors no other extension"),
    FilterSpec("extension-presence-line", _EXTENSION + "/presence/line", "Extension Presence Line Event",
               _page("extension-presence-line.md"), permissions=("ReadPresence",), fires=True,
               other_extension_code="SUB-531"),
    # --- team messaging -----------------------------------------------------------------------------
    FilterSpec("team-messaging-posts", "/team-messaging/v1/posts", "Team Messaging Post Event", _page("post.md"),
               permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="the page names UnifiedAppDesktop; apps hold TeamMessaging (either is accepted, guessed); "
                    "never fires: no team-messaging sample events"),
    FilterSpec("team-messaging-groups", "/team-messaging/v1/groups", "Team Messaging Groups Event", _page("index.md"),
               permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="never fires: no team-messaging sample events"),
    # --- account events -------------------------------------------------------------------------------
    FilterSpec("directory-entries", _ACCOUNT + "/directory/entries", "Company Directory Event",
               _page("company-directory.md"), permissions=("ReadAccounts",),
               note="never fires: the simulated directory does not change"),
    FilterSpec("emergency-address", _ACCOUNT + "/device/{deviceId}/emergency-address", "Emergency Address Event",
               _page("emergency-address.md"), permissions=("ReadAccounts",),
               note="never fires: the simulated account has no devices"),
    FilterSpec("extension-favorites", _EXTENSION + "/favorite", "Extension Favorites Event",
               _page("extension-favorites.md"), permissions=("ReadContacts",), other_extension_code="SUB-518",
               note="never fires: the demo user has no favorites"),
    FilterSpec("extension-grants", _EXTENSION + "/grant", "Extension Grant List Event",
               _page("extension-grant-list.md"), permissions=("ReadAccounts",),
               note="never fires: the grant list does not change"),
    FilterSpec("extension-info", _EXTENSION, "Extension Info Event", _page("extension-info.md"),
               permissions=("ReadAccounts",), fires=True),
    FilterSpec("extension-list", _ACCOUNT + "/extension", "Extension List Event", _page("extension-list.md"),
               permissions=("ReadAccounts",), fires=True),
    # --- documented beside the index ------------------------------------------------------------------
    FilterSpec("extension-favorite-presence", _EXTENSION + "/favorite/presence", "Extension Presence Event",
               _page("extension-presence.md"), params=_PRESENCE_PARAMS[:2], permissions=("ReadPresence",),
               other_extension_code="SUB-518", note="never fires: the demo user has no favorites"),
    FilterSpec("call-queue-member-presence", _ACCOUNT + "/call-queues/{groupId}/presence",
               "Call Queue Member Presence Event", _page("call-queue-member-presence.md"),
               permissions=("ReadPresence",), note="never fires: the simulated account has no call queues"),
    FilterSpec("team-messaging-chats", "/team-messaging/v1/chats", "Team Messaging Chats Event", _page("chat.md"),
               permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="never fires: no team-messaging sample events"),
    FilterSpec("team-messaging-teams", "/team-messaging/v1/teams", "Team Messaging Teams", _page("index.md"),
               provenance=GUESSED, permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="not in the index; accepted by the simulator before (guessed); never fires"),
    FilterSpec("reminder", API_PREFIX + "/subscription/~", "Subscription renewal reminder",
               "ringcentral/ringcentral-api-docs docs/notifications/webhooks/creating-webhooks.md",
               params=(Param("threshold", "seconds"), Param("interval", "seconds")),
               required=("threshold", "interval"), fires=True, expand_tilde=False,
               note="keeps '~' in responses; fired by the reminder job, not by sample events"),
    FilterSpec("glip-posts", API_PREFIX + "/glip/posts", "Team messaging posts (legacy Glip path)",
               "ringcentral/ringcentral-api-docs code-samples/webhooks/blacklist.json", provenance=OBSERVED,
               permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="never fires: no team-messaging sample events"),
    FilterSpec("glip-groups", API_PREFIX + "/glip/groups", "Team messaging groups (legacy Glip path)",
               "ringcentral/ringcentral-api-docs code-samples/webhooks/blacklist.json", provenance=OBSERVED,
               permissions=("TeamMessaging", "UnifiedAppDesktop"), expand_tilde=False,
               note="never fires: no team-messaging sample events"),
    # --- seen accepted in a captured real response (2020), not documented ---------------------------
    FilterSpec("missed-calls", _EXTENSION + "/missed-calls", "Missed calls (undocumented)", COMMUNITY_5698,
               provenance=OBSERVED, other_extension_code="SUB-527",
               note="accepted in a 2020 response; no body documented, so it never fires; "
                    "SUB-527 from the old API reference"),
    FilterSpec("start-ring", _EXTENSION + "/start-ring", "Start ring (undocumented)", COMMUNITY_5698,
               provenance=OBSERVED, other_extension_code="SUB-530",
               note="accepted in a 2020 response; never fires; SUB-530 for another extension is guessed"),
    FilterSpec("stop-ring", _EXTENSION + "/stop-ring", "Stop ring (undocumented)", COMMUNITY_5698,
               provenance=OBSERVED, other_extension_code="SUB-530",
               note="accepted in a 2020 response; never fires; SUB-530 for another extension is guessed"),
    FilterSpec("incoming-call-pickup", _EXTENSION + "/incoming-call-pickup", "Incoming call pickup (undocumented)",
               COMMUNITY_5698, provenance=OBSERVED, other_extension_code="SUB-530",
               note="accepted in a 2020 response; never fires; SUB-530 for another extension is guessed"),
)

#: The 24 filters of the docs' event-filter index, by spec name.
INDEX_FILTERS = (
    "instant-sms", "a2p-sms-batches", "a2p-sms-batch", "a2p-sms-messages", "a2p-sms-opt-outs", "fax",
    "message-store", "voicemail", "contact-center-phone-number", "account-telephony-sessions", "account-presence",
    "extension-telephony-sessions", "extension-dnd", "extension-presence", "extension-presence-line-presence",
    "extension-presence-line", "team-messaging-posts", "team-messaging-groups", "directory-entries",
    "emergency-address", "extension-favorites", "extension-grants", "extension-info", "extension-list",
)
#: An account-level filter that also receives the events of every extension of its account. The pages'
#: examples show such a notification's ``event`` as the extension's resource path (see :func:`envelope_event`).
AGGREGATES = {"account-telephony-sessions": "extension-telephony-sessions", "account-presence": "extension-presence"}

_BY_NAME = {spec.name: spec for spec in CATALOG}
_PATTERNS = tuple((spec, spec.pattern()) for spec in CATALOG)
#: Short forms (without ``/restapi/v1.0``) the simulator accepts and returns with the prefix (guessed).
_SHORT_FORMS = ("/account/", "/subscription/", "/glip/")


def spec(name: str) -> FilterSpec:
    """The spec called ``name``; KeyError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no event filter called {name!r}; known: {', '.join(_BY_NAME)}") from None


@dataclass(frozen=True)
class ParsedFilter:
    """One filter as parsed for a subscriber: the spec it is, its ids (``~`` expanded) and parameters."""

    raw: str  #: as subscribed
    expanded: str  #: as the API returns it (``~`` expanded where the spec says so)
    spec: FilterSpec
    ids: Mapping[str, str] = field(default_factory=dict)  #: accountId, extensionId, batchId, deviceId
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def account_id(self) -> str | None:
        """The account id the filter names (expanded), if any."""
        return self.ids.get("accountId")

    @property
    def extension_id(self) -> str | None:
        """The extension id the filter names (expanded), if any."""
        return self.ids.get("extensionId")

    @property
    def is_reminder(self) -> bool:
        """True for the renewal reminder filter ``/restapi/v1.0/subscription/~?threshold=T&interval=I``."""
        return self.spec.name == "reminder"

    @property
    def threshold(self) -> int | None:
        """The reminder threshold in seconds (reminder filters only)."""
        return int(self.params["threshold"]) if self.is_reminder else None

    @property
    def interval(self) -> int | None:
        """The reminder interval in seconds (reminder filters only)."""
        return int(self.params["interval"]) if self.is_reminder else None


def spec_for_path(path: str) -> tuple[FilterSpec, dict[str, str]] | None:
    """The spec whose template ``path`` (no query, full ``/restapi/v1.0`` form) matches, with its ids."""
    for candidate, pattern in _PATTERNS:
        match = pattern.fullmatch(path)
        if match:
            return candidate, match.groupdict()
    return None


def parse(raw: object, account_id: str, extension_id: str) -> ParsedFilter:
    """Parse one filter for the subscriber ``account_id``/``extension_id``; raises :class:`InvalidFilter`.

    Ownership (another account or extension) is not checked here: see :func:`ownership_error`.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidFilter(str(raw), "a filter must be a non-empty string")
    path, _, query = raw.partition("?")
    full = API_PREFIX + path if path.startswith(_SHORT_FORMS) else path
    found = spec_for_path(full)
    if found is None:
        raise InvalidFilter(raw, "not a known event filter path")
    found_spec, groups = found
    params = _parse_query(raw, query, found_spec)
    own = {"accountId": account_id, "extensionId": extension_id}
    ids = {key: own[key] if value == "~" and key in own else value for key, value in groups.items()}
    expanded_path = found_spec.path
    for key, value in ids.items():
        expanded_path = expanded_path.replace("{" + key + "}", value)
    if not found_spec.expand_tilde:  # no id placeholders: kept exactly as subscribed (with the prefix)
        expanded_path = full
    expanded = expanded_path + (f"?{query}" if query else "")
    return ParsedFilter(raw, expanded, found_spec, ids, params)


def _parse_query(raw: str, query: str, filter_spec: FilterSpec) -> dict[str, str]:
    # '+' is literal in filters (``phoneNumber=+16505550100``), not a space as in HTML forms
    try:
        pairs = parse_qsl(query.replace("+", "%2B"), keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError as exc:
        raise InvalidFilter(raw, f"malformed query string ({exc})") from None
    by_name = {p.name: p for p in filter_spec.params}
    params: dict[str, str] = {}
    for name, value in pairs:
        param = by_name.get(name)
        if param is None:
            takes = (f"it takes {', '.join(by_name)}" if by_name else "it takes no query parameters")
            raise InvalidFilter(raw, f"unknown query parameter {name!r}; {takes}")
        if name in params:
            raise InvalidFilter(raw, f"query parameter {name!r} given twice")
        problem = param.problem(value)
        if problem:
            raise InvalidFilter(raw, problem)
        params[name] = param.normalize(value)
    for name in filter_spec.required:
        if name not in params:
            raise InvalidFilter(raw, f"query parameter {name!r} is required")
    return params


def invalid_filters_message(bad: Sequence[tuple[str, str]]) -> str:
    """The SUB-508 message for ``(filter, reason)`` pairs, worded as the simulator words it.

    >>> invalid_filters_message([("/x?a=1", "unknown query parameter 'a'")])
    "Invalid event filters: [/x?a=1]: /x?a=1 (unknown query parameter 'a')"
    """
    names = ", ".join(event_filter for event_filter, _ in bad)
    detail = "; ".join(f"{event_filter} ({why})" for event_filter, why in bad)
    return f"Invalid event filters: [{names}]" + (f": {detail}" if detail else "")


def ownership_error(parsed: ParsedFilter, account_id: str, extension_id: str) -> tuple[int, str, str] | None:
    """``(403, code, message)`` when the filter names another account or extension than the subscriber's."""
    if parsed.account_id is not None and parsed.account_id != account_id:
        return (403, *OTHER_ACCOUNT_ERROR)
    if parsed.extension_id is not None and parsed.extension_id != extension_id:
        code = parsed.spec.other_extension_code
        return 403, code, OTHER_EXTENSION_ERRORS[code]
    return None


# --- matching ---------------------------------------------------------------------------------------
def matches(parsed: ParsedFilter, event_path: str, body: Mapping[str, Any],
            attributes: Mapping[str, str] | None = None) -> bool:
    """True if the event at resource ``event_path`` (ids expanded, no query) with ``body`` reaches ``parsed``.

    The filter's spec and ids must be the event's (an account-level telephony-session or presence filter
    also receives the events of every extension of its account); then the filter's parameters select on
    the body. ``attributes`` carries what the body does not show (a message-store event's ``direction``).
    """
    found = spec_for_path(event_path)
    if found is None:
        return False
    event_spec, event_ids = found
    own = parsed.spec
    if event_spec.name == own.name:
        if any(parsed.ids.get(key) != value for key, value in event_ids.items()):
            return False
    elif AGGREGATES.get(own.name) == event_spec.name:
        if event_ids.get("accountId") != parsed.account_id:
            return False
    else:
        return False
    return _selected(parsed, body, attributes or {})


def _selected(parsed: ParsedFilter, body: Mapping[str, Any], attributes: Mapping[str, str]) -> bool:
    params = parsed.params
    name = parsed.spec.name
    if name.endswith("telephony-sessions"):
        return any(_party_selected(params, party) for party in _parties_of(parsed, body))
    if name == "message-store":
        types = {str(change.get("type", "")).lower() for change in body.get("changes", ()) if isinstance(change, dict)}
        if "type" in params and params["type"].lower() not in types:
            return False
        return "direction" not in params or attributes.get("direction", params["direction"]) == params["direction"]
    if name in ("fax", "instant-sms"):
        return all(str(body.get(key)) == wanted for key, wanted in params.items())
    return True


def _parties_of(parsed: ParsedFilter, body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parties = [p for p in body.get("parties", ()) if isinstance(p, Mapping)]
    if parsed.spec.level == "extension":
        own = [p for p in parties if str(p.get("extensionId")) == parsed.extension_id]
        return own or parties
    return parties


def _digits(number: object) -> str:
    return str(number or "").lstrip("+")


def _party_selected(params: Mapping[str, str], party: Mapping[str, Any]) -> bool:
    status = party.get("status")
    if not isinstance(status, Mapping):
        status = {}
    if "direction" in params and party.get("direction") != params["direction"]:
        return False
    if "statusCode" in params and status.get("code") != params["statusCode"]:
        return False
    if params.get("missedCall") == "true" and party.get("missedCall") is not True:
        return False
    if params.get("withRecordings") == "true" and not party.get("recordings"):
        return False
    if "phoneNumber" in params:
        ends = (party.get("from"), party.get("to"))
        numbers = {_digits(end.get("phoneNumber")) for end in ends if isinstance(end, Mapping)}
        if _digits(params["phoneNumber"]) not in numbers:
            return False
    return True


def body_for(parsed: ParsedFilter, event_path: str, body: Mapping[str, Any],
             attributes: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The body ``parsed`` receives for this event (a deep copy, shaped by its parameters), or None.

    Event bodies are built in their fullest form; a filter without ``sipData=true`` gets the parties
    without ``sipData``, and a presence filter without ``detailedTelephonyState=true`` gets no
    ``activeCalls``/``totalActiveCalls``.
    """
    if not matches(parsed, event_path, body, attributes):
        return None
    shaped = copy.deepcopy(dict(body))
    sip = parsed.params.get("sipData") == "true"
    if parsed.spec.name.endswith("telephony-sessions") and not sip:
        for party in shaped.get("parties", ()):
            if isinstance(party, dict):
                party.pop("sipData", None)
    if parsed.spec.name in ("extension-presence", "account-presence"):
        if parsed.params.get("detailedTelephonyState") != "true":
            shaped.pop("activeCalls", None)
            shaped.pop("totalActiveCalls", None)
        elif not sip:
            for call in shaped.get("activeCalls", ()):
                if isinstance(call, dict):
                    call.pop("sipData", None)
    return shaped


def envelope_event(parsed: ParsedFilter, event_path: str) -> str:
    """The envelope's ``event`` for an event reaching ``parsed``: the filter as returned by the API, except
    that an account-level filter receiving an extension's event names that extension's resource path
    (as the examples of ``account-presence.md`` and ``account-telephony-sessions.md`` show)."""
    found = spec_for_path(event_path)
    if found is not None and AGGREGATES.get(parsed.spec.name) == found[0].name:
        return event_path
    return parsed.expanded
