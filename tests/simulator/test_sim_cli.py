"""``python -m rchelpers.simulator`` in a subprocess: env file 0600, masked terminal, answers, clean SIGTERM."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rchelpers.simulator.__main__ import build_parser, main
from rchelpers.simulator.options import option_names, parse_option


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    env_file = tmp_path / "sim.env"
    process = subprocess.Popen([sys.executable, "-m", "rchelpers.simulator", "--env-file", str(env_file), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not env_file.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    return process, env_file


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_standalone_server_writes_env_masks_answers_and_stops_on_sigterm(tmp_path):
    process, env_file = _start(tmp_path, "--seed", "9")
    try:
        assert env_file.exists(), process.stderr.read() if process.poll() is not None else "no env file"
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        env = _read_env(env_file)
        assert list(env) == ["RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT"]
        token = requests.post(env["RC_SERVER_URL"] + "/restapi/oauth/token",
                              data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                    "assertion": env["RC_JWT"]},
                              auth=(env["RC_CLIENT_ID"], env["RC_CLIENT_SECRET"]), timeout=5)
        assert token.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert env["RC_SERVER_URL"] in out and env["RC_CLIENT_ID"] in out
    assert env["RC_CLIENT_SECRET"] not in out + err and env["RC_JWT"] not in out + err
    assert "RC_CLIENT_SECRET=" + env["RC_CLIENT_SECRET"][:4] + "…" in out
    assert "simulator stopped" in out


def test_sigint_also_stops_cleanly_and_an_existing_env_file_is_tightened(tmp_path):
    env_file = tmp_path / "sim.env"
    env_file.write_text("OLD=1\n")
    env_file.chmod(0o644)
    before = env_file.stat().st_mtime_ns
    process, _ = _start(tmp_path)
    try:
        deadline = time.monotonic() + 15
        while env_file.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        assert "OLD" not in env_file.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_bad_arguments_exit_with_a_clear_message(capsys):
    assert main(["--clock-speed", "-1"]) == 2
    assert "speed must be >= 0" in capsys.readouterr().err


def test_parser_defaults_to_serve():
    args = build_parser().parse_args(["serve", "--port", "0"])
    assert args.command == "serve" and args.port == 0 and args.host == "127.0.0.1"


def test_an_unusable_webhook_ca_file_exits_with_what_to_pass(tmp_path, capsys):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    assert main(["--webhook-ca-file", str(not_pem)]) == 2
    assert "pass a PEM file" in capsys.readouterr().err


def test_options_set_on_the_command_line_reach_the_platform(tmp_path, webhook_server, unreachable_url):
    hook = webhook_server("echo")
    process, env_file = _start(tmp_path, "--seed", "3", "--option", "duplicate-rate=1", "--option", "reorder_window=0",
                               "--option", "permissions=ReadPresence,SubscriptionWebhook",
                               "--option", "handshake_errors=legacy", "--option", "rate_limits=null")
    try:
        assert env_file.exists(), process.stderr.read() if process.poll() is not None else "no env file"
        env = _read_env(env_file)
        base = env["RC_SERVER_URL"]
        token = requests.post(base + "/restapi/oauth/token",
                              data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": env["RC_JWT"]},
                              auth=(env["RC_CLIENT_ID"], env["RC_CLIENT_SECRET"]), timeout=5).json()
        assert token["scope"] == "ReadPresence SubscriptionWebhook"  # permissions=
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        presence = "/restapi/v1.0/account/~/extension/~/presence"

        def create(address):
            body = {"eventFilters": [presence], "deliveryMode": {"transportType": "WebHook", "address": address}}
            return requests.post(base + "/restapi/v1.0/subscription", json=body, headers=bearer, timeout=10)

        assert create(unreachable_url).json()["errorCode"] == "CMN-101"  # handshake_errors=legacy
        assert create(hook.url).status_code == 200
        sent = requests.post(base + "/_sim/events", json={"kind": "presence"}, timeout=10).json()
        uuid = sent["notifications"][0]["uuid"]
        deliveries = requests.get(base + "/_sim/deliveries", timeout=5).json()["records"]
        assert [d["uuid"] for d in deliveries] == [uuid, uuid]  # duplicate_rate=1: every notification twice
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert ("options: rate_limits=None, permissions=('ReadPresence', 'SubscriptionWebhook'), "
            "handshake_errors='legacy', duplicate_rate=1") in out  # the ones that differ from the defaults


@pytest.mark.parametrize("text, expected", [
    ("duplicate_rate=0.25", ("duplicate_rate", 0.25)),
    ("reorder-window=5", ("reorder_window", 5)),
    ("handshake_errors=legacy", ("handshake_errors", "legacy")),
    ('handshake_errors="observed"', ("handshake_errors", "observed")),
    ("permissions=ReadPresence, SubscriptionWebhook", ("permissions", ["ReadPresence", "SubscriptionWebhook"])),
    ('permissions=["CallControl"]', ("permissions", ["CallControl"])),
    ("retry_schedule=1,5", ("retry_schedule", [1, 5])),
    ("retry_schedule=30", ("retry_schedule", [30])),
    ("retry_schedule=[1, 5]", ("retry_schedule", [1, 5])),
    ("blacklist_reactivation=null", ("blacklist_reactivation", None)),
    ('rate_limits={"Auth": [1, 60, 60]}', ("rate_limits", {"Auth": [1, 60, 60]})),
])
def test_an_option_is_read_as_json_or_text(text, expected):
    assert parse_option(text) == expected


@pytest.mark.parametrize("argv, message", [
    (["--option", "dupe=1"], "unknown simulator option 'dupe'; options: validation_timeout, "),
    (["--option", "duplicate_rate"], "expected NAME=VALUE such as duplicate_rate=0.1, got 'duplicate_rate'"),
    (["--option", "duplicate_rate=2"], "duplicate_rate must be a number from 0 to 1, got 2"),
    (["--option", "handshake_errors=strict"], "handshake_errors must be 'observed' or 'legacy', got 'strict'"),
    (["--option", "permissions=Read-Presence"], "'Read-Presence' is not a permission name"),
    (["--option", "retry_schedule=1,x"], "retry_schedule must be a number of seconds > 0, got 'x'"),
])
def test_a_bad_option_exits_2_saying_what_is_expected(argv, message, capsys):
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse refuses the NAME=VALUE itself
        status = stop.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_the_help_names_every_simulator_option(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "NAME is one of: " + ", ".join(option_names()) in help_text
