"""assert_received and assert_delivered: they pass on what happened, and a red test tells the story."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PRESENCE = "/restapi/v1.0/account/~/extension/~/presence"


def test_a_failing_assert_received_lists_what_arrived_and_what_was_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import pytest, requests

        @pytest.mark.rc_receiver(verification_token="right")
        def test_wrong_kind(rc_sim, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, ["{PRESENCE}"], verification_token="right")
            rc_sim.trigger("presence", telephonyStatus="Ringing")
            requests.post(rc_receiver.url, json={{"uuid": "x"}}, headers={{"Verification-Token": "wrong"}}, timeout=5)
            rc_receiver.assert_received("message_store", within=0.2)
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        ">       rc_receiver.assert_received(\"message_store\", within=0.2)",
        "E       AssertionError: expected at least 1 'message_store' event(s) within 0.2 s at "
        "<WebhookReceiver http://127.0.0.1:*/webhook running events=1>; 0 matched.",
        "E       arrived: 1 event(s) (+ matched, - did not):",
        "E         - 1. 2026-01-01T00:00:00.000Z presence sub=* uuid=* body={\"extensionId\":*\"telephonyStatus\":\"Ringing\"*",
        "E       refused: 1 request(s):",
        "E         403 Verification-Token does not match: POST /webhook from 127.0.0.1:*",
        "E       also: 0 redelivered uuid(s) acknowledged without storing, 1 validation request(s).",
    ])
    assert "def assert_received" not in result.stdout.str()  # the story, not the helper's source


def test_assert_received_counts_filters_and_predicates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import pytest

        def presence_filter(detailed_telephony_state=False):  # as rchelpers' builder writes it
            return "{PRESENCE}" + ("?detailedTelephonyState=true" if detailed_telephony_state else "")

        def test_counts(rc_sim, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, [presence_filter(detailed_telephony_state=True)])
            for status in ("Ringing", "CallConnected", "NoCall"):
                rc_sim.trigger("presence", telephonyStatus=status)
            assert len(rc_receiver.assert_received("presence", count=3)) == 3
            assert len(rc_receiver.assert_received(presence_filter())) == 3
            assert len(rc_receiver.assert_received(presence_filter(detailed_telephony_state=True))) == 3
            rc_receiver.assert_received("/account/~/extension/~/presence?detailedTelephonyState=true", count=3)
            rc_receiver.assert_received("message_store", count=0)
            ringing = rc_receiver.assert_received(predicate=lambda e: e.body["telephonyStatus"] == "Ringing")
            assert [e.body["sequence"] for e in ringing] == [1]
            with pytest.raises(ValueError, match="unknown event kind 'presense'"):
                rc_receiver.assert_received("presense")

        def test_exact_count_fails(rc_sim, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, [presence_filter()])
            rc_sim.trigger("presence")
            rc_sim.trigger("presence")
            def is_ringing(event):
                return event.body["telephonyStatus"] == "Ringing"
            rc_receiver.assert_received("presence", count=1, predicate=is_ringing)
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E       AssertionError: expected exactly 1 'presence' event(s) matching is_ringing at *; 2 matched.",
        "E         + 1. *", "E         + 2. *",
    ])


def test_within_waits_on_the_real_or_the_simulated_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import threading, time
        from rchelpers import reminder_filter

        def test_real_clock(rc_sim, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, ["{PRESENCE}"])
            later = threading.Timer(0.3, rc_sim.trigger, ("presence",))
            later.start()
            try:
                rc_receiver.assert_received("presence", within=5)
            finally:
                later.join()

        def test_simulated_clock(rc_sim, rc_clock, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, ["{PRESENCE}", reminder_filter(60, 20)], expires_in=300)
            started = time.monotonic()
            reminders = rc_receiver.assert_received("reminder", count=3, within=300, step=5, clock=rc_clock)
            assert time.monotonic() - started < 5                  # simulated minutes, not real ones
            assert [e.body["expiresIn"] for e in reminders] == [60, 40, 20]
            assert rc_clock.now() == 1767225600 + 280              # stopped when the third arrived

        def test_simulated_clock_fails_with_the_time_reached(rc_sim, rc_clock, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, ["{PRESENCE}"])
            rc_receiver.assert_received("reminder", within=120, clock=rc_clock, step=60)
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "E       AssertionError: expected at least 1 'reminder' event(s) within 120 simulated s at *; 0 matched.",
        "E       simulated time is now 2026-01-01T00:02:00Z.",
        "E       arrived: 0 event(s) (nothing reached this receiver).",
    ])


def test_assert_delivered_checks_the_log_and_blacklisting_and_tells_both(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import pytest
        from rchelpers.testing import assert_delivered

        @pytest.mark.rc_sim(blacklist_after=30)
        def test_blacklisted(rc_sim, rc_clock, rc_subscriptions, rc_faulty_webhook):
            hook = rc_faulty_webhook()
            sub = rc_subscriptions.create(hook.url, ["{PRESENCE}"])
            hook.error(500)
            rc_sim.trigger("presence")
            rc_clock.advance(60)
            failed = assert_delivered(rc_sim, "presence", subscription_id=sub.id, ok=False, status=500,
                                      blacklisted=True)
            assert [a["attempt"] for a in failed] == [1, 2, 3]   # at 0, 1 and 6 s; blacklisted at 30 s
            assert_delivered(rc_sim.url, attempt=1, count=1)
            assert_delivered(rc_sim, ok=True, count=0)

        def test_fails(rc_sim, rc_subscriptions, rc_faulty_webhook):
            hook = rc_faulty_webhook()
            sub = rc_subscriptions.create(hook.url, ["{PRESENCE}"])
            hook.error(503)
            rc_sim.trigger("presence")
            assert_delivered(rc_sim, ok=True, blacklisted=True, subscription_id=sub.id)
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E       AssertionError: expected at least 1 delivery attempt(s) with subscription_id='*', ok=True: "
        "no attempt matched; subscription * is Active, expected Blacklisted.",
        "E       delivery log: 1 attempt(s) (+ matched, - did not):",
        "E         - #1 2026-01-01T00:00:00.000Z attempt 1 presence sub=* uuid=* -> failed: "
        "Webhook responses with code: ?503?, reason: ?Service Unavailable?",
        "E       subscriptions: 1:",
        "E         * Active http://127.0.0.1:*/webhook",
    ])
