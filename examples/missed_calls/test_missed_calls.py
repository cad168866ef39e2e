"""Tests of the missed-calls app, with the rchelpers pytest fixtures only (no conftest needed).

``rc_env`` gives the app its RC_* credentials (the test's simulator), ``rc_receiver`` is its webhook,
``rc_sim.trigger`` plays calls, ``rc_clock`` moves time for reminders, expiry and blacklisting, and
``rc_faulty_webhook`` stands in front of the receiver to make deliveries fail.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from missed_calls import EXPIRES_IN, MissedCall, MissedCallApp, main

from rchelpers import WebhookReceiver
from rchelpers.simulator import Simulator
from rchelpers.testing import FaultyWebhook, assert_delivered

CALLER = "+14155550123"
TOKEN = "missed-calls-verification-token"


def call(status: str, session: str = "s-1") -> list[dict[str, Any]]:
    """The ``activeCalls`` of a presence event during one inbound call (empty once it ended)."""
    if status == "NoCall":
        return []
    return [{"id": f"call-{session}", "direction": "Inbound", "from": CALLER, "to": "+16505550100",
             "telephonyStatus": status, "telephonySessionId": session}]


def play(sim: Simulator, *statuses: str, session: str = "s-1") -> None:
    """Trigger the presence events of one call going through ``statuses``."""
    for status in statuses:
        sim.trigger("presence", telephonyStatus=status, activeCalls=call(status, session))


@pytest.fixture
def start_app(rc_env: dict[str, str], rc_receiver: WebhookReceiver) -> Iterator[Callable[[str], MissedCallApp]]:
    """Factory: the app, configured from the environment, subscribed at ``address`` and listening to rc_receiver."""
    apps: list[MissedCallApp] = []

    def start(address: str) -> MissedCallApp:
        app = MissedCallApp(address, verification_token=TOKEN)
        rc_receiver.add_listener(app.handle)
        app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


@pytest.fixture
def app(start_app: Callable[[str], MissedCallApp], rc_receiver: WebhookReceiver) -> MissedCallApp:
    """The app subscribed straight at its receiver."""
    return start_app(rc_receiver.url)


@pytest.mark.rc_receiver(verification_token=TOKEN)
def test_a_call_that_rings_and_ends_unanswered_is_a_missed_call(rc_sim: Simulator, rc_receiver: WebhookReceiver,
                                                                 app: MissedCallApp) -> None:
    play(rc_sim, "Ringing", "NoCall")

    rc_receiver.assert_received("presence", count=2)
    assert app.wait_until(lambda: len(app.missed_calls) == 1)
    assert app.missed_calls == [MissedCall(CALLER, "s-1", "2026-01-01T00:00:00.000Z")]


@pytest.mark.rc_receiver(verification_token=TOKEN)
def test_an_answered_call_is_not_missed(rc_sim: Simulator, rc_receiver: WebhookReceiver, app: MissedCallApp) -> None:
    play(rc_sim, "Ringing", "CallConnected", "NoCall", session="s-answered")
    play(rc_sim, "Ringing", "NoCall", session="s-missed")

    rc_receiver.assert_received("presence", count=5)
    assert app.wait_until(lambda: len(app.missed_calls) == 1)
    assert [m.session_id for m in app.missed_calls] == ["s-missed"]


@pytest.mark.rc_receiver(verification_token=TOKEN)
def test_reminders_keep_the_subscription_alive_past_its_lifetime(rc_clock: Any, rc_receiver: WebhookReceiver,
                                                                 app: MissedCallApp) -> None:
    first = app.subscription
    assert first is not None and first.expiration_time is not None

    for _ in range(3):  # three lifetimes: each reminder is answered by a renewal
        renewals = app.renewals
        rc_receiver.assert_received("reminder", count=renewals + 1, within=EXPIRES_IN, clock=rc_clock)
        assert app.wait_until(lambda: app.renewals == renewals + 1)
        rc_clock.advance(EXPIRES_IN - 300)

    now = app.ensure_subscription()
    assert now.id == first.id and now.is_active
    assert now.expiration_time is not None and now.expiration_time > first.expiration_time
    assert app.recreations == 0


@pytest.mark.rc_receiver(verification_token=TOKEN)
def test_a_deleted_subscription_is_recreated(rc_subscriptions: Any, app: MissedCallApp) -> None:
    first = app.subscription
    assert first is not None
    rc_subscriptions.delete(first.id)  # as if someone removed it, or it expired while the app was down

    recreated = app.ensure_subscription()

    assert recreated.id != first.id and recreated.is_active
    assert app.recreations == 1


@pytest.mark.rc_sim(blacklist_after=60)
@pytest.mark.rc_receiver(verification_token=TOKEN)
def test_a_blacklisted_subscription_is_recreated_and_calls_are_recorded_again(
        rc_sim: Simulator, rc_clock: Any, rc_receiver: WebhookReceiver,
        rc_faulty_webhook: Callable[..., FaultyWebhook], start_app: Callable[[str], MissedCallApp]) -> None:
    proxy = rc_faulty_webhook(rc_receiver.url)  # the app's public address, in front of its receiver
    app = start_app(proxy.url)
    blacklisted = app.subscription
    assert blacklisted is not None

    proxy.error(503)  # the app's server is down: the platform retries, then blacklists
    play(rc_sim, "Ringing")
    rc_clock.advance(120)
    assert_delivered(rc_sim, subscription_id=blacklisted.id, ok=False, status=503, blacklisted=True)

    proxy.healthy()
    recreated = app.ensure_subscription()
    play(rc_sim, "Ringing", "NoCall", session="s-after")

    assert recreated.id != blacklisted.id and app.recreations == 1
    assert_delivered(rc_sim, subscription_id=recreated.id, ok=True, count=2)
    assert app.wait_until(lambda: [m.session_id for m in app.missed_calls] == ["s-after"])


def test_the_app_runs_from_the_command_line_and_cleans_up(rc_env: dict[str, str], rc_sim: Simulator,
                                                          rc_subscriptions: Any, tmp_path: Any,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    changes: list[str] = []
    rc_sim.add_listener(lambda change, subscription: changes.append(change))

    assert main(["--seconds", "0.3", "--check-every", "0.1", "--journal", str(tmp_path / "webhooks.jsonl")]) == 0

    assert capsys.readouterr().out == "0 missed call(s)\n"
    assert changes == ["created", "deleted"]  # it subscribed, and deleted its subscription on the way out
    assert rc_subscriptions.list_all() == []


def test_without_credentials_the_app_says_what_to_set_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RC_ENV_FILE", "")

    assert main(["--seconds", "0", "--journal", str(tmp_path / "webhooks.jsonl")]) == 2

    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "set RC_SERVER_URL" in captured.err and "rchelpers sim --env-file .env.sim" in captured.err
    assert not (tmp_path / "webhooks.jsonl").exists()  # nothing was started
