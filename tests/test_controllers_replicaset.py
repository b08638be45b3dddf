"""The reference ReplicaSet controller against upstream's numbers, messages and order."""

from __future__ import annotations

import functools
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.conformance.strategies import workloads
from kubeprop.conformance.strategies.workloads import NAMESPACE
from kubeprop.conformance.suites.test_replicaset import cluster, items
from kubeprop.reference.controllers.replicaset import (
    ReplicaSetController,
    deletion_key_compare,
    related_ranks,
    slow_start_batches,
)
from kubeprop.spec.invariants.replicaset import (
    deletion_compare,
    deletion_order,
    deletion_rank,
    node_ranks,
)


def run(replicas: int, **settings_) -> tuple:
    loop, server, connection, recorder = cluster("replicaset-controller")
    controller = ReplicaSetController(
        connection=connection, loop=loop, recorder=recorder, **settings_
    )
    controller.start()
    body = workloads.replica_set("web", replicas)
    assert server.request("create", "replicasets", namespace=NAMESPACE, body=body).ok
    loop.run_for(1.0)
    return loop, server, connection, controller


def events(server) -> list[tuple[str, str]]:
    found = items(server, "events")
    found.sort(key=lambda e: int(e["metadata"]["name"].rsplit(".", 1)[1], 16))
    return [(e["reason"], e["message"]) for e in found]


@pytest.mark.parametrize(
    "count, batches",
    [(0, []), (1, [1]), (2, [1, 1]), (3, [1, 2]), (5, [1, 2, 2]), (10, [1, 2, 4, 3])],
)
def test_creations_go_in_slow_start_batches_of_one_two_four(count, batches):
    assert slow_start_batches(count) == batches
    assert sum(slow_start_batches(count)) == count


def test_created_pods_are_named_after_the_replicaset_and_owned_by_it():
    _, server, _, _ = run(3)
    pods = items(server, "pods")
    rs = items(server, "replicasets")[0]
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["generateName"] == "web-"
        assert pod["metadata"]["name"].startswith("web-")
        assert pod["metadata"]["labels"] == {"app": "web"}
        assert pod["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    assert rs["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 0,
        "availableReplicas": 0,
        "observedGeneration": 1,
    }


def test_creating_and_deleting_pods_is_recorded_with_upstreams_reasons_and_messages():
    loop, server, _, _ = run(2)
    names = sorted(p["metadata"]["name"] for p in items(server, "pods"))
    assert sorted(events(server)) == sorted(
        ("SuccessfulCreate", f"Created pod: {n}") for n in names
    )
    server.request(
        "patch",
        "replicasets",
        namespace=NAMESPACE,
        name="web",
        subresource="scale",
        body={"spec": {"replicas": 0}},
        params={"contentType": "application/merge-patch+json"},
    )
    loop.run_for(1.0)
    deleted = [m for r, m in events(server) if r == "SuccessfulDelete"]
    assert sorted(deleted) == sorted(f"Deleted pod: {n}" for n in names)


def test_one_sync_creates_at_most_burst_replicas_pods():
    loop, server, connection, _ = run(5, burst_replicas=2)
    creates = [
        at
        for at, verb, resource, _ in connection.requests
        if (verb, resource) == ("create", "pods")
    ]
    assert len(creates) == 5
    assert creates[0] == creates[1] < creates[2]  # the first sync made two, the next ones the rest


def test_a_partitioned_controller_retries_and_catches_up_once_healed():
    loop, server, connection, recorder = cluster("replicaset-controller")
    controller = ReplicaSetController(connection=connection, loop=loop, recorder=recorder)
    controller.start()
    loop.run_for(0.5)
    connection.inner.cut()
    assert server.request(
        "create", "replicasets", namespace=NAMESPACE, body=workloads.replica_set("web", 2)
    ).ok
    loop.run_for(2.0)
    assert items(server, "pods") == []
    connection.inner.heal()
    loop.run_for(5.0)
    assert len(items(server, "pods")) == 2


def test_after_stop_the_controller_writes_nothing():
    loop, server, connection, controller = run(1)
    controller.stop()
    sent = len(connection.requests)
    server.request(
        "create", "replicasets", namespace=NAMESPACE, body=workloads.replica_set("api", 3)
    )
    loop.run_for(5.0)
    assert len(connection.requests) == sent


def pod(name, *, node="", phase="Running", ready_at=None, created=0, restarts=0, uid=None):
    conditions = []
    if ready_at is not None:
        stamp = f"2026-01-01T00:{int(ready_at) // 60:02d}:{int(ready_at) % 60:02d}Z"
        conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": stamp}]
    return {
        "metadata": {
            "name": name,
            "uid": uid or f"uid-{name}",
            "creationTimestamp": f"2026-01-01T00:{created // 60:02d}:{created % 60:02d}Z",
        },
        "spec": {"nodeName": node} if node else {},
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [{"name": "c", "restartCount": restarts}],
        },
    }


ORDER_CASES = [
    ("unassigned before assigned", [pod("b", node="n1"), pod("a")], ["a", "b"]),
    (
        "pending before unknown before running",
        [
            pod("r", node="n"),
            pod("u", node="n", phase="Unknown"),
            pod("p", node="n", phase="Pending"),
        ],
        ["p", "u", "r"],
    ),
    ("not ready before ready", [pod("r", node="n", ready_at=1), pod("n", node="n")], ["n", "r"]),
    (
        "more restarts first",
        [pod("calm", node="n", restarts=0), pod("crashy", node="n", restarts=2)],
        ["crashy", "calm"],
    ),
    (
        "more recently ready first, in logarithmic buckets",
        [pod("old", node="n", ready_at=0), pod("new", node="n", ready_at=50)],
        ["new", "old"],
    ),
    (
        "newer first",
        [pod("first", node="n", created=0), pod("second", node="n", created=40)],
        ["second", "first"],
    ),
]


@pytest.mark.parametrize("case, pods, expected", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_surplus_pods_are_deleted_in_upstreams_preference_order(case, pods, expected):
    ranks = related_ranks(pods, pods)
    ordered = sorted(
        pods, key=functools.cmp_to_key(lambda a, b: deletion_key_compare(a, b, ranks, 64.0))
    )
    assert [p["metadata"]["name"] for p in ordered] == expected


def test_pods_doubled_up_on_a_node_go_before_lonely_ones():
    pods = [pod("lonely", node="n1"), pod("twin1", node="n2"), pod("twin2", node="n2")]
    ranks = related_ranks(pods, pods)
    ordered = sorted(
        pods, key=functools.cmp_to_key(lambda a, b: deletion_key_compare(a, b, ranks, 9.0))
    )
    assert ordered[-1]["metadata"]["name"] == "lonely"


pods_strategy = st.lists(
    st.builds(
        pod,
        st.sampled_from("abcdefgh"),
        node=st.sampled_from(["", "n1", "n2"]),
        phase=st.sampled_from(["Pending", "Unknown", "Running"]),
        ready_at=st.one_of(st.none(), st.integers(0, 100)),
        created=st.integers(0, 100),
        restarts=st.integers(0, 2),
        uid=st.uuids().map(str),
    ),
    max_size=6,
    unique_by=lambda p: p["metadata"]["name"],
)


@settings(max_examples=100, deadline=None)
@given(pods=pods_strategy, now=st.integers(101, 4000))
def test_the_reference_order_agrees_with_the_order_the_spec_states(pods, now):
    ranks = related_ranks(pods, pods)
    assert node_ranks(pods, pods) == ranks
    for a in pods:
        for b in pods:
            reference = deletion_key_compare(a, b, ranks, float(now))
            spec = deletion_compare(a, b, ranks, float(now))
            assert (reference > 0) - (reference < 0) == (spec > 0) - (spec < 0)


def deleted_first(pods, count, now):
    """The names of the ``count`` pods the reference deletes first, sorting ``pods`` as given."""
    ranks = related_ranks(pods, pods)
    order = sorted(
        pods, key=functools.cmp_to_key(lambda a, b: deletion_key_compare(a, b, ranks, now))
    )
    return [p["metadata"]["name"] for p in order[:count]]


# Three ready pods on one node: "same" and "twin" became ready at the same instant, "near" a
# second later, in the same logarithmic bucket (now = 100 s). Upstream's Less goes on to the
# restart count for the first pair and breaks the other two ties by uid.
CYCLE = [
    pod("same", node="n", ready_at=60, restarts=0, uid="uid-1"),
    pod("twin", node="n", ready_at=60, restarts=3, uid="uid-3"),
    pod("near", node="n", ready_at=61, restarts=0, uid="uid-2"),
]


def test_upstreams_deletion_comparison_is_not_transitive():
    ranks = related_ranks(CYCLE, CYCLE)
    same, twin, near = CYCLE
    assert deletion_key_compare(twin, same, ranks, 100.0) < 0  # more restarts first
    assert deletion_key_compare(same, near, ranks, 100.0) < 0  # uid-1 < uid-2
    assert deletion_key_compare(near, twin, ranks, 100.0) < 0  # uid-2 < uid-3
    # So which pod goes first depends on the order the sort sees them in.
    firsts = {deleted_first(list(p), 1, 100.0)[0] for p in itertools.permutations(CYCLE)}
    assert len(firsts) > 1


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_deletion_order_invariant_holds_whatever_order_the_sort_saw(order):
    pods = [CYCLE[i] for i in order]
    for count in (1, 2):
        assert deletion_order(pods, deleted_first(pods, count, 100.0), 100.0)


@settings(max_examples=200, deadline=None)
@given(pods=pods_strategy, now=st.integers(101, 4000), data=st.data())
def test_any_input_order_of_the_reference_sort_keeps_the_deletion_order(pods, now, data):
    shuffled = data.draw(st.permutations(pods))
    count = data.draw(st.integers(0, len(pods)))
    assert deletion_order(shuffled, deleted_first(shuffled, count, float(now)), float(now))


@settings(max_examples=100, deadline=None)
@given(pods=pods_strategy, now=st.integers(101, 4000))
def test_the_invariants_key_agrees_with_upstreams_comparison_where_it_orders(pods, now):
    ranks = node_ranks(pods, pods)
    for a in pods:
        for b in pods:
            ka, kb = deletion_rank(a, ranks, float(now)), deletion_rank(b, ranks, float(now))
            if ka < kb:
                assert deletion_compare(a, b, ranks, float(now)) < 0


def test_deleting_the_oldest_ready_pod_first_breaks_the_deletion_order():
    pods = [pod("old", node="n", ready_at=0), pod("new", node="n", ready_at=50)]
    assert not deletion_order(pods, ["old"], 64.0)
    assert deletion_order(pods, ["new"], 64.0)
