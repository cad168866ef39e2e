"""The fidelity features over real HTTP on loopback: every filter accepted, telephony parameters, sample events
of the new kinds, scenarios routed per filter on the simulated clock, permissions and disabledFilters, and
delivery realism (duplicates, reordering) under a seed."""
from __future__ import annotations

import json

import pytest

from rchelpers.simulator import Simulator
from rchelpers.simulator import event_filter_catalog as catalog
from sim_api import PRESENCE, SUBSCRIPTION, SimApi, assert_error

ACCOUNT, EXTENSION = "37439510", "2253168021"
TELEPHONY = "/restapi/v1.0/account/~/extension/~/telephony/sessions"
ACCOUNT_TELEPHONY = "/restapi/v1.0/account/~/telephony/sessions"
VOICEMAIL = "/restapi/v1.0/account/~/extension/~/voicemail"
EXTENSION_PATH = f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}"
T0 = "2026-01-01T00:00:"


def notifications(hook, subscription_id=None):
    """The notification envelopes a stand-in webhook received (validation requests left out), in order."""
    found = [json.loads(r.body) for r in hook.requests if r.body]
    return [n for n in found if subscription_id is None or n["subscriptionId"] == subscription_id]


def telephony_codes(envelopes):
    """``(statusCode, missedCall, sequence)`` of each telephony-session notification."""
    return [(n["body"]["parties"][0]["status"]["code"], n["body"]["parties"][0]["missedCall"], n["body"]["sequence"])
            for n in envelopes if "parties" in n["body"]]


# --- filters ------------------------------------------------------------------------------------------
def test_every_catalogued_filter_is_accepted_in_one_create(api, hook):
    examples = [spec.example() for spec in catalog.CATALOG if spec.name != "reminder"]
    response = api.create(hook.url, examples)
    assert response.status_code == 200, response.text
    info = response.json()
    disabled = [item["filter"] for item in info["disabledFilters"]]
    assert len(info["eventFilters"]) + len(disabled) == len(examples) == len(catalog.CATALOG) - 1
    # the default app holds every permission but ReadContacts, which favorites need
    assert disabled == [f"{EXTENSION_PATH}/favorite"]
    assert "[ReadContacts]" in info["disabledFilters"][0]["message"]
    assert "~" not in " ".join(f for f in info["eventFilters"] if f.startswith("/restapi/v1.0/account"))


@pytest.mark.parametrize("query", [
    "direction=Inbound", "direction=Outbound", "missedCall=true", "missedCall=false", "phoneNumber=+16505550123",
    "sipData=true", "withRecordings=true", "statusCode=Answered&direction=Inbound",
    *(f"statusCode={code}" for code in catalog.TELEPHONY_STATUS_CODES),
])
@pytest.mark.parametrize("base", [TELEPHONY, ACCOUNT_TELEPHONY])
def test_telephony_filters_take_each_documented_parameter(api, hook, base, query):
    response = api.create(hook.url, [f"{base}?{query}"])
    assert response.status_code == 200, response.text
    expanded = base.replace("~", ACCOUNT, 1).replace("/extension/~", f"/extension/{EXTENSION}")
    assert response.json()["eventFilters"] == [f"{expanded}?{query}"]


@pytest.mark.parametrize("query, why", [
    ("statusCode=Ringing", "statusCode must be one of Setup"),
    ("direction=Sideways", "direction must be one of Inbound, Outbound"),
    ("missedCall=maybe", "missedCall must be true or false"),
    ("phoneNumber=call-me", "phoneNumber must be a phone number in E.164 format"),
    ("colour=red", "unknown query parameter 'colour'; it takes direction, missedCall"),
])
def test_bad_telephony_parameters_are_sub_508_naming_them(sim, api, hook, query, why):
    event_filter = f"{TELEPHONY}?{query}"
    body = assert_error(api.create(hook.url, [PRESENCE, event_filter]), 400, "SUB-508",
                        f"Invalid event filters: [{event_filter}]: {event_filter} (", "eventFilters")
    assert why in body["message"]
    assert sim.subscriptions.records == {} and hook.requests == []


@pytest.mark.parametrize("event_filter, code", [
    ("/restapi/v1.0/account/~/extension/999/favorite", "SUB-518"),
    ("/restapi/v1.0/account/~/extension/999/missed-calls", "SUB-527"),
    ("/restapi/v1.0/account/~/extension/999/start-ring", "SUB-530"),
    ("/restapi/v1.0/account/~/extension/999/presence/line", "SUB-531"),
    ("/restapi/v1.0/account/~/extension/999/voicemail", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/telephony/sessions", "SUB-408"),
])
def test_filters_of_another_extension_get_their_403(sim, api, hook, event_filter, code):
    assert_error(api.create(hook.url, [event_filter]), 403, code)
    assert sim.subscriptions.records == {}


# --- sample events of the new kinds ---------------------------------------------------------------------
@pytest.mark.parametrize("kind, event_filter, check", [
    ("telephony_session", TELEPHONY + "?statusCode=Proceeding", lambda b: b["parties"][0]["status"]["code"]),
    ("missed_call", TELEPHONY + "?missedCall=true", lambda b: b["parties"][0]["missedCall"]),
    ("voicemail", VOICEMAIL, lambda b: b["type"]),
    ("fax", "/restapi/v1.0/account/~/extension/~/fax?direction=Inbound", lambda b: b["type"]),
    ("dnd", "/restapi/v1.0/account/~/extension/~/presence/dnd", lambda b: b["dndStatus"]),
    ("presence_line", "/restapi/v1.0/account/~/extension/~/presence/line", lambda b: len(b["extension"])),
])
def test_post_events_sends_each_new_kind_to_its_filter(api, hook, kind, event_filter, check):
    info = api.subscribe(hook.url, [PRESENCE, event_filter])
    status, result = api.call_json("POST", "/_sim/events", {"kind": kind}, auth=False)
    assert status == 200 and result["subscriptionIds"] == [info["id"]], result
    (envelope,) = notifications(hook)
    assert envelope == result["notifications"][0]
    assert envelope["event"] == info["eventFilters"][1]
    assert check(envelope["body"]) == {"telephony_session": "Proceeding", "missed_call": True, "voicemail": "VoiceMail",
                                       "fax": "Fax", "dnd": "DoNotAcceptAnyCalls", "presence_line": 2}[kind]


def test_telephony_event_fields_and_errors_over_http(api, hook):
    api.subscribe(hook.url, [TELEPHONY + "?statusCode=Answered", TELEPHONY + "?direction=Outbound"])
    status, result = api.call_json("POST", "/_sim/events", {"kind": "telephony-session", "fields": {
        "status_code": "Answered", "direction": "Outbound"}}, auth=False)
    assert status == 200 and len(result["notifications"]) == 2  # both filters match, one notification each
    assert "sipData" not in result["notifications"][0]["body"]["parties"][0]  # no sipData=true: trimmed
    status, body = api.call_json("POST", "/_sim/events", {"kind": "telephony_session",
                                                          "fields": {"status_code": "Ringing"}}, auth=False)
    assert status == 400 and body["parameterName"] == "fields" and "status_code" in body["message"]
    status, body = api.call_json("POST", "/_sim/events", {"kind": "hologram"}, auth=False)
    assert status == 400 and body["errorCode"] == "CMN-101"
    assert body["message"].endswith("kinds: presence, message_store, instant_sms, extension_info, extension_list, "
                                    "telephony_session, missed_call, voicemail, fax, dnd, presence_line")


# --- scenarios ------------------------------------------------------------------------------------------
@pytest.fixture
def call_subscriptions(api, hook):
    """Five subscriptions on one webhook, each with one filter: what each receives shows the routing."""
    filters = {"answered": TELEPHONY + "?statusCode=Answered", "missed": TELEPHONY + "?missedCall=true",
               "voicemail": VOICEMAIL, "presence": PRESENCE, "account": ACCOUNT_TELEPHONY}
    return {name: api.subscribe(hook.url, [flt])["id"] for name, flt in filters.items()}


def _received(hook, ids, name):
    return notifications(hook, ids[name])


def test_inbound_call_is_routed_per_filter_on_the_simulated_clock(sim, api, hook, call_subscriptions):
    ids = call_subscriptions
    status, answer = api.call_json("POST", "/_sim/scenarios/inbound_call", {"duration_seconds": 90}, auth=False)
    assert status == 200 and answer["scenario"] == "inbound_call"
    assert [(s["offset"], s.get("statusCode") or s.get("telephonyStatus"), s["sent"]) for s in answer["steps"]] == [
        (0, "Setup", True), (1, "Proceeding", False), (1, "Ringing", False), (7, "Answered", False),
        (7, "CallConnected", False), (97, "Disconnected", False), (97, "NoCall", False)]
    assert answer["steps"][0]["subscriptionIds"] == [ids["account"]]  # Setup: only the unfiltered one
    sim.clock.advance(96)  # a 90 s call takes 90 s of simulated time
    assert [c for c, _, _ in telephony_codes(_received(hook, ids, "account"))] == ["Setup", "Proceeding", "Answered"]
    sim.clock.advance(1)
    account = _received(hook, ids, "account")
    assert telephony_codes(account) == [("Setup", False, 1), ("Proceeding", False, 2), ("Answered", False, 3),
                                        ("Disconnected", False, 4)]
    assert len({n["body"]["telephonySessionId"] for n in account}) == 1
    assert {n["event"] for n in account} == {EXTENSION_PATH + "/telephony/sessions"}  # the extension's path
    assert [n["timestamp"][:19] for n in account] == ["2026-01-01T00:00:00", "2026-01-01T00:00:01",
                                                      "2026-01-01T00:00:07", "2026-01-01T00:01:37"]
    assert telephony_codes(_received(hook, ids, "answered")) == [("Answered", False, 3)]
    assert _received(hook, ids, "missed") == [] and _received(hook, ids, "voicemail") == []
    presence = _received(hook, ids, "presence")
    assert [n["body"]["telephonyStatus"] for n in presence] == ["Ringing", "CallConnected", "NoCall"]
    assert [n["body"]["sequence"] for n in presence] == [1, 2, 3]


def test_missed_call_reaches_the_missed_and_voicemail_filters_only(sim, hook, call_subscriptions):
    ids = call_subscriptions
    result = sim.scenario("missed_call", caller_number="+16505550999", caller_name="Pat")
    assert [step.summary.get("statusCode") for step in result.steps if "statusCode" in step.summary] == [
        "Setup", "Proceeding", "VoiceMail", "Disconnected"]
    sim.clock.advance(3600)
    assert telephony_codes(_received(hook, ids, "missed")) == [("VoiceMail", True, 3), ("Disconnected", True, 4)]
    assert _received(hook, ids, "answered") == []
    (voicemail,) = _received(hook, ids, "voicemail")
    assert voicemail["body"]["from"] == {"phoneNumber": "+16505550999", "name": "Pat"}
    assert [c for c, _, _ in telephony_codes(_received(hook, ids, "account"))] == [
        "Setup", "Proceeding", "VoiceMail", "Disconnected"]


def test_outbound_call_and_a_later_call_continue_the_presence_sequence(sim, hook, call_subscriptions):
    ids = call_subscriptions
    sim.trigger("presence")  # presence sequence 1
    sim.scenario("outbound_call", callee_number="+14155550100")
    sim.clock.advance(600)
    parties = [n["body"]["parties"][0] for n in _received(hook, ids, "account")]
    assert {p["direction"] for p in parties} == {"Outbound"} and parties[0]["to"]["phoneNumber"] == "+14155550100"
    assert [n["body"]["sequence"] for n in _received(hook, ids, "presence")] == [1, 2, 3]


def test_scenario_errors_and_listing(api):
    status, body = api.call_json("POST", "/_sim/scenarios/inbound_call", {"ring_seconds": -1}, auth=False)
    assert status == 400 and body["errorCode"] == "CMN-101" and body["parameterName"] == "ring_seconds"
    status, body = api.call_json("POST", "/_sim/scenarios/inbound_call", {"colour": "red"}, auth=False)
    assert status == 400 and body["parameterName"] == "colour" and "options: caller_number" in body["message"]
    status, body = api.call_json("POST", "/_sim/scenarios/conference", {}, auth=False)
    assert status == 404 and body["errorCode"] == "CMN-102" and body["parameterName"] == "name"
    assert "scenarios: inbound_call, missed_call, outbound_call" in body["message"]
    status, listing = api.call_json("GET", "/_sim/scenarios", auth=False)
    assert status == 200 and list(listing["scenarios"]) == ["inbound_call", "missed_call", "outbound_call"]
    assert listing["scenarios"]["inbound_call"]["duration_seconds"] == 60


def test_reset_cancels_the_pending_steps_of_a_scenario(sim, hook, call_subscriptions):
    sim.scenario("inbound_call")
    sim.reset()
    assert not any("scenario" in job.name for job in sim.clock.pending())


# --- permissions ------------------------------------------------------------------------------------------
def test_a_filter_without_its_permission_is_disabled_and_never_fires(webhook_server, make_sim, make_api):
    sim = make_sim(permissions=["ReadPresence", "SubscriptionWebhook"])
    api = make_api(sim)
    hook = webhook_server("echo")
    info = api.subscribe(hook.url, [PRESENCE, TELEPHONY])
    assert list(info)[:6] == ["uri", "id", "creationTime", "status", "eventFilters", "disabledFilters"]
    assert info["eventFilters"] == [EXTENSION_PATH + "/presence"]
    assert info["disabledFilters"] == [{
        "filter": EXTENSION_PATH + "/telephony/sessions", "reason": "InsufficientPermissions",
        "message": "In order to call this API endpoint, application needs to have [CallControl] permission"}]
    assert api.call_json("GET", f"{SUBSCRIPTION}/{info['id']}")[1]["disabledFilters"] == info["disabledFilters"]
    assert sim.trigger("telephony_session").notifications == []
    sim.scenario("inbound_call")
    sim.clock.advance(300)
    assert {n["event"] for n in notifications(hook)} == {EXTENSION_PATH + "/presence"}  # presence only
    status, updated = api.call_json("PUT", f"{SUBSCRIPTION}/{info['id']}", {"eventFilters": [PRESENCE]})
    assert status == 200 and "disabledFilters" not in updated


def test_webhook_create_without_subscription_webhook_is_cmn_401(webhook_server, make_sim, make_api):
    sim = make_sim(permissions=["ReadPresence"])
    api = make_api(sim)
    hook = webhook_server("echo")
    response = api.create(hook.url, [PRESENCE])
    assert response.status_code == 403
    message = "In order to call this API endpoint, application needs to have [SubscriptionWebhook] permission"
    assert response.json() == {"errorCode": "CMN-401", "message": message, "errors": [
        {"errorCode": "CMN-401", "message": message, "permissionName": "SubscriptionWebhook"}],
        "permissionName": "SubscriptionWebhook"}
    assert hook.requests == [] and sim.subscriptions.records == {}  # refused before the handshake


def test_a_bad_permission_option_says_what_is_expected():
    with pytest.raises(ValueError, match="permissions: 'read presence' is not a permission name"):
        Simulator(permissions=["read presence"])


# --- delivery realism ---------------------------------------------------------------------------------------
def test_duplicates_keep_the_uuid(webhook_server, make_sim, make_api):
    sim = make_sim(duplicate_rate=1.0)
    hook = webhook_server("echo")
    make_api(sim).subscribe(hook.url, [PRESENCE])
    sent = sim.trigger("presence")
    assert len(sent.notifications) == 1
    received = notifications(hook)
    assert len(received) == 2 and received[0] == received[1] == sent.notifications[0].envelope()
    assert [a.uuid for a in sim.deliveries] == [received[0]["uuid"]] * 2


def _run(webhook_server, seed, **options):
    """The presence sequence numbers as delivered after 12 presence events sent one simulated second apart."""
    hook = webhook_server("echo")
    with Simulator(seed=seed, rate_limits=None, **options) as sim:
        client = SimApi(sim)
        try:
            client.login()
            client.subscribe(hook.url, [PRESENCE])
            for _ in range(12):
                sim.trigger("presence")
                sim.clock.advance(1)
            sim.clock.advance(10)
        finally:
            client.close()
        return [(n["body"]["sequence"], n["uuid"]) for n in notifications(hook)]


def test_reordering_and_duplicates_are_seeded_and_off_by_default(webhook_server):
    plain = _run(webhook_server, 5)
    assert [s for s, _ in plain] == list(range(1, 13))
    realistic = _run(webhook_server, 5, duplicate_rate=0.3, reorder_window=4.0)
    assert _run(webhook_server, 5, duplicate_rate=0.3, reorder_window=4.0) == realistic  # same seed, same run
    sequences = [s for s, _ in realistic]
    assert sorted(set(sequences)) == list(range(1, 13))  # nothing lost
    assert len(sequences) > 12  # some twice (same uuid)
    assert len({u for _, u in realistic}) == 12
    assert sequences != sorted(sequences)  # some overtaken
    assert {u for _, u in realistic} == {u for _, u in plain}  # realism draws from its own generator
