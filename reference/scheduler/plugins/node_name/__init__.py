"""NodeName: a Filter keeping a pod that names its node (spec.nodeName) to that node.

Contract: when the pod's ``spec.nodeName`` is set, every other node is rejected
with UnschedulableAndUnresolvable "node(s) didn't match the requested node name".
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    unresolvable,
)
from kubeprop.spec.api.core import Pod

NAME = "NodeName"
REASON_NODE_NAME = "node(s) didn't match the requested node name"


@attrs.frozen
class NodeName:
    name: str = NAME

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        wanted = pod.spec.node_name if pod.spec else None
        if not wanted or wanted == node_info.name:
            return SUCCESS
        return unresolvable(REASON_NODE_NAME)


def new(args: Any, handle: Handle) -> NodeName:
    return NodeName()
