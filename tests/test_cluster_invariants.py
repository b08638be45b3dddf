"""Table tests of the cluster invariants (spec/invariants/cluster.py): each holds on a
state that keeps its rule and fails, naming what is wrong, on one that breaks it."""

from __future__ import annotations

import pytest

from kubeprop.spec.invariants import cluster as rules


def node(name, cpu="1", *, ready="True", unschedulable=False, taints=()):
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "5"},
        "spec": {"unschedulable": unschedulable, "taints": list(taints)},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "2Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def pod(name, node_name=None, cpu="200m", *, owner=None, phase="Running", ready=True, **meta):
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "resourceVersion": str(meta.pop("rv", 7)),
            **({"ownerReferences": [{"uid": owner, "controller": True}]} if owner else {}),
            **meta,
        },
        "spec": {
            "nodeName": node_name,
            "containers": [
                {"name": "app", "image": "nginx:1.23", "resources": {"requests": {"cpu": cpu}}}
            ],
        },
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {"name": "app", "restartCount": 1, "state": {"running": {}}, "ready": ready}
            ],
        },
    }


def deployment(name, replicas, strategy=None):
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "spec": {
            "replicas": replicas,
            "strategy": strategy or {"type": "RollingUpdate"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.23",
                            "resources": {"requests": {"cpu": "200m"}},
                        }
                    ]
                }
            },
        },
    }


def replicaset(name, replicas, owner=None):
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            **({"ownerReferences": [{"uid": owner, "controller": True}]} if owner else {}),
        },
        "spec": {"replicas": replicas},
    }


@pytest.mark.parametrize(
    ("strategy", "replicas", "expected"),
    [
        ({"type": "RollingUpdate"}, 4, (1, 1)),  # 25% of 4
        ({"type": "RollingUpdate"}, 10, (3, 2)),  # surge rounds up, unavailable down
        ({"type": "RollingUpdate"}, 1, (1, 0)),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}},
            3,
            (0, 1),
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 2}},
            5,
            (3, 2),
        ),
        ({"type": "Recreate"}, 3, (0, 3)),
    ],
)
def test_surge_and_unavailability_resolve_as_the_deployment_controller_does(
    strategy, replicas, expected
):
    assert rules.resolve_fenceposts(deployment("d", replicas, strategy), replicas) == expected


def test_a_node_holding_more_than_its_cpu_is_overcommitted():
    nodes = [node("n1", "1")]
    fine = [pod(f"p{i}", "n1") for i in range(5)]
    assert rules.node_not_overcommitted(nodes, fine).ok
    outcome = rules.node_not_overcommitted(nodes, [*fine, pod("p5", "n1")])
    assert not outcome.ok and "node n1: cpu" in outcome.message
    finished = pod("done", "n1", phase="Succeeded")
    assert rules.node_not_overcommitted(nodes, [*fine, finished]).ok


def test_a_pod_that_moves_or_loses_its_node_was_bound_twice():
    assert rules.pod_bound_once({"uid-p": "n1"}, [pod("p", "n1")]).ok
    assert not rules.pod_bound_once({"uid-p": "n1"}, [pod("p", "n2")]).ok
    assert not rules.pod_bound_once({"uid-p": "n1"}, [pod("p", None)]).ok
    assert rules.pod_bound_once({}, [pod("p", "n1")]).vacuous


def test_an_older_resource_version_is_going_back():
    assert rules.resource_version_monotonic({"uid-p": 7}, [pod("p", rv=7)]).ok
    assert not rules.resource_version_monotonic({"uid-p": 9}, [pod("p", rv=7)]).ok


def test_a_replicaset_may_own_replicas_plus_surge_and_no_more():
    d = deployment("web", 4)  # surge 1
    rs = replicaset("web-1", 5, owner="uid-web")
    five = [pod(f"p{i}", "n1", owner="uid-web-1") for i in range(5)]
    assert rules.rollout_max_surge([d], [rs], five, {}).ok
    six = [*five, pod("p5", "n1", owner="uid-web-1")]
    outcome = rules.rollout_max_surge([d], [rs], six, {})
    assert not outcome.ok and "owns 6 active pods > 5" in outcome.message
    # being deleted does not count; a larger recent replicas allows more
    terminating = pod("p5", "n1", owner="uid-web-1", deletionTimestamp="2026-01-01T00:00:09Z")
    assert rules.rollout_max_surge([d], [rs], [*five, terminating], {}).ok
    assert rules.rollout_max_surge([d], [rs], six, {"uid-web": 5}).ok


def test_a_replicaset_of_its_own_may_own_its_replicas():
    rs = replicaset("solo", 2)
    pods = [pod(f"p{i}", "n1", owner="uid-solo") for i in range(3)]
    assert not rules.rollout_max_surge([], [rs], pods, {}).ok
    assert rules.rollout_max_surge([], [rs], pods[:2], {}).ok


def test_a_guarded_deployment_keeps_replicas_minus_max_unavailable_ready():
    d = deployment("web", 4)  # maxUnavailable 1
    rs = replicaset("web-1", 4, owner="uid-web")
    ready = [pod(f"p{i}", "n1", owner="uid-web-1") for i in range(3)]
    unready = pod("p3", "n1", owner="uid-web-1", ready=False)
    assert rules.rollout_min_available([d], [rs], [*ready, unready], ["uid-web"]).ok
    outcome = rules.rollout_min_available([d], [rs], [*ready[:2], unready], ["uid-web"])
    assert not outcome.ok and "2 available pods < 4 replicas - 1" in outcome.message
    assert rules.rollout_min_available([d], [rs], [], []).vacuous


def test_a_deployment_has_converged_when_its_replicas_run_ready_on_live_nodes():
    d = deployment("web", 2)
    rs = replicaset("web-1", 2, owner="uid-web")
    nodes = [node("n1"), node("n2")]
    pods = [pod("a", "n1", owner="uid-web-1"), pod("b", "n2", owner="uid-web-1")]
    assert rules.deployment_converges([d], [rs], pods, nodes, ["n1", "n2"]).ok
    outcome = rules.deployment_converges([d], [rs], pods, nodes, ["n1"])
    assert not outcome.ok and "not a live Ready node" in outcome.message
    outcome = rules.deployment_converges([d], [rs], pods[:1], nodes, ["n1", "n2"])
    assert not outcome.ok and "1 active pods, want 2" in outcome.message
    assert rules.deployment_converges([d], [rs], pods, [node("n1", "100m")], ["n1"]).vacuous


def test_a_killed_container_must_run_again_with_a_higher_restart_count():
    kill = rules.Kill("uid-a", "app", 0)
    assert rules.containers_restarted([kill], [pod("a", "n1")], ["n1"]).ok
    assert not rules.containers_restarted(
        [rules.Kill("uid-a", "app", 1)], [pod("a", "n1")], ["n1"]
    ).ok
    assert rules.containers_restarted([kill], [pod("a", "n1")], []).vacuous
    failed = pod("a", "n1", phase="Failed", ready=False)
    failed["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 137}}
    assert not rules.containers_restarted([kill], [failed], ["n1"]).ok


def test_a_dead_node_is_unknown_tainted_and_emptied():
    taint = {"key": rules.UNREACHABLE_TAINT, "effect": "NoExecute"}
    dead = node("n1", ready="Unknown", taints=[taint])
    healthy = [node("n2"), node("n3")]
    assert rules.dead_node_pods_evicted([dead, *healthy], [], ["n1"]).ok
    untainted = node("n1", ready="Unknown")
    assert not rules.dead_node_pods_evicted([untainted, *healthy], [], ["n1"]).ok
    stuck = pod("a", "n1", owner="uid-rs")
    assert not rules.dead_node_pods_evicted([dead, *healthy], [stuck], ["n1"]).ok


@pytest.mark.parametrize(
    ("ready", "sheltered"),
    [
        (["True", "True", "Unknown"], False),  # 1 of 3 not ready: normal
        (["True", "True", "Unknown", "Unknown", "Unknown"], True),  # 3 of 5 = 60%: partial
        (["True", "Unknown", "Unknown"], False),  # 2 of 3: not more than 2
        (["True"] * 3 + ["Unknown"] * 3, False),  # 3 of 6 = 50% < 55%
        (["Unknown", "Unknown"], True),  # no Ready node: full disruption
    ],
)
def test_a_disrupted_zone_gets_no_evictions_so_its_dead_nodes_are_not_judged(ready, sheltered):
    nodes = [node(f"n{i}", ready=status) for i, status in enumerate(ready)]
    assert (rules.zones_without_eviction(nodes) == {("", "")}) is sheltered
    dead = [f"n{i}" for i, status in enumerate(ready) if status != "True"]
    assert rules.dead_node_pods_evicted(nodes, [], dead).vacuous is sheltered


def test_a_pending_pod_that_fits_a_node_was_not_placed():
    pending = pod("a", None, phase="Pending")
    assert not rules.pending_pods_placed([node("n1")], [pending], ["n1"]).ok
    assert rules.pending_pods_placed([node("n1", unschedulable=True)], [pending], ["n1"]).ok
    tainted = node("n1", taints=[{"key": "k", "effect": "NoSchedule"}])
    assert rules.pending_pods_placed([tainted], [pending], ["n1"]).ok
    assert rules.pending_pods_placed([node("n1", "100m")], [pending], ["n1"]).ok


def test_node_readiness_must_match_whether_its_machine_is_up():
    assert rules.node_ready_matches_host([node("n1")], ["n1"], []).ok
    assert not rules.node_ready_matches_host([node("n1", ready="Unknown")], ["n1"], []).ok
    assert not rules.node_ready_matches_host([node("n1")], [], ["n1"]).ok


def test_a_pod_bound_to_a_node_tainted_throughout_broke_the_taint():
    taint = {"key": "kubeprop.test/dedicated", "value": "infra", "effect": "NoSchedule"}
    tainted, clean = node("n1", taints=[taint]), node("n1")
    p = pod("a", "n1")
    keys = ["kubeprop.test/dedicated"]
    assert not rules.taints_respected(["uid-a"], [p], [tainted], [tainted], keys).ok
    assert rules.taints_respected(["uid-a"], [p], [clean], [tainted], keys).ok  # tainted after
    assert rules.taints_respected(["uid-a"], [p], [tainted], [clean], keys).ok  # untainted
    assert rules.taints_respected([], [p], [tainted], [tainted], keys).vacuous


def test_settling_late_is_a_violation():
    assert rules.settles(True, 100, 930).ok
    assert not rules.settles(False, 930, 930).ok


def test_a_recreate_deployment_waiting_for_a_pod_on_a_dead_node_is_not_judged():
    d = deployment("web", 1, {"type": "Recreate"})
    old = replicaset("web-1", 0, owner="uid-web")
    stuck = pod("a", "n1", owner="uid-web-1", deletionTimestamp="2026-01-01T00:05:00Z")
    nodes = [node("n1", ready="Unknown"), node("n2")]
    assert rules.deployment_converges([d], [old], [stuck], nodes, ["n2"]).vacuous
    rolling = deployment("web", 1)
    assert not rules.deployment_converges([rolling], [old], [stuck], nodes, ["n2"]).ok
