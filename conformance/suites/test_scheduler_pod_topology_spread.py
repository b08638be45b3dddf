"""The PodTopologySpread suite: pods with spread constraints placed one by one over labelled nodes.

Contract: a ``SpreadSUT`` names the PodTopologySpread plugin under test (the
reference's by default) and the schedule_one-shaped function running it;
``spread_profile(plugin)`` is the default profile with that plugin in upstream's
place (after NodeResourcesFit, weight 2). ``place_with_spread`` schedules pods in
order over a snapshot updated after every placement and, for every cycle,
evaluates SCHEDULER-TOPOLOGY-SPREAD-RESPECTED (and the cycle invariants
SCHEDULER-FEASIBLE and SCHEDULER-SCORE-RANGE) through
``kubeprop.conformance.report.check``. ``spread_clusters()`` draws nodes from a
few zones and racks (some unlabelled, some tainted), pods already bound (some in
another namespace, some being deleted), Services whose selectors give default
constraints, and incoming pods with zero to two constraints (DoNotSchedule
mostly, with selectors, minDomains, matchLabelKeys and inclusion policies).
A failure is an ``InvariantViolation`` naming the invariant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.conformance.report import check
from kubeprop.reference.scheduler import Profile, Snapshot, schedule_one
from kubeprop.reference.scheduler.framework import Plugin
from kubeprop.reference.scheduler.plugins import DEFAULT_PLUGINS, REGISTRY, pod_topology_spread
from kubeprop.spec.api.core import (
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector, LabelSelectorRequirement

NAME = pod_topology_spread.NAME
HOSTNAME = "kubernetes.io/hostname"
ZONES = ("zone-a", "zone-b", "zone-c")
RACKS = ("rack-1", "rack-2")
NAMESPACES = ("default", "default", "other")
DEDICATED = Taint(key="dedicated", value="x", effect="NoSchedule")


def spread_profile(plugin: Plugin | None = None) -> Profile:
    """The default profile with ``plugin`` as PodTopologySpread, placed as upstream places it."""
    registry = REGISTRY
    if NAME not in registry.factories:
        registry = registry.merge({NAME: pod_topology_spread.new})
    enabled = list(DEFAULT_PLUGINS)
    if NAME not in [name for name, _ in enabled]:
        after = next(
            (i + 1 for i, (name, _) in enumerate(enabled) if name == "NodeResourcesFit"),
            len(enabled),
        )
        enabled.insert(after, (NAME, 2))
    profile = Profile.build(registry, enabled)
    return profile.replace(plugin) if plugin is not None else profile


@attrs.frozen
class SpreadSUT:
    """The PodTopologySpread plugin under test and the cycle that runs it."""

    plugin: Plugin = attrs.field(factory=lambda: pod_topology_spread.new(None, None))
    schedule: Callable = schedule_one


REFERENCE = SpreadSUT()


def _bound(pod: Pod, node_name: str) -> Pod:
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=node_name))


def place_with_spread(
    sut: SpreadSUT,
    nodes: Sequence[Node],
    existing: Sequence[Pod],
    pods: Sequence[Pod],
    workloads: Sequence[Any] = (),
    seed: int = 0,
) -> list[Pod]:
    """Schedule ``pods`` in order over ``nodes`` holding ``existing``, binding each before
    the next; every pod bound at the end (``existing`` ones included)."""
    profile = spread_profile(sut.plugin)
    snapshot = Snapshot.of(nodes, existing, workloads=workloads)
    placed = [p for p in existing if p.spec and p.spec.node_name]
    rng = random.Random(seed)
    for pod in pods:
        result = sut.schedule(profile, pod, snapshot, rng)
        check("SCHEDULER-FEASIBLE", result, snapshot.names())
        check("SCHEDULER-SCORE-RANGE", result)
        check("SCHEDULER-TOPOLOGY-SPREAD-RESPECTED", pod, result, nodes, placed)
        if result.node_name is not None:
            snapshot = snapshot.assume(pod, result.node_name)
            placed.append(_bound(pod, result.node_name))
    return placed


# -- strategies ------------------------------------------------------------------------------

selectors = st.sampled_from(
    (
        LabelSelector(match_labels={"app": "web"}),
        LabelSelector(match_labels={"app": "web"}),
        LabelSelector(match_labels={"app": "db"}),
        LabelSelector(match_expressions=(LabelSelectorRequirement(key="app", operator="Exists"),)),
        LabelSelector(),
        None,
    )
)

pod_labels = st.fixed_dictionaries(
    {}, optional={"app": st.sampled_from(("web", "web", "db")), "tier": st.sampled_from(("x", "y"))}
)


@st.composite
def constraints(draw) -> TopologySpreadConstraint:
    hard = draw(st.integers(0, 3)) > 0
    return TopologySpreadConstraint(
        max_skew=draw(st.sampled_from((1, 1, 2))),
        topology_key=draw(st.sampled_from(("zone", "zone", HOSTNAME, "rack"))),
        when_unsatisfiable="DoNotSchedule" if hard else "ScheduleAnyway",
        label_selector=draw(selectors),
        min_domains=draw(st.sampled_from((None, None, 2, 4))) if hard else None,
        node_affinity_policy=draw(st.sampled_from((None, None, "Honor", "Ignore"))),
        node_taints_policy=draw(st.sampled_from((None, None, "Honor", "Ignore"))),
        match_label_keys=draw(st.sampled_from(((), (), ("tier",)))),
    )


@st.composite
def spread_nodes(draw, name: str) -> Node:
    labels = {HOSTNAME: name}
    if draw(st.integers(0, 5)) > 0:
        labels["zone"] = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        labels["rack"] = draw(st.sampled_from(RACKS))
    allocatable = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return Node(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=NodeSpec(taints=(DEDICATED,) if draw(st.integers(0, 4)) == 4 else ()),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


@st.composite
def existing_pods(draw, name: str, node_names: tuple[str, ...]) -> Pod:
    meta = ObjectMeta(
        name=name,
        namespace=draw(st.sampled_from(NAMESPACES)),
        labels=draw(pod_labels),
        deletion_timestamp="2026-01-01T00:00:00Z" if draw(st.integers(0, 5)) == 5 else None,
    )
    return Pod(metadata=meta, spec=PodSpec(node_name=draw(st.sampled_from(node_names))))


@st.composite
def incoming_pods(draw, name: str) -> Pod:
    drawn = draw(st.lists(constraints(), max_size=2))
    unique = {(c.topology_key, c.when_unsatisfiable): c for c in drawn}  # API validation
    tolerations = ()
    if draw(st.booleans()):
        tolerations = (Toleration(key="dedicated", operator="Exists"),)
    spec = PodSpec(
        topology_spread_constraints=tuple(unique.values()),
        node_selector={"zone": "zone-a"} if draw(st.integers(0, 5)) == 5 else {},
        tolerations=tolerations,
    )
    meta = ObjectMeta(
        name=name, namespace=draw(st.sampled_from(NAMESPACES)), labels=draw(pod_labels)
    )
    return Pod(metadata=meta, spec=spec)


SERVICES = (
    {
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}},
    },
    {
        "kind": "Service",
        "metadata": {"name": "db", "namespace": "other"},
        "spec": {"selector": {"app": "db"}},
    },
)


@st.composite
def spread_clusters(draw, max_nodes: int = 5, max_existing: int = 8, max_pods: int = 6):
    """(nodes, existing pods, incoming pods, workloads)."""
    names = tuple(f"node-{i}" for i in range(draw(st.integers(1, max_nodes))))
    nodes = [draw(spread_nodes(name)) for name in names]
    existing = [
        draw(existing_pods(f"old-{i}", names)) for i in range(draw(st.integers(0, max_existing)))
    ]
    pods = [draw(incoming_pods(f"pod-{i}")) for i in range(draw(st.integers(1, max_pods)))]
    workloads = draw(st.sampled_from(((), SERVICES)))
    return nodes, existing, pods, workloads


@settings(max_examples=60, deadline=None)
@given(cluster=spread_clusters(), seed=st.integers(0, 3))
def test_pods_placed_one_by_one_keep_their_topology_spread_constraints(cluster, seed):
    nodes, existing, pods, workloads = cluster
    place_with_spread(REFERENCE, nodes, existing, pods, workloads, seed)
