"""Random bodies never get a 500 or a traceback, and a refused request never changes the state."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rchelpers.simulator import Simulator
from sim_api import PRESENCE, SUBSCRIPTION, SimApi
from webhook_stub import StubWebhook

JSON_LEAVES = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
FILTERS = st.sampled_from([PRESENCE, "/restapi/v1.0/subscription/~?threshold=60&interval=15", "/bogus", "",
                           "/restapi/v1.0/account/1/extension/~/presence"])
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_env():
    hook = StubWebhook("echo")
    sim = Simulator(seed=99, rate_limits=None, subscription_limit=10_000).start()
    client = SimApi(sim)
    client.login()
    keep = client.create(hook.url).json()["id"]
    yield sim, client, hook, keep
    client.close()
    sim.stop()
    hook.stop()


def _snapshot(sim):
    return {sid: (r.event_filters, r.expiration_time, r.lifetime) for sid, r in sim.subscriptions.records.items()}


def _addresses(hook):
    return st.sampled_from([hook.url, "not a url", 5, None, "ftp://x/y"])


@SETTINGS
@given(data=st.data())
def test_create_with_random_bodies(fuzz_env, data):
    sim, client, hook, _ = fuzz_env
    body = data.draw(st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({"eventFilters": st.one_of(st.lists(FILTERS, max_size=3), JSON_VALUES),
                               "deliveryMode": st.one_of(JSON_VALUES, st.fixed_dictionaries({
                                   "transportType": st.sampled_from(["WebHook", "PubNub", 1, None]),
                                   "address": _addresses(hook),
                                   "verificationToken": st.one_of(st.none(), st.text(max_size=5), st.integers())})),
                               "expiresIn": st.one_of(st.integers(-5, 10**10), JSON_VALUES)}),
    ))
    before = _snapshot(sim)
    response = client.call("POST", SUBSCRIPTION, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 403), response.text
    assert "Traceback" not in response.text
    if response.status_code != 200:
        assert _snapshot(sim) == before
        assert response.json()["errorCode"] == response.json()["errors"][0]["errorCode"]


@SETTINGS
@given(body=st.one_of(JSON_VALUES, st.fixed_dictionaries({"eventFilters": st.lists(FILTERS, max_size=2),
                                                          "expiresIn": JSON_VALUES})))
def test_put_with_random_bodies(fuzz_env, body):
    sim, client, _, keep = fuzz_env
    before = _snapshot(sim)
    response = client.call("PUT", f"{SUBSCRIPTION}/{keep}", data=json.dumps(body),
                           headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 403), response.text
    if response.status_code != 200:
        assert _snapshot(sim) == before


@SETTINGS
@given(raw=st.binary(max_size=64), path=st.sampled_from(["/restapi/oauth/token", "/restapi/oauth/revoke",
                                                          SUBSCRIPTION, "/_sim/clock/advance",
                                                          "/_sim/subscriptions/seed"]))
def test_random_bytes_to_every_post_route(fuzz_env, raw, path):
    sim, client, _, _ = fuzz_env
    before = _snapshot(sim)
    clock_before = sim.clock.now()
    response = client.call("POST", path, data=raw, headers={"Content-Type": "application/x-www-form-urlencoded"
                                                            if "oauth" in path else "application/json"})
    assert 200 <= response.status_code < 500, response.text
    if response.status_code >= 400:
        assert _snapshot(sim) == before and sim.clock.now() == clock_before
