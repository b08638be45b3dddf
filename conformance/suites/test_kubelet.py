"""The kubelet suite: a Hypothesis state machine runs pods on one node and checks its kubelet.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class whose
SUT is ``factory(node_name=..., runtime=..., connection=..., loop=..., recorder=...,
watch_latency=..., pod_cidr=..., node_ip=...)`` (the reference ``Kubelet`` or a
mutant) on an ``ApiServer``, an ``EventLoop`` and the node's ``Runtime``. Rules
create pods bound to the node (images from the scripted ``kubeprop.test`` family
and ordinary ones, one failing to pull; restart policies; an optional init
container; cpu requests; probes; grace periods), delete them gracefully, kill
containers (a fault), reboot the node (``stop()`` + ``runtime.crash()`` +
``runtime.restart()`` + a fresh kubelet) and advance simulated time. After every
step every kubelet invariant of spec/kubelet.md is evaluated through
``kubeprop.conformance.report.check`` on what the API server stores, what the
runtime lists and the events the kubelet recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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

from kubeprop.conformance.report import check
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection
from kubeprop.reference.kubelet import Kubelet
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.runtime import Runtime, images
from kubeprop.spec.invariants.kubelet import DeletionRecord, PodRun, PullLog

NODE = "node-1"
NAMESPACE = "default"
POD_CIDR = "10.244.1.0/24"
NODE_IP = "10.0.0.11"
WATCH_LATENCY = 1.0
CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110"}
PRELOADED = ("docker.io/library/busybox:1.36",)
# Images of app containers: ordinary (pulled or preloaded), every scripted behaviour, a
# crash-looping image pulled on every start (no tag: imagePullPolicy Always) and one whose
# pull always fails.
IMAGES = (
    "busybox:1.36",
    "nginx:1.23",
    "kubeprop.test/crash",
    "kubeprop.test/crash:v1",
    "kubeprop.test/exit:0",
    "kubeprop.test/exit:3-after-2s",
    "kubeprop.test/oom:v1",
    "kubeprop.test/unready:v1",
    "kubeprop.test/slow-start:15s",
    "kubeprop.test/ignore-sigterm:v1",
    "nginx:doesnotexist",
)
# The first pod's image: the behaviours whose rules take the longest to show.
FIRST_IMAGES = (
    "busybox:1.36",
    "kubeprop.test/crash:v1",
    "kubeprop.test/crash",
    "nginx:doesnotexist",
    "kubeprop.test/unready:v1",
)
INIT_IMAGES = (None, "kubeprop.test/exit:0", "kubeprop.test/exit:1", "busybox:1.36")
# Images whose readiness probe cannot pass before this long after their start.
READY_AFTER = {"kubeprop.test/unready:v1": math.inf, "kubeprop.test/slow-start:15s": 15.0}
POLICIES = ("Always", "OnFailure", "Never")
CPU = (None, "1", "3")
PROBES = (None, "readinessProbe", "livenessProbe", "startupProbe")
GRACES = (1, 5, 30)
STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
PROBE = {
    "exec": {"command": ["true"]},
    "initialDelaySeconds": 2,
    "periodSeconds": 5,
    "failureThreshold": 2,
}


class LoggingRecorder:
    """An event recorder that keeps every event as (generation, uid, reason, message, t).

    The suite reads the events from here rather than from the API server (writing
    them as Events is the client's EventRecorder's job, checked in spec/client.md),
    which keeps a history cheap."""

    def __init__(self, machine: KubeletMachine):
        self.machine = machine

    def event(self, obj, type, reason, message, field_path=None) -> None:
        uid = (obj.get("metadata") or {}).get("uid")
        self.machine.events.append(
            (self.machine.generation, uid, reason, message, self.machine.loop.now)
        )


def pod_manifest(
    name: str,
    image: str,
    policy: str,
    init: str | None,
    cpu: str | None,
    probe: str | None,
    grace: int,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": image}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    if probe is not None:
        container[probe] = dict(PROBE)
    spec: dict[str, Any] = {
        "nodeName": NODE,
        "restartPolicy": policy,
        "terminationGracePeriodSeconds": grace,
        "containers": [container],
    }
    if init is not None:
        spec["initContainers"] = [{"name": "init", "image": init}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def _image_in(message: str, prefix: str) -> str | None:
    if not message.startswith(prefix + ' image "'):
        return None
    return message[len(prefix) + 8 :].split('"', 1)[0]


class KubeletMachine(RuleBasedStateMachine):
    """User actions, faults and time against one node's kubelet."""

    factory: Callable[..., object] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.loop = EventLoop()
        self.api = ApiServer(clock=self.loop.clock)
        self.runtime = Runtime(self.loop, NODE, images=PRELOADED)
        self.runtime.on_container_event(self._on_container_event)
        self.events: list[tuple] = []  # (generation, pod uid, reason, message, instant)
        # container id -> (exit code, instant, reason) of its exit.
        self.exits: dict[str, tuple[int, float, str]] = {}
        self.killed: set[str] = set()  # containers a fault killed
        self.deletions: dict[str, DeletionRecord] = {}  # pod uid -> its graceful delete
        self.generation = 0  # kubelets started so far - 1 (a reboot starts a new one)
        self.created = 0  # pods created so far (their names)
        self.kubelet = self._new_kubelet()

    def _new_kubelet(self):
        connection = Connection(self.api, f"kubelet-{NODE}")
        return self.factory(
            node_name=NODE,
            runtime=self.runtime,
            connection=connection,
            loop=self.loop,
            recorder=LoggingRecorder(self),
            watch_latency=WATCH_LATENCY,
            pod_cidr=POD_CIDR,
            node_ip=NODE_IP,
        )

    def _on_container_event(self, event) -> None:
        if getattr(event.type, "value", event.type) == "CONTAINER_STOPPED_EVENT":
            status = event.status
            self.exits[event.container_id] = (status.exit_code, event.at, status.reason)

    def _pods(self) -> list[dict]:
        return self.api.request("list", "pods", namespace=NAMESPACE).body["items"]

    def _sandbox_of(self, uid: str):
        sandboxes = self.runtime.list_pod_sandboxes(pod_uid=uid)
        return max(sandboxes, key=lambda s: (s.attempt, s.created_at)) if sandboxes else None

    # ---- rules --------------------------------------------------------------------------

    @initialize(
        image=st.sampled_from(FIRST_IMAGES),
        policy=st.sampled_from(POLICIES),
        probe=st.sampled_from(PROBES),
    )
    def the_kubelet_starts(
        self, image: str | None = None, policy: str = "Always", probe: str | None = None
    ) -> None:
        """The kubelet starts; with ``image``, a first pod of that image is bound to the node."""
        self.kubelet.start()
        self.loop.run_for(0)
        if image is not None:
            self.the_kubelet_obeys_its_invariants()
            self.create_pod(image, policy, None, None, probe, 30)

    @rule(
        image=st.sampled_from(IMAGES),
        policy=st.sampled_from(POLICIES),
        init=st.sampled_from(INIT_IMAGES),
        cpu=st.sampled_from(CPU),
        probe=st.sampled_from(PROBES),
        grace=st.sampled_from(GRACES),
    )
    def create_pod(self, image, policy, init, cpu, probe, grace) -> None:
        self.created += 1
        body = pod_manifest(f"pod-{self.created}", image, policy, init, cpu, probe, grace)
        answer = self.api.request("create", "pods", namespace=NAMESPACE, body=body)
        assert answer.code == 201, answer.body

    @precondition(lambda self: self.created > 0)
    @rule(index=st.integers(0, 20))
    def delete_pod(self, index: int) -> None:
        pods = [p for p in self._pods() if not p["metadata"].get("deletionTimestamp")]
        if not pods:
            return
        pod = pods[index % len(pods)]
        meta = pod["metadata"]
        running = {}
        sandbox = self._sandbox_of(meta["uid"])
        if sandbox is not None:
            for status in self.runtime.list_containers(sandbox_id=sandbox.id):
                if getattr(status.state, "value", status.state) == "CONTAINER_RUNNING":
                    running[status.id] = self.runtime.script_of(status.id).ignores_sigterm
        answer = self.api.request("delete", "pods", namespace=NAMESPACE, name=meta["name"])
        marked = answer.body.get("metadata", {}) if answer.ok else {}
        if marked.get("deletionTimestamp"):
            self.deletions[meta["uid"]] = DeletionRecord(
                pod=f"{NAMESPACE}/{meta['name']}",
                at=self.loop.now,
                grace=marked.get("deletionGracePeriodSeconds") or 0,
                running=running,
            )

    @rule(index=st.integers(0, 20))
    def kill_container(self, index: int) -> None:
        running = [
            s
            for s in self.runtime.list_containers()
            if getattr(s.state, "value", s.state) == "CONTAINER_RUNNING"
        ]
        if not running:
            return
        victim = running[index % len(running)]
        self.runtime.kill_container(victim.id)
        self.killed.add(victim.id)
        self.loop.run_for(0)

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)

    @rule()
    def reboot(self) -> None:
        """The node crashes and comes back: a fresh kubelet resyncs the node's pods."""
        self.kubelet.stop()
        self.runtime.crash()
        self.runtime.restart()
        self.generation += 1
        self.kubelet = self._new_kubelet()
        self.kubelet.start()
        self.loop.run_for(0)

    # ---- checks -------------------------------------------------------------------------

    def _runs(self, pods: list[dict]) -> list[PodRun]:
        runs = []
        for pod in pods:
            sandbox = self._sandbox_of(pod["metadata"]["uid"])
            containers = (
                tuple(self.runtime.list_containers(sandbox_id=sandbox.id)) if sandbox else ()
            )
            pulls = {}
            spec = pod.get("spec") or {}
            for container in [*(spec.get("initContainers") or []), *spec["containers"]]:
                if container.get("imagePullPolicy") == "Always":
                    name = images.parse_reference(container["image"])
                    pulls[container["name"]] = images.pull_seconds(name)
            active = not pod["metadata"].get("deletionTimestamp")
            runs.append(PodRun(pod, containers, pulls, active, self.loop.now))
        return runs

    def _pull_logs(self, pods: list[dict]) -> list[PullLog]:
        live = {p["metadata"]["uid"] for p in pods if not p["metadata"].get("deletionTimestamp")}
        steps: dict[tuple, list] = {}
        for generation, uid, reason, message, at in self.events:
            for kind, want, prefix in (
                ("pulling", "Pulling", "Pulling"),
                ("failed", "Failed", "Failed to pull"),
                ("pulled", "Pulled", "Successfully pulled"),
            ):
                image = _image_in(message, prefix) if reason == want else None
                if image is not None:
                    steps.setdefault((generation, uid, image), []).append((kind, at))
        return [
            PullLog(uid, image, tuple(found), generation == self.generation and uid in live)
            for (generation, uid, image), found in steps.items()
        ]

    @invariant()
    def the_kubelet_obeys_its_invariants(self) -> None:
        now = self.loop.now
        pods = self._pods()
        runs = self._runs(pods)
        check("KUBELET-STATUS-REFLECTS-RUNTIME", runs)
        check("KUBELET-RESTART-POLICY", runs, now)
        check("KUBELET-CRASHLOOP-BACKOFF", runs)
        check("KUBELET-INIT-ORDER", runs)
        check("KUBELET-READINESS", runs, READY_AFTER)
        check("KUBELET-IMAGE-PULL-BACKOFF", self._pull_logs(pods), now)
        lease = self.api.request("get", "leases", namespace="kube-node-lease", name=NODE)
        check("KUBELET-LEASE-RENEWED", lease.body if lease.ok else None, NODE, now)
        node = self.api.request("get", "nodes", name=NODE)
        check("KUBELET-NODE-STATUS", node.body if node.ok else None, CAPACITY, now)
        sandboxes = self.runtime.list_pod_sandboxes()
        ready = {
            s.pod_uid for s in sandboxes if getattr(s.state, "value", s.state) == "SANDBOX_READY"
        }
        check("KUBELET-ADMISSION", pods, ready, {s.pod_uid for s in sandboxes}, CAPACITY)
        check("KUBELET-POD-IPS", pods, ready, POD_CIDR)
        present = {p["metadata"]["uid"] for p in pods}
        still_running = {
            s.id
            for s in self.runtime.list_containers()
            if getattr(s.state, "value", s.state) == "CONTAINER_RUNNING"
        }
        for uid, record in self.deletions.items():
            record = DeletionRecord(
                record.pod, record.at, record.grace, record.running, frozenset(self.killed)
            )
            check(
                "KUBELET-GRACEFUL-TERMINATION",
                record,
                uid in present,
                self.exits,
                still_running,
                now,
                WATCH_LATENCY,
            )


def make_machine(factory: Callable[..., object]) -> type[KubeletMachine]:
    """The kubelet machine over kubelets built by ``factory(node_name=..., runtime=..., ...)``."""
    return type(
        f"KubeletMachineOf{getattr(factory, '__name__', 'SUT')}",
        (KubeletMachine,),
        {"factory": staticmethod(factory)},
    )


ReferenceKubeletMachine = make_machine(Kubelet)
SETTINGS = settings(max_examples=25, stateful_step_count=25, deadline=None)


def test_the_reference_kubelet_obeys_every_kubelet_invariant():
    run_state_machine_as_test(ReferenceKubeletMachine, settings=SETTINGS)
