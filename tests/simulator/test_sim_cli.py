"""``python -m rchelpers.simulator`` in a subprocess: env file 0600, masked terminal, answers, clean SIGTERM."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import requests

from rchelpers.simulator.__main__ import build_parser, main


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
