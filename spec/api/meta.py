"""Object metadata and the meta/v1 kinds shared by every API group: ObjectMeta, Status, List.

Contract (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/,
https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/): frozen
values whose fields are Kubernetes' JSON fields in snake_case; every field is
optional and defaults to its zero value (None, ``()``, an empty FrozenMap), so a
manifest that omits a field reads and writes back unchanged. Timestamps are RFC
3339 strings (``"2026-01-01T00:00:00Z"``).
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.spec.api.base import FrozenMap, mapping, opt, seq

# The metadata fields no field manager ever owns (server-side apply: the system fields
# upstream's managed-fields stripper removes before it computes ownership).
UNOWNED_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


@attrs.frozen
class OwnerReference:
    api_version: str | None = None
    kind: str | None = None
    name: str | None = None
    uid: str | None = None
    controller: bool | None = None
    block_owner_deletion: bool | None = None


@attrs.frozen
class ObjectMeta:
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: FrozenMap[str, str] = mapping()
    annotations: FrozenMap[str, str] = mapping()
    owner_references: tuple[OwnerReference, ...] = seq()
    finalizers: tuple[str, ...] = seq()


@attrs.frozen
class ObjectReference:
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    api_version: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


@attrs.frozen
class ListMeta:
    resource_version: str | None = None
    continue_: str | None = opt(alias="continue")
    remaining_item_count: int | None = None


@attrs.frozen
class StatusCause:
    reason: str | None = None
    message: str | None = None
    field: str | None = None


@attrs.frozen
class StatusDetails:
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: tuple[StatusCause, ...] = seq()
    retry_after_seconds: int | None = None


@attrs.frozen
class Status:
    """The error (or success) object of the API: ``status`` is "Success" or "Failure"."""

    metadata: ListMeta | None = None
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


@attrs.frozen
class List:
    """v1 List: a bag of objects of any kinds (each item is a typed object)."""

    metadata: ListMeta | None = None
    items: tuple[Any, ...] = seq()


@attrs.frozen
class Condition:
    """A status condition (pods, nodes, deployments, ... share this shape)."""

    type: str | None = None
    status: str | None = None
    last_probe_time: str | None = None
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None
    last_update_time: str | None = None
    observed_generation: int | None = None
    reason: str | None = None
    message: str | None = None
