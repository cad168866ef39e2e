"""Make a webhook receiver reachable from the internet: an ngrok tunnel, or a clearly-local stand-in.

:func:`open_tunnel` uses `pyngrok <https://pyngrok.readthedocs.io>`_ when an ngrok auth token is
available (argument, ``NGROK_AUTHTOKEN`` or ``pyngrok_config.auth_token``) and returns a
:class:`Tunnel` whose ``public_url`` is an HTTPS address that RingCentral can call. Without a token
it returns a local tunnel whose URL is the receiver's loopback address: the embedded simulator can
reach it, the real platform cannot, and the tunnel says so (``warning`` and a log line).

It never downloads the ngrok agent into a notebook's output unless ``allow_download=True``, turns
every pyngrok failure into one :class:`~rchelpers.TunnelError` that says what to do, and keeps
the token out of messages, reprs and logs (pyngrok's own log lines included).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from typing import Any, Protocol, Union

from rchelpers.errors import TunnelError
from rchelpers.masking import mask, mask_auth_token

logger = logging.getLogger("rchelpers.tunnel")  # logger names stay the short public ones users configure

__all__ = ["Tunnel", "open_tunnel", "LOCAL_ONLY_WARNING"]

#: What a local tunnel says about itself.
LOCAL_ONLY_WARNING = (
    "No ngrok auth token (pass authtoken= or set NGROK_AUTHTOKEN): this is a local tunnel whose URL is the "
    "receiver's loopback address. The embedded simulator can reach it; the real RingCentral platform cannot."
)
_PYNGROK_LOGGERS = ("pyngrok", "pyngrok.ngrok", "pyngrok.process", "pyngrok.process.ngrok", "pyngrok.installer")


class _ReceiverLike(Protocol):
    @property
    def port(self) -> int: ...

    @property
    def url(self) -> str: ...


class _TokenScrubber(logging.Filter):
    """Replaces open tunnels' auth tokens in pyngrok's log records with their masked form."""

    def __init__(self) -> None:
        super().__init__("rchelpers.tunnel.scrubber")
        self._tokens: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, token: str) -> None:
        with self._lock:
            self._tokens[token] = self._tokens.get(token, 0) + 1

    def discard(self, token: str) -> None:
        with self._lock:
            left = self._tokens.get(token, 0) - 1
            if left > 0:
                self._tokens[token] = left
            else:
                self._tokens.pop(token, None)

    def scrub(self, text: str) -> str:
        with self._lock:
            tokens = list(self._tokens)
        for token in tokens:
            text = text.replace(token, mask(token))
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._tokens:
            message = record.getMessage()
            cleaned = self.scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


_scrubber = _TokenScrubber()
for _name in _PYNGROK_LOGGERS:
    logging.getLogger(_name).addFilter(_scrubber)


class Tunnel:
    """An open tunnel to a local webhook receiver; close it with :meth:`close` or a ``with`` block.

    ``public_url`` is what a subscription's delivery address should be; ``local_url`` is where the
    traffic ends up. For a receiver both include its path (and ``?auth_token=`` when it has one); for
    a bare port they are the origins.
    """

    def __init__(self, public_url: str, local_url: str, provider: str, *, warning: str | None = None,
                 pyngrok_config: Any = None, ngrok_url: str | None = None, token: str | None = None) -> None:
        if provider == "ngrok" and ngrok_url is None:
            raise ValueError("an ngrok Tunnel needs ngrok_url (the agent's URL, to disconnect it): use open_tunnel()")
        self.public_url = public_url
        self.local_url = local_url
        self.provider = provider
        self.warning = warning
        self._pyngrok_config = pyngrok_config
        self._ngrok_url = ngrok_url
        self._token = token
        self._closed = False

    @property
    def is_public(self) -> bool:
        """True when the URL is reachable from the internet (an ngrok tunnel)."""
        return self.provider == "ngrok"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def close(self) -> None:
        """Close the ngrok endpoint, and stop the agent when no endpoint is left (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.provider != "ngrok":
            return
        assert self._ngrok_url is not None  # __init__ requires it for an ngrok tunnel
        from pyngrok import ngrok, process
        from pyngrok.exception import PyngrokError

        config = self._pyngrok_config
        try:
            if process.is_process_running(config.ngrok_path):
                ngrok.disconnect(self._ngrok_url, pyngrok_config=config)
                if not ngrok.get_tunnels(pyngrok_config=config):
                    ngrok.kill(pyngrok_config=config)
        except (PyngrokError, OSError) as exc:
            logger.warning("closing the ngrok tunnel failed (%s); stopping the agent",
                           _scrub(str(exc), self._token))
            ngrok.kill(pyngrok_config=config)
        finally:
            if self._token:
                _scrubber.discard(self._token)
        logger.info("ngrok tunnel %s closed", mask_auth_token(self.public_url))

    def __enter__(self) -> "Tunnel":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (f"<Tunnel {self.provider} {mask_auth_token(self.public_url)} -> "
                f"{mask_auth_token(self.local_url)}{state}>")


def open_tunnel(
    port_or_receiver: Union[int, _ReceiverLike],
    *,
    authtoken: str | None = None,
    ngrok_path: str | None = None,
    region: str | None = None,
    pyngrok_config: Any = None,
    allow_download: bool = False,
) -> Tunnel:
    """Open a tunnel to a local port or a :class:`~rchelpers.WebhookReceiver`.

    :param port_or_receiver: a local TCP port, or a started receiver (its path and query are kept).
    :param authtoken: the ngrok auth token; defaults to ``NGROK_AUTHTOKEN`` or ``pyngrok_config.auth_token``.
        Without one, a local tunnel is returned (see :data:`LOCAL_ONLY_WARNING`).
    :param ngrok_path: the ngrok agent binary (else ``pyngrok_config.ngrok_path``, ``PYNGROK_NGROK_PATH``
        or pyngrok's default ``~/.config/ngrok/ngrok``).
    :param region: the ngrok region (``us``, ``eu``, ``ap``, ...).
    :param pyngrok_config: a :class:`pyngrok.conf.PyngrokConfig` to start from (config path, timeouts).
    :param allow_download: let pyngrok download the agent when it is missing (it prints progress).
    :raises TunnelError: the agent is missing, refused the token, could not reach ngrok, or did not start.
    """
    local_origin, local_url, path_and_query = _local_target(port_or_receiver)
    token = authtoken or os.environ.get("NGROK_AUTHTOKEN") or getattr(pyngrok_config, "auth_token", None)
    if not token:
        logger.warning(LOCAL_ONLY_WARNING)
        return Tunnel(local_url, local_url, "local", warning=LOCAL_ONLY_WARNING)

    from pyngrok import conf, ngrok
    from pyngrok.exception import PyngrokError, PyngrokNgrokError, PyngrokNgrokInstallError

    config = _pyngrok_config(conf, pyngrok_config, token, ngrok_path, region)
    port = local_origin.rsplit(":", 1)[1]
    if not os.path.exists(config.ngrok_path) and not allow_download:
        raise TunnelError(
            f"the ngrok agent is not installed at {config.ngrok_path}. Install it (https://ngrok.com/download, "
            "or `pip install pyngrok && ngrok --version` in a terminal, which downloads it once), then pass "
            "ngrok_path=... or set PYNGROK_NGROK_PATH; or call open_tunnel(..., allow_download=True) to let "
            "pyngrok download it now. Without a token you get a local tunnel for the embedded simulator.")
    _scrubber.add(token)
    try:
        endpoint = ngrok.connect(local_origin, "http", name=f"rchelpers-{port}-{uuid.uuid4().hex[:8]}",
                                 pyngrok_config=config)
    except PyngrokNgrokInstallError as exc:
        _scrubber.discard(token)
        raise TunnelError(
            f"downloading the ngrok agent failed ({_scrub(str(exc), token)}). Without network access to "
            "ngrok's servers, install the agent by hand (https://ngrok.com/download) and pass ngrok_path=...; or "
            "work offline: without NGROK_AUTHTOKEN (environment and .env) the tunnel is local, and without "
            "RC_SERVER_URL the platform is the embedded simulator.") from None
    except PyngrokNgrokError as exc:
        _scrubber.discard(token)
        raise TunnelError(_explain_agent_error(exc, config, token)) from None
    except (PyngrokError, OSError) as exc:
        _scrubber.discard(token)
        ngrok.kill(pyngrok_config=config)
        raise TunnelError(f"could not open an ngrok tunnel to port {port}: {_scrub(str(exc), token)}. "
                          "Check the agent with `ngrok diagnose` in a terminal.") from None
    ngrok_url = endpoint.public_url
    assert ngrok_url is not None  # pyngrok's connect() raises PyngrokError when the agent gives no public_url
    tunnel = Tunnel(ngrok_url.rstrip("/") + path_and_query, local_url, "ngrok", pyngrok_config=config,
                    ngrok_url=ngrok_url, token=token)
    logger.info("ngrok tunnel open: %r (token %s)", tunnel, mask(token))
    return tunnel


def _local_target(port_or_receiver: Union[int, _ReceiverLike]) -> tuple[str, str, str]:
    """(origin, full local URL, path and query) for a port or a receiver."""
    if isinstance(port_or_receiver, bool) or not isinstance(port_or_receiver, int):
        url = getattr(port_or_receiver, "url", None)
        port = getattr(port_or_receiver, "port", None)
        if not isinstance(url, str) or not isinstance(port, int) or not port:
            raise TypeError("open_tunnel() takes a port number or a started WebhookReceiver "
                            f"(with .url and .port), not {type(port_or_receiver).__name__}")
        match = re.match(r"(https?://[^/]+)(.*)", url)
        if match is None:
            raise TypeError(f"the receiver's url {url!r} is not an http URL")
        return match.group(1), url, match.group(2)
    if not 0 < port_or_receiver < 65536:
        raise ValueError(f"port must be from 1 to 65535, not {port_or_receiver}")
    origin = f"http://127.0.0.1:{port_or_receiver}"
    return origin, origin, ""


def _pyngrok_config(conf: Any, base: Any, token: str, ngrok_path: str | None, region: str | None) -> Any:
    """A PyngrokConfig with the token, path and region applied (``base`` is copied, not changed)."""
    if base is None:
        return conf.PyngrokConfig(ngrok_path=ngrok_path, auth_token=token, region=region)
    config = conf.PyngrokConfig(
        ngrok_path=ngrok_path or base.ngrok_path, config_path=base.config_path, auth_token=token,
        region=region or base.region, monitor_thread=base.monitor_thread,
        log_event_callback=base.log_event_callback, startup_timeout=base.startup_timeout,
        max_logs=base.max_logs, request_timeout=base.request_timeout, start_new_session=base.start_new_session,
        ngrok_version=base.ngrok_version, api_key=base.api_key, config_version=base.config_version)
    return config


def _explain_agent_error(exc: Any, config: Any, token: str) -> str:
    """One message for an agent that errored or did not start, with the advice that fits."""
    detail = _scrub(str(getattr(exc, "ngrok_error", None) or exc), token).strip().rstrip(".")
    code = getattr(exc, "ngrok_error_code", None)
    lowered = detail.lower()
    if "authtoken" in lowered or "authentication failed" in lowered or code in ("ERR_NGROK_105", "ERR_NGROK_107"):
        advice = ("ngrok refused the auth token: copy it again from https://dashboard.ngrok.com/get-started/"
                  "your-authtoken into NGROK_AUTHTOKEN (or authtoken=)")
    elif any(word in lowered for word in ("dial", "lookup", "no such host", "network", "connection refused", "tls")):
        advice = ("the agent could not reach ngrok's servers: check the network or proxy; or work offline: without "
                  "NGROK_AUTHTOKEN (environment and .env) the tunnel is local, and without RC_SERVER_URL the "
                  "platform is the embedded simulator")
    else:
        advice = (f"the agent at {config.ngrok_path} exited or did not finish starting within "
                  f"{config.startup_timeout} s: run `{config.ngrok_path} diagnose` in a terminal, or raise "
                  "pyngrok_config.startup_timeout")
    return f"could not start the ngrok agent ({detail}): {advice}."


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, mask(token)) if token else text
