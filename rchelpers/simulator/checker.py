"""Run the platform's webhook rules against any receiver URL, ours or anyone's.

``check_receiver(url)`` plays the part of RingCentral for a few seconds: it sends the validation
handshake, sample notifications with the right and a wrong ``Verification-Token``, an empty-body POST
and a burst of concurrent notifications, and judges each reply by the platform's webhook rules (developer
guide, "Webhooks"; the limits are the simulator's defaults in :mod:`.options`). It needs no running
Simulator: these are the platform's rules, not its state. Every request goes through the simulator's
:class:`~rchelpers.simulator.webhook_client.WebhookClient`.

An https URL is reached as the platform reaches it: TLS 1.2 or higher, a certificate for the URL's host
from a trusted CA (the system's store, plus ``ca_file`` for a local test CA); the ``tls`` rule reports
a failure and how to fix it (the platform would answer the create call with SUB-524).

``python -m rchelpers.simulator check URL [--verification-token T] [--ca-file PEM]`` prints the same
report and exits with status 1 when a required rule failed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import ssl
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

from rchelpers.simulator.options import CHECK_BURST, CHECK_TIMEOUT, DEFAULTS, STRICT_TIME_LIMIT_MS
from rchelpers.simulator.presence import presence_body
from rchelpers.simulator.webhook_client import (
    USER_AGENT,
    WebhookClient,
    WebhookReply,
    WebhookSendError,
    describe_tls_error,
    notification_headers,
    validation_headers,
    webhook_ssl_context,
)

#: The handshake reply's size limit the check applies (the simulator's default ``max_reply_bytes``).
MAX_REPLY_BYTES = DEFAULTS.max_reply_bytes
#: The platform's time limit in ms (the simulator's default ``validation_timeout``).
TIME_LIMIT_MS = DEFAULTS.validation_timeout * 1000.0
#: At most this many concurrent notifications in the burst rule (one thread each).
MAX_BURST = 500
#: What the ``tls`` rule tells to fix when the TLS handshake with an https receiver fails.
TLS_FIX = ("serve the full chain from a public CA (e.g. Let's Encrypt) with a certificate for the URL's host "
           "name, over TLS 1.2 or higher; otherwise creating the subscription fails with SUB-524 "
           "'HTTPS certificate is not valid'")


@dataclass
class RuleResult:
    """The outcome of one rule: its name, whether it held, what was measured and what to fix.

    ``passed`` is ``None`` when the rule was skipped (for example every rule after an unreachable URL).
    An ``advisory`` rule is reported but does not make the whole check fail.
    """

    name: str
    passed: bool | None
    measured: str
    fix: str = ""
    advisory: bool = False

    @property
    def verdict(self) -> str:
        """``PASS``, ``FAIL``, ``WARN`` (a failed advisory rule) or ``SKIP``."""
        if self.passed is None:
            return "SKIP"
        if self.passed:
            return "PASS"
        return "WARN" if self.advisory else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        return {
            "name": self.name,
            "passed": self.passed,
            "verdict": self.verdict,
            "measured": self.measured,
            "fix": self.fix,
            "advisory": self.advisory,
        }


@dataclass
class CheckReport:
    """Every rule's result for one receiver URL; ``ok`` is true when no required rule failed."""

    url: str
    results: list[RuleResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every required rule passed (advisory warnings and skips do not count)."""
        return all(r.passed is not False or r.advisory for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        """The required rules that failed."""
        return [r for r in self.results if r.passed is False and not r.advisory]

    def __getitem__(self, name: str) -> RuleResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no rule named {name!r}; rules: {', '.join(r.name for r in self.results)}")

    def __iter__(self) -> Iterator[RuleResult]:
        return iter(self.results)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {"url": self.url, "ok": self.ok, "results": [r.to_dict() for r in self.results]}

    def __str__(self) -> str:
        rows = [(r.verdict, r.name, r.measured) for r in self.results]
        name_w = max([len("rule")] + [len(r[1]) for r in rows])
        value_w = min(48, max([len("measured")] + [len(r[2]) for r in rows]))
        lines = [f"Receiver check: {self.url}", f"{'':4}  {'rule':<{name_w}}  {'measured':<{value_w}}"]
        for verdict, name, measured in rows:
            lines.append(f"{verdict:<4}  {name:<{name_w}}  {measured}")
        fixes = [r for r in self.results if r.passed is False and r.fix]
        if fixes:
            lines.append("")
            lines.append("What to fix:")
            for r in fixes:
                lines.append(f"- {r.name}: {r.fix}")
        failed = len(self.failed)
        warned = sum(1 for r in self.results if r.verdict == "WARN")
        summary = "all required rules passed" if failed == 0 else f"{failed} required rule(s) failed"
        if warned:
            summary += f", {warned} warning(s)"
        lines.append("")
        lines.append(f"Result: {summary}.")
        return "\n".join(line.rstrip() for line in lines)


def _post(client: WebhookClient, url: str, headers: dict[str, str], body: bytes, timeout: float) -> WebhookReply:
    """One POST on a fresh connection; raises WebhookSendError when it cannot complete."""
    return client.post(url, body, {**headers, "Content-Length": str(len(body))}, timeout)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, WebhookSendError):
        exc = exc.cause
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {describe_tls_error(exc)}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"


def _sample_notification(verification_token: str | None) -> tuple[dict[str, str], bytes]:
    """A presence notification shaped like the platform's, with its delivery headers."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    envelope = {
        "uuid": str(uuid.uuid4()),
        "event": "/restapi/v1.0/account/~/extension/~/presence",
        "timestamp": now,
        "subscriptionId": str(uuid.uuid4()),
        "ownerId": "62000001",
        "body": presence_body("62000001", 1, "NoCall"),
    }
    return notification_headers(verification_token), json.dumps(envelope).encode("utf-8")


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _check_handshake(client: WebhookClient, url: str, timeout: float, time_limit_ms: float,
                     strict_ms: float) -> tuple[list[RuleResult], bool]:
    token = str(uuid.uuid4())
    try:
        reply = _post(client, url, validation_headers(token), b"", timeout)
    except WebhookSendError as exc:
        if isinstance(exc.cause, ssl.SSLError):
            return [RuleResult("reachable", True, "TCP connection accepted"),
                    RuleResult("tls", False, _describe_error(exc), TLS_FIX)], False
        what = _describe_error(exc)
        fix = (
            "start the receiver and check the URL (scheme, host, port, path); it must be reachable from RingCentral"
            if "refused" in what or "timed out" not in what
            else f"answer the validation POST within {time_limit_ms:.0f} ms"
        )
        return [RuleResult("reachable", False, what, fix)], False
    results = [RuleResult("reachable", True, f"HTTP {reply.status}")]
    if reply.tls_version is not None:
        results.append(RuleResult("tls", True, f"{reply.tls_version}, certificate valid for the host"))
    echoed = reply.header("Validation-Token")
    if echoed is None:
        results.append(RuleResult(
            "handshake.echo", False, "no Validation-Token header in the reply",
            "copy the request's Validation-Token header into the response (same name, same value); "
            "otherwise creating the subscription fails with SUB-521 (WebHook is not reachable)",
        ))
    elif echoed != token:
        results.append(RuleResult(
            "handshake.echo", False, "Validation-Token echoed with a different value",
            "echo the exact value received in the Validation-Token request header (SUB-521 otherwise)",
        ))
    else:
        results.append(RuleResult("handshake.echo", True, "Validation-Token echoed"))
    results.append(RuleResult(
        "handshake.status", reply.status == 200, f"HTTP {reply.status}",
        "" if reply.status == 200 else "answer the validation POST (empty body) with 200 OK; a framework that "
        "parses JSON bodies must accept an empty one (SUB-522 otherwise)",
    ))
    results.append(RuleResult(
        "handshake.size", reply.size <= MAX_REPLY_BYTES, f"{reply.size} bytes (limit {MAX_REPLY_BYTES})",
        "" if reply.size <= MAX_REPLY_BYTES else f"keep the validation reply (headers and body) at most {MAX_REPLY_BYTES} bytes: "
        "send no body and few headers (SUB-525 otherwise)",
    ))
    content_type = reply.header("Content-Type") or ""
    ct_ok = content_type.split(";")[0].strip().lower() == "application/json"
    results.append(RuleResult(
        "handshake.content_type", ct_ok, content_type or "no Content-Type",
        "" if ct_ok else "send 'Content-Type: application/json' on the validation reply, even with an empty body "
        "(the platform's docs: SUB-525 otherwise)",
    ))
    results.append(_latency_rule("handshake.latency", reply.latency_ms, time_limit_ms, advisory=False))
    results.append(_latency_rule("handshake.latency_strict", reply.latency_ms, strict_ms, advisory=True))
    return results, True


def _latency_rule(name: str, latency_ms: float, limit_ms: float, advisory: bool) -> RuleResult:
    passed = latency_ms <= limit_ms
    fix = ""
    if not passed:
        fix = f"answer within {limit_ms:.0f} ms: reply first, then do slow work on another thread or a queue"
        if advisory:
            fix += " (older platform docs and some tutorials give 1000 ms)"
    return RuleResult(name, passed, f"{latency_ms:.1f} ms (limit {limit_ms:.0f} ms)", fix, advisory)


def _check_notifications(
    client: WebhookClient, url: str, verification_token: str | None, timeout: float, time_limit_ms: float,
) -> list[RuleResult]:
    results: list[RuleResult] = []
    headers, body = _sample_notification(verification_token)
    name = "notification" if verification_token is None else "notification.right_token"
    try:
        reply = _post(client, url, headers, body, timeout)
        ok = 200 <= reply.status < 300 and reply.latency_ms <= time_limit_ms
        fix = ""
        if not 200 <= reply.status < 300:
            fix = ("answer every notification with a 2xx status; other answers are retried and, after "
                   "10 minutes of failures, the subscription is blacklisted")
        elif not ok:
            fix = f"acknowledge within {time_limit_ms:.0f} ms; queue the work and reply first"
        results.append(RuleResult(name, ok, f"HTTP {reply.status} in {reply.latency_ms:.1f} ms", fix))
    except WebhookSendError as exc:
        results.append(RuleResult(name, False, _describe_error(exc),
                                  f"acknowledge notifications with 2xx within {time_limit_ms:.0f} ms"))
    if verification_token is None:
        results.append(RuleResult(
            "notification.wrong_token", None, "skipped: no verification token given (verification_token= or --verification-token)",
            advisory=True,
        ))
        return results
    wrong_headers, wrong_body = _sample_notification("wrong-" + uuid.uuid4().hex[:8])
    try:
        reply = _post(client, url, wrong_headers, wrong_body, timeout)
        refused = not 200 <= reply.status < 300
        results.append(RuleResult(
            "notification.wrong_token", refused,
            f"HTTP {reply.status}: {'refused' if refused else 'accepted'}",
            "" if refused else "compare the Verification-Token header with the token you subscribed with and "
            "answer 401/403 when it differs (anyone who knows the URL can post to it)",
            advisory=True,
        ))
    except WebhookSendError as exc:
        results.append(RuleResult("notification.wrong_token", None, _describe_error(exc), advisory=True))
    return results


def _check_empty_body(client: WebhookClient, url: str, timeout: float, time_limit_ms: float) -> RuleResult:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        reply = _post(client, url, headers, b"", timeout)
    except WebhookSendError as exc:
        return RuleResult("empty_body", False, _describe_error(exc),
                          "answer an empty-body POST quickly (the validation request has no body)")
    ok = reply.status < 500 and reply.latency_ms <= time_limit_ms
    return RuleResult(
        "empty_body", ok, f"HTTP {reply.status} in {reply.latency_ms:.1f} ms",
        "" if ok else "do not crash on an empty body: frameworks that parse JSON automatically answer 400/500 "
        "to the validation POST; read the body only when Content-Length > 0",
    )


def _check_burst(
    client: WebhookClient, url: str, verification_token: str | None, burst: int, timeout: float, time_limit_ms: float,
) -> RuleResult:
    def one() -> tuple[int | None, float, str]:
        headers, body = _sample_notification(verification_token)
        started = time.perf_counter()
        try:
            reply = _post(client, url, headers, body, timeout)
            return reply.status, reply.latency_ms, ""
        except WebhookSendError as exc:
            return None, (time.perf_counter() - started) * 1000.0, _describe_error(exc)

    with concurrent.futures.ThreadPoolExecutor(max_workers=burst) as pool:
        outcomes = list(pool.map(lambda _: one(), range(burst)))
    good = sum(1 for status, _, _ in outcomes if status is not None and 200 <= status < 300)
    latencies = [latency for _, latency, _ in outcomes]
    p50 = _percentile(latencies, 0.50)
    p99 = _percentile(latencies, 0.99)
    ok = good == burst and p99 <= time_limit_ms
    errors = sorted({err for _, _, err in outcomes if err})
    measured = f"{good}/{burst} 2xx, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    if errors:
        measured += f" ({'; '.join(errors)})"
    fix = ""
    if not ok:
        fix = (f"handle {burst} concurrent notifications: a threaded server with a large listen backlog "
               f"(request_queue_size), replying 2xx within {time_limit_ms:.0f} ms to each")
    return RuleResult(f"burst.{burst}", ok, measured, fix)


def check_receiver(
    url: str,
    *,
    verification_token: str | None = None,
    timeout: float = CHECK_TIMEOUT,
    burst: int = CHECK_BURST,
    time_limit_ms: float = TIME_LIMIT_MS,
    strict_time_limit_ms: float = STRICT_TIME_LIMIT_MS,
    ca_file: str | os.PathLike[str] | None = None,
) -> CheckReport:
    """Run the platform's webhook rules against ``url`` and return a report, one result per rule.

    ``verification_token`` is the token the receiver expects (sent as ``Verification-Token``); with it,
    a notification carrying a wrong token is also sent, to see whether the receiver refuses it.
    ``timeout`` bounds each request in seconds, ``burst`` is the number of concurrent notifications,
    ``time_limit_ms`` the platform's time limit (3000 ms today) and ``strict_time_limit_ms`` the older
    1000 ms rule, reported as an advisory warning. ``ca_file`` (a PEM file of CA certificates) is trusted
    for an https URL besides the system's CAs, e.g. the test CA of a local receiver.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"the URL's port must be a number from 1 to 65535, got {url!r}") from None
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:
        raise ValueError(f"burst must be a whole number from 1 to {MAX_BURST}, got {burst!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    context = webhook_ssl_context(ca_file) if parts.scheme == "https" or ca_file is not None else None
    client = WebhookClient(context)
    report = CheckReport(url)
    handshake, reachable = _check_handshake(client, url, timeout, time_limit_ms, strict_time_limit_ms)
    report.results.extend(handshake)
    rest = ["notification", "notification.wrong_token", "empty_body", f"burst.{burst}"]
    if not reachable:
        why = "TLS handshake failed" if handshake[-1].name == "tls" else "receiver not reachable"
        report.results.extend(RuleResult(name, None, f"skipped: {why}") for name in rest)
        return report
    report.results.extend(_check_notifications(client, url, verification_token, timeout, time_limit_ms))
    report.results.append(_check_empty_body(client, url, timeout, time_limit_ms))
    report.results.append(_check_burst(client, url, verification_token, burst, timeout, time_limit_ms))
    return report


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` command's arguments to ``parser``."""
    parser.description = ("Run RingCentral's webhook rules (handshake, notifications, empty body, burst) "
                          "against a receiver URL; exit status 1 if a required rule fails.")
    parser.add_argument("url", help="the webhook address to check, e.g. http://127.0.0.1:5000/webhook")
    parser.add_argument("--verification-token", default=None, help="the token the receiver expects")
    parser.add_argument("--burst", type=int, default=CHECK_BURST,
                        help=f"concurrent notifications to send (default {CHECK_BURST})")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT,
                        help=f"seconds to wait for each reply (default {CHECK_TIMEOUT:g})")
    parser.add_argument("--ca-file", default=None,
                        help="a PEM file of CA certificates to trust for an https URL, besides the system's")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run_command(args: argparse.Namespace) -> int:
    """Run the check described by parsed ``args`` and print the report; 0 all passed, 1 a rule failed, 2 bad input."""
    try:
        report = check_receiver(args.url, verification_token=args.verification_token,
                                timeout=args.timeout, burst=args.burst, ca_file=args.ca_file)
    except ValueError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``check URL [--verification-token T] [--burst N] [--timeout S] [--ca-file PEM] [--json]``; see run_command."""
    parser = argparse.ArgumentParser(prog="python -m rchelpers.simulator check")
    configure_parser(parser)
    return run_command(parser.parse_args(argv))
