"""NodeAffinity: Filter on nodeSelector and required node affinity; Score by matching preferred terms.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/):
- Filter: a node must match every label of the pod's ``nodeSelector`` and, when
  ``requiredDuringSchedulingIgnoredDuringExecution`` is set, at least one of its
  terms (a term matches when all its expressions and fields match; an empty
  term matches nothing). Otherwise it is rejected with
  UnschedulableAndUnresolvable "node(s) didn't match Pod's node affinity/selector".
  PreFilter returns Skip when the pod states neither.
- Score: the sum of the weights of the preferred terms the node matches,
  normalised (the best node gets 100). PreScore returns Skip when the pod has no
  preferred terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    unresolvable,
)
from kubeprop.reference.scheduler.helper import default_normalize_score
from kubeprop.spec.api.core import Node, Pod
from kubeprop.spec.api.core import NodeAffinity as NodeAffinitySpec

NAME = "NodeAffinity"
REASON_POD = "node(s) didn't match Pod's node affinity/selector"


def _node_affinity(pod: Pod) -> NodeAffinitySpec | None:
    affinity = pod.spec.affinity if pod.spec else None
    return affinity.node_affinity if affinity else None


def matches_required(pod: Pod, node: Node) -> bool:
    """The pod's nodeSelector and required node affinity both match the node."""
    labels = (node.metadata.labels if node.metadata else None) or {}
    name = (node.metadata.name if node.metadata else None) or ""
    selector = pod.spec.node_selector if pod.spec else {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    affinity = _node_affinity(pod)
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    return required is None or required.matches(labels, name)


@attrs.frozen
class NodeAffinity:
    name: str = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        affinity = _node_affinity(pod)
        required = (
            affinity.required_during_scheduling_ignored_during_execution if affinity else None
        )
        if required is None and not (pod.spec and pod.spec.node_selector):
            return SKIP
        return SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return SUCCESS if matches_required(pod, node_info.node) else unresolvable(REASON_POD)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        affinity = _node_affinity(pod)
        terms = affinity.preferred_during_scheduling_ignored_during_execution if affinity else ()
        terms = tuple(t for t in terms if t.weight and t.preference is not None)
        if not terms:
            return SKIP
        state.write("PreScore" + NAME, terms)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        node = node_info.node
        labels = (node.metadata.labels if node.metadata else None) or {}
        total = 0
        for term in state.read("PreScore" + NAME):
            if term.preference.matches(labels, node_info.name):
                total += term.weight
        return total, SUCCESS

    def score_extensions(self) -> NodeAffinity:
        return self

    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        return default_normalize_score(scores), SUCCESS


def new(args: Any, handle: Handle) -> NodeAffinity:
    return NodeAffinity()
