"""The OAuth backend: client authentication, the JWT bearer grant, single-use refresh tokens, revoke, and the
session of a bearer token. Typed methods only; parsing the token endpoint's form is the handlers' job.

Error codes follow RingCentral's API reference (OAuth and its error table) and real answers; where no
source gives the exact code the choice is the simulator's (``docs/FIDELITY.md`` lists each with its source).
With the ``refresh_reuse_grace`` option a used refresh token keeps working a while and returns the same
tokens again, as the developer guide describes.
"""
from __future__ import annotations

import base64
import hmac
import threading
from dataclasses import dataclass

from rchelpers.simulator.accounts import Accounts, App, User
from rchelpers.simulator.clock import SimClock
from rchelpers.simulator.errors import OAuthError, TokenInvalidError, unauthorized
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.options import SimulatorOptions

#: The bounds a request's ``access_token_ttl`` is clamped to (API reference, Get Token).
ACCESS_TTL_BOUNDS = (600, 3600)
#: The bounds a request's ``refresh_token_ttl`` is clamped to (API reference, Get Token).
REFRESH_TTL_BOUNDS = (60, 2_592_000)


@dataclass
class Session:
    """An OAuth session: one access token and one refresh token at a time."""

    session_id: str
    client_id: str
    user: User
    endpoint_id: str
    access_token: str = ""
    access_expires_at: float = 0.0
    refresh_token: str = ""
    refresh_expires_at: float = 0.0


@dataclass(frozen=True)
class Grant:
    """Tokens just issued: the session that holds them and their lifetimes in seconds."""

    session: Session
    expires_in: int
    refresh_token_expires_in: int


def effective_ttl(requested: int | None, bounds: tuple[int, int], ceiling: int) -> int:
    """A requested token lifetime clamped to ``bounds`` and capped by the server's; None or below 1 means
    the server's (``@ringcentral/sdk`` refreshes after a 401 with ``access_token_ttl=-1``, which works on
    the platform)."""
    if requested is None or requested < 1:
        return ceiling
    low, high = bounds
    return min(max(requested, low), high, ceiling)


@dataclass(frozen=True)
class _UsedRefresh:
    """A refresh token just spent: the grant it gave (returned again during the grace) and when."""

    grant: Grant
    access_token: str  #: the access token that grant issued
    used_at: float


class OAuthBackend:
    """Sessions and their tokens, guarded by one lock."""

    def __init__(self, accounts: Accounts, clock: SimClock, ids: IdSource, options: SimulatorOptions) -> None:
        self.accounts = accounts
        self.clock = clock
        self.ids = ids
        self.access_token_ttl = options.access_token_ttl
        self.refresh_token_ttl = options.refresh_token_ttl
        self.reuse_grace = options.refresh_reuse_grace
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.access_tokens: dict[str, Session] = {}
        self.refresh_tokens: dict[str, Session] = {}
        self.used_refresh_tokens: dict[str, _UsedRefresh] = {}  #: spent refresh tokens (``refresh_reuse_grace``)
        self.first_used: dict[str, float] = {}  #: access token -> when it was first used (``refresh_reuse_grace``)

    def authenticate_client(self, client_id: str, secret: str, check_secret: bool) -> App:
        """The app ``client_id`` names: 401 OAU-153 if unknown, OAU-146 if ``check_secret`` and ``secret``
        is not its secret."""
        app = self.accounts.app(client_id)
        if app is None:
            raise OAuthError(401, "invalid_client", "OAU-153", "Invalid client: unknown client_id", "client_id")
        if check_secret and not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
            raise OAuthError(401, "invalid_client", "OAU-146", "Invalid client credentials")
        return app

    def login_with_jwt(self, app: App, assertion: str, endpoint_id: str | None,
                       access_ttl: int | None = None, refresh_ttl: int | None = None) -> Grant:
        """The JWT bearer grant: a new session of the assertion's user (400 ``invalid_grant`` OAU-140 if the
        JWT is no user's)."""
        access, refresh = self._ttls(access_ttl, refresh_ttl)
        with self._lock:
            user = self.accounts.user_for_jwt(assertion)
            if user is None:
                raise OAuthError(400, "invalid_grant", "OAU-140", "Invalid resource owner credentials.")
            session = Session(self.ids.digits(19), app.client_id, user, endpoint_id or self.ids.urlsafe(16)[:22])
            self.sessions[session.session_id] = session
            return self._issue_locked(session, access, refresh)

    def refresh(self, app: App, refresh_token: str, access_ttl: int | None = None,
                refresh_ttl: int | None = None) -> Grant:
        """The refresh grant: new tokens for the session (400 ``invalid_grant`` OAU-213 if the refresh token is
        unknown, another app's, used or expired). The old access token stops working at once. With
        ``refresh_reuse_grace`` a used refresh token gives the same tokens again during the grace."""
        access, refresh = self._ttls(access_ttl, refresh_ttl)
        with self._lock:
            session = self.refresh_tokens.get(refresh_token)
            if session is None:
                again = self._within_grace_locked(refresh_token)
                if again is not None and again.session.client_id == app.client_id:
                    return again
            if session is None or session.client_id != app.client_id:
                raise OAuthError(400, "invalid_grant", "OAU-213", "Token not found")
            if session.refresh_expires_at <= self.clock.now():
                self._drop_locked(session)
                raise OAuthError(400, "invalid_grant", "OAU-213", "Token not found: the refresh token has expired")
            self.access_tokens.pop(session.access_token, None)
            self.first_used.pop(session.access_token, None)
            self.refresh_tokens.pop(session.refresh_token, None)  # refresh tokens are single-use
            grant = self._issue_locked(session, access, refresh)
            if self.reuse_grace is not None:
                now = self.clock.now()
                self.used_refresh_tokens = {token: used for token, used in self.used_refresh_tokens.items()
                                            if used.used_at + self.reuse_grace[1] > now}
                self.used_refresh_tokens[refresh_token] = _UsedRefresh(grant, session.access_token, now)
            return grant

    def _within_grace_locked(self, refresh_token: str) -> Grant | None:
        """The grant a spent refresh token gave, while its grace lasts and the session still holds those tokens."""
        used = self.used_refresh_tokens.get(refresh_token)
        if used is None or self.reuse_grace is None:
            return None
        after_use, unused = self.reuse_grace
        first_use = self.first_used.get(used.access_token)
        deadline = used.used_at + unused if first_use is None else min(used.used_at + unused, first_use + after_use)
        session = used.grant.session
        if self.clock.now() >= deadline or session.access_token != used.access_token \
                or session.session_id not in self.sessions:
            del self.used_refresh_tokens[refresh_token]
            return None
        return used.grant

    def revoke(self, app: App, token: str) -> None:
        """End the whole session of an access or refresh token of ``app`` (an unknown token is a no-op)."""
        with self._lock:
            session = self.access_tokens.get(token) or self.refresh_tokens.get(token)
            if session is not None and session.client_id == app.client_id:
                self._drop_locked(session)

    def session_for(self, access_token: str) -> Session:
        """The session of a bearer access token: 401 ``TokenInvalid`` (OAU-149) if unknown or revoked, OAU-128
        if expired."""
        with self._lock:
            session = self.access_tokens.get(access_token)
            if session is None:
                raise TokenInvalidError()
            now = self.clock.now()
            if session.access_expires_at <= now:
                raise unauthorized("OAU-128", "Access token expired.")
            if self.reuse_grace is not None:
                self.first_used.setdefault(access_token, now)
            return session

    def session_count(self) -> int:
        """How many sessions are open."""
        with self._lock:
            return len(self.sessions)

    def reset(self) -> None:
        """Drop every session and token."""
        with self._lock:
            self.sessions.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.used_refresh_tokens.clear()
            self.first_used.clear()

    def _ttls(self, access_ttl: int | None, refresh_ttl: int | None) -> tuple[int, int]:
        return (effective_ttl(access_ttl, ACCESS_TTL_BOUNDS, self.access_token_ttl),
                effective_ttl(refresh_ttl, REFRESH_TTL_BOUNDS, self.refresh_token_ttl))

    def _issue_locked(self, session: Session, access_ttl: int, refresh_ttl: int) -> Grant:
        now = self.clock.now()
        session.access_token = self._token()
        session.access_expires_at = now + access_ttl
        session.refresh_token = self._token()
        session.refresh_expires_at = now + refresh_ttl
        self.access_tokens[session.access_token] = session
        self.refresh_tokens[session.refresh_token] = session
        return Grant(session, access_ttl, refresh_ttl)

    def _token(self) -> str:
        # shaped like RingCentral's tokens: base64 of a short region/cluster marker and random bytes
        return base64.urlsafe_b64encode(b"SIM01P01PAS01|" + self.ids.bytes(30)).decode("ascii").rstrip("=")

    def _drop_locked(self, session: Session) -> None:
        self.access_tokens.pop(session.access_token, None)
        self.refresh_tokens.pop(session.refresh_token, None)
        self.sessions.pop(session.session_id, None)
        self.first_used.pop(session.access_token, None)
        for token in [t for t, used in self.used_refresh_tokens.items() if used.grant.session is session]:
            del self.used_refresh_tokens[token]
