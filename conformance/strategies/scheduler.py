"""Hypothesis strategies for the scheduler: typed Nodes and Pods drawn from small, colliding vocabularies.

Contract: every value is a valid v1 object (names unique within a draw, quantities
in whole millicores and Mi) built from a few labels, taints, tolerations and sizes,
so that filters pass and fail often and scores tie often. ``clusters()`` draws
(nodes, pods); pods carry no spec.nodeName unless a strategy says so.
"""

from __future__ import annotations

from hypothesis import strategies as st

from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Node,
    NodeAffinity,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    PreferredSchedulingTerm,
    ResourceRequirements,
    Taint,
    Toleration,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm

ZONES = ("a", "b")
DISKS = ("ssd", "hdd")
TAINT_KEYS = ("dedicated", "gpu")
TAINT_VALUES = ("x",)
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
GPU = "example.com/gpu"

labels = st.fixed_dictionaries(
    {},
    optional={"zone": st.sampled_from(ZONES), "disk": st.sampled_from(DISKS)},
)

taints = st.builds(
    Taint,
    key=st.sampled_from(TAINT_KEYS),
    value=st.sampled_from(TAINT_VALUES),
    effect=st.sampled_from(EFFECTS),
)

tolerations = st.one_of(
    st.builds(
        Toleration,
        key=st.sampled_from(TAINT_KEYS),
        operator=st.just("Equal"),
        value=st.sampled_from(TAINT_VALUES),
        effect=st.sampled_from((None, *EFFECTS)),
    ),
    st.builds(
        Toleration,
        key=st.sampled_from((None, *TAINT_KEYS)),
        operator=st.just("Exists"),
        effect=st.sampled_from((None, *EFFECTS)),
    ),
    st.just(Toleration(key="node.kubernetes.io/unschedulable", operator="Exists")),
)


@st.composite
def nodes(draw, name: str) -> Node:
    allocatable = {
        "cpu": f"{draw(st.sampled_from((1000, 2000, 4000)))}m",
        "memory": f"{draw(st.sampled_from((1024, 2048, 4096)))}Mi",
        "pods": str(draw(st.integers(1, 8))),
    }
    if draw(st.integers(0, 3)) == 3:
        allocatable[GPU] = str(draw(st.integers(0, 2)))
    return Node(
        metadata=ObjectMeta(name=name, labels=draw(labels)),
        spec=NodeSpec(
            unschedulable=True if draw(st.integers(0, 5)) == 5 else None,
            taints=tuple(draw(st.lists(taints, max_size=2, unique_by=lambda t: (t.key, t.effect))))
            if draw(st.integers(0, 3)) == 3
            else (),
        ),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


@st.composite
def requests(draw) -> dict[str, str]:
    """Container requests: cpu and memory often, the extended resource rarely."""
    drawn = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "cpu": st.sampled_from(("0", "100m", "250m", "500m", "1", "1500m")),
                "memory": st.sampled_from(("0", "128Mi", "256Mi", "512Mi", "1Gi")),
            },
        )
    )
    if draw(st.integers(0, 5)) == 5:
        drawn[GPU] = draw(st.sampled_from(("1", "2")))
    return drawn


def containers(prefix: str, most: int):
    """App containers ("c", at least one) or init containers ("init", some of them sidecars)."""
    policies = st.sampled_from((None, "Always")) if prefix == "init" else st.none()
    return st.lists(
        st.tuples(requests(), policies), min_size=1 if prefix == "c" else 0, max_size=most
    ).map(
        lambda items: tuple(
            Container(
                name=f"{prefix}{i}",
                image="registry.k8s.io/pause:3.10",
                restart_policy=policy,
                resources=ResourceRequirements(requests=r) if r else None,
            )
            for i, (r, policy) in enumerate(items)
        )
    )


expressions = st.builds(
    NodeSelectorRequirement,
    key=st.sampled_from(("zone", "disk")),
    operator=st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")),
    values=st.sampled_from(ZONES + DISKS).map(lambda v: (v,)),
).map(
    lambda r: (
        r
        if r.operator in ("In", "NotIn")
        else NodeSelectorRequirement(key=r.key, operator=r.operator)
    )
)

terms = st.lists(expressions, min_size=1, max_size=2).map(
    lambda items: NodeSelectorTerm(match_expressions=tuple(items))
)

node_affinity = st.builds(
    NodeAffinity,
    required_during_scheduling_ignored_during_execution=st.one_of(
        st.none(),
        st.none(),
        st.lists(terms, min_size=1, max_size=2).map(lambda t: NodeSelector(tuple(t))),
    ),
    preferred_during_scheduling_ignored_during_execution=st.lists(
        st.builds(PreferredSchedulingTerm, weight=st.integers(1, 100), preference=terms),
        max_size=2,
    ).map(tuple),
)


@st.composite
def pods(draw, name: str, node_names: tuple[str, ...] = ()) -> Pod:
    spec = PodSpec(
        containers=draw(containers("c", 2)),
        init_containers=draw(containers("init", 2)),
        tolerations=tuple(draw(st.lists(tolerations, max_size=2))),
        node_selector=(
            {"zone": draw(st.sampled_from(ZONES))} if draw(st.integers(0, 4)) == 4 else {}
        ),
        affinity=(
            draw(st.builds(Affinity, node_affinity=node_affinity))
            if draw(st.integers(0, 2)) == 2
            else None
        ),
        priority=draw(st.sampled_from((0, 0, 100, 1000))),
        overhead=draw(st.sampled_from(({}, {}, {"cpu": "50m", "memory": "32Mi"}))),
        node_name=(
            draw(st.sampled_from(node_names))
            if node_names and draw(st.integers(0, 11)) == 11
            else None
        ),
    )
    return Pod(metadata=ObjectMeta(name=name, namespace="default"), spec=spec)


@st.composite
def clusters(draw, max_nodes: int = 5, max_pods: int = 8) -> tuple[list[Node], list[Pod]]:
    count = draw(st.integers(min(2, max_nodes), max_nodes))
    names = tuple(f"node-{i}" for i in range(count))
    drawn_nodes = [draw(nodes(name)) for name in names]
    drawn_pods = [draw(pods(f"pod-{i}", names)) for i in range(draw(st.integers(1, max_pods)))]
    return drawn_nodes, drawn_pods


raw_scores = st.dictionaries(
    st.sampled_from(tuple(f"node-{i}" for i in range(6))),
    st.integers(0, 1000),
    min_size=1,
)


# -- builders for hand-written cases (upstream's st.MakeNode / st.MakePod) ------------------


def taint(text: str) -> Taint:
    """A taint from ``key[=value]:Effect``."""
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    return Taint(key=key, value=value or None, effect=effect)


def make_node(
    name: str,
    allocatable: dict[str, str] | None = None,
    *,
    labels: dict[str, str] | None = None,
    taints: tuple[str, ...] = (),
    unschedulable: bool | None = None,
) -> Node:
    """A node whose capacity and allocatable are ``allocatable`` (pods default to 110)."""
    resources = {"pods": "110", **(allocatable or {})}
    return Node(
        metadata=ObjectMeta(name=name, labels=labels or {}),
        spec=NodeSpec(unschedulable=unschedulable, taints=tuple(taint(t) for t in taints)),
        status=NodeStatus(allocatable=resources, capacity=resources),
    )


def make_pod(
    name: str = "pod",
    requests: tuple[dict[str, str], ...] = (),
    *,
    init_requests: tuple[dict[str, str], ...] = (),
    sidecar_requests: tuple[dict[str, str], ...] = (),
    overhead: dict[str, str] | None = None,
    tolerations: tuple[Toleration, ...] = (),
    node_selector: dict[str, str] | None = None,
    affinity: NodeAffinity | None = None,
    node_name: str | None = None,
    priority: int | None = None,
) -> Pod:
    """A pod with one container per entry of ``requests`` (an empty dict: no requests);
    sidecars are init containers with restartPolicy Always, listed before the others."""

    def container(prefix, i, reqs, restart_policy=None):
        return Container(
            name=f"{prefix}{i}",
            image="registry.k8s.io/pause:3.10",
            restart_policy=restart_policy,
            resources=ResourceRequirements(requests=reqs) if reqs else None,
        )

    inits = tuple(
        container("sidecar", i, r, "Always") for i, r in enumerate(sidecar_requests)
    ) + tuple(container("init", i, r) for i, r in enumerate(init_requests))
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(
            containers=tuple(container("c", i, r) for i, r in enumerate(requests)),
            init_containers=inits,
            overhead=overhead or {},
            tolerations=tuple(tolerations),
            node_selector=node_selector or {},
            affinity=Affinity(node_affinity=affinity) if affinity else None,
            node_name=node_name,
            priority=priority,
        ),
    )
