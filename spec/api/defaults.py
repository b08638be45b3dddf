"""Defaulting: the values Kubernetes' v1 defaulters (and create strategies) fill in.

Contract: ``default(obj)`` returns a new object with every unset defaulted field
filled; it never changes a field that is set, and ``default(default(o)) ==
default(o)``. Sources:
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/ (restartPolicy
Always, dnsPolicy ClusterFirst, schedulerName default-scheduler,
terminationGracePeriodSeconds 30, enableServiceLinks true, container
terminationMessagePath /dev/termination-log and terminationMessagePolicy File,
port protocol TCP),
https://kubernetes.io/docs/concepts/containers/images/#imagepullpolicy-defaulting
(Always for ``:latest`` or no tag, else IfNotPresent),
https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
(requests default to limits), probes (timeoutSeconds 1, periodSeconds 10,
successThreshold 1, failureThreshold 3; httpGet path "/" and scheme HTTP),
https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/ (priority 0,
preemptionPolicy PreemptLowerPriority, without a PriorityClass),
https://kubernetes.io/docs/concepts/workloads/controllers/deployment/ (replicas 1,
RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600),
https://kubernetes.io/docs/concepts/services-networking/service/ (type ClusterIP,
sessionAffinity None, protocol TCP, targetPort = port, traffic policies Cluster),
https://kubernetes.io/docs/tasks/administer-cluster/namespaces/ (finalizer
``kubernetes``, phase Active); a Node's allocatable defaults to its capacity.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import attrs

from kubeprop.spec.api import apps, core, discovery

TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_GRACE_SECONDS = 30


def _or(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def image_tag(image: str) -> str:
    """The tag of an image reference ("latest" when it has neither tag nor digest)."""
    if "@" in image:
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        return last.split(":", 1)[1] if ":" in last else ""
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def default_pull_policy(image: str | None) -> str:
    return "Always" if image_tag(image or "") == "latest" else "IfNotPresent"


def _probe(p: core.Probe | None) -> core.Probe | None:
    if p is None:
        return None
    http_get = p.http_get
    if http_get is not None:
        http_get = attrs.evolve(
            http_get, path=_or(http_get.path, "/"), scheme=_or(http_get.scheme, "HTTP")
        )
    return attrs.evolve(
        p,
        http_get=http_get,
        timeout_seconds=_or(p.timeout_seconds, 1),
        period_seconds=_or(p.period_seconds, 10),
        success_threshold=_or(p.success_threshold, 1),
        failure_threshold=_or(p.failure_threshold, 3),
    )


def default_container(c: core.Container) -> core.Container:
    resources = c.resources
    if resources is not None and resources.limits:
        requests = dict(resources.requests)
        for name, limit in resources.limits.items():
            requests.setdefault(name, limit)
        resources = attrs.evolve(resources, requests=requests)
    return attrs.evolve(
        c,
        image_pull_policy=_or(c.image_pull_policy, default_pull_policy(c.image)),
        termination_message_path=_or(c.termination_message_path, TERMINATION_MESSAGE_PATH),
        termination_message_policy=_or(c.termination_message_policy, "File"),
        ports=tuple(attrs.evolve(p, protocol=_or(p.protocol, "TCP")) for p in c.ports),
        resources=resources,
        liveness_probe=_probe(c.liveness_probe),
        readiness_probe=_probe(c.readiness_probe),
        startup_probe=_probe(c.startup_probe),
    )


def _volume(v: core.Volume) -> core.Volume:
    sources = (v.empty_dir, v.persistent_volume_claim, v.config_map, v.secret, v.host_path)
    if all(s is None for s in sources):
        return attrs.evolve(v, empty_dir=core.EmptyDirVolumeSource())
    if v.config_map is not None:
        v = attrs.evolve(
            v,
            config_map=attrs.evolve(
                v.config_map, default_mode=_or(v.config_map.default_mode, 0o644)
            ),
        )
    if v.secret is not None:
        v = attrs.evolve(
            v, secret=attrs.evolve(v.secret, default_mode=_or(v.secret.default_mode, 0o644))
        )
    if v.host_path is not None:
        v = attrs.evolve(v, host_path=attrs.evolve(v.host_path, type=_or(v.host_path.type, "")))
    return v


def default_pod_spec(spec: core.PodSpec | None) -> core.PodSpec:
    spec = spec or core.PodSpec()
    return attrs.evolve(
        spec,
        containers=tuple(default_container(c) for c in spec.containers),
        init_containers=tuple(default_container(c) for c in spec.init_containers),
        volumes=tuple(_volume(v) for v in spec.volumes),
        restart_policy=_or(spec.restart_policy, "Always"),
        dns_policy=_or(spec.dns_policy, "ClusterFirst"),
        scheduler_name=_or(spec.scheduler_name, DEFAULT_SCHEDULER),
        termination_grace_period_seconds=_or(
            spec.termination_grace_period_seconds, DEFAULT_GRACE_SECONDS
        ),
        enable_service_links=_or(spec.enable_service_links, True),
        priority=_or(spec.priority, 0),
        preemption_policy=_or(spec.preemption_policy, "PreemptLowerPriority"),
        tolerations=tuple(
            attrs.evolve(t, operator="Equal") if t.operator is None and t.key else t
            for t in spec.tolerations
        ),
    )


def _template(t: core.PodTemplateSpec | None) -> core.PodTemplateSpec | None:
    if t is None:
        return None
    return attrs.evolve(t, spec=default_pod_spec(t.spec))


@singledispatch
def default(obj: Any) -> Any:
    """``obj`` with Kubernetes' defaults filled in (unknown kinds unchanged)."""
    return obj


@default.register
def _(pod: core.Pod) -> core.Pod:
    return attrs.evolve(pod, spec=default_pod_spec(pod.spec))


@default.register
def _(rs: apps.ReplicaSet) -> apps.ReplicaSet:
    spec = rs.spec or apps.ReplicaSetSpec()
    return attrs.evolve(
        rs,
        spec=attrs.evolve(spec, replicas=_or(spec.replicas, 1), template=_template(spec.template)),
    )


@default.register
def _(d: apps.Deployment) -> apps.Deployment:
    spec = d.spec or apps.DeploymentSpec()
    strategy = spec.strategy or apps.DeploymentStrategy()
    strategy = attrs.evolve(strategy, type=_or(strategy.type, "RollingUpdate"))
    if strategy.type == "RollingUpdate":
        ru = strategy.rolling_update or apps.RollingUpdateDeployment()
        strategy = attrs.evolve(
            strategy,
            rolling_update=attrs.evolve(
                ru,
                max_unavailable=_or(ru.max_unavailable, "25%"),
                max_surge=_or(ru.max_surge, "25%"),
            ),
        )
    spec = attrs.evolve(
        spec,
        replicas=_or(spec.replicas, 1),
        strategy=strategy,
        revision_history_limit=_or(spec.revision_history_limit, 10),
        progress_deadline_seconds=_or(spec.progress_deadline_seconds, 600),
        template=_template(spec.template),
    )
    return attrs.evolve(d, spec=spec)


@default.register
def _(svc: core.Service) -> core.Service:
    spec = svc.spec or core.ServiceSpec()
    svc_type = _or(spec.type, "ClusterIP")
    ports = tuple(
        attrs.evolve(
            p,
            protocol=_or(p.protocol, "TCP"),
            target_port=p.port if p.target_port in (None, 0, "") else p.target_port,
        )
        for p in spec.ports
    )
    external = spec.external_traffic_policy
    if external is None and svc_type in ("NodePort", "LoadBalancer"):
        external = "Cluster"
    internal = spec.internal_traffic_policy
    if internal is None and svc_type != "ExternalName":
        internal = "Cluster"
    spec = attrs.evolve(
        spec,
        type=svc_type,
        session_affinity=_or(spec.session_affinity, "None"),
        ports=ports,
        external_traffic_policy=external,
        internal_traffic_policy=internal,
    )
    return attrs.evolve(svc, spec=spec)


@default.register
def _(ns: core.Namespace) -> core.Namespace:
    spec = ns.spec or core.NamespaceSpec()
    if not spec.finalizers:
        spec = attrs.evolve(spec, finalizers=("kubernetes",))
    status = ns.status or core.NamespaceStatus()
    return attrs.evolve(
        ns, spec=spec, status=attrs.evolve(status, phase=_or(status.phase, "Active"))
    )


@default.register
def _(node: core.Node) -> core.Node:
    status = node.status
    if status is not None and status.capacity and not status.allocatable:
        status = attrs.evolve(status, allocatable=status.capacity)
    return attrs.evolve(node, status=status)


@default.register
def _(es: discovery.EndpointSlice) -> discovery.EndpointSlice:
    return attrs.evolve(
        es, ports=tuple(attrs.evolve(p, protocol=_or(p.protocol, "TCP")) for p in es.ports)
    )
