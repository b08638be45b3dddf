"""NodePorts: a pod's host ports must be free on the node (upstream's TestNodePorts cases)."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node
from kubeprop.reference.scheduler import Code, CycleState, Snapshot
from kubeprop.reference.scheduler.framework import filter_with
from kubeprop.reference.scheduler.plugins import node_ports
from kubeprop.spec.api.core import Container, ContainerPort, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta

PLUGIN = node_ports.new(None, None)
REASON = "node(s) didn't have free ports for the requested pod ports"


def port(text: str) -> ContainerPort:
    """A container port from upstream's ``PROTOCOL/hostIP/hostPort`` notation."""
    protocol, host_ip, host_port = text.split("/")
    return ContainerPort(
        host_ip=host_ip or None,
        protocol=protocol or None,
        host_port=int(host_port),
        container_port=int(host_port),
    )


def pod_with(
    name: str = "pod",
    *ports: str,
    sidecar: tuple[str, ...] = (),
    init: tuple[str, ...] = (),
    node_name: str | None = None,
) -> Pod:
    """A pod whose one app container has ``ports``; a sidecar and a regular init container
    carry ``sidecar`` and ``init`` when given."""
    inits = []
    if sidecar:
        inits.append(
            Container(
                name="sidecar",
                image="busybox",
                restart_policy="Always",
                ports=tuple(map(port, sidecar)),
            )
        )
    if init:
        inits.append(Container(name="init", image="busybox", ports=tuple(map(port, init))))
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(
            containers=(Container(name="c", image="nginx", ports=tuple(map(port, ports))),),
            init_containers=tuple(inits),
            node_name=node_name,
        ),
    )


def on_m1(*ports: str, **kwargs) -> Pod:
    return pod_with("existing", *ports, node_name="m1", **kwargs)


def statuses(pod: Pod, existing: Pod | None):
    snapshot = Snapshot.of([make_node("m1")], [existing] if existing else [])
    return filter_with(PLUGIN, pod, snapshot)["m1"]


# name -> (the incoming pod, the pod already on m1 or None, fits)
CASES = {
    "a pod on another port fits": (
        pod_with("p", "UDP/127.0.0.1/8080"),
        on_m1("UDP/127.0.0.1/9090"),
        True,
    ),
    "a pod asking for a UDP port in use does not fit": (
        pod_with("p", "UDP/127.0.0.1/8080"),
        on_m1("UDP/127.0.0.1/8080"),
        False,
    ),
    "a pod asking for a TCP port in use does not fit": (
        pod_with("p", "TCP/127.0.0.1/8080"),
        on_m1("TCP/127.0.0.1/8080"),
        False,
    ),
    "the same port on a different host IP is free": (
        pod_with("p", "TCP/127.0.0.1/8080"),
        on_m1("TCP/127.0.0.2/8080"),
        True,
    ),
    "the same port with a different protocol is free": (
        pod_with("p", "UDP/127.0.0.1/8080"),
        on_m1("TCP/127.0.0.1/8080"),
        True,
    ),
    "a conflict on the second of two UDP ports rejects the node": (
        pod_with("p", "UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"),
        on_m1("UDP/127.0.0.1/8080"),
        False,
    ),
    "a conflict on the first of a TCP and a UDP port rejects the node": (
        pod_with("p", "TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"),
        on_m1("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"),
        False,
    ),
    "a wanted 0.0.0.0 host IP conflicts with the port on any IP": (
        pod_with("p", "TCP/0.0.0.0/8001"),
        on_m1("TCP/127.0.0.1/8001"),
        False,
    ),
    "one wanted 0.0.0.0 among several ports is enough to conflict": (
        pod_with("p", "TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"),
        on_m1("TCP/127.0.0.1/8001"),
        False,
    ),
    "a used 0.0.0.0 host IP conflicts with the port on any wanted IP": (
        pod_with("p", "TCP/127.0.0.1/8001"),
        on_m1("TCP/0.0.0.0/8001"),
        False,
    ),
    "a used 0.0.0.0 host IP does not take the port of another protocol": (
        pod_with("p", "UDP/127.0.0.1/8001"),
        on_m1("TCP/0.0.0.0/8001"),
        True,
    ),
    "a used 0.0.0.0 host IP for UDP takes the UDP port on every IP": (
        pod_with("p", "UDP/127.0.0.1/8001"),
        on_m1("TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"),
        False,
    ),
    "a sidecar's host port conflicts like an app container's": (
        pod_with("p", sidecar=("TCP/0.0.0.0/8001",)),
        on_m1("TCP/0.0.0.0/8001"),
        False,
    ),
    "an empty host IP and protocol default to 0.0.0.0 and TCP": (
        pod_with("p", "//8001"),
        on_m1("TCP/127.0.0.1/8001"),
        False,
    ),
    "a defaulted protocol does not conflict with UDP": (
        pod_with("p", "//8001"),
        on_m1("UDP/127.0.0.1/8001"),
        True,
    ),
    "a port held by an existing pod's sidecar is taken": (
        pod_with("p", "TCP/127.0.0.1/8001"),
        on_m1(sidecar=("TCP/0.0.0.0/8001",)),
        False,
    ),
    "an empty node has every port free": (pod_with("p", "TCP/0.0.0.0/80"), None, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_filter(name):
    pod, existing, fits = CASES[name]
    status = statuses(pod, existing)
    if fits:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE
        assert status.reasons == (REASON,)


SKIP_CASES = {
    "a pod without ports skips the filter": pod_with("p"),
    "a pod whose ports have no hostPort skips the filter": Pod(
        metadata=ObjectMeta(name="p", namespace="default"),
        spec=PodSpec(containers=(Container(name="c", ports=(ContainerPort(container_port=80),)),)),
    ),
    "a regular init container's host port is not counted": pod_with(
        "p", init=("TCP/0.0.0.0/8001",)
    ),
}


@pytest.mark.parametrize("name", list(SKIP_CASES))
def test_pre_filter_skips(name):
    state = CycleState()
    assert PLUGIN.pre_filter(state, SKIP_CASES[name], ()).is_skip()
    # filter_with reports every node feasible when PreFilter skips, even a node using the port
    assert statuses(SKIP_CASES[name], on_m1("TCP/0.0.0.0/8001")).is_success()


def test_pre_filter_collects_sidecar_then_app_ports_with_defaults():
    pod = pod_with("p", "UDP//53", "//80", sidecar=("TCP/10.0.0.1/9000",), init=("TCP//1",))
    state = CycleState()
    assert PLUGIN.pre_filter(state, pod, ()).is_success()
    assert state.read("PreFilterNodePorts") == (
        ("10.0.0.1", "TCP", 9000),
        ("0.0.0.0", "UDP", 53),
        ("0.0.0.0", "TCP", 80),
    )


def test_filter_without_pre_filter_is_an_error():
    info = Snapshot.of([make_node("m1")]).node_infos[0]
    status = PLUGIN.filter(CycleState(), pod_with("p", "TCP//80"), info)
    assert status.code is Code.ERROR
    assert status.reasons == ('reading "PreFilterNodePorts" from cycleState: not found',)


def test_a_port_held_only_by_an_existing_pods_regular_init_container_is_free():
    assert statuses(
        pod_with("p", "TCP/0.0.0.0/8001"), on_m1(init=("TCP/0.0.0.0/8001",))
    ).is_success()
