"""DefaultPreemption: the PostFilter that picks a node and the lower-priority pods to evict from it.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/;
upstream pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go and
pkg/scheduler/framework/preemption/preemption.go, release-1.35):
- Runs only when no node is feasible. A pod with ``preemptionPolicy: Never`` is not
  eligible ("not eligible due to preemptionPolicy=Never."), nor is a pod whose
  ``status.nominatedNodeName`` names a node, not rejected as UnschedulableAndUnresolvable,
  that holds a lower-priority pod terminating by preemption (deletionTimestamp set and
  condition DisruptionTarget True with reason PreemptionByScheduler): "not eligible due to
  a terminating pod on the nominated node.". Either way the nomination is left unchanged
  (``post_filter`` returns ``None`` as the node).
- Candidates are only the nodes the filters rejected as Unschedulable (a node rejected as
  UnschedulableAndUnresolvable, or absent from ``filtered``, is one preemption cannot help).
  On each, in the snapshot's order, every pod of strictly lower priority is removed and the
  profile's filters (``state.profile``) are run again; none such pod: "No preemption victims
  found for incoming pod"; still no fit: the filter's own reasons. Otherwise the potential
  victims are reprieved one by one, most important first (higher priority, then earlier
  ``status.startTime``), keeping each one with which the pod still fits: the victims left are
  a minimal set. A PreFilter whose state counts the cluster's pods (InterPodAffinity,
  PodTopologySpread), if it ran, runs again for each trial over the snapshot with the
  trial node in place (upstream updates that state with AddPod/RemovePod).
  PodDisruptionBudgets are not modelled, so every victim counts as not violating one
  (upstream reprieves PDB-violating victims first and prefers nodes with fewer violations).
- The dry run stops once it has ``max(candidates * minCandidateNodesPercentage / 100,
  minCandidateNodesAbsolute)`` candidates (at most all of them); upstream starts at a random
  offset, the model at the first node.
- The node is picked as upstream's pickOneNodeForPreemption does: the lowest highest-priority
  victim, then the lowest sum of priorities (each shifted by 2^31), then the fewest victims,
  then the latest start time of the highest-priority victims (no start time counts as now,
  later than any), then the first candidate.
- Success: ``(node, SUCCESS)`` with the victims' ``namespace/name`` under ``VICTIMS_KEY``.
  No candidate: ``("", Unschedulable "preemption: 0/N nodes are available: ...")`` over all
  N nodes, the nodes not tried counting as "Preemption is not helpful for scheduling"; the
  empty node name clears the pod's nomination.
- Args (DefaultPreemptionArgs): minCandidateNodesPercentage in [0, 100] (default 10),
  minCandidateNodesAbsolute >= 0 (default 100), not both 0; a bad value raises InvalidInput
  naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    SUCCESS,
    VICTIMS_KEY,
    Code,
    CycleState,
    Handle,
    InvalidInput,
    NodeInfo,
    Status,
    error,
    fit_error_message,
    run_filters,
    unresolvable,
    unschedulable,
)
from kubeprop.spec.api import times
from kubeprop.spec.api.core import Pod

NAME = "DefaultPreemption"
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING = "not eligible due to a terminating pod on the nominated node."
# v1.DisruptionTarget / v1.PodReasonPreemptionByScheduler.
DISRUPTION_TARGET = "DisruptionTarget"
PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"
_SHIFT = 2**31  # math.MaxInt32 + 1: every shifted priority is >= 0
# PreFilter plugins whose cycle state reads only the incoming pod (and a node's own info at
# Filter), so removing or adding pods on a node leaves it valid; any other PreFilter that
# ran (InterPodAffinity, PodTopologySpread count the pods of the cluster) is run again.
NODE_LOCAL_PRE_FILTERS = frozenset(
    {"NodeResourcesFit", "NodeAffinity", "NodePorts", "NodeName", "NodeUnschedulable"}
)


def priority(pod: Pod) -> int:
    """spec.priority, 0 when unset (corev1helpers.PodPriority)."""
    return (pod.spec.priority if pod.spec else None) or 0


def key(pod: Pod) -> str:
    meta = pod.metadata
    return f"{(meta.namespace if meta else None) or ''}/{(meta.name if meta else None) or ''}"


def start_time(pod: Pod) -> float:
    """status.startTime in simulated seconds; a pod not started yet counts as started now,
    later than any start time (upstream GetPodStartTime returns the current time)."""
    text = pod.status.start_time if pod.status else None
    try:
        seconds = times.seconds(text)
    except ValueError:
        seconds = None
    return math.inf if seconds is None else seconds


def importance(pod: Pod) -> tuple[int, float]:
    """Sort key, most important first: higher priority, then earlier start (MoreImportantPod)."""
    return (-priority(pod), start_time(pod))


def terminating_by_preemption(pod: Pod) -> bool:
    """Being deleted, with DisruptionTarget True for reason PreemptionByScheduler."""
    if not (pod.metadata and pod.metadata.deletion_timestamp):
        return False
    for condition in pod.status.conditions if pod.status else ():
        if condition.type == DISRUPTION_TARGET:
            return condition.status == "True" and condition.reason == PREEMPTION_BY_SCHEDULER
    return False


@attrs.frozen
class Candidate:
    """A node where preemption makes room, and the pods to evict there (most important first)."""

    node_name: str
    victims: tuple[Pod, ...]


def pick_one_node(candidates: Sequence[Candidate]) -> str:
    """pickOneNodeForPreemption without PDBs: each criterion narrows the tie of the previous."""

    def highest(c: Candidate) -> int:
        return -max(priority(p) for p in c.victims)

    def sum_of_priorities(c: Candidate) -> int:
        return -sum(priority(p) + _SHIFT for p in c.victims)

    def fewest(c: Candidate) -> int:
        return -len(c.victims)

    def latest_start(c: Candidate) -> float:
        top = max(priority(p) for p in c.victims)
        return min(start_time(p) for p in c.victims if priority(p) == top)

    remaining = list(candidates)
    for score in (highest, sum_of_priorities, fewest, latest_start):
        best = max(score(c) for c in remaining)
        remaining = [c for c in remaining if score(c) == best]
        if len(remaining) == 1:
            break
    return remaining[0].node_name


@attrs.frozen
class DefaultPreemption:
    name: str = NAME
    min_candidate_nodes_percentage: int = MIN_CANDIDATE_NODES_PERCENTAGE
    min_candidate_nodes_absolute: int = MIN_CANDIDATE_NODES_ABSOLUTE

    # -- PostFilter ---------------------------------------------------------------------

    def post_filter(
        self, state: CycleState, pod: Pod, filtered: Mapping[str, Status]
    ) -> tuple[str | None, Status]:
        nominated = (pod.status.nominated_node_name if pod.status else None) or ""
        eligible, why = self.eligible(state, pod, filtered.get(nominated))
        if not eligible:
            return None, unschedulable(f"preemption: {why}")
        snapshot = state.snapshot
        nodes = snapshot.node_infos if snapshot is not None else ()
        if not nodes:
            return None, error("preemption: no nodes available")
        candidates, statuses, errors = self.find_candidates(state, pod, nodes, filtered)
        if not candidates:
            if errors:
                return None, error(f"preemption: {errors[0]}")
            reasons = {
                info.name: statuses[info.name].reasons if info.name in statuses else (NOT_HELPFUL,)
                for info in nodes
            }
            return "", unschedulable(f"preemption: {fit_error_message(len(nodes), reasons)}")
        best = self.select_candidate(candidates)
        chosen = next(c for c in candidates if c.node_name == best)
        state.write(VICTIMS_KEY, tuple(key(p) for p in chosen.victims))
        return best, SUCCESS

    def eligible(
        self, state: CycleState, pod: Pod, nominated_status: Status | None
    ) -> tuple[bool, str]:
        """PodEligibleToPreemptOthers: (eligible, why not)."""
        if pod.spec is not None and pod.spec.preemption_policy == "Never":
            return False, NEVER
        nominated = (pod.status.nominated_node_name if pod.status else None) or ""
        if not nominated or state.snapshot is None:
            return True, ""
        # A nominated node absent from the statuses counts as UnschedulableAndUnresolvable.
        if nominated_status is None or nominated_status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return True, ""
        info = state.snapshot.get(nominated)
        for other in info.pods if info is not None else ():
            if priority(other) < priority(pod) and terminating_by_preemption(other):
                return False, TERMINATING
        return True, ""

    def candidates_wanted(self, potential: int) -> int:
        """calculateNumCandidates: the dry run stops after this many candidates."""
        wanted = potential * self.min_candidate_nodes_percentage // 100
        wanted = max(wanted, self.min_candidate_nodes_absolute)
        return min(wanted, potential)

    def find_candidates(
        self,
        state: CycleState,
        pod: Pod,
        nodes: Sequence[NodeInfo],
        filtered: Mapping[str, Status],
    ) -> tuple[list[Candidate], dict[str, Status], list[str]]:
        """The dry run over the nodes rejected as Unschedulable: candidates, the status of
        each node tried without success, and the errors met."""
        potential = [
            info
            for info in nodes
            if (status := filtered.get(info.name)) is not None and status.code is Code.UNSCHEDULABLE
        ]
        wanted = self.candidates_wanted(len(potential))
        candidates: list[Candidate] = []
        statuses: dict[str, Status] = {}
        errors: list[str] = []
        for info in potential:
            victims, status = self.select_victims_on_node(state, pod, info)
            if status.is_success() and victims:
                candidates.append(Candidate(info.name, victims))
                if len(candidates) >= wanted:
                    break
                continue
            if status.is_success():
                status = error(f'expected at least one victim pod on node "{info.name}"')
            if status.code is Code.ERROR:
                errors.append(status.message())
            statuses[info.name] = status
        return candidates, statuses, errors

    def fits(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """The profile's filters on ``node_info`` (RunFilterPluginsWithNominatedPods). When a
        PreFilter whose state counts the pods of the cluster ran (not skipped) this cycle,
        PreFilter runs again with ``node_info`` in place of its node, as upstream's
        AddPod/RemovePod extensions update that state."""
        profile = state.profile
        if profile is None:
            return error("no profile in the cycle state to run the filters of")
        stale = [
            plugin
            for plugin in profile.at("pre_filter")
            if plugin.name not in NODE_LOCAL_PRE_FILTERS
            and plugin.name not in state.skip_filter_plugins
        ]
        if not stale or state.snapshot is None:
            return run_filters(profile, state, pod, node_info)
        infos = tuple(
            node_info if info.name == node_info.name else info for info in state.snapshot.node_infos
        )
        fresh = CycleState(snapshot=attrs.evolve(state.snapshot, node_infos=infos), profile=profile)
        for plugin in profile.at("pre_filter"):
            status = plugin.pre_filter(fresh, pod, infos).with_plugin(plugin.name)
            if status.is_skip():
                fresh.skip_filter_plugins.add(plugin.name)
            elif not status.is_success():
                return status
        return run_filters(profile, fresh, pod, node_info)

    def potential_victims(self, pod: Pod, node_info: NodeInfo) -> list[Pod]:
        """The node's pods that the pod may preempt: strictly lower priority."""
        return [p for p in node_info.pods if priority(p) < priority(pod)]

    def select_victims_on_node(
        self, state: CycleState, pod: Pod, node_info: NodeInfo
    ) -> tuple[tuple[Pod, ...], Status]:
        """SelectVictimsOnNode: a minimal set of lower-priority pods whose removal lets the pod
        fit, most important first, or the status saying why there is none."""
        potential = self.potential_victims(pod, node_info)
        if not potential:
            return (), unresolvable(NO_VICTIMS)
        leaving = {id(p) for p in potential}
        current = NodeInfo.of(node_info.node, [p for p in node_info.pods if id(p) not in leaving])
        status = self.fits(state, pod, current)
        if not status.is_success():
            return (), status
        victims = []
        for candidate in sorted(potential, key=importance):
            reprieved = current.add_pod(candidate)
            if self.fits(state, pod, reprieved).is_success():
                current = reprieved
            else:
                victims.append(candidate)
        return tuple(victims), SUCCESS

    def select_candidate(self, candidates: Sequence[Candidate]) -> str:
        return candidates[0].node_name if len(candidates) == 1 else pick_one_node(candidates)


def _int_arg(args: Mapping[str, Any], name: str, default: int) -> int:
    value = args.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f'{name}: Invalid value: "{value}": must be an integer')
    return value


def new(args: Any, handle: Handle) -> DefaultPreemption:
    """``args``: None or DefaultPreemptionArgs in camelCase (minCandidateNodesPercentage,
    minCandidateNodesAbsolute), validated as upstream's ValidateDefaultPreemptionArgs."""
    if args is None:
        return DefaultPreemption()
    if not isinstance(args, Mapping):
        raise InvalidInput("args: Invalid value: DefaultPreemptionArgs must be a mapping")
    percentage = _int_arg(args, "minCandidateNodesPercentage", MIN_CANDIDATE_NODES_PERCENTAGE)
    absolute = _int_arg(args, "minCandidateNodesAbsolute", MIN_CANDIDATE_NODES_ABSOLUTE)
    problems = []
    if not 0 <= percentage <= 100:
        problems.append(
            f"minCandidateNodesPercentage: Invalid value: {percentage}: not in valid range [0, 100]"
        )
    if absolute < 0:
        problems.append(
            f"minCandidateNodesAbsolute: Invalid value: {absolute}: not in valid range [0, inf)"
        )
    if percentage == 0 and absolute == 0:
        problems += [
            "minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
            "minCandidateNodesAbsolute",
            "minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as "
            "minCandidateNodesPercentage",
        ]
    if problems:
        # field.ErrorList.ToAggregate: one error prints as itself, several as "[a, b]".
        raise InvalidInput(problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]")
    return DefaultPreemption(
        min_candidate_nodes_percentage=percentage, min_candidate_nodes_absolute=absolute
    )
