"""NodeUnschedulable over a node table: cordoned rows are rejected unless the pod tolerates the cordon."""

from __future__ import annotations

from kubeprop.reference.scheduler import core, taints
from kubeprop.reference.scheduler.plugins.node_unschedulable import _CORDON, NodeUnschedulable


def filter_rows(plugin, state, pod, table):
    keys = table.kernels.zeros(table.size)
    if not taints.tolerated(pod.spec.tolerations if pod.spec else (), _CORDON):
        table.kernels.flag_keys(table.unschedulable, 1, keys)
    return keys


core.register(NodeUnschedulable, filter=filter_rows)
