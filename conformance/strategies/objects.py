"""Hypothesis strategies for Kubernetes manifests: valid ones of every kind, and broken ones.

Contract:
- ``manifests(kind)`` draws canonical camelCase manifests of one kind (``pods()``,
  ``nodes()``, ... one per kind): ``dump(load(m)) == m`` holds for each (no empty
  lists or maps, canonical quantities) and, once defaulted, each passes
  validation. ``any_manifest()`` draws a kind first.
- ``invalid_manifests()`` draws ``(manifest, expected)``: a valid manifest with 1-3
  mutations (an unknown field, a value of the wrong JSON type, a missing
  apiVersion/kind); ``expected`` lists the field paths the errors must name, and
  ``unknown`` the unknown fields among them.
- ``quantity_strings()`` draws quantity strings of every syntax (signs, decimals,
  suffixes, exponents); ``label_selectors()``, ``node_selectors()``, ``labels()``
  draw selector manifests and label sets over a small shared vocabulary so that
  matches and misses both happen.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from kubeprop.spec.api.quantity import BINARY_SI, DECIMAL_SI, Quantity

ALPHANUM = "abcdefghijklmnopqrstuvwxyz0123456789"

# -- vocabulary ------------------------------------------------------------------------

dns_labels = st.builds(
    lambda head, body: head + body,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text(ALPHANUM, max_size=6),
)
namespaces = st.sampled_from(["default", "kube-system", "team-a", "prod"])
LABEL_KEYS = ["app", "tier", "env", "example.com/team", "zone"]
LABEL_VALUES = ["web", "db", "prod", "dev", "a", "b", "1", "10"]
label_sets = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=4)
images = st.sampled_from(
    [
        "nginx",
        "nginx:1.27",
        "busybox:latest",
        "registry.k8s.io/pause:3.10",
        "redis@sha256:" + "a" * 64,
    ]
)
timestamps = st.integers(0, 86399).map(
    lambda s: f"2026-01-01T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"
)


def labels() -> st.SearchStrategy[dict[str, str]]:
    return label_sets


def _omit_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {})}


@st.composite
def _optional(draw, fields: dict[str, st.SearchStrategy]) -> dict[str, Any]:
    """A dict with a random subset of ``fields`` drawn (empty values omitted)."""
    out = {}
    for name, strategy in fields.items():
        if draw(st.booleans()):
            out[name] = draw(strategy)
    return _omit_empty(out)


# -- quantities --------------------------------------------------------------------------


def cpu_quantities() -> st.SearchStrategy[str]:
    return st.integers(1, 64000).map(lambda m: str(Quantity(Fraction(m, 1000), DECIMAL_SI)))


def memory_quantities() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(1, 2**20).map(lambda k: str(Quantity(k * 1024, BINARY_SI))),
        st.integers(1, 10**6).map(lambda k: str(Quantity(k * 1000, DECIMAL_SI))),
    )


def quantity_strings() -> st.SearchStrategy[str]:
    suffix = st.sampled_from(
        ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
    )
    exponent = st.builds(lambda e, n: f"{e}{n}", st.sampled_from(["e", "E"]), st.integers(-12, 21))
    digits = st.text("0123456789", max_size=5)
    number = st.one_of(
        st.builds(lambda a: a or "0", digits),
        st.builds(lambda a, b: f"{a}.{b}", digits, digits),
    )
    return st.builds(
        lambda sign, num, suf: sign + num + suf,
        st.sampled_from(["", "", "+", "-"]),
        number,
        st.one_of(suffix, exponent),
    )


def resource_lists() -> st.SearchStrategy[dict[str, str]]:
    return _optional({"cpu": cpu_quantities(), "memory": memory_quantities()})


# -- selectors ---------------------------------------------------------------------------


def _requirement(operators: list[str], keys: list[str], values: list[str]):
    def build(key, op, vals):
        r = {"key": key, "operator": op}
        if op in ("In", "NotIn"):
            r["values"] = vals or [values[0]]
        elif op in ("Gt", "Lt"):
            r["values"] = [vals[0] if vals and vals[0].isdigit() else "5"]
        return r

    return st.builds(
        build,
        st.sampled_from(keys),
        st.sampled_from(operators),
        st.lists(st.sampled_from(values), max_size=3, unique=True),
    )


def label_selectors() -> st.SearchStrategy[dict[str, Any]]:
    return _optional(
        {
            "matchLabels": st.dictionaries(
                st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2
            ),
            "matchExpressions": st.lists(
                _requirement(["In", "NotIn", "Exists", "DoesNotExist"], LABEL_KEYS, LABEL_VALUES),
                max_size=3,
            ),
        }
    )


def node_selector_terms() -> st.SearchStrategy[dict[str, Any]]:
    return _optional(
        {
            "matchExpressions": st.lists(
                _requirement(
                    ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"], LABEL_KEYS, LABEL_VALUES
                ),
                max_size=3,
            ),
            "matchFields": st.lists(
                st.builds(
                    lambda op, name: {"key": "metadata.name", "operator": op, "values": [name]},
                    st.sampled_from(["In", "NotIn"]),
                    st.sampled_from(["node-a", "node-b"]),
                ),
                max_size=1,
            ),
        }
    )


def node_selectors(min_terms: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda terms: {"nodeSelectorTerms": terms},
        st.lists(node_selector_terms(), min_size=min_terms, max_size=3),
    )


# -- metadata ----------------------------------------------------------------------------


@st.composite
def object_meta(draw, *, namespaced: bool = True, name: st.SearchStrategy[str] = dns_labels):
    meta = {"name": draw(name)}
    meta |= draw(
        _optional(
            {
                "labels": label_sets,
                "annotations": st.dictionaries(
                    st.sampled_from(["note", "example.com/owner"]),
                    st.text(ALPHANUM, max_size=8),
                    max_size=2,
                ),
                "uid": st.uuids().map(str),
                "resourceVersion": st.integers(1, 10**6).map(str),
                "generation": st.integers(1, 100),
                "creationTimestamp": timestamps,
            }
        )
    )
    if namespaced and draw(st.booleans()):
        meta["namespace"] = draw(namespaces)
    return meta


# -- pods --------------------------------------------------------------------------------


def probes() -> st.SearchStrategy[dict[str, Any]]:
    handler = st.one_of(
        st.builds(
            lambda c: {"exec": {"command": c}},
            st.lists(st.sampled_from(["cat", "/tmp/ok"]), min_size=1, max_size=2),
        ),
        st.builds(
            lambda p: {"httpGet": {"path": "/healthz", "port": p}},
            st.one_of(st.integers(1, 65535), st.just("http")),
        ),
        st.builds(lambda p: {"tcpSocket": {"port": p}}, st.integers(1, 65535)),
    )
    return st.builds(
        lambda h, rest: {**h, **rest},
        handler,
        _optional(
            {
                "initialDelaySeconds": st.integers(0, 30),
                "periodSeconds": st.integers(1, 30),
                "timeoutSeconds": st.integers(1, 10),
                "successThreshold": st.just(1),
                "failureThreshold": st.integers(1, 5),
            }
        ),
    )


@st.composite
def containers(draw, name: str, *, init: bool = False):
    c = {"name": name, "image": draw(images)}
    c |= draw(
        _optional(
            {
                "imagePullPolicy": st.sampled_from(["Always", "IfNotPresent", "Never"]),
                "command": st.lists(st.sampled_from(["sh", "-c", "sleep"]), min_size=1, max_size=3),
                "args": st.lists(st.sampled_from(["10", "inf", "--v=2"]), min_size=1, max_size=2),
                "env": st.lists(
                    st.builds(
                        lambda n, v: {"name": n, "value": v},
                        st.sampled_from(["A", "B_C"]),
                        st.text(ALPHANUM, max_size=5),
                    ),
                    max_size=2,
                ),
                "ports": st.lists(
                    st.builds(
                        lambda port, rest: {"containerPort": port, **rest},
                        st.integers(1, 65535),
                        _optional(
                            {
                                "protocol": st.sampled_from(["TCP", "UDP", "SCTP"]),
                                "hostPort": st.integers(1, 65535),
                            }
                        ),
                    ),
                    max_size=2,
                ),
            }
        )
    )
    requests, limits = draw(resource_lists()), draw(resource_lists())
    for key in list(requests):  # requests <= limits where both are set
        if key in limits and Quantity.parse(requests[key]) > Quantity.parse(limits[key]):
            requests[key], limits[key] = limits[key], requests[key]
    resources = _omit_empty({"requests": requests, "limits": limits})
    if resources or draw(st.booleans()):
        c["resources"] = resources
    if init:
        if draw(st.booleans()):
            c["restartPolicy"] = "Always"  # a sidecar
            if draw(st.booleans()):
                c["readinessProbe"] = draw(probes())
    else:
        c |= draw(
            _optional(
                {"livenessProbe": probes(), "readinessProbe": probes(), "startupProbe": probes()}
            )
        )
    return c


def tolerations() -> st.SearchStrategy[dict[str, Any]]:
    effect = st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])
    return st.one_of(
        st.builds(lambda: {"operator": "Exists"}),
        st.builds(
            lambda k, v, e: {"key": k, "operator": "Equal", "value": v, "effect": e},
            st.sampled_from(LABEL_KEYS),
            st.sampled_from(LABEL_VALUES),
            effect,
        ),
        st.builds(
            lambda k, s: {
                "key": k,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": s,
            },
            st.sampled_from(LABEL_KEYS),
            st.integers(0, 600),
        ),
    )


def affinities() -> st.SearchStrategy[dict[str, Any]]:
    term = st.builds(
        lambda sel, key: {"labelSelector": sel, "topologyKey": key},
        label_selectors(),
        st.sampled_from(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]),
    )
    weighted = st.builds(
        lambda w, t: {"weight": w, "podAffinityTerm": t}, st.integers(1, 100), term
    )
    pod_affinity = _optional(
        {
            "requiredDuringSchedulingIgnoredDuringExecution": st.lists(term, max_size=2),
            "preferredDuringSchedulingIgnoredDuringExecution": st.lists(weighted, max_size=2),
        }
    )
    node_affinity = _optional(
        {
            "requiredDuringSchedulingIgnoredDuringExecution": node_selectors(min_terms=1),
            "preferredDuringSchedulingIgnoredDuringExecution": st.lists(
                st.builds(
                    lambda w, p: {"weight": w, "preference": p},
                    st.integers(1, 100),
                    node_selector_terms().map(
                        lambda t: {k: v for k, v in t.items() if k == "matchExpressions"}
                    ),
                ),
                max_size=2,
            ),
        }
    )
    return _optional(
        {
            "nodeAffinity": node_affinity,
            "podAffinity": pod_affinity,
            "podAntiAffinity": pod_affinity,
        }
    )


def volumes(name: str) -> st.SearchStrategy[dict[str, Any]]:
    source = st.one_of(
        st.builds(lambda: {"emptyDir": {}}),
        st.builds(lambda s: {"emptyDir": {"sizeLimit": s}}, memory_quantities()),
        st.builds(lambda c: {"persistentVolumeClaim": {"claimName": c}}, dns_labels),
        st.builds(lambda c: {"configMap": {"name": c}}, dns_labels),
        st.builds(lambda c: {"secret": {"secretName": c}}, dns_labels),
        st.builds(lambda p: {"hostPath": {"path": p}}, st.sampled_from(["/var/log", "/data"])),
    )
    return source.map(lambda s: {"name": name, **s})


@st.composite
def pod_specs(draw, *, template: bool = False):
    names = draw(st.lists(dns_labels, min_size=1, max_size=4, unique=True))
    n_init = draw(st.integers(0, len(names) - 1))
    spec: dict[str, Any] = {
        "containers": [draw(containers(n)) for n in names[n_init:]],
    }
    if n_init:
        spec["initContainers"] = [draw(containers(n, init=True)) for n in names[:n_init]]
    volume_names = draw(st.lists(dns_labels, max_size=2, unique=True))
    if volume_names:
        spec["volumes"] = [draw(volumes(v)) for v in volume_names]
    optional = {
        "nodeSelector": st.dictionaries(
            st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2
        ),
        "tolerations": st.lists(tolerations(), max_size=3),
        "affinity": affinities(),
        "priority": st.integers(-100, 10**6),
        "priorityClassName": st.sampled_from(["high", "low"]),
        "schedulerName": st.sampled_from(["default-scheduler", "my-scheduler"]),
        "terminationGracePeriodSeconds": st.integers(0, 120),
        "serviceAccountName": dns_labels,
        "hostNetwork": st.booleans(),
        "overhead": resource_lists(),
        "topologySpreadConstraints": st.lists(
            st.builds(
                lambda skew, key, when, sel: {
                    "maxSkew": skew,
                    "topologyKey": key,
                    "whenUnsatisfiable": when,
                    "labelSelector": sel,
                },
                st.integers(1, 5),
                st.sampled_from(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]),
                st.sampled_from(["DoNotSchedule", "ScheduleAnyway"]),
                label_selectors(),
            ),
            max_size=2,
            unique_by=lambda c: (c["topologyKey"], c["whenUnsatisfiable"]),
        ),
    }
    if template:
        spec["restartPolicy"] = draw(st.sampled_from(["Always"]))
    else:
        optional["restartPolicy"] = st.sampled_from(["Always", "OnFailure", "Never"])
        optional["nodeName"] = st.sampled_from(["node-a", "node-b", "worker-1.example.com"])
    spec |= draw(_optional(optional))
    return _omit_empty(spec)


def container_statuses(name: str) -> st.SearchStrategy[dict[str, Any]]:
    state = st.one_of(
        st.builds(
            lambda r: {"waiting": {"reason": r}},
            st.sampled_from(["ContainerCreating", "CrashLoopBackOff", "ErrImagePull"]),
        ),
        st.builds(lambda t: {"running": {"startedAt": t}}, timestamps),
        st.builds(
            lambda c, t: {
                "terminated": {
                    "exitCode": c,
                    "reason": "Completed" if c == 0 else "Error",
                    "finishedAt": t,
                }
            },
            st.integers(0, 255),
            timestamps,
        ),
    )
    return st.builds(
        lambda s, ready, restarts, rest: {
            "name": name,
            "state": s,
            "ready": ready,
            "restartCount": restarts,
            **rest,
        },
        state,
        st.booleans(),
        st.integers(0, 10),
        _optional(
            {
                "image": images,
                "imageID": st.just("docker.io/library/nginx@sha256:" + "b" * 64),
                "containerID": st.just("containerd://abc"),
                "started": st.booleans(),
            }
        ),
    )


@st.composite
def pod_statuses(draw, container_names: list[str]):
    status = draw(
        _optional(
            {
                "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown"]),
                "podIP": st.sampled_from(["10.244.0.5", "10.244.1.7"]),
                "hostIP": st.just("192.168.0.10"),
                "startTime": timestamps,
                "nominatedNodeName": st.just("node-b"),
                "message": st.just("ok"),
                "reason": st.just("Evicted"),
                "conditions": st.lists(
                    st.builds(
                        lambda t, s, ts: {"type": t, "status": s, "lastTransitionTime": ts},
                        st.sampled_from(
                            ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
                        ),
                        st.sampled_from(["True", "False", "Unknown"]),
                        timestamps,
                    ),
                    max_size=3,
                    unique_by=lambda c: c["type"],
                ),
            }
        )
    )
    if "podIP" in status:
        status["podIPs"] = [{"ip": status["podIP"]}]
    if draw(st.booleans()):
        status["containerStatuses"] = [draw(container_statuses(n)) for n in container_names]
    return status


@st.composite
def pods(draw):
    spec = draw(pod_specs())
    m = {"apiVersion": "v1", "kind": "Pod", "metadata": draw(object_meta()), "spec": spec}
    if draw(st.booleans()):
        m["status"] = draw(pod_statuses([c["name"] for c in spec["containers"]]))
    return m


# -- other kinds -------------------------------------------------------------------------


@st.composite
def nodes(draw):
    m: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": draw(object_meta(namespaced=False)),
    }
    spec = draw(
        _optional(
            {
                "unschedulable": st.booleans(),
                "podCIDR": st.just("10.244.0.0/24"),
                "providerID": st.just("kubeprop://node"),
                "taints": st.lists(
                    st.builds(
                        lambda k, v, e: _omit_empty({"key": k, "value": v, "effect": e}),
                        st.sampled_from(LABEL_KEYS),
                        st.sampled_from(LABEL_VALUES),
                        st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                    ),
                    max_size=3,
                    unique_by=lambda t: (t["key"], t["effect"]),
                ),
            }
        )
    )
    if "podCIDR" in spec:
        spec["podCIDRs"] = [spec["podCIDR"]]
    if spec or draw(st.booleans()):
        m["spec"] = spec
    capacity = {
        "cpu": draw(st.integers(1, 128).map(str)),
        "memory": draw(memory_quantities()),
        "pods": "110",
    }
    status = {"capacity": capacity}
    status |= draw(
        _optional(
            {
                "allocatable": st.just(capacity),
                "conditions": st.lists(
                    st.builds(
                        lambda t, s, ts: {"type": t, "status": s, "lastHeartbeatTime": ts},
                        st.sampled_from(["Ready", "MemoryPressure", "DiskPressure"]),
                        st.sampled_from(["True", "False", "Unknown"]),
                        timestamps,
                    ),
                    max_size=3,
                    unique_by=lambda c: c["type"],
                ),
                "addresses": st.just(
                    [
                        {"type": "InternalIP", "address": "192.168.0.10"},
                        {"type": "Hostname", "address": "node-a"},
                    ]
                ),
                "images": st.lists(
                    st.builds(
                        lambda n, s: {"names": [n], "sizeBytes": s}, images, st.integers(1, 10**9)
                    ),
                    max_size=2,
                ),
                "nodeInfo": st.just(
                    {
                        "kubeletVersion": "v1.35.0",
                        "operatingSystem": "linux",
                        "architecture": "amd64",
                        "machineID": "m",
                        "systemUUID": "u",
                        "bootID": "b",
                    }
                ),
            }
        )
    )
    if draw(st.booleans()):
        m["status"] = status
    return m


@st.composite
def namespaces_(draw):
    m = {"apiVersion": "v1", "kind": "Namespace", "metadata": draw(object_meta(namespaced=False))}
    if draw(st.booleans()):
        m["spec"] = {"finalizers": ["kubernetes"]}
    if draw(st.booleans()):
        m["status"] = {"phase": draw(st.sampled_from(["Active", "Terminating"]))}
    return m


@st.composite
def _workload_parts(draw):
    selector_labels = draw(
        st.dictionaries(
            st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), min_size=1, max_size=2
        )
    )
    extra = draw(label_sets)
    template_labels = {**extra, **selector_labels}
    selector: dict[str, Any] = {"matchLabels": selector_labels}
    if draw(st.booleans()):
        key = next(iter(selector_labels))
        selector["matchExpressions"] = [
            {"key": key, "operator": "In", "values": [selector_labels[key]]}
        ]
    template = {"metadata": {"labels": template_labels}, "spec": draw(pod_specs(template=True))}
    return selector, template


@st.composite
def replica_sets(draw):
    selector, template = draw(_workload_parts())
    spec = {"selector": selector, "template": template}
    spec |= draw(_optional({"replicas": st.integers(0, 10), "minReadySeconds": st.integers(0, 30)}))
    m = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": draw(object_meta()),
        "spec": spec,
    }
    if draw(st.booleans()):
        m["status"] = draw(
            _optional(
                {
                    "replicas": st.integers(0, 10),
                    "readyReplicas": st.integers(0, 10),
                    "availableReplicas": st.integers(0, 10),
                    "observedGeneration": st.integers(1, 10),
                }
            )
        )
    return m


int_or_percent = st.one_of(st.integers(1, 5), st.integers(1, 100).map(lambda p: f"{p}%"))


@st.composite
def deployments(draw):
    selector, template = draw(_workload_parts())
    spec = {"selector": selector, "template": template}
    strategy = draw(
        st.one_of(
            st.just({"type": "Recreate"}),
            st.builds(
                lambda ru: {"type": "RollingUpdate", **({"rollingUpdate": ru} if ru else {})},
                _optional({"maxSurge": int_or_percent, "maxUnavailable": int_or_percent}),
            ),
        )
    )
    spec |= draw(
        _optional(
            {
                "replicas": st.integers(0, 10),
                "strategy": st.just(strategy),
                "minReadySeconds": st.integers(0, 30),
                "revisionHistoryLimit": st.integers(0, 10),
                "paused": st.booleans(),
                "progressDeadlineSeconds": st.integers(31, 900),
            }
        )
    )
    m = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": draw(object_meta()),
        "spec": spec,
    }
    if draw(st.booleans()):
        m["status"] = draw(
            _optional(
                {
                    "replicas": st.integers(0, 10),
                    "updatedReplicas": st.integers(0, 10),
                    "availableReplicas": st.integers(0, 10),
                    "observedGeneration": st.integers(1, 10),
                }
            )
        )
    return m


@st.composite
def services(draw):
    svc_type = draw(st.sampled_from([None, "ClusterIP", "NodePort", "LoadBalancer"]))
    port_numbers = draw(st.lists(st.integers(1, 65535), min_size=1, max_size=3, unique=True))
    ports = []
    for i, port in enumerate(port_numbers):
        p: dict[str, Any] = {"port": port}
        if len(port_numbers) > 1:
            p["name"] = f"p{i}"
        p |= draw(
            _optional(
                {
                    "protocol": st.just("TCP"),
                    "targetPort": st.one_of(st.integers(1, 65535), st.just("http")),
                }
            )
        )
        if svc_type in ("NodePort", "LoadBalancer") and draw(st.booleans()):
            p["nodePort"] = 30000 + i
        ports.append(p)
    spec: dict[str, Any] = {"ports": ports}
    if svc_type:
        spec["type"] = svc_type
    spec |= draw(
        _optional(
            {
                "selector": st.dictionaries(
                    st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2
                ),
                "sessionAffinity": st.sampled_from(["None", "ClientIP"]),
                "clusterIP": st.just("10.96.0.10"),
            }
        )
    )
    if "clusterIP" in spec:
        spec["clusterIPs"] = [spec["clusterIP"]]
    m = {"apiVersion": "v1", "kind": "Service", "metadata": draw(object_meta()), "spec": spec}
    if svc_type == "LoadBalancer" and draw(st.booleans()):
        m["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    return m


@st.composite
def endpoint_slices(draw):
    endpoint = st.builds(
        lambda addr, cond, rest: {"addresses": [addr], "conditions": cond, **rest},
        st.sampled_from(["10.244.0.5", "10.244.1.7"]),
        _optional({"ready": st.booleans(), "serving": st.booleans(), "terminating": st.booleans()}),
        _optional(
            {
                "nodeName": st.sampled_from(["node-a", "node-b"]),
                "targetRef": st.builds(
                    lambda n: {"kind": "Pod", "name": n, "namespace": "default"}, dns_labels
                ),
            }
        ),
    )
    m = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": draw(object_meta()),
        "addressType": draw(st.sampled_from(["IPv4", "IPv6", "FQDN"])),
    }
    m |= draw(
        _optional(
            {
                "endpoints": st.lists(endpoint, max_size=3),
                "ports": st.lists(
                    st.builds(
                        lambda i, port: {"name": f"p{i}", "port": port, "protocol": "TCP"},
                        st.integers(0, 9),
                        st.integers(1, 65535),
                    ),
                    max_size=2,
                    unique_by=lambda p: p["name"],
                ),
            }
        )
    )
    return m


@st.composite
def leases(draw):
    m = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": draw(object_meta())}
    spec = draw(
        _optional(
            {
                "holderIdentity": st.sampled_from(["node-a", "kube-scheduler-1"]),
                "leaseDurationSeconds": st.integers(1, 60),
                "acquireTime": st.just("2026-01-01T00:00:00.000000Z"),
                "renewTime": st.just("2026-01-01T00:00:10.000000Z"),
                "leaseTransitions": st.integers(0, 5),
            }
        )
    )
    if spec or draw(st.booleans()):
        m["spec"] = spec
    return m


@st.composite
def events(draw):
    meta = draw(object_meta())
    involved = {"kind": "Pod", "name": draw(dns_labels)}
    if "namespace" in meta:
        involved["namespace"] = meta["namespace"]
    m = {"apiVersion": "v1", "kind": "Event", "metadata": meta, "involvedObject": involved}
    m |= draw(
        _optional(
            {
                "reason": st.sampled_from(["Scheduled", "Pulled", "BackOff"]),
                "message": st.text(ALPHANUM + " ", max_size=20),
                "type": st.sampled_from(["Normal", "Warning"]),
                "count": st.integers(1, 10),
                "firstTimestamp": timestamps,
                "lastTimestamp": timestamps,
                "source": st.just({"component": "kubelet", "host": "node-a"}),
                "reportingComponent": st.just("kubelet"),
            }
        )
    )
    return m


@st.composite
def bindings(draw):
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": draw(object_meta()),
        "target": {
            "apiVersion": "v1",
            "kind": "Node",
            "name": draw(st.sampled_from(["node-a", "node-b"])),
        },
    }


MANIFESTS = {
    "Pod": pods,
    "Node": nodes,
    "Namespace": namespaces_,
    "Service": services,
    "ReplicaSet": replica_sets,
    "Deployment": deployments,
    "EndpointSlice": endpoint_slices,
    "Lease": leases,
    "Event": events,
    "Binding": bindings,
}


def manifests(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Canonical, valid-after-defaulting manifests of ``kind``."""
    try:
        return MANIFESTS[kind]()
    except KeyError:
        raise ValueError(f"no strategy for kind {kind!r}; known: {', '.join(MANIFESTS)}") from None


def any_manifest() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(MANIFESTS)).flatmap(manifests)


# -- broken manifests ----------------------------------------------------------------------


def _struct_paths(m: dict[str, Any]) -> list[tuple[str, tuple]]:
    """(JSON path, access path) of struct-valued places in a manifest where fields can be added."""
    places: list[tuple[str, tuple]] = [("", ())]
    for key in ("metadata", "spec", "status", "target", "involvedObject"):
        if isinstance(m.get(key), dict):
            places.append((key, (key,)))
    spec = m.get("spec") or {}
    for wire in ("containers", "initContainers", "ports", "tolerations"):
        for i, _ in enumerate(spec.get(wire) or []):
            places.append((f"spec.{wire}[{i}]", ("spec", wire, i)))
    template = spec.get("template")
    if isinstance(template, dict):
        places.append(("spec.template", ("spec", "template")))
        for i, _ in enumerate((template.get("spec") or {}).get("containers") or []):
            places.append(
                (
                    f"spec.template.spec.containers[{i}]",
                    ("spec", "template", "spec", "containers", i),
                )
            )
    return places


def _scalar_paths(m: dict[str, Any]) -> list[tuple[str, tuple, Any]]:
    """(JSON path, access path, wrong value) of typed scalars present in a manifest."""
    out: list[tuple[str, tuple, Any]] = [("metadata.name", ("metadata", "name"), 42)]
    spec = m.get("spec") or {}
    if "replicas" in spec:
        out.append(("spec.replicas", ("spec", "replicas"), "three"))
    for i, c in enumerate(spec.get("containers") or []):
        out.append((f"spec.containers[{i}].image", ("spec", "containers", i, "image"), ["nginx"]))
        if "resources" in c and c["resources"].get("requests", {}).get("cpu"):
            out.append(
                (
                    f"spec.containers[{i}].resources.requests[cpu]",
                    ("spec", "containers", i, "resources", "requests", "cpu"),
                    "1.2.3",
                )
            )
    if "unschedulable" in spec:
        out.append(("spec.unschedulable", ("spec", "unschedulable"), "yes"))
    if "leaseDurationSeconds" in spec:
        out.append(("spec.leaseDurationSeconds", ("spec", "leaseDurationSeconds"), 1.5))
    return out


def _at(m: Any, access: tuple) -> Any:
    for step in access:
        m = m[step]
    return m


@st.composite
def invalid_manifests(draw, base: st.SearchStrategy[dict[str, Any]] | None = None):
    """(broken manifest, {"expected": [paths], "unknown": [paths]})."""
    m = copy.deepcopy(draw(base if base is not None else any_manifest()))
    expected: list[str] = []
    unknown: list[str] = []
    kinds_of_mutation = draw(
        st.lists(st.sampled_from(["unknown", "type", "missing"]), min_size=1, max_size=3)
    )
    used: set[str] = set()
    for mutation in kinds_of_mutation:
        if mutation == "unknown":
            where, access = draw(st.sampled_from(_struct_paths(m)))
            name = draw(st.sampled_from(["imagee", "replica", "fooBar", "Name", "spec_x"]))
            path = f"{where}.{name}" if where else name
            target = _at(m, access)
            if name in target or path in used:
                continue
            target[name] = draw(st.sampled_from([1, "x", True, {"a": 1}]))
            used.add(path)
            expected.append(path)
            unknown.append(path)
        elif mutation == "type":
            candidates = [c for c in _scalar_paths(m) if c[0] not in used]
            if not candidates:
                continue
            path, access, bad = draw(st.sampled_from(candidates))
            _at(m, access[:-1])[access[-1]] = bad
            used.add(path)
            expected.append(path)
        else:
            field = draw(st.sampled_from(["apiVersion", "kind"]))
            if field in used:
                continue
            m.pop(field, None)
            used.add(field)
            expected = [p for p in expected if p in ("apiVersion", "kind")] + [field]
            unknown = []
    if "apiVersion" in used or "kind" in used:
        # Without apiVersion and kind there is no schema to find unknown fields in.
        expected = [p for p in expected if p in ("apiVersion", "kind")]
        unknown = []
    return m, {"expected": expected, "unknown": unknown}
