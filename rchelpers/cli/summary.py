"""One line per notification: its kind (from the event filter) and a summary of its body."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_ID = re.compile(r"~|[0-9]+")
#: Body fields worth a glance, per kind, in the order shown.
_FIELDS = {
    "presence": ("telephonyStatus", "presenceStatus", "userStatus", "dndStatus", "meetingStatus"),
    "presence/line": ("telephonyStatus", "presenceStatus"),
    "extension": ("eventType",),
}
MAX_SUMMARY = 120


def event_kind(event: str | None) -> str:
    """A short name for a notification's ``event``: ``presence``, ``message-store``, ``reminder``, ...

    The path after ``/restapi/v1.0`` without the account and extension ids; an extension's own path is
    ``extension``, the account's list of extensions ``extension-list``.
    """
    if not event:
        return "unknown"
    path = urlsplit(event).path
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["restapi", "v1.0"]:
        parts = parts[2:]
    if parts[:1] == ["subscription"]:
        return "reminder"
    rest: list[str] = []
    i = 0
    extension_id = False
    while i < len(parts):
        if parts[i] in ("account", "extension") and i + 1 < len(parts) and _ID.fullmatch(parts[i + 1]):
            extension_id = extension_id or parts[i] == "extension"
            i += 2
            continue
        rest.append(parts[i])
        i += 1
    if not rest:
        return "extension" if extension_id else "account"
    if rest == ["extension"]:
        return "extension-list"
    return "/".join(rest)


def summarize(kind: str, body: Any) -> str:
    """A one-line summary of a notification body (at most 120 characters)."""
    if not isinstance(body, dict):
        return _clip(repr(body))
    if kind == "reminder":
        return f"subscription expires in {body.get('expiresIn')} s"
    if kind.startswith("message-store/instant"):
        sender = (body.get("from") or {}).get("phoneNumber", "?") if isinstance(body.get("from"), dict) else "?"
        to = [t.get("phoneNumber", "?") for t in body.get("to") or [] if isinstance(t, dict)]
        subject = body.get("subject")
        text = f"{body.get('type', 'message')} from {sender} to {', '.join(to) or '?'}"
        return _clip(text + (f": {subject!r}" if subject else ""))
    if kind.startswith("message-store"):
        changes = [f"{c.get('type')} new {c.get('newCount', 0)} updated {c.get('updatedCount', 0)}"
                   for c in body.get("changes") or [] if isinstance(c, dict)]
        return _clip("changes: " + ("; ".join(changes) or "none"))
    if kind == "extension-list":
        extensions = body.get("extensions") or []
        events = sorted({str(e.get("eventType")) for e in extensions if isinstance(e, dict)})
        return _clip(f"{len(extensions)} extension(s) changed ({', '.join(events) or '?'})")
    if kind.startswith("telephony/sessions"):
        parties = body.get("parties") or []
        first = parties[0] if parties and isinstance(parties[0], dict) else {}
        status = (first.get("status") or {}).get("code") if isinstance(first.get("status"), dict) else None
        missed = ", missed" if first.get("missedCall") is True else ""
        return _clip(f"session {body.get('telephonySessionId', '?')} {status or '?'} "
                     f"({first.get('direction', '?')}{missed}), sequence {body.get('sequence', '?')}")
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = tuple(k for k, v in body.items() if isinstance(v, (str, int, float, bool)) and v is not None)[:5]
    pairs = [f"{name}={body[name]}" for name in fields if name in body]
    if kind == "extension" and body.get("hints"):
        pairs.append("hints=" + ",".join(map(str, body["hints"])))
    if kind == "presence" and isinstance(body.get("activeCalls"), list):
        pairs.append(f"activeCalls={len(body['activeCalls'])}")
    return _clip(" ".join(pairs) or "(no fields)")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 3] + "..."
