"""The cluster suite: Hypothesis histories of user actions, faults and time on a whole cluster.

Every history starts a reference cluster (three nodes of 1 CPU and 2 GiB),
runs generated steps with the safety invariants of spec/cluster.md checked
after each, then heals, settles and checks the liveness invariants. The
number and length of histories follow the profile
(``conformance.profiles.CLUSTER_HISTORIES``).
"""

from __future__ import annotations

import attrs
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import profiles
from kubeprop.conformance.history import Step, replay
from kubeprop.conformance.machine import ClusterMachine


def test_the_reference_cluster_keeps_every_cluster_invariant():
    run_state_machine_as_test(ClusterMachine, settings=profiles.cluster_settings())


def test_a_deployment_survives_the_death_of_a_node():
    """The seed scenario with a fault: its pods are evicted and replaced elsewhere."""
    history = ClusterMachine().run.history
    steps = (
        Step(
            "apply_deployment",
            {
                "name": "web",
                "replicas": 3,
                "image": "nginx:1.23",
                "strategy": {"type": "RollingUpdate"},
            },
        ),
        Step("advance", {"seconds": 30}),
        Step("crash_node", {"node": "node-1"}),
    )
    run = replay(attrs.evolve(history, steps=steps))
    pods = [p for p in run.cluster.list("pods") if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 3
    assert all(p["spec"]["nodeName"] != "node-1" for p in pods)
