"""The ReplicaSet suite proves its strength: it catches every deliberately broken controller.

Two checks per mutant: a short, hand-picked history trips exactly the invariant
the mutant breaks (and passes on the reference controller); and the Hypothesis
machine, left to search on its own, finds a failing history. Together the
hand-picked histories show every ReplicaSet invariant failing on some broken
implementation.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.replicaset import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, isolated
from kubeprop.conformance.suites.test_replicaset import make_machine
from kubeprop.reference.controllers.replicaset import ReplicaSetController
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(200, shrink=False)

# name -> (the initial ReplicaSet "web": replicas, minReadySeconds), then (rule, arguments).
HISTORIES: dict[str, tuple[tuple[int, int], list[tuple[str, dict]]]] = {
    "off-by-one": ((2, 0), []),
    "acts-only-on-spec-changes": ((2, 0), [("kubelet_fails_pod", dict(index=0))]),
    "never-releases": ((2, 0), [("relabel_pod", dict(index=0))]),
    "deletes-oldest-first": (
        (3, 0),
        [
            ("kubelet_runs_pod", dict(index=0, node="node-a", ready=True, restarts=0)),
            ("scale", dict(index=0, replicas=1)),
        ],
    ),
    "ready-is-available": (
        (1, 3),
        [("kubelet_runs_pod", dict(index=0, node="node-a", ready=True, restarts=0))],
    ),
}


def replay(factory, start, steps) -> None:
    """Run the steps on a fresh machine over ``factory``, checking after every step."""
    machine = make_machine(factory)()
    try:
        machine.a_replicaset_exists(*start)
        machine.the_replicasets_obey_their_invariants()
        for rule, arguments in steps:
            getattr(machine, rule)(**arguments)
            machine.the_replicasets_obey_their_invariants()
    finally:
        machine.teardown()


def test_every_mutant_names_a_registered_replicaset_invariant_and_has_a_history():
    ids = {entry.id for entry in invariants.catalogue("replicaset")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= ids


def test_every_replicaset_invariant_is_broken_by_some_mutant():
    assert {entry.id for entry in invariants.catalogue("replicaset")} == set(BREAKS.values())


def test_the_off_by_one_mutant_has_the_reference_constructor():
    from kubeprop.conformance.mutants.replicaset import OffByOne

    assert issubclass(OffByOne, ReplicaSetController)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    start, steps = HISTORIES[name]
    with isolated(), pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], start, steps)
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_controller(name):
    start, steps = HISTORIES[name]
    replay(ReplicaSetController, start, steps)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with isolated(), pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)
