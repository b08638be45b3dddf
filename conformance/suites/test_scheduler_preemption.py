"""The preemption suite: pods of mixed priorities placed one by one on small clusters; preemption evicts only what it must.

Contract: a ``PreemptionSUT`` names the PostFilter plugin under test (a zero-argument
factory; the reference DefaultPreemption by default). ``place_with_preemption`` schedules
pods in order with the filters of spec/scheduler.md section 2 (NodeUnschedulable,
NodeName, TaintToleration, NodeAffinity, NodeResourcesFit) and that plugin, binding each
pod that fits before the next. When a cycle nominates a node it evaluates
``SCHEDULER-PREEMPTION-LOWER-PRIORITY`` and ``SCHEDULER-PREEMPTION-MINIMAL`` through
``kubeprop.conformance.report.check`` against the snapshot the cycle saw, then does what
the scheduler component does next: evicts the victims and schedules the pod again (it
must now fit, ``SCHEDULER-FEASIBLE``). Clusters are drawn from the scheduler strategies
(``clusters``): full nodes, priorities 0, 100 and 1000, requests that often collide.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.conformance.report import check
from kubeprop.conformance.strategies.scheduler import clusters, make_node, make_pod
from kubeprop.reference.scheduler import REGISTRY, Profile, Snapshot, schedule_one
from kubeprop.reference.scheduler.framework import Plugin
from kubeprop.reference.scheduler.plugins import default_preemption
from kubeprop.spec.api.core import Node, Pod, PodStatus

FILTERS = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodeResourcesFit")


@attrs.frozen
class PreemptionSUT:
    """The PostFilter plugin under test."""

    plugin: Callable[[], Plugin] = default_preemption.DefaultPreemption

    def profile(self) -> Profile:
        filters = Profile.build(REGISTRY, list(FILTERS))
        return attrs.evolve(filters, plugins=(*filters.plugins, self.plugin()))


REFERENCE = PreemptionSUT()


def _key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _terminating(pod: Pod) -> bool:
    return bool(pod.metadata and pod.metadata.deletion_timestamp)


def _bound(pod: Pod, node_name: str) -> Pod:
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=node_name))


def place_with_preemption(
    sut: PreemptionSUT, nodes: Sequence[Node], pods: Sequence[Pod], seed: int = 0
) -> list[Pod]:
    """Schedule ``pods`` in order, preempting when a cycle nominates a node; the pods
    placed at the end (victims evicted)."""
    profile = sut.profile()
    rng = random.Random(seed)
    placed: list[Pod] = []
    for pod in pods:
        snapshot = Snapshot.of(nodes, placed)
        result = schedule_one(profile, pod, snapshot, rng)
        check("SCHEDULER-FEASIBLE", result, snapshot.names())
        if result.node_name is not None:
            placed.append(_bound(pod, result.node_name))
            continue
        nominated = result.nominated_node_name
        if not nominated:
            continue
        info = snapshot.get(nominated)
        on_node = list(info.pods) if info is not None else []
        by_key = {_key(p): p for p in placed}
        victims = [by_key[key] for key in result.victims if key in by_key]
        check("SCHEDULER-PREEMPTION-LOWER-PRIORITY", pod, nominated, victims)
        if info is None:
            continue
        check("SCHEDULER-PREEMPTION-MINIMAL", pod, info.node, on_node, victims)
        evicted = set(result.victims)
        placed = [p for p in placed if _key(p) not in evicted]
        retry = schedule_one(profile, pod, Snapshot.of(nodes, placed), rng)
        check("SCHEDULER-FEASIBLE", retry, snapshot.names())
        if retry.node_name is not None:
            placed.append(_bound(pod, retry.node_name))
    return placed


PRIORITIES = (-100, 0, 100, 1000)


@st.composite
def preemption_clusters(draw, max_nodes: int = 3, max_pods: int = 10):
    """(nodes, pods): small nodes soon full, pods of mixed priorities arriving in order."""
    nodes = [
        make_node(
            f"node-{i}",
            {
                "cpu": draw(st.sampled_from(("1", "2"))),
                "memory": "2Gi",
                "pods": str(draw(st.integers(2, 3))),
            },
            taints=("dedicated=x:NoSchedule",) if draw(st.integers(0, 5)) == 5 else (),
            unschedulable=True if draw(st.integers(0, 7)) == 7 else None,
        )
        for i in range(draw(st.integers(1, max_nodes)))
    ]
    pods = []
    for i in range(draw(st.integers(3, max_pods))):
        cpu = draw(st.sampled_from(("250m", "500m", "750m", "1")))
        memory = draw(st.sampled_from((None, None, "512Mi", "1Gi")))
        requests = {"cpu": cpu, **({"memory": memory} if memory else {})}
        rank = min(len(PRIORITIES) - 1, draw(st.integers(0, 2)) + i // 3)
        pod = make_pod(f"pod-{i}", (requests,), priority=PRIORITIES[rank])
        spec = pod.spec
        if draw(st.integers(0, 7)) == 7:
            spec = attrs.evolve(spec, preemption_policy="Never")
        start = draw(st.sampled_from((None, 1, 2, 3)))
        status = PodStatus(start_time=f"2026-01-01T00:00:0{start}Z" if start else None)
        pods.append(attrs.evolve(pod, spec=spec, status=status))
    return nodes, pods


def preemption_settings() -> settings:
    """The active profile with a quarter of its examples (at least 20)."""
    return settings(max_examples=max(settings.default.max_examples // 4, 20), deadline=None)


@preemption_settings()
@given(
    cluster=st.one_of(
        preemption_clusters(), preemption_clusters(), clusters(max_nodes=3, max_pods=8)
    ),
    seed=st.integers(0, 3),
)
def test_preemption_evicts_a_minimal_set_of_lower_priority_pods(cluster, seed):
    nodes, pods = cluster
    place_with_preemption(REFERENCE, nodes, pods, seed)


# -- the scheduler component preempting ----------------------------------------------------------


def _node_manifest(name: str, cpu: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "4"}},
    }


def _pod_manifest(name: str, cpu: str, priority: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "priority": priority,
            "containers": [
                {"name": "app", "image": "nginx:1.23", "resources": {"requests": {"cpu": cpu}}}
            ],
        },
    }


def run_component(
    factory: Callable[..., object],
    node_cpus: Sequence[str],
    batches: Sequence[Sequence[tuple[str, int]]],
) -> None:
    """Run ``factory``'s scheduler against an API server: the nodes, then each batch of pods
    ((cpu, priority) each) followed by a second of time and a kubelet's confirmation of
    every pod being deleted. The pods the scheduler deletes while handling a nominating
    cycle are its victims; they are checked against the view the cycle was made on, the
    pods nominated to the node (priority at least the preemptor's) counted on it."""
    from kubeprop.reference.apiserver import ApiServer
    from kubeprop.reference.client import Connection, EventRecorder
    from kubeprop.reference.loop import EventLoop
    from kubeprop.spec.api import load

    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    connection = Connection(server, "default-scheduler")
    holder: list = []

    seen: set[str] = set()  # pods already found terminating

    def evicted() -> list[str]:
        """The pods that started terminating since the last look."""
        items = server.request("list", "pods", namespace="default").body["items"]
        fresh = [
            f"default/{item['metadata']['name']}"
            for item in items
            if item["metadata"].get("deletionTimestamp")
        ]
        new = [key for key in fresh if key not in seen]
        seen.update(new)
        return new

    def observe(decision) -> None:
        gone = evicted()  # what the scheduler deleted while handling this cycle
        nominated = decision.result.nominated_node_name
        if not nominated:
            return
        info = decision.snapshot.get(nominated)
        pods = {_key(p): p for i in decision.snapshot.node_infos for p in i.pods}
        # Victims already terminating (preempted for another pod) get no second delete.
        dying = [k for k in decision.result.victims if pods.get(k) and _terminating(pods[k])]
        victims = [pods[key] for key in dict.fromkeys([*gone, *dying]) if key in pods]
        check("SCHEDULER-PREEMPTION-LOWER-PRIORITY", decision.pod, nominated, victims)
        if info is None:
            return
        others = holder[0].nominated_pods(decision.pod).get(nominated, ())
        on_node = [*info.pods, *others]
        check("SCHEDULER-PREEMPTION-MINIMAL", decision.pod, info.node, on_node, victims)

    scheduler = factory(
        connection=connection,
        loop=loop,
        recorder=EventRecorder(connection, loop.clock, "default-scheduler"),
        seed=0,
        observer=observe,
    )
    holder.append(scheduler)
    scheduler.start()
    try:
        for i, cpu in enumerate(node_cpus):
            server.request("create", "nodes", body=_node_manifest(f"node-{i}", cpu))
        created = 0
        for batch in [*batches, ()]:
            for cpu, priority in batch:
                manifest = _pod_manifest(f"pod-{created}", cpu, priority)
                server.request("create", "pods", namespace="default", body=manifest)
                created += 1
            loop.run_for(1.0)
            for item in server.request("list", "pods", namespace="default").body["items"]:
                if item["metadata"].get("deletionTimestamp"):  # the kubelet confirms
                    name = item["metadata"]["name"]
                    seen.add(f"default/{name}")
                    server.request(
                        "delete",
                        "pods",
                        namespace="default",
                        name=name,
                        body={"gracePeriodSeconds": 0},
                    )
            loop.run_for(2.0)
        nodes = [
            load({"apiVersion": "v1", "kind": "Node", **n})
            for n in server.request("list", "nodes").body["items"]
        ]
        pods = [
            load({"apiVersion": "v1", "kind": "Pod", **p})
            for p in server.request("list", "pods", namespace="default").body["items"]
        ]
        check("SCHEDULER-NO-OVERCOMMIT", nodes, [p for p in pods if p.spec.node_name])
    finally:
        scheduler.stop()


@st.composite
def component_batches(draw) -> list[list[tuple[str, int]]]:
    """Batches of (cpu, priority): priorities 0, 100, 1000, rising from batch to batch on
    average, so that later pods find the nodes full of lower-priority ones."""
    batches = []
    for i in range(draw(st.integers(1, 4))):
        batch = []
        for _ in range(draw(st.integers(1, 3))):
            cpu = draw(st.sampled_from(("250m", "500m", "1")))
            rank = min(2, draw(st.integers(0, 1)) + i // 2)
            batch.append((cpu, (0, 100, 1000)[rank]))
        batches.append(batch)
    return batches


@settings(max_examples=15, deadline=None)
@given(
    node_cpus=st.lists(st.sampled_from(("1", "1", "2")), min_size=1, max_size=2),
    batches=component_batches(),
)
def test_the_scheduler_component_preempts_a_minimal_set(node_cpus, batches):
    from kubeprop.reference.scheduler import Scheduler

    run_component(Scheduler, node_cpus, batches)
