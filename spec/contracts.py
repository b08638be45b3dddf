"""The protocols a system under test satisfies, with their written contracts.

A third party's store, API server, scheduler or controller is checked by the
conformance suite through these protocols; the reference model satisfies each
of them. Kubernetes manifests (camelCase dicts, as ``kubectl get -o json``
prints them) are the exchange format of every protocol above the store. The
contracts are stated in full in the spec chapters (store.md, apiserver.md,
scheduler.md, replicaset.md, deployment.md) and each rule there names the
invariant that checks it; docs/validating.md shows how to plug each kind in.

Contract of the protocols a third party plugs into the reference cluster
(``kubeprop conform --sut python:MODULE:ATTR``):
- ``Store``: a whole etcd v3-like store; it replaces the reference store.
- ``ApiServer``: a whole API server answering ``request``.
- ``SchedulerPlugin``: the scheduling decision alone. The reference
  kube-scheduler shell keeps the queue, backoff, assume cache, binding
  (``pods/binding``), the FailedScheduling event and PodScheduled condition, and
  asks the plug-in which node each pending pod goes to.
- ``Reconciler``: one controller (ReplicaSet, Deployment, ...). The shell keeps
  the informers of ``resource`` and ``owns``, the work queue and the worker
  loop, and calls ``reconcile(key, client)`` level-triggered, one key at a time,
  with a ``Client`` of manifests.
A protocol may be declared explicitly with a ``kind`` attribute
(``KINDS``); otherwise it is recognised by its methods.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from kubeprop.spec import etcd


@runtime_checkable
class Watcher(Protocol):
    """A watch stream opened by ``Store.watch``.

    A reader may set the attribute ``notify`` to a callable (None: nobody
    listens): the store calls it, with no arguments, whenever it queues
    something for this stream, so the reader polls only when there is
    something to read. The reference API server's watches set it; a store
    used under that API server must call it (the reference store and the etcd
    adapter do)."""

    notify: Callable[[], object] | None

    def poll(self) -> list[etcd.WatchResponse]:
        """The responses delivered since the last poll, oldest first (may be empty)."""

    def request_progress(self) -> None:
        """Ask for a progress notification at the current revision (a bookmark)."""

    def cancel(self) -> None:
        """Stop the stream; later polls return nothing."""


@runtime_checkable
class Store(Protocol):
    """An etcd v3-like key-value store (spec/store.md).

    - Every write request (put, delete_range that deletes something, txn whose
      executed ops write) increments the global revision by exactly one; reads
      never do (STORE-REVISION-MONOTONIC, STORE-TXN-ONE-REVISION).
    - Reads at revision r see the state after the r-th write, until r is
      compacted (STORE-RANGE-AT-REVISION, STORE-COMPACTED-READ).
    - A watch from revision r delivers every change with mod_revision >= r, in
      order, once each, whole revisions at a time (STORE-WATCH-*).
    - Keys attached to a lease vanish when the lease expires or is revoked.
    Errors are raised as ``kubeprop.spec.etcd.StoreError`` subclasses.
    """

    def put(
        self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False
    ) -> etcd.PutResponse: ...

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
    ) -> etcd.RangeResponse: ...

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> etcd.DeleteRangeResponse: ...

    def txn(
        self,
        compare: Sequence[etcd.Compare],
        success: Sequence[etcd.RequestOp],
        failure: Sequence[etcd.RequestOp] = (),
    ) -> etcd.TxnResponse: ...

    def compact(self, revision: int) -> None: ...

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        progress_notify: bool = False,
    ) -> Watcher: ...

    def lease_grant(self, ttl: int, id: int = 0) -> etcd.LeaseGrantResponse: ...

    def lease_revoke(self, id: int) -> None: ...

    def lease_keepalive(self, id: int) -> int:
        """Renew the lease; returns its TTL."""

    def lease_time_to_live(
        self, id: int, *, keys: bool = False
    ) -> etcd.LeaseTimeToLiveResponse: ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (simulated) time pass: leases may expire."""

    @property
    def revision(self) -> int:
        """The current revision: 1 for a store never written (as etcd starts), +1 per write."""

    @property
    def compact_revision(self) -> int:
        """The highest revision compacted so far (0 if never)."""


@attrs.frozen
class Response:
    """One answer of an API server: an HTTP status code and a manifest body.

    ``body`` is the object, a list, or a Kubernetes ``Status`` (for every error);
    ``watch`` is set for a successful watch; ``warnings`` are the texts Kubernetes
    sends as ``Warning`` headers (e.g. unknown fields dropped under
    fieldValidation=Warn)."""

    code: int
    body: dict[str, Any] | None = None
    watch: Any = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def reason(self) -> str | None:
        """The Status reason of an error answer (NotFound, Conflict, ...)."""
        if self.body and self.body.get("kind") == "Status":
            return self.body.get("reason")
        return None


@runtime_checkable
class ApiServer(Protocol):
    """A Kubernetes API server (spec/apiserver.md), with manifests (dicts) in and out.

    ``request`` never raises: every answer is a ``Response`` whose body is the
    object, a list, or a Kubernetes ``Status`` for errors.
    """

    def request(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Response: ...


@runtime_checkable
class WatchStream(Protocol):
    """A watch opened by an API server's ``watch`` verb."""

    def poll(self) -> list[dict[str, Any]]:
        """Watch events delivered since the last poll: ``{"type": ADDED | MODIFIED |
        DELETED | BOOKMARK | ERROR, "object": manifest}``, oldest first."""

    def stop(self) -> None:
        """Close the stream; later polls return nothing."""


# ---------------------------------------------------------------------- plug-ins

Manifest = dict[str, Any]
# A reconcile request: (namespace, name); namespace None for a cluster-scoped object.
ObjectKey = tuple[str | None, str]
# The protocol names a plug-in may declare as its ``kind`` attribute.
KINDS = ("store", "apiserver", "scheduler", "controller")

KUBE_SCHEDULER = "https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/"
SCHEDULING_FRAMEWORK = (
    "https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/"
)
CONTROLLERS = "https://kubernetes.io/docs/concepts/architecture/controller/"
RECONCILE = (
    "https://github.com/kubernetes-sigs/controller-runtime/blob/main/pkg/reconcile/reconcile.go"
)


@runtime_checkable
class SchedulerPlugin(Protocol):
    """Where a pending pod goes: kube-scheduler's decision as one function (spec/scheduler.md).

    Contract (upstream: KUBE_SCHEDULER, SCHEDULING_FRAMEWORK):
    - ``schedule(pod, nodes, pods)`` is called once per scheduling cycle for a
      pod that has no ``spec.nodeName``, is not being deleted and names this
      scheduler (``spec.schedulerName`` "default-scheduler" or unset). ``nodes``
      are every Node of the scheduler's view, ``pods`` every pod bound to one of
      them (``spec.nodeName`` set), the ones the scheduler has bound but not yet
      seen bound included, so that two pods are never both placed on a node
      that holds one. All are manifests; they are the plug-in's to read, not
      to keep or change.
    - It returns the name of one of ``nodes`` on which the pod fits, or None
      when none fits now. "Fits" is what SCHEDULER-BIND-FEASIBLE checks: the
      node is not cordoned (``spec.unschedulable``, unless the pod tolerates
      ``node.kubernetes.io/unschedulable``), every NoSchedule and NoExecute
      taint is tolerated, ``nodeSelector`` and required node affinity match,
      and the pod's requests (cpu, memory, ...) plus those of the pods already
      on the node stay within ``status.allocatable``, as does the pod count.
    - It must find a node whenever one fits (SCHEDULER-EVENTUALLY-BOUND): a pod
      it leaves pending is retried after backoff and on every cluster event.
    - It must not block, sleep or read the wall clock; an exception is a
      scheduling error (the pod is retried after backoff).
    """

    def schedule(
        self, pod: Manifest, nodes: Sequence[Manifest], pods: Sequence[Manifest]
    ) -> str | None: ...


class ApiError(Exception):
    """An API server refused a ``Client`` call; ``status`` is its Kubernetes ``Status``."""

    def __init__(self, code: int, status: Mapping[str, Any] | None = None):
        self.code = code
        self.status = dict(status or {})
        super().__init__(f"{code} {self.reason}: {self.status.get('message', '')}".strip())

    @property
    def reason(self) -> str:
        """NotFound, AlreadyExists, Conflict, Invalid, ... ("" if the answer had none)."""
        return str(self.status.get("reason") or "")


@runtime_checkable
class Client(Protocol):
    """What a ``Reconciler`` talks to the API server through (controller-runtime's client).

    Contract:
    - Reads are consistent: ``get`` and ``list`` read the API server, not a
      cache, so a reconciler sees its own writes at once and needs no
      expectations. ``get`` returns None for an object that is not there.
    - Every write answers the object as stored, or raises ``ApiError`` with the
      Status (409 Conflict on a stale resourceVersion, 404 NotFound, 422
      Invalid, ...). A reconciler that lets an ApiError out is retried with
      backoff, as any error.
    - ``update`` sends the whole object with its resourceVersion (optimistic
      concurrency); ``update_status`` writes the status subresource only;
      ``patch`` is a JSON merge patch (RFC 7386); ``delete`` with ``uid``
      deletes only that incarnation of the object.
    - ``now()`` is the cluster's clock (simulated, timezone-aware UTC), the
      time in the timestamps the API server writes; a reconciler reads it
      instead of the wall clock.
    - ``event`` records an Event about ``obj`` (type Normal or Warning).
    """

    def get(self, resource: str, namespace: str | None, name: str) -> Manifest | None: ...

    def list(
        self, resource: str, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[Manifest]: ...

    def create(
        self, resource: str, body: Manifest, *, namespace: str | None = None
    ) -> Manifest: ...

    def update(self, resource: str, body: Manifest) -> Manifest: ...

    def update_status(self, resource: str, body: Manifest) -> Manifest: ...

    def patch(
        self, resource: str, namespace: str | None, name: str, patch: Manifest
    ) -> Manifest: ...

    def delete(
        self, resource: str, namespace: str | None, name: str, *, uid: str | None = None
    ) -> None: ...

    def event(self, obj: Manifest, type: str, reason: str, message: str) -> None: ...

    def now(self) -> datetime.datetime: ...


@runtime_checkable
class Reconciler(Protocol):
    """A level-triggered controller (spec/client.md; upstream CONTROLLERS, RECONCILE).

    Contract:
    - ``resource`` is the primary resource (e.g. "replicasets"), ``owns`` the
      resources whose objects it makes (e.g. ("pods",)). The shell watches all
      of them and asks for ``reconcile((namespace, name), client)`` of a
      primary object when it changes, when an object it owns changes (found by
      the controller ownerReference naming the primary's kind), and, for an
      owned-kind object without a controller, for every primary object of its
      namespace (it may adopt it). Deletions are seen as the object being gone.
    - An optional ``watches`` mapping {resource: map function} names resources
      it reads but does not own: for a changed object of one (its old and new
      state) the shell reconciles every (namespace, name) key the function
      returns (controller-runtime's EnqueueRequestsFromMapFunc; a node
      controller maps a pod to ``(None, spec.nodeName)``).
    - A request carries only the key, never the event: ``reconcile`` reads the
      current state through ``client`` and makes the world match the primary
      object's spec, then writes its status. It may be called any number of
      times for one key, never twice at once for one key.
    - It returns None when done, or a number of seconds after which it wants
      to be called again for this key (e.g. to see minReadySeconds pass). An
      exception (an ``ApiError`` included) retries the key with exponential
      backoff (5 ms doubling to 1000 s, client-go's default rate limiter).
    - It must not block, sleep or read the wall clock (``client.now()``).
    An optional ``role`` attribute names the cluster role it replaces
    (``replicaset``, ``deployment``, ...); by default the role follows
    ``resource`` ("replicasets" -> replicaset, "deployments" -> deployment,
    "nodes" -> nodelifecycle).
    """

    resource: str
    owns: tuple[str, ...]

    def reconcile(self, key: ObjectKey, client: Client) -> float | None: ...
