"""The runtime suite proves its strength: it catches every deliberately broken runtime.

Two checks per mutant: the Hypothesis machine, left to find a failing history on
its own, fails with an InvariantViolation; and a short, hand-picked history trips
exactly the invariant the mutant breaks (and passes on the reference). Together
the hand-picked histories show every runtime invariant failing on some broken
implementation.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.runtime import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_runtime import make_machine
from kubeprop.reference.runtime import Runtime
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(1000, shrink=False)

# name -> the steps after the machine's start (one READY sandbox, the preloaded images):
# (rule, keyword arguments); the state invariants are checked after every step.
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "creates-without-image": [
        ("create_container", dict(index=0, name="app", attempt=0, ref="nginx")),
    ],
    "exit-code-while-running": [
        ("create_container", dict(index=0, name="app", attempt=0, ref="busybox:1.36", start=True)),
    ],
    "every-image-ignores-sigterm": [
        ("create_container", dict(index=0, name="app", attempt=0, ref="busybox:1.36", start=True)),
        ("stop_container", dict(index=0, timeout=30)),
    ],
    "scripted-exit-late": [
        (
            "create_container",
            dict(index=0, name="app", attempt=0, ref="kubeprop.test/crash", start=True),
        ),
        ("advance", dict(seconds=1.0)),
    ],
    "failed-pull-keeps-image": [
        ("pull_image", dict(ref="nginx:doesnotexist")),
        ("advance", dict(seconds=1.0)),
    ],
    "pull-ignores-size": [
        ("pull_image", dict(ref="nginx")),
        ("advance", dict(seconds=2.0)),
    ],
    "starts-in-stopped-sandbox": [
        ("stop_pod_sandbox", dict(index=0)),
        ("create_container", dict(index=0, name="app", attempt=0, ref="busybox:1.36")),
    ],
    "restart-revives-containers": [
        ("create_container", dict(index=0, name="app", attempt=0, ref="busybox:1.36", start=True)),
        ("crash", dict()),
        ("restart", dict()),
    ],
    "silent-exit": [
        (
            "create_container",
            dict(index=0, name="app", attempt=0, ref="kubeprop.test/crash", start=True),
        ),
        ("advance", dict(seconds=1.0)),
    ],
    "unready-is-ready": [
        (
            "create_container",
            dict(index=0, name="app", attempt=0, ref="kubeprop.test/unready", start=True),
        ),
        ("probe", dict(index=0)),
    ],
    "process-wide-ids": [],
}


def replay(factory, steps) -> None:
    """Run the steps on a fresh machine over ``factory``, checking after every step."""
    machine = make_machine(factory)()
    machine.a_pod_sandbox_runs()
    machine.the_runtime_obeys_its_state_invariants()
    for rule, arguments in steps:
        getattr(machine, rule)(**arguments)
        machine.the_runtime_obeys_its_state_invariants()


def test_every_mutant_names_a_registered_runtime_invariant_and_has_a_history():
    runtime_ids = {entry.id for entry in invariants.catalogue("runtime")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= runtime_ids


def test_every_runtime_invariant_is_broken_by_some_mutant():
    runtime_ids = {entry.id for entry in invariants.catalogue("runtime")}
    assert runtime_ids == set(BREAKS.values())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    with pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_runtime(name):
    replay(Runtime, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with pytest.raises(InvariantViolation):
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)
