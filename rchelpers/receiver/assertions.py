"""Assertions on what a :class:`~rchelpers.WebhookReceiver` accepted, with a failure that tells the story.

:func:`assert_received` (also ``rx.assert_received(...)``) checks the events a receiver accepted; on failure
the message lists every event that arrived (marking the matching ones), the refused requests with their
reasons, and the duplicate and validation counts. ``event`` is a kind (see :data:`EVENT_KINDS`) or an event
filter such as ``presence_filter()`` (``~`` matches any account or extension; the filter's query parameters
must be in the event's; ``None`` matches every event). :mod:`rchelpers.testing` re-exports these names.
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Protocol
from urllib.parse import parse_qsl

from rchelpers.receiver.event import WebhookEvent

if TYPE_CHECKING:
    from rchelpers.receiver.webhook_receiver import WebhookReceiver

__all__ = ["EVENT_KINDS", "assert_received", "event_matches", "describe_event", "short_json", "wanted_text"]

_PREFIX = "/restapi/v1.0"
_TELEPHONY_SESSIONS = r"/restapi/v1\.0/account/[^/]+/(extension/[^/]+/)?telephony/sessions"
#: The kinds ``event=`` accepts, and the resource path each one's events have. A kind is also the name of
#: the simulator's sample event that sends it (``rc_sim.trigger("voicemail")``), except ``reminder``.
EVENT_KINDS: dict[str, re.Pattern[str]] = {
    "presence": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/presence"),
    "message_store": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/message-store"),
    "instant_sms": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/message-store/instant"),
    "extension_info": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+"),
    "extension_list": re.compile(r"/restapi/v1\.0/account/[^/]+/extension"),
    "telephony_sessions": re.compile(_TELEPHONY_SESSIONS),
    #: a telephony-session event of a missed call: see :func:`event_matches`
    "missed_call": re.compile(_TELEPHONY_SESSIONS),
    "voicemail": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/voicemail"),
    "fax": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/fax"),
    "dnd": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/presence/dnd"),
    "presence_line": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/presence/line"),
    "reminder": re.compile(r"/restapi/v1\.0/subscription/.*"),
}
#: Other names of a kind: the simulator's sample event ``telephony_session`` is a ``telephony_sessions`` event.
_KIND_ALIASES = {"telephony_session": "telephony_sessions"}
_SHOWN = 30  # events listed in a failure message (the newest)


class _Clock(Protocol):
    def now(self) -> float: ...

    def advance(self, seconds: float) -> int: ...


# --- matching -----------------------------------------------------------------------------------------
def event_matches(event: str | None, wanted: str | None, body: Any = None) -> bool:
    """True when the event path ``event`` is of kind ``wanted`` or matches the filter ``wanted`` (None: any).

    The kind ``missed_call`` is a telephony-session event whose filter asks for missed calls
    (``missedCall=true``) or whose ``body`` (when given) has a party with ``missedCall`` true.
    """
    if wanted is None:
        return True
    if not event:
        return False
    path, _, query = event.partition("?")
    if not wanted.startswith("/"):
        kind = wanted.strip().lower().replace("-", "_")
        kind = _KIND_ALIASES.get(kind, kind)
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {wanted!r}: use one of {', '.join(EVENT_KINDS)}, "
                             "or an event filter such as presence_filter()")
        if EVENT_KINDS[kind].fullmatch(path) is None:
            return False
        return kind != "missed_call" or dict(parse_qsl(query)).get("missedCall") == "true" or _missed(body)
    wanted_path, _, wanted_query = wanted.partition("?")
    if not wanted_path.startswith("/restapi/"):
        wanted_path = _PREFIX + wanted_path
    want, got = wanted_path.rstrip("/").split("/"), path.rstrip("/").split("/")
    if len(want) != len(got) or any(w not in ("~", g) for w, g in zip(want, got)):
        return False
    params = dict(parse_qsl(query))
    return all(params.get(name) == value for name, value in parse_qsl(wanted_query))


def _missed(body: Any) -> bool:
    parties = body.get("parties") if isinstance(body, dict) else None
    return isinstance(parties, list) and any(isinstance(p, dict) and p.get("missedCall") is True for p in parties)


def describe_event(event: str | None) -> str:
    """A short name for the event path ``event``: its kind (a reminder with its query), else the path."""
    if not event:
        return "<no event>"
    path = event.partition("?")[0]
    for kind, pattern in EVENT_KINDS.items():
        if pattern.fullmatch(path):
            return kind if kind != "reminder" else f"reminder {event[len(_PREFIX):]}"
    return event if len(event) <= 70 else event[:67] + "..."


def short_json(value: Any, limit: int = 110) -> str:
    """``value`` as compact JSON, cut to ``limit`` characters (ending in ``...`` when cut)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def wanted_text(event: str | None, count: int | None, predicate: Callable[..., bool] | None) -> str:
    """What an assertion expected, in words: ``"exactly 2 'presence' event(s) matching is_busy"``."""
    what = "event(s)" if event is None else f"{event!r} event(s)"
    amount = "at least 1" if count is None else f"exactly {count}"
    matching = "" if predicate is None else f" matching {getattr(predicate, '__name__', repr(predicate))}"
    return f"{amount} {what}{matching}"


# --- the receiver -------------------------------------------------------------------------------------
def assert_received(
    receiver: WebhookReceiver,
    event: str | None = None,
    *,
    count: int | None = None,
    predicate: Callable[[WebhookEvent], bool] | None = None,
    within: float | None = None,
    clock: _Clock | None = None,
    step: float = 1.0,
) -> list[WebhookEvent]:
    """Assert that the receiver accepted events of ``event``; return the matching ones, oldest first.

    :param event: a kind (``"presence"``, ``"reminder"``, ...) or an event filter; None for any event.
    :param count: exactly this many must match (0: none); None: at least one.
    :param predicate: a further test on each :class:`~rchelpers.WebhookEvent` (e.g. on ``event.body``).
    :param within: wait up to this many seconds for them: real seconds, or simulated ones with ``clock``.
    :param clock: the simulator's clock (``rc_clock``): it is advanced in ``step`` seconds until the
        events are there or ``within`` simulated seconds have passed, and stays where it stopped.
    :raises AssertionError: the message lists every event that arrived, marking the matching ones, and
        the refused requests with their reasons.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and the story, not this function's body
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError(f"count must be a whole number >= 0 (or None for at least one), not {count!r}")
    if within is not None and within < 0:
        raise ValueError(f"within must be a number of seconds >= 0, not {within!r}")
    if step <= 0:
        raise ValueError(f"step must be a positive number of simulated seconds, not {step!r}")
    event_matches("/", event)  # an unknown kind raises ValueError now, not after the wait

    def matching() -> list[WebhookEvent]:
        return [e for e in receiver.events
                if event_matches(e.event, event, e.body) and (predicate is None or predicate(e))]

    def done(found: list[WebhookEvent]) -> bool:  # count=0 waits the whole time: nothing may arrive
        return count != 0 and len(found) >= (count or 1)

    found = matching()
    if within and not done(found):
        if clock is None:
            deadline = time.monotonic() + within
            while not done(found) and time.monotonic() < deadline:
                time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
                found = matching()
        else:
            left = float(within)
            while not done(found) and left > 1e-9:
                moved = min(step, left)
                clock.advance(moved)
                left -= moved
                found = matching()
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    raise AssertionError(_received_story(receiver, event, count, predicate, within, clock, found))


def _received_story(receiver: WebhookReceiver, event: str | None, count: int | None,
                    predicate: Callable[..., bool] | None, within: float | None, clock: _Clock | None,
                    found: list[WebhookEvent]) -> str:
    if within:
        waited = f" within {within:g} simulated s" if clock is not None else f" within {within:g} s"
    else:
        waited = ""
    lines = [f"expected {wanted_text(event, count, predicate)}{waited} at {receiver!r}; {len(found)} matched."]
    if clock is not None:
        lines.append(f"simulated time is now {datetime.fromtimestamp(clock.now(), timezone.utc):%Y-%m-%dT%H:%M:%SZ}.")
    events = receiver.events
    matched = {id(e) for e in found}
    lines.append(f"arrived: {len(events)} event(s)" + (" (+ matched, - did not):" if events
                                                       else " (nothing reached this receiver)."))
    if len(events) > _SHOWN:
        lines.append(f"  ... {len(events) - _SHOWN} older event(s) not shown")
    for number, e in enumerate(events[-_SHOWN:], start=max(1, len(events) - _SHOWN + 1)):
        mark = "+" if id(e) in matched else "-"
        lines.append(f"  {mark} {number}. {e.timestamp or '?'} {describe_event(e.event)} "
                     f"sub={e.subscription_id} uuid={e.uuid} body={short_json(e.body)}")
    rejected = receiver.rejected
    if rejected:
        lines.append(f"refused: {len(rejected)} request(s):")
        for r in rejected[-_SHOWN:]:
            lines.append(f"  {r.status} {r.reason}: {r.method} {r.path} from {r.remote}")
    stats = receiver.stats
    lines.append(f"also: {stats.duplicates} redelivered uuid(s) acknowledged without storing, "
                 f"{stats.validation_requests} validation request(s).")
    if not receiver.running:
        lines.append("the receiver is not running.")
    return "\n".join(lines)
