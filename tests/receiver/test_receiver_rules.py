"""The receiver's rules decide each answer without a socket: parsed requests in, answers or refusals out."""
from __future__ import annotations

import json
import time

import pytest

from rchelpers.receiver.http1 import HttpError, HttpRequest
from rchelpers.receiver.rules import DuplicateAck, NewNotification, ValidationEcho, WebhookRules

TOKEN = "verify-me-0123456789"


def _request(body: object = None, *, target: str = "/webhook", method: str = "POST", **headers: str) -> HttpRequest:
    raw = b"" if body is None else json.dumps(body).encode()
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return HttpRequest(method, target, "HTTP/1.1", named, True, len(raw), time.perf_counter(), raw)


def _rules(**options: str | None) -> WebhookRules:
    return WebhookRules("/webhook", verification_token=options.get("verification_token"),
                        auth_token=options.get("auth_token"), seen_limit=3)


def test_a_validation_request_is_echoed_even_without_the_verification_token():
    answer = _rules(verification_token=TOKEN).answer(_request(validation_token="abc-123"))
    assert answer == ValidationEcho("abc-123")


def test_a_notification_becomes_an_event_with_masked_headers():
    answer = _rules(verification_token=TOKEN).answer(
        _request({"uuid": "u-1", "event": "/restapi/v1.0/account/~/extension/~/presence", "body": {"ownerId": "7"}},
                 verification_token=TOKEN, content_type="application/json"))
    assert isinstance(answer, NewNotification)
    assert answer.uuid == "u-1"
    assert (answer.event.uuid, answer.event.owner_id) == ("u-1", "7")
    assert answer.event.headers["content-type"] == "application/json"
    assert TOKEN not in answer.event.headers["verification-token"]


@pytest.mark.parametrize("request_, status, reason", [
    (_request({}, target="/other"), 404, "no webhook at /other"),
    (_request(method="GET"), 405, "only POST"),
    (_request({"uuid": "u"}), 403, "Verification-Token header missing"),
    (_request({"uuid": "u"}, verification_token="wrong"), 403, "does not match"),
    (_request(verification_token=TOKEN), 400, "empty body"),
    (_request([1, 2], verification_token=TOKEN), 400, "must be a JSON object"),
])
def test_refusals_are_raised_with_their_status_and_keep_the_connection(request_, status, reason):
    with pytest.raises(HttpError) as refused:
        _rules(verification_token=TOKEN).answer(request_)
    assert (refused.value.status, refused.value.close) == (status, False)
    assert reason in refused.value.reason


def test_the_auth_token_is_required_in_the_query():
    rules = _rules(auth_token="s3cret")
    with pytest.raises(HttpError, match="auth_token query parameter missing"):
        rules.answer(_request({"uuid": "u"}))
    assert isinstance(rules.answer(_request({"uuid": "u"}, target="/webhook?auth_token=s3cret")), NewNotification)


def test_a_uuid_is_a_duplicate_while_journaled_and_once_accepted_but_not_after_a_failed_write():
    rules = _rules()
    rules.seen.begin("u-1")
    assert rules.answer(_request({"uuid": "u-1"})) == DuplicateAck("u-1")
    rules.seen.end("u-1", accepted=False)
    assert isinstance(rules.answer(_request({"uuid": "u-1"})), NewNotification)
    rules.seen.begin("u-1")
    rules.seen.end("u-1", accepted=True)
    assert rules.answer(_request({"uuid": "u-1"})) == DuplicateAck("u-1")


def test_only_the_last_seen_limit_uuids_are_remembered():
    rules = _rules()  # seen_limit=3
    for uuid in ("a", "b", "c", "d"):
        rules.seen.remember(uuid)
    assert isinstance(rules.answer(_request({"uuid": "a"})), NewNotification)
    assert rules.answer(_request({"uuid": "d"})) == DuplicateAck("d")
