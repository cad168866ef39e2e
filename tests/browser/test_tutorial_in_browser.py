"""The tutorial as a learner meets it: each notebook opened in JupyterLab in Chromium, Run All, then looked at.

After Run All every code cell has run, no output shows a traceback or a thread left running, the page logged no
console error, and the widgets are still displayed (the credentials form, the subscription table, the live feed).
The table's buttons act on the platform, and the feed shows an event that arrives while no cell runs. A
screenshot of each notebook after Run All goes to ``tests/browser/screenshots/`` (git-ignored) for review.

A test gathers what is wrong into a list and asserts it is empty, so one run reports every problem of a page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import nbformat
import pytest

from lab_driver import (CODE_CELL, CURRENT_TAB, DELETE_BUTTON, FEED_BOX, FEED_EVENT_TEXT, FEED_ROW, FEED_TABLE,
                        FORM, FORM_BUTTON, FORM_FIELD, FORM_FIELD_LABELS, FORM_FIELD_TO_EMPTY, FORM_STATUS,
                        INPUT_PROMPT, KERNEL_IDLE, NEXT_CELL, RENEW_BUTTON, SIMULATOR_URL_CODE, TABLE, TABLE_CELL,
                        TABLE_CELL_TEXT, TABLE_REFRESH, TABLE_ROW, THREADS_LEFT_TEXT, WIDGET_TIMEOUT, JupyterLabServer,
                        MakeLab, NotebookPage, http_json, wait_for_kernel)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CREDENTIALS = "01_token_setup.ipynb"
RENEW_AND_LIST = "04_renew_and_list.ipynb"
EVENTS = "05_events_end_to_end.ipynb"
WITH_OWN_TEST = {CREDENTIALS, RENEW_AND_LIST, EVENTS}
FEED_EVENT = {"kind": "presence", "fields": {"presenceStatus": "Offline", "telephonyStatus": "ParkedCall"}}
CLOCK_STEP = 300  # seconds the platform's clock moves before Renew, so that renewing visibly moves the expiry


def run_all(notebook: NotebookPage, screenshots: Path) -> list[str]:
    """Run All, save a screenshot, and return what is wrong: cells not run, tracebacks, threads left running."""
    notebook.run_all()
    notebook.screenshot(screenshots / notebook.notebook.replace(".ipynb", ".png"))
    problems = [f"traceback: {line}" for line in notebook.error_outputs()]
    problems += [f"code cell {i} (0-based) did not run" for i in notebook.code_cells_not_run()]
    problems += [f"a leak reported: {text.strip()}" for text in notebook.outputs_with(THREADS_LEFT_TEXT)]
    return problems


def console_problems(notebook: NotebookPage) -> list[str]:
    return [f"console error: {text}" for text in notebook.console_errors]


def report(notebook: NotebookPage, problems: list[str]) -> None:
    assert problems == [], f"{notebook.notebook}:\n  " + "\n  ".join(problems)


def wait_for(notebook: NotebookPage, condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (bounded by WIDGET_TIMEOUT) while the page keeps handling messages."""
    for _ in range(int(WIDGET_TIMEOUT * 10)):
        if condition():
            return
        notebook.page.wait_for_timeout(100)
    raise AssertionError(f"{notebook.notebook}: {what} within {WIDGET_TIMEOUT:g} s")


def simulator_url(notebook: NotebookPage) -> str:
    """The URL of the embedded platform the notebook's kernel runs, from a cell typed in at test time."""
    urls = notebook.add_cell_and_run(SIMULATOR_URL_CODE).split()
    assert len(urls) == 1, f"expected one running simulator in the kernel, found {urls}"
    return urls[0]


def shown_rows(notebook: NotebookPage) -> dict[str, str]:
    """The subscription table's rows as ``{id shown: whole row text}``."""
    rows = notebook.page.locator(TABLE).last.locator(TABLE_ROW)
    return {text.split()[0]: " ".join(text.split()) for text in rows.all_inner_texts()}


def redraw(notebook: NotebookPage, action: Callable[[], object]) -> None:
    """Do ``action`` (a click) and wait until the table has drawn its rows anew (a refresh makes new row widgets)."""
    table = notebook.page.locator(TABLE).last
    table.locator(TABLE_ROW).evaluate_all("rows => rows.forEach(row => row.dataset.drawnBefore = 'yes')")
    action()
    old, new = table.locator(f"{TABLE_ROW}[data-drawn-before]"), table.locator(f"{TABLE_ROW}:not([data-drawn-before])")
    wait_for(notebook, lambda: old.count() == 0 and new.count() > 0, "the table did not draw its rows anew")


# --- every notebook: Run All is clean -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in WITH_OWN_TEST))
def test_notebook_runs_all_cells_cleanly(open_notebook: Callable[[str], NotebookPage], screenshots: Path,
                                         name: str) -> None:
    notebook = open_notebook(name)
    problems = run_all(notebook, screenshots)
    report(notebook, problems + console_problems(notebook))


def test_a_traceback_and_a_cell_left_unrun_are_caught(open_notebook: Callable[[str], NotebookPage],
                                                       jupyterlab: JupyterLabServer, screenshots: Path) -> None:
    """The checks can fail: a notebook whose first cell raises shows it, and its second cell never runs."""
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise RuntimeError('probe')"),
                                            nbformat.v4.new_code_cell("print('never')")])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, jupyterlab.root / "probe.ipynb")
    notebook = open_notebook("probe.ipynb")
    assert run_all(notebook, screenshots) == ["traceback: RuntimeError: probe", "code cell 1 (0-based) did not run"]


# --- make lab ------------------------------------------------------------------------------------------------


def test_make_lab_prints_and_opens_the_first_notebook(browser, tmp_path: Path) -> None:
    """The URL `make lab` prints is notebook 1's (not the Launcher's), and opening it shows that notebook."""
    lab = MakeLab(NOTEBOOKS.parent, tmp_path)
    try:
        url = lab.printed_url()
        assert f"/lab/tree/{CREDENTIALS}?token=" in url, f"make lab printed {url}"
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url, timeout=60_000)
            page.locator(CURRENT_TAB).filter(has_text=CREDENTIALS).wait_for(timeout=60_000)
            wait_for_kernel(f"http://127.0.0.1:{lab.port}", lab.token, CREDENTIALS)
        finally:
            page.close()
    finally:
        lab.stop()


# --- 01: the credentials form ----------------------------------------------------------------------------------


def test_credentials_form_after_run_all(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    """The form is shown with its four fields (two hidden), its button label whole; an empty field is named."""
    notebook = open_notebook(CREDENTIALS)
    problems = run_all(notebook, screenshots)
    form = notebook.page.locator(FORM).last
    if not notebook.page.locator(FORM).count() or not form.is_visible():
        report(notebook, problems + ["the credentials form is not shown after Run All"])
    button = form.locator(FORM_BUTTON)
    problems += [f"the form shows no field {label!r}" for label in FORM_FIELD_LABELS
                 if not form.get_by_text(label, exact=True).is_visible()]
    if form.locator("input[type=password]").count() != 2:
        problems.append("the client secret and the JWT must be password fields")
    problems += [f"the button's label is cut: {text!r}" for text in notebook.cut_texts(form, "button")]

    field = form.locator(FORM_FIELD).filter(has_text=FORM_FIELD_TO_EMPTY).locator("input")
    status = form.locator(FORM_STATUS).last
    before = status.inner_text()
    field.fill("")
    button.click()
    wait_for(notebook, lambda: status.inner_text() != before, "the form did not answer a click with a field emptied")
    if FORM_FIELD_TO_EMPTY.lower() not in status.inner_text().lower():
        problems.append(f"with {FORM_FIELD_TO_EMPTY!r} empty, the form's answer does not name that field: "
                        f"{status.inner_text()!r}")
    report(notebook, problems + console_problems(notebook))


# --- 04: the subscription table ----------------------------------------------------------------------------------


def test_subscription_table_after_run_all(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    """The table is still shown once the notebook has stopped everything; Refresh then answers without a traceback."""
    notebook = open_notebook(RENEW_AND_LIST)
    problems = run_all(notebook, screenshots)
    table = notebook.page.locator(TABLE).last
    if not notebook.page.locator(TABLE).count() or not table.is_visible():
        report(notebook, problems + ["no subscription table is displayed after Run All"])
    refresh = table.locator(TABLE_REFRESH)
    if refresh.is_enabled():  # a stopped table may disable its buttons; if not, a click must say what happened
        before = table.inner_text()
        refresh.click()
        try:
            wait_for(notebook, lambda: table.inner_text() != before, "")
        except AssertionError:
            problems.append("Refresh on the stopped table shows nothing (a failed action should say so in one line)")
        notebook.page.wait_for_selector(KERNEL_IDLE)
        problems += [f"Refresh on the stopped table: traceback {line}" for line in notebook.error_outputs()]
    report(notebook, problems + console_problems(notebook))


def test_subscription_table_renew_and_delete_buttons(open_notebook: Callable[[str], NotebookPage],
                                                     screenshots: Path) -> None:
    """Run up to the cell that shows the table; Renew moves a row's expiry, Delete removes the row."""
    notebook = open_notebook(RENEW_AND_LIST)
    table_cell = notebook.page.locator(CODE_CELL).filter(has_text=TABLE_CELL_TEXT).first
    notebook.run_all_above(table_cell.locator(NEXT_CELL))  # the table's cell and all above it
    assert notebook.error_outputs() == []
    table = notebook.page.locator(TABLE).last
    rows = table.locator(TABLE_ROW)
    rows.first.wait_for(state="visible")
    assert rows.count() >= 2, "the table should list the notebook's webhook subscriptions"
    for row in rows.all():
        assert row.locator(RENEW_BUTTON).is_visible() and row.locator(DELETE_BUTTON).is_visible()
    problems = [f"a table cell is cut without a tooltip: {text!r}"
                for text in notebook.cut_texts(table, TABLE_CELL, tooltip_will_do=True)]

    http_json("POST", simulator_url(notebook) + "/_sim/clock/advance", {"seconds": CLOCK_STEP})
    redraw(notebook, lambda: table.locator(TABLE_REFRESH).click())
    first_id, before = next(iter(shown_rows(notebook).items()))
    redraw(notebook, lambda: rows.filter(has_text=first_id).locator(RENEW_BUTTON).click())
    wait_for(notebook, lambda: first_id in shown_rows(notebook), f"row {first_id!r} is gone after Renew")
    after = shown_rows(notebook)[first_id]
    assert after != before, f"Renew did not change row {first_id!r}: {before!r}"

    shown = shown_rows(notebook)
    last_id = list(shown)[-1]
    redraw(notebook, lambda: rows.filter(has_text=last_id).locator(DELETE_BUTTON).click())
    assert set(shown_rows(notebook)) == set(shown) - {last_id}, f"Delete did not remove just row {last_id!r}"
    table.screenshot(path=str(screenshots / "04_renew_and_list-table-after-renew-and-delete.png"))
    assert notebook.error_outputs() == []
    report(notebook, problems + console_problems(notebook))


# --- 05: the live feed ---------------------------------------------------------------------------------------------


def test_event_feed_after_run_all(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    notebook = open_notebook(EVENTS)
    problems = run_all(notebook, screenshots)
    feeds = notebook.page.locator(FEED_TABLE)
    if not feeds.count() or not feeds.last.is_visible():
        problems.append("no event feed is displayed after Run All")
    elif not feeds.last.locator(FEED_ROW).count():
        problems.append("the feed shows no event after Run All")
    report(notebook, problems + console_problems(notebook))


def test_event_feed_updates_while_the_kernel_is_idle(open_notebook: Callable[[str], NotebookPage],
                                                     screenshots: Path) -> None:
    """Run everything but the clean-up cell, then send an event from the platform: a row appears, no cell runs."""
    notebook = open_notebook(EVENTS)
    notebook.run_all_above(notebook.page.locator(CODE_CELL).last)
    assert notebook.error_outputs() == []
    url = simulator_url(notebook)
    feed_rows = notebook.page.locator(FEED_TABLE).locator(FEED_ROW)
    shown_before = feed_rows.filter(has_text=FEED_EVENT_TEXT).count()
    prompts_before = notebook.page.locator(INPUT_PROMPT).all_inner_texts()
    assert notebook.kernel_is_idle()

    result = http_json("POST", url + "/_sim/events", FEED_EVENT)
    assert result["subscriptionIds"], "no subscription of the notebook takes a presence event"
    wait_for(notebook, lambda: feed_rows.filter(has_text=FEED_EVENT_TEXT).count() > shown_before,
             f"the feed shows no new row with {FEED_EVENT_TEXT!r}")
    assert notebook.page.locator(INPUT_PROMPT).all_inner_texts() == prompts_before, "a cell ran meanwhile"
    feed = feed_rows.filter(has_text=FEED_EVENT_TEXT).last.locator(FEED_BOX)
    feed.screenshot(path=str(screenshots / "05_events_end_to_end-feed-updated-while-idle.png"))
    report(notebook, console_problems(notebook))
