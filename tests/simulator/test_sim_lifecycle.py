"""The Simulator object: start/stop without leftovers, credentials, seeded determinism, reset, control routes."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from rchelpers.simulator import Simulator
from rchelpers.simulator import SimResponse
from sim_api import PRESENCE, SUBSCRIPTION, SimApi, assert_error, assert_token_invalid


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_context_manager_leaves_no_thread_and_no_listening_socket(webhook_server):
    hook = webhook_server("echo")
    before = _threads()
    with Simulator(rate_limits=None) as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        client = SimApi(sim)
        client.login()
        client.create(hook.url)  # keep-alive connection still open when the simulator stops
        assert len(_threads() - before) >= 2
    deadline = time.monotonic() + 2
    while _threads() - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() - before == set()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    client.close()


def test_url_requires_a_running_simulator():
    sim = Simulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.url
    sim.start()
    assert sim.start() is sim  # idempotent
    sim.stop()
    sim.stop()  # idempotent
    assert "stopped" in repr(sim)


def test_credentials_are_masked_in_repr_and_complete_in_as_env():
    with Simulator(seed=1) as sim:
        creds = sim.credentials
        env = creds.as_env()
        assert list(env) == ["RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT"]
        assert env["RC_SERVER_URL"] == sim.url and env["RC_JWT"] == creds.jwt
        text = repr(creds) + str(creds)
        assert creds.client_secret not in text and creds.jwt not in text and creds.jwt[:20] not in text
        assert creds.client_id in text
        assert creds.jwt.count(".") == 2  # JWT-shaped
        assert sim.second_app_credentials.client_id != creds.client_id


def _script(sim: Simulator, hook_url: str) -> list[bytes]:
    """A fixed sequence of calls; returns every response body."""
    client = SimApi(sim)
    bodies = []
    try:
        login = client.oauth("token", {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": sim.credentials.jwt})
        bodies.append(login.content)
        client.token = login.json()["access_token"]
        created = client.create(hook_url, [PRESENCE, "/restapi/v1.0/subscription/~?threshold=60&interval=15"])
        bodies.append(created.content.replace(sim.url.encode(), b"BASE"))
        sim.clock.advance(100)
        bodies.append(client.call("POST", f"{SUBSCRIPTION}/{created.json()['id']}/renew").content
                      .replace(sim.url.encode(), b"BASE"))
        bodies.append(client.call("GET", SUBSCRIPTION).content.replace(sim.url.encode(), b"BASE"))
        bodies.append(client.oauth("token", {"grant_type": "refresh_token",
                                             "refresh_token": login.json()["refresh_token"]}).content)
    finally:
        client.close()
    return bodies


def test_same_seed_same_calls_give_identical_bytes(webhook_server):
    hook = webhook_server("echo")
    with Simulator(seed=42) as first:
        a = _script(first, hook.url)
        creds_a = first.credentials
    with Simulator(seed=42) as second:
        b = _script(second, hook.url)
        creds_b = second.credentials
    with Simulator(seed=43) as third:
        c = _script(third, hook.url)
    assert a == b
    assert (creds_a.client_id, creds_a.client_secret, creds_a.jwt) == (creds_b.client_id, creds_b.client_secret,
                                                                       creds_b.jwt)
    assert a[0] != c[0] and a[1] != c[1]
    assert hook.requests[0].header("Validation-Token") == hook.requests[1].header("Validation-Token")


def test_unseeded_simulators_differ_and_use_real_time():
    with Simulator() as one, Simulator() as two:
        assert one.credentials.client_secret != two.credentials.client_secret
        assert abs(one.clock.now() - time.time()) < 5


def test_start_time_and_clock_speed_options():
    with Simulator(seed=1, start_time=1_800_000_000.0, clock_speed=0) as sim:
        assert sim.clock.now() == 1_800_000_000.0
    with Simulator(seed=1, clock_speed=1000) as fast:
        start = fast.clock.now()
        deadline = time.monotonic() + 2
        while fast.clock.now() < start + 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert fast.clock.now() >= start + 10


def test_ticker_purges_expired_subscriptions_in_accelerated_time(webhook_server):
    hook = webhook_server("echo")
    with Simulator(seed=1, clock_speed=200, rate_limits=None) as sim:
        client = SimApi(sim)
        try:
            client.login()
            sub_id = client.create(hook.url, expiresIn=2).json()["id"]
            deadline = time.monotonic() + 3
            while sub_id in sim.subscriptions.records and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sub_id not in sim.subscriptions.records  # removed by the ticker, no API call needed
        finally:
            client.close()


def test_reset_drops_tokens_and_subscriptions_but_keeps_credentials(sim, api, hook):
    creds = sim.credentials
    hooks = []
    sim.add_reset_hook(lambda: hooks.append("reset"))
    api.create(hook.url)
    sim.seed_subscription()
    sim.reset()
    assert sim.subscriptions.records == {} and hooks == ["reset"]
    assert_token_invalid(api.call("GET", SUBSCRIPTION))
    assert sim.credentials == creds
    api.login()
    assert api.records() == []


@pytest.mark.parametrize("options, message", [
    ({"validation_timeout": 0}, "validation_timeout"),
    ({"subscription_limit": "30"}, "subscription_limit"),
    ({"max_expires_in": 1.5}, "max_expires_in"),
    ({"rate_limits": [1]}, "rate_limits"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Simulator(**options)


def test_unknown_option_names_the_known_ones():
    with pytest.raises(TypeError, match="unknown Simulator option.*validation_timeout"):
        Simulator(validation_timout=1)


def test_control_routes(sim, api, hook):
    base = sim.url
    clock = requests.get(base + "/_sim/clock", timeout=5).json()
    assert clock["iso"] == "2026-01-01T00:00:00.000Z" and clock["speed"] == 0
    api.create(hook.url, expiresIn=60)
    advanced = requests.post(base + "/_sim/clock/advance", json={"seconds": 61}, timeout=5).json()
    assert advanced["iso"] == "2026-01-01T00:01:01.000Z" and advanced["jobsRun"] >= 1
    assert sim.subscriptions.records == {}
    for bad in ({"seconds": -1}, {"seconds": "10"}, {}, {"seconds": True}):
        assert_error(requests.post(base + "/_sim/clock/advance", json=bad, timeout=5), 400, "CMN-101",
                     parameter="seconds")
    assert_error(requests.post(base + "/_sim/clock/advance", data=b"{", timeout=5), 400, "CMN-103")
    assert requests.get(base + "/_sim/clock", timeout=5).json()["iso"] == "2026-01-01T00:01:01.000Z"
    speed = requests.post(base + "/_sim/clock/speed", json={"speed": 0}, timeout=5)
    assert speed.status_code == 200 and speed.json()["speed"] == 0
    seeded = requests.post(base + "/_sim/subscriptions/seed", json={"transportType": "PubNub"}, timeout=5)
    assert seeded.status_code == 200 and seeded.json()["deliveryMode"]["transportType"] == "PubNub"
    assert_error(requests.post(base + "/_sim/subscriptions/seed", json={"transportType": "Carrier"}, timeout=5),
                 400, "CMN-101")
    state = requests.get(base + "/_sim/state", timeout=5)
    assert sim.credentials.client_secret not in state.text and sim.credentials.jwt not in state.text
    assert len(state.json()["subscriptions"]) == 1
    assert requests.post(base + "/_sim/reset", timeout=5).json()["reset"] is True
    assert requests.get(base + "/_sim/state", timeout=5).json()["subscriptions"] == []


def test_other_modules_can_add_routes(sim):
    sim.add_route("GET", r"/_sim/hello/(?P<name>\w+)", lambda request: SimResponse(200, {"hi": request.params["name"]}))
    assert requests.get(sim.url + "/_sim/hello/bob", timeout=5).json() == {"hi": "bob"}
    with pytest.raises(ValueError, match="/_sim/"):
        sim.add_route("GET", r"/hello", lambda request: SimResponse(200, {}))


def test_a_failing_handler_answers_json_500_without_a_traceback(sim):
    def broken(request):
        raise KeyError("boom")

    sim.add_route("GET", r"/_sim/broken", broken)
    response = requests.get(sim.url + "/_sim/broken", timeout=5)
    assert_error(response, 500, "CMN-203")
    assert "Traceback" not in response.text and "boom" not in response.text


def test_parallel_creates_never_pass_the_limit(webhook_server):
    hook = webhook_server("echo")
    with Simulator(seed=4, rate_limits=None, subscription_limit=3) as sim:
        client = SimApi(sim)
        client.login()
        statuses: list[int] = []
        lock = threading.Lock()

        def create() -> None:
            worker = SimApi(sim)
            worker.token = client.token
            try:
                status = worker.create(hook.url).status_code
            finally:
                worker.close()
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=create) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        client.close()
        assert sorted(statuses) == [200, 200, 200, 403, 403, 403, 403, 403]
        assert len(sim.subscriptions.records) == 3


def test_the_server_prints_nothing(capfd, webhook_server):
    hook = webhook_server("no_echo")
    with Simulator(seed=4, rate_limits=None) as sim:
        client = SimApi(sim)
        try:
            client.login()
            client.create(hook.url)
            client.call("GET", "/nowhere")
            client.call("POST", SUBSCRIPTION, data=b"{", headers={"Content-Type": "application/json"})
        finally:
            client.close()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
