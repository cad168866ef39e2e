"""Under pytest-xdist each worker keeps its own simulator (its own port), and nothing leaks between tests."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_two_workers_each_test_its_own_simulator_and_receiver(pytester: pytest.Pytester, tmp_path: Path) -> None:
    out = tmp_path / "seen"
    out.mkdir()
    pytester.makepyfile(f"""
        import json, os, pathlib, time
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_isolated(n, rc_sim, rc_subscriptions, rc_receiver):
            assert rc_subscriptions.list_all() == [] and rc_sim.deliveries == []
            sub = rc_subscriptions.create(rc_receiver.url, ["/restapi/v1.0/account/~/extension/~/presence"])
            rc_sim.trigger("presence")
            rc_receiver.assert_received("presence", count=1)
            time.sleep(0.1)  # overlap with the other worker
            record = {{"worker": os.environ["PYTEST_XDIST_WORKER"], "sim": rc_sim.url, "rx": rc_receiver.url,
                       "sub": sub.id, "uuid": rc_receiver.events[0].uuid}}
            pathlib.Path({str(out)!r}, f"{{n}}.json").write_text(json.dumps(record))
    """)
    # nbval is left out only for speed: it costs each worker interpreter over a second to import
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-p", "no:nbval")
    result.assert_outcomes(passed=6)
    seen = [json.loads(p.read_text()) for p in sorted(out.iterdir())]
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    sims = {s["worker"]: {t["sim"] for t in seen if t["worker"] == s["worker"]} for s in seen}
    assert all(len(urls) == 1 for urls in sims.values())  # each worker keeps one simulator, reset between tests
    assert len(sims["gw0"] | sims["gw1"]) == 2 and len({s["rx"] for s in seen}) == 6  # its own, on its own port
    assert len({(s["sub"], s["uuid"]) for s in seen}) == 1  # seeded and reset: every test saw the same ids
