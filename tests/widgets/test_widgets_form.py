"""CredentialsForm, kernel side: values set as a user would type them, the button clicked, secrets masked."""
from __future__ import annotations

import json

import pytest

from rchelpers import Config, ConfigError, TokenManager, mask
from rchelpers.simulator import Simulator
from rchelpers.widgets import CredentialsForm

SECRET = "s3cr3t-Client-Secret-0123456789"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZW1vLXVzZXIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _everything_shown(form: CredentialsForm) -> str:
    """Every text the form shows or syncs, except the two password values themselves."""
    parts = [repr(form), str(form._repr_mimebundle_()), form.status.value]
    for child in form.children:
        parts.append(repr(child))
        for name in ("description", "placeholder", "tooltip"):
            parts.append(str(getattr(child, name, "") or ""))
    return "\n".join(parts)


def test_click_yields_the_config_typed_in() -> None:
    seen: list[Config] = []
    form = CredentialsForm(on_config=seen.append)
    form.fill(server_url="http://127.0.0.1:8123/", client_id="demo-client-id", client_secret=SECRET, jwt=JWT)
    form.button.click()
    assert form.config == Config("http://127.0.0.1:8123", "demo-client-id", SECRET, JWT)
    assert seen == [form.config]
    assert form.error is None
    assert "Ready: server http://127.0.0.1:8123 (loopback)" in form.status.value
    assert repr(form).endswith("ready=True)")


def test_secrets_are_never_echoed() -> None:
    form = CredentialsForm()
    form.fill(server_url="https://platform.ringcentral.com", client_id="demo-client-id", client_secret=SECRET, jwt=JWT)
    form.button.click()
    shown = _everything_shown(form)
    assert SECRET not in shown and JWT not in shown
    assert JWT.split(".")[1] not in shown  # not even a part of it
    assert mask(SECRET) in repr(form) and mask(JWT) in repr(form)
    assert mask(SECRET) in form.status.value


def test_secrets_are_password_fields() -> None:
    form = CredentialsForm()
    assert type(form.client_secret).__name__ == "Password"
    assert type(form.jwt).__name__ == "Password"
    form.fill(client_secret=SECRET, jwt=JWT)
    assert SECRET not in repr(form.client_secret) and JWT not in repr(form.jwt)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"server_url": "ftp://example.com"}, "must be an http(s) URL"),
        ({"server_url": "https://platform.ringcentral.com/restapi/v1.0"}, "base URL only"),
        ({"client_secret": ""}, "fill in the Client secret field"),
        ({"jwt": ""}, "fill in the JWT field"),
        ({"client_secret": " " + SECRET}, "spaces or a line break"),
        ({"jwt": JWT[:20] + "\n" + JWT[20:]}, "whitespace"),
    ],
)
def test_bad_input_is_shown_not_raised_by_the_button(fields: dict[str, str], expected: str) -> None:
    values = {"server_url": "https://platform.ringcentral.com", "client_id": "demo-client-id",
              "client_secret": SECRET, "jwt": JWT, **fields}
    form = CredentialsForm()
    form.fill(**values)
    form.button.click()  # must not raise into the browser
    assert form.config is None
    assert form.error is not None and expected in form.error
    assert "Not accepted" in form.status.value
    assert ".env" not in form.error and "RC_" not in form.error  # the form's fields, not variables
    assert SECRET.strip() not in form.status.value and JWT[20:] not in form.status.value
    with pytest.raises(ConfigError, match=expected.split()[0]):
        form.submit()


def test_a_rejected_submit_forgets_the_previous_config() -> None:
    form = CredentialsForm()
    form.fill(server_url="http://127.0.0.1:9", client_id="id", client_secret=SECRET, jwt=JWT)
    assert form.submit().server_url == "http://127.0.0.1:9"
    form.jwt.value = ""
    form.button.click()
    assert form.config is None and "fill in the JWT field" in form.status.value


def test_empty_server_url_means_the_embedded_simulator() -> None:
    form = CredentialsForm()
    config = form.submit()
    assert config.uses_simulator
    assert "embedded simulator" in form.status.value
    assert repr(form) == ("CredentialsForm(server_url='<embedded simulator>', client_id='<unset>', "
                          "client_secret='<unset>', jwt='<unset>', ready=True)")


def test_repr_is_stable_and_whole() -> None:
    forms = [CredentialsForm(), CredentialsForm()]
    for form in forms:
        form.fill(server_url="http://127.0.0.1:8123", client_id="demo-client-id", client_secret=SECRET, jwt=JWT)
        form.submit()
    assert repr(forms[0]) == repr(forms[1])
    bundle = forms[0]._repr_mimebundle_()
    assert bundle["text/plain"] == repr(forms[0])  # not cut at 110 characters
    assert len(bundle["text/plain"]) > 110


def test_the_config_from_the_form_logs_in_to_a_real_simulator(sim: Simulator) -> None:
    demo = sim.credentials
    form = CredentialsForm()
    form.fill(server_url=demo.server_url, client_id=demo.client_id, client_secret=demo.client_secret, jwt=demo.jwt)
    form.button.click()
    assert form.config is not None
    with TokenManager(form.config, clock=sim.clock.now) as tokens:
        tokens.login()
        assert tokens.owner_id == "2253168021" and tokens.expires_in == 3600
    synced = [json.dumps(child.get_state(), default=str) for child in form.children
              if child not in (form.client_secret, form.jwt)]  # what the other widgets send to the browser
    assert not any(demo.client_secret in text or demo.jwt in text for text in synced)
    assert demo.jwt not in repr(form) and demo.client_secret not in form.status.value


def test_close_closes_every_field() -> None:
    form = CredentialsForm()
    fields = list(form.children)
    form.close()
    assert form.comm is None and all(field.comm is None for field in fields)
