"""Deliberately broken Deployment controllers: each one realistic bug the suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a class built like the reference
``DeploymentController`` (keyword arguments ``connection``, ``loop``,
``recorder``, ``watch_latency``) that breaks one rule of spec/deployment.md;
``BREAKS`` names the invariant each one breaks. Every mutant is a small
subclass of the reference overriding one method.
"""

from __future__ import annotations

from kubeprop.reference.controllers import _pods
from kubeprop.reference.controllers.deployment import DeploymentController, replicas_of


class NeverAdopts(DeploymentController):
    """Ignores orphaned ReplicaSets: after a hash collision it makes a second one."""

    def claim_replica_sets(self, d):
        candidates = self._replicasets.lister().list(d["metadata"].get("namespace"))
        return [rs for rs in candidates if _pods.owned_by(rs, d)]


class IgnoresMaxSurge(DeploymentController):
    """Scales the new ReplicaSet straight to spec.replicas, whatever the old ones hold."""

    def reconcile_new_replica_set(self, d, all_rss, new_rs):
        return self.scale_and_record(d, new_rs, replicas_of(d))


class IgnoresMaxUnavailable(DeploymentController):
    """Scales every old ReplicaSet to 0 at once, available pods or not."""

    def scale_down_old_replica_sets(self, d, all_rss, olds):
        return sum(replicas_of(rs) for rs in olds if self.scale_and_record(d, rs, 0)[0])


class RecreateDoesNotWait(DeploymentController):
    """Recreate starts new pods while old ones are still terminating."""

    def old_pods_running(self, new_rs, olds):
        return False


class UpdatedCountsAll(DeploymentController):
    """Reports every replica as updated, old ReplicaSets' too."""

    def calculate_status(self, d, all_rss, new_rs):
        status = super().calculate_status(d, all_rss, new_rs)
        status["updatedReplicas"] = status["replicas"]
        return status


class KeepsAllHistory(DeploymentController):
    """Never deletes old ReplicaSets beyond revisionHistoryLimit."""

    def cleanup_deployment(self, d, olds):
        return None


class NeverScalesDownOld(DeploymentController):
    """A rolling update never shrinks the old ReplicaSets: it stalls at maxSurge."""

    def reconcile_old_replica_sets(self, d, all_rss, olds, new_rs):
        return False


MUTANTS: dict[str, type[DeploymentController]] = {
    "never-adopts": NeverAdopts,
    "ignores-max-surge": IgnoresMaxSurge,
    "ignores-max-unavailable": IgnoresMaxUnavailable,
    "recreate-does-not-wait": RecreateDoesNotWait,
    "updated-counts-all": UpdatedCountsAll,
    "keeps-all-history": KeepsAllHistory,
    "never-scales-down-old": NeverScalesDownOld,
}

BREAKS: dict[str, str] = {
    "never-adopts": "DEPLOYMENT-ONE-NEW-RS",
    "ignores-max-surge": "DEPLOYMENT-MAX-SURGE",
    "ignores-max-unavailable": "DEPLOYMENT-MIN-AVAILABLE",
    "recreate-does-not-wait": "DEPLOYMENT-RECREATE-NO-OVERLAP",
    "updated-counts-all": "DEPLOYMENT-STATUS",
    "keeps-all-history": "DEPLOYMENT-HISTORY-LIMIT",
    "never-scales-down-old": "DEPLOYMENT-COMPLETES",
}
