"""InterPodAffinity's PreFilter and Filter: required pod affinity and anti-affinity, both ways.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity,
https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/interpodaffinity/filtering.go):
- A topology domain is a pair (topologyKey, value of that label on a node).
  PreFilter counts, over the pods of every node of the snapshot: for each
  required affinity term of the incoming pod, the existing pods matching
  *all* those terms, per domain of the term's key; for each required
  anti-affinity term, the existing pods matching it, per domain; and, for each
  required anti-affinity term of an existing pod that the incoming pod
  matches, one per domain of that term on the existing pod's node. A node
  without the term's topology key adds no domain.
- PreFilter returns Skip when the incoming pod has no required terms and no
  existing pod's anti-affinity matches it; UnschedulableAndUnresolvable
  "parsing pod: ..." when a term's selector is invalid.
- Filter, in this order: the node must carry every affinity term's topology
  key, and every term's domain must hold a matching pod, unless no pod in the
  cluster matches the terms and the pod matches all its own terms (the first
  pod of a group with affinity to itself) — else UnschedulableAndUnresolvable
  "node(s) didn't match pod affinity rules"; no anti-affinity term's domain of
  the node may hold a matching pod — else Unschedulable "node(s) didn't match
  pod anti-affinity rules"; no domain of the node may hold an existing pod
  whose anti-affinity matches the incoming pod — else Unschedulable
  "node(s) didn't satisfy existing pods anti-affinity rules".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    NodeInfo,
    Status,
    error,
    unresolvable,
    unschedulable,
)
from kubeprop.reference.scheduler.plugins.inter_pod_affinity import terms as t
from kubeprop.spec.api.core import Pod

PRE_FILTER_STATE_KEY = "PreFilterInterPodAffinity"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"

Counts = dict[tuple[str, str], int]  # (topology key, value) -> matching pods


@attrs.frozen(eq=False)
class PreFilterState:
    """What PreFilter found for the Filter of the same cycle."""

    pod: Pod
    affinity_terms: tuple[t.AffinityTerm, ...]  # namespace selectors merged
    anti_affinity_terms: tuple[t.AffinityTerm, ...]  # namespace selectors merged
    affinity_counts: Counts
    anti_affinity_counts: Counts
    existing_anti_affinity_counts: Counts


def node_labels(node_info: NodeInfo) -> Mapping[str, str]:
    meta = node_info.node.metadata
    return (meta.labels if meta else None) or {}


def _add(counts: Counts, labels: Mapping[str, str], key: str) -> None:
    if key in labels:
        pair = (key, labels[key])
        counts[pair] = counts.get(pair, 0) + 1


def matches_all(terms: Sequence[t.AffinityTerm], pod: Pod) -> bool:
    """The pod matches every term (False when there is none); selectors already merged."""
    return bool(terms) and all(term.matches(pod, None) for term in terms)


def all_nodes(state: CycleState, nodes: Sequence[NodeInfo]) -> Sequence[NodeInfo]:
    """Every node of the cycle's snapshot (upstream's shared lister), else ``nodes``."""
    return state.snapshot.node_infos if state.snapshot is not None else nodes


def namespace_labels(state: CycleState, pod: Pod) -> Mapping[str, str]:
    namespaces = state.snapshot.namespaces if state.snapshot is not None else {}
    return namespaces.get(t.pod_namespace(pod), {})


def merged(terms: Sequence[t.AffinityTerm], state: CycleState) -> tuple[t.AffinityTerm, ...]:
    namespaces = state.snapshot.namespaces if state.snapshot is not None else {}
    return tuple(term.merged(namespaces) for term in terms)


class Filtering:
    """The PreFilter and Filter extension points (mixed into the plugin)."""

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        problems = t.parse_errors(pod)
        if problems:
            return unresolvable(f"parsing pod: {t.aggregate(problems)}")
        affinity = merged(t.required_affinity_terms(pod), state)
        anti = merged(t.required_anti_affinity_terms(pod), state)
        everything = all_nodes(state, nodes)
        holding = (
            state.snapshot.having_pods_with_required_anti_affinity()
            if state.snapshot is not None
            else everything
        )
        existing = self.existing_anti_affinity_counts(pod, namespace_labels(state, pod), holding)
        affinity_counts, anti_counts = self.incoming_counts(affinity, anti, everything)
        if not existing and not affinity and not anti:
            return SKIP
        state.write(
            PRE_FILTER_STATE_KEY,
            PreFilterState(pod, affinity, anti, affinity_counts, anti_counts, existing),
        )
        return SUCCESS

    def existing_anti_affinity_counts(
        self, pod: Pod, ns_labels: Mapping[str, str], nodes: Sequence[NodeInfo]
    ) -> Counts:
        """Per domain, the existing pods' required anti-affinity terms the pod matches
        (``nodes``: at least every node holding a pod with required anti-affinity)."""
        counts: Counts = {}
        for info in nodes:
            labels = node_labels(info)
            for existing in info.pods_with_required_anti_affinity:
                for term in t.required_anti_affinity_terms(existing):
                    if term.matches(pod, ns_labels):
                        _add(counts, labels, term.topology_key)
        return counts

    def incoming_counts(
        self,
        affinity: Sequence[t.AffinityTerm],
        anti: Sequence[t.AffinityTerm],
        nodes: Sequence[NodeInfo],
    ) -> tuple[Counts, Counts]:
        """Per domain, the existing pods matching all the affinity terms (once per term)
        and those matching each anti-affinity term."""
        affinity_counts: Counts = {}
        anti_counts: Counts = {}
        if not affinity and not anti:
            return affinity_counts, anti_counts
        for info in nodes:
            labels = node_labels(info)
            for existing in info.pods:
                if matches_all(affinity, existing):
                    for term in affinity:
                        _add(affinity_counts, labels, term.topology_key)
                for term in anti:
                    if term.matches(existing, None):
                        _add(anti_counts, labels, term.topology_key)
        return affinity_counts, anti_counts

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        try:
            found = state.read(PRE_FILTER_STATE_KEY)
        except KeyError:
            return error(f'error reading "{PRE_FILTER_STATE_KEY}" from cycleState: not found')
        labels = node_labels(node_info)
        if not self.satisfies_pod_affinity(found, labels):
            return unresolvable(REASON_AFFINITY)
        if not self.satisfies_pod_anti_affinity(found, labels):
            return unschedulable(REASON_ANTI_AFFINITY)
        if not self.satisfies_existing_pods_anti_affinity(found, labels):
            return unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        return SUCCESS

    def satisfies_pod_affinity(self, found: PreFilterState, labels: Mapping[str, str]) -> bool:
        pods_exist = True
        for term in found.affinity_terms:
            if term.topology_key not in labels:
                return False  # every topology key must be on the node
            if found.affinity_counts.get((term.topology_key, labels[term.topology_key]), 0) <= 0:
                pods_exist = False
        if pods_exist:
            return True
        # The first pod of a group with affinity to itself may go anywhere.
        return not found.affinity_counts and matches_all(found.affinity_terms, found.pod)

    def satisfies_pod_anti_affinity(self, found: PreFilterState, labels: Mapping[str, str]) -> bool:
        for term in found.anti_affinity_terms:
            if term.topology_key in labels:
                pair = (term.topology_key, labels[term.topology_key])
                if found.anti_affinity_counts.get(pair, 0) > 0:
                    return False
        return True

    def satisfies_existing_pods_anti_affinity(
        self, found: PreFilterState, labels: Mapping[str, str]
    ) -> bool:
        counts = found.existing_anti_affinity_counts
        return not any(counts.get(pair, 0) > 0 for pair in labels.items())
