"""A token cache file: one app's token pair kept across restarts, readable by its owner only.

The file name must end with ``.token.json`` (``.gitignore`` keeps such files out of git); it is written
atomically with mode 0600, and read back only when it belongs to the same server and client, is not
readable by others and still holds a usable token.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

from rchelpers.client.token import TokenInfo
from rchelpers.errors import ConfigError
from rchelpers.masking import mask

__all__ = ["TokenCache", "CACHE_SUFFIX"]

log = logging.getLogger("rchelpers.auth")  # the token manager's logger: its cache is part of it

#: A token cache file's name ends with this.
CACHE_SUFFIX = ".token.json"


class TokenCache:
    """The ``*.token.json`` file of one server and client; ``path`` is checked (ConfigError) at once."""

    def __init__(self, path: str | os.PathLike[str], server_url: str, client_id: str) -> None:
        self.path = Path(path).expanduser()
        if not self.path.name.endswith(CACHE_SUFFIX):
            raise ConfigError(
                f"The token cache file name must end with {CACHE_SUFFIX!r} (got {self.path.name!r}) so that .gitignore "
                f"keeps it out of git: e.g. cache_path='~/.cache/rchelpers/rc{CACHE_SUFFIX}'."
            )
        self.server_url = server_url
        self.client_id = client_id

    def save(self, token: TokenInfo) -> None:
        """Write ``token`` atomically (a temporary file replaced into place), with mode 0600."""
        path = self.path
        record = {
            "server_url": self.server_url,
            "client_id": self.client_id,
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "refresh_expires_at": token.refresh_expires_at,
            "scope": token.scope,
            "owner_id": token.owner_id,
            "session_id": token.session_id,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        log.debug("token cache %s written (mode 0600)", path)

    def load(self, now: float) -> TokenInfo | None:
        """The cached pair, or None (logged) when the file is absent, unsafe, invalid, another app's, or expired at ``now``."""
        path = self.path
        if not path.is_file():
            return None
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("token cache %s is readable by others (mode %o): not used; run chmod 600 on it or delete it", path, mode)
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            token = TokenInfo(
                access_token=record["access_token"],
                refresh_token=record.get("refresh_token"),
                token_type=record.get("token_type", "bearer"),
                expires_at=float(record["expires_at"]),
                refresh_expires_at=None if record.get("refresh_expires_at") is None else float(record["refresh_expires_at"]),
                scope=record.get("scope", ""),
                owner_id=record.get("owner_id"),
                session_id=record.get("session_id"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("token cache %s is not a valid token cache: ignored", path)
            return None
        if record.get("server_url") != self.server_url or record.get("client_id") != self.client_id:
            log.info("token cache %s belongs to another server or client: ignored", path)
            return None
        if token.expires_at <= now and (token.refresh_expires_at is None or token.refresh_expires_at <= now):
            log.info("token cache %s holds expired tokens: ignored", path)
            return None
        log.info("reusing cached access token %s from %s", mask(token.access_token), path)
        return token

    def delete(self) -> None:
        """Remove the file (no error when it is absent)."""
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<TokenCache {self.path}>"
