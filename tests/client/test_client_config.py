"""Config from the environment and .env files, each bad config's message, and masking."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from rchelpers import Config, ConfigError
from rchelpers.client.config import is_local_host, is_loopback_url

SECRET = "cs-7f3a9b2e1d4c8f6a0b5e"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXZhbHVl"
GOOD = {
    "RC_SERVER_URL": "https://platform.ringcentral.com",
    "RC_CLIENT_ID": "clientid-0123456789",
    "RC_CLIENT_SECRET": SECRET,
    "RC_JWT": JWT,
}


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert JWT not in text
    assert JWT[:20] not in text


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def test_from_environment_only() -> None:
    config = Config.from_env(env_file=None, environ=dict(GOOD))
    assert config.server_url == "https://platform.ringcentral.com"
    assert (config.client_id, config.client_secret, config.jwt) == ("clientid-0123456789", SECRET, JWT)
    assert not config.uses_simulator
    assert not config.is_loopback
    assert config.source == "environment"


def test_from_env_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path / "my.env", GOOD)
    config = Config.from_env(env_file=env_file, environ={})
    assert config.jwt == JWT
    assert config.source == str(env_file)


def test_environment_wins_over_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path / ".env", {**GOOD, "RC_SERVER_URL": "https://file.example.com"})
    config = Config.from_env(env_file=env_file, environ={"RC_SERVER_URL": "http://127.0.0.1:8123"})
    assert config.server_url == "http://127.0.0.1:8123"
    assert config.client_secret == SECRET  # the rest still comes from the file
    assert config.is_loopback
    assert config.source == f"environment + {env_file}"


def test_matching_quotes_in_env_file_are_stripped(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f'{k}="{v}"\n' for k, v in GOOD.items()))
    assert Config.from_env(env_file=env_file, environ={}).client_secret == SECRET


def test_dollar_signs_in_env_file_are_kept(tmp_path: Path) -> None:
    env_file = write_env(tmp_path / ".env", {**GOOD, "RC_CLIENT_SECRET": "ab${HOME}cd$x"})
    assert Config.from_env(env_file=env_file, environ={}).client_secret == "ab${HOME}cd$x"


def test_default_env_file_is_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    write_env(tmp_path / ".env", GOOD)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert Config.from_env(environ={}).jwt == JWT


def test_search_stops_at_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(tmp_path / ".env", GOOD)  # above the project root: not read
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project)
    assert Config.from_env(environ={}).uses_simulator


def test_no_server_url_means_the_simulator() -> None:
    config = Config.from_env(env_file=None, environ={})
    assert config.uses_simulator
    assert config.server_url is None
    assert "embedded simulator" in config.describe()


def test_credentials_without_server_url_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    environ = {k: v for k, v in GOOD.items() if k != "RC_SERVER_URL"}
    with caplog.at_level(logging.WARNING, logger="rchelpers"):
        config = Config.from_env(env_file=None, environ=environ)
    assert config.uses_simulator and config.client_secret == "" and config.jwt == ""
    assert "RC_SERVER_URL" in caplog.text and "RC_CLIENT_SECRET" in caplog.text
    assert_no_secret(caplog.text)


def test_from_mapping_like_simulator_credentials() -> None:
    config = Config.from_mapping({**GOOD, "RC_SERVER_URL": "http://127.0.0.1:5555/"})
    assert config.server_url == "http://127.0.0.1:5555"  # trailing slash dropped
    assert config.is_loopback


def test_repr_str_and_describe_mask_the_secrets() -> None:
    config = Config.from_mapping(GOOD)
    for text in (repr(config), str(config), config.describe(), f"{config}"):
        assert_no_secret(text)
        assert "https://platform.ringcentral.com" in text
    assert f"({len(SECRET)} chars)" in config.describe()  # the secret's length is shown, not its value


def test_config_is_frozen() -> None:
    config = Config.from_mapping(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.jwt = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"RC_JWT": None}, ["RC_JWT", ".env.example", "unset RC_SERVER_URL"]),
        ({"RC_JWT": ""}, ["RC_JWT is not"]),
        ({"RC_CLIENT_ID": None, "RC_CLIENT_SECRET": None}, ["RC_CLIENT_ID, RC_CLIENT_SECRET are not"]),
        ({"RC_SERVER_URL": "platform.ringcentral.com"}, ["http(s) URL", "https://"]),
        ({"RC_SERVER_URL": "ftp://platform.ringcentral.com"}, ["http(s) URL"]),
        ({"RC_SERVER_URL": "https://platform.ringcentral.com/restapi/v1.0"}, ["base URL only", "/restapi"]),
        ({"RC_SERVER_URL": "https://platform.ringcentral.com?x=1"}, ["base URL only"]),
        ({"RC_SERVER_URL": "https://user:pw@platform.ringcentral.com"}, ["user name or password"]),
        ({"RC_SERVER_URL": "https://platform.ringcentral.com:99999"}, ["invalid port"]),
        ({"RC_SERVER_URL": "'https://platform.ringcentral.com'"}, ["RC_SERVER_URL has quotes"]),
        ({"RC_SERVER_URL": '""'}, ["only quotes or spaces"]),
        ({"RC_SERVER_URL": " https://platform.ringcentral.com"}, ["RC_SERVER_URL has spaces"]),
        ({"RC_JWT": JWT + "\n"}, ["RC_JWT has spaces or a line break"]),
        ({"RC_JWT": f'"{JWT}"'}, ["RC_JWT has quotes"]),
        ({"RC_CLIENT_SECRET": f"'{SECRET}'"}, ["RC_CLIENT_SECRET has quotes"]),
        ({"RC_JWT": JWT[:20] + "\n" + JWT[20:]}, ["RC_JWT contains whitespace", "one line"]),
    ],
)
def test_bad_config_gets_a_clear_error(changes: dict[str, str | None], expected: list[str]) -> None:
    environ = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        Config.from_env(env_file=None, environ=environ)
    message = str(info.value)
    for part in expected:
        assert part in message
    assert_no_secret(message)


def test_missing_explicit_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Config.from_env(env_file=tmp_path / "nope.env", environ={})


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="RC_JWT"):
        Config("https://platform.ringcentral.com", "id", SECRET, "")
    assert Config(None).uses_simulator


@pytest.mark.parametrize(
    ("host", "local"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("10.1.2.3", True), ("192.168.0.9", True),
     ("172.20.0.1", True), ("169.254.1.1", True), ("abc.ngrok.app", False), ("8.8.8.8", False)],
)
def test_local_host_detection(host: str, local: bool) -> None:
    assert is_local_host(host) is local


def test_loopback_url_detection() -> None:
    assert is_loopback_url("http://127.0.0.1:8000/x")
    assert is_loopback_url("http://[::1]:8000/x")
    assert not is_loopback_url("http://10.0.0.1:8000/x")
    assert not is_loopback_url("https://platform.ringcentral.com")


# --- RC_ENV_FILE: which env file is read (empty: none, so `make test` stays on the simulator) ---------

LOOPBACK = {**GOOD, "RC_SERVER_URL": "http://127.0.0.1:8123", "RC_JWT": "other.jwt.value"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root whose .env holds real-looking credentials; the current directory is its notebooks/ folder."""
    (tmp_path / "pyproject.toml").write_text("")
    write_env(tmp_path / ".env", GOOD)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_env_file_variable_reads_no_file(project: Path, value: str) -> None:
    config = Config.from_env(environ={"RC_ENV_FILE": value})
    assert config.uses_simulator  # the .env with real credentials was not read
    assert config.source == "defaults"
    with_env = Config.from_env(environ={"RC_ENV_FILE": value, **LOOPBACK})
    assert with_env.jwt == "other.jwt.value" and with_env.source == "environment"  # the environment still counts


def test_env_file_variable_names_the_file_to_read(project: Path) -> None:
    other = write_env(project / "loopback.env", LOOPBACK)
    relative = Config.from_env(environ={"RC_ENV_FILE": "loopback.env"})  # found from notebooks/ like .env
    assert (relative.server_url, relative.jwt) == ("http://127.0.0.1:8123", "other.jwt.value")
    assert relative.source == str(other)
    absolute = Config.from_env(environ={"RC_ENV_FILE": str(other)})
    assert absolute == relative
    assert Config.from_env(environ={}).jwt == JWT  # unset: the default .env, as before


def test_env_file_argument_wins_over_the_variable(project: Path) -> None:
    write_env(project / "loopback.env", LOOPBACK)
    assert Config.from_env(env_file=project / ".env", environ={"RC_ENV_FILE": "loopback.env"}).jwt == JWT
    assert Config.from_env(env_file=None, environ={"RC_ENV_FILE": "loopback.env"}).uses_simulator


def test_env_file_variable_naming_a_missing_file_is_an_error(project: Path) -> None:
    for value in ("nope.env", str(project / "nope.env"), str(project)):  # the last one is a folder
        with pytest.raises(ConfigError) as info:
            Config.from_env(environ={"RC_ENV_FILE": value})
        message = str(info.value)
        assert f"RC_ENV_FILE names the env file {value!r}, which does not exist or is not a file" in message
        assert "set RC_ENV_FILE= (empty) to read the environment only, or unset RC_ENV_FILE to read .env" in message
