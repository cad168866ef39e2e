"""Bad input gets one line on stderr that says what to do, and the exit status (2 usage, 1 failure)."""
from __future__ import annotations

import json
import socket
import stat
import sys
from pathlib import Path

import pytest

USAGE = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["listen", "--filter", "presence"], "argument --filter: an event filter is a path such as /restapi/v1.0/"),
    (["listen", "--reminder", "600"], "argument --reminder: expected THRESHOLD,INTERVAL in whole seconds such as 600,120"),
    (["listen", "--reminder", "1000,100", "--expires-in", "600"], "threshold=1000 is more than half the subscription lifetime"),
    (["listen", "--expires-in", "-5"], "argument --expires-in: expected a whole number of seconds > 0"),
    (["listen", "--forward-to", "localhost:5000"], "argument --forward-to: expected your app's http(s) URL"),
    (["trigger", "presence", "--set", "telephonyStatus"], "expected NAME=VALUE such as telephonyStatus=Ringing"),
    (["clock", "advance", "-5"], "argument SECONDS: expected a number of seconds >= 0"),
    (["subscriptions", "rename", "x"], "invalid choice: 'rename'"),
    (["subscriptions", "get"], "the following arguments are required: ID"),
]


def _one_line_error(stderr: str, prog: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prog) and ": error: " in lines[0]
    return lines[0]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors_exit_2_with_one_line(run_cli, clean_env, args, message):
    result = run_cli(*args, env=clean_env)
    assert result.returncode == 2
    assert message in _one_line_error(result.stderr, "rchelpers" if args[0] == "frobnicate" else "rchelpers " + args[0])
    assert result.stdout == ""


def test_a_filter_the_platform_refuses_exits_2_and_leaves_nothing_behind(run_cli):
    result = run_cli("listen", "--filter", "/restapi/v1.0/account/~/extension/~/no-such-thing")
    assert result.returncode == 2
    line = _one_line_error(result.stderr.splitlines()[-1] + "\n", "rchelpers listen")
    assert "the platform refused the event filters (HTTP 400 SUB-508" in line and "fix --filter" in line
    assert json.loads(run_cli("subscriptions", "list", "--json").stdout) == []


def test_an_unreachable_forward_target_exits_1_before_subscribing(run_cli):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    result = run_cli("listen", "--forward-to", f"http://127.0.0.1:{port}/hook")
    assert result.returncode == 1
    line = _one_line_error(result.stderr, "rchelpers listen")
    assert f"cannot reach --forward-to http://127.0.0.1:{port}/hook (connection refused): start your app first" in line
    assert json.loads(run_cli("subscriptions", "list", "--json").stdout) == []


def test_missing_credentials_exit_1_naming_them(run_cli, clean_env):
    env = {**clean_env, "RC_SERVER_URL": "http://127.0.0.1:9", "RC_CLIENT_ID": "abc", "RC_CLIENT_SECRET": "s3cret-value"}
    for command in (["listen"], ["subscriptions", "list"]):
        result = run_cli(*command, env=env)
        assert result.returncode == 1
        line = _one_line_error(result.stderr, "rchelpers " + command[0])
        assert "RC_SERVER_URL is set but RC_JWT is not" in line and "Add RC_JWT=..." in line
        assert "s3cret-value" not in result.stderr


def test_nothing_configured_says_to_start_the_simulator(run_cli, clean_env):
    for command in (["subscriptions", "list"], ["trigger", "presence"], ["deliveries"], ["replay", "1"], ["clock"],
                    ["clock", "advance", "90"]):
        result = run_cli(*command, env=clean_env)
        assert result.returncode == 1
        line = _one_line_error(result.stderr, "rchelpers " + command[0])
        assert "RC_SERVER_URL is not set" in line
        assert "rchelpers sim --env-file .env.sim" in line and "RC_ENV_FILE=.env.sim" in line
        if command[0] != "subscriptions":  # the real platform has no triggers, clock or delivery log
            assert "real platform" not in line


def test_a_missing_env_file_is_named(run_cli, clean_env, tmp_path):
    result = run_cli("subscriptions", "list", env={**clean_env, "RC_ENV_FILE": str(tmp_path / "nope.env")})
    assert result.returncode == 1
    assert "RC_ENV_FILE names the env file" in _one_line_error(result.stderr, "rchelpers subscriptions")


def test_wrong_credentials_exit_1_with_the_platforms_refusal(run_cli, cli_env, standalone_sim):
    env = {**cli_env, **standalone_sim.values, "RC_JWT": "not-a-jwt-" + "x" * 20, "RC_ENV_FILE": ""}
    result = run_cli("subscriptions", "list", env=env)
    assert result.returncode == 1
    line = _one_line_error(result.stderr.splitlines()[-1] + "\n", "rchelpers subscriptions")
    assert "OAU-140" in line and "x" * 20 not in result.stderr


def test_a_bad_field_is_refused_by_the_simulator(run_cli):
    result = run_cli("trigger", "presence", "--set", "telephonyStatus=Dancing")
    assert result.returncode == 1
    assert "telephonyStatus" in _one_line_error(result.stderr, "rchelpers trigger")


def test_trigger_against_a_server_that_is_not_the_simulator_names_the_real_platforms_limit(run_cli, clean_env,
                                                                                               webhook_server):
    not_a_simulator = webhook_server("status_404")
    origin = not_a_simulator.url.rsplit("/", 1)[0]
    result = run_cli("trigger", "presence", env={**clean_env, "RC_SERVER_URL": origin})
    assert result.returncode == 1
    line = _one_line_error(result.stderr, "rchelpers trigger")
    assert "is not the simulator" in line and "cannot trigger sample events: make a real call" in line
    unreachable = run_cli("deliveries", env={**clean_env, "RC_SERVER_URL": "http://127.0.0.1:9"})
    assert unreachable.returncode == 1
    assert "cannot reach the platform at http://127.0.0.1:9" in _one_line_error(unreachable.stderr, "rchelpers deliveries")


FAKE_NGROK = Path(__file__).resolve().parents[1] / "receiver" / "fake_ngrok.py"
NGROK_TOKEN = "2abcDEFfakeNgrokToken_0123456789xyz"


def _fake_ngrok_env(cli_env: dict[str, str], tmp_path: Path, mode: str) -> dict[str, str]:
    """``cli_env`` with an ngrok token and pyngrok pointed at the fake agent in ``mode`` (HOME in ``tmp_path``)."""
    agent = tmp_path / f"ngrok-{mode}"
    agent.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_NGROK}" {mode} "{tmp_path / "calls.jsonl"}" "$@"\n')
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)
    return {**cli_env, "NGROK_AUTHTOKEN": NGROK_TOKEN, "PYNGROK_NGROK_PATH": str(agent), "HOME": str(tmp_path)}


def test_a_refused_ngrok_token_is_one_line_without_the_token(run_cli, cli_env, tmp_path):
    result = run_cli("listen", env=_fake_ngrok_env(cli_env, tmp_path, "bad_token"))
    assert result.returncode == 1
    assert "Opening an ngrok tunnel" in result.stderr  # the progress line of the wait
    line = _one_line_error(result.stderr.splitlines()[-1] + "\n", "rchelpers listen")
    assert "ngrok refused the auth token" in line and "NGROK_AUTHTOKEN" in line
    assert NGROK_TOKEN not in result.stderr + result.stdout
    assert json.loads(run_cli("subscriptions", "list", "--json").stdout) == []


def test_a_receiver_the_platform_cannot_validate_points_at_check(run_cli, cli_env, tmp_path):
    # the fake agent opens a "public" URL that leads nowhere: the simulator's handshake fails
    result = run_cli("listen", env=_fake_ngrok_env(cli_env, tmp_path, "ok"))
    assert result.returncode == 1
    assert "Tunnel: ngrok https://" in result.stderr
    line = _one_line_error(result.stderr.splitlines()[-1] + "\n", "rchelpers listen")
    assert "the platform could not validate the receiver at https://" in line and "rchelpers check https://" in line
    assert NGROK_TOKEN not in result.stderr + result.stdout
    assert json.loads(run_cli("subscriptions", "list", "--json").stdout) == []


def test_the_real_platform_is_named_without_asking_it(run_cli, clean_env):
    env = {**clean_env, "RC_SERVER_URL": "https://platform.ringcentral.com"}
    for command, limit in ((["trigger", "presence"], "cannot trigger sample events: make a real call"),
                           (["deliveries"], "has no delivery log or replay"), (["replay", "1"], "has no delivery log"),
                           (["clock", "advance", "90"], "has no clock to move: its time is the real time")):
        result = run_cli(*command, env=env)
        assert result.returncode == 1
        line = _one_line_error(result.stderr, "rchelpers " + command[0])
        assert f"RC_SERVER_URL is https://platform.ringcentral.com, the real platform, which {limit}" in line
