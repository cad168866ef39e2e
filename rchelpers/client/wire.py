"""Show the HTTP exchanges a :class:`~rchelpers.RestClient` makes, as ``http --verbose`` prints them.

::

    with show_wire(client) as wire:
        subs.renew(sub.id)
    print(wire)

prints the request line, the request headers (``Authorization`` and other secrets masked), the body
(JSON pretty-printed, secret fields masked; ``(no body)`` when there is none), then the answer's status
line, ``Content-Type`` and body; a receiver's ``auth_token=`` (in an address or a query) is masked too.
It records through the session's ``response`` hook, so it sees every
exchange on the wire: a 401 followed by a refresh and a retry shows as three exchanges.

The text form is stable between runs: no dates, no timings; headers that depend on the installed
``requests`` (``User-Agent``, ``Accept-Encoding``, ``Connection``) are left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from rchelpers.masking import SECRET_HEADERS, mask, mask_auth_token
from rchelpers.client.rest import RestClient

__all__ = ["Exchange", "WireLog", "show_wire"]

#: Request headers left out of the text form: they depend on the installed ``requests``, not on the call.
TRANSPORT_HEADERS = frozenset({"user-agent", "accept-encoding", "connection"})
#: Field names (JSON keys, form fields) whose values are masked wherever they appear.
SECRET_FIELDS = frozenset({
    "access_token", "refresh_token", "id_token", "assertion", "client_secret", "password", "token",
    "verificationToken", "verification_token", "owner_id_token",
})


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, already masked: nothing here holds a secret."""

    method: str
    target: str  #: path and query, e.g. ``/restapi/v1.0/subscription/123``
    host: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str | None  #: masked and pretty-printed; None when no body was sent
    status: int
    reason: str
    content_type: str | None
    answer: str | None  #: masked and pretty-printed; None for an empty answer

    @classmethod
    def from_response(cls, response: requests.Response) -> Exchange:
        """Build the masked record of ``response`` and the request that produced it."""
        request = response.request
        parts = urlsplit(request.url or "")
        target = parts.path + (f"?{mask_auth_token(parts.query)}" if parts.query else "")
        headers = tuple(
            (name, _mask_header(name, value)) for name, value in request.headers.items()
            if name.lower() not in TRANSPORT_HEADERS
        )
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        content_type = request.headers.get("Content-Type", "")
        return cls(
            method=request.method or "",
            target=target,
            host=parts.netloc,
            request_headers=headers,
            request_body=_show_body(body, content_type) if body else None,
            status=response.status_code,
            reason=response.reason or "",
            content_type=response.headers.get("Content-Type"),
            answer=_show_body(response.text, response.headers.get("Content-Type", "")) if response.content else None,
        )

    def text(self, max_answer_lines: int | None = None) -> str:
        """The exchange as ``http --verbose`` shows it; an answer longer than ``max_answer_lines`` is cut."""
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in self.request_headers]
        lines += ["", self.request_body if self.request_body is not None else "(no body)", ""]
        lines.append(f"HTTP/1.1 {self.status} {self.reason}")
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        lines.append("")
        answer = (self.answer or "(no body)").splitlines()
        if max_answer_lines is not None and len(answer) > max_answer_lines:
            cut = len(answer) - max_answer_lines
            answer = answer[:max_answer_lines] + [f"… ({cut} more lines)"]
        lines += answer
        return "\n".join(lines)


class WireLog:
    """The exchanges a client made while the log was attached (see :func:`show_wire`).

    ``exchanges`` is the list of :class:`Exchange`, oldest first. ``str(wire)`` (and the repr) is every
    exchange's text, separated by a blank line; answers longer than ``max_answer_lines`` are cut.
    """

    def __init__(self, client: RestClient, *, max_answer_lines: int | None = 40) -> None:
        if not isinstance(client, RestClient):
            raise TypeError(f"show_wire needs a RestClient, got {type(client).__name__}")
        self.client = client
        self.max_answer_lines = max_answer_lines
        self.exchanges: list[Exchange] = []

    def attach(self) -> WireLog:
        """Start recording the client's exchanges; returns self."""
        hooks = self.client.session.hooks.setdefault("response", [])
        if self._record not in hooks:
            hooks.append(self._record)
        return self

    def detach(self) -> None:
        """Stop recording (what was recorded stays)."""
        hooks = self.client.session.hooks.get("response", [])
        while self._record in hooks:
            hooks.remove(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.exchanges.append(Exchange.from_response(response))
        return response

    def __enter__(self) -> WireLog:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def __str__(self) -> str:
        if not self.exchanges:
            return "(no HTTP exchange)"
        return "\n\n".join(e.text(self.max_answer_lines) for e in self.exchanges)

    __repr__ = __str__


def show_wire(client: RestClient, *, max_answer_lines: int | None = 40) -> WireLog:
    """A context manager recording ``client``'s HTTP exchanges; print it to see them (secrets masked)."""
    return WireLog(client, max_answer_lines=max_answer_lines)


def _mask_header(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, credential = value.partition(" ")
    if credential and scheme.lower() in ("bearer", "basic"):
        return f"{scheme} {mask(credential)}"
    return mask(value)


def _show_body(body: str, content_type: str) -> str:
    """The body pretty-printed with secret fields masked; a body we cannot read is summarized, not shown."""
    if "json" in content_type.lower():
        try:
            data = json.loads(body)
        except ValueError:
            return f"({len(body)} characters that are not JSON)"
        return json.dumps(_mask_fields(data), indent=2, ensure_ascii=False)
    if "x-www-form-urlencoded" in content_type.lower():
        fields = parse_qsl(body, keep_blank_values=True)
        return "&".join(f"{k}={mask(v) if k in SECRET_FIELDS else mask_auth_token(v)}" for k, v in fields)
    return f"({len(body)} characters of {content_type or 'unknown type'})"


def _mask_fields(data: Any) -> Any:
    """``data`` with the values of :data:`SECRET_FIELDS` masked, and any ``auth_token=`` in a string (an address)."""
    if isinstance(data, dict):
        return {k: mask(v) if k in SECRET_FIELDS and isinstance(v, str) else _mask_fields(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_fields(item) for item in data]
    return mask_auth_token(data) if isinstance(data, str) else data
