"""``kubeprop schedule --explain -o json`` on upstream's own published score examples.

Each case is transcribed as facts from the table tests of kube-scheduler's score
plugins in kubernetes/kubernetes (pkg/scheduler/framework/plugins/<plugin>/*_test.go):
the nodes, the pods already bound, the pod to place and upstream's expected
per-node score after NormalizeScore. The case becomes YAML files (nodes, pods,
and a KubeSchedulerConfiguration enabling only that score plugin, with the
filters off so that every node is scored), the command runs in this process,
and ``scores[node][plugin]`` of the explanation must equal upstream's number.

Transcription rules (upstream's test objects are not all valid API objects):
- A pod without containers upstream gets one container with explicit zero
  cpu/memory requests: the API requires a container, and an explicit zero keeps
  the scoring non-zero defaults (100m / 200Mi, applied only to absent requests)
  out, exactly as for a pod without containers.
- Nameless pods get names (p0, p1, ...) and upstream's node names that the API
  would refuse (nodeA, upper case) are written in lower case (node-a); upstream's pod to schedule sometimes has
  spec.nodeName set (it is ignored by the score functions) and here has none,
  since a pod with spec.nodeName is an existing pod for ``kubeprop schedule``.
- Nodes that upstream lists as having failed filtering (``failedNodes``) are marked
  ``spec.unschedulable`` and the NodeUnschedulable filter is enabled.
- Cases the API server would refuse are left out: podtopologyspread's "two
  Constraints on zone, 2 out of 4 nodes are candidates" gives one pod two
  constraints with the same topologyKey and whenUnsatisfiable, which pod
  validation rejects as a Duplicate value. A Service gets the port the API
  requires.
- Upstream's namespaces "subteam1.team1" (dots are not allowed in a namespace
  name) are written "subteam1-team1"; upstream's pods without a namespace (the
  empty namespace) are in "default", so the empty string in a term's
  ``namespaces`` list is written "default".
- When the framework skips a plugin in PreScore (nothing to score), upstream's
  plugin-level test still reports 0 per node; the whole cycle leaves the plugin
  out of ``scores``, which is what these cases check (``SKIPPED``).

A case whose plugin (or strategy, or argument) is not modelled yet is skipped
with the reason; it runs as soon as the plugin lands.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import attrs
import pytest
import yaml

from kubeprop import cli, schedule
from kubeprop.reference.scheduler.framework import InvalidInput, Profile
from kubeprop.reference.scheduler.plugins import REGISTRY
from kubeprop.spec.api.base import FrozenMap

BASE = "https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/"
SKIPPED = None  # the plugin's PreScore says Skip: it is not in the explanation's scores
HOSTNAME = "kubernetes.io/hostname"
MB = 1024 * 1024
NO_CONTAINERS = ({"cpu": "0", "memory": "0"},)  # see the module docstring
BARE = (None,)  # one container stating no requests (st.MakePod().Container(...))


# -- manifests, shaped like upstream's st.MakeNode / st.MakePod ----------------------------


def node(name, capacity=None, *, labels=None, taints=(), images=(), unschedulable=False):
    manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    if labels:
        manifest["metadata"]["labels"] = dict(labels)
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    if spec:
        manifest["spec"] = spec
    status: dict[str, Any] = {}
    if capacity is not None:
        status["capacity"] = status["allocatable"] = {k: str(v) for k, v in capacity.items()}
    if images:
        status["images"] = [{"names": list(n), "sizeBytes": size} for n, size in images]
    if status:
        manifest["status"] = status
    return manifest


def make_node(name, milli_cpu, memory, extended=None):
    """Upstream's noderesources makeNode: cpu in millicores, memory in bytes."""
    capacity = {"cpu": f"{milli_cpu}m", "memory": str(memory), **(extended or {})}
    return node(name, capacity)


def pod(
    name="p",
    *,
    on=None,
    requests=NO_CONTAINERS,
    images=None,
    init_images=(),
    labels=None,
    namespace=None,
    tolerations=(),
    affinity=None,
    spread=(),
):
    if images is not None:
        containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    else:
        containers = []
        for i, r in enumerate(requests):
            container: dict[str, Any] = {"name": f"c{i}", "image": "registry.k8s.io/pause:3.10"}
            if r is not None:
                container["resources"] = {"requests": {k: str(v) for k, v in r.items()}}
            containers.append(container)
    spec: dict[str, Any] = {"containers": containers}
    if init_images:
        spec["initContainers"] = [
            {"name": f"init{i}", "image": image} for i, image in enumerate(init_images)
        ]
    if on:
        spec["nodeName"] = on
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if affinity:
        spec["affinity"] = affinity
    if spread:
        spec["topologySpreadConstraints"] = list(spread)
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def existing(*placements, **common):
    """Bound pods p0, p1, ... : each placement is a node name or (node name, pod keywords)."""
    pods = []
    for i, placement in enumerate(placements):
        where, extra = (placement, {}) if isinstance(placement, str) else placement
        pods.append(pod(f"p{i}", on=where, **{**common, **extra}))
    return pods


def taint(key, value, effect):
    return {"key": key, "value": value, "effect": effect}


def toleration(key, value, effect):
    return {"key": key, "operator": "Equal", "value": value, "effect": effect}


def term(weight, *requirements):
    return {
        "weight": weight,
        "preference": {
            "matchExpressions": [
                {"key": k, "operator": "In", "values": list(v)} for k, v in requirements
            ]
        },
    }


def node_affinity(*terms):
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def spread(max_skew, key, selector):
    constraint: dict[str, Any] = {
        "maxSkew": max_skew,
        "topologyKey": key,
        "whenUnsatisfiable": "ScheduleAnyway",
    }
    if selector is not None:
        constraint["labelSelector"] = {
            "matchExpressions": [{"key": selector, "operator": "Exists"}]
        }
    return constraint


def pod_term(weight, key, expressions):
    return {
        "weight": weight,
        "podAffinityTerm": {
            "labelSelector": {"matchExpressions": list(expressions)},
            "topologyKey": key,
        },
    }


def security_in(*values):
    return {"key": "security", "operator": "In", "values": list(values)}


# -- the cases --------------------------------------------------------------------------------


@attrs.frozen
class Case:
    name: str
    source: str  # the upstream test file
    plugin: str
    nodes: tuple
    pod: dict
    want: dict  # node -> normalised score, or SKIPPED
    existing: tuple = ()
    objects: tuple = ()  # Namespaces, Services, ...
    args: Any = None  # the plugin's pluginConfig args
    filters: tuple = ()  # filter plugins left on (NodeUnschedulable for failed nodes)
    args_matter: bool = False  # the args change the plugin (a plugin ignoring them: skip)


LEAST = {"scoringStrategy": {"type": "LeastAllocated", "resources": [
    {"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}}  # fmt: skip
MOST = {"scoringStrategy": {"type": "MostAllocated", "resources": [
    {"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}}  # fmt: skip
EXT = "abc.com/xyz"  # upstream's extendedRes


def strategy(kind, resources, shape=None):
    scoring: dict[str, Any] = {
        "type": kind,
        "resources": [{"name": n, "weight": w} for n, w in resources],
    }
    if shape is not None:
        scoring["requestedToCapacityRatio"] = {
            "shape": [{"utilization": u, "score": s} for u, s in shape]
        }
    return {"scoringStrategy": scoring}


EXTENDED_SET = (("cpu", 1), ("memory", 1), (EXT, 1))
TWO_BY_4000 = (
    node("node1", {"cpu": "4000", "memory": "10000"}),
    node("node2", {"cpu": "4000", "memory": "10000"}),
)
THREE_AND_FIVE = pod(
    requests=({"cpu": "1000", "memory": "2000"}, {"cpu": "2000", "memory": "3000"})
)


def _fit_cases(source, args, expected):
    """The cases LeastAllocated and MostAllocated share, with each strategy's numbers."""
    e = expected
    yield Case(
        "nothing scheduled, nothing requested", source, "NodeResourcesFit",
        TWO_BY_4000, pod(), {"node1": e[0][0], "node2": e[0][1]}, args=args,
    )  # fmt: skip
    yield Case(
        "nothing scheduled, resources requested, differently sized nodes", source,
        "NodeResourcesFit",
        (node("node1", {"cpu": "4000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000"})),
        THREE_AND_FIVE, {"node1": e[1][0], "node2": e[1][1]}, args=args,
    )  # fmt: skip
    yield Case(
        "no resources requested, pods scheduled with resources", source, "NodeResourcesFit",
        (node("node1", {"cpu": "10000", "memory": "20000"}),
         node("node2", {"cpu": "10000", "memory": "20000"})),
        pod(), {"node1": e[2][0], "node2": e[2][1]},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=args,
    )  # fmt: skip
    yield Case(
        "resources requested, pods scheduled with resources", source, "NodeResourcesFit",
        (node("node1", {"cpu": "10000", "memory": "20000"}),
         node("node2", {"cpu": "10000", "memory": "20000"})),
        THREE_AND_FIVE, {"node1": e[3][0], "node2": e[3][1]},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=args,
    )  # fmt: skip
    yield Case(
        "nothing scheduled, resources requested with memory weighing twice cpu", source,
        "NodeResourcesFit",
        (node("node1", {"cpu": "4000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000"})),
        THREE_AND_FIVE, {"node1": e[4][0], "node2": e[4][1]},
        args=strategy(args["scoringStrategy"]["type"], (("memory", 2), ("cpu", 1))),
    )  # fmt: skip
    yield Case(
        "an extended resource the pod does not request is left out", source, "NodeResourcesFit",
        (node("node1", {"cpu": "6000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"})),
        THREE_AND_FIVE, {"node1": 50, "node2": 50},
        args=strategy(args["scoringStrategy"]["type"], EXTENDED_SET),
    )  # fmt: skip
    yield Case(
        "an extended resource the pod requests is scored", source, "NodeResourcesFit",
        (node("node1", {"cpu": "6000", "memory": "10000", EXT: "4"}),
         node("node2", {"cpu": "6000", "memory": "10000", EXT: "10"})),
        pod(requests=({"cpu": "3000", "memory": "5000", EXT: "2"},)),
        {"node1": e[5][0], "node2": e[5][1]},
        args=strategy(args["scoringStrategy"]["type"], EXTENDED_SET),
    )  # fmt: skip
    yield Case(
        "a node without a weighted resource is scored on the others", source,
        "NodeResourcesFit",
        (node("node1", {"cpu": "6000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"})),
        pod(requests=({"cpu": "3000", "memory": "4000"},)),
        {"node1": e[6][0], "node2": e[6][1]},
        args=strategy(args["scoringStrategy"]["type"], ((EXT, 2), ("cpu", 1), ("memory", 1))),
    )  # fmt: skip


LEAST_ALLOCATED = "noderesources/least_allocated_test.go"
MOST_ALLOCATED = "noderesources/most_allocated_test.go"
RTCR = "noderesources/requested_to_capacity_ratio_test.go"
BALANCED = "noderesources/balanced_allocation_test.go"
TAINTS = "tainttoleration/taint_toleration_test.go"
NODE_AFFINITY = "nodeaffinity/node_affinity_test.go"
IMAGES = "imagelocality/image_locality_test.go"
SPREAD = "podtopologyspread/scoring_test.go"
POD_AFFINITY = "interpodaffinity/scoring_test.go"

CASES: list[Case] = []

CASES += _fit_cases(
    LEAST_ALLOCATED,
    LEAST,
    [(100, 100), (37, 50), (70, 57), (57, 45), (41, 50), (50, 60), (55, 55)],
)
CASES += [
    Case(
        "no resources requested, pods scheduled", LEAST_ALLOCATED, "NodeResourcesFit",
        TWO_BY_4000, pod(), {"node1": 100, "node2": 100},
        existing=tuple(existing("node1", "node1", "node2", "node2")), args=LEAST,
    ),
    Case(
        "resources requested, pods scheduled with resources, differently sized nodes",
        LEAST_ALLOCATED, "NodeResourcesFit",
        (node("node1", {"cpu": "10000", "memory": "20000"}),
         node("node2", {"cpu": "10000", "memory": "50000"})),
        THREE_AND_FIVE, {"node1": 57, "node2": 60},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=LEAST,
    ),
    Case(
        "requested resources exceed node capacity", LEAST_ALLOCATED, "NodeResourcesFit",
        TWO_BY_4000, pod(requests=({"cpu": "3000", "memory": "0"},)),
        {"node1": 50, "node2": 25},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=LEAST,
    ),
    Case(
        "zero node resources, pods scheduled with resources", LEAST_ALLOCATED,
        "NodeResourcesFit", (node("node1"), node("node2")), pod(), {"node1": 0, "node2": 0},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "0"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=LEAST,
    ),
]  # fmt: skip

CASES += _fit_cases(
    MOST_ALLOCATED,
    MOST,
    [(0, 0), (62, 50), (30, 42), (42, 55), (58, 50), (50, 40), (45, 45)],
)
CASES += [
    Case(
        "resources requested equal node capacity", MOST_ALLOCATED, "NodeResourcesFit",
        (node("node1", {"cpu": "5000", "memory": "10000"}),
         node("node2", {"cpu": "10000", "memory": "9000"})),
        pod(requests=({"cpu": "2000", "memory": "4000"}, {"cpu": "3000", "memory": "5000"})),
        {"node1": 95, "node2": 75}, args=MOST,
    ),
    Case(
        "no resources requested, pods scheduled, nonzero request for resource", MOST_ALLOCATED,
        "NodeResourcesFit",
        (node("node1", {"cpu": "250m", "memory": "1000Mi"}),
         node("node2", {"cpu": "250m", "memory": "1000Mi"})),
        pod(requests=BARE), {"node1": 80, "node2": 30},
        existing=tuple(existing("node1", "node1", requests=BARE)), args=MOST,
    ),
]  # fmt: skip

SHAPE_10_0 = ((0, 10), (100, 0))
SHAPE_0_1 = ((0, 0), (100, 1))
RTCR_DEFAULT = strategy("RequestedToCapacityRatio", (("cpu", 1), ("memory", 1)), SHAPE_10_0)
RTCR_FOO = strategy("RequestedToCapacityRatio", (("intel.com/foo", 1),), SHAPE_0_1)
RTCR_FOO_BAR = strategy(
    "RequestedToCapacityRatio", (("intel.com/foo", 3), ("intel.com/bar", 5)), SHAPE_0_1
)
MEMORY_10000MI = 10000 * MB
FOO_NODES = (
    make_node("node1", 4000, MEMORY_10000MI, {"intel.com/foo": "8"}),
    make_node("node2", 4000, MEMORY_10000MI, {"intel.com/foo": "4"}),
)
FOO_BAR_NODES = (
    make_node("node1", 4000, MEMORY_10000MI, {"intel.com/foo": "8", "intel.com/bar": "4"}),
    make_node("node2", 4000, MEMORY_10000MI, {"intel.com/foo": "4", "intel.com/bar": "8"}),
)
CASES += [
    Case(
        "nothing scheduled, nothing requested (least requested nodes have priority)", RTCR,
        "NodeResourcesFit", TWO_BY_4000, pod(), {"node1": 100, "node2": 100},
        existing=tuple(existing("node1", "node1")), args=RTCR_DEFAULT,
    ),
    Case(
        "nothing scheduled, resources requested, differently sized nodes (least requested "
        "nodes have priority)", RTCR, "NodeResourcesFit",
        (node("node1", {"cpu": "4000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000"})),
        THREE_AND_FIVE, {"node1": 38, "node2": 50},
        existing=tuple(existing("node1", "node1")), args=RTCR_DEFAULT,
    ),
    Case(
        "no resources requested, pods scheduled with resources (least requested nodes have "
        "priority)", RTCR, "NodeResourcesFit",
        (node("node1", {"cpu": "4000", "memory": "10000"}),
         node("node2", {"cpu": "6000", "memory": "10000"})),
        pod(), {"node1": 38, "node2": 50},
        existing=tuple(existing(
            ("node1", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
            ("node2", {"requests": ({"cpu": "3000", "memory": "5000"},)}),
        )),
        args=RTCR_DEFAULT,
    ),
    Case(
        "one extended resource: nothing requested", RTCR, "NodeResourcesFit", FOO_NODES,
        pod(), {"node1": 0, "node2": 0}, args=RTCR_FOO,
    ),
    Case(
        "one extended resource: requested, pods scheduled with less resources", RTCR,
        "NodeResourcesFit", FOO_NODES, pod(requests=({"intel.com/foo": "2"},)),
        {"node1": 2, "node2": 5}, args=RTCR_FOO,
    ),
    Case(
        "one extended resource: requested, on a node with an existing pod running", RTCR,
        "NodeResourcesFit", FOO_NODES, pod(requests=({"intel.com/foo": "2"},)),
        {"node1": 2, "node2": 10},
        existing=tuple(existing(("node2", {"requests": ({"intel.com/foo": "2"},)}))),
        args=RTCR_FOO,
    ),
    Case(
        "one extended resource: requested, pods scheduled with more resources", RTCR,
        "NodeResourcesFit", FOO_NODES, pod(requests=({"intel.com/foo": "4"},)),
        {"node1": 5, "node2": 10}, args=RTCR_FOO,
    ),
    Case(
        "two weighted extended resources: nothing requested", RTCR, "NodeResourcesFit",
        FOO_BAR_NODES, pod(), {"node1": 0, "node2": 0}, args=RTCR_FOO_BAR,
    ),
    Case(
        "two weighted extended resources: requested, pods scheduled with less resources", RTCR,
        "NodeResourcesFit", FOO_BAR_NODES,
        pod(requests=({"intel.com/foo": "2", "intel.com/bar": "2"},)),
        {"node1": 4, "node2": 3}, args=RTCR_FOO_BAR,
    ),
    Case(
        "two weighted extended resources: on a node with an existing pod running", RTCR,
        "NodeResourcesFit", FOO_BAR_NODES,
        pod(requests=({"intel.com/foo": "2", "intel.com/bar": "2"},)),
        {"node1": 4, "node2": 7},
        existing=tuple(existing(
            ("node2", {"requests": ({"intel.com/foo": "4", "intel.com/bar": "2"},)}))),
        args=RTCR_FOO_BAR,
    ),
    Case(
        "two weighted extended resources: requested, pods scheduled with more resources", RTCR,
        "NodeResourcesFit", FOO_BAR_NODES,
        pod(requests=({"intel.com/foo": "4", "intel.com/bar": "2"},)),
        {"node1": 5, "node2": 5}, args=RTCR_FOO_BAR,
    ),
]  # fmt: skip

CPU_AND_MEMORY = ({"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000"})
CPU_ONLY = ({"cpu": "1000m", "memory": "0"}, {"cpu": "2000m", "memory": "0"})
CPU_MEMORY_GPU = ({"cpu": "1000m", "memory": "2000"},
                  {"cpu": "2000m", "memory": "3000", "nvidia.com/gpu": "3"})  # fmt: skip
GPU_SET = {"resources": [{"name": n, "weight": 1} for n in ("cpu", "memory", "nvidia.com/gpu")]}
BALANCED_ARGS = {"resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}
CPU_ONLY_ON_1_CPU_MEMORY_ON_2 = tuple(existing(
    ("node1", {"requests": CPU_ONLY}), ("node2", {"requests": CPU_AND_MEMORY})))  # fmt: skip
CASES += [
    Case(
        "nothing scheduled, nothing requested: skipped in PreScore", BALANCED,
        "NodeResourcesBalancedAllocation",
        (make_node("node1", 4000, 10000), make_node("node2", 4000, 10000)),
        pod(), {"node1": SKIPPED, "node2": SKIPPED}, args=BALANCED_ARGS,
    ),
    Case(
        "nothing scheduled, resources requested, differently sized nodes", BALANCED,
        "NodeResourcesBalancedAllocation",
        (make_node("node1", 4000, 10000), make_node("node2", 6000, 10000)),
        pod(requests=CPU_AND_MEMORY), {"node1": 87, "node2": 100}, args=BALANCED_ARGS,
    ),
    Case(
        "resources requested, pods scheduled with resources", BALANCED,
        "NodeResourcesBalancedAllocation",
        (make_node("node1", 10000, 20000), make_node("node2", 10000, 20000)),
        pod(requests=CPU_AND_MEMORY), {"node1": 82, "node2": 95},
        existing=CPU_ONLY_ON_1_CPU_MEMORY_ON_2, args=BALANCED_ARGS,
    ),
    Case(
        "resources requested, pods scheduled with resources, differently sized nodes",
        BALANCED, "NodeResourcesBalancedAllocation",
        (make_node("node1", 10000, 20000), make_node("node2", 10000, 50000)),
        pod(requests=CPU_AND_MEMORY), {"node1": 82, "node2": 80},
        existing=CPU_ONLY_ON_1_CPU_MEMORY_ON_2, args=BALANCED_ARGS,
    ),
    Case(
        "requested resources at node capacity", BALANCED, "NodeResourcesBalancedAllocation",
        (make_node("node1", 6000, 10000), make_node("node2", 6000, 10000)),
        pod(requests=CPU_ONLY), {"node1": 50, "node2": 75},
        existing=CPU_ONLY_ON_1_CPU_MEMORY_ON_2, args=BALANCED_ARGS,
    ),
    Case(
        "include scalar resource on a node for balanced resource allocation", BALANCED,
        "NodeResourcesBalancedAllocation",
        (make_node("node1", 3500, 40000, {"nvidia.com/gpu": "8"}),
         make_node("node2", 3500, 40000, {"nvidia.com/gpu": "8"})),
        pod(requests=({"memory": "0", "nvidia.com/gpu": "1"},)), {"node1": 70, "node2": 65},
        existing=tuple(existing(
            ("node2", {"requests": CPU_AND_MEMORY}), ("node1", {"requests": CPU_MEMORY_GPU}))),
        args=GPU_SET,
    ),
    Case(
        "node without the scalar resource should skip the scalar resource", BALANCED,
        "NodeResourcesBalancedAllocation",
        (make_node("node1", 3500, 40000, {"nvidia.com/gpu": "8"}),
         make_node("node2", 3500, 40000)),
        pod(requests=CPU_AND_MEMORY), {"node1": 63, "node2": 63}, args=GPU_SET,
    ),
]  # fmt: skip

PREFER = "PreferNoSchedule"
CASES += [
    Case(
        "node with taints tolerated by the pod, gets a higher score than those node with "
        "intolerable taints", TAINTS, "TaintToleration",
        (node("node-a", taints=(taint("foo", "bar", PREFER),)),
         node("node-b", taints=(taint("foo", "blah", PREFER),))),
        pod(tolerations=(toleration("foo", "bar", PREFER),)), {"node-a": 100, "node-b": 0},
    ),
    Case(
        "the nodes that all of their taints are tolerated by the pod, get the same score, no "
        "matter how many tolerable taints a node has", TAINTS, "TaintToleration",
        (node("node-a"),
         node("node-b", taints=(taint("cpu-type", "arm64", PREFER),)),
         node("node-c", taints=(taint("cpu-type", "arm64", PREFER),
                               taint("disk-type", "ssd", PREFER)))),
        pod(tolerations=(toleration("cpu-type", "arm64", PREFER),
                         toleration("disk-type", "ssd", PREFER))),
        {"node-a": 100, "node-b": 100, "node-c": 100},
    ),
    Case(
        "the more intolerable taints a node has, the lower score it gets", TAINTS,
        "TaintToleration",
        (node("node-a"),
         node("node-b", taints=(taint("cpu-type", "arm64", PREFER),)),
         node("node-c", taints=(taint("cpu-type", "arm64", PREFER),
                               taint("disk-type", "ssd", PREFER)))),
        pod(tolerations=(toleration("foo", "bar", PREFER),)),
        {"node-a": 100, "node-b": 50, "node-c": 0},
    ),
    Case(
        "only taints and tolerations that have effect PreferNoSchedule are checked by "
        "taints-tolerations priority function", TAINTS, "TaintToleration",
        (node("node-a"),
         node("node-b", taints=(taint("cpu-type", "arm64", "NoSchedule"),)),
         node("node-c", taints=(taint("cpu-type", "arm64", PREFER),
                               taint("disk-type", "ssd", PREFER)))),
        pod(tolerations=(toleration("cpu-type", "arm64", "NoSchedule"),
                         toleration("disk-type", "ssd", "NoSchedule"))),
        {"node-a": 100, "node-b": 100, "node-c": 0},
    ),
    Case(
        "default behaviour: no taints and tolerations, lands on node with no taints", TAINTS,
        "TaintToleration",
        (node("node-a"), node("node-b", taints=(taint("cpu-type", "arm64", PREFER),))),
        pod(), {"node-a": 100, "node-b": 0},
    ),
]  # fmt: skip

LABEL1 = {"foo": "bar"}
LABEL2 = {"key": "value"}
LABEL3 = {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}
AFFINITY1 = node_affinity(term(2, ("foo", ["bar"])))
AFFINITY2 = node_affinity(
    term(2, ("foo", ["bar"])),
    term(4, ("key", ["value"])),
    term(5, ("foo", ["bar"]), ("key", ["value"]), ("az", ["az1"])),
)
CASES += [
    Case(
        "all nodes are same priority as NodeAffinity is nil: skipped in PreScore",
        NODE_AFFINITY, "NodeAffinity",
        (node("node1", labels=LABEL1), node("node2", labels=LABEL2),
         node("node3", labels=LABEL3)),
        pod(), {"node1": SKIPPED, "node2": SKIPPED, "node3": SKIPPED},
    ),
    Case(
        "no node matches preferred scheduling requirements in NodeAffinity of pod so all "
        "nodes' priority is zero", NODE_AFFINITY, "NodeAffinity",
        (node("node1", labels=LABEL4), node("node2", labels=LABEL2),
         node("node3", labels=LABEL3)),
        pod(affinity=AFFINITY1), {"node1": 0, "node2": 0, "node3": 0},
    ),
    Case(
        "only node1 matches the preferred scheduling requirements of pod", NODE_AFFINITY,
        "NodeAffinity",
        (node("node1", labels=LABEL1), node("node2", labels=LABEL2),
         node("node3", labels=LABEL3)),
        pod(affinity=AFFINITY1), {"node1": 100, "node2": 0, "node3": 0},
    ),
    Case(
        "all nodes matches the preferred scheduling requirements of pod but with different "
        "priorities", NODE_AFFINITY, "NodeAffinity",
        (node("node1", labels=LABEL1), node("node5", labels=LABEL5),
         node("node2", labels=LABEL2)),
        pod(affinity=AFFINITY2), {"node1": 18, "node5": 100, "node2": 36},
    ),
    Case(
        "added affinity", NODE_AFFINITY, "NodeAffinity",
        (node("node1", labels=LABEL1), node("node2", labels=LABEL2)),
        pod(), {"node1": 100, "node2": 0},
        args={"addedAffinity": AFFINITY1["nodeAffinity"]}, args_matter=True,
    ),
    Case(
        "added affinity and pod has default affinity", NODE_AFFINITY, "NodeAffinity",
        (node("node1", labels=LABEL1), node("node2", labels=LABEL2),
         node("node3", labels=LABEL5)),
        pod(affinity=AFFINITY1), {"node1": 40, "node2": 60, "node3": 100},
        args={"addedAffinity": node_affinity(term(3, ("key", ["value"])))["nodeAffinity"]},
        args_matter=True,
    ),
]  # fmt: skip


def images_node(name, *images):
    return node(name, images=tuple((names, size * MB) for names, size in images))


NODE_40_300_2000 = (
    (("gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"), 40),
    (("gcr.io/300:latest", "gcr.io/300:v1"), 300),
    (("gcr.io/2000:latest",), 2000),
)
NODE_250_10 = ((("gcr.io/250:latest",), 250), (("gcr.io/10:latest", "gcr.io/10:v1"), 10))
NODE_600_40_900 = (
    (("gcr.io/600:latest",), 600), (("gcr.io/40:latest",), 40), (("gcr.io/900:latest",), 900))  # fmt: skip
NODE_300_600_900 = (
    (("gcr.io/300:latest",), 300), (("gcr.io/600:latest",), 600),
    (("gcr.io/900:latest",), 900))  # fmt: skip
NODE_4000_30 = ((("gcr.io/4000:latest",), 4000), (("gcr.io/30:latest",), 30))
NODE_20_30_40 = (
    (("gcr.io/20:latest",), 20), (("gcr.io/30:latest",), 30), (("gcr.io/40:latest",), 40))  # fmt: skip
CASES += [
    Case(
        "two images spread on two nodes, prefer the larger image one", IMAGES, "ImageLocality",
        (images_node("node1", *NODE_40_300_2000), images_node("node2", *NODE_250_10)),
        pod(images=("gcr.io/40", "gcr.io/250")), {"node1": 0, "node2": 5},
    ),
    Case(
        "two images on one node, prefer this node", IMAGES, "ImageLocality",
        (images_node("node1", *NODE_40_300_2000), images_node("node2", *NODE_250_10)),
        pod(images=("gcr.io/40", "gcr.io/300")), {"node1": 7, "node2": 0},
    ),
    Case(
        "if exceed limit, use limit", IMAGES, "ImageLocality",
        (images_node("node1", *NODE_4000_30), images_node("node2", *NODE_250_10)),
        pod(images=("gcr.io/10", "gcr.io/4000")), {"node1": 100, "node2": 0},
    ),
    Case(
        "if exceed limit, use limit (with node which has no images present)", IMAGES,
        "ImageLocality",
        (images_node("node1", *NODE_4000_30), images_node("node2", *NODE_250_10),
         images_node("node3")),
        pod(images=("gcr.io/10", "gcr.io/4000")), {"node1": 66, "node2": 0, "node3": 0},
    ),
    Case(
        "pod with multiple large images, node2 is preferred", IMAGES, "ImageLocality",
        (images_node("node1", *NODE_600_40_900), images_node("node2", *NODE_300_600_900),
         images_node("node3")),
        pod(images=("gcr.io/300", "gcr.io/600", "gcr.io/900")),
        {"node1": 32, "node2": 36, "node3": 0},
    ),
    Case(
        "pod with multiple small images", IMAGES, "ImageLocality",
        (images_node("node1", *NODE_20_30_40), images_node("node2", *NODE_4000_30)),
        pod(images=("gcr.io/30", "gcr.io/40")), {"node1": 1, "node2": 0},
    ),
    Case(
        "include InitContainers: two images spread on two nodes, prefer the larger image one",
        IMAGES, "ImageLocality",
        (images_node("node1", *NODE_40_300_2000), images_node("node2", *NODE_20_30_40)),
        pod(images=("gcr.io/30",), init_images=("gcr.io/300",)), {"node1": 6, "node2": 0},
    ),
]  # fmt: skip


def hosts(*names, zone=None, failed=(), extra=None):
    """Nodes labelled with their hostname (and a zone); ``failed`` ones fail filtering."""
    out = []
    for name in names:
        labels = {HOSTNAME: name}
        if zone is not None:
            labels["zone"] = zone[name]
        labels.update((extra or {}).get(name, {}))
        out.append(node(name, labels=labels, unschedulable=name in failed))
    return tuple(out)


def spread_pods(counts, labels=None):
    """Bound pods p-<node><i> carrying ``labels`` (default foo=""), ``counts``: node -> n."""
    pods = []
    for name, count in counts.items():
        for i in range(count):
            pods.append(pod(f"p-{name}{i + 1}", on=name, labels=labels or {"foo": ""}))
    return tuple(pods)


FOO = {"foo": ""}
SPREAD_POD = pod(labels=FOO, spread=(spread(1, HOSTNAME, "foo"),))
ZONES = {"node-a": "zone1", "node-b": "zone1", "node-x": "zone2", "node-y": "zone2"}
UNSCHEDULABLE = ("NodeUnschedulable",)
FOO_BAR = {"foo": "", "bar": ""}
CASES += [
    Case(
        "one constraint on node, no existing pods", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b"), SPREAD_POD, {"node-a": 100, "node-b": 100},
    ),
    Case(
        "one constraint on node, all nodes have the same number of matching pods", SPREAD,
        "PodTopologySpread", hosts("node-a", "node-b"), SPREAD_POD,
        {"node-a": 100, "node-b": 100}, existing=spread_pods({"node-a": 1, "node-b": 1}),
    ),
    Case(
        "one constraint on node, all 4 nodes are candidates", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-c", "node-d"), SPREAD_POD,
        {"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0},
        existing=spread_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
    ),
    Case(
        "one constraint on node, null selector", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-c", "node-d"),
        pod(labels=FOO, spread=(spread(1, HOSTNAME, None),)),
        {"node-a": 100, "node-b": 100, "node-c": 100, "node-d": 100},
        existing=spread_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
    ),
    Case(
        "one constraint on node, all 4 nodes are candidates, maxSkew=2", SPREAD,
        "PodTopologySpread", hosts("node-a", "node-b", "node-c", "node-d"),
        pod(labels=FOO, spread=(spread(2, HOSTNAME, "foo"),)),
        {"node-a": 33, "node-b": 66, "node-c": 100, "node-d": 16},
        existing=spread_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
    ),
    Case(
        "one constraint on node, all 4 nodes are candidates, maxSkew=3", SPREAD,
        "PodTopologySpread", hosts("node-a", "node-b", "node-c", "node-d"),
        pod(labels=FOO, spread=(spread(3, HOSTNAME, "foo"),)),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
        existing=spread_pods({"node-a": 4, "node-b": 3, "node-c": 2, "node-d": 1}),
    ),
    Case(
        "system defaulting, nodes don't have zone, pods match service", SPREAD,
        "PodTopologySpread", hosts("node-a", "node-b", "node-c", "node-d"), pod(labels=FOO),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
        existing=spread_pods({"node-a": 4, "node-b": 3, "node-c": 2, "node-d": 1}),
        objects=({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                  "spec": {"selector": {"foo": ""}, "ports": [{"port": 80}]}},),
    ),
    Case(
        "one constraint on node, 3 out of 4 nodes are candidates", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-x", "node-y", failed=("node-y",)), SPREAD_POD,
        {"node-a": 33, "node-b": 83, "node-x": 100},
        existing=spread_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
        filters=UNSCHEDULABLE,
    ),
    Case(
        "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match "
        "topology key", SPREAD, "PodTopologySpread",
        (node("node-a", labels={HOSTNAME: "node-a"}), node("node-b", labels={"n": "node-b"}),
         node("node-x", labels={HOSTNAME: "node-x"}),
         node("node-y", labels={HOSTNAME: "node-y"}, unschedulable=True)),
        SPREAD_POD, {"node-a": 16, "node-b": 0, "node-x": 100},
        existing=spread_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
        filters=UNSCHEDULABLE,
    ),
    Case(
        "one constraint on zone, 3 out of 4 nodes are candidates", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-x", "node-y", zone=ZONES, failed=("node-y",)),
        pod(labels=FOO, spread=(spread(1, "zone", "foo"),)),
        {"node-a": 75, "node-b": 75, "node-x": 100},
        existing=spread_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
        filters=UNSCHEDULABLE,
    ),
    Case(
        "two Constraints on zone and node, 2 out of 4 nodes are candidates", SPREAD,
        "PodTopologySpread",
        hosts("node-a", "node-b", "node-x", "node-y", zone=ZONES,
              failed=("node-b", "node-y")),
        pod(labels=FOO, spread=(spread(1, "zone", "foo"), spread(1, HOSTNAME, "foo"))),
        {"node-a": 100, "node-x": 63},
        existing=spread_pods({"node-a": 2, "node-b": 1, "node-x": 2, "node-y": 4}),
        filters=UNSCHEDULABLE,
    ),
    Case(
        "two Constraints on zone and node, with different labelSelectors", SPREAD,
        "PodTopologySpread", hosts("node-a", "node-b", "node-x", "node-y", zone=ZONES),
        pod(labels=FOO_BAR, spread=(spread(1, "zone", "foo"), spread(1, HOSTNAME, "bar"))),
        {"node-a": 60, "node-b": 20, "node-x": 100, "node-y": 60},
        existing=(pod("p-a1", on="node-a", labels=FOO), pod("p-b1", on="node-b", labels=FOO_BAR),
                  pod("p-y1", on="node-y", labels=FOO),
                  pod("p-y2", on="node-y", labels={"bar": ""})),
    ),
    Case(
        "two Constraints on zone and node, with different labelSelectors, some nodes have 0 "
        "pods", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-x", "node-y", zone=ZONES),
        pod(labels=FOO_BAR, spread=(spread(1, "zone", "foo"), spread(1, HOSTNAME, "bar"))),
        {"node-a": 100, "node-b": 60, "node-x": 40, "node-y": 0},
        existing=(pod("p-b1", on="node-b", labels={"bar": ""}),
                  pod("p-x1", on="node-x", labels=FOO),
                  pod("p-y1", on="node-y", labels=FOO_BAR)),
    ),
    Case(
        "two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are "
        "candidates", SPREAD, "PodTopologySpread",
        hosts("node-a", "node-b", "node-x", "node-y", zone=ZONES, failed=("node-y",)),
        pod(labels=FOO_BAR, spread=(spread(1, "zone", "foo"), spread(1, HOSTNAME, "bar"))),
        {"node-a": 50, "node-b": 25, "node-x": 100},
        existing=(pod("p-a1", on="node-a", labels=FOO), pod("p-b1", on="node-b", labels=FOO_BAR),
                  pod("p-y1", on="node-y", labels=FOO),
                  pod("p-y2", on="node-y", labels={"bar": ""})),
        filters=UNSCHEDULABLE,
    ),
]  # fmt: skip

S1 = {"security": "S1"}
S2 = {"security": "S2"}
RG_CHINA = {"region": "China"}
RG_INDIA = {"region": "India"}
AZ1 = {"az": "az1"}
AZ2 = {"az": "az2"}
RG_CHINA_AZ1 = {"region": "China", "az": "az1"}
STAY_WITH_S1_IN_REGION = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    pod_term(5, "region", [security_in("S1")])]}}  # fmt: skip
STAY_WITH_S2_IN_REGION = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    pod_term(6, "region", [security_in("S2")])]}}  # fmt: skip
AFFINITY3 = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    pod_term(8, "region", [{"key": "security", "operator": "NotIn", "values": ["S1"]},
                           security_in("S2")]),
    pod_term(2, "region", [{"key": "security", "operator": "Exists"},
                           {"key": "wrongkey", "operator": "DoesNotExist"}]),
]}}  # fmt: skip
HARD_AFFINITY = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchExpressions": [security_in("S1", "value2")]},
     "topologyKey": "region"},
    {"labelSelector": {"matchExpressions": [
        {"key": "security", "operator": "Exists"},
        {"key": "wrongkey", "operator": "DoesNotExist"}]},
     "topologyKey": "region"},
]}}  # fmt: skip
AWAY_FROM_S1_IN_AZ = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    pod_term(5, "az", [security_in("S1")])]}}  # fmt: skip
AWAY_FROM_S2_IN_AZ = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    pod_term(5, "az", [security_in("S2")])]}}  # fmt: skip
STAY_WITH_S1_AWAY_FROM_S2 = {
    "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        pod_term(8, "region", [security_in("S1")])]},
    "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        pod_term(5, "az", [security_in("S2")])]},
}  # fmt: skip


def labelled(*pairs):
    return tuple(node(name, labels=labels) for name, labels in pairs)


def on(*placements):
    """Bound pods p0, p1, ...: (node, labels) or (node, labels, affinity)."""
    out = []
    for i, (where, labels, *rest) in enumerate(placements):
        out.append(pod(f"p{i}", on=where, labels=labels, affinity=rest[0] if rest else None))
    return tuple(out)


CHINA_INDIA_AZ1 = labelled(("node1", RG_CHINA), ("node2", RG_INDIA), ("node3", AZ1))
CASES += [
    Case(
        "all nodes are same priority as Affinity is nil: skipped in PreScore", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1, pod(labels=S1),
        {"node1": SKIPPED, "node2": SKIPPED, "node3": SKIPPED},
    ),
    Case(
        "Affinity: pod that matches topology key & pods in nodes will get high score comparing "
        "to others which doesn't match either pods in nodes or in topology key", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1, pod(labels=S1, affinity=STAY_WITH_S1_IN_REGION),
        {"node1": 100, "node2": 0, "node3": 0},
        existing=on(("node1", S1), ("node2", S2), ("node3", S1)),
    ),
    Case(
        "All the nodes that have the same topology key & label value with one of them has an "
        "existing pod that match the affinity rules, have the same score", POD_AFFINITY,
        "InterPodAffinity",
        labelled(("node1", RG_CHINA), ("node2", RG_CHINA_AZ1), ("node3", RG_INDIA)),
        pod(affinity=STAY_WITH_S1_IN_REGION), {"node1": 100, "node2": 100, "node3": 0},
        existing=on(("node1", S1)),
    ),
    Case(
        "Affinity: nodes in one region has more matching pods comparing to other region, so "
        "the region which has more matches will get high score", POD_AFFINITY,
        "InterPodAffinity",
        labelled(("node1", RG_CHINA), ("node2", RG_INDIA), ("node3", RG_CHINA),
                 ("node4", RG_CHINA), ("node5", RG_INDIA)),
        pod(labels=S1, affinity=STAY_WITH_S2_IN_REGION),
        {"node1": 100, "node2": 0, "node3": 100, "node4": 100, "node5": 0},
        existing=on(("node1", S2), ("node1", S2), ("node2", S2), ("node3", S2), ("node4", S2),
                    ("node5", S2)),
    ),
    Case(
        "Affinity: different Label operators and values for pod affinity scheduling "
        "preference, including some match failures", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA_AZ1, pod(labels=S1, affinity=AFFINITY3),
        {"node1": 20, "node2": 100, "node3": 0},
        existing=on(("node1", S1), ("node2", S2), ("node3", S1)),
    ),
    Case(
        "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution "
        "in pod affinity symmetry", POD_AFFINITY, "InterPodAffinity", CHINA_INDIA_AZ1,
        pod(labels=S2), {"node1": 0, "node2": 100, "node3": 0},
        existing=on(("node1", S1, STAY_WITH_S1_IN_REGION), ("node2", S2, STAY_WITH_S2_IN_REGION)),
    ),
    Case(
        "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod "
        "affinity symmetry", POD_AFFINITY, "InterPodAffinity", CHINA_INDIA_AZ1, pod(labels=S1),
        {"node1": 100, "node2": 100, "node3": 0},
        existing=on(("node1", S1, HARD_AFFINITY), ("node2", S2, HARD_AFFINITY)),
    ),
    Case(
        "Anti Affinity: pod that does not match existing pods in node will get high score",
        POD_AFFINITY, "InterPodAffinity", labelled(("node1", AZ1), ("node2", RG_CHINA)),
        pod(labels=S1, affinity=AWAY_FROM_S1_IN_AZ), {"node1": 0, "node2": 100},
        existing=on(("node1", S1), ("node2", S2)),
    ),
    Case(
        "Anti Affinity: pod that does not match topology key & match the pods in nodes will "
        "get higher score comparing to others", POD_AFFINITY, "InterPodAffinity",
        labelled(("node1", AZ1), ("node2", RG_CHINA)),
        pod(labels=S1, affinity=AWAY_FROM_S1_IN_AZ), {"node1": 0, "node2": 100},
        existing=on(("node1", S1), ("node2", S1)),
    ),
    Case(
        "Anti Affinity: one node has more matching pods comparing to other node, so the node "
        "which has more unmatches will get high score", POD_AFFINITY, "InterPodAffinity",
        labelled(("node1", AZ1), ("node2", RG_INDIA)),
        pod(labels=S1, affinity=AWAY_FROM_S1_IN_AZ), {"node1": 0, "node2": 100},
        existing=on(("node1", S1), ("node1", S1), ("node2", S2)),
    ),
    Case(
        "Anti Affinity symmetry: the existing pods in node which has anti affinity match will "
        "get high score", POD_AFFINITY, "InterPodAffinity",
        labelled(("node1", AZ1), ("node2", AZ2)), pod(labels=S2), {"node1": 0, "node2": 100},
        existing=on(("node1", S1, AWAY_FROM_S2_IN_AZ), ("node2", S2, AWAY_FROM_S1_IN_AZ)),
    ),
    Case(
        "Affinity and Anti Affinity: considered only preferredDuringSchedulingIgnoredDuring"
        "Execution in both pod affinity & anti affinity", POD_AFFINITY, "InterPodAffinity",
        labelled(("node1", RG_CHINA), ("node2", AZ1)),
        pod(labels=S1, affinity=STAY_WITH_S1_AWAY_FROM_S2), {"node1": 100, "node2": 0},
        existing=on(("node1", S1), ("node2", S1)),
    ),
    Case(
        "Affinity and Anti Affinity: considering both affinity and anti-affinity, the pod to "
        "schedule and existing pods have the same labels", POD_AFFINITY, "InterPodAffinity",
        labelled(("node1", RG_CHINA_AZ1), ("node2", RG_INDIA), ("node3", RG_CHINA),
                 ("node4", RG_CHINA), ("node5", RG_INDIA)),
        pod(labels=S1, affinity=STAY_WITH_S1_AWAY_FROM_S2),
        {"node1": 100, "node2": 0, "node3": 100, "node4": 100, "node5": 0},
        existing=on(("node1", S1), ("node1", S1), ("node2", S1), ("node3", S1), ("node3", S1),
                    ("node4", S1), ("node5", S1)),
    ),
    Case(
        "Affinity and Anti Affinity and symmetry: considered only preferredDuringScheduling"
        "IgnoredDuringExecution in both pod affinity & anti affinity & symmetry", POD_AFFINITY,
        "InterPodAffinity",
        labelled(("node1", RG_CHINA), ("node2", AZ1), ("node3", RG_INDIA), ("node4", AZ2)),
        pod(labels=S1, affinity=STAY_WITH_S1_AWAY_FROM_S2),
        {"node1": 100, "node2": 0, "node3": 100, "node4": 0},
        existing=on(("node1", S1), ("node2", S2), ("node3", None, STAY_WITH_S1_AWAY_FROM_S2),
                    ("node4", None, AWAY_FROM_S1_IN_AZ)),
    ),
    Case(
        "Avoid panic when partial nodes in a topology don't have pods with affinity",
        POD_AFFINITY, "InterPodAffinity", labelled(("node1", RG_CHINA), ("node2", RG_CHINA)),
        pod(labels=S1), {"node1": 0, "node2": 0},
        existing=on(("node1", S1), ("node2", None, STAY_WITH_S1_AWAY_FROM_S2)),
    ),
]  # fmt: skip


NAMESPACES = tuple(
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}}
    for name, team in (
        ("subteam1-team1", "team1"),
        ("subteam2-team1", "team1"),
        ("subteam1-team2", "team2"),
        ("subteam2-team2", "team2"),
    )
)


def namespaced_term(weight):
    return {
        "weight": weight,
        "podAffinityTerm": {
            "labelSelector": {"matchExpressions": [security_in("S1")]},
            "topologyKey": "region",
            "namespaces": ["subteam2-team2"],
            "namespaceSelector": {
                "matchExpressions": [{"key": "team", "operator": "In", "values": ["team1"]}]
            },
        },
    }


AFFINITY_NAMESPACE_SELECTOR = {
    "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [namespaced_term(5)]}
}
ANTI_AFFINITY_NAMESPACE_SELECTOR = {
    "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [namespaced_term(5)]}
}
HARD_POD_AFFINITY = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
    "labelSelector": {"matchExpressions": [
        {"key": "service", "operator": "In", "values": ["S1"]}]},
    "namespaces": ["default", "subteam2-team2"],
    "namespaceSelector": {"matchExpressions": [
        {"key": "team", "operator": "In", "values": ["team1"]}]},
    "topologyKey": "region",
}]}}  # fmt: skip
SERVICE_S1 = {"service": "S1"}
CHINA_INDIA = labelled(("node1", RG_CHINA), ("node2", RG_INDIA))


def in_namespaces(*placements):
    """Bound pods labelled security=S1: (node, namespace)."""
    return tuple(
        pod(f"p{i}", on=where, namespace=namespace, labels=S1)
        for i, (where, namespace) in enumerate(placements)
    )


CASES += [
    Case(
        "Affinity symmetry with namespace selector", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA_AZ1, pod(namespace="subteam1-team1", labels=S1),
        {"node1": 100, "node2": 0, "node3": 0},
        existing=on(("node1", S1, AFFINITY_NAMESPACE_SELECTOR),
                    ("node2", S2, STAY_WITH_S2_IN_REGION)),
        objects=NAMESPACES,
    ),
    Case(
        "AntiAffinity symmetry with namespace selector", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA_AZ1, pod(namespace="subteam1-team1", labels=S1),
        {"node1": 0, "node2": 100, "node3": 100},
        existing=on(("node1", S1, ANTI_AFFINITY_NAMESPACE_SELECTOR),
                    ("node2", S2, STAY_WITH_S2_IN_REGION)),
        objects=NAMESPACES,
    ),
    Case(
        "Affinity with pods matching NamespaceSelector", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA,
        pod(namespace="subteam1-team1", labels=S1, affinity=AFFINITY_NAMESPACE_SELECTOR),
        {"node1": 100, "node2": 0},
        existing=in_namespaces(("node1", "subteam1-team1"), ("node1", "subteam1-team1"),
                               ("node1", "subteam1-team2"), ("node2", "subteam2-team1")),
        objects=NAMESPACES,
    ),
    Case(
        "Affinity with pods matching both NamespaceSelector and Namespaces fields",
        POD_AFFINITY, "InterPodAffinity", CHINA_INDIA,
        pod(namespace="subteam1-team1", labels=S1, affinity=AFFINITY_NAMESPACE_SELECTOR),
        {"node1": 100, "node2": 0},
        existing=in_namespaces(("node1", "subteam1-team1"), ("node1", "subteam1-team1"),
                               ("node1", "subteam2-team2"), ("node2", "subteam2-team1")),
        objects=NAMESPACES,
    ),
    Case(
        "Anti-affinity with pods matching NamespaceSelector", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA,
        pod(namespace="subteam1-team1", labels=S1, affinity=ANTI_AFFINITY_NAMESPACE_SELECTOR),
        {"node1": 0, "node2": 100},
        existing=in_namespaces(("node1", "subteam1-team1"), ("node1", "subteam1-team1"),
                               ("node1", "subteam1-team2"), ("node2", "subteam2-team1")),
        objects=NAMESPACES,
    ),
    Case(
        "Anti-affinity with pods matching both NamespaceSelector and Namespaces fields",
        POD_AFFINITY, "InterPodAffinity", CHINA_INDIA,
        pod(namespace="subteam1-team1", labels=S1, affinity=ANTI_AFFINITY_NAMESPACE_SELECTOR),
        {"node1": 0, "node2": 100},
        existing=in_namespaces(("node1", "subteam1-team1"), ("node1", "subteam1-team1"),
                               ("node1", "subteam2-team2"), ("node2", "subteam2-team1")),
        objects=NAMESPACES,
    ),
    Case(
        "Ignore preferred terms of existing pods", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA, pod(labels=S2), {"node1": SKIPPED, "node2": SKIPPED},
        existing=on(("node1", S1, STAY_WITH_S1_AWAY_FROM_S2),
                    ("node2", S2, STAY_WITH_S2_IN_REGION)),
        args={"hardPodAffinityWeight": 1, "ignorePreferredTermsOfExistingPods": True},
        args_matter=True,
    ),
    Case(
        "Do not ignore preferred terms of existing pods", POD_AFFINITY, "InterPodAffinity",
        CHINA_INDIA, pod(labels=S2), {"node1": 0, "node2": 100},
        existing=on(("node1", S1, STAY_WITH_S1_AWAY_FROM_S2),
                    ("node2", S2, STAY_WITH_S2_IN_REGION)),
    ),
    Case(
        "hard pod affinity symmetric weight: with default weight", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1, pod(labels=SERVICE_S1),
        {"node1": 100, "node2": 100, "node3": 0},
        existing=on(("node1", None, HARD_POD_AFFINITY), ("node2", None, HARD_POD_AFFINITY)),
        objects=NAMESPACES,
    ),
    Case(
        "hard pod affinity symmetric weight: with zero weight", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1, pod(labels=SERVICE_S1),
        {"node1": SKIPPED, "node2": SKIPPED, "node3": SKIPPED},
        existing=on(("node1", None, HARD_POD_AFFINITY), ("node2", None, HARD_POD_AFFINITY)),
        objects=NAMESPACES, args={"hardPodAffinityWeight": 0}, args_matter=True,
    ),
    Case(
        "hard pod affinity symmetric weight: with no matching namespace", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1,
        pod(namespace="subteam1-team2", labels=SERVICE_S1),
        {"node1": SKIPPED, "node2": SKIPPED, "node3": SKIPPED},
        existing=on(("node1", None, HARD_POD_AFFINITY), ("node2", None, HARD_POD_AFFINITY)),
        objects=NAMESPACES,
    ),
    Case(
        "hard pod affinity symmetric weight: with matching NamespaceSelector", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1,
        pod(namespace="subteam1-team1", labels=SERVICE_S1),
        {"node1": 100, "node2": 100, "node3": 0},
        existing=on(("node1", None, HARD_POD_AFFINITY), ("node2", None, HARD_POD_AFFINITY)),
        objects=NAMESPACES,
    ),
    Case(
        "hard pod affinity symmetric weight: with matching Namespaces", POD_AFFINITY,
        "InterPodAffinity", CHINA_INDIA_AZ1,
        pod(namespace="subteam2-team2", labels=SERVICE_S1),
        {"node1": 100, "node2": 100, "node3": 0},
        existing=on(("node1", None, HARD_POD_AFFINITY), ("node2", None, HARD_POD_AFFINITY)),
        objects=NAMESPACES,
    ),
]  # fmt: skip


# -- running a case -------------------------------------------------------------------------


def _unsupported(case: Case) -> str | None:
    """Why the reference cannot run this case yet (None: it can)."""
    for name in (case.plugin, *case.filters):
        if name not in REGISTRY.factories:
            return f"plugin {name} is not registered yet"
    try:
        plugin = REGISTRY.new(case.plugin, case.args)
    except InvalidInput as problem:
        return f"{case.plugin} does not accept these args yet: {problem}"
    if case.args_matter and plugin == REGISTRY.new(case.plugin, None):
        return f"{case.plugin} ignores its args ({', '.join(case.args)}) for now"
    return None


def _config_loader_available() -> bool:
    return importlib.util.find_spec("kubeprop.reference.scheduler.config") is not None


def configuration(case: Case) -> dict:
    """A KubeSchedulerConfiguration running only the case's score plugin (and its filters)."""
    profile: dict[str, Any] = {
        "schedulerName": "default-scheduler",
        "plugins": {
            "multiPoint": {"enabled": [{"name": case.plugin}], "disabled": [{"name": "*"}]},
            "preFilter": {"disabled": [{"name": "*"}]},
            "filter": {
                "enabled": [{"name": name} for name in case.filters],
                "disabled": [{"name": "*"}],
            },
        },
    }
    if case.args is not None:
        profile["pluginConfig"] = [{"name": case.plugin, "args": case.args}]
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [profile],
    }


def profile_in_code(case: Case) -> Profile:
    """The same profile built directly, for when no configuration loader is installed."""
    profile = Profile.build(REGISTRY, [case.plugin, *case.filters], args={case.plugin: case.args})
    points = {"pre_filter": (), "filter": tuple(case.filters), "post_filter": ()}
    return attrs.evolve(profile, points=FrozenMap(points))


def explain(case: Case, tmp_path, capsys, monkeypatch) -> dict:
    manifests = [*case.objects, *case.nodes, *case.existing, case.pod]
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    argv = ["schedule", str(cluster), "--explain", "-o", "json"]
    if _config_loader_available():
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(configuration(case), sort_keys=False))
        argv += ["--config", str(config)]
    else:
        profile = profile_in_code(case)
        monkeypatch.setattr(schedule, "load_profiles", lambda path: {"default-scheduler": profile})
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    [result] = json.loads(out)["results"]
    return result


def _id(case: Case) -> str:
    return f"{case.source[:-3]}: {case.name}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_upstream_score_example(case: Case, tmp_path, capsys, monkeypatch):
    reason = _unsupported(case)
    if reason:
        pytest.skip(reason)
    result = explain(case, tmp_path, capsys, monkeypatch)
    assert result["node"] in case.want, result
    assert result["filtered"].keys() == {
        n["metadata"]["name"] for n in case.nodes if n.get("spec", {}).get("unschedulable")
    }
    got = {name: result["scores"].get(name, {}).get(case.plugin) for name in case.want}
    assert got == case.want, f"upstream {BASE}{case.source}"
    for name, score in case.want.items():
        assert result["totals"][name] == (score or 0), result


def test_every_score_plugin_of_the_issue_has_upstream_cases():
    sources = {case.source for case in CASES}
    assert sources == {
        LEAST_ALLOCATED, MOST_ALLOCATED, RTCR, BALANCED, TAINTS, NODE_AFFINITY, IMAGES,
        SPREAD, POD_AFFINITY,
    }  # fmt: skip
