"""PodTopologySpread's PreFilter and Filter: whenUnsatisfiable DoNotSchedule.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/,
upstream's podtopologyspread/filtering.go, release-1.35):
- PreFilter reads the pod's DoNotSchedule constraints (or the default ones when
  it has none of its own); with none it returns Skip. Over every node of the
  snapshot that carries all their topology keys, it counts, per constraint and
  per topology value (a domain), the matching pods on the nodes that pass the
  constraint's inclusion policies; a domain of such a node exists even with 0.
- Filter, for each constraint in order: a node lacking the topology key is
  rejected UnschedulableAndUnresolvable with
  "node(s) didn't match pod topology spread constraints (missing required label)";
  otherwise ``skew = matching pods in the node's domain + (1 if the pod matches
  its own selector) - global minimum`` must not exceed maxSkew, or the node is
  rejected Unschedulable with "node(s) didn't match pod topology spread constraints".
  The global minimum is the smallest count over the domains, or 0 when there
  are fewer domains than minDomains (and MaxInt32 when there is no domain).
- ``FilteringHooks.skew_exceeds`` is the comparison, so a mutant can break it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Status,
    error,
    unresolvable,
    unschedulable,
)
from kubeprop.reference.scheduler.plugins.pod_topology_spread.common import (
    NAME,
    Constraint,
    labels_of,
    selector_matches,
)
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import Pod

PRE_FILTER_STATE_KEY = "PreFilter" + NAME

# plugin.go's ErrReasonConstraintsNotMatch and ErrReasonNodeLabelNotMatch.
REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
REASON_NODE_LABEL_NOT_MATCH = REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"

MAX_INT32 = 2**31 - 1


@attrs.frozen
class PreFilterState:
    """What PreFilter found: the constraints and, for each, topology value -> matching pods."""

    constraints: tuple[Constraint, ...] = ()
    match_num: tuple[FrozenMap[str, int], ...] = ()

    def min_match_num(self, i: int) -> int:
        """The global minimum of constraint ``i``: 0 with fewer domains than minDomains."""
        counts = self.match_num[i]
        if len(counts) < self.constraints[i].min_domains:
            return 0
        return min(counts.values(), default=MAX_INT32)


class Filtering:
    """PreFilter and Filter; mixed into the plugin class, which provides the hooks of
    common.CommonHooks and ``constraints_for``."""

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        try:
            constraints = self.constraints_for(state, pod, "DoNotSchedule")
        except ValueError as err:
            return error(f"get constraints from pod: {err}")
        if not constraints:
            return SKIP
        state.write(PRE_FILTER_STATE_KEY, self.count_domains(pod, constraints, nodes))
        return SUCCESS

    def count_domains(
        self, pod: Pod, constraints: tuple[Constraint, ...], nodes: Sequence[NodeInfo]
    ) -> PreFilterState:
        namespace = (pod.metadata.namespace if pod.metadata else None) or ""
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for info in nodes:
            if not self.node_counts(info, constraints):
                continue
            labels = labels_of(info.node)
            for i, constraint in enumerate(constraints):
                if not self.included(constraint, pod, info.node):
                    continue
                value = labels[constraint.topology_key]
                found = self.count_matching(info.pods, constraint.selector, namespace)
                counts[i][value] = counts[i].get(value, 0) + found
        return PreFilterState(constraints, tuple(FrozenMap(c) for c in counts))

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        try:
            spread: PreFilterState = state.read(PRE_FILTER_STATE_KEY)
        except KeyError as err:
            return error(f"reading {PRE_FILTER_STATE_KEY!r} from cycleState: {err}")
        labels = labels_of(node_info.node)
        pod_labels = labels_of(pod)
        for i, constraint in enumerate(spread.constraints):
            value = labels.get(constraint.topology_key)
            if value is None:
                return unresolvable(REASON_NODE_LABEL_NOT_MATCH)
            self_match = 1 if selector_matches(constraint.selector, pod_labels) else 0
            match_num = spread.match_num[i].get(value, 0)
            skew = match_num + self_match - spread.min_match_num(i)
            if self.skew_exceeds(skew, constraint.max_skew):
                return unschedulable(REASON_CONSTRAINTS_NOT_MATCH)
        return SUCCESS

    def skew_exceeds(self, skew: int, max_skew: int) -> bool:
        """The placement would make the skew too large."""
        return skew > max_skew
