"""A scheduler plug-in: first fit on the least allocated node (protocol ``SchedulerPlugin``).

Run it:  kubeprop conform --sut python:examples.plugins.scheduler:LeastAllocated

The reference kube-scheduler shell around it keeps the queue, backoff, binding,
events and conditions; this class only answers "which node?". It receives the
pending pod, every node, and every pod already bound to a node, all as
Kubernetes manifests (dicts), and returns a node name or None.

A node can take the pod when (what SCHEDULER-BIND-FEASIBLE checks):
- the pod's spec.nodeName, if set, names it;
- it is not cordoned (spec.unschedulable), unless the pod tolerates
  node.kubernetes.io/unschedulable:NoSchedule;
- the pod tolerates every NoSchedule and NoExecute taint;
- its labels match the pod's nodeSelector and one term of its required node affinity;
- the pod's requests fit in status.allocatable minus the requests of the pods
  already there, and one more pod fits in allocatable "pods".
Among those it picks the one with the lowest share of CPU and memory requested
once the pod is on it (kube-scheduler's LeastAllocated idea, counting a pod
that requests nothing as 100m CPU and 200Mi memory), ties by name.
Docs: https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

Manifest = dict[str, Any]

# Kubernetes quantity suffixes: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
# For scoring only, a container that requests no CPU or memory counts as requesting this much
# (kube-scheduler's non-zero defaults), so that empty pods spread too.
NON_ZERO_REQUESTS = {"cpu": 100, "memory": 200 * 2**20}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def quantity(text: object, resource: str) -> int:
    """A quantity in the unit the scheduler counts: millicores for cpu, else whole units
    (rounded up, as Quantity.Value() does)."""
    text = str(text).strip()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix) and suffix != text:
            number = Decimal(text[: -len(suffix)]) * Decimal(SUFFIXES[suffix])
            break
    else:
        number = Decimal(text)
    if resource == "cpu":
        number *= 1000
    return int(number.to_integral_value(rounding=ROUND_CEILING))


def requests_of(pod: Manifest) -> dict[str, int]:
    """What the pod asks for: its containers (sidecars included), or the most an init
    container step needs if that is more, plus the pod overhead."""
    spec = pod.get("spec") or {}

    def own(container: Manifest) -> dict[str, int]:
        wanted = (container.get("resources") or {}).get("requests") or {}
        return {name: quantity(value, name) for name, value in wanted.items()}

    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        for name, value in own(container).items():
            total[name] = total.get(name, 0) + value
    sidecars: dict[str, int] = {}
    for container in spec.get("initContainers") or []:
        needs = own(container)
        if container.get("restartPolicy") == "Always":  # a sidecar keeps running
            for name, value in needs.items():
                sidecars[name] = sidecars.get(name, 0) + value
                total[name] = total.get(name, 0) + value
            step = dict(sidecars)
        else:
            step = {n: needs.get(n, 0) + sidecars.get(n, 0) for n in set(needs) | set(sidecars)}
        for name, value in step.items():
            total[name] = max(total.get(name, 0), value)
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, 0) + quantity(value, name)
    return total


def tolerates(pod: Manifest, taint: Manifest) -> bool:
    for toleration in (pod.get("spec") or {}).get("tolerations") or []:
        if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration.get("key") == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (
            taint.get("value") or ""
        ):
            return True
    return False


def expression_matches(expression: Manifest, value: str | None) -> bool:
    operator, values = expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and values:
        try:
            mine, theirs = int(value), int(values[0])
        except ValueError:
            return False
        return mine > theirs if operator == "Gt" else mine < theirs
    return False


def affinity_matches(pod: Manifest, node: Manifest) -> bool:
    spec, meta = pod.get("spec") or {}, node.get("metadata") or {}
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    for term in terms:
        expressions = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        if not expressions and not fields:
            continue  # an empty term matches nothing
        if all(expression_matches(e, labels.get(e.get("key"))) for e in expressions) and all(
            expression_matches(f, meta.get("name") if f.get("key") == "metadata.name" else None)
            for f in fields
        ):
            return True
    return False


class LeastAllocated:
    """kubeprop.spec.contracts.SchedulerPlugin: first fit on the least allocated node."""

    kind = "scheduler"  # optional: says which protocol this is

    def schedule(self, pod: Manifest, nodes: list[Manifest], pods: list[Manifest]) -> str | None:
        on_node: dict[str, list[Manifest]] = {}
        for other in pods:
            on_node.setdefault(other["spec"]["nodeName"], []).append(other)
        wanted = requests_of(pod)
        best: tuple[float, str] | None = None
        for node in nodes:
            name = node["metadata"]["name"]
            share = self.share_if_placed(pod, wanted, node, on_node.get(name, []))
            if share is not None and (best is None or (share, name) < best):
                best = (share, name)
        return best[1] if best else None

    def share_if_placed(
        self, pod: Manifest, wanted: dict[str, int], node: Manifest, there: list[Manifest]
    ) -> float | None:
        """None if the pod cannot go on the node, else the mean share of its CPU and memory
        that would be requested with the pod there."""
        spec = node.get("spec") or {}
        if (pod.get("spec") or {}).get("nodeName") not in (None, "", node["metadata"]["name"]):
            return None
        if spec.get("unschedulable") and not tolerates(pod, UNSCHEDULABLE_TAINT):
            return None
        for taint in spec.get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod, taint):
                return None
        if not affinity_matches(pod, node):
            return None
        allocatable = {
            name: quantity(value, name)
            for name, value in ((node.get("status") or {}).get("allocatable") or {}).items()
        }
        if len(there) + 1 > allocatable.get("pods", 0):
            return None
        used: dict[str, int] = {}
        for other in there:
            for name, value in requests_of(other).items():
                used[name] = used.get(name, 0) + value
        for name, value in wanted.items():
            if (
                name != "pods"
                and value > 0
                and used.get(name, 0) + value > allocatable.get(name, 0)
            ):
                return None
        scored = dict.fromkeys(NON_ZERO_REQUESTS, 0)  # requests counted for the score
        for requests in [wanted, *(requests_of(other) for other in there)]:
            for name, default in NON_ZERO_REQUESTS.items():
                scored[name] += requests.get(name) or default
        shares = [scored[name] / allocatable[name] for name in scored if allocatable.get(name)]
        return sum(shares) / len(shares) if shares else 0.0
