"""The node lifecycle suite: node health, NoExecute taints, taint eviction and pod GC.

Contract: ``make_machine(nlc, tec, podgc)`` builds a ``RuleBasedStateMachine``
class running an ``ApiServer`` on an ``EventLoop`` with three components built
by the factories (each called with ``connection``, ``loop``, ``recorder`` and
``watch_latency``, like the reference ``NodeLifecycleController``,
``TaintEvictionController`` and ``PodGC``). Rules stand in for kubelets and
users: add and delete nodes, start and stop a kubelet (a live one renews its
Lease every 10 s), let it report Ready or not Ready, create pods bound to a
node with generated tolerations (the API server's DefaultTolerationSeconds adds
its own), mark pods Ready, put or lift a NoExecute taint, and let time pass.
Every request of every component passes through a ``Tap`` that records, with
its instant, each stored state of every node (its NoExecute taints) and each
pod delete the taint eviction controller and the pod GC send. After every step
the invariants of spec/nodelifecycle.md are evaluated through ``check``.

The suite runs the SUT's node lifecycle, taint eviction and pod GC components
where it has them (a ``--sut python:...`` Reconciler of nodes in its reference
shell, the reference components beside it), the reference ones otherwise; a SUT
with none of them skips it with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.plugin import require
from kubeprop.conformance.report import check
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.controllers.nodelifecycle import (
    NODE_MONITOR_GRACE_PERIOD,
    NODE_MONITOR_PERIOD,
    NODE_STARTUP_GRACE_PERIOD,
    NodeLifecycleController,
    TaintEvictionController,
)
from kubeprop.reference.controllers.podgc import (
    GC_CHECK_PERIOD,
    QUARANTINE_TIME,
    TERMINATED_POD_GC_THRESHOLD,
    PodGC,
)
from kubeprop.reference.loop import EventLoop
from kubeprop.spec.invariants.apiserver import Exchange
from kubeprop.spec.invariants.nodelifecycle import PodDelete, TaintChange, no_execute

Manifest = dict[str, Any]

NODES = ("node-a", "node-b", "node-c")
ZONES = {"node-a": "zone-1", "node-b": "zone-1", "node-c": "zone-2"}
LEASE_NAMESPACE = "kube-node-lease"
LEASE_RENEW_INTERVAL = 10.0  # the kubelet renews its Lease every 10 s (a quarter of 40 s)
WATCH_LATENCY = 0.5  # the components' informer poll interval in this suite
LATENCY = 3 * WATCH_LATENCY + 0.01  # the most a component's view lags the store
MAINTENANCE = "example.com/maintenance"
NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
# Toleration sets pods are created with (None: none, so admission adds 300 s ones).
TOLERATIONS: tuple[list[Manifest] | None, ...] = (
    None,
    [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
    [{"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}],
    [{"operator": "Exists"}],
    [{"key": MAINTENANCE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 20}],
    [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}],
)
STEPS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0)


@attrs.define(eq=False)
class Tap:
    """What passed between the components and the API server, with instants."""

    server: ApiServer
    loop: EventLoop
    # node name -> every stored state of the node's NoExecute taints, in order.
    taints: dict[str, list[TaintChange]] = attrs.field(factory=dict)
    evictions: list[tuple[float, Manifest]] = attrs.field(factory=list)  # taint eviction deletes
    podgc_deletes: list[PodDelete] = attrs.field(factory=list)  # pod GC deletes
    absent_since: dict[str, float] = attrs.field(factory=dict)  # node -> since when absent

    def for_component(self, who: str) -> Tapped:
        return Tapped(self, who)

    def terminated(self) -> int:
        pods = self.server.list("pods").body["items"]
        return sum(
            1 for p in pods if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        )

    def before(self, who: str, verb: str, resource: str, namespace, name, body) -> Any:
        if verb != "delete" or resource != "pods":
            return None
        found = self.server.get("pods", name, namespace)
        if not found.ok:
            return None
        pod = found.body
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.server.get("nodes", node_name).body if node_name else None
        if node is not None and node.get("kind") == "Status":
            node = None
        grace = body.get("gracePeriodSeconds") if isinstance(body, dict) else None
        return PodDelete(
            self.loop.now,
            pod,
            grace,
            node,
            self.absent_since.get(node_name or ""),
            self.terminated(),
        )

    def after(self, who: str, verb: str, resource: str, name, answer, seen: Any) -> None:
        if not answer.ok:
            return
        if resource == "nodes" and verb in ("create", "update", "patch"):
            taints = no_execute((answer.body.get("spec") or {}).get("taints") or [])
            self.taints.setdefault(answer.body["metadata"]["name"], []).append(
                TaintChange(self.loop.now, taints)
            )
        elif resource == "nodes" and verb == "delete":
            self.taints.setdefault(name, []).append(TaintChange(self.loop.now, None))
        elif seen is not None and who == "taint-eviction-controller":
            self.evictions.append((self.loop.now, seen.pod))
        elif seen is not None and who == "pod-garbage-collector":
            self.podgc_deletes.append(seen)


@attrs.define(eq=False)
class Tapped:
    """The API server as one component reaches it: every request goes through the Tap."""

    tap: Tap
    who: str

    def request(
        self, verb, resource, *, namespace=None, name=None, subresource=None, body=None, params=None
    ):
        seen = self.tap.before(self.who, verb, resource, namespace, name, body)
        answer = self.tap.server.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params=params,
        )
        self.tap.after(self.who, verb, resource, name, answer, seen)
        return answer


def node_manifest(name: str) -> Manifest:
    """A Node as it is registered: its name and zone label, no status."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": ZONES[name]}},
    }


class NodeLifecycleMachine(RuleBasedStateMachine):
    """Kubelets, users and time against the node lifecycle components."""

    factories: tuple[Callable[..., Any], ...] = ()  # set by make_machine
    server_factory: Callable[..., Any] = ApiServer  # the API server (its admission plugins)

    def __init__(self) -> None:
        super().__init__()
        self.loop = EventLoop()
        self.server = self.server_factory(clock=self.loop.clock)
        self.tap = Tap(self.server, self.loop)
        self.tap.absent_since = {name: 0.0 for name in NODES}
        self.kubelets = {}  # node name -> its connection
        self.alive: dict[str, bool] = {}  # node name -> its kubelet renews and reports
        self.reporting: dict[str, bool] = {}  # node name -> the Ready status it reports
        self.renewals: dict[str, list[float]] = {}  # node name -> instants it showed life
        self.never_posted: dict[str, float] = {}  # node name -> registered, no kubelet since
        self.renew_timers: dict[str, Any] = {}  # node name -> the next Lease renewal
        self.last_change = 0.0  # the last node added, deleted or reporting a new status
        self.disruption_exit = 0.0  # the last instant a node turned Ready while none was
        self.user = Connection(self.tap.for_component("user"), "user")
        self.pods = 0  # pods created so far (names pod-0, pod-1, ...)
        self.checked_evictions = 0
        self.checked_podgc = 0
        self.components = []
        for factory, who in zip(
            self.factories,
            ("node-controller", "taint-eviction-controller", "pod-garbage-collector"),
            strict=True,
        ):
            connection = Connection(self.tap.for_component(who), who)
            component = factory(
                connection=connection,
                loop=self.loop,
                recorder=EventRecorder(connection, self.loop.clock, who),
                watch_latency=WATCH_LATENCY,
            )
            self.components.append(component)

    # ---- kubelets ---------------------------------------------------------------------------

    def _node(self, name: str) -> Manifest | None:
        answer = self.server.get("nodes", name)
        return answer.body if answer.ok else None

    def _all_not_ready(self) -> bool:
        nodes = self.server.list("nodes").body["items"]
        return all(self._ready(node) != "True" for node in nodes)

    @staticmethod
    def _ready(node: Manifest) -> str | None:
        for item in (node.get("status") or {}).get("conditions") or []:
            if item.get("type") == "Ready":
                return item.get("status")
        return None

    def _post_status(self, name: str) -> None:
        """The kubelet posts its Ready condition (heartbeat now)."""
        node = self._node(name)
        if node is None:
            return
        before = self._all_not_ready()
        status = "True" if self.reporting[name] else "False"
        stamp = self.loop.clock.timestamp()
        ready = {
            "type": "Ready",
            "status": status,
            "reason": "KubeletReady" if status == "True" else "KubeletNotReady",
            "message": "kubelet is posting ready status"
            if status == "True"
            else "container runtime is down",
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
        conditions = []
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            conditions.append(
                {
                    "type": kind,
                    "status": "False",
                    "reason": f"KubeletHasNo{kind}"
                    if kind != "PIDPressure"
                    else "KubeletHasSufficientPID",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            )
        old = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        for item in [ready, *conditions]:
            previous = old.get(item["type"])
            if previous is not None and previous.get("status") == item["status"]:
                item["lastTransitionTime"] = previous.get("lastTransitionTime")
        if old.get("Ready", {}).get("status") != status:
            self.last_change = self.loop.now
        node.setdefault("status", {})["conditions"] = [ready, *conditions]
        answer = self.kubelets[name].request(
            "update", "nodes", name=name, subresource="status", body=node
        )
        if answer.ok:
            self.renewals[name].append(self.loop.now)
            if before and status == "True":
                self.disruption_exit = self.loop.now

    def _renew(self, name: str) -> None:
        self.renew_timers.pop(name, None)
        if not self.alive.get(name):
            return
        lease = self.server.get("leases", name, LEASE_NAMESPACE)
        if lease.ok:
            body = lease.body
            body["spec"]["renewTime"] = self.loop.clock.micro_timestamp()
            if (
                self.kubelets[name]
                .request("update", "leases", namespace=LEASE_NAMESPACE, name=name, body=body)
                .ok
            ):
                self.renewals[name].append(self.loop.now)
        self.renew_timers[name] = self.loop.call_later(
            LEASE_RENEW_INTERVAL, lambda: self._renew(name)
        )

    def _start_kubelet(self, name: str) -> None:
        self.alive[name] = True
        self._post_status(name)
        self._renew(name)

    def _stop_kubelet(self, name: str) -> None:
        self.alive[name] = False
        timer = self.renew_timers.pop(name, None)
        if timer is not None:
            self.loop.cancel(timer)

    # ---- rules ------------------------------------------------------------------------------

    @initialize(first=st.sampled_from(TOLERATIONS), second=st.sampled_from(TOLERATIONS))
    def a_cluster_of_two_nodes(
        self, first: list[Manifest] | None = None, second: list[Manifest] | None = None
    ) -> None:
        """node-a and node-b, Ready; with tolerations given, a pod on each."""
        self.add_node(0)
        self.add_node(1)
        for component in self.components:
            component.start()
        if first is not None or second is not None:
            self.create_pod(0, first)
            self.create_pod(1, second)

    @precondition(lambda self: any(self._node(n) is None for n in NODES))
    @rule(index=st.integers(0, 2))
    def add_node(self, index: int) -> None:
        name = next(n for n in NODES[index:] + NODES[:index] if self._node(n) is None)
        before = self._all_not_ready()
        self.kubelets[name] = Connection(
            self.tap.for_component(f"kubelet/{name}"), f"kubelet/{name}"
        )
        if not self.kubelets[name].request("create", "nodes", body=node_manifest(name)).ok:
            return
        self._create_lease(name)
        self.tap.absent_since.pop(name, None)
        self.renewals[name] = [self.loop.now]
        self.reporting[name] = True
        self.last_change = self.loop.now
        self._start_kubelet(name)
        if before:
            self.disruption_exit = self.loop.now

    def _create_lease(self, name: str) -> None:
        """The kubelet's Lease in kube-node-lease, renewed now."""
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {
                "holderIdentity": name,
                "leaseDurationSeconds": 40,
                "renewTime": self.loop.clock.micro_timestamp(),
            },
        }
        self.kubelets[name].request(
            "update", "leases", namespace=LEASE_NAMESPACE, name=name, body=lease
        )

    @rule(index=st.integers(0, 2))
    def register_node_without_kubelet(self, index: int) -> None:
        """A Node object appears whose kubelet never posts its status (registered by hand, or
        its kubelet died at once): no conditions, no Lease."""
        name = next((n for n in NODES[index:] + NODES[:index] if self._node(n) is None), None)
        if name is None:
            return
        self.kubelets[name] = Connection(
            self.tap.for_component(f"kubelet/{name}"), f"kubelet/{name}"
        )
        if self.user.request("create", "nodes", body=node_manifest(name)).ok:
            self.tap.absent_since.pop(name, None)
            self.alive[name] = False
            self.never_posted[name] = self.loop.now
            self.last_change = self.loop.now

    def _existing(self, index: int, alive: bool | None = None) -> str | None:
        names = [
            n
            for n in NODES
            if self._node(n) is not None and (alive is None or self.alive.get(n) == alive)
        ]
        return names[index % len(names)] if names else None

    @rule(index=st.integers(0, 2))
    def delete_node(self, index: int) -> None:
        name = self._existing(index)
        if name is None:
            return
        self._stop_kubelet(name)
        self.user.request("delete", "nodes", name=name)
        self.user.request("delete", "leases", namespace=LEASE_NAMESPACE, name=name)
        self.tap.absent_since[name] = self.loop.now
        self.never_posted.pop(name, None)
        self.last_change = self.loop.now

    @rule(index=st.integers(0, 2), then=st.sampled_from((0.0, 30.0, 60.0)))
    def kubelet_stops(self, index: int, then: float = 0.0) -> None:
        """A kubelet goes silent (and ``then`` seconds pass)."""
        name = self._existing(index, alive=True)
        if name is not None:
            self._stop_kubelet(name)
        self.loop.run_for(then)

    @rule(index=st.integers(0, 2), ready=st.booleans())
    def kubelet_starts(self, index: int, ready: bool) -> None:
        name = self._existing(index, alive=False)
        if name is not None:
            self.reporting[name] = ready
            if self.never_posted.pop(name, None) is not None:  # its first start: a Lease
                self._create_lease(name)
                self.renewals[name] = [self.loop.now]
            self._start_kubelet(name)

    @rule(index=st.integers(0, 2), ready=st.booleans())
    def kubelet_reports(self, index: int, ready: bool) -> None:
        name = self._existing(index, alive=True)
        if name is not None:
            self.reporting[name] = ready
            self._post_status(name)

    @rule(index=st.integers(0, 3), tolerations=st.sampled_from(TOLERATIONS))
    def create_pod(self, index: int, tolerations: list[Manifest] | None) -> None:
        """A pod bound to a node (index 3: to one that does not exist now, if any)."""
        absent = [n for n in NODES if self._node(n) is None]
        node_name = (absent or NODES)[0] if index == 3 else self._existing(index) or NODES[index]
        spec: Manifest = {"nodeName": node_name, "containers": [{"name": "app", "image": "nginx"}]}
        if tolerations is not None:
            spec["tolerations"] = tolerations
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pod-{self.pods}"},
            "spec": spec,
        }
        self.pods += 1
        answer = self.user.request("create", "pods", namespace="default", body=body)
        exchange = Exchange("create", "pods", "default", None, answer.code, answer.body, body)
        check("NODELIFECYCLE-DEFAULT-TOLERATIONS", exchange)

    @rule(index=st.integers(0, 20))
    def pod_becomes_ready(self, index: int) -> None:
        """A live kubelet reports one of its pods Ready."""
        pods = [
            p
            for p in self.server.list("pods", "default").body["items"]
            if self.alive.get(p["spec"].get("nodeName"))
            and not p["metadata"].get("deletionTimestamp")
        ]
        if not pods:
            return
        pod = pods[index % len(pods)]
        pod["kind"], pod["apiVersion"] = "Pod", "v1"
        stamp = self.loop.clock.timestamp()
        pod.setdefault("status", {})["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": stamp}
        ]
        pod["status"]["phase"] = "Running"
        kubelet = self.kubelets[pod["spec"]["nodeName"]]
        kubelet.request(
            "update",
            "pods",
            namespace="default",
            name=pod["metadata"]["name"],
            subresource="status",
            body=pod,
        )

    @rule(index=st.integers(0, 2), on=st.booleans())
    def maintenance_taint(self, index: int, on: bool) -> None:
        """A user puts (or lifts) a NoExecute taint of their own on a node."""
        name = self._existing(index)
        node = self._node(name) if name else None
        if node is None:
            return
        taints = [
            t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") != MAINTENANCE
        ]
        if on:
            taints.append({"key": MAINTENANCE, "effect": "NoExecute"})
        node.setdefault("spec", {})["taints"] = taints
        self.user.request("update", "nodes", name=name, body=node)

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)

    # ---- after every step -------------------------------------------------------------------

    @invariant()
    def node_lifecycle_invariants_hold(self) -> None:
        now = self.loop.now
        nodes = self.server.list("nodes").body["items"]
        pods = self.server.list("pods").body["items"]
        for node in nodes:
            name = node["metadata"]["name"]
            if name in self.never_posted:
                check(
                    "NODELIFECYCLE-NEVER-UPDATED",
                    node,
                    self.never_posted[name],
                    now,
                    NODE_STARTUP_GRACE_PERIOD,
                    NODE_MONITOR_PERIOD,
                    LATENCY,
                )
                continue
            if name not in self.renewals:
                continue
            silent_since = max(self.renewals[name][-1], self.disruption_exit)
            check(
                "NODELIFECYCLE-UNKNOWN-IN-TIME",
                node,
                silent_since,
                now,
                NODE_MONITOR_GRACE_PERIOD,
                NODE_MONITOR_PERIOD,
                LATENCY,
            )
            check(
                "NODELIFECYCLE-UNKNOWN-NOT-EARLY",
                node,
                self.renewals[name],
                NODE_MONITOR_GRACE_PERIOD,
                LATENCY,
            )
        was_ready = [name for name, ready in self.reporting.items() if ready]
        check("NODELIFECYCLE-PODS-NOT-READY", nodes, pods, was_ready, now, LATENCY)
        check(
            "NODELIFECYCLE-READY-TAINTS", nodes, self.last_change, now, NODE_MONITOR_PERIOD, LATENCY
        )
        for at, pod in self.tap.evictions[self.checked_evictions :]:
            history = self.tap.taints.get(pod["spec"].get("nodeName"), [])
            check("NODELIFECYCLE-EVICT-NOT-EARLY", at, pod, history, LATENCY)
        self.checked_evictions = len(self.tap.evictions)
        evicted = {f"default/{pod['metadata']['name']}" for _, pod in self.tap.evictions}
        check("NODELIFECYCLE-EVICT-IN-TIME", pods, self.tap.taints, evicted, now, LATENCY + 1)
        for delete in self.tap.podgc_deletes[self.checked_podgc :]:
            check(
                "NODELIFECYCLE-PODGC-JUSTIFIED",
                delete,
                QUARANTINE_TIME,
                TERMINATED_POD_GC_THRESHOLD,
            )
        self.checked_podgc = len(self.tap.podgc_deletes)
        check(
            "NODELIFECYCLE-PODGC-ORPHANS",
            pods,
            self.tap.absent_since,
            now,
            QUARANTINE_TIME,
            GC_CHECK_PERIOD,
            LATENCY,
        )


def make_machine(
    nlc: Callable[..., Any] = NodeLifecycleController,
    tec: Callable[..., Any] = TaintEvictionController,
    podgc: Callable[..., Any] = PodGC,
    server: Callable[..., Any] = ApiServer,
) -> type[NodeLifecycleMachine]:
    """The machine over the given node lifecycle, taint eviction and pod GC factories
    (and API server, whose DefaultTolerationSeconds admission the pods pass)."""
    names = "".join(getattr(f, "__name__", "SUT") for f in (nlc, tec, podgc, server))
    return type(
        f"NodeLifecycleMachineOf{names}",
        (NodeLifecycleMachine,),
        {"factories": (nlc, tec, podgc), "server_factory": staticmethod(server)},
    )


ReferenceNodeLifecycleMachine = make_machine()
# The cluster roles this suite runs, with the make_machine argument each one's factory is.
NODE_ROLES = {"nodelifecycle": "nlc", "tainteviction": "tec", "podgc": "podgc"}


def test_the_node_controllers_obey_every_node_lifecycle_invariant(sut):
    require(sut, "cluster")
    spliced = {NODE_ROLES[role]: f for role, f in sut.components().items() if role in NODE_ROLES}
    if not sut.is_reference and not spliced:
        pytest.skip(f"SUT {sut.name!r} provides none of the {', '.join(NODE_ROLES)} components")
    machine = make_machine(**spliced) if spliced else ReferenceNodeLifecycleMachine
    run_state_machine_as_test(
        machine, settings=settings(max_examples=25, stateful_step_count=30, deadline=None)
    )
