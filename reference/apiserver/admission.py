"""Admission: the checks a request passes after validation and before storage.

NamespaceLifecycle: an object may be created only in a namespace that exists
and is not terminating (spec/apiserver.md, APISERVER-NAMESPACE-LIFECYCLE).
Later issues add DefaultTolerationSeconds, quotas and limits here.
"""

from __future__ import annotations

from typing import Any

from kubeprop.reference.apiserver import status as errors
from kubeprop.reference.apiserver.resources import lookup

# Namespaces that always exist (they cannot be deleted in Kubernetes either).
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def admit_create(server: Any, res: Any, namespace: str | None, manifest: dict[str, Any]) -> None:
    """Raise a StatusError if ``manifest`` may not be created."""
    if not res.namespaced:
        return
    name = manifest["metadata"].get("name", "")
    found = server._read(lookup("namespaces"), None, namespace)
    if found is None:
        raise errors.not_found("namespaces", namespace)
    owner = found[0]
    if owner.get("status", {}).get("phase") == "Terminating" or owner["metadata"].get(
        "deletionTimestamp"
    ):
        why = (
            f"unable to create new content in namespace {namespace} because it is being terminated"
        )
        raise errors.forbidden(
            res.plural,
            name,
            why,
            res.group,
            causes=[
                {"reason": "NamespaceTerminating", "message": why, "field": "metadata.namespace"}
            ],
        )


def admit_delete(res: Any, name: str) -> None:
    """The system namespaces cannot be deleted."""
    if res.plural == "namespaces" and name in IMMORTAL_NAMESPACES:
        raise errors.forbidden("namespaces", name, "this namespace may not be deleted")
