"""rchelpers: learn, try and regression-test RingCentral webhooks from JupyterLab.

The public API is what this module exports (``__all__``); import it from here. The package has three
parts: :mod:`rchelpers.client` (config, OAuth, the REST client, subscriptions) and
:mod:`rchelpers.receiver` (the webhook receiver, its journal, the tunnel) are what an app runs;
:mod:`rchelpers.simulator` is the embedded RingCentral platform, which they reach over HTTP only. It is
imported on first use of ``Simulator`` or ``check_receiver``, so ``import rchelpers`` stays light.
The tutorial's helpers join them: :mod:`rchelpers.lab` (``start_lab``), :mod:`rchelpers.timeline` and
``show_wire``. :mod:`rchelpers.widgets` (ipywidgets for the notebooks) is imported by notebooks only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rchelpers.client.auth import JWT_GRANT, TokenManager
from rchelpers.client.config import ENV_VARS, Config, env_value
from rchelpers.client.http_errors import error_from_response
from rchelpers.client.rest import RestClient
from rchelpers.client.wire import WireLog, show_wire
from rchelpers.client.subscriptions import (
    Subscription,
    SubscriptionClient,
    dnd_filter,
    extension_info_filter,
    extension_list_filter,
    fax_filter,
    instant_sms_filter,
    message_store_filter,
    presence_filter,
    presence_line_filter,
    reminder_filter,
    telephony_sessions_filter,
    voicemail_filter,
)
from rchelpers.errors import (
    ApiError,
    AuthError,
    ConfigError,
    RateLimitError,
    RCHelpersError,
    ReceiverError,
    TunnelError,
    WaitTimeout,
)
from rchelpers.masking import mask
from rchelpers.receiver.event import WebhookEvent
from rchelpers.receiver.tunnel import Tunnel, open_tunnel
from rchelpers.receiver.webhook_receiver import WebhookReceiver
from rchelpers.lab import Lab, running_threads, start_lab
from rchelpers.timeline import Timeline

if TYPE_CHECKING:
    from rchelpers.simulator import Simulator, check_receiver

__version__ = "0.1.0"

__all__ = [
    # the platform (embedded; imported on first use)
    "Simulator",
    "check_receiver",
    # the client
    "Config",
    "env_value",
    "ENV_VARS",
    "TokenManager",
    "JWT_GRANT",
    "RestClient",
    "error_from_response",
    "Subscription",
    "SubscriptionClient",
    "presence_filter",
    "message_store_filter",
    "instant_sms_filter",
    "extension_info_filter",
    "extension_list_filter",
    "telephony_sessions_filter",
    "voicemail_filter",
    "fax_filter",
    "dnd_filter",
    "presence_line_filter",
    "reminder_filter",
    # receiving webhooks
    "WebhookReceiver",
    "WebhookEvent",
    "Tunnel",
    "open_tunnel",
    # the tutorial's helpers: one-call setup, the wire, a subscription's life
    "start_lab",
    "Lab",
    "running_threads",
    "show_wire",
    "WireLog",
    "Timeline",
    # errors and helpers
    "RCHelpersError",
    "ConfigError",
    "ApiError",
    "AuthError",
    "RateLimitError",
    "TunnelError",
    "ReceiverError",
    "WaitTimeout",
    "mask",
]

_FROM_SIMULATOR = ("Simulator", "check_receiver")


def __getattr__(name: str) -> Any:
    """Import the simulator on first use of ``Simulator`` or ``check_receiver``."""
    if name in _FROM_SIMULATOR:
        import rchelpers.simulator

        return getattr(rchelpers.simulator, name)
    raise AttributeError(f"module 'rchelpers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_SIMULATOR))
