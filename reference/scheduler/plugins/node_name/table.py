"""NodeName over a node table: every row but the named node's is rejected."""

from __future__ import annotations

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.plugins.node_name import NodeName


def filter_rows(plugin, state, pod, table):
    keys = table.kernels.zeros(table.size)
    wanted = pod.spec.node_name if pod.spec else None
    if wanted:
        table.kernels.fill_keys_except(keys, 1, table.index.get(wanted, -1))
    return keys


core.register(NodeName, filter=filter_rows)
