"""Renewal reminders and expiry through the whole Simulator, on the advanced clock."""
from __future__ import annotations

import json
import time

from rchelpers import WebhookReceiver

SUBSCRIPTION = "/restapi/v1.0/subscription"
PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


REMINDER = "/restapi/v1.0/subscription/~?threshold=120&interval=30"


def _reminders(hook) -> list[tuple[str, int, str]]:
    envelopes = [json.loads(r.body) for r in hook.requests if r.body]
    return [(e["timestamp"][11:19], e["body"]["expiresIn"], e["event"]) for e in envelopes
            if e["event"].startswith("/restapi/v1.0/subscription/")]


def test_reminder_sequence_then_expiry(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, [PRESENCE, REMINDER], expires_in=600)
    assert info["eventFilters"][1] == REMINDER  # the reminder filter keeps ~
    sim.clock.advance(700)
    assert _reminders(hook) == [("00:08:00", 120, REMINDER), ("00:08:30", 90, REMINDER),
                                ("00:09:00", 60, REMINDER), ("00:09:30", 30, REMINDER)]
    reminder = json.loads(hook.requests[-1].body)
    assert reminder["subscriptionId"] == info["id"] and reminder["body"] == {"expiresIn": 30}
    assert list(reminder) == ["uuid", "event", "timestamp", "subscriptionId", "ownerId", "body"]
    # expired at 00:10:00: purged, and nothing goes to it any more
    status, body = api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")
    assert status == 404 and body["errorCode"] == "CMN-102"
    assert api.call_json("GET", SUBSCRIPTION)[1]["records"] == []
    assert sim.trigger("presence").notifications == []
    sim.clock.advance(600)
    assert len(hook.requests) == 1 + 4


def test_renewal_with_put_restarts_reminders(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, [PRESENCE, REMINDER], expires_in=600)
    sim.clock.advance(500)
    status, renewed = api.call_json("PUT", f"{SUBSCRIPTION}/{info['id']}")
    assert status == 200 and renewed["expiresIn"] == 600 and renewed["expirationTime"] == "2026-01-01T00:18:20.000Z"
    sim.clock.advance(700)
    assert [(t, left) for t, left, _ in _reminders(hook)] == [
        ("00:08:00", 120), ("00:16:20", 120), ("00:16:50", 90), ("00:17:20", 60), ("00:17:50", 30)]


def test_renewal_with_post_renew_restarts_reminders(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, [PRESENCE, REMINDER], expires_in=600)
    sim.clock.advance(545)  # reminders at 480, 510, 540
    assert api.call_json("POST", f"{SUBSCRIPTION}/{info['id']}/renew")[0] == 200
    sim.clock.advance(600)
    lefts = [left for _, left, _ in _reminders(hook)]
    assert lefts == [120, 90, 60, 120, 90, 60, 30]


def test_expiry_without_reminders_purges(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, expires_in=60)
    sim.clock.advance(59)
    assert sim.trigger("presence").subscription_ids == [info["id"]]
    sim.clock.advance(1)
    assert api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")[0] == 404
    assert sim.trigger("presence").subscription_ids == []
    assert sim.wait_for_deliveries(5)
    assert len(hook.requests) == 2


def test_a_job_interval_option_changes_the_granularity(webhook_server, make_sim, make_api):
    sim = make_sim(reminder_job_interval=7)
    api = make_api(sim)
    hook = webhook_server("echo")
    api.subscribe(hook.url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=60&interval=20"], expires_in=200)
    sim.clock.advance(200)
    # the job runs at 7, 14, ...: first at 140 (60 s left), then every >= 20 s on that grid: 161, 182
    assert [(t, left) for t, left, _ in _reminders(hook)] == [("00:02:20", 60), ("00:02:41", 39), ("00:03:02", 18)]


def test_with_a_flowing_clock_reminders_and_expiry_happen_on_their_own(make_sim, make_api):
    sim = make_sim(seed=None, clock_speed=200)  # 200 simulated seconds per real second
    api = make_api(sim)
    with WebhookReceiver(journal=False) as receiver:
        info = api.subscribe(receiver.url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=20&interval=10"],
                             expires_in=60)
        reminders = receiver.wait_for(2, timeout=10)
        lefts = [event.body["expiresIn"] for event in reminders]
        assert all(0 < left <= 20 for left in lefts) and lefts == sorted(lefts, reverse=True)
        assert all(event.subscription_id == info["id"] and event.is_reminder for event in reminders)
        purged = False
        for _ in range(100):  # bounded: at most about 10 s of real time
            purged = api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")[0] == 404
            if purged:
                break
            time.sleep(0.1)
        assert purged, "the subscription was not purged at expiry"
