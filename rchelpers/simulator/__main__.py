"""Command line: ``python -m rchelpers.simulator [serve] [--host H] [--port N] [--env-file PATH] [--seed N]
[--clock-speed X] [--option NAME=VALUE ...]`` runs the platform in the foreground until SIGINT/SIGTERM (exit
status 0). ``--option`` sets any :class:`~rchelpers.simulator.options.SimulatorOptions` field, e.g.
``--option duplicate_rate=0.1 --option permissions=ReadPresence,SubscriptionWebhook``.

Once it answers requests it writes ``RC_SERVER_URL``, ``RC_CLIENT_ID``, ``RC_CLIENT_SECRET`` and ``RC_JWT``
to ``--env-file`` (mode 0600) and prints them with the secret and the JWT masked. Other commands are
added with :func:`add_command`.
"""
from __future__ import annotations

import argparse
import http.client
import logging
import os
import signal
import sys
import threading
from typing import Callable, Sequence

from rchelpers.simulator.checker import configure_parser as configure_check, run_command as run_check
from rchelpers.simulator.errors import OptionError
from rchelpers.simulator.options import DEFAULTS, option_names, parse_option
from rchelpers.simulator.simulator import Credentials, Simulator, mask

#: Subcommands: name -> (configure the subparser, run it and return the exit status).
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}
DEFAULT_COMMAND = "serve"


def add_command(name: str, configure: Callable[[argparse.ArgumentParser], None],
                run: Callable[[argparse.Namespace], int]) -> None:
    """Register a subcommand (e.g. ``check URL``) for ``python -m rchelpers.simulator``."""
    COMMANDS[name] = (configure, run)


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--env-file", help="write RC_SERVER_URL, RC_CLIENT_ID, RC_CLIENT_SECRET, RC_JWT here (0600)")
    parser.add_argument("--seed", type=int, help="deterministic ids and secrets, clock frozen at 2026-01-01")
    parser.add_argument("--clock-speed", type=float, help="simulated seconds per real second (0 freezes)")
    parser.add_argument("--webhook-ca-file", help="PEM of extra CAs to trust for https webhook addresses (a local test CA)")
    parser.add_argument("--option", action="append", default=[], type=_option_argument, metavar="NAME=VALUE",
                        help="set a simulator option (repeatable); VALUE is JSON or text, a list may be comma-"
                             "separated, e.g. duplicate_rate=0.1, reorder_window=5, handshake_errors=legacy, "
                             "permissions=ReadPresence,SubscriptionWebhook. NAME is one of: "
                             + ", ".join(option_names()))
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")


def _option_argument(text: str) -> tuple[str, object]:
    try:
        return parse_option(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def write_env_file(path: str, credentials: Credentials) -> None:
    """Write the four ``RC_*`` lines to ``path`` with mode 0600, atomically: a reader sees the old file or the
    whole new one, never a half-written one."""
    partial = f"{path}.{os.getpid()}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when a stale partial file existed with wider permissions
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for name, value in credentials.as_env().items():
            handle.write(f"{name}={value}\n")
    os.replace(partial, path)


def masked_env(credentials: Credentials) -> list[str]:
    """The ``RC_*`` lines with the client secret and the JWT masked, for the terminal."""
    secret_names = {"RC_CLIENT_SECRET", "RC_JWT"}
    return [f"{name}={mask(value) if name in secret_names else value}"
            for name, value in credentials.as_env().items()]


def _answers(sim: Simulator) -> bool:
    host, port = sim.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/_sim/clock")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def serve(args: argparse.Namespace) -> int:
    """Run the simulator in the foreground until SIGINT or SIGTERM."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        options = {"webhook_ca_file": args.webhook_ca_file, **dict(args.option)}
        try:
            sim = Simulator(args.host, args.port, seed=args.seed, clock_speed=args.clock_speed, **options)
        except ValueError as exc:
            print(f"python -m rchelpers.simulator: {exc}", file=sys.stderr)
            return 2
        try:
            sim.start()
        except OSError as exc:
            print(f"cannot start the simulator on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 2
        with sim:
            if not _answers(sim):
                print(f"the simulator at {sim.url} does not answer", file=sys.stderr)
                return 1
            if args.env_file:
                write_env_file(args.env_file, sim.credentials)
            print(f"RingCentral simulator running at {sim.url} (Ctrl-C to stop)")
            changed = [f"{name}={getattr(sim.options, name)!r}" for name in option_names()
                       if getattr(sim.options, name) != getattr(DEFAULTS, name)]
            if changed:
                print(f"  options: {', '.join(changed)}")
            for line in masked_env(sim.credentials):
                print(f"  {line}")
            if args.env_file:
                print(f"credentials written to {args.env_file} (mode 0600)")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
        print("simulator stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


add_command("serve", _configure_serve, serve)
add_command("check", configure_check, run_check)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand (``serve`` is the default)."""
    parser = argparse.ArgumentParser(prog="python -m rchelpers.simulator",
                                     description="An embedded RingCentral platform (OAuth + webhook subscriptions).")
    subparsers = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for name, (configure, _) in COMMANDS.items():
        configure(subparsers.add_parser(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``serve`` when no subcommand is named) and run the command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, DEFAULT_COMMAND)
    args = build_parser().parse_args(argv)
    _, run = COMMANDS[args.command]
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
