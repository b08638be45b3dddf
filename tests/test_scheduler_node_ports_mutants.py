"""The NodePorts suite proves its strength: it catches every deliberately broken NodePorts.

Two checks per mutant: the suite's own Hypothesis search (random nodes and pods
with host ports, placed one by one) fails with an InvariantViolation naming the
invariant the mutant breaks; and a short, hand-picked placement trips exactly
that invariant, and passes on the reference.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.mutants.scheduler_node_ports import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.strategies.scheduler import make_node
from kubeprop.conformance.suites.test_scheduler_node_ports import (
    NodePortsSUT,
    place_with_host_ports,
    port_clusters,
)
from kubeprop.spec import invariants
from kubeprop.spec.api.core import Container, ContainerPort, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta

CAUGHT = mutant_hunt(300, shrink=False)


def pod(name, *app_ports, sidecar_ports=()):
    """A pod whose app container (and sidecar, if ``sidecar_ports``) holds the ports,
    each given as (hostIP, protocol, hostPort)."""

    def ports(items):
        return tuple(
            ContainerPort(host_ip=ip, protocol=protocol, host_port=port, container_port=port)
            for ip, protocol, port in items
        )

    sidecars = (
        (Container(name="sidecar", restart_policy="Always", ports=ports(sidecar_ports)),)
        if sidecar_ports
        else ()
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(
            containers=(Container(name="c", ports=ports(app_ports)),), init_containers=sidecars
        ),
    )


def ignores_wildcard_host_ip(sut):
    pods = [pod("a", ("10.0.0.1", "TCP", 80)), pod("b", (None, None, 80))]
    place_with_host_ports(sut, [make_node("n")], pods)


def ignores_sidecar_ports(sut):
    pods = [pod("a", (None, "UDP", 53)), pod("b", sidecar_ports=[("0.0.0.0", "UDP", 53)])]
    place_with_host_ports(sut, [make_node("n")], pods)


CASES = {
    "node-ports-ignores-wildcard-host-ip": ignores_wildcard_host_ip,
    "node-ports-ignores-sidecar-ports": ignores_sidecar_ports,
}


def test_every_mutant_has_a_hand_picked_case_and_names_a_registered_invariant():
    assert set(CASES) == set(MUTANTS) == set(BREAKS)
    for invariant_id in BREAKS.values():
        invariants.get(invariant_id)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_case_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        CASES[name](NodePortsSUT(plugin=MUTANTS[name]))
    assert caught.value.invariant_id == BREAKS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_hand_picked_case_passes_on_the_reference(name):
    CASES[name](NodePortsSUT())


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_finds_the_mutant_on_its_own(name):
    sut = NodePortsSUT(plugin=MUTANTS[name])

    @CAUGHT
    @given(cluster=port_clusters(), seed=st.integers(0, 3))
    def search(cluster, seed):
        place_with_host_ports(sut, *cluster, seed)

    with pytest.raises(InvariantViolation) as caught:
        search()
    assert caught.value.invariant_id == BREAKS[name]
