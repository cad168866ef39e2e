"""RestClient against the simulator over real HTTP: JSON calls, error bodies, 429 handling, URL safety."""
from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from rchelpers import ApiError, AuthError, Config, RateLimitError, RestClient, TokenManager
from rchelpers.client.http_errors import parse_retry_after
from rchelpers.simulator import Simulator

LIST = "/restapi/v1.0/subscription"
PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


def webhook_body(address: str, **extra: Any) -> dict[str, Any]:
    return {"eventFilters": [PRESENCE], "deliveryMode": {"transportType": "WebHook", "address": address}, **extra}


def test_json_calls_and_no_body_on_204(client: RestClient, hook: Any) -> None:
    assert client.get(LIST)["records"] == []
    created = client.post(LIST, json=webhook_body(hook.url))
    assert created["status"] == "Active"
    path = f"{LIST}/{created['id']}"
    assert client.get(path)["id"] == created["id"]
    assert client.put(path)["id"] == created["id"]
    assert client.delete(path) is None
    assert client.rate_limit == {}  # rate limits are off in this simulator


def test_relative_and_absolute_urls(client: RestClient, hook: Any) -> None:
    created = client.post("restapi/v1.0/subscription", json=webhook_body(hook.url))  # no leading slash
    assert client.get(created["uri"])["id"] == created["id"]  # the absolute uri the platform gave
    assert client.url_for("/x") == client.server_url + "/x"


def test_token_is_never_sent_to_another_host(client: RestClient) -> None:
    with pytest.raises(ValueError, match="Refusing to send the access token"):
        client.get("https://evil.example.com/restapi/v1.0/subscription")
    with pytest.raises(ValueError):
        client.url_for(client.server_url + ".evil.example.com/x")  # same prefix, another host
    assert not client.tokens.is_logged_in  # refused before any request


def test_put_without_a_body_sends_no_body(client: RestClient, hook: Any) -> None:
    created = client.post(LIST, json=webhook_body(hook.url))
    response = client.request("PUT", f"{LIST}/{created['id']}")
    assert response.status_code == 200
    sent = response.request
    assert sent.body is None
    assert "Content-Type" not in sent.headers
    assert sent.headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "parameter", "words"),
    [
        ("GET", f"{LIST}/no-such-id", {}, 404, "CMN-102", "subscriptionId", "is not found"),
        ("POST", LIST, {"json": webhook_body("http://127.0.0.1:9/x", expiresIn=0)}, 400, "CMN-101", "expiresIn", "invalid"),
        ("POST", LIST, {"json": {"deliveryMode": {"transportType": "WebHook", "address": "http://127.0.0.1:9/x"}}},
         400, "CMN-100", "eventFilters", "required"),
        ("POST", LIST, {"json": {**webhook_body("http://127.0.0.1:9/x"), "eventFilters": ["/restapi/v1.0/bogus"]}},
         400, "SUB-508", "eventFilters", "Invalid event filters"),
        ("POST", LIST, {"data": "{", "headers": {"Content-Type": "application/json"}}, 400, "CMN-103", None, "parsed"),
        ("GET", "/restapi/v1.0/nothing-here", {}, 404, "CMN-120", None, "Invalid URI"),
        ("PATCH", LIST, {}, 405, "CMN-202", None, "not allowed"),
    ],
)
def test_api_error_fields(client: RestClient, method: str, path: str, kwargs: dict[str, Any], status: int,
                          code: str, parameter: str | None, words: str) -> None:
    with pytest.raises(ApiError) as info:
        client.request(method, path, **kwargs)
    error = info.value
    assert type(error) is ApiError
    assert (error.status, error.error_code, error.parameter_name) == (status, code, parameter)
    assert words in error.message
    assert error.method == method and error.url.startswith(client.server_url)
    assert error.body["errors"][0]["errorCode"] == code
    assert f"HTTP {status} {code}" in str(error)


def test_refused_handshake_is_an_api_error(client: RestClient, webhook_server: Callable[..., Any]) -> None:
    silent = webhook_server("no_echo")
    with pytest.raises(ApiError) as info:
        client.post(LIST, json=webhook_body(silent.url))
    assert (info.value.status, info.value.error_code) == (400, "SUB-521")
    assert info.value.message == "WebHook is not reachable"
    assert client.get(LIST)["records"] == []


def test_429_waits_as_retry_after_asks(make_sim: Callable[..., Simulator], client_log: pytest.LogCaptureFixture) -> None:
    # real-time clock, at most 2 light requests per 1 s window, 1 s penalty
    sim = make_sim(clock_speed=1.0, rate_limits={"Light": (2, 1.0, 1.0)})
    with RestClient(Config.from_mapping(sim.credentials.as_env()), max_rate_limit_wait=5.0) as client:
        client.get(LIST)
        assert client.rate_limit == {"group": "light", "limit": "2", "remaining": "1", "window": "1"}
        client.get(LIST)
        assert client.get(LIST)["records"] == []  # the third got 429, waited Retry-After (1 s), then passed
    waits = [r.getMessage() for r in client_log.records if r.name == "rchelpers.rest" and "Retry-After" in r.getMessage()]
    assert len(waits) == 1 and "CMN-301" in waits[0] and "waiting 1.0 s as Retry-After asks" in waits[0]


def test_rate_limit_error_when_the_wait_is_too_long(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(rate_limits={"Light": (1, 60.0, 60.0)})
    with RestClient(Config.from_mapping(sim.credentials.as_env()), max_rate_limit_wait=10.0) as client:
        client.get(LIST)
        with pytest.raises(RateLimitError) as info:
            client.get(LIST)  # Retry-After 60 s is over the 10 s budget: raised at once
    error = info.value
    assert (error.status, error.error_code, error.retry_after) == (429, "CMN-301", 60.0)
    assert isinstance(error, ApiError)


def test_rate_limit_error_after_the_retries(make_sim: Callable[..., Simulator], client_log: pytest.LogCaptureFixture) -> None:
    # frozen clock: the 1 s penalty never ends, so the one allowed retry meets 429 again
    sim = make_sim(rate_limits={"Light": (1, 1.0, 1.0)})
    with RestClient(Config.from_mapping(sim.credentials.as_env()), max_retries=1) as client:
        client.get(LIST)
        with pytest.raises(RateLimitError):
            client.get(LIST)
    assert "giving up after 1 retries and 1.0 s of waiting" in client_log.text


def test_no_retry_when_max_retries_is_zero(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(rate_limits={"Light": (1, 1.0, 1.0)})
    with RestClient(Config.from_mapping(sim.credentials.as_env()), max_retries=0) as client:
        client.get(LIST)
        with pytest.raises(RateLimitError) as info:
            client.get(LIST)
    assert info.value.retry_after == 1.0


def test_token_endpoint_429_is_a_rate_limit_error(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(rate_limits={"Auth": (1, 60.0, 60.0)})
    config = Config.from_mapping(sim.credentials.as_env())
    TokenManager(config).login()
    with pytest.raises(RateLimitError) as info:
        TokenManager(config, max_rate_limit_wait=0).login()  # the 60 s Retry-After is over its budget
    assert info.value.retry_after == 60.0


def test_recovers_when_the_platform_forgot_every_token(sim: Simulator, config: Config,
                                                      client_log: pytest.LogCaptureFixture) -> None:
    client = RestClient(TokenManager(config))
    client.get(LIST)
    sim.reset()  # every token is forgotten: 401 -> refresh refused (OAU-213) -> JWT login -> retried
    assert client.get(LIST)["records"] == []
    assert "OAU-213" in client_log.text and "logging in again with the JWT" in client_log.text


def test_a_server_that_is_not_ringcentral(webhook_server: Callable[..., Any], config: Config) -> None:
    stub = webhook_server("echo")  # answers 200 with an empty body to everything
    wrong = Config(f"http://127.0.0.1:{stub.port}", config.client_id, config.client_secret, config.jwt)
    with pytest.raises(AuthError, match="not JSON"):
        TokenManager(wrong).login()


def test_bad_arguments_are_refused(config: Config) -> None:
    with pytest.raises(TypeError):
        RestClient("http://127.0.0.1:1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RestClient(config, max_retries=-1)


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    assert 100 < (parse_retry_after(format_datetime(later, usegmt=True)) or 0) <= 120


def test_debug_log_has_no_secret(client: RestClient, config: Config, client_log: pytest.LogCaptureFixture,
                                 client_text: Callable[[], str], assert_masked: Callable[..., None]) -> None:
    client.get(LIST)
    token = client.tokens.token
    assert token is not None
    text = client_text()
    assert f"GET {client.server_url}{LIST} -> 200" in text
    assert_masked(text, token.access_token, token.refresh_token, config.client_secret, config.jwt)
