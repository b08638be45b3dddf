"""The cluster suite: Hypothesis histories of user actions, faults and time on a whole cluster.

Every history starts a reference cluster (three nodes of 1 CPU and 2 GiB) with
the SUT's components spliced in (``--sut python:...`` of a scheduler or a
controller; none for the reference), runs generated steps with the safety
invariants of spec/cluster.md checked after each, then heals, settles and
checks the liveness invariants. The number and length of histories follow the
profile (``conformance.profiles.CLUSTER_HISTORIES``). A SUT without a cluster
(a store, a real API server) skips these checks with the reason.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import adapters, profiles
from kubeprop.conformance.history import Step, replay
from kubeprop.conformance.machine import machine_for


@pytest.fixture
def cluster_machine(sut: adapters.Adapter):
    try:
        return machine_for(sut)
    except adapters.Unsupported as reason:
        pytest.skip(str(reason))


def test_the_cluster_keeps_every_cluster_invariant(cluster_machine):
    run_state_machine_as_test(cluster_machine, settings=profiles.cluster_settings())


@pytest.mark.kubeprop_requires("cluster", "crash-node")
def test_a_deployment_survives_the_death_of_a_node(cluster_machine):
    """The seed scenario with a fault: its pods are evicted and replaced elsewhere."""
    history = cluster_machine().run.history
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
