"""``rchelpers trigger``, ``deliveries`` and ``replay``: the simulator's sample events, scenarios and delivery log.

They talk to the simulator's ``/_sim/`` control routes over HTTP and need no login: ``GET /_sim/events`` and
``GET /_sim/scenarios`` (what can be triggered), ``POST /_sim/events`` (one sample event),
``POST /_sim/scenarios/{name}`` (a whole call, step by step on the simulator's clock), ``GET /_sim/deliveries``
and ``POST /_sim/deliveries/{id}/replay``. The real platform has no such routes: against it they say what to
do instead.

A name that is both a scenario and a sample event kind (``missed_call``) means the scenario;
``trigger --event NAME`` sends the single sample event.
"""
from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import dataclass
from typing import Any, NoReturn, Sequence
from urllib.parse import urlsplit

import requests

from rchelpers.cli.output import CliError, Output, UsageError, print_table
from rchelpers.cli.platform import REAL_PLATFORM_DOMAIN, SimControl, sim_control
from rchelpers.cli.summary import event_kind
from rchelpers.client.config import env_value
from rchelpers.client.http_errors import error_from_response

TRIGGER_EXAMPLES = """\
examples:
  rchelpers trigger inbound_call                        # a whole answered call (a scenario), step by step
  rchelpers trigger inbound_call --set duration_seconds=90 --set caller_name="Ada Lovelace"
  rchelpers trigger missed_call                         # the scenario: ringing, voicemail, the message
  rchelpers trigger --event missed_call                 # one telephony-session event of a missed call
  rchelpers trigger presence --set telephonyStatus=CallConnected --set dndStatus=DoNotAcceptAnyCalls
  rchelpers trigger message_store --set type=SMS --set direction=Inbound

A scenario sends its first steps (offset 0) at once; the others are sent as the simulator's clock reaches
them: in real time on a running clock, or at once with `rchelpers clock advance SECONDS` (a frozen clock,
`rchelpers sim --seed N`, moves only so).
VALUE is read as JSON when it is valid JSON (5, true, ["a"], {"k": 1}, "123"), else as text.
The real platform cannot trigger sample events: make a real call or change the user's presence instead.
"""
DELIVERIES_EXAMPLES = """\
examples:
  rchelpers deliveries
  rchelpers deliveries --subscription 8b1c0e7a-... --json
"""
REPLAY_EXAMPLES = """\
examples:
  rchelpers replay 3                                    # the delivery attempt with id 3 (see rchelpers deliveries)
  rchelpers replay 6bd0cd96-5f8a-4b8c-9a7e-2f0b4b1c1a55 # or the notification's uuid
"""
REAL_PLATFORM_TRIGGER = ("cannot trigger sample events: make a real call to the user or change the user's "
                         "presence (e.g. in the RingCentral app) instead")
REAL_PLATFORM_DELIVERIES = "has no delivery log or replay: use the receiver's journal (listen --journal PATH)"
#: Seconds ``trigger --help`` waits for the simulator's catalogue before printing the help without it.
HELP_TIMEOUT = (1.0, 3.0)
HELP_WIDTH = 110


def configure(subparsers: Any) -> None:
    """Add the ``trigger``, ``deliveries`` and ``replay`` commands."""
    raw = argparse.RawDescriptionHelpFormatter
    trigger = subparsers.add_parser(
        "trigger", help="play a scenario (a whole call) or send a sample event on the simulator",
        description="Play a scenario (a whole call: its telephony-session, presence and message events, step\n"
                    "by step on the simulator's clock) or send one sample event of the demo user, to every\n"
                    "subscription each event matches. A name that is both a scenario and an event kind plays\n"
                    "the scenario; --event sends the single event.",
        epilog=TRIGGER_EXAMPLES, formatter_class=raw, add_help=False)
    trigger.add_argument("-h", "--help", action=_TriggerHelp,
                         help="show this help (with the simulator's scenarios and event kinds) and exit")
    trigger.add_argument("name", metavar="SCENARIO|KIND", help="a scenario or a sample event kind (see below)")
    trigger.add_argument("--event", action="store_true",
                         help="send one sample event of that kind, even when the name is also a scenario")
    trigger.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", type=_assignment,
                         dest="fields", help="an option of the scenario, or a body field (option) of the event; "
                                             "repeatable")
    trigger.add_argument("--json", action="store_true", help="print what was played or sent as JSON")
    trigger.set_defaults(run=run_trigger)

    deliveries = subparsers.add_parser(
        "deliveries", help="the simulator's delivery log", epilog=DELIVERIES_EXAMPLES, formatter_class=raw,
        description="Every delivery attempt of the simulator (notifications and reminders, retries, replays), "
                    "oldest first.")
    deliveries.add_argument("--subscription", metavar="ID", help="only this subscription's deliveries")
    deliveries.add_argument("--uuid", metavar="UUID", help="only this notification's attempts")
    deliveries.add_argument("--json", action="store_true", help="print the records as JSON")
    deliveries.set_defaults(run=run_deliveries)

    replay = subparsers.add_parser(
        "replay", help="send a logged notification again (same uuid)", epilog=REPLAY_EXAMPLES, formatter_class=raw,
        description="Send a notification from the simulator's delivery log again, with the same uuid, to its "
                    "subscription (a receiver should acknowledge it without storing it twice).")
    replay.add_argument("id", metavar="ID", help="a delivery attempt id or a notification uuid (see rchelpers deliveries)")
    replay.add_argument("--json", action="store_true", help="print the replayed notification as JSON")
    replay.set_defaults(run=run_replay)


def _assignment(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as telephonyStatus=Ringing or "
                                         f"duration_seconds=90, got {text!r}")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return name.strip(), parsed


# --- what the simulator can trigger ----------------------------------------------------------------
@dataclass
class Catalogue:
    """What a simulator can trigger: its scenarios (options with defaults) and sample event kinds (fields)."""

    scenarios: dict[str, dict[str, Any]]
    kinds: dict[str, list[str]]

    @classmethod
    def fetch(cls, control: SimControl) -> "Catalogue":
        """``GET /_sim/scenarios`` and ``GET /_sim/events`` (a simulator without scenarios has none)."""
        kinds = control.get("/_sim/events").get("kinds", {})
        response = control.request("GET", "/_sim/scenarios")
        scenarios = {} if response.status_code == 404 else control.json(response).get("scenarios", {})
        return cls(dict(scenarios), dict(kinds))

    def listing(self) -> str:
        """``scenarios: a, b; sample event kinds: c, d`` (for a one-line error)."""
        return (f"scenarios: {', '.join(self.scenarios) or '(none)'}; "
                f"sample event kinds: {', '.join(self.kinds) or '(none)'}")

    def help_text(self, server_url: str) -> str:
        """The scenarios with their options and defaults, then the kinds with their fields, for ``--help``."""
        lines = [f"on the simulator at {server_url}:", "  scenarios (--set OPTION=VALUE; defaults shown, "
                 "null: the demo user's own):"]
        lines += _wrapped_entries({name: " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in options.items())
                                   for name, options in self.scenarios.items()})
        lines.append("  sample event kinds (--set FIELD=VALUE):")
        lines += _wrapped_entries({kind: " ".join(fields) or "(no fields)" for kind, fields in self.kinds.items()})
        both = [name for name in self.scenarios if name in self.kinds]
        for name in both:
            lines.append(f"  {name} is both: `rchelpers trigger {name}` plays the scenario, "
                         f"`rchelpers trigger --event {name}` sends one event")
        return "\n".join(lines) + "\n"


def _wrapped_entries(entries: dict[str, str]) -> list[str]:
    width = max((len(name) for name in entries), default=0) + 2
    lines: list[str] = []
    for name, text in entries.items():
        lines += textwrap.wrap(text, HELP_WIDTH, initial_indent=f"    {name.ljust(width)}",
                               subsequent_indent=" " * (4 + width), break_on_hyphens=False) or [f"    {name}"]
    return lines


def _help_catalogue() -> str:
    """The configured simulator's catalogue for ``trigger --help``, or a line saying how to see it."""
    hint = "start a simulator (`rchelpers sim --env-file .env.sim`, RC_ENV_FILE=.env.sim) to list its scenarios " \
           "and event kinds here\n"
    try:
        server_url = env_value("RC_SERVER_URL")
    except Exception:  # noqa: BLE001 (help must print, whatever the configuration)
        return hint
    if not server_url or (urlsplit(server_url.strip()).hostname or "").endswith(REAL_PLATFORM_DOMAIN):
        return hint  # the real platform has no catalogue: do not ask it
    control = SimControl(server_url.strip(), timeout=HELP_TIMEOUT)
    try:
        return Catalogue.fetch(control).help_text(control.server_url)
    except Exception:  # noqa: BLE001 (an unreachable or foreign server: the help without the catalogue)
        return f"the simulator at {server_url} did not answer: " + hint
    finally:
        control.close()


class _TriggerHelp(argparse.Action):
    """``-h/--help`` of ``trigger``: the help, with the configured simulator's scenarios and kinds in the epilog."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> NoReturn:
        parser.epilog = (parser.epilog or "") + "\n" + _help_catalogue()
        parser.print_help()
        parser.exit()


# --- trigger ---------------------------------------------------------------------------------------
def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def run_trigger(args: argparse.Namespace) -> int:
    """Play a scenario (``POST /_sim/scenarios/{name}``) or send a sample event (``POST /_sim/events``)."""
    output = Output(args.json)
    options = dict(args.fields)
    with sim_control(REAL_PLATFORM_TRIGGER) as control:
        catalogue = Catalogue.fetch(control)
        name = _normalize(args.name)
        if args.event:
            if name not in catalogue.kinds:
                also = f" ({name} is a scenario: leave out --event to play it)" if name in catalogue.scenarios else ""
                raise CliError(f"this simulator has no sample event kind {args.name!r}{also}; "
                               f"sample event kinds: {', '.join(catalogue.kinds)}")
            _send_event(control, output, args.json, name, options, also_scenario=name in catalogue.scenarios)
        elif name in catalogue.scenarios:
            _play_scenario(control, output, args.json, name, options)
        elif name in catalogue.kinds:
            _send_event(control, output, args.json, name, options, also_scenario=False)
        else:
            raise CliError(f"this simulator has no scenario or event kind {args.name!r}: {catalogue.listing()} "
                           "(see `rchelpers trigger --help`)")
        return 0


def _refused(response: requests.Response, what: str) -> NoReturn:
    """CliError with the simulator's one-line reason for refusing ``what`` (it names the option)."""
    error = error_from_response(response, "POST")
    code = f" {error.error_code}" if error.error_code else ""
    raise CliError(f"the simulator refused {what} (HTTP {error.status}{code}): {error.message} "
                   "(see `rchelpers trigger --help`)")


def _send_event(control: SimControl, output: Output, json_mode: bool, kind: str, fields: dict[str, Any],
                also_scenario: bool) -> None:
    response = control.request("POST", "/_sim/events", json={"kind": kind, "fields": fields})
    if response.status_code == 400:
        _refused(response, f"the {kind} event's fields")
    result = control.json(response)
    if json_mode:
        output.document({"played": "event", **result})
        return
    ids = result.get("subscriptionIds") or []
    notifications = result.get("notifications") or []
    single = f" (a single event; `rchelpers trigger {kind}` plays the whole call)" if also_scenario else ""
    if not ids:
        output.line(f"Sent sample event {kind}{single}: no Active webhook subscription matches it (start "
                    "`rchelpers listen` first, with a filter for this kind)")
        return
    output.line(f"Sent sample event {kind}{single}: {len(notifications)} notification(s) to "
                f"{len(ids)} subscription(s)")
    for note in notifications:
        output.line(f"  {note.get('uuid')}  {event_kind(note.get('event'))}  -> subscription {note.get('subscriptionId')}")


def _play_scenario(control: SimControl, output: Output, json_mode: bool, name: str, options: dict[str, Any]) -> None:
    response = control.request("POST", control.path("scenarios", name), json=options)
    if response.status_code == 400:
        _refused(response, f"an option of scenario {name}")
    result = control.json(response)
    if json_mode:
        output.document({"played": "scenario", **result})
        return
    steps = [step for step in result.get("steps") or [] if isinstance(step, dict)]
    span = max((float(step.get("offset") or 0) for step in steps), default=0.0)
    waiting = [step for step in steps if not step.get("sent")]
    output.line(f"Played scenario {name}: {len(steps)} steps over {span:g} simulated s "
                f"({len(steps) - len(waiting)} sent now, {len(waiting)} when the simulator's clock reaches them)")
    rows = [("offset", "time", "event", "status", "sent")]
    for step in steps:
        rows.append((f"+{float(step.get('offset') or 0):g} s", str(step.get("at", "-")), event_kind(step.get("event")),
                     _step_status(step), _step_sent(step)))
    print_table(output, rows)
    if waiting:
        speed = float(control.get("/_sim/clock").get("speed") or 0)
        left = span - min(float(step.get("offset") or 0) for step in waiting)
        pace = "it is frozen" if speed == 0 else f"in about {left / speed:.0f} real s at its pace ({speed:g}x)"
        output.line(f"The other steps are sent as the simulator's clock reaches them: {pace}, or now with "
                    f"`rchelpers clock advance {span:g}`.")
    if not any(step.get("subscriptionIds") for step in steps):
        output.line("No Active webhook subscription received the steps sent so far: start `rchelpers listen` with "
                    "filters for these events (later steps go to the subscriptions Active when they are due).")


def _step_status(step: dict[str, Any]) -> str:
    status = step.get("statusCode") or step.get("telephonyStatus") or step.get("type") or "-"
    return f"{status} (missed)" if step.get("missedCall") else str(status)


def _step_sent(step: dict[str, Any]) -> str:
    if not step.get("sent"):
        return "scheduled"
    reached = len(step.get("subscriptionIds") or [])
    return f"sent to {reached} subscription(s)"


def run_deliveries(args: argparse.Namespace) -> int:
    """Print the simulator's delivery log (``GET /_sim/deliveries``)."""
    output = Output(args.json)
    params = {k: v for k, v in (("subscriptionId", args.subscription), ("uuid", args.uuid)) if v}
    with sim_control(REAL_PLATFORM_DELIVERIES) as control:
        records = control.get("/_sim/deliveries", params).get("records", [])
    if args.json:
        output.document(records)
        return 0
    if not records:
        output.line("No deliveries yet (trigger one with `rchelpers trigger presence` while `rchelpers listen` runs).")
        return 0
    rows = [("id", "simulated time", "subscription", "kind", "try", "result", "ms", "uuid")]
    for r in records:
        result = str(r.get("status") or "-") if r.get("ok") else f"{r.get('status') or ''} {r.get('error') or ''}".strip()
        rows.append((str(r.get("id")), str(r.get("simulatedTime")), str(r.get("subscriptionId")),
                     event_kind(r.get("event")) + (" (replay)" if r.get("replay") else ""), str(r.get("attempt")),
                     ("ok " if r.get("ok") else "FAILED ") + result, f"{r.get('latencyMs', 0):.0f}", str(r.get("uuid"))))
    print_table(output, rows)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """Send a logged notification again (``POST /_sim/deliveries/{id}/replay``)."""
    output = Output(args.json)
    if not args.id.strip():
        raise UsageError("argument ID: give a delivery attempt id or a notification uuid (see rchelpers deliveries)")
    with sim_control(REAL_PLATFORM_DELIVERIES) as control:
        response = control.request("POST", control.path("deliveries", args.id, "replay"))
        if response.status_code == 404:
            raise CliError(f"the simulator has no delivery {args.id!r}: list them with `rchelpers deliveries`")
        result = control.json(response)
    if args.json:
        output.document(result)
        return 0
    note = result.get("replayed") or {}
    output.line(f"Replayed notification {note.get('uuid')} ({event_kind(note.get('event'))}) to subscription "
                f"{note.get('subscriptionId')} with the same uuid")
    return 0
