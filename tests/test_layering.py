"""The simulator and the client meet only over HTTP: neither imports the other."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rchelpers"
SIMULATOR = PACKAGE / "simulator"
STDLIB = set(sys.stdlib_module_names)


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("rchelpers.simulator." + (node.module or "") if path.is_relative_to(SIMULATOR) else "rchelpers." + (node.module or ""))
            elif node.module:
                names.append(node.module)
    return names


def test_simulator_imports_only_stdlib_and_itself() -> None:
    files = sorted(SIMULATOR.rglob("*.py"))
    assert files, "the simulator package has no modules"
    for path in files:
        for name in _imported_modules(path):
            top = name.split(".")[0]
            allowed = top in STDLIB or name == "rchelpers.simulator" or name.startswith("rchelpers.simulator.")
            assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name}: the simulator may use only the standard library and itself"


def test_client_modules_never_import_the_simulator() -> None:
    # lab.py starts the simulator for the notebooks: like a notebook, it joins both halves on purpose
    client_files = [p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "lab.py")]
    assert client_files
    for path in client_files:
        for name in _imported_modules(path):
            assert not name.startswith("rchelpers.simulator"), (
                f"{path.name} imports {name}: client code talks to the platform over HTTP only"
            )
