"""``python -m rchelpers.simulator check URL`` in a subprocess: report, exit status, JSON."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rchelpers.simulator", "check", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_good_receiver_exits_0(webhook_server):
    proc = _check(webhook_server("echo").url, "--burst", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  handshake.echo" in proc.stdout and "Result: all required rules passed." in proc.stdout


def test_broken_receiver_exits_1_and_says_what_to_fix(webhook_server):
    proc = _check(webhook_server("no_echo").url, "--burst", "2", "--verification-token", "vt")
    assert proc.returncode == 1
    assert "FAIL  handshake.echo" in proc.stdout and "What to fix:" in proc.stdout
    assert "WARN  notification.wrong_token" in proc.stdout


def test_json_output(webhook_server):
    proc = _check(webhook_server("status_500").url, "--burst", "2", "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert {r["name"]: r["verdict"] for r in report["results"]}["handshake.status"] == "FAIL"


def test_bad_url_exits_2():
    proc = _check("ftp://example.com/hook")
    assert proc.returncode == 2 and "expected an http:// or https:// URL" in proc.stderr
