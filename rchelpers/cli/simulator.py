"""``rchelpers sim`` and ``rchelpers check``: the standalone simulator and the receiver checker.

Both delegate to :mod:`rchelpers.simulator`'s own command line (``python -m rchelpers.simulator``), which
defines their options and runs them: nothing is written twice.
"""
from __future__ import annotations

import argparse
from typing import Any

SIM_EXAMPLES = """\
examples:
  rchelpers sim --env-file .env.sim               # then, in another terminal: RC_ENV_FILE=.env.sim rchelpers listen
  rchelpers sim --port 8090 --seed 1              # fixed port, reproducible ids, frozen clock

Same as `python -m rchelpers.simulator`. Ctrl-C stops it.
"""
CHECK_EXAMPLES = """\
examples:
  rchelpers check http://127.0.0.1:5000/webhook
  rchelpers check https://abc.ngrok.app/webhook --verification-token my-token
  rchelpers check https://localhost:8443/webhook --ca-file test-ca.pem --json
"""


def configure(subparsers: Any) -> None:
    """Add the ``sim`` and ``check`` commands, configured by the simulator's own command line."""
    from rchelpers.simulator.__main__ import COMMANDS  # the simulator's CLI: one source for these options

    raw = argparse.RawDescriptionHelpFormatter
    configure_serve, run_serve = COMMANDS["serve"]
    sim = subparsers.add_parser("sim", help="run the simulator (an embedded RingCentral platform) until Ctrl-C",
                                description="Run the simulator in the foreground; it writes RC_SERVER_URL, "
                                            "RC_CLIENT_ID, RC_CLIENT_SECRET and RC_JWT to --env-file.",
                                epilog=SIM_EXAMPLES, formatter_class=raw)
    configure_serve(sim)
    sim.set_defaults(run=run_serve)

    configure_check, run_check = COMMANDS["check"]
    check = subparsers.add_parser("check", help="run RingCentral's webhook rules against a receiver URL",
                                  epilog=CHECK_EXAMPLES, formatter_class=raw)
    configure_check(check)
    check.set_defaults(run=run_check)
