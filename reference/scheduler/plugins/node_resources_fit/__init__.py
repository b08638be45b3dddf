"""NodeResourcesFit: Filter on free resources; Score by LeastAllocated, MostAllocated or RequestedToCapacityRatio.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/,
https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/#kubescheduler-config-k8s-io-v1-NodeResourcesFitArgs):
- PreFilter computes the pod's effective requests (``resources.pod_requests``).
- Filter: "Too many pods" when the node already runs as many pods as its
  allocatable ``pods``; then, unless the pod requests nothing, "Insufficient
  <resource>" for cpu, memory, ephemeral-storage and every scalar resource
  (sorted by name) whose request exceeds allocatable minus requested. The status
  is UnschedulableAndUnresolvable when some request exceeds the node's whole
  allocatable (evicting pods cannot help), Unschedulable otherwise. Extended
  resources named in ``ignoredResources``, or whose domain (the part before "/")
  is in ``ignoredResourceGroups``, are not checked.
- Score, per resource of ``scoringStrategy.resources`` with non-zero allocatable
  (a scalar resource the pod does not request is left out), where requested
  counts the non-zero requests (100m cpu / 200Mi memory for containers that
  state none) of the node's pods and of this pod:
  LeastAllocated (the default) ``(allocatable - requested) * 100 // allocatable``
  (0 when requested exceeds allocatable), MostAllocated
  ``min(requested, allocatable) * 100 // allocatable``, both averaged with their
  weights with integer division; RequestedToCapacityRatio maps the utilization
  ``requested * 100 // allocatable`` (100 when requested exceeds allocatable)
  through the broken linear ``shape`` (scores 0..10 scaled by 10, Go integer
  interpolation) and averages the positive resource scores with their weights,
  rounded half away from zero.
- ``new(args)`` validates args as upstream's ValidateNodeResourcesFitArgs (every
  problem at once, paths relative to the args); ``default_args`` is upstream's
  v1 defaulting (a missing or zero resource weight is 1), applied by the
  configuration loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    SUCCESS,
    Code,
    CycleState,
    Handle,
    NodeInfo,
    Status,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE, go_div
from kubeprop.spec.api.errors import FieldError, forbidden, invalid, not_supported, required
from kubeprop.spec.api.names import validate_label_name

NAME = "NodeResourcesFit"
LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
REQUESTED_TO_CAPACITY_RATIO = "RequestedToCapacityRatio"
STRATEGIES = (
    LEAST_ALLOCATED,
    MOST_ALLOCATED,
    REQUESTED_TO_CAPACITY_RATIO,
)  # sorted, as upstream lists them
DEFAULT_RESOURCES: tuple[tuple[str, int], ...] = ((resources.CPU, 1), (resources.MEMORY, 1))
# config.MaxCustomPriorityScore: shape scores are 0..10, scaled to 0..MAX_NODE_SCORE.
MAX_CUSTOM_PRIORITY_SCORE = 10
MAX_UTILIZATION = 100
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


def is_extended_resource_name(name: str) -> bool:
    """An extended resource: a domain-prefixed name outside kubernetes.io, not "requests."."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


def fits_request(
    requests: dict[str, int],
    node_info: NodeInfo,
    ignored_resources: frozenset[str] = frozenset(),
    ignored_groups: frozenset[str] = frozenset(),
) -> list[InsufficientResource]:
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
    for name in sorted(n for n in requests if resources.is_scalar_resource_name(n)):
        if is_extended_resource_name(name) and (
            name in ignored_resources or name.split("/")[0] in ignored_groups
        ):
            continue
        names.append(name)
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


def broken_linear(shape: Sequence[tuple[int, int]], p: int) -> int:
    """helper.BuildBrokenLinearFunction: the shape's score at utilization ``p``, linear
    between the points with Go's integer division, flat before the first and after the last."""
    for i, (utilization, score) in enumerate(shape):
        if p <= utilization:
            if i == 0:
                return score
            u0, s0 = shape[i - 1]
            return s0 + go_div((score - s0) * (p - u0), utilization - u0)
    return shape[-1][1]


def scaled_shape(shape: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The shape with its 0..10 scores scaled to the scheduler's 0..100."""
    factor = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    return tuple((utilization, score * factor) for utilization, score in shape)


def requested_to_capacity_ratio_score(
    shape: Sequence[tuple[int, int]],
    weighted: Sequence[tuple[int, int, int]],
) -> int:
    """The node score of (requested, allocatable, weight) triples under a scaled shape."""
    node_score = weight_sum = 0
    for requested, capacity, weight in weighted:
        if capacity == 0:
            continue
        if requested > capacity:
            utilization = MAX_UTILIZATION
        elif requested <= 0:
            utilization = 0
        else:
            utilization = requested * MAX_UTILIZATION // capacity
        score = broken_linear(shape, utilization)
        if score > 0:
            node_score += score * weight
            weight_sum += weight
    if weight_sum == 0:
        return 0
    # math.Round(float64(nodeScore) / float64(weightSum)): half away from zero.
    return (2 * node_score + weight_sum) // (2 * weight_sum)


@attrs.frozen
class NodeResourcesFit:
    name: str = NAME
    scoring_strategy: str = LEAST_ALLOCATED
    resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES  # (resource, weight)
    # RequestedToCapacityRatio's shape, (utilization, score) with scores 0..10 as configured.
    shape: tuple[tuple[int, int], ...] = ()
    ignored_resources: frozenset[str] = frozenset()
    ignored_resource_groups: frozenset[str] = frozenset()

    def pre_filter(self, state: CycleState, pod, nodes: Sequence[NodeInfo]) -> Status:
        state.write(_PRE_FILTER_KEY, resources.pod_requests(pod))
        return SUCCESS

    def filter(self, state: CycleState, pod, node_info: NodeInfo) -> Status:
        try:
            requests = state.read(_PRE_FILTER_KEY)
        except KeyError:
            requests = resources.pod_requests(pod)
        insufficient = fits_request(
            requests, node_info, self.ignored_resources, self.ignored_resource_groups
        )
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

    def requested_and_allocatable(
        self, requests: Mapping[str, int], node_info: NodeInfo
    ) -> list[tuple[int, int, int]]:
        """(requested with the pod, allocatable, weight) of every scored resource
        (upstream's calculateResourceAllocatableRequest; left out: allocatable 0)."""
        out = []
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
                else node_info.requested
            )
            out.append((used.get(name, 0) + want, capacity, weight))
        return out

    def score(self, state: CycleState, pod, node_info: NodeInfo) -> tuple[int, Status]:
        try:
            requests = state.read(_PRE_SCORE_KEY)
        except KeyError:
            requests = self.pod_scoring_requests(pod)
        weighted = self.requested_and_allocatable(requests, node_info)
        if self.scoring_strategy == REQUESTED_TO_CAPACITY_RATIO:
            return requested_to_capacity_ratio_score(scaled_shape(self.shape), weighted), SUCCESS
        scorer = _SCORERS[self.scoring_strategy]
        total = weight_sum = 0
        for requested, capacity, weight in weighted:
            total += scorer(requested, capacity) * weight
            weight_sum += weight
        return (total // weight_sum if weight_sum else 0), SUCCESS

    def score_extensions(self) -> None:
        return None


_SCORERS: dict[str, Callable[[int, int], int]] = {
    LEAST_ALLOCATED: least_requested_score,
    MOST_ALLOCATED: most_requested_score,
}


# -- args ----------------------------------------------------------------------------------------


def default_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """SetDefaults_NodeResourcesFitArgs (v1): a strategy without a type stays typeless (and
    is rejected), empty resources become cpu and memory, a missing or zero weight is 1."""
    out = dict(args)
    strategy = out.get("scoringStrategy")
    if isinstance(strategy, Mapping):
        strategy = dict(strategy)
        strategy.setdefault("type", "")
        items = strategy.get("resources")
        if isinstance(items, list):
            strategy["resources"] = [
                {**item, "weight": item.get("weight") or 1}
                if isinstance(item, Mapping) and item.get("weight") in (None, 0)
                else item
                for item in items
            ]
        out["scoringStrategy"] = strategy
    return out


def _resources(value: Any, path: str, errors: list[FieldError]) -> list[tuple[str, int]]:
    """validateResources: every weight in (0, 100]."""
    weighted = []
    for i, item in enumerate(read_list(value, path, errors)):
        at = f"{path}[{i}]"
        entry = read_object(item, at, ("name", "weight"), errors)
        if entry is None:
            continue
        name = read_str(entry.get("name"), f"{at}.name", errors)
        if not name:
            errors.append(required(f"{at}.name"))
            continue
        raw = entry.get("weight")
        weight = 1 if raw is None else read_int(raw, f"{at}.weight", errors)
        if weight is None:
            continue
        if not 0 < weight <= MAX_NODE_SCORE:
            errors.append(
                invalid(
                    f"{at}.weight",
                    weight,
                    f"resource weight of {name} not in valid range (0, {MAX_NODE_SCORE}]",
                )
            )
        weighted.append((name, weight))
    return weighted


def validate_shape(value: Any, path: str, errors: list[FieldError]) -> list[tuple[int, int]]:
    """validateFunctionShape: at least one point, utilizations increasing within [0, 100],
    scores within [0, 10]."""
    points = []
    for i, item in enumerate(read_list(value, path, errors)):
        at = f"{path}[{i}]"
        entry = read_object(item, at, ("utilization", "score"), errors)
        if entry is None:
            continue
        utilization = read_int(entry.get("utilization", 0), f"{at}.utilization", errors)
        score = read_int(entry.get("score", 0), f"{at}.score", errors)
        if utilization is not None and score is not None:
            points.append((utilization, score))
    if errors:
        return points
    if not points:
        errors.append(required(path, "at least one point must be specified"))
        return points
    for i in range(1, len(points)):
        if points[i - 1][0] >= points[i][0]:
            errors.append(
                invalid(
                    f"{path}[{i}].utilization",
                    points[i][0],
                    "values must be sorted in increasing order",
                )
            )
            break
    for i, (utilization, score) in enumerate(points):
        if not 0 <= utilization <= MAX_UTILIZATION:
            errors.append(
                invalid(
                    f"{path}[{i}].utilization",
                    utilization,
                    f"not in valid range [0, {MAX_UTILIZATION}]",
                )
            )
        if not 0 <= score <= MAX_CUSTOM_PRIORITY_SCORE:
            errors.append(
                invalid(
                    f"{path}[{i}].score",
                    score,
                    f"not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]",
                )
            )
    return points


def _ignored(args: Mapping[str, Any], errors: list[FieldError]) -> tuple[list[str], list[str]]:
    names, groups = [], []
    for i, item in enumerate(read_list(args.get("ignoredResources"), "ignoredResources", errors)):
        name = read_str(item, f"ignoredResources[{i}]", errors)
        if name is not None:
            errors.extend(validate_label_name(name, f"ignoredResources[{i}]"))
            names.append(name)
    items = read_list(args.get("ignoredResourceGroups"), "ignoredResourceGroups", errors)
    for i, item in enumerate(items):
        at = f"ignoredResourceGroups[{i}]"
        group = read_str(item, at, errors)
        if group is None:
            continue
        if "/" in group:
            errors.append(invalid(at, group, "resource group name can't contain '/'"))
        errors.extend(validate_label_name(group, at))
        groups.append(group)
    return names, groups


def new(args: Any, handle: Handle) -> NodeResourcesFit:
    """``args``: None, or NodeResourcesFitArgs in camelCase (``scoringStrategy: {type,
    resources: [{name, weight}], requestedToCapacityRatio: {shape: [{utilization, score}]}}``,
    ``ignoredResources``, ``ignoredResourceGroups``); every problem is reported at once,
    each naming its field path. A strategy without a type is LeastAllocated here."""
    if not args:
        return NodeResourcesFit()
    errors: list[FieldError] = []
    data = read_object(
        args, "", ("scoringStrategy", "ignoredResources", "ignoredResourceGroups"), errors
    )
    if data is None:
        raise field_errors(errors)
    names, groups = _ignored(data, errors)
    strategy = read_object(
        data.get("scoringStrategy"),
        "scoringStrategy",
        ("type", "resources", "requestedToCapacityRatio"),
        errors,
    )
    strategy = strategy or {}
    kind = strategy.get("type", LEAST_ALLOCATED)
    if kind not in STRATEGIES:
        errors.append(not_supported("scoringStrategy.type", kind, STRATEGIES))
    weighted = _resources(strategy.get("resources"), "scoringStrategy.resources", errors)
    shape: list[tuple[int, int]] = []
    ratio = strategy.get("requestedToCapacityRatio")
    at = "scoringStrategy.requestedToCapacityRatio"
    if kind == REQUESTED_TO_CAPACITY_RATIO:
        if ratio is None:
            errors.append(required(at, "must be specified when type is RequestedToCapacityRatio"))
        else:
            ratio = read_object(ratio, at, ("shape",), errors)
            if ratio is not None:
                shape = validate_shape(ratio.get("shape"), f"{at}.shape", errors)
    elif ratio is not None:
        errors.append(forbidden(at, "must be nil when type is not RequestedToCapacityRatio"))
    if errors:
        raise field_errors(errors)
    return NodeResourcesFit(
        scoring_strategy=kind,
        resources=tuple(weighted) or DEFAULT_RESOURCES,
        shape=tuple(shape),
        ignored_resources=frozenset(names),
        ignored_resource_groups=frozenset(groups),
    )
