"""The client side: what an app runs to talk to RingCentral's REST API.

``config`` (credentials from the environment and ``.env``), ``token`` and ``token_cache`` (a token pair
and its 0600 file), ``auth`` (``TokenManager``: JWT grant, refresh, revoke), ``http_errors`` (error
bodies as exceptions, the bounded 429 wait), ``rest`` (``RestClient``) and ``subscriptions`` (filter
builders, ``SubscriptionClient``). Import the public names from :mod:`rchelpers`.
"""
