"""``Simulator.reset()`` gives the state of a new simulator: the same story told to a new seeded simulator and to
a used-then-reset one gets the same bytes back (API answers, envelopes delivered, delivery log).

The story is a random sequence of API calls, sample events, scenarios, renewals, deletions and clock advances
(hypothesis draws it); before the reset the used simulator plays another random sequence (tokens, subscriptions,
failing deliveries, scenario steps still pending, a clock sped up). Two things cannot be equal and are left out:
the simulator's own URL (the new one has another port; it is replaced by ``SIM``, also in the attachment
links of the notifications received) and the wall-clock fields
of the logs (``realTime``, ``latencyMs``, ``elapsedMs``).
"""
from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Iterator

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rchelpers.simulator import Simulator
from sim_api import JWT_GRANT, PRESENCE, SUBSCRIPTION, SimApi
from webhook_stub import StubWebhook

EXTENSION = "/restapi/v1.0/account/~/extension/~"
REMINDER = "/restapi/v1.0/subscription/~?threshold=120&interval=30"
FILTER_SETS = (
    (PRESENCE,),
    (PRESENCE + "?detailedTelephonyState=true", REMINDER),
    (EXTENSION + "/telephony/sessions", EXTENSION + "/voicemail"),
    (EXTENSION + "/message-store", EXTENSION + "/fax?direction=Inbound", EXTENSION + "/presence/dnd"),
    (EXTENSION + "/presence/line", "/restapi/v1.0/account/~/extension"),
)
KINDS = ("presence", "message_store", "instant_sms", "extension_info", "extension_list", "telephony_session",
         "missed_call", "voicemail", "fax", "dnd", "presence_line")
SCENARIOS = ("inbound_call", "missed_call", "outbound_call")
#: Fields of the logs that hold real (wall-clock) time, not simulated time.
WALL_CLOCK_FIELDS = ("realTime", "latencyMs", "elapsedMs")

OPS = st.one_of(
    st.tuples(st.just("login")),
    st.tuples(st.just("refresh")),
    st.tuples(st.just("subscribe"), st.sampled_from(range(len(FILTER_SETS))), st.sampled_from([None, 600, 3600])),
    st.tuples(st.just("trigger"), st.sampled_from(KINDS)),
    st.tuples(st.just("scenario"), st.sampled_from(SCENARIOS)),
    st.tuples(st.just("advance"), st.sampled_from([1, 6, 31, 61, 700, 3600])),
    st.tuples(st.just("renew"), st.integers(0, 2)),
    st.tuples(st.just("delete"), st.integers(0, 2)),
    st.tuples(st.just("seed"), st.sampled_from(["PubNub", "WebSocket"])),
    st.tuples(st.just("webhook"), st.sampled_from(["echo", "status_500"])),
    st.tuples(st.just("list")),
)
#: What only the used simulator does before its reset: a clock that flows.
DIRTY_OPS = st.one_of(OPS, st.tuples(st.just("speed"), st.sampled_from([0.0, 50.0])))
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
OPTION_SETS = (
    {},
    {"duplicate_rate": 0.5, "reorder_window": 20.0, "subscription_limit": 3},
    {"access_token_ttl": 600, "blacklist_after": 60.0, "rate_limits": {"Medium": (3, 60.0, 60.0)},
     "blacklist_reactivation": 600.0},
)


class Storyteller:
    """Plays operations on a simulator over HTTP and keeps every answer as bytes (the simulator's URL as ``SIM``)."""

    def __init__(self, sim: Simulator, hook: StubWebhook) -> None:
        self.sim = sim
        self.hook = hook
        self.http = requests.Session()
        self.token = self.refresh_token = ""
        self.transcript: list[tuple[str, int, bytes]] = []

    def close(self) -> None:
        self.http.close()

    def _record(self, op: tuple[Any, ...], response: requests.Response) -> Any:
        self.transcript.append((repr(op), response.status_code, response.content.replace(self.sim.url.encode(), b"SIM")))
        return response.json() if response.content else None

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"bearer {self.token}"} if self.token else {}
        return self.http.request(method, self.sim.url + path, json=body, headers=headers, timeout=20)

    def _ids(self) -> list[str]:
        response = self._call("GET", SUBSCRIPTION)
        return [r["id"] for r in response.json().get("records", [])] if response.status_code == 200 else []

    def play(self, op: tuple[Any, ...]) -> None:
        name, *args = op
        credentials = self.sim.credentials
        if name in ("login", "refresh"):
            form = ({"grant_type": JWT_GRANT, "assertion": credentials.jwt} if name == "login"
                    else {"grant_type": "refresh_token", "refresh_token": self.refresh_token})
            response = self.http.post(self.sim.url + "/restapi/oauth/token", data=form, timeout=20,
                                      auth=(credentials.client_id, credentials.client_secret))
            body = self._record(op, response)
            if response.status_code == 200:
                self.token, self.refresh_token = body["access_token"], body["refresh_token"]
        elif name == "subscribe":
            body = {"eventFilters": list(FILTER_SETS[args[0]]),
                    "deliveryMode": {"transportType": "WebHook", "address": self.hook.url, "verificationToken": "vt"}}
            if args[1] is not None:
                body["expiresIn"] = args[1]
            self._record(op, self._call("POST", SUBSCRIPTION, body))
        elif name == "trigger":
            self._record(op, self._call("POST", "/_sim/events", {"kind": args[0]}))
        elif name == "scenario":
            self._record(op, self._call("POST", f"/_sim/scenarios/{args[0]}", {}))
        elif name == "advance":
            self._record(op, self._call("POST", "/_sim/clock/advance", {"seconds": args[0]}))
        elif name == "speed":
            self._record(op, self._call("POST", "/_sim/clock/speed", {"speed": args[0]}))
        elif name in ("renew", "delete"):
            ids = self._ids()
            if ids:
                sub_id = ids[args[0] % len(ids)]
                self._record(op, self._call("POST", f"{SUBSCRIPTION}/{sub_id}/renew") if name == "renew"
                             else self._call("DELETE", f"{SUBSCRIPTION}/{sub_id}"))
        elif name == "seed":
            self._record(op, self._call("POST", "/_sim/subscriptions/seed", {"transportType": args[0]}))
        elif name == "webhook":
            self.hook.mode = args[0]
        else:
            self._record(op, self._call("GET", SUBSCRIPTION))

    def story(self, ops: list[tuple[Any, ...]]) -> dict[str, Any]:
        """Play ``ops`` (after a login) and return everything the platform said and sent, as bytes."""
        self.hook.mode = "echo"
        first = len(self.hook.requests)
        for op in [("login",), *ops, ("advance", 1)]:
            self.play(op)
        assert self.sim.wait_for_deliveries(10)
        logs = {}
        for path in ("/_sim/deliveries", "/_sim/handshakes", "/_sim/state", "/_sim/clock"):
            body = self._call("GET", path).json()
            for record in body.get("records", []):
                for name in WALL_CLOCK_FIELDS:
                    record.pop(name, None)
            logs[path] = json.dumps(body).replace(self.sim.url, "SIM").encode()
        received = [(r.method, r.path, r.header("Validation-Token"), r.header("Verification-Token"),
                     r.body.replace(self.sim.url.encode(), b"SIM")) for r in self.hook.requests[first:]]
        return {"answers": self.transcript, "logs": logs, "received": received}


@contextlib.contextmanager
def storyteller(sim: Simulator, hook: StubWebhook) -> Iterator[Storyteller]:
    teller = Storyteller(sim, hook)
    try:
        yield teller
    finally:
        teller.close()


@pytest.fixture(scope="module")
def hook() -> Iterator[StubWebhook]:
    """One stand-in webhook for every story (so the addresses in the answers are the same)."""
    with StubWebhook("echo") as stub:
        yield stub


def fresh_story(options: dict[str, Any], hook: StubWebhook, ops: list[tuple[Any, ...]]) -> dict[str, Any]:
    with Simulator(seed=11, **options) as sim, storyteller(sim, hook) as teller:
        return teller.story(ops)


def reset_story(options: dict[str, Any], hook: StubWebhook, dirty: list[tuple[Any, ...]],
                ops: list[tuple[Any, ...]], over_http: bool) -> dict[str, Any]:
    with Simulator(seed=11, **options) as sim:
        with storyteller(sim, hook) as used:
            for op in [("login",), *dirty]:
                used.play(op)
        if over_http:
            assert requests.post(sim.url + "/_sim/reset", timeout=10).json()["reset"] is True
        else:
            sim.reset()
        assert sim.wait_for_deliveries(10)  # a delivery of the used run still on its way is not the story's
        with storyteller(sim, hook) as teller:
            return teller.story(ops)


def assert_same_story(fresh: dict[str, Any], reset: dict[str, Any]) -> None:
    for (op, status, body), (op2, status2, body2) in zip(fresh["answers"], reset["answers"]):
        assert (op2, status2, body2) == (op, status, body), f"{op} answered differently after reset()"
    assert len(reset["answers"]) == len(fresh["answers"])
    for path, body in fresh["logs"].items():
        assert reset["logs"][path] == body, f"GET {path} differs after reset()"
    assert reset["received"] == fresh["received"], "the webhook received other requests after reset()"


#: A used run and a story that reach every counter: each kind of event and scenario on every filter, a failing
#: webhook (retries, blacklisting), reminders, tokens refreshed, legacy records.
EVERYTHING = ([("subscribe", n, 600) for n in range(len(FILTER_SETS))] + [("seed", "PubNub"), ("refresh",)]
              + [("trigger", kind) for kind in KINDS] + [("scenario", name) for name in SCENARIOS]
              + [("webhook", "status_500"), ("trigger", "presence"), ("advance", 61), ("webhook", "echo"),
                 ("advance", 700), ("list",)])


@pytest.mark.parametrize("options", OPTION_SETS, ids=["defaults", "realism", "short-lived"])
@SETTINGS
@example(dirty=EVERYTHING[:-4], ops=EVERYTHING, over_http=False)
@given(dirty=st.lists(DIRTY_OPS, max_size=8), ops=st.lists(OPS, min_size=1, max_size=10), over_http=st.booleans())
def test_a_reset_simulator_tells_the_same_story_as_a_new_one(hook, options, dirty, ops, over_http):
    fresh = fresh_story(options, hook, ops)
    assert_same_story(fresh, reset_story(options, hook, dirty, ops, over_http))


def test_the_story_is_rich_enough_to_tell_a_difference(hook):
    """The comparison can fail: a used simulator that is not reset tells another story."""
    ops = [("subscribe", 1, 600), ("subscribe", 2, None), ("trigger", "presence"), ("scenario", "missed_call"),
           ("advance", 700)]
    fresh = fresh_story({}, hook, ops)
    assert len(fresh["received"]) > 5 and any(b'"uuid"' in r[-1] for r in fresh["received"])
    with Simulator(seed=11) as sim:
        with storyteller(sim, hook) as used:
            used.play(("login",))
            used.play(("trigger", "presence"))
        with storyteller(sim, hook) as teller:
            with pytest.raises(AssertionError, match="answered differently"):
                assert_same_story(fresh, teller.story(ops))


def _validation_tokens(story: dict[str, Any]) -> list[str]:
    return [token for _method, _path, token, _verification, _body in story["received"] if token is not None]


def test_the_reactivation_probes_token_is_seeded_and_compared(hook):
    """A probe of a blacklisted address carries a Validation-Token from the seeded ids: the same in every new
    and every reset simulator, and compared with the rest of what the webhook received."""
    options = OPTION_SETS[2]
    without_probe = _validation_tokens(fresh_story({**options, "blacklist_reactivation": None}, hook, EVERYTHING))
    fresh = fresh_story(options, hook, EVERYTHING)
    tokens = _validation_tokens(fresh)
    # the handshakes, then a probe of each blacklisted subscription once the address echoes again
    assert len(tokens) > len(without_probe) and tokens[:len(without_probe)] == without_probe
    assert len(set(tokens)) == len(tokens)
    assert _validation_tokens(fresh_story(options, hook, EVERYTHING)) == tokens
    reset = reset_story(options, hook, EVERYTHING[:-4], EVERYTHING, over_http=True)
    assert _validation_tokens(reset) == tokens
    assert_same_story(fresh, reset)


def test_a_reset_simulator_is_the_new_one_in_each_part():
    """After a busy run and reset(): the same credentials, clock, jobs and next ids as a new simulator."""
    options = {"seed": 3, "blacklist_reactivation": 900.0, "duplicate_rate": 0.3}
    with StubWebhook("echo") as stub, Simulator(**options) as new, Simulator(**options) as used:
        with contextlib.closing(SimApi(used)) as api:
            api.login()
            api.subscribe(stub.url, [PRESENCE, REMINDER], expires_in=600)
            used.scenario("inbound_call")  # steps still pending on the clock
            stub.mode = "status_500"
            used.trigger("presence")  # a failure: retries and a blacklist check pending
            used.clock.set_speed(3.0)
            time.sleep(0.05)
            used.reset()
        assert used.credentials.jwt == new.credentials.jwt and used.credentials.client_id == new.credentials.client_id
        assert used.clock.now() == new.clock.now() and used.clock.speed == new.clock.speed == 0
        assert [(j.name, j.when) for j in used.clock.pending()] == [(j.name, j.when) for j in new.clock.pending()] \
            == [("renewal reminders", new.clock.now() + 5), ("blacklist reactivation", new.clock.now() + 900)]
        assert used.deliveries == [] and used.subscriptions.records == {} and used.oauth.session_count() == 0
        assert used.ids.uuid4() == new.ids.uuid4()
        stub.mode = "echo"
        with contextlib.closing(SimApi(used)) as api_used, contextlib.closing(SimApi(new)) as api_new:
            assert api_used.login()["access_token"] == api_new.login()["access_token"]


def test_a_delivery_in_flight_during_reset_is_not_logged_nor_retried():
    with StubWebhook("slow", delay=0.6) as stub, Simulator(seed=4, clock_speed=1.0, delivery_timeout=0.3) as sim:
        with contextlib.closing(SimApi(sim)) as api:
            api.login()
            api.subscribe(stub.url)
            sim.trigger("presence")
            sim.trigger("presence")  # queued behind the first in the address's lane
            stub.wait_for(2)  # the handshake and the first notification arrived: it is being answered slowly
            sim.reset()
            assert sim.wait_for_deliveries(5)
        assert sim.deliveries == []
        assert [job.name for job in sim.clock.pending()] == ["renewal reminders"]
        assert len(stub.requests) == 2  # the queued notification was dropped, not sent


def test_an_unseeded_reset_clears_the_state_and_draws_new_ids(hook):
    with Simulator(rate_limits=None) as sim, contextlib.closing(SimApi(sim)) as api:
        first_token = api.login()["access_token"]
        first_sub = api.subscribe(hook.url)["id"]
        first_uuid = sim.trigger("presence").notifications[0].uuid
        sim.clock.advance(3600)
        sim.reset()
        assert sim.subscriptions.records == {} and sim.deliveries == [] and sim.oauth.session_count() == 0
        assert abs(sim.clock.now() - time.time()) < 5 and sim.clock.speed == 1.0
        assert [job.name for job in sim.clock.pending()] == ["renewal reminders"]
        assert api.login()["access_token"] != first_token
        assert api.subscribe(hook.url)["id"] != first_sub
        assert sim.trigger("presence").notifications[0].uuid != first_uuid
