"""The rc_ fixtures and markers, run by pytest's own pytester on test files written at test time.

The plugin is found through the ``pytest11`` entry point of the installed package: no conftest, no
``-p`` option.
"""
from __future__ import annotations

import os
import socket

import pytest
from readme_snippets import code_blocks

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered_by_the_installed_package(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    for name in ("rc_sim", "rc_clock", "rc_config", "rc_env", "rc_client", "rc_subscriptions", "rc_receiver",
                 "rc_webhook_url", "rc_faulty_webhook"):
        result.stdout.fnmatch_lines([f"{name} -- *rchelpers*testing*plugin.py*"])
    assert pytester.runpytest("--markers").stdout.str().count("@pytest.mark.rc_") == 3


STORY = """
    import pytest
    SEEN = []

    def look(sim, client, subs, receiver):
        created = subs.create(receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
        sim.trigger("presence")
        SEEN.append((sim.url, created.id, client.tokens.access_token, sim.clock.now(),
                     [(a.id, a.uuid) for a in sim.deliveries], receiver.events[0].body, len(subs.list_all())))

    @pytest.mark.rc_sim(fresh={fresh})
    def test_one(rc_sim, rc_client, rc_subscriptions, rc_receiver):
        look(rc_sim, rc_client, rc_subscriptions, rc_receiver)
        rc_sim.scenario("missed_call")  # steps still pending when the test ends
        rc_sim.clock.set_speed(5)

    @pytest.mark.rc_sim(fresh={fresh})
    def test_two(rc_sim, rc_client, rc_subscriptions, rc_receiver):
        look(rc_sim, rc_client, rc_subscriptions, rc_receiver)

    def test_same_story_twice():
        (url1, *first), (url2, *second) = SEEN
        assert (url1 == url2) is {shared}        # one simulator kept and reset, or one per test
        assert first == second                   # same ids, token, time, delivery log, body: nothing leaked
        assert second[-1] == 1 and len(second[-3]) == 1
"""


def test_each_test_gets_a_simulator_in_a_new_ones_state_and_a_logged_in_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(STORY.format(fresh=False, shared=True))
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


@pytest.mark.parametrize("how", ["marker", "option"])
def test_a_test_can_ask_for_a_simulator_of_its_own(pytester: pytest.Pytester, how: str) -> None:
    pytester.makepyfile(STORY.format(fresh=how == "marker", shared=False))
    args = ["--rc-fresh-sim"] if how == "option" else []
    pytester.runpytest("-p", "no:randomly", *args).assert_outcomes(passed=3)


def test_a_simulator_changed_beyond_its_state_is_replaced_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from rchelpers.simulator import SimResponse
        URLS = []

        def test_adds_a_route(rc_sim):
            URLS.append(rc_sim.url)
            rc_sim.add_route("GET", "/_sim/hello", lambda request: SimResponse(200, {}))

        def test_stops_it(rc_sim):
            URLS.append(rc_sim.url)
            rc_sim.stop()

        def test_listens(rc_sim):
            URLS.append(rc_sim.url)
            rc_sim.add_listener(lambda change, record: None)

        def test_reads_only(rc_sim):
            URLS.append(rc_sim.url)

        def test_kept(rc_sim):
            URLS.append(rc_sim.url)
            assert len(set(URLS)) == 4 and URLS[-1] == URLS[-2]  # replaced three times, then kept
            assert not any(route.pattern.pattern == "/_sim/hello" for route in rc_sim.router.routes)

        @pytest.mark.rc_sim(fresh="yes")
        def test_bad_fresh(rc_sim):
            pass
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.rc_sim: fresh must be True or False, got 'yes'*"])


def test_rc_env_sets_the_four_variables_and_restores_them(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RC_ENV_FILE", "before")
    monkeypatch.setenv("NGROK_AUTHTOKEN", "a-real-token")
    monkeypatch.delenv("RC_SERVER_URL", raising=False)
    pytester.makepyfile("""
        import os
        from rchelpers import Config

        def test_env(rc_env, rc_sim):
            assert os.environ["RC_SERVER_URL"] == rc_sim.url
            assert os.environ["RC_ENV_FILE"] == "" and "NGROK_AUTHTOKEN" not in os.environ  # no public tunnel
            config = Config.from_env()
            assert (config.client_id, config.jwt) == (rc_sim.credentials.client_id, rc_sim.credentials.jwt)

        def test_after():
            assert "RC_SERVER_URL" not in os.environ and os.environ["RC_ENV_FILE"] == "before"
            assert os.environ["NGROK_AUTHTOKEN"] == "a-real-token"
    """)
    pytester.runpytest().assert_outcomes(passed=2)
    assert os.environ["RC_ENV_FILE"] == "before" and "RC_JWT" not in os.environ


def test_rc_receiver_journals_in_tmp_path_and_is_stopped_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        RECEIVERS = []

        def test_receiver(rc_receiver, tmp_path):
            RECEIVERS.append(rc_receiver)
            assert rc_receiver.running and rc_receiver.journal_path == tmp_path / "webhooks.jsonl"

        def test_stopped():
            assert not RECEIVERS[0].running
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_rc_clock_is_the_simulators_frozen_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_clock(rc_sim, rc_clock):
            assert rc_clock is rc_sim.clock and rc_clock.speed == 0
            assert rc_clock.now() == 1767225600.0     # 2026-01-01T00:00:00Z, the seeded start
            rc_clock.advance(60)
            assert rc_clock.now() == 1767225660.0
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_rc_sim_marker_passes_options_the_closest_winning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from rchelpers import ApiError

        pytestmark = pytest.mark.rc_sim(subscription_limit=5, seed=3)

        @pytest.mark.rc_sim(subscription_limit=2)
        def test_limit(rc_sim, rc_subscriptions, rc_receiver):
            assert rc_sim.seed == 3
            for _ in range(2):
                rc_subscriptions.create(rc_receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
            with pytest.raises(ApiError) as refused:
                rc_subscriptions.create(rc_receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
            assert refused.value.error_code == "SUB-505"

        @pytest.mark.rc_sim(seed=None)
        def test_unseeded(rc_sim):
            assert rc_sim.seed is None and rc_sim.clock.speed == 1
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_an_unknown_marker_option_fails_naming_the_known_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.rc_sim(subscription_limt=2)
        def test_typo(rc_sim):
            pass

        @pytest.mark.rc_sim(2)
        def test_positional(rc_sim):
            pass

        @pytest.mark.rc_sim(subscription_limit=0)
        def test_bad_value(rc_sim):
            pass
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([
        "@pytest.mark.rc_sim: unknown option(s) subscription_limt; known: *subscription_limit*validation_timeout*",
        "@pytest.mark.rc_sim takes keyword options only, e.g. rc_sim(subscription_limit=2), not (2,)",
        "@pytest.mark.rc_sim: subscription_limit must be an integer >= 1, got 0",
    ])
    assert "Traceback" not in result.stdout.str() and "def rc_sim" not in result.stdout.str()


def test_the_rc_receiver_marker_passes_options_and_a_port_in_use_fails_in_one_line(
        pytester: pytest.Pytester) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pytester.makepyfile(f"""
            import pytest, requests

            @pytest.mark.rc_receiver(verification_token="right")
            def test_token(rc_receiver):
                answer = requests.post(rc_receiver.url, json={{"uuid": "1"}},
                                       headers={{"Verification-Token": "wrong"}}, timeout=5)
                assert answer.status_code == 403

            @pytest.mark.rc_receiver(port={port})
            def test_port_in_use(rc_receiver):
                pass
        """)
        result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"rc_receiver: cannot listen on 127.0.0.1:{port} (*); pass port=0 *"])


def test_trigger_and_scenarios_are_the_simulators_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_trigger(rc_sim, rc_subscriptions, rc_receiver):
            rc_subscriptions.create(rc_receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
            result = rc_sim.trigger("presence", telephonyStatus="Ringing")
            assert len(result.notifications) == 1
            rc_receiver.assert_received("presence", count=1,
                                        predicate=lambda e: e.body["telephonyStatus"] == "Ringing")
            if hasattr(type(rc_sim), "scenario"):     # scenarios, where this simulator has them
                assert callable(rc_sim.scenario)
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_readmes_shortest_test_passes(pytester: pytest.Pytester) -> None:
    (snippet,) = code_blocks("## Testing your own app with pytest")
    pytester.makepyfile(test_my_webhook=snippet)
    pytester.runpytest().assert_outcomes(passed=1)
