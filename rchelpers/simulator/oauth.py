"""OAuth 2.0 as the platform does it: the JWT bearer grant, single-use refresh tokens, revoke, bearer checks.

Error codes follow PLATFORM-FACTS.md §6 and RingCentral's error table; where no source gives the exact
code, the choice is named in the simulator's docstring ("guessed").
"""
from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any, Mapping
from urllib.parse import parse_qsl

from rchelpers.simulator.errors import OAuthError, unauthorized
from rchelpers.simulator.state import DEMO_SCOPE, App, Session, State

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
#: Grants an ordinary app is refused with ``unauthorized_client`` OAU-251.
UNAUTHORIZED_GRANTS = ("password", "authorization_code", "partner_jwt")
ACCESS_TTL_BOUNDS = (600, 3600)
REFRESH_TTL_BOUNDS = (60, 2_592_000)
FORM_TYPE = "application/x-www-form-urlencoded"


def parse_form(body: bytes, content_type: str | None, query: Mapping[str, str] | None = None) -> dict[str, str]:
    """Decode a form body (415 for another content type, 400 OAU-111 for a repeated field)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if body and media != FORM_TYPE:
        raise OAuthError(415, "invalid_request", "CMN-104",
                         f"Cannot parse request: send the fields as Content-Type: {FORM_TYPE}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "CMN-104", "Cannot parse request: the form is not UTF-8") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError(400, "invalid_request", "OAU-111", "Request parameter duplication detected", name)
        form[name] = value
    for name, value in (query or {}).items():
        form.setdefault(name, value)
    return form


def client_hint(form: Mapping[str, str], authorization: str | None) -> str:
    """The client id a token request claims (for rate limiting before it is checked)."""
    basic = _basic_credentials(authorization)
    if basic is not None:
        return basic[0]
    return form.get("client_id", "")


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "\x00invalid")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", "\x00invalid")
    return client_id, secret


def authenticate_client(state: State, form: Mapping[str, str], authorization: str | None) -> App:
    """The app making a token or revoke request (Basic header, or ``client_id`` [+ ``client_secret``] in the body)."""
    basic = _basic_credentials(authorization)
    if basic is not None:
        client_id, secret = basic
        if secret == "\x00invalid":
            raise OAuthError(401, "invalid_client", "OAU-123", "Invalid Authorization header value: [Basic]")
    elif form.get("client_id"):
        client_id, secret = form["client_id"], form.get("client_secret", "")
    else:
        raise OAuthError(401, "invalid_client", "OAU-123", "Client authentication is required")
    app = state.apps.get(client_id)
    if app is None:
        raise OAuthError(401, "invalid_client", "OAU-153", "Invalid client: unknown client_id", "client_id")
    if (basic is not None or secret) and not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
        raise OAuthError(401, "invalid_client", "OAU-146", "Invalid client credentials")
    return app


def _ttl(form: Mapping[str, str], name: str, bounds: tuple[int, int], ceiling: int) -> int:
    """A requested token lifetime: clamped to ``bounds`` and capped by the server's; 0 or less means the default.

    ``@ringcentral/sdk`` refreshes after a 401 with ``access_token_ttl=-1`` (its cancelled token's
    ``expires_in``), and that refresh works on the platform, so a value below 1 is not an error.
    """
    raw = form.get(name)
    if raw is None or raw == "":
        return ceiling
    digits = raw[1:] if raw[:1] in "+-" else raw
    if not (digits.isascii() and digits.isdigit()):
        raise OAuthError(400, "invalid_request", "CMN-101", f"Parameter [{name}] value is invalid", name)
    value = int(raw)
    if value < 1:
        return ceiling
    low, high = bounds
    return min(max(value, low), high, ceiling)


def issue_token(state: State, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
    """Handle ``POST /restapi/oauth/token``; returns the ``TokenInfo`` body."""
    app = authenticate_client(state, form, authorization)
    grant = form.get("grant_type", "")
    if not grant:
        raise OAuthError(400, "invalid_request", "OAU-250", "Unsupported grant type", "grant_type")
    if grant in UNAUTHORIZED_GRANTS:
        raise OAuthError(400, "unauthorized_client", "OAU-251", "Unauthorized for this grant type")
    if grant not in (JWT_GRANT, REFRESH_GRANT):
        raise OAuthError(400, "unsupported_grant_type", "OAU-250", "Unsupported grant type")
    access_ttl = _ttl(form, "access_token_ttl", ACCESS_TTL_BOUNDS, state.options.access_token_ttl)
    refresh_ttl = _ttl(form, "refresh_token_ttl", REFRESH_TTL_BOUNDS, state.options.refresh_token_ttl)
    with state.lock:
        now = state.clock.now()
        if grant == JWT_GRANT:
            assertion = form.get("assertion")
            if not assertion:
                raise OAuthError(400, "invalid_request", "CMN-100", "Parameter [assertion] is required", "assertion")
            user = state.user_for_jwt(assertion)
            if user is None:
                raise OAuthError(400, "invalid_grant", "OAU-140", "Invalid resource owner credentials.")
            session = Session(state.ids.digits(19), app.client_id, user,
                              form.get("endpoint_id") or state.ids.urlsafe(16)[:22])
            state.sessions[session.session_id] = session
        else:
            refresh = form.get("refresh_token")
            if not refresh:
                raise OAuthError(400, "invalid_request", "CMN-100", "Parameter [refresh_token] is required",
                                 "refresh_token")
            found = state.refresh_tokens.get(refresh)
            if found is None or found.client_id != app.client_id:
                raise OAuthError(400, "invalid_grant", "OAU-213", "Token not found")
            if found.refresh_expires_at <= now:
                _drop_session(state, found)
                raise OAuthError(400, "invalid_grant", "OAU-213", "Token not found: the refresh token has expired")
            session = found
            state.access_tokens.pop(session.access_token, None)  # the old access token stops working at once
            state.refresh_tokens.pop(session.refresh_token, None)  # refresh tokens are single-use
        session.access_token = _token(state)
        session.access_expires_at = now + access_ttl
        session.refresh_token = _token(state)
        session.refresh_expires_at = now + refresh_ttl
        state.access_tokens[session.access_token] = session
        state.refresh_tokens[session.refresh_token] = session
        return {
            "access_token": session.access_token,
            "token_type": "bearer",
            "expires_in": access_ttl,
            "refresh_token": session.refresh_token,
            "refresh_token_expires_in": refresh_ttl,
            "scope": DEMO_SCOPE,
            "owner_id": session.user.extension_id,
            "endpoint_id": session.endpoint_id,
            "session_id": session.session_id,
        }


def _token(state: State) -> str:
    # shaped like RingCentral's tokens: base64 of a short region/cluster marker and random bytes
    return base64.urlsafe_b64encode(b"SIM01P01PAS01|" + state.ids.bytes(30)).decode("ascii").rstrip("=")


def _drop_session(state: State, session: Session) -> None:
    state.access_tokens.pop(session.access_token, None)
    state.refresh_tokens.pop(session.refresh_token, None)
    state.sessions.pop(session.session_id, None)


def revoke(state: State, form: Mapping[str, str], authorization: str | None) -> None:
    """Handle ``POST /restapi/oauth/revoke``: end the whole session of ``token`` (unknown tokens: no-op)."""
    app = authenticate_client(state, form, authorization)
    token = form.get("token")
    if not token:
        raise OAuthError(400, "invalid_request", "CMN-100", "Parameter [token] is required", "token")
    with state.lock:
        session = state.access_tokens.get(token) or state.refresh_tokens.get(token)
        if session is not None and session.client_id == app.client_id:
            _drop_session(state, session)


def authorize_request(state: State, authorization: str | None) -> Session:
    """The session of an API call's bearer token, or 401 with the platform's code."""
    if not authorization or not authorization.strip():
        raise unauthorized("OAU-123", "Authorization header is not specified")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("OAU-134", "Invalid Authorization header.")
    with state.lock:
        session = state.access_tokens.get(token)
        if session is None:
            raise unauthorized("OAU-149", "Unparsable access token")
        if session.access_expires_at <= state.clock.now():
            raise unauthorized("OAU-128", "Access token expired.")
        return session

