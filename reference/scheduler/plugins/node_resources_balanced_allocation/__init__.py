"""NodeResourcesBalancedAllocation: Score favouring nodes whose cpu and memory fractions stay close.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/):
- PreScore returns Skip for a pod that requests none of the scored resources
  (a best-effort pod), so such pods are not piled onto one node.
- Score: for each resource with non-zero allocatable, the fraction
  (requested of the node's pods + the pod's request) / allocatable, capped at 1,
  with actual requests (no non-zero defaults); std is |f1 - f2| / 2 for two
  fractions, the population standard deviation for more, 0 for fewer; the score
  is ``int((1 - std) * 100)`` (truncated). No normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler import resources
from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    InvalidInput,
    NodeInfo,
    Status,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE

NAME = "NodeResourcesBalancedAllocation"
_PRE_SCORE_KEY = "PreScore" + NAME


def balanced_resource_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    fractions = [min(r / a, 1.0) for r, a in zip(requested, allocatable) if a != 0]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


@attrs.frozen
class NodeResourcesBalancedAllocation:
    name: str = NAME
    resources: tuple[str, ...] = (resources.CPU, resources.MEMORY)

    def pre_score(self, state: CycleState, pod, nodes: Sequence[NodeInfo]) -> Status:
        requests = resources.pod_requests(pod)
        wanted = tuple(requests.get(name, 0) for name in self.resources)
        if not any(wanted):
            return SKIP
        state.write(_PRE_SCORE_KEY, wanted)
        return SUCCESS

    def score(self, state: CycleState, pod, node_info: NodeInfo) -> tuple[int, Status]:
        try:
            wanted = state.read(_PRE_SCORE_KEY)
        except KeyError:
            requests = resources.pod_requests(pod)
            wanted = tuple(requests.get(name, 0) for name in self.resources)
        requested, allocatable = [], []
        for name, want in zip(self.resources, wanted):
            if want == 0 and resources.is_scalar_resource_name(name):
                continue
            requested.append(node_info.requested.get(name, 0) + want)
            allocatable.append(node_info.allocatable.get(name, 0))
        return balanced_resource_score(requested, allocatable), SUCCESS

    def score_extensions(self) -> None:
        return None


def new(args: Any, handle: Handle) -> NodeResourcesBalancedAllocation:
    """``args``: None, or a mapping with ``resources: [{name, weight}]`` (weights unused);
    a resource without a name is rejected naming its field path."""
    names = []
    for i, item in enumerate((args or {}).get("resources") or ()):
        name = item.get("name") if isinstance(item, dict) else None
        if not name:
            raise InvalidInput(f"resources[{i}].name: Required value")
        names.append(name)
    return NodeResourcesBalancedAllocation(
        resources=tuple(names) or (resources.CPU, resources.MEMORY)
    )
