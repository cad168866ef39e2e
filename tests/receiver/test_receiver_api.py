"""wait_for, listeners, stats, clear, lifecycle: the parts a notebook calls."""
from __future__ import annotations

import gc
import os
import shutil
import socket
import sys
import threading
import time

import pytest
import requests

from rchelpers import ReceiverError, WaitTimeout, WebhookReceiver


def _post_later(url: str, envelopes: list[dict], delay: float = 0.2) -> threading.Thread:
    def send() -> None:
        time.sleep(delay)
        for envelope in envelopes:
            requests.post(url, json=envelope, timeout=5)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_wait_for_returns_once_the_events_arrive(make_receiver, presence_envelope):
    rx = make_receiver()
    sender = _post_later(rx.url, [presence_envelope("a"), presence_envelope("b")])
    events = rx.wait_for(2, timeout=10)
    sender.join(5)
    assert [e.uuid for e in events] == ["a", "b"]


def test_wait_for_with_a_predicate(make_receiver, presence_envelope):
    rx = make_receiver()
    reminder = presence_envelope("r", event="/restapi/v1.0/subscription/~?threshold=60&interval=15")
    sender = _post_later(rx.url, [presence_envelope("p1"), presence_envelope("p2"), reminder])
    [event] = rx.wait_for(1, predicate=lambda e: e.is_reminder, timeout=10)
    sender.join(5)
    assert event.uuid == "r"


def test_wait_for_timeout_says_how_many_arrived_and_what_to_check(make_receiver, presence_envelope):
    rx = make_receiver(verification_token="right-token-123")
    requests.post(rx.url, json=presence_envelope("one"), headers={"Verification-Token": "right-token-123"}, timeout=5)
    requests.post(rx.url, json=presence_envelope("two"), headers={"Verification-Token": "bad"}, timeout=5)
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        rx.wait_for(3, timeout=0.3)
    assert time.monotonic() - started >= 0.3
    message = str(caught.value)
    assert "3 event(s)" in message and "1 event(s) in memory" in message
    assert "1 request(s) refused" in message and "Verification-Token does not match" in message
    assert "delivery address" in message
    assert isinstance(caught.value, TimeoutError)


def test_wait_for_rejects_impossible_counts(make_receiver):
    rx = make_receiver(max_events=5)
    with pytest.raises(ValueError, match="max_events"):
        rx.wait_for(6, timeout=0.1)
    with pytest.raises(ValueError):
        rx.wait_for(0)


def test_listeners_run_off_the_request_thread_and_survive_exceptions(make_receiver, presence_envelope, caplog):
    calls: list[tuple[str, str]] = []
    done = threading.Event()

    def broken(event):
        raise RuntimeError("listener bug")

    def recorder(event):
        calls.append((event.uuid, threading.current_thread().name))
        if len(calls) == 2:
            done.set()

    rx = make_receiver(on_event=[broken, recorder])
    for name in ("x", "y"):
        assert requests.post(rx.url, json=presence_envelope(name), timeout=5).status_code == 200
    assert done.wait(5)
    assert [uuid for uuid, _ in calls] == ["x", "y"]
    assert all(thread.endswith("-listeners") for _, thread in calls)
    assert "listener bug" in caplog.text or "raised" in caplog.text
    rx.remove_listener(recorder)
    requests.post(rx.url, json=presence_envelope("z"), timeout=5)
    rx.wait_for(3, timeout=5)
    time.sleep(0.1)
    assert len(calls) == 2


def test_slow_listener_does_not_delay_the_reply(make_receiver, presence_envelope):
    entered, release = threading.Event(), threading.Event()

    def blocking_listener(event):
        entered.set()
        release.wait(20)

    rx = make_receiver(on_event=blocking_listener)
    try:
        assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
        assert entered.wait(5)
        # the listener is blocked: replies that depended on it would time out
        for _ in range(3):
            assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
        assert not release.is_set() and len(rx.events) == 4
    finally:
        release.set()


def test_add_listener_rejects_non_callables(make_receiver):
    with pytest.raises(TypeError):
        make_receiver().add_listener("not callable")


def test_stats_and_clear(make_receiver, presence_envelope):
    rx = make_receiver()
    for _ in range(3):
        requests.post(rx.url, json=presence_envelope(), timeout=5)
    requests.post(rx.url.replace("/webhook", "/nope"), json=presence_envelope(), timeout=5)
    stats = rx.stats
    assert (stats.received, stats.rejected, stats.duplicates) == (3, 1, 0)
    assert 0 < stats.latency_p50_ms <= stats.latency_p99_ms <= stats.latency_max_ms
    rx.clear()
    assert rx.events == [] and rx.rejected == []
    assert rx.stats.received == 3
    assert len(rx.replay_journal(rx.journal_path)) == 3


def _open_descriptors() -> int:
    gc.collect()  # drop client sockets that are only waiting for the garbage collector
    return len(os.listdir("/proc/self/fd"))


def test_stop_leaves_no_thread_and_frees_the_port(tmp_path, presence_envelope):
    before = set(threading.enumerate())
    descriptors = _open_descriptors()
    rx = WebhookReceiver(journal=tmp_path / "j.jsonl", on_event=lambda e: None).start()
    port = rx.port
    requests.post(rx.url, json=presence_envelope(), timeout=5)
    with requests.Session() as session:  # a keep-alive connection still open at stop()
        session.post(rx.url, json=presence_envelope(), timeout=5)
        rx.stop()
    assert set(threading.enumerate()) == before
    assert _open_descriptors() == descriptors, "every socket and the journal file are closed"
    assert not rx.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with socket.socket() as probe:  # free for the next server (closed connections may sit in TIME_WAIT)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    rx.stop()  # idempotent


def test_context_manager_and_restart(tmp_path, presence_envelope):
    with WebhookReceiver(journal=tmp_path / "j.jsonl") as rx:
        assert rx.running and rx.url.startswith(f"http://127.0.0.1:{rx.port}/webhook")
        requests.post(rx.url, json=presence_envelope("before"), timeout=5)
    assert not rx.running
    with rx:
        requests.post(rx.url, json=presence_envelope("before"), timeout=5)  # seen: still a duplicate
        requests.post(rx.url, json=presence_envelope("after"), timeout=5)
        assert rx.stats.duplicates == 1
    assert [e.uuid for e in rx.replay_journal(tmp_path / "j.jsonl")] == ["before", "after"]


def test_starting_twice_and_a_busy_port_are_clear_errors(make_receiver):
    rx = make_receiver()
    with pytest.raises(ReceiverError, match="already running"):
        rx.start()
    other = WebhookReceiver(port=rx.port, journal=False)
    with pytest.raises(ReceiverError, match="port=0"):
        other.start()
    assert not other.running


@pytest.mark.parametrize("kwargs", [
    {"port": -1}, {"port": 70000}, {"path": "webhook"}, {"path": "/a?b=c"}, {"max_events": 0},
    {"max_body_bytes": 0}, {"read_timeout": 0}, {"verification_token": ""}, {"backlog": 0},
])
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        WebhookReceiver(**kwargs)


def test_switch_interval_is_lowered_while_running_and_restored(tmp_path):
    before = sys.getswitchinterval()
    with WebhookReceiver(journal=False, switch_interval=0.0005):
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        with WebhookReceiver(journal=False, switch_interval=0.001):
            assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert sys.getswitchinterval() == pytest.approx(0.0005), "still lowered while one receiver runs"
    assert sys.getswitchinterval() == before
    with WebhookReceiver(journal=False, switch_interval=None):
        assert sys.getswitchinterval() == before


def test_without_journal(make_receiver, presence_envelope):
    rx = make_receiver(journal=False)
    assert requests.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
    assert rx.journal_path is None and len(rx.events) == 1


def test_default_journal_goes_to_a_temporary_folder(presence_envelope):
    with WebhookReceiver() as rx:
        requests.post(rx.url, json=presence_envelope("t"), timeout=5)
        path = rx.journal_path
    assert path is not None and path.name == "webhooks.jsonl" and "rchelpers-journal-" in str(path)
    assert [e.uuid for e in WebhookReceiver.replay_journal(path)] == ["t"]
    shutil.rmtree(path.parent)


def test_a_stuck_listener_holds_at_most_max_events_back(make_receiver, presence_envelope, caplog):
    entered, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def stuck_listener(event):
        seen.append(event.uuid)
        entered.set()
        release.wait(20)

    rx = make_receiver(max_events=5, on_event=stuck_listener)
    try:
        assert requests.post(rx.url, json=presence_envelope("first"), timeout=5).status_code == 200
        assert entered.wait(5)
        with requests.Session() as session:
            for n in range(20):
                assert session.post(rx.url, json=presence_envelope(f"n{n}"), timeout=5).status_code == 200
        assert "webhook listeners are 5 events behind" in caplog.text
    finally:
        release.set()
    rx.stop()
    assert seen == ["first"] + [f"n{n}" for n in range(5)], "the queued events still reach the listener"
    assert len(rx.replay_journal(rx.journal_path)) == 21


def test_stop_with_a_listener_stuck_behind_a_full_queue_leaves_no_thread_once_it_returns(
        tmp_path, presence_envelope, caplog):
    entered, release = threading.Event(), threading.Event()

    def stuck_listener(event):
        entered.set()
        release.wait(20)

    before = set(threading.enumerate())
    rx = WebhookReceiver(journal=tmp_path / "j.jsonl", max_events=3, on_event=stuck_listener).start()
    try:
        with requests.Session() as session:
            assert session.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
            assert entered.wait(5)
            for _ in range(5):
                assert session.post(rx.url, json=presence_envelope(), timeout=5).status_code == 200
        rx.stop(timeout=0.5)
        assert "queued event(s) will not reach them" in caplog.text
    finally:
        release.set()
        rx.stop()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(threading.enumerate()) == before
