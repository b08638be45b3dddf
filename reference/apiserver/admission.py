"""Admission: the checks a request passes after validation and before storage.

NamespaceLifecycle: an object may be created only in a namespace that exists
and is not terminating (spec/apiserver.md, APISERVER-NAMESPACE-LIFECYCLE).

DefaultTolerationSeconds (mutating, pods on create only): a pod that does not
tolerate the NoExecute taints ``node.kubernetes.io/not-ready`` and
``node.kubernetes.io/unreachable`` gets a toleration of each for 300 s
(spec/apiserver.md, APISERVER-DEFAULT-TOLERATION-SECONDS). A toleration counts
when its key is the taint's or empty and its effect NoExecute or empty,
whatever its operator and value, as upstream's plugin decides.
Later issues add quotas and limits here.
"""

from __future__ import annotations

from typing import Any

from kubeprop.reference.apiserver import status as errors
from kubeprop.reference.apiserver.resources import lookup

# Namespaces that always exist (they cannot be deleted in Kubernetes either).
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


# --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds.
DEFAULT_NOT_READY_TOLERATION_SECONDS = 300
DEFAULT_UNREACHABLE_TOLERATION_SECONDS = 300
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"


def _tolerates_key(tolerations: list[Any], key: str) -> bool:
    return any(
        isinstance(t, dict)
        and t.get("key") in (None, "", key)
        and t.get("effect") in (None, "", "NoExecute")
        for t in tolerations
    )


def default_toleration_seconds(
    res: Any,
    manifest: dict[str, Any],
    not_ready_seconds: int = DEFAULT_NOT_READY_TOLERATION_SECONDS,
    unreachable_seconds: int = DEFAULT_UNREACHABLE_TOLERATION_SECONDS,
) -> None:
    """Mutate a pod being created: add the default NoExecute tolerations it lacks."""
    if res.plural != "pods" or not isinstance(manifest.get("spec"), dict):
        return
    spec = manifest["spec"]
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    added = []
    for key, seconds in (
        (TAINT_NOT_READY, not_ready_seconds),
        (TAINT_UNREACHABLE, unreachable_seconds),
    ):
        if not _tolerates_key(tolerations, key):
            added.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": seconds,
                }
            )
    if added:
        spec["tolerations"] = [*tolerations, *added]


def mutate_create(server: Any, res: Any, namespace: str | None, manifest: dict[str, Any]) -> None:
    """The mutating admission plugins, in order, on an object being created."""
    default_toleration_seconds(res, manifest)


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
