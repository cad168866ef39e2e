"""Assertions that tell the story when they fail: what arrived at a receiver, what the platform delivered.

:func:`assert_received` (from :mod:`rchelpers.receiver.assertions`) checks the events a
:class:`~rchelpers.WebhookReceiver` accepted (also reachable as ``rx.assert_received(...)``); :func:`assert_delivered` checks the embedded platform's delivery log
(attempts, status codes, retries) and its subscriptions' status (blacklisting), for apps whose own
receiver is under test. On failure the message lists what did arrive (and what was refused, with the
reason), or every delivery attempt and each subscription's status.

``event`` is a kind (a key of :data:`EVENT_KINDS`: ``"presence"``, ``"message_store"``, ``"instant_sms"``,
``"extension_info"``, ``"extension_list"``, ``"telephony_sessions"``, ``"missed_call"``, ``"voicemail"``,
``"fax"``, ``"dnd"``, ``"presence_line"``, ``"reminder"``: the simulator's sample events go by the same
names) or an event filter such as ``presence_filter()`` (``~`` matches any account or extension; the
filter's query parameters must be in the event's; ``None`` matches every event). The delivery log has no
bodies, so there ``missed_call`` matches the attempts of filters with ``missedCall=true`` only.
"""
from __future__ import annotations

import json
import urllib.request
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from rchelpers.receiver.assertions import (
    EVENT_KINDS,
    assert_received,
    describe_event,
    event_matches,
    short_json,
    wanted_text,
)

__all__ = ["EVENT_KINDS", "assert_delivered", "assert_received", "event_matches"]

_SHOWN = 30  # attempts listed in a failure message (the newest)


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
    wanted = wanted_text(event, count, predicate).replace("event(s)", "delivery attempt(s)")
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
                     f"{describe_event(a.get('event'))} sub={a.get('subscriptionId')} uuid={a.get('uuid')} -> {outcome}")
    lines.append(f"subscriptions: {len(subscriptions)}" + (":" if subscriptions else "."))
    for s in subscriptions:
        address = (s.get("deliveryMode") or {}).get("address")
        extra = f" blacklistedData={short_json(s['blacklistedData'])}" if s.get("blacklistedData") else ""
        lines.append(f"  {s.get('id')} {s.get('status')} {address}{extra}")
    return "\n".join(lines)
