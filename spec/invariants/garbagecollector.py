"""Invariants of the garbage collector (spec/garbagecollector.md): ownerReferences and cascades.

Contract: every predicate is pure over what a suite recorded: stored objects
(camelCase manifests), the instants objects were removed from the store by
uid, and small records of the collector's deletes (``GcDelete``) and of
removals (``Removal``), each carrying what the store held at that instant.
None of them talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.spec.api import times
from kubeprop.spec.invariants import Outcome, holds_if, invariant

GARBAGE_COLLECTION = "https://kubernetes.io/docs/concepts/architecture/garbage-collection/"
OWNERS = "https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/"
CASCADING = GARBAGE_COLLECTION + "#cascading-deletion"
FOREGROUND = GARBAGE_COLLECTION + "#foreground-deletion"
ORPHANED = GARBAGE_COLLECTION + "#orphaned-dependents"

Manifest = Mapping[str, Any]


def _meta(obj: Manifest) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _name(obj: Manifest) -> str:
    meta = _meta(obj)
    return f"{obj.get('kind')} {meta.get('namespace') or ''}/{meta.get('name')}"


def _seconds(text: str | None) -> float:
    return times.seconds(text) or 0.0


def owner_refs(obj: Manifest) -> list[Mapping[str, Any]]:
    return list(_meta(obj).get("ownerReferences") or [])


@attrs.frozen
class GcDelete:
    """A delete the garbage collector sent, with the store's state at that instant."""

    at: float
    dependent: Manifest  # the object to be deleted, as stored just before
    # owner uid -> the object now stored under that reference's name (None: none).
    owners: Mapping[str, Manifest | None]


@attrs.frozen
class Removal:
    """An object leaving the store, with what was stored at that instant."""

    at: float
    obj: Manifest  # its last stored state
    blocking: tuple[str, ...]  # stored objects with a blockOwnerDeletion reference to it


@invariant(
    "GC-NEVER-LIVE-OWNER",
    component="garbagecollector",
    kind="safety",
    statement=(
        "The garbage collector deletes an object only if it has ownerReferences and none of "
        "them names a stored object of that uid, except owners being deleted in the foreground."
    ),
    source=OWNERS,
)
def never_live_owner(delete: GcDelete) -> Outcome:
    refs = owner_refs(delete.dependent)
    if not refs:
        return holds_if([f"{_name(delete.dependent)} has no owner, yet was collected"])
    problems = []
    for ref in refs:
        owner = delete.owners.get(ref.get("uid"))
        if owner is None or _meta(owner).get("uid") != ref.get("uid"):
            continue
        foreground = _meta(owner).get("deletionTimestamp") and "foregroundDeletion" in (
            _meta(owner).get("finalizers") or []
        )
        if not foreground:
            problems.append(
                f"{_name(delete.dependent)} collected at {delete.at:g}s while its owner "
                f"{_name(owner)} ({ref.get('uid')}) is stored"
            )
    return holds_if(problems)


@invariant(
    "GC-DELETES-DEPENDENTS",
    component="garbagecollector",
    kind="safety",
    statement=(
        "An object whose every ownerReference names a uid no longer (or never) stored is "
        "deleted within a bounded time of its last owner's removal or its own creation "
        "(background cascading deletion)."
    ),
    source=CASCADING,
)
def deletes_dependents(
    objects: Sequence[Manifest],
    removed_at: Mapping[str, float],
    stored_uids: Iterable[str],
    now: float,
    bound: float,
) -> Outcome:
    stored = set(stored_uids)
    problems, checked = [], 0
    for obj in objects:
        refs = owner_refs(obj)
        if not refs or _meta(obj).get("deletionTimestamp"):
            continue
        uids = [ref.get("uid") for ref in refs]
        if any(uid in stored for uid in uids):
            continue
        checked += 1
        created = _seconds(_meta(obj).get("creationTimestamp")) + 1  # rounded down
        since = max(created, *(removed_at.get(uid, 0.0) for uid in uids))
        if now >= since + bound:
            problems.append(
                f"{_name(obj)} still stored at {now:g}s; its owners {uids} are gone since {since:g}s"
            )
    return holds_if(problems, checked=checked)


@invariant(
    "GC-ORPHANS-KEPT",
    component="garbagecollector",
    kind="safety",
    statement=(
        "Deleting an owner with the orphan finalizer keeps its dependents: within a bounded time "
        "the owner is gone and each dependent is still stored, not being deleted, with no "
        "ownerReference to it."
    ),
    source=ORPHANED,
)
def orphans_kept(
    orphaned: Mapping[str, tuple[float, tuple[str, ...]]],
    objects: Sequence[Manifest],
    deleted_by_user: Iterable[str],
    now: float,
    bound: float,
) -> Outcome:
    by_uid = {_meta(obj).get("uid"): obj for obj in objects}
    spared = set(deleted_by_user)
    problems, checked = [], 0
    for owner, (at, dependents) in orphaned.items():
        if now < at + bound:
            continue
        checked += 1
        if owner in by_uid:
            problems.append(
                f"{_name(by_uid[owner])} deleted with orphan at {at:g}s is still stored"
            )
        for uid in dependents:
            if uid in spared:
                continue
            dependent = by_uid.get(uid)
            if dependent is None or _meta(dependent).get("deletionTimestamp"):
                problems.append(f"dependent {uid} of {owner} (orphaned at {at:g}s) was deleted")
            elif any(ref.get("uid") == owner for ref in owner_refs(dependent)):
                problems.append(f"{_name(dependent)} still refers to orphaning owner {owner}")
    return holds_if(problems, checked=checked)


@invariant(
    "GC-FOREGROUND-WAITS",
    component="garbagecollector",
    kind="safety",
    statement=(
        "An owner deleted in the foreground (foregroundDeletion finalizer) leaves the store only "
        "after every dependent with blockOwnerDeletion true has, and does so within a bounded time."
    ),
    source=FOREGROUND,
)
def foreground_waits(
    removals: Sequence[Removal],
    pending: Mapping[str, float],
    stored_uids: Iterable[str],
    now: float,
    bound: float,
) -> Outcome:
    problems, checked = [], 0
    for removal in removals:
        meta = _meta(removal.obj)
        if "foregroundDeletion" not in (meta.get("finalizers") or []):
            continue  # a background delete removes an owner before its dependents
        checked += 1
        if removal.blocking:
            problems.append(
                f"{_name(removal.obj)} removed at {removal.at:g}s while {list(removal.blocking)} "
                "still block its deletion"
            )
    stored = set(stored_uids)
    for uid, since in pending.items():
        checked += 1
        if uid in stored and now >= since + bound:
            problems.append(
                f"owner {uid} deleted in the foreground at {since:g}s is still stored at {now:g}s"
            )
    return holds_if(problems, checked=checked)
