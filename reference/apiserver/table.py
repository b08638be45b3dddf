"""Server-side printing: objects as the ``meta.k8s.io/v1`` Table kubectl shows.

Contract: ``convert(resource, body, now, include_object)`` turns an object or
a list of ``resource`` into a Table: ``columnDefinitions`` (name, type,
format, description, priority; priority 1 columns are the ones ``-o wide``
adds) and one row per object whose cells are the values kube-apiserver's
printers compute (k8s.io/kubernetes/pkg/printers/internalversion/printers.go,
v1.35), for pods, deployments, replicasets, nodes, namespaces, services,
events, leases and endpointslices; any other resource gets the default
columns of upstream's default table convertor (Name, Created At). ``now`` is
the server's clock in simulated seconds (AGE is
``human_duration(now - creationTimestamp)``). Each row carries the object as
``include_object`` says: ``None`` (no object), ``Metadata`` (a
PartialObjectMetadata, the default) or ``Object`` (the whole object). A list's
resourceVersion and continue token carry over to the Table.
``partial_metadata(body)`` is the ``as=PartialObjectMetadata`` view.
Pure functions of their arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kubeprop.spec.api import times

Manifest = dict[str, Any]
META = "meta.k8s.io/v1"


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: how kubectl prints an age."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{hours // 24 // 365}y"


def _seconds(timestamp: Any) -> float | None:
    """Simulated seconds of a timestamp, None if absent or unreadable."""
    if not timestamp or not isinstance(timestamp, str):
        return None
    try:
        return times.seconds(timestamp)
    except ValueError:
        return None


def _age(timestamp: Any, now: float) -> str:
    seconds = _seconds(timestamp)
    return "<unknown>" if seconds is None else human_duration(now - seconds)


def pod_status(pod: Manifest) -> str:
    """The STATUS column of ``kubectl get pods`` (printPod's reason)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    inits = status.get("initContainerStatuses") or []
    for i, item in enumerate(inits):
        state = item.get("state") or {}
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            reason = f"Init:{state['waiting']['reason']}"
        else:
            reason = f"Init:{i}/{len((pod.get('spec') or {}).get('initContainers') or [])}"
        break
    else:
        running = False
        for item in reversed(status.get("containerStatuses") or []):
            state = item.get("state") or {}
            if state.get("waiting", {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated", {}).get("reason"):
                reason = state["terminated"]["reason"]
            elif "terminated" in state:
                code = state["terminated"].get("exitCode")
                reason = f"ExitCode:{code}"
            elif "running" in state and item.get("ready"):
                running = True
        if running and reason == "Completed":
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _none(value: Any) -> str:
    return str(value) if value not in (None, "", []) else "<none>"


def _pod_row(pod: Manifest, now: float) -> list[Any]:
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    last_restart = None
    for item in statuses:
        finished = ((item.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        seconds = _seconds(finished)
        if seconds is not None and (last_restart is None or seconds > last_restart):
            last_restart = seconds
    shown_restarts = str(restarts)
    if restarts and last_restart is not None:
        shown_restarts = f"{restarts} ({human_duration(now - last_restart)} ago)"
    gates = spec.get("readinessGates") or []
    true_conditions = {
        c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    passed = sum(1 for g in gates if g.get("conditionType") in true_conditions)
    return [
        _name(pod),
        f"{ready}/{len(spec.get('containers') or [])}",
        pod_status(pod),
        shown_restarts,
        _age((pod.get("metadata") or {}).get("creationTimestamp"), now),
        _none(status.get("podIP")),
        _none(spec.get("nodeName")),
        _none(status.get("nominatedNodeName")),
        f"{passed}/{len(gates)}" if gates else "<none>",
    ]


def _containers(template_spec: Manifest) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def _selector(selector: Any) -> str:
    if not isinstance(selector, dict):
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(expression.get("values") or [])
        operator = str(expression.get("operator", "")).lower()
        if operator == "exists":
            parts.append(str(expression.get("key")))
        elif operator == "doesnotexist":
            parts.append(f"!{expression.get('key')}")
        else:
            parts.append(f"{expression.get('key')} {operator} ({values})")
    return ",".join(parts) if parts else "<none>"


def _deployment_row(deployment: Manifest, now: float) -> list[Any]:
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    names, images = _containers((spec.get("template") or {}).get("spec") or {})
    return [
        _name(deployment),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _age((deployment.get("metadata") or {}).get("creationTimestamp"), now),
        names,
        images,
        _selector(spec.get("selector")),
    ]


def _replicaset_row(replicaset: Manifest, now: float) -> list[Any]:
    spec = replicaset.get("spec") or {}
    status = replicaset.get("status") or {}
    names, images = _containers((spec.get("template") or {}).get("spec") or {})
    return [
        _name(replicaset),
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age((replicaset.get("metadata") or {}).get("creationTimestamp"), now),
        names,
        images,
        _selector(spec.get("selector")),
    ]


NODE_ROLE_PREFIX = "node-role.kubernetes.io/"


def _node_row(node: Manifest, now: float) -> list[Any]:
    status = node.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if "Ready" not in conditions:
        shown = "Unknown"
    else:
        shown = "Ready" if conditions["Ready"] == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        shown += ",SchedulingDisabled"
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(k[len(NODE_ROLE_PREFIX) :] for k in labels if k.startswith(NODE_ROLE_PREFIX))
    if "kubernetes.io/role" in labels:
        roles.append(labels["kubernetes.io/role"])
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        _name(node),
        shown,
        ",".join(r for r in roles if r) or "<none>",
        _age((node.get("metadata") or {}).get("creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        _none(addresses.get("InternalIP")),
        _none(addresses.get("ExternalIP")),
        info.get("osImage", "<unknown>") or "<unknown>",
        info.get("kernelVersion", "<unknown>") or "<unknown>",
        info.get("containerRuntimeVersion", "<unknown>") or "<unknown>",
    ]


def _namespace_row(namespace: Manifest, now: float) -> list[Any]:
    return [
        _name(namespace),
        str((namespace.get("status") or {}).get("phase", "")),
        _age((namespace.get("metadata") or {}).get("creationTimestamp"), now),
    ]


def _service_row(service: Manifest, now: float) -> list[Any]:
    spec = service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if kind == "LoadBalancer":
        external = external + [i.get("ip") or i.get("hostname") for i in ingress]
        shown_external = ",".join(str(e) for e in external) if external else "<pending>"
    elif kind == "ExternalName":
        shown_external = spec.get("externalName") or "<none>"
    else:
        shown_external = ",".join(external) if external else "<none>"
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    selector = spec.get("selector") or {}
    return [
        _name(service),
        kind,
        spec.get("clusterIP") or "<none>",
        shown_external,
        ",".join(ports) or "<none>",
        _age((service.get("metadata") or {}).get("creationTimestamp"), now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


def _event_row(event: Manifest, now: float) -> list[Any]:
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    source = event.get("source") or {}
    first = event.get("firstTimestamp") or event.get("eventTime")
    last = event.get("lastTimestamp") or first
    count = int(event.get("count") or 1)
    series = event.get("series") or {}
    if series.get("lastObservedTime"):
        last, count = series["lastObservedTime"], int(series.get("count") or count)
    shown_last = _age(last, now)
    origin = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return [
        shown_last,
        event.get("type", ""),
        event.get("reason", ""),
        f"{kind}/{involved['name']}" if involved.get("name") else kind,
        involved.get("fieldPath", ""),
        f"{origin}, {host}" if host else origin,
        str(event.get("message") or "").strip(),
        _age(first, now),
        count,
        _name(event),
    ]


def _lease_row(lease: Manifest, now: float) -> list[Any]:
    return [
        _name(lease),
        str((lease.get("spec") or {}).get("holderIdentity") or ""),
        _age((lease.get("metadata") or {}).get("creationTimestamp"), now),
    ]


def _first_three(values: list[str]) -> str:
    """Up to three values, then how many more (formatDiscoveryPorts/-Endpoints)."""
    if not values:
        return "<unset>"
    shown = ",".join(values[:3])
    return f"{shown} + {len(values) - 3} more..." if len(values) > 3 else shown


def _endpointslice_row(slice_: Manifest, now: float) -> list[Any]:
    ports = [str(p.get("port", "")) for p in slice_.get("ports") or [] if p.get("port") is not None]
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        _name(slice_),
        str(slice_.get("addressType", "")),
        _first_three(ports),
        _first_three(addresses),
        _age((slice_.get("metadata") or {}).get("creationTimestamp"), now),
    ]


def _default_row(item: Manifest, now: float) -> list[Any]:
    return [_name(item), (item.get("metadata") or {}).get("creationTimestamp")]


def _name(item: Manifest) -> str:
    return str((item.get("metadata") or {}).get("name", ""))


def _column(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> Manifest:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


NAME = _column("Name", fmt="name")
AGE = _column("Age")
WIDE_WORKLOAD = [_column("Containers", priority=1), _column("Images", priority=1)]
# resource plural -> (columns, row of cells), as kube-apiserver's printers define them.
PRINTERS: dict[str, tuple[list[Manifest], Callable[[Manifest, float], list[Any]]]] = {
    "pods": (
        [
            NAME,
            _column("Ready"),
            _column("Status"),
            _column("Restarts"),
            AGE,
            _column("IP", priority=1),
            _column("Node", priority=1),
            _column("Nominated Node", priority=1),
            _column("Readiness Gates", priority=1),
        ],
        _pod_row,
    ),
    "deployments": (
        [
            NAME,
            _column("Ready"),
            _column("Up-to-date", "integer"),
            _column("Available", "integer"),
            AGE,
            *WIDE_WORKLOAD,
            _column("Selector", priority=1),
        ],
        _deployment_row,
    ),
    "replicasets": (
        [
            NAME,
            _column("Desired", "integer"),
            _column("Current", "integer"),
            _column("Ready", "integer"),
            AGE,
            *WIDE_WORKLOAD,
            _column("Selector", priority=1),
        ],
        _replicaset_row,
    ),
    "nodes": (
        [
            NAME,
            _column("Status"),
            _column("Roles"),
            AGE,
            _column("Version"),
            _column("Internal-IP", priority=1),
            _column("External-IP", priority=1),
            _column("OS-Image", priority=1),
            _column("Kernel-Version", priority=1),
            _column("Container-Runtime", priority=1),
        ],
        _node_row,
    ),
    "namespaces": ([NAME, _column("Status"), AGE], _namespace_row),
    "services": (
        [
            NAME,
            _column("Type"),
            _column("Cluster-IP"),
            _column("External-IP"),
            _column("Port(s)"),
            AGE,
            _column("Selector", priority=1),
        ],
        _service_row,
    ),
    "events": (
        [
            _column("Last Seen"),
            _column("Type"),
            _column("Reason"),
            _column("Object"),
            _column("Subobject", priority=1),
            _column("Source", priority=1),
            _column("Message"),
            _column("First Seen", priority=1),
            _column("Count", "integer", priority=1),
            _column("Name", priority=1),
        ],
        _event_row,
    ),
    "leases": ([NAME, _column("Holder"), AGE], _lease_row),
    "endpointslices": (
        [NAME, _column("AddressType"), _column("Ports"), _column("Endpoints"), AGE],
        _endpointslice_row,
    ),
}
DEFAULT_PRINTER = ([NAME, _column("Created At", "date")], _default_row)


def partial_metadata(body: Manifest) -> Manifest:
    """An object as PartialObjectMetadata, a list as PartialObjectMetadataList."""
    if isinstance(body.get("items"), list):
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": META,
            "metadata": body.get("metadata") or {},
            "items": [_partial(item) for item in body["items"]],
        }
    return _partial(body)


def _partial(item: Manifest) -> Manifest:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": META,
        "metadata": item.get("metadata") or {},
    }


def convert(
    resource: Any, body: Manifest, now: float, include_object: str = "Metadata"
) -> Manifest:
    """``body`` (an object or a list of ``resource``) as a meta.k8s.io/v1 Table."""
    columns, row_of = PRINTERS.get(resource.plural, DEFAULT_PRINTER)
    items: Sequence[Manifest]
    if isinstance(body.get("items"), list):
        items = [
            {"kind": resource.kind, "apiVersion": resource.api_version, **item}
            for item in body["items"]
        ]
        meta = {
            k: v
            for k, v in (body.get("metadata") or {}).items()
            if k in ("resourceVersion", "continue", "remainingItemCount")
        }
    else:
        items = [body]
        meta = {"resourceVersion": (body.get("metadata") or {}).get("resourceVersion", "")}
    rows = []
    for item in items:
        row: Manifest = {"cells": row_of(item, now)}
        if include_object == "Object":
            row["object"] = item
        elif include_object == "Metadata":
            row["object"] = _partial(item)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": META,
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    }
