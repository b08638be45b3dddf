"""NodeResourcesBalancedAllocation: Score favouring nodes whose cpu and memory fractions stay close.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/):
- PreScore returns Skip for a pod that requests none of the scored resources
  (a best-effort pod), so such pods are not piled onto one node.
- Score: for each resource with non-zero allocatable, the fraction
  (requested of the node's pods + the pod's request) / allocatable, capped at 1,
  with actual requests (no non-zero defaults); std is |f1 - f2| / 2 for two
  fractions, the population standard deviation for more, 0 for fewer; the score
  is ``int((1 - std) * 100)`` (truncated). No normalisation. Float sums are
  explicit left-to-right loops, as Go adds (no compensated summation).
- ``new(args)`` validates args as upstream's
  ValidateNodeResourcesBalancedAllocationArgs (a resource named twice is a
  Duplicate, a weight other than 1 is Invalid "must be 1"; every problem at
  once); ``default_args`` is upstream's v1 defaulting (a missing or zero weight
  is 1), applied by the configuration loader.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler import resources
from kubeprop.reference.scheduler.config import (
    field_errors,
    read_int,
    read_list,
    read_object,
    read_str,
)
from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE
from kubeprop.spec.api.errors import FieldError, duplicate, invalid, required

NAME = "NodeResourcesBalancedAllocation"
_PRE_SCORE_KEY = "PreScore" + NAME


def balanced_resource_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    fractions = [min(r / a, 1.0) for r, a in zip(requested, allocatable) if a != 0]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        total = 0.0
        for fraction in fractions:
            total += fraction
        mean = total / len(fractions)
        variance = 0.0
        for fraction in fractions:
            variance += (fraction - mean) * (fraction - mean)
        std = math.sqrt(variance / len(fractions))
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


def default_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """SetDefaults_NodeResourcesBalancedAllocationArgs (v1): a missing or zero weight is 1."""
    out = dict(args)
    items = out.get("resources")
    if isinstance(items, list):
        out["resources"] = [
            {**item, "weight": 1}
            if isinstance(item, Mapping) and item.get("weight") in (None, 0)
            else item
            for item in items
        ]
    return out


def new(args: Any, handle: Handle) -> NodeResourcesBalancedAllocation:
    """``args``: None, or NodeResourcesBalancedAllocationArgs in camelCase
    (``resources: [{name, weight}]``, weights 1); every problem is reported at once,
    each naming its field path."""
    if not args:
        return NodeResourcesBalancedAllocation()
    errors: list[FieldError] = []
    data = read_object(args, "", ("resources",), errors)
    names: list[str] = []
    for i, item in enumerate(read_list((data or {}).get("resources"), "resources", errors)):
        at = f"resources[{i}]"
        entry = read_object(item, at, ("name", "weight"), errors)
        if entry is None:
            continue
        name = read_str(entry.get("name"), f"{at}.name", errors)
        if not name:
            errors.append(required(f"{at}.name"))
            continue
        if name in names:
            errors.append(duplicate(f"{at}.name", name))
        raw = entry.get("weight")
        weight = 1 if raw is None else read_int(raw, f"{at}.weight", errors)
        if weight is not None and weight != 1:
            errors.append(invalid(f"{at}.weight", weight, "must be 1"))
        names.append(name)
    if errors:
        raise field_errors(errors)
    return NodeResourcesBalancedAllocation(
        resources=tuple(dict.fromkeys(names)) or (resources.CPU, resources.MEMORY)
    )
