"""Deliberately broken PodTopologySpread plugins, each one realistic bug the spread suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a plugin instance standing in for
the reference's PodTopologySpread (the ``plugin`` of the suite's ``SpreadSUT``);
``BREAKS`` names the invariant each one breaks. Each mutant is the reference
plugin with one method overridden, so the bug is the only difference.
"""

from __future__ import annotations

import attrs

from kubeprop.reference.scheduler.plugins.pod_topology_spread import PodTopologySpread


@attrs.frozen
class SkewOffByOne(PodTopologySpread):
    """Compares the skew as if the incoming pod were not there yet: lets it reach maxSkew + 1."""

    def skew_exceeds(self, skew: int, max_skew: int) -> bool:
        return skew > max_skew + 1


@attrs.frozen
class RejectsAtMaxSkew(PodTopologySpread):
    """Compares with >=: a placement that makes the skew exactly maxSkew is refused."""

    def skew_exceeds(self, skew: int, max_skew: int) -> bool:
        return skew >= max_skew


@attrs.frozen
class CountsAllNamespaces(PodTopologySpread):
    """Counts matching pods of every namespace, not only the incoming pod's."""

    def counted(self, existing, namespace: str) -> bool:
        return not (existing.metadata and existing.metadata.deletion_timestamp)


@attrs.frozen
class CountsTerminatingPods(PodTopologySpread):
    """Counts pods being deleted (deletionTimestamp set) as if they would stay."""

    def counted(self, existing, namespace: str) -> bool:
        return ((existing.metadata.namespace if existing.metadata else None) or "") == namespace


MUTANTS: dict[str, PodTopologySpread] = {
    "spread-skew-off-by-one": SkewOffByOne(),
    "spread-rejects-at-max-skew": RejectsAtMaxSkew(),
    "spread-counts-all-namespaces": CountsAllNamespaces(),
    "spread-counts-terminating-pods": CountsTerminatingPods(),
}

BREAKS: dict[str, str] = {name: "SCHEDULER-TOPOLOGY-SPREAD-RESPECTED" for name in MUTANTS}
