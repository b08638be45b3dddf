"""The InterPodAffinity suite: pods with pod (anti-)affinity placed one by one, then some deleted.

Contract: an ``InterPodAffinitySUT`` names the InterPodAffinity plugin under test
(a zero-argument factory); its ``profile()`` is the reference's default profile
with that plugin in place (added with weight 2 if the default profile lacks
it). ``make_machine(sut)`` builds a RuleBasedStateMachine over a few nodes
(hostname, zone and region labels, a zone sometimes missing) and three
namespaces with labels: each ``schedule`` step runs one scheduling cycle for a
pod drawn from a small, colliding vocabulary of labels and required/preferred
(anti-)affinity terms, and binds it where the cycle chose; ``delete`` removes
a placed pod. After every step it checks SCHEDULER-POD-ANTI-AFFINITY-RESPECTED
through ``kubeprop.conformance.report.check``; a failure is an
``InvariantViolation`` naming it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.report import check
from kubeprop.reference.scheduler import Profile, Snapshot, default_profile, schedule_one
from kubeprop.reference.scheduler.framework import Plugin
from kubeprop.reference.scheduler.plugins import inter_pod_affinity
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
    WeightedPodAffinityTerm,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector, LabelSelectorRequirement

NAMESPACES: Mapping[str, Mapping[str, str]] = {
    "default": {},
    "team-a": {"team": "a"},
    "team-b": {"team": "b"},
}
HOSTNAME = "kubernetes.io/hostname"
TOPOLOGY_KEYS = (HOSTNAME, "zone", "region")
APPS = ("web", "db")


def _reference_plugin() -> Plugin:
    return inter_pod_affinity.new(None, None)


@attrs.frozen
class InterPodAffinitySUT:
    """The InterPodAffinity plugin under test, spliced into the default profile."""

    plugin: Callable[[], Plugin] = _reference_plugin

    def profile(self) -> Profile:
        base = default_profile()
        plugin = self.plugin()
        if any(p.name == plugin.name for p in base.plugins):
            return base.replace(plugin)
        weights = FrozenMap({**base.weights, plugin.name: 2})
        return attrs.evolve(base, plugins=(*base.plugins, plugin), weights=weights)


REFERENCE = InterPodAffinitySUT()


# -- strategies ------------------------------------------------------------------------------


def make_node(name: str, zone: str | None, region: str) -> Node:
    labels = {HOSTNAME: name, "region": region, **({"zone": zone} if zone else {})}
    allocatable = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return Node(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=NodeSpec(),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def _requirement(key: str, operator: str, *values: str) -> LabelSelector:
    return LabelSelector(
        match_expressions=(LabelSelectorRequirement(key=key, operator=operator, values=values),)
    )


label_selectors = st.one_of(
    st.sampled_from(APPS).map(lambda app: _requirement("app", "In", app)),
    st.sampled_from(APPS).map(lambda app: _requirement("app", "NotIn", app)),
    st.just(_requirement("tier", "Exists")),
    st.just(LabelSelector()),  # every pod
)

namespace_scopes = st.sampled_from(
    (
        ((), None),  # the pod's own namespace
        ((), None),
        (("team-a",), None),
        ((), LabelSelector()),  # every namespace
        ((), _requirement("team", "In", "a")),
    )
)


@st.composite
def affinity_terms(draw) -> PodAffinityTerm:
    namespaces, namespace_selector = draw(namespace_scopes)
    return PodAffinityTerm(
        label_selector=draw(label_selectors),
        topology_key=draw(st.sampled_from(TOPOLOGY_KEYS)),
        namespaces=namespaces,
        namespace_selector=namespace_selector,
    )


weighted_terms = st.builds(
    WeightedPodAffinityTerm, weight=st.integers(1, 100), pod_affinity_term=affinity_terms()
)


@st.composite
def affinities(draw) -> Affinity | None:
    anti = tuple(draw(st.lists(affinity_terms(), max_size=2)))
    required = tuple(draw(st.lists(affinity_terms(), max_size=1))) if draw(st.booleans()) else ()
    preferred = tuple(draw(st.lists(weighted_terms, max_size=1)))
    preferred_anti = tuple(draw(st.lists(weighted_terms, max_size=1)))
    if not (anti or required or preferred or preferred_anti):
        return None
    return Affinity(
        pod_affinity=PodAffinity(
            required_during_scheduling_ignored_during_execution=required,
            preferred_during_scheduling_ignored_during_execution=preferred,
        ),
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=anti,
            preferred_during_scheduling_ignored_during_execution=preferred_anti,
        ),
    )


@st.composite
def pods(draw, name: str) -> Pod:
    labels = draw(
        st.fixed_dictionaries(
            {},
            optional={"app": st.sampled_from(APPS), "tier": st.sampled_from(("front", "back"))},
        )
    )
    return Pod(
        metadata=ObjectMeta(
            name=name, namespace=draw(st.sampled_from(tuple(NAMESPACES))), labels=labels
        ),
        spec=PodSpec(
            containers=(Container(name="c", image="registry.k8s.io/pause:3.10"),),
            affinity=draw(affinities()),
        ),
    )


# -- the machine -----------------------------------------------------------------------------


def make_machine(sut: InterPodAffinitySUT) -> type[RuleBasedStateMachine]:
    class InterPodAffinityMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.profile = sut.profile()
            self.rng = random.Random(0)
            self.nodes: list[Node] = []
            self.placed: list[Pod] = []  # pods bound so far (spec.nodeName set)
            self.created = 0

        @initialize(
            zones=st.lists(st.sampled_from(("a", "b", None)), min_size=2, max_size=4),
            regions=st.lists(st.sampled_from(("r1", "r2")), min_size=4, max_size=4),
        )
        def add_nodes(self, zones, regions):
            self.nodes = [make_node(f"node-{i}", zone, regions[i]) for i, zone in enumerate(zones)]

        def snapshot(self) -> Snapshot:
            return Snapshot.of(self.nodes, self.placed, NAMESPACES)

        @rule(data=st.data())
        def schedule(self, data):
            self.created += 1
            self.place(data.draw(pods(f"pod-{self.created}")))

        def place(self, pod: Pod) -> str | None:
            """One scheduling cycle for ``pod``, bound where it chose; the node, if any."""
            result = schedule_one(self.profile, pod, self.snapshot(), self.rng)
            if result.node_name is not None:
                bound = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=result.node_name))
                self.placed.append(bound)
            self.check()
            return result.node_name

        @precondition(lambda self: self.placed)
        @rule(data=st.data())
        def delete(self, data):
            index = data.draw(st.integers(0, len(self.placed) - 1))
            del self.placed[index]
            self.check()

        def check(self):
            check("SCHEDULER-POD-ANTI-AFFINITY-RESPECTED", self.nodes, self.placed, NAMESPACES)

    return InterPodAffinityMachine


def test_pods_placed_one_by_one_respect_required_anti_affinity_both_ways():
    run_state_machine_as_test(
        make_machine(REFERENCE),
        settings=settings(settings.default, max_examples=40, stateful_step_count=20),
    )
