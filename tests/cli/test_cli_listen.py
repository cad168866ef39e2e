"""``rchelpers listen`` as a subprocess against the standalone simulator: Ready, notifications, forwarding,
renewal on a reminder, recreation after an expiry, and the subscription deleted on SIGINT/SIGTERM."""
from __future__ import annotations

import json
import signal
import socket
from urllib.parse import urlsplit

import pytest

from rchelpers import Config, RestClient, Simulator, SubscriptionClient, WebhookReceiver, mask

PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"
APP_TOKEN = "app-token-1234567890"
#: Set by the HTTP client for each request, so not compared header for header.
CLIENT_SET = ("host", "content-length")


def _subscription_ids(run_cli) -> list[str]:
    listed = run_cli("subscriptions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [record["id"] for record in json.loads(listed.stdout)]


def _app_headers(request) -> list[tuple[str, str]]:
    """The header lines the app received, in order, names as sent, but those the HTTP client sets."""
    return [(name, value) for name, value in request.headers.items() if name.lower() not in CLIENT_SET]


def test_listen_forwards_a_triggered_event_with_the_original_body_and_headers(start_listen, run_cli, webhook_server,
                                                                               tmp_path):
    app = webhook_server("echo", path="/hook")
    journal = tmp_path / "listen.jsonl"
    listening = start_listen("--json", "--forward-to", app.url, "--verification-token", APP_TOKEN,
                             "--journal", str(journal))
    ready = listening.next_record("ready")
    assert ready["address"].startswith("http://127.0.0.1:") and ready["embeddedSimulator"] is False
    assert ready["eventFilters"][0].endswith("/presence") and "/restapi/v1.0/subscription/~?threshold=600&interval=120" in ready["eventFilters"]

    triggered = run_cli("trigger", "presence", "--set", "telephonyStatus=CallConnected", "--json")
    assert triggered.returncode == 0, triggered.stderr
    sent = json.loads(triggered.stdout)
    assert sent["subscriptionIds"] == [ready["subscriptionId"]]
    envelope = sent["notifications"][0]

    notification = listening.next_record("notification")
    assert notification["uuid"] == envelope["uuid"] and notification["kind"] == "presence"
    assert "telephonyStatus=CallConnected" in notification["summary"]
    forward = listening.next_record("forward")
    assert forward["ok"] is True and forward["status"] == 200 and forward["latencyMs"] >= 0

    (request,) = app.wait_for(1, timeout=10)
    assert request.method == "POST" and request.path == "/hook"
    assert json.loads(request.body) == envelope
    # the RingCentral headers as the simulator sends them, in its order, with the real token
    assert _app_headers(request)[:5] == [("Content-Type", "application/json; charset=UTF-8"),
                                         ("Accept", "application/json"), ("Accept-Encoding", "UTF-8"),
                                         ("User-Agent", request.header("User-Agent")),
                                         ("Verification-Token", APP_TOKEN)]
    assert request.header("User-Agent").startswith("RingCentral-Webhook/")

    code, rest, err = listening.stop()
    assert code == 0, err
    stopped = json.loads(rest.splitlines()[-1])
    assert stopped == {**stopped, "type": "stopped", "subscriptionId": ready["subscriptionId"], "deleted": True,
                       "notifications": 1}
    assert APP_TOKEN not in rest + err + "\n".join(listening.seen)
    # what the receiver got from the platform (its journal keeps the body as received, the token masked) is
    # what the app got: the same bytes, and the same header lines but those the HTTP client sets
    (received,) = WebhookReceiver.replay_journal(journal)
    assert request.body == received.raw_body
    sent = [(name, APP_TOKEN if value == mask(APP_TOKEN) else value) for name, value in received.raw_headers]
    assert _app_headers(request) == [(name, value) for name, value in sent if name.lower() not in CLIENT_SET]
    assert APP_TOKEN not in journal.read_text("utf-8")


def _post_raw(url: str, header_lines: list[str], body: bytes) -> int:
    """POST ``body`` with exactly ``header_lines`` (one connection, closed by the server); the reply's status."""
    parts = urlsplit(url)
    head = f"POST {parts.path} HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in header_lines) + "\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        reply = bytearray()
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_forwarding_keeps_the_body_bytes_and_header_lines_and_drops_hop_by_hop_headers(start_listen, webhook_server):
    app = webhook_server("echo", path="/hook")
    listening = start_listen("--json", "--forward-to", app.url, "--verification-token", APP_TOKEN)
    ready = listening.next_record("ready")
    # a notification no JSON encoder would write: whitespace, key order, escapes, an exponent, raw UTF-8
    body = (b' {"uuid":"raw-forward-1" , "event":"/restapi/v1.0/account/~/extension/~/presence",\n'
            b'\t"timestamp":"2026-11-30T08:00:00.000Z","subscriptionId":"%s",\r\n'
            b'"body":{"telephonyStatus":"Ringing","note":"caf\\u00e9 \xc3\xa9 \\/","sequence":1.0e1}}\n'
            % ready["subscriptionId"].encode())
    header_lines = [f"Host: {urlsplit(ready['address']).netloc}", "Content-Type: application/json; charset=UTF-8",
                    f"content-length: {len(body)}", "Accept: application/json", "X-Trace:  one ",
                    "Connection: close, X-Hop", "Keep-Alive: timeout=5", "X-Hop: dropped", "TE: trailers",
                    "Proxy-Authorization: Basic c2VjcmV0", "Accept-Encoding: UTF-8",
                    "user-agent: RingCentral-Webhook/8.3", f"Verification-Token: {APP_TOKEN}", "x-trace: two",
                    "Upgrade: h2c"]
    assert _post_raw(ready["address"], header_lines, body) == 200

    assert listening.next_record("notification")["uuid"] == "raw-forward-1"
    assert listening.next_record("forward")["status"] == 200
    (request,) = app.wait_for(1, timeout=10)
    assert request.body == body
    assert _app_headers(request) == [("Content-Type", "application/json; charset=UTF-8"),
                                     ("Accept", "application/json"), ("X-Trace", "one, two"),
                                     ("Accept-Encoding", "UTF-8"), ("user-agent", "RingCentral-Webhook/8.3"),
                                     ("Verification-Token", APP_TOKEN)]
    assert request.header("Content-Length") == str(len(body))
    assert request.header("Host") == urlsplit(app.url).netloc
    assert listening.stop()[0] == 0


def test_text_output_prints_ready_and_one_line_per_notification_and_forward(start_listen, run_cli, webhook_server):
    app = webhook_server("echo", path="/hook")
    listening = start_listen("--forward-to", app.url)
    ready = listening.next_line(lambda line: line.startswith("Ready"))
    assert "subscription " in ready and "http://127.0.0.1:" in ready and "Ctrl-C" in ready
    assert run_cli("trigger", "presence", "--set", "telephonyStatus=Ringing").returncode == 0
    line = listening.next_line(lambda line: "presence" in line)
    assert "telephonyStatus=Ringing" in line
    forwarded = listening.next_line(lambda line: "-> POST" in line)
    assert app.url in forwarded and "200 OK" in forwarded and forwarded.rstrip().endswith("ms")
    code, rest, _ = listening.stop()
    assert code == 0 and "deleted; 1 notification(s) received" in rest


def test_a_reminder_after_the_clock_advances_is_answered_by_a_renewal(start_listen, standalone_sim):
    listening = start_listen("--json", "--expires-in", "600", "--reminder", "120,60")
    ready = listening.next_record("ready")
    assert ready["expiresIn"] == 600
    standalone_sim.advance(490)  # 110 s left: the reminder job sends the first reminder at 120 s left

    reminder = listening.next_record("notification")
    assert reminder["kind"] == "reminder" and reminder["subscriptionId"] == ready["subscriptionId"]
    assert reminder["notification"]["body"]["expiresIn"] <= 120
    renewed = listening.next_record("renewed")
    assert renewed["subscriptionId"] == ready["subscriptionId"] and renewed["expiresIn"] == 600
    assert renewed["expirationTime"] > ready["expirationTime"]
    assert listening.stop()[0] == 0


def test_an_expired_subscription_is_recreated_and_keeps_receiving(start_listen, standalone_sim, run_cli):
    listening = start_listen("--json", "--check-interval", "0.5")
    ready = listening.next_record("ready")
    # force the expiry: another session of the same app drops the reminder filter and shortens the lifetime
    with RestClient(Config.from_mapping(standalone_sim.values)) as client:
        SubscriptionClient(client).update(ready["subscriptionId"], [PRESENCE], expires_in=60)
    standalone_sim.advance(61)

    recreated = listening.next_record("recreated")
    assert recreated["previousSubscriptionId"] == ready["subscriptionId"]
    assert recreated["subscriptionId"] != ready["subscriptionId"] and "is gone (HTTP 404" in recreated["reason"]
    assert _subscription_ids(run_cli) == [recreated["subscriptionId"]]
    assert run_cli("trigger", "presence").returncode == 0
    assert listening.next_record("notification")["subscriptionId"] == recreated["subscriptionId"]
    assert listening.stop()[0] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_deletes_the_subscription_and_stops(start_listen, run_cli, sig):
    listening = start_listen()
    listening.next_line(lambda line: line.startswith("Ready"))
    assert len(_subscription_ids(run_cli)) == 1
    code, rest, err = listening.stop(sig)
    assert code == 0, err
    assert "Stopped: subscription" in rest and "deleted" in rest
    assert _subscription_ids(run_cli) == []


def test_without_rc_server_url_listen_runs_an_embedded_simulator_and_says_so(start_listen, clean_env, run_cli):
    listening = start_listen("--json", env=clean_env)
    ready = listening.next_record("ready")
    assert ready["embeddedSimulator"] is True and ready["server"].startswith("http://127.0.0.1:")
    triggered = run_cli("trigger", "presence", env={**clean_env, "RC_SERVER_URL": ready["server"]})
    assert triggered.returncode == 0, triggered.stderr
    assert listening.next_record("notification")["kind"] == "presence"
    code, _, err = listening.stop()
    assert code == 0
    assert "embedded simulator" in err and f"RC_SERVER_URL={ready['server']} rchelpers trigger presence" in err
    assert "Tunnel: local (NGROK_AUTHTOKEN is not set)" in err


def test_secrets_never_reach_the_output(start_listen, standalone_sim):
    listening = start_listen("--json")
    listening.next_record("ready")
    _, rest, err = listening.stop()
    everything = "\n".join(listening.seen) + rest + err
    for name in ("RC_CLIENT_SECRET", "RC_JWT"):
        assert standalone_sim.values[name] not in everything


def test_a_blacklisted_subscription_is_deleted_and_recreated(start_listen, standalone_sim, run_cli):
    # a journal on /dev/full cannot be written: the receiver answers 503 to every notification, so the
    # platform retries and, after 600 simulated seconds of failures, blacklists the subscription
    listening = start_listen("--json", "--journal", "/dev/full", "--check-interval", "0.5")
    ready = listening.next_record("ready")
    assert run_cli("trigger", "presence").returncode == 0
    standalone_sim.advance(700)
    recreated = listening.next_record("recreated")
    assert recreated["previousSubscriptionId"] == ready["subscriptionId"]
    assert recreated["reason"].startswith("was blacklisted (")
    assert _subscription_ids(run_cli) == [recreated["subscriptionId"]]
    assert listening.stop()[0] == 0


def test_a_platform_gone_away_is_named_as_the_platform_not_the_app(start_listen, clean_env, tmp_path):
    with Simulator(seed=3) as sim:
        env_file = tmp_path / "gone.env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in sim.credentials.as_env().items()))
        listening = start_listen(env={**clean_env, "RC_ENV_FILE": str(env_file)})
        listening.next_line(lambda line: line.startswith("Ready"))
    code, rest, err = listening.stop()  # the platform has stopped: deleting the subscription cannot connect
    assert code == 1 and "NOT deleted" in rest
    assert "connection refused or reset (is the platform running?)" in err and "is the app running" not in err
