"""Assertions that tell the story when they fail: what arrived at a receiver, what the platform delivered.

:func:`assert_received` checks the events a :class:`~rchelpers.WebhookReceiver` accepted (also reachable
as ``rx.assert_received(...)``); :func:`assert_delivered` checks the embedded platform's delivery log
(attempts, status codes, retries) and its subscriptions' status (blacklisting), for apps whose own
receiver is under test. On failure the message lists what did arrive (and what was refused, with the
reason), or every delivery attempt and each subscription's status.

``event`` is a kind (``"presence"``, ``"message_store"``, ``"instant_sms"``, ``"extension_info"``,
``"extension_list"``, ``"telephony_sessions"``, ``"reminder"``) or an event filter such as
``presence_filter()`` (``~`` matches any account or extension; the filter's query parameters must be
in the event's; ``None`` matches every event).
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from rchelpers import WebhookEvent, WebhookReceiver

__all__ = ["EVENT_KINDS", "assert_delivered", "assert_received", "event_matches"]

_PREFIX = "/restapi/v1.0"
#: The kinds ``event=`` accepts, and the resource path each one's events have.
EVENT_KINDS: dict[str, re.Pattern[str]] = {
    "presence": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/presence"),
    "message_store": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/message-store"),
    "instant_sms": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+/message-store/instant"),
    "extension_info": re.compile(r"/restapi/v1\.0/account/[^/]+/extension/[^/]+"),
    "extension_list": re.compile(r"/restapi/v1\.0/account/[^/]+/extension"),
    "telephony_sessions": re.compile(r"/restapi/v1\.0/account/[^/]+/(extension/[^/]+/)?telephony/sessions"),
    "reminder": re.compile(r"/restapi/v1\.0/subscription/.*"),
}
_SHOWN = 30  # events or attempts listed in a failure message (the newest)


class _Clock(Protocol):
    def now(self) -> float: ...

    def advance(self, seconds: float) -> int: ...


# --- matching -----------------------------------------------------------------------------------------
def event_matches(event: str | None, wanted: str | None) -> bool:
    """True when the event path ``event`` is of kind ``wanted`` or matches the filter ``wanted`` (None: any)."""
    if wanted is None:
        return True
    if not event:
        return False
    path, _, query = event.partition("?")
    if not wanted.startswith("/"):
        kind = wanted.strip().lower().replace("-", "_")
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {wanted!r}: use one of {', '.join(EVENT_KINDS)}, "
                             "or an event filter such as presence_filter()")
        return EVENT_KINDS[kind].fullmatch(path) is not None
    wanted_path, _, wanted_query = wanted.partition("?")
    if not wanted_path.startswith("/restapi/"):
        wanted_path = _PREFIX + wanted_path
    want, got = wanted_path.rstrip("/").split("/"), path.rstrip("/").split("/")
    if len(want) != len(got) or any(w not in ("~", g) for w, g in zip(want, got)):
        return False
    params = dict(parse_qsl(query))
    return all(params.get(name) == value for name, value in parse_qsl(wanted_query))


def _describe_event(event: str | None) -> str:
    if not event:
        return "<no event>"
    path = event.partition("?")[0]
    for kind, pattern in EVENT_KINDS.items():
        if pattern.fullmatch(path):
            return kind if kind != "reminder" else f"reminder {event[len(_PREFIX):]}"
    return event if len(event) <= 70 else event[:67] + "..."


def _short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _wanted(event: str | None, count: int | None, predicate: Callable[..., bool] | None) -> str:
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
        return [e for e in receiver.events if event_matches(e.event, event) and (predicate is None or predicate(e))]

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
    lines = [f"expected {_wanted(event, count, predicate)}{waited} at {receiver!r}; {len(found)} matched."]
    if clock is not None:
        from datetime import datetime, timezone

        lines.append(f"simulated time is now {datetime.fromtimestamp(clock.now(), timezone.utc):%Y-%m-%dT%H:%M:%SZ}.")
    events = receiver.events
    matched = {id(e) for e in found}
    lines.append(f"arrived: {len(events)} event(s)" + (" (+ matched, - did not):" if events
                                                       else " (nothing reached this receiver)."))
    if len(events) > _SHOWN:
        lines.append(f"  ... {len(events) - _SHOWN} older event(s) not shown")
    for number, e in enumerate(events[-_SHOWN:], start=max(1, len(events) - _SHOWN + 1)):
        mark = "+" if id(e) in matched else "-"
        lines.append(f"  {mark} {number}. {e.timestamp or '?'} {_describe_event(e.event)} "
                     f"sub={e.subscription_id} uuid={e.uuid} body={_short(e.body)}")
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


# --- the platform's delivery log ------------------------------------------------------------------------
def _base_url(sim: Any) -> str:
    url = sim if isinstance(sim, str) else getattr(sim, "url", None)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TypeError(f"assert_delivered needs the simulator (rc_sim) or its base URL, not {sim!r}")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the simulator's control routes)
        return json.loads(response.read())


def assert_delivered(
    sim: Any,
    event: str | None = None,
    *,
    subscription_id: str | None = None,
    ok: bool | None = None,
    status: int | None = None,
    attempt: int | None = None,
    count: int | None = None,
    predicate: Callable[[dict[str, Any]], bool] | None = None,
    blacklisted: bool | None = None,
) -> list[dict[str, Any]]:
    """Assert on the simulator's delivery log; return the matching attempts (``/_sim/deliveries`` records).

    :param sim: the Simulator (``rc_sim``) or the base URL of a standalone one.
    :param event: a kind or an event filter (see the module docstring); None for any.
    :param subscription_id: only this subscription's attempts.
    :param ok: only successful (True) or failed (False) attempts.
    :param status: only attempts answered with this HTTP status.
    :param attempt: only this attempt number (1 is the first try, 2 the first retry, ...).
    :param count: exactly this many attempts must match (0: none); None: at least one.
    :param predicate: a further test on each attempt's record (keys ``uuid``, ``subscriptionId``,
        ``event``, ``attempt``, ``ok``, ``status``, ``error``, ``simulatedTime``, ...).
    :param blacklisted: True: the subscription (``subscription_id``, else each one whose attempts matched)
        must be ``Blacklisted``; False: it must not be.
    :raises AssertionError: the message lists the delivery log and every subscription's status.

    With a flowing clock call ``rc_sim.wait_for_deliveries()`` first; a frozen one settles them itself.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and the story, not this function's body
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError(f"count must be a whole number >= 0 (or None for at least one), not {count!r}")
    base = _base_url(sim)
    records: list[dict[str, Any]] = _get_json(base + "/_sim/deliveries")["records"]
    subscriptions: list[dict[str, Any]] = _get_json(base + "/_sim/state")["subscriptions"]
    found = [a for a in records
             if event_matches(a.get("event"), event)
             and (subscription_id is None or a.get("subscriptionId") == subscription_id)
             and (ok is None or a.get("ok") is ok)
             and (status is None or a.get("status") == status)
             and (attempt is None or a.get("attempt") == attempt)
             and (predicate is None or predicate(a))]
    problems: list[str] = []
    if count is None and not found:
        problems.append("no attempt matched")
    elif count is not None and len(found) != count:
        problems.append(f"{len(found)} attempt(s) matched, not {count}")
    if blacklisted is not None:
        ids = [subscription_id] if subscription_id else sorted({a["subscriptionId"] for a in found})
        statuses = {s.get("id"): s.get("status") for s in subscriptions}
        if not ids:
            problems.append("no subscription to check for blacklisting (give subscription_id=)")
        for sid in ids:
            is_blacklisted = statuses.get(sid) == "Blacklisted"
            if is_blacklisted is not blacklisted:
                problems.append(f"subscription {sid} is {statuses.get(sid, 'gone (deleted or expired)')}, "
                                f"expected {'Blacklisted' if blacklisted else 'not Blacklisted'}")
    if not problems:
        return found
    raise AssertionError(_delivery_story(records, subscriptions, found, problems, event, subscription_id, ok,
                                         status, attempt, count, predicate))


def _delivery_story(records: Sequence[dict[str, Any]], subscriptions: Sequence[dict[str, Any]],
                    found: Sequence[dict[str, Any]], problems: list[str], event: str | None,
                    subscription_id: str | None, ok: bool | None, status: int | None, attempt: int | None,
                    count: int | None, predicate: Callable[..., bool] | None) -> str:
    filters = [f"{name}={value!r}" for name, value in (("subscription_id", subscription_id), ("ok", ok),
                                                        ("status", status), ("attempt", attempt))
               if value is not None]
    wanted = _wanted(event, count, predicate).replace("event(s)", "delivery attempt(s)")
    lines = [f"expected {wanted}" + (f" with {', '.join(filters)}" if filters else "") + f": {'; '.join(problems)}."]
    matched = {a.get("id") for a in found}
    lines.append(f"delivery log: {len(records)} attempt(s)" + (" (+ matched, - did not):" if records
                                                             else " (nothing was delivered)."))
    if len(records) > _SHOWN:
        lines.append(f"  ... {len(records) - _SHOWN} older attempt(s) not shown")
    for a in records[-_SHOWN:]:
        mark = "+" if a.get("id") in matched else "-"
        outcome = f"{a.get('status')} ok" if a.get("ok") else f"failed: {a.get('error') or a.get('status')}"
        replay = " (replay)" if a.get("replay") else ""
        lines.append(f"  {mark} #{a.get('id')} {a.get('simulatedTime')} attempt {a.get('attempt')}{replay} "
                     f"{_describe_event(a.get('event'))} sub={a.get('subscriptionId')} uuid={a.get('uuid')} -> {outcome}")
    lines.append(f"subscriptions: {len(subscriptions)}" + (":" if subscriptions else "."))
    for s in subscriptions:
        address = (s.get("deliveryMode") or {}).get("address")
        extra = f" blacklistedData={_short(s['blacklistedData'])}" if s.get("blacklistedData") else ""
        lines.append(f"  {s.get('id')} {s.get('status')} {address}{extra}")
    return "\n".join(lines)
