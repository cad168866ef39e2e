"""The other commands as subprocesses: help, sim, check, trigger, subscriptions, deliveries, replay, colour
(trigger's scenarios and the clock: test_cli_trigger.py)."""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rchelpers import WebhookReceiver

COMMANDS = [["sim"], ["check"], ["listen"], ["trigger"], ["clock"], ["clock", "advance"], ["deliveries"], ["replay"],
            ["subscriptions"],
            ["subscriptions", "list"], ["subscriptions", "get"], ["subscriptions", "renew"], ["subscriptions", "delete"]]


@pytest.mark.parametrize("command", [[]] + COMMANDS, ids=lambda c: " ".join(c) or "rchelpers")
def test_every_command_has_help_with_an_example(run_cli, clean_env, command):
    result = run_cli(*command, "--help", env=clean_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rchelpers") and "example" in result.stdout.lower()


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "rchelpers"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "rchelpers listen" in result.stdout


def test_sim_runs_the_standalone_simulator_until_sigterm(tmp_path, clean_env):
    env_file = tmp_path / "s.env"
    process = subprocess.Popen([sys.executable, "-m", "rchelpers", "sim", "--port", "0", "--seed", "3",
                                "--env-file", str(env_file)], env=clean_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not env_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert list(values) == ["RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert values["RC_SERVER_URL"] in out and values["RC_JWT"] not in out + err and "simulator stopped" in out


def test_check_passes_a_good_receiver_and_fails_an_absent_one(run_cli, clean_env, tmp_path):
    with WebhookReceiver(journal=False) as receiver:
        good = run_cli("check", receiver.url, "--json", env=clean_env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["ok"] is True
    bad = run_cli("check", receiver.url, env=clean_env)  # stopped: nothing listens there now
    assert bad.returncode == 1 and "Result:" in bad.stdout
    usage = run_cli("check", "not-a-url", env=clean_env)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1


def test_trigger_without_a_listener_says_nothing_matched(run_cli):
    result = run_cli("trigger", "presence")
    assert result.returncode == 0, result.stderr
    assert "no Active webhook subscription matches it" in result.stdout


def test_trigger_sets_typed_fields(start_listen, run_cli):
    listening = start_listen("--json")
    listening.next_record("ready")
    result = run_cli("trigger", "presence", "--set", "sequence=42", "--set", "allowSeeMyPresence=false",
                     "--set", "telephonyStatus=OnHold", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)["body"]
    assert body["sequence"] == 42 and body["allowSeeMyPresence"] is False and body["telephonyStatus"] == "OnHold"
    assert listening.next_record("notification")["notification"]["body"]["sequence"] == 42
    listening.stop()


def test_subscriptions_list_get_renew_delete(start_listen, run_cli, standalone_sim):
    listening = start_listen("--json", "--expires-in", "900", "--reminder", "300,120")
    sub_id = listening.next_record("ready")["subscriptionId"]

    table = run_cli("subscriptions", "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:3] == ["id", "status", "transport"] and row.split()[:3] == [sub_id, "Active", "WebHook"]

    got = run_cli("subscriptions", "get", sub_id, "--json")
    assert got.returncode == 0 and json.loads(got.stdout)["id"] == sub_id

    standalone_sim.advance(100)
    before = json.loads(run_cli("subscriptions", "get", sub_id, "--json").stdout)["expiresIn"]
    renewed = run_cli("subscriptions", "renew", sub_id)
    assert renewed.returncode == 0, renewed.stderr
    assert renewed.stdout.startswith(f"Renewed subscription {sub_id} (PUT, no body): expires in 900 s.")
    assert before == 800

    deleted = run_cli("subscriptions", "delete", sub_id, "--json")
    assert deleted.returncode == 0 and json.loads(deleted.stdout) == {"deleted": sub_id}
    assert json.loads(run_cli("subscriptions", "list", "--json").stdout) == []
    assert run_cli("subscriptions", "list").stdout.strip() == "No subscriptions."

    missing = run_cli("subscriptions", "get", sub_id)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "HTTP 404 CMN-102" in missing.stderr and "rchelpers subscriptions list" in missing.stderr
    listening.stop()


def test_deliveries_and_replay(start_listen, run_cli):
    listening = start_listen("--json")
    sub_id = listening.next_record("ready")["subscriptionId"]
    sent = json.loads(run_cli("trigger", "presence", "--json").stdout)["notifications"][0]
    listening.next_record("notification")

    records = json.loads(run_cli("deliveries", "--json").stdout)
    assert [(r["uuid"], r["subscriptionId"], r["ok"], r["replay"]) for r in records] == [(sent["uuid"], sub_id, True, False)]
    table = run_cli("deliveries").stdout.splitlines()
    assert table[0].split()[:2] == ["id", "simulated"] and sent["uuid"] in table[1] and "ok 200" in table[1]

    replayed = run_cli("replay", str(records[0]["id"]))
    assert replayed.returncode == 0, replayed.stderr
    assert f"Replayed notification {sent['uuid']} (presence) to subscription {sub_id}" in replayed.stdout
    again = json.loads(run_cli("deliveries", "--uuid", sent["uuid"], "--json").stdout)
    assert [r["replay"] for r in again] == [False, True] and all(r["ok"] for r in again)

    unknown = run_cli("replay", "999")
    assert unknown.returncode == 1 and "no delivery '999'" in unknown.stderr and unknown.stderr.count("\n") == 1
    code, rest, _ = listening.stop()
    assert code == 0 and '"notifications":1' in rest  # the replay has the same uuid: acknowledged, not stored twice


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run ``python -m rchelpers ARGS`` with stdout on a pseudo-terminal; returns what it wrote there."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "rchelpers", *args], env=env, stdout=follower,
                                   stderr=subprocess.PIPE)
        os.close(follower)
        chunks = []
        deadline = time.monotonic() + 30
        while select.select([leader], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        try:
            process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise AssertionError(f"rchelpers {' '.join(args)} did not end within 30 s") from None
        finally:
            process.stderr.close()  # type: ignore[union-attr]
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(start_listen, run_cli, cli_env):
    listening = start_listen()
    listening.next_line(lambda line: line.startswith("Ready"))  # piped: no colour
    assert "\033[" not in "".join(listening.seen)
    assert "\033[1m" in _run_on_a_terminal(["subscriptions", "list"], cli_env)
    assert "\033[" not in _run_on_a_terminal(["subscriptions", "list"], {**cli_env, "NO_COLOR": "1"})
    assert "\033[" not in _run_on_a_terminal(["subscriptions", "list", "--json"], cli_env)
    listening.stop()
