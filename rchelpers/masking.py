"""Masking of secrets for reprs, logs, widgets and error messages."""
from __future__ import annotations


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
