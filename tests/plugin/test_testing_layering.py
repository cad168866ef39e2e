"""rchelpers.testing's assertions and faulty webhook meet the simulator over HTTP only (they never import it), so
they work against a standalone simulator too."""
from __future__ import annotations

import ast
from pathlib import Path

TESTING = Path(__file__).resolve().parents[2] / "rchelpers" / "testing"


def test_assertions_and_faults_never_import_the_simulator() -> None:
    for name in ("assertions.py", "faults.py", "__init__.py", "__main__.py"):
        tree = ast.parse((TESTING / name).read_text())
        for node in ast.walk(tree):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                assert not module.startswith("rchelpers.simulator"), f"rchelpers/testing/{name} imports {module}"
