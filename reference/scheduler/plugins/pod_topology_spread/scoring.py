"""PodTopologySpread's PreScore, Score and NormalizeScore: whenUnsatisfiable ScheduleAnyway.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/,
upstream's podtopologyspread/scoring.go, release-1.35), with Go's arithmetic:
- PreScore reads the pod's ScheduleAnyway constraints (or the default ones when
  it has none of its own) and returns Skip when there are none (or no nodes).
  Unless the constraints are the system defaults, a feasible node lacking a
  topology key is ignored (scored 0); with the system defaults a node lacking
  the zone label still gets hostname spreading. Each constraint not on
  ``kubernetes.io/hostname`` gets one domain per topology value among the
  feasible, non-ignored nodes (a missing label is the value ""), and its count
  is the matching pods over every node of the snapshot carrying that value (and
  all keys, when required) that passes the constraint's inclusion policies. A
  constraint's weight is ``math.Log(size + 2)``, size its number of domains
  (the number of feasible, non-ignored nodes for hostname).
- Score: for every constraint whose key the node carries, ``count * weight +
  (maxSkew - 1)`` (count: matching pods on the node itself for hostname),
  summed as float64 in constraint order and rounded half away from zero
  (``math.Round``) to an int64.
- NormalizeScore over the feasible nodes: ignored nodes get 0; with ``max`` the
  highest and ``min`` the lowest score of the others, a node scoring ``s``
  gets ``100 * (max + min - s) / max`` (Go integer division), or 100 when
  ``max`` is 0: the fewer matching pods, the higher.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Status,
    error,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE, go_div
from kubeprop.reference.scheduler.plugins.pod_topology_spread.common import (
    LABEL_HOSTNAME,
    NAME,
    Constraint,
    labels_of,
    namespace_of,
)
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import Pod

PRE_SCORE_STATE_KEY = "PreScore" + NAME

MAX_INT64 = 2**63 - 1


@attrs.frozen
class PreScoreState:
    """What PreScore found, for Score and NormalizeScore."""

    constraints: tuple[Constraint, ...] = ()
    ignored_nodes: frozenset[str] = frozenset()  # feasible nodes lacking a topology key
    # per constraint: topology value -> matching pods (empty for hostname constraints).
    pod_counts: tuple[FrozenMap[str, int], ...] = ()
    weights: tuple[float, ...] = ()  # per constraint: math.Log(domains + 2)


def topology_normalizing_weight(size: int) -> float:
    return math.log(size + 2)


def go_round(value: float) -> int:
    """Go's math.Round: to the nearest integer, halves away from zero."""
    whole = math.trunc(value)
    if abs(value - whole) >= 0.5:
        whole += 1 if value > 0 else -1
    return int(whole)


class Scoring:
    """PreScore, Score and NormalizeScore; mixed into the plugin class, which provides
    the hooks of common.CommonHooks, ``constraints_for`` and ``system_defaulted``."""

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        all_nodes = state.snapshot.node_infos if state.snapshot is not None else tuple(nodes)
        if not all_nodes:
            return SKIP
        try:
            constraints = self.constraints_for(state, pod, "ScheduleAnyway")
        except ValueError as err:
            return error(f"calculating preScoreState: {err}")
        if not constraints:
            return SKIP
        own = bool(pod.spec and pod.spec.topology_spread_constraints)
        require_all = own or not self.system_defaulted
        state.write(
            PRE_SCORE_STATE_KEY,
            self.count_for_score(pod, constraints, nodes, all_nodes, require_all),
        )
        return SUCCESS

    def count_for_score(
        self,
        pod: Pod,
        constraints: tuple[Constraint, ...],
        feasible: Sequence[NodeInfo],
        all_nodes: Sequence[NodeInfo],
        require_all: bool,
    ) -> PreScoreState:
        ignored: set[str] = set()
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for info in feasible:
            if require_all and not self.node_counts(info, constraints):
                ignored.add(info.name)
                continue
            labels = labels_of(info.node)
            for i, constraint in enumerate(constraints):
                if constraint.topology_key != LABEL_HOSTNAME:
                    counts[i].setdefault(labels.get(constraint.topology_key, ""), 0)
        weights = []
        for i, constraint in enumerate(constraints):
            size = len(counts[i])
            if constraint.topology_key == LABEL_HOSTNAME:
                size = len(feasible) - len(ignored)
            weights.append(topology_normalizing_weight(size))
        namespace = namespace_of(pod)
        for info in all_nodes:
            if require_all and not self.node_counts(info, constraints):
                continue
            labels = labels_of(info.node)
            for i, constraint in enumerate(constraints):
                if not self.included(constraint, pod, info.node):
                    continue
                value = labels.get(constraint.topology_key, "")
                if value not in counts[i]:
                    continue
                counts[i][value] += self.count_matching(info.pods, constraint.selector, namespace)
        return PreScoreState(
            constraints,
            frozenset(ignored),
            tuple(FrozenMap(c) for c in counts),
            tuple(weights),
        )

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        try:
            spread: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        except KeyError as err:
            return 0, error(f"reading {PRE_SCORE_STATE_KEY!r} from cycleState: {err}")
        if node_info.name in spread.ignored_nodes:
            return 0, SUCCESS
        labels = labels_of(node_info.node)
        total = 0.0
        for i, constraint in enumerate(spread.constraints):
            value = labels.get(constraint.topology_key)
            if value is None:
                continue
            if constraint.topology_key == LABEL_HOSTNAME:
                count = self.count_matching(node_info.pods, constraint.selector, namespace_of(pod))
            else:
                count = spread.pod_counts[i].get(value, 0)
            total += count * spread.weights[i] + float(constraint.max_skew - 1)
        return go_round(total), SUCCESS

    def score_extensions(self) -> Scoring:
        return self

    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        try:
            spread: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        except KeyError as err:
            return dict(scores), error(f"reading {PRE_SCORE_STATE_KEY!r} from cycleState: {err}")
        counted = [s for name, s in scores.items() if name not in spread.ignored_nodes]
        lowest = min(counted, default=MAX_INT64)
        highest = max([0, *counted])
        out = {}
        for name, score in scores.items():
            if name in spread.ignored_nodes:
                out[name] = 0
            elif highest == 0:
                out[name] = MAX_NODE_SCORE
            else:
                out[name] = go_div(MAX_NODE_SCORE * (highest + lowest - score), highest)
        return out, SUCCESS
