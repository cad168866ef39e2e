"""``rchelpers trigger``, ``deliveries`` and ``replay``: the simulator's sample events and delivery log, over HTTP.

They talk to the simulator's ``/_sim/`` control routes (``POST /_sim/events``, ``POST /_sim/scenarios/{name}``,
``GET /_sim/deliveries``, ``POST /_sim/deliveries/{id}/replay``) and need no login. The real platform has no
such routes: against it they say what to do instead.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from rchelpers.cli.output import CliError, Output, UsageError, print_table
from rchelpers.cli.platform import sim_control
from rchelpers.cli.summary import event_kind

TRIGGER_EXAMPLES = """\
examples:
  rchelpers trigger presence
  rchelpers trigger presence --set telephonyStatus=CallConnected --set dndStatus=DoNotAcceptAnyCalls
  rchelpers trigger message_store --set type=SMS --set direction=Inbound
  rchelpers trigger inbound_call --set duration=90      # a scenario, when the simulator has it

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


def configure(subparsers: Any) -> None:
    """Add the ``trigger``, ``deliveries`` and ``replay`` commands."""
    raw = argparse.RawDescriptionHelpFormatter
    trigger = subparsers.add_parser(
        "trigger", help="send a sample event or play a scenario on the simulator",
        description="Send a sample event of the demo user (presence, message_store, instant_sms, extension_info, "
                    "extension_list) to every subscription it matches, or play a scenario (a sequence of events).",
        epilog=TRIGGER_EXAMPLES, formatter_class=raw)
    trigger.add_argument("name", metavar="KIND|SCENARIO", help="an event kind or a scenario name")
    trigger.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", type=_assignment,
                         dest="fields", help="a body field of the event (or an option of the scenario); repeatable")
    trigger.add_argument("--json", action="store_true", help="print the simulator's answer as JSON")
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
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE such as telephonyStatus=Ringing, got {text!r}")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return name.strip(), parsed


def run_trigger(args: argparse.Namespace) -> int:
    """Trigger a sample event (``POST /_sim/events``) or play a scenario (``POST /_sim/scenarios/{name}``)."""
    output = Output(args.json)
    fields = dict(args.fields)
    control = sim_control(REAL_PLATFORM_TRIGGER)
    try:
        kinds = control.get("/_sim/events").get("kinds", {})
        kind = _as_kind(args.name, kinds)
        if kind is not None:
            result = control.post("/_sim/events", {"kind": kind, "fields": fields})
            _print_trigger(output, args.json, result)
            return 0
        response = control.request("POST", control.path("scenarios", args.name), json=fields)
        if response.status_code == 404:
            raise CliError(f"this simulator has no scenario {args.name!r} and it is not an event kind; "
                           f"event kinds: {', '.join(kinds)}")
        result = control.json(response)
        _print_scenario(output, args.json, args.name, result)
        return 0
    finally:
        control.close()


def _as_kind(name: str, kinds: dict[str, Any]) -> str | None:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in kinds else None


def _print_trigger(output: Output, json_mode: bool, result: dict[str, Any]) -> None:
    if json_mode:
        output.document(result)
        return
    ids = result.get("subscriptionIds") or []
    notifications = result.get("notifications") or []
    if not ids:
        output.line(f"Triggered {result.get('kind')}: no Active webhook subscription matches it (start "
                    "`rchelpers listen` first, with a filter for this kind)")
        return
    output.line(f"Triggered {result.get('kind')}: {len(notifications)} notification(s) to "
                f"{len(ids)} subscription(s)")
    for note in notifications:
        output.line(f"  {note.get('uuid')}  {event_kind(note.get('event'))}  -> subscription {note.get('subscriptionId')}")


def _print_scenario(output: Output, json_mode: bool, name: str, result: Any) -> None:
    if json_mode:
        output.document(result)
        return
    items = next((v for v in result.values() if isinstance(v, list)), None) if isinstance(result, dict) else None
    if items is None:
        output.line(f"Played scenario {name}: {json.dumps(result, ensure_ascii=False)[:200]}")
        return
    output.line(f"Played scenario {name}: {len(items)} item(s)")
    for item in items:
        if isinstance(item, dict):
            what = item.get("event") or item.get("kind") or item.get("uuid") or json.dumps(item)[:80]
            output.line(f"  {event_kind(what) if str(what).startswith('/') else what}")


def run_deliveries(args: argparse.Namespace) -> int:
    """Print the simulator's delivery log (``GET /_sim/deliveries``)."""
    output = Output(args.json)
    params = {k: v for k, v in (("subscriptionId", args.subscription), ("uuid", args.uuid)) if v}
    control = sim_control(REAL_PLATFORM_DELIVERIES)
    try:
        records = control.get("/_sim/deliveries", params).get("records", [])
    finally:
        control.close()
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
    control = sim_control(REAL_PLATFORM_DELIVERIES)
    try:
        response = control.request("POST", control.path("deliveries", args.id, "replay"))
        if response.status_code == 404:
            raise CliError(f"the simulator has no delivery {args.id!r}: list them with `rchelpers deliveries`")
        result = control.json(response)
    finally:
        control.close()
    if args.json:
        output.document(result)
        return 0
    note = result.get("replayed") or {}
    output.line(f"Replayed notification {note.get('uuid')} ({event_kind(note.get('event'))}) to subscription "
                f"{note.get('subscriptionId')} with the same uuid")
    return 0
