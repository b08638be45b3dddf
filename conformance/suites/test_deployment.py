"""The Deployment controller suite: a Hypothesis state machine drives a rollout.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class whose
SUT is ``factory(connection=..., loop=..., recorder=..., watch_latency=0.1)``
(the reference ``DeploymentController`` or a mutant), run together with the
reference ``ReplicaSetController`` against the reference API server, with the
suite's ``FakeKubelet`` in place of kubelets. One Deployment "web" exists from
the start (replicas, strategy, minReadySeconds, revisionHistoryLimit,
progressDeadlineSeconds drawn) and its first rollout has completed.
Rules update its image, scale it, change its strategy once a rollout is
complete, orphan its ReplicaSets, make pods ready, fail or delete them, finish
graceful deletions and let time pass (past a progressDeadlineSeconds of 10 too). Each
rule ends once the controllers have been quiet for a while, and the invariants
of spec/deployment.md are checked through ``kubeprop.conformance.report.check``.
``DEPLOYMENT-MIN-AVAILABLE`` is checked while the rollout started from a fully
available Deployment and nothing was disrupted or scaled since;
``settle_everything`` runs every pod and checks ``DEPLOYMENT-COMPLETES``.

The suite runs the SUT's Deployment controller: the reference one, or a
``--sut python:...`` Reconciler in its reference shell (with the reference
ReplicaSet controller beside it); a SUT with no deployment component skips it
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

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
from kubeprop.conformance.strategies.workloads import IMAGES, NAMESPACE, NODES, FakeKubelet
from kubeprop.conformance.suites.test_replicaset import WATCH_LATENCY, cluster, items
from kubeprop.reference.client import EventRecorder
from kubeprop.reference.controllers.deployment import DeploymentController
from kubeprop.reference.controllers.replicaset import ReplicaSetController
from kubeprop.spec.invariants.deployment import is_complete, new_replicaset, owned_replicasets
from kubeprop.spec.invariants.replicaset import controller_uid, is_active, is_ready

NAME = "web"
SETTLE = 0.5  # simulated seconds after each step, then more until no one writes
QUIET = 0.5  # a step ends once no request has changed anything for this long
MAX_SETTLE = 20.0
MERGE = {"contentType": "application/merge-patch+json"}
WRITES = ("create", "update", "patch", "delete")


class DeploymentMachine(RuleBasedStateMachine):
    """User actions, kubelet writes and time against one Deployment controller."""

    factory: Callable[..., object] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.loop, self.server, self.connection, recorder = cluster("deployment-controller")
        rs_recorder = EventRecorder(self.connection, self.loop.clock, "replicaset-controller")
        self.replicaset_controller = ReplicaSetController(
            connection=self.connection,
            loop=self.loop,
            recorder=rs_recorder,
            watch_latency=WATCH_LATENCY,
        )
        self.controller = self.factory(
            connection=self.connection,
            loop=self.loop,
            recorder=recorder,
            watch_latency=WATCH_LATENCY,
        )
        self.replicaset_controller.start()
        self.controller.start()
        self.kubelet = FakeKubelet(self.server, self.loop.clock)
        # True while the rollout under way started from a fully available Deployment and no
        # pod was failed, deleted or made unready and nothing was scaled since.
        self.steady = False

    def teardown(self) -> None:
        self.controller.stop()
        self.replicaset_controller.stop()

    # ---- plumbing ---------------------------------------------------------------------------

    def settle(self, seconds: float = SETTLE) -> None:
        """Let ``seconds`` pass, then more until no write was sent for QUIET seconds."""
        self.loop.run_for(seconds)
        waited = seconds
        while waited < MAX_SETTLE:
            writes = [at for at, verb, *_ in self.connection.requests if verb in WRITES]
            if not writes or self.loop.now - writes[-1] >= QUIET:
                return
            self.loop.run_for(QUIET)
            waited += QUIET

    def deployment(self) -> dict:
        answer = self.server.request("get", "deployments", namespace=NAMESPACE, name=NAME)
        return answer.body

    def replicasets(self) -> list[dict]:
        return items(self.server, "replicasets")

    def active_pods(self) -> list[dict]:
        return [pod for pod in self.kubelet.pods() if is_active(pod)]

    def patch(self, body: dict, subresource: str | None = None) -> None:
        answer = self.server.request(
            "patch",
            "deployments",
            namespace=NAMESPACE,
            name=NAME,
            subresource=subresource,
            body=body,
            params=MERGE,
        )
        assert answer.ok, answer.body

    def rollout_done(self) -> bool:
        """Every replica is a ready pod of the new ReplicaSet and no other pod is left."""
        d, replicasets = self.deployment(), self.replicasets()
        new = new_replicaset(d, replicasets)
        if new is None:
            return False
        owners = {rs["metadata"]["uid"] for rs in owned_replicasets(d, replicasets)}
        pods = self.kubelet.pods()
        if any(p["metadata"].get("deletionTimestamp") for p in pods):
            return False
        mine = [p for p in pods if controller_uid(p) in owners and is_active(p)]
        return (
            is_complete(d)
            and len(mine) == d["spec"]["replicas"]
            and all(controller_uid(p) == new["metadata"]["uid"] and is_ready(p) for p in mine)
        )

    # ---- user actions -----------------------------------------------------------------------

    @initialize(
        replicas=st.integers(1, 5),
        strategy=workloads.strategy_choices,
        min_ready_seconds=st.sampled_from((0, 2)),
        revision_history_limit=st.sampled_from((0, 1, 2)),
        progress_deadline_seconds=st.sampled_from((10, 600)),
    )
    def a_deployment_exists(
        self,
        replicas: int,
        strategy: dict,
        min_ready_seconds: int,
        revision_history_limit: int,
        progress_deadline_seconds: int = 600,
    ) -> None:
        body = workloads.deployment(
            NAME,
            replicas,
            strategy=strategy,
            min_ready_seconds=min_ready_seconds,
            revision_history_limit=revision_history_limit,
            progress_deadline_seconds=progress_deadline_seconds,
        )
        answer = self.server.request("create", "deployments", namespace=NAMESPACE, body=body)
        assert answer.ok, answer.body
        self.settle_everything()  # the first rollout completes: later ones start from there

    @rule(image=st.sampled_from(IMAGES))
    def update_image(self, image: str) -> None:
        containers = [{"name": "c", "image": image}]
        self.patch({"spec": {"template": {"spec": {"containers": containers}}}})
        self.settle()

    @rule(replicas=st.integers(0, 6))
    def scale(self, replicas: int) -> None:
        self.steady = False
        self.patch({"spec": {"replicas": replicas}}, subresource="scale")
        self.settle()

    @precondition(lambda self: self.rollout_done())
    @rule(strategy=workloads.strategies)
    def change_strategy(self, strategy: dict) -> None:
        self.steady = False
        self.patch({"spec": {"strategy": {"rollingUpdate": None, **strategy}}})
        self.settle()

    @rule()
    def orphan_replicasets(self) -> None:
        """The user strips the ReplicaSets' owner references: the Deployment adopts them back."""
        for rs in owned_replicasets(self.deployment(), self.replicasets()):
            self.server.request(
                "patch",
                "replicasets",
                namespace=NAMESPACE,
                name=rs["metadata"]["name"],
                body={"metadata": {"ownerReferences": None}},
                params=MERGE,
            )
        self.settle()

    @precondition(lambda self: self.active_pods())
    @rule(index=st.integers(0, 9))
    def delete_pod(self, index: int) -> None:
        self.steady = False
        pods = self.active_pods()
        pod = pods[index % len(pods)]
        self.server.request("delete", "pods", namespace=NAMESPACE, name=pod["metadata"]["name"])
        self.settle()

    # ---- the fake kubelet -------------------------------------------------------------------

    @precondition(lambda self: any(not is_ready(p) for p in self.active_pods()))
    @rule(count=st.integers(1, 3), node=st.sampled_from(NODES))
    def kubelet_runs_pods(self, count: int, node: str) -> None:
        """Up to ``count`` pods that are not ready yet start and become ready."""
        for pod in [p for p in self.active_pods() if not is_ready(p)][:count]:
            self.kubelet.run(pod, node)
        self.settle()

    @precondition(lambda self: self.active_pods())
    @rule(index=st.integers(0, 9))
    def kubelet_fails_pod(self, index: int) -> None:
        self.steady = False
        pods = self.active_pods()
        self.kubelet.fail(pods[index % len(pods)])
        self.settle()

    @rule()
    def kubelet_finishes_terminations(self) -> None:
        self.kubelet.finish_terminations()
        self.settle()

    @rule(seconds=st.sampled_from((2.0, 15.0)))
    def advance(self, seconds: float) -> None:
        self.settle(seconds)

    @rule()
    def settle_everything(self) -> None:
        """Every pod runs and every deletion finishes until the rollout is done."""
        min_ready = int(self.deployment()["spec"].get("minReadySeconds") or 0)
        for _ in range(12):
            for pod in self.active_pods():
                if not is_ready(pod):
                    self.kubelet.run(pod, NODES[0])
            self.kubelet.finish_terminations()
            self.settle(SETTLE + min_ready + 1)
            if self.rollout_done():
                break
        check("DEPLOYMENT-COMPLETES", self.deployment(), self.replicasets())

    # ---- after every step -------------------------------------------------------------------

    @invariant()
    def the_deployment_obeys_its_invariants(self) -> None:
        d, replicasets, pods = self.deployment(), self.replicasets(), self.kubelet.pods()
        check("DEPLOYMENT-ONE-NEW-RS", d, replicasets)
        check("DEPLOYMENT-MAX-SURGE", d, replicasets)
        if self.steady:
            check("DEPLOYMENT-MIN-AVAILABLE", d, replicasets, pods, self.loop.now)
        check("DEPLOYMENT-RECREATE-NO-OVERLAP", d, replicasets, pods)
        check("DEPLOYMENT-STATUS", d, replicasets)
        check("DEPLOYMENT-HISTORY-LIMIT", d, replicasets)
        if self.rollout_done():
            self.steady = True


def make_machine(factory: Callable[..., object]) -> type[DeploymentMachine]:
    """The Deployment machine over controllers built by ``factory(connection=, loop=, ...)``."""
    return type(
        f"DeploymentMachineOf{getattr(factory, '__name__', 'SUT')}",
        (DeploymentMachine,),
        {"factory": staticmethod(factory)},
    )


ReferenceDeploymentMachine = make_machine(DeploymentController)


def test_the_deployment_controller_obeys_every_deployment_invariant(sut):
    factory = component_factory(sut, "deployment")
    machine = (
        ReferenceDeploymentMachine if factory is DeploymentController else make_machine(factory)
    )
    run_state_machine_as_test(
        machine,
        settings=settings(settings.default, max_examples=15, stateful_step_count=20),
    )
