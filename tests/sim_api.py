"""The one raw-HTTP client of the simulator tests (never the rchelpers client) and error-body assertions.

The ``api`` and ``make_api`` fixtures (``tests/conftest.py``) give a logged-in :class:`SimApi`.
"""
from __future__ import annotations

import json
from typing import Any

import requests

from rchelpers.simulator import Simulator

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SUBSCRIPTION = "/restapi/v1.0/subscription"
PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


class SimApi:
    """Raw HTTP calls to a simulator, with the demo app's credentials (never the rchelpers client)."""

    def __init__(self, sim: Simulator, credentials: Any = None) -> None:
        self.sim = sim
        self.credentials = credentials or sim.credentials
        self.http = requests.Session()
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.session_id: str | None = None

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.sim.url + path

    def oauth(self, path: str, data: dict[str, str], auth: Any = "basic", **kwargs: Any) -> requests.Response:
        """POST a form to ``/restapi/oauth/<path>`` with Basic client auth unless told otherwise."""
        if auth == "basic":
            auth = (self.credentials.client_id, self.credentials.client_secret)
        return self.http.post(self.url(f"/restapi/oauth/{path}"), data=data, auth=auth, timeout=10, **kwargs)

    def login(self) -> dict[str, Any]:
        """JWT grant; keeps the tokens."""
        response = self.oauth("token", {"grant_type": JWT_GRANT, "assertion": self.credentials.jwt})
        assert response.status_code == 200, response.text
        body = response.json()
        self.token, self.refresh_token = body["access_token"], body["refresh_token"]
        self.session_id = body["session_id"]
        return body

    def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        """A request with the bearer token (lowercase ``bearer``, as the official SDK sends it) unless ``auth``
        is False."""
        headers = kwargs.pop("headers", {})
        if auth and self.token and "Authorization" not in headers:
            headers["Authorization"] = f"bearer {self.token}"
        return self.http.request(method, self.url(path), headers=headers, timeout=10, **kwargs)

    def call_json(self, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
        """One JSON request (with the bearer token unless ``auth`` is False); returns (status, parsed body or None)."""
        data = b"" if body is None else json.dumps(body).encode()
        response = self.call(method, path, auth=auth, data=data, headers={"Content-Type": "application/json"})
        return response.status_code, (response.json() if response.content else None)

    def subscribe(self, address: str, filters: list[str] | None = None, expires_in: int | None = None,
                  verification_token: str | None = None) -> dict[str, Any]:
        """Create a WebHook subscription; asserts success and returns its SubscriptionInfo."""
        delivery: dict[str, Any] = {"transportType": "WebHook", "address": address}
        if verification_token is not None:
            delivery["verificationToken"] = verification_token
        body: dict[str, Any] = {"eventFilters": filters or [PRESENCE], "deliveryMode": delivery}
        if expires_in is not None:
            body["expiresIn"] = expires_in
        status, info = self.call_json("POST", SUBSCRIPTION, body)
        assert status == 200, info
        return info

    def create(self, address: str, filters: list[str] | None = None, **extra: Any) -> requests.Response:
        """POST a WebHook subscription for ``address``."""
        delivery = {"transportType": "WebHook", "address": address}
        delivery.update(extra.pop("delivery", {}))
        body = {"eventFilters": filters or [PRESENCE], "deliveryMode": delivery, **extra}
        return self.call("POST", SUBSCRIPTION, json=body)

    def records(self) -> list[dict[str, Any]]:
        """The subscription list's records."""
        response = self.call("GET", SUBSCRIPTION)
        assert response.status_code == 200, response.text
        return response.json()["records"]


def assert_error(response: requests.Response, status: int, code: str, message: str | None = None,
                 parameter: str | None = None) -> dict[str, Any]:
    """Check an API error: status, top-level errorCode/message mirroring errors[0], parameterName."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert body["errorCode"] == code == body["errors"][0]["errorCode"], body
    assert body["message"] == body["errors"][0]["message"]
    if message is not None:
        assert body["message"].startswith(message), body["message"]
    if parameter is not None:
        assert body["parameterName"] == parameter == body["errors"][0]["parameterName"]
    return body


def assert_token_invalid(response: requests.Response) -> dict[str, Any]:
    """Check the 401 for an unknown, revoked or garbled access token: ``TokenInvalid`` at the top, OAU-149 in
    ``errors[0]``, both ``OAuth token is invalid``."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert body == {"errorCode": "TokenInvalid", "message": "OAuth token is invalid",
                    "errors": [{"errorCode": "OAU-149", "message": "OAuth token is invalid"}]}, body
    return body


def assert_oauth_error(response: requests.Response, status: int, error: str, code: str) -> dict[str, Any]:
    """Check an OAuth error body: error, error_description, errors[0].errorCode."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["errors"][0]["errorCode"] == code, body
    assert body["error_description"] == body["errors"][0]["message"]
    return body
