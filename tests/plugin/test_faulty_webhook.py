"""FaultyWebhook: what the simulated platform sees when the receiver under test is slow, failing or silent."""
from __future__ import annotations

from typing import Callable

import pytest

from rchelpers import ApiError, SubscriptionClient, WebhookReceiver
from rchelpers.simulator import Simulator
from rchelpers.testing import FaultyWebhook, assert_delivered

PRESENCE = ["/restapi/v1.0/account/~/extension/~/presence"]


def test_a_healthy_proxy_forwards_to_the_receiver_and_back(
        rc_sim: Simulator, rc_subscriptions: SubscriptionClient, rc_receiver: WebhookReceiver,
        rc_faulty_webhook: Callable[..., FaultyWebhook]) -> None:
    proxy = rc_faulty_webhook(rc_receiver.url)
    rc_subscriptions.create(proxy.url, PRESENCE)
    rc_sim.trigger("presence", telephonyStatus="Ringing")

    rc_receiver.assert_received("presence", count=1)
    assert_delivered(rc_sim, "presence", ok=True, status=200, count=1)
    assert [(r.kind, r.fault, r.status) for r in proxy.requests] == [
        ("validation", "healthy", 200), ("notification", "healthy", 200)]


@pytest.mark.rc_sim(delivery_timeout=1.0, retry_schedule=(1,))  # 1 s: a healthy answer under load still fits
def test_slow_silent_and_closing_receivers_fail_as_the_platform_sees_them(
        rc_sim: Simulator, rc_clock: object, rc_subscriptions: SubscriptionClient, rc_receiver: WebhookReceiver,
        rc_faulty_webhook: Callable[..., FaultyWebhook]) -> None:
    proxy = rc_faulty_webhook(rc_receiver.url)
    sub = rc_subscriptions.create(proxy.url, PRESENCE)
    for fault in (lambda: proxy.slow(3.0), proxy.hang, proxy.drop, lambda: proxy.error(500)):
        fault()
        rc_sim.trigger("presence")
    proxy.healthy()
    rc_sim.advance(1)  # every notification is retried once, now answered

    failed = assert_delivered(rc_sim, subscription_id=sub.id, attempt=1, ok=False, count=4)
    assert [a["status"] for a in failed] == [None, None, None, 500]
    assert all(a["error"] for a in failed)
    assert_delivered(rc_sim, subscription_id=sub.id, attempt=2, ok=True, count=4)
    rc_receiver.assert_received("presence", count=4)  # each once, though the slow one may have arrived late


def test_faults_spare_the_validation_handshake_unless_asked(
        rc_subscriptions: SubscriptionClient, rc_faulty_webhook: Callable[..., FaultyWebhook]) -> None:
    spared = rc_faulty_webhook()
    spared.error(503)
    assert rc_subscriptions.create(spared.url, PRESENCE).is_active

    strict = rc_faulty_webhook(fault_validation=True)
    strict.error(503)
    with pytest.raises(ApiError) as refused:
        rc_subscriptions.create(strict.url, PRESENCE)
    assert refused.value.status == 400 and refused.value.error_code == "SUB-522"  # WebHook responds with incorrect HTTP status
    assert "HTTP status is 503" in refused.value.message


def test_bad_arguments_say_what_to_pass() -> None:
    with pytest.raises(ValueError, match="target_url must be an http:// URL of your receiver"):
        FaultyWebhook("ftp://example.com/hook")
    with FaultyWebhook() as hook:
        with pytest.raises(ValueError, match="status must be an HTTP status"):
            hook.error(42)
        assert hook.url.startswith("http://127.0.0.1:") and hook.fault == "healthy"
    with pytest.raises(RuntimeError, match="not running"):
        hook.url
