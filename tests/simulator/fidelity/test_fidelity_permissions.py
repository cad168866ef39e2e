"""App permissions: the default set, the webhook permission (CMN-401) and disabled filters."""
from __future__ import annotations

import pytest

from rchelpers.simulator import event_filter_catalog as catalog
from rchelpers.simulator.permissions import (DEFAULT_APP_PERMISSIONS, DISABLED_REASON, PermissionSetError,
                                             check_permissions, scope_string, split_by_permission, webhook_denied)

ACCOUNT, EXTENSION = "37439510", "2253168021"


def _parse(*filters: str):
    return [catalog.parse(f, ACCOUNT, EXTENSION) for f in filters]


def test_the_default_set_lets_the_tutorial_subscribe():
    assert {"SubscriptionWebhook", "ReadMessages", "ReadPresence", "ReadAccounts", "CallControl",
            "TeamMessaging"} <= set(DEFAULT_APP_PERMISSIONS)
    assert webhook_denied(DEFAULT_APP_PERMISSIONS) is None
    tutorial = _parse("/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS",
                      "/restapi/v1.0/account/~/extension/~/presence", "/restapi/v1.0/account/~/extension/~/presence/line",
                      "/restapi/v1.0/account/~/extension/~/telephony/sessions?statusCode=Answered",
                      "/restapi/v1.0/account/~/extension/~/voicemail", "/restapi/v1.0/subscription/~?threshold=60&interval=15",
                      "/team-messaging/v1/posts")
    enabled, disabled = split_by_permission(tutorial, DEFAULT_APP_PERMISSIONS)
    assert enabled == tutorial and disabled == []


def test_a_webhook_without_subscription_webhook_is_403_cmn_401_naming_it():
    denied = webhook_denied(["ReadMessages"])
    assert denied is not None and (denied.status, denied.code) == (403, "CMN-401")
    body = denied.body()
    message = "In order to call this API endpoint, application needs to have [SubscriptionWebhook] permission"
    assert body == {"errorCode": "CMN-401", "message": message,
                    "errors": [{"errorCode": "CMN-401", "message": message, "permissionName": "SubscriptionWebhook"}],
                    "permissionName": "SubscriptionWebhook"}


def test_a_filter_without_its_permission_is_disabled_with_reason_and_message():
    parsed = _parse("/restapi/v1.0/account/~/extension/~/telephony/sessions?missedCall=true",
                    "/restapi/v1.0/account/~/extension/~/presence", "/restapi/v1.0/account/~/extension/~/voicemail")
    enabled, disabled = split_by_permission(parsed, ["SubscriptionWebhook", "ReadMessages"])
    assert [p.spec.name for p in enabled] == ["voicemail"]
    assert disabled == [
        {"filter": f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/telephony/sessions?missedCall=true",
         "reason": DISABLED_REASON,
         "message": "In order to call this API endpoint, application needs to have [CallControl] permission"},
        {"filter": f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence", "reason": DISABLED_REASON,
         "message": "In order to call this API endpoint, application needs to have [ReadPresence] permission"},
    ]


def test_either_team_messaging_permission_enables_team_messaging():
    posts = _parse("/team-messaging/v1/posts")
    assert split_by_permission(posts, ["UnifiedAppDesktop"])[1] == []
    assert split_by_permission(posts, ["TeamMessaging"])[1] == []
    assert split_by_permission(posts, ["ReadMessages"])[1][0]["message"].endswith("[TeamMessaging] permission")


def test_filters_needing_no_permission_are_never_disabled():
    reminder = _parse("/restapi/v1.0/subscription/~?threshold=60&interval=15",
                      "/restapi/v1.0/account/~/extension/~/missed-calls")
    assert split_by_permission(reminder, []) == (reminder, [])


def test_every_index_filter_is_enabled_by_its_own_permission_and_disabled_without():
    for spec in catalog.CATALOG:
        if not spec.permissions:
            continue
        parsed = _parse(spec.example())
        assert split_by_permission(parsed, [spec.permissions[0]])[1] == [], spec.name
        assert len(split_by_permission(parsed, ["Nothing"])[1]) == 1, spec.name


def test_permission_sets_are_checked_and_sorted():
    assert check_permissions(["SMS", "CallControl", "SMS"]) == ("CallControl", "SMS")
    assert scope_string(["SubscriptionWebhook", "CallControl"]) == "CallControl SubscriptionWebhook"
    for bad in ("ReadMessages", ["read messages"], [""], [42]):
        with pytest.raises(PermissionSetError, match="permission"):
            check_permissions(bad)  # type: ignore[arg-type]
