"""Invariants of node lifecycle, taint-based eviction and pod GC (spec/nodelifecycle.md).

Contract: every predicate is pure over what a suite recorded: node and pod
manifests as stored (camelCase dicts), instants in simulated seconds, the
history of a node's NoExecute taints as ``TaintChange`` values (every stored
state of the node, in order, with the instant it was written), and the
deletes a controller sent (``PodDelete``). Timestamps inside manifests have
second precision (RFC 3339), so a predicate reading one allows the second it
was rounded down by. ``latency`` is the most a controller's informer lags the
store (a few watch poll intervals). None of them talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.spec.api.taints import tolerates
from kubeprop.spec.api.times import seconds
from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated

NODES = "https://kubernetes.io/docs/concepts/architecture/nodes/"
NODE_STATUS = "https://kubernetes.io/docs/concepts/architecture/nodes/#node-status"
HEARTBEATS = "https://kubernetes.io/docs/concepts/architecture/nodes/#node-heartbeats"
NODE_CONTROLLER = "https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller"
TAINT_EVICTION = "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions"
CONDITION_TAINTS = "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-nodes-by-condition"
POD_GC = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection"
NODE_LIFECYCLE_CODE = (
    "https://github.com/kubernetes/kubernetes/blob/v1.35.0/pkg/controller/nodelifecycle/"
    "node_lifecycle_controller.go"
)
KCM_FLAGS = (
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/"
)

DEFAULT_TOLERATIONS = (
    "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/"
    "#defaulttolerationseconds"
)
# DefaultTolerationSeconds: the taints a new pod tolerates for 300 s unless it already does.
DEFAULT_TOLERATION_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
DEFAULT_TOLERATION_SECONDS = 300
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
EPSILON = 1e-6

Manifest = Mapping[str, Any]


def condition(obj: Manifest | None, kind: str) -> Manifest | None:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def no_execute(taints: Iterable[Manifest]) -> tuple[Manifest, ...]:
    return tuple(t for t in taints if t.get("effect") == "NoExecute")


def _name(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta.get("name"))


def eviction_delay(tolerations: Sequence[Manifest], taints: Sequence[Manifest]) -> float | None:
    """How long a pod may stay on a node with these NoExecute taints: 0 if one is not
    tolerated, else the least tolerationSeconds of the first toleration matching each
    taint (negative counts as 0), None (forever) if none of them sets it."""
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return 0.0
        used.append(match)
    limits = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
    return float(max(0, min(limits))) if limits else None


@attrs.frozen
class TaintChange:
    """A stored state of a node: its NoExecute taints from ``at`` on (None: node deleted)."""

    at: float
    taints: tuple[Manifest, ...] | None


@attrs.frozen
class PodDelete:
    """One delete of a pod a controller sent, with what the store held at that instant."""

    at: float
    pod: Manifest  # the pod just before the delete
    grace: int | None  # the request's gracePeriodSeconds
    node: Manifest | None  # the pod's node just before the delete (None: absent)
    node_absent_since: float | None  # since when no node of that name has existed
    terminated_pods: int  # pods in phase Succeeded or Failed at that instant


def taints_at(history: Sequence[TaintChange], at: float) -> tuple[Manifest, ...]:
    current: tuple[Manifest, ...] = ()
    for change in history:
        if change.at > at + EPSILON:
            break
        current = change.taints or ()
    return current


def tainted_since(history: Sequence[TaintChange], at: float) -> float | None:
    """The start of the unbroken run of NoExecute-tainted states that holds at ``at``."""
    start = None
    for change in history:
        if change.at > at + EPSILON:
            break
        if change.taints:
            start = change.at if start is None else start
        else:
            start = None
    return start


def unchanged_since(history: Sequence[TaintChange], at: float) -> float:
    """When the node's NoExecute taints last changed, as of ``at``."""
    since, last = 0.0, None
    for change in history:
        if change.at > at + EPSILON:
            break
        key = sorted((t.get("key"), t.get("value"), t.get("effect")) for t in change.taints or ())
        if key != last:
            since, last = change.at, key
    return since


def _tolerates_default(tolerations: Sequence[Any], key: str) -> bool:
    return any(
        isinstance(t, Mapping)
        and t.get("key") in (None, "", key)
        and t.get("effect") in (None, "", "NoExecute")
        for t in tolerations
    )


@invariant(
    "NODELIFECYCLE-DEFAULT-TOLERATIONS",
    component="nodelifecycle",
    kind="contract",
    statement=(
        "A pod created without a NoExecute toleration of node.kubernetes.io/not-ready "
        "(node.kubernetes.io/unreachable) gets one, operator Exists, tolerationSeconds 300, "
        "after its own tolerations; a pod that has one gets nothing added."
    ),
    source=DEFAULT_TOLERATIONS,
)
def default_tolerations(exchange: Any) -> Outcome:
    """``exchange``: a recorded request and answer (verb, resource, ok, sent, body)."""
    if exchange.verb != "create" or exchange.resource != "pods" or not exchange.ok:
        return VACUOUS
    sent = ((exchange.sent or {}).get("spec") or {}).get("tolerations") or []
    stored = ((exchange.body or {}).get("spec") or {}).get("tolerations") or []
    expected = [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
        }
        for key in DEFAULT_TOLERATION_TAINTS
        if not _tolerates_default(sent, key)
    ]
    if len(stored) != len(sent) + len(expected) or list(stored[len(sent) :]) != expected:
        return violated(
            f"pod created with tolerations {sent} was stored with {stored}; want {expected} added"
        )
    return HOLDS


# ---------------------------------------------------------------------- node health


@invariant(
    "NODELIFECYCLE-UNKNOWN-IN-TIME",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "A node whose kubelet has neither renewed its Lease nor posted its Ready condition for "
        "nodeMonitorGracePeriod plus two nodeMonitorPeriods (and the watch latency) has Ready, "
        "MemoryPressure, DiskPressure and PIDPressure Unknown, Ready with reason "
        "NodeStatusUnknown and message 'Kubelet stopped posting node status.'."
    ),
    source=HEARTBEATS,
)
def unknown_in_time(
    node: Manifest, silent_since: float, now: float, grace: float, period: float, latency: float
) -> Outcome:
    if now < silent_since + grace + 2 * period + latency or condition(node, "Ready") is None:
        return holds_if([], checked=0)
    problems = []
    for kind in MONITORED_CONDITIONS:
        found = condition(node, kind)
        if found is not None and found.get("status") != "Unknown":
            problems.append(f"{kind} is {found.get('status')}")
    ready = condition(node, "Ready") or {}
    if ready.get("status") == "Unknown" and (
        ready.get("reason") != "NodeStatusUnknown"
        or ready.get("message") != "Kubelet stopped posting node status."
    ):
        problems.append(
            f"Ready Unknown with reason {ready.get('reason')!r}: {ready.get('message')!r}"
        )
    where = f"node {_name(node)} silent since {silent_since:g}s, now {now:g}s: "
    return holds_if([where + p for p in problems])


@invariant(
    "NODELIFECYCLE-NEVER-UPDATED",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "A node whose kubelet has never posted its status, registered more than "
        "nodeStartupGracePeriod plus two nodeMonitorPeriods (and the watch latency) ago, has "
        "Ready, MemoryPressure, DiskPressure and PIDPressure Unknown with reason "
        "NodeStatusNeverUpdated and message 'Kubelet never posted node status.'."
    ),
    source=NODE_LIFECYCLE_CODE,
)
def never_updated(
    node: Manifest, created: float, now: float, grace: float, period: float, latency: float
) -> Outcome:
    if now < created + grace + 2 * period + latency:
        return holds_if([], checked=0)
    problems = []
    for kind in MONITORED_CONDITIONS:
        found = condition(node, kind)
        if found is None:
            problems.append(f"{kind} is missing")
        elif (
            found.get("status") != "Unknown"
            or found.get("reason") != "NodeStatusNeverUpdated"
            or found.get("message") != "Kubelet never posted node status."
        ):
            problems.append(
                f"{kind} is {found.get('status')} ({found.get('reason')}: {found.get('message')!r})"
            )
    where = f"node {_name(node)} registered at {created:g}s and never posted, now {now:g}s: "
    return holds_if([where + p for p in problems])


@invariant(
    "NODELIFECYCLE-UNKNOWN-NOT-EARLY",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "The node controller turns a node's Ready condition Unknown only after its kubelet has "
        "neither renewed its Lease nor posted its status for nodeMonitorGracePeriod."
    ),
    source=HEARTBEATS,
)
def unknown_not_early(
    node: Manifest, renewals: Sequence[float], grace: float, latency: float
) -> Outcome:
    ready = condition(node, "Ready")
    if ready is None or ready.get("reason") != "NodeStatusUnknown":
        return holds_if([], checked=0)
    turned = seconds(ready.get("lastTransitionTime")) or 0.0
    # turned is rounded down: the transition happened in [turned, turned + 1).
    early = [r for r in renewals if turned + 1 - grace <= r <= turned - latency]
    return holds_if(
        [
            f"node {_name(node)} turned Unknown at {turned:g}s though its kubelet "
            f"renewed at {early[-1]:g}s (grace {grace:g}s)"
        ]
        if early
        else []
    )


@invariant(
    "NODELIFECYCLE-PODS-NOT-READY",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "Once the node controller has turned a node's Ready condition from True to Unknown, no "
        "pod bound to that node has a Ready condition that is True."
    ),
    source=NODE_CONTROLLER,
)
def pods_not_ready(
    nodes: Sequence[Manifest],
    pods: Sequence[Manifest],
    was_ready: Iterable[str],
    now: float,
    latency: float,
) -> Outcome:
    """``was_ready``: the nodes whose Ready condition was True when it was turned Unknown
    (a node that was already False had its pods left to its kubelet)."""
    was_ready = set(was_ready)
    unknown = {}
    for node in nodes:
        if node["metadata"]["name"] not in was_ready:
            continue
        ready = condition(node, "Ready") or {}
        turned = seconds(ready.get("lastTransitionTime"))
        if (
            ready.get("reason") == "NodeStatusUnknown"
            and turned is not None
            and turned + 1 + latency <= now
        ):
            unknown[node["metadata"]["name"]] = turned
    problems = []
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        ready = condition(pod, "Ready")
        if node_name in unknown and ready is not None and ready.get("status") == "True":
            problems.append(
                f"pod {_name(pod)} is Ready on node {node_name}, Unknown since {unknown[node_name]:g}s"
            )
    return holds_if(problems, checked=len(unknown))


# ---------------------------------------------------------------------- taints


def zone_of(node: Manifest) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get("topology.kubernetes.io/zone", "")


def zone_states(nodes: Sequence[Manifest], threshold: float = 0.55) -> dict[str, str]:
    """Each zone's state as the node controller computes it from Ready conditions."""
    zones: dict[str, list[bool]] = {}
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if "node.kubernetes.io/exclude-disruption" in labels:
            continue
        ready = (condition(node, "Ready") or {}).get("status") == "True"
        zones.setdefault(zone_of(node), []).append(ready)
    states = {}
    for zone, ready in zones.items():
        not_ready = ready.count(False)
        if not_ready == len(ready):
            states[zone] = "FullDisruption"
        elif not_ready > 2 and not_ready / len(ready) >= threshold:
            states[zone] = "PartialDisruption"
        else:
            states[zone] = "Normal"
    return states


@invariant(
    "NODELIFECYCLE-READY-TAINTS",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "A node whose Ready condition has been True for a monitor period carries neither "
        "NoExecute taint node.kubernetes.io/not-ready nor node.kubernetes.io/unreachable; in a "
        "zone in Normal state, once Ready has been Unknown (False) long enough for the zone's "
        "taint rate, it carries unreachable (not-ready) and not the other; when every zone is "
        "in FullDisruption no node carries either."
    ),
    source=TAINT_EVICTION,
)
def ready_taints(
    nodes: Sequence[Manifest],
    quiet_since: float,
    now: float,
    period: float,
    latency: float,
    rate: float = 0.1,
) -> Outcome:
    states = zone_states(nodes)
    all_full = bool(states) and all(s == "FullDisruption" for s in states.values())
    sizes: dict[str, int] = {}
    for node in nodes:
        sizes[zone_of(node)] = sizes.get(zone_of(node), 0) + 1
    problems, checked = [], 0
    for node in nodes:
        name = node["metadata"]["name"]
        ready = condition(node, "Ready") or {}
        status = ready.get("status")
        since = seconds(ready.get("lastTransitionTime"))
        keys = {t.get("key") for t in no_execute((node.get("spec") or {}).get("taints") or [])}
        controller_keys = keys & {TAINT_NOT_READY, TAINT_UNREACHABLE}
        if since is None:
            continue
        if status == "True" and since + 1 + period + latency <= now:
            checked += 1
            if controller_keys:
                problems.append(
                    f"node {name} Ready since {since:g}s still has {sorted(controller_keys)}"
                )
            continue
        window = 2 * period + latency + 1 + sizes[zone_of(node)] / rate
        if status not in ("False", "Unknown") or max(since, quiet_since) + window > now:
            continue
        checked += 1
        state = states.get(zone_of(node), "Normal")
        if all_full:
            if controller_keys:
                problems.append(
                    f"node {name}: every zone is fully disrupted, yet it has {sorted(controller_keys)}"
                )
            continue
        if state != "Normal":
            # A PartialDisruption zone of at most 50 nodes is not tainted; a FullDisruption
            # zone is, at the normal rate, unless a cluster-wide disruption stopped it
            # (its rate stays 0 until its state changes), which this rule does not model.
            continue
        wanted = TAINT_UNREACHABLE if status == "Unknown" else TAINT_NOT_READY
        if controller_keys != {wanted}:
            problems.append(
                f"node {name} Ready {status} since {since:g}s has NoExecute {sorted(controller_keys)}, not [{wanted}]"
            )
    return holds_if(problems, checked=checked)


# ---------------------------------------------------------------------- taint eviction


@invariant(
    "NODELIFECYCLE-EVICT-NOT-EARLY",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "The taint eviction controller deletes a pod only while its node has a NoExecute taint "
        "the pod does not tolerate, or at least N seconds after the node's NoExecute taints "
        "(all tolerated, the least tolerationSeconds of the tolerations used being N) appeared "
        "or the pod was created; a pod tolerating them forever is never deleted."
    ),
    source=TAINT_EVICTION,
)
def evict_not_early(
    at: float,
    pod: Manifest,
    history: Sequence[TaintChange],
    latency: float,
) -> Outcome:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    created = seconds((pod.get("metadata") or {}).get("creationTimestamp")) or 0.0
    views = [at - latency] + [c.at for c in history if at - latency < c.at <= at + EPSILON]
    for view in views:
        taints = no_execute(taints_at(history, view))
        if not taints:
            continue
        if eviction_delay(tolerations, taints) == 0:
            return holds_if([])
        start = tainted_since(history, view)
        if start is None:
            continue
        for change in history:
            if change.at < start - EPSILON or change.at > view + EPSILON:
                continue
            delay = eviction_delay(tolerations, no_execute(change.taints or ()))
            # creationTimestamp is rounded down: the pod may be up to a second younger.
            if delay is not None and max(change.at, created) + delay <= at + 1 + EPSILON:
                return holds_if([])
    shown = [
        (c.at, [t.get("key") for t in c.taints or ()]) for c in history if c.at <= at + EPSILON
    ]
    return holds_if(
        [
            f"pod {_name(pod)} evicted at {at:g}s; tolerations {tolerations}; node taints {shown[-4:]}"
        ]
    )


@invariant(
    "NODELIFECYCLE-EVICT-IN-TIME",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "A pod on a node whose NoExecute taints it does not tolerate is deleted at once; one "
        "that tolerates them for at most N seconds is deleted within N seconds (and the watch "
        "latency) of the taints appearing on an untainted node, or of its creation if later."
    ),
    source=TAINT_EVICTION,
)
def evict_in_time(
    pods: Sequence[Manifest],
    histories: Mapping[str, Sequence[TaintChange]],
    evicted: Iterable[str],
    now: float,
    latency: float,
) -> Outcome:
    evicted = set(evicted)
    problems, checked = [], 0
    for pod in pods:
        meta = pod.get("metadata") or {}
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or meta.get("deletionTimestamp") or _name(pod) in evicted:
            continue
        history = histories.get(node_name) or ()
        taints = no_execute(taints_at(history, now))
        if not taints:
            continue
        delay = eviction_delay((pod.get("spec") or {}).get("tolerations") or [], taints)
        if delay is None:
            continue
        created = (seconds(meta.get("creationTimestamp")) or 0.0) + 1
        if delay == 0:
            start = unchanged_since(history, now)
        else:
            start = tainted_since(history, now)
            if start is None or unchanged_since(history, now) > start + EPSILON:
                continue  # the set changed while tainted: the first deadline may stand
        checked += 1
        due = max(start, created) + delay + latency
        if now >= due:
            problems.append(
                f"pod {_name(pod)} on {node_name} still not deleted at {now:g}s, due at {due:g}s "
                f"(taints {[t.get('key') for t in taints]})"
            )
    return holds_if(problems, checked=checked)


# ---------------------------------------------------------------------- pod GC


@invariant(
    "NODELIFECYCLE-PODGC-ORPHANS",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "A pod bound to a node that has not existed, since the pod's creation, for the 40 s "
        "quarantine plus two 20 s pod GC periods (and the watch latency) is gone."
    ),
    source=POD_GC,
)
def podgc_orphans(
    pods: Sequence[Manifest],
    absent_since: Mapping[str, float],
    now: float,
    quarantine: float,
    period: float,
    latency: float,
) -> Outcome:
    problems, checked = [], 0
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name in absent_since:
            checked += 1
            created = seconds((pod.get("metadata") or {}).get("creationTimestamp")) or 0.0
            since = max(absent_since[node_name], created + 1)  # rounded down to the second
            due = since + quarantine + 2 * period + latency
            if now >= due:
                problems.append(
                    f"pod {_name(pod)} on node {node_name}, gone since {absent_since[node_name]:g}s, is still there at {now:g}s"
                )
    return holds_if(problems, checked=checked)


@invariant(
    "NODELIFECYCLE-PODGC-JUSTIFIED",
    component="nodelifecycle",
    kind="safety",
    statement=(
        "The pod garbage collector deletes a pod only with gracePeriodSeconds 0 and only when "
        "its node has not existed for the 40 s quarantine, it is terminating on a not-Ready "
        "node tainted node.kubernetes.io/out-of-service, it is terminating and unscheduled, or "
        "it is terminated and the terminated pods exceed the threshold."
    ),
    source=POD_GC,
)
def podgc_justified(delete: PodDelete, quarantine: float, threshold: int) -> Outcome:
    pod = delete.pod
    meta = pod.get("metadata") or {}
    node_name = (pod.get("spec") or {}).get("nodeName")
    terminating = bool(meta.get("deletionTimestamp"))
    phase = (pod.get("status") or {}).get("phase")
    reasons = []
    if delete.grace != 0:
        return holds_if(
            [f"pod {_name(pod)} deleted with gracePeriodSeconds {delete.grace!r}, not 0"]
        )
    absent_for = None if delete.node_absent_since is None else delete.at - delete.node_absent_since
    if (
        node_name
        and delete.node is None
        and absent_for is not None
        and absent_for >= quarantine - EPSILON
    ):
        reasons.append("orphaned")
    if terminating and not node_name:
        reasons.append("unscheduled")
    if terminating and delete.node is not None:
        taints = (delete.node.get("spec") or {}).get("taints") or []
        ready = (condition(delete.node, "Ready") or {}).get("status")
        if ready != "True" and any(t.get("key") == TAINT_OUT_OF_SERVICE for t in taints):
            reasons.append("out-of-service")
    if phase in ("Succeeded", "Failed") and threshold > 0 and delete.terminated_pods > threshold:
        reasons.append("terminated")
    if reasons:
        return holds_if([])
    absent = (
        ""
        if delete.node_absent_since is None
        else f" (node absent since {delete.node_absent_since:g}s)"
    )
    return holds_if(
        [f"pod {_name(pod)} on {node_name!r} force-deleted at {delete.at:g}s without cause{absent}"]
    )
