"""The kubelet suite proves its strength: it catches every deliberately broken kubelet.

Two checks per mutant: a short, hand-picked history trips exactly the invariant
the mutant breaks (and holds on the reference kubelet); and the Hypothesis
machine, left to find a failing history on its own, fails with an
InvariantViolation. Together the hand-picked histories show every kubelet
invariant failing on some broken implementation.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.kubelet import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, isolated
from kubeprop.conformance.suites.test_kubelet import make_machine
from kubeprop.reference.kubelet import Kubelet
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(200, shrink=False)


def pod(image, policy="Always", init=None, cpu=None, probe=None, grace=30):
    return (
        "create_pod",
        dict(image=image, policy=policy, init=init, cpu=cpu, probe=probe, grace=grace),
    )


def advance(seconds):
    return ("advance", dict(seconds=seconds))


# name -> the steps after the kubelet started: (rule, keyword arguments); the
# invariants are checked after every step.
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "never-restarts": [pod("kubeprop.test/crash:v1"), advance(5)],
    "ignores-restart-policy": [pod("kubeprop.test/crash:v1", "Never"), advance(5)],
    "no-crash-loop-back-off": [pod("kubeprop.test/crash:v1"), advance(5)],
    "constant-back-off": [pod("kubeprop.test/crash:v1"), advance(60)],
    "no-image-pull-back-off": [pod("nginx:doesnotexist"), advance(60)],
    "lazy-lease": [advance(30)],
    "not-ready-node": [],
    "skips-init-containers": [pod("busybox:1.36", init="kubeprop.test/exit:0"), advance(5)],
    "restart-count-zero": [pod("kubeprop.test/crash:v1"), advance(5)],
    "ready-without-probing": [
        pod("kubeprop.test/unready:v1", probe="readinessProbe"),
        advance(3),
    ],
    "kills-without-grace": [
        pod("busybox:1.36"),
        advance(1),
        ("delete_pod", dict(index=0)),
        advance(1),
    ],
    "admits-everything": [pod("busybox:1.36", cpu="3"), pod("busybox:1.36", cpu="3"), advance(1)],
    "one-ip-for-all": [pod("busybox:1.36"), pod("busybox:1.36"), advance(1)],
}


def replay(factory, steps) -> None:
    """Run the steps on a fresh machine over ``factory``, checking after every step."""
    machine = make_machine(factory)()
    machine.the_kubelet_starts()
    machine.the_kubelet_obeys_its_invariants()
    for rule, arguments in steps:
        getattr(machine, rule)(**arguments)
        machine.the_kubelet_obeys_its_invariants()


def test_every_mutant_names_a_registered_kubelet_invariant_and_has_a_history():
    kubelet_ids = {entry.id for entry in invariants.catalogue("kubelet")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= kubelet_ids


def test_every_kubelet_invariant_is_broken_by_some_mutant():
    kubelet_ids = {entry.id for entry in invariants.catalogue("kubelet")}
    assert kubelet_ids == set(BREAKS.values())


def test_every_mutant_is_built_like_the_reference_kubelet():
    for factory in MUTANTS.values():
        assert issubclass(factory, Kubelet)
        assert factory.__init__ is Kubelet.__init__ or "__init__" not in vars(factory)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    with isolated(), pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_kubelet(name):
    replay(Kubelet, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with isolated(), pytest.raises(InvariantViolation):
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)
