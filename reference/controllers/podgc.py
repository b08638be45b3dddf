"""The pod garbage collector of kube-controller-manager (pod-garbage-collector).

Contract (spec/nodelifecycle.md, https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection):
every ``gc_check_period`` (20 s) it force-deletes (gracePeriodSeconds 0), after
marking a pod that is not yet terminal Failed:
- terminated pods (phase Succeeded or Failed) beyond ``terminated_pod_gc_threshold``
  (12500; 0 disables it), evicted ones first, then oldest first;
- terminating pods on a node that is not Ready and carries the
  ``node.kubernetes.io/out-of-service`` taint;
- orphaned pods: bound to a node that is absent from the node cache, still
  absent after ``quarantine_time`` (40 s) and confirmed absent by a live read
  (with the DisruptionTarget condition, reason DeletionByPodGC)
  (NODELIFECYCLE-PODGC-ORPHANS, NODELIFECYCLE-PODGC-JUSTIFIED);
- terminating pods never bound to a node.
A failed request is left for the next pass.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.client import Informers
from kubeprop.reference.controllers.nodelifecycle import (
    MERGE_PATCH,
    TAINT_OUT_OF_SERVICE,
    ready_status,
    taints_of,
)
from kubeprop.reference.loop import EventLoop, Handle

GC_CHECK_PERIOD = 20.0  # gcCheckPeriod
QUARANTINE_TIME = 40.0  # quarantineTime
TERMINATED_POD_GC_THRESHOLD = 12500  # --terminated-pod-gc-threshold
FORCE = {"gracePeriodSeconds": 0}

Manifest = dict[str, Any]


def is_terminated(pod: Manifest) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Pending", "Running", "Unknown", None)


def is_evicted(pod: Manifest) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Failed" and status.get("reason") == "Evicted"


@attrs.define(eq=False)
class PodGC:
    """kube-controller-manager's pod-garbage-collector."""

    connection: Any
    loop: EventLoop
    recorder: Any
    watch_latency: float = 0.1
    gc_check_period: float = GC_CHECK_PERIOD
    quarantine_time: float = QUARANTINE_TIME
    terminated_pod_gc_threshold: int = TERMINATED_POD_GC_THRESHOLD
    _informers: Any = attrs.field(init=False, default=None)
    _pods: Any = attrs.field(init=False, default=None)
    _nodes: Any = attrs.field(init=False, default=None)
    # node name -> the instant it leaves quarantine (the delaying nodeQueue; earliest wins).
    _quarantine: dict[str, float] = attrs.field(init=False, factory=dict)
    _timer: Handle | None = attrs.field(init=False, default=None)  # the next pass
    stopped: bool = attrs.field(init=False, default=False)
    errors: list[str] = attrs.field(init=False, factory=list)  # the latest failed passes

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._pods = self._informers.informer("pods")
        self._nodes = self._informers.informer("nodes")
        self._informers.start()
        self._timer = self.loop.call_later(0, self._pass)

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        if self._timer is not None:
            self.loop.cancel(self._timer)

    def _pass(self) -> None:
        self._timer = None
        if self.stopped:
            return
        try:
            self.gc()
        except Exception as error:  # a bug or a malformed object: report, keep running
            self.errors.append(f"{type(error).__name__}: {error}")
            del self.errors[:-100]
        finally:
            if not self.stopped:
                self._timer = self.loop.call_later(self.gc_check_period, self._pass)

    def gc(self) -> None:
        pods = self._pods.lister().list()
        nodes = {node["metadata"]["name"]: node for node in self._nodes.lister().list()}
        if self.terminated_pod_gc_threshold > 0:
            self.gc_terminated(pods)
        self.gc_terminating(pods, nodes)
        self.gc_orphaned(pods, nodes)
        self.gc_unscheduled_terminating(pods)

    def gc_terminated(self, pods: list[Manifest]) -> None:
        terminated = [pod for pod in pods if is_terminated(pod)]
        excess = len(terminated) - self.terminated_pod_gc_threshold
        if excess <= 0:
            return
        terminated.sort(
            key=lambda p: (
                not is_evicted(p),
                p["metadata"].get("creationTimestamp") or "",
                p["metadata"]["name"],
            )
        )
        for pod in terminated[:excess]:
            self.force_delete(pod)

    def gc_terminating(self, pods: list[Manifest], nodes: dict[str, Manifest]) -> None:
        for pod in pods:
            if not pod["metadata"].get("deletionTimestamp"):
                continue
            node = nodes.get((pod.get("spec") or {}).get("nodeName") or "")
            if node is None:
                continue
            out_of_service = any(t.get("key") == TAINT_OUT_OF_SERVICE for t in taints_of(node))
            if ready_status(node) != "True" and out_of_service:
                self.force_delete(pod)

    def gc_orphaned(self, pods: list[Manifest], nodes: dict[str, Manifest]) -> None:
        now = self.loop.now
        for pod in pods:
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name and node_name not in nodes:
                due = now + self.quarantine_time
                self._quarantine[node_name] = min(self._quarantine.get(node_name, due), due)
        deleted = set()
        for node_name in sorted(self._quarantine):
            if self._quarantine[node_name] > now:
                continue
            del self._quarantine[node_name]
            if node_name in nodes:
                continue
            if self.node_is_gone(node_name):
                deleted.add(node_name)
        for pod in pods:
            if (pod.get("spec") or {}).get("nodeName") in deleted:
                condition = {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "DeletionByPodGC",
                    "message": "PodGC: node no longer exists",
                }
                self.force_delete(pod, condition)

    def node_is_gone(self, node_name: str) -> bool:
        """checkIfNodeExists: a live read, never the cache."""
        return self.connection.request("get", "nodes", name=node_name).code == 404

    def gc_unscheduled_terminating(self, pods: list[Manifest]) -> None:
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") and not (pod.get("spec") or {}).get(
                "nodeName"
            ):
                self.force_delete(pod)

    def force_delete(self, pod: Manifest, condition: Manifest | None = None) -> bool:
        """markFailedAndDeletePod: phase Failed first (so nothing keeps it Running), then
        a delete with grace 0."""
        meta = pod["metadata"]
        namespace, name = meta.get("namespace"), meta["name"]
        status = pod.get("status") or {}
        if status.get("phase") not in ("Succeeded", "Failed"):
            patch: Manifest = {"phase": "Failed"}
            if condition is not None:
                condition = {**condition, "lastTransitionTime": self.loop.clock.timestamp()}
                others = [
                    c for c in status.get("conditions") or [] if c.get("type") != condition["type"]
                ]
                patch["conditions"] = [*others, condition]
            answer = self.connection.request(
                "patch",
                "pods",
                namespace=namespace,
                name=name,
                subresource="status",
                body={"status": patch},
                params=MERGE_PATCH,
            )
            if not answer.ok:
                return False
        answer = self.connection.request(
            "delete", "pods", namespace=namespace, name=name, body=dict(FORCE)
        )
        return answer.ok
