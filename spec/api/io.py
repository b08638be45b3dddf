"""Manifest IO: camelCase YAML/JSON documents <-> typed objects, with every error at once.

Contract (https://kubernetes.io/docs/concepts/overview/working-with-objects/#describing-a-kubernetes-object,
https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
- ``load(manifest)`` picks the type by ``apiVersion`` + ``kind`` (kinds.lookup) and
  builds the frozen object. It raises ``ManifestError`` listing ALL problems:
  missing apiVersion/kind (Required value), an unregistered kind (``no kind "Foo"
  is registered for version "v1"``), every unknown field by its full path
  (``unknown field "spec.containers[0].imagee"``, strict field validation),
  every value of the wrong JSON type (``spec.replicas: Invalid value: "three":
  spec.replicas in body must be of type integer``) and every bad quantity. Stored
  data is never touched: load is a pure function. ``null`` reads as absent.
- ``dump(obj)`` writes camelCase with ``apiVersion`` and ``kind`` first, omits
  fields at their zero value (None, empty list, empty map) and writes
  quantities in canonical form. ``load(dump(o)) == o`` for every object and
  ``dump(load(m)) == m`` for every canonical manifest (no empty lists or maps,
  canonical quantities).
- ``structure(data, cls, path)`` / ``unstructure(value)`` do the same for any
  attrs type of the model (a PodSpec, a LabelSelector, ...).
- ``load_documents(text, filename)`` reads multi-document YAML or JSON and flattens
  ``kind: List`` items; text that does not parse raises ManifestError naming
  ``filename:line:column`` and the parser's problem.
- ``copy_manifest(m)`` is a deep copy of a JSON-shaped manifest (what
  ``copy.deepcopy`` gives, without its memo); the API server and the informers
  copy manifests with it.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs
import yaml

from kubeprop.spec.api import kinds
from kubeprop.spec.api.base import FrozenMap, wire_name
from kubeprop.spec.api.errors import (
    FieldError,
    ManifestError,
    invalid,
    malformed,
    not_registered,
    required,
    type_invalid,
    unknown_field,
)
from kubeprop.spec.api.meta import List
from kubeprop.spec.api.quantity import Quantity

MAX_LIST_DEPTH = 8  # how deeply `kind: List` may nest inside a List


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, attrs.Attribute, Any], ...]:
    """(wire name, attribute, resolved type) of each field of an attrs class."""
    hints = typing.get_type_hints(cls)
    return tuple((wire_name(a), a, hints[a.name]) for a in attrs.fields(cls))


@functools.cache
def _by_wire_name(cls: type) -> dict[str, tuple[attrs.Attribute, Any]]:
    return {name: (a, tp) for name, a, tp in _fields(cls)}


def _json_type(tp: Any) -> str:
    """The OpenAPI type name of a model type, for type errors."""
    if tp is bool:
        return "boolean"
    if tp is int:
        return "integer"
    if tp is str:
        return "string"
    origin = typing.get_origin(tp)
    if origin is tuple:
        return "array"
    if origin is FrozenMap or attrs.has(tp):
        return "object"
    return "string"


def _wrong_type(path: str, value: Any, expected: str) -> FieldError:
    shown = value if isinstance(value, (str, int, float, bool)) or value is None else value
    return type_invalid(path, shown, f"{path or 'body'} in body must be of type {expected}")


# id(type) -> (the type, its shape): a look-up by id skips hashing typing objects
# (a union's hash is rebuilt on every call); the type is kept, so its id stays its own.
_SHAPES: dict[int, tuple[Any, tuple[str, Any]]] = {}


def _shape(tp: Any) -> tuple[str, Any]:
    """How the structurer walks a model type: a tag and what it needs (worked out once)."""
    found = _SHAPES.get(id(tp))
    if found is None or found[0] is not tp:
        found = _SHAPES[id(tp)] = (tp, _shape_of(tp))
    return found[1]


def _shape_of(tp: Any) -> tuple[str, Any]:
    if tp is Any:
        return "any", None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if set(args) == {int, str}:
            return "int-or-string", None
        return "optional", args[0]
    if origin is tuple:
        return "tuple", typing.get_args(tp)[0]
    if origin is FrozenMap:
        return "map", typing.get_args(tp)[1]
    if tp is Quantity:
        return "quantity", None
    if attrs.has(tp):
        return "struct", None
    return {bool: "bool", int: "int", str: "str"}.get(tp, "unknown"), None


class _Structurer:
    """Walks raw JSON-like data along a model type, collecting every error."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []  # every problem found so far, in document order

    def value(self, data: Any, tp: Any, path: str, depth: int = 0) -> Any:
        shape, args = _shape(tp)
        if shape == "optional":  # unwrapped here rather than by a second call
            if data is None:
                return None
            tp = args
            shape, args = _shape(tp)
        if shape == "str" and type(data) is str:  # the commonest case first
            return data
        if shape == "any":
            return self.any_object(data, path, depth)
        if shape == "int-or-string":
            if data is None:
                return None
            if isinstance(data, str) or (isinstance(data, int) and not isinstance(data, bool)):
                return data
            self.errors.append(_wrong_type(path, data, "integer or string"))
            return None
        if shape == "optional":  # pragma: no cover - only if a union nests an optional
            return None if data is None else self.value(data, args, path, depth)
        if data is None:
            return _zero(tp)
        if shape == "tuple":
            if not isinstance(data, list):
                self.errors.append(_wrong_type(path, data, "array"))
                return ()
            return tuple(
                self.value(item, args, index(path, i), depth) for i, item in enumerate(data)
            )
        if shape == "map":
            if type(data) is not dict and not isinstance(data, Mapping):
                self.errors.append(_wrong_type(path, data, "object"))
                return FrozenMap()
            result = {}
            for k, v in data.items():
                if not isinstance(k, str):
                    self.errors.append(_wrong_type(key(path, str(k)), k, "string"))
                    continue
                item = self.value(v, args, key(path, k), depth)
                if item is not None:  # a bad value was reported; keep the map well-typed
                    result[k] = item
            return FrozenMap(result)
        if shape == "quantity":
            return self.quantity(data, path)
        if shape == "struct":
            return self.struct(data, tp, path, depth)
        if shape == "bool":
            if isinstance(data, bool):
                return data
        elif shape == "int":
            if isinstance(data, int) and not isinstance(data, bool):
                return data
        elif shape == "str":
            if isinstance(data, str):
                return data
        else:  # pragma: no cover - a model type this walker does not know
            raise TypeError(f"unsupported model type {tp!r}")
        self.errors.append(_wrong_type(path, data, _json_type(tp)))
        return None

    def quantity(self, data: Any, path: str) -> Quantity | None:
        if isinstance(data, bool):
            text = None
        elif isinstance(data, int):
            return Quantity(data)
        elif isinstance(data, float) and math.isfinite(data):
            text = repr(data)
        else:
            text = data if isinstance(data, str) else None
        if text is None:
            self.errors.append(_wrong_type(path, data, "string"))
            return None
        try:
            return _parse_quantity(text)
        except ValueError as error:
            self.errors.append(invalid(path, data, str(error)))
            return None

    def struct(
        self, data: Any, cls: type, path: str, depth: int, skip: tuple[str, ...] = ()
    ) -> Any:
        if type(data) is not dict and not isinstance(data, Mapping):
            self.errors.append(_wrong_type(path, data, "object"))
            return None
        known = _by_wire_name(cls)
        kwargs = {}
        for name, raw in data.items():
            if name in skip:
                continue
            if not isinstance(name, str) or name not in known:
                self.errors.append(unknown_field(child(path, str(name))))
                continue
            attribute, tp = known[name]
            value = self.value(raw, tp, child(path, name), depth)
            if value is not None:
                kwargs[attribute.name] = value
        return cls(**kwargs)

    def any_object(self, data: Any, path: str, depth: int) -> Any:
        """An item of a List: a whole manifest of its own."""
        if depth >= MAX_LIST_DEPTH:
            self.errors.append(
                invalid(path, "List", f"Lists may nest at most {MAX_LIST_DEPTH} deep")
            )
            return None
        return self.manifest(data, path, depth + 1)

    def manifest(self, data: Any, path: str = "", depth: int = 0) -> Any:
        if not isinstance(data, Mapping):
            self.errors.append(_wrong_type(path, data, "object"))
            return None
        api_version, kind = data.get("apiVersion"), data.get("kind")
        missing = False
        for name, value in (("apiVersion", api_version), ("kind", kind)):
            if value is None or value == "":
                self.errors.append(required(child(path, name)))
                missing = True
            elif not isinstance(value, str):
                self.errors.append(_wrong_type(child(path, name), value, "string"))
                missing = True
        if missing:
            return None
        info = kinds.lookup(api_version, kind)
        if info is None:
            self.errors.append(not_registered(kind, api_version))
            return None
        return self.struct(data, info.type, path, depth, skip=("apiVersion", "kind"))


@functools.lru_cache(maxsize=4096)
def _parse_quantity(text: str) -> Quantity:
    """Quantity.parse, remembered (quantities are immutable; manifests repeat a few)."""
    return Quantity.parse(text)


def _zero(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return ()
    if origin is FrozenMap:
        return FrozenMap()
    return None


def load(manifest: Any) -> Any:
    """The typed object of a manifest; ManifestError lists every problem."""
    walker = _Structurer()
    obj = walker.manifest(manifest)
    if walker.errors:
        raise ManifestError(walker.errors)
    return obj


def structure(data: Any, cls: type, path: str = "") -> Any:
    """Any model type from its JSON form; ManifestError lists every problem."""
    walker = _Structurer()
    obj = walker.value(data, cls, path)
    if walker.errors:
        raise ManifestError(walker.errors)
    return obj


# The immutable values JSON decodes to: shared, never copied.
_JSON_SCALARS = (str, int, float, bool, type(None))


def unstructure(value: Any) -> Any:
    """The JSON form of a model value (zero-valued fields omitted)."""
    kind = type(value)
    if kind in _JSON_SCALARS:  # the commonest case first
        return value
    if isinstance(value, Quantity):
        return value.canonical()
    if attrs.has(kind):
        info = kinds.by_type(kind)
        out: dict[str, Any] = {}
        if info is not None:
            out["apiVersion"] = info.api_version
            out["kind"] = info.kind
        for name, attribute, _tp in _fields(kind):
            field_value = getattr(value, attribute.name)
            if type(field_value) in _JSON_SCALARS:
                if field_value is not None:
                    out[name] = field_value
                continue
            if isinstance(field_value, (tuple, Mapping)) and not field_value:
                continue
            out[name] = unstructure(field_value)
        return out
    if isinstance(value, tuple):
        return [unstructure(v) for v in value]
    if isinstance(value, Mapping):
        return {k: unstructure(v) for k, v in value.items()}
    return value


def copy_manifest(value: Any) -> Any:
    """A deep copy of a manifest: new dicts and lists, the same scalars.

    What ``copy.deepcopy`` gives for JSON-shaped data, about three times faster
    (no memo: a manifest has no shared or cyclic parts); any other value inside
    is handed to ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _JSON_SCALARS else copy_manifest(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _JSON_SCALARS else copy_manifest(v) for v in value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)


def dump(obj: Any) -> dict[str, Any]:
    """The canonical manifest of an object: camelCase, apiVersion and kind first."""
    if kinds.by_type(type(obj)) is None:
        raise TypeError(f"{type(obj).__name__} is not a registered kind")
    return unstructure(obj)


# -- text -------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, as Kubernetes' YAML-to-JSON does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _flatten(doc: Any, where: str, out: list[dict], depth: int = 0) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise ManifestError(
            [malformed(where, f"a document must be an object, not {_json_name(doc)}")]
        )
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        if depth >= MAX_LIST_DEPTH:
            raise ManifestError([malformed(where, f"Lists may nest at most {MAX_LIST_DEPTH} deep")])
        for item in doc["items"]:
            _flatten(item, where, out, depth + 1)
        return
    out.append(doc)


def _json_name(value: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)


def load_documents(text: str, filename: str = "<input>") -> list[dict]:
    """The manifests in a YAML or JSON text, ``kind: List`` items flattened."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ManifestError(
                [malformed(f"{filename}:1:1", f"invalid UTF-8: {error.reason}")]
            ) from None
    docs: list[Any]
    try:
        if text.lstrip().startswith(("{", "[")):
            try:
                docs = [json.loads(text)]
            except json.JSONDecodeError as error:
                where = f"{filename}:{error.lineno}:{error.colno}"
                raise ManifestError([malformed(where, error.msg)]) from None
            if isinstance(docs[0], list):
                docs = docs[0]
        else:
            docs = list(yaml.load_all(text, Loader=_Loader))  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = error.problem or error.context or "invalid YAML"
        raise ManifestError([malformed(where, problem)]) from None
    except yaml.YAMLError as error:
        raise ManifestError([malformed(f"{filename}:1:1", str(error))]) from None
    except RecursionError:
        raise ManifestError([malformed(f"{filename}:1:1", "document nests too deeply")]) from None
    out: list[dict] = []
    for i, doc in enumerate(docs):
        _flatten(doc, f"{filename}:document {i + 1}", out)
    return out


def load_all(text: str, filename: str = "<input>") -> list[Any]:
    """Every object of a YAML/JSON text; ManifestError lists the problems of all documents."""
    objects, errors = [], []
    for doc in load_documents(text, filename):
        walker = _Structurer()
        obj = walker.manifest(doc)
        errors.extend(walker.errors)
        objects.append(obj)
    if errors:
        raise ManifestError(errors, filename)
    return objects


def dumps(obj: Any) -> str:
    """A YAML text of an object's canonical manifest."""
    return yaml.safe_dump(dump(obj), sort_keys=False)


__all__ = [
    "List",
    "ManifestError",
    "dump",
    "dumps",
    "load",
    "load_all",
    "load_documents",
    "structure",
    "unstructure",
]
