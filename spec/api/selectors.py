"""Label selectors, node selectors, and the label/field selector strings of list and watch.

Contract (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/,
https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/,
https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/):
- ``LabelSelector``: every ``match_labels`` pair AND every expression must hold.
  In: the key is present with one of the values; NotIn: the key is absent or its
  value is not one of them; Exists / DoesNotExist: the key is present / absent.
  An empty selector matches everything (a missing one, None, matches nothing:
  callers decide).
- ``NodeSelector``: the terms are ORed, the requirements of a term ANDed; a term
  with no requirement matches nothing. Gt/Lt compare the label, read as an
  integer, with the single integer value; a non-integer label does not match.
  ``match_fields`` supports ``metadata.name``.
- ``parse_label_selector("a=b,c!=d,e in (x,y),f notin (z),g,!h")`` and
  ``parse_field_selector("metadata.name=x,spec.nodeName!=y")`` return selectors
  with ``matches``; bad syntax raises ``SelectorError`` (a ValueError) saying what
  was found and what was expected.
- ``validate_label_selector`` / ``validate_node_selector`` return every problem as
  FieldErrors with upstream's messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from kubeprop.spec.api import names
from kubeprop.spec.api.base import FrozenMap, mapping, seq
from kubeprop.spec.api.errors import FieldError, forbidden, invalid, not_supported, required

LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


@attrs.frozen
class LabelSelectorRequirement:
    key: str | None = None
    operator: str | None = None
    values: tuple[str, ...] = seq()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        return False


@attrs.frozen
class LabelSelector:
    match_labels: FrozenMap[str, str] = mapping()
    match_expressions: tuple[LabelSelectorRequirement, ...] = seq()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        if any(labels.get(k) != v or k not in labels for k, v in self.match_labels.items()):
            return False
        return all(r.matches(labels) for r in self.match_expressions)

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


def label_selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """A None selector matches nothing; an empty one everything (LabelSelectorAsSelector)."""
    return selector is not None and selector.matches(labels)


@attrs.frozen
class NodeSelectorRequirement:
    key: str | None = None
    operator: str | None = None
    values: tuple[str, ...] = seq()

    def matches(self, values: Mapping[str, str]) -> bool:
        present = self.key in values
        op = self.operator
        if op == "In":
            return present and values[self.key] in self.values
        if op == "NotIn":
            return not present or values[self.key] not in self.values
        if op == "Exists":
            return present
        if op == "DoesNotExist":
            return not present
        if op in ("Gt", "Lt"):
            if not present or len(self.values) != 1:
                return False
            mine, theirs = _as_int(values[self.key]), _as_int(self.values[0])
            if mine is None or theirs is None:
                return False
            return mine > theirs if op == "Gt" else mine < theirs
        return False


def _as_int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text or "") else None


@attrs.frozen
class NodeSelectorTerm:
    match_expressions: tuple[NodeSelectorRequirement, ...] = seq()
    match_fields: tuple[NodeSelectorRequirement, ...] = seq()

    def matches(self, labels: Mapping[str, str], node_name: str = "") -> bool:
        if not self.match_expressions and not self.match_fields:
            return False
        fields = {"metadata.name": node_name}
        return all(r.matches(labels) for r in self.match_expressions) and all(
            r.matches(fields) for r in self.match_fields
        )


@attrs.frozen
class NodeSelector:
    node_selector_terms: tuple[NodeSelectorTerm, ...] = seq()

    def matches(self, labels: Mapping[str, str] | None, node_name: str = "") -> bool:
        labels = labels or {}
        return any(t.matches(labels, node_name) for t in self.node_selector_terms)


# -- validation -------------------------------------------------------------


# The operators label selectors and node selectors share, with the same rules for values.
SET_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _set_operator_values(operator: str, values: tuple[str, ...], at: str) -> list[FieldError]:
    """In and NotIn need values; Exists and DoesNotExist take none."""
    if operator in ("In", "NotIn") and not values:
        return [required(f"{at}.values", "must be specified when `operator` is 'In' or 'NotIn'")]
    if operator in ("Exists", "DoesNotExist") and values:
        return [
            forbidden(
                f"{at}.values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )
        ]
    return []


def validate_label_selector(selector: LabelSelector | None, path: str) -> list[FieldError]:
    if selector is None:
        return []
    errors: list[FieldError] = []
    for i, req in enumerate(selector.match_expressions):
        at = f"{path}.matchExpressions[{i}]"
        if req.operator in SET_OPERATORS:
            errors.extend(_set_operator_values(req.operator, req.values, at))
        else:
            errors.append(invalid(f"{at}.operator", req.operator, "not a valid selector operator"))
        errors.extend(names.validate_label_name(req.key or "", f"{at}.key"))
    errors.extend(names.validate_labels(selector.match_labels, f"{path}.matchLabels"))
    return errors


def validate_node_selector_requirement(req: NodeSelectorRequirement, at: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if req.operator in SET_OPERATORS:
        errors.extend(_set_operator_values(req.operator, req.values, at))
    elif req.operator in ("Gt", "Lt"):
        if len(req.values) != 1:
            errors.append(
                required(
                    f"{at}.values",
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                )
            )
    else:
        errors.append(not_supported(f"{at}.operator", req.operator, NODE_OPERATORS))
    errors.extend(names.validate_label_name(req.key or "", f"{at}.key"))
    return errors


def validate_node_selector(selector: NodeSelector | None, path: str) -> list[FieldError]:
    if selector is None:
        return []
    errors: list[FieldError] = []
    if not selector.node_selector_terms:
        errors.append(
            required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")
        )
    for i, term in enumerate(selector.node_selector_terms):
        at = f"{path}.nodeSelectorTerms[{i}]"
        for j, req in enumerate(term.match_expressions):
            errors.extend(validate_node_selector_requirement(req, f"{at}.matchExpressions[{j}]"))
        for j, req in enumerate(term.match_fields):
            where = f"{at}.matchFields[{j}]"
            if req.key != "metadata.name":
                errors.append(invalid(f"{where}.key", req.key, "not a valid field selector key"))
            if req.operator not in ("In", "NotIn"):
                errors.append(not_supported(f"{where}.operator", req.operator, ("In", "NotIn")))
            elif len(req.values) != 1:
                errors.append(
                    required(
                        f"{where}.values",
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    )
                )
    return errors


# -- the string syntax of list/watch -----------------------------------------


class SelectorError(ValueError):
    """A label or field selector string that cannot be parsed."""


@attrs.frozen
class Requirement:
    """One clause of a label selector string; ``operator`` as written."""

    key: str
    operator: str  # one of = == != in notin exists ! gt lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        op = self.operator
        if op in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if op == "exists":
            return present
        if op == "!":
            return not present
        if op in ("gt", "lt"):
            mine = _as_int(labels.get(self.key, "")) if present else None
            theirs = _as_int(self.values[0])
            if mine is None or theirs is None:
                return False
            return mine > theirs if op == "gt" else mine < theirs
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == "exists":
            return self.key
        if op == "!":
            return "!" + self.key
        if op in ("in", "notin"):
            return f"{self.key} {op} ({','.join(sorted(self.values))})"
        if op in ("gt", "lt"):
            return f"{self.key}{'>' if op == 'gt' else '<'}{self.values[0]}"
        return f"{self.key}{op}{self.values[0]}"


@attrs.frozen
class Selector:
    """A parsed label selector string: requirements ANDed; empty matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:  # pragma: no cover - the pattern accepts any non-space run
            raise SelectorError(f"unable to parse requirement: {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


_SYMBOLS = {"!=", "==", "=", "!", "(", ")", ",", ">", "<"}


def parse_label_selector(text: str) -> Selector:
    """Parse the label selector string of list/watch (labels.Parse)."""
    tokens = _tokens(text or "")
    pos = 0
    requirements: list[Requirement] = []

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def found(tok: str | None) -> str:
        return "end of string" if tok is None else f"'{tok}'"

    def identifier(what: str = "identifier") -> str:
        nonlocal pos
        tok = peek()
        if tok is None or tok in _SYMBOLS or tok in ("in", "notin"):
            raise SelectorError(f"found {found(tok)}, expected: {what}")
        pos += 1
        return tok

    def value() -> str:
        nonlocal pos
        tok = peek()
        if tok is None or tok in (",", ")"):
            return ""  # an empty value: "a=" selects a=""
        if tok in _SYMBOLS:
            raise SelectorError(f"found {found(tok)}, expected: identifier")
        pos += 1
        return tok

    while pos < len(tokens):
        if peek() == "!":
            pos += 1
            key = identifier()
            requirements.append(Requirement(key, "!"))
        else:
            key = identifier()
            tok = peek()
            if tok is None or tok == ",":
                requirements.append(Requirement(key, "exists"))
            elif tok in ("=", "==", "!="):
                pos += 1
                requirements.append(Requirement(key, tok, (value(),)))
            elif tok in (">", "<"):
                pos += 1
                number = identifier("integer")
                if _as_int(number) is None:
                    raise SelectorError(
                        f"for 'Gt', 'Lt' operators, the value must be an integer: {number!r}"
                    )
                requirements.append(Requirement(key, "gt" if tok == ">" else "lt", (number,)))
            elif tok in ("in", "notin"):
                pos += 1
                if peek() != "(":
                    raise SelectorError(f"found {found(peek())}, expected: '('")
                pos += 1
                values: list[str] = []
                while True:
                    if peek() == ")" and not values:
                        break
                    values.append(value())
                    if peek() == ",":
                        pos += 1
                        continue
                    if peek() == ")":
                        break
                    raise SelectorError(f"found {found(peek())}, expected: ',' or ')'")
                pos += 1
                if not values:
                    raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
                requirements.append(Requirement(key, tok, tuple(values)))
            else:
                raise SelectorError(f"found {found(tok)}, expected: '=', '!=', '==', 'in', notin'")
        if peek() is None:
            break
        if peek() != ",":
            raise SelectorError(f"found {found(peek())}, expected: ','")
        pos += 1
        if peek() is None:
            raise SelectorError("found end of string, expected: identifier")
    for req in requirements:
        problems = names.validate_label_name(req.key, "key")
        for v in req.values if req.operator not in ("gt", "lt") else ():
            problems += names.validate_label_value(v, "values")
        if problems:
            raise SelectorError(f"unable to parse requirement: {problems[0]}")
    return Selector(tuple(requirements))


@attrs.frozen
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return not equal if self.operator == "!=" else equal


@attrs.frozen
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def fields(self) -> tuple[str, ...]:
        return tuple(r.field for r in self.requirements)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        raise SelectorError(f"invalid field selector: {text!r}: trailing backslash")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(
                    f"invalid field selector value: invalid escape sequence: \\{ch}"
                )
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "=":
            raise SelectorError(f"invalid field selector value: unescaped '=' in {text!r}")
        else:
            out.append(ch)
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``metadata.name=x,spec.nodeName!=y`` (fields.ParseSelector)."""
    if not (text or "").strip():
        return FieldSelector()
    requirements = []
    for part in _split_unescaped(text, ","):
        for op in ("!=", "==", "="):
            index = _first_unescaped(part, op)
            if index >= 0:
                field, raw = part[:index].strip(), part[index + len(op) :]
                if not field:
                    raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
                requirements.append(FieldRequirement(field, op, _unescape(raw)))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(requirements))


def _first_unescaped(text: str, op: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(op, i):
            return i
        i += 1
    return -1
