"""Benchmark: the pytest plugin's per-test cost. Run ``python -m benchmarks.plugin``.

Four figures:

- what a simulator costs: construction, start, reset() and stop (median and max);
- the setup + teardown time of ``rc_sim`` + ``rc_receiver`` per test (median and p99 over ``--tests``
  tests), with the plugin's default (one simulator per process and options, ``reset()`` before each test)
  and with ``--rc-fresh-sim`` (a simulator started for each test);
- whether a reset simulator is as good as a fresh one: the same test (login, a subscription, an
  event, an hour) run on simulators of their own and on the kept one, and what differs;
- the wall time of the worked example's tests (``examples/``).

Each run is pytest itself, in this process, on test files written to a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from rchelpers.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent

PER_TEST = """
    import pytest

    @pytest.mark.parametrize("n", range({tests}))
    def test_overhead(n, rc_sim, rc_receiver):
        assert rc_receiver.running and rc_sim.running
"""

STORY = """
    import json, pathlib
    import pytest
    from rchelpers import Config, RestClient, SubscriptionClient, TokenManager

    OUT = pathlib.Path({out!r})

    def story(sim, receiver):
        with TokenManager(Config.from_mapping(sim.credentials.as_env()), clock=sim.clock.now) as tokens:
            sub = SubscriptionClient(RestClient(tokens)).create(
                receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
            start = sim.clock.now()
            sim.trigger("presence")
            sim.clock.advance(3600)
            return {{"subscription id": sub.id, "access token": tokens.access_token, "clock at start": start,
                    "notification uuids": [a.uuid for a in sim.deliveries],
                    "delivery log ids": [a.id for a in sim.deliveries],
                    "event body": receiver.events[0].body}}

    @pytest.mark.rc_sim(fresh=True)
    @pytest.mark.parametrize("n", range(2))
    def test_fresh(n, rc_sim, rc_receiver):
        (OUT / f"fresh{{n}}.json").write_text(json.dumps(story(rc_sim, rc_receiver)))

    @pytest.mark.parametrize("n", range(2))
    def test_kept(n, rc_sim, rc_receiver):
        (OUT / f"kept{{n}}.json").write_text(json.dumps(story(rc_sim, rc_receiver)))
"""


def simulator_costs(rounds: int) -> list[str]:
    """Median and max of constructing, starting, resetting and stopping a seeded simulator."""
    costs: dict[str, list[float]] = {"construct": [], "start": [], "reset": [], "stop": []}
    for _ in range(rounds):
        t0 = time.perf_counter()
        sim = Simulator(seed=1)
        t1 = time.perf_counter()
        sim.start()
        t2 = time.perf_counter()
        sim.reset()
        t3 = time.perf_counter()
        sim.stop()
        t4 = time.perf_counter()
        for name, spent in zip(costs, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            costs[name].append(spent)
    return [f"  {name:<10} median {statistics.median(v) * 1000:6.2f} ms   max {max(v) * 1000:6.2f} ms"
            for name, v in costs.items()]


class _Durations:
    """Collects each test's setup + teardown time (the fixtures' cost) from pytest's reports."""

    def __init__(self) -> None:
        self.per_test: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when in ("setup", "teardown"):
            self.per_test[report.nodeid] = self.per_test.get(report.nodeid, 0.0) + report.duration


def _run(folder: Path, name: str, source: str, *args: str) -> tuple[int, _Durations, float]:
    path = folder / f"test_bench_{name}.py"  # one module name per run: pytest.main in one process caches modules
    path.write_text(textwrap.dedent(source))
    durations = _Durations()
    started = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(path), *args], plugins=[durations])
    return int(code), durations, time.perf_counter() - started


def _figures(label: str, durations: _Durations) -> str:
    values = sorted(durations.per_test.values())
    p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
    return (f"{label:<41} median {statistics.median(values) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
            f"({len(values)} tests)")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100, help="tests per overhead run (default 100)")
    args = parser.parse_args()
    lines = [f"a seeded simulator ({args.tests} rounds):", *simulator_costs(args.tests)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        code, _, _ = _run(folder, "warm_up", PER_TEST.format(tests=2))  # imports paid here, by neither run below
        assert code == 0, "the warm-up run failed"
        code, kept, _ = _run(folder, "kept", PER_TEST.format(tests=args.tests))
        assert code == 0, "the run with the plugin's default failed"
        code, fresh, _ = _run(folder, "fresh", PER_TEST.format(tests=args.tests), "--rc-fresh-sim")
        assert code == 0, "the --rc-fresh-sim run failed"
        lines.append("rc_sim + rc_receiver setup + teardown per test:")
        lines.append("  " + _figures("one simulator, reset() (the default):", kept))
        lines.append("  " + _figures("a simulator per test (--rc-fresh-sim):", fresh))

        out = folder / "story"
        out.mkdir()
        code, _, _ = _run(folder, "story", STORY.format(out=str(out)))
        assert code == 0, "the isolation run failed"
        stories = {p.stem: json.loads(p.read_text()) for p in out.iterdir()}
        same_fresh = stories["fresh0"] == stories["fresh1"]
        differs = [key for key in stories["fresh0"] if stories["kept1"][key] != stories["fresh0"][key]]
        lines.append("isolation (a second test on the kept simulator after reset(), against a fresh one):")
        lines.append(f"  two fresh simulators tell the same story: {'yes' if same_fresh else 'NO'}")
        lines.append("  reset() keeps isolation: " + ("yes" if not differs else "no; differs in: " + ", ".join(differs)))

    started = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", str(ROOT / "examples")])
    lines.append(f"the worked example's tests (examples/): {time.perf_counter() - started:.2f} s wall, exit code {int(code)}")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
