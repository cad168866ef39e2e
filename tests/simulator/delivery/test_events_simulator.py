"""Sample events through the Simulator: POST /_sim/events, its errors, and seeded determinism."""
from __future__ import annotations

import json

import pytest

from rchelpers.simulator import Simulator
from rchelpers.simulator.errors import TriggerError

PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


def _run(make_sim, make_api, webhook_server, seed: int) -> list[str]:
    sim = make_sim(seed=seed)
    api = make_api(sim)
    hook = webhook_server("echo")
    api.subscribe(hook.url, [PRESENCE + "?detailedTelephonyState=true",
                             "/restapi/v1.0/account/~/extension/~/message-store",
                             "/restapi/v1.0/account/~/extension"])
    outputs = [json.dumps(sim.trigger(kind).to_dict()) for kind in ("presence", "message_store", "extension_list")]
    sim.clock.advance(42)
    outputs.append(json.dumps(sim.trigger("presence", userStatus="Busy").to_dict()))
    assert sim.wait_for_deliveries(5)
    outputs.append(json.dumps([json.loads(r.body) for r in hook.requests[1:]]))
    return outputs


def test_same_seed_gives_the_same_bytes(make_sim, webhook_server, make_api):
    first = _run(make_sim, make_api, webhook_server, seed=11)
    second = _run(make_sim, make_api, webhook_server, seed=11)
    other = _run(make_sim, make_api, webhook_server, seed=12)
    assert first == second
    assert first[0] != other[0]
    assert '"timestamp": "2026-01-01T00:00:42.000Z"' in first[3]


def test_post_events_triggers(webhook_server, sim, api):
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, ["/restapi/v1.0/account/~/extension/~/message-store?type=Pager"])
    status, body = api.call_json("POST", "/_sim/events", {"kind": "message-store", "fields": {"type": "Pager"}}, auth=False)
    assert status == 200 and body["kind"] == "message_store" and body["subscriptionIds"] == [info["id"]]
    assert body["notifications"][0]["body"]["changes"][0]["type"] == "Pager"
    assert sim.wait_for_deliveries(5)
    assert json.loads(hook.wait_for(2)[1].body) == body["notifications"][0]
    status, kinds = api.call_json("GET", "/_sim/events", auth=False)
    assert status == 200 and list(kinds["kinds"]) == ["presence", "message_store", "instant_sms", "extension_info",
                                                      "extension_list", "telephony_session", "missed_call",
                                                      "voicemail", "fax", "dnd", "presence_line"]
    assert kinds["kinds"]["telephony_session"][:3] == ["status_code", "direction", "missed_call"]


@pytest.mark.parametrize("payload, status, code, words", [
    ({"kind": "fax-received"}, 400, "CMN-101", "unknown event kind 'fax-received'; kinds: presence, message_store"),
    ({"fields": {}}, 400, "CMN-100", "Parameter [kind] is required; kinds: presence"),
    ({"kind": "presence", "fields": {"mood": "happy"}}, 400, "CMN-101", "unknown field 'mood' for a presence event"),
    ({"kind": "presence", "fields": {"sequence": "x"}}, 400, "CMN-101", "must be an integer"),
    ({"kind": "presence", "fields": ["x"]}, 400, "CMN-101", "an object of body fields is expected"),
    ({"kind": "presence", "telephonyStatus": "Ringing"}, 400, "CMN-101", 'body fields go under "fields"'),
    ([1, 2], 400, "CMN-104", "must be a JSON object"),
])
def test_post_events_errors(webhook_server, sim, api, payload, status, code, words):
    hook = webhook_server("echo")
    api.subscribe(hook.url)
    got_status, body = api.call_json("POST", "/_sim/events", payload, auth=False)
    assert (got_status, body["errorCode"]) == (status, code)
    assert words in body["message"]
    assert sim.wait_for_deliveries(5)
    assert len(hook.requests) == 1 and sim.deliveries == []


def test_trigger_errors_in_process(sim):
    with pytest.raises(TriggerError, match="kinds: presence, message_store, instant_sms"):
        sim.trigger("call")
    with pytest.raises(TriggerError, match="fields: extensions"):
        sim.trigger("extension_list", extensionId="1")


def test_trigger_needs_a_running_simulator():
    sim = Simulator(seed=1)
    with pytest.raises(RuntimeError, match="the simulator is not running"):
        sim.trigger("presence")
    with sim:
        assert sim.trigger("presence").notifications == []
    with pytest.raises(RuntimeError, match="the simulator is not running"):
        sim.trigger("presence")


EXTENSION = "/restapi/v1.0/account/~/extension/~"
MESSAGE_FILTERS = [EXTENSION + "/voicemail", EXTENSION + "/fax", EXTENSION + "/message-store/instant?type=SMS"]


def _message_bodies(make_sim, make_api, webhook_server) -> tuple[str, list[dict]]:
    """The simulator's URL and the message bodies a webhook receives for a voicemail, a fax, an instant SMS
    and a missed call (which ends in a voicemail), all asked for over HTTP."""
    sim = make_sim(seed=11)
    api = make_api(sim)
    hook = webhook_server("echo")
    api.subscribe(hook.url, MESSAGE_FILTERS)
    for kind in ("voicemail", "fax", "instant_sms"):
        assert api.call_json("POST", "/_sim/events", {"kind": kind})[0] == 200
    assert api.call_json("POST", "/_sim/scenarios/missed_call", {})[0] == 200
    assert api.call_json("POST", "/_sim/clock/advance", {"seconds": 120})[0] == 200
    assert sim.wait_for_deliveries(5)
    return sim.url, [json.loads(r.body)["body"] for r in hook.requests[1:]]


def test_attachment_links_are_absolute_on_the_simulators_url(make_sim, make_api, webhook_server):
    """As the platform's examples link to its own host, attachments link to the simulator's; a seeded run
    depends on nothing else than the port."""
    url, bodies = _message_bodies(make_sim, make_api, webhook_server)
    assert [body["type"] for body in bodies] == ["VoiceMail", "Fax", "SMS", "VoiceMail"]
    user = make_sim().accounts.user
    for body in bodies:
        (attachment,) = body["attachments"]
        assert attachment["uri"] == (f"{url}/restapi/v1.0/account/{user.account_id}/extension/{user.extension_id}"
                                     f"/message-store/{body['id']}/content/{body['id']}")
    other_url, other_bodies = _message_bodies(make_sim, make_api, webhook_server)
    assert other_url != url
    assert json.dumps(other_bodies).replace(other_url, "SIM") == json.dumps(bodies).replace(url, "SIM")


def test_events_are_built_only_while_the_simulator_runs_so_links_always_have_a_host():
    sim = Simulator(seed=1)
    for build in (lambda: sim.trigger("voicemail"), lambda: sim.scenario("missed_call")):
        with pytest.raises(RuntimeError, match="the simulator is not running"):
            build()
    with sim:
        assert sim.trigger("fax").body["attachments"][0]["uri"].startswith(sim.url + "/restapi/v1.0/account/")
