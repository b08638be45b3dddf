"""The patch formats the API server accepts: JSON merge patch and JSON patch.

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): objects merge
  key by key, ``null`` removes a key, anything else (lists included) replaces.
- JSON patch (RFC 6902, ``application/json-patch+json``): a list of
  add/remove/replace/move/copy/test operations on JSON pointers (RFC 6901),
  applied in order; if any fails, none applies.

Both are pure: they return a new document and never mutate their input. A bad
patch raises ``PatchError`` with a message the server returns as 422/400.
"""

from __future__ import annotations

import copy
from typing import Any

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
