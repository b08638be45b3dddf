"""Benchmarks of the scheduler core: pods per second through the default profile, compiled vs pure.

Each case schedules pods of scheduler_perf's pod-default shape onto nodes of its
node-default shape, scanning 100 % of the nodes, every pod bound before the
next (``kubeprop.bench.measure``). Both kernel modules run in the same session,
so their ratio compares like with like; ``extra_info`` records pods/s. The pure
twin schedules fewer pods at the larger sizes (it is the slow one). Run with
``tox -e bench -- -k scheduler_core`` or ``kubeprop bench``.
"""

from __future__ import annotations

import pytest

from kubeprop import bench
from kubeprop.reference.scheduler import core

SIZES = bench.SIZES
PODS = {"cython": 1000, "python": 20}

IMPLEMENTATIONS = [("python", core.PURE)]
if core.COMPILED is not None:
    IMPLEMENTATIONS.insert(0, ("cython", core.COMPILED))


@pytest.mark.parametrize("nodes", SIZES)
@pytest.mark.parametrize(
    "implementation,kernels", IMPLEMENTATIONS, ids=[name for name, _ in IMPLEMENTATIONS]
)
def test_scheduler_core_pods_per_second(benchmark, nodes, implementation, kernels):
    count = PODS[implementation] if nodes <= 5000 else max(PODS[implementation] // 4, 5)
    measured = benchmark.pedantic(
        bench.measure, args=(nodes, kernels, count), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        nodes=nodes,
        implementation=implementation,
        pods=measured.pods,
        pods_per_second=round(measured.pods_per_second, 1),
    )
    assert measured.pods == count
