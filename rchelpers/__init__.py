"""rchelpers: learn, try and regression-test RingCentral webhooks from JupyterLab.

The client side (config, auth, REST client, subscriptions, receiver, tunnel) talks to a RingCentral
platform over HTTP: the real one, or the embedded simulator in :mod:`rchelpers.simulator`, which never
imports the client code it serves.
"""
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

__version__ = "0.1.0"

# --- each area adds its public names below once its module exists ---
# simulator (issue 2/4):
from rchelpers.simulator import Simulator, check_receiver  # noqa: E402
# client (issue 2):
from rchelpers.config import Config
from rchelpers.auth import TokenManager
from rchelpers.rest import RestClient
from rchelpers.subscriptions import Subscription, Subscriptions, reminder_filter
# receiver and tunnel (issue 3):
from rchelpers.receiver import WebhookEvent, WebhookReceiver
from rchelpers.tunnel import Tunnel, open_tunnel
