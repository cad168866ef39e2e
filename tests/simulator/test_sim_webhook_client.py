"""The simulator's one outbound HTTP client against stand-in webhooks: POST, keep-alive, validate(), failures."""
from __future__ import annotations

import socket

import pytest

from rchelpers.simulator.delivery_policy import judge_reply, judge_send_error
from rchelpers.simulator.webhook_client import USER_AGENT, WebhookClient, WebhookSendError, validation_headers


@pytest.fixture
def client():
    made = WebhookClient()
    yield made
    made.close()


def test_post_reads_the_whole_answer_and_sends_the_headers_given(client, hook):
    reply = client.post(hook.url, b'{"a":1}', {**validation_headers("tok"), "X-Extra": "1"}, timeout=2)
    assert reply.status == 200 and reply.reason == "OK"
    assert reply.header("validation-token") == "tok" and reply.header("Content-Type") == "application/json"
    assert reply.body == b"" and reply.latency_ms > 0 and reply.tls_version is None
    (got,) = hook.wait_for(1)
    assert got.body == b'{"a":1}'
    assert got.header("User-Agent") == USER_AGENT and got.header("X-Extra") == "1"


def test_keep_alive_posts_share_a_connection_and_survive_close(client, hook):
    for _ in range(3):
        assert client.post(hook.url, b"{}", {}, timeout=2, keep_alive=True).status == 200
    client.close()  # closes the idle connection; the client stays usable
    assert client.post(hook.url, b"{}", {}, timeout=2, keep_alive=True).status == 200
    assert len(hook.wait_for(4)) == 4


def test_a_non_2xx_answer_is_a_reply_judged_with_the_platforms_wording(client, webhook_server):
    reply = client.post(webhook_server("status_404").url, b"{}", {}, timeout=2)
    assert reply.status == 404
    outcome = judge_reply(reply, timeout=2)
    assert not outcome.ok and outcome.error == "Webhook responses with code: [404], reason: [Not Found]"


def test_a_refused_connection_is_a_send_error_in_the_connect_phase(client, unreachable_url):
    with pytest.raises(WebhookSendError) as caught:
        client.post(unreachable_url, b"{}", {}, timeout=2)
    assert isinstance(caught.value.cause, ConnectionRefusedError) and caught.value.phase == "connect"
    assert judge_send_error(caught.value).error == "I/O operation is failed. Details: [Connection refused]"


def test_a_slow_answer_is_a_read_timeout(client, webhook_server):
    slow = webhook_server("slow", delay=1.0)
    with pytest.raises(WebhookSendError) as caught:
        client.post(slow.url, b"{}", {}, timeout=0.2)
    assert isinstance(caught.value.cause, (socket.timeout, TimeoutError)) and caught.value.phase == "read"
    assert judge_send_error(caught.value).error == "I/O operation is failed. Details: [Read timed out]"


def test_an_address_that_is_not_http_is_refused(client):
    with pytest.raises(ValueError, match="must be an http"):
        client.post("ftp://127.0.0.1/x", b"", {}, timeout=1)


def test_validate_counts_the_reply_and_sees_the_echo(client, hook, webhook_server, unreachable_url):
    good = client.validate(hook.url, "t-1", timeout=2, max_reply_bytes=1024)
    assert (good.status, good.echoed, good.failure) == (200, "t-1", None)
    assert 0 < good.reply_bytes <= 1024
    big = client.validate(webhook_server("oversize").url, "t-2", timeout=2, max_reply_bytes=1024)
    assert big.status == 200 and big.reply_bytes > 1024
    silent = client.validate(webhook_server("no_echo").url, "t-3", timeout=2, max_reply_bytes=1024)
    assert silent.status == 200 and silent.echoed is None
    gone = client.validate(unreachable_url, "t-4", timeout=2, max_reply_bytes=1024)
    assert gone.failure == "unreachable" and gone.status is None
