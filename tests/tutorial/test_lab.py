"""start_lab: one call starts the platform, a client, a receiver and a tunnel; stop() stops them all."""
from __future__ import annotations

import threading

import pytest

from rchelpers import (ConfigError, Lab, presence_filter, running_threads, start_lab, telephony_sessions_filter,
                       voicemail_filter)

TOKEN = "tutorial-verification-token"


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No RC_* variable, no ngrok token, no .env: the embedded simulator is meant."""
    for name in ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT", "NGROK_AUTHTOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RC_ENV_FILE", "")


def test_start_gives_working_parts_and_stop_leaves_nothing_running() -> None:
    lab = start_lab(seed=3, verification_token=TOKEN)
    try:
        assert isinstance(lab, Lab) and lab.on_simulator and lab.can_subscribe
        assert lab.config.is_loopback and lab.receiver.running and lab.tunnel.public_url == lab.receiver.url
        sub = lab.subs.create(lab.tunnel.public_url, [presence_filter()], verification_token=TOKEN)
        lab.sim.trigger("presence", telephonyStatus="Ringing")
        assert [e.subscription_id for e in lab.receiver.events] == [sub.id]
        assert any(name.startswith("rc-sim-") for name in running_threads())
        assert any(name.startswith("rchelpers-receiver-") for name in running_threads())
        journal = lab.receiver.journal_path
        old = lab.receiver
        old.stop()
        again = lab.start_receiver(port=old.port)  # back at the same address
        assert again is lab.receiver and again.url == old.url
    finally:
        left = lab.stop()
    assert left == []
    assert not lab.sim.running and not again.running and lab.tunnel.closed
    assert not journal.parent.exists()  # the journal's temporary folder is deleted
    assert lab.stop() == [] and repr(lab).startswith("<Lab stopped on the embedded simulator")


def test_only_our_threads_count() -> None:
    before = set(threading.enumerate())
    stop = threading.Event()
    foreign = threading.Thread(target=stop.wait, name="subshell-0a1b2c", daemon=True)
    foreign.start()  # as Jupyter's kernel does with the first widget
    try:
        with start_lab(seed=1) as lab:
            assert "subshell-0a1b2c" not in running_threads(since=before)
            assert running_threads(since=before)  # while it runs, the lab's threads are counted
        assert running_threads(since=before) == [] and lab.stopped
    finally:
        stop.set()
        foreign.join(5)


def test_a_real_platform_without_a_public_tunnel_stops_what_it_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RC_SERVER_URL", "https://platform.example.com")
    monkeypatch.setenv("RC_CLIENT_ID", "demo-client-id")
    monkeypatch.setenv("RC_CLIENT_SECRET", "demo-client-secret")
    monkeypatch.setenv("RC_JWT", "demo-jwt")
    before = set(threading.enumerate())
    with pytest.raises(ConfigError, match="set NGROK_AUTHTOKEN"):
        start_lab()
    assert running_threads(since=before) == []  # the receiver it had started is stopped
    with start_lab(require_reachable=False) as lab:  # no request is made until a call needs a token
        assert lab.sim is None and not lab.on_simulator and not lab.can_subscribe


def test_sim_options_reach_the_embedded_platform() -> None:
    permissions = ["ReadMessages", "SubscriptionWebhook"]
    with start_lab(seed=2, verification_token=TOKEN, sim_options={"permissions": permissions}) as lab:
        sub = lab.subs.create(lab.tunnel.public_url, [telephony_sessions_filter(), voicemail_filter()],
                              verification_token=TOKEN)
        assert lab.tokens.scope == "ReadMessages SubscriptionWebhook"
        assert len(sub.event_filters) == 1 and sub.event_filters[0].endswith("/voicemail")
        assert [d["filter"].rsplit("/", 2)[-2:] for d in sub.disabled_filters] == [["telephony", "sessions"]]
        lab.sim.scenario("missed_call")
        lab.sim.clock.advance(60)
        assert [e.event.rsplit("/", 1)[-1] for e in lab.receiver.events] == ["voicemail"]
    with start_lab(seed=2, sim_options={"duplicate_rate": 1.0}) as lab:
        assert lab.sim.options.duplicate_rate == 1.0
        lab.subs.create(lab.tunnel.public_url, [telephony_sessions_filter()])
        lab.sim.trigger("telephony_session")
        lab.sim.clock.advance(1)
        assert len(lab.receiver.events) == 1 and lab.receiver.stats.duplicates == 1  # every notification sent twice


def test_a_bad_sim_option_starts_nothing() -> None:
    before = set(threading.enumerate())
    with pytest.raises(TypeError, match="unknown Simulator option.*duplicate_rat"):
        start_lab(sim_options={"duplicate_rat": 0.5})
    assert running_threads(since=before) == []
