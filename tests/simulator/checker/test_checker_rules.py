"""The receiver checker against a good stand-in webhook and broken ones."""
from __future__ import annotations

import pytest

from rchelpers.simulator.checker import check_receiver


def _verdicts(report) -> dict[str, str]:
    return {r.name: r.verdict for r in report}


def test_good_receiver_passes(webhook_server):
    hook = webhook_server("echo")
    report = check_receiver(hook.url, burst=8)
    assert report.ok, str(report)
    assert _verdicts(report) == {
        "reachable": "PASS", "handshake.echo": "PASS", "handshake.status": "PASS", "handshake.size": "PASS",
        "handshake.content_type": "PASS", "handshake.latency": "PASS", "handshake.latency_strict": "PASS",
        "notification": "PASS", "notification.wrong_token": "SKIP", "empty_body": "PASS", "burst.8": "PASS",
    }
    assert report["burst.8"].measured.startswith("8/8 2xx")
    # handshake + notification + empty body + 8 burst notifications
    assert len(hook.requests) == 11
    handshake = hook.requests[0]
    assert handshake.body == b"" and handshake.header("Validation-Token")
    assert handshake.header("User-Agent") == "RingCentral-Webhook/8.3"


def test_accepting_a_wrong_token_is_a_warning_not_a_failure(webhook_server):
    hook = webhook_server("echo")
    report = check_receiver(hook.url, verification_token="right-token", burst=2)
    assert report.ok
    assert report["notification.right_token"].verdict == "PASS"
    wrong = report["notification.wrong_token"]
    assert wrong.verdict == "WARN" and "accepted" in wrong.measured and "Verification-Token" in wrong.fix
    tokens = [r.header("Verification-Token") for r in hook.requests]
    assert tokens.count("right-token") == 3  # right-token notification + 2 burst
    assert any(t and t.startswith("wrong-") for t in tokens)


def test_no_echo_fails_the_echo_rule(webhook_server):
    report = check_receiver(webhook_server("no_echo").url, burst=2)
    assert not report.ok
    assert report["handshake.echo"].verdict == "FAIL"
    assert "SUB-521" in report["handshake.echo"].fix
    assert [r.name for r in report.failed] == ["handshake.echo"]


def test_wrong_echo_fails_the_echo_rule(webhook_server):
    report = check_receiver(webhook_server("wrong_echo").url, burst=2)
    assert report["handshake.echo"].measured == "Validation-Token echoed with a different value"


def test_big_reply_fails_the_size_rule(webhook_server):
    report = check_receiver(webhook_server("oversize").url, burst=2)
    size = report["handshake.size"]
    assert size.verdict == "FAIL" and int(size.measured.split()[0]) > 1500
    assert [r.name for r in report.failed] == ["handshake.size"]


def test_slow_receiver_fails_the_time_limits(webhook_server):
    report = check_receiver(webhook_server("slow", delay=0.4).url, burst=3, time_limit_ms=200,
                            strict_time_limit_ms=100)
    verdicts = _verdicts(report)
    assert verdicts["handshake.latency"] == "FAIL" and verdicts["handshake.latency_strict"] == "WARN"
    assert verdicts["notification"] == "FAIL" and verdicts["empty_body"] == "FAIL" and verdicts["burst.3"] == "FAIL"
    assert "reply first" in report["handshake.latency"].fix


def test_status_500_fails_status_and_notifications(webhook_server):
    report = check_receiver(webhook_server("status_500").url, burst=2)
    verdicts = _verdicts(report)
    assert verdicts["handshake.status"] == "FAIL" and verdicts["notification"] == "FAIL"
    assert verdicts["empty_body"] == "FAIL" and verdicts["burst.2"] == "FAIL"
    assert report["burst.2"].measured.startswith("0/2 2xx")


def test_refusing_everything_fails_reachable_and_skips_the_rest(unreachable_url):
    report = check_receiver(unreachable_url)
    assert not report.ok
    assert report["reachable"].verdict == "FAIL" and report["reachable"].measured == "connection refused"
    assert [r.verdict for r in report][1:] == ["SKIP"] * 4
    text = str(report)
    assert "FAIL  reachable" in text and "start the receiver" in text and "1 required rule(s) failed" in text


def test_report_text_and_dict(webhook_server):
    report = check_receiver(webhook_server("no_echo").url, burst=2)
    text = str(report)
    assert text.startswith("Receiver check: http://127.0.0.1:")
    assert "FAIL  handshake.echo" in text and "What to fix:" in text
    data = report.to_dict()
    assert data["ok"] is False and data["results"][1]["name"] == "handshake.echo"
    with pytest.raises(KeyError, match="no rule named 'nope'"):
        report["nope"]


@pytest.mark.parametrize("url, kwargs, message", [
    ("ftp://example.com/x", {}, "expected an http:// or https:// URL"),
    ("not a url", {}, "expected an http:// or https:// URL"),
    ("http://127.0.0.1:99999/x", {}, "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:9/x", {"burst": 0}, "burst must be a whole number from 1 to 500, got 0"),
    ("http://127.0.0.1:9/x", {"burst": 5000}, "burst must be a whole number from 1 to 500"),
    ("http://127.0.0.1:9/x", {"timeout": 0}, "timeout must be a positive"),
])
def test_bad_arguments(url, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_receiver(url, **kwargs)
