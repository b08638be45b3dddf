"""NodeAffinity: Filter on nodeSelector and required node affinity; Score by matching preferred terms.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/):
- Filter: a node must match every label of the pod's ``nodeSelector`` and, when
  ``requiredDuringSchedulingIgnoredDuringExecution`` is set, at least one of its
  terms (a term matches when all its expressions and fields match; an empty
  term matches nothing). Otherwise it is rejected with
  UnschedulableAndUnresolvable "node(s) didn't match Pod's node affinity/selector".
  PreFilter returns Skip when the pod states neither.
- Score: the sum of the weights of the preferred terms the node matches,
  normalised (the best node gets 100). PreScore returns Skip when the pod has no
  preferred terms.
- NodeAffinityArgs.addedAffinity (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#node-affinity-per-scheduling-profile)
  applies to every pod of the profile: a node must also match its required
  terms (else UnschedulableAndUnresolvable "node(s) didn't match
  scheduler-enforced node affinity", checked before the pod's own affinity, and
  PreFilter no longer skips), and the weights of its preferred terms a node
  matches add to the pod's (PreScore no longer skips). ``new(args)`` validates
  the added terms as upstream's ValidateNodeAffinityArgs (every problem at once,
  under ``addedAffinity.requiredDuringSchedulingIgnoredDuringExecution`` and
  ``addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[i]``); a plugin
  with added affinity is an ``EnforcedNodeAffinity``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler.config import field_errors, read_object
from kubeprop.reference.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    unresolvable,
)
from kubeprop.reference.scheduler.helper import default_normalize_score
from kubeprop.spec.api.core import Node, Pod, PreferredSchedulingTerm
from kubeprop.spec.api.core import NodeAffinity as NodeAffinitySpec
from kubeprop.spec.api.errors import FieldError, ManifestError, invalid, not_supported
from kubeprop.spec.api.names import is_label_value, is_qualified_name
from kubeprop.spec.api.selectors import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm

NAME = "NodeAffinity"
REASON_POD = "node(s) didn't match Pod's node affinity/selector"
REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"


def _node_affinity(pod: Pod) -> NodeAffinitySpec | None:
    affinity = pod.spec.affinity if pod.spec else None
    return affinity.node_affinity if affinity else None


def matches_required(pod: Pod, node: Node) -> bool:
    """The pod's nodeSelector and required node affinity both match the node."""
    labels = (node.metadata.labels if node.metadata else None) or {}
    name = (node.metadata.name if node.metadata else None) or ""
    selector = pod.spec.node_selector if pod.spec else {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    affinity = _node_affinity(pod)
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    return required is None or required.matches(labels, name)


def _usable(terms: Sequence[PreferredSchedulingTerm]) -> tuple[PreferredSchedulingTerm, ...]:
    """The terms that count: a non-zero weight and a non-empty preference."""
    return tuple(
        t
        for t in terms
        if t.weight
        and t.preference is not None
        and (t.preference.match_expressions or t.preference.match_fields)
    )


@attrs.frozen
class NodeAffinity:
    name: str = NAME
    # NodeAffinityArgs.addedAffinity: required terms every node must also match, and
    # preferred terms that add to every pod's score.
    added_required: NodeSelector | None = None
    added_preferred: tuple[PreferredSchedulingTerm, ...] = ()

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        affinity = _node_affinity(pod)
        required = (
            affinity.required_during_scheduling_ignored_during_execution if affinity else None
        )
        if (
            required is None
            and self.added_required is None
            and not (pod.spec and pod.spec.node_selector)
        ):
            return SKIP
        return SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        node = node_info.node
        if self.added_required is not None:
            labels = (node.metadata.labels if node.metadata else None) or {}
            if not self.added_required.matches(labels, node_info.name):
                return unresolvable(REASON_ENFORCED)
        return SUCCESS if matches_required(pod, node) else unresolvable(REASON_POD)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        affinity = _node_affinity(pod)
        terms = affinity.preferred_during_scheduling_ignored_during_execution if affinity else ()
        terms = (*self.added_preferred, *_usable(terms))
        if not terms:
            return SKIP
        state.write("PreScore" + NAME, terms)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        node = node_info.node
        labels = (node.metadata.labels if node.metadata else None) or {}
        try:
            terms = state.read("PreScore" + NAME)
        except KeyError:  # PreScore did not run: work the terms out here, as upstream does
            affinity = _node_affinity(pod)
            own = affinity.preferred_during_scheduling_ignored_during_execution if affinity else ()
            terms = (*self.added_preferred, *_usable(own))
        total = 0
        for term in terms:
            if term.preference.matches(labels, node_info.name):
                total += term.weight
        return total, SUCCESS

    def score_extensions(self) -> NodeAffinity:
        return self

    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        return default_normalize_score(scores), SUCCESS


@attrs.frozen
class EnforcedNodeAffinity(NodeAffinity):
    """NodeAffinity with addedAffinity (its own class, so only the per-node path runs it)."""


# -- args (ValidateNodeAffinityArgs and component-helpers' nodeaffinity parsing) ------------

_ARGS_PATH = "addedAffinity"
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


@attrs.frozen
class GoStrings:
    """A []string bad value, printed as Go's %#v prints it."""

    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.values:
            return "[]string(nil)"
        quoted = ('"' + v.replace('"', '\\"') + '"' for v in self.values)
        return "[]string{" + ", ".join(quoted) + "}"


def _expression_errors(req: NodeSelectorRequirement, at: str) -> list[FieldError]:
    """labels.NewRequirement's checks of one matchExpressions entry."""
    op, key, values = req.operator, req.key or "", tuple(req.values)
    if op not in SELECTOR_OPERATORS:
        return [not_supported(f"{at}.operator", op, SELECTOR_OPERATORS)]
    errors = []
    messages = is_qualified_name(key)
    if messages:
        errors.append(invalid(f"{at}.key", key, "; ".join(messages)))
    shown = GoStrings(values)
    if op in ("In", "NotIn") and not values:
        errors.append(
            invalid(f"{at}.values", shown, "for 'in', 'notin' operators, values set can't be empty")
        )
    if op in ("Exists", "DoesNotExist") and values:
        errors.append(
            invalid(f"{at}.values", shown, "values set must be empty for exists and does not exist")
        )
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            errors.append(
                invalid(
                    f"{at}.values", shown, "for 'Gt', 'Lt' operators, exactly one value is required"
                )
            )
        for i, value in enumerate(values):
            if re.fullmatch(r"[+-]?[0-9]+", value) is None or not -(2**63) <= int(value) < 2**63:
                errors.append(
                    invalid(
                        f"{at}.values[{i}]",
                        value,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    for i, value in enumerate(values):
        messages = is_label_value(value)
        if messages:
            errors.append(invalid(f"{at}.values[{i}]", value, "; ".join(messages)))
    return errors


def _field_errors(req: NodeSelectorRequirement, at: str) -> list[FieldError]:
    """nodeSelectorRequirementsAsFieldSelector's checks of one matchFields entry."""
    if req.operator not in ("In", "NotIn"):
        return [not_supported(f"{at}.operator", req.operator, ("In", "NotIn"))]
    if len(req.values) != 1:
        return [invalid(f"{at}.values", GoStrings(req.values), "must have one element")]
    return []


def term_errors(term: NodeSelectorTerm, path: str) -> list[FieldError]:
    """The parse errors of one node selector term (an empty term has none: it matches nothing)."""
    errors = []
    for i, req in enumerate(term.match_expressions):
        errors += _expression_errors(req, f"{path}.matchExpressions[{i}]")
    for i, req in enumerate(term.match_fields):
        errors += _field_errors(req, f"{path}.matchFields[{i}]")
    return errors


def validate_added_affinity(added: NodeAffinitySpec, path: str = _ARGS_PATH) -> list[FieldError]:
    errors = []
    required = added.required_during_scheduling_ignored_during_execution
    if required is not None:
        for i, term in enumerate(required.node_selector_terms):
            errors += term_errors(term, f"{path}.{_REQUIRED}.nodeSelectorTerms[{i}]")
    for i, term in enumerate(added.preferred_during_scheduling_ignored_during_execution):
        if term.weight and term.preference is not None:
            # upstream names the term's requirements directly under the list index
            errors += term_errors(term.preference, f"{path}.{_PREFERRED}[{i}]")
    return errors


def new(args: Any, handle: Handle) -> NodeAffinity:
    """``args``: None, or NodeAffinityArgs in camelCase (``addedAffinity``: a NodeAffinity);
    every problem is reported at once, each naming its field path."""
    if not args:
        return NodeAffinity()
    errors: list[FieldError] = []
    data = read_object(args, "", (_ARGS_PATH,), errors)
    raw = (data or {}).get(_ARGS_PATH)
    if errors or raw is None:
        if errors:
            raise field_errors(errors)
        return NodeAffinity()
    from kubeprop.spec.api.io import structure

    try:
        added = structure(raw, NodeAffinitySpec, _ARGS_PATH)
    except ManifestError as error:
        raise field_errors(error.errors) from None
    errors = validate_added_affinity(added)
    if errors:
        raise field_errors(errors)
    preferred = _usable(added.preferred_during_scheduling_ignored_during_execution)
    required = added.required_during_scheduling_ignored_during_execution
    if required is None and not preferred:
        return NodeAffinity()
    return EnforcedNodeAffinity(added_required=required, added_preferred=preferred)
