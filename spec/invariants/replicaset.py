"""The ReplicaSet controller's invariants (spec/replicaset.md).

Contract: every predicate is pure over manifests (camelCase dicts) the suite
read back from the API server once the controller's informers had caught up
(the suite lets simulated time pass after each step), plus the instant ``now``.
The pod helpers here restate upstream's definitions (controller_utils.go) on
their own, so a check never trusts the code it checks.
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Iterable, Mapping, Sequence

from kubeprop.spec.invariants import Outcome, holds_if, invariant

REPLICASET = "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/"
REPLICASET_CODE = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/"
    "pkg/controller/replicaset/replica_set.go"
)
CONTROLLER_UTILS = (
    "https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/controller/controller_utils.go"
)
OWNERS = "https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/"
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
_PHASES = {"Pending": 0, "Unknown": 1, "Running": 2}

Manifest = Mapping


# ---------------------------------------------------------------------- pod facts


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def name_of(obj: Manifest) -> str:
    return str(meta(obj).get("name"))


def seconds(stamp: str | None) -> float | None:
    """Simulated seconds of an RFC 3339 timestamp (the cluster's clock starts at EPOCH)."""
    if not stamp:
        return None
    instant = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (instant - EPOCH).total_seconds()


def phase(pod: Manifest) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_active(pod: Manifest) -> bool:
    """Neither terminating nor Succeeded/Failed (FilterActivePods)."""
    return not meta(pod).get("deletionTimestamp") and phase(pod) not in ("Succeeded", "Failed")


def _ready_condition(pod: Manifest) -> Manifest | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return condition
    return None


def is_ready(pod: Manifest) -> bool:
    return _ready_condition(pod) is not None


def ready_since(pod: Manifest) -> float | None:
    """When a ready pod's Ready condition last turned True (None: not ready or no time)."""
    condition = _ready_condition(pod)
    return seconds(condition.get("lastTransitionTime")) if condition is not None else None


def is_available(pod: Manifest, min_ready_seconds: int, now: float) -> bool:
    if not is_ready(pod):
        return False
    since = ready_since(pod)
    return min_ready_seconds <= 0 or (since is not None and since + min_ready_seconds < now)


def controller_refs(obj: Manifest) -> list[Manifest]:
    return [ref for ref in meta(obj).get("ownerReferences") or [] if ref.get("controller")]


def controller_uid(obj: Manifest) -> str | None:
    refs = controller_refs(obj)
    return refs[0].get("uid") if refs else None


def selector_matches(selector: Manifest | None, labels: Mapping[str, str] | None) -> bool:
    """A LabelSelector; an empty or missing one matches nothing (as apps/v1 controllers treat it)."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for item in selector.get("matchExpressions") or []:
        key, operator, values = item.get("key"), item.get("operator"), item.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not ok:
            return False
    return True


def replicas_of(obj: Manifest) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def controlled(rs: Manifest, pods: Iterable[Manifest]) -> list[Manifest]:
    uid = meta(rs).get("uid")
    return [pod for pod in pods if controller_uid(pod) == uid]


def active_controlled(rs: Manifest, pods: Iterable[Manifest]) -> list[Manifest]:
    return [pod for pod in controlled(rs, pods) if is_active(pod)]


# ---------------------------------------------------------------------- deletion order


def _bucket(instant: float, now: float) -> int:
    age = round((now - instant) * 1e9)
    return int(math.log2(age)) if age > 0 else -1


def _newer_first(a: Manifest, b: Manifest, ta: float | None, tb: float | None, now: float) -> int:
    if ta is None or tb is None:
        return -1 if ta is None else 1
    diff = _bucket(ta, now) - _bucket(tb, now)
    if diff:
        return -1 if diff < 0 else 1
    ua, ub = str(meta(a).get("uid")), str(meta(b).get("uid"))
    return (ua > ub) - (ua < ub)


def _cost(pod: Manifest) -> int:
    value = (meta(pod).get("annotations") or {}).get("controller.kubernetes.io/pod-deletion-cost")
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _restarts(pod: Manifest) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def deletion_compare(a: Manifest, b: Manifest, ranks: Mapping[str, int], now: float) -> int:
    """< 0 when ``a`` is deleted before ``b`` (ActivePodsWithRanks.Less, LogarithmicScaleDown)."""
    keys = (
        lambda p: bool((p.get("spec") or {}).get("nodeName")),  # unassigned first
        lambda p: _PHASES.get(phase(p), 3),  # Pending < Unknown < Running
        is_ready,  # not ready first
        _cost,  # lower controller.kubernetes.io/pod-deletion-cost first
        lambda p: -ranks.get(str(meta(p).get("uid")), 0),  # more related pods on its node first
    )
    for key in keys:
        ka, kb = key(a), key(b)
        if ka != kb:
            return -1 if ka < kb else 1
    if is_ready(a) and is_ready(b) and ready_since(a) != ready_since(b):
        return _newer_first(a, b, ready_since(a), ready_since(b), now)
    if _restarts(a) != _restarts(b):
        return -1 if _restarts(a) > _restarts(b) else 1
    ca, cb = seconds(meta(a).get("creationTimestamp")), seconds(meta(b).get("creationTimestamp"))
    if ca != cb:
        return _newer_first(a, b, ca, cb, now)
    return 0


def deletion_rank(pod: Manifest, ranks: Mapping[str, int], now: float) -> tuple:
    """The part of ``deletion_compare`` that any sort by it keeps: a key whose order every
    sorted result respects, whatever the input order and the sort algorithm.

    Upstream's comparison is not transitive: within one logarithmic bucket it breaks a tie
    by uid when the raw times differ but goes on to the next key when they are equal (A = B
    by time, then B < C and C < A by uid). A sort by it may put any of such pods first, so
    the key stops at the bucket: for ready pods, the Ready time's bucket (a missing time
    first); for the others, more restarts first, then the creation bucket. Pods with equal
    keys may go in either order. It agrees with ``deletion_compare`` on every pair whose
    keys differ, and a partition or merge sort by a comparison that agrees with a key on
    such pairs leaves no pair of its output in the wrong order by that key."""
    first = (
        bool((pod.get("spec") or {}).get("nodeName")),
        _PHASES.get(phase(pod), 3),
        is_ready(pod),
        _cost(pod),
        -ranks.get(str(meta(pod).get("uid")), 0),
    )
    if is_ready(pod):
        return (*first, _age_bucket(ready_since(pod), now))
    created = seconds(meta(pod).get("creationTimestamp"))
    return (*first, -_restarts(pod), _age_bucket(created, now))


def _age_bucket(instant: float | None, now: float) -> float:
    """Newer first; a missing time before any (upstream's afterOrZero)."""
    return -math.inf if instant is None else _bucket(instant, now)


def node_ranks(pods: Iterable[Manifest], related: Iterable[Manifest]) -> dict[str, int]:
    """uid -> active related pods on the same node."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1
    return {
        str(meta(pod).get("uid")): on_node.get((pod.get("spec") or {}).get("nodeName") or "", 0)
        for pod in pods
    }


# ---------------------------------------------------------------------- invariants


@invariant(
    "REPLICASET-NO-SURPLUS",
    component="replicaset",
    kind="safety",
    statement=(
        "Once its informers have caught up, a ReplicaSet never controls more active pods "
        "(not terminating, not Succeeded or Failed) than spec.replicas."
    ),
    source=REPLICASET,
)
def no_surplus(replicasets: Sequence[Manifest], pods: Sequence[Manifest]) -> Outcome:
    bad = []
    for rs in replicasets:
        count = len(active_controlled(rs, pods))
        if count > replicas_of(rs):
            bad.append(f"{name_of(rs)} controls {count} active pods for {replicas_of(rs)} replicas")
    return holds_if(bad, checked=len(replicasets))


@invariant(
    "REPLICASET-CONVERGES",
    component="replicaset",
    kind="liveness",
    statement=(
        "Given time with no pod changing, a ReplicaSet that is not being deleted controls "
        "exactly spec.replicas active pods."
    ),
    source=REPLICASET,
)
def converges(replicasets: Sequence[Manifest], pods: Sequence[Manifest]) -> Outcome:
    bad = []
    for rs in replicasets:
        if meta(rs).get("deletionTimestamp"):
            continue
        count = len(active_controlled(rs, pods))
        if count != replicas_of(rs):
            bad.append(f"{name_of(rs)} controls {count} active pods for {replicas_of(rs)} replicas")
    return holds_if(bad, checked=len(replicasets))


@invariant(
    "REPLICASET-OWNERSHIP",
    component="replicaset",
    kind="liveness",
    statement=(
        "Once settled, every active pod a ReplicaSet controls matches its selector and carries "
        "exactly one controller ownerReference (kind ReplicaSet, blockOwnerDeletion true), and "
        "no active pod matching a ReplicaSet's selector is left without a controller."
    ),
    source=OWNERS,
)
def ownership(replicasets: Sequence[Manifest], pods: Sequence[Manifest]) -> Outcome:
    bad = []
    for pod in pods:
        if not is_active(pod):
            continue
        labels = meta(pod).get("labels")
        refs = controller_refs(pod)
        if len(refs) > 1:
            bad.append(f"pod {name_of(pod)} has {len(refs)} controller references")
        for rs in replicasets:
            selector = (rs.get("spec") or {}).get("selector")
            if refs and refs[0].get("uid") == meta(rs).get("uid"):
                if not selector_matches(selector, labels):
                    bad.append(f"{name_of(rs)} controls pod {name_of(pod)} it does not select")
                if (
                    refs[0].get("kind") != "ReplicaSet"
                    or refs[0].get("blockOwnerDeletion") is not True
                ):
                    bad.append(f"pod {name_of(pod)} has controller reference {dict(refs[0])}")
            elif (
                not refs
                and selector_matches(selector, labels)
                and not meta(rs).get("deletionTimestamp")
            ):
                bad.append(f"orphan pod {name_of(pod)} matches {name_of(rs)} and was not adopted")
    return holds_if(bad, checked=len(pods))


@invariant(
    "REPLICASET-DELETION-ORDER",
    component="replicaset",
    kind="safety",
    statement=(
        "When a ReplicaSet scales down, no pod it keeps comes before a pod it deletes in the "
        "deletion preference order: unassigned before assigned; Pending before Unknown before "
        "Running; not ready before ready; lower pod-deletion-cost first; more related pods on "
        "the same node first; more recently ready first; more restarts first; newer first "
        "(times compared in logarithmic buckets; pods in one bucket may go in either order, "
        "since upstream's uid tie-break there is not transitive)."
    ),
    source=CONTROLLER_UTILS,
)
def deletion_order(
    before: Sequence[Manifest],
    deleted: Iterable[str],
    now: float,
    related: Sequence[Manifest] | None = None,
) -> Outcome:
    """``before``: the ReplicaSet's active pods when it was scaled down; ``deleted``: the names
    of those it deleted; ``related``: the pods of its sibling ReplicaSets and its own."""
    gone = set(deleted)
    if not gone:
        return holds_if([], checked=0)
    ranks = node_ranks(before, related if related is not None else before)
    rank = functools.partial(deletion_rank, ranks=ranks, now=now)
    bad = []
    for victim in (pod for pod in before if name_of(pod) in gone):
        for kept in (pod for pod in before if name_of(pod) not in gone):
            if rank(kept) < rank(victim):
                bad.append(f"deleted {name_of(victim)} but kept {name_of(kept)}, which goes first")
    return holds_if(bad)


@invariant(
    "REPLICASET-STATUS",
    component="replicaset",
    kind="liveness",
    statement=(
        "Once settled, a ReplicaSet's status.observedGeneration is its generation and "
        "status.replicas, fullyLabeledReplicas and readyReplicas count its active pods, those "
        "carrying every template label, and the ready ones; availableReplicas counts the pods "
        "ready for more than minReadySeconds (allowing for ``slack`` seconds of lag)."
    ),
    source=REPLICASET_CODE,
)
def status_counts(
    replicasets: Sequence[Manifest], pods: Sequence[Manifest], now: float, slack: float = 0.0
) -> Outcome:
    bad = []
    for rs in replicasets:
        status = rs.get("status") or {}
        spec = rs.get("spec") or {}
        mine = active_controlled(rs, pods)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        expected = {
            "replicas": len(mine),
            "fullyLabeledReplicas": sum(
                1
                for pod in mine
                if all(
                    (meta(pod).get("labels") or {}).get(k) == v for k, v in template_labels.items()
                )
            ),
            "readyReplicas": sum(1 for pod in mine if is_ready(pod)),
        }
        for field, value in expected.items():
            if int(status.get(field) or 0) != value:
                bad.append(f"{name_of(rs)} status.{field} is {status.get(field)}, not {value}")
        if status.get("observedGeneration") != meta(rs).get("generation"):
            bad.append(
                f"{name_of(rs)} status.observedGeneration is {status.get('observedGeneration')}, "
                f"generation {meta(rs).get('generation')}"
            )
        low = sum(1 for pod in mine if is_available(pod, min_ready, now - slack))
        high = sum(1 for pod in mine if is_available(pod, min_ready, now))
        available = int(status.get("availableReplicas") or 0)
        if not low <= available <= high:
            bad.append(
                f"{name_of(rs)} status.availableReplicas is {available}, not in {low}..{high}"
            )
    return holds_if(bad, checked=len(replicasets))
