"""The example node lifecycle reconciler (examples/plugins/nodelifecycle.py) and its shell.

The unit tests call ``reconcile`` by hand, one node at a time, against the
reference API server on a simulated clock that only the test moves (a
``World``), so each asserts one rule of the example's contract at known
instants. The shell tests check what ``ReconcilerShell`` does for a nodes
reconciler: pods and Leases wake the node they name (``watches``). The suite
tests splice the example into the node lifecycle component suite: it obeys
every invariant, and a variant with the grace period doubled is caught.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import adapters, report
from kubeprop.conformance.adapters import python as plugins
from kubeprop.conformance.report import InvariantViolation
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.loop import EventLoop
from kubeprop.spec import contracts

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugins" / "nodelifecycle.py"
SUT = "python:examples.plugins.nodelifecycle:NodeLifecycleReconciler"
pytestmark = pytest.mark.skipif(
    not EXAMPLE.is_file(), reason="examples/plugins is in the source checkout, not the package"
)
NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


@pytest.fixture
def example(monkeypatch):
    """The example module, imported from the checkout (as ``--sut python:...`` does there)."""
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    return importlib.import_module("examples.plugins.nodelifecycle")


class World:
    """An API server, a clock moved by hand, kubelets played by the test, and the reconciler."""

    def __init__(self, reconciler) -> None:
        self.loop = EventLoop()
        self.server = ApiServer(clock=self.loop.clock)
        self.kubelet = Connection(self.server, "kubelet")
        connection = Connection(self.server, "node-controller")
        recorder = EventRecorder(connection, self.loop.clock, "node-controller")
        self.client = plugins.ManifestClient(connection, recorder, self.loop)
        self.reconciler = reconciler

    # ---- what kubelets and users do

    def add_node(self, name: str, zone: str = "zone-1", ready: str | None = "True") -> None:
        labels = {"topology.kubernetes.io/zone": zone}
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        assert self.kubelet.request("create", "nodes", body=body).ok
        if ready is not None:
            self.post(name, ready)

    def post(self, name: str, ready: str, **others: str) -> None:
        """The kubelet posts its conditions, heartbeat now."""
        node = self.node(name)
        now = self.loop.clock.timestamp()
        old = {c["type"]: c for c in (node.get("status") or {}).get("conditions") or []}
        wanted = {"Ready": ready, "MemoryPressure": "False", "DiskPressure": "False"}
        wanted.update({"PIDPressure": "False", "NetworkUnavailable": "False", **others})
        conditions = []
        for kind, status in wanted.items():
            same = old.get(kind, {}).get("status") == status
            since = old[kind]["lastTransitionTime"] if same else now
            conditions.append(
                {
                    "type": kind,
                    "status": status,
                    "reason": "Kubelet",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": since,
                }
            )
        node.setdefault("status", {})["conditions"] = conditions
        answer = self.kubelet.request("update", "nodes", name=name, subresource="status", body=node)
        assert answer.ok, answer.body

    def renew(self, name: str) -> None:
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "renewTime": self.loop.clock.micro_timestamp()},
        }
        found = self.server.get("leases", name, "kube-node-lease")
        if found.ok:
            lease["metadata"]["resourceVersion"] = found.body["metadata"]["resourceVersion"]
        answer = self.kubelet.request(
            "update", "leases", namespace="kube-node-lease", name=name, body=lease
        )
        assert answer.ok, answer.body

    def add_pod(self, name: str, node_name: str, ready: bool = True) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "nginx"}]},
        }
        pod = self.kubelet.request("create", "pods", namespace="default", body=body).body
        if ready:
            stamp = self.loop.clock.timestamp()
            pod["status"] = {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": stamp}],
            }
            answer = self.kubelet.request(
                "update", "pods", namespace="default", name=name, subresource="status", body=pod
            )
            assert answer.ok, answer.body

    def cordon(self, name: str, on: bool = True) -> None:
        node = self.node(name)
        node.setdefault("spec", {})["unschedulable"] = on
        assert self.kubelet.request("update", "nodes", name=name, body=node).ok

    # ---- the controller

    def reconcile(self, *names: str) -> list[float | None]:
        """One call per node named (every node by default), in that order."""
        names = names or tuple(n["metadata"]["name"] for n in self.client.list("nodes"))
        return [self.reconciler.reconcile((None, name), self.client) for name in names]

    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)

    # ---- what the test reads

    def node(self, name: str) -> dict:
        answer = self.server.get("nodes", name)
        assert answer.ok, answer.body
        return answer.body

    def condition(self, name: str, kind: str = "Ready") -> dict:
        conditions = self.node(name)["status"]["conditions"]
        return next(c for c in conditions if c["type"] == kind)

    def taints(self, name: str, effect: str = "NoExecute") -> list[str]:
        found = (self.node(name).get("spec") or {}).get("taints") or []
        return sorted(t["key"] for t in found if t["effect"] == effect)

    def pod_ready(self, name: str) -> str | None:
        pod = self.server.get("pods", name, "default").body
        found = [
            c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"
        ]
        return found[0]["status"] if found else None

    def events(self, reason: str) -> list[tuple[str, str, str]]:
        items = self.server.list("events", "default").body["items"]
        return [
            (e["involvedObject"]["name"], e["type"], e["message"])
            for e in items
            if e["reason"] == reason
        ]


@pytest.fixture
def world(example):
    return World(example.NodeLifecycleReconciler())


# ---------------------------------------------------------------------- the protocol


def test_the_example_is_a_reconciler_of_nodes_that_replaces_the_nodelifecycle_role(
    example, monkeypatch
):
    monkeypatch.chdir(REPO)
    assert isinstance(example.NodeLifecycleReconciler(), contracts.Reconciler)
    adapter = adapters.resolve(SUT)
    assert (adapter.kind, adapter.plugin.role) == ("controller", "nodelifecycle")
    assert set(adapter.components()) == {"nodelifecycle"}
    assert "cluster" in adapter.capabilities


def test_the_example_imports_nothing_of_kubeprop():
    source = EXAMPLE.read_text()
    assert "import kubeprop" not in source and "from kubeprop" not in source


# ---------------------------------------------------------------------- health


def test_a_silent_node_turns_unknown_after_the_grace_period_and_not_a_second_before(world):
    world.add_node("node-a")
    world.reconcile()  # first seen at 0: the probe instant
    world.advance(50)
    world.reconcile()
    assert world.condition("node-a")["status"] == "True"  # exactly 50 s: not yet
    world.advance(1)
    world.reconcile()
    ready = world.condition("node-a")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert ready["lastTransitionTime"] == "2026-01-01T00:00:51Z"
    for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert world.condition("node-a", kind)["status"] == "Unknown"
    assert world.condition("node-a", "NetworkUnavailable")["status"] == "False"  # left alone


def test_a_heartbeat_or_a_lease_renewal_restarts_the_grace_period(world):
    world.add_node("node-a")
    world.reconcile()
    world.advance(30)
    world.post("node-a", "True")  # a heartbeat at 30
    world.reconcile()
    world.advance(30)
    world.renew("node-a")  # a renewal at 60
    world.reconcile()
    world.advance(50)
    world.reconcile()
    assert world.condition("node-a")["status"] == "True"  # 50 s after the renewal
    world.advance(1)
    world.reconcile()
    assert world.condition("node-a")["status"] == "Unknown"


def test_a_node_that_never_posted_ready_gets_the_startup_grace_period_from_its_creation(world):
    world.add_node("node-a", ready=None)
    world.advance(20)
    world.reconcile()  # first seen at 20, judged from its creation at 0
    world.advance(40)
    world.reconcile()
    assert "conditions" not in (world.node("node-a").get("status") or {})  # 60 s: not yet
    world.advance(1)
    world.reconcile()
    ready = world.condition("node-a")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusNeverUpdated",
        "Kubelet never posted node status.",
    )
    kinds = [c["type"] for c in world.node("node-a")["status"]["conditions"]]
    assert kinds == ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]


def test_a_node_is_registered_once_and_its_removal_is_recorded(world):
    world.add_node("node-a")
    world.reconcile()
    world.reconcile()
    assert world.events("RegisteredNode") == [
        ("node-a", "Normal", "Node node-a event: Registered Node node-a in Controller")
    ]
    assert world.kubelet.request("delete", "nodes", name="node-a").ok
    assert world.reconcile("node-a") == [None]  # gone: no timer
    assert world.events("RemovingNode") == [
        ("node-a", "Normal", "Node node-a event: Removing Node node-a from Controller")
    ]


def test_every_call_asks_to_be_called_again_within_the_node_monitor_period(world):
    world.add_node("node-a")
    assert world.reconcile() == [5.0]


# ---------------------------------------------------------------------- pods


def test_turning_a_ready_node_unknown_marks_its_pods_not_ready(world):
    world.add_node("node-a")
    world.add_node("node-b")
    world.add_pod("web", "node-a")
    world.add_pod("db", "node-b")
    world.reconcile()
    world.advance(30)
    world.post("node-b", "True")
    world.advance(21)
    world.reconcile()
    assert world.condition("node-a")["status"] == "Unknown"
    assert (world.pod_ready("web"), world.pod_ready("db")) == ("False", "True")
    assert world.events("NodeNotReady") == [
        ("node-a", "Normal", "Node node-a status is now: NodeNotReady"),
        ("web", "Warning", "Node is not ready"),
    ]


def test_a_node_its_kubelet_reports_not_ready_leaves_its_pods_to_that_kubelet(world):
    world.add_node("node-a")
    world.add_pod("web", "node-a")
    world.reconcile()
    world.post("node-a", "False")
    world.reconcile()
    assert world.pod_ready("web") == "True"
    assert world.events("NodeNotReady") == []


def test_a_pod_newly_bound_to_a_node_that_is_not_ready_is_marked_not_ready(world):
    world.add_node("node-a")
    world.reconcile()
    world.advance(1)  # a heartbeat of another second: the controller sees the change
    world.post("node-a", "False")
    world.reconcile()
    world.add_pod("late", "node-a")
    world.reconcile()
    assert world.pod_ready("late") == "False"
    assert world.events("NodeNotReady") == [("late", "Warning", "Node is not ready")]


def test_pods_already_on_a_node_when_the_controller_first_sees_it_are_left_alone(world):
    """Upstream's processPod skips pods of a node it has no health data for yet: a restarted
    controller does not mark the pods of a node its kubelet reports not ready."""
    world.add_node("node-a", ready="False")
    world.add_pod("web", "node-a")
    world.reconcile()
    world.reconcile()
    assert world.pod_ready("web") == "True"
    assert world.events("NodeNotReady") == []


# ---------------------------------------------------------------------- NoExecute taints


def test_noexecute_taints_follow_the_ready_status_the_previous_call_observed(world):
    world.add_node("node-a")
    world.add_node("node-b")  # Ready: zone-1 stays Normal
    world.reconcile()
    world.advance(30)
    world.post("node-b", "True")
    world.advance(21)
    world.reconcile("node-a")
    assert world.condition("node-a")["status"] == "Unknown"
    assert world.taints("node-a") == []  # it observed True: tainted at its next call
    world.reconcile("node-a")
    assert world.taints("node-a") == [UNREACHABLE]
    taint = world.node("node-a")["spec"]["taints"]
    assert {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:51Z"} in taint
    world.post("node-a", "False")  # back, but not ready: swapped at once
    world.reconcile("node-a")
    assert world.taints("node-a") == [NOT_READY]
    world.post("node-a", "True")  # ready: removed at once
    world.reconcile("node-a")
    assert world.taints("node-a") == []


def test_new_taints_in_a_zone_wait_for_its_rate_of_one_node_per_ten_seconds(world):
    for name in ("node-a", "node-b", "node-c"):
        world.add_node(name)
    world.reconcile()
    world.post("node-a", "False")
    world.post("node-b", "False")  # 2 of 3 not ready: the zone stays Normal
    world.reconcile()
    waits = world.reconcile()
    assert (world.taints("node-a"), world.taints("node-b")) == ([NOT_READY], [])
    assert waits[1] == pytest.approx(5.0)  # its turn comes in 10 s; it looks again in 5
    world.advance(9.9)
    world.reconcile("node-b")
    assert world.taints("node-b") == []
    world.advance(0.1)
    world.reconcile("node-b")
    assert world.taints("node-b") == [NOT_READY]


def test_when_no_zone_has_a_ready_node_no_node_is_tainted_until_one_is_ready_again(world):
    world.add_node("node-a", zone="zone-1")
    world.add_node("node-b", zone="zone-2")
    world.reconcile()
    world.post("node-a", "False")
    world.reconcile()
    world.reconcile()
    assert world.taints("node-a") == [NOT_READY]  # zone-2 is still Ready
    world.post("node-b", "False")  # now every zone is fully disrupted
    world.reconcile()
    world.advance(60)
    world.reconcile()
    world.reconcile()
    assert (world.taints("node-a"), world.taints("node-b")) == ([], [])
    assert world.condition("node-a")["status"] == "Unknown"  # silent for 60 s
    world.post("node-b", "True")  # leaving: tainting resumes (a fresh bucket, drained)
    world.reconcile()
    assert (world.taints("node-a"), world.taints("node-b")) == ([], [])
    world.advance(10)
    world.reconcile()
    assert (world.taints("node-a"), world.taints("node-b")) == ([UNREACHABLE], [])


def test_leaving_a_cluster_wide_disruption_gives_every_kubelet_a_fresh_grace_period(world):
    world.add_node("node-a", zone="zone-1")
    world.add_node("node-b", zone="zone-2")
    world.reconcile()
    world.post("node-a", "False")
    world.post("node-b", "False")
    world.reconcile()  # every zone fully disrupted
    world.advance(40)
    world.post("node-a", "False")  # its last heartbeat
    world.reconcile("node-a")
    world.advance(20)
    world.post("node-b", "True")  # at 60: leaving, every probe instant is now
    world.reconcile("node-b")
    world.advance(50)  # 70 s after node-a's heartbeat, 50 after the reset
    world.reconcile("node-a")
    assert world.condition("node-a")["status"] == "False"
    world.advance(1)
    world.reconcile("node-a")
    assert world.condition("node-a")["status"] == "Unknown"


# ---------------------------------------------------------------------- NoSchedule taints


def test_noschedule_taints_mirror_the_conditions_and_cordoning_at_once(world):
    world.add_node("node-a")
    world.reconcile()
    assert world.taints("node-a", "NoSchedule") == []
    world.post("node-a", "False", MemoryPressure="True", NetworkUnavailable="True")
    world.cordon("node-a")
    world.reconcile()
    assert world.taints("node-a", "NoSchedule") == [
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/network-unavailable",
        NOT_READY,
        "node.kubernetes.io/unschedulable",
    ]
    assert "timeAdded" not in world.node("node-a")["spec"]["taints"][0]
    world.post("node-a", "True")
    world.cordon("node-a", on=False)
    world.reconcile()
    assert world.taints("node-a", "NoSchedule") == []


def test_noschedule_taints_of_others_are_kept(world):
    world.add_node("node-a")
    node = world.node("node-a")
    node["spec"] = {"taints": [{"key": "example.com/gpu", "effect": "NoSchedule"}]}
    assert world.kubelet.request("update", "nodes", name="node-a", body=node).ok
    world.post("node-a", "False")
    world.reconcile()
    assert world.taints("node-a", "NoSchedule") == ["example.com/gpu", NOT_READY]


# ---------------------------------------------------------------------- the shell


class Recorder:
    """A nodes reconciler that records the keys it is asked for."""

    kind = "controller"
    resource = "nodes"
    owns = ()

    def __init__(self, watches) -> None:
        self.watches = watches
        self.keys: list[tuple[str | None, str]] = []

    def reconcile(self, key, client):
        self.keys.append(key)
        return None


def _shell(reconciler) -> tuple[plugins.ReconcilerShell, World]:
    world = World(reconciler)
    recorder = EventRecorder(Connection(world.server, "x"), world.loop.clock, "x")
    shell = plugins.ReconcilerShell(
        reconciler, Connection(world.server, "node-controller"), world.loop, recorder
    )
    shell.start()
    return shell, world


def test_the_shell_wakes_the_node_a_watched_pod_or_lease_maps_to(example):
    reconciler = Recorder(dict(example.NodeLifecycleReconciler.watches))
    shell, world = _shell(reconciler)
    world.add_node("node-a")
    world.advance(1)
    reconciler.keys.clear()
    world.add_pod("web", "node-a", ready=False)
    world.advance(1)
    assert reconciler.keys == [(None, "node-a")]
    world.renew("node-a")
    world.advance(1)
    assert reconciler.keys == [(None, "node-a")] * 2
    world.add_pod("unbound", "", ready=False)  # maps to nothing
    world.advance(1)
    assert reconciler.keys == [(None, "node-a")] * 2
    assert shell.errors == []


def test_a_map_function_that_raises_is_kept_as_an_error_and_wakes_nothing():
    def broken(obj):
        raise KeyError("spec")

    reconciler = Recorder({"pods": broken})
    shell, world = _shell(reconciler)
    world.add_node("node-a")
    world.advance(1)
    reconciler.keys.clear()
    world.add_pod("web", "node-a", ready=False)
    world.advance(1)
    assert reconciler.keys == []
    assert shell.errors == [("pods/default/web", "watches['pods'] failed: KeyError: 'spec'")]


def test_an_owned_object_wakes_its_cluster_scoped_owner_by_name():
    reconciler = Recorder({})
    reconciler.owns = ("leases",)
    shell, world = _shell(reconciler)
    world.add_node("node-a")
    world.advance(1)
    reconciler.keys.clear()
    node = world.node("node-a")
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "node-a",
            "namespace": "kube-node-lease",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": "node-a",
                    "uid": node["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"holderIdentity": "node-a"},
    }
    assert world.kubelet.request("create", "leases", namespace="kube-node-lease", body=lease).ok
    world.advance(1)
    assert reconciler.keys == [(None, "node-a")]


# ---------------------------------------------------------------------- the suite


def _machine(factory):
    from kubeprop.conformance.suites.test_nodelifecycle import make_machine

    return make_machine(nlc=factory)


def test_the_node_lifecycle_suite_passes_with_the_example_spliced_in(example, monkeypatch):
    monkeypatch.chdir(REPO)
    factory = adapters.resolve(SUT).component("nodelifecycle")
    run_state_machine_as_test(
        _machine(factory),
        settings=settings(
            max_examples=15, stateful_step_count=30, deadline=None, derandomize=True, database=None
        ),
    )


def test_a_mutant_with_the_grace_period_doubled_is_caught_by_unknown_in_time(example):
    """The scenario the suite shrinks it to: a kubelet goes silent at 0 and the node is
    still Ready past 50 s + two monitor periods + the watch latency."""

    class DoubledGrace(example.NodeLifecycleReconciler):
        def __init__(self):
            super().__init__(node_monitor_grace_period=100.0)

    sys.modules[__name__].DoubledGrace = DoubledGrace  # for the shell's loader
    factory = plugins.ShellFactory(
        plugins.Plugin(
            f"{__name__}:DoubledGrace", DoubledGrace, "controller", "nodelifecycle", False
        )
    )
    machine = _machine(factory)()
    try:
        machine.a_cluster_of_two_nodes(None, None)
        machine.kubelet_stops(0, 0.0)
        with pytest.raises(InvariantViolation) as caught, report.isolated():
            for _ in range(20):
                machine.advance(5.0)
                machine.node_lifecycle_invariants_hold()
        assert caught.value.invariant_id == "NODELIFECYCLE-UNKNOWN-IN-TIME"
        assert machine.loop.now == 65.0  # 50 + 2 * 5 + 1.51, rounded up to the step
    finally:
        machine.teardown()
