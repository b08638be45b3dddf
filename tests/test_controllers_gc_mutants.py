"""The garbage collector suite proves its strength: it catches every deliberately broken collector.

A hand-picked history trips exactly the invariant each mutant breaks (and holds
on the reference), and the Hypothesis machine finds a failing history on its own.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.garbagecollector import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, isolated
from kubeprop.conformance.suites.test_garbagecollector import make_machine
from kubeprop.reference.controllers.garbagecollector import GarbageCollector
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(100, shrink=False)

# name -> steps after start; objects are numbered in creation order (index into them).
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "never-collects": [
        ("create", dict(resource="replicasets", owners=[], block=False)),
        ("create", dict(resource="pods", owners=[0], block=False)),
        ("advance", dict(seconds=1.0)),
        ("delete", dict(index=0, mode="Background")),
        ("advance", dict(seconds=10.0)),
    ],
    "any-owner-gone": [
        ("create", dict(resource="replicasets", owners=[], block=False)),
        ("create", dict(resource="deployments", owners=[], block=False)),
        ("create", dict(resource="pods", owners=[0, 1], block=False)),
        ("advance", dict(seconds=1.0)),
        ("delete", dict(index=0, mode="Background")),
        ("advance", dict(seconds=3.0)),
    ],
    "orphan-forgets-references": [
        ("create", dict(resource="replicasets", owners=[], block=False)),
        ("create", dict(resource="pods", owners=[0], block=False)),
        ("advance", dict(seconds=1.0)),
        ("delete", dict(index=0, mode="Orphan")),
        ("advance", dict(seconds=10.0)),
    ],
    "foreground-does-not-wait": [
        ("create", dict(resource="deployments", owners=[], block=False)),
        ("create", dict(resource="replicasets", owners=[0], block=True)),
        ("create", dict(resource="replicasets", owners=[0, 1], block=True)),
        ("advance", dict(seconds=1.0)),
        ("delete", dict(index=0, mode="Foreground")),
        ("advance", dict(seconds=10.0)),
    ],
}


def replay(factory, steps) -> None:
    machine = make_machine(factory)()
    machine.start()
    machine.garbage_collector_invariants_hold()
    for rule, arguments in steps:
        getattr(machine, rule)(**arguments)
        machine.garbage_collector_invariants_hold()


def test_every_mutant_names_a_registered_invariant_and_has_a_history():
    ids = {entry.id for entry in invariants.catalogue("garbagecollector")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= ids


def test_every_garbage_collector_invariant_is_broken_by_some_mutant():
    ids = {entry.id for entry in invariants.catalogue("garbagecollector")}
    assert ids == set(BREAKS.values())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    with isolated(), pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_collector(name):
    replay(GarbageCollector, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with isolated(), pytest.raises(InvariantViolation):
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)
