"""PodTopologySpread's shared parts: a pod's spread constraints as the plugin reads them, and counting.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/,
upstream's pkg/scheduler/framework/plugins/podtopologyspread/common.go and
plugins/helper/spread.go, release-1.35):
- ``Constraint`` is one topologySpreadConstraint with its selector resolved:
  ``selector`` None matches no pod (a constraint without ``labelSelector``); an
  empty one matches every pod, yet counts none (v1.35's ``countPodsMatchSelector``
  returns 0 for a selector without requirements; fixed after v1.35 by
  kubernetes/kubernetes#141340). ``minDomains`` defaults to 1,
  ``nodeAffinityPolicy`` to Honor, ``nodeTaintsPolicy`` to Ignore.
- ``matchLabelKeys``: the pod's values of those keys are ANDed into the selector
  (a key the pod lacks is skipped; a missing selector stays missing).
- A pod without constraints of its own gets the default constraints, whose
  selector is built from the Services (same namespace, non-nil selector matching
  the pod's labels: their selectors merged), and the ReplicationController,
  ReplicaSet or StatefulSet controlling the pod (upstream's
  ``helper.DefaultSelector``); no such selector, no constraint.
- A node counts for a constraint when it carries every topology key of the
  pod's constraints and passes the constraint's inclusion policies (Honor
  nodeAffinityPolicy: the pod's nodeSelector and required node affinity match;
  Honor nodeTaintsPolicy: the pod tolerates its NoSchedule/NoExecute taints).
- Only pods of the incoming pod's namespace that are not being deleted are
  counted; ``CommonHooks.counted`` says which, so that a mutant can change it.
- A selector that cannot be parsed raises ``ConstraintError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler import taints
from kubeprop.reference.scheduler.plugins.node_affinity import matches_required
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import Node, Pod, TopologySpreadConstraint
from kubeprop.spec.api.errors import ManifestError
from kubeprop.spec.api.io import structure, unstructure
from kubeprop.spec.api.selectors import (
    LabelSelector,
    LabelSelectorRequirement,
    validate_label_selector,
)

NAME = "PodTopologySpread"

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"

# Kinds whose controller selectors feed the default constraints (apiVersion, kind).
REPLICATION_CONTROLLER = ("v1", "ReplicationController")
REPLICA_SET = ("apps/v1", "ReplicaSet")
STATEFUL_SET = ("apps/v1", "StatefulSet")


class ConstraintError(ValueError):
    """A spread constraint whose selector cannot be parsed; the message names the field."""


@attrs.frozen
class Constraint:
    """One topology spread constraint as the plugin evaluates it."""

    max_skew: int
    topology_key: str
    selector: LabelSelector | None  # None: matches no pod (labels.Nothing)
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE


def labels_of(obj: Pod | Node) -> Mapping[str, str]:
    return (obj.metadata.labels if obj.metadata else None) or FrozenMap()


def namespace_of(pod: Pod) -> str:
    return (pod.metadata.namespace if pod.metadata else None) or ""


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    return selector is not None and selector.matches(labels)


def _requirements(selector: LabelSelector) -> tuple[LabelSelectorRequirement, ...]:
    """The selector's matchLabels as In requirements, then its expressions."""
    pinned = tuple(
        LabelSelectorRequirement(key=key, operator="In", values=(value,))
        for key, value in selector.match_labels.items()
    )
    return pinned + selector.match_expressions


def merge_match_label_keys(
    selector: LabelSelector | None, keys: Sequence[str], pod_labels: Mapping[str, str]
) -> LabelSelector | None:
    """The selector ANDed with the pod's own values of ``keys`` (mergeLabelSetWithSelector)."""
    picked = {key: pod_labels[key] for key in keys if key in pod_labels}
    if selector is None or not picked:
        return selector
    return LabelSelector(match_labels=picked, match_expressions=_requirements(selector))


def _checked(selector: LabelSelector | None, path: str) -> LabelSelector | None:
    errors = validate_label_selector(selector, path)
    if errors:
        raise ConstraintError(str(errors[0]))
    return selector


def resolve(
    specs: Iterable[TopologySpreadConstraint],
    pod_labels: Mapping[str, str],
    action: str,
    path: str = "spec.topologySpreadConstraints",
) -> tuple[Constraint, ...]:
    """The constraints of ``specs`` whose whenUnsatisfiable is ``action`` (filterTopologySpreadConstraints)."""
    out = []
    for i, spec in enumerate(specs):
        if spec.when_unsatisfiable != action:
            continue
        selector = _checked(spec.label_selector, f"{path}[{i}].labelSelector")
        out.append(
            Constraint(
                max_skew=spec.max_skew or 0,
                topology_key=spec.topology_key or "",
                selector=merge_match_label_keys(selector, spec.match_label_keys, pod_labels),
                min_domains=1 if spec.min_domains is None else spec.min_domains,
                node_affinity_policy=spec.node_affinity_policy or HONOR,
                node_taints_policy=spec.node_taints_policy or IGNORE,
            )
        )
    return tuple(out)


# -- the default selector (helper.DefaultSelector) ---------------------------------------------


def _manifest(obj: Any) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else unstructure(obj)


def _in_namespace(manifest: Mapping[str, Any], namespace: str) -> bool:
    return ((manifest.get("metadata") or {}).get("namespace") or "") == namespace


def _controller(pod: Pod) -> Any:
    refs = pod.metadata.owner_references if pod.metadata else ()
    return next((ref for ref in refs if ref.controller), None)


def _label_selector(data: Any) -> LabelSelector | None:
    """A workload's spec.selector as a LabelSelector; None when absent or unreadable."""
    if data is None:
        return None
    try:
        return _checked(structure(data, LabelSelector, "spec.selector"), "spec.selector")
    except (ManifestError, ConstraintError):
        return None


def default_selector(pod: Pod, workloads: Iterable[Any]) -> LabelSelector:
    """The selector deduced from the Services and the controller selecting the pod."""
    namespace, labels = namespace_of(pod), labels_of(pod)
    manifests = [_manifest(w) for w in workloads]
    label_set: dict[str, str] = {}
    for service in manifests:
        selector = (service.get("spec") or {}).get("selector")
        if service.get("kind") != "Service" or not _in_namespace(service, namespace):
            continue
        if selector is None:  # a Service without a selector matches nothing
            continue
        if all(k in labels and labels[k] == v for k, v in selector.items()):
            label_set.update(selector)
    requirements: tuple[LabelSelectorRequirement, ...] = ()
    owner = _controller(pod)
    if owner is not None:
        kind = (owner.api_version or "", owner.kind or "")
        target = next(
            (
                m
                for m in manifests
                if (m.get("kind"), (m.get("metadata") or {}).get("name")) == (kind[1], owner.name)
                and _in_namespace(m, namespace)
            ),
            None,
        )
        if target is not None and kind == REPLICATION_CONTROLLER:
            label_set.update((target.get("spec") or {}).get("selector") or {})
        elif target is not None and kind in (REPLICA_SET, STATEFUL_SET):
            selector = _label_selector((target.get("spec") or {}).get("selector"))
            if selector is not None:
                requirements = _requirements(selector)
    return LabelSelector(match_labels=label_set, match_expressions=requirements)


# -- nodes and pods ---------------------------------------------------------------------------


def has_all_keys(node: Node, constraints: Sequence[Constraint]) -> bool:
    """The node carries every topology key of the constraints (nodeLabelsMatchSpreadConstraints)."""
    labels = labels_of(node)
    return all(c.topology_key in labels for c in constraints)


def _blocking(taint: Any) -> bool:
    return taint.effect in (taints.NO_SCHEDULE, taints.NO_EXECUTE)


def included(constraint: Constraint, pod: Pod, node: Node) -> bool:
    """The node passes the constraint's nodeAffinityPolicy and nodeTaintsPolicy."""
    if constraint.node_affinity_policy == HONOR and not matches_required(pod, node):
        return False
    if constraint.node_taints_policy == HONOR:
        node_taints = node.spec.taints if node.spec else ()
        tolerations = pod.spec.tolerations if pod.spec else ()
        if taints.find_untolerated_taint(node_taints, tolerations, _blocking) is not None:
            return False
    return True


class CommonHooks:
    """The small decisions a broken PodTopologySpread may get wrong (one method each)."""

    def counted(self, existing: Pod, namespace: str) -> bool:
        """Whether an assigned pod is counted at all: same namespace, not being deleted."""
        deleting = bool(existing.metadata and existing.metadata.deletion_timestamp)
        return not deleting and namespace_of(existing) == namespace

    def count_matching(
        self, pods: Iterable[Pod], selector: LabelSelector | None, namespace: str
    ) -> int:
        """The pods counted that the selector matches; 0 for a selector without
        requirements (v1.35's countPodsMatchSelector)."""
        if selector is not None and selector.is_empty():
            return 0
        return sum(
            1
            for pod in pods
            if self.counted(pod, namespace) and selector_matches(selector, labels_of(pod))
        )
