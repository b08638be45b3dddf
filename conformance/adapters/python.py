"""A third party's Python component as a system under test: ``--sut python:MODULE:ATTR``.

Contract:
- ``PythonAdapter("python:MODULE:ATTR")`` imports MODULE with the current
  directory first on ``sys.path`` (as ``python -m`` does, so a checkout's
  ``examples.plugins.scheduler`` imports from its root) and takes ATTR: a
  class or a factory (called with no arguments for every fresh component), or
  an instance (shared; a store must be a class or a factory, since every check
  needs a fresh, empty one).
- The protocol of ``kubeprop.spec.contracts`` it satisfies is its ``kind``
  attribute when it has one (``contracts.KINDS``), else the first of Store,
  ApiServer, SchedulerPlugin, Reconciler it has the members of. A bad string
  (no such module, no such attribute, an object matching no protocol) is a
  ``ValueError`` saying what is wrong and what would do.
- What each kind gives the suite:
  a store -> ``store_factory`` (capabilities store, compact, leases, advance-time),
  and ``apiserver_factory``: the reference API server over a fresh plug-in store,
  so the API-server and client contracts run on it too (apiserver);
  an API server -> ``apiserver_factory`` (apiserver);
  a scheduler plug-in or a controller -> ``components()`` {role: factory}, the
  plug-in inside a reference-component shell (``SchedulerShell``,
  ``ReconcilerShell``), spliced into the reference cluster (capabilities
  cluster, advance-time, compact, crash-node, partition: the cluster is
  simulated, so every fault and time step is available).
- The ``ReconcilerShell`` reconciles the key of a primary object when it
  changes; of the primary its controller ownerReference names when an object of
  ``owns`` changes (``name`` alone for a cluster-scoped primary such as a Node),
  or of every primary of the namespace for an owned object without one; and,
  for each resource of the reconciler's optional ``watches`` mapping
  {resource: map function}, of every (namespace, name) key its map function
  returns for a changed object of that resource, old and new state
  (controller-runtime's ``EnqueueRequestsFromMapFunc``: a node controller maps a
  pod to ``(None, spec.nodeName)``). A map function that raises is an error kept
  in ``errors``; nothing is enqueued for it. The seconds ``reconcile`` returns
  are its timer: the key is reconciled again after them (or sooner, on a change).
- ``component_paths()`` names the shell as
  ``kubeprop.conformance.adapters.python:MODULE:ATTR``; this module resolves
  such an attribute (``__getattr__``), so a saved cluster history that names it
  runs again with ``kubeprop replay``.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.conformance.adapters.base import Adapter, Unsupported
from kubeprop.reference.client import Controller, Informers, Result, WorkQueue, key_of, split_key
from kubeprop.reference.client.reconcile import KEPT_ERRORS
from kubeprop.reference.scheduler import Scheduler
from kubeprop.reference.scheduler.framework import Code, ScheduleResult, Status
from kubeprop.spec import contracts
from kubeprop.spec.api import dump
from kubeprop.spec.api.times import EPOCH

PREFIX = "python:"
FORM = "python:MODULE:ATTR"
# The protocols in the order they are recognised, with their kind names.
PROTOCOLS: tuple[tuple[str, type], ...] = (
    ("store", contracts.Store),
    ("apiserver", contracts.ApiServer),
    ("scheduler", contracts.SchedulerPlugin),
    ("controller", contracts.Reconciler),
)
# A controller's primary resource -> the cluster role it replaces.
CONTROLLER_ROLES = {
    "replicasets": "replicaset",
    "deployments": "deployment",
    "nodes": "nodelifecycle",
}
CLUSTER_CAPABILITIES = frozenset({"cluster", "advance-time", "compact", "crash-node", "partition"})
MERGE = {"contentType": "application/merge-patch+json"}


# ---------------------------------------------------------------------- loading


def load(target: str) -> Any:
    """``MODULE:ATTR`` -> the object, importing with the current directory on sys.path."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise ValueError(f"--sut python:{target!r}: want {FORM}, e.g. python:mypkg.sched:MyPlugin")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"--sut python:{target}: cannot import module {module_name!r} ({error}); "
            f"run from the folder that holds it or install it"
        ) from None
    except Exception as error:  # the module itself is broken: say where, not a traceback
        raise ValueError(
            f"--sut python:{target}: importing module {module_name!r} failed: "
            f"{type(error).__name__}: {error}"
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        public = sorted(
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and isinstance(value, type)
            and getattr(value, "__module__", None) == module.__name__
        )
        shown = ", ".join(public[:12]) + (", ..." if len(public) > 12 else "")
        raise ValueError(
            f"--sut python:{target}: module {module_name!r} has no attribute {attribute!r} "
            f"(its classes: {shown or 'none'})"
        ) from None


def kind_of(candidate: Any) -> str | None:
    """The kind (``contracts.KINDS``) an object declares or whose protocol it satisfies."""
    declared = getattr(candidate, "kind", None)
    if isinstance(declared, str) and declared in contracts.KINDS:
        return declared
    for kind, protocol in PROTOCOLS:
        if isinstance(candidate, protocol):
            return kind
    return None


@attrs.frozen
class Plugin:
    """A loaded plug-in: how to make one, of which kind, for which cluster role."""

    target: str  # MODULE:ATTR
    make: Callable[[], Any]  # a fresh instance (or the shared one)
    kind: str
    role: str | None  # the cluster role (scheduler, replicaset, ...); None for store/apiserver
    shared: bool  # ATTR is an instance, not a class or factory


def inspect(target: str) -> Plugin:
    """Load ``MODULE:ATTR`` and find its protocol; ValueError names what is wrong."""
    found = load(target)
    names = ", ".join(f"{p.__name__} ({k})" for k, p in PROTOCOLS)
    kind, make, shared = kind_of(found), None, False
    if isinstance(found, type) or (kind is None and callable(found)):
        make = found
        try:
            sample = found()
        except Exception as error:  # the plug-in's constructor failed
            raise ValueError(
                f"--sut python:{target}: calling {target.partition(':')[2]}() failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        kind = kind_of(sample) or kind
    else:
        sample, shared = found, True
        make = lambda: found  # noqa: E731 - the one shared instance
    if kind is None:
        raise ValueError(
            f"--sut python:{target}: {type(sample).__name__} satisfies none of the protocols "
            f"of kubeprop.spec.contracts: {names}; implement one (docs/validating.md) or set "
            f"a 'kind' attribute to one of {', '.join(contracts.KINDS)}"
        )
    if kind == "store" and shared:
        raise ValueError(
            f"--sut python:{target}: a store must be a class or a factory, not an instance: "
            f"every check needs a fresh, empty store"
        )
    role = None
    if kind == "scheduler":
        role = "scheduler"
    elif kind == "controller":
        role = getattr(sample, "role", None) or CONTROLLER_ROLES.get(
            getattr(sample, "resource", None)
        )
        if role is None:
            raise ValueError(
                f"--sut python:{target}: controller of {getattr(sample, 'resource', None)!r}: "
                f"set its 'role' to one of {', '.join(sorted(CONTROLLER_ROLES.values()))}"
            )
    return Plugin(target=target, make=make, kind=kind, role=role, shared=shared)


# ---------------------------------------------------------------------- the scheduler shell


@attrs.define(eq=False)
class SchedulerShell(Scheduler):
    """The reference kube-scheduler with its decision made by a ``SchedulerPlugin``.

    Everything but the choice of node is the reference's: queue and backoff,
    the view (informers plus assumed pods), binding, events and conditions,
    the observer the component suite watches. Preemption is not part of the
    plug-in protocol, so the shell never preempts."""

    plugin: Any = attrs.field(default=None, kw_only=True)  # a contracts.SchedulerPlugin

    def run_cycle(self, pod, snapshot) -> ScheduleResult:
        infos = snapshot.node_infos
        if not infos:
            return ScheduleResult(
                None, Status(Code.ERROR, ("no nodes available to schedule pods",))
            )
        nodes = [dump(info.node) for info in infos]
        placed = [dump(other) for info in infos for other in info.pods]
        name = type(self.plugin).__name__
        try:
            choice = self.plugin.schedule(dump(pod), nodes, placed)
        except Exception as error:  # the plug-in's bug: a scheduling error, retried
            message = f"scheduler plug-in {name} failed: {type(error).__name__}: {error}"
            return ScheduleResult(None, Status(Code.ERROR, (message,)))
        if choice is None:
            count = len(infos)
            message = f"0/{count} nodes are available: {count} node(s) rejected by plug-in {name}."
            return ScheduleResult(None, Status(Code.UNSCHEDULABLE, (message,)).with_plugin(name))
        if not isinstance(choice, str):
            message = f"scheduler plug-in {name} returned {choice!r}, not a node name or None"
            return ScheduleResult(None, Status(Code.ERROR, (message,)))
        return ScheduleResult(choice, feasible=(choice,))


# ---------------------------------------------------------------------- the controller shell


@attrs.define(eq=False)
class ManifestClient:
    """``contracts.Client`` over a component's connection to the API server."""

    connection: Any
    recorder: Any  # an EventRecorder
    loop: Any  # the EventLoop, for now()

    def _answer(self, answer) -> dict:
        if not answer.ok:
            raise contracts.ApiError(answer.code, answer.body)
        return answer.body

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        answer = self.connection.request("get", resource, namespace=namespace, name=name)
        return None if answer.code == 404 else self._answer(answer)

    def list(
        self, resource: str, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict]:
        params = {"labelSelector": label_selector} if label_selector else None
        body = self._answer(
            self.connection.request("list", resource, namespace=namespace, params=params)
        )
        kind = str(body.get("kind", "")).removesuffix("List")
        return [
            {"kind": kind, "apiVersion": body.get("apiVersion"), **item}
            for item in body.get("items") or []
        ]

    def create(self, resource: str, body: dict, *, namespace: str | None = None) -> dict:
        namespace = namespace or (body.get("metadata") or {}).get("namespace")
        return self._answer(
            self.connection.request("create", resource, namespace=namespace, body=body)
        )

    def _write(self, resource: str, body: dict, subresource: str | None) -> dict:
        meta = body.get("metadata") or {}
        return self._answer(
            self.connection.request(
                "update",
                resource,
                namespace=meta.get("namespace"),
                name=meta.get("name"),
                subresource=subresource,
                body=body,
            )
        )

    def update(self, resource: str, body: dict) -> dict:
        return self._write(resource, body, None)

    def update_status(self, resource: str, body: dict) -> dict:
        return self._write(resource, body, "status")

    def patch(self, resource: str, namespace: str | None, name: str, patch: dict) -> dict:
        return self._answer(
            self.connection.request(
                "patch", resource, namespace=namespace, name=name, body=patch, params=MERGE
            )
        )

    def delete(
        self, resource: str, namespace: str | None, name: str, *, uid: str | None = None
    ) -> None:
        body = {"preconditions": {"uid": uid}} if uid else None
        answer = self.connection.request(
            "delete", resource, namespace=namespace, name=name, body=body
        )
        if answer.code != 404:
            self._answer(answer)

    def event(self, obj: dict, type: str, reason: str, message: str) -> None:
        self.recorder.event(obj, type, reason, message)

    def now(self) -> datetime.datetime:
        return EPOCH + datetime.timedelta(seconds=self.loop.now)


def _controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


@attrs.define(eq=False)
class ReconcilerShell:
    """A ``Reconciler`` run as a reference controller: informers, work queue, one worker."""

    reconciler: Any  # a contracts.Reconciler
    connection: Any
    loop: Any
    recorder: Any
    watch_latency: float = 0.1
    name: str = "controller"
    _informers: Any = attrs.field(init=False, default=None)
    _primary: Any = attrs.field(init=False, default=None)  # the informer of the primary resource
    _controller: Any = attrs.field(init=False, default=None)  # the reconcile loop
    _client: Any = attrs.field(init=False, default=None)
    stopped: bool = attrs.field(init=False, default=False)

    @property
    def primary_kind(self) -> str | None:
        found = self._primary_resource()
        return found.kind if found is not None else None

    @property
    def primary_namespaced(self) -> bool:
        found = self._primary_resource()
        return found.namespaced if found is not None else True

    def _primary_resource(self):
        from kubeprop.reference.apiserver.resources import lookup

        return lookup(self.reconciler.resource)

    def start(self) -> None:
        self._client = ManifestClient(self.connection, self.recorder, self.loop)
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._primary = self._informers.informer(self.reconciler.resource)
        self._controller = Controller(self.name, WorkQueue(self.loop), self._reconcile, self.loop)
        self._primary.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        for resource in tuple(getattr(self.reconciler, "owns", ()) or ()):
            informer = self._informers.informer(resource)
            informer.add_handler(self._owned, self._owned_changed, self._owned)
        for resource, to_keys in sorted(
            dict(getattr(self.reconciler, "watches", {}) or {}).items()
        ):
            informer = self._informers.informer(resource)
            mapped = functools.partial(self._watched, resource, to_keys)
            informer.add_handler(mapped, lambda old, new, m=mapped: (m(old), m(new)), mapped)
        self._informers.start()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        if self._controller is not None:
            self._controller.stop()

    @property
    def errors(self) -> list:
        """(key, message) of the latest reconcile errors (the plug-in's exceptions)."""
        return list(self._controller.errors) if self._controller is not None else []

    def _enqueue(self, obj: dict) -> None:
        if self._controller is not None and not self.stopped:
            self._controller.queue.add(key_of(obj))

    def _owned(self, obj: dict) -> None:
        ref = _controller_of(obj)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if ref is None:  # an orphan: any primary of its namespace may adopt it
            for primary in self._primary.lister().list(namespace):
                self._enqueue(primary)
        elif ref.get("kind") == self.primary_kind:
            scoped = namespace and self.primary_namespaced
            self._add_key(f"{namespace}/{ref.get('name')}" if scoped else str(ref.get("name")))

    def _add_key(self, key: str) -> None:
        if self._controller is not None and not self.stopped:
            self._controller.queue.add(key)

    def _watched(self, resource: str, to_keys: Callable[[dict], Any], obj: dict) -> None:
        """A changed object of a ``watches`` resource: reconcile the keys it maps to."""
        try:
            keys = [(namespace, name) for namespace, name in to_keys(obj) or ()]
        except Exception as error:  # the plug-in's map function failed: kept, not raised
            if self._controller is not None:
                self._controller.errors.append(
                    (
                        f"{resource}/{key_of(obj)}",
                        f"watches[{resource!r}] failed: {type(error).__name__}: {error}",
                    )
                )
                del self._controller.errors[:-KEPT_ERRORS]
            return
        for namespace, name in keys:
            self._add_key(f"{namespace}/{name}" if namespace else str(name))

    def _owned_changed(self, old: dict, new: dict) -> None:
        self._owned(old)
        self._owned(new)

    def _reconcile(self, key: str) -> Result | None:
        if self.stopped:
            return None
        if not self._informers.has_synced():
            return Result(requeue_after=self.watch_latency)
        namespace, name = split_key(key)
        after = self.reconciler.reconcile((namespace, name), self._client)
        if after is None:
            return None
        if isinstance(after, bool) or not isinstance(after, (int, float)):
            raise TypeError(f"reconcile returned {after!r}, not seconds or None")
        return Result(requeue_after=float(after)) if after > 0 else Result(requeue=True)


# ---------------------------------------------------------------------- factories


@attrs.frozen
class ShellFactory:
    """Builds the shell of a plug-in with a reference component's constructor."""

    plugin: Plugin

    @property
    def __name__(self) -> str:  # what make_machine names its machine class after
        return self.plugin.target.partition(":")[2]

    def __call__(self, *, connection, loop, recorder, watch_latency: float = 0.1, **settings):
        if self.plugin.kind == "scheduler":
            return SchedulerShell(
                connection=connection,
                loop=loop,
                recorder=recorder,
                watch_latency=watch_latency,
                plugin=self.plugin.make(),
                **settings,
            )
        return ReconcilerShell(
            reconciler=self.plugin.make(),
            connection=connection,
            loop=loop,
            recorder=recorder,
            watch_latency=watch_latency,
            name=f"{self.plugin.role}-controller",
        )


def __getattr__(name: str) -> ShellFactory:
    """``MODULE:ATTR`` as an attribute of this module: the shell factory of that plug-in
    (what ``conformance.history.load_component`` finds for a saved history)."""
    if ":" not in name:
        raise AttributeError(name)
    plugin = inspect(name)
    if plugin.role is None:
        raise AttributeError(f"{name} is a {plugin.kind}, not a cluster component")
    return ShellFactory(plugin)


@attrs.frozen
class StoreBackedApiServer:
    """Makes the reference API server over a fresh store of the plug-in."""

    make_store: Callable[[], Any]

    @property
    def __name__(self) -> str:
        return f"ApiServerOver{getattr(self.make_store, '__name__', 'Store')}"

    def __call__(self, **settings):
        from kubeprop.reference.apiserver import ApiServer

        return ApiServer(store=self.make_store(), **settings)


# ---------------------------------------------------------------------- the adapter


@attrs.define
class PythonAdapter(Adapter):
    """``--sut python:MODULE:ATTR``: a plug-in satisfying a protocol of kubeprop.spec.contracts."""

    plugin: Plugin | None = None

    def __init__(self, sut: str) -> None:
        if not sut.startswith(PREFIX):
            raise ValueError(f"--sut {sut!r}: want {FORM}")
        plugin = inspect(sut[len(PREFIX) :])
        capabilities = {
            "store": frozenset({"store", "compact", "leases", "advance-time", "apiserver"}),
            "apiserver": frozenset({"apiserver"}),
        }.get(plugin.kind, CLUSTER_CAPABILITIES)
        self.__attrs_init__(name=sut, capabilities=capabilities, plugin=plugin)

    @property
    def kind(self) -> str:
        return self.plugin.kind

    def store_factory(self) -> Callable[[], object]:
        if self.plugin.kind != "store":
            raise Unsupported(f"SUT {self.name!r} is a {self.plugin.kind}, not a store")
        return self.plugin.make

    def apiserver_factory(self) -> Callable[[], object]:
        if self.plugin.kind == "store":
            return StoreBackedApiServer(self.plugin.make)
        if self.plugin.kind != "apiserver":
            raise Unsupported(f"SUT {self.name!r} is a {self.plugin.kind}, not an API server")
        return self.plugin.make

    def components(self) -> dict[str, Callable[..., object]]:
        if self.plugin.role is None:
            return {}
        return {self.plugin.role: ShellFactory(self.plugin)}

    def component_paths(self) -> dict[str, str]:
        if self.plugin.role is None:
            return {}
        return {self.plugin.role: f"{__name__}:{self.plugin.target}"}

    def component(self, role: str) -> Callable[..., object]:
        if role != self.plugin.role:
            raise Unsupported(
                f"SUT {self.name!r} is a {self.plugin.role or self.plugin.kind}, "
                f"not a {role} component"
            )
        return ShellFactory(self.plugin)
