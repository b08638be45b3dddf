"""InterPodAffinity's PreScore, Score and NormalizeScore: preferred terms and existing pods' terms.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity,
https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/interpodaffinity/scoring.go):
- PreScore builds a score per topology domain (topologyKey, value) from every
  pod of every node of the snapshot whose node has labels: + the weight of
  each preferred affinity term of the incoming pod the existing pod matches,
  - the weight of each such preferred anti-affinity term; + hardPodAffinityWeight
  for each required affinity term of the existing pod the incoming pod
  matches (none when the weight is 0); + / - the weight of each preferred
  affinity / anti-affinity term of the existing pod the incoming pod matches.
  Each amount goes to the domain of the term's key on the existing pod's node,
  if that node has the key.
- PreScore returns Skip when there are no nodes, when
  ignorePreferredTermsOfExistingPods is set and the pod has no preferred pod
  (anti-)affinity, or when no term matched anywhere; Error "failed to parse
  pod: ..." for an invalid selector.
- Score of a node: the sum, over the topology keys scored, of the score of
  the node's domain. NormalizeScore: with min and max over the scored nodes,
  ``int64(100 * (float64(s - min) / float64(max - min)))`` (truncated), and 0
  everywhere when max == min.
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
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE
from kubeprop.reference.scheduler.plugins.inter_pod_affinity import terms as t
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.filtering import (
    all_nodes,
    merged,
    namespace_labels,
    node_labels,
)
from kubeprop.spec.api.core import Pod

PRE_SCORE_STATE_KEY = "PreScoreInterPodAffinity"

TopologyScore = dict[str, dict[str, int]]  # topology key -> value -> score


@attrs.frozen(eq=False)
class PreScoreState:
    """What PreScore found for the Score and NormalizeScore of the same cycle."""

    topology_score: TopologyScore


def _add(scores: TopologyScore, term: t.AffinityTerm, labels: Mapping[str, str], amount: int):
    if term.topology_key in labels:
        values = scores.setdefault(term.topology_key, {})
        value = labels[term.topology_key]
        values[value] = values.get(value, 0) + amount


def _has_preferred(pod: Pod) -> bool:
    affinity = pod.spec.affinity if pod.spec else None
    if affinity is None:
        return False
    rules = (affinity.pod_affinity, affinity.pod_anti_affinity)
    return any(
        r is not None and r.preferred_during_scheduling_ignored_during_execution for r in rules
    )


@attrs.frozen(eq=False)
class _Incoming:
    """The incoming pod's preferred terms (namespace selectors merged) and namespace labels."""

    pod: Pod
    affinity: tuple[t.AffinityTerm, ...]
    anti_affinity: tuple[t.AffinityTerm, ...]
    namespace_labels: Mapping[str, str]


class Scoring:
    """The PreScore, Score and NormalizeScore extension points (mixed into the plugin)."""

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        if not nodes:
            return SKIP
        has_constraints = _has_preferred(pod)
        if self.args.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return SKIP
        problems = t.parse_errors(pod)
        if problems:
            return error(f"failed to parse pod: {t.aggregate(problems)}")
        incoming = _Incoming(
            pod,
            merged(t.preferred_affinity_terms(pod), state),
            merged(t.preferred_anti_affinity_terms(pod), state),
            namespace_labels(state, pod),
        )
        scores: TopologyScore = {}
        everything = all_nodes(state, nodes)
        if not has_constraints and state.snapshot is not None:
            # only the pods stating affinity can score (upstream's HavePodsWithAffinity list)
            everything = state.snapshot.having_pods_with_affinity()
        for info in everything:
            for existing in info.pods if has_constraints else info.pods_with_affinity:
                if has_constraints or t.has_pod_affinity(existing):
                    self.process_existing_pod(incoming, existing, node_labels(info), scores)
        if not scores:
            return SKIP
        state.write(PRE_SCORE_STATE_KEY, PreScoreState(scores))
        return SUCCESS

    def process_existing_pod(
        self,
        incoming: _Incoming,
        existing: Pod,
        labels: Mapping[str, str],
        scores: TopologyScore,
    ) -> None:
        """Add what one existing pod, on a node with ``labels``, contributes."""
        if not labels:
            return
        for term in incoming.affinity:
            if term.matches(existing, None):
                _add(scores, term, labels, term.weight)
        for term in incoming.anti_affinity:
            if term.matches(existing, None):
                _add(scores, term, labels, -term.weight)
        hard_weight = self.args.hard_pod_affinity_weight
        if hard_weight > 0:
            for term in t.required_affinity_terms(existing):
                if term.matches(incoming.pod, incoming.namespace_labels):
                    _add(scores, term, labels, hard_weight)
        for term in t.preferred_affinity_terms(existing):
            if term.matches(incoming.pod, incoming.namespace_labels):
                _add(scores, term, labels, term.weight)
        for term in t.preferred_anti_affinity_terms(existing):
            if term.matches(incoming.pod, incoming.namespace_labels):
                _add(scores, term, labels, -term.weight)

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        try:
            found = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            return 0, error(f'failed to read "{PRE_SCORE_STATE_KEY}" from cycleState: not found')
        labels = node_labels(node_info)
        total = 0
        for key, values in found.topology_score.items():
            if key in labels:
                total += values.get(labels[key], 0)
        return total, SUCCESS

    def score_extensions(self):
        return self

    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        try:
            found = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            return dict(scores), error(
                f'failed to read "{PRE_SCORE_STATE_KEY}" from cycleState: not found'
            )
        if not found.topology_score or not scores:
            return dict(scores), SUCCESS
        return min_max_normalize(scores), SUCCESS


def min_max_normalize(scores: Mapping[str, int]) -> dict[str, int]:
    """Upstream's float arithmetic: int64(100 * (float64(s-min) / float64(max-min)))."""
    lowest, highest = min(scores.values()), max(scores.values())
    spread = highest - lowest
    normalized = {}
    for name, score in scores.items():
        value = 0.0
        if spread > 0:
            value = float(MAX_NODE_SCORE) * (float(score - lowest) / float(spread))
        normalized[name] = int(value)
    return normalized
