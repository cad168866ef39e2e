"""What the official JavaScript SDKs (@ringcentral/sdk, @rc-ex/core) send, replayed over raw HTTP.

Each test reproduces a request those SDKs make, byte for byte where it matters, so the suite needs no
Node.js: the SDKs themselves were run against the simulator once, by hand.
"""
from __future__ import annotations

from sim_helpers import SUBSCRIPTION, assert_error

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
