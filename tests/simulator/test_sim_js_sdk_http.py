"""What the official JavaScript SDKs (@ringcentral/sdk, @rc-ex/core) send, replayed over raw HTTP.

Each test reproduces a request those SDKs make, byte for byte where it matters, so the suite needs no
Node.js: the SDKs themselves were run against the simulator once, by hand.
"""
from __future__ import annotations

from sim_api import SUBSCRIPTION, assert_error, assert_token_invalid

#: The headers @ringcentral/sdk 5.x adds to every call.
JS_HEADERS = {"X-User-Agent": "sdkcheck/1.0 RCJSSDK/5.0.11", "Client-Id": "ignored-by-the-platform"}


def test_refresh_after_a_401_with_the_ttl_the_js_sdk_sends(sim, api):
    # On a 401 @ringcentral/sdk cancels its access token (expires_in = "-1") and refreshes with
    # access_token_ttl=parseInt(expires_in), i.e. -1: the platform must still refresh.
    sim.clock.advance(3600)
    assert_error(api.call("GET", SUBSCRIPTION, headers=dict(JS_HEADERS)), 401, "OAU-128")
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token,
                                   "access_token_ttl": "-1", "refresh_token_ttl": "604800"}, headers=JS_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (3600, 604800)
    api.token = body["access_token"]
    assert api.call("GET", SUBSCRIPTION, headers=dict(JS_HEADERS)).status_code == 200


def test_a_ttl_that_is_not_an_integer_is_still_a_clear_400(api):
    for value in ("soon", "-", "1.5", "\u00b2"):  # "²" passes str.isdigit() but is not a number
        response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token,
                                       "access_token_ttl": value})
        assert response.status_code == 400, (value, response.text)
        assert response.json()["errors"][0]["errorCode"] == "CMN-101"


def test_the_request_shapes_of_rc_ex_core(sim, api, hook):
    # @rc-ex/core (axios) sends client_id in the form as well as Basic auth, a body-less PUT with a *form*
    # content type, `{}` as the body of DELETE and of POST .../renew, and client_id in the revoke form.
    rcex = {"X-User-Agent": "Unknown/0.0.1 ringcentral-extensible/core/1.8.6"}
    login = api.oauth("token", {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                "assertion": sim.credentials.jwt, "client_id": sim.credentials.client_id}, headers=rcex)
    assert login.status_code == 200, login.text
    api.token = login.json()["access_token"]
    auth = {**rcex, "Authorization": f"Bearer {api.token}"}
    created = api.create(hook.url, expiresIn=1200).json()
    one = f"{SUBSCRIPTION}/{created['id']}"
    sim.clock.advance(100)
    put = api.call("PUT", one, data=b"", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert put.status_code == 200, put.text
    assert put.json()["expiresIn"] == 1200
    renew = api.call("POST", f"{one}/renew", data=b"{}", headers={**auth, "Content-Type": "application/json"})
    assert renew.status_code == 200 and renew.json()["id"] == created["id"]
    delete = api.call("DELETE", one, data=b"{}", headers={**auth, "Content-Type": "application/json"})
    assert delete.status_code == 204 and delete.content == b""
    revoke = api.oauth("revoke", {"token": api.token, "client_id": sim.credentials.client_id}, headers=rcex)
    assert revoke.status_code == 200 and revoke.content == b""
    assert_token_invalid(api.call("GET", SUBSCRIPTION, headers=dict(auth)))


def test_the_js_sdk_error_message_comes_from_the_top_level_message(api):
    # @ringcentral/sdk builds Error.message from the body's top-level message / error_description.
    body = assert_error(api.call("GET", f"{SUBSCRIPTION}/does-not-exist", headers=dict(JS_HEADERS)), 404, "CMN-102")
    assert body["message"] == "Resource for parameter [subscriptionId] is not found"
    bad = api.oauth("token", {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "nope"})
    assert bad.json()["error_description"] == "Invalid resource owner credentials."
