"""The PodTopologySpread suite proves its strength: it catches every deliberately broken plugin.

Two checks per mutant: the suite's own Hypothesis search (random labelled
clusters, pods with spread constraints) fails with an InvariantViolation naming
SCHEDULER-TOPOLOGY-SPREAD-RESPECTED; and a short, hand-picked case trips exactly
that invariant while passing on the reference.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.mutants.scheduler_pod_topology_spread import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_scheduler_pod_topology_spread import (
    SpreadSUT,
    place_with_spread,
    spread_clusters,
)
from kubeprop.spec import invariants
from kubeprop.spec.api.core import (
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    Taint,
    TopologySpreadConstraint,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector

CAUGHT = mutant_hunt(300, shrink=False)
WEB = LabelSelector(match_labels={"app": "web"})


def node(name: str, zone: str, tainted: bool = False) -> Node:
    allocatable = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    taints = (Taint(key="dedicated", value="x", effect="NoSchedule"),) if tainted else ()
    return Node(
        metadata=ObjectMeta(name=name, labels={"zone": zone}),
        spec=NodeSpec(taints=taints),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def web(name: str, on: str, namespace: str = "default", terminating: bool = False) -> Pod:
    meta = ObjectMeta(
        name=name,
        namespace=namespace,
        labels={"app": "web"},
        deletion_timestamp="2026-01-01T00:00:00Z" if terminating else None,
    )
    return Pod(metadata=meta, spec=PodSpec(node_name=on))


def spreading(name: str = "p") -> Pod:
    """A web pod asking for zones at most 1 apart."""
    constraint = TopologySpreadConstraint(
        max_skew=1, topology_key="zone", when_unsatisfiable="DoNotSchedule", label_selector=WEB
    )
    meta = ObjectMeta(name=name, namespace="default", labels={"app": "web"})
    return Pod(metadata=meta, spec=PodSpec(topology_spread_constraints=(constraint,)))


def skew_off_by_one(sut):
    # zone1 holds 1, zone2 (tainted, yet counted) 0: zone1 would reach skew 2.
    nodes = [node("a", "zone1"), node("b", "zone2", tainted=True)]
    place_with_spread(sut, nodes, [web("old", "a")], [spreading()])


def rejects_at_max_skew(sut):
    place_with_spread(sut, [node("a", "zone1"), node("b", "zone2")], [], [spreading()])


def counts_all_namespaces(sut):
    existing = [web("old", "a"), web("x1", "b", "other"), web("x2", "b", "other")]
    place_with_spread(sut, [node("a", "zone1"), node("b", "zone2")], existing, [spreading()])


def counts_terminating_pods(sut):
    existing = [web("old", "a"), web("t1", "b", terminating=True), web("t2", "b", terminating=True)]
    place_with_spread(sut, [node("a", "zone1"), node("b", "zone2")], existing, [spreading()])


CASES = {
    "spread-skew-off-by-one": skew_off_by_one,
    "spread-rejects-at-max-skew": rejects_at_max_skew,
    "spread-counts-all-namespaces": counts_all_namespaces,
    "spread-counts-terminating-pods": counts_terminating_pods,
}


def test_every_mutant_has_a_hand_picked_case_and_names_a_registered_invariant():
    assert set(CASES) == set(MUTANTS) == set(BREAKS)
    for invariant_id in BREAKS.values():
        invariants.get(invariant_id)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_case_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        CASES[name](SpreadSUT(plugin=MUTANTS[name]))
    assert caught.value.invariant_id == BREAKS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_hand_picked_case_passes_on_the_reference(name):
    CASES[name](SpreadSUT())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_finds_the_mutant_on_its_own(name):
    sut = SpreadSUT(plugin=MUTANTS[name])

    @CAUGHT
    @given(cluster=spread_clusters(), seed=st.integers(0, 3))
    def search(cluster, seed):
        place_with_spread(sut, *cluster, seed=seed)

    with pytest.raises(InvariantViolation) as caught:
        search()
    assert caught.value.invariant_id == BREAKS[name]
