"""Benchmarks of the scheduler core: pods per second, compiled vs pure, at 100 to 15000 nodes.

Two measurements, both with pods of scheduler_perf's pod-default shape on nodes of
its node-default shape, the default profile scanning 100 % of the nodes, each pod
bound before the next:

- ``core``: the scoring core alone (``kubeprop.bench.measure_core``): the fused
  kernels over the node table, per-row results kept between pods of the template,
  the table's own column update on bind;
- ``cycle``: whole scheduling cycles (``kubeprop.bench.measure``): ``schedule_one``
  with every plugin's PreFilter and PreScore, the snapshot and the table kept in step.

Both kernel modules run in the same session, so their ratio compares like with
like; ``extra_info`` records pods/s. The pure twin places fewer pods (it is the slow
one). Run with ``tox -e bench -- -k scheduler_core`` or ``kubeprop bench``.
"""

from __future__ import annotations

import pytest

from kubeprop import bench
from kubeprop.reference.scheduler import core

IMPLEMENTATIONS = [("python", core.PURE)]
if core.COMPILED is not None:
    IMPLEMENTATIONS.insert(0, ("cython", core.COMPILED))
IDS = [name for name, _ in IMPLEMENTATIONS]

# pods placed per measurement: (core, cycle), by implementation
PODS = {"cython": (3000, 300), "python": (20, 5)}


def _record(benchmark, measured, implementation):
    benchmark.extra_info.update(
        nodes=measured.nodes,
        implementation=implementation,
        pods=measured.pods,
        pods_per_second=round(measured.pods_per_second, 1),
    )


@pytest.mark.parametrize("nodes", bench.SIZES)
@pytest.mark.parametrize("implementation,kernels", IMPLEMENTATIONS, ids=IDS)
def test_scheduler_core_pods_per_second(benchmark, nodes, implementation, kernels):
    count = PODS[implementation][0]
    measured = benchmark.pedantic(
        bench.measure_core, args=(nodes, kernels, count), rounds=1, iterations=1
    )
    _record(benchmark, measured, implementation)
    assert measured.pods == count


@pytest.mark.parametrize("nodes", bench.SIZES)
@pytest.mark.parametrize("implementation,kernels", IMPLEMENTATIONS, ids=IDS)
def test_scheduler_cycle_pods_per_second(benchmark, nodes, implementation, kernels):
    count = PODS[implementation][1]
    measured = benchmark.pedantic(
        bench.measure, args=(nodes, kernels, count), rounds=1, iterations=1
    )
    _record(benchmark, measured, implementation)
    assert measured.pods == count
