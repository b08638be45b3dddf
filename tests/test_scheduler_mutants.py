"""The scheduler suite proves its strength: it catches every deliberately broken scheduler.

Two checks per mutant: the suite's own Hypothesis search (random clusters, random
scores, or the queue machine) fails with an InvariantViolation naming the
invariant the mutant breaks; and a short, hand-picked case trips exactly that
invariant. Together the hand-picked cases show every scheduler invariant
failing on some broken implementation.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.scheduler import (
    ALSO_BREAKS,
    BREAKS,
    COMPONENT_BREAKS,
    MUTANTS,
    plugin_breaks,
)
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, check
from kubeprop.conformance.strategies import scheduler as strategies
from kubeprop.conformance.suites.test_scheduler import (
    SchedulerSUT,
    check_normalize,
    make_queue_machine,
    place_one_by_one,
    queue_pod,
)
from kubeprop.spec import invariants
from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Node,
    NodeAffinity,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    PreferredSchedulingTerm,
    ResourceRequirements,
    Taint,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import NodeSelectorRequirement, NodeSelectorTerm

CAUGHT = mutant_hunt(300, shrink=False)

QUEUE_MUTANTS = {"fifo-queue", "no-backoff", "pops-errors-early"}
NORMALIZE_MUTANTS = {"normalize-rounds"}


def node(name, cpu="2", memory="4Gi", pods="10", labels=None, taints=(), unschedulable=None):
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods}
    return Node(
        metadata=ObjectMeta(name=name, labels=labels or {}),
        spec=NodeSpec(unschedulable=unschedulable, taints=tuple(taints)),
        status=NodeStatus(allocatable=allocatable),
    )


def pod(name, cpu=None, node_selector=None, preferred=()):
    requests = {"cpu": cpu} if cpu else {}
    affinity = None
    if preferred:
        terms = tuple(
            PreferredSchedulingTerm(
                weight=weight,
                preference=NodeSelectorTerm(
                    match_expressions=(NodeSelectorRequirement(key, "In", (value,)),)
                ),
            )
            for key, value, weight in preferred
        )
        affinity = Affinity(
            node_affinity=NodeAffinity(preferred_during_scheduling_ignored_during_execution=terms)
        )
    container = Container(
        name="c", image="i", resources=ResourceRequirements(requests=requests) if cpu else None
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(containers=(container,), node_selector=node_selector or {}, affinity=affinity),
    )


def run_cycle_case(sut, nodes, pods):
    place_one_by_one(sut, nodes, pods, seed=0)


def ignores_taints(sut):
    tainted = node("a", taints=[Taint(key="dedicated", value="x", effect="NoSchedule")])
    run_cycle_case(sut, [tainted], [pod("p")])


def ignores_requests(sut):
    run_cycle_case(sut, [node("a", cpu="1")], [pod("p", cpu="600m"), pod("q", cpu="600m")])


def rejects_an_exact_fit(sut):
    run_cycle_case(sut, [node("a", cpu="1")], [pod("p", cpu="1")])


def ignores_node_selector(sut):
    run_cycle_case(sut, [node("a", labels={"zone": "a"})], [pod("p", node_selector={"zone": "b"})])


def ignores_cordon(sut):
    run_cycle_case(sut, [node("a", unschedulable=True)], [pod("p")])


def picks_the_lowest_total(sut):
    nodes = [node("a", labels={"zone": "a"}), node("b", labels={"zone": "b"})]
    run_cycle_case(sut, nodes, [pod("p", preferred=[("zone", "a", 10)])])


def falls_back_to_first_node(sut):
    run_cycle_case(sut, [node("a", cpu="1")], [pod("p", cpu="2")])


def affinity_score_not_normalized(sut):
    nodes = [node("a", labels={"zone": "a"}), node("b", labels={"zone": "b"})]
    preferred = [("zone", "a", 80), ("zone", "a", 70)]
    run_cycle_case(sut, nodes, [pod("p", preferred=preferred)])


def normalize_rounds(sut):
    check_normalize(sut, {"a": 2, "b": 3}, False)  # 200/3 = 66.67: truncates to 66, rounds to 67


def fifo_queue(sut):
    queue = sut.queue()
    queue.add(queue_pod("low", 0), 0.0)
    queue.add(queue_pod("high", 100), 1.0)
    popped = queue.pop(1.0)
    remaining = [(i.key, i.priority, i.timestamp) for i in queue.active.values()]
    check("SCHEDULER-QUEUE-ORDER", (popped.key, popped.priority, popped.timestamp), remaining)


def no_backoff(sut):
    queue = sut.queue()
    queue.add(queue_pod("p", 0), 0.0)
    info = queue.pop(0.0)
    queue.add_unschedulable(info, 0.0)  # an error: straight to backoffQ
    again = queue.pop(0.5)
    if again is not None:  # the reference keeps it in backoffQ until 1.0
        check("SCHEDULER-BACKOFF", 0.5, 0.0, 1, error=True)


def pops_errors_early(sut):
    queue = sut.queue()
    queue.add(queue_pod("p", 0), 0.0)
    queue.add_unschedulable(queue.pop(0.0), 0.0)  # an error
    again = queue.pop(0.5)
    if again is not None:  # the reference never pops an error early
        check("SCHEDULER-BACKOFF", 0.5, 0.0, 1, error=True, others_ready=len(queue.active))


CASES = {
    "ignores-taints": ignores_taints,
    "ignores-requests": ignores_requests,
    "rejects-an-exact-fit": rejects_an_exact_fit,
    "ignores-node-selector": ignores_node_selector,
    "ignores-cordon": ignores_cordon,
    "picks-the-lowest-total": picks_the_lowest_total,
    "falls-back-to-first-node": falls_back_to_first_node,
    "affinity-score-not-normalized": affinity_score_not_normalized,
    "normalize-rounds": normalize_rounds,
    "fifo-queue": fifo_queue,
    "no-backoff": no_backoff,
    "pops-errors-early": pops_errors_early,
}


def test_every_mutant_has_a_hand_picked_case_and_names_a_registered_invariant():
    assert set(CASES) == set(MUTANTS) == set(BREAKS)
    for invariant_id in BREAKS.values():
        invariants.get(invariant_id)


def test_every_scheduler_invariant_is_broken_by_some_mutant():
    ids = {inv.id for inv in invariants.catalogue("scheduler")}
    assert ids == set(BREAKS.values()) | set(COMPONENT_BREAKS.values()) | plugin_breaks()


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_case_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        CASES[name](SchedulerSUT(**MUTANTS[name]))
    assert caught.value.invariant_id == BREAKS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_hand_picked_case_passes_on_the_reference(name):
    CASES[name](SchedulerSUT())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_finds_the_mutant_on_its_own(name):
    sut = SchedulerSUT(**MUTANTS[name])
    if name in QUEUE_MUTANTS:
        with pytest.raises(InvariantViolation) as caught:
            run_state_machine_as_test(make_queue_machine(sut), settings=CAUGHT)
    elif name in NORMALIZE_MUTANTS:

        @CAUGHT
        @given(raw=strategies.raw_scores, reverse=st.booleans())
        def search(raw, reverse):
            check_normalize(sut, raw, reverse)

        with pytest.raises(InvariantViolation) as caught:
            search()
    else:

        @CAUGHT
        @given(cluster=strategies.clusters(), seed=st.integers(0, 3))
        def search(cluster, seed):
            place_one_by_one(sut, *cluster, seed)

        with pytest.raises(InvariantViolation) as caught:
            search()
    assert caught.value.invariant_id in {BREAKS[name], *ALSO_BREAKS.get(name, ())}
