"""Benchmarks of the simulated cluster: events per second, and a large Deployment to all-Running.

``100 nodes, 3000 pods``: a cluster of 100 nodes (4 CPUs each) gets one
Deployment of 3000 replicas (100m CPU each); the benchmark is the wall time
until every pod is Running (looked at every simulated second). The simulated
time this took, the callbacks the event loop ran and their rate are recorded
in ``extra_info``. Run with ``tox -e bench -- -k cluster``. Nothing here
asserts a time; the test only checks that the cluster got there.
"""

from __future__ import annotations

import time

from kubeprop.reference.cluster import Cluster

NODES = 100
PODS = 3000
LIMIT = 1800.0  # simulated seconds allowed to reach all-Running


def workload(replicas: int) -> dict:
    labels = {"app": "bench"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.23",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def running(cluster: Cluster) -> int:
    return sum(
        1
        for pod in cluster.list("pods", "default")
        if (pod.get("status") or {}).get("phase") == "Running"
    )


def to_all_running(nodes: int, pods: int) -> dict:
    started = time.perf_counter()
    cluster = Cluster.create(nodes=nodes, capacity={"cpu": "4", "memory": "16Gi", "pods": "110"})
    cluster.advance(1.0)
    cluster.apply(workload(pods))
    reached = cluster.run_until(lambda c: running(c) == pods, limit=LIMIT, step=1.0)
    wall = time.perf_counter() - started
    assert reached, f"only {running(cluster)} of {pods} pods Running after {LIMIT} s"
    return {
        "simulated_seconds": round(cluster.now, 1),
        "loop_callbacks": cluster.loop.ran,
        "callbacks_per_wall_second": round(cluster.loop.ran / wall),
        "store_revision": cluster.server.store.revision,
        "wall_seconds": round(wall, 1),
    }


def test_cluster_idle_events_per_second(benchmark):
    """Three nodes and a 3-replica Deployment, ten simulated minutes: the loop's rate."""
    cluster = Cluster.create(nodes=3)
    cluster.apply(workload(3))
    cluster.advance(60)

    def ten_minutes():
        before = cluster.loop.ran
        cluster.advance(600)
        return cluster.loop.ran - before

    ran = benchmark.pedantic(ten_minutes, rounds=3, iterations=1)
    benchmark.extra_info["callbacks_per_10_simulated_minutes"] = ran


def test_cluster_100_nodes_3000_pods_to_all_running(benchmark):
    info = benchmark.pedantic(to_all_running, args=(NODES, PODS), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
