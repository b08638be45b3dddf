"""The cluster state machine: Hypothesis generates histories of user actions, faults and time.

Contract (spec/cluster.md): ``ClusterMachine`` starts a reference cluster
(``NODES`` machines of ``CAPACITY``, seed ``SEED``, with ``COMPONENTS``
replacing reference components by role, as ``module:attribute``). Its rules
are user actions (apply a Deployment, scale it, change its image, delete a
pod, cordon/uncordon, taint/untaint, add/remove a node), the faults of
``Nemesis`` and time steps; each rule is one ``Step`` of ``conformance.history``
so that every history can be saved and replayed. After every step the safety
invariants are checked; at the end the faults are healed and the liveness
invariants are checked after the bounded settle time. A failure carries the
history (``error.history``), prints it as numbered steps and saves it as YAML
in the report's histories folder.

``machine_for(sut)`` is the machine of a system under test: ``ClusterMachine``
itself for the reference (no components to splice), else a subclass whose
``COMPONENTS`` are the SUT's ``component_paths()``; an ``Unsupported`` error
says when the SUT has no cluster to run on.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kubeprop.conformance import report
from kubeprop.conformance.history import (
    USER_TAINT_KEYS,
    History,
    InvariantViolation,
    Run,
    Step,
    action,
)
from kubeprop.conformance.nemesis import MIN_NODES_UP, Nemesis, _pick

NAMESPACE = "default"
DEPLOYMENTS = ("web", "api")
CONTAINER = "app"
# Images that pull and run: a history's failures are the cluster's, not the images'.
IMAGES = ("nginx:1.23", "nginx:1.25", "redis:7.2")
# Pod requests and node capacity chosen so that capacity matters: 5 pods fill a node.
POD_REQUESTS = {"cpu": "200m", "memory": "128Mi"}
NODE_CAPACITY = {"cpu": "1", "memory": "2Gi", "pods": "110"}
STRATEGIES = (
    {"type": "RollingUpdate"},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    {"type": "Recreate"},
)
MAX_NODES = 5
TIME_STEPS = (1, 5, 30, 120)
# The first workload gets this long to start (pull 1.7 s, scheduling and status well under 1 s).
STARTUP_SECONDS = 5


def deployment(name: str, replicas: int, image: str, strategy: dict) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": CONTAINER,
                            "image": image,
                            "resources": {"requests": dict(POD_REQUESTS)},
                        }
                    ]
                },
            },
        },
    }


# ---------------------------------------------------------------------- user actions


@action("apply_deployment")
def apply_deployment(run, name: str, replicas: int, image: str, strategy: dict) -> None:
    run.cluster.apply(deployment(name, replicas, image, strategy))


@action("scale")
def scale(run, name: str, replicas: int) -> None:
    run.cluster.scale("deployments", name, replicas, NAMESPACE)


@action("set_image")
def set_image(run, name: str, image: str) -> None:
    run.cluster.set_image("deployments", name, CONTAINER, image, NAMESPACE)


@action("delete_pod")
def delete_pod(run, pod: str) -> None:
    run.cluster.delete("pods", pod, NAMESPACE)


@action("cordon")
def cordon(run, node: str) -> None:
    run.cluster.cordon(node)


@action("uncordon")
def uncordon(run, node: str) -> None:
    run.cluster.uncordon(node)


@action("taint_node")
def taint_node(run, node: str, key: str = USER_TAINT_KEYS[0]) -> None:
    run.cluster.taint(node, key, "infra", "NoSchedule")


@action("untaint_node")
def untaint_node(run, node: str, key: str = USER_TAINT_KEYS[0]) -> None:
    run.cluster.untaint(node, key)


@action("add_node")
def add_node(run) -> None:
    run.cluster.add_node()


@action("remove_node")
def remove_node(run, node: str) -> None:
    run.cluster.remove_node(node)


@action("advance")
def advance(run, seconds: float) -> None:
    run.cluster.advance(seconds)


# ---------------------------------------------------------------------- the machine


def _final_replay() -> bool:
    """True while Hypothesis replays the minimal failing example (the one it reports)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # not inside a Hypothesis test
        return True


class ClusterMachine(Nemesis, RuleBasedStateMachine):
    """User actions, faults and time on a reference cluster, checked after every step."""

    SEED = 0
    NODES = 3
    CAPACITY = NODE_CAPACITY
    COMPONENTS: dict[str, str] = {}  # role -> "module:attribute" of a replacement

    def __init__(self) -> None:
        super().__init__()
        self.failed = False
        self.run = Run(
            History(
                seed=self.SEED,
                nodes=self.NODES,
                capacity=dict(self.CAPACITY),
                components=dict(self.COMPONENTS),
            )
        )

    def _guard(self, work) -> None:
        try:
            work()
        except InvariantViolation as error:
            self.failed = True
            history = self.run.record(failure=str(error))
            error.history = history
            where = None
            if _final_replay():  # save the shrunk history once, not every attempt
                where = report.save_history(type(self).__name__, history.to_yaml())
            saved = f"\nhistory saved to {where}" if where else ""
            error.args = (
                f"{error.args[0]}\nhistory ({len(history.steps)} steps):\n"
                f"{self.run.numbered()}{saved}",
            )
            raise

    def do(self, step: Step) -> None:
        self._guard(lambda: self.run.step(step))

    @invariant()
    def safety(self) -> None:
        self._guard(self.run.check_safety)

    def teardown(self) -> None:
        if not self.failed:
            self._guard(self.run.check_liveness)

    # -- user actions

    @initialize(
        replicas=st.integers(1, 4),
        image=st.sampled_from(IMAGES),
        strategy=st.sampled_from(STRATEGIES),
    )
    def first_deployment(self, replicas, image, strategy):
        """Every history starts with a workload running, so that there is one to keep."""
        self.apply_deployment(DEPLOYMENTS[0], replicas, image, strategy)
        self.do(Step("advance", {"seconds": STARTUP_SECONDS}))

    @rule(
        name=st.sampled_from(DEPLOYMENTS),
        replicas=st.integers(0, 4),
        image=st.sampled_from(IMAGES),
        strategy=st.sampled_from(STRATEGIES),
    )
    def apply_deployment(self, name, replicas, image, strategy):
        self.do(
            Step(
                "apply_deployment",
                {"name": name, "replicas": replicas, "image": image, "strategy": strategy},
            )
        )

    def _deployments(self) -> list[str]:
        return [d["metadata"]["name"] for d in self.run.cluster.list("deployments", NAMESPACE)]

    @rule(i=st.integers(0, 3), replicas=st.integers(0, 5))
    def scale(self, i, replicas):
        name = _pick(self._deployments(), i)
        if name:
            self.do(Step("scale", {"name": name, "replicas": replicas}))

    @rule(i=st.integers(0, 3), image=st.sampled_from(IMAGES))
    def set_image(self, i, image):
        name = _pick(self._deployments(), i)
        if name:
            self.do(Step("set_image", {"name": name, "image": image}))

    @rule(i=st.integers(0, 31))
    def delete_pod(self, i):
        pods = [
            p["metadata"]["name"]
            for p in self.run.cluster.list("pods", NAMESPACE)
            if not p["metadata"].get("deletionTimestamp")
        ]
        name = _pick(pods, i)
        if name:
            self.do(Step("delete_pod", {"pod": name}))

    @rule(i=st.integers(0, 7), on=st.booleans())
    def cordon(self, i, on):
        node = _pick(self.run.node_names(), i)
        if node:
            self.do(Step("cordon" if on else "uncordon", {"node": node}))

    @rule(i=st.integers(0, 7), on=st.booleans())
    def taint_node(self, i, on):
        node = _pick(self.run.node_names(), i)
        if node:
            self.do(Step("taint_node" if on else "untaint_node", {"node": node}))

    @rule()
    def add_node(self):
        if len(self.run.cluster.hosts) < MAX_NODES:
            self.do(Step("add_node"))

    @rule(i=st.integers(0, 7))
    def remove_node(self, i):
        up = self.run.node_names(up=True)
        if len(up) > MIN_NODES_UP:
            self.do(Step("remove_node", {"node": _pick(up, i)}))

    @rule(seconds=st.sampled_from(TIME_STEPS))
    def advance(self, seconds):
        self.do(Step("advance", {"seconds": seconds}))


def machine_for(sut) -> type[ClusterMachine]:
    """The cluster machine of an adapter: its components spliced into the reference cluster."""
    sut.require("cluster")
    paths = sut.component_paths()
    if not paths:
        return ClusterMachine
    label = "".join(path.rpartition(":")[2] for path in paths.values())
    return type(f"ClusterMachineWith{label}", (ClusterMachine,), {"COMPONENTS": dict(paths)})
