"""show_wire: the exchanges of a RestClient as `http --verbose` prints them, secrets masked. Real Simulator on loopback."""
from __future__ import annotations

from webhook_stub import StubWebhook

from rchelpers import RestClient, Simulator, SubscriptionClient, WebhookReceiver, WireLog, mask, presence_filter, show_wire

TOKEN = "tutorial-verification-token"


def test_create_renew_and_list_on_the_wire(sim: Simulator, client: RestClient, subs: SubscriptionClient,
                                           hook: StubWebhook) -> None:
    client.tokens.login()
    with show_wire(client) as wire:
        sub = subs.create(hook.url, [presence_filter()], verification_token=TOKEN, expires_in=900)
        subs.renew(sub.id)
        subs.list_all()
    create, renew, listing = wire.exchanges
    assert (create.method, create.target, create.status) == ("POST", "/restapi/v1.0/subscription", 200)
    assert '"verificationToken": "tuto…(27 chars)"' in create.request_body
    assert '"transportType": "WebHook"' in create.request_body and '"expiresIn": 900' in create.request_body
    assert (renew.method, renew.target) == ("PUT", f"/restapi/v1.0/subscription/{sub.id}")
    assert renew.request_body is None and ("Content-Length", "0") in renew.request_headers
    assert f'"id": "{sub.id}"' in renew.answer
    assert (listing.method, listing.target) == ("GET", "/restapi/v1.0/subscription")
    text = str(wire)
    access = client.tokens.token.access_token
    assert access not in text and TOKEN not in text
    assert f"Authorization: Bearer {access[:4]}…({len(access)} chars)" in text
    assert text.count("Authorization: Bearer") == 3
    renew_text = renew.text()
    assert renew_text.splitlines()[:2] == [f"PUT /restapi/v1.0/subscription/{sub.id} HTTP/1.1", f"Host: {sim.url[7:]}"]
    assert "\n\n(no body)\n\nHTTP/1.1 200 OK\nContent-Type: application/json" in renew_text
    assert "User-Agent" not in text and "Date:" not in text  # nothing that varies between installs or runs


def test_a_receivers_auth_token_in_an_address_is_masked(sim: Simulator, client: RestClient,
                                                         subs: SubscriptionClient) -> None:
    auth = "receiver-auth-token-0123456789"
    with WebhookReceiver(auth_token=auth, journal=False) as rx, show_wire(client) as wire:
        sub = subs.create(rx.url, [presence_filter()])
        subs.get(sub.id)
    assert sub.address == rx.url  # the platform keeps the secret: only the wire's text masks it
    text = str(wire)
    assert auth not in text
    assert text.count(f"auth_token={mask(auth)}") == 3  # the create's body and answer, the read's answer


def test_token_requests_are_masked_and_recording_stops_at_exit(sim: Simulator, client: RestClient) -> None:
    with show_wire(client, max_answer_lines=3) as wire:
        client.get("/restapi/v1.0/subscription")  # the first call logs in first: the token request shows too
    client.get("/restapi/v1.0/subscription")
    assert [e.target for e in wire.exchanges] == ["/restapi/oauth/token", "/restapi/v1.0/subscription"]
    login = wire.exchanges[0]
    text = str(wire)
    for secret in (sim.credentials.jwt, sim.credentials.client_secret, client.tokens.token.access_token,
                   client.tokens.token.refresh_token):
        assert secret not in text
    assert "assertion=" in login.request_body and "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer" in text
    assert any(name == "Authorization" and value.startswith("Basic ") for name, value in login.request_headers)
    assert "… (" in login.text(3) and "more lines)" in login.text(3)
    assert client.session.hooks["response"] == []


def test_show_wire_needs_a_rest_client() -> None:
    try:
        WireLog(object())  # type: ignore[arg-type]
    except TypeError as error:
        assert "RestClient" in str(error)
    else:
        raise AssertionError("WireLog accepted something that is not a RestClient")
