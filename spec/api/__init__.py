"""The Kubernetes object model: typed kinds, quantities, selectors, manifest IO, validation, defaulting.

Contract: every kind is a frozen attrs value (change is ``attrs.evolve``) named and
shaped as in Kubernetes v1.35 (snake_case fields); ``io.load``/``io.dump`` convert
camelCase manifests exactly; ``validation.validate`` lists every problem with its
field path; ``defaults.default`` fills in Kubernetes' defaults. The chapter
``spec/objects.md`` states the rules and their invariant ids.
"""

from kubeprop.spec.api.apps import Deployment, ReplicaSet
from kubeprop.spec.api.core import (
    Binding,
    Container,
    Event,
    Namespace,
    Node,
    Pod,
    PodSpec,
    PodTemplateSpec,
    Service,
)
from kubeprop.spec.api.defaults import default
from kubeprop.spec.api.discovery import EndpointSlice, Lease
from kubeprop.spec.api.errors import FieldError, ManifestError
from kubeprop.spec.api.io import dump, load, load_all, load_documents
from kubeprop.spec.api.kinds import KindInfo, all_kinds, by_resource, lookup
from kubeprop.spec.api.meta import List, ObjectMeta, OwnerReference, Status
from kubeprop.spec.api.quantity import Quantity
from kubeprop.spec.api.selectors import LabelSelector, NodeSelector, parse_label_selector
from kubeprop.spec.api.validation import validate, validate_update

__all__ = [
    "Binding",
    "Container",
    "Deployment",
    "EndpointSlice",
    "Event",
    "FieldError",
    "KindInfo",
    "LabelSelector",
    "Lease",
    "List",
    "ManifestError",
    "Namespace",
    "Node",
    "NodeSelector",
    "ObjectMeta",
    "OwnerReference",
    "Pod",
    "PodSpec",
    "PodTemplateSpec",
    "Quantity",
    "ReplicaSet",
    "Service",
    "Status",
    "all_kinds",
    "by_resource",
    "default",
    "dump",
    "load",
    "load_all",
    "load_documents",
    "lookup",
    "parse_label_selector",
    "validate",
    "validate_update",
]
