"""The fused cycle: the default plugins' filters and scores in one kernel pass each.

Contract: for a cycle that needs no explanation, when every Filter plugin still
running after PreFilter is one of NodeUnschedulable, NodeName, TaintToleration,
NodeAffinity and NodeResourcesFit (exactly those classes, so a mutant never
takes this path), ``feasible`` finds the feasible rows with one
``fused_filter`` pass, as the per-plugin table path would (same rows, same
visited count); ``add_scores`` adds the weighted, normalised scores of those
of NodeResourcesFit, NodeResourcesBalancedAllocation, TaintToleration and
NodeAffinity that score this cycle with one ``fused_score`` pass and returns
the scorers it did not handle. The inputs per plugin are prepared exactly as
the plugins' table versions prepare them.
"""

from __future__ import annotations

from typing import Any

from kubeprop.reference.scheduler import resources, taints
from kubeprop.reference.scheduler.plugins import node_affinity as affinity_plugin
from kubeprop.reference.scheduler.plugins import node_resources_balanced_allocation as balanced
from kubeprop.reference.scheduler.plugins import node_resources_fit as fit
from kubeprop.reference.scheduler.plugins.node_affinity import table as affinity_table
from kubeprop.reference.scheduler.plugins.node_name import NodeName
from kubeprop.reference.scheduler.plugins.node_resources_fit import table as fit_table
from kubeprop.reference.scheduler.plugins.node_unschedulable import _CORDON, NodeUnschedulable
from kubeprop.reference.scheduler.plugins.taint_toleration import TaintToleration
from kubeprop.reference.scheduler.plugins.taint_toleration import table as taint_table

FILTERS = (NodeUnschedulable, NodeName, TaintToleration, affinity_plugin.NodeAffinity)
SCORERS = (
    fit.NodeResourcesFit,
    balanced.NodeResourcesBalancedAllocation,
    TaintToleration,
    affinity_plugin.NodeAffinity,
)
MAX_FUSED = 16


def feasible(filters, state, pod, table, start: int, limit: int) -> tuple[Any, int] | None:
    """(feasible rows, visited) or None when some filter is not fused."""
    args = filter_args_of(filters, state, pod, table)
    if args is None:
        return None
    return table.kernels.fused_filter(start % table.size, limit, *args)


def filter_args_of(filters, state, pod, table) -> tuple | None:
    """The arguments of ``fused_filter`` after (start, limit) for this pod, or None when
    some filter is not fused."""
    check_unschedulable, keep = 0, -2
    flagged: Any = b""
    affinity: Any = b""
    wants: list[int] = []
    allocs: list[Any] = []
    useds: list[Any] = []
    fitting = None
    for plugin in filters:
        kind = type(plugin)
        if kind is fit.NodeResourcesFit:
            fitting = plugin
        elif kind not in FILTERS:
            return None
        elif kind is NodeUnschedulable:
            tolerations = pod.spec.tolerations if pod.spec else ()
            check_unschedulable = 0 if taints.tolerated(tolerations, _CORDON) else 1
        elif kind is NodeName:
            wanted = pod.spec.node_name if pod.spec else None
            keep = table.index.get(wanted, -1) if wanted else -2
        elif kind is TaintToleration:
            if table.taint_width:
                tolerations = pod.spec.tolerations if pod.spec else ()
                flagged = taint_table._flags(table, taint_table._schedule_blocking, tolerations)
        else:
            affinity = affinity_table.required_rows(table, pod)
    if fitting is None:
        return None
    try:
        requests = state.read(fit._PRE_FILTER_KEY)
    except KeyError:
        requests = resources.pod_requests(pod)
    if any(requests.get(name, 0) for name in requests if name != resources.PODS):
        for name in fit_table.checked_resources(fitting, requests):
            want = requests.get(name, 0)
            if want > 0:
                column = table.resource_column(name)
                wants.append(want)
                allocs.append(table.allocatable[column])
                useds.append(table.requested[column])
    if len(wants) > MAX_FUSED:
        return None
    pods = table.resource_column(resources.PODS)
    return (
        table.unschedulable,
        check_unschedulable,
        keep,
        table.taint_rows,
        table.taint_width,
        flagged,
        affinity,
        table.allocatable[pods],
        table.pod_count,
        wants,
        allocs,
        useds,
    )


def add_scores(scorers, weight_of, state, pod, table, rows, totals) -> list:
    """Add the fused scorers' weighted scores to ``totals``; the scorers left over."""
    args, left = score_args_of(scorers, weight_of, state, pod, table)
    if args is None:
        return list(scorers)
    table.kernels.fused_score(rows, *args, totals)
    return left


def score_args_of(scorers, weight_of, state, pod, table) -> tuple[tuple | None, list]:
    """(the arguments of ``fused_score`` between the rows and the totals, or None when
    too many resources or terms; the scorers it does not cover)."""
    left = []
    args: dict[str, Any] = {
        "strategy": 0,
        "wants": [],
        "allocs": [],
        "useds": [],
        "weights": [],
        "shape_u": (),
        "shape_s": (),
        "fit_weight": 0,
        "bal_wants": [],
        "bal_allocs": [],
        "bal_useds": [],
        "bal_weight": 0,
        "prefer": b"",
        "taint_weight": 0,
        "terms": [],
        "term_weights": [],
        "affinity_weight": 0,
    }
    for plugin in scorers:
        kind = type(plugin)
        if kind not in SCORERS:
            left.append(plugin)
        else:
            _fuse(plugin, kind, weight_of(plugin.name), state, pod, table, args)
    if max(len(args["wants"]), len(args["bal_wants"]), len(args["terms"])) > MAX_FUSED:
        return None, list(scorers)
    return (
        args["strategy"],
        args["wants"],
        args["allocs"],
        args["useds"],
        args["weights"],
        args["shape_u"],
        args["shape_s"],
        args["fit_weight"],
        args["bal_wants"],
        args["bal_allocs"],
        args["bal_useds"],
        args["bal_weight"],
        table.taint_rows,
        table.taint_width,
        args["prefer"],
        args["taint_weight"],
        args["terms"],
        args["term_weights"],
        args["affinity_weight"],
    ), left


def _fuse(plugin, kind, weight: int, state, pod, table, args: dict[str, Any]) -> None:
    if kind is fit.NodeResourcesFit:
        try:
            wanted = state.read(fit._PRE_SCORE_KEY)
        except KeyError:
            wanted = plugin.pod_scoring_requests(pod)
        wants, allocs, useds, weights = fit_table.score_columns(
            table, wanted, plugin.resources, True
        )
        utilizations, scores = fit_table.shape_columns(plugin)
        args.update(
            strategy=fit_table.STRATEGIES[plugin.scoring_strategy],
            wants=wants,
            allocs=allocs,
            useds=useds,
            weights=weights,
            shape_u=utilizations,
            shape_s=scores,
            fit_weight=weight,
        )
    elif kind is balanced.NodeResourcesBalancedAllocation:
        wanted = state.read(balanced._PRE_SCORE_KEY)
        by_name = dict(zip(plugin.resources, wanted))
        wants, allocs, useds, _ = fit_table.score_columns(
            table, by_name, [(name, 1) for name in plugin.resources], False
        )
        args.update(bal_wants=wants, bal_allocs=allocs, bal_useds=useds, bal_weight=weight)
    elif kind is TaintToleration:
        prefer = b""
        if table.taint_width:
            prefer = taint_table._flags(
                table, taint_table._prefer_no_schedule, state.read(taint_table._PRE_SCORE_KEY)
            )
        args.update(prefer=prefer, taint_weight=weight)
    else:
        terms = state.read("PreScore" + plugin.name)
        args.update(
            terms=[affinity_table.term_rows(table, term.preference) for term in terms],
            term_weights=[term.weight for term in terms],
            affinity_weight=weight,
        )


def prepare(profile, pod, snapshot, table):
    """(cycle state, filter args, score args, scorers left over) for pods of ``pod``'s
    template, PreFilter and PreScore run over every node of ``snapshot`` (as for a
    cluster where every node is feasible); None when the filters or scores are not all
    fused."""
    from kubeprop.reference.scheduler.framework import CycleState

    state = CycleState(snapshot=snapshot, profile=profile)
    for plugin in profile.at("pre_filter"):
        if plugin.pre_filter(state, pod, snapshot.node_infos).is_skip():
            state.skip_filter_plugins.add(plugin.name)
    for plugin in profile.at("pre_score"):
        if plugin.pre_score(state, pod, snapshot.node_infos).is_skip():
            state.skip_score_plugins.add(plugin.name)
    filters = [p for p in profile.at("filter") if p.name not in state.skip_filter_plugins]
    scorers = [p for p in profile.at("score") if p.name not in state.skip_score_plugins]
    filter_args = filter_args_of(filters, state, pod, table)
    score_args, left = score_args_of(scorers, profile.weight, state, pod, table)
    if filter_args is None or score_args is None:
        return None
    return state, filter_args, score_args, left
