"""The node lifecycle, taint eviction and pod GC controllers: upstream's numbers, one case each.

Each test drives a small cluster (ApiServer + EventLoop + the controller)
through the suite's machine or by hand, and checks an exact instant, message
or decision against upstream v1.35.
"""

from __future__ import annotations

import pytest

from kubeprop.conformance.suites.test_nodelifecycle import make_machine
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.controllers.nodelifecycle import (
    FULL_DISRUPTION,
    NORMAL_ZONE,
    PARTIAL_DISRUPTION,
    NodeLifecycleController,
    TaintEvictionController,
    eviction_delay,
)
from kubeprop.reference.controllers.podgc import PodGC
from kubeprop.reference.loop import EventLoop

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
CUSTOM = {"key": "example.com/x", "value": "1", "effect": "NoExecute"}


def toleration(key=None, seconds=None, **extra):
    found = {"operator": "Exists", "effect": "NoExecute", **extra}
    if key:
        found["key"] = key
    if seconds is not None:
        found["tolerationSeconds"] = seconds
    return found


DELAYS = [
    ("an untolerated taint evicts at once", [], [UNREACHABLE], 0.0),
    (
        "a toleration without seconds keeps the pod forever",
        [toleration(UNREACHABLE["key"])],
        [UNREACHABLE],
        None,
    ),
    ("tolerationSeconds is the delay", [toleration(UNREACHABLE["key"], 300)], [UNREACHABLE], 300.0),
    (
        "the least tolerationSeconds of the tolerations used wins",
        [toleration(UNREACHABLE["key"], 300), toleration(CUSTOM["key"], 20)],
        [UNREACHABLE, CUSTOM],
        20.0,
    ),
    (
        "a forever toleration does not lengthen a finite one",
        [toleration(UNREACHABLE["key"]), toleration(CUSTOM["key"], 20)],
        [UNREACHABLE, CUSTOM],
        20.0,
    ),
    ("negative seconds count as zero", [toleration(NOT_READY["key"], -5)], [NOT_READY], 0.0),
    (
        "only the first matching toleration of a taint is used",
        [toleration(None), toleration(UNREACHABLE["key"], 5)],
        [UNREACHABLE],
        None,
    ),
    (
        "one untolerated taint among tolerated ones evicts at once",
        [toleration(UNREACHABLE["key"])],
        [UNREACHABLE, CUSTOM],
        0.0,
    ),
]


@pytest.mark.parametrize("case, tolerations, taints, delay", DELAYS, ids=[c[0] for c in DELAYS])
def test_the_eviction_delay_follows_the_taint_eviction_controller(case, tolerations, taints, delay):
    assert eviction_delay(tolerations, taints) == delay


def started():
    machine = make_machine()()
    machine.a_cluster_of_two_nodes()
    return machine


def node(machine, name="node-a"):
    return machine.server.get("nodes", name).body


def ready(manifest):
    return next(c for c in manifest["status"]["conditions"] if c["type"] == "Ready")


def events(machine, reason):
    return [
        e for e in machine.server.list("events", "default").body["items"] if e["reason"] == reason
    ]


def test_a_silent_node_turns_unknown_at_the_first_pass_after_the_50_second_grace_period():
    machine = started()
    machine.kubelet_stops(0)  # its last renewal was at 0 s; passes run every 5 s from 0 s
    machine.loop.run_until(50.0)
    assert ready(node(machine))["status"] == "True"  # 50 s is not more than 50 s
    machine.loop.run_until(55.0)
    condition = ready(node(machine))
    assert condition["status"] == "Unknown"
    assert condition["reason"] == "NodeStatusUnknown"
    assert condition["message"] == "Kubelet stopped posting node status."
    kinds = {c["type"]: c["status"] for c in node(machine)["status"]["conditions"]}
    assert kinds == {
        "Ready": "Unknown",
        "MemoryPressure": "Unknown",
        "DiskPressure": "Unknown",
        "PIDPressure": "Unknown",
    }
    assert [e["message"] for e in events(machine, "NodeNotReady")] == [
        "Node node-a status is now: NodeNotReady"
    ]


def test_a_renewed_lease_alone_keeps_a_node_ready():
    machine = started()  # the kubelet renews its Lease every 10 s and posts no status
    machine.loop.run_until(600.0)
    assert ready(node(machine))["status"] == "True"


def test_the_unreachable_taint_follows_at_the_next_pass_and_goes_when_ready_again():
    machine = started()
    machine.kubelet_stops(0)
    machine.loop.run_until(60.0)
    taints = node(machine)["spec"]["taints"]
    assert {
        "key": "node.kubernetes.io/unreachable",
        "effect": "NoExecute",
        "timeAdded": "2026-01-01T00:01:00Z",
    } in taints
    assert {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"} in taints
    machine.kubelet_starts(0, ready=True)
    machine.loop.run_for(6.0)
    assert not (node(machine).get("spec") or {}).get("taints")


def test_a_node_reporting_not_ready_gets_the_not_ready_taints():
    machine = started()
    machine.kubelet_reports(0, ready=False)
    machine.loop.run_for(6.0)
    keys = {(t["key"], t["effect"]) for t in node(machine)["spec"]["taints"]}
    assert keys == {
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/not-ready", "NoSchedule"),
    }


def test_when_every_node_is_down_no_node_is_tainted():
    machine = started()
    machine.kubelet_stops(0)
    machine.kubelet_stops(0)
    machine.loop.run_until(120.0)
    for name in ("node-a", "node-b"):
        assert ready(node(machine, name))["status"] == "Unknown"
        assert not any(
            t["effect"] == "NoExecute"
            for t in (node(machine, name).get("spec") or {}).get("taints") or []
        )


def test_a_pod_tolerating_unreachable_for_5_seconds_is_evicted_5_seconds_after_the_taint():
    machine = started()
    machine.create_pod(0, [toleration(UNREACHABLE["key"], 5)])
    machine.kubelet_stops(0)
    machine.loop.run_until(64.0)
    assert not machine.tap.evictions
    machine.loop.run_until(66.0)
    ((at, pod),) = machine.tap.evictions
    assert 65.0 <= at <= 66.0 and pod["metadata"]["name"] == "pod-0"
    evicted = machine.server.get("pods", "pod-0", "default").body
    assert evicted["metadata"]["deletionTimestamp"]
    condition = next(c for c in evicted["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert condition["reason"] == "DeletionByTaintManager"
    assert [e["message"] for e in events(machine, "TaintManagerEviction")] == [
        "Marking for deletion Pod default/pod-0"
    ]


def test_the_admission_defaults_keep_a_pod_for_300_seconds():
    machine = started()
    machine.create_pod(0, None)
    machine.kubelet_stops(0)
    machine.loop.run_until(355.0)
    assert not machine.tap.evictions
    machine.loop.run_until(365.0)
    assert len(machine.tap.evictions) == 1


def test_a_pods_ready_condition_is_set_false_when_its_node_goes_unknown():
    machine = started()
    machine.create_pod(0, [{"operator": "Exists"}])
    machine.pod_becomes_ready(0)
    machine.kubelet_stops(0)
    machine.loop.run_until(56.0)
    pod = machine.server.get("pods", "pod-0", "default").body
    assert ready(pod)["status"] == "False"
    assert [
        e["message"]
        for e in events(machine, "NodeNotReady")
        if e["involvedObject"]["kind"] == "Pod"
    ] == ["Node is not ready"]


def test_pod_gc_deletes_the_pods_of_a_deleted_node_after_the_quarantine():
    machine = started()
    machine.create_pod(0, [{"operator": "Exists"}])
    machine.delete_node(0)  # passes at 0, 20, 40, 60, ...: seen at 20, quarantined until 60
    machine.loop.run_until(59.0)
    assert machine.server.get("pods", "pod-0", "default").ok
    machine.loop.run_until(61.0)
    assert machine.server.get("pods", "pod-0", "default").code == 404
    (delete,) = machine.tap.podgc_deletes
    assert delete.grace == 0 and delete.pod["status"]["phase"] == "Failed"


@pytest.mark.parametrize(
    "ready, state",
    [
        (["True", "True"], NORMAL_ZONE),
        (["False", "Unknown"], FULL_DISRUPTION),
        (["False", "False", "True"], NORMAL_ZONE),
        (["False", "False", "False", "True", "True"], PARTIAL_DISRUPTION),
        (["False", "False", "False", "True", "True", "True"], NORMAL_ZONE),
    ],
)
def test_zone_states_follow_the_unhealthy_zone_threshold(ready, state):
    loop = EventLoop()
    controller = NodeLifecycleController(connection=None, loop=loop, recorder=None)
    assert controller.compute_zone_state(ready) == state


def test_stopped_controllers_write_nothing_more():
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    components = []
    for cls, who in (
        (NodeLifecycleController, "node-controller"),
        (TaintEvictionController, "taint-eviction-controller"),
        (PodGC, "pod-garbage-collector"),
    ):
        connection = Connection(server, who)
        component = cls(
            connection=connection, loop=loop, recorder=EventRecorder(connection, loop.clock, who)
        )
        component.start()
        components.append((component, connection))
    loop.run_for(30.0)
    for component, _ in components:
        component.stop()
    sent = [connection.requests for _, connection in components]
    loop.run_for(300.0)
    assert [connection.requests for _, connection in components] == sent
    assert loop.next_time() is None


def test_a_partitioned_node_controller_keeps_running_and_catches_up():
    machine = started()
    controller = machine.components[0]
    controller.connection.cut()
    machine.kubelet_stops(0)
    machine.loop.run_until(100.0)
    assert ready(node(machine))["status"] == "True"
    controller.connection.heal()
    machine.loop.run_for(10.0)
    assert ready(node(machine))["status"] == "Unknown"
    assert controller.errors == []


def pod_gc_cluster(**settings):
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    connection = Connection(server, "pod-garbage-collector")
    gc = PodGC(
        connection=connection,
        loop=loop,
        recorder=EventRecorder(connection, loop.clock, "pod-garbage-collector"),
        **settings,
    )
    return loop, server, gc


def make_pod(server, name, node_name=None, phase=None, finalizers=None):
    meta = {"name": name}
    if finalizers:
        meta["finalizers"] = finalizers
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    if node_name:
        spec["nodeName"] = node_name
    created = server.create(
        "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}, "default"
    )
    assert created.ok, created.body
    if phase:
        body = created.body
        body["status"]["phase"] = phase
        assert server.update("pods", body, "default", subresource="status").ok


def test_pod_gc_keeps_the_terminated_pods_under_the_threshold_and_deletes_the_oldest():
    loop, server, gc = pod_gc_cluster(terminated_pod_gc_threshold=2)
    server.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    for i, phase in enumerate(["Succeeded", "Failed", "Succeeded", "Running"]):
        make_pod(server, f"p{i}", "n", phase)
        loop.run_for(1.0)
    gc.start()
    loop.run_for(1.0)
    left = sorted(p["metadata"]["name"] for p in server.list("pods", "default").body["items"])
    assert left == ["p1", "p2", "p3"]


def test_pod_gc_force_deletes_terminating_pods_on_out_of_service_nodes():
    loop, server, gc = pod_gc_cluster()
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "spec": {"taints": [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    assert server.create("nodes", node).ok
    make_pod(server, "stuck", "n")
    make_pod(server, "running", "n")
    server.delete("pods", "stuck", "default")  # terminating for 30 s, with no kubelet to finish
    gc.start()
    loop.run_for(1.0)
    assert server.get("pods", "stuck", "default").code == 404
    assert server.get("pods", "running", "default").ok


def test_pod_gc_force_deletes_unscheduled_terminating_pods():
    loop, server, gc = pod_gc_cluster()
    make_pod(server, "held", finalizers=["example.com/hold"])
    server.delete("pods", "held", "default")
    gc.start()
    loop.run_for(1.0)
    pod = server.get("pods", "held", "default").body  # the finalizer still holds it
    assert pod["status"]["phase"] == "Failed"
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 0


def test_a_cordoned_node_gets_the_unschedulable_taint():
    machine = started()
    body = node(machine)
    body["spec"] = {"unschedulable": True}
    machine.user.request("update", "nodes", name="node-a", body=body)
    machine.loop.run_for(2.0)
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"} in node(machine)[
        "spec"
    ]["taints"]
