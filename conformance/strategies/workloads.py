"""Hypothesis strategies and builders for workload manifests (ReplicaSets, Deployments).

Contract:
- ``replica_set(name, replicas, ...)`` / ``deployment(name, replicas, ...)`` build
  valid apps/v1 manifests whose selector is ``app=<name>`` and whose template
  carries that label and one container ``c`` running ``image``.
- ``bare_pod(labels)`` builds a pod no controller owns (an orphan to adopt).
- ``int_or_percent`` draws maxSurge / maxUnavailable values (ints and percents);
  ``rolling_updates`` draws a valid pair (not both zero); ``strategies`` draws a
  Deployment strategy manifest (RollingUpdate with a pair, or Recreate);
  ``strategy_choices`` draws one of a few fixed ones (cheaper to search).
- ``FakeKubelet`` stands in for the kubelet in the workload suites: it binds
  pods to nodes and writes their status (Running and Ready, failed), and
  finishes graceful deletions, all through the API server and at once.
"""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import strategies as st

Manifest = dict[str, Any]

NAMESPACE = "default"
NODES = ("node-a", "node-b")
IMAGES = ("nginx:1.23", "nginx:1.24", "nginx:1.25")


def template(name: str, image: str = IMAGES[0]) -> Manifest:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def replica_set(name: str, replicas: int, *, min_ready_seconds: int = 0) -> Manifest:
    spec: Manifest = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": template(name),
    }
    if min_ready_seconds:
        spec["minReadySeconds"] = min_ready_seconds
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def deployment(
    name: str,
    replicas: int,
    *,
    strategy: Manifest | None = None,
    image: str = IMAGES[0],
    min_ready_seconds: int = 0,
    revision_history_limit: int | None = None,
    progress_deadline_seconds: int | None = None,
) -> Manifest:
    spec: Manifest = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": template(name, image),
    }
    if strategy is not None:
        spec["strategy"] = strategy
    if min_ready_seconds:
        spec["minReadySeconds"] = min_ready_seconds
    if revision_history_limit is not None:
        spec["revisionHistoryLimit"] = revision_history_limit
    if progress_deadline_seconds is not None:
        spec["progressDeadlineSeconds"] = progress_deadline_seconds
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def bare_pod(labels: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "bare-", "namespace": NAMESPACE, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": IMAGES[0]}]},
    }


int_or_percent = st.one_of(
    st.integers(min_value=0, max_value=3), st.sampled_from(["0%", "10%", "25%", "50%", "100%"])
)


def _nonzero(value: int | str) -> bool:
    return value not in (0, "0%")


rolling_updates = st.tuples(int_or_percent, int_or_percent).filter(
    lambda pair: _nonzero(pair[0]) or _nonzero(pair[1])
)
strategies = st.one_of(
    rolling_updates.map(
        lambda pair: {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": pair[0], "maxUnavailable": pair[1]},
        }
    ),
    st.just({"type": "Recreate"}),
)


# A few strategies spanning the cases (percentages rounding both ways, surge only,
# unavailability only, both 0 for small counts), RollingUpdate first: a cheap machine
# draws from these rather than from ``strategies``.
STRATEGY_CHOICES = (
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "50%"}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": "10%"}},
    {"type": "Recreate"},
)
strategy_choices = st.sampled_from(STRATEGY_CHOICES)


@attrs.define(eq=False)
class FakeKubelet:
    """Writes what a kubelet would: bindings, pod status, the end of graceful deletions."""

    server: Any  # the ApiServer (the suite's own access, not a component's connection)
    clock: Any  # the cluster's SimClock: timestamps of the conditions it writes

    def pods(self) -> list[Manifest]:
        items = self.server.request("list", "pods", namespace=NAMESPACE).body["items"]
        return [{"apiVersion": "v1", "kind": "Pod", **item} for item in items]

    def bind(self, pod: Manifest, node: str) -> Manifest:
        name = pod["metadata"]["name"]
        if not (pod.get("spec") or {}).get("nodeName"):
            body = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name},
                "target": {"kind": "Node", "name": node},
            }
            answer = self.server.request(
                "create", "pods", namespace=NAMESPACE, name=name, subresource="binding", body=body
            )
            assert answer.ok, answer.body
        answer = self.server.request("get", "pods", namespace=NAMESPACE, name=name)
        return answer.body if answer.ok else pod

    def run(self, pod: Manifest, node: str, *, ready: bool = True, restarts: int = 0) -> None:
        """Bind the pod (if unbound) and report it Running, Ready or not."""
        pod = self.bind(pod, node)
        old = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or []}
        wanted = "True" if ready else "False"
        since = old.get("Ready", {}).get("lastTransitionTime")
        if old.get("Ready", {}).get("status") != wanted or not since:
            since = self.clock.timestamp()
        status = {
            **(pod.get("status") or {}),
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": wanted, "lastTransitionTime": since}],
            "containerStatuses": [
                {"name": "c", "ready": ready, "restartCount": restarts, "image": "nginx"}
            ],
        }
        self._write_status(pod, status)

    def fail(self, pod: Manifest) -> None:
        status = {**(pod.get("status") or {}), "phase": "Failed", "conditions": []}
        self._write_status(pod, status)

    def finish_terminations(self) -> None:
        for pod in self.pods():
            if pod["metadata"].get("deletionTimestamp"):
                answer = self.server.request(
                    "delete",
                    "pods",
                    namespace=NAMESPACE,
                    name=pod["metadata"]["name"],
                    body={"gracePeriodSeconds": 0},  # DeleteOptions travel in the body
                )
                assert answer.ok or answer.code == 404, answer.body

    def _write_status(self, pod: Manifest, status: Manifest) -> None:
        answer = self.server.request(
            "update",
            "pods",
            namespace=NAMESPACE,
            name=pod["metadata"]["name"],
            subresource="status",
            body={"apiVersion": "v1", "kind": "Pod", **pod, "status": status},
        )
        assert answer.ok, answer.body
