"""The ReplicaSet controller suite: a Hypothesis state machine drives one controller.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class whose
SUT is ``factory(connection=..., loop=..., recorder=..., watch_latency=0.1)``
(the reference ``ReplicaSetController`` or a mutant) running against the
reference API server on a simulated loop, with no kubelet but the suite's
``FakeKubelet``. Rules create and scale ReplicaSets, bind and run pods (ready or
not, with restarts), fail them, finish graceful deletions, delete pods, create
orphans, relabel pods and let time pass. Each rule ends with ``SETTLE`` seconds
of simulated time (ten watch latencies) in which nothing but the controller
acts, so the invariants of spec/replicaset.md are checked, through
``kubeprop.conformance.report.check``, on a state the controller has caught up
with. A scale-down records the pods before it and the deletions the controller
sent (a recording connection) for ``REPLICASET-DELETION-ORDER``.

The suite runs the SUT's ReplicaSet controller: the reference one, or a
``--sut python:...`` Reconciler in its reference shell; a SUT with no
replicaset component skips it with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
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
from kubeprop.conformance.strategies import workloads
from kubeprop.conformance.strategies.workloads import NAMESPACE, NODES, FakeKubelet
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.controllers.replicaset import ReplicaSetController
from kubeprop.reference.loop import EventLoop
from kubeprop.spec.invariants.replicaset import controller_uid, is_active

WATCH_LATENCY = 0.1
SETTLE = 1.0  # simulated seconds after each step: ten watch latencies
NAMES = ("web", "api")
STEPS = (1.0, 3.0, 10.0)


@attrs.define(eq=False)
class RecordingConnection:
    """A component's connection that also records (instant, verb, resource, name) of each request."""

    inner: Any
    loop: EventLoop
    requests: list[tuple[float, str, str, str | None]] = attrs.field(factory=list)

    def request(self, verb: str, resource: str, **kwargs) -> Any:
        self.requests.append((self.loop.now, verb, resource, kwargs.get("name")))
        return self.inner.request(verb, resource, **kwargs)


def cluster(component: str) -> tuple[EventLoop, ApiServer, RecordingConnection, EventRecorder]:
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    connection = RecordingConnection(Connection(server, "kube-controller-manager"), loop)
    recorder = EventRecorder(connection, loop.clock, component)
    return loop, server, connection, recorder


def items(server: ApiServer, resource: str) -> list[dict]:
    return list(server.request("list", resource, namespace=NAMESPACE).body["items"])


class ReplicaSetMachine(RuleBasedStateMachine):
    """User actions, kubelet writes and time against one ReplicaSet controller."""

    factory: Callable[..., object] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.loop, self.server, self.connection, recorder = cluster("replicaset-controller")
        self.controller = self.factory(
            connection=self.connection,
            loop=self.loop,
            recorder=recorder,
            watch_latency=WATCH_LATENCY,
        )
        self.controller.start()
        self.kubelet = FakeKubelet(self.server, self.loop.clock)
        self.names: set[str] = set()  # ReplicaSets created (and not deleted)
        self.settle()

    def settle(self) -> None:
        self.loop.run_for(SETTLE)

    def teardown(self) -> None:
        self.controller.stop()

    # ---- plumbing ---------------------------------------------------------------------------

    def replicasets(self) -> list[dict]:
        return items(self.server, "replicasets")

    def active_pods(self) -> list[dict]:
        return [pod for pod in self.kubelet.pods() if is_active(pod)]

    def pick(self, pods: list[dict], index: int) -> dict | None:
        return pods[index % len(pods)] if pods else None

    # ---- user actions -----------------------------------------------------------------------

    @initialize(replicas=st.integers(1, 4), min_ready_seconds=st.sampled_from((0, 3)))
    def a_replicaset_exists(self, replicas: int, min_ready_seconds: int) -> None:
        self.create_replicaset(NAMES[0], replicas, min_ready_seconds)

    @rule(
        name=st.sampled_from(NAMES),
        replicas=st.integers(0, 4),
        min_ready_seconds=st.sampled_from((0, 3)),
    )
    def create_replicaset(self, name: str, replicas: int, min_ready_seconds: int) -> None:
        if name in self.names:
            return
        body = workloads.replica_set(name, replicas, min_ready_seconds=min_ready_seconds)
        answer = self.server.request("create", "replicasets", namespace=NAMESPACE, body=body)
        assert answer.ok, answer.body
        self.names.add(name)
        self.settle()

    @precondition(lambda self: self.names)
    @rule(index=st.integers(0, 1), replicas=st.integers(0, 5))
    def scale(self, index: int, replicas: int) -> None:
        name = sorted(self.names)[index % len(self.names)]
        self._scale(name, replicas)

    @precondition(lambda self: self.names)
    @rule(index=st.integers(0, 1), fewer=st.integers(1, 3))
    def scale_down(self, index: int, fewer: int) -> None:
        name = sorted(self.names)[index % len(self.names)]
        rs = self.server.request("get", "replicasets", namespace=NAMESPACE, name=name).body
        self._scale(name, max(rs["spec"]["replicas"] - fewer, 0))

    def _scale(self, name: str, replicas: int) -> None:
        """Scale through the scale subresource; check the deletions a scale-down made."""
        rs = self.server.request("get", "replicasets", namespace=NAMESPACE, name=name).body
        pods = self.kubelet.pods()
        before = [pod for pod in pods if controller_uid(pod) == rs["metadata"]["uid"]]
        sent = len(self.connection.requests)
        answer = self.server.request(
            "patch",
            "replicasets",
            namespace=NAMESPACE,
            name=name,
            subresource="scale",
            body={"spec": {"replicas": replicas}},
            params={"contentType": "application/merge-patch+json"},
        )
        assert answer.ok, answer.body
        self.settle()
        deletes = [
            (at, pod_name)
            for at, verb, resource, pod_name in self.connection.requests[sent:]
            if verb == "delete" and resource == "pods"
        ]
        if deletes:
            first = deletes[0][0]
            deleted = [pod_name for at, pod_name in deletes if at == first]
            active = [pod for pod in before if is_active(pod)]
            check("REPLICASET-DELETION-ORDER", active, deleted, first, before)

    @precondition(lambda self: self.names)
    @rule(index=st.integers(0, 1))
    def delete_replicaset(self, index: int) -> None:
        name = sorted(self.names)[index % len(self.names)]
        self.server.request("delete", "replicasets", namespace=NAMESPACE, name=name)
        self.names.discard(name)
        self.settle()

    @rule(name=st.sampled_from(NAMES))
    def create_orphan(self, name: str) -> None:
        """A bare pod the user makes with a ReplicaSet's labels: to adopt (then maybe delete)."""
        answer = self.server.request(
            "create", "pods", namespace=NAMESPACE, body=workloads.bare_pod({"app": name})
        )
        assert answer.ok, answer.body
        self.settle()

    @precondition(lambda self: self.active_pods())
    @rule(index=st.integers(0, 9))
    def relabel_pod(self, index: int) -> None:
        """The user takes a pod out of its ReplicaSet's selector: it is released and replaced."""
        pod = self.pick(self.active_pods(), index)
        self.server.request(
            "patch",
            "pods",
            namespace=NAMESPACE,
            name=pod["metadata"]["name"],
            body={"metadata": {"labels": {"app": "debug"}}},
            params={"contentType": "application/merge-patch+json"},
        )
        self.settle()

    @precondition(lambda self: self.active_pods())
    @rule(index=st.integers(0, 9))
    def delete_pod(self, index: int) -> None:
        pod = self.pick(self.active_pods(), index)
        self.server.request("delete", "pods", namespace=NAMESPACE, name=pod["metadata"]["name"])
        self.settle()

    # ---- the fake kubelet -------------------------------------------------------------------

    @precondition(lambda self: self.active_pods())
    @rule(
        index=st.integers(0, 9),
        node=st.sampled_from(NODES),
        ready=st.booleans(),
        restarts=st.integers(0, 2),
    )
    def kubelet_runs_pod(self, index: int, node: str, ready: bool, restarts: int) -> None:
        self.kubelet.run(self.pick(self.active_pods(), index), node, ready=ready, restarts=restarts)
        self.settle()

    @precondition(lambda self: self.active_pods())
    @rule(index=st.integers(0, 9))
    def kubelet_fails_pod(self, index: int) -> None:
        self.kubelet.fail(self.pick(self.active_pods(), index))
        self.settle()

    @rule()
    def kubelet_finishes_terminations(self) -> None:
        self.kubelet.finish_terminations()
        self.settle()

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)

    # ---- after every step -------------------------------------------------------------------

    @invariant()
    def the_replicasets_obey_their_invariants(self) -> None:
        replicasets, pods = self.replicasets(), self.kubelet.pods()
        check("REPLICASET-NO-SURPLUS", replicasets, pods)
        check("REPLICASET-OWNERSHIP", replicasets, pods)
        check("REPLICASET-CONVERGES", replicasets, pods)
        check("REPLICASET-STATUS", replicasets, pods, self.loop.now, slack=SETTLE + 1)


def make_machine(factory: Callable[..., object]) -> type[ReplicaSetMachine]:
    """The ReplicaSet machine over controllers built by ``factory(connection=, loop=, ...)``."""
    return type(
        f"ReplicaSetMachineOf{getattr(factory, '__name__', 'SUT')}",
        (ReplicaSetMachine,),
        {"factory": staticmethod(factory)},
    )


ReferenceReplicaSetMachine = make_machine(ReplicaSetController)


def test_the_replicaset_controller_obeys_every_replicaset_invariant(sut):
    factory = component_factory(sut, "replicaset")
    machine = (
        ReferenceReplicaSetMachine if factory is ReplicaSetController else make_machine(factory)
    )
    run_state_machine_as_test(
        machine,
        settings=settings(settings.default, max_examples=30, stateful_step_count=25),
    )
