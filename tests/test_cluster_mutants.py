"""The cluster suite catches deliberately broken components, each with a short shrunk history.

Each case splices one broken component into the reference cluster (as
``ClusterMachine.COMPONENTS`` does for a third party's) and runs the cluster
machine: it must fail, name the invariant that caught the bug, and shrink the
history to at most 10 steps (issue 3's bar), which replays to the same failure.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import profiles
from kubeprop.conformance.history import InvariantViolation
from kubeprop.conformance.machine import ClusterMachine
from kubeprop.conformance.replay import replay_text

MAX_SHRUNK_STEPS = 10
# Short histories: every failing attempt settles for up to 15 simulated minutes, so
# shrinking long ones is what costs; 12 steps leave room for every bug here.
HUNT = settings(profiles.mutant_hunt(40, shrink=True), stateful_step_count=12)

CASES = [
    # (mutant, role, invariants that may catch it)
    (
        "kubeprop.conformance.mutants.replicaset:OffByOne",
        "replicaset",
        {"CLUSTER-DEPLOYMENT-CONVERGES", "CLUSTER-ROLLOUT-MAX-SURGE"},
    ),
    (
        "kubeprop.conformance.mutants.kubelet:NeverRestarts",
        "kubelet",
        {"CLUSTER-CONTAINERS-RESTARTED", "CLUSTER-DEPLOYMENT-CONVERGES"},
    ),
    (
        "kubeprop.conformance.mutants.scheduler:IgnoresTaints",
        "scheduler",
        {"CLUSTER-TAINTS-RESPECTED", "CLUSTER-DEPLOYMENT-CONVERGES"},
    ),
    (
        "kubeprop.conformance.mutants.nodelifecycle:NeverEvicts",
        "tainteviction",
        {"CLUSTER-DEAD-NODE-PODS-EVICTED", "CLUSTER-DEPLOYMENT-CONVERGES"},
    ),
]


@pytest.mark.hunt
@pytest.mark.parametrize(
    ("mutant", "role", "catchers"), CASES, ids=[c[0].split(":")[1] for c in CASES]
)
def test_the_cluster_suite_catches_the_broken_component(mutant, role, catchers):
    machine = type(
        f"ClusterWith{mutant.split(':')[1]}", (ClusterMachine,), {"COMPONENTS": {role: mutant}}
    )
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(machine, settings=HUNT)
    error = caught.value
    assert error.invariant_id in catchers, str(error)
    history = error.history
    assert history.components == {role: mutant}
    assert len(history.steps) <= MAX_SHRUNK_STEPS, str(error)
    out = io.StringIO()
    assert replay_text(history.to_yaml(), "shrunk.yaml", out) == 1
    assert "FAILED" in out.getvalue() and error.invariant_id in out.getvalue()
    assert "the same invariant failed" in out.getvalue()
