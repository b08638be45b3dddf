"""NodeResourcesBalancedAllocation over a node table: the kernels' balanced_scores on requested columns."""

from __future__ import annotations

from kubeprop.reference.scheduler import core, resources
from kubeprop.reference.scheduler.plugins import node_resources_balanced_allocation as balanced
from kubeprop.reference.scheduler.plugins.node_resources_fit.table import score_columns


def score_rows(plugin, state, pod, table, rows):
    try:
        wanted = state.read(balanced._PRE_SCORE_KEY)
    except KeyError:
        requests = resources.pod_requests(pod)
        wanted = tuple(requests.get(name, 0) for name in plugin.resources)
    by_name = dict(zip(plugin.resources, wanted))
    wants, allocs, useds, _ = score_columns(
        table, by_name, [(name, 1) for name in plugin.resources], False
    )
    out = table.kernels.zeros(len(rows))
    table.kernels.balanced_scores(rows, wants, allocs, useds, out)
    return out


core.register(balanced.NodeResourcesBalancedAllocation, score=score_rows)
