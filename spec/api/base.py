"""The building blocks of the object model: frozen mappings, field helpers, wire names.

Contract:
- ``FrozenMap`` is an immutable, hashable mapping; it equals any mapping with the
  same items, so a field holding one compares like a Go map.
- ``seq()``, ``mapping()`` make attrs fields whose zero value is ``()`` / an empty
  ``FrozenMap`` and that convert lists and dicts on construction (and on
  ``attrs.evolve``), so objects can be written with plain literals.
- ``wire_name(field)`` is the camelCase JSON name Kubernetes uses for a snake_case
  field: words after the first are capitalised, the acronyms of the Kubernetes API
  (IP, IPs, ID, CIDR, CIDRs, UUID, UID, URL) are upper-cased, a trailing ``_`` (for
  Python keywords such as ``continue_``) is dropped; ``alias`` metadata overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping, Generic[K, V]):
    """An immutable, hashable mapping (a Go ``map[string]T`` as a value)."""

    # ``get`` is a slot holding the dict's own bound ``get`` (it shadows Mapping.get):
    # the scheduler's per-node loops look values up millions of times, and a C method
    # costs a fraction of a Python one.
    __slots__ = ("_items", "_hash", "get")

    def __init__(self, items: Mapping[K, V] | Any = (), /):
        # Another FrozenMap's dict can be shared: neither ever changes it.
        self._items: dict[K, V] = items._items if type(items) is FrozenMap else dict(items)
        self._hash: int | None = None
        self.get = self._items.get

    def __reduce__(self):  # copy and pickle rebuild it from its items
        return (FrozenMap, (self._items,))

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    # The read methods below answer from the dict itself; Mapping's generic ones go
    # through __getitem__ (and an exception for a missing key).
    def __contains__(self, key: object) -> bool:
        return key in self._items

    def keys(self):  # a read-only view (dict_keys), set-like as Mapping's KeysView
        return self._items.keys()

    def items(self):  # a read-only view (dict_items), set-like as Mapping's ItemsView
        return self._items.items()

    def values(self):  # a read-only view (dict_values)
        return self._items.values()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` set to ``value``."""
        return FrozenMap({**self._items, key: value})

    def without(self, key: K) -> FrozenMap[K, V]:
        """A copy without ``key``."""
        return FrozenMap({k: v for k, v in self._items.items() if k != key})


EMPTY: FrozenMap = FrozenMap()


def _to_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return tuple(value)


def _to_map(value: Any) -> FrozenMap:
    if value is None:
        return EMPTY
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap(value)


def seq(*, alias: str | None = None) -> Any:
    """A list field: zero value ``()``, lists are converted to tuples."""
    return attrs.field(default=(), converter=_to_tuple, metadata=_meta(alias))


def mapping(
    *, value_converter: Callable[[Any], Any] | None = None, alias: str | None = None
) -> Any:
    """A map field: zero value an empty FrozenMap, dicts are converted."""
    if value_converter is None:
        converter = _to_map
    else:

        def converter(value: Any) -> FrozenMap:
            return FrozenMap({k: value_converter(v) for k, v in _to_map(value).items()})

    return attrs.field(default=EMPTY, converter=converter, metadata=_meta(alias))


def opt(*, alias: str | None = None) -> Any:
    """A scalar or struct field whose zero value is None (omitted from manifests)."""
    return attrs.field(default=None, metadata=_meta(alias))


def _meta(alias: str | None) -> dict[str, str]:
    return {"alias": alias} if alias else {}


ACRONYMS = {
    "ip": "IP",
    "ips": "IPs",
    "id": "ID",
    "cidr": "CIDR",
    "cidrs": "CIDRs",
    "uuid": "UUID",
    "uid": "UID",
    "url": "URL",
}


def camel(name: str) -> str:
    """``pod_cidrs`` -> ``podCIDRs``; ``continue_`` -> ``continue``."""
    words = name.rstrip("_").split("_")
    return words[0] + "".join(ACRONYMS.get(w, w[:1].upper() + w[1:]) for w in words[1:])


def wire_name(field: attrs.Attribute) -> str:
    return field.metadata.get("alias") or camel(field.name)
