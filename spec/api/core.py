"""The core/v1 kinds: Namespace, Pod, Node, Service, Event, Binding.

Contract (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/,
.../cluster-resources/node-v1/, .../service-resources/service-v1/, .../cluster-resources/event-v1/):
frozen values, fields in snake_case named as Kubernetes names them, every field
optional with its zero value as default. Quantities are ``Quantity`` values
(strings and ints are converted); int-or-string fields (``targetPort``,
``maxSurge``, a probe's ``port``) hold an ``int`` or a ``str``. The model covers the
fields the components of kubeprop read; a manifest field outside it is reported
as an unknown field, never dropped silently.
"""

from __future__ import annotations

import attrs

from kubeprop.spec.api.base import FrozenMap, mapping, seq
from kubeprop.spec.api.meta import Condition, ObjectMeta, ObjectReference
from kubeprop.spec.api.quantity import Quantity, to_quantity
from kubeprop.spec.api.selectors import LabelSelector, NodeSelector, NodeSelectorTerm


def quantities():
    """A ResourceList field: resource name -> Quantity."""
    return mapping(value_converter=to_quantity)


# -- Namespace ----------------------------------------------------------------


@attrs.frozen
class NamespaceSpec:
    finalizers: tuple[str, ...] = seq()


@attrs.frozen
class NamespaceStatus:
    phase: str | None = None
    conditions: tuple[Condition, ...] = seq()


@attrs.frozen
class Namespace:
    metadata: ObjectMeta | None = None
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


# -- Pod: containers ------------------------------------------------------------


@attrs.frozen
class EnvVar:
    name: str | None = None
    value: str | None = None


@attrs.frozen
class ResourceRequirements:
    limits: FrozenMap[str, Quantity] = quantities()
    requests: FrozenMap[str, Quantity] = quantities()


@attrs.frozen
class ContainerPort:
    name: str | None = None
    host_port: int | None = None
    container_port: int | None = None
    protocol: str | None = None
    host_ip: str | None = None


@attrs.frozen
class ExecAction:
    command: tuple[str, ...] = seq()


@attrs.frozen
class HTTPHeader:
    name: str | None = None
    value: str | None = None


@attrs.frozen
class HTTPGetAction:
    path: str | None = None
    port: int | str | None = None
    host: str | None = None
    scheme: str | None = None
    http_headers: tuple[HTTPHeader, ...] = seq()


@attrs.frozen
class TCPSocketAction:
    port: int | str | None = None
    host: str | None = None


@attrs.frozen
class Probe:
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


@attrs.frozen
class Container:
    name: str | None = None
    image: str | None = None
    command: tuple[str, ...] = seq()
    args: tuple[str, ...] = seq()
    working_dir: str | None = None
    ports: tuple[ContainerPort, ...] = seq()
    env: tuple[EnvVar, ...] = seq()
    resources: ResourceRequirements | None = None
    restart_policy: str | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    image_pull_policy: str | None = None


# -- Pod: scheduling ----------------------------------------------------------------


@attrs.frozen
class PreferredSchedulingTerm:
    weight: int | None = None
    preference: NodeSelectorTerm | None = None


@attrs.frozen
class NodeAffinity:
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = (
        seq()
    )


@attrs.frozen
class PodAffinityTerm:
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = seq()
    topology_key: str | None = None
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = seq()
    mismatch_label_keys: tuple[str, ...] = seq()


@attrs.frozen
class WeightedPodAffinityTerm:
    weight: int | None = None
    pod_affinity_term: PodAffinityTerm | None = None


@attrs.frozen
class PodAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = seq()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = (
        seq()
    )


@attrs.frozen
class PodAntiAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = seq()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = (
        seq()
    )


@attrs.frozen
class Affinity:
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


@attrs.frozen
class Toleration:
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@attrs.frozen
class TopologySpreadConstraint:
    max_skew: int | None = None
    topology_key: str | None = None
    when_unsatisfiable: str | None = None
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    match_label_keys: tuple[str, ...] = seq()


# -- Pod: volumes ----------------------------------------------------------------


@attrs.frozen
class EmptyDirVolumeSource:
    medium: str | None = None
    size_limit: Quantity | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_quantity)
    )


@attrs.frozen
class PersistentVolumeClaimVolumeSource:
    claim_name: str | None = None
    read_only: bool | None = None


@attrs.frozen
class KeyToPath:
    key: str | None = None
    path: str | None = None
    mode: int | None = None


@attrs.frozen
class ConfigMapVolumeSource:
    name: str | None = None
    items: tuple[KeyToPath, ...] = seq()
    default_mode: int | None = None
    optional: bool | None = None


@attrs.frozen
class SecretVolumeSource:
    secret_name: str | None = None
    items: tuple[KeyToPath, ...] = seq()
    default_mode: int | None = None
    optional: bool | None = None


@attrs.frozen
class HostPathVolumeSource:
    path: str | None = None
    type: str | None = None


@attrs.frozen
class Volume:
    name: str | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None


# -- Pod ----------------------------------------------------------------------------


@attrs.frozen
class PodSpec:
    volumes: tuple[Volume, ...] = seq()
    init_containers: tuple[Container, ...] = seq()
    containers: tuple[Container, ...] = seq()
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    node_selector: FrozenMap[str, str] = mapping()
    service_account_name: str | None = None
    node_name: str | None = None
    host_network: bool | None = None
    affinity: Affinity | None = None
    scheduler_name: str | None = None
    tolerations: tuple[Toleration, ...] = seq()
    priority_class_name: str | None = None
    priority: int | None = None
    preemption_policy: str | None = None
    overhead: FrozenMap[str, Quantity] = quantities()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = seq()
    enable_service_links: bool | None = None


@attrs.frozen
class ContainerStateWaiting:
    reason: str | None = None
    message: str | None = None


@attrs.frozen
class ContainerStateRunning:
    started_at: str | None = None


@attrs.frozen
class ContainerStateTerminated:
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = None


@attrs.frozen
class ContainerState:
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


@attrs.frozen
class ContainerStatus:
    name: str | None = None
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool | None = None
    restart_count: int | None = None
    image: str | None = None
    image_id: str | None = None
    container_id: str | None = None
    started: bool | None = None


@attrs.frozen
class PodIP:
    ip: str | None = None


@attrs.frozen
class PodStatus:
    phase: str | None = None
    conditions: tuple[Condition, ...] = seq()
    message: str | None = None
    reason: str | None = None
    nominated_node_name: str | None = None
    host_ip: str | None = None
    host_ips: tuple[PodIP, ...] = seq()
    pod_ip: str | None = None
    pod_ips: tuple[PodIP, ...] = seq()
    start_time: str | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = seq()
    container_statuses: tuple[ContainerStatus, ...] = seq()
    qos_class: str | None = None


@attrs.frozen
class Pod:
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None
    status: PodStatus | None = None


@attrs.frozen
class PodTemplateSpec:
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None


# -- Node ----------------------------------------------------------------------------


@attrs.frozen
class Taint:
    key: str | None = None
    value: str | None = None
    effect: str | None = None
    time_added: str | None = None


@attrs.frozen
class NodeSpec:
    pod_cidr: str | None = None
    pod_cidrs: tuple[str, ...] = seq()
    provider_id: str | None = None
    unschedulable: bool | None = None
    taints: tuple[Taint, ...] = seq()


@attrs.frozen
class NodeAddress:
    type: str | None = None
    address: str | None = None


@attrs.frozen
class ContainerImage:
    names: tuple[str, ...] = seq()
    size_bytes: int | None = None


@attrs.frozen
class NodeSystemInfo:
    machine_id: str | None = None
    system_uuid: str | None = None
    boot_id: str | None = None
    kernel_version: str | None = None
    os_image: str | None = None
    container_runtime_version: str | None = None
    kubelet_version: str | None = None
    kube_proxy_version: str | None = None
    operating_system: str | None = None
    architecture: str | None = None


@attrs.frozen
class NodeStatus:
    capacity: FrozenMap[str, Quantity] = quantities()
    allocatable: FrozenMap[str, Quantity] = quantities()
    phase: str | None = None
    conditions: tuple[Condition, ...] = seq()
    addresses: tuple[NodeAddress, ...] = seq()
    node_info: NodeSystemInfo | None = None
    images: tuple[ContainerImage, ...] = seq()


@attrs.frozen
class Node:
    metadata: ObjectMeta | None = None
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


# -- Service ------------------------------------------------------------------------


@attrs.frozen
class ServicePort:
    name: str | None = None
    protocol: str | None = None
    app_protocol: str | None = None
    port: int | None = None
    target_port: int | str | None = None
    node_port: int | None = None


@attrs.frozen
class ServiceSpec:
    ports: tuple[ServicePort, ...] = seq()
    selector: FrozenMap[str, str] = mapping()
    cluster_ip: str | None = None
    cluster_ips: tuple[str, ...] = seq()
    type: str | None = None
    external_ips: tuple[str, ...] = seq()
    session_affinity: str | None = None
    load_balancer_ip: str | None = None
    external_name: str | None = None
    external_traffic_policy: str | None = None
    internal_traffic_policy: str | None = None
    publish_not_ready_addresses: bool | None = None


@attrs.frozen
class PortStatus:
    port: int | None = None
    protocol: str | None = None
    error: str | None = None


@attrs.frozen
class LoadBalancerIngress:
    ip: str | None = None
    hostname: str | None = None
    ports: tuple[PortStatus, ...] = seq()


@attrs.frozen
class LoadBalancerStatus:
    ingress: tuple[LoadBalancerIngress, ...] = seq()


@attrs.frozen
class ServiceStatus:
    load_balancer: LoadBalancerStatus | None = None
    conditions: tuple[Condition, ...] = seq()


@attrs.frozen
class Service:
    metadata: ObjectMeta | None = None
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


# -- Event, Binding -------------------------------------------------------------------


@attrs.frozen
class EventSource:
    component: str | None = None
    host: str | None = None


@attrs.frozen
class Event:
    """core/v1 Event: something that happened to ``involved_object``."""

    metadata: ObjectMeta | None = None
    involved_object: ObjectReference | None = None
    reason: str | None = None
    message: str | None = None
    source: EventSource | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    count: int | None = None
    type: str | None = None
    event_time: str | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None


@attrs.frozen
class Binding:
    """Binds a pod to a node (the pods/binding subresource)."""

    metadata: ObjectMeta | None = None
    target: ObjectReference | None = None
