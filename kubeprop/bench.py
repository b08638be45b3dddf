"""``kubeprop bench``: the scheduler core's pods per second at several cluster sizes, compiled and pure.

Contract: ``measure(nodes, kernels, pods)`` schedules ``pods`` pods shaped like
scheduler_perf's pod-default template (100m cpu, 500Mi memory) one by one onto
``nodes`` nodes shaped like its node-default template (4 cpu, 32Gi, 110 pods,
a zone label), with the default profile scanning 100 % of the nodes, each pod
bound (the snapshot and the node table updated) before the next, and returns
the pods per second of wall time. ``run`` measures every size with the
compiled kernels (when built) and the pure twin in the same process, so their
ratio compares like with like. Timing uses the wall clock of the benchmark
itself, never the model's clock. Nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import gc
import random
import time
from collections.abc import Sequence
from typing import Any

import attrs

SIZES = (100, 1000, 5000, 15000)


@attrs.frozen
class Measurement:
    nodes: int
    implementation: str  # "cython" or "python"
    pods: int
    seconds: float

    @property
    def pods_per_second(self) -> float:
        return self.pods / self.seconds if self.seconds > 0 else float("inf")


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector off while timing (as timeit does): a collection of
    what building the cluster allocated would land in the timed loop."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cluster(nodes: int) -> Any:
    """A snapshot of ``nodes`` nodes of scheduler_perf's node-default shape."""
    from kubeprop.conformance.strategies.scheduler import make_node
    from kubeprop.reference.scheduler import Snapshot

    return Snapshot.of(
        make_node(
            f"node-{i}",
            {"cpu": "4", "memory": "32Gi", "pods": "110"},
            labels={"topology.kubernetes.io/zone": f"zone-{i % 3}"},
        )
        for i in range(nodes)
    )


def pods(count: int, offset: int = 0) -> list[Any]:
    from kubeprop.conformance.strategies.scheduler import make_pod

    return [
        make_pod(f"pod-{offset + i}", ({"cpu": "100m", "memory": "500Mi"},)) for i in range(count)
    ]


def measure(nodes: int, kernels: Any, count: int, *, warmup: int = 5) -> Measurement:
    """Pods per second of the default profile over ``nodes`` nodes with ``kernels``."""
    from kubeprop.reference.scheduler import core, default_profile, schedule_one

    profile = attrs.evolve(default_profile(), percentage_of_nodes_to_score=100)
    snapshot = cluster(nodes)
    table = core.NodeTable.of(snapshot.node_infos, kernels)
    rng = random.Random(0)
    start = 0

    def place(batch: Sequence[Any]) -> None:
        nonlocal snapshot, start
        for pod in batch:
            result = schedule_one(
                profile,
                pod,
                snapshot,
                rng,
                kernels=kernels,
                table=table,
                start=start,
                explain=False,
            )
            if result.node_name is None:
                raise RuntimeError(f"pod {pod.metadata.name} did not fit: {result.status}")
            start = (start + result.visited) % nodes
            snapshot = snapshot.assume(pod, result.node_name)

    place(pods(warmup, offset=10**6))
    measured = pods(count)
    with _no_gc():
        began = time.perf_counter()
        place(measured)
        seconds = time.perf_counter() - began
    implementation = "python" if kernels is core.PURE else "cython"
    return Measurement(nodes, implementation, count, seconds)


def measure_core(nodes: int, kernels: Any, count: int, *, incremental: bool = True) -> Measurement:
    """Pods per second of the scoring core alone: the default profile's filters and
    scores as the fused kernels compute them over the node table, for pods of one
    template (its per-pod inputs prepared once, as PreFilter and PreScore would), each
    placed on the best row (ties drawn by a seeded random) and bound by the table's own
    column update. No NodeInfo, snapshot or plugin objects are touched per pod. With
    ``incremental`` the per-row results are kept between pods (``core.Incremental``: only
    the bound row is re-evaluated); without, every row is re-scored for every pod."""
    from kubeprop.reference.scheduler import core, default_profile, resources
    from kubeprop.reference.scheduler.plugins import fused

    profile = attrs.evolve(default_profile(), percentage_of_nodes_to_score=100)
    snapshot = cluster(nodes)
    table = core.NodeTable.of(snapshot.node_infos, kernels)
    template = pods(1)[0]
    prepared = fused.prepare(profile, template, snapshot, table)
    if prepared is None:
        raise RuntimeError("the default profile's filters and scores must be fused")
    state, filter_args, score_args, left = prepared
    others = []  # the scorers outside the fused pass, through their table versions
    for plugin in left:
        fast = core.accelerator(plugin)
        if fast is None or fast.score is None or fast.normalize is not None:
            raise RuntimeError(f"{plugin.name} has no table score without normalisation")
        others.append((plugin, fast.score, profile.weight(plugin.name)))
    requests = resources.pod_requests(template)
    non_zero = resources.non_zero_requests(template)
    rng = random.Random(0)
    implementation = "python" if kernels is core.PURE else "cython"
    if incremental:
        kept = core.Incremental.of(table, filter_args, score_args, tuple(others), state, template)
        with _no_gc():
            began = time.perf_counter()
            start = 0
            for _ in range(count):
                row, visited, found = kept.choose(start, nodes, rng)
                if found == 0:
                    raise RuntimeError("the cluster is full")
                table.add_pod_columns(row, requests, non_zero)
                start = (start + visited) % nodes
            seconds = time.perf_counter() - began
        return Measurement(nodes, implementation, count, seconds)
    with _no_gc():
        began = time.perf_counter()
        start = 0
        for _ in range(count):
            rows, visited = kernels.fused_filter(start, nodes, *filter_args)
            if len(rows) == 0:
                raise RuntimeError("the cluster is full")
            totals = kernels.zeros(len(rows))
            kernels.fused_score(rows, *score_args, totals)
            for plugin, score, weight in others:
                kernels.weighted_add(score(plugin, state, template, table, rows), weight, totals)
            top, tied = kernels.best(totals)
            row = rows[kernels.nth_with(totals, top, rng.randrange(tied) if tied > 1 else 0)]
            table.add_pod_columns(row, requests, non_zero)
            start = (start + visited) % nodes
        seconds = time.perf_counter() - began
    return Measurement(nodes, implementation, count, seconds)


def run(
    sizes: Sequence[int] = SIZES,
    *,
    pods_compiled: int = 500,
    pods_pure: int = 10,
    core_only: bool = False,
):
    """Every size with each available kernel module, compiled first: the whole cycle
    (``measure``) or the core alone (``measure_core``)."""
    from kubeprop.reference.scheduler import core

    how = measure_core if core_only else measure
    results = []
    for nodes in sizes:
        if core.COMPILED is not None:
            results.append(how(nodes, core.COMPILED, pods_compiled))
        results.append(how(nodes, core.PURE, pods_pure))
    return results


def render(results: Sequence[Measurement]) -> str:
    """A table: nodes, pods/s compiled and pure, and their ratio."""
    by_size: dict[int, dict[str, Measurement]] = {}
    for m in results:
        by_size.setdefault(m.nodes, {})[m.implementation] = m
    lines = [f"{'NODES':>6}  {'CYTHON PODS/S':>13}  {'PYTHON PODS/S':>13}  {'RATIO':>6}"]
    for nodes in sorted(by_size):
        row = by_size[nodes]
        compiled, pure = row.get("cython"), row.get("python")
        c = f"{compiled.pods_per_second:13.0f}" if compiled else f"{'-':>13}"
        p = f"{pure.pods_per_second:13.1f}" if pure else f"{'-':>13}"
        ratio = (
            f"{compiled.pods_per_second / pure.pods_per_second:5.0f}x"
            if compiled and pure
            else f"{'-':>6}"
        )
        lines.append(f"{nodes:>6}  {c}  {p}  {ratio}")
    return "\n".join(lines)


def plot(core: Sequence[Measurement], cycles: Sequence[Measurement], path: str) -> None:
    """A PNG of pods/s against nodes: one line per implementation, for the core alone
    and for whole cycles (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 4.8))
    for label, results, style in (("core", core, "-"), ("cycle", cycles, "--")):
        for implementation in ("cython", "python"):
            points = sorted(
                (m.nodes, m.pods_per_second) for m in results if m.implementation == implementation
            )
            if points:
                xs, ys = zip(*points)
                axes.plot(xs, ys, style, marker="o", label=f"{label}, {implementation}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("nodes (100 % scanned)")
    axes.set_ylabel("pods scheduled per second")
    axes.set_title("kubeprop scheduler, default profile")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)
