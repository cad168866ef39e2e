"""The delivery engine over real HTTP: envelope and headers, retries, blacklisting, log and replay."""
from __future__ import annotations

import json

import pytest

from rchelpers.simulator.delivery import DeliveryEngine
from rchelpers.simulator.errors import DeliveryError
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.options import SimulatorOptions

T0 = 1767225600.0  # 2026-01-01T00:00:00Z, the frozen clock's start


def _note(sub_id: str, n: int = 1, event: str = "/restapi/v1.0/account/1/extension/2/presence") -> Notification:
    return Notification(f"uuid-{n}", event, "2026-01-01T00:00:00.000Z", sub_id, "62000001", {"n": n, "text": "é"})


def test_envelope_and_headers_with_verification_token(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url, verification_token="secret-token-1")
    engine.deliver(_note("sub-1"))
    (request,) = hook.wait_for(1)
    assert request.method == "POST" and request.path == "/webhook"
    assert request.header("Content-Type") == "application/json; charset=UTF-8"
    assert request.header("Accept") == "application/json"
    assert request.header("User-Agent") == "RingCentral-Webhook/8.3"
    assert request.header("Verification-Token") == "secret-token-1"
    envelope = json.loads(request.body.decode("utf-8"))
    assert list(envelope) == ["uuid", "event", "timestamp", "subscriptionId", "ownerId", "body"]
    assert envelope == {"uuid": "uuid-1", "event": "/restapi/v1.0/account/1/extension/2/presence",
                        "timestamp": "2026-01-01T00:00:00.000Z", "subscriptionId": "sub-1",
                        "ownerId": "62000001", "body": {"n": 1, "text": "é"}}


def test_no_verification_token_header_without_token(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url)
    engine.deliver(_note("sub-1"))
    (request,) = hook.wait_for(1)
    assert request.header("Verification-Token") is None
    assert engine.wait_idle(5)
    (attempt,) = engine.attempts()
    assert attempt.ok and attempt.status == 200 and attempt.error is None and attempt.attempt == 1
    assert attempt.simulated_time == "2026-01-01T00:00:00.000Z"


def test_one_subscription_receives_in_order(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url)
    for n in range(40):
        engine.deliver(_note("sub-1", n))
    received = hook.wait_for(40)
    assert [json.loads(r.body)["body"]["n"] for r in received] == list(range(40))
    assert engine.wait_idle(5)
    assert [a.id for a in engine.attempts()] == list(range(1, 41))


def test_retries_follow_the_schedule_then_blacklist(webhook_server, registry, clock, engine):
    hook = webhook_server("status_404")
    registry.add("sub-1", hook.url)
    engine.deliver(_note("sub-1"))
    assert engine.wait_idle(5)
    clock.advance(700)
    offsets = [_offset(a.simulated_time) for a in engine.attempts()]
    assert offsets == [0, 1, 6, 36, 96, 216, 336, 456, 576]
    assert [a.attempt for a in engine.attempts()] == list(range(1, 10))
    assert {a.uuid for a in engine.attempts()} == {"uuid-1"}
    reason = "Webhook responses with code: [404], reason: [Not Found]"
    assert all(a.error == reason and a.status == 404 and not a.ok for a in engine.attempts())
    assert registry.blacklisted == [("sub-1", reason, T0 + 600)]
    assert len(hook.requests) == 9
    # nothing more goes to a blacklisted subscription, not even new notifications
    hook.mode = "echo"
    engine.deliver(_note("sub-1", 2))
    assert engine.wait_idle(5)
    clock.advance(600)
    assert len(hook.requests) == 9


def test_success_resets_the_failure_window(webhook_server, registry, clock, engine):
    hook = webhook_server("status_500")
    registry.add("sub-1", hook.url)
    engine.deliver(_note("sub-1"))
    assert engine.wait_idle(5)
    clock.advance(1)  # the retry at +1 fails too
    hook.mode = "echo"
    clock.advance(5)  # the retry at +6 succeeds
    clock.advance(900)
    assert [a.ok for a in engine.attempts()] == [False, False, True]
    assert engine.attempts()[0].error == "Webhook responses with code: [500], reason: [Internal Server Error]"
    assert registry.blacklisted == []


def test_timeout_reason_and_custom_schedule(webhook_server, registry, clock):
    hook = webhook_server("slow", delay=1.0)
    registry.add("sub-1", hook.url)
    with DeliveryEngine(clock, registry, SimulatorOptions(delivery_timeout=0.2, retry_schedule=(2, 3), blacklist_after=10)) as engine:
        engine.deliver(_note("sub-1"))
        assert engine.wait_idle(5)
        clock.advance(20)
        offsets = [_offset(a.simulated_time) for a in engine.attempts()]
        assert offsets == [0, 2, 5, 8]
        assert {a.error for a in engine.attempts()} == {"I/O operation is failed. Details: [Read timed out]"}
        assert registry.blacklisted == [("sub-1", "I/O operation is failed. Details: [Read timed out]", T0 + 10)]


def test_connection_refused_reason(unreachable_url, registry, clock):
    registry.add("sub-1", unreachable_url)
    with DeliveryEngine(clock, registry, SimulatorOptions(delivery_timeout=0.3, retry_schedule=(4,), blacklist_after=10)) as engine:
        engine.deliver(_note("sub-1"))
        assert engine.wait_idle(5)
        clock.advance(15)
        attempts = engine.attempts()
        assert [_offset(a.simulated_time) for a in attempts] == [0, 4, 8]
        assert attempts[0].status is None
        reason = "I/O operation is failed. Details: [Connection refused]"
        assert registry.blacklisted == [("sub-1", reason, T0 + 10)]


def test_replay_sends_the_same_uuid(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url, verification_token="tok")
    first_id = engine.deliver(_note("sub-1", 7))
    hook.wait_for(1)
    assert engine.wait_idle(5)
    engine.replay(first_id)
    engine.replay("uuid-7")
    engine.replay(str(first_id))
    requests = hook.wait_for(4)
    assert [json.loads(r.body)["uuid"] for r in requests] == ["uuid-7"] * 4
    assert requests[0].body == requests[3].body
    assert engine.wait_idle(5)
    assert [a.replay for a in engine.attempts()] == [False, True, True, True]
    assert len(engine.attempts(uuid="uuid-7")) == 4


def test_replay_refuses_unknown_keys_and_gone_subscriptions(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url)
    with pytest.raises(DeliveryError, match="no delivered notification"):
        engine.replay("no-such-uuid")
    with pytest.raises(DeliveryError, match="no delivery attempt with id 99"):
        engine.replay(99)
    engine.deliver(_note("sub-1"))
    assert engine.wait_idle(5)
    registry.subscriptions["sub-1"].status = "Blacklisted"
    with pytest.raises(DeliveryError, match="no longer receives"):
        engine.replay("uuid-1")
    assert len(hook.requests) == 1


def test_log_filters_by_subscription(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("a", hook.url)
    registry.add("b", hook.url)
    engine.deliver(_note("a", 1))
    engine.deliver(_note("b", 2))
    engine.deliver(_note("a", 3))
    hook.wait_for(3)
    assert engine.wait_idle(5)
    assert [a.uuid for a in engine.attempts(subscription_id="a")] == ["uuid-1", "uuid-3"]
    assert [a.uuid for a in engine.attempts(subscription_id="b")] == ["uuid-2"]
    record = engine.attempts()[0].to_dict()
    assert list(record) == ["id", "uuid", "subscriptionId", "address", "event", "attempt", "ok", "status",
                            "error", "latencyMs", "simulatedTime", "realTime", "replay"]


def test_reactivation_option_probes_blacklisted_addresses(webhook_server, registry, clock):
    hook = webhook_server("status_404")
    registry.add("sub-1", hook.url)
    with DeliveryEngine(clock, registry, SimulatorOptions(delivery_timeout=0.3, retry_schedule=(5,), blacklist_after=10,
                                                          blacklist_reactivation=60)) as engine:
        engine.deliver(_note("sub-1"))
        assert engine.wait_idle(5)
        clock.advance(30)
        assert registry.subscriptions["sub-1"].status == "Blacklisted"
        clock.advance(30)  # the probe at 60 s still gets 404
        assert registry.subscriptions["sub-1"].status == "Blacklisted"
        hook.mode = "echo"
        clock.advance(60)  # the probe at 120 s validates
        assert registry.subscriptions["sub-1"].status == "Active"
        assert registry.subscriptions["sub-1"].blacklisted_data is None


@pytest.mark.parametrize("kwargs, message", [
    ({"delivery_timeout": 0}, "delivery_timeout must be a number of seconds > 0, got 0"),
    ({"retry_schedule": ()}, "retry_schedule must be a non-empty list"),
    ({"retry_schedule": 5}, "retry_schedule must be a non-empty list"),
    ({"retry_schedule": (1, -2)}, "retry_schedule must be a number of seconds > 0, got -2"),
    ({"blacklist_after": 0}, "blacklist_after must be"),
    ({"blacklist_reactivation": -1}, "blacklist_reactivation must be"),
    ({"delivery_workers": 0}, "delivery_workers must be an integer >= 1"),
])
def test_bad_options_are_refused(clock, registry, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DeliveryEngine(clock, registry, SimulatorOptions(**kwargs))


def _offset(stamp: str) -> float:
    import datetime as dt
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return round(parsed.timestamp() - T0, 3)


def test_one_address_gets_every_subscription_in_queue_order(webhook_server, registry, engine):
    hook = webhook_server("echo")
    for sub in ("a", "b", "c"):
        registry.add(sub, hook.url)
    for n in range(30):
        engine.deliver(_note("abc"[n % 3], n))
    received = hook.wait_for(30)
    assert [json.loads(r.body)["body"]["n"] for r in received] == list(range(30))


def test_a_gone_subscription_is_not_queued(webhook_server, registry, engine):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url, status="Blacklisted")
    assert engine.deliver(_note("sub-1")) is None
    assert engine.deliver(_note("nobody")) is None
    assert engine.wait_idle(5) and engine.attempts() == [] and hook.requests == []


def test_the_log_keeps_the_latest_attempts(webhook_server, registry, clock):
    hook = webhook_server("echo")
    registry.add("sub-1", hook.url)
    with DeliveryEngine(clock, registry, SimulatorOptions(delivery_timeout=0.3), log_limit=10) as engine:
        for n in range(30):
            engine.deliver(_note("sub-1", n))
        assert engine.wait_idle(5)
        kept = [a.id for a in engine.attempts()]
        assert 10 <= len(kept) <= 11 and kept[-1] == 30 and kept == sorted(kept)
        with pytest.raises(DeliveryError, match="no delivery attempt with id 1 "):
            engine.replay(1)
        engine.replay(30)
        assert engine.wait_idle(5)
        assert json.loads(hook.requests[-1].body)["uuid"] == "uuid-29"
