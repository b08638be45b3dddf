"""The in-tree plugins: one folder each, the registry of their factories, and the default profile.

Contract: ``REGISTRY`` maps each plugin's NAME to its ``new(args, handle)``;
``default_profile()`` enables them in upstream's default order with upstream's
default score weights (TaintToleration 3; NodeAffinity, PodTopologySpread and
InterPodAffinity 2; the others 1), leaving out what is not modelled
(SchedulingGates, the volume plugins, DynamicResources). Filters run in the
order listed: NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity.
"""

from __future__ import annotations

import importlib

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.framework import Profile, Registry
from kubeprop.reference.scheduler.plugins import (
    default_binder,
    default_preemption,
    image_locality,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_balanced_allocation,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    priority_sort,
    taint_toleration,
)
from kubeprop.spec.api.base import FrozenMap

_MODULES = (
    priority_sort,
    node_unschedulable,
    node_name,
    taint_toleration,
    node_affinity,
    node_ports,
    node_resources_fit,
    pod_topology_spread,
    inter_pod_affinity,
    default_preemption,
    node_resources_balanced_allocation,
    image_locality,
    default_binder,
)

REGISTRY = Registry(FrozenMap({module.NAME: module.new for module in _MODULES}))

# (plugin, weight) in upstream's default (multiPoint) order; weights matter for Score only.
DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    (priority_sort.NAME, 1),
    (node_unschedulable.NAME, 1),
    (node_name.NAME, 1),
    (taint_toleration.NAME, 3),
    (node_affinity.NAME, 2),
    (node_ports.NAME, 1),
    (node_resources_fit.NAME, 1),
    (pod_topology_spread.NAME, 2),
    (inter_pod_affinity.NAME, 2),
    (default_preemption.NAME, 1),
    (node_resources_balanced_allocation.NAME, 1),
    (image_locality.NAME, 1),
    (default_binder.NAME, 1),
)


# The plugins with a table version (core.Accelerator), registered when imported.
ACCELERATED = (
    node_unschedulable,
    node_name,
    taint_toleration,
    node_affinity,
    node_resources_fit,
    node_resources_balanced_allocation,
    image_locality,
    pod_topology_spread,
    inter_pod_affinity,
)
for _module in ACCELERATED:
    importlib.import_module(f"{_module.__name__}.table")
core.FUSED = importlib.import_module(f"{__name__}.fused")


def default_profile(scheduler_name: str = "default-scheduler") -> Profile:
    return Profile.build(REGISTRY, DEFAULT_PLUGINS, scheduler_name=scheduler_name)
