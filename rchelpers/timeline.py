"""A subscription's life on the platform's clock: created, renewed, reminders, deliveries, retries, blacklisted,
expiry, and the state sequence of the calls it was told about.

::

    timeline = Timeline.build(sub, snapshots=[renewed, now], deliveries=sim.deliveries)
    timeline            # in a notebook: a picture (SVG); its text form is what nbval compares
    print(timeline)     # one line per moment, times relative to the creation

It is built from data a notebook already has: the subscription's JSON as the platform answered it at
different moments (``snapshots``: each answer tells when it was made, ``expirationTime - expiresIn``),
and the delivery attempts (the simulator's ``sim.deliveries`` or the JSON of ``GET /_sim/deliveries``;
on the real platform, the receiver's events: ``events=rx.events``). Telephony-session events among
``events`` draw each call's states (Setup, Proceeding, Answered, Disconnected, VoiceMail, ...) on a lane of
their own. It never reads the real clock, so its text and picture are the same on every run of a seeded
simulator.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from rchelpers.client.subscriptions import Subscription
from rchelpers.receiver.event import REMINDER_EVENT_PREFIX, WebhookEvent

__all__ = ["Moment", "Timeline"]

_TELEPHONY_SESSIONS = "/telephony/sessions"
#: The kinds of moment, in the order of the picture's lanes, with their colour.
KINDS: dict[str, str] = {
    "created": "#1a73e8",
    "reminder": "#e37400",
    "renewed": "#1a73e8",
    "delivered": "#137333",
    "failed": "#b3261e",
    "blacklisted": "#000000",
    "expires": "#5f6368",
    "expired": "#5f6368",
    "call": "#8430ce",
}
_LANES = {"created": 0, "renewed": 0, "expires": 0, "expired": 0, "reminder": 1, "delivered": 2, "failed": 2,
          "blacklisted": 2, "call": 3}
#: The picture's lanes; the last one, ``calls``, only when there are call states to draw.
_LANE_NAMES = ("lifetime", "reminders", "deliveries", "calls")


@dataclass(frozen=True)
class Moment:
    """One thing that happened to the subscription, at a time of the platform's clock."""

    at: datetime
    kind: str  #: one of :data:`KINDS`
    detail: str = ""
    label: str = ""  #: a short name written next to the mark in the picture (a call's state)
    call: int = 0  #: for a call state: the call's number in this timeline (1, 2, ...), else 0
    late: bool = False  #: for a call state: a later state of the same call had arrived before it

    def sort_key(self) -> tuple[datetime, int]:
        """Time first; at the same time, the order of :data:`KINDS` (a reminder, then the renewal it may cause)."""
        return self.at, list(KINDS).index(self.kind)


@dataclass
class _LabelRow:
    """A row of mark names beside a lane: its offset from the lane's line, the least gap between two names
    (pixels), and where the last name was written."""

    offset: float
    gap: float
    last_x: float = -100.0


class Timeline:
    """The moments of one subscription's life, oldest first; ``repr`` is the text form, the picture is SVG."""

    def __init__(self, subscription_id: str, moments: Iterable[Moment], *, start: datetime | None = None) -> None:
        self.subscription_id = subscription_id
        self.moments: list[Moment] = sorted(moments, key=Moment.sort_key)
        if start is None:
            start = self.moments[0].at if self.moments else datetime(1970, 1, 1, tzinfo=timezone.utc)
        self.start = start

    @classmethod
    def build(
        cls,
        subscription: Subscription,
        *,
        snapshots: Sequence[Subscription] = (),
        deliveries: Iterable[Any] = (),
        events: Iterable[WebhookEvent] = (),
        now: datetime | str | None = None,
    ) -> Timeline:
        """The timeline of ``subscription`` from what the platform answered and delivered.

        ``subscription`` is the create answer; ``snapshots`` later answers about it (a renewal, a read),
        in order: an answer with a later ``expirationTime`` is a renewal, ``Blacklisted`` with
        ``blacklistedData`` a blacklisting. ``deliveries`` are delivery attempts (objects with
        ``to_dict()`` or the JSON dicts of ``/_sim/deliveries``); without them, ``events`` (the
        receiver's) give the deliveries that arrived (a call's state on the calls lane only). The end is
        shown as *expired* when it is before ``now`` (default: the latest moment known), else as *expires*.

        The telephony-session events among ``events`` are also the calls' states, on the *calls* lane: each
        at its ``eventTime``, with the status code of the subscriber's party, the call's number in this
        timeline, its ``sequence``, ``missed`` for a missed call, and ``arrived after sequence N`` when a
        later state of the same call (``telephonySessionId``) arrived before it (``events`` in arrival order).
        """
        sid = subscription.id
        events = list(events)
        moments: list[Moment] = []
        created = subscription.creation_time or _answered_at(subscription)
        if created is not None:
            moments.append(Moment(created, "created", f"lifetime {_duration(subscription.expires_in)}"))
        expiration = subscription.expiration_time
        expirations: list[tuple[datetime, datetime]] = [(created, expiration)] if created and expiration else []
        blacklisted = False
        for snapshot in snapshots:
            if snapshot.id != sid:
                raise ValueError(f"snapshot of subscription {snapshot.id[:8]} given for {sid[:8]}")
            at = _answered_at(snapshot)
            if snapshot.expiration_time and expiration and snapshot.expiration_time > expiration and at is not None:
                moments.append(Moment(at, "renewed", f"now expires {_clock(snapshot.expiration_time)}"))
            if snapshot.expiration_time:
                expiration = snapshot.expiration_time
                if at is not None:
                    expirations.append((at, expiration))
            data = snapshot.blacklisted_data or {}
            if not blacklisted and snapshot.status == "Blacklisted" and data.get("blacklistedAt"):
                blacklisted = True
                moments.append(Moment(_parse_time(data["blacklistedAt"]), "blacklisted", str(data.get("reason", ""))[:60]))
        attempts = [_attempt_dict(d) for d in deliveries]
        attempts = [a for a in attempts if a.get("subscriptionId") == sid]
        if attempts:
            for a in attempts:
                at = _parse_time(a["simulatedTime"])
                event_filter = str(a.get("event") or "")
                label = "reminder" if event_filter.startswith(REMINDER_EVENT_PREFIX) else _event_name(event_filter)
                if a.get("ok"):
                    kind = "reminder" if label == "reminder" else "delivered"
                    detail = label if kind == "delivered" else _time_left(expirations, at)
                else:
                    kind, detail = "failed", f"{label}, attempt {a.get('attempt')}: {_short_error(a)}"
                if a.get("replay"):
                    detail += " (redelivery)"
                moments.append(Moment(at, kind, detail))
        else:
            for event in events:
                if event.subscription_id != sid or not event.timestamp or _is_call_state(event):
                    continue  # a call's state is drawn on the calls lane
                at = _parse_time(event.timestamp)
                if event.is_reminder:
                    left = event.body.get("expiresIn") if isinstance(event.body, dict) else None
                    moments.append(Moment(at, "reminder", f"expiresIn={left}"))
                else:
                    moments.append(Moment(at, "delivered", _event_name(event.event or "")))
        moments.extend(_call_moments(e for e in events if e.subscription_id == sid))
        latest = max((m.at for m in moments), default=None)
        current = _parse_time(now) if isinstance(now, str) else now or latest
        if expiration is not None and not blacklisted:
            ended = current is not None and expiration <= current
            moments.append(Moment(expiration, "expired" if ended else "expires", ""))
        return cls(sid, moments, start=created)

    def lines(self) -> list[str]:
        """The text form, one line per moment: offset from the start, kind, detail."""
        head = f"Timeline of subscription {self.subscription_id[:8]} (platform clock, from {_clock(self.start)})"
        rows = [f"  {'+' + _duration((m.at - self.start).total_seconds()):>9}  {m.kind:<11} {m.detail}".rstrip()
                for m in self.moments]
        return [head, *rows]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def svg(self, width: int = 720) -> str:
        """The picture: lanes (lifetime, reminders, deliveries, and calls if any) on a time axis, one mark per
        moment; each call is a bar from its first state to its last, each state named unless crowded, a state
        that arrived after a later one hollow."""
        left, right, lane_height, top = 90, 40, 28, 26
        lane_names = _LANE_NAMES if any(m.kind == "call" for m in self.moments) else _LANE_NAMES[:3]
        height = top + lane_height * len(lane_names) + 30 + (8 if len(lane_names) > 3 else 0)
        span = max((m.at - self.start).total_seconds() for m in self.moments) if self.moments else 0.0
        span = max(span, 1.0)

        def x(at: datetime) -> float:
            return left + (width - left - right) * (at - self.start).total_seconds() / span

        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
                 "font-family='sans-serif' font-size='11'>",
                 f"<text x='4' y='14' font-weight='bold'>subscription {html.escape(self.subscription_id[:8])}</text>"]
        for index, name in enumerate(lane_names):
            y = top + lane_height * index + lane_height / 2
            parts.append(f"<text x='4' y='{y + 4:.0f}'>{name}</text>")
            parts.append(f"<line x1='{left}' y1='{y:.0f}' x2='{width - right}' y2='{y:.0f}' stroke='#dadce0'/>")
        lifetime = [m for m in self.moments if _LANES[m.kind] == 0]
        y0 = top + lane_height / 2
        for begin, end in zip(lifetime, lifetime[1:]):
            parts.append(f"<line x1='{x(begin.at):.1f}' y1='{y0:.0f}' x2='{x(end.at):.1f}' y2='{y0:.0f}' "
                         "stroke='#1a73e8' stroke-width='4' opacity='0.35'/>")
        y3 = top + lane_height * 3 + lane_height / 2
        for number in sorted({m.call for m in self.moments if m.kind == "call"}):
            states = [m for m in self.moments if m.kind == "call" and m.call == number]
            parts.append(f"<line x1='{x(states[0].at):.1f}' y1='{y3:.0f}' x2='{x(states[-1].at):.1f}' "
                         f"y2='{y3:.0f}' stroke='{KINDS['call']}' stroke-width='4' opacity='0.35'/>")
        # the marks of the lifetime are named above them, a call's states above or else below, unless crowded
        label_rows = {0: [_LabelRow(-9, 50)], 3: [_LabelRow(-9, 56), _LabelRow(15, 56)]}
        late: list[str] = []
        for m in self.moments:
            y = top + lane_height * _LANES[m.kind] + lane_height / 2
            colour = KINDS[m.kind]
            title = html.escape(f"+{_duration((m.at - self.start).total_seconds())} {m.kind} {m.detail}".strip())
            fill = f"fill='white' stroke='{colour}' stroke-width='2'" if m.late else f"fill='{colour}'"
            shape = (f"<rect x='{x(m.at) - 5:.1f}' y='{y - 5:.0f}' width='10' height='10' {fill}>"
                     if m.kind in ("failed", "blacklisted", "expired", "expires")
                     else f"<circle cx='{x(m.at):.1f}' cy='{y:.0f}' r='5' {fill}>")
            closing = "</rect>" if shape.startswith("<rect") else "</circle>"
            (late if m.late else parts).append(f"{shape}<title>{title}</title>{closing}")
            for row in label_rows.get(_LANES[m.kind], []):
                if x(m.at) - row.last_x >= row.gap:
                    row.last_x = x(m.at)
                    parts.append(f"<text x='{x(m.at):.1f}' y='{y + row.offset:.0f}' text-anchor='middle' font-size='9' "
                                 f"fill='#5f6368'>{html.escape(m.label or m.kind)}</text>")
                    break
        parts.extend(late)  # a state that arrived late, hollow, on top of its neighbours
        axis_y = top + lane_height * len(lane_names) + 14 + (8 if len(lane_names) > 3 else 0)
        for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
            tick = left + (width - left - right) * fraction
            parts.append(f"<text x='{tick:.1f}' y='{axis_y}' text-anchor='middle' fill='#5f6368'>"
                         f"+{_duration(span * fraction if span > 1 else 0)}</text>")
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        hidden = {"renewed", "expired"} | (set() if any(m.kind == "call" for m in self.moments) else {"call"})
        legend = " ".join(f"<span style='color:{colour}'>■ {kind}</span>" for kind, colour in KINDS.items()
                          if kind not in hidden)
        if any(m.late for m in self.moments):
            legend += f" <span style='color:{KINDS['call']}'>○ arrived late</span>"
        return f"<div>{self.svg()}<div style='font:11px sans-serif'>{legend}</div></div>"


def _call_moments(events: Iterable[WebhookEvent]) -> list[Moment]:
    """The calls' states told by the telephony-session ``events`` (in arrival order), oldest first; calls are
    numbered by their first ``eventTime``; the subscriber's party is the one whose ``extensionId`` is the
    event's ``ownerId`` (else the first)."""
    states: list[tuple[datetime, str, int, str, bool, int | None]] = []
    highest: dict[str, int] = {}
    for event in events:
        if not _is_call_state(event):
            continue
        body = event.body
        session = str(body.get("telephonySessionId") or body.get("sessionId") or "?")
        when = body.get("eventTime") or event.timestamp
        if not when:
            continue
        sequence = body.get("sequence")
        sequence = sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else -1
        party = _own_party(body, event.owner_id)
        status = party.get("status")
        status = status if isinstance(status, dict) else {}
        late = highest[session] if session in highest and sequence < highest[session] else None
        highest[session] = max(highest.get(session, sequence), sequence)
        states.append((_parse_time(str(when)), session, sequence, str(status.get("code") or "?"),
                       party.get("missedCall") is True, late))
    first_seen: dict[str, datetime] = {}
    for at, session, *_ in states:
        first_seen[session] = min(at, first_seen.get(session, at))
    numbers = {session: n for n, session in enumerate(sorted(first_seen, key=lambda s: (first_seen[s], s)), 1)}
    moments = []
    for at, session, sequence, code, missed, late in sorted(states, key=lambda s: (s[0], numbers[s[1]], s[2])):
        detail = f"{code:<12} call {numbers[session]}, sequence {sequence if sequence >= 0 else '?'}"
        detail += ", missed" if missed else ""
        detail += f", arrived after sequence {late}" if late is not None else ""
        moments.append(Moment(at, "call", detail, label=code, call=numbers[session], late=late is not None))
    return moments


def _is_call_state(event: WebhookEvent) -> bool:
    return _TELEPHONY_SESSIONS in (event.event or "").split("?", 1)[0] and isinstance(event.body, dict)


def _own_party(body: Mapping[str, Any], owner_id: str | None) -> Mapping[str, Any]:
    parties = [p for p in body.get("parties") or () if isinstance(p, dict)]
    for party in parties:
        if owner_id is not None and str(party.get("extensionId")) == owner_id:
            return party
    return parties[0] if parties else {}


def _attempt_dict(attempt: Any) -> Mapping[str, Any]:
    if isinstance(attempt, Mapping):
        return attempt
    to_dict = getattr(attempt, "to_dict", None)
    if callable(to_dict):
        as_dict: Mapping[str, Any] = to_dict()
        return as_dict
    raise TypeError(f"a delivery attempt must be a dict or have to_dict(), got {type(attempt).__name__}")


def _answered_at(subscription: Subscription) -> datetime | None:
    """When the platform made this answer: ``expirationTime`` minus the ``expiresIn`` it said was left."""
    if subscription.expiration_time is None or subscription.expires_in is None:
        return None
    return subscription.expiration_time - timedelta(seconds=subscription.expires_in)


def _time_left(expirations: list[tuple[datetime, datetime]], at: datetime) -> str:
    """``expiresIn=N`` at ``at``, from the latest expiration known before (a renewal at the same second
    came after the reminder: it may be what the reminder caused)."""
    known = [end for since, end in expirations if since < at] or [expirations[0][1]] if expirations else []
    return f"expiresIn={int((known[-1] - at).total_seconds())}" if known else ""


def _short_error(attempt: Mapping[str, Any]) -> str:
    """The failure's cause: ``Connection refused`` from ``I/O operation is failed. Details: [Connection refused]``."""
    error = str(attempt.get("error") or f"HTTP {attempt.get('status')}")
    if "[" in error and error.endswith("]"):
        return error[error.index("[") + 1:-1]
    return error


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _clock(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_name(event_filter: str) -> str:
    path = event_filter.split("?", 1)[0].rstrip("/")
    if path.endswith("/message-store/instant"):
        return "instant SMS"
    if path.endswith(_TELEPHONY_SESSIONS):
        return "telephony session"
    name = path.rsplit("/", 1)[-1]
    return name if not name.isdigit() else "extension"


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
