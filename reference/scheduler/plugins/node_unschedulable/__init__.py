"""NodeUnschedulable: a Filter rejecting cordoned nodes (spec.unschedulable) unless the pod tolerates them.

Contract: a node with ``spec.unschedulable`` true is rejected with
UnschedulableAndUnresolvable "node(s) were unschedulable", unless the pod
tolerates the taint node.kubernetes.io/unschedulable:NoSchedule.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler import taints
from kubeprop.reference.scheduler.framework import (
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    unresolvable,
)
from kubeprop.spec.api.core import Pod, Taint

NAME = "NodeUnschedulable"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
_CORDON = Taint(key=taints.TAINT_NODE_UNSCHEDULABLE, effect=taints.NO_SCHEDULE)


@attrs.frozen
class NodeUnschedulable:
    name: str = NAME

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        spec = node_info.node.spec
        if spec is None or not spec.unschedulable:
            return SUCCESS
        if taints.tolerated(pod.spec.tolerations if pod.spec else (), _CORDON):
            return SUCCESS
        return unresolvable(REASON_UNSCHEDULABLE)


def new(args: Any, handle: Handle) -> NodeUnschedulable:
    return NodeUnschedulable()
