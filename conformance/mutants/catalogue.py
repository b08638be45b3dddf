"""The catalogue of mutants: every deliberately broken implementation, and how the suite hunts it.

Contract:
- ``catalogue()`` lists one ``Mutant`` per broken implementation shipped in
  ``kubeprop.conformance.mutants``, read from each module's ``MUTANTS`` (and
  ``COMPONENT_MUTANTS``) table, so a mutant appended there is catalogued with no
  edit here. The object-model probes of ``mutants.objects`` are not protocols and
  have no history (each runs a pure function on fixed inputs); they stay with
  tests/test_api_mutants.py and are not catalogued.
- ``(protocol, name)`` is unique; ``Mutant.id`` is ``protocol/name`` (with
  ``@cluster`` for the whole-cluster hunts of ``cluster_hunts()``).
- ``factory`` is exactly what the protocol's suite takes to build the system
  under test (a store class, the keyword arguments of the client machine, the
  four factories of the node lifecycle machine, a scheduler plugin, ...);
  ``culprit`` is the class or function carrying the bug, and ``description`` the
  first paragraph of its docstring on one line: the realistic bug.
- ``hunter`` names the suite's runner (``HUNTERS``, executed by ``mutants.hunt``);
  ``catchers`` are the invariant ids the mutant's module expects to catch it;
  ``budget`` is the number of examples the per-component mutant test gives it.
- ``sut`` is ``python:MODULE:ATTR`` where the culprit is a whole store, API
  server or cluster component (what ``--sut`` splices in); ``role`` is the
  reference cluster role it can replace (``Cluster.create(components=...)``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

PACKAGE = "kubeprop.conformance.mutants"

# The protocols, in the order the report lists them.
PROTOCOLS = (
    "store",
    "apiserver",
    "client",
    "scheduler",
    "replicaset",
    "deployment",
    "nodelifecycle",
    "garbagecollector",
    "kubelet",
    "runtime",
)

# hunter -> the suite runner it stands for (the hunt module executes each).
HUNTERS: dict[str, str] = {
    "store-contract": "the store contract machine (suites/test_store_contract.py make_machine)",
    "apiserver-contract": "the API server contract machine "
    "(suites/test_apiserver_contract.py make_machine)",
    "client-machine": "the informer, work queue and controller machine "
    "(suites/test_client.py make_machine)",
    "scheduler-cycle": "pods placed one by one on generated clusters "
    "(suites/test_scheduler.py place_one_by_one)",
    "scheduler-normalize": "generated raw scores normalised "
    "(suites/test_scheduler.py check_normalize)",
    "scheduler-queue": "the scheduling queue machine (suites/test_scheduler.py make_queue_machine)",
    "scheduler-component": "the kube-scheduler component machine "
    "(suites/test_scheduler_component.py make_component_machine)",
    "scheduler-inter-pod-affinity": "the InterPodAffinity machine "
    "(suites/test_scheduler_inter_pod_affinity.py make_machine)",
    "scheduler-node-ports": "pods with host ports placed one by one "
    "(suites/test_scheduler_node_ports.py place_with_host_ports)",
    "scheduler-pod-topology-spread": "pods with spread constraints placed one by one "
    "(suites/test_scheduler_pod_topology_spread.py place_with_spread)",
    "scheduler-preemption": "pods of mixed priorities placed with preemption "
    "(suites/test_scheduler_preemption.py place_with_preemption)",
    "scheduler-preemption-component": "the kube-scheduler preempting against an API server "
    "(suites/test_scheduler_preemption.py run_component)",
    "replicaset-machine": "the ReplicaSet machine (suites/test_replicaset.py make_machine)",
    "deployment-machine": "the Deployment machine (suites/test_deployment.py make_machine)",
    "nodelifecycle-machine": "the node lifecycle machine (suites/test_nodelifecycle.py make_machine)",
    "garbagecollector-machine": "the garbage collector machine "
    "(suites/test_garbagecollector.py make_machine)",
    "kubelet-machine": "the kubelet machine (suites/test_kubelet.py make_machine)",
    "runtime-machine": "the container runtime machine (suites/test_runtime.py make_machine)",
    "cluster": "the whole-cluster machine with the mutant spliced in by role "
    "(machine.py ClusterMachine.COMPONENTS)",
}


@attrs.frozen
class Mutant:
    """One deliberately broken implementation and how the suite hunts it."""

    name: str  # as its mutants module names it; unique within the protocol
    protocol: str = attrs.field(validator=attrs.validators.in_(PROTOCOLS))
    factory: Any = attrs.field(eq=False)  # what the protocol's suite builds the SUT from
    culprit: Any = attrs.field(eq=False, repr=False)  # the class or function with the bug
    description: str  # the realistic bug, one line
    hunter: str = attrs.field(validator=attrs.validators.in_(HUNTERS))
    catchers: frozenset[str]  # invariant ids the mutant's module expects to catch it
    budget: int  # examples the per-component mutant test gives it
    module: str  # the mutants module that defines it
    sut: str | None = None  # python:MODULE:ATTR when it is a whole store/server/component
    role: str | None = None  # the reference cluster role it replaces

    @property
    def id(self) -> str:
        suffix = "@cluster" if self.hunter == "cluster" else ""
        return f"{self.protocol}/{self.name}{suffix}"


# -- describing a mutant -------------------------------------------------------------------------

# Culprits whose docstring does not say the bug (helpers of the scheduler's mutant tables).
_DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("scheduler", "picks-the-lowest-total"): (
        "The cycle selects the feasible node with the lowest weighted total score "
        "instead of the highest."
    ),
    ("scheduler", "ignores-cordon"): (
        "The profile lacks NodeUnschedulable: a cordoned node still gets new pods."
    ),
    ("scheduler", "normalize-rounds"): (
        "DefaultNormalizeScore rounds to the nearest integer instead of truncating "
        "like Go's integer division."
    ),
}


# Mutants whose table entry is a plain factory wrapping the class with the bug.
_CULPRITS: dict[tuple[str, str], str] = {
    ("client", "no-backoff"): "NoBackoff",
    ("client", "never-forgets"): "ForgetsOnFailure",
}


def _one_line(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    if not doc:
        return ""
    paragraph = doc.strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def _culprit(part: Any, module: str) -> Any:
    """The object of ``module`` that carries the bug inside one entry of a MUTANTS table."""
    if isinstance(part, functools.partial):
        found = [_culprit(arg, module) for arg in (*part.args, *part.keywords.values())]
        found = [f for f in found if f is not None]
        return found[0] if found else _culprit(part.func, module)
    if isinstance(part, Mapping):
        found = [_culprit(value, module) for value in part.values()]
        found = [f for f in found if f is not None]
        return found[0] if found else None
    if isinstance(part, tuple):
        found = [_culprit(value, module) for value in part]
        found = [f for f in found if f is not None]
        return found[0] if found else None
    if getattr(part, "__name__", None) == "<lambda>":
        return _culprit(part(), module)
    if isinstance(part, type) or (callable(part) and hasattr(part, "__qualname__")):
        return part if getattr(part, "__module__", None) == module else None
    if getattr(type(part), "__module__", None) == module:  # a plugin instance
        return type(part)
    return None


def _sut(culprit: Any) -> str | None:
    if isinstance(culprit, type):
        return f"python:{culprit.__module__}:{culprit.__qualname__}"
    return None


# -- the tables of each mutants module ---------------------------------------------------------


def _load(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _role(culprit: Any) -> str | None:
    """The reference cluster role a whole-component culprit replaces."""
    from kubeprop.reference.controllers.deployment import DeploymentController
    from kubeprop.reference.controllers.garbagecollector import GarbageCollector
    from kubeprop.reference.controllers.nodelifecycle import (
        NodeLifecycleController,
        TaintEvictionController,
    )
    from kubeprop.reference.controllers.podgc import PodGC
    from kubeprop.reference.controllers.replicaset import ReplicaSetController
    from kubeprop.reference.kubelet import Kubelet
    from kubeprop.reference.scheduler import Scheduler

    roles = (
        (Scheduler, "scheduler"),
        (ReplicaSetController, "replicaset"),
        (DeploymentController, "deployment"),
        (NodeLifecycleController, "nodelifecycle"),
        (TaintEvictionController, "tainteviction"),
        (PodGC, "podgc"),
        (GarbageCollector, "garbagecollector"),
        (Kubelet, "kubelet"),
    )
    if not isinstance(culprit, type):
        return None
    return next((role for base, role in roles if issubclass(culprit, base)), None)


def _entry(
    protocol: str,
    module: str,
    name: str,
    factory: Any,
    *,
    hunter: str,
    catchers: Iterable[str],
    budget: int,
    whole: bool,
) -> Mutant:
    """``whole``: the culprit is a whole store, server or component (it gets a SUT string)."""
    qualified = f"{PACKAGE}.{module}"
    if (protocol, name) in _CULPRITS:
        culprit = getattr(_load(module), _CULPRITS[protocol, name])
    else:
        culprit = _culprit(factory, qualified)
    if culprit is None:
        raise LookupError(f"{qualified}: MUTANTS[{name!r}]: no object of the module carries a bug")
    description = _DESCRIPTIONS.get((protocol, name)) or _one_line(culprit.__doc__)
    return Mutant(
        name=name,
        protocol=protocol,
        factory=factory,
        culprit=culprit,
        description=description,
        hunter=hunter,
        catchers=frozenset(catchers),
        budget=budget,
        module=qualified,
        sut=_sut(culprit) if whole else None,
        role=_role(culprit) if whole else None,
    )


def _breaking(
    protocol: str, module: str, hunter: str, budget: int, *, whole: bool = True
) -> list[Mutant]:
    """The entries of a module whose MUTANTS maps name -> factory and BREAKS name -> id."""
    loaded = _load(module)
    also = getattr(loaded, "ALSO_BREAKS", {})
    return [
        _entry(
            protocol,
            module,
            name,
            factory,
            hunter=hunter,
            catchers={loaded.BREAKS[name], *also.get(name, ())},
            budget=budget,
            whole=whole,
        )
        for name, factory in loaded.MUTANTS.items()
    ]


def _with_catchers(protocol: str, module: str, hunter: str, budget: int) -> list[Mutant]:
    """The entries of a module whose MUTANTS maps name -> (factory, catcher ids)."""
    loaded = _load(module)
    return [
        _entry(
            protocol,
            module,
            name,
            factory,
            hunter=hunter,
            catchers=catchers,
            budget=budget,
            whole=protocol == "apiserver",
        )
        for name, (factory, catchers) in loaded.MUTANTS.items()
    ]


def _scheduler() -> list[Mutant]:
    cycle = _load("scheduler")
    hunters = {"normalize-rounds": "scheduler-normalize"}
    hunters |= {
        name: "scheduler-queue" for name in ("fifo-queue", "no-backoff", "pops-errors-early")
    }
    entries = [
        _entry(
            "scheduler",
            "scheduler",
            name,
            parts,
            hunter=hunters.get(name, "scheduler-cycle"),
            catchers={cycle.BREAKS[name], *cycle.ALSO_BREAKS.get(name, ())},
            budget=300,
            whole=False,
        )
        for name, parts in cycle.MUTANTS.items()
    ]
    entries += [
        _entry(
            "scheduler",
            "scheduler",
            name,
            factory,
            hunter="scheduler-component",
            catchers={cycle.COMPONENT_BREAKS[name], *cycle.COMPONENT_ALSO_BREAKS.get(name, ())},
            budget=100,
            whole=True,
        )
        for name, factory in cycle.COMPONENT_MUTANTS.items()
    ]
    for module, hunter, budget in (
        ("scheduler_inter_pod_affinity", "scheduler-inter-pod-affinity", 200),
        ("scheduler_node_ports", "scheduler-node-ports", 300),
        # 300 examples (the plugin's own mutant test) find the off-by-one skew with that
        # test's derandomised seed only; under this runner's seed it takes up to 1000.
        ("scheduler_pod_topology_spread", "scheduler-pod-topology-spread", 1000),
        ("scheduler_preemption", "scheduler-preemption", 300),
    ):
        entries += _breaking("scheduler", module, hunter, budget, whole=False)
    preemption = _load("scheduler_preemption")
    entries += [
        _entry(
            "scheduler",
            "scheduler_preemption",
            name,
            factory,
            hunter="scheduler-preemption-component",
            catchers={preemption.COMPONENT_BREAKS[name]},
            budget=100,
            whole=True,
        )
        for name, factory in preemption.COMPONENT_MUTANTS.items()
    ]
    return entries


def _nodelifecycle() -> list[Mutant]:
    loaded = _load("nodelifecycle")
    return [
        _entry(
            "nodelifecycle",
            "nodelifecycle",
            name,
            factories,
            hunter="nodelifecycle-machine",
            catchers={loaded.BREAKS[name]},
            budget=100,
            whole=True,
        )
        for name, factories in loaded.MUTANTS.items()
    ]


_BUILDERS: tuple[Callable[[], list[Mutant]], ...] = (
    lambda: _breaking("store", "store", "store-contract", 100),
    lambda: _with_catchers("apiserver", "apiserver", "apiserver-contract", 300),
    lambda: _with_catchers("client", "client", "client-machine", 200),
    _scheduler,
    lambda: _breaking("replicaset", "replicaset", "replicaset-machine", 200),
    lambda: _breaking("deployment", "deployment", "deployment-machine", 40),
    _nodelifecycle,
    lambda: _breaking("garbagecollector", "garbagecollector", "garbagecollector-machine", 100),
    lambda: _breaking("kubelet", "kubelet", "kubelet-machine", 200),
    lambda: _breaking("runtime", "runtime", "runtime-machine", 1000, whole=False),
)


@functools.cache
def _all() -> tuple[Mutant, ...]:
    entries = tuple(entry for build in _BUILDERS for entry in build())
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ValueError(f"mutant {entry.id} is catalogued twice")
        seen.add(entry.id)
    return entries


def catalogue(protocol: str | None = None) -> list[Mutant]:
    """Every catalogued mutant (of one protocol), in protocol order then as its module lists them."""
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol: Unsupported value: {protocol!r}: use one of {PROTOCOLS}")
    return [entry for entry in _all() if protocol in (None, entry.protocol)]


def get(mutant_id: str) -> Mutant:
    """The mutant ``protocol/name`` (or ``protocol/name@cluster``); KeyError names it."""
    for entry in (*_all(), *cluster_hunts()):
        if entry.id == mutant_id:
            return entry
    raise KeyError(f"no mutant {mutant_id!r} in the catalogue")


# -- whole-cluster hunts -------------------------------------------------------------------------

# (protocol, name) -> the cluster invariants that may catch the mutant once it replaces its
# role in the reference cluster (tests/test_cluster_mutants.py runs the same four).
CLUSTER: dict[tuple[str, str], frozenset[str]] = {
    ("replicaset", "off-by-one"): frozenset(
        {"CLUSTER-DEPLOYMENT-CONVERGES", "CLUSTER-ROLLOUT-MAX-SURGE"}
    ),
    ("kubelet", "never-restarts"): frozenset(
        {"CLUSTER-CONTAINERS-RESTARTED", "CLUSTER-DEPLOYMENT-CONVERGES"}
    ),
    ("scheduler", "component-ignores-taints"): frozenset(
        {"CLUSTER-TAINTS-RESPECTED", "CLUSTER-DEPLOYMENT-CONVERGES"}
    ),
    ("nodelifecycle", "never-evicts"): frozenset(
        {"CLUSTER-DEAD-NODE-PODS-EVICTED", "CLUSTER-DEPLOYMENT-CONVERGES"}
    ),
}
CLUSTER_BUDGET = 40


def cluster_hunts() -> list[Mutant]:
    """The mutants also hunted by the whole-cluster machine, spliced in by their role."""
    by_key = {(entry.protocol, entry.name): entry for entry in _all()}
    return [
        attrs.evolve(by_key[key], hunter="cluster", catchers=catchers, budget=CLUSTER_BUDGET)
        for key, catchers in CLUSTER.items()
    ]
