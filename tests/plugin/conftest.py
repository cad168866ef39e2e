"""The pytester runs of this folder leave out hypothesis' pytest plugin: they never use it, and loading it
costs each in-process run about 0.7 s."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _pytester_without_hypothesis(request: pytest.FixtureRequest) -> None:
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester").makeini("[pytest]\naddopts = -p no:hypothesispytest\n")
