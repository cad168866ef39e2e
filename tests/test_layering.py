"""The package's halves and layers, checked on the source.

- ``rchelpers/simulator`` (the platform) meets the client and the receiver only over HTTP: it imports the
  standard library and itself only, and no half imports it (``rchelpers/__init__.py`` re-exports two of its
  names, imported on first use).
- The harness joins the halves on purpose, as a notebook does: ``rchelpers/lab.py`` (the notebooks' one-call
  setup), ``rchelpers/cli`` (the command line) and ``rchelpers/testing`` (the pytest plugin) may start the
  simulator beside the client and the receiver; nothing outside the harness imports it.
- ``rchelpers/client`` and ``rchelpers/receiver`` are independent halves: neither imports the other.
- ``errors.py`` and ``masking.py`` are shared helpers at the bottom: they import the standard library only.
- Only notebooks import ``rchelpers.widgets``.
- Nothing below imports "up" from a package ``__init__`` it belongs to (e.g. ``rchelpers/client/auth.py``
  may not ``import rchelpers`` or ``from rchelpers import X``): public names flow up, never down.
- ``import rchelpers`` does not import the simulator or the widgets.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rchelpers"
SIMULATOR = PACKAGE / "simulator"
CLIENT = PACKAGE / "client"
RECEIVER = PACKAGE / "receiver"
SHARED = [PACKAGE / "errors.py", PACKAGE / "masking.py"]
#: Where the halves are joined on purpose, as a notebook joins them: the notebooks' one-call setup, the command
#: line and the pytest plugin may start the simulator beside the client and the receiver.
HARNESS = [PACKAGE / "lab.py", PACKAGE / "cli", PACKAGE / "__main__.py", PACKAGE / "testing"]
STDLIB = set(sys.stdlib_module_names)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every import as (module imported from, names taken from it); relative imports are made absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = _package_of(path).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            found.append((module, [alias.name for alias in node.names]))
    return found


def _imported_modules(path: Path) -> list[str]:
    """The modules an import may load: ``from a import b`` counts as ``a`` and ``a.b``."""
    names: list[str] = []
    for module, taken in _imports(path):
        names.append(module)
        names.extend(f"{module}.{name}" for name in taken)
    return names


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, f"{folder} has no modules"
    return files


def _is_harness(path: Path) -> bool:
    return any(path == h or path.is_relative_to(h) for h in HARNESS)


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_simulator_imports_only_stdlib_and_itself() -> None:
    for path in _files(SIMULATOR):
        for name in _imported_modules(path):
            top = name.split(".")[0]
            allowed = top in STDLIB or _is_within(name, "rchelpers.simulator")
            assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name}: the simulator may use only the standard library and itself"


def test_only_the_harness_names_the_simulator() -> None:
    for path in _package_files():
        if path.is_relative_to(SIMULATOR) or _is_harness(path) or path == PACKAGE / "__init__.py":
            continue
        for name in _imported_modules(path):
            assert not _is_within(name, "rchelpers.simulator"), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}: the client and the receiver talk to the platform over HTTP only"
            )


def test_the_halves_do_not_import_the_harness() -> None:
    for path in _package_files():
        if _is_harness(path) or path == PACKAGE / "__init__.py":
            continue
        for name in _imported_modules(path):
            assert not any(_is_within(name, _module_name(h)) for h in HARNESS), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}: the harness (lab, cli, testing) builds on the "
                "halves, never the other way round"
            )


def test_client_and_receiver_do_not_import_each_other() -> None:
    for folder, other in ((CLIENT, "rchelpers.receiver"), (RECEIVER, "rchelpers.client")):
        for path in _files(folder):
            for name in _imported_modules(path):
                assert not _is_within(name, other), (
                    f"{path.relative_to(PACKAGE.parent)} imports {name}: the client and the receiver are independent halves"
                )


def test_shared_helpers_import_only_the_standard_library() -> None:
    for path in SHARED:
        for name in _imported_modules(path):
            assert name.split(".")[0] in STDLIB, f"{path.name} imports {name}: errors and masking are the bottom layer"


def test_only_notebooks_import_the_widgets() -> None:
    for path in _package_files():
        if path == PACKAGE / "widgets.py":
            continue
        for name in _imported_modules(path):
            assert not _is_within(name, "rchelpers.widgets"), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}: widgets are for notebooks, nothing in the package uses them"
            )


def test_no_module_imports_up_from_a_package_init() -> None:
    checked = _package_files()
    assert all(any(p.is_relative_to(half) for p in checked) for half in (CLIENT, RECEIVER, SIMULATOR))
    for path in checked:
        own = _module_name(path)
        ancestors = {own.rsplit(".", depth)[0] for depth in range(1, own.count(".") + 1)}
        if path.name == "__init__.py":
            ancestors.add(own)
        for module, _ in _imports(path):
            assert module not in ancestors, (
                f"{path.relative_to(PACKAGE.parent)} imports from {module}, a package it belongs to: import from the "
                "module that defines the name (public names flow up into __init__, never down)"
            )


def test_import_rchelpers_leaves_the_simulator_and_widgets_unimported() -> None:
    code = (
        "import sys, rchelpers\n"
        "print(sorted(m for m in sys.modules if m.startswith(('rchelpers.simulator', 'rchelpers.widgets'))))\n"
        "rchelpers.Simulator\n"
        "print('rchelpers.simulator' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    before, after = result.stdout.splitlines()
    assert before == "[]", f"import rchelpers imported {before}"
    assert after == "True", "rchelpers.Simulator did not import the simulator"
