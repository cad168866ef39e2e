"""What a learner sees once servers stop, and when an action fails: widgets stay, say so, and never pour a
traceback. Real Simulator and WebhookReceiver over loopback."""
from __future__ import annotations

import threading
from typing import Callable

from rchelpers import (Config, RestClient, Simulator, SubscriptionClient, TokenManager, WebhookReceiver,
                       presence_filter, reminder_filter)
from rchelpers.widgets import CredentialsForm, EventFeed, SubscriptionTable


def test_a_detached_feed_keeps_its_rows_and_says_it_stopped(sim: Simulator, subs: SubscriptionClient,
                                                            receiver: WebhookReceiver) -> None:
    subs.create(receiver.url, [presence_filter()])
    feed = EventFeed(receiver)
    try:
        sim.trigger("presence", telephonyStatus="Ringing")
        feed.wait_for(1)
        rows = feed.rows
        feed.detach("the notebook stopped its servers")
        dispatched = threading.Event()
        receiver.add_listener(lambda event: dispatched.set())  # called on the same thread the feed was
        sim.trigger("presence", telephonyStatus="NoCall")
        assert dispatched.wait(5) and len(receiver.events) == 2
        assert feed.rows == rows and feed.count == 1  # no longer listening, nothing lost from the view
        assert "stopped: the notebook stopped its servers" in feed.header.value
        assert "rc-stopped" in feed._dom_classes
        assert feed.comm is not None  # still displayed: detach is not close
        assert repr(feed).endswith("listening=False)")
        feed.detach()  # idempotent
    finally:
        feed.close()


def test_a_detached_table_keeps_its_rows_disables_its_buttons_and_says_so(sim: Simulator, subs: SubscriptionClient,
                                                                          receiver: WebhookReceiver) -> None:
    sub = subs.create(receiver.url, [presence_filter()], expires_in=900)
    table = SubscriptionTable(subs)
    try:
        sim.clock.advance(60)
        table.detach("the platform was stopped")
        assert [row.id for row in table.rows] == [sub.id]
        assert all(b.disabled for row in table.rows for b in (row.renew_button, row.delete_button))
        assert table.refresh_button.disabled
        assert "stopped: the platform was stopped" in table.status.value
        assert "rc-stopped" in table._dom_classes and table.comm is not None
        table.row(sub.id).renew_button.click()  # a disabled button clicked from code still does nothing
        assert subs.get(sub.id).expires_in == 840
        assert repr(table) == ("SubscriptionTable(rows=1, active=1, other=0, last_action='stopped: the platform was "
                               "stopped; run the notebook again for a live table', stopped='the platform was stopped')")
    finally:
        table.close()


def test_a_stopped_platform_is_one_red_line_not_a_traceback(make_sim: Callable[..., Simulator], receiver: WebhookReceiver) -> None:
    sim = make_sim()
    with TokenManager(Config.from_mapping(sim.credentials.as_env()), clock=sim.clock.now) as tokens:
        subs = SubscriptionClient(RestClient(tokens))
        subs.create(receiver.url, [presence_filter()])
        table = SubscriptionTable(subs)
        url = sim.url
        sim.stop()
        try:
            table.row(table.rows[0].id).renew_button.click()  # must not raise
            assert "\n" not in table.last_action
            assert table.last_action.startswith(f"the platform at {url} does not answer (stopped?)")
            assert "run the notebook's cells again" in table.last_action
            assert "rc-status-error" in table.status.value
            again = SubscriptionTable(subs)  # re-running the cell after Run All: no traceback either
            assert "does not answer" in again.status.value and again.rows == []
            again.close()
        finally:
            table.close()


def test_renew_says_what_moved_even_on_a_frozen_clock(sim: Simulator, subs: SubscriptionClient,
                                                      receiver: WebhookReceiver) -> None:
    sub = subs.create(receiver.url, [presence_filter()], expires_in=900)
    table = SubscriptionTable(subs)
    try:
        table.row(sub.id).renew_button.click()
        assert table.last_action == (f"renewed {sub.id[:8]} (PUT, no body): expirationTime stays 00:15:00 "
                                     "(no time passed on the platform's clock), 15m 0s left")
        sim.clock.advance(120)
        table.row(sub.id).renew_button.click()
        assert "expirationTime 00:15:00 -> 00:17:00, 15m 0s left" in table.last_action
        assert "00:17:00" in [label.value for label in table.row(sub.id).widget.children[:4]]
    finally:
        table.close()


def test_every_filter_is_shown_in_full(subs: SubscriptionClient, receiver: WebhookReceiver) -> None:
    long_presence = presence_filter(detailed_telephony_state=True)
    reminder = reminder_filter(600, 300, expires_in=3600)
    sub = subs.create(receiver.url, [long_presence, reminder], expires_in=3600)
    table = SubscriptionTable(subs)
    try:
        cell = table.row(sub.id).filters.value.replace("<wbr>", "")  # <wbr>: where a long filter may wrap
        assert "/subscription/~?threshold=600&amp;interval=300" in cell
        assert "presence?detailedTelephonyState=true" in cell and cell.count("<br>") == 1
        assert "overflow-wrap:anywhere" in cell  # long filters wrap inside the cell instead of being cut
        assert "/<wbr>presence<wbr>?detailedTelephonyState=true" in table.row(sub.id).filters.value
        assert "rc-filters" in table.row(sub.id).filters._dom_classes
        assert "rc-subscription-row" in table.row(sub.id).widget._dom_classes
        assert "rc-renew" in table.row(sub.id).renew_button._dom_classes
    finally:
        table.close()


def test_the_form_names_its_fields_and_shows_any_failure_in_one_line() -> None:
    def refuse(_config: object) -> None:
        raise RuntimeError("the kernel is busy\nsecond line")

    form = CredentialsForm(on_config=refuse)
    try:
        assert form.button.layout.width == "220px"  # "Use these credentials" is not cut
        form.fill(server_url="https://platform.ringcentral.com", client_id="demo-client-id")
        form.button.click()
        assert form.error == ("fill in the Client secret and JWT fields (a server URL needs all four), "
                              "or clear Server URL to use the embedded simulator.")
        form.fill()  # the embedded simulator: accepted, then on_config fails
        form.button.click()
        assert form.error == "RuntimeError: the kernel is busy"
        assert "rc-status-error" in form.status.value
    finally:
        form.close()
