"""The garbage collector of kube-controller-manager: ownerReferences and cascading deletion.

Contract (spec/garbagecollector.md, https://kubernetes.io/docs/concepts/architecture/garbage-collection/):
- It watches ``resources`` and keeps a graph of owners and dependents by uid.
- A dependent is deleted (background cascading deletion) once none of its
  ownerReferences names a live owner: an owner is absent when a live read
  (never the cache) answers 404 or an object of another uid
  (GC-DELETES-DEPENDENTS). A dependent with at least one live owner is never
  deleted; its dangling references are removed instead (GC-NEVER-LIVE-OWNER).
  Its delete carries the dependent's uid as a precondition and the
  propagation policy its finalizers ask for (``orphan`` -> Orphan,
  ``foregroundDeletion`` -> Foreground, else Background).
- An owner being deleted with the ``orphan`` finalizer: the collector removes
  the references to it from its dependents, then the finalizer (GC-ORPHANS-KEPT).
- An owner being deleted with the ``foregroundDeletion`` finalizer: the
  collector deletes its dependents and removes the finalizer once none with
  ``blockOwnerDeletion: true`` remains (GC-FOREGROUND-WAITS).
The API server does not yet turn a delete's ``propagationPolicy`` into these
finalizers, so a client that wants orphan or foreground deletion sets the
finalizer before deleting.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.apiserver.resources import RESOURCES, Resource
from kubeprop.reference.client import Controller, Informers, WorkQueue
from kubeprop.reference.loop import EventLoop

Manifest = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
MERGE_PATCH = {"contentType": "application/merge-patch+json"}
# The resources collected by default: every served one a workload owns or is owned by.
DEFAULT_RESOURCES = ("deployments", "replicasets", "pods", "services", "endpointslices", "nodes")
# (apiVersion, kind) -> resource, for resolving ownerReferences.
BY_KIND: dict[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in RESOURCES}


@attrs.frozen
class ObjectRef:
    """One object in the graph: enough to read, patch and delete it."""

    resource: str
    namespace: str | None
    name: str
    uid: str


def owner_refs(obj: Manifest) -> list[Manifest]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def finalizers(obj: Manifest) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


@attrs.define(eq=False)
class GarbageCollector:
    """kube-controller-manager's garbage-collector-controller."""

    connection: Any
    loop: EventLoop
    recorder: Any
    watch_latency: float = 0.1
    resources: tuple[str, ...] = DEFAULT_RESOURCES
    _informers: Any = attrs.field(init=False, default=None)
    # uid -> the object as last seen by an informer (the graph's nodes).
    _objects: dict[str, ObjectRef] = attrs.field(init=False, factory=dict)
    # owner uid -> uids of the objects whose ownerReferences name it (the graph's edges).
    _dependents: dict[str, set[str]] = attrs.field(init=False, factory=dict)
    # uid -> the owner uids it names (to drop edges when it changes or goes).
    _owners: dict[str, set[str]] = attrs.field(init=False, factory=dict)
    _delete_queue: Controller | None = attrs.field(init=False, default=None)  # attemptToDelete
    _orphan_queue: Controller | None = attrs.field(init=False, default=None)  # attemptToOrphan
    stopped: bool = attrs.field(init=False, default=False)

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._delete_queue = Controller(
            "garbagecollector-delete", WorkQueue(self.loop), self._attempt_to_delete, self.loop
        )
        self._orphan_queue = Controller(
            "garbagecollector-orphan", WorkQueue(self.loop), self._attempt_to_orphan, self.loop
        )
        for plural in self.resources:
            informer = self._informers.informer(plural)
            informer.add_handler(
                on_add=lambda obj, p=plural: self._observe(p, obj),
                on_update=lambda old, new, p=plural: self._observe(p, new),
                on_delete=lambda obj, p=plural: self._forget(obj),
            )
        self._informers.start()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        for controller in (self._delete_queue, self._orphan_queue):
            if controller is not None:
                controller.stop()

    # ------------------------------------------------------------------ the graph

    def _observe(self, plural: str, obj: Manifest) -> None:
        meta = obj.get("metadata") or {}
        uid = meta.get("uid")
        if not uid or self.stopped:
            return
        self._objects[uid] = ObjectRef(plural, meta.get("namespace"), meta["name"], uid)
        owners = {ref.get("uid") for ref in owner_refs(obj) if ref.get("uid")}
        for owner in self._owners.get(uid, set()) - owners:
            self._dependents.get(owner, set()).discard(uid)
        for owner in owners:
            self._dependents.setdefault(owner, set()).add(uid)
        self._owners[uid] = owners
        if meta.get("deletionTimestamp"):
            if ORPHAN in finalizers(obj):
                self._orphan_queue.queue.add(uid)
            if FOREGROUND in finalizers(obj):
                self._delete_queue.queue.add(uid)
        if any(owner not in self._objects for owner in owners):
            self._delete_queue.queue.add(uid)  # an owner never seen: verify it exists

    def _forget(self, obj: Manifest) -> None:
        uid = (obj.get("metadata") or {}).get("uid")
        if not uid or self.stopped:
            return
        self._objects.pop(uid, None)
        for owner in self._owners.pop(uid, set()):
            self._dependents.get(owner, set()).discard(uid)
            if owner in self._objects:
                self._delete_queue.queue.add(owner)  # a foreground owner may be done now
        for dependent in sorted(self._dependents.get(uid, set())):
            self._delete_queue.queue.add(dependent)

    # ------------------------------------------------------------------ live reads

    def _read(self, ref: ObjectRef) -> Manifest | None:
        """The object now, from the API server; None if gone or of another uid."""
        answer = self.connection.request(
            "get", ref.resource, namespace=ref.namespace, name=ref.name
        )
        if answer.code == 404:
            return None
        if not answer.ok:
            raise RuntimeError(f"cannot read {ref.resource} {ref.name}: {answer.reason}")
        if (answer.body.get("metadata") or {}).get("uid") != ref.uid:
            return None
        return answer.body

    def owner_state(self, dependent: Manifest, ref: Manifest) -> str:
        """ "absent", "waiting" (being deleted in the foreground) or "solid", read live."""
        resource = BY_KIND.get((ref.get("apiVersion"), ref.get("kind")))
        if resource is None:
            return "solid"  # an unknown kind cannot be verified: never collect on it
        namespace = (
            (dependent.get("metadata") or {}).get("namespace") if resource.namespaced else None
        )
        owner = self._read(
            ObjectRef(resource.plural, namespace, ref.get("name", ""), ref.get("uid", ""))
        )
        if owner is None:
            return "absent"
        if owner["metadata"].get("deletionTimestamp") and FOREGROUND in finalizers(owner):
            return "waiting"
        return "solid"

    # ------------------------------------------------------------------ attemptToDelete

    def _attempt_to_delete(self, uid: str) -> None:
        ref = self._objects.get(uid)
        if ref is None or self.stopped:
            return
        obj = self._read(ref)
        if obj is None:
            self._forget({"metadata": {"uid": uid}})
            return
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            if FOREGROUND in finalizers(obj):
                self._process_deleting_dependents(ref, obj)
            return
        refs = owner_refs(obj)
        if not refs:
            return
        states = [(owner, self.owner_state(obj, owner)) for owner in refs]
        solid = [owner for owner, state in states if state == "solid"]
        dangling = [owner for owner, state in states if state == "absent"]
        waiting = [owner for owner, state in states if state == "waiting"]
        if not self.collectible([state for _, state in states]):
            if solid and dangling:
                self._remove_references(ref, obj, {owner.get("uid") for owner in dangling})
            return
        policy = self.propagation_policy(obj)
        if waiting and self._dependents.get(uid):
            policy = "Foreground"
        self.delete(ref, policy)

    def collectible(self, states: list[str]) -> bool:
        """Whether a dependent whose owners are in these states is deleted: only when
        none of them is solid (absent or waiting for its dependents' deletion)."""
        return bool(states) and "solid" not in states

    def propagation_policy(self, obj: Manifest) -> str:
        if ORPHAN in finalizers(obj):
            return "Orphan"
        if FOREGROUND in finalizers(obj):
            return "Foreground"
        return "Background"

    def delete(self, ref: ObjectRef, policy: str) -> None:
        body = {"propagationPolicy": policy, "preconditions": {"uid": ref.uid}}
        answer = self.connection.request(
            "delete", ref.resource, namespace=ref.namespace, name=ref.name, body=body
        )
        if not answer.ok and answer.code not in (404, 409):
            raise RuntimeError(f"cannot delete {ref.resource} {ref.name}: {answer.reason}")

    def _process_deleting_dependents(self, ref: ObjectRef, owner: Manifest) -> None:
        """An owner deleted in the foreground: its dependents go first."""
        blocking = []
        for dependent_uid in sorted(self._dependents.get(ref.uid, set())):
            dependent = self._objects.get(dependent_uid)
            if dependent is None:
                continue
            current = self._read(dependent)
            if current is None:
                continue
            if not current["metadata"].get("deletionTimestamp"):
                self._delete_queue.queue.add(dependent_uid)
            if any(
                r.get("uid") == ref.uid and r.get("blockOwnerDeletion") is True
                for r in owner_refs(current)
            ):
                blocking.append(dependent_uid)
        if not blocking:
            self._remove_finalizer(ref, FOREGROUND)

    # ------------------------------------------------------------------ attemptToOrphan

    def _attempt_to_orphan(self, uid: str) -> None:
        ref = self._objects.get(uid)
        if ref is None or self.stopped:
            return
        for dependent_uid in sorted(self._dependents.get(uid, set())):
            dependent = self._objects.get(dependent_uid)
            if dependent is None:
                continue
            current = self._read(dependent)
            if current is not None:
                self._remove_references(dependent, current, {uid})
        self._remove_finalizer(ref, ORPHAN)

    # ------------------------------------------------------------------ writes

    def _remove_references(self, ref: ObjectRef, obj: Manifest, owners: set[str]) -> None:
        kept = [r for r in owner_refs(obj) if r.get("uid") not in owners]
        body = {
            "metadata": {
                "ownerReferences": kept or None,
                "uid": ref.uid,
                "resourceVersion": obj["metadata"].get("resourceVersion"),
            }
        }
        answer = self.connection.request(
            "patch",
            ref.resource,
            namespace=ref.namespace,
            name=ref.name,
            body=body,
            params=MERGE_PATCH,
        )
        if not answer.ok and answer.code != 404:
            raise RuntimeError(f"cannot patch {ref.resource} {ref.name}: {answer.reason}")

    def _remove_finalizer(self, ref: ObjectRef, finalizer: str) -> None:
        current = self._read(ref)
        if current is None or finalizer not in finalizers(current):
            return
        current["metadata"]["finalizers"] = [f for f in finalizers(current) if f != finalizer]
        answer = self.connection.request(
            "update", ref.resource, namespace=ref.namespace, name=ref.name, body=current
        )
        if not answer.ok and answer.code != 404:
            raise RuntimeError(f"cannot update {ref.resource} {ref.name}: {answer.reason}")
