"""The node lifecycle controller and the taint eviction controller of kube-controller-manager.

Contract (spec/nodelifecycle.md):

``NodeLifecycleController`` (events from "node-controller"):
- Every ``node_monitor_period`` (5 s) it looks at each node's Ready condition
  heartbeat and its Lease (``kube-node-lease/<node>``). The probe instant of a
  node is when the controller last saw either change. Once the probe instant
  is more than ``node_monitor_grace_period`` (50 s) old (60 s,
  ``node_startup_grace_period``, for a node that never posted a Ready
  condition), it sets Ready, MemoryPressure, DiskPressure and PIDPressure to
  Unknown, reason NodeStatusUnknown, message "Kubelet stopped posting node
  status." (NODELIFECYCLE-UNKNOWN-IN-TIME, NODELIFECYCLE-UNKNOWN-NOT-EARLY).
- When it turns Ready from True to not True it records NodeNotReady on the node
  and sets the Ready condition of the node's pods to False, with a Warning
  NodeNotReady "Node is not ready" event per pod (NODELIFECYCLE-PODS-NOT-READY).
- NoExecute taints follow the Ready condition it observed at the previous
  pass: ``node.kubernetes.io/unreachable`` for Unknown,
  ``node.kubernetes.io/not-ready`` for False, the two swapped at once, both
  removed as soon as Ready is True (NODELIFECYCLE-READY-TAINTS). New taints are
  added through a per-zone queue rate limited to ``node_eviction_rate`` (0.1
  nodes/s); a zone in PartialDisruption (more than 2 and at least 55 % of its
  nodes not Ready) taints at ``secondary_node_eviction_rate`` if it has more
  than 50 nodes, else not at all; when every zone is in FullDisruption all
  NoExecute taints are removed and tainting stops.
- NoSchedule taints mirror conditions (TaintNodesByCondition): not-ready,
  unreachable, memory-pressure, disk-pressure, pid-pressure,
  network-unavailable, and unschedulable for ``spec.unschedulable``.

``TaintEvictionController`` (events from "taint-eviction-controller"):
- A pod bound to a node with NoExecute taints it does not all tolerate is
  deleted at once; one that tolerates them all, the smallest
  ``tolerationSeconds`` of the tolerations used being N, is deleted N seconds
  after the controller first saw it so; one that tolerates them forever is kept
  (NODELIFECYCLE-EVICT-IN-TIME, NODELIFECYCLE-EVICT-NOT-EARLY). Before the
  delete it records TaintManagerEviction "Marking for deletion Pod ns/name" and
  adds the DisruptionTarget condition. ``eviction_delay`` is the decision.

Both never raise out of a loop callback: a failed request is retried at the
next pass.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

from kubeprop.reference.client import NORMAL, WARNING, Controller, Informers, WorkQueue
from kubeprop.reference.clock import parse_timestamp
from kubeprop.reference.loop import EventLoop, Handle
from kubeprop.reference.scheduler.taints import tolerates
from kubeprop.spec.api.core import Taint, Toleration

Manifest = dict[str, Any]

# Upstream defaults (kube-controller-manager flags; pkg/controller/nodelifecycle).
NODE_MONITOR_PERIOD = 5.0  # --node-monitor-period
NODE_MONITOR_GRACE_PERIOD = 50.0  # --node-monitor-grace-period (40 s before v1.32)
NODE_STARTUP_GRACE_PERIOD = 60.0  # --node-startup-grace-period
NODE_EVICTION_RATE = 0.1  # --node-eviction-rate: nodes tainted per second per zone
SECONDARY_NODE_EVICTION_RATE = 0.01  # --secondary-node-eviction-rate
LARGE_CLUSTER_SIZE_THRESHOLD = 50  # --large-cluster-size-threshold
UNHEALTHY_ZONE_THRESHOLD = 0.55  # --unhealthy-zone-threshold
NODE_EVICTION_PERIOD = 0.1  # scheduler.NodeEvictionPeriod: how often the taint queue runs
NODE_HEALTH_UPDATE_RETRY = 5  # scheduler.NodeHealthUpdateRetry
LEASE_NAMESPACE = "kube-node-lease"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"
# (condition type, status) -> the NoSchedule taint key (nodeConditionToTaintKeyStatusMap).
CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): TAINT_NOT_READY,
    ("Ready", "Unknown"): TAINT_UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
}
CONDITION_TAINT_KEYS = frozenset(CONDITION_TAINTS.values()) | {TAINT_UNSCHEDULABLE}
# The conditions set to Unknown when the kubelet goes silent (NetworkUnavailable is not).
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STATUS_UNKNOWN_REASON = "NodeStatusUnknown"
STATUS_UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
NEVER_UPDATED_REASON = "NodeStatusNeverUpdated"
NEVER_UPDATED_MESSAGE = "Kubelet never posted node status."
LABEL_EXCLUDE_DISRUPTION = "node.kubernetes.io/exclude-disruption"
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")

NORMAL_ZONE, PARTIAL_DISRUPTION, FULL_DISRUPTION, INITIAL = (
    "Normal",
    "PartialDisruption",
    "FullDisruption",
    "Initial",
)

# Taint eviction (pkg/controller/tainteviction).
EVICTION_RETRY = 1.0  # seconds before a failed eviction is tried again
DISRUPTION_REASON = "DeletionByTaintManager"
DISRUPTION_MESSAGE = "Taint manager: deleting due to NoExecute taint"
MERGE_PATCH = {"contentType": "application/merge-patch+json"}


# ---------------------------------------------------------------------- helpers


def condition(obj: Manifest, kind: str) -> Manifest | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def ready_status(node: Manifest) -> str | None:
    found = condition(node, "Ready")
    return None if found is None else found.get("status")


def taints_of(node: Manifest) -> list[Manifest]:
    return list((node.get("spec") or {}).get("taints") or [])


def has_taint(node: Manifest, key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints_of(node))


def zone_key(node: Manifest) -> str:
    """nodetopology.GetZoneKey: "<region>:\\x00:<zone>", or "" with neither label."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = next((labels[k] for k in REGION_LABELS if labels.get(k)), "")
    zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")
    return "" if not region and not zone else f"{region}:\x00:{zone}"


def to_taint(manifest: Manifest) -> Taint:
    return Taint(manifest.get("key"), manifest.get("value"), manifest.get("effect"))


def to_toleration(manifest: Manifest) -> Toleration:
    return Toleration(
        manifest.get("key"),
        manifest.get("operator"),
        manifest.get("value"),
        manifest.get("effect"),
        manifest.get("tolerationSeconds"),
    )


def eviction_delay(tolerations: list[Manifest], taints: list[Manifest]) -> float | None:
    """Seconds until a pod with ``tolerations`` is evicted from a node with the
    NoExecute ``taints``: 0 if one is not tolerated, else the smallest
    tolerationSeconds of the first toleration matching each taint (<= 0 -> 0),
    None (never) if none of those sets tolerationSeconds."""
    parsed = [to_toleration(t) for t in tolerations]
    used: list[Toleration] = []
    for taint in taints:
        match = next((t for t in parsed if tolerates(t, to_taint(taint))), None)
        if match is None:
            return 0.0
        used.append(match)
    seconds = [t.toleration_seconds for t in used if t.toleration_seconds is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


def no_execute_taints(node: Manifest | None) -> list[Manifest]:
    if node is None:
        return []
    return [t for t in taints_of(node) if t.get("effect") == NO_EXECUTE]


def pod_key(pod: Manifest) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


@attrs.frozen
class NodeHealth:
    """What the controller last saw of a node (nodeHealthData)."""

    probe: float  # when the controller last saw the kubelet alive (heartbeat or lease)
    ready_transition: float  # when it last saw the Ready condition change
    ready: Manifest | None  # the Ready condition as last saved (None: never posted)
    lease_renew: float | None  # the Lease renewTime last seen


@attrs.define(eq=False)
class ZoneTainter:
    """A zone's rate-limited taint queue (RateLimitedTimedQueue with a token bucket, burst 1)."""

    rate: float  # nodes per second; 0 stops tainting
    queue: list[str] = attrs.field(factory=list)  # node names, oldest first, each once
    next_token: float = 0.0  # the instant the bucket next holds a token
    # Nodes tainted and not removed since: UniqueQueue keeps them in its set, so adding
    # one again is refused until remove() (the node became reachable, or lost its taint).
    done: set[str] = attrs.field(factory=set)

    def add(self, name: str) -> bool:
        if name in self.queue or name in self.done:
            return False
        self.queue.append(name)
        return True

    def remove(self, name: str) -> bool:
        self.done.discard(name)
        if name in self.queue:
            self.queue.remove(name)
            return True
        return False

    def try_accept(self, now: float) -> bool:
        if self.rate <= 0 or now < self.next_token:
            return False
        self.next_token = now + 1.0 / self.rate
        return True

    def swap_rate(self, rate: float, now: float) -> None:
        self.rate = rate
        self.next_token = now  # a new bucket starts full


# ---------------------------------------------------------------------- node lifecycle


@attrs.define(eq=False)
class NodeLifecycleController:
    """kube-controller-manager's node-lifecycle-controller."""

    connection: Any
    loop: EventLoop
    recorder: Any
    watch_latency: float = 0.1
    node_monitor_period: float = NODE_MONITOR_PERIOD
    node_monitor_grace_period: float = NODE_MONITOR_GRACE_PERIOD
    node_startup_grace_period: float = NODE_STARTUP_GRACE_PERIOD
    node_eviction_rate: float = NODE_EVICTION_RATE
    secondary_node_eviction_rate: float = SECONDARY_NODE_EVICTION_RATE
    large_cluster_size_threshold: int = LARGE_CLUSTER_SIZE_THRESHOLD
    unhealthy_zone_threshold: float = UNHEALTHY_ZONE_THRESHOLD
    _informers: Any = attrs.field(init=False, default=None)  # nodes, pods, leases
    _nodes: Any = attrs.field(init=False, default=None)
    _pods: Any = attrs.field(init=False, default=None)
    _leases: Any = attrs.field(init=False, default=None)
    # node name -> what the controller last saw of it; probe instants decide Unknown.
    _health: dict[str, NodeHealth] = attrs.field(init=False, factory=dict)
    # node name -> uid of the nodes seen at the last pass (RegisteredNode/RemovingNode).
    _known: dict[str, str] = attrs.field(init=False, factory=dict)
    # zone -> its state at the last pass (decides each zone's taint rate).
    _zone_states: dict[str, str] = attrs.field(init=False, factory=dict)
    # zone -> its rate-limited NoExecute taint queue.
    _tainters: dict[str, ZoneTainter] = attrs.field(init=False, factory=dict)
    # nodes whose pods must still be marked not ready (a failed MarkPodsNotReady).
    _retry: set[str] = attrs.field(init=False, factory=set)
    _monitor: Handle | None = attrs.field(init=False, default=None)  # the next health pass
    _tainting: Handle | None = attrs.field(init=False, default=None)  # the next taint pass
    _no_schedule: Controller | None = attrs.field(init=False, default=None)  # NoSchedule taints
    _pod_queue: Controller | None = attrs.field(init=False, default=None)  # newly bound pods
    stopped: bool = attrs.field(init=False, default=False)
    errors: list[str] = attrs.field(init=False, factory=list)  # the latest failed passes

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._nodes = self._informers.informer("nodes")
        self._pods = self._informers.informer("pods")
        self._leases = self._informers.informer("leases", namespace=LEASE_NAMESPACE)
        self._no_schedule = Controller(
            "node-no-schedule", WorkQueue(self.loop), self._no_schedule_pass, self.loop
        )
        self._pod_queue = Controller(
            "node-pods", WorkQueue(self.loop), self._process_pod, self.loop
        )
        self._nodes.add_handler(
            on_add=lambda node: self._no_schedule.queue.add(node["metadata"]["name"]),
            on_update=lambda old, new: self._no_schedule.queue.add(new["metadata"]["name"]),
        )
        self._pods.add_handler(
            on_add=lambda pod: self._pod_bound(None, pod), on_update=self._pod_bound
        )
        self._informers.start()
        self._monitor = self.loop.call_later(0, self._monitor_pass)

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        for handle in (self._monitor, self._tainting):
            if handle is not None:
                self.loop.cancel(handle)
        for controller in (self._no_schedule, self._pod_queue):
            if controller is not None:
                controller.stop()

    # ------------------------------------------------------------------ the health pass

    def _monitor_pass(self) -> None:
        self._monitor = None
        if self.stopped:
            return
        try:
            self.monitor_node_health()
        except Exception as error:  # a bug or a malformed object: report, keep running
            self.errors.append(f"{type(error).__name__}: {error}")
            del self.errors[:-100]
        finally:
            if not self.stopped:
                self._monitor = self.loop.call_later(self.node_monitor_period, self._monitor_pass)

    def monitor_node_health(self) -> None:
        """One pass of monitorNodeHealth over the node cache."""
        nodes = self._nodes.lister().list()
        names = {node["metadata"]["name"] for node in nodes}
        for node in nodes:
            self._tainter(zone_key(node))
            name = node["metadata"]["name"]
            if name not in self._known:
                self._known[name] = node["metadata"].get("uid", "")
                self._node_event(node, "RegisteredNode", f"Registered Node {name} in Controller")
                self._mark_reachable(node)
        for name in sorted(set(self._known) - names):
            uid = self._known.pop(name)
            ref = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "uid": uid}}
            self._node_event(ref, "RemovingNode", f"Removing Node {name} from Controller")
            self._health.pop(name, None)
        zones: dict[str, list[str | None]] = {}
        for node in nodes:
            outcome = self._update_health_with_retry(node)
            if outcome is None:
                continue
            node, observed, current = outcome
            labels = node["metadata"].get("labels") or {}
            if LABEL_EXCLUDE_DISRUPTION not in labels:
                zones.setdefault(zone_key(node), []).append(current)
            if current is None:
                continue
            name = node["metadata"]["name"]
            self._taint_based_eviction(node, observed)
            if current != "True" and observed == "True":
                self.recorder.event(
                    node, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady"
                )
                self._mark_pods(name)
            elif name in self._retry and observed != "True":
                self._mark_pods(name)
            else:
                self._retry.discard(name)
        self._handle_disruption(zones, nodes)
        self._schedule_tainting()

    def _mark_pods(self, name: str) -> None:
        if self.mark_pods_not_ready(name):
            self._retry.discard(name)
        else:
            self._retry.add(name)

    def _update_health_with_retry(self, node: Manifest):
        for _ in range(NODE_HEALTH_UPDATE_RETRY):
            outcome = self.try_update_node_health(node)
            if outcome is not None:
                return (node, *outcome)
            answer = self.connection.request("get", "nodes", name=node["metadata"]["name"])
            if not answer.ok:
                return None
            node = answer.body
        return None

    def try_update_node_health(self, node: Manifest) -> tuple[str | None, str | None] | None:
        """tryUpdateNodeHealth: (observed Ready status, current Ready status), or None
        when the status update failed. ``node`` is changed in place when updated."""
        now = self.loop.now
        name = node["metadata"]["name"]
        created = parse_timestamp(
            node["metadata"].get("creationTimestamp") or "2026-01-01T00:00:00Z"
        )
        ready = condition(node, "Ready")
        health = self._health.get(name)
        grace = self.grace_period(ready)
        if ready is None:
            observed: str | None = "Unknown"
            if health is None:
                health = NodeHealth(created, created, None, None)
            else:
                health = attrs.evolve(health, ready=None)
        else:
            observed = ready.get("status")
        saved = health.ready if health is not None else None
        if health is None or (saved is None and ready is not None):
            health = NodeHealth(now, now, copy.deepcopy(ready), None)
        elif saved is not None and ready is None:
            health = NodeHealth(now, now, None, health.lease_renew)
        elif (
            saved is not None
            and ready is not None
            and saved.get("lastHeartbeatTime") != ready.get("lastHeartbeatTime")
        ):
            changed = saved.get("lastTransitionTime") != ready.get("lastTransitionTime")
            transition = now if changed else health.ready_transition
            health = NodeHealth(now, transition, copy.deepcopy(ready), health.lease_renew)
        renew = self._lease_renew(name)
        if renew is not None and (health.lease_renew is None or health.lease_renew < renew):
            health = attrs.evolve(health, probe=now, lease_renew=renew)
        self._health[name] = health
        if now <= health.probe + grace:
            return observed, observed
        self._set_unknown(node, created)
        current = ready_status(node)
        # Upstream compares the Ready condition as a whole with the one observed (for a node
        # that never posted, a made-up Unknown one): the NodeStatusNeverUpdated conditions
        # just added differ from it, so they are written although the status is the same.
        if current == observed and ready is not None:
            return observed, current
        answer = self.connection.request(
            "update", "nodes", name=name, subresource="status", body=node
        )
        if not answer.ok:
            return None
        node.clear()
        node.update(answer.body)
        self._health[name] = attrs.evolve(
            health, ready=copy.deepcopy(condition(node, "Ready")), ready_transition=now
        )
        return observed, current

    def grace_period(self, ready: Manifest | None) -> float:
        """How long a node may stay silent: the startup grace period while it has
        never posted a Ready condition, else the monitor grace period."""
        return self.node_startup_grace_period if ready is None else self.node_monitor_grace_period

    def _set_unknown(self, node: Manifest, created: float) -> None:
        stamp = self.loop.clock.timestamp()
        conditions = node.setdefault("status", {}).setdefault("conditions", [])
        for kind in MONITORED_CONDITIONS:
            found = condition(node, kind)
            if found is None:
                conditions.append(
                    {
                        "type": kind,
                        "status": "Unknown",
                        "reason": NEVER_UPDATED_REASON,
                        "message": NEVER_UPDATED_MESSAGE,
                        "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                        "lastTransitionTime": stamp,
                    }
                )
            elif found.get("status") != "Unknown":
                found["status"] = "Unknown"
                found["reason"] = STATUS_UNKNOWN_REASON
                found["message"] = STATUS_UNKNOWN_MESSAGE
                found["lastTransitionTime"] = stamp

    def _lease_renew(self, name: str) -> float | None:
        lease = self._leases.lister().get(LEASE_NAMESPACE, name)
        renew = ((lease or {}).get("spec") or {}).get("renewTime")
        if not renew:
            return None
        try:
            return parse_timestamp(renew)
        except ValueError:
            return None

    # ------------------------------------------------------------------ pods

    def mark_pods_not_ready(self, node_name: str) -> bool:
        """MarkPodsNotReady: the Ready condition of the node's pods to False; True if all done."""
        on_node = [
            pod
            for pod in self._pods.lister().list()
            if (pod.get("spec") or {}).get("nodeName") == node_name
        ]
        return self.mark_pods_not_ready_for(on_node)

    def _pod_bound(self, old: Manifest | None, new: Manifest) -> None:
        node_name = (new.get("spec") or {}).get("nodeName")
        if node_name and (old is None or (old.get("spec") or {}).get("nodeName") != node_name):
            self._pod_queue.queue.add(pod_key(new))

    def _process_pod(self, key: str) -> None:
        """processPod: a pod newly bound to a node that is not Ready is marked not ready."""
        if self.stopped:
            return
        namespace, _, name = key.partition("/")
        pod = self._pods.lister().get(namespace, name)
        if pod is None:
            return
        node_name = pod["spec"]["nodeName"]
        node = self._nodes.lister().get(None, node_name)
        if node is None or node_name not in self._health:
            return
        if ready_status(node) != "True" and not self.mark_pods_not_ready_for([pod]):
            raise RuntimeError(f"cannot mark pod {key} not ready")

    def mark_pods_not_ready_for(self, pods: list[Manifest]) -> bool:
        """Set each pod's Ready condition to False (event NodeNotReady); True if all done."""
        ok = True
        for pod in pods:
            found = condition(pod, "Ready")
            if found is None or found.get("status") == "False":
                continue
            found["status"] = "False"
            found["lastTransitionTime"] = self.loop.clock.timestamp()
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
                self.recorder.event(answer.body, WARNING, "NodeNotReady", "Node is not ready")
            elif answer.code != 404:
                ok = False
        return ok

    # ------------------------------------------------------------------ NoExecute taints

    def _tainter(self, zone: str) -> ZoneTainter:
        if zone not in self._tainters:
            self._tainters[zone] = ZoneTainter(self.node_eviction_rate, next_token=self.loop.now)
            self._zone_states.setdefault(zone, INITIAL)
        return self._tainters[zone]

    def _taint_based_eviction(self, node: Manifest, observed: str | None) -> None:
        """processTaintBaseEviction, on the Ready status the pass observed."""
        if observed == "False":
            if has_taint(node, TAINT_UNREACHABLE, NO_EXECUTE):
                self.swap_taints(node, TAINT_NOT_READY, TAINT_UNREACHABLE)
            else:
                self._mark_for_tainting(node, TAINT_NOT_READY)
        elif observed == "Unknown":
            if has_taint(node, TAINT_NOT_READY, NO_EXECUTE):
                self.swap_taints(node, TAINT_UNREACHABLE, TAINT_NOT_READY)
            else:
                self._mark_for_tainting(node, TAINT_UNREACHABLE)
        elif observed == "True":
            self._mark_reachable(node)

    def _mark_for_tainting(self, node: Manifest, key: str) -> None:
        tainter = self._tainter(zone_key(node))
        name = node["metadata"]["name"]
        if not has_taint(node, key, NO_EXECUTE):
            tainter.remove(name)
        tainter.add(name)

    def _mark_reachable(self, node: Manifest) -> None:
        """markNodeAsReachable: drop both NoExecute taints and the queued tainting."""
        if has_taint(node, TAINT_UNREACHABLE, NO_EXECUTE) or has_taint(
            node, TAINT_NOT_READY, NO_EXECUTE
        ):
            self.swap_taints(node, None, TAINT_UNREACHABLE, TAINT_NOT_READY)
        self._tainter(zone_key(node)).remove(node["metadata"]["name"])

    def _schedule_tainting(self) -> None:
        if self._tainting is not None or self.stopped:
            return
        waiting = [t for t in self._tainters.values() if t.queue and t.rate > 0]
        if not waiting:
            return
        due = max(self.loop.now, min(t.next_token for t in waiting))
        self._tainting = self.loop.call_at(due, self._tainting_pass)

    def _tainting_pass(self) -> None:
        """doNoExecuteTaintingPass: taint queued nodes as the zone's rate allows."""
        self._tainting = None
        if self.stopped:
            return
        try:
            self._taint_queued()
        except Exception as error:  # never out of a loop callback
            self.errors.append(f"{type(error).__name__}: {error}")
            del self.errors[:-100]
        if any(t.queue and t.rate > 0 for t in self._tainters.values()):
            soonest = min(t.next_token for t in self._tainters.values() if t.queue and t.rate > 0)
            due = max(self.loop.now + NODE_EVICTION_PERIOD, soonest)
            self._tainting = self.loop.call_at(due, self._tainting_pass)

    def _taint_queued(self) -> None:
        for zone in sorted(self._tainters):
            tainter = self._tainters[zone]
            while tainter.queue and tainter.try_accept(self.loop.now):
                name = tainter.queue.pop(0)
                if not self._taint_now(name):
                    tainter.add(name)
                    break
                tainter.done.add(name)

    def _taint_now(self, name: str) -> bool:
        node = self._nodes.lister().get(None, name)
        if node is None:
            return True
        status = ready_status(node)
        if status == "False":
            return self.swap_taints(node, TAINT_NOT_READY, TAINT_UNREACHABLE)
        if status == "Unknown":
            return self.swap_taints(node, TAINT_UNREACHABLE, TAINT_NOT_READY)
        return status is not None

    def swap_taints(self, node: Manifest, add: str | None, *remove: str) -> bool:
        """SwapNodeControllerTaint for NoExecute taints: a fresh read, then an update."""
        name = node["metadata"]["name"]
        for _ in range(NODE_HEALTH_UPDATE_RETRY):
            answer = self.connection.request("get", "nodes", name=name)
            if not answer.ok:
                return answer.code == 404
            fresh = answer.body
            taints = [
                t
                for t in taints_of(fresh)
                if not (t.get("key") in remove and t.get("effect") == NO_EXECUTE)
            ]
            if add is not None and not any(
                t.get("key") == add and t.get("effect") == NO_EXECUTE for t in taints
            ):
                taints.append(
                    {"key": add, "effect": NO_EXECUTE, "timeAdded": self.loop.clock.timestamp()}
                )
            if taints == taints_of(fresh):
                return True
            fresh.setdefault("spec", {})["taints"] = taints
            if not taints:
                fresh["spec"].pop("taints")
            answer = self.connection.request("update", "nodes", name=name, body=fresh)
            if answer.ok:
                return True
            if answer.code != 409:
                return False
        return False

    # ------------------------------------------------------------------ zones

    def compute_zone_state(self, ready: list[str | None]) -> str:
        ready_nodes = sum(1 for status in ready if status == "True")
        not_ready = len(ready) - ready_nodes
        if ready_nodes == 0 and not_ready > 0:
            return FULL_DISRUPTION
        if not_ready > 2 and not_ready / len(ready) >= self.unhealthy_zone_threshold:
            return PARTIAL_DISRUPTION
        return NORMAL_ZONE

    def _zone_rate(self, size: int, state: str) -> float:
        if state == PARTIAL_DISRUPTION:
            if size > self.large_cluster_size_threshold:
                return self.secondary_node_eviction_rate
            return 0.0
        return self.node_eviction_rate

    def _handle_disruption(self, zones: dict[str, list[str | None]], nodes: list[Manifest]) -> None:
        now = self.loop.now
        new_states = {zone: self.compute_zone_state(ready) for zone, ready in zones.items()}
        all_full = all(state == FULL_DISRUPTION for state in new_states.values())
        for zone in list(self._zone_states):
            if zone not in zones:
                del self._zone_states[zone]
        was_full = all(state == FULL_DISRUPTION for state in self._zone_states.values())
        for zone in new_states:
            self._zone_states.setdefault(zone, INITIAL)
        if all_full and was_full:
            return
        if all_full:
            for node in nodes:
                self._mark_reachable(node)
            for zone in self._zone_states:
                self._tainter(zone).swap_rate(0.0, now)
                self._zone_states[zone] = FULL_DISRUPTION
            return
        if was_full:
            for name, health in list(self._health.items()):
                self._health[name] = attrs.evolve(health, probe=now, ready_transition=now)
            for zone in self._zone_states:
                state = new_states.get(zone, NORMAL_ZONE)
                self._tainter(zone).swap_rate(self._zone_rate(len(zones.get(zone, [])), state), now)
                self._zone_states[zone] = state
            return
        for zone, state in new_states.items():
            if self._zone_states.get(zone) != state:
                self._tainter(zone).swap_rate(self._zone_rate(len(zones[zone]), state), now)
                self._zone_states[zone] = state

    # ------------------------------------------------------------------ NoSchedule taints

    def _no_schedule_pass(self, name: str) -> None:
        """doNoScheduleTaintingPass: NoSchedule taints mirror the node's conditions."""
        if self.stopped:
            return
        node = self._nodes.lister().get(None, name)
        if node is None:
            return
        wanted = []
        for item in (node.get("status") or {}).get("conditions") or []:
            key = CONDITION_TAINTS.get((item.get("type"), item.get("status")))
            if key is not None:
                wanted.append(key)
        if (node.get("spec") or {}).get("unschedulable"):
            wanted.append(TAINT_UNSCHEDULABLE)
        present = {
            t.get("key")
            for t in taints_of(node)
            if t.get("effect") == NO_SCHEDULE and t.get("key") in CONDITION_TAINT_KEYS
        }
        if present == set(wanted):
            return
        answer = self.connection.request("get", "nodes", name=name)
        if not answer.ok:
            if answer.code == 404:
                return
            raise RuntimeError(f"cannot read node {name}: {answer.reason}")
        fresh = answer.body
        kept = [
            t
            for t in taints_of(fresh)
            if not (t.get("effect") == NO_SCHEDULE and t.get("key") in CONDITION_TAINT_KEYS)
            or t.get("key") in wanted
        ]
        have = {t.get("key") for t in kept if t.get("effect") == NO_SCHEDULE}
        kept += [{"key": key, "effect": NO_SCHEDULE} for key in wanted if key not in have]
        fresh.setdefault("spec", {})["taints"] = kept
        if not kept:
            fresh["spec"].pop("taints")
        answer = self.connection.request("update", "nodes", name=name, body=fresh)
        if not answer.ok and answer.code != 404:
            raise RuntimeError(f"cannot taint node {name}: {answer.reason}")

    def _node_event(self, node: Manifest, reason: str, message: str) -> None:
        name = node["metadata"]["name"]
        self.recorder.event(node, NORMAL, reason, f"Node {name} event: {message}")


# ---------------------------------------------------------------------- taint eviction


@attrs.frozen
class ScheduledEviction:
    created: float  # when the controller first saw the pod due for eviction
    fire_at: float  # when it deletes the pod
    handle: Handle | None  # the loop callback (None once it has run)


@attrs.define(eq=False)
class TaintEvictionController:
    """kube-controller-manager's taint-eviction-controller (NoExecute taints)."""

    connection: Any
    loop: EventLoop
    recorder: Any
    watch_latency: float = 0.1
    _informers: Any = attrs.field(init=False, default=None)
    _nodes: Any = attrs.field(init=False, default=None)
    _pods: Any = attrs.field(init=False, default=None)
    # pod key -> its scheduled eviction; an entry whose handle is None has run
    # (TimedWorkerQueue keeps it so that the pod is not evicted twice).
    _scheduled: dict[str, ScheduledEviction] = attrs.field(init=False, factory=dict)
    # node name -> its NoExecute taints as last seen (taintedNodes).
    _tainted: dict[str, list[Manifest]] = attrs.field(init=False, factory=dict)
    _retries: dict[str, Handle] = attrs.field(init=False, factory=dict)  # pod key -> retry
    stopped: bool = attrs.field(init=False, default=False)
    errors: list[str] = attrs.field(init=False, factory=list)  # the latest handler failures

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._nodes = self._informers.informer("nodes")
        self._pods = self._informers.informer("pods")
        self._nodes.add_handler(
            on_add=lambda node: self._guarded(self._node_changed, node),
            on_update=lambda old, new: self._guarded(self._node_changed, new),
            on_delete=lambda node: self._guarded(self._node_changed, node, deleted=True),
        )
        self._pods.add_handler(
            on_add=lambda pod: self._guarded(self._process_pod, pod),
            on_update=lambda old, new: self._guarded(self._process_pod, new),
            on_delete=lambda pod: self._guarded(self._cancel, pod_key(pod)),
        )
        self._informers.start()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        for entry in self._scheduled.values():
            if entry.handle is not None:
                self.loop.cancel(entry.handle)
        for handle in self._retries.values():
            self.loop.cancel(handle)
        self._retries.clear()

    def _guarded(self, handler, *args, **kwargs) -> None:
        """Run an informer handler; an error is recorded, never raised into the loop."""
        try:
            handler(*args, **kwargs)
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            del self.errors[:-100]

    def eviction_delay(self, pod: Manifest, taints: list[Manifest]) -> float | None:
        """Seconds until ``pod`` is evicted from a node with these NoExecute taints
        (0: at once; None: never). The one decision a mutant overrides."""
        return eviction_delay((pod.get("spec") or {}).get("tolerations") or [], taints)

    def _node_changed(self, node: Manifest, deleted: bool = False) -> None:
        if self.stopped:
            return
        name = node["metadata"]["name"]
        taints = [] if deleted else no_execute_taints(node)
        if taints:
            self._tainted[name] = taints
        else:
            self._tainted.pop(name, None)
        for pod in self._pods.lister().list():
            if (pod.get("spec") or {}).get("nodeName") == name:
                self._process_pod(pod)

    def _process_pod(self, pod: Manifest) -> None:
        """processPodOnNode."""
        if self.stopped:
            return
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return
        key = pod_key(pod)
        taints = self._tainted.get(node_name) or []
        if not taints:
            self._cancel(key)
            return
        delay = self.eviction_delay(pod, taints)
        if delay is None:
            self._cancel(key)
            return
        now = self.loop.now
        if delay == 0:
            self._cancel(key)  # not all tolerated: delete right away
            self._add_work(key, now, now)
            return
        existing = self._scheduled.get(key)
        created = now
        if existing is not None and existing.handle is not None:
            created = existing.created
            if created + delay < now + delay:
                return  # the eviction scheduled first stands
            self._cancel(key)
        self._add_work(key, created, now + delay)

    def _add_work(self, key: str, created: float, fire_at: float) -> None:
        """TimedWorkerQueue.AddWork: a key already present (even evicted) is skipped."""
        if key in self._scheduled:
            return
        handle = self.loop.call_at(fire_at, lambda: self._evict(key))
        self._scheduled[key] = ScheduledEviction(created, fire_at, handle)

    def _cancel(self, key: str) -> None:
        entry = self._scheduled.pop(key, None)
        retry = self._retries.pop(key, None)
        if retry is not None:
            self.loop.cancel(retry)
        if entry is None:
            return
        if entry.handle is not None:
            self.loop.cancel(entry.handle)
        namespace, _, name = key.partition("/")
        ref = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"namespace": namespace, "name": name},
        }
        self.recorder.event(
            ref, NORMAL, "TaintManagerEviction", f"Cancelling deletion of Pod {key}"
        )

    def _evict(self, key: str) -> None:
        """deletePodHandler: the DisruptionTarget condition, then a delete."""
        entry = self._scheduled.get(key)
        if self.stopped or entry is None:
            return
        self._scheduled[key] = attrs.evolve(entry, handle=None)
        namespace, _, name = key.partition("/")
        pod = self._pods.lister().get(namespace, name) or {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"namespace": namespace, "name": name},
        }
        self.recorder.event(pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {key}")
        if not self._delete(namespace, name):
            self._scheduled.pop(key, None)
            self._retries[key] = self.loop.call_later(EVICTION_RETRY, lambda: self._retry(key))

    def _retry(self, key: str) -> None:
        self._retries.pop(key, None)
        namespace, _, name = key.partition("/")
        pod = self._pods.lister().get(namespace, name)
        if pod is not None and not self.stopped:
            self._process_pod(pod)

    def _delete(self, namespace: str, name: str) -> bool:
        stamp = self.loop.clock.timestamp()
        current = self.connection.request("get", "pods", namespace=namespace, name=name)
        if current.code == 404:
            return True
        if not current.ok:
            return False
        conditions = [
            c
            for c in (current.body.get("status") or {}).get("conditions") or []
            if c.get("type") != "DisruptionTarget"
        ]
        conditions.append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": DISRUPTION_REASON,
                "message": DISRUPTION_MESSAGE,
                "lastTransitionTime": stamp,
            }
        )
        patched = self.connection.request(
            "patch",
            "pods",
            namespace=namespace,
            name=name,
            subresource="status",
            body={"status": {"conditions": conditions}},
            params=MERGE_PATCH,
        )
        if not patched.ok and patched.code != 404:
            return False
        answer = self.connection.request("delete", "pods", namespace=namespace, name=name)
        return answer.ok or answer.code == 404
