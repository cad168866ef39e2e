"""Every id, uuid, token and secret the simulator makes: from one ``random.Random(seed)`` when seeded, else
from :mod:`secrets`."""
from __future__ import annotations

import base64
import random
import secrets
import string
import threading
import uuid


class IdSource:
    """Every id, uuid, token and secret; from one ``random.Random(seed)`` when seeded, else from ``secrets``.

    :meth:`mark` remembers the point that :meth:`reset` returns to (the simulator marks it once the demo
    credentials are drawn), so a reset simulator draws the same ids again.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seeded = seed is not None
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()
        self._marked: object = self._rng.getstate() if self._rng is not None else None

    def mark(self) -> None:
        """Remember the current point of the seeded sequence: :meth:`reset` returns to it."""
        if self._rng is not None:
            with self._lock:
                self._marked = self._rng.getstate()

    def reset(self) -> None:
        """Seeded: draw again from the point :meth:`mark` remembered (the seed's start if never marked).
        Unseeded: nothing to do (``secrets`` has no sequence to repeat)."""
        if self._rng is not None:
            with self._lock:
                self._rng.setstate(self._marked)  # type: ignore[arg-type]  # a state from getstate()

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        if self._rng is None:
            return secrets.token_bytes(n)
        with self._lock:
            return self._rng.randbytes(n)

    def uuid4(self) -> str:
        """A lowercase uuid4 string."""
        if self._rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def urlsafe(self, nbytes: int) -> str:
        """A base64url string (no padding) of ``nbytes`` random bytes."""
        return b64url(self.bytes(nbytes))

    def digits(self, n: int) -> str:
        """A string of ``n`` decimal digits not starting with 0."""
        raw = self.bytes(n)
        first = "123456789"[raw[0] % 9]
        return first + "".join(string.digits[b % 10] for b in raw[1:])


def b64url(data: bytes) -> str:
    """``data`` as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
