"""Cluster histories: steps as data, the run that executes them, and the checks after each.

Contract (spec/cluster.md):
- A ``Step`` is an action name and plain arguments (``crash_node node=node-2``);
  actions are registered by name (``action``): user actions in
  ``conformance.machine``, faults in ``conformance.nemesis``. A history is the
  cluster's settings (seed, nodes, components that are not the reference's,
  as ``module:attribute``) and its steps; it reads and writes as YAML, so a
  failing history saved by the suite runs again with ``kubeprop replay``.
- ``Run`` owns one cluster and what the suite remembers of it (where each pod
  was first bound, the highest resourceVersions seen, the replicas asked for
  lately, the containers a fault killed, disruptions). ``step`` executes one
  step, then ``check_safety`` evaluates every safety invariant of the
  chapter; ``check_liveness`` heals, lets the cluster settle (bounded) and
  evaluates the liveness invariants. Every evaluation goes through
  ``report.check`` and names its invariant id.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs
import yaml

from kubeprop.conformance.report import InvariantViolation, check
from kubeprop.reference.cluster import Cluster
from kubeprop.spec import invariants
from kubeprop.spec.invariants import cluster as rules

Manifest = dict[str, Any]

# How long after a change of replicas the controllers may still act on the old value (s).
REACTION_TIME = 5.0
# Liveness: the bound on settling after heal, how often the rules are looked at, and how
# long they must still hold after they first all do (spec/cluster.md section 4).
SETTLE_BOUND = 900.0
SETTLE_STEP = 5.0
SETTLE_HOLD = 30.0
# Taint keys users set (only the taint_node/untaint_node actions touch them).
USER_TAINT_KEYS = ("kubeprop.test/dedicated",)
# The kinds the suite watches over for resourceVersion monotonicity.
WATCHED = ("pods", "nodes", "replicasets", "deployments")


@attrs.frozen
class Step:
    """One thing that happens to the cluster: an action with plain arguments."""

    action: str
    args: dict[str, Any] = attrs.field(factory=dict)

    def __str__(self) -> str:
        words = " ".join(f"{name}={value}" for name, value in self.args.items())
        return f"{self.action} {words}".rstrip()

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, **({"args": dict(self.args)} if self.args else {})}


# name -> the function doing it: f(run, **args) -> None.
ACTIONS: dict[str, Callable[..., None]] = {}
# names of the actions that are faults (they suspend CLUSTER-ROLLOUT-MIN-AVAILABLE).
FAULTS: set[str] = set()


def action(
    name: str, *, fault: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``f(run, **args)`` as the action ``name``."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        if name in ACTIONS:
            raise ValueError(f"action {name} is registered twice")
        ACTIONS[name] = function
        if fault:
            FAULTS.add(name)
        return function

    return register


@attrs.frozen
class History:
    """A cluster's settings and the steps it went through."""

    seed: int = 0
    nodes: int = 3
    capacity: dict[str, str] = attrs.field(factory=dict)
    components: dict[str, str] = attrs.field(factory=dict)  # role -> "module:attribute"
    steps: tuple[Step, ...] = ()
    failure: str | None = None  # what failed, when saved by the suite

    def to_yaml(self) -> str:
        data: dict[str, Any] = {
            "kind": "KubepropHistory",
            "seed": self.seed,
            "nodes": self.nodes,
        }
        if self.capacity:
            data["capacity"] = dict(self.capacity)
        if self.components:
            data["components"] = dict(self.components)
        if self.failure:
            data["failure"] = self.failure
        data["steps"] = [step.as_dict() for step in self.steps]
        return yaml.safe_dump(data, sort_keys=False, width=100)

    @classmethod
    def from_yaml(cls, text: str, filename: str = "<history>") -> History:
        """Read a history; ValueError names the field that is wrong."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{filename}: not YAML: {error}") from None
        if not isinstance(data, dict) or data.get("kind") != "KubepropHistory":
            raise ValueError(f'{filename}: kind: Required value: must be "KubepropHistory"')
        steps = []
        for i, item in enumerate(data.get("steps") or []):
            where = f"{filename}: steps[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("action"), str):
                raise ValueError(f"{where}.action: Required value")
            if item["action"] not in ACTIONS:
                raise ValueError(
                    f'{where}.action: Unsupported value: "{item["action"]}": '
                    f"use one of {', '.join(sorted(ACTIONS))}"
                )
            args = item.get("args") or {}
            if not isinstance(args, dict):
                raise ValueError(f"{where}.args: Invalid value: must be a map")
            steps.append(Step(item["action"], dict(args)))
        for field in ("seed", "nodes"):
            if not isinstance(data.get(field, 0), int):
                raise ValueError(f"{filename}: {field}: Invalid value: must be an integer")
        return cls(
            seed=data.get("seed", 0),
            nodes=data.get("nodes", 3),
            capacity=dict(data.get("capacity") or {}),
            components=dict(data.get("components") or {}),
            steps=tuple(steps),
            failure=data.get("failure"),
        )


def load_component(path: str) -> Any:
    """``module:attribute`` -> the object; ValueError says what is missing."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"components: Invalid value: {path!r}: want module:attribute")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"components: Invalid value: {path!r}: {error}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(
            f"components: Invalid value: {path!r}: {module_name} has no {attribute}"
        ) from None


@attrs.define(eq=False)
class Run:
    """One cluster going through a history, with what the suite remembers of it."""

    history: History
    cluster: Cluster = attrs.field(init=False)
    steps: list[Step] = attrs.field(init=False, factory=list)  # executed so far
    # pod uid -> the node it was first seen bound to (CLUSTER-POD-BOUND-ONCE).
    first_bound: dict[str, str] = attrs.field(init=False, factory=dict)
    # object uid -> highest resourceVersion seen (CLUSTER-RESOURCE-VERSION-MONOTONIC).
    seen_versions: dict[str, int] = attrs.field(init=False, factory=dict)
    # workload uid -> [(time, replicas)] whenever it changed (CLUSTER-ROLLOUT-MAX-SURGE).
    replicas_log: dict[str, list[tuple[float, int]]] = attrs.field(init=False, factory=dict)
    # deployment uid -> replicas it was fully available at (while nothing was disrupted).
    available_at: dict[str, int] = attrs.field(init=False, factory=dict)
    # True from the first fault, pod deletion or node removal on: the consequences of a
    # dead node (its pods going unready, evicted) come at any later time.
    disrupted: bool = attrs.field(init=False, default=False)
    # containers killed by a fault (CLUSTER-CONTAINERS-RESTARTED).
    kills: list[rules.Kill] = attrs.field(init=False, factory=list)
    nodes_before: list[Manifest] = attrs.field(init=False, factory=list)  # at the last check

    def __attrs_post_init__(self) -> None:
        components = {role: load_component(path) for role, path in self.history.components.items()}
        self.cluster = Cluster.create(
            nodes=self.history.nodes,
            capacity=self.history.capacity or None,
            seed=self.history.seed,
            components=components,
        )
        self.nodes_before = self.cluster.list("nodes")

    # ------------------------------------------------------------------ stepping

    def step(self, step: Step) -> None:
        self.steps.append(step)
        ACTIONS[step.action](self, **step.args)
        if step.action in FAULTS or step.action in ("delete_pod", "remove_node"):
            self.disrupted = True  # availability is not promised from now on
            self.available_at.clear()

    def node_names(self, *, up: bool | None = None) -> list[str]:
        hosts = self.cluster.hosts
        return [name for name, host in hosts.items() if up is None or host.up == up]

    def record(self, failure: str | None = None) -> History:
        return attrs.evolve(self.history, steps=tuple(self.steps), failure=failure)

    def numbered(self) -> str:
        return "\n".join(f"  {i + 1:2}. {step}" for i, step in enumerate(self.steps))

    # ------------------------------------------------------------------ checks

    def observe(self) -> dict[str, list[Manifest]]:
        return {resource: self.cluster.list(resource) for resource in WATCHED}

    def check_safety(self) -> None:
        seen = self.observe()
        pods, nodes = seen["pods"], seen["nodes"]
        deployments, replicasets = seen["deployments"], seen["replicasets"]
        check("CLUSTER-NODE-NOT-OVERCOMMITTED", nodes, pods)
        check("CLUSTER-POD-BOUND-ONCE", self.first_bound, pods)
        newly_bound = set()
        for pod in pods:
            uid, node = pod["metadata"]["uid"], (pod.get("spec") or {}).get("nodeName")
            if node and uid not in self.first_bound:
                self.first_bound[uid] = node
                newly_bound.add(uid)
        check(
            "CLUSTER-TAINTS-RESPECTED",
            newly_bound,
            pods,
            self.nodes_before,
            nodes,
            USER_TAINT_KEYS,
        )
        self.nodes_before = nodes
        everything = [item for items in seen.values() for item in items]
        check("CLUSTER-RESOURCE-VERSION-MONOTONIC", self.seen_versions, everything)
        for item in everything:
            uid = item["metadata"]["uid"]
            version = int(item["metadata"].get("resourceVersion") or 0)
            self.seen_versions[uid] = max(version, self.seen_versions.get(uid, 0))
        recent = self._recent_replicas([*deployments, *replicasets])
        check("CLUSTER-ROLLOUT-MAX-SURGE", deployments, replicasets, pods, recent)
        self._note_availability(deployments, replicasets, pods)
        guarded = [
            d["metadata"]["uid"]
            for d in deployments
            if self.available_at.get(d["metadata"]["uid"]) == rules.replicas_of(d)
        ]
        check("CLUSTER-ROLLOUT-MIN-AVAILABLE", deployments, replicasets, pods, guarded)

    def _recent_replicas(self, workloads: list[Manifest]) -> dict[str, int]:
        now = self.cluster.now
        recent = {}
        for workload in workloads:
            uid = workload["metadata"]["uid"]
            log = self.replicas_log.setdefault(uid, [])
            replicas = rules.replicas_of(workload)
            if not log or log[-1][1] != replicas:
                log.append((now, replicas))
            # the values in force at some instant of [now - REACTION_TIME, now]
            in_force = [v for t, v in log if t >= now - REACTION_TIME]
            earlier = [v for t, v in log if t < now - REACTION_TIME]
            if earlier:
                in_force.append(earlier[-1])
            del log[: max(0, len(earlier) - 1)]
            recent[uid] = max(in_force)
        return recent

    def _note_availability(
        self, deployments: list[Manifest], replicasets: list[Manifest], pods: list[Manifest]
    ) -> None:
        if self.disrupted:
            return
        available = rules.available_by_deployment(replicasets, pods)
        for deployment in deployments:
            uid, replicas = deployment["metadata"]["uid"], rules.replicas_of(deployment)
            if self.available_at.get(uid) not in (None, replicas):
                del self.available_at[uid]  # scaled: the promise starts again
            if available.get(uid, 0) >= replicas:
                self.available_at[uid] = replicas

    def heal(self) -> None:
        """End of a history: every partition healed (crashed machines stay down)."""
        self.cluster.heal()

    def liveness(self, check: Callable[..., Any] = check) -> list[Any]:
        """Evaluate every liveness rule now with ``check`` (the counting one by default);
        returns the outcomes."""
        seen = self.observe()
        hosts = self.cluster.hosts
        live = [name for name, h in hosts.items() if h.up and h.connection.connected]
        down = [name for name, h in hosts.items() if not h.up]
        pods, nodes = seen["pods"], seen["nodes"]
        return [
            check(
                "CLUSTER-DEPLOYMENT-CONVERGES",
                seen["deployments"],
                seen["replicasets"],
                pods,
                nodes,
                live,
            ),
            check("CLUSTER-CONTAINERS-RESTARTED", self.kills, pods, live),
            check("CLUSTER-DEAD-NODE-PODS-EVICTED", nodes, pods, down),
            check("CLUSTER-PENDING-PODS-PLACED", nodes, pods, live),
            check("CLUSTER-NODE-READY-MATCHES-HOST", nodes, live, down),
        ]

    def check_liveness(self) -> None:
        """Heal, run until every liveness rule holds (at most SETTLE_BOUND, looking every
        SETTLE_STEP) and still holds SETTLE_HOLD later (else look again, within the same
        bound), then check them all and the bound itself."""
        self.heal()
        start = self.cluster.now
        deadline = start + SETTLE_BOUND

        def all_hold(_cluster: Cluster) -> bool:
            return all(outcome.ok for outcome in self.liveness(_evaluate))

        # Rules that hold at one look may hold only for a moment (e.g. vacuously, while no
        # live Ready node has room for the Deployments): if they no longer hold after
        # SETTLE_HOLD, keep looking, within the same bound.
        while True:
            settled = self.cluster.run_until(
                all_hold, limit=max(deadline - self.cluster.now, 0.0), step=SETTLE_STEP
            )
            self.cluster.advance(SETTLE_HOLD)
            if not settled or self.cluster.now >= deadline or all_hold(self.cluster):
                break
        self.liveness()
        check("CLUSTER-SETTLES", settled, self.cluster.now - start, SETTLE_BOUND + SETTLE_HOLD)


def _evaluate(invariant_id: str, *args: Any) -> Any:
    """An invariant's outcome, not counted in the report (the settle loop's probe)."""
    return invariants.get(invariant_id)(*args)


def replay(history: History) -> Run:
    """Run a history's steps with the safety checks after each, then the liveness checks.

    Raises InvariantViolation (naming the invariant) at the first failure.
    """
    run = Run(history)
    for step in history.steps:
        run.step(step)
        run.check_safety()
    run.check_liveness()
    return run


__all__ = [
    "ACTIONS",
    "FAULTS",
    "History",
    "InvariantViolation",
    "Run",
    "Step",
    "action",
    "load_component",
    "replay",
]
