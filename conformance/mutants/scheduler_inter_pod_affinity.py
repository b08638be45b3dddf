"""Deliberately broken InterPodAffinity plugins, which the InterPodAffinity suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to the keyword arguments of the
suite's ``InterPodAffinitySUT`` (``plugin``: a zero-argument factory of the
broken plugin); ``BREAKS`` names the invariant each one breaks. Each mutant is
the reference plugin with one method overridden, so the bug is the only
difference.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kubeprop.reference.scheduler.framework import SKIP, Status
from kubeprop.reference.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from kubeprop.reference.scheduler.plugins.inter_pod_affinity import terms as t


@attrs.frozen
class ExistingAntiAffinityIgnored(InterPodAffinity):
    """Filter forgets the anti-affinity of the pods already placed (no symmetry)."""

    def satisfies_existing_pods_anti_affinity(self, found, labels: Mapping[str, str]) -> bool:
        return True


@attrs.frozen
class IncomingAntiAffinityIgnored(InterPodAffinity):
    """Filter forgets the incoming pod's own required anti-affinity."""

    def satisfies_pod_anti_affinity(self, found, labels: Mapping[str, str]) -> bool:
        return True


@attrs.frozen
class SkipsPodsWithoutOwnTerms(InterPodAffinity):
    """PreFilter skips a pod without required terms of its own, never looking at the
    existing pods' anti-affinity against it."""

    def pre_filter(self, state, pod, nodes) -> Status:
        if not t.required_affinity_terms(pod) and not t.required_anti_affinity_terms(pod):
            return SKIP
        return super().pre_filter(state, pod, nodes)


MUTANTS: dict[str, dict] = {
    "ignores-existing-anti-affinity": {"plugin": lambda: ExistingAntiAffinityIgnored()},
    "ignores-incoming-anti-affinity": {"plugin": lambda: IncomingAntiAffinityIgnored()},
    "skips-pods-without-own-terms": {"plugin": lambda: SkipsPodsWithoutOwnTerms()},
}

BREAKS: dict[str, str] = {
    "ignores-existing-anti-affinity": "SCHEDULER-POD-ANTI-AFFINITY-RESPECTED",
    "ignores-incoming-anti-affinity": "SCHEDULER-POD-ANTI-AFFINITY-RESPECTED",
    "skips-pods-without-own-terms": "SCHEDULER-POD-ANTI-AFFINITY-RESPECTED",
}
