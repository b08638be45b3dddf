"""The Deployment suite proves its strength: it catches every deliberately broken controller.

Per mutant, a short, hand-picked history trips exactly the invariant the mutant
breaks (and passes on the reference controller), so every Deployment invariant
is shown failing on some broken implementation; and the Hypothesis machine,
searching on its own, finds a failing history.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.deployment import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation, isolated
from kubeprop.conformance.suites.test_deployment import make_machine
from kubeprop.reference.controllers.deployment import DeploymentController
from kubeprop.spec import invariants

# Short histories: each one starts from a completed rollout, so a few steps reach every bug.
CAUGHT = mutant_hunt(40, shrink=False)

ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
RECREATE = {"type": "Recreate"}


def start(strategy: dict, replicas: int = 3, history: int = 1) -> dict:
    return dict(
        replicas=replicas,
        strategy=strategy,
        min_ready_seconds=0,
        revision_history_limit=history,
        progress_deadline_seconds=600,
    )


# name -> (the initial Deployment, then (rule, arguments)); invariants run after each step.
HISTORIES: dict[str, tuple[dict, list[tuple[str, dict]]]] = {
    "never-adopts": (
        start(ROLLING),
        [
            ("settle_everything", {}),
            ("orphan_replicasets", {}),
            ("update_image", {"image": "nginx:1.24"}),
            ("update_image", {"image": "nginx:1.23"}),
        ],
    ),
    "ignores-max-surge": (
        start(ROLLING),
        [("update_image", {"image": "nginx:1.24"})],
    ),
    "ignores-max-unavailable": (
        start(ROLLING),
        [
            ("update_image", {"image": "nginx:1.24"}),
            ("kubelet_runs_pods", {"count": 1, "node": "node-a"}),
        ],
    ),
    "recreate-does-not-wait": (
        start(RECREATE),
        [("update_image", {"image": "nginx:1.24"})],
    ),
    "updated-counts-all": (
        start(ROLLING),
        [("update_image", {"image": "nginx:1.24"})],
    ),
    "keeps-all-history": (
        start(ROLLING, history=0),
        [
            ("update_image", {"image": "nginx:1.24"}),
            ("settle_everything", {}),
        ],
    ),
    "never-scales-down-old": (
        start(ROLLING),
        [
            ("update_image", {"image": "nginx:1.24"}),
            ("settle_everything", {}),
        ],
    ),
}


def replay(factory, initial, steps) -> None:
    machine = make_machine(factory)()
    try:
        machine.a_deployment_exists(**initial)
        machine.the_deployment_obeys_its_invariants()
        for rule, arguments in steps:
            getattr(machine, rule)(**arguments)
            machine.the_deployment_obeys_its_invariants()
    finally:
        machine.teardown()


def test_every_mutant_names_a_registered_deployment_invariant_and_has_a_history():
    ids = {entry.id for entry in invariants.catalogue("deployment")}
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)
    assert set(BREAKS.values()) <= ids


def test_every_deployment_invariant_is_broken_by_some_mutant():
    assert {entry.id for entry in invariants.catalogue("deployment")} == set(BREAKS.values())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_invariant_the_mutant_breaks(name):
    initial, steps = HISTORIES[name]
    with isolated(), pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], initial, steps)
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_history_holds_on_the_reference_controller(name):
    initial, steps = HISTORIES[name]
    replay(DeploymentController, initial, steps)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_machine_finds_a_failing_history_for_the_mutant_on_its_own(name):
    with isolated(), pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)
