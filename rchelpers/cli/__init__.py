"""The ``rchelpers`` command line: experiment with RingCentral webhooks from a terminal.

::

    rchelpers sim --env-file .env.sim                      # terminal 1: the simulator
    RC_ENV_FILE=.env.sim rchelpers listen --forward-to http://127.0.0.1:5000/webhook   # terminal 2
    RC_ENV_FILE=.env.sim rchelpers trigger inbound_call    # terminal 3: a whole call, step by step
    RC_ENV_FILE=.env.sim rchelpers clock advance 90        # its later steps at once

Exit status: 0 done, 1 failed, 2 wrong command line. Errors are one line on stderr that says what to do.
This package is harness-level, like the notebooks: it uses the client, the receiver and the simulator;
none of them imports it.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, NoReturn, Sequence

import requests

from rchelpers.cli.clock import configure as add_clock_command
from rchelpers.cli.events import configure as add_event_commands
from rchelpers.cli.listen import configure as add_listen_command
from rchelpers.cli.output import CliError, Output, one_line
from rchelpers.cli.simulator import configure as add_simulator_commands
from rchelpers.cli.subscriptions import configure as add_subscription_commands
from rchelpers.errors import ApiError, RCHelpersError

__all__ = ["main", "build_parser"]

PROG = "rchelpers"
EXAMPLES = """\
examples:
  rchelpers sim --env-file .env.sim                     # terminal 1: a simulator until Ctrl-C
  RC_ENV_FILE=.env.sim rchelpers listen --forward-to http://127.0.0.1:5000/webhook   # terminal 2
  RC_ENV_FILE=.env.sim rchelpers trigger inbound_call   # terminal 3: a whole call (a scenario)
  RC_ENV_FILE=.env.sim rchelpers clock advance 90       # its later steps, without waiting
  RC_ENV_FILE=.env.sim rchelpers trigger presence       # one sample event
  RC_ENV_FILE=.env.sim rchelpers subscriptions list

Configuration is read as the notebooks read it: the environment, then .env (or the file RC_ENV_FILE names).
Without RC_SERVER_URL, listen starts an embedded simulator for its session.
Exit status: 0 done, 1 failed, 2 wrong command line. NO_COLOR turns colour off.
"""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (exit status 2) that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message (see prog --help)`` and exit with status 2."""
        Output().error(self.prog, f"{message} (see `{self.prog} --help`)")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = Parser(prog=PROG, description="Experiment with RingCentral webhooks: a simulator, a listener that "
                                           "prints and forwards notifications, scenarios and sample events, "
                                           "the simulator's clock, subscriptions.",
                    epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what the client does (-vv: debug); secrets stay masked")
    parser.add_argument("--no-token-cache", action="store_true",
                        help="log in afresh instead of reusing the token cached in "
                             "~/.cache/rchelpers/cli.token.json (mode 0600)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_simulator_commands(commands)
    add_listen_command(commands)
    add_event_commands(commands)
    add_clock_command(commands)
    add_subscription_commands(commands)
    return parser


class _StderrLog(logging.Handler):
    """Shows the client's warnings (e.g. waiting out a 429 at login) as progress lines on stderr."""

    def __init__(self, output: Output) -> None:
        super().__init__()
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("rchelpers.simulator", "rchelpers.tunnel")):
            return  # the simulator logs for its own operator; the CLI says what the tunnel is
        self.output.info(f"{PROG}: {record.getMessage()}")


def _setup_logging(verbose: int) -> None:
    logger = logging.getLogger("rchelpers")
    logger.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    logger.addHandler(_StderrLog(Output()))
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 done, 1 failed, 2 wrong command line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command != "sim":  # the simulator sets up its own logging
        _setup_logging(args.verbose)
    prog = " ".join([PROG, args.command] + ([args.action] if getattr(args, "action", None) else []))
    output = Output()
    try:
        code: Any = args.run(args)
        return int(code or 0)
    except CliError as exc:
        output.error(prog, str(exc))
        return exc.exit_code
    except ApiError as exc:
        output.error(prog, f"the platform refused a call: {exc}")
        return 1
    except RCHelpersError as exc:
        output.error(prog, str(exc))
        return 1
    except requests.ConnectionError as exc:
        output.error(prog, f"cannot reach the platform ({one_line(str(exc))[:200]}): is RC_SERVER_URL right, "
                           "and is the simulator running?")
        return 1
    except KeyboardInterrupt:
        output.error(prog, "interrupted")
        return 1
