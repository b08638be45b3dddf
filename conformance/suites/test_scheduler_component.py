"""The scheduler component suite: an API server, the event loop and a Scheduler, driven by cluster changes.

Contract: ``make_component_machine(factory)`` builds a RuleBasedStateMachine
that runs ``factory(connection=..., loop=..., recorder=..., seed=0,
observer=...)`` (the reference ``Scheduler`` or any class with its
constructor) against a reference ApiServer while its rules add nodes (with
capacity, taints and labels), cordon, uncordon, untaint and grow them, create
pods (with requests, tolerations and a nodeSelector), delete pods and let time
pass (the cluster starts with one node). Safety invariants are checked as they happen: every binding the
scheduler sends against the view it scheduled with (SCHEDULER-BIND-FEASIBLE,
SCHEDULER-BOUND-ONCE) and the API server's placements after every step
(SCHEDULER-NO-OVERCOMMIT). Liveness is checked after ``SETTLE`` seconds
without changes, in the ``settle`` rule and at teardown
(SCHEDULER-EVENTUALLY-BOUND, SCHEDULER-FAILED-CONDITION). A failure is an
``InvariantViolation`` naming the invariant.

The suite runs the SUT's scheduler: the reference ``Scheduler``, or a
``--sut python:...`` scheduler plug-in in its reference shell; a SUT with no
scheduler component skips it with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.plugin import component_factory
from kubeprop.conformance.report import check
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.scheduler import Decision, Scheduler
from kubeprop.reference.scheduler.queue import POD_MAX_BACKOFF_SECONDS
from kubeprop.spec.api import load

# The liveness bound of SCHEDULER-EVENTUALLY-BOUND: podMaxBackoffSeconds plus 5 s.
SETTLE = POD_MAX_BACKOFF_SECONDS + 5.0
MAX_NODES = 4
MAX_PODS = 12
MERGE = {"contentType": "application/merge-patch+json"}

TAINTS = {
    "none": [],
    "dedicated": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
    "unreachable": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}],
}
TOLERATIONS = {
    "none": [],
    "dedicated": [{"key": "dedicated", "operator": "Equal", "value": "db"}],
    "everything": [{"operator": "Exists"}],
}


def node_manifest(name: str, cpu: str, pods: str, taint: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"zone": zone}},
        "spec": {"taints": TAINTS[taint]},
        "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": pods}},
    }


def pod_manifest(name: str, cpu: str | None, toleration: str, zone: str | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.23"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {"containers": [container], "tolerations": TOLERATIONS[toleration]}
    if zone:
        spec["nodeSelector"] = {"zone": zone}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def make_component_machine(
    factory: Callable[..., Any] = Scheduler,
) -> type[RuleBasedStateMachine]:
    """A machine running ``factory``'s scheduler against a reference API server."""

    class SchedulerComponentMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.loop = EventLoop()
            self.server = ApiServer(clock=self.loop.clock)
            connection = Connection(self.server, "default-scheduler")
            recorder = EventRecorder(connection, self.loop.clock, "default-scheduler")
            # (pod uid, node, accepted) of every binding the scheduler sent, in order.
            self.attempts: list[tuple[str, str, bool]] = []
            self.node_names: list[str] = []
            # (uid, resourceVersion) -> the typed object of that stored version.
            self.typed: dict[tuple[str, str], Any] = {}
            self.created = 0
            self.scheduler = factory(
                connection=connection,
                loop=self.loop,
                recorder=recorder,
                seed=0,
                observer=self.observe,
            )
            self.scheduler.start()

        # -- what the scheduler did --------------------------------------------------------

        def observe(self, decision: Decision) -> None:
            node_name = decision.result.node_name
            if node_name is None:
                return
            uid = (decision.pod.metadata.uid if decision.pod.metadata else None) or ""
            self.attempts.append((uid, node_name, bool(decision.bound)))
            check("SCHEDULER-BOUND-ONCE", self.attempts)
            view = decision.snapshot.node_infos
            placed = [pod for info in view for pod in info.pods]
            check(
                "SCHEDULER-BIND-FEASIBLE",
                decision.pod,
                node_name,
                [info.node for info in view],
                placed,
            )

        # -- the cluster as stored ----------------------------------------------------------

        def listed(self, resource: str, namespace: str | None = None) -> list[dict]:
            answer = self.server.request("list", resource, namespace=namespace)
            kind = answer.body["kind"][: -len("List")]
            return [{"apiVersion": "v1", "kind": kind, **item} for item in answer.body["items"]]

        def load(self, manifest: dict) -> Any:
            meta = manifest["metadata"]
            key = (meta["uid"], meta["resourceVersion"])
            if key not in self.typed:
                self.typed[key] = load(manifest)
            return self.typed[key]

        def stored(self) -> tuple[list, list[dict]]:
            nodes = [self.load(n) for n in self.listed("nodes")]
            return nodes, self.listed("pods", "default")

        @invariant()
        def no_node_is_overcommitted(self):
            nodes, pods = self.stored()
            bound = [self.load(p) for p in pods if p["spec"].get("nodeName")]
            check("SCHEDULER-NO-OVERCOMMIT", nodes, bound)

        def check_settled(self) -> None:
            self.loop.run_for(SETTLE)
            nodes, pods = self.stored()
            pending = [
                p
                for p in pods
                if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")
            ]
            bound = [self.load(p) for p in pods if p["spec"].get("nodeName")]
            typed_pending = [self.load(p) for p in pending]
            check("SCHEDULER-EVENTUALLY-BOUND", typed_pending, nodes, bound)
            events = self.listed("events", "default")
            check("SCHEDULER-FAILED-CONDITION", pending, events, len(nodes))

        # -- rules ---------------------------------------------------------------------------

        @initialize(
            cpu=st.sampled_from(("1", "2")),
            pods=st.sampled_from(("2", "10")),
            taint=st.sampled_from(sorted(TAINTS)),
            zone=st.sampled_from(("a", "b")),
        )
        def first_node(self, cpu, pods, taint, zone):
            self.add_node(cpu, pods, taint, zone)

        @precondition(lambda self: len(self.node_names) < MAX_NODES)
        @rule(
            cpu=st.sampled_from(("1", "2")),
            pods=st.sampled_from(("2", "10")),
            taint=st.sampled_from(sorted(TAINTS)),
            zone=st.sampled_from(("a", "b")),
        )
        def add_node(self, cpu, pods, taint, zone):
            name = f"node-{len(self.node_names) + 1}"
            self.server.request("create", "nodes", body=node_manifest(name, cpu, pods, taint, zone))
            self.node_names.append(name)

        def node_at(self, index: int) -> str:
            return self.node_names[index % len(self.node_names)]

        @precondition(lambda self: self.node_names)
        @rule(index=st.integers(0, MAX_NODES - 1), unschedulable=st.booleans())
        def cordon(self, index, unschedulable):
            name = self.node_at(index)
            body = {"spec": {"unschedulable": unschedulable or None}}
            self.server.request("patch", "nodes", name=name, body=body, params=MERGE)

        @precondition(lambda self: self.node_names)
        @rule(index=st.integers(0, MAX_NODES - 1))
        def untaint(self, index):
            name = self.node_at(index)
            body = {"spec": {"taints": None}}
            self.server.request("patch", "nodes", name=name, body=body, params=MERGE)

        @precondition(lambda self: self.node_names)
        @rule(index=st.integers(0, MAX_NODES - 1))
        def grow(self, index):
            name = self.node_at(index)
            body = {"status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"}}}
            self.server.request(
                "patch", "nodes", name=name, subresource="status", body=body, params=MERGE
            )

        @precondition(lambda self: self.created < MAX_PODS)
        @rule(
            count=st.integers(1, 3),
            cpu=st.sampled_from((None, "500m", "1")),
            toleration=st.sampled_from(sorted(TOLERATIONS)),
            zone=st.sampled_from((None, None, "a")),
        )
        def create_pods(self, count, cpu, toleration, zone):
            for _ in range(count):
                self.created += 1
                manifest = pod_manifest(f"pod-{self.created}", cpu, toleration, zone)
                self.server.request("create", "pods", namespace="default", body=manifest)

        @precondition(lambda self: self.created)
        @rule(number=st.integers(1, MAX_PODS))
        def delete_pod(self, number):
            number = (number - 1) % self.created + 1
            self.server.request(
                "delete",
                "pods",
                namespace="default",
                name=f"pod-{number}",
                body={"gracePeriodSeconds": 0},
            )

        @rule(seconds=st.sampled_from((0.05, 0.1, 0.5, 1.0, 5.0)))
        def advance(self, seconds):
            self.loop.run_for(seconds)

        @rule()
        def settle(self):
            self.check_settled()

        def teardown(self):
            try:
                self.check_settled()
            finally:
                self.scheduler.stop()

    return SchedulerComponentMachine


def component_settings() -> settings:
    """The active profile with a quarter of its examples (at least 10) and 30-step
    histories: each history runs a whole simulated cluster (about 4 s under ``ci``)."""
    return settings(
        max_examples=max(settings.default.max_examples // 4, 10),
        stateful_step_count=30,
        deadline=None,
    )


def test_the_scheduler_component_binds_safely_and_settles(sut):
    factory = component_factory(sut, "scheduler")
    run_state_machine_as_test(make_component_machine(factory), settings=component_settings())
