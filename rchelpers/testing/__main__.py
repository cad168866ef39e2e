"""``python -m rchelpers.testing sanitize-path [--unseeded]``: print the path of the shipped nbval sanitize file."""
from __future__ import annotations

import argparse
import sys

from rchelpers.testing.nbval import sanitize_path


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rchelpers.testing",
                                     description="Helpers for testing apps and notebooks that use rchelpers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sanitize = commands.add_parser("sanitize-path", help="print the nbval sanitize file for notebooks that use "
                                                         "rchelpers (pass it to --nbval-sanitize-with)")
    sanitize.add_argument("--unseeded", action="store_true",
                          help="the rules for notebooks whose simulator has no seed (also masks uuids, times, ids)")
    args = parser.parse_args(argv)
    if args.command == "sanitize-path":
        print(sanitize_path(seeded=not args.unseeded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
