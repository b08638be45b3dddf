"""A node lifecycle controller as a reconciler (protocol ``Reconciler``).

Run it:  kubeprop conform --sut python:examples.plugins.nodelifecycle:NodeLifecycleReconciler

It stands in for the node-monitor half of kube-controller-manager's
node-lifecycle-controller (cluster role ``nodelifecycle``; the deletion of pods
from tainted nodes is the taint eviction controller's, another role). The shell
calls ``reconcile((None, node_name), client)`` when the node changes, when a pod
bound to it or its Lease changes (the ``watches`` map functions) and again after
the seconds each call returns, so every node is looked at at least every
node-monitor-period. Each call:

1. health: the *probe instant* of a node is when this controller last saw its
   kubelet alive: the Ready condition's ``lastHeartbeatTime`` or the Lease's
   ``renewTime`` (``kube-node-lease/<node>``) changed, or the node was first
   seen. Once it is more than node-monitor-grace-period (50 s) old -- or
   node-startup-grace-period (60 s) for a node that never posted Ready -- the
   Ready, MemoryPressure, DiskPressure and PIDPressure conditions become Unknown
   (reason NodeStatusUnknown, "Kubelet stopped posting node status."; a
   condition never posted is added with NodeStatusNeverUpdated);
2. pods: when that turns Ready from True to not True, a NodeNotReady event on
   the node and every pod bound to it gets Ready False (a Warning NodeNotReady
   event each); a pod newly bound to a node that is not Ready gets the same;
3. NoExecute taints follow the Ready status the call *observed* (before its own
   update): Unknown -> ``node.kubernetes.io/unreachable``, False ->
   ``node.kubernetes.io/not-ready`` (each swapped for the other at once), True
   -> both removed at once. A new taint waits in its zone's queue, a token
   bucket of node-eviction-rate (0.1 nodes/s, burst 1);
4. zones: from every node's Ready condition a zone is FullDisruption (none
   Ready), PartialDisruption (more than 2 and at least 55 % not Ready) or
   Normal; a PartialDisruption zone taints at secondary-node-eviction-rate if it
   has more than 50 nodes, else not at all. When every zone is fully disrupted
   the NoExecute taints come off every node and tainting stops; when that ends
   every node's probe instant is reset to now;
5. NoSchedule taints mirror the conditions (not-ready, unreachable,
   memory-pressure, disk-pressure, pid-pressure, network-unavailable) and
   ``spec.unschedulable`` (unschedulable), at once.

What it remembers between calls (probe instants, the zone queues and states)
is its own, as upstream's nodeHealthMap and zone tainters are: a restarted
controller starts afresh and first removes the NoExecute taints of every node
it registers. Sources: https://kubernetes.io/docs/concepts/architecture/nodes/
(node controller, heartbeats, rate limits), https://kubernetes.io/docs/concepts/
scheduling-eviction/taint-and-toleration/ (taint based evictions, taint nodes
by condition), the kube-controller-manager flags
(https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/)
and, for the details, pkg/controller/nodelifecycle/node_lifecycle_controller.go
and pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go in
kubernetes/kubernetes release-1.35.
"""

from __future__ import annotations

import datetime
from typing import Any

Manifest = dict[str, Any]

# kube-controller-manager defaults (its flag reference; the 50 s grace period since v1.32,
# kubernetes/kubernetes#126287).
NODE_MONITOR_PERIOD = 5.0  # --node-monitor-period
NODE_MONITOR_GRACE_PERIOD = 50.0  # --node-monitor-grace-period
NODE_STARTUP_GRACE_PERIOD = 60.0  # --node-startup-grace-period
NODE_EVICTION_RATE = 0.1  # --node-eviction-rate (nodes per second, per zone)
SECONDARY_NODE_EVICTION_RATE = 0.01  # --secondary-node-eviction-rate
LARGE_CLUSTER_SIZE_THRESHOLD = 50  # --large-cluster-size-threshold
UNHEALTHY_ZONE_THRESHOLD = 0.55  # --unhealthy-zone-threshold
TAINT_RETRY = 0.1  # how soon a queued node looks again (upstream's taint pass runs every 100 ms)
UPDATE_RETRIES = 5  # NodeHealthUpdateRetry: tries of a node write that meets a conflict

LEASE_NAMESPACE = "kube-node-lease"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
EXCLUDE_DISRUPTION = "node.kubernetes.io/exclude-disruption"
# The conditions that go Unknown with a silent kubelet (NetworkUnavailable is not one).
MONITORED = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
# (condition, status) -> the NoSchedule taint that mirrors it (TaintNodesByCondition).
CONDITION_TAINTS = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
CONDITION_TAINT_KEYS = {*CONDITION_TAINTS.values(), UNSCHEDULABLE}
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
INITIAL, NORMAL, PARTIAL, FULL = "Initial", "Normal", "PartialDisruption", "FullDisruption"


# ---------------------------------------------------------------------- manifest facts


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def condition(obj: Manifest, kind: str) -> Manifest | None:
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind),
        None,
    )


def status_of(ready: Manifest | None) -> str | None:
    return None if ready is None else ready.get("status")


def taints(node: Manifest) -> list[Manifest]:
    return list((node.get("spec") or {}).get("taints") or [])


def has_taint(node: Manifest, key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints(node))


def instant(stamp: str | None) -> datetime.datetime | None:
    if not stamp:
        return None
    try:
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def stamp(now: datetime.datetime) -> str:
    """metav1.Time: RFC 3339 to the second."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_of(node: Manifest) -> str:
    """The zone key upstream groups nodes by: region and zone labels ("" without either)."""
    labels = meta(node).get("labels") or {}
    region = next((labels[k] for k in REGION_LABELS if labels.get(k)), "")
    zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def node_of_pod(pod: Manifest) -> list[tuple[None, str]]:
    """``watches`` map function: a pod wakes the node it is bound to."""
    node_name = (pod.get("spec") or {}).get("nodeName")
    return [(None, node_name)] if node_name else []


def node_of_lease(lease: Manifest) -> list[tuple[None, str]]:
    """``watches`` map function: a kubelet's Lease (kube-node-lease/<node>) wakes its node."""
    if meta(lease).get("namespace") != LEASE_NAMESPACE or not meta(lease).get("name"):
        return []
    return [(None, meta(lease)["name"])]


def api_error_code(error: Exception) -> int | None:
    """The HTTP code of a client ``ApiError`` (None for any other exception)."""
    code = getattr(error, "code", None)
    return code if isinstance(code, int) and hasattr(error, "status") else None


# ---------------------------------------------------------------------- zone taint queues


class ZoneQueue:
    """A zone's queue of nodes to taint NoExecute, rate limited (RateLimitedTimedQueue).

    ``members`` holds every node added and not removed since, tainted or still
    waiting in ``waiting``, so a node already handled is not queued again until
    it is removed (it became Ready, or lost its taint). The token bucket holds
    one token (burst 1) and refills at ``rate`` per second; rate 0 never gives one."""

    def __init__(self, rate: float, now: datetime.datetime) -> None:
        self.rate = rate
        self.token_at = now  # when the bucket next holds its token
        self.waiting: list[str] = []  # node names, first come first served
        self.members: set[str] = set()

    def add(self, name: str) -> None:
        if name not in self.members:
            self.members.add(name)
            self.waiting.append(name)

    def remove(self, name: str) -> None:
        self.members.discard(name)
        if name in self.waiting:
            self.waiting.remove(name)

    def has_token(self, now: datetime.datetime) -> bool:
        return self.rate > 0 and now >= self.token_at

    def take_token(self, now: datetime.datetime) -> bool:
        if not self.has_token(now):
            return False
        self.token_at = now + datetime.timedelta(seconds=1 / self.rate)
        return True

    def swap_rate(self, rate: float, now: datetime.datetime) -> None:
        """SwapLimiter: a new bucket at the new rate, drained if the old one was empty."""
        if rate == self.rate:
            return
        had_token = self.has_token(now)
        self.rate = rate
        if rate > 0:
            self.token_at = now if had_token else now + datetime.timedelta(seconds=1 / rate)


class Health:
    """What the controller last saw of one node (upstream's nodeHealthData)."""

    def __init__(
        self,
        probe: datetime.datetime,
        ready: Manifest | None,
        lease_renew: datetime.datetime | None = None,
    ) -> None:
        self.probe = probe  # when the kubelet was last seen alive
        self.ready = ready  # the node's Ready condition as last seen (None: never posted)
        self.lease_renew = lease_renew  # the Lease's renewTime as last seen


# ---------------------------------------------------------------------- the reconciler


class NodeLifecycleReconciler:
    """kubeprop.spec.contracts.Reconciler for v1 Nodes: health, NoExecute and NoSchedule
    taints, pods not ready (kube-controller-manager's node-lifecycle-controller)."""

    kind = "controller"
    role = "nodelifecycle"  # the cluster role it replaces (follows from resource, too)
    resource = "nodes"
    owns = ()  # it creates nothing; pods and Leases wake it through watches
    watches = {"pods": node_of_pod, "leases": node_of_lease}

    def __init__(
        self,
        node_monitor_period: float = NODE_MONITOR_PERIOD,
        node_monitor_grace_period: float = NODE_MONITOR_GRACE_PERIOD,
        node_startup_grace_period: float = NODE_STARTUP_GRACE_PERIOD,
        node_eviction_rate: float = NODE_EVICTION_RATE,
        secondary_node_eviction_rate: float = SECONDARY_NODE_EVICTION_RATE,
        large_cluster_size_threshold: int = LARGE_CLUSTER_SIZE_THRESHOLD,
        unhealthy_zone_threshold: float = UNHEALTHY_ZONE_THRESHOLD,
    ) -> None:
        self.node_monitor_period = node_monitor_period
        self.node_monitor_grace_period = node_monitor_grace_period
        self.node_startup_grace_period = node_startup_grace_period
        self.node_eviction_rate = node_eviction_rate
        self.secondary_node_eviction_rate = secondary_node_eviction_rate
        self.large_cluster_size_threshold = large_cluster_size_threshold
        self.unhealthy_zone_threshold = unhealthy_zone_threshold
        self.health: dict[str, Health] = {}  # node name -> what was last seen of it
        self.known: dict[str, str] = {}  # node name -> uid, of the nodes registered
        self.pods_seen: dict[str, set[str]] = {}  # node name -> uids of its pods already seen
        self.retry_pods: set[str] = set()  # nodes whose pods must still be marked not ready
        self.zone_states: dict[str, str] = {}  # zone -> its state at the last look
        self.zones: dict[str, ZoneQueue] = {}  # zone -> its NoExecute taint queue

    # ------------------------------------------------------------------ one call

    def reconcile(self, key: tuple[str | None, str], client) -> float | None:
        _, name = key
        now = client.now()
        node = client.get("nodes", None, name)
        if node is None:
            self.forget(name, client)
            self.watch_zones(client, now)
            return None
        if name not in self.known:
            node = self.register(node, client, now)
        seen = self.update_health(node, client, now)
        if seen is None:  # its status could not be written: look again next period
            return self.node_monitor_period
        node, observed, current = seen
        if current is not None:
            node = self.follow_ready_with_no_execute(node, observed, client, now)
            if observed == "True" and current != "True":  # this call turned it
                message = f"Node {name} status is now: NodeNotReady"
                client.event(node, "Normal", "NodeNotReady", message)
                self.mark_all_pods_not_ready(name, client, now)
            elif name in self.retry_pods and observed != "True":  # an earlier call failed
                self.mark_all_pods_not_ready(name, client, now)
            else:
                self.retry_pods.discard(name)
        self.mark_newly_bound_pods(name, client, now)
        self.mirror_conditions_with_no_schedule(name, client)
        self.watch_zones(client, now)
        wait = self.taint_if_due(name, client, now)
        return min(self.node_monitor_period, wait) if wait is not None else self.node_monitor_period

    def register(self, node: Manifest, client, now: datetime.datetime) -> Manifest:
        """A node seen for the first time: RegisteredNode, its zone, no NoExecute taint yet."""
        name = meta(node)["name"]
        self.known[name] = meta(node).get("uid", "")
        client.event(
            self.node_ref(name, self.known[name]),
            "Normal",
            "RegisteredNode",
            f"Node {name} event: Registered Node {name} in Controller",
        )
        zone = zone_of(node)
        if zone not in self.zone_states:
            self.zone_states[zone] = INITIAL
            self.zones[zone] = ZoneQueue(self.node_eviction_rate, now)
        # Pods already there were the kubelet's before this controller looked.
        self.pods_seen[name] = {meta(p).get("uid", "") for p in self.pods_on(name, client)}
        return self.mark_reachable(node, client, now)

    def forget(self, name: str, client) -> None:
        """The node is gone: RemovingNode, and nothing of it is kept."""
        if name in self.known:
            uid = self.known.pop(name)
            client.event(
                self.node_ref(name, uid),
                "Normal",
                "RemovingNode",
                f"Node {name} event: Removing Node {name} from Controller",
            )
        self.health.pop(name, None)
        self.pods_seen.pop(name, None)
        self.retry_pods.discard(name)
        for queue in self.zones.values():
            queue.remove(name)

    @staticmethod
    def node_ref(name: str, uid: str) -> Manifest:
        return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "uid": uid}}

    # ------------------------------------------------------------------ 1. health

    def grace_period(self, ready: Manifest | None) -> float:
        return self.node_startup_grace_period if ready is None else self.node_monitor_grace_period

    def update_health(self, node: Manifest, client, now: datetime.datetime):
        """(node, observed Ready status, current Ready status), with the conditions made
        Unknown once the probe instant is older than the grace period; a write that meets a
        conflict is tried again on a fresh read. None if the node is gone or cannot be
        written."""
        for _ in range(UPDATE_RETRIES):
            try:
                return self.try_update_health(node, client, now)
            except Exception as error:
                if api_error_code(error) is None:
                    raise
            node = client.get("nodes", None, meta(node)["name"])
            if node is None:
                return None
        return None

    def try_update_health(self, node: Manifest, client, now: datetime.datetime):
        name = meta(node)["name"]
        ready = condition(node, "Ready")
        saved = self.health.get(name)
        if ready is None:
            # Never posted: judged from its creation (when first seen), with the startup grace.
            created = meta(node).get("creationTimestamp")
            observed = {"type": "Ready", "status": "Unknown", "lastHeartbeatTime": created}
            if saved is None:
                saved = Health(instant(created) or now, None)
            saved.ready = None
        else:
            observed = dict(ready)  # as it was before this call changes anything
            if saved is None or saved.ready is None:
                saved = Health(now, dict(ready))  # first seen, or its first Ready condition
            elif saved.ready.get("lastHeartbeatTime") != ready.get("lastHeartbeatTime"):
                saved = Health(now, dict(ready), saved.lease_renew)  # a heartbeat: alive now
        lease = client.get("leases", LEASE_NAMESPACE, name)
        renewed = instant(((lease or {}).get("spec") or {}).get("renewTime"))
        if renewed is not None and (saved.lease_renew is None or saved.lease_renew < renewed):
            saved.lease_renew, saved.probe = renewed, now  # a Lease renewal: alive now
        self.health[name] = saved
        if now <= saved.probe + datetime.timedelta(seconds=self.grace_period(ready)):
            return node, status_of(observed), status_of(ready)
        self.set_unknown(node, now)
        current = condition(node, "Ready")
        if current != observed:
            node = client.update_status("nodes", node)
            current = condition(node, "Ready")
            saved.ready = dict(current) if current is not None else None
        return node, status_of(observed), status_of(current)

    @staticmethod
    def set_unknown(node: Manifest, now: datetime.datetime) -> None:
        conditions = node.setdefault("status", {}).setdefault("conditions", [])
        for kind in MONITORED:
            found = condition(node, kind)
            if found is None:
                conditions.append(
                    {
                        "type": kind,
                        "status": "Unknown",
                        "reason": "NodeStatusNeverUpdated",
                        "message": "Kubelet never posted node status.",
                        "lastHeartbeatTime": meta(node).get("creationTimestamp"),
                        "lastTransitionTime": stamp(now),
                    }
                )
            elif found.get("status") != "Unknown":
                found.update(
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    lastTransitionTime=stamp(now),
                )

    # ------------------------------------------------------------------ 2. pods

    @staticmethod
    def pods_on(name: str, client) -> list[Manifest]:
        return [p for p in client.list("pods") if (p.get("spec") or {}).get("nodeName") == name]

    @staticmethod
    def mark_pods_not_ready(pods: list[Manifest], client, now: datetime.datetime) -> set[str]:
        """MarkPodsNotReady: each pod's Ready condition to False (a Warning NodeNotReady
        event each); the uids of the pods it could not write (a pod gone needs nothing)."""
        failed = set()
        for pod in pods:
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            ready.update(status="False", lastTransitionTime=stamp(now))
            try:
                written = client.update_status("pods", pod)
            except Exception as error:
                if api_error_code(error) is None:
                    raise
                if api_error_code(error) != 404:
                    failed.add(meta(pod).get("uid", ""))
                continue
            client.event(written, "Warning", "NodeNotReady", "Node is not ready")
        return failed

    def mark_all_pods_not_ready(self, name: str, client, now: datetime.datetime) -> None:
        if self.mark_pods_not_ready(self.pods_on(name, client), client, now):
            self.retry_pods.add(name)  # a write failed: the next call tries again
        else:
            self.retry_pods.discard(name)

    def mark_newly_bound_pods(self, name: str, client, now: datetime.datetime) -> None:
        """A pod newly bound to a node whose Ready condition (as last seen) is not True is
        not ready either (upstream's processPod); one that could not be written stays new."""
        pods = self.pods_on(name, client)
        seen = self.pods_seen.setdefault(name, set())
        new = [p for p in pods if meta(p).get("uid", "") not in seen]
        health = self.health.get(name)
        ready = status_of(health.ready) if health is not None else None
        failed = set()
        if new and ready is not None and ready != "True":
            failed = self.mark_pods_not_ready(new, client, now)
        self.pods_seen[name] = {meta(p).get("uid", "") for p in pods} - failed

    # ------------------------------------------------------------------ 3. NoExecute taints

    def follow_ready_with_no_execute(
        self, node: Manifest, observed: str | None, client, now: datetime.datetime
    ) -> Manifest:
        """processTaintBaseEviction on the Ready status this call observed."""
        wanted, other = {
            "False": (NOT_READY, UNREACHABLE),
            "Unknown": (UNREACHABLE, NOT_READY),
        }.get(observed, (None, None))
        if observed == "True":
            return self.mark_reachable(node, client, now)
        if wanted is None:
            return node
        if has_taint(node, other, "NoExecute"):  # the other one: swapped at once
            return self.swap_no_execute(node, wanted, other, client, now) or node
        queue = self.zone_queue(zone_of(node), now)
        if not has_taint(node, wanted, "NoExecute"):
            queue.remove(meta(node)["name"])  # lost its taint: queue it again
        queue.add(meta(node)["name"])
        return node

    def mark_reachable(self, node: Manifest, client, now: datetime.datetime) -> Manifest:
        name = meta(node)["name"]
        self.zone_queue(zone_of(node), now).remove(name)
        if has_taint(node, UNREACHABLE, "NoExecute") or has_taint(node, NOT_READY, "NoExecute"):
            return self.swap_no_execute(node, None, None, client, now) or node
        return node

    def taint_if_due(self, name: str, client, now: datetime.datetime) -> float | None:
        """The node's turn in its zone's queue: taint it when it is first in line and the
        bucket has a token. Returns the seconds to wait for its turn (None: not queued)."""
        node = client.get("nodes", None, name)
        if node is None:
            return None
        queue = self.zone_queue(zone_of(node), now)
        if name not in queue.waiting:
            return None
        if queue.waiting[0] != name or not queue.take_token(now):
            if queue.rate <= 0:
                return None  # tainting is stopped: the periodic look is enough
            return max(TAINT_RETRY, (queue.token_at - now).total_seconds())
        status = status_of(condition(node, "Ready"))
        if status not in ("False", "Unknown"):  # Ready again (or never posted): nothing to do
            queue.waiting.remove(name)
            return None
        wanted, other = (NOT_READY, UNREACHABLE) if status == "False" else (UNREACHABLE, NOT_READY)
        if self.swap_no_execute(node, wanted, other, client, now) is None:
            return TAINT_RETRY  # stays first in line: tried again soon
        queue.waiting.remove(name)
        return None

    def swap_no_execute(
        self, node: Manifest, add: str | None, remove: str | None, client, now
    ) -> Manifest | None:
        """Add the NoExecute taint ``add`` (with timeAdded) and remove ``remove`` -- or, with
        neither, remove both of this controller's -- on a fresh read of the node."""
        doomed = {remove} if add is not None else {NOT_READY, UNREACHABLE}

        def change(current: Manifest) -> list[Manifest]:
            kept = [
                t
                for t in taints(current)
                if not (t.get("key") in doomed and t.get("effect") == "NoExecute")
            ]
            if add is not None and not any(
                t.get("key") == add and t.get("effect") == "NoExecute" for t in kept
            ):
                kept.append({"key": add, "effect": "NoExecute", "timeAdded": stamp(now)})
            return kept

        return self.update_taints(meta(node)["name"], change, client)

    @staticmethod
    def update_taints(name: str, change, client) -> Manifest | None:
        """Write the taints ``change(node)`` to the node, again on a fresh read after a conflict; the
        node as stored, or None when it is gone or cannot be written."""
        for _ in range(UPDATE_RETRIES):
            node = client.get("nodes", None, name)
            if node is None:
                return None
            wanted = change(node)
            if wanted == taints(node):
                return node
            spec = dict(node.get("spec") or {})
            spec["taints"] = wanted
            if not wanted:
                del spec["taints"]
            try:
                return client.update("nodes", {**node, "spec": spec})
            except Exception as error:
                if api_error_code(error) not in (404, 409):
                    raise
        return None

    # ------------------------------------------------------------------ 4. zones

    def zone_queue(self, zone: str, now: datetime.datetime) -> ZoneQueue:
        if zone not in self.zones:
            self.zones[zone] = ZoneQueue(self.node_eviction_rate, now)
        return self.zones[zone]

    def zone_state(self, ready: list[str | None]) -> str:
        not_ready = sum(1 for status in ready if status != "True")
        if not_ready and not_ready == len(ready):
            return FULL
        if not_ready > 2 and not_ready / len(ready) >= self.unhealthy_zone_threshold:
            return PARTIAL
        return NORMAL

    def zone_rate(self, size: int, state: str) -> float:
        if state == PARTIAL:
            return (
                self.secondary_node_eviction_rate
                if size > self.large_cluster_size_threshold
                else 0.0
            )
        return self.node_eviction_rate  # Normal, and FullDisruption of one zone among others

    def watch_zones(self, client, now: datetime.datetime) -> None:
        """handleDisruption: each zone's taint rate follows its state; a cluster where no
        zone has a Ready node is not tainted at all."""
        nodes = client.list("nodes")
        ready_by_zone: dict[str, list[str | None]] = {}
        for node in nodes:
            if EXCLUDE_DISRUPTION not in (meta(node).get("labels") or {}):
                ready_by_zone.setdefault(zone_of(node), []).append(
                    status_of(condition(node, "Ready"))
                )
        states = {zone: self.zone_state(ready) for zone, ready in ready_by_zone.items()}
        for zone in [z for z in self.zone_states if z not in states]:
            del self.zone_states[zone]
        for zone in states:
            self.zone_states.setdefault(zone, INITIAL)
        all_full = all(state == FULL for state in states.values())
        was_full = all(state == FULL for state in self.zone_states.values())
        if all_full and was_full:
            return
        if all_full:  # entering: the control plane, not the nodes, is likely at fault
            for node in nodes:
                self.mark_reachable(node, client, now)
            for zone in self.zone_states:
                self.zone_queue(zone, now).swap_rate(0.0, now)
                self.zone_states[zone] = FULL
            return
        if was_full:  # leaving: every kubelet gets a fresh grace period
            for health in self.health.values():
                health.probe = now
        for zone, state in states.items():
            if was_full or self.zone_states[zone] != state:
                rate = self.zone_rate(len(ready_by_zone[zone]), state)
                self.zone_queue(zone, now).swap_rate(rate, now)
                self.zone_states[zone] = state

    # ------------------------------------------------------------------ 5. NoSchedule taints

    def mirror_conditions_with_no_schedule(self, name: str, client) -> None:
        """doNoScheduleTaintingPass: the NoSchedule taints of conditions and cordoning."""

        def change(node: Manifest) -> list[Manifest]:
            wanted = [
                key
                for c in (node.get("status") or {}).get("conditions") or []
                if (key := CONDITION_TAINTS.get((c.get("type"), c.get("status")))) is not None
            ]
            if (node.get("spec") or {}).get("unschedulable"):
                wanted.append(UNSCHEDULABLE)
            kept = [
                t
                for t in taints(node)
                if t.get("effect") != "NoSchedule"
                or t.get("key") not in CONDITION_TAINT_KEYS
                or t.get("key") in wanted
            ]
            present = {t.get("key") for t in kept if t.get("effect") == "NoSchedule"}
            return kept + [{"key": k, "effect": "NoSchedule"} for k in wanted if k not in present]

        self.update_taints(name, change, client)
