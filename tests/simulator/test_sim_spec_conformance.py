"""Findings of a one-off check of the simulator's JSON against RingCentral's OpenAPI schemas, kept as tests."""
from __future__ import annotations

from sim_api import SUBSCRIPTION


def test_expires_in_is_at_least_1_while_the_subscription_lives(sim, api, hook):
    # SubscriptionInfo.expiresIn is int32 with minimum 1; the remaining lifetime is floored (604799 right after
    # a create, as real responses show), so the last fraction of a second must not read 0.
    created = api.create(hook.url, expiresIn=60).json()
    sim.clock.advance(59.5)
    response = api.call("GET", f"{SUBSCRIPTION}/{created['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["expiresIn"] == 1
    assert [r["expiresIn"] for r in api.records()] == [1]
    sim.clock.advance(0.5)
    assert api.records() == []
