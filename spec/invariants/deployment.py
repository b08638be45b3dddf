"""The Deployment controller's invariants (spec/deployment.md).

Contract: every predicate is pure over manifests (camelCase dicts) the suite
read back from the API server once the controllers had caught up: one
Deployment, the ReplicaSets of its namespace, the pods, and the instant ``now``.
maxSurge / maxUnavailable are resolved here on their own (percentages of
spec.replicas, surge rounded up, unavailable rounded down, both 0 -> 1
unavailable), so a check never trusts the code it checks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated
from kubeprop.spec.invariants.replicaset import (
    controller_uid,
    is_active,
    is_available,
    meta,
    name_of,
    phase,
    replicas_of,
)

DEPLOYMENT = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"
ROLLING = DEPLOYMENT + "#rolling-update-deployment"
RECREATE = DEPLOYMENT + "#recreate-deployment"
MAX_SURGE_DOC = DEPLOYMENT + "#max-surge"
MAX_UNAVAILABLE_DOC = DEPLOYMENT + "#max-unavailable"
STATUS_DOC = DEPLOYMENT + "#deployment-status"
HISTORY_DOC = DEPLOYMENT + "#clean-up-policy"
HASH_DOC = DEPLOYMENT + "#pod-template-hash-label"
HASH_LABEL = "pod-template-hash"

Manifest = Mapping


def _scaled(value: object, total: int, round_up: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    percent = int(str(value).rstrip("%"))
    return -(-percent * total // 100) if round_up else percent * total // 100


def fenceposts(d: Manifest) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a RollingUpdate Deployment, resolved; (0, 0) otherwise."""
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = replicas_of(d)
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def is_recreate(d: Manifest) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate"


def owned_replicasets(d: Manifest, replicasets: Sequence[Manifest]) -> list[Manifest]:
    uid = meta(d).get("uid")
    return [rs for rs in replicasets if controller_uid(rs) == uid]


def _without_hash(template: Manifest | None) -> dict:
    stripped = copy.deepcopy(dict(template or {}))
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
        if not labels:
            stripped["metadata"].pop("labels")
    return stripped


def same_template(d: Manifest, rs: Manifest) -> bool:
    template = (d.get("spec") or {}).get("template")
    return _without_hash((rs.get("spec") or {}).get("template")) == _without_hash(template)


def new_replicaset(d: Manifest, replicasets: Sequence[Manifest]) -> Manifest | None:
    for rs in owned_replicasets(d, replicasets):
        if same_template(d, rs):
            return rs
    return None


def _status(obj: Manifest | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def _condition(d: Manifest, kind: str) -> Manifest | None:
    conditions = (d.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)


def is_complete(d: Manifest) -> bool:
    """Its status says every replica is updated and available, for the current generation."""
    status = d.get("status") or {}
    want = replicas_of(d)
    return (
        status.get("observedGeneration") == meta(d).get("generation")
        and int(status.get("updatedReplicas") or 0) == want
        and int(status.get("replicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
    )


# ---------------------------------------------------------------------- invariants


@invariant(
    "DEPLOYMENT-ONE-NEW-RS",
    component="deployment",
    kind="safety",
    statement=(
        "At most one live ReplicaSet selected by a Deployment (owned or orphaned) has the "
        "Deployment's pod template, ignoring the pod-template-hash label; every ReplicaSet the "
        "Deployment owns carries its pod-template-hash in its selector and template labels "
        "and is named <deployment>-<hash>."
    ),
    source=HASH_DOC,
)
def one_new_replicaset(d: Manifest, replicasets: Sequence[Manifest]) -> Outcome:
    bad = []
    selector = (d.get("spec") or {}).get("selector") or {}
    wanted = selector.get("matchLabels") or {}
    selected = [
        rs
        for rs in replicasets
        if not meta(rs).get("deletionTimestamp")
        and all((meta(rs).get("labels") or {}).get(k) == v for k, v in wanted.items())
        and controller_uid(rs) in (None, meta(d).get("uid"))
    ]
    current = [name_of(rs) for rs in selected if same_template(d, rs)]
    if len(current) > 1:
        bad.append(f"{name_of(d)} has {len(current)} ReplicaSets with its template: {current}")
    for rs in owned_replicasets(d, replicasets):
        spec = rs.get("spec") or {}
        hash_value = ((spec.get("selector") or {}).get("matchLabels") or {}).get(HASH_LABEL)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not hash_value or template_labels.get(HASH_LABEL) != hash_value:
            bad.append(f"{name_of(rs)} selector/template pod-template-hash differ or are missing")
        elif name_of(rs) != f"{name_of(d)}-{hash_value}":
            bad.append(f"{name_of(rs)} is not named {name_of(d)}-{hash_value}")
    return holds_if(bad, checked=len(selected))


@invariant(
    "DEPLOYMENT-MAX-SURGE",
    component="deployment",
    kind="safety",
    statement=(
        "During a RollingUpdate the ReplicaSets of a Deployment never ask for more than "
        "spec.replicas + maxSurge pods in total (maxSurge a count, or a percentage of "
        "spec.replicas rounded up)."
    ),
    source=MAX_SURGE_DOC,
)
def max_surge(d: Manifest, replicasets: Sequence[Manifest]) -> Outcome:
    if is_recreate(d):
        return VACUOUS
    surge, _ = fenceposts(d)
    total = sum(replicas_of(rs) for rs in owned_replicasets(d, replicasets))
    if total > replicas_of(d) + surge:
        return violated(
            f"{name_of(d)}: its ReplicaSets ask for {total} pods, more than "
            f"{replicas_of(d)} replicas + {surge} maxSurge"
        )
    return HOLDS


@invariant(
    "DEPLOYMENT-MIN-AVAILABLE",
    component="deployment",
    kind="safety",
    statement=(
        "During a RollingUpdate that started from a fully available Deployment, with no pod "
        "failed, deleted or made unready and no scaling since, at least spec.replicas - "
        "maxUnavailable of its pods stay available (maxUnavailable a count, or a percentage "
        "rounded down)."
    ),
    source=MAX_UNAVAILABLE_DOC,
)
def min_available(
    d: Manifest, replicasets: Sequence[Manifest], pods: Sequence[Manifest], now: float
) -> Outcome:
    if is_recreate(d):
        return VACUOUS
    _, unavailable = fenceposts(d)
    owners = {meta(rs).get("uid") for rs in owned_replicasets(d, replicasets)}
    min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
    available = sum(
        1
        for pod in pods
        if controller_uid(pod) in owners and is_active(pod) and is_available(pod, min_ready, now)
    )
    floor = replicas_of(d) - unavailable
    if available < floor:
        return violated(
            f"{name_of(d)} has {available} available pods, fewer than {replicas_of(d)} replicas "
            f"- {unavailable} maxUnavailable"
        )
    return HOLDS


@invariant(
    "DEPLOYMENT-RECREATE-NO-OVERLAP",
    component="deployment",
    kind="safety",
    statement=(
        "With the Recreate strategy, no active pod of the new ReplicaSet exists while a pod of "
        "an old ReplicaSet is still running (any phase but Succeeded or Failed, terminating "
        "included)."
    ),
    source=RECREATE,
)
def recreate_no_overlap(
    d: Manifest, replicasets: Sequence[Manifest], pods: Sequence[Manifest]
) -> Outcome:
    if not is_recreate(d):
        return VACUOUS
    new = new_replicaset(d, replicasets)
    if new is None:
        return VACUOUS
    olds = {meta(rs).get("uid") for rs in owned_replicasets(d, replicasets)} - {
        meta(new).get("uid")
    }
    new_pods = [p for p in pods if controller_uid(p) == meta(new).get("uid") and is_active(p)]
    old_pods = [
        p for p in pods if controller_uid(p) in olds and phase(p) not in ("Succeeded", "Failed")
    ]
    if new_pods and old_pods:
        return violated(
            f"{name_of(d)} runs new pods {[name_of(p) for p in new_pods]} while old pods "
            f"{[name_of(p) for p in old_pods]} still run"
        )
    return HOLDS if new_pods else VACUOUS


@invariant(
    "DEPLOYMENT-STATUS",
    component="deployment",
    kind="liveness",
    statement=(
        "Once settled, a Deployment's status.observedGeneration is its generation; replicas, "
        "readyReplicas and availableReplicas are the sums of its ReplicaSets' status; "
        "updatedReplicas is the new ReplicaSet's status.replicas; unavailableReplicas is "
        "max(0, the sum of their spec.replicas - availableReplicas); and condition Available "
        "is True exactly when availableReplicas >= spec.replicas - maxUnavailable."
    ),
    source=STATUS_DOC,
)
def status_counts(d: Manifest, replicasets: Sequence[Manifest]) -> Outcome:
    status = d.get("status") or {}
    owned = owned_replicasets(d, replicasets)
    new = new_replicaset(d, replicasets)
    available = sum(_status(rs, "availableReplicas") for rs in owned)
    expected = {
        "observedGeneration": meta(d).get("generation"),
        "replicas": sum(_status(rs, "replicas") for rs in owned),
        "updatedReplicas": _status(new, "replicas"),
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(replicas_of(rs) for rs in owned) - available),
    }
    bad = [
        f"{name_of(d)} status.{field} is {status.get(field)}, not {value}"
        for field, value in expected.items()
        if (status.get(field) or 0) != value
    ]
    condition = _condition(d, "Available")
    enough = available >= replicas_of(d) - fenceposts(d)[1]
    if condition is None or (condition.get("status") == "True") != enough:
        bad.append(f"{name_of(d)} condition Available is {dict(condition or {})}, enough={enough}")
    return holds_if(bad)


@invariant(
    "DEPLOYMENT-HISTORY-LIMIT",
    component="deployment",
    kind="liveness",
    statement=(
        "Once a Deployment's rollout is complete and settled, it keeps at most "
        "revisionHistoryLimit (default 10) old ReplicaSets."
    ),
    source=HISTORY_DOC,
)
def history_limit(d: Manifest, replicasets: Sequence[Manifest]) -> Outcome:
    if not is_complete(d):
        return VACUOUS
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    new = new_replicaset(d, replicasets)
    olds = [
        name_of(rs)
        for rs in owned_replicasets(d, replicasets)
        if new is None or meta(rs).get("uid") != meta(new).get("uid")
    ]
    if len(olds) > limit:
        return violated(f"{name_of(d)} keeps {len(olds)} old ReplicaSets {olds}, limit {limit}")
    return HOLDS


@invariant(
    "DEPLOYMENT-COMPLETES",
    component="deployment",
    kind="liveness",
    statement=(
        "Given time in which every pod becomes ready and every deletion finishes, a Deployment "
        "completes: its new ReplicaSet has spec.replicas, the old ones none, its status counts "
        "every replica as updated and available, and its Progressing condition says "
        "NewReplicaSetAvailable and Available is True."
    ),
    source=DEPLOYMENT + "#complete-deployment",
)
def completes(d: Manifest, replicasets: Sequence[Manifest]) -> Outcome:
    bad = []
    new = new_replicaset(d, replicasets)
    if new is None or replicas_of(new) != replicas_of(d):
        bad.append(f"{name_of(d)} new ReplicaSet {name_of(new) if new else None} is not full")
    for rs in owned_replicasets(d, replicasets):
        if rs is not new and replicas_of(rs) != 0:
            bad.append(f"old ReplicaSet {name_of(rs)} still has {replicas_of(rs)} replicas")
    if not is_complete(d):
        bad.append(f"{name_of(d)} status is not complete: {dict(d.get('status') or {})}")
    progressing = _condition(d, "Progressing") or {}
    if progressing.get("reason") != "NewReplicaSetAvailable":
        bad.append(f"{name_of(d)} Progressing reason is {progressing.get('reason')}")
    if (_condition(d, "Available") or {}).get("status") != "True":
        bad.append(f"{name_of(d)} is not Available")
    return holds_if(bad)
