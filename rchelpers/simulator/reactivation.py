"""The optional reactivation of blacklisted subscriptions (option ``blacklist_reactivation``).

Every ``interval`` simulated seconds a clock job sends a validation request to each blacklisted address;
one that answers it (HTTP 200 echoing ``Validation-Token``) is set back to ``Active``. Modelled on the
RingCentral community forum (2018: "every 15 minutes"); off by default, as today's developer guide says
blacklisting is permanent.
"""
from __future__ import annotations

import logging

from rchelpers.simulator.clock import Job, SimClock
from rchelpers.simulator.ids import IdSource
from rchelpers.simulator.notification import SubscriptionAccess
from rchelpers.simulator.webhook_client import WebhookClient, WebhookSendError, validation_headers

log = logging.getLogger(__name__)


class ReactivationProbe:
    """Probes the blacklisted addresses of ``subscriptions`` every ``interval`` simulated seconds.

    Each probe's ``Validation-Token`` is drawn from ``ids`` (the simulator's, so a seeded run repeats it).
    """

    def __init__(self, clock: SimClock, subscriptions: SubscriptionAccess, client: WebhookClient,
                 interval: float, timeout: float, ids: IdSource) -> None:
        self.clock = clock
        self.subscriptions = subscriptions
        self.client = client
        self.interval = interval
        self.timeout = timeout
        self.ids = ids
        self._job: Job | None = None
        self._stopped = False

    def start(self) -> None:
        """Schedule the first probe ``interval`` seconds from now."""
        self._job = self.clock.call_later(self.interval, self._run, name="blacklist reactivation")

    def stop(self) -> None:
        """Cancel the next probe."""
        self._stopped = True
        if self._job is not None:
            self._job.cancel()

    def reset(self) -> None:
        """While started, re-arm the next probe ``interval`` seconds from now, as :meth:`start` does (the
        simulator's reset, after its clock's)."""
        if self._job is not None and not self._stopped:
            self._job.cancel()
            self.start()

    def _run(self) -> None:
        for target in self.subscriptions.blacklisted_targets():
            if self.probe(target.address):
                log.info("subscription %s reactivated: its address validates again", target.subscription_id)
                self.subscriptions.reactivate(target.subscription_id)
        if not self._stopped:
            self.start()

    def probe(self, address: str) -> bool:
        """True when ``address`` answers a validation request: HTTP 200 echoing ``Validation-Token``."""
        token = self.ids.uuid4()
        try:
            reply = self.client.post(address, b"", validation_headers(token), self.timeout, keep_alive=True)
        except (ValueError, WebhookSendError):
            return False
        return reply.status == 200 and reply.header("Validation-Token") == token
