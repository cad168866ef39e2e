"""The receiving side: what an app runs to take RingCentral's webhook calls.

``webhook_receiver`` (``WebhookReceiver``: lifecycle and wiring), ``http1`` (the one-thread HTTP/1.1
server), ``rules`` (the answer to a request, decided without a socket), ``event`` (``WebhookEvent``),
``store`` (events in memory, refused requests, counters, waiting), ``listeners`` (the dispatcher
thread), ``journal`` (the durable JSON-lines journal) and ``tunnel`` (ngrok, or a local stand-in).
Import the public names from :mod:`rchelpers`.
"""
