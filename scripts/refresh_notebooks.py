"""Re-execute the tutorial notebooks in place to refresh their stored outputs (``make notebooks``).

Run it after an intended change of behaviour, review the diff of the outputs, and commit it: nbval
compares every cell's output with what is stored. Widget state is not stored (it could hold what a
user typed into a password field), execution counts are integers, and a failing cell stops the run
with the notebook left unchanged.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def refresh(path: Path, timeout: int = 120) -> float:
    """Execute one notebook with its folder as working directory and write it back; return seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,  # no wall-clock metadata: a refresh diff shows only what changed
    )
    started = time.perf_counter()
    client.execute()
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timings from an older refresh
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Refresh the notebooks named on the command line, or all of ``notebooks/*.ipynb``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to refresh (default: all)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    for index, path in enumerate(paths, start=1):
        print(f"[{index}/{len(paths)}] {path.name} ...", end=" ", flush=True)
        try:
            seconds = refresh(path)
        except CellExecutionError as error:
            print("FAILED (notebook left unchanged)")
            print(str(error)[-2000:], file=sys.stderr)
            return 1
        print(f"{seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
