"""Server-side apply and field ownership: ``metadata.managedFields``.

Contract (https://kubernetes.io/docs/reference/using-api/server-side-apply/,
spec/apiserver.md "server-side apply"):

- Every field of an object may be owned by field managers. An entry of
  ``metadata.managedFields`` names a manager, its operation (``Apply`` or
  ``Update``), the apiVersion it used, when it last changed what it owns, and
  the set of fields it owns in the ``FieldsV1`` format (``f:<field>``,
  ``k:<list-map keys as JSON>``, ``v:<set value as JSON>``, ``.`` for the
  element itself). System fields (apiVersion, kind, name, namespace, uid,
  resourceVersion, generation, creationTimestamp, managedFields, deletion
  fields) are never owned, nor is status through the main resource, nor
  anything but status through ``/status``.
- An apply (``apply`` below) owns exactly the fields of its applied
  configuration. A field the manager applied before, no longer applies, and
  nobody else owns (itself, a part of it, or an atomic whole around it) is
  removed from the object. The applied configuration merges into the object
  as the structure says (``patch.STRUCTURE``): maps and structs field by
  field, list-maps element by element by their keys, sets by value,
  everything else replaced. The apply fails with a conflict when the result
  changes the value of a field another manager owns (a map that merges
  changes through its own fields, an element is only kept), unless forced:
  then the other managers lose those fields.
- An update with a field manager (``record_update``) gives that manager's
  ``Update`` entry every field it added or changed, and takes those fields
  from every other manager; fields it removed are owned by nobody.
- Upgrading from client-side apply (upstream's lastAppliedManager and
  lastAppliedUpdater): the manager ``kubectl`` takes over without conflict the
  fields the object's last-applied-configuration annotation names, and
  rewrites that annotation when the object has one.
- Fields are compared by value; an entry whose set becomes empty is dropped;
  an entry's time moves only when its set or the object changes; entries are
  stored Apply first, then by time, manager, apiVersion and subresource.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from kubeprop.reference.apiserver.patch import STRUCTURE, Field, field_of
from kubeprop.spec.api.meta import UNOWNED_METADATA

Manifest = dict[str, Any]
Path = tuple[str, ...]  # FieldsV1 path elements, "f:spec", 'k:{"name":"web"}', 'v:"a"'

APPLY = "Apply"
KUBECTL = "kubectl"  # the manager kubectl apply --server-side uses by default
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
# Values list-map keys default to when an element omits them (ContainerPort.protocol,
# ServicePort.protocol), so that an applied element matches its defaulted live twin.
KEY_DEFAULTS = {"protocol": "TCP"}


class ManagedFieldsError(ValueError):
    """``metadata.managedFields`` is not a list of well-formed entries."""


@attrs.frozen
class Entry:
    """One element of metadata.managedFields."""

    manager: str
    operation: str  # APPLY or UPDATE
    api_version: str
    fields: frozenset[Path]
    time: str | None = None
    subresource: str | None = None

    def same_owner(self, other: Entry) -> bool:
        return (self.manager, self.operation, self.subresource) == (
            other.manager,
            other.operation,
            other.subresource,
        )

    def dump(self) -> Manifest:
        entry: Manifest = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = fields_v1(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


@attrs.frozen
class Conflict:
    """A field another manager owns with a different value than an apply sets."""

    manager: Entry
    path: Path

    @property
    def field(self) -> str:
        return describe(self.path)

    @property
    def owner(self) -> str:
        """The manager as upstream's conflict messages print it."""
        name = json.dumps(self.manager.manager)
        if self.manager.operation != UPDATE:
            return name
        if self.manager.time is None:
            return f"{name} using {self.manager.api_version}"
        return f"{name} using {self.manager.api_version} at {self.manager.time}"


class ApplyConflict(Exception):
    """An apply that would change fields other managers own; ``conflicts`` lists them."""

    def __init__(self, conflicts: Iterable[Conflict]):
        self.conflicts = tuple(conflicts)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Upstream's wording (k8s.io/apiserver internal/fieldmanager, getConflictMessage)."""
        if len(self.conflicts) == 1:
            only = self.conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {only.owner}: {only.field}"
        lines: list[str] = []
        for owner in sorted({c.owner for c in self.conflicts}):
            lines.append(f"conflicts with {owner}:")
            lines.extend(f"- {c.field}" for c in self.conflicts if c.owner == owner)
        return f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)


# ---------------------------------------------------------------------- FieldsV1


def fields_v1(paths: Iterable[Path]) -> Manifest:
    """The FieldsV1 tree of a set of paths: a member with children gets a ``.`` child."""
    members = set(paths)
    tree: Manifest = {}
    for path in sorted(members):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in members:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}

    def ordered(node: Manifest) -> Manifest:  # "." first, then by name, as upstream sorts
        return {key: ordered(node[key]) for key in sorted(node)}

    return ordered(tree)


def parse_fields_v1(tree: Any, where: str = "fieldsV1") -> frozenset[Path]:
    """The set of paths a FieldsV1 tree holds; ManagedFieldsError if malformed."""
    paths: set[Path] = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict):
            raise ManagedFieldsError(f"{where}: {describe(prefix) or '.'} must be an object")
        if not node and prefix:
            paths.add(prefix)
        for element, child in node.items():
            if element == ".":
                if prefix:
                    paths.add(prefix)
                continue
            if not isinstance(element, str) or element[:2] not in ("f:", "k:", "v:", "i:"):
                raise ManagedFieldsError(f"{where}: unknown path element {element!r}")
            if element[:2] in ("k:", "v:"):
                try:
                    json.loads(element[2:])
                except json.JSONDecodeError:
                    raise ManagedFieldsError(
                        f"{where}: path element {element!r} is not valid JSON"
                    ) from None
            walk(child, (*prefix, element))

    walk(tree, ())
    return frozenset(paths)


def entries(manifest: Manifest | None) -> list[Entry]:
    """The managedFields of ``manifest`` as entries; ManagedFieldsError if malformed."""
    raw = ((manifest or {}).get("metadata") or {}).get("managedFields")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ManagedFieldsError("metadata.managedFields must be a list")
    parsed = []
    for index, item in enumerate(raw):
        where = f"metadata.managedFields[{index}]"
        if not isinstance(item, dict):
            raise ManagedFieldsError(f"{where} must be an object")
        operation = item.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError(f'{where}.operation must be "Apply" or "Update"')
        if item.get("fieldsType", FIELDS_V1) != FIELDS_V1:
            raise ManagedFieldsError(f'{where}.fieldsType must be "FieldsV1"')
        for key in ("manager", "apiVersion", "time", "subresource"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ManagedFieldsError(f"{where}.{key} must be a string")
        parsed.append(
            Entry(
                manager=item.get("manager") or "",
                operation=operation,
                api_version=item.get("apiVersion") or "",
                fields=parse_fields_v1(item.get("fieldsV1") or {}, f"{where}.fieldsV1"),
                time=item.get("time"),
                subresource=item.get("subresource") or None,
            )
        )
    return parsed


def encode(managers: Iterable[Entry]) -> list[Manifest]:
    """managedFields as the server stores them: Apply entries first, then by time,
    manager, apiVersion and subresource (upstream's sortEncodedManagedFields)."""
    ordered = sorted(
        managers,
        key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource or ""),
    )
    return [entry.dump() for entry in ordered]


def describe(path: Path) -> str:
    """A path as upstream prints it: ``.spec.containers[name="web"].image``."""
    text = ""
    for element in path:
        kind, rest = element[:2], element[2:]
        if kind == "f:":
            text += f".{rest}"
        elif kind == "k:":
            keys = json.loads(rest)
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif kind == "v:":
            text += f"[={rest}]"
        else:
            text += f"[{rest}]"
    return text


# ---------------------------------------------------------------------- field sets


def identity(item: Manifest, field: Field) -> str:
    """The ``k:`` element of a list-map item: its keys (defaulted) as sorted JSON."""
    keys = {}
    for key in field.map_keys:
        value = item.get(key, KEY_DEFAULTS.get(key))
        if value is not None:
            keys[key] = value
    return "k:" + json.dumps(keys, sort_keys=True, separators=(",", ":"))


def _is_list_map(value: Any, field: Field) -> bool:
    return (
        field.list_type == "map"
        and isinstance(value, list)
        and all(isinstance(i, dict) for i in value)
    )


def _element(value: Any) -> str:
    return "v:" + json.dumps(value, sort_keys=True, separators=(",", ":"))


def field_set(manifest: Manifest, kind: str, scope: Callable[[str], bool]) -> frozenset[Path]:
    """The fields ``manifest`` sets, as owned by whoever applies it: its leaves (values,
    empty maps, atomic lists and structs) and the elements of its list-maps and sets.
    ``scope`` says which top-level fields count (status or not)."""
    paths: set[Path] = set()

    def walk(node: Manifest, type_name: str | None, prefix: Path) -> None:
        for name, value in node.items():
            if value is None:
                continue
            field = field_of(type_name, name)
            path = (*prefix, f"f:{name}")
            if isinstance(value, dict) and value and not field.atomic:
                walk(value, field.type, path)
            elif _is_list_map(value, field) and value:
                for item in value:
                    element = (*path, identity(item, field))
                    paths.add(element)
                    walk(item, field.type, element)
            elif field.list_type == "set" and isinstance(value, list) and value:
                paths.update((*path, _element(item)) for item in value)
            else:
                paths.add(path)

    root = kind if kind in STRUCTURE else None
    for name, value in manifest.items():
        if name in ("apiVersion", "kind") or value is None or not scope(name):
            continue
        if name == "metadata" and isinstance(value, dict):
            owned = {k: v for k, v in value.items() if k not in UNOWNED_METADATA}
            walk(owned, "ObjectMeta", ("f:metadata",))
        else:
            walk({name: value}, root, ())
    return frozenset(paths)


_MISSING = object()


def value_at(manifest: Any, path: Path, kind: str) -> Any:
    """The value at ``path`` (``_MISSING`` when absent)."""
    node, type_name, field = manifest, kind if kind in STRUCTURE else None, Field()
    for element in path:
        kind_, rest = element[:2], element[2:]
        if kind_ == "f:" and isinstance(node, dict) and rest in node:
            field = field_of(type_name, rest)
            node, type_name = node[rest], field.type
        elif kind_ == "k:" and isinstance(node, list):
            node = next(
                (i for i in node if isinstance(i, dict) and identity(i, field) == element),
                _MISSING,
            )
        elif kind_ == "v:" and isinstance(node, list):
            node = json.loads(rest) if json.loads(rest) in node else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _remove(manifest: Manifest, path: Path, kind: str) -> None:
    """Remove the field or element at ``path`` from ``manifest`` (in place), if there."""
    parent = value_at(manifest, path[:-1], kind) if len(path) > 1 else manifest
    if parent is _MISSING:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
        return
    if not isinstance(parent, list):
        return
    if last.startswith("v:"):
        value = json.loads(last[2:])
        parent[:] = [item for item in parent if item != value]
        return
    field = _field_at(path[:-1], kind)
    parent[:] = [i for i in parent if not (isinstance(i, dict) and identity(i, field) == last)]


def _field_at(path: Path, kind: str) -> Field:
    """The Field of the list (or map) that ``path`` ends at."""
    type_name, field = (kind if kind in STRUCTURE else None), Field()
    for element in path:
        if element.startswith("f:"):
            field = field_of(type_name, element[2:])
            type_name = field.type
    return field


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---------------------------------------------------------------------- update


def record_update(
    old: Manifest | None,
    new: Manifest,
    *,
    kind: str,
    manager: str,
    api_version: str,
    now: str,
    scope: Callable[[str], bool],
    subresource: str | None = None,
) -> list[Manifest]:
    """The managedFields of ``new`` after an update (or create, ``old`` None) by
    ``manager``: its Update entry gains what it added or changed, which every other
    entry loses; what it removed nobody owns."""
    managers = entries(new)
    before = field_set(old, kind, scope) if old is not None else frozenset()
    after = field_set(new, kind, scope)
    changed = {
        p
        for p in after
        if p not in before or not _same(value_at(old, p, kind), value_at(new, p, kind))
    }
    removed = before - after
    if not changed and not removed:
        return encode(managers)
    mine = Entry(manager, UPDATE, api_version, frozenset(), now, subresource)
    result: list[Entry] = []
    placed = False
    for entry in managers:
        kept = frozenset(p for p in entry.fields if p not in removed and not _descends(p, changed))
        if entry.same_owner(mine):
            entry = attrs.evolve(entry, fields=kept | changed, api_version=api_version, time=now)
            placed = True
        else:
            entry = attrs.evolve(entry, fields=kept)
        if entry.fields:
            result.append(entry)
    if not placed and changed:
        result.append(attrs.evolve(mine, fields=frozenset(changed)))
    return encode(result)


def _descends(path: Path, ancestors: set[Path]) -> bool:
    return any(path[:n] in ancestors for n in range(1, len(path) + 1))


# ---------------------------------------------------------------------- apply


def apply(
    live: Manifest | None,
    applied: Manifest,
    *,
    kind: str,
    manager: str,
    api_version: str,
    now: str,
    force: bool,
    scope: Callable[[str], bool],
    subresource: str | None = None,
) -> Manifest:
    """``live`` (None: a new object) with the configuration ``applied`` by ``manager``,
    and managedFields saying who owns what; ApplyConflict if another manager owns a
    field this would change and ``force`` is not set."""
    applied = _without_nulls(applied)
    managers = entries(live)
    mine = Entry(manager, APPLY, api_version, frozenset(), now, subresource)
    previous = next((e for e in managers if e.same_owner(mine)), None)
    owned = field_set(applied, kind, scope)
    result = copy.deepcopy(live) if live is not None else {}
    others = [e for e in managers if not e.same_owner(mine)]
    if previous is not None:
        dropped = [
            p
            for p in previous.fields - owned
            if not any(q[: len(p)] == p for q in owned)  # not now applied, whole or in part
            and not any(_also_owns(e.fields, p, kind) for e in others)
        ]
        gone = set(dropped)
        for path in dropped:  # the outermost only: removing an element removes its fields
            if not any(path[:n] in gone for n in range(1, len(path))):
                _remove(result, path, kind)
    result = _merge(result, applied, kind if kind in STRUCTURE else None)
    conflicts = [
        Conflict(entry, path)
        for entry in others
        for path in sorted(entry.fields)
        if _changes(live, result, path, kind)
    ]
    if conflicts and not force and manager == KUBECTL:
        # Upgrading from client-side apply: kubectl may take over, without a
        # conflict, the fields its last-applied-configuration annotation names
        # (upstream's lastAppliedManager).
        allowed = _last_applied_fields(live, kind, scope)
        remaining = [c for c in conflicts if c.path not in allowed]
        if remaining:
            raise ApplyConflict(remaining)
        force = True
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    if manager == KUBECTL and LAST_APPLIED in (
        ((live or {}).get("metadata") or {}).get("annotations") or {}
    ):
        # Keep the client-side annotation in step (upstream's lastAppliedUpdater).
        _annotations(result)[LAST_APPLIED] = _last_applied(applied)
    lost = {c.path for c in conflicts}  # forced: the other managers give them up
    updated = [attrs.evolve(e, fields=e.fields - lost) for e in others if e.fields - lost]
    unchanged = (
        previous is not None
        and previous.fields == owned
        and live is not None
        and _same(_without_managed(result), _without_managed(live))
    )
    time = previous.time if unchanged and previous is not None else now
    # An entry that owns nothing is dropped (upstream's TestApplyRemovesEmptyManagedFields,
    # test/integration/apiserver/apply/apply_test.go).
    if owned:
        updated.append(attrs.evolve(mine, fields=owned, time=time))
    result.setdefault("metadata", {})["managedFields"] = encode(updated)
    return result


def _also_owns(fields: frozenset[Path], path: Path, kind: str) -> bool:
    """Whether ``fields`` owns ``path``: itself, a part of it, or an atomic whole it is in."""
    for owned in fields:
        if owned[: len(path)] == path:
            return True
        if path[: len(owned)] == owned:
            field = _field_at(owned, kind)
            if field.atomic or field.list_type == "atomic":
                return True
    return False


def _changes(live: Manifest | None, result: Manifest, path: Path, kind: str) -> bool:
    """Whether the apply changes the value another manager owns at ``path``: its value
    (an element of a list or set is only kept or dropped, never conflicting; a map
    that merges changes through its fields, not as a whole)."""
    if path[-1].startswith(("k:", "v:")):
        return False
    before, after = value_at(live, path, kind), value_at(result, path, kind)
    if _same(before, after):
        return False
    mergeable = isinstance(before, dict) and isinstance(after, dict)
    return not (mergeable and not _field_at(path, kind).atomic)


def _annotations(manifest: Manifest | None) -> dict[str, str]:
    meta = (manifest or {}).get("metadata")
    if not isinstance(meta, dict):
        return {}
    if not isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {}
    return meta["annotations"]


def _last_applied(applied: Manifest) -> str:
    """The last-applied-configuration of an applied configuration (without itself)."""
    config = copy.deepcopy(applied)
    meta = config.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def _last_applied_fields(
    live: Manifest | None, kind: str, scope: Callable[[str], bool]
) -> frozenset[Path]:
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    try:
        config = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        config = None
    return field_set(config, kind, scope) if isinstance(config, dict) else frozenset()


def _merge(live: Manifest, applied: Manifest, type_name: str | None) -> Manifest:
    """``applied`` merged into ``live`` (in place) as the structure says."""
    for name, value in applied.items():
        field = field_of(type_name, name)
        current = live.get(name)
        if isinstance(value, dict) and isinstance(current, dict) and not field.atomic:
            live[name] = _merge(current, value, field.type)
        elif _is_list_map(value, field) and _is_list_map(current, field):
            merged = list(current)
            for item in value:
                key = identity(item, field)
                at = next((i for i, e in enumerate(merged) if identity(e, field) == key), None)
                if at is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[at] = _merge(merged[at], item, field.type)
            live[name] = merged
        elif field.list_type == "set" and isinstance(value, list) and isinstance(current, list):
            live[name] = current + [item for item in value if item not in current]
        else:
            live[name] = copy.deepcopy(value)
    return live


def _without_nulls(value: Any) -> Any:
    """An applied configuration's nulls say nothing: they are dropped."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _without_managed(manifest: Manifest) -> Manifest:
    meta = {k: v for k, v in (manifest.get("metadata") or {}).items() if k != "managedFields"}
    return {**manifest, "metadata": meta}
