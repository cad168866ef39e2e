"""rchelpers.testing: test your own RingCentral webhook app with pytest (and your notebooks with nbval).

Installing rchelpers registers the pytest plugin :mod:`rchelpers.testing.plugin` (fixtures ``rc_sim``,
``rc_clock``, ``rc_config``, ``rc_env``, ``rc_client``, ``rc_subscriptions``, ``rc_receiver``,
``rc_webhook_url``, ``rc_faulty_webhook``; markers ``rc_sim``, ``rc_receiver``, ``rc_live``; option
``--rc-live``). This package also holds what those tests use directly:

- :func:`assert_received` (also ``rx.assert_received(...)``) and :func:`assert_delivered`: assertions
  whose failure lists what arrived or what the platform delivered;
- :class:`FaultyWebhook`: a webhook, or a proxy in front of yours, that fails on purpose;
- :func:`sanitize_path`: the nbval sanitizing rules for notebooks that use rchelpers
  (``python -m rchelpers.testing sanitize-path`` prints it).
"""
from __future__ import annotations

from rchelpers.testing.assertions import EVENT_KINDS, assert_delivered, assert_received, event_matches
from rchelpers.testing.faults import FAULTS, FaultRecord, FaultyWebhook
from rchelpers.testing.nbval import sanitize_path

__all__ = ["EVENT_KINDS", "FAULTS", "FaultRecord", "FaultyWebhook", "assert_delivered", "assert_received",
           "event_matches", "sanitize_path"]
