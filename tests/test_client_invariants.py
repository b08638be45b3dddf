"""Each client invariant rejects a hand-made counterexample and accepts the correct history."""

from __future__ import annotations

import pytest

from kubeprop.spec.invariants import catalogue, get
from kubeprop.spec.invariants.client import ReconcileStep, expected_backoff

CASES = [
    (
        "CLIENT-INFORMER-SUBSEQUENCE",
        ({"k": ["5", "7", ""]}, {"k": ["5", ""]}),
        ({"k": ["5", "7", ""]}, {"k": ["7", "5"]}),
    ),
    (
        "CLIENT-INFORMER-CONVERGES",
        (
            {"k": {"kind": "Lease", "metadata": {"resourceVersion": "5"}}},
            {"k": {"metadata": {"resourceVersion": "5"}}},
        ),
        ({"k": {"metadata": {"resourceVersion": "5"}}}, {}),
    ),
    (
        "CLIENT-INFORMER-RELIST",
        ([("list", 200), ("watch", 200), ("event", "ERROR", 410), ("list", 200)],),
        ([("list", 200), ("watch", 200), ("event", "ERROR", 410), ("watch", 200)],),
    ),
    (
        "CLIENT-HANDLERS-ORDERED",
        (
            [
                ("add", "k", "", "5"),
                ("update", "k", "5", "7"),
                ("delete", "k", "7", ""),
                ("add", "k", "", "9"),
            ],
        ),
        ([("add", "k", "", "5"), ("update", "k", "7", "5")],),
    ),
    (
        "CLIENT-WORKQUEUE-DEDUP",
        (("a", "b"), {"a", "b"}, {"c"}),
        (("a", "a"), {"a"}, set()),
    ),
    (
        "CLIENT-WORKQUEUE-EXCLUSIVE",
        ([("get", "a"), ("done", "a"), ("get", "a")],),
        ([("get", "a"), ("get", "a")],),
    ),
    (
        "CLIENT-WORKQUEUE-BACKOFF",
        (
            [
                ("rate_limited", "a", 0.0, 0.005),
                ("rate_limited", "a", 0.0, 0.01),
                ("forget", "a"),
                ("rate_limited", "a", 1.0, 0.005),
            ],
        ),
        ([("rate_limited", "a", 0.0, 0.005), ("rate_limited", "a", 0.0, 0.005)],),
    ),
    (
        "CLIENT-RECONCILE-OUTCOMES",
        ([ReconcileStep("a", "requeue_after", 2.0, (("forget",), ("add_after", 2.0), ("done",)))],),
        ([ReconcileStep("a", "error", None, (("forget",), ("add_rate_limited",), ("done",)))],),
    ),
]


@pytest.mark.parametrize(("id", "good", "bad"), CASES, ids=[case[0] for case in CASES])
def test_the_invariant_holds_of_a_correct_history_and_fails_on_a_broken_one(id, good, bad) -> None:
    assert get(id)(*good).ok
    outcome = get(id)(*bad)
    assert not outcome.ok and outcome.message


def test_every_client_invariant_has_a_counterexample_here() -> None:
    assert {inv.id for inv in catalogue("client")} == {case[0] for case in CASES}
    assert len(CASES) >= 6


def test_the_expected_backoff_is_capped_at_1000_seconds() -> None:
    assert [expected_backoff(n) for n in (0, 1, 17, 18)] == pytest.approx(
        [0.005, 0.01, 655.36, 1000.0]
    )
