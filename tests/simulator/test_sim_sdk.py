"""The official RingCentral Python SDK, unchanged, against the simulator."""
from __future__ import annotations

import pytest
from ringcentral import SDK
from ringcentral.http.api_exception import ApiException

from rchelpers.simulator import Simulator

SUBSCRIPTION = "/restapi/v1.0/subscription"


@pytest.fixture
def platform():
    with Simulator(seed=21, rate_limits=None) as sim:
        creds = sim.credentials
        sdk = SDK(creds.client_id, creds.client_secret, sim.url)
        yield sim, sdk.platform()


def test_official_sdk_full_cycle(platform, webhook_server):
    sim, rc = platform
    hook = webhook_server("echo")
    rc.login(jwt=sim.credentials.jwt)
    assert rc.logged_in()
    created = rc.post(SUBSCRIPTION, {
        "eventFilters": ["/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"],
        "deliveryMode": {"transportType": "WebHook", "address": hook.url, "verificationToken": "vt"},
        "expiresIn": 3600,
    }).json_dict()
    assert created["status"] == "Active" and created["expiresIn"] == 3600
    sub = f"{SUBSCRIPTION}/{created['id']}"
    assert rc.get(sub).json().id == created["id"]
    sim.clock.advance(600)
    renewed_by_put = rc.put(sub, {}).json_dict()  # the SDK sends no body, with a JSON content type
    assert renewed_by_put["expiresIn"] == 3600
    sim.clock.advance(600)
    assert rc.post(f"{sub}/renew").json_dict()["expiresIn"] == 3600
    listed = rc.get(SUBSCRIPTION).json_dict()
    assert [r["id"] for r in listed["records"]] == [created["id"]]
    old_token = rc.auth().access_token()
    rc.refresh()
    assert rc.auth().access_token() != old_token
    assert rc.delete(sub).response().status_code == 204
    with pytest.raises(ApiException) as info:
        rc.get(sub)
    assert "404" in str(info.value)
    rc.logout()
    assert not sim.oauth.sessions


def test_sdk_sees_expired_access_token_as_401_and_recovers_by_refresh(platform):
    sim, rc = platform
    rc.login(jwt=sim.credentials.jwt)
    sim.clock.advance(3600)  # the SDK's own clock does not know: it sends the expired token
    with pytest.raises(ApiException) as info:
        rc.get(SUBSCRIPTION)
    assert "401" in str(info.value)
    rc.refresh()
    assert rc.get(SUBSCRIPTION).json_dict()["records"] == []


def test_sdk_login_with_a_bad_jwt_fails_clearly(platform):
    sim, rc = platform
    with pytest.raises(ApiException) as info:
        rc.login(jwt="eyJ.bad.jwt")
    assert "400" in str(info.value)
