"""rchelpers: learn, try and regression-test RingCentral webhooks from JupyterLab.

The client side (config, auth, REST client, subscriptions, receiver, tunnel) talks to a RingCentral
platform over HTTP: the real one, or the embedded simulator in :mod:`rchelpers.simulator`, which never
imports the client code it serves. :mod:`rchelpers.widgets` is imported by notebooks only.
"""
from rchelpers.auth import TokenManager
from rchelpers.config import Config
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
from rchelpers.receiver import WebhookEvent, WebhookReceiver
from rchelpers.rest import RestClient
from rchelpers.simulator import Simulator, check_receiver
from rchelpers.subscriptions import (
    Subscription,
    SubscriptionClient,
    extension_info_filter,
    extension_list_filter,
    instant_sms_filter,
    message_store_filter,
    presence_filter,
    reminder_filter,
)
from rchelpers.tunnel import Tunnel, open_tunnel
from rchelpers.lab import Lab, running_threads, start_lab
from rchelpers.timeline import Timeline
from rchelpers.wire import WireLog, show_wire

__version__ = "0.1.0"

__all__ = [
    # the platform (embedded)
    "Simulator",
    "check_receiver",
    # the client
    "Config",
    "TokenManager",
    "RestClient",
    "Subscription",
    "SubscriptionClient",
    "reminder_filter",
    "presence_filter",
    "message_store_filter",
    "instant_sms_filter",
    "extension_info_filter",
    "extension_list_filter",
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
