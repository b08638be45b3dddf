"""Deliberately broken object-model implementations, and the invariant each must trip.

Each mutant is a small function standing in for one part of kubeprop.spec.api
with one bug. ``MUTANTS`` maps a name to ``(invariant id, probe)``: the probe
runs the mutant on a few fixed inputs and returns the Outcomes of the invariant
on them; the mutant test asserts at least one is a violation. Probes evaluate
the invariants directly (not through report.check) so that mutants do not
count in the suite's tally.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import attrs

from kubeprop.spec import invariants
from kubeprop.spec.api import default, dump, load, validate
from kubeprop.spec.api import io as api_io
from kubeprop.spec.api.errors import ManifestError
from kubeprop.spec.api.quantity import Quantity
from kubeprop.spec.api.selectors import LabelSelector, NodeSelector

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "nginx:1.27"}]},
}


def _check(id: str, *args: Any) -> invariants.Outcome:
    return invariants.get(id)(*args)


# -- quantities ---------------------------------------------------------------------------


def flooring_parse(text: str) -> Quantity:
    """Rounds precision below 1n DOWN (toward zero) instead of up."""
    from kubeprop.spec.api import quantity as q

    positive, num, denom, suffix = q._split(text)
    base, exponent, fmt = q._interpret(suffix)
    magnitude = Fraction(int(num + denom), 10 ** len(denom)) * Fraction(base) ** exponent
    magnitude = Fraction(math.floor(magnitude * 10**9), 10**9)
    return Quantity(magnitude if positive else -magnitude, fmt)


def probe_flooring_parse() -> list[invariants.Outcome]:
    return [_check("OBJECTS-QUANTITY-EXACT", t, flooring_parse(t)) for t in ("3.001n", "0.5n", "1")]


def unreduced_canonical(q: Quantity) -> str:
    """Prints the plain decimal value, never choosing a larger suffix."""
    if q.amount.denominator == 1:
        return str(q.amount.numerator)
    return q.canonical()


def probe_unreduced_canonical() -> list[invariants.Outcome]:
    out = []
    for text in ("1000", "1Gi", "2e3"):
        q = Quantity.parse(text)
        shown = unreduced_canonical(q)
        out.append(_check("OBJECTS-QUANTITY-CANONICAL", q, shown, Quantity.parse(shown).amount))
    return out


# -- manifest IO --------------------------------------------------------------------------


def lenient_load(manifest: Mapping) -> Any:
    """Drops unknown fields silently instead of reporting them."""
    cleaned = dict(manifest)
    spec = dict(cleaned.get("spec") or {})
    spec["containers"] = [
        {k: v for k, v in c.items() if k in ("name", "image")} for c in spec.get("containers", [])
    ]
    cleaned["spec"] = spec
    return load(cleaned)


def probe_lenient_load() -> list[invariants.Outcome]:
    bad = {
        **POD,
        "spec": {**POD["spec"], "containers": [{"name": "c", "image": "nginx", "imagee": "x"}]},
    }
    try:
        lenient_load(bad)
        messages: list[str] = []
    except ManifestError as error:
        messages = [str(e) for e in error.errors]
    return [_check("OBJECTS-UNKNOWN-FIELD-REJECTED", ["spec.containers[0].imagee"], None, messages)]


def first_error_validate(obj: Any) -> list:
    """Stops at the first error."""
    return validate(obj)[:1]


def probe_first_error_validate() -> list[invariants.Outcome]:
    bad = {**POD, "metadata": {"name": "Bad_Name", "labels": {"-bad": "x"}}}
    errors = first_error_validate(default(load(bad)))
    return [
        _check(
            "OBJECTS-ALL-ERRORS-REPORTED",
            ["metadata.name", "metadata.labels"],
            [e.field for e in errors],
        )
    ]


def snake_case_paths(obj: Any) -> list:
    """Names fields by their Python names (spec.restart_policy) instead of JSON paths."""
    return [
        attrs.evolve(e, field=e.field.replace("restartPolicy", "restart_policy"))
        for e in validate(obj)
    ]


def probe_snake_case_paths() -> list[invariants.Outcome]:
    bad = {**POD, "spec": {**POD["spec"], "restartPolicy": "Sometimes"}}
    errors = snake_case_paths(load(bad))
    return [_check("OBJECTS-ERROR-NAMES-FIELD", [(e.field, str(e)) for e in errors])]


def verbose_dump(obj: Any) -> dict:
    """Writes zero-valued fields (empty lists and maps) instead of omitting them."""
    out = dump(obj)
    out["metadata"] = {**out.get("metadata", {}), "finalizers": list(obj.metadata.finalizers)}
    return out


def probe_verbose_dump() -> list[invariants.Outcome]:
    obj = load(POD)
    dumped = verbose_dump(obj)
    return [_check("OBJECTS-ROUNDTRIP", POD, obj, dumped, load(dumped))]


def crashing_load_documents(text: str, filename: str = "<input>") -> list:
    """Lets the YAML parser's exception escape."""
    import yaml

    return [d for d in yaml.safe_load_all(text) if d]


def probe_crashing_load_documents() -> list[invariants.Outcome]:
    out = []
    for text in ("a: [1,", "kind: Pod\n  bad: indent\n"):
        raised = None
        try:
            crashing_load_documents(text, "x.yaml")
        except Exception as error:  # noqa: BLE001 - the invariant judges it
            raised = error
        out.append(_check("OBJECTS-MALFORMED-INPUT-NO-CRASH", raised, ManifestError))
    return out


# -- defaulting ---------------------------------------------------------------------------


def overwriting_default(obj: Any) -> Any:
    """Sets restartPolicy Always even when the manifest chose another."""
    d = default(obj)
    if hasattr(d, "spec") and hasattr(d.spec, "restart_policy"):
        return attrs.evolve(d, spec=attrs.evolve(d.spec, restart_policy="Always"))
    return d


def probe_overwriting_default() -> list[invariants.Outcome]:
    return [
        _check("OBJECTS-DEFAULTING-PRESERVES-SET-FIELDS", POD, dump(overwriting_default(load(POD))))
    ]


def accumulating_default(obj: Any) -> Any:
    """Appends the namespace finalizer on every call."""
    d = default(obj)
    spec = d.spec
    return attrs.evolve(d, spec=attrs.evolve(spec, finalizers=(*spec.finalizers, "kubernetes")))


def probe_accumulating_default() -> list[invariants.Outcome]:
    ns = load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    once = accumulating_default(ns)
    return [_check("OBJECTS-DEFAULTING-IDEMPOTENT", dump(once), dump(accumulating_default(once)))]


def forgetful_default(obj: Any) -> Any:
    """Forgets restartPolicy, so a pod that omits it stays invalid."""
    d = default(obj)
    return attrs.evolve(d, spec=attrs.evolve(d.spec, restart_policy=None))


def probe_forgetful_default() -> list[invariants.Outcome]:
    pod = {**POD, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    errors = [str(e) for e in validate(forgetful_default(load(pod)))]
    return [_check("OBJECTS-VALID-AFTER-DEFAULTING", "Pod", errors)]


# -- selectors and names ---------------------------------------------------------------------


def notin_needs_key(selector: Mapping, labels: Mapping[str, str]) -> bool:
    """Treats NotIn as requiring the key to be present."""
    typed = api_io.structure(selector, LabelSelector)
    for r in typed.match_expressions:
        if r.operator == "NotIn" and r.key not in labels:
            return False
    return typed.matches(labels)


def probe_notin_needs_key() -> list[invariants.Outcome]:
    sel = {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}
    return [
        _check(
            "OBJECTS-LABEL-SELECTOR-SEMANTICS",
            sel,
            {"app": "web"},
            notin_needs_key(sel, {"app": "web"}),
        )
    ]


def anded_terms(selector: Mapping, labels: Mapping[str, str], node_name: str) -> bool:
    """ANDs the node selector terms instead of ORing them."""
    typed = api_io.structure(selector, NodeSelector)
    return all(t.matches(labels, node_name) for t in typed.node_selector_terms)


def probe_anded_terms() -> list[invariants.Outcome]:
    sel = {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        ]
    }
    labels = {"zone": "a"}
    return [
        _check("OBJECTS-NODE-SELECTOR-SEMANTICS", sel, labels, "n", anded_terms(sel, labels, "n"))
    ]


def case_insensitive_names(obj: Any) -> list:
    """Accepts upper-case names (lower-cases before checking)."""
    m = obj.metadata
    lowered = attrs.evolve(obj, metadata=attrs.evolve(m, name=(m.name or "").lower()))
    return validate(lowered)


def probe_case_insensitive_names() -> list[invariants.Outcome]:
    pod = {**POD, "metadata": {"name": "Web"}}
    errors = [
        str(e) for e in case_insensitive_names(default(load(pod))) if e.field == "metadata.name"
    ]
    return [_check("OBJECTS-NAME-SYNTAX", "subdomain", "Web", errors)]


def lossy_selector_print(text: str) -> str:
    """Prints notin as in."""
    from kubeprop.spec.api.selectors import parse_label_selector

    return str(parse_label_selector(text)).replace(" notin ", " in ")


def probe_lossy_selector_print() -> list[invariants.Outcome]:
    from kubeprop.spec.api.selectors import parse_label_selector

    text = "env notin (prod)"
    printed = lossy_selector_print(text)
    samples = [
        (
            labels,
            parse_label_selector(text).matches(labels),
            parse_label_selector(printed).matches(labels),
        )
        for labels in ({"env": "prod"}, {"env": "dev"}, {})
    ]
    return [_check("OBJECTS-SELECTOR-STRING-ROUNDTRIP", text, printed, samples)]


MUTANTS: dict[str, tuple[str, Callable[[], list[invariants.Outcome]]]] = {
    "flooring_parse": ("OBJECTS-QUANTITY-EXACT", probe_flooring_parse),
    "unreduced_canonical": ("OBJECTS-QUANTITY-CANONICAL", probe_unreduced_canonical),
    "lenient_load": ("OBJECTS-UNKNOWN-FIELD-REJECTED", probe_lenient_load),
    "first_error_validate": ("OBJECTS-ALL-ERRORS-REPORTED", probe_first_error_validate),
    "snake_case_paths": ("OBJECTS-ERROR-NAMES-FIELD", probe_snake_case_paths),
    "verbose_dump": ("OBJECTS-ROUNDTRIP", probe_verbose_dump),
    "crashing_load_documents": ("OBJECTS-MALFORMED-INPUT-NO-CRASH", probe_crashing_load_documents),
    "overwriting_default": ("OBJECTS-DEFAULTING-PRESERVES-SET-FIELDS", probe_overwriting_default),
    "accumulating_default": ("OBJECTS-DEFAULTING-IDEMPOTENT", probe_accumulating_default),
    "forgetful_default": ("OBJECTS-VALID-AFTER-DEFAULTING", probe_forgetful_default),
    "notin_needs_key": ("OBJECTS-LABEL-SELECTOR-SEMANTICS", probe_notin_needs_key),
    "anded_terms": ("OBJECTS-NODE-SELECTOR-SEMANTICS", probe_anded_terms),
    "case_insensitive_names": ("OBJECTS-NAME-SYNTAX", probe_case_insensitive_names),
    "lossy_selector_print": ("OBJECTS-SELECTOR-STRING-ROUNDTRIP", probe_lossy_selector_print),
}
