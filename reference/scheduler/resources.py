"""Resource arithmetic of the scheduler: what a pod requests and what a node offers.

Contract (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/,
https://kubernetes.io/docs/concepts/scheduling-eviction/pod-overhead/,
https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/):
- Amounts are integers in the scheduler's units: cpu in millicores, every other
  resource (memory, ephemeral-storage, pods, extended resources) in units.
- A pod's effective request of a resource is the larger of (the sum over its app
  containers plus its sidecars, i.e. init containers with restartPolicy Always)
  and (the largest request of any init container while it runs, counting the
  sidecars started before it), plus the pod's overhead.
- The non-zero request (used for spreading scores only) counts 100m cpu and
  200Mi memory for every container that does not state a request for them.
- Only cpu, memory, ephemeral-storage, pods and scalar resources (extended
  resources, kubernetes.io/-prefixed ones, hugepages-*, attachable-volumes-*)
  are tracked; other names are ignored.
Every function is pure and returns new dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubeprop.spec.api.core import Container, Node, Pod
from kubeprop.spec.api.quantity import Quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

# schedutil.DefaultMilliCPURequest and DefaultMemoryRequest.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
NON_MISSING_DEFAULTS: Mapping[str, int] = {
    CPU: DEFAULT_MILLI_CPU_REQUEST,
    MEMORY: DEFAULT_MEMORY_REQUEST,
}


_MEMO_SIZE = 8192


def is_scalar_resource_name(name: str) -> bool:
    """Extended resources (a domain outside kubernetes.io), kubernetes.io-prefixed
    resources, hugepages-* and attachable-volumes-* (schedutil.IsScalarResourceName)."""
    if name.startswith(("hugepages-", "attachable-volumes-")):
        return True
    if "/" not in name:
        return False
    return "kubernetes.io/" in name or not name.startswith("requests.")


def is_tracked(name: str) -> bool:
    return name in (CPU, MEMORY, EPHEMERAL_STORAGE, PODS) or is_scalar_resource_name(name)


def amount(name: str, quantity: Quantity) -> int:
    """A quantity in the scheduler's unit for ``name`` (millicores for cpu)."""
    return quantity.milli_value() if name == CPU else quantity.value()


# id of a ResourceList -> (it, its amounts): lists are immutable; see pod_requests.
_LISTS: dict[int, tuple[Any, dict[str, int]]] = {}


def resource_list(items: Mapping[str, Quantity] | None) -> dict[str, int]:
    """A ResourceList in scheduler units, keeping only tracked resources."""
    if not items:
        return {}
    found = _LISTS.get(id(items))
    if found is not None and found[0] is items:
        return dict(found[1])
    amounts = {name: amount(name, q) for name, q in items.items() if is_tracked(name)}
    if len(_LISTS) >= _MEMO_SIZE:
        _LISTS.clear()
    _LISTS[id(items)] = (items, amounts)
    return dict(amounts)


def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, value in other.items():
        into[name] = into.get(name, 0) + value


def _max(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, value in other.items():
        into[name] = max(into.get(name, value), value)


def _container_requests(
    container: Container, non_missing: Mapping[str, int] | None
) -> dict[str, int]:
    requests = resource_list(container.resources.requests if container.resources else None)
    for name, value in (non_missing or {}).items():
        requests.setdefault(name, value)
    return requests


# (id of a pod spec, id of the non-missing defaults) -> (the spec, the defaults, the
# requests): specs are immutable, and keeping them alive here keeps their ids unique.
_MEMO: dict[tuple[int, int], tuple[Any, Any, dict[str, int]]] = {}


def pod_requests(pod: Pod, non_missing: Mapping[str, int] | None = None) -> dict[str, int]:
    """The pod's effective requests (resourcehelper.PodRequests), overhead included.

    ``non_missing`` gives the amount counted for a container that does not state
    a request of that resource (the non-zero defaults for scoring). Remembered per
    spec object (a spec never changes); the caller gets its own dict.
    """
    spec = pod.spec
    if spec is None:
        return {}
    key = (id(spec), id(non_missing))
    found = _MEMO.get(key)
    if found is not None and found[0] is spec and found[1] is non_missing:
        return dict(found[2])
    total = _compute_requests(spec, non_missing)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = (spec, non_missing, total)
    return dict(total)


def _compute_requests(spec: Any, non_missing: Mapping[str, int] | None) -> dict[str, int]:
    total: dict[str, int] = {}
    for container in spec.containers:
        _add(total, _container_requests(container, non_missing))
    sidecars: dict[str, int] = {}  # the sidecars started so far
    init_peak: dict[str, int] = {}  # the most any init step needs at once
    for container in spec.init_containers:
        requests = _container_requests(container, non_missing)
        if container.restart_policy == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            step = dict(sidecars)
        else:
            step = dict(requests)
            _add(step, sidecars)
        _max(init_peak, step)
    _max(total, init_peak)
    _add(total, resource_list(spec.overhead))
    return total


def non_zero_requests(pod: Pod) -> dict[str, int]:
    """cpu and memory as counted for scoring: 100m / 200Mi for a container that states none."""
    requests = pod_requests(pod, NON_MISSING_DEFAULTS)
    return {CPU: requests.get(CPU, 0), MEMORY: requests.get(MEMORY, 0)}


def allocatable(node: Node) -> dict[str, int]:
    """The node's allocatable resources in scheduler units (pods included)."""
    return resource_list(node.status.allocatable if node.status else None)


def host_ports(pods: Iterable[Pod]) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) of every app or sidecar container port with a hostPort,
    sorted."""
    used = set()
    for pod in pods:
        spec = pod.spec
        if spec is None:
            continue
        # app containers and sidecars (restartable init containers) hold their ports for
        # the pod's life; a regular init container's ports are not counted (GetHostPorts)
        sidecars = (c for c in spec.init_containers if c.restart_policy == "Always")
        for container in (*sidecars, *spec.containers):
            for port in container.ports:
                if port.host_port:
                    used.add((port.host_ip or "0.0.0.0", port.protocol or "TCP", port.host_port))
    return tuple(sorted(used))
