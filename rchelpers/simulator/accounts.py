"""The simulated platform's directory: the registered apps and the demo user with its JWT credential.

Made once when the simulator is built (from its :class:`~rchelpers.simulator.ids.IdSource`, so a seeded
simulator always has the same credentials) and never changed by a reset.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from rchelpers.simulator.filters import Owner
from rchelpers.simulator.ids import IdSource, b64url
from rchelpers.simulator.options import DEFAULTS

DEMO_ACCOUNT_ID = "37439510"
DEMO_EXTENSION_ID = "2253168021"
@dataclass
class App:
    """A registered client application."""

    name: str
    client_id: str
    client_secret: str
    permissions: tuple[str, ...] = DEFAULTS.permissions  #: app permissions (the ``permissions`` option)


@dataclass
class User:
    """A user (extension) of an account, with the JWT credential that logs it in."""

    account_id: str
    extension_id: str
    jwt: str

    @property
    def owner(self) -> Owner:
        """The (account, extension) pair that owns this user's subscriptions."""
        return Owner(self.account_id, self.extension_id)


class Accounts:
    """The demo app, a second app of the same user (its subscriptions are listed apart) and the demo user."""

    def __init__(self, ids: IdSource, now: float, permissions: tuple[str, ...] = DEFAULTS.permissions) -> None:
        self.ids = ids
        self.permissions = permissions
        self.apps: dict[str, App] = {}
        self.users: list[User] = []
        self.demo_app = self._add_app("Demo App")
        self.second_app = self._add_app("Second Demo App")
        self.user = self._add_user(DEMO_ACCOUNT_ID, DEMO_EXTENSION_ID, int(now))

    def _add_app(self, name: str) -> App:
        app = App(name, self.ids.urlsafe(16)[:22], self.ids.urlsafe(32), permissions=self.permissions)
        self.apps[app.client_id] = app
        return app

    def _add_user(self, account_id: str, extension_id: str, now: int) -> User:
        header = {"kid": self.ids.urlsafe(12), "typ": "JWT", "alg": "RS256"}
        claims = {"aud": "rchelpers.simulator/restapi/oauth/token", "sub": extension_id,
                  "iss": "rchelpers.simulator", "exp": now + 315_360_000, "iat": now, "jti": self.ids.urlsafe(16)}
        jwt = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        jwt += "." + self.ids.urlsafe(256)
        user = User(account_id, extension_id, jwt)
        self.users.append(user)
        return user

    def app(self, client_id: str) -> App | None:
        """The app with this client id, if any."""
        return self.apps.get(client_id)

    def user_for_jwt(self, assertion: str) -> User | None:
        """The user whose JWT credential this is, if any."""
        for user in self.users:
            if secrets.compare_digest(user.jwt.encode(), assertion.encode()):
                return user
        return None
