"""The reference kubelet, scenario by scenario: exact upstream reasons, messages and timings."""

from __future__ import annotations

import pytest

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.clock import parse_timestamp
from kubeprop.reference.kubelet import Kubelet
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.runtime import Runtime

NODE = "node-1"


class Node:
    """An API server, a loop, a runtime and a kubelet for one node."""

    def __init__(self, **settings):
        self.loop = EventLoop()
        self.api = ApiServer(clock=self.loop.clock)
        self.runtime = Runtime(self.loop, NODE, images=("docker.io/library/busybox:1.36",))
        self.connection = Connection(self.api, f"kubelet-{NODE}")
        self.settings = {"pod_cidr": "10.244.1.0/24", "node_ip": "10.0.0.11", **settings}
        self.kubelet = self.new_kubelet()
        self.kubelet.start()

    def new_kubelet(self) -> Kubelet:
        recorder = EventRecorder(self.connection, self.loop.clock, "kubelet", host=NODE)
        return Kubelet(
            node_name=NODE,
            runtime=self.runtime,
            connection=self.connection,
            loop=self.loop,
            recorder=recorder,
            **self.settings,
        )

    def create(self, name, image, policy="Always", **extra):
        container = {"name": name, "image": image, **extra.pop("container", {})}
        spec = {"nodeName": NODE, "restartPolicy": policy, "containers": [container], **extra}
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
        answer = self.api.request("create", "pods", namespace="default", body=body)
        assert answer.code == 201, answer.body
        return answer.body

    def pod(self, name):
        answer = self.api.request("get", "pods", namespace="default", name=name)
        return answer.body if answer.ok else None

    def container(self, name, index=0, init=False):
        key = "initContainerStatuses" if init else "containerStatuses"
        return self.pod(name)["status"][key][index]

    def events(self, reason=None):
        items = self.api.request("list", "events", namespace="default").body["items"]
        found = [(e["reason"], e["message"]) for e in items]
        return [m for r, m in found if r == reason] if reason else found

    def run(self, seconds):
        self.loop.run_for(seconds)


def test_the_node_registers_ready_with_upstream_conditions_and_labels():
    node = Node()
    stored = node.api.request("get", "nodes", name=NODE).body
    assert stored["metadata"]["labels"] == {
        "kubernetes.io/hostname": NODE,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }
    assert stored["spec"]["podCIDR"] == "10.244.1.0/24"
    conditions = {c["type"]: c for c in stored["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["reason"] == "KubeletReady"
    assert conditions["Ready"]["message"] == "kubelet is posting ready status"
    assert conditions["MemoryPressure"]["reason"] == "KubeletHasSufficientMemory"
    assert conditions["DiskPressure"]["reason"] == "KubeletHasNoDiskPressure"
    assert conditions["PIDPressure"]["reason"] == "KubeletHasSufficientPID"
    assert stored["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.35.")
    assert stored["status"]["allocatable"] == stored["status"]["capacity"]
    assert {"type": "InternalIP", "address": "10.0.0.11"} in stored["status"]["addresses"]


def test_the_lease_is_renewed_every_10_seconds_with_a_microsecond_renew_time():
    node = Node()
    node.run(25)
    lease = node.api.request("get", "leases", namespace="kube-node-lease", name=NODE).body
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["spec"]["renewTime"] == "2026-01-01T00:00:20.000000Z"
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"


def test_a_pod_runs_with_upstream_events_and_status():
    node = Node()
    node.create("nginx", "nginx:1.23")
    node.run(5)
    assert node.events("Pulling") == ['Pulling image "nginx:1.23"']
    assert node.events("Pulled") == [
        'Successfully pulled image "nginx:1.23" in 1.7s (1.7s including waiting). '
        "Image size: 70000000 bytes."
    ]
    assert node.events("Created") == ["Created container: nginx"]
    assert node.events("Started") == ["Started container nginx"]
    pod = node.pod("nginx")
    status = pod["status"]
    assert status["phase"] == "Running"
    assert status["hostIP"] == "10.0.0.11"
    assert status["podIP"] == "10.244.1.2"
    assert status["podIPs"] == [{"ip": "10.244.1.2"}]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
    }
    container = status["containerStatuses"][0]
    assert container["ready"] and container["started"]
    assert container["containerID"].startswith("containerd://")
    assert container["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert "running" in container["state"]


def test_a_present_image_with_if_not_present_is_not_pulled():
    node = Node()
    node.create("box", "busybox:1.36")
    node.run(1)
    assert node.events("Pulling") == []
    assert node.events("Pulled") == [
        'Container image "busybox:1.36" already present on machine and can be accessed by the pod'
    ]


def test_pull_policy_never_without_the_image_waits_with_err_image_never_pull():
    node = Node()
    node.create("never", "nginx:1.23", container={"imagePullPolicy": "Never"})
    node.run(1)
    waiting = node.container("never")["state"]["waiting"]
    assert waiting["reason"] == "ErrImageNeverPull"
    assert waiting["message"] == (
        'Container image "nginx:1.23" is not present with pull policy of Never'
    )


def test_a_failing_pull_backs_off_10s_then_20s():
    node = Node()
    node.create("bad", "nginx:doesnotexist")
    node.run(1.2)  # the informer sees the pod at 0.1, the pull fails 1 s later
    assert node.container("bad")["state"]["waiting"]["reason"] == "ErrImagePull"
    node.run(5)
    waiting = node.container("bad")["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    node.run(17)  # the retry at 11.1 fails at 12.1; the sync at 22.1 is within 20 s of it
    waiting = node.container("bad")["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith('Back-off pulling image "nginx:doesnotexist"')
    assert 'Back-off pulling image "nginx:doesnotexist"' in node.events("BackOff")
    assert "Error: ErrImagePull" in node.events("Failed")


def test_a_crashing_container_restarts_at_once_then_backs_off_10s():
    node = Node()
    pod = node.create("crash", "kubeprop.test/crash:v1")
    node.run(3.2)  # pulled at 1.11, exits at 2.11, restarted at once, exits at 3.11
    status = node.container("crash")
    assert status["restartCount"] == 1
    waiting = status["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    uid = pod["metadata"]["uid"]
    assert waiting["message"] == (
        f"back-off 10s restarting failed container=crash pod=crash_default({uid})"
    )
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert node.events("BackOff") == [
        f"Back-off restarting failed container crash in pod crash_default({uid})"
    ]
    node.run(10)  # restarted at 13.11
    assert node.container("crash")["restartCount"] == 2


def test_restart_policy_never_leaves_a_failed_container_and_a_failed_pod():
    node = Node()
    node.create("once", "kubeprop.test/crash:v1", policy="Never")
    node.run(30)
    pod = node.pod("once")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_on_failure_succeeds_after_exit_zero():
    node = Node()
    node.create("job", "kubeprop.test/exit:0", policy="OnFailure")
    node.run(5)
    assert node.pod("job")["status"]["phase"] == "Succeeded"


def test_init_containers_run_in_order_before_the_app():
    node = Node()
    node.create(
        "init",
        "busybox:1.36",
        initContainers=[
            {"name": "first", "image": "kubeprop.test/exit:0"},
            {"name": "second", "image": "kubeprop.test/exit:0"},
        ],
    )
    node.run(1.5)
    assert node.pod("init")["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == (
        "PodInitializing"
    )
    node.run(10)
    by_name = {c.name: c for c in node.runtime.list_containers()}
    assert by_name["first"].finished_at <= by_name["second"].created_at
    assert by_name["second"].finished_at <= by_name["init"].created_at
    assert node.pod("init")["status"]["phase"] == "Running"


def test_a_pod_that_does_not_fit_is_rejected_out_of_cpu():
    node = Node()
    node.create("big", "busybox:1.36", container={"resources": {"requests": {"cpu": "5"}}})
    node.run(1)
    status = node.pod("big")["status"]
    assert status["phase"] == "Failed"
    assert status["reason"] == "OutOfcpu"
    assert status["message"] == (
        "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, "
        "used: 0, capacity: 4000"
    )
    assert node.runtime.list_pod_sandboxes() == ()


def test_a_failed_liveness_probe_kills_and_restarts_the_container():
    node = Node()
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 2, "failureThreshold": 2}
    node.create("slow", "kubeprop.test/slow-start:30s", container={"livenessProbe": probe})
    node.run(10)
    assert "Container slow failed liveness probe, will be restarted" in node.events("Killing")
    assert any(m.startswith("Liveness probe failed") for m in node.events("Unhealthy"))
    assert node.container("slow")["restartCount"] >= 1


def test_a_readiness_probe_that_fails_keeps_the_pod_unready():
    node = Node()
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 2}
    node.create("unready", "kubeprop.test/unready:v1", container={"readinessProbe": probe})
    node.run(10)
    status = node.pod("unready")["status"]
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "False"
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [unready]"


@pytest.mark.parametrize(
    "image, grace, gone_after, exit_code",
    [
        ("busybox:1.36", 30, 0.1, 143),  # SIGTERM ends it at once
        ("kubeprop.test/ignore-sigterm:v1", 5, 5.1, 137),  # SIGKILL when the grace period ends
    ],
)
def test_a_deleted_pod_is_stopped_within_its_grace_period_then_removed(
    image, grace, gone_after, exit_code
):
    node = Node()
    node.create("web", image, terminationGracePeriodSeconds=grace)
    node.run(3)
    node.api.request("delete", "pods", namespace="default", name="web")
    node.run(gone_after - 0.05)
    assert node.pod("web") is not None
    node.run(0.1)
    assert node.pod("web") is None
    assert "Stopping container web" in node.events("Killing")
    assert [c.exit_code for c in node.runtime.list_containers()] == [exit_code]
    node.run(0.2)
    assert node.runtime.list_containers() == ()  # the sandbox is removed once the pod is gone


def test_a_reboot_starts_the_pods_again_and_carries_the_restart_count():
    node = Node()
    node.create("crash", "kubeprop.test/crash:v1")
    node.run(3.2)
    before = node.container("crash")["restartCount"]
    node.kubelet.stop()
    node.runtime.crash()
    node.runtime.restart()
    node.kubelet = node.new_kubelet()
    node.kubelet.start()
    node.run(0.5)
    after = {c.name: c.attempt for c in node.runtime.list_containers()}
    assert after["crash"] == before + 1


def test_after_stop_the_kubelet_writes_nothing():
    node = Node()
    node.create("box", "busybox:1.36")
    node.run(2)
    node.kubelet.stop()
    revision = node.api.request("list", "pods", namespace="default").body["metadata"]
    node.run(60)
    lease = node.api.request("get", "leases", namespace="kube-node-lease", name=NODE).body
    assert parse_timestamp(lease["spec"]["renewTime"]) <= 2.0
    assert node.api.request("list", "pods", namespace="default").body["metadata"] == revision


def test_a_partitioned_kubelet_keeps_running_and_catches_up_when_healed():
    node = Node()
    node.create("box", "busybox:1.36")
    node.run(2)
    node.connection.cut()
    node.run(30)
    node.connection.heal()
    node.run(11)
    lease = node.api.request("get", "leases", namespace="kube-node-lease", name=NODE).body
    assert node.loop.now - parse_timestamp(lease["spec"]["renewTime"]) <= 10
    assert node.pod("box")["status"]["phase"] == "Running"
