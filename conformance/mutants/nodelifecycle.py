"""Deliberately broken node controllers: each one realistic bug the node lifecycle suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to ``(nlc, tec, podgc, server)``,
the factories ``make_machine`` takes, where exactly one is a small subclass of
the reference overriding one method; ``BREAKS`` names the invariant each one
breaks.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from kubeprop.reference.apiserver import admission
from kubeprop.reference.apiserver.server import ApiServer
from kubeprop.reference.controllers.nodelifecycle import (
    NodeLifecycleController,
    TaintEvictionController,
    zone_key,
)
from kubeprop.reference.controllers.podgc import PodGC


class NeverEvicts(TaintEvictionController):
    """The eviction decision always says "tolerated forever"."""

    def eviction_delay(self, pod, taints):
        return None


class EvictsAtOnce(TaintEvictionController):
    """tolerationSeconds is ignored: every pod on a NoExecute-tainted node goes at once."""

    def eviction_delay(self, pod, taints):
        return 0.0


class ImpatientMonitor(NodeLifecycleController):
    """The grace period is one monitor period less than 5 s: a kubelet renewing every 10 s
    is declared Unknown between two renewals."""

    def grace_period(self, ready):
        return 2.0


class NeverUnknown(NodeLifecycleController):
    """A silent node is given forever: Ready is never turned Unknown."""

    def grace_period(self, ready):
        return float("inf")


class KeepsTaints(NodeLifecycleController):
    """A node that is Ready again keeps its NoExecute taints (markNodeAsReachable does nothing)."""

    def _mark_reachable(self, node):
        self._tainter(zone_key(node)).remove(node["metadata"]["name"])


class WritesOnlyReadyChanges(NodeLifecycleController):
    """The health pass writes a silent node only when its Ready status changes: a node whose
    kubelet never posted (Ready absent, so "Unknown" either way) never gets its
    NodeStatusNeverUpdated conditions."""

    def try_update_node_health(self, node):
        if not any(c.get("type") == "Ready" for c in node.get("status", {}).get("conditions", [])):
            return "Unknown", "Unknown"
        return super().try_update_node_health(node)


class PodsStayReady(NodeLifecycleController):
    """MarkPodsNotReady is skipped: the pods of an unreachable node still look Ready."""

    def mark_pods_not_ready(self, node_name):
        return True


class NoQuarantine(PodGC):
    """Orphaned pods are deleted as soon as their node is missing from the cache."""

    def gc_orphaned(self, pods, nodes):
        self.quarantine_time = 0.0
        super().gc_orphaned(pods, nodes)


class IgnoresOrphans(PodGC):
    """Pods of deleted nodes are never collected."""

    def gc_orphaned(self, pods, nodes):
        return None


@attrs.define
class NoDefaultTolerationSeconds(ApiServer):
    """The DefaultTolerationSeconds admission plugin is not enabled."""

    def request(self, *args, **kwargs):
        enabled, admission.mutate_create = admission.mutate_create, lambda *a, **k: None
        try:
            return super().request(*args, **kwargs)
        finally:
            admission.mutate_create = enabled


NLC, TEC, GC, API = NodeLifecycleController, TaintEvictionController, PodGC, ApiServer

MUTANTS: dict[str, tuple[Callable, Callable, Callable, Callable]] = {
    "never-evicts": (NLC, NeverEvicts, GC, API),
    "evicts-at-once": (NLC, EvictsAtOnce, GC, API),
    "impatient-monitor": (ImpatientMonitor, TEC, GC, API),
    "never-unknown": (NeverUnknown, TEC, GC, API),
    "skips-never-posted-nodes": (WritesOnlyReadyChanges, TEC, GC, API),
    "keeps-taints": (KeepsTaints, TEC, GC, API),
    "pods-stay-ready": (PodsStayReady, TEC, GC, API),
    "no-quarantine": (NLC, TEC, NoQuarantine, API),
    "ignores-orphans": (NLC, TEC, IgnoresOrphans, API),
    "no-default-toleration-seconds": (NLC, TEC, GC, NoDefaultTolerationSeconds),
}

BREAKS: dict[str, str] = {
    "never-evicts": "NODELIFECYCLE-EVICT-IN-TIME",
    "evicts-at-once": "NODELIFECYCLE-EVICT-NOT-EARLY",
    "impatient-monitor": "NODELIFECYCLE-UNKNOWN-NOT-EARLY",
    "never-unknown": "NODELIFECYCLE-UNKNOWN-IN-TIME",
    "skips-never-posted-nodes": "NODELIFECYCLE-NEVER-UPDATED",
    "keeps-taints": "NODELIFECYCLE-READY-TAINTS",
    "pods-stay-ready": "NODELIFECYCLE-PODS-NOT-READY",
    "no-quarantine": "NODELIFECYCLE-PODGC-JUSTIFIED",
    "ignores-orphans": "NODELIFECYCLE-PODGC-ORPHANS",
    "no-default-toleration-seconds": "NODELIFECYCLE-DEFAULT-TOLERATIONS",
}
