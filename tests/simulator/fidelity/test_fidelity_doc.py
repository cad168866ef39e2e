"""docs/FIDELITY.md lists every error code the simulator can produce and every filter it accepts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rchelpers.simulator import event_filter_catalog as catalog

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "FIDELITY.md"
SIMULATOR = ROOT / "rchelpers" / "simulator"
#: Dotted RingCentral error codes (``SUB-508``) and the symbolic top-level codes real bodies use.
DOTTED = re.compile(r"\b(?:AGW|CMN|OAU|SUB|MSG)-\d{3}\b")
SYMBOLIC = re.compile(r"[\"'](TokenInvalid|InvalidParameter)[\"']")


def codes_in(text: str) -> set[str]:
    """Every error code written in ``text`` (Python source)."""
    return set(DOTTED.findall(text)) | set(SYMBOLIC.findall(text))


def simulator_codes() -> dict[str, list[str]]:
    """Error code -> the simulator modules that write it."""
    found: dict[str, list[str]] = {}
    for path in sorted(SIMULATOR.rglob("*.py")):
        for code in codes_in(path.read_text(encoding="utf-8")):
            found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


def documented_codes(doc: str) -> set[str]:
    """The codes in the first column of the doc's error-code table."""
    section = doc.split("## Every error code", 1)[1]
    return {match for row in section.splitlines() if row.startswith("| ")
            for match in re.findall(r"^\| ([A-Za-z]+(?:-\d{3})?)\b", row)}


def missing_from_doc(found: dict[str, list[str]], doc: str) -> list[str]:
    listed = documented_codes(doc)
    return sorted(f"{code} (in {', '.join(where)})" for code, where in found.items() if code not in listed)


def test_every_error_code_the_simulator_can_produce_is_in_the_doc():
    found = simulator_codes()
    assert {"SUB-508", "CMN-401", "SUB-527", "OAU-149"} <= set(found), "the collector finds the codes it should"
    missing = missing_from_doc(found, DOC.read_text(encoding="utf-8"))
    assert not missing, f"add these to the error-code table of docs/FIDELITY.md: {missing}"


def test_the_check_fails_for_a_code_the_doc_does_not_list():
    found = {"SUB-999": ["rchelpers/simulator/new.py"], "SUB-508": ["rchelpers/simulator/filters.py"]}
    assert missing_from_doc(found, DOC.read_text(encoding="utf-8")) == ["SUB-999 (in rchelpers/simulator/new.py)"]
    assert codes_in('raise ApiError(400, "SUB-999", "x"); body = {"errorCode": "TokenInvalid"}') == {"SUB-999",
                                                                                                  "TokenInvalid"}


def _filter_rows(doc: str) -> dict[str, list[str]]:
    section = doc.split("## Event filters", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`/"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_accepted_filter_is_listed_with_whether_it_fires():
    rows = _filter_rows(DOC.read_text(encoding="utf-8"))
    assert set(rows) == {spec.path for spec in catalog.CATALOG}
    for spec in catalog.CATALOG:
        cells = rows[spec.path]
        assert cells[1] == spec.level, spec.name
        assert cells[4] == ("yes" if spec.fires else "no"), f"{spec.name}: fires is {spec.fires}"
        for name in spec.param_names:
            assert f"`{name}`" in cells[2], f"{spec.name}: parameter {name}"
        for permission in spec.permissions:
            assert f"`{permission}`" in cells[3], f"{spec.name}: permission {permission}"
        assert cells[5].startswith(spec.provenance), spec.name


#: Files users read: none may point at material a clone of the repository does not have (the team's notes
#: beside the repository). Written as patterns so that this file does not match itself.
USER_FACING = sorted({DOC, ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "Makefile", ROOT / ".ci" / "run",
                      *ROOT.joinpath("rchelpers").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py"),
                      *ROOT.joinpath("examples").rglob("*.py"), *ROOT.joinpath("notebooks").glob("*.ipynb"),
                      *ROOT.joinpath("docs").rglob("*.md")})
PRIVATE = re.compile(r"\.\./shared|shared/(ringcentral|notes)|PLATFORM[-]FACTS|DECISIONS[.]md|AUDIT[-]2026")


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pointer_to_material_users_do_not_have(path):
    found = PRIVATE.search(path.read_text(encoding="utf-8"))
    assert found is None, f"{path.name} refers to {found.group()!r}, which users of the repository do not have"


def test_the_scan_covers_the_project_and_fails_on_a_private_pointer():
    names = {p.name for p in USER_FACING}
    assert names >= {"README.md", "ARCHITECTURE.md", "FIDELITY.md", "notifier.py", "api_handlers.py", "__init__.py",
                     "__main__.py", "conftest.py", "01_token_setup.ipynb", "missed_calls.py"}
    for pointer in ("see ../" + "shared/" + "ringcentral/", "the PLATFORM" + "-FACTS.md table", "DECISIONS" + ".md"):
        assert PRIVATE.search(pointer), pointer


def test_the_simulator_docstring_and_the_architecture_point_here():
    import rchelpers.simulator

    assert "docs/FIDELITY.md" in (rchelpers.simulator.__doc__ or "")
    assert "docs/FIDELITY.md" in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_no_planned_marker_is_left():
    assert "(planned)" not in DOC.read_text(encoding="utf-8")
