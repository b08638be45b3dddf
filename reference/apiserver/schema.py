"""The API server's bridge to the object model (``kubeprop.spec.api``).

Every body is decoded into its typed object (unknown fields handled per
``fieldValidation``), defaulted and validated there, and stored as the
canonical manifest the object model dumps. Failures become Status errors:
decoding problems 400 BadRequest, validation problems 422 Invalid with one
cause per field error. Selectors in list/watch parameters are parsed here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kubeprop.reference.apiserver import status as errors
from kubeprop.spec.api import defaults, io, selectors, validation
from kubeprop.spec.api import errors as field

Manifest = dict[str, Any]

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def decode_defaulted(
    res: Any, manifest: Manifest, field_validation: str
) -> tuple[Manifest, list[str]]:
    """The canonical, defaulted manifest of ``manifest`` and the warnings to send.

    Unknown fields: Strict rejects them (400), Warn drops them with a warning,
    Ignore drops them silently. Any other decoding problem is a 400."""
    try:
        return io.dump(defaults.default(io.load(manifest))), []
    except field.ManifestError as error:
        unknown = [e for e in error.errors if e.type is field.ErrorType.UNKNOWN_FIELD]
        other = [e for e in error.errors if e.type is not field.ErrorType.UNKNOWN_FIELD]
    if other:
        raise errors.bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            + "; ".join(str(e) for e in other)
        )
    if field_validation == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(str(e) for e in unknown))
    pruned = manifest
    for error in unknown:
        pruned = _without(pruned, error.field)
    try:
        obj = io.load(pruned)
    except field.ManifestError as error:  # pruning should have fixed everything
        raise errors.bad_request(str(error)) from None
    warnings = [str(e) for e in unknown] if field_validation == "Warn" else []
    return io.dump(defaults.default(obj)), warnings


def pruned(res: Any, manifest: Manifest, field_validation: str) -> tuple[Manifest, list[str]]:
    """``manifest`` without its unknown fields (as ``decode_defaulted`` treats them) and
    without defaults: what a server-side apply configuration says, as sent."""
    try:
        io.load(manifest)
        return manifest, []
    except field.ManifestError as error:
        unknown = [e for e in error.errors if e.type is field.ErrorType.UNKNOWN_FIELD]
        other = [e for e in error.errors if e.type is not field.ErrorType.UNKNOWN_FIELD]
    if other:
        raise errors.bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            + "; ".join(str(e) for e in other)
        )
    if field_validation == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(str(e) for e in unknown))
    for error in unknown:
        manifest = _without(manifest, error.field)
    return manifest, ([str(e) for e in unknown] if field_validation == "Warn" else [])


def _without(manifest: Manifest, path: str) -> Manifest:
    """A copy of ``manifest`` without the field at ``path`` (``a.b[0].c``)."""
    tokens: list[str | int] = [
        name if name else int(index) for name, index in _PATH_TOKEN.findall(path)
    ]

    def strip(node: Any, rest: Sequence[str | int]) -> Any:
        if not rest:
            return node
        head, tail = rest[0], rest[1:]
        if isinstance(node, dict) and isinstance(head, str) and head in node:
            if not tail:
                return {k: v for k, v in node.items() if k != head}
            return {**node, head: strip(node[head], tail)}
        if isinstance(node, list) and isinstance(head, int) and head < len(node):
            return [strip(item, tail) if i == head else item for i, item in enumerate(node)]
        return node

    return strip(manifest, tokens)


def _typed(manifest: Manifest) -> Any:
    """The typed object of a stored manifest (metadata.managedFields is the server's
    own bookkeeping, outside the object model: reference/apiserver/apply.py)."""
    meta = manifest.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        manifest = {**manifest, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return io.load(manifest)


def validated(res: Any, manifest: Manifest) -> Manifest:
    """``manifest`` if valid for create; 422 Invalid with every error otherwise."""
    problems = validation.validate(_typed(manifest))
    if problems:
        raise_invalid(res, manifest["metadata"].get("name", ""), problems)
    return manifest


def validated_update(res: Any, manifest: Manifest, old: Manifest) -> Manifest:
    """``manifest`` if valid as an update of ``old``; 422 Invalid otherwise."""
    new_obj, old_obj = _typed(manifest), _typed(old)
    problems = list(validation.validate(new_obj))
    seen = {str(p) for p in problems}
    for problem in validation.validate_update(new_obj, old_obj):
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    problems.extend(_finalizer_problems(manifest, old))
    if problems:
        raise_invalid(res, manifest["metadata"].get("name", ""), problems)
    return manifest


def _finalizer_problems(manifest: Manifest, old: Manifest) -> list[Any]:
    """No new finalizer may be added once an object is being deleted."""
    if not old["metadata"].get("deletionTimestamp"):
        return []
    before = set(old["metadata"].get("finalizers") or [])
    added = [f for f in manifest["metadata"].get("finalizers") or [] if f not in before]
    if not added:
        return []
    listed = ", ".join(f'"{f}"' for f in added)
    return [
        field.forbidden(
            "metadata.finalizers",
            f"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{listed}}}",
        )
    ]


def field_error(kind: str, path: str, value: Any, detail: str, supported=None) -> Any:
    """A FieldError by the name of its type (Required, Invalid, NotSupported, Forbidden)."""
    if kind == "Required":
        return field.required(path, detail)
    if kind == "NotSupported":
        return field.not_supported(path, value, supported or ())
    if kind == "Forbidden":
        return field.forbidden(path, detail)
    return field.invalid(path, value, detail)


def raise_invalid(res: Any, name: str, problems, kind: str | None = None, group: str | None = None):
    raise errors.invalid(kind or res.kind, name, problems, res.group if group is None else group)


def label_matcher(text: str) -> Callable[[dict[str, str]], bool]:
    """The labelSelector parameter as a predicate over labels; 400 if malformed."""
    if not text:
        return lambda labels: True
    try:
        selector = selectors.parse_label_selector(text)
    except ValueError as error:
        raise errors.bad_request(f"unable to parse requirement: {error}") from None
    return selector.matches


def field_requirements(text: str) -> list[tuple[str, str, str]]:
    """The fieldSelector parameter as (label, "=" or "!=", value) triples; 400 if malformed."""
    if not text:
        return []
    try:
        parsed = selectors.parse_field_selector(text)
    except ValueError as error:
        raise errors.bad_request(f"invalid field selector: {error}") from None
    return [
        (r.field, "=" if r.operator in ("=", "==") else "!=", r.value) for r in parsed.requirements
    ]


def selector_string(selector: Manifest | None) -> str:
    """A LabelSelector manifest in the string syntax (as Scale.status.selector shows it)."""
    if not selector:
        return ""
    clauses: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        clauses.append((key, f"{key}={value}"))
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator")
        values = ",".join(sorted(expression.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(operator, key)
        clauses.append((key, text))
    return ",".join(text for _, text in sorted(clauses))
