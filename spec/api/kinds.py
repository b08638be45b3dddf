"""The kind registry: one entry per served kind (group, version, plural, scope, type).

Contract (https://kubernetes.io/docs/reference/using-api/api-concepts/#standard-api-terminology):
- ``lookup(api_version, kind)`` finds a kind by ``apiVersion`` ("v1", "apps/v1") and
  ``kind``; ``by_resource(group, plural)`` by group ("" for core) and resource;
  ``by_type(cls)`` by Python type; ``all_kinds()`` lists them. Unknown names give None.
- Adding a kind is one ``KindInfo`` line here and its attrs type.
- Namespaced: every kind but Namespace and Node (and the meta kinds List and Status).
"""

from __future__ import annotations

import attrs

from kubeprop.spec.api import apps, core, discovery, meta


@attrs.frozen
class KindInfo:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str  # the resource name in URLs
    namespaced: bool
    type: type = attrs.field(repr=False)
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()
    served: bool = True  # False for meta kinds (List, Status) that have no resource

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


_KINDS: tuple[KindInfo, ...] = (
    KindInfo("", "v1", "Namespace", "namespaces", False, core.Namespace, True, ("ns",)),
    KindInfo("", "v1", "Pod", "pods", True, core.Pod, True, ("po",)),
    KindInfo("", "v1", "Node", "nodes", False, core.Node, True, ("no",)),
    KindInfo("", "v1", "Service", "services", True, core.Service, True, ("svc",)),
    KindInfo("", "v1", "Event", "events", True, core.Event, False, ("ev",)),
    KindInfo("", "v1", "Binding", "bindings", True, core.Binding, False, ()),
    KindInfo("apps", "v1", "ReplicaSet", "replicasets", True, apps.ReplicaSet, True, ("rs",)),
    KindInfo("apps", "v1", "Deployment", "deployments", True, apps.Deployment, True, ("deploy",)),
    KindInfo(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        True,
        discovery.EndpointSlice,
        False,
        (),
    ),
    KindInfo("coordination.k8s.io", "v1", "Lease", "leases", True, discovery.Lease, False, ()),
    KindInfo("", "v1", "Status", "status", False, meta.Status, False, (), served=False),
    KindInfo("", "v1", "List", "lists", False, meta.List, False, (), served=False),
)

_BY_KIND = {(k.api_version, k.kind): k for k in _KINDS}
_BY_RESOURCE = {(k.group, k.plural): k for k in _KINDS if k.served}
_BY_TYPE = {k.type: k for k in _KINDS}


def lookup(api_version: str, kind: str) -> KindInfo | None:
    return _BY_KIND.get((api_version, kind))


def by_resource(group: str, plural: str) -> KindInfo | None:
    return _BY_RESOURCE.get((group, plural))


def by_type(cls: type) -> KindInfo | None:
    return _BY_TYPE.get(cls)


def all_kinds(*, served_only: bool = True) -> tuple[KindInfo, ...]:
    return tuple(k for k in _KINDS if k.served or not served_only)


def versions_of(kind: str) -> tuple[str, ...]:
    """The apiVersions that serve ``kind`` (for error messages)."""
    return tuple(k.api_version for k in _KINDS if k.kind == kind)
