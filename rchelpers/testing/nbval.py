"""The nbval sanitize rules shipped with rchelpers, for notebooks that use it."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sanitize_path"]


def sanitize_path(*, seeded: bool = True) -> Path:
    """The nbval sanitize file shipped with rchelpers: for a seeded simulator, or (``seeded=False``) without a seed.

    Use it as ``pytest --nbval --nbval-sanitize-with PATH``.
    """
    name = "nbval-sanitize.cfg" if seeded else "nbval-sanitize-unseeded.cfg"
    return Path(str(resources.files("rchelpers.testing").joinpath(name)))
