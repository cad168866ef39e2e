"""open_tunnel through the real pyngrok code path, against a fake ngrok agent on loopback.

The fake agent (``fake_ngrok.py``) is started by pyngrok through a wrapper script generated in
``tmp_path``; pyngrok's config file also lives in ``tmp_path`` (never ``~/.config/ngrok``), and every
agent is killed at teardown.
"""
from __future__ import annotations

import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
from pyngrok import conf, installer, ngrok, process
from pyngrok.exception import PyngrokNgrokInstallError

from rchelpers import Tunnel, TunnelError, open_tunnel
from rchelpers.receiver.tunnel import LOCAL_ONLY_WARNING

FAKE_AGENT = Path(__file__).with_name("fake_ngrok.py")
TOKEN = "2abcDEFfakeNgrokToken_0123456789xyz"


class FakeAgent:
    """A generated ``ngrok`` executable that runs the fake agent in one mode, and what it was called with."""

    def __init__(self, folder: Path, mode: str) -> None:
        self.path = folder / f"ngrok-{mode}"
        self.record = folder / f"ngrok-{mode}.calls.jsonl"
        self.path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_AGENT}" {mode} "{self.record}" "$@"\n')
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)
        self.config = conf.PyngrokConfig(ngrok_path=str(self.path), config_path=str(folder / "ngrok.yml"),
                                         startup_timeout=5, request_timeout=3)

    def calls(self) -> list[list[str]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def fake_agent(tmp_path, monkeypatch) -> Iterator[Callable[[str], FakeAgent]]:
    """Factory ``fake_agent(mode) -> FakeAgent``; kills every agent at teardown."""
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    monkeypatch.delenv("PYNGROK_NGROK_PATH", raising=False)
    made: list[FakeAgent] = []

    def factory(mode: str = "ok") -> FakeAgent:
        agent = FakeAgent(tmp_path, mode)
        made.append(agent)
        return agent

    yield factory
    for agent in made:
        ngrok.kill(pyngrok_config=agent.config)
        assert not process.is_process_running(agent.config.ngrok_path)


def test_without_a_token_the_tunnel_is_local_and_says_so(make_receiver, monkeypatch, caplog):
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    rx = make_receiver()
    with caplog.at_level(logging.WARNING, logger="rchelpers.tunnel"):
        tunnel = open_tunnel(rx)
    assert tunnel.provider == "local" and not tunnel.is_public
    assert tunnel.public_url == tunnel.local_url == rx.url
    assert tunnel.warning == LOCAL_ONLY_WARNING and "cannot" in tunnel.warning
    assert LOCAL_ONLY_WARNING in caplog.text
    tunnel.close()
    assert tunnel.closed


def test_connect_list_disconnect_and_kill(make_receiver, fake_agent, caplog):
    agent = fake_agent("ok")
    rx = make_receiver(auth_token="query-secret-987654")
    caplog.set_level(logging.DEBUG)
    tunnel = open_tunnel(rx, authtoken=TOKEN, region="eu", pyngrok_config=agent.config)
    assert tunnel.provider == "ngrok" and tunnel.is_public
    assert tunnel.public_url.startswith("https://") and ".ngrok-free.app/webhook?auth_token=" in tunnel.public_url
    assert tunnel.local_url == rx.url
    # pyngrok started the agent as TOOLCHAIN.md §3 describes
    start = next(call for call in agent.calls() if call[:1] == ["start"])
    assert start[:4] == ["start", "--none", "--log", "stdout"]
    assert start[start.index("--config") + 1] == agent.config.config_path
    assert start[start.index("--authtoken") + 1] == TOKEN
    assert start[start.index("--region") + 1] == "eu"
    # list: the agent knows the endpoint and its upstream is the receiver
    [listed] = ngrok.get_tunnels(pyngrok_config=tunnel._pyngrok_config)
    assert listed.upstream["url"] == f"http://127.0.0.1:{rx.port}"
    assert tunnel.public_url.startswith(listed.public_url)
    # no secret in the repr or the logs
    assert TOKEN not in repr(tunnel) and "query-secret-987654" not in repr(tunnel)
    assert TOKEN not in caplog.text
    # disconnect, then kill since no endpoint is left
    tunnel.close()
    assert tunnel.closed
    assert not process.is_process_running(agent.config.ngrok_path)
    tunnel.close()  # idempotent


def test_closing_one_of_two_tunnels_keeps_the_agent(make_receiver, fake_agent):
    agent = fake_agent("ok")
    first = open_tunnel(make_receiver(), authtoken=TOKEN, pyngrok_config=agent.config)
    second = open_tunnel(make_receiver(), authtoken=TOKEN, pyngrok_config=agent.config)
    assert first.public_url != second.public_url
    assert len([call for call in agent.calls() if call[:1] == ["start"]]) == 1, "one agent serves both"
    first.close()
    assert process.is_process_running(agent.config.ngrok_path)
    assert len(ngrok.get_tunnels(pyngrok_config=second._pyngrok_config)) == 1
    second.close()
    assert not process.is_process_running(agent.config.ngrok_path)


def test_token_from_the_environment_and_a_bare_port(fake_agent, monkeypatch):
    agent = fake_agent("ok")
    monkeypatch.setenv("NGROK_AUTHTOKEN", TOKEN)
    with open_tunnel(8765, pyngrok_config=agent.config) as tunnel:
        assert tunnel.local_url == "http://127.0.0.1:8765"
        assert tunnel.public_url.startswith("https://") and tunnel.public_url.endswith(".ngrok-free.app")
    assert tunnel.closed
    assert not process.is_process_running(agent.config.ngrok_path)


def test_ngrok_path_argument_is_honoured(tmp_path, fake_agent):
    agent = fake_agent("ok")
    base = conf.PyngrokConfig(ngrok_path=str(tmp_path / "not-used"), config_path=agent.config.config_path)
    with open_tunnel(8765, authtoken=TOKEN, ngrok_path=str(agent.path), pyngrok_config=base) as tunnel:
        assert tunnel.is_public
        assert agent.calls(), "the fake agent given as ngrok_path was started"
    assert base.ngrok_path == str(tmp_path / "not-used"), "the caller's config is not changed"


def test_bad_token_is_one_clear_error_without_the_token(fake_agent, caplog):
    agent = fake_agent("bad_token")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TunnelError) as caught:
        open_tunnel(8765, authtoken=TOKEN, pyngrok_config=agent.config)
    message = str(caught.value)
    assert "refused the auth token" in message and "NGROK_AUTHTOKEN" in message
    assert "ERR_NGROK_105" in message
    assert TOKEN not in message and TOKEN not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert TOKEN not in caplog.text
    assert "2abc" in message, "the token is shown masked"
    assert not process.is_process_running(agent.config.ngrok_path)


def test_agent_that_exits_at_once(fake_agent):
    agent = fake_agent("exit")
    with pytest.raises(TunnelError, match="exited or did not finish starting"):
        open_tunnel(8765, authtoken=TOKEN, pyngrok_config=agent.config)


def test_agent_without_network(fake_agent):
    agent = fake_agent("no_network")
    with pytest.raises(TunnelError, match="could not reach ngrok's servers"):
        open_tunnel(8765, authtoken=TOKEN, pyngrok_config=agent.config)


def test_agent_start_timeout(fake_agent):
    agent = fake_agent("hang")
    agent.config.startup_timeout = 1
    with pytest.raises(TunnelError, match="within 1 s"):
        open_tunnel(8765, authtoken=TOKEN, pyngrok_config=agent.config)
    assert not process.is_process_running(agent.config.ngrok_path)


def test_missing_binary_is_not_downloaded_silently(tmp_path, monkeypatch):
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("pyngrok must not download the agent without allow_download=True")

    monkeypatch.setattr(installer, "install_ngrok", no_download)
    missing = tmp_path / "nowhere" / "ngrok"
    config = conf.PyngrokConfig(config_path=str(tmp_path / "ngrok.yml"))
    with pytest.raises(TunnelError) as caught:
        open_tunnel(8765, authtoken=TOKEN, ngrok_path=str(missing), pyngrok_config=config)
    message = str(caught.value)
    assert str(missing) in message and "allow_download=True" in message and "ngrok_path" in message
    assert TOKEN not in message
    assert not missing.parent.exists()


def test_allowed_download_that_fails_is_a_tunnel_error(tmp_path, monkeypatch):
    def failing_download(*args, **kwargs):
        raise PyngrokNgrokInstallError(f"An error occurred while downloading ngrok: Name or service not known "
                                       f"(token {TOKEN})")

    monkeypatch.setattr(installer, "install_ngrok", failing_download)
    config = conf.PyngrokConfig(ngrok_path=str(tmp_path / "ngrok"), config_path=str(tmp_path / "ngrok.yml"))
    with pytest.raises(TunnelError, match="downloading the ngrok agent failed") as caught:
        open_tunnel(8765, authtoken=TOKEN, pyngrok_config=config, allow_download=True)
    assert TOKEN not in str(caught.value)


def test_bad_targets(monkeypatch):
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    with pytest.raises(TypeError):
        open_tunnel("8000")
    with pytest.raises(ValueError):
        open_tunnel(0)
    assert os.environ.get("NGROK_AUTHTOKEN") is None


def test_fake_agent_answers_version_and_add_authtoken(fake_agent):
    agent = fake_agent("ok")
    assert ngrok.get_version(pyngrok_config=agent.config)[0] == "3.99.0-fake"
    ngrok.set_auth_token(TOKEN, pyngrok_config=agent.config)
    assert ["config", "add-authtoken", TOKEN, "--log", "stdout", "--config", agent.config.config_path] in agent.calls()


def test_an_ngrok_tunnel_built_by_hand_needs_the_agent_url():
    with pytest.raises(ValueError, match="needs ngrok_url"):
        Tunnel("https://x.ngrok.app/webhook", "http://127.0.0.1:8000/webhook", "ngrok")
