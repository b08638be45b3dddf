"""The simulated cluster: every component on one event loop, with the faults the suite injects.

Contract (spec/cluster.md):
- ``Cluster.create(nodes=N, ...)`` builds an API server over the reference
  store, the control plane (scheduler and the controllers of
  kube-controller-manager) and N nodes, each a container runtime driven by a
  kubelet, all on one ``EventLoop`` whose clock starts at 0. Components reach
  the API server only through their own client ``Connection``; their informers
  poll their watches every ``watch_latency`` seconds, which is the delivery
  latency of a watch event.
- Users act through ``apply``, ``delete``, ``scale``, ``set_image``,
  ``cordon``/``uncordon``, ``add_node``/``remove_node`` (each one request, or a
  few, as kubectl makes them; an error comes back as the API server's Status,
  nothing raises), and let time pass with ``advance`` or ``run_until_stable``.
- Faults: ``crash_node`` (the machine dies: its kubelet stops, its runtime
  crashes) and ``restart_node`` (it boots again: the runtime comes back empty
  and a fresh kubelet starts); ``kill_container`` (the OOM killer); ``partition``
  / ``heal`` a node's link to the API server; ``restart_component`` (a
  control-plane process restarts and relists); ``compact`` (the store forgets
  history up to its current revision, so watches behind it get 410 Expired).
- Determinism: the same seed, configuration and calls give the same objects,
  the same events and a byte-identical ``trace()``: nothing reads the wall
  clock, every random choice draws from a generator seeded by ``seed``.
- Components are built from factories (``components``), by role; passing
  another factory for a role splices a third party's (or a deliberately
  broken) component into the reference cluster; ``store`` replaces the
  embedded reference store with any ``contracts.Store`` (a fresh, empty one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.client.events import first_seen
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.runtime import Runtime
from kubeprop.reference.store import Store
from kubeprop.spec import etcd
from kubeprop.spec.api import io
from kubeprop.spec.api.errors import ManifestError
from kubeprop.spec.contracts import Response

Manifest = dict[str, Any]
Factory = Callable[..., Any]

# Defaults of a simulated node (a 4-core, 16 GiB machine that may run 110 pods).
DEFAULT_CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110"}
# How often a component's informers look at their watches (the watch delivery latency).
DEFAULT_WATCH_LATENCY = 0.1
# run_until_stable: the state must not change for this long to count as stable ...
STABLE_QUIET_SECONDS = 30.0
# ... looked at this often, for at most this long.
STABLE_STEP_SECONDS = 1.0
STABLE_LIMIT_SECONDS = 900.0

# The control-plane roles, in start order, with the recorder's component name.
CONTROL_PLANE: dict[str, str] = {
    "scheduler": "default-scheduler",
    "replicaset": "replicaset-controller",
    "deployment": "deployment-controller",
    "nodelifecycle": "node-controller",
    "tainteviction": "taint-eviction-controller",
    "podgc": "pod-garbage-collector",
    "garbagecollector": "garbage-collector",
}
KUBELET = "kubelet"
ROLES = (*CONTROL_PLANE, KUBELET)

# Resources whose objects make up the state run_until_stable watches.
STATE_RESOURCES = ("pods", "replicasets", "deployments", "nodes")


class ClusterError(ValueError):
    """A call the cluster cannot make (an unknown node, a bad manifest file)."""


def reference_components() -> dict[str, Factory]:
    """The reference factory of every role."""
    from kubeprop.reference import controllers, kubelet, scheduler

    return {
        "scheduler": scheduler.Scheduler,
        "replicaset": controllers.ReplicaSetController,
        "deployment": controllers.DeploymentController,
        "nodelifecycle": controllers.NodeLifecycleController,
        "tainteviction": controllers.TaintEvictionController,
        "podgc": controllers.PodGC,
        "garbagecollector": controllers.GarbageCollector,
        KUBELET: kubelet.Kubelet,
    }


@attrs.define(eq=False)
class NodeHost:
    """One simulated machine: its runtime, its kubelet and its link to the API server."""

    name: str
    index: int  # 1-based; the node's pod CIDR is 10.244.<index>.0/24
    runtime: Runtime
    connection: Connection
    capacity: dict[str, str]
    kubelet: Any = None  # None while the machine is down
    up: bool = True  # False after crash_node or remove_node, until restart_node

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"

    @property
    def node_ip(self) -> str:
        return f"10.0.0.{self.index + 1}"


@attrs.define(eq=False)
class Cluster:
    """A whole Kubernetes cluster on a simulated clock; build it with ``Cluster.create``."""

    loop: EventLoop
    server: ApiServer
    seed: int
    watch_latency: float
    capacity: dict[str, str]
    factories: dict[str, Factory]
    admin: Connection  # the user's (kubectl's) connection; never partitioned
    # role -> the running control-plane component (replaced by restart_component).
    components: dict[str, Any] = attrs.field(factory=dict)
    # node name -> its machine, in the order they were added.
    hosts: dict[str, NodeHost] = attrs.field(factory=dict)
    _node_count: int = attrs.field(default=0)  # nodes ever added; names node-1, node-2, ...
    _trace: Any = attrs.field(default=None)  # the store watch that feeds trace()
    _trace_lines: list[str] = attrs.field(factory=list)  # the trace so far

    # ------------------------------------------------------------------ building

    @classmethod
    def create(
        cls,
        nodes: int = 3,
        *,
        capacity: Mapping[str, str] | None = None,
        seed: int = 0,
        watch_latency: float = DEFAULT_WATCH_LATENCY,
        components: Mapping[str, Factory] | None = None,
        store: Any = None,
    ) -> Cluster:
        if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 0:
            raise ClusterError(f"nodes: Invalid value: {nodes!r}: must be a non-negative integer")
        if not watch_latency > 0:
            raise ClusterError(f"watch_latency: Invalid value: {watch_latency!r}: must be > 0")
        factories = reference_components()
        for role, factory in (components or {}).items():
            if role not in ROLES:
                raise ClusterError(f"components: Unsupported value: {role!r}: use one of {ROLES}")
            factories[role] = factory
        loop = EventLoop()
        store = Store() if store is None else store
        server = ApiServer(store=store, clock=loop.clock, seed=seed)
        cluster = cls(
            loop=loop,
            server=server,
            seed=seed,
            watch_latency=watch_latency,
            capacity=dict(capacity or DEFAULT_CAPACITY),
            factories=factories,
            admin=Connection(server, "kubectl"),
        )
        cluster._watch_store(1)
        for role in CONTROL_PLANE:
            cluster._start_component(role)
        for _ in range(nodes):
            cluster.add_node()
        return cluster

    def _start_component(self, role: str) -> None:
        connection = Connection(self.server, f"kube-controller-manager/{role}")
        recorder = EventRecorder(connection, self.loop.clock, CONTROL_PLANE[role])
        component = self.factories[role](
            connection=connection,
            loop=self.loop,
            recorder=recorder,
            watch_latency=self.watch_latency,
            **self._settings(role),
        )
        self.components[role] = component
        component.start()

    def _settings(self, role: str) -> dict[str, Any]:
        if role == "scheduler":
            return {"seed": self.seed}
        return {}

    def _start_kubelet(self, host: NodeHost) -> None:
        recorder = EventRecorder(host.connection, self.loop.clock, KUBELET, host=host.name)
        host.kubelet = self.factories[KUBELET](
            node_name=host.name,
            runtime=host.runtime,
            connection=host.connection,
            loop=self.loop,
            recorder=recorder,
            watch_latency=self.watch_latency,
            capacity=dict(host.capacity),
            pod_cidr=host.pod_cidr,
            node_ip=host.node_ip,
        )
        host.kubelet.start()
        host.up = True

    # ------------------------------------------------------------------ users

    def apply(self, source: str | Manifest | Iterable[Manifest]) -> list[tuple[str, Response]]:
        """Create each object, or merge it into the stored one (as ``kubectl apply``).

        ``source`` is YAML/JSON text (one or more documents, or a List) or
        manifests. Returns, per object, ``kind/name`` and the API server's answer.
        """
        if isinstance(source, str):
            try:
                manifests = io.load_documents(source)
            except ManifestError as error:
                raise ClusterError(str(error)) from None
        elif isinstance(source, dict):
            manifests = [source]
        else:
            manifests = list(source)
        return [self._apply_one(manifest) for manifest in manifests]

    def _apply_one(self, manifest: Manifest) -> tuple[str, Response]:
        from kubeprop.reference.apiserver.resources import lookup_kind

        kind = manifest.get("kind")
        res = lookup_kind(manifest.get("apiVersion"), kind)
        meta = manifest.get("metadata") or {}
        name = meta.get("name") or meta.get("generateName", "")
        label = f"{str(kind).lower()}/{name}"
        if res is not None and res.group:
            label = f"{res.kind.lower()}.{res.group}/{name}"  # as kubectl: deployment.apps/web
        if res is None:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": f'no matches for kind "{kind}" in version "{manifest.get("apiVersion")}"',
                "reason": "NotFound",
                "code": 404,
            }
            return label, Response(404, status)
        namespace = (meta.get("namespace") or "default") if res.namespaced else None
        answer = self.admin.request("create", res.plural, namespace=namespace, body=manifest)
        if answer.code == 409 and meta.get("name"):
            patch = {key: value for key, value in manifest.items() if key != "status"}
            answer = self.admin.request(
                "patch",
                res.plural,
                namespace=namespace,
                name=meta["name"],
                body=patch,
                params={"contentType": "application/merge-patch+json"},
            )
        return label, answer

    def get(self, resource: str, name: str, namespace: str | None = None) -> Manifest | None:
        answer = self.admin.request("get", resource, namespace=namespace, name=name)
        return answer.body if answer.ok else None

    def list(self, resource: str, namespace: str | None = None) -> list[Manifest]:
        answer = self.admin.request("list", resource, namespace=namespace)
        return list(answer.body.get("items") or []) if answer.ok else []

    def delete(
        self,
        resource: str,
        name: str,
        namespace: str | None = "default",
        grace_period: int | None = None,
    ) -> Response:
        params = {} if grace_period is None else {"gracePeriodSeconds": grace_period}
        return self.admin.request("delete", resource, namespace=namespace, name=name, params=params)

    def scale(
        self, resource: str, name: str, replicas: int, namespace: str = "default"
    ) -> Response:
        return self._merge(resource, name, namespace, {"spec": {"replicas": replicas}}, "scale")

    def set_image(
        self, resource: str, name: str, container: str, image: str, namespace: str = "default"
    ) -> Response:
        """``kubectl set image``: one container's image in a workload's pod template."""
        current = self.get(resource, name, namespace)
        if current is None:
            return self.admin.request("get", resource, namespace=namespace, name=name)
        spec = current.get("spec", {}).get("template", {}).get("spec", {})
        containers = [dict(item) for item in spec.get("containers") or []]
        for item in containers:
            if item.get("name") == container:
                item["image"] = image
        body = {"spec": {"template": {"spec": {"containers": containers}}}}
        return self._merge(resource, name, namespace, body)

    def cordon(self, node: str, unschedulable: bool = True) -> Response:
        return self._merge("nodes", node, None, {"spec": {"unschedulable": unschedulable}})

    def uncordon(self, node: str) -> Response:
        return self.cordon(node, unschedulable=False)

    def taint(self, node: str, key: str, value: str = "", effect: str = "NoSchedule") -> Response:
        """``kubectl taint nodes NODE key=value:effect`` (replacing a taint of that key and effect)."""
        return self._set_taints(
            node,
            lambda taints: [
                *[t for t in taints if (t.get("key"), t.get("effect")) != (key, effect)],
                {"key": key, "value": value, "effect": effect}
                if value
                else {"key": key, "effect": effect},
            ],
        )

    def untaint(self, node: str, key: str) -> Response:
        """``kubectl taint nodes NODE key-``: every taint with that key goes."""
        return self._set_taints(node, lambda taints: [t for t in taints if t.get("key") != key])

    def _set_taints(
        self, node: str, change: Callable[[list[Manifest]], list[Manifest]]
    ) -> Response:
        for _ in range(5):  # read-modify-write; the node controller writes taints too
            current = self.admin.request("get", "nodes", name=node)
            if not current.ok:
                return current
            body = current.body
            spec = body.setdefault("spec", {})
            spec["taints"] = change(list(spec.get("taints") or []))
            if not spec["taints"]:
                del spec["taints"]
            answer = self.admin.request("update", "nodes", name=node, body=body)
            if answer.code != 409:
                return answer
        return answer

    def _merge(
        self,
        resource: str,
        name: str,
        namespace: str | None,
        body: Manifest,
        subresource: str | None = None,
    ) -> Response:
        return self.admin.request(
            "patch",
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params={"contentType": "application/merge-patch+json"},
        )

    def add_node(self, capacity: Mapping[str, str] | None = None) -> str:
        """A new machine joins: its kubelet registers a Node named ``node-<n>``."""
        self._node_count += 1
        name = f"node-{self._node_count}"
        runtime = Runtime(self.loop, name)
        host = NodeHost(
            name=name,
            index=self._node_count,
            runtime=runtime,
            connection=Connection(self.server, f"kubelet/{name}"),
            capacity=dict(capacity or self.capacity),
        )
        self.hosts[name] = host
        self._start_kubelet(host)
        return name

    def remove_node(self, name: str) -> Response:
        """The machine is switched off for good and its Node deleted (kubectl delete node)."""
        host = self._host(name)
        self._power_off(host)
        answer = self.admin.request("delete", "nodes", name=name)
        del self.hosts[name]
        return answer

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        return self.loop.now

    def advance(self, seconds: float) -> int:
        """Let ``seconds`` of simulated time pass; returns how many callbacks ran."""
        if not seconds >= 0:
            raise ClusterError(f"seconds: Invalid value: {seconds!r}: must be >= 0")
        return self.loop.run_for(seconds)

    def fingerprint(self) -> str:
        """A digest of the state users see (pods, workloads, node specs and conditions).

        Heartbeats (lease renewals, condition heartbeat times) do not change it.
        """
        digest = hashlib.sha256()
        for resource in STATE_RESOURCES:
            for item in self.list(resource):
                meta = item.get("metadata") or {}
                if resource == "nodes":
                    conditions = [
                        (c.get("type"), c.get("status"))
                        for c in (item.get("status") or {}).get("conditions") or []
                    ]
                    seen = (meta.get("name"), item.get("spec"), conditions)
                else:
                    seen = (meta.get("namespace"), meta.get("name"), meta.get("resourceVersion"))
                digest.update(repr(seen).encode())
        return digest.hexdigest()

    def run_until_stable(
        self,
        limit: float = STABLE_LIMIT_SECONDS,
        quiet: float = STABLE_QUIET_SECONDS,
        step: float = STABLE_STEP_SECONDS,
    ) -> bool:
        """Run until the fingerprint has not changed for ``quiet`` seconds, for at most ``limit``.

        Returns True if the cluster settled within the limit.
        """
        deadline = self.now + limit
        last, since = self.fingerprint(), self.now
        while self.now < deadline:
            self.advance(min(step, deadline - self.now))
            current = self.fingerprint()
            if current != last:
                last, since = current, self.now
            elif self.now - since >= quiet:
                return True
        return False

    def run_until(
        self, predicate: Callable[[Cluster], bool], limit: float, step: float = 1.0
    ) -> bool:
        """Run until ``predicate(self)`` holds, looking every ``step`` s, for at most ``limit``."""
        deadline = self.now + limit
        while not predicate(self):
            if self.now >= deadline:
                return False
            self.advance(min(step, deadline - self.now))
        return True

    # ------------------------------------------------------------------ faults

    def _host(self, name: str) -> NodeHost:
        host = self.hosts.get(name)
        if host is None:
            raise ClusterError(f'nodes "{name}" not found')
        return host

    def _power_off(self, host: NodeHost) -> None:
        if host.kubelet is not None:
            host.kubelet.stop()
            host.kubelet = None
        if not host.runtime.down:
            host.runtime.crash()
        host.up = False

    def crash_node(self, name: str) -> None:
        """The machine dies: the kubelet stops at once and every container with it."""
        self._power_off(self._host(name))

    def restart_node(self, name: str) -> None:
        """A crashed machine boots again: empty runtime (images kept), a fresh kubelet."""
        host = self._host(name)
        if host.up:
            return
        host.runtime.restart()
        self._start_kubelet(host)

    def kill_container(self, namespace: str, pod: str, container: str) -> bool:
        """Kill a running container of a pod with SIGKILL (exit 137); False if none runs."""
        found = self.get("pods", pod, namespace)
        node = (found or {}).get("spec", {}).get("nodeName")
        host = self.hosts.get(node or "")
        if found is None or host is None or not host.up:
            return False
        uid = found["metadata"]["uid"]
        for sandbox in host.runtime.list_pod_sandboxes(pod_uid=uid):
            for status in host.runtime.list_containers(sandbox_id=sandbox.id):
                if status.name == container and host.runtime.kill_container(status.id):
                    return True
        return False

    def partition(self, name: str) -> None:
        """Cut a node's link to the API server (its kubelet keeps running its pods)."""
        self._host(name).connection.cut()

    def heal(self, name: str | None = None) -> None:
        """Restore a node's link (every node's, with no name)."""
        hosts = [self._host(name)] if name is not None else list(self.hosts.values())
        for host in hosts:
            host.connection.heal()

    def restart_component(self, role: str) -> None:
        """A control-plane process restarts: its state is lost, it lists everything again."""
        if role not in CONTROL_PLANE:
            raise ClusterError(
                f"role: Unsupported value: {role!r}: use one of {', '.join(CONTROL_PLANE)}"
            )
        self.components.pop(role).stop()
        self._start_component(role)

    def compact(self) -> int:
        """Compact the store at its current revision (what the API server does every 5 min)."""
        store = self.server.store
        revision = store.revision
        if revision <= store.compact_revision:
            return revision  # nothing written since the last compaction
        self.trace()  # a compaction cancels the trace's watch: read it first, then watch again
        store.compact(revision)
        self._watch_store(revision + 1)
        return revision

    def _watch_store(self, start_revision: int) -> None:
        self._trace = self.server.store.watch(
            b"/registry/", etcd.prefix_end(b"/registry/"), start_revision=start_revision
        )

    # ------------------------------------------------------------------ observing

    def trace(self) -> list[str]:
        """Every write to the store so far, one line each: revision, event, key, value digest."""
        for response in self._trace.poll():
            for event in response.events:
                kv = event.kv
                digest = hashlib.sha256(kv.value).hexdigest()[:16] if kv.value else "-"
                self._trace_lines.append(
                    f"{kv.mod_revision} {event.type.name} {kv.key.decode()} {digest}"
                )
        return list(self._trace_lines)

    def events(self, namespace: str | None = None) -> list[Manifest]:
        """The Events, in the order they were first recorded, as ``kubectl get events``."""
        return sorted(self.list("events", namespace), key=first_seen)
