"""Credentials and the server URL, read from the environment and an optional ``.env`` file.

Four variables, as in ``.env.example``::

    RC_SERVER_URL     https://platform.ringcentral.com (unset: use the embedded simulator)
    RC_CLIENT_ID      the app's client id
    RC_CLIENT_SECRET  the app's client secret
    RC_JWT            the user's JWT credential

and one that says where they are kept::

    RC_ENV_FILE       the env file to read instead of .env; empty: read no file (the environment only)

No ``RC_SERVER_URL`` means "use the embedded simulator": :meth:`Config.from_env` then returns a
config whose ``server_url`` is ``None``; the caller starts a simulator and builds the real config from
its credentials::

    config = Config.from_env()
    if config.uses_simulator:
        sim = Simulator().start()
        config = Config.from_mapping(sim.credentials.as_env())
"""
from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from rchelpers.errors import ConfigError
from rchelpers.masking import mask

__all__ = ["Config", "DEFAULT_ENV_FILE", "ENV_FILE_VAR", "ENV_VARS", "env_value", "is_loopback_url", "is_local_host"]

log = logging.getLogger("rchelpers.config")  # logger names stay the short public ones users configure

DEFAULT_ENV_FILE = ".env"
#: Names the env file that :meth:`Config.from_env` reads instead of the default; empty: no file is read.
ENV_FILE_VAR = "RC_ENV_FILE"

#: The variables read by :meth:`Config.from_env`, in the order they are reported.
ENV_VARS = ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT")
_CREDENTIAL_VARS = ("RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT")
_SECRET_VARS = ("RC_CLIENT_SECRET", "RC_JWT")
_QUOTES = "\"'"


@dataclass(frozen=True, repr=False)
class Config:
    """Where the platform is and the app's credentials; immutable, and its repr masks the secrets.

    ``server_url`` is ``None`` when the embedded simulator is meant (``RC_SERVER_URL`` unset).
    """

    server_url: str | None
    client_id: str = ""
    client_secret: str = ""
    jwt: str = ""
    source: str = field(default="arguments", compare=False)

    def __post_init__(self) -> None:
        if self.server_url is not None:
            object.__setattr__(self, "server_url", _check_server_url(self.server_url))
            for name, value in zip(_CREDENTIAL_VARS, (self.client_id, self.client_secret, self.jwt), strict=True):
                if not value:
                    raise ConfigError(_missing_message([name], self.source))
                _check_value(name, value)

    @property
    def uses_simulator(self) -> bool:
        """True when no server URL is set: the embedded simulator is meant."""
        return self.server_url is None

    @property
    def is_loopback(self) -> bool:
        """True when the server URL points at this machine (127.0.0.0/8, ::1 or localhost)."""
        return self.server_url is not None and is_loopback_url(self.server_url)

    @classmethod
    def from_env(
        cls,
        env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """Read the ``RC_*`` variables from ``environ`` (default ``os.environ``) and ``env_file``.

        The environment wins over the file. A relative ``env_file`` is looked up in the current
        directory, then in its parents up to the project root (a folder holding ``.git`` or
        ``pyproject.toml``), so a notebook started in ``notebooks/`` finds the project's ``.env``.
        The default ``.env`` may be absent; any other ``env_file`` that does not exist is an error.
        Pass ``env_file=None`` to read the environment only.

        ``RC_ENV_FILE`` (in ``environ``) replaces the default ``.env``: set to a file name, that file
        is read instead (a relative name is looked up as above, and it must exist); set to the empty
        string (or only spaces), no file is read, so a machine whose ``.env`` holds real credentials
        still gets the embedded simulator (as ``make test`` does). An ``env_file`` argument other
        than the default wins over ``RC_ENV_FILE``.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        sources: list[str] = []
        named_by_variable = False
        if env_file is not None and os.fspath(env_file) == DEFAULT_ENV_FILE and environ.get(ENV_FILE_VAR) is not None:
            env_file = environ[ENV_FILE_VAR] if environ[ENV_FILE_VAR].strip() else None
            named_by_variable = env_file is not None
            log.debug("%s is set: %s", ENV_FILE_VAR, f"reading {env_file}" if env_file else "empty, no env file read")
        if env_file is not None:
            path = _find_env_file(Path(env_file))
            if path is None:
                if named_by_variable:
                    raise ConfigError(
                        f"{ENV_FILE_VAR} names the env file {os.fspath(env_file)!r}, which does not exist or is not a "
                        f"file (relative names are looked up from {Path.cwd()} up to the project root): fix the name, "
                        f"create the file (copy .env.example), set {ENV_FILE_VAR}= (empty) to read the environment "
                        f"only, or unset {ENV_FILE_VAR} to read {DEFAULT_ENV_FILE}."
                    )
                if os.fspath(env_file) != DEFAULT_ENV_FILE:
                    raise ConfigError(
                        f"The env file {os.fspath(env_file)!r} does not exist: create it (copy .env.example) "
                        "or pass env_file=None to read the environment only."
                    )
            else:
                file_values = {k: v for k, v in dotenv_values(path, interpolate=False).items() if k in ENV_VARS and v}
                if file_values:
                    values.update(file_values)
                    sources.append(str(path))
        env_values = {k: environ[k] for k in ENV_VARS if environ.get(k)}
        if env_values:
            values.update(env_values)
            sources.insert(0, "environment")
        return cls.from_mapping(values, source=" + ".join(sources) or "defaults")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str], *, source: str = "mapping") -> Config:
        """Build a config from a mapping of ``RC_*`` names (e.g. ``sim.credentials.as_env()``).

        Empty values count as missing. Without ``RC_SERVER_URL`` the result targets the embedded
        simulator and carries no credentials.
        """
        server_url = (mapping.get("RC_SERVER_URL") or "").strip() or None
        if server_url is None:
            ignored = [name for name in _CREDENTIAL_VARS if mapping.get(name)]
            if ignored:
                log.warning(
                    "%s set but RC_SERVER_URL is not: using the embedded simulator and ignoring them; "
                    "set RC_SERVER_URL=https://platform.ringcentral.com to use the real platform",
                    ", ".join(ignored),
                )
            return cls(server_url=None, source=source)
        if not mapping.get("RC_SERVER_URL", "").strip(_QUOTES + " \t\r\n"):
            raise ConfigError("RC_SERVER_URL holds only quotes or spaces: remove it, or set it to a URL.")
        missing = [name for name in _CREDENTIAL_VARS if not mapping.get(name)]
        if missing:
            raise ConfigError(_missing_message(missing, source))
        return cls(
            server_url=mapping["RC_SERVER_URL"],
            client_id=mapping["RC_CLIENT_ID"],
            client_secret=mapping["RC_CLIENT_SECRET"],
            jwt=mapping["RC_JWT"],
            source=source,
        )

    def describe(self) -> str:
        """A short text that is safe to show: the server and masked credentials."""
        if self.server_url is None:
            return f"embedded simulator (RC_SERVER_URL is not set; read from {self.source})"
        where = "loopback" if self.is_loopback else "remote"
        return (
            f"server {self.server_url} ({where}), client id {mask(self.client_id)}, "
            f"client secret {mask(self.client_secret)}, JWT {mask(self.jwt)} (read from {self.source})"
        )

    def __repr__(self) -> str:
        return (
            f"Config(server_url={self.server_url!r}, client_id={mask(self.client_id)!r}, "
            f"client_secret={mask(self.client_secret)!r}, jwt={mask(self.jwt)!r})"
        )

    __str__ = __repr__


def is_local_host(host: str) -> bool:
    """True for a loopback or private host: ``localhost``, 127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, link-local.

    Names are not resolved (no network I/O): only literal addresses and ``localhost`` names count.
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (127.0.0.0/8, ::1, ``localhost``); names are not resolved."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read one more variable (e.g. ``NGROK_AUTHTOKEN``) from where :meth:`Config.from_env` reads.

    The environment wins; then the default ``.env`` (looked up as ``from_env`` does) or the file that
    ``RC_ENV_FILE`` names (empty: no file). None when neither sets it; a missing env file is left for
    ``from_env`` to report.
    """
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return environ[name]
    env_file = environ.get(ENV_FILE_VAR, DEFAULT_ENV_FILE)
    path = _find_env_file(Path(env_file)) if env_file.strip() else None
    if path is None:
        return None
    return dotenv_values(path, interpolate=False).get(name) or None


def _find_env_file(path: Path) -> Path | None:
    """Return the env file to read: ``path`` itself if absolute, else the nearest one up to the project root."""
    if path.is_absolute():
        return path if path.is_file() else None
    folder = Path.cwd()
    while True:
        candidate = folder / path
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file() or folder.parent == folder:
            return None
        folder = folder.parent


def _missing_message(missing: list[str], source: str) -> str:
    names = ", ".join(missing)
    lines = " / ".join(f"{name}=..." for name in missing)
    return (
        f"RC_SERVER_URL is set but {names} {'is' if len(missing) == 1 else 'are'} not (read from {source}). "
        f"Add {lines} to .env (see .env.example) or export {'it' if len(missing) == 1 else 'them'}; "
        "or unset RC_SERVER_URL to use the embedded simulator."
    )


def _check_value(name: str, value: str) -> None:
    """Refuse values with surrounding quotes or whitespace, or inner whitespace; never echo a secret."""
    shown = mask(value) if name in _SECRET_VARS else repr(value)
    if value != value.strip():
        raise ConfigError(
            f"{name} has spaces or a line break around it ({shown}): remove them "
            f"(write {name}=value with nothing around the value)."
        )
    if value[0] in _QUOTES or value[-1] in _QUOTES:
        raise ConfigError(
            f"{name} has quotes around it ({shown}): remove them, or use matching quotes in .env "
            f"({name}=\"value\"), which python-dotenv strips."
        )
    if any(ch.isspace() for ch in value):
        raise ConfigError(
            f"{name} contains whitespace ({shown}): it was probably pasted across lines; put it on one line."
        )


def _check_server_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise ConfigError saying what a valid value looks like."""
    _check_value("RC_SERVER_URL", url)
    parts = urlsplit(url)
    example = "https://platform.ringcentral.com"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"RC_SERVER_URL must be an http(s) URL such as {example}, got {url!r}: "
            "add the scheme (https://) or unset RC_SERVER_URL to use the embedded simulator."
        )
    if parts.username or parts.password:
        raise ConfigError(
            "RC_SERVER_URL must not carry a user name or password: put the credentials in RC_CLIENT_ID, "
            "RC_CLIENT_SECRET and RC_JWT."
        )
    if parts.query or parts.fragment or parts.path.rstrip("/"):
        raise ConfigError(
            f"RC_SERVER_URL is the server's base URL only, such as {example} (no /restapi/... path, "
            f"no query), got {url!r}."
        )
    try:
        _ = parts.port  # reading it checks it
    except ValueError:
        raise ConfigError(f"RC_SERVER_URL has an invalid port: {url!r}.") from None
    if parts.scheme == "http" and not is_loopback_url(url):
        log.warning("RC_SERVER_URL %s is plain http to another host: credentials travel unencrypted", url)
    return f"{parts.scheme}://{parts.netloc}"
