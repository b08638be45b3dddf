"""NodeResourcesFit over a node table: the fit check and the scoring strategies on resource columns.

Contract: a row is rejected exactly when the per-node Filter rejects it; its key
packs which resources are short (bit 1: pods, then one bit per checked resource
in the Filter's order) and whether one exceeds the whole allocatable, so equal
keys mean equal statuses. Scores are the per-node plugin's, computed by the
kernels' ``resource_scores`` over the same resources and weights.
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core, resources
from kubeprop.reference.scheduler.plugins import node_resources_fit as fit


def checked_resources(plugin, requests) -> list[str]:
    """The resources the Filter checks, in its order: cpu, memory, ephemeral-storage, then
    the scalar resources requested (sorted), less the ignored extended resources."""
    names = [resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE]
    for name in sorted(n for n in requests if resources.is_scalar_resource_name(n)):
        if fit.is_extended_resource_name(name) and (
            name in plugin.ignored_resources or name.split("/")[0] in plugin.ignored_resource_groups
        ):
            continue
        names.append(name)
    return names


def shape_columns(plugin) -> tuple[list[int], list[int]]:
    """RequestedToCapacityRatio's shape scaled to 0..100: (utilizations, scores)."""
    shape = fit.scaled_shape(plugin.shape) if plugin.shape else ((0, 0),)
    return [utilization for utilization, _ in shape], [score for _, score in shape]


def filter_rows(plugin, state, pod, table):
    try:
        requests = state.read(fit._PRE_FILTER_KEY)
    except KeyError:
        requests = resources.pod_requests(pod)
    k = table.kernels
    n = table.size
    mask, unresolvable = k.zeros(n), bytearray(n)
    pods = table.resource_column(resources.PODS)
    k.mark_insufficient(1, table.allocatable[pods], table.pod_count, 1, mask, unresolvable, 0)
    if any(requests.get(name, 0) for name in requests if name != resources.PODS):
        for bit, name in enumerate(checked_resources(plugin, requests), start=1):
            want = requests.get(name, 0)
            if want > 0:
                column = table.resource_column(name)
                k.mark_insufficient(
                    want,
                    table.allocatable[column],
                    table.requested[column],
                    1 << bit,
                    mask,
                    unresolvable,
                    1,
                )
    keys = k.zeros(n)
    k.combine_mask(mask, unresolvable, keys)
    return keys


STRATEGIES = {fit.LEAST_ALLOCATED: 0, fit.MOST_ALLOCATED: 1, fit.REQUESTED_TO_CAPACITY_RATIO: 2}


def score_columns(table, wanted, resource_weights, non_zero: bool):
    """(wants, allocatable columns, requested columns, weights) of the resources scored:
    a scalar resource the pod does not request is left out; with ``non_zero``, cpu and
    memory use the non-zero requested columns."""
    wants, allocs, useds, weights = [], [], [], []
    for name, weight in resource_weights:
        want = wanted.get(name, 0)
        if want == 0 and resources.is_scalar_resource_name(name):
            continue
        column = table.resource_column(name)
        used = table.requested[column]
        if non_zero and name == resources.CPU:
            used = table.non_zero_cpu
        elif non_zero and name == resources.MEMORY:
            used = table.non_zero_memory
        wants.append(want)
        allocs.append(table.allocatable[column])
        useds.append(used)
        weights.append(weight)
    return wants, allocs, useds, weights


def score_rows(plugin, state, pod, table, rows):
    try:
        wanted = state.read(fit._PRE_SCORE_KEY)
    except KeyError:
        wanted = plugin.pod_scoring_requests(pod)
    wants, allocs, useds, weights = score_columns(table, wanted, plugin.resources, True)
    out = table.kernels.zeros(len(rows))
    strategy = STRATEGIES[plugin.scoring_strategy]
    utilizations, scores = shape_columns(plugin)
    table.kernels.resource_scores(
        rows, strategy, wants, allocs, useds, weights, utilizations, scores, out
    )
    return out


core.register(fit.NodeResourcesFit, filter=filter_rows, score=score_rows)
