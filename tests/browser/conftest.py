"""Fixtures for the real-browser tests: one JupyterLab and one headless Chromium for the module, a page per notebook.

Without Chromium (or Playwright) the tests skip, saying how to install it, except in CI (``CI`` set), where a
missing browser is a failure: CI installs it (``.ci/run``), so its absence there is a broken setup.
"""
from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest

from lab_driver import CHROMIUM_ARGS, CHROMIUM_INSTALL, JupyterLabServer, NotebookPage

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
_workspaces = itertools.count()  # one fresh JupyterLab workspace per page


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _missing_browser(reason: str) -> None:
    message = f"{reason}; install it with: {CHROMIUM_INSTALL}"
    if _in_ci():
        pytest.fail(f"CI must run the browser tests: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """The system Chromium's path (skips, or fails in CI, when there is none)."""
    path = _chromium()
    if path is None:
        _missing_browser("no Chromium on PATH (the browser tests drive JupyterLab in it)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """One headless Chromium for the module, closed at teardown."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("Playwright is not installed (it is in the `test` extra: make venv)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def jupyterlab(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    """JupyterLab on a copy of notebooks/, stopped (with its kernels) at teardown."""
    server = JupyterLabServer(ROOT / "notebooks", tmp_path_factory.mktemp("jupyterlab")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_notebook(browser, jupyterlab: JupyterLabServer) -> Iterator[Callable[[str], NotebookPage]]:
    """Factory ``open_notebook("01_token_setup.ipynb") -> NotebookPage`` in a fresh workspace and kernel.

    At teardown each page is closed and its notebook's kernel shut down, so the next opening starts afresh.
    """
    opened: list[tuple[object, str]] = []

    def factory(notebook: str) -> NotebookPage:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        opened.append((page, notebook))
        return NotebookPage(page, jupyterlab, notebook, workspace=f"test-{next(_workspaces)}")

    yield factory
    for page, notebook in opened:
        page.close()
        jupyterlab.shut_down_kernels(notebook)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """The git-ignored folder the tests save their screenshots into, for review."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
