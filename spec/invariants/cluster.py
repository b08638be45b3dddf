"""The whole cluster's invariants (spec/cluster.md): what users of Kubernetes rely on end to end.

Contract: every predicate is pure over manifests (camelCase dicts as the API
server lists them) and small records the suite kept of its own history
(which node a pod was first bound to, the replicas a workload asked for
lately, which containers a fault killed, which machines are up). Safety
invariants hold after every step of a history; liveness invariants hold once
the faults are healed and the cluster was given its settle time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from kubeprop.spec.api.quantity import Quantity
from kubeprop.spec.api.taints import tolerated
from kubeprop.spec.invariants import VACUOUS, Outcome, holds_if, invariant, violated

Manifest = dict[str, Any]

NODES = "https://kubernetes.io/docs/concepts/architecture/nodes/"
RESOURCES = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-scheduled"
ASSIGN = "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/"
CONCURRENCY = "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions"
ROLLING = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment"
MAX_SURGE = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge"
MAX_UNAVAILABLE = (
    "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-unavailable"
)
DEPLOYMENT = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"
RESTART_POLICY = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy"
TAINT_EVICTION = "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions"
NODE_STATUS = "https://kubernetes.io/docs/reference/node/node-status/#condition"

UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
# Default surge and unavailability of a RollingUpdate Deployment.
DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"


# ---------------------------------------------------------------------- helpers


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def key(obj: Manifest) -> str:
    m = meta(obj)
    return f"{m.get('namespace')}/{m.get('name')}" if m.get("namespace") else str(m.get("name"))


def is_terminal(pod: Manifest) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: Manifest) -> bool:
    """Counted by controllers: not being deleted and not finished."""
    return not meta(pod).get("deletionTimestamp") and not is_terminal(pod)


def condition(obj: Manifest, kind: str) -> str | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item.get("status")
    return None


def is_ready(pod: Manifest) -> bool:
    return condition(pod, "Ready") == "True"


def controller_uid(obj: Manifest) -> str | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def pod_requests(pod: Manifest) -> dict[str, Fraction]:
    """What a pod asks of its node: the larger of its containers' sum and any init container."""
    spec = pod.get("spec") or {}

    def amounts(containers: Iterable[Manifest]) -> Iterable[dict[str, Fraction]]:
        for container in containers:
            requests = (container.get("resources") or {}).get("requests") or {}
            yield {name: Quantity.parse(str(value)).amount for name, value in requests.items()}

    total: dict[str, Fraction] = {}
    for item in amounts(spec.get("containers") or []):
        for name, value in item.items():
            total[name] = total.get(name, Fraction(0)) + value
    for item in amounts(spec.get("initContainers") or []):
        for name, value in item.items():
            total[name] = max(total.get(name, Fraction(0)), value)
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, Fraction(0)) + Quantity.parse(str(value)).amount
    return total


def allocatable(node: Manifest) -> dict[str, Fraction]:
    status = node.get("status") or {}
    values = status.get("allocatable") or status.get("capacity") or {}
    return {name: Quantity.parse(str(value)).amount for name, value in values.items()}


def resolve_fenceposts(deployment: Manifest, replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as absolute numbers: surge rounds up, unavailable down.

    Both zero is not allowed; upstream then makes maxUnavailable 1.
    """
    spec = deployment.get("spec") or {}
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", DEFAULT_MAX_SURGE), replicas, math.ceil)
    unavailable = _scaled(
        rolling.get("maxUnavailable", DEFAULT_MAX_UNAVAILABLE), replicas, math.floor
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _scaled(value: int | str, replicas: int, rounding) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return int(rounding(Fraction(int(value[:-1]) * replicas, 100)))
    return int(value)


def replicas_of(obj: Manifest) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _images(spec: Manifest) -> list[str]:
    return [c.get("image") for c in spec.get("containers") or []]


# ---------------------------------------------------------------------- safety


@invariant(
    "CLUSTER-NODE-NOT-OVERCOMMITTED",
    component="cluster",
    kind="safety",
    statement=(
        "The requests of the unfinished pods bound to a node never exceed its allocatable "
        "resources, and their number never exceeds its pods capacity."
    ),
    source=RESOURCES,
)
def node_not_overcommitted(nodes: Sequence[Manifest], pods: Sequence[Manifest]) -> Outcome:
    by_node: dict[str, list[Manifest]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and not is_terminal(pod):
            by_node.setdefault(node, []).append(pod)
    problems = []
    for node in nodes:
        name = meta(node).get("name")
        limit = allocatable(node)
        bound = by_node.get(name, [])
        used: dict[str, Fraction] = {}
        for pod in bound:
            for resource, amount in pod_requests(pod).items():
                used[resource] = used.get(resource, Fraction(0)) + amount
        for resource, amount in sorted(used.items()):
            if resource in limit and amount > limit[resource]:
                problems.append(f"node {name}: {resource} requested {amount} > {limit[resource]}")
        if "pods" in limit and len(bound) > limit["pods"]:
            problems.append(f"node {name}: {len(bound)} pods > {limit['pods']}")
    return holds_if(problems, checked=sum(len(v) for v in by_node.values()))


@invariant(
    "CLUSTER-POD-BOUND-ONCE",
    component="cluster",
    kind="safety",
    statement=(
        "A pod is bound to a node at most once: once spec.nodeName is set it never changes "
        "and is never cleared (pods do not move; controllers replace them)."
    ),
    source=ASSIGN,
)
def pod_bound_once(first_bound: Mapping[str, str], pods: Sequence[Manifest]) -> Outcome:
    """``first_bound`` maps a pod uid to the node it was seen bound to first."""
    problems = []
    checked = 0
    for pod in pods:
        uid = meta(pod).get("uid")
        if uid not in first_bound:
            continue
        checked += 1
        node = (pod.get("spec") or {}).get("nodeName")
        if node != first_bound[uid]:
            problems.append(f"pod {key(pod)} was bound to {first_bound[uid]}, now to {node!r}")
    return holds_if(problems, checked=checked)


@invariant(
    "CLUSTER-RESOURCE-VERSION-MONOTONIC",
    component="cluster",
    kind="safety",
    statement=(
        "Every change of an object gives it a higher resourceVersion: what a client sees of "
        "one object never goes back to an older version."
    ),
    source=CONCURRENCY,
)
def resource_version_monotonic(seen: Mapping[str, int], objects: Sequence[Manifest]) -> Outcome:
    """``seen`` maps an object uid to the highest resourceVersion observed before."""
    problems = []
    checked = 0
    for obj in objects:
        uid = meta(obj).get("uid")
        if uid not in seen:
            continue
        checked += 1
        version = int(meta(obj).get("resourceVersion") or 0)
        if version < seen[uid]:
            problems.append(f"{key(obj)}: resourceVersion {version} after {seen[uid]}")
    return holds_if(problems, checked=checked)


@invariant(
    "CLUSTER-ROLLOUT-MAX-SURGE",
    component="cluster",
    kind="safety",
    statement=(
        "A ReplicaSet never owns more active pods than it may: replicas + maxSurge of its "
        "Deployment, or its own replicas, taking the largest replicas asked for within the "
        "controllers' reaction time."
    ),
    source=MAX_SURGE,
)
def rollout_max_surge(
    deployments: Sequence[Manifest],
    replicasets: Sequence[Manifest],
    pods: Sequence[Manifest],
    recent_replicas: Mapping[str, int],
) -> Outcome:
    """``recent_replicas`` maps a Deployment's or ReplicaSet's uid to the largest
    spec.replicas it had within the reaction time (its current value if absent)."""
    by_uid = {meta(d).get("uid"): d for d in deployments}
    owned: dict[str, int] = {}
    for pod in pods:
        owner = controller_uid(pod)
        if owner and is_active(pod):
            owned[owner] = owned.get(owner, 0) + 1
    problems = []
    checked = 0
    for rs in replicasets:
        uid = meta(rs).get("uid")
        count = owned.get(uid, 0)
        parent = by_uid.get(controller_uid(rs))
        if parent is not None:
            replicas = recent_replicas.get(meta(parent).get("uid"), replicas_of(parent))
            surge, _ = resolve_fenceposts(parent, replicas)
            bound, why = replicas + surge, f"deployment {key(parent)} replicas + maxSurge"
        else:
            bound = recent_replicas.get(uid, replicas_of(rs))
            why = "its replicas"
        if count:
            checked += 1
        if count > bound:
            problems.append(f"replicaset {key(rs)} owns {count} active pods > {bound} ({why})")
    return holds_if(problems, checked=checked)


def available_by_deployment(
    replicasets: Sequence[Manifest], pods: Sequence[Manifest]
) -> dict[str, int]:
    """Deployment uid -> its active Ready pods (owned by one of its ReplicaSets)."""
    rs_owner = {meta(rs).get("uid"): controller_uid(rs) for rs in replicasets}
    available: dict[str, int] = {}
    for pod in pods:
        deployment = rs_owner.get(controller_uid(pod))
        if deployment and is_active(pod) and is_ready(pod):
            available[deployment] = available.get(deployment, 0) + 1
    return available


@invariant(
    "CLUSTER-ROLLOUT-MIN-AVAILABLE",
    component="cluster",
    kind="safety",
    statement=(
        "While nothing fails, a Deployment that was fully available keeps at least "
        "replicas - maxUnavailable pods available through any rollout."
    ),
    source=MAX_UNAVAILABLE,
)
def rollout_min_available(
    deployments: Sequence[Manifest],
    replicasets: Sequence[Manifest],
    pods: Sequence[Manifest],
    guarded: Iterable[str],
) -> Outcome:
    """``guarded`` holds the uids of the Deployments the rule applies to now: seen fully
    available at their current replicas, in a history with no fault, pod deletion or
    node removal so far."""
    guarded = set(guarded)
    available = available_by_deployment(replicasets, pods)
    problems = []
    checked = 0
    for deployment in deployments:
        uid = meta(deployment).get("uid")
        if uid not in guarded:
            continue
        checked += 1
        replicas = replicas_of(deployment)
        _, unavailable = resolve_fenceposts(deployment, replicas)
        floor = replicas - unavailable
        if available.get(uid, 0) < floor:
            problems.append(
                f"deployment {key(deployment)}: {available.get(uid, 0)} available pods < "
                f"{replicas} replicas - {unavailable} maxUnavailable"
            )
    return holds_if(problems, checked=checked)


def _tolerations(pod: Manifest) -> list[Manifest]:
    return (pod.get("spec") or {}).get("tolerations") or []


def untolerated(pod: Manifest, node: Manifest) -> list[str]:
    """The node's NoSchedule/NoExecute taints the pod does not tolerate, as key=value:effect."""
    found = []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerated(
            _tolerations(pod), taint
        ):
            found.append(f"{taint.get('key')}={taint.get('value') or ''}:{taint.get('effect')}")
    return found


@invariant(
    "CLUSTER-TAINTS-RESPECTED",
    component="cluster",
    kind="safety",
    statement=(
        "A pod is never bound to a node that had, throughout the time it was bound, a "
        "NoSchedule or NoExecute taint the pod does not tolerate."
    ),
    source="https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/",
)
def taints_respected(
    newly_bound: Iterable[str],
    pods: Sequence[Manifest],
    nodes_before: Sequence[Manifest],
    nodes_now: Sequence[Manifest],
    keys: Iterable[str],
) -> Outcome:
    """``newly_bound`` holds the uids of pods bound since the previous observation;
    ``nodes_before`` / ``nodes_now`` are the nodes then and now; only taints with a key in
    ``keys`` (those set by users, which nothing else adds or removes) are judged."""
    newly_bound, keys = set(newly_bound), set(keys)
    before = {meta(n).get("name"): n for n in nodes_before}
    now = {meta(n).get("name"): n for n in nodes_now}
    problems = []
    checked = 0
    for pod in pods:
        if meta(pod).get("uid") not in newly_bound:
            continue
        checked += 1
        name = (pod.get("spec") or {}).get("nodeName")
        if name not in before or name not in now:
            continue
        then = {t for t in untolerated(pod, before[name]) if t.split("=")[0] in keys}
        still = {t for t in untolerated(pod, now[name]) if t.split("=")[0] in keys}
        for taint in sorted(then & still):
            problems.append(f"pod {key(pod)} was bound to {name} despite its taint {taint}")
    return holds_if(problems, checked=checked)


# ---------------------------------------------------------------------- liveness


# Node lifecycle: a zone with more than 2 not-Ready nodes making up at least 55% of it
# is in partial disruption; with no Ready node, in full disruption. A small zone (at
# most 50 nodes) in partial disruption, and every zone when all are fully disrupted,
# gets no taint-based evictions (--unhealthy-zone-threshold,
# --large-cluster-size-threshold).
UNHEALTHY_ZONE_THRESHOLD = 0.55
LARGE_CLUSTER_SIZE_THRESHOLD = 50
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
ZONES = "https://kubernetes.io/docs/concepts/architecture/nodes/#rate-limits-on-eviction"


def zone_of(node: Manifest) -> tuple[str, str]:
    labels = meta(node).get("labels") or {}
    return labels.get(REGION_LABEL, ""), labels.get(ZONE_LABEL, "")


def zones_without_eviction(nodes: Sequence[Manifest]) -> set[tuple[str, str]]:
    """The zones whose pods the node lifecycle controller does not evict now."""
    members: dict[tuple[str, str], list[Manifest]] = {}
    for node in nodes:
        members.setdefault(zone_of(node), []).append(node)
    states = {}
    for zone, group in members.items():
        not_ready = sum(1 for n in group if condition(n, "Ready") != "True")
        if not_ready == len(group):
            states[zone] = "full"
        elif not_ready > 2 and not_ready / len(group) >= UNHEALTHY_ZONE_THRESHOLD:
            states[zone] = "partial"
        else:
            states[zone] = "normal"
    if states and all(state == "full" for state in states.values()):
        return set(states)
    return {
        zone
        for zone, state in states.items()
        if state == "full"
        or (state == "partial" and len(members[zone]) <= LARGE_CLUSTER_SIZE_THRESHOLD)
    }


def _live_ready_nodes(nodes: Sequence[Manifest], live: Iterable[str]) -> dict[str, Manifest]:
    live = set(live)
    return {
        meta(n).get("name"): n
        for n in nodes
        if meta(n).get("name") in live and condition(n, "Ready") == "True"
    }


@invariant(
    "CLUSTER-DEPLOYMENT-CONVERGES",
    component="cluster",
    kind="liveness",
    statement=(
        "Once faults are healed and the cluster has settled, each Deployment has exactly "
        "replicas active pods, all Running and Ready, running its current template's "
        "images, on live Ready nodes."
    ),
    source=DEPLOYMENT,
)
def deployment_converges(
    deployments: Sequence[Manifest],
    replicasets: Sequence[Manifest],
    pods: Sequence[Manifest],
    nodes: Sequence[Manifest],
    live: Iterable[str],
) -> Outcome:
    """``live`` names the machines that are up and connected to the API server.

    Vacuous when the live Ready nodes that would take the Deployments' pods
    (schedulable, no taint the template does not tolerate) have no room for all
    their replicas together."""
    ready_nodes = _live_ready_nodes(nodes, live)
    if not deployments or not _room_for(deployments, ready_nodes.values()):
        return VACUOUS
    rs_owner = {meta(rs).get("uid"): controller_uid(rs) for rs in replicasets}
    sheltered = zones_without_eviction(nodes)
    stranded = {meta(n).get("name") for n in nodes if zone_of(n) in sheltered} - set(live)
    if any(
        (p.get("spec") or {}).get("nodeName") in stranded and is_active(p)
        for p in pods
        if rs_owner.get(controller_uid(p))
    ):
        return VACUOUS  # its pods on a dead node of a disrupted zone are never evicted
    problems = []
    judged = 0
    for deployment in deployments:
        uid = meta(deployment).get("uid")
        if _recreate_waits_forever(deployment, pods, rs_owner, ready_nodes):
            continue
        judged += 1
        want = _images((deployment.get("spec") or {}).get("template", {}).get("spec") or {})
        mine = [p for p in pods if rs_owner.get(controller_uid(p)) == uid and is_active(p)]
        replicas = replicas_of(deployment)
        if len(mine) != replicas:
            problems.append(
                f"deployment {key(deployment)}: {len(mine)} active pods, want {replicas}"
            )
        for pod in mine:
            where = (pod.get("spec") or {}).get("nodeName")
            phase = (pod.get("status") or {}).get("phase")
            if _images(pod.get("spec") or {}) != want:
                problems.append(
                    f"pod {key(pod)} runs {_images(pod.get('spec') or {})}, want {want}"
                )
            elif where not in ready_nodes:
                problems.append(f"pod {key(pod)} is on {where!r}, not a live Ready node")
            elif phase != "Running" or not is_ready(pod):
                problems.append(f"pod {key(pod)} is {phase}, Ready={condition(pod, 'Ready')}")
    return holds_if(problems, checked=judged)


def _recreate_waits_forever(
    deployment: Manifest,
    pods: Sequence[Manifest],
    rs_owner: Mapping[str, str | None],
    ready_nodes: Mapping[str, Manifest],
) -> bool:
    """A Recreate Deployment starts new pods only once none of its pods runs: a pod on a
    dead node stays Running (Terminating) until someone force-deletes it, so it waits."""
    if ((deployment.get("spec") or {}).get("strategy") or {}).get("type") != "Recreate":
        return False
    uid = meta(deployment).get("uid")
    return any(
        rs_owner.get(controller_uid(p)) == uid
        and not is_terminal(p)
        and (p.get("spec") or {}).get("nodeName")
        and (p.get("spec") or {}).get("nodeName") not in ready_nodes
        for p in pods
    )


def _room_for(deployments: Sequence[Manifest], nodes: Iterable[Manifest]) -> bool:
    """Whether the nodes can hold every replica of the Deployments at once, with surge."""
    nodes = list(nodes)
    need = 0
    room = 0
    for deployment in deployments:
        template = (deployment.get("spec") or {}).get("template") or {}
        pod = {"metadata": {}, "spec": template.get("spec") or {}}
        requests = pod_requests(pod)
        surge, _ = resolve_fenceposts(deployment, replicas_of(deployment))
        need += replicas_of(deployment) + surge  # a rollout may need its surge to progress
        fit = 0
        for node in nodes:
            if not fits(pod, node, []):
                continue
            limit = allocatable(node)
            counts = [int(limit.get("pods", 110))]
            counts += [int(limit[r] // a) for r, a in requests.items() if a > 0 and r in limit]
            fit += min(counts)
        room = fit if not room else min(room, fit)
    return room >= need


@attrs.frozen
class Kill:
    """A container the suite killed (a fault), and its restart count just before."""

    pod_uid: str
    container: str
    restart_count: int


@invariant(
    "CLUSTER-CONTAINERS-RESTARTED",
    component="cluster",
    kind="liveness",
    statement=(
        "A container killed by a fault, in a pod with restartPolicy Always that is not being "
        "deleted and is bound to a live node, is running again with a higher restartCount "
        "once the cluster settled (the pod does not fail)."
    ),
    source=RESTART_POLICY,
)
def containers_restarted(
    kills: Sequence[Kill], pods: Sequence[Manifest], live: Iterable[str]
) -> Outcome:
    live = set(live)
    by_uid = {meta(p).get("uid"): p for p in pods}
    problems = []
    checked = 0
    for kill in kills:
        pod = by_uid.get(kill.pod_uid)
        if pod is None or meta(pod).get("deletionTimestamp"):
            continue  # gone or going: nothing to restart (a Failed pod is not excused)
        if (pod.get("spec") or {}).get("restartPolicy", "Always") != "Always":
            continue
        if (pod.get("spec") or {}).get("nodeName") not in live:
            continue
        checked += 1
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        status = next((s for s in statuses if s.get("name") == kill.container), None)
        if status is None or "running" not in (status.get("state") or {}):
            problems.append(f"pod {key(pod)}: container {kill.container} not running again")
        elif int(status.get("restartCount") or 0) <= kill.restart_count:
            problems.append(
                f"pod {key(pod)}: container {kill.container} restartCount "
                f"{status.get('restartCount')} not above {kill.restart_count}"
            )
    return holds_if(problems, checked=checked)


@invariant(
    "CLUSTER-DEAD-NODE-PODS-EVICTED",
    component="cluster",
    kind="liveness",
    statement=(
        "Once a dead node's grace period and its pods' tolerationSeconds have passed, the "
        "node is Ready=Unknown with the unreachable NoExecute taint and none of its pods "
        "is still active (controllers replace them elsewhere)."
    ),
    source=TAINT_EVICTION,
)
def dead_node_pods_evicted(
    nodes: Sequence[Manifest], pods: Sequence[Manifest], dead: Iterable[str]
) -> Outcome:
    """``dead`` names machines down since before the settle time began. Nodes in a zone
    the controller does not evict in (a disrupted zone) are not judged."""
    sheltered = zones_without_eviction(nodes)
    dead = {meta(n).get("name") for n in nodes if zone_of(n) not in sheltered} & set(dead)
    problems = []
    checked = 0
    for node in nodes:
        name = meta(node).get("name")
        if name not in dead:
            continue
        checked += 1
        if condition(node, "Ready") != "Unknown":
            problems.append(f"node {name}: Ready={condition(node, 'Ready')}, want Unknown")
        taints = (node.get("spec") or {}).get("taints") or []
        if not any(
            t.get("key") == UNREACHABLE_TAINT and t.get("effect") == "NoExecute" for t in taints
        ):
            problems.append(f"node {name}: no {UNREACHABLE_TAINT}:NoExecute taint")
    for pod in pods:
        on_dead = (pod.get("spec") or {}).get("nodeName") in dead
        if on_dead and is_active(pod) and controller_uid(pod) is not None:
            problems.append(
                f"pod {key(pod)} is still active on dead node {pod['spec']['nodeName']}"
            )
    return holds_if(problems, checked=checked)


def fits(pod: Manifest, node: Manifest, pods_on_node: Sequence[Manifest]) -> bool:
    """Whether the scheduler could place ``pod`` on ``node`` (resources, taints, cordon,
    nodeSelector)."""
    if (node.get("spec") or {}).get("unschedulable") or untolerated(pod, node):
        return False
    labels = meta(node).get("labels") or {}
    for label, value in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(label) != value:
            return False
    limit = allocatable(node)
    used: dict[str, Fraction] = {}
    for other in pods_on_node:
        if not is_terminal(other):
            for resource, amount in pod_requests(other).items():
                used[resource] = used.get(resource, Fraction(0)) + amount
    for resource, amount in pod_requests(pod).items():
        if resource in limit and used.get(resource, Fraction(0)) + amount > limit[resource]:
            return False
    return (
        "pods" not in limit or len([p for p in pods_on_node if not is_terminal(p)]) < limit["pods"]
    )


@invariant(
    "CLUSTER-PENDING-PODS-PLACED",
    component="cluster",
    kind="liveness",
    statement=(
        "Once the cluster has settled, no active pod is left unscheduled while a live Ready "
        "node could take it (capacity that appeared is used)."
    ),
    source=ASSIGN,
)
def pending_pods_placed(
    nodes: Sequence[Manifest], pods: Sequence[Manifest], live: Iterable[str]
) -> Outcome:
    ready_nodes = _live_ready_nodes(nodes, live)
    on_node: dict[str, list[Manifest]] = {}
    for pod in pods:
        on_node.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
    pending = [p for p in on_node.get("", []) if is_active(p)]
    problems = []
    for pod in pending:
        room = [n for n, node in sorted(ready_nodes.items()) if fits(pod, node, on_node.get(n, []))]
        if room:
            problems.append(f"pod {key(pod)} is unscheduled though {room[0]} could take it")
    return holds_if(problems, checked=len(pending))


@invariant(
    "CLUSTER-NODE-READY-MATCHES-HOST",
    component="cluster",
    kind="liveness",
    statement=(
        "Once settled, a node whose machine is up and connected is Ready=True, and a "
        "registered node whose machine is down or cut off is Ready=Unknown."
    ),
    source=NODE_STATUS,
)
def node_ready_matches_host(
    nodes: Sequence[Manifest], live: Iterable[str], down: Iterable[str]
) -> Outcome:
    live, down = set(live), set(down)
    problems = []
    for node in nodes:
        name = meta(node).get("name")
        ready = condition(node, "Ready")
        if name in live and ready != "True":
            problems.append(f"node {name} is up and connected but Ready={ready}")
        if name in down and ready != "Unknown":
            problems.append(f"node {name} is down or cut off but Ready={ready}")
    return holds_if(problems, checked=len(nodes))


@invariant(
    "CLUSTER-SETTLES",
    component="cluster",
    kind="liveness",
    statement=(
        "Once faults are healed, every liveness rule of spec/cluster.md holds within the "
        "settle bound, and still holds 30 s later."
    ),
    source=NODES,
)
def settles(settled: bool, waited: float, bound: float) -> Outcome:
    if settled:
        return Outcome(ok=True)
    return violated(f"still changing after {waited:.0f} s (bound {bound:.0f} s)")
