"""The kubelet of one simulated node: registers it, heartbeats, and runs its pods on the runtime.

Contract (spec/kubelet.md):
- ``start()`` registers the Node (create; if it exists, take it over), posts
  node status every ``node_status_update_frequency`` (10 s) and renews the
  node's Lease in kube-node-lease every 10 s (a quarter of its 40 s duration),
  and watches the pods bound to the node (``spec.nodeName=<node>``).
- A pod seen for the first time is admitted if its requests fit the node's
  allocatable beside the pods already admitted; else it is Failed with reason
  ``OutOf<resource>``. An admitted pod gets a sandbox (and an IP from the
  node's pod CIDR), its images (per imagePullPolicy, failed pulls backing off
  10 s doubling to 300 s), its init containers in order, each to exit 0 before
  the next, then its app containers.
- Exited containers are restarted per ``should_restart`` (restartPolicy) after
  the crash-loop back-off (``back_off_delay``: the first restart at once, then
  10 s doubling to 300 s, reset after 10 minutes without a restart).
- Probes (startup, liveness, readiness) run per their spec with upstream
  defaults; a failed liveness or startup probe kills the container.
- Pod status goes through the status subresource whenever it changes.
- A pod with deletionTimestamp has its containers stopped with its
  deletionGracePeriodSeconds and is then deleted with gracePeriodSeconds=0.
- ``stop()`` cancels every timer and stops the informers; nothing of this
  instance runs or writes afterwards. A reboot is ``runtime.restart()`` and a
  fresh Kubelet: it lists its pods again and starts them anew, carrying each
  container's restartCount over from the reported status (upstream reads it
  back from the pod's log directory, which survives the reboot).
Every loop callback catches the runtime's and the API server's failures and
retries later; none raises.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.reference.client import Informers
from kubeprop.reference.clock import EPOCH
from kubeprop.reference.kubelet import status as podstatus
from kubeprop.reference.kubelet.backoff import (
    INITIAL_BACK_OFF,
    MAX_CONTAINER_BACK_OFF,
    MAX_IMAGE_BACK_OFF,
    Backoff,
    doubled,
    go_duration,
)
from kubeprop.reference.loop import EventLoop, Handle
from kubeprop.reference.runtime import (
    ContainerEvent,
    ContainerEventType,
    ContainerState,
    ContainerStatus,
    CRIError,
    PullResult,
    Runtime,
    SandboxState,
)
from kubeprop.reference.runtime import images as imagelib
from kubeprop.spec.api.defaults import default_pull_policy
from kubeprop.spec.api.quantity import parse_quantity

Manifest = dict[str, Any]

KUBELET_VERSION = "v1.35.0"
CONTAINER_RUNTIME_VERSION = "containerd://2.1.4"
NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_STATUS_UPDATE_FREQUENCY = 10.0  # nodeStatusUpdateFrequency
# nodeStatusReportFrequency: an unchanged status is posted only this often (the Lease
# is the heartbeat); a changed one at once.
NODE_STATUS_REPORT_FREQUENCY = 300.0
NODE_LEASE_DURATION_SECONDS = 40  # nodeLeaseDurationSeconds
NODE_LEASE_RENEW_FRACTION = 0.25  # renewInterval = 25% of the lease duration
STATUS_RETRY = 10.0  # the status manager's syncPeriod
WORKER_BACK_OFF = 10.0  # pod_workers: a failed sync is retried after backOffPeriod
MIN_GRACE_SECONDS = 2  # minimumGracePeriodInSeconds (a kill that is not a pod deletion)
DEFAULT_CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110"}
CHECKED_RESOURCES = ("cpu", "memory")
PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
PROBE_NAMES = {
    "startupProbe": "Startup",
    "livenessProbe": "Liveness",
    "readinessProbe": "Readiness",
}
RUNTIME_KIND = {
    "startupProbe": "startup",
    "livenessProbe": "liveness",
    "readinessProbe": "readiness",
}

NODE_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)  # fmt: skip


def container_field_path(name: str, init: bool) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


def container_id(runtime_id: str) -> str:
    return f"containerd://{runtime_id}"


def restart_policy(pod: Manifest) -> str:
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def _meta(pod: Manifest) -> Manifest:
    return pod.get("metadata") or {}


def _desired(pod: Manifest) -> Manifest:
    """What the kubelet acts on: everything but status and the resourceVersion."""
    meta = {k: v for k, v in _meta(pod).items() if k != "resourceVersion"}
    return {**{k: v for k, v in pod.items() if k != "status"}, "metadata": meta}


@attrs.define(eq=False)
class ProbeState:
    """What the prober knows of one running container."""

    started: bool  # the startup probe succeeded (or there is none)
    ready: bool  # the readiness result (True at once without a readiness probe)
    successes: dict[str, int] = attrs.field(factory=dict)  # probe kind -> consecutive successes
    failures: dict[str, int] = attrs.field(factory=dict)  # probe kind -> consecutive failures
    done: bool = False  # killed for a failed probe: no more probing


@attrs.define(eq=False)
class PodWorker:
    """The kubelet's working state for one pod (by uid)."""

    uid: str
    pod: Manifest  # the pod as last seen in the informer
    prior: dict[str, Manifest]  # container name -> its reported status when first seen
    admitted: bool = False
    rejected: bool = False  # failed admission: never run
    terminal: bool = False  # reached Succeeded/Failed: nothing more is started
    sandbox_id: str | None = None
    sandbox_attempt: int = -1
    ip: str | None = None
    start_time: str | None = None
    # container name -> the waiting (reason, message) to report until it is created.
    waiting: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    pulling: set[str] = attrs.field(factory=set)  # container names with a pull in flight
    pulled: set[str] = attrs.field(factory=set)  # names whose image a pull just brought
    killing: set[str] = attrs.field(factory=set)  # runtime ids stopped for the deletion
    # container name -> the exited container a restart has been granted for (back-off spent).
    restarting: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False  # the final delete was accepted
    written: Manifest | None = None  # the status last written


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{attribute.name}: Invalid value: {value!r}: must be greater than 0")


@attrs.define(eq=False)
class Kubelet:
    node_name: str
    runtime: Runtime
    connection: Any  # a client Connection (or anything answering request(...))
    loop: EventLoop
    recorder: Any  # EventRecorder(component="kubelet", host=node_name)
    watch_latency: float = attrs.field(default=0.1, validator=_positive)
    capacity: dict[str, str] = attrs.field(factory=lambda: dict(DEFAULT_CAPACITY))
    labels: dict[str, str] | None = None
    taints: list[Manifest] = attrs.field(factory=list)
    pod_cidr: str | None = None
    node_ip: str | None = None
    node_status_update_frequency: float = NODE_STATUS_UPDATE_FREQUENCY
    node_status_report_frequency: float = NODE_STATUS_REPORT_FREQUENCY
    # uid -> the pod's working state; an entry exists from first sight to the pod's removal.
    _workers: dict[str, PodWorker] = attrs.field(init=False, factory=dict)
    # sandbox id -> pod uid, so container events find their pod.
    _sandbox_owner: dict[str, str] = attrs.field(init=False, factory=dict)
    # runtime container id -> its prober state (running containers only).
    _probes: dict[str, ProbeState] = attrs.field(init=False, factory=dict)
    # Scheduled callbacks by purpose; every one is cancelled by stop().
    _timers: dict[tuple, Handle] = attrs.field(init=False, factory=dict)
    # pod IP -> the uid of the pod holding it (KUBELET-POD-IPS: one pod per IP).
    _ips: dict[str, str] = attrs.field(init=False, factory=dict)
    # uids of pods seen but not yet admitted; admitted together, oldest first.
    _admission_queue: list[str] = attrs.field(init=False, factory=list)
    _informers: Informers | None = attrs.field(init=False, default=None)
    _node_uid: str | None = attrs.field(init=False, default=None)  # set once registered
    _node: Manifest | None = attrs.field(init=False, default=None)  # the Node as last written
    _status_posted_at: float | None = attrs.field(init=False, default=None)  # last post time
    running: bool = attrs.field(init=False, default=False)  # between start() and stop()
    container_back_off: Backoff = attrs.field(init=False)
    image_back_off: Backoff = attrs.field(init=False)
    # nodeInfo.bootID: new at every boot; a simulated machine's kubelet starts when it boots.
    _boot_id: str = attrs.field(init=False, default="")

    def __attrs_post_init__(self) -> None:
        boot = f"{self.node_name}@{self.loop.now!r}".encode()
        digest = hashlib.sha256(boot).hexdigest()
        self._boot_id = (
            f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        )
        self.container_back_off = Backoff(
            INITIAL_BACK_OFF, MAX_CONTAINER_BACK_OFF, grow=self.back_off_delay
        )
        self.image_back_off = Backoff(
            INITIAL_BACK_OFF, MAX_IMAGE_BACK_OFF, grow=self.image_back_off_delay
        )

    # ------------------------------------------------------------------ overridable rules

    def back_off_delay(self, previous: float | None) -> float:
        """The crash-loop delay after a restart, given the previous one (None: first)."""
        return INITIAL_BACK_OFF if previous is None else doubled(previous, MAX_CONTAINER_BACK_OFF)

    def image_back_off_delay(self, previous: float | None) -> float:
        """The image pull back-off after a failed pull, given the previous one."""
        return INITIAL_BACK_OFF if previous is None else doubled(previous, MAX_IMAGE_BACK_OFF)

    def should_restart(self, pod: Manifest, container_status: ContainerStatus) -> bool:
        """Whether an exited container is started again (kubecontainer.ShouldContainerBeRestarted)."""
        if _meta(pod).get("deletionTimestamp"):
            return False
        if container_status.state is ContainerState.RUNNING:
            return False
        policy = restart_policy(pod)
        if policy == "Never":
            return False
        if policy == "OnFailure":
            return container_status.exit_code != 0
        return True

    def lease_renew_interval(self) -> float:
        """How often the node Lease is renewed: 25% of its duration (10 s)."""
        return NODE_LEASE_DURATION_SECONDS * NODE_LEASE_RENEW_FRACTION

    def node_conditions(self) -> tuple[tuple[str, str, str, str], ...]:
        """(type, status, reason, message) of each node condition the kubelet posts."""
        return NODE_CONDITIONS

    def init_containers(self, pod: Manifest) -> list[Manifest]:
        """The init containers to run, in order, before any app container."""
        return list((pod.get("spec") or {}).get("initContainers") or [])

    def restart_count(self, container_status: ContainerStatus) -> int:
        """The restartCount reported for a container: its CRI attempt number."""
        return container_status.attempt

    def ready_before_probing(self, container: Manifest) -> bool:
        """Readiness before the first readiness probe: True only without a readiness probe."""
        return container.get("readinessProbe") is None

    def stop_timeout(self, pod: Manifest) -> int:
        """The grace period the containers of a deleted pod are stopped with."""
        grace = _meta(pod).get("deletionGracePeriodSeconds")
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        return max(int(grace), 1)

    def fits(self, pod: Manifest) -> tuple[str, str] | None:
        """None if the pod fits beside the admitted ones, else (reason, message)."""
        active = [
            w.pod
            for w in self._workers.values()
            if w.admitted and not w.terminal and w.uid != _meta(pod).get("uid")
        ]
        allocatable = self.capacity
        pods_cap = int(parse_quantity(str(allocatable.get("pods", "110"))).value())
        if len(active) + 1 > pods_cap:
            message = (
                f"Node didn't have enough resource: pods, requested: 1, "
                f"used: {len(active)}, capacity: {pods_cap}"
            )
            return "OutOfpods", message
        for resource in CHECKED_RESOURCES:
            requested = podstatus.pod_requests(pod.get("spec") or {}, resource)
            if requested.is_zero():
                continue
            used = parse_quantity("0")
            for other in active:
                used = used + podstatus.pod_requests(other.get("spec") or {}, resource)
            cap = parse_quantity(str(allocatable.get(resource, "0")))
            if used + requested > cap:
                message = (
                    f"Node didn't have enough resource: {resource}, "
                    f"requested: {podstatus.scaled(resource, requested)}, "
                    f"used: {podstatus.scaled(resource, used)}, "
                    f"capacity: {podstatus.scaled(resource, cap)}"
                )
                return f"OutOf{resource}", message
        return None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.runtime.on_container_event(self._on_container_event)
        self._register()
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        informer = self._informers.informer(
            "pods", field_selector=f"spec.nodeName={self.node_name}"
        )
        informer.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self._informers.start()
        self._node_status_tick()
        self._lease_tick()

    def stop(self) -> None:
        self.running = False
        if self._informers is not None:
            self._informers.stop()
        for handle in self._timers.values():
            self.loop.cancel(handle)
        self._timers.clear()

    # ------------------------------------------------------------------ timers

    def _at(self, key: tuple, delay: float, callback: Callable[[], object]) -> None:
        """Schedule ``callback`` under ``key`` (replacing the one there)."""
        old = self._timers.pop(key, None)
        if old is not None:
            self.loop.cancel(old)

        def fire() -> None:
            self._timers.pop(key, None)
            if self.running:
                callback()

        self._timers[key] = self.loop.call_later(max(delay, 0.0), fire)

    def _cancel(self, key: tuple) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            self.loop.cancel(old)

    def _queue_sync(self, uid: str, delay: float = 0.0) -> None:
        """Sync the pod after ``delay`` (an earlier pending sync is kept)."""
        pending = self._timers.get(("sync", uid))
        if pending is not None and pending.when <= self.loop.now + delay:
            return
        self._at(("sync", uid), delay, lambda: self._sync(uid))

    # ------------------------------------------------------------------ node

    def _node_labels(self) -> dict[str, str]:
        if self.labels is not None:
            return dict(self.labels)
        return {
            "kubernetes.io/hostname": self.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
        }

    def _node_spec(self) -> Manifest:
        spec: Manifest = {}
        if self.pod_cidr:
            spec["podCIDR"] = self.pod_cidr
            spec["podCIDRs"] = [self.pod_cidr]
        if self.taints:
            spec["taints"] = [dict(t) for t in self.taints]
        return spec

    def _register(self) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node_name, "labels": self._node_labels()},
            "spec": self._node_spec(),
            "status": self._node_status(None),
        }
        answer = self.connection.request("create", "nodes", body=body)
        if answer.ok:
            self._node_uid = answer.body["metadata"].get("uid")
            self._node = answer.body
        elif answer.code == 409:
            self._take_over()

    def _take_over(self) -> None:
        """The Node exists (a reboot, a kubelet restart): make it ours again."""
        answer = self.connection.request("get", "nodes", name=self.node_name)
        if not answer.ok:
            return
        node = answer.body
        node["metadata"].pop("resourceVersion", None)
        labels = node["metadata"].setdefault("labels", {})
        labels.update(self._node_labels())
        # The stored spec wins (taints the node controller added stay); registration
        # taints and the pod CIDR only fill what is missing.
        node["spec"] = {**self._node_spec(), **(node.get("spec") or {})}
        updated = self.connection.request("update", "nodes", name=self.node_name, body=node)
        if updated.ok:
            self._node_uid = updated.body["metadata"].get("uid")
            self._node = updated.body

    def _node_status(self, old: Manifest | None) -> Manifest:
        now = self.loop.clock.timestamp()
        previous = {c.get("type"): c for c in ((old or {}).get("conditions") or [])}
        conditions = []
        for kind, value, reason, message in self.node_conditions():
            since = now
            before = previous.get(kind)
            if before is not None and before.get("status") == value:
                since = before.get("lastTransitionTime") or now
            conditions.append(
                {
                    "type": kind,
                    "status": value,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": since,
                    "reason": reason,
                    "message": message,
                }
            )
        addresses = []
        if self.node_ip:
            addresses.append({"type": "InternalIP", "address": self.node_ip})
        addresses.append({"type": "Hostname", "address": self.node_name})
        digest = hashlib.sha256(self.node_name.encode()).hexdigest()
        images = [
            {
                "names": [f"{image.ref.rsplit(':', 1)[0]}@{image.id}", image.ref],
                "sizeBytes": image.size_bytes,
            }
            for image in self.runtime.list_images()
        ]
        status = {
            "capacity": dict(self.capacity),
            "allocatable": dict(self.capacity),
            "conditions": conditions,
            "addresses": addresses,
            "nodeInfo": {
                "machineID": digest[:32],
                "systemUUID": digest[32:64],
                "bootID": self._boot_id,
                "kernelVersion": "6.8.0-kubeprop",
                "osImage": "kubeprop simulated node",
                "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",  # deprecated, left empty by kubelets since v1.31
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        if images:
            status["images"] = images
        return status

    def _node_status_tick(self) -> None:
        self._at(("node",), self.node_status_update_frequency, self._node_status_tick)
        if self._node_uid is None:
            self._register()
            return
        current = self.connection.request("get", "nodes", name=self.node_name)
        if current.code == 404:
            self._node_uid = None  # deleted: register again at the next tick
            return
        if current.ok:
            self._post_node_status(current.body)
        self._remove_orphans()

    def _post_node_status(self, stored: Manifest) -> None:
        """Post the status computed now if it differs from the stored Node's (heartbeat times
        aside) or nodeStatusReportFrequency passed since the last post, as tryUpdateNodeStatus."""
        node = dict(stored)
        node["metadata"] = {
            k: v for k, v in (node.get("metadata") or {}).items() if k != "resourceVersion"
        }
        node["status"] = self._node_status(stored.get("status"))
        due = (
            self._status_posted_at is None
            or self.loop.now - self._status_posted_at >= self.node_status_report_frequency
        )
        if not due and _without_heartbeats(node["status"]) == _without_heartbeats(
            stored.get("status") or {}
        ):
            self._node = stored
            return
        answer = self.connection.request(
            "update", "nodes", name=self.node_name, subresource="status", body=node
        )
        if answer.ok:
            self._node = answer.body
            self._status_posted_at = self.loop.now
        elif answer.code == 404:
            self._node_uid = None

    def _lease_tick(self) -> None:
        self._at(("lease",), self.lease_renew_interval(), self._lease_tick)
        self.renew_lease()

    def renew_lease(self) -> None:
        """Create or renew the node's Lease (holder = node, 40 s, renewTime = now)."""
        meta: Manifest = {"name": self.node_name, "namespace": NODE_LEASE_NAMESPACE}
        if self._node_uid:
            meta["ownerReferences"] = [
                {"apiVersion": "v1", "kind": "Node", "name": self.node_name, "uid": self._node_uid}
            ]
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.node_name,
                "leaseDurationSeconds": NODE_LEASE_DURATION_SECONDS,
                "renewTime": self.loop.clock.micro_timestamp(),
            },
        }
        self.connection.request(
            "update", "leases", namespace=NODE_LEASE_NAMESPACE, name=self.node_name, body=body
        )

    def _remove_orphans(self) -> None:
        """Sandboxes of pods this kubelet no longer knows are torn down (housekeeping)."""
        if self.runtime.down or self._informers is None or not self._informers.has_synced():
            return
        for sandbox in self.runtime.list_pod_sandboxes():
            if sandbox.pod_uid not in self._workers:
                try:
                    self.runtime.remove_pod_sandbox(sandbox.id)
                except CRIError:
                    return

    # ------------------------------------------------------------------ pod events

    def _on_pod_add(self, pod: Manifest) -> None:
        uid = _meta(pod).get("uid")
        if uid in self._workers:
            self._on_pod_update(self._workers[uid].pod, pod)
            return
        prior = {
            s.get("name"): s
            for s in [
                *((pod.get("status") or {}).get("initContainerStatuses") or []),
                *((pod.get("status") or {}).get("containerStatuses") or []),
            ]
        }
        worker = PodWorker(uid=uid, pod=pod, prior=prior)
        worker.start_time = (pod.get("status") or {}).get("startTime")
        self._workers[uid] = worker
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            worker.terminal = True  # a terminal pod is never started again
            worker.written = pod.get("status")
            if _meta(pod).get("deletionTimestamp"):
                self._queue_sync(uid)
            return
        if _meta(pod).get("deletionTimestamp"):
            self._queue_sync(uid)
        else:
            self._admission_queue.append(uid)
            self._at(("admit",), 0.0, self._admit_pending)

    def _on_pod_update(self, old: Manifest, new: Manifest) -> None:
        uid = _meta(new).get("uid")
        if _meta(old).get("uid") != uid:
            self._on_pod_delete(old)
            self._on_pod_add(new)
            return
        worker = self._workers.get(uid)
        if worker is None:
            self._on_pod_add(new)
            return
        worker.pod = new
        if _desired(old) != _desired(new):
            self._queue_sync(uid)  # a status-only change (our own write) needs no sync
        elif worker.written is not None and _status_view(new) != _status_view(
            {"status": worker.written}
        ):
            # Someone else changed the status (the node controller marking the pod
            # not Ready while the node was unreachable): write ours again, as the
            # status manager's reconcile does.
            worker.written = None
            self._queue_sync(uid)

    def _on_pod_delete(self, pod: Manifest) -> None:
        uid = _meta(pod).get("uid")
        worker = self._workers.pop(uid, None)
        if worker is None:
            return
        self._cancel(("sync", uid))
        self._teardown(worker)

    def _teardown(self, worker: PodWorker) -> None:
        """The pod is gone: kill what is left, remove its sandbox, free its IP."""
        self._release_ip(worker)
        if worker.sandbox_id is None:
            return
        for status in self._containers(worker):
            self._stop_probing(status.id)
        self._sandbox_owner.pop(worker.sandbox_id, None)
        # If the runtime is down, housekeeping removes the sandbox later.
        with contextlib.suppress(CRIError):
            self.runtime.remove_pod_sandbox(worker.sandbox_id)

    def _admit_pending(self) -> None:
        """Admit the pods seen since the last round, oldest first (HandlePodAdditions)."""
        pending = [self._workers[uid] for uid in self._admission_queue if uid in self._workers]
        self._admission_queue.clear()
        pending.sort(
            key=lambda w: (_meta(w.pod).get("creationTimestamp") or "", _meta(w.pod).get("name"))
        )
        for worker in pending:
            if not worker.admitted and not worker.rejected:
                self._admit(worker)
            self._queue_sync(worker.uid)

    def _admit(self, worker: PodWorker) -> None:
        refused = self.fits(worker.pod)
        if refused is None:
            worker.admitted = True
            return
        reason, message = refused
        worker.rejected = True
        worker.terminal = True
        self.recorder.event(worker.pod, "Warning", reason, message)
        old = worker.pod.get("status") or {}
        status = {key: old[key] for key in ("conditions", "qosClass") if key in old}
        status.update(phase="Failed", reason=reason, message=f"Pod was rejected: {message}")
        self._write_status(worker, status)

    def _on_container_event(self, event: ContainerEvent) -> None:
        if not self.running:
            return
        uid = self._sandbox_owner.get(event.sandbox_id)
        if uid is None:
            return
        if event.type is ContainerEventType.STOPPED:
            self._stop_probing(event.container_id)
            self._queue_sync(uid)

    # ------------------------------------------------------------------ IPs

    def allocate_ip(self, worker: PodWorker) -> str | None:
        """The pod's IP: the lowest free address of the pod CIDR after the gateway."""
        if worker.ip is not None or not self.pod_cidr:
            return worker.ip
        network = ipaddress.ip_network(self.pod_cidr, strict=False)
        for index, host in enumerate(network.hosts()):
            if index == 0:
                continue  # the bridge's gateway
            if str(host) not in self._ips:
                self._ips[str(host)] = worker.uid
                worker.ip = str(host)
                return worker.ip
        return None

    def _release_ip(self, worker: PodWorker) -> None:
        if worker.ip is not None and self._ips.get(worker.ip) == worker.uid:
            del self._ips[worker.ip]

    # ------------------------------------------------------------------ sync

    def _containers(self, worker: PodWorker) -> list[ContainerStatus]:
        if worker.sandbox_id is None:
            return []
        return list(self.runtime.list_containers(sandbox_id=worker.sandbox_id))

    def _latest(self, worker: PodWorker, name: str) -> tuple[ContainerStatus | None, ...]:
        """The latest container of ``name`` in the pod's sandbox, and the one before it."""
        mine = [c for c in self._containers(worker) if c.name == name]
        mine.sort(key=lambda c: (c.attempt, c.created_at))
        latest = mine[-1] if mine else None
        previous = mine[-2] if len(mine) > 1 else None
        return latest, previous

    def _sync(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is None or not self.running:
            return
        try:
            self._sync_pod(worker)
        except CRIError:
            self._queue_sync(uid, WORKER_BACK_OFF)  # the runtime is down: try again later
        if uid in self._workers and not worker.rejected and not worker.deleted:
            self._report(worker)

    def _sync_pod(self, worker: PodWorker) -> None:
        pod = worker.pod
        if _meta(pod).get("deletionTimestamp"):
            self._terminate(worker)
            return
        if worker.terminal or not worker.admitted:
            return
        if self.runtime.down:
            self._queue_sync(worker.uid, WORKER_BACK_OFF)
            return
        self._ensure_sandbox(worker)
        spec = pod.get("spec") or {}
        for container in self.init_containers(pod):
            latest, _ = self._latest(worker, container["name"])
            if latest is None:
                self._start_container(worker, container, init=True)
                return
            if latest.state is not ContainerState.EXITED:
                return  # created or running: wait for it
            if latest.exit_code == 0:
                continue
            if self.should_restart(pod, latest):
                self._restart(worker, container, latest, init=True)
            else:
                self._finish_if_terminal(worker)
            return
        will_run = False
        for container in spec.get("containers") or []:
            latest, _ = self._latest(worker, container["name"])
            if latest is None:
                self._start_container(worker, container, init=False)
                will_run = True
            elif latest.state is ContainerState.EXITED:
                if self.should_restart(pod, latest):
                    self._restart(worker, container, latest, init=False)
                    will_run = True
            else:
                will_run = True
        if not will_run:
            self._finish_if_terminal(worker)

    def _ensure_sandbox(self, worker: PodWorker) -> None:
        if worker.sandbox_id is not None:
            try:
                sandbox = self.runtime.pod_sandbox_status(worker.sandbox_id)
            except CRIError:
                sandbox = None
            if sandbox is not None and sandbox.state is SandboxState.READY:
                return
            self._sandbox_owner.pop(worker.sandbox_id, None)
        found = [
            s
            for s in self.runtime.list_pod_sandboxes(pod_uid=worker.uid)
            if s.state is SandboxState.READY
        ]
        if found:  # a restarted kubelet adopts the sandbox it finds
            sandbox = found[-1]
            worker.sandbox_id, worker.sandbox_attempt = sandbox.id, sandbox.attempt
            worker.ip = worker.ip or sandbox.ip
            if sandbox.ip:
                self._ips[sandbox.ip] = worker.uid
            self._sandbox_owner[sandbox.id] = worker.uid
            for status in self._containers(worker):
                if status.state is ContainerState.RUNNING and status.id not in self._probes:
                    spec = self._spec_of(worker.pod, status.name)
                    if spec is not None:
                        self._start_probing(worker, spec[0], status.id)
            return
        meta = _meta(worker.pod)
        attempt = worker.sandbox_attempt + 1
        for sandbox in self.runtime.list_pod_sandboxes(pod_uid=worker.uid):
            attempt = max(attempt, sandbox.attempt + 1)
        ip = self.allocate_ip(worker)
        sandbox_id = self.runtime.run_pod_sandbox(
            worker.uid, meta.get("name"), meta.get("namespace"), attempt=attempt, ip=ip
        )
        worker.sandbox_id, worker.sandbox_attempt = sandbox_id, attempt
        self._sandbox_owner[sandbox_id] = worker.uid
        if worker.start_time is None:
            worker.start_time = self.loop.clock.timestamp()

    def _spec_of(self, pod: Manifest, name: str) -> tuple[Manifest, bool] | None:
        spec = pod.get("spec") or {}
        for init, key in ((True, "initContainers"), (False, "containers")):
            for container in spec.get(key) or []:
                if container.get("name") == name:
                    return container, init
        return None

    def _next_attempt(self, worker: PodWorker, name: str) -> int:
        latest, _ = self._latest(worker, name)
        if latest is not None:
            return latest.attempt + 1
        prior = worker.prior.get(name)
        if prior and prior.get("containerID"):
            return int(prior.get("restartCount") or 0) + 1  # calcRestartCountByLogDir
        return 0

    def _restart(
        self, worker: PodWorker, container: Manifest, latest: ContainerStatus, init: bool
    ) -> None:
        name = container["name"]
        key = f"{worker.uid}_{name}"
        now = self.loop.now
        if worker.restarting.get(name) == latest.id:
            self._start_container(worker, container, init=init)  # granted; its image was pulling
            return
        if self.container_back_off.in_back_off_since(key, latest.finished_at, now):
            delay = self.container_back_off.get(key)
            pod_text = podstatus.format_pod(worker.pod)
            waiting = (
                "CrashLoopBackOff",
                f"back-off {go_duration(delay)} restarting failed container={name} pod={pod_text}",
            )
            self._queue_sync(worker.uid, latest.finished_at + delay - now)
            if worker.waiting.get(name) == waiting:
                return
            worker.waiting[name] = waiting
            self.recorder.event(
                worker.pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {name} in pod {pod_text}",
                field_path=container_field_path(name, init),
            )
            return
        self.container_back_off.next(key, latest.finished_at, now)
        worker.restarting[name] = latest.id
        self._start_container(worker, container, init=init)

    # ------------------------------------------------------------------ images and containers

    def _start_container(self, worker: PodWorker, container: Manifest, init: bool) -> None:
        name = container["name"]
        if name in worker.pulling:
            return
        if not self._ensure_image(worker, container, init):
            return
        worker.pulled.discard(name)
        path = container_field_path(name, init)
        attempt = self._next_attempt(worker, name)
        try:
            runtime_id = self.runtime.create_container(
                worker.sandbox_id, name, container["image"], attempt=attempt
            )
        except CRIError as error:
            if error.code == "Unavailable":
                raise
            worker.waiting[name] = ("CreateContainerError", error.message)
            self.recorder.event(worker.pod, "Warning", "Failed", f"Error: {error.message}", path)
            self._queue_sync(worker.uid, WORKER_BACK_OFF)
            return
        worker.waiting.pop(name, None)
        worker.restarting.pop(name, None)
        self.recorder.event(worker.pod, "Normal", "Created", f"Created container: {name}", path)
        self.runtime.start_container(runtime_id)
        self.recorder.event(worker.pod, "Normal", "Started", f"Started container {name}", path)
        self._start_probing(worker, container, runtime_id)

    def _ensure_image(self, worker: PodWorker, container: Manifest, init: bool) -> bool:
        """True when the image can be used now; else a pull is under way or backing off."""
        name, image = container["name"], container.get("image") or ""
        path = container_field_path(name, init)
        pod = worker.pod
        try:
            imagelib.parse_reference(image)
        except imagelib.InvalidReference:
            message = (
                f'Failed to apply default image tag "{image}": couldn\'t parse image name '
                f'"{image}": invalid reference format'
            )
            worker.waiting[name] = ("InvalidImageName", message)
            self.recorder.event(pod, "Warning", "InspectFailed", message, path)
            self.recorder.event(pod, "Warning", "Failed", "Error: InvalidImageName", path)
            self._queue_sync(worker.uid, WORKER_BACK_OFF)
            return False
        policy = container.get("imagePullPolicy") or default_pull_policy(image)
        present = self.runtime.image_status(image) is not None
        if name in worker.pulled and present:
            return True
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                self.recorder.event(
                    pod,
                    "Normal",
                    "Pulled",
                    f'Container image "{image}" already present on machine and can be '
                    "accessed by the pod",
                    path,
                )
                return True
            message = f'Container image "{image}" is not present with pull policy of Never'
            worker.waiting[name] = ("ErrImageNeverPull", message)
            self.recorder.event(pod, "Warning", "ErrImageNeverPull", message, path)
            self.recorder.event(pod, "Warning", "Failed", "Error: ErrImageNeverPull", path)
            self._queue_sync(worker.uid, WORKER_BACK_OFF)
            return False
        key = f"{worker.uid}_{image}"
        if self.image_back_off.in_back_off_since_update(key, self.loop.now):
            last = worker.waiting.get(name, ("ErrImagePull", ""))
            detail = last[1].split(": ErrImagePull: ", 1)[-1] if last[1] else ""
            waiting = (
                "ImagePullBackOff",
                f'Back-off pulling image "{image}": ErrImagePull: {detail}',
            )
            if ("sync", worker.uid) not in self._timers:
                self._queue_sync(worker.uid, WORKER_BACK_OFF)
            if worker.waiting.get(name) == waiting:
                return False
            worker.waiting[name] = waiting
            self.recorder.event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', path)
            self.recorder.event(pod, "Warning", "Failed", "Error: ImagePullBackOff", path)
            return False
        self.recorder.event(pod, "Normal", "Pulling", f'Pulling image "{image}"', path)
        worker.pulling.add(name)
        uid = worker.uid
        self.runtime.pull_image(image, lambda result: self._pulled(uid, name, init, result))
        return False

    def _pulled(self, uid: str, name: str, init: bool, result: PullResult) -> None:
        worker = self._workers.get(uid)
        if not self.running or worker is None:
            return
        worker.pulling.discard(name)
        path = container_field_path(name, init)
        image = result.ref
        if result.ok:
            took = go_duration(result.done_at - result.requested_at)
            found = self.runtime.image_status(result.image_id) if result.image_id else None
            size = found.size_bytes if found is not None else 0
            self.recorder.event(
                worker.pod,
                "Normal",
                "Pulled",
                f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
                f"Image size: {size} bytes.",
                path,
            )
            worker.pulled.add(name)
            worker.waiting.pop(name, None)
            self._queue_sync(uid)
            return
        self.recorder.event(
            worker.pod, "Warning", "Failed", f'Failed to pull image "{image}": {result.error}', path
        )
        self.recorder.event(worker.pod, "Warning", "Failed", f"Error: {result.reason}", path)
        self.image_back_off.next(f"{uid}_{image}", self.loop.now, self.loop.now)
        worker.waiting[name] = (result.reason or "ErrImagePull", result.error or "")
        self._queue_sync(uid, WORKER_BACK_OFF)
        self._report(worker)  # the failed sync's status: ErrImagePull

    # ------------------------------------------------------------------ probes

    def _start_probing(self, worker: PodWorker, container: Manifest, runtime_id: str) -> None:
        has = {kind: container.get(kind) is not None for kind in PROBE_KINDS}
        self._probes[runtime_id] = ProbeState(
            started=not has["startupProbe"], ready=self.ready_before_probing(container)
        )
        for kind in PROBE_KINDS:
            probe = container.get(kind)
            if probe is not None:
                delay = probe.get("initialDelaySeconds") or 0
                self._schedule_probe(worker.uid, container, runtime_id, kind, delay)

    def _schedule_probe(
        self, uid: str, container: Manifest, runtime_id: str, kind: str, delay: float
    ) -> None:
        self._at(
            ("probe", runtime_id, kind),
            delay,
            lambda: self._probe(uid, container, runtime_id, kind),
        )

    def _stop_probing(self, runtime_id: str) -> None:
        self._probes.pop(runtime_id, None)
        for kind in PROBE_KINDS:
            self._cancel(("probe", runtime_id, kind))

    def _probe(self, uid: str, container: Manifest, runtime_id: str, kind: str) -> None:
        state = self._probes.get(runtime_id)
        worker = self._workers.get(uid)
        if state is None or worker is None or state.done:
            return
        probe = container[kind]
        period = probe.get("periodSeconds") or 10
        if kind != "startupProbe" and not state.started:
            self._schedule_probe(uid, container, runtime_id, kind, period)
            return
        if kind == "startupProbe" and state.started:
            return
        ok = self.runtime.probe(runtime_id, RUNTIME_KIND[kind])
        counts = state.successes if ok else state.failures
        counts[kind] = counts.get(kind, 0) + 1
        (state.failures if ok else state.successes)[kind] = 0
        name = container["name"]
        init = self._spec_of(worker.pod, name)[1] if self._spec_of(worker.pod, name) else False
        path = container_field_path(name, init)
        if not ok:
            self.recorder.event(
                worker.pod,
                "Warning",
                "Unhealthy",
                f"{PROBE_NAMES[kind]} probe failed: {self._probe_output(probe, worker)}",
                path,
            )
        failed = state.failures.get(kind, 0) >= (probe.get("failureThreshold") or 3)
        succeeded = state.successes.get(kind, 0) >= (probe.get("successThreshold") or 1)
        if kind == "readinessProbe":
            ready = True if succeeded else False if failed else state.ready
            if ready != state.ready:
                state.ready = ready
                self._queue_sync(uid)
        elif kind == "startupProbe" and ok:
            state.started = True
            self._queue_sync(uid)
            return
        elif failed:
            state.done = True
            word = "liveness" if kind == "livenessProbe" else "startup"
            self.recorder.event(
                worker.pod,
                "Normal",
                "Killing",
                f"Container {name} failed {word} probe, will be restarted",
                path,
            )
            grace = probe.get("terminationGracePeriodSeconds")
            if grace is None:
                grace = (worker.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            self.runtime.stop_container(runtime_id, max(int(grace), MIN_GRACE_SECONDS))
            return
        self._schedule_probe(uid, container, runtime_id, kind, period)

    def _probe_output(self, probe: Manifest, worker: PodWorker) -> str:
        if probe.get("httpGet") is not None:
            return "HTTP probe failed with statuscode: 503"
        if probe.get("tcpSocket") is not None:
            port = probe["tcpSocket"].get("port")
            return f"dial tcp {worker.ip}:{port}: connect: connection refused"
        return ""

    # ------------------------------------------------------------------ termination

    def _finish_if_terminal(self, worker: PodWorker) -> None:
        """Nothing is to run now: the pod is finished if its phase (getPhase) is terminal.

        Under restartPolicy Always the phase stays Running (Pending before the init
        containers completed) even when no container is restarted."""
        if self.pod_status(worker)["phase"] in ("Succeeded", "Failed"):
            self._finish(worker)

    def _finish(self, worker: PodWorker) -> None:
        """Nothing will run again (restart policy): the pod turns terminal."""
        worker.terminal = True
        for status in self._containers(worker):
            self._stop_probing(status.id)
        if worker.sandbox_id is not None:
            self.runtime.stop_pod_sandbox(worker.sandbox_id)
        self._release_ip(worker)

    def _terminate(self, worker: PodWorker) -> None:
        """Graceful deletion: stop every container with the grace period, then delete."""
        pod = worker.pod
        timeout = self.stop_timeout(pod)
        for status in self._containers(worker):
            if status.state is not ContainerState.RUNNING or status.id in worker.killing:
                continue
            worker.killing.add(status.id)
            self._stop_probing(status.id)
            spec = self._spec_of(pod, status.name)
            init = spec[1] if spec else False
            self.recorder.event(
                pod,
                "Normal",
                "Killing",
                f"Stopping container {status.name}",
                container_field_path(status.name, init),
            )
            self.runtime.stop_container(status.id, timeout)
        if any(c.state is ContainerState.RUNNING for c in self._containers(worker)):
            return
        if worker.sandbox_id is not None:
            self.runtime.stop_pod_sandbox(worker.sandbox_id)
        worker.terminal = True
        self._release_ip(worker)
        self._report(worker)
        meta = _meta(pod)
        answer = self.connection.request(
            "delete",
            "pods",
            namespace=meta.get("namespace"),
            name=meta.get("name"),
            body={"gracePeriodSeconds": 0, "preconditions": {"uid": worker.uid}},
            params={"gracePeriodSeconds": 0},
        )
        if answer.ok or answer.code in (404, 409):
            worker.deleted = True
        else:
            self._queue_sync(worker.uid, STATUS_RETRY)

    # ------------------------------------------------------------------ status

    def _container_status(
        self, worker: PodWorker, container: Manifest, init: bool, init_done: bool
    ) -> Manifest:
        name = container["name"]
        latest, previous = self._latest(worker, name)
        prior = worker.prior.get(name) or {}
        status: Manifest = {
            "name": name,
            "image": container.get("image"),
            "imageID": "",
            "ready": False,
            "restartCount": int(prior.get("restartCount") or 0),
            "started": False,
        }
        last_state = self._carried_last_state(prior)
        if latest is None:
            default = "PodInitializing" if (init or not init_done) else "ContainerCreating"
            reason, message = worker.waiting.get(name, (default, ""))
            waiting = {"reason": reason}
            if message:
                waiting["message"] = message
            status["state"] = {"waiting": waiting}
        else:
            status["restartCount"] = self.restart_count(latest)
            status["containerID"] = container_id(latest.id)
            status["imageID"] = self._image_id(latest)
            status["state"] = self._state(latest)
            if previous is not None and previous.state is ContainerState.EXITED:
                last_state = {"terminated": self._terminated(previous)}
            if latest.state is ContainerState.RUNNING:
                probe = self._probes.get(latest.id)
                status["started"] = probe.started if probe else True
                status["ready"] = bool(probe and probe.started and probe.ready and not init)
            elif (
                latest.state is ContainerState.EXITED
                and name in worker.waiting
                and not worker.terminal
                and self.should_restart(worker.pod, latest)
            ):
                reason, message = worker.waiting[name]  # waiting to restart
                last_state = {"terminated": self._terminated(latest)}
                status["state"] = {"waiting": {"reason": reason, "message": message}}
        if last_state:
            status["lastState"] = last_state
        return status

    @staticmethod
    def _carried_last_state(prior: Manifest) -> Manifest | None:
        state = prior.get("state") or {}
        if state.get("terminated") is not None:
            return {"terminated": state["terminated"]}
        return prior.get("lastState") or None

    def _image_id(self, status: ContainerStatus) -> str:
        repository = status.image_ref.rsplit(":", 1)[0] if "@" not in status.image_ref else ""
        repository = repository or status.image_ref.split("@", 1)[0]
        return f"{repository}@{status.image_id}"

    @staticmethod
    def _time(instant: float) -> str:
        """An instant as metav1.Time (RFC 3339, whole seconds), the same at every sync."""
        return (EPOCH + datetime.timedelta(seconds=int(instant + 1e-9))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

    def _terminated(self, status: ContainerStatus) -> Manifest:
        terminated = {
            "exitCode": status.exit_code if status.exit_code is not None else 137,
            "reason": status.reason or "ContainerStatusUnknown",
            "containerID": container_id(status.id),
        }
        if status.started_at is not None:
            terminated["startedAt"] = self._time(status.started_at)
        if status.finished_at is not None:
            terminated["finishedAt"] = self._time(status.finished_at)
        return terminated

    def _state(self, status: ContainerStatus) -> Manifest:
        if status.state is ContainerState.RUNNING:
            return {"running": {"startedAt": self._time(status.started_at)}}
        if status.state is ContainerState.CREATED:
            return {"waiting": {"reason": "ContainerCreating"}}
        if status.state is ContainerState.UNKNOWN:
            return {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the pod was terminated",
                }
            }
        return {"terminated": self._terminated(status)}

    def pod_status(self, worker: PodWorker) -> Manifest:
        """The status the kubelet reports for the pod now."""
        pod = worker.pod
        spec = pod.get("spec") or {}
        old = pod.get("status") or {}
        init_statuses = [
            self._container_status(worker, c, True, False) for c in spec.get("initContainers") or []
        ]
        init_done = podstatus.init_complete(init_statuses)
        statuses = [
            self._container_status(worker, c, False, init_done)
            for c in spec.get("containers") or []
        ]
        phase = podstatus.pod_phase(restart_policy(pod), init_statuses, statuses, worker.terminal)
        if worker.terminal and phase in ("Pending", "Running"):
            phase = "Failed"
        sandbox_ready = False
        if worker.sandbox_id is not None and not self.runtime.down:
            try:
                sandbox = self.runtime.pod_sandbox_status(worker.sandbox_id)
                sandbox_ready = sandbox.state is SandboxState.READY
            except CRIError:
                sandbox_ready = False
        status: Manifest = {"phase": phase}
        status["conditions"] = podstatus.pod_conditions(
            old.get("conditions") or [],
            sandbox_ready=sandbox_ready,
            init_statuses=init_statuses,
            statuses=statuses,
            phase=phase,
            now=self.loop.clock.timestamp(),
        )
        if self.node_ip:
            status["hostIP"] = self.node_ip
            status["hostIPs"] = [{"ip": self.node_ip}]
        ip = worker.ip or old.get("podIP")
        if ip:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        if worker.start_time:
            status["startTime"] = worker.start_time
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        status["containerStatuses"] = statuses
        if old.get("qosClass"):
            status["qosClass"] = old["qosClass"]
        return status

    def _report(self, worker: PodWorker) -> None:
        if worker.admitted and not worker.rejected:
            self._write_status(worker, self.pod_status(worker))

    def _write_status(self, worker: PodWorker, status: Manifest) -> None:
        if worker.written == status:
            return
        pod = dict(worker.pod)
        pod["metadata"] = {k: v for k, v in _meta(pod).items() if k != "resourceVersion"}
        pod["status"] = status
        meta = pod["metadata"]
        answer = self.connection.request(
            "update",
            "pods",
            namespace=meta.get("namespace"),
            name=meta.get("name"),
            subresource="status",
            body=pod,
        )
        if answer.ok:
            worker.written = status
        elif answer.code != 404:
            self._queue_sync(worker.uid, STATUS_RETRY)


def _without_heartbeats(status: Manifest) -> Manifest:
    """A node status with its conditions' lastHeartbeatTime left out."""
    conditions = [
        {k: v for k, v in c.items() if k != "lastHeartbeatTime"}
        for c in status.get("conditions") or []
    ]
    return {**status, "conditions": conditions}


def _status_view(pod: Manifest) -> tuple:
    """What the kubelet owns of a pod's status: the phase and its conditions' values."""
    status = pod.get("status") or {}
    conditions = sorted(
        (str(c.get("type")), str(c.get("status"))) for c in status.get("conditions") or []
    )
    return status.get("phase"), tuple(conditions)
