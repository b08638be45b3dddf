"""The scheduler suite: random clusters, pods placed one by one, and a state machine over the queue.

Contract: a ``SchedulerSUT`` bundles the parts of a scheduler under test (a
profile factory, a schedule_one-shaped function, the normalisation helper and a
queue factory); the reference is ``SchedulerSUT()``. ``place_one_by_one``
schedules pods in order over a snapshot updated after every placement and
evaluates every cycle invariant through ``kubeprop.conformance.report.check``;
``check_normalize`` checks the normalisation helper; ``make_queue_machine``
builds a RuleBasedStateMachine driving the queue with explicit time. A failure
is an ``InvariantViolation`` naming the invariant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import attrs
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.report import check
from kubeprop.conformance.strategies import scheduler as strategies
from kubeprop.reference.scheduler import (
    Profile,
    SchedulingQueue,
    Snapshot,
    default_normalize_score,
    default_profile,
    schedule_one,
)
from kubeprop.reference.scheduler.queue import NODE_ADD
from kubeprop.spec.api.core import Node, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta

# Score plugins that normalise with the shared helper, and whether reversed.
NORMALIZED_PLUGINS: Mapping[str, bool] = {"TaintToleration": True, "NodeAffinity": False}


@attrs.frozen
class SchedulerSUT:
    """The parts of a scheduler under test."""

    profile: Callable[[], Profile] = default_profile
    schedule: Callable = schedule_one
    normalize: Callable = default_normalize_score
    queue: Callable[[], SchedulingQueue] = SchedulingQueue


REFERENCE = SchedulerSUT()


def place_one_by_one(
    sut: SchedulerSUT, nodes: Sequence[Node], pods: Sequence[Pod], seed: int = 0
) -> list[Pod]:
    """Schedule ``pods`` in order, binding each before the next; the pods placed."""
    profile = sut.profile()
    weights = {plugin.name: profile.weight(plugin.name) for plugin in profile.at("score")}
    by_name = {node.metadata.name: node for node in nodes}
    snapshot = Snapshot.of(nodes)
    rng = random.Random(seed)
    placed: list[Pod] = []
    for pod in pods:
        result = sut.schedule(profile, pod, snapshot, rng)
        node = by_name.get(result.node_name) if result.node_name else None
        check("SCHEDULER-FEASIBLE", result, snapshot.names())
        check("SCHEDULER-SCORE-RANGE", result)
        check("SCHEDULER-BEST-TOTAL", result, weights)
        for plugin, reverse in NORMALIZED_PLUGINS.items():
            raw = {n: s[plugin] for n, s in result.raw_scores.items() if plugin in s}
            final = {n: s[plugin] for n, s in result.scores.items() if plugin in s}
            if raw:
                check("SCHEDULER-NORMALIZE-TRUNCATES", raw, reverse, final)
        check("SCHEDULER-TAINTS-RESPECTED", pod, node)
        check("SCHEDULER-NODE-AFFINITY-RESPECTED", pod, node)
        check("SCHEDULER-CORDON-RESPECTED", pod, node)
        check("SCHEDULER-REJECTIONS-JUSTIFIED", pod, result, nodes, placed)
        if result.node_name is not None:
            snapshot = snapshot.assume(pod, result.node_name)
            placed.append(
                attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=result.node_name))
            )
        check("SCHEDULER-NO-OVERCOMMIT", nodes, placed)
    return placed


def check_normalize(sut: SchedulerSUT, raw: Mapping[str, int], reverse: bool) -> None:
    check("SCHEDULER-NORMALIZE-TRUNCATES", raw, reverse, sut.normalize(dict(raw), reverse=reverse))


def queue_pod(name: str, priority: int) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(priority=priority),
    )


def make_queue_machine(sut: SchedulerSUT) -> type[RuleBasedStateMachine]:
    """A machine adding, popping, failing and binding pods while time passes."""

    class QueueMachine(RuleBasedStateMachine):
        popped = Bundle("popped")

        def __init__(self):
            super().__init__()
            self.queue = sut.queue()
            self.now = 0.0
            self.created = 0
            # key -> (last failure, failures so far, whether the last was an error)
            self.failures: dict[str, tuple[float, int, bool]] = {}
            self.in_flight: dict[str, object] = {}  # key -> QueuedPodInfo popped

        @rule(priority=st.sampled_from((0, 0, 10, 100)))
        def add(self, priority):
            self.created += 1
            self.queue.add(queue_pod(f"pod-{self.created}", priority), self.now)

        @rule(seconds=st.sampled_from((0.5, 1.0, 2.0, 4.0, 10.0, 301.0)))
        def advance(self, seconds):
            self.now += seconds

        @rule()
        def pop(self):
            info = self.queue.pop(self.now)
            if info is None:
                return
            remaining = [(i.key, i.priority, i.timestamp) for i in self.queue.active.values()]
            check("SCHEDULER-QUEUE-ORDER", (info.key, info.priority, info.timestamp), remaining)
            last, count, error = self.failures.get(info.key, (None, 0, True))
            others = len(self.queue.active)
            check("SCHEDULER-BACKOFF", self.now, last, count, error=error, others_ready=others)
            self.in_flight[info.key] = info

        @precondition(lambda self: self.in_flight)
        @rule(data=st.data(), error=st.booleans())
        def fail(self, data, error):
            key = data.draw(st.sampled_from(sorted(self.in_flight)))
            info = self.in_flight.pop(key)
            plugins = frozenset() if error else frozenset({"NodeResourcesFit"})
            self.queue.add_unschedulable(info, self.now, plugins)
            _, count, _ = self.failures.get(key, (None, 0, True))
            self.failures[key] = (self.now, count + 1, error)

        @precondition(lambda self: self.in_flight)
        @rule(data=st.data())
        def bind(self, data):
            key = data.draw(st.sampled_from(sorted(self.in_flight)))
            del self.in_flight[key]
            self.queue.done(key)

        @rule()
        def node_added(self):
            self.queue.move_all_to_active_or_backoff(NODE_ADD, self.now)

        @rule()
        def flush(self):
            self.queue.flush(self.now)

    return QueueMachine


@given(cluster=strategies.clusters(), seed=st.integers(0, 3))
def test_pods_placed_one_by_one_keep_every_scheduling_invariant(cluster, seed):
    nodes, pods = cluster
    place_one_by_one(REFERENCE, nodes, pods, seed)


@given(raw=strategies.raw_scores, reverse=st.booleans())
def test_normalisation_truncates_like_go_integer_division(raw, reverse):
    check_normalize(REFERENCE, raw, reverse)


def test_the_scheduling_queue_keeps_order_and_backoff():
    run_state_machine_as_test(make_queue_machine(REFERENCE))
