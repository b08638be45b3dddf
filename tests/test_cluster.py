"""The simulated cluster (kubeprop.reference.cluster): the seed workflow, determinism, faults."""

from __future__ import annotations

import pytest

from kubeprop.reference.cluster import Cluster, ClusterError

NGINX = """
apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
  - name: nginx
    image: nginx:1.23
"""


def deployment(replicas=3, image="nginx:1.23"):
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def phases(cluster):
    return sorted(
        (p["metadata"]["name"], p["status"].get("phase"))
        for p in cluster.list("pods", "default")
        if not p["metadata"].get("deletionTimestamp")
    )


def running_pods(cluster):
    return [
        p
        for p in cluster.list("pods", "default")
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]


def test_the_kubelets_register_their_nodes_ready():
    cluster = Cluster.create(nodes=3)
    cluster.advance(1)
    nodes = cluster.list("nodes")
    assert [n["metadata"]["name"] for n in nodes] == ["node-1", "node-2", "node-3"]
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"


def test_the_seed_pod_is_scheduled_pulled_and_started():
    cluster = Cluster.create(nodes=3)
    cluster.advance(1)
    [(label, answer)] = cluster.apply(NGINX)
    assert (label, answer.code) == ("pod/nginx", 201)
    cluster.advance(10)
    pod = cluster.get("pods", "nginx", "default")
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"].startswith("node-")
    reasons = [e["reason"] for e in cluster.events("default")]
    assert reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]


def test_a_deployment_gets_its_replicas_running():
    cluster = Cluster.create(nodes=2)
    cluster.apply(deployment(3))
    cluster.advance(20)
    assert len(running_pods(cluster)) == 3
    assert cluster.list("replicasets", "default")[0]["status"]["readyReplicas"] == 3


def test_the_same_seed_gives_the_same_trace_and_another_seed_another():
    def run(seed):
        cluster = Cluster.create(nodes=3, seed=seed)
        cluster.apply(deployment(4))
        cluster.advance(15)
        cluster.crash_node("node-2")
        cluster.advance(60)
        return cluster.trace()

    first = run(7)
    assert first == run(7)
    assert len(first) > 50
    assert first != run(8)


def test_a_crashed_nodes_pods_are_replaced_after_the_toleration():
    cluster = Cluster.create(nodes=3)
    cluster.apply(deployment(3))
    cluster.advance(20)
    victim = running_pods(cluster)[0]["spec"]["nodeName"]
    cluster.crash_node(victim)
    cluster.advance(500)
    pods = running_pods(cluster)
    assert len(pods) == 3
    assert all(p["spec"]["nodeName"] != victim for p in pods)
    node = cluster.get("nodes", victim)
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"]["taints"])


def test_a_killed_container_is_restarted():
    cluster = Cluster.create(nodes=1)
    cluster.apply(NGINX)
    cluster.advance(10)
    assert cluster.kill_container("default", "nginx", "nginx")
    cluster.advance(30)
    status = cluster.get("pods", "nginx", "default")["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1 and "running" in status["state"]


def test_a_partitioned_node_goes_unknown_and_comes_back_after_heal():
    cluster = Cluster.create(nodes=2)
    cluster.advance(1)
    cluster.partition("node-1")
    cluster.advance(120)
    ready = {c["type"]: c["status"] for c in cluster.get("nodes", "node-1")["status"]["conditions"]}
    assert ready["Ready"] == "Unknown"
    cluster.heal("node-1")
    cluster.advance(30)
    ready = {c["type"]: c["status"] for c in cluster.get("nodes", "node-1")["status"]["conditions"]}
    assert ready["Ready"] == "True"


def test_compaction_and_a_control_plane_restart_do_not_lose_the_workload():
    cluster = Cluster.create(nodes=2)
    cluster.apply(deployment(2))
    cluster.advance(10)
    cluster.compact()
    cluster.restart_component("replicaset")
    cluster.scale("deployments", "web", 4)
    cluster.advance(30)
    assert len(running_pods(cluster)) == 4


def test_bad_calls_are_errors_that_name_the_problem():
    with pytest.raises(ClusterError, match="nodes: Invalid value"):
        Cluster.create(nodes=-1)
    cluster = Cluster.create(nodes=1)
    with pytest.raises(ClusterError, match='nodes "node-9" not found'):
        cluster.crash_node("node-9")
    with pytest.raises(ClusterError, match="role: Unsupported value"):
        cluster.restart_component("etcd")
    [(label, answer)] = cluster.apply(
        {"apiVersion": "v9", "kind": "Widget", "metadata": {"name": "w"}}
    )
    assert answer.code == 404 and 'no matches for kind "Widget"' in answer.body["message"]
    with pytest.raises(ClusterError):
        cluster.apply("kind: [unclosed")


def test_pods_marked_not_ready_while_their_node_was_cut_off_are_ready_again_after_heal():
    """The node controller marks the pods of an unreachable node not Ready; once the
    node is back, its kubelet writes their real status again (found by the thorough
    cluster suite)."""
    cluster = Cluster.create(nodes=3)
    cluster.apply(deployment(4))
    cluster.advance(5)
    cluster.partition("node-1")
    cluster.partition("node-2")
    cluster.advance(120)
    cut_off = [p for p in running_pods(cluster) if p["spec"]["nodeName"] in ("node-1", "node-2")]
    assert cut_off and all(
        c["status"] == "False"
        for p in cut_off
        for c in p["status"]["conditions"]
        if c["type"] == "Ready"
    )
    cluster.heal()
    cluster.advance(30)
    for pod in running_pods(cluster):
        ready = [c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready"]
        assert ready == ["True"], pod["metadata"]["name"]
