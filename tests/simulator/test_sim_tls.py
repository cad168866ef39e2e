"""HTTPS webhooks over real TLS on loopback: SUB-524 for a bad certificate, ``webhook_ca_file`` to trust a test CA.

A throwaway CA and its server certificates are made once per module with the ``openssl`` command in a
temporary folder (no key is ever committed). Each stand-in webhook serves HTTPS on 127.0.0.1 with one of them.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from rchelpers.simulator import Simulator, check_receiver
from rchelpers.simulator import checker
from rchelpers.simulator.webhook_client import webhook_ssl_context
from sim_api import SimApi, assert_error
from webhook_stub import StubWebhook

CERT_INVALID = "HTTPS certificate is not valid"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

# One config for the CA and its leaves; the leaf's subjectAltName comes from the environment (SAN).
OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
[dn]
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
"""
EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class ThrowawayPKI:
    """A throwaway CA (``ca.pem``) and server certificates in ``folder``, each ``<name>.pem`` + ``<name>.key``."""

    folder: Path

    @property
    def ca_file(self) -> str:
        """The test CA's certificate (PEM)."""
        return str(self.folder / "ca.pem")

    def server_context(self, name: str, tls_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        """A server-side context presenting certificate ``name``; ``tls_version`` pins one protocol version."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        if tls_version is not None:
            with warnings.catch_warnings():  # TLSVersion.TLSv1_1 is deprecated: that is the point here
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = context.maximum_version = tls_version
            if tls_version < ssl.TLSVersion.TLSv1_2:
                context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 allows TLS 1.0/1.1 only at level 0
        return context


def _openssl(folder: Path, *args: str, san: str = "") -> None:
    subprocess.run([OPENSSL, *args], cwd=folder, check=True, capture_output=True, timeout=30,
                   env={**os.environ, "SAN": san or "IP:127.0.0.1"})


def _make_pki(folder: Path) -> ThrowawayPKI:
    (folder / "openssl.cnf").write_text(OPENSSL_CONFIG)
    (folder / "index.txt").write_text("")
    cnf = ["-config", "openssl.cnf"]
    _openssl(folder, "req", *cnf, "-x509", *EC_KEY, "-extensions", "ca_ext", "-days", "2",
             "-subj", "/CN=rchelpers test CA", "-keyout", "ca.key", "-out", "ca.pem")
    leaves = {  # name: (subjectAltName, validity)
        "good": ("IP:127.0.0.1", ["-days", "2"]),
        "wrong_host": ("DNS:webhook.example.com", ["-days", "2"]),
        "expired": ("IP:127.0.0.1", ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]),
    }
    for name, (san, validity) in leaves.items():
        _openssl(folder, "req", *cnf, "-new", *EC_KEY, "-subj", "/CN=webhook", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", san=san)
        _openssl(folder, "ca", *cnf, "-batch", "-notext", "-cert", "ca.pem", "-keyfile", "ca.key",
                 "-extensions", "leaf_ext", *validity, "-in", f"{name}.csr", "-out", f"{name}.pem", san=san)
    _openssl(folder, "req", *cnf, "-x509", *EC_KEY, "-extensions", "leaf_ext", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-keyout", "self_signed.key", "-out", "self_signed.pem")
    return ThrowawayPKI(folder)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPKI:
    """The module's throwaway CA and server certificates (made once, in a temporary folder)."""
    if not os.access(OPENSSL, os.X_OK):
        pytest.skip("the openssl command is needed to make test certificates")
    return _make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def https_hook(pki: ThrowawayPKI, webhook_server: Callable[..., StubWebhook]) -> Callable[..., StubWebhook]:
    """Factory ``https_hook(cert="good", tls_version=None, mode="echo")``: an HTTPS stand-in webhook on 127.0.0.1
    (a ``webhook_server``, so stopped at teardown)."""

    def factory(cert: str = "good", tls_version: ssl.TLSVersion | None = None, mode: str = "echo") -> StubWebhook:
        return webhook_server(mode, ssl_context=pki.server_context(cert, tls_version))

    return factory


@pytest.fixture
def trusting_sim(pki: ThrowawayPKI) -> Iterator[Simulator]:
    """A seeded simulator that trusts the test CA (``webhook_ca_file``)."""
    with Simulator(seed=5, rate_limits=None, webhook_ca_file=pki.ca_file) as running:
        yield running


@pytest.fixture
def trusting_api(trusting_sim: Simulator, make_api: Callable[[Simulator], SimApi]) -> SimApi:
    """A logged-in raw client of ``trusting_sim``."""
    return make_api(trusting_sim)


def _last_handshake(api: SimApi) -> dict[str, object]:
    records = api.http.get(api.url("/_sim/handshakes"), timeout=5).json()["records"]
    return records[-1]


def _assert_refused(api: SimApi, sim: Simulator, hook: StubWebhook, detail: str) -> None:
    """The create got 400 SUB-524, nothing was created, and the webhook saw no HTTP request."""
    seen = len(hook.requests)
    assert_error(api.create(hook.url), 400, "SUB-524", CERT_INVALID)
    assert api.records() == [] and sim.subscriptions.records == {}
    assert len(hook.requests) == seen  # the TLS handshake failed before any request was sent
    assert hook.wait_for_tls_failures(1)  # and the webhook saw the handshake fail
    handshake = _last_handshake(api)
    assert handshake["failure"] == "tls" and handshake["errorCode"] == "SUB-524"
    assert detail in str(handshake["detail"]), handshake["detail"]


# --- the create call's handshake ------------------------------------------------------------------------
def test_unknown_ca_is_refused_with_the_default_trust_store(api: SimApi, sim: Simulator, https_hook):
    hook = https_hook("good")  # signed by the test CA, which the system's store does not hold
    _assert_refused(api, sim, hook, "unable to get local issuer certificate")


@pytest.mark.parametrize("cert, detail", [
    ("self_signed", "self-signed certificate"),
    ("wrong_host", "IP address mismatch"),
    ("expired", "certificate has expired"),
])
def test_bad_certificate_is_refused_with_sub_524(trusting_api: SimApi, trusting_sim: Simulator, https_hook, cert, detail):
    _assert_refused(trusting_api, trusting_sim, https_hook(cert), detail)


def test_plain_http_server_behind_an_https_address_is_sub_524(trusting_api: SimApi, trusting_sim: Simulator,
                                                              webhook_server):
    plain = webhook_server("echo")
    assert_error(trusting_api.create(plain.url.replace("http://", "https://")), 400, "SUB-524", CERT_INVALID)
    assert trusting_api.records() == []


def test_tls_below_1_2_is_refused(pki: ThrowawayPKI, trusting_api: SimApi, trusting_sim: Simulator, https_hook):
    hook = https_hook("good", tls_version=ssl.TLSVersion.TLSv1_1)
    # Control: the server really speaks TLS 1.1 to a client that allows it (else the test would prove nothing).
    lenient = ssl.create_default_context(cafile=pki.ca_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lenient.minimum_version = ssl.TLSVersion.TLSv1_1
    lenient.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        reply = _post_with(lenient, hook.url)
    except ssl.SSLError as exc:
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1 even at security level 0: {exc}")
    assert reply == ("TLSv1.1", 200)
    _assert_refused(trusting_api, trusting_sim, hook, "protocol version")


def _post_with(context: ssl.SSLContext, url: str) -> tuple[str | None, int]:
    """POST a validation request with a client ``context``; the TLS version used and the status."""
    parts = urlsplit(url)
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=5, context=context)
    try:
        conn.request("POST", parts.path, body=b"", headers={"Validation-Token": "t"})
        version = conn.sock.version() if isinstance(conn.sock, ssl.SSLSocket) else None
        return version, conn.getresponse().status
    finally:
        conn.close()


def test_tls_1_2_is_accepted(trusting_api: SimApi, https_hook):
    hook = https_hook("good", tls_version=ssl.TLSVersion.TLSv1_2)
    response = trusting_api.create(hook.url)
    assert response.status_code == 200, response.text
    assert response.json()["deliveryMode"]["address"] == hook.url


# --- trusted: the create and a notification over HTTPS --------------------------------------------------
def test_trusted_certificate_creates_and_delivers_over_https(trusting_api: SimApi, trusting_sim: Simulator, https_hook):
    hook = https_hook("good")
    response = trusting_api.create(hook.url, delivery={"verificationToken": "tls-token-1"})
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "Active" and created["deliveryMode"]["address"].startswith("https://127.0.0.1:")
    validation = hook.wait_for(1)[0]
    assert validation.header("Validation-Token") and validation.body == b""

    trusting_sim.trigger("presence", telephonyStatus="Ringing")
    notification = hook.wait_for(2)[1]
    assert notification.method == "POST" and notification.path == "/webhook"
    assert notification.header("Verification-Token") == "tls-token-1"
    assert notification.header("Content-Type") == "application/json; charset=UTF-8"
    assert notification.header("User-Agent").startswith("RingCentral-Webhook/")
    envelope = json.loads(notification.body)
    assert envelope["subscriptionId"] == created["id"] and envelope["body"]["telephonyStatus"] == "Ringing"
    attempt = trusting_sim.deliveries[-1]
    assert attempt.ok and attempt.status == 200 and attempt.address == hook.url
    assert hook.tls_failures == []


def test_delivery_to_a_certificate_gone_bad_fails_with_the_tls_reason(pki: ThrowawayPKI, trusting_api: SimApi,
                                                                      trusting_sim: Simulator, https_hook):
    hook = https_hook("good")
    assert trusting_api.create(hook.url).status_code == 200
    hook.serve_tls(pki.server_context("self_signed"))  # the receiver now serves a self-signed certificate
    trusting_sim.trigger("presence")
    attempt = trusting_sim.deliveries[-1]
    assert not attempt.ok and attempt.status is None
    assert attempt.error == ("I/O operation is failed. Details: "
                             "[TLS handshake failed: certificate verify failed: self-signed certificate]")
    assert len(hook.requests) == 1  # only the validation request got through


# --- the webhook_ca_file option -------------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [
    ("/nonexistent/ca.pem", "No such file or directory"),
    (__file__, "no PEM certificate in it"),
])
def test_unusable_ca_file_is_a_clear_error(value, message):
    with pytest.raises(ValueError, match=message) as info:
        Simulator(webhook_ca_file=value)
    assert "pass a PEM file" in str(info.value)


def test_ca_file_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(ValueError, match="webhook_ca_file must be the path of a PEM file"):
        Simulator(webhook_ca_file=42)


def test_webhook_context_requires_tls_1_2_and_checks_the_host(pki: ThrowawayPKI):
    context = webhook_ssl_context(pki.ca_file)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


# --- the receiver checker -------------------------------------------------------------------------------
def test_checker_reports_an_untrusted_certificate_with_the_fix(https_hook):
    hook = https_hook("good")
    report = check_receiver(hook.url, burst=2, timeout=5)
    assert not report.ok
    tls = report["tls"]
    assert tls.verdict == "FAIL" and "unable to get local issuer certificate" in tls.measured
    assert "serve the full chain from a public CA" in tls.fix and "SUB-524" in tls.fix
    assert report["burst.2"].verdict == "SKIP" and "TLS handshake failed" in report["burst.2"].measured
    assert "serve the full chain from a public CA" in str(report)


def test_checker_with_the_ca_file_passes_over_https(pki: ThrowawayPKI, https_hook):
    hook = https_hook("good")
    report = check_receiver(hook.url, burst=2, timeout=5, ca_file=pki.ca_file)
    assert report.ok, str(report)
    assert report["tls"].verdict == "PASS" and report["tls"].measured.startswith("TLSv1.")
    assert len(hook.requests) >= 5  # handshake, notification, empty body, burst of 2


def test_checker_cli_ca_file(pki: ThrowawayPKI, https_hook, capsys):
    hook = https_hook("wrong_host")
    assert checker.main([hook.url, "--burst", "1", "--ca-file", pki.ca_file]) == 1
    out = capsys.readouterr().out
    assert "FAIL  tls" in out and "IP address mismatch" in out and "serve the full chain" in out
    assert checker.main([hook.url, "--ca-file", "/nonexistent/ca.pem"]) == 2
    assert "cannot be used" in capsys.readouterr().err


def test_plain_http_report_has_no_tls_rule(webhook_server):
    report = check_receiver(webhook_server("echo").url, burst=1, timeout=5)
    assert report.ok and "tls" not in [r.name for r in report]


def test_requests_agrees_the_test_ca_certificate_is_valid(pki: ThrowawayPKI, https_hook):
    """A second TLS client (requests/urllib3) accepts the good certificate with the CA: the fixture is sound."""
    hook = https_hook("good")
    response = requests.post(hook.url, headers={"Validation-Token": "x"}, verify=pki.ca_file, timeout=5)
    assert response.status_code == 200 and response.headers["Validation-Token"] == "x"
