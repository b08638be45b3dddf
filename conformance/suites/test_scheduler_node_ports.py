"""The NodePorts suite: random nodes and pods asking for host ports, placed one by one; no two clash.

Contract: a ``NodePortsSUT`` names the NodePorts plugin under test (a zero-argument
factory; the reference's by default). ``place_with_host_ports`` schedules pods in
order with a profile of that plugin alone (``Profile.build`` over the registry
with NodePorts in it), binding each pod before the next, and after every cycle
evaluates ``SCHEDULER-FEASIBLE`` and ``SCHEDULER-HOST-PORTS-RESPECTED`` through
``kubeprop.conformance.report.check``. The strategies draw ports from a few
host IPs (unset, 0.0.0.0 and two addresses), protocols (unset, TCP, UDP) and
two port numbers, on app containers, sidecars and regular init containers, so
that conflicts, wildcard conflicts and near misses are frequent.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.report import check
from kubeprop.conformance.strategies.scheduler import make_node
from kubeprop.reference.scheduler import REGISTRY, Profile, Snapshot, schedule_one
from kubeprop.reference.scheduler.framework import Plugin
from kubeprop.reference.scheduler.plugins import node_ports
from kubeprop.spec.api.core import Container, ContainerPort, Node, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta

HOST_IPS = (None, "0.0.0.0", "10.0.0.1", "10.0.0.2")
PROTOCOLS = (None, "TCP", "UDP")
HOST_PORTS = (80, 8080)


def registry():
    """The in-tree registry, with NodePorts added if it is not registered yet."""
    if node_ports.NAME in REGISTRY.factories:
        return REGISTRY
    return REGISTRY.merge({node_ports.NAME: node_ports.new})


@attrs.frozen
class NodePortsSUT:
    """The NodePorts plugin under test."""

    plugin: Callable[[], Plugin] = node_ports.NodePorts

    def profile(self) -> Profile:
        return Profile.build(registry(), [node_ports.NAME]).replace(self.plugin())


REFERENCE = NodePortsSUT()


# -- strategies ---------------------------------------------------------------------------------

ports = st.builds(
    ContainerPort,
    host_ip=st.sampled_from(HOST_IPS),
    protocol=st.sampled_from(PROTOCOLS),
    host_port=st.sampled_from(HOST_PORTS),
    container_port=st.just(80),
)


def _container(name: str, restart_policy: str | None = None):
    return st.lists(ports, max_size=2).map(
        lambda drawn: Container(
            name=name, image="nginx", restart_policy=restart_policy, ports=tuple(drawn)
        )
    )


@st.composite
def pods_with_host_ports(draw, name: str) -> Pod:
    """A pod with one or two app containers, maybe a sidecar and maybe a regular init
    container, each with up to two host ports."""
    apps = draw(st.lists(_container("c"), min_size=1, max_size=2))
    inits = []
    if draw(st.booleans()):
        inits.append(draw(_container("sidecar", "Always")))
    if draw(st.integers(0, 3)) == 3:
        inits.append(draw(_container("init")))
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(
            containers=tuple(attrs.evolve(c, name=f"{c.name}{i}") for i, c in enumerate(apps)),
            init_containers=tuple(inits),
        ),
    )


@st.composite
def port_clusters(draw, max_nodes: int = 3, max_pods: int = 6) -> tuple[list[Node], list[Pod]]:
    nodes = [make_node(f"node-{i}") for i in range(draw(st.integers(1, max_nodes)))]
    count = draw(st.integers(1, max_pods))
    return nodes, [draw(pods_with_host_ports(f"pod-{i}")) for i in range(count)]


# -- the placement loop --------------------------------------------------------------------------


def place_with_host_ports(
    sut: NodePortsSUT, nodes: Sequence[Node], pods: Sequence[Pod], seed: int = 0
) -> list[Pod]:
    """Schedule ``pods`` in order, binding each before the next; the pods placed."""
    profile = sut.profile()
    snapshot = Snapshot.of(nodes)
    rng = random.Random(seed)
    placed: list[Pod] = []
    for pod in pods:
        result = schedule_one(profile, pod, snapshot, rng)
        check("SCHEDULER-FEASIBLE", result, snapshot.names())
        if result.node_name is not None:
            snapshot = snapshot.assume(pod, result.node_name)
            spec = attrs.evolve(pod.spec, node_name=result.node_name)
            placed.append(attrs.evolve(pod, spec=spec))
        check("SCHEDULER-HOST-PORTS-RESPECTED", placed)
    return placed


@given(cluster=port_clusters(), seed=st.integers(0, 3))
def test_pods_placed_one_by_one_never_share_a_host_port(cluster, seed):
    nodes, pods = cluster
    place_with_host_ports(REFERENCE, nodes, pods, seed)
