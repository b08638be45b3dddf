"""NodePorts: PreFilter collects the host ports a pod asks for; Filter rejects a node where one is taken.

Contract (https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/nodeports/node_ports.go):
- The host ports of a pod are the ports with ``hostPort > 0`` of its app
  containers and of its sidecars (init containers with ``restartPolicy:
  Always``, which run as long as the pod); a regular init container's ports are
  not counted, as upstream's ``GetHostPorts`` does. Each is a (hostIP,
  protocol, hostPort) with hostIP defaulting to 0.0.0.0 and protocol to TCP.
- PreFilter returns Skip when the pod has no host port, so Filter does not run;
  otherwise it writes the ports into the cycle state.
- Filter rejects the node, with Unschedulable (evicting the holder frees the
  port, so preemption may help) and upstream's ``ErrReason`` "node(s) didn't
  have free ports for the requested pod ports", when one wanted port conflicts
  with a port used on the node (``NodeInfo.used_ports``): the same protocol and
  port, and the same hostIP or either hostIP 0.0.0.0 (which binds every
  address). Filter without PreFilter's state is an Error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    error,
    unschedulable,
)
from kubeprop.spec.api.core import Pod

NAME = "NodePorts"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"
DEFAULT_PROTOCOL = "TCP"

HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def host_ports(pod: Pod) -> tuple[HostPort, ...]:
    """The (hostIP, protocol, hostPort) of the pod's sidecars, then of its app containers."""
    spec = pod.spec
    if spec is None:
        return ()
    sidecars = [c for c in spec.init_containers if c.restart_policy == "Always"]
    return tuple(
        (
            port.host_ip or DEFAULT_BIND_ALL_HOST_IP,
            port.protocol or DEFAULT_PROTOCOL,
            port.host_port,
        )
        for container in (*sidecars, *spec.containers)
        for port in container.ports
        if port.host_port and port.host_port > 0
    )


@attrs.frozen
class NodePorts:
    name: str = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        wanted = host_ports(pod)
        if not wanted:
            return SKIP
        state.write(PRE_FILTER_STATE_KEY, wanted)
        return SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        wanted = state.data.get(PRE_FILTER_STATE_KEY)
        if wanted is None:
            return error(f'reading "{PRE_FILTER_STATE_KEY}" from cycleState: not found')
        used = node_info.used_ports
        if any(self.conflicts(port, used) for port in wanted):
            return unschedulable(ERR_REASON)
        return SUCCESS

    def conflicts(self, wanted: HostPort, used: Iterable[HostPort]) -> bool:
        """Whether ``wanted`` clashes with a used port (upstream's HostPortInfo.CheckConflict)."""
        ip, protocol, port = wanted
        for used_ip, used_protocol, used_port in used:
            if (used_protocol, used_port) != (protocol, port):
                continue
            if DEFAULT_BIND_ALL_HOST_IP in (ip, used_ip) or ip == used_ip:
                return True
        return False


def new(args: Any, handle: Handle) -> NodePorts:
    return NodePorts()
