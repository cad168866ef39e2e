"""Widgets for the tutorial notebooks: a credentials form, a live event feed and a subscription table.

Only the notebooks (and their tests) import this module. Each widget is an ipywidgets container: make it
a cell's last expression to see it. Its ``text/plain`` repr is short, stable between runs and never holds
a secret, because nbval compares it with the stored output.

Stopping: :meth:`EventFeed.detach` and :meth:`SubscriptionTable.detach` leave the widget on screen with
what it shows, and say it is stopped (``close()`` would make it disappear). Any failure of a widget's
action is shown as one red line in its status saying what to do, never as a traceback.

CSS classes for browser tests and styling: ``rc-credentials-form``, ``rc-event-feed`` (rows:
``tr.rc-feed-row``), ``rc-subscription-table`` (rows: ``rc-subscription-row``, buttons ``rc-renew`` and
``rc-delete``, filters ``rc-filters``), ``rc-status`` (the status line; ``rc-status-error`` when red),
and ``rc-stopped`` on a detached widget.

Threads: :class:`EventFeed` is updated from the receiver's listener thread. It only sets widget *values*
(they reach the browser as comm messages addressed to the widget, wherever it is shown); it never prints
and never captures output, because on ipykernel 7 output from a thread lands in whichever cell ran last.
"""
from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import deque
from typing import Any, Callable

import ipywidgets as w

import requests

from rchelpers.client.config import Config
from rchelpers.client.subscriptions import Subscription, SubscriptionClient
from rchelpers.errors import ApiError, ConfigError, WaitTimeout
from rchelpers.masking import mask
from rchelpers.receiver.event import WebhookEvent
from rchelpers.receiver.webhook_receiver import WebhookReceiver

__all__ = ["CredentialsForm", "EventFeed", "SubscriptionRow", "SubscriptionTable", "format_seconds", "summarize_event"]

log = logging.getLogger(__name__)


class _TutorialWidget(w.VBox):
    """Base of the three widgets: the whole ``repr`` as ``text/plain``, and ``close()`` closes every part."""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/plain"] = repr(self)  # ipywidgets would cut it at 110 characters
        return data

    def close(self) -> None:
        """Close this widget and the widgets it is made of (their views disappear)."""
        for child in self.children:
            _close_tree(child)
        _close_tree(self.layout)
        super().close()


def _close_tree(widget: w.Widget) -> None:
    """Close a widget, its children and its layout and style widgets (ipywidgets closes none of them)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, w.Widget):
            part.close()
    widget.close()


# --- credentials -------------------------------------------------------------------------------


class CredentialsForm(_TutorialWidget):
    """A form for the server URL, client id, client secret and JWT that yields a :class:`Config`.

    The secret and the JWT are ``Password`` fields. Nothing typed is ever written into a description,
    a status line or the repr except in masked form (:func:`rchelpers.mask`). Clicking the
    button (or calling :meth:`submit`) builds the config; ``on_config`` is then called with it.
    An empty server URL means the embedded simulator, as with ``RC_SERVER_URL`` unset.
    """

    def __init__(self, server_url: str = "", client_id: str = "",
                 on_config: Callable[[Config], object] | None = None) -> None:
        style = {"description_width": "110px"}
        layout = w.Layout(width="520px")
        self.server_url = w.Text(value=server_url, description="Server URL",
                                 placeholder="https://platform.ringcentral.com", style=style, layout=layout)
        self.client_id = w.Text(value=client_id, description="Client id", style=style, layout=layout)
        self.client_secret = w.Password(description="Client secret", style=style, layout=layout)
        self.jwt = w.Password(description="JWT", style=style, layout=layout)
        self.button = w.Button(description="Use these credentials", button_style="primary", icon="key",
                               layout=w.Layout(width="220px"))
        self.status = w.HTML(value=_status_html("Fill in the fields, then click the button.", "info"))
        self.status.add_class("rc-status")
        self.config: Config | None = None
        self.error: str | None = None
        self._on_config = on_config
        self.button.on_click(lambda _button: self._submit_from_button())
        super().__init__(children=[self.server_url, self.client_id, self.client_secret, self.jwt,
                                   self.button, self.status])
        self.add_class("rc-credentials-form")

    def fill(self, *, server_url: str = "", client_id: str = "", client_secret: str = "", jwt: str = "") -> None:
        """Set the four fields at once, as a user typing them would (used by the offline notebooks)."""
        self.server_url.value = server_url
        self.client_id.value = client_id
        self.client_secret.value = client_secret
        self.jwt.value = jwt

    def submit(self) -> Config:
        """Build the :class:`Config` from the fields; raises :class:`ConfigError` saying what to fix."""
        values = {
            "RC_SERVER_URL": self.server_url.value.strip(),
            "RC_CLIENT_ID": self.client_id.value,
            "RC_CLIENT_SECRET": self.client_secret.value,
            "RC_JWT": self.jwt.value,
        }
        empty = [label for name, label in _FORM_FIELDS.items() if name != "RC_SERVER_URL" and not values[name]]
        try:
            if values["RC_SERVER_URL"] and empty:
                raise ConfigError(
                    f"fill in the {_and(empty)} field{'s' if len(empty) > 1 else ''} (a server URL needs all four), "
                    "or clear Server URL to use the embedded simulator."
                )
            try:
                config = Config.from_mapping(values, source="credentials form")
            except ConfigError as error:  # worded for .env: name the form's fields instead
                raise ConfigError(_in_form_words(str(error))) from None
        except ConfigError as error:
            self.config = None
            self.error = str(error)
            self.status.value = _status_html(f"Not accepted: {error}", "error")
            raise
        self.config, self.error = config, None
        self.status.value = _status_html(f"Ready: {config.describe()}", "ok")
        if self._on_config is not None:
            self._on_config(config)
        return config

    def _submit_from_button(self) -> None:
        try:
            self.submit()
        except ConfigError:
            pass  # already shown in the status line
        except Exception as error:  # e.g. raised by on_config: one red line, not a traceback
            self.error = _one_line(error)
            self.status.value = _status_html(self.error, "error")

    def __repr__(self) -> str:
        url = self.server_url.value.strip() or "<embedded simulator>"
        return (f"CredentialsForm(server_url={url!r}, client_id={mask(self.client_id.value)!r}, "
                f"client_secret={mask(self.client_secret.value)!r}, jwt={mask(self.jwt.value)!r}, "
                f"ready={self.config is not None})")


# --- live event feed ---------------------------------------------------------------------------


class EventFeed(_TutorialWidget):
    """A live table of the events a :class:`~rchelpers.WebhookReceiver` accepts.

    It listens on ``receiver`` (its callback runs on the receiver's listener thread) and shows the
    newest ``max_rows`` events, newest last, under a line of counts. :meth:`wait_for` blocks until the
    feed itself has shown a number of events, so a cell that prints it afterwards is deterministic.
    :meth:`close` stops listening.
    """

    def __init__(self, receiver: WebhookReceiver, max_rows: int = 10) -> None:
        self._changed = threading.Condition()
        self._listening = False
        self._receiver = receiver
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}")
        self.max_rows = max_rows
        self._rows: deque[tuple[str, str, str, str]] = deque(maxlen=max_rows)
        self._count = 0
        self._reminders = 0
        self.header = w.HTML()
        self.table = w.HTML()
        self.stopped_note: str | None = None
        super().__init__(children=[self.header, self.table])
        self.add_class("rc-event-feed")
        self._render()
        self._listening = True
        receiver.add_listener(self._on_event)

    @property
    def count(self) -> int:
        """How many events the feed has received since it was created."""
        with self._changed:
            return self._count

    @property
    def reminders(self) -> int:
        """How many of them were subscription renewal reminders."""
        with self._changed:
            return self._reminders

    @property
    def rows(self) -> list[tuple[str, str, str, str]]:
        """The rows shown, oldest first: ``(timestamp, kind, subscription id, summary)``."""
        with self._changed:
            return list(self._rows)

    def wait_for(self, count: int, timeout: float = 5.0) -> int:
        """Block until the feed has received ``count`` events in all; return the count.

        Raises :class:`~rchelpers.WaitTimeout` after ``timeout`` seconds, saying how many arrived.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, got {count!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(
                        f"the feed shows {self._count} of {count} events after {timeout:g} s: "
                        "is the subscription active and its filter matching?"
                    )
                self._changed.wait(left)
            return self._count

    def detach(self, note: str = "the receiver was stopped") -> None:
        """Stop listening to the receiver, and say so above the rows, which stay on screen (idempotent)."""
        with self._changed:
            was_listening, self._listening = self._listening, False
            if was_listening:
                self.stopped_note = note
                self._render()
        if was_listening:
            self._receiver.remove_listener(self._on_event)
            self.add_class("rc-stopped")

    def close(self) -> None:
        """Stop listening to the receiver and close the widget (its view disappears)."""
        self.detach()
        super().close()

    def _on_event(self, event: WebhookEvent) -> None:
        """Receiver callback (listener thread): record the event and update the widget values."""
        with self._changed:
            if not self._listening:
                return
            try:
                row = _event_row(event)
            except Exception:  # a strange event must not break the feed
                log.exception("could not summarize event %r", event)
                row = ("?", "?", "?", "unreadable event")
            self._rows.append(row)
            self._count += 1
            if event.is_reminder:
                self._reminders += 1
            self._render()
            self._changed.notify_all()

    def _render(self) -> None:
        """Write the counts and the table into the two HTML widgets (caller holds the lock or is __init__)."""
        self.header.value = (
            f"<b>{self._count} event{'s' if self._count != 1 else ''}</b>"
            f" ({self._reminders} reminder{'s' if self._reminders != 1 else ''}),"
            f" newest last, at most {self.max_rows} shown"
        )
        if self.stopped_note is not None:
            self.header.value += f" <span style='color:#b3261e'>■ stopped: {html.escape(self.stopped_note)}</span>"
        if not self._rows:
            self.table.value = "<i>waiting for events…</i>"
            return
        cells = "".join(
            "<tr class='rc-feed-row'>" + "".join(f"<td style='padding:0 8px'>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._rows
        )
        head = "".join(f"<th style='text-align:left;padding:0 8px'>{h}</th>"
                       for h in ("timestamp", "kind", "subscription", "summary"))
        self.table.value = f"<table><tr>{head}</tr>{cells}</table>"

    def __repr__(self) -> str:
        with self._changed:
            return (f"EventFeed(events={self._count}, reminders={self._reminders}, "
                    f"shown={len(self._rows)}, max_rows={self.max_rows}, listening={self._listening})")


def _event_row(event: WebhookEvent) -> tuple[str, str, str, str]:
    kind, summary = summarize_event(event)
    return (event.timestamp or "", kind, (event.subscription_id or "")[:8], summary)


def summarize_event(event: WebhookEvent) -> tuple[str, str]:
    """Return ``(kind, one-line summary)`` for a webhook event, e.g. ``("presence", "Busy, CallConnected")``."""
    path = event.event or ""
    body = event.body if isinstance(event.body, dict) else {}
    if event.is_reminder:
        return "reminder", f"expiresIn={body.get('expiresIn')} s"
    base = path.split("?", 1)[0].rstrip("/")
    if base.endswith("/telephony/sessions"):
        return "call", _call_summary(body)
    if base.endswith("/voicemail"):
        caller = (body.get("from") or {}).get("phoneNumber", "?")
        seconds = next((a.get("vmDuration") for a in body.get("attachments") or [] if isinstance(a, dict)), None)
        return "voicemail", f"from {caller}" + (f", {seconds} s" if seconds is not None else "")
    if base.endswith("/fax"):
        sender = (body.get("from") or {}).get("phoneNumber", "?")
        return "fax", f"{body.get('direction', '')} from {sender}, {body.get('faxPageCount', '?')} page(s)".strip()
    if base.endswith("/presence/dnd"):
        return "DND", str(body.get("dndStatus", "changed"))
    if base.endswith("/presence/line"):
        lines = body.get("extension") or []
        return "presence line", f"{len(lines)} monitored line{'s' if len(lines) != 1 else ''}"
    if base.endswith("/presence"):
        parts = [str(body[k]) for k in ("presenceStatus", "telephonyStatus") if body.get(k)]
        calls = body.get("activeCalls")
        if isinstance(calls, list):
            parts.append(f"{len(calls)} active call{'s' if len(calls) != 1 else ''}")
        return "presence", ", ".join(parts) or "presence changed"
    if base.endswith("/message-store/instant"):
        sender = (body.get("from") or {}).get("phoneNumber", "?")
        return "instant SMS", f"from {sender}: {body.get('subject', '')}"
    if base.endswith("/message-store"):
        changes = body.get("changes") or []
        text = ", ".join(f"{c.get('type')} +{c.get('newCount', 0)}" for c in changes if isinstance(c, dict))
        return "message store", text or "changed"
    if base.endswith("/extension"):
        items = body.get("extensions") or [body]
        text = ", ".join(f"{i.get('extensionId')} {i.get('eventType')}" for i in items if isinstance(i, dict))
        return "extension list", text
    if "/extension/" in base and base.rsplit("/", 2)[-2] == "extension":
        return "extension info", f"{body.get('eventType', 'Update')} {', '.join(body.get('hints') or [])}".strip()
    return base.rsplit("/", 1)[-1] or "event", ""


def _call_summary(body: dict[str, Any]) -> str:
    """``"#3 Answered, Inbound +16505550123 -> +16505550100"`` for a telephony-session event (its first party)."""
    parties = [p for p in body.get("parties") or [] if isinstance(p, dict)]
    if not parties:
        return f"#{body.get('sequence', '?')} (no party)"
    party = parties[0]
    status = (party.get("status") or {}).get("code", "?")
    caller = (party.get("from") or {}).get("phoneNumber", "?")
    callee = (party.get("to") or {}).get("phoneNumber", "?")
    missed = ", missed" if party.get("missedCall") else ""
    return f"#{body.get('sequence', '?')} {status}{missed}, {party.get('direction', '?')} {caller} -> {callee}"


# --- subscription table ------------------------------------------------------------------------


class SubscriptionRow:
    """One row of a :class:`SubscriptionTable`: the subscription and its renew and delete buttons.

    The filters cell lists every event filter, one a line (long ones wrap): none is cut off.
    """

    def __init__(self, subscription: Subscription, on_renew: Callable[[str], None],
                 on_delete: Callable[[str], None]) -> None:
        self.subscription = subscription
        self.id: str = subscription.id
        self.renew_button = w.Button(description="Renew", icon="refresh", layout=w.Layout(width="90px"),
                                     tooltip="PUT /restapi/v1.0/subscription/{id} with no body")
        self.delete_button = w.Button(description="Delete", icon="trash", button_style="danger",
                                      layout=w.Layout(width="90px"),
                                      tooltip="DELETE /restapi/v1.0/subscription/{id}")
        self.renew_button.add_class("rc-renew")
        self.delete_button.add_class("rc-delete")
        self.renew_button.on_click(lambda _b: on_renew(self.id))
        self.delete_button.on_click(lambda _b: on_delete(self.id))
        cells = [self.id[:8], subscription.status, self.time_left, _clock_time(subscription.raw.get("expirationTime"))]
        labels = [w.Label(value=text, layout=w.Layout(width=width)) for text, width in zip(cells, _COLUMN_WIDTHS, strict=False)]
        self.filters = w.HTML(
            value="<div style='line-height:1.4;overflow-wrap:anywhere'>"
                  + "<br>".join(_breakable(_short_filter(f)) for f in subscription.event_filters) + "</div>",
            layout=w.Layout(width=_COLUMN_WIDTHS[-1]))
        self.filters.add_class("rc-filters")
        self.widget = w.HBox(children=[*labels, self.filters, self.renew_button, self.delete_button],
                             layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("rc-subscription-row")

    @property
    def time_left(self) -> str:
        """The subscription's remaining lifetime as shown, e.g. ``'14m 58s'``."""
        return format_seconds(self.subscription.expires_in)

    def __repr__(self) -> str:
        return f"SubscriptionRow(id={self.id[:8]!r}, status={self.subscription.status!r}, time_left={self.time_left!r})"


_COLUMNS = ("id", "status", "time left", "expires at", "event filters")
_COLUMN_WIDTHS = ("80px", "90px", "80px", "80px", "380px")


class SubscriptionTable(_TutorialWidget):
    """The user's subscriptions (WebHook transport by default) with their time left, and renew/delete buttons.

    ``subscriptions_api`` is an :class:`rchelpers.SubscriptionClient`. :meth:`refresh` lists
    them again; a button renews (``PUT`` with no body) or deletes its row's subscription, then refreshes.
    A renewal says what moved (``expirationTime`` before and after). Any failure (a platform error, a
    platform that is not running) is one red line in the status saying what to do, never raised into
    the browser. :meth:`detach` keeps the rows on screen, disables the buttons and says it stopped.
    """

    def __init__(self, subscriptions_api: SubscriptionClient, transport: str | None = "WebHook") -> None:
        self.api = subscriptions_api
        self.transport = transport
        self.rows: list[SubscriptionRow] = []
        self.stopped_note: str | None = None
        self.status = w.HTML()
        self.status.add_class("rc-status")
        self.refresh_button = w.Button(description="Refresh", icon="list")
        self.refresh_button.add_class("rc-refresh")
        self.refresh_button.on_click(lambda _b: self._guarded(self.refresh))
        self._header = w.HBox(children=[w.HTML(value=f"<b>{h}</b>", layout=w.Layout(width=width)) for h, width in
                                        zip(_COLUMNS, _COLUMN_WIDTHS, strict=True)])
        self._empty = w.HTML(value="<i>no subscriptions</i>")
        self._body = w.VBox()
        self.last_action = "none yet"  # the last renew, delete or error (a refresh is not one)
        super().__init__(children=[self.refresh_button, self._body, self.status])
        self.add_class("rc-subscription-table")
        self._guarded(self.refresh)

    def refresh(self) -> list[SubscriptionRow]:
        """List the subscriptions again and redraw the rows; returns them."""
        subscriptions = self.api.list_all(transport=self.transport)
        old_rows, self.rows = self.rows, [SubscriptionRow(s, self._renew, self._delete) for s in subscriptions]
        self._body.children = [self._header, *(row.widget for row in self.rows)] if self.rows else [self._empty]
        for row in old_rows:  # their widgets are no longer shown
            _close_tree(row.widget)
        return self.rows

    def detach(self, note: str = "the platform was stopped") -> None:
        """Keep the rows on screen as they are, disable every button and say the table stopped (idempotent)."""
        if self.stopped_note is not None:
            return
        self.stopped_note = note
        for button in (self.refresh_button, *(b for row in self.rows for b in (row.renew_button, row.delete_button))):
            button.disabled = True
        self.status.value = _status_html(f"stopped: {note}; the buttons are off", "error")
        self.add_class("rc-stopped")

    def close(self) -> None:
        """Close the table, its rows, and the parts not shown right now."""
        for part in (self._header, self._empty):
            _close_tree(part)
        super().close()

    def row(self, subscription_id: str) -> SubscriptionRow:
        """The row of a subscription (its full id or the first 8 characters); KeyError if not shown."""
        for row in self.rows:
            if row.id == subscription_id or row.id[:8] == subscription_id:
                return row
        raise KeyError(f"no row for subscription {subscription_id!r}: call refresh() first")

    def _renew(self, subscription_id: str) -> None:
        def action() -> None:
            before = next((r.subscription for r in self.rows if r.id == subscription_id), None)
            renewed = self.api.renew(subscription_id)
            old_raw = before.raw.get("expirationTime") if before is not None else None
            new_raw = renewed.raw.get("expirationTime")
            old, new = _clock_time(old_raw), _clock_time(new_raw)
            if old == new and old_raw != new_raw:  # moved by less than a second (the real clock): show the ms
                old, new = _clock_time(old_raw, milliseconds=True), _clock_time(new_raw, milliseconds=True)
            moved = (f"expirationTime {old} -> {new}" if old_raw != new_raw else
                     f"expirationTime stays {new} (no time passed on the platform's clock)")
            self._say(f"renewed {subscription_id[:8]} (PUT, no body): {moved}, "
                      f"{format_seconds(renewed.expires_in)} left", "ok")
            self.refresh()
        self._guarded(action)

    def _delete(self, subscription_id: str) -> None:
        def action() -> None:
            self.api.delete(subscription_id)
            self._say(f"deleted {subscription_id[:8]}", "ok")
            self.refresh()
        self._guarded(action)

    def _guarded(self, action: Callable[[], object]) -> None:
        """Run a button's action; show any failure as one red line saying what to do, instead of raising it."""
        if self.stopped_note is not None:
            self._say(f"stopped: {self.stopped_note}; run the notebook again for a live table", "error")
            return
        try:
            action()
        except Exception as error:  # a widget callback must not pour a traceback into the page
            log.debug("subscription table action failed", exc_info=True)
            self._say(_action_error(error, self.api.client.server_url), "error")

    def _say(self, text: str, tone: str) -> None:
        self.last_action = text
        self.status.value = _status_html(text, tone)

    def __repr__(self) -> str:
        states = [row.subscription.status for row in self.rows]
        active = states.count("Active")
        stopped = f", stopped={self.stopped_note!r}" if self.stopped_note is not None else ""
        return (f"SubscriptionTable(rows={len(self.rows)}, active={active}, other={len(states) - active}, "
                f"last_action={self.last_action!r}{stopped})")


# --- small helpers -----------------------------------------------------------------------------


def format_seconds(seconds: float | int | None) -> str:
    """A duration for people: ``'7d 0h'``, ``'14m 58s'``, ``'42s'``; ``'?'`` when unknown, ``'expired'`` at 0."""
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _status_html(text: str, tone: str) -> str:
    colour = {"ok": "#137333", "error": "#b3261e"}.get(tone, "#555")
    return f"<span class='rc-status-{tone}' style='color:{colour}'>{html.escape(text)}</span>"


def _one_line(error: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message``, at most ``limit`` characters."""
    text = (str(error).strip().splitlines() or [""])[0]
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _action_error(error: Exception, server_url: str) -> str:
    """One line for a failed widget action: what went wrong and what to do."""
    if isinstance(error, ApiError):
        code = f" {error.error_code}" if error.error_code else ""
        return f"HTTP {error.status}{code}: {error.message}"
    if isinstance(error, requests.ConnectionError):
        return (f"the platform at {server_url} does not answer (stopped?): run the notebook's cells again "
                "from the top to start it")
    if isinstance(error, requests.Timeout):
        return f"the platform at {server_url} did not answer in time: try again, or run the notebook again"
    return f"{_one_line(error)}: run the notebook's cells again from the top"


_FORM_FIELDS = {"RC_SERVER_URL": "Server URL", "RC_CLIENT_ID": "Client id",
                "RC_CLIENT_SECRET": "Client secret", "RC_JWT": "JWT"}


def _in_form_words(message: str) -> str:
    """A config error worded for ``.env`` and variables, reworded for the form's fields."""
    message = re.sub(r" \(write RC_\w+=value[^)]*\)", "", message)  # advice for .env lines
    message = re.sub(r", or use matching quotes in \.env .*?strips", "", message)
    for name, label in sorted(_FORM_FIELDS.items(), key=lambda item: -len(item[0])):
        message = message.replace(name, f"the {label} field")
    return message


def _and(items: list[str]) -> str:
    """``'a'``, ``'a and b'``, ``'a, b and c'``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _clock_time(iso: object, milliseconds: bool = False) -> str:
    """``'00:15:00'`` (or ``'00:15:00.000'``) from ``'2026-01-01T00:15:00.000Z'``: the time of day, UTC; ``'?'`` when unknown."""
    if not isinstance(iso, str) or "T" not in iso:
        return "?"
    return iso.split("T", 1)[1][:12 if milliseconds else 8]


def _breakable(text: str) -> str:
    """``text`` escaped for HTML, with line-break chances after each ``/`` and before ``?`` and ``&``."""
    escaped = html.escape(text)
    return escaped.replace("/", "/<wbr>").replace("?", "<wbr>?").replace("&amp;", "<wbr>&amp;")


def _short_filter(event_filter: str) -> str:
    return event_filter.removeprefix("/restapi/v1.0")
