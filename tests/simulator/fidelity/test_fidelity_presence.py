"""Every presence body the simulator sends has the fields of the platform's example, in its order.

Three senders build one: a sample presence event, the presence steps of a scenario and the receiver checker's
sample notification. Each is caught by a stand-in webhook on loopback and its keys compared with the example of
the ``extension-presence.md`` event-filter page (ringcentral/ringcentral-api-docs), field by field in order.
"""
from __future__ import annotations

import json

from rchelpers.simulator.checker import check_receiver

PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"
#: The body of the page's example, key by key in its order.
DOCUMENTED_FIELDS = ["extensionId", "telephonyStatus", "sequence", "presenceStatus", "userStatus", "meetingStatus",
                     "dndStatus", "allowSeeMyPresence", "ringOnMonitoredCall", "pickUpCallsOnHold"]


def _presence_bodies(requests) -> list[dict]:
    envelopes = [json.loads(r.body) for r in requests if r.body]
    return [e["body"] for e in envelopes if e.get("event", "").endswith("/presence")]


def test_simulator_presence_bodies_follow_the_documented_order(make_sim, make_api, webhook_server):
    sim = make_sim(seed=5)
    api = make_api(sim)
    hook = webhook_server("echo")
    api.subscribe(hook.url, [PRESENCE])
    assert api.call_json("POST", "/_sim/events", {"kind": "presence", "fields": {"telephonyStatus": "OnHold"}})[0] == 200
    assert api.call_json("POST", "/_sim/scenarios/inbound_call", {})[0] == 200
    assert api.call_json("POST", "/_sim/clock/advance", {"seconds": 120})[0] == 200
    assert sim.wait_for_deliveries(5)
    bodies = _presence_bodies(hook.requests)
    assert [b["telephonyStatus"] for b in bodies] == ["OnHold", "Ringing", "CallConnected", "NoCall"]
    assert [b["sequence"] for b in bodies] == [1, 2, 3, 4]
    for body in bodies:
        assert list(body) == DOCUMENTED_FIELDS
        assert body["presenceStatus"] == ("Available" if body["telephonyStatus"] == "NoCall" else "Busy")


def test_the_checkers_presence_notification_follows_the_documented_order(webhook_server):
    hook = webhook_server("echo")
    assert check_receiver(hook.url, burst=1).ok
    bodies = _presence_bodies(hook.requests)
    assert len(bodies) >= 2  # the notification and the burst
    for body in bodies:
        assert list(body) == DOCUMENTED_FIELDS
        assert (body["telephonyStatus"], body["sequence"], body["presenceStatus"]) == ("NoCall", 1, "Available")
