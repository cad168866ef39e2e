"""Masking of secrets for reprs, logs, widgets and error messages."""
from __future__ import annotations

import re

__all__ = ["SECRET_HEADERS", "mask", "mask_auth_token"]

#: HTTP headers (lowercased) whose values are secrets: masked wherever they are shown, logged or journaled.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "verification-token", "validation-token"})
_AUTH_TOKEN_RE = re.compile(r"(auth_token=)([^&#\s]+)")


def mask(secret: str | None, keep: int = 4) -> str:
    """Return a form of ``secret`` that is safe to show: its first ``keep`` characters and its length.

    >>> mask("U0pDMDFQMDRQQVMwMnxBQUFm")
    'U0pD…(24 chars)'
    >>> mask(None)
    '<unset>'
    """
    if not secret:
        return "<unset>"
    if len(secret) <= keep * 2:
        return f"…({len(secret)} chars)"
    return f"{secret[:keep]}…({len(secret)} chars)"


def mask_auth_token(text: str) -> str:
    """``text`` (a URL, a header value) with the value of every ``auth_token=`` query parameter masked.

    >>> mask_auth_token("https://example.com/webhook?auth_token=0123456789abcdef&x=1")
    'https://example.com/webhook?auth_token=0123…(16 chars)&x=1'
    """
    if "auth_token=" not in text:
        return text
    return _AUTH_TOKEN_RE.sub(lambda match: match.group(1) + mask(match.group(2)), text)
