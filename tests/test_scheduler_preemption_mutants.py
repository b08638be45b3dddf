"""The preemption suite proves its strength: it catches every deliberately broken DefaultPreemption.

Two checks per mutant: the suite's own Hypothesis search (small clusters, pods of mixed
priorities placed one by one) fails with an InvariantViolation naming the invariant the
mutant breaks; and a short, hand-picked placement trips exactly that invariant, and
passes on the reference. The component mutants (schedulers evicting other pods than
preemption chose) are caught the same way by the suite's component run.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.mutants.scheduler_preemption import (
    BREAKS,
    COMPONENT_BREAKS,
    COMPONENT_MUTANTS,
    MUTANTS,
)
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.conformance.suites.test_scheduler_preemption import (
    PreemptionSUT,
    component_batches,
    place_with_preemption,
    preemption_clusters,
    run_component,
)
from kubeprop.reference.scheduler import Scheduler
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(300, shrink=False)


def one_node(cpu="1"):
    return [make_node("node-1", {"cpu": cpu, "memory": "2Gi", "pods": "10"})]


def without_reprieve(sut):
    """Two small low-priority pods; the high-priority one needs the room of one of them."""
    pods = [
        make_pod("small-1", ({"cpu": "500m"},), priority=0),
        make_pod("small-2", ({"cpu": "500m"},), priority=0),
        make_pod("big", ({"cpu": "500m"},), priority=1000),
    ]
    place_with_preemption(sut, one_node(), pods)


def evicts_equal_priority(sut):
    """A full node of pods of the same priority: nothing may be preempted."""
    pods = [
        make_pod("first", ({"cpu": "1"},), priority=100),
        make_pod("second", ({"cpu": "1"},), priority=100),
    ]
    place_with_preemption(sut, one_node(), pods)


CASES = {
    "preemption-without-reprieve": without_reprieve,
    "preemption-evicts-equal-priority": evicts_equal_priority,
}


def test_every_mutant_has_a_hand_picked_case_and_names_a_registered_invariant():
    assert set(CASES) == set(MUTANTS) == set(BREAKS)
    for invariant_id in BREAKS.values():
        invariants.get(invariant_id)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_case_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        CASES[name](PreemptionSUT(plugin=MUTANTS[name]))
    assert caught.value.invariant_id == BREAKS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_hand_picked_case_passes_on_the_reference(name):
    CASES[name](PreemptionSUT())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_finds_the_mutant_on_its_own(name):
    sut = PreemptionSUT(plugin=MUTANTS[name])

    @CAUGHT
    @given(cluster=preemption_clusters(), seed=st.integers(0, 3))
    def search(cluster, seed):
        place_with_preemption(sut, *cluster, seed)

    with pytest.raises(InvariantViolation) as caught:
        search()
    assert caught.value.invariant_id == BREAKS[name]


# -- the scheduler component -------------------------------------------------------------------

COMPONENT_CASES = {
    # One 2-cpu node with two low-priority pods of 1 cpu; a 1-cpu pod of high priority needs
    # the room of one of them.
    "component-evicts-every-lower-priority-pod": (["2"], [[("1", 0), ("1", 0)], [("1", 1000)]]),
}


def test_every_component_mutant_has_a_hand_picked_case():
    assert set(COMPONENT_CASES) == set(COMPONENT_MUTANTS) == set(COMPONENT_BREAKS)


@pytest.mark.parametrize("name", sorted(COMPONENT_MUTANTS))
def test_the_hand_picked_run_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        run_component(COMPONENT_MUTANTS[name], *COMPONENT_CASES[name])
    assert caught.value.invariant_id == COMPONENT_BREAKS[name]


@pytest.mark.parametrize("name", sorted(COMPONENT_CASES))
def test_the_hand_picked_run_passes_on_the_reference(name):
    run_component(Scheduler, *COMPONENT_CASES[name])


@pytest.mark.parametrize("name", sorted(COMPONENT_MUTANTS))
def test_the_component_search_finds_the_mutant_on_its_own(name):
    @mutant_hunt(100, shrink=False)
    @given(
        node_cpus=st.lists(st.sampled_from(("1", "2")), min_size=1, max_size=2),
        batches=component_batches(),
    )
    def search(node_cpus, batches):
        run_component(COMPONENT_MUTANTS[name], node_cpus, batches)

    with pytest.raises(InvariantViolation) as caught:
        search()
    assert caught.value.invariant_id == COMPONENT_BREAKS[name]
