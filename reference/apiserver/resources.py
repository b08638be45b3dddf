"""The resources the API server serves and each one's REST strategy.

What an object looks like (its type, validation, defaults) lives in
``kubeprop.spec.api``; how the server treats it lives here, one ``Resource``
per plural name: its group/version/kind and scope, whether it has a status
subresource (spec and status written apart), whether an update may create it,
whether deletion is graceful, the extra field selectors it supports, and what
its status looks like when created (PrepareForCreate in Kubernetes' strategies).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import attrs

from kubeprop.spec.api.quantity import Quantity

Manifest = dict[str, Any]


def _pod_status_on_create(manifest: Manifest) -> Manifest:
    # A new pod is Pending whatever the client sent, with its QoS class
    # (pod strategy PrepareForCreate).
    return {"phase": "Pending", "qosClass": qos_class(manifest.get("spec") or {})}


# The resources that decide a pod's QoS class.
QOS_RESOURCES = ("cpu", "memory")


@functools.lru_cache(maxsize=1024)
def _amount(text: str) -> Fraction:
    """The exact amount of a quantity string, remembered (pods repeat a few; parsing is
    exact Fraction arithmetic). A bad quantity raises ValueError every time."""
    return Quantity.parse(text).amount


def qos_class(spec: Manifest) -> str:
    """Guaranteed, Burstable or BestEffort, as Kubernetes classifies a pod spec:
    BestEffort if no container requests or limits cpu or memory; Guaranteed if
    every container limits both and the summed requests equal the summed limits;
    Burstable otherwise (https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/)."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        for into, amounts in (
            (requests, resources.get("requests")),
            (limits, resources.get("limits")),
        ):
            for name, text in (amounts or {}).items():
                amount = _amount(str(text))
                if name in QOS_RESOURCES and amount != 0:
                    into[name] = into.get(name, Fraction(0)) + amount
        limited = {n for n, t in (resources.get("limits") or {}).items() if _amount(str(t))}
        if not set(QOS_RESOURCES) <= limited:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    same = requests.keys() == limits.keys() and all(limits[n] == a for n, a in requests.items())
    return "Guaranteed" if guaranteed and same else "Burstable"


def _cleared(manifest: Manifest) -> Manifest:
    return {}


def _kept(manifest: Manifest) -> Manifest:
    return manifest.get("status", {})


def _namespace_status_on_create(manifest: Manifest) -> Manifest:
    return {"phase": "Active"}


@attrs.frozen
class Resource:
    plural: str
    group: str
    version: str
    kind: str
    namespaced: bool
    status_subresource: bool = False
    allow_create_on_update: bool = False  # PUT of a missing object creates it
    graceful_delete: bool = False  # DELETE sets deletionTimestamp and waits (pods)
    scale_subresource: bool = False
    tracks_generation: bool = False  # metadata.generation: 1 on create, +1 per spec change
    # Field selector labels beyond metadata.name/metadata.namespace, with getters.
    field_labels: tuple[str, ...] = ()
    status_on_create: Callable[[Manifest], Manifest] = _kept

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def key(self, namespace: str | None, name: str) -> bytes:
        """/registry/<resource>/<namespace>/<name> (no namespace for cluster-scoped)."""
        if self.namespaced:
            return f"/registry/{self.qualified}/{namespace}/{name}".encode()
        return f"/registry/{self.qualified}/{name}".encode()

    def prefix(self, namespace: str | None) -> bytes:
        if self.namespaced and namespace:
            return f"/registry/{self.qualified}/{namespace}/".encode()
        return f"/registry/{self.qualified}/".encode()


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "namespaces",
        "",
        "v1",
        "Namespace",
        namespaced=False,
        status_subresource=True,
        field_labels=("status.phase",),
        status_on_create=_namespace_status_on_create,
    ),
    Resource(
        "pods",
        "",
        "v1",
        "Pod",
        namespaced=True,
        tracks_generation=True,
        status_subresource=True,
        graceful_delete=True,
        field_labels=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
        status_on_create=_pod_status_on_create,
    ),
    Resource(
        "nodes",
        "",
        "v1",
        "Node",
        namespaced=False,
        status_subresource=True,
        field_labels=("spec.unschedulable",),
    ),
    Resource(
        "services",
        "",
        "v1",
        "Service",
        namespaced=True,
        status_subresource=True,
        field_labels=("spec.clusterIP", "spec.type"),
        status_on_create=_cleared,
    ),
    Resource(
        "events",
        "",
        "v1",
        "Event",
        namespaced=True,
        allow_create_on_update=True,
        field_labels=(
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
    ),
    Resource(
        "replicasets",
        "apps",
        "v1",
        "ReplicaSet",
        namespaced=True,
        tracks_generation=True,
        status_subresource=True,
        scale_subresource=True,
        field_labels=("status.replicas",),
        status_on_create=_cleared,
    ),
    Resource(
        "deployments",
        "apps",
        "v1",
        "Deployment",
        namespaced=True,
        tracks_generation=True,
        status_subresource=True,
        scale_subresource=True,
        status_on_create=_cleared,
    ),
    Resource(
        "endpointslices",
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        namespaced=True,
        tracks_generation=True,
        allow_create_on_update=True,
    ),
    Resource(
        "leases",
        "coordination.k8s.io",
        "v1",
        "Lease",
        namespaced=True,
        allow_create_on_update=True,
    ),
)

BY_PLURAL: dict[str, Resource] = {}
for _resource in RESOURCES:
    BY_PLURAL[_resource.plural] = _resource
    BY_PLURAL[_resource.qualified] = _resource


def lookup(resource: str) -> Resource | None:
    """The resource named ``plural`` or ``plural.group``; None if not served."""
    return BY_PLURAL.get(resource)


def lookup_kind(api_version: object, kind: object) -> Resource | None:
    """The resource serving objects of ``apiVersion`` + ``kind``, or None."""
    for res in RESOURCES:
        version = f"{res.group}/{res.version}" if res.group else res.version
        if version == api_version and res.kind == kind:
            return res
    return None


def field_value(manifest: Manifest, label: str) -> str:
    """A field selector label's value in a manifest, as the server compares it (a string)."""
    value: Any = manifest
    for part in label.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if label == "source" and isinstance(value, dict):  # events: source.component
        value = value.get("component")
    if value is None:
        return "false" if label in ("spec.unschedulable", "spec.hostNetwork") else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
