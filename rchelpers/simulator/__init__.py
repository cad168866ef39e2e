"""rchelpers.simulator: an embedded RingCentral platform (OAuth + webhook subscriptions) on loopback.

Like moto, the platform's state lives in backends with typed methods (:mod:`.oauth`, :mod:`.subscriptions`),
apart from its handlers (:mod:`.api_handlers`, :mod:`.control_handlers`), its route table (:mod:`.routing`)
and its HTTP server (:mod:`.server`); :mod:`.simulator` wires them once. One implementation serves both uses::

    with Simulator() as sim:                 # in-process, ephemeral loopback port
        sim.url, sim.credentials, sim.clock  # base URL, demo app + JWT, the simulated clock
        sim.clock.advance(3600)              # a token or subscription expiry happens at once

    python -m rchelpers.simulator --port 8090 --env-file .env   # standalone, until Ctrl-C

It follows RingCentral's developer guide, API reference, SDKs and real answers captured in public.
``docs/FIDELITY.md`` (in the repository) lists every behaviour, event filter and error code it produces,
each tagged **modelled** (from a public source, named), **observed** (seen in a captured real answer) or
**guessed** (the sources are silent; the simulator's choice), and the option that switches it where the
sources disagree.

Options are the keyword arguments of :class:`Simulator`; each is defined, with its default and its tag, in
:class:`~rchelpers.simulator.options.SimulatorOptions`.

Event filters: every filter of RingCentral's event-filter index is accepted (:mod:`.event_filter_catalog`,
parsed in one place by :mod:`.filters`); some never fire. A filter whose app permission is missing
(option ``permissions``) is listed in ``disabledFilters`` and never fires; a WebHook create without
``SubscriptionWebhook`` gets 403 CMN-401.

Notifications (:mod:`.notifier` sends :mod:`.events` and :mod:`.reminders` through :mod:`.delivery`):
``sim.trigger(kind, **fields)`` (or ``POST /_sim/events``) sends a sample event of the demo user (presence,
message_store, instant_sms, extension_info, extension_list, telephony_session, missed_call, voicemail, fax,
dnd, presence_line) to every Active WebHook filter it matches, as the envelope ``{uuid, event, timestamp,
subscriptionId, ownerId, body}`` with ``Verification-Token``; ``sim.scenario(name, **options)`` (or
``POST /_sim/scenarios/{name}``) plays a whole call (``inbound_call``, ``missed_call``, ``outbound_call``,
:mod:`.telephony`) on the simulated clock, each step routed through the filters when it is due.
Failures are retried and blacklisted (options ``retry_schedule``, ``blacklist_after``); options
``duplicate_rate`` and ``reorder_window`` (off by default) deliver some notifications twice or out of order;
renewal reminders run every ``reminder_job_interval``;
``sim.deliveries`` (``GET /_sim/deliveries``) is the log of every attempt, ``sim.replay(uuid or id)``
(``POST /_sim/deliveries/{id}/replay``) sends one again with the same uuid. After each clock job the
clock waits (bounded) for the deliveries that job started; with a frozen clock ``trigger`` waits for
its own, with a flowing one call ``sim.wait_for_deliveries()``. ``check_receiver(url)``
(``python -m rchelpers.simulator check URL``) runs the platform's rules against any webhook
(``ca_file=`` / ``--ca-file`` trusts a test CA for an https one).

``seed`` makes every id, uuid, token and secret come from ``random.Random(seed)`` and starts a frozen
clock at 2026-01-01T00:00:00Z (``start_time``/``clock_speed`` change that), so equal calls give
byte-identical JSON. Without ``seed``: real time and ``secrets``.

Guessed error choices (no source gives them; ``docs/FIDELITY.md`` has the full table): a missing field is
400 CMN-100 ``Parameter [x] is required``; a bad JWT 400 ``invalid_grant`` OAU-140; an unknown, used or
expired refresh token 400 ``invalid_grant`` OAU-213; an unknown client 401 ``invalid_client`` OAU-153;
a non-form token request 415; an unknown path 404 CMN-120; a wrong method 405 CMN-202; a body over
``max_body_bytes`` 413; an update or renew of a WebSocket record 400 CMN-101 on
``deliveryMode.transportType``; which 403 (SUB-405/408/518/527/530/531) a filter naming another extension
gets, where the sources do not pair them; the ``reason`` of a disabled filter (``InsufficientPermissions``).
The API calls' 401s are the observed ones: no ``Authorization`` header AGW-401, another scheme AGW-402, an
unknown or revoked token ``TokenInvalid`` (OAU-149 in ``errors``), an expired one OAU-128. A used refresh
token fails at once unless ``refresh_reuse_grace`` is set. Rate-limit headers are sent on
authenticated API calls and token/revoke calls (a 401 carries none); the Auth group is counted per
client id. Filters without the ``/restapi/v1.0`` prefix are accepted and returned with it. A PUT with
only ``expiresIn`` renews with that new lifetime (later renewals reuse it); a PUT that would break a
reminder filter's rules for the new lifetime is refused with SUB-508. Unknown fields are ignored
(``expiresIn`` nested inside ``deliveryMode`` too, as the platform does). The handshake is not repeated
on renew or PUT. Legacy PubNub/WebSocket records are seeded without a handshake, default 900 s.
CORS (modelled: browsers run the JS SDK against the platform, ringcentral-web-phone issue #300): a
well-formed ``Origin`` is echoed in ``Access-Control-Allow-Origin`` on every answer, with the rate-limit
headers and ``Retry-After`` exposed (guessed); a preflight of a served path gets 200 with its methods and
the asked headers (max-age 600, guessed); a preflight of an unknown path gets the usual 404.
"""
from __future__ import annotations

from rchelpers.simulator.checker import CheckReport, check_receiver
from rchelpers.simulator.clock import SimClock, iso
from rchelpers.simulator.delivery_log import DeliveryAttempt
from rchelpers.simulator.errors import PlatformError, SimulatorError
from rchelpers.simulator.notification import Notification
from rchelpers.simulator.notifier import ScenarioResult, ScenarioStep, TriggerResult
from rchelpers.simulator.options import SimulatorOptions
from rchelpers.simulator.routing import SimRequest, SimResponse
from rchelpers.simulator.simulator import SEEDED_EPOCH, Credentials, Simulator, mask
from rchelpers.simulator.subscriptions import LIFECYCLE_CHANGES, SubscriptionRecord

__all__ = ["Credentials", "Simulator", "SimClock", "SimulatorOptions", "SubscriptionRecord", "LIFECYCLE_CHANGES", "iso",
           "CheckReport", "check_receiver", "DeliveryAttempt", "Notification", "TriggerResult", "SimRequest",
           "SimResponse", "SimulatorError", "PlatformError", "SEEDED_EPOCH", "mask", "ScenarioResult", "ScenarioStep"]
