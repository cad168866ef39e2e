"""Delivery realism: duplicates and reordering, off by default, deterministic under a seed."""
from __future__ import annotations

import random

import pytest

from rchelpers.simulator.realism import DeliveryPlan, DeliveryRealism, RealismError


def test_off_by_default_one_copy_now_and_no_draws():
    rng = random.Random(5)
    state = rng.getstate()
    realism = DeliveryRealism(rng=rng)
    assert not realism.active
    assert [realism.plan() for _ in range(3)] == [DeliveryPlan((0.0,))] * 3
    assert rng.getstate() == state  # a seeded run is not disturbed when realism is off


def test_same_seed_same_decisions():
    first = DeliveryRealism.seeded(42, duplicate_rate=0.3, reorder_window=2.0)
    second = DeliveryRealism.seeded(42, duplicate_rate=0.3, reorder_window=2.0)
    assert [first.plan() for _ in range(200)] == [second.plan() for _ in range(200)]
    other = DeliveryRealism.seeded(43, duplicate_rate=0.3, reorder_window=2.0)
    assert [first.plan() for _ in range(50)] != [other.plan() for _ in range(50)]


def test_duplicate_rate_is_the_share_sent_twice():
    realism = DeliveryRealism.seeded(1, duplicate_rate=0.25)
    plans = [realism.plan() for _ in range(2000)]
    share = sum(plan.duplicated for plan in plans) / len(plans)
    assert 0.22 < share < 0.28
    assert all(plan.delays in ((0.0,), (0.0, 0.0)) for plan in plans)  # no window: both copies at once
    always = DeliveryRealism.seeded(1, duplicate_rate=1.0)
    assert all(always.plan().duplicated for _ in range(100))


def test_delays_stay_inside_the_window():
    realism = DeliveryRealism.seeded(3, reorder_window=1.5)
    delays = [d for _ in range(500) for d in realism.plan().delays]
    assert all(0.0 <= d < 1.5 for d in delays)
    assert max(delays) > 1.0 and min(delays) < 0.5  # they do spread over the window


def test_arrange_reorders_only_within_the_window_and_duplicates_keep_the_item():
    realism = DeliveryRealism.seeded(7, duplicate_rate=0.3, reorder_window=2.0)
    items = [(float(n), {"uuid": f"n{n}", "due": float(n)}) for n in range(200)]
    sent = realism.arrange(items)
    assert [at for at, _ in sent] == sorted(at for at, _ in sent)
    uuids = [item["uuid"] for _, item in sent]
    assert set(uuids) == {f"n{n}" for n in range(200)}
    duplicated = [u for u in set(uuids) if uuids.count(u) == 2]
    assert 40 < len(duplicated) < 80 and all(uuids.count(u) <= 2 for u in uuids)
    overtaken = 0
    for i, (_, early) in enumerate(sent):
        for _, late in sent[i + 1:]:
            if late["due"] < early["due"]:  # ``early`` overtook ``late``
                overtaken += 1
                assert early["due"] - late["due"] < 2.0
    assert overtaken > 0
    copies = [item for _, item in sent if item["uuid"] == duplicated[0]]
    assert copies[0] is copies[1]  # the same notification, the same uuid


def test_arrange_without_realism_keeps_order():
    items = [(0.0, "a"), (0.0, "b"), (1.0, "c")]
    assert DeliveryRealism().arrange(items) == items


@pytest.mark.parametrize("options, named", [
    ({"duplicate_rate": -0.1}, "duplicate_rate"),
    ({"duplicate_rate": 1.5}, "duplicate_rate"),
    ({"duplicate_rate": True}, "duplicate_rate"),
    ({"reorder_window": -1}, "reorder_window"),
    ({"reorder_window": "2"}, "reorder_window"),
    ({"reorder_window": 10**6}, "reorder_window"),
])
def test_bad_values_are_named(options, named):
    with pytest.raises(RealismError, match=named):
        DeliveryRealism(**options)
