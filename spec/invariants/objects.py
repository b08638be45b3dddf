"""The invariants of the object model: round trips, quantities, selectors, errors, defaulting.

Each predicate is pure and reads only the concrete values it is given (a
manifest and what load/dump made of it, a quantity string and its value, a
selector, labels and the answer ``matches`` gave, ...). Their oracles are written
independently of kubeprop.spec.api (sets, decimals, regular expressions) so that
a broken model cannot vouch for itself. The chapter is spec/objects.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from kubeprop.spec.invariants import HOLDS, Outcome, holds_if, invariant, violated

DOCS = "https://kubernetes.io/docs"
API = f"{DOCS}/reference/kubernetes-api"


def _diff(a: Any, b: Any, path: str = "") -> str | None:
    """The first path where two JSON-like values differ (None when equal)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'first' if k in a else 'second'}"
            d = _diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if type(a) is not type(b) or a != b:
        return f"{path}: {a!r} vs {b!r}"
    return None


@invariant(
    "OBJECTS-ROUNDTRIP",
    component="objects",
    kind="contract",
    statement="Writing a loaded canonical manifest gives the manifest back, and loading what was "
    "written gives the same object.",
    source=f"{DOCS}/concepts/overview/working-with-objects/",
)
def roundtrip(manifest: Mapping, obj: Any, dumped: Mapping, reloaded: Any) -> Outcome:
    d = _diff(manifest, dumped)
    if d:
        return violated(f"dump(load(m)) differs from m at {d}")
    if reloaded != obj:
        return violated(f"load(dump(o)) != o for {type(obj).__name__}")
    return HOLDS


_QUANTITY = re.compile(
    r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_DECIMAL_POWERS = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_POWERS = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def _exact(text: str) -> Fraction | None:
    """The value a quantity string denotes, magnitude rounded up to 1n (None if unparsed)."""
    m = _QUANTITY.match(text)
    if not m:
        return None
    sign, whole, frac, suffix = m.group(1), m.group(2) or "0", m.group(3) or "", m.group(4) or ""
    with localcontext() as ctx:
        ctx.prec = 200
        number = Decimal(f"{whole}.{frac or '0'}")
    value = Fraction(number)
    if suffix in _BINARY_POWERS:
        value *= 2 ** _BINARY_POWERS[suffix]
        if value > 2**63 - 1:
            value = Fraction(2**63 - 1)
    elif suffix in _DECIMAL_POWERS:
        value *= Fraction(10) ** _DECIMAL_POWERS[suffix]
    else:
        value *= Fraction(10) ** int(suffix[1:])
    nanos = value * 10**9
    nanos = -((-nanos.numerator) // nanos.denominator)  # ceil
    value = Fraction(nanos, 10**9)
    return -value if sign == "-" else value


@invariant(
    "OBJECTS-QUANTITY-EXACT",
    component="objects",
    kind="contract",
    statement="A parsed quantity is the exact rational its string denotes, its magnitude rounded "
    "up to a multiple of 1n (BinarySI capped at 2^63-1); never a float.",
    source=f"{API}/common-definitions/quantity/",
)
def quantity_exact(text: str, quantity: Any) -> Outcome:
    expected = _exact(text)
    if expected is None:
        return violated(f"{text!r} parsed although it is not a quantity")
    amount = getattr(quantity, "amount", None)
    if not isinstance(amount, Fraction):
        return violated(f"{text!r}: the value is a {type(amount).__name__}, not an exact Fraction")
    if amount != expected:
        return violated(f"{text!r} parsed to {amount} but denotes {expected}")
    return HOLDS


_CANONICAL = re.compile(r"^-?(0|[1-9][0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|e-?[0-9]+)?$")


@invariant(
    "OBJECTS-QUANTITY-CANONICAL",
    component="objects",
    kind="contract",
    statement="A quantity serialises to its canonical string: an integer mantissa with the largest "
    "suffix of its format that keeps it an integer, denoting the same value.",
    source=f"{API}/common-definitions/quantity/",
)
def quantity_canonical(quantity: Any, text: str, reparsed_value: Fraction | None) -> Outcome:
    m = _CANONICAL.match(text)
    if not m:
        return violated(f"{text!r} is not in canonical form (integer mantissa, one suffix)")
    if reparsed_value != quantity.amount:
        return violated(f"{text!r} denotes {reparsed_value}, not {quantity.amount}")
    mantissa, suffix = int(m.group(1)), m.group(2) or ""
    if mantissa == 0:
        return HOLDS if text == "0" else violated(f"zero must be written '0', not {text!r}")
    if suffix in _BINARY_POWERS or (suffix == "" and quantity.format.value == "BinarySI"):
        if mantissa % 1024 == 0 and suffix != "Ei":
            return violated(f"{text!r}: a larger binary suffix applies")
        return HOLDS
    if suffix.startswith("e"):
        exponent = int(suffix[1:])
        if exponent % 3:
            return violated(f"{text!r}: the exponent is not a multiple of 3")
    else:
        exponent = _DECIMAL_POWERS[suffix]
    if mantissa % 1000 == 0 and (suffix != "E" and not (suffix.startswith("e") and exponent >= 18)):
        return violated(f"{text!r}: a larger suffix applies")
    if suffix == "" and quantity.format.value == "DecimalExponent" and exponent != 0:
        return violated(f"{text!r}: lost its exponent")
    return HOLDS


@invariant(
    "OBJECTS-UNKNOWN-FIELD-REJECTED",
    component="objects",
    kind="contract",
    statement="A manifest with a field the kind does not have is rejected, and the error names "
    "the field's full path; nothing is dropped silently.",
    source=f"{DOCS}/reference/using-api/api-concepts/#field-validation",
)
def unknown_field_rejected(
    unknown_paths: Sequence[str], result: Any, messages: Sequence[str]
) -> Outcome:
    if not unknown_paths:
        return Outcome(ok=True, vacuous=True)
    if not messages:
        return violated(f"accepted a manifest with unknown fields {list(unknown_paths)}")
    missing = [p for p in unknown_paths if f'unknown field "{p}"' not in messages]
    return holds_if(
        [f'no error says unknown field "{p}"' for p in missing], checked=len(unknown_paths)
    )


@invariant(
    "OBJECTS-ALL-ERRORS-REPORTED",
    component="objects",
    kind="contract",
    statement="Decoding and validation report every problem of a request at once, never only the "
    "first.",
    source=f"{DOCS}/reference/using-api/api-concepts/#field-validation",
)
def all_errors_reported(expected_fields: Sequence[str], reported_fields: Sequence[str]) -> Outcome:
    missing = [f for f in expected_fields if f not in reported_fields]
    return holds_if([f"no error for {f}" for f in missing], checked=len(expected_fields))


_PATH = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*(\[[^\]]*\]|\.[a-zA-Z][a-zA-Z0-9]*)*$")


@invariant(
    "OBJECTS-ERROR-NAMES-FIELD",
    component="objects",
    kind="contract",
    statement="Every field error names the JSON path of its field in camelCase (e.g. "
    "spec.containers[0].image) and its text starts with that path.",
    source=f"{API}/common-definitions/status/",
)
def error_names_field(errors: Sequence[tuple[str, str]]) -> Outcome:
    problems = []
    for field, text in errors:
        if not field or text == f'unknown field "{field}"':
            continue  # an unknown field's path is the user's spelling
        if not _PATH.match(field):
            problems.append(f"{field!r} is not a camelCase field path")
        elif not (text.startswith(field + ": ") or text == f'unknown field "{field}"'):
            problems.append(f"{text!r} does not start with its field {field!r}")
    return holds_if(problems, checked=len(errors))


def _label_oracle(selector: Mapping, labels: Mapping[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k, None) != v or k not in labels:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], set(e.get("values") or [])
        if op == "In" and not (key in labels and labels[key] in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@invariant(
    "OBJECTS-LABEL-SELECTOR-SEMANTICS",
    component="objects",
    kind="contract",
    statement="A label selector matches exactly the label sets that satisfy all matchLabels and "
    "all matchExpressions (In, NotIn: absent or other value, Exists, DoesNotExist).",
    source=f"{DOCS}/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements",
)
def label_selector_semantics(
    selector: Mapping, labels: Mapping[str, str], matched: bool
) -> Outcome:
    expected = _label_oracle(selector, labels)
    if matched != expected:
        return violated(
            f"selector {dict(selector)} on {dict(labels)} gave {matched}, expected {expected}"
        )
    return HOLDS


def _node_requirement(req: Mapping, values: Mapping[str, str]) -> bool:
    key, op, vals = req["key"], req["operator"], list(req.get("values") or [])
    if op == "In":
        return key in values and values[key] in vals
    if op == "NotIn":
        return key not in values or values[key] not in vals
    if op == "Exists":
        return key in values
    if op == "DoesNotExist":
        return key not in values
    if op in ("Gt", "Lt") and key in values and len(vals) == 1:
        try:
            mine, theirs = int(values[key]), int(vals[0])
        except ValueError:
            return False
        return mine > theirs if op == "Gt" else mine < theirs
    return False


@invariant(
    "OBJECTS-NODE-SELECTOR-SEMANTICS",
    component="objects",
    kind="contract",
    statement="A node selector matches a node when at least one term matches (terms are ORed); "
    "a term matches when all its requirements hold (ANDed) and it has at least one.",
    source=f"{DOCS}/concepts/scheduling-eviction/assign-pod-node/#node-affinity",
)
def node_selector_semantics(
    selector: Mapping, labels: Mapping[str, str], node_name: str, matched: bool
) -> Outcome:
    expected = False
    for term in selector.get("nodeSelectorTerms") or []:
        exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not fields:
            continue
        if all(_node_requirement(r, labels) for r in exprs) and all(
            _node_requirement(r, {"metadata.name": node_name}) for r in fields
        ):
            expected = True
    if matched != expected:
        return violated(
            f"node selector {dict(selector)} on {dict(labels)} gave {matched}, expected {expected}"
        )
    return HOLDS


@invariant(
    "OBJECTS-DEFAULTING-IDEMPOTENT",
    component="objects",
    kind="contract",
    statement="Defaulting a defaulted object changes nothing.",
    source=f"{DOCS}/reference/using-api/api-concepts/#defaulting",
)
def defaulting_idempotent(once: Mapping, twice: Mapping) -> Outcome:
    d = _diff(once, twice)
    return violated(f"defaulting twice changed {d}") if d else HOLDS


def _subset(small: Any, big: Any, path: str) -> str | None:
    if isinstance(small, Mapping):
        if not isinstance(big, Mapping):
            return f"{path}: became {big!r}"
        for k, v in small.items():
            if k not in big:
                return f"{path}.{k}: removed"
            d = _subset(v, big[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(small, list):
        if not isinstance(big, list) or len(big) != len(small):
            return f"{path}: list changed length"
        for i, (x, y) in enumerate(zip(small, big)):
            d = _subset(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if small == big else f"{path}: {small!r} became {big!r}"


@invariant(
    "OBJECTS-DEFAULTING-PRESERVES-SET-FIELDS",
    component="objects",
    kind="contract",
    statement="Defaulting only fills fields that are unset; every field a manifest sets keeps its "
    "value.",
    source=f"{DOCS}/reference/using-api/api-concepts/#defaulting",
)
def defaulting_preserves(original: Mapping, defaulted: Mapping) -> Outcome:
    d = _subset(original, defaulted, "")
    return violated(f"defaulting overwrote {d}") if d else HOLDS


@invariant(
    "OBJECTS-VALID-AFTER-DEFAULTING",
    component="objects",
    kind="contract",
    statement="A well-formed manifest of any kind, once defaulted, passes validation without error.",
    source=f"{DOCS}/reference/using-api/api-concepts/#defaulting",
)
def valid_after_defaulting(kind: str, errors: Sequence[str]) -> Outcome:
    if errors:
        return violated(f"defaulted {kind} is invalid: " + "; ".join(errors[:3]))
    return HOLDS


@invariant(
    "OBJECTS-MALFORMED-INPUT-NO-CRASH",
    component="objects",
    kind="contract",
    statement="Any text or manifest, however malformed, gives either objects or a ManifestError "
    "listing its problems (with file:line:column for unparsable text); never another exception.",
    source=f"{DOCS}/reference/using-api/api-concepts/#field-validation",
)
def malformed_input_no_crash(raised: BaseException | None, error_type: type) -> Outcome:
    if raised is None:
        return HOLDS
    if not isinstance(raised, error_type):
        return violated(f"raised {type(raised).__name__}: {raised}")
    if not getattr(raised, "errors", None):
        return violated("a ManifestError without any error")
    return HOLDS


_NAME_RULES = {
    "subdomain": re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
    "label": re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
    "dns1035": re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"),
}
_NAME_MAX = {"subdomain": 253, "label": 63, "dns1035": 63}


@invariant(
    "OBJECTS-NAME-SYNTAX",
    component="objects",
    kind="contract",
    statement="An object's name is accepted exactly when it fits its kind's rule: a DNS-1123 "
    "subdomain (most kinds), a DNS-1123 label (Namespace) or a DNS-1035 label (Service).",
    source=f"{DOCS}/concepts/overview/working-with-objects/names/",
)
def name_syntax(rule: str, name: str, name_errors: Sequence[str]) -> Outcome:
    ok = bool(_NAME_RULES[rule].match(name)) and len(name) <= _NAME_MAX[rule]
    if ok and name_errors:
        return violated(f"valid {rule} name {name!r} rejected: {name_errors[0]}")
    if not ok and not name_errors:
        return violated(f"invalid {rule} name {name!r} accepted")
    return HOLDS


@invariant(
    "OBJECTS-SELECTOR-STRING-ROUNDTRIP",
    component="objects",
    kind="contract",
    statement="A label selector string and the string its parse prints select the same label sets.",
    source=f"{DOCS}/concepts/overview/working-with-objects/labels/#label-selectors",
)
def selector_string_roundtrip(
    text: str, printed: str, samples: Sequence[tuple[Mapping[str, str], bool, bool]]
) -> Outcome:
    bad = [
        f"{dict(labels)}: {text!r} gave {a}, {printed!r} gave {b}"
        for labels, a, b in samples
        if a != b
    ]
    return holds_if(bad, checked=len(samples))
