"""The handlers of RingCentral's API the simulator serves: read the request, check its shape, call the OAuth
or subscriptions backend, shape the answer. Each is a few lines; the backends never see a request.

``POST /restapi/oauth/token`` (JWT and refresh grants), ``POST /restapi/oauth/revoke`` and the
subscription calls under ``/restapi/v1.0/subscription``.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from rchelpers.simulator.accounts import Accounts, App, User
from rchelpers.simulator.errors import (
    OAuthError,
    cannot_parse,
    invalid_parameter,
    missing_parameter,
    unauthorized,
)
from rchelpers.simulator.event_filter_catalog import ParsedFilter
from rchelpers.simulator.filters import parse_filters, refuse_only_reminders
from rchelpers.simulator.handshake import check_address
from rchelpers.simulator.oauth import Grant, OAuthBackend, Session
from rchelpers.simulator.options import MAX_VERIFICATION_TOKEN
from rchelpers.simulator.permissions import scope_string, split_by_permission, webhook_denied
from rchelpers.simulator.routing import Route, SimRequest, SimResponse, route
from rchelpers.simulator.subscriptions import (
    SUBSCRIPTION_PATH,
    SubscriptionRecord,
    SubscriptionsBackend,
    check_renewable,
)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
#: Grants an ordinary app is refused with ``unauthorized_client`` OAU-251.
UNAUTHORIZED_GRANTS = ("password", "authorization_code", "partner_jwt")
FORM_TYPE = "application/x-www-form-urlencoded"
_INVALID = "\x00invalid"  # the secret of a Basic header that cannot be decoded


# --- reading OAuth requests ------------------------------------------------------------------------
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


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", _INVALID)
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", _INVALID)
    return client_id, secret


def client_hint(form: Mapping[str, str], authorization: str | None) -> str:
    """The client id a token request claims (for rate limiting before it is checked)."""
    basic = _basic_credentials(authorization)
    if basic is not None:
        return basic[0]
    return form.get("client_id", "")


def requested_ttl(form: Mapping[str, str], name: str) -> int | None:
    """A token lifetime the request asks for (None: not asked); 400 CMN-101 if it is not an integer."""
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    digits = raw[1:] if raw[:1] in "+-" else raw
    if not (digits.isascii() and digits.isdigit()):
        raise OAuthError(400, "invalid_request", "CMN-101", f"Parameter [{name}] value is invalid", name)
    return int(raw)


def bearer_token(authorization: str | None) -> str:
    """The token of a ``Bearer`` header; 401 AGW-401 if absent, AGW-402 if not a well-formed Bearer header."""
    if not authorization or not authorization.strip():
        raise unauthorized("AGW-401", "Authorization header is not specified")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("AGW-402", "Invalid Authorization header")
    return token


def token_body(grant: Grant, scope: str) -> dict[str, Any]:
    """The ``TokenInfo`` body of a grant; ``scope`` lists the app's permissions."""
    session = grant.session
    return {
        "access_token": session.access_token,
        "token_type": "bearer",
        "expires_in": grant.expires_in,
        "refresh_token": session.refresh_token,
        "refresh_token_expires_in": grant.refresh_token_expires_in,
        "scope": scope,
        "owner_id": session.user.extension_id,
        "endpoint_id": session.endpoint_id,
        "session_id": session.session_id,
    }


# --- reading subscription requests -----------------------------------------------------------------
def event_filters_of(body: Mapping[str, Any]) -> list[str]:
    """The body's ``eventFilters``: 400 CMN-100 if absent, CMN-101 unless a non-empty list of non-empty strings."""
    value = body.get("eventFilters")
    if value is None:
        raise missing_parameter("eventFilters")
    if not isinstance(value, list) or not value or not all(isinstance(f, str) and f for f in value):
        raise invalid_parameter("eventFilters", "a non-empty list of non-empty strings is expected")
    return value


def expires_in_of(body: Mapping[str, Any]) -> int | None:
    """The body's ``expiresIn`` (None if absent); 400 CMN-101 unless an integer >= 1."""
    value = body.get("expiresIn")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_parameter("expiresIn")
    return value


def webhook_delivery_of(body: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(address, verificationToken)`` of a create request's ``deliveryMode`` (WebHook only)."""
    delivery = body.get("deliveryMode")
    if delivery is None:
        raise missing_parameter("deliveryMode")
    if not isinstance(delivery, dict):
        raise invalid_parameter("deliveryMode")
    transport = delivery.get("transportType")
    if transport is None:
        raise missing_parameter("deliveryMode.transportType")
    if transport != "WebHook":
        raise invalid_parameter("deliveryMode.transportType", "only WebHook subscriptions can be created here")
    if delivery.get("address") is None:
        raise missing_parameter("deliveryMode.address")
    address = check_address(delivery["address"])
    token = delivery.get("verificationToken")
    if token is not None and (not isinstance(token, str) or not token or len(token) > MAX_VERIFICATION_TOKEN):
        raise invalid_parameter("deliveryMode.verificationToken")
    return address, token


class PlatformApi:
    """The API handlers on the OAuth and subscriptions backends; ``base_url()`` is the server's URL."""

    def __init__(self, oauth: OAuthBackend, subscriptions: SubscriptionsBackend, accounts: Accounts,
                 base_url: Callable[[], str]) -> None:
        self.oauth = oauth
        self.subscriptions = subscriptions
        self.accounts = accounts
        self.base_url = base_url

    def routes(self) -> list[Route]:
        """The RingCentral routes the simulator serves."""
        sub = SUBSCRIPTION_PATH
        one = sub + r"/(?P<id>[^/]+)"
        return [
            route("POST", r"/restapi/oauth/token", self.token, group="Auth"),
            route("POST", r"/restapi/oauth/revoke", self.revoke, group="Auth"),
            route("GET", sub, self.list_subscriptions, group="Light", auth=True),
            route("POST", sub, self.create_subscription, group="Medium", auth=True),
            route("GET", one, self.get_subscription, group="Light", auth=True),
            route("PUT", one, self.update_subscription, group="Medium", auth=True),
            route("DELETE", one, self.delete_subscription, group="Medium", auth=True),
            route("POST", one + r"/renew", self.renew_subscription, group="Light", auth=True),
        ]

    # --- what the router asks --------------------------------------------------------------------
    def authorize(self, authorization: str | None) -> Session:
        """The session of an API call's bearer token, or 401 with the platform's code."""
        return self.oauth.session_for(bearer_token(authorization))

    def rate_key(self, request: SimRequest) -> tuple[str, str]:
        """Who a rate-limited call counts against: the user and app, or the claimed client id (else the IP)."""
        if request.session is not None:
            return (request.session.user.extension_id, request.session.client_id)
        hint = ""
        if request.path.startswith("/restapi/oauth/"):
            try:
                form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
            except ValueError:
                form = {}
            hint = client_hint(form, request.header("Authorization"))
        return ("client", hint or request.client_address[0])

    # --- OAuth -----------------------------------------------------------------------------------
    def _client(self, form: Mapping[str, str], authorization: str | None) -> App:
        """The app making a token or revoke request (Basic header, or ``client_id`` [+ ``client_secret``])."""
        basic = _basic_credentials(authorization)
        if basic is not None:
            client_id, secret = basic
            if secret == _INVALID:
                raise OAuthError(401, "invalid_client", "OAU-123", "Invalid Authorization header value: [Basic]")
        elif form.get("client_id"):
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            raise OAuthError(401, "invalid_client", "OAU-123", "Client authentication is required")
        return self.oauth.authenticate_client(client_id, secret, check_secret=basic is not None or bool(secret))

    def token(self, request: SimRequest) -> SimResponse:
        """``POST /restapi/oauth/token``: the JWT and refresh grants."""
        form = parse_form(request.body, request.header("Content-Type"))
        app = self._client(form, request.header("Authorization"))
        grant = form.get("grant_type", "")
        if not grant:
            raise OAuthError(400, "invalid_request", "OAU-250", "Unsupported grant type", "grant_type")
        if grant in UNAUTHORIZED_GRANTS:
            raise OAuthError(400, "unauthorized_client", "OAU-251", "Unauthorized for this grant type")
        if grant not in (JWT_GRANT, REFRESH_GRANT):
            raise OAuthError(400, "unsupported_grant_type", "OAU-250", "Unsupported grant type")
        access_ttl = requested_ttl(form, "access_token_ttl")
        refresh_ttl = requested_ttl(form, "refresh_token_ttl")
        field_name = "assertion" if grant == JWT_GRANT else "refresh_token"
        value = form.get(field_name)
        if not value:
            raise OAuthError(400, "invalid_request", "CMN-100", f"Parameter [{field_name}] is required", field_name)
        if grant == JWT_GRANT:
            issued = self.oauth.login_with_jwt(app, value, form.get("endpoint_id"), access_ttl, refresh_ttl)
        else:
            issued = self.oauth.refresh(app, value, access_ttl, refresh_ttl)
        return SimResponse(200, token_body(issued, scope_string(app.permissions)),
                           {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revoke(self, request: SimRequest) -> SimResponse:
        """``POST /restapi/oauth/revoke``: ``token`` in the form body or the query; 200 with no body."""
        form = parse_form(request.body, request.header("Content-Type"), request.query)
        app = self._client(form, request.header("Authorization"))
        token = form.get("token")
        if not token:
            raise OAuthError(400, "invalid_request", "CMN-100", "Parameter [token] is required", "token")
        self.oauth.revoke(app, token)
        return SimResponse(200, None)

    # --- subscriptions -----------------------------------------------------------------------------
    def _info(self, record: SubscriptionRecord) -> dict[str, Any]:
        return self.subscriptions.info(record, self.base_url())

    def _filters(self, raw_filters: list[str], user: User, client_id: str) -> tuple[list[ParsedFilter],
                                                                                    list[dict[str, str]]]:
        """A WebHook's filters parsed and checked (SUB-508, 403s, SUB-515), split into those the app may
        subscribe to and the ``DisabledFilterInfo`` of the others."""
        filters = parse_filters(raw_filters, user.owner)
        refuse_only_reminders(filters)
        return split_by_permission(filters, self._app(client_id).permissions)

    def _check_webhook_permission(self, client_id: str) -> None:
        """403 CMN-401 with ``permissionName`` when the app lacks ``SubscriptionWebhook``."""
        denied = webhook_denied(self._app(client_id).permissions)
        if denied is not None:
            raise denied.error()

    def _app(self, client_id: str) -> App:
        app = self.accounts.app(client_id)
        assert app is not None  # a session's app is always registered
        return app

    def list_subscriptions(self, request: SimRequest) -> SimResponse:
        """``GET /restapi/v1.0/subscription``: the user's records for this app, every transport."""
        user, client_id = _owner(request)
        records = [self._info(r) for r in self.subscriptions.list_for(user, client_id)]
        return SimResponse(200, {"uri": self.base_url() + SUBSCRIPTION_PATH, "records": records})

    def create_subscription(self, request: SimRequest) -> SimResponse:
        """``POST /restapi/v1.0/subscription``: check, handshake, store; 200 ``SubscriptionInfo``."""
        user, client_id = _owner(request)
        body = request.json()
        if body is None:
            raise cannot_parse("the body must be a JSON object with eventFilters and deliveryMode")
        if not isinstance(body, dict):
            raise cannot_parse("the body must be a JSON object")
        raw_filters = event_filters_of(body)
        address, token = webhook_delivery_of(body)
        expires_in = expires_in_of(body)
        filters, disabled = self._filters(raw_filters, user, client_id)
        self._check_webhook_permission(client_id)
        record = self.subscriptions.create_webhook(user, client_id, filters, address, token, expires_in, disabled)
        return SimResponse(200, self._info(record))

    def get_subscription(self, request: SimRequest) -> SimResponse:
        """``GET /restapi/v1.0/subscription/{id}``."""
        user, client_id = _owner(request)
        return SimResponse(200, self._info(self.subscriptions.get(user, client_id, request.params["id"])))

    def update_subscription(self, request: SimRequest) -> SimResponse:
        """``PUT /restapi/v1.0/subscription/{id}``: no body or ``{}`` renews; ``eventFilters`` updates and renews.

        ``expiresIn`` sets a new lifetime, which later renewals reuse; other fields are ignored.
        """
        user, client_id = _owner(request)
        body = request.json_object()
        raw_filters = event_filters_of(body) if "eventFilters" in body else None
        current = self.subscriptions.get(user, client_id, request.params["id"])
        check_renewable(current)
        expires_in = expires_in_of(body)
        filters, disabled = (None, None) if raw_filters is None else self._filters(raw_filters, user, client_id)
        record = self.subscriptions.update(user, client_id, request.params["id"], filters, expires_in, disabled)
        return SimResponse(200, self._info(record))

    def renew_subscription(self, request: SimRequest) -> SimResponse:
        """``POST /restapi/v1.0/subscription/{id}/renew`` (the body is ignored)."""
        user, client_id = _owner(request)
        return SimResponse(200, self._info(self.subscriptions.renew(user, client_id, request.params["id"])))

    def delete_subscription(self, request: SimRequest) -> SimResponse:
        """``DELETE /restapi/v1.0/subscription/{id}``: 204 No Content."""
        user, client_id = _owner(request)
        self.subscriptions.delete(user, client_id, request.params["id"])
        return SimResponse(204, None)


def _owner(request: SimRequest) -> tuple[User, str]:
    assert request.session is not None
    return request.session.user, request.session.client_id
