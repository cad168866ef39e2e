"""env_value: the notebooks read NGROK_AUTHTOKEN from the same places as the RC_* variables."""
from __future__ import annotations

from rchelpers import env_value
from rchelpers.client.config import ENV_FILE_VAR


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / "real.env"
    env_file.write_text("NGROK_AUTHTOKEN=from-the-file\n")
    environ = {ENV_FILE_VAR: str(env_file), "NGROK_AUTHTOKEN": "from-the-environment"}
    assert env_value("NGROK_AUTHTOKEN", environ) == "from-the-environment"


def test_the_file_named_by_rc_env_file_is_read(tmp_path):
    env_file = tmp_path / "real.env"
    env_file.write_text("RC_SERVER_URL=https://platform.ringcentral.com\nNGROK_AUTHTOKEN=from-the-file\n")
    assert env_value("NGROK_AUTHTOKEN", {ENV_FILE_VAR: str(env_file)}) == "from-the-file"


def test_the_default_env_file_is_found_from_a_subfolder(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".env").write_text("NGROK_AUTHTOKEN=from-the-project-env\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert env_value("NGROK_AUTHTOKEN", {}) == "from-the-project-env"


def test_unset_empty_or_no_file_is_none(tmp_path):
    env_file = tmp_path / "real.env"
    env_file.write_text("NGROK_AUTHTOKEN=\n")
    assert env_value("NGROK_AUTHTOKEN", {ENV_FILE_VAR: str(env_file)}) is None, "an empty value counts as unset"
    assert env_value("NGROK_AUTHTOKEN", {ENV_FILE_VAR: ""}) is None, "RC_ENV_FILE= reads no file"
    assert env_value("NGROK_AUTHTOKEN", {ENV_FILE_VAR: str(tmp_path / "missing.env")}) is None
    assert env_value("NGROK_AUTHTOKEN", {ENV_FILE_VAR: "", "NGROK_AUTHTOKEN": ""}) is None
