"""NodeResourcesFit: Filter on free resources; Score by LeastAllocated (or MostAllocated) over cpu and memory.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/):
- PreFilter computes the pod's effective requests (``resources.pod_requests``).
- Filter: "Too many pods" when the node already runs as many pods as its
  allocatable ``pods``; then, unless the pod requests nothing, "Insufficient
  <resource>" for cpu, memory, ephemeral-storage and every scalar resource
  (sorted by name) whose request exceeds allocatable minus requested. The status
  is UnschedulableAndUnresolvable when some request exceeds the node's whole
  allocatable (evicting pods cannot help), Unschedulable otherwise.
- Score (LeastAllocated, the default): per resource with non-zero allocatable,
  ``(allocatable - requested) * 100 // allocatable`` (0 when requested exceeds
  allocatable), where requested counts the non-zero requests (100m cpu / 200Mi
  memory for containers that state none) of the node's pods and of this pod;
  the weighted mean with integer division. MostAllocated uses
  ``min(requested, allocatable) * 100 // allocatable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler import resources
from kubeprop.reference.scheduler.framework import (
    SUCCESS,
    Code,
    CycleState,
    Handle,
    InvalidInput,
    NodeInfo,
    Status,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE

NAME = "NodeResourcesFit"
LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
DEFAULT_RESOURCES: tuple[tuple[str, int], ...] = ((resources.CPU, 1), (resources.MEMORY, 1))
_PRE_FILTER_KEY = "PreFilter" + NAME
_PRE_SCORE_KEY = "PreScore" + NAME


@attrs.frozen
class InsufficientResource:
    resource_name: str
    reason: str
    requested: int
    used: int
    capacity: int
    unresolvable: bool


def fits_request(requests: dict[str, int], node_info: NodeInfo) -> list[InsufficientResource]:
    """Every resource the node lacks for a pod with these effective requests."""
    insufficient = []
    allocatable, used = node_info.allocatable, node_info.requested
    allowed_pods = allocatable.get(resources.PODS, 0)
    if len(node_info.pods) + 1 > allowed_pods:
        insufficient.append(
            InsufficientResource(
                resources.PODS, "Too many pods", 1, len(node_info.pods), allowed_pods, False
            )
        )
    if not any(requests.get(name, 0) for name in requests if name != resources.PODS):
        return insufficient
    names = [resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE]
    names += sorted(n for n in requests if resources.is_scalar_resource_name(n))
    for name in names:
        want = requests.get(name, 0)
        have, taken = allocatable.get(name, 0), used.get(name, 0)
        if want > 0 and want > have - taken:
            insufficient.append(
                InsufficientResource(name, f"Insufficient {name}", want, taken, have, want > have)
            )
    return insufficient


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


@attrs.frozen
class NodeResourcesFit:
    name: str = NAME
    scoring_strategy: str = LEAST_ALLOCATED
    resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES  # (resource, weight)

    def pre_filter(self, state: CycleState, pod, nodes: Sequence[NodeInfo]) -> Status:
        state.write(_PRE_FILTER_KEY, resources.pod_requests(pod))
        return SUCCESS

    def filter(self, state: CycleState, pod, node_info: NodeInfo) -> Status:
        try:
            requests = state.read(_PRE_FILTER_KEY)
        except KeyError:
            requests = resources.pod_requests(pod)
        insufficient = fits_request(requests, node_info)
        if not insufficient:
            return SUCCESS
        code = (
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            if any(r.unresolvable for r in insufficient)
            else Code.UNSCHEDULABLE
        )
        return Status(code, tuple(r.reason for r in insufficient))

    def pre_score(self, state: CycleState, pod, nodes: Sequence[NodeInfo]) -> Status:
        state.write(_PRE_SCORE_KEY, self.pod_scoring_requests(pod))
        return SUCCESS

    def pod_scoring_requests(self, pod) -> dict[str, int]:
        """The non-zero requests for cpu and memory, the plain requests for the rest."""
        plain = resources.pod_requests(pod)
        non_zero = resources.pod_requests(pod, resources.NON_MISSING_DEFAULTS)
        return {
            name: (non_zero if name in resources.NON_MISSING_DEFAULTS else plain).get(name, 0)
            for name, _ in self.resources
        }

    def score(self, state: CycleState, pod, node_info: NodeInfo) -> tuple[int, Status]:
        try:
            requests = state.read(_PRE_SCORE_KEY)
        except KeyError:
            requests = self.pod_scoring_requests(pod)
        scorer = (
            least_requested_score
            if self.scoring_strategy == LEAST_ALLOCATED
            else most_requested_score
        )
        total = weight_sum = 0
        for name, weight in self.resources:
            want = requests.get(name, 0)
            if want == 0 and resources.is_scalar_resource_name(name):
                continue
            capacity = node_info.allocatable.get(name, 0)
            if capacity == 0:
                continue
            used = (
                node_info.non_zero_requested
                if name in resources.NON_MISSING_DEFAULTS
                else (node_info.requested)
            )
            total += scorer(used.get(name, 0) + want, capacity) * weight
            weight_sum += weight
        return (total // weight_sum if weight_sum else 0), SUCCESS

    def score_extensions(self) -> None:
        return None


def new(args: Any, handle: Handle) -> NodeResourcesFit:
    """``args``: None, or a mapping with ``scoringStrategy: {type, resources: [{name, weight}]}``
    (NodeResourcesFitArgs in camelCase); a bad value is rejected naming its field path."""
    if not args:
        return NodeResourcesFit()
    strategy = args.get("scoringStrategy") or {}
    kind = strategy.get("type", LEAST_ALLOCATED)
    if kind not in (LEAST_ALLOCATED, MOST_ALLOCATED):
        raise InvalidInput(
            f'scoringStrategy.type: Unsupported value: "{kind}": supported values: '
            f'"{LEAST_ALLOCATED}", "{MOST_ALLOCATED}"'
        )
    weighted = []
    for i, item in enumerate(strategy.get("resources") or ()):
        at = f"scoringStrategy.resources[{i}]"
        name = item.get("name") if isinstance(item, dict) else None
        if not name:
            raise InvalidInput(f"{at}.name: Required value")
        weight = item.get("weight", 1)
        if not isinstance(weight, int) or not 1 <= weight <= MAX_NODE_SCORE:
            raise InvalidInput(
                f"{at}.weight: Invalid value: {weight}: resource weight of {name} "
                f"not in valid range [1, {MAX_NODE_SCORE}]"
            )
        weighted.append((name, weight))
    return NodeResourcesFit(scoring_strategy=kind, resources=tuple(weighted) or DEFAULT_RESOURCES)
