"""Taints and tolerations on manifests (camelCase dicts), as the taints page states them.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
``tolerates(toleration, taint)``: an effect, if given, must be the taint's; a key, if
given, must be the taint's (an empty key with Exists matches every key); operator
Exists matches any value, Equal (the default) needs the same value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Manifest = Mapping[str, Any]


def tolerates(toleration: Manifest, taint: Manifest) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    if toleration.get("operator") in (None, "", "Equal"):
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: Iterable[Manifest], taint: Manifest) -> bool:
    return any(tolerates(toleration, taint) for toleration in tolerations)
