"""``rchelpers subscriptions list|get|renew|delete``: the user's subscriptions for this app."""
from __future__ import annotations

import argparse
from datetime import timezone
from typing import Any, Callable

from rchelpers.cli.output import CliError, Output, print_table
from rchelpers.cli.platform import api_error_message, close_client, load_config, login, require_server
from rchelpers.client.subscriptions import Subscription, SubscriptionClient
from rchelpers.errors import ApiError

EXAMPLES = """\
examples:
  RC_ENV_FILE=.env.sim rchelpers subscriptions list
  rchelpers subscriptions get 8b1c0e7a-4a2f-4f43-9d1e-0c4a7e3b9f10 --json
  rchelpers subscriptions renew 8b1c0e7a-4a2f-4f43-9d1e-0c4a7e3b9f10   # PUT with no body
  rchelpers subscriptions delete 8b1c0e7a-4a2f-4f43-9d1e-0c4a7e3b9f10
"""


def configure(subparsers: Any) -> None:
    """Add the ``subscriptions`` command group."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "subscriptions", help="list, get, renew or delete subscriptions", epilog=EXAMPLES, formatter_class=raw,
        description="The user's subscriptions for this app (every transport), on the configured platform.")
    actions = parser.add_subparsers(dest="action", metavar="{list,get,renew,delete}", required=True,
                                    parser_class=type(parser))
    listing = actions.add_parser("list", help="every subscription, oldest first", epilog=EXAMPLES, formatter_class=raw,
                                 description="List the user's subscriptions for this app.")
    listing.add_argument("--json", action="store_true", help="print the records as the platform returned them")
    listing.set_defaults(run=run_list)
    for name, what, run in (("get", "read one subscription", run_get),
                            ("renew", "renew one subscription (PUT with no body)", run_renew),
                            ("delete", "delete one subscription", run_delete)):
        action = actions.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".", epilog=EXAMPLES,
                                    formatter_class=raw)
        action.add_argument("id", metavar="ID", help="the subscription id (see `rchelpers subscriptions list`)")
        action.add_argument("--json", action="store_true", help="print the platform's JSON")
        action.set_defaults(run=run)


def _request(output: Output, args: argparse.Namespace, what: str, call: Callable[[SubscriptionClient], Any]) -> Any:
    """Log in, return ``call(subscriptions)``, log out; an API error becomes one line about ``what``."""
    subs = SubscriptionClient(login(require_server(load_config()), output, use_cache=not args.no_token_cache))
    try:
        return call(subs)
    except ApiError as exc:
        hint = ": list them with `rchelpers subscriptions list`" if exc.status == 404 else ""
        raise CliError(f"{what} failed: {api_error_message(exc)}{hint}") from None
    finally:
        close_client(subs.client)


def run_list(args: argparse.Namespace) -> int:
    """Print the subscriptions as a table (or JSON)."""
    output = Output(args.json)
    records = _request(output, args, "listing the subscriptions", lambda subs: subs.list_all())
    if args.json:
        output.document([s.raw for s in records])
        return 0
    if not records:
        output.line("No subscriptions.")
        return 0
    rows = [("id", "status", "transport", "expires", "filters", "address")]
    for s in records:
        rows.append((s.id, s.status, s.transport or "-", _expires(s), str(len(s.event_filters)), s.address or "-"))
    print_table(output, rows)
    return 0


def run_get(args: argparse.Namespace) -> int:
    """Print one subscription."""
    output = Output(args.json)
    sub = _request(output, args, f"reading subscription {args.id}", lambda subs: subs.get(args.id))
    _print_one(output, args.json, sub)
    return 0


def run_renew(args: argparse.Namespace) -> int:
    """Renew one subscription with PUT and no body, and print it."""
    output = Output(args.json)
    sub = _request(output, args, f"renewing subscription {args.id}", lambda subs: subs.renew(args.id))
    if not args.json:
        output.line(f"Renewed subscription {sub.id} (PUT, no body): expires in {sub.expires_in} s.")
    _print_one(output, args.json, sub)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """Delete one subscription."""
    output = Output(args.json)
    _request(output, args, f"deleting subscription {args.id}", lambda subs: subs.delete(args.id))
    if args.json:
        output.document({"deleted": args.id})
    else:
        output.line(f"Deleted subscription {args.id}.")
    return 0


def _print_one(output: Output, json_mode: bool, sub: Subscription) -> None:
    if json_mode:
        output.document(sub.raw)
        return
    output.line(f"id            {sub.id}")
    output.line(f"status        {sub.status}")
    output.line(f"transport     {sub.transport or '-'}")
    output.line(f"address       {sub.address or '-'}")
    output.line(f"expires       {_expires(sub)}")
    for n, event_filter in enumerate(sub.event_filters):
        output.line(f"{'filters' if n == 0 else '':<14}{event_filter}")
    if sub.blacklisted_data:
        output.line(f"blacklisted   {sub.blacklisted_data}")


def _expires(sub: Subscription) -> str:
    when = sub.expiration_time
    if when is None:
        return "-"
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    left = f" ({sub.expires_in} s left)" if sub.expires_in is not None else ""
    return stamp + left

