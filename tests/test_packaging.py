"""The project's declared environment is the same in pyproject.toml and environment.yml."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*)$")


def _parse(requirement: str) -> tuple[str, str]:
    match = REQUIREMENT.match(requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    name = match.group(1).lower().replace("_", "-")
    return name, match.group(3).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    return dict(_parse(r) for r in requirements)


def _environment_yml_requirements() -> dict[str, str]:
    pip_section = False
    found: dict[str, str] = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            pip_section = True
            continue
        if pip_section and stripped.startswith("- "):
            name, spec = _parse(stripped[2:])
            found[name] = spec
    return found


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject() -> None:
    assert _environment_yml_requirements() == _pyproject_requirements()


def test_every_dependency_has_a_lower_bound() -> None:
    for name, spec in _pyproject_requirements().items():
        assert spec.startswith(">="), f"{name} must be pinned with a lower bound (>=), got {spec!r}"


def test_python_floor_is_the_same_in_both_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert "python>=3.10" in (ROOT / "environment.yml").read_text()
