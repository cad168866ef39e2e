"""SubscriptionTable, kernel side, against a real seeded Simulator over loopback: list, renew, delete, errors."""
from __future__ import annotations

import pytest

from rchelpers import (
    ApiError,
    Config,
    RestClient,
    SubscriptionClient,
    TokenManager,
    WebhookReceiver,
    presence_filter,
)
from rchelpers.simulator import Simulator
from rchelpers.widgets import SubscriptionTable


def _two_webhooks(subs: SubscriptionClient, receiver: WebhookReceiver) -> list[str]:
    first = subs.create(receiver.url, [presence_filter()], expires_in=900)
    second = subs.create(receiver.url, [presence_filter()], expires_in=3600)
    return [first.id, second.id]


def test_rows_show_webhooks_only_with_time_left(sim: Simulator, subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    ids = _two_webhooks(subs, receiver)
    sim.seed_subscription("PubNub", ["/restapi/v1.0/account/~/extension/~/presence"])
    table = SubscriptionTable(subs)
    assert [row.id for row in table.rows] == ids
    assert [row.time_left for row in table.rows] == ["15m 0s", "1h 0m"]
    assert repr(table) == "SubscriptionTable(rows=2, active=2, other=0, last_action='none yet')"
    assert len(SubscriptionTable(subs, transport=None).rows) == 3  # the PubNub record too
    sim.clock.advance(100)
    table.refresh()
    assert [row.time_left for row in table.rows] == ["13m 20s", "58m 20s"]


def test_renew_button_renews_with_put_and_no_body(sim: Simulator, subs: SubscriptionClient,
                                                  receiver: WebhookReceiver) -> None:
    ids = _two_webhooks(subs, receiver)
    sim.clock.advance(600)
    table = SubscriptionTable(subs)
    assert table.row(ids[0]).time_left == "5m 0s"
    table.row(ids[0]).renew_button.click()
    assert subs.get(ids[0]).expires_in == 900  # renewed on the platform, for its original lifetime
    assert subs.get(ids[1]).expires_in == 3000  # the other row untouched
    assert table.row(ids[0]).time_left == "15m 0s"  # the table refreshed itself
    assert table.last_action == (f"renewed {ids[0][:8]} (PUT, no body): expirationTime 00:15:00 -> 00:25:00, "
                                 "15m 0s left")


def test_delete_button_deletes_and_the_row_goes(subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    ids = _two_webhooks(subs, receiver)
    table = SubscriptionTable(subs)
    table.row(ids[1][:8]).delete_button.click()
    assert [s.id for s in subs.list_all()] == [ids[0]]
    assert [row.id for row in table.rows] == [ids[0]]
    with pytest.raises(KeyError, match="call refresh"):
        table.row(ids[1])
    assert repr(table) == f"SubscriptionTable(rows=1, active=1, other=0, last_action='deleted {ids[1][:8]}')"


def test_a_stale_row_shows_the_platform_error_instead_of_raising(subs: SubscriptionClient,
                                                                 receiver: WebhookReceiver) -> None:
    ids = _two_webhooks(subs, receiver)
    table = SubscriptionTable(subs)
    stale = table.row(ids[0])
    subs.delete(ids[0])  # deleted elsewhere: the row is now stale
    stale.renew_button.click()
    assert table.last_action == "HTTP 404 CMN-102: Resource for parameter [subscriptionId] is not found"
    assert "CMN-102" in table.status.value
    assert [row.id for row in table.rows] == [ids[0], ids[1]]  # nothing changed on a failed action
    stale.delete_button.click()
    assert table.last_action.startswith("HTTP 404 CMN-102")
    with pytest.raises(ApiError):
        subs.get(ids[0])


def test_an_empty_list_says_so(subs: SubscriptionClient) -> None:
    table = SubscriptionTable(subs)
    assert table.rows == []
    assert "no subscriptions" in table.children[1].children[0].value


def test_repr_is_stable_across_runs(receiver: WebhookReceiver) -> None:
    reprs = []
    for _ in range(2):
        with Simulator(seed=11) as sim:
            with RestClient(TokenManager(Config.from_mapping(sim.credentials.as_env()), clock=sim.clock.now)) as rest:
                subs = SubscriptionClient(rest)
                _two_webhooks(subs, receiver)
                table = SubscriptionTable(subs)
                table.rows[0].renew_button.click()
                reprs.append((repr(table), [repr(row) for row in table.rows]))
    assert reprs[0] == reprs[1]


def test_refresh_and_close_release_the_widgets_they_drop(subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    _two_webhooks(subs, receiver)
    table = SubscriptionTable(subs)
    old = table.rows[0]
    assert old.renew_button.comm is not None
    table.refresh()
    assert old.renew_button.comm is None and old.widget.comm is None  # replaced rows are closed, not leaked
    current = table.rows[0]
    table.close()
    assert current.delete_button.comm is None and table.status.comm is None and table.comm is None
