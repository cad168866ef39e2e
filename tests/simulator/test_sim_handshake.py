"""The validation handshake failing each way, through the create call and through run_handshake directly."""
from __future__ import annotations

import threading

import pytest

from rchelpers.simulator import Simulator
from rchelpers.simulator.handshake import check_address, judge, run_handshake
from sim_api import SUBSCRIPTION, SimApi, assert_error

ADDRESS_INVALID = "Parameter [deliveryMode.address] value is invalid"
NOT_REACHABLE = "WebHook is not reachable"


@pytest.fixture
def quick_sim():
    """A simulator with a 0.3 s handshake limit, so the slow case stays fast."""
    with Simulator(seed=11, rate_limits=None, validation_timeout=0.3) as running:
        yield running


@pytest.fixture
def quick_api(quick_sim):
    client = SimApi(quick_sim)
    client.login()
    yield client
    client.close()


@pytest.mark.parametrize("mode, code, message", [
    ("no_echo", "SUB-521", NOT_REACHABLE),
    ("wrong_echo", "SUB-521", NOT_REACHABLE),
    ("status_500", "SUB-522", "WebHook responds with incorrect HTTP status. HTTP status is 500"),
    ("status_404", "SUB-522", "WebHook responds with incorrect HTTP status. HTTP status is 404"),
    ("oversize", "SUB-525", "WebHook server response is invalid"),
    ("slow", "SUB-521", NOT_REACHABLE),
])
def test_failed_handshake_refuses_the_create_and_changes_nothing(quick_sim, quick_api, webhook_server, mode, code,
                                                                 message):
    hook = webhook_server(mode, delay=1.0)
    response = quick_api.create(hook.url)
    body = assert_error(response, 400, code, message)
    assert body["message"] == message and "parameterName" not in body
    assert len(hook.wait_for(1)) == 1  # the platform did call the address
    assert quick_api.records() == []
    assert quick_sim.subscriptions.records == {}


@pytest.mark.parametrize("mode, code, message", [
    ("no_echo", "SUB-520", "Validation Token is not returned"),
    ("status_500", "SUB-525", "WebHook server response is invalid"),
    ("slow", "CMN-101", ADDRESS_INVALID),
])
def test_legacy_handshake_errors_option(webhook_server, mode, code, message):
    with Simulator(seed=11, rate_limits=None, validation_timeout=0.3, handshake_errors="legacy") as legacy:
        client = SimApi(legacy)
        try:
            client.login()
            body = assert_error(client.create(webhook_server(mode, delay=1.0).url), 400, code, message)
            if code == "CMN-101":
                assert body["parameterName"] == "deliveryMode.address"
        finally:
            client.close()


def test_unreachable_port(quick_sim, quick_api, unreachable_url):
    assert_error(quick_api.create(unreachable_url), 400, "SUB-521", NOT_REACHABLE)
    assert quick_api.records() == []


def test_handshakes_are_listed_for_inspection(quick_api, webhook_server):
    hook = webhook_server("no_echo")
    quick_api.create(hook.url)
    records = quick_api.http.get(quick_api.url("/_sim/handshakes"), timeout=5).json()["records"]
    assert records[-1]["address"] == hook.url and records[-1]["errorCode"] == "SUB-521"
    assert records[-1]["status"] == 200 and records[-1]["echoed"] is False


def test_a_slow_webhook_does_not_block_other_calls(quick_sim, webhook_server):
    slow = webhook_server("slow", delay=1.0)
    with Simulator(seed=12, rate_limits=None, validation_timeout=2.0) as sim:
        creator, reader = SimApi(sim), SimApi(sim)
        try:
            creator.login()
            reader.login()
            result = {}
            thread = threading.Thread(target=lambda: result.update(r=creator.create(slow.url)))
            thread.start()
            slow.wait_for(1)  # the handshake is in progress now
            listed = reader.call("GET", SUBSCRIPTION)
            assert listed.status_code == 200
            assert thread.is_alive()  # the list came back while the handshake was still waiting
            thread.join(10)
            assert result["r"].status_code == 200  # 1 s is within the 2 s limit
        finally:
            creator.close()
            reader.close()


def test_reply_size_counts_headers_and_body(webhook_server):
    hook = webhook_server("echo")
    small = run_handshake(hook.url, "t" * 36, timeout=2)
    assert small.ok and 100 < small.reply_bytes < 300
    tight = run_handshake(hook.url, "t" * 36, timeout=2, max_reply_bytes=small.reply_bytes - 1)
    assert tight.error is not None and tight.error.code == "SUB-525"
    exact = run_handshake(hook.url, "t" * 36, timeout=2, max_reply_bytes=small.reply_bytes)
    assert exact.ok


def test_judge_orders_the_rules():
    from rchelpers.simulator.handshake import HandshakeResult

    base = dict(address="http://x", token="t")
    assert judge(HandshakeResult(**base, status=500, echoed=None)).code == "SUB-522"
    assert judge(HandshakeResult(**base, status=500, echoed=None), error_codes="legacy").code == "SUB-525"
    assert judge(HandshakeResult(**base, status=500, reply_bytes=2000)).code == "SUB-525"  # size before status
    assert judge(HandshakeResult(**base, status=200, echoed="u")).code == "SUB-521"
    assert judge(HandshakeResult(**base, status=200, echoed="u"), error_codes="legacy").code == "SUB-520"
    assert judge(HandshakeResult(**base, failure="timeout")).code == "SUB-521"
    assert judge(HandshakeResult(**base, failure="unreachable"), error_codes="legacy").code == "CMN-101"
    assert judge(HandshakeResult(**base, failure="tls")).code == "SUB-524"
    assert judge(HandshakeResult(**base, failure="invalid-reply")).code == "SUB-525"
    assert judge(HandshakeResult(**base, status=200, echoed="t", reply_bytes=1025)).code == "SUB-525"
    assert judge(HandshakeResult(**base, status=200, echoed="t", reply_bytes=1024)) is None


def test_garbage_reply_is_invalid():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer():
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(b"hello, this is not HTTP\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        result = run_handshake(f"http://127.0.0.1:{port}/x", "tok", timeout=2)
    finally:
        thread.join(5)
        server.close()
    assert result.failure == "invalid-reply" and result.error.code == "SUB-525"


@pytest.mark.parametrize("address", ["", "webhook", "ftp://h/x", "http://", "http://h:0/x", "http://h:99999/x",
                                     "http://h/a b", None, 5])
def test_check_address_refuses_bad_urls(address):
    with pytest.raises(Exception) as info:
        check_address(address)
    assert info.value.code == "CMN-101" and info.value.parameter_name == "deliveryMode.address"


@pytest.mark.parametrize("address", ["http:///x", "/x", ""])
def test_run_handshake_refuses_an_address_without_a_host(address):
    with pytest.raises(ValueError, match="has no host"):
        run_handshake(address, "tok", timeout=1)
