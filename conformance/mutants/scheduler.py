"""Deliberately broken schedulers: each one realistic bug, which the scheduler suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to the parts of a scheduler it
replaces (keyword arguments of the suite's ``SchedulerSUT``: ``profile``, a
zero-argument factory of a Profile; ``schedule``, with schedule_one's
signature; ``normalize``, with default_normalize_score's; ``queue``, a
zero-argument factory of a SchedulingQueue). ``BREAKS`` names the invariant each
one breaks (``ALSO_BREAKS``: others it may trip first on a random history). Each
mutant is the reference with one plugin, one method or one function swapped, so
the bug is the only difference.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs

from kubeprop.reference.scheduler import (
    Profile,
    Scheduler,
    SchedulingQueue,
    default_profile,
    resources,
    schedule_one,
)
from kubeprop.reference.scheduler.framework import SKIP, SUCCESS, Status, unschedulable
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE
from kubeprop.reference.scheduler.plugins import DEFAULT_PLUGINS, REGISTRY
from kubeprop.reference.scheduler.plugins.node_affinity import NodeAffinity
from kubeprop.reference.scheduler.plugins.node_resources_fit import NodeResourcesFit
from kubeprop.reference.scheduler.plugins.taint_toleration import TaintToleration

# ---- filters ----------------------------------------------------------------------------------


@attrs.frozen
class TaintsIgnored(TaintToleration):
    """TaintToleration without its Filter: taints only lower scores, they never block."""

    def filter(self, state, pod, node_info) -> Status:
        return SUCCESS


@attrs.frozen
class RequestsIgnored(NodeResourcesFit):
    """NodeResourcesFit's Filter counts pods but compares no requests."""

    def filter(self, state, pod, node_info) -> Status:
        too_many = len(node_info.pods) + 1 > node_info.allocatable.get("pods", 0)
        return super().filter(state, pod, node_info) if too_many else SUCCESS


@attrs.frozen
class NodeSelectorIgnored(NodeAffinity):
    """NodeAffinity's PreFilter skips the Filter whenever the pod has no affinity (forgetting
    its nodeSelector)."""

    def pre_filter(self, state, pod, nodes) -> Status:
        affinity = pod.spec.affinity if pod.spec else None
        if affinity is None or affinity.node_affinity is None:
            return SKIP
        return super().pre_filter(state, pod, nodes)

    def filter(self, state, pod, node_info) -> Status:
        labels = (node_info.node.metadata.labels if node_info.node.metadata else None) or {}
        required = (
            pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
        )
        if required is None or required.matches(labels, node_info.name):
            return SUCCESS
        return super().filter(state, pod, node_info)


@attrs.frozen
class ExactFitRejected(NodeResourcesFit):
    """NodeResourcesFit compares with >=: a request equal to what is left does not fit."""

    def filter(self, state, pod, node_info) -> Status:
        status = super().filter(state, pod, node_info)
        if not status.is_success():
            return status
        requests = resources.pod_requests(pod)
        for name in (resources.CPU, resources.MEMORY):
            want = requests.get(name, 0)
            left = node_info.allocatable.get(name, 0) - node_info.requested.get(name, 0)
            if want > 0 and want >= left:
                return unschedulable(f"Insufficient {name}")
        return SUCCESS


def _swap(plugin: Any) -> Profile:
    return default_profile().replace(plugin)


def _without_node_unschedulable() -> Profile:
    """The profile of a scheduler that never got the NodeUnschedulable plugin."""
    enabled = [(name, weight) for name, weight in DEFAULT_PLUGINS if name != "NodeUnschedulable"]
    return Profile.build(REGISTRY, enabled)


# ---- cycle --------------------------------------------------------------------------------------


def _lowest(totals: Mapping[str, int], rng) -> str:
    return min(totals, key=lambda name: totals[name])


def falls_back_to_first_node(profile, pod, snapshot, rng):
    """When no node fits, the pod goes to the first node of the snapshot anyway."""
    result = schedule_one(profile, pod, snapshot, rng)
    if result.node_name is None and result.filtered:
        return attrs.evolve(result, node_name=snapshot.names()[0])
    return result


@attrs.frozen
class AffinityScoreNotNormalized(NodeAffinity):
    """NodeAffinity returns the raw sum of weights (up to 100 per term) as its final score."""

    def normalize_score(self, state, pod, scores):
        return dict(scores), SUCCESS


def _rounding_normalize(scores, *, reverse: bool = False, max_priority: int = MAX_NODE_SCORE):
    """DefaultNormalizeScore with rounding to nearest instead of truncation."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        return {name: (max_priority if reverse else score) for name, score in scores.items()}
    scaled = {name: round(max_priority * score / highest) for name, score in scores.items()}
    return {name: (max_priority - s if reverse else s) for name, s in scaled.items()}


@attrs.frozen
class RoundingTaintToleration(TaintToleration):
    def normalize_score(self, state, pod, scores):
        return _rounding_normalize(scores, reverse=True), SUCCESS


@attrs.frozen
class RoundingNodeAffinity(NodeAffinity):
    def normalize_score(self, state, pod, scores):
        return _rounding_normalize(scores), SUCCESS


def _rounding_profile() -> Profile:
    return default_profile().replace(RoundingTaintToleration()).replace(RoundingNodeAffinity())


# ---- queue ---------------------------------------------------------------------------------------


@attrs.define
class FifoQueue(SchedulingQueue):
    """activeQ ordered by enqueue time only, ignoring priority."""

    @staticmethod
    def order(info):
        return (info.timestamp, info.key)


@attrs.define
class NoBackoffQueue(SchedulingQueue):
    """A failed pod is ready again at once: the backoff is never applied."""

    def is_backing_off(self, info, now: float) -> bool:
        return False


@attrs.define
class ErrorsPoppedEarly(SchedulingQueue):
    """With nothing ready, any backing-off pod is popped early, errors included."""

    def pop(self, now: float):
        self.flush_backoff_completed(now)
        if not self.active and self.backoff:
            key = min(self.backoff.values(), key=self.backoff_expiry).key
            self.active[key] = self.backoff.pop(key)
        return super().pop(now)


MUTANTS: dict[str, dict[str, Any]] = {
    "ignores-taints": dict(profile=functools.partial(_swap, TaintsIgnored())),
    "ignores-requests": dict(profile=functools.partial(_swap, RequestsIgnored())),
    "rejects-an-exact-fit": dict(profile=functools.partial(_swap, ExactFitRejected())),
    "ignores-node-selector": dict(profile=functools.partial(_swap, NodeSelectorIgnored())),
    "ignores-cordon": dict(profile=_without_node_unschedulable),
    "picks-the-lowest-total": dict(schedule=functools.partial(schedule_one, select=_lowest)),
    "falls-back-to-first-node": dict(schedule=falls_back_to_first_node),
    "affinity-score-not-normalized": dict(
        profile=functools.partial(_swap, AffinityScoreNotNormalized()),
        schedule=functools.partial(schedule_one, validate_scores=False),
    ),
    "normalize-rounds": dict(profile=_rounding_profile, normalize=_rounding_normalize),
    "fifo-queue": dict(queue=FifoQueue),
    "no-backoff": dict(queue=NoBackoffQueue),
    "pops-errors-early": dict(queue=ErrorsPoppedEarly),
}

BREAKS: dict[str, str] = {
    "ignores-taints": "SCHEDULER-TAINTS-RESPECTED",
    "ignores-requests": "SCHEDULER-NO-OVERCOMMIT",
    "rejects-an-exact-fit": "SCHEDULER-REJECTIONS-JUSTIFIED",
    "ignores-node-selector": "SCHEDULER-NODE-AFFINITY-RESPECTED",
    "ignores-cordon": "SCHEDULER-CORDON-RESPECTED",
    "picks-the-lowest-total": "SCHEDULER-BEST-TOTAL",
    "falls-back-to-first-node": "SCHEDULER-FEASIBLE",
    "affinity-score-not-normalized": "SCHEDULER-SCORE-RANGE",
    "normalize-rounds": "SCHEDULER-NORMALIZE-TRUNCATES",
    "fifo-queue": "SCHEDULER-QUEUE-ORDER",
    "no-backoff": "SCHEDULER-BACKOFF",
    "pops-errors-early": "SCHEDULER-BACKOFF",
}

# Other invariants a mutant may trip first on a random history (the hand-picked case of
# each mutant trips exactly the one BREAKS names).
ALSO_BREAKS: dict[str, frozenset[str]] = {
    "affinity-score-not-normalized": frozenset({"SCHEDULER-NORMALIZE-TRUNCATES"}),
}


# ---- the scheduler component ---------------------------------------------------------------------
#
# Deliberately broken kube-schedulers, each the reference ``Scheduler`` (same constructor)
# with one method or its profile swapped. ``COMPONENT_MUTANTS`` maps a name to the class,
# ``COMPONENT_BREAKS`` to the invariant the component suite
# (conformance/suites/test_scheduler_component.py) catches it by.


def _without_taint_toleration() -> Profile:
    """The default profile without TaintToleration (its Filter and its Score)."""
    enabled = [(name, weight) for name, weight in DEFAULT_PLUGINS if name != "TaintToleration"]
    return Profile.build(REGISTRY, enabled)


@attrs.define(eq=False)
class IgnoresTaints(Scheduler):
    """A scheduler whose profile lacks TaintToleration: taints never keep a pod off a node."""

    profile: Profile = attrs.field(factory=_without_taint_toleration, kw_only=True)


@attrs.define(eq=False)
class NoAssumeCache(Scheduler):
    """Places pods against the informer cache alone: a pod it has just bound counts on no
    node until the watch shows it, so two pods can be booked into room for one."""

    def assume(self, pod, node_name) -> None:
        return None


@attrs.define(eq=False)
class QueuesAssignedPods(Scheduler):
    """Queues every pod that names it, bound or not (no ``spec.nodeName=`` filter), and so
    schedules and binds a pod it has already bound."""

    def wants(self, pod) -> bool:
        deleting = bool(pod.metadata and pod.metadata.deletion_timestamp)
        return self.responsible_for(pod) and not deleting


@attrs.define(eq=False)
class IgnoresClusterEvents(Scheduler):
    """Never moves parked pods on node or pod events: they wait for the 5-minute flush."""

    def on_cluster_event(self, event: str) -> None:
        return None


@attrs.define(eq=False)
class SilentFailures(Scheduler):
    """Records FailedScheduling events but never sets the PodScheduled condition."""

    def set_condition(self, pod, reason: str, message: str) -> None:
        return None


COMPONENT_MUTANTS: dict[str, type[Scheduler]] = {
    "component-ignores-taints": IgnoresTaints,
    "component-no-assume-cache": NoAssumeCache,
    "component-queues-assigned-pods": QueuesAssignedPods,
    "component-ignores-cluster-events": IgnoresClusterEvents,
    "component-silent-failures": SilentFailures,
}

COMPONENT_BREAKS: dict[str, str] = {
    "component-ignores-taints": "SCHEDULER-BIND-FEASIBLE",
    "component-no-assume-cache": "SCHEDULER-NO-OVERCOMMIT",
    "component-queues-assigned-pods": "SCHEDULER-BOUND-ONCE",
    "component-ignores-cluster-events": "SCHEDULER-EVENTUALLY-BOUND",
    "component-silent-failures": "SCHEDULER-FAILED-CONDITION",
}

# Other invariants a component mutant may trip first on a random history.
COMPONENT_ALSO_BREAKS: dict[str, frozenset[str]] = {
    "component-queues-assigned-pods": frozenset({"SCHEDULER-BIND-FEASIBLE"}),
    # A parked pod never retried keeps the message of its last attempt ("0/2 nodes ...").
    "component-ignores-cluster-events": frozenset({"SCHEDULER-FAILED-CONDITION"}),
}


def plugin_breaks() -> set[str]:
    """The invariants broken by the plugins' own mutants (``conformance/mutants/scheduler_*.py``,
    their ``BREAKS`` and ``COMPONENT_BREAKS``)."""
    import importlib
    import pkgutil

    from kubeprop.conformance import mutants

    found: set[str] = set()
    for module in pkgutil.iter_modules(mutants.__path__):
        if module.name.startswith("scheduler_"):
            loaded = importlib.import_module(f"{mutants.__name__}.{module.name}")
            found |= set(getattr(loaded, "BREAKS", {}).values())
            found |= set(getattr(loaded, "COMPONENT_BREAKS", {}).values())
    return found
