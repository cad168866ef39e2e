"""``rchelpers clock`` and ``rchelpers clock advance SECONDS``: the simulator's clock, over HTTP.

``GET /_sim/clock`` shows the simulated time, the speed and the jobs waiting on the clock (scenario steps,
reminders, retries, expiry); ``POST /_sim/clock/advance`` moves it forward, running every job due on the
way, in order. No login is needed. The real platform's clock is the real one: against it they say so.
"""
from __future__ import annotations

import argparse
import math
from typing import Any

from rchelpers.cli.output import Output
from rchelpers.cli.platform import sim_control

EXAMPLES = """\
examples:
  rchelpers clock                                      # the simulated time, speed and pending jobs
  rchelpers clock advance 90                           # the rest of `rchelpers trigger inbound_call` at once
  rchelpers clock advance 3000                         # 50 minutes: renewal reminders, retries, expiry

The clock runs in real time (`rchelpers sim`), faster (--clock-speed X) or is frozen (--seed N, or
--clock-speed 0): a frozen clock moves only with `clock advance`.
"""
REAL_PLATFORM_CLOCK = "has no clock to move: its time is the real time"


def configure(subparsers: Any) -> None:
    """Add the ``clock`` command (``clock`` shows the time, ``clock advance SECONDS`` moves it)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "clock", help="show or advance the simulator's clock", epilog=EXAMPLES, formatter_class=raw,
        description="Show the simulator's clock, or move it forward: the scenario steps, renewal reminders, "
                    "retries and expiries due on the way run in order, as if the time had passed.")
    parser.add_argument("--json", action="store_true", help="print the simulator's answer as JSON")
    parser.set_defaults(run=run_show)
    actions = parser.add_subparsers(dest="action", metavar="{advance}", parser_class=type(parser))
    advance = actions.add_parser("advance", help="move the clock forward SECONDS simulated seconds",
                                 description="Move the simulator's clock forward, running every job due on the way.",
                                 epilog=EXAMPLES, formatter_class=raw)
    advance.add_argument("seconds", type=_seconds, metavar="SECONDS", help="simulated seconds (a number >= 0)")
    # SUPPRESS: `clock --json advance 90` keeps the --json given before the action
    advance.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                         help="print the simulator's answer as JSON")
    advance.set_defaults(run=run_advance)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0 such as 90 or 3000, got {text!r}")
    return value


def _speed(speed: float) -> str:
    return "frozen" if speed == 0 else "real time" if speed == 1 else f"{speed:g}x real time"


def run_show(args: argparse.Namespace) -> int:
    """Print the simulated time, speed and pending jobs (``GET /_sim/clock``)."""
    output = Output(args.json)
    with sim_control(REAL_PLATFORM_CLOCK) as control:
        clock = control.get("/_sim/clock")
    if args.json:
        output.document(clock)
        return 0
    output.line(f"Simulated time {clock.get('iso')} ({_speed(float(clock.get('speed') or 0))}); "
                f"{clock.get('pendingJobs')} job(s) waiting on the clock")
    return 0


def run_advance(args: argparse.Namespace) -> int:
    """Move the clock forward (``POST /_sim/clock/advance``) and print where it is now."""
    output = Output(args.json)
    with sim_control(REAL_PLATFORM_CLOCK) as control:
        clock = control.post("/_sim/clock/advance", {"seconds": args.seconds})
    if args.json:
        output.document(clock)
        return 0
    output.line(f"Advanced the clock {args.seconds:g} s to {clock.get('iso')}: {clock.get('jobsRun')} job(s) due on the way ran; "
                f"{clock.get('pendingJobs')} waiting ({_speed(float(clock.get('speed') or 0))})")
    return 0
