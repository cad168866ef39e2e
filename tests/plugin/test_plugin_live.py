"""Live mode (--rc-live, @pytest.mark.rc_live): skipped with the reason when RC_* are unset, refusing
simulator-only fixtures in one line, and running against the platform the RC_* variables name (here a
standalone simulator on loopback standing in for the real one)."""
from __future__ import annotations

from typing import Iterator

import pytest

from rchelpers.simulator import Simulator

pytest_plugins = ["pytester"]

TESTS = """
    import os
    import pytest

    def test_client(rc_client, rc_subscriptions, rc_webhook_url, rc_env):
        sub = rc_subscriptions.create(rc_webhook_url, ["/restapi/v1.0/account/~/extension/~/presence"])
        assert sub.is_active and sub.address == rc_webhook_url
        assert os.environ["RC_SERVER_URL"] == rc_client.server_url

    def test_clock(rc_clock):
        pass

    def test_sim(rc_sim):
        pass

    def test_plain():
        pass
"""


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RC_ENV_FILE", "")


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A standalone platform named by the RC_* variables, as a developer's real credentials would."""
    with Simulator(seed=5) as sim:
        for name, value in sim.credentials.as_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("RC_ENV_FILE", "")
        yield sim


@pytest.mark.usefixtures("no_credentials")
def test_live_mode_without_credentials_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--rc-live", "-rs")
    result.assert_outcomes(passed=1, skipped=1, errors=2)
    result.stdout.fnmatch_lines([
        "SKIPPED ?1? *: live mode (--rc-live or @pytest.mark.rc_live) needs RC_SERVER_URL, RC_CLIENT_ID, "
        "RC_CLIENT_SECRET and RC_JWT in the environment or .env; RC_SERVER_URL is not set",
    ])


@pytest.mark.usefixtures("no_credentials")
def test_the_rc_live_marker_makes_one_test_live(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.rc_live
        def test_live(rc_client):
            pass

        def test_simulated(rc_client):
            assert rc_client.config.is_loopback
    """)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED ?1? *: live mode * needs RC_SERVER_URL*"])


def test_live_mode_runs_against_the_named_platform_and_refuses_simulator_fixtures(
        pytester: pytest.Pytester, platform: Simulator) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--rc-live")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines_random([
        "rc_clock exists only on the embedded simulator and this test runs against the real platform "
        "(--rc-live or @pytest.mark.rc_live): the real platform's time cannot be moved: run this test without --rc-live",
        "rc_sim exists only on the embedded simulator and this test runs against the real platform "
        "(--rc-live or @pytest.mark.rc_live): run this test without --rc-live, or write it with rc_config, "
        "rc_client, rc_subscriptions and rc_webhook_url only",
    ])
    assert [s["status"] for s in _subscriptions(platform)] == ["Active"]  # the test's own, on the platform


def test_live_mode_with_half_the_credentials_fails_saying_which_are_missing(
        pytester: pytest.Pytester, platform: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RC_JWT")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--rc-live", "-k", "client")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["--rc-live: RC_SERVER_URL is set but RC_JWT * not *"])
    assert "During handling" not in result.stdout.str() and "Traceback" not in result.stdout.str()


def _subscriptions(sim: Simulator) -> list[dict[str, object]]:
    import json
    import urllib.request

    with urllib.request.urlopen(sim.url + "/_sim/state", timeout=5) as answer:
        return json.loads(answer.read())["subscriptions"]


def test_live_mode_against_a_remote_platform_needs_a_public_tunnel_for_the_webhook(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("RC_SERVER_URL", "https://platform.invalid"), ("RC_CLIENT_ID", "client-id"),
                        ("RC_CLIENT_SECRET", "client-secret"), ("RC_JWT", "a.jwt.value"), ("RC_ENV_FILE", "")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    pytester.makepyfile("""
        def test_webhook(rc_webhook_url, rc_config):
            assert rc_config.server_url == "https://platform.invalid"
    """)
    result = pytester.runpytest("--rc-live", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED ?1? *: live mode: the real platform cannot reach a loopback receiver; "
                                 "set NGROK_AUTHTOKEN so rc_webhook_url is a public ngrok URL"])
