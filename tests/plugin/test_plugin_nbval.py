"""The README's recipe for users' own notebooks: store the outputs once, then nbval with the shipped sanitize file.

A notebook written at test time (a seeded simulator, a receiver, a subscription, an event) passes
nbval twice in a row with the shipped rules (its ports and arrival times change every run); two
unseeded runs read the same once the unseeded rules are applied.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from rchelpers import Config, RestClient, SubscriptionClient, TokenManager, WebhookReceiver
from rchelpers.simulator import Simulator
from rchelpers.testing import sanitize_path
from readme_snippets import code_blocks

pytest_plugins = ["pytester"]

CELLS = code_blocks("### Your own notebooks under nbval")  # the README's minimal notebook, one cell per block


def _sanitize(text: str, rules: Path) -> str:
    for regex, replace in re.findall(r"^regex: (.*)$\n^replace: (.*)$", rules.read_text(), flags=re.MULTILINE):
        text = re.sub(regex, replace, text)
    return text


def test_the_recipe_gives_a_stable_nbval_run_with_the_shipped_rules(pytester: pytest.Pytester) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()  # store the outputs once
    nbformat.write(notebook, pytester.path / "mine.ipynb")

    printed = pytester.run(sys.executable, "-m", "rchelpers.testing", "sanitize-path")
    rules = printed.stdout.lines[0]
    assert Path(rules) == sanitize_path() and Path(rules).is_file()
    for _ in range(2):
        result = pytester.runpytest("--nbval", "--nbval-current-env", "--nbval-sanitize-with", rules, "mine.ipynb",
                                    "-p", "no:cacheprovider")
        result.assert_outcomes(passed=len(CELLS))


def test_the_unseeded_rules_make_two_unseeded_runs_read_the_same() -> None:
    def run() -> str:
        with Simulator() as sim, WebhookReceiver(journal=False) as rx:
            with TokenManager(Config.from_mapping(sim.credentials.as_env())) as tokens:
                sub = SubscriptionClient(RestClient(tokens)).create(
                    rx.url, ["/restapi/v1.0/account/~/extension/~/presence"])
                sim.trigger("presence")
                sim.wait_for_deliveries()
                rx.wait_for(1)
                return f"{sim!r}\n{sub!r}\n{sub.raw}\n{rx.events!r}\n{tokens!r}\n{sim.credentials!r}"

    first, second = run(), run()
    assert first != second
    seeded, unseeded = sanitize_path(), sanitize_path(seeded=False)
    assert _sanitize(first, unseeded) == _sanitize(second, unseeded), (_sanitize(first, unseeded),
                                                                      _sanitize(second, unseeded))
    assert _sanitize(first, seeded) != _sanitize(second, seeded)  # the seeded rules leave ids and times compared
    assert seeded.read_text().split("[loopback ports]")[1] in unseeded.read_text()


def test_the_command_line_prints_both_paths() -> None:
    for args, expected in (([], sanitize_path()), (["--unseeded"], sanitize_path(seeded=False))):
        printed = subprocess.run([sys.executable, "-m", "rchelpers.testing", "sanitize-path", *args],
                                 capture_output=True, text=True, timeout=60, check=True)
        assert printed.stdout.strip() == str(expected)
