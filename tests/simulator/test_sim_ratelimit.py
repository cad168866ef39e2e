"""Rate limits: X-Rate-Limit-* headers, 429 CMN-301 with Retry-After, penalty, groups, and turning them off."""
from __future__ import annotations

import pytest

from rchelpers.simulator import Simulator
from rchelpers.simulator.ratelimit import RateLimiter
from sim_api import JWT_GRANT, SUBSCRIPTION, SimApi, assert_error


@pytest.fixture
def limited():
    with Simulator(seed=5, rate_limits={"Light": (3, 60, 30), "Medium": (2, 60, 60), "Auth": (2, 60, 60)}) as sim:
        client = SimApi(sim)
        client.login()
        yield sim, client
        client.close()


def test_default_limits_and_headers_on_every_api_response(webhook_server):
    with Simulator(seed=5) as sim:
        client = SimApi(sim)
        try:
            login = client.oauth("token", {"grant_type": JWT_GRANT, "assertion": sim.credentials.jwt})
            assert (login.headers["X-Rate-Limit-Group"], login.headers["X-Rate-Limit-Limit"]) == ("auth", "5")
            client.token = login.json()["access_token"]
            listed = client.call("GET", SUBSCRIPTION)
            assert listed.headers["X-Rate-Limit-Group"] == "light"
            assert (listed.headers["X-Rate-Limit-Limit"], listed.headers["X-Rate-Limit-Remaining"],
                    listed.headers["X-Rate-Limit-Window"]) == ("50", "49", "60")
            created = client.create(webhook_server("echo").url)
            assert (created.headers["X-Rate-Limit-Group"], created.headers["X-Rate-Limit-Limit"]) == ("medium", "40")
            renewed = client.call("POST", f"{SUBSCRIPTION}/{created.json()['id']}/renew")
            assert renewed.headers["X-Rate-Limit-Group"] == "light"
            deleted = client.call("DELETE", f"{SUBSCRIPTION}/{created.json()['id']}")
            assert deleted.headers["X-Rate-Limit-Group"] == "medium"
            refused = client.call("GET", f"{SUBSCRIPTION}/nope")  # errors count and carry the headers too
            assert refused.status_code == 404 and refused.headers["X-Rate-Limit-Remaining"] == "47"  # list, renew, this get
        finally:
            client.close()


def test_429_with_retry_after_then_the_penalty_restarts_and_ends(limited):
    sim, client = limited
    remaining = [client.call("GET", SUBSCRIPTION).headers["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = client.call("GET", SUBSCRIPTION)
    assert_error(response, 429, "CMN-301", "Request rate exceeded")
    assert response.headers["Retry-After"] == "30" and response.headers["X-Rate-Limit-Remaining"] == "0"
    sim.clock.advance(20)
    assert client.call("GET", SUBSCRIPTION).status_code == 429  # retried too early: the penalty restarts
    sim.clock.advance(29)
    assert client.call("GET", SUBSCRIPTION).status_code == 429
    sim.clock.advance(31)
    assert client.call("GET", SUBSCRIPTION).status_code == 200


def test_groups_are_counted_separately(limited, webhook_server):
    sim, client = limited
    for _ in range(3):
        client.call("GET", SUBSCRIPTION)
    assert client.call("GET", SUBSCRIPTION).status_code == 429
    assert client.create(webhook_server("echo").url).status_code == 200  # Medium still has room


def test_a_refused_request_changes_nothing(limited, webhook_server):
    sim, client = limited
    hook = webhook_server("echo")
    client.create(hook.url)
    client.create(hook.url)
    response = client.create(hook.url)
    assert_error(response, 429, "CMN-301")
    assert len(sim.subscriptions.records) == 2 and len(hook.requests) == 2


def test_auth_group_limits_token_requests(limited):
    sim, client = limited  # the fixture's login used 1 of 2
    assert client.oauth("token", {"grant_type": "refresh_token", "refresh_token": client.refresh_token}).ok
    response = client.oauth("token", {"grant_type": JWT_GRANT, "assertion": sim.credentials.jwt})
    assert_error(response, 429, "CMN-301")
    assert response.headers["Retry-After"] == "60"


def test_limits_are_per_app(limited):
    sim, client = limited
    for _ in range(3):
        client.call("GET", SUBSCRIPTION)
    other = SimApi(sim, sim.second_app_credentials)
    try:
        other.login()
        assert other.call("GET", SUBSCRIPTION).status_code == 200
    finally:
        other.close()


def test_reset_clears_the_counters(limited):
    sim, client = limited
    for _ in range(4):
        client.call("GET", SUBSCRIPTION)
    sim.reset()
    client.login()
    assert client.call("GET", SUBSCRIPTION).status_code == 200


def test_disabled_limits_send_no_headers(sim, api):
    for _ in range(60):
        response = api.call("GET", SUBSCRIPTION)
        assert response.status_code == 200
    assert "X-Rate-Limit-Group" not in response.headers


@pytest.mark.parametrize("limits, message", [
    ({"Huge": (1, 1, 1)}, "unknown rate-limit group"),
    ({"Light": (0, 60, 60)}, "limit must be an integer >= 1"),
    ({"Light": (5, -1, 60)}, "window must be a number of seconds > 0"),
    ({"Light": (5, 60)}, "must be (limit, window_seconds, penalty_seconds)"),
])
def test_bad_limit_options_are_refused(limits, message):
    with pytest.raises(ValueError) as info:
        RateLimiter(limits, lambda: 0.0)
    assert message in str(info.value)
