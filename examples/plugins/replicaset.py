"""A ReplicaSet controller as a reconciler (protocol ``Reconciler``).

Run it:  kubeprop conform --sut python:examples.plugins.replicaset:ReplicaSetReconciler

A ReplicaSet keeps ``spec.replicas`` active pods (not being deleted, not
Succeeded or Failed) that match its selector. The shell around this class
watches ReplicaSets and pods and calls ``reconcile((namespace, name), client)``
whenever one of them may need work; each call reads the current state and
makes one round of changes (level-triggered, as every Kubernetes controller):

1. claim pods: adopt active orphans the selector matches (add a controller
   ownerReference), release owned pods it no longer matches;
2. create the missing pods from the template, or delete the surplus ones in
   Kubernetes' deletion preference order;
3. write the status: replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas (ready for longer than minReadySeconds), observedGeneration.

The client's reads go to the API server, so the controller sees its own writes
at once and needs no "expectations" cache. Docs:
https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/ and the
deletion order of
https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/controller/controller_utils.go
"""

from __future__ import annotations

import datetime
import functools
import math
from typing import Any

Manifest = dict[str, Any]
PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}  # deleted first: Pending
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


# ---------------------------------------------------------------------- pod facts


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def phase(pod: Manifest) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def is_active(pod: Manifest) -> bool:
    return not meta(pod).get("deletionTimestamp") and phase(pod) not in ("Succeeded", "Failed")


def instant(stamp: str | None) -> datetime.datetime | None:
    if not stamp:
        return None
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def ready_since(pod: Manifest) -> datetime.datetime | None:
    """When the pod's Ready condition turned True; None if it is not ready."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return instant(condition.get("lastTransitionTime")) or datetime.datetime.min.replace(
                tzinfo=datetime.timezone.utc
            )
    return None


def controller_ref(obj: Manifest) -> Manifest | None:
    return next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def selects(selector: Manifest | None, labels: Manifest | None) -> bool:
    """A label selector; an empty one selects nothing (as the apps/v1 controllers read it)."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, values = expression.get("key"), expression.get("values") or []
        present = key in labels
        holds = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(expression.get("operator"), False)
        if not holds:
            return False
    return True


# ---------------------------------------------------------------------- deletion order


def deletion_order(
    pods: list[Manifest], related: list[Manifest], now: datetime.datetime
) -> list[Manifest]:
    """``pods`` in the order to delete them: upstream's ActivePodsWithRanks preference."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1

    def rank(pod: Manifest) -> int:  # how many related pods share its node
        return on_node.get((pod.get("spec") or {}).get("nodeName") or "", 0)

    def cost(pod: Manifest) -> int:
        try:
            return int((meta(pod).get("annotations") or {}).get(DELETION_COST, 0))
        except ValueError:
            return 0

    def restarts(pod: Manifest) -> int:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return max((int(s.get("restartCount") or 0) for s in statuses), default=0)

    def bucket(when: datetime.datetime) -> int:
        """Times are compared by the power of two of their age in nanoseconds."""
        age = round((now - when).total_seconds() * 1e9)
        return int(math.log2(age)) if age > 0 else -1

    def newer_first(a: Manifest, b: Manifest, ta, tb) -> int:
        if ta is None or tb is None:
            return -1 if ta is None else 1
        if bucket(ta) != bucket(tb):
            return -1 if bucket(ta) < bucket(tb) else 1
        ua, ub = str(meta(a).get("uid")), str(meta(b).get("uid"))
        return (ua > ub) - (ua < ub)

    def compare(a: Manifest, b: Manifest) -> int:
        for key in (
            lambda p: bool((p.get("spec") or {}).get("nodeName")),  # unassigned first
            lambda p: PHASE_RANK.get(phase(p), 3),  # Pending, Unknown, Running
            lambda p: ready_since(p) is not None,  # not ready first
            cost,  # lower deletion cost first
            lambda p: -rank(p),  # more related pods on its node first
        ):
            ka, kb = key(a), key(b)
            if ka != kb:
                return -1 if ka < kb else 1
        ra, rb = ready_since(a), ready_since(b)
        if ra is not None and rb is not None and ra != rb:
            return newer_first(a, b, ra, rb)  # more recently ready first
        if restarts(a) != restarts(b):
            return -1 if restarts(a) > restarts(b) else 1  # more restarts first
        ca, cb = (
            instant(meta(a).get("creationTimestamp")),
            instant(meta(b).get("creationTimestamp")),
        )
        if ca != cb:
            return newer_first(a, b, ca, cb)  # newer first
        return 0

    # Times within the same power of two tie-break by uid, equal times do not: the order is
    # not transitive, so a sort could depend on the order the pods came in. Pick, one at a
    # time, a pod that no remaining pod goes before.
    remaining = sorted(pods, key=functools.cmp_to_key(compare))
    ordered = []
    while remaining:
        first = next(
            (p for p in remaining if not any(compare(q, p) < 0 for q in remaining)), remaining[0]
        )
        ordered.append(first)
        remaining.remove(first)
    return ordered


# ---------------------------------------------------------------------- the reconciler


class ReplicaSetReconciler:
    """kubeprop.spec.contracts.Reconciler for apps/v1 ReplicaSets."""

    kind = "controller"  # optional: says which protocol this is
    role = "replicaset"  # optional: the cluster role it replaces (follows from resource)
    resource = "replicasets"  # the primary resource
    owns = ("pods",)  # the resources it makes; their changes wake the owner up

    def reconcile(self, key: tuple[str | None, str], client) -> float | None:
        namespace, name = key
        rs = client.get("replicasets", namespace, name)
        if rs is None:
            return None  # deleted: the garbage collector removes its pods
        spec = rs.get("spec") or {}
        pods = client.list("pods", namespace)
        owned = self.claim(rs, [p for p in pods if is_active(p)], client)
        if not meta(rs).get("deletionTimestamp"):
            want = int(spec.get("replicas", 1))
            if len(owned) < want:
                for _ in range(want - len(owned)):
                    owned.append(self.create_pod(rs, client))
            elif len(owned) > want:
                doomed = deletion_order(owned, self.related(rs, pods, client), client.now())
                for pod in doomed[: len(owned) - want]:
                    client.delete("pods", namespace, meta(pod)["name"], uid=meta(pod)["uid"])
                    client.event(
                        rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}"
                    )
                    owned.remove(pod)
        return self.update_status(rs, owned, client)

    def claim(self, rs: Manifest, active: list[Manifest], client) -> list[Manifest]:
        """The active pods the ReplicaSet controls once orphans are adopted and pods it no
        longer selects are released."""
        uid, selector = meta(rs)["uid"], (rs.get("spec") or {}).get("selector")
        owned = []
        for pod in active:
            ref = controller_ref(pod)
            matches = selects(selector, meta(pod).get("labels"))
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    owned.append(pod)
                else:  # release: drop our reference
                    refs = [
                        r for r in meta(pod).get("ownerReferences") or [] if r.get("uid") != uid
                    ]
                    self._patch_refs(pod, refs, client)
            elif ref is None and matches and not meta(rs).get("deletionTimestamp"):
                refs = [*(meta(pod).get("ownerReferences") or []), self.owner_reference(rs)]
                adopted = self._patch_refs(pod, refs, client)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    @staticmethod
    def _patch_refs(pod: Manifest, refs: list[Manifest], client) -> Manifest | None:
        from kubeprop.spec.contracts import ApiError

        patch = {
            "metadata": {
                "ownerReferences": refs or None,
                "resourceVersion": meta(pod)["resourceVersion"],  # only the pod we looked at
            }
        }
        try:
            return client.patch("pods", meta(pod)["namespace"], meta(pod)["name"], patch)
        except ApiError as error:
            if error.code in (404, 409):  # gone or changed: the next reconcile looks again
                return None
            raise

    @staticmethod
    def owner_reference(rs: Manifest) -> Manifest:
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": meta(rs)["name"],
            "uid": meta(rs)["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def create_pod(self, rs: Manifest, client) -> Manifest:
        template = (rs.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{meta(rs)['name']}-",
                "namespace": meta(rs)["namespace"],
                "labels": dict(template_meta.get("labels") or {}),
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [self.owner_reference(rs)],
            },
            "spec": template.get("spec") or {},
        }
        pod = client.create("pods", body, namespace=meta(rs)["namespace"])
        client.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {meta(pod)['name']}")
        return pod

    @staticmethod
    def related(rs: Manifest, pods: list[Manifest], client) -> list[Manifest]:
        """Pods of every ReplicaSet with the same owner as this one (its siblings of a
        Deployment), or its own: spreading deletions over nodes counts them all."""
        owner = controller_ref(rs)
        uids = {meta(rs)["uid"]}
        if owner is not None:
            for other in client.list("replicasets", meta(rs)["namespace"]):
                if (controller_ref(other) or {}).get("uid") == owner.get("uid"):
                    uids.add(meta(other)["uid"])
        return [p for p in pods if (controller_ref(p) or {}).get("uid") in uids]

    def update_status(self, rs: Manifest, owned: list[Manifest], client) -> float | None:
        """Write the counts; ask to be called again when a ready pod becomes available."""
        spec = rs.get("spec") or {}
        min_ready = datetime.timedelta(seconds=int(spec.get("minReadySeconds") or 0))
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        now = client.now()
        ready = [since for pod in owned if (since := ready_since(pod)) is not None]
        available = [since for since in ready if not min_ready or since + min_ready < now]
        status = {
            **(rs.get("status") or {}),
            "replicas": len(owned),
            "fullyLabeledReplicas": sum(
                1
                for pod in owned
                if all((meta(pod).get("labels") or {}).get(k) == v for k, v in labels.items())
            ),
            "readyReplicas": len(ready),
            "availableReplicas": len(available),
            "observedGeneration": meta(rs).get("generation"),
        }
        if status != rs.get("status"):
            client.update_status("replicasets", {**rs, "status": status})
        waiting = [since + min_ready - now for since in ready if since + min_ready >= now]
        if waiting:  # some become available later: look again just after the first does
            return min(waiting).total_seconds() + 0.5
        return None
