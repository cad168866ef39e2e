"""The checker against the receiver the product ships: every platform rule holds."""
from __future__ import annotations

from rchelpers import WebhookReceiver
from rchelpers.simulator.checker import check_receiver


def test_the_shipped_receiver_passes_every_rule_and_refuses_a_wrong_token():
    with WebhookReceiver(verification_token="vt-check", journal=False) as receiver:
        report = check_receiver(receiver.url, verification_token="vt-check", burst=10)
        assert report.ok, str(report)
        assert all(r.verdict == "PASS" for r in report), str(report)
        assert report["notification.wrong_token"].measured.endswith("refused")
        assert len(receiver.events) == 1 + 10  # the right-token notification and the burst
        assert len(receiver.rejected) >= 1  # the wrong token


def test_a_receiver_expecting_another_token_fails_the_notification_rules():
    with WebhookReceiver(verification_token="expected", journal=False) as receiver:
        report = check_receiver(receiver.url, verification_token="something-else", burst=3)
        assert not report.ok
        assert report["notification.right_token"].verdict == "FAIL"
        assert report["notification.right_token"].measured.startswith("HTTP 403")
        assert report["burst.3"].verdict == "FAIL"
        assert receiver.events == []
