"""Committed notebooks hold no secret, no machine path, outputs that nbval can compare, and public imports only."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

SECRET_PATTERNS = {
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "RingCentral-style token": re.compile(r"\bU[0-9A-Z][A-Za-z0-9]{2}[A-Za-z0-9+/=_-]{28,}"),
    "access or refresh token field": re.compile(r'"(access_token|refresh_token|client_secret)"\s*:\s*"[^"<…]{12,}"'),
    "bearer header": re.compile(r"[Bb]earer\s+[A-Za-z0-9._~+/=-]{16,}"),
    "ngrok auth token": re.compile(r"\b[0-9A-Za-z]{20,}_[0-9A-Za-z]{15,}\b"),
}
MACHINE_PATHS = re.compile(r"(/root/|/home/[a-z]|/tmp/|/work/|/private/var/|[A-Z]:\\\\Users\\\\|/Users/[A-Za-z])")


def _texts(notebook: dict) -> list[tuple[str, str]]:
    """Every piece of text a notebook stores: sources, outputs and metadata (widget state included)."""
    found: list[tuple[str, str]] = [("metadata", json.dumps(notebook.get("metadata", {})))]
    for index, cell in enumerate(notebook["cells"]):
        found.append((f"cell {index} source", "".join(cell["source"])))
        for output in cell.get("outputs", []):
            found.append((f"cell {index} output", json.dumps(output)))
    return found


def test_there_are_notebooks_to_check() -> None:
    assert len(NOTEBOOKS) >= 5, "the tutorial has five numbered notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_no_secret_or_machine_path(path: Path) -> None:
    notebook = json.loads(path.read_text())
    for where, text in _texts(notebook):
        for name, pattern in SECRET_PATTERNS.items():
            match = pattern.search(text)
            assert match is None, f"{path.name} {where} holds what looks like a {name}: {match.group(0)[:12]}…"
        match = MACHINE_PATHS.search(text)
        assert match is None, f"{path.name} {where} holds a machine path ({match.group(0)}): sanitize or avoid it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_outputs_nbval_can_compare(path: Path) -> None:
    notebook = json.loads(path.read_text())
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code_cells
    counts = [c["execution_count"] for c in code_cells]
    assert all(isinstance(n, int) for n in counts), f"{path.name}: every code cell needs an integer execution_count (run make notebooks)"
    assert counts == sorted(counts), f"{path.name}: cells were executed out of order (run make notebooks)"
    assert "widgets" not in notebook.get("metadata", {}), f"{path.name}: widget state must not be stored (it can hold typed secrets)"


PUBLIC_MODULES = ("rchelpers", "rchelpers.simulator", "rchelpers.widgets")
RCHELPERS_IMPORT = re.compile(r"^\s*(?:from\s+(rchelpers[\w.]*)\s+import|import\s+(rchelpers[\w.]*))", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_public_modules(path: Path) -> None:
    notebook = json.loads(path.read_text())
    sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    imported = [m.group(1) or m.group(2) for source in sources for m in RCHELPERS_IMPORT.finditer(source)]
    assert imported, f"{path.name} imports nothing from rchelpers"
    deep = sorted(set(imported) - set(PUBLIC_MODULES))
    assert not deep, f"{path.name} imports from {deep}: notebooks use the public names of {', '.join(PUBLIC_MODULES)}"


def test_hygiene_patterns_catch_what_they_must() -> None:
    samples = {
        "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
        "RingCentral-style token": "U0pDMDFQMDRQQVMwMnxBQUFmSHpfc2FtcGxlX3Rva2VuX3ZhbHVl",
        "access or refresh token field": '{"access_token": "abcdefghijklmnopqrstuvwxyz"}',
        "bearer header": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        "ngrok auth token": "2abcDEFghiJKLmnoPQRstu_3vwxYZ0123456789abcd",
    }
    for name, sample in samples.items():
        assert SECRET_PATTERNS[name].search(sample), name
    assert not SECRET_PATTERNS["access or refresh token field"].search('{"access_token": "U0pD…(52 chars)"}')
    assert MACHINE_PATHS.search("saved to /tmp/abc/journal.jsonl")
