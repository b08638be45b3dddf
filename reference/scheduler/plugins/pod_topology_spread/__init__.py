"""PodTopologySpread: spread matching pods evenly over topology domains (zones, nodes, ...).

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/,
upstream's pkg/scheduler/framework/plugins/podtopologyspread, release-1.35):
- PreFilter/Filter enforce the pod's DoNotSchedule constraints (``filtering``);
  PreScore/Score/NormalizeScore prefer nodes that keep its ScheduleAnyway
  constraints balanced (``scoring``); a pod without constraints of its own gets
  the default constraints, whose selector comes from the Services and the
  controller selecting it (``common``), read from ``state.snapshot.workloads``.
- ``new(args, handle)`` reads PodTopologySpreadArgs (``args``): defaultingType
  System (the default: hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway)
  or List with ``defaultConstraints``; bad args raise InvalidInput naming the field.
- In the default profile the plugin follows NodeResourcesFit (and the volume
  plugins) and precedes InterPodAffinity and NodeResourcesBalancedAllocation;
  its score weight is 2.
- The decisions a broken implementation may get wrong are single methods:
  ``counted`` (which assigned pods count), ``skew_exceeds`` (the comparison),
  ``node_counts`` (which nodes take part) and ``included`` (inclusion policies).
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import CycleState, Handle, NodeInfo
from kubeprop.reference.scheduler.plugins.pod_topology_spread import args as plugin_args
from kubeprop.reference.scheduler.plugins.pod_topology_spread.common import (
    NAME,
    CommonHooks,
    Constraint,
    default_selector,
    has_all_keys,
    included,
    labels_of,
    resolve,
)
from kubeprop.reference.scheduler.plugins.pod_topology_spread.filtering import (
    REASON_CONSTRAINTS_NOT_MATCH,
    REASON_NODE_LABEL_NOT_MATCH,
    Filtering,
)
from kubeprop.reference.scheduler.plugins.pod_topology_spread.scoring import Scoring
from kubeprop.spec.api.core import Node, Pod, TopologySpreadConstraint

__all__ = [
    "NAME",
    "REASON_CONSTRAINTS_NOT_MATCH",
    "REASON_NODE_LABEL_NOT_MATCH",
    "PodTopologySpread",
    "new",
]


@attrs.frozen
class PodTopologySpread(Filtering, Scoring, CommonHooks):
    name: str = NAME
    # The constraints given to pods without their own (the system ones by default).
    default_constraints: tuple[TopologySpreadConstraint, ...] = (
        plugin_args.SYSTEM_DEFAULT_CONSTRAINTS
    )
    # defaultingType System: nodes lacking the zone label still get hostname spreading.
    system_defaulted: bool = True

    def constraints_for(self, state: CycleState, pod: Pod, action: str) -> tuple[Constraint, ...]:
        """The pod's constraints of ``action``, or the default ones (getConstraints)."""
        own = pod.spec.topology_spread_constraints if pod.spec else ()
        if own:
            return resolve(own, labels_of(pod), action)
        defaults = resolve(self.default_constraints, labels_of(pod), action)
        if not defaults:
            return ()
        workloads = state.snapshot.workloads if state.snapshot is not None else ()
        selector = default_selector(pod, workloads)
        if selector.is_empty():
            return ()
        return tuple(attrs.evolve(c, selector=selector) for c in defaults)

    def node_counts(self, node_info: NodeInfo, constraints: tuple[Constraint, ...]) -> bool:
        """The node takes part in the spreading: it carries every topology key."""
        return has_all_keys(node_info.node, constraints)

    def included(self, constraint: Constraint, pod: Pod, node: Node) -> bool:
        """The node passes the constraint's nodeAffinityPolicy and nodeTaintsPolicy."""
        return included(constraint, pod, node)


def new(args: Any, handle: Handle | None) -> PodTopologySpread:
    parsed = plugin_args.parse(args)
    return PodTopologySpread(
        default_constraints=parsed.effective_constraints(),
        system_defaulted=parsed.defaulting_type == plugin_args.SYSTEM_DEFAULTING,
    )
