"""TokenManager against the simulator over real HTTP: login, facts, refresh, 401 recovery, revoke, cache, masking."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from rchelpers import ApiError, AuthError, Config, ConfigError, RateLimitError, RestClient, TokenManager
from rchelpers.client.http_errors import RetryAfterBudget
from rchelpers.simulator import Simulator

LIST = "/restapi/v1.0/subscription"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a seeded simulator's frozen clock


def raw_get(sim: Simulator, access_token: str) -> requests.Response:
    """A plain request with a given bearer token, outside the client under test."""
    return requests.get(sim.url + LIST, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)


def test_login_gives_token_facts(tokens: TokenManager) -> None:
    assert not tokens.is_logged_in
    assert tokens.facts() == {}
    token = tokens.login()
    assert tokens.is_logged_in
    assert tokens.expires_at == START + timedelta(seconds=3600)
    assert tokens.expires_in == pytest.approx(3600)
    assert tokens.refresh_expires_at == START + timedelta(seconds=604800)
    assert "SubscriptionWebhook" in (tokens.scope or "")
    assert tokens.owner_id and tokens.owner_id.isdigit()
    facts = tokens.facts()
    assert facts["expires_in"] == pytest.approx(3600)
    assert facts["expires_at"].tzinfo is not None
    assert facts["token_type"] == "bearer"
    assert token.access_token not in str(facts)
    assert token.refresh_token and token.refresh_token not in str(facts)


def test_token_reprs_mask_the_tokens(tokens: TokenManager, config: Config, assert_masked: Callable[..., None]) -> None:
    token = tokens.login()
    for text in (repr(token), str(token), repr(tokens), str(tokens.facts()), repr(config)):
        assert_masked(text, token.access_token, token.refresh_token, config.client_secret, config.jwt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.access_token = "x"  # type: ignore[misc]


def test_access_token_logs_in_lazily_and_sends_bearer(sim: Simulator, tokens: TokenManager) -> None:
    header = tokens.authorization_header()
    assert header["Authorization"].startswith("Bearer ")
    assert raw_get(sim, tokens.access_token).status_code == 200


def test_proactive_refresh_within_the_margin(sim: Simulator, tokens: TokenManager) -> None:
    first = tokens.login()
    sim.clock.advance(3600 - 61)
    assert tokens.access_token == first.access_token  # 61 s left: outside the 60 s margin
    sim.clock.advance(2)
    second = tokens.access_token  # 59 s left: refreshed before use
    assert second != first.access_token
    assert tokens.expires_in == pytest.approx(3600)
    assert raw_get(sim, second).status_code == 200
    # the platform invalidated the previous access token at the refresh
    assert raw_get(sim, first.access_token).status_code == 401


def test_401_then_refresh_then_retry(sim: Simulator, config: Config, client_log: pytest.LogCaptureFixture) -> None:
    # This manager uses real time, so it does not know the simulated clock moved past the expiry.
    with TokenManager(config) as tokens:
        client = RestClient(tokens)
        old = tokens.login().access_token
        sim.clock.advance(3700)
        expired = raw_get(sim, old)
        assert expired.status_code == 401 and expired.json()["errors"][0]["errorCode"] == "OAU-128"
        assert client.get(LIST)["records"] == []  # 401 -> refresh -> retried once
        assert tokens.access_token != old
    assert "was refused (401)" in client_log.text


def test_used_refresh_token_is_refused(config: Config, sim: Simulator, tmp_path: Path) -> None:
    cache = tmp_path / "rc.token.json"
    first = TokenManager(config, cache_path=cache, clock=sim.clock.now)
    first.login()
    second = TokenManager(config, cache_path=cache, clock=sim.clock.now)  # same pair, read from the cache
    assert second.token == first.token
    first.refresh()
    with pytest.raises(AuthError) as info:
        second.refresh()
    error = info.value
    assert (error.status, error.error_code) == (400, "OAU-213")
    assert error.body["error"] == "invalid_grant"
    assert "OAU-213" in str(error)


def test_refused_refresh_falls_back_to_the_jwt(config: Config, sim: Simulator, tmp_path: Path,
                                               client_log: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "rc.token.json"
    first = TokenManager(config, cache_path=cache, clock=sim.clock.now)
    first.login()
    second = TokenManager(config, cache_path=cache, clock=sim.clock.now)
    first.refresh()  # spends the refresh token that `second` also holds
    sim.clock.advance(3590)
    fresh = second.access_token  # refresh refused (OAU-213) -> logs in again with the JWT
    assert raw_get(sim, fresh).status_code == 200
    assert "logging in again with the JWT" in client_log.text


def test_revoke_then_401(sim: Simulator, tokens: TokenManager, tmp_path: Path) -> None:
    old = tokens.login().access_token
    assert raw_get(sim, old).status_code == 200
    tokens.revoke()
    assert not tokens.is_logged_in
    answer = raw_get(sim, old)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["errorCode"] == "OAU-149"
    tokens.revoke()  # nothing held: a no-op, no error


def test_revoke_errors_are_logged_not_raised(make_sim: Callable[..., Simulator], tmp_path: Path,
                                            client_log: pytest.LogCaptureFixture) -> None:
    sim = make_sim()
    config = Config.from_mapping(sim.credentials.as_env())
    cache = tmp_path / "rc.token.json"
    TokenManager(config, cache_path=cache).login()
    # same server and client id, so the cached (real) token is reused; the secret is wrong
    refused = TokenManager(dataclasses.replace(config, client_secret="wrong-secret-123456"), cache_path=cache)
    assert refused.is_logged_in
    refused.revoke()  # the platform answers 401 OAU-146: logged, ignored, as the docs say
    assert not refused.is_logged_in
    assert "answered HTTP 401" in client_log.text and "Invalid client credentials" in client_log.text
    unreachable = TokenManager(config)
    unreachable.login()
    sim.stop()
    unreachable.revoke()  # the server is gone: logged, ignored
    assert not unreachable.is_logged_in
    assert "failed (ignored): ConnectionError" in client_log.text


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"client_secret": "wrong-secret-0123456789"}, 401, "OAU-146"),
        ({"client_id": "no-such-client-id"}, 401, "OAU-153"),
        ({"jwt": "eyJub3QiOiJ2YWxpZCJ9.eyJzdWIiOiIxIn0.c2ln"}, 400, "OAU-140"),
    ],
)
def test_login_refusals_become_auth_errors(config: Config, change: dict[str, str], status: int, code: str,
                                           client_log: pytest.LogCaptureFixture,
                                           assert_masked: Callable[..., None]) -> None:
    bad = dataclasses.replace(config, **change)
    with TokenManager(bad) as tokens, pytest.raises(AuthError) as info:
        tokens.login()
    assert (info.value.status, info.value.error_code) == (status, code)
    assert info.value.message
    assert_masked(str(info.value) + repr(info.value) + client_log.text, bad.client_secret, bad.jwt)


def test_simulator_config_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="Simulator"):
        TokenManager(Config(None))


def test_cache_file_mode_0600_and_reuse(sim: Simulator, config: Config, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "rc.token.json"
    first = TokenManager(config, cache_path=cache, clock=sim.clock.now)
    token = first.login()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert [p.name for p in cache.parent.iterdir()] == ["rc.token.json"]  # no temp file left behind
    assert json.loads(cache.read_text())["access_token"] == token.access_token
    reused = TokenManager(config, cache_path=cache, clock=sim.clock.now)
    assert reused.token == token
    assert reused.access_token == token.access_token  # no new login
    first.refresh()  # the new pair replaces the file atomically, still 0600
    assert json.loads(cache.read_text())["access_token"] == first.token.access_token  # type: ignore[union-attr]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    first.revoke()
    assert not cache.exists()


def test_cache_is_ignored_for_another_server_expired_or_loose_mode(sim: Simulator, config: Config, tmp_path: Path,
                                                                   client_log: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "rc.token.json"
    TokenManager(config, cache_path=cache, clock=sim.clock.now).login()
    other = dataclasses.replace(config, server_url="http://127.0.0.1:9")
    assert TokenManager(other, cache_path=cache, clock=sim.clock.now).token is None
    os.chmod(cache, 0o644)
    assert TokenManager(config, cache_path=cache, clock=sim.clock.now).token is None
    assert "readable by others" in client_log.text
    os.chmod(cache, 0o600)
    sim.clock.advance(604800 + 1)
    assert TokenManager(config, cache_path=cache, clock=sim.clock.now).token is None
    cache.write_text("not json")
    assert TokenManager(config, cache_path=cache, clock=sim.clock.now).token is None


def test_cache_name_must_be_git_ignored(config: Config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.token\.json"):
        TokenManager(config, cache_path=tmp_path / "tokens.json")


def test_concurrent_callers_refresh_once(sim: Simulator, tokens: TokenManager,
                                         client_log: pytest.LogCaptureFixture) -> None:
    tokens.login()
    sim.clock.advance(3590)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait(5)
        results.append(tokens.access_token)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4 and len(set(results)) == 1
    grants = [r for r in client_log.records if r.name == "rchelpers.auth" and "grant=refresh_token -> 200" in r.getMessage()]
    assert len(grants) == 1
    assert "refresh refused" not in client_log.text


def test_no_secret_in_any_client_log_line(sim: Simulator, config: Config, tmp_path: Path,
                                          client_log: pytest.LogCaptureFixture, client_text: Callable[[], str],
                                          assert_masked: Callable[..., None]) -> None:
    tokens = TokenManager(config, cache_path=tmp_path / "rc.token.json", clock=sim.clock.now)
    client = RestClient(tokens)
    seen: list[Any] = [tokens.login()]
    client.get(LIST)
    seen.append(tokens.refresh())
    sim.clock.advance(3590)
    client.get(LIST)
    seen.append(tokens.token)
    with pytest.raises(ApiError):
        client.get(LIST + "/missing")
    tokens.revoke()
    text = client_text()
    assert "POST /restapi/oauth/token" in text and "revoked" in text
    secrets = [config.client_secret, config.jwt]
    for token in seen:
        secrets += [token.access_token, token.refresh_token]
    assert_masked(text, *secrets)
    assert_masked(client_log.text, *secrets)  # every logger, the simulator's and urllib3's included


# --- 429 from the token endpoint: waited out as Retry-After asks, within bounds ------------------------

@pytest.fixture
def auth_limited_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory ``auth_limited_sim(auth=(limit, window_s, penalty_s), clock_speed=...)``: a seeded simulator
    whose only rate limit that matters is a tiny Auth group; every one started is stopped."""
    started: list[Simulator] = []

    def factory(auth: tuple[int, float, float], clock_speed: float = 0.0) -> Simulator:
        sim = Simulator(seed=11, clock_speed=clock_speed, rate_limits={"Auth": auth}).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


def auth_log(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rchelpers.auth" and r.levelno == level]


def test_login_and_refresh_wait_out_a_429(auth_limited_sim: Callable[..., Simulator],
                                          caplog: pytest.LogCaptureFixture) -> None:
    # 1 token request per second, Retry-After 1 s, on a clock that flows with real time: about 2 s in all.
    sim = auth_limited_sim(auth=(1, 1.0, 1.0), clock_speed=1.0)
    caplog.set_level(logging.INFO)
    config = Config.from_mapping(sim.credentials.as_env(), source="simulator")
    with TokenManager(config, clock=sim.clock.now) as first, TokenManager(config, clock=sim.clock.now) as second:
        old = first.login()
        new = first.refresh()  # 429 at once: the refused request did not spend the refresh token
        assert new.access_token != old.access_token
        assert raw_get(sim, new.access_token).status_code == 200
        other = second.login()  # 429 again, then logged in
        assert raw_get(sim, other.access_token).status_code == 200
    waits = auth_log(caplog, logging.INFO)
    refresh_wait = "POST /restapi/oauth/token grant=refresh_token -> 429 CMN-301: waiting 1.0 s as Retry-After asks"
    assert any(m.startswith(refresh_wait) for m in waits), waits
    assert any(m.startswith("POST /restapi/oauth/token grant=jwt-bearer -> 429 CMN-301: waiting 1.0 s") for m in waits), waits
    assert not auth_log(caplog, logging.WARNING)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (config.client_secret, config.jwt, old.access_token, old.refresh_token, new.access_token, other.access_token):
        assert secret and secret[:12] not in text


def test_429_past_the_wait_budget_raises_at_once(auth_limited_sim: Callable[..., Simulator],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    sim = auth_limited_sim(auth=(1, 60.0, 60.0))  # frozen clock: Retry-After 60 s, never over by itself
    config = Config.from_mapping(sim.credentials.as_env(), source="simulator")
    with TokenManager(config, clock=sim.clock.now, max_rate_limit_wait=5) as tokens:
        held = tokens.login()
        with pytest.raises(RateLimitError) as info:
            tokens.refresh()  # Retry-After 60 s > 5 s budget: no sleep at all
    error = info.value
    assert (error.status, error.error_code, error.retry_after) == (429, "CMN-301", 60.0)
    assert "gave up after 0 retries and 0 s of waiting (at most 3 retries and 5 s): try again in 60 s" in str(error)
    assert tokens.token == held  # the pair already held is kept, and still works
    assert raw_get(sim, held.access_token).status_code == 200
    assert any("giving up after 0 retries" in m for m in auth_log(caplog, logging.WARNING))


def test_429_past_the_retry_count_raises_after_waiting(auth_limited_sim: Callable[..., Simulator],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    # Frozen clock: the 1 s penalty never ends, so the one retry allowed is refused too (about 1 s).
    sim = auth_limited_sim(auth=(1, 60.0, 1.0))
    caplog.set_level(logging.INFO)
    config = Config.from_mapping(sim.credentials.as_env(), source="simulator")
    TokenManager(config, clock=sim.clock.now).login()
    with TokenManager(config, clock=sim.clock.now, max_retries=1) as tokens:
        with pytest.raises(RateLimitError) as info:
            tokens.login()
        assert not tokens.is_logged_in
    assert info.value.retry_after == 1.0
    assert "gave up after 1 retries and 1 s of waiting (at most 1 retries and 60 s): try again in 1 s" in str(info.value)
    assert len([m for m in auth_log(caplog, logging.INFO) if "waiting 1.0 s as Retry-After asks (retry 1 of at most 1)" in m]) == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_rate_limit_wait", -1, "max_rate_limit_wait must be a number of seconds >= 0"),
        ("max_rate_limit_wait", float("nan"), "max_rate_limit_wait must be a number of seconds >= 0"),
        ("max_rate_limit_wait", float("inf"), "max_rate_limit_wait must be a number of seconds >= 0"),
        ("max_rate_limit_wait", "60", "max_rate_limit_wait must be a number of seconds >= 0"),
        ("max_retries", -1, "max_retries must be an integer >= 0"),
        ("max_retries", 1.5, "max_retries must be an integer >= 0"),
        ("max_retries", True, "max_retries must be an integer >= 0"),
    ],
)
def test_bad_rate_limit_bounds_are_refused(option: str, value: Any, message: str) -> None:
    config = Config("http://127.0.0.1:9", "client-id", "client-secret", "a.jwt.value")  # never contacted
    with pytest.raises(ValueError, match=message):
        TokenManager(config, **{option: value})


def test_a_noticeable_rate_limit_wait_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # A notebook shows WARNING lines: a long pause at the Auth limit must say why it happens.
    caplog.set_level(logging.INFO, logger="rchelpers.client.http_errors")  # RetryAfterBudget's default logger
    error = RateLimitError(429, "CMN-301", "Request rate exceeded")
    error.retry_after = 0.2
    RetryAfterBudget(max_wait=1.0, notice_after=0.1).wait(error, "POST /restapi/oauth/token")
    RetryAfterBudget(max_wait=1.0, notice_after=5.0).wait(error, "POST /restapi/oauth/token")
    levels = [r.levelno for r in caplog.records if "waiting 0.2 s as Retry-After asks" in r.getMessage()]
    assert levels == [logging.WARNING, logging.INFO]
