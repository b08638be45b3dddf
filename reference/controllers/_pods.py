"""Shared helpers of the workload controllers: pod predicates, controller refs, expectations.

Contract (the helpers of upstream pkg/controller/controller_utils.go and
controller_ref_manager.go, on camelCase manifests):
- ``is_active(pod)``: not terminating (no deletionTimestamp) and not in a terminal
  phase (Succeeded / Failed) — upstream's FilterActivePods.
- ``is_ready(pod)`` / ``ready_since(pod)`` / ``is_available(pod, minReadySeconds, now)``:
  the Ready condition, its lastTransitionTime, and "ready for more than
  minReadySeconds" (upstream podutil.IsPodAvailable: strictly before now).
- ``controller_of(obj)``: the ownerReference with ``controller: true``, if any;
  ``controller_ref(owner)``: the reference a controller stamps on what it owns
  (controller and blockOwnerDeletion true).
- ``Expectations``: client-go's ControllerExpectations — how many creations and
  which deletions a controller still waits to see in its informer; a key whose
  expectations are met (or older than 5 minutes) may be synced again.
- ``claim(...)``: the ControllerRefManager: adopt orphans that match the
  selector, release owned objects that no longer match, keep the rest, through
  merge patches preconditioned on the object's resourceVersion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.reference.clock import parse_timestamp
from kubeprop.spec.api import selectors

Manifest = dict[str, Any]

# client-go ExpectationsTimeout: expectations older than this are ignored.
EXPECTATIONS_TIMEOUT = 300.0
MERGE_PATCH = {"contentType": "application/merge-patch+json"}


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def uid_of(obj: Manifest) -> str:
    return str(meta(obj).get("uid") or "")


def is_terminating(obj: Manifest) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def phase(pod: Manifest) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_active(pod: Manifest) -> bool:
    """Upstream FilterActivePods: not terminal and not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def ready_condition(pod: Manifest) -> Manifest | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def is_ready(pod: Manifest) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def ready_since(pod: Manifest) -> float | None:
    """When the Ready condition last turned True (None when not ready or unknown)."""
    condition = ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    stamp = condition.get("lastTransitionTime")
    return parse_timestamp(stamp) if stamp else None


def is_available(pod: Manifest, min_ready_seconds: int, now: float) -> bool:
    """Ready, and (minReadySeconds > 0) ready since more than minReadySeconds before now."""
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def restarts(pod: Manifest) -> int:
    """The highest restartCount of the pod's containers (upstream maxContainerRestarts)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def created_at(obj: Manifest) -> float:
    stamp = meta(obj).get("creationTimestamp")
    return parse_timestamp(stamp) if stamp else 0.0


def controller_of(obj: Manifest) -> Manifest | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def controller_ref(owner: Manifest) -> Manifest:
    """metav1.NewControllerRef: the ownerReference a controller puts on what it owns."""
    return {
        "apiVersion": owner.get("apiVersion"),
        "kind": owner.get("kind"),
        "name": meta(owner).get("name"),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def selector_matches(selector: Manifest | None, labels: dict[str, str] | None) -> bool:
    """A LabelSelector manifest against labels; an empty or missing selector matches nothing."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for item in selector.get("matchExpressions") or []:
        requirement = selectors.LabelSelectorRequirement(
            key=item.get("key"),
            operator=item.get("operator"),
            values=tuple(item.get("values") or ()),
        )
        if not requirement.matches(labels):
            return False
    return True


def owned_by(obj: Manifest, owner: Manifest) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


def logarithmic_rank_diff(t1: float, t2: float, now: float) -> int:
    """Upstream logarithmicRankDiff: floor(log2) of the ages in nanoseconds, compared."""

    def rank(t: float) -> int:
        age = round((now - t) * 1e9)
        return int(math.log2(age)) if age > 0 else -1

    return rank(t1) - rank(t2)


@attrs.define(eq=False)
class Expectations:
    """client-go UIDTrackingControllerExpectations, keyed by controller key."""

    clock: Callable[[], float]  # the simulated now
    # key -> (creations still expected, pod keys whose deletion is still expected, set at).
    _pending: dict[str, tuple[int, frozenset[str], float]] = attrs.field(init=False, factory=dict)

    def satisfied(self, key: str) -> bool:
        entry = self._pending.get(key)
        if entry is None:
            return True
        adds, deletes, at = entry
        return (adds <= 0 and not deletes) or self.clock() - at > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = (count, frozenset(), self.clock())

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._pending[key] = (0, frozenset(pod_keys), self.clock())

    def creation_observed(self, key: str) -> None:
        entry = self._pending.get(key)
        if entry is not None:
            self._pending[key] = (entry[0] - 1, entry[1], entry[2])

    def deletion_observed(self, key: str, pod_key: str) -> None:
        entry = self._pending.get(key)
        if entry is not None and pod_key in entry[1]:
            self._pending[key] = (entry[0], entry[1] - {pod_key}, entry[2])

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)


class ClaimError(Exception):
    """An adoption or release failed (conflict, unreachable): the sync must be retried."""


def claim(
    connection: Any,
    resource: str,
    owner: Manifest,
    selector: Manifest | None,
    candidates: list[Manifest],
    can_adopt: Callable[[], bool],
    *,
    adopt: bool = True,
    release: bool = True,
) -> list[Manifest]:
    """ControllerRefManager.Claim: the candidates the owner controls after adopting and releasing.

    An orphan that matches is adopted (if ``can_adopt()``: the owner still exists
    and is not being deleted, read fresh); an owned object that no longer matches
    is released. A failed patch raises ClaimError (the sync is retried, as upstream's
    claim returns its errors), except 404: the object is gone.
    """
    claimed = []
    adopt_checked: bool | None = None
    for obj in candidates:
        ref = controller_of(obj)
        matches = selector_matches(selector, meta(obj).get("labels"))
        if ref is not None:
            if ref.get("uid") != uid_of(owner):
                continue  # someone else's
            if matches or is_terminating(owner) or not release:
                claimed.append(obj)
            else:
                _patch_owners(connection, resource, obj, [r for r in _refs(obj) if r is not ref])
            continue
        if not adopt or not matches or is_terminating(owner) or is_terminating(obj):
            continue
        if adopt_checked is None:
            adopt_checked = can_adopt()
        if not adopt_checked:
            continue
        adopted = _patch_owners(connection, resource, obj, _refs(obj) + [controller_ref(owner)])
        if adopted is not None:
            claimed.append(adopted)
    return claimed


def _refs(obj: Manifest) -> list[Manifest]:
    return list(meta(obj).get("ownerReferences") or [])


def _patch_owners(
    connection: Any, resource: str, obj: Manifest, refs: list[Manifest]
) -> Manifest | None:
    body = {
        "metadata": {
            "ownerReferences": refs or None,
            "resourceVersion": meta(obj).get("resourceVersion"),
        }
    }
    answer = connection.request(
        "patch",
        resource,
        namespace=meta(obj).get("namespace"),
        name=meta(obj).get("name"),
        body=body,
        params=MERGE_PATCH,
    )
    if answer.ok:
        return answer.body
    if answer.code == 404:
        return None
    raise ClaimError(f"cannot change the owners of {meta(obj).get('name')}: {answer.code}")
