"""The ReplicaSet controller: keeps ``spec.replicas`` active pods per ReplicaSet.

Contract (spec/replicaset.md; upstream pkg/controller/replicaset/replica_set.go):
- Level-triggered: one reconcile per ReplicaSet key reads the ReplicaSet and the
  pods of its namespace from informers; pod and ReplicaSet events only enqueue keys.
- Active pods are those neither terminating nor Succeeded/Failed. The
  ReplicaSet claims active pods: it adopts orphans its selector matches and
  releases owned pods it no longer matches, stamping one controller
  ownerReference with blockOwnerDeletion (`REPLICASET-OWNERSHIP`).
- ``replica_diff(rs, active)`` = active - replicas. Below zero it creates
  pods from the template (generateName "<rs>-") in slow-start batches 1, 2, 4, ...
  (at most ``burst_replicas`` per sync); above zero it deletes the surplus in the
  deletion preference order of ``pods_to_delete`` (`REPLICASET-DELETION-ORDER`).
  Expectations keep it from acting again before its informer has seen its own
  creations and deletions, so it never owns more active pods than replicas once
  caught up (`REPLICASET-NO-SURPLUS`, `REPLICASET-CONVERGES`).
- Events: SuccessfulCreate "Created pod: x", SuccessfulDelete "Deleted pod: x",
  FailedCreate / FailedDelete "Error creating: ..." / "Error deleting: ...".
- Status through the status subresource: replicas, fullyLabeledReplicas,
  readyReplicas, availableReplicas (ready for more than minReadySeconds) and
  observedGeneration (`REPLICASET-STATUS`).
"""

from __future__ import annotations

import functools
from typing import Any

import attrs

from kubeprop.reference.client import (
    NORMAL,
    WARNING,
    Controller,
    EventRecorder,
    Informer,
    Informers,
    Result,
    WorkQueue,
    key_of,
    split_key,
)
from kubeprop.reference.controllers import _pods
from kubeprop.reference.controllers._pods import Manifest, meta
from kubeprop.reference.loop import EventLoop

COMPONENT = "replicaset-controller"
# kube-controller-manager --concurrent-replicaset-syncs aside, one sync creates or deletes at most:
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH_SIZE = 1
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """The batch sizes of upstream slowStartBatch: 1, 2, 4, ... until ``count`` calls are made."""
    batches, remaining, size = [], count, min(count, initial)
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return batches


def deletion_key_compare(a: Manifest, b: Manifest, ranks: dict[str, int], now: float) -> int:
    """Upstream ActivePodsWithRanks.Less as a comparison: < 0 when ``a`` goes first."""
    a_node = (a.get("spec") or {}).get("nodeName") or ""
    b_node = (b.get("spec") or {}).get("nodeName") or ""
    if bool(a_node) != bool(b_node):
        return -1 if not a_node else 1  # unassigned first
    a_phase = _PHASE_RANK.get(_pods.phase(a), 3)
    b_phase = _PHASE_RANK.get(_pods.phase(b), 3)
    if a_phase != b_phase:
        return -1 if a_phase < b_phase else 1  # Pending < Unknown < Running
    if _pods.is_ready(a) != _pods.is_ready(b):
        return -1 if not _pods.is_ready(a) else 1  # not ready first
    a_cost, b_cost = _deletion_cost(a), _deletion_cost(b)
    if a_cost != b_cost:
        return -1 if a_cost < b_cost else 1  # lower pod-deletion-cost first
    a_rank, b_rank = ranks.get(_pods.uid_of(a), 0), ranks.get(_pods.uid_of(b), 0)
    if a_rank != b_rank:
        return -1 if a_rank > b_rank else 1  # more related pods on its node first
    if _pods.is_ready(a) and _pods.is_ready(b):
        a_since, b_since = _pods.ready_since(a), _pods.ready_since(b)
        if a_since != b_since:
            return _newer_first(a, b, a_since, b_since, now)
    if _pods.restarts(a) != _pods.restarts(b):
        return -1 if _pods.restarts(a) > _pods.restarts(b) else 1  # more restarts first
    a_made, b_made = _pods.created_at(a), _pods.created_at(b)
    if a_made != b_made:
        return _newer_first(a, b, a_made, b_made, now)
    return 0


def _newer_first(a: Manifest, b: Manifest, ta: float | None, tb: float | None, now: float) -> int:
    """Later instant first, compared in logarithmic buckets of age; ties by uid (LogarithmicScaleDown)."""
    if ta is None or tb is None:
        return -1 if ta is None else 1  # afterOrZero: a zero time goes first
    diff = _pods.logarithmic_rank_diff(ta, tb, now)
    if diff == 0:
        return (_pods.uid_of(a) > _pods.uid_of(b)) - (_pods.uid_of(a) < _pods.uid_of(b))
    return -1 if diff < 0 else 1


def _deletion_cost(pod: Manifest) -> int:
    value = (meta(pod).get("annotations") or {}).get("controller.kubernetes.io/pod-deletion-cost")
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def related_ranks(pods: list[Manifest], related: list[Manifest]) -> dict[str, int]:
    """uid -> how many active related pods share its node (getPodsRankedByRelatedPodsOnSameNode)."""
    on_node: dict[str, int] = {}
    for pod in related:
        if _pods.is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1
    return {
        _pods.uid_of(pod): on_node.get((pod.get("spec") or {}).get("nodeName") or "", 0)
        for pod in pods
    }


@attrs.define(eq=False)
class ReplicaSetController:
    """kube-controller-manager's replicaset controller, on the simulated loop."""

    connection: Any  # a client Connection to the API server
    loop: EventLoop
    recorder: EventRecorder
    watch_latency: float = 0.1  # poll interval of the informers
    burst_replicas: int = BURST_REPLICAS
    _informers: Informers | None = attrs.field(init=False, default=None)
    _pods: Informer | None = attrs.field(init=False, default=None)  # every pod
    _replicasets: Informer | None = attrs.field(init=False, default=None)  # every ReplicaSet
    _controller: Controller | None = attrs.field(init=False, default=None)  # the reconcile loop
    # Per ReplicaSet key: creations / deletions made but not yet seen in the pod informer.
    _expectations: _pods.Expectations = attrs.field(init=False)
    stopped: bool = attrs.field(init=False, default=False)  # stop() was called

    def __attrs_post_init__(self) -> None:
        self._expectations = _pods.Expectations(lambda: self.loop.now)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._pods = self._informers.informer("pods")
        self._replicasets = self._informers.informer("replicasets")
        queue = WorkQueue(self.loop)
        self._controller = Controller(COMPONENT, queue, self.reconcile, self.loop)
        self._replicasets.add_handler(self._enqueue, lambda old, new: self._enqueue(new), None)
        self._replicasets.add_handler(on_delete=self._rs_deleted)
        self._pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self._informers.start()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        if self._controller is not None:
            self._controller.stop()

    # ------------------------------------------------------------------ handlers

    def _enqueue(self, rs: Manifest) -> None:
        if self._controller is not None and not self.stopped:
            self._controller.queue.add(key_of(rs))

    def _enqueue_after(self, rs: Manifest, delay: float) -> None:
        if self._controller is not None and not self.stopped:
            self._controller.queue.add_after(key_of(rs), delay)

    def _rs_deleted(self, rs: Manifest) -> None:
        self._expectations.forget(key_of(rs))
        self._enqueue(rs)

    def _owner(self, pod: Manifest) -> Manifest | None:
        """The ReplicaSet the pod's controllerRef names, if it is in the cache with that uid."""
        ref = _pods.controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet" or self._replicasets is None:
            return None
        rs = self._replicasets.lister().get(meta(pod).get("namespace"), ref.get("name"))
        return rs if rs is not None and _pods.uid_of(rs) == ref.get("uid") else None

    def _matching(self, pod: Manifest) -> list[Manifest]:
        if self._replicasets is None:
            return []
        return [
            rs
            for rs in self._replicasets.lister().list(meta(pod).get("namespace"))
            if _pods.selector_matches(
                (rs.get("spec") or {}).get("selector"), meta(pod).get("labels")
            )
        ]

    def _pod_added(self, pod: Manifest) -> None:
        if _pods.is_terminating(pod):
            self._pod_deleted(pod)  # seen already terminating: a deletion to observe
            return
        owner = self._owner(pod)
        if owner is not None:
            self._expectations.creation_observed(key_of(owner))
            self._enqueue(owner)
        elif _pods.controller_of(pod) is None:
            for rs in self._matching(pod):
                self._enqueue(rs)

    def _pod_updated(self, old: Manifest, new: Manifest) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        if _pods.is_terminating(new) and not _pods.is_terminating(old):
            self._pod_deleted(new)
        old_owner, owner = self._owner(old), self._owner(new)
        if old_owner is not None and (owner is None or key_of(owner) != key_of(old_owner)):
            self._enqueue(old_owner)
        if owner is not None:
            self._enqueue(owner)
            min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and _pods.is_ready(new) and not _pods.is_ready(old):
                self._enqueue_after(owner, min_ready + 1)
        elif _pods.controller_of(new) is None:
            for rs in self._matching(new) + self._matching(old):
                self._enqueue(rs)

    def _pod_deleted(self, pod: Manifest) -> None:
        owner = self._owner(pod)
        if owner is None:
            return
        self._expectations.deletion_observed(key_of(owner), key_of(pod))
        self._enqueue(owner)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, key: str) -> Result | None:
        if self.stopped or self._replicasets is None or not self._informers.has_synced():
            return Result(requeue_after=self.watch_latency) if not self.stopped else None
        namespace, name = split_key(key)
        rs = self._replicasets.lister().get(namespace, name)
        if rs is None:
            self._expectations.forget(key)
            return None
        needs_sync = self._expectations.satisfied(key)
        all_pods = self._pods.lister().list(namespace)
        try:
            owned = self.claim_pods(rs, self.active_pods(all_pods))
        except _pods.ClaimError:
            return Result(requeue=True)
        error = None
        if needs_sync and not _pods.is_terminating(rs):
            error = self.manage_replicas(key, rs, owned, all_pods)
        status_ok = self.update_status(rs, owned, error)
        if error is not None or not status_ok:
            return Result(requeue=True)
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        ready = sum(1 for pod in owned if _pods.is_ready(pod))
        available = self.count_available(rs, owned)
        if min_ready > 0 and ready == spec.get("replicas", 1) and available != ready:
            return Result(requeue_after=float(min_ready))
        return None

    def active_pods(self, pods: list[Manifest]) -> list[Manifest]:
        """Upstream FilterActivePods: neither terminating nor Succeeded/Failed."""
        return [pod for pod in pods if _pods.is_active(pod)]

    def claim_pods(self, rs: Manifest, active: list[Manifest]) -> list[Manifest]:
        """Adopt matching orphans, release owned pods that stopped matching; the pods it controls."""
        selector = (rs.get("spec") or {}).get("selector")
        return _pods.claim(
            self.connection, "pods", rs, selector, active, functools.partial(self._fresh, rs)
        )

    def _fresh(self, rs: Manifest) -> bool:
        """canAdoptFunc: a quorum read says the ReplicaSet is still there, same uid, not deleting."""
        answer = self.connection.request(
            "get", "replicasets", namespace=meta(rs).get("namespace"), name=meta(rs).get("name")
        )
        return (
            answer.ok
            and _pods.uid_of(answer.body) == _pods.uid_of(rs)
            and not _pods.is_terminating(answer.body)
        )

    def replica_diff(self, rs: Manifest, active_pods: list[Manifest]) -> int:
        """How many pods too many (> 0) or too few (< 0) the ReplicaSet controls."""
        return len(active_pods) - int((rs.get("spec") or {}).get("replicas", 1))

    def manage_replicas(
        self, key: str, rs: Manifest, owned: list[Manifest], all_pods: list[Manifest]
    ) -> str | None:
        diff = self.replica_diff(rs, owned)
        if diff < 0:
            return self._create(key, rs, min(-diff, self.burst_replicas))
        if diff > 0:
            related = self._related_pods(rs, all_pods)
            doomed = self.pods_to_delete(owned, related, min(diff, self.burst_replicas))
            return self._delete(key, rs, doomed)
        return None

    def _related_pods(self, rs: Manifest, all_pods: list[Manifest]) -> list[Manifest]:
        """Pods controlled by any ReplicaSet with the same controller as ``rs`` (or by ``rs``)."""
        owner = _pods.controller_of(rs)
        siblings = [rs]
        if owner is not None:
            siblings = [
                other
                for other in self._replicasets.lister().list(meta(rs).get("namespace"))
                if (_pods.controller_of(other) or {}).get("uid") == owner.get("uid")
            ]
        uids = {_pods.uid_of(other) for other in siblings}
        return [pod for pod in all_pods if (_pods.controller_of(pod) or {}).get("uid") in uids]

    def pods_to_delete(
        self, owned: list[Manifest], related: list[Manifest], diff: int
    ) -> list[Manifest]:
        """The ``diff`` pods to delete first, in upstream's deletion preference order."""
        if diff >= len(owned):
            return owned[:diff]
        ranks = related_ranks(owned, related)
        now = self.loop.now
        ordered = sorted(
            owned,
            key=functools.cmp_to_key(lambda a, b: deletion_key_compare(a, b, ranks, now)),
        )
        return ordered[:diff]

    def _create(self, key: str, rs: Manifest, count: int) -> str | None:
        self._expectations.expect_creations(key, count)
        made = 0
        for batch in slow_start_batches(count):
            failures = [
                message for message in (self._create_pod(rs) for _ in range(batch)) if message
            ]
            made += batch - len(failures)
            if failures:
                for _ in range(count - made):
                    self._expectations.creation_observed(key)  # never coming
                return failures[0]
        return None

    def _create_pod(self, rs: Manifest) -> str | None:
        template = (rs.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        pod_meta: Manifest = {
            "generateName": f"{meta(rs).get('name')}-",
            "namespace": meta(rs).get("namespace"),
            "ownerReferences": [_pods.controller_ref(rs)],
        }
        for field in ("labels", "annotations", "finalizers"):
            if template_meta.get(field):
                pod_meta[field] = template_meta[field]
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": template.get("spec"),
        }
        answer = self.connection.request(
            "create", "pods", namespace=meta(rs).get("namespace"), body=body
        )
        if answer.ok:
            self.recorder.event(
                rs, NORMAL, "SuccessfulCreate", f"Created pod: {meta(answer.body)['name']}"
            )
            return None
        message = f"Error creating: {(answer.body or {}).get('message', answer.code)}"
        self.recorder.event(rs, WARNING, "FailedCreate", message)
        return message

    def _delete(self, key: str, rs: Manifest, doomed: list[Manifest]) -> str | None:
        self._expectations.expect_deletions(key, [key_of(pod) for pod in doomed])
        failure = None
        for pod in doomed:
            name = meta(pod)["name"]
            answer = self.connection.request(
                "delete", "pods", namespace=meta(pod).get("namespace"), name=name
            )
            if answer.ok:
                self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
                continue
            self._expectations.deletion_observed(key, key_of(pod))
            if answer.code != 404:
                failure = f"Error deleting: {(answer.body or {}).get('message', answer.code)}"
                self.recorder.event(rs, WARNING, "FailedDelete", failure)
        return failure

    # ------------------------------------------------------------------ status

    def count_available(self, rs: Manifest, owned: list[Manifest]) -> int:
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        return sum(1 for pod in owned if _pods.is_available(pod, min_ready, self.loop.now))

    def calculate_status(self, rs: Manifest, owned: list[Manifest], error: str | None) -> Manifest:
        template_labels = (
            ((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}
        ).get("labels") or {}
        status = dict(rs.get("status") or {})
        status["replicas"] = len(owned)
        status["fullyLabeledReplicas"] = sum(
            1
            for pod in owned
            if all((meta(pod).get("labels") or {}).get(k) == v for k, v in template_labels.items())
        )
        status["readyReplicas"] = sum(1 for pod in owned if _pods.is_ready(pod))
        status["availableReplicas"] = self.count_available(rs, owned)
        status["observedGeneration"] = meta(rs).get("generation")
        conditions = [
            c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"
        ]
        failure = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None
        )
        if error is not None:
            reason = "FailedCreate" if error.startswith("Error creating") else "FailedDelete"
            conditions.append(
                failure
                or {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": reason,
                    "message": error,
                    "lastTransitionTime": self.loop.clock.timestamp(),
                }
            )
        if conditions:
            status["conditions"] = conditions
        else:
            status.pop("conditions", None)
        return status

    def update_status(self, rs: Manifest, owned: list[Manifest], error: str | None) -> bool:
        status = self.calculate_status(rs, owned, error)
        if status == (rs.get("status") or {}):
            return True
        body = {**rs, "status": status}
        answer = self.connection.request(
            "update",
            "replicasets",
            namespace=meta(rs).get("namespace"),
            name=meta(rs).get("name"),
            subresource="status",
            body=body,
        )
        return answer.ok
