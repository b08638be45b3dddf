"""Workloads through the API only: a Deployment runs, scales, heals and is collected.

Contract: against any SUT with an API server and a cluster behind it, in a
namespace of its own (``kp-<hex>-workloads``, deleted afterwards), the test
applies an nginx Deployment and, through API requests alone, waits until it
has converged (its ReplicaSet's pods Running and Ready, ``readyReplicas`` ==
``replicas``), scales it up and down, deletes one of its pods and sees it
replaced (self-healing), then deletes the Deployment and sees its
ReplicaSets and pods garbage-collected (background cascading deletion).

Every observation checks the cluster safety invariants that hold of any
stored state (CLUSTER-NODE-NOT-OVERCOMMITTED, CLUSTER-POD-BOUND-ONCE,
CLUSTER-RESOURCE-VERSION-MONOTONIC); every wait ends by checking the
liveness invariants it waited for (CLUSTER-DEPLOYMENT-CONVERGES,
REPLICASET-CONVERGES, DEPLOYMENT-COMPLETES) and CLUSTER-SETTLES (it happened
within the bound). Time is the SUT's own:
- a live server (capabilities ``apiserver`` and ``real-time``, as ``--sut
  kube+http://...``) is polled in real time, each wait bounded by
  ``REAL_WAIT_SECONDS`` (``KUBEPROP_WAIT_SECONDS`` overrides it, for slow
  image pulls);
- a SUT with a simulated cluster (``cluster`` and ``advance-time``: the
  reference, or a plug-in spliced into it) runs a three-node reference cluster
  with its components and lets simulated time pass, each wait bounded by
  ``SIMULATED_WAIT_SECONDS``.
Any other SUT (a bare store) skips with the reason.
See https://kubernetes.io/docs/concepts/workloads/controllers/deployment/ and
https://kubernetes.io/docs/concepts/architecture/garbage-collection/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from kubeprop.conformance import adapters
from kubeprop.conformance.report import check
from kubeprop.conformance.suites.test_apiserver_contract import fresh_namespace
from kubeprop.spec import invariants

Manifest = dict[str, Any]

REAL_WAIT_SECONDS = float(os.environ.get("KUBEPROP_WAIT_SECONDS", "120"))
REAL_POLL_SECONDS = 0.2
SIMULATED_WAIT_SECONDS = 600.0
SIMULATED_STEP_SECONDS = 1.0
NAME = "web"
IMAGE = "nginx:1.27"
# The liveness invariants a converged Deployment satisfies, checked at the end of each wait.
CONVERGED = ("CLUSTER-DEPLOYMENT-CONVERGES", "REPLICASET-CONVERGES", "DEPLOYMENT-COMPLETES")


@attrs.define(eq=False)
class RealTime:
    """A live server: wait by polling in real time."""

    server: Any
    bound: float = REAL_WAIT_SECONDS

    def wait(self, done: Callable[[], bool]) -> float:
        """Seconds until ``done()`` held (or the bound, if it never did)."""
        start = time.monotonic()
        while not done():
            if time.monotonic() - start > self.bound:
                break
            time.sleep(REAL_POLL_SECONDS)
        return time.monotonic() - start

    def close(self) -> None:
        session = getattr(self.server, "session", None)
        if session is not None:
            session.close()


@attrs.define(eq=False)
class Simulated:
    """A reference cluster (with the SUT's components): wait by advancing its clock."""

    cluster: Any
    bound: float = SIMULATED_WAIT_SECONDS

    @property
    def server(self) -> Any:
        return self.cluster.server

    def wait(self, done: Callable[[], bool]) -> float:
        waited = 0.0
        while not done() and waited <= self.bound:
            self.cluster.advance(SIMULATED_STEP_SECONDS)
            waited += SIMULATED_STEP_SECONDS
        return waited

    def close(self) -> None:
        pass


@pytest.fixture
def driver(sut: adapters.Adapter):
    if {"apiserver", "real-time"} <= sut.capabilities:
        found: Any = RealTime(sut.apiserver_factory()())
    elif {"cluster", "advance-time"} <= sut.capabilities:
        from kubeprop.reference.cluster import Cluster

        found = Simulated(Cluster.create(3, seed=0, components=sut.components()))
    else:
        pytest.skip(
            f"SUT {sut.name!r} has neither an API server in real time (apiserver, real-time) "
            "nor a cluster whose time can be advanced (cluster, advance-time)"
        )
    yield found
    found.close()


@pytest.fixture
def namespace(driver):
    name = fresh_namespace("workloads")
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    answer = driver.server.request("create", "namespaces", body=body)
    assert answer.ok, f"cannot create namespace {name}: {answer.body}"
    yield name
    driver.server.request("delete", "namespaces", name=name)


def deployment(namespace: str, replicas: int) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": {"app": NAME}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {"labels": {"app": NAME}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": IMAGE, "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


@attrs.define(eq=False)
class Observer:
    """Reads the cluster through the API and checks the safety invariants each time."""

    driver: Any
    namespace: str
    first_bound: dict[str, str] = attrs.Factory(dict)  # pod uid -> the node seen first
    seen: dict[str, int] = attrs.Factory(dict)  # object uid -> highest resourceVersion seen
    last: dict[str, list[Manifest]] = attrs.Factory(dict)  # the latest observation

    def items(self, resource: str, namespace: str | None) -> list[Manifest]:
        answer = self.driver.server.request("list", resource, namespace=namespace)
        assert answer.ok, f"list {resource}: {answer.code} {answer.body}"
        return answer.body["items"]

    def observe(self) -> dict[str, list[Manifest]]:
        state = {
            "deployments": self.items("deployments", self.namespace),
            "replicasets": self.items("replicasets", self.namespace),
            "pods": self.items("pods", self.namespace),
            "nodes": self.items("nodes", None),
        }
        everywhere = self.items("pods", None)  # every pod counts against a node
        check("CLUSTER-NODE-NOT-OVERCOMMITTED", state["nodes"], everywhere)
        check("CLUSTER-POD-BOUND-ONCE", self.first_bound, state["pods"])
        objects = state["deployments"] + state["replicasets"] + state["pods"]
        check("CLUSTER-RESOURCE-VERSION-MONOTONIC", self.seen, objects)
        for obj in objects:
            meta = obj["metadata"]
            self.seen[meta["uid"]] = max(
                self.seen.get(meta["uid"], 0), int(meta["resourceVersion"])
            )
        for pod in state["pods"]:
            node = pod["spec"].get("nodeName")
            if node:
                self.first_bound.setdefault(pod["metadata"]["uid"], node)
        self.last = state
        return state

    def converged_args(self, state: dict[str, list[Manifest]]) -> dict[str, tuple]:
        """The arguments of each CONVERGED invariant on ``state``."""
        ready = [n["metadata"]["name"] for n in state["nodes"]]  # every node counts as live
        found = [d for d in state["deployments"] if d["metadata"]["name"] == NAME]
        deployment = found[0] if found else {"metadata": {"name": NAME}, "spec": {}}
        return {
            "CLUSTER-DEPLOYMENT-CONVERGES": (
                state["deployments"],
                state["replicasets"],
                state["pods"],
                state["nodes"],
                ready,
            ),
            "REPLICASET-CONVERGES": (state["replicasets"], state["pods"]),
            "DEPLOYMENT-COMPLETES": (deployment, state["replicasets"]),
        }

    def converged(self, replicas: int) -> bool:
        state = self.observe()
        found = [d for d in state["deployments"] if d["metadata"]["name"] == NAME]
        if not found or (found[0].get("status") or {}).get("readyReplicas", 0) != replicas:
            return False
        if found[0]["spec"].get("replicas") != replicas:
            return False
        args = self.converged_args(state)
        return all(invariants.get(id)(*args[id]).ok for id in CONVERGED)

    def wait_converged(self, replicas: int, what: str) -> dict[str, list[Manifest]]:
        waited = self.driver.wait(lambda: self.converged(replicas))
        settled = self.converged(replicas)
        check("CLUSTER-SETTLES", settled, waited, self.driver.bound)
        args = self.converged_args(self.last)
        for id in CONVERGED:
            check(id, *args[id])
        running = [p for p in self.last["pods"] if not p["metadata"].get("deletionTimestamp")]
        assert len(running) == replicas, f"{what}: {len(running)} pods, want {replicas}"
        return self.last


def _active(state: dict[str, list[Manifest]]) -> list[Manifest]:
    return [
        p
        for p in state["pods"]
        if not p["metadata"].get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def test_a_deployment_runs_scales_heals_and_is_collected_through_the_api(driver, namespace):
    server = driver.server
    observer = Observer(driver, namespace)
    created = server.request(
        "create", "deployments", namespace=namespace, body=deployment(namespace, 2)
    )
    assert created.code == 201, created.body
    observer.wait_converged(2, "after apply")

    for replicas in (4, 1):
        scaled = server.request(
            "patch",
            "deployments",
            namespace=namespace,
            name=NAME,
            body={"spec": {"replicas": replicas}},
            params={"contentType": "application/merge-patch+json"},
        )
        assert scaled.ok, scaled.body
        observer.wait_converged(replicas, f"after scaling to {replicas}")

    state = observer.wait_converged(1, "before a pod is deleted")
    (victim,) = _active(state)
    gone = server.request("delete", "pods", namespace=namespace, name=victim["metadata"]["name"])
    assert gone.ok, gone.body

    # Self-healing: a new pod (another uid) takes its place and the Deployment converges.
    def healed() -> bool:
        uids = {p["metadata"]["uid"] for p in _active(observer.last)}
        return observer.converged(1) and victim["metadata"]["uid"] not in uids

    waited = driver.wait(healed)
    check("CLUSTER-SETTLES", healed(), waited, driver.bound)
    state = observer.wait_converged(1, "after a pod was deleted")
    (replacement,) = _active(state)
    assert replacement["metadata"]["uid"] != victim["metadata"]["uid"], "the pod was not replaced"

    owned = {rs["metadata"]["uid"] for rs in state["replicasets"]}
    assert owned, "the Deployment has no ReplicaSet"
    deleted = server.request("delete", "deployments", namespace=namespace, name=NAME)
    assert deleted.ok, deleted.body

    def collected() -> bool:
        now = observer.observe()
        return not now["deployments"] and not now["replicasets"] and not now["pods"]

    waited = driver.wait(collected)
    left = collected()
    check("CLUSTER-SETTLES", left, waited, driver.bound)
    assert left, f"left behind: {observer.last}"
