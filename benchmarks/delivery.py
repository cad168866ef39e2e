"""Delivery figures: notifications per second and event-to-acknowledgement latency, simulator to receiver.

    python -m benchmarks.delivery [--events N] [--rate R] [--seconds S] [--journal]

Runs the embedded simulator and one :class:`~rchelpers.WebhookReceiver` in this process (as a
notebook does) and measures, for one subscription and for 30 subscriptions on the same receiver:

* throughput: ``--events`` presence events triggered as fast as possible; deliveries acknowledged per
  second, from the first trigger to the last acknowledgement;
* latency: events triggered at a steady ``--rate`` deliveries per second for ``--seconds``; for each
  delivery, the time from ``sim.trigger`` to the receiver's 2xx reaching the simulator (p50/p99/max).

The floors the project holds itself to: at least 1,000 notifications/s to one receiver, p99 at most 50 ms.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import dataclass

from rchelpers import WebhookReceiver
from rchelpers.simulator import Simulator
from rchelpers.simulator.filters import parse_filters

FLOOR_RPS = 1000.0
FLOOR_P99_MS = 50.0


@dataclass
class Figures:
    """One row of the table."""

    scenario: str
    deliveries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int

    @property
    def rate(self) -> float:
        """Deliveries acknowledged per second."""
        return self.deliveries / self.seconds if self.seconds else 0.0


class _Acks:
    """Collects, per notification uuid, when the simulator got the receiver's answer."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.failed = 0
        self._lock = threading.Condition()

    def __call__(self, attempt) -> None:  # a DeliveryEngine listener
        with self._lock:
            if attempt.ok:
                self.times[attempt.uuid] = time.perf_counter()
            else:
                self.failed += 1
            self._lock.notify_all()

    def wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.times) + self.failed < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(self.times)} of {count} deliveries acknowledged in {timeout} s")
                self._lock.wait(left)


def _subscribe(sim: Simulator, address: str, count: int) -> None:
    user, client_id = sim.accounts.user, sim.accounts.demo_app.client_id
    for _ in range(count):
        filters = parse_filters(["/restapi/v1.0/account/~/extension/~/presence"], user.owner)
        sim.subscriptions.create_webhook(user, client_id, filters, address, None, None)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _trigger(sim: Simulator, sent: dict[str, float]) -> None:
    """Trigger one presence event; note when, under the uuid of each notification it made."""
    at = time.perf_counter()
    for note in sim.trigger("presence").notifications:
        sent[note.uuid] = at


def _acknowledged(acks: _Acks, sent: dict[str, float], started: float) -> tuple[list[float], float]:
    """Wait for every notification in ``sent``; their trigger-to-acknowledgement latencies (ms) and the
    seconds from ``started`` to the last acknowledgement."""
    acks.wait(len(sent), timeout=120)
    elapsed = max(acks.times.values()) - started
    return [(acks.times[u] - t) * 1000 for u, t in sent.items() if u in acks.times], elapsed


def run_scenario(name: str, subscriptions: int, events: int, rate: float, seconds: float, journal: bool) -> list[Figures]:
    """Throughput and paced-latency figures for ``subscriptions`` subscriptions on one receiver."""
    rows: list[Figures] = []
    with Simulator(rate_limits=None) as sim, WebhookReceiver(journal=journal, max_events=1000) as receiver:
        _subscribe(sim, receiver.url, subscriptions)
        acks = _Acks()
        sim.notifier.engine.add_listener(acks)

        # warm-up: open the keep-alive connections
        for _ in range(5):
            sim.trigger("presence")
        sim.wait_for_deliveries(10)
        acks.times.clear()

        started = time.perf_counter()
        sent: dict[str, float] = {}
        for _ in range(events):
            _trigger(sim, sent)
        latencies, elapsed = _acknowledged(acks, sent, started)
        rows.append(Figures(f"{name}: throughput", len(latencies), elapsed, _percentile(latencies, 0.5),
                            _percentile(latencies, 0.99), max(latencies), acks.failed))

        acks.times.clear()
        sent.clear()
        event_rate = rate / subscriptions
        total = int(event_rate * seconds)
        started = time.perf_counter()
        for n in range(total):
            due = started + n / event_rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            _trigger(sim, sent)
        latencies, elapsed = _acknowledged(acks, sent, started)
        rows.append(Figures(f"{name}: paced at {rate:.0f}/s", len(latencies), elapsed,
                            statistics.median(latencies), _percentile(latencies, 0.99), max(latencies), acks.failed))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the figures table; exit status 1 if the one-receiver floors are not met."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delivery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="events for the throughput run (default 3000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="deliveries/s for the latency run (default 1000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the latency run (default 3)")
    parser.add_argument("--journal", action="store_true", help="let the receiver journal to disk (off by default)")
    args = parser.parse_args(argv)
    rows = run_scenario("1 subscription", 1, args.events, args.rate, args.seconds, args.journal)
    rows += run_scenario("30 subscriptions", 30, max(1, args.events // 30), args.rate, args.seconds, args.journal)
    print(f"Simulator -> one WebhookReceiver (journal {'on' if args.journal else 'off'}), same process")
    print(f"{'scenario':<34} {'deliveries':>10} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>6}")
    for row in rows:
        print(f"{row.scenario:<34} {row.deliveries:>10} {row.rate:>9.0f} {row.p50_ms:>8.2f} {row.p99_ms:>8.2f} "
              f"{row.max_ms:>8.2f} {row.failed:>6}")
    one = rows[:2]
    ok = one[0].rate >= FLOOR_RPS and one[1].p99_ms <= FLOOR_P99_MS
    print(f"Floors (one receiver): >= {FLOOR_RPS:.0f}/s and p99 <= {FLOOR_P99_MS:.0f} ms at {args.rate:.0f}/s: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
