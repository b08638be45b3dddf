"""The patch formats the API server accepts: JSON merge patch, JSON patch, strategic merge patch.

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): objects merge
  key by key, ``null`` removes a key, anything else (lists included) replaces.
- JSON patch (RFC 6902, ``application/json-patch+json``): a list of
  add/remove/replace/move/copy/test operations on JSON pointers (RFC 6901),
  applied in order; if any fails, none applies.
- Strategic merge patch (``application/strategic-merge-patch+json``,
  https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md):
  a merge patch that knows the types it patches. A list whose Go field carries
  ``patchStrategy:"merge"`` merges element by element (by its ``patchMergeKey``
  for lists of objects, by value for lists of scalars) instead of being
  replaced; the directives ``$patch: replace|delete|merge``,
  ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and
  ``$retainKeys`` say what a plain merge cannot. ``STRUCTURE`` records, for the
  types this server serves, each field's patch strategy and merge key (from the
  v1.35 API types, k8s.io/api) and, for server-side apply, its list type and
  list-map keys.

All are pure: they return a new document and never mutate their input. A bad
patch raises ``PatchError`` with a message the server returns as 422/400.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import attrs

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class PatchError(Exception):
    """The patch cannot be applied; ``str()`` says why."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(target, patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"path {path!r} is not a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer "{path}" must start with "/"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list, token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"array index {index} out of bounds (length {len(container)})")
    return index


def _parent(document: Any, tokens: list[str], path: str) -> Any:
    node = document
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f'path "{path}": "{token}" not found')
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, allow_end=False)]
        else:
            raise PatchError(f'path "{path}": cannot descend into a {type(node).__name__}')
    return node


def _get(document: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return document
    parent = _parent(document, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'path "{path}" not found')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise PatchError(f'path "{path}" not found')


def _add(document: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(document, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError(f'path "{path}": cannot add to a {type(parent).__name__}')
    return document


def _remove(document: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(document, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'path "{path}" not found')
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, allow_end=False)]
    else:
        raise PatchError(f'path "{path}" not found')
    return document


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply ``operations`` in order to a copy of ``target``."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    document = copy.deepcopy(target)
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation:
            raise PatchError(f'operation {number} has no "op"')
        op = operation["op"]
        path = operation.get("path")
        if "path" not in operation:
            raise PatchError(f'operation {number} ({op}) has no "path"')
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f'operation {number} ({op}) has no "value"')
        value = copy.deepcopy(operation.get("value"))
        if op == "add":
            document = _add(document, path, value)
        elif op == "remove":
            document = _remove(document, path)
        elif op == "replace":
            _get(document, path)  # must exist
            document = _add(_remove(document, path), path, value) if _pointer(path) else value
        elif op in ("move", "copy"):
            source = operation.get("from")
            moved = copy.deepcopy(_get(document, source))
            if op == "move":
                if isinstance(path, str) and path.startswith(f"{source}/"):
                    raise PatchError(f'cannot move "{source}" into its own child "{path}"')
                document = _remove(document, source)
            document = _add(document, path, moved)
        elif op == "test":
            if _get(document, path) != value:
                raise PatchError(f'testing value "{path}" failed')
        else:
            raise PatchError(f"unknown JSON patch operation {op!r}")
    return document


# ---------------------------------------------------------------------- structure


@attrs.frozen
class Field:
    """How one field of a Kubernetes type merges, in a strategic merge patch and in
    server-side apply (from its Go tags: ``patchStrategy``, ``patchMergeKey``,
    ``+listType``, ``+listMapKey``, ``+structType``)."""

    type: str | None = None  # the type of the field (of a list's items); None: untyped
    strategy: tuple[str, ...] = ()  # patchStrategy: "merge", "retainKeys", "replace"
    merge_key: str | None = None  # patchMergeKey of a merging list of objects
    list_type: str | None = None  # +listType: "atomic", "set", "map"; None: not a list
    map_keys: tuple[str, ...] = ()  # +listMapKey of a "map" list
    atomic: bool = False  # +structType=atomic / +mapType=atomic: owned as a whole

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy


def _keyed(type_: str | None, merge_key: str, *map_keys: str, retain: bool = False) -> Field:
    strategy = ("merge", "retainKeys") if retain else ("merge",)
    return Field(type_, strategy, merge_key, "map", map_keys or (merge_key,))


ATOMIC_LIST = Field(list_type="atomic")
MERGING_SET = Field(strategy=("merge",), list_type="set")
CONDITIONS = _keyed(None, "type")
PLAIN = Field()

# Field name -> Field, per type. A field not listed merges as untyped JSON: objects
# key by key, lists replaced (atomic). Sources: k8s.io/api core/v1, apps/v1,
# meta/v1 types.go at v1.35.
STRUCTURE: dict[str, dict[str, Field]] = {
    "ObjectMeta": {
        "ownerReferences": _keyed(None, "uid"),
        "finalizers": MERGING_SET,
        "managedFields": ATOMIC_LIST,
    },
    "LabelSelector": {"matchExpressions": ATOMIC_LIST},
    "PodTemplateSpec": {"metadata": Field("ObjectMeta"), "spec": Field("PodSpec")},
    "PodSpec": {
        "volumes": _keyed(None, "name", retain=True),
        "initContainers": _keyed("Container", "name"),
        "containers": _keyed("Container", "name"),
        "ephemeralContainers": _keyed("Container", "name"),
        "imagePullSecrets": _keyed(None, "name"),
        "tolerations": ATOMIC_LIST,
        "hostAliases": _keyed(None, "ip"),
        "topologySpreadConstraints": _keyed(
            None, "topologyKey", "topologyKey", "whenUnsatisfiable"
        ),
        "readinessGates": ATOMIC_LIST,
        "schedulingGates": _keyed(None, "name"),
        "resourceClaims": _keyed(None, "name", retain=True),
    },
    "Container": {
        "ports": _keyed(None, "containerPort", "containerPort", "protocol"),
        "env": _keyed(None, "name"),
        "envFrom": ATOMIC_LIST,
        "volumeMounts": _keyed(None, "mountPath"),
        "volumeDevices": _keyed(None, "devicePath"),
        "command": ATOMIC_LIST,
        "args": ATOMIC_LIST,
        "resizePolicy": ATOMIC_LIST,
    },
    "PodStatus": {
        "conditions": CONDITIONS,
        "podIPs": _keyed(None, "ip"),
        "hostIPs": _keyed(None, "ip"),
        "containerStatuses": ATOMIC_LIST,
        "initContainerStatuses": ATOMIC_LIST,
        "ephemeralContainerStatuses": ATOMIC_LIST,
    },
    "Pod": {
        "metadata": Field("ObjectMeta"),
        "spec": Field("PodSpec"),
        "status": Field("PodStatus"),
    },
    "DeploymentSpec": {
        "selector": Field("LabelSelector", atomic=True),
        "template": Field("PodTemplateSpec"),
        "strategy": Field(strategy=("retainKeys",)),
    },
    "WorkloadStatus": {"conditions": CONDITIONS},
    "Deployment": {
        "metadata": Field("ObjectMeta"),
        "spec": Field("DeploymentSpec"),
        "status": Field("WorkloadStatus"),
    },
    "ReplicaSetSpec": {
        "selector": Field("LabelSelector", atomic=True),
        "template": Field("PodTemplateSpec"),
    },
    "ReplicaSet": {
        "metadata": Field("ObjectMeta"),
        "spec": Field("ReplicaSetSpec"),
        "status": Field("WorkloadStatus"),
    },
    "NodeSpec": {"podCIDRs": MERGING_SET, "taints": ATOMIC_LIST},
    "NodeStatus": {
        "conditions": CONDITIONS,
        "addresses": _keyed(None, "type"),
        "images": ATOMIC_LIST,
        "volumesInUse": ATOMIC_LIST,
    },
    "Node": {
        "metadata": Field("ObjectMeta"),
        "spec": Field("NodeSpec"),
        "status": Field("NodeStatus"),
    },
    "ServiceSpec": {
        "ports": _keyed(None, "port", "port", "protocol"),
        "clusterIPs": ATOMIC_LIST,
        "externalIPs": ATOMIC_LIST,
        "ipFamilies": ATOMIC_LIST,
    },
    "Service": {
        "metadata": Field("ObjectMeta"),
        "spec": Field("ServiceSpec"),
        "status": Field("WorkloadStatus"),
    },
    "Namespace": {"metadata": Field("ObjectMeta"), "status": Field("WorkloadStatus")},
    "Event": {"metadata": Field("ObjectMeta")},
    "EndpointSlice": {"metadata": Field("ObjectMeta")},
    "Lease": {"metadata": Field("ObjectMeta")},
    "Scale": {"metadata": Field("ObjectMeta")},
}


Structure = Mapping[str, Mapping[str, Field]]


def field_of(type_name: str | None, name: str, structure: Structure | None = None) -> Field:
    """The Field ``name`` of ``type_name`` (PLAIN when untyped or not listed)."""
    if type_name is None:
        return PLAIN
    return (STRUCTURE if structure is None else structure).get(type_name, {}).get(name, PLAIN)


# ---------------------------------------------------------------------- strategic merge

PATCH_DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


def strategic_merge_patch(
    original: Any, patch: Any, kind: str, structure: Structure | None = None
) -> Any:
    """The strategic merge patch ``patch`` applied to ``original``, an object of ``kind``.

    As upstream's ``StrategicMergeMapPatch`` (k8s.io/apimachinery
    pkg/util/strategicpatch/patch.go): ``null`` removes a field; a map with
    ``$patch: replace`` replaces, with ``$patch: delete`` becomes empty; a merging
    list merges by merge key (by value for scalars) and is ordered by the patch,
    or by ``$setElementOrder``, with the items only the server has kept in their
    places relative to them; other lists are replaced."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    types = STRUCTURE if structure is None else structure
    base = copy.deepcopy(original) if isinstance(original, dict) else {}
    return _merge_map(base, patch, kind if kind in types else None, "", types)


def _merge_map(
    original: dict, patch: dict, type_name: str | None, path: str, types: Structure
) -> dict:
    """Merge ``patch`` into ``original`` (owned by the caller, changed in place)."""
    if PATCH_DIRECTIVE in patch:
        directive = patch[PATCH_DIRECTIVE]
        if directive == "replace":
            body = {k: v for k, v in patch.items() if k != PATCH_DIRECTIVE}
            return _merge_map({}, body, type_name, path, types)
        if directive == "delete":
            return {}
        raise PatchError(f"{_at(path)}unknown patch type: {directive!r} in map")
    retained = patch.get(RETAIN_KEYS)
    if retained is not None:
        if not isinstance(retained, list) or not all(isinstance(k, str) for k in retained):
            raise PatchError(f"{_at(path)}$retainKeys must be a list of field names")
        stray = sorted(
            k
            for k, v in patch.items()
            if not k.startswith("$") and k not in retained and v is not None
        )
        if stray:
            raise PatchError(
                f"{_at(path)}the patch sets {', '.join(stray)}, which $retainKeys does not list"
            )
        for key in [k for k in original if k not in retained]:
            del original[key]
    orders: dict[str, list] = {}
    for key, value in patch.items():
        if key.startswith(SET_ELEMENT_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"{_at(path)}{key} must be a list")
            orders[key[len(SET_ELEMENT_ORDER) :]] = value
        elif key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            name = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
            if not isinstance(value, list):
                raise PatchError(f"{_at(path)}{key} must be a list of values")
            if isinstance(original.get(name), list):
                original[name] = [item for item in original[name] if item not in value]
    before = {name: original.get(name) for name in orders}
    for key, value in patch.items():
        if key.startswith("$"):  # directives handled above; unknown ones are ignored
            continue
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(
            original.get(key), value, field_of(type_name, key, types), f"{path}.{key}", types
        )
    for name, order in orders.items():
        if isinstance(original.get(name), list):
            field = field_of(type_name, name, types)
            _check_merge_keys(order, field, f"{path}.{SET_ELEMENT_ORDER}{name}")
            _check_order(patch.get(name), order, field, f"{path}.{name}")
            original[name] = _in_order(original[name], order, before[name], field)
    return original


def _merge_value(original: Any, value: Any, field: Field, path: str, types: Structure) -> Any:
    if isinstance(value, dict):
        if "replace" in field.strategy or not isinstance(original, dict):
            return _merge_map({}, value, field.type, path, types)
        return _merge_map(original, value, field.type, path, types)
    if isinstance(value, list):
        if field.merges:
            return _merge_list(
                original if isinstance(original, list) else [], value, field, path, types
            )
        return [_cleaned(item, field.type, path, types) for item in value]
    return value


def _cleaned(value: Any, type_name: str | None, path: str, types: Structure) -> Any:
    """A patch value taken as it is, without the directives it carries."""
    return _merge_map({}, value, type_name, path, types) if isinstance(value, dict) else value


def _merge_list(original: list, patch: list, field: Field, path: str, types: Structure) -> list:
    key = field.merge_key
    if key is None:  # a set of scalars: the union
        for item in patch:
            if isinstance(item, (dict, list)):
                raise PatchError(f"{_at(path)}a list of scalars cannot merge {_short(item)}")
        merged = list(original)
        for item in patch:
            if item not in merged:
                merged.append(item)
        return _in_order(merged, patch, original, field)
    replacing = [i for i in patch if isinstance(i, dict) and i.get(PATCH_DIRECTIVE) == "replace"]
    _check_merge_keys([i for i in patch if not any(i is r for r in replacing)], field, path)
    plain = [item for item in patch if PATCH_DIRECTIVE not in item]
    base = [copy.deepcopy(item) for item in original]
    for item in patch:
        directive = item.get(PATCH_DIRECTIVE)
        if directive == "delete":
            base = [e for e in base if not (isinstance(e, dict) and e.get(key) == item[key])]
        elif directive == "replace":
            return [_cleaned(i, field.type, path, types) for i in plain]
        elif directive is not None:
            raise PatchError(f"{_at(path)}unknown patch type: {directive!r} in a list")
    server = list(base)
    for item in plain:
        where = f"{path}[{key}={json.dumps(item[key])}]"
        found = next(
            (i for i, e in enumerate(base) if isinstance(e, dict) and e.get(key) == item[key]),
            None,
        )
        if found is None:
            base.append(_merge_map({}, item, field.type, where, types))
        else:
            base[found] = _merge_map(base[found], item, field.type, where, types)
    return _in_order(base, plain, server, field)


def _check_merge_keys(items: list, field: Field, path: str) -> None:
    if field.merge_key is None:
        return
    for item in items:
        if not isinstance(item, dict):
            raise PatchError(f"{_at(path)}{_short(item)} is not an object")
        if field.merge_key not in item:
            raise PatchError(
                f"{_at(path)}map: {_short(item)} does not contain declared merge key: "
                f"{field.merge_key}"
            )


def _check_order(items: Any, order: list, field: Field, path: str) -> None:
    """The patch list's items must come in the order ``$setElementOrder`` gives them."""
    if not isinstance(items, list):
        return
    key = field.merge_key
    names = [
        json.dumps(item.get(key) if key and isinstance(item, dict) else item)
        for item in items
        if not (isinstance(item, dict) and PATCH_DIRECTIVE in item)
    ]
    wanted = [json.dumps(o.get(key) if key and isinstance(o, dict) else o) for o in order]
    at = 0
    for name in names:
        while at < len(wanted) and wanted[at] != name:
            at += 1
        if at == len(wanted):
            raise PatchError(
                f"{_at(path)}the order in the patch list doesn't match the $setElementOrder list"
            )
        at += 1


def _in_order(merged: list, order: list, server: Any, field: Field) -> list:
    """``merged`` with the items named in ``order`` in that order, and the others (the
    server's own) in their order in ``server``, placed before the first named item
    that follows them there (upstream's normalizeElementOrder and mergeSortedSlice)."""
    key = field.merge_key

    def ident(item: Any) -> str:
        return json.dumps(item.get(key) if key and isinstance(item, dict) else item)

    wanted = {}
    for index, item in enumerate(order):
        wanted.setdefault(ident(item), index)
    places = {}
    for index, item in enumerate(server if isinstance(server, list) else []):
        places.setdefault(ident(item), index)
    named = sorted((i for i in merged if ident(i) in wanted), key=lambda i: wanted[ident(i)])
    server_only = sorted(
        (i for i in merged if ident(i) not in wanted), key=lambda i: places.get(ident(i), -1)
    )
    result: list = []
    while named and server_only:
        left, right = places.get(ident(server_only[0])), places.get(ident(named[0]))
        if left is not None and right is not None and left < right:
            result.append(server_only.pop(0))
        else:
            result.append(named.pop(0))
    return result + named + server_only


def _at(path: str) -> str:
    return f"{path.lstrip('.')}: " if path else ""


def _short(item: Any) -> str:
    text = json.dumps(item, sort_keys=True)
    return text if len(text) < 80 else text[:77] + "..."
