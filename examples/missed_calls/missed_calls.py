"""Missed calls: a small RingCentral webhook app, written the way a RingCentral developer writes one.

It subscribes to the user's presence with detailed telephony state and a renewal-reminder filter,
keeps the subscription alive (renews it on each reminder; recreates it when it is gone or
blacklisted), and records every inbound call that rang and ended without being answered.

It reads its credentials from the environment (``RC_SERVER_URL``, ``RC_CLIENT_ID``,
``RC_CLIENT_SECRET``, ``RC_JWT``, or a ``.env``) and gets its events from a webhook receiver behind
a tunnel (``NGROK_AUTHTOKEN``)::

    python missed_calls.py            # until Ctrl-C; --seconds N to stop by itself

which :func:`main` does as::

    with WebhookReceiver(verification_token=token) as rx, open_tunnel(rx) as tunnel:
        app = MissedCallApp(tunnel.public_url, verification_token=token)
        rx.add_listener(app.handle)
        app.start()
        ...                          # every minute: app.ensure_subscription()
        app.stop()

``test_missed_calls.py`` beside it tests it with the rchelpers pytest fixtures only.
"""
from __future__ import annotations

import argparse
import logging
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from rchelpers import (ApiError, Config, RestClient, Subscription, SubscriptionClient, TokenManager, WebhookEvent,
                       WebhookReceiver, open_tunnel, presence_filter, reminder_filter)

log = logging.getLogger("missed_calls")

#: The subscription lives 15 minutes; reminders start 5 minutes before it ends, every minute.
EXPIRES_IN = 900
REMINDER_THRESHOLD = 300
REMINDER_INTERVAL = 60


@dataclass(frozen=True)
class MissedCall:
    """An inbound call that rang and ended unanswered."""

    caller: str
    session_id: str
    at: str | None


class MissedCallApp:
    """Records missed calls from presence notifications and keeps its webhook subscription alive."""

    def __init__(self, webhook_url: str, *, verification_token: str | None = None,
                 config: Config | None = None) -> None:
        self.webhook_url = webhook_url
        self.verification_token = verification_token
        self.config = config or Config.from_env()
        self.tokens = TokenManager(self.config)
        self.subscriptions = SubscriptionClient(RestClient(self.tokens))
        self.subscription: Subscription | None = None
        self.missed_calls: list[MissedCall] = []
        self.renewals = 0
        self.recreations = 0
        self._ringing: dict[str, dict[str, Any]] = {}  # telephonySessionId -> the call, until it ends
        self._answered: set[str] = set()
        self._changed = threading.Condition()

    # --- the subscription -------------------------------------------------------------------------------
    def start(self) -> Subscription:
        """Subscribe to presence (detailed telephony state) with a renewal reminder."""
        filters = [presence_filter(detailed_telephony_state=True),
                   reminder_filter(REMINDER_THRESHOLD, REMINDER_INTERVAL, expires_in=EXPIRES_IN)]
        self.subscription = self.subscriptions.create(self.webhook_url, filters, expires_in=EXPIRES_IN,
                                                      verification_token=self.verification_token)
        log.info("subscribed: %r", self.subscription)
        return self.subscription

    def ensure_subscription(self) -> Subscription:
        """Recreate the subscription when it is gone (expired, deleted) or blacklisted; call it periodically."""
        assert self.subscription is not None, "call start() first"
        try:
            current = self.subscriptions.get(self.subscription.id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            log.warning("subscription %s is gone: recreating it", self.subscription.id)
            return self._recreate()
        if current.is_blacklisted:
            log.warning("subscription %s is blacklisted (%s): recreating it", current.id, current.blacklisted_data)
            self.subscriptions.delete(current.id)
            return self._recreate()
        self.subscription = current
        return current

    def _recreate(self) -> Subscription:
        subscription = self.start()
        with self._changed:
            self.recreations += 1
            self._changed.notify_all()
        return subscription

    def stop(self) -> None:
        """Delete the subscription and log out."""
        if self.subscription is not None:
            try:
                self.subscriptions.delete(self.subscription.id)
            except ApiError as exc:
                log.info("subscription %s not deleted: %s", self.subscription.id, exc)
            self.subscription = None
        self.tokens.close()

    # --- notifications (the receiver's listener thread) --------------------------------------------------
    def handle(self, event: WebhookEvent) -> None:
        """React to one notification: renew on a reminder, follow calls on presence."""
        if event.is_reminder:
            self._renew(event)
        elif event.event and event.event.partition("?")[0].endswith("/presence") and isinstance(event.body, dict):
            self._follow_calls(event.body, event.timestamp)

    def _renew(self, event: WebhookEvent) -> None:
        if self.subscription is None or event.subscription_id != self.subscription.id:
            return
        try:
            self.subscription = self.subscriptions.renew(self.subscription.id)
        except ApiError as exc:
            log.warning("renewal of %s failed (%s): recreating it", event.subscription_id, exc)
            self.ensure_subscription()
            return
        with self._changed:
            self.renewals += 1
            self._changed.notify_all()

    def _follow_calls(self, body: dict[str, Any], timestamp: str | None) -> None:
        calls = {c.get("telephonySessionId"): c for c in body.get("activeCalls") or []
                 if c.get("direction") == "Inbound" and c.get("telephonySessionId")}
        with self._changed:
            for session_id, call in calls.items():
                if call.get("telephonyStatus") == "Ringing":
                    self._ringing.setdefault(session_id, call)
                elif call.get("telephonyStatus") in ("CallConnected", "OnHold", "ParkedCall"):
                    self._answered.add(session_id)
            for session_id in [s for s in self._ringing if s not in calls]:  # the call ended
                call = self._ringing.pop(session_id)
                if session_id not in self._answered:
                    self.missed_calls.append(MissedCall(str(call.get("from")), session_id, timestamp))
                self._answered.discard(session_id)
            self._changed.notify_all()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait (bounded) until ``condition()`` holds after the listener's work; True if it did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True


def main(argv: list[str] | None = None) -> int:
    """Run the app until Ctrl-C (or ``--seconds``): receiver, tunnel, subscription, a check every minute."""
    parser = argparse.ArgumentParser(description="Record missed calls from RingCentral presence webhooks.")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--check-every", type=float, default=60.0, help="seconds between subscription checks")
    parser.add_argument("--journal", default="missed-calls-webhooks.jsonl", help="where notifications are kept")
    args = parser.parse_args(argv)
    config = Config.from_env()
    if config.uses_simulator:
        print("missed_calls: error: set RC_SERVER_URL, RC_CLIENT_ID, RC_CLIENT_SECRET and RC_JWT (environment or "
              ".env), or start `rchelpers sim --env-file .env.sim` and run with RC_ENV_FILE=.env.sim", file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(24)
    with WebhookReceiver(verification_token=token, journal=args.journal) as rx, open_tunnel(rx) as tunnel:
        app = MissedCallApp(tunnel.public_url, verification_token=token, config=config)
        rx.add_listener(app.handle)
        app.start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(args.check_every if deadline is None else
                           max(0.0, min(args.check_every, deadline - time.monotonic())))
                app.ensure_subscription()
        except KeyboardInterrupt:
            pass
        finally:
            app.stop()
    print(f"{len(app.missed_calls)} missed call(s)")
    for call in app.missed_calls:
        print(f"  {call.at} from {call.caller}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    sys.exit(main())
