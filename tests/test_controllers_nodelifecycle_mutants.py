"""The node lifecycle suite proves its strength: it catches every deliberately broken node controller.

Two checks per mutant: a short, hand-picked history trips exactly the
invariant the mutant breaks (and holds on the reference controllers); and the
Hypothesis machine, left to search on its own, fails with an
InvariantViolation. Together the histories show every node lifecycle
invariant failing on some broken implementation.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.nodelifecycle import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, isolated
from kubeprop.conformance.suites.test_nodelifecycle import make_machine
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(100, shrink=False)

UNREACHABLE_5S = [
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 5,
    }
]

# name -> the steps after the machine's start (node-a and node-b Ready, kubelets alive).
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "never-evicts": [
        ("create_pod", dict(index=0, tolerations=None)),
        ("maintenance_taint", dict(index=0, on=True)),
        ("advance", dict(seconds=5.0)),
    ],
    "evicts-at-once": [
        ("create_pod", dict(index=0, tolerations=UNREACHABLE_5S)),
        ("kubelet_stops", dict(index=0, then=60.0)),
        ("advance", dict(seconds=1.0)),
    ],
    "impatient-monitor": [
        ("advance", dict(seconds=30.0)),
    ],
    "never-unknown": [
        ("kubelet_stops", dict(index=0, then=60.0)),
        ("advance", dict(seconds=30.0)),
    ],
    "skips-never-posted-nodes": [
        ("register_node_without_kubelet", dict(index=2)),
        ("advance", dict(seconds=30.0)),
        ("advance", dict(seconds=30.0)),
        ("advance", dict(seconds=30.0)),
    ],
    "keeps-taints": [
        ("kubelet_stops", dict(index=0, then=60.0)),
        ("advance", dict(seconds=10.0)),
        ("kubelet_starts", dict(index=0, ready=True)),
        ("advance", dict(seconds=10.0)),
    ],
    "pods-stay-ready": [
        ("create_pod", dict(index=0, tolerations=[{"operator": "Exists"}])),
        ("pod_becomes_ready", dict(index=0)),
        ("kubelet_stops", dict(index=0, then=60.0)),
        ("advance", dict(seconds=10.0)),
    ],
    "no-quarantine": [
        ("create_pod", dict(index=0, tolerations=None)),
        ("delete_node", dict(index=0)),
        ("advance", dict(seconds=30.0)),
    ],
    "no-default-toleration-seconds": [
        ("create_pod", dict(index=0, tolerations=None)),
    ],
    "ignores-orphans": [
        ("create_pod", dict(index=0, tolerations=None)),
        ("delete_node", dict(index=0)),
        ("advance", dict(seconds=120.0)),
    ],
}


def replay(factories, steps) -> None:
    """Run the steps on a fresh machine over ``factories``, checking after every step."""
    machine = make_machine(*factories)()
    machine.a_cluster_of_two_nodes()
    machine.node_lifecycle_invariants_hold()
    for rule, arguments in steps:
        getattr(machine, rule)(**arguments)
        machine.node_lifecycle_invariants_hold()


def test_every_mutant_names_a_registered_invariant_and_has_a_history():
    ids = {entry.id for entry in invariants.catalogue("nodelifecycle")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= ids


def test_every_node_lifecycle_invariant_is_broken_by_some_mutant():
    ids = {entry.id for entry in invariants.catalogue("nodelifecycle")}
    assert ids == set(BREAKS.values())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    with isolated(), pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_controllers(name):
    replay(make_machine().factories, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with isolated(), pytest.raises(InvariantViolation):
        run_state_machine_as_test(make_machine(*MUTANTS[name]), settings=CAUGHT)
