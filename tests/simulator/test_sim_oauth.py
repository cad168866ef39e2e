"""OAuth on the simulator: the JWT and refresh grants, revoke, bearer checks, and every documented error."""
from __future__ import annotations

import base64

import pytest
import requests

from sim_api import JWT_GRANT, SUBSCRIPTION, SimApi, assert_error, assert_oauth_error, assert_token_invalid


def test_jwt_grant_returns_token_info_in_the_real_order(sim, api):
    body = api.login()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token", "refresh_token_expires_in",
                          "scope", "owner_id", "endpoint_id", "session_id"]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["refresh_token_expires_in"] == 604800
    assert "SubscriptionWebhook" in body["scope"].split()
    assert body["owner_id"] == sim.accounts.user.extension_id


def test_client_id_in_the_body_is_accepted(sim, api):
    data = {"grant_type": JWT_GRANT, "assertion": sim.credentials.jwt, "client_id": sim.credentials.client_id}
    response = api.oauth("token", data, auth=None)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_bearer_scheme_is_case_insensitive_and_missing_header_is_agw_401(api):
    for scheme in ("bearer", "Bearer", "BEARER"):
        response = api.call("GET", SUBSCRIPTION, headers={"Authorization": f"{scheme} {api.token}"})
        assert response.status_code == 200, scheme
    response = api.http.get(api.url(SUBSCRIPTION), timeout=5)
    body = assert_error(response, 401, "AGW-401", "Authorization header is not specified")
    assert body["message"] == "Authorization header is not specified"


@pytest.mark.parametrize("header", ["Basic abc", "bearer", "Bearer a b", "token xyz"])
def test_malformed_authorization_header_is_agw_402(api, header):
    body = assert_error(api.call("GET", SUBSCRIPTION, headers={"Authorization": header}), 401, "AGW-402")
    assert body["message"] == "Invalid Authorization header"


def test_unknown_token(api):
    assert_token_invalid(api.call("GET", SUBSCRIPTION, headers={"Authorization": "Bearer nope"}))


def test_access_token_expires_on_the_simulated_clock_and_refresh_works(sim, api):
    sim.clock.advance(3599)
    assert api.call("GET", SUBSCRIPTION).status_code == 200
    sim.clock.advance(1)
    assert_error(api.call("GET", SUBSCRIPTION), 401, "OAU-128", "Access token expired.")
    old_access, old_refresh = api.token, api.refresh_token
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": old_refresh})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] != old_access and body["refresh_token"] != old_refresh
    api.token = body["access_token"]
    assert api.call("GET", SUBSCRIPTION).status_code == 200


def test_refresh_token_is_single_use_and_old_access_token_dies(api):
    old_access, old_refresh = api.token, api.refresh_token
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": old_refresh})
    assert response.status_code == 200
    assert_token_invalid(api.call("GET", SUBSCRIPTION, headers={"Authorization": f"bearer {old_access}"}))
    again = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": old_refresh})
    assert_oauth_error(again, 400, "invalid_grant", "OAU-213")
    assert response.json()["session_id"] == api.session_id  # a refresh keeps the session


def test_token_scope_lists_the_app_permissions(api, make_sim, make_api):
    assert api.login()["scope"] == ("CallControl ReadAccounts ReadMessages ReadPresence SMS SubscriptionWebhook "
                                    "TeamMessaging")
    narrow = make_api(make_sim(seed=3, permissions=["ReadPresence", "SubscriptionWebhook"]))
    assert narrow.login()["scope"] == "ReadPresence SubscriptionWebhook"


def _refresh(api, refresh_token):
    return api.oauth("token", {"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_refresh_reuse_grace_unused_new_token(make_sim, make_api):
    sim = make_sim(seed=3, refresh_reuse_grace=(10, 3600))
    api = make_api(sim)
    old_refresh = api.refresh_token
    first = _refresh(api, old_refresh).json()
    sim.clock.advance(3599)  # the new access token is never used: the old refresh token works up to 60 min
    again = _refresh(api, old_refresh)
    assert again.status_code == 200, again.text
    assert (again.json()["access_token"], again.json()["refresh_token"]) == (first["access_token"],
                                                                            first["refresh_token"])
    sim.clock.advance(1)
    assert_oauth_error(_refresh(api, old_refresh), 400, "invalid_grant", "OAU-213")


def test_refresh_reuse_grace_ends_10_s_after_the_new_token_is_used(make_sim, make_api):
    sim = make_sim(seed=3, refresh_reuse_grace=(10, 3600))
    api = make_api(sim)
    old_refresh = api.refresh_token
    first = _refresh(api, old_refresh).json()
    sim.clock.advance(100)
    api.token = first["access_token"]
    assert api.call("GET", SUBSCRIPTION).status_code == 200  # first use
    sim.clock.advance(9)
    assert _refresh(api, old_refresh).json()["access_token"] == first["access_token"]
    sim.clock.advance(1)
    assert_oauth_error(_refresh(api, old_refresh), 400, "invalid_grant", "OAU-213")
    assert api.call("GET", SUBSCRIPTION).status_code == 200  # the new tokens still work
    assert _refresh(api, first["refresh_token"]).status_code == 200


def test_without_the_grace_a_used_refresh_token_fails_at_once(sim, api):
    old_refresh = api.refresh_token
    assert _refresh(api, old_refresh).status_code == 200
    assert_oauth_error(_refresh(api, old_refresh), 400, "invalid_grant", "OAU-213")


def test_refresh_token_expires(sim, api):
    sim.clock.advance(604800)
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token})
    body = assert_oauth_error(response, 400, "invalid_grant", "OAU-213")
    assert "expired" in body["error_description"]


def test_refresh_by_another_app_is_refused(sim, api):
    other = SimApi(sim, sim.second_app_credentials)
    try:
        response = other.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token})
        assert_oauth_error(response, 400, "invalid_grant", "OAU-213")
    finally:
        other.close()


def test_ttl_fields_are_honoured_within_bounds(api):
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token,
                                   "access_token_ttl": "900", "refresh_token_ttl": "7200"})
    body = response.json()
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (900, 7200)
    response = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                                   "access_token_ttl": "5", "refresh_token_ttl": "99999999"})
    body = response.json()
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (600, 604800)  # clamped, then capped
    bad = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                              "access_token_ttl": "soon"})
    assert_oauth_error(bad, 400, "invalid_request", "CMN-101")


def test_server_ttl_options_cap_the_tokens(webhook_server):
    from rchelpers.simulator import Simulator

    with Simulator(seed=1, rate_limits=None, access_token_ttl=60, refresh_token_ttl=120) as short:
        client = SimApi(short)
        try:
            body = client.login()
            assert (body["expires_in"], body["refresh_token_expires_in"]) == (60, 120)
        finally:
            client.close()


def test_revoke_ends_the_whole_session(api):
    response = api.oauth("revoke", {"token": api.token})
    assert response.status_code == 200 and response.content == b""
    assert_token_invalid(api.call("GET", SUBSCRIPTION))
    again = api.oauth("token", {"grant_type": "refresh_token", "refresh_token": api.refresh_token})
    assert_oauth_error(again, 400, "invalid_grant", "OAU-213")


def test_revoke_with_token_in_query_and_unknown_token(api):
    response = api.http.post(api.url("/restapi/oauth/revoke"), params={"token": api.refresh_token},
                             auth=(api.credentials.client_id, api.credentials.client_secret), timeout=5)
    assert response.status_code == 200
    assert api.call("GET", SUBSCRIPTION).status_code == 401
    assert api.oauth("revoke", {"token": "never-issued"}).status_code == 200


def test_revoke_without_token(api):
    assert_oauth_error(api.oauth("revoke", {}), 400, "invalid_request", "CMN-100")


@pytest.mark.parametrize(
    "data, auth, status, error, code",
    [
        ({"grant_type": JWT_GRANT, "assertion": "x"}, ("unknown-client", "s"), 401, "invalid_client", "OAU-153"),
        ({"grant_type": JWT_GRANT, "assertion": "x"}, "wrong-secret", 401, "invalid_client", "OAU-146"),
        ({"grant_type": JWT_GRANT, "assertion": "x"}, None, 401, "invalid_client", "OAU-123"),
        ({"grant_type": JWT_GRANT, "assertion": "not.a.jwt"}, "basic", 400, "invalid_grant", "OAU-140"),
        ({"grant_type": JWT_GRANT}, "basic", 400, "invalid_request", "CMN-100"),
        ({"grant_type": "password", "username": "u", "password": "p"}, "basic", 400, "unauthorized_client", "OAU-251"),
        ({"grant_type": "authorization_code", "code": "c"}, "basic", 400, "unauthorized_client", "OAU-251"),
        ({"grant_type": "client_credentials"}, "basic", 400, "unsupported_grant_type", "OAU-250"),
        ({"grant_type": "magic"}, "basic", 400, "unsupported_grant_type", "OAU-250"),
        ({}, "basic", 400, "invalid_request", "OAU-250"),
        ({"grant_type": "refresh_token"}, "basic", 400, "invalid_request", "CMN-100"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "basic", 400, "invalid_grant", "OAU-213"),
    ],
)
def test_token_errors(api, data, auth, status, error, code):
    if auth == "wrong-secret":
        auth = (api.credentials.client_id, "wrong")
    assert_oauth_error(api.oauth("token", data, auth=auth), status, error, code)


def test_malformed_basic_header(api):
    response = api.http.post(api.url("/restapi/oauth/token"), data={"grant_type": JWT_GRANT},
                             headers={"Authorization": "Basic !!!"}, timeout=5)
    assert_oauth_error(response, 401, "invalid_client", "OAU-123")
    no_colon = base64.b64encode(b"just-an-id").decode()
    response = api.http.post(api.url("/restapi/oauth/token"), data={"grant_type": JWT_GRANT},
                             headers={"Authorization": f"Basic {no_colon}"}, timeout=5)
    assert_oauth_error(response, 401, "invalid_client", "OAU-123")


def test_wrong_content_type_and_duplicate_fields(api):
    response = api.http.post(api.url("/restapi/oauth/token"), json={"grant_type": JWT_GRANT},
                             auth=(api.credentials.client_id, api.credentials.client_secret), timeout=5)
    assert_oauth_error(response, 415, "invalid_request", "CMN-104")
    response = api.http.post(api.url("/restapi/oauth/token"), data="grant_type=a&grant_type=b",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             auth=(api.credentials.client_id, api.credentials.client_secret), timeout=5)
    assert_oauth_error(response, 400, "invalid_request", "OAU-111")


def test_errors_never_reveal_secrets(sim, api):
    response = api.oauth("token", {"grant_type": JWT_GRANT, "assertion": sim.credentials.jwt[:-3] + "abc"})
    assert sim.credentials.jwt[:40] not in response.text
    response = api.oauth("token", {"grant_type": JWT_GRANT}, auth=(sim.credentials.client_id, "bad-secret"))
    assert "bad-secret" not in response.text and sim.credentials.client_secret not in response.text


def test_get_on_token_endpoint_is_405(api):
    response = requests.get(api.url("/restapi/oauth/token"), timeout=5)
    assert_error(response, 405, "CMN-202")
    assert response.headers["Allow"] == "POST"
