"""Deliberately broken ReplicaSet controllers: each one realistic bug the suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a class built like the reference
``ReplicaSetController`` (keyword arguments ``connection``, ``loop``,
``recorder``, ``watch_latency``) that breaks one rule of spec/replicaset.md;
``BREAKS`` names the invariant each one breaks. Every mutant is a small
subclass of the reference overriding one method, so the bug is the only
difference.
"""

from __future__ import annotations

import functools

from kubeprop.reference.controllers import _pods
from kubeprop.reference.controllers.replicaset import ReplicaSetController


class OffByOne(ReplicaSetController):
    """Keeps one pod too many: the diff compares with replicas + 1."""

    def replica_diff(self, rs, active_pods):
        return super().replica_diff(rs, active_pods) - 1


class ActsOnlyOnSpecChanges(ReplicaSetController):
    """Creates or deletes pods only for a spec it has not observed yet: lost pods stay lost."""

    def replica_diff(self, rs, active_pods):
        observed = (rs.get("status") or {}).get("observedGeneration")
        if observed == rs["metadata"].get("generation"):
            return 0
        return super().replica_diff(rs, active_pods)


class NeverReleases(ReplicaSetController):
    """Keeps controlling pods whose labels no longer match its selector."""

    def claim_pods(self, rs, active):
        selector = (rs.get("spec") or {}).get("selector")
        fresh = functools.partial(self._fresh, rs)
        return _pods.claim(self.connection, "pods", rs, selector, active, fresh, release=False)


class DeletesOldestFirst(ReplicaSetController):
    """Scales down by age alone, oldest first, whatever the pods' state."""

    def pods_to_delete(self, owned, related, diff):
        return sorted(owned, key=lambda pod: (_pods.created_at(pod), pod["metadata"]["name"]))[
            :diff
        ]


class ReadyIsAvailable(ReplicaSetController):
    """Reports every ready pod as available, ignoring minReadySeconds."""

    def count_available(self, rs, owned):
        return sum(1 for pod in owned if _pods.is_ready(pod))


MUTANTS: dict[str, type[ReplicaSetController]] = {
    "off-by-one": OffByOne,
    "acts-only-on-spec-changes": ActsOnlyOnSpecChanges,
    "never-releases": NeverReleases,
    "deletes-oldest-first": DeletesOldestFirst,
    "ready-is-available": ReadyIsAvailable,
}

BREAKS: dict[str, str] = {
    "off-by-one": "REPLICASET-NO-SURPLUS",
    "acts-only-on-spec-changes": "REPLICASET-CONVERGES",
    "never-releases": "REPLICASET-OWNERSHIP",
    "deletes-oldest-first": "REPLICASET-DELETION-ORDER",
    "ready-is-available": "REPLICASET-STATUS",
}
