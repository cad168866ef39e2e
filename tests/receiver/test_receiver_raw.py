"""The receiver keeps each notification's body byte for byte and its header lines as sent (over real HTTP on
loopback); secrets stay in the data but are masked wherever they are shown, and in the journal."""
from __future__ import annotations

import json
import logging

from rchelpers import WebhookReceiver, mask

TOKEN = "verify-me-0123456789abcdef"
AUTH = "auth-secret-0123456789"
BEARER = "Bearer bearer-secret-0123456789"
#: A body no JSON encoder would write: odd whitespace, its own key order, escapes, an exponent, raw UTF-8.
ODD_BODY = (b'\r\n\t{ "timestamp" :"2016-02-18T09:37:24.597Z",\n  "uuid":"odd-0001" ,'
            b'"event": "/restapi/v1.0/account/~/extension/6610372004/presence",'
            b'"subscriptionId":"9d38419f-645f-4ee3-a053-8cf1368c21c4","ownerId":"6610372004",\n'
            b'"body":{"note":"caf\\u00e9 \\ud83d\\ude00 \\/ \xc3\xa9 \\"q\\"", "sequence": 1.50e2 ,'
            b' "empty": {} }  }\n\n')
#: The header lines sent, in order, names as sent (values as the receiver keeps them: spaces around trimmed).
SENT_HEADERS = [
    ("Host", "127.0.0.1"), ("content-length", str(len(ODD_BODY))),
    ("Content-Type", "application/json; charset=UTF-8"), ("Accept", "application/json"),
    ("Accept-Encoding", "UTF-8"), ("User-Agent", "RingCentral-Webhook/8.3"), ("Verification-Token", TOKEN),
    ("X-Trace", "first"), ("Authorization", BEARER), ("x-trace", "second"),
    ("X-Original-Url", f"https://example.com/webhook?auth_token={AUTH}&x=1"), ("Connection", "close"),
]


def _request(body: bytes, headers: list[tuple[str, str]], auth: str = AUTH) -> bytes:
    lines = [f"POST /webhook?auth_token={auth} HTTP/1.1"]
    lines += [f"{name}:  {value} " if name == "X-Trace" else f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def test_the_body_and_header_lines_are_kept_as_received(make_receiver, raw_exchange):
    rx = make_receiver(verification_token=TOKEN, auth_token=AUTH)
    [reply] = raw_exchange(rx.port, _request(ODD_BODY, SENT_HEADERS))
    assert reply.status == 200, reply.body
    [event] = rx.wait_for(1, timeout=5)
    assert event.raw_body == ODD_BODY
    assert list(event.raw_headers) == SENT_HEADERS
    assert event.raw_headers.get("verification-token") == TOKEN  # in clear in the data, for forwarding
    assert event.raw_headers.get("AUTHORIZATION") == BEARER
    assert event.raw_headers.get("x-trace") == "first, second"
    assert event.raw_headers.get("X-Missing") is None
    # the parsed view is the same notification
    assert event.uuid == "odd-0001" and event.body["sequence"] == 150.0
    assert event.body["note"] == 'café \U0001F600 / é "q"'
    assert event.raw == json.loads(ODD_BODY)
    assert event.headers == {"content-type": "application/json; charset=UTF-8",
                             "user-agent": "RingCentral-Webhook/8.3", "verification-token": mask(TOKEN)}


def test_reprs_and_logs_mask_the_secrets(make_receiver, raw_exchange, caplog):
    caplog.set_level(logging.DEBUG, logger="rchelpers")
    rx = make_receiver(verification_token=TOKEN, auth_token=AUTH)
    assert raw_exchange(rx.port, _request(ODD_BODY, SENT_HEADERS))[0].status == 200
    wrong = [(n, "wrong-token" if n == "Verification-Token" else v) for n, v in SENT_HEADERS]
    assert raw_exchange(rx.port, _request(ODD_BODY, wrong))[0].status == 403
    [event] = rx.wait_for(1, timeout=5)
    shown = [repr(event.raw_headers), str(event.raw_headers), repr(event), str(event), repr(rx), repr(rx.rejected),
             repr(event.headers), caplog.text]
    for secret in (TOKEN, AUTH, BEARER.split()[1]):
        assert not [text for text in shown if secret in text], f"{secret[:4]}... shown in clear"
    assert repr(event.raw_headers).startswith("RequestHeaders([('Host', '127.0.0.1'), ('content-length', ")
    assert f"('Verification-Token', '{mask(TOKEN)}')" in repr(event.raw_headers)
    assert f"auth_token={mask(AUTH)}&x=1" in repr(event.raw_headers)
    assert f"('x-trace', 'second')" in str(event.raw_headers)


def test_the_journal_keeps_the_body_as_received_and_the_secrets_masked(make_receiver, raw_exchange, tmp_path):
    journal = tmp_path / "raw.jsonl"
    rx = make_receiver(verification_token=TOKEN, auth_token=AUTH, journal=journal)
    assert raw_exchange(rx.port, _request(ODD_BODY, SENT_HEADERS))[0].status == 200
    [live] = rx.wait_for(1, timeout=5)
    rx.stop()

    text = journal.read_text("utf-8")
    for secret in (TOKEN, AUTH, BEARER.split()[1]):
        assert secret not in text
    [replayed] = WebhookReceiver.replay_journal(journal)
    assert replayed.raw_body == ODD_BODY
    assert [name for name, _ in replayed.raw_headers] == [name for name, _ in SENT_HEADERS]
    expected = {"Verification-Token": mask(TOKEN), "Authorization": mask(BEARER),
                "X-Original-Url": f"https://example.com/webhook?auth_token={mask(AUTH)}&x=1"}
    assert list(replayed.raw_headers) == [(n, expected.get(n, v)) for n, v in SENT_HEADERS]
    assert (replayed.uuid, replayed.raw, replayed.headers) == (live.uuid, live.raw, live.headers)
    assert replayed.received_at == live.received_at

    # a receiver started again on the same journal knows the uuid: a redelivery is acknowledged, not kept twice
    again = make_receiver(verification_token=TOKEN, auth_token=AUTH, journal=journal)
    assert raw_exchange(again.port, _request(ODD_BODY, SENT_HEADERS))[0].status == 200
    assert again.stats.duplicates == 1 and again.events == []


def test_a_body_that_is_not_utf8_survives_the_journal(make_receiver, raw_exchange, tmp_path):
    body = '{"uuid": "utf16-1", "body": {"note": "é"}}'.encode("utf-16")  # JSON with a byte order mark
    rx = make_receiver(journal=tmp_path / "utf16.jsonl")
    headers = [("Host", "x"), ("Content-Type", "application/json; charset=UTF-16"),
               ("Content-Length", str(len(body))), ("Connection", "close")]
    assert raw_exchange(rx.port, _request(body, headers))[0].status == 200
    assert rx.wait_for(1, timeout=5)[0].raw_body == body
    rx.stop()
    [replayed] = WebhookReceiver.replay_journal(tmp_path / "utf16.jsonl")
    assert replayed.raw_body == body and replayed.body == {"note": "é"} and replayed.uuid == "utf16-1"


def test_a_journal_line_of_the_earlier_form_still_replays_and_counts_as_seen(make_receiver, raw_exchange, tmp_path,
                                                                             notification_request, presence_envelope):
    envelope = presence_envelope("earlier-1")
    journal = tmp_path / "earlier.jsonl"
    line = {"received_at": "2026-11-30T08:00:00+00:00", "notification": envelope,
            "headers": {"content-type": "application/json", "verification-token": mask(TOKEN)}}
    journal.write_text(json.dumps(line) + "\n", "utf-8")
    [event] = WebhookReceiver.replay_journal(journal)
    assert event.uuid == "earlier-1" and event.raw == envelope
    assert json.loads(event.raw_body) == envelope  # the envelope as compact JSON: its bytes were not kept then
    assert event.raw_headers.get("Verification-Token") == mask(TOKEN)
    assert event.headers == line["headers"]

    rx = make_receiver(journal=journal)
    assert raw_exchange(rx.port, notification_request(rx.path, envelope))[0].status == 200
    assert rx.stats.duplicates == 1 and rx.events == []
