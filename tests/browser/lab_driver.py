"""Drive the tutorial in JupyterLab as a learner would: a JupyterLab server and a notebook page in Chromium.

:class:`JupyterLabServer` runs the venv's JupyterLab on a free loopback port with a token, on a temporary
copy of ``notebooks/`` and temporary Jupyter folders, with the ``RC_*`` variables unset (as ``make test``
does). :class:`NotebookPage` is one notebook opened in its own fresh workspace of a Playwright page.

Every selector and every text the tests key on is in the SELECTORS block below, so a widget's new look
means one edit here.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # Playwright itself is imported by the fixtures, which skip when it is missing
    from playwright.sync_api import Locator, Page

# --- SELECTORS: what the tests look for -----------------------------------------------------------------
# JupyterLab
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status=idle]"
CELL = ".jp-Notebook .jp-Cell"
CODE_CELL = ".jp-Notebook .jp-CodeCell"
NEXT_CELL = "xpath=following-sibling::*[contains(@class, 'jp-Cell')][1]"  # from a cell
INPUT_PROMPT = ".jp-InputPrompt"
OUTPUT = ".jp-OutputArea-output"
# JupyterLab renders an ``error`` output like stderr; a traceback (a cell's or a thread's) has this line.
TRACEBACK_TEXT = "Traceback (most recent call last)"
NOTEBOOK_SCROLLER = ".jp-NotebookPanel .jp-WindowedPanel-outer"
CURRENT_TAB = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"  # the open document's tab
LEFT_SIDEBAR_OPEN_TAB = ".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current"
# The tutorial's widgets (rchelpers.widgets), found by their visible texts
FORM_BUTTON = "button:has-text('Use these credentials')"
FORM = f".widget-vbox:has(> {FORM_BUTTON})"
FORM_FIELD_LABELS = ("Server URL", "Client id", "Client secret", "JWT")
FORM_FIELD_TO_EMPTY = "Client id"  # emptied to see the form's answer name the field to fill
FORM_FIELD = ".widget-text, .widget-password"  # a labelled input
FORM_STATUS = ".widget-html"  # the form's status line (its last HTML widget)
TABLE_REFRESH = "button:has-text('Refresh')"  # the SubscriptionTable's button above its rows
TABLE = f".jupyter-widgets.widget-vbox:has(> {TABLE_REFRESH})"
TABLE_CELL_TEXT = "SubscriptionTable("  # the first code cell whose text has this shows the table
TABLE_ROW = ".widget-hbox:has(> button:has-text('Renew')):has(> button:has-text('Delete'))"
TABLE_CELL = ".widget-label"  # a row's id, status, time left, event filters
RENEW_BUTTON = "button:has-text('Renew')"
DELETE_BUTTON = "button:has-text('Delete')"
FEED_TABLE = "table:has(th:text-is('summary'))"  # the EventFeed's HTML table: timestamp, kind, subscription, summary
FEED_ROW = "tr:has(td)"
FEED_BOX = "xpath=ancestor::*[contains(@class, 'widget-vbox')][1]"  # from a row: the feed with its header line
FEED_EVENT_TEXT = "ParkedCall"  # how the feed shows the presence event the test sends (telephonyStatus)
# The notebooks' own end-of-run check; a thread in the list is one the notebook left running.
THREADS_LEFT_TEXT = "threads left running: ['"
# Code typed into a cell at test time (kernel side): the URL of the embedded platform the notebook runs.
SIMULATOR_URL_CODE = ("import gc, rchelpers.simulator as _s; "
                      "print(*[o.url for o in gc.get_objects() if isinstance(o, _s.Simulator) and o.running])")

# Chromium: quiet, offline, and as root it needs --no-sandbox.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-gpu", "--disable-quic"]
CHROMIUM_INSTALL = "sudo apt-get install -y chromium fonts-dejavu"

# JupyterLab settings for the test run: every cell in the DOM, no autosave, no news or update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False,
                                                                        "fetchNews": "false"},
}
# What `make test` unsets, so the notebooks run on the embedded platform whatever the machine holds.
HERMETIC_UNSET = ("RC_SERVER_URL", "RC_CLIENT_ID", "RC_CLIENT_SECRET", "RC_JWT", "NGROK_AUTHTOKEN")

# JavaScript: how many cells show an execution count (a number in their prompt).
_COUNTED_PROMPTS = "[...document.querySelectorAll('.jp-InputPrompt')].filter(p => /\\d/.test(p.textContent)).length"

STARTUP_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0
WIDGET_TIMEOUT = 15.0


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
    """One HTTP exchange with a JSON body and answer (``None`` for an empty answer)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        text = answer.read()
    return json.loads(text) if text else None


class JupyterLabServer:
    """The venv's JupyterLab on ``127.0.0.1:<free port>``, serving a copy of ``notebooks`` from ``workdir``."""

    def __init__(self, notebooks: Path, workdir: Path) -> None:
        self.token = os.urandom(16).hex()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.root = workdir / "notebooks"
        self.log_path = workdir / "jupyterlab.log"
        shutil.copytree(notebooks, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "JupyterLabServer":
        """Start JupyterLab and wait (bounded) until its API answers."""
        settings = self.workdir / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {k: v for k, v in os.environ.items() if k not in HERMETIC_UNSET}
        env.update(RC_ENV_FILE="", JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
                   JUPYTER_CONFIG_DIR=str(self.workdir / "config"), JUPYTER_DATA_DIR=str(self.workdir / "data"),
                   IPYTHONDIR=str(self.workdir / "ipython"))
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}"]
        if os.getuid() == 0:
            command.append("--allow-root")
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "status")
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {STARTUP_TIMEOUT:g} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call JupyterLab's REST API (``/api/<path>``) with the token."""
        return http_json(method, f"{self.url}/api/{path}?token={self.token}", body, timeout=10.0)

    def notebook_url(self, notebook: str, workspace: str) -> str:
        """The URL that opens ``notebook`` alone in a fresh workspace (``&reset`` drops restored tabs)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{urllib.parse.quote(notebook)}?token={self.token}&reset"

    def shut_down_kernels(self, notebook: str) -> None:
        """Delete the sessions of ``notebook`` (and so stop their kernels)."""
        for session in self.api("GET", "sessions"):
            if session.get("path") == notebook:
                self.api("DELETE", f"sessions/{session['id']}")

    def stop(self) -> None:
        """Stop every kernel, then JupyterLab itself (bounded; its process group is killed if it does not stop)."""
        process, self._process = self._process, None
        if process is not None:
            stop_jupyter(self.url, self.token)
            end_process_group(process)

    def log_tail(self, lines: int = 40) -> str:
        """The end of JupyterLab's own log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class MakeLab:
    """``make lab`` run as a user would (without opening a browser), on a free port with temporary Jupyter folders."""

    def __init__(self, repository: Path, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / "make-lab.log"
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(workdir / "runtime"), JUPYTER_CONFIG_DIR=str(workdir / "config"),
                   JUPYTER_DATA_DIR=str(workdir / "data"), IPYTHONDIR=str(workdir / "ipython"))
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                ["make", "--no-print-directory", "lab", f"LAB_PORT={self.port}", "LAB_OPTIONS=--no-browser"],
                cwd=repository, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def output(self) -> str:
        """What ``make lab`` has printed so far."""
        return self.log_path.read_text(errors="replace")

    def printed_url(self, timeout: float = STARTUP_TIMEOUT) -> str:
        """The first ``http://127.0.0.1:<port>/...`` URL the terminal shows (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            found = re.search(rf"http://127\.0\.0\.1:{self.port}/\S+", self.output())
            if found:
                return found.group(0)
            time.sleep(0.1)
        raise AssertionError(f"make lab printed no URL:\n{self.output()}")

    @property
    def token(self) -> str:
        """The token in the printed URL."""
        found = re.search(r"[?&]token=(\w+)", self.output())
        return found.group(1) if found else ""

    def stop(self) -> None:
        """Stop the kernels and JupyterLab through its API; kill the process group if that does not end it."""
        if self.token:
            stop_jupyter(f"http://127.0.0.1:{self.port}", self.token)
        end_process_group(self._process)


def wait_for_kernel(url: str, token: str, notebook: str, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until the server runs an idle kernel for ``notebook`` (a kernel still starting can hang its shutdown)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = http_json("GET", f"{url}/api/sessions?token={token}", timeout=5.0)
        if any(s.get("path") == notebook and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions):
            return
        time.sleep(0.2)
    raise AssertionError(f"no idle kernel for {notebook} after {timeout:g} s")


def stop_jupyter(url: str, token: str) -> None:
    """Delete every session (stopping its kernel), then shut the server down (its kernels stopped first, it exits
    at once; with kernels still running it can hang in its shutdown)."""
    try:
        for session in http_json("GET", f"{url}/api/sessions?token={token}", timeout=5.0):
            http_json("DELETE", f"{url}/api/sessions/{session['id']}?token={token}", timeout=10.0)
        http_json("POST", f"{url}/api/shutdown?token={token}", timeout=5.0)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        pass  # already gone, or not answering: end_process_group ends it


def end_process_group(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Wait up to ``grace`` seconds for ``process`` to exit, then kill its process group (started with a new
    session), so nothing it started is left behind."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(10)


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page; console errors are collected as they happen."""

    def __init__(self, page: Page, server: JupyterLabServer, notebook: str, workspace: str) -> None:
        self.page = page
        self.server = server
        self.notebook = notebook
        self.console_errors: list[str] = []
        page.on("console", lambda message: self.console_errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.set_default_timeout(WIDGET_TIMEOUT * 1000)
        page.goto(server.notebook_url(notebook, workspace), timeout=STARTUP_TIMEOUT * 1000)
        page.wait_for_selector(KERNEL_IDLE, timeout=STARTUP_TIMEOUT * 1000)
        wait_for_kernel(server.url, server.token, notebook)  # the indicator reads idle before the kernel starts
        if page.locator(LEFT_SIDEBAR_OPEN_TAB).count():
            page.locator(LEFT_SIDEBAR_OPEN_TAB).click()  # more width for the notebook

    # --- running cells -------------------------------------------------------------------------------
    def menu(self, menu: str, item: str) -> None:
        """Click a menu bar item, then an entry of its menu."""
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    def run_all(self) -> None:
        """Clear every output (so only this run's show), Run All, and wait until the run is over."""
        self.clear_outputs()
        self.run_and_wait(lambda: self.menu("Run", "Run All Cells"))

    def run_all_above(self, cell: Locator) -> None:
        """Clear every output, select ``cell`` and run every cell above it (not the cell itself)."""
        self.clear_outputs()
        self.select(cell)
        self.run_and_wait(lambda: self.menu("Run", "Run All Above Selected Cell"))

    def clear_outputs(self) -> None:
        """Clear every cell's outputs and execution count (Edit > Clear Outputs of All Cells)."""
        self.menu("Edit", "Clear Outputs of All Cells")
        self.page.wait_for_function(f"() => {_COUNTED_PROMPTS} === 0", timeout=WIDGET_TIMEOUT * 1000)

    def run_and_wait(self, action: Callable[[], object], timeout: float = RUN_TIMEOUT) -> None:
        """Do ``action`` (which runs cells), then wait until a cell more has run, none is queued or running
        (no ``[*]`` prompt) and the kernel is idle."""
        counted = self.page.evaluate(f"() => {_COUNTED_PROMPTS}")
        action()
        self.page.wait_for_function(
            f"([idle, counted]) => document.querySelector(idle) !== null && {_COUNTED_PROMPTS} > counted && "
            "![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
            arg=[KERNEL_IDLE, counted], timeout=timeout * 1000, polling=100)

    def kernel_is_idle(self) -> bool:
        """True when the notebook's kernel status reads idle."""
        return self.page.locator(KERNEL_IDLE).count() == 1

    def select(self, cell: Locator) -> None:
        """Make ``cell`` the active cell (command mode), as clicking left of it does."""
        cell.locator(INPUT_PROMPT).first.click()

    def add_cell_and_run(self, code: str) -> str:
        """Add a code cell at the end, type ``code`` into it, run it, and return its output text."""
        self.select(self.page.locator(CELL).last)
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")  # insert a cell below (command mode)
        self.page.keyboard.press("Enter")  # edit mode
        self.page.keyboard.insert_text(code)
        self.run_and_wait(lambda: self.page.keyboard.press("Control+Enter"))
        return "\n".join(self.page.locator(CELL).last.locator(OUTPUT).all_inner_texts())

    # --- what the page shows -------------------------------------------------------------------------
    def code_cells_not_run(self) -> list[int]:
        """Indexes (among code cells) of the cells without an execution count."""
        prompts = self.page.locator(CODE_CELL).locator(INPUT_PROMPT).all_inner_texts()
        return [i for i, text in enumerate(prompts) if not any(c.isdigit() for c in text)]

    def error_outputs(self) -> list[str]:
        """The last line (``SomeError: message``) of every output that shows a traceback."""
        texts = self.page.locator(OUTPUT).filter(has_text=TRACEBACK_TEXT).all_inner_texts()
        return [text.strip().splitlines()[-1] for text in texts]

    def outputs_with(self, text: str) -> list[str]:
        """The text of every output that contains ``text``."""
        return self.page.locator(OUTPUT).filter(has_text=text).all_inner_texts()

    def cut_texts(self, scope: Locator, selector: str, tooltip_will_do: bool = False) -> list[str]:
        """Texts of the elements under ``scope`` matching ``selector`` that are cut off (unless they have a
        tooltip and ``tooltip_will_do``)."""
        return scope.locator(selector).evaluate_all(
            "(els, tooltip) => els.filter(e => e.scrollWidth > e.clientWidth + 1 && !(tooltip && e.title))"
            ".map(e => e.textContent.trim())", tooltip_will_do)

    def screenshot(self, path: Path) -> None:
        """Save the whole notebook (not just the viewport) as a PNG."""
        height = self.page.locator(NOTEBOOK_SCROLLER).evaluate("e => { e.scrollTop = 0; return e.scrollHeight; }")
        viewport = self.page.viewport_size or {"width": 1280, "height": 900}
        self.page.set_viewport_size({"width": viewport["width"], "height": min(int(height) + 200, 16000)})
        self.page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(viewport)
