"""TaintToleration: Filter on untolerated NoSchedule/NoExecute taints; Score by intolerable PreferNoSchedule taints.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
- Filter: a node with a NoSchedule or NoExecute taint that the pod does not
  tolerate is rejected with UnschedulableAndUnresolvable
  "node(s) had untolerated taint {<key>: <value>}" (the first such taint).
- Score: the number of the node's PreferNoSchedule taints not tolerated by the
  pod's tolerations whose effect is empty or PreferNoSchedule; normalised
  reversed (fewer intolerable taints, higher score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from kubeprop.reference.scheduler.helper import default_normalize_score
from kubeprop.spec.api.core import Pod, Taint

NAME = "TaintToleration"
_PRE_SCORE_KEY = "PreScore" + NAME


def untolerated_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key or ''}: {taint.value or ''}}}"


def _schedule_blocking(taint: Taint) -> bool:
    return taint.effect in (taints.NO_SCHEDULE, taints.NO_EXECUTE)


@attrs.frozen
class TaintToleration:
    name: str = NAME

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        node_taints = node_info.node.spec.taints if node_info.node.spec else ()
        tolerations = pod.spec.tolerations if pod.spec else ()
        taint = taints.find_untolerated_taint(node_taints, tolerations, _schedule_blocking)
        return SUCCESS if taint is None else unresolvable(untolerated_reason(taint))

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        tolerations = tuple(
            t
            for t in (pod.spec.tolerations if pod.spec else ())
            if t.effect in (None, "", taints.PREFER_NO_SCHEDULE)
        )
        state.write(_PRE_SCORE_KEY, tolerations)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        tolerations = state.read(_PRE_SCORE_KEY)
        node_taints = node_info.node.spec.taints if node_info.node.spec else ()
        count = sum(
            1
            for taint in node_taints
            if taint.effect == taints.PREFER_NO_SCHEDULE
            and not taints.tolerated(tolerations, taint)
        )
        return count, SUCCESS

    def score_extensions(self) -> TaintToleration:
        return self

    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        return default_normalize_score(scores, reverse=True), SUCCESS


def new(args: Any, handle: Handle) -> TaintToleration:
    return TaintToleration()
