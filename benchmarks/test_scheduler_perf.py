"""scheduler_perf-shaped workloads: pods/s through the reference scheduler and API server.

Each workload is shaped like one of upstream's scheduler_perf test cases
(test/integration/scheduler_perf/*/performance-config.yaml in
kubernetes/kubernetes, with the pod and node templates of templates/):
``createNodes`` (Ready nodes of node-default.yaml: 4 CPUs, 32Gi, 110 pods; a
zone label round-robin where the case has a labelNodePrepareStrategy),
``createNamespaces``, ``createPods`` of the initial pods (waited for), then the
measured ``createPods``. Nothing else runs: no kubelets, no controllers; the
reference ``Scheduler`` and the reference ``ApiServer`` on one ``EventLoop``,
talking through a client ``Connection`` as in the simulated cluster. Pods are
created through the API one request each, as upstream's createPods op does,
into ``namespace-<op index>`` unless the case names a namespace.

The measured phase starts with the first create of a measured pod and ends at
the binding of the last one; pods/s is the measured pods bound divided by the
wall seconds of that phase (recorded in ``extra_info`` next to upstream's CI
threshold). Setup (nodes, initial pods) is not timed.

Sizes: by default each workload runs at a quick size (upstream's 500-node
workload, where it has one); ``KUBEPROP_SCHEDULER_PERF=upstream`` runs the
size upstream's ci-benchmark-scheduler-perf job runs and judges by its
threshold (hours on a laptop; kubeprop scores every feasible node, upstream
scores a percentage, see benchmarks/README.md). Workloads whose plugins are not
registered yet are skipped with the plugin's name.

Run: ``python -m pytest benchmarks/test_scheduler_perf.py -p no:xdist --benchmark-only``.
Profile one workload: ``python benchmarks/test_scheduler_perf.py SchedulingBasic
--nodes 500 --init 500 --measure 1000 --profile out.prof``.
Nothing here asserts a time; the test checks that every measured pod was bound.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.scheduler import Scheduler
from kubeprop.reference.scheduler.component import Decision
from kubeprop.reference.scheduler.framework import Profile
from kubeprop.reference.scheduler.plugins import DEFAULT_PLUGINS, REGISTRY, default_profile

Manifest = dict[str, Any]

SIZE_VARIABLE = "KUBEPROP_SCHEDULER_PERF"  # "upstream" for upstream's CI sizes
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
NODE_PREFIX = "scheduler-perf-"  # node-default.yaml's generateName
# k8s.io/apimachinery rand.String's alphabet (no vowels, no confusable digits).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
PAUSE = "registry.k8s.io/pause:3.10.1"
# Simulated seconds without a measured pod bound after which a run gives up: longer
# than the 300 s an unschedulable pod may stay parked before the periodic flush.
STALL_SECONDS = 330.0
STEP_SECONDS = 0.1  # how far the loop is run between looks (the watch latency)

# Upstream's default plugin order (pkg/scheduler/apis/config/v1/default_plugins.go) of
# the plugins a workload may need beyond the ones kubeprop enables by default, with
# their default score weights; they go before NodeResourcesBalancedAllocation.
EXTRA_PLUGINS = (("PodTopologySpread", 2), ("InterPodAffinity", 2), ("DefaultPreemption", 1))


# -- the templates (upstream's templates/*.yaml as manifests) ------------------------------


def node_default(name: str, labels: dict[str, str]) -> Manifest:
    """templates/node-default.yaml; allocatable is the capacity, as defaulting gives.

    Named as upstream's node preparer names it (generateName plus five random
    characters, chosen by the client) and labelled kubernetes.io/hostname=<name>."""
    capacity = {"pods": "110", "cpu": "4", "memory": "32Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {HOSTNAME: name, **labels}},
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [{"status": "True", "type": "Ready"}],
            "phase": "Running",
        },
    }


def _pod(generate_name: str, cpu: str, spec: Manifest | None = None, labels=None) -> Manifest:
    resources = {"cpu": cpu, "memory": "500Mi"}
    container = {
        "image": PAUSE,
        "name": "pause",
        "ports": [{"containerPort": 80}],
        "resources": {"limits": dict(resources), "requests": dict(resources)},
    }
    metadata: Manifest = {"generateName": generate_name}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {**(spec or {}), "containers": [container]},
    }


def pod_default() -> Manifest:
    """templates/pod-default.yaml: 100m CPU, 500Mi."""
    return _pod("pod-", "100m")


def pod_with_node_affinity() -> Manifest:
    """templates/pod-with-node-affinity.yaml: zone In [zone1, zone2], required."""
    term = {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["zone1", "zone2"]}]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }
    return _pod("node-affinity-", "100m", {"affinity": affinity})


def pod_with_pod_anti_affinity() -> Manifest:
    """templates/pod-with-pod-anti-affinity.yaml: one green pod per host (sched-0, sched-1)."""
    term = {
        "labelSelector": {"matchLabels": {"color": "green"}},
        "topologyKey": "kubernetes.io/hostname",
        "namespaces": ["sched-1", "sched-0"],
    }
    affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return _pod("anti-affinity-pod-", "100m", {"affinity": affinity}, {"color": "green"})


def pod_with_topology_spreading() -> Manifest:
    """templates/pod-with-topology-spreading.yaml: maxSkew 5 over zones, DoNotSchedule."""
    constraint = {
        "maxSkew": 5,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"color": "blue"}},
    }
    spec = {"topologySpreadConstraints": [constraint]}
    return _pod("spreading-pod-", "100m", spec, {"color": "blue"})


def pod_low_priority() -> Manifest:
    """templates/pod-low-priority.yaml: 900m CPU, terminationGracePeriodSeconds 0."""
    return _pod("pod-", "900m", {"terminationGracePeriodSeconds": 0})


def pod_high_priority() -> Manifest:
    """templates/pod-high-priority.yaml: 3 CPUs, priority 10."""
    return _pod("pod-", "3000m", {"priority": 10})


# -- the workloads --------------------------------------------------------------------------


@attrs.frozen
class Size:
    """initNodes, initPods, measurePods of one upstream workload, with its CI threshold."""

    workload: str  # upstream's workload name
    nodes: int
    init_pods: int
    measure_pods: int
    threshold: int | None = None  # pods/s, the ci-benchmark-scheduler-perf threshold


@attrs.frozen
class Case:
    """One scheduler_perf test case: the templates, where pods go, and its sizes."""

    name: str
    source: str  # the performance-config.yaml it comes from
    init_pod: Callable[[], Manifest]
    measure_pod: Callable[[], Manifest]
    quick: Size
    upstream: Size
    zones: tuple[str, ...] = ()  # labelNodePrepareStrategy values, round-robin
    namespaces: tuple[str, ...] = ()  # createNamespaces
    init_namespace: str = "namespace-1"  # createPods without a namespace: namespace-<op>
    measure_namespace: str = "namespace-2"
    plugins: tuple[str, ...] = ()  # plugins the case needs beyond the default ones


CONFIG = "https://github.com/kubernetes/kubernetes/blob/master/test/integration/scheduler_perf"
CASES = (
    Case(
        "SchedulingBasic",
        f"{CONFIG}/misc/performance-config.yaml",
        pod_default,
        pod_default,
        quick=Size("500Nodes", 500, 500, 1000),
        upstream=Size("5000Nodes_10000Pods", 5000, 1000, 10000, threshold=680),
    ),
    Case(
        "SchedulingNodeAffinity",
        f"{CONFIG}/affinity/performance-config.yaml",
        pod_with_node_affinity,
        pod_with_node_affinity,
        quick=Size("500Nodes", 500, 500, 1000),
        upstream=Size("5000Nodes_10000Pods", 5000, 5000, 10000, threshold=220),
        zones=("zone1",),
    ),
    Case(
        "SchedulingPodAntiAffinity",
        f"{CONFIG}/affinity/performance-config.yaml",
        pod_with_pod_anti_affinity,
        pod_with_pod_anti_affinity,
        quick=Size("500Nodes", 500, 100, 400),
        upstream=Size("5000Nodes_2000Pods", 5000, 1000, 2000, threshold=60),
        namespaces=("sched-0", "sched-1"),
        init_namespace="sched-0",
        measure_namespace="sched-1",
        plugins=("InterPodAffinity",),
    ),
    Case(
        "TopologySpreading",
        f"{CONFIG}/topology_spreading/performance-config.yaml",
        pod_default,
        pod_with_topology_spreading,
        quick=Size("500Nodes", 500, 1000, 1000),
        upstream=Size("5000Nodes_5000Pods", 5000, 5000, 5000, threshold=460),
        zones=("moon-1", "moon-2", "moon-3"),
        plugins=("PodTopologySpread",),
    ),
    Case(
        "PreemptionBasic",
        f"{CONFIG}/misc/performance-config.yaml",
        pod_low_priority,
        pod_high_priority,
        # The 500-node workload of the older config/performance-config.yaml.
        quick=Size("500Nodes", 500, 2000, 500),
        upstream=Size("1000Nodes", 1000, 4000, 1000),  # no threshold upstream
        plugins=("DefaultPreemption",),
    ),
)


def upstream_sizes() -> bool:
    return os.environ.get(SIZE_VARIABLE, "").strip().lower() == "upstream"


def nodes_upstream_scores(nodes: int) -> int:
    """numFeasibleNodesToFind with the adaptive default (pkg/scheduler/schedule_one.go):
    all below 100 nodes, else max(5, 50 - nodes/125) % of them, at least 100."""
    if nodes < 100:
        return nodes
    percentage = max(5, 50 - nodes // 125)
    return max(100, nodes * percentage // 100)


def missing_plugins(case: Case) -> list[str]:
    return [name for name in case.plugins if name not in REGISTRY.factories]


def profile_for(case: Case) -> Profile:
    """The default plugins, with the ones the case needs added at upstream's place; every
    node examined (percentageOfNodesToScore 100), where upstream examines a share."""
    enabled = list(DEFAULT_PLUGINS)
    names = [name for name, _ in enabled]
    extra = [(n, w) for n, w in EXTRA_PLUGINS if n in case.plugins and n not in names]
    if not extra:
        profile = default_profile()  # what the scheduler runs by default
    else:
        at = (
            names.index("NodeResourcesBalancedAllocation")
            if "NodeResourcesBalancedAllocation" in names
            else len(enabled)
        )
        profile = Profile.build(REGISTRY, [*enabled[:at], *extra, *enabled[at:]])
    return attrs.evolve(profile, percentage_of_nodes_to_score=100)


# -- the run --------------------------------------------------------------------------------


@attrs.define(eq=False)
class Run:
    """One workload against a fresh API server and scheduler."""

    case: Case
    size: Size
    loop: EventLoop = attrs.field(init=False, factory=EventLoop)
    server: ApiServer = attrs.field(init=False)
    admin: Connection = attrs.field(init=False)  # scheduler_perf's own client
    scheduler: Scheduler = attrs.field(init=False)
    # namespace -> pods of it the scheduler bound so far.
    bound: dict[str, int] = attrs.field(init=False, factory=dict)
    cycles: int = attrs.field(init=False, default=0)  # scheduling cycles run
    # perf_counter() and process_time() at the last binding of a measured pod.
    last_bound_at: float = attrs.field(init=False, default=0.0)
    last_bound_cpu: float = attrs.field(init=False, default=0.0)

    def __attrs_post_init__(self) -> None:
        self.server = ApiServer(clock=self.loop.clock)
        self.admin = Connection(self.server, "scheduler-perf")
        connection = Connection(self.server, "default-scheduler")
        self.scheduler = Scheduler(
            connection=connection,
            loop=self.loop,
            recorder=EventRecorder(connection, self.loop.clock, "default-scheduler"),
            profile=profile_for(self.case),
            observer=self._observe,
        )

    def _observe(self, decision: Decision) -> None:
        self.cycles += 1
        if decision.bound:
            namespace = decision.pod.metadata.namespace
            self.bound[namespace] = self.bound.get(namespace, 0) + 1
            if namespace == self.case.measure_namespace:
                self.last_bound_at = time.perf_counter()
                self.last_bound_cpu = time.process_time()

    def create(self, resource: str, body: Manifest, namespace: str | None = None) -> None:
        answer = self.admin.request("create", resource, namespace=namespace, body=body)
        assert answer.ok, f"create {resource}: {answer.body}"

    def setup(self) -> None:
        """createNodes, createNamespaces, the initial createPods (waited for)."""
        self.scheduler.start()
        zones, names, rng = self.case.zones, set(), random.Random(0)
        for index in range(self.size.nodes):
            name = ""
            while not name or name in names:  # a taken name: upstream retries with another
                name = NODE_PREFIX + "".join(rng.choice(NAME_ALPHABET) for _ in range(5))
            names.add(name)
            labels = {ZONE: zones[index % len(zones)]} if zones else {}
            self.create("nodes", node_default(name, labels))
        namespaces = (*self.case.namespaces, self.case.init_namespace, self.case.measure_namespace)
        for name in dict.fromkeys(namespaces):
            self.create(
                "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )
        self.create_pods(self.case.init_namespace, self.case.init_pod, self.size.init_pods)
        done = self.wait(self.case.init_namespace, self.size.init_pods)
        bound = self.bound.get(self.case.init_namespace, 0)
        assert done, f"only {bound} of {self.size.init_pods} initial pods bound"

    def create_pods(self, namespace: str, template: Callable[[], Manifest], count: int) -> None:
        for _ in range(count):
            self.create("pods", template(), namespace)

    def wait(self, namespace: str, count: int) -> bool:
        """Run the loop until ``count`` pods of ``namespace`` are bound; False if it stalls."""
        progress_at, seen = self.loop.now, -1
        while self.bound.get(namespace, 0) < count:
            if self.bound.get(namespace, 0) != seen:
                progress_at, seen = self.loop.now, self.bound.get(namespace, 0)
            elif self.loop.now - progress_at > STALL_SECONDS:
                return False
            self.loop.run_for(STEP_SECONDS)
        return True

    def measure(self) -> dict[str, Any]:
        """The measured createPods: create, then run until every one is bound."""
        namespace, count = self.case.measure_namespace, self.size.measure_pods
        cycles, callbacks, revision = self.cycles, self.loop.ran, self.server.store.revision
        simulated = self.loop.now
        started, started_cpu = time.perf_counter(), time.process_time()
        self.create_pods(namespace, self.case.measure_pod, count)
        created = time.perf_counter()
        done = self.wait(namespace, count)
        bound = self.bound.get(namespace, 0)
        wall = (self.last_bound_at if done else time.perf_counter()) - started
        cpu = self.last_bound_cpu - started_cpu
        assert done, f"only {bound} of {count} measured pods bound (stalled {STALL_SECONDS} s)"
        return {
            "upstream_workload": f"{self.case.name}/{self.size.workload}",
            "nodes": self.size.nodes,
            "init_pods": self.size.init_pods,
            "measure_pods": count,
            "pods_per_second": round(bound / wall, 1),
            "upstream_threshold": self.size.threshold,
            "wall_seconds": round(wall, 2),
            # CPU seconds of this process: the same work, less sensitive to other jobs.
            "cpu_seconds": round(cpu, 2),
            "pods_per_cpu_second": round(bound / cpu, 1),
            "create_seconds": round(created - started, 2),
            "simulated_seconds": round(self.loop.now - simulated, 1),
            "scheduling_cycles": self.cycles - cycles,
            "loop_callbacks": self.loop.ran - callbacks,
            "store_writes": self.server.store.revision - revision,
            "nodes_scored_per_cycle": self.size.nodes,
            "nodes_upstream_scores": nodes_upstream_scores(self.size.nodes),
        }


def run_case(case: Case, size: Size) -> tuple[Run, dict[str, Any]]:
    run = Run(case, size)
    run.setup()
    return run, run.measure()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scheduler_perf(benchmark, case: Case) -> None:
    missing = missing_plugins(case)
    if missing:
        pytest.skip(
            f"{case.name} needs {', '.join(missing)}, not in "
            "kubeprop.reference.scheduler.plugins.REGISTRY yet"
        )
    size = case.upstream if upstream_sizes() else case.quick
    run = Run(case, size)
    info = benchmark.pedantic(run.measure, setup=lambda: run.setup(), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    assert info["measure_pods"] == run.bound.get(case.measure_namespace, 0)


# -- profiling from the command line ---------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=[case.name for case in CASES])
    parser.add_argument("--nodes", type=int)
    parser.add_argument("--init", type=int)
    parser.add_argument("--measure", type=int)
    parser.add_argument("--upstream", action="store_true", help="upstream's CI size")
    parser.add_argument("--profile", help="write a cProfile of the measured phase here")
    args = parser.parse_args(argv)
    case = next(case for case in CASES if case.name == args.case)
    base = case.upstream if args.upstream else case.quick
    size = attrs.evolve(
        base,
        nodes=args.nodes or base.nodes,
        init_pods=base.init_pods if args.init is None else args.init,
        measure_pods=args.measure or base.measure_pods,
    )
    if size != base:
        size = attrs.evolve(size, workload="custom", threshold=None)
    missing = missing_plugins(case)
    if missing:
        raise SystemExit(f"{case.name} needs {', '.join(missing)} (not registered)")
    run = Run(case, size)
    run.setup()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    info = run.measure()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    for key, value in info.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
