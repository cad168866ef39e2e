"""The tutorial as a learner meets it: each notebook opened in JupyterLab in Chromium, Run All, then looked at.

After Run All every code cell has run, no output shows a traceback, a cell that prints the notebook's thread check
shows ``threads left running: []`` exactly, the page logged no console error, and every tutorial widget the
notebook displays is still on screen (the credentials form, the subscription table with its rows, the live feeds
with theirs), a stopped one saying so. The table's buttons act on the platform and say what they did, a failed
action is one red line, and the feed shows an event that arrives while no cell runs. A screenshot of each notebook
and of each of its widgets after Run All goes to ``tests/browser/screenshots/`` (git-ignored) for review.

A test gathers what is wrong into a list and asserts it is empty, so one run reports every problem of a page.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from lab_driver import (CODE_CELL, CURRENT_TAB, DELETE_BUTTON, FEED, FEED_EVENT_TEXT, FEED_ROW, FORM, FORM_BUTTON,
                        FORM_FIELD, FORM_FIELD_LABELS, FORM_FIELD_TO_EMPTY, INPUT_PROMPT, NEXT_CELL, NO_THREADS_LEFT,
                        RENEW_BUTTON, RENEW_MOVE, SIMULATOR_URL_CODE, STATUS, STATUS_ERROR, STATUS_OK, STOPPED,
                        STOPPED_TEXT, TABLE, TABLE_AGAIN_CODE, TABLE_REFRESH, TABLE_ROW, TABLE_TEXTS,
                        THREADS_LEFT_PREFIX, WIDGET_CLASSES, WIDGET_ERROR_TEXT, WIDGET_TIMEOUT, WIDGET_VIEW_MIME,
                        JupyterLabServer, MakeLab, NotebookPage, http_json, wait_for_kernel)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CREDENTIALS = "01_token_setup.ipynb"
RENEW_AND_LIST = "04_renew_and_list.ipynb"
EVENTS = "05_events_end_to_end.ipynb"
WITH_OWN_TEST = {CREDENTIALS, RENEW_AND_LIST, EVENTS}
FEED_EVENT = {"kind": "presence", "fields": {"presenceStatus": "Offline", "telephonyStatus": "ParkedCall"}}
CLOCK_STEP = 300  # seconds the platform's clock moves before Renew, so that renewing visibly moves the expiry


# --- what the stored notebook says the page should show ---------------------------------------------------------


def stored_notebook(notebook: NotebookPage) -> nbformat.NotebookNode:
    """The notebook file JupyterLab serves (its stored outputs are those `make notebooks` wrote)."""
    return nbformat.read(notebook.server.root / notebook.notebook, as_version=4)


def stored_code_outputs(notebook: NotebookPage) -> list[str]:
    """Each code cell's stored output text (streams and text/plain), in order."""
    texts = []
    for cell in stored_notebook(notebook).cells:
        if cell.cell_type == "code":
            texts.append("".join(str(out.get("text") or out.get("data", {}).get("text/plain", ""))
                                 for out in cell.get("outputs", [])))
    return texts


def stored_widget_views(notebook: NotebookPage) -> list[tuple[int, str]]:
    """``(code cell index, CSS class)`` of each tutorial widget view the stored outputs display, in order."""
    views = []
    code_cells = [cell for cell in stored_notebook(notebook).cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            name = str(data.get("text/plain", "")).split("(", 1)[0]
            if WIDGET_VIEW_MIME in data and name in WIDGET_CLASSES:
                views.append((index, WIDGET_CLASSES[name]))
    return views


# --- Run All and the checks every notebook gets ------------------------------------------------------------------


def run_all(notebook: NotebookPage, screenshots: Path) -> list[str]:
    """Run All, save screenshots (the notebook, and each tutorial widget in it), and return what is wrong: cells
    not run, tracebacks, widgets JupyterLab could not draw or that are missing, a thread check that is not
    ``threads left running: []``."""
    notebook.run_all()
    stem = notebook.notebook.replace(".ipynb", "")
    notebook.screenshot(screenshots / f"{stem}.png")
    problems = [f"traceback: {line}" for line in notebook.error_outputs()]
    problems += [f"code cell {i} (0-based) did not run" for i in notebook.code_cells_not_run()]
    problems += [f"a widget is not drawn: {text.strip()[:120]!r}" for text in notebook.outputs_with(WIDGET_ERROR_TEXT)]
    problems += thread_check_problems(notebook)
    stored = [css_class for _, css_class in stored_widget_views(notebook)]
    for css_class in WIDGET_CLASSES.values():
        views, expected = notebook.page.locator(css_class), stored.count(css_class)
        if views.count() != expected:
            problems.append(f"{views.count()} views of {css_class} after Run All, the stored notebook shows {expected}")
        for i, view in enumerate(views.all()):
            if not view.is_visible():
                problems.append(f"{css_class} view {i + 1} is not visible after Run All")
                continue
            view.screenshot(path=str(screenshots / f"{stem}-{css_class.strip('.')}-{i + 1}.png"))
    return problems


def thread_check_problems(notebook: NotebookPage) -> list[str]:
    """Each line ``threads left running: ...`` shown must be ``threads left running: []``, and each code cell whose
    stored output has that line must show it."""
    problems = []
    shown, stored = notebook.code_cell_outputs(), stored_code_outputs(notebook)
    for i, text in enumerate(shown):
        lines = [line.strip() for line in text.splitlines() if line.strip().startswith(THREADS_LEFT_PREFIX)]
        problems += [f"code cell {i}: {line!r} (expected {NO_THREADS_LEFT!r})" for line in lines
                     if line != NO_THREADS_LEFT]
        if i < len(stored) and THREADS_LEFT_PREFIX in stored[i] and not lines:
            problems.append(f"code cell {i} does not print {NO_THREADS_LEFT!r} as its stored output does")
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


def one_red_line(widget, where: str) -> list[str]:
    """Problems unless ``widget``'s status is one red line and nothing else in it is red."""
    errors = widget.locator(STATUS_ERROR)
    if errors.count() != 1:
        return [f"{where}: {errors.count()} red status lines (expected one)"]
    text = errors.inner_text().strip()
    if not text or "\n" in text or "Traceback" in text:
        return [f"{where}: the red status is not one line: {text!r}"]
    return []


def simulator_url(notebook: NotebookPage) -> str:
    """The URL of the embedded platform the notebook's kernel runs, from a cell typed in at test time."""
    urls = notebook.add_cell_and_run(SIMULATOR_URL_CODE).split()
    assert len(urls) == 1, f"expected one running simulator in the kernel, found {urls}"
    return urls[0]


def shown_rows(table) -> dict[str, str]:
    """The subscription table's rows as ``{id shown: whole row text}``."""
    return {text.split()[0]: " ".join(text.split()) for text in table.locator(TABLE_ROW).all_inner_texts()}


def redraw(notebook: NotebookPage, table, action: Callable[[], object]) -> None:
    """Do ``action`` (a click) and wait until the table has drawn its rows anew (a refresh makes new row widgets)."""
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


def test_the_checks_catch_a_traceback_an_unrun_cell_and_a_thread_left(open_notebook: Callable[[str], NotebookPage],
                                                                       jupyterlab: JupyterLabServer,
                                                                       screenshots: Path) -> None:
    """The checks can fail: a thread check naming a thread, a cell that raises, and the cell it keeps from running
    (whose stored output has the thread check) are each reported."""
    cells = [nbformat.v4.new_code_cell("print('threads left running:', ['probe-thread'])"),
             nbformat.v4.new_code_cell("raise RuntimeError('probe')"),
             nbformat.v4.new_code_cell("print('threads left running:', [])",
                                       outputs=[nbformat.v4.new_output("stream", text=f"{NO_THREADS_LEFT}\n")])]
    probe = nbformat.v4.new_notebook(cells=cells)
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, jupyterlab.root / "probe.ipynb")
    notebook = open_notebook("probe.ipynb")
    assert run_all(notebook, screenshots) == [
        "traceback: RuntimeError: probe", "code cell 2 (0-based) did not run",
        f"code cell 0: \"threads left running: ['probe-thread']\" (expected {NO_THREADS_LEFT!r})",
        f"code cell 2 does not print {NO_THREADS_LEFT!r} as its stored output does"]


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
    """The form is shown with its four named fields (two hidden), its button label whole, its status green after
    the notebook submitted it; with a field emptied, a click answers with one red line naming that field."""
    notebook = open_notebook(CREDENTIALS)
    problems = run_all(notebook, screenshots)
    form = notebook.page.locator(FORM).last
    if not notebook.page.locator(FORM).count() or not form.is_visible():
        report(notebook, problems + ["the credentials form is not shown after Run All"])
    fields = form.locator(FORM_FIELD)
    if fields.count() != len(FORM_FIELD_LABELS):
        problems.append(f"the form has {fields.count()} fields, expected {len(FORM_FIELD_LABELS)}")
    problems += [f"the form shows no field {label!r}" for label in FORM_FIELD_LABELS
                 if not form.get_by_text(label, exact=True).is_visible()]
    if form.locator("input[type=password]").count() != 2:
        problems.append("the client secret and the JWT must be password fields")
    button = form.locator(FORM_BUTTON)
    if button.count() != 1 or not button.is_visible():
        report(notebook, problems + [f"the form shows {button.count()} buttons, expected one"])
    problems += [f"the button's label is cut: {text!r}" for text in notebook.cut_texts(form, FORM_BUTTON)]
    problems += [f"a field's label is cut: {text!r}" for text in notebook.cut_texts(form, "label")]
    if not form.locator(STATUS).locator(STATUS_OK).count():
        problems.append(f"the form's status is not green after the notebook used it: "
                        f"{form.locator(STATUS).inner_text()!r}")

    field = form.locator(FORM_FIELD).filter(has_text=FORM_FIELD_TO_EMPTY).locator("input")
    field.fill("")
    button.click()
    wait_for(notebook, lambda: form.locator(STATUS_ERROR).count() > 0,
             "the form did not answer a click with a field emptied with a red line")
    problems += one_red_line(form, "the form with a field emptied")
    if FORM_FIELD_TO_EMPTY.lower() not in form.locator(STATUS_ERROR).inner_text().lower():
        problems.append(f"with {FORM_FIELD_TO_EMPTY!r} empty, the form's answer does not name that field: "
                        f"{form.locator(STATUS_ERROR).inner_text()!r}")
    problems += [f"after the click: traceback {line}" for line in notebook.error_outputs()]
    report(notebook, problems + console_problems(notebook))


# --- 04: the subscription table ----------------------------------------------------------------------------------


def test_subscription_table_after_run_all(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    """Once the notebook has stopped everything, the table still shows its rows (each with Renew and Delete, no
    text cut), stopped: buttons off, a status that says so. The table shown again then (the platform gone) says
    so in one red line, with no traceback."""
    notebook = open_notebook(RENEW_AND_LIST)
    problems = run_all(notebook, screenshots)
    table = notebook.page.locator(TABLE).last
    if not notebook.page.locator(TABLE).count() or not table.is_visible():
        report(notebook, problems + ["no subscription table is displayed after Run All"])
    rows = table.locator(TABLE_ROW)
    if rows.count() == 0:
        problems.append("the table shows no row after Run All (the notebook leaves one subscription in it)")
    for i, row in enumerate(rows.all()):
        for name, selector in (("Renew", RENEW_BUTTON), ("Delete", DELETE_BUTTON)):
            button = row.locator(selector)
            if button.count() != 1 or not button.is_visible():
                problems.append(f"row {i + 1} shows no {name} button")
            elif button.is_enabled():
                problems.append(f"row {i + 1}'s {name} button is still on in the stopped table")
    if table.locator(TABLE_REFRESH).is_enabled():
        problems.append("Refresh is still on in the stopped table")
    if not table.evaluate("(e, stopped) => e.matches(stopped)", STOPPED):
        problems.append(f"the table is not marked stopped ({STOPPED})")
    status = table.locator(STATUS)
    if not status.is_visible() or STOPPED_TEXT not in status.inner_text():
        problems.append(f"the table's status does not say it stopped: {status.inner_text()!r}")
    problems += [f"a table text is cut without a tooltip: {text!r}"
                 for text in notebook.cut_texts(table, TABLE_TEXTS, tooltip_will_do=True)]

    notebook.add_cell_and_run(TABLE_AGAIN_CODE)
    again = notebook.page.locator(TABLE)
    if again.count() != 2:
        report(notebook, problems + [f"{TABLE_AGAIN_CODE} after Run All shows no new table"])
    problems += one_red_line(again.last, f"{TABLE_AGAIN_CODE} with the platform stopped")
    problems += [f"{TABLE_AGAIN_CODE} with the platform stopped: traceback {line}" for line in notebook.error_outputs()]
    again.last.screenshot(path=str(screenshots / "04_renew_and_list-table-again-platform-stopped.png"))
    report(notebook, problems + console_problems(notebook))


def test_subscription_table_buttons(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    """Run up to the cell that shows the table; Renew moves a row's expiry and the status says how
    ``expirationTime`` moved, Delete removes the row, and a renewal the platform refuses is one red line."""
    notebook = open_notebook(RENEW_AND_LIST)
    table_cell = next(index for index, css_class in stored_widget_views(notebook) if css_class == TABLE)
    notebook.run_all_above(notebook.page.locator(CODE_CELL).nth(table_cell).locator(NEXT_CELL))  # it and all above
    assert notebook.error_outputs() == []
    table = notebook.page.locator(TABLE).last
    rows = table.locator(TABLE_ROW)
    rows.first.wait_for(state="visible")
    assert rows.count() >= 2, "the table should list the notebook's webhook subscriptions"
    for row in rows.all():
        assert row.locator(RENEW_BUTTON).is_enabled() and row.locator(DELETE_BUTTON).is_enabled()
    problems = [f"a table text is cut without a tooltip: {text!r}"
                for text in notebook.cut_texts(table, TABLE_TEXTS, tooltip_will_do=True)]
    url = simulator_url(notebook)

    http_json("POST", url + "/_sim/clock/advance", {"seconds": CLOCK_STEP})
    redraw(notebook, table, lambda: table.locator(TABLE_REFRESH).click())
    first_id, before = next(iter(shown_rows(table).items()))
    redraw(notebook, table, lambda: rows.filter(has_text=first_id).locator(RENEW_BUTTON).click())
    after = shown_rows(table).get(first_id)
    assert after is not None, f"row {first_id!r} is gone after Renew"
    said = table.locator(STATUS).inner_text()
    moved = re.search(RENEW_MOVE, said)
    assert moved, f"after Renew the status does not say how expirationTime moved: {said!r}"
    old, new = moved.groups()
    assert old != new, f"Renew after {CLOCK_STEP} s did not move expirationTime: {said!r}"
    assert old in before and new in after and old not in after, \
        f"row {first_id!r} does not show the move {old} -> {new}: before {before!r}, after {after!r}"
    table.screenshot(path=str(screenshots / "04_renew_and_list-table-after-renew.png"))

    shown = shown_rows(table)
    last_id = list(shown)[-1]
    redraw(notebook, table, lambda: rows.filter(has_text=last_id).locator(DELETE_BUTTON).click())
    assert set(shown_rows(table)) == set(shown) - {last_id}, f"Delete did not remove just row {last_id!r}"
    assert last_id in table.locator(STATUS_OK).inner_text(), "the status does not say which row was deleted"
    table.screenshot(path=str(screenshots / "04_renew_and_list-table-after-renew-and-delete.png"))

    http_json("POST", url + "/_sim/reset")  # the platform forgets every subscription: renewing one now fails
    table.locator(RENEW_BUTTON).first.click()
    wait_for(notebook, lambda: table.locator(STATUS_ERROR).count() > 0, "a refused Renew shows no red status")
    problems += one_red_line(table, "Renew refused by the platform")
    problems += [f"Renew refused by the platform: traceback {line}" for line in notebook.error_outputs()]
    table.screenshot(path=str(screenshots / "04_renew_and_list-table-renew-refused.png"))
    report(notebook, problems + console_problems(notebook))


# --- 05: the live feed ---------------------------------------------------------------------------------------------


def test_event_feeds_after_run_all(open_notebook: Callable[[str], NotebookPage], screenshots: Path) -> None:
    """Every feed view the notebook displays is still shown after Run All, with its rows, stopped and saying so."""
    notebook = open_notebook(EVENTS)
    problems = run_all(notebook, screenshots)
    feeds = notebook.page.locator(FEED)
    if not feeds.count():
        problems.append("no event feed is displayed after Run All")
    for i, feed in enumerate(feeds.all()):
        if not feed.locator(FEED_ROW).count():
            problems.append(f"feed view {i + 1} shows no event after Run All")
        if not feed.evaluate("(e, stopped) => e.matches(stopped)", STOPPED):
            problems.append(f"feed view {i + 1} is not marked stopped ({STOPPED})")
        if STOPPED_TEXT not in feed.inner_text():
            problems.append(f"feed view {i + 1} does not say it stopped")
    report(notebook, problems + console_problems(notebook))


def test_event_feed_updates_while_the_kernel_is_idle(open_notebook: Callable[[str], NotebookPage],
                                                     screenshots: Path) -> None:
    """Run everything but the clean-up cell, then send an event from the platform: a row appears, no cell runs."""
    notebook = open_notebook(EVENTS)
    notebook.run_all_above(notebook.page.locator(CODE_CELL).last)
    assert notebook.error_outputs() == []
    url = simulator_url(notebook)
    feed_rows = notebook.page.locator(FEED).locator(FEED_ROW)
    shown_before = feed_rows.filter(has_text=FEED_EVENT_TEXT).count()
    prompts_before = notebook.page.locator(INPUT_PROMPT).all_inner_texts()
    assert notebook.kernel_is_idle()

    result = http_json("POST", url + "/_sim/events", FEED_EVENT)
    assert result["subscriptionIds"], "no subscription of the notebook takes a presence event"
    wait_for(notebook, lambda: feed_rows.filter(has_text=FEED_EVENT_TEXT).count() > shown_before,
             f"the feed shows no new row with {FEED_EVENT_TEXT!r}")
    assert notebook.page.locator(INPUT_PROMPT).all_inner_texts() == prompts_before, "a cell ran meanwhile"
    feed = notebook.page.locator(FEED).filter(has=notebook.page.locator(FEED_ROW).filter(has_text=FEED_EVENT_TEXT)).last
    assert not feed.evaluate("(e, stopped) => e.matches(stopped)", STOPPED), "the live feed says it stopped"
    feed.screenshot(path=str(screenshots / "05_events_end_to_end-feed-updated-while-idle.png"))
    report(notebook, console_problems(notebook))
