"""Pod affinity terms as the InterPodAffinity plugin reads them (upstream's framework.AffinityTerm).

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#namespace-selector):
- ``AffinityTerm.of(pod, term)``: the namespaces a term applies to are the
  term's ``namespaces``, or the pod's own namespace when ``namespaces`` is
  empty and ``namespaceSelector`` is unset; a ``labelSelector`` or
  ``namespaceSelector`` that is unset matches nothing, an empty one
  (``{}``) everything.
- ``term.matches(pod, namespace_labels)``: the pod's namespace is listed, or
  ``namespace_labels`` (the labels of the pod's namespace) match the
  namespace selector; and the pod's labels match the label selector.
- ``term.merged(namespaces)``: for a term of the pod being scheduled, a
  non-empty namespace selector is resolved against the cluster's namespaces
  (name -> labels) into the listed namespaces and then matches nothing, as
  upstream's mergeAffinityTermNamespacesIfNotEmpty does; an empty selector
  (all namespaces) stays.
- ``parse_errors(pod)``: upstream's "parsing pod" problems of the pod's terms
  (an invalid label key or value in a selector, an unknown operator), each
  prefixed with the list it is in (``requiredAffinityTerms`` ...).
- ``matchLabelKeys``/``mismatchLabelKeys`` are not read here: since v1.31 the
  API server merges them into ``labelSelector`` when the pod is created.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kubeprop.spec.api import names
from kubeprop.spec.api.core import Pod, PodAffinityTerm, WeightedPodAffinityTerm
from kubeprop.spec.api.selectors import LabelSelector, label_selector_matches

DEFAULT_NAMESPACE = "default"


def pod_namespace(pod: Pod) -> str:
    return (pod.metadata.namespace if pod.metadata else None) or DEFAULT_NAMESPACE


def pod_labels(pod: Pod) -> Mapping[str, str]:
    return (pod.metadata.labels if pod.metadata else None) or {}


@attrs.frozen
class AffinityTerm:
    """One term, with its namespaces worked out; ``weight`` is 0 for a required term."""

    namespaces: frozenset[str]
    selector: LabelSelector | None  # None: matches no pod
    topology_key: str
    namespace_selector: LabelSelector | None  # None: matches no namespace
    weight: int = 0

    @classmethod
    def of(cls, pod: Pod, term: PodAffinityTerm, weight: int = 0) -> AffinityTerm:
        if not term.namespaces and term.namespace_selector is None:
            namespaces = frozenset({pod_namespace(pod)})
        else:
            namespaces = frozenset(term.namespaces)
        return cls(
            namespaces=namespaces,
            selector=term.label_selector,
            topology_key=term.topology_key or "",
            namespace_selector=term.namespace_selector,
            weight=weight,
        )

    def matches(self, pod: Pod, namespace_labels: Mapping[str, str] | None) -> bool:
        if pod_namespace(pod) in self.namespaces or label_selector_matches(
            self.namespace_selector, namespace_labels or {}
        ):
            return label_selector_matches(self.selector, pod_labels(pod))
        return False

    def merged(self, namespaces: Mapping[str, Mapping[str, str]]) -> AffinityTerm:
        selector = self.namespace_selector
        if selector is None or selector.is_empty():
            return self
        chosen = {name for name, labels in namespaces.items() if selector.matches(labels)}
        return attrs.evolve(self, namespaces=self.namespaces | chosen, namespace_selector=None)


def _affinity(pod: Pod):
    return pod.spec.affinity if pod.spec else None


def required_affinity_terms(pod: Pod) -> tuple[AffinityTerm, ...]:
    affinity = _affinity(pod)
    rule = affinity.pod_affinity if affinity else None
    terms = rule.required_during_scheduling_ignored_during_execution if rule else ()
    return tuple(AffinityTerm.of(pod, term) for term in terms)


def required_anti_affinity_terms(pod: Pod) -> tuple[AffinityTerm, ...]:
    affinity = _affinity(pod)
    rule = affinity.pod_anti_affinity if affinity else None
    terms = rule.required_during_scheduling_ignored_during_execution if rule else ()
    return tuple(AffinityTerm.of(pod, term) for term in terms)


def _weighted(pod: Pod, terms: tuple[WeightedPodAffinityTerm, ...]) -> tuple[AffinityTerm, ...]:
    return tuple(
        AffinityTerm.of(pod, term.pod_affinity_term, term.weight or 0)
        for term in terms
        if term.pod_affinity_term is not None
    )


def preferred_affinity_terms(pod: Pod) -> tuple[AffinityTerm, ...]:
    affinity = _affinity(pod)
    rule = affinity.pod_affinity if affinity else None
    return _weighted(pod, rule.preferred_during_scheduling_ignored_during_execution if rule else ())


def preferred_anti_affinity_terms(pod: Pod) -> tuple[AffinityTerm, ...]:
    affinity = _affinity(pod)
    rule = affinity.pod_anti_affinity if affinity else None
    return _weighted(pod, rule.preferred_during_scheduling_ignored_during_execution if rule else ())


def has_pod_affinity(pod: Pod) -> bool:
    """The pod states pod affinity or anti-affinity (upstream's PodsWithAffinity)."""
    affinity = _affinity(pod)
    return affinity is not None and (
        affinity.pod_affinity is not None or affinity.pod_anti_affinity is not None
    )


# -- "parsing pod" errors (metav1.LabelSelectorAsSelector) --------------------------------

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector_error(selector: LabelSelector | None) -> str | None:
    """The first problem LabelSelectorAsSelector finds in ``selector``, or None."""
    if selector is None:
        return None
    requirements = [(key, "In", (value,)) for key, value in selector.match_labels.items()]
    requirements += [(r.key or "", r.operator, r.values) for r in selector.match_expressions]
    for key, operator, values in requirements:
        if operator not in _OPERATORS:
            return f'"{operator}" is not a valid label selector operator'
        problems = names.validate_label_name(key, "key")
        for i, value in enumerate(values):
            problems += names.validate_label_value(value, f"values[{i}][{key}]")
        if problems:
            return str(problems[0])
    return None


def _terms_error(terms) -> str | None:
    for term in terms:
        if term is None:
            continue
        problem = _selector_error(term.label_selector) or _selector_error(term.namespace_selector)
        if problem:
            return problem
    return None


def parse_errors(pod: Pod) -> list[str]:
    """Upstream NewPodInfo's errors for the pod's four lists of terms, in its order."""
    affinity = _affinity(pod)
    rule = affinity.pod_affinity if affinity else None
    anti = affinity.pod_anti_affinity if affinity else None
    lists = []
    for name, found in (("Affinity", rule), ("AntiAffinity", anti)):
        if found is not None:
            lists.append(
                (f"required{name}Terms", found.required_during_scheduling_ignored_during_execution)
            )
    for name, found in (("Affinity", rule), ("AntiAffinity", anti)):
        if found is not None:
            weighted = found.preferred_during_scheduling_ignored_during_execution
            lists.append((f"preferred{name}Terms", [w.pod_affinity_term for w in weighted]))
    errors = []
    for name, terms in lists:
        problem = _terms_error(terms)
        if problem:
            errors.append(f"{name}: {problem}")
    return errors


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's message: the error alone, or ``[e1, e2]``."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


__all__ = [
    "AffinityTerm",
    "aggregate",
    "has_pod_affinity",
    "parse_errors",
    "pod_labels",
    "pod_namespace",
    "preferred_affinity_terms",
    "preferred_anti_affinity_terms",
    "required_affinity_terms",
    "required_anti_affinity_terms",
]
