"""Invariants of the scheduler (spec/scheduler.md).

Each predicate reads plain values: typed Pods and Nodes (kubeprop.spec.api), the
outcome of one scheduling cycle (any value with ``node_name``, ``filtered``
(node -> reasons), ``feasible``, ``scores`` (node -> plugin -> normalised
score) and ``totals`` (node -> weighted sum), such as the reference's
ScheduleResult), raw and normalised score maps, or queue observations. Their
oracles are written here, apart from kubeprop.reference.scheduler: toleration
matching, effective requests and normalisation are restated from the
Kubernetes documentation so that a broken scheduler cannot vouch for itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubeprop.spec.api.core import Node, Pod, Taint, Toleration
from kubeprop.spec.invariants import VACUOUS, Outcome, holds_if, invariant, violated

DOCS = "https://kubernetes.io/docs"
FRAMEWORK = f"{DOCS}/concepts/scheduling-eviction/scheduling-framework/"
KUBE_SCHEDULER = f"{DOCS}/concepts/scheduling-eviction/kube-scheduler/"
TAINTS = f"{DOCS}/concepts/scheduling-eviction/taint-and-toleration/"
ASSIGN = f"{DOCS}/concepts/scheduling-eviction/assign-pod-node/"
BIN_PACKING = f"{DOCS}/concepts/scheduling-eviction/resource-bin-packing/"
PRIORITY = f"{DOCS}/concepts/scheduling-eviction/pod-priority-preemption/"
SCHEDULER_CONFIG = f"{DOCS}/reference/config-api/kube-scheduler-config.v1/"
CORDON = f"{DOCS}/concepts/architecture/nodes/#manual-node-administration"

MAX_NODE_SCORE = 100


def _name(obj: Any) -> str:
    return (obj.metadata.name if obj is not None and obj.metadata else None) or ""


def _labels(node: Node) -> Mapping[str, str]:
    return (node.metadata.labels if node.metadata else None) or {}


def _tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Restated from the taints page: effect, key and (for Equal) value must agree."""
    if toleration.effect not in (None, "") and toleration.effect != taint.effect:
        return False
    if toleration.key not in (None, "") and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    return toleration.operator in (None, "", "Equal") and (toleration.value or "") == (
        taint.value or ""
    )


def _tolerations(pod: Pod) -> tuple[Toleration, ...]:
    return pod.spec.tolerations if pod.spec else ()


# -- one cycle -----------------------------------------------------------------------


@invariant(
    "SCHEDULER-FEASIBLE",
    component="scheduler",
    kind="contract",
    statement="The chosen node passed every filter: it is one of the snapshot's nodes, it is "
    "feasible and no filter rejected it; every node is either feasible or rejected with reasons, "
    "and a pod is left unscheduled only when no node is feasible.",
    source=FRAMEWORK,
)
def feasible(result: Any, node_names: Sequence[str]) -> Outcome:
    problems = []
    chosen = result.node_name
    filtered, feasible_nodes = dict(result.filtered), tuple(result.feasible)
    if chosen is not None:
        if chosen not in node_names:
            problems.append(f"chose {chosen!r}, which is not in the snapshot")
        if chosen in filtered:
            problems.append(f"chose {chosen!r}, which was rejected: {list(filtered[chosen])}")
        if feasible_nodes and chosen not in feasible_nodes:
            problems.append(f"chose {chosen!r}, which is not among the feasible nodes")
    both = set(filtered) & set(feasible_nodes)
    if both:
        problems.append(f"nodes both feasible and rejected: {sorted(both)}")
    for name, reasons in filtered.items():
        if not reasons:
            problems.append(f"node {name!r} was rejected without a reason")
    if chosen is None and feasible_nodes:
        problems.append(f"left unscheduled although {list(feasible_nodes)} are feasible")
    return holds_if(problems, checked=len(node_names))


@invariant(
    "SCHEDULER-BEST-TOTAL",
    component="scheduler",
    kind="contract",
    statement="A node's total is the sum of its normalised plugin scores times the plugins' "
    "weights, and the chosen node has the highest total among the feasible nodes.",
    source=KUBE_SCHEDULER,
)
def best_total(result: Any, weights: Mapping[str, int]) -> Outcome:
    totals = dict(result.totals)
    scores = dict(result.scores)
    if not scores:
        return VACUOUS
    problems = []
    for node, plugin_scores in scores.items():
        expected = sum(score * weights.get(plugin, 1) for plugin, score in plugin_scores.items())
        if totals.get(node) != expected:
            problems.append(f"node {node!r}: total {totals.get(node)} != weighted sum {expected}")
    if result.node_name is not None and totals:
        best = max(totals.values())
        if totals.get(result.node_name) != best:
            problems.append(
                f"chose {result.node_name!r} with total {totals.get(result.node_name)}, "
                f"but the highest total is {best}"
            )
    return holds_if(problems, checked=len(scores))


@invariant(
    "SCHEDULER-SCORE-RANGE",
    component="scheduler",
    kind="contract",
    statement="Every normalised plugin score lies in [0, 100].",
    source=FRAMEWORK,
)
def score_range(result: Any) -> Outcome:
    problems = [
        f"{plugin} gave node {node!r} {score}"
        for node, plugin_scores in dict(result.scores).items()
        for plugin, score in plugin_scores.items()
        if not 0 <= score <= MAX_NODE_SCORE
    ]
    return holds_if(problems, checked=len(result.scores))


@invariant(
    "SCHEDULER-NORMALIZE-TRUNCATES",
    component="scheduler",
    kind="contract",
    statement="Normalising raw scores gives score * 100 / highest with the quotient truncated "
    "(100 minus that when reversed); when every raw score is 0 they stay 0 (become 100 when "
    "reversed).",
    source=BIN_PACKING,
)
def normalize_truncates(
    raw: Mapping[str, int], reverse: bool, normalized: Mapping[str, int]
) -> Outcome:
    if not raw:
        return VACUOUS
    highest = max(raw.values())
    problems = []
    if set(raw) != set(normalized):
        problems.append(f"nodes {sorted(raw)} normalised as {sorted(normalized)}")
    for node, score in raw.items():
        if highest == 0:
            want = MAX_NODE_SCORE if reverse else score
        else:
            numerator = MAX_NODE_SCORE * score
            quotient = abs(numerator) // abs(highest)
            scaled = quotient if (numerator >= 0) == (highest > 0) else -quotient
            want = MAX_NODE_SCORE - scaled if reverse else scaled
        if normalized.get(node) != want:
            problems.append(
                f"node {node!r}: raw {score} of {highest} gave {normalized.get(node)}, not {want}"
            )
    return holds_if(problems, checked=len(raw))


@invariant(
    "SCHEDULER-TAINTS-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="A pod is placed only on a node whose NoSchedule and NoExecute taints it all "
    "tolerates.",
    source=TAINTS,
)
def taints_respected(pod: Pod, node: Node | None) -> Outcome:
    if node is None:
        return VACUOUS
    problems = [
        f"pod {_name(pod)!r} on node {_name(node)!r} does not tolerate taint "
        f"{taint.key}={taint.value or ''}:{taint.effect}"
        for taint in (node.spec.taints if node.spec else ())
        if taint.effect in ("NoSchedule", "NoExecute")
        and not any(_tolerates(t, taint) for t in _tolerations(pod))
    ]
    return holds_if(problems)


@invariant(
    "SCHEDULER-NODE-AFFINITY-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="A pod is placed only on a node carrying every label of its nodeSelector and "
    "matching one term of its required node affinity.",
    source=ASSIGN,
)
def node_affinity_respected(pod: Pod, node: Node | None) -> Outcome:
    if node is None or pod.spec is None:
        return VACUOUS
    labels = _labels(node)
    problems = [
        f"node {_name(node)!r} lacks nodeSelector label {key}={value}"
        for key, value in pod.spec.node_selector.items()
        if labels.get(key) != value
    ]
    affinity = pod.spec.affinity.node_affinity if pod.spec.affinity else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    if required is not None and not required.matches(labels, _name(node)):
        problems.append(f"node {_name(node)!r} matches no required node affinity term")
    return holds_if(problems)


@invariant(
    "SCHEDULER-CORDON-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="A pod is placed on a cordoned node (spec.unschedulable) only if it tolerates "
    "node.kubernetes.io/unschedulable:NoSchedule, and on the node its spec.nodeName names, "
    "if any.",
    source=CORDON,
)
def cordon_respected(pod: Pod, node: Node | None) -> Outcome:
    if node is None:
        return VACUOUS
    problems = []
    if _cordoned_for(pod, node):
        problems.append(f"pod {_name(pod)!r} placed on cordoned node {_name(node)!r}")
    wanted = pod.spec.node_name if pod.spec else None
    if wanted and wanted != _name(node):
        problems.append(f"pod {_name(pod)!r} asked for node {wanted!r}, got {_name(node)!r}")
    return holds_if(problems)


def _cordoned_for(pod: Pod, node: Node) -> bool:
    """The node is cordoned and the pod does not tolerate the unschedulable taint."""
    cordon = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
    tolerated = any(_tolerates(t, cordon) for t in _tolerations(pod))
    return bool(node.spec and node.spec.unschedulable) and not tolerated


# -- placements ------------------------------------------------------------------------------


def _units(resource: str, quantity: Any) -> int:
    return quantity.milli_value() if resource == "cpu" else quantity.value()


def _requests(container: Any) -> dict[str, int]:
    items = container.resources.requests if container.resources else {}
    return {name: _units(name, q) for name, q in items.items()}


def effective_requests(pod: Pod) -> dict[str, int]:
    """max(app containers + sidecars, the peak of any init step) + overhead, restated."""
    spec = pod.spec
    if spec is None:
        return {}
    total: dict[str, int] = {}
    for c in spec.containers:
        for name, value in _requests(c).items():
            total[name] = total.get(name, 0) + value
    sidecars: dict[str, int] = {}  # sidecars started so far: they keep running
    peak: dict[str, int] = {}  # the most any init step needs at once
    for c in spec.init_containers:
        own = _requests(c)
        if c.restart_policy == "Always":
            for name, value in own.items():
                sidecars[name] = sidecars.get(name, 0) + value
                total[name] = total.get(name, 0) + value
            step = dict(sidecars)
        else:
            step = {n: own.get(n, 0) + sidecars.get(n, 0) for n in set(own) | set(sidecars)}
        for name, value in step.items():
            peak[name] = max(peak.get(name, 0), value)
    for name, value in peak.items():
        total[name] = max(total.get(name, 0), value)
    for name, q in spec.overhead.items():
        total[name] = total.get(name, 0) + _units(name, q)
    return total


@invariant(
    "SCHEDULER-NO-OVERCOMMIT",
    component="scheduler",
    kind="safety",
    statement="For every node, the effective requests of the pods placed on it add up to at "
    "most its allocatable, for every resource it declares, and the number of its pods is at "
    "most its allocatable pods.",
    source=BIN_PACKING,
)
def no_overcommit(nodes: Iterable[Node], pods: Iterable[Pod]) -> Outcome:
    by_node: dict[str, list[Pod]] = {}
    for pod in pods:
        if pod.spec and pod.spec.node_name:
            by_node.setdefault(pod.spec.node_name, []).append(pod)
    problems, checked = [], 0
    for node in nodes:
        placed = by_node.get(_name(node), [])
        if not placed:
            continue
        checked += 1
        allocatable = node.status.allocatable if node.status else {}
        used: dict[str, int] = {}
        for pod in placed:
            for name, value in effective_requests(pod).items():
                used[name] = used.get(name, 0) + value
        for name, q in allocatable.items():
            have = _units(name, q)
            if name == "pods":
                if len(placed) > have:
                    problems.append(f"node {_name(node)!r} runs {len(placed)} pods, allows {have}")
            elif used.get(name, 0) > have:
                problems.append(
                    f"node {_name(node)!r}: {name} requested {used[name]} > allocatable {have}"
                )
    return holds_if(problems, checked=checked)


# -- the queue ------------------------------------------------------------------------------------


@invariant(
    "SCHEDULER-QUEUE-ORDER",
    component="scheduler",
    kind="contract",
    statement="The pod popped from the active queue has the highest priority among the pods "
    "in it, and the earliest enqueue time among those of that priority.",
    source=PRIORITY,
)
def queue_order(
    popped: tuple[str, int, float], active: Sequence[tuple[str, int, float]]
) -> Outcome:
    """``popped`` and each of ``active``: (key, priority, enqueue time) at the pop."""
    if not active:
        return VACUOUS
    key, priority, timestamp = popped
    problems = [
        f"popped {key!r} (priority {priority}, enqueued {timestamp}) before {other!r} "
        f"(priority {p}, enqueued {t})"
        for other, p, t in active
        if p > priority or (p == priority and t < timestamp)
    ]
    return holds_if(problems, checked=len(active))


@invariant(
    "SCHEDULER-BACKOFF",
    component="scheduler",
    kind="contract",
    statement="A pod whose scheduling attempt failed is not retried before its backoff, "
    "podInitialBackoffSeconds (1 s) doubled per further attempt up to podMaxBackoffSeconds "
    "(10 s), has passed since the failure; only a pod rejected by plugins (not one that failed "
    "with an error) may be retried sooner, and only when no other pod is ready.",
    source=SCHEDULER_CONFIG,
)
def backoff(
    popped_at: float,
    last_failure: float | None,
    attempts: int,
    *,
    error: bool = True,
    others_ready: int = 0,
    initial: float = 1.0,
    maximum: float = 10.0,
) -> Outcome:
    """``attempts``: the failed attempts before this pop; ``error``: the last one failed
    with an error; ``others_ready``: pods left in the active queue after this pop."""
    if last_failure is None or attempts < 1:
        return VACUOUS
    wait = min(initial * 2 ** (attempts - 1), maximum)
    if popped_at >= last_failure + wait:
        return holds_if([])
    if error:
        return violated(
            f"retried at {popped_at} after an error at {last_failure} on attempt {attempts}; "
            f"backoff {wait} s lasts until {last_failure + wait}"
        )
    if others_ready:
        return violated(
            f"retried at {popped_at}, before its backoff ends at {last_failure + wait}, "
            f"although {others_ready} other pod(s) were ready"
        )
    return holds_if([])


def _causes(pod: Pod, node: Node, placed: Sequence[Pod]) -> list[str]:
    """Every reason, restated from the documentation, why ``pod`` cannot run on ``node``."""
    causes = []
    spec = pod.spec
    if spec is None:
        return ["pod without spec"]
    if spec.node_name and spec.node_name != _name(node):
        causes.append("spec.nodeName names another node")
    if _cordoned_for(pod, node):
        causes.append("cordoned")
    if not taints_respected(pod, node).ok:
        causes.append("untolerated taint")
    if not node_affinity_respected(pod, node).ok:
        causes.append("node affinity/selector")
    allocatable = node.status.allocatable if node.status else {}
    have = {name: _units(name, q) for name, q in allocatable.items()}
    if len(placed) + 1 > have.get("pods", 0):
        causes.append("too many pods")
    used: dict[str, int] = {}
    for other in placed:
        for name, value in effective_requests(other).items():
            used[name] = used.get(name, 0) + value
    for name, value in effective_requests(pod).items():
        if name != "pods" and value > 0 and value > have.get(name, 0) - used.get(name, 0):
            causes.append(f"insufficient {name}")
    return causes


@invariant(
    "SCHEDULER-REJECTIONS-JUSTIFIED",
    component="scheduler",
    kind="contract",
    statement="A filter rejects a node only when the pod really cannot run there: it names "
    "another node, the node is cordoned, a taint is not tolerated, the node affinity or "
    "nodeSelector does not match, or a resource or the pod count would exceed allocatable.",
    source=FRAMEWORK,
)
def rejections_justified(
    pod: Pod, result: Any, nodes: Sequence[Node], placed: Sequence[Pod]
) -> Outcome:
    """``placed``: the pods already bound (spec.nodeName set) when the cycle ran."""
    filtered = dict(result.filtered)
    if not filtered:
        return VACUOUS
    by_node: dict[str, list[Pod]] = {}
    for other in placed:
        if other.spec and other.spec.node_name:
            by_node.setdefault(other.spec.node_name, []).append(other)
    problems = []
    for node in nodes:
        name = _name(node)
        if name in filtered and not _causes(pod, node, by_node.get(name, [])):
            problems.append(f"node {name!r} rejected ({list(filtered[name])}) but the pod fits")
    return holds_if(problems, checked=len(filtered))


# -- the scheduler as a component (spec/scheduler.md, section 5) ------------------------------

SCHEDULE_ONE = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/schedule_one.go"
)
ASSUME_CACHE = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/"
    "pkg/scheduler/backend/cache/interface.go"
)
POD_LIFECYCLE = f"{DOCS}/concepts/workloads/pods/pod-lifecycle/#pod-conditions"


@invariant(
    "SCHEDULER-BIND-FEASIBLE",
    component="scheduler",
    kind="safety",
    statement="The scheduler binds a pod only to a node of its own view on which the pod fits "
    "that view: not cordoned (unless tolerated), every NoSchedule/NoExecute taint tolerated, "
    "nodeSelector and required node affinity matched, and requests and the pod count within "
    "allocatable counting the pods bound there and the ones it has assumed.",
    source=FRAMEWORK,
)
def bind_feasible(
    pod: Pod, node_name: str, nodes: Sequence[Node], placed: Sequence[Pod]
) -> Outcome:
    """``nodes`` and ``placed`` (pods with spec.nodeName, assumed ones included): the
    scheduler's view when it sent the binding."""
    node = next((n for n in nodes if _name(n) == node_name), None)
    if node is None:
        return violated(f"pod {_name(pod)!r} bound to {node_name!r}, a node not in its view")
    on_node = [p for p in placed if p.spec and p.spec.node_name == node_name]
    causes = _causes(pod, node, on_node)
    if causes:
        return violated(f"pod {_name(pod)!r} bound to {node_name!r} although: {', '.join(causes)}")
    return holds_if([])


@invariant(
    "SCHEDULER-BOUND-ONCE",
    component="scheduler",
    kind="safety",
    statement="The scheduler sends at most one accepted binding per pod and never sends "
    "another binding for a pod once one was accepted.",
    source=SCHEDULE_ONE,
)
def bound_once(attempts: Sequence[tuple[str, str, bool]]) -> Outcome:
    """``attempts``: (pod uid, node, accepted) of every binding sent, in order."""
    accepted: dict[str, str] = {}
    problems = []
    for uid, node, ok in attempts:
        if uid in accepted:
            problems.append(
                f"pod {uid} bound to {accepted[uid]!r}, then a binding to {node!r} was sent"
            )
        elif ok:
            accepted[uid] = node
    return holds_if(problems, checked=len(attempts))


@invariant(
    "SCHEDULER-EVENTUALLY-BOUND",
    component="scheduler",
    kind="liveness",
    statement="Once nothing has changed for podMaxBackoffSeconds plus 5 s, no pending pod of "
    "the scheduler fits a node: every pod that some node can hold, given the pods bound there, "
    "has been bound.",
    source=KUBE_SCHEDULER,
)
def eventually_bound(
    pending: Sequence[Pod], nodes: Sequence[Node], bound: Sequence[Pod]
) -> Outcome:
    by_node: dict[str, list[Pod]] = {}
    for pod in bound:
        if pod.spec and pod.spec.node_name:
            by_node.setdefault(pod.spec.node_name, []).append(pod)
    problems = [
        f"pod {_name(pod)!r} is still pending although it fits node {_name(node)!r}"
        for pod in pending
        for node in nodes
        if not _causes(pod, node, by_node.get(_name(node), []))
    ]
    return holds_if(problems, checked=len(pending))


_FIT_ERROR = re.compile(r"^0/(\d+) nodes are available: .+\.( preemption: .+\.)?$")


def _condition(pod: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


@invariant(
    "SCHEDULER-FAILED-CONDITION",
    component="scheduler",
    kind="liveness",
    statement="Once settled, every pending pod of the scheduler has the condition PodScheduled "
    "False with reason Unschedulable and upstream's message '0/N nodes are available: ...' (N "
    "the number of nodes; reason SchedulerError for an error), and a Warning event "
    "FailedScheduling with the same message.",
    source=POD_LIFECYCLE,
)
def failed_condition(
    pending: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], node_count: int
) -> Outcome:
    """``pending`` and ``events``: manifests, as the API server lists them."""
    messages: dict[str, set[str]] = {}
    for event in events:
        if event.get("reason") == "FailedScheduling" and event.get("type") == "Warning":
            uid = (event.get("involvedObject") or {}).get("uid", "")
            messages.setdefault(uid, set()).add(event.get("message", ""))
    problems = []
    for pod in pending:
        meta = pod.get("metadata") or {}
        name, uid = meta.get("name"), meta.get("uid", "")
        condition = _condition(pod, "PodScheduled")
        if condition is None or condition.get("status") != "False":
            problems.append(f"pending pod {name!r} has no PodScheduled=False condition")
            continue
        reason, message = condition.get("reason"), condition.get("message") or ""
        if reason == "Unschedulable":
            match = _FIT_ERROR.match(message)
            if match is None or int(match.group(1)) != node_count:
                problems.append(
                    f"pod {name!r}: message {message!r} is not '0/{node_count} nodes are "
                    "available: ...'"
                )
        elif reason != "SchedulerError":
            problems.append(f"pod {name!r}: PodScheduled reason {reason!r}")
        if message not in messages.get(uid, set()):
            problems.append(f"pod {name!r}: no FailedScheduling event says {message!r}")
    return holds_if(problems, checked=len(pending))


# -- NodePorts (spec/scheduler.md, section 6.1) -------------------------------------------------

NODE_PORTS = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/"
    "pkg/scheduler/framework/plugins/nodeports/node_ports.go"
)


def _pod_host_ports(pod: Pod) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) of the pod's app containers and sidecars (init
    containers with restartPolicy Always), hostIP defaulting to 0.0.0.0 and protocol to TCP;
    a regular init container has exited before the app starts and holds no port."""
    spec = pod.spec
    if spec is None:
        return []
    running = [c for c in spec.init_containers if c.restart_policy == "Always"]
    running += list(spec.containers)
    return [
        (p.host_ip or "0.0.0.0", p.protocol or "TCP", p.host_port)
        for c in running
        for p in c.ports
        if p.host_port is not None and p.host_port > 0
    ]


@invariant(
    "SCHEDULER-HOST-PORTS-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="Pods placed one by one never share a (protocol, hostPort) on a node with "
    "conflicting hostIPs: the same address, or either one 0.0.0.0 (every address), counting "
    "app containers and sidecars, with hostIP defaulting to 0.0.0.0 and protocol to TCP.",
    source=NODE_PORTS,
)
def host_ports_respected(pods: Iterable[Pod]) -> Outcome:
    """``pods``: every pod placed so far (spec.nodeName set); others are ignored."""
    by_node: dict[str, list[tuple[str, tuple[str, str, int]]]] = {}
    for pod in pods:
        node = pod.spec.node_name if pod.spec else None
        if node:
            by_node.setdefault(node, []).extend((_name(pod), p) for p in _pod_host_ports(pod))
    problems = []
    for node, ports in sorted(by_node.items()):
        for i, (first, (ip1, protocol1, port1)) in enumerate(ports):
            for second, (ip2, protocol2, port2) in ports[i + 1 :]:
                same = (protocol1, port1) == (protocol2, port2) and first != second
                if same and (ip1 == ip2 or "0.0.0.0" in (ip1, ip2)):
                    problems.append(
                        f"node {node!r}: pods {first!r} ({ip1}) and {second!r} ({ip2}) both "
                        f"hold {protocol1}/{port1}"
                    )
    return holds_if(problems, checked=len(by_node))


# -- InterPodAffinity (spec/scheduler.md, section 6.3) -------------------------------------------

INTER_POD_AFFINITY = f"{ASSIGN}#inter-pod-affinity-and-anti-affinity"


def _anti_term_matches(
    owner: Pod, term: Any, other: Pod, namespaces: Mapping[str, Mapping[str, str]]
) -> bool:
    """Restated from the docs: ``other`` is in one of the term's namespaces (the owner's own
    when neither namespaces nor namespaceSelector is given; ``{}`` selects every namespace,
    another selector the known namespaces whose labels it matches) and its labels match the
    term's labelSelector (an unset selector matches no pod)."""
    other_ns = (other.metadata.namespace if other.metadata else None) or "default"
    owner_ns = (owner.metadata.namespace if owner.metadata else None) or "default"
    chosen = term.namespace_selector
    if not term.namespaces and chosen is None:
        in_scope = other_ns == owner_ns
    else:
        in_scope = other_ns in term.namespaces or (
            chosen is not None
            and (
                chosen.is_empty()
                or (other_ns in namespaces and chosen.matches(namespaces[other_ns]))
            )
        )
    if not in_scope or term.label_selector is None:
        return False
    return term.label_selector.matches((other.metadata.labels if other.metadata else None) or {})


def _anti_terms(pod: Pod) -> tuple[Any, ...]:
    affinity = pod.spec.affinity if pod.spec else None
    anti = affinity.pod_anti_affinity if affinity else None
    return anti.required_during_scheduling_ignored_during_execution if anti else ()


@invariant(
    "SCHEDULER-POD-ANTI-AFFINITY-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="Pods placed one by one never share a topology domain (the same value of the "
    "term's topologyKey on both nodes) with a pod that one of the two has a required "
    "anti-affinity term against, whichever of the two was placed first.",
    source=INTER_POD_AFFINITY,
)
def pod_anti_affinity_respected(
    nodes: Iterable[Node],
    pods: Iterable[Pod],
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Outcome:
    """``pods``: the pods placed so far (spec.nodeName set; others are ignored);
    ``namespaces``: namespace name -> labels."""
    labels_of = {_name(node): _labels(node) for node in nodes}
    placed = [p for p in pods if p.spec and p.spec.node_name in labels_of]
    problems, checked = [], 0
    for owner in placed:
        for term in _anti_terms(owner):
            key = term.topology_key or ""
            owner_labels = labels_of[owner.spec.node_name]
            if key not in owner_labels:
                continue
            checked += 1
            for other in placed:
                if other is owner:
                    continue
                other_labels = labels_of[other.spec.node_name]
                if other_labels.get(key) != owner_labels[key] or key not in other_labels:
                    continue
                if _anti_term_matches(owner, term, other, namespaces or {}):
                    problems.append(
                        f"pod {_name(other)!r} on {other.spec.node_name!r} shares "
                        f"{key}={owner_labels[key]} with {_name(owner)!r} on "
                        f"{owner.spec.node_name!r}, whose anti-affinity selects it"
                    )
    return holds_if(problems, checked=checked)


# -- preemption (spec/scheduler.md, section 6.4) -------------------------------------------------

DEFAULT_PREEMPTION_GO = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/"
    "pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go"
)


def _pod_priority(pod: Pod) -> int:
    """spec.priority, 0 when unset, as the pod priority page says."""
    return (pod.spec.priority if pod.spec else None) or 0


def _pod_key(pod: Pod) -> tuple[str, str]:
    return ((pod.metadata.namespace if pod.metadata else None) or "", _name(pod))


@invariant(
    "SCHEDULER-PREEMPTION-LOWER-PRIORITY",
    component="scheduler",
    kind="safety",
    statement="A pod nominated to a node by preemption has at least one victim, every victim "
    "has a strictly lower priority than the pod, and every victim runs on the nominated node.",
    source=PRIORITY,
)
def preemption_lower_priority(preemptor: Pod, node_name: str, victims: Sequence[Pod]) -> Outcome:
    """``victims``: the pods preemption evicts for ``preemptor`` nominated to ``node_name``."""
    if not node_name:
        return VACUOUS
    if not victims:
        return violated(f"pod {_name(preemptor)!r} nominated to {node_name!r} without victims")
    mine = _pod_priority(preemptor)
    problems = []
    for victim in victims:
        if _pod_priority(victim) >= mine:
            problems.append(
                f"victim {_name(victim)!r} has priority {_pod_priority(victim)}, not below "
                f"the preemptor's {mine}"
            )
        where = victim.spec.node_name if victim.spec else None
        if where != node_name:
            problems.append(f"victim {_name(victim)!r} runs on {where!r}, not on {node_name!r}")
    return holds_if(problems, checked=len(victims))


@invariant(
    "SCHEDULER-PREEMPTION-MINIMAL",
    component="scheduler",
    kind="safety",
    statement="With the victims removed, the pod fits the nominated node (every filter of "
    "section 2 restated); returning any one victim to the node makes it not fit: preemption "
    "evicts a minimal set.",
    source=DEFAULT_PREEMPTION_GO,
)
def preemption_minimal(
    preemptor: Pod, node: Node, on_node: Sequence[Pod], victims: Sequence[Pod]
) -> Outcome:
    """``on_node``: the pods on the nominated ``node`` when preemption chose, victims included."""
    if not victims:
        return VACUOUS
    evicted = {_pod_key(v) for v in victims}
    remaining = [p for p in on_node if _pod_key(p) not in evicted]
    causes = _causes(preemptor, node, remaining)
    if causes:
        return violated(
            f"pod {_name(preemptor)!r} still does not fit {_name(node)!r} without its victims: "
            f"{', '.join(causes)}"
        )
    problems = [
        f"victim {_name(victim)!r} need not be evicted: the pod fits {_name(node)!r} with it"
        for victim in victims
        if not _causes(preemptor, node, [*remaining, victim])
    ]
    return holds_if(problems, checked=len(victims))


# -- PodTopologySpread (spec/scheduler.md, section 6.2) -----------------------------------------

TOPOLOGY_SPREAD = f"{DOCS}/concepts/scheduling-eviction/topology-spread-constraints/"
SPREAD_REASON = "node(s) didn't match pod topology spread constraints"


def _spread_pod_labels(pod: Pod) -> Mapping[str, str]:
    return (pod.metadata.labels if pod.metadata else None) or {}


def _spread_selects(owner: Pod, constraint: Any, labels: Mapping[str, str]) -> bool:
    """The constraint's labelSelector (unset: no pod) matches ``labels``, ANDed with the
    owner's own values of the matchLabelKeys it carries."""
    if constraint.label_selector is None:
        return False
    own = _spread_pod_labels(owner)
    for key in constraint.match_label_keys:
        if key in own and (key not in labels or labels[key] != own[key]):
            return False
    return constraint.label_selector.matches(labels)


def _spread_counts_none(owner: Pod, constraint: Any) -> bool:
    """v1.35 counts no pod for a selector without requirements (labelSelector {} and no
    matchLabelKeys value on the owner): countPodsMatchSelector's shortcut, fixed after
    v1.35 by kubernetes/kubernetes#141340."""
    selector = constraint.label_selector
    own = _spread_pod_labels(owner)
    keyed = any(key in own for key in constraint.match_label_keys)
    return selector is not None and selector.is_empty() and not keyed


def _spread_includes(pod: Pod, constraint: Any, node: Node) -> bool:
    """nodeAffinityPolicy Honor (the default): the node matches the pod's nodeSelector and
    required node affinity; nodeTaintsPolicy Honor: the pod tolerates its NoSchedule and
    NoExecute taints (Ignore, the default: taints do not matter)."""
    honor_affinity = (constraint.node_affinity_policy or "Honor") == "Honor"
    if honor_affinity and not node_affinity_respected(pod, node).ok:
        return False
    honor_taints = constraint.node_taints_policy == "Honor"
    return not (honor_taints and not taints_respected(pod, node).ok)


def _spread_violations(
    pod: Pod, nodes: Sequence[Node], placed: Sequence[Pod]
) -> dict[str, list[str]] | None:
    """Node name -> how placing ``pod`` there would break one of its DoNotSchedule
    constraints (empty: it would not); None when the pod has no such constraint."""
    spec = pod.spec
    hard = [
        c
        for c in (spec.topology_spread_constraints if spec else ())
        if c.when_unsatisfiable == "DoNotSchedule"
    ]
    if not hard:
        return None
    namespace = (pod.metadata.namespace if pod.metadata else None) or ""
    keys = [c.topology_key or "" for c in hard]
    counted: dict[str, list[Pod]] = {}
    for other in placed:
        deleting = bool(other.metadata and other.metadata.deletion_timestamp)
        same_namespace = ((other.metadata.namespace if other.metadata else None) or "") == namespace
        if other.spec and other.spec.node_name and same_namespace and not deleting:
            counted.setdefault(other.spec.node_name, []).append(other)
    domains: list[dict[str, int]] = []
    for constraint in hard:
        counts: dict[str, int] = {}
        for node in nodes:
            labels = _labels(node)
            if any(key not in labels for key in keys) or not _spread_includes(
                pod, constraint, node
            ):
                continue
            matching = (
                0
                if _spread_counts_none(pod, constraint)
                else sum(
                    1
                    for other in counted.get(_name(node), [])
                    if _spread_selects(pod, constraint, _spread_pod_labels(other))
                )
            )
            value = labels[constraint.topology_key]
            counts[value] = counts.get(value, 0) + matching
        domains.append(counts)
    found: dict[str, list[str]] = {}
    for node in nodes:
        labels, problems = _labels(node), []
        for constraint, counts in zip(hard, domains):
            key = constraint.topology_key or ""
            if key not in labels:
                problems.append(f"it lacks the topology key {key!r}")
                continue
            min_domains = 1 if constraint.min_domains is None else constraint.min_domains
            if len(counts) < min_domains:
                minimum = 0
            elif counts:
                minimum = min(counts.values())
            else:  # no domain at all, and minDomains 0: nothing to compare with
                continue
            itself = 1 if _spread_selects(pod, constraint, _spread_pod_labels(pod)) else 0
            skew = counts.get(labels[key], 0) + itself - minimum
            if skew > (constraint.max_skew or 0):
                problems.append(
                    f"{key}={labels[key]} would hold {counts.get(labels[key], 0) + itself} "
                    f"matching pods against a global minimum of {minimum}: skew {skew} > "
                    f"maxSkew {constraint.max_skew or 0}"
                )
        found[_name(node)] = problems
    return found


@invariant(
    "SCHEDULER-TOPOLOGY-SPREAD-RESPECTED",
    component="scheduler",
    kind="safety",
    statement="A pod is placed only where each of its DoNotSchedule topology spread "
    "constraints holds: the node carries the topology key and the matching pods of the pod's "
    "namespace (not being deleted) in its domain, plus the pod itself if it matches, minus "
    "the fewest in any domain (0 with fewer domains than minDomains) stay within maxSkew, "
    "counting nodes that carry every key and pass the inclusion policies; and a node is "
    "rejected for topology spread only when placing the pod there would break one.",
    source=TOPOLOGY_SPREAD,
)
def topology_spread_respected(
    pod: Pod, result: Any, nodes: Sequence[Node], placed: Sequence[Pod]
) -> Outcome:
    """``result``: the cycle's outcome (``node_name``, ``filtered``); ``placed``: the pods
    bound (spec.nodeName set) when the cycle ran."""
    violations = _spread_violations(pod, nodes, placed)
    if violations is None:
        return VACUOUS
    problems = []
    chosen = result.node_name
    if chosen is not None and violations.get(chosen):
        problems.append(
            f"pod {_name(pod)!r} placed on {chosen!r} although {'; '.join(violations[chosen])}"
        )
    for name, reasons in dict(result.filtered).items():
        spread = any(reason.startswith(SPREAD_REASON) for reason in reasons)
        if spread and name in violations and not violations[name]:
            problems.append(
                f"node {name!r} rejected for topology spread ({list(reasons)}) although placing "
                f"pod {_name(pod)!r} there keeps every constraint within maxSkew"
            )
    return holds_if(problems, checked=len(nodes))
