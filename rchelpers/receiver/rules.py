"""The answer to one webhook request, decided without a socket (werkzeug's "sans-I/O" idea).

:meth:`WebhookRules.answer` checks a parsed request against the receiver's settings (path, method, the
``?auth_token=`` secret, the ``Validation-Token`` handshake, the ``Verification-Token`` header, the
JSON envelope) and against the uuids already accepted, and says what to do: echo a validation
token, acknowledge a duplicate, or journal a new notification. A refusal is raised as
:class:`~rchelpers.receiver.http1.HttpError`. Sockets, journal and event store belong to the caller.
"""
from __future__ import annotations

import collections
import hmac
import json
from dataclasses import dataclass
from typing import Union
from urllib.parse import parse_qs

from rchelpers.receiver.event import WebhookEvent, kept_headers
from rchelpers.receiver.http1 import HttpError, HttpRequest

__all__ = ["WebhookRules", "SeenUuids", "ValidationEcho", "DuplicateAck", "NewNotification", "Answer",
           "MAX_VALIDATION_TOKEN"]

#: Longest ``Validation-Token`` echoed; with it the whole validation reply stays under 700 bytes.
MAX_VALIDATION_TOKEN = 512


@dataclass(frozen=True)
class ValidationEcho:
    """A validation request: answer 200 with ``token`` echoed in ``Validation-Token``."""

    token: str


@dataclass(frozen=True)
class DuplicateAck:
    """A notification whose uuid was accepted already (or is being journaled): answer 200, keep nothing."""

    uuid: str


@dataclass(frozen=True)
class NewNotification:
    """A new notification: journal ``event``, then answer 200. ``uuid`` is its dedup key (None without one)."""

    event: WebhookEvent
    uuid: str | None


Answer = Union[ValidationEcho, DuplicateAck, NewNotification]


class SeenUuids:
    """The uuids of the last ``limit`` accepted notifications, and of those still being journaled."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._order: collections.deque[str] = collections.deque()
        self._pending: set[str] = set()

    def __contains__(self, uuid: str) -> bool:
        return uuid in self._seen or uuid in self._pending

    def remember(self, uuid: str) -> None:
        """Count ``uuid`` as accepted (the oldest is forgotten past ``limit``)."""
        self._seen.add(uuid)
        self._order.append(uuid)
        if len(self._order) > self.limit:
            self._seen.discard(self._order.popleft())

    def begin(self, uuid: str | None) -> None:
        """``uuid``'s notification is being journaled: a redelivery meanwhile is a duplicate."""
        if uuid is not None:
            self._pending.add(uuid)

    def end(self, uuid: str | None, accepted: bool) -> None:
        """The journal is done with ``uuid``'s notification: remember it if it was ``accepted``."""
        if uuid is not None:
            self._pending.discard(uuid)
            if accepted:
                self.remember(uuid)


class WebhookRules:
    """RingCentral's webhook rules for one path; see :class:`~rchelpers.WebhookReceiver` for the settings."""

    def __init__(self, path: str, *, verification_token: str | None, auth_token: str | None, seen_limit: int) -> None:
        self.path = path
        self._verification_token = verification_token.encode() if verification_token else None
        self._auth_token = auth_token
        #: The uuids already accepted: their redeliveries are acknowledged, not kept twice.
        self.seen = SeenUuids(seen_limit)

    def answer(self, request: HttpRequest) -> Answer:
        """What to do with ``request``; raises :class:`HttpError` (kept-alive) for a refusal."""
        path = request.path
        if not path.startswith("/"):
            raise HttpError(400, "the request target must be a path like /webhook", close=False)
        if path != self.path:
            raise HttpError(404, f"no webhook at {path[:100]}: post to {self.path}", close=False)
        if request.method != "POST":
            raise HttpError(405, "only POST is accepted", close=False)
        if self._auth_token is not None:
            given = parse_qs(request.query).get("auth_token")
            if not given:
                raise HttpError(403, "auth_token query parameter missing", close=False)
            if not hmac.compare_digest(given[0].encode("utf-8", "surrogateescape"),
                                       self._auth_token.encode("utf-8")):
                raise HttpError(403, "auth_token query parameter does not match", close=False)
        validation = request.headers.get("validation-token")
        if validation is not None:
            if not validation or len(validation) > MAX_VALIDATION_TOKEN:
                raise HttpError(400, f"Validation-Token must be 1 to {MAX_VALIDATION_TOKEN} characters",
                                close=False)
            return ValidationEcho(validation)
        if self._verification_token is not None:
            given_token = request.headers.get("verification-token")
            if given_token is None:
                raise HttpError(403, "Verification-Token header missing", close=False)
            if not hmac.compare_digest(given_token.encode("latin-1"), self._verification_token):
                raise HttpError(403, "Verification-Token does not match", close=False)
        if not request.body:
            raise HttpError(400, "empty body: a notification is a JSON object", close=False)
        try:
            envelope = json.loads(request.body)
        except (ValueError, RecursionError):
            raise HttpError(400, "malformed JSON body", close=False) from None
        if not isinstance(envelope, dict):
            raise HttpError(400, "the notification must be a JSON object", close=False)
        uuid = envelope.get("uuid")
        key = str(uuid) if isinstance(uuid, (str, int, float)) and not isinstance(uuid, bool) else None
        if key is not None and key in self.seen:
            return DuplicateAck(key)
        event = WebhookEvent.from_envelope(envelope, kept_headers(request.headers), raw_body=request.body,
                                           raw_headers=request.raw_headers)
        return NewNotification(event, key)
