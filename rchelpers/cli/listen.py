"""``rchelpers listen``: a webhook subscription whose notifications are printed (and forwarded) as they arrive.

The session: log in, start a :class:`~rchelpers.WebhookReceiver`, open a tunnel to it, create a WebHook
subscription (the filters, a renewal-reminder filter and a verification token), print ``Ready``; then one
line per notification, which ``--forward-to`` POSTs to the user's app as it arrived (the body byte for
byte, the request headers but the hop-by-hop ones). A reminder is answered by renewing (``PUT`` with no
body); a subscription that is gone (404) or blacklisted is recreated, and the line says so. SIGINT or
SIGTERM deletes the subscription and stops everything.
"""
from __future__ import annotations

import argparse
import contextlib
import queue
import secrets
import signal
import socket
import threading
import time
from datetime import datetime, timezone
from types import FrameType
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import requests

from rchelpers.cli.output import CliError, Output, UsageError
from rchelpers.cli.platform import api_error_message, close_client, embedded_platform, load_config, login
from rchelpers.cli.summary import event_kind, summarize
from rchelpers.client.config import Config, env_value
from rchelpers.client.rest import RestClient
from rchelpers.client.subscriptions import Subscription, SubscriptionClient, presence_filter, reminder_filter
from rchelpers.errors import ApiError
from rchelpers.masking import mask
from rchelpers.receiver.event import WebhookEvent
from rchelpers.receiver.tunnel import Tunnel, open_tunnel
from rchelpers.receiver.webhook_receiver import WebhookReceiver

DEFAULT_EXPIRES_IN = 3600
DEFAULT_REMINDER = (600, 120)
DEFAULT_CHECK_INTERVAL = 30.0
#: Error codes of a create refused for its event filters, and for a failed validation handshake (an
#: unreachable address is also refused as an invalid ``deliveryMode.address``).
FILTER_ERRORS = ("SUB-508", "SUB-515")
HANDSHAKE_ERRORS = ("SUB-520", "SUB-521", "SUB-522", "SUB-524", "SUB-525")
#: Seconds the local app has to answer a forwarded notification.
FORWARD_TIMEOUT = (3.05, 10.0)
#: Request headers (lowercased) not forwarded: the hop-by-hop ones (RFC 9110 section 7.6.1; also any named in
#: ``Connection``, and ``Proxy-*``), and those the HTTP client sets for the new request (Host, Content-Length).
NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host",
                           "content-length"})

EXAMPLES = """\
examples:
  rchelpers listen                                   # presence of the user, printed as it arrives
  rchelpers listen --forward-to http://127.0.0.1:5000/webhook
  rchelpers listen --filter /restapi/v1.0/account/~/extension/~/message-store --json
  RC_ENV_FILE=.env.sim rchelpers listen --expires-in 600 --reminder 120,60

Without RC_SERVER_URL an embedded simulator is started for the session (the line says so, and how to
trigger events on it from another terminal). With NGROK_AUTHTOKEN (environment or .env) the receiver is
reached through an ngrok tunnel; without it the tunnel is local, which only a simulator can reach.
"""


def configure(subparsers: Any) -> None:
    """Add the ``listen`` command."""
    parser = subparsers.add_parser(
        "listen", help="subscribe and print (or forward) notifications as they arrive",
        description="Create a WebHook subscription to a local receiver and print each notification as it "
                    "arrives; renew on each reminder; delete the subscription on Ctrl-C.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", action="append", metavar="PATH", dest="filters",
                        help="an event filter, e.g. /restapi/v1.0/account/~/extension/~/presence (repeatable; "
                             "default: the user's presence)")
    parser.add_argument("--expires-in", type=_positive_int, default=DEFAULT_EXPIRES_IN, metavar="SECONDS",
                        help=f"the subscription's lifetime (default {DEFAULT_EXPIRES_IN})")
    parser.add_argument("--reminder", type=_reminder, default=DEFAULT_REMINDER, metavar="THRESHOLD,INTERVAL",
                        help="renewal reminders from THRESHOLD seconds before expiry, every INTERVAL seconds "
                             f"(default {DEFAULT_REMINDER[0]},{DEFAULT_REMINDER[1]})")
    parser.add_argument("--forward-to", metavar="URL",
                        help="POST each notification to your app at URL as it arrived: the body byte for byte "
                             "and the request headers (Verification-Token, User-Agent, ...; not the hop-by-hop ones)")
    parser.add_argument("--verification-token", metavar="TOKEN",
                        help="the subscription's verification token, i.e. the one your app checks "
                             "(default: a random one, shown masked)")
    parser.add_argument("--check-interval", type=_positive_float, default=DEFAULT_CHECK_INTERVAL, metavar="SECONDS",
                        help=f"how often to check that the subscription is still Active (default {DEFAULT_CHECK_INTERVAL:g})")
    parser.add_argument("--journal", metavar="PATH",
                        help="keep every accepted notification in this JSON-lines file (default: none)")
    parser.add_argument("--json", action="store_true", help="print JSON lines (ready, notification, forward, "
                                                            "renewed, recreated, stopped) instead of text")
    parser.set_defaults(run=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds > 0, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds > 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _reminder(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected THRESHOLD,INTERVAL in whole seconds such as 600,120, got {text!r}")
    return int(parts[0]), int(parts[1])


def run(args: argparse.Namespace) -> int:
    """Run a listen session until SIGINT or SIGTERM; 0 when the subscription was deleted at the end."""
    output = Output(args.json)
    filters = _check_filters(args.filters)
    try:
        reminder = reminder_filter(*args.reminder, expires_in=args.expires_in)
    except ValueError as exc:
        raise UsageError(f"argument --reminder: {str(exc).replace('expires_in', '--expires-in')}") from None
    forward_to = _check_forward_url(args.forward_to) if args.forward_to else None
    if args.verification_token is not None and (not args.verification_token.strip()
                                                or args.verification_token != args.verification_token.strip()):
        raise UsageError("argument --verification-token: give a token without spaces around it "
                         "(or leave the option out for a random one)")
    token = args.verification_token or secrets.token_urlsafe(24)
    config = load_config()
    if forward_to:
        _check_reachable(forward_to)
    events: queue.Queue[WebhookEvent] = queue.Queue()
    with _signals_raise_interrupt(), contextlib.ExitStack() as stack:
        sim = None
        if config.uses_simulator:
            config, sim = stack.enter_context(embedded_platform(output))
        client = login(config, output, use_cache=sim is None and not args.no_token_cache)
        stack.callback(close_client, client)
        receiver = WebhookReceiver(verification_token=token, journal=args.journal or False, on_event=events.put)
        receiver.start()
        stack.callback(receiver.stop)
        tunnel = _open_tunnel(receiver, output)
        stack.callback(tunnel.close)
        if not config.is_loopback and not tunnel.is_public:
            raise CliError(f"the platform at {config.server_url} cannot reach this machine's loopback address: set "
                           "NGROK_AUTHTOKEN (environment or .env) so that listen opens an ngrok tunnel")
        forwarder = stack.enter_context(_forwarding_session()) if forward_to else None
        session = ListenSession(client, output, tunnel.public_url, filters + [reminder], token, args.expires_in,
                                args.check_interval, forward_to, forwarder)
        return session.run(events, sim, config, receiver)


def _check_filters(filters: list[str] | None) -> list[str]:
    if not filters:
        return [presence_filter()]
    for item in filters:
        if not item.startswith("/") or any(ch.isspace() for ch in item):
            raise UsageError(f"argument --filter: an event filter is a path such as "
                             f"/restapi/v1.0/account/~/extension/~/presence, got {item!r}")
    return list(filters)


def _check_forward_url(url: str) -> str:
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number from 0 to 65535
        valid = False
    if not valid:
        raise UsageError(f"argument --forward-to: expected your app's http(s) URL such as "
                         f"http://127.0.0.1:5000/webhook, got {url!r}")
    return url


def _check_reachable(url: str) -> None:
    """Raise CliError when nothing accepts connections at ``url``'s host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=3).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise CliError(f"cannot reach --forward-to {url} ({why.lower()}): start your app first, "
                       "or fix the URL") from None


def _forwarding_session() -> requests.Session:
    """A session that sends only the headers it is given (not requests' own User-Agent, Accept, ...)."""
    session = requests.Session()
    session.headers.clear()
    return session


def forwarded_headers(raw_headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers that forward a request: its header lines as sent (names, values and order kept; a repeated
    name's values joined with ", "), without :data:`NOT_FORWARDED`, ``Proxy-*`` and those named in ``Connection``.

    The HTTP client adds ``Host`` and ``Content-Length``, and its own ``User-Agent`` and ``Accept-Encoding``
    only to a request that had none (RingCentral sends both).
    """
    pairs = list(raw_headers)
    dropped = set(NOT_FORWARDED)
    for name, value in pairs:
        if name.lower() == "connection":
            dropped.update(token.strip().lower() for token in value.split(","))
    headers: dict[str, str] = {}
    first_name: dict[str, str] = {}  # lowercased name -> the name as first sent
    for name, value in pairs:
        lower = name.lower()
        if lower in dropped or lower.startswith("proxy-"):
            continue
        if lower in first_name:
            headers[first_name[lower]] += ", " + value
        else:
            first_name[lower] = name
            headers[name] = value
    return headers


def _open_tunnel(receiver: WebhookReceiver, output: Output) -> Tunnel:
    authtoken = env_value("NGROK_AUTHTOKEN")
    if not authtoken:
        output.info("Tunnel: local (NGROK_AUTHTOKEN is not set): the simulator can reach the receiver, "
                    "the real platform cannot")
        return open_tunnel(receiver)
    with output.progress("Opening an ngrok tunnel (the first start of the agent takes a few seconds; "
                         "a missing agent is downloaded once)"):
        tunnel = open_tunnel(receiver, authtoken=authtoken, allow_download=True)
    output.info(f"Tunnel: ngrok {tunnel.public_url} -> {receiver.url}")
    return tunnel


@contextlib.contextmanager
def _signals_raise_interrupt() -> Iterator[None]:
    """Until the subscription exists, SIGINT and SIGTERM interrupt (KeyboardInterrupt); restored at the end."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ListenSession:
    """One subscription kept alive for a receiver: create, renew, recreate, delete; prints what happens."""

    def __init__(self, client: RestClient, output: Output, address: str, event_filters: list[str],
                 verification_token: str, expires_in: int, check_interval: float, forward_to: str | None = None,
                 forwarder: requests.Session | None = None) -> None:
        self.subs = SubscriptionClient(client)
        self.output = output
        self.address = address
        self.event_filters = event_filters
        self.verification_token = verification_token
        self.expires_in = expires_in
        self.forward_to = forward_to
        self.check_interval = check_interval
        self.forwarder = forwarder
        self.subscription: Subscription | None = None
        self.received = 0
        self._stop = threading.Event()

    # --- the session --------------------------------------------------------------------------------
    def run(self, events: "queue.Queue[WebhookEvent]", sim: Any, config: Config, receiver: WebhookReceiver) -> int:
        """Create the subscription, print Ready, handle events until a signal; delete it at the end."""
        def stop(signum: int, frame: FrameType | None) -> None:
            self._stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        self.subscription = self._create()
        self._ready(sim, config, receiver)
        next_check = time.monotonic() + self.check_interval
        try:
            while not self._stop.is_set():
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    event = None
                if event is not None:
                    self.handle(event)
                if time.monotonic() >= next_check:
                    self.check()
                    next_check = time.monotonic() + self.check_interval
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C interrupts the cleanup
                signal.signal(sig, signal.default_int_handler)
            code = self._delete()
        return code

    def _create(self) -> Subscription:
        try:
            return self.subs.create(self.address, self.event_filters, verification_token=self.verification_token,
                                    expires_in=self.expires_in)
        except ApiError as exc:
            if exc.status == 400 and (exc.parameter_name == "eventFilters" or exc.error_code in FILTER_ERRORS):
                raise UsageError(f"the platform refused the event filters ({api_error_message(exc)}): fix "
                                 "--filter, e.g. /restapi/v1.0/account/~/extension/~/presence") from None
            if exc.error_code in HANDSHAKE_ERRORS or exc.parameter_name == "deliveryMode.address":
                raise CliError(f"the platform could not validate the receiver at {self.address} "
                               f"({api_error_message(exc)}): run `rchelpers check {self.address}` "
                               "to see which rule fails") from None
            raise CliError(f"creating the subscription failed: {api_error_message(exc)}") from None
        except ValueError as exc:
            raise UsageError(f"argument --filter: {exc}") from None

    def _ready(self, sim: Any, config: Config, receiver: WebhookReceiver) -> None:
        sub = self.subscription
        assert sub is not None
        if sim is not None:
            self.output.info(f"Embedded simulator at {config.server_url}: trigger events on it from another terminal "
                             f"with `RC_SERVER_URL={config.server_url} rchelpers trigger presence`")
        self.output.record({"type": "ready", "time": _now_iso(), "subscriptionId": sub.id, "address": sub.address,
                            "server": config.server_url, "embeddedSimulator": sim is not None,
                            "eventFilters": list(sub.event_filters), "expiresIn": sub.expires_in,
                            "expirationTime": sub.raw.get("expirationTime"), "forwardTo": self.forward_to,
                            "verificationToken": mask(self.verification_token),
                            "journal": str(receiver.journal_path) if receiver.journal_path else None})
        forward = f"; forwarding to {self.forward_to}" if self.forward_to else ""
        self.output.line(f"{self.output.paint('Ready', 'green', 'bold')}: subscription {sub.id} delivers to "
                         f"{sub.address} (expires in {sub.expires_in} s, verification token "
                         f"{mask(self.verification_token)}){forward}. Ctrl-C to stop.")

    # --- one event ----------------------------------------------------------------------------------
    def handle(self, event: WebhookEvent) -> None:
        """Print one notification, forward it, and renew on a reminder."""
        self.received += 1
        kind = event_kind(event.event)
        summary = summarize(kind, event.body)
        self.output.record({"type": "notification", "time": event.received_at.isoformat(timespec="milliseconds"),
                            "kind": kind, "event": event.event, "uuid": event.uuid,
                            "subscriptionId": event.subscription_id, "summary": summary, "notification": event.raw})
        stamp = event.received_at.astimezone().strftime("%H:%M:%S")
        self.output.line(f"{stamp}  {self.output.paint(kind, 'cyan')}  {summary}")
        if self.forward_to:
            self.forward(event)
        if event.is_reminder and self.subscription is not None and event.subscription_id == self.subscription.id:
            self.renew()

    def forward(self, event: WebhookEvent) -> None:
        """POST the notification to the app as it arrived (its body bytes, its headers but the hop-by-hop
        ones, the real Verification-Token among them); print the app's status and latency."""
        assert self.forward_to is not None and self.forwarder is not None
        headers = forwarded_headers(event.raw_headers)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self.forwarder.post(self.forward_to, data=event.raw_body, headers=headers,
                                           timeout=FORWARD_TIMEOUT, allow_redirects=False)
            status, reason = response.status_code, response.reason
            response.close()
        except requests.RequestException as exc:
            error = _request_failure(exc, "the app")
        latency = (time.monotonic() - started) * 1000
        ok = status is not None and 200 <= status < 300
        self.output.record({"type": "forward", "time": _now_iso(), "uuid": event.uuid, "url": self.forward_to,
                            "ok": ok, "status": status, "latencyMs": round(latency, 1), "error": error})
        if status is not None:
            shown = self.output.paint(f"{status} {reason}", "green" if ok else "red")
            self.output.line(f"          -> POST {self.forward_to}  {shown}  {latency:.0f} ms")
        else:
            self.output.line(f"          -> POST {self.forward_to}  {self.output.paint('failed', 'red')}: {error}")

    # --- keeping the subscription -------------------------------------------------------------------
    def renew(self) -> None:
        """Renew with PUT and no body; recreate when the subscription is gone."""
        assert self.subscription is not None
        try:
            sub = self.subs.renew(self.subscription.id)
        except ApiError as exc:
            if exc.status == 404:
                self.recreate(f"is gone ({api_error_message(exc)})")
            else:
                self.output.warn(f"renewing subscription {self.subscription.id} failed: {api_error_message(exc)}")
            return
        except requests.RequestException as exc:
            self.output.warn(f"renewing subscription {self.subscription.id} failed: {_request_failure(exc)}; "
                             "will check again")
            return
        self.subscription = sub
        self.output.record({"type": "renewed", "time": _now_iso(), "subscriptionId": sub.id,
                            "expiresIn": sub.expires_in, "expirationTime": sub.raw.get("expirationTime")})
        self.output.line(f"          renewed subscription {sub.id} (PUT, no body): expires in {sub.expires_in} s")

    def check(self) -> None:
        """Recreate the subscription when it is gone (404) or blacklisted."""
        assert self.subscription is not None
        try:
            sub = self.subs.get(self.subscription.id)
        except ApiError as exc:
            if exc.status == 404:
                self.recreate(f"is gone ({api_error_message(exc)})")
            else:
                self.output.warn(f"checking subscription {self.subscription.id} failed: {api_error_message(exc)}")
            return
        except requests.RequestException as exc:
            self.output.warn(f"checking subscription {self.subscription.id} failed: {_request_failure(exc)}")
            return
        if sub.is_blacklisted:
            reason = (sub.blacklisted_data or {}).get("reason", "no reason given")
            try:
                self.subs.delete(sub.id)
            except ApiError:
                pass  # recreating matters more; a leftover blacklisted record expires on its own
            self.recreate(f"was blacklisted ({reason})")
        else:
            self.subscription = sub

    def recreate(self, why: str) -> None:
        """Create the subscription again and say why."""
        assert self.subscription is not None
        old = self.subscription.id
        try:
            self.subscription = self._create()
        except CliError as exc:
            self.output.warn(f"subscription {old} {why}; recreating it failed: {exc}; will try again")
            return
        new = self.subscription
        self.output.record({"type": "recreated", "time": _now_iso(), "previousSubscriptionId": old,
                            "subscriptionId": new.id, "reason": why, "expiresIn": new.expires_in})
        self.output.line(self.output.paint(f"          subscription {old} {why}: recreated as {new.id}", "yellow"))

    def _delete(self) -> int:
        sub = self.subscription
        if sub is None:
            return 0
        deleted = False
        try:
            self.subs.delete(sub.id)
            deleted = True
        except ApiError as exc:
            deleted = exc.status == 404  # already gone: nothing is left behind
            if not deleted:
                self.output.warn(f"deleting subscription {sub.id} failed ({api_error_message(exc)}): "
                                 f"delete it with `rchelpers subscriptions delete {sub.id}`")
        except requests.RequestException as exc:
            self.output.warn(f"deleting subscription {sub.id} failed ({_request_failure(exc)}): delete it with "
                             f"`rchelpers subscriptions delete {sub.id}`")
        self.output.record({"type": "stopped", "time": _now_iso(), "subscriptionId": sub.id, "deleted": deleted,
                            "notifications": self.received})
        state = "deleted" if deleted else "NOT deleted"
        self.output.line(f"Stopped: subscription {sub.id} {state}; {self.received} notification(s) received.")
        return 0 if deleted else 1


def _request_failure(exc: requests.RequestException, who: str = "the platform") -> str:
    """Why a request to ``who`` (the platform, or the app that notifications are forwarded to) failed."""
    if isinstance(exc, requests.ConnectionError):
        return f"connection refused or reset (is {who} running?)"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    return type(exc).__name__
