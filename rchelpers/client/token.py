"""One OAuth token pair and its facts, as the token endpoint grants it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rchelpers.errors import AuthError
from rchelpers.masking import mask

__all__ = ["TokenInfo", "utc_datetime"]


@dataclass(frozen=True, repr=False)
class TokenInfo:
    """One token pair and its facts. Times are epoch seconds on the manager's clock; repr masks the tokens."""

    access_token: str
    refresh_token: str | None
    token_type: str
    expires_at: float
    refresh_expires_at: float | None
    scope: str
    owner_id: str | None
    session_id: str | None

    @classmethod
    def from_response(cls, body: dict[str, Any], now: float) -> TokenInfo:
        """Build from a token endpoint answer received at ``now``; raises AuthError if it is malformed."""
        try:
            access_token = str(body["access_token"])
            expires_in = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise AuthError(200, None, "Malformed OAuth response: no access_token/expires_in", body=_mask_tokens(body)) from None
        refresh_in = body.get("refresh_token_expires_in")
        return cls(
            access_token=access_token,
            refresh_token=body.get("refresh_token"),
            token_type=str(body.get("token_type", "bearer")),
            expires_at=now + expires_in,
            # As the official Python SDK does: no refresh_token_expires_in means the refresh token is unusable.
            refresh_expires_at=now + float(refresh_in) if refresh_in is not None and body.get("refresh_token") else None,
            scope=str(body.get("scope", "")),
            owner_id=None if body.get("owner_id") is None else str(body["owner_id"]),
            session_id=body.get("session_id"),
        )

    def facts(self, now: float) -> dict[str, Any]:
        """A dict safe to display: masked tokens, aware UTC datetimes and the seconds left at ``now``."""
        return {
            "access_token": mask(self.access_token),
            "refresh_token": mask(self.refresh_token),
            "token_type": self.token_type,
            "expires_at": utc_datetime(self.expires_at),
            "expires_in": round(self.expires_at - now, 1),
            "refresh_expires_at": None if self.refresh_expires_at is None else utc_datetime(self.refresh_expires_at),
            "refresh_expires_in": None if self.refresh_expires_at is None else round(self.refresh_expires_at - now, 1),
            "scope": self.scope,
            "owner_id": self.owner_id,
        }

    def __repr__(self) -> str:
        return (
            f"TokenInfo(access_token={mask(self.access_token)!r}, refresh_token={mask(self.refresh_token)!r}, "
            f"expires_at={utc_datetime(self.expires_at).isoformat()!r}, scope={self.scope!r}, owner_id={self.owner_id!r})"
        )

    __str__ = __repr__


def utc_datetime(epoch: float) -> datetime:
    """The aware UTC datetime of ``epoch`` seconds."""
    return datetime.fromtimestamp(epoch, timezone.utc)


def _mask_tokens(body: Any) -> Any:
    if not isinstance(body, dict):
        return None
    return {k: (mask(v) if "token" in k and isinstance(v, str) else v) for k, v in body.items()}

