"""CORS: @ringcentral/sdk runs in browsers against the platform (ringcentral-web-phone issue #300: a page on
http://localhost logs in and calls /restapi/v1.0 with Authorization, Client-Id and X-User-Agent headers)."""
from __future__ import annotations

import requests

from sim_api import SUBSCRIPTION, assert_error

ORIGIN = "http://localhost:8888"
SDK_HEADERS = "authorization,client-id,content-type,x-user-agent"


def _preflight(sim, path: str, method: str) -> requests.Response:
    return requests.options(sim.url + path, timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": SDK_HEADERS})


def test_preflight_of_the_token_and_subscription_routes_is_allowed(sim):
    for path, method in (("/restapi/oauth/token", "POST"), (SUBSCRIPTION, "GET"),
                         (f"{SUBSCRIPTION}/some-id", "PUT"), (f"{SUBSCRIPTION}/some-id/renew", "POST")):
        response = _preflight(sim, path, method)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert method in response.headers["Access-Control-Allow-Methods"].split(", ")
        assert response.headers["Access-Control-Allow-Headers"] == SDK_HEADERS
        assert "Origin" in response.headers["Vary"]
        assert response.content == b""


def test_preflight_of_an_unknown_path_fails(sim):
    assert _preflight(sim, "/client-info/sip-provision", "POST").status_code == 404


def test_answers_to_a_page_carry_the_origin_and_expose_the_rate_limit_headers(make_sim, hook):
    sim = make_sim(rate_limits={})  # the platform's default groups, so the X-Rate-Limit-* headers are sent
    creds = sim.credentials
    login = requests.post(sim.url + "/restapi/oauth/token", auth=(creds.client_id, creds.client_secret), timeout=10,
                          headers={"Origin": ORIGIN}, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                            "assertion": creds.jwt})
    assert login.status_code == 200 and login.headers["Access-Control-Allow-Origin"] == ORIGIN
    token = login.json()["access_token"]
    listed = requests.get(sim.url + SUBSCRIPTION, timeout=10,
                          headers={"Origin": ORIGIN, "Authorization": f"bearer {token}"})
    assert listed.status_code == 200 and listed.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = listed.headers["Access-Control-Expose-Headers"].split(", ")
    assert {"Retry-After", "X-Rate-Limit-Group", "X-Rate-Limit-Remaining"} <= set(exposed)
    missing = requests.get(sim.url + f"{SUBSCRIPTION}/nope", timeout=10,
                           headers={"Origin": ORIGIN, "Authorization": f"bearer {token}"})
    assert_error(missing, 404, "CMN-102")  # the SDK reads the error body, so errors carry the header too
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_no_cors_headers_without_an_origin_or_for_a_malformed_one(sim):
    plain = requests.get(sim.url + SUBSCRIPTION, timeout=10)
    assert "Access-Control-Allow-Origin" not in plain.headers
    odd = requests.get(sim.url + SUBSCRIPTION, timeout=10, headers={"Origin": "not an origin"})
    assert "Access-Control-Allow-Origin" not in odd.headers
    assert plain.status_code == odd.status_code == 401
