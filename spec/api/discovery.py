"""discovery.k8s.io/v1 EndpointSlice and coordination.k8s.io/v1 Lease.

Contract (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/): frozen
values, snake_case Kubernetes field names, zero values as defaults. Lease times are
RFC 3339 MicroTime strings (``"2026-01-01T00:00:00.000000Z"``).
"""

from __future__ import annotations

import attrs

from kubeprop.spec.api.base import FrozenMap, mapping, seq
from kubeprop.spec.api.meta import ObjectMeta, ObjectReference


@attrs.frozen
class EndpointConditions:
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@attrs.frozen
class Endpoint:
    addresses: tuple[str, ...] = seq()
    conditions: EndpointConditions | None = None
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    deprecated_topology: FrozenMap[str, str] = mapping()
    node_name: str | None = None
    zone: str | None = None


@attrs.frozen
class EndpointPort:
    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


@attrs.frozen
class EndpointSlice:
    metadata: ObjectMeta | None = None
    address_type: str | None = None
    endpoints: tuple[Endpoint, ...] = seq()
    ports: tuple[EndpointPort, ...] = seq()


@attrs.frozen
class LeaseSpec:
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None


@attrs.frozen
class Lease:
    metadata: ObjectMeta | None = None
    spec: LeaseSpec | None = None
